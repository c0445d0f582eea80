/* rt_service.c - wukong-router's I/O: registry in, submissions in, decisions carried out. */
#include "rt_service.h"

#include "rt_fanout.h"
#include "rt_route.h"
#include "wk_cloudevent.h"
#include "wk_cluster.h"
#include "wk_config.h"
#include "wk_emit.h"
#include "wk_json.h"
#include "wk_kafka.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define HOLD_CHECK_MS 500

/* One accepted input message and the outputs it caused that the broker has not confirmed yet. */
struct rt_pending {
	char topic[256];
	int32_t partition;
	int64_t offset;
	int refs;
	bool armed; /* every output produced: the last report acks */
};

/* A held submission: a copy of the message, decided again every HOLD_CHECK_MS. */
struct rt_held {
	struct rt_held *next;
	char topic[256];
	int32_t partition;
	int64_t offset;
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	rd_kafka_headers_t *hdrs;
	int64_t next_ms;
};

struct rt_state {
	struct wk_service_ctx *ctx;
	const struct wk_config *cfg;
	struct wk_producer *prod;
	struct rt_registry reg;
	struct wk_cluster_reader *reader;
	bool caught_up;
	int64_t next_reader_ms;
	int64_t grace_until_ms;
	long long grace_ms, max_age_ms, max_held;
	char t_clusters[256], t_audit[256], t_progress[256], t_dlq[256];
	struct rt_held *held;
	long long n_held;
	/* aggregate status of fan-outs, from wukong.audit read back over router.fanout-window */
	struct rt_fanouts fanouts;
	struct wk_tail *audit_tail;
	bool audit_caught_up;
	long long fanout_window_ms;
	int64_t next_audit_tail_ms;
	struct wk_metric *m_routed, *m_refused, *m_held, *m_clusters, *m_fanouts;
};

/* Where an input message came from and what it carried (borrowed). */
struct rt_origin {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	const rd_kafka_headers_t *hdrs;
};

/* ---- registry ---- */

static void on_record(const char *key, const char *body, size_t len, void *opaque)
{
	struct rt_state *st = opaque;
	char err[256];

	if (rt_registry_apply(&st->reg, key, body, len, err, sizeof(err)) < 0)
		wk_warn("wukong.clusters record '%s' skipped: %s", key, err);
}

static void registry_poll(struct rt_state *st, int timeout_ms)
{
	char err[512];

	if (!st->reader) {
		if (wk_time_mono_ms() < st->next_reader_ms)
			return;
		st->reader = wk_cluster_reader_new(st->cfg, st->t_clusters, err, sizeof(err));
		if (!st->reader) {
			wk_warn("cannot read the cluster registry: %s (retrying in 2 s; nothing is "
				"routed before it is read)",
				err);
			st->next_reader_ms = wk_time_mono_ms() + 2000;
			return;
		}
	}
	if (wk_cluster_reader_poll(st->reader, timeout_ms, on_record, st) == 1 && !st->caught_up) {
		st->caught_up = true;
		st->grace_until_ms = wk_time_now_ms() + st->grace_ms;
		wk_info("cluster registry read: %zu cluster(s) known; routing",
			wk_map_count(&st->reg.clusters));
		wk_service_set_ready(st->ctx, true);
	}
}

/* ---- outputs ---- */

static struct rt_pending *pending_new(const struct rt_origin *o)
{
	struct rt_pending *p = wk_xcalloc(1, sizeof(*p));

	wk_strlcpy(p->topic, o->topic, sizeof(p->topic));
	p->partition = o->partition;
	p->offset = o->offset;
	return p;
}

static void pending_done(struct rt_state *st, struct rt_pending *p)
{
	if (wk_service_ack(st->ctx, p->topic, p->partition, p->offset) < 0)
		wk_warn("'%s' [%d] offset %lld: not pending any more (rebalanced?)", p->topic,
			(int)p->partition, (long long)p->offset);
	free(p);
}

