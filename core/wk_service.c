/* wk_service.c - the main loop every service binary hands control to: argv, config, logging,
 * signals, Kafka consumer/producer, at-least-once offset bookkeeping, HTTP endpoint, tick, drain.
 *
 * Offsets: DONE and REJECT (after the dead letter is acknowledged by the broker) store offset+1
 * at once unless messages of the same partition are still PENDING; then they queue behind them
 * and wk_service_ack() stores the highest offset below which everything is finished, so a commit
 * never skips an unfinished message. RETRY pauses the partition, seeks back to the message and
 * resumes it after an exponential backoff; other partitions keep flowing.
 */
#include "wk_service.h"
#include "wk_authz.h"
#include "wk_config.h"
#include "wk_httpd.h"
#include "wk_k8s.h"
#include "wk_lease.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_version.h"
#include "wk_name.h"
#include "wk_time.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_CONFIG 3
#define POLL_MS 100
#define PENDING_MAX 10000 /* per partition; past it a message is retried later instead */
#define TOPICS_MAX 80
#define TOPIC_MAX 256

struct inflight {
	int64_t offset;
	bool done;
};

struct part {
	char *topic;
	int32_t partition;
	/* RETRY state */
	bool paused;
	int64_t retry_offset;
	int64_t resume_at_ms;
	int attempts;
	/* PENDING messages and those finished behind them, in offset order */
	struct inflight *q;
	size_t qhead, qlen, qalloc;
};

struct wk_service_ctx {
	const struct wk_service *svc;
	struct wk_config *cfg;
	struct wk_producer *producer;
	struct wk_consumer *consumer;
	struct wk_httpd *httpd;
	void *state;
	char dlq_topic[TOPIC_MAX];
	char metric_prefix[64];
	bool stop;
	int exit_code;
	bool reports_off; /* after the final flush: delivery reports no longer reach on_delivery */
	long long backoff_ms, backoff_max_ms, max_retries;
	struct part *parts;
	size_t nparts;
	/* The message on_message is handling now, so that acking it from inside on_message works.
	 */
	const rd_kafka_message_t *current;
	bool current_acked;
	struct wk_metric *m_messages, *m_dlq, *m_loops, *m_tick, *m_handle, *m_pending, *m_ready,
	    *m_retry_paused, *m_start, *m_leader;
	/* consumer, created after the lease is held (svc->lease) */
	char topic_names[TOPICS_MAX][TOPIC_MAX];
	size_t ntopics;
	/* svc->lease */
	bool lease_on;
	struct wk_lease lease;
	struct wk_k8s *lease_k8s;
	int64_t next_lease_ms;
	bool init_called; /* term is called only when init was */
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* ---- accessors ---- */

const struct wk_config *wk_service_config(struct wk_service_ctx *ctx)
{
	return ctx->cfg;
}

struct wk_producer *wk_service_producer(struct wk_service_ctx *ctx)
{
	return ctx->producer;
}

struct wk_consumer *wk_service_consumer(struct wk_service_ctx *ctx)
{
	return ctx->consumer;
}

void *wk_service_state(struct wk_service_ctx *ctx)
{
	return ctx->state;
}

void wk_service_set_state(struct wk_service_ctx *ctx, void *state)
{
	ctx->state = state;
}

const char *wk_service_name(struct wk_service_ctx *ctx)
{
	return ctx->svc->name;
}

const char *wk_service_cluster_id(struct wk_service_ctx *ctx)
{
	return wk_config_get(ctx->cfg, "cluster.id", "local");
}

struct wk_httpd *wk_service_httpd(struct wk_service_ctx *ctx)
{
	return ctx->httpd;
}

void wk_service_set_ready(struct wk_service_ctx *ctx, bool ready)
{
	if (ctx->httpd)
		wk_httpd_set_ready(ctx->httpd, ready);
	wk_metric_set(ctx->m_ready, NULL, ready ? 1 : 0);
}

void wk_service_stop(struct wk_service_ctx *ctx, int exit_code)
{
	ctx->stop = true;
	ctx->exit_code = exit_code;
}

/* ---- per-partition bookkeeping ---- */

static struct part *part_get(struct wk_service_ctx *ctx, const char *topic, int32_t partition,
			     bool create)
{
	struct part *p;
	size_t i;

	for (i = 0; i < ctx->nparts; i++) {
		if (ctx->parts[i].partition == partition && !strcmp(ctx->parts[i].topic, topic))
			return &ctx->parts[i];
	}
	if (!create)
		return NULL;
	ctx->parts = wk_xrealloc(ctx->parts, (ctx->nparts + 1) * sizeof(*ctx->parts));
	p = &ctx->parts[ctx->nparts++];
	memset(p, 0, sizeof(*p));
	p->topic = wk_xstrdup(topic);
	p->partition = partition;
	return p;
}

static void pending_gauge(struct wk_service_ctx *ctx)
{
	size_t i, n = 0, j;

	for (i = 0; i < ctx->nparts; i++) {
		for (j = 0; j < ctx->parts[i].qlen; j++)
			n += !ctx->parts[i].q[ctx->parts[i].qhead + j].done;
	}
	wk_metric_set(ctx->m_pending, NULL, (double)n);
}

static void queue_push(struct part *p, int64_t offset, bool done)
{
	if (p->qhead + p->qlen == p->qalloc) {
		if (p->qhead) { /* reuse the consumed front first */
			memmove(p->q, p->q + p->qhead, p->qlen * sizeof(*p->q));
			p->qhead = 0;
		} else {
			p->qalloc = p->qalloc ? p->qalloc * 2 : 16;
			p->q = wk_xrealloc(p->q, p->qalloc * sizeof(*p->q));
		}
	}
	p->q[p->qhead + p->qlen++] = (struct inflight){.offset = offset, .done = done};
}

/* Store the offset after the longest finished run at the front of the queue. */
static void queue_drain(struct wk_service_ctx *ctx, struct part *p)
{
	int64_t last = -1;

	while (p->qlen && p->q[p->qhead].done) {
		last = p->q[p->qhead].offset;
		p->qhead++;
		p->qlen--;
	}
	if (p->qlen == 0)
		p->qhead = 0;
	if (last >= 0)
		wk_consumer_store_offset(ctx->consumer, p->topic, p->partition, last + 1);
}

/* A message is finished (DONE or dead-lettered). */
static void finish(struct wk_service_ctx *ctx, const rd_kafka_message_t *m)
{
	struct part *p = part_get(ctx, rd_kafka_topic_name(m->rkt), m->partition, false);

	if (p && p->attempts && m->offset >= p->retry_offset)
		p->attempts = 0;
	if (p && p->qlen) {
		queue_push(p, m->offset, true);
		queue_drain(ctx, p);
		return;
	}
	wk_consumer_store(ctx->consumer, m);
}

int wk_service_ack(struct wk_service_ctx *ctx, const char *topic, int32_t partition, int64_t offset)
{
	struct part *p;
	size_t i;

	if (ctx->current && ctx->current->partition == partition &&
	    ctx->current->offset == offset &&
	    !strcmp(rd_kafka_topic_name(ctx->current->rkt), topic)) {
		ctx->current_acked = true; /* durable before on_message even returned PENDING */
		return 0;
	}
	p = part_get(ctx, topic, partition, false);
	if (!p)
		return -1;
	for (i = 0; i < p->qlen; i++) {
		struct inflight *f = &p->q[p->qhead + i];

		if (f->offset == offset && !f->done) {
			f->done = true;
			queue_drain(ctx, p);
			pending_gauge(ctx);
			return 0;
		}
	}
	return -1;
}

static int pause_or_resume(struct wk_service_ctx *ctx, struct part *p, bool pause)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_t *rk = wk_consumer_handle(ctx->consumer);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
	err = pause ? rd_kafka_pause_partitions(rk, l) : rd_kafka_resume_partitions(rk, l);
	if (!err)
		err = l->elems[0].err;
	rd_kafka_topic_partition_list_destroy(l);
	if (err)
		wk_warn("%s '%s' [%d]: %s", pause ? "pause" : "resume", p->topic, (int)p->partition,
			rd_kafka_err2str(err));
	return err ? -1 : 0;
}

