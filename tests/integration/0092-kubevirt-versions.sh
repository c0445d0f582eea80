#!/usr/bin/env bash
# 0092-kubevirt-versions.sh - a live migration, a cold migration and a drain against the simulator
# as KubeVirt 1.5 and 1.9 (1.6 too under make test-long) (issue 16): each works or is refused up front with a reason naming
# the version. On 1.5 (no VirtualMachineInstanceMigration spec.addedNodeSelector: pruned) a
# migration to a chosen node is Rejected / TargetedMigrationUnsupported before any VMIM exists,
# one without a target works, and a drain lets the scheduler pick; on 1.6 and 1.9 the targeted
# migration lands on the requested node. One broker; per version a fresh simulator, watcher and
# migrator (Wukongs named per version). A simulator without version modes gets the version
# written into the KubeVirt CR's status (observedKubeVirtVersion), which is what the migrator reads.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

start_kafka 1
export BOOTSTRAP
mig_helpers
SIM_HAS_VERSIONS=0
"$BIN/wukong-sim" --help 2>&1 | grep -q -- --kubevirt-version && SIM_HAS_VERSIONS=1
diag "simulator version modes: $SIM_HAS_VERSIONS"
W="$BIN/wukongctl"
CTL=(--bootstrap "$BOOTSTRAP" --cluster local)

round() {
	local v=$1 p=v${1/./}
	local d="$T/$p"
	# Node names per round: a later round's migrator reads the topics from the start and must
	# not act on an earlier round's drain.
	local A=$p-node-a B=$p-node-b C=$p-node-c
	mkdir -p "$d"
	cat >"$d/scenario.yaml" <<YAML
seed: 7
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: $A, cpu: 32, memory: 64Gi}
  - {name: $B, cpu: 32, memory: 64Gi, unschedulable: true}
  - {name: $C, cpu: 32, memory: 64Gi, unschedulable: true}
vms:
  - {name: $p-live, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
  - {name: $p-cold, cpu: 1, memory: 1Gi, disks: [{name: system, size: 5Gi, storageClass: local-rwo}]}
  - {name: $p-d, count: 2, cpu: 1, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 5Gi, storageClass: shared-rwx}]}
