#!/usr/bin/env bash
# 0067-clone-crossns.sh - cross-namespace clone: a stopped golden VM in namespace 'golden', a
# Wukong in 'default' whose cloneSource names it. KubeVirt's snapshot, restore and clone reference
# source and target in one namespace, so the cloner goes per volume: a VolumeSnapshot of each
# claim in 'golden', a CDI DataVolume in 'default' cloned from it (spec.source.snapshot with the
# namespace), the target VM on those DataVolumes. The golden VM is never started; the clone is
# consistent at rest (Offline); the VolumeSnapshots are removed at the end. Then CDI's permission
# check as the simulator models it: a user who may create DataVolumes in 'default' but has no
# `create` on `datavolumes/source` in 'golden' is refused ("insufficient permissions in clone
# source namespace"), and allowed once a RoleBinding in 'golden' grants it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 21
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
vms:
  - {name: tmpl, namespace: golden, cpu: 1, memory: 1Gi, running: false, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}, {name: data, size: 1Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 20 $K get vm -n golden tmpl-vm || { not_ok "golden/tmpl-vm exists"; finish; exit 1; }
# every VMI event of the source, for "never started"
$K get vmi -n golden -w -o name >"$T/golden-vmis" 2>/dev/null &
WPID=$!
check "Wukong 'web1' in default applied (cloneSource.namespace: golden)" wukong_clone web1 vm tmpl-vm \
	"    namespace: golden"
if wait_clone 60 web1 Succeeded; then ok "status Succeeded"; else not_ok "status Succeeded (last: $(last_clone web1))"; tail -5 "$CL_LOG"; fi
check "target VM in default with both disks on DataVolumes" bash -c \
	"[ \"\$($K get vm -n default web1-vm -o jsonpath='{.spec.template.spec.volumes[*].dataVolume.name}' | wc -w)\" -eq 2 ]"
check "each DataVolume cloned from a VolumeSnapshot in golden, Succeeded" bash -c \
	"[ \"\$($K get dv -n default -l vm.novasphere.dev/wukong=web1 -o jsonpath='{range .items[*]}{.spec.source.snapshot.namespace}/{.status.phase} {end}')\" = 'golden/Succeeded golden/Succeeded ' ]"
check "the DataVolumes are owned by the target VM" bash -c \
	"$K get dv -n default -l vm.novasphere.dev/wukong=web1 -o jsonpath='{.items[*].metadata.ownerReferences[0].name}' | grep -qx 'web1-vm web1-vm'"
wait_for 30 bash -c "[ \"\$($K get vmi -n default web1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "target runs in default" [ "$(vmi_phase web1-vm default)" = Running ]
check "status: method VolumeSnapshots, filesystem-consistent (Offline)" bash -c \
	"topic wukong.status | grep '\"web1\"' | grep '\"source\":\"wukong-cloner\"' | tail -1 | grep '\"method\":\"VolumeSnapshots\"' | grep -q 'filesystem-consistent'"
wait_for 10 bash -c "[ \"\$($K get wukong web1 -o jsonpath='{.status.cloneStatus.phase}')\" = Succeeded ]"
check "the Wukong's status (status writer) lists the two copied volumes" bash -c \
	"[ \"\$($K get wukong web1 -o jsonpath='{.status.cloneStatus.method}:{.status.cloneStatus.volumes[*].name}')\" = 'VolumeSnapshots:system data' ]"
check "message says the copy is per volume from golden" grep -q "cloned from VM 'golden/tmpl-vm'" <<<"$(last_clone web1)"
wait_for 10 bash -c "[ -z \"\$($K get volumesnapshot -n golden -o name)\" ]"
check "the VolumeSnapshots in golden are gone" [ -z "$($K get volumesnapshot -n golden -o name)" ]
check "the VMI watch on golden was running" kill "$WPID"
check "the golden VM was never started (no VMI seen, runStrategy unchanged)" bash -c \
	"[ ! -s '$T/golden-vmis' ] && [ \"\$($K get vm -n golden tmpl-vm -o jsonpath='{.spec.runStrategy}{.spec.running}')\" != Always ]"
check "target has a new SMBIOS serial, the source's MACs are not copied" bash -c \
	"[ -n \"\$($K get vm web1-vm -o jsonpath='{.spec.template.spec.domain.firmware.serial}')\" ] && ! $K get vm web1-vm -o json | grep -q macAddress"

# CDI's clone authorization (datavolume-mutate webhook).
$K apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dv-maker, namespace: default}
rules: [{apiGroups: [cdi.kubevirt.io], resources: [datavolumes], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dv-maker, namespace: default}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: dv-maker, apiGroup: rbac.authorization.k8s.io}
YAML
$K create -n golden -f - >/dev/null <<'YAML'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: gold-sys, namespace: golden}
spec: {source: {persistentVolumeClaimName: tmpl-system}}
YAML
DV='{"apiVersion":"cdi.kubevirt.io/v1beta1","kind":"DataVolume","metadata":{"name":"by-alice","namespace":"default"},"spec":{"source":{"snapshot":{"namespace":"golden","name":"gold-sys"}},"storage":{"resources":{"requests":{"storage":"2Gi"}}}}}'
OUT=$(printf '%s' "$DV" | $K --as=alice create -f - 2>&1)
check "without datavolumes/source in golden: refused by CDI's webhook" grep -q "insufficient permissions in clone source namespace golden" <<<"$OUT"
$K apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: datavolume-cloner}
rules: [{apiGroups: [cdi.kubevirt.io], resources: [datavolumes/source], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-clones-golden, namespace: golden}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: datavolume-cloner, apiGroup: rbac.authorization.k8s.io}
YAML
check "with it: created" bash -c "printf '%s' '$DV' | $K --as=alice create -f - >/dev/null"
finish