void rt_on_delivery(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
		    int32_t partition, int64_t offset)
{
	struct rt_state *st = wk_service_state(ctx);
	struct rt_pending *p = msg_opaque;

	(void)partition;
	(void)offset;
	if (!p)
		return;
	if (!st) {
		free(p);
		return;
	}
	if (err) {
		/* The producer is idempotent with no message timeout: a failed delivery is
		 * fatal or a refused message. Stop without storing this offset: the restart
		 * routes the message again under the same ids. */
		wk_error("'%s' [%d] offset %lld: an output was not delivered (%s): stopping so "
			 "that a restart routes it again",
			 p->topic, (int)p->partition, (long long)p->offset, rd_kafka_err2str(err));
		wk_service_stop(ctx, 1);
		p->refs = -1000000; /* never acked */
		return;
	}
	if (--p->refs == 0 && p->armed)
		pending_done(st, p);
}

static int out_send(struct rt_state *st, const char *topic, const char *key,
		    const struct wk_cloudevent *ce, const char *body, struct rt_pending *p)
{
	char err[512];

	if (p)
		p->refs++;
	if (wk_cloudevent_send(st->prod, topic, key, ce, body, strlen(body), p, err, sizeof(err)) <
	    0) {
		if (p)
			p->refs--;
		wk_logk(WK_LOG_ERROR, key, "produce to '%s': %s", topic, err);
		return -1;
	}
	return 0;
}

static void ce_init(struct wk_cloudevent *ce, const char *type, const char *id, const char *subject)
{
	char t[64];

	memset(ce, 0, sizeof(*ce));
	wk_strlcpy(ce->id, id, sizeof(ce->id));
	wk_strlcpy(ce->source, "/router", sizeof(ce->source));
	wk_strlcpy(ce->type, type, sizeof(ce->type));
	wk_strlcpy(ce->subject, subject, sizeof(ce->subject));
	wk_time_format_micro(wk_time_now_ms() * 1000, t, sizeof(t));
	wk_strlcpy(ce->time, t, sizeof(ce->time));
	wk_strlcpy(ce->content_type, "application/json", sizeof(ce->content_type));
}

/* The audit record of one decision (deterministic id: a replay is deduplicated). */
static int audit(struct rt_state *st, const struct rt_origin *o, const struct rt_decision *d,
		 const char *action, const char *outcome, const char *cluster, struct rt_pending *p)
{
	struct wk_emit_audit a;
	struct wk_cloudevent ce;
	char id[96], off[32], subj[300];
	const char *parts[3];
	cJSON *det = cJSON_CreateObject(), *req, *arr;
	char *body;
	int rc;

	req = cJSON_ParseWithLength(o->value ? o->value : "", o->value ? o->value_len : 0);
	memset(&a, 0, sizeof(a));
	a.request_id = d->request_id[0] ? d->request_id : NULL;
	a.source_type = "kafka";
	a.topic = o->topic;
	a.partition = o->partition;
	a.offset = o->offset;
	a.cluster = cluster;
	a.kind = "Wukong";
	a.ns = wk_json_str(req, "namespace");
	a.name = wk_json_str(req, "name");
	if (!a.name)
		a.name = wk_json_str(req, "node") ? wk_json_str(req, "node") : "-";
	a.actor = "wukong-router";
	a.action = action;
	a.outcome = outcome;
	a.reason = d->reason[0] ? d->reason : NULL;
	a.message = d->message;
	if (d->n) {
		arr = cJSON_AddArrayToObject(det, "targets");
		for (size_t i = 0; i < d->n; i++) {
			cJSON *t = cJSON_CreateObject();

			cJSON_AddStringToObject(t, "cluster", d->targets[i].cluster);
			cJSON_AddStringToObject(t, "requestId", d->targets[i].request_id);
			cJSON_AddItemToArray(arr, t);
		}
	}
	if (d->verdict == RT_REFUSE)
		cJSON_AddStringToObject(det, "deadLetterReason", d->reason);
	a.details = det;
	body = wk_emit_audit_json(&a);
	snprintf(off, sizeof(off), "%d/%lld", (int)o->partition, (long long)o->offset);
	parts[0] = o->topic;
	parts[1] = off;
	parts[2] = action;
	wk_emit_id("rt-audit", parts, 3, id, sizeof(id));
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", a.ns ? a.ns : "-", a.name);
	ce_init(&ce, WK_CE_AUDIT, id, subj);
	rc = out_send(st, st->t_audit, d->request_id[0] ? d->request_id : "router", &ce, body, p);
	free(body);
	cJSON_Delete(det);
	cJSON_Delete(req);
	return rc;
}

