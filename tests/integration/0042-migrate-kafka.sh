#!/usr/bin/env bash
# 0042-migrate-kafka.sh - migrations asked for on wukong.requests.<cluster>: a submission that
# succeeds; a batch of malformed and hostile submissions (bad JSON, no CloudEvent headers, wrong
# types, unknown fields, '../../x' names, an unknown VM, an oversized body, another cluster, a
# forbidden tenant, an unknown verb) each dead-lettered with its reason and audited while a valid
# one in the middle still runs; a duplicate request id done once; and a cancel of a running
# migration reporting KubeVirt's abortStatus.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 9
linkBandwidth: 256Mi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 16, memory: 64Gi}
  - {name: node-b, cpu: 16, memory: 64Gi}
  - {name: node-c, cpu: 16, memory: 64Gi}
vms:
  - {name: web-1, cpu: 1, memory: 512Mi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: web-2, cpu: 1, memory: 512Mi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: slow-1, cpu: 2, memory: 16Gi, dirtyRate: 8Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
# ops may touch every namespace; a submission naming no tenant never bypasses the policy (issue 20)
mig_start_migrator -X migrator.tenants.team-a=team-a-* -X migrator.tenants.ops=*

for vm in web-1 web-2 slow-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
other() { for n in node-a node-b node-c; do [ "$n" != "$1" ] && echo "$n" && return; done; }

# 1. A plain submission. On KubeVirt below 1.6 (no addedNodeSelector) one with a target node is
# refused up front naming the version (issue 16 item 3), and one without is the plain one.
SRC1=$(vmi_node web-1-vm)
T1=$(other "$SRC1")
TGT_JSON=",\"targetNode\":\"$T1\""
if [ "${SIM_KV#1.}" -lt 6 ]; then
	submit migrate local/default/web-1-vm \
		"{\"requestId\":\"req-tgt-1\",\"cluster\":\"local\",\"tenant\":\"ops\",\"namespace\":\"default\",\"name\":\"web-1\"$TGT_JSON}"
	if wait_phase 30 web-1 Rejected && [ "$(last_reason web-1)" = TargetedMigrationUnsupported ]; then
		ok "(KubeVirt $SIM_KV) targeted submission refused: TargetedMigrationUnsupported"
	else
		not_ok "(KubeVirt $SIM_KV) targeted submission refused ($(last_phase web-1)/$(last_reason web-1))"
	fi
	TGT_JSON=""
fi
submit migrate local/default/web-1-vm \
	"{\"requestId\":\"req-ok-1\",\"cluster\":\"local\",\"tenant\":\"ops\",\"namespace\":\"default\",\"name\":\"web-1\"$TGT_JSON,\"reason\":\"kernel update\"}"
if wait_phase 60 web-1 Succeeded; then ok "submission req-ok-1 succeeded"; else not_ok "req-ok-1 succeeded ($(last_phase web-1))"; fi
if [ -n "$TGT_JSON" ]; then
	check "web-1-vm on $T1 (the requested target)" [ "$(vmi_node web-1-vm)" = "$T1" ]
else
	check "web-1-vm left $SRC1 (the scheduler's pick)" bash -c "[ -n '$(vmi_node web-1-vm)' ] && [ '$(vmi_node web-1-vm)' != '$SRC1' ]"
fi
check "status names request req-ok-1" bash -c "topic wukong.status | grep '\"name\":\"web-1\"' | grep '\"source\":\"wukong-migrator\"' | tail -1 | grep -q '\"requestId\":\"req-ok-1\"'"

# 2. The hostile batch, with a valid request in the middle.
raw() { # raw KEY [kcat header args...] <<< value
	local key=$1
	shift
	kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k "$key" "$@"
}
CE=(-H ce_specversion=1.0 -H ce_source=/tenants/test -H ce_type=dev.novasphere.wukong.request.migrate.v1)
printf '%s\n' '{not json' | raw k1 "${CE[@]}" -H ce_id=h1
printf '%s\n' '{"requestId":"x1","cluster":"local","namespace":"default","name":"web-2"}' | raw k2 -H ce_id=h2
printf '%s\n' '{"requestId":7,"cluster":"local","namespace":"default","name":"web-2"}' | raw k3 "${CE[@]}" -H ce_id=h3
printf '%s\n' '{"requestId":"x4","cluster":"local","namespace":"../../x","name":"web-2"}' | raw k4 "${CE[@]}" -H ce_id=h4
printf '%s\n' '{"requestId":"x5","cluster":"local","namespace":"default","name":"../../x"}' | raw k5 "${CE[@]}" -H ce_id=h5
printf '%s\n' '{"requestId":"x6","cluster":"local","tenant":"ops","namespace":"default","name":"ghost"}' | raw k6 "${CE[@]}" -H ce_id=h6
submit migrate local/default/web-2-vm \
	'{"requestId":"req-ok-2","cluster":"local","tenant":"ops","namespace":"default","name":"web-2"}'
printf '{"requestId":"x7","cluster":"local","namespace":"default","name":"web-2","reason":"%s"}\n' \
	"$(head -c 70000 /dev/zero | tr '\0' a)" | raw k7 "${CE[@]}" -H ce_id=h7
printf '%s\n' '{"requestId":"x8","cluster":"local","namespace":"default","name":"web-2","hack":true}' | raw k8 "${CE[@]}" -H ce_id=h8
printf '%s\n' '{"requestId":"x9","cluster":"other","namespace":"default","name":"web-2"}' | raw k9 "${CE[@]}" -H ce_id=h9
printf '%s\n' '{"requestId":"x10","cluster":"local","namespace":"default","name":"web-2","tenant":"team-a"}' | raw k10 "${CE[@]}" -H ce_id=h10
printf '%s\n' '{"requestId":"x11","cluster":"local","namespace":"default","name":"web-2"}' |
	raw k11 -H ce_specversion=1.0 -H ce_source=/x -H ce_type=dev.novasphere.wukong.request.explode.v1 -H ce_id=h11
printf '%s\n' '{"requestId":"x13","cluster":"local","namespace":"default","name":"web-2"}' | raw k13 "${CE[@]}" -H ce_id=h13
printf '%s\n' '{"requestId":"x12","cluster":"local","namespace":"default","name":"web-2","options":{"allowPostCopy":"yes"}}' | raw k12 "${CE[@]}" -H ce_id=h12

if wait_phase 60 web-2 Succeeded; then ok "valid req-ok-2 in the middle of the batch succeeded"; else not_ok "req-ok-2 succeeded ($(last_phase web-2))"; fi
wait_for 20 bash -c "[ \$(timeout 20 kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 13 ]"
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%k %h\n' 2>/dev/null >"$T/dlq.txt"
reason_of() { grep "^$1 " "$T/dlq.txt" | grep -o 'x-dlt-reason=[A-Za-z-]*' | head -1 | cut -d= -f2; }
for pair in k1:MalformedRequest k2:MalformedRequest k3:SchemaViolation k4:InvalidName k5:InvalidName k6:NotFound \
	k7:RequestTooLarge k8:SchemaViolation k9:WrongCluster k10:Forbidden k11:UnsupportedType k12:SchemaViolation \
	k13:Forbidden; do
	k=${pair%%:*} want=${pair#*:}
	check "dead-lettered $k with reason $want" [ "$(reason_of "$k")" = "$want" ]
done
check "nothing valid dead-lettered" bash -c "! grep -q '^local/default/web-2-vm ' $T/dlq.txt"
topic wukong.audit >"$T/audit.jsonl"
check "every refusal audited" [ "$(grep -c '"action":"migration.request-refused"' "$T/audit.jsonl")" -ge 13 ]
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "migrator still running" kill -0 "$MIG_PID"

# 3. The same request id again does nothing new.
N_BEFORE=$(our_vmims | wc -l)
submit migrate local/default/web-1-vm \
	"{\"requestId\":\"req-ok-1\",\"cluster\":\"local\",\"tenant\":\"ops\",\"namespace\":\"default\",\"name\":\"web-1\"$TGT_JSON}"
sleep 3
check "duplicate request id: no new VMIM" [ "$(our_vmims | wc -l)" -eq "$N_BEFORE" ]

# 4. Cancel a running migration (16Gi over 256Mi/s takes about a minute).
SSRC=$(vmi_node slow-1-vm)
ST=$(other "$SSRC")
STGT=",\"targetNode\":\"$ST\""
[ "${SIM_KV#1.}" -ge 6 ] || STGT="" # no targets below 1.6
submit migrate local/default/slow-1-vm \
	"{\"requestId\":\"req-slow\",\"cluster\":\"local\",\"tenant\":\"ops\",\"namespace\":\"default\",\"name\":\"slow-1\"$STGT}"
wait_for 30 bash -c "statuses slow-1 | grep -q '^Migrating|Running|'" 2>/dev/null ||
	wait_for 30 bash -c "[ \"\$($K get vmim -n default -l vm.novasphere.dev/request-id=req-slow -o jsonpath='{.items[0].status.phase}')\" = Running ]"
check "slow migration running before the cancel" \
	[ "$($K get vmim -n default -l vm.novasphere.dev/request-id=req-slow -o jsonpath='{.items[0].status.phase}')" = Running ]
submit cancel local/default/slow-1-vm \
	'{"requestId":"cancel-1","cluster":"local","tenant":"ops","namespace":"default","name":"slow-1","targetRequestId":"req-slow"}'
if wait_phase 60 slow-1 Cancelled; then ok "req-slow Cancelled"; else not_ok "req-slow Cancelled ($(last_phase slow-1))"; fi
check "status reports KubeVirt's abortStatus Succeeded" bash -c "statuses slow-1 | tail -1 | grep -q 'abortStatus Succeeded'"
check "VM stayed on $SSRC" [ "$(vmi_node slow-1-vm)" = "$SSRC" ]
check "cancel audited" grep -q '"action":"migration.cancel-requested"' <(topic wukong.audit)
topic wukong.status | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
check "status updates valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
finish
