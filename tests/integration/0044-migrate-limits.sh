#!/usr/bin/env bash
# 0044-migrate-limits.sh - ten migration requests at once against a KubeVirt CR allowing 3
# migrations per cluster and 2 outbound per node: never more than that many of our VMIMs in flight
# (the rest wait in the migrator's queue, not as Pending VMIMs), queue positions visible on the
# status and moving forward, and every request finished.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

NVM=10
{
	cat <<'YAML'
seed: 13
linkBandwidth: 256Mi
migrations:
  parallelMigrationsPerCluster: 3
  parallelOutboundMigrationsPerNode: 2
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi}
  - {name: node-c, cpu: 32, memory: 64Gi}
vms:
YAML
	for i in $(seq 1 $NVM); do
		echo "  - {name: vm-$i, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}"
	done
} >"$T/scenario.yaml"
mig_start
mig_start_migrator

for i in $(seq 1 $NVM); do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default vm-$i-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "vm-$i-vm running"
done
check "limits read from the KubeVirt CR" bash -c "$K get kubevirts -A -o jsonpath='{.items[0].spec.configuration.migrations.parallelMigrationsPerCluster}' | grep -qx 3"

# All ten at once, in one producer call; even ones with a per-VM option (a MigrationPolicy each).
for i in $(seq 1 $NVM); do
	opt=""
	[ $((i % 2)) -eq 0 ] && opt=',"options":{"allowAutoConverge":true}'
	echo "local/default/vm-$i-vm|{\"requestId\":\"batch-$i\",\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"vm-$i\"$opt}"
done | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -K '|' \
	-H ce_specversion=1.0 -H ce_id=batch -H ce_source=/tenants/test \
	-H ce_type=dev.novasphere.wukong.request.migrate.v1 -H content-type=application/json

# final_count PHASE: how many Wukongs' latest migrator status has PHASE (one read of the topic).
final_count() {
	topic wukong.status | /usr/bin/python3 -c '
import json, sys
last = {}
for line in sys.stdin:
    try: d = json.loads(line)
    except ValueError: continue
    ms = (d.get("status") or {}).get("migrationStatus")
    if d.get("source") == "wukong-migrator" and ms: last[d["name"]] = ms.get("phase")
print(sum(1 for v in last.values() if v == sys.argv[1]))' "$1"
}
MAXT=0 MAXN=0 DONE=0
for _ in $(seq 1 400); do
	read -r t n all < <(mig_sample)
	[ "${t:-0}" -gt "$MAXT" ] && MAXT=$t
	[ "${n:-0}" -gt "$MAXN" ] && MAXN=$n
	DONE=$(final_count Succeeded)
	[ "$DONE" -eq "$NVM" ] && break
	sleep 0.2
done
diag "max in flight $MAXT (limit 3), max per source node $MAXN (limit 2), finished $DONE/$NVM"
check "never more than 3 migrations in flight" [ "$MAXT" -le 3 ]
check "never more than 2 outbound per node" [ "$MAXN" -le 2 ]
check "the limit was actually reached (requests waited)" [ "$MAXT" -ge 2 ]
check "all $NVM requests Succeeded" [ "$DONE" -eq "$NVM" ]
check "one VMIM per request" [ "$(our_vmims | wc -l)" -eq "$NVM" ]

# Queue positions were visible and only moved forward.
for i in $(seq 1 $NVM); do statuses vm-$i | sed "s/^/vm-$i|/"; done >"$T/all.txt"
check "some requests were Queued with a position" grep -Eq '\|Queued\|Queued\|[2-9]\|' "$T/all.txt"
# While the batch is still arriving, a request with an earlier timestamp (from another partition)
# is inserted ahead, so a position may first grow; once everything is in, positions only fall.
check "queue positions move forward once the batch is in" /usr/bin/python3 -c '
import sys, collections
pos = collections.defaultdict(list)
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split("|")
    if f[1] == "Queued" and f[3]:
        pos[f[0]].append(int(f[3]))
def unimodal(p):
    m = p.index(max(p))
    return p[m:] == sorted(p[m:], reverse=True) and p[:m + 1] == sorted(p[:m + 1])
sys.exit(0 if pos and all(unimodal(p) for p in pos.values()) and any(p[-1] == 1 for p in pos.values()) else 1)' "$T/all.txt"
check "no MigrationPolicy left" bash -c "[ -z \"\$($K get migrationpolicies -o name)\" ]"
topic wukong.status | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
check "status updates valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
finish
