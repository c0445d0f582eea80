#!/usr/bin/env bash
# 0002 - at-least-once through wk_consumer (tests/helpers/alo_consumer.c), with SIGKILL:
#   killed after processing but before storing the offset -> the next member gets the message again;
#   killed after storing + a synchronous commit          -> the next member does not.
. "$(dirname "$0")/../lib.sh"

start_kafka 1
TOPIC=wukong.requests
GROUP="it-alo-$$"

produce() {
	"$TBIN/ce_produce" -b "$BOOTSTRAP" -t "$TOPIC" -k "c1/default/$1" --source /clusters/c1 \
		--type dev.novasphere.wukong.request.migrate --data "{\"vm\":\"$1\"}" >>"$T/produce.log" 2>&1
}

# consumer NAME ARGS...: one group member writing its effects to $T/NAME.out.
consumer() {
	local name=$1
	shift
	start_bg "$name" "$TBIN/alo_consumer" -b "$BOOTSTRAP" -g "$GROUP" -t "$TOPIC" -o "$T/$name.out" "$@"
}

check "produced m1" produce m1

# kill9 PID: SIGKILL and reap, without bash's "Killed" job notice.
kill9() { { kill -KILL "$1" && wait "$1"; } 2>/dev/null; }

# 1. Processes m1, then dies before storing its offset. It lives through several auto-commit
#    intervals first: had the offset been stored on delivery (enable.auto.offset.store=true),
#    it would be committed by then and this test would fail.
consumer a --pause-after-process "$T/a.ready" -X kafka.auto.commit.interval.ms=100
A=$LAST_PID
check "member a processed m1" wait_for 40 test -e "$T/a.ready"
check "member a's effect is m1" grep -q ' c1/default/m1 ' "$T/a.out"
sleep 1
kill9 "$A"

# 2. A new member gets m1 again; it stores and commits synchronously, then dies.
consumer b --pause-after-commit "$T/b.ready"
B_PID=$LAST_PID
check "member b got m1 again (at least once)" wait_for 60 test -e "$T/b.ready"
check "member b's effect is m1" grep -q ' c1/default/m1 ' "$T/b.out"
kill9 "$B_PID"

# 3. After a committed offset, m1 is not redelivered: the next member's first message is m2.
check "produced m2" produce m2
consumer c -n 1
C=$LAST_PID
check "member c processed one message and exited" wait_for 60 bash -c "! kill -0 $C 2>/dev/null"
check "member c got m2" grep -q ' c1/default/m2 ' "$T/c.out"
check "member c did not get m1 again" bash -c "! grep -q ' c1/default/m1 ' '$T/c.out'"
check "member c processed exactly one message" test "$(wc -l <"$T/c.out")" -eq 1

finish
