/* wk_k8s_watch.c - list+watch state machine for many resources on one curl multi handle. */
#include "wk_k8s_watch.h"
#include "wk_k8s_internal.h"
#include "wk_log.h"
#include "wk_metrics.h"

#include <time.h>
#include <cjson/cJSON.h>

#define ERROR_BODY_CAP (64u << 10) /* a non-200 watch answer is a Status, small */
#define SHORT_WATCH_MS 1000	   /* client-go: a stream ending this fast with no event failed */

enum wstate {
	W_IDLE,	    /* waiting for next_at, then starting a list or a watch */
	W_LISTING,  /* a list page is in flight */
	W_WATCHING, /* a watch stream is open */
};

/* Why a stream is being cut from inside the write callback. */
enum abort_reason {
	AB_NONE,
	AB_GONE,     /* ERROR 410: relist */
	AB_ERROR,    /* other ERROR event: re-watch after backoff */
	AB_OVERSIZE, /* line past the cap: relist after backoff */
	AB_TOOBIG,   /* list body past the cap */
};

struct wk_k8s_watch {
	struct wk_k8s *c;
	struct wk_k8s_watch *next;
	struct wk_k8s_resource res;
	char *ns, *label_selector, *field_selector;
	char label[160]; /* "wukongs.demo.example.com" for logs and metrics */
	struct wk_k8s_watch_opts opt;
	wk_k8s_watch_cb cb;
	void *opaque;

	enum wstate state;
	bool need_list; /* next start is a list, not a watch */
	bool synced;
	char *rv;   /* last resourceVersion */
	char *cont; /* continue token of the list in progress */
	bool list_restarted;
	int failures;	 /* consecutive, drives the backoff */
	int64_t next_at; /* monotonic ms when W_IDLE may start the next request */
	bool auth_retried;
	bool relist_requested; /* wk_k8s_watch_relist(): a fresh list must start after this */

	CURL *easy;
	struct curl_slist *hdrs;
	long http_code;	    /* of the transfer in flight, known at its first body byte */
	struct wk_buf body; /* list pages and non-200 answers */
	struct wk_k8s_lines lines;
	char retry_after[64];
	enum abort_reason abort;
	int64_t stream_start;
	uint64_t stream_events;
	bool started_once;

	struct wk_k8s_watch_stats stats;
};

static void metric(struct wk_metric *m, const char *a, const char *b)
{
	const char *const v[] = {a, b};

	if (m)
		wk_metric_inc(m, v, 1);
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? wk_xstrdup(src) : NULL;
}

static void deliver(struct wk_k8s_watch *w, enum wk_k8s_event_type t, const cJSON *obj)
{
	if (t <= WK_K8S_EV_DELETED)
		w->c->delivered++;
	w->cb(w, t, obj, w->opaque);
}

/* ---- stream lines ---- */

static int on_line(const char *line, size_t len, void *opaque)
{
	struct wk_k8s_watch *w = opaque;
	struct wk_k8s_event ev;
	const char *reason;
	char err[128];

	if (!line) {
		w->stats.oversized++;
		metric(w->c->m_malformed, w->label, "oversize");
		wk_warn("watch %s: event line of %zu+ bytes exceeds the %zu-byte cap; relisting",
			w->label, len, w->lines.max_line);
		w->abort = AB_OVERSIZE;
		return 1;
	}
	if (wk_k8s_event_parse(line, len, &ev, &reason, err, sizeof(err)) < 0) {
		w->stats.malformed++;
		metric(w->c->m_malformed, w->label, reason);
		wk_warn("watch %s: skipping a bad line (%zu bytes): %s", w->label, len, err);
		return 0;
	}
	switch (ev.type) {
	case WK_K8S_EV_ERROR:
		w->stats.errors++;
		if (ev.status.code == 410) {
			wk_info("watch %s: resourceVersion expired (%s), relisting", w->label,
				ev.status.message);
			w->abort = AB_GONE;
		} else {
			wk_warn("watch %s: ERROR event %d %s: %s", w->label, ev.status.code,
				ev.status.reason, ev.status.message);
			w->abort = AB_ERROR;
		}
		wk_k8s_event_release(&ev);
		return 1;
	case WK_K8S_EV_BOOKMARK:
		w->stats.bookmarks++;
		break;
	default:
		w->stats.events++;
		w->stream_events++;
		metric(w->c->m_events, w->label, wk_k8s_event_type_name(ev.type));
		deliver(w, ev.type, ev.object);
		break;
	}
	if (ev.rv)
		set_str(&w->rv, ev.rv);
	wk_k8s_event_release(&ev);
	return 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct wk_k8s_watch *w = opaque;
	size_t len = size * nmemb;

	if (!w->http_code)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->http_code);
	if (w->state == W_WATCHING && w->http_code == 200)
		return wk_k8s_lines_feed(&w->lines, data, len, on_line, w) ? 0 : len;
	if (w->state == W_WATCHING) {
		/* a non-200 answer to a watch is a Status: keep its beginning only */
		size_t room = ERROR_BODY_CAP > w->body.len ? ERROR_BODY_CAP - w->body.len : 0;

		if (wk_buf_add(&w->body, data, len < room ? len : room) < 0)
			WK_BUG("watch error body over its cap");
		return len;
	}
	if (wk_buf_add(&w->body, data, len) < 0) {
		w->abort = AB_TOOBIG;
		return 0;
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct wk_k8s_watch *w = opaque;
	size_t len = size * nmemb;

	k8s_header_retry_after(data, len, w->retry_after, sizeof(w->retry_after));
	return len;
}

