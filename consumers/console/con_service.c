/* con_service.c - wukong-console: Kafka tail in, the web console out (the service's only I/O). */
#include "con_service.h"

#include "con_assets.h"
#include "con_model.h"

#include "wk_config.h"
#include "wk_httpd.h"
#include "wk_kafka.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#define HUB_RING 64 /* deltas a slow browser may be behind before it gets a snapshot */
#define HUB_BYTES_MAX (32 * 1024 * 1024) /* and at most this much held in them */
#define KEEPALIVE_MS 5000  /* an SSE comment this often (the endpoint closes idle ones at 10 s) */
#define WAIT_SLICE_MS 1000 /* a stream waits at most this long per read (stop is never held) */
#define POLL_BUDGET_MS 40  /* Kafka reading per tick, so the loop stays responsive */
#define POLL_MAX_MESSAGES 20000 /* and at most this many messages per tick */
#define QUERY_MAX 256		/* a query argument longer than this is refused */

static const char *const con_topics[] = {"events", "status", "progress", "audit"};
#define NTOPICS 4

/* Everything the HTTP threads touch: the model and the delta ring, behind one mutex. Reference
 * counted: the service holds one reference, the endpoint one per registered handler (released
 * by wk_httpd_destroy after every connection thread has ended), each open stream one. */
struct con_web {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool closing;
	struct con_model *model;
	char *ring[HUB_RING]; /* deltas, ring[seq % HUB_RING] holds seq */
	uint64_t seq;	      /* the newest delta's seq */
	uint64_t oldest;      /* the oldest delta still held (older ones: a snapshot instead) */
	size_t ring_bytes;
	int clients, max_clients;
};

struct con_state {
	struct con_web *web;
	rd_kafka_t *rk;
	char topics[NTOPICS][256];
	int64_t push_ms, last_push;
	struct wk_metric *m_msgs, *m_clients, *m_entities, *m_push;
};

