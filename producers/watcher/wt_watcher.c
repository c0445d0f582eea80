/* wt_watcher.c - informers -> fingerprints -> wukong.events, with the Lease, heartbeats, replay. */
#include "wt_watcher.h"

#include "wk_cloudevent.h"
#include "wk_cluster.h"
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_k8s.h"
#include "wk_kubevirt.h"
#include "wk_resource.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_name.h"
#include "wk_service.h"
#include "wk_time.h"
#include "wk_types.h"
#include "wt_rebuild.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <unistd.h>

#define REPLAY_CHUNK (64 * 1024)
#define BAD_LOG_FIRST 20 /* log every bad input up to this many, then one in 1000 */

static struct wk_metric *m_published, *m_unchanged, *m_bad, *m_restarts, *m_relists, *m_queue,
    *m_queue_full, *m_latency, *m_dfail, *m_leader, *m_objects, *m_fpbytes, *m_rebuilt, *m_synced;

void wt_metrics_init(void)
{
	static const double secs[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				      0.25,  0.5,    1,	    2.5,  5,	 10,   30};

	if (m_published)
		return;
	m_published = wk_metric_counter("wukong_watcher_events_published_total",
					"Events produced to wukong.events, by ce_type suffix "
					"(<kind>.<change>)",
					"type");
	m_unchanged = wk_metric_counter("wukong_watcher_events_unchanged_total",
					"Observed objects whose fingerprint matched what was "
					"already published (not republished)",
					"kind");
	m_bad = wk_metric_counter("wukong_watcher_bad_input_total",
				  "Watch or replay input skipped: malformed, oversized, "
				  "unknown-kind (never fatal)",
				  "reason");
	m_restarts = wk_metric_counter("wukong_watcher_watch_restarts_total",
				       "Watch streams restarted", "kind");
	m_relists = wk_metric_counter("wukong_watcher_relists_total", "Lists started", "kind");
	m_queue = wk_metric_gauge("wukong_watcher_queue_depth",
				  "Events produced and not yet acknowledged by the broker", NULL);
	m_queue_full = wk_metric_counter("wukong_watcher_queue_full_total",
					 "Times the publish queue reached watcher.queue-max "
					 "(watching pauses)",
					 NULL);
	m_latency = wk_metric_histogram("wukong_watcher_publish_latency_seconds",
					"From produce to the broker's acknowledgement", NULL, secs,
					WK_ARRAY_SIZE(secs));
	m_dfail = wk_metric_counter("wukong_watcher_delivery_failures_total",
				    "Events the producer could not deliver (republished by a "
				    "relist)",
				    NULL);
	m_leader = wk_metric_gauge("wukong_watcher_leader",
				   "1 while this replica holds the Lease and publishes", NULL);
	m_objects = wk_metric_gauge("wukong_watcher_tracked_objects",
				    "Objects in the fingerprint table", "kind");
	m_fpbytes = wk_metric_gauge("wukong_watcher_fingerprint_bytes",
				    "Memory held by the fingerprint table", NULL);
	m_rebuilt = wk_metric_gauge("wukong_watcher_rebuilt_objects",
				    "Objects recovered from wukong.events at the start of the "
				    "current term",
				    NULL);
	m_synced =
	    wk_metric_gauge("wukong_watcher_synced",
			    "1 when the kind's initial list is complete in this term", "kind");
}

/* what: "watch input skipped", "replay input skipped", "published without spec/status" */
static void bad_input(struct wt *w, const char *reason, const char *what, const char *detail)
{
	uint64_t n = w->malformed + w->oversized + w->unknown_kind;
	const char *v[] = {reason};

	if (!strcmp(reason, "malformed"))
		w->malformed++;
	else if (!strcmp(reason, "oversized"))
		w->oversized++;
	else
		w->unknown_kind++;
	wk_metric_inc(m_bad, v, 1);
	if (n < BAD_LOG_FIRST || n % 1000 == 0)
		wk_warn("%s (%s): %s", what, reason, detail);
}

/* ---- publishing ---- */

static struct wt_pending *pending_new(struct wt *w, int kind, enum wt_change change, bool marker,
				      const char *id, const char *uid, const char *rv,
				      const char *vmref)
{
	size_t a = strlen(id) + 1, b = strlen(uid) + 1, c = strlen(rv) + 1, d = strlen(vmref) + 1;
	struct wt_pending *p = wk_xmalloc(sizeof(*p) + a + b + c + d);

	p->term = w->term;
	p->kind = (uint8_t)kind;
	p->change = (uint8_t)change;
	p->marker = marker;
	p->sent_ms = wk_time_mono_ms();
	memcpy(p->data, id, a);
	memcpy(p->data + a, uid, b);
	memcpy(p->data + a + b, rv, c);
	memcpy(p->data + a + b + c, vmref, d);
	return p;
}

/* The event as a CloudEvent on wukong.events: the core's attributes, ce_partitionkey from the key,
 * then the read-back's extensions ce_wkuid (when known) and ce_wkfp (when there is a body
 * fingerprint). */
static int kafka_sink(struct wt *w, const struct wt_event *ev, struct wt_pending *p)
{
	struct wk_cloudevent ce;
	char err[512];

	memset(&ce, 0, sizeof(ce));
	if (!wk_strlcpy(ce.id, ev->id, sizeof(ce.id)) ||
	    !wk_strlcpy(ce.source, w->source, sizeof(ce.source)) ||
	    !wk_strlcpy(ce.type, ev->type, sizeof(ce.type)) ||
	    !wk_strlcpy(ce.subject, ev->subject, sizeof(ce.subject)) ||
	    !wk_strlcpy(ce.time, ev->time, sizeof(ce.time))) {
		wk_strlcpy(err, "an attribute over the CloudEvents caps", sizeof(err));
		goto fail;
	}
	wk_strlcpy(ce.content_type, "application/json", sizeof(ce.content_type));
	if ((ev->uid[0] && wk_cloudevent_ext_add(&ce, "wkuid", ev->uid, err, sizeof(err)) < 0) ||
	    (ev->fp && wk_cloudevent_ext_add(&ce, "wkfp", ev->fp_hex, err, sizeof(err)) < 0) ||
	    wk_cloudevent_send(w->prod, w->topic, ev->key, &ce, ev->body, ev->body_len, p, err,
			       sizeof(err)) < 0)
		goto fail;
	return 0;
fail:
	wk_logk(WK_LOG_ERROR, ev->key, "publish '%s': %s", ev->type, err);
	return -1;
}

