/* mig_pressure_pick.h - the pure side of the resourcePressure trigger (flows/mig_pressure.c uses
 * it): a node's use in percent, hot/cool with sustain and hysteresis, the choice of just enough VMs
 * to move and their description. Allocates nothing.
 */
#ifndef MIG_PRESSURE_PICK_H
#define MIG_PRESSURE_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two dimensions a node can be hot in (bit set). */
enum { MIG_PRESSURE_MEM = 1, MIG_PRESSURE_CPU = 2 };

/* A node's use against its allocatable; used < 0 or alloc <= 0: not known (never hot). */
struct mig_pressure_usage {
	int64_t mem, alloc_mem;		    /* bytes */
	int64_t cpu_milli, alloc_cpu_milli; /* millicores */
};

/* A VM that may move (not cooling down). Its CPU weight is its vCPUs (cores x sockets x threads)
 * or its cpu request, as mig_vmi_guest reads them: per-VM use (PodMetrics) is not read, so
 * this is an upper bound of what moving it relieves. */
struct mig_pressure_vm {
	int64_t mem;	   /* bytes */
	int64_t cpu_milli; /* millicores */
};

/* Percent of alloc that used is, -1 when not known. */
double mig_pressure_pct(int64_t used, int64_t alloc);
/* The dimensions of u at or above pct percent (MIG_PRESSURE_* bits). */
unsigned mig_pressure_over(const struct mig_pressure_usage *u, int pct);
/* pct percent of alloc, rounded down, without overflow for any alloc >= 0. */
int64_t mig_pressure_level_of(int64_t alloc, int pct);
/* Hot/cool with sustain and hysteresis: *hot_since (mono ms, 0 = not hot) starts when a dimension
 * reaches threshold, is kept while one stays at or above level, and clears once both are below
 * level. True when the node has been hot for sustain_ms and is at or above threshold now. */
bool mig_pressure_step(const struct mig_pressure_usage *u, int threshold, int level, int64_t now,
		       int64_t sustain_ms, int64_t *hot_since);
/* Just enough of the n VMs to bring every dimension in `hot` down to `level` percent: a VM that
 * alone covers what remains in every such dimension (the smallest, as a share of allocatable),
 * else the largest VM of the dimension furthest from its level; again until none remains or no
 * VM helps. A VM chosen for one dimension also counts towards the other. Sets take[0..n-1] and
 * returns how many were chosen; 0 when nothing is hot, nothing helps, or n == 0. */
size_t mig_pressure_choose(const struct mig_pressure_vm *vms, size_t n,
			   const struct mig_pressure_usage *u, unsigned hot, int level, bool *take);
/* "memory 86% >= 80%, cpu 92% >= 80%" for the dimensions in hot, into out (always terminated). */
void mig_pressure_describe(const struct mig_pressure_usage *u, unsigned hot, int threshold,
			   char *out, size_t out_size);

#endif
