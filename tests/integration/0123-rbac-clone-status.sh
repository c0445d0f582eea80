#!/usr/bin/env bash
# 0123-rbac-clone-status.sh - as 0121, for the status writer, the cloner and the provisioner: the
# status-writer suite (Lease-elected), the clone suites (running, stopped, selective disks,
# failures) and the provisioner suite pass
# under their own ServiceAccount tokens with deploy/base's RBAC enforced, no request is refused,
# and every rule granted to the three services was used (the exceptions are listed, with the
# code paths no suite reaches).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rbac-env.sh"
REC="$T/used.tsv"
: >"$REC"
rbac_run_suites "${RBAC_SUITES:-$(awk '$2 == "0123" {print $1}' "$ROOT/tests/integration/rbac-suites.txt")}" "$REC"
rbac_check_grants "status cloner provisioner" "$REC"
finish
