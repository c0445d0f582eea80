/* wt_watcher.h - the watcher service: informers per kind, fingerprint diffing, the bounded publish
 * queue onto wukong.events, synced markers, heartbeats, the Lease, replay mode.
 *
 * struct wt is owned by the service (wt_init / wt_release); it publishes through the service's
 * producer (wt_start), which it does not own. It is single-threaded: everything runs from
 * wk_service's tick and delivery reports. The sink is a seam for unit tests: by default it
 * produces to Kafka.
 */
#ifndef WT_WATCHER_H
#define WT_WATCHER_H

#include "wk_common.h"
#include "wk_buf.h"
#include "wk_k8s_watch.h"
#include "wt_event.h"
#include "wt_fpset.h"
#include "wk_lease.h"

struct wk_config;
struct wk_producer;
struct wk_service_ctx;
struct wk_metric;

/* What travels with a produced message until its delivery report. */
struct wt_pending {
	uint32_t term;
	uint8_t kind; /* WT_NKINDS for markers and heartbeats */
	uint8_t change;
	bool marker;
	int64_t sent_ms;
	char data[]; /* "<id>\0<uid>\0<rv>\0<vmref>\0" */
};

struct wt_kstate {
	const struct wt_kind *k;
	bool enabled; /* in watcher.kinds */
	bool served;  /* the API serves it (a 404 on the probe disables it for the term) */
	struct wk_k8s_watch *w; /* NULL for polled kinds and while stopped */
	uint32_t epoch;		/* bumped at each RELIST_BEGIN */
	bool synced;		/* a list completed in this term */
	bool synced_sent;
	bool relist_due; /* a delivery failed: list again to republish the current state */
	struct wk_k8s_watch_stats last; /* for metric deltas */
	int64_t next_poll_ms;		/* polled kinds */
};

struct wt;
typedef int wt_sink_fn(struct wt *w, const struct wt_event *ev, struct wt_pending *p);

struct wt {
	const struct wk_config *cfg;
	char cluster[64];
	char source[96];
	char topic[256];
	char identity[256];

	/* settings */
	long long queue_max;
	long long stall_relist_ms;
	long long heartbeat_ms;
	long long registry_ms;	    /* watcher.registry-interval: heartbeat to wukong.clusters */
	long long registry_poll_ms; /* watcher.registry-poll: summary recomputed, sent on change */
	long long nodemetrics_ms;
	long long rebuild_timeout_ms;
	long long tick_wait_ms;
	long long watch_timeout_s;
	long long list_page;
	bool rebuild_enabled;
	bool lease_enabled;
	char *replay_path;

	struct wk_producer *prod;
	struct wk_k8s *k8s;
	struct wk_k8s *lease_k8s;
	struct wt_fpset *fps;
	struct wt_kstate ks[WT_NKINDS];
	struct wk_lease lease;
	wt_sink_fn *sink;
	void *sink_opaque;

	uint32_t term;	 /* bumped when leadership (or replay) starts: stale reports are ignored */
	bool active;	 /* rebuilt and watching */
	bool watches_up; /* informers exist */
	int64_t next_lease_ms;
	int64_t next_start_ms; /* retry of a failed start (rebuild) */
	int64_t next_hb_ms;
	int64_t next_reg_ms;	 /* next registry summary */
	int64_t last_reg_pub_ms; /* last registry record produced */
	char *reg_fp;		 /* the last record's content without its time */
	char reg_topic[256];
	int64_t full_since_ms; /* queue full since (0 = not full) */
	bool full_logged;
	long long inflight; /* produced, no delivery report yet */
	char server_version[64];
	bool ready;

	/* replay */
	FILE *replay;
	struct wk_k8s_lines lines;
	bool replay_eof;
	int64_t replay_start_ms;
	uint64_t replay_lines;

	/* counters kept for the summary line and tests */
	uint64_t published;
	uint64_t skipped;
	uint64_t malformed;
	uint64_t oversized;
	uint64_t unknown_kind;
	uint64_t delivery_failed;
};

/* Read settings (watcher.*, kube.*, cluster.id, topics.prefix); -1 with a config error. */
int wt_init(struct wt *w, const struct wk_config *cfg, const char *cluster, char *errstr,
	    size_t errstr_size);
/* Connect: publish through prod (borrowed: the service's producer, whose delivery reports must
 * reach wt_delivery; it keeps a message until the broker has it, message.timeout.ms=0 unless
 * configured), API clients (unless replaying). */
int wt_start(struct wt *w, struct wk_producer *prod, char *errstr, size_t errstr_size);
void wt_release(struct wt *w);

/* One loop step: serve delivery reports, lease, informers, polls, heartbeat. Returns the
 * readiness (/readyz). Sets *done when a replay finished and everything is delivered. */
bool wt_step(struct wt *w, bool *done);
/* Shutdown: stop watches, flush (up to timeout_ms), give the lease up. */
void wt_shutdown(struct wt *w, int timeout_ms);

/* The event path shared by informers and replay. obj may be NULL for RELIST_BEGIN. */
void wt_handle(struct wt *w, const struct wt_kind *k, enum wk_k8s_event_type type,
	       const struct cJSON *obj);
/* Feed replay bytes (watch-format JSON lines). */
void wt_replay_feed(struct wt *w, const char *data, size_t len);

/* Producer delivery report (also called by tests). */
void wt_delivered(struct wt *w, struct wt_pending *p, bool ok);
/* The producer's delivery report of msg_opaque (a struct wt_pending from this module, or NULL for
 * a message that is not the watcher's: ignored); with w NULL (the watcher is released, reports
 * of the core's final flush) the pending is only freed. */
void wt_delivery(struct wt *w, void *msg_opaque, bool ok);

void wt_metrics_init(void);

#endif
