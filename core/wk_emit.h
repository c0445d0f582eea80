/* wk_emit.h - what an executor tells the world, built the same way by every executor: partial
 * status updates (schemas/status-update.v1.json), audit events (schemas/audit-event.v1.json),
 * Kubernetes core/v1 Events with deterministic names, deterministic CloudEvent ids, and the
 * CloudEvent send itself. Builders return heap strings / cJSON objects the caller frees.
 */
#ifndef WK_EMIT_H
#define WK_EMIT_H

#include "wk_common.h"

struct cJSON;
struct wk_k8s;
struct wk_producer;

/* Next status seq: wall-clock microseconds, bumped past *last (strictly increasing per sender,
 * also across restarts as long as the clock does not go back). */
int64_t wk_emit_next_seq(int64_t *last);

/* First n hex digits (n <= 64) of sha256(data) into out (n + 1 bytes). */
void wk_emit_sha256_hex(const void *data, size_t len, size_t n, char *out);

/* Deterministic id: "<prefix>-" + 40 hex of sha256 over the parts joined by '/' (NULL = "").
 * A resend after a crash reuses the id, so consumers can dedupe. */
void wk_emit_id(const char *prefix, const char *const *parts, size_t nparts, char *out,
		size_t out_size);

/* Keyed ids: what a writer of wukong.audit could otherwise compute in advance and pre-burn (the
 * audit log keeps the first record of an id). wk_emit_set_id_key sets the per-installation key
 * (security.id-key-file, wk_authz_io.h; copied, at most 4096 bytes; len 0 = none); then
 * wk_emit_keyed_hex is HMAC-SHA256 with it, else the plain sha256 of wk_emit_sha256_hex, and
 * wk_emit_keyed_id is wk_emit_id over it. The key must stay the same across restarts (a resend
 * reuses its id). Object names stay unkeyed (wk_emit_id): the cluster holds them. */
void wk_emit_set_id_key(const void *key, size_t len);
bool wk_emit_id_keyed(void);
void wk_emit_keyed_hex(const void *data, size_t len, size_t n, char *out);
void wk_emit_keyed_id(const char *prefix, const char *const *parts, size_t nparts, char *out,
		      size_t out_size);

struct wk_emit_condition {
	const char *type;
	const char *status; /* "True" / "False" / "Unknown" */
	const char *reason; /* CamelCase */
	const char *message;
	int64_t observed_generation; /* 0 = omitted */
};

/* One status update for one Wukong. field is "cloneStatus" / "migrationStatus"; fields is the
 * object put under it (borrowed, copied; NULL = a conditions-only update). field NULL with fields
 * set: fields' keys go directly under status (the provisioner's phase, nodeName, vmName, ...). */
struct wk_emit_status {
	const char *cluster, *ns, *name, *source;
	int64_t seq;
	const char *field;
	const struct cJSON *fields;
	const struct wk_emit_condition *conditions;
	size_t nconditions;
};
char *wk_emit_status_json(const struct wk_emit_status *s, int64_t now_ms);

/* The Kafka key of a status update body (issue 22, fault 10: wukong.status is compacted):
 * "<cluster>/<ns>/<name>/<source>/<shape>", where shape names the status writer's seq keys the
 * update carries, sorted ("conditions/Migrating,migrationStatus"; a SHA-256 when longer than
 * WK_EMIT_SHAPE_MAX). Compaction keeps the newest message of each key, and each message carries
 * its sender's full value for every seq key in it, so the newest value of every seq key of every
 * Wukong survives compaction (docs/reliability.md "wukong.status and compaction"). 0, or -1 when
 * body is not a status update (no cluster, namespace, name or source). */
#define WK_EMIT_SHAPE_MAX 160
int wk_emit_status_key(const char *body, size_t len, char *out, size_t out_size);

/* One audit event. source_type: spec, policy, kafka, manual, system; topic NULL = no Kafka
 * origin. details is copied (may be NULL). */
struct wk_emit_audit {
	const char *request_id;
	const char *source_type;
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *cluster;
	const char *kind, *ns, *name; /* the object (kind default "Wukong"); name NULL = none */
	const char *actor, *action, *outcome, *reason, *message;
	const struct cJSON *details;
};
char *wk_emit_audit_json(const struct wk_emit_audit *a);

/* A core/v1 Event about an object, named "<name, at most 200>.<16 hex of sha256(seed)>" so a
 * replay of the same step gets 409 AlreadyExists instead of a second Event. */
struct wk_emit_event {
	/* The involved object; ns NULL/"" for a cluster-scoped one (a Node: its Event lives in
	 * event_ns, "default" as the kubelet's do, with uid = the node's name as the kubelet sets
	 * it, which kubectl describe node also looks for). */
	const char *ns, *api_version, *kind, *name, *uid;
	const char *event_ns; /* where the Event is created: NULL = ns */
	const char *type;     /* Normal / Warning */
	const char *reason, *message, *action;
	const char *component, *instance;
	const char *seed; /* what makes this Event unique (request id + step) */
};
struct cJSON *wk_emit_k8s_event(const struct wk_emit_event *e, int64_t now_ms);
/* Events carry eventTime, so the API server refuses a message over 1024 bytes (kubernetes
 * pkg/apis/core/validation/events.go, NoteLengthLimit): wk_emit_k8s_event cuts a longer one on a
 * UTF-8 character boundary and appends WK_EMIT_EVENT_TRUNC, within the limit. */
#define WK_EMIT_EVENT_MESSAGE_MAX 1024
#define WK_EMIT_EVENT_TRUNC " ..."
/* How many bytes of msg such an Event keeps: all of it when it fits in limit, else the longest
 * run of whole characters that leaves room for WK_EMIT_EVENT_TRUNC (0 when limit is smaller). */
size_t wk_emit_event_message_len(const char *msg, size_t limit);
/* Create it; 409 AlreadyExists counts as done. -1 with errstr otherwise. */
int wk_emit_post_event(struct wk_k8s *k, const struct wk_emit_event *e, char *errstr,
		       size_t errstr_size);

/* Send body as a CloudEvent (source "/clusters/<cluster>", content-type application/json). id
 * NULL/"" = a random UUID. msg_opaque goes to the producer's delivery callback. */
int wk_emit_send(struct wk_producer *p, const char *topic, const char *key, const char *cluster,
		 const char *type, const char *id, const char *subject, const char *body,
		 void *msg_opaque, char *errstr, size_t errstr_size);

#endif