/* A fan-out or placement record on wukong.progress: which part went where, for wukongctl. */
static int plan_record(struct rt_state *st, const struct rt_decision *d, struct rt_pending *p)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	struct wk_cloudevent ce;
	const char *parts[1] = {d->request_id};
	char id[96], subj[128], *body;
	int rc;

	cJSON_AddStringToObject(o, "type", "route");
	cJSON_AddStringToObject(o, "requestId", d->request_id);
	cJSON_AddStringToObject(o, "mode", d->fanout ? "fanout" : "placement");
	cJSON_AddStringToObject(o, "message", d->message);
	arr = cJSON_AddArrayToObject(o, "parts");
	for (size_t i = 0; i < d->n; i++) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "cluster", d->targets[i].cluster);
		cJSON_AddStringToObject(t, "requestId", d->targets[i].request_id);
		cJSON_AddItemToArray(arr, t);
	}
	arr = cJSON_AddArrayToObject(o, "skipped");
	for (size_t i = 0; i < d->n_skipped; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(d->skipped[i]));
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	wk_emit_id("rt-plan", parts, 1, id, sizeof(id));
	snprintf(subj, sizeof(subj), "Request/%s", d->request_id);
	ce_init(&ce, WK_CE_PROGRESS_ROUTE, id, subj);
	rc = out_send(st, st->t_progress, d->request_id, &ce, body, p);
	free(body);
	return rc;
}

/* Produce every routed copy, the audit record and (fan-out, placement) the plan record; the
 * input's offset is acked by the last delivery report. -1 if a produce failed (nothing acked:
 * the caller retries the message; what went out is produced again under the same ids). */
static int route(struct rt_state *st, const struct rt_origin *o, const struct wk_cloudevent *in,
		 const struct rt_decision *d, const char *from_cluster)
{
	struct rt_pending *p = pending_new(o);
	char key[600], topic[300], shortname[128];
	const char *action = d->fanout	 ? "router.fanned-out"
			     : d->placed ? "router.placed"
					 : "router.routed";
	char okey[512];
	int rc = 0;

	snprintf(okey, sizeof(okey), "%.*s", (int)(o->key_len < 511 ? o->key_len : 511),
		 o->key ? o->key : "");
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		const struct rt_target *t = &d->targets[i];
		const char *parts[2] = {t->request_id, t->cluster};
		struct wk_cloudevent ce = *in;
		char err[256];

		memset(ce.ext, 0, sizeof(ce.ext));
		ce.next = 0;
		wk_emit_id("rt", parts, 2, ce.id, sizeof(ce.id));
		snprintf(shortname, sizeof(shortname), "requests.%s", t->cluster);
		wk_kafka_topic(st->cfg, shortname, topic, sizeof(topic));
		rt_route_key(okey, from_cluster, t->cluster, key, sizeof(key));
		/* where it entered: the request topic (a tenant's) names who asked */
		if (wk_cloudevent_ext_add(&ce, "wktopic", o->topic, err, sizeof(err)) < 0)
			wk_warn("ce_wktopic: %s", err);
		rc = out_send(st, topic, key, &ce, t->body, p);
	}
	if (rc == 0)
		rc =
		    audit(st, o, d, action, "success", d->n == 1 ? d->targets[0].cluster : NULL, p);
	if (rc == 0 && (d->fanout || d->placed))
		rc = plan_record(st, d, p);
	if (rc < 0) {
		/* refs of what went out still come back: let them free p without acking */
		p->refs -= 1000000;
		if (p->refs + 1000000 == 0)
			free(p);
		return -1;
	}
	p->armed = true;
	wk_metric_inc(st->m_routed, (const char *const[]){action + 7}, (double)d->n);
	if (p->refs == 0)
		pending_done(st, p);
	return 0;
}

