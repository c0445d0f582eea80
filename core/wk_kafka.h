/* wk_kafka.h - Kafka producer and at-least-once consumer on librdkafka, plus the dead-letter
 * helper.
 *
 * Producer: idempotent (acks=all), partitioner=murmur2_random so keys land where Java clients put
 * them, delivery reports served by wk_producer_poll() in the caller's thread, flush on destroy.
 * Consumer: group member with enable.auto.offset.store=false: an offset is stored (and later
 * auto-committed) only when the caller says its effect is durable (wk_consumer_store).
 * Non-cooperative assignor (range) because cooperative-sticky aborts in librdkafka 2.0.2 (#4312).
 * Keys under "kafka." pass to librdkafka: "kafka.KEY" to every client KEY is valid for,
 * "kafka.producer.KEY" / "kafka.consumer.KEY" to that role only (wk_kafka_conf.c); the settings
 * above are enforced.
 * Messages returned by wk_consumer_poll are owned by the caller: rd_kafka_message_destroy().
 */
#ifndef WK_KAFKA_H
#define WK_KAFKA_H

#include "wk_common.h"

#include <librdkafka/rdkafka.h>

struct wk_config;
struct wk_producer;
struct wk_consumer;

/* Documented cap on any message value we produce or accept: 1 MiB. */
#define WK_KAFKA_MAX_MESSAGE (1024 * 1024)

struct wk_kafka_header {
	const char *name;
	const void *value;
	ssize_t len; /* -1 = strlen(value) */
};

struct wk_kafka_msg {
	const char *topic;
	const void *key;
	size_t key_len;
	const void *value; /* NULL = tombstone */
	size_t value_len;
	const struct wk_kafka_header *headers;
	size_t nheaders;
};

/* Called once per produced message from wk_producer_poll/flush: err 0 = persisted. */
typedef void wk_delivery_cb(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			    int64_t offset, void *opaque);

/* The part of a message key the producer partitions by: up to its third '/' ("c/ns/w" of
 * "c/ns/w/source/shape"), the whole key when it has fewer. Keys of three segments or fewer
 * (every topic's but wukong.status's) land where murmur2 over the whole key puts them, as Java
 * clients and kcat agree; a wukong.status key ("<cluster>/<ns>/<wukong>/<source>/<shape>",
 * wk_emit_status_key) lands on its Wukong's partition, so every update of a Wukong stays in send
 * order while compaction keeps one message per (Wukong, sender, shape). */
size_t wk_kafka_partition_key_len(const void *key, size_t len);

struct wk_producer *wk_producer_new(const struct wk_config *cfg, wk_delivery_cb *cb, void *opaque,
				    char *errstr, size_t errstr_size);
/* Copies everything; when the local queue is full it serves delivery reports and retries for up to
 * 1 s, then fails with -1 ("queue full"). */
int wk_producer_send(struct wk_producer *p, const struct wk_kafka_msg *m, void *msg_opaque,
		     char *errstr, size_t errstr_size);
/* Serves delivery reports: the number served, or -1 once the producer hit a fatal error (the
 * service should exit and be restarted; wk_kafka_fatal() says why). */
int wk_producer_poll(struct wk_producer *p, int timeout_ms);
/* 0 when every message is delivered; -1 on timeout, fatal error, or when a delivery failed since
 * the last flush (reported to the callback and logged): what the caller sent may be lost, so it
 * must not store the offset of what caused it. */
int wk_producer_flush(struct wk_producer *p, int timeout_ms);
int wk_producer_outq_len(struct wk_producer *p);
/* True when the last wk_producer_flush timed out with messages left and no delivery report has
 * been served since: the broker is gone, another flush would only wait again. */
bool wk_producer_flush_timed_out(struct wk_producer *p);
/* Flushes for up to 10 s (logging what is left) and frees; NULL is a no-op. Does not flush again
 * when the last wk_producer_flush timed out with messages left (the broker is gone). */
void wk_producer_destroy(struct wk_producer *p);
rd_kafka_t *wk_producer_handle(struct wk_producer *p);

struct wk_consumer *wk_consumer_new(const struct wk_config *cfg, const char *group_id,
				    const char *const *topics, size_t ntopics, char *errstr,
				    size_t errstr_size);
/* A message, or NULL on timeout. Errors that are not messages (partition EOF, transient broker
 * errors) are logged and swallowed; a message with m->err set is never returned. A value over
 * WK_KAFKA_MAX_MESSAGE is returned as is (logged): the caller dead-letters it as "RequestTooLarge"
 * (wk_cloudevent_decode refuses it). */
rd_kafka_message_t *wk_consumer_poll(struct wk_consumer *c, int timeout_ms);
/* Input gaps are not skipped silently: with a callback, a message whose offset is past the next
 * offset expected for its partition (the committed offset at assignment, then the last message
 * + 1) means offsets from..to were removed (retention, the broker's size limit) before this
 * consumer read them; librdkafka's auto.offset.reset moved on to the earliest. The callback is
 * told (from wk_consumer_poll, before that message is returned). Only for topics that are neither
 * compacted nor transactional (their offsets are contiguous). A group without a committed offset
 * starts at the earliest without a call. */
typedef void wk_gap_cb(const char *topic, int32_t partition, int64_t from, int64_t to,
		       void *opaque);
void wk_consumer_set_gap_cb(struct wk_consumer *c, wk_gap_cb *cb, void *opaque);
/* Mark m as done: its offset + 1 is stored and auto-committed. Only greater offsets move forward.
 */
