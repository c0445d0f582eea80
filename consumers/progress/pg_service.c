/* pg_service.c - wukong-progress: Kafka and metric scrapes in, status updates and progress out. */
#include "pg_service.h"

#include "pg_scrape.h"
#include "pg_state.h"
#include "wk_buf.h"
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_emit.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_promtext.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define MAX_URLS 64

struct sent {
	char mapkey[400];
	bool final;
};

struct pg_svc {
	struct wk_service_ctx *ctx;
	struct pg_state *st;
	struct wk_producer *prod;
	char cluster[64];
	char t_events[256], t_progress[256], t_status[256];
	char *urls[MAX_URLS];
	size_t nurls;
	struct pg_scraper *scraper;
	struct pg_scrape_counts seen; /* counters already added to m_scrapes */
	long long scrape_ms, scrape_timeout_ms, status_ms, aggregate_ms, keep_ms;
	int64_t next_scrape, next_aggregate;
	int64_t last_seq;
	char **reported_nodes;
	size_t nreported;
	/* metrics */
	struct wk_metric *m_events, *m_scrapes, *m_samples, *m_updates, *m_node_vms, *m_node_bytes,
	    *m_node_eta, *m_migrations, *m_failed, *m_ops, *m_targets;
};

static struct pg_svc svc;

static void count(struct wk_metric *m, const char *label, double by)
{
	const char *v[] = {label};

	wk_metric_inc(m, v, by);
}

/* ---- delivery: a final status that did not reach the broker is sent again ---- */

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			int64_t offset, void *opaque)
{
	struct sent *s = msg_opaque;
	struct pg_svc *p = opaque;

	(void)partition;
	(void)offset;
	if (!s)
		return;
	if (err && p->st) {
		struct pg_op *op = pg_state_op(p->st, s->mapkey);

		if (op) {
			wk_warn("status update for '%s' not delivered (%s): sending again",
				s->mapkey, rd_kafka_err2str(err));
			op->dirty = true;
			op->final_sent = false;
		}
	}
	free(s);
}

/* ---- relist: rebuild the in-memory state on start (kill -9 loses nothing) ---- */

static void relist(struct pg_svc *p, const struct wk_config *cfg)
{
	static const struct {
		const char *kind;
		const struct wk_k8s_resource *res;
	} kinds[] = {
	    {"node", &wk_res_nodes},
	    {"wukong", &wk_res_wukongs},
	    {"virtualmachineinstance", &wk_res_virtualmachineinstances},
	    {"virtualmachineinstancemigration", &wk_res_virtualmachineinstancemigrations},
	};
	struct wk_k8s_options o = {0};
	struct wk_k8s *c;
	char err[512];

	o.request_timeout_ms = 15000;
	o.user_agent = "wukong-progress/" WK_VERSION;
	c = wk_k8s_new_from_config(cfg, &o, err, sizeof(err));
	if (!c) {
		wk_warn("relist skipped (state comes from events only): %s", err);
		return;
	}
	for (size_t i = 0; i < WK_ARRAY_SIZE(kinds); i++) {
		struct wk_k8s_result r;
		struct wk_k8s_list_opts lo = {0};
		const cJSON *it;
		size_t n = 0;

		lo.limit = 500;
		if (wk_k8s_list_all(c, kinds[i].res, NULL, &lo, &r, err, sizeof(err)) < 0) {
			wk_warn("relist %s: %s", kinds[i].kind, err);
			wk_k8s_result_release(&r);
			continue;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.body, "items"))
		{
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
			cJSON *b = cJSON_CreateObject();
			const char *keys[] = {"namespace", "name", "labels"};

			/* the event body shape (schemas/event.v1.json) from the object */
			for (size_t k = 0; k < WK_ARRAY_SIZE(keys); k++) {
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, keys[k]);

				if (v)
					cJSON_AddItemToObject(b, keys[k], cJSON_Duplicate(v, true));
			}
			if (cJSON_GetObjectItemCaseSensitive(it, "spec"))
				cJSON_AddItemToObject(
				    b, "spec",
				    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "spec"),
						    true));
			if (cJSON_GetObjectItemCaseSensitive(it, "status"))
				cJSON_AddItemToObject(
				    b, "status",
				    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "status"),
						    true));
			if (pg_state_event(p->st, kinds[i].kind, "added", b, wk_time_mono_ms(), err,
					   sizeof(err)) == 0)
				n++;
			cJSON_Delete(b);
		}
		wk_info("relist: %zu %s object(s)", n, kinds[i].kind);
		wk_k8s_result_release(&r);
	}
	/* what the relist found is not news: only later changes are sent */
	for (struct pg_op *op = pg_state_next_op(p->st, NULL); op; op = pg_state_next_op(p->st, op))
		if (op->final) {
			op->dirty = false;
			op->final_sent = true;
		}
	wk_k8s_destroy(c);
}

