/* wukong-router - the multi-cluster router: reads the cluster registry (wukong.clusters) and the
 * submissions on wukong.requests (and, with router.tenant-topics, every wukong.requests.t.<tenant>)
 * and sends each to wukong.requests.<cluster>: by its cluster, fanned out to a list or a selector
 * of clusters under derived ids, or placed (cluster: auto); a submission for an unknown or
 * Unavailable cluster is dead-lettered with its reason and audited, or held until its own
 * expiresAt. docs/multicluster.md describes it; the decisions are in rt_route.c. */
#include "rt_service.h"

int main(int argc, char **argv)
{
	static const char *const topics[] = {"requests", "^requests\\.t\\..+?router.tenant-topics",
					     NULL};
	/* No message timeout: a routed copy waits for the broker however long an outage lasts
	 * (the input's offset waits with it); the producer is idempotent (core). */
	static const char *const defaults[] = {"consumer.group",
					       "wukong-router",
					       "router.tenant-topics",
					       "false",
					       "kafka.message.timeout.ms",
					       "0",
					       NULL};
	static const struct wk_service svc = {
	    .name = "wukong-router",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = rt_init,
	    .on_message = rt_on_message,
	    .on_tick = rt_on_tick,
	    .term = rt_term,
	    .defaults = defaults,
	    .on_delivery = rt_on_delivery,
	};

	return wk_service_main(&svc, argc, argv);
}
