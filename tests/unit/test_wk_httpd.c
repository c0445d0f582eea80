/* test_wk_httpd.c - the HTTP endpoint: built-in paths, prefix handlers, limits, bad addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <unistd.h>

#include "wk_httpd.h"
#include "wk_metrics.h"

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct wk_buf *b = opaque;

	return wk_buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

/* Returns the HTTP status, or -1 when the transfer failed; body in *body (caller releases). */
static long fetch(const struct wk_httpd *h, const char *method, const char *path,
		  const char *header, const char *post, struct wk_buf *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[8192];
	long status = -1;

	snprintf(url, sizeof(url), "http://%s%s", wk_httpd_addr(h), path);
	wk_buf_init(body, 1 << 24);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (header) {
		hdrs = curl_slist_append(hdrs, header);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return status;
}

static struct wk_httpd *start(void)
{
	char err[256];
	struct wk_httpd *h = wk_httpd_new("127.0.0.1:0", err, sizeof(err));

	if (!h)
		fail_msg("%s", err);
	return h;
}

static void builtins(void **state)
{
	struct wk_httpd *h = start();
	struct wk_metric *m = wk_metric_counter("wukong_httpd_test_total", "Test counter", NULL);
	struct wk_buf b;
	char want[64];

	(void)state;
	assert_true(wk_httpd_port(h) > 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", wk_httpd_port(h));
	assert_string_equal(wk_httpd_addr(h), want);
	wk_metric_inc(m, NULL, 7);
	assert_int_equal(fetch(h, "GET", "/metrics", NULL, NULL, &b), 200);
	assert_non_null(strstr(wk_buf_str(&b), "# TYPE wukong_httpd_test_total counter\n"
					       "wukong_httpd_test_total 7\n"));
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/healthz", NULL, NULL, &b), 200);
	assert_string_equal(wk_buf_str(&b), "ok\n");
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/readyz", NULL, NULL, &b), 503);
	wk_buf_release(&b);
	wk_httpd_set_ready(h, true);
	assert_int_equal(fetch(h, "GET", "/readyz", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "HEAD", "/readyz", NULL, NULL, &b), 200);
	assert_int_equal(b.len, 0);
	wk_buf_release(&b);
	wk_httpd_set_ready(h, false);
	assert_int_equal(fetch(h, "GET", "/readyz", NULL, NULL, &b), 503);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/metrics?x=1", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	wk_httpd_destroy(h);
	wk_httpd_destroy(NULL);
	wk_metrics_reset();
}

static void liveness(void **state)
{
	struct wk_httpd *h = start();
	struct wk_buf b;

	(void)state;
	wk_httpd_set_liveness_timeout(h, 100);
	wk_httpd_heartbeat(h);
	assert_int_equal(fetch(h, "GET", "/healthz", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	usleep(250 * 1000);
	assert_int_equal(fetch(h, "GET", "/healthz", NULL, NULL, &b), 503);
	assert_non_null(strstr(wk_buf_str(&b), "stalled"));
	wk_buf_release(&b);
	wk_httpd_heartbeat(h);
	assert_int_equal(fetch(h, "GET", "/healthz", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	wk_httpd_destroy(h);
}

static void say(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	const char *q = wk_httpd_req_arg(req, "q");
	const char *hd = wk_httpd_req_header(req, "X-Test");

	resp->content_type = "application/json";
	assert_int_equal(wk_buf_addf(&resp->body, "%s path=%s q=%s h=%s", (const char *)opaque,
				     req->path, q ? q : "-", hd ? hd : "-"),
			 0);
}

static void teapot(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	(void)req;
	(void)opaque;
	resp->status = 418;
}

static void bogus_status(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	(void)req;
	(void)opaque;
	resp->status = 1000;
}

static void prefix_handlers(void **state)
{
	struct wk_httpd *h = start();
	struct wk_buf b;
	int i;

	(void)state;
	assert_int_equal(wk_httpd_handle(h, "/api", say, (void *)"short"), 0);
	assert_int_equal(wk_httpd_handle(h, "/api/v1", say, (void *)"long"), 0);
	assert_int_equal(wk_httpd_handle(h, "/tea", teapot, NULL), 0);
	assert_int_equal(wk_httpd_handle(h, "/bogus", bogus_status, NULL), 0);
	assert_int_equal(wk_httpd_handle(h, "/metrics", teapot, NULL), 0); /* built-in still wins */
	assert_int_equal(wk_httpd_handle(h, "noslash", teapot, NULL), -1);
	assert_int_equal(wk_httpd_handle(h, NULL, teapot, NULL), -1);
	assert_int_equal(fetch(h, "GET", "/api/x?q=1", "X-Test: yes", NULL, &b), 200);
	assert_string_equal(wk_buf_str(&b), "short path=/api/x q=1 h=yes");
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/api/v1/pods", NULL, NULL, &b), 200);
	assert_string_equal(wk_buf_str(&b), "long path=/api/v1/pods q=- h=-");
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/tea", NULL, NULL, &b), 418);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/bogus", NULL, NULL, &b), 500);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/metrics", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	for (i = 5; i < 32; i++)
		assert_int_equal(wk_httpd_handle(h, "/more", teapot, NULL), 0);
	assert_int_equal(wk_httpd_handle(h, "/full", teapot, NULL), -1);
	wk_httpd_destroy(h);
}

static void hostile_requests(void **state)
{
	struct wk_httpd *h = start();
	struct wk_buf b;
	char *big = wk_xmalloc(70000);
	long st;

	(void)state;
	assert_int_equal(fetch(h, "GET", "/nope", NULL, NULL, &b), 404);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/", NULL, NULL, &b), 404);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/../../etc/passwd", NULL, NULL, &b), 404);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/metrics/../healthz", NULL, NULL, &b), 404);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/%2e%2e/metrics%00", NULL, NULL, &b), 404);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "POST", "/metrics", NULL, "x=1", &b), 405);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "DELETE", "/healthz", NULL, NULL, &b), 405);
	wk_buf_release(&b);
	assert_int_equal(fetch(h, "GET", "/metrics", "Content-Length: 5", NULL, &b) >= 400, 1);
	wk_buf_release(&b);
	/* A 64 KiB header is far past the 16 KiB request cap. */
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', 65536);
	big[7 + 65536] = '\0';
	st = fetch(h, "GET", "/metrics", big, NULL, &b);
	assert_true(st == -1 || st >= 400);
	wk_buf_release(&b);
	/* So is a 20 KB URL. */
	big[0] = '/';
	memset(big + 1, 'a', 20000);
	big[20001] = '\0';
	st = fetch(h, "GET", big, NULL, NULL, &b);
	assert_true(st == -1 || st >= 400);
	wk_buf_release(&b);
	/* The server is still fine afterwards. */
	assert_int_equal(fetch(h, "GET", "/healthz", NULL, NULL, &b), 200);
	wk_buf_release(&b);
	free(big);
	wk_httpd_destroy(h);
}

