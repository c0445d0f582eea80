#!/usr/bin/env bash
# 0120-deploy-bundle.sh - the install bundle (deploy/, docs/deploy.md): the generated files match
# deploy/generate.py, the base's CRD and the strimzi overlay's KafkaTopics are the project's own
# (deploy/crds/wukong.yaml, `wukong-kafka --strimzi`), every overlay builds with this machine's
# kubectl (kustomize built in), each workload carries the security settings docs/deploy.md
# promises, and `kubectl apply -k` of base and every overlay succeeds against wukong-sim with the
# server's validation (kubectl's default --validate=strict asks the server to validate).
. "$(dirname "$0")/../lib.sh"
D="$ROOT/deploy"

check "deploy/ is what deploy/generate.py writes" python3 "$D/generate.py" --check
check "base CRD is deploy/crds/wukong.yaml" cmp -s "$D/crds/wukong.yaml" "$D/base/crd.yaml"
"$BIN/wukong-kafka" --strimzi 2>/dev/null | sed 's#kafka.strimzi.io/v1beta2#kafka.strimzi.io/v1#' >"$T/topics.yaml"
check "strimzi overlay's KafkaTopics are wukong-kafka --strimzi's (apiVersion v1)" \
	bash -c "diff <(grep -v '^#' '$T/topics.yaml') <(grep -v '^#' '$D/overlays/strimzi/kafka-topics.yaml')"
for o in base overlays/strimzi overlays/strimzi-scram overlays/strimzi-tls overlays/monitoring; do
	check "kubectl kustomize $o builds" bash -c "kubectl kustomize '$D/$o' >'$T/$(basename $o).yaml'"
done
# Every container: non-root, read-only root, no capabilities, RuntimeDefault seccomp, probes,
# resources; every pod: a priorityClassName, spread constraints, its own ServiceAccount.
check "workloads carry the promised pod and container settings" python3 - "$T/base.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
wl = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
assert len(wl) == 6, len(wl)
for d in wl:
    ps = d["spec"]["template"]["spec"]
    n = d["metadata"]["name"]
    assert ps["serviceAccountName"] == n, n
    assert ps["priorityClassName"] and ps["topologySpreadConstraints"], n
    for c in ps["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], n
        assert sc["capabilities"]["drop"] == ["ALL"] and sc["seccompProfile"]["type"] == "RuntimeDefault", n
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", n
        assert c["readinessProbe"]["httpGet"]["path"] in ("/readyz", "/healthz"), n
        assert c["resources"]["requests"] and c["resources"]["limits"], n
cms = {d["metadata"]["name"]: yaml.safe_load(d["data"]["config.yaml"]) for d in docs if d["kind"] == "ConfigMap"}
for n, c in cms.items():
    assert c["http.listen"] == "0.0.0.0:9090", n
    assert not any(k.startswith("kafka.fetch") for k in c), n  # real-broker defaults
kinds = {d["kind"] for d in docs}
assert {"Namespace", "CustomResourceDefinition", "ServiceAccount", "ConfigMap", "Secret", "ClusterRole",
        "ClusterRoleBinding", "Role", "RoleBinding", "NetworkPolicy", "StatefulSet", "Deployment",
        "PriorityClass", "Service"} <= kinds, kinds
assert sum(1 for d in docs if d["kind"] == "NetworkPolicy") == 6
PY
check "each KafkaUser reads only its inputs and writes only its outputs" python3 - "$T/strimzi-scram.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
users = {d["metadata"]["name"]: d for d in docs if d["kind"] == "KafkaUser"}
assert len(users) == 6, users.keys()
for n, u in users.items():
    assert u["spec"]["authentication"]["type"] == "scram-sha-512"
    for a in u["spec"]["authorization"]["acls"]:
        ops = set(a["operations"])
        assert ops in ({"Read", "Describe"}, {"Write", "Describe"}, {"Read"}), (n, a)
        assert a["resource"]["type"] in ("topic", "group"), (n, a)
        assert a["resource"]["patternType"] == "literal" or a["resource"]["type"] == "group", (n, a)
w = {a["resource"]["name"] for a in users["wukong-status"]["spec"]["authorization"]["acls"] if "Write" in a["operations"]}
assert w == {"wukong.dlq"}, w
r = {a["resource"]["name"] for a in users["wukong-migrator"]["spec"]["authorization"]["acls"] if "Read" in a["operations"]}
assert r == {"wukong.events", "wukong.requests", "wukong.requests.local", "wukong-migrator-local"}, r
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "wukong-migrator"][0]
c = yaml.safe_load(cm["data"]["config.yaml"])
assert c["kafka.sasl.mechanism"] == "SCRAM-SHA-512" and c["kafka.security.protocol"] == "SASL_SSL"
PY
finish
