#!/usr/bin/env bash
# 0072-wukongctl-kubectl-habits.sh - wukongctl with kubectl's and virtctl's habits (issue 25),
# directly and as the kubectl plugin (`kubectl wukong`), into a pipe and on a terminal (tmux):
# -n/--namespace (and its default from the kubeconfig context), -A, NAME or NS/NAME,
# -o json|yaml|wide|name|jsonpath= on get, the operations and audit query, "No resources found",
# NotFound, a namespace mismatch, migrate-cancel, the final line's duration and bytes, colours and
# bars only on a terminal, names cut in the middle to fit a narrow one.
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
TM="tmux -L wk0072-$$ -f /dev/null"
trap '$TM kill-server >/dev/null 2>&1; "$W" down >/dev/null 2>&1; cleanup' EXIT
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig --request-timeout=10s"
PLUGIN() { PATH="$BIN:$PATH" kubectl wukong "$@"; }

"$W" up >"$T/up.log" 2>&1 || { not_ok "wukongctl up"; cat "$T/up.log"; finish; exit 1; }
ok "stack up"
wait_for 30 bash -c "[ \"\$($K get vmi -n default tiny-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
SRC=$($K get vmi -n default tiny-1-vm -o jsonpath='{.status.nodeName}')
for n in node-1 node-2 node-3 node-4; do [ "$n" != "$SRC" ] && TGT=$n && break; done

# a finished migration for the terminal checks below, meanwhile
"$W" migrate web-3 --no-wait >/dev/null

# ---- an operation through the plugin, -n, -o yaml; the final line (text) has duration and bytes ----
PLUGIN -n default migrate tiny-1 --to "$TGT" -o yaml --timeout 90s >"$T/mig.yaml" 2>"$T/mig.err"
check "kubectl wukong -n default migrate NAME -o yaml: exit 0, YAML with the status's names" /usr/bin/python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print("#", d)
sys.exit(0 if d["phase"] == "Succeeded" and d["namespace"] == "default" and d["name"] == "tiny-1" and d["targetNode"] == sys.argv[2] else 1)' "$T/mig.yaml" "$TGT"
"$W" migrate default/tiny-1 --to "$SRC" --timeout 90s >"$T/mig.txt" 2>&1
# (the bytes only when a progress report gave them: a short migration may end before a scrape)
check "the final line says how long it took (and how much moved, when known)" grep -qE "Succeeded: .*\(took [0-9]+:[0-9]{2}(, [0-9.]+[KMG]?i?B moved)?\)$" "$T/mig.txt"
diag "$(tail -1 "$T/mig.txt")"

# ---- status hygiene: migrated, then a rejected request: only the rejected request is current ----
"$W" migrate tiny-1 --to no-such-node --request-id hyg-rej-1 --timeout 30s >"$T/rej.out" 2>&1
check "a request to a node that does not exist: Rejected (TargetNodeNotFound), exit 1" bash -c \
	"[ $? -eq 1 ] && grep -q 'Rejected (TargetNodeNotFound)' '$T/rej.out'"
wait_for 15 bash -c "$K get wukong -n default tiny-1 -o json | jq -e '.status.migrationStatus.requestId == \"hyg-rej-1\"' >/dev/null"
$K get wukong -n default tiny-1 -o json >"$T/hyg.json"
check "the Wukong shows only the rejected request's fields, the migration before under lastMigrationStatus" /usr/bin/python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))["status"]
m, last = st.get("migrationStatus", {}), st.get("lastMigrationStatus", {})
print("# migrationStatus", m)
print("# lastMigrationStatus", last)
stale = [k for k in ("dataProcessedBytes", "transferRateBytesPerSecond", "progress", "startedAt", "mode") if k in m]
ok = m.get("requestId") == "hyg-rej-1" and m.get("phase") == "Rejected" and not stale and last.get("phase") == "Succeeded" and last.get("requestId") != "hyg-rej-1"
sys.exit(0 if ok else 1)' "$T/hyg.json"
check "MigrationConverging is not True once the migration ended" bash -c \
	"! jq -e '.status.conditions[]? | select(.type == \"MigrationConverging\" and .status == \"True\")' '$T/hyg.json' >/dev/null"
