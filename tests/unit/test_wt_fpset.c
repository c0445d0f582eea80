/* test_wt_fpset.c - the watcher's fingerprint table and the change decision. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../producers/watcher/wt_fpset.h"

static void put_get_replace_remove(void **state)
{
	struct wt_fpset *s = wt_fpset_new();
	struct wt_fp *e;
	size_t b0 = wt_fpset_bytes(s);

	(void)state;
	assert_null(wt_fpset_get(s, 1, "ns/a"));
	e = wt_fpset_put(s, 1, "ns/a", "uid-a", "10", "ns/a", 0x1234);
	assert_non_null(e);
	assert_string_equal(wt_fp_id(e), "ns/a");
	assert_string_equal(wt_fp_uid(e), "uid-a");
	assert_string_equal(wt_fp_rv(e), "10");
	assert_string_equal(wt_fp_vmref(e), "ns/a");
	assert_true(e->fp == 0x1234);
	e->seen = 7;
	/* same id, other kind: another object */
	assert_non_null(wt_fpset_put(s, 2, "ns/a", "uid-x", "1", "", 1));
	assert_int_equal(wt_fpset_count(s, 1), 1);
	assert_int_equal(wt_fpset_count(s, 2), 1);
	assert_int_equal(wt_fpset_total(s), 2);
	assert_true(wt_fpset_bytes(s) > b0);
	/* replace keeps the relist mark */
	e = wt_fpset_put(s, 1, "ns/a", "uid-a", "11", "ns/vm", 0x5678);
	assert_int_equal(e->seen, 7);
	assert_string_equal(wt_fp_rv(wt_fpset_get(s, 1, "ns/a")), "11");
	assert_string_equal(wt_fp_vmref(wt_fpset_get(s, 1, "ns/a")), "ns/vm");
	assert_int_equal(wt_fpset_total(s), 2);
	wt_fpset_remove(s, 1, "ns/a");
	wt_fpset_remove(s, 1, "ns/a"); /* absent: no-op */
	assert_null(wt_fpset_get(s, 1, "ns/a"));
	assert_non_null(wt_fpset_get(s, 2, "ns/a"));
	assert_int_equal(wt_fpset_count(s, 1), 0);
	wt_fpset_clear(s);
	assert_int_equal(wt_fpset_total(s), 0);
	assert_int_equal(wt_fpset_bytes(s), b0);
	wt_fpset_destroy(s);
	wt_fpset_destroy(NULL);
}

static void caps(void **state)
{
	struct wt_fpset *s = wt_fpset_new();
	char big[5000];

	(void)state;
	memset(big, 'a', sizeof(big));
	big[101] = '\0'; /* uid/rv over 100 bytes */
	assert_null(wt_fpset_put(s, 0, "x", big, "1", "", 1));
	assert_null(wt_fpset_put(s, 0, "x", "u", big, "", 1));
	big[100] = '\0'; /* at the cap */
	assert_non_null(wt_fpset_put(s, 0, "x", big, big, "", 1));
	memset(big, 'a', sizeof(big));
	big[4096] = '\0';
	assert_null(wt_fpset_put(s, 0, big, "u", "1", "", 1));
	big[4095] = '\0';
	assert_non_null(wt_fpset_put(s, 0, big, "u", "1", "", 1));
	assert_null(wt_fpset_put(s, -1, "y", "u", "1", "", 1));
	assert_null(wt_fpset_put(s, 16, "y", "u", "1", "", 1));
	assert_non_null(wt_fpset_put(s, 0, "", NULL, NULL, NULL, 1)); /* empty strings */
	assert_int_equal(wt_fpset_total(s), 3);
	wt_fpset_destroy(s);
}

static void many_and_unseen(void **state)
{
	struct wt_fpset *s = wt_fpset_new();
	char id[64];
	char **ids;
	size_t n, bytes;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		struct wt_fp *e;

		snprintf(id, sizeof(id), "ns-%d/vm-%d", i % 7, i);
		e = wt_fpset_put(s, i % 3, id, "0d9f1f4e-6c1b-4b8a-9a57-1f0e1f2a3b4c", "123456", id,
				 (uint64_t)i + 1);
		e->seen = i % 10 == 0 ? 1 : 2;
	}
	assert_int_equal(wt_fpset_total(s), 30000);
	bytes = wt_fpset_bytes(s);
	/* compact: well under 200 bytes an object (the 10,000-VM target is ~30,000 objects) */
	assert_true(bytes / 30000 < 200);
	for (int i = 0; i < 30000; i += 997) {
		snprintf(id, sizeof(id), "ns-%d/vm-%d", i % 7, i);
		assert_non_null(wt_fpset_get(s, i % 3, id));
		assert_true(wt_fpset_get(s, i % 3, id)->fp == (uint64_t)i + 1);
		assert_null(wt_fpset_get(s, (i + 1) % 3, id));
	}
	ids = wt_fpset_unseen(s, 0, 2, &n);
	/* kind 0 = i % 3 == 0; unseen in epoch 2 = i % 10 == 0: i % 30 == 0 */
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wt_fpset_get(s, 0, ids[i])->seen, 1);
	wt_fpset_free_ids(ids, n);
	ids = wt_fpset_unseen(s, 5, 2, &n);
	assert_int_equal(n, 0);
	wt_fpset_free_ids(ids, n);
	wt_fpset_destroy(s);
}

static void count_cb(const struct wt_fp *e, void *opaque)
{
	(void)e;
	(*(int *)opaque)++;
}

static void foreach_visits_all(void **state)
{
	struct wt_fpset *s = wt_fpset_new();
	int n = 0;

	(void)state;
	wt_fpset_put(s, 0, "a", "u", "1", "", 1);
	wt_fpset_put(s, 3, "b", "u", "1", "", 1);
	wt_fpset_foreach(s, count_cb, &n);
	assert_int_equal(n, 2);
	wt_fpset_destroy(s);
}

static void decisions(void **state)
{
	struct wt_fpset *s = wt_fpset_new();
	struct wt_fp *e = wt_fpset_put(s, 0, "ns/a", "u1", "1", "", 42);

	(void)state;
	assert_int_equal(wt_decide(NULL, "u1", 42, false), WT_ACT_ADD);
	assert_int_equal(wt_decide(NULL, "u1", 0, true), WT_ACT_NONE); /* never published */
	assert_int_equal(wt_decide(e, "u1", 42, false), WT_ACT_NONE);
	assert_int_equal(wt_decide(e, "u1", 43, false), WT_ACT_MODIFY);
	assert_int_equal(wt_decide(e, "u2", 42, false), WT_ACT_REPLACE); /* recreated */
	assert_int_equal(wt_decide(e, "u1", 0, true), WT_ACT_DELETE);
	assert_int_equal(wt_decide(e, "u2", 0, true), WT_ACT_NONE); /* an older incarnation */
	assert_int_equal(wt_decide(e, NULL, 42, false), WT_ACT_REPLACE);
	e->fp = 0; /* unknown (a failed delivery): publish whatever is seen */
	assert_int_equal(wt_decide(e, "u1", 42, false), WT_ACT_MODIFY);
	wt_fpset_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_get_replace_remove),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(many_and_unseen),
	    cmocka_unit_test(foreach_visits_all),
	    cmocka_unit_test(decisions),
	};
	return cmocka_run_group_tests_name("wt_fpset", tests, NULL, NULL);
}
