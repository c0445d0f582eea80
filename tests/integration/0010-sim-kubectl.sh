#!/usr/bin/env bash
# 0010-sim-kubectl.sh - the real kubectl (1.32) against wukong-sim's API server: discovery,
# apply with default (server-side) validation, get/-o json/-w, status and spec patches,
# strategic merge refused on a CR, schema violations (422), 401/403, cordon, 410 Expired watch,
# and delete waiting on a metadata.name watch (with and without a finalizer).
. "$(dirname "$0")/../lib.sh"

export HOME="$T/home" # kubectl's discovery cache is per HOME
mkdir -p "$HOME"
cat >"$T/auth.yaml" <<'EOF'
tokens:
- token: reader-token-0010
  user: reader
  namespaces: [default]
  verbs: [get, list, watch]
EOF
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --auth "$T/auth.yaml" --history 64
wait_for 20 grep -q '^kubeconfig=' "$T/sim.log" || {
	not_ok "wukong-sim prints kubeconfig=PATH"
	cat "$T/sim.log"
	finish
	exit 1
}
ok "wukong-sim prints kubeconfig=PATH"
export KUBECONFIG
KUBECONFIG=$(sed -n 's/^kubeconfig=//p' "$T/sim.log")
check "kubeconfig and ca.crt written" test -s "$KUBECONFIG" -a -s "$T/sim/ca.crt"
k() { timeout 30 kubectl "$@"; }

out=$(k version -o json 2>&1)
check "server version minor is 32" grep -q '"minor": "32"' <<<"$out"

out=$(k api-resources 2>&1)
check "api-resources lists wukongs with short name wk" \
	grep -Eq '^wukongs +wk +vm.novasphere.dev/v1alpha1 +true +Wukong' <<<"$out"
check "api-resources lists vmims" grep -Eq '^virtualmachineinstancemigrations +vmim,vmims ' <<<"$out"
check "api-resources lists cluster-scoped migrationpolicies" \
	grep -Eq '^migrationpolicies +migrations.kubevirt.io/v1alpha1 +false +MigrationPolicy' <<<"$out"

# Storage as clusters have it (the default scenario): classes with their binding modes, snapshot
# classes per CSI driver, PersistentVolumes, and a claim on a missing class left Pending.
out=$(k get sc local-path -o 'jsonpath={.volumeBindingMode}' 2>&1)
check "local-path is WaitForFirstConsumer" test "$out" = WaitForFirstConsumer
out=$(k get volumesnapshotclass -o 'jsonpath={.items[*].driver}' 2>&1)
check "VolumeSnapshotClasses only for Ceph RBD and Longhorn" test "$out" = "driver.longhorn.io rbd.csi.ceph.com"
out=$(k get pv 2>&1)
check "kubectl get pv lists the volumes" grep -q '^pvc-' <<<"$out"
k apply -f - >/dev/null 2>&1 <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: lost, namespace: default}
spec: {accessModes: [ReadWriteOnce], storageClassName: gone, resources: {requests: {storage: 1Gi}}}
YAML
lost() {
	timeout 30 kubectl get events --field-selector reason=ProvisioningFailed -o jsonpath='{.items[*].message}' |
		grep -q 'storageclass.storage.k8s.io "gone" not found' &&
		[ "$(timeout 30 kubectl get pvc lost -o jsonpath='{.status.phase}')" = Pending ]
}
export -f lost
check "a claim on a missing class stays Pending with ProvisioningFailed" wait_for 10 lost

cat >"$T/wk1.yaml" <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata:
  name: wk1
spec:
  cpu: 2
  memory: 1Gi
  disks:
  - name: system
    size: 10Gi
EOF
out=$(k apply -f "$T/wk1.yaml" 2>&1)
check "apply (default validation) creates the Wukong" grep -q 'wukong.vm.novasphere.dev/wk1 created' <<<"$out"
out=$(k apply -f "$T/wk1.yaml" 2>&1)
check "apply again is unchanged/configured" grep -Eq 'wk1 (unchanged|configured)' <<<"$out"

out=$(k get wukongs 2>&1)
check "get lists wk1" grep -q '^wk1 ' <<<"$out"
out=$(k get wk wk1 -o json 2>&1)
check "get -o json has uid, resourceVersion and generation 1" \
	bash -c 'grep -q "\"uid\": \"" <<<"$1" && grep -q "\"resourceVersion\": \"" <<<"$1" && grep -q "\"generation\": 1," <<<"$1"' _ "$out"
check "defaults from the CRD schema are applied (running: true)" grep -q '"running": true' <<<"$out"

# (the model's Wukong stand-in owns status.phase/nodeName/vmName; the test writes migrationStatus)
# get -w: the initial row, then a row per change
timeout 10 kubectl get wk wk1 -w >"$T/watch.out" 2>&1 &
wpid=$!
wait_for 10 grep -q '^wk1 ' "$T/watch.out"
k patch wk wk1 --type=merge -p '{"metadata":{"labels":{"seen":"yes"}}}' >/dev/null
check "get -w prints a row per change" wait_for 10 bash -c "[ \$(grep -c '^wk1 ' '$T/watch.out') -ge 2 ]"
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null

gen_before=$(k get wk wk1 -o jsonpath='{.metadata.generation}')
out=$(k patch wk wk1 --type=merge --subresource=status \
	-p '{"status":{"migrationStatus":{"phase":"Queued","queuePosition":3}}}' 2>&1)
