#!/usr/bin/env bash
# 0015-sim-versions.sh - smoke run of the simulator as KubeVirt 1.5, 1.6 and 1.9 with kubectl:
# the version on the KubeVirt CR, pruning of fields the version lacks (a VMIM's addedNodeSelector
# on 1.5, a clone's patches on 1.5), a migration, a clone, a drain (cordon + one VMIM per VMI),
# feature gates (Snapshot must be listed before 1.9; clone and snapshot creation refused with
# upstream's messages otherwise), then the conformance check of every KubeVirt object.
# SIM_KUBEVIRT_VERSION limits the run to one version.
. "$(dirname "$0")/../lib.sh"

cat >"$T/scenario.yaml" <<'EOF'
seed: 15
timeFactor: 20
nodes:
  - {name: ip-10-0-1-5.ec2.internal, cpu: 16, memory: 64Gi}
  - {name: ip-10-0-2-17.ec2.internal, cpu: 16, memory: 64Gi}
  - {name: ip-10-0-3-201.ec2.internal, cpu: 16, memory: 64Gi}
vms:
  - {name: a, memory: 1Gi, disks: [{name: system, size: 1Gi}]}
  - {name: b, memory: 1Gi, disks: [{name: system, size: 1Gi}]}
  - {name: c, memory: 1Gi, disks: [{name: system, size: 1Gi}]}
EOF

versions=${SIM_KUBEVIRT_VERSION:-1.5 1.6 1.9}
for v in $versions; do
	minor=${v#1.}
	rm -rf "$T/sim"
	start_bg "sim-$v" "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" --kubevirt-version "$v"
	pid=$LAST_PID
	wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "$v: wukong-sim started"; continue; }
	KC="$T/sim/kubeconfig"
	K="kubectl --kubeconfig $KC --request-timeout=10s"
	check "$v: observedKubeVirtVersion is v$v.0" \
		test "$($K -n kubevirt get kv kubevirt -o jsonpath='{.status.observedKubeVirtVersion}')" = "v$v.0"
	check "$v: the VMIs run" wait_for 30 bash -c \
		"[ \$($K get vmi -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Running) = 3 ]"
	node_of() { $K get vmi "$1" -o jsonpath='{.status.nodeName}'; }
	phase() { $K get "$1" "$2" -o jsonpath='{.status.phase}' 2>/dev/null; }

	# --- a migration with addedNodeSelector (pruned on 1.5) ---
	src=$(node_of a-vm)
	tgt=$($K get nodes -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | grep -vx "$src" | head -1)
	printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"m-a"},"spec":{"vmiName":"a-vm","addedNodeSelector":{"kubernetes.io/hostname":"%s"}}}' "$tgt" |
		$K create --validate=false -f - >/dev/null
	sel=$($K get vmim m-a -o jsonpath='{.spec.addedNodeSelector}')
	if [ "$minor" -lt 6 ]; then
		check "$v: spec.addedNodeSelector is pruned (not in v1.5's API)" test -z "$sel"
		out=$(printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"m-strict"},"spec":{"vmiName":"b-vm","addedNodeSelector":{"x":"y"}}}' | $K create -f - 2>&1)
		check "$v: kubectl's strict field validation reports it" grep -q 'unknown field "spec.addedNodeSelector"' <<<"$out"
	else
		check "$v: spec.addedNodeSelector is kept" grep -q "$tgt" <<<"$sel"
	fi
	check "$v: the migration succeeds" wait_for 60 bash -c "[ \"\$($K get vmim m-a -o jsonpath='{.status.phase}')\" = Succeeded ]"
	[ "$minor" -ge 6 ] && check "$v: it went where addedNodeSelector said" test "$(node_of a-vm)" = "$tgt"

	# --- a clone (Snapshot is listed in the default KubeVirt CR) ---
	printf '{"apiVersion":"clone.kubevirt.io/v1beta1","kind":"VirtualMachineClone","metadata":{"name":"cl-b"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"b-vm"},"target":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"b-copy"},"patches":["{\\"op\\":\\"add\\",\\"path\\":\\"/metadata/labels/copied\\",\\"value\\":\\"yes\\"}"]}}' |
		$K create --validate=false -f - >/dev/null
	check "$v: the clone succeeds" wait_for 60 bash -c "[ \"\$($K get vmclone cl-b -o jsonpath='{.status.phase}')\" = Succeeded ]"
	check "$v: the target VM exists" $K get vm b-copy -o name
	if [ "$minor" -lt 6 ]; then
		check "$v: spec.patches is pruned (not in v1.5's API)" test -z "$($K get vmclone cl-b -o jsonpath='{.spec.patches}')"
	else
		check "$v: spec.patches is kept" test -n "$($K get vmclone cl-b -o jsonpath='{.spec.patches}')"
	fi

	# --- a drain: cordon, one VMIM per VMI on the node ---
	dn=$(node_of c-vm)
	$K cordon "$dn" >/dev/null
	n=0
	for vmi in $($K get vmi -o jsonpath="{range .items[?(@.status.nodeName=='$dn')]}{.metadata.name}{'\n'}{end}"); do
		n=$((n + 1))
		printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"drain-%s"},"spec":{"vmiName":"%s"}}' "$vmi" "$vmi" |
			$K create -f - >/dev/null
	done
	check "$v: the drained node ($dn, $n VMIs) empties" wait_for 60 bash -c \
		"[ -z \"\$($K get vmi -o jsonpath=\"{range .items[?(@.status.nodeName=='$dn')]}{.metadata.name}{end}\")\" ]"

	# --- feature gates: no gates listed ---
	$K -n kubevirt patch kv kubevirt --type merge \
		-p '{"spec":{"configuration":{"developerConfiguration":{"featureGates":[]}}}}' >/dev/null
	out=$(printf '{"apiVersion":"clone.kubevirt.io/v1beta1","kind":"VirtualMachineClone","metadata":{"name":"cl-nogate"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"a-vm"}}}' | $K create -f - 2>&1)
	sout=$(printf '{"apiVersion":"snapshot.kubevirt.io/v1beta1","kind":"VirtualMachineSnapshot","metadata":{"name":"s-nogate"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"a-vm"}}}' | $K create -f - 2>&1)
	if [ "$minor" -lt 9 ]; then
		check "$v: without the Snapshot gate a clone is refused" grep -q \
			'admission webhook "vm-clone-validator.kubevirt.io" denied the request: snapshot feature gate is not enabled' <<<"$out"
		check "$v: and a snapshot" grep -q \
			'admission webhook "virtualmachinesnapshot-validator.snapshot.kubevirt.io" denied the request: snapshot feature gate not enabled' <<<"$sout"
	else
		check "$v: Snapshot is Beta, on by default: the clone is admitted" grep -q created <<<"$out"
		check "$v: and the snapshot" grep -q created <<<"$sout"
		$K -n kubevirt patch kv kubevirt --type merge \
			-p '{"spec":{"configuration":{"developerConfiguration":{"disabledFeatureGates":["Snapshot"]}}}}' >/dev/null
		out=$(printf '{"apiVersion":"snapshot.kubevirt.io/v1beta1","kind":"VirtualMachineSnapshot","metadata":{"name":"s-off"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"a-vm"}}}' | $K create -f - 2>&1)
		check "$v: disabledFeatureGates turns it off" grep -q 'snapshot feature gate not enabled' <<<"$out"
	fi
	conformance_check "$KC"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
finish