int pg_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct pg_svc *p = &svc;
	const char *urls;
	bool do_relist;
	struct pg_scrape_opts so;

	memset(p, 0, sizeof(*p));
	memset(&so, 0, sizeof(so));
	p->ctx = ctx;
	wk_service_set_state(ctx, p);
	wk_strlcpy(p->cluster, wk_service_cluster_id(ctx), sizeof(p->cluster));
	wk_kafka_topic(cfg, "events", p->t_events, sizeof(p->t_events));
	wk_kafka_topic(cfg, "progress", p->t_progress, sizeof(p->t_progress));
	wk_kafka_topic(cfg, "status", p->t_status, sizeof(p->t_status));
	if (wk_config_get_duration_ms(cfg, "progress.scrape-interval", 5000, &p->scrape_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "progress.scrape-timeout", 2000, &p->scrape_timeout_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "progress.status-interval", 1000, &p->status_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "progress.aggregate-interval", 5000, &p->aggregate_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "progress.keep-finished", 600000, &p->keep_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "progress.relist", true, &do_relist, errstr, errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "progress.metrics-discovery", true, &so.discover, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "progress.metrics-insecure-skip-verify", false, &so.insecure,
			       errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "progress.discovery-interval", 30000, &so.discovery_ms,
				      errstr, errstr_size) < 0)
		return -1;
	{
		long long par = 16;

		if (wk_config_get_int(cfg, "progress.scrape-parallel", 16, &par, errstr,
				      errstr_size) < 0)
			return -1;
		if (par < 1 || par > 256)
			return wk_err(errstr, errstr_size,
				      "progress.scrape-parallel must be 1..256");
		so.max_parallel = (int)par;
	}
	wk_strlcpy(so.ns, wk_config_get(cfg, "progress.kubevirt-namespace", ""), sizeof(so.ns));
	wk_strlcpy(so.ca_file, wk_config_get(cfg, "progress.metrics-ca-file", ""),
		   sizeof(so.ca_file));
	wk_strlcpy(so.token_file, wk_config_get(cfg, "progress.metrics-token-file", ""),
		   sizeof(so.token_file));
	if (so.insecure)
		wk_warn("progress.metrics-insecure-skip-verify: virt-handler's certificate is not "
			"verified");
	if (p->scrape_ms < 100 || p->status_ms < 0 || p->aggregate_ms < 100)
		return wk_err(errstr, errstr_size,
			      "progress.scrape-interval and progress.aggregate-interval must be at "
			      "least 100ms");
	urls = wk_config_get(cfg, "progress.metrics-urls", "");
	while (*urls) {
		size_t n = strcspn(urls, ",");

		if (n) {
			char *u = wk_xstrndup(urls, n);

			if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
				wk_err(errstr, errstr_size,
				       "progress.metrics-urls: '%s' is not an http(s) URL", u);
				free(u);
				return -1;
			}
			if (p->nurls == MAX_URLS) {
				free(u);
				return wk_err(errstr, errstr_size,
					      "progress.metrics-urls: more than %d URLs", MAX_URLS);
			}
			p->urls[p->nurls++] = u;
		}
		urls += n;
		if (*urls == ',')
			urls++;
	}
	p->prod = wk_producer_new(cfg, on_delivery, p, errstr, errstr_size);
	if (!p->prod)
		return -1;
	p->st = pg_state_new(p->cluster);
	p->m_events = wk_metric_counter("wukong_progress_inputs_total",
					"Events and reports consumed, by kind", "kind");
	p->m_scrapes = wk_metric_counter("wukong_progress_scrapes_total",
					 "Metric endpoint scrapes by result", "result");
	p->m_samples = wk_metric_counter("wukong_progress_samples_total",
					 "Migration metric samples taken by an operation", NULL);
	p->m_updates =
	    wk_metric_counter("wukong_progress_status_updates_total",
			      "Status updates sent to wukong.status (final: end states)", "kind");
	p->m_node_vms = wk_metric_gauge("wukong_progress_node_remaining_vms",
					"VMs still on a node being evacuated", "node");
	p->m_node_bytes = wk_metric_gauge("wukong_progress_node_remaining_bytes",
					  "Bytes still to move off a node being evacuated", "node");
	p->m_node_eta = wk_metric_gauge("wukong_progress_node_eta_seconds",
					"Estimated seconds until a node is evacuated (absent while "
					"unknown)",
					"node");
	p->m_migrations =
	    wk_metric_gauge("wukong_progress_migrations",
			    "Migrations in the cluster by state (running, queued)", "state");
	p->m_failed = wk_metric_gauge("wukong_progress_migrations_failed_last_hour",
				      "Migrations that failed in the last hour", NULL);
	p->m_ops = wk_metric_gauge("wukong_progress_operations", "Operations tracked", NULL);
	p->m_targets =
	    wk_metric_gauge("wukong_progress_scrape_targets",
			    "virt-handler metrics endpoints found at the last discovery", NULL);
	/* A fixed URL list (progress.metrics-urls) replaces discovery unless it is asked for. */
	if (p->nurls && !wk_config_get(cfg, "progress.metrics-discovery", NULL))
		so.discover = false;
	so.cfg = cfg;
	so.urls = p->urls;
	so.nurls = p->nurls;
	so.interval_ms = p->scrape_ms;
	so.timeout_ms = p->scrape_timeout_ms;
	if (so.discover || so.nurls) {
		p->scraper = pg_scraper_start(&so, errstr, errstr_size);
		if (!p->scraper)
			return -1;
	}
	if (do_relist)
		relist(p, cfg);
	p->next_scrape = wk_time_mono_ms();
	p->next_aggregate = wk_time_mono_ms() + p->aggregate_ms;
	wk_service_set_ready(ctx, true);
	return 0;
}

