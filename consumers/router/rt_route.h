/* rt_route.h - the router's decisions, pure (no Kafka, no clock of its own): the cluster registry
 * table built from wukong.clusters records, and what to do with one submission: route it to one
 * cluster, fan it out to several with derived request ids, place it (`cluster: auto`), hold it
 * (until its own deadline) or refuse it with a dead-letter reason. docs/multicluster.md describes
 * the rules. The caller owns struct rt_registry (rt_registry_init/_release) and struct
 * rt_decision (rt_decision_release frees its targets' bodies). Caps: a body of at most
 * RT_BODY_MAX bytes, at most RT_MAX_TARGETS clusters in a list or a selector's result. */
#ifndef RT_ROUTE_H
#define RT_ROUTE_H

#include "wk_cluster.h"
#include "wk_common.h"
#include "wk_map.h"

#define RT_BODY_MAX (64 * 1024)
#define RT_MAX_TARGETS 64
#define RT_ID_MAX 64

/* Dead-letter reasons (x-dlt-reason) the router adds to the executors' (docs/requests.md). */
#define RT_REASON_UNKNOWN "UnknownCluster"
#define RT_REASON_UNAVAILABLE "ClusterUnavailable"
#define RT_REASON_NO_MATCH "NoClusterMatches"
#define RT_REASON_NO_FIT "NoClusterFits"
#define RT_REASON_GATE "FeatureGateDisabled"
#define RT_REASON_UNSUPPORTED "Unsupported"

struct rt_registry {
	struct wk_map clusters; /* id -> struct wk_cluster_info * (owned) */
	int64_t max_age_ms;	/* router.cluster-max-age: older heartbeat = Unavailable */
};

void rt_registry_init(struct rt_registry *r, int64_t max_age_ms);
void rt_registry_release(struct rt_registry *r);
/* One wukong.clusters record: kept when newer than what the table holds for that cluster. An
 * empty body (a tombstone) removes key's entry. -1 with errstr on a malformed record or a record
 * whose cluster is not its key. */
int rt_registry_apply(struct rt_registry *r, const char *key, const char *body, size_t len,
		      char *errstr, size_t errstr_size);
const struct wk_cluster_info *rt_registry_get(const struct rt_registry *r, const char *id);

enum rt_verdict {
	RT_ROUTE,  /* produce each target */
	RT_HOLD,   /* keep the message, decide again later (until hold_until_ms) */
	RT_REFUSE, /* dead-letter with reason/message, audited */
};

struct rt_target {
	char cluster[WK_CLUSTER_STR];
	char request_id[RT_ID_MAX];
	char *body; /* the submission as the cluster's executors read it (heap) */
};

struct rt_decision {
	enum rt_verdict verdict;
	char reason[48];   /* x-dlt-reason when refused */
	char message[768]; /* why (refused, held, or where auto placed it) */
	char request_id[RT_ID_MAX];
	bool fanout;	       /* a list or a selector: the targets carry derived ids */
	bool placed;	       /* cluster: auto */
	int64_t hold_until_ms; /* RT_HOLD: decide again no later than this; refuse after it */
	struct rt_target targets[RT_MAX_TARGETS];
	size_t n;
	/* fan-out by selector: matching clusters that were Unavailable and are skipped */
	char skipped[RT_MAX_TARGETS][WK_CLUSTER_STR];
	size_t n_skipped;
};

struct rt_input {
	const char *ce_type; /* decides the gates a placement needs (clone: Snapshot) */
	const char *body;
	size_t len;
	int64_t now_ms;
	int64_t grace_until_ms; /* before this, an unknown cluster is held, not refused */
};

/* Decide. Always fills out (release it with rt_decision_release). */
void rt_decide(const struct rt_registry *r, const struct rt_input *in, struct rt_decision *out);
void rt_decision_release(struct rt_decision *d);

/* The derived id of a fan-out's part: "<requestId, at most 32>-<cluster, at most 20>-<8 hex of
 * sha256(requestId/cluster)>", a DNS-1123 label; the same inputs give the same id. */
void rt_derived_id(const char *request_id, const char *cluster, char *out, size_t out_size);
/* The routed message's key: key with its first segment replaced by "<to>" when that segment is
 * "<from>" or "*" (a fan-out's placeholder), else "<to>/key". */
void rt_route_key(const char *key, const char *from, const char *to, char *out, size_t out_size);

#endif
