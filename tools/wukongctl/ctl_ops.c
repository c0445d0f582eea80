/* ctl_ops.c - submit an operation and follow it to its end.
 *
 * Before producing, a plain (group-less) consumer is assigned to the current end of wukong.dlq,
 * wukong.status and wukong.audit, so that nothing said about the request after it is sent can be
 * missed, without the seconds a consumer-group join costs. The Wukong itself is read through the
 * API server every half second (status.migrationStatus / cloneStatus / conditions), which is
 * where the status writer puts what the executors and the progress aggregator report.
 */
#include "ctl_ops.h"
#include "ctl_report.h"
#include "ctl_out.h"

#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_kafka.h"
#include "wk_log.h"
#include "wk_time.h"
#include "wk_types.h"
#include "wk_resource.h"
#include "wk_uuid.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- the pure part: what a message or a status says about our request ---- */

void ctl_follow_init(struct ctl_follow *f, const struct ctl_request *r)
{
	memset(f, 0, sizeof(*f));
	f->req = r;
	ctl_progress_init(&f->prog);
	ctl_evac_init(&f->evac);
	wk_strlcpy(f->phase, "Submitted", sizeof(f->phase));
	f->prog.phase = f->phase;
}

void ctl_follow_baseline(struct ctl_follow *f, const cJSON *status)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(status, "migrationStatus");
	const char *ph = wk_json_str(ms, "phase"), *rid = wk_json_str(ms, "requestId");

	f->inflight[0] = 0;
	if (ph && rid && strcmp(ph, "Succeeded") && strcmp(ph, "Failed") &&
	    strcmp(ph, "Cancelled") && strcmp(ph, "Rejected") && strcmp(ph, "Aborted"))
		wk_strlcpy(f->inflight, rid, sizeof(f->inflight));
}

static void finish(struct ctl_follow *f, int code, const char *phase, const char *reason,
		   const char *message)
{
	f->done = true;
	f->seen = true;
	f->exit_code = code;
	if (phase)
		wk_strlcpy(f->phase, phase, sizeof(f->phase));
	if (reason)
		wk_strlcpy(f->reason, reason, sizeof(f->reason));
	if (message)
		wk_strlcpy(f->message, message, sizeof(f->message));
}

static double jnum2(const cJSON *o, const char *a, const char *b)
{
	double v = wk_json_num(o, a, -1);

	return v >= 0 ? v : b ? wk_json_num(o, b, -1) : -1;
}

/* Copy the numbers of a migrationStatus / cloneStatus / progress report into the view. The
 * percentage only grows while one request runs (two sources, one of them lagging). */
static void take_progress(struct ctl_follow *f, const cJSON *s)
{
	struct ctl_progress *p = &f->prog;
	double v;

	v = jnum2(s, "progress", "percent");
	if (v >= 0 && v <= 100 && (int)v > p->percent)
		p->percent = (int)v;
	v = jnum2(s, "dataProcessedBytes", "processedBytes");
	if (v >= 0)
		p->done_bytes = (int64_t)v;
	v = jnum2(s, "dataTotalBytes", "totalBytes");
	if (v >= 0)
		p->total_bytes = (int64_t)v;
	v = jnum2(s, "transferRateBytesPerSecond", "rateBytesPerSecond");
	if (v >= 0)
		p->rate = v;
	v = wk_json_num(s, "etaSeconds", -1);
	if (v >= 0)
		p->eta_s = v;
	if (p->done_bytes >= 0 && p->total_bytes > 0) {
		int pct = (int)(100.0 * (double)p->done_bytes / (double)p->total_bytes);

		if (pct > p->percent && pct <= 100)
			p->percent = pct;
	}
}

/* Where a phase sits in the executors' order (docs/migrator.md, docs/cloner.md); 0 = unknown. */
static int phase_rank(const char *ph)
{
	static const char *const order[] = {
	    "Submitted",   "Pending",	   "Queued",  "Scheduling", "Scheduled", "PreparingTarget",
	    "TargetReady", "Snapshotting", "Running", "Migrating",  "Cloning",	 "Finalizing"};

	for (size_t i = 0; i < WK_ARRAY_SIZE(order); i++)
		if (!strcmp(ph, order[i]))
			return (int)i + 1;
	return 0;
}

/* Move to phase ph unless it is one already left behind (seen before, or earlier in the order). */
static bool set_phase(struct ctl_follow *f, const char *ph)
{
	int now = phase_rank(f->phase), next = phase_rank(ph);

	if (!strcmp(ph, f->phase) || (now && next && next < now))
		return false;
	for (size_t i = 0; i < f->nhistory; i++)
		if (!strcmp(f->history[i], ph))
			return false;
	if (f->nhistory < WK_ARRAY_SIZE(f->history))
		wk_strlcpy(f->history[f->nhistory++], f->phase, sizeof(f->history[0]));
	wk_strlcpy(f->phase, ph, sizeof(f->phase));
	return true;
}

static bool is_final_fail(const char *ph)
{
	return !strcmp(ph, "Failed") || !strcmp(ph, "Rejected") || !strcmp(ph, "Cancelled") ||
	       !strcmp(ph, "Aborted");
}

static bool apply_op_status(struct ctl_follow *f, const cJSON *s)
{
	const char *rid = wk_json_str(s, "requestId"), *ph = wk_json_str(s, "phase"),
		   *msg = wk_json_str(s, "message");
	const char *src = wk_json_str(s, "sourceNode"), *dst = wk_json_str(s, "targetNode"),
		   *mode = wk_json_str(s, "mode");
	char before[sizeof(f->phase) + 8];
	int pct = f->prog.percent;

	if (!cJSON_IsObject(s))
		return false;
	/* Progress reports may not repeat the request id; take them once ours is known to run. */
	if (!rid || strcmp(rid, f->req->id)) {
		if (rid || !f->seen || f->done)
			return false;
		take_progress(f, s);
		if (mode && *mode) {
			wk_strlcpy(f->mode, mode, sizeof(f->mode));
			f->prog.mode = f->mode;
		}
		return pct != f->prog.percent;
	}
	wk_strlcpy(before, f->phase, sizeof(before));
	f->seen = true;
	if (ph && !set_phase(f, ph) && strcmp(ph, f->phase))
		return false; /* an older copy of the status */
	if (msg)
		wk_strlcpy(f->message, msg, sizeof(f->message));
	if (src)
		wk_strlcpy(f->source_node, src, sizeof(f->source_node));
	if (dst)
		wk_strlcpy(f->target_node, dst, sizeof(f->target_node));
	if (mode && *mode) {
		wk_strlcpy(f->mode, mode, sizeof(f->mode));
		f->prog.mode = f->mode;
	}
	take_progress(f, s);
	if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Completed"))) {
		f->prog.percent = 100;
		f->prog.eta_s = f->prog.eta_s >= 0 ? 0 : -1;
		if (f->prog.total_bytes > 0)
			f->prog.done_bytes = f->prog.total_bytes;
		finish(f, CTL_EXIT_OK, NULL, NULL, NULL);
	} else if (ph && is_final_fail(ph)) {
		finish(f, CTL_EXIT_FAILED, NULL, NULL, NULL);
	}
	return strcmp(before, f->phase) || pct != f->prog.percent || f->done;
}

