/* wukong-migrator - executes live migrations of KubeVirt VMs requested by a Wukong's
 * spec.migration or by a submission on wukong.requests[.<cluster>]: pre-flight checks, a queue
 * under KubeVirt's limits, a per-VM MigrationPolicy for the options, the VMIM, tracking, cancel,
 * status / audit / Events. docs/migrator.md describes it; the logic is in mig_*.c. */
#include "mig_service.h"

int main(int argc, char **argv)
{
	static const char *const topics[] = {
	    "events", "requests.{cluster}", "requests?migrator.shared-requests", "{tenants}", NULL};
	/* wukong.events carries every cluster: each cluster's migrators need their own group, or
	 * two clusters would split its partitions between them. librdkafka's fetch.wait.max.ms
	 * (500) is right for real brokers, which answer a parked fetch as soon as data arrives; the
	 * embedded mock broker does not, so `wukongctl up` and the tests set
	 * kafka.consumer.fetch.wait.max.ms=10 (docs/migrator.md). */
	static const char *const defaults[] = {"consumer.group", "wukong-migrator-{cluster}",
					       "migrator.shared-requests", "true", NULL};
	static const struct wk_service svc = {
	    .name = "wukong-migrator",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = mig_init,
	    .on_message = mig_on_message,
	    .on_tick = mig_on_tick,
	    .term = mig_term,
	    .lease = "migrator", /* active/standby when migrator.lease.enabled */
	    .defaults = defaults,
	};

	return wk_service_main(&svc, argc, argv);
}
