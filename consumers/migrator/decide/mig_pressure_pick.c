/* mig_pressure_pick.c - the pure side of the resourcePressure trigger: percentages, hot/cool with
 * sustain and hysteresis, the choice of just enough VMs (tests/unit/test_mig_pressure.c). */
#include "decide/mig_pressure_pick.h"

#include <stdio.h>
#include <string.h>

double mig_pressure_pct(int64_t used, int64_t alloc)
{
	if (used < 0 || alloc <= 0)
		return -1;
	return 100.0 * (double)used / (double)alloc;
}

unsigned mig_pressure_over(const struct mig_pressure_usage *u, int pct)
{
	double m = mig_pressure_pct(u->mem, u->alloc_mem),
	       c = mig_pressure_pct(u->cpu_milli, u->alloc_cpu_milli);

	return (m >= 0 && m >= pct ? MIG_PRESSURE_MEM : 0u) |
	       (c >= 0 && c >= pct ? MIG_PRESSURE_CPU : 0u);
}

int64_t mig_pressure_level_of(int64_t alloc, int pct)
{
	if (alloc <= 0 || pct <= 0)
		return 0;
	if (pct > 100)
		pct = 100;
	return alloc / 100 * pct + alloc % 100 * pct / 100;
}

bool mig_pressure_step(const struct mig_pressure_usage *u, int threshold, int level, int64_t now,
		       int64_t sustain_ms, int64_t *hot_since)
{
	if (mig_pressure_over(u, threshold)) {
		if (!*hot_since)
			*hot_since = now > 0 ? now : 1;
		return now - *hot_since >= sustain_ms;
	}
	if (!mig_pressure_over(u, level))
		*hot_since = 0; /* hysteresis: cool only when both are well below the threshold */
	return false;
}

static int64_t weight(const struct mig_pressure_vm *v, int d)
{
	int64_t w = d == 0 ? v->mem : v->cpu_milli;
	return w > 0 ? w : 0;
}

size_t mig_pressure_choose(const struct mig_pressure_vm *vms, size_t n,
			   const struct mig_pressure_usage *u, unsigned hot, int level, bool *take)
{
	const int64_t used[2] = {u->mem, u->cpu_milli},
		      alloc[2] = {u->alloc_mem, u->alloc_cpu_milli};
	int64_t excess[2] = {0, 0};
	size_t chosen = 0;

	for (size_t i = 0; i < n; i++)
		take[i] = false;
	for (int d = 0; d < 2; d++)
		if ((hot & (d == 0 ? MIG_PRESSURE_MEM : MIG_PRESSURE_CPU)) && used[d] >= 0 &&
		    alloc[d] > 0)
			excess[d] = used[d] - mig_pressure_level_of(alloc[d], level);
	while (chosen < n && (excess[0] > 0 || excess[1] > 0)) {
		long best = -1;
		double best_cost = 0;

		/* The smallest VM that alone covers every dimension still over its level. */
		for (size_t i = 0; i < n; i++) {
			double cost = 0;
			bool covers = !take[i];

			for (int d = 0; d < 2 && covers; d++)
				if (excess[d] > 0) {
					covers = weight(&vms[i], d) >= excess[d];
					cost += (double)weight(&vms[i], d) / (double)alloc[d];
				}
			if (covers && (best < 0 || cost < best_cost)) {
				best = (long)i;
				best_cost = cost;
			}
		}
		/* Else the largest VM of the dimension furthest from its level, or of the other one
		 * when no VM left weighs anything there. */
		if (best < 0) {
			int order[2] = {0, 1};

			if (excess[1] > 0 &&
			    (excess[0] <= 0 || (double)excess[1] / (double)alloc[1] >
						   (double)excess[0] / (double)alloc[0]))
				order[0] = 1, order[1] = 0;
			for (int k = 0; k < 2 && best < 0; k++) {
				int d = order[k];

				if (excess[d] <= 0)
					continue;
				for (size_t i = 0; i < n; i++)
					if (!take[i] && weight(&vms[i], d) > 0 &&
					    (best < 0 ||
					     weight(&vms[i], d) > weight(&vms[best], d)))
						best = (long)i;
			}
		}
		if (best < 0)
			break; /* nothing left relieves what is still over */
		take[best] = true;
		chosen++;
		for (int d = 0; d < 2; d++)
			if (excess[d] > 0)
				excess[d] -= weight(&vms[best], d);
	}
	return chosen;
}

void mig_pressure_describe(const struct mig_pressure_usage *u, unsigned hot, int threshold,
			   char *out, size_t out_size)
{
	double m = mig_pressure_pct(u->mem, u->alloc_mem),
	       c = mig_pressure_pct(u->cpu_milli, u->alloc_cpu_milli);
	int k = 0;

	if (!out_size)
		return;
	out[0] = '\0';
	if ((hot & MIG_PRESSURE_MEM) && m >= 0)
		k = snprintf(out, out_size, "memory %.0f%% >= %d%%", m, threshold);
	if (k < 0 || (size_t)k >= out_size)
		return;
	if ((hot & MIG_PRESSURE_CPU) && c >= 0)
		snprintf(out + k, out_size - (size_t)k, "%scpu %.0f%% >= %d%%", k ? ", " : "", c,
			 threshold);
}
