/* wk_ratelimit.c - token bucket. */
#include "wk_ratelimit.h"

#include <math.h>

void wk_tokenbucket_init(struct wk_tokenbucket *b, double rate, double burst, int64_t now_ms)
{
	b->rate = rate > 0 && isfinite(rate) ? rate : 1;
	b->burst = burst >= 1 && isfinite(burst) ? burst : 1;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

static void refill(struct wk_tokenbucket *b, int64_t now_ms)
{
	/* a clock that goes backwards (it should not: monotonic) refills nothing */
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
}

bool wk_tokenbucket_take(struct wk_tokenbucket *b, int64_t now_ms)
{
	refill(b, now_ms);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

int64_t wk_tokenbucket_wait_ms(struct wk_tokenbucket *b, int64_t now_ms)
{
	refill(b, now_ms);
	if (b->tokens >= 1.0)
		return 0;
	return (int64_t)ceil((1.0 - b->tokens) * 1000.0 / b->rate);
}
