/* mig_tenancy.c - fair queueing, per-tenant caps and request ownership (mig_tenancy.h). */
#include "ctx/mig_tenancy.h"
#include "decide/mig_fair.h"

#include "wk_authz.h"

struct counts {
	struct mig_state *st;
	struct wk_map running; /* tenant -> int * */
};

static const char *entry_tenant(const struct mig_queue_entry *e, void *opaque)
{
	const struct mig_active *a = e->opaque;

	(void)opaque;
	return a ? a->req.tenant : "";
}

static int running_of(const char *tenant, void *opaque)
{
	struct counts *c = opaque;
	const int *n = wk_map_get(&c->running, tenant ? tenant : "");

	return n ? *n : 0;
}

static long long cap_of(const char *tenant, void *opaque)
{
	struct counts *c = opaque;
	const struct wk_authz_tenant *t = wk_authz_tenant(&c->st->authz, tenant);

	return t ? t->max_active : 0;
}

static void count(struct counts *c)
{
	const struct mig_active *a;

	wk_map_init(&c->running, free);
	for (a = c->st->active; a; a = a->next) {
		int *n;

		if (!a->counted)
			continue;
		n = wk_map_get(&c->running, a->req.tenant);
		if (!n) {
			n = wk_xcalloc(1, sizeof(*n));
			wk_map_put(&c->running, a->req.tenant, n);
		}
		(*n)++;
	}
}

long mig_tenancy_pick(struct mig_state *st)
{
	struct counts c = {.st = st};
	struct mig_fair_ops ops = {entry_tenant, running_of, cap_of, &c};
	long idx;

	count(&c);
	idx = mig_fair_pick(&st->queue, &st->limits, &st->load, &ops);
	wk_map_release(&c.running);
	return idx;
}

bool mig_tenancy_may_start(struct mig_state *st, const char *tenant)
{
	struct counts c = {.st = st};
	long long cap;
	bool ok;

	if (st->queue.n)
		return false;
	cap = cap_of(tenant, &c);
	if (cap <= 0)
		return true;
	count(&c);
	ok = running_of(tenant, &c) < cap;
	wk_map_release(&c.running);
	return ok;
}

void mig_tenancy_init(struct mig_state *st)
{
	wk_map_init(&st->owners, free);
	st->owner_ring = wk_xcalloc(MIG_OWNERS_MAX, sizeof(char *));
	st->owner_next = 0;
}

void mig_tenancy_release(struct mig_state *st)
{
	size_t i;

	wk_map_release(&st->owners);
	if (st->owner_ring)
		for (i = 0; i < MIG_OWNERS_MAX; i++)
			free(st->owner_ring[i]);
	free(st->owner_ring);
	st->owner_ring = NULL;
	wk_authz_release(&st->authz);
}

int mig_tenancy_claim(struct mig_state *st, const char *id, const char *owner, char *prev,
		      size_t prev_size)
{
	const char *cur = wk_map_get(&st->owners, id);
	char **slot;

	if (cur) {
		if (strcmp(cur, owner)) {
			wk_strlcpy(prev, cur, prev_size);
			return -1;
		}
		return 0;
	}
	/* a ring: the oldest id is forgotten when it is full */
	slot = &st->owner_ring[st->owner_next];
	if (*slot) {
		wk_map_del(&st->owners, *slot);
		free(*slot);
	}
	*slot = wk_xstrdup(id);
	st->owner_next = (st->owner_next + 1) % MIG_OWNERS_MAX;
	wk_map_put(&st->owners, id, wk_xstrdup(owner));
	return 0;
}
