#!/usr/bin/env bash
# tests/layers.sh [--self-test] - the layering rules of docs/ARCHITECTURE.md, printed as TAP lines
# (tests/run.sh counts them; exit status 1 on any "not ok").
#
# The migrator (consumers/migrator) in three floors, checked by grep on its #include lines:
#   decide/ includes nothing from ctx/, flows/, mig_service.h, wk_k8s.h, wk_kafka.h;
#   ctx/    includes nothing from flows/ or mig_service.h;
#   flows/  never mig_service.h; between flows only pressure -> evac -> live -> cold and
#           failure -> live, cold;
#   nothing but main.c (and mig_service.c itself) includes mig_service.h;
#   no circle of migrator files calling each other (from the built objects, when built: file A
#           calls file B when A's object uses a symbol B's object defines).
# Between tools/ and the services (consumers/, producers/):
#   no include of one's file by the other;
#   no unprefixed global name (not starting with a module prefix) defined in both (nm on the
#           built objects under $B/obj). Unprefixed globals defined in only one of them are
#           listed as "# note" lines: a style issue, not a clash.
# The stacks the benchmarks start (tests/bench/*.sh):
#   a benchmark that runs the simulator with a product service (wukong-watcher, -migrator,
#           -status, ...) also runs wukong-provisioner, as `make run` and the integration tests
#           do (start_provisioner, wukongctl up, or the binary itself); the simulator models
#           KubeVirt and CDI only, so without it a Wukong created in the run gets no VM.
#
# --self-test copies the migrator into a temporary tree, injects violations and checks that the
# checker fails on each of them.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
ROOT=${LAYERS_ROOT:-.}
MIG=$ROOT/consumers/migrator
PREFIXES='wk_|mig_|sim_|cl_|wt_|st_|pg_|aud_|con_|ctl_|kt_|pv_|rt_|WK_|MIG_|SIM_|PV_'

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
}
check() { # check NAME OFFENDING-LINES
	if [ -z "$2" ]; then ok "$1"; else nok "$1" "$2"; fi
}

