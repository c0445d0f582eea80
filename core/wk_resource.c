/* wk_resource.c - the resource descriptor table and its lookups. */
#include "wk_resource.h"

const struct wk_k8s_resource wk_res_namespaces = WK_RES_NAMESPACES_INIT;
const struct wk_k8s_resource wk_res_nodes = WK_RES_NODES_INIT;
const struct wk_k8s_resource wk_res_pods = WK_RES_PODS_INIT;
const struct wk_k8s_resource wk_res_configmaps = WK_RES_CONFIGMAPS_INIT;
const struct wk_k8s_resource wk_res_events = WK_RES_EVENTS_INIT;
const struct wk_k8s_resource wk_res_persistentvolumeclaims = WK_RES_PERSISTENTVOLUMECLAIMS_INIT;
const struct wk_k8s_resource wk_res_endpointslices = WK_RES_ENDPOINTSLICES_INIT;
const struct wk_k8s_resource wk_res_persistentvolumes = WK_RES_PERSISTENTVOLUMES_INIT;
const struct wk_k8s_resource wk_res_leases = WK_RES_LEASES_INIT;
const struct wk_k8s_resource wk_res_storageclasses = WK_RES_STORAGECLASSES_INIT;
const struct wk_k8s_resource wk_res_customresourcedefinitions =
    WK_RES_CUSTOMRESOURCEDEFINITIONS_INIT;
const struct wk_k8s_resource wk_res_nodemetrics = WK_RES_NODEMETRICS_INIT;
const struct wk_k8s_resource wk_res_virtualmachines = WK_RES_VIRTUALMACHINES_INIT;
const struct wk_k8s_resource wk_res_virtualmachineinstances = WK_RES_VIRTUALMACHINEINSTANCES_INIT;
const struct wk_k8s_resource wk_res_virtualmachineinstancemigrations =
    WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_INIT;
const struct wk_k8s_resource wk_res_kubevirts = WK_RES_KUBEVIRTS_INIT;
const struct wk_k8s_resource wk_res_migrationpolicies = WK_RES_MIGRATIONPOLICIES_INIT;
const struct wk_k8s_resource wk_res_virtualmachinesnapshots = WK_RES_VIRTUALMACHINESNAPSHOTS_INIT;
const struct wk_k8s_resource wk_res_virtualmachinesnapshotcontents =
    WK_RES_VIRTUALMACHINESNAPSHOTCONTENTS_INIT;
const struct wk_k8s_resource wk_res_virtualmachinerestores = WK_RES_VIRTUALMACHINERESTORES_INIT;
const struct wk_k8s_resource wk_res_virtualmachineclones = WK_RES_VIRTUALMACHINECLONES_INIT;
const struct wk_k8s_resource wk_res_wukongs = WK_RES_WUKONGS_INIT;
const struct wk_k8s_resource wk_res_datavolumes = WK_RES_DATAVOLUMES_INIT;
const struct wk_k8s_resource wk_res_volumesnapshots = WK_RES_VOLUMESNAPSHOTS_INIT;

static const struct wk_k8s_resource *const table[] = {
    &wk_res_namespaces,
    &wk_res_nodes,
    &wk_res_pods,
    &wk_res_configmaps,
    &wk_res_events,
    &wk_res_endpointslices,
    &wk_res_persistentvolumeclaims,
    &wk_res_persistentvolumes,
    &wk_res_leases,
    &wk_res_storageclasses,
    &wk_res_customresourcedefinitions,
    &wk_res_nodemetrics,
    &wk_res_virtualmachines,
    &wk_res_virtualmachineinstances,
    &wk_res_virtualmachineinstancemigrations,
    &wk_res_kubevirts,
    &wk_res_migrationpolicies,
    &wk_res_virtualmachinesnapshots,
    &wk_res_virtualmachinesnapshotcontents,
    &wk_res_virtualmachinerestores,
    &wk_res_virtualmachineclones,
    &wk_res_wukongs,
    &wk_res_datavolumes,
    &wk_res_volumesnapshots,
};

const struct wk_k8s_resource *wk_resource_by_kind(const char *kind)
{
	for (size_t i = 0; kind && i < WK_ARRAY_SIZE(table); i++)
		if (!strcmp(table[i]->kind, kind))
			return table[i];
	return NULL;
}

const struct wk_k8s_resource *wk_resource_find(const char *group, const char *version,
					       const char *plural)
{
	if (!group || !version || !plural)
		return NULL;
	for (size_t i = 0; i < WK_ARRAY_SIZE(table); i++)
		if (!strcmp(table[i]->plural, plural) && !strcmp(table[i]->group, group) &&
		    !strcmp(table[i]->version, version))
			return table[i];
	return NULL;
}

const struct wk_k8s_resource *wk_resource_at(size_t i)
{
	return i < WK_ARRAY_SIZE(table) ? table[i] : NULL;
}

bool wk_resource_api_version(const struct wk_k8s_resource *r, char *out, size_t out_size)
{
	int n;

	if (!out_size)
		return false;
	if (!r->group[0])
		return wk_strlcpy(out, r->version, out_size);
	n = snprintf(out, out_size, "%s/%s", r->group, r->version);
	return n >= 0 && (size_t)n < out_size;
}
