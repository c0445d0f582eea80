/* test_wk_kafka.c - topic names, config passthrough and enforcement, secrets, delivery reports,
 * queue-full handling, at-least-once resume in a group, seek, header helpers and dead letters,
 * all against an in-process librdkafka mock cluster.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_kafka.h"
#include "wk_log.h"
#include "wk_time.h"

#include "mock_kafka.h"

static struct mock_kafka mk;
static int group_seq;

/* Messages a test holds: freed by teardown too, so a failed assertion never leaves one behind
 * (rd_kafka_destroy waits for every message the application still holds). */
#define HELD_MAX 16
static rd_kafka_message_t *held[HELD_MAX];
/* Readers those messages came from: closed only after the messages are gone. */
static rd_kafka_t *readers[HELD_MAX];

static rd_kafka_t *hold_reader(rd_kafka_t *rk)
{
	assert_non_null(rk);
	for (int i = 0; i < HELD_MAX; i++) {
		if (!readers[i]) {
			readers[i] = rk;
			return rk;
		}
	}
	fail_msg("too many readers");
	return NULL;
}

static rd_kafka_message_t *hold(rd_kafka_message_t *m)
{
	for (int i = 0; i < HELD_MAX; i++) {
		if (!held[i]) {
			held[i] = m;
			return m;
		}
	}
	fail_msg("too many held messages");
	return NULL;
}

static void release_held(void)
{
	for (int i = 0; i < HELD_MAX; i++) {
		if (held[i])
			rd_kafka_message_destroy(held[i]);
		held[i] = NULL;
	}
	for (int i = 0; i < HELD_MAX; i++) {
		mock_kafka_reader_close(readers[i]);
		readers[i] = NULL;
	}
}

static int setup(void **state)
{
	(void)state;
	wk_log_init("test", getenv("TEST_LOG") ? WK_LOG_DEBUG : WK_LOG_ERROR);
	if (mock_kafka_start(&mk, 1))
		return -1;
	rd_kafka_mock_topic_create(mk.mc, "src", 1, 1);
	rd_kafka_mock_topic_create(mk.mc, "dlq", 1, 1);
	rd_kafka_mock_topic_create(mk.mc, "alo", 1, 1);
	rd_kafka_mock_topic_create(mk.mc, "dr", 3, 1);
	rd_kafka_mock_topic_create(mk.mc, "reb", 2, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mock_kafka_stop(&mk);
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	release_held();
	return 0;
}

static void unique_group(char *out, size_t size)
{
	snprintf(out, size, "test-wk-kafka-%d-%d", (int)getpid(), ++group_seq);
}

/* --- topic names --- */

static void topic_naming(void **state)
{
	struct wk_config *cfg = wk_config_new();
	char out[64];

	(void)state;
	wk_kafka_topic(NULL, "events", out, sizeof(out));
	assert_string_equal(out, "wukong.events");
	wk_kafka_topic(cfg, "requests.local", out, sizeof(out));
	assert_string_equal(out, "wukong.requests.local");
	wk_config_set(cfg, "topics.prefix", "t1");
	wk_kafka_topic(cfg, "dlq", out, sizeof(out));
	assert_string_equal(out, "t1.dlq");
	wk_config_set(cfg, "topics.prefix", "");
	wk_kafka_topic(cfg, "dlq", out, sizeof(out));
	assert_string_equal(out, "dlq");
	wk_config_set(cfg, "topics.prefix", "wukong");
	wk_kafka_topic(cfg, "events", out, 8); /* truncated, still terminated */
	assert_string_equal(out, "wukong.");
	wk_config_destroy(cfg);
}

/* --- configuration --- */

static void config_errors(void **state)
{
	struct wk_config *cfg = wk_config_new();
	const char *topics[] = {"src"};
	char err[512];

	(void)state;
	assert_null(wk_producer_new(cfg, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "kafka.bootstrap.servers"));
	assert_null(wk_consumer_new(cfg, "g", topics, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "kafka.bootstrap.servers"));

	wk_config_set(cfg, "kafka.bootstrap.servers", mk.bootstrap);
	assert_int_equal(wk_config_set_arg(cfg, "kafka.no.such.property=1", err, sizeof(err)), 0);
	assert_null(wk_producer_new(cfg, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "'kafka.no.such.property'"));
	assert_non_null(strstr(err, "-X")); /* where the bad value came from */
	wk_config_destroy(cfg);

	cfg = mock_kafka_config(&mk);
	wk_config_set(cfg, "kafka.linger.ms", "soon");
	assert_null(wk_producer_new(cfg, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "kafka.linger.ms"));
	wk_config_destroy(cfg);

	cfg = mock_kafka_config(&mk);
	assert_null(wk_consumer_new(cfg, "", topics, 1, err, sizeof(err)));
	assert_null(wk_consumer_new(cfg, "g", topics, 0, err, sizeof(err)));
	wk_config_destroy(cfg);
}

static void conf_expect(rd_kafka_t *rk, const char *key, const char *want)
{
	char v[128];
	size_t sz = sizeof(v);

	assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), key, v, &sz), RD_KAFKA_CONF_OK);
	if (strcmp(v, want))
		fail_msg("%s is '%s', want '%s'", key, v, want);
}

