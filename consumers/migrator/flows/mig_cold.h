/* mig_cold.h - cold migration (seed 001): for a VM that cannot live-migrate and whose owner allows
 * it (spec.migration.cold: true), stop it, pin it to the target node, start it, verify it runs
 * there, and restore its own placement rules. The state lives on the VirtualMachine (label
 * vm.novasphere.dev/cold-migration-request and annotation vm.novasphere.dev/cold-migration), so
 * a restarted migrator carries on where the last one stopped. The pure side (the state, patches,
 * checks) is decide/mig_cold_state.h.
 */
#ifndef MIG_COLD_H
#define MIG_COLD_H

#include "ctx/mig_ctx.h"
#include "decide/mig_cold_state.h"

/* Start a cold migration for a request whose pre-flight failed with a live-migration reason
 * (the caller checked that the owner allows it). f is that pre-flight's facts: the VMI, the
 * target Node and the resources already committed there. The target is checked
 * (mig_cold_target_check, the Wukong's targetNodeSelector) before anything is patched: a target
 * that fails is Rejected / ColdMigrationTargetUnusable and the VM keeps running. Otherwise the
 * VM is stopped: Migrating / mode Cold. */
void mig_cold_start(struct mig_state *st, const struct mig_request *r, const struct cJSON *wukong,
		    const struct mig_facts *f, const char *reason, struct mig_ack *ack);
/* A request the pre-flight refused: is it ours, under way as a cold migration (the VM carries
 * our label with this request id, or the Wukong's status is this request's Cold move and the
 * VM is unmarked, i.e. its final status is already sent)? 1 = yes (leave it to the tick);
 * another cold move on the VM: it is refused (condition MigrationRequestRejected) and 1;
 * 0 = not a cold move; -1 = the VM could not be read (retry). */
int mig_cold_owns(struct mig_state *st, const struct mig_request *r, const struct cJSON *wukong);
/* Advance every cold migration (found by the VM label), at most every second. */
void mig_cold_tick(struct mig_state *st);

#endif
