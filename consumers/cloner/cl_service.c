/* cl_service.c - wukong-cloner's service callbacks: Kafka in (Wukong events, clone submissions
 * with their caps, cluster and tenant checks), init/term/tick, and the routing of each job
 * through observe (cl_actions.c) -> cl_decide (cl_machine.c) -> the action and the report
 * (cl_actions.c). No other file of the cloner calls into it. */
#include "cl_service.h"

#include "cl_actions.h"

#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_event.h"
#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_request.h"
#include "wk_tenant.h"
#include "wk_authz_io.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <unistd.h>

/* ---- one job ---- */

static int active_in_batch(struct cl_state *st, const struct cl_job *j)
{
	int n = 0;

	for (const struct cl_job *x = st->jobs; x; x = x->next)
		if (x != j && x->admitted && !strcmp(x->spec.id, j->spec.id) &&
		    !strcmp(x->spec.ns, j->spec.ns) && !cl_phase_final(x->phase))
			n++;
	return n;
}

static size_t queue_position(struct cl_state *st, const struct cl_job *j)
{
	size_t pos = 1;

	for (const struct cl_job *x = st->jobs; x; x = x->next)
		if (x != j && !x->admitted && !strcmp(x->spec.id, j->spec.id) &&
		    strcmp(x->spec.name, j->spec.name) < 0)
			pos++;
	return pos;
}

/* Observe, decide, act, report. Returns true when the job is final. */
static bool reconcile(struct cl_state *st, struct cl_job *j)
{
	struct cl_observed o;
	struct cl_decision d;
	cJSON *src_vm = NULL;
	bool changed, final = false;
	int rc = 0;

	if (!cl_observe(st, j, &o, &src_vm)) {
		cJSON_Delete(src_vm);
		return false; /* the API server is unhappy: try again next tick */
	}
	if (!j->admitted) {
		if (o.snap != CL_ABSENT || o.clone != CL_ABSENT || o.we_started ||
		    j->spec.parallelism <= 0 || active_in_batch(st, j) < j->spec.parallelism ||
		    j->spec.invalid[0]) {
			j->admitted = true;
		} else {
			size_t pos = queue_position(st, j);
			bool first = j->phase != CL_PH_QUEUED || !j->reported;

			memset(&d, 0, sizeof(d));
			d.phase = CL_PH_QUEUED;
			wk_strlcpy(d.reason, "Queued", sizeof(d.reason));
			snprintf(d.message, sizeof(d.message),
				 "waiting for a slot: batch '%s' runs %d clones at a time "
				 "(position %zu)",
				 j->spec.id, j->spec.parallelism, pos);
			if (first || pos != j->queue_pos) {
				if (first) {
					j->phase = CL_PH_QUEUED;
					j->phase_since_ms = o.now_ms;
				}
				j->queue_pos = pos;
				cl_report(st, j, &d, &o, first);
			}
			cJSON_Delete(src_vm);
			return false;
		}
	}
	if (!j->started_ms)
		j->started_ms = wk_time_now_ms();
	cl_decide(&j->spec, &o, &st->to, &d);
	changed = d.phase != j->phase;
	if (changed) {
		j->phase = d.phase;
		j->phase_since_ms = o.now_ms;
	}
	{
		const char *lv[] = {cl_action_name(d.action)};

		if (d.action != CL_ACT_WAIT)
			wk_metric_inc(st->m_actions, lv, 1);
	}
	switch (d.action) {
	case CL_ACT_SUCCEED:
		final = true;
		break;
	case CL_ACT_FAIL:
		/* The Failed status is the only durable record once the objects are gone: have
		 * the broker take it before cleaning up, so a crash in between cannot turn a
		 * failed request into a fresh attempt. */
		cl_report(st, j, &d, &o, true);
		if (wk_producer_flush(st->prod, 10000) < 0)
			wk_warn("status of failed clone '%s' not yet delivered", j->spec.id);
		cl_cleanup(st, j, &o, true);
		cJSON_Delete(src_vm);
		return true;
	default:
		rc = cl_act(st, j, d.action, &o, src_vm);
		if (rc == -2 && j->refused[0]) {
			/* refused for good (e.g. KubeVirt's webhook: no Snapshot gate): fail now
			 * instead of asking again every pass */
			d.action = CL_ACT_FAIL;
			d.phase = CL_PH_FAILED;
			d.progress = 0;
			wk_strlcpy(d.reason, j->refused, sizeof(d.reason));
			wk_strlcpy(d.message, j->refused_msg, sizeof(d.message));
			j->phase = CL_PH_FAILED;
			cl_report(st, j, &d, &o, true);
			if (wk_producer_flush(st->prod, 10000) < 0)
				wk_warn("status of failed clone '%s' not yet delivered",
					j->spec.id);
			cl_cleanup(st, j, &o, true);
			cJSON_Delete(src_vm);
			return true;
		}
		break;
	}
	cJSON_Delete(src_vm);
	if (rc < 0)
		st->dirty = true; /* try again soon; the status keeps the last good step */
	if (changed || !j->reported || d.progress != j->progress || strcmp(d.reason, j->reason) ||
	    final)
		cl_report(st, j, &d, &o, changed || !j->reported);
	if (d.action != CL_ACT_WAIT)
		st->dirty = true; /* the next step may be possible at once */
	return final;
}

