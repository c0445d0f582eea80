#!/usr/bin/env bash
# 0022-audit-migration.sh - the audit trail of real work: the simulator, watcher and migrator (the
# migrator tests' environment, mig-env.sh) plus wukong-audit. A manual live migration through
# spec.migration (kubectl) and a submission the migrator refuses (an invalid name) end up in the
# audit log: the migration's decisions and actions under one request id, found by VM and by request;
# the refusal both as the migrator's own audit event and as the dead letter it produced; every
# record valid against the schema; the chain verifies.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

for b in wukong-sim wukong-watcher wukong-migrator; do
	if [ ! -x "$BIN/$b" ]; then
		ok "# SKIP $b is not built"
		finish
		exit
	fi
done

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
  - {name: node-b, cpu: 8, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
LOG="$T/audit"
start_bg audit "$BIN/wukong-audit" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X consumer.group="audit-$MIG_GROUP" -X kafka.session.timeout.ms=6000 \
	-X http.addr-file="$T/audit.addr" -X audit.dir="$LOG"
AUDIT_PID=$LAST_PID
wait_for 20 test -s "$T/audit.addr" || { not_ok "wukong-audit started"; tail "$T/audit.log"; exit 1; }
mig_start_migrator
Q() { "$BIN/wukong-auditlog" "$@"; }

wait_for 30 bash -c "[ \"\$($K get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "web-1-vm running"; finish; exit 1; }
SRC=$(vmi_node web-1-vm)
TGT=node-a
[ "$SRC" = node-a ] && TGT=node-b
check "spec.migration applied with kubectl" $K patch wukong web-1 --type=merge -o name \
	-p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\"}}}"
if wait_phase 90 web-1 Succeeded; then ok "migration Succeeded"; else not_ok "migration Succeeded (last: $(last_phase web-1))"; fi

# A submission with a name that can never be a Kubernetes object.
submit migrate local/default/x \
	'{"requestId":"bad-1","cluster":"local","namespace":"default","name":"../../x"}' 2>>"$T/kcat.log"

has_action() { Q query -d "$LOG" --vm default/web-1 | grep -q "\"action\":\"$1\""; }
wait_for 30 has_action migration.succeeded || diag "no migration.succeeded record yet"
refusal() { Q query -d "$LOG" | jq -c 'select(.action=="migration.request-refused")'; }
wait_for 30 eval '[ -n "$(Q query -d "$LOG" --request bad-1)" ] && [ -n "$(refusal)" ]' ||
	diag "records for bad-1: $(Q query -d "$LOG" --request bad-1 | wc -l), refusals: $(refusal | wc -l)"

Q query -d "$LOG" --vm default/web-1 >"$T/vm.jsonl"
diag "web-1: $(jq -r '.action + "/" + .outcome' "$T/vm.jsonl" | tr '\n' ' ')"
check "the migration's steps are recorded for the VM: preflight, vmim-created, succeeded" \
	bash -c "grep -q '\"action\":\"migration.preflight\"' $T/vm.jsonl && grep -q migration.vmim-created $T/vm.jsonl && grep -q '\"action\":\"migration.succeeded\"' $T/vm.jsonl"
RID=$(jq -r 'select(.action=="migration.vmim-created") | .request.id' "$T/vm.jsonl" | head -1)
check "they carry the request id and its source (a spec change)" \
	test "$(jq -r 'select(.action=="migration.vmim-created") | .request.source' "$T/vm.jsonl" | head -1)" = spec -a -n "$RID"
check "query --request $RID finds the same steps" \
	test "$(Q query -d "$LOG" --request "$RID" | jq -r .action | grep -c -E 'preflight|vmim-created|succeeded')" -ge 3
check "every step is recorded once" \
	test "$(jq -r .ceId "$T/vm.jsonl" | sort | uniq -d | wc -l)" -eq 0

Q query -d "$LOG" --request bad-1 >"$T/bad.jsonl"
check "the dead letter is a rejected submission naming its origin and reason" \
	test "$(jq -r 'select(.kind=="rejected-submission") | [.actor, .request.topic, .reason, .object.name] | join(" ")' "$T/bad.jsonl")" = \
	"wukong-migrator wukong.requests.local InvalidName ../../x"
# The migrator's own audit event about the refusal points at the same submission.
WHERE=$(jq -r '[.request.topic, .request.partition, .request.offset] | join("/")' "$T/bad.jsonl")
check "the migrator's refusal event names the same submission ($WHERE)" \
	test "$(refusal | jq -r '[.request.topic, .request.partition, .request.offset, .outcome, .reason] | join("/")')" = \
	"$WHERE/rejected/InvalidName"
Q query -d "$LOG" >"$T/all.jsonl"
check "every record validates against schemas/audit-record.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/audit-record.v1.json" "$T/all.jsonl"
check "no invalid audit events from the migrator" \
	test "$(jq -r 'select(.kind=="invalid-event") | .reason' "$T/all.jsonl" | wc -l)" -eq 0
check "the chain verifies" Q verify -q -d "$LOG"
finish