bool ctl_follow_status(struct ctl_follow *f, const cJSON *status, const cJSON *conds)
{
	const struct ctl_request *r = f->req;
	const cJSON *c;
	char needle[CTL_ID_MAX + 4];

	if (f->done)
		return false;
	if (!conds && cJSON_IsObject(status))
		conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
	/* A request refused because another one is in flight only gets a condition naming it. */
	snprintf(needle, sizeof(needle), "'%s'", r->id);
	if (!cJSON_IsArray(conds))
		conds = NULL;
	cJSON_ArrayForEach(c, conds)
	{
		const char *type = wk_json_str(c, "type"), *msg = wk_json_str(c, "message");

		if (type && msg && strstr(type, "Rejected") && strstr(msg, needle) &&
		    !strcmp(wk_json_str(c, "status") ? wk_json_str(c, "status") : "", "True")) {
			finish(f, CTL_EXIT_FAILED, "Rejected", wk_json_str(c, "reason"), msg);
			return true;
		}
	}
	if (!cJSON_IsObject(status))
		return false;
	if (r->verb == CTL_VERB_MIGRATE || r->verb == CTL_VERB_CLONE) {
		bool ch =
		    apply_op_status(f, cJSON_GetObjectItemCaseSensitive(
					   status, r->verb == CTL_VERB_MIGRATE ? "migrationStatus"
									       : "cloneStatus"));

		/* The machine-readable reason is on the condition that carries the same message. */
		cJSON_ArrayForEach(c, conds)
		{
			const char *msg = wk_json_str(c, "message"),
				   *why = wk_json_str(c, "reason");

			if (ch && f->done && !f->reason[0] && msg && why && f->message[0] &&
			    !strcmp(msg, f->message))
				wk_strlcpy(f->reason, why, sizeof(f->reason));
		}
		return ch;
	}
	if (r->verb == CTL_VERB_CANCEL) {
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(status, "migrationStatus");
		const char *ph = wk_json_str(ms, "phase"), *rid = wk_json_str(ms, "requestId");

		const char *msg = wk_json_str(ms, "message");

		if (!ph || !rid || strcmp(ph, "Cancelled"))
			return false;
		if (r->target_request[0] && strcmp(rid, r->target_request))
			return false;
		/* Only this cancel's outcome: the migration that was in flight when it was sent,
		 * or a status whose message names this cancel. A Cancelled status left from an
		 * earlier cancel (the API server's copy) says nothing about this one. */
		if (!(f->inflight[0] && !strcmp(rid, f->inflight)) && !(msg && strstr(msg, r->id)))
			return false;
		finish(f, CTL_EXIT_OK, "Cancelled", NULL, msg);
		return true;
	}
	return false;
}

bool ctl_follow_status_msg(struct ctl_follow *f, const cJSON *body)
{
	const char *ns = wk_json_str(body, "namespace"), *name = wk_json_str(body, "name");

	if (!ns || !name || strcmp(ns, f->req->ns) || strcmp(name, f->req->name))
		return false;
	return ctl_follow_status(f, cJSON_GetObjectItemCaseSensitive(body, "status"),
				 cJSON_GetObjectItemCaseSensitive(body, "conditions"));
}

bool ctl_follow_progress(struct ctl_follow *f, const cJSON *body)
{
	const char *rid = wk_json_str(body, "requestId"), *type = wk_json_str(body, "type");
	const char *mode = wk_json_str(body, "mode");
	int pct = f->prog.percent;
	int64_t done = f->prog.done_bytes;

	if (f->done || !rid || strcmp(rid, f->req->id) || !type)
		return false;
	if (f->req->verb == CTL_VERB_DRAIN &&
	    cJSON_GetObjectItemCaseSensitive(body, "evacuationId")) {
		/* Counts, not bytes; the drain still ends on its completion audit record. */
		if (!ctl_evac_take(&f->evac, body, f->req->id, f->req->node))
			return false;
		f->seen = true;
		if (!strcmp(f->phase, "Submitted"))
			wk_strlcpy(f->phase, "Evacuating", sizeof(f->phase));
		return true;
	}
	if (strcmp(type, f->req->verb == CTL_VERB_CLONE ? "clone" : "migration") &&
	    !(f->req->verb == CTL_VERB_DRAIN && !strcmp(type, "evacuation")))
		return false;
	f->seen = true;
	take_progress(f, body);
	if (mode && *mode) {
		wk_strlcpy(f->mode, mode, sizeof(f->mode));
		f->prog.mode = f->mode;
	}
	return pct != f->prog.percent || done != f->prog.done_bytes;
}

