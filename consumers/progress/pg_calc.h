/* pg_calc.h - the progress arithmetic of one live migration, pure functions of the samples fed
 * in (KubeVirt migration metrics: data processed/remaining/total, memory transfer rate, dirty
 * rate): percent that never goes backwards, ETA, converging or not. docs/progress.md has the
 * formulas. struct pg_xfer is caller-owned plain data.
 */
#ifndef PG_CALC_H
#define PG_CALC_H

#include "wk_common.h"

#define PG_NOT_CONVERGING_AFTER 3 /* consecutive non-converging samples before we say so */
#define PG_CONVERGING_AFTER 2	  /* consecutive converging samples to take it back */
#define PG_EWMA_ALPHA 0.5	  /* weight of the newest net-rate sample */

struct pg_xfer {
	bool have;	   /* at least one sample */
	double processed;  /* bytes */
	double remaining;  /* bytes */
	double total;	   /* bytes: the metric, else processed + remaining */
	double rate;	   /* memory transfer rate, bytes/s; < 0 unknown */
	double dirty;	   /* dirty rate, bytes/s; < 0 unknown */
	int64_t sample_ms; /* the sample's time (its explicit timestamp, or scrape time) */
	double net_rate;   /* EWMA of the rate at which remaining data drains, bytes/s */
	bool have_net;
	int percent;	 /* reported: monotone, 0..99 until completion, 100 on success; -1 none */
	int raw_percent; /* of the last sample (can go down), -1 none */
	double eta_s;	 /* < 0 unknown */
	bool converging;
	bool not_converging; /* debounced flag behind the status condition */
	int streak_bad, streak_good;
};

void pg_xfer_init(struct pg_xfer *x);
/* floor(100 * processed / (processed + remaining)), clamped to [0, 100]; -1 when undefined
 * (negative, NaN, or both zero). */
int pg_percent_raw(double processed, double remaining);
/* Feed one sample. total < 0 = not exposed; rate/dirty < 0 = unknown. postcopy: PostCopy or
 * Paused mode, where guest writes no longer add to the data to send. A sample not newer than
 * the last one is ignored (false); true when it was taken. */
bool pg_xfer_sample(struct pg_xfer *x, double processed, double remaining, double total,
		    double rate, double dirty, int64_t sample_ms, bool postcopy);
/* The migration ended: success sets 100 % and ETA 0; failure keeps the percent reached. */
void pg_xfer_finish(struct pg_xfer *x, bool succeeded);
/* At least `interval_ms` since the last send, or a final state (never held back). */
bool pg_emit_due(int64_t last_sent_ms, int64_t now_ms, int64_t interval_ms, bool final);

#endif
