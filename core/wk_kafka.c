/* wk_kafka.c - idempotent producer, at-least-once consumer and dead-letter helper on librdkafka. */
#include "wk_kafka.h"

#include "wk_config.h"
#include "wk_log.h"
#include "wk_time.h"

/* How long wk_producer_send keeps serving delivery reports while the local queue is full. */
#define QUEUE_FULL_WAIT_MS 1000
/* How long wk_producer_destroy waits for outstanding messages. */
#define DESTROY_FLUSH_MS 10000
/* How long wk_dlq_send waits for the broker to acknowledge the dead letter. */
#define DLQ_WAIT_MS 30000
/* Headroom over WK_KAFKA_MAX_MESSAGE for key, headers and framing in message.max.bytes. */
#define MESSAGE_OVERHEAD (64 * 1024)
/* Synchronous seek timeout. */
#define SEEK_TIMEOUT_MS 5000
/* How long wk_consumer_commit waits for the coordinator's answer: with the broker gone librdkafka
 * would wait for a coordinator forever (or for session.timeout.ms), and a service draining on
 * SIGTERM must exit in bounded time. */
#define COMMIT_WAIT_MS 3000
/* The same for the commit on revoke, which also runs inside wk_consumer_destroy's close. */
#define REVOKE_COMMIT_WAIT_MS 2000
/* How long wk_consumer_destroy serves the group leave before destroying without it. */
#define CLOSE_WAIT_MS 3000

/* A dead letter whose delivery wk_dlq_send waits for; its address is the message opaque, which
 * lets the delivery callback tell it apart from the caller's messages. */
struct dlq_wait {
	struct dlq_wait *next;
	bool done;
	bool abandoned; /* wk_dlq_send gave up waiting: the callback frees it */
	rd_kafka_resp_err_t err;
};

struct wk_producer {
	rd_kafka_t *rk;
	wk_delivery_cb *cb;
	void *opaque;
	struct dlq_wait *dlq_waits;
	bool flush_timed_out; /* the last wk_producer_flush left messages behind, no report since */
	unsigned long failed; /* delivery reports with an error since the last flush */
};

/* The offset stored and the offset known committed per partition, to say at shutdown what a
 * failed commit leaves uncommitted (librdkafka has no API for its stored offsets in 2.0.2). */
struct stored_off {
	char *topic;
	int32_t partition;
	int64_t stored;
	int64_t committed;
};

/* The answer to one bounded commit; heap-allocated because a commit we stopped waiting for may
 * still be answered later: abandoned ones are freed after rd_kafka_destroy. */
struct commit_wait {
	struct commit_wait *next;
	bool done;
	rd_kafka_resp_err_t err;
};

struct gap_pos {
	char *topic;
	int32_t partition;
	int64_t expect; /* -1 = unknown (no committed offset), GAP_UNREAD: not read yet */
};
#define GAP_UNREAD (-2)

struct wk_consumer {
	rd_kafka_t *rk;
	char *group;
	struct stored_off *offs;
	size_t noffs;
	struct commit_wait *abandoned;
	bool closing;
	bool commit_timed_out; /* the last bounded commit got no answer */
	struct wk_consumer *next_abandoned;
	wk_gap_cb *gap_cb; /* who is told of an input gap; NULL = no gap detection */
	void *gap_opaque;
	struct gap_pos *gp; /* the assigned partitions' next expected offsets */
	size_t ngp;
};

/* Consumers whose group leave never finished (broker gone): see wk_consumer_destroy. */
static struct wk_consumer *abandoned_consumers;

/* librdkafka's syslog levels onto ours: 0-2 error, 3-4 warning, 5-6 info, 7 debug. LOG_ERR (3)
 * is mostly transient connection failures that librdkafka retries by itself; what is fatal
 * arrives through error_cb and is logged as an error there. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum wk_log_level l = WK_LOG_DEBUG;

	if (level <= 2)
		l = WK_LOG_ERROR;
	else if (level <= 4)
		l = WK_LOG_WARN;
	else if (level <= 6)
		l = WK_LOG_INFO;

	wk_log(l, "rdkafka %s %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[512];
	rd_kafka_resp_err_t ferr;

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		ferr = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		wk_error("kafka fatal error on '%s': %s: %s", rd_kafka_name(rk),
			 rd_kafka_err2name(ferr), fatal);
		return;
	}
	/* Everything else librdkafka recovers from by itself (it keeps retrying); say so once. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		wk_warn("kafka: all brokers down for '%s' (retrying): %s", rd_kafka_name(rk),
			reason);
	else
		wk_warn("kafka error on '%s' (retrying): %s: %s", rd_kafka_name(rk),
			rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

void wk_kafka_conf_set_logging(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
}

static int conf_force(rd_kafka_conf_t *conf, const struct wk_config *cfg, enum wk_kafka_role role,
		      const char *key, const char *value, char *errstr, size_t errstr_size)
{
	char err[256];
	const char *user;

	user = wk_kafka_conf_user(cfg, role, key);
	if (user && strcmp(user, value))
		wk_warn("config key 'kafka.%s' is '%s'; '%s' is required and used instead", key,
			user, value);
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		return wk_err(errstr, errstr_size, "kafka setting '%s': %s", key, err);
	return 0;
}

static int conf_default(rd_kafka_conf_t *conf, const struct wk_config *cfg, enum wk_kafka_role role,
			const char *key, const char *value, char *errstr, size_t errstr_size)
{
	if (wk_kafka_conf_user(cfg, role, key))
		return 0;
	return conf_force(conf, NULL, role, key, value, errstr, errstr_size);
}

/* A librdkafka configuration for `role` from the "kafka." keys, with our callbacks; NULL on
 * error. */
