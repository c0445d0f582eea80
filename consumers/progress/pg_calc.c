/* pg_calc.c - percent, ETA and convergence of one migration. */
#include "pg_calc.h"

#include <math.h>

void pg_xfer_init(struct pg_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->rate = -1;
	x->dirty = -1;
	x->percent = -1;
	x->raw_percent = -1;
	x->eta_s = -1;
	x->converging = true;
}

int pg_percent_raw(double processed, double remaining)
{
	double p;

	if (!isfinite(processed) || !isfinite(remaining) || processed < 0 || remaining < 0 ||
	    processed + remaining <= 0)
		return -1;
	p = floor(100.0 * processed / (processed + remaining));
	return p < 0 ? 0 : p > 100 ? 100 : (int)p;
}

static bool known(double v)
{
	return isfinite(v) && v >= 0;
}

bool pg_xfer_sample(struct pg_xfer *x, double processed, double remaining, double total,
		    double rate, double dirty, int64_t sample_ms, bool postcopy)
{
	double net = NAN;
	int raw;

	if (!known(processed) || !known(remaining))
		return false;
	if (x->have && sample_ms <= x->sample_ms)
		return false; /* virt-handler repeats its last 10 samples: take each once */
	/* net drain rate of the remaining data: from the rates when exposed, else observed */
	if (known(rate) && (postcopy || known(dirty)))
		net = postcopy ? rate : rate - dirty;
	else if (x->have && sample_ms > x->sample_ms)
		net = (x->remaining - remaining) * 1000.0 / (double)(sample_ms - x->sample_ms);
	if (isfinite(net)) {
		x->net_rate =
		    x->have_net ? PG_EWMA_ALPHA * net + (1 - PG_EWMA_ALPHA) * x->net_rate : net;
		x->have_net = true;
	}
	x->processed = processed;
	x->remaining = remaining;
	x->total = known(total) ? total : processed + remaining;
	x->rate = known(rate) ? rate : -1;
	x->dirty = known(dirty) ? dirty : -1;
	x->sample_ms = sample_ms;
	x->have = true;

	raw = pg_percent_raw(processed, remaining);
	x->raw_percent = raw;
	/* never backwards, and 100 is kept for the end (the VMIM says Succeeded) */
	if (raw >= 0) {
		if (raw > 99)
			raw = 99;
		if (raw > x->percent)
			x->percent = raw;
	} else if (x->percent < 0) {
		x->percent = 0;
	}

	if (postcopy)
		x->converging = true; /* post-copy always finishes: the target pulls the rest */
	else if (isfinite(net))
		x->converging = net > 0;
	if (x->converging) {
		x->streak_good++;
		x->streak_bad = 0;
		if (x->streak_good >= PG_CONVERGING_AFTER)
			x->not_converging = false;
	} else {
		x->streak_bad++;
		x->streak_good = 0;
		if (x->streak_bad >= PG_NOT_CONVERGING_AFTER)
			x->not_converging = true;
	}
	if (remaining <= 0)
		x->eta_s = 0;
	else if (x->have_net && x->net_rate > 0 && x->converging)
		x->eta_s = remaining / x->net_rate;
	else
		x->eta_s = -1; /* not draining: no honest ETA */
	return true;
}

void pg_xfer_finish(struct pg_xfer *x, bool succeeded)
{
	if (succeeded) {
		x->percent = 100;
		x->eta_s = 0;
		x->not_converging = false;
		x->converging = true;
		if (x->have)
			x->remaining = 0;
	} else {
		x->eta_s = -1;
		if (x->percent < 0)
			x->percent = 0;
	}
}

bool pg_emit_due(int64_t last_sent_ms, int64_t now_ms, int64_t interval_ms, bool final)
{
	return final || last_sent_ms == 0 || now_ms - last_sent_ms >= interval_ms;
}
