/* mig_failure.h - spec.migrationPolicy's nodeFailure trigger in wukong-migrator. A node that is
 * not Ready is never a migration source. Without fencing (the node.kubernetes.io/out-of-service
 * taint or a migrator.fencing-taints key) nothing is recovered: a second copy could write to a
 * shared disk the first may still be writing. Each policy-enabled VM on the node gets a condition
 * and an audit record saying why it is, or is not, recovered (docs/evacuation.md).
 */
#ifndef MIG_FAILURE_H
#define MIG_FAILURE_H

#include "mig_int.h"

/* A Node event (watcher body) for a node whose Ready condition is not True. */
enum wk_msg_result mig_failure_node_event(struct mig_state *st, const struct cJSON *body,
					  const char *node, struct mig_ack *ack);
/* Forget what was reported (service stop). */
void mig_failure_forget(void);

#endif
