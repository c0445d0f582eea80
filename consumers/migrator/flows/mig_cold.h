/* mig_cold.h - cold migration (seed 001): for a VM that cannot live-migrate and whose owner allows
 * it (spec.migration.cold: true), stop it, pin it to the target node, start it, verify it runs
 * there, and restore its own placement rules. The state lives on the VirtualMachine (label
 * vm.novasphere.dev/cold-migration-request and annotation vm.novasphere.dev/cold-migration), so
 * a restarted migrator carries on where the last one stopped. The pure builders return new
 * strings / objects the caller frees.
 */
#ifndef MIG_COLD_H
#define MIG_COLD_H

#include "ctx/mig_ctx.h"

struct wk_selector;

#define MIG_COLD_LABEL "vm.novasphere.dev/cold-migration-request"
#define MIG_COLD_ANN "vm.novasphere.dev/cold-migration"

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
};
void mig_cold_state_release(struct mig_cold_state *s);
/* The annotation value and back. -1 when it is not ours / malformed. */
char *mig_cold_state_json(const struct mig_cold_state *s);
int mig_cold_state_parse(const char *json, struct mig_cold_state *out);
/* Merge patch for the VM template's nodeSelector: pinned (the original + hostname) or restored
 * (every key not in the original removed, the original's values back). */
char *mig_cold_selector_patch(const struct mig_cold_state *s, bool pin);
/* Does the owner allow it: spec.migration.cold (a spec request) or an enabled migrationPolicy
 * with allowColdMigration; and is there a target node to pin to? */
bool mig_cold_allowed(const struct mig_request *r, const struct cJSON *wukong);
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
 * (NULL = none). The rules of a live move: mig_node_eligible (Ready, schedulable,
 * targetNodeSelector, the template's nodeSelector except kubernetes.io/hostname, which the move
 * replaces), then room: the template's memory and CPU (mig_vmi_resources) within
 * mig_node_allocatable minus used_mem / used_cpu_milli (what runs there and is heading there;
 * the VM's own VMI is not there). 0, or -1 with the first failure (a pre-flight reason code and
 * a message naming the node and what it lacks). */
int mig_cold_target_check(const struct cJSON *node, const char *node_name, const struct cJSON *vm,
			  const struct cJSON *vmi, const struct wk_selector *target,
			  int64_t used_mem, int64_t used_cpu_milli, struct mig_check *out);

/* Start a cold migration for a request whose pre-flight failed with a live-migration reason
 * (the caller checked that the owner allows it). f is that pre-flight's facts: the VMI, the
 * target Node and the resources already committed there. The target is checked
 * (mig_cold_target_check, the Wukong's targetNodeSelector) before anything is patched: a target
 * that fails is Rejected / ColdMigrationTargetUnusable and the VM keeps running. Otherwise the
 * VM is stopped: Migrating / mode Cold. */
void mig_cold_start(struct mig_state *st, const struct mig_request *r, const struct cJSON *wukong,
		    const struct mig_facts *f, const char *reason, struct mig_ack *ack);
/* Add the memory and CPU of the VMs under a cold move to `node` that have no VMI counted there
 * yet (stopping on their source, or stopped), skipping the ",ns/name," keys in `seen` (may be
 * NULL): they are heading there. No API call while no cold move is known. 0, or -1 on an API
 * failure (err). */
int mig_cold_heading(struct mig_state *st, const char *node, const char *seen, int64_t *mem,
		     int64_t *cpu_milli, char *err, size_t errn);
/* A request the pre-flight refused: is it ours, under way as a cold migration (the VM carries
 * our label with this request id, or the Wukong's status is this request's Cold move and the
 * VM is unmarked, i.e. its final status is already sent)? 1 = yes (leave it to the tick);
 * another cold move on the VM: it is refused (condition MigrationRequestRejected) and 1;
 * 0 = not a cold move; -1 = the VM could not be read (retry). */
int mig_cold_owns(struct mig_state *st, const struct mig_request *r, const struct cJSON *wukong);
/* Advance every cold migration (found by the VM label), at most every second. */
void mig_cold_tick(struct mig_state *st);

#endif
