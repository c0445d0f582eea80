/* wk_ratelimit.h - a token bucket (rate per second, burst) driven by an injected monotonic clock,
 * for anything that must stay under a configured request rate. Caller-owned plain struct. */
#ifndef WK_RATELIMIT_H
#define WK_RATELIMIT_H

#include "wk_common.h"

struct wk_tokenbucket {
	double rate;   /* tokens per second, > 0 */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* current content */
	int64_t last_ms;
};

/* Starts full. rate <= 0 is taken as 1/s, burst < 1 as 1. */
void wk_tokenbucket_init(struct wk_tokenbucket *b, double rate, double burst, int64_t now_ms);
/* Take one token if there is one: true, else false (nothing taken). */
bool wk_tokenbucket_take(struct wk_tokenbucket *b, int64_t now_ms);
/* Milliseconds until one token is available (0 = now). */
int64_t wk_tokenbucket_wait_ms(struct wk_tokenbucket *b, int64_t now_ms);

#endif
