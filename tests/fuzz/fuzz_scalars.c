/* fuzz_scalars.c - quantities ("64Mi", "1.5G", "100m"), RFC 3339 times, label and field
 * selectors: the small parsers of values that come from Kubernetes objects and requests. */
#include "fuzz_common.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), err[256];
	int64_t v;
	struct wk_selector *sel;
	struct wk_field_selector *fs;

	wk_quantity_parse(s, &v, err, sizeof(err));
	wk_quantity_parse_milli(s, &v, err, sizeof(err));
	wk_time_parse_us(s, &v);
	sel = wk_selector_parse(s, err, sizeof(err));
	if (sel) {
		free(wk_selector_to_string(sel));
		wk_selector_destroy(sel);
	}
	fs = wk_field_selector_parse(s, err, sizeof(err));
	wk_field_selector_destroy(fs);
	free(s);
	return 0;
}
