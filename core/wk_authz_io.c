/* wk_authz_io.c - the SubjectAccessReview calls of wk_authz.h (both executors use it), and the
 * per-installation key of the executors' keyed ids (wk_emit_set_id_key). */
#include "wk_authz.h"
#include "wk_authz_io.h"
#include "wk_config.h"
#include "wk_emit.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <errno.h>

#define SAR_PATH "/apis/authorization.k8s.io/v1/subjectaccessreviews"
#define ID_KEY_MAX 4096

int wk_authz_authorize(struct wk_authz *a, struct wk_k8s *k, const struct wk_authz_identity *id,
		       const struct wk_authz_check *checks, size_t n, char *denial,
		       size_t denial_size, char *errstr, size_t errstr_size)
{
	size_t i;

	if (denial_size)
		denial[0] = 0;
	if (id->trusted)
		return 1;
	for (i = 0; i < n; i++) {
		const struct wk_authz_check *c = &checks[i];
		struct wk_k8s_result res;
		char reason[512] = "", err[512];
		bool allowed = false;
		cJSON *body;
		char *text;
		int rc;

		if (!wk_authz_cache_get(a, id, c, wk_time_mono_ms(), &allowed, reason,
					sizeof(reason))) {
			body = wk_authz_review_body(id, c);
			text = cJSON_PrintUnformatted(body);
			cJSON_Delete(body);
			rc = wk_k8s_request(k, "POST", SAR_PATH, "application/json", text,
					    strlen(text), &res, err, sizeof(err));
			free(text);
			a->reviews++;
			if (rc < 0 ||
			    wk_authz_review_parse(res.body, &allowed, reason, sizeof(reason)) < 0) {
				/* Not an answer (API server down, our own right to create
				 * reviews missing): neither allowed nor denied; the caller
				 * retries. */
				wk_err(errstr, errstr_size, "SubjectAccessReview for %s %s: %s",
				       c->verb, c->resource,
				       rc < 0 ? err : "the answer is not a SubjectAccessReview");
				wk_k8s_result_release(&res);
				return -1;
			}
			wk_k8s_result_release(&res);
			wk_authz_cache_put(a, id, c, allowed, reason, wk_time_mono_ms());
		}
		if (!allowed) {
			a->denials++;
			wk_authz_denial(id, c, reason, denial, denial_size);
			return 0;
		}
	}
	return 1;
}

int wk_authz_load_id_key(const struct wk_config *cfg, char *errstr, size_t errstr_size)
{
	const char *path = wk_config_get(cfg, "security.id-key-file", NULL);
	unsigned char buf[ID_KEY_MAX + 1];
	size_t len;
	FILE *f;

	if (!path || !*path)
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return wk_err(errstr, errstr_size, "security.id-key-file '%s': %s", path,
			      strerror(errno));
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < 16 || len > ID_KEY_MAX)
		return wk_err(errstr, errstr_size,
			      "security.id-key-file '%s': the key must have 16 to %d bytes", path,
			      ID_KEY_MAX);
	wk_emit_set_id_key(buf, len);
	memset(buf, 0, sizeof(buf));
	return 1;
}
