#!/usr/bin/env bash
# 0081-cold-migration.sh - cold migration (seed 001) with kubectl as the user: a VM on node-local
# (ReadWriteOnce) storage cannot live-migrate; with spec.migration.cold: true it is stopped, pinned
# to the target, started there, verified, and its own placement rules are restored; the status
# says mode Cold and how long the VM was down (message and migrationStatus.downtimeSeconds, on the
# Wukong too); no VMIM. Without cold it is Rejected as before. A cold move to a target that a live
# move could not use either (no room for the VM, not matching the VM's nodeSelector or the
# migrationPolicy's targetNodeSelector) is Rejected / ColdMigrationTargetUnusable before the VM is
# stopped: it keeps running where it is, untouched; a cold move already heading to a node counts
# against its room. A VM on spec.running moves (running cleared with the stop); a runStrategy
# Manual VM is refused (it would stay stopped).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 2
storageClasses:
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi, unschedulable: true}
  - {name: node-c, cpu: 16, memory: 4Gi, unschedulable: true}
  - {name: node-d, cpu: 16, memory: 32Gi, unschedulable: true}
vms:
  - {name: db-1, cpu: 1, memory: 1Gi, nodeSelector: {tier: any}, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-2, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-3, cpu: 1, memory: 8Gi, nodeSelector: {tier: any}, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-4, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-5, cpu: 1, memory: 2Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-6, cpu: 1, memory: 2Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
YAML
mig_start
mig_start_migrator
$K label node node-a node-b node-c tier=any --overwrite >/dev/null
for vm in db-1 db-2 db-3 db-4 db-5 db-6; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b node-c node-d >/dev/null

# Without cold: rejected with KubeVirt's reason.
$K patch wukong -n default db-2 --type merge -p '{"spec":{"migration":{"targetNode":"node-b"}}}' >/dev/null
if wait_phase 30 db-2 Rejected; then ok "db-2 without cold: Rejected"; else not_ok "db-2 Rejected ($(last_phase db-2))"; fi
check "... DisksNotLiveMigratable" [ "$(last_reason db-2)" = DisksNotLiveMigratable ]

# Cold moves to unusable targets: refused before the stop, the VM keeps running untouched.
vm_view() { $K get vm -n default "$1" -o json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps([d["spec"], d["metadata"].get("labels"), d["metadata"].get("annotations")], sort_keys=True))'; }
vmi_uid() { $K get vmi -n default "$1" -o jsonpath='{.metadata.uid}' 2>/dev/null; }
for vm in db-3 db-4 db-6; do
	vm_view $vm-vm >"$T/$vm.before"
	vmi_uid $vm-vm >"$T/$vm.uid"
done
untouched() { # VM: still running on node-a as the same VMI, the VM not patched
	check "$1 keeps running on node-a (same VMI)" bash -c \
		"[ \"\$($K get vmi -n default $1-vm -o jsonpath='{.status.phase}/{.status.nodeName}/{.metadata.uid}')\" = \"Running/node-a/$(cat "$T/$1.uid")\" ]"
	vm_view $1-vm >"$T/$1.after"
	check "... its VM not patched (spec, labels, annotations)" cmp -s "$T/$1.before" "$T/$1.after"
}
# No room: node-c has 3.5Gi allocatable, db-3's launcher pod needs 8Gi + overhead.
$K patch wukong -n default db-3 --type merge -p '{"spec":{"migration":{"targetNode":"node-c","cold":true}}}' >/dev/null
if wait_phase 30 db-3 Rejected; then ok "db-3 cold to a node without room: Rejected"; else not_ok "db-3 Rejected ($(last_phase db-3))"; fi
check "... ColdMigrationTargetUnusable" [ "$(last_reason db-3)" = ColdMigrationTargetUnusable ]
check "... the message says what the node lacks" bash -c \
	"statuses db-3 | tail -1 | grep -q \"node 'node-c' has [0-9.]*[KMG]i free memory, the VM needs 8.[0-9]Gi\""
untouched db-3
# The VM's own nodeSelector (tier=any): node-d does not carry it.
$K patch wukong -n default db-3 --type merge -p '{"spec":{"migration":{"targetNode":"node-d","cold":true}}}' >/dev/null
wait_for 30 bash -c "statuses db-3 | tail -1 | grep -q \"node-d' does not match the VM's nodeSelector 'tier=any'\"" &&
	ok "db-3 cold to a node outside its nodeSelector: refused, message names the selector" ||
	not_ok "db-3 nodeSelector refusal ($(statuses db-3 | tail -1))"
check "... Rejected / ColdMigrationTargetUnusable" [ "$(last_phase db-3)/$(last_reason db-3)" = Rejected/ColdMigrationTargetUnusable ]
untouched db-3
# The policy's targetNodeSelector (the policy allows cold moves): node-b has no zone=z1.
$K patch wukong -n default db-4 --type merge -p '{"spec":{"migrationPolicy":{"enabled":true,"allowColdMigration":true,"targetNodeSelector":{"matchLabels":{"zone":"z1"}}},"migration":{"targetNode":"node-b"}}}' >/dev/null
if wait_phase 30 db-4 Rejected; then ok "db-4 cold to a node outside targetNodeSelector: Rejected"; else not_ok "db-4 Rejected ($(last_phase db-4))"; fi
check "... ColdMigrationTargetUnusable" [ "$(last_reason db-4)" = ColdMigrationTargetUnusable ]
check "... the message names targetNodeSelector" bash -c \
	"statuses db-4 | tail -1 | grep -q \"node 'node-b' does not satisfy the migrationPolicy's targetNodeSelector 'zone=z1'\""
untouched db-4
# A cold move heading to a node takes its room while the VM is down (no VMI there to count):
# db-5 (2Gi) is held stopping on node-a by a finalizer; db-6 (2Gi) to the same node is refused.
$K patch vmi -n default db-5-vm --type merge \
	-p '{"metadata":{"finalizers":["kubevirt.io/virtualMachineControllerFinalize","test.novasphere.dev/hold"]}}' >/dev/null
$K patch wukong -n default db-5 --type merge -p '{"spec":{"migration":{"targetNode":"node-c","cold":true}}}' >/dev/null
wait_for 30 bash -c "[ -n \"\$($K get vmi -n default db-5-vm -o jsonpath='{.metadata.deletionTimestamp}')\" ]" ||
	not_ok "db-5 stopping"
$K patch wukong -n default db-6 --type merge -p '{"spec":{"migration":{"targetNode":"node-c","cold":true}}}' >/dev/null
if wait_phase 30 db-6 Rejected; then ok "db-6 cold to a node a stopping cold move is heading to: Rejected"; else not_ok "db-6 Rejected ($(last_phase db-6))"; fi
# The launcher pods' requests (2Gi + KubeVirt's overhead + the console logger, ~2.3Gi each):
# 3.5Gi - 2.3Gi leaves 1.2Gi.
check "... db-5's pod counted (1.2Gi free, db-6 needs 2.3Gi)" bash -c \
	"statuses db-6 | tail -1 | grep -q \"node 'node-c' has 1.2Gi free memory, the VM needs 2.3Gi\""
untouched db-6
$K patch vmi -n default db-5-vm --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
if wait_phase 60 db-5 Succeeded; then ok "db-5 cold move then Succeeded"; else not_ok "db-5 Succeeded ($(last_phase db-5))"; fi
check "... db-5 runs on node-c" [ "$(vmi_node db-5-vm)" = node-c ]
topic wukong.audit >"$T/audit.jsonl"
check "refusals audited (migration.cold, rejected)" bash -c \
	"[ \"\$(grep '\"action\":\"migration.cold\"' '$T/audit.jsonl' | grep -c '\"outcome\":\"rejected\"')\" = 4 ]"

$K patch wukong -n default db-1 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null
if wait_phase 90 db-1 Succeeded; then ok "db-1 cold migration Succeeded"; else not_ok "db-1 cold Succeeded ($(last_phase db-1))"; fi
check "db-1 runs on node-b" [ "$(vmi_node db-1-vm)" = node-b ]
check "... Running" [ "$($K get vmi -n default db-1-vm -o jsonpath='{.status.phase}')" = Running ]
topic wukong.status | grep '"name":"db-1"' | grep '"source":"wukong-migrator"' | tail -1 >"$T/last.json"
check "status mode Cold" grep -q '"mode":"Cold"' "$T/last.json"
check "status says how long the VM was down" grep -q 'down for [0-9]* s' "$T/last.json"
check "status carries downtimeSeconds (a number > 0)" /usr/bin/python3 -c '
import json, sys
ms = json.load(open(sys.argv[1]))["status"]["migrationStatus"]
d = ms["downtimeSeconds"]
assert isinstance(d, (int, float)) and not isinstance(d, bool) and 0 < d < 300, d' "$T/last.json"
topic wukong.status | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
check "status updates valid (schema)" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
check "no downtimeSeconds before the VM runs on the target" bash -c \
	"! grep '\"name\":\"db-1\"' '$T/status.jsonl' | grep -v '\"phase\":\"Succeeded\"' | grep -q '\"downtimeSeconds\":[0-9]'"
if [ "$HAVE_STATUS" = 1 ]; then
	wait_for 20 bash -c "[ -n \"\$($K get wukong -n default db-1 -o jsonpath='{.status.migrationStatus.downtimeSeconds}')\" ]"
	check "Wukong status.migrationStatus.downtimeSeconds written (CRD accepts it)" \
		[ "$($K get wukong -n default db-1 -o jsonpath='{.status.migrationStatus.downtimeSeconds}')" = \
		"$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["migrationStatus"]["downtimeSeconds"])' "$T/last.json")" ]
fi
check "placement rules restored (own nodeSelector kept, hostname pin gone)" bash -c \
	"[ \"\$($K get vm -n default db-1-vm -o jsonpath='{.spec.template.spec.nodeSelector}')\" = '{\"tier\":\"any\"}' ]"
check "run strategy back to Always" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.runStrategy}')" = Always ]
check "our marks removed from the VM" bash -c "! $K get vm -n default db-1-vm -o yaml | grep -q cold-migration"
check "no VMIM" [ -z "$(our_vmims)" ]
check "Events on db-1: ColdMigrationStopping, ColdMigrationStarting, ColdMigrationSucceeded" bash -c \
	"e=\$(wukong_events db-1); for r in ColdMigrationStopping ColdMigrationStarting ColdMigrationSucceeded; do grep -qx \"Normal \$r\" <<<\"\$e\" || exit 1; done"
