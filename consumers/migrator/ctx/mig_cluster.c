/* mig_cluster.c - what the migrator reads from the cluster: the resource descriptors it uses,
 * the facts of a live pre-flight, cold moves heading to a node, NodeMetrics readings per node and
 * the Wukong list cache. */
#include "ctx/mig_cluster.h"
#include "decide/mig_cold_state.h"
#include "decide/mig_plan.h"

#include "wk_buf.h"
#include "wk_json.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <string.h>

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
	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
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

int mig_cold_heading(struct mig_state *st, const char *node, const char *seen, int64_t *mem,
		     int64_t *cpu, char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	const cJSON *it;

	/* The list costs a scan on a large cluster: skipped while no cold move is known. */
	if (st->cold.known == 0)
		return 0;
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = WK_LABEL_COLD_MIGRATION_REQUEST;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachines, NULL, &lo, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *name = wk_json_str(it, "metadata.name");
		struct mig_cold_state s;
		char key[600];
		int64_t m, c;

		if (!ns || !name ||
		    mig_cold_state_parse(wk_json_meta(it, "annotations", WK_ANN_COLD_MIGRATION),
					 &s) < 0)
			continue;
		snprintf(key, sizeof(key), ",%s/%s,", ns, name);
		/* Heading there until decided; one whose VMI is already counted there, once. */
		if (!strcmp(s.target, node) && s.result == MIG_PH_PENDING &&
		    !(seen && strstr(seen, key))) {
			mig_vmi_resources(wk_json_path(it, "spec.template"), &st->kv, &m, &c);
			*mem += m;
			*cpu += c;
		}
		mig_cold_state_release(&s);
	}
	wk_k8s_result_release(&res);
	return 0;
}

void mig_facts_release(struct mig_facts_buf *fb)
{
	cJSON_Delete(fb->vmi);
	cJSON_Delete(fb->node);
	cJSON_Delete(fb->source_node);
	memset(fb, 0, sizeof(*fb));
}

/* Sum the resources of VMIs matching a label selector; names go into seen (comma list). */
static int sum_vmis(struct mig_state *st, const char *selector, int64_t *mem, int64_t *cpu,
		    struct wk_buf *seen, const char *skip_target, char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo = {.label_selector = selector};
	const cJSON *it;

	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, &lo, &res, err, errn) <
	    0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		int64_t m, c;
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *n = wk_json_str(it, "metadata.name");
		char key[600];

		snprintf(key, sizeof(key), ",%s/%s,", ns ? ns : "", n ? n : "");
		/* A VMI migrating to the node already runs there once it succeeded: count once. */
		if (skip_target && wk_json_str(it, "status.nodeName") &&
		    !strcmp(wk_json_str(it, "status.nodeName"), skip_target))
			continue;
		if (seen && strstr(wk_buf_str(seen) ? wk_buf_str(seen) : "", key))
			continue;
		mig_vmi_resources(it, &st->kv, &m, &c);
		*mem += m;
		*cpu += c;
		if (seen && wk_buf_adds(seen, key + (seen->len ? 1 : 0)) < 0)
			break;
	}
	wk_k8s_result_release(&res);
	return 0;
}

