#!/usr/bin/env bash
# 0004 - fault injection through wukong-kafka's control FIFO: with 3 brokers, the leader of the
# partition a key maps to goes down for a few seconds while wk_producer keeps producing to that key.
# Nothing is lost and nothing is duplicated once it is back (idempotent producer, retries).
. "$(dirname "$0")/../lib.sh"

CTL="$T/control"
start_bg kafka "$BIN/wukong-kafka" --brokers 3 --bootstrap-file "$T/bootstrap" --control "$CTL"
wait_for 20 test -s "$T/bootstrap" || { not_ok "wukong-kafka started"; exit 1; }
BOOTSTRAP=$(cat "$T/bootstrap")
check "bootstrap lists three brokers" test "$(tr ',' '\n' <"$T/bootstrap" | wc -l)" -eq 3
check "control FIFO created" test -p "$CTL"

TOPIC=wukong.events
KEY="c1/default/vm-fault-$$"
N=150
produce() {
	"$TBIN/ce_produce" -b "$BOOTSTRAP" -t "$TOPIC" -k "$KEY" --source /clusters/c1 \
		--type dev.novasphere.wukong.vm.changed "$@"
}

# Where the key lives and who leads that partition.
P=$(produce --data '{"seq":"first"}' 2>>"$T/produce.err" | sed -n 's/^partition=\([0-9]*\) .*/\1/p')
check "first event delivered" test -n "$P"
LEADER=$(kcat -L -b "$BOOTSTRAP" -t "$TOPIC" 2>/dev/null |
	sed -n "s/^ *partition $P, leader \([0-9]*\),.*/\1/p")
diag "key on partition $P, leader broker $LEADER"
check "found the partition leader" test -n "$LEADER"

# Produce N events over ~3 s; take the leader down for 3 s in the middle.
start_bg producer produce -n "$N" --interval-ms 20
PRODUCER=$LAST_PID
sleep 0.7
echo "down $LEADER" >"$CTL"
check "broker went down on command" wait_for 5 grep -q "^ok down $LEADER\$" "$T/kafka.log"
sleep 3
echo "up $LEADER" >"$CTL"
check "broker came back on command" wait_for 5 grep -q "^ok up $LEADER\$" "$T/kafka.log"
echo "leader $TOPIC $P $LEADER" >"$CTL"
echo "down 99" >"$CTL"
check "control: leader command accepted" wait_for 5 grep -q "^ok leader $TOPIC $P $LEADER\$" "$T/kafka.log"
check "control: unknown broker refused" wait_for 5 grep -q "^error down 99: unknown broker id" "$T/kafka.log"

check "producer finished" wait_for 60 bash -c "! kill -0 $PRODUCER 2>/dev/null"
wait "$PRODUCER"
check "producer exited 0" test $? -eq 0
check "every event delivered, none failed" grep -q "^delivered=$N failed=0\$" "$T/producer.log"
check "the producer did see the leader go away" grep -Eq 'Connection refused|Disconnected' "$T/producer.log"

# Read the partition back: all N sequence numbers, each exactly once, in order.
kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -p "$P" -o beginning -e -q -f '%k %s\n' 2>"$T/kcat.err" |
	awk -v k="$KEY" '$1 == k { print $2 }' | sed -n 's/^{"seq":\([0-9]*\)}$/\1/p' >"$T/seqs"
check "consumer sees $N events for the key" test "$(wc -l <"$T/seqs")" -eq "$N"
check "no duplicates, in order" cmp -s "$T/seqs" <(seq 0 $((N - 1)))

finish
