/* wukong-migrator - executes live migrations of KubeVirt VMs requested by a Wukong's
 * spec.migration or by a submission on wukong.requests[.<cluster>]: pre-flight checks, a queue
 * under KubeVirt's limits, a per-VM MigrationPolicy for the options, the VMIM, tracking, cancel,
 * status / audit / Events. docs/migrator.md describes it; the logic is in mig_*.c. */
#include "mig_service.h"

int main(int argc, char **argv)
{
	static const char *const topics[] = {"events", "requests.{cluster}",
					     "requests?migrator.shared-requests", NULL};
	/* wukong.events carries every cluster: each cluster's migrators need their own group, or
	 * two clusters would split its partitions between them. Reaction time is the product:
	 * librdkafka's default fetch.wait.max.ms (500) lets a broker that does not wake parked
	 * fetches (the embedded mock broker) hold a new request for up to half a second; 10 ms
	 * unless configured (docs/migrator.md). */
	static const char *const defaults[] = {"consumer.group",
					       "wukong-migrator-{cluster}",
					       "kafka.fetch.wait.max.ms",
					       "10",
					       "migrator.shared-requests",
					       "true",
					       NULL};
	static const struct wk_service svc = {
	    .name = "wukong-migrator",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = mig_init,
	    .on_message = mig_on_message,
	    .on_tick = mig_on_tick,
	    .term = mig_term,
	    .defaults = defaults,
	};

	return wk_service_main(&svc, argc, argv);
}
