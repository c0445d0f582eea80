/* aud_event.c - wukong-audit: audit events and dead letters to audit log entries. */
#include "aud_event.h"
#include "wk_log.h"
#include "wk_time.h"

static const char *const outcomes[] = {"success", "failure",   "rejected",
				       "pending", "cancelled", "info"};
static const char *const request_sources[] = {"spec", "policy", "kafka", "manual", "system"};

void aud_rec_init(struct aud_rec *r)
{
	memset(r, 0, sizeof(*r));
	wk_audit_entry_init(&r->e);
	wk_buf_init(&r->key, 4096);
}

void aud_rec_release(struct aud_rec *r)
{
	for (size_t i = 0; i < r->ns; i++)
		free(r->s[i]);
	cJSON_Delete(r->body);
	cJSON_Delete(r->details);
	wk_buf_release(&r->key);
	r->ns = 0;
	r->body = r->details = NULL;
}

/* An owned NUL-terminated copy of n bytes with NUL bytes replaced by U+FFFD (the log escapes
 * everything else), cut so that the copy, replacements included, is at most cap bytes: the cap
 * applies to what the log will see, never to the input before it grows. */
static const char *own(struct aud_rec *r, const char *p, size_t n, size_t cap)
{
	char *s, *o;
	size_t out = 0;

	if (r->ns == AUD_NSTR)
		WK_BUG("aud_rec: more than %d strings", AUD_NSTR);
	if (n > cap)
		n = cap;
	s = o = wk_xmalloc(n * 3 + 1);
	for (size_t i = 0; i < n; i++) {
		size_t w = p[i] ? 1 : 3;

		if (out + w > cap)
			break;
		if (p[i]) {
			*o++ = p[i];
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		}
		out += w;
	}
	*o = '\0';
	r->s[r->ns++] = s;
	return s;
}

/* A header as an owned string (cut at cap), or NULL when absent. *bad is set when it is over the
 * cap or holds a NUL byte. */
static const char *hdr(struct aud_rec *r, const struct aud_input *in, const char *name, size_t cap,
		       bool *bad)
{
	size_t n;
	const char *p = in->header(in->msg, name, &n);

	if (!p)
		return NULL;
	if (bad)
		*bad = n > cap || memchr(p, '\0', n);
	return own(r, p, n, cap);
}

/* "/clusters/<id>" -> "<id>" (owned), or NULL. */
static const char *cluster_of(struct aud_rec *r, const char *source)
{
	static const char prefix[] = "/clusters/";

	if (!source || strncmp(source, prefix, sizeof(prefix) - 1) || !source[sizeof(prefix) - 1])
		return NULL;
	source += sizeof(prefix) - 1;
	return own(r, source, strcspn(source, "/"), WK_AUDITLOG_MAX_ID);
}

/* ce_subject "<kind>/<ns>/<name>" into the entry's object when it has that shape. */
static void object_of_subject(struct aud_rec *r, const char *subject)
{
	const char *a, *b;

	if (!subject || !(a = strchr(subject, '/')) || !(b = strchr(a + 1, '/')) ||
	    strchr(b + 1, '/') || a == subject || b == a + 1 || !b[1])
		return;
	r->e.object_kind = own(r, subject, (size_t)(a - subject), WK_AUDITLOG_MAX_ID);
	r->e.object_namespace = own(r, a + 1, (size_t)(b - a - 1), WK_AUDITLOG_MAX_ID);
	r->e.object_name = own(r, b + 1, strlen(b + 1), WK_AUDITLOG_MAX_ID);
}

static void input_coords(struct aud_rec *r, const struct aud_input *in)
{
	r->e.input_topic = in->topic;
	r->e.input_partition = in->partition;
	r->e.input_offset = in->offset;
}

static void key_kafka(struct aud_rec *r, const struct aud_input *in)
{
	wk_buf_reset(&r->key);
	if (wk_buf_addf(&r->key, "kafka\n%s\n%d\n%lld", in->topic ? in->topic : "",
			(int)in->partition, (long long)in->offset))
		WK_BUG("dedupe key over its cap");
}