static void bad_listen(const char *addr, const char *why)
{
	char err[256] = "";

	assert_null(wk_httpd_new(addr, err, sizeof(err)));
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' lacks '%s'", addr ? addr : "(null)", err, why);
}

static void listen_addresses(void **state)
{
	char err[256], addr[64];
	struct wk_httpd *h, *h2;

	(void)state;
	bad_listen(NULL, "expected host:port");
	bad_listen("", "expected host:port");
	bad_listen("127.0.0.1", "expected host:port");
	bad_listen(":0", "bad host");
	bad_listen("127.0.0.1:", "bad port");
	bad_listen("127.0.0.1:65536", "bad port");
	bad_listen("127.0.0.1:-1", "bad port");
	bad_listen("127.0.0.1:80x", "bad port");
	bad_listen("256.1.1.1:0", "invalid listen address");
	bad_listen("192.0.2.1:0", "cannot listen"); /* not a local address */
	h = wk_httpd_new("localhost:0", err, sizeof(err));
	assert_non_null(h);
	/* The same port twice: the second bind fails cleanly. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", wk_httpd_port(h));
	h2 = wk_httpd_new(addr, err, sizeof(err));
	if (h2) /* localhost may have resolved to ::1; then this one succeeded legitimately */
		wk_httpd_destroy(h2);
	wk_httpd_destroy(h);
	h = wk_httpd_new("127.0.0.1:0", err, sizeof(err));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", wk_httpd_port(h));
	bad_listen(addr, "cannot listen");
	wk_httpd_destroy(h);
	h = wk_httpd_new("[::1]:0", err, sizeof(err));
	if (h) { /* only where the loopback has IPv6 */
		assert_int_equal(strncmp(wk_httpd_addr(h), "[::1]:", 6), 0);
		wk_httpd_destroy(h);
	}
}