/* The Wukong went away mid-clone: remove what we made for it, report nothing (there is no
 * Wukong to report on). */
static void cancel_job(struct cl_state *st, struct cl_job *j)
{
	struct cl_observed o;
	cJSON *src_vm = NULL;

	if (cl_observe(st, j, &o, &src_vm))
		cl_cleanup(st, j, &o, true);
	cJSON_Delete(src_vm);
	wk_info("clone job '%s' for wukong '%s/%s' cancelled: the wukong was deleted", j->spec.id,
		j->spec.ns, j->spec.name);
	cl_job_unlink(st, j);
	free(j);
}

/* ---- Kafka ---- */

/* GET the Wukong: 1 with *out (when out is not NULL) when it exists, 0 when it is gone, -1 when
 * the API gave no answer (the event is retried). */
static int reread_wukong(struct cl_state *st, const char *ns, const char *name, cJSON **out)
{
	struct wk_k8s_result res;
	char err[512];

	if (wk_k8s_get(st->k8s, &wk_res_wukongs, ns, name, &res, err, sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e == WK_K8S_ENOTFOUND)
			return 0;
		wk_warn("cannot re-read wukong '%s/%s': %s; retrying", ns, name, err);
		return -1;
	}
	if (out)
		*out = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	return 1;
}

static enum wk_msg_result on_event(struct cl_state *st, const struct wk_cloudevent *ce)
{
	static const char pfx[] = WK_CE_PREFIX;
	const char *t = ce->type;
	cJSON *body;

