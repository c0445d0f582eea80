/* mig_cold_state.h - the pure side of cold migration (flows/mig_cold.c acts on it): the state kept
 * on the VirtualMachine (label and annotation) and back, the template's nodeSelector patches,
 * whether the owner allows a cold move, downtime, and the check of the target node. The builders
 * return new strings / objects the caller frees.
 */
#ifndef MIG_COLD_STATE_H
#define MIG_COLD_STATE_H

#include "decide/mig_preflight.h"
#include "decide/mig_output.h"
#include "decide/mig_request.h"
#include "decide/mig_storage.h"

struct cJSON;
struct wk_selector;

struct mig_cold_state {
	char request[MIG_ID_MAX];
	char target[MIG_NAME_MAX];   /* the node */
	char hostname[MIG_NAME_MAX]; /* its kubernetes.io/hostname label */
	char wukong[MIG_NAME_MAX];
	char run_strategy[32];	     /* the VM's own, restored when starting */
	struct cJSON *node_selector; /* the template's own (NULL = none); owned */
	int64_t stopped_ms;	     /* when the VMI was gone (0 = not yet) */
	int64_t started_ms;	     /* when the cold migration began */
	/* The cluster's clock (the VM's Ready=False lastTransitionTime read when the VMI was
	 * gone; 0 = unknown): downtime measured on one clock, whatever the migrator's restarts. */
	int64_t down_since_ms;
	/* The outcome once decided (MIG_PH_PENDING = not yet): recorded on the VM together with
	 * the restore, so a migrator killed before the final status resends it, then unmarks. */
	enum mig_phase result;
	double downtime_s; /* with result Succeeded; < 0 = unknown */
	int64_t finished_ms;
	char on_node[MIG_NAME_MAX]; /* with result Failed: where the VMI was ("" = nowhere) */
	char source[MIG_NAME_MAX];  /* the node the VM ran on when the move began ("" = unknown) */
	/* Node-local disks copied to the target (flows/mig_copy.c), decided before the stop. */
	struct mig_copy copies[MIG_COPY_MAX];
	size_t ncopies;
	bool keep_source; /* the old volumes stay after a successful move (owner's request) */
};
void mig_cold_state_release(struct mig_cold_state *s);
/* The annotation value and back. -1 when it is not ours / malformed. */
char *mig_cold_state_json(const struct mig_cold_state *s);
int mig_cold_state_parse(const char *json, struct mig_cold_state *out);
/* Merge patch for the VM template's nodeSelector: pinned (the original + hostname) or restored
 * (every key not in the original removed, the original's values back). */
char *mig_cold_selector_patch(const struct mig_cold_state *s, bool pin);
/* The VM patch of a cold move: mig_cold_selector_patch plus s as the WK_ANN_COLD_MIGRATION
 * annotation and, when run_strategy is not NULL, spec.runStrategy (caller frees). */
char *mig_cold_vm_patch(const struct mig_cold_state *s, bool pin, const char *run_strategy);
/* Does the owner allow it: spec.migration.cold (a spec request) or an enabled migrationPolicy
 * with allowColdMigration; and is there a target node to pin to? A submission's options.cold
 * is only the submitter's wish: it counts when the owner consents as well
 * (mig_cold_owner_consents), so a submitter cannot stop a VM its owner keeps running. */
bool mig_cold_allowed(const struct mig_request *r, const struct cJSON *wukong);
/* The owner's consent on the Wukong: spec.migration.cold, or migrationPolicy.allowColdMigration
 * with migrationPolicy.enabled (docs/evacuation.md, docs/security.md). */
bool mig_cold_owner_consents(const struct cJSON *wukong);
/* A submission asked for a cold move the owner did not allow: fill c (reason
 * MIG_COLD_NOT_ALLOWED, the message names the Wukong fields to set) and return true. */
#define MIG_COLD_NOT_ALLOWED "ColdMigrationNotAllowed"
bool mig_cold_consent_missing(const struct mig_request *r, const struct cJSON *wukong,
			      struct mig_check *c);
/* Does a pre-flight failure mean "cannot live-migrate, but could move cold"? */
bool mig_cold_applicable(const char *preflight_reason);
/* lastTransitionTime (epoch ms) of obj's status.conditions entry with this type and status;
 * 0 when there is none or it does not parse. */
int64_t mig_cold_cond_time(const struct cJSON *obj, const char *type, const char *status);
/* Seconds the VM was down: the cluster's clock when both ends are known and consistent
 * (down_since_ms <= up_since_ms, at most MIG_DOWNTIME_MAX_S apart), else the migrator's own
 * clock from the stop request (started_ms) to now_ms; -1 when neither makes sense. */
double mig_cold_downtime(const struct mig_cold_state *s, int64_t up_since_ms, int64_t now_ms);

/* May the VM be started cold on the target node (checked before the VM is stopped)? node is
 * the Node object (NULL = not found), vm the VirtualMachine, vmi its running VMI (may be NULL;
 * its resources count when the template names none), target the policy's targetNodeSelector
 * (NULL = none). The scheduler's rules for the launcher pod: Ready, mig_place_check on the
 * template's spec (kubevirt.io/schedulable, taints vs tolerations, nodeSelector except
 * kubernetes.io/hostname, which the move replaces, node affinity, CPU model labels), the
 * targetNodeSelector, then room: the launcher pod's requests (mig_vmi_resources, kv) within
 * mig_node_allocatable minus used_mem / used_cpu_milli (what runs there and is heading there;
 * the VM's own VMI is not there). 0, or -1 with the first failure (a pre-flight reason code and
 * a message naming the node and what it lacks). */
int mig_cold_target_check(const struct cJSON *node, const char *node_name, const struct cJSON *vm,
			  const struct cJSON *vmi, const struct wk_selector *target,
			  const struct wk_kubevirt_info *kv, int64_t used_mem,
			  int64_t used_cpu_milli, struct mig_check *out);

#endif
