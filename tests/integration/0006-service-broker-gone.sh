#!/usr/bin/env bash
# 0006-service-broker-gone.sh - a service whose broker died (SIGKILL, no goodbye) still exits soon
# after SIGTERM: the final commit and the group leave are bounded (core/wk_kafka.c,
# core/wk_service.c), and the log says which stored offsets could not be committed.
. "$(dirname "$0")/../lib.sh"

TOPIC=wukong.echo
GROUP="echo-gone-$$-$RANDOM"
BOUND=15

start_kafka 1
printf 'k:%s\n' one two three | kcat -b "$BOOTSTRAP" -P -t "$TOPIC" -K: 2>>"$T/kcat.log"

start_bg echo "$TBIN/echo_service" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X consumer.group="$GROUP" -X http.addr-file="$T/echo.addr" -X echo.out="$T/out" \
	-X kafka.auto.commit.interval.ms=600000 -X kafka.session.timeout.ms=30000 \
	-X log.level=info
ECHO_PID=$LAST_PID
wait_for 40 grep -qx three "$T/out"
check "echo_service handled the messages" diff <(printf 'one\ntwo\nthree\n') "$T/out"

# The broker vanishes without closing anything; auto-commit is far away, so offsets are stored but
# not committed; the session timeout (30 s) is longer than the bound, so waiting for librdkafka to
# give up on its own is not enough.
kill -KILL "$KAFKA_PID"
wait "$KAFKA_PID" 2>/dev/null
sleep 1
start=$(date +%s)
kill -TERM "$ECHO_PID"
if wait_for "$BOUND" eval "! kill -0 $ECHO_PID"; then
	wait "$ECHO_PID"
	rc=$?
	took=$(($(date +%s) - start))
	ok "SIGTERM with the broker gone exits within ${BOUND}s (took ${took}s, exit $rc)"
else
	not_ok "SIGTERM with the broker gone exits within ${BOUND}s (still running)"
	kill -KILL "$ECHO_PID"
fi
check "the log says what could not be committed" \
	grep -q "not committed.*'$TOPIC' \[[0-9]*\] 3" "$T/echo.log"
check "shutdown logged" grep -q 'stopped (exit' "$T/echo.log"
finish
