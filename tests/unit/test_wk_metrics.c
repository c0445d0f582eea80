/* test_wk_metrics.c - registry, Prometheus text format, escaping, histograms, caps, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>

#include "wk_metrics.h"

static int reset(void **state)
{
	(void)state;
	wk_metrics_reset();
	return 0;
}

static char *render(void)
{
	struct wk_buf b;

	wk_buf_init(&b, 0);
	assert_int_equal(wk_metrics_render(&b), 0);
	return wk_buf_take(&b, NULL);
}

static void contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("output lacks '%s':\n%s", want, text);
}

static void counters_and_gauges(void **state)
{
	struct wk_metric *c =
	    wk_metric_counter("wukong_messages_total", "Messages handled", "topic,result");
	struct wk_metric *g = wk_metric_gauge("wukong_ready", "1 when ready", NULL);
	const char *v1[] = {"wukong.events", "done"}, *v2[] = {"wukong.events", "reject"};
	char *out;

	(void)state;
	assert_ptr_equal(wk_metric_counter("wukong_messages_total", "again", "topic,result"), c);
	wk_metric_inc(c, v1, 1);
	wk_metric_inc(c, v1, 2);
	wk_metric_inc(c, v2, 1);
	wk_metric_inc(c, v2, -5);  /* counters never go down */
	wk_metric_inc(c, v2, NAN); /* nor become NaN */
	assert_true(wk_metric_value(c, v1) == 3);
	assert_true(wk_metric_value(c, v2) == 1);
	wk_metric_set(g, NULL, 1);
	wk_metric_inc(g, NULL, -0.5);
	assert_true(wk_metric_value(g, NULL) == 0.5);
	out = render();
	contains(out, "# HELP wukong_messages_total Messages handled\n"
		      "# TYPE wukong_messages_total counter\n"
		      "wukong_messages_total{topic=\"wukong.events\",result=\"done\"} 3\n"
		      "wukong_messages_total{topic=\"wukong.events\",result=\"reject\"} 1\n");
	contains(out, "# HELP wukong_ready 1 when ready\n# TYPE wukong_ready gauge\nwukong_ready "
		      "0.5\n");
	free(out);
}

static void unlabelled_start_at_zero(void **state)
{
	char *out;

	(void)state;
	wk_metric_counter("wukong_loops_total", "Loop iterations", NULL);
	wk_metric_counter("wukong_labelled_total", "Nothing yet", "x");
	out = render();
	contains(out, "# TYPE wukong_loops_total counter\nwukong_loops_total 0\n");
	/* A labelled metric without series shows only its HELP and TYPE. */
	contains(out, "# TYPE wukong_labelled_total counter\n");
	assert_null(strstr(out, "wukong_labelled_total{"));
	assert_null(strstr(out, "wukong_labelled_total 0"));
	free(out);
}

static void escaping(void **state)
{
	struct wk_metric *c =
	    wk_metric_counter("wukong_esc_total", "Help with \\ and\nnewline", "v");
	const char *v[] = {"a\"b\\c\nd"};
	char *out;

	(void)state;
	wk_metric_inc(c, v, 1);
	out = render();
	contains(out, "# HELP wukong_esc_total Help with \\\\ and\\nnewline\n");
	contains(out, "wukong_esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(out);
}

static void numbers(void **state)
{
	struct wk_metric *g = wk_metric_gauge("wukong_num", "Numbers", "k");
	const char *a[] = {"a"}, *b[] = {"b"}, *c[] = {"c"}, *d[] = {"d"}, *e[] = {"e"};
	char *out;

	(void)state;
	wk_metric_set(g, a, 0.1);
	wk_metric_set(g, b, INFINITY);
	wk_metric_set(g, c, -INFINITY);
	wk_metric_set(g, d, NAN);
	wk_metric_set(g, e, 1e21);
	out = render();
	contains(out, "wukong_num{k=\"a\"} 0.1\n");
	contains(out, "wukong_num{k=\"b\"} +Inf\n");
	contains(out, "wukong_num{k=\"c\"} -Inf\n");
	contains(out, "wukong_num{k=\"d\"} NaN\n");
	contains(out, "wukong_num{k=\"e\"} 1e+21\n");
	free(out);
}

static void histogram(void **state)
{
	static const double buckets[] = {0.1, 0.5, 1};
	struct wk_metric *h =
	    wk_metric_histogram("wukong_latency_seconds", "Latency", "op", buckets, 3);
	struct wk_metric *h2 =
	    wk_metric_histogram("wukong_plain_seconds", "Plain", NULL, buckets, 3);
	const char *op[] = {"get"};
	char *out;

	(void)state;
	wk_metric_observe(h, op, 0.05);
	wk_metric_observe(h, op, 0.1); /* le is inclusive */
	wk_metric_observe(h, op, 0.7);
	wk_metric_observe(h, op, 3);
	wk_metric_observe(h, op, NAN); /* ignored */
	assert_true(wk_metric_value(h, op) == 4);
	out = render();
	contains(out, "# TYPE wukong_latency_seconds histogram\n"
		      "wukong_latency_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
		      "wukong_latency_seconds_bucket{op=\"get\",le=\"0.5\"} 2\n"
		      "wukong_latency_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
		      "wukong_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
		      "wukong_latency_seconds_sum{op=\"get\"} 3.85\n"
		      "wukong_latency_seconds_count{op=\"get\"} 4\n");
	contains(out, "wukong_plain_seconds_bucket{le=\"0.1\"} 0\n");
	contains(out, "wukong_plain_seconds_bucket{le=\"+Inf\"} 0\n"
		      "wukong_plain_seconds_sum 0\nwukong_plain_seconds_count 0\n");
	free(out);
	(void)h2;
}

static void series_cap(void **state)
{
	struct wk_metric *c = wk_metric_counter("wukong_many_total", "Many", "id");
	struct wk_metric *d;
	char id[32], *out;
	const char *v[] = {id};
	int i;

	(void)state;
	for (i = 0; i < 1024; i++) {
		snprintf(id, sizeof(id), "%d", i);
		wk_metric_inc(c, v, 1);
	}
	snprintf(id, sizeof(id), "1023");
	assert_true(wk_metric_value(c, v) == 1);
	for (i = 1024; i < 1030; i++) {
		snprintf(id, sizeof(id), "%d", i);
		wk_metric_inc(c, v, 1);
		assert_true(wk_metric_value(c, v) == 0);
	}
	/* Existing series keep counting past the cap. */
	snprintf(id, sizeof(id), "5");
	wk_metric_inc(c, v, 1);
	assert_true(wk_metric_value(c, v) == 2);
	d = wk_metric_counter("wukong_metrics_dropped_series_total", "", "metric");
	{
		const char *m[] = {"wukong_many_total"};

		assert_true(wk_metric_value(d, m) == 6);
	}
	out = render();
	contains(out, "wukong_metrics_dropped_series_total{metric=\"wukong_many_total\"} 6\n");
	assert_null(strstr(out, "id=\"1024\""));
	free(out);
}

static void long_label_values(void **state)
{
	struct wk_metric *c = wk_metric_counter("wukong_long_total", "Long", "v");
	char big[2000], big2[2000];
	const char *v[] = {big}, *v2[] = {big2};
	char *out;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big2, big, sizeof(big));
	big2[1500] = 'y'; /* differs only past the cut: same series */
	wk_metric_inc(c, v, 1);
	wk_metric_inc(c, v2, 1);
	assert_true(wk_metric_value(c, v) == 2);
	out = render();
	assert_true(strlen(out) < 1500);
	free(out);
}

