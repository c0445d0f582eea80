#!/usr/bin/env bash
# 0014-sim-control-query.sh - the simulator's control API (/sim/...) ignores a query string the
# client adds, as kubectl does (`kubectl --request-timeout 32s get --raw` sends ?timeout=32s):
# the query must not become part of the action the model routes on.
. "$(dirname "$0")/../lib.sh"

start_bg sim "$BIN/wukong-sim" --dir "$T/sim"
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
K="timeout 30 kubectl --kubeconfig $T/sim/kubeconfig"
SERVER=$(sed -n 's/^ *server: *//p' "$T/sim/kubeconfig" | head -1)
ctl() { # ctl METHOD PATH [BODY]: the control API, body to stdout, status code to $T/code
	curl -s --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" \
		-o "$T/body" -w '%{http_code}' -X "$1" ${3:+-d "$3"} "$SERVER/sim$2" >"$T/code"
	cat "$T/body"
}

ctl GET /state >"$T/state.plain"
check "GET /sim/state answers 200" test "$(cat "$T/code")" = 200
ctl GET '/state?timeout=32s' >"$T/state.query"
check "GET /sim/state?timeout=32s answers 200 (got $(cat "$T/code"))" test "$(cat "$T/code")" = 200
check "... with the state document" grep -q '"nodes"\|"vms"\|"time' "$T/state.query"
ctl PUT '/time?timeout=32s' '{"timeFactor":7}' >/dev/null
check "PUT /sim/time?timeout=32s answers 200 (got $(cat "$T/code"))" test "$(cat "$T/code")" = 200
ctl GET '/time?a=b&c' >"$T/time"
check "the time factor was set through the query-string request" grep -q '"timeFactor": *7' "$T/time"
ctl GET '/nope?timeout=32s' >/dev/null
check "an unknown action with a query is still 404" test "$(cat "$T/code")" = 404
check "kubectl get --raw '/sim/state?timeout=32s' works" \
	bash -c "$K get --raw '/sim/state?timeout=32s' >'$T/k1' && test -s '$T/k1'"
check "kubectl --request-timeout 32s get --raw /sim/state works" \
	bash -c "$K --request-timeout 32s get --raw /sim/state >'$T/k2' && test -s '$T/k2'"
finish
