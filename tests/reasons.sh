#!/usr/bin/env bash
# reasons.sh - every reason the code can emit is in the one table of docs/reasons.md (issue 25),
# and every reason in the table is still in the code. TAP output; --self-test proves the check
# catches a reason missing from the table and a lowercase code.
#
# Extraction rule (also in docs/reasons.md, "How the table is checked"):
#   1. In the C files of REASON_DIRS, every string literal that is a CamelCase word of two or more
#      parts ("TargetNodeNotReady", "NotFound", "TargetNodeCPUMismatch") is a reason, unless it is
#      listed in tests/reasons-not.txt (Kubernetes kinds, condition types, phases, feature gates,
#      values read from upstream and only compared).
#   2. A literal in a reason position is a reason whatever its shape, and must be CamelCase:
#      verdict(v, "X" ...) / verdict(v, c ? "X" : "Y" ...), refuse(... "X", err ...),
#      snprintf(reason, ..., "X"), wk_strlcpy(reason|code|...->reason|->refused, "X" ...),
#      .reason = "X", reason = "X", and a #define whose comment says it is a reason.
#   Adding a reason: a row `| \`Name\` | ... |` in docs/reasons.md. Adding a directory that emits
#   reasons: DIRS below. A CamelCase literal that is not a reason: tests/reasons-not.txt.
set -u
cd "$(dirname "$0")/.." || exit 1

DIRS="consumers/migrator consumers/cloner consumers/provisioner consumers/status consumers/progress consumers/router core"

check() {
	python3 - "${REASONS_TABLE:-docs/reasons.md}" "${REASONS_NOT:-tests/reasons-not.txt}" \
		${REASON_DIRS:-$DIRS} <<'EOF'
import os, re, sys

table, notfile, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
camel = re.compile(r'^[A-Z][a-z0-9]+(?:[A-Z]+[a-z0-9]*)+$')
lit = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
positions = [
    re.compile(r'\bverdict\(\s*\w+,\s*(?:[^,"]*\?\s*"(\w[\w-]*)"\s*:\s*)?"(\w[\w-]*)"'),
    re.compile(r'\brefuse\([^;]*?"(\w[\w-]*)",\s*err\b'),
    re.compile(r'\brefuse\(\s*\w+,\s*(?:\w+,\s*)?"(\w[\w-]*)"'),
    re.compile(r'\bsnprintf\(\s*reason\s*,[^,]+,\s*"(\w[\w-]*)"\s*\)'),
    re.compile(r'\bwk_strlcpy\(\s*(?:reason|code|[\w.>-]*(?:->|\.)(?:reason|refused|refuse_code|code))\b[^,]*,\s*"(\w[\w-]*)"'),
    re.compile(r'(?:(?:\.|->)reason|(?<![*\w.>])reason)\s*=\s*"(\w[\w-]*)"'),
    re.compile(r'^#define\s+\w+\s+"(\w[\w-]*)"\s*/\*.*\breason\b'),
]

def load_names(path, row):
    names = {}
    for i, line in enumerate(open(path, encoding='utf-8'), 1):
        m = row.match(line)
        if m:
            names[m.group(1)] = i
    return names

documented = load_names(table, re.compile(r'^\|\s*`([A-Za-z0-9-]+)`\s*\|'))
not_reasons = load_names(notfile, re.compile(r'^([A-Za-z0-9]+)\b'))

found, everywhere, bad = {}, set(), []
for d in dirs:
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if not f.endswith(('.c', '.h')):
                continue
            p = os.path.join(root, f)
            for n, line in enumerate(open(p, encoding='utf-8', errors='replace'), 1):
                code = line.split('//')[0]
                for m in lit.finditer(code):
                    everywhere.add(m.group(1))
                    if camel.match(m.group(1)) and m.group(1) not in not_reasons:
                        found.setdefault(m.group(1), f'{p}:{n}')
                for rx in positions:
                    for m in rx.finditer(code):
                        for g in m.groups():
                            if not g:
                                continue
                            if not re.match(r'^[A-Z][A-Za-z0-9]*$', g):
                                bad.append(f'{p}:{n}: reason "{g}" is not CamelCase')
                            else:
                                found.setdefault(g, f'{p}:{n}')

t = 0
def ok(cond, what):
    global t
    t += 1
    print(('ok' if cond else 'not ok') + f' {t} - {what}')

missing = sorted(set(found) - set(documented))
for r in missing:
    print(f'# missing from {table}: {r}  ({found[r]})')
ok(not missing, f'every reason the code emits is in {table} ({len(found)} found, {len(missing)} missing)')
for b in bad:
    print(f'# {b}')
ok(not bad, 'every reason in a reason position is CamelCase')
stale = sorted(r for r in documented if r not in everywhere)
for r in stale:
    print(f'# in {table} line {documented[r]} but nowhere in {" ".join(dirs)}: {r}')
ok(not stale, f'every reason in {table} is still in the code')
both = sorted(set(documented) & set(not_reasons))
for r in both:
    print(f'# both a reason ({table}) and not one ({notfile}): {r}')
ok(not both, f'{notfile} and {table} do not overlap')
print(f'1..{t}')
sys.exit(1 if (missing or bad or stale or both) else 0)
EOF
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/src"
	cat >"$tmp/src/x.c" <<'EOF'
static int f(struct v *v) { return verdict(v, "schema", "field"); }
static void g(char *reason) { wk_strlcpy(reason, "TargetGone", 8); }
static const char *k = "VirtualMachine";
EOF
	printf '| `Documented` | x |\n' >"$tmp/t.md"
	printf 'VirtualMachine  kind\n' >"$tmp/n.txt"
	out=$(REASON_DIRS="$tmp/src" REASONS_TABLE="$tmp/t.md" REASONS_NOT="$tmp/n.txt" check)
	rc=$?
	n=0
	t() {
		n=$((n + 1))
		if "$@"; then echo "ok $n - $desc"; else
			echo "not ok $n - $desc"
			echo "$out" | sed 's/^/# /'
		fi
	}
	desc="a reason missing from the table fails and is named"
	t bash -c "[ $rc -ne 0 ] && grep -q '^# missing from .*: TargetGone' <<<'$out'"
	desc="a lowercase code in a reason position fails"
	t grep -q 'reason "schema" is not CamelCase' <<<"$out"
	desc="a table row no code emits fails"
	t grep -q 'nowhere in .*: Documented' <<<"$out"
	desc="a listed non-reason is not reported"
	t bash -c "! grep -q 'missing.*VirtualMachine' <<<'$out'"
	echo "1..$n"
	exit 0
fi
check
