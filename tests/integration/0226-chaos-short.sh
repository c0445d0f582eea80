#!/usr/bin/env bash
# 0226-chaos-short.sh - the chaos run of issue 22 (tests/chaos/chaos.sh, `make chaos` for 30
# minutes) shortened for `make test`: 6 nodes, 16 VMs, 20 migrations (live and cold), 4 clones,
# a drain and 4 hostile submissions in 40 s, while services are killed with SIGKILL every ~12 s,
# the broker is down for 10 s and the simulator injects 5xx, 429 with Retry-After, latency, 410
# on watches and dropped watches. Every invariant of the table must hold (each is a row below).
. "$(dirname "$0")/../lib.sh"

CHAOS_SECONDS=40 CHAOS_NODES=6 CHAOS_VMS=16 CHAOS_MIGRATIONS=20 CHAOS_CLONES=4 CHAOS_DRAINS=1 \
	CHAOS_BAD=4 CHAOS_KILL_EVERY=12 CHAOS_OUTAGE_S=10 CHAOS_SETTLE_S=90 B="$B" \
	"$ROOT/tests/chaos/chaos.sh" >"$T/chaos.out" 2>&1
rc=$?
sed 's/^/# /' "$T/chaos.out" | grep -v '^# #   ' | head -60
while IFS= read -r line; do
	case $line in
	*"  ok") ok "${line%%  *}" ;;
	*"  FAIL") not_ok "${line%%  *}" ;;
	esac
done < <(sed -n '/^invariant /,/^chaos invariants/p' "$T/chaos.out" | sed '1d;$d')
check "the chaos run printed its table and every invariant holds (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && grep -q '^chaos invariants: all hold' '$T/chaos.out'"
check "the driver killed services, took the broker down and dropped watches" \
	bash -c "grep -q 'chaos phase over: [1-9][0-9]* kills, 1 broker outage(s), [1-9][0-9]* watch drops' '$T/chaos.out'"
finish