	if (strncmp(t, pfx, sizeof(pfx) - 1))
		return WK_MSG_DONE;
	t += sizeof(pfx) - 1;
	body = cJSON_ParseWithLength(ce->data, ce->data_len);
	if (!cJSON_IsObject(body) ||
	    (wk_json_str(body, "cluster") && strcmp(wk_json_str(body, "cluster"), st->cluster))) {
		cJSON_Delete(body);
		return WK_MSG_DONE;
	}
	if (!strncmp(t, "wukong.", 7)) {
		const char *ns = wk_json_str(body, "namespace"), *name = wk_json_str(body, "name");

		if (!strcmp(t, "wukong.deleted")) {
			struct cl_job *j = ns && name ? cl_job_find(st, ns, name) : NULL;

			/* the API confirms it (a forged delete cancels nothing) */
			if (j && reread_wukong(st, ns, name, NULL) == 0)
				cancel_job(st, j);
		} else {
			cJSON *o = wk_event_object(body), *cur = NULL;
			struct cl_job_spec spec;

			/* The event says that the Wukong changed; the API says what: a forged
			 * event starts no clone the Wukong does not ask for. */
			if (ns && name && cl_job_from_wukong(o, st->cluster, &spec) > 0) {
				int rc = reread_wukong(st, ns, name, &cur);

				if (rc < 0) {
					cJSON_Delete(o);
					cJSON_Delete(body);
					return WK_MSG_RETRY;
				}
				if (cur)
					cl_intake(st, cur);
			} else {
				cl_intake(st, o);
			}
			cJSON_Delete(cur);
			cJSON_Delete(o);
		}
	} else if (!strncmp(t, "virtualmachine", 14)) {
		/* Something about a VM, VMI, snapshot or clone: look again soon rather than
		 * wait for the poll (the poll is the safety net, events are the fast path). */
		if (st->jobs)
			st->dirty = true;
	}
	cJSON_Delete(body);
	return WK_MSG_DONE;
}

