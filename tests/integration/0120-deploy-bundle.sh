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
"$BIN/wukong-kafka" --strimzi 2>/dev/null >"$T/topics.yaml"
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
assert len(wl) == 9, len(wl)
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
assert sum(1 for d in docs if d["kind"] == "NetworkPolicy") == 9
PY
check "each KafkaUser reads only its inputs and writes only its outputs" python3 - "$T/strimzi-scram.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
users = {d["metadata"]["name"]: d for d in docs if d["kind"] == "KafkaUser"}
tenants = {n: u for n, u in users.items() if n.startswith("wukong-tenant-")}
assert len(users) - len(tenants) == 9 and tenants, users.keys()
for n, u in users.items():
    assert u["spec"]["authentication"]["type"] == "scram-sha-512"
    for a in u["spec"]["authorization"]["acls"]:
        ops = set(a["operations"])
        if a.get("type") == "deny":
            # issue 20: the router's prefix write does not reach the tenants' topics
            assert n == "wukong-router" and ops == {"Write"} and a["resource"] == {
                "type": "topic", "name": "wukong.requests.t.", "patternType": "prefix"}, (n, a)
            continue
        assert ops in ({"Read", "Describe"}, {"Write", "Describe"}, {"Read"}), (n, a)
        assert a["resource"]["type"] in ("topic", "group"), (n, a)
        # a prefix only for groups, for the router's writes to every wukong.requests.<cluster>
        # and for the router reading every tenant's topic
        assert (a["resource"]["patternType"] == "literal" or a["resource"]["type"] == "group" or
                (n == "wukong-router" and a["resource"]["name"] == "wukong.requests." and ops == {"Write", "Describe"}) or
                (n == "wukong-router" and a["resource"]["name"] == "wukong.requests.t." and ops == {"Read", "Describe"})), (n, a)
# issue 20: a tenant writes its own request topic and nothing else
for n, u in tenants.items():
    acls = u["spec"]["authorization"]["acls"]
    assert [(a["resource"]["name"], set(a["operations"])) for a in acls] == \
        [("wukong.requests.t." + n[len("wukong-tenant-"):], {"Write", "Describe"})], (n, acls)
w = {a["resource"]["name"] for a in users["wukong-status"]["spec"]["authorization"]["acls"] if "Write" in a["operations"]}
assert w == {"wukong.dlq"}, w
r = {a["resource"]["name"] for a in users["wukong-migrator"]["spec"]["authorization"]["acls"] if "Read" in a["operations"]}
assert r == {"wukong.events", "wukong.requests.local", "wukong-migrator-local"}, r  # the router reads wukong.requests and the tenants' topics
r = {a["resource"]["name"] for a in users["wukong-router"]["spec"]["authorization"]["acls"] if "Read" in a["operations"]}
assert r == {"wukong.requests", "wukong.requests.t.", "wukong.clusters", "wukong.audit", "wukong-router",
             "wukong-cluster-registry-reader", "wukong-router-audit-reader"}, r
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "wukong-migrator"][0]
c = yaml.safe_load(cm["data"]["config.yaml"])
assert c["kafka.sasl.mechanism"] == "SCRAM-SHA-512" and c["kafka.security.protocol"] == "SASL_SSL"
PY

# Every binary: --version names itself, the build's version and the six libraries.
bad=""
for b in wukong-watcher wukong-migrator wukong-cloner wukong-progress wukong-status wukong-audit wukong-console \
	wukong-kafka wukong-sim wukong-auditlog wukongctl; do
	out=$("$BIN/$b" --version 2>&1)
	for lib in librdkafka libcurl cJSON libyaml OpenSSL libmicrohttpd; do
		grep -q "^  $lib " <<<"$out" || bad="$bad $b:$lib"
	done
	head -1 <<<"$out" | grep -q "^$b [^ ]" || bad="$bad $b:name"
done
check "every binary's --version prints its version and the library versions${bad:+ (missing:$bad)}" test -z "$bad"

# ---- against the simulator: apply with server-side validation, then authentication and RBAC ----
start_bg sim "$BIN/wukong-sim" --dir "$T/sim"
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; finish; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
for o in base overlays/strimzi overlays/strimzi-scram overlays/strimzi-tls overlays/monitoring; do
	check "kubectl apply -k $o succeeds against the simulator" bash -c "$K apply -k '$D/$o' >'$T/apply.log' 2>&1"
done
check "the published CRDs are registered" bash -c "$K get crd -o name | grep -q kafkausers.kafka.strimzi.io && $K get crd -o name | grep -q podmonitors.monitoring.coreos.com"
# 9 services (with the console) + the tenants of deploy/generate.py's TENANTS (issue 20)
NTEN=$(python3 -B -c "import sys; sys.path.insert(0, '$D'); import generate; print(len(generate.TENANTS))")
check "the KafkaUsers and PodMonitors are stored" bash -c "[ \$($K get kafkausers -n wukong -o name | wc -l) -eq $((9 + NTEN)) ] && [ \$($K get podmonitors -n wukong -o name | wc -l) -eq 9 ]"
check "the tenants' KafkaTopics are stored" bash -c "[ \$($K get kafkatopics -n wukong -o name | grep -c 'wukong.requests.t.') -eq $NTEN ]"
cat >"$T/bad.yaml" <<'Y'
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: bad, namespace: wukong}
spec:
  selector: {}
  podMetricsEndpoints: [{port: metrics, bogus: 1}]
