#!/usr/bin/env bash
# 0048-drain-kill.sh - crash safety of a drain: a 40-VM drain of one node, the migrator killed with
# SIGKILL twice while VMs are migrating, restarted each time; in the end every VM has left the node
# and was migrated exactly once (one VMIM per VM, none duplicated), and the drain is audited as
# completed with all 40 VMs counted (those moved before a restart too), as is its final report. Simulated time runs 6x faster (--time-factor 6) to keep the test short.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 8
linkBandwidth: 1250M
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 128, memory: 256Gi}
  - {name: node-b, cpu: 128, memory: 128Gi, unschedulable: true}
  - {name: node-c, cpu: 128, memory: 128Gi, unschedulable: true}
vms:
  - {name: s, count: 20, cpu: 1, memory: 512Mi, dirtyRate: 4Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: m, count: 20, cpu: 1, memory: 1Gi, dirtyRate: 32Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
mig_start --time-factor 6
# Set-up time in wall-clock seconds at this time factor (4 simulated seconds).
MIGX=(-X migrator.dirty-rate-annotation=sim.novasphere.dev/dirty-rate -X migrator.plan-setup-seconds=0.7)
mig_start_migrator "${MIGX[@]}"
running() { [ "$($K get vmi -A --no-headers 2>/dev/null | grep -c Running)" -ge 40 ]; }
export -f running
export K
wait_for 60 running || not_ok "40 VMIs running"
check "40 VMs on node-a" [ "$($K get vmi -A -o jsonpath='{range .items[*]}{.status.nodeName}{"\n"}{end}' | grep -c '^node-a$')" -eq 40 ]
$K uncordon node-b node-c >/dev/null

submit drain local/node/node-a '{"requestId":"dr-kill","cluster":"local","node":"node-a"}'
vmims() { our_vmims | wc -l; }
for round in 1 2; do
	want=$((round * 8))
	if wait_for 90 bash -c "[ \$($K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o name 2>/dev/null | wc -l) -ge $want ]"; then
		kill -9 "$MIG_PID"
		ok "kill -9 of the migrator with $(vmims) VMIMs created (round $round)"
		sleep 1
		mig_start_migrator "${MIGX[@]}"
	else
		not_ok "drain progressed to $want VMIMs before kill $round ($(vmims))"
	fi
done
left() { $K get vmi -A -o jsonpath='{range .items[*]}{.status.nodeName}{"\n"}{end}' | grep -c '^node-a$'; }
if wait_for 150 bash -c "[ \"\$($K get vmi -A -o jsonpath='{range .items[*]}{.status.nodeName}{\"\\n\"}{end}' | grep -c '^node-a$')\" = 0 ]"; then
	ok "every VM left node-a"
else
	not_ok "every VM left node-a ($(left) left)"
fi
wait_for 60 bash -c "topic wukong.audit | grep '\"requestId\":\"dr-kill\"' | grep -q '\"action\":\"drain.completed\"'"
topic wukong.audit >"$T/audit.jsonl"
check "drain.completed success audited" bash -c "grep '\"requestId\":\"dr-kill\"' '$T/audit.jsonl' | grep '\"action\":\"drain.completed\"' | grep -q '\"outcome\":\"success\"'"
$K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator \
	-o jsonpath='{range .items[*]}{.spec.vmiName} {.status.phase}{"\n"}{end}' >"$T/vmims.txt"
check "exactly 40 VMIMs" [ "$(wc -l <"$T/vmims.txt")" -eq 40 ]
check "one VMIM per VM (no duplicate)" [ "$(cut -d' ' -f1 "$T/vmims.txt" | sort | uniq -d | wc -l)" -eq 0 ]
check "every VMIM Succeeded" [ "$(grep -c ' Succeeded$' "$T/vmims.txt")" -eq 40 ]
check "VMs spread over node-b and node-c only" bash -c "[ \$($K get vmi -A -o jsonpath='{range .items[*]}{.status.nodeName}{\"\\n\"}{end}' | grep -c '^node-[bc]$') -eq 40 ]"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
# The restarts do not shrink the drain: the completion and the final report count all 40 VMs
# (those moved before the last restart included) and the time since the drain began.
check "drain.completed counts all 40 VMs, some moved before a restart" /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l).get("data") or json.loads(l)
    if d.get("requestId") == "dr-kill" and d.get("action") == "drain.completed":
        det = d.get("details") or {}
        sys.exit(0 if det.get("vms") == 40 and det.get("movedBeforeRestart", 0) > 0 and "40 VMs evacuated" in d.get("message", "") else 1)
sys.exit(1)' "$T/audit.jsonl"
topic wukong.progress | grep '"evacuationId":"dr-kill"' >"$T/progress.jsonl"
check "final evacuation report: Completed, 40 of 40 Succeeded" /usr/bin/python3 -c '
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]
last = last.get("data", last)
sys.exit(0 if last["phase"] == "Completed" and last["total"] == 40 and last["succeeded"] == 40 and last["percent"] == 100 else 1)' "$T/progress.jsonl"
check "evacuation reports valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/progress-evacuation.v1.json" "$T/progress.jsonl"
check "migrator still running" kill -0 "$MIG_PID"
finish
