/* wk_cloudevent.c - CloudEvents 1.0 Kafka binary content mode: ce_* headers plus a JSON value. */
#include "wk_cloudevent.h"

#include "wk_time.h"
#include "wk_types.h"
#include "wk_utf8.h"
#include "wk_uuid.h"

#include <ctype.h>

/* The headers we read; each may appear at most once (two ce_id values make the event ambiguous). */
static const char *const known_headers[] = {
    "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type",
};

/* Strict UTF-8 (wk_utf8_seq) without the control characters the CloudEvents String type forbids
 * (U+0000-U+001F, U+007F-U+009F). */
static bool valid_ce_string(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = wk_utf8_seq(s + i, len - i, &cp);

		if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

bool wk_cloudevent_string_ok(const char *s, size_t len)
{
	return valid_ce_string(s, len);
}

/* RFC 3986 URI-reference characters: unreserved, reserved and '%' (escapes checked too). */
static bool valid_uri_reference(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return false;
			i += 2;
			continue;
		}
		if (isalnum(c) || strchr("-._~:/?#[]@!$&'()*+,;=", c))
			continue;
		return false;
	}
	return true;
}

/* Attribute names of the CloudEvents core, and what wk_cloudevent_send writes itself: never
 * extension names. */
static const char *const reserved_names[] = {
    "specversion",     "id",	     "source", "type",	       "subject", "time",
    "datacontenttype", "dataschema", "data",   "partitionkey",
};

int wk_cloudevent_ext_add(struct wk_cloudevent *ev, const char *name, const char *value,
			  char *errstr, size_t errstr_size)
{
	struct wk_cloudevent_ext *x;
	size_t nlen, vlen;

	if (!name || !*name)
		return wk_err(errstr, errstr_size, "extension attribute without a name");
	nlen = strlen(name);
	if (nlen > WK_CE_EXT_NAME_MAX)
		return wk_err(errstr, errstr_size,
			      "extension attribute name of %zu characters: at most %d", nlen,
			      WK_CE_EXT_NAME_MAX);
	for (size_t i = 0; i < nlen; i++) {
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
			return wk_err(errstr, errstr_size,
				      "extension attribute name '%s': only a-z and 0-9 allowed",
				      name);
	}
	for (size_t i = 0; i < WK_ARRAY_SIZE(reserved_names); i++) {
		if (!strcmp(name, reserved_names[i]))
			return wk_err(errstr, errstr_size,
				      "'%s' is not an extension attribute: the core writes it",
				      name);
	}
	if (ev->next > WK_CE_EXT_MAX)
		return wk_err(errstr, errstr_size, "corrupt event: %zu extension attributes",
			      ev->next);
	for (size_t i = 0; i < ev->next; i++) {
		if (!strcmp(ev->ext[i].header + 3, name))
			return wk_err(errstr, errstr_size, "extension attribute '%s' added twice",
				      name);
	}
	if (ev->next == WK_CE_EXT_MAX)
		return wk_err(errstr, errstr_size,
			      "extension attribute '%s': the event has %d already", name,
			      WK_CE_EXT_MAX);
	if (!value || !*value)
		return wk_err(errstr, errstr_size, "extension attribute '%s': empty value", name);
	vlen = strlen(value);
	if (vlen >= WK_CE_EXT_VALUE_MAX)
		return wk_err(errstr, errstr_size,
			      "extension attribute '%s': value of %zu bytes, over the %d byte cap",
			      name, vlen, WK_CE_EXT_VALUE_MAX - 1);
	if (!valid_ce_string(value, vlen))
		return wk_err(errstr, errstr_size,
			      "extension attribute '%s': value is not UTF-8 text without control "
			      "characters",
			      name);
	x = &ev->ext[ev->next++];
	snprintf(x->header, sizeof(x->header), "ce_%s", name);
	memcpy(x->value, value, vlen + 1);
	return 0;
}

static bool valid_time(const char *s)
{
	int64_t ms;

	return wk_time_parse_ms(s, &ms) == 0;
}

