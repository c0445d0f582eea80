#!/usr/bin/env bash
# 0045-migrate-kill.sh - the batch of 0044 (ten requests, limits 3 per cluster / 2 per node, half
# of them with a per-VM MigrationPolicy), with the migrator killed with SIGKILL twice in the middle
# (while migrations run and requests wait in its queue) and restarted: no duplicate VMIM or
# MigrationPolicy, no request lost or forgotten in the queue, the limits still hold, every request
# finishes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

NVM=10
{
	cat <<'YAML'
seed: 17
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
MAXT=0 MAXN=0 DONE=0 KILLS=0
for _ in $(seq 1 600); do
	read -r t n all < <(mig_sample)
	[ "${t:-0}" -gt "$MAXT" ] && MAXT=$t
	[ "${n:-0}" -gt "$MAXN" ] && MAXN=$n
	DONE=$(final_count Succeeded)
	[ "$DONE" -eq "$NVM" ] && break
	# First kill: once migrations run and others are queued. Second: after a few finished.
	if [ "$KILLS" -eq 0 ] && [ "${all:-0}" -ge 2 ] && [ "$(final_count Queued)" -ge 1 ]; then
		kill -9 "$MIG_PID"
		KILLS=1
		diag "kill -9 with ${all} VMIMs created, $DONE finished"
		mig_start_migrator
	elif [ "$KILLS" -eq 1 ] && [ "$DONE" -ge 3 ]; then
		kill -9 "$MIG_PID"
		KILLS=2
		diag "second kill -9 with ${all} VMIMs created, $DONE finished"
		mig_start_migrator
	fi
	sleep 0.2
done
diag "max in flight $MAXT (limit 3), max per source node $MAXN (limit 2), finished $DONE/$NVM"
check "never more than 3 migrations in flight" [ "$MAXT" -le 3 ]
check "never more than 2 outbound per node" [ "$MAXN" -le 2 ]
check "killed twice mid-batch" [ "$KILLS" -eq 2 ]
check "all $NVM requests Succeeded" [ "$DONE" -eq "$NVM" ]
check "one VMIM per request, none duplicated" bash -c "[ \"\$($K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o jsonpath='{range .items[*]}{.metadata.labels.vm\.novasphere\.dev/request-id}{\"\\n\"}{end}' | sort | uniq -d)\" = '' ] && [ \$($K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o name | wc -l) -eq $NVM ]"
for i in $(seq 1 $NVM); do
	check "batch-$i finished once" [ "$($K get vmim -n default -l vm.novasphere.dev/request-id=batch-$i -o name | wc -l)" -eq 1 ]
done

# Queue positions were visible and only moved forward.
for i in $(seq 1 $NVM); do statuses vm-$i | sed "s/^/vm-$i|/"; done >"$T/all.txt"
check "some requests were Queued with a position" grep -Eq '\|Queued\|Queued\|[2-9]\|' "$T/all.txt"
check "the restarted migrator adopted in-flight migrations" grep -q "adopted migration" "$T"/migrator[23].log
check "no MigrationPolicy left" bash -c "[ -z \"\$($K get migrationpolicies -o name)\" ]"
topic wukong.status | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
check "status updates valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
finish
