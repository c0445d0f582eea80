#!/usr/bin/env bash
# 0083-cold-kill.sh - crash safety of a cold migration (seed 001): a VM on node-local storage is
# moved cold while the migrator is killed with SIGKILL at each step and restarted:
#   1. while stopping (a test finalizer holds the VMI in Terminating),
#   2. right after the pin/start patch (the new VMI is being scheduled on the target),
#   3. while verifying: the VMI runs on the target and the migrator is inside its restore patch
#      (the simulator delays VM patches 4 s), so the outcome lands on the VM but no final status.
# In the end: the VM runs on the target, was stopped once and started once (VMI uids from a
# watch), its own nodeSelector and runStrategy are back, our label/annotation are gone, the status
# is Succeeded with migrationStatus.downtimeSeconds (on the Wukong too), never Rejected/Failed on
# the way, and each cold step is audited once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 3
storageClasses:
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi, unschedulable: true}
vms:
  - {name: db-1, cpu: 1, memory: 1Gi, nodeSelector: {tier: any}, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
YAML
mig_start
mig_start_migrator
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X "$1" "$SERVER$2" -d "${3:-{\}}"; }
$K label node node-a node-b tier=any --overwrite >/dev/null
vmi_phase() { $K get vmi -n default db-1-vm -o jsonpath='{.status.phase}' 2>/dev/null; }
wait_for 30 bash -c "[ \"\$($K get vmi -n default db-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	not_ok "db-1-vm running"
$K uncordon node-b >/dev/null

# Every VMI event from now on: "TYPE uid phase node".
$K get vmi -n default -w --output-watch-events \
	-o jsonpath='{.type} {.object.metadata.uid} {.object.status.phase} {.object.status.nodeName}{"\n"}' \
	>"$T/vmi-watch.txt" 2>"$T/vmi-watch.err" &
WATCH_PID=$!
_pids+=("$WATCH_PID")
wait_for 10 test -s "$T/vmi-watch.txt" || not_ok "vmi watch started"
UID1=$($K get vmi -n default db-1-vm -o jsonpath='{.metadata.uid}')

# The cold-migration state the migrator keeps on the VM: one field of it, "" if unmarked.
cold_field() {
	$K get vm -n default db-1-vm -o json | /usr/bin/python3 -c '
import json, sys
a = (json.load(sys.stdin)["metadata"].get("annotations") or {}).get("vm.novasphere.dev/cold-migration")
print("" if a is None else json.loads(a).get(sys.argv[1], ""))' "$1"
}
marked() { [ -n "$($K get vm -n default db-1-vm -o jsonpath='{.metadata.labels.vm\.novasphere\.dev/cold-migration-request}')" ]; }
terminating() { [ -n "$($K get vmi -n default db-1-vm -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)" ]; }
pinned() { [ "$(cold_field stoppedMs)" -gt 0 ] 2>/dev/null; }
running_on_b() { [ "$(vmi_phase)" = Running ] && [ "$(vmi_node db-1-vm)" = node-b ]; }
migrator_said() { topic wukong.status | grep '"name":"db-1"' | grep '"source":"wukong-migrator"' | grep -q "$1"; }
export -f cold_field marked terminating pinned running_on_b vmi_phase vmi_node migrator_said
export K

# --- 1: killed while stopping -------------------------------------------------------------
$K patch vmi -n default db-1-vm --type merge \
	-p '{"metadata":{"finalizers":["kubevirt.io/virtualMachineControllerFinalize","test.novasphere.dev/hold"]}}' >/dev/null
$K patch wukong -n default db-1 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null
if wait_for 30 bash -c 'marked && terminating'; then
	kill -9 "$MIG_PID"
	ok "kill -9 while stopping (VM marked and Halted, VMI Terminating)"
else
	not_ok "cold migration began ($(cold_field requestId))"
fi
HOLD_START=$(date +%s)
check "... not pinned yet" [ "$(cold_field stoppedMs)" = 0 ]
check "... runStrategy Halted" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.runStrategy}')" = Halted ]
mig_start_migrator
sleep 3 # two resyncs of the spec request and three cold ticks while the VMI is still there
check "restarted migrator waits for the VMI to go (not pinned, not rejected)" \
	bash -c '! pinned && terminating && ! migrator_said "\"phase\":\"Rejected\""'
$K patch vmi -n default db-1-vm --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
HOLD=$(($(date +%s) - HOLD_START))

# --- 2: killed right after the pin/start ----------------------------------------------------
if wait_for 30 pinned; then
	kill -9 "$MIG_PID"
	ok "kill -9 after the pin/start patch"
else
	not_ok "pinned after the VMI went"
fi
check "... VM started again with its own runStrategy" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.runStrategy}')" = Always ]
check "... pinned to node-b" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.template.spec.nodeSelector.kubernetes\.io/hostname}')" = node-b ]
diag "VMI at kill 2: $(vmi_phase) on '$(vmi_node db-1-vm)'"
# The next migrator's restore patch will take 4 s in the API server: kill 3 lands inside it.
simctl POST /sim/faults '{"verb":"patch","resource":"virtualmachines","latencyMs":4000}' >/dev/null ||
	not_ok "fault injected"
mig_start_migrator

# --- 3: killed while verifying (inside the restore) ------------------------------------------
if wait_for 60 running_on_b; then
	sleep 2 # the tick (every second) has seen it running and sent the delayed restore patch
	kill -9 "$MIG_PID"
	ok "kill -9 while verifying (VMI running on node-b, restore patch in flight)"
