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
static void preload(int argc, char **argv, char *cluster, size_t n, bool *shared)
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

	preload(argc, argv, cluster, sizeof(cluster), &shared);
	mig_topics(cluster, shared, bufs, topics);
	return wk_service_main(&svc, argc, argv);
}
