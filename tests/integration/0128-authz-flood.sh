#!/usr/bin/env bash
# 0128-authz-flood.sh - abuse limits per tenant (issue 20, docs/security.md "Abuse limits"): tenant
# A floods its topic with ${FLOOD:-500} migration requests over its 8 VMs (two migration slots in
# the cluster), then tenant B sends one. B's request must not wait behind A's queue: once B is
# queued no A migration starts before it (the fair pick: the tenant with the fewest running goes
# first), and B's wait from submission to its migration's start is compared with one migration
# slot measured in the same run (the figure is printed; B's delay is its wait minus the latency of a
# request that finds a slot free, A's first, also measured here). A's rate limit holds back only A's
# partitions, so B's request is read promptly. FLOOD sets the flood (500; make test-long: 2000).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"
. "$(dirname "$0")/authz-env.sh"

FLOOD=${FLOOD:-$(long_run && echo 2000 || echo 500)}
cat >"$T/scenario.yaml" <<'YAML'
seed: 8
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi}
  - {name: node-c, cpu: 32, memory: 64Gi}
vms:
  - {name: a-1, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-2, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-3, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-4, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-5, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-6, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-7, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: a-8, namespace: team-a, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
  - {name: b-1, namespace: team-b, cpu: 1, memory: 256Mi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
mig_start
az_topics
az_rbac team-a
az_rbac team-b
az_args
mig_start_migrator "${AZ_ARGS[@]}" -X migrator.parallel-per-cluster=2 \
	-X authz.tenants.team-a.rate=20 -X authz.tenants.team-a.burst=20 -X consumer.retry-backoff-max=1s
for i in 1 2 3 4 5 6 7 8; do
	wait_for 30 bash -c "[ \"\$($K get vmi -n team-a a-$i-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
		not_ok "a-$i-vm running"
done
wait_for 30 bash -c "[ \"\$($K get vmi -n team-b b-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" || not_ok "b-1-vm running"

# The flood: one kcat, FLOOD messages "key|value" on A's topic.
for i in $(seq 1 "$FLOOD"); do
	v=$((i % 8 + 1))
	printf 'local/team-a/a-%d-vm|{"requestId":"fl-%d","cluster":"local","namespace":"team-a","name":"a-%d"}\n' $v $i $v
done | kcat -b "$BOOTSTRAP" -P -t wukong.requests.t.team-a -K '|' -H ce_specversion=1.0 -H ce_id=flood \
	-H ce_source=/tenants/a -H ce_type=dev.novasphere.wukong.request.migrate.v1 -H content-type=application/json
# A's queue is full of its requests before B asks.
wait_for 30 bash -c "[ \$(topic wukong.status | grep -c '\"phase\":\"Queued\"') -ge 4 ]" || not_ok "A's requests queued"
tsubmit wukong.requests.t.team-b migrate local/team-b/b-1-vm '{"requestId":"req-b","cluster":"local","namespace":"team-b","name":"b-1"}'
if wait_phase 40 b-1 Migrating || [ "$(last_phase b-1)" = Succeeded ]; then ok "B's single request started during A's flood"; else not_ok "B's request ($(last_phase b-1))"; fi
# A slot is measured: at least one A migration has ended.
wait_for 30 bash -c "[ \$(topic wukong.status | grep '\"namespace\":\"team-a\"' | grep -c '\"phase\":\"Succeeded\"') -ge 1 ]"

timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.status -o beginning -e -q -f '%T %s\n' 2>/dev/null >"$T/status.ts"
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.requests.t.team-b -o beginning -e -q -f '%T %s\n' 2>/dev/null >"$T/b.ts"
timeout 20 kcat -b "$BOOTSTRAP" -C -t wukong.requests.t.team-a -o beginning -e -q -f '%T %s\n' 2>/dev/null |
	grep '"requestId":"fl-1"' >"$T/a1.ts"
python3 - "$T/status.ts" "$T/b.ts" "$T/a1.ts" >"$T/figure" <<'PY'
import json, sys, statistics
start, end, queued = {}, {}, {}
for line in open(sys.argv[1]):
    ts, _, body = line.partition(" ")
    try:
        d = json.loads(body)
    except ValueError:
        continue
    if d.get("source") != "wukong-migrator":
        continue
    ms = (d.get("status") or {}).get("migrationStatus") or {}
    rid, ph = ms.get("requestId"), ms.get("phase")
    if not rid:
        continue
    if ph == "Queued":
        queued.setdefault(rid, int(ts))
    if ph == "Migrating":
        start.setdefault(rid, int(ts))
    if ph == "Succeeded" and rid in start:
        end.setdefault(rid, int(ts))
b_sent = int(open(sys.argv[2]).readline().split(" ")[0])
# the latency of a request that finds a free slot (A's first): reading, review, checks, VMIM
a1_sent = int(open(sys.argv[3]).readline().split(" ")[0])
base = start["fl-1"] - a1_sent
slots = sorted(end[r] - start[r] for r in end if r.startswith("fl-"))
b_wait = start["req-b"] - b_sent
b_q = queued.get("req-b")
# A migrations started after B was queued and before B started: the fair pick allows none
passed = [r for r, t in start.items() if r.startswith("fl-") and b_q is not None and b_q < t < start["req-b"]]
print("b_wait_ms=%d base_ms=%d b_delay_ms=%d slot_median_ms=%d slot_max_ms=%d slots=%d b_queued=%s "
      "a_started_past_b=%d a_queued=%d"
      % (b_wait, base, b_wait - base, statistics.median(slots), slots[-1], len(slots), b_q is not None,
         len(passed), len(queued) - (b_q is not None)))
PY
fig=$(cat "$T/figure")
diag "flood of $FLOOD from team-a, one from team-b: $fig"
val() { sed -n "s/.*\b$1=\(-\?[0-9A-Za-z]*\).*/\1/p" "$T/figure"; }
check "the figure was measured ($fig)" test -n "$(val b_wait_ms)"
# The times are those of the status messages, not of the decisions: an A admitted just before B
# was queued can report Migrating just after B's Queued (seen with two suites running at once), so
# one such A is allowed; first-come-first-served order lets 7 or more pass (the issue's own figure).
check "at most one A migration started between B being queued and B starting (fair order)" [ "$(val a_started_past_b)" -le 1 ]
# B's delay: its wait beyond what a request with a free slot takes (A's first, same run).
check "B was delayed by less than one migration slot of the same run ($(val b_delay_ms) ms <= $(val slot_max_ms) ms)" \
	[ "$(val b_delay_ms)" -le "$(val slot_max_ms)" ]
check "migrator still running" kill -0 "$MIG_PID"
finish