static void update_gauges(struct wt *w)
{
	wk_metric_set(m_queue, NULL, (double)w->inflight);
	wk_metric_set(m_fpbytes, NULL, (double)wt_fpset_bytes(w->fps));
	for (int i = 0; i < WT_NKINDS; i++) {
		const char *v[] = {wt_kinds[i].name};

		wk_metric_set(m_objects, v, (double)wt_fpset_count(w->fps, i));
	}
}

void wt_delivered(struct wt *w, struct wt_pending *p, bool ok)
{
	w->inflight--;
	if (ok) {
		wk_metric_observe(m_latency, NULL,
				  (double)(wk_time_mono_ms() - p->sent_ms) / 1000.0);
		free(p);
		return;
	}
	w->delivery_failed++;
	wk_metric_inc(m_dfail, NULL, 1);
	if (p->term == w->term && p->kind < WT_NKINDS) {
		const char *id = p->data, *uid = id + strlen(id) + 1, *rv = uid + strlen(uid) + 1;
		const char *vmref = rv + strlen(rv) + 1;
		struct wt_kstate *ks = &w->ks[p->kind];

		/* Make the next list republish what this message said, rather than retrying it
		 * out of order after later events of the same key. */
		if (p->marker) {
			ks->synced_sent = false;
		} else if (p->change == WT_DELETED) {
			if (!wt_fpset_get(w->fps, p->kind, id))
				wt_fpset_put(w->fps, p->kind, id, uid, rv, vmref, 0);
		} else {
			struct wt_fp *e = wt_fpset_get(w->fps, p->kind, id);

			if (e && !strcmp(wt_fp_uid(e), uid))
				e->fp = 0;
		}
		ks->relist_due = true;
	}
	free(p);
}

void wt_delivery(struct wt *w, void *msg_opaque, bool ok)
{
	if (!msg_opaque)
		return;
	if (w)
		wt_delivered(w, msg_opaque, ok);
	else
		free(msg_opaque); /* the watcher is gone (the core's last flush) */
}

static void publish(struct wt *w, const struct wt_kind *k, const struct wt_event *ev, bool marker)
{
	struct wt_pending *p = pending_new(w, k ? (int)k->id : WT_NKINDS, ev->change, marker,
					   ev->obj_id, ev->uid, ev->rv, ev->vmref);
	const char *dot = strstr(ev->type, "wukong.");
	const char *v[] = {dot ? dot + 7 : ev->type};

	w->inflight++;
	if (w->sink(w, ev, p) < 0) {
		wt_delivered(w, p, false);
		return;
	}
	w->published++;
	wk_metric_inc(m_published, v, 1);
}

/* ---- the event path ---- */

static void publish_gone(struct wt *w, const struct wt_kind *k, const struct wt_fp *e)
{
	struct wt_event ev;
	char err[256];
	char id[4096], uid[128], rv[128], vmref[300];

	wk_strlcpy(id, wt_fp_id(e), sizeof(id));
	wk_strlcpy(uid, wt_fp_uid(e), sizeof(uid));
	wk_strlcpy(rv, wt_fp_rv(e), sizeof(rv));
	wk_strlcpy(vmref, wt_fp_vmref(e), sizeof(vmref));
	wt_fpset_remove(w->fps, k->id, id); /* e is gone from here on */
	if (wt_event_build_gone(k, w->cluster, id, uid, rv, vmref, wk_time_now_ms() * 1000, &ev,
				err, sizeof(err)) < 0) {
		wk_warn("deletion of %s '%s' not published: %s", k->name, id, err);
		return;
	}
	publish(w, k, &ev, false);
	wt_event_release(&ev);
}

static void sweep(struct wt *w, const struct wt_kind *k)
{
	size_t n;
	char **ids = wt_fpset_unseen(w->fps, k->id, w->ks[k->id].epoch, &n);

	for (size_t i = 0; i < n; i++) {
		struct wt_fp *e = wt_fpset_get(w->fps, k->id, ids[i]);

		if (e)
			publish_gone(w, k, e);
	}
	if (n)
		wk_info("%s: %zu object(s) gone since the last list: deletions published", k->name,
			n);
	wt_fpset_free_ids(ids, n);
}

static void publish_synced(struct wt *w, const struct wt_kind *k, const cJSON *list)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	const char *rvs = cJSON_IsString(rv) && *rv->valuestring ? rv->valuestring : "0";
	cJSON *body = cJSON_CreateObject();
	struct wt_event ev;

	memset(&ev, 0, sizeof(ev));
	cJSON_AddStringToObject(body, "cluster", w->cluster);
	cJSON_AddStringToObject(body, "kind", k->kind);
	cJSON_AddStringToObject(body, "apiVersion", k->api_version);
	cJSON_AddStringToObject(body, "change", "synced");
	cJSON_AddStringToObject(body, "resourceVersion", rvs);
	cJSON_AddNumberToObject(body, "count", (double)wt_fpset_count(w->fps, k->id));
	ev.body = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	ev.body_len = strlen(ev.body);
	snprintf(ev.key, sizeof(ev.key), "%s/cluster", w->cluster);
	snprintf(ev.type, sizeof(ev.type), WK_CE_PREFIX "%s." WK_CE_SUFFIX_SYNCED, k->name);
	snprintf(ev.subject, sizeof(ev.subject), "%s", k->kind);
	snprintf(ev.id, sizeof(ev.id), "%s.%s.%.100s.synced", w->cluster, k->name, rvs);
	wk_time_format_micro(wk_time_now_ms() * 1000, ev.time, sizeof(ev.time));
	ev.change = WT_ADDED;
	publish(w, k, &ev, true);
	wt_event_release(&ev);
	w->ks[k->id].synced_sent = true;
}

