/* test_mig_pressure.c - resourcePressure's pure parts: percentages and levels (unknown, zero
 * allocatable, int64 extremes), hot/cool with sustain and hysteresis over memory and CPU, the
 * choice of just enough VMs per hot dimension (memory, CPU, both, none, hostile weights, random
 * instances checked against the rule), and the "cpu 92% >= 80%" wording. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "decide/mig_pressure_pick.h"

#define GI (INT64_C(1) << 30)

static struct mig_pressure_usage usage(int64_t mem, int64_t alloc_mem, int64_t cpu,
				       int64_t alloc_cpu)
{
	struct mig_pressure_usage u = {mem, alloc_mem, cpu, alloc_cpu};
	return u;
}

static void percentages(void **state)
{
	(void)state;
	assert_true(mig_pressure_pct(50, 100) == 50.0);
	assert_true(mig_pressure_pct(0, 100) == 0.0);
	assert_true(mig_pressure_pct(150, 100) == 150.0);
	assert_true(mig_pressure_pct(-1, 100) < 0);  /* no sample */
	assert_true(mig_pressure_pct(50, 0) < 0);    /* zero allocatable: not known, no division */
	assert_true(mig_pressure_pct(50, -100) < 0); /* garbage allocatable */
	assert_true(mig_pressure_pct(INT64_MAX, INT64_MAX) == 100.0);
	assert_true(mig_pressure_pct(INT64_MAX, 1) > 1e20); /* huge, but a number */

	assert_int_equal(mig_pressure_level_of(100, 70), 70);
	assert_int_equal(mig_pressure_level_of(8000, 70), 5600);
	assert_int_equal(mig_pressure_level_of(7, 100), 7);
	assert_int_equal(mig_pressure_level_of(7, 50), 3); /* rounded down */
	assert_int_equal(mig_pressure_level_of(99, 1), 0);
	assert_int_equal(mig_pressure_level_of(0, 70), 0);
	assert_int_equal(mig_pressure_level_of(-5, 70), 0);
	assert_int_equal(mig_pressure_level_of(100, 0), 0);
	assert_int_equal(mig_pressure_level_of(100, -3), 0);
	assert_int_equal(mig_pressure_level_of(100, 250), 100); /* at most all of it */
	/* No overflow at the top: (2^63-1) * 99 / 100 rounded down. */
	assert_int_equal(mig_pressure_level_of(INT64_MAX, 99), 9131138316486228048LL);
	assert_int_equal(mig_pressure_level_of(INT64_MAX, 100), INT64_MAX);
}

static void over(void **state)
{
	struct mig_pressure_usage u;

	(void)state;
	u = usage(85 * GI / 10, 10 * GI, 2000, 8000); /* memory 85 %, cpu 25 % */
	assert_int_equal(mig_pressure_over(&u, 80), MIG_PRESSURE_MEM);
	u = usage(2 * GI, 10 * GI, 7360, 8000); /* memory 20 %, cpu 92 % */
	assert_int_equal(mig_pressure_over(&u, 80), MIG_PRESSURE_CPU);
	u = usage(9 * GI, 10 * GI, 7360, 8000);
	assert_int_equal(mig_pressure_over(&u, 80), MIG_PRESSURE_MEM | MIG_PRESSURE_CPU);
	assert_int_equal(mig_pressure_over(&u, 95), 0);
	u = usage(8 * GI, 10 * GI, 6400, 8000); /* exactly at the threshold is hot */
	assert_int_equal(mig_pressure_over(&u, 80), MIG_PRESSURE_MEM | MIG_PRESSURE_CPU);
	assert_int_equal(mig_pressure_over(&u, 81), 0);
	u = usage(-1, 10 * GI, 7360, 0); /* neither known */
	assert_int_equal(mig_pressure_over(&u, 1), 0);
	u = usage(9 * GI, 10 * GI, -1, 8000); /* cpu not sampled: memory alone decides */
	assert_int_equal(mig_pressure_over(&u, 80), MIG_PRESSURE_MEM);
}

