#!/usr/bin/env bash
# 0087-drain-plan.sh - the evacuation planner under the cluster's migration settings (issue 18):
# the KubeVirt CR says bandwidthPerMigration 64Mi. The dry run (wukongctl drain --dry-run)
# predicts with it and prints the per-VM plan (VM, target, live/cold, start, end); a VM that
# cannot live-migrate (a bridge binding on the pod network: InterfaceNotLiveMigratable) is planned
# cold when its owner allows cold moves, and listed as staying, with KubeVirt's reason, when not.
# The real drain cordons the node first (as kubectl drain; the cordon does not start a second,
# nodeMaintenance evacuation of the policy-enabled VMs), follows the plan, the cold VMs move cold
# (db's node-local data disk copied to its target with it),
# and the completion names the VM that stayed and why. The prediction is compared with the
# drain's own measured time in the same run: within 10 %.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 7
linkBandwidth: 1250M
migrations: {bandwidthPerMigration: 64Mi}
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-path, accessMode: RWO, snapshot: false, provisioner: rancher.io/local-path, local: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 64, memory: 64Gi}
  - {name: node-b, cpu: 64, memory: 64Gi, unschedulable: true}
  - {name: node-c, cpu: 64, memory: 64Gi, unschedulable: true}
vms:
  - {name: v, count: 4, cpu: 1, memory: 384Mi, dirtyRate: 0, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: br, cpu: 1, memory: 512Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}], networks: [{name: default, type: pod, binding: bridge}]}
  - {name: br2, cpu: 1, memory: 512Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}], networks: [{name: default, type: pod, binding: bridge}]}
  - {name: db, cpu: 1, memory: 512Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}, {name: data, size: 1Gi, storageClass: local-path}]}
YAML
mig_start
mig_start_migrator -X migrator.dirty-rate-annotation=sim.novasphere.dev/dirty-rate
VMS="v-1 v-2 v-3 v-4 br br2 db"
for vm in $VMS; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
for w in br db; do
	$K patch wukong -n default $w --type merge \
		-p '{"spec":{"migrationPolicy":{"enabled":true,"allowColdMigration":true,"triggerConditions":[{"type":"nodeMaintenance"}]}}}' >/dev/null
done
$K uncordon node-b node-c >/dev/null
W="$BIN/wukongctl"
CTL=(--bootstrap "$BOOTSTRAP" --cluster local --kubeconfig "$KC")

# --- the dry run ------------------------------------------------------------------------------
"$W" drain node-a --dry-run --request-id pl-dry --timeout 60s "${CTL[@]}" >"$T/dry.out" 2>"$T/dry.err"
check "dry run: exit 0" [ $? -eq 0 ]
diag "$(cat "$T/dry.out")"
check "... the message names the cluster's bandwidth" grep -q 'bandwidth 64Mi/s' "$T/dry.out"
check "... a plan line per live VM (VM, target, live, start, end)" \
	[ "$(grep -cE '^  default/v-[1-4] +node-[bc] +live +[0-9.]+s +[0-9.]+s$' "$T/dry.out")" -eq 4 ]
check "... br planned cold" grep -qE '^  default/br +node-[bc] +cold +0\.0s +[0-9.]+s$' "$T/dry.out"
check "... db (node-local data disk) planned cold" grep -qE '^  default/db +node-[bc] +cold +0\.0s +[0-9.]+s$' "$T/dry.out"
check "... br2 stays, with KubeVirt's reason" grep -q '^  stays: default/br2 (NotLiveMigratable: InterfaceNotLiveMigratable' "$T/dry.out"
check "the dry run did not cordon" [ -z "$($K get node node-a -o jsonpath='{.spec.unschedulable}')" ]
check "... and created nothing" [ -z "$(our_vmims)" ]

# --- the real drain ---------------------------------------------------------------------------
"$W" drain node-a --request-id pl-real --timeout 120s "${CTL[@]}" >"$T/real.out" 2>"$T/real.err"
check "drain: exit 0" [ $? -eq 0 ]
diag "$(tail -5 "$T/real.out") $(head -c 300 "$T/real.err")"
check "node-a cordoned by the drain (annotated)" bash -c \
	"[ \"\$($K get node node-a -o jsonpath='{.spec.unschedulable}')\" = true ] && $K get node node-a -o yaml | grep -q 'vm.novasphere.dev/cordoned-for-drain'"
for vm in v-1 v-2 v-3 v-4 br db; do
	check "$vm left node-a" bash -c "n=\$($K get vmi -n default $vm-vm -o jsonpath='{.status.nodeName}'); [ -n \"\$n\" ] && [ \"\$n\" != node-a ]"
done
check "br moved cold (Succeeded, mode Cold)" bash -c "statuses br | tail -1 | grep -q '^Succeeded|ColdMigrationSucceeded'"
check "db moved cold with a copy of its node-local disk" bash -c "statuses db | tail -1 | grep -q \"^Succeeded|ColdMigrationSucceeded.*data copied: volume 'data' from claim 'db-data' on node 'node-a' (deleted)\""
check "br2 stayed on node-a" [ "$(vmi_node br2-vm)" = node-a ]
check "the completion names br2 and why" bash -c "grep -q 'stays: default/br2 (NotLiveMigratable' '$T/real.out'"
topic wukong.status | grep '"source":"wukong-migrator"' | grep '"type":"MigrationVerified"' >"$T/verified.jsonl"
for vm in v-1 v-2 v-3 v-4; do
	check "$vm verified after its live move (on the target, volumes attached, IPs and guest agent kept)" bash -c \
		"grep '\"name\":\"$vm\"' '$T/verified.jsonl' | grep -q '\"status\":\"True\".*IP address(es) unchanged, guest agent connected'"
done
check "br verified after its cold move" bash -c "grep '\"name\":\"br\"' '$T/verified.jsonl' | grep -q '\"status\":\"True\"'"
check "exactly one VMIM per live VM, none for the cold one" [ "$(our_vmims | wc -l)" -eq 4 ]
topic wukong.audit >"$T/audit.jsonl"
check "the cordon started no nodeMaintenance evacuation" bash -c "! grep -q '\"action\":\"evacuation.started\"' '$T/audit.jsonl'"
check "audit events valid" "$ROOT/tests/schema-validate" "$ROOT/schemas/audit-event.v1.json" "$T/audit.jsonl"
/usr/bin/python3 - "$T/audit.jsonl" >"$T/times.txt" <<'PY'
import json, sys
live = took = None
for line in open(sys.argv[1]):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("requestId") != "pl-real": continue
    if d.get("action") == "drain.started":
        live = max(s["endSeconds"] for s in d["details"]["plan"]["steps"] if s.get("mode") == "live")
    if d.get("action") == "drain.completed":
        took = d["details"]["seconds"]
print(live, took)
PY
read -r PRED TOOK <"$T/times.txt"
diag "predicted (live plan) ${PRED}s, measured ${TOOK}s"
check "prediction within 10 % of the drain's measured time" /usr/bin/python3 -c '
import sys
p, t = float(sys.argv[1]), float(sys.argv[2])
sys.exit(0 if t > 0 and abs(p - t) <= 0.10 * t else 1)' "$PRED" "$TOOK"
check "migrator still running" kill -0 "$MIG_PID"
finish
