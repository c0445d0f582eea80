#!/usr/bin/env bash
# 0041-migrate-preflight.sh - every pre-flight check refuses a migration with its precise reason on
# the status and in the audit log, and creates no KubeVirt object: VMI missing (VM stopped), VMI
# not Running, RWO disk (DisksNotLiveMigratable), bridge on the pod network without the Kube-OVN
# annotation (InterfaceNotLiveMigratable), unknown / NotReady / cordoned / full / wrong-zone
# target, and a migration already in flight; target = source is no refusal for spec.migration
# (declarative): Succeeded with AlreadyOnTarget, nothing created.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
linkBandwidth: 1Gi
nodeGracePeriod: 1
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi, labels: {zone: a}}
  - {name: node-b, cpu: 16, memory: 32Gi, labels: {zone: b}}
  - {name: node-c, cpu: 16, memory: 32Gi, labels: {zone: a}}
  - {name: node-small, cpu: 16, memory: 3Gi, labels: {zone: a}}
vms:
  - {name: ok, cpu: 1, memory: 3Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: busy, cpu: 1, memory: 3Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: stopped, cpu: 1, memory: 3Gi, running: false, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: rwo, cpu: 1, memory: 3Gi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}, {name: data, size: 10Gi, storageClass: local-rwo}]}
  - {name: bridge, cpu: 1, memory: 3Gi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}], networks: [{name: default, type: pod, binding: bridge}]}
  - {name: pinned, cpu: 1, memory: 3Gi, nodeSelector: {zone: a}, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: nowhere, cpu: 1, memory: 3Gi, nodeSelector: {zone: z}, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator

for vm in ok busy rwo bridge pinned; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
OK_SRC=$(vmi_node ok-vm)
T1="" T2=""
for n in node-a node-b node-c; do
	[ "$n" = "$OK_SRC" ] && continue
	if [ -z "$T1" ]; then T1=$n; else T2=$n; fi
done
diag "ok-vm on $OK_SRC; targets $T1 $T2"

N=0
# expect WUKONG TARGET REASON [TEXT]: ask for a migration through spec.migration and see it refused.
expect() {
	local wk=$1 tgt=$2 reason=$3 text=${4:-}
	N=$((N + 1))
	$K patch wukong "$wk" --type=merge -o name \
		-p "{\"spec\":{\"migration\":{\"targetNode\":\"$tgt\",\"completionTimeoutPerGiB\":$((100 + N))}}}" >/dev/null
	if wait_for 20 bash -c "'$T/lastphase.sh' $wk | grep -qx Rejected && timeout 20 kcat -b $BOOTSTRAP -C -t wukong.status -o beginning -e -q -f '%s\n' 2>/dev/null | grep '\"name\":\"$wk\"' | tail -1 | grep -q '\"reason\":\"$reason\"'"; then
		ok "$wk -> $tgt refused: $reason"
	else
		not_ok "$wk -> $tgt refused: $reason (got: $(statuses "$wk" | tail -1))"
	fi
	[ -n "$text" ] && check "  message names it: $text" bash -c "statuses $wk | tail -1 | grep -q -- '$text'"
	check "  no VMIM or MigrationPolicy for $wk" bash -c \
		"[ -z \"\$($K get vmim -n default -l vm.novasphere.dev/wukong=$wk -o name)\" ] && [ -z \"\$($K get migrationpolicies -l vm.novasphere.dev/wukong=$wk -o name)\" ]"
}
export -f statuses topic 2>/dev/null
export BOOTSTRAP

expect stopped node-b VMINotFound "not running"
if [ -n "$($K get vmi -n default nowhere-vm -o name 2>/dev/null)" ]; then
	expect nowhere node-b VMINotRunning "not Running"
else
	expect nowhere node-b VMINotFound
fi
# (a target other than where each runs: one already there would be AlreadyOnTarget)
away() { [ "$(vmi_node "$1-vm")" = node-a ] && echo node-c || echo node-a; }
expect rwo "$(away rwo)" DisksNotLiveMigratable "ReadWriteMany"
expect bridge "$(away bridge)" InterfaceNotLiveMigratable "kubevirt.io/allow-pod-bridge-network-live-migration"
expect ok node-zz TargetNodeNotFound "node-zz"
# target = source: for spec.migration (declarative) not a refusal but done: AlreadyOnTarget
N=$((N + 1))
$K patch wukong ok --type=merge -o name \
	-p "{\"spec\":{\"migration\":{\"targetNode\":\"$OK_SRC\",\"completionTimeoutPerGiB\":$((100 + N))}}}" >/dev/null
if wait_phase 20 ok Succeeded && [ "$(last_reason ok)" = AlreadyOnTarget ]; then
	ok "ok -> $OK_SRC (where it runs): Succeeded, AlreadyOnTarget"
else
	not_ok "ok -> $OK_SRC (where it runs): Succeeded, AlreadyOnTarget (got: $(statuses ok | tail -1))"
fi
check "  message says it already runs there" bash -c "statuses ok | tail -1 | grep -q 'already runs'"
check "  no VMIM or MigrationPolicy for ok" \
	bash -c "[ -z \"\$($K get vmim -n default -l vm.novasphere.dev/wukong=ok -o name)\" ] && [ -z \"\$($K get migrationpolicies -l vm.novasphere.dev/wukong=ok -o name)\" ]"
expect ok node-small TargetNodeInsufficientMemory "free memory"
check "cordon $T1" $K cordon "$T1"
expect ok "$T1" TargetNodeUnschedulable "cordoned"
$K uncordon "$T1" >/dev/null
echo "{}" | kubectl --kubeconfig "$KC" create --raw "/sim/nodes/$T2/fail" -f - >"$T/fail.out" 2>&1
wait_for 20 bash -c "$K get node $T2 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qv True"
diag "fail $T2: $(cat $T/fail.out) ready=$($K get node $T2 -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")"
expect ok "$T2" TargetNodeNotReady "not Ready"
echo "{}" | kubectl --kubeconfig "$KC" create --raw "/sim/nodes/$T2/recover" -f - >/dev/null 2>&1
wait_for 20 bash -c "$K get node $T2 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
expect pinned node-b TargetNodeSelectorMismatch "zone"