static void set_key(struct aud_rec *r)
{
	r->e.dedupe_key = r->key.buf;
	r->e.dedupe_key_len = r->key.len;
}

void aud_make_invalid(struct aud_rec *r, const struct aud_input *in, const char *why)
{
	const char *src, *id;

	wk_audit_entry_init(&r->e);
	wk_strlcpy(r->invalid_reason, why, sizeof(r->invalid_reason));
	r->e.kind = "invalid-event";
	r->e.action = "audit.invalid-event";
	r->e.outcome = "invalid";
	r->e.reason = r->invalid_reason;
	src = hdr(r, in, "ce_source", WK_AUDITLOG_MAX_SOURCE, NULL);
	id = hdr(r, in, "ce_id", WK_AUDITLOG_MAX_ID, NULL);
	r->e.ce_source = src;
	r->e.ce_id = id;
	r->e.ce_type = hdr(r, in, "ce_type", WK_AUDITLOG_MAX_SOURCE, NULL);
	r->e.cluster = cluster_of(r, src);
	r->e.raw = in->value;
	r->e.raw_len = in->value ? in->len : 0;
	input_coords(r, in);
	/* Redelivery of the same bad event is still one record; a corrected event sent again
	 * with the same id is recorded too (its key differs). */
	wk_buf_reset(&r->key);
	if (src && *src && id && *id) {
		if (wk_buf_addf(&r->key, "invalid\n%s\n%s", src, id))
			WK_BUG("dedupe key over its cap");
	} else {
		key_kafka(r, in);
	}
	set_key(r);
}

/* A string member: 0 ok (*out NULL when absent and optional), -1 with why. */
static int member(const cJSON *o, const char *name, bool required, size_t cap, const char **out,
		  char *why, size_t why_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return wk_err(why, why_size, "field '%s' is required", name);
		return 0;
	}
	if (!cJSON_IsString(v))
		return wk_err(why, why_size, "field '%s' must be a string", name);
	if (required && !*v->valuestring)
		return wk_err(why, why_size, "field '%s' must not be empty", name);
	if (strlen(v->valuestring) > cap)
		return wk_err(why, why_size, "field '%s' is over the cap of %zu bytes", name, cap);
	*out = v->valuestring;
	return 0;
}

static int one_of(const char *v, const char *name, const char *const *set, size_t n, char *why,
		  size_t why_size)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, set[i]))
			return 0;
	return wk_err(why, why_size, "field '%s': unknown value", name);
}

static int int_member(const cJSON *o, const char *name, int64_t max, int64_t *out, char *why,
		      size_t why_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = -1;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return wk_err(why, why_size, "field '%s' must be an integer from 0 to %lld", name,
			      (long long)max);
	*out = (int64_t)v->valuedouble;
	return 0;
}

static int parse_body(struct aud_rec *r, const cJSON *b, char *why, size_t why_size)
{
	struct wk_audit_entry *e = &r->e;
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(b, "requestSource");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(b, "object");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(b, "details");
	const size_t id = WK_AUDITLOG_MAX_ID;
	const char *cluster;

	if (member(b, "actor", true, id, &e->actor, why, why_size) ||
	    member(b, "action", true, id, &e->action, why, why_size) ||
	    member(b, "outcome", true, id, &e->outcome, why, why_size) ||
	    one_of(e->outcome, "outcome", outcomes, WK_ARRAY_SIZE(outcomes), why, why_size) ||
	    member(b, "requestId", false, id, &e->request_id, why, why_size) ||
	    member(b, "cluster", false, id, &cluster, why, why_size) ||
	    member(b, "reason", false, WK_AUDITLOG_MAX_TEXT, &e->reason, why, why_size) ||
	    member(b, "message", false, WK_AUDITLOG_MAX_TEXT, &e->message, why, why_size))
		return -1;
	if (cluster)
		e->cluster = cluster;
	if (rs && !cJSON_IsNull(rs)) {
		int64_t part, off;

		if (!cJSON_IsObject(rs))
			return wk_err(why, why_size, "field 'requestSource' must be an object");
		if (member(rs, "type", true, id, &e->request_source, why, why_size) ||
		    one_of(e->request_source, "requestSource.type", request_sources,
			   WK_ARRAY_SIZE(request_sources), why, why_size) ||
		    member(rs, "topic", false, WK_AUDITLOG_MAX_SOURCE, &e->request_topic, why,
			   why_size) ||
		    int_member(rs, "partition", INT32_MAX, &part, why, why_size) ||
		    int_member(rs, "offset", INT64_MAX / 2, &off, why, why_size))
			return -1;
		e->request_partition = (int32_t)part;
		e->request_offset = off;
	}
	if (obj && !cJSON_IsNull(obj)) {
		if (!cJSON_IsObject(obj))
			return wk_err(why, why_size, "field 'object' must be an object");
		if (member(obj, "kind", false, id, &e->object_kind, why, why_size) ||
		    member(obj, "namespace", false, id, &e->object_namespace, why, why_size) ||
		    member(obj, "name", true, id, &e->object_name, why, why_size))
			return -1;
	}
	if (det && !cJSON_IsNull(det)) {
		if (!cJSON_IsObject(det))
			return wk_err(why, why_size, "field 'details' must be an object");
		e->details = det;
	}
	return 0;
}