static void hot_and_cool(void **state)
{
	struct mig_pressure_usage hot_cpu = usage(1 * GI, 10 * GI, 7360, 8000), /* cpu 92 % */
	    band_cpu = usage(1 * GI, 10 * GI, 6000, 8000),			/* cpu 75 % */
	    cool = usage(1 * GI, 10 * GI, 5000, 8000),				/* cpu 62.5 % */
	    band_mem = usage(75 * GI / 10, 10 * GI, 5000, 8000); /* mem 75 %, cpu cool */
	int64_t since = 0;

	(void)state;
	/* threshold 80, level 70, sustain 15 s */
	assert_false(mig_pressure_step(&hot_cpu, 80, 70, 1000, 15000, &since));
	assert_int_equal(since, 1000);
	assert_false(mig_pressure_step(&hot_cpu, 80, 70, 15999, 15000, &since));
	assert_true(mig_pressure_step(&hot_cpu, 80, 70, 16000, 15000, &since));
	/* In the band (below threshold, at or above level): not acted on, not cooled either. */
	assert_false(mig_pressure_step(&band_cpu, 80, 70, 17000, 15000, &since));
	assert_int_equal(since, 1000);
	/* The other dimension in its band keeps it hot too: cool only when both are below. */
	assert_false(mig_pressure_step(&band_mem, 80, 70, 18000, 15000, &since));
	assert_int_equal(since, 1000);
	assert_true(mig_pressure_step(&hot_cpu, 80, 70, 19000, 15000, &since));
	assert_false(mig_pressure_step(&cool, 80, 70, 20000, 15000, &since));
	assert_int_equal(since, 0);
	/* A flicker: hot, cool, hot again restarts the sustain. */
	assert_false(mig_pressure_step(&hot_cpu, 80, 70, 30000, 15000, &since));
	assert_false(mig_pressure_step(&cool, 80, 70, 31000, 15000, &since));
	assert_false(mig_pressure_step(&hot_cpu, 80, 70, 46000, 15000, &since));
	assert_int_equal(since, 46000);
	/* Sustain 0: at once. */
	since = 0;
	assert_true(mig_pressure_step(&hot_cpu, 80, 70, 5, 0, &since));
	assert_int_equal(since, 5);
	/* Zero allocatable everywhere: never hot. */
	struct mig_pressure_usage zero = usage(5, 0, 5, 0);
	since = 0;
	assert_false(mig_pressure_step(&zero, 1, 1, 5000, 0, &since));
	assert_int_equal(since, 0);
}

/* Sum of the chosen weights per dimension. */
static void chosen_sum(const struct mig_pressure_vm *v, size_t n, const bool *take, int64_t *mem,
		       int64_t *cpu)
{
	*mem = *cpu = 0;
	for (size_t i = 0; i < n; i++)
		if (take[i]) {
			*mem += v[i].mem > 0 ? v[i].mem : 0;
			*cpu += v[i].cpu_milli > 0 ? v[i].cpu_milli : 0;
		}
}

static void choose_memory(void **state)
{
	struct mig_pressure_usage u = usage(90 * GI, 100 * GI, 1000, 100000);
	struct mig_pressure_vm v[] = {{8 * GI, 64000}, {25 * GI, 1000}, {30 * GI, 1000}};
	bool take[3];

	(void)state;
	/* Excess 20 Gi: the smallest that alone covers it (25 Gi); the CPU-heavy one is not
	 * preferred for CPU since CPU is not hot. */
	assert_int_equal(mig_pressure_choose(v, 3, &u, MIG_PRESSURE_MEM, 70, take), 1);
	assert_false(take[0]);
	assert_true(take[1]);
	assert_false(take[2]);
	/* None covers it alone: largest (10), then the largest (8) as 10 remain, then the
	 * smallest that covers the last 2 Gi (6 of 6 and 7 -> 6). */
	struct mig_pressure_vm w[] = {{8 * GI, 1}, {10 * GI, 1}, {6 * GI, 1}, {7 * GI, 1}};
	bool t4[4];
	assert_int_equal(mig_pressure_choose(w, 4, &u, MIG_PRESSURE_MEM, 70, t4), 3);
	assert_true(t4[0] && t4[1] && t4[2] && !t4[3]);
	/* Everything together is not enough: all of them, and it stops. */
	u.mem = 100 * GI;
	assert_int_equal(mig_pressure_choose(w, 4, &u, MIG_PRESSURE_MEM, 10, t4), 4);
}