bool ctl_follow_audit(struct ctl_follow *f, const cJSON *body)
{
	const char *rid = wk_json_str(body, "requestId"), *out = wk_json_str(body, "outcome");
	bool was = f->seen;

	if (f->done || !rid || strcmp(rid, f->req->id))
		return false;
	f->seen = true;
	/* A refusal may come only as an audit record (the cloner skipping a target whose name is
	 * taken leaves that Wukong's cloneStatus to its owner). */
	if (out && !strcmp(out, "rejected")) {
		finish(f, CTL_EXIT_FAILED, "Rejected", wk_json_str(body, "reason"),
		       wk_json_str(body, "message"));
		return true;
	}
	/* A drain's plan (dry run: the whole answer) and the VMs that stayed. */
	if (f->req->verb == CTL_VERB_DRAIN) {
		const char *act = wk_json_str(body, "action");

		if (act && (!strcmp(act, "drain.planned") || !strcmp(act, "drain.completed")))
			ctl_evac_plan_text(cJSON_GetObjectItemCaseSensitive(body, "details"),
					   f->plan, sizeof(f->plan));
	}
	/* Operations without a status of their own end with their audit record. */
	if (f->req->verb == CTL_VERB_CANCEL || f->req->verb == CTL_VERB_DRAIN) {
		if (out && (!strcmp(out, "rejected") || !strcmp(out, "failure"))) {
			finish(f, CTL_EXIT_FAILED, "Rejected", wk_json_str(body, "reason"),
			       wk_json_str(body, "message"));
			return true;
		}
		if (out && f->req->verb == CTL_VERB_DRAIN && !strcmp(out, "success")) {
			finish(f, CTL_EXIT_OK, "Succeeded", wk_json_str(body, "reason"),
			       wk_json_str(body, "message"));
			return true;
		}
	}
	return !was;
}

bool ctl_follow_dead_letter(struct ctl_follow *f, const cJSON *value, const char *reason,
			    const char *error)
{
	const char *rid = wk_json_str(value, "requestId");

	if (f->done || !rid || strcmp(rid, f->req->id))
		return false;
	finish(f, CTL_EXIT_FAILED, "Rejected", reason ? reason : "dead-lettered",
	       error ? error : "the submission was dead-lettered");
	return true;
}

/* ---- Kafka: the tail consumer ---- */

/* When a message happened: its ce_time, else the broker's timestamp, else now. */
static int64_t msg_time(const rd_kafka_message_t *m)
{
	char tb[64];
	int64_t t = 0;

	if (wk_kafka_header_copy(m, "ce_time", tb, sizeof(tb)) < 0 || wk_time_parse_ms(tb, &t) < 0)
		t = rd_kafka_message_timestamp(m, NULL);
	return t > 0 ? t : wk_time_now_ms();
}

rd_kafka_t *ctl_tail_new(const struct wk_config *cfg, const char *const *topics, size_t n,
			 char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *tp;
	const struct rd_kafka_metadata *md;
	rd_kafka_t *rk;
	char e[256];

	if (rd_kafka_conf_set(conf, "bootstrap.servers",
			      wk_config_get(cfg, "kafka.bootstrap.servers", ""), e,
			      sizeof(e)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof(e)) ||
	    rd_kafka_conf_set(conf, "group.id", "wukongctl-tail", e, sizeof(e)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "false", e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		return wk_err(errstr, errstr_size, "kafka: %s", e), NULL;
	}
	wk_kafka_conf_set_logging(conf);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return wk_err(errstr, errstr_size, "kafka: %s", e), NULL;
	}
	tp = rd_kafka_topic_partition_list_new(64);
	for (size_t i = 0; i < n; i++) {
		rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topics[i], NULL);
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 5000);

		rd_kafka_topic_destroy(t);
		if (err) {
			wk_err(errstr, errstr_size, "cannot reach Kafka for topic '%s': %s",
			       topics[i], rd_kafka_err2str(err));
			goto fail;
		}
		for (int p = 0; md->topic_cnt == 1 && p < md->topics[0].partition_cnt; p++) {
			int64_t lo, hi;

			if (rd_kafka_query_watermark_offsets(rk, topics[i], p, &lo, &hi, 5000)) {
				wk_err(errstr, errstr_size, "cannot read offsets of '%s'",
				       topics[i]);
				rd_kafka_metadata_destroy(md);
				goto fail;
			}
			rd_kafka_topic_partition_list_add(tp, topics[i], p)->offset = hi;
		}
		rd_kafka_metadata_destroy(md);
	}
	if (rd_kafka_assign(rk, tp)) {
		wk_err(errstr, errstr_size, "cannot assign the tail consumer");
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(tp);
	return rk;
fail:
	rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(rk);
	return NULL;
}

/* ---- output ---- */

struct delivery {
	bool done;
	rd_kafka_resp_err_t err;
	int32_t partition;
	int64_t offset;
};

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			int64_t offset, void *opaque)
{
	struct delivery *d = msg_opaque;

	(void)opaque;
	d->done = true;
	d->err = err;
	d->partition = partition;
	d->offset = offset;
}

/* -o json|yaml|name|jsonpath of the result object; name: the object acted on, as kubectl names
 * it. */
static int print_obj(const struct ctl_env *e, const struct ctl_request *r, cJSON *o)
{
	char nm[CTL_NAME_MAX + 64];

	if (r->verb == CTL_VERB_DRAIN)
		snprintf(nm, sizeof(nm), "node/%s", r->node);
	else
		snprintf(nm, sizeof(nm), "wukong.wukong.novasphere.dev/%s", r->name);
	return ctl_out_value(e->args, o, nm, stdout);
}

static int term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static const char *what(const struct ctl_request *r, char *buf, size_t n)
{
	switch (r->verb) {
	case CTL_VERB_MIGRATE:
		snprintf(buf, n, "migrate %s/%s%s%s", r->ns, r->name, r->node[0] ? " -> " : "",
			 r->node);
		break;
	case CTL_VERB_CANCEL:
		snprintf(buf, n, "cancel %s/%s", r->ns, r->name);
		break;
	case CTL_VERB_DRAIN:
		snprintf(buf, n, "drain node %s%s", r->node, r->dry_run ? " (dry run)" : "");
		break;
	case CTL_VERB_CLONE:
		if (r->count > 1)
			snprintf(buf, n, "clone %s/%s -> %s/%s-1..%d", r->src_ns, r->src_name,
				 r->ns, r->name, r->count);
		else
			snprintf(buf, n, "clone %s/%s -> %s/%s", r->src_ns, r->src_name, r->ns,
				 r->name);
		break;
	}
	return buf;
}

/* ---- the command ---- */

/* A dead letter of a submission (not of some report that carries the same request id). */
static bool from_request_topic(const rd_kafka_message_t *m)
{
	char t[256];

	return wk_kafka_header_copy(m, "x-dlt-original-topic", t, sizeof(t)) == 0 &&
	       strstr(t, "requests") != NULL;
}

