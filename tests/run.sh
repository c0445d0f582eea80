#!/usr/bin/env bash
# run.sh - run the layering check (tests/layers.sh and its self-test), every unit test binary and
# every integration script, sum their TAP results.
# Usage: tests/run.sh [--unit|--integration] [name-filter]
# Unit binaries are cmocka programs run with TAP output; integration scripts print TAP lines through
# tests/lib.sh. The last line is always "N passed, N failed"; the exit code is non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
mode=${1:-all}
filter=${2:-}
[ "$mode" = "--unit" ] || [ "$mode" = "--integration" ] || { filter=${1:-}; mode=all; }

passed=0
failed=0
failures=()
logdir="$B/test-logs"
mkdir -p "$logdir"

# count NAME LOGFILE RC SECONDS: add the TAP results of one suite; a suite that failed without a
# "not ok" line (a crash, a timeout) counts as one failure of its own. The seconds each suite took
# are printed so that the CI's time budget can be watched.
count() {
	local name=$1 log=$2 rc=$3 secs=$4 ok nok
	ok=$(grep -cE '^ok ' "$log")
	nok=$(grep -cE '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		failures+=("$name")
		printf '%-48s %3d passed, %3d FAILED %4ds  (log: %s)\n' "$name" "$ok" "$nok" "$secs" "$log"
		grep -E '^not ok |^# ' "$log" | head -20 | sed 's/^/    /'
	else
		printf '%-48s %3d passed %4ds\n' "$name" "$ok" "$secs"
	fi
}

if [ "$mode" != "--integration" ]; then
	# The layering rules (tests/layers.sh) and the proof that they catch a violation.
	for args in "" "--self-test"; do
		n=layers${args:+-self-test}
		[ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
		log="$logdir/$n.log"
		start=$SECONDS
		B="$B" timeout 300 bash tests/layers.sh $args >"$log" 2>&1
		count "$n" "$log" $? $((SECONDS - start))
	done
	# Every reason the code emits is in docs/reasons.md (tests/reasons.sh), and its self-test.
	for args in "" "--self-test"; do
		n=reasons${args:+-self-test}
		[ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
		log="$logdir/$n.log"
		start=$SECONDS
		timeout 120 bash tests/reasons.sh $args >"$log" 2>&1
		count "$n" "$log" $? $((SECONDS - start))
	done
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		[ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
		log="$logdir/$n.log"
		start=$SECONDS
		CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" >"$log" 2>&1
		count "unit/$n" "$log" $? $((SECONDS - start))
	done
fi

if [ "$mode" != "--unit" ]; then
	# The suites the RBAC proofs (0121, 0123) need run here once, under the install bundle's RBAC
	# (WUKONG_RBAC=1: every service under its own ServiceAccount token, as deployed), each writing
	# the simulator's record of the verbs used and its exit status under $WUKONG_RBAC_RECORDS; the
	# proofs then read those records instead of running the suites a second time. Set
	# WUKONG_RBAC_REUSE=0 to run them as the cluster admin here and again inside the proofs.
	rbac_suites=$(sed -n 's/^[[:space:]]*\([0-9][0-9][0-9][0-9]\)[[:space:]].*/\1/p' tests/integration/rbac-suites.txt)
	export WUKONG_RBAC_RECORDS="$PWD/$logdir/rbac"
	rm -rf "$WUKONG_RBAC_RECORDS"
	mkdir -p "$WUKONG_RBAC_RECORDS"
	# Suites run WUKONG_TEST_JOBS at a time (default 2: most of a suite's time is spent waiting on
	# the processes it started, and every suite has its own scratch directory, ports, Kafka groups
	# and tmux socket); results are counted and printed in name order. A suite starts only when
	# every suite two places before it has ended, so the RBAC proofs find the records they read.
	jobs=${WUKONG_TEST_JOBS:-2}
	q_pid=()
	q_name=()
	q_log=()
	reap_oldest() {
		wait "${q_pid[0]}"
		count "integration/${q_name[0]}" "${q_log[0]}" "$(cat "${q_log[0]}.rc")" "$(cat "${q_log[0]}.secs")"
		rm -f "${q_log[0]}.rc" "${q_log[0]}.secs"
		q_pid=("${q_pid[@]:1}")
		q_name=("${q_name[@]:1}")
		q_log=("${q_log[@]:1}")
	}
	run_suite() { # T LOG RBAC(0|1) NUM
		local t=$1 log=$2 start=$SECONDS rc
		if [ "$3" = 1 ]; then
			: >"$WUKONG_RBAC_RECORDS/$4.tsv"
			B="$B" WUKONG_RBAC=1 WUKONG_RBAC_RECORD="$WUKONG_RBAC_RECORDS/$4.tsv" timeout 600 bash "$t" >"$log" 2>&1
			rc=$?
			echo "$rc" >"$WUKONG_RBAC_RECORDS/$4.rc"
		else
			B="$B" timeout 600 bash "$t" >"$log" 2>&1
			rc=$?
		fi
		echo "$((SECONDS - start))" >"$log.secs"
		echo "$rc" >"$log.rc"
	}
	for t in tests/integration/[0-9]*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		[ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
		log="$logdir/$n.log"
		num=${n%%-*}
		rbac=0
		if [ "${WUKONG_RBAC_REUSE:-1}" = 1 ] && [[ " $(echo $rbac_suites) " == *" $num "* ]]; then
			rbac=1
			n="$n (RBAC)"
		fi
		while [ ${#q_pid[@]} -ge "$jobs" ]; do reap_oldest; done
		run_suite "$t" "$log" "$rbac" "$num" &
		q_pid+=($!)
		q_name+=("$n")
		q_log+=("$log")
	done
	while [ ${#q_pid[@]} -gt 0 ]; do reap_oldest; done
fi

[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed (${SECONDS}s)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
