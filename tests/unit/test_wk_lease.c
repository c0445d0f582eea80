/* test_wk_lease.c - client-go leader election decisions with injected clocks. */
#include "wk_lease.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct wk_lease_spec spec(const char *holder, long dur, long trans, int64_t renew_us)
{
	struct wk_lease_spec s;

	memset(&s, 0, sizeof(s));
	wk_strlcpy(s.holder, holder, sizeof(s.holder));
	s.duration_s = dur;
	s.transitions = trans;
	s.acquire_us = 1000;
	s.renew_us = renew_us;
	return s;
}

static void create_when_missing(void **state)
{
	struct wk_lease l;
	struct wk_lease_spec next;

	(void)state;
	wk_lease_init(&l, "me", "ns", "lease");
	assert_true(wk_lease_decide(&l, false, NULL, 0, 5000000, &next));
	assert_string_equal(next.holder, "me");
	assert_int_equal(next.transitions, 0);
	assert_int_equal(next.duration_s, 15);
	assert_int_equal(next.acquire_us, 5000000);
}

static void other_holder_expires_by_local_clock(void **state)
{
	struct wk_lease l;
	struct wk_lease_spec next, other = spec("them", 15, 3, 1);

	(void)state;
	wk_lease_init(&l, "me", "ns", "lease");
	/* first observation at t=100 s: valid for 15 s from now, whatever renewTime says */
	assert_false(wk_lease_decide(&l, true, &other, 100000, 0, &next));
	assert_false(wk_lease_decide(&l, true, &other, 114999, 0, &next));
	/* unchanged for 15 s by our clock: expired, take it over with transitions + 1 */
	assert_true(wk_lease_decide(&l, true, &other, 115000, 7, &next));
	assert_string_equal(next.holder, "me");
	assert_int_equal(next.transitions, 4);
	assert_int_equal(next.acquire_us, 7);
	/* a renewal by the holder (changed spec) restarts the local timer */
	other.renew_us = 2;
	assert_false(wk_lease_decide(&l, true, &other, 120000, 0, &next));
	assert_false(wk_lease_decide(&l, true, &other, 134999, 0, &next));
	assert_true(wk_lease_decide(&l, true, &other, 135000, 0, &next));
}

static void renew_keeps_acquire_and_transitions(void **state)
{
	struct wk_lease l;
	struct wk_lease_spec next, mine = spec("me", 15, 9, 1);

	(void)state;
	wk_lease_init(&l, "me", "ns", "lease");
	assert_true(wk_lease_decide(&l, true, &mine, 0, 999, &next));
	assert_int_equal(next.transitions, 9);
	assert_int_equal(next.acquire_us, 1000);
	assert_int_equal(next.renew_us, 999);
	/* released lease (empty holder): taken at once */
	mine = spec("", 1, 9, 1);
	assert_true(wk_lease_decide(&l, true, &mine, 0, 5, &next));
	assert_int_equal(next.transitions, 10);
}

static void validity_and_fast_path(void **state)
{
	struct wk_lease l;
	struct wk_lease_spec s = spec("me", 15, 0, 1);

	(void)state;
	wk_lease_init(&l, "me", "ns", "lease");
	assert_false(wk_lease_valid(&l, 0));
	wk_lease_won(&l, &s, "42", 1000);
	assert_true(l.leader);
	assert_int_equal(l.acquisitions, 1);
	assert_true(wk_lease_valid(&l, 10999));
	assert_false(wk_lease_valid(&l, 11000)); /* renew deadline 10 s */
	assert_true(wk_lease_fast_path(&l, 15999));
	assert_false(wk_lease_fast_path(&l, 16000));
	wk_lease_won(&l, &s, "43", 2000);
	assert_int_equal(l.acquisitions, 1);
	assert_string_equal(l.rv, "43");
}

static void check_and_json(void **state)
{
	struct wk_lease l;
	struct wk_lease_spec s = spec("me", 15, 2, 1700000000123456), back;
	char err[256];
	cJSON *o;

	(void)state;
	wk_lease_init(&l, "me", "wukong", "wukong-status-c1");
	assert_int_equal(wk_lease_check(&l, err, sizeof(err)), 0);
	l.renew_deadline_ms = 15000;
	assert_int_equal(wk_lease_check(&l, err, sizeof(err)), -1);
	l.renew_deadline_ms = 2000;
	l.retry_ms = 2000; /* deadline must exceed 1.2 * retry */
	assert_int_equal(wk_lease_check(&l, err, sizeof(err)), -1);
	l.retry_ms = 1000;
	assert_int_equal(wk_lease_check(&l, err, sizeof(err)), 0);

	o = wk_lease_to_json(&l, &s, "77");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "resourceVersion")->valuestring,
	    "77");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "renewTime")->valuestring,
	    "2023-11-14T22:13:20.123456Z");
	assert_int_equal(wk_lease_parse(o, &back), 0);
	assert_string_equal(back.holder, "me");
	assert_int_equal(back.renew_us, s.renew_us);
	assert_int_equal(back.transitions, 2);
	cJSON_Delete(o);
	/* hostile: no spec, wrong types, huge numbers */
	o = cJSON_Parse("{\"spec\":{\"holderIdentity\":5,\"leaseDurationSeconds\":1e300,"
			"\"leaseTransitions\":-4,\"renewTime\":\"yesterday\"}}");
	assert_int_equal(wk_lease_parse(o, &back), 0);
	assert_string_equal(back.holder, "");
	assert_int_equal(back.duration_s, 0);
	assert_int_equal(back.transitions, 0);
	assert_int_equal(back.renew_us, 0);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"metadata\":{}}");
	assert_int_equal(wk_lease_parse(o, &back), -1);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_when_missing),
	    cmocka_unit_test(other_holder_expires_by_local_clock),
	    cmocka_unit_test(renew_keeps_acquire_and_transitions),
	    cmocka_unit_test(validity_and_fast_path),
	    cmocka_unit_test(check_and_json),
	};
	return cmocka_run_group_tests_name("wk_lease", tests, NULL, NULL);
}
