#!/usr/bin/env bash
# 0065-clone-kill.sh - crash safety: the cloner is killed with SIGKILL while snapshotting, while
# cloning and at intervals, and restarted each time; in the end every request has had exactly one
# snapshot (deterministic name), one clone and one target VM (one uid, never recreated), nothing
# temporary is left, and all succeed. A Wukong deleted while the cloner is down has its snapshot
# and clone removed by the relist at the next start.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 12
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
vms:
  - {name: src, cpu: 1, memory: 1Gi, disks: [{name: system, size: 8Gi, storageClass: shared-rwx}]}
YAML
cl_start
[ "$HAVE_WATCHER" = 1 ] || diag "no watcher: object histories come from kubectl only"
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default src-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "source running"; finish; exit 1; }
kill9() { kill -KILL "$CL_PID" 2>/dev/null; wait "$CL_PID" 2>/dev/null; diag "cloner killed ($1)"; }

export CL_DISK_SIZE=8Gi # the source's
wukong_clone k1 vm src-vm
wukong_clone k2 vmi src-vm
wukong_clone k3 vm src-vm
wait_for 30 bash -c "[ -n \"\$($K get vmsnapshot -o name)\" ]"
kill9 "snapshot created"
cl_start_cloner
wait_for 40 bash -c "[ -n \"\$($K get vmclone -o name)\" ]"
kill9 "clone created"
cl_start_cloner
for i in 1 2 3; do
	sleep 1.3
	kill9 "interval $i"
	cl_start_cloner
done

# A Wukong deleted while the cloner is down.
wukong_clone gone vm src-vm
wait_for 30 bash -c "$K get vmsnapshot -l vm.novasphere.dev/wukong=gone -o name | grep -q ."
kill9 "before the deletion of 'gone'"
$K delete wukong gone --wait=false >/dev/null
cl_start_cloner

for n in k1 k2 k3; do
	if wait_clone 90 $n Succeeded; then ok "$n Succeeded after the kills"; else not_ok "$n Succeeded (last: $(last_clone $n))"; tail -5 "$CL_LOG"; fi
done
wait_for 20 bash -c "[ -z \"\$($K get vmsnapshot -o name)\" ]"
check "no temporary snapshot left (orphans included)" [ -z "$($K get vmsnapshot -o name)" ]
check "exactly three clone objects (none for 'gone')" [ "$($K get vmclone -o name | wc -l)" -eq 3 ]
check "no VM for the deleted Wukong" bash -c "! $K get vm gone-vm >/dev/null 2>&1"
for n in k1 k2 k3; do
	check "$n-vm exists and runs" bash -c "wait_for() { :; }; [ \"\$($K get vmi $n-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ] || { sleep 5; [ \"\$($K get vmi $n-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]; }"
done
if [ "$HAVE_WATCHER" = 1 ]; then
	sleep 1
	topic wukong.events >"$T/events.jsonl"
	check "per Wukong: one snapshot name, one clone name, one target VM uid ever" /usr/bin/python3 -c '
import json, sys, collections
snaps, clones, vms = collections.defaultdict(set), collections.defaultdict(set), collections.defaultdict(set)
for l in open(sys.argv[1]):
    try: d = json.loads(l)
    except ValueError: continue
    k, n = (d.get("kind") or "").lower(), d.get("name") or ""
    w = (d.get("labels") or {}).get("vm.novasphere.dev/wukong")
    if k == "virtualmachinesnapshot" and w: snaps[w].add(n)
    if k == "virtualmachineclone" and w: clones[w].add(n)
    if k == "virtualmachine" and n in ("k1-vm", "k2-vm", "k3-vm"): vms[n].add(d.get("uid"))
bad = [w for w in ("k1", "k2", "k3") if len(snaps[w]) != 1 or len(clones[w]) != 1] + [v for v in vms if len(vms[v]) != 1]
print("# snapshots", dict(snaps), "clones", {k: len(v) for k, v in clones.items()}, "vm uids", {k: len(v) for k, v in vms.items()})
sys.exit(0 if not bad and len(vms) == 3 else 1)' "$T/events.jsonl"
fi
check "status seq strictly increasing per Wukong across restarts" /usr/bin/python3 -c '
import json, sys, collections
last = collections.defaultdict(int)
ok = True
for l in sys.stdin:
    d = json.loads(l)
    if d.get("source") != "wukong-cloner": continue
    if d["seq"] <= last[d["name"]]: ok = False
    last[d["name"]] = d["seq"]
sys.exit(0 if ok else 1)' < <(topic wukong.status)
finish
