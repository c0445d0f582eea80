#!/usr/bin/env bash
# 0063-clone-batch.sh - a batch of 5 running clones submitted through Kafka (`clone` submission,
# schemas/request-clone.v1.json) with parallelism 2: five Wukongs are created (spec copied from
# the source's Wukong), never more than two clones run at a time (the rest report Queued), all
# five end Succeeded with running VMs and no snapshot left; resubmitting the same request id
# creates nothing new; a hostile submission is dead-lettered with its reason and audited.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 10
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi}
vms:
  - {name: tmpl, cpu: 1, memory: 1Gi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default tmpl-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "source tmpl-vm running"; finish; exit 1; }
# Sample the temporary snapshots: they exist from a job's snapshot to its end, so their number
# is the number of clones in flight.
( while :; do $K get vmsnapshot -o name 2>/dev/null | wc -l; sleep 0.2; done ) >"$T/inflight" &
_pids+=("$!")
REQ='{"requestId":"batch-1","cluster":"local","namespace":"default","source":{"type":"vm","name":"tmpl-vm"},"targets":[{"name":"b1"},{"name":"b2"},{"name":"b3"},{"name":"b4"},{"name":"b5"}],"parallelism":2,"reason":"load test farm"}'
check "submission valid against schemas/request-clone.v1.json" bash -c "echo '$REQ' | '$ROOT/tests/schema-validate' '$ROOT/schemas/request-clone.v1.json'"
check "clone submission produced" submit_clone local/default/tmpl-vm "$REQ"
wait_for 20 bash -c "[ \$($K get wukong -l vm.novasphere.dev/request-id=batch-1 -o name | wc -l) -eq 5 ]"
check "five Wukongs created for the request" [ "$($K get wukong -l vm.novasphere.dev/request-id=batch-1 -o name | wc -l)" -eq 5 ]
check "target spec copied from the source's Wukong (memory 1Gi, one disk)" \
	[ "$($K get wukong b3 -o jsonpath='{.spec.memory}/{.spec.disks[*].name}/{.spec.cloneSource.vmName}')" = "1Gi/system/tmpl-vm" ]
for n in b1 b2 b3 b4 b5; do
	if wait_clone 90 $n Succeeded; then ok "$n Succeeded"; else not_ok "$n Succeeded (last: $(last_clone $n))"; fi
done
sleep 0.5
MAX=$(sort -n "$T/inflight" | tail -1)
check "at most 2 clones in flight at any time (max seen: $MAX)" [ "${MAX:-9}" -le 2 ]
check "some targets waited in Queued" bash -c "for n in b1 b2 b3 b4 b5; do topic wukong.status | grep \"\\\"name\\\":\\\"\$n\\\"\" | grep -q '\"phase\":\"Queued\"' && echo q; done | grep -c q | grep -qv '^0$'"
check "status seq order: never more than 2 active (cloner's own account)" /usr/bin/python3 -c '
import json, sys
ph = {}
mx = 0
rows = []
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("source") != "wukong-cloner": continue
    cs = (d.get("status") or {}).get("cloneStatus")
    if cs: rows.append((d["seq"], d["name"], cs["phase"]))
for seq, n, p in sorted(rows):
    ph[n] = p
    mx = max(mx, sum(1 for v in ph.values() if v in ("StartingSource", "Snapshotting", "Cloning", "Finalizing")))
sys.exit(0 if 1 <= mx <= 2 else 1)' <(topic wukong.status)
for n in b1 b2 b3 b4 b5; do wait_for 20 bash -c "[ \"\$($K get vmi -n default $n-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"; done
check "all five target VMs run" bash -c "for n in b1 b2 b3 b4 b5; do [ \"\$($K get vmi \$n-vm -o jsonpath='{.status.phase}')\" = Running ] || exit 1; done"
check "no snapshot left" [ -z "$($K get vmsnapshot -o name)" ]
check "exactly five clone objects" [ "$($K get vmclone -o name | wc -l)" -eq 5 ]

# The same request again: nothing new.
submit_clone local/default/tmpl-vm "$REQ"
sleep 2
check "resubmission: still five Wukongs and five clones" bash -c \
	"[ \$($K get wukong -l vm.novasphere.dev/request-id=batch-1 -o name | wc -l) -eq 5 ] && [ \$($K get vmclone -o name | wc -l) -eq 5 ]"

# Hostile submissions are dead-lettered with a reason.
submit_clone x '{"requestId":"evil","cluster":"local","namespace":"default","source":{"type":"vm","name":"../../secrets"},"targets":[{"name":"e1"}]}'
submit_clone x '{"requestId":"evil2","cluster":"local","namespace":"default","source":{"type":"vm","name":"tmpl-vm"},"targets":[{"name":"e1"}],"parallelism":1e300}'
submit_clone x 'not json'
wait_for 20 bash -c "[ \$(kcat -b $BOOTSTRAP -C -t wukong.dlq -o beginning -e -q -f '%h\n' 2>/dev/null | grep -c wukong-cloner) -ge 3 ]"
kcat -b "$BOOTSTRAP" -C -t wukong.dlq -o beginning -e -q -f '%h\n' 2>/dev/null | grep wukong-cloner >"$T/dlq"
check "dead letters: invalid-name, schema, deserialize" bash -c \
	"grep -q 'x-dlt-reason=InvalidName' '$T/dlq' && grep -q 'x-dlt-reason=SchemaViolation' '$T/dlq' && grep -q 'x-dlt-reason=MalformedRequest' '$T/dlq'"
check "refusals audited (clone.request-refused)" bash -c "[ \$(topic wukong.audit | grep -c clone.request-refused) -ge 3 ]"
check "no Wukong made for refused submissions" bash -c "! $K get wukong e1 >/dev/null 2>&1"
finish
