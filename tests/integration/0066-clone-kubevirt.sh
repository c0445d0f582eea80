#!/usr/bin/env bash
# 0066-clone-kubevirt.sh - issue 16 items 4, 9 and 12: the cloner reads the KubeVirt CR (version,
# feature gates) at start and on every resync and refuses, before anything is created, what that
# KubeVirt cannot do: no Snapshot gate listed on 1.6 (SnapshotGateDisabled; a Kafka submission is
# dead-lettered with that reason and audited); a disk selection on 1.5 works (it goes per volume:
# VolumeSnapshots and DataVolumes, no VirtualMachineClone spec.patches needed); and a disk selection that names no disk of the source or drops its
# boot disk (InvalidDiskSelection), for a Wukong and for a Kafka submission; and submissions past
# their maximum age or their own expiresAt (Expired, issue 16 item 14).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 12
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
vms:
  - {name: src, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}, {name: data, size: 1Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default src-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "cluster up"; finish; exit 1; }

expect() {
	if wait_clone 40 "$1" Failed; then
		local r
		r=$(last_clone "$1" | cut -d'|' -f3)
		if [ "$r" = "$2" ]; then ok "$1: Failed $2 ($(last_clone "$1" | cut -d'|' -f5 | cut -c1-140))"; else not_ok "$1: reason $r, want $2 ($(last_clone "$1"))"; fi
	else
		not_ok "$1: Failed $2 (last: $(last_clone "$1"))"
	fi
}
# kv_gates LISTED DISABLED: developerConfiguration.featureGates / disabledFeatureGates (1.9+;
# older versions prune the second)
kv_gates() {
	$K patch kubevirt kubevirt -n kubevirt --type=merge \
		-p "{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"featureGates\":$1,\"disabledFeatureGates\":${2:-[]}}}}}" >/dev/null
}
kv_version() {
	$K patch kubevirt kubevirt -n kubevirt --subresource=status --type=merge \
		-p "{\"status\":{\"observedKubeVirtVersion\":\"$1\"}}" >/dev/null 2>&1 ||
		$K patch kubevirt kubevirt -n kubevirt --type=merge \
			-p "{\"status\":{\"observedKubeVirtVersion\":\"$1\"}}" >/dev/null
}
# wait for the cloner's resync (2 s) to have read the CR: its log says what it found
# (only lines logged after the last kv_mark count)
kv_mark() { KV_FROM=$(($(wc -l <"$CL_LOG") + 1)); }
wait_kv() { wait_for 15 bash -c "tail -n +$KV_FROM '$CL_LOG' | grep -q '$1'" || diag "cloner log does not mention '$1'"; }

# The version the simulator plays (a simulator that knows versions: SIM_KUBEVIRT_VERSION).
V0=$($K get kubevirt kubevirt -n kubevirt -o jsonpath='{.status.observedKubeVirtVersion}')
diag "simulated KubeVirt: $V0"
# 1. Without the Snapshot gate: not listed (1.5-1.8), disabled (1.9: Beta is on by default).
kv_mark
case $V0 in
v1.[5-8].*) kv_gates '["LiveMigration"]' ;;
*) kv_gates '["LiveMigration"]' '["Snapshot"]' ;;
esac
wait_kv "Snapshot gate off"
wukong_clone nogate vm src-vm
expect nogate SnapshotGateDisabled
check "the reason names the gate and where to change it" bash -c \
	"topic wukong.status | grep '\"nogate\"' | grep -q 'feature gate \\\\\"Snapshot\\\\\" is \(not enabled\|disabled\).*\(featureGates\|disabledFeatureGates\)'"
check "nothing created: no snapshot, no clone" bash -c "[ -z \"\$($K get vmsnapshot,vmclone -o name 2>/dev/null)\" ]"
REQ='{"requestId":"kv-nogate","cluster":"local","namespace":"default","source":{"type":"vm","name":"src-vm"},"targets":[{"name":"k1"}]}'
submit_clone local/default/src-vm "$REQ" >/dev/null
wait_for 20 bash -c "kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep kv-nogate | grep -q SnapshotGateDisabled"
check "Kafka submission dead-lettered with SnapshotGateDisabled" bash -c \
	"kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep kv-nogate | grep -q 'x-dlt-reason=SnapshotGateDisabled'"
wait_for 10 bash -c "topic wukong.audit | grep kv-nogate | grep -q request-refused"
check "refusal audited (clone.request-refused)" bash -c "topic wukong.audit | grep kv-nogate | grep -q SnapshotGateDisabled"
check "no Wukong created for the refused submission" bash -c "! $K get wukong k1 >/dev/null 2>&1"

