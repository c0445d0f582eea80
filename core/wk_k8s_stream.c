/* wk_k8s_stream.c - watch stream framing: capped line splitter and watch event parser. */
#include "wk_k8s_watch.h"

#include <cjson/cJSON.h>

const char *wk_k8s_event_type_name(enum wk_k8s_event_type t)
{
	static const char *const names[] = {"ADDED", "MODIFIED",     "DELETED",	  "BOOKMARK",
					    "ERROR", "RELIST_BEGIN", "RELIST_END"};
	return (size_t)t < WK_ARRAY_SIZE(names) ? names[t] : "UNKNOWN";
}

void wk_k8s_lines_init(struct wk_k8s_lines *l, size_t max_line)
{
	l->max_line = max_line ? max_line : WK_K8S_WATCH_MAX_LINE;
	/* +1: the '\r' of a "\r\n" ending may sit in the buffer until the '\n' arrives */
	wk_buf_init(&l->buf, l->max_line + 1);
	l->discarding = false;
}

void wk_k8s_lines_release(struct wk_k8s_lines *l)
{
	wk_buf_release(&l->buf);
}

void wk_k8s_lines_reset(struct wk_k8s_lines *l)
{
	wk_buf_reset(&l->buf);
	l->discarding = false;
}

size_t wk_k8s_lines_pending(const struct wk_k8s_lines *l)
{
	return l->buf.len;
}

static int emit(struct wk_k8s_lines *l, const char *p, size_t n, wk_k8s_line_cb cb, void *opaque)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n > l->max_line)
		return cb(NULL, n, opaque);
	return n ? cb(p, n, opaque) : 0;
}

int wk_k8s_lines_feed(struct wk_k8s_lines *l, const char *data, size_t len, wk_k8s_line_cb cb,
		      void *opaque)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t chunk = nl ? (size_t)(nl - data) : len;
		int r = 0;

		if (l->discarding) {
			/* the rest of an oversized line */
			if (nl)
				l->discarding = false;
		} else if (nl && l->buf.len == 0) {
			/* common case: a whole line inside this chunk, no copy */
			r = emit(l, data, chunk, cb, opaque);
		} else if (wk_buf_add(&l->buf, data, chunk) < 0) {
			size_t seen = l->buf.len + chunk;

			wk_buf_reset(&l->buf);
			l->discarding = !nl;
			r = cb(NULL, seen, opaque);
		} else if (nl) {
			r = emit(l, l->buf.buf, l->buf.len, cb, opaque);
			wk_buf_reset(&l->buf);
		}
		if (nl)
			chunk++;
		data += chunk;
		len -= chunk;
		if (r)
			return r;
	}
	return 0;
}

void wk_k8s_event_release(struct wk_k8s_event *ev)
{
	if (!ev)
		return;
	cJSON_Delete(ev->root);
	memset(ev, 0, sizeof(*ev));
}

int wk_k8s_event_parse(const char *line, size_t len, struct wk_k8s_event *ev, const char **reason,
		       char *errstr, size_t errstr_size)
{
	static const struct {
		const char *name;
		enum wk_k8s_event_type type;
	} types[] = {
	    {"ADDED", WK_K8S_EV_ADDED},	    {"MODIFIED", WK_K8S_EV_MODIFIED},
	    {"DELETED", WK_K8S_EV_DELETED}, {"BOOKMARK", WK_K8S_EV_BOOKMARK},
	    {"ERROR", WK_K8S_EV_ERROR},
	};
	const cJSON *type, *md, *rv;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	*reason = "json";
	ev->root = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(ev->root)) {
		wk_k8s_event_release(ev);
		return wk_err(errstr, errstr_size, "watch line is not a JSON object");
	}
	type = cJSON_GetObjectItemCaseSensitive(ev->root, "type");
	if (!cJSON_IsString(type)) {
		*reason = "type";
		wk_k8s_event_release(ev);
		return wk_err(errstr, errstr_size, "watch event has no type");
	}
	for (i = 0; i < WK_ARRAY_SIZE(types); i++)
		if (!strcmp(type->valuestring, types[i].name))
			break;
	if (i == WK_ARRAY_SIZE(types)) {
		char t[40];

		*reason = "type";
		wk_strlcpy(t, type->valuestring, sizeof(t));
		wk_k8s_event_release(ev);
		return wk_err(errstr, errstr_size, "unknown watch event type '%s'", t);
	}
	ev->type = types[i].type;
	ev->object = cJSON_GetObjectItemCaseSensitive(ev->root, "object");
	if (!cJSON_IsObject(ev->object)) {
		*reason = "object";
		wk_k8s_event_release(ev);
		return wk_err(errstr, errstr_size, "watch event has no object");
	}
	if (ev->type == WK_K8S_EV_ERROR) {
		if (wk_k8s_status_from_json(ev->object, &ev->status) < 0) {
			/* still an error; make it a generic one */
			memset(&ev->status, 0, sizeof(ev->status));
			wk_strlcpy(ev->status.message, "ERROR event without a Status",
				   sizeof(ev->status.message));
		}
		return 0;
	}
	md = cJSON_GetObjectItemCaseSensitive(ev->object, "metadata");
	rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	if (cJSON_IsString(rv) && *rv->valuestring)
		ev->rv = rv->valuestring;
	else if (ev->type == WK_K8S_EV_BOOKMARK) {
		*reason = "object";
		wk_k8s_event_release(ev);
		return wk_err(errstr, errstr_size, "bookmark without a resourceVersion");
	}
	return 0;
}