static void choose_cpu(void **state)
{
	/* 92 % of 8 cores, level 70 %: 1760m over. Weights are the VMs' vCPUs. */
	struct mig_pressure_usage u = usage(2 * GI, 64 * GI, 7360, 8000);
	struct mig_pressure_vm v[] = {
	    {16 * GI, 1000}, {1 * GI, 4000}, {2 * GI, 2000}, {8 * GI, 500}};
	bool take[4];
	int64_t m, c;

	(void)state;
	assert_int_equal(mig_pressure_choose(v, 4, &u, MIG_PRESSURE_CPU, 70, take), 1);
	assert_true(take[2]); /* 2000m: the smallest that alone brings it to 70 % */
	assert_false(take[0] || take[1] || take[3]);
	/* Without the 2 and 4 core VMs: 1000m then 500m is not enough, both go and it stops. */
	struct mig_pressure_vm w[] = {{16 * GI, 1000}, {8 * GI, 500}};
	bool t2[2];
	assert_int_equal(mig_pressure_choose(w, 2, &u, MIG_PRESSURE_CPU, 70, t2), 2);
	/* VMs with no CPU weight (unknown) never move for CPU. */
	struct mig_pressure_vm z[] = {{16 * GI, 0}, {8 * GI, -5}, {8 * GI, 0}};
	bool t3[3] = {true, true, true};
	assert_int_equal(mig_pressure_choose(z, 3, &u, MIG_PRESSURE_CPU, 70, t3), 0);
	assert_false(t3[0] || t3[1] || t3[2]);
	/* Many 1-core VMs: exactly two (1760m over). */
	struct mig_pressure_vm ones[6];
	bool t6[6];
	for (int i = 0; i < 6; i++)
		ones[i] = (struct mig_pressure_vm){GI, 1000};
	assert_int_equal(mig_pressure_choose(ones, 6, &u, MIG_PRESSURE_CPU, 70, t6), 2);
	chosen_sum(ones, 6, t6, &m, &c);
	assert_int_equal(c, 2000);
}

static void choose_both(void **state)
{
	/* memory 90 % of 100 Gi (20 Gi over level 70), cpu 92 % of 8000m (1760m over). */
	struct mig_pressure_usage u = usage(90 * GI, 100 * GI, 7360, 8000);
	struct mig_pressure_vm v[] = {
	    {30 * GI, 500},  /* memory only */
	    {2 * GI, 3000},  /* cpu only */
	    {21 * GI, 2000}, /* both, the smallest that does */
	    {40 * GI, 4000}, /* both, larger */
	};
	bool take[4];
	int64_t m, c;

	(void)state;
	assert_int_equal(
	    mig_pressure_choose(v, 4, &u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, take), 1);
	assert_true(take[2]);
	/* Nobody covers both: the set covers both anyway, and every pick was needed. */
	struct mig_pressure_vm w[] = {{30 * GI, 500}, {2 * GI, 3000}, {3 * GI, 100}};
	bool t3[3];
	assert_int_equal(mig_pressure_choose(w, 3, &u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, t3),
			 2);
	assert_true(t3[0] && t3[1] && !t3[2]);
	chosen_sum(w, 3, t3, &m, &c);
	assert_true(m >= 20 * GI && c >= 1760);
	/* A VM picked for memory counts for CPU too: the memory pick also clears CPU. */
	struct mig_pressure_vm x[] = {{25 * GI, 1800}, {1 * GI, 1800}};
	bool t2[2];
	assert_int_equal(mig_pressure_choose(x, 2, &u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, t2),
			 1);
	assert_true(t2[0] && !t2[1]);
	/* Only the hot dimension counts: the same node with only memory hot. */
	assert_int_equal(mig_pressure_choose(w, 3, &u, MIG_PRESSURE_MEM, 70, t3), 1);
	assert_true(t3[0]);
}

static void choose_hostile(void **state)
{
	struct mig_pressure_usage u = usage(90 * GI, 100 * GI, 7360, 8000);
	struct mig_pressure_vm v[] = {{30 * GI, 4000}};
	bool take[2] = {true, true};

	(void)state;
	/* No candidates. */
	assert_int_equal(
	    mig_pressure_choose(v, 0, &u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, take), 0);
	/* Not hot. */
	assert_int_equal(mig_pressure_choose(v, 1, &u, 0, 70, take), 0);
	assert_false(take[0]);
	/* Zero allocatable / no sample in the hot dimension: nothing to relieve, no division. */
	struct mig_pressure_usage z = usage(90 * GI, 0, -1, 8000);
	assert_int_equal(
	    mig_pressure_choose(v, 1, &z, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, take), 0);
	/* Level above use (a hysteresis of 0 and a node just at the threshold): nothing. */
	struct mig_pressure_usage at = usage(70 * GI, 100 * GI, 5600, 8000);
	assert_int_equal(
	    mig_pressure_choose(v, 1, &at, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 70, take), 0);
	/* int64 extremes: no overflow in the excess, the weights or the costs. */
	struct mig_pressure_usage huge = usage(INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX);
	struct mig_pressure_vm big[] = {{INT64_MAX, INT64_MAX}, {INT64_MAX, 1}, {-INT64_MAX, 0}};
	bool t3[3];
	assert_int_equal(
	    mig_pressure_choose(big, 3, &huge, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 1, t3), 1);
	assert_true(t3[0]);
	/* Level 1 % of a tiny allocatable: 0 allowed, every weight helps until none is left. */
	struct mig_pressure_usage tiny = usage(3, 99, 3, 99);
	struct mig_pressure_vm one[] = {{1, 1}, {1, 1}, {1, 1}, {0, 0}};
	bool t4[4];
	assert_int_equal(
	    mig_pressure_choose(one, 4, &tiny, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 1, t4), 3);
	assert_false(t4[3]);
}

