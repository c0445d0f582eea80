/* test_wk_ratelimit.c - token bucket: burst, refill rate, wait times, clock oddities. */
#include "wk_ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void burst_then_rate(void **state)
{
	struct wk_tokenbucket b;
	int n = 0;

	(void)state;
	wk_tokenbucket_init(&b, 10, 5, 1000);
	while (wk_tokenbucket_take(&b, 1000))
		n++;
	assert_int_equal(n, 5); /* the burst, no more */
	assert_int_equal(wk_tokenbucket_wait_ms(&b, 1000), 100);
	assert_false(wk_tokenbucket_take(&b, 1099));
	assert_true(wk_tokenbucket_take(&b, 1100));
	/* one second later: 10 tokens at 10/s, but capped at the burst of 5 */
	n = 0;
	while (wk_tokenbucket_take(&b, 2100 + 1000))
		n++;
	assert_int_equal(n, 5);
}

static void sustained_rate(void **state)
{
	struct wk_tokenbucket b;
	int n = 0;

	(void)state;
	wk_tokenbucket_init(&b, 50, 1, 0);
	/* poll every millisecond for 10 s: 1 + 50 * 10 tokens */
	for (int64_t t = 0; t <= 10000; t++)
		while (wk_tokenbucket_take(&b, t))
			n++;
	assert_in_range(n, 500, 501);
}

static void clock_backwards_and_bad_params(void **state)
{
	struct wk_tokenbucket b;

	(void)state;
	wk_tokenbucket_init(&b, 0, 0, 500); /* taken as 1/s, burst 1 */
	assert_true(wk_tokenbucket_take(&b, 500));
	assert_false(wk_tokenbucket_take(&b, 100)); /* backwards: no refill */
	assert_false(wk_tokenbucket_take(&b, 1499));
	assert_true(wk_tokenbucket_take(&b, 1500));
	assert_int_equal(wk_tokenbucket_wait_ms(&b, 1500), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(burst_then_rate),
	    cmocka_unit_test(sustained_rate),
	    cmocka_unit_test(clock_backwards_and_bad_params),
	};
	return cmocka_run_group_tests_name("wk_ratelimit", tests, NULL, NULL);
}
