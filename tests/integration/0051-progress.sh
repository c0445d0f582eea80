#!/usr/bin/env bash
# 0051-progress.sh - live migration progress on the Wukong: the simulator migrates a VM (a VMIM
# created with kubectl), the watcher publishes wukong.events, wukong-progress scrapes the
# simulator's KubeVirt migration metrics and sends status updates, wukong-status writes them:
# `kubectl get wukong X -o jsonpath={.status.migrationStatus.progress}` rises from 0 to 100 and
# never goes back, the ETA falls, `kubectl get wukongs` shows the phase and progress columns; a
# cordoned node shows per-node evacuation progress on wukong.progress and /metrics; what
# wukong-progress emits validates against the schemas.
. "$(dirname "$0")/../lib.sh"

for b in wukong-sim wukong-watcher wukong-progress wukong-status; do
	[ -x "$BIN/$b" ] || { not_ok "$b is built"; finish; exit 1; }
done

cat >"$T/scenario.yaml" <<'EOF'
seed: 51
linkBandwidth: 256Mi
migrations: {completionTimeoutPerGiB: 800, progressTimeout: 1000}
nodes:
  - {name: n1, cpu: 16, memory: 64Gi}
  - {name: n2, cpu: 16, memory: 64Gi}
vms:
  - {name: big, memory: 6Gi, dirtyRate: 24Mi, disks: [{name: system, size: 10Gi}]}
  - {name: small, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi}]}
EOF

start_kafka 1
mkdir -p "$T/sim"
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" ${SIM_ARGS:-}
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
check "the VMIs are Running" wait_for 30 bash -c \
	"[ \$($K get vmi -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Running) = 2 ]"
COMMON=(-X kafka.bootstrap.servers="$BOOTSTRAP" -X kafka.session.timeout.ms=6000
	-X kube.config="$T/sim/kubeconfig")

start_bg watcher "$BIN/wukong-watcher" "${COMMON[@]}" -X http.addr-file="$T/watcher.addr" \
	-X watcher.lease.namespace=default -X consumer.group="wt-$$-$RANDOM"
start_bg status "$BIN/wukong-status" "${COMMON[@]}" -X http.addr-file="$T/status.addr" \
	-X consumer.group="st-$$-$RANDOM" -X status.coalesce-delay=50ms
# The simulator lists KubeVirt's metrics endpoints only as a cluster does (the
# kubevirt-prometheus-metrics EndpointSlices, HTTPS with KubeVirt's CA, DIR/kubevirt-ca.crt):
# wukong-progress discovers them (issue 16 item 8).
start_bg progress "$BIN/wukong-progress" "${COMMON[@]}" -X http.addr-file="$T/progress.addr" \
	-X consumer.group="pg-$$-$RANDOM" $(progress_metrics_args "$T/sim") \
	-X progress.scrape-interval=500ms -X progress.status-interval=500ms \
	-X progress.aggregate-interval=1s
for s in watcher status progress; do
	wait_for 20 test -s "$T/$s.addr" || { not_ok "wukong-$s started"; tail "$T/$s.log"; exit 1; }
done
check "wukong-status holds the lease" wait_for 20 grep -q acquired "$T/status.log"
# The consumers' groups take a few seconds to join the embedded broker's group coordinator.
wait_for 30 grep -q 'assigned' "$T/progress.log"
wait_for 30 grep -q 'assigned' "$T/status.log"

src=$($K get vmi big-vm -o jsonpath='{.status.nodeName}')
target=n1
[ "$src" = n1 ] && target=n2
cat >"$T/mig.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata: {name: mig-big, namespace: default}
spec:
  vmiName: big-vm
  addedNodeSelector: {kubernetes.io/hostname: $target}
EOF
# sample progress and ETA while the migration runs
jp() { $K get wukong big -o jsonpath="$1" 2>/dev/null; }
(
	while :; do
		echo "$(jp '{.status.migrationStatus.progress}'),$(jp '{.status.migrationStatus.etaSeconds}'),$(jp '{.status.migrationStatus.phase}')"
		sleep 0.3
	done
) >"$T/samples" &
_pids+=("$!")
check "kubectl creates the VMIM" $K apply --validate=false -f "$T/mig.yaml"
check "the migration succeeds" wait_for 120 eval '[ "$($K get vmim mig-big -o jsonpath={.status.phase})" = Succeeded ]'
check "progress reaches 100 on the Wukong" wait_for 30 eval '[ "$(jp "{.status.migrationStatus.progress}")" = 100 ]'
check "migrationStatus.phase is Succeeded" wait_for 10 eval '[ "$(jp "{.status.migrationStatus.phase}")" = Succeeded ]'
sleep 0.5
diag "samples (progress/eta): $(awk -F, '$1 != "" {print $1 "/" $2}' "$T/samples" | uniq | tr '\n' ' ' | cut -c1-600)"
check "progress started low (<= 50) and took at least 3 distinct values" awk -F, '
	$1 != "" { if (!n++) first = $1; seen[$1] = 1 } END { k = 0; for (v in seen) k++; exit !(first <= 50 && k >= 3) }' "$T/samples"
check "progress never went back" awk -F, '$1 != "" { if ($1 + 0 < last) bad = 1; last = $1 + 0 } END { exit bad }' "$T/samples"
check "the ETA fell during the migration (status.migrationStatus.etaSeconds: the CRD must declare it)" awk -F, '
	$2 != "" && $1 < 100 { if (!n++) first = $2; lastv = $2 } END { exit !(n >= 2 && lastv < first) }' "$T/samples"

cols=$($K get wukongs 2>&1 | head -1)
diag "kubectl get wukongs: $cols"
check "kubectl get wukongs prints the Phase column" grep -q PHASE <<<"$cols"
check "kubectl get wukongs prints the Progress column" grep -q PROGRESS <<<"$cols"
check "the Progress column shows 100 for big" eval "$K get wukongs | awk '\$1 == \"big\"' | grep -qw 100"

# --- evacuation: cordon the node the small VM is on, watch per-node progress --------------------
node=$($K get vmi small-vm -o jsonpath='{.status.nodeName}')
check "kubectl cordon $node" $K cordon "$node"
m() { curl -s "http://$(cat "$T/progress.addr")/metrics"; }
check "/metrics shows per-node VMs left for $node" wait_for 20 eval \
	"m | grep -q '^wukong_progress_node_remaining_vms{node=\"$node\"} [1-9]'"
check "/metrics shows the cluster aggregates" eval "m | grep -q '^wukong_progress_migrations{state=\"running\"}' && m | grep -q '^wukong_progress_migrations_failed_last_hour'"
timeout 10 kcat -C -b "$BOOTSTRAP" -t wukong.progress -o beginning -e -q -f '%h\t%s\n' >"$T/progress.msgs" 2>/dev/null
check "wukong.progress has an evacuation message for $node" \
	grep -q "\"type\":\"evacuation\".*\"node\":\"$node\"" "$T/progress.msgs"
check "wukong.progress has migration progress messages" grep -q '"type":"migration"' "$T/progress.msgs"
check "wukong.progress has cluster aggregates" grep -q '"type":"cluster"' "$T/progress.msgs"
cut -f2 "$T/progress.msgs" >"$T/progress.jsonl"
check "every wukong.progress body validates against schemas/progress.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/progress.v1.json" "$T/progress.jsonl"
timeout 10 kcat -C -b "$BOOTSTRAP" -t wukong.status -o beginning -e -q -f '%s\n' >"$T/status.jsonl" 2>/dev/null
check "wukong-progress's status updates validate against schemas/status-update.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/status-update.v1.json" "$T/status.jsonl"
finish
