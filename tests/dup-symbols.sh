#!/usr/bin/env bash
# tests/dup-symbols.sh [BUILD_DIR] - global symbols defined by more than one non-main object of
# the service dirs (tools/*, producers/*, consumers/*, their sub-folders too) or core: unit-test binaries link every
# service dir's lib.a, so such a pair clashes (or, in archives, silently picks one). Prints the
# duplicates and exits 1 if there are any. Not part of `make test`; run after a build.
B=${1:-${B:-build}}
[ -d "$B/obj" ] || { echo "no $B/obj: build first (make B=$B)" >&2; exit 2; }
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for o in "$B"/obj/core/*.o $(find "$B"/obj/{tools,producers,consumers} -mindepth 2 -name '*.o' 2>/dev/null | sort); do
	[ -e "$o" ] || continue
	[ "$(basename "$o")" = main.o ] && continue
	src=${o#"$B"/obj/}
	[ -f "${src%.o}.c" ] || continue # a reused build directory keeps the objects of moved files
	nm -g --defined-only "$o" | awk -v o="${o#"$B"/obj/}" 'NF == 3 { print $3, o }'
done >"$list"
dups=$(awk '{ print $1 }' "$list" | sort | uniq -d)
[ -z "$dups" ] && { echo "no duplicate global symbols"; exit 0; }
for s in $dups; do grep "^$s " "$list"; done
exit 1
