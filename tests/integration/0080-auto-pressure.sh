#!/usr/bin/env bash
# 0080-auto-pressure.sh - spec.migrationPolicy's resourcePressure trigger (migrator): a node whose
# memory use (metrics.k8s.io NodeMetrics) stays over the policy's threshold has just enough
# policy-enabled VMs moved off (one here) to bring it to threshold - hysteresis, onto a node that
# stays under that level; a VM without the policy never moves; short pressure flickers (on the
# hot node and on the target) move nothing: no VM goes back and forth.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 4
backgroundMemory: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 32, memory: 16Gi}
  - {name: node-b, cpu: 32, memory: 16Gi, unschedulable: true}
vms:
  - {name: p, count: 3, cpu: 1, memory: 3Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: q-1, cpu: 1, memory: 3Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
mig_start
# Each launcher pod uses its VM's memory plus KubeVirt's overhead (about 300Mi here), so node-a
# sits at 91% (4 x 3.3Gi + 1Gi of 15.5Gi); moving one VM brings it to 70%, under 75% - 2.
mig_start_migrator -X migrator.pressure-sustain=2 -X migrator.pressure-hysteresis=2 -X migrator.pressure-cooldown=600
for vm in p-1 p-2 p-3 q-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b >/dev/null
diag "node-a usage: $($K get nodemetrics node-a -o jsonpath='{.usage.memory}' 2>/dev/null) of $($K get node node-a -o jsonpath='{.status.allocatable.memory}')"
POL='{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"resourcePressure","threshold":"75%"}]}}}'
for vm in p-1 p-2 p-3; do $K patch wukong -n default "$vm" --type merge -p "$POL" >/dev/null; done
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X POST "$SERVER$1" -d "$2"; }
# A metrics sample after the policies exist (the model rewrites NodeMetrics on changes).
simctl /sim/nodes/node-a/pressure '{"memoryPercent": -1}' >/dev/null

onb() { $K get vmi -A -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeName}{"\n"}{end}' | grep -c ' node-b$'; }
export -f onb
export K
export -f topic 2>/dev/null
if wait_for 60 bash -c '[ "$(onb)" -ge 1 ]'; then ok "pressure moved a VM off node-a"; else not_ok "a VM moved off node-a"; fi
sleep 5
check "just enough: exactly one VM moved" [ "$(onb)" -eq 1 ]
check "q-1 (no policy) stayed on node-a" [ "$(vmi_node q-1-vm)" = node-a ]
check "one VMIM" [ "$(our_vmims | wc -l)" -eq 1 ]
MOVED=$($K get vmi -A -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeName}{"\n"}{end}' | awk '$2 == "node-b" {print $1}')
diag "moved: $MOVED"

# Flickers: node-b over the threshold for a moment, node-a likewise.
simctl /sim/nodes/node-b/pressure '{"memoryPercent": 95}' >/dev/null
sleep 0.5
simctl /sim/nodes/node-b/pressure '{"memoryPercent": -1}' >/dev/null
simctl /sim/nodes/node-a/pressure '{"memoryPercent": 95}' >/dev/null
sleep 0.5
simctl /sim/nodes/node-a/pressure '{"memoryPercent": -1}' >/dev/null
sleep 6
check "flickers moved nothing (still one VMIM)" [ "$(our_vmims | wc -l)" -eq 1 ]
check "$MOVED stayed on node-b" [ "$(vmi_node "$MOVED")" = node-b ]
# Sustained pressure on node-b: the moved VM is cooling down, so it does not go back.
simctl /sim/nodes/node-b/pressure '{"memoryPercent": 95}' >/dev/null
sleep 6
check "sustained pressure on node-b: the recently moved VM does not move back" [ "$(vmi_node "$MOVED")" = node-b ]
# ... and says so (issue 18): an Event on its Wukong and the AutoMigrationHeld condition, each
# with the time the cooldown ends.
MWK=${MOVED%-vm}
heldev() { $K get events -n default -o jsonpath='{range .items[*]}{.reason}|{.involvedObject.name}|{.message}{"\n"}{end}' | grep "^AutoMoveCooldown|$MWK|"; }
# (announced once the node has been hot for the sustain: give a loaded machine time)
wait_for 20 bash -c "$(declare -f heldev); MWK=$MWK K='$K' heldev | grep -q ."
check "held: Event AutoMoveCooldown on Wukong $MWK naming the cooldown's end" bash -c \
	"$K get events -n default -o jsonpath='{range .items[*]}{.reason}|{.involvedObject.name}|{.message}{\"\\n\"}{end}' | grep '^AutoMoveCooldown|$MWK|' | grep -q 'cooldown (migrator.pressure-cooldown) ends at 20'"
check "held: status condition AutoMigrationHeld=True CooldownActive" bash -c \
	"topic wukong.status | grep '\"name\":\"$MWK\"' | grep '\"AutoMigrationHeld\"' | grep -q CooldownActive"
check "held: announced once for this cooldown (not every sample)" bash -c \
	"[ \"\$(topic wukong.status | grep '\"name\":\"$MWK\"' | grep -c AutoMigrationHeld)\" -eq 1 ]"
simctl /sim/nodes/node-b/pressure '{"memoryPercent": -1}' >/dev/null
topic wukong.audit >"$T/audit.jsonl"
check "pressure.completed success audited" bash -c "grep '\"action\":\"pressure.completed\"' '$T/audit.jsonl' | grep -q '\"outcome\":\"success\"'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "migrator still running" kill -0 "$MIG_PID"
finish
