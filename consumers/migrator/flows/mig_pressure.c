/* mig_pressure.c - spec.migrationPolicy's resourcePressure trigger (mig_pressure.h): NodeMetrics
 * samples (memory and CPU), hot/cool with hysteresis and sustain, per-VM cooldown, the choice of
 * just enough VMs (pure, tests/unit/test_mig_pressure.c), handed to mig_evac_start as a selective
 * evacuation (docs/evacuation.md).
 */
#include "flows/mig_pressure.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "flows/mig_evac_int.h"

#include "decide/mig_plan.h"

#include "wk_json.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <cjson/cJSON.h>

#define LABEL_NODE "kubevirt.io/nodeName"

/* ---- the trigger ---- */

static enum wk_msg_result evaluate(struct mig_state *st, struct mig_pnode *p, int64_t ts,
				   struct mig_ack *ack);

/* A NodeMetrics event: keep the sample, and evaluate the node (at most once a second; a sample
 * that arrives sooner is evaluated by mig_pressure_tick). */
enum wk_msg_result mig_pressure_metrics_event(struct mig_state *st, const cJSON *body,
					      const char *change, int64_t ts, struct mig_ack *ack)
{
	const char *node = wk_json_str(body, "name"), *mem = wk_json_str(body, "usage.memory"),
		   *cpu = wk_json_str(body, "usage.cpu");
	struct mig_pnode *p;
	int64_t used = -1, cpu_used = -1;
	char err[256];

	if (!node || !strcmp(change, "deleted"))
		return WK_MSG_DONE;
	/* Either may be missing or malformed: that dimension is then not known (never hot). */
	if (mem && (wk_quantity_parse(mem, &used, err, sizeof(err)) < 0 || used < 0))
		used = -1;
	if (cpu && (wk_quantity_parse_milli(cpu, &cpu_used, err, sizeof(err)) < 0 || cpu_used < 0))
		cpu_used = -1;
	if (used < 0 && cpu_used < 0)
		return WK_MSG_DONE;
	p = mig_pnode_get(st, node, true);
	if (!p)
		return WK_MSG_DONE;
	p->used = used;
	p->cpu_used = cpu_used;
	p->pending = true;
	return evaluate(st, p, ts, ack);
}

/* The watcher publishes a NodeMetrics object only when its usage changes, so a node that stays
 * at one reading sends one event: its sustain runs out here, not on a next sample. */
void mig_pressure_tick(struct mig_state *st)
{
	int64_t now = wk_time_mono_ms();
	double sustain_ms = mig_cfg_num(st, "migrator.pressure-sustain", 15, false) * 1000;

	for (size_t i = 0; i < st->pressure.npn; i++) {
		struct mig_pnode *p = &st->pressure.pn[i];

		if (!(p->pending && now >= p->next_check) &&
		    !(p->hot_since && (double)(now - p->hot_since) >= sustain_ms &&
		      now >= p->next_recheck))
			continue;
		p->next_recheck = now + 5000;
		(void)evaluate(st, p, wk_time_now_ms(), NULL);
	}
}

/* A VM a hot node would have moved, held by its cooldown. */
struct held {
	char key[400];	 /* "<ns>/<vm>" */
	int64_t end_ms;	 /* wall-clock ms when the cooldown ends */
	const cJSON *wk; /* its Wukong (the cache's) */
};

/* Say why a hot node leaves a VM where it is: a Kubernetes Event on its Wukong (reason
 * AutoMoveCooldown) and the status condition AutoMigrationHeld=True (reason CooldownActive), both
 * with the time the cooldown ends; once per VM and cooldown (the Event's name comes from both, so
 * a restart repeating it gets 409). */
