#!/usr/bin/env bash
# 0011-sim-migration.sh - the simulator's migration model through the real kubectl: a VMIM with
# addedNodeSelector walks the phases in order and lands the VMI on the target; a VM that dirties
# memory faster than the link times out under completionTimeoutPerGiB; the same VM completes in
# post-copy once a MigrationPolicy (kubectl apply) allows it; the metrics endpoint shows
# data_remaining_bytes falling during a migration; deleting a running VMIM aborts it.
. "$(dirname "$0")/../lib.sh"

cat >"$T/scenario.yaml" <<'EOF'
seed: 11
linkBandwidth: 1Gi
migrations: {completionTimeoutPerGiB: 10, progressTimeout: 1000}
nodes:
  - {name: n1, cpu: 16, memory: 64Gi, labels: {pool: a}}
  - {name: n2, cpu: 16, memory: 64Gi, labels: {pool: a}}
  - {name: n3, cpu: 16, memory: 64Gi, labels: {pool: a}, linkBandwidth: 256Mi}
vms:
  - {name: web, memory: 2Gi, dirtyRate: 8Mi, disks: [{name: system, size: 10Gi}]}
  - {name: hot, memory: 2Gi, dirtyRate: 1536Mi, labels: {tier: hot}, disks: [{name: system, size: 10Gi}]}
  - {name: big, memory: 8Gi, dirtyRate: 16Mi, disks: [{name: system, size: 10Gi}]}
EOF

start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" --time-factor 10
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
SERVER=$(sed -n 's/^ *server: *//p' "$T/sim/kubeconfig" | head -1)
ctl() { # ctl METHOD PATH [BODY]: the simulator's control API
	curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" \
		-X "$1" ${3:+-d "$3"} "$SERVER/sim$2"
}
vmi_node() { $K get vmi "$1" -o jsonpath='{.status.nodeName}'; }
phase_is() { [ "$($K get vmim "$1" -o jsonpath='{.status.phase}' 2>/dev/null)" = "$2" ]; }
final() { phase_is "$1" Succeeded || phase_is "$1" Failed; }

check "VMIs of the scenario are Running" wait_for 20 bash -c \
	"[ \$($K get vmi -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Running) = 3 ]"

# --- 1. addedNodeSelector: phases in order, VMI on the chosen node --------------------------
src=$(vmi_node web-vm)
target=n1
[ "$src" = n1 ] && target=n2
diag "web-vm on $src, migrating to $target"
cat >"$T/mig1.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata:
  name: mig-web
  namespace: default
spec:
  vmiName: web-vm
  addedNodeSelector:
    kubernetes.io/hostname: $target
EOF
$K get vmim -w -o jsonpath='{.status.phase}{"\n"}' >"$T/watch1" 2>&1 &
WPID=$!
_pids+=("$WPID")
sleep 0.5
check "kubectl apply creates the VMIM" $K apply -f "$T/mig1.yaml"
check "the VMIM succeeds" wait_for 30 phase_is mig-web Succeeded
phases=$($K get vmim mig-web -o jsonpath='{.status.phaseTransitionTimestamps[*].phase}')
check "phaseTransitionTimestamps list the phases in order ($phases)" \
	test "$phases" = "Pending Scheduling Scheduled PreparingTarget TargetReady Running Succeeded"
kill "$WPID" 2>/dev/null
seen=$(grep -v '^$' "$T/watch1" | uniq | tr '\n' ' ')
diag "watched: $seen"
check "kubectl get -w saw Running before Succeeded" \
	bash -c "grep -n '^Running' '$T/watch1' | head -1 | cut -d: -f1 | { read r; s=\$(grep -n '^Succeeded' '$T/watch1' | head -1 | cut -d: -f1); [ -n \"\$r\" ] && [ \"\$r\" -lt \"\$s\" ]; }"
check "the VMI now runs on $target" test "$(vmi_node web-vm)" = "$target"
check "migrationState names source and target" test \
	"$($K get vmi web-vm -o jsonpath='{.status.migrationState.sourceNode}/{.status.migrationState.targetNode}/{.status.migrationState.completed}')" = "$src/$target/true"
check "the finished VMIM has no finalizer left" \
	test -z "$($K get vmim mig-web -o jsonpath='{.metadata.finalizers}')"

# --- 2. a VM that never converges times out under completionTimeoutPerGiB -------------------
cat >"$T/mig2.yaml" <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata: {name: mig-hot-1, namespace: default}
spec: {vmiName: hot-vm}
EOF
hot_src=$(vmi_node hot-vm)
check "kubectl apply creates the second VMIM" $K apply -f "$T/mig2.yaml"
check "the non-converging migration fails" wait_for 40 phase_is mig-hot-1 Failed
reason=$($K get vmi hot-vm -o jsonpath='{.status.migrationState.failureReason}')
diag "failureReason: $reason"
# 10 s/GiB x 2 GiB = 20 s of simulated time
check "it failed for the completion timeout" \
	test "$reason" = "Live migration is not completed after 20 seconds and has been aborted"
check "the VMIM carries the final migrationState" test \
	"$($K get vmim mig-hot-1 -o jsonpath='{.status.migrationState.failed}')" = true
check "the VMI stayed on its node" test "$(vmi_node hot-vm)" = "$hot_src"

