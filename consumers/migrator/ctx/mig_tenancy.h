/* mig_tenancy.h - the migrator's side of "who may ask" (core/wk_authz.h): the fair pick of the
 * next queued migration across tenants with their caps, the per-tenant count of migrations
 * holding a slot, and the owner of each recent request id (a replay from another identity is
 * refused, never re-authorized as it). State in struct mig_state (mig_ctx.h); uses decide/ and
 * core only. docs/security.md. */
#ifndef MIG_TENANCY_H
#define MIG_TENANCY_H

#include "ctx/mig_ctx.h"

#define MIG_OWNERS_MAX 4096 /* request ids whose submitter is remembered (a ring) */

void mig_tenancy_init(struct mig_state *st);
void mig_tenancy_release(struct mig_state *st);
/* The queue entry to start next (mig_fair_pick over st's queue, limits and tenants), or -1. */
long mig_tenancy_pick(struct mig_state *st);
/* May a request of tenant start now without queueing: its cap leaves room and no other tenant
 * waits in the queue (they would be passed over). */
bool mig_tenancy_may_start(struct mig_state *st, const char *tenant);
/* Record that request id was submitted by owner ("tenant:<t>" or "trusted"). 0 when it is new or
 * the same owner's; -1 with the earlier owner in prev when another identity sent it first. */
int mig_tenancy_claim(struct mig_state *st, const char *id, const char *owner, char *prev,
		      size_t prev_size);

#endif
