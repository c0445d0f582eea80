/* wk_service.h - the one main loop every service binary hands control to.
 *
 * A service's main.c fills a struct wk_service and calls wk_service_main(). The core owns: argv
 * (-c FILE, -X key=value, -h, --version), config (file, env, -X), logging, signals (SIGINT/SIGTERM
 * drain and exit, SIGHUP ignored), the Kafka consumer (at-least-once: an offset is stored only
 * after on_message says the effect is done) and producer (one per process; its delivery reports
 * go to on_delivery), the /metrics /healthz /readyz endpoint, the tick, graceful drain (flush the
 * producer, commit stored offsets) and exit codes.
 *
 * Topic short names may contain "{cluster}" (replaced by cluster.id, "local" when unset:
 * "requests.{cluster}") and may end in "?KEY" (subscribed only when the boolean key KEY is true;
 * unset counts as false, so give KEY a value in `defaults`). Both are expanded after the
 * configuration is loaded, so a service's main.c stays a plain descriptor. The name "{tenants}"
 * stands for one request topic per tenant configured under authz.tenants (wk_authz.h:
 * "<topics.prefix>.<authz.tenant-topic-prefix><tenant>"); none when no tenant is configured or
 * when authz.router is true (the router reads them).
 *
 * Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage, 3 configuration error.
 */
#ifndef WK_SERVICE_H
#define WK_SERVICE_H

#include "wk_common.h"
#include "wk_kafka.h"

struct wk_config;
struct wk_httpd;
struct wk_service_ctx;

enum wk_msg_result {
	WK_MSG_DONE = 0, /* effect durable: store the offset */
	WK_MSG_RETRY,	 /* transient failure: redeliver this message after a backoff */
	WK_MSG_PENDING,	 /* accepted; the service calls wk_service_ack() once durable */
	WK_MSG_REJECT,	 /* bad input: dead-letter it with the reason, then store the offset */
};

struct wk_service {
	const char *name;	   /* "wukong-audit": log svc, default group id, metrics prefix */
	const char *const *topics; /* short topic names ("audit", "dlq"); NULL = no consumer */
	int tick_ms;		   /* on_tick period; 0 = no tick */
	/* Called after config, logging, Kafka and the HTTP endpoint are up. -1 aborts with exit 3.
	 */
	int (*init)(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
	/* One message. For WK_MSG_REJECT fill reason_code ("SchemaViolation", "InvalidName", ...) and
	 * detail; the core dead-letters the message and stores its offset. */
	enum wk_msg_result (*on_message)(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
					 char *reason_code, size_t reason_size, char *detail,
					 size_t detail_size);
	void (*on_tick)(struct wk_service_ctx *ctx);
	/* Drain: called once on shutdown before the producer is flushed. */
	void (*term)(struct wk_service_ctx *ctx);
	/* Addition (h16): service defaults, "key", "value", ..., NULL. After the file, env and -X
	 * are loaded, each key none of them set gets its value, in order ("{cluster}" in a value
	 * becomes cluster.id), so every source overrides a default. NULL = none. */
	const char *const *defaults;
	/* Addition (issue 14): the delivery report of each message the service produced through
	 * wk_service_producer(), as wk_kafka.h's wk_delivery_cb gives it: the msg_opaque passed to
	 * wk_producer_send (or wk_cloudevent_send), err 0 = persisted, else the reason (the core
	 * has logged a failure already), and where it landed. Called in the loop's thread whenever
	 * the producer is polled: between callbacks, or inside a wk_producer_send/poll/flush the
	 * service makes. Also during the core's flush after term (wk_service_state may be NULL by
	 * then if term freed it), not after that flush. The core's own dead letters are not
	 * reported. NULL = the service does not look at delivery reports. */
	void (*on_delivery)(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
			    int32_t partition, int64_t offset);
	/* Addition (issue 22): active/standby on a coordination.k8s.io Lease (core/wk_lease.h),
	 * for an executor of which one instance per cluster may act. Its config prefix
	 * ("migrator"): when "<lease>.lease.enabled" is true the core holds Lease
	 * "<lease>.lease.name" (default "wukong-<lease>-<cluster>") in "<lease>.lease.namespace"
	 * (default the client's) before it joins the consumer group and calls init; a standby only
	 * waits (/readyz 503). The loop renews it every "<lease>.lease.retry-period" (2 s) and
	 * stops with exit 1 once a renew deadline (10 s) passes without a renew, before another
	 * instance can take the lease
	 * ("<lease>.lease.duration", 15 s, counted by the others from when they saw it change).
	 * The lease is released after the final commit, so a successor starts at once. NULL = none.
	 */
	const char *lease;
	/* Addition (issue 24): flags for the HTTP endpoint (wk_httpd_new_flags: WK_HTTPD_THREADED
	 * for a service that streams, e.g. the console's Server-Sent Events). 0 = the default. */
	unsigned http_flags;
};

int wk_service_main(const struct wk_service *svc, int argc, char **argv);

/* Accessors for callbacks. */
const struct wk_config *wk_service_config(struct wk_service_ctx *ctx);
struct wk_producer *wk_service_producer(struct wk_service_ctx *ctx);
struct wk_consumer *wk_service_consumer(struct wk_service_ctx *ctx);
void *wk_service_state(struct wk_service_ctx *ctx);
void wk_service_set_state(struct wk_service_ctx *ctx, void *state);
/* Store the offset of a message that on_message answered WK_MSG_PENDING (in order per partition).
 * May also be called from inside on_message for the message being handled (its effect became
 * durable before on_message returned): the PENDING answer then counts as DONE. */
int wk_service_ack(struct wk_service_ctx *ctx, const char *topic, int32_t partition,
		   int64_t offset);
/* Readiness for /readyz (e.g. false until an initial sync or a lease is held). */
void wk_service_set_ready(struct wk_service_ctx *ctx, bool ready);
/* Ask the loop to stop (as SIGTERM does), with an exit code. */
void wk_service_stop(struct wk_service_ctx *ctx, int exit_code);

/* Additions (h1): the service's name, "cluster.id" (default "local"), and the HTTP endpoint, NULL
 * when http.listen is empty (register extra GET handlers on it, see wk_httpd.h). */
const char *wk_service_name(struct wk_service_ctx *ctx);
const char *wk_service_cluster_id(struct wk_service_ctx *ctx);
struct wk_httpd *wk_service_httpd(struct wk_service_ctx *ctx);

#ifndef WK_VERSION
#define WK_VERSION "0.1.0"
#endif

#endif
