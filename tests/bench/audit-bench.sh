#!/usr/bin/env bash
# audit-bench.sh - audit log benchmark (tests/helpers/audit_bench.c): records/s written with the
# chosen fsync policy against fsync-per-record and plain unchained appends, and query time on a
# million-record log with the sidecar indexes against a full scan. Ratios against baselines
# measured in the same run; no assertions on absolute time.
# Knobs: AUDIT_BENCH_WRITE (records, default 20000), AUDIT_BENCH_QUERY (default 1000000).
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/wukong-audit-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "# audit log benchmark (log under $DIR)"
"$B/tests/audit_bench" write "$DIR/w" "${AUDIT_BENCH_WRITE:-20000}" || exit 1
"$B/tests/audit_bench" query "$DIR/q" "${AUDIT_BENCH_QUERY:-1000000}" || exit 1