/* A fan-out (--clusters): the router's reports on wukong.progress (docs/multicluster.md,
 * "Aggregate status"), one line per part as it ends, then the overall result; a dead letter of the
 * request itself (the router refused it) ends it at once. */
static int follow_fanout(const struct ctl_env *e, rd_kafka_t *tail, const char *t_dlq,
			 const char *t_prog, const struct ctl_request *r, const char *desc,
			 long long end_by)
{
	bool text = e->args->output == CTL_OUT_TEXT;
	char seen[CTL_MAX_CLUSTERS][32], overall[32] = "Submitted", reason[64] = "",
					     message[600] = "";
	cJSON *last = NULL;
	int code = CTL_EXIT_TIMEOUT;

	memset(seen, 0, sizeof(seen));
	while (!interrupted && wk_time_mono_ms() < end_by) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(tail, 100);
		const char *tn;
		cJSON *v;

		if (!m)
			continue;
		if (m->err || !m->payload || m->len > WK_KAFKA_MAX_MESSAGE) {
			rd_kafka_message_destroy(m);
			continue;
		}
		tn = rd_kafka_topic_name(m->rkt);
		v = cJSON_ParseWithLength(m->payload, m->len);
		if (v && !strcmp(tn, t_dlq) && wk_json_str(v, "requestId") &&
		    !strcmp(wk_json_str(v, "requestId"), r->id) && from_request_topic(m)) {
			wk_kafka_header_copy(m, "x-dlt-reason", reason, sizeof(reason));
			wk_kafka_header_copy(m, "x-dlt-error", message, sizeof(message));
			wk_strlcpy(overall, "Rejected", sizeof(overall));
			code = CTL_EXIT_FAILED;
			cJSON_Delete(v);
			rd_kafka_message_destroy(m);
			break;
		}
		if (v && !strcmp(tn, t_prog) && wk_json_str(v, "overall") &&
		    wk_json_str(v, "requestId") && !strcmp(wk_json_str(v, "requestId"), r->id)) {
			const cJSON *p;
			size_t i = 0;

			cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(v, "parts"))
			{
				const char *st = wk_json_str(p, "state");
				char c[80], id[80], a[80], msg[300];

				if (i >= CTL_MAX_CLUSTERS || !st)
					break;
				if (strcmp(seen[i], st) && strcmp(st, "Pending") && text) {
					ctl_safe(wk_json_str(p, "cluster"), c, sizeof(c), 63);
					ctl_safe(wk_json_str(p, "requestId"), id, sizeof(id), 63);
					ctl_safe(wk_json_str(p, "action"), a, sizeof(a), 63);
					ctl_safe(wk_json_str(p, "message"), msg, sizeof(msg), 200);
					printf("cluster=%s request=%s state=%s action=%s%s%s\n", c, id,
					       st, a[0] ? a : "-", msg[0] ? " message=" : "", msg);
					fflush(stdout);
				}
				wk_strlcpy(seen[i++], st, sizeof(seen[0]));
			}
			ctl_safe(wk_json_str(v, "overall"), overall, sizeof(overall), 30);
			cJSON_Delete(last);
			last = v;
			v = NULL;
			if (strcmp(overall, "Running")) {
				code = strcmp(overall, "Succeeded") ? CTL_EXIT_FAILED : CTL_EXIT_OK;
				rd_kafka_message_destroy(m);
				break;
			}
		}
		cJSON_Delete(v);
		rd_kafka_message_destroy(m);
	}
	if (interrupted && code == CTL_EXIT_TIMEOUT)
		code = CTL_EXIT_INTERRUPT;
	if (text) {
		char sm[sizeof(message)];

		ctl_safe(message, sm, sizeof(sm), sizeof(sm) - 8);
		if (code == CTL_EXIT_OK || (last && code == CTL_EXIT_FAILED))
			printf("%s: overall %s (%d succeeded, %d failed)\n", desc, overall,
			       (int)wk_json_num(last, "succeeded", 0),
			       (int)wk_json_num(last, "failed", 0));
		else if (code == CTL_EXIT_FAILED)
			fprintf(stderr, "wukongctl: %s: %s (%s)\n  reason: %s\n", desc, overall,
				reason, sm);
		else
			fprintf(stderr,
				"wukongctl: %s: no overall result in time (last: %s); the parts go "
				"on: 'wukongctl get -A'\n",
				desc, overall);
	} else {
		cJSON *o = last ? cJSON_Duplicate(last, 1) : cJSON_CreateObject();

		if (!last) {
			cJSON_AddStringToObject(o, "requestId", r->id);
			cJSON_AddStringToObject(o, "overall", overall);
		}
		if (reason[0])
			cJSON_AddStringToObject(o, "reason", reason);
		if (message[0])
			cJSON_AddStringToObject(o, "message", message);
		cJSON_AddNumberToObject(o, "exitCode", code);
		print_obj(e, r, o);
		cJSON_Delete(o);
	}
	cJSON_Delete(last);
	return code;
}

/* A clone batch (--count): each target Wukong read through the API server every half second
 * until every one is final (cloneStatus of this request Succeeded or Failed, or the name taken by
 * another request), one line per change. Exit 0 when all succeeded, 1 when one failed, 4 on the
 * deadline. */
