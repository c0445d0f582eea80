/* mig_ctx.h - the migrator's shared state (ctx/mig_ctx.c): struct mig_state, one per process, owns
 * everything reachable from it (the active table, done memory, acks, maps, configuration). Used
 * by every flow and by mig_service.c; calls decide/ and core only.
 */
#ifndef MIG_CTX_H
#define MIG_CTX_H

#include "decide/mig_output.h"
#include "decide/mig_preflight.h"
#include "decide/mig_queue.h"
#include "decide/mig_request.h"

#include "wk_authz.h"
#include "wk_k8s.h"
#include "wk_kubevirt.h"
#include "wk_kafka.h"
#include "wk_map.h"
#include "wk_service.h"

struct cJSON;
struct wk_metric;

/* One consumed Kafka message whose offset waits for effects: outputs in flight to the broker and
 * a queued request that holds it. The offset is acknowledged when the last reference goes. */
struct mig_ack {
	char *topic;
	int32_t partition;
	int64_t offset;
	int refs;
	bool pending;  /* on_message answered WK_MSG_PENDING: wk_service_ack() when refs hit 0 */
	bool detached; /* RETRY/REJECT: the core owns the offset; deliveries only drop refs */
};

/* A request being handled: queued or migrating. */
struct mig_active {
	struct mig_request req;
	enum mig_phase phase;
	char obj_name[96]; /* VMIM and MigrationPolicy name */
	char source_node[MIG_NAME_MAX];
	char hostname[MIG_NAME_MAX]; /* addedNodeSelector value */
	char vmim_phase[32];
	char mode[16];
	char uid[64];		/* the Wukong's uid, for Events */
	int64_t mem, cpu_milli; /* what the VM needs on its target */
	bool counted;		/* included in st->load */
	bool cancel_requested;
	char cancel_id[MIG_ID_MAX];
	size_t sent_position;
	int64_t started_ms, queued_mono_ms;
	int64_t final_seen_mono_ms; /* first seen Succeeded without a migrationState of its own */
	int64_t deadline_ms;	    /* wall clock: the migrator cancels the VMIM after this */
	bool deadline_hit;	    /* ... and did */
	struct mig_ack *hold;	    /* the request's message, held while queued */
	char topic[256];	    /* where the request came from, for audit */
	int32_t partition;
	int64_t offset;
	struct mig_active *next;
};

/* Last memory and CPU usage per node from metrics.k8s.io NodeMetrics, and since when it is hot. */
struct mig_pnode {
	char name[MIG_NAME_MAX];
	int64_t used;	      /* bytes, -1 = not known */
	int64_t cpu_used;     /* millicores, -1 = not known */
	int64_t hot_since;    /* mono ms; 0 = not hot */
	int64_t next_check;   /* mono ms: evaluated at most once a second */
	int64_t next_recheck; /* mono ms: a hot node without new samples, every 5 s (tick) */
	bool pending;	      /* a sample not evaluated yet */
};

/* The resourcePressure flow's memory (flows/mig_pressure.c; readings in ctx/mig_cluster.c). */
struct mig_pressure_ctx {
	struct mig_pnode *pn;
	size_t npn;
	/* Per VM ("<ns>/<vm>"): when a pressure move of it was last started (mono ms). */
	struct wk_map cooldown;
	bool cooldown_init;
	/* Per VM: the end of the cooldown last announced (Event + AutoMigrationHeld condition), so
	 * a hot node sampled every second announces each held VM once per cooldown. */
	struct wk_map announced;
	bool announced_init;
	/* The Wukong list cache and whether any Wukong asks for pressure relief at all. */
	struct cJSON *wk_cache;
	int64_t wk_cache_until;
	bool wk_any_pressure;
};

/* The cold-migration flow's memory (flows/mig_cold.c). */
struct mig_cold_ctx {
	int64_t next_tick;
	long known; /* cold moves under way as of the last tick, plus those started since; -1 = not
		     * known yet (mig_init) */
};

/* The evacuation flow's memory (flows/mig_evac.c): the evacuations under way (struct mig_evac is
 * private to the flow) and per node, until when a new one waits after one ended. */
struct mig_evac;
struct mig_evac_ctx {
	struct mig_evac *evacs;
	struct mig_evac_backoff {
		char node[MIG_NAME_MAX];
		int64_t until;
	} backoff[32];
};

/* The failure-recovery flow's memory (flows/mig_failure.c). */
struct mig_failure_ctx {
	struct wk_map sent; /* "node/ns/name/vmi uid/reason" already reported */
	bool sent_init;
	int64_t next_tick, next_full;
	/* A VM may carry our marks: set at start (mig_init) and whenever we write them; cleared
	 * when a listing finds none. While clear, the tick lists only once a minute (marks left by
	 * someone else). */
	bool maybe;
};