# --- 3. the same VM completes with post-copy allowed by a MigrationPolicy --------------------
cat >"$T/policy.yaml" <<'EOF'
apiVersion: migrations.kubevirt.io/v1alpha1
kind: MigrationPolicy
metadata: {name: hot-postcopy}
spec:
  allowPostCopy: true
  selectors:
    virtualMachineInstanceSelector: {tier: hot}
EOF
check "kubectl apply creates the MigrationPolicy" $K apply -f "$T/policy.yaml"
sed 's/mig-hot-1/mig-hot-2/' "$T/mig2.yaml" >"$T/mig3.yaml"
check "kubectl apply creates the third VMIM" $K apply -f "$T/mig3.yaml"
check "the migration now succeeds" wait_for 40 final mig-hot-2
check "... as Succeeded" phase_is mig-hot-2 Succeeded
check "in post-copy mode" test "$($K get vmi hot-vm -o jsonpath='{.status.migrationState.mode}')" = PostCopy
check "with the policy named in migrationState" test \
	"$($K get vmi hot-vm -o jsonpath='{.status.migrationState.migrationPolicyName}')" = hot-postcopy
check "and allowPostCopy in the effective configuration" test \
	"$($K get vmi hot-vm -o jsonpath='{.status.migrationState.migrationConfiguration.allowPostCopy}')" = true
check "the VMI moved" test "$(vmi_node hot-vm)" != "$hot_src"

# --- 4. metrics: data_remaining_bytes falls during a migration -------------------------------
# big-vm (8 GiB) migrates to n3, whose NIC is 256 MiB/s: about 32 s of simulated time.
ctl POST /time '{"timeFactor":4}' >/dev/null
kv_endpoints "$T/sim"
check "the metrics endpoints are listed as a cluster lists them (one virt-handler per node + virt-controller)" \
	test "$(wc -w <<<"$KV_IPS")" -eq "$(($($K get nodes -o name | wc -l) + 1))"
check "no DIR/metrics-url: upstream has no fixed URL list" test ! -e "$T/sim/metrics-url"
cat >"$T/mig4.yaml" <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata: {name: mig-big, namespace: default}
spec:
  vmiName: big-vm
  addedNodeSelector: {kubernetes.io/hostname: n3}
EOF
if [ "$(vmi_node big-vm)" = n3 ]; then sed -i 's/: n3}/: n1}/' "$T/mig4.yaml"; fi
check "kubectl apply creates the metrics VMIM" $K apply -f "$T/mig4.yaml"
check "it reaches Running" wait_for 30 phase_is mig-big Running
: >"$T/remaining"
for _ in $(seq 1 40); do
	kv_metrics "$T/sim" | sed -n 's/^kubevirt_vmi_migration_data_remaining_bytes{name="big-vm",namespace="default",node="[^"]*"} //p' >>"$T/remaining"
	final mig-big && break
	sleep 0.25
done
diag "remaining samples: $(tr '\n' ' ' <"$T/remaining" | cut -c1-200)"
check "several data_remaining_bytes samples" test "$(grep -c . "$T/remaining")" -ge 3
check "data_remaining_bytes fell" bash -c "first=\$(head -1 '$T/remaining'); last=\$(tail -1 '$T/remaining'); [ \"\${last%.*}\" -lt \"\${first%.*}\" ]"
check "the metric carries the real labels" grep -q '^# TYPE kubevirt_vmi_migration_data_bytes_total counter' <<<"$(kv_metrics "$T/sim")"
check "each virt-handler serves only its node's migrations (the source's)" \
	test "$(kv_metrics "$T/sim" | grep -c '^kubevirt_vmi_migration_data_bytes_total{name="big-vm"')" -le 1
check "virt-handler without KubeVirt's CA is refused (certificate not from the API's CA)" bash -c \
	"! curl -sf --max-time 5 --cacert '$T/sim/ca.crt' --resolve virt-handler.kubevirt.svc:$KV_PORT:${KV_IPS%% *} https://virt-handler.kubevirt.svc:$KV_PORT/metrics >/dev/null"
check "the metrics migration succeeds" wait_for 40 phase_is mig-big Succeeded

# --- 5. deleting a running VMIM aborts it ----------------------------------------------------
ctl POST /vms/default/hot/dirty-rate '{"dirtyRate":"1Gi"}' >/dev/null
$K delete migrationpolicy hot-postcopy >/dev/null
ctl POST /time '{"timeFactor":1}' >/dev/null
sed 's/mig-hot-1/mig-hot-3/' "$T/mig2.yaml" >"$T/mig5.yaml"
check "kubectl apply creates the VMIM to abort" $K apply -f "$T/mig5.yaml"
check "it reaches Running" wait_for 30 phase_is mig-hot-3 Running
check "kubectl delete returns once the VMIM is gone" timeout 20 $K delete vmim mig-hot-3
check "abortStatus Succeeded on the VMI" test \
	"$($K get vmi hot-vm -o jsonpath='{.status.migrationState.abortStatus}')" = Succeeded
check "failureReason says it was aborted" test \
	"$($K get vmi hot-vm -o jsonpath='{.status.migrationState.failureReason}')" = "Live migration has been aborted"
check "the simulator counts what happened" bash -c \
	"ctl() { curl -sf --cacert '$T/sim/ca.crt' -H 'Authorization: Bearer $(cat "$T/sim/token")' '$SERVER/sim/state'; }; ctl | grep -q '\"succeeded\":3'"
finish
