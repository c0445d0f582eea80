/* pg_state.h - what wukong-progress knows about one cluster: VMIs (node, memory), Wukong <-> VM
 * names, nodes being drained, one operation per VMI (its latest migration, with the transfer
 * arithmetic of pg_calc.h) and clone reports; the per-node and per-cluster aggregates; and the
 * JSON it publishes. Pure logic fed with parsed event bodies and metric samples (unit-tested);
 * the state owns everything it returns a pointer to until the next call that changes it.
 */
#ifndef PG_STATE_H
#define PG_STATE_H

#include "wk_common.h"
#include "pg_calc.h"

struct cJSON;
struct pg_state;

#define PG_NAME_MAX 254
#define PG_FAILED_WINDOW_MS (3600 * 1000LL)

enum pg_op_kind { PG_OP_MIGRATION, PG_OP_CLONE };

struct pg_op {
	enum pg_op_kind kind;
	char mapkey[400]; /* "m/<ns>/<vmi>", "c/<ns>/<wukong>", "q/<ns>/<wukong>" (queued report) */
	char ns[64];
	char vmi[PG_NAME_MAX];	  /* the VMI (migration) or the Wukong (clone) */
	char wukong[PG_NAME_MAX]; /* "" when unknown: no status update is sent */
	char migration[PG_NAME_MAX];
	char request_id[256];
	char phase[32]; /* VMIM phase as KubeVirt says it, or the executor's phase */
	char mode[16];	/* PreCopy, PostCopy, Paused */
	char source_node[PG_NAME_MAX];
	char target_node[PG_NAME_MAX];
	char started_at[40];
	char completed_at[40];
	char abort_status[16];
	bool managed; /* created by the migrator: it owns phase/nodes/times on the status */
	bool final;
	bool succeeded;
	struct pg_xfer x;
	int queue_position;
	int64_t created_ms;
	/* emission */
	bool dirty;	      /* changed since the last status update */
	bool final_sent;      /* the final status update was produced */
	int64_t last_sent_ms; /* monotonic time of the last status update */
	int64_t last_pub_ms;  /* of the last wukong.progress message */
};

struct pg_node_agg {
	const char *node;
	bool draining; /* spec.unschedulable */
	long vms_left; /* VMIs still on the node */
	double bytes_left;
	double eta_s; /* < 0 unknown */
	long migrating;
};

struct pg_cluster_agg {
	long running, queued, failed_last_hour, succeeded_last_hour;
};

struct pg_state *pg_state_new(const char *cluster);
void pg_state_destroy(struct pg_state *s);

/* One wukong.events body; kind and change from the ce_type ("virtualmachineinstancemigration",
 * "modified"). Unknown kinds are ignored. 0, or -1 with the reason for a malformed body. */
int pg_state_event(struct pg_state *s, const char *kind, const char *change,
		   const struct cJSON *body, int64_t now_ms, char *errstr, size_t errstr_size);
/* One executor report from wukong.progress (type migration or clone). */
int pg_state_report(struct pg_state *s, const struct cJSON *body, int64_t now_ms, char *errstr,
		    size_t errstr_size);

/* Metric samples of one scrape, then apply them. which: 0 processed, 1 remaining, 2 total,
 * 3 dirty rate, 4 transfer rate. ts_ms 0 = no explicit timestamp. */
void pg_state_metric(struct pg_state *s, const char *ns, const char *vmi, int which, double v,
		     int64_t ts_ms);
/* Returns the number of operations that took a new sample. */
size_t pg_state_metrics_apply(struct pg_state *s, int64_t scrape_ms);
/* The metric family of a KubeVirt metric name (current and older names), or -1. */
int pg_metric_which(const char *name);

/* Operations: iterate (NULL starts); removal of finished ones older than keep_ms after their
 * final state was sent. */
struct pg_op *pg_state_next_op(struct pg_state *s, struct pg_op *prev);
/* The operation with this mapkey, or NULL. */
struct pg_op *pg_state_op(struct pg_state *s, const char *mapkey);
size_t pg_state_gc(struct pg_state *s, int64_t now_ms, int64_t keep_ms);

/* Aggregates at now_ms. Nodes: those draining or with a migration from them; the array is owned
 * by the state until the next call. */
size_t pg_state_nodes(struct pg_state *s, const struct pg_node_agg **out);
void pg_state_cluster(struct pg_state *s, int64_t now_ms, struct pg_cluster_agg *out);

/* JSON bodies (caller frees). Status update (schemas/status-update.v1.json) for an op with a
 * known Wukong; a wukong.progress message for an op, a node, the cluster. */
char *pg_op_status_json(const struct pg_state *s, const struct pg_op *op, int64_t seq);
char *pg_op_progress_json(const struct pg_state *s, const struct pg_op *op, int64_t now_wall_ms);
char *pg_node_progress_json(const struct pg_state *s, const struct pg_node_agg *n,
			    int64_t now_wall_ms);
char *pg_cluster_progress_json(const struct pg_state *s, const struct pg_cluster_agg *c,
			       int64_t now_wall_ms);
/* The VM name for an op's key (the VMI name; for clones the Wukong's VM). */
const char *pg_op_vm(const struct pg_state *s, const struct pg_op *op);

#endif