static int follow_batch(const struct ctl_env *e, const struct ctl_request *r, struct wk_k8s *k8s,
			long long end_by)
{
	int n = r->count, nfinal = 0, nfailed = 0;
	char(*names)[CTL_NAME_MAX + 8] = wk_xcalloc((size_t)n, sizeof(*names));
	char(*last)[64] = wk_xcalloc((size_t)n, sizeof(*last));
	bool *final = wk_xcalloc((size_t)n, sizeof(*final)),
	     *failed = wk_xcalloc((size_t)n, sizeof(*failed));
	bool text = e->args->output == CTL_OUT_TEXT;
	int code;

	for (int i = 0; i < n; i++)
		ctl_clone_target(r, i, names[i], sizeof(names[i]));
	while (nfinal < n && !interrupted && wk_time_mono_ms() < end_by) {
		for (int i = 0; i < n; i++) {
			struct wk_k8s_result res;
			char err[512], line[64], msg[600];
			const cJSON *cs;
			const char *rid, *ph, *lab;

			if (final[i])
				continue;
			if (wk_k8s_get(k8s, &wk_res_wukongs, r->ns, names[i], &res, err,
				       sizeof(err)) < 0) {
				wk_k8s_result_release(&res);
				continue; /* not created yet, or a passing error */
			}
			cs = wk_json_path(res.body, "status.cloneStatus");
			rid = wk_json_str(cs, "requestId");
			ph = wk_json_str(cs, "phase");
			lab = wk_json_meta(res.body, "labels", WK_LABEL_REQUEST_ID);
			if (lab && strcmp(lab, r->id)) {
				/* the cloner skips a name another request holds (TargetNameTaken)
				 */
				final[i] = failed[i] = true;
				nfinal++;
				nfailed++;
				if (text)
					printf("%s/%s: Skipped: the name belongs to request '%s'\n",
					       r->ns, names[i], lab);
				wk_k8s_result_release(&res);
				continue;
			}
			if (!rid || strcmp(rid, r->id) || !ph) {
				wk_k8s_result_release(&res);
				continue;
			}
			snprintf(line, sizeof(line), "%s %d", ph,
				 (int)wk_json_num(cs, "progress", 0));
			if (strcmp(line, last[i])) {
				wk_strlcpy(last[i], line, sizeof(last[i]));
				ctl_safe(wk_json_str(cs, "message") ? wk_json_str(cs, "message")
								    : "",
					 msg, sizeof(msg), 300);
				if (text)
					printf("%s/%s: %s %s%%%s%s\n", r->ns, names[i], ph,
					       line + strlen(ph) + 1, msg[0] ? ": " : "", msg);
				fflush(stdout);
			}
			if (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")) {
				final[i] = true;
				failed[i] = !strcmp(ph, "Failed");
				nfinal++;
				nfailed += failed[i];
			}
			wk_k8s_result_release(&res);
		}
		if (nfinal < n)
			usleep(500 * 1000);
	}
	code = interrupted  ? CTL_EXIT_INTERRUPT
	       : nfinal < n ? CTL_EXIT_TIMEOUT
	       : nfailed    ? CTL_EXIT_FAILED
			    : CTL_EXIT_OK;
	if (text) {
		printf("clone batch %s: %d of %d succeeded, %d failed, %d not finished\n", r->id,
		       nfinal - nfailed, n, nfailed, n - nfinal);
	} else {
		cJSON *o = cJSON_CreateObject(), *t = cJSON_AddArrayToObject(o, "targets");

		cJSON_AddStringToObject(o, "requestId", r->id);
		cJSON_AddStringToObject(o, "operation", "clone");
		cJSON_AddStringToObject(o, "namespace", r->ns);
		for (int i = 0; i < n; i++) {
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "name", names[i]);
			cJSON_AddStringToObject(x, "phase",
						!final[i]   ? "NotFinished"
						: failed[i] ? "Failed"
							    : "Succeeded");
			cJSON_AddItemToArray(t, x);
		}
		cJSON_AddBoolToObject(o, "succeeded", code == CTL_EXIT_OK);
		cJSON_AddNumberToObject(o, "exitCode", code);
		print_obj(e, r, o);
		cJSON_Delete(o);
	}
	free(names);
	free(last);
	free(final);
	free(failed);
	return code;
}

/* kubectl drain's first step: the node takes no new pods (spec.unschedulable), marked with the
 * time so the migrator's nodeMaintenance trigger leaves this cordon to the drain. */
static int cordon(const struct ctl_env *e, const char *node, char *err, size_t errn)
{
	struct wk_k8s *k8s;
	struct wk_k8s_result res;
	char now[40], *patch, path[4096];
	cJSON *p;
	int rc;

	/* Without any kubeconfig wukongctl works through Kafka alone: the drain goes on, said. */
	if (ctl_env_kubeconfig(e, path, sizeof(path), err, errn) < 0) {
		fprintf(stderr,
			"wukongctl: note: node '%s' not cordoned: no kubeconfig (%s); draining "
			"without cordoning\n",
			node, err);
		return 0;
	}
	k8s = ctl_env_k8s(e, err, errn);
	if (!k8s)
		return -1;
	wk_time_format(wk_time_now_ms(), now, sizeof(now));
	p = cJSON_CreateObject();
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(p, "spec"), "unschedulable", true);
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"),
	    WK_ANN_CORDONED_FOR_DRAIN, now);
	patch = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	rc = wk_k8s_patch(k8s, &wk_res_nodes, NULL, node, NULL, WK_K8S_PATCH_MERGE, patch, &res,
			  err, errn);
	wk_k8s_result_release(&res);
	free(patch);
	wk_k8s_destroy(k8s);
	return rc;
}

