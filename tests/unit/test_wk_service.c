/* test_wk_service.c - the service skeleton without a broker: argv, config errors and exit codes,
 * the tick, wk_service_stop, the HTTP endpoint and its address file, SIGTERM; and, against
 * librdkafka's mock cluster, the delivery reports of the service's producer (on_delivery). Message
 * handling against a real broker is covered by tests/integration/0005-service-loop.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <unistd.h>

#include "wk_service.h"
#include "wk_config.h"
#include "wk_httpd.h"
#include "wk_kafka.h"
#include "wk_metrics.h"
#include "wk_version.h"
#include "wk_time.h"
#include "mock_kafka.h"

static int ticks;
static int stop_after = 3;
static int stop_code;
static bool saw_httpd;
static bool init_fails;
static bool termed;
static bool raise_term;

static int init_cb(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	assert_non_null(wk_service_config(ctx));
	assert_non_null(wk_service_producer(ctx));
	assert_null(wk_service_consumer(ctx));
	wk_service_set_state(ctx, &ticks);
	if (init_fails)
		return wk_err(errstr, errstr_size, "init refused");
	return 0;
}

static void tick_cb(struct wk_service_ctx *ctx)
{
	assert_ptr_equal(wk_service_state(ctx), &ticks);
	saw_httpd = wk_service_httpd(ctx) != NULL;
	wk_service_set_ready(ctx, true);
	if (raise_term && ticks == 1)
		raise(SIGTERM);
	if (++ticks >= stop_after)
		wk_service_stop(ctx, stop_code);
}

static void term_cb(struct wk_service_ctx *ctx)
{
	(void)ctx;
	termed = true;
}

static const struct wk_service svc = {
    .name = "wukong-test",
    .topics = NULL,
    .tick_ms = 10,
    .init = init_cb,
    .on_tick = tick_cb,
    .term = term_cb,
};

static int run(int argc, const char **argv)
{
	ticks = 0;
	termed = false;
	saw_httpd = false;
	return wk_service_main(&svc, argc, (char **)argv);
}

static void help_and_version(void **state)
{
	const char *h[] = {"svc", "-h", NULL}, *h2[] = {"svc", "--help", NULL};
	const char *v[] = {"svc", "--version", NULL};

	(void)state;
	assert_int_equal(run(2, h), 0);
	assert_int_equal(run(2, h2), 0);
	assert_int_equal(run(2, v), 0);
	assert_int_equal(ticks, 0);
}

static void usage_errors(void **state)
{
	const char *a[] = {"svc", "--bogus", NULL}, *b[] = {"svc", "extra", NULL};
	const char *c[] = {"svc", "-c", NULL}, *d[] = {"svc", "-X", NULL};

	(void)state;
	assert_int_equal(run(2, a), 2);
	assert_int_equal(run(2, b), 2);
	assert_int_equal(run(2, c), 2);
	assert_int_equal(run(2, d), 2);
}

static void config_errors(void **state)
{
	const char *a[] = {"svc", "-c", "/nonexistent.yaml", NULL};
	const char *b[] = {"svc", "-X", "novalue", NULL};
	const char *c[] = {
	    "svc", "-X", "kafka.bootstrap.servers=127.0.0.1:1", "-X", "log.level=loud", NULL};
	const char *d[] = {
	    "svc", "-X", "kafka.bootstrap.servers=127.0.0.1:1", "-X", "cluster.id=Bad_Cluster",
	    NULL};
	const char *e[] = {
	    "svc", "-X", "kafka.bootstrap.servers=127.0.0.1:1", "-X", "http.listen=nohostport",
	    NULL};
	const char *f[] = {"svc", "-X", "http.listen=", NULL}; /* no bootstrap.servers */
	const char *g[] = {
	    "svc", "-X", "kafka.bootstrap.servers=127.0.0.1:1", "-X", "consumer.retry-backoff=soon",
	    NULL};
	const char *h[] = {
	    "svc", "-X", "kafka.bootstrap.servers=127.0.0.1:1", "-X", "kafka.no.such.property=1",
	    NULL};

	(void)state;
	assert_int_equal(run(3, a), 3);
	assert_int_equal(run(3, b), 3);
	assert_int_equal(run(5, c), 3);
	assert_int_equal(run(5, d), 3);
	assert_int_equal(run(5, e), 3);
	assert_int_equal(run(3, f), 3);
	assert_int_equal(run(5, g), 3);
	assert_int_equal(run(5, h), 3);
	assert_int_equal(ticks, 0);
}