/* An object we cannot publish any more (say its status now names an invalid VM) still exists:
 * mark what we know of it as seen, so that a relist does not report it deleted. */
static void keep_seen(struct wt *w, const struct wt_kind *k, const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	struct wt_fp *e;
	char id[320];

	if (!cJSON_IsString(name))
		return;
	if (k->res.namespaced && cJSON_IsString(ns))
		snprintf(id, sizeof(id), "%s/%s", ns->valuestring, name->valuestring);
	else
		snprintf(id, sizeof(id), "%s", name->valuestring);
	e = wt_fpset_get(w->fps, k->id, id);
	if (e)
		e->seen = w->ks[k->id].epoch;
}

static void observe(struct wt *w, const struct wt_kind *k, const cJSON *obj, bool deleted)
{
	struct wt_kstate *ks = &w->ks[k->id];
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *apiv = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
	struct wt_event ev;
	struct wt_fp *cur;
	char err[512];
	enum wt_action act;

	/* list items of built-in types carry no kind; when there is one it must be ours */
	if (cJSON_IsString(kind) && cJSON_IsString(apiv) &&
	    wt_kind_of_object(apiv->valuestring, kind->valuestring) != k) {
		char d[256];

		snprintf(d, sizeof(d), "%.80s %.80s in the %s stream", apiv->valuestring,
			 kind->valuestring, k->name);
		bad_input(w, "unknown-kind", "watch input skipped", d);
		return;
	}
	if (wt_event_build(k, w->cluster, obj, deleted ? WT_DELETED : WT_MODIFIED,
			   wk_time_now_ms() * 1000, &ev, err, sizeof(err)) < 0) {
		bad_input(w, "malformed", "watch input skipped", err);
		keep_seen(w, k, obj);
		return;
	}
	if (ev.truncated)
		bad_input(w, "oversized", "published without spec/status", ev.subject);
	cur = wt_fpset_get(w->fps, k->id, ev.obj_id);
	act = wt_decide(cur, ev.uid, ev.fp, deleted);
	switch (act) {
	case WT_ACT_NONE:
		if (cur)
			cur->seen = ks->epoch;
		if (!deleted) {
			const char *v[] = {k->name};

			w->skipped++;
			wk_metric_inc(m_unchanged, v, 1);
		}
		break;
	case WT_ACT_DELETE:
		wt_fpset_remove(w->fps, k->id, ev.obj_id);
		publish(w, k, &ev, false);
		break;
	case WT_ACT_REPLACE:
		publish_gone(w, k, cur);
		WK_FALLTHROUGH;
	case WT_ACT_ADD:
	case WT_ACT_MODIFY:
		wt_event_set_change(&ev, act == WT_ACT_MODIFY ? WT_MODIFIED : WT_ADDED);
		cur = wt_fpset_put(w->fps, k->id, ev.obj_id, ev.uid, ev.rv, ev.vmref, ev.fp);
		if (cur)
			cur->seen = ks->epoch;
		publish(w, k, &ev, false);
		break;
	}
	wt_event_release(&ev);
}

void wt_handle(struct wt *w, const struct wt_kind *k, enum wk_k8s_event_type type, const cJSON *obj)
{
	struct wt_kstate *ks = &w->ks[k->id];
	const char *v[] = {k->name};

	switch (type) {
	case WK_K8S_EV_RELIST_BEGIN:
		ks->epoch++;
		return;
	case WK_K8S_EV_RELIST_END:
		sweep(w, k);
		if (!ks->synced_sent)
			publish_synced(w, k, obj);
		if (!ks->synced)
			wk_info("%s: initial list complete (%zu objects)", k->name,
				wt_fpset_count(w->fps, k->id));
		/* a list's pages were parsed and freed: give the pages back (steady-state RSS) */
		malloc_trim(0);
		ks->synced = true;
		wk_metric_set(m_synced, v, 1);
		return;
	case WK_K8S_EV_ADDED:
	case WK_K8S_EV_MODIFIED:
		observe(w, k, obj, false);
		return;
	case WK_K8S_EV_DELETED:
		observe(w, k, obj, true);
		return;
	case WK_K8S_EV_BOOKMARK:
	case WK_K8S_EV_ERROR:
		return;
	}
}

/* ---- replay ---- */

static int replay_line(const char *line, size_t len, void *opaque)
{
	struct wt *w = opaque;
	struct wk_k8s_event ev;
	const char *reason = NULL;
	const cJSON *kind, *apiv;
	const struct wt_kind *k;
	char err[256];

	w->replay_lines++;
	if (!line) {
		char d[64];

		snprintf(d, sizeof(d), "a line of %zu+ bytes", len);
		bad_input(w, "oversized", "replay input skipped", d);
		return 0;
	}
	if (wk_k8s_event_parse(line, len, &ev, &reason, err, sizeof(err)) < 0) {
		bad_input(w, "malformed", "replay input skipped", err);
		return 0;
	}
	if (ev.type == WK_K8S_EV_ADDED || ev.type == WK_K8S_EV_MODIFIED ||
	    ev.type == WK_K8S_EV_DELETED) {
		kind = cJSON_GetObjectItemCaseSensitive(ev.object, "kind");
		apiv = cJSON_GetObjectItemCaseSensitive(ev.object, "apiVersion");
		k = wt_kind_of_object(cJSON_IsString(apiv) ? apiv->valuestring : NULL,
				      cJSON_IsString(kind) ? kind->valuestring : NULL);
		if (!k) {
			char d[200];

			snprintf(d, sizeof(d), "%.80s %.80s",
				 cJSON_IsString(apiv) ? apiv->valuestring : "(no apiVersion)",
				 cJSON_IsString(kind) ? kind->valuestring : "(no kind)");
			bad_input(w, "unknown-kind", "replay input skipped", d);
		} else {
			wt_handle(w, k, ev.type, ev.object);
		}
	}
	wk_k8s_event_release(&ev);
	return 0;
}

