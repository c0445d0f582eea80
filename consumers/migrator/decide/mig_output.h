/* mig_output.h - the JSON the migrator sends and creates: status updates (wukong.status), audit
 * events (wukong.audit), Kubernetes Events on the Wukong, the VirtualMachineInstanceMigration and
 * the per-VM MigrationPolicy. Pure builders; returned strings and cJSON objects are the caller's.
 */
#ifndef MIG_OUTPUT_H
#define MIG_OUTPUT_H

#include "wk_common.h"
#include "decide/mig_request.h"

struct cJSON;

enum mig_phase {
	MIG_PH_PENDING = 0, /* accepted, checks passed, objects being created */
	MIG_PH_QUEUED,	    /* waiting for a slot under KubeVirt's limits */
	MIG_PH_MIGRATING,   /* the VMIM exists and is not final */
	MIG_PH_SUCCEEDED,
	MIG_PH_FAILED,
	MIG_PH_CANCELLED,
	MIG_PH_REJECTED, /* a pre-flight check failed: nothing was created */
};
const char *mig_phase_name(enum mig_phase p);
bool mig_phase_final(enum mig_phase p);

/* The schema's bound for migrationStatus.downtimeSeconds (and etaSeconds). */
#define MIG_DOWNTIME_MAX_S 1e9

/* One status update for one Wukong (schemas/status-update.v1.json). */
struct mig_status {
	const struct mig_request *req;
	enum mig_phase phase;
	int64_t seq;		 /* wall-clock microseconds, strictly increasing per sender */
	const char *source_node; /* NULL/"" = omitted (null) */
	const char *target_node;
	size_t queue_position; /* 0 = not queued (null) */
	int64_t started_ms;    /* 0 = null */
	int64_t completed_ms;
	const char *mode; /* PreCopy / PostCopy / Paused / Cold, or NULL */
	/* Seconds the VM was not running (a cold move: from the VMI stopping to it running on
	 * the target). Sent only when has_downtime and it is a finite number in [0, 1e9]; every
	 * other update sends null, which clears one left by an earlier cold move (KubeVirt does not
	 * report a live migration's switch-over pause, so live migrations never carry it). */
	bool has_downtime;
	double downtime_s;
	const char *reason;  /* condition reason, e.g. "TargetNodeNotReady" */
	const char *message; /* human sentence */
	/* When set, the update touches only the condition (a request rejected because another
	 * is in flight must not overwrite that one's migrationStatus). */
	bool condition_only;
	const char *condition_type; /* default "Migrating" */
	/* condition_only: its status, default "True" (a wait that ends is "False") */
	const char *condition_status;
};
/* The body as a JSON string (caller frees). */
char *mig_status_json(const struct mig_status *s, int64_t now_ms);
/* Condition status for a phase: "True" while pending/queued/migrating, else "False". */
const char *mig_condition_status(enum mig_phase p);

/* One audit event (schemas/audit-event.v1.json). */
struct mig_audit {
	const struct mig_request *req; /* may be NULL (a submission that could not be parsed) */
	const char *request_id;	       /* overrides req->id when set */
	const char *ns, *name;	       /* the Wukong, when req is NULL */
	const char *cluster;
	const char *action;  /* "migration.preflight" */
	const char *outcome; /* success failure rejected pending cancelled info */
	const char *reason;
	const char *message;
	const char *topic; /* Kafka origin of the request, when it came from Kafka */
	int32_t partition;
	int64_t offset;
	const struct cJSON *details; /* copied */
};
char *mig_audit_json(const struct mig_audit *a);
/* Deterministic CloudEvent id for an audit event, so that a resend after a crash reuses it:
 * "mig-" + 40 hex of sha256(cluster/ns/name/request/action/discriminator). */
void mig_audit_id(const char *cluster, const char *ns, const char *name, const char *request_id,
		  const char *action, const char *discriminator, char *out, size_t out_size);

/* A core/v1 Event about the Wukong (involvedObject), named deterministically
 * "<wukong>.<16 hex>" from the request and the action so a replay gets 409 instead of a copy. */
struct cJSON *mig_k8s_event(const struct mig_request *r, const char *wukong_uid, const char *type,
			    const char *reason, const char *message, const char *action,
			    const char *instance, int64_t now_ms);

/* The VMIM: vmiName, addedNodeSelector {kubernetes.io/hostname: hostname} when hostname is
 * non-empty, our labels and the request annotation. */
struct cJSON *mig_vmim_json(const struct mig_request *r, const char *name, const char *hostname);
/* The MigrationPolicy selecting exactly this VMI: selectors are copies of vmi_selector and
 * ns_selector; spec carries the request's options. */
struct cJSON *mig_policy_json(const struct mig_request *r, const char *name,
			      const struct cJSON *vmi_selector, const struct cJSON *ns_selector);

#endif