/* ---- input ---- */

enum wk_msg_result pg_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail, size_t detail_size)
{
	struct pg_svc *p = wk_service_state(ctx);
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct wk_cloudevent ev;
	char kind[64], change[32];
	const char *t, *dot;
	cJSON *body;
	int rc;

	if (wk_cloudevent_decode(m, &ev, detail, detail_size) < 0) {
		snprintf(reason, reason_size, "MalformedRequest");
		return WK_MSG_REJECT;
	}
	if (strncmp(ev.type, WK_CE_PREFIX, strlen(WK_CE_PREFIX)))
		return WK_MSG_DONE; /* not a Wukong event: nothing for us */
	t = ev.type + strlen(WK_CE_PREFIX);
	dot = strchr(t, '.');
	if (!dot || (size_t)(dot - t) >= sizeof(kind))
		return WK_MSG_DONE;
	memcpy(kind, t, (size_t)(dot - t));
	kind[dot - t] = '\0';
	wk_strlcpy(change, dot + 1, sizeof(change));
	if (!strcmp(topic, p->t_events)) {
		/* only the kinds the progress model uses are parsed at all */
		if (strcmp(kind, "virtualmachineinstancemigration") &&
		    strcmp(kind, "virtualmachineinstance") && strcmp(kind, "wukong") &&
		    strcmp(kind, "node"))
			return WK_MSG_DONE;
		if (strcmp(change, "added") && strcmp(change, "modified") &&
		    strcmp(change, "deleted"))
			return WK_MSG_DONE; /* synced, heartbeat */
	} else if (strcmp(kind, "progress")) {
		return WK_MSG_DONE;
	}
	body = cJSON_ParseWithLength(ev.data, ev.data_len);
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		snprintf(reason, reason_size, "SchemaViolation");
		snprintf(detail, detail_size, "body is not a JSON object");
		return WK_MSG_REJECT;
	}
	if (!strcmp(topic, p->t_events)) {
		count(p->m_events, kind, 1);
		rc = pg_state_event(p->st, kind, change, body, wk_time_mono_ms(), detail,
				    detail_size);
	} else {
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(body, "source");

		if (cJSON_IsString(src) && !strcmp(src->valuestring, "wukong-progress")) {
			cJSON_Delete(body); /* our own publication */
			return WK_MSG_DONE;
		}
		count(p->m_events, "report", 1);
		rc = pg_state_report(p->st, body, wk_time_mono_ms(), detail, detail_size);
	}
	cJSON_Delete(body);
	if (rc < 0) {
		snprintf(reason, reason_size, "SchemaViolation");
		return WK_MSG_REJECT;
	}
	/* the effect is in memory; a restart rebuilds it by relisting the cluster */
	return WK_MSG_DONE;
}

/* ---- output ---- */