/* application/json, or any type/subtype ending in "+json", with optional parameters. */
static bool json_content_type(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && !strncasecmp(ct, "application/json", 16))
		return true;
	return n > 5 && !strncasecmp(ct + n - 5, "+json", 5) && memchr(ct, '/', n);
}

/* Copy header `name` into out (cap out_size incl. NUL); required headers must be non-empty.
 * Returns 1 if copied, 0 if absent (optional), -1 on error. */
static int take(const rd_kafka_headers_t *hdrs, const char *name, bool required, char *out,
		size_t out_size, char *errstr, size_t errstr_size)
{
	size_t len = 0;
	const void *hv = NULL;
	const char *v = NULL;

	/* as wk_kafka_header: the last one; a null-valued header is present but empty */
	if (rd_kafka_header_get_last(hdrs, name, &hv, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		v = hv ? (const char *)hv : "";
		if (!hv)
			len = 0;
	}

	out[0] = '\0';
	if (!v) {
		if (required)
			return wk_err(errstr, errstr_size, "missing header '%s'", name);
		return 0;
	}
	if (len == 0)
		return wk_err(errstr, errstr_size, "empty header '%s'", name);
	if (len >= out_size)
		return wk_err(errstr, errstr_size,
			      "header '%s' is %zu bytes, over the %zu byte cap", name, len,
			      out_size - 1);
	if (!valid_ce_string(v, len))
		return wk_err(errstr, errstr_size,
			      "header '%s' is not UTF-8 text without control characters", name);
	memcpy(out, v, len);
	out[len] = '\0';
	return 1;
}

int wk_cloudevent_decode(const rd_kafka_message_t *m, struct wk_cloudevent *ev, char *errstr,
			 size_t errstr_size)
{
	rd_kafka_headers_t *hdrs;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		memset(ev, 0, sizeof(*ev));
		return wk_err(errstr, errstr_size, "no headers: not a binary-mode cloudevent");
	}
	return wk_cloudevent_decode_parts(hdrs, m->payload, m->len, ev, errstr, errstr_size);
}

