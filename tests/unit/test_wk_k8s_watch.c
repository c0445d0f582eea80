/* test_wk_k8s_watch.c - watch stream framing (line cap) and watch event parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <time.h>

#include "wk_k8s_watch.h"

struct seen {
	int lines, oversized;
	size_t last_len, over_len;
	char last[256];
	int stop_after;
};

static int collect(const char *line, size_t len, void *opaque)
{
	struct seen *s = opaque;

	if (!line) {
		s->oversized++;
		s->over_len = len;
		return 0;
	}
	s->lines++;
	s->last_len = len;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)(len < 255 ? len : 255), line);
	return s->stop_after && s->lines >= s->stop_after ? 7 : 0;
}

static void lines_split_across_chunks(void **state)
{
	struct wk_k8s_lines l;
	struct seen s = {0};
	const char *stream = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"";

	(void)state;
	wk_k8s_lines_init(&l, 64);
	for (size_t i = 0; stream[i]; i++) /* one byte at a time: worst case framing */
		assert_int_equal(wk_k8s_lines_feed(&l, stream + i, 1, collect, &s), 0);
	assert_int_equal(s.lines, 2);
	assert_string_equal(s.last, "{\"b\":2}");      /* "\r\n" stripped */
	assert_int_equal(wk_k8s_lines_pending(&l), 4); /* truncated tail held */
	assert_int_equal(wk_k8s_lines_feed(&l, ":3}\n", 4, collect, &s), 0);
	assert_string_equal(s.last, "{\"c\":3}");
	assert_int_equal(wk_k8s_lines_pending(&l), 0);
	assert_int_equal(wk_k8s_lines_feed(&l, "", 0, collect, &s), 0); /* empty */
	wk_k8s_lines_release(&l);
}

static void lines_at_cap_and_over(void **state)
{
	struct wk_k8s_lines l;
	struct seen s = {0};
	size_t cap = 1000;
	char *big = wk_xmalloc(cap + 10);

	(void)state;
	wk_k8s_lines_init(&l, cap);
	memset(big, 'x', cap + 10);
	/* exactly at the cap: accepted, whole or split */
	big[cap] = '\n';
	assert_int_equal(wk_k8s_lines_feed(&l, big, cap + 1, collect, &s), 0);
	assert_int_equal(s.lines, 1);
	assert_int_equal(s.last_len, cap);
	assert_int_equal(wk_k8s_lines_feed(&l, big, 500, collect, &s), 0);
	assert_int_equal(wk_k8s_lines_feed(&l, big + 500, cap + 1 - 500, collect, &s), 0);
	assert_int_equal(s.lines, 2);
	assert_int_equal(s.last_len, cap);
	/* at the cap with "\r\n" */
	big[cap] = '\r';
	big[cap + 1] = '\n';
	assert_int_equal(wk_k8s_lines_feed(&l, big, 10, collect, &s), 0);
	assert_int_equal(wk_k8s_lines_feed(&l, big + 10, cap + 2 - 10, collect, &s), 0);
	assert_int_equal(s.lines, 3);
	assert_int_equal(s.last_len, cap);
	assert_int_equal(s.oversized, 0);
	/* cap + 1 in one chunk */
	big[cap] = 'x';
	big[cap + 1] = '\n';
	assert_int_equal(wk_k8s_lines_feed(&l, big, cap + 2, collect, &s), 0);
	assert_int_equal(s.oversized, 1);
	assert_int_equal(s.lines, 3);
	/* cap + 1 split: reported once, the rest of it dropped, the next line is fine */
	for (size_t i = 0; i < cap + 1; i += 100)
		assert_int_equal(
		    wk_k8s_lines_feed(&l, big, i + 100 > cap + 1 ? cap + 1 - i : 100, collect, &s),
		    0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(wk_k8s_lines_feed(&l, big, 100, collect, &s), 0);
	assert_int_equal(s.oversized, 2);
	assert_int_equal(wk_k8s_lines_feed(&l, "\n{\"ok\":1}\n", 10, collect, &s), 0);
	assert_int_equal(s.oversized, 2);
	assert_int_equal(s.lines, 4);
	assert_string_equal(s.last, "{\"ok\":1}");
	wk_k8s_lines_release(&l);
	free(big);
}

static void lines_callback_stops(void **state)
{
	struct wk_k8s_lines l;
	struct seen s = {.stop_after = 1};

	(void)state;
	wk_k8s_lines_init(&l, 0);
	assert_int_equal(l.max_line, WK_K8S_WATCH_MAX_LINE);
	assert_int_equal(wk_k8s_lines_feed(&l, "a\nb\nc\n", 6, collect, &s), 7);
	assert_int_equal(s.lines, 1);
	wk_k8s_lines_release(&l);
}

static int parse(const char *line, struct wk_k8s_event *ev, const char **reason)
{
	char err[128];

	return wk_k8s_event_parse(line, strlen(line), ev, reason, err, sizeof(err));
}

static void events_valid(void **state)
{
	struct wk_k8s_event ev;
	const char *reason;
	const cJSON *name;

	(void)state;
	assert_int_equal(parse("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Wukong\",\"metadata\":"
			       "{\"name\":\"wk1\",\"resourceVersion\":\"108\"}}}",
			       &ev, &reason),
			 0);
	assert_int_equal(ev.type, WK_K8S_EV_ADDED);
	assert_string_equal(ev.rv, "108");
	name = cJSON_GetObjectItem(cJSON_GetObjectItem(ev.object, "metadata"), "name");
	assert_string_equal(name->valuestring, "wk1");
	wk_k8s_event_release(&ev);
	assert_int_equal(parse("{\"type\":\"DELETED\",\"object\":{\"metadata\":{}}}", &ev, &reason),
			 0);
	assert_int_equal(ev.type, WK_K8S_EV_DELETED);
	assert_null(ev.rv);
	wk_k8s_event_release(&ev);
	assert_int_equal(
	    parse("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Wukong\",\"metadata\":"
		  "{\"resourceVersion\":\"115\",\"creationTimestamp\":null}}}",
		  &ev, &reason),
	    0);
	assert_int_equal(ev.type, WK_K8S_EV_BOOKMARK);
	assert_string_equal(ev.rv, "115");
	wk_k8s_event_release(&ev);
	assert_string_equal(wk_k8s_event_type_name(WK_K8S_EV_MODIFIED), "MODIFIED");
	assert_string_equal(wk_k8s_event_type_name(WK_K8S_EV_RELIST_END), "RELIST_END");
}

static void events_error_410(void **state)
{
	struct wk_k8s_event ev;
	const char *reason;

	(void)state;
	assert_int_equal(
	    parse("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
		  "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old "
		  "resource version: 101 (107)\",\"reason\":\"Expired\",\"code\":410}}",
		  &ev, &reason),
	    0);
	assert_int_equal(ev.type, WK_K8S_EV_ERROR);
	assert_int_equal(ev.status.code, 410);
	assert_string_equal(ev.status.reason, "Expired");
	wk_k8s_event_release(&ev);
	assert_int_equal(parse("{\"type\":\"ERROR\",\"object\":{\"code\":500}}", &ev, &reason), 0);
	assert_int_equal(ev.type, WK_K8S_EV_ERROR);
	assert_int_equal(ev.status.code, 0); /* not a Status: a generic error, never 410 */
	wk_k8s_event_release(&ev);
}

static void events_bad(void **state)
{
	static const struct {
		const char *line, *reason;
	} bad[] = {
	    {"", "json"},
	    {"garbage", "json"},
	    {"{\"type\":\"ADDED\",\"object\":{\"metadata\":", "json"}, /* truncated */
	    {"[1,2]", "json"},
	    {"\"ADDED\"", "json"},
	    {"{}", "type"},
	    {"{\"type\":5,\"object\":{}}", "type"},
	    {"{\"type\":\"RENAMED\",\"object\":{}}", "type"},
	    {"{\"type\":\"added\",\"object\":{}}", "type"},
	    {"{\"type\":\"ADDED\"}", "object"},
	    {"{\"type\":\"ADDED\",\"object\":[]}", "object"},
	    {"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}", "object"},
	};
	struct wk_k8s_event ev;
	const char *reason;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		if (parse(bad[i].line, &ev, &reason) != -1)
			fail_msg("accepted '%s'", bad[i].line);
		assert_string_equal(reason, bad[i].reason);
		assert_null(ev.root);
	}
}

