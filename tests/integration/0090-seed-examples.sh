#!/usr/bin/env bash
# 0090-seed-examples.sh - every `kind: Wukong` example of the seed documents, verbatim: kubectl
# apply accepts it and `kubectl get -o json` gives back every field it set (nothing pruned); the
# seed's disk fragments (boot, image, storageClassName) inside a Wukong likewise. The examples are
# read from the seed files' text (/work/shared/seeds or ../shared/seeds) when reachable, else from
# the copy under tests/seeds/. Then, as far as the product supports today: the migration examples
# end on their target node, the clone examples run, the automatic-migration example is armed.
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
                "  name: disks-%s-%02d\nspec:\n  cpu: 1\n  memory: 1Gi\n  running: false\n%s"
                % (base, n, body.replace("    disks:", "  disks:", 1)))
EOF
nwk=$(ls "$T"/ex/wk-*.yaml 2>/dev/null | wc -l)
check "the seeds hold kind: Wukong examples ($nwk)" test "$nwk" -ge 6

start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --time-factor 8 ${SIM_ARGS:-}
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; finish; exit 1; }
export KUBECONFIG="$T/sim/kubeconfig"
export HOME="$T/home"
mkdir -p "$HOME"
k() { timeout 30 kubectl "$@"; }

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

out=$(k get wk -o wide 2>&1)
check "get wk -o wide has Source, Target and ETA columns" \
	bash -c 'head -1 <<<"$1" | grep -q "SOURCE" && head -1 <<<"$1" | grep -q "TARGET" && head -1 <<<"$1" | grep -q "ETA"' _ "$out"

finish
