/* mig_evac_int.h - what the evacuation flow (flows/mig_evac.c, plans and runs evacuations) offers
 * the resourcePressure flow (flows/mig_pressure.c) above it. Not for the rest of the service,
 * which uses mig_evac.h.
 */
#ifndef MIG_EVAC_INT_H
#define MIG_EVAC_INT_H

#include "decide/mig_drain.h"
#include "ctx/mig_ctx.h"

/* A resourcePressure evacuation: just these VMs ("<ns>/<vm>"), and no target filled past `level`
 * percent of its allocatable memory or CPU (what metrics.k8s.io says it uses, mig_pressure_used /
 * mig_pressure_cpu_used, + what it receives). why: which dimension was hot, for the messages. */
struct mig_pressure_sel {
	char (*only)[400];
	size_t n;
	int level;
	char why[160];
};

/* An evacuation of node runs, or one ended less than 30 s ago (no re-evaluation yet). */
bool mig_evac_busy(struct mig_state *st, const char *node);

/* Plan an evacuation of node and, unless dry_run, start it. maint: triggered by a policy (only
 * VMs whose policy enables nodeMaintenance, or exactly ps's VMs when ps is given); otherwise a
 * drain submission. id names the evacuation; ts orders its VMs in the queue; topic/partition/
 * offset are for the audit trail; ack is held until the evacuation ends. */
enum wk_msg_result mig_evac_start(struct mig_state *st, const char *id, const char *node,
				  bool maint, const struct mig_pressure_sel *ps, bool dry_run,
				  const char *tenant, int64_t ts, const char *topic,
				  int32_t partition, int64_t offset, struct mig_ack *ack);

#endif
