#!/usr/bin/env bash
# lib-watcher.sh - sourced by the 003*-watcher-*.sh scripts (after tests/lib.sh; not a test of
# its own): a cluster to watch, the watcher, and wukong.events read back with kcat.
#
# Cluster back ends:
#   start_sim       wukong-sim (the Kubernetes + KubeVirt simulator); kubectl is the user ($K)
#   start_fake_api  tests/helpers/fake_apiserver.py (a scripted, generic HTTPS API server with
#                   watches, 410, faults); curl is the user. Used where the test is about the
#                   watcher's own behaviour (restart, broker outage, leases) and the simulator is
#                   not available: start_cluster picks the simulator when it comes up.
# The operations below (vm_create, vm_label, vm_delete, node_create, node_cordon) work on either.

EV="$ROOT/tests/helpers/watcher_events.py"
SCHEMA="$ROOT/schemas/event.v1.json"
BACKEND=
KC=
K=

start_sim() {
	[ -x "$BIN/wukong-sim" ] || return 1
	mkdir -p "$T/sim"
	start_bg sim "$BIN/wukong-sim" --dir "$T/sim" ${SIM_ARGS:-}
	SIM_PID=$LAST_PID
	wait_for 20 grep -q '^kubeconfig=' "$T/sim.log" || return 1
	KC=$(sed -n 's/^kubeconfig=//p' "$T/sim.log" | head -1)
	K="kubectl --kubeconfig $KC"
	wait_for 20 $K get nodes || return 1
	BACKEND=sim
}

start_fake_api() {
	local d="$T/api"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=wt-ca" -keyout "$d/ca.key" \
		-out "$d/ca.crt" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null || return 1
	API_TOKEN="wt-$RANDOM-$RANDOM-token"
	echo "$API_TOKEN" >"$d/tokens"
	start_bg api /usr/bin/python3 "$ROOT/tests/helpers/fake_apiserver.py" --port-file "$d/port" \
		--log "$d/requests.log" --cert "$d/server.crt" --key "$d/server.key" \
		--token-file "$d/tokens" --bookmark-interval 1
	API_PID=$LAST_PID
	wait_for 20 test -s "$d/port" || return 1
	API_URL="https://127.0.0.1:$(cat "$d/port")"
	KC="$d/kubeconfig"
	cat >"$KC" <<EOF
apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster: {server: "$API_URL", certificate-authority: ca.crt}
contexts:
- name: fake
  context: {cluster: fake, user: u, namespace: default}
users:
- name: u
  user: {token: "$API_TOKEN"}
EOF
	BACKEND=fake
}

# start_cluster: the simulator if it comes up, else the fake API server (said in a diag line).
start_cluster() {
	if [ -z "${WATCHER_IT_FAKE:-}" ] && start_sim; then
		diag "cluster: wukong-sim"
		return 0
	fi
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
	if [ -n "${WATCHER_IT_FAKE:-}" ]; then diag "cluster: fake_apiserver.py (WATCHER_IT_FAKE set)"; else diag "cluster: fake_apiserver.py (wukong-sim not available: see $T/sim.log)"; fi
	start_fake_api
}

api() { # METHOD PATH [BODY [CONTENT-TYPE]]
	curl -sf --cacert "$T/api/ca.crt" -H "Authorization: Bearer $API_TOKEN" -X "$1" \
		-H "Content-Type: ${4:-application/json}" ${3:+-d "$3"} "$API_URL$2" >/dev/null
}

VMS=/apis/kubevirt.io/v1/namespaces/default/virtualmachines

vm_create() { # NAME: a stopped VirtualMachine
	local m="{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"spec\":{\"running\":false,\"template\":{\"spec\":{\"domain\":{\"devices\":{}}}}}}"
	if [ "$BACKEND" = sim ]; then echo "$m" | $K apply -f - >/dev/null; else api POST "$VMS" "$m"; fi
}
vm_label() { # NAME KEY VALUE
	if [ "$BACKEND" = sim ]; then
		$K label --overwrite vm "$1" "$2=$3" >/dev/null
	else
		api PATCH "$VMS/$1" "{\"metadata\":{\"labels\":{\"$2\":\"$3\"}}}" application/merge-patch+json
	fi
}
vm_delete() {
	if [ "$BACKEND" = sim ]; then $K delete vm "$1" --wait=false >/dev/null; else api DELETE "$VMS/$1"; fi
}
node_create() { # NAME (fake API only: the simulator's nodes come from its scenario)
	[ "$BACKEND" = sim ] && return 0
	api POST /api/v1/nodes "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\"},\"spec\":{}}"
}
node_cordon() {
	if [ "$BACKEND" = sim ]; then
		$K cordon "$1" >/dev/null
	else
		api PATCH "/api/v1/nodes/$1" '{"spec":{"unschedulable":true}}' application/merge-patch+json
	fi
}
first_node() {
	if [ "$BACKEND" = sim ]; then $K get nodes -o jsonpath='{.items[0].metadata.name}'; else echo node-1; fi
}

# start_watcher NAME CLUSTER-ID [-X key=value]...: sets W_PID; its HTTP address is in $T/NAME.addr.
start_watcher() {
	local name=$1 cluster=$2
	shift 2
	rm -f "$T/$name.addr"
	start_bg "$name" "$BIN/wukong-watcher" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id="$cluster" -X http.addr-file="$T/$name.addr" \
		-X watcher.lease.namespace=default "$@"
	W_PID=$LAST_PID
	wait_for 20 test -s "$T/$name.addr"
}
http_get() { curl -sf "http://$(cat "$T/$1.addr")$2"; }
is_ready() { http_get "$1" /readyz >/dev/null; }
metric() { # NAME METRIC-REGEX: the value of the first matching series
	http_get "$1" /metrics | grep -E "^$2" | head -1 | awk '{print $NF}'
}

# dump: every message of wukong.events into $T/events.json (kcat's JSON envelope, headers too)
# (bounded: kcat waits forever for a partition whose leader is down)
dump() { timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.events -e -q -J >"$T/events.json" 2>/dev/null; }
types_of() { dump && "$EV" "$T/events.json" types "$1" | tr '\n' ' '; }
count_of() { dump && "$EV" "$T/events.json" count "$1" "$2"; }
has_event() { [ "$(count_of "$1" "$2")" -ge "${3:-1}" ]; }
body_has() { dump && "$EV" "$T/events.json" has "$1" "$2" "$3"; }
# in_order KEY TYPE...: the types occur in this order (not necessarily adjacent) on KEY
in_order() {
	local key=$1 seq
	shift
	seq=" $(types_of "$key")"
	for t in "$@"; do
		case "$seq" in
		*" $t "*) seq=" ${seq#*" $t "}" ;;
		*) return 1 ;;
		esac
	done
}
schema_ok() { # CLUSTER: every body validates against schemas/event.v1.json
	dump && "$EV" "$T/events.json" bodies "$1" >"$T/bodies.jsonl" &&
		[ -s "$T/bodies.jsonl" ] && "$ROOT/tests/schema-validate" "$SCHEMA" "$T/bodies.jsonl"
}
headers_ok() { dump && "$EV" "$T/events.json" check "$1"; }
no_dupes() { dump && [ -z "$("$EV" "$T/events.json" dupes "$1")" ]; }
