/* mig_drain.h - node evacuation inputs: the drain submission (schemas/request-drain.v1.json),
 * the Wukong's spec.migrationPolicy, when a node is in maintenance, which nodes may take a VM,
 * and the deterministic ids of the per-VM migrations an evacuation makes. Pure functions (no
 * I/O); results are caller-owned plain data, except the selector in mig_policy (see there).
 */
#ifndef MIG_DRAIN_H
#define MIG_DRAIN_H

#include "decide/mig_request.h"

struct cJSON;
struct wk_selector;

struct mig_drain_req {
	char id[MIG_ID_MAX];
	char cluster[64];
	char node[MIG_NAME_MAX];
	bool dry_run;
	char tenant[64];
	char note[MIG_NOTE_MAX];
};

/* Parse and validate a drain submission body (at most MIG_SUBMISSION_MAX bytes; unknown fields
 * refused). 0, or -1 with the verdict (codes as mig_parse_migrate). */
int mig_parse_drain(const char *data, size_t len, struct mig_drain_req *out, struct mig_verdict *v);

/* spec.migrationPolicy of a Wukong. */
#define MIG_TRIG_MAINTENANCE 1u
#define MIG_TRIG_FAILURE 2u
#define MIG_TRIG_PRESSURE 4u
struct mig_policy {
	bool enabled;
	unsigned triggers;    /* MIG_TRIG_* */
	int pressure_percent; /* resourcePressure threshold (1..100), 0 = none given */
	bool allow_cold;
	struct wk_selector *target; /* targetNodeSelector; NULL = any node. Caller destroys
				     * (mig_policy_release). */
};
/* Read it from a Wukong object. An absent policy is a disabled one (0). -1 with errstr when
 * the policy is malformed (unknown trigger type, bad threshold, bad selector). */
int mig_policy_read(const struct cJSON *wukong, struct mig_policy *out, char *errstr,
		    size_t errstr_size);
void mig_policy_release(struct mig_policy *p);

/* Is the node in maintenance: cordoned (spec.unschedulable), or carrying the
 * node.kubernetes.io/unschedulable taint or one of the extra drain taint keys (a comma list,
 * may be NULL)? *why says which. */
bool mig_node_in_maintenance(const struct cJSON *node, const char *drain_taints, char *why,
			     size_t why_size);

/* May `node` take this VM: not the source, Ready, schedulable, labels match the policy's
 * targetNodeSelector (NULL = any) and the VM's own nodeSelector (an object, may be NULL)? *why
 * names the first reason it may not (a pre-flight reason code). */
/* Was the node cordoned by `wukongctl drain` (annotation WK_ANN_CORDONED_FOR_DRAIN, a time)
 * less than window_ms before now_ms? The drain that follows evacuates it: the nodeMaintenance
 * trigger must not race it. node: the Node event's body (top-level "annotations") or a Node
 * object (metadata.annotations). A missing or unparsable time is false. */
bool mig_node_drain_cordon(const struct cJSON *node, int64_t now_ms, int64_t window_ms);
bool mig_node_eligible(const struct cJSON *node, const char *source,
		       const struct wk_selector *target, const struct cJSON *vm_node_selector,
		       char *why, size_t why_size);

/* Per-VM request id of a drain: "<drain id, at most 40>-<10 hex of sha256(drain/ns/name)>". */
void mig_drain_child_id(const char *drain_id, const char *ns, const char *name, char *out,
			size_t out_size);
/* Id of one maintenance evacuation of one VM: "mt-<node, dots as dashes, at most 30>-<16 hex
 * of sha256(node/ns/name/vmi uid/last migration uid)>": the same while the VM stays where it
 * is (a replay or a restart adopts the migration), a new one once it has moved. */
void mig_maint_child_id(const char *node, const char *ns, const char *name, const char *vmi_uid,
			const char *last_migration_uid, char *out, size_t out_size);

#endif