static int64_t next_seq(struct pg_svc *p)
{
	int64_t s = wk_time_now_ms() * 1000;

	/* strictly increasing across restarts: wall-clock microseconds, bumped */
	if (s <= p->last_seq)
		s = p->last_seq + 1;
	p->last_seq = s;
	return s;
}

static int pg_send(struct pg_svc *p, const char *topic, const char *type, const char *subject,
		   const char *key, const char *body, struct sent *opaque)
{
	struct wk_cloudevent ev;
	char err[512];

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.source, sizeof(ev.source), "/clusters/%s", p->cluster);
	wk_strlcpy(ev.type, type, sizeof(ev.type));
	wk_strlcpy(ev.subject, subject ? subject : "", sizeof(ev.subject));
	wk_strlcpy(ev.content_type, "application/json", sizeof(ev.content_type));
	if (wk_cloudevent_send(p->prod, topic, key, &ev, body, strlen(body), opaque, err,
			       sizeof(err)) < 0) {
		wk_logk(WK_LOG_WARN, key, "send to '%s': %s", topic, err);
		return -1;
	}
	return 0;
}

static void emit(struct pg_svc *p, int64_t now)
{
	for (struct pg_op *op = pg_state_next_op(p->st, NULL); op;
	     op = pg_state_next_op(p->st, op)) {
		char key[600], skey[600], subject[400];
		char *body;
		struct sent *s;

		if (!op->dirty || !pg_emit_due(op->last_sent_ms, now, p->status_ms, op->final))
			continue;
		if (op->kind == PG_OP_CLONE)
			snprintf(key, sizeof(key), "%s/%s/%s-vm", p->cluster, op->ns, op->vmi);
		else
			snprintf(key, sizeof(key), "%s/%s/%s", p->cluster, op->ns, op->vmi);
		snprintf(subject, sizeof(subject), "Wukong/%s/%s", op->ns,
			 op->wukong[0] ? op->wukong : op->vmi);
		body = pg_op_progress_json(p->st, op, wk_time_now_ms());
		pg_send(p, p->t_progress,
			op->kind == PG_OP_CLONE ? WK_CE_PROGRESS_CLONE : WK_CE_PROGRESS_MIGRATION,
			subject, key, body, NULL);
		free(body);
		/* A clone's executor writes its own cloneStatus (progress included): a second
		 * writer of the same numbers could only disagree, so clones are published on
		 * wukong.progress only; so are queued requests (no transfer yet). */
		if (op->wukong[0] && op->kind == PG_OP_MIGRATION && strncmp(op->mapkey, "q/", 2)) {
			s = wk_xcalloc(1, sizeof(*s));
			wk_strlcpy(s->mapkey, op->mapkey, sizeof(s->mapkey));
			s->final = op->final;
			body = pg_op_status_json(p->st, op, next_seq(p));
			/* its own key per (Wukong, shape): wukong.status is compacted (wk_emit.h)
			 */
			if (wk_emit_status_key(body, strlen(body), skey, sizeof(skey)) < 0)
				wk_strlcpy(skey, key, sizeof(skey));
			if (pg_send(p, p->t_status, WK_CE_STATUS, subject, skey, body, s) < 0) {
				free(s);
				free(body);
				continue; /* stays dirty: the latest goes out on a later tick */
			}
			free(body);
			count(p->m_updates, op->final ? "final" : "update", 1);
		}
		op->dirty = false;
		op->last_sent_ms = now;
		if (op->final)
			op->final_sent = true;
	}
}

static bool was_reported(struct pg_svc *p, const char *node)
{
	for (size_t i = 0; i < p->nreported; i++)
		if (!strcmp(p->reported_nodes[i], node))
			return true;
	return false;
}

