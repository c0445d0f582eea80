/* fuzz_requests.c - every request body from Kafka: migrate, cancel, drain (migrator) and clone
 * (cloner) submissions, status updates (status writer); and the same bytes as a Wukong object
 * (its spec.migration and clone spec, as the executors read them from watch events). */
#include "fuzz_common.h"

#include "../../consumers/cloner/cl_request.h"
#include "../../consumers/status/st_update.h"
#include "decide/mig_drain.h"
#include "decide/mig_request.h"

#include <cjson/cJSON.h>

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mig_request r;
	struct mig_cancel c;
	struct mig_drain_req dr;
	struct mig_verdict v;
	struct cl_submission *cs = malloc(sizeof(*cs));
	struct cl_verdict cv;
	struct st_update u;
	char err[256];

	mig_parse_migrate(d, size, &r, &v);
	mig_parse_cancel(d, size, &c, &v);
	mig_parse_drain(d, size, &dr, &v);
	cl_parse_submission(d, size, cs, &cv);
	free(cs);
	st_update_init(&u);
	st_update_parse(&u, d, size, err, sizeof(err));
	st_update_release(&u);
	{
		cJSON *wk = cJSON_ParseWithLength(d, size);
		struct mig_spec_view view;
		struct cl_job_spec *js = malloc(sizeof(*js));

		if (wk) {
			mig_spec_view(wk, &view);
			mig_request_from_spec(wk, "local", &r, &v);
			cl_job_from_wukong(wk, "local", js);
		}
		free(js);
		cJSON_Delete(wk);
	}
	return 0;
}
