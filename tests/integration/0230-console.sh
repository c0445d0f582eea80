#!/usr/bin/env bash
# 0230-console.sh - the web console (wukong-console, docs/console.md) in Debian's headless
# Chromium against the stack `wukongctl up` starts, during a drain and a clone: `up` prints the
# console's URL; the page loads without console errors; the drain's Gantt chart has one row per
# VM with the plan's bar, and its actual bars move between two reads of the DOM; the convergence
# chart has points; the audit search by the drain's id finds its records; screenshots land in
# $B/test-logs/0230-console/. Then the terminal and file pictures: `wukongctl drain --dry-run`
# draws the plan per VM, the real drain ends with planned against actual, and `wukongctl report
# drain ID --svg FILE` opens in Chromium with a planned and an actual bar per VM. The page's API
# answers hostile queries with 400/404. (The 1,000-operations page test is 0231.)
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT
OUT="$B/test-logs/0230-console"
rm -rf "$OUT" && mkdir -p "$OUT"
PY=/usr/bin/python3
if ! command -v chromium >/dev/null || ! $PY -c 'import websocket' 2>/dev/null; then
	skip "chromium or python3-websocket not installed (tools/deps.sh installs both)"
	finish
	exit
fi
[ -x "$BIN/wukong-console" ] || { not_ok "wukong-console is built"; finish; exit; }

cat >"$T/scenario.yaml" <<'YAML'
seed: 7
timeFactor: 1
linkBandwidth: 1Gi
defaultDirtyRate: 8Mi
migrations:
  parallelMigrationsPerCluster: 5
  parallelOutboundMigrationsPerNode: 2
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, provisioner: rbd.csi.ceph.com, copyRate: 2Gi}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi, unschedulable: true}
  - {name: node-c, cpu: 32, memory: 64Gi, unschedulable: true}
  - {name: node-d, cpu: 32, memory: 64Gi}
vms:
  - {name: d, count: 5, cpu: 1, memory: 4Gi, dirtyRate: 24Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: src, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
"$W" up --scenario "$T/scenario.yaml" >"$T/up.out" 2>&1
check "up exits 0" [ $? -eq 0 ]
URL=$(sed -n 's/^  console *\(http:[^ ]*\).*/\1/p' "$T/up.out")
check "up prints the console's URL" bash -c "echo '$URL' | grep -qE '^http://127\.0\.0\.1:[0-9]+/$'"
[ -n "$URL" ] || { cat "$T/up.out"; finish; exit; }
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig --request-timeout=10s"
wait_for 40 bash -c "[ \$($K get vmi -A --no-headers 2>/dev/null | grep -c ' Running ') -eq 6 ]" ||
	not_ok "the six VMs run"
ON_A=$($K get vmi -n default --no-headers 2>/dev/null | awk '$5 == "node-a" {print $1}' | sort)
NA=$(echo "$ON_A" | grep -c .)
SRC=$($K get vmi -n default --no-headers 2>/dev/null | awk '$5 != "node-a" {print $1}' | head -1)
SRC=${SRC%-vm}
diag "on node-a: $(echo $ON_A) ($NA); clone source $SRC"
check "the scenario put VMs on node-a and elsewhere" [ "$NA" -ge 2 -a -n "$SRC" ]

# The page's API: hostile and unknown input.
A=${URL#http://}
A=${A%/}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "index, script and style are served from the binary" \
	bash -c "[ \$(curl -s '$URL' | grep -c 'app.js') -ge 1 ] && [ \$(curl -s -o /dev/null -w '%{http_code}' '${URL}app.js') = 200 ]"
check "an overlong query argument is refused with 400" [ "$(code "${URL}api/audit?vm=$(printf 'a%.0s' $(seq 300))")" = 400 ]
check "a bad time is refused with 400" [ "$(code "${URL}api/audit?since=yesterday")" = 400 ]
check "an unknown drain is 404" [ "$(code "${URL}api/drain/nosuch")" = 404 ]
check "a write (POST) is refused with 405: the console is read-only" [ "$(code -X POST "${URL}api/state")" = 405 ]

# Terminal: the dry run draws the plan per VM.
"$W" drain node-a --dry-run --request-id dry-0230 --timeout 60s >"$T/dry.out" 2>&1
check "drain --dry-run exits 0" [ $? -eq 0 ]
check "... and draws the plan: a header and one row per VM with its target and bar" \
	bash -c "grep -q '^VM  *TARGET  *MODE  *TIMELINE' '$T/dry.out' && [ \$(grep -cE '^default/d-[0-9]+ +node-[a-z]+ +(live|cold|live!) +[ -]*-+[ -]* [0-9]+-[0-9]+$' '$T/dry.out') -eq $NA ]"
diag "$(sed -n '/^the plan/,$p' "$T/dry.out" | head -12)"

# The browser first (it waits for the drain to appear), then the drain and the clone.
$K uncordon node-b node-c >/dev/null
$PY "$ROOT/tests/helpers/console_browser.py" live "$URL" --drain dr-0230 --vms "$NA" \
	--out "$OUT" >"$T/browser.out" 2>&1 &
BROWSER=$!
wait_for 30 grep -q 'the console loads' "$T/browser.out" || diag "browser: $(tail -3 "$T/browser.out")"
sleep 1
"$W" drain node-a --request-id dr-0230 --timeout 120s >"$T/drain.out" 2>&1 &
DRAIN=$!
"$W" clone "default/$SRC" default/src-copy --request-id cl-0230 --no-wait >"$T/clone.out" 2>&1
check "clone submitted" [ $? -eq 0 ]
wait $BROWSER
rc=$?
while read -r line; do
	case "$line" in
	"ok "*) ok "browser: ${line#ok }" ;;
	"not ok "*) not_ok "browser: ${line#not ok }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/browser.out"
