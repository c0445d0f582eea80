#!/usr/bin/env bash
# tests/chaos/chaos.sh - the chaos run of issue 22 (docs/reliability.md "Chaos run").
#
# The embedded stack (`wukongctl up`, every service supervised) on a CHAOS_NODES-node simulated
# cluster, a workload of CHAOS_MIGRATIONS migrations (live, and every seventh cold to a named
# node), CHAOS_CLONES clones and CHAOS_DRAINS drains, plus CHAOS_BAD hostile submissions, while a
# driver sends SIGKILL to a random service every ~CHAOS_KILL_EVERY s, takes the broker down for
# CHAOS_OUTAGE_S s once, and has the simulator inject API faults (5xx, 429 with Retry-After,
# latency, dropped watches, 410 on watches). Afterwards, with the faults off, it waits for every
# request to settle and prints the invariant table; exit 0 when every invariant holds, 1 otherwise.
#
#   make chaos                   # 30 minutes, 20 nodes, >= 200 migrations, 50 clones, 2 drains
#   CHAOS_SECONDS=300 tests/chaos/chaos.sh
#   tests/integration/0226-chaos-short.sh runs a short version in `make test`.
#
# Knobs (environment): CHAOS_SECONDS (1800), CHAOS_NODES (20), CHAOS_VMS (80), CHAOS_MIGRATIONS
# (200), CHAOS_CLONES (50), CHAOS_DRAINS (2), CHAOS_BAD (10), CHAOS_KILL_EVERY (30),
# CHAOS_OUTAGE_S (10), CHAOS_SETTLE_S (240: the most to wait for requests to settle),
# CHAOS_SEED, B (build directory), CHAOS_KEEP=1 (keep the scratch directory).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B="$ROOT/$B" ;; esac
BIN="$B/bin"
SECS=${CHAOS_SECONDS:-1800}
NNODES=${CHAOS_NODES:-20}
NVMS=${CHAOS_VMS:-80}
NMIG=${CHAOS_MIGRATIONS:-200}
NCLONE=${CHAOS_CLONES:-50}
NDRAIN=${CHAOS_DRAINS:-2}
NBAD=${CHAOS_BAD:-10}
KILL_EVERY=${CHAOS_KILL_EVERY:-30}
OUTAGE=${CHAOS_OUTAGE_S:-10}
SETTLE=${CHAOS_SETTLE_S:-240}
SEED=${CHAOS_SEED:-$RANDOM}
RANDOM=$SEED
NCOLD_VMS=$((NVMS / 8 > 1 ? NVMS / 8 : 1))
SERVICES=(watcher status migrator cloner provisioner progress audit)

D=$(mktemp -d /tmp/wukong-chaos.XXXXXX)
export WUKONG_DIR="$D/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
W="$BIN/wukongctl"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$W" down >/dev/null 2>&1
	if [ "${CHAOS_KEEP:-0}" = 1 ] || [ "${FAILED:-0}" = 1 ]; then
		echo "# scratch kept: $D"
	else
		rm -rf "$D"
	fi
}
trap cleanup EXIT
say() { echo "# $(date -u +%H:%M:%S) $*"; }
now() { date +%s; }

# ---- the cluster: NNODES nodes, NVMS VMs (shared RWX; NCOLD_VMS on node-local disks, moved cold),
# and 5 clone sources ----
{
	cat <<YAML
seed: $SEED
timeFactor: 1
linkBandwidth: 2Gi
defaultDirtyRate: 1Mi
migrations:
  parallelMigrationsPerCluster: 5
  parallelOutboundMigrationsPerNode: 2
  completionTimeoutPerGiB: 150
  progressTimeout: 150
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, provisioner: rbd.csi.ceph.com, copyRate: 4Gi}
  - {name: local-rwo, accessMode: RWO, snapshot: false, provisioner: kubernetes.io/no-provisioner, local: true, copyRate: 4Gi}
nodes:
YAML
	for n in $(seq 1 "$NNODES"); do echo "  - {name: node-$n, cpu: 64, memory: 256Gi}"; done
	echo "vms:"
	for i in $(seq 1 "$NVMS"); do
		if [ "$i" -le "$NCOLD_VMS" ]; then
			echo "  - {name: cold-$i, cpu: 1, memory: 512Mi, disks: [{name: system, size: 1Gi, storageClass: local-rwo}]}"
		else
			echo "  - {name: vm-$i, cpu: 1, memory: 512Mi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}"
		fi
	done
	for i in 1 2 3 4 5; do
		echo "  - {name: src-$i, cpu: 1, memory: 512Mi, disks: [{name: system, size: 1Gi, storageClass: shared-rwx}]}"
	done
} >"$D/scenario.yaml"

