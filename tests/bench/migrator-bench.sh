#!/usr/bin/env bash
# migrator-bench.sh - reaction latency of wukong-migrator: from a Wukong's spec.migration change
# (a merge PATCH accepted by the API server) to the creation of its VMIM (seen on a watch), through
# the whole pipeline (simulator -> watcher -> wukong.events -> migrator -> pre-flight look-ups ->
# VMIM POST). Measured with 10,000 VMs (tools/sim/scenarios/scale-10k.yaml) and, in the same run,
# with 100 VMs, plus the raw API round trip of the PATCH itself. The stack is the one `make run` and
# the integration tests start, wukong-provisioner included (the VM behind every Wukong). Prints
# p50/p99 and the ratios; asserts nothing about time (machines differ). Knob: MIG_BENCH_N (samples per size, default 40).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
N=${MIG_BENCH_N:-40}
T=$(mktemp -d "${TMPDIR:-/tmp}/wukong-mig-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
for b in wukong-kafka wukong-sim wukong-watcher wukong-migrator wukong-provisioner; do
	[ -x "$BIN/$b" ] || { echo "build first: $BIN/$b is missing" >&2; exit 2; }
done

cat >"$T/small.yaml" <<'YAML'
seed: 1
linkBandwidth: 1250M
nodes:
  - {name: node, count: 5, cpu: 96, memory: 512Gi, labels: {pool: general}}
vms:
  - {name: vm, count: 100, cpu: 2, memory: 4Gi, dirtyRate: 16Mi, disks: [{name: system, size: 20Gi}]}
YAML

# run NAME SCENARIO: one full stack, N measurements; writes "raw_us_list|react_us_list" to
# $T/NAME/result (not a command substitution: the background processes would hold its pipe).
run() {
	local name=$1 scen=$2 d="$T/$1" i
	mkdir -p "$d"
	"$BIN/wukong-kafka" --brokers 1 --bootstrap-file "$d/bootstrap" >"$d/kafka.log" 2>&1 &
	PIDS+=($!)
	# Simulated time x1000: each measured migration is over in milliseconds, so the cluster's
	# limits never queue the next one and only the reaction is measured.
	"$BIN/wukong-sim" --dir "$d/sim" --scenario "$scen" --time-factor 1000 >"$d/sim.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1200); do [ -s "$d/bootstrap" ] && [ -s "$d/sim/kubeconfig" ] && break; sleep 0.1; done
	local bs kc srv tok
	bs=$(cat "$d/bootstrap")
	kc="$d/sim/kubeconfig"
	srv=$(kubectl --kubeconfig "$kc" config view --raw -o jsonpath='{.clusters[0].cluster.server}')
	tok=$(cat "$d/sim/token")
	"$BIN/wukong-watcher" -X kafka.bootstrap.servers="$bs" -X kube.config="$kc" \
		-X watcher.lease.enabled=false -X http.addr-file="$d/watcher.addr" >"$d/watcher.log" 2>&1 &
	PIDS+=($!)
	"$BIN/wukong-migrator" -X kafka.bootstrap.servers="$bs" -X kube.config="$kc" \
		-X http.addr-file="$d/migrator.addr" -X migrator.kubernetes-events=false \
		-X log.level=warn >"$d/migrator.log" 2>&1 &
	PIDS+=($!)
	"$BIN/wukong-provisioner" -X kafka.bootstrap.servers="$bs" -X kube.config="$kc" \
		-X http.addr-file="$d/provisioner.addr" -X provisioner.kubernetes-events=false \
		-X log.level=warn >"$d/provisioner.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 600); do [ -s "$d/migrator.addr" ] && [ -s "$d/provisioner.addr" ] && break; sleep 0.1; done
	# Caught up: the migrator's message counter stops moving for 3 s.
	local prev=-1 cur
	for i in $(seq 600); do
		cur=$(curl -s "http://$(cat "$d/migrator.addr")/metrics" | awk '/^wukong_migrator_messages_total/ {s += $2} END {print s + 0}')
		[ "$cur" = "$prev" ] && [ "$cur" != 0 ] && break
		prev=$cur
		sleep 3
	done
	# and wukong-provisioner's first pass over every Wukong is over
	for i in $(seq 1800); do
		[ "$(curl -s "http://$(cat "$d/provisioner.addr")/metrics" |
			awk '$1 == "wukong_provisioner_pending_wukongs" {print $2}')" = 0 ] && break
		sleep 0.5
	done
	echo "# $name: migrator consumed $cur messages before measuring" >&2
	# VMIM creations, timestamped as the watch delivers them.
	(kubectl --kubeconfig "$kc" get vmim -A -w --no-headers -o name 2>/dev/null |
		while read -r l; do echo "$(date +%s%N) $l"; done >"$d/vmims.txt") >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 1
	local nodes raw="" react="" seen t0 t1 t2 vm tgt
	nodes=$(kubectl --kubeconfig "$kc" get nodes -o name | sed 's|node/||')
	for i in $(seq 1 "$N"); do
		vm="vm-$((i * 2))"
		src=$(kubectl --kubeconfig "$kc" get vmi -n default "$vm-vm" -o jsonpath='{.status.nodeName}')
		tgt=$(echo "$nodes" | grep -vx "$src" | head -$((i % 4 + 1)) | tail -1)
		seen=$(first_seen "$d/vmims.txt" | wc -l)
		t0=$(date +%s%N)
		curl -s -o /dev/null --cacert "$d/sim/ca.crt" -H "Authorization: Bearer $tok" \
			-H 'Content-Type: application/merge-patch+json' -X PATCH \
			--data "{\"spec\":{\"migration\":{\"targetNode\":\"$tgt\"}}}" \
			"$srv/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs/$vm"
		t1=$(date +%s%N)
		for _ in $(seq 5000); do [ "$(first_seen "$d/vmims.txt" | wc -l)" -gt "$seen" ] && break; sleep 0.002; done
		t2=$(first_seen "$d/vmims.txt" | sed -n "$((seen + 1))p" | cut -d' ' -f1)
		raw="$raw $(((t1 - t0) / 1000))"
		react="$react $(((t2 - t0) / 1000))"
		sleep 0.2
	done
	echo "$raw|$react" >"$d/result"
	# This size is done: stop its stack before the next one starts, consumers before the broker
	# (a consumer's final commit waits for the broker).
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null
		for _ in $(seq 150); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${PIDS[i]}" 2>/dev/null
	done
	wait 2>/dev/null
	PIDS=()
}

# The first line of each VMIM in the watch log (the watch prints every change).
first_seen() { awk '!seen[$2]++' "$1"; }

pct() { # pct P values... (microseconds) -> milliseconds with 1 decimal
	local p=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR] = $1} END {i = int((NR - 1) * p / 100 + 0.5) + 1; printf "%.1f", a[i] / 1000}'
}

