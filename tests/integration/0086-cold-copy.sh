#!/usr/bin/env bash
# 0086-cold-copy.sh - a cold migration carries node-local data with the VM (seed 001, issue 18):
# db-1's data disk is on local-path (rancher.io/local-path: WaitForFirstConsumer, a
# PersistentVolume pinned to its node). Moved cold node-a -> node-b, the migrator stops it, clones
# the disk with CDI into a DataVolume of the same class, switches the VM to it, pins it to node-b
# and starts it; the clone binds on node-b (the VM is its first consumer) and copies; the VM runs
# there on the copy; only then the old claim (and its volume on node-a) is deleted, and the
# status names both. The migrator is killed with SIGKILL inside each step (the clone's create,
# the switch/pin patch, the old claim's delete; the simulator delays each request 2 s): in the end
# one copy, no second one, the VM stopped once and started once on node-b. db-2's data disk is on
# statically provisioned local volumes (kubernetes.io/no-provisioner): no copy can be placed, the
# move is refused before the stop with a reason saying what would be needed. db-3 keeps its old
# volume on request (vm.novasphere.dev/keep-source-volumes).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-path, accessMode: RWO, snapshot: false, provisioner: rancher.io/local-path, local: true, copyRate: 1Gi}
  - {name: local-static, accessMode: RWO, snapshot: false, provisioner: kubernetes.io/no-provisioner, local: true}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi, unschedulable: true}
vms:
  - {name: db-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}, {name: data, size: 1Gi, storageClass: local-path}]}
  - {name: db-2, cpu: 1, memory: 1Gi, disks: [{name: data, size: 4Gi, storageClass: local-static}]}
  - {name: db-3, cpu: 1, memory: 1Gi, disks: [{name: data, size: 1Gi, storageClass: local-path}]}
YAML
mig_start
mig_start_migrator
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X "$1" "$SERVER$2" -d "${3:-{\}}"; }
for vm in db-1 db-2 db-3; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b >/dev/null
pv_node() { # CLAIM: the node its PersistentVolume is pinned to
	local pv
	pv=$($K get pvc -n default "$1" -o jsonpath='{.spec.volumeName}' 2>/dev/null)
	[ -n "$pv" ] && $K get pv "$pv" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}'
}
OLD_PV=$($K get pvc -n default db-1-data -o jsonpath='{.spec.volumeName}')
check "db-1's data is node-local on node-a" [ "$(pv_node db-1-data)" = node-a ]

# db-3 keeps its old volume on request; its move runs beside the others (and their kills).
$K annotate wukong -n default db-3 vm.novasphere.dev/keep-source-volumes=true >/dev/null
$K patch wukong -n default db-3 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null

# --- db-2: no way to copy ------------------------------------------------------------------
$K patch wukong -n default db-2 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null
if wait_phase 30 db-2 Rejected; then ok "db-2 (static local volume): Rejected"; else not_ok "db-2 Rejected ($(last_phase db-2))"; fi
check "... the reason says what a copy would need" bash -c \
	"statuses db-2 | tail -1 | grep -q 'no-provisioner' && statuses db-2 | tail -1 | grep -q 'dynamic provisioner'"
check "... db-2 keeps running on node-a" [ "$($K get vmi -n default db-2-vm -o jsonpath='{.status.phase}/{.status.nodeName}')" = Running/node-a ]
diag "$(statuses db-2 | tail -1)"

# --- db-1 under three kills -----------------------------------------------------------------
# Every VMI uid seen from now on (the watch is restarted when the API server ends it: a restart
# lists the VMI again, which adds no uid).
(while :; do
	kubectl --kubeconfig "$KC" --request-timeout=30s get vmi -n default db-1-vm -w --output-watch-events \
		-o jsonpath='{.type} {.object.metadata.uid} {.object.status.phase} {.object.status.nodeName}{"\n"}' 2>/dev/null
	sleep 0.2
done) >"$T/vmi-watch.txt" &
_pids+=("$!")
WATCH_PID=$!
wait_for 10 test -s "$T/vmi-watch.txt" || not_ok "vmi watch started"
cold_field() {
	$K get vm -n default db-1-vm -o json | /usr/bin/python3 -c '
import json, sys
a = (json.load(sys.stdin)["metadata"].get("annotations") or {}).get("vm.novasphere.dev/cold-migration")
print("" if a is None else json.loads(a).get(sys.argv[1], ""))' "$1"
}
copies() { $K get dv -n default -o name 2>/dev/null | grep -c 'db-1-data-mv-'; }
vmi_gone() { ! $K get vmi -n default db-1-vm >/dev/null 2>&1; }
export -f cold_field copies vmi_gone
export K

simctl POST /sim/faults '{"verb":"create","resource":"datavolumes","latencyMs":2000}' >/dev/null || not_ok "fault injected"
$K patch wukong -n default db-1 --type merge -p '{"spec":{"migration":{"targetNode":"node-b","cold":true}}}' >/dev/null
if wait_for 40 vmi_gone; then
	sleep 1 # the next cold tick is inside its 2 s create of the clone
	kill -9 "$MIG_PID"
	ok "kill -9 while creating the clone"
else
	not_ok "db-1 stopped"
