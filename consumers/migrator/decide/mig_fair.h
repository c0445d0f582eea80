/* mig_fair.h - which queued migration starts next when several tenants wait: fair across tenants
 * (the one with the fewest migrations running goes first, so a tenant that queued 500 cannot make
 * another wait for more than one slot), within a per-tenant cap, under KubeVirt's limits as
 * mig_queue_pick applies them. Pure; the caller says each entry's tenant, how many each tenant
 * runs and its cap. docs/security.md "Abuse limits". */
#ifndef MIG_FAIR_H
#define MIG_FAIR_H

#include "decide/mig_queue.h"

struct mig_fair_ops {
	/* the tenant of a queued entry ("" = none: the trusted installation's own requests) */
	const char *(*tenant)(const struct mig_queue_entry *e, void *opaque);
	int (*running)(const char *tenant, void *opaque);   /* its migrations holding a slot now */
	long long (*cap)(const char *tenant, void *opaque); /* 0 = no cap of its own */
	void *opaque;
};

/* The index of the entry to start now, or -1: among the entries the limits admit (an entry whose
 * source node is full does not hold back others) and whose tenant is under its cap, the first in
 * queue order of the tenant with the fewest running. */
long mig_fair_pick(const struct mig_queue *q, const struct mig_limits *lim,
		   const struct mig_load *load, const struct mig_fair_ops *ops);

#endif