static enum wk_msg_result refuse(struct cl_state *st, const rd_kafka_message_t *m, const char *ns,
				 const char *rid, const char *code, const char *msg, char *reason,
				 size_t rs, char *detail, size_t ds)
{
	wk_strlcpy(reason, code, rs);
	wk_strlcpy(detail, msg, ds);
	if (cl_audit_refusal(st, m, ns, rid, code, msg) < 0) {
		wk_warn("refusal of %s [%d] offset %lld: audit line not delivered, retrying",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
		return WK_MSG_RETRY;
	}
	wk_metric_inc(st->m_jobs, (const char *const[]){"refused"}, 1);
	return WK_MSG_REJECT;
}

static enum wk_msg_result on_submission(struct cl_state *st, const rd_kafka_message_t *m,
					char *reason, size_t rs, char *detail, size_t ds)
{
	struct wk_cloudevent ce;
	struct cl_submission *s;
	struct cl_verdict v;
	char err[1400];
	bool shared = !strcmp(rd_kafka_topic_name(m->rkt), st->t_req) ||
		      wk_authz_is_tenant_topic(&st->authz, rd_kafka_topic_name(m->rkt));
	enum wk_msg_result out = WK_MSG_DONE;
	struct wk_authz_identity idbuf, *id = &idbuf;

	/* One dead letter per bad message: what is not a clone request is the migrator's to
	 * refuse (wk_request_owner), including what can't be decoded. */
	if (wk_request_owner(m) != WK_OWNER_CLONER)
		return WK_MSG_DONE;
	/* Who sent it: the topic says (core/wk_authz.h), never the body. */
	{
		const char *shared_topics[] = {st->t_req, st->t_req_cluster, NULL};
		char wktopic[256];
		const char *entry;

		if (wk_kafka_header_copy(m, "ce_wktopic", wktopic, sizeof(wktopic)) < 0)
			wktopic[0] = '\0';
		entry = wk_authz_entry_topic(&st->authz, rd_kafka_topic_name(m->rkt),
					     st->t_req_cluster, wktopic);

		st->requester = id;
		if (wk_authz_identify(&st->authz, entry, shared_topics, id, err, sizeof(err)) < 0)
			return refuse(st, m, NULL, NULL, WK_AUTHZ_FORBIDDEN, err, reason, rs,
				      detail, ds);
		/* over its rate, the tenant's partition waits (RETRY); nothing is dropped */
		if (!wk_authz_rate_take(&st->authz, id, wk_time_mono_ms()))
			return WK_MSG_RETRY;
	}
	if (m->len > CL_SUBMISSION_MAX) {
		snprintf(err, sizeof(err), "submission of %zu bytes exceeds the %d-byte cap",
			 m->len, CL_SUBMISSION_MAX);
		return refuse(st, m, NULL, NULL, "RequestTooLarge", err, reason, rs, detail, ds);
	}
	if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
		return refuse(st, m, NULL, NULL, "MalformedRequest", err, reason, rs, detail, ds);
	if (strcmp(ce.type, WK_CE_REQUEST_CLONE))
		return WK_MSG_DONE; /* migrate, cancel, drain: other executors' */
	s = wk_xmalloc(sizeof(*s));
	if (cl_parse_submission(ce.data, ce.data_len, s, &v) < 0) {
		out = refuse(st, m, NULL, NULL, v.code, v.message, reason, rs, detail, ds);
		goto done;
	}
	if (strcmp(s->cluster, st->cluster)) {
		if (shared)
			goto done; /* another cluster's cloner */
		snprintf(err, sizeof(err), "request for cluster '%s' on this cluster's topic",
			 s->cluster);
		out = refuse(st, m, s->ns, s->id, "WrongCluster", err, reason, rs, detail, ds);
		goto done;
	}
	/* The tenant is the topic's; a body naming another one is refused (it would only mislead
	 * the audit). On a trusted topic the body's field stays the tenant. */
	if (!id->trusted) {
		if (s->tenant[0] && strcmp(s->tenant, id->tenant)) {
			snprintf(err, sizeof(err),
				 "the body names tenant '%.63s' but the request arrived on tenant "
				 "'%.40s''s topic '%.200s': the topic decides",
				 s->tenant, id->tenant, id->topic);
			out = refuse(st, m, s->ns, s->id, WK_AUTHZ_FORBIDDEN, err, reason, rs,
				     detail, ds);
			goto done;
		}
		wk_strlcpy(s->tenant, id->tenant, sizeof(s->tenant));
	}
	{
		const struct wk_config *cfg = wk_service_config(st->ctx);
		char tkey[200];

		snprintf(tkey, sizeof(tkey), "cloner.tenants.%s", s->tenant);
		if (cl_tenant_check(s->tenant, s->ns,
				    s->tenant[0] ? wk_config_get(cfg, tkey, NULL) : NULL,
				    st->require_tenant, st->any_tenants, &v) < 0 ||
		    (strcmp(s->source_ns, s->ns) &&
		     cl_tenant_check(s->tenant, s->source_ns,
				     s->tenant[0] ? wk_config_get(cfg, tkey, NULL) : NULL,
				     st->require_tenant, st->any_tenants, &v) < 0)) {
			out =
			    refuse(st, m, s->ns, s->id, v.code, v.message, reason, rs, detail, ds);
			goto done;
		}
	}
	/* What a person would need to clone with kubectl, asked of the API server. */
	{
		struct wk_authz_check chk[WK_AUTHZ_CHECKS_MAX];
		size_t n =
		    wk_authz_checks(WK_AUTHZ_CLONE, s->ns, NULL, s->source_ns, s->source_name, chk);
		char denial[1024];
		int rc = wk_authz_authorize(&st->authz, st->k8s, id, chk, n, denial, sizeof(denial),
					    err, sizeof(err));

		if (rc < 0) {
			wk_warn("%s; retrying", err);
			out = WK_MSG_RETRY;
			goto done;
		}
		if (rc == 0) {
			out = refuse(st, m, s->ns, s->id, WK_AUTHZ_FORBIDDEN, denial, reason, rs,
				     detail, ds);
			goto done;
		}
	}
	/* A request past its maximum age or its own expiresAt is not carried out. */
	{
		struct wk_request_expiry x;

		if (wk_request_check_expiry(m, &ce, ce.data, ce.data_len, st->request_max_age_ms,
					    wk_time_now_ms(), &x, err, sizeof(err)) < 0) {
			out = refuse(st, m, s->ns, s->id, "SchemaViolation", err, reason, rs, detail, ds);
			goto done;
		}
		if (x.expired) {
			out = refuse(st, m, s->ns, s->id, WK_REQUEST_EXPIRED, x.message, reason, rs,
				     detail, ds);
			goto done;
		}
	}
	/* What KubeVirt cannot do is refused before anything is created: dead letter + audit. */
	if (cl_cluster_refusal(st, false, v.code, sizeof(v.code), v.message, sizeof(v.message)) <
	    0) {
		out = refuse(st, m, s->ns, s->id, v.code, v.message, reason, rs, detail, ds);
		goto done;
	}
	out = cl_submit(st, s, &v);
	if (out == WK_MSG_REJECT)
		out = refuse(st, m, s->ns, s->id, v.code, v.message, reason, rs, detail, ds);
done:
	free(s);
	return out;
}

enum wk_msg_result cl_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail, size_t detail_size)
{
	struct cl_state *st = wk_service_state(ctx);
	const char *topic = rd_kafka_topic_name(m->rkt);

