#!/usr/bin/env bash
# 0231-console-perf.sh - the console's page with 1,000 operations in flight (issue 24): the
# embedded broker and wukong-console only; 1,000 migrations' progress messages go to
# wukong.progress in rounds (every operation updated each round, a tenth of them queued with the
# limits that hold them), and headless Chromium measures how long the page takes to handle each
# update it is pushed (performance entries "con-update": parse, apply, patch the DOM). The issue's
# target is under 50 ms per update; the check takes the median of all updates of the run, so that
# a loaded 2-core machine's occasional stall does not decide it. Median, p90 and max are printed
# and kept in $B/test-logs/0231-console-perf/console-perf.json. WUKONG_TEST_LONG=1 (make
# test-long): 100 rounds instead of 16.
. "$(dirname "$0")/../lib.sh"

OUT="$B/test-logs/0231-console-perf"
rm -rf "$OUT" && mkdir -p "$OUT"
PY=/usr/bin/python3
if ! command -v chromium >/dev/null || ! $PY -c 'import websocket' 2>/dev/null; then
	skip "chromium or python3-websocket not installed (tools/deps.sh installs both)"
	finish
	exit
fi
ROUNDS=16
[ "${WUKONG_TEST_LONG:-}" = 1 ] && ROUNDS=100
start_kafka 1
start_bg console "$BIN/wukong-console" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X console.from-beginning=true -X http.addr-file="$T/console.addr"
wait_for 20 test -s "$T/console.addr" || { not_ok "wukong-console started"; tail "$T/console.log"; finish; exit; }
URL="http://$(cat "$T/console.addr")/"
$PY "$ROOT/tests/helpers/console_browser.py" perf "$URL" --bootstrap "$BOOTSTRAP" --ops 1000 \
	--rounds $ROUNDS --out "$OUT" >"$T/perf.out" 2>&1
rc=$?
while read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/perf.out"
[ $rc -eq 0 ] || diag "exit $rc: $(tail -3 "$T/perf.out")"
check "the console kept up: its /metrics counts every message applied" \
	bash -c "curl -s 'http://$(cat "$T/console.addr")/metrics' | grep -qE '^wukong_console_inputs_total\{result=\"applied\"\} ($((1000 * (ROUNDS + 1)))|[0-9]{6,})'"
check "no message was malformed" bash -c "! curl -s 'http://$(cat "$T/console.addr")/metrics' | grep -q 'result=\"malformed\"'"
finish
