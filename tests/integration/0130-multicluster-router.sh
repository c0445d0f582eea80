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

"$W" up --clusters 3 >"$T/up.log" 2>&1
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
topic() { timeout 20 kcat -b "$BOOTSTRAP" -C -t "$1" -o beginning -e -q -f "${2:-%s}\n" 2>/dev/null; }
export BOOTSTRAP
export -f topic

for k in "$Ka" "$Kb" "$Kc"; do
	wait_for 30 bash -c "[ \"\$($k get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
done

# ---- a request for cluster b runs only there ----
send b/default/web-1-vm '{"requestId":"mc-b1","cluster":"b","namespace":"default","name":"web-1"}'
wait_for 30 bash -c "$Kb get vmim -n default -o name 2>/dev/null | grep -q ."
check "cluster b: a VMIM for web-1" bash -c "$Kb get vmim -n default -o name | grep -q ."
check "cluster a: none" bash -c "[ -z \"\$($Ka get vmim -n default -o name)\" ]"
check "cluster c: none" bash -c "[ -z \"\$($Kc get vmim -n default -o name)\" ]"
check "routed copy on wukong.requests.b keeps the request id" bash -c "topic wukong.requests.b | grep -q '\"requestId\":\"mc-b1\"'"

# ---- unknown cluster: dead letter with a reason, audited ----
send zz/default/web-1 '{"requestId":"mc-zz","cluster":"zz","namespace":"default","name":"web-1"}'
dl_zz() { topic wukong.dlq '%h %s' | grep '"mc-zz"' | grep -q 'x-dlt-reason=UnknownCluster'; }
wait_for 20 dl_zz
check "unknown cluster 'zz' dead-lettered (UnknownCluster)" dl_zz
check "... with an audit record naming the reason" bash -c "topic wukong.audit | grep '\"mc-zz\"' | grep -q 'router.request-refused'"

# ---- hostile routing fields ----
send x '{"requestId":"mc-h1","clusters":["a","../b"],"namespace":"default","name":"web-1"}'
send x '{"requestId":"mc-h2","cluster":"a","clusters":["a"],"namespace":"default","name":"web-1"}'
send x '{"requestId":"mc-h3","clusterSelector":"region in (","namespace":"default","name":"web-1"}'
send x 'not json'
send x "{\"requestId\":\"mc-h4\",\"clusters\":[$(for i in $(seq 70); do printf '"c%d",' "$i"; done)\"a\"],\"namespace\":\"default\",\"name\":\"x\"}"
hostile() { [ "$(topic wukong.dlq '%h' | grep -c 'x-dlt-service=wukong-router')" -ge 6 ]; }
wait_for 20 hostile
check "hostile routing fields (bad id, both forms, bad selector, not JSON, 71 clusters) dead-lettered" hostile

# ---- fan-out drain to [a, b] ----
send x '{"requestId":"mc-fan","clusters":["a","b"],"node":"node-4","dryRun":true}' drain
plan() { topic wukong.progress | grep '"mc-fan"' | grep -q '"mode":"fanout"'; }
wait_for 20 plan
check "fan-out plan on wukong.progress" plan
ida=$(topic wukong.requests.a | python3 -c 'import sys,json
for l in sys.stdin:
    try: d=json.loads(l)
    except Exception: continue
    if d.get("requestId","").startswith("mc-fan-a-"): print(d["requestId"])' | head -1)
idb=$(topic wukong.requests.b | python3 -c 'import sys,json
for l in sys.stdin:
    try: d=json.loads(l)
    except Exception: continue
    if d.get("requestId","").startswith("mc-fan-b-"): print(d["requestId"])' | head -1)
check "derived ids per cluster ($ida, $idb)" bash -c "[ -n '$ida' ] && [ -n '$idb' ]"
# each cluster's migrator answers for its own part (audit records carry the derived id)
answered() { topic wukong.audit | grep -q "\"$1\""; }
wait_for 30 answered "$ida"
check "cluster a's migrator answered its part" answered "$ida"
wait_for 30 answered "$idb"
check "cluster b's migrator answered its part" answered "$idb"

# ---- cluster: auto picks the emptier ----
# a and c lose two schedulable nodes each: b has the most free room
for k in "$Ka" "$Kc"; do $k cordon node-1 node-2 >/dev/null; done
wait_for 20 bash -c "'$W' clusters -o json | python3 -c '
import json,sys
d={c[\"cluster\"]:c for c in json.load(sys.stdin)}
sys.exit(0 if d[\"a\"][\"nodesReady\"]==2 and d[\"c\"][\"nodesReady\"]==2 else 1)'"
send x '{"requestId":"mc-auto","cluster":"auto","namespace":"default","name":"web-1"}'
auto_b() { topic wukong.requests.b | grep -q '"requestId":"mc-auto"'; }
wait_for 20 auto_b
check "cluster: auto placed on b (the emptier)" auto_b
check "... and nowhere else" bash -c "! topic wukong.requests.a | grep -q mc-auto && ! topic wukong.requests.c | grep -q mc-auto"
check "... saying why" bash -c "topic wukong.audit | grep '\"mc-auto\"' | grep -q 'most free memory'"

# ---- kill -9 of the router mid-stream: nothing routed twice under different ids ----
RPID=$(cut -d' ' -f1 "$WUKONG_DIR/pids/router.pid")
RPID=$(pgrep -P "$RPID" wukong-router || echo "$RPID")
for i in $(seq 1 30); do
	send "c/default/x$i" "{\"requestId\":\"mc-k$i\",\"clusters\":[\"a\",\"c\"],\"node\":\"node-9\",\"dryRun\":true}" drain
done
kill -9 "$RPID" 2>/dev/null
# the supervisor restarts it; every one of the 60 parts arrives, each id under one ce_id
parts() { [ "$( (topic wukong.requests.a '%h %s'; topic wukong.requests.c '%h %s') | grep -c 'mc-k')" -ge 60 ]; }
wait_for 40 parts
check "after kill -9 of the router: all 60 fan-out parts routed" parts
check "... no request id under two different ce_ids" bash -c "(topic wukong.requests.a '%h %s'; topic wukong.requests.c '%h %s') | grep mc-k | python3 -c '
import sys, re, json, collections
ids = collections.defaultdict(set)
for l in sys.stdin:
    ce = re.search(r\"ce_id=([^,]+)\", l).group(1)
    rid = json.loads(l[l.index(\"{\"):])[\"requestId\"]
    ids[rid].add(ce)
bad = {k: v for k, v in ids.items() if len(v) > 1}
print(\"#\", len(ids), \"ids\", bad)
sys.exit(1 if bad or len(ids) != 60 else 0)'"

# ---- fleet view ----
"$W" get -A >"$T/get.txt" 2>&1
check "get -A: cluster= on every line across clusters" bash -c "grep -q '^cluster=b ' '$T/get.txt' && ! grep -qv '^cluster=' '$T/get.txt'"
"$W" down >/dev/null 2>&1
check "down: no process left" bash -c "! ls '$WUKONG_DIR'/pids/*.pid 2>/dev/null | grep -q ."
finish
