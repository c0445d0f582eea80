/* test_sim_xfer.c - the pre-copy/post-copy transfer model: convergence, timeouts, post-copy,
 * auto-converge, link sharing, aborts. */
#include "../../tools/sim/sim_xfer.h"

#include <math.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * MIB)

static struct sim_xfer_params base(double mem_gib, double dirty_mib)
{
	struct sim_xfer_params p = {
	    .memory = (int64_t)(mem_gib * GIB),
	    .dirty_rate = dirty_mib * MIB,
	    .max_downtime_s = 0.9,
	    .completion_per_gib = 150,
	    .progress_timeout = 0,
	};
	return p;
}

/* Run in 1 s steps at a fixed bandwidth until the transfer ends or limit seconds pass. */
static enum sim_xfer_state run(struct sim_xfer *x, double bw, double limit)
{
	for (double t = 0; t < limit && x->state == SIM_XFER_RUNNING; t += 1)
		sim_xfer_step(x, 1, bw);
	return x->state;
}

static void converging_vm_finishes(void **state)
{
	(void)state;
	/* 4 GiB at 1 GiB/s dirtying 300 MiB/s: the second pass (1.2 GiB) leaves less than the
	 * 0.9 s downtime allows. */
	struct sim_xfer_params p = base(4, 300);
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	assert_int_equal(run(&x, 1 * GIB, 1000), SIM_XFER_COMPLETED);
	assert_true(x.elapsed > 5.0 && x.elapsed < 6.0);
	assert_true(x.iteration >= 2 && x.iteration < 6);
	assert_true(x.downtime > 0 && x.downtime <= 0.9);
	assert_true(x.processed >= 4 * GIB);
	assert_string_equal(sim_xfer_mode_name(x.mode), "PreCopy");
	assert_true(sim_xfer_remaining(&x) == 0);
}

static void idle_vm_converges_after_one_pass(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(1, 0);
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	assert_int_equal(run(&x, 100 * MIB, 100), SIM_XFER_COMPLETED);
	assert_int_equal(x.iteration, 1);
	assert_true(fabs(x.elapsed - 10.24) < 0.01);
}

static void non_converging_vm_times_out(void **state)
{
	(void)state;
	/* Dirties 200 MiB/s over a 100 MiB/s link: never converges. Budget 150 s/GiB x 2 GiB. */
	struct sim_xfer_params p = base(2, 200);
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	assert_true(fabs(sim_xfer_budget(&x) - 300) < 1e-6);
	assert_int_equal(run(&x, 100 * MIB, 1000), SIM_XFER_FAILED);
	assert_true(x.elapsed > 300 && x.elapsed < 302);
	assert_string_equal(
	    x.failure, "Live migration is not completed after 300 seconds and has been aborted");
	assert_true(sim_xfer_remaining(&x) > 0);
}

static void same_vm_completes_with_post_copy(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(2, 200);
	p.allow_post_copy = true;
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	assert_int_equal(run(&x, 100 * MIB, 1000), SIM_XFER_COMPLETED);
	assert_int_equal(x.mode, SIM_XFER_POSTCOPY);
	assert_string_equal(sim_xfer_mode_name(x.mode), "PostCopy");
	/* Switched at the 300 s budget, then at most 2 GiB at 100 MiB/s. */
	assert_true(x.elapsed > 300 && x.elapsed < 300 + 21);
	/* Post-copy cannot be aborted, and no longer dirties memory. */
	assert_true(sim_xfer_dirty_rate(&x) == 0);
}

static void post_copy_after_first_round(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(2, 200);
	p.allow_post_copy = true;
	p.postcopy_after_first_round = true;
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	sim_xfer_step(&x, 21, 100 * MIB);
	assert_int_equal(x.mode, SIM_XFER_POSTCOPY);
	assert_false(sim_xfer_abort(&x));
	assert_int_equal(run(&x, 100 * MIB, 1000), SIM_XFER_COMPLETED);
	assert_true(x.elapsed < 60);
}

static void auto_converge_helps(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(2, 150);
	struct sim_xfer plain, ac;
	sim_xfer_init(&plain, &p);
	p.allow_auto_converge = true;
	sim_xfer_init(&ac, &p);
	assert_int_equal(run(&plain, 125 * MIB, 1000), SIM_XFER_FAILED);
	assert_true(plain.throttle == 0);
	assert_int_equal(run(&ac, 125 * MIB, 1000), SIM_XFER_COMPLETED);
	assert_true(ac.throttle >= 0.2 && ac.throttle <= 0.99);
	assert_int_equal(ac.mode, SIM_XFER_PRECOPY);
	assert_true(ac.elapsed < 300);
}

