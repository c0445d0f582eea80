#!/usr/bin/env bash
# run.sh - `make run`: start the product on its embedded defaults and keep it up until Ctrl-C.
#
# Starts the embedded Kafka broker (wukong-kafka), the cluster simulator (wukong-sim) and every
# service binary that has been built, each in the background with its log under $WUKONG_DIR/logs
# (default .wukong/). Ctrl-C (or RUN_SECONDS elapsing, for scripted use) stops everything and leaves
# no process behind.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
BIN="$B/bin"
DIR=${WUKONG_DIR:-.wukong}
mkdir -p "$DIR/logs"
DIR=$(cd "$DIR" && pwd)
pids=()
names=()

stop_all() {
	local code=${1:-0}
	trap - INT TERM EXIT
	echo
	echo "stopping ${#pids[@]} processes"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$DIR/pids"
	exit "$code"
}
trap 'stop_all 0' INT TERM
trap 'stop_all 1' EXIT

# start NAME COMMAND...: background process with its log; records the pid.
start() {
	local name=$1
	shift
	"$@" >"$DIR/logs/$name.log" 2>&1 &
	pids+=($!)
	names+=("$name")
	echo "$name $!" >>"$DIR/pids"
}

wait_file() {
	for _ in $(seq 200); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "run: '$1' did not appear; see $DIR/logs/" >&2
	return 1
}

rm -f "$DIR/pids" "$DIR/bootstrap"
[ -x "$BIN/wukong-kafka" ] || { echo "run: $BIN/wukong-kafka is not built; run make" >&2; exit 1; }
start kafka "$BIN/wukong-kafka" --brokers 1 --bootstrap-file "$DIR/bootstrap"
wait_file "$DIR/bootstrap" || exit 1
BOOTSTRAP=$(cat "$DIR/bootstrap")

if [ -x "$BIN/wukong-sim" ]; then
	rm -f "$DIR/kubeconfig"
	start sim "$BIN/wukong-sim" --dir "$DIR" ${SCENARIO:+--scenario "$SCENARIO"}
	wait_file "$DIR/kubeconfig" || exit 1
fi

# Every consumer/producer service that exists, pointed at the embedded broker and simulator.
for svc in "$BIN"/wukong-*; do
	n=$(basename "$svc")
	case "$n" in wukong-kafka | wukong-sim | wukong-auditlog | wukongctl) continue ;; esac
	[ -x "$svc" ] || continue
	start "${n#wukong-}" "$svc" -X "kafka.bootstrap.servers=$BOOTSTRAP" -X cluster.id=local \
		-X "kube.config=$DIR/kubeconfig" -X "http.addr-file=$DIR/${n#wukong-}.addr" \
		-X "audit.dir=$DIR/audit"
done

cat <<TXT
Wukong is running (embedded defaults). Runtime files: $DIR
  Kafka bootstrap:  $BOOTSTRAP           (kcat -b $BOOTSTRAP -L)
TXT
[ -s "$DIR/kubeconfig" ] && cat <<TXT
  Cluster:          KUBECONFIG=$DIR/kubeconfig kubectl get nodes,wukongs,vmis
TXT
echo "  Logs:             $DIR/logs/   processes: ${names[*]}"
echo "Press Ctrl-C to stop everything."

if [ -n "${RUN_SECONDS:-}" ]; then
	sleep "$RUN_SECONDS"
	stop_all
fi
# Exit (and clean up) as soon as any component dies, so a broken stack is never left half-running.
while :; do
	for i in "${!pids[@]}"; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "run: ${names[$i]} exited; see $DIR/logs/${names[$i]}.log" >&2
			stop_all 1
		fi
	done
	sleep 1
done