/* ---- starting requests ---- */

static void add_query(struct wk_k8s_watch *w, struct wk_buf *url)
{
	if (w->label_selector)
		wk_k8s_query_add(url, "labelSelector", w->label_selector);
	if (w->field_selector)
		wk_k8s_query_add(url, "fieldSelector", w->field_selector);
}

static void start(struct wk_k8s_watch *w)
{
	struct wk_k8s *c = w->c;
	struct wk_buf url;
	char err[256], n[24];
	long timeout_ms;

	wk_buf_init(&url, 0);
	if (wk_buf_adds(&url, c->kc.server) < 0)
		WK_BUG("uncapped buffer refused");
	{
		struct wk_buf path;

		wk_buf_init(&path, 0);
		if (wk_k8s_path(&path, &w->res, w->ns, NULL, NULL, err, sizeof(err)) < 0 ||
		    wk_buf_add(&url, path.buf, path.len) < 0)
			WK_BUG("watch path validated at creation failed: %s", err);
		wk_buf_release(&path);
	}
	if (w->relist_requested) {
		w->relist_requested = false;
		w->need_list = true;
		set_str(&w->cont, NULL); /* a list begun before the request does not count */
	}
	if (w->need_list || !w->rv) {
		if (!w->cont) {
			w->stats.relists++;
			metric(w->c->m_relists, w->label, NULL);
		}
		w->state = W_LISTING;
		add_query(w, &url);
		snprintf(n, sizeof(n), "%ld", w->opt.list_limit);
		wk_k8s_query_add(&url, "limit", n);
		if (w->cont)
			wk_k8s_query_add(&url, "continue", w->cont);
		timeout_ms = c->opt.request_timeout_ms;
	} else {
		long t = w->opt.timeout_s ? w->opt.timeout_s : 300 + k8s_rand(c, 300);

		if (w->started_once)
			w->stats.restarts++;
		w->started_once = true;
		w->state = W_WATCHING;
		wk_k8s_query_add(&url, "watch", "1");
		wk_k8s_query_add(&url, "resourceVersion", w->rv);
		wk_k8s_query_add(&url, "allowWatchBookmarks", "true");
		snprintf(n, sizeof(n), "%ld", t);
		wk_k8s_query_add(&url, "timeoutSeconds", n);
		add_query(w, &url);
		/* the server ends the stream at t; curl's limit only catches a dead peer */
		timeout_ms = (t + 30) * 1000;
		w->stream_start = k8s_mono_ms();
		w->stream_events = 0;
		wk_k8s_lines_reset(&w->lines);
	}
	k8s_token_maybe_refresh(c);
	curl_slist_free_all(w->hdrs);
	w->hdrs = k8s_headers(c, NULL);
	curl_easy_reset(w->easy);
	k8s_easy_setup(c, w->easy);
	curl_easy_setopt(w->easy, CURLOPT_URL, url.buf);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (w->state == W_WATCHING) {
		/* A half-open stream (peer gone without FIN/RST) sends nothing, bookmarks neither:
		 * under 1 byte/s for idle_timeout_s ends it (else only timeout_ms would, up to
		 * 630 s later). */
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, w->opt.idle_timeout_s);
	}
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	wk_buf_reset(&w->body);
	w->http_code = 0;
	w->abort = AB_NONE;
	w->retry_after[0] = '\0';
	wk_debug("watch %s: %s", w->label, url.buf + strlen(c->kc.server));
	wk_buf_release(&url);
	if (curl_multi_add_handle(c->multi, w->easy) != CURLM_OK)
		WK_BUG("curl_multi_add_handle failed");
}

