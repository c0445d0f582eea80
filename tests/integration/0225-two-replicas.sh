#!/usr/bin/env bash
# 0225-two-replicas.sh - issue 22, high availability: two migrators and two cloners against one
# cluster, each pair active/standby on its Lease (core/wk_service.c, `<svc>.lease.*`). Ten
# migrations (limits 3 per cluster, 2 outbound per node) and three clones; the active migrator and
# the active cloner are killed with SIGKILL mid-work. Checks: the standby never acts (no status,
# no VMIM, not ready) while the active one holds the lease; never more migrations in flight than
# the limits; one VMIM per migration request, one snapshot and one clone per clone request; every
# request finishes; the standby takes over within the bound its lease settings give (duration +
# two retry periods + two lease round trips measured in this run), which for the settings used is
# well under the issue's 15 s, and carries on (adopts the running migrations, finishes the clones).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

NVM=6
DUR_S=3 RENEW_MS=2000 RETRY_MS=500
{
	cat <<'YAML'
seed: 25
linkBandwidth: 256Mi
migrations:
  parallelMigrationsPerCluster: 3
  parallelOutboundMigrationsPerNode: 2
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi}
  - {name: node-c, cpu: 32, memory: 64Gi}
vms:
  - {name: src, cpu: 1, memory: 1Gi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
	for i in $(seq 1 $NVM); do
		echo "  - {name: vm-$i, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}"
	done
} >"$T/scenario.yaml"
mig_start

lease_args() { # SVC IDENTITY
	echo "-X $1.lease.enabled=true -X $1.lease.identity=$2 -X $1.lease.duration=${DUR_S}s" \
		"-X $1.lease.renew-deadline=${RENEW_MS}ms -X $1.lease.retry-period=${RETRY_MS}ms"
}
start_migrator() { # NAME
	rm -f "$T/$1.addr"
	# shellcheck disable=SC2046
	start_bg "$1" "$BIN/wukong-migrator" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="$MIG_GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/$1.addr" \
		-X migrator.poll-interval=500ms -X migrator.resync-interval=2s $(lease_args migrator "$1")
	eval "PID_$1=$LAST_PID"
	wait_for 20 test -s "$T/$1.addr" || { not_ok "$1 started"; tail "$T/$1.log"; exit 1; }
}
start_cloner() { # NAME
	rm -f "$T/$1.addr"
	# shellcheck disable=SC2046
	start_bg "$1" "$BIN/wukong-cloner" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="cl-$MIG_GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/$1.addr" \
		-X cloner.poll-interval=200ms -X cloner.resync-interval=2s $(lease_args cloner "$1")
	eval "PID_$1=$LAST_PID"
	wait_for 20 test -s "$T/$1.addr" || { not_ok "$1 started"; tail "$T/$1.log"; exit 1; }
}
# ts_ms LOG PATTERN: the wall-clock time (ms) of the first log line matching PATTERN, or nothing.
ts_ms() {
	grep -m1 "$2" "$1" 2>/dev/null | /usr/bin/python3 -c '
import json, sys, datetime
for line in sys.stdin:
    ts = json.loads(line)["ts"].replace("Z", "+00:00")
    print(int(datetime.datetime.fromisoformat(ts).timestamp() * 1000))'
}
# try_gap LOG: the longest time between two lease tries of that standby, load included, as its
# "acquired after N ms (a try every <= P ms)" line says.
try_gap() { grep -m1 -o 'a try every <= [0-9]* ms' "$1" | grep -o '[0-9]*' | head -1; }
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://$(cat "$T/$1.addr")/readyz"; }
now_ms() { date +%s%3N; }

# First m1 and c1 take the leases, then m2 and c2 start as standbys.
start_migrator m1
start_cloner c1
check "m1 takes the migrator lease" wait_for 20 grep -q 'acquired after' "$T/m1.log"
check "c1 takes the cloner lease" wait_for 20 grep -q 'acquired after' "$T/c1.log"
start_migrator m2
start_cloner c2
check "m2 waits as a standby" wait_for 10 grep -q 'standby: waiting' "$T/m2.log"
check "c2 waits as a standby" wait_for 10 grep -q 'standby: waiting' "$T/c2.log"

for i in $(seq 1 $NVM); do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default vm-$i-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "vm-$i-vm running"
done
# By now the standbys have tried for longer than a lease: one that took it wrongly has had the time.
check "the standbys have not taken a lease" bash -c "! grep -q 'acquired' '$T/m2.log' && ! grep -q 'acquired' '$T/c2.log'"
R2=$(readyz m2) RC2=$(readyz c2)
check "the standbys are not ready (/readyz 503: m2 $R2, c2 $RC2)" [ "$R2.$RC2" = 503.503 ]

# Ten migrations at once, three clones.
for i in $(seq 1 $NVM); do
	echo "local/default/vm-$i-vm|{\"requestId\":\"ha-$i\",\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"vm-$i\"}"
done | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -K '|' \
	-H ce_specversion=1.0 -H ce_id=ha -H ce_source=/tenants/test \
	-H ce_type=dev.novasphere.wukong.request.migrate.v1 -H content-type=application/json