else
	not_ok "VMI running on node-b ($(vmi_phase) on '$(vmi_node db-1-vm)')"
fi
check "... no final status yet" bash -c '! migrator_said "\"phase\":\"Succeeded\""'
if wait_for 20 bash -c '[ "$(cold_field result)" = Succeeded ] && marked'; then
	ok "... the outcome reached the VM with the restore; the marks are still on"
else
	not_ok "outcome on the VM (result '$(cold_field result)')"
fi
simctl DELETE /sim/faults >/dev/null || not_ok "faults removed"
mig_start_migrator

# --- the end ----------------------------------------------------------------------------------
if wait_phase 60 db-1 Succeeded; then ok "cold migration Succeeded after three kills"; else not_ok "Succeeded ($(last_phase db-1))"; fi
wait_for 20 bash -c '! marked' || true
check "runs on node-b" running_on_b
check "own nodeSelector back (tier only, pin gone)" \
	[ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.template.spec.nodeSelector}')" = '{"tier":"any"}' ]
check "own runStrategy back (Always)" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.runStrategy}')" = Always ]
check "our label and annotation gone" bash -c "! $K get vm -n default db-1-vm -o yaml | grep -q cold-migration"
check "no VMIM" [ -z "$(our_vmims)" ]
# The spec request keeps being delivered (resync every 2 s, and the restarted migrator re-reads
# uncommitted events with an old Wukong snapshot): none of them may move the VM again.
sleep 6
kill "$WATCH_PID" 2>/dev/null
awk '{print $2}' "$T/vmi-watch.txt" | sort -u >"$T/uids.txt"
check "two VMIs in all: stopped once, started once ($(wc -l <"$T/uids.txt") uids)" [ "$(wc -l <"$T/uids.txt")" -eq 2 ]
check "... the first one deleted once" [ "$(grep -c "^DELETED $UID1 " "$T/vmi-watch.txt")" -eq 1 ]
check "... the second one added once, never deleted" bash -c \
	"[ \$(grep -v ' $UID1 ' '$T/vmi-watch.txt' | grep -c '^ADDED ') -eq 1 ] && ! grep -v ' $UID1 ' '$T/vmi-watch.txt' | grep -q '^DELETED '"
check "... and it ran on node-b only" bash -c "! grep -v ' $UID1 ' '$T/vmi-watch.txt' | grep ' Running ' | grep -vq ' node-b$'"

topic wukong.status | grep '"name":"db-1"' | grep '"source":"wukong-migrator"' >"$T/status.jsonl"
tail -1 "$T/status.jsonl" >"$T/last.json"
check "status updates valid (schema)" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
check "never Rejected or Failed on the way" bash -c "! grep -qE '\"phase\":\"(Rejected|Failed)\"' '$T/status.jsonl'"
check "final status: Succeeded, mode Cold" bash -c "grep -q '\"phase\":\"Succeeded\"' '$T/last.json' && grep -q '\"mode\":\"Cold\"' '$T/last.json'"
DOWN=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["migrationStatus"]["downtimeSeconds"])' "$T/last.json" 2>/dev/null)
diag "downtimeSeconds $DOWN (VMI held in Terminating for ${HOLD}s)"
check "downtimeSeconds covers the stop it was held in (>= ${HOLD}s - 1, < 120)" /usr/bin/python3 -c '
import sys
d, hold = float(sys.argv[1]), int(sys.argv[2])
assert hold - 1 <= d < 120, (d, hold)' "$DOWN" "$HOLD"
if [ "$HAVE_STATUS" = 1 ]; then
	wait_for 20 bash -c "[ \"\$($K get wukong -n default db-1 -o jsonpath='{.status.migrationStatus.phase}')\" = Succeeded ]"
	check "Wukong status Succeeded with the same downtimeSeconds" bash -c \
		"[ \"\$($K get wukong -n default db-1 -o jsonpath='{.status.migrationStatus.phase} {.status.migrationStatus.downtimeSeconds}')\" = 'Succeeded $DOWN' ]"
fi
topic wukong.audit >"$T/audit.jsonl"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
# A step said again after a restart reuses its CloudEvent id (the audit log keeps one per id):
# "ce_id reason" per cold record, then each step must have exactly one id.
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.audit -o beginning -e -q -f '%h\t%s\n' 2>/dev/null |
	grep '"action":"migration.cold"' |
	sed -n 's/.*ce_id=\([^,\t]*\).*"reason":"\([A-Za-z]*\)".*/\1 \2/p' | sort -u >"$T/cold-audit.txt"
diag "cold audit records (distinct ids): $(awk '{print $2}' "$T/cold-audit.txt" | sort | uniq -c | tr '\n' ' ')"
diag "cold audit records (in the topic): $(grep -c '"action":"migration.cold"' "$T/audit.jsonl")"
for r in ColdMigrationStopping ColdMigrationStarting ColdMigrationSucceeded; do
	check "audit: $r once (one id)" [ "$(grep -c " $r\$" "$T/cold-audit.txt")" -eq 1 ]
done
check "audit: no id reused for another step" [ "$(awk '{print $1}' "$T/cold-audit.txt" | sort | uniq -d | wc -l)" -eq 0 ]
check "no pre-flight rejection audited" bash -c "! grep '\"action\":\"migration.preflight\"' '$T/audit.jsonl' | grep -q '\"outcome\":\"rejected\"'"
check "migrator still running" kill -0 "$MIG_PID"
finish
