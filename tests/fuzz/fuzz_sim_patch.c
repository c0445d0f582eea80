/* fuzz_sim_patch.c - the simulator's JSON merge patch (RFC 7386) and JSON patch (RFC 6902)
 * against a document: input = document, a NUL byte, the patch. */
#include "fuzz_common.h"
#include "../../tools/sim/sim_patch.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data, *sep = memchr(d, '\0', size);
	cJSON *doc, *patch, *out;
	char err[256];

	if (!sep)
		return 0;
	doc = cJSON_ParseWithLength(d, (size_t)(sep - d));
	patch = cJSON_ParseWithLength(sep + 1, size - (size_t)(sep - d) - 1);
	if (doc && patch) {
		out = sim_merge_patch(doc, patch);
		cJSON_Delete(out);
		out = sim_json_patch(doc, patch, err, sizeof(err));
		cJSON_Delete(out);
	}
	cJSON_Delete(doc);
	cJSON_Delete(patch);
	return 0;
}