void wt_replay_feed(struct wt *w, const char *data, size_t len)
{
	wk_k8s_lines_feed(&w->lines, data, len, replay_line, w);
}

/* ---- Kubernetes side ---- */

static void watch_cb(struct wk_k8s_watch *ww, enum wk_k8s_event_type type, const cJSON *obj,
		     void *opaque)
{
	struct wt_kstate *ks = opaque;
	struct wt *w = (struct wt *)((char *)(ks - ks->k->id) - offsetof(struct wt, ks));

	(void)ww;
	wt_handle(w, ks->k, type, obj);
}

static void watch_stats(struct wt *w)
{
	for (int i = 0; i < WT_NKINDS; i++) {
		struct wt_kstate *ks = &w->ks[i];
		struct wk_k8s_watch_stats st;
		const char *v[] = {ks->k->name};

		if (!ks->w)
			continue;
		wk_k8s_watch_get_stats(ks->w, &st);
		if (st.restarts > ks->last.restarts)
			wk_metric_inc(m_restarts, v, (double)(st.restarts - ks->last.restarts));
		if (st.relists > ks->last.relists)
			wk_metric_inc(m_relists, v, (double)(st.relists - ks->last.relists));
		if (st.malformed > ks->last.malformed) {
			const char *r[] = {"malformed"};

			wk_metric_inc(m_bad, r, (double)(st.malformed - ks->last.malformed));
			w->malformed += st.malformed - ks->last.malformed;
		}
		if (st.oversized > ks->last.oversized) {
			const char *r[] = {"oversized"};

			wk_metric_inc(m_bad, r, (double)(st.oversized - ks->last.oversized));
			w->oversized += st.oversized - ks->last.oversized;
		}
		ks->last = st;
	}
}

static void watch_start(struct wt *w, struct wt_kstate *ks)
{
	struct wk_k8s_watch_opts o = {0};
	char err[512];

	if (ks->w || ks->k->polled)
		return;
	o.timeout_s = w->watch_timeout_s;
	/* an informer keeps the buffer of its largest list page: small pages, small resident set */
	o.list_limit = w->list_page;
	memset(&ks->last, 0, sizeof(ks->last));
	ks->w = wk_k8s_watch_new(w->k8s, &ks->k->res, NULL, &o, watch_cb, ks, err, sizeof(err));
	if (!ks->w)
		wk_error("watch %s: %s", ks->k->name, err);
}

static void watches_stop(struct wt *w)
{
	watch_stats(w);
	for (int i = 0; i < WT_NKINDS; i++) {
		wk_k8s_watch_destroy(w->ks[i].w);
		w->ks[i].w = NULL;
	}
	w->watches_up = false;
}

static void watches_start(struct wt *w)
{
	for (int i = 0; i < WT_NKINDS; i++) {
		struct wt_kstate *ks = &w->ks[i];

		if (!ks->enabled || !ks->served)
			continue;
		if (ks->k->polled)
			ks->next_poll_ms = 0;
		else
			watch_start(w, ks);
	}
	w->watches_up = true;
}

/* Which kinds the API serves: a 404 on a one-item list means the CRD or API is not installed. A
 * kind that is not there is logged and skipped for this term instead of retried forever (and
 * instead of keeping /readyz false). */
static void probe_kinds(struct wt *w)
{
	for (int i = 0; i < WT_NKINDS; i++) {
		struct wt_kstate *ks = &w->ks[i];
		struct wk_k8s_list_opts lo = {.limit = 1};
		struct wk_k8s_result r;
		char err[512];

		ks->served = false;
		if (!ks->enabled)
			continue;
		if (wk_k8s_list(w->k8s, &ks->k->res, NULL, &lo, &r, err, sizeof(err)) < 0 &&
		    r.err == WK_K8S_ENOTFOUND) {
			wk_warn("%s: not served by the API server (%s): not watched", ks->k->name,
				err);
		} else {
			ks->served = true;
		}
		wk_k8s_result_release(&r);
	}
}

static void fetch_version(struct wt *w)
{
	struct wk_k8s_result r;
	char err[256];

	if (wk_k8s_request(w->k8s, "GET", "/version", NULL, NULL, 0, &r, err, sizeof(err)) == 0) {
		const cJSON *gv = cJSON_GetObjectItemCaseSensitive(r.body, "gitVersion");

		if (cJSON_IsString(gv))
			wk_strlcpy(w->server_version, gv->valuestring, sizeof(w->server_version));
	} else {
		wk_warn("GET /version: %s", err);
	}
	wk_k8s_result_release(&r);
}

