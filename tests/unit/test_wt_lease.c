/* test_wt_lease.c - leader election decisions with injected clocks (client-go semantics). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../producers/watcher/wt_lease.h"

#define T0_US 1800000000000000LL

static void fresh(struct wt_lease *l, const char *id)
{
	wt_lease_init(l, id, "wukong", "wukong-watcher-c1");
	l->duration_s = 15;
	l->renew_deadline_ms = 10000;
	l->retry_ms = 2000;
}

static struct wt_lease_spec held_by(const char *who, long transitions)
{
	struct wt_lease_spec s;

	memset(&s, 0, sizeof(s));
	snprintf(s.holder, sizeof(s.holder), "%s", who);
	s.duration_s = 15;
	s.acquire_us = T0_US - 60000000;
	s.renew_us = T0_US;
	s.transitions = transitions;
	return s;
}

static void acquire_when_absent(void **state)
{
	struct wt_lease l;
	struct wt_lease_spec next;

	(void)state;
	fresh(&l, "a");
	assert_true(wt_lease_decide(&l, false, NULL, 1000, T0_US, &next));
	assert_string_equal(next.holder, "a");
	assert_int_equal(next.transitions, 0);
	assert_int_equal(next.duration_s, 15);
	assert_true(next.acquire_us == T0_US && next.renew_us == T0_US);
	assert_false(wt_lease_valid(&l, 1000)); /* not before the write succeeded */
	wt_lease_won(&l, &next, "5", 1000);
	assert_true(wt_lease_valid(&l, 1000));
	assert_true(wt_lease_fast_path(&l, 1000 + 14999));
	assert_false(wt_lease_fast_path(&l, 1000 + 15000));
	assert_true(wt_lease_valid(&l, 1000 + 9999));
	assert_false(wt_lease_valid(&l, 1000 + 10000)); /* renew deadline passed: stop */
	assert_int_equal(l.transitions_seen, 1);
}

static void wait_while_other_renews_then_take_over(void **state)
{
	struct wt_lease l;
	struct wt_lease_spec other = held_by("b", 3), next;
	int64_t t = 50000;

	(void)state;
	fresh(&l, "a");
	/* first sight: the lease counts as valid for a full duration from now */
	assert_false(wt_lease_decide(&l, true, &other, t, T0_US, &next));
	assert_false(wt_lease_decide(&l, true, &other, t + 14999, T0_US, &next));
	/* the holder renews: the timer restarts at our observation */
	other.renew_us += 2000000;
	assert_false(wt_lease_decide(&l, true, &other, t + 14000, T0_US, &next));
	assert_false(wt_lease_decide(&l, true, &other, t + 14000 + 14999, T0_US, &next));
	/* no change for the lease duration: expired, take it over */
	assert_true(wt_lease_decide(&l, true, &other, t + 14000 + 15000, T0_US + 99, &next));
	assert_string_equal(next.holder, "a");
	assert_int_equal(next.transitions, 4);
	assert_true(next.acquire_us == T0_US + 99);
}

static void skewed_renew_time_is_ignored(void **state)
{
	struct wt_lease l;
	/* renewTime far in the past by our wall clock: still valid until it stops changing */
	struct wt_lease_spec other = held_by("b", 0), next;

	(void)state;
	fresh(&l, "a");
	other.renew_us = T0_US - 3600000000LL;
	assert_false(wt_lease_decide(&l, true, &other, 0, T0_US, &next));
	/* ... and one far in the future does not extend it */
	fresh(&l, "a");
	other.renew_us = T0_US + 3600000000LL;
	assert_false(wt_lease_decide(&l, true, &other, 0, T0_US, &next));
	assert_true(wt_lease_decide(&l, true, &other, 15000, T0_US, &next));
}

