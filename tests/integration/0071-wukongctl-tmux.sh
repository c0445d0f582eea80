#!/usr/bin/env bash
# 0071-wukongctl-tmux.sh - wukongctl on a real terminal: `wukongctl watch` and a following
# `wukongctl migrate` run inside tmux (a private server socket), and the progress bars are read back
# from the screen with capture-pane: the table header, a bar per operation in flight, the live bar
# of the migration redrawn in place (one line, not a scroll of lines), the end result, and the
# table emptying when the operations end. Ctrl-C (send-keys C-c) ends watch cleanly.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "1..0 # SKIP tmux not installed (tools/deps.sh)"; exit 0; }
W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
TM="tmux -L wk0071-$$ -f /dev/null"
trap '$TM kill-server >/dev/null 2>&1; "$W" down >/dev/null 2>&1; cleanup' EXIT
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig --request-timeout=10s"
screen() { $TM capture-pane -p -t "$1" 2>/dev/null; }

"$W" up >"$T/up.log" 2>&1 || { not_ok "wukongctl up"; cat "$T/up.log"; finish; exit 1; }
ok "stack up"
wait_for 30 bash -c "[ \"\$($K get vmi -n default db-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
SRC=$($K get vmi -n default api-1-vm -o jsonpath='{.status.nodeName}')
for n in node-1 node-2 node-3 node-4; do [ "$n" != "$SRC" ] && TGT=$n && break; done

# A terminal of a known size running watch.
$TM new-session -d -s watch -x 150 -y 30 "env WUKONG_DIR='$WUKONG_DIR' '$W' watch; echo WATCH-EXIT=\$?; sleep 30"
check "watch on the terminal: no operations yet, as kubectl says it" wait_for 15 bash -c "$TM capture-pane -p -t watch | grep -q 'No resources found in default namespace.'"

# Two operations in flight: a big migration (submitted without waiting) and one followed live.
"$W" migrate default/db-1 --no-wait >/dev/null
$TM new-session -d -s mig -x 150 -y 10 "env WUKONG_DIR='$WUKONG_DIR' '$W' migrate default/api-1 --to $TGT --timeout 90s; echo MIG-EXIT=\$?; sleep 30"

check "watch shows the table's header" wait_for 30 bash -c "$TM capture-pane -p -t watch | grep -qE '^NAME +OPERATION +PHASE +PROGRESS +SOURCE +TARGET +ETA'"
check "watch: a progress bar row for db-1" wait_for 30 bash -c \
	"$TM capture-pane -p -t watch | grep -E '^db-1 +migration +[A-Za-z]+ +\[([#-]{20}|[ <=>]{20})\] +([0-9]+|\?)%'"
check "watch: a row for api-1 with source and target" wait_for 30 bash -c \
	"$TM capture-pane -p -t watch | grep -E '^api-1 .*\] +([0-9]+|\?)% +[a-z0-9-]+ +$TGT '"
screen watch >"$T/watch-screen.txt"
diag "watch screen:"
while IFS= read -r l; do [ -n "$l" ] && diag "  $l"; done <"$T/watch-screen.txt"
check "the table is redrawn in place (one header on screen)" [ "$(grep -c 'OPERATION' "$T/watch-screen.txt")" -eq 1 ]

# The followed migration: a live bar (percent, ETA, phase) on one line, then the result.
check "migrate on a terminal draws a bar with percent, ETA and phase" wait_for 30 bash -c \
	"$TM capture-pane -p -t mig | grep -E '^\[([#-]+|[ <=>]+)\] +([0-9]+|\?)%.*ETA [-0-9:]+ +[A-Z][a-zA-Z]+'"
check "migrate ends Succeeded with exit 0" wait_for 90 bash -c "$TM capture-pane -p -t mig | grep -q 'MIG-EXIT=0'"
screen mig >"$T/mig-screen.txt"
while IFS= read -r l; do [ -n "$l" ] && diag "  $l"; done <"$T/mig-screen.txt"
check "... the result line names the nodes" grep -q "Succeeded: .*to node '$TGT'" "$T/mig-screen.txt"
check "... progress redrawn in place (at most one bar line per phase)" \
	[ "$(grep -cE '^\[' "$T/mig-screen.txt")" -le 6 ]

# When everything ends, the table empties; Ctrl-C ends watch with status 0.
"$W" cancel default/db-1 --timeout 30s >/dev/null 2>&1
check "watch: the table empties when nothing is in flight" wait_for 30 bash -c \
	"$TM capture-pane -p -t watch | grep -q 'No resources found in default namespace.'"
$TM send-keys -t watch C-c
check "Ctrl-C ends watch with status 0" wait_for 10 bash -c "$TM capture-pane -p -t watch | grep -q 'WATCH-EXIT=0'"
finish
