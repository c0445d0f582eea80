/* mig_fair.c - the fair pick across tenants (mig_fair.h). */
#include "decide/mig_fair.h"

#include <limits.h>

long mig_fair_pick(const struct mig_queue *q, const struct mig_limits *lim,
		   const struct mig_load *load, const struct mig_fair_ops *ops)
{
	long best = -1;
	int best_running = INT_MAX;
	size_t i;

	if (load->total >= lim->per_cluster)
		return -1;
	for (i = 0; i < q->n; i++) {
		const char *t;
		int running;
		long long cap;

		if (!mig_load_admits(load, lim, q->e[i].source_node))
			continue;
		t = ops->tenant(&q->e[i], ops->opaque);
		running = ops->running(t, ops->opaque);
		cap = ops->cap(t, ops->opaque);
		if (cap > 0 && running >= cap)
			continue;
		if (running < best_running) {
			best = (long)i;
			best_running = running;
			if (running == 0)
				break; /* nobody can have fewer: the first such entry wins */
		}
	}
	return best;
}