/* ---- held submissions ---- */

static void held_free(struct rt_held *h)
{
	free(h->key);
	free(h->value);
	if (h->hdrs)
		rd_kafka_headers_destroy(h->hdrs);
	free(h);
}

static void held_add(struct rt_state *st, const rd_kafka_message_t *m)
{
	struct rt_held *h = wk_xcalloc(1, sizeof(*h));
	rd_kafka_headers_t *hdrs = NULL;

	wk_strlcpy(h->topic, rd_kafka_topic_name(m->rkt), sizeof(h->topic));
	h->partition = m->partition;
	h->offset = m->offset;
	h->key_len = m->key ? m->key_len : 0;
	h->key = wk_xmalloc(h->key_len + 1);
	if (h->key_len)
		memcpy(h->key, m->key, h->key_len);
	h->value_len = m->payload ? m->len : 0;
	h->value = wk_xmalloc(h->value_len + 1);
	if (h->value_len)
		memcpy(h->value, m->payload, h->value_len);
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
		h->hdrs = rd_kafka_headers_copy(hdrs);
	h->next_ms = wk_time_mono_ms() + HOLD_CHECK_MS;
	h->next = st->held;
	st->held = h;
	st->n_held++;
	wk_metric_set(st->m_held, NULL, (double)st->n_held);
}

/* ---- aggregate status of fan-outs ---- */

/* The report of one fan-out on wukong.progress (deterministic id: the same state gives the same
 * id, so a replay after a restart is deduplicated); a final one ends the following. */
static void fanout_report(struct rt_state *st, const char *request_id)
{
	const struct rt_fanout *fo = rt_fanouts_get(&st->fanouts, request_id);
	struct wk_cloudevent ce;
	char id[96], subj[128], rid[RT_ID_MAX], *body;
	const char *parts[2];
	bool final;

	if (!fo)
		return;
	wk_strlcpy(rid, request_id, sizeof(rid));
	body = rt_fanout_report_json(fo);
	parts[0] = rid;
	parts[1] = body;
	wk_emit_id("rt-agg", parts, 2, id, sizeof(id));
	snprintf(subj, sizeof(subj), "Request/%s", rid);
	ce_init(&ce, WK_CE_PROGRESS_ROUTE, id, subj);
	final = strcmp(rt_fanout_overall(fo), "Running") != 0;
	if (out_send(st, st->t_progress, rid, &ce, body, NULL) == 0 && final) {
		wk_logk(WK_LOG_INFO, rid, "fan-out %s: %s", rt_fanout_overall(fo), body);
		rt_fanouts_forget(&st->fanouts, rid);
	}
	free(body);
}

