#!/usr/bin/env bash
# 0082-node-failure-steer.sh - nodeFailure recovery honours spec.migrationPolicy.targetNodeSelector.
# A policy allows only nodes labelled pool=recovery; the biggest node (node-b, where kube-scheduler
# would restart the VM) is not one. Part 1: node-a fails; while it is only NotReady the shared-
# storage VM's template is pinned to node-c and nothing is recovered; the migrator is killed -9;
# with the out-of-service taint KubeVirt restarts the VM, on node-c; the restarted migrator reports
# RecoveredOnHealthyNode and restores the template; the local-storage VM is reported; one VMI, one
# restart; a cold move of the marked local-1 is refused. Part 2: node-c fails with the VM's patches slowed down by the simulator, so KubeVirt
# restarts it (on node-b) before the pin lands: the migrator moves it live to node-d. Part 3:
# node-d fails and is fenced while the migrator is down; the restarted migrator follows the failure
# it missed and moves the VM to node-e. Factor 10.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 64, memory: 256Gi, unschedulable: true}
  - {name: node-c, cpu: 32, memory: 64Gi, unschedulable: true, labels: {pool: recovery}}
  - {name: node-d, cpu: 32, memory: 64Gi, unschedulable: true, labels: {pool: recovery}}
  - {name: node-e, cpu: 32, memory: 64Gi, unschedulable: true, labels: {pool: recovery}}
