/* mig_service.c - wukong-migrator's top: Kafka in (decoding, validation and routing of events and
 * submissions to the flows), init, term and the tick. Nothing calls it but main.c; outputs and
 * the acknowledgement of offsets once every effect of a message is durable are in ctx/. */
#include "flows/mig_cold.h"
#include "flows/mig_live.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "flows/mig_evac.h"
#include "flows/mig_failure.h"
#include "flows/mig_pressure.h"
#include "mig_service.h"
#include "ctx/mig_ctx.h"
#include "ctx/mig_tenancy.h"

#include "wk_authz_io.h"
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_event.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_request.h"
#include "wk_tenant.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define TICK_POLL_MS 0

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

/* ---- outputs ---- */

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
	wk_service_set_state(ctx, st);
	wk_strlcpy(st->cluster, wk_service_cluster_id(ctx), sizeof(st->cluster));
	gethostname(host, sizeof(host) - 1);
	snprintf(st->instance, sizeof(st->instance), "wukong-migrator-%.60s", host);
	st->boot_ms = wk_time_now_ms();
	st->cold.known = -1;
	wk_kubevirt_info_init(&st->kv);
	st->failure.maybe = true;
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
	    wk_config_get_duration_ms(cfg, "migrator.spec-wait-timeout", 300000, &st->spec_wait_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.poll-interval", 2000, &st->poll_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.resync-interval", 30000, &st->resync_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.kubevirt-refresh", 30000, &st->kv_refresh_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "migrator.migration-deadline", 0,
				      &st->migration_deadline_ms, errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "migrator.queue-max", 1000, &st->queue_max, errstr,
			      errstr_size) < 0)
		return -1;
	st->any_tenants = wk_tenant_any_configured(cfg, "migrator");
	if (wk_authz_init(&st->authz, cfg, wk_time_mono_ms(), errstr, errstr_size) < 0 ||
	    wk_authz_load_id_key(cfg, errstr, errstr_size) < 0)
		return -1;
	mig_tenancy_init(st);
	st->limits.per_cluster = 5;
	st->limits.per_node = 2;
	if (wk_config_get_int(cfg, "migrator.parallel-per-cluster", 0, &v, errstr, errstr_size) < 0)
		return -1;
	if (v > 0)
		st->limits.per_cluster = (int)v;
	wk_map_init(&st->last_spec, free);
	wk_map_init(&st->spec_wait, free);
	wk_map_init(&st->done, free);
	st->done_cap = 4096;
	st->done_ring = wk_xcalloc(st->done_cap, sizeof(char *));
	mig_queue_init(&st->queue);
	mig_load_init(&st->load);

	st->k8s = wk_k8s_new_from_config(cfg, NULL, errstr, errstr_size);
	if (!st->k8s)
		return -1;
	st->prod = wk_producer_new(cfg, mig_emit_on_delivery, st, errstr, errstr_size);
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
	mig_outcome_metrics_init(st);
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
	mig_failure_forget(st);
	mig_pressure_forget(st);
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
	wk_map_release(&st->last_spec);
	wk_map_release(&st->spec_wait);
	wk_map_release(&st->done);
	mig_tenancy_release(st);
	for (i = 0; i < st->done_cap; i++)
		free(st->done_ring[i]);
	free(st->done_ring);
	free(st);
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
		mig_spec_wait_retry(st);
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

