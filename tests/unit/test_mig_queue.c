/* test_mig_queue.c - queue ordering (by request timestamp, stable across a replay), positions,
 * and admission under parallelMigrationsPerCluster / parallelOutboundMigrationsPerNode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_queue.h"

static void ordering(void **state)
{
	struct mig_queue q;
	int tag[4];

	(void)state;
	mig_queue_init(&q);
	assert_int_equal(mig_queue_push(&q, "c", "ns/c", "n1", 300, &tag[2]), 0);
	assert_int_equal(mig_queue_push(&q, "a", "ns/a", "n1", 100, &tag[0]), 0);
	assert_int_equal(mig_queue_push(&q, "b2", "ns/b2", "n2", 200, &tag[1]), 0);
	assert_int_equal(mig_queue_push(&q, "b1", "ns/b1", "n2", 200, &tag[3]), 0);
	assert_int_equal(mig_queue_push(&q, "a", "ns/a", "n1", 100, &tag[0]), -1); /* dup */
	assert_int_equal(q.n, 4);
	assert_int_equal(mig_queue_position(&q, "a"), 1);
	assert_int_equal(mig_queue_position(&q, "b1"), 2); /* same time: by id */
	assert_int_equal(mig_queue_position(&q, "b2"), 3);
	assert_int_equal(mig_queue_position(&q, "c"), 4);
	assert_int_equal(mig_queue_position(&q, "zz"), 0);
	assert_ptr_equal(mig_queue_find_key(&q, "ns/c")->opaque, &tag[2]);
	assert_null(mig_queue_find_key(&q, "ns/x"));
	assert_ptr_equal(mig_queue_remove(&q, "b1"), &tag[3]);
	assert_null(mig_queue_remove(&q, "b1"));
	assert_int_equal(mig_queue_position(&q, "c"), 3);
	mig_queue_release(&q);
	mig_queue_release(&q); /* twice is harmless */
}

static void load_accounting(void **state)
{
	struct mig_load l;
	struct mig_limits lim = {.per_cluster = 3, .per_node = 2};

	(void)state;
	mig_load_init(&l);
	assert_true(mig_load_admits(&l, &lim, "n1"));
	mig_load_add(&l, "n1", 1);
	mig_load_add(&l, "n1", 1);
	assert_int_equal(mig_load_node(&l, "n1"), 2);
	assert_false(mig_load_admits(&l, &lim, "n1")); /* node full */
	assert_true(mig_load_admits(&l, &lim, "n2"));
	mig_load_add(&l, "n2", 1);
	assert_false(mig_load_admits(&l, &lim, "n3")); /* cluster full */
	mig_load_add(&l, "n1", -1);
	assert_true(mig_load_admits(&l, &lim, "n1"));
	mig_load_add(&l, "n9", -1); /* never goes negative */
	assert_int_equal(mig_load_node(&l, "n9"), 0);
	mig_load_add(&l, "", 1); /* unknown source counts cluster-wide only */
	assert_int_equal(l.total, 2);
	mig_load_release(&l);
}

static void pick_respects_limits(void **state)
{
	struct mig_queue q;
	struct mig_load l;
	struct mig_limits lim = {.per_cluster = 5, .per_node = 2};
	char id[16];
	int i, started = 0, per_node[3] = {0};

	(void)state;
	mig_queue_init(&q);
	mig_load_init(&l);
	/* Ten requests, most from node n0: the per-node limit must not block n1/n2 behind it. */
	for (i = 0; i < 10; i++) {
		char node[16];

		snprintf(id, sizeof(id), "r%d", i);
		snprintf(node, sizeof(node), "n%d", i < 6 ? 0 : i - 6 < 2 ? 1 : 2);
		mig_queue_push(&q, id, id, node, 1000 + i, NULL);
	}
	for (;;) {
		long k = mig_queue_pick(&q, &lim, &l);
		char node[8];

		if (k < 0)
			break;
		snprintf(node, sizeof(node), "%s", q.e[k].source_node);
		mig_load_add(&l, node, 1);
		per_node[node[1] - '0']++;
		mig_queue_remove(&q, q.e[k].id);
		started++;
	}
	assert_int_equal(started, 5);
	assert_int_equal(per_node[0], 2);
	assert_int_equal(per_node[1], 2);
	assert_int_equal(per_node[2], 1);
	assert_int_equal(q.n, 5);
	/* The next in line from n0 is r2 (r0, r1 started): order kept. */
	assert_string_equal(q.e[0].id, "r2");
	/* One n0 migration ends: the head of the queue (n0) goes next. */
	mig_load_add(&l, "n0", -1);
	assert_int_equal(mig_queue_pick(&q, &lim, &l), 0);
	/* Limits of 1/1. */
	lim.per_cluster = 1;
	assert_int_equal(mig_queue_pick(&q, &lim, &l), -1);
	mig_queue_release(&q);
	mig_load_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ordering),
	    cmocka_unit_test(load_accounting),
	    cmocka_unit_test(pick_respects_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
