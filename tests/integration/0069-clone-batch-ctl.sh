#!/usr/bin/env bash
# 0069-clone-batch-ctl.sh - a clone batch from wukongctl: `wukongctl clone default/tmpl
# default/farm --count 3 --parallelism 2 --stopped` sends one clone submission with targets
# farm-1..farm-3 and follows each target Wukong to its end (one line per change, a summary, exit
# 0); the clones are left stopped. With -o json the result lists every target. Bad batch
# arguments are refused before anything is sent (exit 2).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/clone-env.sh"

cat >"$T/scenario.yaml" <<'YAML'
seed: 23
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true, copyRate: 1Gi}
nodes:
  - {name: node-a, cpu: 16, memory: 64Gi}
vms:
  - {name: tmpl, cpu: 1, memory: 1Gi, disks: [{name: system, size: 2Gi, storageClass: shared-rwx}]}
YAML
cl_start
cl_start_cloner

wait_for 30 bash -c "[ \"\$($K get vmi -n default tmpl-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]" ||
	{ not_ok "source tmpl-vm running"; finish; exit 1; }
W="$BIN/wukongctl"
CTL=(--bootstrap "$BOOTSTRAP" --kubeconfig "$KC" --cluster local --timeout 90s)

"$W" clone default/tmpl default/farm --count 101 "${CTL[@]}" >/dev/null 2>"$T/bad1.err"
check "--count 101: refused (exit 2)" [ $? -eq 2 ]
"$W" clone default/tmpl default/farm --offline --start-source "${CTL[@]}" >/dev/null 2>"$T/bad2.err"
check "--offline with --start-source: refused (exit 2)" [ $? -eq 2 ]

"$W" clone default/tmpl default/farm --count 3 --parallelism 2 --stopped --request-id farm-1 \
	"${CTL[@]}" >"$T/batch.out" 2>"$T/batch.err"
rc=$?
diag "$(tail -4 "$T/batch.out" | tr '\n' ' ') $(head -c 300 "$T/batch.err")"
check "batch: wukongctl exit 0" [ $rc -eq 0 ]
check "batch: each target followed to Succeeded" bash -c \
	"for n in 1 2 3; do grep -q \"^default/farm-\$n: Succeeded 100%\" '$T/batch.out' || exit 1; done"
check "batch: the summary counts 3 of 3" grep -q "clone batch farm-1: 3 of 3 succeeded, 0 failed" "$T/batch.out"
check "one submission made three Wukongs of request farm-1" \
	[ "$($K get wukong -l vm.novasphere.dev/request-id=farm-1 -o name | wc -l)" -eq 3 ]
check "--stopped: the three clones are left Halted" bash -c \
	"for n in 1 2 3; do [ \"\$($K get vm farm-\$n-vm -o jsonpath='{.spec.runStrategy}')\" = Halted ] || exit 1; done"
check "--parallelism 2 reached the Wukongs" [ "$($K get wukong farm-2 -o jsonpath='{.metadata.annotations.vm\.novasphere\.dev/clone-parallelism}')" = 2 ]

"$W" clone default/tmpl default/pair --count 2 --stopped --request-id pair-1 -o json "${CTL[@]}" >"$T/pair.json" 2>"$T/pair.err"
check "-o json: exit 0 and both targets Succeeded" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = d["succeeded"] and [t["name"] for t in d["targets"]] == ["pair-1", "pair-2"] and all(t["phase"] == "Succeeded" for t in d["targets"])
sys.exit(0 if ok else 1)' "$T/pair.json"
finish
