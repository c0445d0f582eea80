#!/usr/bin/env bash
# 0030-watcher-events.sh - wukong-watcher against the simulator and the embedded broker, kubectl
# as the user and kcat as the reader: apply / patch / delete of a Wukong and of a VM, a migration
# (a VMIM created with kubectl) and a node cordon each produce the expected CloudEvents, in order
# on the VM's key; every body validates against schemas/event.v1.json, headers are complete, ids
# unique; synced markers and heartbeats (with the configured labels) are there; /readyz, /metrics.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

C=it30
start_kafka
if ! start_sim; then
	not_ok "wukong-sim serves (see $T/sim.log): this test needs the simulator and kubectl"
	finish
	exit 1
fi
ok "wukong-sim serves; kubectl get nodes works"

start_watcher w $C -X watcher.heartbeat-interval=1s -X cluster.labels.region=test-east \
	-X watcher.nodemetrics-interval=2s
check "watcher started" test -n "$W_PID"
PV_CLUSTER=$C start_provisioner "$KC" "it30-$$"
check "/readyz turns 200 (lease held, every kind listed)" wait_for 30 is_ready w
check "one synced marker per watched kind" wait_for 10 has_event $C/cluster virtualmachine.synced
for k in wukong virtualmachineinstance virtualmachineinstancemigration node; do
	check "synced marker for $k" test "$(count_of $C/cluster $k.synced)" -eq 1
done

# --- a Wukong: apply, patch, delete ---
cat >"$T/wk.yaml" <<EOF
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata:
  name: wk-a
  namespace: default
spec:
  cpu: 1
  memory: 1Gi
  running: true
  disks:
  - name: system
    size: 1Gi
EOF
check "kubectl apply of a Wukong" $K apply -f "$T/wk.yaml"
KEY=$C/default/wk-a-vm
check "wukong.added on $KEY" wait_for 20 has_event $KEY wukong.added
check "its VirtualMachine on the same key" wait_for 20 has_event $KEY virtualmachine.added
check "its VMI on the same key" wait_for 30 has_event $KEY virtualmachineinstance.added
check "kubectl patch of the Wukong" $K patch wukong wk-a --type=merge -p '{"spec":{"cpu":2}}'
check "wukong.modified carries the new spec" wait_for 20 body_has $KEY wukong.modified \
	'b["spec"]["cpu"] == 2'

# --- a migration ---
wait_for 30 sh -c "$K get vmi wk-a-vm -o jsonpath='{.status.phase}' | grep -q Running"
SRC=$($K get vmi wk-a-vm -o jsonpath='{.status.nodeName}')
cat >"$T/vmim.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata:
  name: mig-wk-a
  namespace: default
spec:
  vmiName: wk-a-vm
EOF
check "kubectl create of a VirtualMachineInstanceMigration" $K create -f "$T/vmim.yaml"
check "migration added on the VM's key" wait_for 20 has_event $KEY virtualmachineinstancemigration.added
check "migration progresses (modified events)" wait_for 60 has_event $KEY \
	virtualmachineinstancemigration.modified
check "the migration reaches a final phase in an event" wait_for 120 body_has $KEY \
	virtualmachineinstancemigration.modified 'b["status"]["phase"] in ("Succeeded", "Failed")'
check "the VMI's new node shows up in an event" wait_for 60 body_has $KEY \
	virtualmachineinstance.modified "b['status'].get('nodeName') not in (None, '$SRC')"

# --- a node cordon ---
NODE=$(first_node)
check "kubectl cordon $NODE" $K cordon "$NODE"
check "node.modified with spec.unschedulable on $C/node/$NODE" wait_for 20 body_has \
	"$C/node/$NODE" node.modified 'b["spec"].get("unschedulable") is True'

# --- a VM on its own: apply, patch, delete ---
cat >"$T/vm.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-b
  namespace: default
spec:
  running: false
  template:
    spec:
      domain:
        devices: {}
EOF
check "kubectl apply of a VM" $K apply -f "$T/vm.yaml"
check "kubectl patch of the VM" $K patch vm vm-b --type=merge -p '{"metadata":{"labels":{"tier":"gold"}}}'
check "kubectl delete of the VM" $K delete vm vm-b
check "vm-b: added, modified, deleted in order" wait_for 20 in_order $C/default/vm-b \
	virtualmachine.added virtualmachine.modified virtualmachine.deleted
check "the label is in the modified body" body_has $C/default/vm-b virtualmachine.modified \
	'b["labels"]["tier"] == "gold"'

check "kubectl delete of the Wukong" $K delete wukong wk-a
check "wukong.deleted" wait_for 30 has_event $KEY wukong.deleted
check "on $KEY: added, modified, deleted in order" in_order $KEY wukong.added wukong.modified \
	wukong.deleted
check "on $KEY: migration added before its modifications" in_order $KEY \
	virtualmachineinstancemigration.added virtualmachineinstancemigration.modified

# --- the whole stream ---
check "a heartbeat with the configured labels" wait_for 10 body_has $C/cluster cluster.heartbeat \
	'b["labels"]["region"] == "test-east" and b["serverVersion"] != "" and b["counts"]["node"] >= 1'
check "every body validates against schemas/event.v1.json" schema_ok $C
check "CloudEvents headers complete and consistent" headers_ok $C
check "no ce_id published twice" no_dupes $C
dump
check "/metrics counts published events by type (as many wukong.added as in the topic)" \
	test "$(metric w 'wukong_watcher_events_published_total\{type="wukong.added"\}')" = \
	"$("$EV" "$T/events.json" total $C wukong.added)"
check "/metrics has the queue depth and publish latency" sh -c \
	"curl -sf http://$(cat "$T/w.addr")/metrics | grep -q '^wukong_watcher_publish_latency_seconds_count'"
check "the watcher is still running" kill -0 "$W_PID"
finish