static rd_kafka_conf_t *conf_build(const struct wk_config *cfg, enum wk_kafka_role role,
				   void *opaque, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (!cfg || !wk_config_get(cfg, "kafka.bootstrap.servers", NULL)) {
		rd_kafka_conf_destroy(conf);
		wk_err(errstr, errstr_size, "config key 'kafka.bootstrap.servers' is not set");
		return NULL;
	}
	if (wk_kafka_conf_apply(conf, cfg, role, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	wk_kafka_conf_set_logging(conf);
	rd_kafka_conf_set_opaque(conf, opaque);
	return conf;
}

int wk_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
	char fatal[512];
	rd_kafka_resp_err_t err;

	if (!rk)
		return 0;
	err = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	return wk_err(errstr, errstr_size, "kafka fatal error: %s: %s", rd_kafka_err2name(err),
		      fatal);
}

/* ---- producer ---- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct wk_producer *p = opaque;
	struct dlq_wait **pp;

	(void)rk;
	p->flush_timed_out = false; /* the broker answers */
	for (pp = &p->dlq_waits; *pp; pp = &(*pp)->next) {
		struct dlq_wait *w = *pp;

		if ((void *)w != m->_private)
			continue;
		*pp = w->next;
		if (w->abandoned) {
			if (m->err)
				wk_error("dead letter to '%s' failed after the wait: %s",
					 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
			free(w);
		} else {
			w->done = true;
			w->err = m->err;
		}
		return;
	}
	if (m->err) {
		p->failed++;
		/* The key names the object (see DESIGN "Messages"); log it so the loss is
		 * traceable. */
		char key[256] = "";

		if (m->key && m->key_len)
			snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
		wk_logk(WK_LOG_ERROR, key[0] ? key : NULL, "delivery to '%s' failed: %s",
			rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
	}
	if (p->cb)
		p->cb(m->_private, m->err, m->partition, m->offset, p->opaque);
}

size_t wk_kafka_partition_key_len(const void *key, size_t len)
{
	const char *k = key;
	int slashes = 0;

	for (size_t i = 0; k && i < len; i++)
		if (k[i] == '/' && ++slashes == 3)
			return i;
	return len;
}

/* murmur2_random (Java's default) over the key's partition part (wk_kafka_partition_key_len). */
static int32_t partition_cb(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
			    int32_t partition_cnt, void *rkt_opaque, void *msg_opaque)
{
	return rd_kafka_msg_partitioner_murmur2_random(rkt, key,
						       wk_kafka_partition_key_len(key, keylen),
						       partition_cnt, rkt_opaque, msg_opaque);
}

struct wk_producer *wk_producer_new(const struct wk_config *cfg, wk_delivery_cb *cb, void *opaque,
				    char *errstr, size_t errstr_size)
{
	struct wk_producer *p = wk_xcalloc(1, sizeof(*p));
	rd_kafka_conf_t *conf;
	char err[512];
	char mmb[32];

	p->cb = cb;
	p->opaque = opaque;
	conf = conf_build(cfg, WK_KAFKA_PRODUCER, p, errstr, errstr_size);
	if (!conf) {
		free(p);
		return NULL;
	}
	snprintf(mmb, sizeof(mmb), "%d", WK_KAFKA_MAX_MESSAGE + MESSAGE_OVERHEAD);
	if (conf_force(conf, cfg, WK_KAFKA_PRODUCER, "enable.idempotence", "true", errstr,
		       errstr_size) ||
	    conf_force(conf, cfg, WK_KAFKA_PRODUCER, "partitioner", "murmur2_random", errstr,
		       errstr_size) ||
	    conf_default(conf, cfg, WK_KAFKA_PRODUCER, "message.max.bytes", mmb, errstr,
			 errstr_size)) {
		rd_kafka_conf_destroy(conf);
		free(p);
		return NULL;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	{
		rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(conf);

		if (!tc) {
			tc = rd_kafka_topic_conf_new();
			rd_kafka_conf_set_default_topic_conf(conf, tc);
		}
		rd_kafka_topic_conf_set_partitioner_cb(tc, partition_cb);
	}
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!p->rk) {
		rd_kafka_conf_destroy(conf);
		free(p);
		wk_err(errstr, errstr_size, "kafka producer: %s", err);
		return NULL;
	}
	wk_debug("kafka producer '%s' created", rd_kafka_name(p->rk));
	return p;
}

int wk_producer_send(struct wk_producer *p, const struct wk_kafka_msg *m, void *msg_opaque,
		     char *errstr, size_t errstr_size)
{
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t err;
	int64_t deadline;

	if (!m->topic || !*m->topic)
		return wk_err(errstr, errstr_size, "no topic");
	if (m->value && m->value_len > WK_KAFKA_MAX_MESSAGE)
		return wk_err(errstr, errstr_size,
			      "message value of %zu bytes for '%s' exceeds the %d byte cap",
			      m->value_len, m->topic, WK_KAFKA_MAX_MESSAGE);
	if (wk_kafka_fatal(p->rk, errstr, errstr_size))
		return -1;
	if (m->nheaders) {
		hdrs = rd_kafka_headers_new(m->nheaders);
		for (size_t i = 0; i < m->nheaders; i++) {
			const struct wk_kafka_header *h = &m->headers[i];

			err = rd_kafka_header_add(hdrs, h->name, -1, h->value, h->len);
			if (err) {
				rd_kafka_headers_destroy(hdrs);
				return wk_err(errstr, errstr_size, "header '%s': %s", h->name,
					      rd_kafka_err2str(err));
			}
		}
	}
	deadline = wk_time_mono_ms() + QUEUE_FULL_WAIT_MS;
	for (;;) {
		/* Headers are owned by librdkafka only when producev succeeds. */
		err = rd_kafka_producev(
		    p->rk, RD_KAFKA_V_TOPIC(m->topic),
		    RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
		    RD_KAFKA_V_VALUE((void *)m->value, m->value ? m->value_len : 0),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
		    RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || wk_time_mono_ms() >= deadline)
			break;
		/* Serving delivery reports is what frees queue space. */
		rd_kafka_poll(p->rk, 100);
	}
	if (!err)
		return 0;
	if (hdrs)
		rd_kafka_headers_destroy(hdrs);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return wk_err(errstr, errstr_size,
			      "queue full: %d messages wait for '%s' (broker unreachable?)",
			      rd_kafka_outq_len(p->rk), m->topic);
	return wk_err(errstr, errstr_size, "produce to '%s': %s", m->topic, rd_kafka_err2str(err));
}

int wk_producer_poll(struct wk_producer *p, int timeout_ms)
{
	int n = rd_kafka_poll(p->rk, timeout_ms);

	return wk_kafka_fatal(p->rk, NULL, 0) ? -1 : n;
}

int wk_producer_flush(struct wk_producer *p, int timeout_ms)
{
	rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);

	unsigned long failed;

	p->flush_timed_out = rd_kafka_outq_len(p->rk) > 0;
	failed = p->failed;
	p->failed = 0;
	if (wk_kafka_fatal(p->rk, NULL, 0))
		return -1;
	return err == RD_KAFKA_RESP_ERR_NO_ERROR && !p->flush_timed_out && !failed ? 0 : -1;
}

int wk_producer_outq_len(struct wk_producer *p)
{
	return rd_kafka_outq_len(p->rk);
}

bool wk_producer_flush_timed_out(struct wk_producer *p)
{
	return p->flush_timed_out;
}

void wk_producer_destroy(struct wk_producer *p)
{
	int left;

	if (!p)
		return;
	/* A caller's flush that already timed out (broker gone) is not waited for twice. */
	if (!p->flush_timed_out)
		rd_kafka_flush(p->rk, DESTROY_FLUSH_MS);
	left = rd_kafka_outq_len(p->rk);
	if (left > 0)
		wk_error("kafka producer: %d messages not delivered, dropping them", left);
	rd_kafka_destroy(p->rk);
	while (p->dlq_waits) {
		struct dlq_wait *w = p->dlq_waits;

		p->dlq_waits = w->next;
		free(w);
	}
	free(p);
}

rd_kafka_t *wk_producer_handle(struct wk_producer *p)
{
	return p->rk;
}

/* ---- consumer ---- */

static struct stored_off *off_get(struct wk_consumer *c, const char *topic, int32_t partition,
				  bool create)
{
	for (size_t i = 0; i < c->noffs; i++)
		if (c->offs[i].partition == partition && !strcmp(c->offs[i].topic, topic))
			return &c->offs[i];
	if (!create)
		return NULL;
	c->offs = wk_xrealloc(c->offs, (c->noffs + 1) * sizeof(*c->offs));
	c->offs[c->noffs] = (struct stored_off){wk_xstrdup(topic), partition, -1, -1};
	return &c->offs[c->noffs++];
}

/* Remember what the broker acknowledged (auto-commits and our own commits). */
static void note_committed(struct wk_consumer *c, const rd_kafka_topic_partition_list_t *l)
{
	for (int i = 0; l && i < l->cnt; i++) {
		struct stored_off *o;

		if (l->elems[i].err || l->elems[i].offset < 0)
			continue;
		o = off_get(c, l->elems[i].topic, l->elems[i].partition, false);
		if (o && l->elems[i].offset > o->committed)
			o->committed = l->elems[i].offset;
	}
}

/* offset_commit_cb: the result of an auto-commit, served by rd_kafka_consumer_poll. */
static void auto_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			   rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	(void)rk;
	(void)err; /* per-partition errors are in offsets */
	note_committed(opaque, offsets);
}