static enum wk_msg_result on_wukong(struct mig_state *st, const cJSON *body, const char *change,
				    int64_t ts, struct mig_ack *ack)
{
	cJSON *obj;
	struct mig_spec_view view;
	struct mig_request r;
	struct mig_verdict v;
	const char *ns = wk_json_str(body, "namespace"), *name = wk_json_str(body, "name");
	const char *last;
	char key[400];
	enum wk_msg_result res_code = WK_MSG_DONE;

	if (!ns || !name)
		return WK_MSG_DONE;
	if (!strcmp(change, "deleted")) {
		mig_wukong_deleted(st, ns, name, ack);
		return WK_MSG_DONE;
	}
	obj = wk_event_object(body);
	if (mig_spec_view(obj, &view) < 0)
		goto out;
	mig_spec_presence(st, obj, &view, ack);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	last = (const char *)wk_map_get(&st->last_spec, key);
	/* New only if neither what we remember nor what the status says was handled last is
	 * this spec.migration (or a newer one), a removal of spec.migration in between aside. */
	if (!mig_spec_due(&view, last))
		goto out;
	/* The event says that the Wukong changed; the API says what (docs/security.md): a forged
	 * event on wukong.events starts nothing that the Wukong itself does not ask for. */
	{
		struct wk_k8s_result res;
		char err[512];

		if (wk_k8s_get(st->k8s, &wk_res_wukongs, ns, name, &res, err, sizeof(err)) < 0) {
			enum wk_k8s_err e = res.err;

			wk_k8s_result_release(&res);
			if (e == WK_K8S_ENOTFOUND)
				goto out;
			wk_logk(WK_LOG_WARN, ns, "cannot re-read wukong '%s': %s; retrying", name,
				err);
			res_code = WK_MSG_RETRY;
			goto out;
		}
		cJSON_Delete(obj);
		obj = wk_k8s_result_take(&res);
		wk_k8s_result_release(&res);
		if (mig_spec_view(obj, &view) < 0 || !view.present ||
		    !mig_spec_is_new(&view, last) || !mig_spec_is_new(&view, view.status_request))
			goto out;
	}
	if (mig_request_from_spec(obj, st->cluster, &r, &v) < 0) {
		wk_logk(WK_LOG_WARN, key, "spec.migration ignored: %s", v.message);
		goto out;
	}
	r.received_ms = ts;
	res_code = mig_handle_request(st, &r, obj, ack);
out:
	cJSON_Delete(obj);
	return res_code;
}

