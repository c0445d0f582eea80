#!/usr/bin/env bash
# 0129-authz-router.sh - who may ask, with the multi-cluster router in front (issue 20,
# docs/security.md, the install bundle's mode): tenants write their own topics, the router reads
# them (router.tenant-topics) and forwards to wukong.requests.local naming the entry topic in
# ce_wktopic; the migrator (authz.router, not reading the tenant topics itself) takes the identity
# from it. A's request in its own namespace runs; A's request for B's namespace is refused
# "Forbidden", audited with A's identity; a body claiming "tenant: team-b" changes nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"
. "$(dirname "$0")/authz-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 4
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 16, memory: 32Gi}
  - {name: node-b, cpu: 16, memory: 32Gi}
vms:
  - {name: a-1, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: b-1, namespace: team-b, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
mig_start
az_topics
az_rbac team-a
az_rbac team-b
az_args
start_bg router "$BIN/wukong-router" -X kafka.bootstrap.servers="$BOOTSTRAP" -X cluster.id=local \
	-X consumer.group="rt-$MIG_GROUP" -X http.addr-file="$T/router.addr" -X router.tenant-topics=true \
	-X kafka.session.timeout.ms=6000
wait_for 20 test -s "$T/router.addr" || { not_ok "wukong-router started"; tail "$T/router.log"; exit 1; }
mig_start_migrator "${AZ_ARGS[@]}" -X authz.router=true -X migrator.shared-requests=false
export -f dlq_reason refusal_audit
for v in team-a/a-1 team-b/b-1; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n ${v%/*} ${v#*/}-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "$v-vm running"
done
# events and requests.local only (without authz.router it would be 4: one per tenant more)
check "the migrator does not read the tenant topics itself (the router does)" \
	grep -q 'subscribed to 2 topic(s)' "$MIG_LOG"

TA=wukong.requests.t.team-a
tsubmit $TA migrate local/team-b/b-1-vm '{"requestId":"rh-1","cluster":"local","namespace":"team-b","name":"b-1"}'
tsubmit $TA migrate local/team-b/b-1-vm '{"requestId":"rh-2","cluster":"local","tenant":"team-b","namespace":"team-b","name":"b-1"}'
tsubmit $TA migrate local/team-a/a-1-vm '{"requestId":"ra-1","cluster":"local","namespace":"team-a","name":"a-1"}'
if wait_phase 40 a-1 Succeeded; then ok "A's own request, routed, succeeded"; else not_ok "A's routed request ($(last_phase a-1))"; fi
wait_for 30 bash -c "[ \"\$(dlq_reason rh-1 live)\" = Forbidden ] && [ \"\$(dlq_reason rh-2 live)\" = Forbidden ]" ||
	not_ok "the hostile requests dead-lettered"
az_snap
check "rh-1 (B's namespace) Forbidden" [ "$(dlq_reason rh-1)" = Forbidden ]
check "rh-2 (claims tenant team-b) Forbidden" [ "$(dlq_reason rh-2)" = Forbidden ]
for id in rh-1 rh-2; do
	check "$id audited with A's identity" [ "$(refusal_audit $id)" = "team-a system:serviceaccount:team-a:ci Forbidden" ]
done
check "... and the entry topic the router named" bash -c \
	"grep '\"requestId\":\"rh-1\"' '$T/audit.snap' | grep 'request-refused' | grep -q '\"topic\":\"wukong.requests.t.team-a\"'"
check "the routed copies carry ce_wktopic" bash -c \
	"timeout 20 kcat -b $BOOTSTRAP -C -t wukong.requests.local -o beginning -e -q -f '%h\n' 2>/dev/null | grep -q 'ce_wktopic=wukong.requests.t.team-a'"
check "no VMIM in team-b" bash -c "[ -z \"\$($K get vmim -n team-b -o name 2>/dev/null)\" ]"
check "migrator still running" kill -0 "$MIG_PID"
finish