head -c 32 /dev/urandom >"$D/audit.key"
chmod 600 "$D/audit.key"
export WUKONG_AUDIT_KEY__FILE="$D/audit.key" # audit.key-file for wukong-audit (others ignore it)
say "seed $SEED, $NNODES nodes, $NVMS VMs ($NCOLD_VMS cold-only), ${SECS}s, scratch $D"
"$W" up --scenario "$D/scenario.yaml" >"$D/up.out" 2>&1 || { cat "$D/up.out"; FAILED=1; exit 1; }
KC="$WUKONG_DIR/kubeconfig"
K="kubectl --kubeconfig $KC --request-timeout=20s"
BOOT=$(cat "$WUKONG_DIR/bootstrap")
CTL="$WUKONG_DIR/run/kafka.control"
svc_pid() { pgrep -P "$(awk '{print $1}' "$WUKONG_DIR/pids/$1.pid" 2>/dev/null)" 2>/dev/null | head -1; }

deadline=$(($(now) + 120))
while [ "$($K get vmi -A -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' 2>/dev/null | grep -c '^Running$')" -lt $((NVMS + 5)) ]; do
	[ "$(now)" -lt "$deadline" ] || { say "VMs did not all start"; FAILED=1; exit 1; }
	sleep 1
done
say "stack up, $((NVMS + 5)) VMIs running"

# send TYPE KEY BODY: a request CloudEvent, retried (same ce_id) until the broker has it: during
# the outage kcat gives up, and a request the driver never delivered is not the product's to lose.
send() {
	local t=$1 k=$2 body=$3 id="chaos-$RANDOM$RANDOM$RANDOM" i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf '%s\n' "$body" | timeout 30 kcat -b "$BOOT" -P -t wukong.requests.local -k "$k" \
			-H ce_specversion=1.0 -H "ce_id=$id" -H ce_source=/tenants/chaos \
			-H "ce_type=dev.novasphere.wukong.request.$t.v1" -H content-type=application/json \
			2>>"$D/kcat.err" && return 0
		sleep 2
	done
	echo "send $t $k: not delivered after 10 tries" >>"$D/kcat.err"
	return 1
}
fault() { printf '%s' "$1" >"$D/f.json"; $K create --raw /sim/faults -f "$D/f.json" >/dev/null 2>>"$D/faults.err"; }

# ---- hostile submissions: each must become exactly one dead letter ----
for i in $(seq 1 "$NBAD"); do
	case $((i % 3)) in
	0) send migrate "local/default/bad-$i" "not json $i" ;;
	1) send migrate "local/default/bad-$i" "{\"requestId\":\"BAD_$i\",\"cluster\":\"local\"}" ;;
	2) printf 'x%s\n' "$i" | timeout 30 kcat -b "$BOOT" -P -t wukong.requests.local -k "local/default/bad-$i" 2>>"$D/kcat.err" ;; # no headers
	esac
done
echo "$NBAD" >"$D/bad.count"

# ---- API faults for the whole chaos phase ----
fault '{"verb":"*","resource":"*","errorRate":0.02,"code":503}'
fault '{"verb":"*","resource":"*","errorRate":0.01,"code":500}'
fault '{"verb":"list","resource":"*","errorRate":0.03,"code":429}'
fault '{"verb":"create","resource":"*","errorRate":0.02,"code":429}'
fault '{"verb":"watch","resource":"*","errorRate":0.05,"code":410}'
fault '{"verb":"*","resource":"*","latencyMs":15}'
say "API faults on: $($K get --raw /sim/faults 2>/dev/null | tr -d '\n' | head -c 300)"

START=$(now)
END=$((START + SECS))

# ---- sampler: RSS of every service process, and every object's uid (duplicates) ----
(
	while [ "$(now)" -lt "$END" ] || [ ! -e "$D/settled" ]; do
		t=$(($(now) - START))
		for s in "${SERVICES[@]}"; do
			p=$(svc_pid "$s")
			[ -n "$p" ] || continue
			rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
			age=$(ps -o etimes= -p "$p" 2>/dev/null | tr -d ' ')
			[ -n "$rss" ] && echo "$t $s $p ${age:-0} $rss" >>"$D/rss.txt"
		done
		for r in vmim vmsnapshot vmclone datavolume; do
			$K get "$r" -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}' 2>/dev/null |
				sed "s/^/$r /" >>"$D/uids.txt"
		done
		sleep 5
	done
) &
PIDS+=($!)

