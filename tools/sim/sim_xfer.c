/* sim_xfer.c - pre-copy / post-copy memory transfer model (see sim_xfer.h for the rules). */
#include "sim_xfer.h"

#include <math.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
/* Timeouts are checked at most this far apart, like virt-handler's monitor loop polls. */
#define CHECK_INTERVAL 0.5

void sim_xfer_init(struct sim_xfer *x, const struct sim_xfer_params *p)
{
	memset(x, 0, sizeof(*x));
	x->p = *p;
	if (x->p.memory < 0)
		x->p.memory = 0;
	if (x->p.extra < 0)
		x->p.extra = 0;
	if (x->p.dirty_rate < 0)
		x->p.dirty_rate = 0;
	x->mode = SIM_XFER_PRECOPY;
	x->state = SIM_XFER_RUNNING;
	x->iteration = 1;
	x->round_left = (double)x->p.memory + (double)x->p.extra;
	x->watermark = x->round_left;
}

double sim_xfer_budget(const struct sim_xfer *x)
{
	if (x->p.completion_per_gib <= 0)
		return 0;
	return (double)x->p.completion_per_gib * ((double)x->p.memory + (double)x->p.extra) / GIB;
}

double sim_xfer_remaining(const struct sim_xfer *x)
{
	if (x->state == SIM_XFER_COMPLETED)
		return 0;
	double r = x->round_left + x->dirtied;
	double all = (double)x->p.memory + (double)x->p.extra;
	return r < all ? r : all;
}

double sim_xfer_dirty_rate(const struct sim_xfer *x)
{
	if (x->state != SIM_XFER_RUNNING || x->mode != SIM_XFER_PRECOPY)
		return 0;
	return x->p.dirty_rate * (1.0 - x->throttle);
}

const char *sim_xfer_mode_name(enum sim_xfer_mode mode)
{
	switch (mode) {
	case SIM_XFER_POSTCOPY:
		return "PostCopy";
	case SIM_XFER_PAUSED:
		return "Paused";
	case SIM_XFER_PRECOPY:
		break;
	}
	return "PreCopy";
}

bool sim_xfer_abort(struct sim_xfer *x)
{
	if (x->state != SIM_XFER_RUNNING)
		return false;
	/* Post-copy cannot be aborted: the guest already runs on the target. */
	if (x->mode == SIM_XFER_POSTCOPY)
		return false;
	x->state = SIM_XFER_FAILED;
	snprintf(x->failure, sizeof(x->failure), "Live migration has been aborted");
	return true;
}

static void switch_postcopy(struct sim_xfer *x)
{
	x->mode = SIM_XFER_POSTCOPY;
	/* Pages dirtied but not yet resent are now fetched from the source on demand. */
	x->round_left += x->dirtied;
	x->dirtied = 0;
	/* Unsent and re-dirtied pages overlap: never more than the guest's memory. */
	if (x->round_left > (double)x->p.memory + (double)x->p.extra)
		x->round_left = (double)x->p.memory + (double)x->p.extra;
}

static void add_dirty(struct sim_xfer *x, double secs)
{
	x->dirtied += sim_xfer_dirty_rate(x) * secs;
	/* A guest cannot have more dirty pages than it has memory. */
	if (x->dirtied > (double)x->p.memory)
		x->dirtied = (double)x->p.memory;
}

/* One pre-copy pass ended at bandwidth bw: converge, or start the next pass. */
static void end_of_pass(struct sim_xfer *x, double bw, double sent_in_pass)
{
	double pending = x->dirtied;

	if (pending <= bw * x->p.max_downtime_s) {
		/* Stop-and-copy: the guest pauses while the last dirty pages go over. */
		x->downtime = pending / bw;
		x->processed += pending;
		x->elapsed += x->downtime;
		x->dirtied = 0;
		x->round_left = 0;
		x->state = SIM_XFER_COMPLETED;
		return;
	}
	x->iteration++;
	if (x->p.allow_auto_converge && pending > 0.5 * sent_in_pass) {
		/* QEMU throttles after two passes that dirtied more than half of what they sent. */
		if (++x->high_passes >= 2) {
			x->high_passes = 0;
			x->throttle = x->throttle == 0 ? 0.20 : x->throttle + 0.10;
			if (x->throttle > 0.99)
				x->throttle = 0.99;
		}
	}
	x->round_left = pending;
	x->dirtied = 0;
	if (x->p.allow_post_copy && x->p.postcopy_after_first_round && x->iteration == 2)
		switch_postcopy(x);
}

