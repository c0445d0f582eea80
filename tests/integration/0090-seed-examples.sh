#!/usr/bin/env bash
# 0090-seed-examples.sh - every `kind: Wukong` example of the seed documents, verbatim: kubectl
# apply accepts it and `kubectl get -o json` gives back every field it set (nothing pruned); the
# seed's disk fragments (boot, image, storageClassName) inside a Wukong likewise. The examples are
# read from the seed files' text (/work/shared/seeds or ../shared/seeds) when reachable, else from
# the copy under tests/seeds/. Then, on the whole product (simulator, watcher, status writer,
# provisioner, migrator, cloner), as far as it supports today: the migration examples end on their
# target node, the clone examples run (their sources are made first), the automatic-migration
# example is armed, seed 001's disks get a boot disk and its "http://..." image fails to import.
. "$(dirname "$0")/../lib.sh"

SEEDS=""
for d in "${WUKONG_SEEDS:-}" /work/shared/seeds "$ROOT/../shared/seeds" "$ROOT/../../shared/seeds" "$ROOT/tests/seeds"; do
	[ -n "$d" ] && ls "$d"/*.txt >/dev/null 2>&1 && { SEEDS=$d; break; }
done
diag "seed examples from $SEEDS"
mkdir -p "$T/ex"
/usr/bin/python3 - "$SEEDS" "$T/ex" <<'EOF'
import glob, os, re, sys
n = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.txt")):
    t = open(f, encoding="utf-8").read()
    for b in re.findall(r"```yaml\n(.*?)```", t, re.S):
        base = os.path.basename(f)[:3]
        if re.search(r"^kind: Wukong\s*$", b, re.M):
            n += 1
            open("%s/wk-%s-%02d.yaml" % (sys.argv[2], base, n), "w", encoding="utf-8").write(b)
        elif re.match(r"(#[^\n]*\n|\s)*disks:", b):
            # a disks fragment: the seed puts it under a Wukong's spec
            n += 1
            body = "".join("    " + l + "\n" if l.strip() else "\n" for l in b.splitlines())
            open("%s/disks-%s-%02d.yaml" % (sys.argv[2], base, n), "w", encoding="utf-8").write(
                "apiVersion: vm.novasphere.dev/v1alpha1\nkind: Wukong\nmetadata:\n"
                "  name: disks-%s-%02d\nspec:\n  cpu: 1\n  memory: 1Gi\n%s"
                % (base, n, body.replace("    disks:", "  disks:", 1)))
EOF
nwk=$(ls "$T"/ex/wk-*.yaml 2>/dev/null | wc -l)
check "the seeds hold kind: Wukong examples ($nwk)" test "$nwk" -ge 6

# The whole product on the default scenario (node-1..node-4, the seeds' storage classes).
. "$(dirname "$0")/mig-env.sh"
cp "$ROOT/tools/sim/scenarios/default.yaml" "$T/scenario.yaml"
mig_start --time-factor 4
mig_start_migrator
export KUBECONFIG="$KC"
export HOME="$T/home"
mkdir -p "$HOME"
k() { timeout 30 kubectl "$@"; }
start_bg cloner "$BIN/wukong-cloner" -X kafka.bootstrap.servers="$BOOTSTRAP" -X kube.config="$KC" \
	-X cluster.id=local -X consumer.group="cl-$MIG_GROUP" -X kafka.session.timeout.ms=6000 \
	-X http.addr-file="$T/cloner.addr" -X cloner.poll-interval=200ms -X cloner.resync-interval=2s
wait_for 20 test -s "$T/cloner.addr" || not_ok "wukong-cloner started"
# the clone examples' sources: VMI running-vm and VM source-vm (Wukongs running and source)
for src in running source; do
	printf 'apiVersion: vm.novasphere.dev/v1alpha1\nkind: Wukong\nmetadata: {name: %s}\nspec:\n  cpu: 1\n  memory: 1Gi\n  disks: [{name: system, size: 8Gi, boot: true}]\n' "$src" |
		k apply -f - >/dev/null
done
check "the clone sources run" wait_for 60 bash -c '[ "$(kubectl get vmi running-vm -o jsonpath={.status.phase})" = Running ] && [ "$(kubectl get vmi source-vm -o jsonpath={.status.phase})" = Running ]'

# every leaf the YAML sets comes back with the same value
roundtrip() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys, yaml
want = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
have = json.load(open(sys.argv[2]))
bad = []
def walk(w, h, path):
    if isinstance(w, dict):
        if not isinstance(h, dict):
            bad.append(path); return
        for k, v in w.items():
            if k not in h: bad.append(path + "." + k)
            else: walk(v, h[k], path + "." + k)
    elif isinstance(w, list):
        if not isinstance(h, list) or len(h) != len(w): bad.append(path); return
        for i, (a, b) in enumerate(zip(w, h)): walk(a, b, "%s[%d]" % (path, i))
    elif w != h and str(w) != str(h):
        bad.append("%s (%r != %r)" % (path, w, h))
if bad:
    print("dropped or changed: " + ", ".join(bad)); sys.exit(1)
EOF
}

for f in "$T"/ex/*.yaml; do
	name=$(/usr/bin/python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["metadata"]["name"])' "$f")
	out=$(k apply -f "$f" 2>&1)
	check "apply $(basename "$f") ($name) is accepted" grep -q "wukong.vm.novasphere.dev/$name created" <<<"$out" || diag "$out"
	k get wk "$name" -o json >"$T/$name.json" 2>&1
	out=$(roundtrip "$f" "$T/$name.json" 2>&1)
	check "$name: kubectl get -o json gives back every field the example sets" test -z "$out" || diag "$out"
done

# What each example does, as far as the product supports it today.
check "5.1 my-vm: created with spec.migration, it ends on its target node-2" \
	wait_for 120 bash -c '[ "$(kubectl get vmi my-vm-vm -o jsonpath={.status.nodeName} 2>/dev/null)" = node-2 ] && [ "$(kubectl get vmi my-vm-vm -o jsonpath={.status.phase})" = Running ]'
diag "my-vm: $(k get wk my-vm -o jsonpath='{.status.phase} {.status.migrationStatus.phase} {.status.migrationStatus.message}')"
check "5.3 postcopy-vm: ends on its target node-3" \
	wait_for 120 bash -c '[ "$(kubectl get vmi postcopy-vm-vm -o jsonpath={.status.nodeName} 2>/dev/null)" = node-3 ]'
diag "postcopy-vm: $(k get wk postcopy-vm -o jsonpath='{.status.phase} {.status.migrationStatus.phase} {.status.migrationStatus.mode} {.status.migrationStatus.message}')"
check "5.2 auto-migrate-vm: its VM runs and the policy is on the Wukong (armed)" \
	wait_for 60 bash -c '[ "$(kubectl get wk auto-migrate-vm -o jsonpath={.status.phase})" = Running ] && [ "$(kubectl get wk auto-migrate-vm -o jsonpath={.spec.migrationPolicy.enabled})" = true ]'
for c in cloned-from-running cloned-vm cloned-from-vm; do
	check "clone $c runs: cloneStatus Succeeded and its VM $c-vm exists" \
		wait_for 150 bash -c "[ \"\$(kubectl get wk $c -o jsonpath={.status.cloneStatus.phase})\" = Succeeded ] && kubectl get vm $c-vm >/dev/null 2>&1"
	diag "$c: $(k get wk "$c" -o jsonpath='{.status.phase} {.status.cloneStatus.phase} {.status.cloneStatus.message}')"
done
for f in "$T"/ex/disks-*.yaml; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .yaml)
	check "$name (seed 001's disks): VM with a boot disk on the seed's class" \
		wait_for 30 bash -c "kubectl get vm $name-vm -o json | grep -q '\"bootOrder\": 1'"
done
check "seed 001's local-path disk binds when its VMI is scheduled; its image \"http://...\" is unreachable: ImportFailed" \
	wait_for 60 bash -c 'for w in $(kubectl get wk -o name | grep disks-); do kubectl get $w -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].reason}{\"\n\"}"; done | grep -q ImportFailed'

out=$(k get wk -o wide 2>&1)
check "get wk -o wide has Source, Target and ETA columns" \
	bash -c 'head -1 <<<"$1" | grep -q "SOURCE" && head -1 <<<"$1" | grep -q "TARGET" && head -1 <<<"$1" | grep -q "ETA"' _ "$out"

finish