static void poll_kind(struct wt *w, struct wt_kstate *ks)
{
	struct wk_k8s_result r;
	const cJSON *it, *items;
	char err[512];
	const char *v[] = {ks->k->name};

	wk_metric_inc(m_relists, v, 1);
	if (wk_k8s_list_all(w->k8s, &ks->k->res, NULL, NULL, &r, err, sizeof(err)) < 0) {
		if (r.err == WK_K8S_ENOTFOUND) {
			wk_warn("%s: not served by the API server: polling stopped for this term",
				ks->k->name);
			ks->served = false;
		} else {
			wk_warn("%s: list: %s", ks->k->name, err);
		}
		wk_k8s_result_release(&r);
		return;
	}
	items = cJSON_GetObjectItemCaseSensitive(r.body, "items");
	wt_handle(w, ks->k, WK_K8S_EV_RELIST_BEGIN, NULL);
	cJSON_ArrayForEach(it, items)
	{
		wt_handle(w, ks->k, WK_K8S_EV_ADDED, it);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(r.body, "items");
	wt_handle(w, ks->k, WK_K8S_EV_RELIST_END, r.body);
	wk_k8s_result_release(&r);
}

/* ---- heartbeat ---- */

static int add_label(const char *key, const char *value, void *opaque)
{
	cJSON_AddStringToObject(opaque, key, value);
	return 0;
}

static void heartbeat(struct wt *w)
{
	cJSON *body = cJSON_CreateObject(), *counts;
	struct wt_event ev;
	int64_t now = wk_time_now_ms();

	memset(&ev, 0, sizeof(ev));
	cJSON_AddStringToObject(body, "cluster", w->cluster);
	cJSON_AddStringToObject(body, "change", "heartbeat");
	wk_config_foreach(w->cfg, "cluster.labels.", add_label,
			  cJSON_AddObjectToObject(body, "labels"));
	cJSON_AddStringToObject(body, "serverVersion", w->server_version);
	cJSON_AddStringToObject(body, "watcherVersion", WK_VERSION);
	cJSON_AddStringToObject(body, "identity", w->identity);
	counts = cJSON_AddObjectToObject(body, "counts");
	for (int i = 0; i < WT_NKINDS; i++) {
		if (w->ks[i].enabled)
			cJSON_AddNumberToObject(counts, wt_kinds[i].name,
						(double)wt_fpset_count(w->fps, i));
	}
	cJSON_AddNumberToObject(body, "queueDepth", (double)w->inflight);
	ev.body = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	ev.body_len = strlen(ev.body);
	snprintf(ev.key, sizeof(ev.key), "%s/cluster", w->cluster);
	wk_strlcpy(ev.type, WK_CE_CLUSTER_HEARTBEAT, sizeof(ev.type));
	snprintf(ev.subject, sizeof(ev.subject), "Cluster/%s", w->cluster);
	snprintf(ev.id, sizeof(ev.id), "%s.heartbeat.%lld", w->cluster, (long long)now);
	wk_time_format_micro(now * 1000, ev.time, sizeof(ev.time));
	publish(w, NULL, &ev, true);
	wt_event_release(&ev);
}

/* ---- cluster registry (wukong.clusters, docs/multicluster.md) ---- */

/* Summarise the cluster (Nodes, VMIs, the KubeVirt CR) and produce its registry record when it
 * changed or watcher.registry-interval passed since the last one. A failed list skips this round
 * (the record ages, and the router calls the cluster Unavailable if that lasts). */
static void registry_step(struct wt *w, int64_t now)
{
	struct wk_k8s_result rn, rv;
	struct wk_kubevirt_info kv;
	struct wk_cluster_info ci;
	struct wk_cloudevent ce;
	cJSON *labels = cJSON_CreateObject();
	char err[512], *fp, *body;

	wk_k8s_result_init(&rn);
	wk_k8s_result_init(&rv);
	if (wk_k8s_list_all(w->k8s, &wk_res_nodes, NULL, NULL, &rn, err, sizeof(err)) < 0 ||
	    wk_k8s_list_all(w->k8s, &wk_res_virtualmachineinstances, NULL, NULL, &rv, err,
			    sizeof(err)) < 0) {
		wk_warn("cluster registry: list: %s (no heartbeat this round)", err);
		goto out;
	}
	if (wk_kubevirt_fetch(w->k8s, &kv, err, sizeof(err)) < 0) {
		wk_warn("cluster registry: KubeVirt CR: %s (no heartbeat this round)", err);
		goto out;
	}
	wk_config_foreach(w->cfg, "cluster.labels.", add_label, labels);
	wk_cluster_info_init(&ci);
	wk_cluster_summarize(&ci, w->cluster, labels, w->server_version, rn.body, rv.body, &kv,
			     wk_time_now_ms());
	fp = wk_cluster_fingerprint(&ci);
	if (w->reg_fp && !strcmp(fp, w->reg_fp) && now - w->last_reg_pub_ms < w->registry_ms) {
		free(fp);
		wk_cluster_info_release(&ci);
		goto out;
	}
	body = wk_cluster_json(&ci);
	memset(&ce, 0, sizeof(ce));
	snprintf(ce.id, sizeof(ce.id), "%s.cluster.%lld", w->cluster, (long long)ci.time_ms);
	wk_strlcpy(ce.source, w->source, sizeof(ce.source));
	wk_strlcpy(ce.type, WK_CE_CLUSTER_REGISTRY, sizeof(ce.type));
	snprintf(ce.subject, sizeof(ce.subject), "Cluster/%s", w->cluster);
	wk_time_format_micro(ci.time_ms * 1000, ce.time, sizeof(ce.time));
	wk_strlcpy(ce.content_type, "application/json", sizeof(ce.content_type));
	/* key = the cluster id: the compacted topic keeps the latest record per cluster */
	if (wk_cloudevent_send(w->prod, w->reg_topic, w->cluster, &ce, body, strlen(body), NULL,
			       err, sizeof(err)) < 0) {
		wk_warn("cluster registry: produce to '%s': %s", w->reg_topic, err);
		free(fp);
	} else {
		free(w->reg_fp);
		w->reg_fp = fp;
		w->last_reg_pub_ms = now;
	}
	free(body);
	wk_cluster_info_release(&ci);
out:
	cJSON_Delete(labels);
	wk_k8s_result_release(&rn);
	wk_k8s_result_release(&rv);
}

/* ---- settings and lifecycle ---- */

static int get_dur(const struct wk_config *cfg, const char *key, long long def, long long *out,
		   char *errstr, size_t errstr_size)
{
	return wk_config_get_duration_ms(cfg, key, def, out, errstr, errstr_size);
}

static int parse_kinds(struct wt *w, const char *list, char *errstr, size_t errstr_size)
{
	char *copy = wk_xstrdup(list), *save = NULL, *tok;
	int rc = 0;

	for (int i = 0; i < WT_NKINDS; i++) {
		w->ks[i].k = &wt_kinds[i];
		w->ks[i].enabled = false;
	}
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		const struct wt_kind *k = wt_kind_by_name(tok);

		if (!k) {
			rc = wk_err(errstr, errstr_size,
				    "%s: key 'watcher.kinds': unknown kind '%s'",
				    wk_config_origin(w->cfg, "watcher.kinds"), tok);
			break;
		}
		w->ks[k->id].enabled = true;
	}
	free(copy);
	return rc;
}

