/* test_wk_k8s.c - request paths and name checks, Status parsing, classification, Retry-After. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <time.h>
#include <unistd.h>

#include "wk_config.h"
#include "wk_k8s.h"
#include "wk_log.h"

static const struct wk_k8s_resource wukongs = {"demo.example.com", "v1", "wukongs", true, "Wukong"};

static char *path(const struct wk_k8s_resource *res, const char *ns, const char *name,
		  const char *sub)
{
	static char out[1024];
	struct wk_buf b;
	char err[256];
	int r;

	wk_buf_init(&b, 0);
	r = wk_k8s_path(&b, res, ns, name, sub, err, sizeof(err));
	snprintf(out, sizeof(out), "%s", r == 0 ? wk_buf_str(&b) : err);
	wk_buf_release(&b);
	return r == 0 ? out : NULL;
}

static void paths(void **state)
{
	(void)state;
	assert_string_equal(path(&wukongs, "default", NULL, NULL),
			    "/apis/demo.example.com/v1/namespaces/default/wukongs");
	assert_string_equal(path(&wukongs, "default", "wk1", NULL),
			    "/apis/demo.example.com/v1/namespaces/default/wukongs/wk1");
	assert_string_equal(path(&wukongs, "default", "wk1", "status"),
			    "/apis/demo.example.com/v1/namespaces/default/wukongs/wk1/status");
	assert_string_equal(path(&wukongs, NULL, NULL, NULL), "/apis/demo.example.com/v1/wukongs");
	assert_string_equal(path(&wk_res_nodes, NULL, "node-a", NULL), "/api/v1/nodes/node-a");
	assert_string_equal(path(&wk_res_pods, "kube-system", NULL, NULL),
			    "/api/v1/namespaces/kube-system/pods");
	assert_string_equal(path(&wk_res_leases, "wukong-system", "ctrl", NULL),
			    "/apis/coordination.k8s.io/v1/namespaces/wukong-system/leases/ctrl");
	assert_string_equal(path(&wk_res_events, "default", "wk1.1879f3a2b4c5d6e7", NULL),
			    "/api/v1/namespaces/default/events/wk1.1879f3a2b4c5d6e7");
}

static void hostile_names_refused(void **state)
{
	static const char *const names[] = {
	    "../../api/v1/secrets",
	    "a/b",
	    "..",
	    ".",
	    "",
	    "A",
	    "wk1?watch=1",
	    "wk1#x",
	    "wk 1",
	    "wk%2f1",
	    "-wk",
	    "wk-",
	    "wk\n1",
	    "wk1/status",
	    "\xc3\xa9t\xc3\xa9",
	};
	static const char *const namespaces[] = {"../kube-system", "a.b", "Default", "",
						 "ns/x",	   "ns?x"};
	char long_name[300], long_ns[80];

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(names); i++) {
		if (path(&wukongs, "default", names[i], NULL))
			fail_msg("name '%s' accepted", names[i]);
	}
	for (size_t i = 0; i < WK_ARRAY_SIZE(namespaces); i++) {
		if (path(&wukongs, namespaces[i], "wk1", NULL))
			fail_msg("namespace '%s' accepted", namespaces[i]);
	}
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	assert_null(path(&wukongs, "default", long_name, NULL));
	long_name[253] = '\0';
	assert_non_null(path(&wukongs, "default", long_name, NULL)); /* at the cap */
	memset(long_ns, 'a', 64);
	long_ns[64] = '\0';
	assert_null(path(&wukongs, long_ns, "x", NULL));
	long_ns[63] = '\0';
	assert_non_null(path(&wukongs, long_ns, "x", NULL));
	assert_null(path(&wukongs, "default", "wk1", "status/../x"));
	assert_null(path(&wukongs, "default", NULL, "status")); /* subresource needs a name */
	assert_null(path(&wukongs, NULL, "wk1", NULL));		/* namespaced needs ns */
	assert_null(path(&wk_res_nodes, "default", "n", NULL)); /* cluster-scoped */
	{
		const struct wk_k8s_resource bad_group = {"../x", "v1", "y", true, "Y"};
		const struct wk_k8s_resource bad_plural = {"", "v1", "pods/../../x", true, "Pod"};
		const struct wk_k8s_resource bad_version = {"", "v1/..", "pods", true, "Pod"};

		assert_null(path(&bad_group, "d", NULL, NULL));
		assert_null(path(&bad_plural, "d", NULL, NULL));
		assert_null(path(&bad_version, "d", NULL, NULL));
	}
}