static void fanout_step(struct rt_state *st)
{
	rd_kafka_message_t *m;
	char err[512];
	int n = 0;

	if (!st->audit_tail) {
		if (wk_time_mono_ms() < st->next_audit_tail_ms)
			return;
		st->audit_tail =
		    wk_tail_new(st->cfg, st->t_audit, wk_time_now_ms() - st->fanout_window_ms,
				"wukong-router-audit-reader", err, sizeof(err));
		if (!st->audit_tail) {
			wk_warn("cannot follow '%s' for fan-out results: %s (retrying in 5 s)",
				st->t_audit, err);
			st->next_audit_tail_ms = wk_time_mono_ms() + 5000;
			return;
		}
	}
	while (n++ < 1000 && (m = wk_tail_poll(st->audit_tail, 0))) {
		const char *parent = NULL;

		if (m->payload && m->len <= RT_BODY_MAX)
			parent = rt_fanouts_apply(&st->fanouts, m->payload, m->len);
		/* while reading the window back, the state is rebuilt silently */
		if (parent && st->audit_caught_up)
			fanout_report(st, parent);
		rd_kafka_message_destroy(m);
	}
	if (!st->audit_caught_up && wk_tail_caught_up(st->audit_tail)) {
		size_t cnt = rt_fanouts_count(&st->fanouts), k = 0;
		char(*ids)[RT_ID_MAX] = wk_xcalloc(cnt ? cnt : 1, RT_ID_MAX);

		st->audit_caught_up = true;
		wk_info("'%s' read back over the last %lld s: %zu fan-out(s) followed", st->t_audit,
			st->fanout_window_ms / 1000, cnt);
		/* the current state of each, once (a report lost in a crash goes out now) */
		WK_MAP_EACH(it, &st->fanouts.by_parent)
		{
			const struct rt_fanout *fo = it.val;

			if (k < cnt)
				wk_strlcpy(ids[k++], fo->request_id, RT_ID_MAX);
		}
		for (size_t i = 0; i < k; i++)
			fanout_report(st, ids[i]);
		free(ids);
	}
	wk_metric_set(st->m_fanouts, NULL, (double)rt_fanouts_count(&st->fanouts));
}

/* ---- deciding ---- */

static const char *from_cluster_of(const char *body, size_t len, char *out, size_t out_size)
{
	cJSON *o = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const char *c = wk_json_str(o, "cluster");

	out[0] = '\0';
	if (c)
		wk_strlcpy(out, c, out_size);
	cJSON_Delete(o);
	return out;
}

static void decide(struct rt_state *st, const struct rt_origin *o, const struct wk_cloudevent *ce,
		   struct rt_decision *d)
{
	struct rt_input in = {
	    .ce_type = ce->type,
	    .body = ce->data,
	    .len = ce->data_len,
	    .now_ms = wk_time_now_ms(),
	    .grace_until_ms = st->grace_until_ms,
	};

	(void)o;
	if (strncmp(ce->type, WK_CE_REQUEST_PREFIX, strlen(WK_CE_REQUEST_PREFIX))) {
		memset(d, 0, sizeof(*d));
		d->verdict = RT_REFUSE;
		wk_strlcpy(d->reason, "UnsupportedType", sizeof(d->reason));
		snprintf(d->message, sizeof(d->message), "ce_type '%s' is not a request", ce->type);
		return;
	}
	rt_decide(&st->reg, &in, d);
}

enum wk_msg_result rt_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail, size_t detail_size)
{
	struct rt_state *st = wk_service_state(ctx);
	struct rt_decision d;
	struct wk_cloudevent ce;
	rd_kafka_headers_t *hdrs = NULL;
	struct rt_origin o;
	char err[512], from[64];
	enum wk_msg_result res = WK_MSG_PENDING;