static void web_unref(void *p)
{
	struct con_web *w = p;
	bool last;

	pthread_mutex_lock(&w->lock);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (!last)
		return;
	con_model_destroy(w->model);
	for (size_t i = 0; i < HUB_RING; i++)
		free(w->ring[i]);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void web_ref(struct con_web *w)
{
	pthread_mutex_lock(&w->lock);
	w->refs++;
	pthread_mutex_unlock(&w->lock);
}

/* ---- HTTP ---- */

static void send_text(struct wk_httpd_resp *resp, int status, const char *type, const char *s,
		      size_t len)
{
	resp->status = status;
	resp->content_type = type;
	wk_buf_reset(&resp->body);
	if (wk_buf_add(&resp->body, s, len) < 0) {
		resp->status = 500;
		resp->content_type = NULL;
		wk_buf_reset(&resp->body);
		if (wk_buf_adds(&resp->body, "answer exceeds the response cap\n") < 0)
			resp->status = 500;
	}
}

static void send_owned(struct wk_httpd_resp *resp, const char *type, char *s)
{
	if (!s) {
		send_text(resp, 404, "application/json", "{\"error\":\"not found\"}\n", 22);
		return;
	}
	send_text(resp, 200, type, s, strlen(s));
	free(s);
}

static void serve_asset(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	struct con_asset a;

	(void)opaque;
	if (con_asset_find(req->path, &a) < 0) {
		send_text(resp, 404, NULL, "not found\n", 10);
		return;
	}
	resp->cache_control = "no-cache";
	send_text(resp, 200, a.type, a.data, a.len);
	/* The page's own rules: no inline script, nothing from elsewhere. */
}

static const char *arg(const struct wk_httpd_req *req, const char *name, bool *bad)
{
	const char *v = wk_httpd_req_arg(req, name);

	if (v && strlen(v) > QUERY_MAX)
		*bad = true;
	return v && *v ? v : NULL;
}

static int time_arg(const char *v, int64_t *out)
{
	*out = 0;
	if (!v)
		return 0;
	return wk_time_parse_ms(v, out);
}

static void serve_api(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	struct con_web *w = opaque;
	const char *p = req->path + strlen("/api/");
	bool bad = false;
	char *out = NULL;
	const char *type = "application/json";

	if (!strcmp(p, "state")) {
		pthread_mutex_lock(&w->lock);
		out = con_model_snapshot(w->model, wk_time_now_ms());
		pthread_mutex_unlock(&w->lock);
	} else if (!strcmp(p, "audit")) {
		struct con_audit_query q = {0};
		const char *lim = arg(req, "limit", &bad), *since, *until;

		q.vm = arg(req, "vm", &bad);
		q.node = arg(req, "node", &bad);
		q.request = arg(req, "request", &bad);
		q.outcome = arg(req, "outcome", &bad);
		since = arg(req, "since", &bad);
		until = arg(req, "until", &bad);
		if (lim) {
			char *end;
			long n = strtol(lim, &end, 10);

			if (*end || n < 1 || n > 1000)
				bad = true;
			else
				q.limit = (size_t)n;
		}
		if (bad || time_arg(since, &q.since_ms) < 0 || time_arg(until, &q.until_ms) < 0) {
			send_text(resp, 400, "application/json",
				  "{\"error\":\"bad query: arguments up to 256 bytes, since/until "
				  "RFC 3339, limit 1..1000\"}\n",
				  89);
			return;
		}
		pthread_mutex_lock(&w->lock);
		out = con_model_audit_search(w->model, &q);
		pthread_mutex_unlock(&w->lock);
	} else if (!strncmp(p, "drain/", 6)) {
		char id[128];
		size_t n = strlen(p + 6);
		bool svg = n > 4 && !strcmp(p + 6 + n - 4, ".svg");

		if (svg)
			n -= 4;
		if (n == 0 || n >= sizeof(id)) {
			send_text(resp, 404, "application/json", "{\"error\":\"not found\"}\n", 22);
			return;
		}
		memcpy(id, p + 6, n);
		id[n] = '\0';
		pthread_mutex_lock(&w->lock);
		out = svg ? con_model_drain_svg(w->model, id, wk_time_now_ms())
			  : con_model_drain_json(w->model, id);
		pthread_mutex_unlock(&w->lock);
		if (svg)
			type = "image/svg+xml";
	} else if (!strcmp(p, "conv")) {
		const char *id = arg(req, "id", &bad);

		if (!bad && id) {
			pthread_mutex_lock(&w->lock);
			out = con_model_conv_json(w->model, id);
			pthread_mutex_unlock(&w->lock);
		}
	}
	send_owned(resp, type, out);
}

/* One browser's event stream: what is left of the message being sent, and the last seq sent. */
struct con_stream {
	struct con_web *w;
	char *pending;
	size_t off, len;
	uint64_t seq;
	bool snapshot_sent;
};

static char *sse_frame(const char *event, const char *data)
{
	return wk_xasprintf("event: %s\ndata: %s\n\n", event, data);
}

/* Called with the lock held: the next frame for s, or NULL when there is nothing new. */
static char *next_frame(struct con_stream *s)
{
	struct con_web *w = s->w;
	char *snap, *f;

	if (!s->snapshot_sent ||
	    (w->seq > s->seq && (s->seq + 1 < w->oldest || !w->ring[(s->seq + 1) % HUB_RING]))) {
		snap = con_model_snapshot(w->model, wk_time_now_ms());
		f = sse_frame("snapshot", snap);
		free(snap);
		s->seq = w->seq;
		s->snapshot_sent = true;
		return f;
	}
	if (w->seq > s->seq) {
		s->seq++;
		return sse_frame("delta", w->ring[s->seq % HUB_RING]);
	}
	return NULL;
}

static long stream_read(void *opaque, char *buf, size_t max)
{
	struct con_stream *s = opaque;
	struct con_web *w = s->w;
	int64_t deadline = wk_time_mono_ms() + KEEPALIVE_MS;
	size_t n;

	while (s->off == s->len) {
		char *f = NULL;

		free(s->pending);
		s->pending = NULL;
		s->off = s->len = 0;
		pthread_mutex_lock(&w->lock);
		while (!w->closing && !(f = next_frame(s))) {
			struct timespec ts;
			int64_t left = deadline - wk_time_mono_ms();

			if (left <= 0)
				break;
			clock_gettime(CLOCK_REALTIME, &ts);
			left = left > WAIT_SLICE_MS ? WAIT_SLICE_MS : left;
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		if (w->closing) {
			pthread_mutex_unlock(&w->lock);
			return -1;
		}
		pthread_mutex_unlock(&w->lock);
		if (!f) {
			f = wk_xstrdup(": keepalive\n\n");
			deadline = wk_time_mono_ms() + KEEPALIVE_MS;
		}
		s->pending = f;
		s->len = strlen(f);
	}
	n = s->len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->off, n);
	s->off += n;
	return (long)n;
}

static void stream_free(void *opaque)
{
	struct con_stream *s = opaque;
	struct con_web *w = s->w;

	free(s->pending);
	pthread_mutex_lock(&w->lock);
	w->clients--;
	pthread_mutex_unlock(&w->lock);
	free(s);
	web_unref(w);
}

static void serve_events(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	struct con_web *w = opaque;
	struct con_stream *s;
	bool full;

	(void)req;
	pthread_mutex_lock(&w->lock);
	full = w->clients >= w->max_clients || w->closing;
	if (!full) {
		w->clients++;
		w->refs++;
	}
	pthread_mutex_unlock(&w->lock);
	if (full) {
		send_text(resp, 503, NULL, "too many console streams (console.max-streams)\n", 47);
		return;
	}
	s = wk_xcalloc(1, sizeof(*s));
	s->w = w;
	resp->content_type = "text/event-stream";
	resp->stream.read = stream_read;
	resp->stream.free = stream_free;
	resp->stream.opaque = s;
}

/* ---- Kafka ---- */

static int tail_new(struct con_state *st, const struct wk_config *cfg, long long lookback_ms,
		    bool from_beginning, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *tp = NULL;
	char e[512];
	int64_t from = wk_time_now_ms() - lookback_ms;

	if (wk_kafka_conf_apply(conf, cfg, WK_KAFKA_CONSUMER, errstr, errstr_size) < 0) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	/* A view, not a member: no group join, nothing committed; every start reads the lookback
	 * window again, so a restart (or kill -9) loses nothing the topics still hold. */
	if (rd_kafka_conf_set(conf, "group.id", "wukong-console-tail", e, sizeof(e)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof(e)) ||
	    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", e, sizeof(e)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "false", e, sizeof(e))) {
		rd_kafka_conf_destroy(conf);
		return wk_err(errstr, errstr_size, "kafka: %s", e);
	}
	wk_kafka_conf_set_logging(conf);
	st->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!st->rk) {
		rd_kafka_conf_destroy(conf);
		return wk_err(errstr, errstr_size, "kafka: %s", e);
	}
	tp = rd_kafka_topic_partition_list_new(64);
	for (size_t i = 0; i < NTOPICS; i++) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_topic_t *t = rd_kafka_topic_new(st->rk, st->topics[i], NULL);
		rd_kafka_resp_err_t err = rd_kafka_metadata(st->rk, 0, t, &md, 10000);

		rd_kafka_topic_destroy(t);
		if (err || !md || md->topic_cnt != 1 || md->topics[0].err) {
			wk_err(errstr, errstr_size, "cannot read the partitions of topic '%s': %s",
			       st->topics[i],
			       err ? rd_kafka_err2str(err)
				   : (md && md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
							       : "no metadata"));
			if (md)
				rd_kafka_metadata_destroy(md);
			goto fail;
		}
		for (int p = 0; p < md->topics[0].partition_cnt; p++)
			rd_kafka_topic_partition_list_add(tp, st->topics[i], p)->offset = from;
		rd_kafka_metadata_destroy(md);
	}
	/* Offsets for the start of the window (the end of a partition with nothing newer). The
	 * embedded broker (librdkafka's mock cluster) answers no timestamp look-up: there the whole
	 * topic is read (console.from-beginning, which wukongctl up sets). */
	if (from_beginning) {
		for (int i = 0; i < tp->cnt; i++)
			tp->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
	} else if (rd_kafka_offsets_for_times(st->rk, tp, 10000)) {
		wk_err(errstr, errstr_size, "cannot look up the offsets of the lookback window");
		goto fail;
	}
	for (int i = 0; i < tp->cnt && !from_beginning; i++)
		if (tp->elems[i].offset < 0)
			tp->elems[i].offset = RD_KAFKA_OFFSET_END;
	if (rd_kafka_assign(st->rk, tp)) {
		wk_err(errstr, errstr_size, "cannot assign the console's partitions");
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(tp);
	return 0;
fail:
	if (tp)
		rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(st->rk);
	st->rk = NULL;
	return -1;
}

