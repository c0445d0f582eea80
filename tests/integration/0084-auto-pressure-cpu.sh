#!/usr/bin/env bash
# 0084-auto-pressure-cpu.sh - spec.migrationPolicy's resourcePressure trigger on CPU (migrator): a
# node whose CPU use (metrics.k8s.io NodeMetrics, nanocores) stays over the policy's threshold
# while its memory is low has just enough policy-enabled VMs moved off (one 2-core VM for 1.96
# cores over the level), never onto a node it would push over the level in CPU (node-c: most
# free memory, the planner's first choice otherwise, but its CPU is at 68 % and a 2-core VM would
# take it past 70 %); CPU that stays between level and threshold moves nothing more; CPU flickers
# (seen by the watcher, polled every second here) move nothing and the moved VM does not come back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
backgroundMemory: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 9, memory: 32Gi}
  - {name: node-b, cpu: 9, memory: 16Gi, unschedulable: true}
  - {name: node-c, cpu: 64, memory: 64Gi, unschedulable: true}
vms:
  - {name: p, count: 3, cpu: 2, memory: 2Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: q-1, cpu: 2, memory: 2Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
MIG_WATCHER_ARGS="-X watcher.nodemetrics-interval=1s"
mig_start
mig_start_migrator -X migrator.pressure-sustain=3 -X migrator.pressure-hysteresis=10 -X migrator.pressure-cooldown=600
for vm in p-1 p-2 p-3 q-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b node-c >/dev/null
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X POST "$SERVER$1" -d "$2"; }
# node-c: CPU at 68 % (memory low): 70 % is the level no target may pass.
simctl /sim/nodes/node-c/pressure '{"cpuPercent": 68}' >/dev/null
POL='{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"resourcePressure","threshold":"80%"}]}}}'
for vm in p-1 p-2 p-3; do $K patch wukong -n default "$vm" --type merge -p "$POL" >/dev/null; done
diag "node-a: cpu $($K get nodemetrics node-a -o jsonpath='{.usage.cpu}') of $($K get node node-a -o jsonpath='{.status.allocatable.cpu}'), memory $($K get nodemetrics node-a -o jsonpath='{.usage.memory}') of $($K get node node-a -o jsonpath='{.status.allocatable.memory}')"
sleep 2 # the migrator's Wukong list (kept 5 s) sees the policies before node-a gets hot
# node-a: CPU 92 % of 8.9 cores = 8.19 cores, 1.96 over the level (70 %): one 2-core VM.
simctl /sim/nodes/node-a/pressure '{"cpuPercent": 92}' >/dev/null

where() { $K get vmi -A -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeName}{"\n"}{end}'; }
offa() { where | grep -vc ' node-a$'; }
export -f where offa
export K
if wait_for 60 bash -c '[ "$(offa)" -ge 1 ]'; then ok "cpu pressure moved a VM off node-a"; else not_ok "a VM moved off node-a"; fi
# Relief smaller than the VM's vCPUs: node-a now between level and threshold (75 %).
simctl /sim/nodes/node-a/pressure '{"cpuPercent": 75}' >/dev/null
wait_for 30 bash -c "grep -q 'pressure-.*VMs evacuated from node' '$MIG_LOG'" || not_ok "the pressure evacuation ended"
sleep 6
check "just enough: exactly one VM moved" [ "$(offa)" -eq 1 ]
check "one VMIM" [ "$(our_vmims | wc -l)" -eq 1 ]
check "q-1 (no policy) stayed on node-a" [ "$(vmi_node q-1-vm)" = node-a ]
MOVED=$(where | awk '$2 != "node-a" {print $1}')
diag "moved: $MOVED to $(vmi_node "$MOVED")"
check "the target is node-b: node-c would end above 70 % cpu" [ "$(vmi_node "$MOVED")" = node-b ]
check "node-c received nothing" [ "$(where | grep -c ' node-c$')" -eq 0 ]
check "migrator log names the dimension (cpu 92% >= 80%)" grep -q 'cpu 92% >= 80% for' "$MIG_LOG"
check "memory was not the reason" bash -c "! grep -q 'memory [0-9]*% >=' '$MIG_LOG'"

# Flickers: node-b's CPU over the threshold for a moment, then node-a's; each is seen by the
# watcher (1 s polls) but lasts less than the 3 s sustain.
simctl /sim/nodes/node-b/pressure '{"cpuPercent": 95}' >/dev/null
sleep 1.5
simctl /sim/nodes/node-b/pressure '{"cpuPercent": -1}' >/dev/null
simctl /sim/nodes/node-a/pressure '{"cpuPercent": 95}' >/dev/null
sleep 1.5
simctl /sim/nodes/node-a/pressure '{"cpuPercent": 75}' >/dev/null
sleep 6
topic wukong.events | grep '"kind":"NodeMetrics"' >"$T/nm.jsonl"
check "the watcher published the flickers (node-b at 95 % cpu)" bash -c "grep '\"name\":\"node-b\"' '$T/nm.jsonl' | grep -q '\"cpu\":\"8455000000n\"'"
check "flickers moved nothing (still one VMIM)" [ "$(our_vmims | wc -l)" -eq 1 ]
check "$MOVED stayed on node-b" [ "$(vmi_node "$MOVED")" = node-b ]
# Sustained CPU pressure on node-b, with room on node-a again (its CPU back to what its VMs use,
# ~25 %): the moved VM is cooling down, so it does not go back.
simctl /sim/nodes/node-a/pressure '{"cpuPercent": -1}' >/dev/null
simctl /sim/nodes/node-b/pressure '{"cpuPercent": 95}' >/dev/null
sleep 8
check "sustained cpu pressure on node-b: the recently moved VM does not move back" [ "$(vmi_node "$MOVED")" = node-b ]
check "still one VMIM" [ "$(our_vmims | wc -l)" -eq 1 ]
topic wukong.audit >"$T/audit.jsonl"
check "pressure.started says cpu 92% >= 80%" bash -c "grep '\"action\":\"pressure.started\"' '$T/audit.jsonl' | grep -q 'cpu 92% >= 80%: 1 VMs leave node'"
check "pressure.completed success audited" bash -c "grep '\"action\":\"pressure.completed\"' '$T/audit.jsonl' | grep -q '\"outcome\":\"success\"'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "migrator still running" kill -0 "$MIG_PID"
finish
