#!/usr/bin/env bash
# 0046-auto-cordon.sh - spec.migrationPolicy's nodeMaintenance trigger, with kubectl as the user:
# `kubectl cordon` of a node evacuates every VM on it whose Wukong enables the policy with the
# nodeMaintenance trigger, each to a node matching its targetNodeSelector (never to the node the
# selector excludes), exactly once; VMs without the policy, or with another trigger only, stay.
# On KubeVirt below 1.6 (SIM_KUBEVIRT_VERSION=1.5) the policy's VMs are refused up front
# (TargetedMigrationUnsupported): a migration cannot be aimed there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 6
linkBandwidth: 1250M
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 64, memory: 128Gi, labels: {pool: general}}
  - {name: node-b, cpu: 64, memory: 64Gi, labels: {pool: target}, unschedulable: true}
  - {name: node-c, cpu: 64, memory: 64Gi, labels: {pool: target}, unschedulable: true}
  - {name: node-d, cpu: 64, memory: 256Gi, labels: {pool: other}, unschedulable: true}
vms:
  - {name: p, count: 4, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: q, count: 2, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator
for vm in p-1 p-2 p-3 p-4 q-1 q-2; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
check "all VMs start on node-a" bash -c "for v in p-1 p-2 p-3 p-4 q-1 q-2; do [ \"\$($K get vmi -n default \$v-vm -o jsonpath='{.status.nodeName}')\" = node-a ] || exit 1; done"
$K uncordon node-b node-c node-d >/dev/null
POL='{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"nodeMaintenance"}],"targetNodeSelector":{"matchLabels":{"pool":"target"}}}}}'
for vm in p-1 p-2 p-3 p-4; do
	$K patch wukong -n default "$vm" --type merge -p "$POL" >/dev/null || not_ok "patch $vm"
done
# q-1: enabled, but only for resource pressure; q-2: no policy.
$K patch wukong -n default q-1 --type merge \
	-p '{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"resourcePressure","threshold":"80%"}]}}}' >/dev/null
check "policies accepted by the API server" bash -c "[ \"\$($K get wukong -n default p-1 -o jsonpath='{.spec.migrationPolicy.enabled}')\" = true ]"
sleep 1

$K cordon node-a >/dev/null
check "kubectl cordon node-a" bash -c "[ \"\$($K get node node-a -o jsonpath='{.spec.unschedulable}')\" = true ]"
moved() {
	for v in p-1 p-2 p-3 p-4; do
		n=$($K get vmi -n default $v-vm -o jsonpath='{.status.nodeName}' 2>/dev/null)
		case "$n" in node-b | node-c) ;; *) return 1 ;; esac
	done
}
export -f moved
export K
if [ "${SIM_KV#1.}" -ge 6 ]; then
	if wait_for 120 moved; then ok "every policy-enabled VM left node-a for a pool=target node"; else
		not_ok "policy-enabled VMs evacuated"
		for v in p-1 p-2 p-3 p-4; do diag "$v on $(vmi_node $v-vm)"; done
	fi
else
	# KubeVirt below 1.6 prunes addedNodeSelector: a migration cannot be aimed at the policy's
	# targetNodeSelector, and the scheduler would not know it. Each is refused up front naming
	# the version (issue 16 item 3); they stay on node-a rather than land outside the pool.
	refused() { for v in p-1 p-2 p-3 p-4; do [ "$(last_reason $v)" = TargetedMigrationUnsupported ] || return 1; done; }
	export -f refused last_reason statuses topic
	export T BOOTSTRAP
	if wait_for 120 refused; then ok "(KubeVirt $SIM_KV) every policy-enabled VM refused: TargetedMigrationUnsupported"; else
		not_ok "(KubeVirt $SIM_KV) policy-enabled VMs refused ($(for v in p-1 p-2 p-3 p-4; do echo -n "$v=$(last_reason $v) "; done))"
	fi
	check "... the reason names the version" bash -c "statuses p-1 | tail -1 | grep -q 'KubeVirt v$SIM_KV'"
	check "... they stay on node-a" bash -c "for v in p-1 p-2 p-3 p-4; do [ \"\$($K get vmi -n default \$v-vm -o jsonpath='{.status.nodeName}')\" = node-a ] || exit 1; done"
fi
check "q-1 (pressure trigger only) stays on node-a" [ "$(vmi_node q-1-vm)" = node-a ]
check "q-2 (no policy) stays on node-a" [ "$(vmi_node q-2-vm)" = node-a ]
check "nothing went to node-d (pool=other)" bash -c "! $K get vmi -A -o jsonpath='{range .items[*]}{.status.nodeName}{\"\\n\"}{end}' | grep -q node-d"
wait_for 30 bash -c "topic wukong.audit | grep -q '\"action\":\"evacuation.completed\"'"
topic wukong.audit >"$T/audit.jsonl"
if [ "${SIM_KV#1.}" -ge 6 ]; then
	check "evacuation.completed success audited" bash -c "grep '\"action\":\"evacuation.completed\"' '$T/audit.jsonl' | grep -q '\"outcome\":\"success\"'"
else
	check "(KubeVirt $SIM_KV) evacuation.completed failure audited: VMsRemaining" bash -c "grep '\"action\":\"evacuation.completed\"' '$T/audit.jsonl' | grep -q '\"reason\":\"VMsRemaining\"'"
fi
check "the plan skipped q-1 and q-2 with PolicyNotEnabled" bash -c "grep '\"action\":\"evacuation.started\"' '$T/audit.jsonl' | grep -o PolicyNotEnabled | wc -l | grep -q '^2$'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
# Events on the Node as kubectl describe node looks for them (kind Node, uid = the node's name,
# as the kubelet posts them; the simulator serves no pods, which describe node also lists).
$K get events -n default -o json >"$T/events.json"
END=Evacuated
[ "${SIM_KV#1.}" -ge 6 ] || END=VMsRemaining
check "Events on node-a: NodeMaintenance then $END, from wukong-migrator" /usr/bin/python3 -c '
import json, sys
r = [e["reason"] for e in json.load(open(sys.argv[1]))["items"]
     if e["involvedObject"].get("kind") == "Node" and e["involvedObject"].get("name") == "node-a"
     and e["involvedObject"].get("uid") == "node-a" and e["source"].get("component") == "wukong-migrator"]
sys.exit(0 if r.count("NodeMaintenance") == 1 and r.count(sys.argv[2]) == 1 else 1)' "$T/events.json" "$END"
if [ "${SIM_KV#1.}" -ge 6 ]; then
	check "each evacuated VM's migration Succeeded" bash -c "for v in p-1 p-2 p-3 p-4; do [ \"\$($T/lastphase.sh \$v)\" = Succeeded ] || exit 1; done"
	check "exactly one VMIM per evacuated VM" [ "$(our_vmims | wc -l)" -eq 4 ]
	# Node heartbeats keep arriving while node-a stays cordoned: nothing is migrated again.
	sleep 4
	check "still one VMIM per VM a few seconds later" [ "$(our_vmims | wc -l)" -eq 4 ]
else
	check "(KubeVirt $SIM_KV) no VMIM created" [ -z "$(our_vmims)" ]
fi
check "migrator still running" kill -0 "$MIG_PID"
conformance_check "$KC"
finish
