/* rt_fanout.h - the aggregate status of fan-outs, pure: which parts a fan-out has (from the
 * router's own `router.fanned-out` audit record), how each part ended (from its cluster's
 * executor's audit records under the derived id), and the report per cluster and overall that the
 * router publishes on wukong.progress (docs/multicluster.md "Aggregate status"). The caller owns
 * struct rt_fanouts (rt_fanouts_init/_release). Caps: RT_FANOUT_MAX fan-outs followed at once
 * (the oldest finished ones go first, then the oldest), RT_MAX_TARGETS parts each. */
#ifndef RT_FANOUT_H
#define RT_FANOUT_H

#include "rt_route.h"

#define RT_FANOUT_MAX 10000

enum rt_part_state {
	RT_PART_PENDING = 0,
	RT_PART_SUCCEEDED,
	RT_PART_FAILED,
	RT_PART_REFUSED,
	RT_PART_CANCELLED,
};

struct rt_part {
	char cluster[WK_CLUSTER_STR];
	char request_id[RT_ID_MAX];
	enum rt_part_state state;
	char action[64];   /* the audit action that ended it */
	char message[256]; /* its message */
};

struct rt_fanout {
	char request_id[RT_ID_MAX];
	uint64_t seq; /* order of arrival, for eviction */
	size_t n;
	struct rt_part parts[RT_MAX_TARGETS];
};

struct rt_fanouts {
	struct wk_map by_parent; /* request id -> struct rt_fanout * (owned) */
	struct wk_map by_part;	 /* part id -> the parent's request id (a copy, owned) */
	uint64_t seq;
};

void rt_fanouts_init(struct rt_fanouts *f);
void rt_fanouts_release(struct rt_fanouts *f);

/* One audit event (the JSON body of a wukong.audit record; malformed ones are ignored). A
 * `router.fanned-out` record from wukong-router starts following its parts; a final record of a
 * part (an action ending in .succeeded, .completed, .failed, .cancelled, .superseded,
 * .request-refused, .refused, .queue-timeout, or drain.planned) ends that part. Returns the parent
 * (the map's copy, valid until the next call) when a part's state changed or a fan-out started,
 * else NULL. */
const char *rt_fanouts_apply(struct rt_fanouts *f, const char *body, size_t len);
const struct rt_fanout *rt_fanouts_get(const struct rt_fanouts *f, const char *request_id);
/* "Running" while a part is pending, then "Succeeded" (all), "Failed" (none succeeded) or
 * "PartiallySucceeded". */
const char *rt_fanout_overall(const struct rt_fanout *fo);
const char *rt_part_state_name(enum rt_part_state s);
/* The report (heap JSON, caller frees):
 * {"type":"route","requestId","mode":"fanout","overall","succeeded",
 * "failed","pending","parts":[{"cluster","requestId","state","action","message"}]}. */
char *rt_fanout_report_json(const struct rt_fanout *fo);
/* Forget a fan-out (after its final report went out). */
void rt_fanouts_forget(struct rt_fanouts *f, const char *request_id);
size_t rt_fanouts_count(const struct rt_fanouts *f);

#endif