int wt_init(struct wt *w, const struct wk_config *cfg, const char *cluster, char *errstr,
	    size_t errstr_size)
{
	long long lease_d, lease_rd, lease_rp;
	const char *kinds = wk_config_get(cfg, "watcher.kinds",
					  "wukong,virtualmachine,virtualmachineinstance,"
					  "virtualmachineinstancemigration,virtualmachinesnapshot,"
					  "virtualmachineclone,migrationpolicy,node,nodemetrics");
	const char *replay = wk_config_get(cfg, "watcher.replay", "");

	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->sink = kafka_sink;
	wk_strlcpy(w->cluster, cluster, sizeof(w->cluster));
	snprintf(w->source, sizeof(w->source), "/clusters/%s", cluster);
	wk_kafka_topic(cfg, "events", w->topic, sizeof(w->topic));
	wt_metrics_init();
	wk_kafka_topic(cfg, "clusters", w->reg_topic, sizeof(w->reg_topic));
	if (get_dur(cfg, "watcher.heartbeat-interval", 10000, &w->heartbeat_ms, errstr,
		    errstr_size) < 0 ||
	    get_dur(cfg, "watcher.registry-interval", 5000, &w->registry_ms, errstr, errstr_size) <
		0 ||
	    get_dur(cfg, "watcher.registry-poll", 2000, &w->registry_poll_ms, errstr, errstr_size) <
		0 ||
	    get_dur(cfg, "watcher.nodemetrics-interval", 15000, &w->nodemetrics_ms, errstr,
		    errstr_size) < 0 ||
	    get_dur(cfg, "watcher.stall-relist", 30000, &w->stall_relist_ms, errstr, errstr_size) <
		0 ||
	    get_dur(cfg, "watcher.rebuild-timeout", 120000, &w->rebuild_timeout_ms, errstr,
		    errstr_size) < 0 ||
	    get_dur(cfg, "watcher.poll-wait", 20, &w->tick_wait_ms, errstr, errstr_size) < 0 ||
	    get_dur(cfg, "watcher.lease.duration", 15000, &lease_d, errstr, errstr_size) < 0 ||
	    get_dur(cfg, "watcher.lease.renew-deadline", 10000, &lease_rd, errstr, errstr_size) <
		0 ||
	    get_dur(cfg, "watcher.lease.retry-period", 2000, &lease_rp, errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "watcher.queue-max", 1000, &w->queue_max, errstr, errstr_size) <
		0 ||
	    wk_config_get_int(cfg, "watcher.watch-timeout-seconds", 0, &w->watch_timeout_s, errstr,
			      errstr_size) < 0 ||
	    wk_config_get_int(cfg, "watcher.list-page-size", 100, &w->list_page, errstr,
			      errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "watcher.rebuild", true, &w->rebuild_enabled, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "watcher.lease.enabled", true, &w->lease_enabled, errstr,
			       errstr_size) < 0)
		return -1;
	if (w->queue_max < 1 || w->queue_max > 10000000)
		return wk_err(errstr, errstr_size,
			      "%s: key 'watcher.queue-max': %lld is not in 1..10000000",
			      wk_config_origin(cfg, "watcher.queue-max"), w->queue_max);
	if (w->list_page < 1 || w->list_page > 5000)
		return wk_err(errstr, errstr_size,
			      "%s: key 'watcher.list-page-size': %lld is not in 1..5000",
			      wk_config_origin(cfg, "watcher.list-page-size"), w->list_page);
	if (w->tick_wait_ms < 0 || w->tick_wait_ms > 1000)
		return wk_err(errstr, errstr_size, "key 'watcher.poll-wait': not in 0..1000 ms");
	/* client-go's constraints: LeaseDuration > RenewDeadline > 1.2 RetryPeriod */
	if (!(lease_d > lease_rd && lease_rd * 10 > lease_rp * 12 && lease_rp >= 100 &&
	      lease_d % 1000 == 0))
		return wk_err(errstr, errstr_size,
			      "watcher.lease: need duration > renew-deadline > 1.2 x retry-period, "
			      "retry-period >= 100ms and whole-second duration (have %lld, %lld, "
			      "%lld ms)",
			      lease_d, lease_rd, lease_rp);
	if (parse_kinds(w, kinds, errstr, errstr_size) < 0)
		return -1;
	wk_lease_identity(w->identity, sizeof(w->identity));
	wk_strlcpy(w->identity, wk_config_get(cfg, "watcher.lease.identity", w->identity),
		   sizeof(w->identity));
	{
		char name[254];
		const char *ns = wk_config_get(cfg, "watcher.lease.namespace", "");

		snprintf(name, sizeof(name), "wukong-watcher-%s", cluster);
		wk_lease_init(&w->lease, w->identity, ns, name);
		w->lease.duration_s = (long)(lease_d / 1000);
		w->lease.renew_deadline_ms = (long)lease_rd;
		w->lease.retry_ms = (long)lease_rp;
		if (wk_lease_check(&w->lease, errstr, errstr_size) < 0)
			return -1;
	}
	if (*replay)
		w->replay_path = wk_xstrdup(replay);
	w->fps = wt_fpset_new();
	wk_k8s_lines_init(&w->lines, WK_K8S_WATCH_MAX_LINE);
	return 0;
}

static struct wk_k8s *k8s_client(const struct wk_config *cfg, long timeout_ms, int retries,
				 char *errstr, size_t errstr_size)
{
	struct wk_k8s_options o = {0};

	o.request_timeout_ms = timeout_ms;
	o.max_retries = retries;
	o.user_agent = "wukong-watcher/" WK_VERSION;
	return wk_k8s_new_from_config(cfg, &o, errstr, errstr_size);
}

