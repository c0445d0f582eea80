/* mig_plan.c - fast-evacuation planner (see mig_plan.h; algorithm in docs/migrator.md). */
#include "decide/mig_plan.h"

#include <cjson/cJSON.h>
#include <math.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
/* A plan whose prediction has a failed migration is worse than any plan without one. */
#define FAIL_PENALTY 1e6
/* Nothing real takes this long; a prediction past it stops (the VMs left are "Timeout"). */
#define HORIZON_S 86400.0

void mig_plan_params_default(struct mig_plan_params *p)
{
	memset(p, 0, sizeof(*p));
	p->per_cluster = 5;
	p->per_node = 2;
	p->bw_cap = 0;
	p->max_downtime_s = 0.9;
	p->setup_s = 4.0;
	p->completion_per_gib = 150;
	p->progress_timeout = 150;
	p->max_evals = 600;
	p->step_s = 0.05;
}

void mig_plan_init(struct mig_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void mig_plan_release(struct mig_plan *p)
{
	if (!p)
		return;
	free(p->steps);
	memset(p, 0, sizeof(*p));
}

/* ---- the transfer model: QEMU pre-copy passes, stop-and-copy, auto-converge, KubeVirt's
 * completion and progress timeouts (the same rules as the simulator's, docs/simulator.md) ---- */

struct xf {
	double mem, round_left, dirtied, elapsed, bytes, throttle;
	double watermark, watermark_time, budget;
	double bw;	/* bandwidth in the last step */
	int high, mode; /* 0 pre-copy, 1 post-copy, 2 paused */
	int state;	/* 0 running, 1 completed, 2 failed */
};

static void xf_init(struct xf *x, double mem, double disk, const struct mig_plan_params *p)
{
	memset(x, 0, sizeof(*x));
	x->mem = mem;
	/* disks first (the storage migration's mirror), then memory: one first pass */
	x->round_left = mem + disk;
	x->watermark = mem + disk;
	x->budget =
	    p->completion_per_gib > 0 ? (double)p->completion_per_gib * (mem + disk) / GIB : 0;
}

static double xf_dirty(const struct xf *x, double d)
{
	return x->mode == 0 ? d * (1.0 - x->throttle) : 0;
}

static void xf_advance(struct xf *x, double t, double bw, double d, const struct mig_plan_params *p)
{
	while (t > 1e-12 && x->state == 0) {
		if (bw <= 0) {
			x->dirtied = fmin(x->mem, x->dirtied + xf_dirty(x, d) * t);
			x->elapsed += t;
			return;
		}
		double need = x->round_left / bw;
		if (need > t) {
			x->round_left -= bw * t;
			x->bytes += bw * t;
			x->dirtied = fmin(x->mem, x->dirtied + xf_dirty(x, d) * t);
			x->elapsed += t;
			return;
		}
		double sent = x->round_left;
		x->bytes += sent;
		x->round_left = 0;
		x->elapsed += need;
		t -= need;
		if (x->mode == 1) {
			x->state = 1;
			return;
		}
		x->dirtied = fmin(x->mem, x->dirtied + xf_dirty(x, d) * need);
		double pending = x->dirtied;
		if (pending <= bw * p->max_downtime_s) {
			x->bytes += pending;
			x->elapsed += pending / bw;
			x->state = 1;
			return;
		}
		if (p->allow_auto_converge && pending > 0.5 * (sent > 0 ? sent : 1) &&
		    ++x->high >= 2) {
			x->high = 0;
			x->throttle = x->throttle == 0 ? 0.20 : fmin(0.99, x->throttle + 0.10);
		}
		x->round_left = pending;
		x->dirtied = 0;
	}
}

static void xf_check(struct xf *x, const struct mig_plan_params *p)
{
	double rem = fmin(x->round_left + x->dirtied, x->mem);

	if (rem < x->watermark) {
		x->watermark = rem;
		x->watermark_time = x->elapsed;
	}
	if (x->mode == 1)
		return;
	if (p->progress_timeout > 0 &&
	    x->elapsed - x->watermark_time > (double)p->progress_timeout) {
		x->state = 2;
		return;
	}
	if (x->budget > 0 && x->elapsed > x->budget && x->mode == 0) {
		if (p->allow_post_copy) {
			x->mode = 1;
			x->round_left = fmin(x->mem, x->round_left + x->dirtied);
			x->dirtied = 0;
		} else {
			x->state = 2;
		}
	}
}

/* ---- one prediction ---- */

struct ctx {
	const struct mig_plan_vm *vms;
	size_t nvms;
	const struct mig_plan_node *nodes;
	size_t nnodes;
	const struct mig_plan_params *prm;
	size_t *src; /* per VM: index of its source among the distinct sources */
	size_t nsrc;
	long *tgt_as_src; /* per target node: index of the same node among the sources, or -1 */
	/* scratch for one run */
	int *state; /* 0 pending, 1 set-up, 2 transfer, 3 done, 4 failed, 5 unplaceable */
	double *ready, *start, *end;
	long *target;
	struct xf *x;
	int64_t *free_mem, *free_cpu;
	int *inbound, *outbound, *nic_src, *nic_dst, *blk;
	size_t *admitted; /* admission order */
	bool pipelined;	  /* see blocking() */
	char (*reason)[48];
};

static bool eligible(const struct ctx *c, size_t v, size_t j)
{
	const struct mig_plan_vm *vm = &c->vms[v];

	if (vm->eligible && !vm->eligible[j])
		return false;
	if (vm->source && c->nodes[j].name && !strcmp(vm->source, c->nodes[j].name))
		return false;
	return true;
}

static bool fits(const struct ctx *c, size_t v, size_t j)
{
	return c->free_mem[j] >= c->vms[v].memory && c->free_cpu[j] >= c->vms[v].cpu_milli;
}

/* The target that finishes the VM earliest: the fewest migrations already heading there (its
 * NIC share), then the most free memory (what kube-scheduler's LeastAllocated would pick),
 * then the first. */
static long choose_target(struct ctx *c, size_t v, long fixed)
{
	long best = -1;
	bool any = false;

	if (fixed >= 0 && (size_t)fixed < c->nnodes && eligible(c, v, (size_t)fixed) &&
	    fits(c, v, (size_t)fixed))
		return fixed;
	for (size_t j = 0; j < c->nnodes; j++) {
		if (!eligible(c, v, j))
			continue;
		any = true;
		if (!fits(c, v, j))
			continue;
		if (best < 0 || c->inbound[j] < c->inbound[best] ||
		    (c->inbound[j] == c->inbound[best] && c->free_mem[j] > c->free_mem[best]))
			best = (long)j;
	}
	if (best < 0)
		wk_strlcpy(c->reason[v], any ? "NoTargetWithCapacity" : "NoEligibleTarget",
			   sizeof(c->reason[v]));
	return best;
}

/* Bytes of RAM the VM's migration sends. */
static double vm_ram(const struct mig_plan_vm *m)
{
	return (double)(m->guest_memory > 0 ? m->guest_memory : m->memory);
}

/* The VM's transfer settings. */
static const struct mig_plan_params *vp(const struct ctx *c, size_t v)
{
	return c->vms[v].cfg ? c->vms[v].cfg : c->prm;
}

static double vm_bw(const struct ctx *c, size_t v)
{
	size_t s = c->src[v];
	long t = c->target[v];
	double a = c->vms[v].src_link / (c->nic_src[s] > 0 ? c->nic_src[s] : 1);
	double bw = a;

	if (t >= 0) {
		int users = c->nic_dst[t];
		/* A node both sending and receiving shares one NIC. */
		if (c->tgt_as_src[t] >= 0)
			users += c->nic_src[c->tgt_as_src[t]];
		double b = c->nodes[t].link / (users > 0 ? users : 1);
		bw = fmin(a, b);
	}
	if (vp(c, v)->bw_cap > 0 && vp(c, v)->bw_cap < bw)
		bw = vp(c, v)->bw_cap;
	return bw > 0 ? bw : 0;
}

/* Returns the objective (predicted end + penalties) and fills the run's scratch arrays. */
/* Per source: migrations that hold back the next one. Not pipelined: every migration. Pipelined:
 * those predicted to need longer than a set-up to finish (the next VM's target pod is prepared
 * while the current transfer ends, so the link neither idles nor splits for long). */
static void blocking(struct ctx *c, size_t na, double t)
{
	for (size_t s = 0; s < c->nsrc; s++)
		c->blk[s] = 0;
	for (size_t k = 0; k < na; k++) {
		size_t v = c->admitted[k];
		if (c->state[v] != 1 && c->state[v] != 2)
			continue;
		if (!c->pipelined) {
			c->blk[c->src[v]]++;
			continue;
		}
		const struct xf *x = &c->x[v];
		double left;
		if (c->state[v] == 1) {
			/* Still setting up: the rest of the set-up, then memory at a lone rate. */
			double bw = c->vms[v].src_link;
			if (vp(c, v)->bw_cap > 0)
				bw = fmin(bw, vp(c, v)->bw_cap);
			double net = bw - c->vms[v].dirty_rate;
			left = c->ready[v] - t +
			       (net > 0.05 * bw ? (x->round_left + x->dirtied) / net : INFINITY);
		} else {
			double rem = fmin(x->round_left + x->dirtied, x->mem);
			/* What remains plus what the guest dirties meanwhile (the pre-copy series).
			 */
			double net = x->bw - xf_dirty(x, c->vms[v].dirty_rate);
			left = net > 0.05 * x->bw && x->bw > 0 ? rem / net : INFINITY;
		}
		if (left > c->prm->setup_s)
			c->blk[c->src[v]]++;
	}
}

static double run(struct ctx *c, const size_t *order, int conc, const long *fixed, size_t *nadm)
{
	const struct mig_plan_params *p = c->prm;
	size_t n = c->nvms, done = 0, na = 0, fails = 0;
	int active = 0;
	double t = 0, last = 0;
	int per_node = conc < p->per_node ? conc : p->per_node;

	for (size_t v = 0; v < n; v++) {
		c->state[v] = 0;
		c->target[v] = -1;
		c->start[v] = c->end[v] = c->ready[v] = 0;
		c->reason[v][0] = '\0';
	}
	for (size_t j = 0; j < c->nnodes; j++) {
		c->free_mem[j] = c->nodes[j].free_mem;
		c->free_cpu[j] = c->nodes[j].free_cpu_milli;
		c->inbound[j] = 0;
		c->nic_dst[j] = 0;
	}
	for (size_t s = 0; s < c->nsrc; s++)
		c->outbound[s] = c->nic_src[s] = 0;

	while (done < n) {
		/* Admission in order; a full source does not hold back others. */
		blocking(c, na, t);
		for (size_t k = 0; k < n && active < p->per_cluster; k++) {
			size_t v = order[k];
			if (c->state[v] != 0 || c->outbound[c->src[v]] >= p->per_node ||
			    c->blk[c->src[v]] >= per_node)
				continue;
			long tg = choose_target(c, v, fixed ? fixed[v] : -1);
			if (tg < 0) {
				c->state[v] = 5;
				c->end[v] = t;
				done++;
				continue;
			}
			c->state[v] = 1;
			c->target[v] = tg;
			c->start[v] = t;
			c->ready[v] = t + p->setup_s;
			c->free_mem[tg] -= c->vms[v].memory;
			c->free_cpu[tg] -= c->vms[v].cpu_milli;
			c->inbound[tg]++;
			c->outbound[c->src[v]]++;
			c->blk[c->src[v]]++;
			c->admitted[na++] = v;
			xf_init(&c->x[v], vm_ram(&c->vms[v]), (double)c->vms[v].disk_bytes,
				vp(c, v));
			active++;
		}
		if (active == 0)
			break;
		if (t > HORIZON_S) {
			for (size_t v = 0; v < n; v++)
				if (c->state[v] == 1 || c->state[v] == 2 || c->state[v] == 0) {
					c->state[v] = 4;
					c->end[v] = t;
					wk_strlcpy(c->reason[v], "Timeout", sizeof(c->reason[v]));
					fails++;
				}
			break;
		}
		double dt = p->step_s;
		/* NIC users: transfers running during this step. */
		for (size_t s = 0; s < c->nsrc; s++)
			c->nic_src[s] = 0;
		for (size_t j = 0; j < c->nnodes; j++)
			c->nic_dst[j] = 0;
		for (size_t k = 0; k < na; k++) {
			size_t v = c->admitted[k];
			if (c->state[v] == 1 && c->ready[v] <= t + 1e-9)
				c->state[v] = 2;
			if (c->state[v] == 2) {
				c->nic_src[c->src[v]]++;
				c->nic_dst[c->target[v]]++;
			}
		}
		for (size_t k = 0; k < na; k++) {
			size_t v = c->admitted[k];
			if (c->state[v] != 2)
				continue;
			double bw = vm_bw(c, v);
			c->x[v].bw = bw;
			xf_advance(&c->x[v], dt, bw, c->vms[v].dirty_rate, vp(c, v));
			if (c->x[v].state == 0)
				xf_check(&c->x[v], vp(c, v));
			if (c->x[v].state == 0)
				continue;
			long tg = c->target[v];
			/* The slot frees at this step, as in KubeVirt's and the simulator's loop
			 * (a stop-and-copy counted past the step still ends within it). */
			c->end[v] = fmin(c->ready[v] + c->x[v].elapsed, t + dt);
			c->inbound[tg]--;
			c->outbound[c->src[v]]--;
			active--;
			done++;
			if (c->x[v].state == 1) {
				c->state[v] = 3;
			} else {
				c->state[v] = 4;
				fails++;
				wk_strlcpy(c->reason[v], "PredictedTimeout", sizeof(c->reason[v]));
				c->free_mem[tg] += c->vms[v].memory;
				c->free_cpu[tg] += c->vms[v].cpu_milli;
			}
			if (c->end[v] > last)
				last = c->end[v];
		}
		t += dt;
	}
	for (size_t v = 0; v < n; v++)
		if (c->state[v] == 0) { /* never admitted: only when the loop broke early */
			c->state[v] = 5;
			wk_strlcpy(c->reason[v], "NoTargetWithCapacity", sizeof(c->reason[v]));
		}
	*nadm = na;
	return last + FAIL_PENALTY * (double)fails;
}

static void fill(struct ctx *c, size_t na, int conc, struct mig_plan *out)
{
	size_t n = c->nvms, k = 0;

	free(out->steps);
	out->steps = wk_xcalloc(n ? n : 1, sizeof(*out->steps));
	out->n = n;
	out->concurrency = conc;
	out->predicted_s = 0;
	for (size_t i = 0; i < na; i++, k++) {
		size_t v = c->admitted[i];
		struct mig_plan_step *s = &out->steps[k];
		s->vm = v;
		s->target = c->target[v];
		s->start = c->start[v];
		s->end = c->end[v];
		s->bytes = c->x[v].bytes;
		s->converges = c->state[v] == 3;
		wk_strlcpy(s->reason, c->reason[v], sizeof(s->reason));
		if (s->end > out->predicted_s)
			out->predicted_s = s->end;
	}
	for (size_t v = 0; v < n; v++) {
		if (c->state[v] != 5)
			continue;
		struct mig_plan_step *s = &out->steps[k++];
		s->vm = v;
		s->target = -1;
		s->converges = false;
		wk_strlcpy(s->reason, c->reason[v], sizeof(s->reason));
	}
	/* Lower bound: each source's memory over its link (the VMs cannot leave faster). */
	out->lower_bound_s = 0;
	for (size_t s = 0; s < c->nsrc; s++) {
		double bytes = 0, link = 0;
		for (size_t v = 0; v < n; v++)
			if (c->src[v] == s) {
				bytes += vm_ram(&c->vms[v]) + (double)c->vms[v].disk_bytes;
				link = c->vms[v].src_link;
				if (vp(c, v)->bw_cap > 0 && c->prm->per_node > 0)
					link = fmin(link, vp(c, v)->bw_cap * c->prm->per_node);
			}
		if (link > 0 && bytes / link > out->lower_bound_s)
			out->lower_bound_s = bytes / link;
	}
}

static int validate(const struct mig_plan_vm *vms, size_t nvms, const struct mig_plan_node *nodes,
		    size_t nnodes, const struct mig_plan_params *p, char *errstr,
		    size_t errstr_size)
{
	if (nvms > MIG_PLAN_MAX_VMS)
		return wk_err(errstr, errstr_size, "too many VMs to plan (%zu, at most %d)", nvms,
			      MIG_PLAN_MAX_VMS);
	if (nnodes > MIG_PLAN_MAX_NODES)
		return wk_err(errstr, errstr_size, "too many target nodes (%zu, at most %d)",
			      nnodes, MIG_PLAN_MAX_NODES);
	if (nvms && !vms)
		return wk_err(errstr, errstr_size, "no VM array");
	if (nnodes && !nodes)
		return wk_err(errstr, errstr_size, "no node array");
	if (p->per_cluster < 1 || p->per_node < 1)
		return wk_err(errstr, errstr_size, "migration limits must be at least 1");
	if (!(p->step_s > 0 && p->step_s <= 0.5) || !(p->setup_s >= 0 && p->setup_s < 3600) ||
	    !(p->max_downtime_s > 0) || !(p->bw_cap >= 0))
		return wk_err(errstr, errstr_size, "bad planner parameters");
	for (size_t i = 0; i < nvms; i++) {
		const struct mig_plan_vm *v = &vms[i];
		const char *nm = v->name ? v->name : "";
		if (v->memory <= 0 || v->memory > (int64_t)1 << 50)
			return wk_err(errstr, errstr_size, "vm \"%s\": bad memory", nm);
		if (v->cpu_milli < 0)
			return wk_err(errstr, errstr_size, "vm \"%s\": bad cpu", nm);
		if (!(v->dirty_rate >= 0 && v->dirty_rate < 1e15))
			return wk_err(errstr, errstr_size, "vm \"%s\": bad dirty rate", nm);
		if (!(v->src_link > 0 && v->src_link < 1e15))
			return wk_err(errstr, errstr_size, "vm \"%s\": bad source link", nm);
		if (v->guest_memory < 0 || v->guest_memory > (int64_t)1 << 50)
			return wk_err(errstr, errstr_size, "vm \"%s\": bad guest memory", nm);
		if (v->disk_bytes < 0 || v->disk_bytes > (int64_t)1 << 56)
			return wk_err(errstr, errstr_size, "vm \"%s\": bad disk bytes", nm);
		if (v->cfg && (!(v->cfg->bw_cap >= 0 && v->cfg->bw_cap < 1e15) ||
			       v->cfg->completion_per_gib < 0 || v->cfg->progress_timeout < 0))
			return wk_err(errstr, errstr_size, "vm \"%s\": bad transfer settings", nm);
	}
	for (size_t j = 0; j < nnodes; j++)
		if (!(nodes[j].link > 0 && nodes[j].link < 1e15))
			return wk_err(errstr, errstr_size, "node \"%s\": bad link",
				      nodes[j].name ? nodes[j].name : "");
	return 0;
}

static void ctx_init(struct ctx *c, const struct mig_plan_vm *vms, size_t nvms,
		     const struct mig_plan_node *nodes, size_t nnodes,
		     const struct mig_plan_params *prm)
{
	size_t n1 = nvms ? nvms : 1, m1 = nnodes ? nnodes : 1;

	memset(c, 0, sizeof(*c));
	c->vms = vms;
	c->nvms = nvms;
	c->nodes = nodes;
	c->nnodes = nnodes;
	c->prm = prm;
	c->src = wk_xcalloc(n1, sizeof(*c->src));
	for (size_t v = 0; v < nvms; v++) {
		const char *s = vms[v].source ? vms[v].source : "";
		size_t u;
		for (u = 0; u < v; u++)
			if (!strcmp(vms[u].source ? vms[u].source : "", s))
				break;
		c->src[v] = u < v ? c->src[u] : c->nsrc++;
	}
	c->tgt_as_src = wk_xcalloc(m1, sizeof(*c->tgt_as_src));
	for (size_t j = 0; j < nnodes; j++) {
		c->tgt_as_src[j] = -1;
		for (size_t v = 0; v < nvms && nodes[j].name; v++)
			if (vms[v].source && !strcmp(vms[v].source, nodes[j].name)) {
				c->tgt_as_src[j] = (long)c->src[v];
				break;
			}
	}
	size_t s1 = c->nsrc ? c->nsrc : 1;
	c->state = wk_xcalloc(n1, sizeof(*c->state));
	c->ready = wk_xcalloc(n1, sizeof(double));
	c->start = wk_xcalloc(n1, sizeof(double));
	c->end = wk_xcalloc(n1, sizeof(double));
	c->target = wk_xcalloc(n1, sizeof(long));
	c->x = wk_xcalloc(n1, sizeof(*c->x));
	c->admitted = wk_xcalloc(n1, sizeof(size_t));
	c->reason = wk_xcalloc(n1, sizeof(*c->reason));
	c->free_mem = wk_xcalloc(m1, sizeof(int64_t));
	c->free_cpu = wk_xcalloc(m1, sizeof(int64_t));
	c->inbound = wk_xcalloc(m1, sizeof(int));
	c->nic_dst = wk_xcalloc(m1, sizeof(int));
	c->outbound = wk_xcalloc(s1, sizeof(int));
	c->nic_src = wk_xcalloc(s1, sizeof(int));
	c->blk = wk_xcalloc(s1, sizeof(int));
}

static void ctx_release(struct ctx *c)
{
	free(c->src);
	free(c->tgt_as_src);
	free(c->state);
	free(c->ready);
	free(c->start);
	free(c->end);
	free(c->target);
	free(c->x);
	free(c->admitted);
	free(c->reason);
	free(c->free_mem);
	free(c->free_cpu);
	free(c->inbound);
	free(c->nic_dst);
	free(c->outbound);
	free(c->nic_src);
	free(c->blk);
}

int mig_plan_simulate(const struct mig_plan_vm *vms, size_t nvms, const struct mig_plan_node *nodes,
		      size_t nnodes, const struct mig_plan_params *prm, const size_t *order,
		      int concurrency, bool pipelined, const long *fixed_targets,
		      struct mig_plan *out, char *errstr, size_t errstr_size)
{
	struct ctx c;
	size_t na;

	if (validate(vms, nvms, nodes, nnodes, prm, errstr, errstr_size) < 0)
		return -1;
	if (concurrency < 1)
		return wk_err(errstr, errstr_size, "concurrency must be at least 1");
	for (size_t i = 0; i < nvms; i++)
		if (order[i] >= nvms)
			return wk_err(errstr, errstr_size, "order names VM %zu of %zu", order[i],
				      nvms);
	ctx_init(&c, vms, nvms, nodes, nnodes, prm);
	c.pipelined = pipelined;
	run(&c, order, concurrency, fixed_targets, &na);
	fill(&c, na, concurrency, out);
	out->pipelined = pipelined;
	out->fifo_s = 0;
	out->evals = 0;
	ctx_release(&c);
	return 0;
}

/* ---- the search ---- */

/* Sort keys for the seed orders. */
static const struct ctx *g_sort_ctx;
static double key_cost(size_t v)
{
	const struct mig_plan_vm *m = &g_sort_ctx->vms[v];
	double b = m->src_link;
	if (vp(g_sort_ctx, v)->bw_cap > 0)
		b = fmin(b, vp(g_sort_ctx, v)->bw_cap);
	double f = 1.0 - m->dirty_rate / b;
	/* Bytes a lone transfer sends: memory / (1 - dirty/bandwidth) (the pre-copy series). */
	return (vm_ram(m) + (double)m->disk_bytes) / (f > 0.05 ? f : 0.05);
}
static int cmp_cost_desc(const void *a, const void *b)
{
	double x = key_cost(*(const size_t *)a), y = key_cost(*(const size_t *)b);
	return x < y   ? 1
	       : x > y ? -1
		       : (*(const size_t *)a > *(const size_t *)b) -
			     (*(const size_t *)a < *(const size_t *)b);
}
static int cmp_dirty_desc(const void *a, const void *b)
{
	double x = g_sort_ctx->vms[*(const size_t *)a].dirty_rate;
	double y = g_sort_ctx->vms[*(const size_t *)b].dirty_rate;
	if (x != y)
		return x < y ? 1 : -1;
	return cmp_cost_desc(a, b);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

int mig_plan_build(const struct mig_plan_vm *vms, size_t nvms, const struct mig_plan_node *nodes,
		   size_t nnodes, const struct mig_plan_params *prm, struct mig_plan *out,
		   char *errstr, size_t errstr_size)
{
	struct ctx c;
	size_t n = nvms, n1 = nvms ? nvms : 1, na;
	int evals = 0;

	if (validate(vms, nvms, nodes, nnodes, prm, errstr, errstr_size) < 0)
		return -1;
	ctx_init(&c, vms, nvms, nodes, nnodes, prm);

	enum { SEEDS = 5 };
	size_t *seeds = wk_xcalloc(SEEDS * n1, sizeof(size_t));
	size_t *best = wk_xcalloc(n1, sizeof(size_t)), *cand = wk_xcalloc(n1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		for (int s = 0; s < SEEDS; s++)
			seeds[s * n1 + i] = i;
	/* 0: as given (FIFO). 1: largest lone-transfer bytes first (LPT). 2: hottest first.
	 * 3: LPT reversed. 4: big and small alternating (a big one's transfer overlaps the
	 * small one's set-up rather than another big one's transfer). */
	g_sort_ctx = &c;
	qsort(seeds + 1 * n1, n, sizeof(size_t), cmp_cost_desc);
	qsort(seeds + 2 * n1, n, sizeof(size_t), cmp_dirty_desc);
	for (size_t i = 0; i < n; i++)
		seeds[3 * n1 + i] = seeds[1 * n1 + n - 1 - i];
	for (size_t i = 0, lo = 0, hi = n; i < n; i++)
		seeds[4 * n1 + i] = (i % 2 == 0) ? seeds[1 * n1 + lo++] : seeds[1 * n1 + --hi];
	g_sort_ctx = NULL;

	c.pipelined = false;
	double fifo = run(&c, seeds, prm->per_node, NULL, &na), best_obj = INFINITY;
	int best_conc = prm->per_node;
	bool best_pipe = false;
	evals++;
	for (int pipe = 0; pipe < 2; pipe++)
		for (int conc = 1; conc <= prm->per_node; conc++)
			for (int s = 0; s < SEEDS; s++) {
				c.pipelined = pipe;
				double o = run(&c, seeds + (size_t)s * n1, conc, NULL, &na);
				evals++;
				if (o < best_obj - 1e-9) {
					best_obj = o;
					best_conc = conc;
					best_pipe = pipe;
					memcpy(best, seeds + (size_t)s * n1, n * sizeof(size_t));
				}
			}
	c.pipelined = best_pipe;
	/* Local search: move one VM elsewhere in the order; keep strict improvements. */
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
	while (n > 1 && evals < prm->max_evals) {
		memcpy(cand, best, n * sizeof(size_t));
		size_t i = (size_t)(lcg(&rng) % n), j = (size_t)(lcg(&rng) % n);
		if (i == j)
			continue;
		size_t v = cand[i];
		if (i < j)
			memmove(cand + i, cand + i + 1, (j - i) * sizeof(size_t));
		else
			memmove(cand + j + 1, cand + j, (i - j) * sizeof(size_t));
		cand[j] = v;
		double o = run(&c, cand, best_conc, NULL, &na);
		evals++;
		if (o < best_obj - 1e-6) {
			best_obj = o;
			memcpy(best, cand, n * sizeof(size_t));
		}
	}
	run(&c, best, best_conc, NULL, &na);
	fill(&c, na, best_conc, out);
	out->pipelined = best_pipe;
	out->fifo_s = fifo >= FAIL_PENALTY ? fmod(fifo, FAIL_PENALTY) : fifo;
	out->evals = evals;
	free(seeds);
	free(best);
	free(cand);
	ctx_release(&c);
	return 0;
}

cJSON *mig_plan_to_json(const struct mig_plan *p, const struct mig_plan_vm *vms,
			const struct mig_plan_node *nodes)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	cJSON_AddNumberToObject(o, "predictedSeconds", round(p->predicted_s * 10) / 10);
	cJSON_AddNumberToObject(o, "lowerBoundSeconds", round(p->lower_bound_s * 10) / 10);
	cJSON_AddNumberToObject(o, "fifoSeconds", round(p->fifo_s * 10) / 10);
	cJSON_AddNumberToObject(o, "concurrency", p->concurrency);
	cJSON_AddBoolToObject(o, "pipelined", p->pipelined);
	for (size_t i = 0; i < p->n; i++) {
		const struct mig_plan_step *s = &p->steps[i];
		const struct mig_plan_vm *v = &vms[s->vm];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "order", (double)(i + 1));
		cJSON_AddStringToObject(e, "namespace", v->ns ? v->ns : "");
		cJSON_AddStringToObject(e, "name", v->name ? v->name : "");
		cJSON_AddStringToObject(e, "source", v->source ? v->source : "");
		if (s->target >= 0)
			cJSON_AddStringToObject(e, "target",
						nodes[s->target].name ? nodes[s->target].name : "");
		else
			cJSON_AddNullToObject(e, "target");
		cJSON_AddNumberToObject(e, "startSeconds", round(s->start * 10) / 10);
		cJSON_AddNumberToObject(e, "endSeconds", round(s->end * 10) / 10);
		cJSON_AddNumberToObject(e, "memoryBytes", (double)v->memory);
		cJSON_AddBoolToObject(e, "converges", s->converges);
		if (s->reason[0])
			cJSON_AddStringToObject(e, "reason", s->reason);
		else
			cJSON_AddNullToObject(e, "reason");
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddItemToObject(o, "steps", a);
	return o;
}
