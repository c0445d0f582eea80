#!/usr/bin/env bash
# 0068-clone-offline.sh - clones of a stopped VM never start it: cloneType offline of a stopped VM
# (an offline VirtualMachineSnapshot, consistent at rest, the target left stopped as spec.running
# false asks), cloneType running of the same stopped VM (copied as it is, not started: startSource
# is not set), and cloneType offline of a running VM (refused with SourceRunning before anything
# is created). The source's VMIs are watched from the start: none may appear.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 22
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
vms:
  - {name: cold, cpu: 1, memory: 1Gi, running: false, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
  - {name: hot, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 20 $K get vm cold-vm || { not_ok "source cold-vm exists"; finish; exit 1; }
$K get vmi -w -o name >"$T/vmis" 2>/dev/null &
WPID=$!
apply_wk() { # NAME SOURCE CLONETYPE RUNNING
	$K apply -f - >/dev/null <<YAML
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: $1, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  running: $4
  disks: [{name: system, size: 2Gi, storageClassName: shared-rwx}]
  cloneSource: {type: vm, vmName: $2, cloneType: $3}
YAML
}
check "Wukong 'off1' (cloneType offline, running: false) applied" apply_wk off1 cold-vm offline false
if wait_clone 60 off1 Succeeded; then ok "off1 Succeeded"; else not_ok "off1 Succeeded (last: $(last_clone off1))"; tail -5 "$CL_LOG"; fi
check "off1: consistent at rest (filesystem-consistent)" grep -q '|filesystem-consistent|' <<<"$(last_clone off1)"
check "off1: the message says the source was not started" grep -q "while it was stopped (it was not started)" <<<"$(last_clone off1)"
check "off1: target exists and is left stopped (runStrategy Halted, no VMI)" bash -c \
	"[ \"\$($K get vm off1-vm -o jsonpath='{.spec.runStrategy}')\" = Halted ] && ! $K get vmi off1-vm >/dev/null 2>&1"
check "off1: no StartingSource phase reported" bash -c "! topic wukong.status | grep '\"off1\"' | grep -q StartingSource"

check "Wukong 'run1' (cloneType running, stopped source) applied" apply_wk run1 cold-vm running true
if wait_clone 60 run1 Succeeded; then ok "run1 Succeeded"; else not_ok "run1 Succeeded (last: $(last_clone run1))"; fi
wait_for 30 bash -c "[ \"\$($K get vmi run1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "run1: the clone runs (spec.running true)" [ "$(vmi_phase run1-vm)" = Running ]
check "run1: the source stayed stopped (runStrategy, no started-by annotation)" bash -c \
	"[ \"\$($K get vm cold-vm -o jsonpath='{.spec.runStrategy}')\" != Always ] && ! $K get vm cold-vm -o json | grep -q started-by.clone"

wait_for 30 bash -c "[ \"\$($K get vmi hot-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "Wukong 'off2' (cloneType offline of the running hot-vm) applied" apply_wk off2 hot-vm offline true
if wait_clone 30 off2 Failed; then ok "off2 Failed"; else not_ok "off2 Failed (last: $(last_clone off2))"; fi
check "off2: reason SourceRunning" grep -q '|SourceRunning|' <<<"$(last_clone off2)"
check "off2: nothing created" bash -c "! $K get vm off2-vm >/dev/null 2>&1 && [ -z \"\$($K get vmsnapshot -o name | grep off2)\" ]"
check "the VMI watch was running" kill "$WPID"
check "cold-vm never had a VMI (watched from the start)" bash -c "! grep -q 'cold-vm' '$T/vmis'"
check "the watch saw VMIs at all (run1-vm, hot-vm)" grep -q run1-vm "$T/vmis"
finish
