#!/usr/bin/env bash
# 0050-status-writer.sh - wukong-status against the simulator: updates produced to wukong.status
# land on the Wukong's /status (kubectl jsonpath); a stale seq is not applied; conditions keep
# lastTransitionTime while their status does not change; updates for a deleted Wukong are dropped
# and counted; a bad message is dead-lettered; the applied seqs survive a restart (a replayed old
# update is not applied again); SIGKILL during a burst of 1,000 updates and a restart leave every
# Wukong with its latest status, and no Wukong ever shows an older progress than it showed before.
. "$(dirname "$0")/../lib.sh"

GROUP="status-it-$$-$RANDOM"
N=20     # Wukongs in the burst
ROUNDS=50

start_kafka 1
mkdir -p "$T/sim"
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" ${SIM_ARGS:-}
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
wait_for 20 $K get wukong web-1 || { not_ok "the scenario's Wukongs exist"; exit 1; }

start_status() { # start_status NAME
	start_bg "$1" "$BIN/wukong-status" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kafka.session.timeout.ms=6000 -X consumer.group="$GROUP" \
		-X kube.config="$T/sim/kubeconfig" -X http.addr-file="$T/$1.addr" \
		-X status.api-qps=200 -X status.coalesce-delay=50ms \
		-X status.lease.duration=3s -X status.lease.renew-deadline=2s \
		-X status.lease.retry-period=500ms -X log.level=debug
	ST_PID=$LAST_PID
	ST_ADDR_FILE="$T/$1.addr"
}
metric() { # metric NAME_WITH_LABELS: the value on /metrics (0 when absent)
	curl -s "http://$(cat "$ST_ADDR_FILE")/metrics" |
		awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
emit() { "$TBIN/status_emit" -b "$BOOTSTRAP" >/dev/null; }
jp() { $K get wukong "$1" -o jsonpath="$2" 2>/dev/null; }
upd() { # upd NAME SEQ PROGRESS [CONDITION_STATUS REASON]
	local c=""
	[ -n "${4:-}" ] && c=",\"conditions\":[{\"type\":\"Migrating\",\"status\":\"$4\",\"reason\":\"$5\"}]"
	echo "{\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"$1\",\"source\":\"it\",\"seq\":$2,\"status\":{\"migrationStatus\":{\"phase\":\"Migrating\",\"progress\":$3}}$c}"
}
applied() { test "$(metric wukong_status_messages_applied_total)" -ge "$1"; }

start_status st1
wait_for 20 test -s "$ST_ADDR_FILE" || { not_ok "wukong-status started"; tail "$T/st1.log"; exit 1; }
check "wukong-status takes the lease" wait_for 20 grep -q 'acquired' "$T/st1.log"
# the Wukongs' phase and node are wukong-provisioner's (through this writer)
start_provisioner "$T/sim/kubeconfig" "$GROUP"
wait_for 30 eval '[ "$(jp web-1 "{.status.phase}")" = Running ]'

# --- 1. an update lands ----------------------------------------------------------------------
upd web-1 100 42 True Running | emit
check "progress 42 lands on web-1" wait_for 60 eval '[ "$(jp web-1 "{.status.migrationStatus.progress}")" = 42 ]'
check "the Migrating condition is set" \
	test "$(jp web-1 '{.status.conditions[?(@.type=="Migrating")].status}')" = True
check "the operator's fields are kept" test "$(jp web-1 '{.status.phase}')" = Running
ltt1=$(jp web-1 '{.status.conditions[?(@.type=="Migrating")].lastTransitionTime}')
check "lastTransitionTime is set" test -n "$ltt1"

# --- 2. stale seq is not applied; a newer one is ------------------------------------------------
base=$(metric wukong_status_messages_applied_total)
upd web-1 99 10 | emit
check "the stale update is consumed" wait_for 20 applied $((base + 1))
check "... and counted as stale" test "$(metric 'wukong_status_updates_total{result="stale"}')" -ge 1
check "... and not applied (progress still 42)" test "$(jp web-1 '{.status.migrationStatus.progress}')" = 42

sleep 1.1 # lastTransitionTime has second precision
upd web-1 101 50 True Copying | emit
check "a newer update is applied" wait_for 20 eval '[ "$(jp web-1 "{.status.migrationStatus.progress}")" = 50 ]'
check "same condition status: reason changes, lastTransitionTime does not" eval \
	'[ "$(jp web-1 "{.status.conditions[?(@.type==\"Migrating\")].reason}")" = Copying ] &&
	 [ "$(jp web-1 "{.status.conditions[?(@.type==\"Migrating\")].lastTransitionTime}")" = "$ltt1" ]'
upd web-1 102 100 False Succeeded | emit
check "status change: lastTransitionTime moves" wait_for 20 eval \
	'[ "$(jp web-1 "{.status.conditions[?(@.type==\"Migrating\")].status}")" = False ] &&
	 [ "$(jp web-1 "{.status.conditions[?(@.type==\"Migrating\")].lastTransitionTime}")" != "$ltt1" ]'

# --- 3. deleted Wukong, bad message --------------------------------------------------------------
upd ghost 1 5 | emit
check "an update for a missing Wukong is dropped and counted" wait_for 20 eval \
	'[ "$(metric "wukong_status_updates_total{result=\"deleted\"}")" -ge 1 ]'
echo '{"cluster":"local","namespace":"default","name":"../../secrets","source":"it","seq":1,"observedGeneration":1}' | emit
check "a hostile update is dead-lettered" wait_for 20 eval \
	'[ "$(metric "wukong_status_messages_total{topic=\"wukong.status\",result=\"reject\"}")" -ge 1 ]'

# --- 4. the applied seq survives a restart ---------------------------------------------------------
check "the applied seqs are persisted in status.appliedSeq (the CRD must declare it)" \
	test -n "$(jp web-1 '{.status.appliedSeq}')"
kill -TERM "$ST_PID"
wait "$ST_PID" 2>/dev/null
check "the lease is released on SIGTERM" grep -q 'stopped (exit 0)' "$T/st1.log"
start_status st2
check "a new instance takes the lease" wait_for 20 grep -q 'acquired' "$T/st2.log"
upd web-1 101 7 | emit # older than the applied 102: a replay after a restart
check "the replayed old update is consumed" wait_for 60 eval '[ "$(metric wukong_status_messages_applied_total)" -ge 1 ]'
check "... and not applied across the restart" test "$(jp web-1 '{.status.migrationStatus.progress}')" = 100

# --- 5. SIGKILL during a burst ------------------------------------------------------------------
{
	echo "apiVersion: v1"
	echo "kind: List"
	echo "items:"
	for i in $(seq 0 $((N - 1))); do
		printf -- '- {apiVersion: vm.novasphere.dev/v1alpha1, kind: Wukong, metadata: {name: bw-%d, namespace: default}, spec: {cpu: 1, memory: 1Gi, running: false}}\n' "$i"
	done
} >"$T/burst.yaml"
check "create $N Wukongs" $K apply --validate=false -f "$T/burst.yaml" -o name
# watch progress while the burst runs: no Wukong may ever go back
snap() { $K get wukongs -o jsonpath='{range .items[*]}{.metadata.name} {.status.migrationStatus.progress}{"\n"}{end}' 2>/dev/null | grep '^bw-'; }
( while :; do snap >>"$T/snaps"; echo "--" >>"$T/snaps"; sleep 0.3; done ) &
_pids+=("$!")
start_bg emit "$TBIN/status_emit" -b "$BOOTSTRAP" --gen $N --rounds $ROUNDS --prefix bw --seq-base 5000 --source it --round-ms 40
EMIT_PID=$LAST_PID
wait_for 30 eval '[ "$(metric wukong_status_messages_applied_total)" -ge 200 ]' || diag "few applied before the kill"
kill -KILL "$ST_PID"
diag "SIGKILL wukong-status after $(grep -c . "$T/snaps") snapshot lines"
wait "$EMIT_PID"
check "the burst of $((N * ROUNDS)) updates was produced" test $? -eq 0
start_status st3
check "the restarted instance takes the lease after the dead one's expires" wait_for 30 grep -q 'acquired' "$T/st3.log"
done_all() { [ "$(snap | awk '$2 == 100' | wc -l)" -eq $N ]; }
check "every Wukong ends with its latest status (progress 100)" wait_for 90 done_all
check "... and phase Succeeded" eval \
	'[ "$($K get wukongs -o jsonpath="{range .items[*]}{.metadata.name} {.status.migrationStatus.phase}{\"\\n\"}{end}" | grep "^bw-" | grep -c Succeeded)" -eq $N ]'
sleep 1
snap >>"$T/snaps"
echo "--" >>"$T/snaps"
# monotone: per Wukong, the progress seen in successive snapshots never decreases
check "no Wukong ever showed an older status than before" awk '
	$1 ~ /^bw-/ && $2 != "" { if (($1 in last) && $2 + 0 < last[$1]) { print "went back: " $1 " " last[$1] " -> " $2; bad = 1 } last[$1] = $2 + 0 }
	END { exit bad }' "$T/snaps"
p=$(metric 'wukong_status_patches_total{result="ok"}')
m=$(metric wukong_status_messages_applied_total)
diag "after the restart: $m message(s) applied with $p patch(es)"
finish
