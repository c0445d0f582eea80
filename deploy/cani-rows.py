#!/usr/bin/env python3
"""cani-rows.py BASE_YAML - the `kubectl auth can-i` rows docs/deploy.md lists per service: every
granted (verb, resource) and, for each service, the denials a reviewer checks first (writes to
what it only reads, Secrets, another service's Lease Role). Prints `svc<TAB>verb<TAB>resource<TAB>
namespace<TAB>subresource ("-" none)<TAB>expected`; tests/integration/0120-deploy-bundle.sh asks the simulator
each and compares with the table in docs/deploy.md."""
import sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
rows = []
for d in docs:
    if d["kind"] not in ("ClusterRole", "Role"):
        continue
    svc = d["metadata"]["name"]
    ns = d["metadata"].get("namespace") or "default"
    for r in d["rules"]:
        for g in r["apiGroups"]:
            for res in r["resources"]:
                base, _, sub = res.partition("/")
                q = base + ("." + g if g else "")
                for v in r["verbs"]:
                    rows.append((svc, v, q, ns, sub, "yes"))
services = sorted({d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"})
granted = {(r[0], r[1], r[2], r[4]) for r in rows}
for svc in services:
    for v, q, ns, sub in (("get", "secrets", "wukong", ""), ("delete", "virtualmachines.kubevirt.io", "default", ""),
                          ("create", "virtualmachineinstancemigrations.kubevirt.io", "default", ""),
                          ("patch", "wukongs.vm.novasphere.dev", "default", ""),
                          ("update", "leases.coordination.k8s.io", "kube-system", "")):
        if (svc, v, q, sub) not in granted:
            rows.append((svc, v, q, ns, sub, "no"))
for r in sorted(set(rows)):
    print("\t".join(x or "-" for x in r))
