#!/usr/bin/env bash
# run.sh - `make run`: start the embedded stack with `wukongctl up` and show the product working:
# a live migration to a named node, a node-maintenance evacuation (cordon), a rejected migration
# with its reason, and a running clone, each followed with its progress by wukongctl. Then it
# prints where to look next and keeps the stack up until Ctrl-C (on a terminal) or ends by itself
# (not a terminal, or RUN_SECONDS set): either way `wukongctl down` leaves no process behind.
#
# Environment: B (build dir, default build), WUKONG_DIR (runtime dir, default .wukong),
# SCENARIO (a wukong-sim scenario instead of tools/wukongctl/demo.yaml), RUN_SECONDS (keep the
# stack up this long after the demo, then stop; default: until Ctrl-C on a terminal, 0 otherwise),
# DEMO=0 (start the stack only).
set -u
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
BIN="$PWD/$B/bin"
case "$B" in /*) BIN="$B/bin" ;; esac
CTL="$BIN/wukongctl"
export WUKONG_DIR=${WUKONG_DIR:-.wukong}
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS # the demo talks to its own stack only
KC="$WUKONG_DIR/kubeconfig"
K="kubectl --kubeconfig $KC --request-timeout=10s"

[ -x "$CTL" ] || { echo "run: $CTL is not built; run 'make B=$B'" >&2; exit 1; }

stopping=0
stop_all() {
	local code=${1:-0}
	[ $stopping = 1 ] && return
	stopping=1
	trap - INT TERM EXIT
	echo
	"$CTL" down
	exit "$code"
}
waiting=0 # 1 once the demo is over: Ctrl-C is then the normal way out (status 0)
trap 'if [ $waiting = 1 ]; then stop_all 0; else stop_all 130; fi' INT TERM
trap 'stop_all $?' EXIT

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; [ -t 1 ] || true; }
[ -t 1 ] || say() { printf '\n==> %s\n' "$*"; }

"$CTL" down >/dev/null 2>&1 # a stack left over from an earlier run
if ! "$CTL" up ${SCENARIO:+--scenario "$SCENARIO"}; then
	echo "run: 'wukongctl up' did not bring every component up; 'wukongctl status':" >&2
	"$CTL" status >&2
	[ -f "$KC" ] || exit 1
fi
"$CTL" status

if [ "${DEMO:-1}" != 0 ]; then
	# Wait until the simulator has placed the demo VMs.
	for _ in $(seq 100); do
		[ "$($K get vmi -A -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' 2>/dev/null | grep -c Running)" -ge 8 ] && break
		sleep 0.2
	done
	# vmi_node WUKONG: the node its VM runs on (the VMI is <wukong>-vm)
	vmi_node() { $K get vmi -n default "$1-vm" -o jsonpath='{.status.nodeName}' 2>/dev/null; }
	show_nodes() { $K get nodes -o custom-columns='NODE:.metadata.name,UNSCHEDULABLE:.spec.unschedulable,ZONE:.metadata.labels.topology\.kubernetes\.io/zone'; }
	show_vmis() { $K get vmi -A -o custom-columns='NAMESPACE:.metadata.namespace,VMI:.metadata.name,PHASE:.status.phase,NODE:.status.nodeName'; }
	other_node() {
		local n
		for n in node-1 node-2 node-3 node-4; do [ "$n" != "$1" ] && [ "$n" != "${2:-}" ] && { echo "$n"; return; }; done
	}
	show_nodes
	show_vmis

	# 1. A live migration to a named node.
	SRC=$(vmi_node api-1)
	TGT=$(other_node "$SRC")
	say "1/4 live migration: wukongctl migrate default/api-1 --to $TGT   (api-1, 8 GiB, runs on $SRC)"
	"$CTL" migrate default/api-1 --to "$TGT" --timeout 60s
	echo "api-1 now runs on: $(vmi_node api-1)"

	# 2. Node maintenance: cordon the node that runs web-2 and watch for an evacuation.
	NODE=$(vmi_node web-2)
	say "2/4 node maintenance: kubectl cordon $NODE   (runs: $(show_vmis | awk -v n="$NODE" '$4 == n {print $2}' | tr '\n' ' '))"
	# The VMs on that node ask to be moved off a node under maintenance (spec.migrationPolicy);
	# allowColdMigration lets the one on a local disk move too, stopped and started (cold).
	moving=$(show_vmis | awk -v n="$NODE" '$4 == n {print $2}')
	echo "spec.migrationPolicy {enabled, triggerConditions: [nodeMaintenance], allowColdMigration} on the Wukongs of $NODE:"
	for vmi in $moving; do
		$K patch wukong -n default "${vmi%-vm}" --type=merge -o name -p \
			'{"spec":{"migrationPolicy":{"enabled":true,"allowColdMigration":true,"triggerConditions":[{"type":"nodeMaintenance"}]}}}'
	done
	$K cordon "$NODE"
	# Follow the evacuation: where each VM runs and its migration's phase and progress.
	left=1
	for _ in $(seq 90); do
		line="" left=0
		for vmi in $moving; do
			wk=${vmi%-vm}
			at=$($K get vmi -n default "$vmi" -o jsonpath='{.status.nodeName}' 2>/dev/null)
			st=$($K get wukong -n default "$wk" -o jsonpath='{.status.migrationStatus.phase}/{.status.migrationStatus.mode}/{.status.migrationStatus.progress}' 2>/dev/null)
			line="$line  $wk@${at:-stopped} [${st:-//}]"
			[ "$at" = "$NODE" ] || [ -z "$at" ] && left=$((left + 1))
		done
		echo "evacuating $NODE:$line"
		[ $left -eq 0 ] && break
		sleep 1
	done
	if [ $left -eq 0 ]; then
		echo "node $NODE is empty: every VM left it (live, or cold for the local disk)"
	else
		echo "node $NODE still runs VMs after 90 s; the audit trail below says why"
	fi
	"$CTL" audit query | grep -E 'evacuation|migration.cold|recovery' | tail -n 6
	show_nodes
	$K uncordon "$NODE" >/dev/null

	# 3. A migration the pre-flight checks reject: db-local keeps its data on a local disk.
	say "3/4 a rejected migration: wukongctl migrate default/db-local   (local RWO disk)"
	"$CTL" migrate default/db-local --timeout 30s
	echo "(exit status $? - non-zero: rejected, with the reason above)"

	# 4. A running clone.
	say "4/4 a running clone: wukongctl clone default/web-2 default/web-2-copy"
	"$CTL" clone default/web-2 default/web-2-copy --timeout 60s
	$K get wukongs -n default web-2 web-2-copy 2>/dev/null

	say "audit trail of the demo (wukongctl audit query)"
	sleep 1
	"$CTL" audit query | tail -n 14
fi

if [ -n "${RUN_SECONDS:-}" ]; then
	keep="for ${RUN_SECONDS}s more"
elif [ -t 0 ] && [ -t 1 ]; then
	keep="until Ctrl-C"
else
	keep="no longer: not a terminal, so it stops now ('wukongctl up' starts it again)"
fi
CONSOLE=""
[ -s "$WUKONG_DIR/run/console.addr" ] && CONSOLE="http://$(cat "$WUKONG_DIR/run/console.addr")/"
cat <<TXT

Where to look next (the stack in $WUKONG_DIR runs $keep):
  ${CONSOLE:-(no console: wukong-console is not built)}   the web console: fleet, operations, drain timeline, convergence, audit
  $CTL watch                            operations in flight, live
  $CTL report drain ID --svg drain.svg   an evacuation's planned against actual bars (ID from the audit trail)
  $CTL migrate default/web-3 --to node-4   another migration
  $CTL status                           health of every component
  $CTL audit query --vm default/api-1   the audit log ($WUKONG_DIR/audit)
  kubectl --kubeconfig $KC get wukongs,vmi,vmim -A
  kubectl --kubeconfig $KC get events -n default
  PATH=$BIN:\$PATH kubectl wukong get     the kubectl plugin (kubectl-wukong)
  logs: $WUKONG_DIR/logs/      stop: $CTL down
TXT
[ "$WUKONG_DIR" = .wukong ] || echo "  (wukongctl finds this stack with: export WUKONG_DIR=$WUKONG_DIR)"

if [ -n "${RUN_SECONDS:-}" ]; then
	sleep "$RUN_SECONDS"
elif [ -t 0 ] && [ -t 1 ]; then
	echo "Press Ctrl-C to stop everything."
	waiting=1
	while :; do sleep 1; done
fi
stop_all 0