/* A client that would fail to connect: a refused name must never get that far. */
static void refused_before_any_request(void **state)
{
	struct wk_kubeconfig kc;
	struct wk_k8s_result res;
	struct wk_k8s_options o = {.max_retries = -1, .connect_timeout_ms = 200};
	struct wk_k8s *c;
	char err[512];
	cJSON *obj = cJSON_Parse("{\"metadata\":{}}");

	(void)state;
	wk_kubeconfig_init(&kc);
	kc.server = wk_xstrdup("http://127.0.0.1:1");
	c = wk_k8s_new(&kc, &o, err, sizeof(err));
	assert_non_null(c);
	assert_null(kc.server); /* taken over */
	assert_int_equal(
	    wk_k8s_get(c, &wukongs, "default", "../../api/v1/secrets", &res, err, sizeof(err)), -1);
	assert_int_equal(res.err, WK_K8S_EREFUSED);
	assert_int_equal(res.attempts, 0);
	assert_int_equal(res.http_code, 0);
	assert_non_null(strstr(err, "refused"));
	wk_k8s_result_release(&res);
	assert_int_equal(wk_k8s_patch(c, &wukongs, "../x", "wk1", "status", WK_K8S_PATCH_MERGE,
				      "{}", &res, err, sizeof(err)),
			 -1);
	assert_int_equal(res.err, WK_K8S_EREFUSED);
	assert_int_equal(wk_k8s_delete(c, &wukongs, "default", "a/b", NULL, &res, err, sizeof(err)),
			 -1);
	assert_int_equal(res.err, WK_K8S_EREFUSED);
	assert_int_equal(
	    wk_k8s_replace(c, &wukongs, "default", "x", "../status", obj, &res, err, sizeof(err)),
	    -1);
	assert_int_equal(res.err, WK_K8S_EREFUSED);
	assert_int_equal(wk_k8s_create(c, &wukongs, "NS", obj, &res, err, sizeof(err)), -1);
	assert_int_equal(res.err, WK_K8S_EREFUSED);
	/* a valid name does reach the transport and fails there */
	assert_int_equal(wk_k8s_get(c, &wukongs, "default", "wk1", &res, err, sizeof(err)), -1);
	assert_int_equal(res.err, WK_K8S_ETRANSPORT);
	assert_int_equal(res.attempts, 1);
	wk_k8s_result_release(&res);
	cJSON_Delete(obj);
	wk_k8s_destroy(c);
	wk_k8s_destroy(NULL);
}

static int cancel_calls;

static bool cancel_after_two(void *opaque)
{
	(void)opaque;
	return ++cancel_calls > 2;
}

/* A GET against a closed port is retried with backoff; a cancel cuts the wait short. */
static void cancel_stops_retries(void **state)
{
	struct wk_kubeconfig kc;
	struct wk_k8s_result res;
	struct wk_k8s_options o = {
	    .backoff_base_ms = 4000, .backoff_max_ms = 4000, .cancel = cancel_after_two};
	struct timespec a, b;
	struct wk_k8s *c;
	char err[512];
	long ms;

	(void)state;
	wk_kubeconfig_init(&kc);
	kc.server = wk_xstrdup("http://127.0.0.1:1");
	c = wk_k8s_new(&kc, &o, err, sizeof(err));
	assert_non_null(c);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(wk_k8s_get(c, &wukongs, "default", "wk1", &res, err, sizeof(err)), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_int_equal(res.err, WK_K8S_ECANCELLED);
	assert_int_equal(res.attempts, 1);
	assert_non_null(strstr(err, "cancelled"));
	assert_true(ms < 1500); /* not the 2-4 s backoff */
	assert_string_equal(wk_k8s_err_name(res.err), "Cancelled");
	wk_k8s_result_release(&res);
	wk_k8s_destroy(c);
}

static void query_escaping(void **state)
{
	struct wk_buf b;

	(void)state;
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_adds(&b, "/api/v1/pods"), 0);
	wk_k8s_query_add(&b, "labelSelector", "app in (a,b),!x");
	wk_k8s_query_add(&b, "continue", "eyJ2Ijoi&x=1");
	assert_string_equal(wk_buf_str(&b),
			    "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2C%21x"
			    "&continue=eyJ2Ijoi%26x%3D1");
	wk_buf_release(&b);
}