	if (!strcmp(topic, st->t_events)) {
		struct wk_cloudevent ce;
		char err[256];

		if (wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
			return WK_MSG_DONE; /* the watcher's, not ours to dead-letter */
		return on_event(st, &ce);
	}
	{
		enum wk_msg_result r =
		    on_submission(st, m, reason, reason_size, detail, detail_size);

		st->requester = NULL; /* it pointed into on_submission's frame */
		return r;
	}
}

/* ---- lifecycle ---- */

int cl_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct cl_state *st = wk_xcalloc(1, sizeof(*st));
	char host[64] = "localhost";
	long long start_ms, pend_ms, tgt_ms, grace_ms, snap_ms, restore_ms, clone_ms, fin_ms;
	const char *fd;

	st->ctx = ctx;
	wk_service_set_state(ctx, st);
	wk_strlcpy(st->cluster, wk_service_cluster_id(ctx), sizeof(st->cluster));
	gethostname(host, sizeof(host) - 1);
	snprintf(st->instance, sizeof(st->instance), CL_SVC "-%.60s", host);
	wk_kafka_topic(cfg, "status", st->t_status, sizeof(st->t_status));
	wk_kafka_topic(cfg, "audit", st->t_audit, sizeof(st->t_audit));
	wk_kafka_topic(cfg, "progress", st->t_progress, sizeof(st->t_progress));
	wk_kafka_topic(cfg, "events", st->t_events, sizeof(st->t_events));
	wk_kafka_topic(cfg, "requests", st->t_req, sizeof(st->t_req));
	if (wk_config_get_duration_ms(cfg, "cloner.poll-interval", 2000, &st->poll_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.resync-interval", 60000, &st->resync_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.source-start-timeout", 300000, &start_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.clone-pending-timeout", 60000, &pend_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.target-start-timeout", 300000, &tgt_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.deadline-grace", 30000, &grace_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.snapshot-timeout", 600000, &snap_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.restore-timeout", 600000, &restore_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.clone-timeout", 1800000, &clone_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.finalize-timeout", 600000, &fin_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "cloner.request-max-age", WK_REQUEST_MAX_AGE_DEFAULT_MS,
				      &st->request_max_age_ms, errstr, errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "cloner.require-tenant", false, &st->require_tenant, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "cloner.kubernetes-events", true, &st->k8s_events, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "cloner.restore-source-run-state", true, &st->restore_source,
			       errstr, errstr_size) < 0)
		return -1;
	if (st->poll_ms < 50)
		st->poll_ms = 50;
	st->to.source_start_ms = start_ms;
	st->to.clone_pending_ms = pend_ms;
	st->to.target_start_ms = tgt_ms;
	st->to.deadline_grace_ms = grace_ms;
	st->to.snapshot_ms = snap_ms;
	st->to.restore_ms = restore_ms;
	st->to.clone_ms = clone_ms;
	st->to.finalize_ms = fin_ms;
	fd = wk_config_get(cfg, "cloner.snapshot-failure-deadline", "5m0s");
	if (cl_duration_ms(fd) < 0 || strlen(fd) >= sizeof(st->failure_deadline))
		return wk_err(errstr, errstr_size,
			      "cloner.snapshot-failure-deadline: '%.40s' is not a duration such as "
			      "5m0s",
			      fd);
	wk_strlcpy(st->failure_deadline, fd, sizeof(st->failure_deadline));
	st->any_tenants = wk_tenant_any_configured(cfg, "cloner");
	{
		char shortname[128];

		snprintf(shortname, sizeof(shortname), "requests.%s", st->cluster);
		wk_kafka_topic(cfg, shortname, st->t_req_cluster, sizeof(st->t_req_cluster));
	}
	if (wk_authz_init(&st->authz, cfg, wk_time_mono_ms(), errstr, errstr_size) < 0 ||
	    wk_authz_load_id_key(cfg, errstr, errstr_size) < 0)
		return -1;
	st->done_cap = 4096;
	st->done = wk_xcalloc(st->done_cap, sizeof(char *));

