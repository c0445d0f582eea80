#!/usr/bin/env bash
# 0070-wukongctl.sh - wukongctl end to end against the embedded stack it starts itself: up/status/
# down leaving no process behind; migrate (text, -o json, --no-wait), rejected requests (pre-flight
# in the status, and a dead letter) with a non-zero exit and the reason, cancel, clone, drain (no
# executor yet: reported as not processed, never as success); hostile arguments; output checked
# with stdout not a terminal (no escape sequences); audit query/verify; the kubectl plugin link.
. "$(dirname "$0")/../lib.sh"

W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig --request-timeout=10s"
noesc() { ! grep -q $'\x1b' "$1"; }

# ---- arguments (no stack needed) ----
"$W" migrate ../../x >"$T/o" 2>&1
check "hostile NS/NAME '../../x' refused with usage status 2" [ $? -eq 2 ]
check "... saying why" grep -q "invalid name '../../x'" "$T/o"
"$W" migrate "default/$(printf 'a%.0s' $(seq 300))" >"$T/o" 2>&1
check "overlong name refused (2)" [ $? -eq 2 ]
"$W" migrate default/web-1 --frobnicate >"$T/o" 2>&1
check "unknown flag refused (2)" [ $? -eq 2 ]
check "... naming the command's help" grep -q "see 'wukongctl migrate --help'" "$T/o"
"$W" migrate "$(printf 'x\033]0;pwned\007')" >"$T/o" 2>&1
check "control bytes in an argument are not echoed" noesc "$T/o"
"$W" clone default/a >"$T/o" 2>&1
check "clone with one argument refused (2)" [ $? -eq 2 ]
ok_help=1
for c in up down status migrate cancel drain clone get watch audit; do
	"$W" "$c" --help >"$T/o" 2>&1 && grep -q "usage: wukongctl $c" "$T/o" || { ok_help=0; diag "no help for $c"; }
done
check "--help on every subcommand" [ $ok_help = 1 ]
"$W" status >"$T/o" 2>&1
check "status without a stack: exit 3" [ $? -eq 3 ]
check "... and what to do next" grep -q "run 'wukongctl up'" "$T/o"
"$W" migrate default/web-1 >"$T/o" 2>&1
check "migrate without a stack: exit 3 with a hint" bash -c "[ $? -eq 3 ] && grep -q 'wukongctl up' '$T/o'"

