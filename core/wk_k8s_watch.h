/* wk_k8s_watch.h - informer-style list+watch of Kubernetes resources, many per thread, driven by
 * wk_k8s_poll(); plus the watch-stream line splitter and event parser it is built on.
 *
 * A struct wk_k8s_watch is opaque, heap-owned (wk_k8s_watch_new / wk_k8s_watch_destroy) and
 * belongs to one client; all watches of a client share its curl multi handle, so a
 * single-threaded service watching eight resource types calls wk_k8s_poll(c, timeout_ms) in its
 * loop and gets callbacks. The cJSON object passed to a callback is owned by the watch and only
 * valid during the call (cJSON_Duplicate it to keep it).
 *
 * What a watch does (client-go reflector recipe, k8s-api.md §4):
 * 1. LIST (paged, limit 500, resourceVersion unset = consistent): the callback gets
 *    RELIST_BEGIN, one ADDED per listed object, then RELIST_END. Objects the caller knew before
 *    BEGIN and did not see by END were deleted while we were not watching. A BEGIN that is
 *    followed by another BEGIN (the list failed half way and started over) cancels the first.
 * 2. WATCH ?watch=1&resourceVersion=<last>&allowWatchBookmarks=true&timeoutSeconds=N:
 *    ADDED / MODIFIED / DELETED go to the callback; BOOKMARK only moves the resourceVersion.
 *    The resourceVersion of every event (bookmarks included) is remembered.
 * 3. A clean end of the stream (timeoutSeconds) re-watches from the last resourceVersion at once.
 *    A dropped connection, an ERROR event, 429/5xx (Retry-After honoured) or any other failure
 *    re-watches from the last resourceVersion after an exponential backoff with jitter.
 * 4. 410 Expired/Gone (an ERROR event or the HTTP status) goes back to 1.
 * 5. 401: the token file is re-read once before backing off.
 *
 * Caps and bad input: a watch line is at most max_line bytes (default 1 MiB, not counting the
 * '\n'). A longer line is counted (oversized), logged, and the stream is dropped and replaced by a
 * relist after a backoff: skipping the line silently would lose that change, and the list path
 * has the larger body cap (16 MiB) so the object still arrives. A line that is not a JSON object,
 * has an unknown type or no object is counted (malformed), logged and skipped; the stream goes
 * on. A partial line left when a stream ends is counted as malformed ("truncated") and dropped;
 * the re-watch from the last resourceVersion delivers that event again.
 * Metrics: wukong_k8s_watch_{restarts,relists,malformed_lines,events}_total.
 */
#ifndef WK_K8S_WATCH_H
#define WK_K8S_WATCH_H

#include "wk_common.h"
#include "wk_buf.h"
#include "wk_k8s.h"

struct cJSON;
struct wk_k8s_watch;

#define WK_K8S_WATCH_MAX_LINE (1u << 20)

enum wk_k8s_event_type {
	WK_K8S_EV_ADDED,
	WK_K8S_EV_MODIFIED,
	WK_K8S_EV_DELETED,
	WK_K8S_EV_BOOKMARK,	/* handled inside the watch, never passed to the callback */
	WK_K8S_EV_ERROR,	/* handled inside the watch, never passed to the callback */
	WK_K8S_EV_RELIST_BEGIN, /* obj is NULL */
	WK_K8S_EV_RELIST_END,	/* obj is the list without its items (metadata.resourceVersion) */
};

const char *wk_k8s_event_type_name(enum wk_k8s_event_type t);

typedef void (*wk_k8s_watch_cb)(struct wk_k8s_watch *w, enum wk_k8s_event_type type,
				const struct cJSON *obj, void *opaque);

/* The API server sends a BOOKMARK on an idle watch about once a minute (allowWatchBookmarks):
 * two missed bookmarks and a margin. */
#define WK_K8S_WATCH_DEF_IDLE_S 150

struct wk_k8s_watch_opts {
	const char *label_selector;
	const char *field_selector;
	/* Start watching from this resourceVersion without listing first; NULL = list first. */
	const char *resource_version;
	long timeout_s;	      /* timeoutSeconds of one stream; 0 = random in [300, 600) */
	/* A stream that delivers no byte (not even a BOOKMARK) for this long is taken as half-open,
	 * dropped and resumed from the last resourceVersion; 0 = WK_K8S_WATCH_DEF_IDLE_S. */
	long idle_timeout_s;
	size_t max_line;      /* default WK_K8S_WATCH_MAX_LINE */
	long list_limit;      /* page size of the lists, default 500 */
	long backoff_base_ms; /* default 500, doubled per consecutive failure */
	long backoff_max_ms;  /* default 30000 */
};