/* Wait before the next start: exponential from the consecutive failure count, or Retry-After. */
static void backoff(struct wk_k8s_watch *w, const char *why)
{
	long ms = wk_k8s_backoff_ms(w->failures, w->opt.backoff_base_ms, w->opt.backoff_max_ms);
	long ra;

	if (w->retry_after[0] && wk_k8s_retry_after_parse(w->retry_after, (int64_t)time(NULL),
							  w->c->opt.retry_after_max_s, &ra) == 0)
		ms = ra * 1000 + k8s_rand(w->c, 250);
	w->failures++;
	w->next_at = k8s_mono_ms() + ms;
	metric(w->c->m_restarts, w->label, why);
	wk_info("watch %s: %s, retrying in %ld ms", w->label, why, ms);
}

static void relist_now(struct wk_k8s_watch *w)
{
	w->need_list = true;
	set_str(&w->cont, NULL);
	w->next_at = 0;
}

/* ---- finishing requests ---- */

static void http_failure(struct wk_k8s_watch *w, const char *what)
{
	struct wk_k8s_status st;
	enum wk_k8s_err e;

	if (wk_k8s_status_parse(w->body.buf ? w->body.buf : "", w->body.len, &st) < 0)
		memset(&st, 0, sizeof(st));
	e = wk_k8s_classify(w->http_code, st.reason);
	w->stats.errors++;
	if (e == WK_K8S_EGONE) {
		/* an expired continue token or resourceVersion: start from a fresh list */
		if (w->state == W_LISTING && w->cont && !w->list_restarted) {
			w->list_restarted = true;
			relist_now(w);
			return;
		}
		/* a server answering 410 right after a relist must not get a tight loop */
		relist_now(w);
		backoff(w, "gone");
		return;
	}
	if (e == WK_K8S_EUNAUTHORIZED && !w->auth_retried) {
		w->auth_retried = true;
		if (k8s_token_reload_after_401(w->c)) {
			w->next_at = 0;
			return;
		}
	}
	wk_warn("watch %s: %s: HTTP %ld %s: %s", w->label, what, w->http_code,
		st.reason[0] ? st.reason : wk_k8s_err_name(e), st.message);
	backoff(w, w->http_code == 429 ? "throttled" : "http-error");
}

static void list_done(struct wk_k8s_watch *w)
{
	cJSON *list = cJSON_ParseWithLength(w->body.buf ? w->body.buf : "", w->body.len);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	const cJSON *cont = cJSON_GetObjectItemCaseSensitive(md, "continue");
	const cJSON *it;

	if (!cJSON_IsObject(list) || (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))) {
		cJSON_Delete(list);
		w->stats.errors++;
		set_str(&w->cont, NULL);
		backoff(w, "bad-list");
		return;
	}
	if (!w->cont)
		deliver(w, WK_K8S_EV_RELIST_BEGIN, NULL);
	cJSON_ArrayForEach(it, items)
	{
		if (cJSON_IsObject(it))
			deliver(w, WK_K8S_EV_ADDED, it);
	}
	if (cJSON_IsString(cont) && *cont->valuestring) {
		set_str(&w->cont, cont->valuestring);
		w->next_at = 0; /* next page right away */
		cJSON_Delete(list);
		return;
	}
	set_str(&w->cont, NULL);
	if (cJSON_IsString(rv) && *rv->valuestring)
		set_str(&w->rv, rv->valuestring);
	else
		set_str(&w->rv, NULL); /* can't watch without one: list again after a backoff */
	cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
	deliver(w, WK_K8S_EV_RELIST_END, list);
	cJSON_Delete(list);
	w->need_list = false;
	w->list_restarted = false;
	w->synced = true;
	w->auth_retried = false;
	if (!w->rv) {
		wk_warn("watch %s: list has no resourceVersion", w->label);
		backoff(w, "no-resource-version");
		return;
	}
	/* failures are reset by a working stream, not here: list -> watch -> 410 must back off */
	w->next_at = 0;
}

