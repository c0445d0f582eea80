/* mig_service.c - wukong-migrator's Kafka side: subscriptions, decoding and validation of events
 * and submissions, outputs (status, audit, Events) and the acknowledgement of offsets only once
 * every effect of a message is durable. */
#include "flows/mig_cold.h"
#include "flows/mig_evac.h"
#include "decide/mig_evac_report.h"
#include "flows/mig_failure.h"
#include "flows/mig_pressure.h"
#include "mig_service.h"
#include "ctx/mig_ctx.h"

#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_event.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_tenant.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define TICK_POLL_MS 0

static struct mig_state *g_st; /* for the producer's delivery callback */

/* ---- small string map ---- */

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void mig_map_init(struct mig_map *m)
{
	m->nb = 1024;
	m->n = 0;
	m->b = wk_xcalloc(m->nb, sizeof(*m->b));
}

void mig_map_release(struct mig_map *m)
{
	size_t i;

	for (i = 0; i < m->nb; i++) {
		struct mig_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->key);
			free(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

const char *mig_map_get(const struct mig_map *m, const char *key)
{
	const struct mig_map_ent *e = m->b[hash_str(key) % m->nb];

	for (; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->val;
	return NULL;
}

static void map_grow(struct mig_map *m)
{
	size_t nb = m->nb * 2, i;
	struct mig_map_ent **b = wk_xcalloc(nb, sizeof(*b));

	for (i = 0; i < m->nb; i++) {
		struct mig_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			size_t h = hash_str(e->key) % nb;

			n = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void mig_map_set(struct mig_map *m, const char *key, const char *val)
{
	size_t h = hash_str(key) % m->nb;
	struct mig_map_ent *e;

	for (e = m->b[h]; e; e = e->next) {
		if (!strcmp(e->key, key)) {
			free(e->val);
			e->val = wk_xstrdup(val);
			return;
		}
	}
	if (m->n + 1 > m->nb * 2) {
		map_grow(m);
		h = hash_str(key) % m->nb;
	}
	e = wk_xmalloc(sizeof(*e));
	e->key = wk_xstrdup(key);
	e->val = wk_xstrdup(val);
	e->next = m->b[h];
	m->b[h] = e;
	m->n++;
}

void mig_map_del(struct mig_map *m, const char *key)
{
	struct mig_map_ent **pp = &m->b[hash_str(key) % m->nb], *e;

	for (; (e = *pp); pp = &e->next) {
		if (!strcmp(e->key, key)) {
			*pp = e->next;
			free(e->key);
			free(e->val);
			free(e);
			m->n--;
			return;
		}
	}
}

/* ---- acknowledgements ---- */

static struct mig_ack *ack_new(const rd_kafka_message_t *m)
{
	struct mig_ack *a = wk_xcalloc(1, sizeof(*a));

	a->topic = wk_xstrdup(rd_kafka_topic_name(m->rkt));
	a->partition = m->partition;
	a->offset = m->offset;
	a->refs = 1; /* the handler's own reference, dropped when on_message returns */
	return a;
}

struct mig_ack *mig_ack_ref(struct mig_ack *a)
{
	if (a)
		a->refs++;
	return a;
}

static void ack_free(struct mig_ack *a)
{
	free(a->topic);
	free(a);
}

void mig_ack_unref(struct mig_state *st, struct mig_ack *a)
{
	if (!a || --a->refs > 0)
		return;
	if (a->pending && !a->detached &&
	    wk_service_ack(st->ctx, a->topic, a->partition, a->offset) < 0)
		wk_warn("ack '%s' [%d] offset %lld failed", a->topic, (int)a->partition,
			(long long)a->offset);
	if (a->pending || a->detached)
		ack_free(a);
}

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			int64_t offset, void *opaque)
{
	struct mig_state *st = opaque ? opaque : g_st;

	(void)partition;
	(void)offset;
	if (msg_opaque == &mig_evrep_best_effort) {
		/* A progress report: losing one is not worth a replay (the next supersedes it). */
		if (err)
			wk_warn("progress report not delivered: %s", rd_kafka_err2str(err));
		return;
	}
	if (err) {
		/* An output that never reached the broker: its message must be handled again.
		 * Leave the offset unstored and restart so the input is replayed. */
		wk_error("output not delivered: %s; stopping so that the input is replayed",
			 rd_kafka_err2str(err));
		wk_service_stop(st->ctx, 1);
		return;
	}
	mig_ack_unref(st, msg_opaque);
}

/* ---- outputs ---- */

int64_t mig_next_seq(struct mig_state *st)
{
	int64_t now = wk_time_now_ms() * 1000;

	st->last_seq = now > st->last_seq ? now : st->last_seq + 1;
	return st->last_seq;
}

static void out_key(const struct mig_state *st, const char *ns, const char *vm, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", st->cluster, ns, vm);
}

static void send_ce(struct mig_state *st, const char *topic, const char *key, const char *type,
		    const char *id, const char *subject, const char *body, struct mig_ack *ack)
{
	struct wk_cloudevent ev;
	char err[256];

	memset(&ev, 0, sizeof(ev));
	wk_strlcpy(ev.id, id ? id : "", sizeof(ev.id));
	snprintf(ev.source, sizeof(ev.source), "/clusters/%s", st->cluster);
	wk_strlcpy(ev.type, type, sizeof(ev.type));
	if (subject)
		wk_strlcpy(ev.subject, subject, sizeof(ev.subject));
	wk_strlcpy(ev.content_type, "application/json", sizeof(ev.content_type));
	mig_ack_ref(ack);
	if (wk_cloudevent_send(st->prod, topic, key, &ev, body, strlen(body), ack, err,
			       sizeof(err)) < 0) {
		wk_logk(WK_LOG_ERROR, key, "send to '%s' failed: %s; stopping for a replay", topic,
			err);
		wk_service_stop(st->ctx, 1);
		/* keep the reference: the offset must not be stored */
		return;
	}
	wk_metric_inc(st->m_outputs, (const char *const[]){topic}, 1);
}

void mig_send_status(struct mig_state *st, struct mig_active *a, const struct mig_status *s,
		     struct mig_ack *ack)
{
	char key[600], subj[400];
	char *body = mig_status_json(s, wk_time_now_ms());

	(void)a;
	out_key(st, s->req->ns, s->req->vm, key, sizeof(key));
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", s->req->ns, s->req->name);
	send_ce(st, st->t_status, key, "dev.novasphere.wukong.status.v1", NULL, subj, body, ack);
	free(body);
}

void mig_send_audit(struct mig_state *st, const struct mig_audit *au, const char *disc,
		    struct mig_ack *ack)
{
	const char *ns = au->req ? au->req->ns : au->ns, *name = au->req ? au->req->name : au->name;
	const char *vm = au->req ? au->req->vm : au->name;
	const char *rid = au->request_id ? au->request_id : au->req ? au->req->id : "";
	char key[600], subj[400], id[64];
	char *body = mig_audit_json(au);

	out_key(st, ns && *ns ? ns : "-", vm && *vm ? vm : "-", key, sizeof(key));
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", ns && *ns ? ns : "-",
		 name && *name ? name : "-");
	mig_audit_id(st->cluster, ns, name, rid, au->action, disc, id, sizeof(id));
	send_ce(st, st->t_audit, key, "dev.novasphere.wukong.audit.v1", id, subj, body, ack);
	free(body);
}

void mig_post_event(struct mig_state *st, const struct mig_request *r, const char *uid,
		    const char *type, const char *reason, const char *message, const char *action)
{
	struct wk_k8s_result res;
	char err[512], wuid[128];
	cJSON *ev;

	if (!st->k8s_events)
		return;
	if (!uid || !*uid) {
		/* kubectl describe finds a Wukong's Events by its uid: read it. */
		if (wk_k8s_get(st->k8s, &mig_res_wukongs, r->ns, r->name, &res, err, sizeof(err)) <
		    0) {
			if (res.err != WK_K8S_ENOTFOUND)
				wk_warn("event on wukong '%s/%s': %s", r->ns, r->name, err);
			wk_k8s_result_release(&res);
			return;
		}
		const char *u = wk_json_str(res.body, "metadata.uid");

		wk_strlcpy(wuid, u ? u : "", sizeof(wuid));
		wk_k8s_result_release(&res);
		uid = wuid;
	}
	ev = mig_k8s_event(r, uid, type, reason, message, action, st->instance, wk_time_now_ms());
	/* Events are for people, not state: a failure is logged and the work goes on; 409 means
	 * a replay already posted it. */
	if (wk_k8s_create(st->k8s, &wk_k8s_res_events, r->ns, ev, &res, err, sizeof(err)) < 0 &&
	    res.err != WK_K8S_EALREADYEXISTS)
		wk_warn("event on wukong '%s/%s': %s", r->ns, r->name, err);
	wk_k8s_result_release(&res);
	cJSON_Delete(ev);
}

void mig_report(struct mig_state *st, struct mig_active *a, const char *action, const char *outcome,
		const char *reason, const char *message, struct mig_ack *ack)
{
	struct mig_status s;
	struct mig_audit au;
	char disc[64], evreason[64];
	bool warn = !strcmp(outcome, "failure") || !strcmp(outcome, "rejected");
	size_t pos = a->phase == MIG_PH_QUEUED ? mig_queue_position(&st->queue, a->req.id) : 0;

	{
		char key[400];

		snprintf(key, sizeof(key), "%s/%s/%s", st->cluster, a->req.ns, a->req.vm);
		wk_logk(warn ? WK_LOG_WARN : WK_LOG_INFO, key, "%s '%s' %s: %s: %s", action,
			a->req.id, mig_phase_name(a->phase), reason ? reason : "",
			message ? message : "");
	}
	memset(&s, 0, sizeof(s));
	s.req = &a->req;
	s.phase = a->phase;
	s.seq = mig_next_seq(st);
	s.source_node = a->source_node;
	s.target_node = a->req.target_node;
	s.queue_position = pos;
	s.started_ms = a->started_ms;
	s.completed_ms = mig_phase_final(a->phase) ? wk_time_now_ms() : 0;
	s.mode = a->mode[0] ? a->mode : NULL;
	s.reason = reason;
	s.message = message;
	mig_send_status(st, a, &s, ack);
	a->sent_position = pos;

	memset(&au, 0, sizeof(au));
	au.req = &a->req;
	au.cluster = st->cluster;
	au.action = action;
	au.outcome = outcome;
	au.reason = reason;
	au.message = message;
	if (a->topic[0]) {
		au.topic = a->topic;
		au.partition = a->partition;
		au.offset = a->offset;
	}
	snprintf(disc, sizeof(disc), "%s/%zu/%s", mig_phase_name(a->phase), pos, a->vmim_phase);
	mig_send_audit(st, &au, disc, ack);
	/* Events: one per step a person cares about (not every queue shuffle). */
	if (strcmp(action, "migration.queue-position")) {
		snprintf(evreason, sizeof(evreason), "%s", reason && *reason ? reason : action);
		mig_post_event(st, &a->req, a->uid[0] ? a->uid : a->req.uid,
			       warn ? "Warning" : "Normal", evreason, message, action);
	}
}

/* ---- topics ---- */

/* ---- init / term ---- */

static int cfg_bool(const struct wk_config *cfg, const char *k, bool def, bool *out, char *errstr,
		    size_t n)
{
	return wk_config_get_bool(cfg, k, def, out, errstr, n);
}

int mig_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct mig_state *st = wk_xcalloc(1, sizeof(*st));
	char host[64] = "localhost";
	long long v;

	st->ctx = ctx;
	g_st = st;
	wk_service_set_state(ctx, st);
	wk_strlcpy(st->cluster, wk_service_cluster_id(ctx), sizeof(st->cluster));
	gethostname(host, sizeof(host) - 1);
	snprintf(st->instance, sizeof(st->instance), "wukong-migrator-%.60s", host);
	st->boot_ms = wk_time_now_ms();
	wk_kafka_topic(cfg, "status", st->t_status, sizeof(st->t_status));
	wk_kafka_topic(cfg, "audit", st->t_audit, sizeof(st->t_audit));
	wk_kafka_topic(cfg, "events", st->t_events, sizeof(st->t_events));
	wk_kafka_topic(cfg, "requests", st->t_req, sizeof(st->t_req));
	{
		char shortname[128];

		snprintf(shortname, sizeof(shortname), "requests.%s", st->cluster);
		wk_kafka_topic(cfg, shortname, st->t_req_cluster, sizeof(st->t_req_cluster));
	}
	if (cfg_bool(cfg, "migrator.shared-requests", true, &st->shared_requests, errstr,
		     errstr_size) < 0 ||
	    cfg_bool(cfg, "migrator.require-tenant", false, &st->require_tenant, errstr,
		     errstr_size) < 0 ||
	    cfg_bool(cfg, "migrator.kubernetes-events", true, &st->k8s_events, errstr,
		     errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.queue-timeout", 3600000, &st->queue_timeout_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.poll-interval", 2000, &st->poll_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.resync-interval", 30000, &st->resync_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.kubevirt-refresh", 30000, &st->kv_refresh_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "migrator.queue-max", 1000, &st->queue_max, errstr,
			      errstr_size) < 0)
		return -1;
	st->any_tenants = wk_tenant_any_configured(cfg, "migrator");
	st->limits.per_cluster = 5;
	st->limits.per_node = 2;
	if (wk_config_get_int(cfg, "migrator.parallel-per-cluster", 0, &v, errstr, errstr_size) < 0)
		return -1;
	if (v > 0)
		st->limits.per_cluster = (int)v;
	mig_map_init(&st->last_spec);
	mig_map_init(&st->done);
	st->done_cap = 4096;
	st->done_ring = wk_xcalloc(st->done_cap, sizeof(char *));
	mig_queue_init(&st->queue);
	mig_load_init(&st->load);

	st->k8s = wk_k8s_new_from_config(cfg, NULL, errstr, errstr_size);
	if (!st->k8s)
		return -1;
	st->prod = wk_producer_new(cfg, on_delivery, st, errstr, errstr_size);
	if (!st->prod)
		return -1;

	st->m_requests =
	    wk_metric_counter("wukong_migrator_requests_total",
			      "Migration requests by source and outcome", "source,outcome");
	st->m_queue =
	    wk_metric_gauge("wukong_migrator_queue_length",
			    "Migrations waiting for a slot under KubeVirt's limits", NULL);
	st->m_active = wk_metric_gauge("wukong_migrator_migrations_in_flight",
				       "VMIMs of ours that are not final", NULL);
	st->m_outputs =
	    wk_metric_counter("wukong_migrator_outputs_total", "Messages sent, by topic", "topic");
	{
		static const double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

		st->m_react =
		    wk_metric_histogram("wukong_migrator_reaction_seconds",
					"From a request's Kafka timestamp to its VMIM's creation",
					NULL, b, WK_ARRAY_SIZE(b));
	}
	if (mig_refresh_limits(st) < 0)
		wk_warn("KubeVirt CR not readable yet: using limits %d per cluster, %d per node",
			st->limits.per_cluster, st->limits.per_node);
	if (mig_rebuild(st, errstr, errstr_size) < 0)
		return -1;
	st->next_kv_ms = wk_time_mono_ms() + st->kv_refresh_ms;
	st->next_poll_ms = wk_time_mono_ms() + st->poll_ms;
	st->next_resync_ms = wk_time_mono_ms() + st->resync_ms;
	wk_service_set_ready(ctx, true);
	wk_info(
	    "migrator for cluster '%s' ready: limits %d per cluster, %d per node, %zu in flight",
	    st->cluster, st->limits.per_cluster, st->limits.per_node, (size_t)st->load.total);
	return 0;
}

void mig_term(struct wk_service_ctx *ctx)
{
	struct mig_state *st = wk_service_state(ctx);
	size_t i;

	if (!st)
		return;
	/* Deliver what is in flight so that the offsets it holds can be stored before the core
	 * commits on shutdown; held (queued) requests stay uncommitted and come back. */
	if (st->prod && wk_producer_flush(st->prod, 10000) < 0)
		wk_warn("%d output(s) not delivered at shutdown", wk_producer_outq_len(st->prod));
	mig_evac_shutdown(st);
	while (st->active) {
		struct mig_active *a = st->active;

		st->active = a->next;
		if (a->hold) {
			a->hold->detached = true;
			mig_ack_unref(st, a->hold);
		}
		free(a);
	}
	wk_producer_destroy(st->prod);
	wk_k8s_destroy(st->k8s);
	mig_queue_release(&st->queue);
	mig_load_release(&st->load);
	mig_map_release(&st->last_spec);
	mig_map_release(&st->done);
	for (i = 0; i < st->done_cap; i++)
		free(st->done_ring[i]);
	free(st->done_ring);
	free(st);
	g_st = NULL;
	wk_service_set_state(ctx, NULL);
}

/* ---- tick ---- */

void mig_on_tick(struct wk_service_ctx *ctx)
{
	struct mig_state *st = wk_service_state(ctx);
	int64_t now = wk_time_mono_ms();

	if (!st)
		return;
	if (wk_producer_poll(st->prod, TICK_POLL_MS) < 0) {
		char err[256];

		wk_kafka_fatal(wk_producer_handle(st->prod), err, sizeof(err));
		wk_error("producer: fatal error: %s", err);
		wk_service_stop(ctx, 1);
		return;
	}
	if (now >= st->next_kv_ms) {
		mig_refresh_limits(st);
		st->next_kv_ms = now + st->kv_refresh_ms;
	}
	if (now >= st->next_resync_ms) {
		mig_resync(st);
		st->next_resync_ms = now + st->resync_ms;
	}
	if (now >= st->next_poll_ms) {
		mig_poll(st);
		st->next_poll_ms = now + st->poll_ms;
	}
	mig_pump(st);
	mig_evac_tick(st);
	mig_cold_tick(st);
	mig_pressure_tick(st);
	mig_failure_tick(st);
	wk_metric_set(st->m_queue, NULL, (double)st->queue.n);
}

/* ---- messages ---- */

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *jstrv(const cJSON *o, const char *k)
{
	const cJSON *s = jget(o, k);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static enum wk_msg_result on_wukong(struct mig_state *st, const cJSON *body, const char *change,
				    int64_t ts, struct mig_ack *ack)
{
	cJSON *obj;
	struct mig_spec_view view;
	struct mig_request r;
	struct mig_verdict v;
	const char *ns = jstrv(body, "namespace"), *name = jstrv(body, "name");
	const char *last;
	char key[400];
	enum wk_msg_result res = WK_MSG_DONE;

	if (!ns || !name)
		return WK_MSG_DONE;
	if (!strcmp(change, "deleted")) {
		mig_wukong_deleted(st, ns, name, ack);
		return WK_MSG_DONE;
	}
	obj = wk_event_object(body);
	if (mig_spec_view(obj, &view) < 0 || !view.present)
		goto out;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	last = mig_map_get(&st->last_spec, key);
	/* New only if neither what we remember nor what the status says was handled last is
	 * this spec.migration (or a newer one). */
	if (!mig_spec_is_new(&view, last) || !mig_spec_is_new(&view, view.status_request))
		goto out;
	if (mig_request_from_spec(obj, st->cluster, &r, &v) < 0) {
		wk_logk(WK_LOG_WARN, key, "spec.migration ignored: %s", v.message);
		goto out;
	}
	r.received_ms = ts;
	res = mig_handle_request(st, &r, obj, ack);
out:
	cJSON_Delete(obj);
	return res;
}

static enum wk_msg_result on_event(struct mig_state *st, const rd_kafka_message_t *m,
				   const struct wk_cloudevent *ce, struct mig_ack *ack)
{
	static const char pfx[] = "dev.novasphere.wukong.";
	char kind[64] = "", change[32] = "";
	const char *t = ce->type, *dot;
	cJSON *body;
	enum wk_msg_result res = WK_MSG_DONE;
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);

	if (strncmp(t, pfx, sizeof(pfx) - 1))
		return WK_MSG_DONE;
	t += sizeof(pfx) - 1;
	dot = strchr(t, '.');
	if (!dot || (size_t)(dot - t) >= sizeof(kind))
		return WK_MSG_DONE;
	memcpy(kind, t, (size_t)(dot - t));
	wk_strlcpy(change, dot + 1, sizeof(change));
	if (strcmp(kind, "wukong") && strcmp(kind, "virtualmachineinstancemigration") &&
	    strcmp(kind, "virtualmachineinstance") && strcmp(kind, "node") &&
	    strcmp(kind, "nodemetrics"))
		return WK_MSG_DONE;
	body = cJSON_ParseWithLength(ce->data, ce->data_len);
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		return WK_MSG_DONE; /* the watcher's schema is not ours to police */
	}
	if (jstrv(body, "cluster") && strcmp(jstrv(body, "cluster"), st->cluster))
		goto out;
	if (!strcmp(kind, "wukong")) {
		res = on_wukong(st, body, change, ts > 0 ? ts : wk_time_now_ms(), ack);
	} else if (!strcmp(kind, "node")) {
		res = mig_evac_node_event(st, body, change, ts > 0 ? ts : wk_time_now_ms(), ack);
	} else if (!strcmp(kind, "nodemetrics")) {
		res = mig_pressure_metrics_event(st, body, change, ts > 0 ? ts : wk_time_now_ms(),
						 ack);
	} else if (!strcmp(kind, "virtualmachineinstancemigration")) {
		const cJSON *labels = jget(body, "labels");
		const char *mgr = jstrv(labels, MIG_LABEL_MANAGED);

		if (mgr && !strcmp(mgr, MIG_MANAGED_VALUE) && jstrv(body, "namespace") &&
		    jstrv(body, "name"))
			res = mig_vmim_changed(st, jstrv(body, "namespace"), jstrv(body, "name"),
					       ack);
	} else if (jstrv(body, "namespace") && jstrv(body, "name")) {
		mig_vmi_changed(st, jget(body, "status"), jstrv(body, "namespace"),
				jstrv(body, "name"), ack);
		res = mig_failure_vmi_event(st, body, ts > 0 ? ts : wk_time_now_ms(), ack);
	}
out:
	cJSON_Delete(body);
	return res;
}

static void audit_refusal(struct mig_state *st, const rd_kafka_message_t *m, const char *ns,
			  const char *name, const char *rid, const char *code, const char *msg,
			  struct mig_ack *ack)
{
	struct mig_audit au;
	char disc[64];
	cJSON *d = cJSON_CreateObject();

	memset(&au, 0, sizeof(au));
	au.cluster = st->cluster;
	au.ns = ns;
	au.name = name;
	au.request_id = rid;
	au.action = "migration.request-refused";
	au.outcome = "rejected";
	au.reason = code;
	au.message = msg;
	au.topic = rd_kafka_topic_name(m->rkt);
	au.partition = m->partition;
	au.offset = m->offset;
	cJSON_AddStringToObject(d, "deadLetterReason", code);
	au.details = d;
	/* The offset makes the id unique per submission even when nothing else could be read. */
	snprintf(disc, sizeof(disc), "%d/%lld", (int)m->partition, (long long)m->offset);
	mig_send_audit(st, &au, disc, ack);
	cJSON_Delete(d);
}

static enum wk_msg_result refuse(struct mig_state *st, const rd_kafka_message_t *m, const char *ns,
				 const char *name, const char *rid, const char *code,
				 const char *msg, char *reason, size_t rs, char *detail, size_t ds,
				 struct mig_ack *ack)
{
	wk_strlcpy(reason, code, rs);
	wk_strlcpy(detail, msg, ds);
	audit_refusal(st, m, ns, name, rid, code, msg, ack);
	/* The core dead-letters and stores the offset as soon as we return: make the audit
	 * record durable first. */
	wk_producer_flush(st->prod, 10000);
	wk_metric_inc(st->m_requests, (const char *const[]){"kafka", "refused"}, 1);
	return WK_MSG_REJECT;
}

/* A node drain (mig_evac.c). Drains are cluster-wide: with tenants configured, only a tenant
 * whose namespace list is "*" may drain. */
static enum wk_msg_result on_drain(struct mig_state *st, const rd_kafka_message_t *m,
				   const struct wk_cloudevent *ce, bool shared, int64_t ts,
				   char *reason, size_t rs, char *detail, size_t ds,
				   struct mig_ack *ack)
{
	struct mig_drain_req d;
	struct mig_verdict v;
	char err[512];

	if (mig_parse_drain(ce->data, ce->data_len, &d, &v) < 0)
		return refuse(st, m, NULL, NULL, NULL, v.code, v.message, reason, rs, detail, ds,
			      ack);
	if (strcmp(d.cluster, st->cluster)) {
		if (shared)
			return WK_MSG_DONE;
		snprintf(err, sizeof(err), "request for cluster '%s' on this cluster's topic",
			 d.cluster);
		return refuse(st, m, NULL, NULL, d.id, "wrong-cluster", err, reason, rs, detail, ds,
			      ack);
	}
	if (st->require_tenant || (st->any_tenants && d.tenant[0])) {
		char tkey[200];
		const char *list;

		snprintf(tkey, sizeof(tkey), "migrator.tenants.%s", d.tenant);
		list = d.tenant[0] ? wk_config_get(wk_service_config(st->ctx), tkey, NULL) : NULL;
		if (!list || strcmp(list, "*")) {
			snprintf(err, sizeof(err),
				 "tenant '%s' may not drain a node (needs the namespace list '*')",
				 d.tenant);
			return refuse(st, m, NULL, NULL, d.id, "forbidden", err, reason, rs, detail,
				      ds, ack);
		}
	}
	return mig_evac_drain(st, &d, ts > 0 ? ts : wk_time_now_ms(), rd_kafka_topic_name(m->rkt),
			      m->partition, m->offset, ack);
}

static enum wk_msg_result on_request(struct mig_state *st, const rd_kafka_message_t *m,
				     char *reason, size_t rs, char *detail, size_t ds,
				     struct mig_ack *ack)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	bool shared = !strcmp(topic, st->t_req);
	struct wk_cloudevent ce;
	struct mig_verdict v;
	struct mig_request r;
	struct mig_cancel c;
	struct wk_k8s_result res;
	char err[512], key[400];
	enum mig_verb verb;
	const char *ns, *name, *rid, *cluster, *tenant;
	enum wk_msg_result out;
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);

	if (m->len > MIG_SUBMISSION_MAX) {
		snprintf(err, sizeof(err), "submission of %zu bytes exceeds the %d-byte cap",
			 m->len, MIG_SUBMISSION_MAX);
		return refuse(st, m, NULL, NULL, NULL, "oversized", err, reason, rs, detail, ds,
			      ack);
	}
	if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
		return refuse(st, m, NULL, NULL, NULL, "deserialize", err, reason, rs, detail, ds,
			      ack);
	if (!strcmp(ce.type, "dev.novasphere.wukong.request.drain.v1"))
		return on_drain(st, m, &ce, shared, ts, reason, rs, detail, ds, ack);
	verb = mig_verb_from_type(ce.type);
	if (verb == MIG_VERB_OTHER)
		return WK_MSG_DONE; /* drain / clone: another executor's */
	if (verb == MIG_VERB_UNKNOWN) {
		snprintf(err, sizeof(err), "unsupported ce_type '%.200s'", ce.type);
		return refuse(st, m, NULL, NULL, NULL, "unsupported-type", err, reason, rs, detail,
			      ds, ack);
	}
	if (verb == MIG_VERB_MIGRATE) {
		if (mig_parse_migrate(ce.data, ce.data_len, &r, &v) < 0)
			return refuse(st, m, NULL, NULL, NULL, v.code, v.message, reason, rs,
				      detail, ds, ack);
		ns = r.ns, name = r.name, rid = r.id, cluster = r.cluster, tenant = r.tenant;
	} else {
		if (mig_parse_cancel(ce.data, ce.data_len, &c, &v) < 0)
			return refuse(st, m, NULL, NULL, NULL, v.code, v.message, reason, rs,
				      detail, ds, ack);
		ns = c.ns, name = c.name, rid = c.id, cluster = c.cluster, tenant = c.tenant;
	}
	if (strcmp(cluster, st->cluster)) {
		if (shared)
			return WK_MSG_DONE; /* another cluster's migrator handles it */
		snprintf(err, sizeof(err), "request for cluster '%s' on this cluster's topic",
			 cluster);
		return refuse(st, m, ns, name, rid, "wrong-cluster", err, reason, rs, detail, ds,
			      ack);
	}
	{
		char tkey[200];
		const struct wk_config *cfg = wk_service_config(st->ctx);

		snprintf(tkey, sizeof(tkey), "migrator.tenants.%s", tenant);
		if (mig_tenant_check(tenant, ns, *tenant ? wk_config_get(cfg, tkey, NULL) : NULL,
				     st->require_tenant, st->any_tenants, &v) < 0)
			return refuse(st, m, ns, name, rid, v.code, v.message, reason, rs, detail,
				      ds, ack);
	}
	if (verb == MIG_VERB_CANCEL)
		return mig_handle_cancel(st, &c, ack);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (wk_k8s_get(st->k8s, &mig_res_wukongs, ns, name, &res, err, sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e == WK_K8S_ENOTFOUND) {
			snprintf(err, sizeof(err), "wukong '%s/%s' does not exist", ns, name);
			return refuse(st, m, ns, name, rid, "not-found", err, reason, rs, detail,
				      ds, ack);
		}
		wk_logk(WK_LOG_WARN, key, "cannot read the wukong: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	mig_vm_name(res.body, r.vm, sizeof(r.vm));
	{
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(res.body, "metadata"), "uid");

		if (cJSON_IsString(uid))
			wk_strlcpy(r.uid, uid->valuestring, sizeof(r.uid));
	}
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	r.received_ms = ts > 0 ? ts : wk_time_now_ms();
	out = mig_handle_request(st, &r, res.body, ack);
	wk_k8s_result_release(&res);
	return out;
}

enum wk_msg_result mig_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				  char *reason, size_t reason_size, char *detail,
				  size_t detail_size)
{
	struct mig_state *st = wk_service_state(ctx);
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct mig_ack *ack = ack_new(m);
	enum wk_msg_result res;

	if (!strcmp(topic, st->t_events)) {
		struct wk_cloudevent ce;
		char err[256];

		if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
			res = WK_MSG_DONE; /* not an event we can read: not ours to dead-letter */
		else
			res = on_event(st, m, &ce, ack);
	} else {
		res = on_request(st, m, reason, reason_size, detail, detail_size, ack);
	}
	/* Give up the handler's reference. DONE with outputs still in flight becomes PENDING and
	 * is acknowledged by the last delivery (or by the queue releasing the request). */
	if (res == WK_MSG_DONE && ack->refs > 1) {
		ack->pending = true;
		res = WK_MSG_PENDING;
		mig_ack_unref(st, ack);
		return res;
	}
	if (res != WK_MSG_DONE) {
		ack->detached = true;
		if (ack->refs > 1) {
			ack->refs--;
			return res;
		}
	}
	ack_free(ack);
	return res;
}
