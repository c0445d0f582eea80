#!/usr/bin/env bash
# 0223-supervise.sh - `wukongctl up` supervises the services it starts, as a Deployment would: a
# service killed with SIGKILL (or exiting on its own: the migrator after an outage longer than
# message.timeout.ms) is started again after a backoff, the restart is logged and counted in
# `wukongctl status`; `wukongctl restart SERVICE` restarts one at once; `down` leaves nothing
# behind and stops the services cleanly (no abort at shutdown). Issue 22 fault 9.
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT

"$W" up >"$T/up.out" 2>&1
check "up" test $? -eq 0
SUP=$(awk '{print $1}' "$WUKONG_DIR/pids/migrator.pid")
svc_pid() { pgrep -P "$SUP" | head -1; }
healthy() { "$W" status -o json | jq -e '.[] | select(.component=="migrator") | .health=="ok"' >/dev/null; }
restarts() { "$W" status -o json | jq -r '.[] | select(.component=="migrator") | .restarts'; }
wait_for 30 healthy
P1=$(svc_pid)
check "the migrator runs under its supervisor (pid $P1, supervisor $SUP)" test -n "$P1"
kill -KILL "$P1"
wait_for 30 eval 'test -n "$(svc_pid)" -a "$(svc_pid)" != "$P1"'
P2=$(svc_pid)
check "after SIGKILL the migrator is started again (pid $P2)" test -n "$P2" -a "$P2" != "$P1"
wait_for 30 healthy
check "... and becomes healthy" healthy
check "status counts the restart" test "$(restarts)" = 1
"$W" status >"$T/status.out"
sed 's/^/# /' "$T/status.out" | grep migrator
check "status shows how it ended" grep -q 'migrator .* 1 (signal-9)' "$T/status.out"
check "the restart is in the migrator's log" grep -q 'wukong-migrator ended (signal-9).*restart #1' "$WUKONG_DIR/logs/migrator.log"
"$W" restart migrator >"$T/restart.out" 2>&1
check "wukongctl restart migrator" test $? -eq 0
wait_for 30 eval 'test "$(restarts)" = 2'
check "... restarted it (restarts 2)" test "$(restarts)" = 2
wait_for 30 healthy
check "... healthy again" healthy
"$W" restart nosuch >/dev/null 2>&1
check "restart of an unknown component: exit 3" test $? -eq 3
P3=$(svc_pid)
"$W" down >"$T/down.out" 2>&1
check "down" test $? -eq 0
# (a zombie counts as gone: the container's pid 1 may not reap orphans)
gone() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null); [ -z "$st" ] || [ "${st#Z}" != "$st" ]; }
check "no supervisor left" gone "$SUP"
check "no migrator left (pid $P3)" gone "$P3"
check "no service aborted at shutdown" bash -c "! grep -l 'assert\|Aborted\|signal 6' '$WUKONG_DIR'/logs/*.log"
finish