/* The result of one commit_bounded() commit. */
static void bounded_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			      rd_kafka_topic_partition_list_t *offsets, void *commit_opaque)
{
	struct commit_wait *w = commit_opaque;

	note_committed(rd_kafka_opaque(rk), offsets);
	w->err = err;
	w->done = true;
}

/* "'topic' [p] N, ..." for every partition whose stored offset is not known committed. */
static size_t uncommitted(const struct wk_consumer *c, char *out, size_t out_size)
{
	size_t n = 0, len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->noffs; i++) {
		const struct stored_off *o = &c->offs[i];

		if (o->stored < 0 || o->stored <= o->committed)
			continue;
		if (len < out_size)
			len += (size_t)snprintf(out + len, out_size - len, "%s'%s' [%d] %lld",
						n ? ", " : "", o->topic, (int)o->partition,
						(long long)o->stored);
		n++;
	}
	return n;
}

/* Commit what is stored, waiting at most timeout_ms for the answer: 0 when committed or nothing
 * to commit, -1 (logged, with the offsets left uncommitted) otherwise. */
static int commit_bounded(struct wk_consumer *c, int timeout_ms, const char *why)
{
	struct commit_wait *w = wk_xcalloc(1, sizeof(*w));
	rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
	int64_t deadline = wk_time_mono_ms() + timeout_ms;
	rd_kafka_resp_err_t err;
	char left[1024];

	err = rd_kafka_commit_queue(c->rk, NULL, q, bounded_commit_cb, w);
	if (err) {
		w->done = true;
		w->err = err;
	}
	while (!w->done) {
		int64_t now = wk_time_mono_ms();

		if (now >= deadline)
			break;
		rd_kafka_queue_poll_callback(q, (int)(deadline - now < 100 ? deadline - now : 100));
	}
	rd_kafka_queue_destroy(q);
	if (!w->done) {
		/* Nobody serves q any more, but keep w until rd_kafka_destroy in case. */
		w->next = c->abandoned;
		c->abandoned = w;
		c->commit_timed_out = true;
		if (uncommitted(c, left, sizeof(left)))
			wk_warn(
			    "kafka group '%s': %s: no answer within %d ms (broker unreachable?); "
			    "not committed: %s",
			    c->group, why, timeout_ms, left);
		else
			wk_warn(
			    "kafka group '%s': %s: no answer within %d ms (broker unreachable?)",
			    c->group, why, timeout_ms);
		return -1;
	}
	err = w->err;
	free(w);
	c->commit_timed_out = false;
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		if (uncommitted(c, left, sizeof(left)))
			wk_warn("kafka group '%s': %s: %s; not committed: %s", c->group, why,
				rd_kafka_err2str(err), left);
		else
			wk_warn("kafka group '%s': %s: %s", c->group, why, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Gap detection (wk_consumer_set_gap_cb): the next offset expected per assigned partition, from
 * the committed offset at assignment and then from each message. Our topics with a gap callback
 * are neither compacted nor transactional, so their offsets are contiguous: a message past the
 * expected offset means the records in between are gone (retention, the broker's size limit)
 * and librdkafka's auto.offset.reset moved us on. */
static struct gap_pos *gap_find(struct wk_consumer *c, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < c->ngp; i++)
		if (c->gp[i].partition == partition && !strcmp(c->gp[i].topic, topic))
			return &c->gp[i];
	return NULL;
}

static void gap_clear(struct wk_consumer *c)
{
	for (size_t i = 0; i < c->ngp; i++)
		free(c->gp[i].topic);
	free(c->gp);
	c->gp = NULL;
	c->ngp = 0;
}

/* On assignment: the partitions whose committed offset is to be read (not from inside the
 * callback: librdkafka can't serve a blocking call there). */
static void gap_assigned(struct wk_consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
	gap_clear(c);
	c->gp = wk_xcalloc((size_t)parts->cnt + 1, sizeof(*c->gp));
	for (int i = 0; i < parts->cnt; i++) {
		c->gp[c->ngp].topic = wk_xstrdup(parts->elems[i].topic);
		c->gp[c->ngp].partition = parts->elems[i].partition;
		c->gp[c->ngp].expect = GAP_UNREAD;
		c->ngp++;
	}
}

/* The committed offset: where the partition resumed after its assignment (-1: none). */
static int64_t gap_committed(struct wk_consumer *c, const char *topic, int32_t partition)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;
	int64_t off;

	rd_kafka_topic_partition_list_add(l, topic, partition);
	err = rd_kafka_committed(c->rk, l, 5000);
	off = !err && !l->elems[0].err ? l->elems[0].offset : -1;
	if (err)
		wk_warn("kafka group '%s': committed offset of '%s' [%d] not read (%s): a gap "
			"at the start of this assignment would go unnoticed",
			c->group, topic, (int)partition, rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
	return off;
}

static void gap_check(struct wk_consumer *c, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct gap_pos *g = gap_find(c, topic, m->partition);

	if (!g)
		return;
	if (g->expect == GAP_UNREAD)
		g->expect = gap_committed(c, topic, m->partition);
	if (g->expect >= 0 && m->offset > g->expect) {
		wk_error("kafka: '%s' [%d]: offsets %lld..%lld are not in the log any more "
			 "(retention or the broker's size limit): resuming at %lld",
			 topic, (int)m->partition, (long long)g->expect, (long long)m->offset - 1,
			 (long long)m->offset);
		c->gap_cb(topic, m->partition, g->expect, m->offset - 1, c->gap_opaque);
	}
	g->expect = m->offset + 1; /* a seek back (retry) moves it back too */
}

void wk_consumer_set_gap_cb(struct wk_consumer *c, wk_gap_cb *cb, void *opaque)
{
	c->gap_cb = cb;
	c->gap_opaque = opaque;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct wk_consumer *c = opaque;
	rd_kafka_resp_err_t cerr;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		wk_info("kafka group '%s': assigned %d partition(s)", c->group, parts->cnt);
		if (c->gap_cb)
			gap_assigned(c, parts);
		cerr = rd_kafka_assign(rk, parts);
		if (cerr)
			wk_error("kafka group '%s': assign: %s", c->group, rd_kafka_err2str(cerr));
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		wk_info("kafka group '%s': revoking %d partition(s)", c->group, parts->cnt);
		/* Commit what is stored before another member takes over, so it does not redo the
		 * work; a lost assignment already belongs to someone else: don't commit. While
		 * closing after a commit that got no answer, another try would only delay the
		 * exit. */
		if (rd_kafka_assignment_lost(rk))
			wk_warn("kafka group '%s': assignment lost, not committing", c->group);
		else if (c->closing && c->commit_timed_out)
			wk_warn("kafka group '%s': not committing on revoke: the broker did not "
				"answer the last commit",
				c->group);
		else
			commit_bounded(c, REVOKE_COMMIT_WAIT_MS, "commit on revoke");
		gap_clear(c);
		rd_kafka_assign(rk, NULL);
		break;
	default:
		wk_error("kafka group '%s': rebalance error: %s", c->group, rd_kafka_err2str(err));
		rd_kafka_assign(rk, NULL);
		break;
	}
}

/* Messages served while closing (wk_consumer_destroy polls the close queue with callbacks; the
 * consumer queue is forwarded to it): not handled, their offsets not stored, so a later member
 * gets them again. Without this callback librdkafka (2.0.2) aborts on a message in that queue
 * ("rd_kafka_q_serve: assert: res != RD_KAFKA_OP_RES_PASS"): a service stopped while
 * messages were prefetched died of SIGABRT. wk_consumer_poll returns messages as before. */
static void close_consume_cb(rd_kafka_message_t *m, void *opaque)
{
	(void)opaque;
	if (!m->err)
		wk_debug("kafka: message at '%s' [%d] offset %lld left unhandled at close",
			 m->rkt ? rd_kafka_topic_name(m->rkt) : "", (int)m->partition,
			 (long long)m->offset);
}

struct wk_consumer *wk_consumer_new(const struct wk_config *cfg, const char *group_id,
				    const char *const *topics, size_t ntopics, char *errstr,
				    size_t errstr_size)
{
	const enum wk_kafka_role cr = WK_KAFKA_CONSUMER;
	struct wk_consumer *c = wk_xcalloc(1, sizeof(*c));
	rd_kafka_topic_partition_list_t *subs;
	rd_kafka_resp_err_t err;
	rd_kafka_conf_t *conf;
	char e[512];

	if (!group_id || !*group_id || !ntopics) {
		free(c);
		wk_err(errstr, errstr_size,
		       "kafka consumer needs a group id and at least one topic");
		return NULL;
	}
	c->group = wk_xstrdup(group_id);
	conf = conf_build(cfg, WK_KAFKA_CONSUMER, c, errstr, errstr_size);
	if (!conf)
		goto fail;
	if (conf_force(conf, NULL, cr, "group.id", group_id, errstr, errstr_size) ||
	    conf_force(conf, cfg, cr, "enable.auto.offset.store", "false", errstr, errstr_size) ||
	    conf_force(conf, cfg, cr, "enable.auto.commit", "true", errstr, errstr_size) ||
	    conf_force(conf, cfg, cr, "partition.assignment.strategy", "range", errstr,
		       errstr_size) ||
	    conf_default(conf, cfg, cr, "auto.offset.reset", "earliest", errstr, errstr_size) ||
	    conf_default(conf, cfg, cr, "session.timeout.ms", "6000", errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		goto fail;
	}
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, auto_commit_cb);
	rd_kafka_conf_set_consume_cb(conf, close_consume_cb);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!c->rk) {
		rd_kafka_conf_destroy(conf);
		wk_err(errstr, errstr_size, "kafka consumer: %s", e);
		goto fail;
	}
	rd_kafka_poll_set_consumer(c->rk);
	subs = rd_kafka_topic_partition_list_new((int)ntopics);
	for (size_t i = 0; i < ntopics; i++)
		rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(c->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (err) {
		wk_err(errstr, errstr_size, "kafka subscribe '%s': %s", topics[0],
		       rd_kafka_err2str(err));
		rd_kafka_destroy(c->rk);
		goto fail;
	}
	wk_info("kafka consumer in group '%s' subscribed to %zu topic(s)", group_id, ntopics);
	return c;
fail:
	free(c->group);
	free(c);
	return NULL;
}

rd_kafka_message_t *wk_consumer_poll(struct wk_consumer *c, int timeout_ms)
{
	int64_t deadline = wk_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int64_t left = deadline - wk_time_mono_ms();
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left : 0);

		if (!m)
			return NULL;
		if (!m->err) {
			if (c->gap_cb)
				gap_check(c, m);
			if (m->len > WK_KAFKA_MAX_MESSAGE)
				wk_warn(
				    "message at '%s' [%d] offset %lld has %zu bytes, over the %d "
				    "byte cap",
				    rd_kafka_topic_name(m->rkt), (int)m->partition,
				    (long long)m->offset, m->len, WK_KAFKA_MAX_MESSAGE);
			return m;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			wk_debug("kafka: end of partition %d", (int)m->partition);
		else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
			char e[512];

			wk_kafka_fatal(c->rk, e, sizeof(e));
			wk_error("kafka consumer: %s", e);
		} else
			wk_warn("kafka consumer error%s%s: %s", m->rkt ? " on " : "",
				m->rkt ? rd_kafka_topic_name(m->rkt) : "",
				rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		if (wk_time_mono_ms() >= deadline)
			return NULL;
	}
}

