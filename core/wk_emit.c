/* wk_emit.c - status updates, audit events, Kubernetes Events and CloudEvent sends shared by the
 * executors. */
#include "wk_emit.h"

#include "wk_cloudevent.h"
#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_time.h"
#include "wk_types.h"
#include "wk_utf8.h"

#include <cjson/cJSON.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* The per-installation key of the keyed ids (wk_emit_set_id_key); length 0 = none. */
static unsigned char id_key[4096];
static size_t id_key_len;

int64_t wk_emit_next_seq(int64_t *last)
{
	int64_t now = wk_time_now_ms() * 1000;

	*last = now > *last ? now : *last + 1;
	return *last;
}

void wk_emit_sha256_hex(const void *data, size_t len, size_t n, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (n > 64)
		n = 64;
	SHA256(data, len, md);
	for (i = 0; i < n; i++)
		out[i] = hex[(md[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = 0;
}

void wk_emit_set_id_key(const void *key, size_t len)
{
	if (len > sizeof(id_key))
		len = sizeof(id_key);
	if (len)
		memcpy(id_key, key, len);
	id_key_len = len;
}

bool wk_emit_id_keyed(void)
{
	return id_key_len > 0;
}

void wk_emit_keyed_hex(const void *data, size_t len, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!id_key_len) {
		wk_emit_sha256_hex(data, len, n, out);
		return;
	}
	if (n > 64)
		n = 64;
	if (!HMAC(EVP_sha256(), id_key, (int)id_key_len, data, len, md, &mdlen) || mdlen < 32)
		WK_BUG("HMAC-SHA256 failed");
	for (i = 0; i < n; i++)
		out[i] = hex[(md[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = 0;
}

static void make_id(const char *prefix, const char *const *parts, size_t nparts, bool keyed,
		    char *out, size_t out_size);

void wk_emit_id(const char *prefix, const char *const *parts, size_t nparts, char *out,
		size_t out_size)
{
	make_id(prefix, parts, nparts, false, out, out_size);
}

void wk_emit_keyed_id(const char *prefix, const char *const *parts, size_t nparts, char *out,
		      size_t out_size)
{
	make_id(prefix, parts, nparts, true, out, out_size);
}

static void make_id(const char *prefix, const char *const *parts, size_t nparts, bool keyed,
		    char *out, size_t out_size)
{
	struct {
		char *p;
		size_t n, cap;
	} b = {NULL, 0, 0};
	char h[41];
	size_t i;

	for (i = 0; i < nparts; i++) {
		const char *s = parts[i] ? parts[i] : "";
		size_t l = strlen(s) + 1;

		if (b.n + l + 1 > b.cap) {
			b.cap = (b.n + l + 1) * 2;
			b.p = wk_xrealloc(b.p, b.cap);
		}
		memcpy(b.p + b.n, s, l - 1);
		b.n += l - 1;
		b.p[b.n++] = '/';
	}
	if (keyed)
		wk_emit_keyed_hex(b.p ? b.p : "", b.n, 40, h);
	else
		wk_emit_sha256_hex(b.p ? b.p : "", b.n, 40, h);
	free(b.p);
	snprintf(out, out_size, "%s-%s", prefix ? prefix : "id", h);
}

static char *print(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!s)
		WK_BUG("cJSON_PrintUnformatted failed");
	return s;
}

static void add_int(cJSON *o, const char *k, int64_t v)
{
	/* A double would round microseconds away (cJSON prints 15 digits). */
	char n[32];

	snprintf(n, sizeof(n), "%lld", (long long)v);
	cJSON_AddRawToObject(o, k, n);
}

char *wk_emit_status_json(const struct wk_emit_status *s, int64_t now_ms)
{
	cJSON *o = cJSON_CreateObject();
	char t[40];
	size_t i;

	cJSON_AddStringToObject(o, "cluster", s->cluster);
	cJSON_AddStringToObject(o, "namespace", s->ns);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "source", s->source);
	add_int(o, "seq", s->seq);
	if (s->field && s->fields)
		cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "status"), s->field,
				      cJSON_Duplicate(s->fields, true));
	else if (s->fields && s->fields->child)
		cJSON_AddItemToObject(o, "status", cJSON_Duplicate(s->fields, true));
	if (s->nconditions) {
		cJSON *conds = cJSON_AddArrayToObject(o, "conditions");

		wk_time_format(now_ms, t, sizeof(t));
		for (i = 0; i < s->nconditions; i++) {
			const struct wk_emit_condition *c = &s->conditions[i];
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "type", c->type);
			cJSON_AddStringToObject(x, "status", c->status ? c->status : "Unknown");
			if (c->reason && *c->reason)
				cJSON_AddStringToObject(x, "reason", c->reason);
			cJSON_AddStringToObject(x, "message", c->message ? c->message : "");
			cJSON_AddStringToObject(x, "lastTransitionTime", t);
			if (c->observed_generation > 0)
				add_int(x, "observedGeneration", c->observed_generation);
			cJSON_AddItemToArray(conds, x);
		}
	}
	return print(o);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wk_emit_status_key(const char *body, size_t len, char *out, size_t out_size)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *st, *conds, *x;
	const char *parts[40], *id[4];
	char shape[WK_EMIT_SHAPE_MAX + 1], h[41];
	char *names[32];
	size_t np = 0, nn = 0, n = 0, i;
	bool top = false;

	if (!o)
		return -1;
	id[0] = wk_json_str(o, "cluster");
	id[1] = wk_json_str(o, "namespace");
	id[2] = wk_json_str(o, "name");
	id[3] = wk_json_str(o, "source");
	for (i = 0; i < 4; i++)
		if (!id[i] || !*id[i]) {
			cJSON_Delete(o);
			return -1;
		}
	/* The seq keys of consumers/status/st_table.h, without the source (it is in the key). */
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsObject(st))
		st = NULL;
	cJSON_ArrayForEach(x, st)
	{
		if (!x->string)
			continue;
		if (!strcmp(x->string, "migrationStatus") || !strcmp(x->string, "cloneStatus")) {
			if (np < WK_ARRAY_SIZE(parts))
				parts[np++] = x->string;
		} else {
			top = true;
		}
	}
	if (top)
		parts[np++] = "status";
	if (cJSON_GetObjectItemCaseSensitive(o, "observedGeneration"))
		parts[np++] = "observedGeneration";
	conds = cJSON_GetObjectItemCaseSensitive(o, "conditions");
	if (!cJSON_IsArray(conds))
		conds = NULL;
	cJSON_ArrayForEach(x, conds)
	{
		const char *t = wk_json_str(x, "type");
		size_t l;

		if (!t || nn >= WK_ARRAY_SIZE(names) || np >= WK_ARRAY_SIZE(parts))
			continue;
		l = strlen("conditions/") + strlen(t) + 1;
		names[nn] = wk_xmalloc(l);
		snprintf(names[nn], l, "conditions/%s", t);
		parts[np++] = names[nn++];
	}
	qsort(parts, np, sizeof(parts[0]), cmp_str);
	shape[0] = 0;
	for (i = 0; i < np; i++) {
		if (i && !strcmp(parts[i], parts[i - 1]))
			continue;
		n += strlen(parts[i]) + (i ? 1 : 0);
		if (n <= WK_EMIT_SHAPE_MAX) {
			if (i)
				strcat(shape, ",");
			strcat(shape, parts[i]);
		}
	}
	if (n > WK_EMIT_SHAPE_MAX) {
		/* Hash of the whole list: the same shape still gives the same key. */
		char *all = wk_xmalloc(n + 1);

		all[0] = 0;
		for (i = 0; i < np; i++) {
			if (i && !strcmp(parts[i], parts[i - 1]))
				continue;
			if (*all)
				strcat(all, ",");
			strcat(all, parts[i]);
		}
		wk_emit_sha256_hex(all, strlen(all), 40, h);
		free(all);
		snprintf(shape, sizeof(shape), "h-%s", h);
	}
	if (!np)
		snprintf(shape, sizeof(shape), "-");
	snprintf(out, out_size, "%s/%s/%s/%s/%s", id[0], id[1], id[2], id[3], shape);
	for (i = 0; i < nn; i++)
		free(names[i]);
	cJSON_Delete(o);
	return 0;
}