/* Random instances against the rule itself: after the choice each hot dimension is at its level,
 * unless every VM weighing anything there was taken; and the last pick was still needed. */
static void choose_random(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct mig_pressure_vm v[12];
		bool take[12];
		size_t n = (size_t)(rand_r(&seed) % 13);
		unsigned hot = (unsigned)(rand_r(&seed) % 4);
		int level = 1 + rand_r(&seed) % 90;
		struct mig_pressure_usage u =
		    usage((int64_t)(rand_r(&seed) % 1000) * GI / 10, 64 * GI,
			  (int64_t)(rand_r(&seed) % 20000), 16000);
		int64_t lvl[2] = {mig_pressure_level_of(u.alloc_mem, level),
				  mig_pressure_level_of(u.alloc_cpu_milli, level)};
		int64_t used[2] = {u.mem, u.cpu_milli}, left[2], m, c;

		for (size_t i = 0; i < n; i++) {
			v[i].mem = (int64_t)(rand_r(&seed) % 33) * GI / 2;
			v[i].cpu_milli = (int64_t)(rand_r(&seed) % 9) * 500;
		}
		size_t k = mig_pressure_choose(v, n, &u, hot, level, take);
		size_t cnt = 0;
		for (size_t i = 0; i < n; i++)
			cnt += take[i];
		assert_int_equal(k, cnt);
		chosen_sum(v, n, take, &m, &c);
		left[0] = used[0] - m;
		left[1] = used[1] - c;
		for (int d = 0; d < 2; d++) {
			bool all = true;

			if (!(hot & (d ? MIG_PRESSURE_CPU : MIG_PRESSURE_MEM)))
				continue;
			for (size_t i = 0; i < n; i++)
				if (!take[i] && (d ? v[i].cpu_milli : v[i].mem) > 0)
					all = false;
			assert_true(left[d] <= lvl[d] || all);
		}
		/* Each chosen VM weighs something in a hot dimension. */
		for (size_t i = 0; i < n; i++)
			if (take[i])
				assert_true(((hot & MIG_PRESSURE_MEM) && v[i].mem > 0) ||
					    ((hot & MIG_PRESSURE_CPU) && v[i].cpu_milli > 0));
		if (!hot)
			assert_int_equal(k, 0);
	}
}

static void describe(void **state)
{
	struct mig_pressure_usage u = usage(86 * GI, 100 * GI, 7360, 8000);
	char out[160], small[12];

	(void)state;
	mig_pressure_describe(&u, MIG_PRESSURE_CPU, 80, out, sizeof(out));
	assert_string_equal(out, "cpu 92% >= 80%");
	mig_pressure_describe(&u, MIG_PRESSURE_MEM, 80, out, sizeof(out));
	assert_string_equal(out, "memory 86% >= 80%");
	mig_pressure_describe(&u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 80, out, sizeof(out));
	assert_string_equal(out, "memory 86% >= 80%, cpu 92% >= 80%");
	mig_pressure_describe(&u, 0, 80, out, sizeof(out));
	assert_string_equal(out, "");
	u.alloc_cpu_milli = 0; /* not known: not described */
	mig_pressure_describe(&u, MIG_PRESSURE_CPU, 80, out, sizeof(out));
	assert_string_equal(out, "");
	/* Truncated, always terminated; a zero size writes nothing. */
	u.alloc_cpu_milli = 8000;
	mig_pressure_describe(&u, MIG_PRESSURE_MEM | MIG_PRESSURE_CPU, 80, small, sizeof(small));
	assert_string_equal(small, "memory 86% ");
	mig_pressure_describe(&u, MIG_PRESSURE_CPU, 80, small, 1);
	assert_string_equal(small, "");
	small[0] = 'x';
	mig_pressure_describe(&u, MIG_PRESSURE_CPU, 80, small, 0);
	assert_int_equal(small[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(percentages),    cmocka_unit_test(over),
	    cmocka_unit_test(hot_and_cool),   cmocka_unit_test(choose_memory),
	    cmocka_unit_test(choose_cpu),     cmocka_unit_test(choose_both),
	    cmocka_unit_test(choose_hostile), cmocka_unit_test(choose_random),
	    cmocka_unit_test(describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
