#!/usr/bin/env bash
# 0085-drain-progress.sh - a real drain reported live on wukong.progress: the migrator's
# evacuation reports (schemas/progress-evacuation.v1.json) start with the plan, count VMs moved
# without going back, are at least ~1 s apart, and end on one Completed report with total = the
# VMs that left the node, delivered before the drain.completed audit record; wukongctl drain
# draws its summary from them (pipe: key=value lines; --output json: an "evacuation" object;
# terminal: a redrawn bar) and still ends on the audit record. wukong-progress runs alongside
# and neither dead-letters nor republishes the reports.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 11
linkBandwidth: 1250M
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 64, memory: 128Gi}
  - {name: node-b, cpu: 64, memory: 64Gi, unschedulable: true}
  - {name: node-c, cpu: 64, memory: 64Gi, unschedulable: true}
vms:
  - {name: s, count: 3, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: m, count: 2, cpu: 2, memory: 2Gi, dirtyRate: 32Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator -X migrator.dirty-rate-annotation=sim.novasphere.dev/dirty-rate
start_bg progress "$BIN/wukong-progress" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X kafka.session.timeout.ms=6000 -X kube.config="$KC" -X cluster.id=local \
	-X http.addr-file="$T/progress.addr" -X consumer.group="pg-$MIG_GROUP" \
	-X progress.aggregate-interval=1s
wait_for 20 test -s "$T/progress.addr" || not_ok "wukong-progress started"
VMS="s-1 s-2 s-3 m-1 m-2"
for vm in $VMS; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$vm-vm running"
done
check "all 5 VMs start on node-a" bash -c "for v in $VMS; do [ \"\$($K get vmi -n default \$v-vm -o jsonpath='{.status.nodeName}')\" = node-a ] || exit 1; done"
$K uncordon node-b node-c >/dev/null
W="$BIN/wukongctl"
CTL=(--bootstrap "$BOOTSTRAP" --cluster local)

# 1. A real drain followed by wukongctl into a pipe.
"$W" drain node-a --request-id dp-1 --timeout 150s "${CTL[@]}" >"$T/drain.out" 2>"$T/drain.err"
rc=$?
check "drain: wukongctl exit 0" [ $rc -eq 0 ]
diag "$(tail -c 600 "$T/drain.out") $(head -c 300 "$T/drain.err")"
check "the pipe gets key=value progress lines from the reports" \
	grep -qE '^phase=Running moved=[0-9]+/5 running=[0-9]+ failed=0 waiting=[0-9]+ progress=[0-9]+%' "$T/drain.out"
check "... the last one says all 5 moved" grep -qE '^phase=Completed moved=5/5 running=0 failed=0 waiting=0 progress=100%' "$T/drain.out"
check "the summary line names the counts and the prediction" \
	grep -qE '^drain node node-a: 5/5 VMs moved \(predicted [0-9]+ s\)$' "$T/drain.out"
check "it still ends on the completion audit record" \
	bash -c "tail -1 '$T/drain.out' | grep -q '^drain node node-a: Succeeded: 5 VMs evacuated from node'"
check "no escape sequences into a pipe" bash -c "! grep -q $'\033' '$T/drain.out'"

moved=0
for vm in $VMS; do
	n=$(vmi_node $vm-vm)
	[ -n "$n" ] && [ "$n" != node-a ] && moved=$((moved + 1))
done
check "every VM left node-a" [ $moved -eq 5 ]

# 2. What is on wukong.progress.
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.progress -o beginning -e -q -f '%T %s\n' 2>/dev/null >"$T/progress.ts"
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.audit -o beginning -e -q -f '%T %s\n' 2>/dev/null >"$T/audit.ts"
grep '"source":"wukong-migrator"' "$T/progress.ts" | cut -d' ' -f2- >"$T/reports.jsonl"
check "the migrator sent evacuation reports" [ "$(grep -c '"requestId":"dp-1"' "$T/reports.jsonl")" -ge 3 ]
check "reports validate against schemas/progress-evacuation.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/progress-evacuation.v1.json" "$T/reports.jsonl"
cut -d' ' -f2- "$T/progress.ts" >"$T/progress.jsonl"
check "everything on wukong.progress validates against schemas/progress.v1.json" \
	"$ROOT/tests/schema-validate" "$ROOT/schemas/progress.v1.json" "$T/progress.jsonl"
/usr/bin/python3 - "$T/progress.ts" "$T/audit.ts" dp-1 5 >"$T/verdict.txt" <<'PY'
import json, sys
reps, audit_ts = [], None
for line in open(sys.argv[1]):
    ts, _, body = line.partition(" ")
    try: d = json.loads(body)
    except ValueError: continue
    if d.get("source") == "wukong-migrator" and d.get("requestId") == sys.argv[3]:
        reps.append((int(ts), d))
for line in open(sys.argv[2]):
    ts, _, body = line.partition(" ")
    try: d = json.loads(body)
    except ValueError: continue
    if d.get("requestId") == sys.argv[3] and d.get("action") == "drain.completed":
        audit_ts = int(ts)
want = int(sys.argv[4])
first, last = reps[0][1], reps[-1][1]
succ = [d["succeeded"] for _, d in reps]
print("succeeded", succ)
print("first", first["phase"], first["total"], first["succeeded"], first["waiting"] + first["running"], first["trigger"], first["node"])
print("last", last["phase"], last["total"], last["succeeded"], last["failed"], last["percent"])
print("monotone", all(a <= b for a, b in zip(succ, succ[1:])))
print("finals", sum(1 for _, d in reps if d["phase"] != "Running"), "last-is-final", last["phase"] == "Completed")
gaps = [b[0] - a[0] for a, b in zip(reps[:-2], reps[1:-1])]  # the final one is not rate-limited
print("mingap", min(gaps) if gaps else 1000)
print("final-before-audit", audit_ts is not None and reps[-1][0] <= audit_ts)
print("sums", all(d["total"] == d["succeeded"] + d["failed"] + d["running"] + d["waiting"] for _, d in reps))
print("pct", all(d["percent"] <= 99 for _, d in reps[:-1]) and last["percent"] == 100)
print("vms", len(last["vms"]) == want and all(v["state"] == "Succeeded" and v["target"] in ("node-b", "node-c") for v in last["vms"]))
PY
diag "$(tr '\n' ';' <"$T/verdict.txt")"
check "the first report is the plan: Running, 5 VMs, none moved yet" grep -q '^first Running 5 0 5 drain node-a$' "$T/verdict.txt"
check "succeeded never goes back" grep -q '^monotone True$' "$T/verdict.txt"
check "one final report, the last, Completed with total 5 = VMs moved, 100%" \
	bash -c "grep -q '^last Completed 5 5 0 100$' '$T/verdict.txt' && grep -q '^finals 1 last-is-final True$' '$T/verdict.txt'"
check "counts add up to total in every report" grep -q '^sums True$' "$T/verdict.txt"
check "percent below 100 until the final report" grep -q '^pct True$' "$T/verdict.txt"
check "the final report lists each VM Succeeded with its target" grep -q '^vms True$' "$T/verdict.txt"
check "reports of the running evacuation are >= ~1 s apart" \
	bash -c "[ \$(awk '/^mingap/ {print \$2}' '$T/verdict.txt') -ge 900 ]"
check "the final report is on the broker before drain.completed" grep -q '^final-before-audit True$' "$T/verdict.txt"
check "wukong-progress did not dead-letter the reports" \
	bash -c "! timeout 10 kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%s\n' 2>/dev/null | grep -q 'evacuationId'"
check "wukong-progress did not republish them" \
	bash -c "! grep '\"source\":\"wukong-progress\"' '$T/progress.jsonl' | grep -q 'evacuationId'"

# 3. Drain back from node-b with --output json, inside a terminal (script(1)): the bar.
n_b=0
for vm in $VMS; do [ "$(vmi_node $vm-vm)" = node-b ] && n_b=$((n_b + 1)); done
"$W" drain node-b --request-id dp-2 --timeout 150s --output json "${CTL[@]}" >"$T/drain2.json" 2>"$T/drain2.err"
rc=$?
check "drain --output json: exit 0" [ $rc -eq 0 ]
diag "$(head -c 600 "$T/drain2.json")"
check "... one JSON object with the evacuation counts ($n_b VMs)" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))  # the whole output is one JSON document (kubectl layout)
e = d["evacuation"]
n = int(sys.argv[2])
sys.exit(0 if isinstance(d, dict) and d["succeeded"] and e["phase"] == "Completed" and e["total"] == n
         and e["succeeded"] == n and e["percent"] == 100 else 1)' "$T/drain2.json" "$n_b"
if command -v script >/dev/null; then
	# the node that now holds the most VMs
	busiest=node-a n_x=0
	for nd in node-a node-c; do
		c=0
		for vm in $VMS; do [ "$(vmi_node $vm-vm)" = $nd ] && c=$((c + 1)); done
		[ $c -gt $n_x ] && busiest=$nd n_x=$c
	done
	script -qec "stty cols 100 2>/dev/null; '$W' drain $busiest --request-id dp-3 --timeout 150s --bootstrap '$BOOTSTRAP' --cluster local" \
		/dev/null >"$T/drain3.tty" 2>&1
	rc=$?
	check "drain of $busiest on a terminal: exit 0" [ $rc -eq 0 ]
	diag "$(tr '\r\033' '|~' <"$T/drain3.tty" | tail -c 400)"
	check "... redraws a bar line in place ($n_x VMs)" \
		bash -c "grep -aqE $'\r\033\\[K\\[[#-]+\\] +[0-9]+%  [0-9]+/$n_x VMs moved' '$T/drain3.tty'"
fi
check "migrator still running" kill -0 "$MIG_PID"
finish
