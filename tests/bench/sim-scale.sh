#!/usr/bin/env bash
# sim-scale.sh - wukong-sim at 10,000 VMs on 500 nodes, against a 100-VM baseline measured in the
# same run on the same machine:
#
#   startup    seconds until the kubeconfig is written (the whole scenario is seeded by then)
#   rss        resident set once seeded and idle, and again after the request load
#   cpu        CPU seconds the idle simulator spends per 10 s (the controllers must not rescan)
#   GET/s      one VMI by name, N times over one kept-alive TLS connection (curl --config)
#   LIST/s     VMIs, 500 per page (limit=500), M pages
#   LIST+sel   VMIs by label selector across the namespace (a full scan of the table)
#   migrate    one VMIM from create to Succeeded (simulated time x1000), and the metrics scrape
#
# Prints the numbers and the 10k/100 ratios; asserts nothing about time (machines differ).
# Knobs: SIM_BENCH_GETS (default 2000), SIM_BENCH_LISTS (default 100).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
GETS=${SIM_BENCH_GETS:-2000}
LISTS=${SIM_BENCH_LISTS:-100}
T=$(mktemp -d "${TMPDIR:-/tmp}/wukong-sim-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -x "$BIN/wukong-sim" ] || { echo "build first: $BIN/wukong-sim is missing" >&2; exit 2; }

cat >"$T/base.yaml" <<'EOF'
seed: 1
linkBandwidth: 1250M
nodes:
  - {name: node, count: 5, cpu: 96, memory: 512Gi, labels: {pool: general}}
vms:
  - {name: vm, count: 80, cpu: 2, memory: 4Gi, dirtyRate: 16Mi, disks: [{name: system, size: 20Gi}]}
  - {name: big, count: 20, cpu: 8, memory: 32Gi, dirtyRate: 64Mi, disks: [{name: system, size: 40Gi}]}
EOF

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# run NAME SCENARIO: start, measure, leave results in R_<metric>_<NAME>.
run() {
	local name=$1 scen=$2 dir="$T/$1" t0 t1 pid server token a b i
	mkdir -p "$dir"
	t0=$(now)
	"$BIN/wukong-sim" --dir "$dir" --scenario "$scen" --history 20000 >"$dir/out" 2>"$dir/log" &
	pid=$!
	PIDS+=("$pid")
	for i in $(seq 1 1200); do
		[ -s "$dir/kubeconfig" ] && break
		kill -0 "$pid" 2>/dev/null || { echo "wukong-sim ($name) died:"; tail -5 "$dir/log"; exit 1; }
		sleep 0.05
	done
	t1=$(now)
	eval "R_startup_$name=$(calc "$t1 - $t0")"
	sleep 2
	eval "R_rss_$name=$(rss_kb "$pid")"
	a=$(cpu_ticks "$pid")
	sleep 10
	b=$(cpu_ticks "$pid")
	eval "R_idlecpu_$name=$(calc "($b - $a) / $(getconf CLK_TCK)")"

	server=$(sed -n 's/^ *server: *//p' "$dir/kubeconfig" | head -1)
	token=$(cat "$dir/token")
	{
		echo "cacert = \"$dir/ca.crt\""
		echo "header = \"Authorization: Bearer $token\""
		echo "silent"
	} >"$dir/curlrc"
	# GET one object by name, GETS times on one connection
	cp "$dir/curlrc" "$dir/get.cfg"
	for i in $(seq 1 "$GETS"); do
		echo "url = \"$server/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm-$((i % 80 + 1))-vm\""
		echo "output = /dev/null"
	done >>"$dir/get.cfg"
	t0=$(now)
	curl --config "$dir/get.cfg" || echo "curl GET failed" >&2
	t1=$(now)
	eval "R_get_$name=$(calc "$GETS / ($t1 - $t0)" 0)"
	# LIST pages of 500
	cp "$dir/curlrc" "$dir/list.cfg"
	for i in $(seq 1 "$LISTS"); do
		echo "url = \"$server/apis/kubevirt.io/v1/virtualmachineinstances?limit=500\""
		echo "output = /dev/null"
	done >>"$dir/list.cfg"
	t0=$(now)
	curl --config "$dir/list.cfg" || echo "curl LIST failed" >&2
	t1=$(now)
	eval "R_list_$name=$(calc "$LISTS / ($t1 - $t0)" 1)"
	# LIST with a label selector matching one VM: the server scans the whole table
	cp "$dir/curlrc" "$dir/sel.cfg"
	for i in $(seq 1 "$LISTS"); do
		echo "url = \"$server/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances?labelSelector=kubevirt.io%2Fvm%3Dvm-7-vm\""
		echo "output = /dev/null"
	done >>"$dir/sel.cfg"
	t0=$(now)
	curl --config "$dir/sel.cfg" || echo "curl LIST selector failed" >&2
	t1=$(now)
	eval "R_sel_$name=$(calc "$LISTS / ($t1 - $t0)" 1)"
	# one migration at x1000, create to Succeeded
	curl --config "$dir/curlrc" -X POST -d '{"timeFactor":1000}' "$server/sim/time" >/dev/null
	t0=$(now)
	curl --config "$dir/curlrc" -H 'Content-Type: application/json' -X POST \
		-d '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"bench","namespace":"default"},"spec":{"vmiName":"vm-3-vm"}}' \
		"$server/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstancemigrations" >/dev/null
	for i in $(seq 1 400); do
		curl --config "$dir/curlrc" "$server/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstancemigrations/bench" |
			grep -q '"phase":"Succeeded"' && break
		sleep 0.05
	done
	t1=$(now)
	eval "R_mig_$name=$(calc "$t1 - $t0")"
	t0=$(now)
	# one virt-handler endpoint (the first node's), as a scraper reads it from the EndpointSlice
	local kport kip
	kport=$(kubectl --kubeconfig "$dir/kubeconfig" -n kubevirt get endpointslices -o jsonpath='{.items[0].ports[0].port}')
	kip=$(kubectl --kubeconfig "$dir/kubeconfig" -n kubevirt get endpointslices -o jsonpath='{.items[0].endpoints[0].addresses[0]}')
	for i in $(seq 1 20); do curl -sf --cacert "$dir/kubevirt-ca.crt" --resolve "virt-handler.kubevirt.svc:$kport:$kip" "https://virt-handler.kubevirt.svc:$kport/metrics" >/dev/null; done
	t1=$(now)
	eval "R_scrape_$name=$(calc "($t1 - $t0) / 20 * 1000" 1)"
	eval "R_rss2_$name=$(rss_kb "$pid")"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
}

echo "# wukong-sim scale benchmark ($(nproc) cpus, $(date -u +%FT%TZ))"
run base "$T/base.yaml"
run scale tools/sim/scenarios/scale-10k.yaml

row() { # row LABEL UNIT BASE SCALE
	printf '%-34s %12s %12s %10s\n' "$1" "$3" "$4" "$(calc "$4 / ($3 == 0 ? 1 : $3)" 2)x"
}
printf '%-34s %12s %12s %10s\n' "metric" "100 VMs" "10,000 VMs" "ratio"
row "startup (s)" s "$R_startup_base" "$R_startup_scale"
row "rss seeded, idle (MiB)" MiB "$(calc "$R_rss_base / 1024" 1)" "$(calc "$R_rss_scale / 1024" 1)"
row "rss after the load (MiB)" MiB "$(calc "$R_rss2_base / 1024" 1)" "$(calc "$R_rss2_scale / 1024" 1)"
row "idle cpu per 10 s (s)" s "$R_idlecpu_base" "$R_idlecpu_scale"
row "GET vmi by name (req/s)" r "$R_get_base" "$R_get_scale"
row "LIST vmis limit=500 (req/s)" r "$R_list_base" "$R_list_scale"
row "LIST vmis labelSelector (req/s)" r "$R_sel_base" "$R_sel_scale"
row "one migration x1000 (s)" s "$R_mig_base" "$R_mig_scale"
row "metrics scrape (ms)" ms "$R_scrape_base" "$R_scrape_scale"
echo "# per VM at 10k: $(calc "($R_rss_scale - $R_rss_base) / 9900" 1) KiB resident (store objects, watch history, model index)"
