#!/usr/bin/env bash
# 0016-sim-python-client.sh - the official Kubernetes Python client (Debian python3-kubernetes)
# against wukong-sim, with the simulator's kubeconfig: list, watch and patch Wukongs, VMs, VMIs
# (CustomObjectsApi) and Nodes (CoreV1Api), every object deserialised without error. Nodes carry
# what the Node API requires (status.nodeInfo complete, daemonEndpoints, condition times).
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! $PY -c 'import kubernetes' 2>/dev/null; then
	not_ok "python3-kubernetes is installed (tools/deps.sh)"
	finish
	exit 1
fi
start_sim
ok "wukong-sim started ($SIM_KV)"

# Wait for the VMIs the default scenario runs, so every kind has objects.
wait_for 30 sh -c "kubectl --kubeconfig '$KC' get vmi -o name | grep -q ." || diag "no VMI yet"
# A migration first, so that Events (and a VMIM) exist for the typed lists.
vmi=$(kubectl --kubeconfig "$KC" get vmi -o jsonpath='{.items[0].metadata.name}')
printf '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceMigration","metadata":{"name":"py-mig"},"spec":{"vmiName":"%s"}}' "$vmi" |
	kubectl --kubeconfig "$KC" create -f - >/dev/null
check "a migration ran (Events exist)" wait_for 60 sh -c \
	"kubectl --kubeconfig '$KC' get vmim py-mig -o jsonpath='{.status.phase}' | grep -q Succeeded"
node=$(kubectl --kubeconfig "$KC" get nodes -o jsonpath='{.items[0].metadata.name}')
out=$(timeout 120 $PY "$ROOT/tests/helpers/sim_python_client.py" "$KC" "$node" 2>&1)
rc=$?
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) diag "$line" ;;
	esac
done <<<"$out"
check "the Python client finished without error" test "$rc" -eq 0
conformance_check
finish
