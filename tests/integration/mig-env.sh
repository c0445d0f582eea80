#!/usr/bin/env bash
# mig-env.sh - shared set-up for the migrator's integration tests (0040-0045), sourced after
# tests/lib.sh: the embedded broker, the cluster simulator on a scenario the test writes to
# $T/scenario.yaml, the watcher, the status writer when it is built, and the migrator; kubectl
# (`$K`) is the user. Status updates are read back from wukong.status with kcat (what the migrator
# says), and from the Wukong itself when the status writer runs ($HAVE_STATUS=1).

MIG_GROUP="mig-$$-$RANDOM"
HAVE_STATUS=0

# mig_start [SIM-ARGS...]: broker, simulator, watcher, status writer. Sets $K, $KC. Extra watcher
# options (e.g. "-X watcher.nodemetrics-interval=1s") in $MIG_WATCHER_ARGS.
mig_start() {
	start_kafka 1
	export BOOTSTRAP
	mig_helpers
	start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" "$@"
	SIM_PID=$LAST_PID
	wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
	KC="$T/sim/kubeconfig"
	K="kubectl --kubeconfig $KC --request-timeout=10s"
	export K KC
	start_bg watcher "$BIN/wukong-watcher" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X watcher.lease.enabled=false -X cluster.id=local \
		-X http.addr-file="$T/watcher.addr" -X consumer.group="wt-$MIG_GROUP" ${MIG_WATCHER_ARGS:-}
	wait_for 20 test -s "$T/watcher.addr" || { not_ok "wukong-watcher started"; tail "$T/watcher.log"; exit 1; }
	if [ -x "$BIN/wukong-status" ]; then
		start_bg status "$BIN/wukong-status" -X kafka.bootstrap.servers="$BOOTSTRAP" \
			-X kube.config="$KC" -X status.lease.enabled=false -X cluster.id=local \
			-X consumer.group="st-$MIG_GROUP" -X http.addr-file="$T/status.addr"
		wait_for 20 test -s "$T/status.addr" && HAVE_STATUS=1
	fi
	start_provisioner "$KC" "$MIG_GROUP" || exit 1
	diag "status writer: $([ $HAVE_STATUS = 1 ] && echo running || echo 'not built: reading wukong.status with kcat')"
}

# mig_start_migrator [-X ...]: (re)start the migrator in the test's consumer group.
mig_start_migrator() {
	rm -f "$T/migrator.addr"
	MIG_N=$((${MIG_N:-0} + 1))
	MIG_LOG="$T/migrator$MIG_N.log"
	start_bg "migrator$MIG_N" "$BIN/wukong-migrator" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="$MIG_GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/migrator.addr" \
		-X migrator.poll-interval=500ms -X migrator.resync-interval=2s "$@"
	MIG_PID=$LAST_PID
	wait_for 20 test -s "$T/migrator.addr" || { not_ok "wukong-migrator started"; tail "$MIG_LOG"; exit 1; }
}

# topic TOPIC: every message value on a topic, one per line.
topic() {
	timeout 20 kcat -b "$BOOTSTRAP" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null
}

# Everything the migrator said about one Wukong, as "phase|reason|queuePosition|message" per
# status update, in order.
statuses() {
	topic wukong.status | /usr/bin/python3 -c '
import json, sys, signal
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
name = sys.argv[1]
for line in sys.stdin:
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("name") != name or d.get("source") != "wukong-migrator":
        continue
    ms = (d.get("status") or {}).get("migrationStatus")
    c = (d.get("conditions") or [{}])[0]
    if ms is None:
        print("%s|%s||%s" % (c.get("type"), c.get("reason"), c.get("message")))
    else:
        print("%s|%s|%s|%s" % (ms.get("phase"), c.get("reason"), ms.get("queuePosition") or "", ms.get("message")))
' "$1"
}

last_phase() { "$T/lastphase.sh" "$1"; }
last_reason() { statuses "$1" | tail -1 | cut -d'|' -f2; }

# wait_phase SECS WUKONG PHASE: until the migrator's last status for WUKONG has PHASE.
wait_phase() {
	local secs=$1 name=$2 want=$3
	wait_for "$secs" bash -c "[ \"\$(\"\$0\" \"\$1\")\" = \"\$2\" ]" "$T/lastphase.sh" "$name" "$want"
}

# A tiny script so that wait_phase can run last_phase in a child bash.
mig_helpers() {
	cat >"$T/lastphase.sh" <<SH
#!/usr/bin/env bash
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.status -o beginning -e -q -f '%s\n' 2>/dev/null | /usr/bin/python3 -c '
import json, sys, signal
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
last = ""
for line in sys.stdin:
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("name") == sys.argv[1] and d.get("source") == "wukong-migrator":
        ms = (d.get("status") or {}).get("migrationStatus")
        if ms: last = ms.get("phase") or ""
print(last)' "\$1"
SH
	chmod +x "$T/lastphase.sh"
}

# submit VERB KEY JSON: a request CloudEvent on wukong.requests.local.
submit() {
	printf '%s\n' "$3" | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k "$2" \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/test \
		-H "ce_type=dev.novasphere.wukong.request.$1.v1" -H content-type=application/json
}

# vmi_node VM: the node a VMI runs on.
vmi_node() { $K get vmi -n "${2:-default}" "$1" -o jsonpath='{.status.nodeName}' 2>/dev/null; }
# our VMIMs (names) in a namespace.
# wukong_events NAME [NS]: "type reason" of each Kubernetes Event on that Wukong, matched as
# kubectl describe matches them (kind, name and the Wukong's uid).
wukong_events() {
	local uid
	uid=$($K get wukong -n "${2:-default}" "$1" -o jsonpath='{.metadata.uid}' 2>/dev/null) || return 1
	$K get events -n "${2:-default}" -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin).get("items") or []:
    o = e.get("involvedObject") or {}
    if o.get("kind") == "Wukong" and o.get("name") == sys.argv[1] and o.get("uid") == sys.argv[2]:
        print(e.get("type"), e.get("reason"))' "$1" "$uid"
}
# mig_sample: "live max-per-source all" - our non-final VMIMs in namespace default, the most from
# one source node, and all of ours (sampled while a batch runs, to check KubeVirt's limits).
mig_sample() {
	$K get vmim -n default -l app.kubernetes.io/managed-by=wukong-migrator -o json 2>/dev/null >"$T/vmims.json" || return 0
	$K get vmi -n default -o json 2>/dev/null >"$T/vmis.json" || return 0
	/usr/bin/python3 - "$T/vmims.json" "$T/vmis.json" <<'PY'
import json, sys, collections
vmims = json.load(open(sys.argv[1]))["items"]
vmis = {v["metadata"]["name"]: v.get("status", {}) for v in json.load(open(sys.argv[2]))["items"]}
live = [m for m in vmims if m.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
# The source node of a migration: the VMI's migrationState names it for that migration's uid (the
# VMI's nodeName alone races: read after the VMIMs, a VMI that just arrived sits on its target).
def source(m):
    st = vmis.get(m["spec"]["vmiName"], {})
    ms = st.get("migrationState") or {}
    if ms.get("migrationUid") == m["metadata"].get("uid") and ms.get("sourceNode"):
        return ms["sourceNode"]
    return st.get("nodeName")
per = collections.Counter(source(m) for m in live)
print(len(live), max(per.values()) if per else 0, len(vmims))
PY
}
our_vmims() { $K get vmim -n "${1:-default}" -l app.kubernetes.io/managed-by=wukong-migrator -o name 2>/dev/null; }

# So that `wait_for N bash -c "... statuses x ..."` works in a child shell.
export -f topic statuses wukong_events