check "get NAME shows the rejected request without a bar or a percentage" bash -c \
	"'$W' get tiny-1 | grep -qE '^tiny-1 +migration +Rejected +- '"

# ---- get: both front doors, into a pipe ----
for via in direct plugin; do
	G() { if [ $via = direct ]; then "$W" "$@"; else PLUGIN "$@"; fi; }
	G get -n default --include-finished >"$T/$via.tab" 2>&1
	check "$via: get -n default: a kubectl table into a pipe, no bar, no escapes" bash -c \
		"head -1 '$T/$via.tab' | grep -qE '^NAME +OPERATION +PHASE +PROGRESS +SOURCE +TARGET +ETA$' && grep -qE '^tiny-1 +migration +Rejected +- +' '$T/$via.tab' && ! grep -q '\[' '$T/$via.tab' && ! grep -q $'\x1b' '$T/$via.tab'"
	G get -A --include-finished -o wide >"$T/$via.wide" 2>&1
	check "$via: get -A -o wide: NAMESPACE first, REQUEST MODE DOWNTIME added" bash -c \
		"head -1 '$T/$via.wide' | grep -qE '^NAMESPACE +NAME +OPERATION .* ETA +REQUEST +MODE +DOWNTIME$' && grep -qE '^default +tiny-1 +migration +Rejected .* hyg-rej-1 +- +- *$' '$T/$via.wide'"
	G get -A --include-finished -o json >"$T/$via.json"
	check "$via: get -o json: a List whose items carry the status's field names, no bookkeeping" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
it = [i for i in d["items"] if i["name"] == "tiny-1"]
sys.exit(0 if d["kind"] == "List" and it and it[0]["operation"] == "migration" and it[0]["requestId"] == "hyg-rej-1" and it[0]["phase"] == "Rejected" and "appliedSeq" not in it[0] else 1)' "$T/$via.json"
	G get -A --include-finished -o yaml >"$T/$via.yaml"
	check "$via: get -o yaml parses to the same data as -o json" /usr/bin/python3 -c '
import json, sys, yaml
sys.exit(0 if yaml.safe_load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)' "$T/$via.yaml" "$T/$via.json"
	G get tiny-1 -o name >"$T/$via.name"
	check "$via: get NAME -o name" grep -qx wukong.wukong.novasphere.dev/tiny-1 "$T/$via.name"
	G get default/tiny-1 -o jsonpath='{range .items[*]}{.namespace}/{.name} {.phase} {.requestId}{"\n"}{end}' >"$T/$via.jp"
	check "$via: get NS/NAME -o jsonpath={range}" grep -qx "default/tiny-1 Rejected hyg-rej-1" "$T/$via.jp"
	G get -n dev >"$T/$via.empty.out" 2>"$T/$via.empty.err"
	check "$via: nothing in flight: 'No resources found in dev namespace.' on stderr, stdout empty, exit 0" bash -c \
		"[ $? -eq 0 ] && grep -qx 'No resources found in dev namespace.' '$T/$via.empty.err' && [ ! -s '$T/$via.empty.out' ]"
	G get default/no-such >"$T/$via.nf" 2>&1
	check "$via: get of a Wukong that does not exist: NotFound, exit 1" bash -c \
		"[ $? -eq 1 ] && grep -q 'Error from server (NotFound): wukongs.wukong.novasphere.dev \"no-such\" not found' '$T/$via.nf'"
	G migrate prod/web-1 -n default >"$T/$via.mm" 2>&1
	check "$via: NS/NAME against a different -n: usage error (2)" bash -c "[ $? -eq 2 ] && grep -qF -- \"-n says 'default'\" '$T/$via.mm'"
	G migrate-cancel tiny-1 -n default -o jsonpath='{.phase} {.reason}' >"$T/$via.mc" 2>/dev/null
	check "$via: migrate-cancel (virtctl's verb) with -o jsonpath: Rejected NoMigrationInFlight, exit 1" bash -c \
		"[ $? -eq 1 ] && grep -qx 'Rejected NoMigrationInFlight' '$T/$via.mc'"
	G drain "$TGT" --dry-run -o name >"$T/$via.dr" 2>/dev/null
	check "$via: drain --dry-run -o name" grep -qx "node/$TGT" "$T/$via.dr"
	G audit query --vm tiny-1 -n default --limit 1 -o jsonpath='{.object.name} {.action}' >"$T/$via.aq"
	check "$via: audit query --vm NAME -n --limit 1 -o jsonpath: the newest record" bash -c \
		"grep -qE '^tiny-1 [a-z.-]+$' '$T/$via.aq' && [ \"\$(cut -d' ' -f2 '$T/$via.aq')\" = \"\$('$W' audit query --vm default/tiny-1 -o json | tail -1 | jq -r .action)\" ]"
	G audit query --vm default/tiny-1 -o wide >"$T/$via.aw"
	check "$via: audit query -o wide: SEQ TIME KIND ... header" bash -c "head -1 '$T/$via.aw' | grep -qE '^SEQ +TIME +KIND +OBJECT +REQUEST +ACTOR +ACTION +OUTCOME +REASON +MESSAGE$'"
	G status -o json >"$T/$via.st"
	check "$via: status -o json parses" /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/$via.st"