/* Move data for up to t seconds at bandwidth bw; passes may end inside. */
static void advance(struct sim_xfer *x, double t, double bw)
{
	while (t > 1e-12 && x->state == SIM_XFER_RUNNING) {
		if (bw <= 0) {
			add_dirty(x, t);
			x->elapsed += t;
			return;
		}
		double need = x->round_left / bw;
		if (x->mode == SIM_XFER_POSTCOPY) {
			if (need > t) {
				x->round_left -= bw * t;
				x->processed += bw * t;
				x->elapsed += t;
				return;
			}
			x->processed += x->round_left;
			x->round_left = 0;
			x->elapsed += need;
			x->state = SIM_XFER_COMPLETED;
			return;
		}
		if (need > t) {
			x->round_left -= bw * t;
			x->processed += bw * t;
			add_dirty(x, t);
			x->elapsed += t;
			return;
		}
		double sent = x->round_left;
		x->processed += sent;
		x->round_left = 0;
		add_dirty(x, need);
		x->elapsed += need;
		t -= need;
		/* The pass size is what was sent since the previous pass ended. */
		end_of_pass(x, bw, sent > 0 ? sent : 1);
	}
}

static void check_timeouts(struct sim_xfer *x)
{
	double remaining = sim_xfer_remaining(x);

	if (remaining < x->watermark) {
		x->watermark = remaining;
		x->watermark_time = x->elapsed;
	}
	if (x->mode == SIM_XFER_POSTCOPY)
		return;
	if (x->p.progress_timeout > 0 &&
	    x->elapsed - x->watermark_time > (double)x->p.progress_timeout) {
		x->state = SIM_XFER_FAILED;
		snprintf(x->failure, sizeof(x->failure),
			 "Live migration stuck for %ld seconds and has been aborted",
			 (long)x->p.progress_timeout);
		return;
	}
	double budget = sim_xfer_budget(x);
	if (budget > 0 && x->elapsed > budget && x->mode == SIM_XFER_PRECOPY) {
		if (x->p.allow_post_copy)
			switch_postcopy(x);
		else if (x->p.allow_workload_disruption)
			x->mode = SIM_XFER_PAUSED;
		else {
			x->state = SIM_XFER_FAILED;
			snprintf(x->failure, sizeof(x->failure),
				 "Live migration is not completed after %ld seconds and has been "
				 "aborted",
				 (long)ceil(budget));
		}
	}
}

enum sim_xfer_state sim_xfer_step(struct sim_xfer *x, double dt, double bandwidth)
{
	if (x->state != SIM_XFER_RUNNING)
		return x->state;
	x->rate = bandwidth;
	while (dt > 1e-12 && x->state == SIM_XFER_RUNNING) {
		double h = dt < CHECK_INTERVAL ? dt : CHECK_INTERVAL;
		advance(x, h, bandwidth);
		dt -= h;
		if (x->state == SIM_XFER_RUNNING)
			check_timeouts(x);
	}
	return x->state;
}

double sim_xfer_bandwidth(double src_link, int src_count, double dst_link, int dst_count,
			  double cap)
{
	double a = src_link / (src_count > 0 ? src_count : 1);
	double b = dst_link / (dst_count > 0 ? dst_count : 1);
	double bw = a < b ? a : b;

	if (cap > 0 && cap < bw)
		bw = cap;
	return bw > 0 ? bw : 0;
}