# 2. KubeVirt 1.5 with the gate: a disk selection goes per volume (no VirtualMachineClone, so
# 1.5's missing spec.patches does not matter).
kv_mark
kv_gates '["Snapshot","LiveMigration"]'
kv_version v1.5.0
wait_kv "KubeVirt v1.5.0: Snapshot gate on"
wukong_clone sel15 vm src-vm "    disks: [system]"
if wait_clone 60 sel15 Succeeded; then ok "sel15: a selection on 1.5 Succeeded"; else not_ok "sel15: Succeeded on 1.5 (last: $(last_clone sel15))"; fi
check "sel15: per volume, only the system disk" bash -c \
	"topic wukong.status | grep '\"sel15\"' | grep '\"source\":\"wukong-cloner\"' | tail -1 | grep -q '\"method\":\"VolumeSnapshots\"' &&
	 [ \"\$($K get vm sel15-vm -o jsonpath='{.spec.template.spec.domain.devices.disks[*].name}')\" = system ]"

# 3. Back to the simulated version: a selection naming no disk of the source, or dropping the
# boot disk (a user error on any version, reported before the version's limits).
kv_mark
kv_version "$V0"
wait_kv "KubeVirt $V0"
wukong_clone nosuch vm src-vm "    disks: [nosuch]"
expect nosuch InvalidDiskSelection
check "message lists the source's disks" bash -c "topic wukong.status | grep '\"nosuch\"' | grep -q \"'nosuch' is not a disk of the source VM (its disks: system data)\""
wukong_clone noboot vm src-vm "    disks: [data]"
expect noboot InvalidDiskSelection
check "message names the boot disk" bash -c "topic wukong.status | grep '\"noboot\"' | grep -q \"drops the boot disk 'system'\""
REQ='{"requestId":"kv-nosuch","cluster":"local","namespace":"default","source":{"type":"vm","name":"src-vm"},"targets":[{"name":"k2"}],"disks":["nosuch"]}'
submit_clone local/default/src-vm "$REQ" >/dev/null
wait_for 20 bash -c "kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep -q kv-nosuch"
check "Kafka submission with --disks nosuch dead-lettered InvalidDiskSelection" bash -c \
	"kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep kv-nosuch | grep -q 'x-dlt-reason=InvalidDiskSelection'"
check "no Wukong k2" bash -c "! $K get wukong k2 >/dev/null 2>&1"
check "still nothing of ours: no snapshot, no clone, no target VM" bash -c \
	"[ -z \"\$($K get vmsnapshot,vmclone -o name 2>/dev/null)\" ] && ! $K get vm nosuch-vm noboot-vm nogate-vm >/dev/null 2>&1"

# 5. Request expiry (issue 16 item 14): sent 20 minutes ago, or past its own expiresAt.
old=$(date -u -d '-20 min' +%Y-%m-%dT%H:%M:%SZ)
printf '%s\n' '{"requestId":"kv-old","cluster":"local","namespace":"default","source":{"type":"vm","name":"src-vm"},"targets":[{"name":"k3"}]}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k local/default/src-vm -H ce_specversion=1.0 \
		-H ce_id=kv-old-1 -H ce_source=/tenants/test -H "ce_time=$old" \
		-H ce_type=dev.novasphere.wukong.request.clone.v1 -H content-type=application/json
past=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
submit_clone local/default/src-vm "{\"requestId\":\"kv-own\",\"cluster\":\"local\",\"namespace\":\"default\",\"source\":{\"type\":\"vm\",\"name\":\"src-vm\"},\"targets\":[{\"name\":\"k4\"}],\"expiresAt\":\"$past\"}" >/dev/null
wait_for 20 bash -c "kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep -q kv-own"
check "clone sent 20 min ago: dead-lettered Expired (maximum age)" bash -c \
	"kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep kv-old | grep 'x-dlt-reason=Expired' | grep -q 'maximum age 600s'"
check "clone past its own expiresAt: dead-lettered Expired" bash -c \
	"kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep kv-own | grep 'x-dlt-reason=Expired' | grep -q 'its expiresAt'"
wait_for 10 bash -c "topic wukong.audit | grep kv-own | grep -q Expired"
check "both audited (clone.request-refused, Expired)" bash -c "topic wukong.audit | grep -E 'kv-old|kv-own' | grep -c Expired | grep -q 2"
check "no Wukong k3 or k4" bash -c "! $K get wukong k3 >/dev/null 2>&1 && ! $K get wukong k4 >/dev/null 2>&1"

# 4. A valid selection works on every version (per volume).
wukong_clone good vm src-vm "    disks: [system]"
if wait_clone 90 good Succeeded; then ok "good: selective clone Succeeded"; else not_ok "good: Succeeded (last: $(last_clone good))"; fi
check "good-vm has only the system disk" [ "$($K get vm good-vm -o jsonpath='{.spec.template.spec.domain.devices.disks[*].name}')" = system ]
finish
