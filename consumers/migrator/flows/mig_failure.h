/* mig_failure.h - spec.migrationPolicy's nodeFailure trigger in wukong-migrator. A node that is
 * not Ready is never a migration source. Without fencing (the node.kubernetes.io/out-of-service
 * taint or a migrator.fencing-taints key) nothing is recovered: a second copy could write to a
 * shared disk the first may still be writing. With it, KubeVirt restarts a shared-storage VM, and
 * the migrator steers that one restart onto a node its policy allows: the VM's template is pinned
 * (mig_cold's pin) while the node is NotReady, verified, restored; a restart that landed elsewhere
 * is followed by one live migration. The state lives on the VirtualMachine (label and annotation
 * below), so a restarted migrator carries on. Each policy-enabled VM gets a condition and an audit
 * record saying why it is, or is not, recovered and where (docs/evacuation.md). The pure parts are
 * decide/mig_failure_pick.h.
 */
#ifndef MIG_FAILURE_H
#define MIG_FAILURE_H

#include "decide/mig_failure_pick.h"
#include "flows/mig_cold.h"
#include "ctx/mig_ctx.h"

/* A Node event (watcher body) for a node whose Ready condition is not True. */
enum wk_msg_result mig_failure_node_event(struct mig_state *st, const struct cJSON *body,
					  const char *node, struct mig_ack *ack);
/* A VMI event (the watcher's body) of a VMI that Failed on a node that is down and fenced: a
 * failure the migrator did not follow (it was not running while the node went down, was fenced
 * and KubeVirt restarted the VM). Marks the VM as at the Node event, so that the tick moves the
 * restarted VM to a node targetNodeSelector allows. Nothing when the VM is marked already or its
 * last recovery was from this VMI (WK_ANN_RECOVERED_FROM_VMI). ts: the event's time (down since).
 */
enum wk_msg_result mig_failure_vmi_event(struct mig_state *st, const struct cJSON *body, int64_t ts,
					 struct mig_ack *ack);
/* Advance every recovery (found by the VM label), at most every second. */
void mig_failure_tick(struct mig_state *st);
/* Forget what was reported (service stop). */
void mig_failure_forget(struct mig_state *st);

#endif
