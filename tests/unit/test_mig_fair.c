/* test_mig_fair.c - the fair pick across tenants (consumers/migrator/decide/mig_fair.c): the
 * tenant with the fewest running goes first whatever its place in the queue, caps, KubeVirt's
 * limits still hold, ties keep queue order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_fair.h"

struct world {
	const char *tenant_of[600]; /* by received_ms */
	int running_a, running_b;
	long long cap_a;
};

static const char *tenant(const struct mig_queue_entry *e, void *o)
{
	struct world *w = o;

	return w->tenant_of[e->received_ms];
}

static int running(const char *t, void *o)
{
	struct world *w = o;

	return !strcmp(t, "a") ? w->running_a : !strcmp(t, "b") ? w->running_b : 0;
}

static long long cap(const char *t, void *o)
{
	struct world *w = o;

	return !strcmp(t, "a") ? w->cap_a : 0;
}

static void flood(void **state)
{
	struct mig_queue q;
	struct mig_load load;
	struct mig_limits lim = {.per_cluster = 2, .per_node = 2};
	struct world w = {.cap_a = 0};
	struct mig_fair_ops ops = {tenant, running, cap, &w};
	char id[32];
	int i;

	(void)state;
	mig_queue_init(&q);
	mig_load_init(&load);
	/* 500 of tenant a first, then b's one */
	for (i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "a-%d", i);
		w.tenant_of[i] = "a";
		mig_queue_push(&q, id, id, "node-1", i, NULL);
	}
	w.tenant_of[500] = "b";
	mig_queue_push(&q, "b-0", "b-0", "node-2", 500, NULL);
	/* a runs 1: b (0 running) goes first although it is last in the queue */
	w.running_a = 1;
	mig_load_add(&load, "node-1", 1);
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), 500);
	/* both at 0: queue order */
	w.running_a = 0;
	mig_load_reset(&load);
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), 0);
	/* the cluster is full: nobody */
	mig_load_add(&load, "node-1", 1);
	mig_load_add(&load, "node-3", 1);
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), -1);
	mig_load_reset(&load);
	/* a capped at 1 with 1 running: only b may start; with b gone, nobody */
	w.cap_a = 1;
	w.running_a = 1;
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), 500);
	mig_queue_remove(&q, "b-0");
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), -1);
	/* b's source node full: b does not hold a back (a under its cap again) */
	w.cap_a = 0;
	w.tenant_of[501] = "b";
	mig_queue_push(&q, "b-1", "b-1", "node-2", 501, NULL);
	lim.per_cluster = 10;
	lim.per_node = 1;
	mig_load_add(&load, "node-2", 1);
	w.running_a = 1;
	assert_int_equal(mig_fair_pick(&q, &lim, &load, &ops), 0);
	mig_queue_release(&q);
	mig_load_release(&load);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(flood)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
