#!/usr/bin/env bash
# 0121-rbac-enforced.sh - the install bundle's RBAC is sufficient and least-privilege, proven on
# the simulator (docs/deploy.md, "RBAC"): the migration, drain/evacuation, status, progress and
# clone suites run with WUKONG_RBAC=1 (every service under its own ServiceAccount token, the
# simulator enforcing deploy/base's Roles and ClusterRoles) and pass; the simulator's record of
# what each identity did shows no request refused, and every (verb, group, resource) the bundle
# grants was used by its service, so no unused grant stays. Then one rule is taken out (the
# migrator's `create virtualmachineinstancemigrations`) and the migration suite must fail.
# RBAC_SUITES overrides the suites.
. "$(dirname "$0")/../lib.sh"
SUITES=${RBAC_SUITES:-0040 0047 0050 0051 0060 0064 0081}
REC="$T/used.tsv"
: >"$REC"
for s in $SUITES; do
	f=$(ls "$ROOT"/tests/integration/$s-*.sh)
	check "$(basename "$f" .sh) passes with every service under its own token (WUKONG_RBAC=1)" \
		env -u _WK_RBAC_WRAPPED WUKONG_RBAC=1 WUKONG_RBAC_RECORD="$REC" bash "$f" >"$T/$s.log" 2>&1 ||
		grep '^not ok' "$T/$s.log" | head -5
done
kubectl kustomize "$ROOT/deploy/base" >"$T/base.yaml"
check "the record names every service that talks to the API" bash -c "for s in watcher migrator cloner progress status; do grep -q \"^system:serviceaccount:wukong:wukong-\$s	\" '$REC' || { echo \"no record for \$s\"; exit 1; }; done"
check "no request of a service was refused" bash -c "! grep -P '\tdenied$' '$REC'"
check "every rule the bundle grants was used by its service (no unused grant)" python3 - "$T/base.yaml" "$REC" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
used = set()
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 6 and f[5] == "allowed":
        user, verb, group, res, ns = f[:5]
        used.add((user.split(":")[-1], "" if group == "core" else group, res, verb, ns))
# Granted for a code path no suite reaches; each names where the call is.
ALLOWED_UNUSED = {
    ("wukong-cloner", "kubevirt.io", "virtualmachines", "delete"):
        "consumers/cloner/cl_actions.c cl_cleanup and the orphan relist delete a target VM the "
        "clone made when the clone fails after the target exists",
}
roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs if d["kind"] in ("Role", "ClusterRole")}
unused, lines = [], []
for b in docs:
    if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
        continue
    ns = b["metadata"].get("namespace")
    role = roles[(b["roleRef"]["kind"], ns if b["roleRef"]["kind"] == "Role" else None, b["roleRef"]["name"])]
    for s in b["subjects"]:
        sa = s["name"]
        for r in role["rules"]:
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for v in r["verbs"]:
                        hit = [u for u in used if u[:4] == (sa, g, res, v) and (ns is None or u[4] == ns)]
                        lines.append("%-16s %-7s %-24s %-34s %s" % (sa, v, g or "core", res, "used" if hit else "UNUSED"))
                        if not hit and (sa, g, res, v) in ALLOWED_UNUSED:
                            lines[-1] += " (allowed: " + ALLOWED_UNUSED[(sa, g, res, v)] + ")"
                        elif not hit:
                            unused.append((sa, v, g, res))
for l in sorted(lines):
    print("# " + l)
if unused:
    print("# unused grants: %s" % unused)
    sys.exit(1)
PY
# One rule out: the migrator may no longer create VMIMs; the migration suite must notice.
cp -r "$ROOT/deploy/base" "$T/drop"
python3 - "$T/drop/migrator.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d and d["kind"] == "ClusterRole":
        for r in d["rules"]:
            if "virtualmachineinstancemigrations" in r["resources"]:
                r["verbs"].remove("create")
open(sys.argv[1], "w").write(yaml.safe_dump_all(docs, sort_keys=False))
PY
f=$(ls "$ROOT"/tests/integration/0040-*.sh)
check "without 'create virtualmachineinstancemigrations' the migration suite fails" \
	bash -c "! env -u _WK_RBAC_WRAPPED WUKONG_RBAC=1 WUKONG_RBAC_BUNDLE='$T/drop' WUKONG_RBAC_RECORD='$T/drop.tsv' bash '$f' >'$T/drop.log' 2>&1"
check "... and the simulator refused exactly that request" \
	grep -qP '^system:serviceaccount:wukong:wukong-migrator\tcreate\tkubevirt.io\tvirtualmachineinstancemigrations\tdefault\tdenied$' "$T/drop.tsv"
grep '^not ok' "$T/drop.log" | head -3 | sed 's/^/# with the rule removed: /'
finish
