#!/usr/bin/env bash
# 0222-audit-input-gap.sh - wukong-audit stopped while its input is trimmed (the embedded broker
# keeps 5 MiB a partition; real Kafka after retention): on restart the lost offsets are not skipped
# silently: an input-gap record names them, a metric counts them, and `wukong-auditlog verify`
# fails (exit 4) until the gap is acknowledged with --ack-gaps-through. Issue 22 fault 2.
. "$(dirname "$0")/../lib.sh"

GROUP="audit-gap-$$-$RANDOM"
LOG="$T/log"
start_audit() {
	start_bg "$1" "$BIN/wukong-audit" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X consumer.group="$GROUP" -X kafka.session.timeout.ms=6000 \
		-X http.addr-file="$T/$1.addr" -X audit.dir="$LOG"
	AUDIT_PID=$LAST_PID
}
lines() { cat "$LOG"/audit-*.log 2>/dev/null | wc -l; }

start_kafka 1
start_audit audit1
wait_for 20 test -s "$T/audit1.addr" || { not_ok "wukong-audit started"; finish; exit 1; }
"$TBIN/audit_emit" -b "$BOOTSTRAP" -n 10 -p first --vm ns/one >"$T/emit1.log" 2>&1
wait_for 30 eval 'test "$(lines)" -ge 10' || diag "only $(lines) records"
check "the first 10 events are recorded" test "$(lines)" -eq 10
kill -TERM "$AUDIT_PID"
wait "$AUDIT_PID" 2>/dev/null

# ~8 MiB on the same partition while wukong-audit is down: the broker drops the oldest.
REASON=$(head -c 4000 /dev/zero | tr '\0' 'r')
"$TBIN/audit_emit" -b "$BOOTSTRAP" -n 2000 -p bulk --vm ns/one --reason "$REASON" >"$T/emit2.log" 2>&1
check "2000 large events produced while wukong-audit was down" test $? -eq 0

start_audit audit2
wait_for 20 test -s "$T/audit2.addr" || not_ok "wukong-audit restarted"
wait_for 90 eval '"$BIN/wukong-auditlog" query -d "$LOG" | grep -q "\"kind\":\"input-gap\""'
"$BIN/wukong-auditlog" query -d "$LOG" | jq -c 'select(.kind=="input-gap")' >"$T/gaps"
check "an input-gap record names the lost offsets" test "$(wc -l <"$T/gaps")" -eq 1
diag "$(jq -r .reason "$T/gaps")"
FROM=$(jq -r .details.fromOffset "$T/gaps")
TO=$(jq -r .details.toOffset "$T/gaps")
check "the gap starts right after the 10 recorded events (offset 10) and is not empty" \
	test "$FROM" = 10 -a "$TO" -ge "$FROM"
# what remained after the gap is recorded
wait_for 60 eval 'test "$(lines)" -ge $((10 + 1 + 2000 - (TO - FROM + 1)))'
check "every message still in the broker is recorded (10 + gap + $((2000 - (TO - FROM + 1))))" \
	test "$(lines)" -eq $((10 + 1 + 2000 - (TO - FROM + 1)))
curl -sf "http://$(cat "$T/audit2.addr")/metrics" >"$T/metrics"
check "metric: one input gap" grep -q '^wukong_audit_input_gaps_total{topic="wukong.audit"} 1$' "$T/metrics"
check "metric: lost messages counted" grep -q "^wukong_audit_input_lost_messages_total{topic=\"wukong.audit\"} $((TO - FROM + 1))\$" "$T/metrics"
"$BIN/wukong-auditlog" verify -d "$LOG" >"$T/verify.out"
RC=$?
sed 's/^/# /' "$T/verify.out" | head -4
check "verify fails loudly on the unacknowledged gap (exit 4)" test "$RC" -eq 4
check "verify names the gap" grep -q '^INPUT GAP' "$T/verify.out"
GSEQ=$(jq -r .seq "$T/gaps")
check "verify passes once the gap is acknowledged" "$BIN/wukong-auditlog" verify -q -d "$LOG" --ack-gaps-through "$GSEQ"
kill -TERM "$AUDIT_PID"
wait "$AUDIT_PID" 2>/dev/null
finish