static void translate_event(struct aud_rec *r, const struct aud_input *in)
{
	struct wk_audit_entry *e = &r->e;
	char why[512];
	bool bad_id = false, bad_src = false, bad_type = false, bad_time = false;
	const char *spec, *subject;
	int64_t t;

	if (in->value && in->len > AUD_MAX_EVENT) {
		snprintf(why, sizeof(why), "oversized: value is %zu bytes, over the cap of %d",
			 in->len, AUD_MAX_EVENT);
		aud_make_invalid(r, in, why);
		return;
	}
	spec = hdr(r, in, "ce_specversion", 16, NULL);
	e->ce_id = hdr(r, in, "ce_id", WK_AUDITLOG_MAX_ID, &bad_id);
	e->ce_source = hdr(r, in, "ce_source", WK_AUDITLOG_MAX_SOURCE, &bad_src);
	e->ce_type = hdr(r, in, "ce_type", WK_AUDITLOG_MAX_SOURCE, &bad_type);
	e->event_time = hdr(r, in, "ce_time", 64, &bad_time);
	subject = hdr(r, in, "ce_subject", 3 * WK_AUDITLOG_MAX_ID, NULL);
	if (!spec || strcmp(spec, "1.0"))
		snprintf(why, sizeof(why), "header 'ce_specversion' must be \"1.0\"");
	else if (!e->ce_id || !*e->ce_id || bad_id)
		snprintf(why, sizeof(why),
			 "header 'ce_id' missing, empty, over %d bytes or not text",
			 WK_AUDITLOG_MAX_ID);
	else if (!e->ce_source || !*e->ce_source || bad_src)
		snprintf(why, sizeof(why),
			 "header 'ce_source' missing, empty, over %d bytes or not text",
			 WK_AUDITLOG_MAX_SOURCE);
	else if (!e->ce_type || bad_type || strcmp(e->ce_type, AUD_CE_TYPE))
		snprintf(why, sizeof(why), "header 'ce_type' must be \"%s\"", AUD_CE_TYPE);
	else if (e->event_time && (bad_time || wk_time_parse_us(e->event_time, &t)))
		snprintf(why, sizeof(why), "header 'ce_time' is not an RFC 3339 time");
	else if (!in->value || !in->len)
		snprintf(why, sizeof(why), "no value: an audit event carries a JSON object");
	else if (!(r->body = cJSON_ParseWithLength(in->value, in->len)))
		snprintf(why, sizeof(why), "value is not valid JSON");
	else if (!cJSON_IsObject(r->body))
		snprintf(why, sizeof(why), "value is not a JSON object");
	else
		why[0] = '\0';
	if (!why[0]) {
		e->kind = "event";
		e->cluster = cluster_of(r, e->ce_source);
		object_of_subject(r, subject);
		if (!parse_body(r, r->body, why, sizeof(why)))
			why[0] = '\0';
	}
	if (why[0]) {
		aud_make_invalid(r, in, why);
		return;
	}
	input_coords(r, in);
	wk_buf_reset(&r->key);
	if (wk_buf_addf(&r->key, "ce\n%s\n%s", e->ce_source, e->ce_id))
		WK_BUG("dedupe key over its cap");
	set_key(r);
}

