/* mig_evac_report.h - the evacuation progress report on wukong.progress
 * (schemas/progress-evacuation.v1.json): counts, ETA and body are pure functions of a struct
 * mig_evrep (ctx/mig_emit.h's mig_evrep_tick/_final derive the VMs' states from the service and
 * send the report: rate-limited, best effort; the final one delivery-tracked). A struct mig_evrep
 * is owned by its evacuation (flows/mig_evac.c) and freed with mig_evrep_destroy.
 */
#ifndef MIG_EVAC_REPORT_H
#define MIG_EVAC_REPORT_H

#include "decide/mig_request.h"

struct cJSON;

/* At most this many VMs are listed in a report's "vms" (the counts cover all of them). */
#define MIG_EVREP_VMS_MAX 64
/* Reports of one evacuation are at least this far apart (the final one excepted). */
#define MIG_EVREP_INTERVAL_MS 1000
/* An unchanged evacuation is reported again this often (for consumers that start late). */
#define MIG_EVREP_REFRESH_MS 10000

enum mig_evrep_state {
	MIG_EVREP_WAITING = 0, /* not submitted yet (plan order) */
	MIG_EVREP_QUEUED,      /* submitted, waiting for a slot under KubeVirt's limits */
	MIG_EVREP_MIGRATING,   /* its VMIM exists and is not final */
	MIG_EVREP_UNCONFIRMED, /* its request ended without an outcome the migrator remembers (a
				* cold migration, one finished before a restart, a deleted Wukong):
				* counted as running until the node is listed at the end */
	MIG_EVREP_SUCCEEDED,
	MIG_EVREP_FAILED, /* failed, cancelled, rejected, or still on the node at the end */
};
const char *mig_evrep_state_name(enum mig_evrep_state s);

struct mig_evrep_vm {
	char ns[64], name[MIG_NAME_MAX], target[MIG_NAME_MAX], id[MIG_ID_MAX];
	double planned_end_s; /* the plan's predicted end, seconds from the evacuation's start */
	double done_s;	      /* when it was seen final, seconds from the start; -1 not yet */
	enum mig_evrep_state state;
	bool remaining; /* still on the node when the evacuation ended */
};

struct mig_evrep {
	char id[MIG_ID_MAX];
	char cluster[64];
	char node[MIG_NAME_MAX];
	char trigger[24]; /* drain, nodeMaintenance, resourcePressure */
	double predicted_s;
	double earlier_s; /* how long the evacuation ran before a restart of the migrator */
	struct mig_evrep_vm *vms;
	size_t n, cap;
	/* sending (mig_evrep_tick) */
	int64_t started_mono, last_sent_mono;
	bool sent, changed, final_sent;
};

struct mig_evrep_counts {
	size_t total, succeeded, failed, running, waiting;
};

/* ---- pure ---- */

void mig_evrep_count(const struct mig_evrep *r, struct mig_evrep_counts *c);
/* Seconds left, or -1 when there is no honest estimate. The plan's prediction scaled by how the
 * finished VMs did against their predicted ends (Σ actual / Σ predicted, clamped to 0.25..10),
 * minus the elapsed time; unknown when that is already past; 0 when every VM is final. */
double mig_evrep_eta(const struct mig_evrep *r, double elapsed_s);
/* The report body (caller deletes). phase: "Running", "Completed" or "Failed". now_ms: wall
 * clock for "time". VMs are listed running first, then failed, waiting, succeeded (plan order
 * within), at most MIG_EVREP_VMS_MAX, with "vmsTruncated": true past that. */
struct cJSON *mig_evrep_body(const struct mig_evrep *r, double elapsed_s, const char *phase,
			     int64_t now_ms);
/* Whether a non-final report is due at now (mono ms): never sent yet; or changed and at least
 * MIG_EVREP_INTERVAL_MS since the last; or MIG_EVREP_REFRESH_MS since the last. */
bool mig_evrep_due(const struct mig_evrep *r, int64_t now_mono);

/* ---- building and sending ---- */

/* trigger as above; now_mono: the evacuation's start. */
struct mig_evrep *mig_evrep_new(const char *id, const char *cluster, const char *node,
				const char *trigger, double predicted_s, int64_t now_mono);
void mig_evrep_destroy(struct mig_evrep *r);
/* Append the plan's next VM (index = order of the calls). */
void mig_evrep_add(struct mig_evrep *r, const char *ns, const char *name, const char *target,
		   const char *request_id, double planned_end_s);
/* Append a VM the evacuation moved before a restart of the migrator: Succeeded from the start,
 * no planned end (the ETA leaves it out). Call after the plan's VMs (their indexes stay). */
void mig_evrep_add_done(struct mig_evrep *r, const char *ns, const char *name, const char *target,
			const char *request_id);
/* VM i was still on the node when the evacuation ended (the completion's listing). */
void mig_evrep_remaining(struct mig_evrep *r, size_t i);

/* An outcome (Succeeded, Failed) is never taken back. */
bool mig_evrep_final_state(enum mig_evrep_state s);

#endif
