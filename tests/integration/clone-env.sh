#!/usr/bin/env bash
# clone-env.sh - shared set-up for the cloner's integration tests (0060-0065), sourced after
# tests/lib.sh: the embedded broker, the cluster simulator on the scenario the test writes to
# $T/scenario.yaml (time factor $CL_TF, default 4), the watcher and the status writer when they are
# built, and the cloner. kubectl (`$K`) is the user; what the cloner says is read back from
# wukong.status / wukong.audit with kcat.

CL_GROUP="cl-$$-$RANDOM"
CL_TF=${CL_TF:-4}
HAVE_STATUS=0
HAVE_WATCHER=0

# cl_start [SIM-ARGS...]: broker, simulator, watcher, status writer. Sets $K, $KC.
cl_start() {
	start_kafka 1
	start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" \
		--time-factor "$CL_TF" "$@"
	SIM_PID=$LAST_PID
	wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
	KC="$T/sim/kubeconfig"
	K="kubectl --kubeconfig $KC"
	if [ -x "$BIN/wukong-watcher" ]; then
		start_bg watcher "$BIN/wukong-watcher" -X kafka.bootstrap.servers="$BOOTSTRAP" \
			-X kube.config="$KC" -X watcher.lease.enabled=false -X cluster.id=local \
			-X http.addr-file="$T/watcher.addr" -X consumer.group="wt-$CL_GROUP"
		wait_for 20 test -s "$T/watcher.addr" && HAVE_WATCHER=1
	fi
	if [ -x "$BIN/wukong-status" ]; then
		start_bg status "$BIN/wukong-status" -X kafka.bootstrap.servers="$BOOTSTRAP" \
			-X kube.config="$KC" -X status.lease.enabled=false -X cluster.id=local \
			-X consumer.group="st-$CL_GROUP" -X http.addr-file="$T/status.addr"
		wait_for 20 test -s "$T/status.addr" && HAVE_STATUS=1
	fi
	export BOOTSTRAP
	export -f topic
	start_provisioner "$KC" "$CL_GROUP" || exit 1
	diag "watcher: $HAVE_WATCHER, status writer: $HAVE_STATUS (0 = not built: the cloner's relist and kcat stand in)"
}

# cl_start_cloner [-X ...]: (re)start the cloner in the test's consumer group.
cl_start_cloner() {
	rm -f "$T/cloner.addr"
	CL_N=$((${CL_N:-0} + 1))
	CL_LOG="$T/cloner$CL_N.log"
	start_bg "cloner$CL_N" "$BIN/wukong-cloner" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="$CL_GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$T/cloner.addr" \
		-X cloner.poll-interval=200ms -X cloner.resync-interval=2s "$@"
	CL_PID=$LAST_PID
	wait_for 20 test -s "$T/cloner.addr" || { not_ok "wukong-cloner started"; tail "$CL_LOG"; exit 1; }
}

topic() {
	kcat -b "$BOOTSTRAP" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null
}

# clone_statuses WUKONG: "phase|progress|reason|consistency|message" per cloner status update.
clone_statuses() {
	topic wukong.status | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("name") != sys.argv[1] or d.get("source") != "wukong-cloner": continue
    cs = (d.get("status") or {}).get("cloneStatus") or {}
    c = [x for x in d.get("conditions") or [] if x.get("type") == "Cloning"] or [{}]
    print("%s|%s|%s|%s|%s" % (cs.get("phase"), cs.get("progress"), c[0].get("reason"), cs.get("consistency") or "", cs.get("message")))
' "$1"
}
last_clone() { clone_statuses "$1" | tail -1; }
clone_phase() { last_clone "$1" | cut -d'|' -f1; }
# wait_clone SECS WUKONG PHASE
wait_clone() {
	local i=0
	while [ $i -lt $(($1 * 5)) ]; do
		[ "$(clone_phase "$2")" = "$3" ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# submit_clone KEY JSON: a clone submission on wukong.requests.local.
submit_clone() {
	printf '%s\n' "$2" | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k "$1" \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/test \
		-H "ce_type=dev.novasphere.wukong.request.clone.v1" -H content-type=application/json
}

vmi_phase() { $K get vmi -n "${2:-default}" "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
our_snaps() { $K get vmsnapshot -n "${1:-default}" -l app.kubernetes.io/managed-by=wukong-cloner -o name 2>/dev/null; }
our_clones() { $K get vmclone -n "${1:-default}" -l app.kubernetes.io/managed-by=wukong-cloner -o name 2>/dev/null; }

# wukong_clone NAME SOURCE-TYPE SOURCE [EXTRA-CLONESOURCE-YAML]: kubectl apply a cloning Wukong.
# Its disk 'system' asks for $CL_DISK_SIZE (default 2Gi): at least the source's, or the cloner
# refuses it (DiskSmallerThanSource).
wukong_clone() {
	local name=$1 type=$2 src=$3 extra=${4:-}
	local key=vmName
	[ "$type" = vmi ] && key=vmiName
	$K apply -f - >/dev/null <<YAML
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: $name, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  disks: [{name: system, size: ${CL_DISK_SIZE:-2Gi}, storageClassName: shared-rwx}]
  cloneSource:
    type: $type
    $key: $src
    cloneType: running
$extra
YAML
}
