/* cl_actions.h - wukong-cloner's I/O under cl_service.c: the state the service owns (struct
 * cl_state and its jobs), the job table, the reads that fill struct cl_observed, the steps that
 * carry out cl_decide()'s actions, cleanup, the relist, the Wukongs a clone submission asks for,
 * and the outputs (status, progress, audit, Kubernetes Events). It calls nothing of cl_service.c.
 * Jobs belong to st->jobs; a cJSON handed back (*src_vm) is the caller's to delete.
 */
#ifndef CL_ACTIONS_H
#define CL_ACTIONS_H

#include "cl_machine.h"
#include "cl_request.h"

#include "wk_k8s.h"
#include "wk_authz.h"
#include "wk_kubevirt.h"
#include "wk_service.h"

struct cJSON;

#define CL_SVC "wukong-cloner"

struct cl_job {
	struct cl_job_spec spec;
	char base[96]; /* snapshot and clone name */
	enum cl_phase phase;
	int progress;
	char reason[48];
	bool reported;
	bool admitted;
	const char *cons, *cons_reason; /* static strings, kept once the snapshot said */
	int64_t phase_since_ms, started_ms;
	size_t queue_pos;	      /* last position reported while Queued */
	char clone_phase[32];	      /* the clone's phase last seen */
	int64_t clone_phase_since_ms; /* when this process first saw it */
	char refused[48]; /* the API refused a create (webhook): fail with this reason */
	char refused_msg[700];
	struct cl_job *next;
};

struct cl_state {
	struct wk_service_ctx *ctx;
	struct wk_k8s *k8s;
	struct wk_producer *prod;
	char cluster[64];
	char t_status[256], t_audit[256], t_events[256], t_req[256], t_progress[256];
	char instance[128];
	struct cl_job *jobs;
	char **done; /* "ns/name/id" of jobs finished by this process (ring) */
	size_t done_cap, done_next;
	int64_t last_seq;
	int64_t next_poll, next_resync, last_pass;
	bool dirty;
	/* config */
	long long poll_ms, resync_ms;
	long long request_max_age_ms; /* cloner.request-max-age; 0 = none */
	char failure_deadline[32];
	struct cl_timeouts to;
	/* what this cluster's KubeVirt can do: read at start and on every resync */
	struct wk_kubevirt_info kv;
	bool kv_read;	/* the KubeVirt CR was read (kv valid) */
	bool clone_api; /* clone.kubevirt.io/v1beta1 is served (true until discovery says not) */
	bool require_tenant, any_tenants, k8s_events, restore_source;
	struct wk_metric *m_jobs, *m_active, *m_actions;
	/* who may ask (core/wk_authz.h): identities from the topic, reviews, rate limits */
	struct wk_authz authz;
	char t_req_cluster[256];
	/* the submission being handled (cl_service.c), for its refusal's audit record */
	const struct wk_authz_identity *requester;
};

/* ---- the job table ---- */
struct cl_job *cl_job_find(struct cl_state *st, const char *ns, const char *name);
void cl_job_unlink(struct cl_state *st, struct cl_job *j);
/* Remember a finished job ("ns/name/id", a ring of st->done_cap), so that its Wukong seen again
 * before its final status is not taken in twice. */
void cl_job_remember_done(struct cl_state *st, const struct cl_job *j);
/* Take in the job a Wukong's spec.cloneSource asks for, unless it is known, final or deleted. */
void cl_intake(struct cl_state *st, const struct cJSON *wk);
/* Relist: every Wukong through cl_intake, and delete our snapshots/clones whose job is gone. */
void cl_relist(struct cl_state *st);

/* Read the KubeVirt CR and discover clone.kubevirt.io/v1beta1 into st->kv / st->clone_api;
 * logs a change of version or of what can be cloned. A failed read keeps what was known. */
void cl_refresh_cluster(struct cl_state *st);
/* cl_check_cluster with what st knows. */
int cl_cluster_refusal(struct cl_state *st, bool selective, char *code, size_t code_size, char *why,
		       size_t why_size);

/* ---- one job ---- */
/* Read the job's source, snapshot, clone and target into *o; *src_vm gets the source VM (or
 * NULL). false when the API server failed a read (try again later). */
bool cl_observe(struct cl_state *st, struct cl_job *j, struct cl_observed *o,
		struct cJSON **src_vm);
/* Carry out action a (START_SOURCE .. DELETE_SNAPSHOT); WAIT, SUCCEED and FAIL do nothing here.
 * 0, or -1 when the step failed (logged; the next pass tries again) - or, when the API server
 * or a webhook refused a create for good (400, 403, 422), -2 with j->refused set. */
int cl_act(struct cl_state *st, struct cl_job *j, enum cl_action a, const struct cl_observed *o,
	   const struct cJSON *src_vm);
/* Failure or cancellation: delete what is ours (clone, snapshot, the target when delete_target
 * and ours) and release the source VM. */
void cl_cleanup(struct cl_state *st, struct cl_job *j, const struct cl_observed *o,
		bool delete_target);

/* ---- outputs ---- */
/* Status (cloneStatus), progress, and on a phase or reason change the audit line and the
 * Kubernetes Event; remembers the reported progress and reason on j. */
void cl_report(struct cl_state *st, struct cl_job *j, const struct cl_decision *d,
	       const struct cl_observed *o, bool phase_changed);
/* The audit line of a dead-lettered submission, flushed before the offset is stored: 0, or -1
 * when it was not delivered (the caller retries instead of dead-lettering). */
int cl_audit_refusal(struct cl_state *st, const rd_kafka_message_t *m, const char *ns,
		     const char *rid, const char *code, const char *msg);

/* ---- submissions ---- */
/* Create the Wukongs of a checked submission (their spec from the source's Wukong when it has
 * one) and take them in; audit each target. WK_MSG_RETRY when the cluster could not be read or
 * written for a transient reason; WK_MSG_REJECT with *v filled when the disk selection does not
 * fit the source VM (nothing created); else WK_MSG_DONE. */
enum wk_msg_result cl_submit(struct cl_state *st, const struct cl_submission *s,
			     struct cl_verdict *v);

#endif