static void render_cap(void **state)
{
	struct wk_buf b;

	(void)state;
	wk_metric_counter("wukong_cap_total", "Cap", NULL);
	wk_buf_init(&b, 40);
	assert_int_equal(wk_metrics_render(&b), -1);
	wk_buf_release(&b);
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_metrics_render(&b), 0);
	wk_buf_release(&b);
}

static struct wk_metric *shared;

static void *hammer(void *arg)
{
	const char *v[] = {arg};
	int i;

	for (i = 0; i < 20000; i++)
		wk_metric_inc(shared, v, 1);
	return NULL;
}

static void threads(void **state)
{
	pthread_t t[4];
	const char *v[] = {"x"};
	int i;

	(void)state;
	shared = wk_metric_counter("wukong_threads_total", "Threads", "k");
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)"x"), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_true(wk_metric_value(shared, v) == 80000);
}

static void null_safe(void **state)
{
	(void)state;
	wk_metric_inc(NULL, NULL, 1);
	wk_metric_set(NULL, NULL, 1);
	wk_metric_observe(NULL, NULL, 1);
	assert_true(wk_metric_value(NULL, NULL) == 0);
	wk_metrics_reset();
	wk_metrics_reset();
}

/* A removed series is absent from the output (an unknown value is no series, not a -1); the
 * metric's other series stay, and setting it again brings it back. */
static void remove_series(void **state)
{
	struct wk_metric *g = wk_metric_gauge("wukong_eta_seconds", "ETA", "node");
	const char *a[] = {"node-a"}, *b[] = {"node-b"};
	char *out;

	(void)state;
	wk_metric_set(g, a, 5);
	wk_metric_set(g, b, 7);
	wk_metric_remove(g, a);
	wk_metric_remove(g, a); /* twice: no-op */
	wk_metric_remove(NULL, a);
	out = render();
	assert_null(strstr(out, "node=\"node-a\""));
	contains(out, "wukong_eta_seconds{node=\"node-b\"} 7\n");
	free(out);
	wk_metric_set(g, a, 1);
	out = render();
	contains(out, "wukong_eta_seconds{node=\"node-a\"} 1\n");
	free(out);
}

/* The process collector's names and types (Prometheus client_golang's process collector). */
static void process_series(void **state)
{
	char *out;

	(void)state;
	out = render();
	assert_null(strstr(out, "process_"));
	free(out);
	wk_metrics_process_enable(true);
	out = render();
	wk_metrics_process_enable(false);
	contains(out, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
	contains(out, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ");
	contains(out, "# TYPE process_open_fds gauge\nprocess_open_fds ");
	contains(out, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ");
	contains(out, "process_virtual_memory_bytes ");
	assert_null(strstr(out, " -1\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(counters_and_gauges, reset),
	    cmocka_unit_test_teardown(unlabelled_start_at_zero, reset),
	    cmocka_unit_test_teardown(escaping, reset),
	    cmocka_unit_test_teardown(numbers, reset),
	    cmocka_unit_test_teardown(histogram, reset),
	    cmocka_unit_test_teardown(series_cap, reset),
	    cmocka_unit_test_teardown(long_label_values, reset),
	    cmocka_unit_test_teardown(render_cap, reset),
	    cmocka_unit_test_teardown(threads, reset),
	    cmocka_unit_test_teardown(null_safe, reset),
	    cmocka_unit_test_teardown(remove_series, reset),
	    cmocka_unit_test_teardown(process_series, reset),
	};

	return cmocka_run_group_tests_name("wk_metrics", tests, NULL, NULL);
}
