/* evac_bench.c - the fast-evacuation benchmark's engine: a 40-VM evacuation of one node (mixed
 * memory sizes and dirty rates) run through the simulator's own transfer model
 * (tools/sim/sim_xfer.c: pre-copy passes, stop-and-copy, NIC sharing, KubeVirt's timeouts) and
 * the simulator's migration set-up delays (Scheduling 1-2 s, Scheduled 1 s, PreparingTarget
 * 1 s, TargetReady 0.5 s), three ways:
 *   plan   the migrator's planner (consumers/migrator/mig_plan.c): its order, targets and
 *          concurrency;
 *   fifo   first-come-first-served in KubeVirt's default order (kubectl drain evicts the
 *          virt-launcher pods in name order; every migration is created at once and KubeVirt
 *          starts them in creation order under parallelOutboundMigrationsPerNode; the target is
 *          the least-allocated node, kube-scheduler's default);
 *   bound  the transfer lower bound: total guest memory / the source's link bandwidth.
 * A migration that fails (KubeVirt's progress or completion timeout) is retried at the end of
 * the queue, as kubectl drain keeps retrying the eviction (at most 3 tries).
 * Usage: evac_bench [--cap BYTES_PER_S] [--seed N] [--vms N] [--mix typical|hot|local].
 * local: the typical dirty rates, and every fourth VM with 8-32 GiB of node-local disks that move
 * with it (a storage live migration: disk bytes sent in the first pass, counted in KubeVirt's
 * completion budget, as sim_xfer's `extra`).
 * Prints key=value lines.
 */
#include "wk_common.h"

#include <math.h>
#include <time.h>

#include "decide/mig_plan.h"
#include "../../tools/sim/sim_xfer.h"

#define MI (1024.0 * 1024.0)
#define GI (1024.0 * MI)
#define NT 4

static uint64_t rng_state;
static double rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double makespan;
	int failures;
	int gave_up;
};

/* The truth: every running transfer shares its source and target NIC equally (the
 * simulator's sim_xfer_bandwidth), set-up delays as the simulator's. */
