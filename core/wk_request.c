/* wk_request.c - a request's expiry (wk_request.h). */
#include "wk_request.h"

#include <cjson/cJSON.h>

#include "wk_cloudevent.h"
#include "wk_json.h"
#include "wk_name.h"
#include "wk_time.h"

static void peek(const cJSON *body, const char *key, bool label, char *out, size_t n)
{
	const char *v = wk_json_str(body, key);

	if (v && strlen(v) < n &&
	    (label ? wk_name_is_dns1123_label(v) : wk_name_is_dns1123_subdomain(v)))
		wk_strlcpy(out, v, n);
}

int wk_request_check_expiry(const rd_kafka_message_t *m, const struct wk_cloudevent *ce,
			    const char *data, size_t len, int64_t max_age_ms, int64_t now_ms,
			    struct wk_request_expiry *out, char *errstr, size_t errstr_size)
{
	cJSON *body = data && len ? cJSON_ParseWithLength(data, len) : NULL;
	const cJSON *ea = cJSON_GetObjectItemCaseSensitive(body, "expiresAt");
	int64_t own = 0, t;
	char when[40], sent[40];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	peek(body, "requestId", true, out->request_id, sizeof(out->request_id));
	peek(body, "cluster", true, out->cluster, sizeof(out->cluster));
	peek(body, "namespace", true, out->ns, sizeof(out->ns));
	peek(body, "name", false, out->name, sizeof(out->name));
	if (ce && ce->time[0] && wk_time_parse_ms(ce->time, &t) == 0) {
		out->sent_ms = t;
	} else if (m) {
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);

		if (tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > 0)
			out->sent_ms = ts;
	}
	if (ea) {
		if (!cJSON_IsString(ea) || strlen(ea->valuestring) >= 64 ||
		    wk_time_parse_ms(ea->valuestring, &own) < 0) {
			rc = wk_err(errstr, errstr_size,
				    "'expiresAt' is not an RFC 3339 time such as "
				    "2026-01-01T10:00:00Z");
			goto out;
		}
	}
	if (max_age_ms > 0 && out->sent_ms > 0)
		out->expires_ms = out->sent_ms + max_age_ms;
	if (own && (!out->expires_ms || own < out->expires_ms)) {
		out->expires_ms = own;
		out->own_deadline = true;
	}
	out->expired = out->expires_ms > 0 && now_ms >= out->expires_ms;
	if (out->expired) {
		wk_time_format(out->expires_ms, when, sizeof(when));
		wk_time_format(out->sent_ms, sent, sizeof(sent));
		if (out->own_deadline)
			snprintf(out->message, sizeof(out->message),
				 "request expired at %s (its expiresAt): not carried out", when);
		else
			snprintf(out->message, sizeof(out->message),
				 "request expired at %s (sent %s, maximum age %llds): not carried "
				 "out",
				 when, sent, (long long)(max_age_ms / 1000));
	}
out:
	cJSON_Delete(body);
	return rc;
}