[ $rc -eq 0 ] || diag "browser exit $rc: $(grep -v '^ok' "$T/browser.out" | head -5)"
wait $DRAIN
check "the drain ends with 0" [ $? -eq 0 ]
check "... and prints planned against actual, one line per VM" \
	bash -c "grep -q '^planned against actual' '$T/drain.out' && [ \$(grep -cE '^  default/d-[0-9]+ -> node-[a-z]+: planned [0-9]+-[0-9]+ s, actual [0-9]+-[0-9]+ s' '$T/drain.out') -eq $NA ]"
diag "$(tail -$((NA + 2)) "$T/drain.out")"

# The file: the finished drain as SVG, opened in Chromium.
"$W" report drain dr-0230 --svg "$OUT/drain-dr-0230.svg" >"$T/report.out" 2>&1
check "report drain --svg writes the file" [ $? -eq 0 -a -s "$OUT/drain-dr-0230.svg" ]
$PY "$ROOT/tests/helpers/console_browser.py" svg "$OUT/drain-dr-0230.svg" --vms "$NA" --out "$OUT" >"$T/svg.out" 2>&1
while read -r line; do
	case "$line" in
	"ok "*) ok "svg: ${line#ok }" ;;
	"not ok "*) not_ok "svg: ${line#not ok }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/svg.out"
"$W" report drain nosuch-0230 >"$T/o" 2>&1
check "report of an unknown drain: exit 1, saying so" bash -c "[ $? -eq 1 ] && grep -q 'nothing about drain request' '$T/o'"
# The clone went through while the console watched (the executor's own test is 0060).
wait_for 40 bash -c "$K get wukong -n default src-copy -o jsonpath='{.status.cloneStatus.phase}' 2>/dev/null | grep -q Succeeded" ||
	diag "clone: $($K get wukong -n default src-copy -o jsonpath='{.status.cloneStatus}' 2>&1 | head -c 300)"
check "the console saw the clone" bash -c "curl -s '${URL}api/state' | grep -q '\"id\":\"clone:local/default/src-copy\"'"
ls "$OUT"/*.png >/dev/null 2>&1 && diag "screenshots: $(cd "$OUT" && ls *.png | tr '\n' ' ')"
"$W" down >/dev/null 2>&1
finish