int wk_consumer_store(struct wk_consumer *c, const rd_kafka_message_t *m);
/* Store explicit offset (next to read) for topic/partition. */
int wk_consumer_store_offset(struct wk_consumer *c, const char *topic, int32_t partition,
			     int64_t next_offset);
/* Rewind a partition so that `offset` is delivered again (a retry without storing). */
int wk_consumer_seek(struct wk_consumer *c, const char *topic, int32_t partition, int64_t offset);
/* Synchronous commit of what is stored, waiting at most 3 s for the broker's answer; -1 (logged
 * with the offsets left uncommitted) on failure or timeout. */
int wk_consumer_commit(struct wk_consumer *c);
/* Commits stored offsets (on revoke), leaves the group, frees; NULL is a no-op. Bounded: when the
 * group leave has not finished after about 3 s (plus 2 s for the revoke's commit) the broker is
 * taken as gone and the librdkafka handle is left to process exit (it cannot be destroyed without
 * the broker); meant for shutdown. */
void wk_consumer_destroy(struct wk_consumer *c);
rd_kafka_t *wk_consumer_handle(struct wk_consumer *c);

/* The last header `name` of m as a pointer into m (not NUL-terminated) and its length, or NULL. */
const char *wk_kafka_header(const rd_kafka_message_t *m, const char *name, size_t *len);
/* Same, copied NUL-terminated into out; -1 if absent or too long. */
int wk_kafka_header_copy(const rd_kafka_message_t *m, const char *name, char *out, size_t out_size);

/* wk_kafka_header_copy for a header list kept apart from its message (rd_kafka_headers_copy). */
int wk_kafka_headers_copy_str(const rd_kafka_headers_t *hdrs, const char *name, char *out,
			      size_t out_size);

/* A group-less reader of every partition of a topic (wk_kafka_tail.c): from the first message at
 * or after since_ms (epoch ms; 0 = the beginning), under `group` (never joined, nothing committed:
 * only the name an ACL grants). wk_tail_poll hands over the next message (the caller destroys it)
 * or NULL; wk_tail_caught_up says every partition has been read to its end once. Heap-owned
 * (wk_tail_destroy; NULL is a no-op). */
struct wk_tail;
struct wk_tail *wk_tail_new(const struct wk_config *cfg, const char *topic, int64_t since_ms,
			    const char *group, char *errstr, size_t errstr_size);
rd_kafka_message_t *wk_tail_poll(struct wk_tail *t, int timeout_ms);
bool wk_tail_caught_up(const struct wk_tail *t);
void wk_tail_destroy(struct wk_tail *t);

/* Topic name for a short name: "<topics.prefix>.<short>" ("wukong.events" by default). */
void wk_kafka_topic(const struct wk_config *cfg, const char *shortname, char *out, size_t out_size);

/* Which clients a "kafka.*" key reaches (wk_kafka_conf.c). */
enum wk_kafka_role { WK_KAFKA_PRODUCER, WK_KAFKA_CONSUMER };
/* librdkafka's scope of a property: '*' both, 'P' producer, 'C' consumer, '?' unknown. */
char wk_kafka_property_scope(const char *key);
/* Set every "kafka.KEY" valid for `role` and every "kafka.<role>.KEY" on conf (role-specific keys
 * last, so they override); a role-specific key of the other role's scope is an error. Secret
 * values are registered with wk_log. 0, or -1 with the reason (naming the config key). */
int wk_kafka_conf_apply(rd_kafka_conf_t *conf, const struct wk_config *cfg, enum wk_kafka_role role,
			char *errstr, size_t errstr_size);
/* The value the config gives KEY for `role` ("kafka.<role>.KEY", else "kafka.KEY"), or NULL. */
const char *wk_kafka_conf_user(const struct wk_config *cfg, enum wk_kafka_role role,
			       const char *key);

/* Route librdkafka's log lines and error callback into wk_log (what every wk_kafka client does);
 * for librdkafka handles made outside this module, e.g. the embedded broker's. */
void wk_kafka_conf_set_logging(rd_kafka_conf_t *conf);

/* 0, or -1 with the reason when librdkafka raised a fatal error on rk (idempotent producer
 * fenced/out of sequence, static group member fenced): the instance is unusable, exit. */
int wk_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errstr_size);

/* Dead letter: republish `orig` (same key, value and headers) to the dlq topic, adding
 * x-dlt-original-topic / -partition / -offset, x-dlt-reason (a machine-readable code such as
 * "SchemaViolation", "InvalidName", "Forbidden", "NotFound", "RequestTooLarge", "MalformedRequest", "HandlerError"),
 * x-dlt-error (human text), x-dlt-service and x-dlt-time. A value over WK_KAFKA_MAX_MESSAGE is
 * left out (header x-dlt-original-size says how big it was). Waits (up to 30 s, serving delivery
 * reports) until the broker has the dead letter, so the caller may store the original's offset
 * right after a 0 return. */
int wk_dlq_send(struct wk_producer *p, const char *dlq_topic, const rd_kafka_message_t *orig,
		const char *service, const char *reason, const char *detail, char *errstr,
		size_t errstr_size);
/* The same for a message the caller kept a copy of after its rd_kafka_message_t was gone (the
 * router's held submissions): where it came from, its key, value and headers (borrowed). */
struct wk_dlq_orig {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *key;
	size_t key_len;
	const void *value;
	size_t value_len;
	const rd_kafka_headers_t *headers; /* NULL = none */
};
int wk_dlq_send_orig(struct wk_producer *p, const char *dlq_topic, const struct wk_dlq_orig *orig,
		     const char *service, const char *reason, const char *detail, char *errstr,
		     size_t errstr_size);

#endif