static void announce_held(struct mig_state *st, const char *node, const char *why,
			  const struct held *h)
{
	struct mig_request r;
	struct mig_status s;
	char end[40], msg[900], hex[17], *in;
	const char *slash = strchr(h->key, '/');
	const char *name = wk_json_str(h->wk, "metadata.name");
	const char *uid = wk_json_str(h->wk, "metadata.uid");
	const char *seen;

	if (!slash || !name)
		return;
	if (!st->pressure.announced_init) {
		wk_map_init(&st->pressure.announced, free);
		st->pressure.announced_init = true;
	}
	wk_time_format(h->end_ms - h->end_ms % 1000, end, sizeof(end));
	seen = wk_map_get(&st->pressure.announced, h->key);
	if (seen && !strcmp(seen, end))
		return;
	wk_map_put(&st->pressure.announced, h->key, wk_xstrdup(end));
	memset(&r, 0, sizeof(r));
	in = wk_xasprintf("%s/%s", h->key, end);
	mig_sha256_hex(in, strlen(in), 16, hex);
	free(in);
	snprintf(r.id, sizeof(r.id), "cooldown-%s", hex);
	r.source = MIG_SRC_SPEC;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	snprintf(r.ns, sizeof(r.ns), "%.*s", (int)(slash - h->key), h->key);
	wk_strlcpy(r.name, name, sizeof(r.name));
	wk_strlcpy(r.vm, slash + 1, sizeof(r.vm));
	wk_strlcpy(r.uid, uid ? uid : "", sizeof(r.uid));
	snprintf(msg, sizeof(msg),
		 "resourcePressure on node %s (%s): VM %s was moved or migrated recently and is "
		 "not moved again before its cooldown (migrator.pressure-cooldown) ends at %s",
		 node, why, h->key, end);
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = MIG_PH_PENDING;
	s.seq = mig_next_seq(st);
	s.reason = "CooldownActive";
	s.message = msg;
	s.condition_only = true;
	s.condition_type = "AutoMigrationHeld";
	mig_send_status(st, NULL, &s, NULL);
	mig_post_event(st, &r, r.uid, "Normal", "AutoMoveCooldown", msg, "auto-move.held");
	wk_logk(WK_LOG_INFO, node, "%s", msg);
}

/* Hot: memory or CPU used at or above the lowest threshold of the policy-enabled VMs on the node
 * for migrator.pressure-sustain; then just enough of them (not cooling down) move so that each
 * hot dimension falls to the threshold minus migrator.pressure-hysteresis points, onto nodes that
 * stay under that same level in both. Cool again only when both are below that level
 * (hysteresis). ts names the evacuation and orders its VMs; ack (may be NULL) is held until it
 * ends. */
