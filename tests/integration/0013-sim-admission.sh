#!/usr/bin/env bash
# 0013-sim-admission.sh - the simulator refuses what KubeVirt's validating webhooks refuse, with
# the API server's Status (code, message "admission webhook \"...\" denied the request: ..."),
# through the real kubectl and raw HTTP: VMIM create (VMI missing, not migratable, vmiName
# missing, migration in flight), VMIM spec update, snapshot and clone sources; nothing is stored.
# Also: without --time-factor/--seed the scenario's timeFactor and seed are used.
. "$(dirname "$0")/../lib.sh"

cat >"$T/scenario.yaml" <<'EOF'
seed: 4242
timeFactor: 7
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
  - {name: local-rwo, accessMode: RWO, snapshot: false}
nodes:
  - {name: n1, cpu: 16, memory: 64Gi}
  - {name: n2, cpu: 16, memory: 64Gi}
vms:
  - {name: web, memory: 1Gi, dirtyRate: 1Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: rwo, memory: 1Gi, disks: [{name: system, size: 10Gi, storageClass: local-rwo}]}
EOF

start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml"
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; tail "$T/sim.log"; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
SERVER=$(sed -n 's/^ *server: *//p' "$T/sim/kubeconfig" | head -1)
api() { # api METHOD PATH [BODY] [CONTENT-TYPE]: raw request, prints the body then the code
	curl -s --cacert "$T/sim/ca.crt" -H "Authorization: Bearer $(cat "$T/sim/token")" \
		-H "Content-Type: ${4:-application/json}" -X "$1" ${3:+-d "$3"} -w '\n%{http_code}' "$SERVER$2"
}
VMIMS=/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstancemigrations

# --- scenario timeFactor and seed apply when the flags are absent -----------------------------
state=$(api GET /sim/state)
check "scenario timeFactor used (7)" grep -q '"timeFactor":7[,}]' <<<"$state"
check "scenario seed used (4242)" grep -q '"seed":4242[,}]' <<<"$state"
check "--help documents the defaults" bash -c "'$BIN/wukong-sim' --help 2>&1 | grep -q \"the scenario's\""

check "VMIs Running" wait_for 20 bash -c \
	"[ \$($K get vmi -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Running) = 2 ]"

vmim() { printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"%s"},"spec":{%s}}' "$1" "$2"; }

# --- VMIM create ----------------------------------------------------------------------------
out=$(vmim m-rwo '"vmiName":"rwo-vm"' | $K create -f - 2>&1)
check "kubectl create of a VMIM for a non-migratable VMI fails" [ $? -ne 0 ]
check "the webhook's message reaches kubectl" grep -q \
	'admission webhook "migration-create-validator.kubevirt.io" denied the request: Cannot migrate VMI, Reason: DisksNotLiveMigratable' <<<"$out"
check "no VMIM stored" bash -c "! $K get vmim m-rwo >/dev/null 2>&1"

resp=$(api POST $VMIMS "$(vmim m-ghost '"vmiName":"ghost"')")
check "VMI missing: 400" [ "$(tail -1 <<<"$resp")" = 400 ]
check "VMI missing: a Failure Status" grep -q '"kind":"Status".*"status":"Failure"' <<<"$resp"
check "VMI missing: the webhook's message" grep -qF \
	'denied the request: the VMI \"default/ghost\" does not exist' <<<"$resp"

resp=$(api POST $VMIMS "$(vmim m-empty '')")
check "vmiName missing: 422" [ "$(tail -1 <<<"$resp")" = 422 ]
check "vmiName missing: reason Invalid" grep -q '"reason":"Invalid"' <<<"$resp"
check "vmiName missing: message" grep -q 'denied the request: vmiName is missing' <<<"$resp"

resp=$(api POST "$VMIMS?dryRun=All" "$(vmim m-dry '"vmiName":"rwo-vm"')")
check "dry-run create is refused too" [ "$(tail -1 <<<"$resp")" = 400 ]

vmim m1 '"vmiName":"web-vm"' >"$T/m1.json"
check "a valid VMIM is admitted" bash -c "$K create -f $T/m1.json >/dev/null"
out=$(vmim m2 '"vmiName":"web-vm"' | $K create -f - 2>&1)
check "a second VMIM while one is in flight is refused" grep -q 'in-flight migration detected' <<<"$out"