int wt_start(struct wt *w, struct wk_producer *prod, char *errstr, size_t errstr_size)
{
	char err[512];

	w->prod = prod;
	{
		/* The first message to a topic the producer has no metadata for waits for
		 * librdkafka's one-second metadata scan: ask now (not fatal: a broker that is down
		 * at start is what the publish queue is for). */
		rd_kafka_t *rk = wk_producer_handle(w->prod);
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, w->topic, NULL);
		const struct rd_kafka_metadata *md = NULL;

		if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_metadata_destroy(md);
		if (rkt)
			rd_kafka_topic_destroy(rkt);
	}
	if (!w->replay_path) {
		w->k8s = k8s_client(w->cfg, 30000, 5, errstr, errstr_size);
		if (!w->k8s)
			return -1;
		if (w->lease_enabled) {
			w->lease_k8s =
			    k8s_client(w->cfg, w->lease.retry_ms, 0, errstr, errstr_size);
			if (!w->lease_k8s)
				return -1;
			if (!w->lease.ns[0])
				wk_strlcpy(w->lease.ns, wk_k8s_namespace(w->k8s),
					   sizeof(w->lease.ns));
			if (wk_name_check_label(w->lease.ns, err, sizeof(err)) < 0)
				return wk_err(errstr, errstr_size, "watcher.lease.namespace: %s",
					      err);
			wk_info("leader election on lease '%s/%s' as '%s'", w->lease.ns,
				w->lease.name, w->identity);
		}
	} else {
		w->replay = fopen(w->replay_path, "r");
		if (!w->replay)
			return wk_err(errstr, errstr_size, "cannot open replay file '%s': %s",
				      w->replay_path, strerror(errno));
	}
	return 0;
}

/* Start of a term (leadership gained, or replay start): forget everything, read back what was
 * published, then list. Returns true once the read-back is complete. */
static struct wt_rebuild *g_rb; /* one rebuild at a time per process */

static bool term_begin(struct wt *w)
{
	char err[512];
	int rc;

	if (!w->rebuild_enabled) {
		w->term++;
		wt_fpset_clear(w->fps);
		return true;
	}
	if (!g_rb) {
		w->term++;
		wt_fpset_clear(w->fps);
		g_rb = wt_rebuild_begin(w->cfg, w->topic, w->cluster, err, sizeof(err));
		if (!g_rb) {
			wk_warn("reading '%s' back: %s (retrying in 5 s; nothing is published "
				"before it succeeds)",
				w->topic, err);
			w->next_start_ms = wk_time_mono_ms() + 5000;
			return false;
		}
		w->next_start_ms = wk_time_mono_ms() + w->rebuild_timeout_ms;
	}
	rc = wt_rebuild_poll(g_rb, w->fps, 200, err, sizeof(err));
	if (rc == 0 && wk_time_mono_ms() > w->next_start_ms) {
		wk_warn("reading '%s' back took over %lld ms: starting over", w->topic,
			w->rebuild_timeout_ms);
		wt_rebuild_end(g_rb);
		g_rb = NULL;
		w->next_start_ms = wk_time_mono_ms() + 5000;
		return false;
	}
	if (rc != 1)
		return false;
	{
		struct wt_rebuild_stats st;

		wt_rebuild_get_stats(g_rb, &st);
		wk_info("read back '%s': %llu message(s) in %d partition(s), %zu object(s) of "
			"cluster '%s' known, %lld ms",
			w->topic, (unsigned long long)st.messages, st.partitions,
			wt_fpset_total(w->fps), w->cluster, (long long)st.elapsed_ms);
		wk_metric_set(m_rebuilt, NULL, (double)wt_fpset_total(w->fps));
	}
	wt_rebuild_end(g_rb);
	g_rb = NULL;
	return true;
}

static void term_end(struct wt *w, const char *why)
{
	if (!w->active && !g_rb)
		return;
	wk_warn("stopping: %s", why);
	watches_stop(w);
	wt_rebuild_end(g_rb);
	g_rb = NULL;
	w->active = false;
	w->term++; /* reports of this term's messages no longer touch the set */
	wt_fpset_clear(w->fps);
	for (int i = 0; i < WT_NKINDS; i++) {
		const char *v[] = {wt_kinds[i].name};

		w->ks[i].synced = false;
		w->ks[i].synced_sent = false;
		w->ks[i].relist_due = false;
		w->ks[i].epoch = 0;
		wk_metric_set(m_synced, v, 0);
	}
}

static bool all_synced(const struct wt *w)
{
	for (int i = 0; i < WT_NKINDS; i++) {
		if (w->ks[i].enabled && w->ks[i].served && !w->ks[i].synced)
			return false;
	}
	return true;
}

static bool replay_step(struct wt *w, bool *done)
{
	char buf[REPLAY_CHUNK];

	if (!w->active) {
		if (!term_begin(w))
			return false;
		w->active = true;
		w->replay_start_ms = wk_time_mono_ms();
		for (int i = 0; i < WT_NKINDS; i++)
			w->ks[i].epoch = 1;
	}
	while (!w->replay_eof && w->inflight < w->queue_max) {
		size_t n = fread(buf, 1, sizeof(buf), w->replay);

		if (n > 0)
			wt_replay_feed(w, buf, n);
		if (n < sizeof(buf)) {
			if (ferror(w->replay))
				wk_error("reading '%s': %s", w->replay_path, strerror(errno));
			wt_replay_feed(w, "\n", 1); /* a last line without its newline */
			w->replay_eof = true;
		}
		wk_producer_poll(w->prod, 0);
	}
	wk_producer_poll(w->prod,
			 w->replay_eof || w->inflight >= w->queue_max ? (int)w->tick_wait_ms : 0);
	update_gauges(w);
	if (w->replay_eof && w->inflight == 0) {
		double secs = (double)(wk_time_mono_ms() - w->replay_start_ms) / 1000.0;

		printf("replay: lines=%llu published=%llu unchanged=%llu malformed=%llu "
		       "oversized=%llu unknown_kind=%llu delivery_failed=%llu seconds=%.3f "
		       "lines_per_second=%.0f\n",
		       (unsigned long long)w->replay_lines, (unsigned long long)w->published,
		       (unsigned long long)w->skipped, (unsigned long long)w->malformed,
		       (unsigned long long)w->oversized, (unsigned long long)w->unknown_kind,
		       (unsigned long long)w->delivery_failed, secs,
		       secs > 0 ? (double)w->replay_lines / secs : 0.0);
		fflush(stdout);
		*done = true;
	}
	return true;
}

