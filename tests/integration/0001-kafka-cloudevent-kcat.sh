#!/usr/bin/env bash
# 0001 - a CloudEvent produced through the core library (tests/helpers/ce_produce.c) read back by
# outside clients: kcat (-J) and kafka-python. Headers intact, key as sent, and the partition is the
# one Java-compatible murmur2 picks (kcat with topic.partitioner=murmur2_random, kafka-python).
. "$(dirname "$0")/../lib.sh"

start_kafka 1
TOPIC=wukong.events
KEY="c1/default/vm-kcat-$$"
DATA='{"phase":"Running","node":"n1"}'

out=$("$TBIN/ce_produce" -b "$BOOTSTRAP" -t "$TOPIC" -k "$KEY" --source /clusters/c1 \
	--type dev.novasphere.wukong.vm.changed --subject "virtualmachines/default/vm-kcat-$$" \
	--time 2025-01-01T12:00:00Z --data "$DATA" 2>"$T/ce_produce.err")
check "ce_produce delivered the event" grep -q '^delivered=1 failed=0$' <<<"$out"
read -r P O ID < <(sed -n 's/^partition=\([0-9]*\) offset=\([0-9]*\) id=\(.*\)$/\1 \2 \3/p' <<<"$out")
diag "delivered to partition $P offset $O id $ID"

# kcat -J: headers come as a flat [name, value, name, value, ...] array.
kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -p "$P" -o "$O" -c 1 -e -q -J >"$T/kcat.json" 2>"$T/kcat.err"
hdr() { jq -r --arg n "$1" '.headers as $h | [range(0; $h|length; 2) | select($h[.] == $n) | $h[.+1]] | .[0] // "ABSENT"' "$T/kcat.json"; }
check "kcat: ce_specversion is 1.0" test "$(hdr ce_specversion)" = "1.0"
check "kcat: ce_id as produced (uuid v4)" test "$(hdr ce_id)" = "$ID"
check "kcat: ce_id is a version-4 uuid" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$ID"
check "kcat: ce_source" test "$(hdr ce_source)" = "/clusters/c1"
check "kcat: ce_type" test "$(hdr ce_type)" = "dev.novasphere.wukong.vm.changed"
check "kcat: ce_time" test "$(hdr ce_time)" = "2025-01-01T12:00:00Z"
check "kcat: ce_subject" test "$(hdr ce_subject)" = "virtualmachines/default/vm-kcat-$$"
check "kcat: content-type" test "$(hdr content-type)" = "application/json"
check "kcat: key as sent" test "$(jq -r .key "$T/kcat.json")" = "$KEY"
check "kcat: value as sent" test "$(jq -r .payload "$T/kcat.json")" = "$DATA"
check "kcat: partition" test "$(jq -r .partition "$T/kcat.json")" = "$P"

# The same key through kcat's murmur2_random partitioner lands on the same partition.
MARK="kcat-marker-$$"
echo "$KEY:$MARK" | kcat -P -b "$BOOTSTRAP" -t "$TOPIC" -K: -X topic.partitioner=murmur2_random 2>"$T/kcatp.err"
check "kcat produced the same key" test $? -eq 0
kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -o beginning -e -q -f '%p %s\n' >"$T/all.txt" 2>>"$T/kcat.err"
KP=$(awk -v m="$MARK" '$2 == m { print $1 }' "$T/all.txt")
diag "kcat murmur2_random put the key on partition ${KP:-none}"
check "same partition as kcat -X topic.partitioner=murmur2_random" test "$KP" = "$P"

# kafka-python (Debian's /usr/bin/python3): headers, key, and its own murmur2 partition choice.
/usr/bin/python3 - "$BOOTSTRAP" "$TOPIC" "$P" "$O" "$KEY" "$ID" >"$T/py.out" 2>"$T/py.err" <<'PY'
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2
bootstrap, topic, p, o, key, ce_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
tp = TopicPartition(topic, p)
c.assign([tp])
c.seek(tp, o)
msg = next(iter(c))
h = dict((k, v.decode()) for k, v in msg.headers)
n = len(c.partitions_for_topic(topic))
want = {"ce_specversion": "1.0", "ce_id": ce_id, "ce_source": "/clusters/c1",
        "ce_type": "dev.novasphere.wukong.vm.changed", "ce_time": "2025-01-01T12:00:00Z",
        "content-type": "application/json"}
for k, v in want.items():
    print("header %s %s" % (k, "ok" if h.get(k) == v else "BAD:%r" % h.get(k)))
print("key %s" % ("ok" if msg.key.decode() == key else "BAD"))
print("partition %s" % ("ok" if (murmur2(key.encode()) & 0x7fffffff) % n == p else "BAD"))
c.close()
PY
check "kafka-python read the event" test -s "$T/py.out"
check "kafka-python: all CloudEvent headers intact" test "$(grep -c '^header .* ok$' "$T/py.out")" -eq 6
check "kafka-python: key as sent" grep -q '^key ok$' "$T/py.out"
check "kafka-python's murmur2 partitioner agrees" grep -q '^partition ok$' "$T/py.out"
[ -s "$T/py.err" ] && diag "$(head -5 "$T/py.err")"

finish
