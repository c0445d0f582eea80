#!/usr/bin/env bash
# 0061-clone-stopped.sh - `type: vm` naming a stopped VM with cloneType running and startSource:
# true (asked for an online copy): the cloner starts the source first (runStrategy Always plus a
# started-by annotation), snapshots it once it runs, puts it back to stopped after the snapshot
# (as it was found), and the clone completes. Without startSource a stopped VM is never started
# (0068-clone-offline.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 8
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
vms:
  - {name: cold, cpu: 1, memory: 1Gi, running: false, guestAgent: false, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 20 $K get vm cold-vm || { not_ok "source cold-vm exists"; finish; exit 1; }
check "source cold-vm is stopped (no VMI)" bash -c "! $K get vmi cold-vm >/dev/null 2>&1"
check "Wukong 'warm' applied (type vm, stopped source, startSource)" wukong_clone warm vm cold-vm \
	"    startSource: true"
if wait_clone 60 warm Succeeded; then ok "status Succeeded"; else not_ok "status Succeeded (last: $(last_clone warm))"; tail -5 "$CL_LOG"; fi
clone_statuses warm >"$T/statuses"
diag "$(cut -d'|' -f1-3 "$T/statuses" | tr '\n' ' ')"
check "StartingSource reported before Snapshotting" /usr/bin/python3 -c '
import sys
seen = [l.split("|")[0] for l in open(sys.argv[1])]
sys.exit(0 if "StartingSource" in seen and seen.index("StartingSource") < seen.index("Snapshotting") else 1)' "$T/statuses"
check "the source was started for the snapshot (audit clone.startingsource)" bash -c "topic wukong.audit | grep -q clone.startingsource"
check "consistency crash-consistent (no guest agent)" grep -q '|crash-consistent|' <(tail -1 "$T/statuses")
wait_for 30 bash -c "[ \"\$($K get vmi -n default warm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
check "target warm-vm runs" [ "$(vmi_phase warm-vm)" = Running ]
check "source back to Halted after the snapshot" [ "$($K get vm cold-vm -o jsonpath='{.spec.runStrategy}')" = Halted ]
check "source's started-by annotation removed" bash -c "! $K get vm cold-vm -o json | grep -q started-by.clone"
wait_for 20 bash -c "! $K get vmi cold-vm >/dev/null 2>&1"
check "source stopped again" bash -c "! $K get vmi cold-vm >/dev/null 2>&1"
check "temporary snapshot gone" [ -z "$($K get vmsnapshot -o name)" ]

# Two clones of the stopped VM at once (a Kafka batch, parallelism 2): each holds the source
# running until its own snapshot is taken; the last one stops it.
submit_clone local/default/cold-vm '{"requestId":"two-cold","cluster":"local","namespace":"default","source":{"type":"vm","name":"cold-vm"},"targets":[{"name":"c1"},{"name":"c2"}],"parallelism":2,"startSource":true}'
for n in c1 c2; do
	if wait_clone 60 $n Succeeded; then ok "$n Succeeded"; else not_ok "$n Succeeded (last: $(last_clone $n))"; fi
done
check "source back to Halted with no started-by annotation" bash -c \
	"[ \"\$($K get vm cold-vm -o jsonpath='{.spec.runStrategy}')\" = Halted ] && ! $K get vm cold-vm -o json | grep -q started-by.clone"
check "no snapshot left" [ -z "$($K get vmsnapshot -o name)" ]
finish