static void watch_done(struct wk_k8s_watch *w, CURLcode cc)
{
	int64_t lasted = k8s_mono_ms() - w->stream_start;

	if (wk_k8s_lines_pending(&w->lines) && w->abort == AB_NONE) {
		w->stats.malformed++;
		metric(w->c->m_malformed, w->label, "truncated");
		wk_k8s_lines_reset(&w->lines);
	}
	if (w->stream_events)
		w->failures =
		    0; /* the stream worked; a new problem starts from the small backoff */
	switch (w->abort) {
	case AB_GONE:
		relist_now(w);
		if (w->stream_events)
			metric(w->c->m_restarts, w->label, "gone");
		else
			backoff(w, "gone"); /* 410 straight after a relist: don't spin */
		return;
	case AB_OVERSIZE:
		w->need_list = true;
		backoff(w, "oversized-line");
		return;
	case AB_ERROR:
		backoff(w, "error-event");
		return;
	default:
		break;
	}
	if (cc == CURLE_OK && lasted < SHORT_WATCH_MS && !w->stream_events) {
		backoff(w, "short-watch");
	} else if (cc == CURLE_OK) {
		metric(w->c->m_restarts, w->label, "closed");
		w->auth_retried = false;
		w->failures = 0;
		w->next_at = 0;
	} else {
		wk_info("watch %s: stream dropped after %lld ms: %s", w->label, (long long)lasted,
			curl_easy_strerror(cc));
		backoff(w, "dropped");
	}
}

static void done(struct wk_k8s_watch *w, CURLcode cc)
{
	enum wstate was = w->state;

	curl_multi_remove_handle(w->c->multi, w->easy);
	w->state = W_IDLE;
	if (!w->http_code && cc == CURLE_OK)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->http_code);
	if (w->abort == AB_TOOBIG) {
		w->stats.errors++;
		wk_warn("watch %s: list response exceeds the %zu-byte cap", w->label, w->body.cap);
		set_str(&w->cont, NULL);
		backoff(w, "too-big");
		return;
	}
	if (w->http_code && w->http_code != 200) {
		w->state = was; /* http_failure looks at what was in flight */
		http_failure(w, was == W_LISTING ? "list" : "watch");
		w->state = W_IDLE;
		return;
	}
	if (was == W_LISTING) {
		if (cc != CURLE_OK) {
			w->stats.errors++;
			wk_warn("watch %s: list failed: %s", w->label, curl_easy_strerror(cc));
			set_str(&w->cont, NULL);
			backoff(w, "list-failed");
			return;
		}
		list_done(w);
		return;
	}
	watch_done(w, cc);
}

/* ---- public ---- */

