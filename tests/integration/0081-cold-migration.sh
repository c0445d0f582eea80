#!/usr/bin/env bash
# 0081-cold-migration.sh - cold migration (seed 001) with kubectl as the user: a VM on node-local
# (ReadWriteOnce) storage cannot live-migrate; with spec.migration.cold: true it is stopped, pinned
# to the target, started there, verified, and its own placement rules are restored; the status
# says mode Cold and how long the VM was down (message and migrationStatus.downtimeSeconds, on the
# Wukong too); no VMIM. Without cold it is Rejected as before.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 2
storageClasses:
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi, unschedulable: true}
vms:
  - {name: db-1, cpu: 1, memory: 1Gi, nodeSelector: {tier: any}, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: db-2, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
YAML
mig_start
mig_start_migrator
$K label node node-a node-b tier=any --overwrite >/dev/null
for vm in db-1 db-2; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b >/dev/null

# Without cold: rejected with KubeVirt's reason.
$K patch wukong -n default db-2 --type merge -p '{"spec":{"migration":{"targetNode":"node-b"}}}' >/dev/null
if wait_phase 30 db-2 Rejected; then ok "db-2 without cold: Rejected"; else not_ok "db-2 Rejected ($(last_phase db-2))"; fi
check "... DisksNotLiveMigratable" [ "$(last_reason db-2)" = DisksNotLiveMigratable ]

$K patch wukong -n default db-1 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null
if wait_phase 90 db-1 Succeeded; then ok "db-1 cold migration Succeeded"; else not_ok "db-1 cold Succeeded ($(last_phase db-1))"; fi
check "db-1 runs on node-b" [ "$(vmi_node db-1-vm)" = node-b ]
check "... Running" [ "$($K get vmi -n default db-1-vm -o jsonpath='{.status.phase}')" = Running ]
topic wukong.status | grep '"name":"db-1"' | tail -1 >"$T/last.json"
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
# Hostile values: refused by the topic's schema and by the CRD (the API server's 422).
for bad in -1 1e10 '"12"' true; do
	printf '{"cluster":"local","namespace":"default","name":"db-1","source":"x","seq":1,"status":{"migrationStatus":{"downtimeSeconds":%s}}}\n' "$bad" >"$T/bad.json"
	check "schema refuses downtimeSeconds $bad" bash -c "! '$ROOT/tests/schema-validate' '$ROOT/schemas/status-update.v1.json' '$T/bad.json' >/dev/null 2>&1"
	check "CRD refuses downtimeSeconds $bad" bash -c "! $K patch wukong -n default db-1 --subresource=status --type merge -p '{\"status\":{\"migrationStatus\":{\"downtimeSeconds\":$bad}}}' >'$T/crd.out' 2>&1 && grep -q Invalid '$T/crd.out'"
done
check "... while a valid one is accepted (control)" $K patch wukong -n default db-1 --subresource=status --type merge \
	-p '{"status":{"migrationStatus":{"downtimeSeconds":4.5}}}'
topic wukong.audit >"$T/audit.jsonl"
check "cold steps audited" bash -c "grep -c '\"action\":\"migration.cold\"' '$T/audit.jsonl' | grep -q '^[3-9]'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "migrator still running" kill -0 "$MIG_PID"
finish
