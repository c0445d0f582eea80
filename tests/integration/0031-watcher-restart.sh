#!/usr/bin/env bash
# 0031-watcher-restart.sh - SIGKILL the watcher in the middle of a stream of changes, change more
# while it is down (a deletion, a creation, a modification), restart it: every change arrives (the
# last state of each object is published, the deletion too) and nothing that did not change is
# published again (the fingerprints come back from wukong.events). Then a clean SIGTERM restart
# publishes no object event at all.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

C=it31
LEASE=(-X watcher.lease.identity=wt-31 -X watcher.lease.duration=3s
	-X watcher.lease.renew-deadline=2s -X watcher.lease.retry-period=500ms
	-X watcher.heartbeat-interval=0)
start_kafka
start_cluster || { not_ok "a cluster to watch"; finish; exit 1; }
ok "cluster ($BACKEND) up"
node_create node-1
for v in r1 r2 r3; do vm_create $v; done
NODE=$(first_node)

start_watcher w1 $C "${LEASE[@]}"
check "watcher ready" wait_for 30 is_ready w1
check "initial state published" wait_for 10 has_event $C/default/r3 virtualmachine.added
check "node published" wait_for 10 has_event $C/node/$NODE node.added

# a stream of changes; the watcher dies in the middle of it
(for i in $(seq 1 30); do vm_label r1 gen "$i"; sleep 0.05; done) &
LOOP=$!
wait_for 10 body_has $C/default/r1 virtualmachine.modified 'int(b["labels"]["gen"]) >= 8'
kill -KILL "$W_PID"
ok "watcher killed with SIGKILL mid-stream"
# changes while it is down
vm_delete r2
vm_create r4
vm_label r3 color blue
wait "$LOOP"
check "the stream went on while the watcher was down" test "$(count_of $C/default/r1 \
	virtualmachine.modified)" -lt 30
before=$(count_of $C/default/r3 virtualmachine.added)

start_watcher w2 $C "${LEASE[@]}"
check "restarted watcher ready (same identity: takes its lease back)" wait_for 30 is_ready w2
check "r1: the last change made it (gen=30)" wait_for 10 body_has $C/default/r1 \
	virtualmachine.modified 'b["labels"]["gen"] == "30"'
check "r2: its deletion while down is published" wait_for 10 has_event $C/default/r2 \
	virtualmachine.deleted
check "r2: deletion carries observedBy=relist" body_has $C/default/r2 virtualmachine.deleted \
	'b["observedBy"] == "relist"'
check "r3: the change made while down is published" body_has $C/default/r3 \
	virtualmachine.modified 'b["labels"]["color"] == "blue"'
check "r4: created while down, added once" test "$(count_of $C/default/r4 virtualmachine.added)" -eq 1
check "r3 not re-added" test "$(count_of $C/default/r3 virtualmachine.added)" -eq "$before"
check "r1 added only once" test "$(count_of $C/default/r1 virtualmachine.added)" -eq 1
check "node not republished" test "$(count_of $C/node/$NODE node.added)" -eq 1
check "no ce_id published twice" no_dupes $C
check "fingerprints read back from wukong.events" test "$(metric w2 wukong_watcher_rebuilt_objects)" -ge 3

# a clean restart publishes no object event
dump
n_before=$("$EV" "$T/events.json" ids $C | wc -l)
kill -TERM "$W_PID"
wait_for 15 sh -c "! kill -0 $W_PID 2>/dev/null"
check "SIGTERM: clean exit" grep -q 'stopped (exit 0)' "$T/w2.log"
start_watcher w3 $C "${LEASE[@]}"
check "third start ready" wait_for 30 is_ready w3
sleep 1
dump
check "nothing republished after a clean restart" test "$("$EV" "$T/events.json" ids $C | wc -l)" \
	-eq "$n_before"
check "every body validates against the schema" schema_ok $C
check "headers complete" headers_ok $C
finish
