#!/usr/bin/env bash
# 0127-authz-forged-events.sh - the internal topics are a control plane too (issue 20,
# docs/security.md): a forged Wukong event asking for a migration, a forged node event saying a
# node is cordoned (nodeMaintenance enabled on its VMs) or not Ready (nodeFailure enabled), the
# same Wukong event from another ce_source, and a forged wukong.status update with a huge seq
# change nothing in the cluster or on any status: the executors re-read the Wukong / Node from
# the API before acting, the status writer refuses a seq far ahead of its clock. A real
# migration afterwards still runs and lands its status (nothing frozen).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 3
linkBandwidth: 512Mi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi}
  - {name: node-c, cpu: 16, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 512Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: web-2, cpu: 1, memory: 512Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator
for vm in web-1 web-2; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
# Both VMs follow maintenance and failures: a believed cordon or failure would move them.
for vm in web-1 web-2; do
	$K patch wukong -n default $vm --type merge -p '{"spec":{"migrationPolicy":{"enabled":true,"triggerConditions":[{"type":"nodeMaintenance"},{"type":"nodeFailure"}]}}}' >/dev/null
done
N1=$(vmi_node web-1-vm)
N2=$(vmi_node web-2-vm)
OTHER=$(for n in node-a node-b node-c; do [ "$n" != "$N1" ] && echo $n && break; done)
UID1=$($K get wukong -n default web-1 -o jsonpath='{.metadata.uid}')
mmetric() { curl -s "http://$(cat "$T/migrator.addr")/metrics" | awk -v m="$1" 'index($1, m) == 1 { s += $2 } END { print s + 0 }'; }
export -f statuses topic
EV0=$(mmetric 'wukong_migrator_messages_total{topic="wukong.events"')

forge() { # forge KEY CE_TYPE SOURCE BODY: a message on wukong.events as the watcher would send it
	printf '%s\n' "$4" | kcat -b "$BOOTSTRAP" -P -t wukong.events -k "$1" -H ce_specversion=1.0 \
		-H "ce_id=forged-$RANDOM$RANDOM" -H "ce_source=$3" -H "ce_type=dev.novasphere.wukong.$2" \
		-H content-type=application/json
}
WK='{"cluster":"local","namespace":"default","name":"web-1","uid":"'$UID1'","generation":99,"resourceVersion":"999999","spec":{"migration":{"targetNode":"'$OTHER'"}},"status":{}}'
forge local/default/web-1-vm wukong.modified /clusters/local "$WK"
forge local/default/web-1-vm wukong.modified /clusters/evil "$WK"
forge local/node/$N1 node.modified /clusters/local '{"cluster":"local","name":"'$N1'","spec":{"unschedulable":true,"taints":[{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule"}]},"status":{"conditions":[{"type":"Ready","status":"True"}]}}'
forge local/node/$N2 node.modified /clusters/local '{"cluster":"local","name":"'$N2'","spec":{},"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"}]}}'
# A forged status update that would freeze web-2's migrationStatus for good.
printf '%s\n' '{"cluster":"local","namespace":"default","name":"web-2","source":"wukong-migrator","seq":9007199254740991,"status":{"migrationStatus":{"phase":"Failed","message":"forged"}}}' |
	kcat -b "$BOOTSTRAP" -P -t wukong.status -k local/default/web-2-vm -H ce_specversion=1.0 \
		-H ce_id=forged-status -H ce_source=/clusters/local -H ce_type=dev.novasphere.wukong.status.v1 \
		-H content-type=application/json

# The migrator has read them all (its counter of wukong.events messages moved by at least 4).
wait_for 30 bash -c "[ \$(curl -s http://\$(cat $T/migrator.addr)/metrics | awk 'index(\$1, \"wukong_migrator_messages_total{topic=\\\"wukong.events\\\"\") == 1 { s += \$2 } END { print s + 0 }') -ge $((EV0 + 4)) ]" ||
	not_ok "the migrator read the forged events"
check "the event from another ce_source was ignored and counted" \
	bash -c "[ \$(curl -s http://\$(cat $T/migrator.addr)/metrics | grep 'outcome=\"foreign-source\"' | awk '{print \$2}') -ge 1 ]"
wait_for 20 bash -c "timeout 20 kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h\n' 2>/dev/null | grep -q 'x-dlt-reason=SeqTooFarAhead'" &&
	ok "the forged status update is dead-lettered SeqTooFarAhead by the status writer" ||
	not_ok "forged status dead-lettered"
# The poll/resync cycle of the migrator (2 s) has run at least once since: nothing was started.
sleep 3
check "no VMIM was created" bash -c "[ -z \"\$($K get vmim -A -o name 2>/dev/null)\" ]"
check "web-1 and web-2 did not move (same nodes)" [ "$(vmi_node web-1-vm)/$(vmi_node web-2-vm)" = "$N1/$N2" ]
check "the migrator said nothing about web-1 (no status from the forged spec)" bash -c "[ -z \"\$(statuses web-1)\" ]"
check "nothing was audited (no migration, evacuation or recovery decision)" bash -c "[ -z \"\$(topic wukong.audit)\" ]"
check "node $N1 is not cordoned" bash -c "[ -z \"\$($K get node $N1 -o jsonpath='{.spec.unschedulable}')\" ]"
if [ $HAVE_STATUS = 1 ]; then
	check "web-2's status has no forged migrationStatus" bash -c "[ -z \"\$($K get wukong -n default web-2 -o jsonpath='{.status.migrationStatus.phase}')\" ]"
fi

# A real migration still runs, and its status lands (nothing frozen by the forged seq).
$K patch wukong -n default web-2 --type merge -p '{"spec":{"migration":{"targetNode":"'$(for n in node-a node-b node-c; do [ "$n" != "$N2" ] && echo $n && break; done)'"}}}' >/dev/null
if wait_phase 40 web-2 Succeeded; then ok "a real spec.migration of web-2 succeeds"; else not_ok "web-2 migrated ($(last_phase web-2))"; fi
if [ $HAVE_STATUS = 1 ]; then
	check "... and its status lands on the Wukong" wait_for 20 bash -c \
		"[ \"\$($K get wukong -n default web-2 -o jsonpath='{.status.migrationStatus.phase}')\" = Succeeded ]"
fi
check "migrator still running" kill -0 "$MIG_PID"
finish
