#!/usr/bin/env bash
# 0007-exec-credentials.sh - issue 16 "credentials a real user has": a kubeconfig whose user runs an
# exec credential plugin (tests/helpers/exec-credential.sh, standing in for aws eks get-token,
# gke-gcloud-auth-plugin or kubelogin) authenticates a service (the watcher, -X kube.config) and
# wukongctl (--kubeconfig, $KUBECONFIG as a ':' list with --context, and ~/.kube/config when no
# stack directory is given) against the simulator, which knows that token only from its --auth
# file. The plugin's token is cached until its expirationTimestamp and then fetched again, and it
# never appears in any log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

TOK="exec-tok-$RANDOM$RANDOM-secret"
echo "$TOK" >"$T/exec-token"
cat >"$T/auth.yaml" <<YAML
tokens:
- token: $TOK
  user: exec-user
  namespaces: ["*"]
  verbs: ["*"]
YAML
start_kafka
SIM_ARGS="--auth $T/auth.yaml"
if ! start_sim; then
	not_ok "wukong-sim serves (see $T/sim.log)"
	finish
	exit 1
fi
SERVER=$($K config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
CA=$($K config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
# exec-kubeconfig FILE CONTEXT TTL: a kubeconfig whose only credential is the plugin
exec_kubeconfig() {
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
current-context: $2
clusters:
- name: sim
  cluster: {server: '$SERVER', certificate-authority-data: '$CA'}
contexts:
- name: $2
  context: {cluster: sim, user: plugin-user, namespace: default}
users:
- name: plugin-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $ROOT/tests/helpers/exec-credential.sh
      args: ['$T/exec-token', '$T/exec-count', '$3']
      interactiveMode: Never
      provideClusterInfo: true
YAML
}
exec_kubeconfig "$T/exec.kubeconfig" exec 8
check "kubectl itself accepts the exec kubeconfig (the simulator knows the token)" \
	kubectl --kubeconfig "$T/exec.kubeconfig" get nodes
: >"$T/exec-count"

# a service
start_watcher w it07 -X kube.config="$T/exec.kubeconfig" -X watcher.lease.enabled=false \
	-X watcher.nodemetrics-interval=2s
check "the watcher authenticates through the plugin: ready, synced" wait_for 30 is_ready w
check "... and publishes (synced marker)" wait_for 20 has_event it07/cluster node.synced
runs1=$(wc -l <"$T/exec-count")
check "the plugin ran once at start, not per request ($runs1)" test "$runs1" -eq 1
sleep 12 # past the 8 s expirationTimestamp: the next request (a NodeMetrics list) runs it again
$K patch node "$(first_node)" --type=merge -p '{"metadata":{"labels":{"exec-test":"1"}}}' >/dev/null
check "after expiry the watcher still works (node.modified published)" \
	wait_for 20 body_has "it07/node/$(first_node)" node.modified "b['labels'].get('exec-test') == '1'"
runs2=$(wc -l <"$T/exec-count")
check "the plugin ran again after its token expired ($runs1 -> $runs2)" [ "$runs2" -gt "$runs1" ]

# wukongctl: --kubeconfig; KUBECONFIG as a list with --context; ~/.kube/config without a stack dir
W="$BIN/wukongctl"
mkdir -p "$T/empty" "$T/home/.kube"
exec_kubeconfig "$T/other.kubeconfig" second 300
cp "$T/exec.kubeconfig" "$T/home/.kube/config"
(cd "$T/empty" && "$W" get -A --kubeconfig "$T/exec.kubeconfig" >"$T/get1.out" 2>&1)
check "wukongctl get --kubeconfig (exec plugin): exit 0" [ $? -eq 0 ]
(cd "$T/empty" && KUBECONFIG="$T/exec.kubeconfig:$T/other.kubeconfig" "$W" get -A --context second >"$T/get2.out" 2>&1)
check "wukongctl get with KUBECONFIG=a:b and --context second: exit 0" [ $? -eq 0 ]
(cd "$T/empty" && KUBECONFIG="$T/exec.kubeconfig" "$W" get -A --context nosuch >"$T/get3.out" 2>&1)
check "an unknown --context is an error naming it" bash -c "[ $? -ne 0 ] && grep -q \"context 'nosuch' not found\" '$T/get3.out'"
(cd "$T/empty" && env -u KUBECONFIG -u WUKONG_DIR HOME="$T/home" "$W" get -A >"$T/get4.out" 2>&1)
check "no --kubeconfig, no KUBECONFIG, no stack: ~/.kube/config is read (exit 0)" [ $? -eq 0 ]
(cd "$T/empty" && env -u KUBECONFIG -u WUKONG_DIR HOME="$T/nohome" "$W" get -A >"$T/get5.out" 2>&1)
check "... and without one either: the no-stack hint (exit 3)" bash -c "[ $? -eq 3 ] && grep -q 'wukongctl up' '$T/get5.out'"

check "the plugin's token appears in no log" bash -c "! grep -rq -- '$TOK' '$T'/*.log '$T'/*.out"
finish
