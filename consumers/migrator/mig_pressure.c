/* mig_pressure.c - spec.migrationPolicy's resourcePressure trigger (mig_pressure.h): NodeMetrics
 * samples, hot/cool with hysteresis and sustain, per-VM cooldown, the choice of just enough VMs,
 * handed to mig_evac_start as a selective evacuation (docs/evacuation.md).
 */
#include "mig_pressure.h"
#include "mig_evac_int.h"

#include "mig_plan.h"

#include "wk_json.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <cjson/cJSON.h>

#define LABEL_NODE "kubevirt.io/nodeName"

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Last memory usage per node from metrics.k8s.io NodeMetrics, and since when it is hot. */
static struct pnode {
	char name[MIG_NAME_MAX];
	int64_t used;	    /* bytes */
	int64_t hot_since;  /* mono ms; 0 = not hot */
	int64_t next_check; /* mono ms */
} * g_pn;
static size_t g_npn;
/* Per VM ("<ns>/<vm>"): when a pressure move of it was last started (mono ms). */
static struct mig_map g_cooldown;
static bool g_cooldown_init;

static struct pnode *pnode_get(const char *node, bool create)
{
	for (size_t i = 0; i < g_npn; i++)
		if (!strcmp(g_pn[i].name, node))
			return &g_pn[i];
	if (!create || g_npn >= MIG_PLAN_MAX_NODES)
		return NULL;
	g_pn = wk_xrealloc(g_pn, (g_npn + 1) * sizeof(*g_pn));
	memset(&g_pn[g_npn], 0, sizeof(*g_pn));
	wk_strlcpy(g_pn[g_npn].name, node, sizeof(g_pn[g_npn].name));
	g_pn[g_npn].used = -1;
	return &g_pn[g_npn++];
}

/* The Wukong list, shared by every node's evaluation for a few seconds (NodeMetrics of many
 * nodes arrive together), and whether any Wukong asks for pressure relief at all. */
static cJSON *g_wk_cache;
static int64_t g_wk_cache_until;
static bool g_wk_any_pressure;