static void translate_dead_letter(struct aud_rec *r, const struct aud_input *in)
{
	struct wk_audit_entry *e = &r->e;
	const char *otopic, *opart, *ooff, *svc, *dlt_time, *osize, *subject;
	long long part = -1, off = -1;
	char *end;

	e->kind = "rejected-submission";
	e->action = "submission.rejected";
	e->outcome = "rejected";
	e->ce_source = hdr(r, in, "ce_source", WK_AUDITLOG_MAX_SOURCE, NULL);
	e->ce_id = hdr(r, in, "ce_id", WK_AUDITLOG_MAX_ID, NULL);
	e->ce_type = hdr(r, in, "ce_type", WK_AUDITLOG_MAX_SOURCE, NULL);
	subject = hdr(r, in, "ce_subject", 3 * WK_AUDITLOG_MAX_ID, NULL);
	otopic = hdr(r, in, "x-dlt-original-topic", WK_AUDITLOG_MAX_SOURCE, NULL);
	opart = hdr(r, in, "x-dlt-original-partition", 16, NULL);
	ooff = hdr(r, in, "x-dlt-original-offset", 24, NULL);
	e->reason = hdr(r, in, "x-dlt-reason", WK_AUDITLOG_MAX_TEXT, NULL);
	e->message = hdr(r, in, "x-dlt-error", WK_AUDITLOG_MAX_TEXT, NULL);
	svc = hdr(r, in, "x-dlt-service", WK_AUDITLOG_MAX_ID, NULL);
	dlt_time = hdr(r, in, "x-dlt-time", 64, NULL);
	osize = hdr(r, in, "x-dlt-original-size", 24, NULL);
	if (opart) {
		part = strtoll(opart, &end, 10);
		if (*end || part < 0 || part > INT32_MAX)
			part = -1;
	}
	if (ooff) {
		off = strtoll(ooff, &end, 10);
		if (*end || off < 0)
			off = -1;
	}
	e->actor = svc;
	e->request_source = "kafka";
	e->request_topic = otopic;
	e->request_partition = (int32_t)part;
	e->request_offset = off;
	e->cluster = cluster_of(r, e->ce_source);
	object_of_subject(r, subject);
	if (!e->reason)
		e->reason = "unknown";
	/* Best effort from the submission itself: its request id and object, when it is JSON. */
	if (in->value && in->len && in->len <= WK_AUDITLOG_MAX_RECORD &&
	    (r->body = cJSON_ParseWithLength(in->value, in->len)) && cJSON_IsObject(r->body)) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, "requestId");

		if (cJSON_IsString(v) && strlen(v->valuestring) <= WK_AUDITLOG_MAX_ID)
			e->request_id = v->valuestring;
		if (!e->object_name) {
			const cJSON *ns = cJSON_GetObjectItemCaseSensitive(r->body, "namespace");
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(r->body, "name");

			if (cJSON_IsString(ns) && cJSON_IsString(nm) &&
			    strlen(ns->valuestring) <= WK_AUDITLOG_MAX_ID &&
			    strlen(nm->valuestring) <= WK_AUDITLOG_MAX_ID) {
				e->object_namespace = ns->valuestring;
				e->object_name = nm->valuestring;
			}
		}
	}
	if (!e->request_id)
		e->request_id = e->ce_id;
	r->details = cJSON_CreateObject();
	if (dlt_time)
		cJSON_AddStringToObject(r->details, "deadLetteredAt", dlt_time);
	if (osize)
		cJSON_AddStringToObject(r->details, "originalSize", osize);
	e->details = r->details;
	/* The submission as it was rejected: its first bytes. */
	e->raw = in->value;
	e->raw_len = in->value ? in->len : 0;
	input_coords(r, in);
	wk_buf_reset(&r->key);
	if (otopic && opart && ooff && svc) {
		if (wk_buf_addf(&r->key, "dlq\n%s\n%s\n%s\n%s", svc, otopic, opart, ooff))
			WK_BUG("dedupe key over its cap");
	} else {
		/* Not written by wk_dlq_send: all we know is where it sits. */
		if (!svc && !otopic)
			e->message =
			    e->message ? e->message : "dead letter without x-dlt-* headers";
		key_kafka(r, in);
	}
	set_key(r);
}