static void status_parsing(void **state)
{
	struct wk_k8s_status st;
	const char *conflict =
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	    "\"message\":\"Operation cannot be fulfilled on wukongs.demo.example.com \\\"wk1\\\": "
	    "the object has been modified\",\"reason\":\"Conflict\",\"details\":{\"name\":\"wk1\","
	    "\"group\":\"demo.example.com\",\"kind\":\"wukongs\",\"retryAfterSeconds\":3},"
	    "\"code\":409}";
	char big[2000];

	(void)state;
	assert_int_equal(wk_k8s_status_parse(conflict, strlen(conflict), &st), 0);
	assert_int_equal(st.code, 409);
	assert_string_equal(st.reason, "Conflict");
	assert_string_equal(st.status, "Failure");
	assert_string_equal(st.name, "wk1");
	assert_string_equal(st.kind, "wukongs");
	assert_int_equal(st.retry_after_s, 3);
	assert_non_null(strstr(st.message, "has been modified"));
	assert_int_equal(wk_k8s_status_parse("", 0, &st), -1);
	assert_int_equal(wk_k8s_status_parse("<html>502</html>", 16, &st), -1);
	assert_int_equal(wk_k8s_status_parse(conflict, 40, &st), -1); /* truncated */
	assert_int_equal(wk_k8s_status_parse("{\"kind\":\"Wukong\"}", 17, &st), -1);
	assert_int_equal(wk_k8s_status_parse("{\"kind\":\"Status\",\"code\":1e300}", 31, &st), 0);
	assert_int_equal(st.code, 0);
	assert_int_equal(wk_k8s_status_parse("{\"kind\":\"Status\",\"reason\":5}", 28, &st), 0);
	assert_string_equal(st.reason, "");
	snprintf(big, sizeof(big), "{\"kind\":\"Status\",\"message\":\"%01500d\",\"code\":500}", 7);
	assert_int_equal(wk_k8s_status_parse(big, strlen(big), &st), 0);
	assert_int_equal(strlen(st.message), sizeof(st.message) - 1);
	assert_int_equal(st.code, 500);
}

static void classification(void **state)
{
	(void)state;
	assert_int_equal(wk_k8s_classify(200, NULL), WK_K8S_OK);
	assert_int_equal(wk_k8s_classify(201, NULL), WK_K8S_OK);
	assert_int_equal(wk_k8s_classify(404, "NotFound"), WK_K8S_ENOTFOUND);
	assert_int_equal(wk_k8s_classify(409, "AlreadyExists"), WK_K8S_EALREADYEXISTS);
	assert_int_equal(wk_k8s_classify(409, "Conflict"), WK_K8S_ECONFLICT);
	assert_int_equal(wk_k8s_classify(409, NULL), WK_K8S_ECONFLICT);
	assert_int_equal(wk_k8s_classify(410, "Expired"), WK_K8S_EGONE);
	assert_int_equal(wk_k8s_classify(422, "Invalid"), WK_K8S_EINVALID);
	assert_int_equal(wk_k8s_classify(403, "Forbidden"), WK_K8S_EFORBIDDEN);
	assert_int_equal(wk_k8s_classify(401, NULL), WK_K8S_EUNAUTHORIZED);
	assert_int_equal(wk_k8s_classify(415, NULL), WK_K8S_EUNSUPPORTED);
	assert_int_equal(wk_k8s_classify(429, NULL), WK_K8S_ETOOMANY);
	assert_int_equal(wk_k8s_classify(503, NULL), WK_K8S_ESERVER);
	assert_int_equal(wk_k8s_classify(418, NULL), WK_K8S_EOTHER);
	assert_int_equal(wk_k8s_classify(302, NULL), WK_K8S_EOTHER);
	assert_string_equal(wk_k8s_err_name(WK_K8S_ECONFLICT), "Conflict");
	assert_string_equal(wk_k8s_err_name((enum wk_k8s_err)99), "Unknown");
}

