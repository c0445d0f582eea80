#!/usr/bin/env bash
# 0124-rbac-rule-removed.sh - the RBAC suites would notice a missing grant: with one rule taken out
# of deploy/base (the migrator's `create virtualmachineinstancemigrations`) the manual migration
# suite fails under WUKONG_RBAC=1, and the simulator's record shows exactly that request refused
# with upstream's 403. (docs/deploy.md lists more rules removed by hand and the failures seen.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rbac-env.sh"
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
check "the modified bundle no longer grants it" bash -c "! kubectl kustomize '$T/drop' | grep -A3 virtualmachineinstancemigrations | grep -q '^  - create'"
f=$(ls "$ROOT"/tests/integration/0040-*.sh)
check "without 'create virtualmachineinstancemigrations' the migration suite fails" \
	bash -c "! env -u _WK_RBAC_WRAPPED WUKONG_RBAC=1 WUKONG_RBAC_BUNDLE='$T/drop' WUKONG_RBAC_RECORD='$T/drop.tsv' bash '$f' >'$T/drop.log' 2>&1"
grep '^not ok' "$T/drop.log" | head -3 | sed 's/^/# with the rule removed: /'
check "... and the simulator refused exactly that request" \
	grep -qP '^system:serviceaccount:wukong:wukong-migrator\tcreate\tkubevirt.io\tvirtualmachineinstancemigrations\tdefault\tdenied$' "$T/drop.tsv"
finish
