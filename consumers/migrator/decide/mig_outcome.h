/* mig_outcome.h - what a final VirtualMachineInstanceMigration means for the request (pure): the
 * migrationState that belongs to it (the VMIM's own, else the VMI's only when its migrationUid is
 * the VMIM's uid), the target it really reached against the one requested, a cancel, and an
 * honest reason for a failure before hand-over, when upstream writes no failureReason, from the
 * VMIM's phase history, its conditions and the Events about it and its target pod.
 *
 * Upstream (kubevirt/kubevirt v1.5.0-v1.9.0): pkg/virt-controller/watch/migration/migration.go
 * (updateStatus copies the VMI's migrationState into the VMIM only when the uids match and one
 * reconcile after the phase; failMigration sets only the phase; handlePendingPodTimeout deletes an
 * unschedulable target pod after 300 s, a pending one after 900 s). */
#ifndef MIG_OUTCOME_H
#define MIG_OUTCOME_H

#include "decide/mig_output.h"
#include "decide/mig_request.h"

struct cJSON;

struct mig_outcome_in {
	const struct cJSON *vmim; /* the final VMIM */
	const struct cJSON *vmi;  /* the VMI (NULL = not read / gone) */
	const struct cJSON
	    *events;		 /* Events of the namespace (array of Event objects; NULL = none) */
	const char *vm;		 /* the VMI's name */
	const char *source_node; /* where it ran ("" = unknown) */
	const char *requested;	 /* the requested target node ("" = the scheduler picks) */
	const char *kv_version;	 /* for messages ("v1.5.0", "an unknown version") */
	bool cancel_requested;
	const char *cancel_id; /* "" = none */
};

struct mig_outcome {
	enum mig_phase phase; /* SUCCEEDED, FAILED or CANCELLED */
	char reason[64];      /* CamelCase */
	char message[900];
	char target[MIG_NAME_MAX]; /* where the VMI went ("" = unknown) */
	char mode[16];		   /* migrationState.mode ("" = unknown) */
	/* Succeeded but neither the VMIM nor a VMI migrationState with this VMIM's uid says
	 * where to: the caller reads again (upstream copies it one reconcile later). */
	bool need_state;
};

/* The migrationState of vmim's own migration: the VMIM's status.migrationState when it is this
 * migration's (migrationUid absent or equal to the VMIM's uid, and more than the backend-storage
 * PVC names upstream writes early), else the VMI's when its migrationUid equals the VMIM's uid;
 * NULL when neither. */
const struct cJSON *mig_outcome_state(const struct cJSON *vmim, const struct cJSON *vmi);

/* Decide the outcome. */
void mig_outcome(const struct mig_outcome_in *in, struct mig_outcome *out);

/* A reason for a VMIM that failed without failureReason: "TargetPodUnschedulable" with "the target
 * pod was never scheduled within N s" (+ the scheduler's or KubeVirt's Event text) when it never
 * got past Scheduling, "MigrationRejectedByResourceQuota", or "MigrationFailed" naming the last
 * phase it reached. */
void mig_outcome_explain(const struct cJSON *vmim, const struct cJSON *events, const char *vm,
			 char *reason, size_t reason_size, char *msg, size_t msg_size);

/* How long the migrator lets a live migration (its VMIM) run before it cancels it: KubeVirt's own
 * catch-all for a pending target pod (900 s, migration.go defaultCatchAllPendingTimeoutSeconds)
 * + twice its completion timeout (per_gib_s, completionTimeoutPerGiB, x the memory in GiB,
 * at least 1) + 300 s. configured_ms > 0 replaces it. Milliseconds. */
/* A final VMIM of request `request_id` found again (after a restart: VMIMs stay in the cluster)
 * while its Wukong shows another request that started or ended at least a second after the
 * VMIM was created: that request came later, so this one's outcome is history and must not be
 * reported again (it would overwrite the newer request's status; found by the chaos run, issue
 * 22). False when the Wukong names this request, names none, or the times do not tell. */
bool mig_outcome_superseded(const struct cJSON *wukong, const char *request_id,
			    const struct cJSON *vmim);
int64_t mig_live_deadline_ms(int64_t mem_bytes, int64_t per_gib_s, int64_t configured_ms);

#endif
