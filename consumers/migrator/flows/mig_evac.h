/* mig_evac.h - node evacuations in wukong-migrator: a drain submission (dry run or real) and
 * spec.migrationPolicy's nodeMaintenance trigger. Looks the node's VMs and the candidate
 * targets up, plans with mig_plan, and feeds the plan's per-VM migrations, in its order, to its
 * targets and at its concurrency, into the ordinary request path (mig_handle_request), so every
 * guarantee of a manual migration holds for each VM. Evacuations in progress are owned by this
 * module (file-local list; the service is one per process). The resourcePressure trigger
 * (mig_pressure.h) and the nodeFailure trigger (mig_failure.h) live in their own modules.
 */
#ifndef MIG_EVAC_H
#define MIG_EVAC_H

#include "decide/mig_drain.h"
#include "ctx/mig_ctx.h"

/* A validated drain submission (cluster and tenant already checked). ts orders its VMs'
 * requests in the queue; topic/partition/offset are for the audit trail. */
enum wk_msg_result mig_evac_drain(struct mig_state *st, const struct mig_drain_req *d, int64_t ts,
				  const char *topic, int32_t partition, int64_t offset,
				  struct mig_ack *ack);
/* A Node event from the watcher (its body: name, labels, spec, status) of a Ready node
 * (mig_service.c hands one that is not Ready to the nodeFailure flow instead). Starts a
 * maintenance evacuation of the policy-enabled VMs when the node is cordoned or drain-tainted. */
enum wk_msg_result mig_evac_node_event(struct mig_state *st, const struct cJSON *body,
				       const char *change, int64_t ts, struct mig_ack *ack);
/* Submit what the plans allow now; finish evacuations whose VMs are all done. */
void mig_evac_tick(struct mig_state *st);
/* Forget every evacuation (service stop); their messages stay unacknowledged for a replay. */
void mig_evac_shutdown(struct mig_state *st);

#endif