static void enforced_settings(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	const char *topics[] = {"src"};
	struct wk_producer *p;
	struct wk_consumer *c;
	char group[64];

	(void)state;
	unique_group(group, sizeof(group));
	wk_config_set(cfg, "kafka.enable.idempotence", "false");
	wk_config_set(cfg, "kafka.enable.auto.offset.store", "true");
	wk_config_set(cfg, "kafka.partition.assignment.strategy", "cooperative-sticky");
	wk_config_set(cfg, "kafka.auto.offset.reset", "latest");
	wk_config_set(cfg, "kafka.client.id", "passthrough-check");
	p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	assert_non_null(p);
	conf_expect(wk_producer_handle(p), "enable.idempotence", "true");
	conf_expect(wk_producer_handle(p), "client.id", "passthrough-check");
	conf_expect(wk_producer_handle(p), "message.max.bytes", "1114112");
	wk_producer_destroy(p);

	c = wk_consumer_new(cfg, group, topics, 1, NULL, 0);
	assert_non_null(c);
	conf_expect(wk_consumer_handle(c), "enable.auto.offset.store", "false");
	conf_expect(wk_consumer_handle(c), "enable.auto.commit", "true");
	conf_expect(wk_consumer_handle(c), "partition.assignment.strategy", "range");
	conf_expect(wk_consumer_handle(c), "session.timeout.ms", "6000");
	conf_expect(wk_consumer_handle(c), "group.id", group);
	conf_expect(wk_consumer_handle(c), "client.id", "passthrough-check");
	wk_consumer_destroy(c);

	/* Defaults yield to the configuration. */
	wk_config_set(cfg, "kafka.session.timeout.ms", "7000");
	c = wk_consumer_new(cfg, group, topics, 1, NULL, 0);
	assert_non_null(c);
	conf_expect(wk_consumer_handle(c), "session.timeout.ms", "7000");
	wk_consumer_destroy(c);
	wk_config_destroy(cfg);

	wk_producer_destroy(NULL);
	wk_consumer_destroy(NULL);
}