fi
check "... not switched yet" [ "$(cold_field stoppedMs)" = 0 ]
simctl DELETE /sim/faults >/dev/null
simctl POST /sim/faults '{"verb":"patch","resource":"virtualmachines","latencyMs":2000}' >/dev/null || not_ok "fault injected"
mig_start_migrator
if wait_for 30 bash -c '[ "$(copies)" -ge 1 ]'; then
	sleep 1 # inside the 2 s switch/pin patch
	kill -9 "$MIG_PID"
	ok "kill -9 inside the switch/pin patch"
else
	not_ok "clone created"
fi
check "... one clone" [ "$(copies)" -eq 1 ]
simctl DELETE /sim/faults >/dev/null
simctl POST /sim/faults '{"verb":"delete","resource":"persistentvolumeclaims","latencyMs":2000}' >/dev/null || not_ok "fault injected"
mig_start_migrator
if wait_for 60 bash -c '[ "$(cold_field result)" = Succeeded ]'; then
	sleep 1 # inside the 2 s delete of the old claim
	kill -9 "$MIG_PID"
	ok "kill -9 while deleting the old claim"
else
	not_ok "db-1 verified on node-b ($(cold_field result))"
fi
simctl DELETE /sim/faults >/dev/null
mig_start_migrator
if wait_phase 60 db-1 Succeeded; then ok "db-1 cold migration with copy Succeeded after three kills"; else not_ok "db-1 Succeeded ($(last_phase db-1))"; fi
NEW=$($K get vm -n default db-1-vm -o jsonpath='{.spec.template.spec.volumes[?(@.name=="data")].dataVolume.name}')
diag "copy: $NEW"
check "the VM's data volume is the copy (a DataVolume db-1-data-mv-...)" bash -c "[[ '$NEW' == db-1-data-mv-* ]]"
check "exactly one copy ever made" [ "$(copies)" -eq 1 ]
check "the copy is bound on node-b" [ "$(pv_node "$NEW")" = node-b ]
check "the copy was cloned from the old claim" [ "$($K get dv -n default "$NEW" -o jsonpath='{.spec.source.pvc.name}/{.status.phase}')" = db-1-data/Succeeded ]
check "the VMI runs on node-b on the copy" bash -c \
	"[ \"\$($K get vmi -n default db-1-vm -o jsonpath='{.status.phase}/{.status.nodeName}/{.spec.volumes[?(@.name==\"data\")].dataVolume.name}')\" = 'Running/node-b/$NEW' ]"
check "the old claim is deleted" bash -c "! $K get pvc -n default db-1-data >/dev/null 2>&1"
check "... and its volume on node-a" bash -c "! $K get pv '$OLD_PV' >/dev/null 2>&1"
check "the shared system disk is untouched" [ "$($K get vm -n default db-1-vm -o jsonpath='{.spec.template.spec.volumes[?(@.name=="system")].persistentVolumeClaim.claimName}')" = db-1-system ]
check "marks gone" bash -c "! $K get vm -n default db-1-vm -o yaml | grep -q cold-migration"
LAST=$(statuses db-1 | tail -1)
diag "$LAST"
check "the status names the source node, the old claim (deleted) and the copy" bash -c \
	"grep -q \"from node 'node-a'\" <<<\"\$0\" && grep -q \"claim 'db-1-data' on node 'node-a' (deleted) to DataVolume '$NEW' on node 'node-b'\" <<<\"\$0\"" "$LAST"
check "db-1 verified on node-b (condition MigrationVerified True, volumes attached)" bash -c \
	"topic wukong.status | grep '\"name\":\"db-1\"' | grep '\"type\":\"MigrationVerified\"' | grep -q '\"status\":\"True\".*2 volume(s) attached'"
check "never Succeeded before the old claim was gone (one Succeeded, the last)" \
	[ "$(statuses db-1 | grep -c '^Succeeded')" -ge 1 ]
check "the final status records the source node" bash -c \
	"topic wukong.status | grep '\"name\":\"db-1\"' | grep 'ColdMigrationSucceeded' | tail -1 | grep -q '\"sourceNode\":\"node-a\"'"
check "never Rejected or Failed on the way" bash -c "! statuses db-1 | grep -qE '^(Rejected|Failed)'"
sleep 2
pkill -P "$WATCH_PID" 2>/dev/null # its kubectl (by parent id), then the loop
kill "$WATCH_PID" 2>/dev/null
awk '{print $2}' "$T/vmi-watch.txt" | sort -u >"$T/uids.txt"
check "two VMIs in all: stopped once, started once" [ "$(wc -l <"$T/uids.txt")" -eq 2 ]

# --- db-3: the old volume kept on request -----------------------------------------------------
if wait_phase 60 db-3 Succeeded; then ok "db-3 moved with its copy"; else not_ok "db-3 Succeeded ($(last_phase db-3))"; fi
check "... old claim kept (on node-a)" [ "$(pv_node db-3-data)" = node-a ]
check "... the status says kept" bash -c "statuses db-3 | tail -1 | grep -q '(kept)'"
check "no VMIM" [ -z "$(our_vmims)" ]
check "migrator still running" kill -0 "$MIG_PID"
finish
