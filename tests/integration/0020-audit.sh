#!/usr/bin/env bash
# 0020-audit.sh - wukong-audit end to end against the embedded broker: a migration's audit events
# (one sent twice), a dead-lettered submission and malformed audit events become records that
# `wukong-auditlog query` finds by request, VM and time and that validate against
# schemas/audit-record.v1.json; `verify` passes; then one edited byte, one deleted record, a
# truncated file and a deleted segment each make `verify` fail and name where.
. "$(dirname "$0")/../lib.sh"

GROUP="audit-$$-$RANDOM"
LOG="$T/log"
Q() { "$BIN/wukong-auditlog" "$@"; }

start_kafka 1
start_bg audit "$BIN/wukong-audit" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X consumer.group="$GROUP" -X kafka.session.timeout.ms=6000 \
	-X http.addr-file="$T/audit.addr" -X audit.dir="$LOG" -X audit.segment.bytes=4000
AUDIT_PID=$LAST_PID
wait_for 20 test -s "$T/audit.addr" || { not_ok "wukong-audit started"; cat "$T/audit.log"; exit 1; }

# A migration as the migrator tells it: four steps of request req-mig-1 about default/vm-1, the
# third sent twice (a producer retrying after a crash reuses the ce_id).
emit() { "$TBIN/audit_emit" -b "$BOOTSTRAP" "$@" >/dev/null 2>>"$T/emit.log"; }
emit -p mig-accepted --request req-mig-1 --vm default/vm-1 --action migration.accepted --outcome pending
emit -p mig-preflight --request req-mig-1 --vm default/vm-1 --action migration.preflight --outcome success
emit -p mig-vmim --request req-mig-1 --vm default/vm-1 --action migration.vmim-created --outcome success -r 2
emit -p mig-done --request req-mig-1 --vm default/vm-1 --action migration.succeeded --outcome success
# Other VMs' business, to make the log span several segments.
emit -p other -n 6 --vm prod/vm-2 --action migration.preflight --outcome failure --reason TargetNodeNotReady
check "audit events produced" test ! -s "$T/emit.log"

# A submission the migrator dead-lettered (headers as wk_dlq_send writes them).
printf '%s\n' '{"requestId":"req-bad-1","namespace":"default","name":"../../x"}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.dlq -k c1/default/x \
		-H ce_specversion=1.0 -H ce_id=sub-1 -H ce_source=/clusters/c1 \
		-H ce_type=dev.novasphere.wukong.request.migrate.v1 \
		-H x-dlt-original-topic=wukong.requests -H x-dlt-original-partition=2 \
		-H x-dlt-original-offset=17 -H x-dlt-reason=invalid-name \
		-H "x-dlt-error=invalid name '../../x'" -H x-dlt-service=wukong-migrator \
		-H x-dlt-time=2026-01-01T00:00:00.000000Z 2>>"$T/kcat.log"
# And one dead-lettered for real by a service on the core loop (wk_dlq_send's own headers).
start_bg echo "$TBIN/echo_service" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X consumer.group="echo-$GROUP" -X echo.out="$T/echo.out" -X http.listen=
ECHO_PID=$LAST_PID
printf '%s\n' bad | kcat -b "$BOOTSTRAP" -P -t wukong.echo -k c1/default/vm-3 \
	-H ce_specversion=1.0 -H ce_id=echo-sub-1 -H ce_source=/clusters/c1 \
	-H ce_type=dev.novasphere.wukong.request.migrate.v1 -H ce_subject=Wukong/default/vm-3 \
	2>>"$T/kcat.log"
# Malformed audit events: bad JSON; no CloudEvents headers at all; a wrong field type.
printf '%s\n' '{"actor": "x", oops' | kcat -b "$BOOTSTRAP" -P -t wukong.audit -k c1/default/vm-1 \
	-H ce_specversion=1.0 -H ce_id=broken-1 -H ce_source=/clusters/c1 \
	-H ce_type=dev.novasphere.wukong.audit.v1 2>>"$T/kcat.log"