# --- VMIM update --------------------------------------------------------------------------
out=$($K patch vmim m1 --type merge -p '{"spec":{"vmiName":"rwo-vm"}}' 2>&1)
check "spec change refused" grep -q \
	'admission webhook "migration-update-validator.kubevirt.io" denied the request: update of Migration object.s spec is restricted' <<<"$out"
check "spec unchanged" [ "$($K get vmim m1 -o jsonpath='{.spec.vmiName}')" = web-vm ]
check "a label change is admitted" bash -c "$K label vmim m1 team=x >/dev/null"
check "the migration completes" wait_for 60 bash -c "[ \"\$($K get vmim m1 -o jsonpath='{.status.phase}')\" = Succeeded ]"

# --- snapshot and clone sources ---------------------------------------------------------------
out=$(printf '{"apiVersion":"snapshot.kubevirt.io/v1beta1","kind":"VirtualMachineSnapshot","metadata":{"name":"s1"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachineInstance","name":"web-vm"}}}' | $K create -f - 2>&1)
check "snapshot of a VMI refused (invalid kind)" grep -q \
	'admission webhook "virtualmachinesnapshot-validator.snapshot.kubevirt.io" denied the request: invalid kind' <<<"$out"
out=$(printf '{"apiVersion":"clone.kubevirt.io/v1beta1","kind":"VirtualMachineClone","metadata":{"name":"c1"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachineInstance","name":"web-vm"}}}' | $K create -f - 2>&1)
check "clone of a VMI refused" grep -q \
	'admission webhook "vm-clone-validator.kubevirt.io" denied the request: Source kind is not supported' <<<"$out"
out=$(printf '{"apiVersion":"clone.kubevirt.io/v1beta1","kind":"VirtualMachineClone","metadata":{"name":"c2"},"spec":{"source":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"web-vm"},"target":{"apiGroup":"kubevirt.io","kind":"VirtualMachine","name":"web-vm"}}}' | $K create -f - 2>&1)
check "clone onto its own source refused with upstream's text" grep -q \
	'denied the request: Target name cannot be equal to source name when both are VirtualMachines' <<<"$out"
check "no snapshot or clone stored" [ -z "$($K get vmsnapshot,vmclone -o name 2>/dev/null)" ]
check "a valid snapshot is admitted" bash -c "printf '{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\",\"metadata\":{\"name\":\"s2\"},\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-vm\"}}}' | $K create -f - >/dev/null"
out=$($K patch vmsnapshot s2 --type merge -p '{"spec":{"source":{"name":"rwo-vm"}}}' 2>&1)
check "snapshot spec is immutable" grep -q 'denied the request: spec in immutable after creation' <<<"$out"

# --- VirtualMachine run strategy (vms-admitter.go validateRunStrategy) -------------------------
vm() { printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"%s"},"spec":{%s"template":{"spec":{"domain":{"devices":{}}}}}}' "$1" "$2"; }
out=$(vm v-both '"running":true,"runStrategy":"Always",' | $K create -f - 2>&1)
check "running and runStrategy together refused with upstream's message" grep -q \
	'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead' <<<"$out"
out=$(vm v-none '' | $K create -f - 2>&1)
check "neither refused" grep -q 'denied the request: RunStrategy must be specified' <<<"$out"
out=$(vm v-bad '"runStrategy":"Sometimes",' | $K create -f - 2>&1)
check "an unknown run strategy refused" grep -q 'denied the request: Invalid RunStrategy (Sometimes)' <<<"$out"
check "a VM with running only is admitted" bash -c "$(declare -f vm); vm v-run '\"running\":false,' | $K create -f - >/dev/null"
out=$($K patch vm v-run --type merge -p '{"spec":{"runStrategy":"Halted"}}' 2>&1)
check "patching runStrategy onto a running: VM refused" grep -q 'Running and RunStrategy are mutually exclusive' <<<"$out"
check "clearing running in the same patch is admitted" \
	bash -c "$K patch vm v-run --type merge -p '{\"spec\":{\"running\":null,\"runStrategy\":\"Halted\"}}' >/dev/null"
conformance_check "$T/sim/kubeconfig"
finish