# ---- up ----
"$W" up >"$T/up.log" 2>&1
rc=$?
check "up exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { cat "$T/up.log"; tail -5 "$WUKONG_DIR"/logs/*.log; }
check "up wrote kubeconfig and bootstrap" test -s "$WUKONG_DIR/kubeconfig" -a -s "$WUKONG_DIR/bootstrap"
check "kubectl-wukong plugin link next to wukongctl" test -L "$BIN/kubectl-wukong"
check "kubectl wukong (plugin) runs wukongctl" bash -c "PATH='$BIN':\$PATH kubectl wukong version | grep -q wukongctl"
PIDS=$(cat "$WUKONG_DIR"/pids/*.pid | cut -d' ' -f1 | tr '\n' ' ')
diag "processes: $PIDS"
"$W" status -o json >"$T/status.json"
# The simulator writes no DIR/metrics-url any more (a cluster has no such file): wukongctl asks its
# API server's /healthz through the stack's kubeconfig (issue 16 item 8).
check "status: every component healthy (the simulator through its API server's /healthz)" /usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
names = {c["component"] for c in s}
bad = [c for c in s if c["health"] != "ok"]
print("#", sorted(names), bad)
sys.exit(0 if not bad and {"kafka", "sim", "migrator", "watcher"} <= names else 1)' "$T/status.json"
"$W" up >"$T/o" 2>&1
check "up twice: says it is running, starts nothing" bash -c "grep -q 'already running' '$T/o' && [ \"\$(ls '$WUKONG_DIR/pids' | wc -l)\" -eq $(echo $PIDS | wc -w) ]"

wait_for 30 bash -c "[ \"\$($K get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
SRC=$($K get vmi -n default web-1-vm -o jsonpath='{.status.nodeName}')
for n in node-1 node-2 node-3 node-4; do [ "$n" != "$SRC" ] && TGT=$n && break; done

# ---- migrate, text to a pipe ----
"$W" migrate default/web-1 --to "$TGT" --timeout 90s >"$T/mig.out" 2>"$T/mig.err"
check "migrate web-1 to $TGT: exit 0" [ $? -eq 0 ]
check "VMI now on $TGT" [ "$($K get vmi -n default web-1-vm -o jsonpath='{.status.nodeName}')" = "$TGT" ]
check "plain progress lines when stdout is not a terminal" grep -q '^phase=' "$T/mig.out"
check "... ending Succeeded" grep -q ': Succeeded' "$T/mig.out"
check "... and no escape sequences" noesc "$T/mig.out"
diag "$(tr '\n' '|' <"$T/mig.out")"

# ---- -o json ----
"$W" migrate web-1 --to "$SRC" -o json --timeout 90s >"$T/mig.json"
check "migrate -o json: exit 0 and one JSON object Succeeded with the nodes" /usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
sys.exit(0 if d["phase"] == "Succeeded" and d["succeeded"] and d["targetNode"] == sys.argv[2] and d["requestId"].startswith("migrate-") else 1)' "$T/mig.json" "$SRC"

# ---- --no-wait ----
ID=$("$W" migrate default/web-3 --no-wait)
check "--no-wait prints the request id" bash -c "echo '$ID' | grep -Eq '^migrate-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$'"
"$W" migrate default/tiny-1 --no-wait -o json --request-id my-req-0070 >"$T/nw.json"
check "--no-wait -o json: id, topic, partition, offset" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["requestId"] == "my-req-0070" and d["topic"] == "wukong.requests.local" and d["offset"] >= 0 and d["key"] == "local/default/tiny-1-vm" else 1)' "$T/nw.json"
check "the submission on the topic validates against request-migrate.v1.json" bash -c \
	"timeout 10 kcat -b \$(cat '$WUKONG_DIR/bootstrap') -C -t wukong.requests.local -o beginning -e -q -f '%s\n' | grep my-req-0070 | '$ROOT/tests/schema-validate' '$ROOT/schemas/request-migrate.v1.json'"
JP='{range .items[*]}{.requestId} {.phase}{"\n"}{end}'
wait_for 60 bash -c "'$W' get --include-finished -o jsonpath='$JP' | grep -qx 'my-req-0070 Succeeded'"
check "the --no-wait migration ran to Succeeded (get --include-finished -o jsonpath)" bash -c "'$W' get --include-finished -o jsonpath='$JP' | grep -qx 'my-req-0070 Succeeded'"

# ---- rejected ----
"$W" migrate default/db-local --timeout 30s >"$T/rej.out" 2>"$T/rej.err"
check "migration of db-local (local disk) rejected: exit 1" [ $? -eq 1 ]
check "... with the reason" bash -c "grep -q 'Rejected' '$T/rej.err' && grep -qi 'not live-migratable\|ReadWriteMany' '$T/rej.err'"
diag "$(cat "$T/rej.err")"
# The same VM moves when the request allows a cold migration (stop, move, start).
from=$($K get vmi -n default db-local-vm -o jsonpath='{.status.nodeName}')
to=node-1
[ "$from" = node-1 ] && to=node-3
# The owner allows cold moves (a submission's options.cold needs its consent).
$K patch wukong -n default db-local --type merge \
	-p '{"spec":{"migrationPolicy":{"enabled":true,"allowColdMigration":true,"triggerConditions":[{"type":"nodeMaintenance"}]}}}' >/dev/null
"$W" migrate default/db-local --cold --to "$to" --timeout 60s >"$T/cold.out" 2>&1
rc=$?
# db-local's data disk is node-local (local-rwo: a PersistentVolume pinned to its node), so
# its VMI cannot start anywhere else ("volume node affinity conflict"), and its class has no
# dynamic provisioner (kubernetes.io/no-provisioner), so no copy can be made on the target: the
# cold move is refused before the VM is stopped, naming the volume and what a copy would need
# (issue 16 item 6, issue 18).
check "migrate --cold of db-local to $to refused up front: exit 1, Rejected" \
	bash -c "[ $rc -eq 1 ] && grep -q Rejected '$T/cold.out'"
check "... the reason names the PersistentVolume's node affinity" \
	bash -c "grep -q 'TargetNodeVolumeAffinityMismatch' '$T/cold.out' && grep -q 'PersistentVolume' '$T/cold.out' && grep -q 'dynamic provisioner' '$T/cold.out'"
check "... db-local keeps running on $from" \
	test "$($K get vmi -n default db-local-vm -o jsonpath='{.status.phase}/{.status.nodeName}')" = "Running/$from"
diag "$(tail -c 400 "$T/cold.out")"
"$W" migrate default/no-such-vm -o json >"$T/nf.json"
check "unknown Wukong: dead letter, exit 1, reason NotFound" bash -c "[ $? -eq 1 ] && grep -q '\"reason\": \"NotFound\"' '$T/nf.json'"

# ---- cancel ----
"$W" migrate default/db-1 --no-wait >/dev/null
wait_for 20 bash -c "'$W' get -o name | grep -qx wukong.wukong.novasphere.dev/db-1"
"$W" cancel default/db-1 --timeout 30s >"$T/c.out" 2>&1
check "cancel of a running migration: exit 0, Cancelled" bash -c "[ $? -eq 0 ] && grep -q Cancelled '$T/c.out'"
"$W" cancel default/web-2 --timeout 30s >"$T/c2.out" 2>&1
check "cancel with nothing in flight: exit 1 with the reason" bash -c "[ $? -eq 1 ] && grep -q NoMigrationInFlight '$T/c2.out'"
# issue 16 item 13: a second cancel of db-1 (its migration already Cancelled) is this request's
# rejection, not the earlier cancel's success
"$W" cancel default/db-1 --timeout 30s >"$T/c3.out" 2>&1
check "second cancel of db-1 (nothing in flight): exit 1 NoMigrationInFlight, no 'Cancelled'" bash -c \
	"[ $? -eq 1 ] && grep -q NoMigrationInFlight '$T/c3.out' && ! grep -q ': Cancelled' '$T/c3.out'"

# ---- request expiry (issue 16 item 14) ----
BS=$(cat "$WUKONG_DIR/bootstrap")
old=$(date -u -d '-20 min' +%Y-%m-%dT%H:%M:%SZ)
printf '%s\n' '{"requestId":"old-mig-1","cluster":"local","namespace":"default","name":"web-1"}' |
	kcat -b "$BS" -P -t wukong.requests.local -k local/default/web-1-vm -H ce_specversion=1.0 \
		-H ce_id=old-1 -H ce_source=/tenants/test -H "ce_time=$old" \
		-H ce_type=dev.novasphere.wukong.request.migrate.v1 -H content-type=application/json
wait_for 20 bash -c "kcat -b $BS -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep -q old-mig-1"
check "a migrate request sent 20 min ago is dead-lettered Expired" bash -c \
	"kcat -b $BS -C -t wukong.dlq -o beginning -e -q -f '%h %s\n' 2>/dev/null | grep old-mig-1 | grep -q 'x-dlt-reason=Expired'"
check "... audited with its request id" bash -c \
	"for i in \$(seq 50); do kcat -b $BS -C -t wukong.audit -o beginning -e -q 2>/dev/null | grep old-mig-1 | grep -q Expired && exit 0; sleep 0.2; done; exit 1"
check "... and no migration was created for it" bash -c "! $K get vmim -A -o json | grep -q old-mig-1"
"$W" migrate default/web-1 --cluster elsewhere --timeout 4s >"$T/exp.out" 2>&1
rc=$?
check "nothing processes it: exit 4, says until when it may still run and how to withdraw it" bash -c \
	"[ $rc -eq 4 ] && grep -q 'may still run until 20[0-9-]*T' '$T/exp.out' && grep -q \"wukongctl cancel default/web-1 --request migrate-\" '$T/exp.out'"

# ---- clone ----
if [ -x "$BIN/wukong-cloner" ]; then
	"$W" clone default/web-2 default/web-2-copy --timeout 90s >"$T/cl.out" 2>&1
	check "clone web-2 -> web-2-copy: exit 0" [ $? -eq 0 ]
	check "... the new Wukong exists" $K get wukong -n default web-2-copy
	check "... progress lines seen" grep -q 'progress=' "$T/cl.out"
	# issue 16 item 12: a selection naming no disk of the source is refused, nothing created
	"$W" clone default/web-2 default/web-2-bad --disks nosuch --timeout 30s >"$T/clb.out" 2>&1
	check "clone --disks nosuch: exit 1, InvalidDiskSelection" bash -c \
		"[ $? -eq 1 ] && grep -q InvalidDiskSelection '$T/clb.out' && grep -q \"'nosuch' is not a disk\" '$T/clb.out'"
	check "... no Wukong and no VM web-2-bad" bash -c "! $K get wukong -n default web-2-bad >/dev/null 2>&1 && ! $K get vm -n default web-2-bad-vm >/dev/null 2>&1"
else
	diag "wukong-cloner not built: clone not tested"
fi

# ---- drain ----
# The migrator executes drains (issue 6): a dry run answers with the plan and moves nothing.
before=$($K get vmim -A -o name 2>/dev/null | wc -l)
"$W" drain node-1 --dry-run --timeout 60s >"$T/d.out" 2>&1
rc=$?
sleep 1
after=$($K get vmim -A -o name 2>/dev/null | wc -l)
if [ -x "$BIN/wukong-migrator" ]; then
	check "drain --dry-run answered by the migrator (exit $rc)" [ $rc -eq 0 ]
	check "... and created no migration ($before VMIMs before, $after after)" [ "$before" -eq "$after" ]
else
	check "drain without an executor: exit 4, reported as not processed" grep -q 'nothing processed drain request' "$T/d.out"
fi

# ---- views ----
"$W" get -A --include-finished >"$T/get.out"
check "get -A --include-finished (not a terminal): a kubectl table, no escapes" bash -c "head -1 '$T/get.out' | grep -q '^NAMESPACE  *NAME  *OPERATION  *PHASE' && grep -q '^default  *web-1  *migration  *Succeeded' '$T/get.out' && ! grep -q $'\x1b' '$T/get.out'"
"$W" get -A --include-finished -o json >"$T/get.json"
check "get -o json: a List of the status's fields" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["kind"] == "List" and any(r["namespace"] == "default" and r["name"] == "web-1" and "sourceNode" in r for r in d["items"]) else 1)' "$T/get.json"
timeout 5 "$W" watch -A --include-finished --once >"$T/w.out"
check "watch --once into a pipe: a table, no escapes" bash -c "grep -q '^default  *web-1 ' '$T/w.out' && ! grep -q $'\x1b' '$T/w.out'"

# ---- audit ----
if [ -x "$BIN/wukong-audit" ]; then
	wait_for 10 bash -c "'$W' audit query -o json --request my-req-0070 | grep -q my-req-0070"
	check "audit query finds the request's records" bash -c "'$W' audit query -o json --request my-req-0070 | grep -q my-req-0070"
	check "audit query --vm (table)" bash -c "'$W' audit query --vm default/web-1 | grep -q 'default/web-1'"
	check "audit verify: chain valid" "$W" audit verify
fi

# ---- down ----
"$W" down >"$T/down.out" 2>&1
check "down exits 0" [ $? -eq 0 ]
# A process counts while it runs; a zombie waiting for its new parent (init) to reap it does not.
running() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ] && [ "$st" != X ]; }
left=""
for p in $PIDS; do running "$p" && left="$left $p"; done
check "down leaves no process behind" [ -z "$left" ]
for p in $(pgrep -f -- "$BIN/wukong-" 2>/dev/null); do
	grep -qa -- "$WUKONG_DIR" "/proc/$p/cmdline" 2>/dev/null && running "$p" && left="$left $p"
done
check "no process started for this stack's directory remains" [ -z "$left" ]
"$W" status >/dev/null 2>&1
check "status after down: exit 3" [ $? -eq 3 ]
finish
