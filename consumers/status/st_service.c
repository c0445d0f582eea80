/* st_service.c - wukong-status: Kafka in, coalesced merge patches on Wukong /status out. */
#include "st_service.h"

#include "st_table.h"
#include "st_update.h"
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_k8s.h"
#include "wk_lease.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_ratelimit.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <time.h>

struct st_svc {
	struct wk_service_ctx *ctx;
	struct wk_k8s *k8s;
	struct st_table *table;
	struct wk_tokenbucket bucket;
	char topic[256];
	char cluster[64];
	/* config */
	long long coalesce_ms, budget_ms, backoff_ms, backoff_max_ms, cache_max;
	long long max_seq_ahead_ms; /* status.max-seq-ahead (st_update_check_origin) */
	bool warm;
	/* lease */
	bool lease_on;
	struct wk_lease lease;
	int64_t next_lease_ms;
	bool leader;
	/* metrics */
	struct wk_metric *m_updates, *m_patches, *m_requests, *m_msgs_applied, *m_dirty, *m_leader,
	    *m_apply, *m_cached, *m_throttled;
};

static struct st_svc svc;

static void count(struct wk_metric *m, const char *label, double by)
{
	const char *v[] = {label};

	wk_metric_inc(m, v, by);
}

static int subscribe(struct st_svc *s)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(l, s->topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(wk_consumer_handle(wk_service_consumer(s->ctx)), l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		wk_error("subscribe to '%s': %s", s->topic, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

static struct wk_k8s *k8s_client(const struct wk_config *cfg, char *errstr, size_t errstr_size)
{
	struct wk_k8s_options o = {0};

	/* Short: a slow API must not stall the loop; the writer retries with its own backoff. */
	o.request_timeout_ms = 10000;
	o.max_retries = 1;
	o.retry_after_max_s = 2;
	o.user_agent = "wukong-status/" WK_VERSION;
	return wk_k8s_new_from_config(cfg, &o, errstr, errstr_size);
}

static bool take_token(struct st_svc *s)
{
	if (wk_tokenbucket_take(&s->bucket, wk_time_mono_ms()))
		return true;
	wk_metric_inc(s->m_throttled, NULL, 1);
	return false;
}

int st_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct st_svc *s = &svc;
	long long qps, burst;
	char ident[256];

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	wk_service_set_state(ctx, s);
	wk_strlcpy(s->cluster, wk_service_cluster_id(ctx), sizeof(s->cluster));
	wk_kafka_topic(cfg, "status", s->topic, sizeof(s->topic));
	if (wk_config_get_int(cfg, "status.api-qps", 20, &qps, errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "status.api-burst", 0, &burst, errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "status.max-seq-ahead", ST_MAX_SEQ_AHEAD_DEFAULT_MS,
				      &s->max_seq_ahead_ms, errstr, errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "status.coalesce-delay", 100, &s->coalesce_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "status.flush-budget", 200, &s->budget_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "status.retry-backoff", 500, &s->backoff_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "status.retry-backoff-max", 30000, &s->backoff_max_ms,
				      errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "status.cache-max", 100000, &s->cache_max, errstr, errstr_size) <
		0 ||
	    wk_config_get_bool(cfg, "status.warm-cache", true, &s->warm, errstr, errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "status.lease.enabled", true, &s->lease_on, errstr,
			       errstr_size) < 0)
		return -1;
	if (qps < 1 || qps > 100000)
		return wk_err(errstr, errstr_size, "status.api-qps: %lld is not in [1, 100000]",
			      qps);
	if (burst == 0)
		burst = qps * 2;
	if (burst < 1 || burst > 1000000)
		return wk_err(errstr, errstr_size, "status.api-burst: %lld is not in [1, 1000000]",
			      burst);
	if (s->cache_max < 1)
		return wk_err(errstr, errstr_size, "status.cache-max: must be at least 1");
	wk_tokenbucket_init(&s->bucket, (double)qps, (double)burst, wk_time_mono_ms());
	s->k8s = k8s_client(cfg, errstr, errstr_size);
	if (!s->k8s)
		return -1;
	s->table = st_table_new();

	s->m_updates = wk_metric_counter("wukong_status_updates_total",
					 "Status updates consumed, by outcome (accepted, stale, "
					 "deleted, refused, foreign)",
					 "result");
	s->m_patches = wk_metric_counter("wukong_status_patches_total",
					 "PATCH /status requests by result", "result");
	s->m_requests = wk_metric_counter("wukong_status_api_requests_total",
					  "Kubernetes API requests by verb", "verb");
	s->m_msgs_applied = wk_metric_counter(
	    "wukong_status_messages_applied_total",
	    "Messages whose effect is on the API (written, or found stale) and offset acknowledged",
	    NULL);
	s->m_dirty = wk_metric_gauge("wukong_status_dirty_wukongs",
				     "Wukongs with updates waiting to be written", NULL);
	s->m_cached =
	    wk_metric_gauge("wukong_status_cached_wukongs", "Wukongs whose state is cached", NULL);
	s->m_leader =
	    wk_metric_gauge("wukong_status_leader", "1 while this instance holds the Lease", NULL);
	s->m_throttled = wk_metric_counter("wukong_status_throttled_total",
					   "Times a request waited for the API rate limit", NULL);
	{
		static const double b[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

		s->m_apply = wk_metric_histogram("wukong_status_apply_seconds",
						 "From the first pending update of a Wukong to its "
						 "write",
						 NULL, b, WK_ARRAY_SIZE(b));
	}

	if (s->lease_on) {
		long long dur, renew, retry;
		char name[254];

		snprintf(name, sizeof(name), "wukong-status-%.63s", s->cluster);
		wk_lease_identity(ident, sizeof(ident));
		wk_lease_init(
		    &s->lease, wk_config_get(cfg, "status.lease.identity", ident),
		    wk_config_get(cfg, "status.lease.namespace", wk_k8s_namespace(s->k8s)),
		    wk_config_get(cfg, "status.lease.name", name));
		if (wk_config_get_duration_ms(cfg, "status.lease.duration", 15000, &dur, errstr,
					      errstr_size) < 0 ||
		    wk_config_get_duration_ms(cfg, "status.lease.renew-deadline", 10000, &renew,
					      errstr, errstr_size) < 0 ||
		    wk_config_get_duration_ms(cfg, "status.lease.retry-period", 2000, &retry,
					      errstr, errstr_size) < 0)
			return -1;
		s->lease.duration_s = (long)((dur + 999) / 1000);
		s->lease.renew_deadline_ms = (long)renew;
		s->lease.retry_ms = (long)retry;
		if (wk_lease_check(&s->lease, errstr, errstr_size) < 0)
			return -1;
		/* A standby is not a group member, so that the leader gets every partition. */
		rd_kafka_unsubscribe(wk_consumer_handle(wk_service_consumer(ctx)));
		wk_info("waiting for lease '%s/%s' as '%s'", s->lease.ns, s->lease.name,
			s->lease.identity);
	} else {
		s->leader = true;
		wk_metric_set(s->m_leader, NULL, 1);
		wk_service_set_ready(ctx, true);
	}
	return 0;
}

/* LIST every Wukong once on becoming leader, so that the first write of each needs no GET. */
static void warm_cache(struct st_svc *s)
{
	struct wk_k8s_result r;
	struct wk_k8s_list_opts o = {0};
	char err[512];
	const cJSON *items, *it;
	size_t n = 0;

	o.limit = 500;
	take_token(s); /* one list of pages; a token per call, not per page */
	count(s->m_requests, "list", 1);
	if (wk_k8s_list_all(s->k8s, &wk_res_wukongs, NULL, &o, &r, err, sizeof(err)) < 0) {
		wk_warn("warm cache: %s (objects will be read one by one)", err);
		wk_k8s_result_release(&r);
		return;
	}
	items = cJSON_GetObjectItemCaseSensitive(r.body, "items");
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
		struct st_wk *w;

		if (!cJSON_IsString(ns) || !cJSON_IsString(name) ||
		    (size_t)n >= (size_t)s->cache_max)
			continue;
		w = st_table_get(s->table, ns->valuestring, name->valuestring, true);
		st_wk_load(w, it);
		n++;
	}
	wk_info("warm cache: %zu Wukong(s) read", n);
	wk_k8s_result_release(&r);
}

static void lease_tick(struct st_svc *s, int64_t now)
{
	char err[512];
	bool was = s->leader;

	if (!s->lease_on || now < s->next_lease_ms)
		return;
	s->next_lease_ms = now + s->lease.retry_ms;
	if (wk_lease_step(&s->lease, s->k8s, err, sizeof(err)) < 0)
		wk_debug("lease: %s", err);
	s->leader = wk_lease_valid(&s->lease, wk_time_mono_ms());
	wk_metric_set(s->m_leader, NULL, s->leader ? 1 : 0);
	if (s->leader && !was) {
		wk_info("lease '%s/%s' acquired: writing status", s->lease.ns, s->lease.name);
		if (s->warm)
			warm_cache(s);
		if (subscribe(s) < 0) {
			wk_service_stop(s->ctx, 1);
			return;
		}
		wk_service_set_ready(s->ctx, true);
	} else if (!s->leader && was) {
		/* client-go: OnStoppedLeading -> exit; a restart comes back as a standby, and
		 * unacknowledged offsets go to the new leader */
		wk_error("lease '%s/%s' lost: stopping", s->lease.ns, s->lease.name);
		wk_service_set_ready(s->ctx, false);
		wk_service_stop(s->ctx, 1);
	}
}

static void ack_all(struct st_svc *s, struct st_wk *w)
{
	for (size_t i = 0; i < w->noffs; i++)
		wk_service_ack(s->ctx, s->topic, w->offs[i].partition, w->offs[i].offset);
	wk_metric_inc(s->m_msgs_applied, NULL, (double)w->noffs);
	st_wk_clear_offsets(w);
}

/* Done with w's pending updates (written, stale, deleted or refused). */
static void finish(struct st_svc *s, struct st_wk *w, int64_t now)
{
	if (w->dirty_ms)
		wk_metric_observe(s->m_apply, NULL, (double)(now - w->dirty_ms) / 1000.0);
	ack_all(s, w);
	st_wk_clear_pending(w);
	st_table_requeue(s->table, w); /* clean now: leaves the dirty queue */
}

static void backoff(struct st_svc *s, struct st_wk *w, int64_t now)
{
	long long d = s->backoff_ms;

	for (int i = 0; i < w->attempts && d < s->backoff_max_ms; i++)
		d *= 2;
	if (d > s->backoff_max_ms)
		d = s->backoff_max_ms;
	w->attempts++;
	w->next_try_ms = now + d;
	st_table_requeue(s->table, w);
}

static void drop_deleted(struct st_svc *s, struct st_wk *w, int64_t now)
{
	char key[400];

	snprintf(key, sizeof(key), "%s/%s/%s", s->cluster, w->ns, w->name);
	wk_logk(WK_LOG_WARN, key, "wukong not found: %zu update(s) dropped", w->updates);
	count(s->m_updates, "deleted", (double)w->updates);
	finish(s, w, now);
	st_wk_forget_state(w);
}

enum { FL_DONE, FL_THROTTLED, FL_FAILED };

static int flush_one(struct st_svc *s, struct st_wk *w, int64_t now)
{
	char err[512], key[400];
	struct st_build_stats bs;
	struct wk_k8s_result r;
	char *patch;
	int rc;

	snprintf(key, sizeof(key), "%s/%s/%s", s->cluster, w->ns, w->name);
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!w->have_state) {
			if (!take_token(s))
				return FL_THROTTLED;
			count(s->m_requests, "get", 1);
			rc = wk_k8s_get(s->k8s, &wk_res_wukongs, w->ns, w->name, &r, err,
					sizeof(err));
			if (rc < 0 && r.err == WK_K8S_ENOTFOUND) {
				wk_k8s_result_release(&r);
				drop_deleted(s, w, now);
				return FL_DONE;
			}
			if (rc < 0) {
				wk_logk(WK_LOG_WARN, key, "read: %s", err);
				wk_k8s_result_release(&r);
				backoff(s, w, now);
				return FL_FAILED;
			}
			st_wk_load(w, r.body);
			wk_k8s_result_release(&r);
		}
		patch = st_wk_build_patch(w, wk_time_now_ms(), &bs);
		if (bs.stale)
			count(s->m_updates, "stale", (double)bs.stale);
		if (!patch) {
			finish(s, w, now); /* nothing newer than what is applied */
			return FL_DONE;
		}
		if (!take_token(s)) {
			free(patch);
			return FL_THROTTLED;
		}
		count(s->m_requests, "patch", 1);
		rc = wk_k8s_patch(s->k8s, &wk_res_wukongs, w->ns, w->name, "status",
				  WK_K8S_PATCH_MERGE, patch, &r, err, sizeof(err));
		if (rc == 0) {
			count(s->m_patches, "ok", 1);
			wk_logk(WK_LOG_DEBUG, key, "status written (%zu update(s), %zu key(s))",
				w->updates, bs.applied);
			st_wk_load(w, r.body);
			st_wk_note_applied(w, patch);
			free(patch);
			wk_k8s_result_release(&r);
			finish(s, w, now);
			return FL_DONE;
		}
		free(patch);
		switch (r.err) {
		case WK_K8S_ECONFLICT:
			/* someone else wrote the object (or another writer held the lease in
			 * between): read it again and rebuild, seqs filter what is applied */
			count(s->m_patches, "conflict", 1);
			wk_k8s_result_release(&r);
			st_wk_forget_state(w);
			continue;
		case WK_K8S_ENOTFOUND:
			count(s->m_patches, "notfound", 1);
			wk_k8s_result_release(&r);
			drop_deleted(s, w, now);
			return FL_DONE;
		case WK_K8S_EINVALID:
		case WK_K8S_EBADREQUEST:
			/* the API refuses this content (validation): retrying cannot help and would
			 * block the partition; log it loudly, count it, move on */
			count(s->m_patches, "invalid", 1);
			count(s->m_updates, "refused", (double)w->updates);
			wk_logk(WK_LOG_ERROR, key, "status refused by the API: %s", err);
			wk_k8s_result_release(&r);
			finish(s, w, now);
			st_wk_forget_state(w);
			return FL_DONE;
		default:
			count(s->m_patches, "error", 1);
			wk_logk(WK_LOG_WARN, key, "write: %s", err);
			wk_k8s_result_release(&r);
			backoff(s, w, now);
			return FL_FAILED;
		}
	}
	backoff(s, w, now); /* conflicts three times in a row: let the others go first */
	return FL_FAILED;
}