	if (!st->caught_up)
		return WK_MSG_RETRY; /* nothing is decided on a registry not yet read */
	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		hdrs = NULL;
	o = (struct rt_origin){rd_kafka_topic_name(m->rkt),
			       m->partition,
			       m->offset,
			       m->key,
			       m->key ? m->key_len : 0,
			       m->payload,
			       m->payload ? m->len : 0,
			       hdrs};
	if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0) {
		memset(&d, 0, sizeof(d));
		d.verdict = RT_REFUSE;
		wk_strlcpy(d.reason, "MalformedRequest", sizeof(d.reason));
		wk_strlcpy(d.message, err, sizeof(d.message));
	} else {
		decide(st, &o, &ce, &d);
	}
	switch (d.verdict) {
	case RT_ROUTE:
		from_cluster_of(ce.data, ce.data_len, from, sizeof(from));
		if (route(st, &o, &ce, &d, from) < 0)
			res = WK_MSG_RETRY;
		break;
	case RT_HOLD:
		if (st->n_held >= st->max_held) {
			wk_strlcpy(d.reason, RT_REASON_UNAVAILABLE, sizeof(d.reason));
			snprintf(d.message + strlen(d.message),
				 sizeof(d.message) - strlen(d.message),
				 " (but %lld submissions are held already, router.max-held)",
				 st->n_held);
			goto refuse;
		}
		wk_logk(WK_LOG_INFO, d.request_id, "held: %s", d.message);
		held_add(st, m);
		break;
	case RT_REFUSE:
	refuse:
		d.verdict = RT_REFUSE;
		wk_strlcpy(reason, d.reason, reason_size);
		wk_strlcpy(detail, d.message, detail_size);
		audit(st, &o, &d, "router.request-refused", "rejected", NULL, NULL);
		/* the audit record first, then the core's dead letter and offset */
		if (wk_producer_flush(st->prod, 10000) < 0) {
			res = WK_MSG_RETRY;
			break;
		}
		wk_metric_inc(st->m_refused, (const char *const[]){d.reason}, 1);
		res = WK_MSG_REJECT;
		break;
	}
	rt_decision_release(&d);
	return res;
}

/* A held submission decided again: routed, refused (past its deadline) or kept. true = done. */
static bool held_step(struct rt_state *st, struct rt_held *h)
{
	struct rt_decision d;
	struct wk_cloudevent ce;
	struct wk_dlq_orig dq;
	struct rt_origin o = {h->topic,	  h->partition, h->offset,    h->key,
			      h->key_len, h->value,	h->value_len, h->hdrs};
	char err[512], from[64];
	bool done = true;

	/* the attributes from the copy's headers: wk_cloudevent_decode checked them the first
	 * time */
	memset(&ce, 0, sizeof(ce));
	if (wk_kafka_headers_copy_str(h->hdrs, "ce_type", ce.type, sizeof(ce.type)) < 0 ||
	    wk_kafka_headers_copy_str(h->hdrs, "ce_id", ce.id, sizeof(ce.id)) < 0)
		return false;
	wk_kafka_headers_copy_str(h->hdrs, "ce_source", ce.source, sizeof(ce.source));
	wk_kafka_headers_copy_str(h->hdrs, "ce_subject", ce.subject, sizeof(ce.subject));
	wk_kafka_headers_copy_str(h->hdrs, "ce_time", ce.time, sizeof(ce.time));
	wk_kafka_headers_copy_str(h->hdrs, "content-type", ce.content_type,
				  sizeof(ce.content_type));
	ce.data = h->value;
	ce.data_len = h->value_len;
	decide(st, &o, &ce, &d);
	if (d.verdict == RT_HOLD && wk_time_now_ms() >= d.hold_until_ms) {
		d.verdict = RT_REFUSE;
		snprintf(d.message + strlen(d.message), sizeof(d.message) - strlen(d.message),
			 "; the deadline passed");
	}
	switch (d.verdict) {
	case RT_ROUTE:
		from_cluster_of(h->value, h->value_len, from, sizeof(from));
		done = route(st, &o, &ce, &d, from) == 0;
		break;
	case RT_HOLD:
		done = false;
		break;
	case RT_REFUSE:
		audit(st, &o, &d, "router.request-refused", "rejected", NULL, NULL);
		dq = (struct wk_dlq_orig){h->topic,   h->partition, h->offset,	  h->key,
					  h->key_len, h->value,	    h->value_len, h->hdrs};
		if (wk_producer_flush(st->prod, 10000) < 0 ||
		    wk_dlq_send_orig(st->prod, st->t_dlq, &dq, "wukong-router", d.reason, d.message,
				     err, sizeof(err)) < 0) {
			wk_warn("held request '%s': dead letter: %s (trying again)", d.request_id,
				err);
			done = false;
			break;
		}
		wk_metric_inc(st->m_refused, (const char *const[]){d.reason}, 1);
		wk_service_ack(st->ctx, h->topic, h->partition, h->offset);
		break;
	}
	rt_decision_release(&d);
	return done;
}

