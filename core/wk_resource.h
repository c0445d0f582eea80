/* wk_resource.h - the one table of Kubernetes resource descriptors (group, version, plural, kind,
 * namespaced) every service, the simulator and wukongctl use; descriptors are static data, never
 * freed, and the lookups return pointers into the table (NULL if unknown).
 *
 * A new resource is one WK_RES_*_FIELDS/_INIT pair here and one table row in wk_resource.c. The
 * *_INIT macros exist for tables that embed a descriptor by value (the watcher's kinds); everything
 * else points at the wk_res_<plural> object.
 */
#ifndef WK_RESOURCE_H
#define WK_RESOURCE_H

#include "wk_common.h"

/* What to talk to. group "" is the core API (/api/v1/...), otherwise /apis/<group>/<version>/...
 * Keep the first four members in this order: positional initialisers rely on it. */
struct wk_k8s_resource {
	const char *group;
	const char *version;
	const char *plural;
	bool namespaced;
	const char *kind; /* "VirtualMachine"; NULL in a descriptor written without it */
};

/* clang-format off */
#define WK_RES_NAMESPACES_FIELDS "", "v1", "namespaces", false, "Namespace"
#define WK_RES_NAMESPACES_INIT {WK_RES_NAMESPACES_FIELDS}
#define WK_RES_NODES_FIELDS "", "v1", "nodes", false, "Node"
#define WK_RES_NODES_INIT {WK_RES_NODES_FIELDS}
#define WK_RES_PODS_FIELDS "", "v1", "pods", true, "Pod"
#define WK_RES_PODS_INIT {WK_RES_PODS_FIELDS}
#define WK_RES_CONFIGMAPS_FIELDS "", "v1", "configmaps", true, "ConfigMap"
#define WK_RES_CONFIGMAPS_INIT {WK_RES_CONFIGMAPS_FIELDS}
#define WK_RES_EVENTS_FIELDS "", "v1", "events", true, "Event"
#define WK_RES_EVENTS_INIT {WK_RES_EVENTS_FIELDS}
#define WK_RES_ENDPOINTSLICES_FIELDS "discovery.k8s.io", "v1", "endpointslices", true, "EndpointSlice"
#define WK_RES_ENDPOINTSLICES_INIT {WK_RES_ENDPOINTSLICES_FIELDS}
#define WK_RES_PERSISTENTVOLUMECLAIMS_FIELDS "", "v1", "persistentvolumeclaims", true, "PersistentVolumeClaim"
#define WK_RES_PERSISTENTVOLUMECLAIMS_INIT {WK_RES_PERSISTENTVOLUMECLAIMS_FIELDS}
#define WK_RES_PERSISTENTVOLUMES_FIELDS "", "v1", "persistentvolumes", false, "PersistentVolume"
#define WK_RES_PERSISTENTVOLUMES_INIT {WK_RES_PERSISTENTVOLUMES_FIELDS}
#define WK_RES_LEASES_FIELDS "coordination.k8s.io", "v1", "leases", true, "Lease"
#define WK_RES_LEASES_INIT {WK_RES_LEASES_FIELDS}
#define WK_RES_STORAGECLASSES_FIELDS "storage.k8s.io", "v1", "storageclasses", false, "StorageClass"
#define WK_RES_STORAGECLASSES_INIT {WK_RES_STORAGECLASSES_FIELDS}
#define WK_RES_CUSTOMRESOURCEDEFINITIONS_FIELDS "apiextensions.k8s.io", "v1", "customresourcedefinitions", false, "CustomResourceDefinition"
#define WK_RES_CUSTOMRESOURCEDEFINITIONS_INIT {WK_RES_CUSTOMRESOURCEDEFINITIONS_FIELDS}
#define WK_RES_NODEMETRICS_FIELDS "metrics.k8s.io", "v1beta1", "nodes", false, "NodeMetrics"
#define WK_RES_NODEMETRICS_INIT {WK_RES_NODEMETRICS_FIELDS}
#define WK_RES_VIRTUALMACHINES_FIELDS "kubevirt.io", "v1", "virtualmachines", true, "VirtualMachine"
#define WK_RES_VIRTUALMACHINES_INIT {WK_RES_VIRTUALMACHINES_FIELDS}
#define WK_RES_VIRTUALMACHINEINSTANCES_FIELDS "kubevirt.io", "v1", "virtualmachineinstances", true, "VirtualMachineInstance"
#define WK_RES_VIRTUALMACHINEINSTANCES_INIT {WK_RES_VIRTUALMACHINEINSTANCES_FIELDS}
#define WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_FIELDS "kubevirt.io", "v1", "virtualmachineinstancemigrations", true, "VirtualMachineInstanceMigration"
#define WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_INIT {WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_FIELDS}
#define WK_RES_KUBEVIRTS_FIELDS "kubevirt.io", "v1", "kubevirts", true, "KubeVirt"
#define WK_RES_KUBEVIRTS_INIT {WK_RES_KUBEVIRTS_FIELDS}
#define WK_RES_MIGRATIONPOLICIES_FIELDS "migrations.kubevirt.io", "v1alpha1", "migrationpolicies", false, "MigrationPolicy"
#define WK_RES_MIGRATIONPOLICIES_INIT {WK_RES_MIGRATIONPOLICIES_FIELDS}
#define WK_RES_VIRTUALMACHINESNAPSHOTS_FIELDS "snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", true, "VirtualMachineSnapshot"
#define WK_RES_VIRTUALMACHINESNAPSHOTS_INIT {WK_RES_VIRTUALMACHINESNAPSHOTS_FIELDS}
#define WK_RES_VIRTUALMACHINESNAPSHOTCONTENTS_FIELDS "snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents", true, "VirtualMachineSnapshotContent"
#define WK_RES_VIRTUALMACHINESNAPSHOTCONTENTS_INIT {WK_RES_VIRTUALMACHINESNAPSHOTCONTENTS_FIELDS}
#define WK_RES_VIRTUALMACHINERESTORES_FIELDS "snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores", true, "VirtualMachineRestore"
#define WK_RES_VIRTUALMACHINERESTORES_INIT {WK_RES_VIRTUALMACHINERESTORES_FIELDS}
#define WK_RES_VIRTUALMACHINECLONES_FIELDS "clone.kubevirt.io", "v1beta1", "virtualmachineclones", true, "VirtualMachineClone"
#define WK_RES_VIRTUALMACHINECLONES_INIT {WK_RES_VIRTUALMACHINECLONES_FIELDS}
#define WK_RES_WUKONGS_FIELDS "vm.novasphere.dev", "v1alpha1", "wukongs", true, "Wukong"
#define WK_RES_WUKONGS_INIT {WK_RES_WUKONGS_FIELDS}
#define WK_RES_DATAVOLUMES_FIELDS "cdi.kubevirt.io", "v1beta1", "datavolumes", true, "DataVolume"
#define WK_RES_DATAVOLUMES_INIT {WK_RES_DATAVOLUMES_FIELDS}
#define WK_RES_VOLUMESNAPSHOTS_FIELDS "snapshot.storage.k8s.io", "v1", "volumesnapshots", true, "VolumeSnapshot"
#define WK_RES_VOLUMESNAPSHOTS_INIT {WK_RES_VOLUMESNAPSHOTS_FIELDS}
/* clang-format on */

