#!/usr/bin/env bash
# 0121-rbac-migration.sh - the install bundle's RBAC for the watcher, the migrator and the progress
# aggregator is sufficient and least-privilege, proven on the simulator (docs/deploy.md, "RBAC"):
# the manual, Kafka-submitted (with cancel), drain and cold migration suites and the progress
# suite (Lease-elected watcher) pass with every service under its own ServiceAccount token and
# deploy/base's Roles enforced; the simulator's record shows no request refused and every rule
# granted to these three services used. 0123 does the same for the status writer and the cloner,
# 0124 takes a rule out.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rbac-env.sh"
REC="$T/used.tsv"
: >"$REC"
rbac_run_suites "${RBAC_SUITES:-$(awk '$2 == "0121" {print $1}' "$ROOT/tests/integration/rbac-suites.txt")}" "$REC"
rbac_check_grants "watcher migrator progress" "$REC"
finish
