#!/usr/bin/env bash
# 0064-clone-failures.sh - every failure case ends Failed with its reason and leaves nothing of
# ours behind: source missing (SourceNotFound), a VMI that is not running (SourceNotRunning), a
# stopped VM asked to start (startSource) that cannot (SourceNotStartable; put back to Halted),
# storage without snapshot
# support (StorageCannotSnapshot), a taken target name (TargetNameTaken), a clone that fails
# (CloneFailed), a cross-namespace source that does not exist (SourceNotFound, naming the
# namespace: cross-namespace clones go per volume, 0067) and, with a short
# failureDeadline, a snapshot past its deadline (SnapshotDeadlineExceeded).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 11
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
  - {name: local-rwo, accessMode: RWO, snapshot: false, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 16Gi}
vms:
  - {name: ok, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
  - {name: off, cpu: 1, memory: 1Gi, running: false, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
  - {name: huge, cpu: 1, memory: 512Gi, running: false, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
  - {name: local, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: local-rwo}]}
  - {name: big, cpu: 1, memory: 1Gi, disks: [{name: system, size: 24Gi, storageClass: shared-rwx}]}
  - {name: slow, cpu: 1, memory: 1Gi, disks: [{name: system, size: 400Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner -X cloner.source-start-timeout=20s

wait_for 30 bash -c "[ \"\$($K get vmi -n default ok-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "cluster up"; finish; exit 1; }
$K create namespace other >/dev/null 2>&1
$K apply -f - >/dev/null <<'YAML'
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: taken-vm, namespace: default}
spec:
  runStrategy: Halted
  template: {spec: {domain: {devices: {}}}}
YAML

# expect WUKONG REASON: Failed with that reason.
expect() {
	if wait_clone 60 "$1" Failed; then
		local r
		r=$(last_clone "$1" | cut -d'|' -f3)
		if [ "$r" = "$2" ]; then ok "$1: Failed $2 ($(last_clone "$1" | cut -d'|' -f5 | cut -c1-110))"; else not_ok "$1: reason $r, want $2"; fi
	else
		not_ok "$1: Failed $2 (last: $(last_clone "$1"))"
	fi
}

wukong_clone ghost vm nothing-here
wukong_clone notrun vmi off-vm
wukong_clone unstartable vm huge-vm "    startSource: true"
wukong_clone nosnap vm local-vm
wukong_clone taken vm ok-vm
wukong_clone crossns vm ok-vm "    namespace: other"
expect ghost SourceNotFound
expect notrun SourceNotRunning
expect nosnap StorageCannotSnapshot
check "storage reason names KubeVirt's message" bash -c "last_clone() { :; }; topic wukong.status | grep '\"nosnap\"' | grep '\"source\":\"wukong-cloner\"' | tail -1 | grep -q VolumeSnapshotClass"
expect taken TargetNameTaken
check "taken-vm untouched (still ours? no: never labelled)" bash -c "! $K get vm taken-vm -o json | grep -q wukong-cloner"
expect crossns SourceNotFound
check "cross-namespace message names the source namespace" bash -c "topic wukong.status | grep '\"crossns\"' | grep '\"source\":\"wukong-cloner\"' | tail -1 | grep -q \"'other/ok-vm' does not exist\""
expect unstartable SourceNotStartable
check "unstartable source put back to Halted, annotation gone" bash -c \
	"[ \"\$($K get vm huge-vm -o jsonpath='{.spec.runStrategy}')\" = Halted ] && ! $K get vm huge-vm -o json | grep -q started-by.clone"

# A clone that fails: its snapshot is deleted (by someone else) while the volumes are restored.
wukong_clone broken vm big-vm
wait_for 40 bash -c "last_clone() { :; }; topic wukong.status | grep '\"broken\"' | grep -q RestoreInProgress" ||
	diag "broken: RestoreInProgress not seen"
$K delete vmsnapshot -l vm.novasphere.dev/wukong=broken --wait=false >/dev/null 2>&1
expect broken CloneFailed

check "no snapshot of ours left" [ -z "$(our_snaps)" ]
check "no clone of ours left" [ -z "$(our_clones)" ]
check "no target VM for any failed Wukong" bash -c \
	"for n in ghost notrun unstartable nosnap crossns broken; do $K get vm \$n-vm >/dev/null 2>&1 && exit 1; done; exit 0"

# A short failure deadline: the snapshot of a 400Gi disk cannot finish in time.
kill "$CL_PID"; wait "$CL_PID" 2>/dev/null
cl_start_cloner -X cloner.snapshot-failure-deadline=2s -X cloner.deadline-grace=60s
wukong_clone late vm slow-vm
wait_for 20 bash -c "[ -n \"\$($K get vmsnapshot -o name)\" ]"
check "snapshot created with failureDeadline 2s" [ "$($K get vmsnapshot -o jsonpath='{.items[0].spec.failureDeadline}')" = 2s ]
# KubeVirt puts "snapshot deadline exceeded" in the Failure condition's reason, not its message
# (pkg/storage/snapshot/util.go); the cloner reads the reason (issue 16 item 7).
failed_with() { wait_clone 60 "$1" Failed && [ "$(last_clone "$1" | cut -d'|' -f3)" = "$2" ]; }
check "late: Failed SnapshotDeadlineExceeded (the deadline is in the Failure condition's reason)" \
	failed_with late SnapshotDeadlineExceeded
wait_for 10 bash -c "[ -z \"\$($K get vmsnapshot -o name)\" ]"
check "deadline: snapshot removed" [ -z "$($K get vmsnapshot -o name)" ]
check "audit has clone.failed for every case" bash -c \
	"[ \$(topic wukong.audit | grep clone.failed | grep -o '\"name\":\"[a-z]*\"' | sort -u | wc -l) -ge 8 ]"
check "source VMs still running (ok-vm, big-vm)" bash -c \
	"[ \"\$($K get vmi ok-vm -o jsonpath='{.status.phase}')\" = Running ] && [ \"\$($K get vmi big-vm -o jsonpath='{.status.phase}')\" = Running ]"
finish