printf '%s\n' 'not an event' | kcat -b "$BOOTSTRAP" -P -t wukong.audit -k junk 2>>"$T/kcat.log"
printf '%s\n' '{"actor":"m","action":"a","outcome":"success","object":{"name":7}}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.audit -k c1/default/vm-1 \
		-H ce_specversion=1.0 -H ce_id=broken-2 -H ce_source=/clusters/c1 \
		-H ce_type=dev.novasphere.wukong.audit.v1 2>>"$T/kcat.log"

# 4 + 6 events, 2 rejected submissions, 3 invalid events; the duplicate dropped.
TOTAL=15
count() { Q query -d "$LOG" | wc -l; }
wait_for 60 eval 'test "$(count)" -ge $TOTAL' || diag "records: $(count)"
Q query -d "$LOG" >"$T/all.jsonl"
check "$TOTAL records: the duplicate was dropped" test "$(wc -l <"$T/all.jsonl")" -eq $TOTAL
check "every record validates against schemas/audit-record.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/audit-record.v1.json" "$T/all.jsonl"
check "the log spans several segments" test "$(ls "$LOG"/audit-*.log | wc -l)" -ge 3

Q query -d "$LOG" --request req-mig-1 >"$T/mig.jsonl"
check "query --request finds the migration's 4 steps in order" \
	test "$(jq -r .action "$T/mig.jsonl" | tr '\n' ' ')" = \
	"migration.accepted migration.preflight migration.vmim-created migration.succeeded "
check "records carry who/what/why" \
	test "$(jq -r '[.actor,.cluster,.object.namespace,.object.name,.request.source,.request.topic,.ceSource] | join(" ")' "$T/mig.jsonl" | sort -u)" = \
	"wukong-migrator c1 default vm-1 kafka wukong.requests /clusters/c1"
check "query --vm default/vm-1 finds its 4 records (invalid events name no object)" \
	test "$(Q query -d "$LOG" --vm default/vm-1 | wc -l)" -eq 4
check "query --vm prod/vm-2 finds the 6 failures with their reason" \
	test "$(Q query -d "$LOG" --vm prod/vm-2 | jq -r .reason | grep -c TargetNodeNotReady)" -eq 6
Q query -d "$LOG" --vm prod/vm-2 -o wide >"$T/table"
check "wide table output has a header and one row per record" \
	test "$(head -1 "$T/table" | awk '{print $1, $2, $3}')" = "SEQ TIME KIND" -a "$(wc -l <"$T/table")" -eq 7
Q query -d "$LOG" --vm prod/vm-2 -o table >"$T/table2"
check "table output: TIME OBJECT ACTION OUTCOME REASON MESSAGE, one row per record" \
	test "$(head -1 "$T/table2" | awk '{print $1, $2, $3, $4, $5, $6}')" = "TIME OBJECT ACTION OUTCOME REASON MESSAGE" -a "$(wc -l <"$T/table2")" -eq 7
