/* wk_k8s_status.c - request outcomes: results, the Status object, outcome classes, Retry-After
 * and the backoff shared by requests and watches. */
#include "wk_k8s_internal.h"

#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <cjson/cJSON.h>

const char *wk_k8s_err_name(enum wk_k8s_err e)
{
	static const char *const names[] = {
	    "OK",
	    "Refused",
	    "Transport",
	    "TooBig",
	    "BadRequest",
	    "Unauthorized",
	    "Forbidden",
	    "NotFound",
	    "AlreadyExists",
	    "Conflict",
	    "Gone",
	    "UnsupportedMediaType",
	    "Invalid",
	    "TooManyRequests",
	    "ServerError",
	    "Other",
	    "Cancelled",
	};
	return (size_t)e < WK_ARRAY_SIZE(names) ? names[e] : "Unknown";
}

void wk_k8s_result_init(struct wk_k8s_result *r)
{
	memset(r, 0, sizeof(*r));
}

void wk_k8s_result_release(struct wk_k8s_result *r)
{
	if (!r)
		return;
	cJSON_Delete(r->body);
	wk_k8s_result_init(r);
}

cJSON *wk_k8s_result_take(struct wk_k8s_result *r)
{
	cJSON *b = r->body;

	r->body = NULL;
	return b;
}

/* ---- Status, classification, Retry-After, backoff ---- */

static void copy_str(char *dst, size_t size, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	dst[0] = '\0';
	if (cJSON_IsString(v) && v->valuestring)
		wk_strlcpy(dst, v->valuestring, size);
}

int wk_k8s_status_from_json(const cJSON *obj, struct wk_k8s_status *st)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(obj, "details");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds");

	memset(st, 0, sizeof(*st));
	if (!cJSON_IsObject(obj) || !cJSON_IsString(kind) || strcmp(kind->valuestring, "Status"))
		return -1;
	if (cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble < 1000)
		st->code = (int)code->valuedouble;
	copy_str(st->status, sizeof(st->status), obj, "status");
	copy_str(st->reason, sizeof(st->reason), obj, "reason");
	copy_str(st->message, sizeof(st->message), obj, "message");
	copy_str(st->name, sizeof(st->name), details, "name");
	copy_str(st->kind, sizeof(st->kind), details, "kind");
	if (cJSON_IsNumber(ra) && ra->valuedouble > 0 && ra->valuedouble < 86400)
		st->retry_after_s = (int)ra->valuedouble;
	return 0;
}

int wk_k8s_status_parse(const char *body, size_t len, struct wk_k8s_status *st)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	int r = wk_k8s_status_from_json(j, st);

	cJSON_Delete(j);
	return r;
}

enum wk_k8s_err wk_k8s_classify(long code, const char *reason)
{
	if (code >= 200 && code < 300)
		return WK_K8S_OK;
	switch (code) {
	case 400:
		return WK_K8S_EBADREQUEST;
	case 401:
		return WK_K8S_EUNAUTHORIZED;
	case 403:
		return WK_K8S_EFORBIDDEN;
	case 404:
		return WK_K8S_ENOTFOUND;
	case 409:
		return reason && !strcmp(reason, "AlreadyExists") ? WK_K8S_EALREADYEXISTS
								  : WK_K8S_ECONFLICT;
	case 410:
		return WK_K8S_EGONE;
	case 415:
		return WK_K8S_EUNSUPPORTED;
	case 422:
		return WK_K8S_EINVALID;
	case 429:
		return WK_K8S_ETOOMANY;
	default:
		return code >= 500 && code < 600 ? WK_K8S_ESERVER : WK_K8S_EOTHER;
	}
}

int wk_k8s_retry_after_parse(const char *value, int64_t now, long max_s, long *seconds)
{
	const char *p = value;
	char *end;
	long long v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		errno = 0;
		v = strtoll(p, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end)
			return -1;
		if (errno == ERANGE || v > max_s)
			v = max_s;
	} else {
		/* An HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"); curl_getdate parses RFC 1123. */
		time_t t = *p ? curl_getdate(p, NULL) : -1;

		if (t == -1)
			return -1;
		v = (long long)t - now;
		if (v < 0)
			v = 0;
		if (v > max_s)
			v = max_s;
	}
	*seconds = (long)v;
	return 0;
}

long wk_k8s_backoff_ms(int attempt, long base_ms, long max_ms)
{
	long d = base_ms > 0 ? base_ms : 1;

	for (int i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* "equal jitter": never less than half, so retries cannot collapse to zero. */
	return d / 2 + (long)(random() % (d / 2 + 1));
}

bool k8s_header_retry_after(const char *line, size_t len, char *out, size_t out_size)
{
	static const char name[] = "retry-after:";
	size_t n = sizeof(name) - 1, vlen;

	if (len <= n || strncasecmp(line, name, n))
		return false;
	line += n;
	len -= n;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	vlen = len < out_size - 1 ? len : out_size - 1;
	memcpy(out, line, vlen);
	out[vlen] = '\0';
	return true;
}
