#!/usr/bin/env bash
# 0049-node-failure.sh - spec.migrationPolicy's nodeFailure trigger: a node fails; while it is only
# NotReady (not fenced) nothing is recovered and every policy-enabled VM's status says why; after
# `kubectl taint ... node.kubernetes.io/out-of-service` the shared-storage VM is reported as being
# restarted on a healthy node (and runs there, one VMI, then RecoveredOnHealthyNode), the local-storage
# VM is reported as not recoverable automatically; no VMIM is ever created for the failed node.
# Time factor 10. Steering by targetNodeSelector: 0082-node-failure-steer.sh.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 3
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi, unschedulable: true}
  - {name: node-c, cpu: 32, memory: 64Gi, unschedulable: true}
vms:
  - {name: shared-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: local-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: plain-1, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
mig_start --time-factor 10
mig_start_migrator
for vm in shared-1 local-1 plain-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
$K uncordon node-b node-c >/dev/null
POL='{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"nodeFailure"}]}}}'
$K patch wukong -n default shared-1 --type merge -p "$POL" >/dev/null
$K patch wukong -n default local-1 --type merge -p "$POL" >/dev/null
SERVER=$(sed -n 's/^ *server: *//p' "$KC" | head -1)
simctl() { curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" -X POST "$SERVER$1" -d "${2:-{\}}"; }
simctl /sim/nodes/node-a/fail >/dev/null || not_ok "fail node-a"
notready() { [ "$($K get node node-a -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ]; }
export -f notready
export K
wait_for 30 notready && ok "node-a NotReady" || not_ok "node-a NotReady"

# The migrator's conditions for a Wukong: "type|reason" lines.
conds() {
	topic wukong.status | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("name") == sys.argv[1] and d.get("source") == "wukong-migrator":
        for c in d.get("conditions") or []:
            print("%s|%s|%s" % (c.get("type"), c.get("reason"), c.get("message")))' "$1"
}
export -f conds
if wait_for 30 bash -c "conds shared-1 | grep -q '^AutomaticRecovery|NodeNotFenced|'"; then
	ok "not fenced: shared-1 says NodeNotFenced"
else
	not_ok "shared-1 NodeNotFenced"
fi
check "... and so does local-1" bash -c "conds local-1 | grep -q '^AutomaticRecovery|NodeNotFenced|'"
check "... naming the out-of-service taint" bash -c "conds shared-1 | grep -q 'out-of-service'"
check "plain-1 (no policy) gets nothing" bash -c "! conds plain-1 | grep -q AutomaticRecovery"
check "nothing recovered: shared-1's VMI still on node-a" [ "$(vmi_node shared-1-vm)" = node-a ]
check "no VMIM for the failed node" [ -z "$(our_vmims)" ]

$K taint node node-a node.kubernetes.io/out-of-service=nodeshutdown:NoExecute >/dev/null
if wait_for 30 bash -c "conds shared-1 | grep -q '^AutomaticRecovery|RecoveringOnHealthyNode|'"; then
	ok "fenced: shared-1 RecoveringOnHealthyNode"
else
	not_ok "shared-1 RecoveringOnHealthyNode ($(conds shared-1 | tail -1))"
fi
if wait_for 30 bash -c "conds local-1 | grep -q '^AutomaticRecovery|LocalStorage|'"; then
	ok "fenced: local-1 LocalStorage (cannot be recovered automatically)"
else
	not_ok "local-1 LocalStorage ($(conds local-1 | tail -1))"
fi
back() { n=$($K get vmi -n default shared-1-vm -o jsonpath='{.status.nodeName} {.status.phase}' 2>/dev/null); [ "$n" = "node-b Running" ] || [ "$n" = "node-c Running" ]; }
export -f back
check "shared-1 runs again on a healthy node" wait_for 60 back
if wait_for 10 bash -c "conds shared-1 | grep -q '^AutomaticRecovery|RecoveredOnHealthyNode|recovered on node .node-[bc]. after node .node-a. failed, down for about'"; then
	ok "shared-1 RecoveredOnHealthyNode names its node"
else
	not_ok "shared-1 RecoveredOnHealthyNode ($(conds shared-1 | tail -1))"
fi
# Downtime on the cluster's clock: from node-a's Ready condition leaving True (the node
# controller) to the new VMI's Ready=True, not from the fencing: it covers the wait for the taint.
NR=$($K get node node-a -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
VR=$($K get vmi -n default shared-1-vm -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
DOWN=$(conds shared-1 | grep RecoveredOnHealthyNode | tail -1 | sed -n 's/.*down for about \([0-9]*\) s.*/\1/p')
diag "node-a NotReady at $NR, shared-1 Ready at $VR, reported down for ${DOWN}s"
check "the downtime is counted from node-a's Ready transition to the VMI running" /usr/bin/python3 -c '
import sys, datetime
p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
want = (p(sys.argv[2]) - p(sys.argv[1])).total_seconds()
sys.exit(0 if abs(float(sys.argv[3]) - want) <= 1 else 1)' "$NR" "$VR" "$DOWN"
check "... and says so" bash -c "conds shared-1 | grep RecoveredOnHealthyNode | tail -1 | grep -q \"from the node's Ready condition leaving True\""
check "one VMI for shared-1 (never two copies)" [ "$($K get vmi -A --no-headers | grep -c '^default *shared-1-vm ')" -eq 1 ]
check "still no VMIM" [ -z "$(our_vmims)" ]
topic wukong.audit >"$T/audit.jsonl"
check "recovery decisions audited" bash -c "grep -q '\"action\":\"recovery.not-fenced\"' '$T/audit.jsonl' && grep -q '\"action\":\"recovery.local-storage\"' '$T/audit.jsonl' && grep -q '\"action\":\"recovery.restart\"' '$T/audit.jsonl' && grep -q '\"action\":\"recovery.completed\"' '$T/audit.jsonl'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "Events on shared-1: NodeNotFenced (Warning) and RecoveredOnHealthyNode" bash -c \
	"wukong_events shared-1 | grep -qx 'Warning NodeNotFenced' && wukong_events shared-1 | grep -qx 'Normal RecoveredOnHealthyNode'"
check "Event on local-1: LocalStorage (Warning)" bash -c "wukong_events local-1 | grep -qx 'Warning LocalStorage'"
check "migrator still running" kill -0 "$MIG_PID"
finish