check "--limit 2 gives the newest two, oldest first; --reverse newest first" bash -c "
	all=\$('$BIN/wukong-auditlog' query -d '$LOG' | jq -r .seq | tail -2 | tr '\n' ' ')
	lim=\$('$BIN/wukong-auditlog' query -d '$LOG' --limit 2 | jq -r .seq | tr '\n' ' ')
	rev=\$('$BIN/wukong-auditlog' query -d '$LOG' --limit 2 --reverse | jq -r .seq | tac | tr '\n' ' ')
	[ \"\$all\" = \"\$lim\" ] && [ \"\$lim\" = \"\$rev\" ] && [ -n \"\$lim\" ]"
check "-o yaml: one document per record" test "$(Q query -d "$LOG" --vm prod/vm-2 -o yaml | grep -c '^---$')" -eq 6
Q query -d "$T/no-such-dir" -o table >"$T/nodir.out" 2>"$T/nodir.err"
check "a missing directory: an error and no table header" bash -c "[ -s '$T/nodir.err' ] && [ ! -s '$T/nodir.out' ]"

Q query -d "$LOG" --request req-bad-1 >"$T/bad.jsonl"
check "the dead-lettered submission is a rejected-submission record" \
	test "$(jq -r '[.kind,.reason,.actor,.request.topic,.request.partition,.request.offset,.object.name] | join(" ")' "$T/bad.jsonl")" = \
	"rejected-submission invalid-name wukong-migrator wukong.requests 2 17 ../../x"
check "a real dead letter (wk_dlq_send via the core loop) is recorded with its origin" \
	test "$(jq -r 'select(.actor=="wukong-echo") | [.kind,.reason,.request.topic,.request.id,.object.name,.raw] | join(" ")' "$T/all.jsonl")" = \
	"rejected-submission SchemaViolation wukong.echo echo-sub-1 vm-3 bad"
check "invalid audit events are recorded with the reason" \
	test "$(jq -r 'select(.kind=="invalid-event") | .reason' "$T/all.jsonl" | tr '\n' '|')" = \
	"value is not valid JSON|header 'ce_specversion' must be \"1.0\"|field 'name' must be a string|"
check "an invalid event keeps its raw bytes" \
	test "$(jq -r 'select(.ceId=="broken-1") | .raw' "$T/all.jsonl")" = '{"actor": "x", oops'

check "query --since 1h finds everything" test "$(Q query -d "$LOG" --since 1h | wc -l)" -eq $TOTAL
check "query --until 2000-01-01T00:00:00Z finds nothing" \
	test "$(Q query -d "$LOG" --until 2000-01-01T00:00:00Z | wc -l)" -eq 0
check "query with a bad --vm is a usage error" test "$(Q query -d "$LOG" --vm nope 2>/dev/null; echo $?)" -eq 2

ADDR=$(cat "$T/audit.addr")
check "/metrics counts records by kind" \
	sh -c "curl -sf 'http://$ADDR/metrics' | grep -q 'wukong_audit_records_total{kind=\"invalid-event\"} 3'"

Q verify -d "$LOG" >"$T/verify.out"
check "verify passes on the live log" grep -q "^ok: $TOTAL records" "$T/verify.out"

kill -TERM "$ECHO_PID" "$AUDIT_PID"
wait "$ECHO_PID" 2>/dev/null
wait_for 20 eval "! kill -0 $AUDIT_PID"
wait "$AUDIT_PID"
check "SIGTERM drains and exits 0" test $? -eq 0

# Tampering, each on its own copy of the log.
tamper() { rm -rf "$T/t"; cp -r "$LOG" "$T/t"; }
vfail() { # vfail DESCRIPTION PATTERN: verify exits 1 and its output matches PATTERN
	local out rc
	out=$(Q verify -d "$T/t")
	rc=$?
	if [ "$rc" -eq 1 ] && grep -qE "$2" <<<"$out"; then ok "$1"; else
		not_ok "$1"
		diag "exit $rc: $out"
	fi
}
S1="$T/t/audit-00000001.log"

tamper
sed -i '2s/^{"v":1,/{"v":2,/' "$S1"
vfail "one edited byte: verify names segment 1 line 2" \
	'^BROKEN: audit-00000001.log line 2 \(seq 2\): hash mismatch'

tamper
sed -i '2d' "$S1"
vfail "one deleted record: verify names line 2 and the missing seq" \
	'^BROKEN: audit-00000001.log line 2 \(seq 2\): missing record: expected seq 2, found seq 3'

tamper
last=$(ls "$T"/t/audit-*.log | tail -1)
truncate -s -20 "$last"
vfail "a truncated file: verify names the incomplete last record" \
	"^BROKEN: $(basename "$last") line [0-9]+ .*incomplete record"

tamper
last=$(ls "$T"/t/audit-*.log | tail -1)
sed -i '$d' "$last"
vfail "records cut off the end on a line boundary: HEAD gives it away" \
	"^BROKEN: $(basename "$last"): the log ends at seq $((TOTAL - 1)) but HEAD says seq $TOTAL"

tamper
rm "$T/t/audit-00000002.log"
vfail "a deleted middle segment: verify names the gap" \
	"^BROKEN: audit-00000003.log: segment 'audit-00000002.log' is missing"

tamper
{ sed -n 2p "$S1"; sed -n 1p "$S1"; sed -n '3,$p' "$S1"; } >"$T/swapped"
mv "$T/swapped" "$S1"
vfail "two swapped records: verify says they are out of order" \
	'^BROKEN: audit-00000001.log line 1 \(seq 1\): records out of order: seq 2 comes before seq 1'

check "the untouched log still verifies" "$BIN/wukong-auditlog" verify -q -d "$LOG"
finish
