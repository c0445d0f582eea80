/* aud_service.c - wukong-audit: append each message's record, fsync in batches, then ack. */
#include "aud_event.h"
#include "aud_service.h"
#include "wk_config.h"
#include "wk_log.h"
#include "wk_metrics.h"

/* A message whose record is written but maybe not yet durable. */
struct aud_pending {
	const char *topic; /* one of the state's topic names */
	int32_t partition;
	int64_t offset;
	uint64_t seq; /* durable once the log's durable seq reaches it */
};

struct aud_state {
	struct wk_auditlog *log;
	char audit_topic[256], dlq_topic[256];
	struct aud_pending *q; /* ring */
	size_t head, n, cap;
	struct wk_metric *m_records, *m_dups, *m_errors, *m_seq, *m_durable, *m_gaps, *m_lost;
	struct wk_service_ctx *ctx;
	struct wk_auditlog_key key;
};

static struct aud_state state;

static const char *kafka_header(const void *msg, const char *name, size_t *len)
{
	return wk_kafka_header(msg, name, len);
}

static int cfg_int(const struct wk_config *cfg, const char *key, long long def, long long *out,
		   char *errstr, size_t errstr_size)
{
	if (wk_config_get_int(cfg, key, def, out, errstr, errstr_size))
		return -1;
	if (*out <= 0)
		return wk_err(errstr, errstr_size, "%s: key '%s' must be positive",
			      wk_config_origin(cfg, key), key);
	return 0;
}

static void on_gap(const char *topic, int32_t partition, int64_t from, int64_t to, void *opaque);

int aud_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct wk_auditlog_opts o = {0};
	long long batch, delay, age;

	o.dir = wk_config_get(cfg, "audit.dir", "audit");
	if (cfg_int(cfg, "audit.segment.bytes", WK_AUDITLOG_DEF_SEGMENT_BYTES, &o.segment_bytes,
		    errstr, errstr_size) ||
	    wk_config_get_duration_ms(cfg, "audit.segment.age", WK_AUDITLOG_DEF_SEGMENT_AGE_MS,
				      &age, errstr, errstr_size) ||
	    cfg_int(cfg, "audit.fsync.batch", WK_AUDITLOG_DEF_FSYNC_BATCH, &batch, errstr,
		    errstr_size) ||
	    wk_config_get_duration_ms(cfg, "audit.fsync.delay", WK_AUDITLOG_DEF_FSYNC_DELAY_MS,
				      &delay, errstr, errstr_size) ||
	    cfg_int(cfg, "audit.dedupe.window", WK_AUDITLOG_DEF_DEDUPE_WINDOW, &o.dedupe_window,
		    errstr, errstr_size))
		return -1;
	if (batch > 1000000 || delay <= 0 || delay > 60000 || age <= 0)
		return wk_err(
		    errstr, errstr_size,
		    "audit.fsync.batch must be 1..1000000, audit.fsync.delay 1ms..60s and "
		    "audit.segment.age positive");
	o.fsync_batch = (int)batch;
	o.fsync_delay_ms = (int)delay;
	o.segment_age_ms = age;
	memset(&state, 0, sizeof(state));
	{
		/* audit.key-file: the chain key (a mounted Secret); docs/audit.md "Keys". */
		const char *kf = wk_config_get(cfg, "audit.key-file", NULL);

		if (kf && *kf) {
			if (wk_auditlog_key_load(kf, &state.key, errstr, errstr_size))
				return -1;
			o.key = &state.key;
		}
	}
	state.log = wk_auditlog_new(&o, errstr, errstr_size);
	if (!state.log)
		return -1;
	wk_kafka_topic(cfg, "audit", state.audit_topic, sizeof(state.audit_topic));
	wk_kafka_topic(cfg, "dlq", state.dlq_topic, sizeof(state.dlq_topic));
	state.m_records = wk_metric_counter("wukong_audit_records_total",
					    "Audit records written, by kind", "kind");
	state.m_dups =
	    wk_metric_counter("wukong_audit_duplicates_total",
			      "Messages dropped as duplicates (same ce_source + ce_id)", NULL);
	state.m_errors = wk_metric_counter("wukong_audit_append_errors_total",
					   "Appends that failed (retried)", NULL);
	state.m_seq =
	    wk_metric_gauge("wukong_audit_last_seq", "Seq of the last record written", NULL);
	state.m_durable = wk_metric_gauge("wukong_audit_durable_seq",
					  "Seq of the last record known durable (fsync'd)", NULL);
	state.m_gaps = wk_metric_counter(
	    "wukong_audit_input_gaps_total",
	    "Input gaps: offsets removed from the broker before the log read them", "topic");
	state.m_lost = wk_metric_counter("wukong_audit_input_lost_messages_total",
					 "Messages in input gaps (never in the log)", "topic");
	state.ctx = ctx;
	if (wk_service_consumer(ctx))
		wk_consumer_set_gap_cb(wk_service_consumer(ctx), on_gap, &state);
	wk_service_set_state(ctx, &state);
	wk_service_set_ready(ctx, true);
	wk_info("audit log in '%s': fsync every %lld records or %lld ms, dedupe window %lld ids, "
		"%s%s",
		o.dir, batch, delay, o.dedupe_window, o.key ? "chain key " : "unkeyed chain",
		o.key ? state.key.kid : "");
	return 0;
}

/* The consumer found offsets removed before we read them: say so in the log itself (verify fails
 * on it until acknowledged). The record precedes every later message's record, so it is durable
 * before any of their offsets is acknowledged. */