# Someone else's migration of busy-vm, stuck Pending on an impossible target. Before KubeVirt 1.6
# a VMIM has no addedNodeSelector (pruned): the setup cannot hold a migration in flight.
if [ "${SIM_KV#1.}" -ge 6 ]; then
	cat <<YAML | $K apply -f - >/dev/null
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata: {name: manual-busy, namespace: default}
spec: {vmiName: busy-vm, addedNodeSelector: {kubernetes.io/hostname: no-such-node}}
YAML
	BUSY_SRC=$(vmi_node busy-vm)
	BT=node-a
	[ "$BUSY_SRC" = node-a ] && BT=node-c
	expect busy "$BT" MigrationInFlight "manual-busy"
else
	for d in "busy refused: MigrationInFlight" "message names it" "no VMIM or MigrationPolicy for busy"; do
		skip "KubeVirt $SIM_KV: $d (the setup needs addedNodeSelector, 1.6+)"
	done
fi

# And the audit log has every refusal with its reason.
topic wukong.audit >"$T/audit.jsonl"
for r in VMINotFound DisksNotLiveMigratable InterfaceNotLiveMigratable TargetNodeNotFound \
	TargetNodeInsufficientMemory TargetNodeUnschedulable TargetNodeNotReady TargetNodeSelectorMismatch MigrationInFlight; do
	if [ "$r" = MigrationInFlight ] && [ "${SIM_KV#1.}" -lt 6 ]; then
		skip "audit: migration.preflight rejected $r (KubeVirt $SIM_KV: not set up)"
		continue
	fi
	check "audit: migration.preflight rejected $r" grep -q "\"action\":\"migration.preflight\",\"outcome\":\"rejected\",\"reason\":\"$r\"" "$T/audit.jsonl"
done
check "audit: migration.already-on-target success AlreadyOnTarget" grep -q '"action":"migration.already-on-target","outcome":"success","reason":"AlreadyOnTarget"' "$T/audit.jsonl"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
# After all that, a good request still works.
$K patch wukong ok --type=merge -o name -p "{\"spec\":{\"migration\":{\"targetNode\":\"$T1\"}}}" >/dev/null
if wait_phase 90 ok Succeeded; then ok "a valid request after the refusals succeeds"; else not_ok "valid request succeeds (last: $(last_phase ok))"; fi
finish