static void events_deep_nesting(void **state)
{
	size_t n = 100000;
	char *s = wk_xmalloc(2 * n + 64);
	struct wk_k8s_event ev;
	const char *reason;
	size_t len;

	(void)state;
	len = (size_t)sprintf(s, "{\"type\":\"ADDED\",\"object\":");
	memset(s + len, '[', n);
	memset(s + len + n, ']', n);
	strcpy(s + len + 2 * n, "}");
	assert_int_equal(parse(s, &ev, &reason), -1); /* cJSON's nesting limit, no stack overflow */
	free(s);
}

static void wakeup_interrupts_poll(void **state)
{
	struct wk_kubeconfig kc;
	struct wk_k8s *c;
	struct timespec a, b;
	char err[256];
	long ms;

	(void)state;
	wk_kubeconfig_init(&kc);
	kc.server = wk_xstrdup("http://127.0.0.1:1");
	c = wk_k8s_new(&kc, NULL, err, sizeof(err));
	assert_non_null(c);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(wk_k8s_poll(c, 200), 0); /* no watches: just waits */
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 150);
	wk_k8s_wakeup(c);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(wk_k8s_poll(c, 5000), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms < 1000);
	wk_k8s_destroy(c);
}

static void watch_refuses_hostile_namespace(void **state)
{
	static const struct wk_k8s_resource wk = {"demo.example.com", "v1", "wukongs", true,
						  "Wukong"};
	struct wk_kubeconfig kc;
	struct wk_k8s *c;
	char err[256];

	(void)state;
	wk_kubeconfig_init(&kc);
	kc.server = wk_xstrdup("http://127.0.0.1:1");
	c = wk_k8s_new(&kc, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_null(wk_k8s_watch_new(c, &wk, "../kube-system", NULL, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "refused"));
	assert_null(
	    wk_k8s_watch_new(c, &wk_res_nodes, "default", NULL, NULL, NULL, err, sizeof(err)));
	wk_k8s_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_split_across_chunks),
	    cmocka_unit_test(lines_at_cap_and_over),
	    cmocka_unit_test(lines_callback_stops),
	    cmocka_unit_test(events_valid),
	    cmocka_unit_test(events_error_410),
	    cmocka_unit_test(events_bad),
	    cmocka_unit_test(events_deep_nesting),
	    cmocka_unit_test(wakeup_interrupts_poll),
	    cmocka_unit_test(watch_refuses_hostile_namespace),
	};
	return cmocka_run_group_tests_name("wk_k8s_watch", tests, NULL, NULL);
}
