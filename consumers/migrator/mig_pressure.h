/* mig_pressure.h - spec.migrationPolicy's resourcePressure trigger in wukong-migrator: NodeMetrics
 * (metrics.k8s.io) samples make a node hot when its use stays at or above the lowest threshold
 * of the policy-enabled VMs on it; then just enough of them move, onto nodes that stay under the
 * threshold minus the hysteresis, and a moved VM cools down before it can move again
 * (docs/evacuation.md).
 */
#ifndef MIG_PRESSURE_H
#define MIG_PRESSURE_H

#include "mig_int.h"

/* A NodeMetrics event (body: name, usage). */
enum wk_msg_result mig_pressure_metrics_event(struct mig_state *st, const struct cJSON *body,
					      const char *change, int64_t ts, struct mig_ack *ack);
/* The node's last sampled memory use in bytes, -1 when unknown. */
int64_t mig_pressure_used(const char *node);
/* Forget samples, cooldowns and caches (service stop). */
void mig_pressure_forget(void);

#endif
