#!/usr/bin/env bash
# deploy-footprint.sh - CPU and memory of each service at 1,000 and 10,000 VMs on the simulator:
# the figures behind deploy/base's resource requests and limits (docs/deploy.md, "Resources").
#
# For each size: `wukongctl up` with a scenario of that size (the embedded broker and the
# simulator run beside the services, as on one machine), SETTLE seconds for the initial LISTs and
# the watcher's first publish of every object, then one node drained (`wukongctl drain`) and
# WINDOW seconds of that work. Per service, from its own /metrics (process_* series, core/
# wk_metrics_process.c) and /proc: resident memory at the end, peak resident memory (VmHWM), CPU
# seconds over the settle+drain window and its average in millicores.
# Knobs: FOOTPRINT_SIZES (default "1000 10000"), FOOTPRINT_SETTLE (60), FOOTPRINT_WINDOW (60).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
SIZES=${FOOTPRINT_SIZES:-1000 10000}
SETTLE=${FOOTPRINT_SETTLE:-60}
WINDOW=${FOOTPRINT_WINDOW:-60}
T=$(mktemp -d "${TMPDIR:-/tmp}/wukong-footprint.XXXXXX")
export WUKONG_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=10
cleanup() {
	[ -d "$T/run" ] && "$BIN/wukongctl" down --dir "$T/run" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

scenario() { # VMS -> a scenario file: 20 VMs per node, the scale-10k mix of small and big VMs
	local vms=$1 nodes=$(($1 / 20))
	cat <<Y
seed: 1
linkBandwidth: 1250M
nodes:
  - {name: node, count: $nodes, cpu: 96, memory: 512Gi, labels: {pool: general}}
vms:
  - {name: vm, count: $((vms * 4 / 5)), cpu: 2, memory: 4Gi, dirtyRate: 16Mi, disks: [{name: system, size: 20Gi}]}
  - {name: big, count: $((vms / 5)), cpu: 8, memory: 32Gi, dirtyRate: 64Mi, disks: [{name: system, size: 40Gi}]}
Y
}

metric() { # ADDR NAME -> value
	curl -s --max-time 5 "http://$1/metrics" | awk -v n="$2" '$1 == n {print $2; exit}'
}

printf '%-10s %6s %10s %10s %10s %10s\n' service VMs rss_MiB peak_MiB cpu_s avg_mcpu
for n in $SIZES; do
	scenario "$n" >"$T/scenario.yaml"
	rm -rf "$T/run"
	if ! "$BIN/wukongctl" up --dir "$T/run" --scenario "$T/scenario.yaml" --timeout 300s >"$T/up.log" 2>&1; then
		echo "wukongctl up failed at $n VMs:" >&2
		tail -5 "$T/up.log" >&2
		exit 1
	fi
	declare -A c0=()
	for a in "$T"/run/run/*.addr; do
		s=$(basename "$a" .addr)
		c0[$s]=$(metric "$(cat "$a")" process_cpu_seconds_total)
	done
	t0=$(date +%s.%N)
	sleep "$SETTLE"
	"$BIN/wukongctl" drain node-1 --dir "$T/run" --no-wait >/dev/null 2>&1 ||
		"$BIN/wukongctl" drain node-1 --dir "$T/run" >/dev/null 2>&1 &
	sleep "$WINDOW"
	t1=$(date +%s.%N)
	for a in "$T"/run/run/*.addr; do
		s=$(basename "$a" .addr)
		addr=$(cat "$a")
		rss=$(metric "$addr" process_resident_memory_bytes)
		cpu=$(metric "$addr" process_cpu_seconds_total)
		pid=$(awk "{print \$1}" "$T/run/pids/$s.pid" 2>/dev/null)
		hwm=$(awk '/^VmHWM/ {print $2 * 1024}' "/proc/$pid/status" 2>/dev/null)
		awk -v s="$s" -v n="$n" -v rss="${rss:-0}" -v hwm="${hwm:-0}" -v c0="${c0[$s]:-0}" \
			-v c1="${cpu:-0}" -v t0="$t0" -v t1="$t1" 'BEGIN {
			printf "%-10s %6d %10.1f %10.1f %10.2f %10.0f\n", s, n, rss / 1048576,
			    hwm / 1048576, c1 - c0, (c1 - c0) / (t1 - t0) * 1000 }'
	done
	wait
	"$BIN/wukongctl" down --dir "$T/run" >/dev/null 2>&1
done