static struct result truth(const struct mig_plan_vm *vms, size_t n,
			   const struct mig_plan_node *nodes, size_t nn, const size_t *order,
			   const long *targets, int conc, bool pipe, double cap, uint64_t seed)
{
	struct result r = {0, 0, 0};
	size_t q[4 * 64 + 64], qh = 0, qt = 0;
	int tries[64] = {0}, state[64] = {0}; /* 0 queued/idle, 1 set-up, 2 running, 3 done */
	double ready[64] = {0};
	long tg[64];
	struct sim_xfer x[64];
	int64_t free_mem[NT];
	int inbound[NT] = {0}, out = 0, running_src, running_dst[NT];
	size_t left = n;
	double t = 0, dt = 0.02;

	rng_state = seed;
	for (size_t j = 0; j < nn; j++)
		free_mem[j] = nodes[j].free_mem;
	for (size_t i = 0; i < n; i++)
		q[qt++] = order[i];
	while (left > 0 && t < 20000) {
		/* KubeVirt starts pending migrations in creation order while the node has room. */
		for (;;) {
			/* The planner's admission rule (mig_plan.h); FIFO: pipe false. */
			int blocking = 0;
			for (size_t v = 0; v < n; v++) {
				double lone =
				    cap > 0 ? fmin(vms[v].src_link, cap) : vms[v].src_link;
				if ((state[v] == 1 || state[v] == 2) && !pipe)
					blocking++;
				else if (state[v] == 1 &&
					 ready[v] - t +
						 (lone - vms[v].dirty_rate > 0.05 * lone
						      ? (double)vms[v].memory /
							    (lone - vms[v].dirty_rate)
						      : INFINITY) >
					     4.0)
					blocking++;
				else if (state[v] == 2) {
					double net = x[v].rate - sim_xfer_dirty_rate(&x[v]);
					if (x[v].rate <= 0 || net <= 0.05 * x[v].rate ||
					    sim_xfer_remaining(&x[v]) / net > 4.0)
						blocking++;
				}
			}
			if (out >= 2 || blocking >= conc || qh >= qt)
				break;
			size_t v = q[qh++];
			long best = targets ? targets[v] : -1;
			if (best >= 0 && free_mem[best] < vms[v].memory)
				best = -1;
			if (best < 0)
				for (size_t j = 0; j < nn; j++)
					if (free_mem[j] >= vms[v].memory &&
					    (best < 0 || free_mem[j] > free_mem[best]))
						best = (long)j;
			if (best < 0) { /* nowhere to go */
				r.gave_up++;
				left--;
				continue;
			}
			tg[v] = best;
			free_mem[best] -= vms[v].memory;
			inbound[best]++;
			state[v] = 1;
			ready[v] = t + 1 + rnd() + 1 + 1 + 0.5;
			struct sim_xfer_params p = {.memory = vms[v].memory,
						    .extra = vms[v].disk_bytes,
						    .dirty_rate = vms[v].dirty_rate,
						    .max_downtime_s = 0.9,
						    .completion_per_gib = 150,
						    .progress_timeout = 150};
			sim_xfer_init(&x[v], &p);
			out++;
		}
		running_src = 0;
		for (size_t j = 0; j < nn; j++)
			running_dst[j] = 0;
		for (size_t v = 0; v < n; v++) {
			if (state[v] == 1 && ready[v] <= t)
				state[v] = 2;
			if (state[v] == 2) {
				running_src++;
				running_dst[tg[v]]++;
			}
		}
		for (size_t v = 0; v < n; v++) {
			if (state[v] != 2)
				continue;
			double bw = sim_xfer_bandwidth(vms[v].src_link, running_src,
						       nodes[tg[v]].link, running_dst[tg[v]], cap);
			enum sim_xfer_state s = sim_xfer_step(&x[v], dt, bw);
			if (s == SIM_XFER_RUNNING)
				continue;
			out--;
			inbound[tg[v]]--;
			if (s == SIM_XFER_COMPLETED) {
				state[v] = 3;
				left--;
				r.makespan = t + dt;
				continue;
			}
			r.failures++;
			free_mem[tg[v]] += vms[v].memory;
			state[v] = 0;
			if (++tries[v] >= 3) {
				r.gave_up++;
				left--;
				r.makespan = t + dt;
			} else {
				q[qt++] = v;
			}
		}
		t += dt;
	}
	return r;
}

