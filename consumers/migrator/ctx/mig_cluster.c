/* mig_cluster.c - what the migrator reads from the cluster: the resource descriptors it uses,
 * NodeMetrics readings per node and the Wukong list cache. */
#include "ctx/mig_cluster.h"
#include "decide/mig_plan.h"

#include "wk_json.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <string.h>

const struct wk_k8s_resource mig_res_vms = {"kubevirt.io", "v1", "virtualmachines", true};

const struct wk_k8s_resource mig_res_vmis = {"kubevirt.io", "v1", "virtualmachineinstances", true};

const struct wk_k8s_resource mig_res_vmims = {"kubevirt.io", "v1",
					      "virtualmachineinstancemigrations", true};

const struct wk_k8s_resource mig_res_kubevirts = {"kubevirt.io", "v1", "kubevirts", true};

const struct wk_k8s_resource mig_res_policies = {"migrations.kubevirt.io", "v1alpha1",
						 "migrationpolicies", false};

const struct wk_k8s_resource mig_res_wukongs = {"vm.novasphere.dev", "v1alpha1", "wukongs", true};

struct mig_pnode *mig_pnode_get(struct mig_state *st, const char *node, bool create)
{
	for (size_t i = 0; i < st->pressure.npn; i++)
		if (!strcmp(st->pressure.pn[i].name, node))
			return &st->pressure.pn[i];
	if (!create || st->pressure.npn >= MIG_PLAN_MAX_NODES)
		return NULL;
	st->pressure.pn =
	    wk_xrealloc(st->pressure.pn, (st->pressure.npn + 1) * sizeof(*st->pressure.pn));
	memset(&st->pressure.pn[st->pressure.npn], 0, sizeof(*st->pressure.pn));
	wk_strlcpy(st->pressure.pn[st->pressure.npn].name, node,
		   sizeof(st->pressure.pn[st->pressure.npn].name));
	st->pressure.pn[st->pressure.npn].used = -1;
	st->pressure.pn[st->pressure.npn].cpu_used = -1;
	return &st->pressure.pn[st->pressure.npn++];
}

const cJSON *mig_wukongs_cached(struct mig_state *st)
{
	struct wk_k8s_result res;
	char err[512];
	int64_t now = wk_time_mono_ms();
	const cJSON *w;

	if (st->pressure.wk_cache && now < st->pressure.wk_cache_until)
		return st->pressure.wk_cache;
	if (wk_k8s_list_all(st->k8s, &mig_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return NULL;
	}
	cJSON_Delete(st->pressure.wk_cache);
	st->pressure.wk_cache = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	st->pressure.wk_cache_until = now + 5000;
	st->pressure.wk_any_pressure = false;
	cJSON_ArrayForEach(w, wk_json_path(st->pressure.wk_cache, "items"))
	{
		const cJSON *pol = wk_json_path(w, "spec.migrationPolicy"), *t;

		if (!cJSON_IsTrue(wk_json_path(pol, "enabled")))
			continue;
		cJSON_ArrayForEach(
		    t, wk_json_path(pol, "triggerConditions")) if (wk_json_str(t, "type") &&
								   !strcmp(wk_json_str(t, "type"),
									   "resourcePressure"))
		    st->pressure.wk_any_pressure = true;
	}
	return st->pressure.wk_cache;
}

int64_t mig_pressure_used(struct mig_state *st, const char *node)
{
	const struct mig_pnode *p = mig_pnode_get(st, node, false);
	return p ? p->used : -1;
}

int64_t mig_pressure_cpu_used(struct mig_state *st, const char *node)
{
	const struct mig_pnode *p = mig_pnode_get(st, node, false);
	return p ? p->cpu_used : -1;
}
