/* mig_checks.h - the checks after a move, reported (ctx/mig_checks.c): decide/mig_verify.c's
 * verdict on the VMI as a condition of its own on the Wukong's status (type MigrationVerified,
 * True with what was checked, or False with the failed check's reason), an audit record
 * (migration.verified) and, when a check failed, a Warning Event. Never changes the migration's
 * own phase: the move did happen; the condition says whether it kept what it promised. */
#ifndef MIG_CHECKS_H
#define MIG_CHECKS_H

#include "ctx/mig_ctx.h"

/* before: mig_verify_before's object (NULL: placement and volumes only); vmi: the VMI now
 * (NULL: not read, nothing is reported). */
void mig_send_verified(struct mig_state *st, const struct mig_request *r,
		       const struct cJSON *before, const struct cJSON *vmi, const char *target);

#endif