/* RETRY: pause the partition (librdkafka drops what it prefetched), rewind it to the message
 * and let it go again after the backoff. */
static void retry_later(struct wk_service_ctx *ctx, const rd_kafka_message_t *m)
{
	struct part *p = part_get(ctx, rd_kafka_topic_name(m->rkt), m->partition, true);
	long long delay = ctx->backoff_ms;
	int i;

	if (p->attempts && m->offset != p->retry_offset)
		p->attempts = 0;
	p->attempts++;
	for (i = 1; i < p->attempts && delay < ctx->backoff_max_ms; i++)
		delay *= 2;
	if (delay > ctx->backoff_max_ms)
		delay = ctx->backoff_max_ms;
	p->retry_offset = m->offset;
	p->resume_at_ms = wk_time_mono_ms() + delay;
	pause_or_resume(ctx, p, true);
	p->paused = true;
	wk_consumer_seek(ctx->consumer, p->topic, p->partition, m->offset);
	wk_metric_set(ctx->m_retry_paused, NULL, 1);
	wk_debug("retry '%s' [%d] offset %lld in %lld ms (attempt %d)", p->topic, (int)p->partition,
		 (long long)m->offset, delay, p->attempts);
}

/* Resume partitions whose backoff is over; returns ms until the next one is due (or max_ms). */
static int resume_due(struct wk_service_ctx *ctx, int max_ms)
{
	int64_t now = wk_time_mono_ms();
	size_t i, paused = 0;
	int wait = max_ms;

	for (i = 0; i < ctx->nparts; i++) {
		struct part *p = &ctx->parts[i];

		if (!p->paused)
			continue;
		if (p->resume_at_ms <= now) {
			/* Seek again: a rebalance in between may have moved the position. */
			wk_consumer_seek(ctx->consumer, p->topic, p->partition, p->retry_offset);
			pause_or_resume(ctx, p, false);
			p->paused = false;
			continue;
		}
		paused++;
		if (p->resume_at_ms - now < wait)
			wait = (int)(p->resume_at_ms - now);
	}
	wk_metric_set(ctx->m_retry_paused, NULL, (double)paused);
	return wait;
}