echo "# migrator reaction latency: spec.migration PATCH -> VMIM created (watch), $N samples each"
run small "$T/small.yaml"
run big "$ROOT/tools/sim/scenarios/scale-10k.yaml"
R100=$(cat "$T/small/result")
R10K=$(cat "$T/big/result")
raw100=(${R100%%|*}) re100=(${R100#*|}) raw10k=(${R10K%%|*}) re10k=(${R10K#*|})
printf '%-28s %10s %10s\n' "" "p50 ms" "p99 ms"
printf '%-28s %10s %10s\n' "PATCH round trip, 100 VMs" "$(pct 50 "${raw100[@]}")" "$(pct 99 "${raw100[@]}")"
printf '%-28s %10s %10s\n' "reaction, 100 VMs" "$(pct 50 "${re100[@]}")" "$(pct 99 "${re100[@]}")"
printf '%-28s %10s %10s\n' "PATCH round trip, 10k VMs" "$(pct 50 "${raw10k[@]}")" "$(pct 99 "${raw10k[@]}")"
printf '%-28s %10s %10s\n' "reaction, 10k VMs" "$(pct 50 "${re10k[@]}")" "$(pct 99 "${re10k[@]}")"
awk -v a="$(pct 50 "${re10k[@]}")" -v b="$(pct 50 "${re100[@]}")" -v c="$(pct 99 "${re10k[@]}")" \
	-v d="$(pct 99 "${re100[@]}")" -v e="$(pct 50 "${raw10k[@]}")" 'BEGIN {
	printf "ratio reaction 10k/100:        p50 %.2f  p99 %.2f\n", a / b, c / d
	printf "ratio reaction / PATCH (10k):  p50 %.1f\n", a / e
}'