check "patch --subresource=status" grep -q 'wk1 patched' <<<"$out"
check "status written, generation unchanged" \
	test "$(k get wk wk1 -o jsonpath='{.status.migrationStatus.phase}/{.metadata.generation}')" = "Queued/$gen_before"
k patch wk wk1 --type=merge -p '{"spec":{"cpu":4}}' >/dev/null 2>&1
check "spec merge patch bumps generation" \
	test "$(k get wk wk1 -o jsonpath='{.spec.cpu}/{.metadata.generation}')" = "4/$((gen_before + 1))"
out=$(k patch wk wk1 -p '{"spec":{"cpu":5}}' 2>&1)
check "strategic merge patch on a CR is refused (415)" \
	grep -q 'application/strategic-merge-patch+json is not supported' <<<"$out"

cat >"$T/bad.yaml" <<'EOF'
apiVersion: vm.novasphere.dev/v1alpha1
kind: Wukong
metadata:
  name: bad
spec:
  cpu: "two"
  disks:
  - name: Bad_Disk
    size: 10Gi
    accessMode: Sometimes
EOF
out=$(k apply -f "$T/bad.yaml" 2>&1)
rc=$?
check "schema-violating Wukong is rejected" test "$rc" -ne 0
check "422 names spec.cpu's type" \
	grep -q 'spec.cpu: Invalid value: "string": spec.cpu in body must be of type integer: "string"' <<<"$out"
# (spec.memory is no longer required: the seeds' migration examples leave it out; the CRD
# defaults it, issue 17)
check "422 names the disk name that breaks its pattern" grep -q 'spec.disks\[0\].name: Invalid value: "Bad_Disk"' <<<"$out"
check "422 names the unsupported accessMode" \
	grep -q 'spec.disks\[0\].accessMode: Unsupported value: "Sometimes"' <<<"$out"
check "invalid object was not stored" bash -c '! timeout 30 kubectl get wk bad >/dev/null 2>&1'

out=$(k --token=not-a-token get wk 2>&1)
check "unknown token: 401 Unauthorized" grep -q 'Unauthorized' <<<"$out"
out=$(k --token=reader-token-0010 get wk wk1 2>&1)
check "restricted token may read in its namespace" grep -q '^wk1 ' <<<"$out"
out=$(k --token=reader-token-0010 delete wk wk1 2>&1)
check "restricted token may not delete (403)" \
	grep -q 'Error from server (Forbidden): wukongs.vm.novasphere.dev "wk1" is forbidden: User "reader" cannot delete resource "wukongs"' <<<"$out"
out=$(k --token=reader-token-0010 get nodes 2>&1)
check "restricted token may not list nodes (403)" grep -q 'at the cluster scope' <<<"$out"

node=$(k get nodes -o jsonpath='{.items[0].metadata.name}')
out=$(k cordon "$node" 2>&1)
check "kubectl cordon (strategic merge patch on a node)" grep -q 'cordoned' <<<"$out"
check "node is unschedulable" test "$(k get node "$node" -o jsonpath='{.spec.unschedulable}')" = true
k uncordon "$node" >/dev/null 2>&1
check "uncordon clears it" test -z "$(k get node "$node" -o jsonpath='{.spec.unschedulable}')"

# a watch from a version older than the kept history (--history 64): ERROR 410 Expired
for i in $(seq 1 70); do
	k patch wk wk1 --type=merge -p "{\"metadata\":{\"labels\":{\"n\":\"$i\"}}}" >/dev/null 2>&1
done
out=$(k get --raw '/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs?watch=1&resourceVersion=1' 2>&1)
check "too-old watch gets an ERROR event with 410 Expired" \
	bash -c 'grep -q "\"type\":\"ERROR\"" <<<"$1" && grep -q "\"reason\":\"Expired\"" <<<"$1" && grep -q "\"code\":410" <<<"$1"' _ "$out"

# delete with a finalizer: kubectl waits (metadata.name watch) until the finalizer goes
k patch wk wk1 --type=merge -p '{"metadata":{"finalizers":["test.example.com/hold"]}}' >/dev/null
timeout 60 kubectl delete wk wk1 --timeout=50s >"$T/delete.out" 2>&1 &
dpid=$!
check "delete marks the object (deletionTimestamp)" \
	wait_for 10 bash -c "[ -n \"\$(timeout 10 kubectl get wk wk1 -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
sleep 0.5
check "kubectl delete still waiting while the finalizer is there" kill -0 "$dpid"
fins=$(k get wk wk1 -o jsonpath='{.metadata.finalizers}')
idx=$(tr -d '[]"' <<<"$fins" | tr ',' '\n' | grep -n '^test.example.com/hold$' | cut -d: -f1)
k patch wk wk1 --type=json -p "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers/$((idx - 1))\"}]" >/dev/null
# the model's own finalizers (if any) are removed by the model
wait "$dpid"
rc=$?
check "kubectl delete returns once the object is gone" test "$rc" -eq 0
check "delete reported" grep -q 'wukong.vm.novasphere.dev "wk1" deleted' "$T/delete.out"
check "wk1 is gone" bash -c '! timeout 30 kubectl get wk wk1 >/dev/null 2>&1'

finish