char *wk_emit_audit_json(const struct wk_emit_audit *a)
{
	cJSON *o = cJSON_CreateObject(), *src;

	if (a->request_id && *a->request_id)
		cJSON_AddStringToObject(o, "requestId", a->request_id);
	src = cJSON_AddObjectToObject(o, "requestSource");
	cJSON_AddStringToObject(src, "type",
				a->topic	 ? "kafka"
				: a->source_type ? a->source_type
						 : "system");
	if (a->topic) {
		cJSON_AddStringToObject(src, "topic", a->topic);
		cJSON_AddNumberToObject(src, "partition", a->partition);
		add_int(src, "offset", a->offset);
	}
	if (a->cluster && *a->cluster)
		cJSON_AddStringToObject(o, "cluster", a->cluster);
	if (a->name && *a->name) {
		cJSON *obj = cJSON_AddObjectToObject(o, "object");

		cJSON_AddStringToObject(obj, "kind", a->kind ? a->kind : "Wukong");
		if (a->ns && *a->ns)
			cJSON_AddStringToObject(obj, "namespace", a->ns);
		cJSON_AddStringToObject(obj, "name", a->name);
	}
	cJSON_AddStringToObject(o, "actor", a->actor);
	cJSON_AddStringToObject(o, "action", a->action);
	cJSON_AddStringToObject(o, "outcome", a->outcome);
	if (a->reason && *a->reason)
		cJSON_AddStringToObject(o, "reason", a->reason);
	if (a->message && *a->message)
		cJSON_AddStringToObject(o, "message", a->message);
	if (a->details)
		cJSON_AddItemToObject(o, "details", cJSON_Duplicate(a->details, true));
	return print(o);
}

/* Where the Event is created: event_ns, else the involved object's namespace. */
static const char *event_ns(const struct wk_emit_event *e)
{
	return e->event_ns && *e->event_ns ? e->event_ns : e->ns ? e->ns : "";
}