check "Event on db-3: ColdMigrationTargetUnusable (Warning)" bash -c "wukong_events db-3 | grep -qx 'Warning ColdMigrationTargetUnusable'"
# Hostile values: refused by the topic's schema and by the CRD (the API server's 422).
for bad in -1 1e10 '"12"' true; do
	printf '{"cluster":"local","namespace":"default","name":"db-1","source":"x","seq":1,"status":{"migrationStatus":{"downtimeSeconds":%s}}}\n' "$bad" >"$T/bad.json"
	check "schema refuses downtimeSeconds $bad" bash -c "! '$ROOT/tests/schema-validate' '$ROOT/schemas/status-update.v1.json' '$T/bad.json' >/dev/null 2>&1"
	check "CRD refuses downtimeSeconds $bad" bash -c "! $K patch wukong -n default db-1 --subresource=status --type merge -p '{\"status\":{\"migrationStatus\":{\"downtimeSeconds\":$bad}}}' >'$T/crd.out' 2>&1 && grep -q Invalid '$T/crd.out'"
done
check "... while a valid one is accepted (control)" $K patch wukong -n default db-1 --subresource=status --type merge \
	-p '{"status":{"migrationStatus":{"downtimeSeconds":4.5}}}'
topic wukong.audit >"$T/audit.jsonl"
check "cold steps audited" bash -c "grep '\"action\":\"migration.cold\"' '$T/audit.jsonl' | grep -v '\"outcome\":\"rejected\"' | grep -c . | grep -q '^[3-9]$'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"

