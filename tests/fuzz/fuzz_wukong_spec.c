/* fuzz_wukong_spec.c - a Wukong object as the executors read it from watch events and the API:
 * the provisioner builds its VM, the update of that VM and the status (pv_build_*), the migrator
 * its spec.migration request (mig_spec_view, mig_request_from_spec), the cloner its clone job
 * (cl_job_from_wukong). Input: the Wukong's JSON; when it holds a line "\n--\n", the part after it
 * is the VM the update and status are judged against (else the VM built from the first part). */
#include "fuzz_common.h"

#include "../../consumers/cloner/cl_request.h"
#include "../../consumers/provisioner/pv_build.h"
#include "decide/mig_request.h"

#include <cjson/cJSON.h>

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data, *sep = NULL;
	struct pv_cluster cl = {.classes = {"standard", "shared-rwx"},
				.nclasses = 2,
				.classes_known = true,
				.default_class = "standard"};
	struct pv_verdict v;
	struct pv_status st;
	cJSON *wk, *vm = NULL, *given = NULL, *patch = NULL, *del = NULL;
	size_t wlen = size;

	for (size_t i = 0; i + 4 <= size; i++)
		if (!memcmp(d + i, "\n--\n", 4)) {
			sep = d + i;
			break;
		}
	if (sep) {
		wlen = (size_t)(sep - d);
		given = cJSON_ParseWithLength(sep + 4, size - wlen - 4);
	}
	wk = cJSON_ParseWithLength(d, wlen);
	if (!wk) {
		cJSON_Delete(given);
		return 0;
	}
	cl.live_update = size & 1;
	if (pv_build_vm(wk, &cl, &vm, &v) < 0)
		vm = NULL;
	{
		const cJSON *target = given ? given : vm;
		struct pv_verdict refused;

		memset(&refused, 0, sizeof(refused));
		if (target) {
			pv_build_update(wk, target, &cl, &patch, &del, &refused);
			cJSON_Delete(patch);
			cJSON_Delete(del);
			patch = NULL;
			pv_build_clone_update(wk, target, &patch);
			cJSON_Delete(patch);
			pv_vm_built_generation(target);
			pv_vm_is_ours(target);
		}
		memset(&st, 0, sizeof(st));
		pv_build_status(wk, target, given, NULL, &cl, refused.reason[0] ? &refused : NULL,
				&st);
		pv_status_release(&st);
	}
	{
		struct mig_spec_view view;
		struct mig_request r;
		struct mig_verdict mv;
		struct cl_job_spec *js = malloc(sizeof(*js));

		mig_spec_view(wk, &view);
		mig_request_from_spec(wk, "local", &r, &mv);
		cl_job_from_wukong(wk, "local", js);
		free(js);
	}
	cJSON_Delete(vm);
	cJSON_Delete(given);
	cJSON_Delete(wk);
	return 0;
}
