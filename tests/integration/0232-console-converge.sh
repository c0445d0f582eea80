#!/usr/bin/env bash
# 0232-console-converge.sh - a pre-copy that cannot converge (the guest dirties 1 GiB/s over a
# 256 MiB/s link), seen by `wukongctl migrate` (its "not converging" line with the remaining
# bytes' sparkline), by the console (the operation marked stalled, its convergence series) and by
# `wukongctl report migrate ID` (text and SVG). Long (make test-long, WUKONG_TEST_LONG=1): the
# migration is followed for 25 s; skipped otherwise.
. "$(dirname "$0")/../lib.sh"

if [ "${WUKONG_TEST_LONG:-}" != 1 ]; then
	skip "long test (make test-long)"
	finish
	exit
fi
W="$BIN/wukongctl"
export WUKONG_DIR="$T/wk"
unset KUBECONFIG WUKONG_KAFKA_BOOTSTRAP_SERVERS
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT
cat >"$T/scenario.yaml" <<'YAML'
seed: 3
timeFactor: 1
linkBandwidth: 256Mi
migrations:
  parallelMigrationsPerCluster: 5
  parallelOutboundMigrationsPerNode: 2
  completionTimeoutPerGiB: 800
  progressTimeout: 150
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, provisioner: rbd.csi.ceph.com, copyRate: 2Gi}
nodes:
  - {name: node-a, cpu: 32, memory: 64Gi}
  - {name: node-b, cpu: 32, memory: 64Gi}
vms:
  - {name: hot, cpu: 1, memory: 2Gi, dirtyRate: 1Gi, disks: [{name: system, size: 4Gi, storageClass: shared-rwx}]}
YAML
"$W" up --scenario "$T/scenario.yaml" >"$T/up.out" 2>&1
check "up exits 0" [ $? -eq 0 ]
URL=$(sed -n 's/^  console *\(http:[^ ]*\).*/\1/p' "$T/up.out")
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig --request-timeout=10s"
wait_for 40 bash -c "[ \"\$($K get vmi -n default hot-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	not_ok "hot-vm runs"
from=$($K get vmi -n default hot-vm -o jsonpath='{.status.nodeName}')
to=node-a
[ "$from" = node-a ] && to=node-b
"$W" migrate default/hot --to "$to" --request-id hot-0232 --timeout 25s >"$T/mig.out" 2>&1
check "migrate is still running after 25 s (exit 4: not ended in time)" [ $? -eq 4 ]
check "... and said it is not converging, with the remaining bytes' sparkline" \
	grep -qE '^not converging: remaining \[[ .:=+*#%@-]+\] over the last [0-9]+ samples$' "$T/mig.out"
check "the console marks the operation stalled and has its series" /usr/bin/python3 -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "api/state", timeout=10))
op = [o for o in d["ops"] if o["id"] == "mig:local/default/hot"][0]
c = json.load(urllib.request.urlopen(sys.argv[1] + "api/conv?id=mig:local/default/hot", timeout=10))
print("#", op.get("stalled"), len(c["points"]))
sys.exit(0 if op.get("stalled") is True and len(c["points"]) >= 4 else 1)' "$URL"
"$W" report migrate hot-0232 >"$T/report.out" 2>&1
check "report migrate prints the samples and says it is not converging" \
	bash -c "grep -q '^migration hot-0232: default/hot ' '$T/report.out' && grep -q 'not converging at the end' '$T/report.out'"
"$W" report migrate hot-0232 --svg "$T/conv.svg" >/dev/null 2>&1
check "report migrate --svg writes the chart with its points" bash -c "[ \$(grep -o 'class=\"pt\"' '$T/conv.svg' | wc -l) -ge 4 ]"
"$W" cancel default/hot --timeout 30s >/dev/null 2>&1
"$W" down >/dev/null 2>&1
finish