static void flush(struct st_svc *s, bool all)
{
	int64_t start = wk_time_mono_ms(), now = start;
	struct st_wk *w, *next;

	for (w = st_table_first_dirty(s->table); w; w = next) {
		next = st_table_next_dirty(w);
		now = wk_time_mono_ms();
		if (now - start > s->budget_ms && !all)
			break;
		if (!w->npend && !w->noffs) {
			st_table_requeue(s->table, w);
			continue;
		}
		if (!all && (now - w->dirty_ms < s->coalesce_ms || now < w->next_try_ms))
			continue;
		if (flush_one(s, w, now) == FL_THROTTLED)
			break;
	}
	if (st_table_count(s->table) > (size_t)s->cache_max)
		st_table_trim(s->table, (size_t)s->cache_max);
	wk_metric_set(s->m_dirty, NULL, (double)st_table_dirty_count(s->table));
	wk_metric_set(s->m_cached, NULL, (double)st_table_count(s->table));
}

void st_on_tick(struct wk_service_ctx *ctx)
{
	struct st_svc *s = wk_service_state(ctx);

	lease_tick(s, wk_time_mono_ms());
	if (s->leader)
		flush(s, false);
}

enum wk_msg_result st_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail, size_t detail_size)
{
	struct st_svc *s = wk_service_state(ctx);
	struct wk_cloudevent ev;
	struct st_update u;
	size_t stale;
	int rc;

