#!/usr/bin/env bash
# 0131-router-hold.sh - a cluster goes Unavailable (its watcher frozen with SIGSTOP: no registry
# heartbeat) under `wukongctl up --clusters 2`: the registry says so; a request for it without
# expiresAt is dead-lettered at once (ClusterUnavailable, audited); one whose expiresAt passes
# while it is held is dead-lettered then, saying the deadline passed; one with a later expiresAt
# is held and routed once the watcher comes back (SIGCONT). Short heartbeats for the test:
# watcher.registry-interval/-poll 1s, router.cluster-max-age 4s (docs/multicluster.md).
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
export WUKONG_WATCHER_REGISTRY__INTERVAL=1s WUKONG_WATCHER_REGISTRY__POLL=1s
export WUKONG_ROUTER_CLUSTER__MAX__AGE=4s
trap 'kill -CONT "${WPID:-0}" 2>/dev/null; "$W" down >/dev/null 2>&1; cleanup' EXIT

cat >"$T/q.yaml" <<'EOF'
seed: 3
nodes:
  - {name: node-1, cpu: 8, memory: 32Gi}
  - {name: node-2, cpu: 8, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 1Gi, dirtyRate: 2Mi, disks: [{name: system, size: 2Gi}]}
EOF
"$W" up --clusters 2 --scenario "$T/q.yaml" >"$T/up.log" 2>&1
check "up --clusters 2 exits 0" [ $? -eq 0 ] || { cat "$T/up.log"; exit 1; }
BOOTSTRAP=$(cat "$WUKONG_DIR/bootstrap")

state() { # CLUSTER: Available / Unavailable as wukongctl clusters says
	"$W" clusters -o json | python3 -c '
import json, sys
d = {c["cluster"]: c for c in json.load(sys.stdin)}
print("Available" if d.get(sys.argv[1], {}).get("available") else "Unavailable")' "$1"
}
state_b() { state b; }
export -f state state_b
export W
wait_for 30 bash -c '[ "$(state_b)" = Available ]'
check "cluster b Available" [ "$(state b)" = Available ]

# freeze b's watcher (the process under its supervisor): no more heartbeats
SUP=$(cut -d' ' -f1 "$WUKONG_DIR/pids/watcher-b.pid")
WPID=$(pgrep -P "$SUP" wukong-watcher)
check "found watcher-b ($WPID)" test -n "$WPID"
kill -STOP "$WPID"
wait_for 20 bash -c '[ "$(state_b)" = Unavailable ]'
check "b Unavailable once its heartbeat is older than 4s" [ "$(state b)" = Unavailable ]

send() { # BODY
	printf '%s' "$1" | kcat -b "$BOOTSTRAP" -P -t wukong.requests -k b/default/web-1-vm \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/ops \
		-H ce_type=dev.novasphere.wukong.request.migrate.v1 -H content-type=application/json
}
iso() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
send '{"requestId":"h-now","cluster":"b","namespace":"default","name":"web-1"}'
send "{\"requestId\":\"h-short\",\"cluster\":\"b\",\"namespace\":\"default\",\"name\":\"web-1\",\"expiresAt\":\"$(iso 3)\"}"
send "{\"requestId\":\"h-long\",\"cluster\":\"b\",\"namespace\":\"default\",\"name\":\"web-1\",\"expiresAt\":\"$(iso 120)\"}"

topic() { timeout 20 kcat -b "$BOOTSTRAP" -C -t "$1" -o beginning -e -q -f '%h %s\n' 2>/dev/null; }
dl() { topic wukong.dlq | grep "\"$1\"" | grep -q 'x-dlt-reason=ClusterUnavailable'; }
wait_for 20 dl h-now
check "no expiresAt: dead-lettered at once (ClusterUnavailable)" dl h-now
wait_for 20 dl h-short
check "expiresAt passed while held: dead-lettered" dl h-short
check "... saying the deadline passed" bash -c "topic() { timeout 20 kcat -b '$BOOTSTRAP' -C -t wukong.dlq -o beginning -e -q -f '%h %s\n'; }; topic | grep '\"h-short\"' | grep -q 'deadline passed'"
check "... both audited" bash -c "timeout 20 kcat -b '$BOOTSTRAP' -C -t wukong.audit -o beginning -e -q | grep router.request-refused | grep -c 'h-now\|h-short' | grep -qx 2"
check "the later one is neither routed nor refused while b is down" \
	bash -c "! timeout 20 kcat -b '$BOOTSTRAP' -C -t wukong.requests.b -o beginning -e -q | grep -q h-long && ! timeout 20 kcat -b '$BOOTSTRAP' -C -t wukong.dlq -o beginning -e -q | grep -q h-long"

kill -CONT "$WPID"
routed() { topic wukong.requests.b | grep -q '"requestId":"h-long"'; }
wait_for 30 routed
check "b back: the held request is routed to it" routed
check "... once" [ "$(topic wukong.requests.b | grep -c '"requestId":"h-long"')" -eq 1 ]
finish