Y
check "server-side validation refuses an unknown PodMonitor field (Prometheus Operator's schema)" \
	bash -c "! $K apply -f '$T/bad.yaml' 2>'$T/bad.err' && grep -q 'unknown field \"spec.podMetricsEndpoints\[0\].bogus\"' '$T/bad.err'"
sed 's/scram-sha-512/plain-text/' "$D/overlays/strimzi-scram/kafkausers.yaml" >"$T/bad-users.yaml"
check "server-side validation refuses a KafkaUser authentication type Strimzi's schema does not list" \
	bash -c "! $K apply -f '$T/bad-users.yaml' 2>&1 | grep -v '^Warning' | grep -q 'unchanged\\|configured' && $K apply -f '$T/bad-users.yaml' 2>&1 | grep -q 'Unsupported value: \"plain-text\"'"
MIG=system:serviceaccount:wukong:wukong-migrator
check "kubectl auth can-i: the migrator may create VMIMs" bash -c "[ \"\$($K auth can-i --as=$MIG create virtualmachineinstancemigrations.kubevirt.io -n default)\" = yes ]"
check "kubectl auth can-i: the migrator may not delete VMs" bash -c "[ \"\$($K auth can-i --as=$MIG delete virtualmachines.kubevirt.io -n default 2>/dev/null)\" = no ]"
check "kubectl auth can-i: the status writer may patch wukongs/status, not wukongs" bash -c "[ \"\$($K auth can-i --as=system:serviceaccount:wukong:wukong-status patch wukongs.vm.novasphere.dev --subresource=status -n a)\" = yes ] && [ \"\$($K auth can-i --as=system:serviceaccount:wukong:wukong-status patch wukongs.vm.novasphere.dev -n a 2>/dev/null)\" = no ]"
# The docs' can-i table (docs/deploy.md) is what the simulator answers, and covers every grant.
kubectl kustomize "$D/base" >"$T/base-now.yaml"
python3 "$D/cani-rows.py" "$T/base-now.yaml" >"$T/cani.tsv"
check "docs/deploy.md's can-i table lists exactly the rows deploy/cani-rows.py derives from the bundle" bash -c "
	diff <(grep -E '^\| wukong-[a-z]+ \| [a-z]+ \|' '$ROOT/docs/deploy.md' | sed 's/ *| */|/g' | awk -F'|' '\$6 ~ /^(yes|no)$/ {print \$2, \$3, \$4, \$5, \$6}' | sort) \
	     <(awk -F'\t' '{r=\$3; if (\$5 != \"-\") r=r\" (subresource \"\$5\")\"; print \$1, \$2, r, \$4, \$6}' '$T/cani.tsv' | sort)"
bad=0
while IFS=$'\t' read -r svc v q ns sub exp; do
	[ "$sub" = - ] && sub=
	a=$($K auth can-i --as=system:serviceaccount:wukong:$svc $v $q ${sub:+--subresource=$sub} -n $ns 2>/dev/null)
	[ "$a" = "$exp" ] || { diag "can-i $svc $v $q $sub -n $ns: $a, docs say $exp"; bad=1; }
done <"$T/cani.tsv"
check "kubectl auth can-i answers every row of the docs' table as the docs say ($(wc -l <"$T/cani.tsv") rows)" test $bad -eq 0
TOKEN=$($K create token wukong-migrator -n wukong --duration=1h 2>"$T/token.err")
check "kubectl create token (TokenRequest) issues a token" test ${#TOKEN} -eq 64
check "the token lists VMIMs (granted)" bash -c "$K --token='$TOKEN' get vmim -n default >/dev/null 2>&1"
check "the token is refused Secrets with upstream's 403 message" bash -c "$K --token='$TOKEN' get secrets -n wukong 2>&1 | grep -qF 'Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:wukong:wukong-migrator\" cannot list resource \"secrets\" in API group \"\" in the namespace \"wukong\"'"
check "the token may not impersonate" bash -c "$K --token='$TOKEN' --as=someone get vmim -n default 2>&1 | grep -q 'cannot impersonate resource \"users\"'"
check "a token shorter than 10 minutes is refused as upstream refuses it" bash -c "! $K create token wukong-migrator -n wukong --duration=1m 2>&1 | grep -q . || $K create token wukong-migrator -n wukong --duration=1m 2>&1 | grep -q 'less than 10 minutes'"
check "the record of used verbs names the identity" grep -q "^$MIG	list	kubevirt.io	virtualmachineinstancemigrations	default	allowed" "$T/sim/rbac-used.tsv"
$K delete serviceaccount wukong-migrator -n wukong >/dev/null 2>&1
check "a token stops working when its ServiceAccount is deleted (bound token)" bash -c "$K --token='$TOKEN' get vmim -n default 2>&1 | grep -q Unauthorized"
finish
