/* test_mig_ctx.c - the migrator's shared state: the last_spec cache is pruned when its Wukong is
 * deleted and bounded (issue 22 fault 5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctx/mig_ctx.h"
#include "flows/mig_live.h"
#include "wk_log.h"

#include <stdlib.h>

static struct mig_state *state_new(void)
{
	struct mig_state *st = wk_xcalloc(1, sizeof(*st));

	wk_map_init(&st->last_spec, free);
	return st;
}

static void state_free(struct mig_state *st)
{
	wk_map_release(&st->last_spec);
	free(st);
}

/* A Wukong deleted: what was remembered of its spec.migration goes with it. */
static void last_spec_pruned_on_delete(void **state)
{
	struct mig_state *st = state_new();

	(void)state;
	wk_map_put(&st->last_spec, "ns/a", wk_xstrdup("spec-1"));
	wk_map_put(&st->last_spec, "ns/b", wk_xstrdup("spec-2"));
	mig_wukong_deleted(st, "ns", "a", NULL);
	assert_null(wk_map_get(&st->last_spec, "ns/a"));
	assert_string_equal(wk_map_get(&st->last_spec, "ns/b"), "spec-2");
	assert_int_equal(wk_map_count(&st->last_spec), 1);
	state_free(st);
}

/* Many Wukongs never deleted (or whose deletion was missed): the cache stays bounded and keeps
 * the newest entry. */
static void last_spec_bounded(void **state)
{
	struct mig_state *st = state_new();
	char key[64], id[64];

	(void)state;
	for (int i = 0; i < MIG_LAST_SPEC_MAX + 1000; i++) {
		snprintf(key, sizeof(key), "ns/wk-%d", i);
		snprintf(id, sizeof(id), "spec-%d", i);
		mig_last_spec_put(st, key, id);
		assert_true(wk_map_count(&st->last_spec) <= MIG_LAST_SPEC_MAX);
		assert_string_equal(wk_map_get(&st->last_spec, key), id);
	}
	assert_int_equal(wk_map_count(&st->last_spec), MIG_LAST_SPEC_MAX);
	/* Replacing a present key drops nothing. */
	mig_last_spec_put(st, key, "spec-again");
	assert_int_equal(wk_map_count(&st->last_spec), MIG_LAST_SPEC_MAX);
	state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(last_spec_pruned_on_delete),
	    cmocka_unit_test(last_spec_bounded),
	};

	wk_log_init("test", WK_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
