/* mig_failure_pick.h - the pure side of nodeFailure recovery (flows/mig_failure.c acts on it): the
 * marks on the VM (label and annotations), the recovery state and back, the recovery id, free
 * capacity per node and the pick of a target, and what to do next for a marked VM. Return
 * caller-owned data.
 */
#ifndef MIG_FAILURE_PICK_H
#define MIG_FAILURE_PICK_H

#include "decide/mig_cold_state.h"

struct wk_selector;

/* Marks: WK_LABEL_FAILURE_RECOVERY, WK_ANN_FAILURE_RECOVERY, and WK_ANN_RECOVERED_FROM_VMI left on
 * the VM when a recovery ends: the uid of the VMI that failed, so that a replayed event of that VMI
 * is known to be followed already (mig_failure_vmi_event). */

/* One VM's recovery, kept on the VM as the WK_ANN_FAILURE_RECOVERY annotation. */
struct mig_failure_state {
	/* pin.request: the recovery id; pin.target / pin.hostname: where the template is pinned
	 * ("" = not pinned: no eligible node); pin.wukong; pin.node_selector: the template's own
	 * (owned); pin.started_ms: when the VM was marked; pin.stopped_ms: since when it is down
	 * (the node fenced or its VMI failed; 0 = still running there). */
	struct mig_cold_state pin;
	char node[MIG_NAME_MAX];       /* the failed node */
	char vmi_uid[64];	       /* the VMI that was on it */
	char move_id[MIG_ID_MAX];      /* follow-up live migration ("" = none) */
	char move_to[MIG_NAME_MAX];    /* its target */
	char moved_from[MIG_NAME_MAX]; /* where KubeVirt had restarted the VM */
	int64_t move_ms;
	bool local; /* disks that cannot leave the node: only reported, never pinned */
};
void mig_failure_state_release(struct mig_failure_state *s);
/* The annotation value and back (-1: not ours or malformed). Caller frees the string. */
char *mig_failure_state_json(const struct mig_failure_state *s);
int mig_failure_state_parse(const char *json, struct mig_failure_state *out);
/* "nf-<16 hex of sha256(node/ns/vm/vmi uid)>" and its follow-up move "<that>-move". */
void mig_failure_recovery_id(const char *node, const char *ns, const char *vm, const char *vmi_uid,
			     char *out, size_t out_size);

/* Room on a node for a restarted VM: allocatable minus what VMIs hold there (running, or a
 * migration heading there); failed and finished VMIs hold nothing. */
struct mig_failure_node {
	const struct cJSON *obj; /* points into the node list */
	const char *name;
	int64_t free_mem, free_cpu_milli;
};
/* The table for a NodeList and a VirtualMachineInstanceList (the objects must outlive it).
 * Caller frees the array; *n its length. */
struct mig_failure_node *mig_failure_capacity(const struct cJSON *nodes, const struct cJSON *vmis,
					      size_t *n);
/* The node to take a VM of mem bytes / cpu millicores: mig_node_eligible (not `source`, Ready,
 * schedulable, targetNodeSelector, the VM's own nodeSelector) and room for it; among those the
 * most free memory (the planner's and kube-scheduler's LeastAllocated choice), the first on a
 * tie. -1 with why = NoEligibleNode (none satisfies the rules) or NoNodeWithCapacity. */
long mig_failure_pick(const struct mig_failure_node *nodes, size_t n, const char *source,
		      const struct wk_selector *target, const struct cJSON *vm_node_selector,
		      int64_t mem, int64_t cpu_milli, char *why, size_t why_size);

/* Does a node the VM already runs on satisfy the rules: targetNodeSelector (NULL = any) and the
 * VM's own nodeSelector? Labels only: a node cordoned after the VM started there still does. */
bool mig_failure_node_matches(const struct cJSON *node, const struct wk_selector *target,
			      const struct cJSON *vm_node_selector);

/* What the tick sees of one VM under recovery. */
struct mig_failure_view {
	bool vmi_exists;
	const char *vmi_uid, *vmi_phase, *vmi_node;
	bool vmi_deleting;
	bool node_ready;	/* the failed node is Ready again */
	bool vmi_node_matches;	/* the VMI's node satisfies the policy and the VM's own rules */
	const char *move_phase; /* the follow-up move's phase on the Wukong (NULL = unknown) */
	int64_t now_ms, timeout_ms;
};
enum mig_failure_action {
	MIG_FA_WAIT,	  /* nothing to do yet */
	MIG_FA_NODE_BACK, /* the node is Ready again and the VM never stopped: unpin */
	MIG_FA_DOWN,	  /* the VM is down from now (record it) */
	MIG_FA_RECOVERED, /* runs again on a node that satisfies the rules */
	MIG_FA_MISPLACED, /* runs again, but outside the rules: move it (or say it stays) */
	MIG_FA_MOVING,	  /* the follow-up move is under way (resubmit idempotently) */
	MIG_FA_MOVE_FAILED,
	MIG_FA_TIMEOUT, /* not running again within timeout_ms of going down */
};
enum mig_failure_action mig_failure_decide(const struct mig_failure_state *s,
					   const struct mig_failure_view *v);

#endif
