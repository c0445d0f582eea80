#!/usr/bin/env bash
# run.sh - `make bench`: run every benchmark script in tests/bench/ (or those matching $1).
# Each benchmark prints its own results as ratios against a baseline measured in the same run;
# nothing here asserts on absolute time. Exit status is non-zero only if a benchmark could not run.
set -u
cd "$(dirname "$0")/../.." || exit 2
export B=${B:-build}
# The embedded broker's tuning, as tests/lib.sh sets it (docs/configuration.md).
export WUKONG_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS=${WUKONG_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS:-10}
filter=${1:-}
failed=()
for b in tests/bench/*.sh; do
	n=$(basename "$b" .sh)
	[ "$n" = run ] && continue
	[ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
	echo "== $n =="
	if ! bash "$b"; then
		failed+=("$n")
	fi
	echo
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "benchmarks that could not run: ${failed[*]}"
	exit 1
fi