static enum wk_msg_result evaluate(struct mig_state *st, struct mig_pnode *p, int64_t ts,
				   struct mig_ack *ack)
{
	const char *node = p->name;
	int64_t now = wk_time_mono_ms();
	struct mig_pressure_usage u;
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512], sel[400];
	int hyst = (int)mig_cfg_num(st, "migrator.pressure-hysteresis", 10, false);
	double sustain_ms = mig_cfg_num(st, "migrator.pressure-sustain", 15, false) * 1000;
	double cooldown_ms = mig_cfg_num(st, "migrator.pressure-cooldown", 600, false) * 1000;

	if (now < p->next_check || mig_evac_busy(st, node))
		return WK_MSG_DONE;
	p->next_check = now + 1000;
	p->pending = false;
	const cJSON *wukongs = mig_wukongs_cached(st);
	if (!wukongs || !st->pressure.wk_any_pressure) {
		p->hot_since = 0;
		return WK_MSG_DONE; /* nobody asks for pressure relief: no look-ups */
	}
	if (wk_k8s_get(st->k8s, &wk_res_nodes, NULL, node, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return WK_MSG_DONE; /* the next sample or tick tries again */
	}
	u.mem = p->used;
	u.cpu_milli = p->cpu_used;
	mig_node_allocatable(res.body, &u.alloc_mem, &u.alloc_cpu_milli);
	wk_k8s_result_release(&res);
	if (mig_pressure_pct(u.mem, u.alloc_mem) < 0 &&
	    mig_pressure_pct(u.cpu_milli, u.alloc_cpu_milli) < 0)
		return WK_MSG_DONE;
	/* Which VMs on the node ask for pressure relief, and at what threshold. */
	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return WK_MSG_DONE;
	}
	cJSON *vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	size_t nc = 0, cap = (size_t)cJSON_GetArraySize(wk_json_path(vmis, "items")) + 1;
	struct mig_pressure_vm *cand = wk_xcalloc(cap, sizeof(*cand));
	char(*keys)[400] = wk_xcalloc(cap, sizeof(*keys));
	struct held *held = wk_xcalloc(cap, sizeof(*held));
	size_t nheld = 0;
	int threshold = 101;
	const cJSON *it, *w;
	if (!st->pressure.cooldown_init) {
		wk_map_init(&st->pressure.cooldown, free);
		st->pressure.cooldown_init = true;
	}
	cJSON_ArrayForEach(it, wk_json_path(vmis, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *vm = wk_json_str(it, "metadata.name");
		const char *ph = wk_json_str(it, "status.phase"), *end;
		struct mig_policy pol;
		char perr[128], key[400];

		if (!ns || !vm || !ph || strcmp(ph, "Running"))
			continue;
		w = mig_wukong_of_vm(wukongs, ns, vm);
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
		const char *last = (const char *)wk_map_get(&st->pressure.cooldown, key);
		if (last && (double)(now - strtoll(last, NULL, 10)) < cooldown_ms) {
			wk_strlcpy(held[nheld].key, key, sizeof(held[nheld].key));
			held[nheld].end_ms =
			    wk_time_now_ms() +
			    (int64_t)(cooldown_ms - (double)(now - strtoll(last, NULL, 10)));
			held[nheld++].wk = w;
			continue;
		}
		end = wk_json_str(it, "status.migrationState.endTimestamp");
		if (end) {
			int64_t e;

			if (wk_time_parse_ms(end, &e) == 0 &&
			    (double)(wk_time_now_ms() - e) < cooldown_ms) {
				wk_strlcpy(held[nheld].key, key, sizeof(held[nheld].key));
				held[nheld].end_ms = e + (int64_t)cooldown_ms;
				held[nheld++].wk = w;
				continue;
			}
		}
		mig_vmi_guest(it, &cand[nc].mem, &cand[nc].cpu_milli);
		wk_strlcpy(keys[nc], key, sizeof(keys[nc]));
		nc++;
	}
	cJSON_Delete(vmis);
	enum wk_msg_result out = WK_MSG_DONE;
	if (threshold > 100) {
		p->hot_since = 0;
		goto done;
	}
	int level = threshold - hyst > 1 ? threshold - hyst : 1;
	if (!mig_pressure_step(&u, threshold, level, now, (int64_t)sustain_ms, &p->hot_since))
		goto done;
	if (nheld) {
		/* hot, and some VMs stay only for their cooldown: say so, with when it ends */
		char why[300];

		mig_pressure_describe(&u, mig_pressure_over(&u, threshold), threshold, why,
				      sizeof(why));
		for (size_t i = 0; i < nheld; i++)
			announce_held(st, node, why, &held[i]);
	}
	if (nc == 0)
		goto done;
	{
		unsigned hot = mig_pressure_over(&u, threshold);
		struct mig_pressure_sel ps = {.only = wk_xcalloc(nc, sizeof(*ps.only)),
					      .level = level};
		bool *take = wk_xcalloc(nc, sizeof(bool));
		char id[MIG_ID_MAX], hex[17], *in;
		size_t k = mig_pressure_choose(cand, nc, &u, hot, level, take);

		mig_pressure_describe(&u, hot, threshold, ps.why, sizeof(ps.why));
		if (k == 0) {
			/* Nothing that may move weighs anything where the node is hot. */
			wk_logk(WK_LOG_DEBUG, node, "%s: no VM that may move would relieve it",
				ps.why);
			free(ps.only);
			free(take);
			goto done;
		}
		for (size_t i = 0; i < nc; i++)
			if (take[i])
				wk_strlcpy(ps.only[ps.n++], keys[i], sizeof(ps.only[0]));
		in = wk_xasprintf("%s/%lld", node, (long long)ts);
		mig_sha256_hex(in, strlen(in), 16, hex);
		free(in);
		snprintf(id, sizeof(id), "pressure-%s", hex);
		wk_logk(WK_LOG_INFO, node, "%s for %.0f s: moving %zu VM(s) to bring it to %d%%",
			ps.why, (double)(now - p->hot_since) / 1000.0, ps.n, level);
		for (size_t i = 0; i < ps.n; i++) {
			char t[32];

			snprintf(t, sizeof(t), "%lld", (long long)now);
			wk_map_put(&st->pressure.cooldown, ps.only[i], wk_xstrdup(t));
		}
		out = mig_evac_start(st, id, node, true, &ps, false, NULL, ts, NULL, 0, 0, ack);
		if (out == WK_MSG_DONE)
			p->hot_since = 0;
		free(ps.only);
		free(take);
	}
done:
	free(cand);
	free(keys);
	free(held);
	return out;
}

void mig_pressure_forget(struct mig_state *st)
{
	if (st->pressure.cooldown_init)
		wk_map_release(&st->pressure.cooldown);
	st->pressure.cooldown_init = false;
	if (st->pressure.announced_init)
		wk_map_release(&st->pressure.announced);
	st->pressure.announced_init = false;
	free(st->pressure.pn);
	st->pressure.pn = NULL;
	st->pressure.npn = 0;
	cJSON_Delete(st->pressure.wk_cache);
	st->pressure.wk_cache = NULL;
}