static void aggregate(struct pg_svc *p)
{
	const struct pg_node_agg *nodes;
	struct pg_cluster_agg c;
	size_t n = pg_state_nodes(p->st, &nodes);
	int64_t wall = wk_time_now_ms();
	char key[400], subject[300], *body;
	const char *lv[1];

	for (size_t i = 0; i < n; i++) {
		lv[0] = nodes[i].node;
		wk_metric_set(p->m_node_vms, lv, (double)nodes[i].vms_left);
		wk_metric_set(p->m_node_bytes, lv, nodes[i].bytes_left);
		if (nodes[i].eta_s >= 0) /* unknown: no series rather than a -1 */
			wk_metric_set(p->m_node_eta, lv, nodes[i].eta_s);
		else
			wk_metric_remove(p->m_node_eta, lv);
		snprintf(key, sizeof(key), "%s/node/%s", p->cluster, nodes[i].node);
		snprintf(subject, sizeof(subject), "Node/%s", nodes[i].node);
		body = pg_node_progress_json(p->st, &nodes[i], wall);
		pg_send(p, p->t_progress, WK_CE_PROGRESS_EVACUATION, subject, key, body, NULL);
		free(body);
		if (!was_reported(p, nodes[i].node) && p->nreported < 4096) {
			p->reported_nodes =
			    wk_xrealloc(p->reported_nodes, (p->nreported + 1) * sizeof(char *));
			p->reported_nodes[p->nreported++] = wk_xstrdup(nodes[i].node);
		}
	}
	/* nodes no longer drained: their series go to zero instead of freezing */
	for (size_t i = 0; i < p->nreported; i++) {
		bool found = false;

		for (size_t k = 0; k < n && !found; k++)
			found = !strcmp(nodes[k].node, p->reported_nodes[i]);
		if (!found) {
			lv[0] = p->reported_nodes[i];
			wk_metric_set(p->m_node_vms, lv, 0);
			wk_metric_set(p->m_node_bytes, lv, 0);
			wk_metric_set(p->m_node_eta, lv, 0);
		}
	}
	pg_state_cluster(p->st, wk_time_mono_ms(), &c);
	lv[0] = "running";
	wk_metric_set(p->m_migrations, lv, (double)c.running);
	lv[0] = "queued";
	wk_metric_set(p->m_migrations, lv, (double)c.queued);
	wk_metric_set(p->m_failed, NULL, (double)c.failed_last_hour);
	snprintf(key, sizeof(key), "%s/cluster", p->cluster);
	body = pg_cluster_progress_json(p->st, &c, wall);
	pg_send(p, p->t_progress, WK_CE_PROGRESS_CLUSTER, "Cluster", key, body, NULL);
	free(body);
}

void pg_on_tick(struct wk_service_ctx *ctx)
{
	struct pg_svc *p = wk_service_state(ctx);
	int64_t now = wk_time_mono_ms();
	size_t nops = 0;

	if (now >= p->next_scrape) {
		/* the scraper thread did the network part; here only what it brought back */
		struct pg_sample *smp;
		struct pg_scrape_counts c;
		size_t n = pg_scraper_take(p->scraper, &smp, &c);

		p->next_scrape = now + 100;
		for (size_t i = 0; i < n; i++)
			pg_state_metric(p->st, smp[i].ns, smp[i].vmi, smp[i].which, smp[i].v,
					smp[i].ts);
		free(smp);
		count(p->m_scrapes, "ok", (double)(c.ok - p->seen.ok));
		count(p->m_scrapes, "error", (double)(c.error - p->seen.error));
		count(p->m_scrapes, "malformed", (double)(c.malformed - p->seen.malformed));
		wk_metric_set(p->m_targets, NULL, (double)c.targets);
		p->seen = c;
		if (n)
			wk_metric_inc(p->m_samples, NULL,
				      (double)pg_state_metrics_apply(p->st, wk_time_now_ms()));
	}
	emit(p, now);
	if (now >= p->next_aggregate) {
		p->next_aggregate = now + p->aggregate_ms;
		aggregate(p);
		pg_state_gc(p->st, now, p->keep_ms);
		for (struct pg_op *op = pg_state_next_op(p->st, NULL); op;
		     op = pg_state_next_op(p->st, op))
			nops++;
		wk_metric_set(p->m_ops, NULL, (double)nops);
	}
	if (wk_producer_poll(p->prod, 0) < 0) {
		wk_error("producer: fatal error");
		wk_service_stop(ctx, 1);
	}
}

void pg_term(struct wk_service_ctx *ctx)
{
	struct pg_svc *p = wk_service_state(ctx);

	if (!p)
		return;
	pg_scraper_stop(p->scraper);
	p->scraper = NULL;
	/* final states still held back go out now (they are never held back, but a failed
	 * delivery may have re-marked one) */
	emit(p, wk_time_mono_ms() + p->status_ms);
	if (wk_producer_flush(p->prod, 10000) < 0)
		wk_warn("progress: %d message(s) not delivered at shutdown",
			wk_producer_outq_len(p->prod));
	wk_producer_destroy(p->prod);
	p->prod = NULL;
	pg_state_destroy(p->st);
	p->st = NULL;
	for (size_t i = 0; i < p->nurls; i++)
		free(p->urls[i]);
	for (size_t i = 0; i < p->nreported; i++)
		free(p->reported_nodes[i]);
	free(p->reported_nodes);
	wk_service_set_state(ctx, NULL);
}