YAML
	local simargs=()
	[ $SIM_HAS_VERSIONS = 1 ] && simargs=(--kubevirt-version "$v")
	start_bg "sim-$p" "$BIN/wukong-sim" --dir "$d/sim" --scenario "$d/scenario.yaml" "${simargs[@]}"
	local sim=$LAST_PID
	wait_for 30 test -s "$d/sim/kubeconfig" || { not_ok "$v: wukong-sim started"; tail "$T/sim-$p.log"; return; }
	KC="$d/sim/kubeconfig"
	K="kubectl --kubeconfig $KC --request-timeout=10s"
	export K KC
	if [ $SIM_HAS_VERSIONS = 0 ]; then
		local kvns kvname
		read -r kvns kvname < <($K get kubevirt -A -o jsonpath='{.items[0].metadata.namespace} {.items[0].metadata.name}')
		$K patch kubevirt -n "$kvns" "$kvname" --subresource=status --type merge \
			-p "{\"status\":{\"observedKubeVirtVersion\":\"v$v.0\"}}" >/dev/null 2>&1 ||
			$K patch kubevirt -n "$kvns" "$kvname" --type merge \
				-p "{\"status\":{\"observedKubeVirtVersion\":\"v$v.0\"}}" >/dev/null
	fi
	check "$v: the KubeVirt CR says v$v" bash -c \
		"$K get kubevirt -A -o jsonpath='{.items[0].status.observedKubeVirtVersion}' | grep -q '^v$v'"
	start_bg "watcher-$p" "$BIN/wukong-watcher" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X watcher.lease.enabled=false -X cluster.id=local \
		-X http.addr-file="$d/watcher.addr" -X consumer.group="wt-$p-$MIG_GROUP"
	local watcher=$LAST_PID
	wait_for 20 test -s "$d/watcher.addr" || not_ok "$v: wukong-watcher started"
	start_bg "migrator-$p" "$BIN/wukong-migrator" -X kafka.bootstrap.servers="$BOOTSTRAP" \
		-X kube.config="$KC" -X cluster.id=local -X consumer.group="mg-$p-$MIG_GROUP" \
		-X kafka.session.timeout.ms=6000 -X http.addr-file="$d/migrator.addr" \
		-X migrator.poll-interval=500ms -X migrator.resync-interval=2s
	local migrator=$LAST_PID
	MIG_LOG="$T/migrator-$p.log"
	wait_for 20 test -s "$d/migrator.addr" || not_ok "$v: wukong-migrator started"
	for vm in $p-live $p-cold $p-d-1 $p-d-2; do
		wait_for 30 bash -c "[ \"\$($K get vmi -n default $vm-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
			not_ok "$v: $vm-vm running"
	done
	$K uncordon $B $C >/dev/null
	check "$v: the migrator read the version" bash -c "grep -q 'KubeVirt v$v' '$MIG_LOG'"

	# 1. Live migration to a chosen node.
	$K patch wukong -n default $p-live --type merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$B\"}}}" >/dev/null
	if [ "$v" = 1.5 ]; then
		if wait_phase 30 $p-live Rejected && [ "$(last_reason $p-live)" = TargetedMigrationUnsupported ]; then
			ok "$v: targeted migration refused up front: TargetedMigrationUnsupported"
		else
			not_ok "$v: targeted migration refused ($(last_phase $p-live)/$(last_reason $p-live))"
		fi
		check "$v: ... the reason names the version" bash -c "statuses $p-live | tail -1 | grep -q 'KubeVirt v1.5'"
		check "$v: ... no VMIM created" bash -c "[ -z \"\$($K get vmim -n default -o name)\" ]"
		# Without a target the scheduler picks: works.
		$K patch wukong -n default $p-live --type merge -p '{"spec":{"migration":{"targetNode":null,"completionTimeoutPerGiB":151}}}' >/dev/null
		if wait_phase 90 $p-live Succeeded; then ok "$v: untargeted migration Succeeded"; else not_ok "$v: untargeted migration ($(last_phase $p-live): $(statuses $p-live | tail -1))"; fi
		local on
		on=$(vmi_node $p-live-vm)
		check "$v: ... it left $A (now on '$on')" bash -c "[ -n '$on' ] && [ '$on' != $A ]"
	else
		if wait_phase 90 $p-live Succeeded; then ok "$v: targeted migration Succeeded"; else not_ok "$v: targeted migration ($(last_phase $p-live): $(statuses $p-live | tail -1))"; fi
		check "$v: ... on the requested node" [ "$(vmi_node $p-live-vm)" = $B ]
	fi

	# 2. Cold migration (pinned through the VM template: works on every version).
	$K patch wukong -n default $p-cold --type merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$C\",\"cold\":true}}}" >/dev/null
	if wait_phase 120 $p-cold Succeeded; then ok "$v: cold migration Succeeded"; else not_ok "$v: cold migration ($(last_phase $p-cold): $(statuses $p-cold | tail -1))"; fi
	check "$v: ... on $C" [ "$(vmi_node $p-cold-vm)" = $C ]
	# Restoring the template's nodeSelector: under 1.5's default vmRolloutStrategy Stage KubeVirt
	# marks the VM RestartRequired, and the final message says so; 1.6+ (LiveUpdate) carries it
	# onto the VMI.
	if [ "$v" = 1.5 ]; then
		check "$v: ... the message says RestartRequired (vmRolloutStrategy Stage)" bash -c \
			"statuses $p-cold | tail -1 | grep -q 'vmRolloutStrategy Stage, so the VM shows RestartRequired'"
	else
		check "$v: ... no RestartRequired note (LiveUpdate)" bash -c "! statuses $p-cold | tail -1 | grep -q RestartRequired"
	fi

	# 3. Drain $A.
	local before
	before=$($K get vmi -n default -o jsonpath='{range .items[*]}{.metadata.name}={.status.nodeName} {end}')
	diag "$v before the drain: $before"
	check "$v: the drain VMs are on $A" bash -c "grep -q '$p-d-1-vm=$A' <<<'$before' && grep -q '$p-d-2-vm=$A' <<<'$before'"
	"$W" drain $A --request-id dr-$p --timeout 150s "${CTL[@]}" >"$d/drain.out" 2>"$d/drain.err"
	local rc=$?
	check "$v: drain $A exit 0" [ $rc -eq 0 ]
	diag "$v drain: $(tail -c 300 "$d/drain.out") $(head -c 300 "$d/drain.err")"
	check "$v: ... no VMI left on $A" bash -c \
		"[ -z \"\$($K get vmi -n default -o jsonpath='{range .items[*]}{.status.nodeName}{\"\\n\"}{end}' | grep -x $A)\" ]"
	check "$v: migrator still running" kill -0 "$migrator"
	kill "$migrator" "$watcher" "$sim" 2>/dev/null
	wait "$migrator" "$watcher" "$sim" 2>/dev/null
}

# make test: the two ends (1.5 refuses a targeted migration and stages template changes; 1.9 the
# default); `make test-long` (long_run) adds 1.6, whose behaviour here is 1.9's (LiveUpdate,
# addedNodeSelector), and reruns every suite under 1.5 and 1.6 besides.
versions="1.5 1.9"
long_run && versions="1.5 1.6 1.9"
for v in $versions; do
	round "$v"
done
finish