static enum con_topic topic_of(const struct con_state *st, const char *name)
{
	for (int i = 0; i < NTOPICS; i++)
		if (!strcmp(st->topics[i], name))
			return (enum con_topic)i;
	return CON_EVENTS;
}

static void count(struct con_state *st, const char *result)
{
	const char *v[] = {result};

	wk_metric_inc(st->m_msgs, v, 1);
}

static void take(struct con_state *st, const rd_kafka_message_t *m)
{
	char type[256] = "", subject[512] = "", tbuf[64] = "", key[512] = "", err[256];
	int64_t t = 0;
	int rc;

	wk_kafka_header_copy(m, "ce_type", type, sizeof(type));
	wk_kafka_header_copy(m, "ce_subject", subject, sizeof(subject));
	if (wk_kafka_header_copy(m, "ce_time", tbuf, sizeof(tbuf)) < 0 ||
	    wk_time_parse_ms(tbuf, &t) < 0)
		t = rd_kafka_message_timestamp(m, NULL);
	if (t <= 0)
		t = wk_time_now_ms();
	if (m->key && m->key_len < sizeof(key)) {
		memcpy(key, m->key, m->key_len);
		key[m->key_len] = '\0';
	}
	pthread_mutex_lock(&st->web->lock);
	rc = con_model_apply(st->web->model, topic_of(st, rd_kafka_topic_name(m->rkt)), key,
			     type[0] ? type : NULL, subject[0] ? subject : NULL, t, m->payload,
			     m->len, err, sizeof(err));
	pthread_mutex_unlock(&st->web->lock);
	if (rc < 0) {
		count(st, "malformed");
		wk_debug("skipped a message of '%s' at offset %lld: %s",
			 rd_kafka_topic_name(m->rkt), (long long)m->offset, err);
	} else {
		count(st, rc ? "applied" : "ignored");
	}
}

