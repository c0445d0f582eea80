#!/usr/bin/env bash
# 0091-provisioner.sh - wukong-provisioner against the simulator with no Wukong stand-in: a Wukong
# with an `image` disk shows per-disk import progress on its status and reaches Running; an
# unknown storage class gives StorageClassNotFound; two boot disks are refused with a reason; an
# unreachable image gives ImportFailed with the importer's message; kill -9 during provisioning
# leaves one VM and one DataVolume per disk and the Wukong still reaches Running; later changes of
# labels, annotations, networks and nodeSelector reach the VM (RestartRequired while the running
# VMI lacks them); spec.running stops the VM; a VM made by someone else is followed, not
# rewritten; seeded Wukongs are Running.
. "$(dirname "$0")/../lib.sh"

GROUP="pv-$$-$RANDOM"
start_kafka 1
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --time-factor 8
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; finish; exit 1; }
KC="$T/sim/kubeconfig"
export KUBECONFIG=$KC HOME="$T/home"
mkdir -p "$HOME"
k() { timeout 30 kubectl "$@"; }
start_bg watcher "$BIN/wukong-watcher" -X kafka.bootstrap.servers="$BOOTSTRAP" -X kube.config="$KC" \
	-X watcher.lease.enabled=false -X cluster.id=local -X http.addr-file="$T/watcher.addr" \
	-X consumer.group="wt-$GROUP"
start_bg status "$BIN/wukong-status" -X kafka.bootstrap.servers="$BOOTSTRAP" -X kube.config="$KC" \
	-X status.lease.enabled=false -X cluster.id=local -X consumer.group="st-$GROUP" \
	-X http.addr-file="$T/status.addr"
start_pv() {
	rm -f "$T/pv.addr"
	PV_N=$((${PV_N:-0} + 1))
	start_bg "pv$PV_N" "$BIN/wukong-provisioner" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="pv-$GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/pv.addr" \
		-X provisioner.resync-interval=2s
	PV_PID=$LAST_PID
	wait_for 20 test -s "$T/pv.addr"
}
start_pv
check "the provisioner starts" test -s "$T/pv.addr"

wkget() { k get wk "$1" -o jsonpath="$2" 2>/dev/null; }
ready_reason() { wkget "$1" '{.status.conditions[?(@.type=="Ready")].reason}'; }

check "seeded Wukongs are reported Running by the provisioner" \
	wait_for 40 bash -c '[ "$(kubectl get wk web-1 -o jsonpath={.status.phase})" = Running ] && [ -n "$(kubectl get wk web-1 -o jsonpath={.status.nodeName})" ]'

# an image disk: import progress on the status, then Running
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: img}
spec:
  cpu: 1
  memory: 1Gi
  disks:
  - {name: system, size: 20Gi, storageClassName: shared-rwx, boot: true, image: "https://images.example.com/noble.qcow2"}
  - {name: data, size: 5Gi}
EOF
check "VM img-vm created with the provisioner's label" \
	wait_for 20 bash -c '[ "$(kubectl get vm img-vm -o jsonpath="{.metadata.labels.vm\.novasphere\.dev/provisioner}")" = wukong-provisioner ]'
check "its disks are DataVolumes (http source, blank)" \
	bash -c '[ "$(kubectl get dv img-system -o jsonpath={.spec.source.http.url})" = https://images.example.com/noble.qcow2 ] && kubectl get dv img-data -o jsonpath={.spec.source} | grep -q blank'
check "the status shows per-disk import progress while Provisioning" \
	wait_for 30 bash -c '[ "$(kubectl get wk img -o jsonpath={.status.phase})" = Provisioning ] && kubectl get wk img -o jsonpath="{.status.disks[0].progress}" | grep -Eq "^[0-9]+\.[0-9]{2}%$"'
diag "img: $(wkget img '{.status.phase} {.status.disks}')"
check "img reaches Running on a node, with bootOrder 1 on its boot disk" \
	wait_for 60 bash -c '[ "$(kubectl get wk img -o jsonpath={.status.phase})" = Running ] && [ -n "$(kubectl get wk img -o jsonpath={.status.nodeName})" ] && [ "$(kubectl get vm img-vm -o jsonpath="{.spec.template.spec.domain.devices.disks[0].bootOrder}")" = 1 ]'
