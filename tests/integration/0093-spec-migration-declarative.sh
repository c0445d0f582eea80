#!/usr/bin/env bash
# 0093-spec-migration-declarative.sh - spec.migration is declarative (issue 17): a VM already on
# the target ends AlreadyOnTarget with no VMIM; removing spec.migration and setting the same target
# again moves the VM back when it was moved elsewhere meanwhile (MigrationRequested=False
# SpecMigrationRemoved in between); a Wukong created with spec.migration waits for its VM
# (MigrationRequestWaiting=True), then migrates, and the condition goes False; a request whose VM
# never starts expires with a reason, and its clock survives a kill -9 of the migrator (it expires
# counted from the wait's start on the status, not from the restart).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

WAIT_S=20 # migrator.spec-wait-timeout
cat >"$T/scenario.yaml" <<'YAML'
seed: 3
linkBandwidth: 1Gi
timeFactor: 4
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
  - {name: node-b, cpu: 8, memory: 32Gi}
  - {name: node-c, cpu: 8, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator -X migrator.spec-wait-timeout=${WAIT_S}s
if [ "${SIM_KV#1.}" -lt 6 ]; then
	skip "KubeVirt $SIM_KV cannot target a node (addedNodeSelector is 1.6+)"
	finish
	exit 0
fi
cond() { # cond WUKONG TYPE FIELD
	$K get wukong "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}" 2>/dev/null
}
ltt_s() { date -d "$(cond "$1" "$2" lastTransitionTime)" +%s 2>/dev/null || echo 0; }
ms() { $K get wukong "$1" -o jsonpath="{.status.migrationStatus.$2}" 2>/dev/null; }
# until_t SECONDS COMMAND...: until the command succeeds, by the clock (a failing run stays short)
until_t() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge "$end" ] && return 1
		sleep 0.2
	done
}
# on_node_done WUKONG NODE: its VMI runs on NODE and its last migration Succeeded
on_node_done() {
	[ "$(vmi_node "$1-vm")" = "$2" ] && [ "$(ms "$1" phase)" = Succeeded ]
}
cond_is() { [ "$(cond "$1" "$2" "$3")" = "$4" ]; } # cond_is WUKONG TYPE FIELD VALUE

# A Wukong whose VM cannot start (unknown storage class: no VM at all) asks for a migration at
# once: it waits, and keeps waiting while the rest runs.
$K apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: stuck, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  disks: [{name: system, size: 1Gi, storageClassName: gold}]
  migration: {targetNode: node-b}