int wk_consumer_store_offset(struct wk_consumer *c, const char *topic, int32_t partition,
			     int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;
	char errstr[256];
	int rc = 0;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
	err = rd_kafka_offsets_store(c->rk, l);
	if (!err)
		err = l->elems[0].err;
	if (err) {
		/* In librdkafka 2.0.2 (checked in the shipped library) there are three answers:
		 * __STATE: the partition is not assigned (revoked meanwhile; its new owner redoes
		 * the message); __UNKNOWN_PARTITION: no such topic/partition on this handle; and
		 * __INVALID_ARG, returned for every partition, only when the handle has
		 * enable.auto.offset.store=true, i.e. a consumer not made by wk_consumer_new (which
		 * forces false): say so instead of the bare "Invalid argument". */
		wk_err(errstr, sizeof(errstr), "store offset %lld of '%s' [%d]: %s%s",
		       (long long)next_offset, topic, (int)partition, rd_kafka_err2str(err),
		       err == RD_KAFKA_RESP_ERR__INVALID_ARG
			   ? " (enable.auto.offset.store is on for this consumer)"
			   : "");
		wk_warn("%s", errstr);
		rc = -1;
	} else {
		struct stored_off *o = off_get(c, topic, partition, true);

		if (next_offset > o->stored)
			o->stored = next_offset;
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

int wk_consumer_store(struct wk_consumer *c, const rd_kafka_message_t *m)
{
	return wk_consumer_store_offset(c, rd_kafka_topic_name(m->rkt), m->partition,
					m->offset + 1);
}

int wk_consumer_seek(struct wk_consumer *c, const char *topic, int32_t partition, int64_t offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_error_t *error;
	rd_kafka_resp_err_t err;
	int rc = 0;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
	error = rd_kafka_seek_partitions(c->rk, l, SEEK_TIMEOUT_MS);
	if (error) {
		wk_warn("seek '%s' [%d] to %lld: %s", topic, (int)partition, (long long)offset,
			rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		rc = -1;
	} else if ((err = l->elems[0].err)) {
		wk_warn("seek '%s' [%d] to %lld: %s", topic, (int)partition, (long long)offset,
			rd_kafka_err2str(err));
		rc = -1;
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

int wk_consumer_commit(struct wk_consumer *c)
{
	return commit_bounded(c, COMMIT_WAIT_MS, "commit");
}

void wk_consumer_destroy(struct wk_consumer *c)
{
	rd_kafka_queue_t *q;
	rd_kafka_error_t *error;
	bool closed = false;

	if (!c)
		return;
	/* Serves the revoke (which commits) and leaves the group so the others rebalance at once,
	 * but only for CLOSE_WAIT_MS: rd_kafka_consumer_close() waits for a broker that may be
	 * gone. */
	c->closing = true;
	q = rd_kafka_queue_new(c->rk);
	error = rd_kafka_consumer_close_queue(c->rk, q);
	if (error) {
		wk_warn("kafka group '%s': close: %s", c->group, rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else {
		int64_t deadline = wk_time_mono_ms() + CLOSE_WAIT_MS;

		while (!(closed = rd_kafka_consumer_closed(c->rk)) && wk_time_mono_ms() < deadline)
			rd_kafka_queue_poll_callback(q, 100);
		if (!closed)
			wk_warn("kafka group '%s': leaving the group did not finish within %d ms "
				"(broker unreachable?); leaving the handle to process exit",
				c->group, CLOSE_WAIT_MS);
	}
	rd_kafka_queue_destroy(q);
	if (!closed) {
		/* rd_kafka_destroy_flags(NO_CONSUMER_CLOSE) still waits for the group to terminate,
		 * which waits for the unanswered commits: the handle is left to process exit
		 * (reachable from abandoned_consumers, so not a leak to valgrind). */
		c->next_abandoned = abandoned_consumers;
		abandoned_consumers = c;
		return;
	}
	rd_kafka_destroy(c->rk);
	while (c->abandoned) {
		struct commit_wait *w = c->abandoned;

		c->abandoned = w->next;
		free(w);
	}
	for (size_t i = 0; i < c->noffs; i++)
		free(c->offs[i].topic);
	free(c->offs);
	gap_clear(c);
	free(c->group);
	free(c);
}

rd_kafka_t *wk_consumer_handle(struct wk_consumer *c)
{
	return c->rk;
}

/* ---- headers, topics, dead letters ---- */

const char *wk_kafka_header(const rd_kafka_message_t *m, const char *name, size_t *len)
{
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t sz;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	if (rd_kafka_header_get_last(hdrs, name, &v, &sz) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	if (len)
		*len = v ? sz : 0;
	return v ? (const char *)v : ""; /* a null-valued header is present but empty */
}

int wk_kafka_header_copy(const rd_kafka_message_t *m, const char *name, char *out, size_t out_size)
{
	size_t len;
	const char *v = wk_kafka_header(m, name, &len);

	if (!v || len >= out_size) {
		if (out_size)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

int wk_kafka_headers_copy_str(const rd_kafka_headers_t *hdrs, const char *name, char *out,
			      size_t out_size)
{
	const void *v = NULL;
	size_t sz = 0;

	if (out_size)
		out[0] = '\0';
	if (!hdrs || rd_kafka_header_get_last(hdrs, name, &v, &sz) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	if (!v)
		sz = 0;
	if (sz >= out_size)
		return -1;
	if (sz)
		memcpy(out, v, sz);
	out[sz] = '\0';
	return 0;
}

void wk_kafka_topic(const struct wk_config *cfg, const char *shortname, char *out, size_t out_size)
{
	const char *prefix = cfg ? wk_config_get(cfg, "topics.prefix", "wukong") : "wukong";

	if (*prefix)
		snprintf(out, out_size, "%s.%s", prefix, shortname);
	else
		snprintf(out, out_size, "%s", shortname);
}

#define DLQ_EXTRA_HEADERS 8

int wk_dlq_send(struct wk_producer *p, const char *dlq_topic, const rd_kafka_message_t *orig,
		const char *service, const char *reason, const char *detail, char *errstr,
		size_t errstr_size)
{
	rd_kafka_headers_t *hdrs = NULL;
	struct wk_dlq_orig o;

	if (rd_kafka_message_headers(orig, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		hdrs = NULL;
	o.topic = orig->rkt ? rd_kafka_topic_name(orig->rkt) : "";
	o.partition = orig->partition;
	o.offset = orig->offset;
	o.key = orig->key;
	o.key_len = orig->key_len;
	o.value = orig->payload;
	o.value_len = orig->len;
	o.headers = hdrs;
	return wk_dlq_send_orig(p, dlq_topic, &o, service, reason, detail, errstr, errstr_size);
}

int wk_dlq_send_orig(struct wk_producer *p, const char *dlq_topic, const struct wk_dlq_orig *orig,
		     const char *service, const char *reason, const char *detail, char *errstr,
		     size_t errstr_size)
{
	const rd_kafka_headers_t *hdrs = orig->headers;
	struct wk_kafka_header *h;
	struct wk_kafka_msg msg = {0};
	struct dlq_wait *w;
	char part[16], off[24], ts[40], size[24];
	const char *otopic = orig->topic ? orig->topic : "";
	size_t n = 0, norig = 0;
	bool drop_value = orig->value && orig->value_len > WK_KAFKA_MAX_MESSAGE;
	int64_t deadline;
	int rc;

	if (hdrs)
		norig = rd_kafka_header_cnt(hdrs);
	h = wk_xcalloc(norig + DLQ_EXTRA_HEADERS, sizeof(*h));
	for (size_t i = 0; i < norig; i++) {
		const char *name;
		const void *v;
		size_t sz;

		if (rd_kafka_header_get_all(hdrs, i, &name, &v, &sz))
			break;
		/* A message dead-lettered twice keeps only the latest x-dlt-* story. */
		if (!strncmp(name, "x-dlt-", 6))
			continue;
		h[n++] = (struct wk_kafka_header){name, v, v ? (ssize_t)sz : 0};
	}
	snprintf(part, sizeof(part), "%d", (int)orig->partition);
	snprintf(off, sizeof(off), "%lld", (long long)orig->offset);
	wk_time_format_micro(wk_time_now_ms() * 1000, ts, sizeof(ts));
	h[n++] = (struct wk_kafka_header){"x-dlt-original-topic", otopic, -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-original-partition", part, -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-original-offset", off, -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-reason", reason ? reason : "HandlerError", -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-error", detail ? detail : "", -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-service", service ? service : "", -1};
	h[n++] = (struct wk_kafka_header){"x-dlt-time", ts, -1};
	if (drop_value) {
		/* Over the cap it can't be produced again; the original stays in its topic. */
		snprintf(size, sizeof(size), "%zu", orig->value_len);
		h[n++] = (struct wk_kafka_header){"x-dlt-original-size", size, -1};
	}
	msg.topic = dlq_topic;
	msg.key = orig->key;
	msg.key_len = orig->key_len;
	msg.value = drop_value ? NULL : orig->value;
	msg.value_len = drop_value ? 0 : orig->value_len;
	msg.headers = h;
	msg.nheaders = n;

	w = wk_xcalloc(1, sizeof(*w));
	rc = wk_producer_send(p, &msg, w, errstr, errstr_size);
	free(h);
	if (rc) {
		free(w);
		return -1;
	}
	w->next = p->dlq_waits;
	p->dlq_waits = w;
	/* The caller stores the original's offset right after this returns: the dead letter must be
	 * on the broker by then, or a crash would lose the message. */
	deadline = wk_time_mono_ms() + DLQ_WAIT_MS;
	while (!w->done && wk_time_mono_ms() < deadline) {
		rd_kafka_poll(p->rk, 100);
		if (!w->done && wk_kafka_fatal(p->rk, NULL, 0))
			break;
	}
	if (!w->done) {
		w->abandoned = true;
		return wk_err(errstr, errstr_size,
			      "dead letter to '%s' not acknowledged within %d ms", dlq_topic,
			      DLQ_WAIT_MS);
	}
	rc = w->err ? wk_err(errstr, errstr_size, "dead letter to '%s': %s", dlq_topic,
			     rd_kafka_err2str(w->err))
		    : 0;
	free(w);
	if (!rc)
		wk_info("dead-lettered '%s' [%s] offset %s to '%s': %s: %s", otopic, part, off,
			dlq_topic, reason ? reason : "HandlerError", detail ? detail : "");
	return rc;
}