check "the DataVolume reports 100.0%" test "$(k get dv img-system -o jsonpath='{.status.progress}')" = "100.0%"

# an unknown storage class
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: nocls}
spec:
  disks: [{name: system, size: 1Gi, storageClassName: gold}]
EOF
check "unknown storage class: Ready=False StorageClassNotFound, phase Pending, no VM" \
	wait_for 20 bash -c '[ "$(kubectl get wk nocls -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].reason}")" = StorageClassNotFound ] && [ "$(kubectl get wk nocls -o jsonpath={.status.phase})" = Pending ] && ! kubectl get vm nocls-vm >/dev/null 2>&1'

# two boot disks
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: twoboot}
spec:
  disks:
  - {name: a, size: 1Gi, boot: true}
  - {name: b, size: 1Gi, boot: true}
EOF
check "two boot disks: refused with a reason (Failed, MultipleBootDisks), no VM" \
	wait_for 20 bash -c '[ "$(kubectl get wk twoboot -o jsonpath="{.status.conditions[?(@.type==\"SpecAccepted\")].reason}")" = MultipleBootDisks ] && [ "$(kubectl get wk twoboot -o jsonpath={.status.phase})" = Failed ] && ! kubectl get vm twoboot-vm >/dev/null 2>&1'
diag "twoboot: $(wkget twoboot '{.status.conditions[?(@.type=="SpecAccepted")].message}')"
check "... and a Warning Event on the Wukong says so" \
	wait_for 10 bash -c 'kubectl get events --field-selector involvedObject.name=twoboot -o jsonpath="{range .items[*]}{.type} {.reason}{\"\n\"}{end}" | grep -q "^Warning MultipleBootDisks"'
check "a Normal Event VirtualMachineCreated on img" \
	bash -c 'kubectl get events --field-selector involvedObject.name=img -o jsonpath="{range .items[*]}{.reason}{\"\n\"}{end}" | grep -q "^VirtualMachineCreated$"'

# an unreachable image
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: badurl}
spec:
  disks: [{name: system, size: 2Gi, boot: true, image: "http://images.invalid/x.img"}]
EOF
check "unreachable image: ImportFailed with the importer's message" \
	wait_for 30 bash -c 'kubectl get wk badurl -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].reason} {.status.conditions[?(@.type==\"Ready\")].message}" | grep -q "^ImportFailed .*no such host"'

# kill -9 during provisioning
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: crash}
spec:
  disks:
  - {name: system, size: 8Gi, boot: true, image: "docker://quay.io/containerdisks/fedora:41"}
  - {name: data, size: 4Gi}
EOF
wait_for 20 kubectl get vm crash-vm
kill -9 "$PV_PID"
k patch wk crash --type=merge -p '{"spec":{"cpu":2}}' >/dev/null
start_pv
check "after kill -9 and restart: one VM and one DataVolume per disk" \
	bash -c '[ "$(kubectl get vm -o name | grep -c "/crash-vm$")" = 1 ] && [ "$(kubectl get dv -l vm.novasphere.dev/wukong=crash -o name | wc -l)" = 2 ]'
check "crash still reaches Running, with the spec change made while it was down" \
	wait_for 60 bash -c '[ "$(kubectl get wk crash -o jsonpath={.status.phase})" = Running ] && [ "$(kubectl get vm crash-vm -o jsonpath={.spec.template.spec.domain.cpu.cores})" = 2 ]'
check "registry source as CDI spells it" test "$(k get dv crash-system -o jsonpath='{.spec.source.registry.url}')" = "docker://quay.io/containerdisks/fedora:41"

# spec.running stops the VM; a cpu change on a running VM asks for a restart
k patch wk img --type=merge -p '{"spec":{"cpu":2}}' >/dev/null
check "cpu change on a running VM: RestartRequired=True saying why" \
	wait_for 20 bash -c 'kubectl get wk img -o jsonpath="{.status.conditions[?(@.type==\"RestartRequired\")].status} {.status.conditions[?(@.type==\"RestartRequired\")].message}" | grep -q "^True .*restart"'
