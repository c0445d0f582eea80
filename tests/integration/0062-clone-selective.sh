#!/usr/bin/env bash
# 0062-clone-selective.sh - selective clone, per volume: the source has disks system (snapshottable
# class), data (snapshottable) and scratch (a class without a VolumeSnapshotClass); the Wukong
# asks for `disks: [system]`. The cloner takes a VolumeSnapshot of the system claim only (never of
# data or scratch: a VirtualMachineSnapshot would have taken data as well), clones it into a CDI
# DataVolume, and creates the target VM with that one disk. The status says how (method
# VolumeSnapshots, the volumes) and how consistent (crash-consistent: the VM ran, no freeze).
# keepSnapshot: true keeps the VolumeSnapshot. Asking for the scratch disk fails before anything
# is created, naming the disk and KubeVirt's reason.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 9
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
  - {name: plain-nfs, accessMode: RWX, snapshot: false, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
vms:
  - {name: db, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}, {name: data, size: 4Gi, storageClass: shared-rwx}, {name: scratch, size: 1Gi, storageClass: plain-nfs}]}
YAML
cl_start
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default db-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "source db-vm running"; finish; exit 1; }
check "source has three volumes" [ "$($K get vm db-vm -o jsonpath='{.spec.template.spec.volumes[*].name}')" = "system data scratch" ]
check "Wukong 'sys-only' applied (disks: [system], keepSnapshot)" wukong_clone sys-only vm db-vm \
	"    disks: [system]
    keepSnapshot: true"
if wait_clone 60 sys-only Succeeded; then ok "status Succeeded"; else not_ok "status Succeeded (last: $(last_clone sys-only))"; tail -5 "$CL_LOG"; fi
check "exactly one VolumeSnapshot, of the system claim" bash -c \
	"[ \"\$($K get volumesnapshot -o jsonpath='{.items[*].spec.source.persistentVolumeClaimName}')\" = \"\$($K get vm db-vm -o jsonpath='{.spec.template.spec.volumes[0].dataVolume.name}{.spec.template.spec.volumes[0].persistentVolumeClaim.claimName}')\" ]"
check "no VirtualMachineSnapshot or VirtualMachineClone (nothing snapshots every disk)" bash -c \
	"[ -z \"\$($K get vmsnapshot,vmclone -o name 2>/dev/null)\" ]"
check "target has only the system volume, on the cloned DataVolume" bash -c \
	"[ \"\$($K get vm sys-only-vm -o jsonpath='{.spec.template.spec.volumes[*].name}')\" = system ] &&
	 $K get vm sys-only-vm -o jsonpath='{.spec.template.spec.volumes[0].dataVolume.name}' | grep -q '^sys-only-clone-.*-system\$'"
check "target has only the system disk" [ "$($K get vm sys-only-vm -o jsonpath='{.spec.template.spec.domain.devices.disks[*].name}')" = system ]
check "the DataVolume was cloned from the snapshot and Succeeded" bash -c \
	"$K get dv -o jsonpath='{range .items[*]}{.spec.source.snapshot.name} {.status.phase}{\"\\n\"}{end}' | grep -q '^sys-only-clone-.*-system Succeeded\$'"
wait_for 30 bash -c "[ \"\$($K get vmi sys-only-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "target runs" [ "$(vmi_phase sys-only-vm)" = Running ]
check "status: method VolumeSnapshots, one volume, crash-consistent" bash -c \
	"topic wukong.status | grep '\"sys-only\"' | grep '\"source\":\"wukong-cloner\"' | tail -1 | grep '\"method\":\"VolumeSnapshots\"' | grep '\"sourceClaim\"' | grep -q crash-consistent"
check "FilesystemConsistent=False NoFreeze on the status" bash -c \
	"topic wukong.status | grep '\"sys-only\"' | grep -q '\"reason\":\"NoFreeze\"'"
check "snapshot kept (keepSnapshot)" [ "$($K get volumesnapshot -o name | wc -l)" -eq 1 ]
check "source still has its three volumes and runs" bash -c \
	"[ \"\$($K get vm db-vm -o jsonpath='{.spec.template.spec.volumes[*].name}')\" = 'system data scratch' ] && [ \"$(vmi_phase db-vm)\" = Running ]"

# Asking for the disk that cannot be snapshotted: refused up front, nothing created.
check "Wukong 'with-scratch' applied (disks: [system, scratch])" wukong_clone with-scratch vm db-vm \
	"    disks: [system, scratch]"
if wait_clone 30 with-scratch Failed; then ok "with-scratch Failed"; else not_ok "with-scratch Failed (last: $(last_clone with-scratch))"; fi
check "reason StorageCannotSnapshot naming the scratch disk" grep -q "StorageCannotSnapshot|.*disk 'scratch'" <<<"$(last_clone with-scratch)"
check "nothing created for it" bash -c "! $K get vm with-scratch-vm >/dev/null 2>&1 && [ \"\$($K get volumesnapshot -o name | wc -l)\" -eq 1 ]"
finish
