#!/usr/bin/env bash
# 0060-clone-running.sh - a running clone of a running VM with kubectl as the user: a Wukong whose
# spec.cloneSource names the source VMI; the cloner takes an online VirtualMachineSnapshot of the
# VMI's VM, clones it into <name>-vm with a VirtualMachineClone, removes the temporary snapshot;
# the source never stops, the target VM exists and runs, the status ends Succeeded at 100% with
# the consistency the snapshot's indications give; audit and Events name the steps.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 7
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
  - {name: node-b, cpu: 8, memory: 32Gi}
vms:
  - {name: src, cpu: 1, memory: 1Gi, guestAgent: true, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default src-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "source src-vm running"; finish; exit 1; }
SRC_UID=$($K get vmi src-vm -o jsonpath='{.metadata.uid}')
# Watch the source VMI the whole time: it must never leave Running.
( while :; do echo "$(vmi_phase src-vm)|$($K get vmi src-vm -o jsonpath='{.metadata.uid}' 2>/dev/null)"; sleep 0.3; done ) >"$T/src-phases" 2>/dev/null &
_pids+=("$!")

check "Wukong 'copy' applied with kubectl (cloneSource type vmi)" wukong_clone copy vmi src-vm
if wait_clone 60 copy Succeeded; then ok "status Succeeded"; else not_ok "status Succeeded (last: $(last_clone copy))"; tail -5 "$CL_LOG"; fi
clone_statuses copy >"$T/statuses"
diag "$(cut -d'|' -f1-3 "$T/statuses" | tr '\n' ' ')"
check "progress 100 at the end" [ "$(tail -1 "$T/statuses" | cut -d'|' -f2)" = 100 ]
check "phases in order Snapshotting -> Cloning -> Finalizing -> Succeeded" /usr/bin/python3 -c '
import sys
order = ["Pending", "Snapshotting", "Cloning", "Finalizing", "Succeeded"]
seen = [l.split("|")[0] for l in open(sys.argv[1])]
idx = [order.index(s) for s in seen if s in order]
sys.exit(0 if idx == sorted(idx) and "Snapshotting" in seen and "Cloning" in seen else 1)' "$T/statuses"
check "progress never goes back" /usr/bin/python3 -c '
import sys
p = [int(l.split("|")[1]) for l in open(sys.argv[1])]
sys.exit(0 if p == sorted(p) else 1)' "$T/statuses"
check "consistency: filesystem-consistent (guest agent)" grep -q '|filesystem-consistent|' <(tail -1 "$T/statuses")
check "target VM copy-vm exists" $K get vm copy-vm
wait_for 30 bash -c "[ \"\$($K get vmi -n default copy-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "target VM copy-vm runs" [ "$(vmi_phase copy-vm)" = Running ]
check "target labelled with the Wukong and the request" bash -c \
	"$K get vm copy-vm -o jsonpath='{.metadata.labels.vm\.novasphere\.dev/wukong}/{.metadata.labels.vm\.novasphere\.dev/request-id}' | grep -q '^copy/spec-'"
check "target has a new firmware serial" bash -c \
	"[ \"\$($K get vm copy-vm -o jsonpath='{.spec.template.spec.domain.firmware.serial}')\" != \"\$($K get vm src-vm -o jsonpath='{.spec.template.spec.domain.firmware.serial}')\" ]"
MAC_S=$($K get vm src-vm -o jsonpath='{.spec.template.spec.domain.devices.interfaces[0].macAddress}')
MAC_T=$($K get vm copy-vm -o jsonpath='{.spec.template.spec.domain.devices.interfaces[0].macAddress}')
check "target has a new MAC ($MAC_T vs '$MAC_S')" [ -n "$MAC_T" -a "$MAC_T" != "$MAC_S" ]
check "temporary snapshot gone" [ -z "$($K get vmsnapshot -o name)" ]
check "exactly one clone object, Succeeded" bash -c \
	"[ \$($K get vmclone -o name | wc -l) -eq 1 ] && [ \"\$($K get vmclone -o jsonpath='{.items[0].status.phase}')\" = Succeeded ]"
check "clone's source is a VirtualMachineSnapshot (real API), target copy-vm" bash -c \
	"$K get vmclone -o jsonpath='{.items[0].spec.source.kind}/{.items[0].spec.target.name}' | grep -qx 'VirtualMachineSnapshot/copy-vm'"
sleep 0.5
check "source never stopped (same VMI, Running throughout)" /usr/bin/python3 -c '
import sys
rows = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if rows and all(r[0] == "Running" and r[1] == sys.argv[2] for r in rows) else 1)' "$T/src-phases" "$SRC_UID"
if [ "$HAVE_STATUS" = 1 ]; then
	wait_for 20 bash -c "[ \"\$($K get wukong copy -o jsonpath='{.status.cloneStatus.phase}')\" = Succeeded ]"
	check "Wukong status.cloneStatus Succeeded 100 (status writer)" \
		[ "$($K get wukong copy -o jsonpath='{.status.cloneStatus.phase}/{.status.cloneStatus.progress}')" = Succeeded/100 ]
	check "Wukong condition FilesystemConsistent=True" \
		[ "$($K get wukong copy -o jsonpath='{.status.conditions[?(@.type=="FilesystemConsistent")].status}')" = True ]
fi
topic wukong.status | /usr/bin/python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d.get("source")=="wukong-cloner": print(l.strip())' >"$T/status.jsonl"
check "status updates valid against schemas/status-update.v1.json" "$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
topic wukong.audit | grep '"wukong-cloner"' >"$T/audit.jsonl"
check "audit events valid against schemas/audit-event.v1.json" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
check "audit has clone.snapshotting and clone.succeeded" bash -c "grep -q clone.snapshotting '$T/audit.jsonl' && grep -q clone.succeeded '$T/audit.jsonl'"
check "progress reports on wukong.progress up to 100%" bash -c \
	"topic wukong.progress | grep '\"source\":\"wukong-cloner\"' | grep '\"name\":\"copy\"' | grep -q '\"percent\":100'"
$K get events -n default -o json >"$T/events.json"
check "Kubernetes Events on the Wukong: SnapshotStarted, SnapshotReady, Succeeded" /usr/bin/python3 -c '
import json, sys
ev = [e for e in json.load(open(sys.argv[1]))["items"] if e["involvedObject"].get("kind") == "Wukong" and e["involvedObject"]["name"] == "copy"]
r = {e["reason"] for e in ev}
sys.exit(0 if {"SnapshotStarted", "SnapshotReady", "Succeeded"} <= r else 1)' "$T/events.json"
conformance_check "$KC"
finish