static void ticks_and_stop(void **state)
{
	char dir[] = "/tmp/wk-svc-test.XXXXXX", path[128], cfgpath[128], addr[128] = "";
	const char *argv[] = {"svc", "-c", cfgpath, "-X", NULL, NULL};
	char xarg[200];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/addr", dir);
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.yaml", dir);
	f = fopen(cfgpath, "w");
	fprintf(f, "kafka:\n  bootstrap.servers: 127.0.0.1:1\nlog:\n  level: warn\n"
		   "http:\n  listen: 127.0.0.1:0\n");
	fclose(f);
	snprintf(xarg, sizeof(xarg), "http.addr-file=%s", path);
	argv[4] = xarg;
	stop_after = 3;
	stop_code = 0;
	assert_int_equal(run(5, argv), 0);
	assert_int_equal(ticks, 3);
	assert_true(termed);
	assert_true(saw_httpd);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(addr, sizeof(addr), f));
	fclose(f);
	assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
	assert_true(atoi(addr + 10) > 0);
	/* The core's own series: the build's version and the process collector's. */
	{
		struct wk_buf b;
		char want[200];

		wk_buf_init(&b, 0);
		assert_int_equal(wk_metrics_render(&b), 0);
		snprintf(want, sizeof(want), "wukong_build_info{version=\"%s\"} 1\n",
			 wk_build_version());
		assert_non_null(strstr(wk_buf_str(&b), want));
		assert_non_null(strstr(wk_buf_str(&b), "\nprocess_cpu_seconds_total "));
		assert_non_null(strstr(wk_buf_str(&b), "\nprocess_open_fds "));
		wk_buf_release(&b);
	}

	/* wk_service_stop's code is the exit code. */
	stop_code = 1;
	assert_int_equal(run(5, argv), 1);
	stop_code = 0;

	/* init failing is a configuration error, and term still runs. */
	init_fails = true;
	assert_int_equal(run(5, argv), 3);
	assert_true(termed);
	assert_int_equal(ticks, 0);
	init_fails = false;

	/* SIGTERM drains and exits 0 before the tick would stop the loop. */
	stop_after = 1000;
	raise_term = true;
	assert_int_equal(run(5, argv), 0);
	assert_int_equal(ticks, 2);
	assert_true(termed);
	raise_term = false;
	stop_after = 3;

	/* An unwritable address file is a runtime failure. */
	snprintf(xarg, sizeof(xarg), "http.addr-file=%s/no/such/dir/addr", dir);
	assert_int_equal(run(5, argv), 1);
	unlink(path);
	unlink(cfgpath);
	rmdir(dir);
}

static void http_disabled(void **state)
{
	const char *argv[] = {"svc", "-X",	     "kafka.bootstrap.servers=127.0.0.1:1",
			      "-X",  "http.listen=", NULL};

	(void)state;
	stop_after = 2;
	assert_int_equal(run(5, argv), 0);
	assert_false(saw_httpd);
	assert_int_equal(ticks, 2);
}

/* ---- defaults and topic templates (the descriptor a service like the migrator uses) ---- */

static char got_group[128], got_tmpl[128], got_topics[512];
static int got_ntopics;

static int defaults_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	rd_kafka_topic_partition_list_t *l = NULL;
	int i;

	(void)errstr;
	(void)errstr_size;
	snprintf(got_group, sizeof(got_group), "%s", wk_config_get(cfg, "consumer.group", "-"));
	snprintf(got_tmpl, sizeof(got_tmpl), "%s", wk_config_get(cfg, "test.tmpl", "-"));
	got_topics[0] = '\0';
	assert_non_null(wk_service_consumer(ctx));
	assert_int_equal(rd_kafka_subscription(wk_consumer_handle(wk_service_consumer(ctx)), &l),
			 0);
	got_ntopics = l->cnt;
	for (i = 0; i < l->cnt; i++) {
		strcat(got_topics, l->elems[i].topic);
		strcat(got_topics, " ");
	}
	rd_kafka_topic_partition_list_destroy(l);
	wk_service_stop(ctx, 0);
	return 0;
}