int main(int argc, char **argv)
{
	double cap = 0;
	uint64_t seed = 42;
	size_t n = 40;
	bool hot = false, local = false;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cap"))
			cap = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--mix")) {
			hot = !strcmp(argv[i + 1], "hot");
			local = !strcmp(argv[i + 1], "local");
		}
		else if (!strcmp(argv[i], "--vms"))
			n = strtoul(argv[i + 1], NULL, 10);
	}
	if (n < 1 || n > 64) {
		fprintf(stderr, "evac_bench: --vms must be 1..64\n");
		return 2;
	}
	static const double mems[] = {1, 2, 4, 8, 16, 2, 4, 8};
	/* MiB/s. typical: idle to busy databases; hot: a quarter of the VMs dirty memory at
	 * 40-60% of the link, which no longer converge when they share it. */
	static const double typical[] = {0, 4, 16, 32, 64, 128, 256, 16};
	static const double hotmix[] = {0, 16, 64, 128, 256, 512, 700, 32};
	const double *dirty = hot ? hotmix : typical;
	struct mig_plan_vm vms[64];
	char names[64][24]; /* room for any size_t: GCC checks the format against it */
	struct mig_plan_node nodes[NT];
	char nn[NT][16];
	double link = 1250e6, total = 0;

	rng_state = seed;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "vm-%02zu", i);
		size_t a = (size_t)(rnd() * 8), b = (size_t)(rnd() * 8);
		vms[i] = (struct mig_plan_vm){.ns = "default",
					      .name = names[i],
					      .source = "node-0",
					      .memory = (int64_t)(mems[a] * GI),
					      .cpu_milli = 2000,
					      .dirty_rate = dirty[b] * MI,
					      .src_link = link};
		/* local: a quarter of the VMs keep 8-32 GiB on node-local disks, moved live with
		 * their memory (KubeVirt's volume migration: the disks are mirrored first) */
		if (local && i % 4 == 3)
			vms[i].disk_bytes = (int64_t)((8 << (size_t)(rnd() * 3)) * GI);
		total += (double)vms[i].memory + (double)vms[i].disk_bytes;
	}
	for (size_t j = 0; j < NT; j++) {
		snprintf(nn[j], sizeof(nn[j]), "node-%zu", j + 1);
		nodes[j] = (struct mig_plan_node){.name = nn[j],
						  .free_mem = (int64_t)(256 * GI),
						  .free_cpu_milli = 96000,
						  .link = link};
	}
	struct mig_plan_params prm;
	mig_plan_params_default(&prm);
	prm.bw_cap = cap;
	prm.setup_s = 4.0; /* the simulator's mean: 1.5 + 1 + 1 + 0.5 */
	struct mig_plan plan;
	char err[256];
	mig_plan_init(&plan);
	double t0 = now_s();
	if (mig_plan_build(vms, n, nodes, NT, &prm, &plan, err, sizeof(err)) < 0) {
		fprintf(stderr, "evac_bench: %s\n", err);
		return 1;
	}
	double plan_ms = (now_s() - t0) * 1000;
	size_t order[64], fifo[64];
	long targets[64];
	for (size_t i = 0; i < n; i++) {
		order[i] = plan.steps[i].vm;
		targets[plan.steps[i].vm] = plan.steps[i].target;
		fifo[i] = i;
	}
	double bound = total / (cap > 0 ? fmin(link, cap * prm.per_node) : link);
	struct result rp =
	    truth(vms, n, nodes, NT, order, targets, plan.concurrency, plan.pipelined, cap, seed);
	struct result rf = truth(vms, n, nodes, NT, fifo, NULL, prm.per_node, false, cap, seed);
	/* A second bound that counts what no schedule avoids: each VM alone on the link still
	 * re-sends what it dirties during its own transfer. */
	double lone = 0;
	for (size_t i = 0; i < n; i++) {
		struct sim_xfer_params p = {.memory = vms[i].memory,
					    .extra = vms[i].disk_bytes,
					    .dirty_rate = vms[i].dirty_rate,
					    .max_downtime_s = 0.9};
		struct sim_xfer xx;
		double bw = cap > 0 ? fmin(link, cap) : link;
		sim_xfer_init(&xx, &p);
		while (sim_xfer_step(&xx, 0.05, bw) == SIM_XFER_RUNNING && xx.elapsed < 1e5)
			;
		lone += xx.elapsed * (cap > 0 ? fmin(1.0, cap * prm.per_node / link) : 1.0);
	}
	printf("mix=%s vms=%zu total_gib=%.1f link_mb_s=%.0f cap_mib_s=%.0f\n",
	       hot ? "hot" : local ? "local" : "typical", n, total / GI, link / 1e6, cap / MI);
	printf("plan_seconds=%.1f plan_failures=%d plan_concurrency=%d\n", rp.makespan, rp.failures,
	       plan.concurrency);
	printf("fifo_seconds=%.1f fifo_failures=%d fifo_gave_up=%d\n", rf.makespan, rf.failures,
	       rf.gave_up);
	printf("bound_seconds=%.1f bound_with_dirty_seconds=%.1f plan_over_dirty_bound=%.3f\n",
	       bound, lone, rp.makespan / lone);
	printf("plan_over_bound=%.3f fifo_over_bound=%.3f fifo_over_plan=%.3f\n",
	       rp.makespan / bound, rf.makespan / bound, rf.makespan / rp.makespan);
	printf("predicted_seconds=%.1f predicted_over_simulated=%.3f planner_ms=%.1f evals=%d\n",
	       plan.predicted_s, plan.predicted_s / rp.makespan, plan_ms, plan.evals);
	mig_plan_release(&plan);
	return 0;
}
