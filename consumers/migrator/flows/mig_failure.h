/* mig_failure.h - spec.migrationPolicy's nodeFailure trigger in wukong-migrator. A node that is
 * not Ready is never a migration source. Without fencing (the node.kubernetes.io/out-of-service
 * taint or a migrator.fencing-taints key) nothing is recovered: a second copy could write to a
 * shared disk the first may still be writing. With it, KubeVirt restarts a shared-storage VM, and
 * the migrator steers that one restart onto a node its policy allows: the VM's template is pinned
 * (mig_cold's pin) while the node is NotReady, verified, restored; a restart that landed elsewhere
 * is followed by one live migration. The state lives on the VirtualMachine (label and annotation
 * below), so a restarted migrator carries on. Each policy-enabled VM gets a condition and an audit
 * record saying why it is, or is not, recovered and where (docs/evacuation.md). The pure parts
 * below return caller-owned data.
 */
#ifndef MIG_FAILURE_H
#define MIG_FAILURE_H

#include "flows/mig_cold.h"
#include "ctx/mig_ctx.h"

struct wk_selector;

#define MIG_FAIL_LABEL "vm.novasphere.dev/failure-recovery"
#define MIG_FAIL_ANN "vm.novasphere.dev/failure-recovery"
/* Left on the VM when a recovery ends: the uid of the VMI that failed, so that a replayed event of
 * that VMI is known to be followed already (mig_failure_vmi_event). */
#define MIG_FAIL_DONE_ANN "vm.novasphere.dev/recovered-from-vmi"

/* A Node event (watcher body) for a node whose Ready condition is not True. */
enum wk_msg_result mig_failure_node_event(struct mig_state *st, const struct cJSON *body,
					  const char *node, struct mig_ack *ack);
/* A VMI event (the watcher's body) of a VMI that Failed on a node that is down and fenced: a
 * failure the migrator did not follow (it was not running while the node went down, was fenced
 * and KubeVirt restarted the VM). Marks the VM as at the Node event, so that the tick moves the
 * restarted VM to a node targetNodeSelector allows. Nothing when the VM is marked already or its
 * last recovery was from this VMI (MIG_FAIL_DONE_ANN). ts: the event's time (down since). */
enum wk_msg_result mig_failure_vmi_event(struct mig_state *st, const struct cJSON *body, int64_t ts,
					 struct mig_ack *ack);
/* Advance every recovery (found by the VM label), at most every second. */
void mig_failure_tick(struct mig_state *st);
/* Forget what was reported (service stop). */
void mig_failure_forget(void);

/* ---- pure parts (tests/unit/test_mig_failure.c) ---- */

/* One VM's recovery, kept on the VM as the MIG_FAIL_ANN annotation. */
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
