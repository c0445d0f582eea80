#!/usr/bin/env bash
# 0012-sim-kubectl-table.sh - server-side printing with the real kubectl (1.32) against
# wukong-sim: the Wukong CRD's printer columns with values after a status patch, nodes'
# STATUS through cordon/uncordon, VMIs' PHASE/NODENAME, -o wide, --show-labels/-L (row
# metadata), --sort-by (includeObject=Object), get -w rows from Table watch events, and
# -o json/yaml/jsonpath still returning plain objects.
. "$(dirname "$0")/../lib.sh"

export HOME="$T/home" # kubectl's discovery cache is per HOME
mkdir -p "$HOME"
start_bg sim "$BIN/wukong-sim" --dir "$T/sim"
wait_for 20 grep -q '^kubeconfig=' "$T/sim.log" || {
	not_ok "wukong-sim prints kubeconfig=PATH"
	cat "$T/sim.log"
	finish
	exit 1
}
export KUBECONFIG
KUBECONFIG=$(sed -n 's/^kubeconfig=//p' "$T/sim.log")
k() { timeout 30 kubectl "$@"; }
# the first line of a command's output, spaces squeezed
head1() { "$@" 2>&1 | head -1 | tr -s ' ' | sed 's/ $//'; }

cat >"$T/wk1.yaml" <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata:
  name: wk1
spec:
  cpu: 2
  memory: 1Gi
  disks:
  - name: system
    size: 10Gi
EOF
out=$(k apply -f "$T/wk1.yaml" 2>&1)
check "apply creates wk1" grep -q 'wukong.vm.novasphere.dev/wk1 created' <<<"$out"
# The simulator has no Wukong operator (issue 17: wukong-provisioner makes the VM, not started
# here): the test makes wk1's VM itself, as the provisioner would.
cat >"$T/wk1-vm.yaml" <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: wk1-vm
  labels: {vm.novasphere.dev/wukong: wk1}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        cpu: {cores: 2}
        memory: {guest: 1Gi}
        resources: {requests: {memory: 1Gi}}
        devices:
          interfaces: [{name: default, masquerade: {}}]
      networks: [{name: default, pod: {}}]
EOF
k apply -f "$T/wk1-vm.yaml" >/dev/null 2>&1

# --- the Wukong CRD's additionalPrinterColumns
# the header is NAME and then exactly the CRD's additionalPrinterColumns, upper-cased
# (priority-1 columns show only with -o wide)
crd_cols=$(sed -n '/additionalPrinterColumns:/,/schema:/{/priority: *[1-9]/d;s/.*{name: *\([^,]*\),.*/\1/p}' \
	"$(dirname "$0")/../../deploy/crds/wukong.yaml" | tr 'a-z\n' 'A-Z ' | sed 's/ $//')
diag "CRD printer columns: $crd_cols"
check "the CRD declares Phase, Node, Migration, Progress, Clone and Age columns" \
	grep -q '^PHASE NODE MIGRATION PROGRESS CLONE AGE' <<<"$crd_cols"
check "get wukongs prints the CRD's printer columns" \
	test "$(head1 k get wukongs)" = "NAME $crd_cols"
# phase and nodeName as wukong-provisioner reports them (through the status writer)
wait_for 20 bash -c "[ -n \"\$(kubectl get vmi wk1-vm -o jsonpath={.status.nodeName} 2>/dev/null)\" ]"
node=$(k get vmi wk1-vm -o jsonpath='{.status.nodeName}')
out=$(k patch wk wk1 --type=merge --subresource=status \
	-p '{"status":{"phase":"Running","nodeName":"'"$node"'","migrationStatus":{"phase":"Running","progress":42},"cloneStatus":{"phase":"Succeeded"}}}' 2>&1)
check "patch --subresource=status" grep -q 'wk1 patched' <<<"$out"
row_ok() { k get wk wk1 --no-headers 2>/dev/null | grep -Eq "$1"; }
check "wk1's row shows phase, node, migration phase, progress, clone phase and age" \
	wait_for 20 row_ok '^wk1 +Running +node-[0-9]+ +Running +42 +Succeeded +[0-9]+s$'
check "get wk wk1 (one object) is a one-row Table" \
	test "$(k get wk wk1 2>&1 | wc -l)" -eq 2
out=$(k get wk wk1 -o wide 2>&1)
check "-o wide keeps the columns" grep -Eq '^wk1 +Running +node-[0-9]+ +Running +42 ' <<<"$out"

# --- plain objects whenever kubectl does not print a table
out=$(k get wk -o json 2>&1)
check "-o json is the plain list" \
	bash -c 'grep -q "\"kind\": \"List\"\|\"kind\": \"WukongList\"" <<<"$1" && grep -q "\"progress\": 42" <<<"$1" && ! grep -q "\"kind\": \"Table\"" <<<"$1"' _ "$out"
out=$(k get wk wk1 -o yaml 2>&1)
check "-o yaml is the plain object" \
	bash -c 'grep -q "^kind: Wukong$" <<<"$1" && grep -q "progress: 42" <<<"$1"' _ "$out"
