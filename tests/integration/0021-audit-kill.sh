#!/usr/bin/env bash
# 0021-audit-kill.sh - SIGKILL wukong-audit in the middle of a burst of 10,000 audit events, leave a
# torn half-record at the end of the log as a crash mid-write would, restart it: every event is
# recorded exactly once (10,000 distinct ce_ids, no duplicates, seqs 1..N without gaps) and the
# chain verifies. Then the whole burst is sent again (a producer replaying after its own crash):
# still exactly 10,000.
. "$(dirname "$0")/../lib.sh"

N=10000
GROUP="audit-kill-$$-$RANDOM"
LOG="$T/log"

start_audit() {
	start_bg "$1" "$BIN/wukong-audit" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X consumer.group="$GROUP" -X kafka.session.timeout.ms=6000 \
		-X http.addr-file="$T/$1.addr" -X audit.dir="$LOG" -X audit.segment.bytes=1000000
	AUDIT_PID=$LAST_PID
}
lines() { cat "$LOG"/audit-*.log 2>/dev/null | wc -l; }
ids() { "$BIN/wukong-auditlog" query -d "$LOG" | jq -r 'select(.kind=="event") | .ceId'; }

start_kafka 1
start_audit audit1
wait_for 20 test -s "$T/audit1.addr" || { not_ok "wukong-audit started"; exit 1; }

start_bg emit "$TBIN/audit_emit" -b "$BOOTSTRAP" -n "$N" -p b --small
EMIT_PID=$LAST_PID
# Kill once a good part of the burst is in the log, while the rest is still coming.
wait_for 60 eval 'test "$(lines)" -ge 1500' || diag "only $(lines) records before the kill"
kill -KILL "$AUDIT_PID"
wait "$AUDIT_PID" 2>/dev/null
before=$(lines)
diag "killed wukong-audit with $before records written"
check "killed mid-burst" test "$before" -lt "$N"

# A crash in the middle of a write leaves half a line; the restart must cut it, not keep it.
last=$(ls "$LOG"/audit-*.log | tail -1)
printf '{"v":1,"seq":%d,"time":"2026-01-01T00:00:00.0' $((before + 1)) >>"$last"
"$BIN/wukong-auditlog" verify -d "$LOG" >"$T/verify-torn.out"
check "verify accepts the log and notes the torn record (past HEAD: never acknowledged)" \
	grep -q "^note: .* (seq $((before + 1))) is incomplete" "$T/verify-torn.out"

wait "$EMIT_PID"
check "the producer delivered all $N events" test $? -eq 0

start_audit audit2
wait_for 90 eval 'test "$(ids | wc -l)" -ge $N' || diag "only $(ids | wc -l) events after the restart"
# Let redelivered messages (offsets not committed before the kill) arrive and be dropped.
sleep 2
check "the restart removed the torn tail" grep -q 'removed a torn tail' "$T/audit2.log"
ids >"$T/ids"
check "$N events recorded" test "$(wc -l <"$T/ids")" -eq "$N"
check "no event recorded twice" test "$(sort -u "$T/ids" | wc -l)" -eq "$N"
check "every id of the burst is there" \
	diff <(seq 0 $((N - 1)) | sed 's/^/b-/' | sort) <(sort "$T/ids")
"$BIN/wukong-auditlog" query -d "$LOG" | jq -r .seq >"$T/seqs"
check "seqs run 1..N without gaps" diff <(seq 1 "$(wc -l <"$T/seqs")") "$T/seqs"
check "the chain verifies" "$BIN/wukong-auditlog" verify -q -d "$LOG"

# The producer replays the whole burst: nothing new is recorded.
"$TBIN/audit_emit" -b "$BOOTSTRAP" -n "$N" -p b --small >/dev/null
"$TBIN/audit_emit" -b "$BOOTSTRAP" -n 1 -p marker --request marker-0 >/dev/null
wait_for 60 eval '"$BIN/wukong-auditlog" query -d "$LOG" --request marker-0 | grep -q marker'
check "a replayed burst adds nothing (only the marker)" test "$(ids | wc -l)" -eq $((N + 1))
check "the chain still verifies" "$BIN/wukong-auditlog" verify -q -d "$LOG"
dups=$(curl -sf "http://$(cat "$T/audit2.addr")/metrics" | awk '/^wukong_audit_duplicates_total/ {print $2}')
diag "duplicates dropped after the restart: $dups (redelivered + replayed)"
check "the replay (and any redelivery) was dropped as duplicates" test "${dups:-0}" -ge "$N"
finish
