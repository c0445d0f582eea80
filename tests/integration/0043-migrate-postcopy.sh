#!/usr/bin/env bash
# 0043-migrate-postcopy.sh - a VM that dirties memory faster than the link copies it: with the
# cluster defaults (no post-copy) its migration fails with KubeVirt's completion timeout, surfaced
# on the status; asked again with allowPostCopy in spec.migration, the migrator realises the option
# through a MigrationPolicy selecting only that VMI, KubeVirt switches to post-copy, and the VM
# arrives. The policy is gone afterwards and the neighbour VM was never selected.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 11
linkBandwidth: 256Mi
migrations:
  completionTimeoutPerGiB: 5
  progressTimeout: 3600
  allowPostCopy: false
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 16, memory: 64Gi}
  - {name: node-b, cpu: 16, memory: 64Gi}
vms:
  - {name: hot, cpu: 2, memory: 2Gi, dirtyRate: 1Gi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: calm, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start --time-factor 4
mig_start_migrator

wait_for 30 bash -c "[ \"\$($K get vmi -n default hot-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	not_ok "hot-vm running"
SRC=$(vmi_node hot-vm)
TGT=node-a
[ "$SRC" = node-a ] && TGT=node-b

# Default settings: pre-copy never converges and the completion timeout aborts it.
$K patch wukong hot --type=merge -o name -p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\"}}}" >/dev/null
if wait_phase 120 hot Failed; then ok "default migration Failed"; else not_ok "default migration Failed ($(last_phase hot))"; fi
statuses hot | tail -1 >"$T/fail1"
diag "$(cat "$T/fail1")"
check "reason is KubeVirt's timeout" grep -Eq '^Failed\|(CompletionTimeout|ProgressTimeout)\|' "$T/fail1"
check "message carries KubeVirt's failureReason" grep -q "has been aborted" "$T/fail1"
check "VM still on $SRC" [ "$(vmi_node hot-vm)" = "$SRC" ]
check "no policy was needed" bash -c "[ -z \"\$($K get migrationpolicies -o name)\" ]"

# Per-VM post-copy.
$K patch wukong hot --type=merge -o name \
	-p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\",\"allowPostCopy\":true}}}" >/dev/null
wait_for 30 bash -c "[ -n \"\$($K get migrationpolicies -l vm.novasphere.dev/wukong=hot -o name)\" ]"
POL=$($K get migrationpolicies -l vm.novasphere.dev/wukong=hot -o jsonpath='{.items[0].metadata.name}')
check "MigrationPolicy with allowPostCopy created" \
	[ "$($K get migrationpolicy "$POL" -o jsonpath='{.spec.allowPostCopy}')" = true ]
check "policy selects hot-vm's labels and its namespace" bash -c \
	"$K get migrationpolicy $POL -o jsonpath='{.spec.selectors.virtualMachineInstanceSelector}' | grep -q 'vm.novasphere.dev/wukong\":\"hot' &&
	 $K get migrationpolicy $POL -o jsonpath='{.spec.selectors.namespaceSelector}' | grep -q 'kubernetes.io/metadata.name\":\"default'"
if wait_phase 150 hot Succeeded; then ok "post-copy migration Succeeded"; else not_ok "post-copy migration Succeeded ($(last_phase hot))"; fi
check "hot-vm now on $TGT" [ "$(vmi_node hot-vm)" = "$TGT" ]
check "status reported mode PostCopy" bash -c "statuses hot | grep -q 'PostCopy'"
VMIM=$($K get vmim -n default -l vm.novasphere.dev/wukong=hot -o json | /usr/bin/python3 -c '
import json,sys
items=[i for i in json.load(sys.stdin)["items"] if i["status"].get("phase")=="Succeeded"]
print(items[-1]["metadata"]["name"] if items else "")')
check "KubeVirt applied our policy (migrationPolicyName)" \
	[ "$($K get vmim -n default "$VMIM" -o jsonpath='{.status.migrationState.migrationPolicyName}')" = "$POL" ]
check "effective configuration allowed post-copy" \
	[ "$($K get vmim -n default "$VMIM" -o jsonpath='{.status.migrationState.migrationConfiguration.allowPostCopy}')" = true ]
wait_for 10 bash -c "! $K get migrationpolicy $POL >/dev/null 2>&1"
check "policy deleted after the migration" bash -c "! $K get migrationpolicy $POL >/dev/null 2>&1"
check "audit has policy-created and succeeded" bash -c \
	"topic wukong.audit | grep -q migration.policy-created && topic wukong.audit | grep '\"name\":\"hot\"' | grep -q migration.succeeded"
finish