static void partitioner_is_murmur2(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p;
	rd_kafka_topic_conf_t *tc;
	char v[64];
	size_t sz = sizeof(v);

	(void)state;
	wk_config_set(cfg, "kafka.partitioner", "consistent_random");
	p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	assert_non_null(p);
	/* A topic-level property: read it back from the default topic configuration. */
	tc = rd_kafka_default_topic_conf_dup(wk_producer_handle(p));
	assert_int_equal(rd_kafka_topic_conf_get(tc, "partitioner", v, &sz), RD_KAFKA_CONF_OK);
	rd_kafka_topic_conf_destroy(tc);
	assert_string_equal(v, "murmur2_random");
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

static void secrets_are_redacted(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	wk_config_set(cfg, "kafka.sasl.password", "Hunter2-very-secret");
	wk_config_set(cfg, "kafka.ssl.key.password", "key-pass-0451");
	p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	assert_non_null(p);
	f = open_memstream(&out, &len);
	wk_log_set_stream(f);
	wk_log_emit(WK_LOG_ERROR, NULL, "config dump: %s %s", "Hunter2-very-secret",
		    "key-pass-0451");
	wk_log_set_stream(NULL);
	fclose(f);
	assert_null(strstr(out, "Hunter2"));
	assert_null(strstr(out, "key-pass-0451"));
	assert_non_null(strstr(out, "REDACTED"));
	free(out);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

/* --- producer --- */

struct dr_log {
	int n;
	void *opaque[8];
	rd_kafka_resp_err_t err[8];
	int32_t partition[8];
	int64_t offset[8];
};

static void record_dr(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset,
		      void *opaque)
{
	struct dr_log *l = opaque;

	if (l->n < 8) {
		l->opaque[l->n] = msg_opaque;
		l->err[l->n] = err;
		l->partition[l->n] = partition;
		l->offset[l->n] = offset;
	}
	l->n++;
}

static void delivery_reports(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct dr_log log = {0};
	struct wk_producer *p = wk_producer_new(cfg, record_dr, &log, NULL, 0);
	int tags[3];
	char err[256];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 3; i++) {
		struct wk_kafka_msg m = {.topic = "dr",
					 .key = "c1/ns/same-vm",
					 .key_len = 13,
					 .value = i == 2 ? NULL : "{}",
					 .value_len = 2};

		assert_int_equal(wk_producer_send(p, &m, &tags[i], err, sizeof(err)), 0);
	}
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	assert_int_equal(wk_producer_outq_len(p), 0);
	assert_int_equal(log.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(log.opaque[i], &tags[i]);
		assert_int_equal(log.err[i], 0);
		/* One key, one partition, consecutive offsets. */
		assert_int_equal(log.partition[i], log.partition[0]);
		assert_int_equal(log.offset[i], log.offset[0] + i);
	}
	assert_int_equal(wk_producer_poll(p, 0), 0);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

static void oversized_and_topicless_refused(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	char *big = wk_xcalloc(1, WK_KAFKA_MAX_MESSAGE + 1);
	struct wk_kafka_msg m = {
	    .topic = "dr", .value = big, .value_len = WK_KAFKA_MAX_MESSAGE + 1};
	char err[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds the 1048576 byte cap"));
	m.value_len = WK_KAFKA_MAX_MESSAGE;
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	m.topic = "";
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), -1);
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	free(big);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

/* A broker that is down: the queue fills, sends fail after about a second, and messages that
 * time out come back through the delivery report with an error. */
static void queue_full_and_failed_delivery(void **state)
{
	struct mock_kafka down = {0};
	struct wk_config *cfg;
	struct dr_log log = {0};
	struct wk_producer *p;
	struct wk_kafka_msg m = {
	    .topic = "t", .key = "k", .key_len = 1, .value = "{}", .value_len = 2};
	char err[256];
	int64_t t0;

	(void)state;
	assert_int_equal(mock_kafka_start(&down, 1), 0);
	rd_kafka_mock_topic_create(down.mc, "t", 1, 1);
	rd_kafka_mock_broker_set_down(down.mc, 1);
	cfg = mock_kafka_config(&down);
	wk_config_set(cfg, "kafka.queue.buffering.max.messages", "2");
	wk_config_set(cfg, "kafka.message.timeout.ms", "1500");
	p = wk_producer_new(cfg, record_dr, &log, NULL, 0);
	assert_non_null(p);
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	t0 = wk_time_mono_ms();
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), -1);
	assert_true(wk_time_mono_ms() - t0 >= 900);
	assert_non_null(strstr(err, "queue full"));
	/* A flush shorter than the timeouts leaves them behind: timed out, no report since. */
	assert_false(wk_producer_flush_timed_out(p));
	assert_int_equal(wk_producer_flush(p, 100), -1);
	assert_true(wk_producer_flush_timed_out(p));
	/* The timeouts come as reports, each message as failed; a served report clears it. */
	for (int i = 0; i < 100 && log.n < 2; i++)
		wk_producer_poll(p, 100);
	assert_false(wk_producer_flush_timed_out(p));
	assert_int_equal(wk_producer_flush(p, 10000), -1); /* they failed: not delivered */
	assert_int_equal(wk_producer_flush(p, 10000), 0);  /* nothing failed since */
	assert_int_equal(log.n, 2);
	assert_int_not_equal(log.err[0], 0);
	assert_int_not_equal(log.err[1], 0);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
	mock_kafka_stop(&down);
}

