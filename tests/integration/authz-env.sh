#!/usr/bin/env bash
# authz-env.sh - shared set-up of the "who may ask" suites (0126-0128, docs/security.md), sourced
# after lib.sh and mig-env.sh: two tenants, team-a and team-b, each with its own request topic
# (wukong.requests.t.<tenant>, created through the broker's control FIFO before any consumer
# subscribes), mapped to the ServiceAccounts system:serviceaccount:<tenant>:ci, and RBAC in the
# simulator that lets each one migrate, cancel, cold-move and clone in its own namespace only.

AZ_TENANTS="team-a team-b"
export KAFKA_EXTRA_ARGS="--control $T/kctl"

# az_topics: create the tenant topics (3 partitions each) on the embedded broker.
az_topics() {
	local t
	for t in $AZ_TENANTS; do
		echo "create wukong.requests.t.$t 3" >"$T/kctl"
		wait_for 10 grep -q "ok create wukong.requests.t.$t" "$T/kafka.log" ||
			{ not_ok "topic wukong.requests.t.$t created"; tail "$T/kafka.log"; exit 1; }
	done
}

# az_args: the executors' authz configuration for both tenants (plus "$@").
az_args() {
	local t
	AZ_ARGS=()
	for t in $AZ_TENANTS; do
		AZ_ARGS+=(-X "authz.tenants.$t.user=system:serviceaccount:$t:ci")
	done
}

# az_rbac TENANT: the tenant's Role and RoleBinding in its namespace (what the same actions need
# through kubectl), applied to the simulator.
az_rbac() {
	cat <<YAML | $K apply -f - >/dev/null
apiVersion: v1
kind: Namespace
metadata: {name: $1}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: vm-operator, namespace: $1}
rules:
  - apiGroups: [kubevirt.io]
    resources: [virtualmachineinstancemigrations]
    verbs: [get, list, create, delete]
  - apiGroups: [kubevirt.io]
    resources: [virtualmachines]
    verbs: [get, patch]
  - apiGroups: [clone.kubevirt.io]
    resources: [virtualmachineclones]
    verbs: [create]
  - apiGroups: [snapshot.kubevirt.io]
    resources: [virtualmachinesnapshots]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci, namespace: $1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: vm-operator}
subjects: [{kind: ServiceAccount, name: ci, namespace: $1}]
YAML
}

# tsubmit TOPIC VERB KEY JSON: a request CloudEvent on a topic (a tenant's or a shared one).
tsubmit() {
	printf '%s\n' "$4" | kcat -b "$BOOTSTRAP" -P -t "$1" -k "$3" \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/test \
		-H "ce_type=dev.novasphere.wukong.request.$2.v1" -H content-type=application/json
}

# az_snap: read wukong.dlq and wukong.audit once into $T/dlq.snap, $T/audit.snap (the checks
# below read the snapshot: one kcat per topic instead of one per check).
az_snap() {
	timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%h\t%s\n' 2>/dev/null >"$T/dlq.snap"
	timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.audit -o beginning -e -q -f '%s\n' 2>/dev/null >"$T/audit.snap"
}

# dlq_reason ID [live]: the x-dlt-reason of the dead letter whose body has requestId ID (from the
# snapshot; "live" reads the topic).
dlq_reason() {
	{ if [ "${2:-}" = live ]; then
		timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%h\t%s\n' 2>/dev/null
	else cat "$T/dlq.snap"; fi; } |
		grep "\"requestId\":\"$1\"" | grep -o 'x-dlt-reason=[a-zA-Z-]*' | head -1 | cut -d= -f2
}

# refusal_audit ID: the requester tenant and dead-letter reason of the refusal audit of request ID
# (from the snapshot).
refusal_audit() {
	cat "$T/audit.snap" |
		/usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("requestId") == sys.argv[1] and d.get("action", "").endswith("request-refused"):
        r = (d.get("details") or {}).get("requester") or {}
        print("%s %s %s" % (r.get("tenant", "-"), r.get("user", "-"), d.get("reason")))
        break' "$1"
}