EOF
# And one whose VM starts, after its image is imported: created with spec.migration, it waits and
# then migrates.
$K apply -f - >/dev/null <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata: {name: early, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  disks: [{name: system, size: 6Gi, storageClassName: shared-rwx, boot: true, image: "https://images.example.com/early.qcow2"}]
  migration: {targetNode: node-c}
EOF

until_t 30 eval '[ "$($K get vmi -n default web-1-vm -o jsonpath={.status.phase})" = Running ]' ||
	{ not_ok "web-1-vm running"; finish; exit 1; }
SRC=$(vmi_node web-1-vm)
others=()
for n in node-a node-b node-c; do [ "$n" != "$SRC" ] && others+=("$n"); done
TGT=${others[0]} ELSE=${others[1]}
diag "web-1-vm on $SRC; target $TGT; elsewhere $ELSE"

# 1. Already on the target: AlreadyOnTarget, nothing created.
$K patch wukong web-1 --type=merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$SRC\"}}}" >/dev/null
check "a VM already on the target: Succeeded, reason AlreadyOnTarget" \
	until_t 20 eval 'cond_is web-1 Migrating reason AlreadyOnTarget && [ "$(ms web-1 phase)" = Succeeded ]'
check "... no VMIM created" [ -z "$($K get vmim -n default -l vm.novasphere.dev/wukong=web-1 -o name)" ]

# 2. To the target.
$K patch wukong web-1 --type=merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\"}}}" >/dev/null
check "spec.migration to $TGT: the VM ends there" \
	until_t 30 on_node_done web-1 "$TGT"
RID1=$(ms web-1 requestId)

# kill -9 of the migrator while stuck waits (and with nothing else in flight): after the restart
# the rest goes on from what the status says (the removal below, the wait's clock).
RESTARTED=0
if [ "$(cond stuck MigrationRequestWaiting status)" != True ]; then
	# the steps above outlasted the timeout (a loaded machine): the restart proves nothing now
	skip "stuck expired before the restart (steps took more than ${WAIT_S} s): $(ms stuck message)"
else
	ok "stuck: waits (MigrationRequestWaiting=True)"
	W=$(ltt_s stuck MigrationRequestWaiting)
	kill -9 "$MIG_PID"
	wait "$MIG_PID" 2>/dev/null
	sleep 3 # down a while, as a crashed pod is
	R=$(date +%s)
	diag "wait started at $W, migrator restarted $((R - W)) s later (timeout ${WAIT_S} s)"
	mig_start_migrator -X migrator.spec-wait-timeout=${WAIT_S}s
	RESTARTED=1
fi

# 3. Removed; the VM is moved elsewhere by a submission; the same target set again moves it back.
$K patch wukong web-1 --type=merge -p '{"spec":{"migration":null}}' >/dev/null
check "spec.migration removed: MigrationRequested=False SpecMigrationRemoved" \
	until_t 20 cond_is web-1 MigrationRequested reason SpecMigrationRemoved
submit migrate local/default/web-1-vm \
	"{\"requestId\":\"req-away-1\",\"cluster\":\"local\",\"namespace\":\"default\",\"name\":\"web-1\",\"targetNode\":\"$ELSE\"}"
check "a submission moves it to $ELSE" \
	until_t 30 on_node_done web-1 "$ELSE"
$K patch wukong web-1 --type=merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\"}}}" >/dev/null
check "the same spec.migration set again moves it back to $TGT" \
	until_t 30 on_node_done web-1 "$TGT"
check "... as a new request (not $RID1, not the submission's)" \
	bash -c "r=\$($K get wukong web-1 -o jsonpath='{.status.migrationStatus.requestId}'); [ \"\$r\" != '$RID1' ] && [ \"\${r#spec-}\" != \"\$r\" ]"
check "... and MigrationRequested is True again" \
	until_t 10 cond_is web-1 MigrationRequested status True

# 4. The Wukong created with spec.migration waited for its VM, then migrated; the wait is over.
check "early: waited for its VM (MigrationRequestWaiting seen)" \
	bash -c "statuses early | grep -q '^MigrationRequestWaiting|WaitingForVMI|'"
check "early: migrated to node-c once its VM ran" \
	until_t 30 on_node_done early node-c
check "early: MigrationRequestWaiting is no longer True (WaitEnded)" \
	until_t 10 eval 'cond_is early MigrationRequestWaiting status False && cond_is early MigrationRequestWaiting reason WaitEnded'

# 5. stuck expires with a reason, counted from the wait's start on the status (with the clock
# restarted it would end no sooner than restart + the timeout).
if [ $RESTARTED = 1 ]; then
	check "stuck: expires Rejected, its reason on the status" \
		until_t 40 eval '[ "$(ms stuck phase)" = Rejected ] && cond_is stuck MigrationRequestWaiting reason WaitTimedOut'
	E=$(ltt_s stuck MigrationRequestWaiting) # when the migrator ended the wait
	diag "stuck: $(ms stuck message)"
	check "... the message says how long it waited" bash -c "$K get wukong stuck -o jsonpath='{.status.migrationStatus.message}' | grep -q 'waited [0-9]*s for it to start'"
	check "... counted from the wait's start, not from the restart (expired $((E - W)) s after the start, $((E - R)) s after the restart)" \
		[ $((E - R)) -lt "$WAIT_S" ]
	check "... MigrationRequestWaiting is False" [ "$(cond stuck MigrationRequestWaiting status)" = False ]
fi
finish