vms:
  - {name: shared-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: local-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  # Keeps node-d more allocated than node-b, so that an unsteered restart goes to node-b.
  - {name: filler-d, cpu: 8, memory: 24Gi, nodeSelector: {kubernetes.io/hostname: node-d}, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
mig_start --time-factor 10
mig_start_migrator
for vm in shared-1 local-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b node-c >/dev/null
POL='{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"nodeFailure"}],"targetNodeSelector":{"matchLabels":{"pool":"recovery"}}}}}'
$K patch wukong -n default shared-1 --type merge -p "$POL" >/dev/null
$K patch wukong -n default local-1 --type merge -p "$POL" >/dev/null
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --max-time 15 --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X "${3:-POST}" "$SERVER$1" -d "${2:-{\}}"; }
notready() { [ "$($K get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ]; }
conds() {
	topic wukong.status | /usr/bin/python3 -c '
import json, sys, signal
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("name") == sys.argv[1] and d.get("source") == "wukong-migrator":
        for c in d.get("conditions") or []:
            print("%s|%s|%s" % (c.get("type"), c.get("reason"), c.get("message")))' "$1"
}
pinned() { $K get vm -n default "${1:-shared-1-vm}" -o jsonpath='{.spec.template.spec.nodeSelector.kubernetes\.io/hostname}' 2>/dev/null; }
marked() { $K get vm -n default "$1" -o jsonpath='{.metadata.labels.vm\.novasphere\.dev/failure-recovery}' 2>/dev/null; }
runs_on() { [ "$($K get vmi -n default shared-1-vm -o jsonpath='{.status.nodeName} {.status.phase}' 2>/dev/null)" = "$1 Running" ]; }
vmis() { $K get vmi -A --no-headers | grep -c '^default *shared-1-vm '; }
# wait_t SECS CMD...: like wait_for, but bounded in wall time (conds reads a whole topic).
wait_t() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
# check_restored: shared-1's template has no pin left and the recovery mark is gone.
check_restored() {
	if wait_for 10 bash -c '[ -z "$(pinned)" ] && [ -z "$(marked shared-1-vm)" ]'; then
		ok "template restored, mark removed"
	else
		not_ok "template restored, mark removed (pin '$(pinned)', mark '$(marked shared-1-vm)')"
	fi
}
export -f notready conds pinned marked runs_on topic
export K

# ---- part 1: pinned while NotReady, restart steered while the migrator is down ----
simctl /sim/nodes/node-a/fail >/dev/null || not_ok "fail node-a"
wait_for 30 notready node-a && ok "node-a NotReady" || not_ok "node-a NotReady"
if wait_for 30 bash -c '[ "$(pinned)" = node-c ]'; then
	ok "while NotReady: shared-1's template pinned to node-c (pool=recovery, not the bigger node-b)"
else
	not_ok "shared-1 pinned to node-c (got '$(pinned)')"
fi
check "... and marked for recovery" [ -n "$(marked shared-1-vm)" ]
check "local-1 (local storage) not pinned" [ -z "$(pinned local-1-vm)" ]
# A cold move of a VM that recovery has marked is refused: the template may hold the recovery's
# pin, which the cold move would record and restore as the VM's own placement.
wait_for 20 bash -c '[ -n "$(marked local-1-vm)" ]' || not_ok "local-1 marked"
$K patch wukong -n default local-1 --type merge -p '{"spec":{"migration":{"targetNode":"node-c","cold":true}}}' >/dev/null
check "cold move of local-1 while recovery marks it: Rejected / FailureRecoveryInProgress" \
	wait_t 30 bash -c "statuses local-1 | grep -q '^Rejected|FailureRecoveryInProgress|'"
check "... local-1 still running on node-a, untouched" bash -c \
	"[ \"\$($K get vmi -n default local-1-vm -o jsonpath='{.status.nodeName} {.status.phase}')\" = 'node-a Running' ] && [ \"\$($K get vm -n default local-1-vm -o jsonpath='{.spec.runStrategy}')\" != Halted ]"
check "not fenced: shared-1 says NodeNotFenced" wait_t 20 bash -c "conds shared-1 | grep -q '^AutomaticRecovery|NodeNotFenced|'"
check "nothing recovered without the taint: shared-1 still on node-a" [ "$(vmi_node shared-1-vm)" = node-a ]
UID0=$($K get vmi -n default shared-1-vm -o jsonpath='{.metadata.uid}')
kill -9 "$MIG_PID"
ok "kill -9 of the migrator with the VM pinned"
$K taint node node-a node.kubernetes.io/out-of-service=nodeshutdown:NoExecute >/dev/null
if wait_for 60 runs_on node-c; then
	ok "fenced: KubeVirt restarted shared-1 on node-c (the pin steers it even with the migrator down)"
else
	not_ok "shared-1 on node-c ($($K get vmi -n default shared-1-vm -o jsonpath='{.status.nodeName} {.status.phase}'))"
fi
UID1=$($K get vmi -n default shared-1-vm -o jsonpath='{.metadata.uid}')
mig_start_migrator
if wait_t 40 bash -c "conds shared-1 | grep -q \"^AutomaticRecovery|RecoveredOnHealthyNode|recovered on node 'node-c' after node 'node-a' failed, down for about\""; then
	ok "restarted migrator: shared-1 RecoveredOnHealthyNode on node-c"
else
	not_ok "shared-1 RecoveredOnHealthyNode ($(conds shared-1 | tail -1))"
fi
check "template restored (no hostname pin)" wait_for 10 bash -c '[ -z "$(pinned)" ]'
check "recovery mark removed" wait_for 10 bash -c '[ -z "$(marked shared-1-vm)" ]'
check "one VMI for shared-1 (never two copies)" [ "$(vmis)" -eq 1 ]
check "one restart: the same new VMI (uid changed once)" bash -c "[ '$UID0' != '$UID1' ] && [ \"\$($K get vmi -n default shared-1-vm -o jsonpath='{.metadata.uid}')\" = '$UID1' ]"
check "fenced: local-1 LocalStorage" wait_t 30 bash -c "conds local-1 | grep -q '^AutomaticRecovery|LocalStorage|'"
check "no VMIM" [ -z "$(our_vmims)" ]

# ---- part 2: KubeVirt restarts before the pin lands: a live move follows ----
simctl /sim/faults '{"verb":"patch","resource":"virtualmachines","latencyMs":4000}' >/dev/null || not_ok "fault rule"
simctl /sim/nodes/node-c/fail >/dev/null || not_ok "fail node-c"
wait_for 30 notready node-c && ok "node-c NotReady" || not_ok "node-c NotReady"
# node-d is cordoned: no eligible node yet, the VM is only marked.
check "marked without a pin (no eligible node yet)" wait_for 30 bash -c '[ -n "$(marked shared-1-vm)" ]'
check "... not pinned" [ -z "$(pinned)" ]
$K uncordon node-d >/dev/null
wait_for 30 bash -c "[ \"\$($K get vmi -n default filler-d-vm -o jsonpath='{.status.nodeName} {.status.phase}')\" = 'node-d Running' ]" ||
	not_ok "filler-d runs on node-d"
$K taint node node-c node.kubernetes.io/out-of-service=nodeshutdown:NoExecute >/dev/null
if wait_t 60 bash -c "conds shared-1 | grep -q \"^AutomaticRecovery|MovingToEligibleNode|KubeVirt restarted the VM on node 'node-b'.*moving it live to node 'node-d'\""; then
	ok "restart landed on node-b before the pin: moving it live to node-d"
else
	not_ok "MovingToEligibleNode ($(conds shared-1 | tail -2))"
fi
simctl /sim/faults '' DELETE >/dev/null
if wait_t 60 bash -c "conds shared-1 | grep -q \"^AutomaticRecovery|RecoveredOnHealthyNode|recovered on node 'node-d' after node 'node-c' failed\""; then
	ok "shared-1 RecoveredOnHealthyNode on node-d"
else
	not_ok "RecoveredOnHealthyNode on node-d ($(conds shared-1 | tail -1))"
fi
check "shared-1 runs on node-d" runs_on node-d
check "one VMI for shared-1" [ "$(vmis)" -eq 1 ]
check "one VMIM (the move)" [ "$(our_vmims | wc -l)" -eq 1 ]
check_restored
topic wukong.audit >"$T/audit.jsonl"
check "recovery.completed audited (success)" bash -c "grep '\"action\":\"recovery.completed\"' '$T/audit.jsonl' | grep -q '\"outcome\":\"success\"'"
check "recovery.move audited" grep -q '"action":"recovery.move"' "$T/audit.jsonl"

# ---- part 3: the whole failure while the migrator is down ----
# node-d fails and is fenced with no migrator running: KubeVirt restarts shared-1 on node-b (the
# only schedulable node, outside pool=recovery). node-e (pool=recovery) is opened, then the
# migrator starts: from the replayed events it learns of the failure it missed and moves the VM.
kill -9 "$MIG_PID"
simctl /sim/nodes/node-d/fail >/dev/null || not_ok "fail node-d"
wait_for 30 notready node-d || not_ok "node-d NotReady"
$K taint node node-d node.kubernetes.io/out-of-service=nodeshutdown:NoExecute >/dev/null
if wait_for 60 runs_on node-b; then
	ok "migrator down: KubeVirt restarted shared-1 on node-b (outside pool=recovery)"
else
	not_ok "shared-1 restarted on node-b ($($K get vmi -n default shared-1-vm -o jsonpath='{.status.nodeName} {.status.phase}'))"
fi
$K uncordon node-e >/dev/null
mig_start_migrator
if wait_t 60 bash -c "conds shared-1 | grep -q \"^AutomaticRecovery|RecoveredOnHealthyNode|recovered on node 'node-e' after node 'node-d' failed\""; then
	ok "restarted migrator: the missed failure followed, shared-1 moved to node-e"
else
	not_ok "shared-1 RecoveredOnHealthyNode on node-e ($(conds shared-1 | tail -2 | tr '\n' ' '))"
fi
check "... it said why it acted late" bash -c "conds shared-1 | grep -q 'while the migrator was not running'"
check "shared-1 runs on node-e" runs_on node-e
check "one VMI for shared-1" [ "$(vmis)" -eq 1 ]
check "two VMIMs in all (the moves of parts 2 and 3)" [ "$(our_vmims | wc -l)" -eq 2 ]
check_restored
topic wukong.audit >"$T/audit.jsonl"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "migrator still running" kill -0 "$MIG_PID"
finish