static void retry_after(void **state)
{
	long s;
	int64_t now = 1700000000;
	char date[64];
	time_t t = (time_t)now + 20;
	struct tm tm;

	(void)state;
	assert_int_equal(wk_k8s_retry_after_parse("5", now, 30, &s), 0);
	assert_int_equal(s, 5);
	assert_int_equal(wk_k8s_retry_after_parse(" 7 ", now, 30, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(wk_k8s_retry_after_parse("0", now, 30, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(wk_k8s_retry_after_parse("3600", now, 30, &s), 0);
	assert_int_equal(s, 30); /* capped */
	assert_int_equal(wk_k8s_retry_after_parse("99999999999999999999999", now, 30, &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(wk_k8s_retry_after_parse("", now, 30, &s), -1);
	assert_int_equal(wk_k8s_retry_after_parse("-1", now, 30, &s), -1);
	assert_int_equal(wk_k8s_retry_after_parse("5x", now, 30, &s), -1);
	assert_int_equal(wk_k8s_retry_after_parse("soon", now, 30, &s), -1);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(wk_k8s_retry_after_parse(date, now, 30, &s), 0);
	assert_int_equal(s, 20);
	assert_int_equal(wk_k8s_retry_after_parse(date, now + 100, 30, &s), 0);
	assert_int_equal(s, 0); /* in the past */
}

static void backoff_bounds(void **state)
{
	(void)state;
	for (int a = 0; a < 100; a++) {
		long base = 100, max = 5000, full = base;
		long d = wk_k8s_backoff_ms(a, base, max);

		for (int i = 0; i < a && full < max; i++)
			full *= 2;
		if (full > max)
			full = max;
		assert_true(d >= full / 2);
		assert_true(d <= full);
	}
	assert_true(wk_k8s_backoff_ms(1000000, 1, 10) <= 10);
}

/* The client from a service configuration: kube.config and kube.context are honoured, and a
 * bad path, a missing context or a garbage file is an error, not a client. */
static void from_config(void **state)
{
	char dir[] = "/tmp/wk-k8s-cfg.XXXXXX", path_kc[128], err[512];
	struct wk_config *cfg = wk_config_new();
	struct wk_k8s *c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path_kc, sizeof(path_kc), "%s/kubeconfig", dir);
	f = fopen(path_kc, "w");
	assert_non_null(f);
	fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
		   "clusters:\n- name: ca\n  cluster: {server: 'http://127.0.0.1:1'}\n"
		   "- name: cb\n  cluster: {server: 'http://127.0.0.2:2'}\n"
		   "users:\n- name: u\n  user: {}\n"
		   "contexts:\n- name: a\n  context: {cluster: ca, user: u, namespace: na}\n"
		   "- name: b\n  context: {cluster: cb, user: u}\n");
	fclose(f);
	wk_config_set(cfg, "kube.config", path_kc);
	c = wk_k8s_new_from_config(cfg, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(wk_k8s_server(c), "http://127.0.0.1:1");
	assert_string_equal(wk_k8s_namespace(c), "na");
	wk_k8s_destroy(c);
	wk_config_set(cfg, "kube.context", "b");
	c = wk_k8s_new_from_config(cfg, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(wk_k8s_server(c), "http://127.0.0.2:2");
	wk_k8s_destroy(c);
	wk_config_set(cfg, "kube.context", "no-such-context");
	err[0] = '\0';
	assert_null(wk_k8s_new_from_config(cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-context"));
	wk_config_set(cfg, "kube.context", "");
	f = fopen(path_kc, "w");
	assert_non_null(f);
	fprintf(f, "{[: not yaml");
	fclose(f);
	assert_null(wk_k8s_new_from_config(cfg, NULL, err, sizeof(err)));
	unlink(path_kc);
	rmdir(dir);
	wk_config_set(cfg, "kube.config", "/nonexistent/kubeconfig");
	assert_null(wk_k8s_new_from_config(cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/kubeconfig"));
	wk_config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paths),
	    cmocka_unit_test(hostile_names_refused),
	    cmocka_unit_test(refused_before_any_request),
	    cmocka_unit_test(cancel_stops_retries),
	    cmocka_unit_test(query_escaping),
	    cmocka_unit_test(status_parsing),
	    cmocka_unit_test(classification),
	    cmocka_unit_test(retry_after),
	    cmocka_unit_test(backoff_bounds),
	    cmocka_unit_test(from_config),
	};
	wk_log_init("test", WK_LOG_ERROR);
	return cmocka_run_group_tests_name("wk_k8s", tests, NULL, NULL);
}
