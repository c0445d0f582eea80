/* mig_preflight.h - the checks a migration must pass before any KubeVirt object is created, and the
 * MigrationPolicy selection rules the migrator relies on. Pure functions over cJSON objects the
 * caller fetched; nothing here does I/O or keeps what it is given.
 */
#ifndef MIG_PREFLIGHT_H
#define MIG_PREFLIGHT_H

#include "wk_common.h"

struct cJSON;
struct wk_kubevirt_info;

/* A failed check: reason is a CamelCase machine-readable code (KubeVirt's own reason when it
 * gave one, e.g. "DisksNotLiveMigratable"), message a sentence for a human. */
struct mig_check {
	char reason[64];
	char message[640];
};

/* Fill c with reason and the formatted message; returns -1 (a failed check). */
int mig_check_fail(struct mig_check *c, const char *reason, const char *fmt, ...) WK_PRINTF(3, 4);

/* What the caller looked up. Objects may be NULL (not found). */
struct mig_facts {
	const char *ns;
	const char *vm;
	const struct cJSON *vmi;
	const char *target_name;	 /* NULL/"" = no target requested */
	const struct cJSON *target_node; /* the Node object, NULL = not found */
	/* Resources already committed on the target: VMIs running there, migrations heading
	 * there, and requests of ours admitted towards it. */
	int64_t target_used_mem;
	int64_t target_used_cpu_milli;
	/* The node the VMI runs on (NULL = not read): its host-model CPU labels, which KubeVirt
	 * requires on a migration target (host-model VMIs). */
	const struct cJSON *source_node;
	/* A non-final VMIM for this VMI (anyone's), or NULL. */
	const char *inflight_vmim;
	const char *inflight_phase;
	/* What the KubeVirt CR says (NULL = unknown: upstream's defaults of the newest version). */
	const struct wk_kubevirt_info *kv;
};

/* May a live migration be sent to a chosen node on this KubeVirt? spec.addedNodeSelector of a
 * VirtualMachineInstanceMigration exists from v1.6.0 (the v1.5.0 API prunes it and the scheduler
 * picks any node). An unknown version may (the outcome checks migrationState.targetNode). */
bool mig_kv_can_target(const struct wk_kubevirt_info *kv);

/* Room on node for mem bytes / cpu_milli millicores with used_* already taken of its
 * allocatable (unknown allocatable: no limit). 0, or -1 with TargetNodeInsufficient{Memory,CPU}. */
int mig_check_room(struct mig_check *c, const char *node_name, const struct cJSON *node,
		   int64_t used_mem, int64_t used_cpu_milli, int64_t mem, int64_t cpu_milli);

/* Every check in order; 0 if the migration may go ahead, -1 with the first failure. */
int mig_preflight(const struct mig_facts *f, struct mig_check *out);

/* What the scheduler counts for a VMI (or a VM template: anything with spec.domain): the
 * requests of the virt-launcher pod KubeVirt renders for it (pkg/virt-controller/services/
 * renderresources.go, template.go; the simulator's launcher_render follows the same formula).
 * CPU: the VMI's own cpu request, else with dedicatedCpuPlacement all vCPUs, else vCPUs /
 * cpuAllocationRatio (kv, default 10). Memory: the memory request (or memory.guest) plus
 * GetMemoryOverhead (x86: guest/512 + 220Mi of KubeVirt processes + 8Mi per vCPU + 8Mi IOThread
 * + video RAM 16Mi on 1.5, 32Mi from 1.6 unless autoattachGraphicsDevice is false + 100Mi for
 * dedicated CPUs; none with overcommitGuestOverhead), plus the guest-console-log container (5m,
 * 35M) unless the serial console is not logged. kv NULL = defaults of the newest version. */
void mig_vmi_resources(const struct cJSON *vmi, const struct wk_kubevirt_info *kv, int64_t *mem,
		       int64_t *cpu_milli);
/* The guest's own size: memory.guest or the memory request; cores x sockets x threads or the
 * CPU request (what a VM can use at most: resourcePressure's relief estimate). */
void mig_vmi_guest(const struct cJSON *vmi, int64_t *mem, int64_t *cpu_milli);