static void push(struct con_state *st)
{
	struct con_web *w = st->web;
	struct con_stats s;
	char *d;
	const char *v[1];

	pthread_mutex_lock(&w->lock);
	con_model_expire(w->model, wk_time_now_ms());
	d = con_model_delta(w->model, wk_time_now_ms());
	if (d) {
		uint64_t seq = con_model_seq(w->model);
		char **slot = &w->ring[seq % HUB_RING];

		if (*slot) {
			w->ring_bytes -= strlen(*slot);
			free(*slot);
		}
		*slot = d;
		w->ring_bytes += strlen(d);
		w->seq = seq;
		if (!w->oldest || seq - w->oldest >= HUB_RING)
			w->oldest = seq - (seq > HUB_RING - 1 ? HUB_RING - 1 : seq - 1);
		/* A byte budget too: the oldest deltas go, a browser that needed them gets a
		 * snapshot (next_frame). */
		while (w->ring_bytes > HUB_BYTES_MAX && w->oldest < seq) {
			char **old = &w->ring[w->oldest % HUB_RING];

			if (*old) {
				w->ring_bytes -= strlen(*old);
				free(*old);
				*old = NULL;
			}
			w->oldest++;
		}
		pthread_cond_broadcast(&w->cond);
	}
	con_model_stats(w->model, &s);
	v[0] = "nodes";
	wk_metric_set(st->m_entities, v, (double)s.nodes);
	v[0] = "vms";
	wk_metric_set(st->m_entities, v, (double)s.vms);
	v[0] = "operations";
	wk_metric_set(st->m_entities, v, (double)s.ops);
	v[0] = "drains";
	wk_metric_set(st->m_entities, v, (double)s.drains);
	v[0] = "audit";
	wk_metric_set(st->m_entities, v, (double)s.audit);
	wk_metric_set(st->m_clients, NULL, w->clients);
	pthread_mutex_unlock(&w->lock);
	if (d)
		wk_metric_inc(st->m_push, NULL, 1);
}

/* ---- service callbacks ---- */

