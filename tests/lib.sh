#!/usr/bin/env bash
# lib.sh - helpers for integration scripts: TAP output, real processes started and always reaped.
# Source it first thing: `. "$(dirname "$0")/../lib.sh"`. Every process started with `start_bg`
# is killed when the script exits, however it exits. Each script gets its own scratch directory
# ($T) so scripts never share ports, files or Kafka groups.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
TBIN="$B/tests"
T=$(mktemp -d "${TMPDIR:-/tmp}/wukong-it.XXXXXX")
# Embedded-broker tuning for every service a test starts (services default to values for real
# brokers): the mock broker does not answer a parked fetch when data arrives, so a consumer would
# wait librdkafka's fetch.wait.max.ms (500 ms) for each new message. wukongctl up sets the same.
export WUKONG_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=${WUKONG_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS:-10}
# WUKONG_RBAC=1: every service runs under its own ServiceAccount token with the install bundle's
# RBAC (deploy/base) applied to the test's simulator. $BIN then holds wrappers (rbac_wrap) that,
# on a service's first start against a kubeconfig, apply deploy/base there once, ask the
# TokenRequest API for wukong-<svc>'s token, and start the service with a kubeconfig holding that
# token (namespace wukong, where its Lease Role is). WUKONG_RBAC_RECORD=FILE collects each
# simulator's record of the verbs every identity used (docs/simulator.md) when the script ends.
if [ "${WUKONG_RBAC:-}" = 1 ] && [ -z "${_WK_RBAC_WRAPPED:-}" ]; then
	export _WK_RBAC_WRAPPED=1 _WK_REAL_BIN="$BIN" _WK_ROOT="$ROOT"
	mkdir -p "$T/rbin"
	for _b in "$BIN"/*; do
		case $(basename "$_b") in
		wukong-watcher | wukong-migrator | wukong-cloner | wukong-progress | wukong-status | wukong-audit | wukong-provisioner)
			printf '#!/usr/bin/env bash\nexec "%s/tests/rbac-wrap.sh" "%s" "$@"\n' "$ROOT" "$_b" >"$T/rbin/$(basename "$_b")"
			chmod +x "$T/rbin/$(basename "$_b")" ;;
		*) ln -s "$_b" "$T/rbin/$(basename "$_b")" ;;
		esac
	done
	BIN="$T/rbin"
fi
_n=0
_failed=0
_pids=()

cleanup() {
	local p
	if [ -n "${WUKONG_RBAC_RECORD:-}" ]; then
		find "$T" -name rbac-used.tsv -exec cat {} + >>"$WUKONG_RBAC_RECORD" 2>/dev/null
	fi
	for p in "${_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$_failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "# scratch kept: $T"; fi
}
trap cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# start_bg NAME COMMAND...: run in the background, output to $T/NAME.log; sets $LAST_PID.
start_bg() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	LAST_PID=$!
	_pids+=("$LAST_PID")
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until the command succeeds.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge $((limit * 10)) ] && return 1
		sleep 0.1
	done
}

# start_kafka [BROKERS]: start the embedded broker; sets $BOOTSTRAP and $KAFKA_PID.
start_kafka() {
	start_bg kafka "$BIN/wukong-kafka" --brokers "${1:-1}" --bootstrap-file "$T/bootstrap"
	KAFKA_PID=$LAST_PID
	wait_for 20 test -s "$T/bootstrap" || { not_ok "wukong-kafka started"; exit 1; }
	BOOTSTRAP=$(cat "$T/bootstrap")
}

# finish: exit status for the runner.
finish() {
	[ "$_n" -gt 0 ] || { echo "not ok - no checks ran"; exit 1; }
	[ "$_failed" -eq 0 ]
}