for n in k1 k2 k3; do
	$K apply -f - >/dev/null <<YAML
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: $n, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  disks: [{name: system, size: 4Gi, storageClassName: shared-rwx}]
  cloneSource: {type: vm, vmName: src-vm, cloneType: running}
YAML
done

final_count() { # PHASE [SOURCE [FIELD]]
	topic wukong.status | /usr/bin/python3 -c '
import json, sys
last = {}
for line in sys.stdin:
    try: d = json.loads(line)
    except ValueError: continue
    x = (d.get("status") or {}).get(sys.argv[3])
    if d.get("source") == sys.argv[2] and x: last[d["name"]] = x.get("phase")
print(sum(1 for v in last.values() if v == sys.argv[1]))' "$1" "${2:-wukong-migrator}" "${3:-migrationStatus}"
}
MAXT=0 MAXN=0 DONE=0 CDONE=0 MKILL="" CKILL=""
for _ in $(seq 1 900); do
	read -r t n all < <(mig_sample)
	[ "${t:-0}" -gt "$MAXT" ] && MAXT=$t
	[ "${n:-0}" -gt "$MAXN" ] && MAXN=$n
	DONE=$(final_count Succeeded)
	CDONE=$(final_count Succeeded wukong-cloner cloneStatus)
	[ "$DONE" -eq "$NVM" ] && [ "$CDONE" -eq 3 ] && break
	# a request that failed will not succeed: stop waiting (the checks below say which)
	[ "$(final_count Failed)" -gt 0 ] || [ "$(final_count Failed wukong-cloner cloneStatus)" -gt 0 ] && break
	if [ -z "$MKILL" ] && [ "${all:-0}" -ge 2 ] && [ "$(final_count Queued)" -ge 1 ]; then
		MKILL=$(now_ms)
		kill -9 "$PID_m1"
		diag "kill -9 of the active migrator m1 with ${all} VMIMs created, $DONE finished"
	fi
	if [ -z "$CKILL" ] && [ -n "$($K get vmsnapshot -o name 2>/dev/null)" ]; then
		CKILL=$(now_ms)
		kill -9 "$PID_c1"
		diag "kill -9 of the active cloner c1 with a snapshot in progress"
	fi
	sleep 0.2
done
diag "max in flight $MAXT (limit 3), max per source node $MAXN (limit 2), migrations $DONE/$NVM, clones $CDONE/3"
check "the active migrator was killed mid-batch" [ -n "$MKILL" ]
check "the active cloner was killed mid-clone" [ -n "$CKILL" ]
check "never more than 3 migrations in flight" [ "$MAXT" -le 3 ]
check "never more than 2 outbound per node" [ "$MAXN" -le 2 ]
check "all $NVM migrations Succeeded" [ "$DONE" -eq "$NVM" ]
check "all 3 clones Succeeded" [ "$CDONE" -eq 3 ]
check "one VMIM per migration request, none twice" bash -c "[ -z \"\$($K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o jsonpath='{range .items[*]}{.metadata.labels.vm\.novasphere\.dev/request-id}{\"\\n\"}{end}' | sort | uniq -d)\" ] && [ \$($K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o name | wc -l) -eq $NVM ]"
check "one clone object per clone request" [ "$($K get vmclone -o name | wc -l)" -eq 3 ]
check "no temporary snapshot left" wait_for 20 bash -c "[ -z \"\$($K get vmsnapshot -o name)\" ]"
check "no MigrationPolicy left" bash -c "[ -z \"\$($K get migrationpolicies -o name)\" ]"

# Takeover: the standby's "acquired" log line against the kill. The dead holder's last renew came
# before the kill; the standby sees it at its next try (at most P later, P = the longest gap
# between its tries, measured by the standby itself under this run's load), counts the lease's
# duration from there, and writes the lease at the first try after that (at most P more, and the
# try itself takes less than P): bound = duration + 3 P.
for pair in "m2 $MKILL migrator" "c2 $CKILL cloner"; do
	set -- $pair
	[ -n "${2:-}" ] || continue
	A=$(ts_ms "$T/$1.log" 'acquired after')
	if [ -z "$A" ]; then
		not_ok "$1 took over the $3 lease"
		tail -5 "$T/$1.log"
		continue
	fi
	P=$(try_gap "$T/$1.log")
	BOUND=$((DUR_S * 1000 + 3 * P))
	diag "$1 took over $(( A - $2 )) ms after the kill (bound ${BOUND} ms: lease ${DUR_S} s + 3 x ${P} ms between tries)"
	check "$1 took over within the lease bound" [ $((A - $2)) -le "$BOUND" ]
done
check "the lease settings put a takeover inside the issue's 15 s on an idle machine" [ $((DUR_S * 1000 + 3 * RETRY_MS)) -lt 15000 ]
check "m2 adopted the migrations m1 left running" grep -q 'adopted migration' "$T/m2.log"
check "c2 finished what c1 started" bash -c "grep -q 'Succeeded' '$T/c2.log'"
topic wukong.status | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
check "status updates valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
finish