# A VM on the deprecated spec.running: the stop clears it (KubeVirt's webhook refuses running and
# runStrategy together: "Running and RunStrategy are mutually exclusive"), the move works and
# the VM comes back as runStrategy Always (issue 16 item 1).
$K patch vm -n default db-2-vm --type merge -p '{"spec":{"runStrategy":null,"running":true}}' >/dev/null
check "db-2-vm uses spec.running" [ "$($K get vm -n default db-2-vm -o jsonpath='{.spec.running}/{.spec.runStrategy}')" = "true/" ]
$K patch wukong -n default db-2 --type merge -p '{"spec":{"migration":{"targetNode":"node-d","cold":true}}}' >/dev/null
if wait_phase 90 db-2 Succeeded; then ok "db-2 (spec.running) cold migration Succeeded"; else not_ok "db-2 cold Succeeded ($(last_phase db-2): $(statuses db-2 | tail -1))"; fi
check "... db-2 runs on node-d" [ "$(vmi_node db-2-vm)" = node-d ]
check "... runStrategy Always, running gone" [ "$($K get vm -n default db-2-vm -o jsonpath='{.spec.running}/{.spec.runStrategy}')" = "/Always" ]
# A Manual VM would stay stopped after the move: refused before anything is touched.
$K patch vm -n default db-6-vm --type merge -p '{"spec":{"runStrategy":"Manual"}}' >/dev/null
vm_view db-6-vm >"$T/db-6.before"
$K patch wukong -n default db-6 --type merge -p '{"spec":{"migration":{"targetNode":"node-d","cold":true}}}' >/dev/null
if wait_phase 30 db-6 Rejected && [ "$(last_reason db-6)" = ColdMigrationManualRunStrategy ]; then
	ok "db-6 (runStrategy Manual) cold move refused: ColdMigrationManualRunStrategy"
else
	not_ok "db-6 Manual refused ($(last_phase db-6)/$(last_reason db-6))"
fi
check "... the message says why (virtctl start)" bash -c "statuses db-6 | tail -1 | grep -q 'virtctl start'"
untouched db-6
check "migrator still running" kill -0 "$MIG_PID"
finish
