#!/usr/bin/env bash
# 0124-rbac-rule-removed.sh - the RBAC proof would notice a missing grant: with one rule taken out
# of deploy/base (the migrator's `create virtualmachineinstancemigrations`), the services run under
# their own tokens (WUKONG_RBAC=1, tests/rbac-wrap.sh) and a migration is asked for as in 0040:
# no VMIM appears, the simulator refuses exactly that request with upstream's 403 and records the
# denial, and the migrator reports the refusal. docs/deploy.md lists more rules removed by hand.
export WUKONG_RBAC=1
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mig-env.sh"

cp -r "$ROOT/deploy/base" "$T/drop"
python3 - "$T/drop/migrator.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d and d["kind"] == "ClusterRole":
        for r in d["rules"]:
            if "virtualmachineinstancemigrations" in r["resources"]:
                r["verbs"].remove("create")
open(sys.argv[1], "w").write(yaml.safe_dump_all(docs, sort_keys=False))
PY
export WUKONG_RBAC_BUNDLE="$T/drop"
check "the modified bundle no longer grants it" bash -c "! kubectl kustomize '$T/drop' | grep -B2 -A8 'virtualmachineinstancemigrations\$' | grep -q -- '- create'"

cat >"$T/scenario.yaml" <<'YAML'
seed: 3
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
  - {name: node-b, cpu: 8, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML
mig_start
mig_start_migrator
wait_for 30 bash -c "[ \"\$($K get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "web-1-vm running"; finish; exit 1; }
SRC=$(vmi_node web-1-vm)
for n in node-a node-b; do [ "$n" != "$SRC" ] && TGT=$n && break; done
check "spec.migration applied with kubectl" $K patch wukong web-1 --type=merge -o name \
	-p "{\"spec\":{\"migration\":{\"targetNode\":\"$TGT\"}}}"
check "the simulator refused the migrator's VMIM create and recorded it" wait_for 30 grep -qP \
	'^system:serviceaccount:wukong:wukong-migrator\tcreate\tkubevirt.io\tvirtualmachineinstancemigrations\tdefault\tdenied$' "$T/sim/rbac-used.tsv"
check "no VMIM exists" bash -c "[ -z \"\$($K get vmim -n default -o name)\" ]"
check "the migrator's log carries upstream's 403 text" wait_for 10 grep -q \
	'User \\"system:serviceaccount:wukong:wukong-migrator\\" cannot create resource \\"virtualmachineinstancemigrations\\" in API group \\"kubevirt.io\\" in the namespace \\"default\\"' "$MIG_LOG"
check "the migration does not report success" bash -c "[ \"\$($K get wukong web-1 -o jsonpath='{.status.migrationStatus.phase}')\" != Succeeded ]"
finish
