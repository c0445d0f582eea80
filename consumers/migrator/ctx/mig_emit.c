/* mig_emit.c - what the migrator tells the world: status updates, audit events, Kubernetes Events
 * and the delivery callback that acknowledges an input once its outputs are on the broker. */
#include "ctx/mig_emit.h"
#include "ctx/mig_cluster.h"
#include "decide/mig_evac_report.h"

#include "wk_emit.h"
#include "wk_kafka.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void mig_emit_on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			  int64_t offset, void *opaque)
{
	struct mig_state *st = opaque;

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

static void out_key(const struct mig_state *st, const char *ns, const char *vm, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", st->cluster, ns, vm);
}

static void send_ce(struct mig_state *st, const char *topic, const char *key, const char *type,
		    const char *id, const char *subject, const char *body, struct mig_ack *ack)
{
	char err[256];

	mig_ack_ref(ack);
	if (wk_emit_send(st->prod, topic, key, st->cluster, type, id, subject, body, ack, err,
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
	/* One key per (Wukong, sender, shape): wukong.status is compacted (wk_emit.h). */
	if (wk_emit_status_key(body, strlen(body), key, sizeof(key)) < 0)
		out_key(st, s->req->ns, s->req->vm, key, sizeof(key));
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", s->req->ns, s->req->name);
	send_ce(st, st->t_status, key, WK_CE_STATUS, NULL, subj, body, ack);
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
	send_ce(st, st->t_audit, key, WK_CE_AUDIT, id, subj, body, ack);
	free(body);
}

void mig_send_req_audit(struct mig_state *st, const struct mig_request *r, const char *action,
			const char *outcome, const char *reason, const char *message,
			const char *disc, struct mig_ack *ack)
{
	struct mig_audit au;

	memset(&au, 0, sizeof(au));
	au.req = r;
	au.cluster = st->cluster;
	au.action = action;
	au.outcome = outcome;
	au.reason = reason;
	au.message = message;
	mig_send_audit(st, &au, disc, ack);
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
		if (wk_k8s_get(st->k8s, &wk_res_wukongs, r->ns, r->name, &res, err, sizeof(err)) <
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
	if (wk_k8s_create(st->k8s, &wk_res_events, r->ns, ev, &res, err, sizeof(err)) < 0 &&
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
	/* A request ends once: its final record has one id however often it is reported (a
	 * restart re-reporting it from its VMIM), so the audit log keeps it once (chaos run). */
	if (mig_phase_final(a->phase))
		snprintf(disc, sizeof(disc), "%s", mig_phase_name(a->phase));
	else
		snprintf(disc, sizeof(disc), "%s/%zu/%s", mig_phase_name(a->phase), pos,
			 a->vmim_phase);
	mig_send_audit(st, &au, disc, ack);
	/* Events: one per step a person cares about (not every queue shuffle). */
	if (strcmp(action, "migration.queue-position")) {
		snprintf(evreason, sizeof(evreason), "%s", reason && *reason ? reason : action);
		mig_post_event(st, &a->req, a->uid[0] ? a->uid : a->req.uid,
			       warn ? "Warning" : "Normal", evreason, message, action);
	}
}

static void send_report(struct mig_state *st, struct mig_evrep *r, const char *phase, void *opaque,
			struct mig_ack *ack)
{
	double elapsed = (double)(wk_time_mono_ms() - r->started_mono) / 1000.0;
	cJSON *o = mig_evrep_body(r, elapsed, phase, wk_time_now_ms());
	char topic[256], key[400], subj[300], id[128], err[256];
	char *body = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!body)
		abort();
	wk_kafka_topic(wk_service_config(st->ctx), "progress", topic, sizeof(topic));
	snprintf(key, sizeof(key), "%s/node/%s", r->cluster, r->node);
	snprintf(subj, sizeof(subj), "Node/%s", r->node);
	id[0] = '\0';
	if (ack) {
		/* The final report keeps its id across a replay: consumers can dedupe it. */
		const char *parts[] = {r->cluster, r->node, r->id, phase};

		wk_emit_id("evacuation", parts, 4, id, sizeof(id));
	}
	mig_ack_ref(ack);
	if (wk_emit_send(st->prod, topic, key, r->cluster, WK_CE_PROGRESS_EVACUATION, id, subj,
			 body, ack ? (void *)ack : opaque, err, sizeof(err)) < 0) {
		if (ack) {
			wk_logk(WK_LOG_ERROR, key,
				"progress send failed: %s; stopping for a replay", err);
			wk_service_stop(st->ctx, 1);
		} else {
			wk_logk(WK_LOG_WARN, key, "evacuation '%s': progress report dropped: %s",
				r->id, err);
		}
	} else {
		wk_metric_inc(st->m_outputs, (const char *const[]){topic}, 1);
	}
	free(body);
	r->sent = true;
	r->changed = false;
	r->last_sent_mono = wk_time_mono_ms();
}

static enum mig_evrep_state state_of(struct mig_state *st, const struct mig_evrep_vm *v,
				     bool submitted)
{
	struct mig_active *a;
	const char *ph;
	char key[600];

	if (mig_evrep_final_state(v->state))
		return v->state; /* an outcome is never taken back */
	if (!submitted)
		return MIG_EVREP_WAITING;
	a = mig_active_by_id(st, v->id);
	if (a)
		return a->phase == MIG_PH_MIGRATING ? MIG_EVREP_MIGRATING : MIG_EVREP_QUEUED;
	snprintf(key, sizeof(key), "%s/%s/%s", v->ns, v->name, v->id);
	ph = (const char *)wk_map_get(&st->done, key);
	if (ph && !strcmp(ph, "Succeeded"))
		return MIG_EVREP_SUCCEEDED;
	if (ph && (!strcmp(ph, "Failed") || !strcmp(ph, "Cancelled") || !strcmp(ph, "Rejected")))
		return MIG_EVREP_FAILED;
	return MIG_EVREP_UNCONFIRMED;
}

void mig_evrep_tick(struct mig_state *st, struct mig_evrep *r, size_t submitted)
{
	int64_t now;

	if (!r || r->final_sent)
		return;
	now = wk_time_mono_ms();
	for (size_t i = 0; i < r->n; i++) {
		struct mig_evrep_vm *v = &r->vms[i];
		enum mig_evrep_state s = state_of(st, v, i < submitted);

		if (s == v->state)
			continue;
		v->state = s;
		if (mig_evrep_final_state(s))
			v->done_s = (double)(now - r->started_mono) / 1000.0;
		r->changed = true;
	}
	if (mig_evrep_due(r, now))
		send_report(st, r, "Running", &mig_evrep_best_effort, NULL);
}

void mig_evrep_final(struct mig_state *st, struct mig_evrep *r, struct mig_ack *ack)
{
	bool failed = false;
	double now_s;

	if (!r || r->final_sent)
		return;
	now_s = (double)(wk_time_mono_ms() - r->started_mono) / 1000.0;
	for (size_t i = 0; i < r->n; i++) {
		struct mig_evrep_vm *v = &r->vms[i];

		enum mig_evrep_state s = v->remaining ? MIG_EVREP_FAILED : MIG_EVREP_SUCCEEDED;

		failed |= v->remaining;
		if (v->state != s) {
			v->state = s;
			if (v->done_s < 0)
				v->done_s = now_s;
		}
	}
	send_report(st, r, failed ? "Failed" : "Completed", NULL, ack);
	r->final_sent = true;
}

char mig_evrep_best_effort;