int con_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct wk_httpd *h = wk_service_httpd(ctx);
	struct con_state *st;
	struct con_limits lim;
	long long lookback, push_ms, streams, keep, audit_max;
	bool from_beginning = false;
	char e[512];

	con_limits_default(&lim);
	if (wk_config_get_duration_ms(cfg, "console.lookback", 24LL * 3600 * 1000, &lookback, e,
				      sizeof(e)) < 0 ||
	    wk_config_get_duration_ms(cfg, "console.push-interval", 250, &push_ms, e, sizeof(e)) <
		0 ||
	    wk_config_get_duration_ms(cfg, "console.keep-finished", lim.keep_finished_ms, &keep, e,
				      sizeof(e)) < 0 ||
	    wk_config_get_int(cfg, "console.max-streams", 32, &streams, e, sizeof(e)) < 0 ||
	    wk_config_get_bool(cfg, "console.from-beginning", false, &from_beginning, e,
			       sizeof(e)) < 0 ||
	    wk_config_get_int(cfg, "console.audit-records", (long long)lim.audit, &audit_max, e,
			      sizeof(e)) < 0)
		return wk_err(errstr, errstr_size, "%s", e);
	if (push_ms < 50 || push_ms > 10000)
		return wk_err(errstr, errstr_size,
			      "key 'console.push-interval': %lld ms is outside 50ms..10s", push_ms);
	if (streams < 1 || streams > 60)
		return wk_err(errstr, errstr_size,
			      "key 'console.max-streams': %lld is outside 1..60 (the endpoint "
			      "serves 64 connections)",
			      streams);
	if (audit_max < 100 || audit_max > 1000000)
		return wk_err(errstr, errstr_size,
			      "key 'console.audit-records': %lld is outside 100..1000000",
			      audit_max);
	if (lookback < 0)
		return wk_err(errstr, errstr_size, "key 'console.lookback': negative");
	if (!h)
		return wk_err(errstr, errstr_size,
			      "http.listen is empty: the console is served on the HTTP endpoint");
	lim.keep_finished_ms = keep;
	lim.audit = (size_t)audit_max;
	st = wk_xcalloc(1, sizeof(*st));
	for (size_t i = 0; i < NTOPICS; i++)
		wk_kafka_topic(cfg, con_topics[i], st->topics[i], sizeof(st->topics[i]));
	st->push_ms = push_ms;
	st->web = wk_xcalloc(1, sizeof(*st->web));
	pthread_mutex_init(&st->web->lock, NULL);
	pthread_cond_init(&st->web->cond, NULL);
	st->web->refs = 1;
	st->web->max_clients = (int)streams;
	st->web->model = con_model_new(&lim);
	if (tail_new(st, cfg, lookback, from_beginning, errstr, errstr_size) < 0) {
		web_unref(st->web);
		free(st);
		return -1;
	}
	st->m_msgs =
	    wk_metric_counter("wukong_console_inputs_total",
			      "messages read from the topics, by what became of them", "result");
	st->m_clients = wk_metric_gauge("wukong_console_streams", "open event streams", NULL);
	st->m_entities = wk_metric_gauge("wukong_console_entities", "what the view holds", "kind");
	st->m_push = wk_metric_counter("wukong_console_deltas_total", "deltas pushed", NULL);
	/* Every handler holds a reference the endpoint drops after its last connection ended. */
	web_ref(st->web);
	if (wk_httpd_handle_owned(h, "/", serve_asset, st->web, web_unref) < 0) {
		web_unref(st->web);
		goto fail_http;
	}
	web_ref(st->web);
	if (wk_httpd_handle_owned(h, "/api/", serve_api, st->web, web_unref) < 0) {
		web_unref(st->web);
		goto fail_http;
	}
	web_ref(st->web);
	if (wk_httpd_handle_owned(h, "/api/events", serve_events, st->web, web_unref) < 0) {
		web_unref(st->web);
		goto fail_http;
	}
	wk_service_set_state(ctx, st);
	wk_service_set_ready(ctx, true);
	if (from_beginning)
		wk_info("console on http://%s/ (reading the topics from their beginning)",
			wk_httpd_addr(h));
	else
		wk_info("console on http://%s/ (lookback %lld s)", wk_httpd_addr(h),
			lookback / 1000);
	return 0;
fail_http:
	rd_kafka_destroy(st->rk);
	web_unref(st->web);
	free(st);
	return wk_err(errstr, errstr_size, "cannot register the console's HTTP handlers");
}

void con_on_tick(struct wk_service_ctx *ctx)
{
	struct con_state *st = wk_service_state(ctx);
	int64_t start = wk_time_mono_ms();
	int n = 0;

	if (!st)
		return;
	while (n < POLL_MAX_MESSAGES && wk_time_mono_ms() - start < POLL_BUDGET_MS) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, 0);

		if (!m)
			break;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				wk_warn("kafka: %s", rd_kafka_message_errstr(m));
		} else {
			take(st, m);
		}
		rd_kafka_message_destroy(m);
		n++;
	}
	if (wk_time_mono_ms() - st->last_push >= st->push_ms) {
		st->last_push = wk_time_mono_ms();
		push(st);
	}
}

void con_term(struct wk_service_ctx *ctx)
{
	struct con_state *st = wk_service_state(ctx);

	if (!st)
		return;
	/* Streams end at their next wake-up; the endpoint's stop then finds no one waiting. */
	pthread_mutex_lock(&st->web->lock);
	st->web->closing = true;
	pthread_cond_broadcast(&st->web->cond);
	pthread_mutex_unlock(&st->web->lock);
	rd_kafka_consumer_close(st->rk);
	rd_kafka_destroy(st->rk);
	web_unref(st->web);
	free(st);
	wk_service_set_state(ctx, NULL);
}
