/* wk_httpd.h - a tiny HTTP server (libmicrohttpd) for /metrics, /healthz, /readyz and GET handlers
 * that callers register by path prefix (the simulator and tools may reuse it).
 *
 * One internal thread serves every connection, so handlers run on that thread: they must only
 * touch thread-safe state (wk_metrics is). Only GET and HEAD are served (405 otherwise); a request
 * with a body gets 413; request line plus headers are capped at 16 KiB by the per-connection memory
 * limit (MHD answers 431/414 past it); at most 64 connections, idle ones closed after 10 s. A
 * response body is capped at WK_HTTPD_BODY_MAX (500 past it). Unknown paths get 404.
 *
 *   /metrics  wk_metrics_render() in the Prometheus text format
 *   /healthz  200 "ok" while the owner's loop is alive: with a liveness timeout set, the loop must
 *             call wk_httpd_heartbeat() at least that often or the answer becomes 503
 *   /readyz   200 "ready" only after wk_httpd_set_ready(h, true), 503 before
 */
#ifndef WK_HTTPD_H
#define WK_HTTPD_H

#include "wk_common.h"
#include "wk_buf.h"

#define WK_HTTPD_BODY_MAX (16 * 1024 * 1024)

struct wk_httpd;

struct wk_httpd_req {
	const char *method; /* "GET" or "HEAD" */
	const char *path;   /* without the query string */
	void *conn;	    /* internal (struct MHD_Connection) */
};

/* A query argument or request header, or NULL (pointers valid during the handler call). */
const char *wk_httpd_req_arg(const struct wk_httpd_req *req, const char *name);
const char *wk_httpd_req_header(const struct wk_httpd_req *req, const char *name);

/* Addition (issue 24): a streamed body (Server-Sent Events). read fills buf with 1..max bytes
 * and returns how many, or -1 to end the stream; it runs on the connection's own thread and may
 * wait, but only for a bounded time (the endpoint's stop waits for it). free is called once when
 * the connection is done with the stream (also when read was never called). */
struct wk_httpd_stream {
	long (*read)(void *opaque, char *buf, size_t max);
	void (*free)(void *opaque);
	void *opaque;
};

struct wk_httpd_resp {
	int status;		  /* 200 unless the handler sets another */
	const char *content_type; /* static string; "text/plain; charset=utf-8" by default */
	struct wk_buf body;	  /* capped at WK_HTTPD_BODY_MAX */
	/* Addition (issue 24): set read (status 200) to stream instead of sending body; only on
	 * an endpoint made with WK_HTTPD_THREADED (else the answer is 500). */
	struct wk_httpd_stream stream;
	/* Addition (issue 24): extra Cache-Control value; NULL = "no-store". */
	const char *cache_control;
};

typedef void wk_httpd_handler(const struct wk_httpd_req *req, struct wk_httpd_resp *resp,
			      void *opaque);

/* Listen on "host:port" ("127.0.0.1:0" = an ephemeral port, "[::1]:8080", "0.0.0.0:9090") and
 * start serving. NULL with errstr when the address is malformed or cannot be bound. */
struct wk_httpd *wk_httpd_new(const char *listen, char *errstr, size_t errstr_size);
/* Addition (issue 24): WK_HTTPD_THREADED serves each connection on its own thread (at most the
 * 64 connections), so that handlers may run at the same time and a streamed body may wait for
 * data; handlers must then be thread-safe with each other too. */
#define WK_HTTPD_THREADED 1u
struct wk_httpd *wk_httpd_new_flags(const char *listen, unsigned flags, char *errstr,
				    size_t errstr_size);
/* Stops serving (waits for the handler in progress) and frees; NULL is a no-op. */
void wk_httpd_destroy(struct wk_httpd *h);
/* The bound port (the real one when 0 was asked for) and "host:port" with it. */
int wk_httpd_port(const struct wk_httpd *h);
const char *wk_httpd_addr(const struct wk_httpd *h);

/* Serve GET requests whose path starts with prefix (the longest registered prefix wins; the three
 * built-in paths win over any prefix). Up to 32 handlers; -1 when full or prefix is not "/...". */
int wk_httpd_handle(struct wk_httpd *h, const char *prefix, wk_httpd_handler *fn, void *opaque);
/* Addition (issue 24): as wk_httpd_handle, and release(opaque) is called by wk_httpd_destroy once
 * no handler or stream can run any more: the endpoint holds a reference on opaque until then. */
int wk_httpd_handle_owned(struct wk_httpd *h, const char *prefix, wk_httpd_handler *fn,
			  void *opaque, void (*release)(void *opaque));

void wk_httpd_set_ready(struct wk_httpd *h, bool ready);
/* The owner's loop is alive now. */
void wk_httpd_heartbeat(struct wk_httpd *h);
/* /healthz fails when no heartbeat came for timeout_ms; 0 (the default) = always healthy. */
void wk_httpd_set_liveness_timeout(struct wk_httpd *h, int64_t timeout_ms);

#endif
