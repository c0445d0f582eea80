/* fuzz_config.c - configuration YAML and kubeconfig YAML as the services read them. */
#include "fuzz_common.h"
#include "wk_config.h"
#include "wk_kubeconfig.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), err[512];
	struct wk_config *cfg = wk_config_new();
	struct wk_kubeconfig kc;

	wk_config_load_string(cfg, "fuzz.yaml", s, err, sizeof(err));
	wk_config_destroy(cfg);
	wk_kubeconfig_init(&kc);
	/* relative paths in it resolve under a directory that does not exist */
	wk_kubeconfig_load_string(&kc, "/nonexistent-fuzz/kubeconfig", s, size, NULL, err,
				  sizeof(err));
	wk_kubeconfig_release(&kc);
	free(s);
	return 0;
}