/* Would kube-scheduler put KubeVirt's launcher pod for spec (a VMI's or a VM template's spec:
 * nodeSelector, tolerations, affinity, domain.cpu) on node, room apart? The node must carry
 * kubevirt.io/schedulable=true (KubeVirt's node selector; virt-handler keeps it); every
 * NoSchedule/NoExecute taint (a cordon counts as node.kubernetes.io/unschedulable:NoSchedule)
 * must be tolerated (k8s Toleration.ToleratesTaint); spec.nodeSelector (skip_key, e.g.
 * "kubernetes.io/hostname" for a cold move's own pin, is left out) and the required node
 * affinity must match; an explicit CPU model and its required features need the node-labeller's
 * cpu-model / cpu-feature labels; a host-model VMI migrating needs the source node's host model
 * and required features (source_node, NULL = not checked). 0, or -1 with the reason. */
int mig_place_check(const struct cJSON *node, const char *node_name, const struct cJSON *spec,
		    const char *skip_key, const struct cJSON *source_node, struct mig_check *c);
/* A node's allocatable memory (bytes) and CPU (millicores); -1 each when absent. */
void mig_node_allocatable(const struct cJSON *node, int64_t *mem, int64_t *cpu_milli);
/* NodeSelectorTerms (a required node affinity, a PersistentVolume's spec.nodeAffinity.required):
 * any term whose every matchExpressions / matchFields requirement holds for node (k8s.io/
 * component-helpers nodeaffinity); not an array = no constraint (true). */
bool mig_node_matches_terms(const struct cJSON *terms, const struct cJSON *node,
			    const char *node_name);
/* The scheduler's VolumeBinding for a bound claim: may a pod using PersistentVolume pv (claim
 * names it in the message) run on node? 0, or -1 with TargetNodeVolumeAffinityMismatch. */
int mig_pv_check(const struct cJSON *pv, const char *claim, const struct cJSON *node,
		 const char *node_name, struct mig_check *c);
/* Ready condition True. */
bool mig_node_ready(const struct cJSON *node);
/* spec.unschedulable or a NoSchedule/NoExecute taint; *why names it. */
bool mig_node_unschedulable(const struct cJSON *node, char *why, size_t why_size);
/* Is the VMI migrating as KubeVirt decides it (pkg/util/migrations/migrations.go IsMigrating:
 * status.migrationState.startTimestamp set and no endTimestamp)? Under vmRolloutStrategy
 * LiveUpdate KubeVirt refuses to carry a template nodeSelector change onto such a VMI ("Node
 * affinity should not be changed during VMI migration", vm.go handleAffinityChangeRequest). */
bool mig_vmi_migrating(const struct cJSON *vmi);
/* What a restored template nodeSelector means on this KubeVirt, appended to a message: under
 * vmRolloutStrategy Stage (1.5's default) KubeVirt marks the running VM RestartRequired
 * (vm.go addRestartRequiredIfNeeded: any template change but live-updatable fields); under
 * LiveUpdate (1.6+ default) it is carried onto the running VMI. "" when nothing to say. */
void mig_rollout_note(const struct wk_kubevirt_info *kv, char *out, size_t out_size);
/* Is a VMIM phase final (Succeeded, Failed)? */
bool mig_vmim_phase_final(const char *phase);

/* ---- MigrationPolicy (migrations.kubevirt.io/v1alpha1) ---- */

/* KubeVirt's matchPolicy: among policies whose every selector label matches (VMI labels and
 * namespace labels), the one with the most matching labels wins; on a tie more VMI-label
 * matches; then the smallest name. Returns the winner's name (pointer into policies) or NULL. */
const char *mig_policy_winner(const struct cJSON *policies, const struct cJSON *vmi_labels,
			      const struct cJSON *ns_labels);
/* The VMI labels our per-VM policy selects on: all of them except those KubeVirt itself
 * changes during a migration (kubevirt.io/nodeName, kubevirt.io/migrationTargetNodeName,
 * kubevirt.io/outdatedLauncherImage). New object, caller deletes. */
struct cJSON *mig_policy_vmi_selector(const struct cJSON *vmi_labels);

#endif