# includes FILES...: "file:line:header" for every local #include "..." of the files.
includes() {
	[ $# -eq 0 ] && return 0
	grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "$@" 2>/dev/null |
		sed -E 's/#[[:space:]]*include[[:space:]]*"([^"]+)"/\1/; s/:[[:space:]]+/:/'
}

files() { find "$1" -name '*.[ch]' 2>/dev/null | sort; }

self_test() {
	local tmp rc out
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	mkdir -p "$tmp/consumers" "$tmp/tools" "$tmp/producers" "$tmp/core"
	cp -r consumers/migrator "$tmp/consumers/"
	LAYERS_ROOT=$tmp B=/nonexistent bash "$0" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		nok "self-test: the unchanged migrator passes the checker"
		return
	fi
	ok "self-test: the unchanged migrator passes the checker"
	inject() { # inject NAME FILE LINE
		local name=$1 f=$tmp/consumers/migrator/$2 line=$3
		cp "$f" "$f.orig"
		printf '%s\n' "$line" | cat - "$f.orig" >"$f"
		out=$(LAYERS_ROOT=$tmp B=/nonexistent bash "$0" 2>&1)
		rc=$?
		mv "$f.orig" "$f"
		if [ $rc -ne 0 ] && grep -q '^not ok' <<<"$out"; then
			ok "self-test: fails on $name"
		else
			nok "self-test: does not fail on $name"
		fi
	}
	inject "decide/ including ctx/" decide/mig_plan.c '#include "ctx/mig_ctx.h"'
	inject "decide/ including wk_k8s.h" decide/mig_queue.c '#include "wk_k8s.h"'
	inject "ctx/ including flows/" ctx/mig_emit.c '#include "flows/mig_live.h"'
	inject "a flow including mig_service.h" flows/mig_cold.c '#include "mig_service.h"'
	inject "cold including live (live -> cold only)" flows/mig_cold.c '#include "flows/mig_live.h"'
	inject "evac including failure" flows/mig_evac.c '#include "flows/mig_failure.h"'
	mkdir -p "$tmp/tools/x"
	echo '#include "../../consumers/migrator/decide/mig_plan.h"' >"$tmp/tools/x/x.c"
	out=$(LAYERS_ROOT=$tmp B=/nonexistent bash "$0" 2>&1)
	rc=$?
	rm -r "$tmp/tools/x"
	if [ $rc -ne 0 ]; then ok "self-test: fails on tools/ including a service's file"; else
		nok "self-test: does not fail on tools/ including a service's file"; fi
	# A benchmark running the simulator and the migrator without the provisioner.
	mkdir -p "$tmp/tests/bench"
	printf '%s\n' '"$BIN/wukong-sim" --dir x &' '"$BIN/wukong-migrator" -X a=b &' >"$tmp/tests/bench/x-bench.sh"
	out=$(LAYERS_ROOT=$tmp B=/nonexistent bash "$0" 2>&1)
	rc=$?
	rm -r "$tmp/tests/bench"
	if [ $rc -ne 0 ]; then ok "self-test: fails on a benchmark without the provisioner"; else
		nok "self-test: does not fail on a benchmark without the provisioner"; fi
	# A circle of migrator objects: a.c calls b.c, b.c calls a.c.
	mkdir -p "$tmp/c/obj/consumers/migrator/flows"
	echo 'int mig_b(int); int mig_a(int); int mig_a(int x) { return x ? mig_b(x - 1) : 0; }' >"$tmp/a.c"
	echo 'int mig_a(int); int mig_b(int); int mig_b(int x) { return x ? mig_a(x - 1) : 1; }' >"$tmp/b.c"
	cp "$tmp/a.c" "$tmp/consumers/migrator/flows/mig_a.c" # objects count only beside a source
	cp "$tmp/b.c" "$tmp/consumers/migrator/flows/mig_b.c"
	if cc -c "$tmp/a.c" -o "$tmp/c/obj/consumers/migrator/flows/mig_a.o" 2>/dev/null &&
		cc -c "$tmp/b.c" -o "$tmp/c/obj/consumers/migrator/flows/mig_b.o" 2>/dev/null; then
		out=$(LAYERS_ROOT=$tmp B=$tmp/c bash "$0" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] && grep -q 'not ok.*circle' <<<"$out"; then
			ok "self-test: fails on a circle of migrator files"
		else
			nok "self-test: does not fail on a circle of migrator files"
		fi
	else
		nok "self-test: could not compile the circle fixture"
	fi
	rm -f "$tmp/consumers/migrator/flows/mig_a.c" "$tmp/consumers/migrator/flows/mig_b.c"
	# A name clash between tools/ and a service, from objects.
	mkdir -p "$tmp/b/obj/tools/x" "$tmp/b/obj/consumers/y" "$tmp/tools/x" "$tmp/consumers/y"
	echo 'int shared_name(void); int shared_name(void) { return 1; }' >"$tmp/a.c"
	cp "$tmp/a.c" "$tmp/tools/x/a.c"
	cp "$tmp/a.c" "$tmp/consumers/y/a.c"
	if cc -c "$tmp/a.c" -o "$tmp/b/obj/tools/x/a.o" 2>/dev/null &&
		cp "$tmp/b/obj/tools/x/a.o" "$tmp/b/obj/consumers/y/a.o"; then
		out=$(LAYERS_ROOT=$tmp B=$tmp/b bash "$0" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] && grep -q 'shared_name' <<<"$out"; then
			ok "self-test: fails on an unprefixed name defined in tools/ and a service"
		else
			nok "self-test: does not fail on an unprefixed name defined in tools/ and a service"
		fi
	else
		nok "self-test: could not compile the clash fixture"
	fi
}

if [ "${1:-}" = "--self-test" ]; then
	self_test
	[ "$fails" -eq 0 ]
	exit
fi

[ -d "$MIG/decide" ] || {
	nok "no $MIG/decide"
	exit 1
}

# ---- the migrator's floors ----
check "migrator decide/ includes nothing from ctx/, flows/, mig_service.h, wk_k8s.h, wk_kafka.h" \
	"$(includes $(files "$MIG/decide") | grep -E ':(ctx/|flows/|(.*/)?mig_service\.h$|(.*/)?wk_k8s\.h$|(.*/)?wk_kafka\.h$|\.\./)')"
check "migrator ctx/ includes nothing from flows/ or mig_service.h" \
	"$(includes $(files "$MIG/ctx") | grep -E ':(flows/|(.*/)?mig_service\.h$|\.\./)')"
check "migrator flows/ never include mig_service.h" \
	"$(includes $(files "$MIG/flows") | grep -E ':((.*/)?mig_service\.h$|\.\./)')"
check "nothing but main.c includes mig_service.h" \
	"$(grep -rl --include=*.c --include=*.h -E '#[[:space:]]*include[[:space:]]*"([^"]*/)?mig_service\.h"' "$ROOT"/core "$ROOT"/consumers "$ROOT"/producers "$ROOT"/tools "$ROOT"/tests 2>/dev/null | grep -vxF -e "$MIG/main.c" -e "$MIG/mig_service.c")"

# Between flows: flow -> the flows it may include (its own header always).
allowed_flow() { # allowed_flow FROM TO
	case "$1:$2" in
	"$2:$2") return 0 ;;
	pressure:evac | evac:live | live:cold | failure:live | failure:cold) return 0 ;;
	pressure:evac_int | evac:evac_int) return 0 ;; # the evacuation's own header for pressure
	*) return 1 ;;
	esac
}
bad=""
while IFS=: read -r f _ h; do
	[ -n "$f" ] || continue
	from=$(basename "$f" | sed -E 's/^mig_//; s/\.[ch]$//')
	[ "$from" = evac_int ] && from=evac
	case "$h" in flows/mig_*) ;; *) continue ;; esac
	to=$(basename "$h" .h | sed -E 's/^mig_//')
	allowed_flow "$from" "$to" || bad+="$f includes $h"$'\n'