k patch wk img --type=merge -p '{"spec":{"running":false}}' >/dev/null
check "spec.running false: runStrategy Halted, phase Stopped" \
	wait_for 30 bash -c '[ "$(kubectl get vm img-vm -o jsonpath={.spec.runStrategy})" = Halted ] && [ "$(kubectl get wk img -o jsonpath={.status.phase})" = Stopped ]'

# later changes of labels, annotations, networks and nodeSelector reach the VM (a Wukong of its
# own: crash's cpu change made while the provisioner was down may still ask for a restart)
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: meta}
spec: {cpu: 1, memory: 512Mi}
EOF
wait_for 30 bash -c '[ "$(kubectl get wk meta -o jsonpath={.status.phase})" = Running ]' || diag "meta not Running"
k label wk meta tier=front >/dev/null
k annotate wk meta owner=ops >/dev/null
check "a label and an annotation added to the Wukong reach the VM and its template" \
	wait_for 20 bash -c '[ "$(kubectl get vm meta-vm -o jsonpath="{.metadata.labels.tier} {.spec.template.metadata.labels.tier} {.metadata.annotations.owner}")" = "front front ops" ]'
check "... the running VMI keeps its own: RestartRequired names the label" \
	wait_for 20 bash -c 'kubectl get wk meta -o jsonpath="{.status.conditions[?(@.type==\"RestartRequired\")].status} {.status.conditions[?(@.type==\"RestartRequired\")].message}" | grep -q "^True label .tier. changed"'
k label wk meta tier- >/dev/null
check "a label removed from the Wukong is removed from the VM (others' labels stay)" \
	wait_for 20 bash -c '[ -z "$(kubectl get vm meta-vm -o jsonpath="{.metadata.labels.tier}{.spec.template.metadata.labels.tier}")" ] && [ -n "$(kubectl get vm meta-vm -o jsonpath="{.metadata.labels.vm\.novasphere\.dev/provisioner}")" ]'
k patch wk meta --type=merge -p '{"spec":{"nodeSelector":{"kubernetes.io/os":"linux"},"networks":[{"name":"default","type":"pod"},{"name":"storage","type":"multus","networkName":"storage-net"}]}}' >/dev/null
check "networks and nodeSelector changed: the VM's template has them" \
	wait_for 20 bash -c '[ "$(kubectl get vm meta-vm -o jsonpath="{.spec.template.spec.nodeSelector.kubernetes\.io/os} {.spec.template.spec.networks[1].multus.networkName} {.spec.template.spec.domain.devices.interfaces[1].name}")" = "linux storage-net storage" ]'
check "... RestartRequired says the networks changed" \
	wait_for 20 bash -c 'kubectl get wk meta -o jsonpath="{.status.conditions[?(@.type==\"RestartRequired\")].message}" | grep -q "networks changed"'

# adoption: a VM someone else made is followed, not rewritten
k apply -f - >/dev/null <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: adopt-vm}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        cpu: {cores: 1}
        memory: {guest: 512Mi}
        resources: {requests: {memory: 512Mi}}
        devices: {}
EOF
k apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: adopt}
spec: {cpu: 4, memory: 8Gi}
EOF
check "adopted VM: status followed (Running)" \
	wait_for 30 bash -c '[ "$(kubectl get wk adopt -o jsonpath={.status.phase})" = Running ]'
check "adopted VM: not rewritten (cpu 1, no provisioner label)" \
	bash -c '[ "$(kubectl get vm adopt-vm -o jsonpath={.spec.template.spec.domain.cpu.cores})" = 1 ] && [ -z "$(kubectl get vm adopt-vm -o jsonpath="{.metadata.labels.vm\.novasphere\.dev/provisioner}")" ]'

# deleting the Wukong removes its VM and the VM's DataVolumes
k delete wk crash --wait=false >/dev/null
check "Wukong deleted: its VM and DataVolumes go" \
	wait_for 20 bash -c '! kubectl get vm crash-vm >/dev/null 2>&1 && [ "$(kubectl get dv -l vm.novasphere.dev/wukong=crash -o name | wc -l)" = 0 ]'
finish
