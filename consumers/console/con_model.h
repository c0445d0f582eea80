/* con_model.h - the console's view of the fleet, built from wukong.events, wukong.status,
 * wukong.progress and wukong.audit (pure: no Kafka, no HTTP, no clock; the caller passes times).
 *
 * What it keeps, each capped (struct con_limits): clusters, nodes (capacity, maintenance and
 * failure state, the progress aggregator's per-node figures), VMs (node, memory, phase),
 * operations in flight (migrations live and cold, clones: phase, percent, bytes, rate, ETA, mode,
 * queue position and the limits that hold it; finished ones for keep_finished_ms), drains (a
 * wk_timeline each: the plan against the reports), a convergence series per migration and a ring
 * of recent audit records for the search. Every entity is kept as the JSON the browser renders;
 * con_model_delta() gives what changed since its last call. All strings returned are the caller's
 * to free. Not thread-safe: the service serializes calls.
 */
#ifndef CON_MODEL_H
#define CON_MODEL_H

#include "wk_common.h"

struct con_model;

enum con_topic { CON_EVENTS = 0, CON_STATUS, CON_PROGRESS, CON_AUDIT };

struct con_limits {
	size_t nodes, vms, ops, drains, audit, conv_points;
	int64_t keep_finished_ms;
};

/* The defaults: 10,000 nodes, 200,000 VMs, 20,000 operations, 256 drains, 20,000 audit records,
 * 600 convergence points per migration, finished operations kept 10 minutes. */
void con_limits_default(struct con_limits *l);

struct con_model *con_model_new(const struct con_limits *l);
void con_model_destroy(struct con_model *m);

/* One message: its topic, key, ce_type and ce_subject (NULL when absent), its time (ce_time, else
 * the Kafka timestamp; epoch ms) and value. Returns 1 when the view changed, 0 when the message
 * is not one the console shows (another kind, a stale update), -1 when it is malformed (errstr
 * says why; nothing changed). Values over 1 MiB are malformed. */
int con_model_apply(struct con_model *m, enum con_topic t, const char *key, const char *ce_type,
		    const char *ce_subject, int64_t time_ms, const char *value, size_t len,
		    char *errstr, size_t errstr_size);

/* Forget finished operations older than keep_finished_ms (they leave with the next delta). */
void con_model_expire(struct con_model *m, int64_t now_ms);

/* Everything, for a browser that connects: {"seq", "now", "clusters":[], "nodes":[], "vms":[],
 * "ops":[], "drains":[], "stats":{}}. */
char *con_model_snapshot(struct con_model *m, int64_t now_ms);
/* What changed since the last call, the same shape plus "gone":{"nodes":[ids], "vms", "ops",
 * "drains"}; an op whose series grew carries "pt":[tMs, remaining, transfer, dirty]. NULL when
 * nothing changed. Advances seq. */
char *con_model_delta(struct con_model *m, int64_t now_ms);
uint64_t con_model_seq(const struct con_model *m);

/* One drain (its timeline JSON) or one operation's convergence series
 * ({"id","name","points":[[tMs,remaining,transfer,dirty]...]}); NULL when unknown. */
char *con_model_drain_json(struct con_model *m, const char *id);
char *con_model_conv_json(struct con_model *m, const char *op_id);
/* The drain as an SVG document (wk_timeline_svg), NULL when unknown. */
char *con_model_drain_svg(struct con_model *m, const char *id, int64_t now_ms);

struct con_audit_query {
	const char *vm;	     /* "ns/name" or "name": the record's object (a Wukong or its -vm) */
	const char *node;    /* a Node record, or a record naming the node as source or target */
	const char *request; /* the request id, or a drain's id (its VMs' ids start with it) */
	const char *outcome; /* success, failure, rejected, pending, cancelled, info */
	int64_t since_ms, until_ms; /* 0 = open */
	size_t limit;		    /* 1..1000; 0 = 200 */
};

/* Newest first: {"total": matched, "records":[{timeMs, cluster, kind, namespace, name,
 * requestId, action, outcome, reason, message, actor, node}]}. */
char *con_model_audit_search(struct con_model *m, const struct con_audit_query *q);

struct con_stats {
	uint64_t applied, ignored, malformed;
	size_t nodes, vms, ops, drains, audit;
};
void con_model_stats(const struct con_model *m, struct con_stats *out);

/* "(limits: N per cluster, M outbound per node)" in a queued migration's message: 0 when found. */
int con_parse_limits(const char *msg, int *per_cluster, int *per_node);

#endif
