#!/usr/bin/env bash
# 0224-one-dead-letter.sh - the migrator and the cloner both read the request topics; a hostile
# corpus of 20 bad messages (garbage, no CloudEvent headers, oversized, unknown types, bad bodies
# of every request type, hostile headers) yields exactly one dead letter per message: the cloner
# answers for clone requests, the migrator for everything else (wk_request_owner), the other
# skips silently. Issue 22 item 2 (it was 2 dead letters for each undecodable message).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 16, memory: 64Gi}
  - {name: node-b, cpu: 16, memory: 64Gi}
vms:
  - {name: web-1, cpu: 1, memory: 512Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator
start_bg cloner "$BIN/wukong-cloner" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X kube.config="$KC" -X cluster.id=local -X consumer.group="cl-$MIG_GROUP" \
	-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/cloner.addr"
CL_PID=$LAST_PID
wait_for 20 test -s "$T/cloner.addr" || { not_ok "wukong-cloner started"; finish; exit 1; }
sleep 2 # both groups assigned before the corpus goes out

raw() { # raw TOPIC KEY [kcat header args...] <<< value
	local t=$1 key=$2
	shift 2
	kcat -b "$BOOTSTRAP" -P -t "$t" -k "$key" "$@"
}
R=wukong.requests.local
S=wukong.requests
base=(-H ce_specversion=1.0 -H ce_source=/tenants/test)
MIG=(-H ce_type=dev.novasphere.wukong.request.migrate.v1)
CAN=(-H ce_type=dev.novasphere.wukong.request.cancel.v1)
DRN=(-H ce_type=dev.novasphere.wukong.request.drain.v1)
CLN=(-H ce_type=dev.novasphere.wukong.request.clone.v1)
BIG=$(head -c 70000 /dev/zero | tr '\0' a)
printf '%s\n' '{not json' | raw $R h01 "${base[@]}" "${MIG[@]}" -H ce_id=h01
printf '%s\n' '{"requestId":"x"}' | raw $R h02
printf '\001\002\377garbage\n' | raw $R h03
printf '%s\n' "$BIG" | raw $R h04
printf '%s\n' "$BIG" | raw $R h05 "${base[@]}" "${MIG[@]}" -H ce_id=h05
printf '%s\n' "$BIG" | raw $R h06 "${base[@]}" "${CLN[@]}" -H ce_id=h06
printf '%s\n' '{}' | raw $R h07 "${base[@]}" -H ce_type=dev.novasphere.wukong.request.explode.v1 -H ce_id=h07
printf '%s\n' '{not json' | raw $R h08 "${base[@]}" "${CLN[@]}" -H ce_id=h08
printf '%s\n' '{"requestId":7}' | raw $R h09 "${base[@]}" "${CLN[@]}" -H ce_id=h09
printf '%s\n' '{"requestId":"x10"}' | raw $R h10 "${base[@]}" "${CLN[@]}"
printf '%s\n' '{"requestId":"x11"}' | raw $R h11 -H ce_specversion=1.0 "${MIG[@]}" -H ce_id=h11
printf 'null\n' | raw $R h12 "${base[@]}" "${MIG[@]}" -H ce_id=h12
printf '%s\n' '{"requestId":"x13"}' | raw $R h13 "${base[@]}" "${MIG[@]}" -H "ce_id=a$(printf '\001')b"
printf '%s\n' '{"requestId":7,"cluster":"local","namespace":"default","name":"web-1"}' | raw $R h14 "${base[@]}" "${MIG[@]}" -H ce_id=h14
printf '%s\n' '{"requestId":[]}' | raw $R h15 "${base[@]}" "${CAN[@]}" -H ce_id=h15
printf '%s\n' '{"requestId":"x16","node":"../x"}' | raw $R h16 "${base[@]}" "${DRN[@]}" -H ce_id=h16
printf '%s\n' '{"requestId":"x17","cluster":"other","namespace":"default","source":{"type":"vm","name":"web-1"},"targets":[{"name":"t"}]}' | raw $R h17 "${base[@]}" "${CLN[@]}" -H ce_id=h17
printf '%s\n' '{"requestId":"x18","cluster":"local","namespace":"../../x","name":"web-1"}' | raw $R h18 "${base[@]}" "${MIG[@]}" -H ce_id=h18
printf '%s\n' '{not json' | raw $S h19 "${base[@]}" "${CLN[@]}" -H ce_id=h19
printf '%s\n' '{"requestId":"x20"}' | raw $S h20 -H ce_specversion=0.3 "${MIG[@]}" -H ce_source=/x -H ce_id=h20

dlq() { timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%k %h\n' 2>/dev/null; }
wait_for 15 eval 'test "$(dlq | wc -l)" -ge 20'
sleep 3 # a second dead letter of any of them would come now
dlq >"$T/dlq.txt"
diag "$(wc -l <"$T/dlq.txt") dead letters for 20 bad messages"
check "exactly 20 dead letters" test "$(wc -l <"$T/dlq.txt")" -eq 20
for i in $(seq -w 1 20); do
	n=$(grep -c "^h$i " "$T/dlq.txt")
	[ "$n" -eq 1 ] || diag "h$i: $n dead letters ($(grep "^h$i " "$T/dlq.txt" | grep -o 'x-dlt-service=[a-z-]*' | tr '\n' ' '))"
done
check "each message dead-lettered exactly once" test "$(cut -d' ' -f1 "$T/dlq.txt" | sort | uniq -d | wc -l)" -eq 0
svc() { grep "^$1 " "$T/dlq.txt" | grep -o 'x-dlt-service=[a-z-]*' | cut -d= -f2; }
check "clone requests are the cloner's (h06 h08 h09 h17 h19)" \
	bash -c "for k in h06 h08 h09 h17 h19; do [ \"\$(grep \"^\$k \" '$T/dlq.txt' | grep -o 'x-dlt-service=[a-z-]*' | cut -d= -f2)\" = wukong-cloner ] || exit 1; done"
check "undecodable and oversized without a clone type are the migrator's (h02 h03 h04)" \
	bash -c "for k in h02 h03 h04; do [ \"\$(grep \"^\$k \" '$T/dlq.txt' | grep -o 'x-dlt-service=[a-z-]*' | cut -d= -f2)\" = wukong-migrator ] || exit 1; done"
check "both executors still running" bash -c "kill -0 $MIG_PID && kill -0 $CL_PID"
finish