struct wk_k8s_watch_stats {
	uint64_t events; /* ADDED/MODIFIED/DELETED delivered from streams */
	uint64_t bookmarks;
	uint64_t relists;   /* lists started (the first one included) */
	uint64_t restarts;  /* streams started after the first one */
	uint64_t malformed; /* lines skipped: not JSON, unknown type, no object, truncated */
	uint64_t oversized; /* lines past max_line */
	uint64_t errors;    /* failed requests and ERROR events */
};

/* ns NULL = cluster-scoped resource, or every namespace. Names are validated as for requests.
 * The watch starts on the next wk_k8s_poll(). */
struct wk_k8s_watch *wk_k8s_watch_new(struct wk_k8s *c, const struct wk_k8s_resource *res,
				      const char *ns, const struct wk_k8s_watch_opts *opts,
				      wk_k8s_watch_cb cb, void *opaque, char *errstr,
				      size_t errstr_size);
/* Ask for a fresh list (RELIST_BEGIN ... RELIST_END) on the next wk_k8s_poll(), e.g. to re-emit
 * objects whose processing failed; an open stream is cut, a list in progress is started over.
 * Safe from inside callbacks. */
void wk_k8s_watch_relist(struct wk_k8s_watch *w);
/* Never from inside a watch callback (libcurl forbids removing handles there). */
void wk_k8s_watch_destroy(struct wk_k8s_watch *w);

/* Drive every watch of the client: wait at most timeout_ms for data (0 = don't wait), run the
 * callbacks, start due reconnects. Returns the number of events delivered. */
int wk_k8s_poll(struct wk_k8s *c, int timeout_ms);
/* Make a wk_k8s_poll() that is waiting return now; the one call that may come from another
 * thread or a signal-free shutdown path. */
void wk_k8s_wakeup(struct wk_k8s *c);

/* The last resourceVersion seen (NULL before the first list), whether a list has completed, and
 * counters. */
const char *wk_k8s_watch_resource_version(const struct wk_k8s_watch *w);
bool wk_k8s_watch_synced(const struct wk_k8s_watch *w);
void wk_k8s_watch_get_stats(const struct wk_k8s_watch *w, struct wk_k8s_watch_stats *out);
void *wk_k8s_watch_opaque(const struct wk_k8s_watch *w);

/* ---- building blocks (exposed for tests and other stream readers) ---- */

/* Splits a byte stream into '\n'-terminated lines of at most max_line bytes. Caller-owned. */
struct wk_k8s_lines {
	struct wk_buf buf;
	size_t max_line;
	bool discarding; /* inside an oversized line: drop bytes up to the next '\n' */
};
/* cb(line, len, opaque) per complete line without its "\n" or "\r\n" (empty lines are skipped);
 * cb(NULL, n, opaque) once per oversized line, n = bytes seen so far. A non-zero cb result stops
 * feeding and is returned. */
typedef int (*wk_k8s_line_cb)(const char *line, size_t len, void *opaque);
void wk_k8s_lines_init(struct wk_k8s_lines *l, size_t max_line);
void wk_k8s_lines_release(struct wk_k8s_lines *l);
void wk_k8s_lines_reset(struct wk_k8s_lines *l);
int wk_k8s_lines_feed(struct wk_k8s_lines *l, const char *data, size_t len, wk_k8s_line_cb cb,
		      void *opaque);
/* Bytes of an unfinished line held (a truncated event when the stream ends). */
size_t wk_k8s_lines_pending(const struct wk_k8s_lines *l);

/* One watch event line. Caller-owned: wk_k8s_event_release(). */
struct wk_k8s_event {
	enum wk_k8s_event_type type;
	struct cJSON *root;	     /* the whole line, owned */
	struct cJSON *object;	     /* root.object */
	const char *rv;		     /* object.metadata.resourceVersion, or NULL */
	struct wk_k8s_status status; /* ERROR events: the Status (code 410 = expired) */
};
/* 0, or -1 with errstr and *reason set to "json", "type" or "object" (a metric label). */
int wk_k8s_event_parse(const char *line, size_t len, struct wk_k8s_event *ev, const char **reason,
		       char *errstr, size_t errstr_size);
void wk_k8s_event_release(struct wk_k8s_event *ev);

#endif