/* ---- one message ---- */

static const char *result_name(enum wk_msg_result r)
{
	switch (r) {
	case WK_MSG_DONE:
		return "done";
	case WK_MSG_RETRY:
		return "retry";
	case WK_MSG_PENDING:
		return "pending";
	case WK_MSG_REJECT:
		return "reject";
	}
	return "unknown";
}

static void handle(struct wk_service_ctx *ctx, rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	char reason[64] = "", detail[512] = "", err[512], key[256];
	enum wk_msg_result r;
	struct part *p = part_get(ctx, topic, m->partition, false);
	int64_t t0;

	if (p && p->paused)
		return; /* fetched before the pause took effect: it comes again after the seek */
	snprintf(key, sizeof(key), "%s/%d/%lld", topic, (int)m->partition, (long long)m->offset);
	if (m->len > WK_KAFKA_MAX_MESSAGE) {
		r = WK_MSG_REJECT;
		wk_strlcpy(reason, "RequestTooLarge", sizeof(reason));
		snprintf(detail, sizeof(detail), "message of %zu bytes exceeds the %d byte cap",
			 m->len, WK_KAFKA_MAX_MESSAGE);
	} else {
		t0 = wk_time_mono_ms();
		ctx->current = m;
		ctx->current_acked = false;
		r = ctx->svc->on_message(ctx, m, reason, sizeof(reason), detail, sizeof(detail));
		ctx->current = NULL;
		if (r == WK_MSG_PENDING && ctx->current_acked)
			r = WK_MSG_DONE;
		{
			const char *v[] = {topic};

			wk_metric_observe(ctx->m_handle, v,
					  (double)(wk_time_mono_ms() - t0) / 1000.0);
		}
	}
	if (r == WK_MSG_PENDING && p && p->qlen >= PENDING_MAX) {
		wk_logk(WK_LOG_WARN, key,
			"more than %d pending messages on this partition: retrying", PENDING_MAX);
		r = WK_MSG_RETRY;
	}
	{
		const char *v[] = {topic, result_name(r)};

		wk_metric_inc(ctx->m_messages, v, 1);
	}
	switch (r) {
	case WK_MSG_DONE:
		finish(ctx, m);
		break;
	case WK_MSG_PENDING:
		p = part_get(ctx, topic, m->partition, true);
		queue_push(p, m->offset, false);
		pending_gauge(ctx);
		break;
	case WK_MSG_RETRY:
		p = part_get(ctx, topic, m->partition, true);
		if (ctx->max_retries > 0 && p->attempts >= ctx->max_retries &&
		    p->retry_offset == m->offset) {
			wk_strlcpy(reason, "RetriesExhausted", sizeof(reason));
			snprintf(detail, sizeof(detail), "still failing after %d attempts",
				 p->attempts + 1);
			goto reject;
		}
		retry_later(ctx, m);
		break;
	case WK_MSG_REJECT:
	default:
		goto reject;
	}
	return;
reject:
	if (!reason[0])
		wk_strlcpy(reason, "HandlerError", sizeof(reason));
	wk_logk(WK_LOG_WARN, key, "dead-lettering message: %s: %s", reason, detail);
	if (wk_dlq_send(ctx->producer, ctx->dlq_topic, m, ctx->svc->name, reason, detail, err,
			sizeof(err)) < 0) {
		/* Without the dead letter the message must not be skipped: try it all again. */
		wk_logk(WK_LOG_ERROR, key, "dead letter to '%s' failed: %s", ctx->dlq_topic, err);
		retry_later(ctx, m);
		return;
	}
	{
		const char *v[] = {reason};

		wk_metric_inc(ctx->m_dlq, v, 1);
	}
	finish(ctx, m);
}

/* The producer's delivery callback when the service has on_delivery. */
static void delivered(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset,
		      void *opaque)
{
	struct wk_service_ctx *ctx = opaque;

	if (!ctx->reports_off)
		ctx->svc->on_delivery(ctx, msg_opaque, err, partition, offset);
}

/* ---- start-up ---- */

static void usage(const struct wk_service *svc, FILE *f)
{
	fprintf(
	    f,
	    "usage: %s [-c FILE] [-X key=value]... [-h] [--version]\n"
	    "\n"
	    "  -c, --config FILE   YAML configuration (default: $WUKONG_CONFIG)\n"
	    "  -X key=value        set a configuration key (repeatable; wins over file and env)\n"
	    "  -h, --help          this help\n"
	    "      --version       print the version\n"
	    "\n"
	    "Configuration order: file, then WUKONG_* environment, then -X.\n"
	    "See docs/configuration.md for the keys.\n"
	    "Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage, 3 configuration error.\n",
	    svc->name);
}