int wk_cloudevent_decode_parts(const rd_kafka_headers_t *hdrs, const void *payload, size_t len,
			       struct wk_cloudevent *ev, char *errstr, size_t errstr_size)
{
	char specversion[8];
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (!hdrs)
		return wk_err(errstr, errstr_size, "no headers: not a binary-mode cloudevent");
	for (size_t i = 0; i < WK_ARRAY_SIZE(known_headers); i++) {
		const void *v;
		size_t sz;

		if (rd_kafka_header_get(hdrs, 1, known_headers[i], &v, &sz) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			return wk_err(errstr, errstr_size, "duplicate header '%s'",
				      known_headers[i]);
	}
	if (take(hdrs, "content-type", false, ev->content_type, sizeof(ev->content_type), errstr,
		 errstr_size) < 0)
		return -1;
	if (!strncasecmp(ev->content_type, "application/cloudevents", 23))
		return wk_err(errstr, errstr_size,
			      "content-type '%s': structured content mode is not accepted",
			      ev->content_type);
	if (!ev->content_type[0])
		strcpy(ev->content_type, "application/json");
	else if (!json_content_type(ev->content_type))
		return wk_err(errstr, errstr_size, "content-type '%s' is not JSON",
			      ev->content_type);
	if (take(hdrs, "ce_specversion", true, specversion, sizeof(specversion), errstr,
		 errstr_size) < 0)
		return -1;
	if (strcmp(specversion, "1.0"))
		return wk_err(errstr, errstr_size, "ce_specversion '%s' is not '1.0'", specversion);
	if (take(hdrs, "ce_id", true, ev->id, sizeof(ev->id), errstr, errstr_size) < 0 ||
	    take(hdrs, "ce_source", true, ev->source, sizeof(ev->source), errstr, errstr_size) <
		0 ||
	    take(hdrs, "ce_type", true, ev->type, sizeof(ev->type), errstr, errstr_size) < 0 ||
	    take(hdrs, "ce_subject", false, ev->subject, sizeof(ev->subject), errstr, errstr_size) <
		0)
		return -1;
	if (!valid_uri_reference(ev->source, strlen(ev->source)))
		return wk_err(errstr, errstr_size, "ce_source '%s' is not a URI reference",
			      ev->source);
	rc = take(hdrs, "ce_time", false, ev->time, sizeof(ev->time), errstr, errstr_size);
	if (rc < 0)
		return -1;
	if (rc > 0 && !valid_time(ev->time))
		return wk_err(errstr, errstr_size, "ce_time '%s' is not an RFC 3339 timestamp",
			      ev->time);
	if (len > WK_KAFKA_MAX_MESSAGE)
		return wk_err(errstr, errstr_size, "data is %zu bytes, over the %d byte cap", len,
			      WK_KAFKA_MAX_MESSAGE);
	ev->data = payload;
	ev->data_len = payload ? len : 0;
	return 0;
}

int wk_cloudevent_send(struct wk_producer *p, const char *topic, const char *key,
		       const struct wk_cloudevent *ev, const char *data, size_t data_len,
		       void *msg_opaque, char *errstr, size_t errstr_size)
{
	struct wk_kafka_header h[8 + WK_CE_EXT_MAX];
	struct wk_kafka_msg msg = {0};
	char id[WK_UUID_LEN + 1], ts[WK_CE_TIME_MAX];
	size_t n = 0;

	if (!ev->source[0] || !ev->type[0])
		return wk_err(errstr, errstr_size, "cloudevent needs a source and a type");
	if (!valid_uri_reference(ev->source, strlen(ev->source)))
		return wk_err(errstr, errstr_size, "ce_source '%s' is not a URI reference",
			      ev->source);
	if (ev->time[0] && !valid_time(ev->time))
		return wk_err(errstr, errstr_size, "ce_time '%s' is not an RFC 3339 timestamp",
			      ev->time);
	if (ev->next > WK_CE_EXT_MAX)
		return wk_err(errstr, errstr_size, "corrupt event: %zu extension attributes",
			      ev->next);
	if (!ev->id[0])
		wk_uuid_v4(id);
	if (!ev->time[0])
		wk_time_format_micro(wk_time_now_ms() * 1000, ts, sizeof(ts));
	h[n++] = (struct wk_kafka_header){"ce_specversion", "1.0", -1};
	h[n++] = (struct wk_kafka_header){"ce_id", ev->id[0] ? ev->id : id, -1};
	h[n++] = (struct wk_kafka_header){"ce_source", ev->source, -1};
	h[n++] = (struct wk_kafka_header){"ce_type", ev->type, -1};
	h[n++] = (struct wk_kafka_header){"ce_time", ev->time[0] ? ev->time : ts, -1};
	if (ev->subject[0])
		h[n++] = (struct wk_kafka_header){"ce_subject", ev->subject, -1};
	/* Partitioning extension: the key travels with the event (reference kafka.md §1.3). */
	if (key && *key)
		h[n++] = (struct wk_kafka_header){"ce_partitionkey", key, -1};
	for (size_t i = 0; i < ev->next; i++)
		h[n++] = (struct wk_kafka_header){ev->ext[i].header, ev->ext[i].value, -1};
	h[n++] = (struct wk_kafka_header){
	    "content-type", ev->content_type[0] ? ev->content_type : "application/json", -1};
	msg.topic = topic;
	msg.key = key;
	msg.key_len = key ? strlen(key) : 0;
	msg.value = data;
	msg.value_len = data ? data_len : 0;
	msg.headers = h;
	msg.nheaders = n;
	return wk_producer_send(p, &msg, msg_opaque, errstr, errstr_size);
}

enum wk_request_owner wk_request_owner(const rd_kafka_message_t *m)
{
	static const char clone[] = WK_CE_REQUEST_CLONE;
	size_t n;
	const char *t = wk_kafka_header(m, "ce_type", &n);

	return t && n == sizeof(clone) - 1 && !memcmp(t, clone, n) ? WK_OWNER_CLONER
								   : WK_OWNER_MIGRATOR;
}
