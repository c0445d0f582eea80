#!/usr/bin/env bash
# 0005-service-loop.sh - the core service loop (core/wk_service.c) end to end against the embedded
# broker, through tests/helpers/echo_service.c: messages handled in order, a REJECT and an oversized
# message dead-lettered with x-dlt-reason, a RETRY redelivered, a PENDING message acknowledged later,
# /healthz /readyz /metrics answering, SIGTERM draining with exit 0 and committed offsets honoured
# by the next run of the same group.
. "$(dirname "$0")/../lib.sh"

TOPIC=wukong.echo
GROUP="echo-$$-$RANDOM"

produce() {
	printf 'k:%s\n' "$@" | kcat -b "$BOOTSTRAP" -P -t "$TOPIC" -K: 2>>"$T/kcat.log"
}

start_echo() {
	start_bg "$1" "$TBIN/echo_service" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X consumer.group="$GROUP" -X http.addr-file="$T/$1.addr" -X echo.out="$T/out" \
		-X consumer.retry-backoff=100ms -X log.level=info
	ECHO_PID=$LAST_PID
}

# wait_exit PID SECONDS: the exit status of PID, or 255 if it is still running after SECONDS.
wait_exit() {
	if wait_for "$2" eval "! kill -0 $1"; then
		wait "$1"
		return $?
	fi
	return 255
}

start_kafka 1

# One key, so everything lands on one partition and order is observable.
produce one bad flaky two pending ackinline three
head -c 1200000 /dev/zero | tr '\0' x >"$T/big"
kcat -b "$BOOTSTRAP" -P -t "$TOPIC" -k k -X message.max.bytes=2000000 "$T/big" 2>>"$T/kcat.log"
produce last

start_echo echo1
wait_for 20 test -s "$T/echo1.addr" || { not_ok "echo_service wrote its address"; exit 1; }
ADDR=$(cat "$T/echo1.addr")
check "/healthz answers 200" curl -sf -o /dev/null "http://$ADDR/healthz"
check "/readyz answers 200 once init said ready" curl -sf -o /dev/null "http://$ADDR/readyz"
check "unknown path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/nope")" = 404

wait_for 40 grep -qx last "$T/out"
check "messages handled in order; flaky redelivered after its retry; bad and oversized skipped" \
	diff <(printf 'one\nflaky\ntwo\npending\nackinline\nthree\nlast\n') "$T/out"
check "the retry happened exactly once" test "$(grep -c 'flaky message at offset' "$T/echo1.log")" -eq 1

kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%k|%S|%h\n' >"$T/dlq" 2>>"$T/kcat.log"
check "rejected message is on the dlq with x-dlt-reason=SchemaViolation" \
	grep -q '^k|3|.*x-dlt-reason=SchemaViolation' "$T/dlq"
check "dead letter names its origin" grep -q 'x-dlt-original-topic=wukong.echo' "$T/dlq"
check "oversized message is dead-lettered as oversized without reaching on_message" \
	grep -q 'x-dlt-reason=RequestTooLarge' "$T/dlq"
check "exactly two dead letters" test "$(wc -l <"$T/dlq")" -eq 2

curl -sf "http://$ADDR/metrics" >"$T/metrics"
check "/metrics counts the retry" \
	grep -qx 'wukong_echo_messages_total{topic="wukong.echo",result="retry"} 1' "$T/metrics"
check "/metrics counts done messages (an inline-acked PENDING counts as done)" \
	grep -qx 'wukong_echo_messages_total{topic="wukong.echo",result="done"} 6' "$T/metrics"
check "/metrics counts dead letters by reason" \
	grep -qx 'wukong_echo_dead_letters_total{reason="SchemaViolation"} 1' "$T/metrics"
check "/metrics has HELP and TYPE lines" grep -qx '# TYPE wukong_echo_loop_iterations_total counter' "$T/metrics"
check "no message left pending" grep -qx 'wukong_echo_pending_messages 0' "$T/metrics"

kill -TERM "$ECHO_PID"
wait_exit "$ECHO_PID" 20
rc=$?
check "SIGTERM drains and exits 0 (got $rc)" test "$rc" -eq 0
check "term callback ran before exit" grep -qx -- '-- term' "$T/out"
check "shutdown logged" grep -q 'stopped (exit 0)' "$T/echo1.log"

# Same group again: the committed offsets are honoured, only the new messages are handled.
produce after stop
start_echo echo2
wait_exit "$ECHO_PID" 60
rc=$?
check "wk_service_stop's exit code comes out of main (got $rc)" test "$rc" -eq 4
check "second run handled only the new message" \
	diff <(printf 'one\nflaky\ntwo\npending\nackinline\nthree\nlast\n-- term\nafter\n-- term\n') "$T/out"

finish