static void lease_tick(struct wt *w, int64_t now)
{
	char err[512];
	bool was = w->lease.leader;

	if (now < w->next_lease_ms)
		return;
	if (wk_lease_step(&w->lease, w->lease_k8s, err, sizeof(err)) == 0) {
		if (!was)
			wk_info("lease '%s/%s' acquired: leading", w->lease.ns, w->lease.name);
		w->next_lease_ms = wk_time_mono_ms() + w->lease.retry_ms;
	} else {
		if (was || w->lease.leader)
			wk_warn("lease: %s", err);
		else
			wk_debug("lease: %s", err);
		/* client-go: retry with jitter factor 1.2 */
		w->next_lease_ms = wk_time_mono_ms() + w->lease.retry_ms +
				   (long)(rand() % (int)(w->lease.retry_ms / 5 + 1));
	}
}

bool wt_step(struct wt *w, bool *done)
{
	int64_t now = wk_time_mono_ms();
	bool leading;

	*done = false;
	wk_producer_poll(w->prod, 0);
	if (w->replay)
		return replay_step(w, done);
	if (w->lease_enabled)
		lease_tick(w, now);
	leading = !w->lease_enabled || wk_lease_valid(&w->lease, wk_time_mono_ms());
	wk_metric_set(m_leader, NULL, leading ? 1 : 0);
	if (!leading) {
		if (w->active || g_rb)
			term_end(w, "not the leader any more");
		update_gauges(w);
		wk_producer_poll(w->prod, (int)w->tick_wait_ms);
		return false;
	}
	if (!w->active) {
		if (now < w->next_start_ms && !g_rb) {
			wk_producer_poll(w->prod, (int)w->tick_wait_ms);
			return false;
		}
		if (!term_begin(w))
			return false;
		probe_kinds(w);
		fetch_version(w);
		watches_start(w);
		w->active = true;
		w->next_hb_ms = now;
		w->next_reg_ms = now;
		w->next_start_ms = 0;
	}
	/* relists asked for by failed deliveries */
	for (int i = 0; i < WT_NKINDS; i++) {
		struct wt_kstate *ks = &w->ks[i];

		if (!ks->relist_due || !w->watches_up)
			continue;
		ks->relist_due = false;
		wk_info("%s: relisting to republish what a failed delivery carried", ks->k->name);
		if (ks->k->polled) {
			ks->next_poll_ms = 0;
		} else {
			watch_stats(w);
			wk_k8s_watch_destroy(ks->w);
			ks->w = NULL;
			watch_start(w, ks);
		}
	}
	if (w->inflight >= w->queue_max) {
		/* Backpressure: stop reading the API (the streams wait in the kernel and the
		 * server) instead of dropping; if it lasts, let go of the streams and list again
		 * once the broker caught up. */
		if (!w->full_since_ms) {
			w->full_since_ms = now;
			wk_metric_inc(m_queue_full, NULL, 1);
			wk_warn("publish queue full (%lld events wait for the broker): watching "
				"paused",
				w->inflight);
		} else if (w->watches_up && now - w->full_since_ms > w->stall_relist_ms) {
			wk_warn("publish queue full for %lld ms: watches dropped, relisting when "
				"the broker is back",
				w->stall_relist_ms);
			watches_stop(w);
		}
		wk_producer_poll(w->prod, (int)w->tick_wait_ms);
	} else {
		if (w->full_since_ms && w->inflight <= w->queue_max / 2) {
			wk_info("publish queue drained after %lld ms: watching resumed",
				(long long)(now - w->full_since_ms));
			w->full_since_ms = 0;
		}
		if (!w->full_since_ms && !w->watches_up)
			watches_start(w);
		for (int i = 0; i < WT_NKINDS; i++) {
			struct wt_kstate *ks = &w->ks[i];

			if (!ks->k->polled || !ks->enabled || !ks->served || !w->watches_up ||
			    w->nodemetrics_ms <= 0 || now < ks->next_poll_ms)
				continue;
			poll_kind(w, ks);
			ks->next_poll_ms = now + w->nodemetrics_ms;
		}
		wk_k8s_poll(w->k8s, (int)w->tick_wait_ms);
		watch_stats(w);
	}
	if (w->heartbeat_ms > 0 && now >= w->next_hb_ms && w->inflight < w->queue_max) {
		heartbeat(w);
		w->next_hb_ms = now + w->heartbeat_ms;
	}
	if (w->registry_ms > 0 && now >= w->next_reg_ms && w->inflight < w->queue_max) {
		registry_step(w, now);
		w->next_reg_ms = wk_time_mono_ms() +
				 (w->registry_poll_ms > 0 ? w->registry_poll_ms : w->registry_ms);
	}
	wk_producer_poll(w->prod, 0);
	update_gauges(w);
	return all_synced(w);
}

void wt_shutdown(struct wt *w, int timeout_ms)
{
	char err[512];

	watches_stop(w);
	if (w->prod && wk_producer_flush(w->prod, timeout_ms) < 0)
		wk_warn("%d event(s) not delivered at shutdown (a restart republishes them: the "
			"read-back does not find them)",
			wk_producer_outq_len(w->prod));
	if (w->lease_enabled && w->lease_k8s && w->lease.leader) {
		if (wk_lease_release(&w->lease, w->lease_k8s, err, sizeof(err)) < 0)
			wk_warn("lease release: %s", err);
		else
			wk_info("lease '%s/%s' released", w->lease.ns, w->lease.name);
	}
}

void wt_release(struct wt *w)
{
	watches_stop(w);
	wt_rebuild_end(g_rb);
	g_rb = NULL;
	w->prod = NULL; /* borrowed */
	wk_k8s_destroy(w->k8s);
	wk_k8s_destroy(w->lease_k8s);
	wt_fpset_destroy(w->fps);
	free(w->reg_fp);
	wk_k8s_lines_release(&w->lines);
	if (w->replay)
		fclose(w->replay);
	free(w->replay_path);
	memset(w, 0, sizeof(*w));
}