static void on_gap(const char *topic, int32_t partition, int64_t from, int64_t to, void *opaque)
{
	struct aud_state *s = opaque;
	const char *t = !strcmp(topic, s->dlq_topic) ? s->dlq_topic : s->audit_topic;
	const char *const lt[] = {t};
	struct aud_rec r;
	char err[512];
	uint64_t seq;
	int rc;

	wk_metric_inc(s->m_gaps, lt, 1);
	wk_metric_inc(s->m_lost, lt, (double)(to - from + 1));
	aud_rec_init(&r);
	aud_make_gap(&r, t, partition, from, to);
	rc = wk_auditlog_append(s->log, &r.e, &seq, err, sizeof(err));
	aud_rec_release(&r);
	if (rc < 0 || rc == WK_AUDITLOG_REFUSED) {
		/* Nothing after the gap may be acknowledged before it is recorded: exit; the
		 * restart resumes at the committed offset and finds the gap again. */
		wk_error("audit log: input gap not recorded: %s: exiting", err);
		wk_service_stop(s->ctx, 1);
		return;
	}
	wk_error("input gap recorded as seq %llu: '%s' [%d] offsets %lld..%lld lost",
		 (unsigned long long)seq, t, (int)partition, (long long)from, (long long)to);
}

/* Acknowledge, in order, every message whose record is now durable. */
static void ack_durable(struct wk_service_ctx *ctx, struct aud_state *s)
{
	uint64_t durable = wk_auditlog_durable_seq(s->log);

	wk_metric_set(s->m_durable, NULL, (double)durable);
	while (s->n && s->q[s->head].seq <= durable) {
		struct aud_pending *p = &s->q[s->head];

		/* -1: the partition was revoked meanwhile; its new owner redelivers, dedupe
		 * drops the copy. */
		if (wk_service_ack(ctx, p->topic, p->partition, p->offset))
			wk_debug("ack %s [%d] offset %lld: not pending any more", p->topic,
				 (int)p->partition, (long long)p->offset);
		s->head = (s->head + 1) % s->cap;
		s->n--;
	}
}

static void push_pending(struct aud_state *s, const char *topic, int32_t partition, int64_t offset,
			 uint64_t seq)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		struct aud_pending *q = wk_xcalloc(ncap, sizeof(*q));

		for (size_t i = 0; i < s->n; i++)
			q[i] = s->q[(s->head + i) % s->cap];
		free(s->q);
		s->q = q;
		s->head = 0;
		s->cap = ncap;
	}
	s->q[(s->head + s->n) % s->cap] = (struct aud_pending){topic, partition, offset, seq};
	s->n++;
}

/* A failed fsync leaves the log unusable: exit, and let the restart recover from the file. */
static void fatal_if_failed(struct wk_service_ctx *ctx, struct aud_state *s, const char *err)
{
	if (wk_auditlog_failed(s->log)) {
		wk_error("audit log: %s: exiting so that a restart recovers the log", err);
		wk_service_stop(ctx, 1);
	}
}

enum wk_msg_result aud_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				  char *reason_code, size_t reason_size, char *detail,
				  size_t detail_size)
{
	struct aud_state *s = wk_service_state(ctx);
	const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
	bool dlq = !strcmp(topic, s->dlq_topic);
	struct aud_input in = {
	    .topic = dlq ? s->dlq_topic : s->audit_topic,
	    .partition = m->partition,
	    .offset = m->offset,
	    .value = m->payload,
	    .len = m->payload ? m->len : 0,
	    .header = kafka_header,
	    .msg = m,
	};
	struct aud_rec r;
	char err[512];
	uint64_t seq;
	int rc;

	(void)reason_code;
	(void)reason_size;
	(void)detail;
	(void)detail_size;
	aud_rec_init(&r);
	rc = aud_append(s->log, &r, dlq ? AUD_DEAD_LETTER : AUD_AUDIT_EVENT, &in, &seq, err,
			sizeof(err));
	if (rc < 0) {
		wk_metric_inc(s->m_errors, NULL, 1);
		wk_error("audit log: %s", err);
		fatal_if_failed(ctx, s, err);
		aud_rec_release(&r);
		return WK_MSG_RETRY;
	}
	if (rc == 1) {
		wk_metric_inc(s->m_dups, NULL, 1);
		wk_debug("duplicate %s [%d] offset %lld dropped", in.topic, (int)m->partition,
			 (long long)m->offset);
	} else {
		const char *kind[] = {r.e.kind ? r.e.kind : "event"};

		wk_metric_inc(s->m_records, kind, 1);
		wk_metric_set(s->m_seq, NULL, (double)seq);
	}
	aud_rec_release(&r);
	/* Acks for earlier messages only: the core queues this one after we return, so its own ack
	 * waits for the next tick (wk_service_ack can't find it yet). */
	ack_durable(ctx, s);
	push_pending(s, in.topic, m->partition, m->offset, seq);
	return WK_MSG_PENDING;
}

void aud_on_tick(struct wk_service_ctx *ctx)
{
	struct aud_state *s = wk_service_state(ctx);
	char err[512];

	if (!s || !s->log)
		return;
	if (wk_auditlog_sync_if_due(s->log, err, sizeof(err)) < 0) {
		fatal_if_failed(ctx, s, err);
		return;
	}
	ack_durable(ctx, s);
}

void aud_term(struct wk_service_ctx *ctx)
{
	struct aud_state *s = wk_service_state(ctx);
	char err[512];

	if (!s || !s->log)
		return;
	if (wk_auditlog_sync(s->log, err, sizeof(err)))
		wk_error("audit log: %s", err);
	else
		ack_durable(ctx, s);
	wk_auditlog_destroy(s->log);
	s->log = NULL;
	free(s->q);
	s->q = NULL;
	s->n = s->cap = s->head = 0;
}
