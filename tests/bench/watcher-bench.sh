#!/usr/bin/env bash
# watcher-bench.sh - wukong-watcher throughput and memory, against the pipeline an operator would
# otherwise script, over the same objects in the same simulator and broker:
#
#   scripted   kubectl get vm --watch -o json | jq -c | kcat -P   (jq: one message per object:
#              kubectl pretty-prints, prints each 500-item page of its initial list as one list
#              document, and kcat -P splits on newlines)
#   live       wukong-watcher listing + watching the simulator (VirtualMachines only)
#   replay     wukong-watcher --replay FILE: the same objects as recorded watch lines
#
# Each is timed from start until the broker holds one message per VM (high watermarks). Then the
# watcher runs with every kind against the whole scenario (Wukongs, VMs, VMIs, nodes, ...) and its
# resident set, thread count and librdkafka client handles are read once it is in sync. Prints
# results and ratios; asserts nothing about time. wukong-provisioner runs beside them, as in `make
# run` and the integration tests; the measurements start once its first pass over every Wukong is
# over (wukong_provisioner_pending_wukongs 0), so its reads share the API server but its start-up
# is not timed.
# Knobs: WATCHER_BENCH_SCENARIO (default tools/sim/scenarios/scale-10k.yaml: 10,000 VMs).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
SCEN=${WATCHER_BENCH_SCENARIO:-tools/sim/scenarios/scale-10k.yaml}
T=$(mktemp -d "${TMPDIR:-/tmp}/wukong-watcher-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
bg() { # NAME CMD...
	local n=$1
	shift
	"$@" >"$T/$n.log" 2>&1 &
	PIDS+=($!)
	LAST=$!
}
now_ms() { date +%s%3N; }
die() {
	echo "watcher-bench: $*" >&2
	exit 1
}
# messages ever produced to a topic: sum of the high watermarks (the embedded broker trims old
# segments past 5 MiB a partition, offsets keep counting)
# (kcat prints more than the last message of a partition when more arrive meanwhile: keep the
# highest offset of each partition)
count_topic() {
	timeout 20 kcat -b "$BS" -C -t "$1" -o -1 -e -q -f '%p %o\n' 2>/dev/null |
		awk '{if ($2 + 1 > m[$1]) m[$1] = $2 + 1} END {for (p in m) s += m[p]; print s + 0}'
}
# wait_count TOPIC N TIMEOUT-S: until the topic holds N messages, or holds at least 99% of them
# and stopped growing for 5 s (kubectl keeps the last object of its list back until the next
# event); sets GOT (messages) and DONE_MS (when the last one arrived).
wait_count() {
	local end=$(($(date +%s) + $3)) last=-1 c
	GOT=0
	DONE_MS=$(now_ms)
	while :; do
		c=$(count_topic "$1")
		if [ "$c" -ne "$last" ]; then
			last=$c
			GOT=$c
			DONE_MS=$(now_ms)
		fi
		[ "$c" -ge "$2" ] && return 0
		[ "$c" -ge $(($2 * 99 / 100)) ] && [ $(($(now_ms) - DONE_MS)) -ge 5000 ] && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# private memory: RSS minus shared library pages (about 10 MiB of the RSS are libcrypto, libc,
# librdkafka, gnutls... shared with every other process using them)
anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# threads, and librdkafka client handles: each handle (producer or consumer) runs one "rdk:main"
# thread beside its "rdk:broker..." threads
threads() { ls "/proc/$1/task" 2>/dev/null | wc -l; }
rdk_handles() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -c '^rdk:main'; }

for x in "$BIN/wukong-kafka" "$BIN/wukong-sim" "$BIN/wukong-watcher" "$BIN/wukong-provisioner"; do
	[ -x "$x" ] || die "'$x' is not built"
done
echo "# watcher benchmark: scenario $SCEN (scratch $T)"
bg kafka "$BIN/wukong-kafka" --bootstrap-file "$T/bootstrap"
for _ in $(seq 100); do [ -s "$T/bootstrap" ] && break; sleep 0.1; done
BS=$(sed 's/^bootstrap=//' "$T/bootstrap")
[ -n "$BS" ] || die "wukong-kafka did not start"
mkdir -p "$T/sim"
# --time-factor 0.001: the model (VM start-up, status writes) nearly stands still, so every
# pipeline is timed on the same 10,000 objects rather than on the model's churn
bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$SCEN" --time-factor 0.001
SIM=$LAST
for _ in $(seq 600); do grep -q '^kubeconfig=' "$T/sim.log" && break; sleep 0.1; done
KC=$(sed -n 's/^kubeconfig=//p' "$T/sim.log" | head -1)
[ -n "$KC" ] || die "wukong-sim did not start (see its log: $(tail -3 "$T/sim.log"))"
K="kubectl --kubeconfig $KC"
SERVER=$(awk '/server:/ {print $2; exit}' "$KC")
TOKEN=$(cat "$T/sim/token")
N=0
for _ in $(seq 300); do
	N=$(curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $TOKEN" \
		"$SERVER/apis/kubevirt.io/v1/virtualmachines" | jq '.items | length')
	[ "${N:-0}" -gt 0 ] && break
	sleep 0.2
done
[ "${N:-0}" -gt 0 ] || die "no VirtualMachines in the simulator"
bg provisioner "$BIN/wukong-provisioner" -X kafka.bootstrap.servers="$BS" -X kube.config="$KC" \
	-X cluster.id=bench -X http.listen=127.0.0.1:0 -X http.addr-file="$T/provisioner.addr" \
	-X provisioner.kubernetes-events=false -X log.level=warn
for _ in $(seq 600); do [ -s "$T/provisioner.addr" ] && break; sleep 0.1; done
pv_pending() {
	curl -sf "http://$(cat "$T/provisioner.addr")/metrics" |
		awk '$1 == "wukong_provisioner_pending_wukongs" {print $2; f = 1} END {if (!f) print -1}'
}
sleep 1
for _ in $(seq 1800); do [ "$(pv_pending)" = 0 ] && break; sleep 0.5; done
[ "$(pv_pending)" = 0 ] || die "wukong-provisioner did not get through the scenario's Wukongs (see $T/provisioner.log)"
# wait until seeding is over: the VirtualMachines' list resourceVersion stays put for 3 s
vm_rv() {
	curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $TOKEN" \
		"$SERVER/apis/kubevirt.io/v1/virtualmachines?limit=1" | jq -r '.metadata.resourceVersion'
}
prev=$(vm_rv)
for _ in $(seq 200); do
	sleep 3
	cur=$(vm_rv)
	[ "$cur" = "$prev" ] && break
	prev=$cur
done
N=$(curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $TOKEN" \
	"$SERVER/apis/kubevirt.io/v1/virtualmachines" | jq '.items | length')
echo "# $N VirtualMachines in the simulator, quiet at resourceVersion $cur"

WCOMMON=(-X kafka.bootstrap.servers="$BS" -X kube.config="$KC" -X cluster.id=bench
	-X http.listen= -X watcher.lease.enabled=false -X watcher.heartbeat-interval=0
	-X log.level=warn)

# --- scripted: kubectl | jq | kcat ---
t0=$(now_ms)
( $K get vm --all-namespaces --watch -o json |
	jq -c --unbuffered 'if has("items") then .items[] else . end' |
	kcat -P -b "$BS" -t bench-kubectl.vm ) >"$T/kubectl.log" 2>&1 &
KPIPE=$!
PIDS+=($KPIPE)
wait_count bench-kubectl.vm "$N" 900 || die "the scripted pipeline did not deliver $N messages"
t_kubectl=$((DONE_MS - t0))
got_kubectl=$GOT
pkill -P "$KPIPE" 2>/dev/null
kill "$KPIPE" 2>/dev/null

# --- watcher, live against the simulator ---
t0=$(now_ms)
bg live "$BIN/wukong-watcher" "${WCOMMON[@]}" -X topics.prefix=bench-live \
	-X watcher.kinds=virtualmachine
LIVE=$LAST
wait_count bench-live.events "$N" 600 || die "the watcher did not deliver $N events"
t_live=$((DONE_MS - t0))
got_live=$GOT
live_hwm=$(hwm_kb "$LIVE")
kill -TERM "$LIVE"

# --- watcher, replaying the same objects as watch lines ---
curl -sf --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $TOKEN" \
	"$SERVER/apis/kubevirt.io/v1/virtualmachines" |
	jq -c '.items[] | {type: "ADDED", object: (. + {apiVersion: "kubevirt.io/v1", kind: "VirtualMachine"})}' \
		>"$T/vms.jsonl"
lines=$(wc -l <"$T/vms.jsonl")
# replay does not use the API: pause the simulator so the measurement is the watcher's alone
kill -STOP "$SIM"
t0=$(now_ms)
/usr/bin/time -f '%M' -o "$T/replay.rss" "$BIN/wukong-watcher" "${WCOMMON[@]}" \
	-X topics.prefix=bench-replay --replay "$T/vms.jsonl" >"$T/replay.out" 2>"$T/replay.log" ||
	die "replay failed: $(tail -3 "$T/replay.log")"
t_replay=$(($(now_ms) - t0))
kill -CONT "$SIM"
replay_rss=$(cat "$T/replay.rss")
replayed=$(count_topic bench-replay.events)

# --- the whole scenario, every kind: memory while in sync ---
t0=$(now_ms)
bg full "$BIN/wukong-watcher" "${WCOMMON[@]}" -X topics.prefix=bench-full \
	-X http.listen=127.0.0.1:0 -X http.addr-file="$T/full.addr"
FULL=$LAST
for _ in $(seq 600); do [ -s "$T/full.addr" ] && break; sleep 0.1; done
for _ in $(seq 3000); do
	curl -sf "http://$(cat "$T/full.addr")/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
t_full=$(($(now_ms) - t0))
sleep 2
metrics=$(curl -sf "http://$(cat "$T/full.addr")/metrics")
tracked=$(echo "$metrics" | awk '/^wukong_watcher_tracked_objects/ {s += $NF} END {print s + 0}')
fpbytes=$(echo "$metrics" | awk '/^wukong_watcher_fingerprint_bytes/ {print $NF}')
full_rss=$(rss_kb "$FULL")
full_hwm=$(hwm_kb "$FULL")
full_anon=$(anon_kb "$FULL")
full_threads=$(threads "$FULL")
full_rdk=$(rdk_handles "$FULL")
kill -TERM "$FULL"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.0f", n * 1000 / ms; else print "n/a" }'; }
echo "watcher-bench: objects=$N"
printf '  %-44s %8s ms  %8s events/s  (%s messages)\n' \
	"kubectl get --watch -o json | jq -c | kcat -P" "$t_kubectl" "$(rate "$got_kubectl" "$t_kubectl")" \
	"$got_kubectl"
printf '  %-44s %8s ms  %8s events/s  peak RSS %s KiB  (%s messages)\n' \
	"wukong-watcher (list+watch, 1 kind)" "$t_live" "$(rate "$got_live" "$t_live")" "$live_hwm" \
	"$got_live"
printf '  %-44s %8s ms  %8s events/s  peak RSS %s KiB  (%s lines, %s published)\n' \
	"wukong-watcher --replay (same objects)" "$t_replay" "$(rate "$lines" "$t_replay")" \
	"$replay_rss" "$lines" "$replayed"
echo "  ratio scripted/watcher: live $(ratio "$t_kubectl" "$t_live")x, replay $(ratio "$t_kubectl" "$t_replay")x"
echo "  every kind, whole scenario: in sync after $t_full ms, tracking $tracked objects," \
	"fingerprints $fpbytes bytes, RSS $full_rss KiB (peak $full_hwm KiB; private $full_anon KiB)"
echo "  every kind, in sync: $full_threads threads, $full_rdk librdkafka client handle(s) (rdk:main threads)"
grep -h '^replay:' "$T/replay.out" | sed 's/^/  /'