int mig_gather_facts(struct mig_state *st, struct mig_active *a, struct mig_facts_buf *fb,
		     char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400];
	const cJSON *it;
	const char *target = a->req.target_node;

	memset(fb, 0, sizeof(*fb));
	fb->f.ns = a->req.ns;
	fb->f.vm = a->req.vm;
	fb->f.kv = &st->kv;
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, a->req.ns, a->req.vm, &res, err,
		       errn) == 0)
		fb->vmi = wk_k8s_result_take(&res);
	else if (res.err != WK_K8S_ENOTFOUND) {
		wk_k8s_result_release(&res);
		return -1;
	}
	wk_k8s_result_release(&res);
	fb->f.vmi = fb->vmi;
	if (!fb->vmi)
		return 0;
	/* Anyone's migration of this VMI that is not final (KubeVirt's webhook would refuse a
	 * second one with "in-flight migration detected"). */
	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), "kubevirt.io/vmi-name=%s", a->req.vm);
	lo.label_selector = sel;
	if (wk_k8s_list(st->k8s, &wk_res_virtualmachineinstancemigrations, a->req.ns, &lo, &res,
			err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *n = wk_json_str(it, "metadata.name"),
			   *ph = wk_json_str(it, "status.phase");

		if (n && strcmp(n, a->obj_name) && !mig_vmim_phase_final(ph)) {
			wk_strlcpy(fb->inflight, n, sizeof(fb->inflight));
			wk_strlcpy(fb->inflight_phase, ph && *ph ? ph : "unset",
				   sizeof(fb->inflight_phase));
			fb->f.inflight_vmim = fb->inflight;
			fb->f.inflight_phase = fb->inflight_phase;
		}
	}
	wk_k8s_result_release(&res);
	if (!*target)
		return 0;
	fb->f.target_name = target;
	if (wk_k8s_get(st->k8s, &wk_res_nodes, NULL, target, &res, err, errn) == 0)
		fb->node = wk_k8s_result_take(&res);
	else if (res.err != WK_K8S_ENOTFOUND && res.err != WK_K8S_EREFUSED) {
		wk_k8s_result_release(&res);
		return -1;
	}
	wk_k8s_result_release(&res);
	fb->f.target_node = fb->node;
	if (!fb->node)
		return 0;
	{
		/* The source node's host-model CPU labels, which KubeVirt requires of the target
		 * of a host-model VMI. Not readable: not checked (KubeVirt decides). */
		const char *src = wk_json_str(fb->vmi, "status.nodeName");

		if (src && *src && strcmp(src, target) &&
		    wk_k8s_get(st->k8s, &wk_res_nodes, NULL, src, &res, err, errn) == 0)
			fb->source_node = wk_k8s_result_take(&res);
		wk_k8s_result_release(&res);
		fb->f.source_node = fb->source_node;
	}
	{
		struct wk_buf seen;
		struct mig_active *o;
		int64_t mem = 0, cpu = 0;
		int rc;

		wk_buf_init(&seen, 1u << 20);
		snprintf(sel, sizeof(sel), "kubevirt.io/nodeName=%s", target);
		rc = sum_vmis(st, sel, &mem, &cpu, &seen, NULL, err, errn);
		snprintf(sel, sizeof(sel), "kubevirt.io/migrationTargetNodeName=%s", target);
		/* Only a migration in flight labels a VMI with its target: with none in the cluster
		 * (ours now, others' as of the last resync) skip the second list, which costs a
		 * table scan on a large cluster. */
		if (rc == 0 && st->load.total > 0)
			rc = sum_vmis(st, sel, &mem, &cpu, &seen, target, err, errn);
		/* Ours heading there that KubeVirt has not labelled yet. */
		for (o = st->active; rc == 0 && o; o = o->next) {
			char key[600];

			if (o == a || o->phase != MIG_PH_MIGRATING ||
			    strcmp(o->req.target_node, target))
				continue;
			snprintf(key, sizeof(key), ",%s/%s,", o->req.ns, o->req.vm);
			if (wk_buf_str(&seen) && strstr(wk_buf_str(&seen), key))
				continue;
			mem += o->mem;
			cpu += o->cpu_milli;
		}
		/* Cold moves there: a stopped VM has no VMI to count until it starts there. */
		if (rc == 0)
			rc = mig_cold_heading(st, target, wk_buf_str(&seen), &mem, &cpu, err, errn);
		wk_buf_release(&seen);
		if (rc < 0)
			return -1;
		fb->f.target_used_mem = mem;
		fb->f.target_used_cpu_milli = cpu;
	}
	return 0;
}
