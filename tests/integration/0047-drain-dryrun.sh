#!/usr/bin/env bash
# 0047-drain-dryrun.sh - node drain by Kafka submission, with wukongctl as the client: a dry run
# reports the fast-evacuation plan (which VM to which node, in what order, predicted duration) and
# changes nothing; the real drain then follows that plan (same order and targets), every VM leaves
# the node exactly once (one VMIM each) and the drain ends with a success audit record. Hostile
# drain submissions are dead-lettered.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
linkBandwidth: 1250M
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 64, memory: 128Gi}
  - {name: node-b, cpu: 64, memory: 64Gi, unschedulable: true}
  - {name: node-c, cpu: 64, memory: 64Gi, unschedulable: true}
  - {name: node-d, cpu: 64, memory: 64Gi, unschedulable: true}
vms:
  - {name: s, count: 3, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: m, count: 3, cpu: 2, memory: 2Gi, dirtyRate: 64Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: l, count: 2, cpu: 2, memory: 4Gi, dirtyRate: 200Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator -X migrator.dirty-rate-annotation=sim.novasphere.dev/dirty-rate
VMS="s-1 s-2 s-3 m-1 m-2 m-3 l-1 l-2"
for vm in $VMS; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
check "all 8 VMs start on node-a" bash -c "for v in $VMS; do [ \"\$($K get vmi -n default \$v-vm -o jsonpath='{.status.nodeName}')\" = node-a ] || exit 1; done"
$K uncordon node-b node-c node-d >/dev/null
W="$BIN/wukongctl"
CTL=(--bootstrap "$BOOTSTRAP" --cluster local)

# 1. Dry run.
"$W" drain node-a --dry-run --request-id dr-dry --timeout 60s "${CTL[@]}" >"$T/dry.out" 2>"$T/dry.err"
rc=$?
check "dry run: wukongctl exit 0" [ $rc -eq 0 ]
diag "$(head -c 300 "$T/dry.out") $(head -c 300 "$T/dry.err")"
check "... says what would happen" grep -q 'dry run: 8 VMs would leave node' "$T/dry.out"
topic wukong.audit >"$T/audit1.jsonl"
/usr/bin/python3 - "$T/audit1.jsonl" dr-dry drain.planned >"$T/plan-dry.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("requestId") == sys.argv[2] and d.get("action") == sys.argv[3]:
        p = d["details"]["plan"]
        print("predicted", p["predictedSeconds"], "fifo", p["fifoSeconds"], "bound", p["lowerBoundSeconds"])
        for s in p["steps"]:
            print(s["name"], s["target"])
        break
PY
check "the plan names every VM with a target" [ "$(grep -c ' node-[bcd]$' "$T/plan-dry.txt")" -eq 8 ]
diag "$(tr '\n' ' ' <"$T/plan-dry.txt")"
check "dry run created no VMIM" [ -z "$(our_vmims)" ]
check "dry run moved nothing" bash -c "for v in $VMS; do [ \"\$($K get vmi -n default \$v-vm -o jsonpath='{.status.nodeName}')\" = node-a ] || exit 1; done"

# 2. The real drain follows the plan.
"$W" drain node-a --request-id dr-real --timeout 150s "${CTL[@]}" >"$T/real.out" 2>"$T/real.err"
rc=$?
check "drain: wukongctl exit 0" [ $rc -eq 0 ]
diag "$(head -c 300 "$T/real.out") $(head -c 300 "$T/real.err")"
topic wukong.audit >"$T/audit2.jsonl"
/usr/bin/python3 - "$T/audit2.jsonl" dr-real drain.started >"$T/plan-real.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("requestId") == sys.argv[2] and d.get("action") == sys.argv[3]:
        p = d["details"]["plan"]
        print("predicted", p["predictedSeconds"], "fifo", p["fifoSeconds"], "bound", p["lowerBoundSeconds"])
        for s in p["steps"]:
            print(s["name"], s["target"])
        break
PY
check "the real drain's plan is the dry run's (order and targets)" diff "$T/plan-dry.txt" "$T/plan-real.txt"
for vm in $VMS; do
	want=$(awk -v v="$vm" '$1 == v {print $2}' "$T/plan-dry.txt")
	if [ "${SIM_KV#1.}" -ge 6 ]; then
		check "$vm on its planned target $want" [ "$(vmi_node $vm-vm)" = "$want" ]
	else # below 1.6 the drain submits without a target (issue 16 item 3): the scheduler picks
		check "(KubeVirt $SIM_KV) $vm left node-a" bash -c "n=\$($K get vmi -n default $vm-vm -o jsonpath='{.status.nodeName}'); [ -n \"\$n\" ] && [ \"\$n\" != node-a ]"
	fi
done
check "exactly one VMIM per VM" [ "$(our_vmims | wc -l)" -eq 8 ]
# Creation order follows the plan (timestamps have one-second resolution: ties allowed).
$K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator \
	-o jsonpath='{range .items[*]}{.metadata.creationTimestamp} {.spec.vmiName}{"\n"}{end}' |
	awk '{sub(/-vm$/, "", $2); print $1, $2}' >"$T/created.txt"
check "VMIMs created in the plan's order" /usr/bin/python3 -c '
import sys
plan = [l.split()[0] for l in open(sys.argv[1]) if not l.startswith("predicted")]
ts = dict((l.split()[1], l.split()[0]) for l in open(sys.argv[2]) if l.strip())
seq = [ts[v] for v in plan]
print("#", seq)
sys.exit(0 if len(ts) == len(plan) and seq == sorted(seq) else 1)' "$T/plan-dry.txt" "$T/created.txt"
check "drain.completed success audited" bash -c "grep '\"requestId\":\"dr-real\"' '$T/audit2.jsonl' | grep -q '\"action\":\"drain.completed\".*\"outcome\":\"success\"'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit2.jsonl"
check "each VM's migration Succeeded" bash -c "for v in $VMS; do [ \"\$($T/lastphase.sh \$v)\" = Succeeded ] || exit 1; done"

# 3. A resubmission of the same drain does nothing new; hostile drains are dead-lettered.
submit drain local/node/node-a '{"requestId":"dr-real","cluster":"local","node":"node-a"}'
printf '%s\n' '{"requestId":"dx1","cluster":"local","node":"../../etc"}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k local/node/x -H ce_specversion=1.0 -H ce_id=dx1 \
		-H ce_source=/t -H ce_type=dev.novasphere.wukong.request.drain.v1
printf '%s\n' '{"requestId":"dx2","cluster":"local","node":"node-b","dryRun":"yes"}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k local/node/x -H ce_specversion=1.0 -H ce_id=dx2 \
		-H ce_source=/t -H ce_type=dev.novasphere.wukong.request.drain.v1
wait_for 20 bash -c "[ \$(timeout 20 kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 2 ]"
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%h\n' 2>/dev/null >"$T/dlq.txt"
check "bad node name dead-lettered (InvalidName)" grep -q 'x-dlt-reason=InvalidName' "$T/dlq.txt"
check "bad dryRun dead-lettered (SchemaViolation)" grep -q 'x-dlt-reason=SchemaViolation' "$T/dlq.txt"
sleep 2
check "still exactly one VMIM per VM" [ "$(our_vmims | wc -l)" -eq 8 ]
check "migrator still running" kill -0 "$MIG_PID"
finish