# ---- chaos driver: kill -9 a random service every ~KILL_EVERY s; one broker outage; dropped
# watches every ~20 s ----
(
	outage_at=$((START + SECS * 2 / 5))
	did_outage=0
	next_kill=$((START + KILL_EVERY / 2 + RANDOM % (KILL_EVERY / 2 + 1)))
	next_drop=$((START + 20))
	while [ "$(now)" -lt "$END" ]; do
		n=$(now)
		if [ "$n" -ge "$next_kill" ]; then
			s=${SERVICES[$((RANDOM % ${#SERVICES[@]}))]}
			p=$(svc_pid "$s")
			if [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; then
				echo "$((n - START)) kill $s $p" >>"$D/chaos.log"
			fi
			next_kill=$((n + KILL_EVERY / 2 + RANDOM % (KILL_EVERY + 1)))
		fi
		if [ "$did_outage" = 0 ] && [ "$n" -ge "$outage_at" ]; then
			echo "down 1" >"$CTL"
			echo "$((n - START)) broker down" >>"$D/chaos.log"
			sleep "$OUTAGE"
			echo "up 1" >"$CTL"
			echo "$(($(now) - START)) broker up" >>"$D/chaos.log"
			did_outage=1
		fi
		if [ "$n" -ge "$next_drop" ]; then
			echo '{"durationMs":500}' >"$D/drop.json"
			$K create --raw /sim/watches/drop -f "$D/drop.json" >/dev/null 2>&1 &&
				echo "$((n - START)) watches dropped" >>"$D/chaos.log"
			next_drop=$((n + 15 + RANDOM % 10))
		fi
		sleep 1
	done
) &
PIDS+=($!)

# ---- workload: migrations spread over the first 80 % of the run, clones and drains among them ----
WORK_END=$((START + SECS * 4 / 5))
nodes_of() { $K get vmi -A -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeName}{"\n"}{end}' 2>/dev/null; }
m=0 c=0 d=0
: >"$D/requests.txt"
while [ "$m" -lt "$NMIG" ] || [ "$c" -lt "$NCLONE" ] || [ "$d" -lt "$NDRAIN" ]; do
	n=$(now)
	# where we should be by now, evenly over [START, WORK_END]
	frac_num=$((n - START)) frac_den=$((WORK_END - START))
	[ "$frac_den" -gt 0 ] || frac_den=1
	want_m=$((NMIG * frac_num / frac_den + 1))
	want_c=$((NCLONE * frac_num / frac_den + 1))
	while [ "$m" -lt "$NMIG" ] && [ "$m" -lt "$want_m" ]; do
		m=$((m + 1))
		if [ $((m % 7)) -eq 0 ]; then
			i=$((1 + RANDOM % NCOLD_VMS))
			cur=$(nodes_of | awk -v v="cold-$i-vm" '$1 == v {print $2}')
			tgt="node-$((1 + RANDOM % NNODES))"
			[ "$tgt" = "$cur" ] && tgt="node-$((1 + (${tgt#node-} % NNODES)))"
			send migrate "local/default/cold-$i-vm" "{\"requestId\":\"chaos-m$m\",\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"cold-$i\",\"targetNode\":\"$tgt\",\"options\":{\"cold\":true}}" &&
				echo "migrate chaos-m$m cold-$i cold" >>"$D/requests.txt"
		else
			i=$((NCOLD_VMS + 1 + RANDOM % (NVMS - NCOLD_VMS)))
			send migrate "local/default/vm-$i-vm" "{\"requestId\":\"chaos-m$m\",\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"vm-$i\"}" &&
				echo "migrate chaos-m$m vm-$i live" >>"$D/requests.txt"
		fi
	done
	while [ "$c" -lt "$NCLONE" ] && [ "$c" -lt "$want_c" ]; do
		c=$((c + 1))
		src="src-$((1 + RANDOM % 5))-vm"
		printf 'apiVersion: vm.novasphere.dev/v1alpha1\nkind: Wukong\nmetadata: {name: clone-%d, namespace: default}\nspec:\n  cpu: 1\n  memory: 512Mi\n  disks: [{name: system, size: 1Gi, storageClassName: shared-rwx}]\n  cloneSource: {type: vm, vmName: %s, cloneType: running}\n' "$c" "$src" >"$D/clone.yaml"
		$K apply -f "$D/clone.yaml" >/dev/null 2>>"$D/apply.err" || { sleep 1; $K apply -f "$D/clone.yaml" >/dev/null 2>>"$D/apply.err"; }
		echo "clone clone-$c $src" >>"$D/requests.txt"
	done
	if [ "$d" -lt "$NDRAIN" ] && [ $((n - START)) -ge $(((d + 1) * SECS * 4 / 5 / (NDRAIN + 1))) ]; then
		d=$((d + 1))
		node="node-$((NNODES - d + 1))"
		send drain "local/node/$node" "{\"requestId\":\"chaos-d$d\",\"cluster\":\"local\",\"node\":\"$node\"}" &&
			echo "drain chaos-d$d $node" >>"$D/requests.txt"
	fi
	[ "$(now)" -lt "$END" ] || break
	sleep 1
done
say "submitted $m migrations, $c clones, $d drains ($(grep -c 'not delivered' "$D/kcat.err" 2>/dev/null) not delivered by the driver)"
while [ "$(now)" -lt "$END" ]; do sleep 2; done
say "chaos phase over: $(grep -c ' kill ' "$D/chaos.log" 2>/dev/null) kills, $(grep -c 'broker down' "$D/chaos.log" 2>/dev/null) broker outage(s), $(grep -c 'watches dropped' "$D/chaos.log" 2>/dev/null) watch drops"
$K delete --raw /sim/faults >/dev/null 2>&1
for s in "${SERVICES[@]}"; do # anything still in its supervisor's backoff comes back now
	[ -n "$(svc_pid "$s")" ] || "$W" restart "$s" >/dev/null 2>&1
done

# ---- settle: every request final (status), nothing temporary left, or CHAOS_SETTLE_S passed ----
dump() {
	timeout 60 kcat -b "$BOOT" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null
}
settled() {
	dump wukong.status >"$D/status.jsonl"
	dump wukong.audit >"$D/audit-topic.jsonl"
	python3 - "$D/requests.txt" "$D/status.jsonl" "$D/audit-topic.jsonl" <<'PY'
import json, sys
FINAL = {"Succeeded", "Failed", "Cancelled", "Rejected"}
reqs = [l.split() for l in open(sys.argv[1])]
audited = set()
for line in open(sys.argv[3]):
    try: a = json.loads(line)
    except ValueError: continue
    if a.get("outcome") in ("success", "failure", "rejected", "cancelled"):
        audited.add(a.get("requestId"))
last_mig, last_clone = {}, {}
for line in open(sys.argv[2]):
    try: d = json.loads(line)
    except ValueError: continue
    st = d.get("status") or {}
    ms, cs = st.get("migrationStatus"), st.get("cloneStatus")
    if d.get("source") == "wukong-migrator" and ms and ms.get("requestId"):
        last_mig[ms["requestId"]] = ms.get("phase")
    if d.get("source") == "wukong-cloner" and cs:
        last_clone[d.get("name")] = cs.get("phase")
open_ = [r for r in reqs if r[0] == "migrate" and last_mig.get(r[1]) not in FINAL and
         (r[1] in last_mig or r[1] not in audited)]
openc = [r for r in reqs if r[0] == "clone" and last_clone.get(r[1]) not in FINAL]
print(len(open_), len(openc))
sys.exit(0 if not open_ and not openc else 1)
PY
}
deadline=$(($(now) + SETTLE))
while ! settled >"$D/open.txt"; do
	[ "$(now)" -lt "$deadline" ] || break
	sleep 5
done
say "settled ($(cat "$D/open.txt") migrations/clones still open) after $(($(now) - END)) s"
sleep 10 # the status writer and the audit log catch up, temporaries go
touch "$D/settled"

# ---- the invariant table ----
dump wukong.status >"$D/status.jsonl"
dump wukong.audit >"$D/audit-topic.jsonl"
timeout 60 kcat -b "$BOOT" -C -t wukong.dlq -o beginning -e -q -f '%k %h\n' 2>/dev/null >"$D/dlq.txt"
timeout 60 kcat -b "$BOOT" -C -t wukong.audit -o beginning -e -q -f '%h\n' 2>/dev/null >"$D/audit-headers.txt"
for r in vmim vmsnapshot vmclone datavolume migrationpolicies vm wukong; do
	$K get "$r" -A -o json >"$D/final-$r.json" 2>/dev/null || echo '{"items":[]}' >"$D/final-$r.json"
done
"$BIN/wukong-auditlog" verify -d "$WUKONG_DIR/audit" --key-file "$D/audit.key" >"$D/verify.out" 2>&1
echo "rc=$?" >>"$D/verify.out"
python3 "$ROOT/tests/chaos/invariants.py" "$D" "$WUKONG_DIR/audit"
rc=$?
[ "$rc" -eq 0 ] || FAILED=1
exit "$rc"