done
# the namespace NAME means comes from the kubeconfig context, as for kubectl
cp "$WUKONG_DIR/kubeconfig" "$T/ctx.kubeconfig"
kubectl --kubeconfig "$T/ctx.kubeconfig" config set-context --current --namespace=dev >/dev/null
"$W" get --kubeconfig "$T/ctx.kubeconfig" >/dev/null 2>"$T/ctx.err"
check "no -n: the kubeconfig context's namespace (dev)" grep -qx 'No resources found in dev namespace.' "$T/ctx.err"
timeout 10 "$W" watch -A --include-finished --once >"$T/w.out" 2>&1
check "watch --once into a pipe: the same table, no escapes" bash -c "grep -qE '^default +tiny-1 +migration' '$T/w.out' && ! grep -q $'\x1b' '$T/w.out'"
timeout 3 "$W" get -w -A --include-finished >"$T/gw.out" 2>&1
check "get -w into a pipe: the header once, then the rows (as kubectl get -w)" bash -c \
	"[ \"\$(grep -c '^NAMESPACE ' '$T/gw.out')\" -eq 1 ] && grep -qE '^default +tiny-1 +migration' '$T/gw.out'"

# ---- on a terminal: bars and colours, widths that fit ----
if command -v tmux >/dev/null; then
	$TM new-session -d -s wide -x 160 -y 20 "env WUKONG_DIR='$WUKONG_DIR' PATH='$BIN':\$PATH kubectl wukong get -A --include-finished; sleep 30"
	check "terminal: a bar with the percentage in PROGRESS" wait_for 15 bash -c \
		"$TM capture-pane -p -t wide | grep -qE '^default +web-[0-9] +migration +Succeeded +\[#{20}\] +100%'"
	check "terminal: rows are coloured (SGR green Succeeded, red Rejected)" bash -c "$TM capture-pane -e -p -t wide | grep -q $'\x1b\\[32m' && $TM capture-pane -e -p -t wide | grep -q $'\x1b\\[31m'"
	$TM new-session -d -s narrow -x 80 -y 20 "env WUKONG_DIR='$WUKONG_DIR' '$W' get -A --include-finished; sleep 30"
	wait_for 15 bash -c "$TM capture-pane -p -t narrow | grep -q Succeeded"
	$TM capture-pane -p -t narrow >"$T/narrow.txt"
	while IFS= read -r l; do [ -n "$l" ] && diag "  $l"; done <"$T/narrow.txt"
	check "an 80-column terminal: every line fits (the bar dropped), the phase whole" bash -c \
		"! awk 'length(\$0) > 79' '$T/narrow.txt' | grep -q . && grep -qE '^default +web-[0-9] +migration +Succeeded +100%' '$T/narrow.txt'"
else
	skip "tmux not installed (tools/deps.sh)"
fi
finish