struct mig_state {
	struct wk_service_ctx *ctx;
	struct wk_k8s *k8s;
	struct wk_producer *prod;
	char cluster[64];
	char t_status[256], t_audit[256], t_events[256], t_req[256], t_req_cluster[256];
	char instance[128];
	struct mig_limits limits;
	bool limits_from_cr;
	/* What the KubeVirt CR says (version, gates, cpuAllocationRatio, rollout strategy), read at
	 * start and every migrator.kubevirt-refresh; the last good reading stays on an API error.
	 */
	struct wk_kubevirt_info kv;
	bool rebuilt; /* the first resync (at start) is done */
	int foreign;  /* non-final VMIMs that are not ours, from the last resync */
	struct mig_load load;
	struct mig_queue queue;
	struct mig_active *active;
	struct wk_map last_spec; /* "<ns>/<name>" -> last spec request id (mig_last_spec_put) */
	/* "<ns>/<name>/<id>" -> int64_t *: when a spec request first found its VM still
	 * starting (it waits, up to spec_wait_ms, instead of being rejected) */
	struct wk_map spec_wait;
	long long spec_wait_ms;
	struct wk_map done; /* "<ns>/<name>/<id>" -> phase, recent terminal requests */
	char **done_ring;
	size_t done_cap, done_next;
	int64_t last_seq;
	int64_t boot_ms; /* wall clock when this process started */
	int64_t next_kv_ms, next_poll_ms, next_resync_ms;
	/* config */
	bool shared_requests, require_tenant, any_tenants, k8s_events;
	long long queue_timeout_ms, poll_ms, resync_ms, kv_refresh_ms, queue_max;
	long long migration_deadline_ms; /* 0 = computed per migration (mig_live_deadline_ms) */
	/* who may ask (core/wk_authz.h; ctx/mig_tenancy.c): identities, reviews, limits, and the
	 * submitter of each recent request id (a ring of MIG_OWNERS_MAX) */
	struct wk_authz authz;
	struct wk_map owners; /* request id -> "tenant:<t>" / "trusted" */
	/* the submission being handled (mig_service.c on_request), for its refusal's audit record;
	 * NULL outside it */
	const struct wk_authz_identity *requester;
	char **owner_ring;
	size_t owner_next;
	/* each flow's memory (no file-level globals) */
	struct mig_cold_ctx cold;
	struct mig_evac_ctx evac;
	struct mig_failure_ctx failure;
	struct mig_pressure_ctx pressure;
	/* metrics */
	struct wk_metric *m_requests, *m_queue, *m_active, *m_react, *m_outputs;
	/* wukong_migrations_total{outcome}, wukong_migration_duration_seconds{outcome} */
	struct wk_metric *m_outcomes, *m_duration;
};

/* Acknowledgements: a reference per effect in flight; the offset is acknowledged (or the ack
 * freed) when the last one goes. mig_ack_free: free an ack nobody references. */
struct mig_ack *mig_ack_ref(struct mig_ack *a);
void mig_ack_unref(struct mig_state *st, struct mig_ack *a);
void mig_ack_free(struct mig_ack *a);
/* Next status seq (wall-clock microseconds, strictly increasing). */
int64_t mig_next_seq(struct mig_state *st);

/* The active table: requests queued or migrating. */
struct mig_active *mig_active_by_id(struct mig_state *st, const char *id);
/* Remember the last spec.migration request handled for "<ns>/<name>". A cache, bounded at
 * MIG_LAST_SPEC_MAX entries (an arbitrary one is dropped when full) and pruned when the Wukong is
 * deleted: on a miss the cluster's newest VMIM of the Wukong says the same (mig_handle_request). */
#define MIG_LAST_SPEC_MAX 65536
void mig_last_spec_put(struct mig_state *st, const char *key, const char *id);
struct mig_active *mig_active_by_wukong(struct mig_state *st, const char *ns, const char *name);
struct mig_active *mig_active_by_vm(struct mig_state *st, const char *ns, const char *vm);
/* Count a (on) or stop counting it (off) in st->load, the per-node migrations under way. */
void mig_active_count(struct mig_state *st, struct mig_active *a, bool on);
/* Unlink a, drop it from the queue and the load, release its held message, free it. */
void mig_active_free(struct mig_state *st, struct mig_active *a);
/* Done memory: recent terminal requests, so a replay does nothing twice. The first time a request
 * is remembered in a final phase, wukong_migrations_total{outcome} counts it. */
void mig_remember_done(struct mig_state *st, const struct mig_request *r, enum mig_phase p);
/* Register the outcome metrics (service init) and observe one finished migration's duration,
 * from its start (VMIM created / cold stop) to its end, both wall-clock ms; 0 = unknown. */
void mig_outcome_metrics_init(struct mig_state *st);
void mig_observe_duration(struct mig_state *st, enum mig_phase p, int64_t started_ms,
			  int64_t finished_ms);
bool mig_is_done(struct mig_state *st, const struct mig_request *r);

/* Configuration of the service, with a default. mig_cfg_num: a positive number (quantity: a
 * Kubernetes quantity such as "1250M"), else def. */
const char *mig_cfg(struct mig_state *st, const char *k, const char *def);
double mig_cfg_num(struct mig_state *st, const char *k, double def, bool quantity);

#endif