static const cJSON *wukongs_cached(struct mig_state *st)
{
	struct wk_k8s_result res;
	char err[512];
	int64_t now = wk_time_mono_ms();
	const cJSON *w;

	if (g_wk_cache && now < g_wk_cache_until)
		return g_wk_cache;
	if (wk_k8s_list_all(st->k8s, &mig_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return NULL;
	}
	cJSON_Delete(g_wk_cache);
	g_wk_cache = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	g_wk_cache_until = now + 5000;
	g_wk_any_pressure = false;
	cJSON_ArrayForEach(w, jget(g_wk_cache, "items"))
	{
		const cJSON *pol = wk_json_path(w, "spec.migrationPolicy"), *t;

		if (!cJSON_IsTrue(jget(pol, "enabled")))
			continue;
		cJSON_ArrayForEach(
		    t, jget(pol, "triggerConditions")) if (wk_json_str(t, "type") &&
							   !strcmp(wk_json_str(t, "type"),
								   "resourcePressure"))
		    g_wk_any_pressure = true;
	}
	return g_wk_cache;
}

int64_t mig_pressure_used(const char *node)
{
	const struct pnode *p = pnode_get(node, false);
	return p ? p->used : -1;
}

static int cmp_mem(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* A NodeMetrics event. Hot: memory used at or above the lowest threshold of the policy-enabled
 * VMs on the node for migrator.pressure-sustain; then just enough of them (not cooling down)
 * move so that the node falls to the threshold minus migrator.pressure-hysteresis points, onto
 * nodes that stay under that same level. Cool again only below that level (hysteresis). */
enum wk_msg_result mig_pressure_metrics_event(struct mig_state *st, const cJSON *body,
					      const char *change, int64_t ts, struct mig_ack *ack)
{
	const char *node = wk_json_str(body, "name"), *mem = wk_json_str(body, "usage.memory");
	struct pnode *p;
	int64_t used, now = wk_time_mono_ms(), am, ac;
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512], sel[400];
	int hyst = (int)mig_cfg_num(st, "migrator.pressure-hysteresis", 10, false);
	double sustain_ms = mig_cfg_num(st, "migrator.pressure-sustain", 15, false) * 1000;
	double cooldown_ms = mig_cfg_num(st, "migrator.pressure-cooldown", 600, false) * 1000;

	if (!node || !mem || !strcmp(change, "deleted") ||
	    wk_quantity_parse(mem, &used, err, sizeof(err)) < 0)
		return WK_MSG_DONE;
	p = pnode_get(node, true);
	if (!p)
		return WK_MSG_DONE;
	p->used = used;
	if (now < p->next_check || mig_evac_busy(node))
		return WK_MSG_DONE;
	p->next_check = now + 1000;
	const cJSON *wukongs = wukongs_cached(st);
	if (!wukongs || !g_wk_any_pressure) {
		p->hot_since = 0;
		return WK_MSG_DONE; /* nobody asks for pressure relief: no look-ups */
	}
	if (wk_k8s_get(st->k8s, &wk_k8s_res_nodes, NULL, node, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return WK_MSG_DONE; /* the next sample tries again */
	}
	mig_node_allocatable(res.body, &am, &ac);
	wk_k8s_result_release(&res);
	if (am <= 0)
		return WK_MSG_DONE;
	double pct = 100.0 * (double)used / (double)am;
	/* Which VMs on the node ask for pressure relief, and at what threshold. */
	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &mig_res_vmis, NULL, &lo, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return WK_MSG_DONE;
	}
	cJSON *vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	size_t nc = 0, cap = (size_t)cJSON_GetArraySize(jget(vmis, "items")) + 1;
	struct {
		int64_t mem;
		char key[400];
	} *cand = wk_xcalloc(cap, sizeof(*cand));
	int threshold = 101;
	const cJSON *it, *w;
	if (!g_cooldown_init) {
		mig_map_init(&g_cooldown);
		g_cooldown_init = true;
	}
	cJSON_ArrayForEach(it, jget(vmis, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *vm = wk_json_str(it, "metadata.name");
		const char *ph = wk_json_str(it, "status.phase"), *end;
		struct mig_policy pol;
		char perr[128], key[400];
		int64_t m, c;

		if (!ns || !vm || !ph || strcmp(ph, "Running"))
			continue;
		cJSON_ArrayForEach(w, jget(wukongs, "items"))
		{
			char wvm[MIG_NAME_MAX];
			const char *wns = wk_json_str(w, "metadata.namespace");

			if (!wns || strcmp(wns, ns))
				continue;
			mig_vm_name(w, wvm, sizeof(wvm));
			if (!strcmp(wvm, vm))
				break;
		}
		if (!w || mig_policy_read(w, &pol, perr, sizeof(perr)) < 0) {
			if (w)
				mig_policy_release(&pol);
			continue;
		}
		bool wants = pol.enabled && (pol.triggers & MIG_TRIG_PRESSURE);
		int th = pol.pressure_percent ? pol.pressure_percent : 80;
		mig_policy_release(&pol);
		if (!wants)
			continue;
		if (th < threshold)
			threshold = th;
		/* Cooling down: moved by us recently, or migrated recently (survives a restart). */
		snprintf(key, sizeof(key), "%s/%s", ns, vm);
		const char *last = mig_map_get(&g_cooldown, key);
		if (last && (double)(now - strtoll(last, NULL, 10)) < cooldown_ms)
			continue;
		end = wk_json_str(it, "status.migrationState.endTimestamp");
		if (end) {
			int64_t e;

			if (wk_time_parse_ms(end, &e) == 0 &&
			    (double)(wk_time_now_ms() - e) < cooldown_ms)
				continue;
		}
		mig_vmi_resources(it, &m, &c);
		cand[nc].mem = m;
		wk_strlcpy(cand[nc].key, key, sizeof(cand[nc].key));
		nc++;
	}
	cJSON_Delete(vmis);
	enum wk_msg_result out = WK_MSG_DONE;
	if (threshold > 100) {
		p->hot_since = 0;
		goto done;
	}
	if (pct < threshold) {
		if (pct < threshold - hyst)
			p->hot_since = 0; /* hysteresis: cool only well below the threshold */
		goto done;
	}
	if (!p->hot_since)
		p->hot_since = now;
	if ((double)(now - p->hot_since) < sustain_ms || nc == 0)
		goto done;
	/* Just enough: the smallest VM that alone brings the node to the level, else the
	 * largest, and again. */
	{
		int level = threshold - hyst > 1 ? threshold - hyst : 1;
		int64_t excess = used - am / 100 * level;
		struct mig_pressure_sel ps = {wk_xcalloc(nc, sizeof(*ps.only)), 0, level};
		bool *taken = wk_xcalloc(nc, sizeof(bool));
		char id[MIG_ID_MAX], hex[17], *in;

		(void)cmp_mem;
		while (excess > 0 && ps.n < nc) {
			long best = -1;

			for (size_t i = 0; i < nc; i++)
				if (!taken[i] && cand[i].mem >= excess &&
				    (best < 0 || cand[i].mem < cand[best].mem))
					best = (long)i;
			if (best < 0)
				for (size_t i = 0; i < nc; i++)
					if (!taken[i] && (best < 0 || cand[i].mem > cand[best].mem))
						best = (long)i;
			taken[best] = true;
			wk_strlcpy(ps.only[ps.n++], cand[best].key, sizeof(ps.only[0]));
			excess -= cand[best].mem;
		}
		in = wk_xasprintf("%s/%lld", node, (long long)ts);
		mig_sha256_hex(in, strlen(in), 16, hex);
		free(in);
		snprintf(id, sizeof(id), "pressure-%s", hex);
		wk_logk(WK_LOG_INFO, node,
			"memory %.0f%% >= %d%% for %.0f s: moving %zu VM(s) to bring it to %d%%",
			pct, threshold, (double)(now - p->hot_since) / 1000.0, ps.n, level);
		for (size_t i = 0; i < ps.n; i++) {
			char t[32];

			snprintf(t, sizeof(t), "%lld", (long long)now);
			mig_map_set(&g_cooldown, ps.only[i], t);
		}
		out = mig_evac_start(st, id, node, true, &ps, false, NULL, ts, NULL, 0, 0, ack);
		if (out == WK_MSG_DONE)
			p->hot_since = 0;
		free(ps.only);
		free(taken);
	}
done:
	free(cand);
	return out;
}

void mig_pressure_forget(void)
{
	if (g_cooldown_init)
		mig_map_release(&g_cooldown);
	g_cooldown_init = false;
	free(g_pn);
	g_pn = NULL;
	g_npn = 0;
	cJSON_Delete(g_wk_cache);
	g_wk_cache = NULL;
}
