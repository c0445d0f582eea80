/* pv_build.h - wukong-provisioner's pure decisions: a Wukong (and what the cluster has) in, the
 * VirtualMachine it becomes (with CDI DataVolume templates), the merge patch a spec change
 * becomes, and the status the VM, VMI and DataVolumes add up to. No I/O: pv_service.c reads and
 * acts. Every cJSON returned is the caller's to cJSON_Delete; inputs are borrowed.
 *
 * docs/provisioner.md maps every Wukong field to the KubeVirt/CDI field it becomes.
 */
#ifndef PV_BUILD_H
#define PV_BUILD_H

#include "wk_common.h"

struct cJSON;

#define PV_SVC "wukong-provisioner"
/* The provisioner's own label on what it creates: adoption tells its VMs from another operator's.
 */
#define PV_LABEL_PROVISIONER "vm.novasphere.dev/provisioner"
/* On the VM: the Wukong generation the VM's spec was last built from (spec changes apply once). */
#define PV_ANN_GENERATION "vm.novasphere.dev/provisioned-generation"
/* KubeVirt's opt-in for live migration of a bridge binding on the pod network
 * (staging/src/kubevirt.io/api/core/v1/types.go AllowPodBridgeNetworkLiveMigrationAnnotation). */
#define PV_ANN_BRIDGE_MIGRATION "kubevirt.io/allow-pod-bridge-network-live-migration"

/* On the VM: the keys of the Wukong's labels / annotations it carries over (comma-separated,
 * sorted), so a key the Wukong drops later is dropped from the VM too, and only such a key. */
#define PV_ANN_CARRIED_LABELS "vm.novasphere.dev/carried-labels"
#define PV_ANN_CARRIED_ANNOTATIONS "vm.novasphere.dev/carried-annotations"

#define PV_CLASSES_MAX 64

/* What the cluster offers, as far as a Wukong's disks care. */
struct pv_cluster {
	const char *classes[PV_CLASSES_MAX]; /* StorageClass names (borrowed) */
	size_t nclasses;
	bool classes_known;	   /* false: the list could not be read, skip the check */
	const char *default_class; /* the class marked default, or NULL */
	bool live_update;	   /* KubeVirt vmRolloutStrategy: LiveUpdate */
};

/* Why a Wukong is not (yet) a VM: a CamelCase reason and a message a user can act on. */
struct pv_verdict {
	char reason[64];
	char message[512];
	bool retry; /* may resolve by itself (a class that appears later): Pending, not Failed */
};

/* The VM for a Wukong. 0 with *vm_out set, or -1 with v filled (nothing to create). */
int pv_build_vm(const struct cJSON *wk, const struct pv_cluster *cl, struct cJSON **vm_out,
		struct pv_verdict *v);

/* A spec change of a Wukong whose VM the provisioner made (vm carries PV_LABEL_PROVISIONER).
 * *patch_out: a JSON merge patch for the VM with the generation mark (NULL = nothing to change:
 * the VM is left alone, e.g. for a generation that only changed spec.migration); *delete_dvs: array
 * of DataVolume names to delete (disks removed with diskRemovalPolicy Delete), or NULL; refused
 * filled when part of the change is refused (a disk removal without Delete); the rest applies. */
int pv_build_update(const struct cJSON *wk, const struct cJSON *vm, const struct pv_cluster *cl,
		    struct cJSON **patch_out, struct cJSON **delete_dvs,
		    struct pv_verdict *refused);

/* The Wukong's labels and annotations on a VM the provisioner made: a change of them bumps no
 * generation, so it is judged every time against the VM (the VM's metadata and its template's).
 * *patch_out: a merge patch (NULL = the VM already carries them): keys set or changed, keys the
 * Wukong dropped since (PV_ANN_CARRIED_*) removed, the carried lists updated. */
void pv_build_meta_update(const struct cJSON *wk, const struct cJSON *vm, struct cJSON **patch_out);

/* A clone target whose clone Succeeded: the cloner's VM (a copy of the source) takes the cpu
 * and memory its own Wukong asks for, when it sets them. *patch_out: a merge patch for the VM
 * (cpu, memory, the generation mark); never NULL. */
void pv_build_clone_update(const struct cJSON *wk, const struct cJSON *vm,
			   struct cJSON **patch_out);

/* The VM's generation mark: the Wukong generation its spec was built from, 0 if none. */
int64_t pv_vm_built_generation(const struct cJSON *vm);
/* Does the provisioner own this VM (its label)? */
bool pv_vm_is_ours(const struct cJSON *vm);

/* The status of a Wukong from what exists. refused: the build's or update's verdict (NULL = none).
 * dvs: array of the VM's DataVolumes as read (may be NULL). *status_out: the top-level status
 * keys (phase, vmName, nodeName, ipAddresses, disks); cond: Ready (reason: what to act on),
 * RestartRequired (while the VM runs), SpecAccepted (False with the refusal's reason). */
struct pv_cond {
	const char *type;
	const char *status;
	char reason[64];
	char message[1024];
};
struct pv_status {
	struct cJSON *status; /* owned */
	struct pv_cond cond[3];
	size_t ncond;
};
void pv_build_status(const struct cJSON *wk, const struct cJSON *vm, const struct cJSON *vmi,
		     const struct cJSON *dvs, const struct pv_cluster *cl,
		     const struct pv_verdict *refused, struct pv_status *out);
void pv_status_release(struct pv_status *s);

#endif