void aud_translate(struct aud_rec *r, enum aud_input_kind kind, const struct aud_input *in)
{
	if (kind == AUD_DEAD_LETTER)
		translate_dead_letter(r, in);
	else
		translate_event(r, in);
}

void aud_make_gap(struct aud_rec *r, const char *topic, int32_t partition, int64_t from,
		  int64_t to)
{
	char why[256];

	aud_rec_release(r);
	aud_rec_init(r);
	snprintf(why, sizeof(why),
		 "offsets %lld..%lld of '%s' [%d] were removed from the broker (retention or its "
		 "size limit) before this log read them: %lld message(s) are not in this log",
		 (long long)from, (long long)to, topic, (int)partition,
		 (long long)(to - from + 1));
	wk_strlcpy(r->invalid_reason, why, sizeof(r->invalid_reason));
	r->e.kind = "input-gap";
	r->e.action = "audit.input-gap";
	r->e.outcome = "lost";
	r->e.actor = "wukong-audit";
	r->e.reason = r->invalid_reason;
	r->details = cJSON_CreateObject();
	cJSON_AddStringToObject(r->details, "topic", topic);
	cJSON_AddNumberToObject(r->details, "partition", partition);
	cJSON_AddNumberToObject(r->details, "fromOffset", (double)from);
	cJSON_AddNumberToObject(r->details, "toOffset", (double)to);
	cJSON_AddNumberToObject(r->details, "lost", (double)(to - from + 1));
	r->e.details = r->details;
	r->e.input_topic = topic;
	r->e.input_partition = partition;
	r->e.input_offset = from;
	wk_buf_reset(&r->key);
	if (wk_buf_addf(&r->key, "gap\n%s\n%d\n%lld", topic, (int)partition, (long long)from))
		WK_BUG("dedupe key over its cap");
	set_key(r);
}

void aud_make_minimal(struct aud_rec *r, const struct aud_input *in, const char *why)
{
	wk_audit_entry_init(&r->e);
	wk_strlcpy(r->invalid_reason, why, sizeof(r->invalid_reason));
	r->e.kind = "invalid-event";
	r->e.action = "audit.invalid-event";
	r->e.outcome = "invalid";
	r->e.reason = r->invalid_reason;
	input_coords(r, in);
	key_kafka(r, in);
	set_key(r);
}

int aud_append(struct wk_auditlog *log, struct aud_rec *r, enum aud_input_kind kind,
	       const struct aud_input *in, uint64_t *seq, char *errstr, size_t errstr_size)
{
	char why[600];
	int rc;

	aud_translate(r, kind, in);
	rc = wk_auditlog_append(log, &r->e, seq, errstr, errstr_size);
	if (rc != WK_AUDITLOG_REFUSED)
		return rc;
	/* The content is over a cap once escaped: record that it came, and why not more. */
	snprintf(why, sizeof(why), "record refused by the log: %s", errstr);
	aud_make_invalid(r, in, why);
	rc = wk_auditlog_append(log, &r->e, seq, errstr, errstr_size);
	if (rc != WK_AUDITLOG_REFUSED)
		return rc;
	/* Still refused: nothing from the message any more, only where it sits and why. Content
	 * from outside never stops the log (a poison pill would stop it at every restart). */
	snprintf(why, sizeof(why), "invalid-event record refused by the log: %s", errstr);
	aud_make_minimal(r, in, why);
	rc = wk_auditlog_append(log, &r->e, seq, errstr, errstr_size);
	if (rc == WK_AUDITLOG_REFUSED)
		WK_BUG("minimal record refused: %s", errstr); /* holds no outside content */
	return rc;
}
