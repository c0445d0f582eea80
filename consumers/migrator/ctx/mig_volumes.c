/* mig_volumes.c - the storage look-ups and writes of a move (mig_volumes.h). */
#include "ctx/mig_volumes.h"

#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_resource.h"

#include <cjson/cJSON.h>
#include <string.h>

/* GET into *body (NULL when absent or unreadable): 0, or -1 on an error other than NotFound. */
static int get(struct mig_state *st, const struct wk_k8s_resource *r, const char *ns,
	       const char *name, cJSON **body, char *err, size_t errn)
{
	struct wk_k8s_result res;
	int rc = 0;

	*body = NULL;
	if (wk_k8s_get(st->k8s, r, ns, name, &res, err, errn) == 0)
		*body = wk_k8s_result_take(&res);
	else if (res.err != WK_K8S_ENOTFOUND && res.err != WK_K8S_EFORBIDDEN)
		rc = -1;
	wk_k8s_result_release(&res);
	return rc;
}

int mig_volumes_read(struct mig_state *st, const char *ns, const cJSON *vm, const cJSON *node,
		     const char *node_name, struct mig_disk *out, size_t max, size_t *n, char *err,
		     size_t errn)
{
	const cJSON *v;

	*n = 0;
	cJSON_ArrayForEach(v, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(v, "persistentVolumeClaim.claimName");
		cJSON *pvc = NULL, *pv = NULL, *sc = NULL;
		char cl[MIG_NAME_MAX];
		int rc = 0;

		if (*n >= max)
			return wk_err(err, errn, "more than %zu volumes", max);
		if (!claim)
			claim = wk_json_str(v, "dataVolume.name");
		if (claim) {
			wk_strlcpy(cl, claim, sizeof(cl));
			rc = get(st, &wk_res_persistentvolumeclaims, ns, cl, &pvc, err, errn);
			const char *pvn = wk_json_str(pvc, "spec.volumeName");
			const char *cls = wk_json_str(pvc, "spec.storageClassName");
			char b[MIG_NAME_MAX];

			if (rc == 0 && pvn && *pvn) {
				wk_strlcpy(b, pvn, sizeof(b));
				rc = get(st, &wk_res_persistentvolumes, NULL, b, &pv, err, errn);
			}
			if (rc == 0 && cls && *cls) {
				wk_strlcpy(b, cls, sizeof(b));
				rc = get(st, &wk_res_storageclasses, NULL, b, &sc, err, errn);
			}
		}
		if (rc == 0 && mig_disk_classify(v, pvc, pv, sc, node, node_name, &out[*n]) == 0)
			(*n)++;
		cJSON_Delete(pvc);
		cJSON_Delete(pv);
		cJSON_Delete(sc);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int mig_volumes_cdi(struct mig_state *st, const char *ns, char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	int rc;

	memset(&lo, 0, sizeof(lo));
	lo.label_selector = "wukong.novasphere.dev/cdi-probe=none";
	rc = wk_k8s_list(st->k8s, &wk_res_datavolumes, ns, &lo, &res, err, errn);
	if (rc == 0)
		rc = 1;
	else if (res.err == WK_K8S_ENOTFOUND)
		rc = 0;
	else
		rc = -1;
	wk_k8s_result_release(&res);
	return rc;
}

int mig_volumes_clone(struct mig_state *st, const char *ns, const char *request,
		      const struct mig_copy *c, size_t n, char *err, size_t errn)
{
	for (size_t i = 0; i < n; i++) {
		struct wk_k8s_result res;
		cJSON *pvc = NULL, *sc = NULL, *vol, *dv;
		struct mig_disk d;
		int rc;

		if (get(st, &wk_res_persistentvolumeclaims, ns, c[i].from, &pvc, err, errn) < 0)
			return -1;
		if (!pvc) {
			/* Created before a restart and the old one already gone? Then the new one
			 * must exist. */
			if (get(st, &wk_res_datavolumes, ns, c[i].to, &dv, err, errn) < 0)
				return -1;
			rc = dv ? 0 : wk_err(err, errn, "claim '%s' to copy is gone", c[i].from);
			cJSON_Delete(dv);
			if (rc < 0)
				return -1;
			continue;
		}
		const char *cls = wk_json_str(pvc, "spec.storageClassName");
		if (cls && *cls) {
			char b[MIG_NAME_MAX];

			wk_strlcpy(b, cls, sizeof(b));
			if (get(st, &wk_res_storageclasses, NULL, b, &sc, err, errn) < 0) {
				cJSON_Delete(pvc);
				return -1;
			}
		}
		vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", c[i].volume);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(vol, "persistentVolumeClaim"),
					"claimName", c[i].from);
		mig_disk_classify(vol, pvc, NULL, sc, NULL, NULL, &d);
		cJSON_Delete(vol);
		cJSON_Delete(pvc);
		cJSON_Delete(sc);
		dv = mig_copy_dv(ns, &d, &c[i], request);
		rc = wk_k8s_create(st->k8s, &wk_res_datavolumes, ns, dv, &res, err, errn);
		cJSON_Delete(dv);
		if (rc < 0 && res.err == WK_K8S_EALREADYEXISTS) {
			cJSON *have = NULL;

			wk_k8s_result_release(&res);
			if (get(st, &wk_res_datavolumes, ns, c[i].to, &have, err, errn) < 0)
				return -1;
			const char *by = wk_json_meta(have, "labels", WK_LABEL_REQUEST_ID);
			rc =
			    by && !strcmp(by, request)
				? 0
				: wk_err(err, errn,
					 "DataVolume '%s' exists and was not made for request '%s'",
					 c[i].to, request);
			cJSON_Delete(have);
			if (rc < 0)
				return -1;
			continue;
		}
		wk_k8s_result_release(&res);
		if (rc < 0)
			return -1;
		wk_logk(WK_LOG_INFO, c[i].to, "cold migration '%s': cloning claim '%s' into '%s'",
			request, c[i].from, c[i].to);
	}
	return 0;
}

int mig_volumes_delete(struct mig_state *st, const char *ns, const struct mig_copy *c, size_t n,
		       bool old, char *err, size_t errn)
{
	for (size_t i = 0; i < n; i++) {
		struct wk_k8s_result res;
		const struct wk_k8s_resource *r =
		    !old || c[i].from_dv[0] ? &wk_res_datavolumes : &wk_res_persistentvolumeclaims;
		const char *name = !old ? c[i].to : c[i].from_dv[0] ? c[i].from_dv : c[i].from;
		int rc = wk_k8s_delete(st->k8s, r, ns, name, NULL, &res, err, errn);

		if (rc < 0 && res.err == WK_K8S_ENOTFOUND)
			rc = 0;
		wk_k8s_result_release(&res);
		if (rc < 0)
			return -1;
	}
	return 0;
}