	st->k8s = wk_k8s_new_from_config(cfg, NULL, errstr, errstr_size);
	if (!st->k8s)
		return -1;
	st->prod = wk_service_producer(ctx);
	st->m_jobs =
	    wk_metric_counter("wukong_cloner_jobs_total",
			      "Clone jobs taken in, by origin (spec, kafka) or refused", "origin");
	st->m_active = wk_metric_gauge("wukong_cloner_jobs_active", "Clone jobs not final", NULL);
	st->m_actions = wk_metric_counter("wukong_cloner_actions_total",
					  "Steps taken on the cluster, by action", "action");
	/* What this KubeVirt can do, then relist: jobs a crash interrupted continue from what the
	 * cluster shows. */
	st->clone_api = true;
	cl_refresh_cluster(st);
	cl_relist(st);
	st->next_resync = wk_time_mono_ms() + st->resync_ms;
	st->next_poll = 0;
	wk_service_set_ready(ctx, true);
	wk_info("cloner for cluster '%s' ready: %s in flight", st->cluster,
		st->jobs ? "jobs" : "no jobs");
	return 0;
}

void cl_on_tick(struct wk_service_ctx *ctx)
{
	struct cl_state *st = wk_service_state(ctx);
	int64_t now = wk_time_mono_ms();
	size_t n = 0;

	if (!st)
		return;
	if (now >= st->next_resync) {
		cl_refresh_cluster(st);
		cl_relist(st);
		st->next_resync = now + st->resync_ms;
	}
	if (!st->dirty && now < st->next_poll)
		return;
	/* Events make it sooner, but a busy event stream must not turn the loop into a GET storm:
	 * at most one pass per 100 ms. */
	if (st->dirty && now < st->last_pass + 100)
		return;
	st->last_pass = now;
	st->dirty = false;
	st->next_poll = now + st->poll_ms;
	for (struct cl_job *j = st->jobs, *next; j; j = next) {
		next = j->next;
		if (reconcile(st, j)) {
			cl_job_remember_done(st, j);
			cl_job_unlink(st, j);
			free(j);
		}
	}
	for (struct cl_job *j = st->jobs; j; j = j->next)
		n++;
	wk_metric_set(st->m_active, NULL, (double)n);
}

void cl_term(struct wk_service_ctx *ctx)
{
	struct cl_state *st = wk_service_state(ctx);
	size_t i;

	if (!st)
		return;
	if (st->prod && wk_producer_flush(st->prod, 10000) < 0)
		wk_warn("%d output(s) not delivered at shutdown", wk_producer_outq_len(st->prod));
	while (st->jobs) {
		struct cl_job *j = st->jobs;

		st->jobs = j->next;
		free(j);
	}
	wk_k8s_destroy(st->k8s);
	wk_authz_release(&st->authz);
	for (i = 0; i < st->done_cap; i++)
		free(st->done[i]);
	free(st->done);
	free(st);
	wk_service_set_state(ctx, NULL);
}
