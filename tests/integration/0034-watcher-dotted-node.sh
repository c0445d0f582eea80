#!/usr/bin/env bash
# 0034-watcher-dotted-node.sh - issue 16 item 2: NodeMetrics of nodes whose names have dots (FQDN
# hosts as on EKS, "ip-10-0-1-5.ec2.internal") are published by the watcher on the node's key
# with the real name in the body, a stand-in uid without dots (metrics-server's NodeMetrics carry
# no uid; ce_id is split on dots) and a body valid against schemas/event.v1.json; the watcher
# counts no malformed object.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

C=it34
N1=ip-10-0-1-5.ec2.internal
N2=ip-10-0-1-6.ec2.internal
cat >"$T/scenario.yaml" <<YAML
seed: 34
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: $N1, cpu: 8, memory: 16Gi}
  - {name: $N2, cpu: 8, memory: 16Gi}
vms:
  - {name: a, cpu: 1, memory: 2Gi, disks: [{name: system, size: 1Gi, storageClass: shared-rwx}]}
YAML
start_kafka
SIM_ARGS="--scenario $T/scenario.yaml"
if ! start_sim; then
	not_ok "wukong-sim serves (see $T/sim.log)"
	finish
	exit 1
fi
check "the simulator serves NodeMetrics for $N1" wait_for 30 $K get nodemetrics "$N1"
uid=$($K get nodemetrics "$N1" -o jsonpath='{.metadata.uid}')
diag "NodeMetrics uid from the simulator: '${uid}' (metrics-server sends none)"
start_watcher w $C -X watcher.nodemetrics-interval=1s
check "watcher ready" wait_for 30 is_ready w
for n in $N1 $N2; do
	check "nodemetrics event published on $C/node/$n" wait_for 30 has_event "$C/node/$n" nodemetrics.added
done
check "the body carries the real name" body_has "$C/node/$N1" nodemetrics.added "b['name'] == '$N1'"
cat >"$T/ceid.py" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("key") != sys.argv[2]:
        continue
    hs = m.get("headers") or []
    hd = {hs[i]: hs[i + 1] for i in range(0, len(hs) - 1, 2)}
    parts = hd.get("ce_id", "").split(".")
    # metrics-server sends no uid: the stand-in is nm-<hex>; a server that sends one keeps it
    stand_in = parts[1].startswith("nm-") if len(parts) == 4 else False
    if len(parts) == 4 and parts[0] == sys.argv[3] and (stand_in or (sys.argv[4] != "" and hd.get("ce_wkuid") == parts[1])):
        n += 1
sys.exit(0 if n else 1)
PY
dump
check "ce_id has four dot-separated fields (<cluster>.<uid or nm-hex>.<fp>.<change>)" \
	python3 "$T/ceid.py" "$T/events.json" "$C/node/$N1" "$C" "$uid"
check "every body valid against schemas/event.v1.json" schema_ok $C
m=$(metric w 'wukong_watcher_bad_input_total\{[^}]*malformed')
check "no malformed objects counted (${m:-none})" bash -c "[ -z '$m' ] || [ '${m%.*}' = 0 ]"
finish