static enum wk_msg_result defaults_msg(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				       char *r, size_t rs, char *d, size_t ds)
{
	(void)ctx, (void)m, (void)r, (void)rs, (void)d, (void)ds;
	return WK_MSG_DONE;
}

static const char *const dtopics[] = {"events", "requests.{cluster}", "requests?test.shared", NULL};
static const char *const ddefaults[] = {
    "consumer.group", "wukong-test-{cluster}",	 "test.shared", "true",
    "test.tmpl",      "{cluster}-{cluster}/{x}", NULL};
static const struct wk_service dsvc = {
    .name = "wukong-test",
    .topics = dtopics,
    .init = defaults_init,
    .on_message = defaults_msg,
    .defaults = ddefaults,
};

static int drun(int argc, const char **argv)
{
	got_group[0] = got_tmpl[0] = '\0';
	got_ntopics = -1;
	return wk_service_main(&dsvc, argc, (char **)argv);
}

static void defaults_and_templates(void **state)
{
	const char *a[] = {"svc",
			   "-X",
			   "kafka.bootstrap.servers=127.0.0.1:1",
			   "-X",
			   "http.listen=",
			   "-X",
			   "cluster.id=east",
			   NULL};
	const char *b[] = {"svc",
			   "-X",
			   "kafka.bootstrap.servers=127.0.0.1:1",
			   "-X",
			   "http.listen=",
			   "-X",
			   "cluster.id=east",
			   "-X",
			   "test.shared=false",
			   "-X",
			   "consumer.group=mine",
			   NULL};
	const char *c[] = {"svc", "-X",		  "kafka.bootstrap.servers=127.0.0.1:1",
			   "-X",  "http.listen=", NULL};
	const char *d[] = {"svc",
			   "-X",
			   "kafka.bootstrap.servers=127.0.0.1:1",
			   "-X",
			   "http.listen=",
			   "-X",
			   "test.shared=maybe",
			   NULL};
	const char *e[] = {"svc",
			   "-X",
			   "kafka.bootstrap.servers=127.0.0.1:1",
			   "-X",
			   "http.listen=",
			   "-X",
			   "cluster.id=../etc",
			   NULL};

	(void)state;
	/* Every default applies, "{cluster}" expanded wherever it appears; "{x}" is left alone. */
	assert_int_equal(drun(7, a), 0);
	assert_string_equal(got_group, "wukong-test-east");
	assert_string_equal(got_tmpl, "east-east/{x}");
	assert_int_equal(got_ntopics, 3);
	assert_non_null(strstr(got_topics, "wukong.events "));
	assert_non_null(strstr(got_topics, "wukong.requests.east "));
	assert_non_null(strstr(got_topics, "wukong.requests "));

	/* Any source overrides a default; a false condition drops its topic. */
	assert_int_equal(drun(11, b), 0);
	assert_string_equal(got_group, "mine");
	assert_int_equal(got_ntopics, 2);
	assert_null(strstr(got_topics, "wukong.requests "));
	assert_non_null(strstr(got_topics, "wukong.requests.east "));

	/* The environment overrides too; no cluster.id means "local". */
	setenv("WUKONG_CONSUMER_GROUP", "from-env", 1);
	assert_int_equal(drun(5, c), 0);
	unsetenv("WUKONG_CONSUMER_GROUP");
	assert_string_equal(got_group, "from-env");
	assert_string_equal(got_tmpl, "local-local/{x}");
	assert_non_null(strstr(got_topics, "wukong.requests.local "));

	/* A condition that is not a boolean, and a hostile cluster.id, are configuration errors
	 * before anything subscribes. */
	assert_int_equal(drun(7, d), 3);
	assert_int_equal(got_ntopics, -1);
	assert_int_equal(drun(7, e), 3);
	assert_int_equal(got_ntopics, -1);
}