/* Issue 22 fault 3: a flush that ends because every message failed (broker gone past
 * message.timeout.ms) said 0, and the executors stored the offset of a refused submission whose
 * audit line was lost. A flush says 0 only when nothing failed since the last flush. */
static void flush_reports_lost_messages(void **state)
{
	struct mock_kafka down = {0};
	struct wk_config *cfg;
	struct wk_producer *p;
	struct wk_kafka_msg m = {
	    .topic = "t", .key = "k", .key_len = 1, .value = "{}", .value_len = 2};
	char err[256];

	(void)state;
	assert_int_equal(mock_kafka_start(&down, 1), 0);
	rd_kafka_mock_topic_create(down.mc, "t", 1, 1);
	cfg = mock_kafka_config(&down);
	wk_config_set(cfg, "kafka.message.timeout.ms", "500");
	p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	assert_non_null(p);
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 10000), 0); /* delivered */
	rd_kafka_mock_broker_set_down(down.mc, 1);
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 10000), -1); /* lost: reported, not delivered */
	assert_false(wk_producer_flush_timed_out(p));
	assert_int_equal(wk_producer_flush(p, 100), 0); /* nothing failed since */
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
	mock_kafka_stop(&down);
}

/* --- consumer --- */

static rd_kafka_message_t *poll_one(struct wk_consumer *c, int timeout_ms)
{
	rd_kafka_message_t *m = wk_consumer_poll(c, timeout_ms);

	return m ? hold(m) : NULL;
}

/* Issue 22 fault 9: a consumer closed while messages it prefetched are still queued (a service
 * stopped under load: the migrator at the end of a benchmark) aborted inside librdkafka
 * ("rd_kafka_q_serve: assert: res != RD_KAFKA_OP_RES_PASS"). */
static void close_with_prefetched_messages(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	struct wk_kafka_msg m = {
	    .topic = "src", .key = "k", .key_len = 1, .value = "{}", .value_len = 2};
	const char *const topics[] = {"src"};
	struct wk_consumer *c;
	rd_kafka_message_t *msg = NULL;
	char err[256], group[64];

	(void)state;
	for (int i = 0; i < 50; i++)
		assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	unique_group(group, sizeof(group));
	c = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(c);
	for (int i = 0; i < 300 && !(msg = wk_consumer_poll(c, 100));)
		i++;
	if (!msg)
		fail_msg("nothing consumed");
	rd_kafka_message_destroy(msg);
	usleep(200 * 1000); /* let the fetcher queue the rest */
	wk_consumer_destroy(c);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

/* Issue 22 fault 2: a committed offset that retention (here the mock broker's 5 MiB partition
 * limit) has removed is reported as a gap before the consumer goes on from the earliest offset
 * (it was skipped silently); a new group starts at the earliest without a gap. */
struct gap_log {
	int n;
	int64_t from, to, lo;
};

static void on_gap(const char *topic, int32_t partition, int64_t from, int64_t to, void *opaque)
{
	struct gap_log *g = opaque;

	(void)topic;
	(void)partition;
	g->n++;
	g->from = from;
	g->to = to;
}

static void input_gap_reported(void **state)
{
	struct mock_kafka gk = {0};
	struct wk_config *cfg;
	struct wk_producer *p;
	struct wk_consumer *c;
	static char big[100 * 1024];
	struct wk_kafka_msg m = {
	    .topic = "gap", .key = "k", .key_len = 1, .value = big, .value_len = sizeof(big)};
	const char *const topics[] = {"gap"};
	struct gap_log g = {0};
	rd_kafka_message_t *msg;
	int64_t first = -1, lo = -1, hi = -1;
	char err[256], group[64];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(mock_kafka_start(&gk, 1), 0);
	rd_kafka_mock_topic_create(gk.mc, "gap", 1, 1);
	cfg = mock_kafka_config(&gk);
	unique_group(group, sizeof(group));
	p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	/* A new group: from the earliest, no gap. */
	c = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(c);
	wk_consumer_set_gap_cb(c, on_gap, &g);
	for (int i = 0; i < 300 && !(msg = wk_consumer_poll(c, 100));)
		i++;
	if (!msg)
		fail_msg("nothing consumed");
	assert_int_equal(msg->offset, 0);
	assert_int_equal(wk_consumer_store(c, msg), 0);
	rd_kafka_message_destroy(msg);
	assert_int_equal(wk_consumer_commit(c), 0);
	wk_consumer_destroy(c);
	assert_int_equal(g.n, 0);
	/* 8 MiB more: the partition keeps 5, offset 1 is gone. */
	for (int i = 0; i < 80; i++)
		assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 20000), 0);
	assert_int_equal(
	    rd_kafka_query_watermark_offsets(wk_producer_handle(p), "gap", 0, &lo, &hi, 5000), 0);
	assert_true(lo > 1);
	c = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(c);
	wk_consumer_set_gap_cb(c, on_gap, &g);
	for (int i = 0; i < 300 && !(msg = wk_consumer_poll(c, 100));)
		i++;
	if (!msg)
		fail_msg("nothing consumed after the gap");
	first = msg->offset;
	rd_kafka_message_destroy(msg);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.from, 1);
	assert_int_equal(g.to, lo - 1);
	assert_int_equal(first, lo);
	wk_consumer_destroy(c);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
	mock_kafka_stop(&gk);
}