extern const struct wk_k8s_resource wk_res_namespaces;
extern const struct wk_k8s_resource wk_res_nodes;
extern const struct wk_k8s_resource wk_res_pods;
extern const struct wk_k8s_resource wk_res_configmaps;
extern const struct wk_k8s_resource wk_res_events;
extern const struct wk_k8s_resource wk_res_endpointslices;
extern const struct wk_k8s_resource wk_res_persistentvolumeclaims;
extern const struct wk_k8s_resource wk_res_persistentvolumes;
extern const struct wk_k8s_resource wk_res_leases;
extern const struct wk_k8s_resource wk_res_storageclasses;
extern const struct wk_k8s_resource wk_res_customresourcedefinitions;
extern const struct wk_k8s_resource wk_res_nodemetrics; /* metrics.k8s.io "nodes" */
extern const struct wk_k8s_resource wk_res_virtualmachines;
extern const struct wk_k8s_resource wk_res_virtualmachineinstances;
extern const struct wk_k8s_resource wk_res_virtualmachineinstancemigrations;
extern const struct wk_k8s_resource wk_res_kubevirts;
extern const struct wk_k8s_resource wk_res_migrationpolicies;
extern const struct wk_k8s_resource wk_res_virtualmachinesnapshots;
extern const struct wk_k8s_resource wk_res_virtualmachinesnapshotcontents;
extern const struct wk_k8s_resource wk_res_virtualmachinerestores;
extern const struct wk_k8s_resource wk_res_virtualmachineclones;
extern const struct wk_k8s_resource wk_res_wukongs;
extern const struct wk_k8s_resource wk_res_datavolumes;	    /* CDI */
extern const struct wk_k8s_resource wk_res_volumesnapshots; /* CSI external-snapshotter */

/* By kind ("VirtualMachine"), exact case. NULL if unknown or kind is NULL. */
const struct wk_k8s_resource *wk_resource_by_kind(const char *kind);
/* By group ("" for core), version and plural, exact case. NULL if unknown or an argument is NULL.
 */
const struct wk_k8s_resource *wk_resource_find(const char *group, const char *version,
					       const char *plural);
/* The i-th descriptor of the table, NULL past its end: for (i = 0; (r = wk_resource_at(i)); i++) */
const struct wk_k8s_resource *wk_resource_at(size_t i);
/* "kubevirt.io/v1", or "v1" for the core group, into out (always terminated); false if cut. */
bool wk_resource_api_version(const struct wk_k8s_resource *r, char *out, size_t out_size);

#endif