/* ---- on_delivery: the reports of messages produced through the service's producer ---- */

#define DLV_N 5
#define DLV_TOPIC "wukong.dlvtest"

static struct dlv {
	int sent, reported, failed, after_term;
	bool term_sent, termed, state_null_seen;
	int tag[DLV_N + 2];	   /* per-message opaques: &tag[i] */
	int seen[DLV_N + 2];	   /* how often each was reported */
	int64_t offset[DLV_N + 2]; /* where it landed */
	rd_kafka_resp_err_t err[DLV_N + 2];
	struct mock_kafka mk;
	bool broker_down;
} dlv;

static int dlv_send(struct wk_service_ctx *ctx, int i)
{
	struct wk_kafka_msg m = {
	    .topic = DLV_TOPIC, .key = "k", .key_len = 1, .value = "{}", .value_len = 2};
	char err[256];

	return wk_producer_send(wk_service_producer(ctx), &m, &dlv.tag[i], err, sizeof(err));
}

static void dlv_tick(struct wk_service_ctx *ctx)
{
	if (dlv.sent == 0) {
		wk_service_set_state(ctx, &dlv);
		if (dlv.broker_down)
			rd_kafka_mock_broker_set_down(dlv.mk.mc, 1);
		for (int i = 0; i < DLV_N; i++) {
			assert_int_equal(dlv_send(ctx, i), 0);
			dlv.sent++;
		}
	}
	/* the core polls the producer between ticks: the reports come without our asking */
	if (dlv.reported == DLV_N)
		wk_service_stop(ctx, 0);
}

/* Sends one more message and forgets its state: its report still comes, with no state. */
static void dlv_term(struct wk_service_ctx *ctx)
{
	dlv.termed = true;
	if (!dlv.broker_down) {
		assert_int_equal(dlv_send(ctx, DLV_N), 0);
		dlv.term_sent = true;
	}
	wk_service_set_state(ctx, NULL);
}

static void dlv_report(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
		       int32_t partition, int64_t offset)
{
	int i = (int)((int *)msg_opaque - dlv.tag);

	assert_true(i >= 0 && i <= DLV_N);
	if (!err)
		assert_int_equal(partition, 0);
	dlv.seen[i]++;
	dlv.offset[i] = offset;
	dlv.err[i] = err;
	if (err)
		dlv.failed++;
	if (dlv.termed) {
		dlv.after_term++;
		dlv.state_null_seen = wk_service_state(ctx) == NULL;
	} else {
		assert_ptr_equal(wk_service_state(ctx), &dlv);
	}
	dlv.reported++;
}

static const struct wk_service dlv_svc = {
    .name = "wukong-test",
    .tick_ms = 5,
    .on_tick = dlv_tick,
    .term = dlv_term,
    .on_delivery = dlv_report,
};

static int dlv_run(const char *timeout)
{
	char bs[300], mt[64];
	const char *argv[] = {"svc", "-X", bs,	"-X", "http.listen=", "-X", "log.level=error",
			      "-X",  mt,   NULL};

	snprintf(bs, sizeof(bs), "kafka.bootstrap.servers=%s", dlv.mk.bootstrap);
	snprintf(mt, sizeof(mt), "kafka.message.timeout.ms=%s", timeout);
	return wk_service_main(&dlv_svc, 9, (char **)argv);
}

