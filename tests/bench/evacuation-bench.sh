#!/usr/bin/env bash
# evacuation-bench.sh - fast evacuation: a 40-VM drain of one node (mixed memory sizes 1-16 GiB
# and dirty rates) run through the simulator's transfer model (tools/sim/sim_xfer.c) three ways
# in one run: the migrator's planner (consumers/migrator/mig_plan.c), first-come-first-served
# in KubeVirt's default order, and the transfer lower bound (total guest memory / link; also the
# bound that adds what each VM must re-send even alone on the link). Prints total evacuation
# times, the ratios, and the planner's predicted time (what a drain dry-run reports) against the
# simulated one. Engine: tests/helpers/evac_bench.c. Asserts nothing about time.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
bin="$B/tests/evac_bench"
[ -x "$bin" ] || { echo "build first: $bin is missing" >&2; exit 2; }
for args in "--mix typical --seed 42" "--mix hot --seed 42" "--mix typical --seed 7" \
	"--mix hot --seed 9" "--mix local --seed 42" "--mix local --seed 7"; do
	echo "-- $args"
	# shellcheck disable=SC2086
	"$bin" $args || exit 1
done
