/* fuzz_promtext.c - Prometheus text exposition scraped from KubeVirt (the progress service). */
#include "fuzz_common.h"
#include "wk_promtext.h"

FUZZ_QUIET_INIT

static int on_sample(const struct wk_promtext_sample *s, void *opaque)
{
	(void)opaque;
	(void)wk_promtext_label(s, "vmi");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	wk_promtext_parse((const char *)data, size, NULL, on_sample, NULL, err, sizeof(err));
	return 0;
}