done < <(includes $(files "$MIG/flows"))
check "between flows only pressure -> evac -> live -> cold and failure -> live, cold" "${bad%$'\n'}"

# ---- no circle of migrator files (objects; skipped before a build) ----
# live_objs DIR: the non-main objects under DIR whose source still exists (a build directory
# reused across a move keeps the old objects, which would otherwise count as files)
live_objs() {
	find "$1" -name '*.o' ! -name main.o | sort | while read -r o; do
		src=${o#"$B"/obj/}
		[ -f "$ROOT/${src%.o}.c" ] && echo "$o"
	done
}
objdir=$B/obj/consumers/migrator
if [ -d "$objdir" ]; then
	edges=$(mktemp)
	defs=$(mktemp)
	for o in $(live_objs "$objdir"); do
		nm --defined-only -g "$o" | awk -v f="${o#"$objdir"/}" 'NF == 3 { print $3, f }'
	done | sort >"$defs"
	for o in $(live_objs "$objdir"); do
		nm -u "$o" | awk '{ print $NF }' | sort | join - "$defs" |
			awk -v f="${o#"$objdir"/}" '$2 != f { print f, $2 }'
	done | sort -u >"$edges"
	cyc=$(python3 - "$edges" <<'EOF'
import sys
g = {}
for line in open(sys.argv[1]):
    a, b = line.split()
    g.setdefault(a, set()).add(b)
state, stack, found = {}, [], []
def dfs(u):
    state[u] = 1; stack.append(u)
    for v in sorted(g.get(u, ())):
        if state.get(v) == 1 and not found:
            found.append(stack[stack.index(v):] + [v])
        elif v not in state:
            dfs(v)
    stack.pop(); state[u] = 2
for u in sorted(g):
    if u not in state:
        dfs(u)
if found:
    print(' -> '.join(p.replace('.o', '.c') for p in found[0]))
EOF
)
	up=$(awk '$2 == "mig_service.o" { print $1 " calls into mig_service.c" }' "$edges")
	badcall=""
	while read -r a b; do
		case "$a:$b" in flows/*:flows/*) ;; *) continue ;; esac
		from=$(basename "$a" .o | sed 's/^mig_//')
		to=$(basename "$b" .o | sed 's/^mig_//')
		allowed_flow "$from" "$to" || badcall+="$a calls $b"$'\n'
	done <"$edges"
	rm -f "$edges" "$defs"
	check "no circle of migrator files calling each other ($objdir)" "$cyc"
	check "no migrator file calls into mig_service.c ($objdir)" "$up"
	check "flows call only pressure -> evac -> live -> cold, failure -> live, cold ($objdir)" \
		"${badcall%$'\n'}"
fi

# ---- tools/ and the services ----
bad=$( (includes $(files "$ROOT/tools") | grep -E ':(.*/)?(consumers|producers)/'
	includes $(files "$ROOT/consumers") $(files "$ROOT/producers") | grep -E ':(.*/)?tools/') 2>/dev/null)
check "tools/ and consumers|producers share no include" "$bad"

# ---- the stacks the benchmarks start ----
bad=""
for f in "$ROOT"/tests/bench/*.sh; do
	[ -f "$f" ] || continue
	grep -qE 'wukong-sim|start_sim' "$f" || continue
	grep -qE 'wukong-(watcher|migrator|status|cloner|progress|audit)\b' "$f" || continue
	grep -qE 'wukong-provisioner|start_provisioner|wukongctl"? up' "$f" || bad+="$f"$'\n'
done
check "every benchmark running the simulator with a service runs wukong-provisioner" "${bad%$'\n'}"

if [ -d "$B/obj" ]; then
	syms() { # syms DIR...: "name object" for every global defined by the non-main objects
		for d in "$@"; do
			[ -d "$d" ] || continue
			live_objs "$d" | while read -r o; do
				nm -g --defined-only "$o" 2>/dev/null |
					awk -v o="${o#"$B"/obj/}" 'NF == 3 { print $3, o }'
			done
		done
	}
	tools_syms=$(syms "$B/obj/tools" | grep -vE "^($PREFIXES)" | sort)
	svc_syms=$(syms "$B/obj/consumers" "$B/obj/producers" | grep -vE "^($PREFIXES)" | sort)
	clash=$(join <(awk '{ print $1 }' <<<"$tools_syms" | sort -u) \
		<(awk '{ print $1 }' <<<"$svc_syms" | sort -u))
	all_syms="$tools_syms"$'\n'"$svc_syms"
	for s in $(awk 'NF { print $1 }' <<<"$all_syms" | sort -u); do
		grep -qxF "$s" <<<"$clash" && continue
		echo "# note: unprefixed global $s ($(grep "^$s " <<<"$all_syms" | awk '{ print $2 }' | head -1))"
	done
	details=""
	for s in $clash; do
		details+="$(grep "^$s " <<<"$all_syms")"$'\n'
	done
	check "no unprefixed global name defined in both tools/ and a service ($B/obj)" "${details%$'\n'}"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
