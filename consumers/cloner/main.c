/* wukong-cloner - running clones of KubeVirt VMs: a Wukong whose spec.cloneSource asks for one
 * (or a Kafka `clone` submission, which creates such Wukongs) becomes an online
 * VirtualMachineSnapshot of the source VM, a VirtualMachineClone from it into <wukong>-vm, and
 * the snapshot's cleanup; status / audit / Events on the way. docs/cloner.md describes it; the
 * logic is in cl_*.c. */
#include "cl_service.h"

#include "wk_config.h"

/* The topics depend on cluster.id, known to the core only after loading the configuration: read
 * the same sources (file, environment, -X) once here to name them. Errors are left for
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
	if (wk_config_get_bool(cfg, "cloner.shared-requests", true, shared, NULL, 0) < 0)
		*shared = true;
	wk_config_destroy(cfg);
}

int main(int argc, char **argv)
{
	static char bufs[3][128];
	static const char *topics[4];
	char cluster[64];
	bool shared = true;
	struct wk_service svc = {
	    .name = "wukong-cloner",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = cl_init,
	    .on_message = cl_on_message,
	    .on_tick = cl_on_tick,
	    .term = cl_term,
	};

	preload(argc, argv, cluster, sizeof(cluster), &shared);
	cl_topics(cluster, shared, bufs, topics);
	return wk_service_main(&svc, argc, argv);
}
