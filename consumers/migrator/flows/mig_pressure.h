/* mig_pressure.h - spec.migrationPolicy's resourcePressure trigger in wukong-migrator: NodeMetrics
 * (metrics.k8s.io) samples make a node hot when its memory or CPU use stays at or above the lowest
 * threshold of the policy-enabled VMs on it; then just enough of them move, onto nodes that stay
 * under the threshold minus the hysteresis in both, and a moved VM cools down before it can move
 * again (docs/evacuation.md). The pure parts (percentages, hot/cool, the choice of VMs) are in
 * decide/mig_pressure_pick.h.
 */
#ifndef MIG_PRESSURE_H
#define MIG_PRESSURE_H

#include "ctx/mig_ctx.h"
#include "decide/mig_pressure_pick.h"

/* A NodeMetrics event (body: name, usage). */
enum wk_msg_result mig_pressure_metrics_event(struct mig_state *st, const struct cJSON *body,
					      const char *change, int64_t ts, struct mig_ack *ack);
/* From the service tick: evaluate samples that came too soon after the last evaluation, and hot
 * nodes whose reading has not changed (no new event) once their sustain has run out. */
void mig_pressure_tick(struct mig_state *st);
/* Forget samples, cooldowns and caches (service stop). */
void mig_pressure_forget(struct mig_state *st);

#endif