int ctl_operation(const struct ctl_env *e, enum ctl_verb verb)
{
	const struct ctl_args *a = e->args;
	struct ctl_request r;
	struct ctl_follow f;
	struct wk_config *cfg = NULL;
	struct wk_producer *prod = NULL;
	struct wk_k8s *k8s = NULL;
	rd_kafka_t *tail = NULL;
	struct delivery dlv = {false, 0, -1, -1};
	struct wk_cloudevent ce;
	char err[512], topic[256], t_dlq[256], t_status[256], t_audit[256], t_prog[256], key[600];
	char desc[700], *body = NULL;
	const char *topics[4];
	bool text = a->output == CTL_OUT_TEXT || a->output == CTL_OUT_WIDE;
	bool tty = isatty(STDOUT_FILENO) && text;
	long long now, start, accept_by, end_by, next_get = 0, next_draw = 0, expires_ms;
	unsigned tick = 0;
	int code = CTL_EXIT_OK;
	char lastline[512] = "";
	/* Addition (issue 24): the drain's timeline (plan against reports) and the migration's
	 * convergence, fed from the same messages the follow reads. */
	struct ctl_report rep;
	bool stalled = false;

	if (ctl_request_from_args(a, verb, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "wukongctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	if (!r.id[0]) {
		uint32_t rnd = 0;

		if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
			rnd = (uint32_t)getpid() ^ (uint32_t)wk_time_mono_ms();
		ctl_request_new_id(verb, wk_time_now_ms(), rnd, r.id, sizeof(r.id));
	}
	ctl_report_init(&rep, verb == CTL_VERB_DRAIN, r.id);
	/* No executor starts the request after this (core/wk_request.h): a request left in
	 * Kafka while nothing ran must not run long after this command gave up on it. */
	expires_ms = wk_time_now_ms() + (a->expire_after_ms > 0 ? a->expire_after_ms : 600000);
	wk_time_format(expires_ms, r.expires_at, sizeof(r.expires_at));
	cfg = ctl_env_kafka_config(e, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "wukongctl: %s\n", err);
		ctl_report_release(&rep);
		return CTL_EXIT_ENV;
	}
	{
		char shortname[96];

		/* a fan-out or cluster auto goes through the router (docs/multicluster.md) */
		if (ctl_request_routed(&r))
			wk_strlcpy(shortname, "requests", sizeof(shortname));
		else
			snprintf(shortname, sizeof(shortname), "requests.%s", r.cluster);
		wk_kafka_topic(cfg, shortname, topic, sizeof(topic));
		wk_kafka_topic(cfg, "dlq", t_dlq, sizeof(t_dlq));
		wk_kafka_topic(cfg, "status", t_status, sizeof(t_status));
		wk_kafka_topic(cfg, "audit", t_audit, sizeof(t_audit));
		wk_kafka_topic(cfg, "progress", t_prog, sizeof(t_prog));
	}
	topics[0] = t_dlq;
	topics[1] = t_status;
	topics[2] = t_audit;
	topics[3] = t_prog;
	if (!a->no_wait) {
		tail = ctl_tail_new(cfg, topics, 4, err, sizeof(err));
		if (!tail) {
			fprintf(stderr, "wukongctl: %s; is the stack up? ('wukongctl status')\n",
				err);
			code = CTL_EXIT_ENV;
			goto out;
		}
		/* Without the API server, follow through Kafka alone (also when the router picks
		 * the cluster: which API server is not known here). */
		if (verb != CTL_VERB_DRAIN && !ctl_request_routed(&r)) {
			k8s = ctl_env_k8s(e, err, sizeof(err));
			if (!k8s && a->verbose)
				fprintf(stderr,
					"wukongctl: note: %s; following through Kafka only\n", err);
		}
	}
	prod = wk_producer_new(cfg, on_delivery, NULL, err, sizeof(err));
	if (!prod) {
		fprintf(stderr, "wukongctl: %s\n", err);
		code = CTL_EXIT_ENV;
		goto out;
	}
	ctl_follow_init(&f, &r);
	/* cancel: which migration is in flight before sending decides which Cancelled is ours */
	if (verb == CTL_VERB_CANCEL && k8s) {
		struct wk_k8s_result res;

		if (wk_k8s_get(k8s, &wk_res_wukongs, r.ns, r.name, &res, err, sizeof(err)) == 0)
			ctl_follow_baseline(&f,
					    cJSON_GetObjectItemCaseSensitive(res.body, "status"));
		wk_k8s_result_release(&res);
	}
	if (verb == CTL_VERB_DRAIN && !r.dry_run && !a->no_cordon &&
	    cordon(e, r.node, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"wukongctl: cannot cordon node '%s': %s (--no-cordon drains without "
			"cordoning)\n",
			r.node, err);
		code = CTL_EXIT_ENV;
		goto out;
	}
	body = ctl_request_json(&r);
	memset(&ce, 0, sizeof(ce));
	wk_uuid_v4(ce.id);
	if (r.tenant[0])
		snprintf(ce.source, sizeof(ce.source), "/tenants/%s", r.tenant);
	else
		snprintf(ce.source, sizeof(ce.source), "/clusters/%s/clients/wukongctl", r.cluster);
	wk_strlcpy(ce.type, ctl_request_type(verb), sizeof(ce.type));
	ctl_request_subject(&r, ce.subject, sizeof(ce.subject));
	wk_strlcpy(ce.content_type, "application/json", sizeof(ce.content_type));
	ctl_request_key(&r, key, sizeof(key));
	if (wk_cloudevent_send(prod, topic, key, &ce, body, strlen(body), &dlv, err, sizeof(err)) <
		0 ||
	    wk_producer_flush(prod, 20000) < 0 || !dlv.done || dlv.err) {
		fprintf(stderr, "wukongctl: cannot send the request to '%s': %s\n", topic,
			dlv.done && dlv.err ? rd_kafka_err2str(dlv.err)
			: err[0]	    ? (const char *)err
					    : "not delivered in time");
		code = CTL_EXIT_ENV;
		goto out;
	}
	what(&r, desc, sizeof(desc));
	if (a->no_wait) {
		if (text) {
			printf("%s\n", r.id);
		} else {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "requestId", r.id);
			cJSON_AddStringToObject(o, "operation", ctl_verb_name(verb));
			cJSON_AddStringToObject(o, "topic", topic);
			cJSON_AddNumberToObject(o, "partition", dlv.partition);
			cJSON_AddNumberToObject(o, "offset", (double)dlv.offset);
			cJSON_AddStringToObject(o, "key", key);
			if (print_obj(e, &r, o))
				code = CTL_EXIT_USAGE;
			cJSON_Delete(o);
		}
		goto out;
	}
	if (text)
		printf("%s: request %s sent to %s\n", desc, r.id, topic);
	fflush(stdout);
	if (r.nclusters) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		code = follow_fanout(e, tail, t_dlq, t_prog, &r, desc,
				     wk_time_mono_ms() + (a->timeout_ms ? a->timeout_ms : 600000));
		goto out;
	}

	start = wk_time_mono_ms();
	if (verb == CTL_VERB_CLONE && r.count > 1) {
		struct sigaction sa;

		if (!k8s) {
			fprintf(
			    stderr,
			    "wukongctl: a clone batch is followed through the API server, which "
			    "is not reachable: follow request '%s' with 'wukongctl get -A'\n",
			    r.id);
			code = CTL_EXIT_ENV;
			goto out;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		code = follow_batch(e, &r, k8s, start + (a->timeout_ms ? a->timeout_ms : 600000));
		goto out;
	}
	end_by = start + (a->timeout_ms					       ? a->timeout_ms
			  : verb == CTL_VERB_MIGRATE || verb == CTL_VERB_CLONE ? 600000
									       : 60000);
	accept_by = start + (a->timeout_ms && a->timeout_ms < 30000 ? a->timeout_ms : 30000);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	while (!f.done && !interrupted) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(tail, 100);
		bool changed = false;

		now = wk_time_mono_ms();
		if (m && !m->err && m->payload) {
			const char *tn = rd_kafka_topic_name(m->rkt);
			cJSON *v = m->len <= WK_KAFKA_MAX_MESSAGE
				       ? cJSON_ParseWithLength(m->payload, m->len)
				       : NULL;

			if (v && !strcmp(tn, t_dlq)) {
				char rs[64] = "", es[600] = "";

				wk_kafka_header_copy(m, "x-dlt-reason", rs, sizeof(rs));
				wk_kafka_header_copy(m, "x-dlt-error", es, sizeof(es));
				changed = ctl_follow_dead_letter(&f, v, rs, es);
			} else if (v && !strcmp(tn, t_status)) {
				changed = ctl_follow_status_msg(&f, v);
			} else if (v && !strcmp(tn, t_audit)) {
				ctl_report_feed(&rep, 'a', v, msg_time(m));
				changed = ctl_follow_audit(&f, v);
			} else if (v && !strcmp(tn, t_prog)) {
				const char *ty = wk_json_str(v, "type"),
					   *rid = wk_json_str(v, "requestId");

				/* cluster auto: where the router placed it, and why */
				if (ty && !strcmp(ty, "route") && rid && !strcmp(rid, r.id) &&
				    text) {
					char msg[800];

					ctl_safe(wk_json_str(v, "message"), msg, sizeof(msg), 700);
					printf("%s%s\n", tty ? "\r\033[K" : "", msg);
				}
				ctl_report_feed(&rep, 'p', v, msg_time(m));
				changed = ctl_follow_progress(&f, v);
			}
			cJSON_Delete(v);
		}
		if (m)
			rd_kafka_message_destroy(m);
		if (k8s && now >= next_get && !f.done) {
			struct wk_k8s_result res;

			next_get = now + 500;
			if (wk_k8s_get(k8s, &wk_res_wukongs, r.ns, r.name, &res, err,
				       sizeof(err)) == 0)
				changed |= ctl_follow_status(
				    &f, cJSON_GetObjectItemCaseSensitive(res.body, "status"), NULL);
			wk_k8s_result_release(&res);
		}
		if (!f.done && !f.seen && now >= accept_by) {
			char withdraw[CTL_NAME_MAX + 3 * CTL_ID_MAX + 64];

			if (verb == CTL_VERB_MIGRATE)
				snprintf(withdraw, sizeof(withdraw),
					 "; to withdraw it: 'wukongctl cancel %s/%s --request %s'",
					 r.ns, r.name, r.id);
			else
				withdraw[0] = 0;
			snprintf(
			    f.message, sizeof(f.message),
			    "nothing processed %s request '%s' within %llds: no running service "
			    "answered it (is a service that executes '%s' submissions running? "
			    "see 'wukongctl status'); it stays in Kafka and may still run until %s "
			    "if an executor comes back, never after%s",
			    ctl_verb_name(verb), r.id, (accept_by - start) / 1000,
			    ctl_verb_name(verb), r.expires_at, withdraw);
			f.exit_code = CTL_EXIT_TIMEOUT;
			wk_strlcpy(f.phase, "NotProcessed", sizeof(f.phase));
			break;
		}
		if (!f.done && now >= end_by) {
			snprintf(
			    f.message, sizeof(f.message),
			    "request '%s' did not end within %llds (last phase %s); it goes on: "
			    "'wukongctl get', 'wukongctl cancel'",
			    r.id, (end_by - start) / 1000, f.phase);
			f.exit_code = CTL_EXIT_TIMEOUT;
			break;
		}
		if (!text)
			continue;
		f.prog.phase = f.phase;
		if (tty && (now >= next_draw || changed || f.done)) {
			char line[512];

			next_draw = now + 200;
			if (f.evac.have) {
				ctl_evac_line(&f.evac, term_cols() - 1, tick++, line, sizeof(line));
			} else if (verb == CTL_VERB_MIGRATE && wk_conv_stalled(&rep.conv, 4) &&
				   term_cols() > 60) {
				/* A pre-copy that stopped converging: the remaining bytes' shape.
				 */
				char spark[128];

				ctl_progress_line(&f.prog, term_cols() - 32, tick++, line,
						  sizeof(line) - 160);
				wk_conv_sparkline(&rep.conv, 12, true, spark, sizeof(spark));
				snprintf(line + strlen(line), 160, "  not converging %s", spark);
			} else {
				ctl_progress_line(&f.prog, term_cols() - 1, tick++, line,
						  sizeof(line));
			}
			/* A new phase keeps the previous line on screen: the history stays. */
			if (changed && lastline[0] && strcmp(f.phase, lastline))
				printf("\n");
			wk_strlcpy(lastline, f.phase, sizeof(lastline));
			printf("\r\033[K%s", line);
			fflush(stdout);
		} else if (!tty && changed) {
			char line[512];

			if (verb == CTL_VERB_MIGRATE && wk_conv_stalled(&rep.conv, 4) != stalled) {
				char spark[64];

				stalled = !stalled;
				wk_conv_sparkline(&rep.conv, 12, false, spark, sizeof(spark));
				if (stalled)
					printf("not converging: remaining [%s] over the last %zu "
					       "samples\n",
					       spark, rep.conv.n < 12 ? rep.conv.n : (size_t)12);
			}

			if (f.evac.have)
				ctl_evac_plain(&f.evac, line, sizeof(line));
			else
				ctl_progress_plain(&f.prog, line, sizeof(line));
			/* one line per change of what it says (an audit record alone changes none)
			 */
			if (strcmp(line, lastline)) {
				printf("%s\n", line);
				fflush(stdout);
				wk_strlcpy(lastline, line, sizeof(lastline));
			}
		}
	}
	/* The migrator sends its final evacuation report before the completion audit record, but
	 * the two topics may be read in either order: give the report a moment to arrive. */
	for (long long until = wk_time_mono_ms() + 2000;
	     f.done && f.evac.have && !strcmp(f.evac.phase, "Running") && !interrupted &&
	     wk_time_mono_ms() < until;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(tail, 100);

		if (m && !m->err && m->payload && m->len <= WK_KAFKA_MAX_MESSAGE &&
		    !strcmp(rd_kafka_topic_name(m->rkt), t_prog)) {
			cJSON *v = cJSON_ParseWithLength(m->payload, m->len);
			char line[512];

			if (ctl_evac_take(&f.evac, v, r.id, r.node) && text) {
				if (tty)
					ctl_evac_line(&f.evac, term_cols() - 1, tick++, line,
						      sizeof(line));
				else
					ctl_evac_plain(&f.evac, line, sizeof(line));
				if (tty || strcmp(line, lastline))
					printf(tty ? "\r\033[K%s" : "%s\n", line);
				wk_strlcpy(lastline, line, sizeof(lastline));
				fflush(stdout);
			}
			cJSON_Delete(v);
		}
		if (m)
			rd_kafka_message_destroy(m);
	}
	if (tty)
		printf("\n");
	if (interrupted && !f.done) {
		fprintf(stderr,
			"wukongctl: stopped following; request '%s' goes on ('wukongctl get', "
			"'wukongctl cancel')\n",
			r.id);
		code = CTL_EXIT_INTERRUPT;
		goto out;
	}
	code = f.done ? f.exit_code : f.exit_code ? f.exit_code : CTL_EXIT_TIMEOUT;
	if (text) {
		char sanitized[sizeof(f.message)];

		ctl_safe(f.message, sanitized, sizeof(sanitized), sizeof(sanitized) - 8);
		/* Before the summary and the final status line: the output still ends on them. */
		if (verb == CTL_VERB_DRAIN && rep.tl.n) {
			struct wk_buf tb;

			wk_buf_init(&tb, 4 * 1024 * 1024);
			if (r.dry_run) {
				if (wk_timeline_text(&rep.tl, wk_time_now_ms(), term_cols(), tty,
						     &tb) == 0)
					printf("the plan, per VM (seconds from the start):\n%s",
					       wk_buf_str(&tb));
			} else if (wk_timeline_compare(&rep.tl, &tb) == 0 && wk_buf_str(&tb)[0]) {
				printf("planned against actual (seconds from the start; 'wukongctl "
				       "report drain %s --svg FILE' draws it):\n%s",
				       r.id, wk_buf_str(&tb));
			}
			wk_buf_release(&tb);
		}
		if (f.evac.have) {
			char sum[256];

			ctl_evac_summary(&f.evac, sum, sizeof(sum));
			printf("%s: %s\n", desc, sum);
		}
		if (code == CTL_EXIT_OK) {
			char took[96];

			ctl_took(wk_time_mono_ms() - start, &f.prog, took, sizeof(took));
			printf("%s: %s%s%s (%s)\n", desc, f.phase, sanitized[0] ? ": " : "",
			       sanitized, took);
		} else
			fprintf(stderr, "wukongctl: %s: %s%s%s%s\n", desc, f.phase,
				f.reason[0] ? " (" : "", f.reason, f.reason[0] ? ")" : "");
		if (code != CTL_EXIT_OK && sanitized[0])
			fprintf(stderr, "  reason: %s\n", sanitized);
		if (f.plan[0])
			fputs(f.plan, stdout);
	} else {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "requestId", r.id);
		cJSON_AddStringToObject(o, "operation", ctl_verb_name(verb));
		if (verb == CTL_VERB_DRAIN) {
			cJSON_AddStringToObject(o, "node", r.node);
		} else {
			cJSON_AddStringToObject(o, "namespace", r.ns);
			cJSON_AddStringToObject(o, "name", r.name);
		}
		cJSON_AddStringToObject(o, "phase", f.phase);
		cJSON_AddBoolToObject(o, "succeeded", code == CTL_EXIT_OK);
		if (f.reason[0])
			cJSON_AddStringToObject(o, "reason", f.reason);
		if (f.message[0])
			cJSON_AddStringToObject(o, "message", f.message);
		if (f.source_node[0])
			cJSON_AddStringToObject(o, "sourceNode", f.source_node);
		if (f.target_node[0])
			cJSON_AddStringToObject(o, "targetNode", f.target_node);
		if (f.prog.percent >= 0)
			cJSON_AddNumberToObject(o, "progress", f.prog.percent);
		if (f.evac.have) {
			cJSON *ev = cJSON_AddObjectToObject(o, "evacuation");

			cJSON_AddStringToObject(ev, "phase", f.evac.phase);
			cJSON_AddNumberToObject(ev, "total", (double)f.evac.total);
			cJSON_AddNumberToObject(ev, "succeeded", (double)f.evac.succeeded);
			cJSON_AddNumberToObject(ev, "failed", (double)f.evac.failed);
			cJSON_AddNumberToObject(ev, "running", (double)f.evac.running);
			cJSON_AddNumberToObject(ev, "waiting", (double)f.evac.waiting);
			cJSON_AddNumberToObject(ev, "percent", f.evac.percent);
			if (f.evac.predicted_s >= 0)
				cJSON_AddNumberToObject(ev, "predictedSeconds", f.evac.predicted_s);
			if (f.evac.elapsed_s >= 0)
				cJSON_AddNumberToObject(ev, "elapsedSeconds", f.evac.elapsed_s);
		}
		cJSON_AddNumberToObject(o, "exitCode", code);
		if (f.prog.done_bytes >= 0)
			cJSON_AddNumberToObject(o, "bytesTransferred", (double)f.prog.done_bytes);
		cJSON_AddNumberToObject(o, "elapsedSeconds",
					(double)(wk_time_mono_ms() - start) / 1000.0);
		if (print_obj(e, &r, o))
			code = CTL_EXIT_USAGE;
		cJSON_Delete(o);
	}
out:
	ctl_report_release(&rep);
	free(body);
	wk_producer_destroy(prod);
	if (tail) {
		rd_kafka_consumer_close(tail);
		rd_kafka_destroy(tail);
	}
	wk_k8s_destroy(k8s);
	wk_config_destroy(cfg);
	return code;
}
