/* test_pg_calc.c - percent/ETA/convergence math, including remaining data that grows. */
#include "../../consumers/progress/pg_calc.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

static void raw_percent(void **state)
{
	(void)state;
	assert_int_equal(pg_percent_raw(0, 100), 0);
	assert_int_equal(pg_percent_raw(50, 50), 50);
	assert_int_equal(pg_percent_raw(999, 1), 99);
	assert_int_equal(pg_percent_raw(1, 0), 100);
	assert_int_equal(pg_percent_raw(0, 0), -1);
	assert_int_equal(pg_percent_raw(-1, 5), -1);
	assert_int_equal(pg_percent_raw(NAN, 5), -1);
	assert_int_equal(pg_percent_raw(INFINITY, 5), -1);
	assert_int_equal(pg_percent_raw(1e300, 1e300), 50);
}

static void rises_and_eta_falls(void **state)
{
	struct pg_xfer x;
	double last_eta = 1e18;

	(void)state;
	pg_xfer_init(&x);
	/* 4 GiB at 100 MiB/s, dirtying 20 MiB/s: net 80 MiB/s */
	for (int i = 0; i <= 10; i++) {
		double processed = i * 300 * MiB, remaining = 4 * GiB - i * 350 * MiB;

		assert_true(pg_xfer_sample(&x, processed, remaining, -1, 100 * MiB, 20 * MiB,
					   1000 + i * 5000, false));
		assert_true(x.converging);
		assert_true(x.eta_s >= 0);
		assert_true(x.eta_s < last_eta);
		last_eta = x.eta_s;
	}
	assert_in_range(x.percent, 40, 99);
	/* eta = remaining / net rate */
	assert_true(fabs(x.eta_s - x.remaining / (80 * MiB)) < 1e-6);
	pg_xfer_finish(&x, true);
	assert_int_equal(x.percent, 100);
	assert_true(x.eta_s == 0);
}

static void remaining_grows_percent_holds(void **state)
{
	struct pg_xfer x;

	(void)state;
	pg_xfer_init(&x);
	assert_true(
	    pg_xfer_sample(&x, 600 * MiB, 400 * MiB, -1, 100 * MiB, 150 * MiB, 1000, false));
	assert_int_equal(x.percent, 60);
	/* a new pre-copy iteration: remaining jumps up, the raw figure drops */
	for (int i = 1; i <= 3; i++) {
		assert_true(pg_xfer_sample(&x, (600 + i * 100) * MiB, (400 + i * 200) * MiB, -1,
					   100 * MiB, 150 * MiB, 1000 + i * 5000, false));
		assert_true(x.raw_percent < 60);
		assert_int_equal(x.percent, 60); /* never backwards */
		assert_false(x.converging);
		assert_true(x.eta_s < 0); /* no honest ETA while not draining */
	}
	/* debounced: the flag comes after PG_NOT_CONVERGING_AFTER bad samples */
	assert_true(x.not_converging);
	/* auto-converge throttles the guest: converging again, the flag clears after 2 */
	assert_true(
	    pg_xfer_sample(&x, 1000 * MiB, 900 * MiB, -1, 100 * MiB, 10 * MiB, 30000, false));
	assert_true(x.not_converging);
	assert_true(
	    pg_xfer_sample(&x, 1100 * MiB, 800 * MiB, -1, 100 * MiB, 10 * MiB, 35000, false));
	assert_false(x.not_converging);
	assert_int_equal(x.percent, 60);
	/* failure keeps what was reached */
	pg_xfer_finish(&x, false);
	assert_int_equal(x.percent, 60);
	assert_true(x.eta_s < 0);
}

static void capped_at_99_until_success(void **state)
{
	struct pg_xfer x;

	(void)state;
	pg_xfer_init(&x);
	assert_true(pg_xfer_sample(&x, 100, 0, 100, 10, 0, 1, false));
	assert_int_equal(x.raw_percent, 100);
	assert_int_equal(x.percent, 99);
	assert_true(x.eta_s == 0);
}

static void postcopy_and_observed_rate(void **state)
{
	struct pg_xfer x;

	(void)state;
	pg_xfer_init(&x);
	/* post-copy: dirty rate no longer matters */
	assert_true(pg_xfer_sample(&x, 1 * GiB, 1 * GiB, -1, 100 * MiB, 500 * MiB, 1000, true));
	assert_true(x.converging);
	assert_true(fabs(x.eta_s - 1 * GiB / (100 * MiB)) < 1e-6);

	/* no rates exposed: the drain rate is observed from remaining over time */
	pg_xfer_init(&x);
	assert_true(pg_xfer_sample(&x, 0, 1000 * MiB, -1, -1, -1, 0, false));
	assert_true(x.eta_s < 0);
	assert_true(pg_xfer_sample(&x, 100 * MiB, 900 * MiB, -1, -1, -1, 1000, false));
	assert_true(fabs(x.net_rate - 100 * MiB) < 1);
	assert_true(fabs(x.eta_s - 9.0) < 1e-6);
	/* older or repeated samples are ignored */
	assert_false(pg_xfer_sample(&x, 0, 1000 * MiB, -1, -1, -1, 1000, false));
	assert_false(pg_xfer_sample(&x, 0, 1000 * MiB, -1, -1, -1, 500, false));
	assert_false(pg_xfer_sample(&x, -5, 1, -1, -1, -1, 9000, false));
	assert_false(pg_xfer_sample(&x, NAN, 1, -1, -1, -1, 9000, false));
	assert_int_equal(x.percent, 10);
}

static void emit_limiter(void **state)
{
	(void)state;
	assert_true(pg_emit_due(0, 5, 1000, false));	    /* never sent */
	assert_false(pg_emit_due(1000, 1999, 1000, false)); /* within the interval */
	assert_true(pg_emit_due(1000, 2000, 1000, false));
	assert_true(pg_emit_due(1000, 1001, 1000, true)); /* final: never held back */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(raw_percent),
	    cmocka_unit_test(rises_and_eta_falls),
	    cmocka_unit_test(remaining_grows_percent_holds),
	    cmocka_unit_test(capped_at_99_until_success),
	    cmocka_unit_test(postcopy_and_observed_rate),
	    cmocka_unit_test(emit_limiter),
	};
	return cmocka_run_group_tests_name("pg_calc", tests, NULL, NULL);
}