/* Write the bound address where tests (and humans) find it; rename makes it appear whole. */
static int write_addr_file(const char *path, const char *addr, char *errstr, size_t errstr_size)
{
	char *tmp = wk_xasprintf("%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	int rc = 0;

	if (!f || fprintf(f, "%s\n", addr) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		rc = wk_err(errstr, errstr_size, "cannot write http.addr-file '%s': %s", path,
			    strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

static void metrics_init(struct wk_service_ctx *ctx)
{
	static const double secs[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30};
	char n[128];
	const char *p = ctx->metric_prefix;

#define NAME(suffix) (snprintf(n, sizeof(n), "%s_%s", p, suffix), n)
	ctx->m_messages = wk_metric_counter(NAME("messages_total"),
					    "Kafka messages handled, by topic and result "
					    "(done, retry, pending, reject)",
					    "topic,result");
	ctx->m_dlq =
	    wk_metric_counter(NAME("dead_letters_total"),
			      "Messages sent to the dead-letter topic, by reason", "reason");
	ctx->m_loops = wk_metric_counter(NAME("loop_iterations_total"),
					 "Iterations of the service main loop", NULL);
	ctx->m_tick = wk_metric_gauge(NAME("last_tick_timestamp_seconds"),
				      "Wall-clock time of the last loop iteration", NULL);
	ctx->m_handle = wk_metric_histogram(NAME("message_handle_seconds"),
					    "Time spent in on_message, by topic", "topic", secs,
					    WK_ARRAY_SIZE(secs));
	ctx->m_pending =
	    wk_metric_gauge(NAME("pending_messages"),
			    "Messages accepted as PENDING and not yet acknowledged", NULL);
	ctx->m_retry_paused = wk_metric_gauge(NAME("retry_paused_partitions"),
					      "Partitions paused while a message waits for its "
					      "retry",
					      NULL);
	ctx->m_ready = wk_metric_gauge(NAME("ready"), "1 when /readyz answers 200", NULL);
	ctx->m_start = wk_metric_gauge(NAME("start_time_seconds"),
				       "Wall-clock time the service started", NULL);
#undef NAME
	wk_metric_set(ctx->m_start, NULL, (double)wk_time_now_ms() / 1000.0);
	{
		const char *v[] = {wk_build_version()};

		wk_metric_set(wk_metric_gauge("wukong_build_info",
					      "1, labelled with the build's version", "version"),
			      v, 1);
	}
	wk_metrics_process_enable(true);
}

static int parse_args(struct wk_service_ctx *ctx, int argc, char **argv, int *exit_code)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	const char *path = getenv("WUKONG_CONFIG");
	char **xs = wk_xcalloc((size_t)argc + 1, sizeof(char *));
	size_t nx = 0, i;
	char err[1024];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:X:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'X':
			xs[nx++] = optarg;
			break;
		case 'h':
			usage(ctx->svc, stdout);
			*exit_code = 0;
			goto out;
		case 'V':
			wk_version_print(stdout, ctx->svc->name);
			*exit_code = 0;
			goto out;
		default:
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", ctx->svc->name,
				argv[optind - 1]);
			usage(ctx->svc, stderr);
			*exit_code = EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", ctx->svc->name, argv[optind]);
		usage(ctx->svc, stderr);
		*exit_code = EXIT_USAGE;
		goto out;
	}
	*exit_code = EXIT_CONFIG;
	if (path && *path && wk_config_load_file(ctx->cfg, path, err, sizeof(err)) < 0)
		goto bad;
	if (wk_config_load_env(ctx->cfg, NULL, err, sizeof(err)) < 0)
		goto bad;
	for (i = 0; i < nx; i++) {
		if (wk_config_set_arg(ctx->cfg, xs[i], err, sizeof(err)) < 0)
			goto bad;
	}
	free(xs);
	return 0;
bad:
	wk_error("configuration: %s", err);
out:
	free(xs);
	return -1;
}

/* cluster.id as "{cluster}" expands to: "local" when unset or empty. */
static const char *cluster_or_local(const struct wk_config *cfg)
{
	const char *c = wk_config_get(cfg, "cluster.id", "");

	return *c ? c : "local";
}

/* tmpl with every "{cluster}" replaced; the caller frees it. */
static char *expand_cluster(const char *tmpl, const char *cluster)
{
	static const char tok[] = "{cluster}";
	size_t toklen = sizeof(tok) - 1, clen = strlen(cluster), n = 0, len;
	const char *p;
	char *out, *o;

	for (p = tmpl; (p = strstr(p, tok)); p += toklen)
		n++;
	len = strlen(tmpl) - n * toklen + n * clen;
	out = o = wk_xmalloc(len + 1);
	while ((p = strstr(tmpl, tok))) {
		memcpy(o, tmpl, (size_t)(p - tmpl));
		o += p - tmpl;
		memcpy(o, cluster, clen);
		o += clen;
		tmpl = p + toklen;
	}
	strcpy(o, tmpl);
	return out;
}

/* The service's defaults for every key the file, env and -X left unset. */
static void apply_defaults(struct wk_service_ctx *ctx)
{
	const char *const *d = ctx->svc->defaults;
	size_t i;

	for (i = 0; d && d[i]; i += 2) {
		char *v;

		if (!d[i + 1])
			WK_BUG("service '%s': default '%s' has no value", ctx->svc->name, d[i]);
		if (wk_config_get(ctx->cfg, d[i], NULL))
			continue;
		v = expand_cluster(d[i + 1], cluster_or_local(ctx->cfg));
		wk_config_set(ctx->cfg, d[i], v);
		free(v);
	}
}

/* One topic short name: "{cluster}" expanded, a "?KEY" condition checked. 1 = subscribe (name
 * in out), 0 = condition false, -1 = bad condition value or name too long (err filled). */
static int topic_name(const struct wk_config *cfg, const char *spec, char *out, size_t out_size,
		      char *err, size_t err_size)
{
	const char *q = strchr(spec, '?');
	char *shortname;
	bool on = true;
	int rc = 1;

	if (q && wk_config_get_bool(cfg, q + 1, false, &on, err, err_size) < 0)
		return -1;
	if (!on)
		return 0;
	shortname = expand_cluster(spec, cluster_or_local(cfg));
	if (q)
		shortname[strcspn(shortname, "?")] = '\0';
	if (shortname[0] == '^') {
		/* a regex subscription ("^requests\\.t\\..+"): the prefix goes in escaped */
		const char *prefix = wk_config_get(cfg, "topics.prefix", "wukong");
		size_t n = 0;

		out[n++] = '^';
		for (const char *c = prefix; *c && n + 4 < out_size; c++) {
			if (*c == '.' || *c == '-' || *c == '+')
				out[n++] = '\\';
			out[n++] = *c;
		}
		if (*prefix && n + 3 < out_size) {
			out[n++] = '\\';
			out[n++] = '.';
		}
		snprintf(out + n, out_size - n, "%s", shortname + 1);
	} else {
		wk_kafka_topic(cfg, shortname, out, out_size);
	}
	if (strlen(out) + 1 >= out_size)
		rc = wk_err(err, err_size, "topic name for '%s' longer than %zu bytes", shortname,
			    out_size - 2);
	free(shortname);
	return rc;
}

struct tenant_topics {
	const struct wk_config *cfg;
	char (*names)[TOPIC_MAX];
	size_t *n;
};

static void tenant_topic(const char *tenant, void *opaque)
{
	struct tenant_topics *tt = opaque;
	char shortname[TOPIC_MAX];

	if (*tt->n >= TOPICS_MAX) {
		wk_warn("more than %d topics: tenant '%s' not subscribed", TOPICS_MAX, tenant);
		return;
	}
	snprintf(shortname, sizeof(shortname), "%s%s",
		 wk_config_get(tt->cfg, "authz.tenant-topic-prefix", "requests.t."), tenant);
	wk_kafka_topic(tt->cfg, shortname, tt->names[*tt->n], TOPIC_MAX);
	(*tt->n)++;
}

/* Everything from config to Kafka; -1 with *exit_code set. */
static int start(struct wk_service_ctx *ctx, int *exit_code)
{
	const struct wk_config *cfg = ctx->cfg;
	const char *lvl, *listen, *addr_file, *cluster;
	enum wk_log_level level;
	long long liveness;
	char err[1024];
	size_t i, ntopics = 0;

	apply_defaults(ctx);
	lvl = wk_config_get(cfg, "log.level", "info");
	listen = wk_config_get(cfg, "http.listen", "127.0.0.1:0");
	addr_file = wk_config_get(cfg, "http.addr-file", NULL);
	cluster = wk_config_get(cfg, "cluster.id", NULL);
	*exit_code = EXIT_CONFIG;
	if (wk_log_level_parse(lvl, &level) < 0) {
		wk_error("%s: key 'log.level': unknown level '%s' (debug, info, warn, error)",
			 wk_config_origin(cfg, "log.level"), lvl);
		return -1;
	}
	wk_log_init(NULL, level);
	if (cluster && wk_name_check_label(cluster, err, sizeof(err)) < 0) {
		wk_error("%s: key 'cluster.id': %s", wk_config_origin(cfg, "cluster.id"), err);
		return -1;
	}
	if (wk_config_get_duration_ms(cfg, "consumer.retry-backoff", 200, &ctx->backoff_ms, err,
				      sizeof(err)) < 0 ||
	    wk_config_get_duration_ms(cfg, "consumer.retry-backoff-max", 30000,
				      &ctx->backoff_max_ms, err, sizeof(err)) < 0 ||
	    wk_config_get_int(cfg, "consumer.max-retries", 0, &ctx->max_retries, err, sizeof(err)) <
		0 ||
	    wk_config_get_duration_ms(cfg, "http.liveness-timeout", 60000, &liveness, err,
				      sizeof(err)) < 0) {
		wk_error("%s", err);
		return -1;
	}
	if (ctx->backoff_ms < 1)
		ctx->backoff_ms = 1;
	if (ctx->backoff_max_ms < ctx->backoff_ms)
		ctx->backoff_max_ms = ctx->backoff_ms;
	metrics_init(ctx);
	if (*listen) {
		ctx->httpd = wk_httpd_new_flags(listen, ctx->svc->http_flags, err, sizeof(err));
		if (!ctx->httpd) {
			wk_error("http.listen: %s", err);
			return -1;
		}
		wk_httpd_set_liveness_timeout(ctx->httpd, liveness);
		wk_info("serving /metrics /healthz /readyz on http://%s",
			wk_httpd_addr(ctx->httpd));
		if (addr_file && *addr_file &&
		    write_addr_file(addr_file, wk_httpd_addr(ctx->httpd), err, sizeof(err)) < 0) {
			wk_error("%s", err);
			*exit_code = EXIT_RUNTIME;
			return -1;
		}
	}
	wk_kafka_topic(cfg, "dlq", ctx->dlq_topic, sizeof(ctx->dlq_topic));
	ctx->producer =
	    wk_producer_new(cfg, ctx->svc->on_delivery ? delivered : NULL, ctx, err, sizeof(err));
	if (!ctx->producer) {
		wk_error("%s", err);
		return -1;
	}
	if (ctx->svc->topics) {
		for (i = 0; ctx->svc->topics[i]; i++) {
			int r;

			if (!strcmp(ctx->svc->topics[i], "{tenants}")) {
				/* one request topic per configured tenant (wk_authz.h) */
				struct tenant_topics tt = {cfg, ctx->topic_names, &ntopics};

				bool via_router = false;

				/* not when the router reads them (authz.router) */
				if (wk_config_get_bool(cfg, "authz.router", false, &via_router, err,
						       sizeof(err)) < 0) {
					wk_error("%s", err);
					return -1;
				}
				if (!via_router)
					wk_authz_tenant_names(cfg, tenant_topic, &tt);
				continue;
			}
			if (ntopics >= TOPICS_MAX)
				WK_BUG("service '%s' subscribes to more than %d topics",
				       ctx->svc->name, TOPICS_MAX);
			r = topic_name(cfg, ctx->svc->topics[i], ctx->topic_names[ntopics],
				       sizeof(ctx->topic_names[ntopics]), err, sizeof(err));
			if (r < 0) {
				wk_error("%s", err);
				return -1;
			}
			if (r > 0)
				ntopics++;
		}
		if (!ctx->svc->on_message)
			WK_BUG("service '%s' has topics but no on_message", ctx->svc->name);
		ctx->ntopics = ntopics;
	}
	return 0;
}

/* Join the consumer group (after the lease, when there is one: a standby is no member). */
static int start_consumer(struct wk_service_ctx *ctx)
{
	const char *ptrs[TOPICS_MAX];
	char err[1024];
	size_t i;

	if (!ctx->svc->topics)
		return 0;
	for (i = 0; i < ctx->ntopics; i++)
		ptrs[i] = ctx->topic_names[i];
	ctx->consumer =
	    wk_consumer_new(ctx->cfg, wk_config_get(ctx->cfg, "consumer.group", ctx->svc->name),
			    ptrs, ctx->ntopics, err, sizeof(err));
	if (!ctx->consumer) {
		wk_error("%s", err);
		return -1;
	}
	return 0;
}

/* "<prefix>.lease.<key>" */
static const char *lease_key(const struct wk_service_ctx *ctx, const char *key, char *out,
			     size_t out_size)
{
	snprintf(out, out_size, "%s.lease.%s", ctx->svc->lease, key);
	return out;
}

static int lease_setup(struct wk_service_ctx *ctx)
{
	const struct wk_config *cfg = ctx->cfg;
	struct wk_k8s_options o = {0};
	char err[1024], k[128], ident[256], name[254], ua[128];
	long long dur, renew, retry;
	bool on = false;

	if (!ctx->svc->lease)
		return 0;
	if (wk_config_get_bool(cfg, lease_key(ctx, "enabled", k, sizeof(k)), false, &on, err,
			       sizeof(err)) < 0) {
		wk_error("%s", err);
		return -1;
	}
	if (!on)
		return 0;
	if (wk_config_get_duration_ms(cfg, lease_key(ctx, "duration", k, sizeof(k)), 15000, &dur,
				      err, sizeof(err)) < 0 ||
	    wk_config_get_duration_ms(cfg, lease_key(ctx, "renew-deadline", k, sizeof(k)), 10000,
				      &renew, err, sizeof(err)) < 0 ||
	    wk_config_get_duration_ms(cfg, lease_key(ctx, "retry-period", k, sizeof(k)), 2000,
				      &retry, err, sizeof(err)) < 0) {
		wk_error("%s", err);
		return -1;
	}
	/* Short: a slow API must not hold the loop past the renew deadline. */
	o.request_timeout_ms = renew / 2 > 5000 ? 5000 : renew / 2 < 500 ? 500 : renew / 2;
	o.max_retries = 0;
	o.retry_after_max_s = 1;
	snprintf(ua, sizeof(ua), "%s/%s (lease)", ctx->svc->name, WK_VERSION);
	o.user_agent = ua;
	ctx->lease_k8s = wk_k8s_new_from_config(cfg, &o, err, sizeof(err));
	if (!ctx->lease_k8s) {
		wk_error("lease: %s", err);
		return -1;
	}
	wk_lease_identity(ident, sizeof(ident));
	snprintf(name, sizeof(name), "wukong-%s-%.63s", ctx->svc->lease,
		 wk_config_get(cfg, "cluster.id", "local"));
	wk_lease_init(&ctx->lease,
		      wk_config_get(cfg, lease_key(ctx, "identity", k, sizeof(k)), ident),
		      wk_config_get(cfg, lease_key(ctx, "namespace", k, sizeof(k)),
				    wk_k8s_namespace(ctx->lease_k8s)),
		      wk_config_get(cfg, lease_key(ctx, "name", k, sizeof(k)), name));
	ctx->lease.duration_s = (long)((dur + 999) / 1000);
	ctx->lease.renew_deadline_ms = (long)renew;
	ctx->lease.retry_ms = (long)retry;
	if (wk_lease_check(&ctx->lease, err, sizeof(err)) < 0) {
		wk_error("%s: %s", lease_key(ctx, "*", k, sizeof(k)), err);
		return -1;
	}
	ctx->lease_on = true;
	{
		char n[128];

		snprintf(n, sizeof(n), "%s_leader", ctx->metric_prefix);
		ctx->m_leader =
		    wk_metric_gauge(n, "1 while this instance holds the Lease and acts", NULL);
	}
	return 0;
}

/* Standby: try the lease every retry period until it is ours (0) or a signal comes (-1). */
static int lease_wait(struct wk_service_ctx *ctx)
{
	char err[512];
	int64_t since = wk_time_mono_ms(), last_try = 0, gap_max = 0;

	wk_info("standby: waiting for lease '%s/%s' as '%s'", ctx->lease.ns, ctx->lease.name,
		ctx->lease.identity);
	wk_service_set_ready(ctx, false);
	while (!got_signal) {
		int64_t t = wk_time_mono_ms(), next = t + ctx->lease.retry_ms;

		/* the longest time between two tries, load included: what a takeover waits past
		 * the lease's expiry at most (0 when the first try won) */
		if (last_try && t - last_try > gap_max)
			gap_max = t - last_try;
		last_try = t;
		if (wk_lease_step(&ctx->lease, ctx->lease_k8s, err, sizeof(err)) == 0 &&
		    wk_lease_valid(&ctx->lease, wk_time_mono_ms())) {
			wk_info("lease '%s/%s' acquired after %lld ms (a try every <= %lld ms): "
				"active",
				ctx->lease.ns, ctx->lease.name,
				(long long)(wk_time_mono_ms() - since), (long long)gap_max);
			wk_metric_set(ctx->m_leader, NULL, 1);
			wk_service_set_ready(ctx, true); /* init may say otherwise */
			ctx->next_lease_ms = wk_time_mono_ms() + ctx->lease.retry_ms;
			return 0;
		}
		wk_debug("lease: %s", err);
		while (!got_signal && wk_time_mono_ms() < next) {
			if (ctx->httpd)
				wk_httpd_heartbeat(ctx->httpd);
			wk_producer_poll(ctx->producer, POLL_MS);
		}
	}
	return -1;
}

/* Active: renew every retry period; past the renew deadline without one, stop acting at once
 * (client-go's OnStoppedLeading: exit, come back as a standby). */
static void lease_tick(struct wk_service_ctx *ctx, int64_t now)
{
	char err[512];

	if (!ctx->lease_on)
		return;
	if (now >= ctx->next_lease_ms) {
		ctx->next_lease_ms = now + ctx->lease.retry_ms;
		if (wk_lease_step(&ctx->lease, ctx->lease_k8s, err, sizeof(err)) < 0)
			wk_warn("lease renew: %s", err);
		now = wk_time_mono_ms();
	}
	if (!wk_lease_valid(&ctx->lease, now) && !ctx->stop) {
		wk_error("lease '%s/%s' lost (no renew within %ld ms): stopping", ctx->lease.ns,
			 ctx->lease.name, ctx->lease.renew_deadline_ms);
		wk_metric_set(ctx->m_leader, NULL, 0);
		wk_service_set_ready(ctx, false);
		wk_service_stop(ctx, EXIT_RUNTIME);
	}
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void run(struct wk_service_ctx *ctx)
{
	int64_t next_tick = wk_time_mono_ms() + ctx->svc->tick_ms;
	char err[512];

	while (!ctx->stop && !got_signal) {
		int64_t now = wk_time_mono_ms();
		int wait = POLL_MS;
		rd_kafka_message_t *m;

		if (ctx->httpd)
			wk_httpd_heartbeat(ctx->httpd);
		lease_tick(ctx, now);
		if (ctx->stop)
			break;
		wk_metric_inc(ctx->m_loops, NULL, 1);
		wk_metric_set(ctx->m_tick, NULL, (double)wk_time_now_ms() / 1000.0);
		if (wk_producer_poll(ctx->producer, 0) < 0) {
			wk_kafka_fatal(wk_producer_handle(ctx->producer), err, sizeof(err));
			wk_error("producer: fatal error: %s", err);
			wk_service_stop(ctx, EXIT_RUNTIME);
			break;
		}
		if (ctx->svc->tick_ms > 0 && ctx->svc->on_tick) {
			if (now >= next_tick) {
				ctx->svc->on_tick(ctx);
				next_tick = now + ctx->svc->tick_ms;
				if (ctx->stop || got_signal)
					break;
			}
			if (next_tick - now < wait)
				wait = (int)(next_tick - now > 0 ? next_tick - now : 0);
		}
		if (!ctx->consumer) {
			wk_producer_poll(ctx->producer, wait);
			continue;
		}
		wait = resume_due(ctx, wait);
		if (wk_kafka_fatal(wk_consumer_handle(ctx->consumer), err, sizeof(err)) < 0) {
			wk_error("consumer: fatal error: %s", err);
			wk_service_stop(ctx, EXIT_RUNTIME);
			break;
		}
		m = wk_consumer_poll(ctx->consumer, wait);
		if (!m)
			continue;
		handle(ctx, m);
		rd_kafka_message_destroy(m);
	}
}

static void shutdown_all(struct wk_service_ctx *ctx)
{
	size_t i;

	if (got_signal)
		wk_info("signal %d: draining", (int)got_signal);
	if (ctx->svc->term && ctx->init_called)
		ctx->svc->term(ctx);
	/* Every step is bounded (flush 5 s, commit 3 s, group leave 3-5 s) so that SIGTERM ends
	 * the process even when the broker is gone. A flush of term's own that timed out with
	 * nothing delivered since (the broker is gone) is not waited for a second time. */
	if (ctx->producer && !wk_producer_flush_timed_out(ctx->producer) &&
	    wk_producer_flush(ctx->producer, 5000) < 0)
		wk_warn("producer: %d message(s) not delivered at shutdown",
			wk_producer_outq_len(ctx->producer));
	/* What the service is told ends here: the consumer goes next (an on_delivery acking a
	 * message would find no consumer) and the service's state may be gone. */
	ctx->reports_off = true;
	if (ctx->consumer) {
		wk_consumer_commit(ctx->consumer);
		wk_consumer_destroy(ctx->consumer);
		ctx->consumer = NULL;
	}
	wk_producer_destroy(ctx->producer);
	ctx->producer = NULL;
	if (ctx->lease_on && wk_lease_valid(&ctx->lease, wk_time_mono_ms())) {
		char err[512];

		/* after the commit: the successor starts where this instance stopped */
		if (wk_lease_release(&ctx->lease, ctx->lease_k8s, err, sizeof(err)) < 0)
			wk_warn("lease release: %s", err);
		else
			wk_info("lease '%s/%s' released", ctx->lease.ns, ctx->lease.name);
	}
	wk_k8s_destroy(ctx->lease_k8s);
	ctx->lease_k8s = NULL;
	wk_httpd_destroy(ctx->httpd);
	ctx->httpd = NULL;
	for (i = 0; i < ctx->nparts; i++) {
		free(ctx->parts[i].topic);
		free(ctx->parts[i].q);
	}
	free(ctx->parts);
	ctx->parts = NULL;
	ctx->nparts = 0;
}

int wk_service_main(const struct wk_service *svc, int argc, char **argv)
{
	struct wk_service_ctx ctx;
	char err[1024];
	size_t i;
	int code = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.svc = svc;
	ctx.cfg = wk_config_new();
	got_signal = 0;
	wk_log_init(svc->name, WK_LOG_INFO);
	for (i = 0; svc->name[i] && i + 1 < sizeof(ctx.metric_prefix); i++) {
		char ch = svc->name[i];

		ctx.metric_prefix[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					       (ch >= '0' && ch <= '9' && i > 0)
					   ? ch
					   : '_';
	}
	if (parse_args(&ctx, argc, argv, &code) < 0)
		goto out;
	install_signals();
	if (start(&ctx, &code) < 0)
		goto drain;
	wk_info("%s %s started", svc->name, wk_build_version());
	if (lease_setup(&ctx) < 0) {
		code = EXIT_CONFIG;
		goto drain;
	}
	if (ctx.lease_on && lease_wait(&ctx) < 0)
		goto drain; /* a signal while standby: a clean exit */
	if (start_consumer(&ctx) < 0) {
		code = EXIT_CONFIG;
		goto drain;
	}
	ctx.init_called = true;
	if (svc->init && svc->init(&ctx, err, sizeof(err)) < 0) {
		wk_error("init: %s", err);
		code = EXIT_CONFIG;
		goto drain;
	}
	run(&ctx);
	code = ctx.exit_code;
drain:
	shutdown_all(&ctx);
	wk_info("%s stopped (exit %d)", svc->name, code);
out:
	wk_config_destroy(ctx.cfg);
	return code;
}