check "-o jsonpath reads the object" \
	test "$(k get wk wk1 -o jsonpath='{.kind}/{.status.migrationStatus.progress}')" = "Wukong/42"
check "-o name" test "$(k get wk -o name 2>&1 | grep wk1)" = "wukong.vm.novasphere.dev/wk1"

# --- row metadata (PartialObjectMetadata) and full objects (--sort-by)
k label wk wk1 team=blue >/dev/null 2>&1
out=$(k get wk wk1 --show-labels 2>&1)
check "--show-labels uses the rows' metadata" grep -Eq '^wk1 .* team=blue$' <<<"$out"
check "-L team adds a label column" test "$(head1 k get wk -L team)" = "NAME $crd_cols TEAM"
out=$(k get wk --sort-by=.metadata.name --no-headers 2>&1)
check "--sort-by (includeObject=Object) prints sorted rows" \
	bash -c '[ "$(awk "{print \$1}" <<<"$1")" = "$(awk "{print \$1}" <<<"$1" | sort)" ] && grep -q "^wk1 " <<<"$1"' _ "$out"

# --- get -w: Table watch events print as rows under one header
timeout 15 kubectl get wukongs -w >"$T/watch.out" 2>&1 &
wpid=$!
wait_for 10 grep -q '^wk1 ' "$T/watch.out"
k patch wk wk1 --type=merge --subresource=status -p '{"status":{"migrationStatus":{"progress":77}}}' >/dev/null
check "get -w prints the changed row with its columns" \
	wait_for 10 grep -Eq '^wk1 +[A-Za-z]+ +node-[0-9]+ +Running +77 +Succeeded ' "$T/watch.out"
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "get -w prints the header once" test "$(grep -c '^NAME ' "$T/watch.out")" -eq 1

# --- nodes
check "get nodes prints NAME STATUS ROLES AGE VERSION" \
	test "$(head1 k get nodes)" = "NAME STATUS ROLES AGE VERSION"
node=$(k get nodes -o jsonpath='{.items[0].metadata.name}')
node_row() { k get node "$node" --no-headers 2>/dev/null | grep -Eq "$1"; }
check "a healthy node is Ready" node_row "^$node +Ready +[a-z<>-]+ +[0-9]+[smhd] +v1\.32"
k cordon "$node" >/dev/null 2>&1
check "a cordoned node is Ready,SchedulingDisabled" node_row "^$node +Ready,SchedulingDisabled "
k uncordon "$node" >/dev/null 2>&1
check "uncordon: Ready again" node_row "^$node +Ready "
check "get nodes -o wide adds the priority-1 columns" \
	test "$(head1 k get nodes -o wide)" = \
	"NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"

# --- KubeVirt's printer columns
check "get vmis prints NAME AGE PHASE IP NODENAME READY" \
	test "$(head1 k get vmis)" = "NAME AGE PHASE IP NODENAME READY"
vmi_row() { k get vmi wk1-vm --no-headers 2>/dev/null | grep -Eq "$1"; }
check "wk1-vm's row shows Running and its node" \
	wait_for 20 vmi_row '^wk1-vm +[0-9]+s +Running +[0-9.]+ +node-[0-9]+ +True$'
check "get vmis -o wide adds LIVE-MIGRATABLE and PAUSED" \
	test "$(head1 k get vmis -o wide)" = "NAME AGE PHASE IP NODENAME READY LIVE-MIGRATABLE PAUSED"
check "get vms prints NAME AGE STATUS READY" test "$(head1 k get vms)" = "NAME AGE STATUS READY"
cat >"$T/mig.yaml" <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata:
  name: mig1
spec:
  vmiName: wk1-vm
EOF
k apply -f "$T/mig.yaml" >/dev/null 2>&1
check "get vmims prints NAME PHASE VMI" test "$(head1 k get vmims)" = "NAME PHASE VMI"
vmim_row() { k get vmim mig1 --no-headers 2>/dev/null | grep -Eq "$1"; }
check "mig1's row shows its phase and VMI" wait_for 10 vmim_row '^mig1 +[A-Za-z]+ +wk1-vm$'
check "get kubevirts prints NAME AGE PHASE" \
	test "$(head1 k get kubevirts -A)" = "NAMESPACE NAME AGE PHASE"

# --- other built-in kinds
check "get namespaces prints NAME STATUS AGE" test "$(head1 k get ns)" = "NAME STATUS AGE"
check "get pvc prints the PVC columns" test "$(head1 k get pvc)" = \
	"NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE"
check "get events -A prints LAST SEEN TYPE REASON OBJECT MESSAGE" \
	test "$(head1 k get events -A)" = "NAMESPACE LAST SEEN TYPE REASON OBJECT MESSAGE"
check "get crd prints NAME CREATED AT" test "$(head1 k get crd)" = "NAME CREATED AT"
check "get storageclasses prints the class columns" test "$(head1 k get sc)" = \
	"NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE"

finish
