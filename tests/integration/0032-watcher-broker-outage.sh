#!/usr/bin/env bash
# 0032-watcher-broker-outage.sh - take down the broker that leads the partition of a VM's key for
# 10 s while that VM (and a node) keep changing: the watcher holds every event (queue depth
# metric > 0, nothing dropped) and delivers all of them, in order, once the broker is back. Then a
# tiny queue cap (watcher.queue-max=2) against a longer outage of every broker: watching pauses
# instead of dropping, and every change still arrives.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

C=it32
start_bg kafka "$BIN/wukong-kafka" --brokers 3 --bootstrap-file "$T/bootstrap" --control "$T/kafka.ctl"
wait_for 20 test -s "$T/bootstrap" || { not_ok "wukong-kafka started"; finish; exit 1; }
wait_for 10 test -p "$T/kafka.ctl" || { not_ok "control fifo"; finish; exit 1; }
BOOTSTRAP=$(cat "$T/bootstrap")
BOOTSTRAP=${BOOTSTRAP#bootstrap=}
ctl() { echo "$*" >"$T/kafka.ctl"; }
start_cluster || { not_ok "a cluster to watch"; finish; exit 1; }
ok "3-broker embedded Kafka and cluster ($BACKEND) up"
node_create node-1
vm_create o1
vm_create o3
NODE=$(first_node)
KEY=$C/default/o1

start_watcher w $C -X watcher.heartbeat-interval=0 -X kafka.log_level=3
check "watcher ready" wait_for 30 is_ready w
check "o1 published" wait_for 10 has_event $KEY virtualmachine.added

dump
PART=$(jq -r "select(.key==\"$KEY\") | .partition" "$T/events.json" | head -1)
LEADER=$(kcat -b "$BOOTSTRAP" -L -t wukong.events 2>/dev/null |
	sed -n "s/^ *partition $PART, leader \([0-9]*\),.*/\1/p")
check "found the leader of $KEY's partition ($PART): broker $LEADER" test -n "$LEADER"

ctl down "$LEADER"
t0=$(date +%s)
for i in $(seq 1 20); do vm_label o1 gen "$i"; done
vm_delete o3
vm_create o2
node_cordon "$NODE"
# (the partition cannot be read while its leader is down: the queue depth says what waits)
check "the 20 changes of o1 wait in the watcher's queue" \
	wait_for 8 sh -c "[ \"\$(curl -sf http://$(cat "$T/w.addr")/metrics | sed -n 's/^wukong_watcher_queue_depth //p')\" -ge 20 ]"
sleep $((10 - ($(date +%s) - t0)))
ctl up "$LEADER"
ok "broker $LEADER down for 10 s, back up"

check "all 20 changes of o1 delivered" wait_for 60 body_has $KEY virtualmachine.modified \
	'b["labels"]["gen"] == "20"'
dump
missing=0
for i in $(seq 1 20); do
	"$EV" "$T/events.json" has $KEY virtualmachine.modified "b['labels']['gen'] == '$i'" || missing=$((missing + 1))
done
check "every intermediate change present ($missing missing)" test "$missing" -eq 0
order=$(jq -r "select(.key==\"$KEY\") | .payload | fromjson | .labels.gen // empty" "$T/events.json" | tr '\n' ' ')
check "gen values in increasing order: $order" sh -c "echo '$order' | tr ' ' '\n' | grep . | sort -n -c"
check "o3's deletion delivered" has_event $C/default/o3 virtualmachine.deleted
check "o2's creation delivered" has_event $C/default/o2 virtualmachine.added
check "the cordon delivered" body_has $C/node/$NODE node.modified 'b["spec"].get("unschedulable") is True'
check "queue drained" wait_for 10 sh -c "[ \"\$(curl -sf http://$(cat "$T/w.addr")/metrics | sed -n 's/^wukong_watcher_queue_depth //p')\" = 0 ]"
check "no delivery failures" test "$(metric w wukong_watcher_delivery_failures_total)" = "" -o \
	"$(metric w wukong_watcher_delivery_failures_total)" = 0
kill -TERM "$W_PID"
wait_for 15 sh -c "! kill -0 $W_PID 2>/dev/null"

# --- a queue of 2 against every broker down: pause, don't drop ---
start_watcher w2 $C -X watcher.heartbeat-interval=0 -X watcher.queue-max=2 -X kafka.log_level=3
check "second watcher ready" wait_for 30 is_ready w2
ctl down all
for i in $(seq 1 6); do vm_create q$i; done
check "queue full reported" wait_for 10 sh -c \
	"grep -q 'publish queue full' $T/w2.log"
check "queue-full metric counts it" wait_for 5 sh -c \
	"[ \"\$(curl -sf http://$(cat "$T/w2.addr")/metrics | sed -n 's/^wukong_watcher_queue_full_total //p')\" -ge 1 ]"
sleep 3
ctl up all
for i in $(seq 1 6); do
	check "q$i arrives after the outage" wait_for 60 has_event $C/default/q$i virtualmachine.added
done
check "watching resumed" wait_for 10 grep -q 'watching resumed' "$T/w2.log"
check "every body validates against the schema" schema_ok $C
check "no ce_id published twice" no_dupes $C
finish
