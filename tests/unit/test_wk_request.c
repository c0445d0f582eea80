/* test_wk_request.c - a request's expiry: ce_time plus the maximum age, its own expiresAt when
 * earlier, no age limit, unknown send time, and hostile expiresAt values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_cloudevent.h"
#include "wk_request.h"
#include "wk_time.h"

#define T0 1796644800000LL /* 2026-12-07T12:00:00Z */
#define MIN (60 * 1000LL)

static int check(const char *ce_time, const char *body, int64_t max_age, int64_t now,
		 struct wk_request_expiry *x, char *err, size_t n)
{
	struct wk_cloudevent ce;

	memset(&ce, 0, sizeof(ce));
	if (ce_time)
		strcpy(ce.time, ce_time);
	return wk_request_check_expiry(NULL, &ce, body, body ? strlen(body) : 0, max_age, now, x,
				       err, n);
}

static void max_age(void **state)
{
	struct wk_request_expiry x;
	char err[200];

	(void)state;
	assert_int_equal(
	    check("2026-12-07T12:00:00Z", "{}", 10 * MIN, T0 + 10 * MIN - 1, &x, err, sizeof(err)),
	    0);
	assert_false(x.expired);
	assert_int_equal(x.sent_ms, T0);
	assert_int_equal(x.expires_ms, T0 + 10 * MIN);
	assert_int_equal(
	    check("2026-12-07T12:00:00Z", "{}", 10 * MIN, T0 + 10 * MIN, &x, err, sizeof(err)), 0);
	assert_true(x.expired);
	assert_false(x.own_deadline);
	assert_non_null(strstr(x.message, "expired at 2026-12-07T12:10:00"));
	assert_non_null(strstr(x.message, "maximum age 600s"));
	/* no limit configured, no expiresAt: never */
	assert_int_equal(
	    check("2026-12-07T12:00:00Z", "{}", 0, T0 + 1000 * MIN, &x, err, sizeof(err)), 0);
	assert_false(x.expired);
	assert_int_equal(x.expires_ms, 0);
	/* no send time known (no ce_time, no message): only expiresAt could decide */
	assert_int_equal(check(NULL, "{}", 10 * MIN, T0 + 1000 * MIN, &x, err, sizeof(err)), 0);
	assert_false(x.expired);
}

static void own_deadline(void **state)
{
	struct wk_request_expiry x;
	char err[200];

	(void)state;
	/* shorter than the maximum age: it decides */
	assert_int_equal(check("2026-12-07T12:00:00Z", "{\"expiresAt\":\"2026-12-07T12:02:00Z\"}",
			       10 * MIN, T0 + 2 * MIN, &x, err, sizeof(err)),
			 0);
	assert_true(x.expired);
	assert_true(x.own_deadline);
	assert_non_null(strstr(x.message, "its expiresAt"));
	/* longer than the maximum age: the executor's limit still holds */
	assert_int_equal(check("2026-12-07T12:00:00Z", "{\"expiresAt\":\"2026-12-07T15:00:00Z\"}",
			       10 * MIN, T0 + 11 * MIN, &x, err, sizeof(err)),
			 0);
	assert_true(x.expired);
	assert_false(x.own_deadline);
	/* without a maximum age */
	assert_int_equal(check(NULL, "{\"expiresAt\":\"2026-12-07T12:02:00+00:00\"}", 0, T0 + MIN,
			       &x, err, sizeof(err)),
			 0);
	assert_false(x.expired);
	assert_int_equal(x.expires_ms, T0 + 2 * MIN);
}

static void hostile(void **state)
{
	struct wk_request_expiry x;
	char err[200], big[200];
	static const char *const bad[] = {"{\"expiresAt\":7}",
					  "{\"expiresAt\":null}",
					  "{\"expiresAt\":\"tomorrow\"}",
					  "{\"expiresAt\":\"\"}",
					  "{\"expiresAt\":\"2026-13-07T12:00:00Z\"}",
					  "{\"expiresAt\":[\"2026-12-07T12:00:00Z\"]}",
					  NULL};

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		err[0] = 0;
		assert_int_equal(
		    check("2026-12-07T12:00:00Z", bad[i], 10 * MIN, T0, &x, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "expiresAt"));
	}
	snprintf(big, sizeof(big), "{\"expiresAt\":\"2026-12-07T12:00:00.%0120dZ\"}", 0);
	assert_int_equal(check(NULL, big, 10 * MIN, T0, &x, err, sizeof(err)), -1);
	/* garbage bodies and a garbage ce_time: no crash, nothing decided */
	assert_int_equal(check("yesterday", "not json", 10 * MIN, T0, &x, err, sizeof(err)), 0);
	assert_false(x.expired);
	assert_int_equal(check(NULL, NULL, 10 * MIN, T0, &x, err, sizeof(err)), 0);
	assert_int_equal(wk_request_check_expiry(NULL, NULL, "{}", 2, 10 * MIN, T0, &x, NULL, 0),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(max_age),
	    cmocka_unit_test(own_deadline),
	    cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