static void workload_disruption_pauses(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(1, 200);
	p.allow_workload_disruption = true;
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	assert_int_equal(run(&x, 100 * MIB, 1000), SIM_XFER_COMPLETED);
	assert_int_equal(x.mode, SIM_XFER_PAUSED);
	assert_true(x.elapsed > 150);
}

static void progress_timeout_aborts(void **state)
{
	(void)state;
	/* A stalled link makes no progress at all. */
	struct sim_xfer_params p = base(1, 10);
	p.progress_timeout = 150;
	p.completion_per_gib = 0;
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	sim_xfer_step(&x, 5, 100 * MIB);
	assert_int_equal(run(&x, 0, 1000), SIM_XFER_FAILED);
	assert_string_equal(x.failure, "Live migration stuck for 150 seconds and has been aborted");
	assert_true(x.elapsed > 155 && x.elapsed < 157);
}

static void bandwidth_shared_by_concurrent_migrations(void **state)
{
	(void)state;
	double link = 1 * GIB;
	assert_true(sim_xfer_bandwidth(link, 1, link, 1, 0) == link);
	assert_true(sim_xfer_bandwidth(link, 2, link, 1, 0) == link / 2);
	assert_true(sim_xfer_bandwidth(link, 1, link, 4, 0) == link / 4);
	assert_true(sim_xfer_bandwidth(link, 1, link, 1, 64 * MIB) == 64 * MIB);
	assert_true(sim_xfer_bandwidth(link, 0, 0, 0, 0) == 0);

	/* Two migrations sharing a source link each take about twice as long as one alone. */
	struct sim_xfer_params p = base(4, 5);
	struct sim_xfer alone, a, b;
	sim_xfer_init(&alone, &p);
	sim_xfer_init(&a, &p);
	sim_xfer_init(&b, &p);
	run(&alone, sim_xfer_bandwidth(link, 1, 10 * GIB, 1, 0), 1000);
	while (a.state == SIM_XFER_RUNNING || b.state == SIM_XFER_RUNNING) {
		int n = (a.state == SIM_XFER_RUNNING) + (b.state == SIM_XFER_RUNNING);
		sim_xfer_step(&a, 0.1, sim_xfer_bandwidth(link, n, 10 * GIB, 1, 0));
		sim_xfer_step(&b, 0.1, sim_xfer_bandwidth(link, n, 10 * GIB, 1, 0));
	}
	assert_int_equal(alone.state, SIM_XFER_COMPLETED);
	assert_int_equal(a.state, SIM_XFER_COMPLETED);
	assert_true(a.elapsed > 1.8 * alone.elapsed && a.elapsed < 2.3 * alone.elapsed);
}

static void abort_in_precopy(void **state)
{
	(void)state;
	struct sim_xfer_params p = base(4, 10);
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	sim_xfer_step(&x, 1, 100 * MIB);
	assert_true(sim_xfer_abort(&x));
	assert_int_equal(x.state, SIM_XFER_FAILED);
	assert_string_equal(x.failure, "Live migration has been aborted");
	assert_false(sim_xfer_abort(&x));
	/* A finished transfer does not move any more. */
	double done = x.processed;
	sim_xfer_step(&x, 10, 100 * MIB);
	assert_true(x.processed == done);
}

static void hostile_params(void **state)
{
	(void)state;
	struct sim_xfer_params p = {
	    .memory = -5, .extra = -1, .dirty_rate = -1, .max_downtime_s = 0};
	struct sim_xfer x;
	sim_xfer_init(&x, &p);
	/* Zero memory: one empty pass, then done. */
	assert_int_equal(run(&x, 1 * MIB, 10), SIM_XFER_COMPLETED);
	/* Huge memory, tiny link: no completion budget, bounded work per step. */
	struct sim_xfer_params q = base(1 << 20, 1);
	q.completion_per_gib = 0;
	sim_xfer_init(&x, &q);
	sim_xfer_step(&x, 1e6, 1);
	assert_int_equal(x.state, SIM_XFER_RUNNING);
	/* Data remaining is processed + remaining consistent at every step. */
	assert_true(sim_xfer_remaining(&x) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(converging_vm_finishes),
	    cmocka_unit_test(idle_vm_converges_after_one_pass),
	    cmocka_unit_test(non_converging_vm_times_out),
	    cmocka_unit_test(same_vm_completes_with_post_copy),
	    cmocka_unit_test(post_copy_after_first_round),
	    cmocka_unit_test(auto_converge_helps),
	    cmocka_unit_test(workload_disruption_pauses),
	    cmocka_unit_test(progress_timeout_aborts),
	    cmocka_unit_test(bandwidth_shared_by_concurrent_migrations),
	    cmocka_unit_test(abort_in_precopy),
	    cmocka_unit_test(hostile_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