/* A Node event: not Ready -> the failure flow; otherwise maintenance -> the evacuation flow. */
static enum wk_msg_result on_node(struct mig_state *st, const cJSON *body, const char *change,
				  int64_t ts, struct mig_ack *ack)
{
	const char *node = wk_json_str(body, "name");
	struct wk_k8s_result res;
	enum wk_msg_result out;
	char err[512];
	cJSON *cur;

	if (!node || !strcmp(change, "deleted") || !strcmp(change, "synced"))
		return WK_MSG_DONE;
	/* The event says that the node changed; the API says what: a forged node event cannot
	 * start an evacuation or a failure recovery of a healthy, uncordoned node. */
	if (wk_k8s_get(st->k8s, &wk_res_nodes, NULL, node, &res, err, sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e == WK_K8S_ENOTFOUND)
			return WK_MSG_DONE;
		wk_logk(WK_LOG_WARN, node, "cannot re-read the node: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	cur = wk_event_body(res.body, st->cluster);
	wk_k8s_result_release(&res);
	node = wk_json_str(cur, "name");
	if (!node)
		out = WK_MSG_DONE;
	else if (!mig_node_ready(cur))
		out = mig_failure_node_event(st, cur, node, ack);
	else
		out = mig_evac_node_event(st, cur, change, ts, ack);
	cJSON_Delete(cur);
	return out;
}

static enum wk_msg_result on_event(struct mig_state *st, const rd_kafka_message_t *m,
				   const struct wk_cloudevent *ce, struct mig_ack *ack)
{
	static const char pfx[] = WK_CE_PREFIX;
	char kind[64] = "", change[32] = "";
	const char *t = ce->type, *dot;
	cJSON *body;
	enum wk_msg_result res = WK_MSG_DONE;
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);

	if (strncmp(t, pfx, sizeof(pfx) - 1))
		return WK_MSG_DONE;
	/* wukong.events is the watcher's: its ce_source is /clusters/<cluster>. Anything else on
	 * it was not written by this cluster's watcher and is ignored (counted, logged). */
	{
		char want[128];

		snprintf(want, sizeof(want), "/clusters/%s", st->cluster);
		if (strcmp(ce->source, want)) {
			wk_debug(
			    "event %s from source '%s' ignored (this cluster's watcher is '%s')",
			    ce->id, ce->source, want);
			wk_metric_inc(st->m_requests,
				      (const char *const[]){"event", "foreign-source"}, 1);
			return WK_MSG_DONE;
		}
	}
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
	if (wk_json_str(body, "cluster") && strcmp(wk_json_str(body, "cluster"), st->cluster))
		goto out;
	if (!strcmp(kind, "wukong")) {
		res = on_wukong(st, body, change, ts > 0 ? ts : wk_time_now_ms(), ack);
	} else if (!strcmp(kind, "node")) {
		res = on_node(st, body, change, ts > 0 ? ts : wk_time_now_ms(), ack);
	} else if (!strcmp(kind, "nodemetrics")) {
		res = mig_pressure_metrics_event(st, body, change, ts > 0 ? ts : wk_time_now_ms(),
						 ack);
	} else if (!strcmp(kind, "virtualmachineinstancemigration")) {
		const cJSON *lm = cJSON_GetObjectItemCaseSensitive(wk_json_path(body, "labels"),
								   MIG_LABEL_MANAGED);
		const char *mgr = cJSON_IsString(lm) ? lm->valuestring : NULL;

		if (mgr && !strcmp(mgr, MIG_MANAGED_VALUE) && wk_json_str(body, "namespace") &&
		    wk_json_str(body, "name"))
			res = mig_vmim_changed(st, wk_json_str(body, "namespace"),
					       wk_json_str(body, "name"), ack);
	} else if (wk_json_str(body, "namespace") && wk_json_str(body, "name")) {
		mig_vmi_changed(st, wk_json_path(body, "status"), wk_json_str(body, "namespace"),
				wk_json_str(body, "name"), ack);
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

	if (st->requester)
		cJSON_AddItemToObject(d, "requester", wk_authz_identity_json(st->requester));

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
	 * record durable first; not delivered, retry (the audit id is the same: deduped). */
	if (wk_producer_flush(st->prod, 10000) < 0) {
		wk_warn("refusal of %s [%d] offset %lld: audit line not delivered, retrying",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
		return WK_MSG_RETRY;
	}
	wk_metric_inc(st->m_requests, (const char *const[]){"kafka", "refused"}, 1);
	return WK_MSG_REJECT;
}

/* The tenant that decides: the transport's identity; on a trusted topic the body's field. A
 * body naming another tenant than the topic's is refused (it would only mislead the audit). */
static int who_check(struct mig_state *st, const rd_kafka_message_t *m, char *tenant, char *err,
		     size_t errsz)
{
	const struct wk_authz_identity *id = st->requester;

	(void)m;
	if (!id || id->trusted)
		return 0;
	if (tenant[0] && strcmp(tenant, id->tenant))
		return wk_err(err, errsz,
			      "the body names tenant '%s' but the request arrived on tenant '%s''s "
			      "topic '%s': the topic decides",
			      tenant, id->tenant, id->topic);
	wk_strlcpy(tenant, id->tenant, 64);
	return 0;
}

/* SubjectAccessReviews for the checks: 0 = allowed; -1 with *res (REJECT after the refusal, or
 * RETRY when the API server gave no answer). */
static int review(struct mig_state *st, const rd_kafka_message_t *m,
		  const struct wk_authz_check *chk, size_t n, const char *ns, const char *name,
		  const char *rid, char *reason, size_t rs, char *detail, size_t ds,
		  struct mig_ack *ack, enum wk_msg_result *res)
{
	char denial[1024], err[600];
	int rc;

	if (!st->requester || st->requester->trusted)
		return 0;
	rc = wk_authz_authorize(&st->authz, st->k8s, st->requester, chk, n, denial, sizeof(denial),
				err, sizeof(err));
	if (rc > 0)
		return 0;
	if (rc < 0) {
		wk_warn("%s; retrying", err);
		*res = WK_MSG_RETRY;
		return -1;
	}
	*res =
	    refuse(st, m, ns, name, rid, WK_AUTHZ_FORBIDDEN, denial, reason, rs, detail, ds, ack);
	return -1;
}

/* A request id is the submitter's: the same id from another identity is refused, never handled
 * (or deduplicated) as the first submitter's. */
static int owner_check(struct mig_state *st, const rd_kafka_message_t *m, const char *rid,
		       const char *ns, const char *name, char *reason, size_t rs, char *detail,
		       size_t ds, struct mig_ack *ack, enum wk_msg_result *res)
{
	char owner[128], prev[128], err[400];
	const struct wk_authz_identity *id = st->requester;

	if (!id)
		return 0;
	if (id->trusted)
		snprintf(owner, sizeof(owner), "trusted");
	else
		snprintf(owner, sizeof(owner), "tenant:%s", id->tenant);
	if (mig_tenancy_claim(st, rid, owner, prev, sizeof(prev)) == 0)
		return 0;
	snprintf(err, sizeof(err),
		 "request id '%s' was submitted by %s first; a replay from %s is refused", rid,
		 prev, owner);
	*res = refuse(st, m, ns, name, rid, WK_AUTHZ_FORBIDDEN, err, reason, rs, detail, ds, ack);
	return -1;
}

/* A node drain (mig_evac.c). Drains are cluster-wide: with tenants configured, only a tenant
 * whose namespace list is "*" may drain (the coarse gate), and RBAC must let the submitter update
 * the node (what kubectl cordon needs). */
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
		return refuse(st, m, NULL, NULL, d.id, "WrongCluster", err, reason, rs, detail, ds,
			      ack);
	}
	if (who_check(st, m, d.tenant, err, sizeof(err)) < 0)
		return refuse(st, m, NULL, NULL, d.id, WK_AUTHZ_FORBIDDEN, err, reason, rs, detail,
			      ds, ack);
	if (st->require_tenant || st->any_tenants) {
		char tkey[200];
		const char *list;

		snprintf(tkey, sizeof(tkey), "migrator.tenants.%s", d.tenant);
		list = d.tenant[0] ? wk_config_get(wk_service_config(st->ctx), tkey, NULL) : NULL;
		if (!list || strcmp(list, "*")) {
			snprintf(err, sizeof(err),
				 "tenant '%s' may not drain a node (needs the namespace list '*')",
				 d.tenant);
			return refuse(st, m, NULL, NULL, d.id, "Forbidden", err, reason, rs, detail,
				      ds, ack);
		}
	}
	{
		struct wk_authz_check chk[WK_AUTHZ_CHECKS_MAX];
		size_t n = wk_authz_checks(WK_AUTHZ_DRAIN, NULL, d.node, NULL, NULL, chk);
		enum wk_msg_result r;

		if (review(st, m, chk, n, NULL, NULL, d.id, reason, rs, detail, ds, ack, &r) < 0)
			return r;
	}
	{
		enum wk_msg_result r;

		if (owner_check(st, m, d.id, NULL, NULL, reason, rs, detail, ds, ack, &r) < 0)
			return r;
	}
	return mig_evac_drain(st, &d, ts > 0 ? ts : wk_time_now_ms(), rd_kafka_topic_name(m->rkt),
			      m->partition, m->offset, ack);
}

static enum wk_msg_result on_request(struct mig_state *st, const rd_kafka_message_t *m,
				     char *reason, size_t rs, char *detail, size_t ds,
				     struct mig_ack *ack)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	/* the shared topic and the tenants' carry every cluster's requests: another cluster's are
	 * skipped, not refused */
	bool shared = !strcmp(topic, st->t_req) || wk_authz_is_tenant_topic(&st->authz, topic);
	struct wk_authz_identity idbuf, *id = &idbuf;
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

	/* One dead letter per bad message (wk_request_owner): clone requests, even bad ones, are
	 * the cloner's; everything else, the undecodable too, is ours. */
	if (wk_request_owner(m) != WK_OWNER_MIGRATOR)
		return WK_MSG_DONE;
	/* Who sent it: the topic says (core/wk_authz.h), never the body. */
	{
		const char *shared_topics[] = {st->t_req, st->t_req_cluster, NULL};
		char wktopic[256];
		const char *entry;

		if (wk_kafka_header_copy(m, "ce_wktopic", wktopic, sizeof(wktopic)) < 0)
			wktopic[0] = '\0';
		entry = wk_authz_entry_topic(&st->authz, topic, st->t_req_cluster, wktopic);

		if (wk_authz_identify(&st->authz, entry, shared_topics, id, err, sizeof(err)) < 0) {
			st->requester = id;
			return refuse(st, m, NULL, NULL, NULL, WK_AUTHZ_FORBIDDEN, err, reason, rs,
				      detail, ds, ack);
		}
		st->requester = id;
		/* Over its rate, a tenant waits on its own partitions (RETRY pauses only this
		 * partition); nothing is dropped, other tenants keep flowing. */
		if (!wk_authz_rate_take(&st->authz, id, wk_time_mono_ms())) {
			wk_debug("tenant '%s' over its rate: %s [%d] offset %lld waits", id->tenant,
				 topic, (int)m->partition, (long long)m->offset);
			return WK_MSG_RETRY;
		}
	}
	if (m->len > MIG_SUBMISSION_MAX) {
		snprintf(err, sizeof(err), "submission of %zu bytes exceeds the %d-byte cap",
			 m->len, MIG_SUBMISSION_MAX);
		return refuse(st, m, NULL, NULL, NULL, "RequestTooLarge", err, reason, rs, detail, ds,
			      ack);
	}
	if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
		return refuse(st, m, NULL, NULL, NULL, "MalformedRequest", err, reason, rs, detail, ds,
			      ack);
	/* A request older than its maximum age (or past its own expiresAt) is not carried out
	 * (core/wk_request.h); the clone submissions are the cloner's to judge. */
	if (strcmp(ce.type, WK_CE_REQUEST_CLONE)) {
		struct wk_request_expiry x;
		long long age = WK_REQUEST_MAX_AGE_DEFAULT_MS;

		if (wk_config_get_duration_ms(wk_service_config(st->ctx),
					      "migrator.request-max-age",
					      WK_REQUEST_MAX_AGE_DEFAULT_MS, &age, NULL, 0) < 0)
			age = WK_REQUEST_MAX_AGE_DEFAULT_MS;
		if (wk_request_check_expiry(m, &ce, ce.data, ce.data_len, age, wk_time_now_ms(), &x,
					    err, sizeof(err)) < 0)
			return refuse(st, m, NULL, NULL, NULL, "SchemaViolation", err, reason, rs, detail,
				      ds, ack);
		/* another cluster's request on the shared topic is not ours to judge */
		if (x.expired && (!shared || !x.cluster[0] || !strcmp(x.cluster, st->cluster)))
			return refuse(st, m, x.ns[0] ? x.ns : NULL, x.name[0] ? x.name : NULL,
				      x.request_id[0] ? x.request_id : NULL, WK_REQUEST_EXPIRED,
				      x.message, reason, rs, detail, ds, ack);
	}
	if (!strcmp(ce.type, WK_CE_REQUEST_DRAIN))
		return on_drain(st, m, &ce, shared, ts, reason, rs, detail, ds, ack);
	verb = mig_verb_from_type(ce.type);
	if (verb == MIG_VERB_OTHER)
		return WK_MSG_DONE; /* drain / clone: another executor's */
	if (verb == MIG_VERB_UNKNOWN) {
		snprintf(err, sizeof(err), "unsupported ce_type '%.200s'", ce.type);
		return refuse(st, m, NULL, NULL, NULL, "UnsupportedType", err, reason, rs, detail,
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
		return refuse(st, m, ns, name, rid, "WrongCluster", err, reason, rs, detail, ds,
			      ack);
	}
	if (who_check(st, m, verb == MIG_VERB_MIGRATE ? r.tenant : c.tenant, err, sizeof(err)) < 0)
		return refuse(st, m, ns, name, rid, WK_AUTHZ_FORBIDDEN, err, reason, rs, detail, ds,
			      ack);
	{
		char tkey[200];
		const struct wk_config *cfg = wk_service_config(st->ctx);

		snprintf(tkey, sizeof(tkey), "migrator.tenants.%s", tenant);
		if (mig_tenant_check(tenant, ns, *tenant ? wk_config_get(cfg, tkey, NULL) : NULL,
				     st->require_tenant, st->any_tenants, &v) < 0)
			return refuse(st, m, ns, name, rid, v.code, v.message, reason, rs, detail,
				      ds, ack);
	}
	{
		/* What the same action needs through kubectl, asked of the API server. */
		struct wk_authz_check chk[WK_AUTHZ_CHECKS_MAX];
		enum wk_authz_action act = verb == MIG_VERB_CANCEL  ? WK_AUTHZ_CANCEL
					   : r.opt.cold == MIG_TRUE ? WK_AUTHZ_MIGRATE_COLD
								    : WK_AUTHZ_MIGRATE;
		size_t n = wk_authz_checks(act, ns, verb == MIG_VERB_CANCEL ? NULL : name, NULL,
					   NULL, chk);
		enum wk_msg_result rr;

		if (act == WK_AUTHZ_MIGRATE_COLD)
			wk_strlcpy(chk[0].name, "", sizeof(chk[0].name)); /* the VM: see below */
		if (review(st, m, chk, n, ns, name, rid, reason, rs, detail, ds, ack, &rr) < 0)
			return rr;
		if (owner_check(st, m, rid, ns, name, reason, rs, detail, ds, ack, &rr) < 0)
			return rr;
	}
	if (verb == MIG_VERB_CANCEL)
		return mig_handle_cancel(st, &c, ack);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (wk_k8s_get(st->k8s, &wk_res_wukongs, ns, name, &res, err, sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e == WK_K8S_ENOTFOUND) {
			snprintf(err, sizeof(err), "wukong '%s/%s' does not exist", ns, name);
			return refuse(st, m, ns, name, rid, "NotFound", err, reason, rs, detail,
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
		st->requester = NULL; /* it pointed into on_request's frame */
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
	mig_ack_free(ack);
	return res;
}