static void delivery_reports(void **state)
{
	(void)state;
	memset(&dlv, 0, sizeof(dlv));
	assert_int_equal(mock_kafka_start(&dlv.mk, 1), 0);
	assert_int_equal(rd_kafka_mock_topic_create(dlv.mk.mc, DLV_TOPIC, 1, 1), 0);

	/* each message's report once, with its own opaque, in order on the partition */
	assert_int_equal(dlv_run("30000"), 0);
	assert_int_equal(dlv.sent, DLV_N);
	assert_int_equal(dlv.failed, 0);
	for (int i = 0; i < DLV_N; i++) {
		assert_int_equal(dlv.seen[i], 1);
		assert_int_equal(dlv.err[i], RD_KAFKA_RESP_ERR_NO_ERROR);
		assert_int_equal(dlv.offset[i], i);
	}
	/* the message term produced is reported during the core's flush, state already gone */
	assert_true(dlv.term_sent);
	assert_int_equal(dlv.seen[DLV_N], 1);
	assert_int_equal(dlv.offset[DLV_N], DLV_N);
	assert_int_equal(dlv.after_term, 1);
	assert_true(dlv.state_null_seen);
	assert_int_equal(dlv.reported, DLV_N + 1);

	/* a failed delivery is reported as such (the broker is down past message.timeout.ms) */
	memset(dlv.seen, 0, sizeof(dlv.seen));
	dlv.sent = dlv.reported = dlv.failed = dlv.after_term = 0;
	dlv.termed = dlv.term_sent = false;
	dlv.broker_down = true;
	assert_int_equal(dlv_run("300"), 0);
	assert_int_equal(dlv.failed, DLV_N);
	for (int i = 0; i < DLV_N; i++) {
		assert_int_equal(dlv.seen[i], 1);
		assert_int_not_equal(dlv.err[i], RD_KAFKA_RESP_ERR_NO_ERROR);
	}
	assert_int_equal(dlv.after_term, 0);
	mock_kafka_stop(&dlv.mk);
}

/* A term that flushes itself and times out (the broker is gone): the drain does not wait for the
 * same messages a second time (its own flush would take 5 s). */
static int gone_flush_rc;

static void gone_tick(struct wk_service_ctx *ctx)
{
	rd_kafka_mock_broker_set_down(dlv.mk.mc, 1);
	assert_int_equal(dlv_send(ctx, 0), 0);
	wk_service_stop(ctx, 0);
}

static void gone_term(struct wk_service_ctx *ctx)
{
	gone_flush_rc = wk_producer_flush(wk_service_producer(ctx), 300);
}

static void gone_report(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
			int32_t partition, int64_t offset)
{
	(void)ctx, (void)msg_opaque, (void)err, (void)partition, (void)offset;
	dlv.reported++;
}

static const struct wk_service gone_svc = {
    .name = "wukong-test",
    .tick_ms = 5,
    .on_tick = gone_tick,
    .term = gone_term,
    .on_delivery = gone_report,
};

static void drain_after_timed_out_flush(void **state)
{
	char bs[300];
	const char *argv[] = {"svc",
			      "-X",
			      bs,
			      "-X",
			      "http.listen=",
			      "-X",
			      "log.level=error",
			      "-X",
			      "kafka.message.timeout.ms=0",
			      NULL};
	int64_t t0;

	(void)state;
	memset(&dlv, 0, sizeof(dlv));
	assert_int_equal(mock_kafka_start(&dlv.mk, 1), 0);
	assert_int_equal(rd_kafka_mock_topic_create(dlv.mk.mc, DLV_TOPIC, 1, 1), 0);
	snprintf(bs, sizeof(bs), "kafka.bootstrap.servers=%s", dlv.mk.bootstrap);
	t0 = wk_time_mono_ms();
	assert_int_equal(wk_service_main(&gone_svc, 9, (char **)argv), 0);
	assert_int_equal(gone_flush_rc, -1);
	assert_true(wk_time_mono_ms() - t0 < 4000);
	assert_int_equal(dlv.reported, 0); /* never delivered, never reported */
	mock_kafka_stop(&dlv.mk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(help_and_version), cmocka_unit_test(usage_errors),
	    cmocka_unit_test(config_errors),	cmocka_unit_test(ticks_and_stop),
	    cmocka_unit_test(http_disabled),	cmocka_unit_test(defaults_and_templates),
	    cmocka_unit_test(delivery_reports), cmocka_unit_test(drain_after_timed_out_flush),
	};

	/* Keep the environment from leaking into the configuration. */
	unsetenv("WUKONG_CONFIG");
	return cmocka_run_group_tests_name("wk_service", tests, NULL, NULL);
}