/* Addition (issue 24): streamed answers on a threaded endpoint, refused on the default one; the
 * owner's release runs once, after the endpoint stopped. */
struct counter {
	int chunks; /* chunks still to send */
	int *freed; /* set when the stream is freed */
};

static long count_read(void *opaque, char *buf, size_t max)
{
	struct counter *c = opaque;

	if (c->chunks == 0)
		return -1;
	c->chunks--;
	return (long)snprintf(buf, max, "data: %d\n\n", c->chunks);
}

static void count_free(void *opaque)
{
	struct counter *c = opaque;

	(*c->freed)++;
	free(c);
}

static int stream_freed;

static void streamer(const struct wk_httpd_req *req, struct wk_httpd_resp *resp, void *opaque)
{
	struct counter *c = malloc(sizeof(*c));

	(void)req;
	(void)opaque;
	c->chunks = 3;
	c->freed = &stream_freed;
	resp->content_type = "text/event-stream";
	resp->stream.read = count_read;
	resp->stream.free = count_free;
	resp->stream.opaque = c;
}

static int released;

static void release(void *opaque)
{
	assert_ptr_equal(opaque, &released);
	released++;
}

static void streams(void **state)
{
	char err[256];
	struct wk_httpd *h = wk_httpd_new_flags("127.0.0.1:0", WK_HTTPD_THREADED, err, sizeof(err));
	struct wk_httpd *plain = start();
	struct wk_buf body;

	(void)state;
	assert_non_null(h);
	stream_freed = released = 0;
	assert_int_equal(wk_httpd_handle_owned(h, "/s", streamer, &released, release), 0);
	assert_int_equal(fetch(h, "GET", "/s", NULL, NULL, &body), 200);
	assert_string_equal(wk_buf_str(&body), "data: 2\n\ndata: 1\n\ndata: 0\n\n");
	wk_buf_release(&body);
	assert_int_equal(fetch(h, "GET", "/metrics", NULL, NULL, &body), 200);
	wk_buf_release(&body);
	/* The default endpoint (one thread for all) cannot wait on a stream: 500, and the stream
	 * handed over is still freed. */
	assert_int_equal(wk_httpd_handle(plain, "/s", streamer, NULL), 0);
	assert_int_equal(fetch(plain, "GET", "/s", NULL, NULL, &body), 500);
	wk_buf_release(&body);
	assert_int_equal(released, 0);
	wk_httpd_destroy(h);
	wk_httpd_destroy(plain);
	assert_int_equal(stream_freed, 2);
	assert_int_equal(released, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtins),		cmocka_unit_test(liveness),
	    cmocka_unit_test(prefix_handlers),	cmocka_unit_test(hostile_requests),
	    cmocka_unit_test(listen_addresses), cmocka_unit_test(streams),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("wk_httpd", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
