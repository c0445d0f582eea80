#!/usr/bin/env bash
# 0017-sim-conformance.sh - the conformance checker (tests/kv-conformance.py) finds what it must
# (self-test), then a representative workload on the simulator with real-cluster node names
# (tools/sim/scenarios/ec2.yaml: dots in every name) - a migration, a snapshot, a restore, a clone
# from the snapshot, a migration that is aborted, a policy - after which every KubeVirt object
# conforms to the simulated version's definitions. NodeMetrics are listed with kubectl as
# metrics-server serves them: node names with dots, no uid, no resourceVersion.
. "$(dirname "$0")/../lib.sh"

check "the checker's self-test finds missing fields, bad types and unknown phases" \
	/usr/bin/python3 "$ROOT/tests/kv-conformance.py" --self-test --openapi "$ROOT/tools/sim/openapi"

start_sim --scenario "$ROOT/tools/sim/scenarios/ec2.yaml" --time-factor 20
K="kubectl --kubeconfig $KC --request-timeout=10s"
check "the VMIs run" wait_for 30 bash -c \
	"[ \$($K get vmi -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Running) = 3 ]"

# --- NodeMetrics (issue 15 item 6) ---
out=$($K get nodemetrics.metrics.k8s.io 2>&1)
check "kubectl lists NodeMetrics for dotted node names" grep -q '^ip-10-0-1-5.ec2.internal ' <<<"$out"
out=$($K get nodemetrics.metrics.k8s.io ip-10-0-2-17.ec2.internal -o json 2>&1)
check "get by a dotted name" grep -q '"name": "ip-10-0-2-17.ec2.internal"' <<<"$out"
check "no metadata.uid (metrics-server builds each object on the fly)" bash -c "! grep -q '\"uid\"' <<<'$out'"
check "no metadata.resourceVersion" bash -c "! grep -q '\"resourceVersion\"' <<<'$out'"
check "the Node's labels are on it" grep -q '"topology.kubernetes.io/zone": "us-east-1b"' <<<"$out"
out=$($K top nodes 2>&1)
check "kubectl top nodes" grep -q '^ip-10-0-3-201.ec2.internal ' <<<"$out"

# --- a workload that writes every KubeVirt kind ---
create() { $K create --validate=false -f - >/dev/null; }
printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"m-web"},"spec":{"vmiName":"web-vm"}}' | create
printf '{"apiVersion":"snapshot.kubevirt.io/v1beta1","kind":"VirtualMachineSnapshot","metadata":{"name":"s-db"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"db-vm"}}}' | create
printf '{"apiVersion":"migrations.kubevirt.io/v1alpha1","kind":"MigrationPolicy","metadata":{"name":"p1"},"spec":{"allowPostCopy":true,"selectors":{"virtualMachineInstanceSelector":{"x":"y"}}}}' | create
check "the migration succeeds" wait_for 60 bash -c "[ \"\$($K get vmim m-web -o jsonpath='{.status.phase}')\" = Succeeded ]"
check "the snapshot is ready" wait_for 60 bash -c "[ \"\$($K get vmsnapshot s-db -o jsonpath='{.status.readyToUse}')\" = true ]"
printf '{"apiVersion":"snapshot.kubevirt.io/v1beta1","kind":"VirtualMachineRestore","metadata":{"name":"r-db"},"spec":{"target":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"db-restored"},"virtualMachineSnapshotName":"s-db"}}' | create
printf '{"apiVersion":"clone.kubevirt.io/v1beta1","kind":"VirtualMachineClone","metadata":{"name":"c-db"},"spec":{"source":{"apiGroup":"snapshot.kubevirt.io","kind":"VirtualMachineSnapshot","name":"s-db"},"target":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"db-clone"}}}' | create
check "the restore completes" wait_for 60 bash -c "[ \"\$($K get vmrestore r-db -o jsonpath='{.status.complete}')\" = true ]"
check "the clone succeeds" wait_for 60 bash -c "[ \"\$($K get vmclone c-db -o jsonpath='{.status.phase}')\" = Succeeded ]"
printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"m-cache"},"spec":{"vmiName":"cache-vm"}}' | create
$K delete vmim m-cache --wait=false >/dev/null 2>&1
check "the cancelled migration ends" wait_for 60 bash -c "! $K get vmim m-cache >/dev/null 2>&1 || [ \"\$($K get vmim m-cache -o jsonpath='{.status.phase}')\" = Failed ]"
conformance_check "$KC"
finish