void rt_on_tick(struct wk_service_ctx *ctx)
{
	struct rt_state *st = wk_service_state(ctx);
	int64_t now = wk_time_mono_ms();
	struct rt_held **pp = &st->held;

	registry_poll(st, 0);
	fanout_step(st);
	wk_metric_set(st->m_clusters, NULL, (double)wk_map_count(&st->reg.clusters));
	while (*pp) {
		struct rt_held *h = *pp;

		if (now < h->next_ms) {
			pp = &h->next;
			continue;
		}
		if (held_step(st, h)) {
			*pp = h->next;
			held_free(h);
			st->n_held--;
			continue;
		}
		h->next_ms = now + HOLD_CHECK_MS;
		pp = &h->next;
	}
	wk_metric_set(st->m_held, NULL, (double)st->n_held);
}

int rt_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct rt_state *st = wk_xcalloc(1, sizeof(*st));

	st->ctx = ctx;
	st->cfg = cfg;
	st->prod = wk_service_producer(ctx);
	wk_service_set_state(ctx, st);
	if (wk_config_get_duration_ms(cfg, "router.cluster-max-age", 15000, &st->max_age_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "router.unknown-grace", 10000, &st->grace_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_int(cfg, "router.max-held", 10000, &st->max_held, errstr, errstr_size) <
		0 ||
	    wk_config_get_duration_ms(cfg, "router.fanout-window", 3600000, &st->fanout_window_ms,
				      errstr, errstr_size) < 0)
		return -1;
	if (st->max_age_ms < 1000)
		return wk_err(errstr, errstr_size,
			      "%s: key 'router.cluster-max-age': below 1s (the watchers heartbeat "
			      "every few seconds)",
			      wk_config_origin(cfg, "router.cluster-max-age"));
	rt_registry_init(&st->reg, st->max_age_ms);
	rt_fanouts_init(&st->fanouts);
	wk_kafka_topic(cfg, "clusters", st->t_clusters, sizeof(st->t_clusters));
	wk_kafka_topic(cfg, "audit", st->t_audit, sizeof(st->t_audit));
	wk_kafka_topic(cfg, "progress", st->t_progress, sizeof(st->t_progress));
	wk_kafka_topic(cfg, "dlq", st->t_dlq, sizeof(st->t_dlq));
	st->m_routed =
	    wk_metric_counter("wukong_router_routed_total",
			      "Routed request copies, by how (routed, placed, fanned-out)", "how");
	st->m_refused =
	    wk_metric_counter("wukong_router_refused_total",
			      "Submissions dead-lettered by the router, by reason", "reason");
	st->m_held = wk_metric_gauge("wukong_router_held",
				     "Submissions held for an Unavailable cluster", NULL);
	st->m_clusters =
	    wk_metric_gauge("wukong_router_clusters", "Clusters in the registry", NULL);
	st->m_fanouts = wk_metric_gauge("wukong_router_fanouts",
					"Fan-outs whose parts are followed to their end", NULL);
	wk_service_set_ready(ctx, false);
	registry_poll(st, 100);
	return 0;
}

void rt_term(struct wk_service_ctx *ctx)
{
	struct rt_state *st = wk_service_state(ctx);

	if (!st)
		return;
	/* held submissions stay unacked: they come back after a restart */
	while (st->held) {
		struct rt_held *h = st->held;

		st->held = h->next;
		held_free(h);
	}
	wk_cluster_reader_destroy(st->reader);
	wk_tail_destroy(st->audit_tail);
	rt_fanouts_release(&st->fanouts);
	rt_registry_release(&st->reg);
	free(st);
	wk_service_set_state(ctx, NULL);
}