size_t wk_emit_event_message_len(const char *msg, size_t limit)
{
	size_t n = msg ? strlen(msg) : 0, i = 0, keep = 0;
	const size_t tail = sizeof(WK_EMIT_EVENT_TRUNC) - 1;

	if (n <= limit)
		return n;
	if (limit < tail)
		return 0;
	/* Whole characters only, up to limit - tail bytes; an invalid byte counts as one so a
	 * broken string cannot make the cut longer than the limit. */
	while (i < n) {
		size_t l = wk_utf8_seq(msg + i, n - i, NULL);

		if (!l)
			l = 1;
		if (i + l > limit - tail)
			break;
		i += l;
		keep = i;
	}
	return keep;
}

struct cJSON *wk_emit_k8s_event(const struct wk_emit_event *e, int64_t now_ms)
{
	cJSON *ev = cJSON_CreateObject(), *meta, *io, *src;
	char h[17], name[300], t[40], mt[40];
	const char *seed = e->seed ? e->seed : "";

	wk_emit_sha256_hex(seed, strlen(seed), 16, h);
	snprintf(name, sizeof(name), "%.200s.%s", e->name, h);
	wk_time_format(now_ms, t, sizeof(t));
	wk_time_format_micro(now_ms * 1000, mt, sizeof(mt));
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	meta = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", event_ns(e));
	io = cJSON_AddObjectToObject(ev, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion",
				e->api_version ? e->api_version : WK_API_VERSION_WUKONG);
	cJSON_AddStringToObject(io, "kind", e->kind ? e->kind : "Wukong");
	if (e->ns && *e->ns)
		cJSON_AddStringToObject(io, "namespace", e->ns);
	cJSON_AddStringToObject(io, "name", e->name);
	if (e->uid && *e->uid)
		cJSON_AddStringToObject(io, "uid", e->uid);
	cJSON_AddStringToObject(ev, "reason", e->reason);
	{
		/* With eventTime set the API server refuses a message over 1024 bytes
		 * (kubernetes pkg/apis/core/validation/events.go, NoteLengthLimit): cut on a
		 * character boundary and say so, as the scheduler does ("..."). The full text
		 * stays in the audit record. */
		const char *m = e->message ? e->message : "";
		size_t keep = wk_emit_event_message_len(m, WK_EMIT_EVENT_MESSAGE_MAX);

		if (keep == strlen(m)) {
			cJSON_AddStringToObject(ev, "message", m);
		} else {
			char *cut = wk_xmalloc(keep + sizeof(WK_EMIT_EVENT_TRUNC));

			memcpy(cut, m, keep);
			memcpy(cut + keep, WK_EMIT_EVENT_TRUNC, sizeof(WK_EMIT_EVENT_TRUNC));
			cJSON_AddStringToObject(ev, "message", cut);
			free(cut);
		}
	}
	cJSON_AddStringToObject(ev, "type", e->type ? e->type : "Normal");
	src = cJSON_AddObjectToObject(ev, "source");
	cJSON_AddStringToObject(src, "component", e->component);
	cJSON_AddStringToObject(ev, "firstTimestamp", t);
	cJSON_AddStringToObject(ev, "lastTimestamp", t);
	cJSON_AddStringToObject(ev, "eventTime", mt);
	cJSON_AddNumberToObject(ev, "count", 1);
	cJSON_AddStringToObject(ev, "action", e->action ? e->action : e->reason);
	cJSON_AddStringToObject(ev, "reportingComponent", e->component);
	cJSON_AddStringToObject(ev, "reportingInstance", e->instance ? e->instance : e->component);
	return ev;
}

int wk_emit_post_event(struct wk_k8s *k, const struct wk_emit_event *e, char *errstr,
		       size_t errstr_size)
{
	struct wk_k8s_result res;
	cJSON *ev = wk_emit_k8s_event(e, wk_time_now_ms());
	int rc = 0;

	if (wk_k8s_create(k, &wk_res_events, event_ns(e), ev, &res, errstr, errstr_size) < 0 &&
	    res.err != WK_K8S_EALREADYEXISTS)
		rc = -1;
	wk_k8s_result_release(&res);
	cJSON_Delete(ev);
	return rc;
}

int wk_emit_send(struct wk_producer *p, const char *topic, const char *key, const char *cluster,
		 const char *type, const char *id, const char *subject, const char *body,
		 void *msg_opaque, char *errstr, size_t errstr_size)
{
	struct wk_cloudevent ev;

	memset(&ev, 0, sizeof(ev));
	wk_strlcpy(ev.id, id ? id : "", sizeof(ev.id));
	snprintf(ev.source, sizeof(ev.source), "/clusters/%s", cluster);
	wk_strlcpy(ev.type, type, sizeof(ev.type));
	if (subject)
		wk_strlcpy(ev.subject, subject, sizeof(ev.subject));
	wk_strlcpy(ev.content_type, "application/json", sizeof(ev.content_type));
	return wk_cloudevent_send(p, topic, key, &ev, body, strlen(body), msg_opaque, errstr,
				  errstr_size);
}
