#!/usr/bin/env bash
# 0221-watch-half-open.sh - a watch stream that goes silent without closing (a half-open
# connection: no events, no bookmarks, no final chunk) is dropped after the watch's idle timeout
# and resumed from the last resourceVersion, so the next event arrives within seconds, not after
# the stream's own timeout (up to 630 s). Issue 22 fault 7.
. "$(dirname "$0")/../lib.sh"

PROBE="$TBIN/k8s_probe"
SERVER="$ROOT/tests/helpers/fake_apiserver.py"
WK=demo.example.com/v1/wukongs
[ -x "$PROBE" ] || { not_ok "k8s_probe is built ($PROBE)"; finish; exit 1; }

start_bg apiserver /usr/bin/python3 "$SERVER" --port-file "$T/port" --log "$T/requests.log" \
	--bookmark-interval 0.5 --idle-bookmarks
wait_for 20 test -s "$T/port" || { not_ok "fake apiserver started"; finish; exit 1; }
URL="http://127.0.0.1:$(cat "$T/port")"
cat >"$T/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: fake
clusters: [{name: fake, cluster: {server: '$URL'}}]
contexts: [{name: fake, context: {cluster: fake, user: u, namespace: default}}]
users: [{name: u, user: {}}]
KC
probe() { "$PROBE" -k "$T/kubeconfig" "$@" 2>>"$T/probe.err"; }
control() { curl -sf -X POST -d "$1" "$URL/_control" >/dev/null; }
watches() { jq -c 'select(.method=="GET" and .query.watch=="1")' "$T/requests.log" | wc -l; }

probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-0"}}' >/dev/null
# streams of 60 s (curl's own limit 90 s), idle timeout 3 s; bookmarks every 0.5 s keep a healthy
# stream alive
start_bg watch "$PROBE" -k "$T/kubeconfig" watch $WK default timeout=40 stream-timeout=60 idle-timeout=3
WPID=$LAST_PID
wait_for 10 grep -q '^RELIST_END' "$T/watch.log" || not_ok "watch listed"
sleep 5
check "a healthy stream with bookmarks is not dropped by the idle timeout (one watch request in 5 s)" \
	test "$(watches)" -eq 1
control '{"stall_watches":true}'
T0=$(date +%s%N)
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-1"}}' >/dev/null
wait_for 20 grep -q 'EV ADDED default/w-1' "$T/watch.log"
MS=$((($(date +%s%N) - T0) / 1000000))
diag "event after the stall seen in $MS ms"
check "the event behind a half-open stream arrives after the idle timeout, not the stream's (${MS} ms < 15000)" \
	test "$MS" -lt 15000
check "a new watch was made (from the last resourceVersion)" test "$(watches)" -ge 2
grep -a 'stream dropped' "$T/watch.log" | head -2 | sed 's/^/# /'
kill -TERM "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
finish
