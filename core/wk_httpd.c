/* wk_httpd.c - /metrics, /healthz, /readyz and prefix handlers on libmicrohttpd. */
#include "wk_httpd.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define HANDLERS_MAX 32
#define CONN_MEMORY_LIMIT (16 * 1024)
#define CONN_LIMIT 64
#define CONN_TIMEOUT_S 10
#define DEFAULT_TYPE "text/plain; charset=utf-8"

struct handler {
	char *prefix;
	size_t len;
	wk_httpd_handler *fn;
	void *opaque;
	void (*release)(void *opaque);
};

struct wk_httpd {
	struct MHD_Daemon *d;
	int port;
	char addr[300];
	pthread_mutex_t lock; /* handlers */
	struct handler handlers[HANDLERS_MAX];
	size_t nhandlers;
	atomic_bool ready;
	atomic_llong last_beat_ms;
	atomic_llong liveness_ms;
	bool threaded;
};

const char *wk_httpd_req_arg(const struct wk_httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *wk_httpd_req_header(const struct wk_httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static void text(struct wk_httpd_resp *resp, int status, const char *s)
{
	resp->status = status;
	wk_buf_reset(&resp->body);
	if (wk_buf_adds(&resp->body, s) < 0)
		WK_BUG("short status text exceeded the body cap");
}

static void serve_metrics(struct wk_httpd_resp *resp)
{
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (wk_metrics_render(&resp->body) < 0)
		text(resp, 500, "metrics exceed the response cap\n");
}

static void serve_healthz(struct wk_httpd *h, struct wk_httpd_resp *resp)
{
	long long limit = atomic_load(&h->liveness_ms);
	long long age = wk_time_mono_ms() - atomic_load(&h->last_beat_ms);

	if (limit > 0 && age > limit) {
		resp->status = 503;
		if (wk_buf_addf(&resp->body, "stalled: no loop iteration for %lld ms\n", age) < 0)
			WK_BUG("short status text exceeded the body cap");
		return;
	}
	text(resp, 200, "ok\n");
}

static bool find_handler(struct wk_httpd *h, const char *path, struct handler *out)
{
	size_t i, best = 0;
	bool found = false;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nhandlers; i++) {
		const struct handler *x = &h->handlers[i];

		if (x->len > best && strncmp(path, x->prefix, x->len) == 0) {
			*out = *x;
			best = x->len;
			found = true;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct wk_httpd_stream *s = cls;
	long n;

	(void)pos;
	n = s->read(s->opaque, buf, max);
	if (n <= 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)(n > (long)max ? (long)max : n);
}

static void stream_free(void *cls)
{
	struct wk_httpd_stream *s = cls;

	if (s->free)
		s->free(s->opaque);
	free(s);
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct wk_httpd_resp *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *body;

	if (resp->stream.read) {
		struct wk_httpd_stream *s = wk_xmalloc(sizeof(*s));

		*s = resp->stream;
		memset(&resp->stream, 0, sizeof(resp->stream));
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s,
						      stream_free);
		if (!r) {
			stream_free(s);
			return MHD_NO;
		}
	} else {
		body = wk_buf_take(&resp->body, &len);
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!r) {
			free(body);
			return MHD_NO;
		}
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : DEFAULT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				resp->cache_control ? resp->cache_control : "no-store");
	if (resp->status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct wk_httpd *h = cls;
	struct wk_httpd_req req = {.method = method, .path = url, .conn = conn};
	struct wk_httpd_resp resp = {.status = 200, .content_type = NULL};
	struct handler hd;
	const char *clen;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	wk_buf_init(&resp.body, WK_HTTPD_BODY_MAX);
	/* Answer on the first call: nothing here reads a body, so none is waited for. */
	clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		text(&resp, 405, "method not allowed\n");
	else if ((clen && strcmp(clen, "0") != 0) || *upload_data_size ||
		 MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_TRANSFER_ENCODING))
		text(&resp, 413, "request body not accepted\n");
	else if (strcmp(url, "/metrics") == 0)
		serve_metrics(&resp);
	else if (strcmp(url, "/healthz") == 0)
		serve_healthz(h, &resp);
	else if (strcmp(url, "/readyz") == 0)
		text(&resp, atomic_load(&h->ready) ? 200 : 503,
		     atomic_load(&h->ready) ? "ready\n" : "not ready\n");
	else if (find_handler(h, url, &hd))
		hd.fn(&req, &resp, hd.opaque);
	else
		text(&resp, 404, "not found\n");
	if (resp.stream.read && (!h->threaded || resp.status != 200)) {
		if (resp.stream.free)
			resp.stream.free(resp.stream.opaque);
		memset(&resp.stream, 0, sizeof(resp.stream));
		text(&resp, 500, "streamed answer needs a threaded endpoint\n");
	}
	if (resp.status < 100 || resp.status > 599) {
		if (resp.stream.read && resp.stream.free)
			resp.stream.free(resp.stream.opaque);
		memset(&resp.stream, 0, sizeof(resp.stream));
		text(&resp, 500, "handler returned an invalid status\n");
	}
	ret = respond(conn, &resp);
	wk_buf_release(&resp.body);
	return ret;
}

/* "host:port", "[v6]:port" -> sockaddr. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen, bool *v6,
			char *errstr, size_t errstr_size)
{
	struct addrinfo hints = {0}, *res = NULL;
	char host[256], *end;
	const char *colon, *h = listen;
	size_t hlen;
	long port;
	int rc;

	colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon)
		return wk_err(errstr, errstr_size,
			      "invalid listen address '%.80s': expected host:port",
			      listen ? listen : "");
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return wk_err(errstr, errstr_size, "invalid listen address '%.80s': bad host",
			      listen);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return wk_err(errstr, errstr_size, "invalid listen address '%.80s': bad port",
			      listen);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		return wk_err(errstr, errstr_size, "invalid listen address '%.80s': %s", listen,
			      gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

struct wk_httpd *wk_httpd_new(const char *listen, char *errstr, size_t errstr_size)
{
	return wk_httpd_new_flags(listen, 0, errstr, errstr_size);
}

struct wk_httpd *wk_httpd_new_flags(const char *listen, unsigned wflags, char *errstr,
				    size_t errstr_size)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	bool v6 = false;
	struct wk_httpd *h;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (parse_listen(listen, &ss, &sslen, &v6, errstr, errstr_size) < 0)
		return NULL;
	h = wk_xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	atomic_store(&h->last_beat_ms, wk_time_mono_ms());
	if (v6)
		flags |= MHD_USE_IPv6;
	if (wflags & WK_HTTPD_THREADED) {
		flags |= MHD_USE_THREAD_PER_CONNECTION;
		h->threaded = true;
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)CONN_MEMORY_LIMIT, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)CONN_TIMEOUT_S, MHD_OPTION_END);
	if (!h->d) {
		wk_err(errstr, errstr_size,
		       "cannot listen on '%.80s': address in use, not local, or "
		       "not permitted",
		       listen);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	if (v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	snprintf(h->addr, sizeof(h->addr), v6 ? "[%s]:%d" : "%s:%d", host, h->port);
	return h;
}

void wk_httpd_destroy(struct wk_httpd *h)
{
	size_t i;

	if (!h)
		return;
	MHD_stop_daemon(h->d);
	for (i = 0; i < h->nhandlers; i++) {
		if (h->handlers[i].release)
			h->handlers[i].release(h->handlers[i].opaque);
		free(h->handlers[i].prefix);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int wk_httpd_port(const struct wk_httpd *h)
{
	return h->port;
}

const char *wk_httpd_addr(const struct wk_httpd *h)
{
	return h->addr;
}

int wk_httpd_handle(struct wk_httpd *h, const char *prefix, wk_httpd_handler *fn, void *opaque)
{
	return wk_httpd_handle_owned(h, prefix, fn, opaque, NULL);
}

int wk_httpd_handle_owned(struct wk_httpd *h, const char *prefix, wk_httpd_handler *fn,
			  void *opaque, void (*release)(void *opaque))
{
	int rc = -1;

	if (!prefix || prefix[0] != '/' || !fn)
		return -1;
	pthread_mutex_lock(&h->lock);
	if (h->nhandlers < HANDLERS_MAX) {
		struct handler *x = &h->handlers[h->nhandlers++];

		x->prefix = wk_xstrdup(prefix);
		x->len = strlen(prefix);
		x->fn = fn;
		x->opaque = opaque;
		x->release = release;
		rc = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void wk_httpd_set_ready(struct wk_httpd *h, bool ready)
{
	atomic_store(&h->ready, ready);
}

void wk_httpd_heartbeat(struct wk_httpd *h)
{
	atomic_store(&h->last_beat_ms, wk_time_mono_ms());
}

void wk_httpd_set_liveness_timeout(struct wk_httpd *h, int64_t timeout_ms)
{
	atomic_store(&h->liveness_ms, timeout_ms);
}