static void drop(rd_kafka_message_t *m)
{
	for (int i = 0; i < HELD_MAX; i++) {
		if (held[i] == m) {
			held[i] = NULL;
			rd_kafka_message_destroy(m);
			return;
		}
	}
}

static void at_least_once_resume(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	const char *topics[] = {"alo"};
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	struct wk_consumer *c;
	rd_kafka_message_t *m;
	char group[64], err[256], val[8];

	(void)state;
	unique_group(group, sizeof(group));
	assert_non_null(p);
	for (int i = 0; i < 5; i++) {
		struct wk_kafka_msg msg = {
		    .topic = "alo", .key = "k", .key_len = 1, .value = val, .value_len = 1};

		val[0] = (char)('0' + i);
		assert_int_equal(wk_producer_send(p, &msg, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	wk_producer_destroy(p);

	/* First member: processes all five, but only the first three are "durable". */
	c = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(c);
	for (int i = 0; i < 5; i++) {
		m = poll_one(c, 15000);
		assert_non_null(m);
		assert_int_equal(m->offset, i);
		assert_int_equal(((const char *)m->payload)[0], '0' + i);
		if (i < 3)
			assert_int_equal(wk_consumer_store(c, m), 0);
		drop(m);
	}
	/* No explicit commit: closing commits what is stored (revoke callback + close). */
	wk_consumer_destroy(c);

	/* Same group: resumes after the last stored offset, so 3 and 4 come again. */
	c = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(c);
	m = poll_one(c, 20000);
	assert_non_null(m);
	assert_int_equal(m->offset, 3);
	/* A retry without storing: seek back and get the same message again. */
	drop(m);
	m = poll_one(c, 5000);
	assert_non_null(m);
	assert_int_equal(m->offset, 4);
	assert_int_equal(wk_consumer_seek(c, "alo", 0, 3), 0);
	drop(m);
	m = poll_one(c, 5000);
	assert_non_null(m);
	assert_int_equal(m->offset, 3);
	drop(m);
	assert_int_equal(wk_consumer_commit(c), 0); /* nothing new stored: not an error */
	/* Only assigned partitions can be stored. */
	assert_int_equal(wk_consumer_store_offset(c, "alo", 7, 1), -1);
	assert_int_equal(wk_consumer_store_offset(c, "src", 0, 1), -1);
	/* Nothing new: poll times out with NULL (partition EOF is not a message). */
	m = poll_one(c, 300);
	if (m)
		assert_int_equal(m->offset, 4);
	release_held(); /* before the consumer goes: rd_kafka_destroy waits for its messages */
	wk_consumer_destroy(c);
	wk_config_destroy(cfg);
}

static void fatal_error_surfaces(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	struct wk_kafka_msg m = {.topic = "dr", .value = "{}", .value_len = 2};
	char err[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(wk_kafka_fatal(wk_producer_handle(p), err, sizeof(err)), 0);
	/* librdkafka's test hook raises what an out-of-sequence idempotent producer would. */
	assert_int_equal(rd_kafka_test_fatal_error(wk_producer_handle(p),
						   RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
						   "injected by the test"),
			 0);
	assert_int_equal(wk_producer_poll(p, 100), -1);
	assert_int_equal(wk_kafka_fatal(wk_producer_handle(p), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "injected by the test"));
	assert_int_equal(wk_producer_send(p, &m, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "fatal"));
	assert_int_equal(wk_producer_flush(p, 100), -1);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

static int assigned(struct wk_consumer *c)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	int n = 0;

	if (!rd_kafka_assignment(wk_consumer_handle(c), &l) && l) {
		n = l->cnt;
		rd_kafka_topic_partition_list_destroy(l);
	}
	return n;
}

/* Two members split the partitions through the eager rebalance callback, and what is produced
 * afterwards reaches the member that owns it. The revoke callback's synchronous commit cannot be
 * checked here: the mock answers OffsetCommit with REBALANCE_IN_PROGRESS while a group is joining,
 * where Kafka accepts commits of the current generation (docs/kafka.md, "What the mock is not"). */
static void rebalance_between_members(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	const char *topics[] = {"reb"};
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	struct wk_consumer *a, *b, *c;
	rd_kafka_message_t *m;
	char group[64], err[256], x[] = "x";
	bool seen[2] = {false, false};
	int got = 0;

	(void)state;
	unique_group(group, sizeof(group));
	assert_non_null(p);
	for (int i = 0; i < 8; i++)
		assert_int_equal(
		    rd_kafka_producev(wk_producer_handle(p), RD_KAFKA_V_TOPIC("reb"),
				      RD_KAFKA_V_PARTITION(i % 2), RD_KAFKA_V_VALUE(x, 1),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
		    0);
	assert_int_equal(wk_producer_flush(p, 10000), 0);

	a = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(a);
	while (got < 8 && (m = poll_one(a, 15000))) {
		assert_int_equal(wk_consumer_store(a, m), 0);
		drop(m);
		got++;
	}
	assert_int_equal(got, 8);
	assert_int_equal(assigned(a), 2);

	/* A second member joins; a keeps polling so it serves its revoke and new assignment (up to
	 * 60 s: the mock broker's rebalance takes a few seconds, more on a loaded 2-core machine).
	 */
	b = wk_consumer_new(cfg, group, topics, 1, err, sizeof(err));
	assert_non_null(b);
	for (int i = 0; i < 600 && (assigned(b) != 1 || assigned(a) != 1); i++) {
		if ((m = poll_one(a, 50)))
			drop(m);
		if ((m = poll_one(b, 50)))
			drop(m);
	}
	assert_int_equal(assigned(a), 1);
	assert_int_equal(assigned(b), 1);

	/* One new message per partition: each reaches its partition's owner. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(rd_kafka_producev(wk_producer_handle(p), RD_KAFKA_V_TOPIC("reb"),
						   RD_KAFKA_V_PARTITION(i), RD_KAFKA_V_VALUE(x, 1),
						   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						   RD_KAFKA_V_END),
				 0);
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	for (int i = 0; i < 100 && !(seen[0] && seen[1]); i++) {
		c = i % 2 ? b : a;
		if (!(m = poll_one(c, 50)))
			continue;
		if (m->offset == 4) /* partitions held offsets 0-3 */
			seen[m->partition] = true;
		assert_int_equal(wk_consumer_store(c, m), 0); /* it owns what it got */
		drop(m);
	}
	assert_true(seen[0] && seen[1]);
	release_held();
	wk_consumer_destroy(b);
	wk_consumer_destroy(a);
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

/* --- headers and dead letters --- */

/* Send msg (if any), then read back the last message of topic partition 0. */
static rd_kafka_message_t *produce_and_read(struct wk_producer *p, const char *topic,
					    const struct wk_kafka_msg *msg)
{
	rd_kafka_t *reader;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_message_t *m;
	int64_t lo, hi;
	char err[256];

	if (msg)
		assert_int_equal(wk_producer_send(p, msg, NULL, err, sizeof(err)), 0);
	assert_int_equal(wk_producer_flush(p, 10000), 0);
	reader = hold_reader(mock_kafka_reader(&mk, topic, 0));
	assert_int_equal(rd_kafka_query_watermark_offsets(reader, topic, 0, &lo, &hi, 5000), 0);
	assert_true(hi > lo);
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, 0)->offset = hi - 1;
	assert_int_equal(rd_kafka_assign(reader, l), 0);
	rd_kafka_topic_partition_list_destroy(l);
	m = mock_kafka_next(reader, 10000);
	if (!m) {
		fail_msg("nothing to read in '%s'", topic);
		return NULL;
	}
	hold(m);
	assert_int_equal(m->offset, hi - 1);
	return m;
}

static void header_helpers(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	const struct wk_kafka_header h[] = {
	    {"a", "first", -1}, {"a", "second", -1}, {"n", NULL, 0}, {"bin", "x\0y", 3}};
	struct wk_kafka_msg msg = {
	    .topic = "src", .value = "v", .value_len = 1, .headers = h, .nheaders = 4};
	rd_kafka_message_t *m;
	const char *v;
	size_t len;
	char out[8];

	(void)state;
	assert_non_null(p);
	m = produce_and_read(p, "src", &msg);
	v = wk_kafka_header(m, "a", &len);
	assert_non_null(v);
	assert_int_equal(len, 6);
	assert_memory_equal(v, "second", 6);
	v = wk_kafka_header(m, "n", &len);
	assert_non_null(v);
	assert_int_equal(len, 0);
	v = wk_kafka_header(m, "bin", &len);
	assert_int_equal(len, 3);
	assert_null(wk_kafka_header(m, "absent", &len));
	assert_int_equal(wk_kafka_header_copy(m, "a", out, sizeof(out)), 0);
	assert_string_equal(out, "second");
	assert_int_equal(wk_kafka_header_copy(m, "a", out, 6), -1); /* needs 7 with the NUL */
	assert_string_equal(out, "");
	assert_int_equal(wk_kafka_header_copy(m, "absent", out, sizeof(out)), -1);
	release_held();
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

static int header_count(const rd_kafka_message_t *m, const char *name)
{
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t sz;
	int n = 0;

	if (rd_kafka_message_headers(m, &hdrs))
		return 0;
	while (!rd_kafka_header_get(hdrs, (size_t)n, name, &v, &sz))
		n++;
	return n;
}

static void dead_letters(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	const struct wk_kafka_header h[] = {{"ce_id", "id-7", -1},
					    {"ce_type", "dev.novasphere.wukong.x", -1},
					    {"x-dlt-reason", "stale", -1}};
	const char *body = "{\"not\":\"valid\"}";
	struct wk_kafka_msg msg = {.topic = "src",
				   .key = "c1/ns/vm7",
				   .key_len = 9,
				   .value = body,
				   .value_len = strlen(body),
				   .headers = h,
				   .nheaders = 3};
	rd_kafka_message_t *orig, *dl, *dl2;
	char err[256], buf[128];
	int64_t ms;

	(void)state;
	assert_non_null(p);
	orig = produce_and_read(p, "src", &msg);
	assert_int_equal(wk_dlq_send(p, "dlq", orig, "wukong-test", "schema",
				     "field 'x' is required", err, sizeof(err)),
			 0);
	/* wk_dlq_send returned: the dead letter is already on the broker. */
	assert_int_equal(wk_producer_outq_len(p), 0);
	dl = produce_and_read(p, "dlq", NULL);
	assert_int_equal(dl->key_len, 9);
	assert_memory_equal(dl->key, "c1/ns/vm7", 9);
	assert_int_equal(dl->len, strlen(body));
	assert_memory_equal(dl->payload, body, dl->len);
	assert_int_equal(wk_kafka_header_copy(dl, "ce_id", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "id-7");
	assert_int_equal(wk_kafka_header_copy(dl, "ce_type", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "dev.novasphere.wukong.x");
	assert_int_equal(header_count(dl, "x-dlt-reason"), 1);
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-reason", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "schema");
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-error", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "field 'x' is required");
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-service", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "wukong-test");
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-original-topic", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "src");
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-original-partition", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0");
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-original-offset", buf, sizeof(buf)), 0);
	assert_int_equal(strtoll(buf, NULL, 10), orig->offset);
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-time", buf, sizeof(buf)), 0);
	assert_int_equal(wk_time_parse_ms(buf, &ms), 0);
	assert_null(wk_kafka_header(dl, "x-dlt-original-size", NULL));

	/* Dead-lettering a dead letter keeps one x-dlt-* story: the latest. */
	assert_int_equal(
	    wk_dlq_send(p, "dlq", dl, "wukong-replay", "handler", NULL, err, sizeof(err)), 0);
	dl2 = produce_and_read(p, "dlq", NULL);
	assert_int_equal(header_count(dl2, "x-dlt-reason"), 1);
	assert_int_equal(header_count(dl2, "x-dlt-original-topic"), 1);
	assert_int_equal(wk_kafka_header_copy(dl2, "x-dlt-original-topic", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "dlq");
	assert_int_equal(wk_kafka_header_copy(dl2, "x-dlt-reason", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "handler");
	release_held();
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

static void dead_letter_of_oversized(void **state)
{
	struct wk_config *cfg = mock_kafka_config(&mk);
	struct wk_producer *p = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	size_t n = WK_KAFKA_MAX_MESSAGE + 10;
	char *big = wk_xcalloc(1, n);
	rd_kafka_message_t *orig, *dl;
	char err[256], buf[32];

	(void)state;
	assert_non_null(p);
	/* Another client wrote it; our producer would refuse it. */
	assert_int_equal(rd_kafka_producev(wk_producer_handle(p), RD_KAFKA_V_TOPIC("src"),
					   RD_KAFKA_V_KEY("big", 3), RD_KAFKA_V_VALUE(big, n),
					   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					   RD_KAFKA_V_END),
			 0);
	free(big);
	orig = produce_and_read(p, "src", NULL);
	assert_int_equal(orig->len, n);
	assert_int_equal(
	    wk_dlq_send(p, "dlq", orig, "wukong-test", "oversized", "too big", err, sizeof(err)),
	    0);
	dl = produce_and_read(p, "dlq", NULL);
	assert_null(dl->payload);
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-original-size", buf, sizeof(buf)), 0);
	assert_int_equal(strtoull(buf, NULL, 10), n);
	assert_int_equal(wk_kafka_header_copy(dl, "x-dlt-reason", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "oversized");
	release_held();
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
}

/* wukong.status keys partition by their Wukong (issue 22 fault 10); shorter keys whole. */
static void partition_key(void **state)
{
	(void)state;
	assert_int_equal(wk_kafka_partition_key_len("c/ns/w/src/shape", 16), 6);
	assert_int_equal(wk_kafka_partition_key_len("c/ns/w/src", 10), 6);
	assert_int_equal(wk_kafka_partition_key_len("c/ns/w", 6), 6);
	assert_int_equal(wk_kafka_partition_key_len("c/node/n", 8), 8);
	assert_int_equal(wk_kafka_partition_key_len("abc", 3), 3);
	assert_int_equal(wk_kafka_partition_key_len("a/b/c/d", 5), 5); /* the length counts */
	assert_int_equal(wk_kafka_partition_key_len(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(partition_key),
	    cmocka_unit_test_teardown(topic_naming, test_teardown),
	    cmocka_unit_test_teardown(config_errors, test_teardown),
	    cmocka_unit_test_teardown(enforced_settings, test_teardown),
	    cmocka_unit_test_teardown(partitioner_is_murmur2, test_teardown),
	    cmocka_unit_test_teardown(secrets_are_redacted, test_teardown),
	    cmocka_unit_test_teardown(delivery_reports, test_teardown),
	    cmocka_unit_test_teardown(oversized_and_topicless_refused, test_teardown),
	    cmocka_unit_test_teardown(queue_full_and_failed_delivery, test_teardown),
	    cmocka_unit_test_teardown(flush_reports_lost_messages, test_teardown),
	    cmocka_unit_test_teardown(input_gap_reported, test_teardown),
	    cmocka_unit_test_teardown(close_with_prefetched_messages, test_teardown),
	    cmocka_unit_test_teardown(fatal_error_surfaces, test_teardown),
	    cmocka_unit_test_teardown(at_least_once_resume, test_teardown),
	    cmocka_unit_test_teardown(rebalance_between_members, test_teardown),
	    cmocka_unit_test_teardown(header_helpers, test_teardown),
	    cmocka_unit_test_teardown(dead_letters, test_teardown),
	    cmocka_unit_test_teardown(dead_letter_of_oversized, test_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
