/* wk_kubevirt_io.c - reading the KubeVirt CR from the API (the one I/O function of wk_kubevirt.h).
 */
#include "wk_kubevirt.h"

#include <cjson/cJSON.h>

#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_resource.h"

int wk_kubevirt_fetch(struct wk_k8s *k8s, struct wk_kubevirt_info *out, char *errstr,
		      size_t errstr_size)
{
	struct wk_k8s_result res;
	const cJSON *item;
	char err[512];
	int rc;

	wk_kubevirt_info_init(out);
	if (wk_k8s_list(k8s, &wk_res_kubevirts, NULL, NULL, &res, err, sizeof(err)) < 0) {
		rc = wk_err(errstr, errstr_size, "cannot list the KubeVirt CR: %s", err);
		wk_k8s_result_release(&res);
		return rc;
	}
	item = cJSON_GetArrayItem(wk_json_path(res.body, "items"), 0);
	rc = item ? wk_kubevirt_parse(item, out, errstr, errstr_size) : 0;
	wk_k8s_result_release(&res);
	return rc;
}
