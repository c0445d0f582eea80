#!/usr/bin/env bash
# 0130-multicluster-router.sh - `wukongctl up --clusters 3` (clusters a, b, c, one broker, one
# router): the registry lists the three; a migrate submitted on wukong.requests for cluster b runs
# only on b; a request for an unknown cluster is dead-lettered with its reason and audited; a
# fan-out drain to [a, b] becomes one drain per cluster with derived ids, each carried out by its
# own cluster, with the plan on wukong.progress; `cluster: auto` goes to the emptier cluster and
# says why; hostile routing fields are dead-lettered; a kill -9 of the router mid-stream routes
# nothing twice under different ids; get -A shows the CLUSTER column. docs/multicluster.md.
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT

# a quiet cluster: four nodes, two VMs (each cluster gets its own copy)
cat >"$T/mc.yaml" <<'EOF'
seed: 5
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, provisioner: rbd.csi.ceph.com, copyRate: 2Gi}
nodes:
  - {name: node-1, cpu: 16, memory: 64Gi}
  - {name: node-2, cpu: 16, memory: 64Gi}
  - {name: node-3, cpu: 16, memory: 64Gi}
  - {name: node-4, cpu: 16, memory: 64Gi}
vms:
  - {name: web-1, cpu: 1, memory: 2Gi, dirtyRate: 4Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: tiny-1, cpu: 1, memory: 1Gi, dirtyRate: 2Mi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
EOF
"$W" up --clusters 3 --scenario "$T/mc.yaml" >"$T/up.log" 2>&1
check "up --clusters 3 exits 0" [ $? -eq 0 ] || { cat "$T/up.log"; exit 1; }
BOOTSTRAP=$(cat "$WUKONG_DIR/bootstrap")
Ka="kubectl --kubeconfig $WUKONG_DIR/clusters/a/kubeconfig --request-timeout=10s"
Kb="kubectl --kubeconfig $WUKONG_DIR/clusters/b/kubeconfig --request-timeout=10s"
Kc="kubectl --kubeconfig $WUKONG_DIR/clusters/c/kubeconfig --request-timeout=10s"

registry_ok() { "$W" clusters -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if sorted(c["cluster"] for c in d if c["available"]) == ["a", "b", "c"] else 1)'; }
wait_for 30 registry_ok
check "wukongctl clusters: a, b and c Available" registry_ok
"$W" clusters >"$T/clusters.txt"
check "... as a table with versions and gates" grep -q '^b .*Available.*v1\.' "$T/clusters.txt"

send() { # KEY BODY [TYPE]
	printf '%s' "$2" | kcat -b "$BOOTSTRAP" -P -t wukong.requests -k "$1" \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/ops \
		-H "ce_type=dev.novasphere.wukong.request.${3:-migrate}.v1" -H content-type=application/json
}
# snap: every topic the checks read, into $T/t.<topic> (one kcat each, in parallel: a group-less
# read to the end costs about a second and a half on the embedded broker)
snap() {
	local t
	for t in dlq audit progress requests.a requests.b requests.c clusters; do
		timeout 20 kcat -b "$BOOTSTRAP" -C -t "wukong.$t" -o beginning -e -q -f '%h %s\n' \
			>"$T/t.$t.new" 2>/dev/null &
	done
	wait
	for t in dlq audit progress requests.a requests.b requests.c clusters; do mv "$T/t.$t.new" "$T/t.$t"; done
}

for k in "$Ka" "$Kb" "$Kc"; do
	wait_for 30 bash -c "[ \"\$($k get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
done
# a and c lose two schedulable nodes each: b has the most free room (for cluster: auto below)
for k in "$Ka" "$Kc"; do $k cordon node-1 node-2 >/dev/null; done

# ---- the requests (checked together below) ----
diag "t=${SECONDS}s: requests sent"
# b only
send b/default/web-1-vm '{"requestId":"mc-b1","cluster":"b","namespace":"default","name":"web-1"}'
# an unknown cluster
send zz/default/web-1 '{"requestId":"mc-zz","cluster":"zz","namespace":"default","name":"web-1"}'
# hostile routing fields
send x '{"requestId":"mc-h1","clusters":["a","../b"],"namespace":"default","name":"web-1"}'
send x '{"requestId":"mc-h2","cluster":"a","clusters":["a"],"namespace":"default","name":"web-1"}'
send x '{"requestId":"mc-h3","clusterSelector":"region in (","namespace":"default","name":"web-1"}'
send x 'not json'
send x "{\"requestId\":\"mc-h4\",\"clusters\":[$(for i in $(seq 70); do printf '"c%d",' "$i"; done)\"a\"],\"namespace\":\"default\",\"name\":\"x\"}"
# a fan-out drain to [a, b]
send x '{"requestId":"mc-fan","clusters":["a","b"],"node":"node-4","dryRun":true}' drain
# cluster: auto, once the registry shows the cordons
emptier() { "$W" clusters -o json | python3 -c '
import json, sys
d = {c["cluster"]: c for c in json.load(sys.stdin)}
sys.exit(0 if d["a"]["nodesReady"] == 2 and d["c"]["nodesReady"] == 2 and d["b"]["nodesReady"] == 4 else 1)'; }
wait_for 20 emptier
check "the registry shows a and c with 2 ready nodes, b with 4" emptier
send x '{"requestId":"mc-auto","cluster":"auto","namespace":"default","name":"web-1"}'
# kill -9 of the router while it routes NK fan-outs (make test-long: 300, killed three times)
NK=20 KILLS=1
long_run && NK=300 KILLS=3
router_pid() { pgrep -P "$(cut -d' ' -f1 "$WUKONG_DIR/pids/router.pid")" wukong-router; }
for i in $(seq 1 "$NK"); do
	send "c/default/x$i" "{\"requestId\":\"mc-k$i\",\"clusters\":[\"a\",\"c\"],\"node\":\"node-9\",\"dryRun\":true}" drain
	if [ $((i % (NK / KILLS))) -eq 0 ]; then
		wait_for 30 router_pid # the supervisor's restart of the previous kill
		kill -9 "$(router_pid)" 2>/dev/null
	fi
done
# wukongctl's own submissions meanwhile (they wait for the router to come back)
("$W" drain node-4 --clusters a,b --dry-run --timeout 40s -o json >"$T/fan.json" 2>"$T/fan.err"
	echo $? >"$T/fan.rc") &
("$W" drain node-4 --clusters a,zz --dry-run --timeout 40s >"$T/fan2.out" 2>&1
	echo $? >"$T/fan2.rc") &
("$W" migrate default/web-1 --cluster a --to-cluster b --timeout 40s >"$T/xc.out" 2>&1
	echo $? >"$T/xc.rc") &

fan_id() { # CLUSTER: the derived id of mc-fan's part on that cluster
	python3 -c 'import sys, json
for l in open(sys.argv[1]):
    try: d = json.loads(l[l.index("{"):])
    except Exception: continue
    if d.get("requestId", "").startswith("mc-fan-" + sys.argv[2] + "-"): print(d["requestId"]); break' "$T/t.requests.$1" "$1"
}
all_in() { # everything the checks below need has arrived
	grep -q '"mc-b1"' "$T/t.requests.b" && grep '"mc-zz"' "$T/t.dlq" | grep -q UnknownCluster &&
		grep '"mc-zz"' "$T/t.audit" | grep -q 'router.request-refused' &&
		[ "$(grep -c 'x-dlt-service=wukong-router' "$T/t.dlq")" -ge 6 ] &&
		grep -q '"mc-auto"' "$T/t.requests.b" &&
		[ "$(cat "$T/t.requests.a" "$T/t.requests.c" | grep -c '"mc-k')" -ge $((2 * NK)) ] &&
		ida=$(fan_id a) && idb=$(fan_id b) && [ -n "$ida" ] && [ -n "$idb" ] &&
		grep -q "\"$ida\"" "$T/t.audit" && grep -q "\"$idb\"" "$T/t.audit" &&
		$Kb get vmim -n default -o name 2>/dev/null | grep -q .
}
deadline=$((SECONDS + (NK > 20 ? 120 : 45)))
until snap && all_in; do [ $SECONDS -lt $deadline ] || break; done
diag "t=${SECONDS}s: everything arrived (or the deadline passed)"
wait_for 45 test -s "$T/fan.rc" -a -s "$T/fan2.rc" -a -s "$T/xc.rc"
diag "t=${SECONDS}s: wukongctl's submissions ended"
ida=$(fan_id a)
idb=$(fan_id b)

# ---- a request for cluster b runs only there ----
diag "t=${SECONDS}s: a request for cluster b runs only there"
check "cluster b: a VMIM for web-1" bash -c "$Kb get vmim -n default -o name | grep -q ."
check "cluster a: none" bash -c "[ -z \"\$($Ka get vmim -n default -o name)\" ]"
check "cluster c: none" bash -c "[ -z \"\$($Kc get vmim -n default -o name)\" ]"
check "routed copy on wukong.requests.b keeps the request id" grep -q '"requestId":"mc-b1"' "$T/t.requests.b"
check "registry records valid against schemas/cluster.v1.json" bash -c "sed 's/^[^{]*//' '$T/t.clusters' | '$ROOT/tests/schema-validate' '$ROOT/schemas/cluster.v1.json'"

# ---- unknown cluster: dead letter with a reason, audited ----
diag "t=${SECONDS}s: unknown cluster: dead letter with a reason, audited"
check "unknown cluster 'zz' dead-lettered (UnknownCluster)" bash -c "grep '\"mc-zz\"' '$T/t.dlq' | grep -q 'x-dlt-reason=UnknownCluster'"
check "... with an audit record naming the reason" bash -c "grep '\"mc-zz\"' '$T/t.audit' | grep -q 'router.request-refused.*UnknownCluster'"

# ---- hostile routing fields ----
diag "t=${SECONDS}s: hostile routing fields"
check "hostile routing fields (bad id, both forms, bad selector, not JSON, 71 clusters) dead-lettered" \
	[ "$(grep -c 'x-dlt-service=wukong-router' "$T/t.dlq")" -ge 6 ]

# ---- fan-out drain to [a, b] ----
diag "t=${SECONDS}s: fan-out drain to [a, b]"
check "fan-out plan on wukong.progress" bash -c "grep '\"mc-fan\"' '$T/t.progress' | grep -q '\"mode\":\"fanout\"'"
check "derived ids per cluster ($ida, $idb)" bash -c "[ -n '$ida' ] && [ -n '$idb' ] && [ '$ida' != '$idb' ]"
check "cluster a's migrator answered its part" grep -q "\"$ida\"" "$T/t.audit"
check "cluster b's migrator answered its part" grep -q "\"$idb\"" "$T/t.audit"
check "... and c's got none" bash -c "! grep -q 'mc-fan' '$T/t.requests.c'"

# ---- cluster: auto picks the emptier ----
diag "t=${SECONDS}s: cluster: auto picks the emptier"
check "cluster: auto placed on b (the emptier)" grep -q '"requestId":"mc-auto"' "$T/t.requests.b"
check "... and nowhere else" bash -c "! grep -q mc-auto '$T/t.requests.a' && ! grep -q mc-auto '$T/t.requests.c'"
check "... saying why" bash -c "grep '\"mc-auto\"' '$T/t.audit' | grep -q 'most free memory'"

# ---- kill -9 of the router mid-stream ----
diag "t=${SECONDS}s: kill -9 of the router mid-stream"
check "after $KILLS kill -9 of the router: all $((2 * NK)) fan-out parts routed" \
	[ "$(cat "$T/t.requests.a" "$T/t.requests.c" | grep -c '"mc-k')" -ge $((2 * NK)) ]
check "... no request id under two different ce_ids" bash -c "cat '$T/t.requests.a' '$T/t.requests.c' | grep mc-k | python3 -c '
import sys, re, json, collections
ids = collections.defaultdict(set)
for l in sys.stdin:
    ce = re.search(r\"ce_id=([^,]+)\", l).group(1)
    rid = json.loads(l[l.index(\"{\"):])[\"requestId\"]
    ids[rid].add(ce)
bad = {k: v for k, v in ids.items() if len(v) > 1}
print(\"#\", len(ids), \"ids\", bad)
sys.exit(1 if bad or len(ids) != 2 * $NK else 0)'"
check "... and the supervisor restarted it" grep -q '^[1-9]' "$WUKONG_DIR/run/router.restarts"

# ---- the aggregate: wukongctl drain --clusters follows it ----
diag "t=${SECONDS}s: the aggregate: wukongctl drain --clusters follows it"
check "wukongctl drain --clusters a,b: exit 0" [ "$(cat "$T/fan.rc")" = 0 ]
check "... the router's report: overall Succeeded, a and b each Succeeded" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
parts = {p["cluster"]: p["state"] for p in d["parts"]}
print("#", d["overall"], parts)
sys.exit(0 if d["overall"] == "Succeeded" and parts == {"a": "Succeeded", "b": "Succeeded"} else 1)' "$T/fan.json"
check "wukongctl drain --clusters a,zz: refused (exit 1) naming UnknownCluster" \
	bash -c "[ \"\$(cat '$T/fan2.rc')\" = 1 ] && grep -q UnknownCluster '$T/fan2.out'"

# ---- live migration to another cluster without the gate: refused up front, naming it ----
diag "t=${SECONDS}s: live migration to another cluster without the gate: refused up front, naming it"
check "migrate --to-cluster b without DecentralizedLiveMigration: refused (exit 1)" [ "$(cat "$T/xc.rc")" = 1 ]
check "... naming the gate" grep -q 'FeatureGateDisabled' "$T/xc.out"
check "... and its name" grep -q '"DecentralizedLiveMigration" is not enabled' "$T/xc.out"
check "... nothing created on b (no receiving VM or VMIM)" \
	bash -c "$Kb get vm,vmim -A -o json >'$T/b.json' && ! grep -q 'WaitAsReceiver\|\"receive\"' '$T/b.json'"

# ---- fleet view ----
diag "t=${SECONDS}s: fleet view"
"$W" get -A --include-finished >"$T/get.txt" 2>&1
check "get -A --include-finished: a CLUSTER column, rows of cluster b" bash -c "head -1 '$T/get.txt' | grep -qE '^CLUSTER +NAMESPACE +NAME ' && grep -qE '^b +[a-z0-9-]+ +[a-z0-9-]+ +(migration|clone) ' '$T/get.txt'"
"$W" down >/dev/null 2>&1
check "down: no process left" bash -c "! ls '$WUKONG_DIR'/pids/*.pid 2>/dev/null | grep -q ."
finish
