#!/usr/bin/env bash
# 0122-containerfile-steps.sh - the Containerfile's steps, run on this machine (Debian bookworm,
# like its build stage) because no image can be built here: the machine reaches no container
# registry, so neither FROM image can be pulled (docs/deploy.md, "Image"). In a scratch copy of
# the tree (without .git, as .containerignore leaves it out) the build stage's RUN lines run
# verbatim; the build reuses this tree's objects so only changed files recompile. The run stage
# is checked: every package its apt-get line names is a Debian package, every library the
# binaries need comes from one of them (or from libc), and the binaries run as uid 65532.
. "$(dirname "$0")/../lib.sh"
CF="$ROOT/Containerfile"
S="$T/src"

check "Containerfile has a bookworm build stage and a bookworm-slim run stage" \
	bash -c "grep -q '^FROM docker.io/library/debian:bookworm AS build' '$CF' && grep -q '^FROM docker.io/library/debian:bookworm-slim' '$CF'"
check "the run stage is non-root" grep -q '^USER 65532:65532' "$CF"

# The scratch tree: tracked and new files, minus what .containerignore drops.
mkdir -p "$S"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$S"
[ -d "$B/obj" ] && cp -a "$B" "$S/build" # reuse objects: the RUN line rebuilds what changed

# RUN lines of a stage, continuation lines joined.
runs() {
	awk -v stage="$1" '
		/^FROM / { n++ }
		n == stage && /^RUN / { cmd = substr($0, 5); while (cmd ~ /\\$/) { sub(/\\$/, "", cmd); getline l; cmd = cmd l } print cmd }
		' "$CF"
}
mapfile -t BUILD_RUNS < <(runs 1)
check "the build stage has its three RUN steps" test ${#BUILD_RUNS[@]} -eq 3
i=0
for r in "${BUILD_RUNS[@]}"; do
	i=$((i + 1))
	# /out is the image's root of the run stage: keep it inside the scratch directory
	cmd=${r//\/out/$T/out}
	check "build RUN $i: ${r:0:60}" env -u B -u MAKEFLAGS bash -c "cd '$S' && { $cmd; } >'$T/run$i.log' 2>&1" || tail -20 "$T/run$i.log"
done
check "the build reads its version from VERSION without .git" bash -c "'$T/out/usr/local/bin/wukong-migrator' --version | head -1 | grep -qx \"wukong-migrator \$(cat '$ROOT/VERSION')\""
for b in wukong-watcher wukong-migrator wukong-cloner wukong-progress wukong-status wukong-audit wukongctl wukong-kafka wukong-sim wukong-auditlog; do
	[ -x "$T/out/usr/local/bin/$b" ] || not_ok "image holds $b"
done
ok "the image holds every binary"

# Run stage: the packages exist in Debian and cover every library the binaries link.
pkgs=$(runs 2 | grep -o 'install -y --no-install-recommends [^&]*' | sed 's/install -y --no-install-recommends //')
check "the run stage installs the runtime libraries" test -n "$pkgs"
check "each run-stage package is a Debian package" bash -c "for p in $pkgs; do apt-cache show \$p >/dev/null 2>&1 || { echo \"no package \$p\"; exit 1; }; done"
closure=$(for p in $pkgs; do echo $p; apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances $p 2>/dev/null | grep -v '^ ' ; done | sort -u)
check "every library the binaries link comes from a run-stage package or its dependencies" bash -c '
	for b in '"$T"'/out/usr/local/bin/*; do
		ldd "$b" | awk "/=>/{print \$3}" | while read -r l; do
			p=$(dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null)
			p=${p%%:*}
			echo "'"$closure"'" | grep -qx "$p" || { echo "$b: $l from $p not in the run stage"; exit 1; }
		done || exit 1
	done'
if [ "$(id -u)" = 0 ]; then
	check "the binaries run as uid 65532 (USER)" setpriv --reuid 65532 --regid 65532 --clear-groups "$T/out/usr/local/bin/wukong-migrator" --version
else
	check "the binaries run as a non-root user" "$T/out/usr/local/bin/wukong-migrator" --version
fi
finish
