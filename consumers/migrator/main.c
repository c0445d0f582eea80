/* wukong-migrator - executes live migrations of KubeVirt VMs requested by a Wukong's
 * spec.migration or by a submission on wukong.requests[.<cluster>]: pre-flight checks, a queue
 * under KubeVirt's limits, a per-VM MigrationPolicy for the options, the VMIM, tracking, cancel,
 * status / audit / Events. docs/migrator.md describes it; the logic is in mig_*.c. */
#include "mig_service.h"

#include "wk_config.h"

#include <unistd.h>

/* The topics depend on cluster.id, which the core only knows after loading the configuration:
 * read the same sources (file, environment, -X) once here to name them. Errors are left for
 * wk_service_main() to report. */
static void preload(int argc, char **argv, char *cluster, size_t n, bool *shared,
		    bool *fetch_wait_set, bool *group_set)
{
	struct wk_config *cfg = wk_config_new();
	const char *path = getenv("WUKONG_CONFIG");
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-c"))
			path = argv[i + 1];
	if (path && *path)
		wk_config_load_file(cfg, path, NULL, 0);
	wk_config_load_env(cfg, NULL, NULL, 0);
	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-X"))
			wk_config_set_arg(cfg, argv[i + 1], NULL, 0);
	wk_strlcpy(cluster, wk_config_get(cfg, "cluster.id", "local"), n);
	*fetch_wait_set = wk_config_get(cfg, "kafka.fetch.wait.max.ms", NULL) != NULL;
	*group_set = wk_config_get(cfg, "consumer.group", NULL) != NULL;
	if (wk_config_get_bool(cfg, "migrator.shared-requests", true, shared, NULL, 0) < 0)
		*shared = true;
	wk_config_destroy(cfg);
}

int main(int argc, char **argv)
{
	static char bufs[4][128];
	static const char *topics[4];
	char cluster[64];
	bool shared = true;
	struct wk_service svc = {
	    .name = "wukong-migrator",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = mig_init,
	    .on_message = mig_on_message,
	    .on_tick = mig_on_tick,
	    .term = mig_term,
	};
	bool fetch_wait_set = false, group_set = false;
	char group_arg[128];
	char **args;
	int n = 0, i, rc;

	preload(argc, argv, cluster, sizeof(cluster), &shared, &fetch_wait_set, &group_set);
	mig_topics(cluster, shared, bufs, topics);
	/* Reaction time is the product: librdkafka's default fetch.wait.max.ms (500) lets a broker
	 * that does not wake parked fetches (the embedded mock broker) hold a new request for up
	 * to half a second. 10 ms unless configured (docs/migrator.md). */
	args = wk_xcalloc((size_t)argc + 5, sizeof(*args));
	args[n++] = argv[0];
	/* wukong.events carries every cluster: each cluster's migrators need their own group, or
	 * two clusters would split its partitions between them. */
	if (!group_set) {
		snprintf(group_arg, sizeof(group_arg), "consumer.group=wukong-migrator-%s",
			 cluster);
		args[n++] = (char *)"-X";
		args[n++] = group_arg;
	}
	if (!fetch_wait_set) {
		args[n++] = (char *)"-X";
		args[n++] = (char *)"kafka.fetch.wait.max.ms=10";
	}
	for (i = 1; i < argc; i++)
		args[n++] = argv[i];
	rc = wk_service_main(&svc, n, args);
	free(args);
	return rc;
}