struct wk_k8s_watch *wk_k8s_watch_new(struct wk_k8s *c, const struct wk_k8s_resource *res,
				      const char *ns, const struct wk_k8s_watch_opts *opts,
				      wk_k8s_watch_cb cb, void *opaque, char *errstr,
				      size_t errstr_size)
{
	struct wk_k8s_watch *w;
	struct wk_buf path;
	char err[300];

	wk_buf_init(&path, 0);
	if (wk_k8s_path(&path, res, ns, NULL, NULL, err, sizeof(err)) < 0) {
		wk_buf_release(&path);
		return wk_err(errstr, errstr_size, "watch: refused: %s", err), NULL;
	}
	wk_buf_release(&path);
	if (!cb)
		return wk_err(errstr, errstr_size, "watch: no callback"), NULL;
	w = wk_xcalloc(1, sizeof(*w));
	w->easy = curl_easy_init();
	if (!w->easy) {
		free(w);
		return wk_err(errstr, errstr_size, "cannot initialise libcurl"), NULL;
	}
	w->c = c;
	w->res = *res;
	w->ns = ns ? wk_xstrdup(ns) : NULL;
	if (opts)
		w->opt = *opts;
	w->label_selector = w->opt.label_selector && *w->opt.label_selector
				? wk_xstrdup(w->opt.label_selector)
				: NULL;
	w->field_selector = w->opt.field_selector && *w->opt.field_selector
				? wk_xstrdup(w->opt.field_selector)
				: NULL;
	w->opt.label_selector = w->opt.field_selector = NULL;
	if (w->opt.resource_version && *w->opt.resource_version)
		w->rv = wk_xstrdup(w->opt.resource_version);
	w->opt.resource_version = NULL;
	w->need_list = !w->rv;
	if (w->opt.list_limit <= 0)
		w->opt.list_limit = 500;
	if (w->opt.backoff_base_ms <= 0)
		w->opt.backoff_base_ms = 500;
	if (w->opt.backoff_max_ms <= 0)
		w->opt.backoff_max_ms = 30000;
	if (w->opt.timeout_s < 0)
		w->opt.timeout_s = 0;
	if (w->opt.idle_timeout_s <= 0)
		w->opt.idle_timeout_s = WK_K8S_WATCH_DEF_IDLE_S;
	k8s_resource_label(res, w->label, sizeof(w->label));
	w->cb = cb;
	w->opaque = opaque;
	wk_buf_init(&w->body, c->opt.max_body);
	wk_k8s_lines_init(&w->lines, w->opt.max_line);
	w->next = c->watches;
	c->watches = w;
	return w;
}

void wk_k8s_watch_destroy(struct wk_k8s_watch *w)
{
	struct wk_k8s_watch **pp;

	if (!w)
		return;
	for (pp = &w->c->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	if (w->state != W_IDLE)
		curl_multi_remove_handle(w->c->multi, w->easy);
	curl_easy_cleanup(w->easy);
	curl_slist_free_all(w->hdrs);
	wk_buf_release(&w->body);
	wk_k8s_lines_release(&w->lines);
	free(w->ns);
	free(w->label_selector);
	free(w->field_selector);
	free(w->rv);
	free(w->cont);
	free(w);
}

/* Start every idle watch whose time has come; returns ms until the next one is due (or -1). */
static long start_due(struct wk_k8s *c)
{
	int64_t now = k8s_mono_ms();
	long soonest = -1;

	for (struct wk_k8s_watch *w = c->watches; w; w = w->next) {
		if (w->relist_requested && w->state == W_WATCHING) {
			/* outside any curl callback here, so the stream may be cut */
			curl_multi_remove_handle(c->multi, w->easy);
			w->state = W_IDLE;
			w->next_at = 0;
			metric(c->m_restarts, w->label, "relist-requested");
		}
		if (w->state != W_IDLE)
			continue;
		if (w->next_at <= now) {
			start(w);
			continue;
		}
		if (soonest < 0 || w->next_at - now < soonest)
			soonest = (long)(w->next_at - now);
	}
	return soonest;
}

static void perform(struct wk_k8s *c)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(c->multi, &running);
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct wk_k8s_watch *w = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (w)
			done(w, msg->data.result);
	}
}

int wk_k8s_poll(struct wk_k8s *c, int timeout_ms)
{
	long due;

	c->delivered = 0;
	start_due(c);
	perform(c);
	due = start_due(c);
	if (timeout_ms > 0) {
		int wait = due >= 0 && due < timeout_ms ? (int)due : timeout_ms;

		curl_multi_poll(c->multi, NULL, 0, wait, NULL);
		perform(c);
		start_due(c);
	}
	return c->delivered;
}

void wk_k8s_watch_relist(struct wk_k8s_watch *w)
{
	w->relist_requested = true;
}

void wk_k8s_wakeup(struct wk_k8s *c)
{
	curl_multi_wakeup(c->multi);
}

const char *wk_k8s_watch_resource_version(const struct wk_k8s_watch *w)
{
	return w->rv;
}

bool wk_k8s_watch_synced(const struct wk_k8s_watch *w)
{
	return w->synced;
}

void wk_k8s_watch_get_stats(const struct wk_k8s_watch *w, struct wk_k8s_watch_stats *out)
{
	*out = w->stats;
}

void *wk_k8s_watch_opaque(const struct wk_k8s_watch *w)
{
	return w->opaque;
}