	if (!s->leader)
		return WK_MSG_RETRY; /* not ours to write (only after losing the lease) */
	if (wk_cloudevent_decode(m, &ev, detail, detail_size) < 0) {
		snprintf(reason, reason_size, "MalformedRequest");
		count(s->m_updates, "invalid", 1);
		return WK_MSG_REJECT;
	}
	if (strcmp(ev.type, WK_CE_STATUS)) {
		snprintf(reason, reason_size, "SchemaViolation");
		snprintf(detail, detail_size, "ce_type '%.200s' is not '%s'", ev.type,
			 WK_CE_STATUS);
		count(s->m_updates, "invalid", 1);
		return WK_MSG_REJECT;
	}
	if (st_update_parse(&u, ev.data, ev.data_len, detail, detail_size) < 0) {
		snprintf(reason, reason_size, "SchemaViolation");
		count(s->m_updates, "invalid", 1);
		return WK_MSG_REJECT;
	}
	if (strcmp(u.cluster, s->cluster)) {
		/* wukong.status is shared by every cluster; each cluster's writer takes its own */
		count(s->m_updates, "foreign", 1);
		st_update_release(&u);
		return WK_MSG_DONE;
	}
	{
		const char *code = "schema";

		if (st_update_check_origin(&u, ev.source, wk_time_now_ms() * 1000,
					   s->max_seq_ahead_ms * 1000, &code, detail,
					   detail_size) < 0) {
			snprintf(reason, reason_size, "%s", code);
			count(s->m_updates, "invalid", 1);
			st_update_release(&u);
			return WK_MSG_REJECT;
		}
	}
	rc = st_table_add(s->table, &u, m->partition, m->offset, wk_time_mono_ms(), &stale);
	st_update_release(&u);
	if (rc < 0)
		return WK_MSG_RETRY; /* too many distinct pending keys for one Wukong: later */
	count(s->m_updates, "accepted", 1);
	if (stale)
		count(s->m_updates, "stale", (double)stale);
	return WK_MSG_PENDING;
}

void st_term(struct wk_service_ctx *ctx)
{
	struct st_svc *s = wk_service_state(ctx);
	char err[512];
	int64_t until = wk_time_mono_ms() + 5000;

	if (!s)
		return;
	/* Drain: write what is pending (bounded); what is left is redelivered to the next
	 * leader, since its offsets were never stored. */
	while (s->leader && st_table_dirty_count(s->table) && wk_time_mono_ms() < until &&
	       (!s->lease_on || wk_lease_valid(&s->lease, wk_time_mono_ms()))) {
		flush(s, true);
		if (st_table_dirty_count(s->table)) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	if (s->lease_on && s->leader && wk_lease_release(&s->lease, s->k8s, err, sizeof(err)) < 0)
		wk_warn("lease release: %s", err);
	st_table_destroy(s->table);
	s->table = NULL;
	wk_k8s_destroy(s->k8s);
	s->k8s = NULL;
	wk_service_set_state(ctx, NULL);
}