static void released_lease_taken_at_once(void **state)
{
	struct wt_lease l;
	struct wt_lease_spec rel = held_by("", 2), next;

	(void)state;
	fresh(&l, "a");
	rel.duration_s = 1;
	assert_true(wt_lease_decide(&l, true, &rel, 0, T0_US, &next));
	assert_int_equal(next.transitions, 3);
}

static void renew_keeps_acquire_and_transitions(void **state)
{
	struct wt_lease l;
	struct wt_lease_spec mine = held_by("a", 7), next;

	(void)state;
	fresh(&l, "a");
	assert_true(wt_lease_decide(&l, true, &mine, 0, T0_US + 5, &next));
	assert_int_equal(next.transitions, 7);
	assert_true(next.acquire_us == mine.acquire_us);
	assert_true(next.renew_us == T0_US + 5);
}

static void json_round_trip(void **state)
{
	struct wt_lease l;
	struct wt_lease_spec s = held_by("host_1234", 9), back;
	cJSON *o, *md;
	char *txt;

	(void)state;
	fresh(&l, "host_1234");
	s.renew_us = T0_US + 123456;
	o = wt_lease_to_json(&l, &s, "77");
	txt = cJSON_PrintUnformatted(o);
	/* MicroTime: exactly six fractional digits */
	assert_non_null(strstr(txt, ".123456Z"));
	md = cJSON_GetObjectItem(o, "metadata");
	assert_string_equal(cJSON_GetObjectItem(md, "resourceVersion")->valuestring, "77");
	assert_string_equal(cJSON_GetObjectItem(md, "namespace")->valuestring, "wukong");
	assert_string_equal(cJSON_GetObjectItem(o, "kind")->valuestring, "Lease");
	assert_int_equal(wt_lease_parse(o, &back), 0);
	assert_string_equal(back.holder, "host_1234");
	assert_int_equal(back.duration_s, 15);
	assert_int_equal(back.transitions, 9);
	assert_true(back.renew_us == s.renew_us);
	assert_true(back.acquire_us == s.acquire_us);
	free(txt);
	cJSON_Delete(o);
	o = wt_lease_to_json(&l, &s, "");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "resourceVersion"));
	cJSON_Delete(o);
}

static void parse_bad(void **state)
{
	struct wt_lease_spec s;
	cJSON *o;

	(void)state;
	o = cJSON_Parse("{\"metadata\":{}}");
	assert_int_equal(wt_lease_parse(o, &s), -1);
	cJSON_Delete(o);
	assert_int_equal(wt_lease_parse(NULL, &s), -1);
	/* garbage values are ignored field by field */
	o = cJSON_Parse("{\"spec\":{\"holderIdentity\":5,\"leaseDurationSeconds\":-4,"
			"\"leaseTransitions\":1e300,\"renewTime\":\"yesterday\"}}");
	assert_int_equal(wt_lease_parse(o, &s), 0);
	assert_string_equal(s.holder, "");
	assert_int_equal(s.duration_s, 0);
	assert_int_equal(s.transitions, 0);
	assert_true(s.renew_us == 0);
	cJSON_Delete(o);
	/* a holder with a zero duration counts with our own duration */
	{
		struct wt_lease l;
		struct wt_lease_spec other = held_by("b", 0), next;

		fresh(&l, "a");
		other.duration_s = 0;
		assert_false(wt_lease_decide(&l, true, &other, 0, T0_US, &next));
		assert_false(wt_lease_decide(&l, true, &other, 14999, T0_US, &next));
		assert_true(wt_lease_decide(&l, true, &other, 15000, T0_US, &next));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(acquire_when_absent),
	    cmocka_unit_test(wait_while_other_renews_then_take_over),
	    cmocka_unit_test(skewed_renew_time_is_ignored),
	    cmocka_unit_test(released_lease_taken_at_once),
	    cmocka_unit_test(renew_keeps_acquire_and_transitions),
	    cmocka_unit_test(json_round_trip),
	    cmocka_unit_test(parse_bad),
	};
	return cmocka_run_group_tests_name("wt_lease", tests, NULL, NULL);
}
