#!/usr/bin/env bash
# 0123-rbac-clone-status.sh - as 0121, for the status writer and the cloner: the status-writer
# suite (Lease-elected) and the clone suites (running, stopped, selective disks, failures) pass
# under their own ServiceAccount tokens with deploy/base's RBAC enforced, no request is refused,
# and every rule granted to the two services was used (the one exception is listed, with the
# code path no suite reaches).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rbac-env.sh"
REC="$T/used.tsv"
: >"$REC"
rbac_run_suites "${RBAC_SUITES:-0050 0060 0061 0062 0064}" "$REC"
rbac_check_grants "status cloner" "$REC"
finish
