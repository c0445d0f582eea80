#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined,
# into $FUZZ_B, default build-fuzz) and run each for FUZZ_SECONDS (default 60) starting from its
# committed seed corpus tests/fuzz/corpus/<harness>/ (reproducers of past crashes included).
# New inputs go to $FUZZ_B/fuzz-work/<harness>/ (not committed); a crash is saved as
# $FUZZ_B/fuzz-crashes/<harness>-crash-<sha1> and makes the run fail. `make fuzz` runs this;
# `make test` runs it with FUZZ_SECONDS=3. Usage: run.sh [HARNESS...]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
FUZZ_B=${FUZZ_B:-build-fuzz}
case $FUZZ_B in /*) FUZZ_ABS=$FUZZ_B ;; *) FUZZ_ABS=$ROOT/$FUZZ_B ;; esac
SECS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (apt-get install clang)"; exit 1; }
LIBS="$FUZZ_B/obj/consumers/migrator/lib.a $FUZZ_B/obj/consumers/cloner/lib.a \
$FUZZ_B/obj/consumers/provisioner/lib.a $FUZZ_B/obj/consumers/progress/lib.a \
$FUZZ_B/obj/consumers/status/lib.a $FUZZ_B/obj/consumers/audit/lib.a $FUZZ_B/obj/consumers/router/lib.a $FUZZ_B/obj/consumers/console/lib.a $FUZZ_B/obj/tools/sim/lib.a \
$FUZZ_B/libwkcore.a"
make -s -j2 B="$FUZZ_B" CC="$CLANG" SANITIZE=fuzzer-no-link,address,undefined $LIBS >"/tmp/wk-fuzz-build.$$" 2>&1 ||
	{ tail -20 "/tmp/wk-fuzz-build.$$"; rm -f "/tmp/wk-fuzz-build.$$"; echo "fuzz: build failed"; exit 1; }
rm -f "/tmp/wk-fuzz-build.$$"
mkdir -p "$FUZZ_B/fuzz" "$FUZZ_B/fuzz-work" "$FUZZ_B/fuzz-crashes"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_\(.*\)\.c|\1|'))
failed=0
for n in "${names[@]}"; do
	bin="$FUZZ_B/fuzz/fuzz_$n"
	if [ ! -x "$bin" ] || [ "tests/fuzz/fuzz_$n.c" -nt "$bin" ] || [ "$FUZZ_B/libwkcore.a" -nt "$bin" ]; then
		"$CLANG" -D_GNU_SOURCE -Icore -Iconsumers/migrator -g -O1 -fno-omit-frame-pointer \
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
			"tests/fuzz/fuzz_$n.c" -Wl,--start-group $LIBS -Wl,--end-group \
			-lrdkafka -lcurl -lcjson -lyaml -lmicrohttpd -lssl -lcrypto -lpthread -lm -o "$bin" ||
			{ echo "not ok - fuzz_$n builds"; failed=1; continue; }
	fi
	work="$FUZZ_B/fuzz-work/$n"
	mkdir -p "$work"
	seeds="tests/fuzz/corpus/$n"
	start=$(date +%s)
	if FUZZ_AUDIT_DIR="$FUZZ_ABS/fuzz-work/audit-log" "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_B/fuzz-crashes/$n-" "$work" "$seeds" >"$FUZZ_B/fuzz/$n.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_B/fuzz/$n.log")
		echo "ok - fuzz_$n: ${runs:-?} runs in $(($(date +%s) - start)) s, no crash"
	else
		echo "not ok - fuzz_$n: crash or leak (log $FUZZ_B/fuzz/$n.log; input in $FUZZ_B/fuzz-crashes/)"
		grep -m3 -E 'ERROR|runtime error|SUMMARY' "$FUZZ_B/fuzz/$n.log" | sed 's/^/#   /'
		failed=1
	fi
done
exit $failed
