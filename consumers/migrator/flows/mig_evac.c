/* mig_evac.c - node evacuations: drain submissions and the nodeMaintenance trigger (mig_evac.h).
 *
 * Crash safety: an evacuation holds its message (the drain submission, or the Node event that
 * started it) until its last VM's migration is final and the completion audit is delivered.
 * After kill -9 the message is replayed: the VMs that already left are no longer on the node,
 * those migrating are found by their deterministic request ids (adopted, never a second VMIM),
 * the rest are planned again.
 */
#include "flows/mig_evac.h"
#include "flows/mig_live.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "flows/mig_evac_int.h"
#include "decide/mig_evac_report.h"
#include "decide/mig_pressure_pick.h"

#include "decide/mig_plan.h"
#include "decide/mig_plan_cfg.h"
#include "ctx/mig_volumes.h"
#include "wk_resource.h"

#include "wk_cloudevent.h"
#include "wk_emit.h"
#include "wk_json.h"
#include "wk_config.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

#define LABEL_NODE "kubevirt.io/nodeName"
#define LABEL_MIG_TARGET "kubevirt.io/migrationTargetNodeName"
/* The audit details cap is 32 KiB: the plan is cut to fit below this. */
#define DETAILS_MAX 30000
/* A maintenance evacuation is not started again for the same node sooner than this. */
#define MAINT_BACKOFF_MS 30000

struct child {
	char id[MIG_ID_MAX];
	char ns[64];
	char name[MIG_NAME_MAX]; /* the Wukong */
	char vm[MIG_NAME_MAX];
	char target[MIG_NAME_MAX];
	double dur_s; /* predicted: VMIM created -> VM on its target */
	int state;    /* 0 waiting, 1 submitted, 2 final */
	bool cold;    /* planned as a cold move (no migration slot; final once unmarked) */
	int64_t sub_mono;
};

struct mig_evac {
	char id[MIG_ID_MAX];
	char node[MIG_NAME_MAX];
	bool maint;
	bool pressure;
	char tenant[64];
	int64_t base_ts;
	int conc;
	bool pipelined;
	double setup_s, predicted_s;
	size_t n, next;
	struct child *c;
	struct mig_ack *hold;
	struct mig_evrep *rep; /* its progress report on wukong.progress */
	int64_t started_mono;
	/* Moved before a restart of the migrator (found by evac_earlier): counted in the report and
	 * the completion, and the time it ran before this start. */
	size_t earlier;
	double earlier_s;
	char topic[256];
	int32_t partition;
	int64_t offset;
	cJSON *skipped;		/* the plan's VMs that stay, with their reasons (owned) */
	int64_t next_cold_mono; /* cold children's VMs looked at again then */
	struct mig_evac *next_ev;
};

/* ---- audit ---- */

static void evac_audit(struct mig_state *st, const struct mig_evac *ev, const char *rid,
		       const char *node, bool maint, const char *action, const char *outcome,
		       const char *reason, const char *message, cJSON *details, const char *topic,
		       int32_t partition, int64_t offset, struct mig_ack *ack)
{
	cJSON *o = cJSON_CreateObject(), *src, *obj;
	struct wk_cloudevent ce;
	char key[400], err[256], *body;

	(void)ev;
	cJSON_AddStringToObject(o, "requestId", rid);
	src = cJSON_AddObjectToObject(o, "requestSource");
	cJSON_AddStringToObject(src, "type", maint ? "policy" : "kafka");
	if (topic && *topic) {
		char n[32];

		cJSON_AddStringToObject(src, "topic", topic);
		cJSON_AddNumberToObject(src, "partition", partition);
		snprintf(n, sizeof(n), "%lld", (long long)offset);
		cJSON_AddRawToObject(src, "offset", n);
	}
	cJSON_AddStringToObject(o, "cluster", st->cluster);
	obj = cJSON_AddObjectToObject(o, "object");
	cJSON_AddStringToObject(obj, "kind", "Node");
	cJSON_AddStringToObject(obj, "name", node);
	cJSON_AddStringToObject(o, "actor", "wukong-migrator");
	cJSON_AddStringToObject(o, "action", action);
	cJSON_AddStringToObject(o, "outcome", outcome);
	if (reason && *reason)
		cJSON_AddStringToObject(o, "reason", reason);
	if (message && *message)
		cJSON_AddStringToObject(o, "message", message);
	if (details) {
		/* Keep within the schema's details cap: drop plan steps from the end. */
		cJSON *steps = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(details, "plan"), "steps");
		char *p = cJSON_PrintUnformatted(details);

		while (p && strlen(p) > DETAILS_MAX && cJSON_GetArraySize(steps) > 0) {
			free(p);
			cJSON_DeleteItemFromArray(steps, cJSON_GetArraySize(steps) - 1);
			if (!wk_json_path(details, "stepsTruncated"))
				cJSON_AddTrueToObject(details, "stepsTruncated");
			p = cJSON_PrintUnformatted(details);
		}
		free(p);
		cJSON_AddItemReferenceToObject(o, "details", details);
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!body)
		abort();
	memset(&ce, 0, sizeof(ce));
	mig_audit_id(st->cluster, "node", node, rid, action, "", ce.id, sizeof(ce.id));
	snprintf(ce.source, sizeof(ce.source), "/clusters/%s", st->cluster);
	wk_strlcpy(ce.type, WK_CE_AUDIT, sizeof(ce.type));
	snprintf(ce.subject, sizeof(ce.subject), "Node/%s", node);
	wk_strlcpy(ce.content_type, "application/json", sizeof(ce.content_type));
	snprintf(key, sizeof(key), "%s/node/%s", st->cluster, node);
	mig_ack_ref(ack);
	if (wk_cloudevent_send(st->prod, st->t_audit, key, &ce, body, strlen(body), ack, err,
			       sizeof(err)) < 0) {
		wk_logk(WK_LOG_ERROR, key, "audit send failed: %s; stopping for a replay", err);
		wk_service_stop(st->ctx, 1);
	}
	free(body);
	/* And a Kubernetes Event on the Node (kubectl describe node), a dry run's plan excepted:
	 * it changes nothing. Best effort, as every Event. */
	if (strcmp(action, "drain.planned") && st->k8s_events) {
		char seed[600], evmsg[1024];
		struct wk_emit_event e = {
		    .api_version = "v1",
		    .kind = "Node",
		    .name = node,
		    .uid = node,
		    .event_ns = "default",
		    .type = strcmp(outcome, "failure") && strcmp(outcome, "rejected") ? "Normal"
										      : "Warning",
		    .reason = reason && *reason ? reason : action,
		    .message = evmsg,
		    .action = action,
		    .component = "wukong-migrator",
		    .instance = st->instance,
		    .seed = seed};

		snprintf(seed, sizeof(seed), "%s/%s/%s/%s", st->cluster, node, rid, action);
		snprintf(evmsg, sizeof(evmsg), "%s (%s '%s')", message ? message : "",
			 maint ? "evacuation" : "drain", rid);
		if (wk_emit_post_event(st->k8s, &e, err, sizeof(err)) < 0)
			wk_logk(WK_LOG_WARN, key, "event on node: %s", err);
	}
}

/* ---- looking the node up and planning ---- */

struct cand {
	const cJSON *vmi; /* in the VMI list */
	cJSON *wukong;	  /* owned */
	char ns[64], name[MIG_NAME_MAX], vm[MIG_NAME_MAX], id[MIG_ID_MAX];
	int64_t mem, cpu;
	int64_t guest; /* the guest's RAM: what a migration sends */
	double dirty;
	struct mig_policy pol;
	bool cold;		   /* cannot move live, the owner allows a cold move */
	int64_t disk_bytes;	   /* cold: node-local disks it copies */
	long cold_target;	   /* cold: the node index chosen */
	double cold_s;		   /* cold: predicted seconds */
	char policy[MIG_NAME_MAX]; /* the MigrationPolicy that selects it ("" = none) */
};

struct gathered {
	cJSON *nodes, *vmis, *wukongs; /* list bodies, owned */
	const cJSON **node_objs;
	size_t nnodes;
	struct cand *c;
	size_t n;
	cJSON *skipped; /* [{namespace, name, reason, message}] */
	struct mig_plan_node *pn;
	struct mig_plan_vm *pv;
	bool *elig;
	struct mig_plan plan;
	size_t nlive;		     /* g->c[0..nlive) are planned live, the rest cold */
	struct mig_plan_params prm;  /* the cluster's transfer settings */
	struct mig_plan_params *cfg; /* per VM: the cluster's with its MigrationPolicy on top */
	cJSON *policies;	     /* the MigrationPolicy list (owned; NULL = none read) */
	cJSON *ns_labels;	     /* namespace -> its labels (owned) */
};

static void gathered_release(struct gathered *g)
{
	for (size_t i = 0; i < g->n; i++) {
		cJSON_Delete(g->c[i].wukong);
		mig_policy_release(&g->c[i].pol);
	}
	free(g->c);
	free(g->node_objs);
	free(g->pn);
	free(g->pv);
	free(g->elig);
	free(g->cfg);
	cJSON_Delete(g->policies);
	cJSON_Delete(g->ns_labels);
	cJSON_Delete(g->nodes);
	cJSON_Delete(g->vmis);
	cJSON_Delete(g->wukongs);
	cJSON_Delete(g->skipped);
	mig_plan_release(&g->plan);
	memset(g, 0, sizeof(*g));
}

static void skip(struct gathered *g, const char *ns, const char *name, const char *reason,
		 const char *message)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "namespace", ns ? ns : "");
	cJSON_AddStringToObject(s, "name", name ? name : "");
	cJSON_AddStringToObject(s, "reason", reason);
	if (message)
		cJSON_AddStringToObject(s, "message", message);
	cJSON_AddItemToArray(g->skipped, s);
}

static const char *vmi_node(const cJSON *vmi)
{
	const char *n = wk_json_meta(vmi, "labels", LABEL_NODE);
	return n ? n : wk_json_str(vmi, "status.nodeName");
}

/* KubeVirt's LiveMigratable=False condition on the VMI: its reason and message. */
static bool vmi_not_migratable(const cJSON *vmi, const char **reason, const char **message)
{
	const cJSON *cond;

	cJSON_ArrayForEach(cond, wk_json_path(vmi, "status.conditions"))
	{
		const char *t = wk_json_str(cond, "type"), *s = wk_json_str(cond, "status");

		if (t && s && !strcmp(t, "LiveMigratable") && !strcmp(s, "False")) {
			*reason = wk_json_str(cond, "reason") ? wk_json_str(cond, "reason")
							      : "NotMigratable";
			*message = wk_json_str(cond, "message") ? wk_json_str(cond, "message") : "";
			return true;
		}
	}
	return false;
}

/* Bytes of the VMI's node-local disks a cold move would copy (their claims' sizes); 0 when none
 * or unreadable (the prediction then counts no copy). */
static int64_t local_disk_bytes(struct mig_state *st, const char *ns, const cJSON *vmi)
{
	cJSON *vm = cJSON_CreateObject();
	struct mig_disk d[32];
	size_t n = 0;
	int64_t sum = 0;
	char err[256];

	cJSON_AddItemToObject(
	    cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(vm, "spec"), "template"), "spec"),
	    "volumes", cJSON_Duplicate(wk_json_path(vmi, "spec.volumes"), true));
	/* no target node: every volume with a node affinity counts as one to copy */
	if (mig_volumes_read(st, ns, vm, NULL, "", d, 32, &n, err, sizeof(err)) == 0)
		for (size_t i = 0; i < n; i++) {
			int64_t q;

			if (d[i].kind == MIG_DISK_LOCAL &&
			    wk_quantity_parse(d[i].size, &q, err, sizeof(err)) == 0 && q > 0)
				sum += q;
		}
	cJSON_Delete(vm);
	return sum;
}

/* A namespace's labels (for MigrationPolicy selection), looked up once per plan. */
static const cJSON *ns_labels(struct mig_state *st, struct gathered *g, const char *ns)
{
	const cJSON *have = cJSON_GetObjectItemCaseSensitive(g->ns_labels, ns);
	struct wk_k8s_result res;
	char err[256];

	if (have)
		return have;
	if (wk_k8s_get(st->k8s, &wk_res_namespaces, NULL, ns, &res, err, sizeof(err)) == 0 &&
	    cJSON_IsObject(wk_json_path(res.body, "metadata.labels")))
		have = cJSON_AddItemToObject(
			   g->ns_labels, ns,
			   cJSON_Duplicate(wk_json_path(res.body, "metadata.labels"), true))
			   ? cJSON_GetObjectItemCaseSensitive(g->ns_labels, ns)
			   : NULL;
	else
		have = cJSON_AddObjectToObject(g->ns_labels, ns);
	wk_k8s_result_release(&res);
	return have;
}

/* The cluster's transfer settings with the MigrationPolicy that selects c's VMI on top. */
static void vm_settings(struct mig_state *st, struct gathered *g, struct cand *c,
			struct mig_plan_params *out)
{
	const cJSON *items = wk_json_path(g->policies, "items"), *p;
	const char *win;

	*out = g->prm;
	c->policy[0] = 0;
	if (!cJSON_GetArraySize(items))
		return;
	win = mig_policy_winner(items, wk_json_path(c->vmi, "metadata.labels"),
				ns_labels(st, g, c->ns));
	if (!win)
		return;
	cJSON_ArrayForEach(p, items)
	{
		const char *nm = wk_json_str(p, "metadata.name");

		if (nm && !strcmp(nm, win)) {
			mig_plan_cfg_policy(p, out);
			wk_strlcpy(c->policy, win, sizeof(c->policy));
			return;
		}
	}
}

/* A target for each cold move: an eligible node with room after the plan's live moves (and
 * the cold moves placed before it), the most free memory first; and its predicted duration. */
static void cold_targets(struct mig_state *st, struct gathered *g)
{
	int64_t *mem = wk_xcalloc(g->nnodes + 1, sizeof(*mem)),
		*cpu = wk_xcalloc(g->nnodes + 1, sizeof(*cpu));
	double base = mig_cfg_num(st, "migrator.plan-cold-seconds", 20, false),
	       rate = mig_cfg_num(st, "migrator.plan-copy-rate", 100.0 * 1024 * 1024, true);

	for (size_t j = 0; j < g->nnodes; j++) {
		mem[j] = g->pn[j].free_mem;
		cpu[j] = g->pn[j].free_cpu_milli;
	}
	for (size_t i = 0; i < g->plan.n; i++) {
		const struct mig_plan_step *s = &g->plan.steps[i];

		if (s->target >= 0) {
			mem[s->target] -= g->c[s->vm].mem;
			cpu[s->target] -= g->c[s->vm].cpu;
		}
	}
	for (size_t i = g->nlive; i < g->n; i++) {
		struct cand *c = &g->c[i];
		const bool *e = g->elig + i * (g->nnodes + 1);
		long best = -1;

		for (size_t j = 0; j < g->nnodes; j++)
			if (e[j] && mem[j] >= c->mem && cpu[j] >= c->cpu &&
			    (best < 0 || mem[j] > mem[best]))
				best = (long)j;
		c->cold_target = best;
		c->cold_s = mig_plan_cold_seconds(base, c->disk_bytes, rate);
		if (best >= 0) {
			mem[best] -= c->mem;
			cpu[best] -= c->cpu;
		}
	}
	free(mem);
	free(cpu);
}

/* The whole evacuation's prediction: the live plan's end or the longest cold move. */
static double predicted_total(const struct gathered *g)
{
	double t = g->plan.predicted_s;

	for (size_t i = g->nlive; i < g->n; i++)
		if (g->c[i].cold_target >= 0 && g->c[i].cold_s > t)
			t = g->c[i].cold_s;
	return t;
}

/* maint: only VMs whose policy enables nodeMaintenance. 0, or -1 (retry) with err. */

static int gather(struct mig_state *st, const char *node, bool maint,
		  const struct mig_pressure_sel *ps, struct gathered *g, char *err, size_t errn)
{
	struct wk_k8s_result res;
	const cJSON *it;
	double link = mig_cfg_num(st, "migrator.link-bandwidth", 1250e6, true);
	const char *dirty_ann = mig_cfg(st, "migrator.dirty-rate-annotation", WK_ANN_DIRTY_RATE);
	size_t k;

	memset(g, 0, sizeof(*g));
	g->skipped = cJSON_CreateArray();
	g->ns_labels = cJSON_CreateObject();
	mig_plan_init(&g->plan);
	/* The KubeVirt CR's migration settings, read fresh for the prediction (a failed read keeps
	 * the last), and the MigrationPolicies that may override them per VM. */
	mig_refresh_limits(st);
	mig_plan_params_default(&g->prm);
	mig_plan_cfg_kv(&st->kv.migrations, &g->prm);
	g->prm.per_cluster = st->limits.per_cluster > 0 ? st->limits.per_cluster : 5;
	g->prm.per_node = st->limits.per_node > 0 ? st->limits.per_node : 2;
	g->prm.setup_s = mig_cfg_num(st, "migrator.plan-setup-seconds", 4.0, false);
	g->prm.max_evals = (int)mig_cfg_num(st, "migrator.plan-evaluations", 600, false);
	if (wk_k8s_list_all(st->k8s, &wk_res_migrationpolicies, NULL, NULL, &res, err, errn) == 0)
		g->policies = wk_k8s_result_take(&res);
	else
		wk_logk(WK_LOG_WARN, node,
			"MigrationPolicies not read (%s): planning with the cluster's settings",
			err);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &wk_res_nodes, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->nodes = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, NULL, &res, err, errn) <
	    0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);

	size_t nn = (size_t)cJSON_GetArraySize(wk_json_path(g->nodes, "items"));
	size_t nv = (size_t)cJSON_GetArraySize(wk_json_path(g->vmis, "items"));
	if (nn > MIG_PLAN_MAX_NODES || nv > 100000)
		return wk_err(err, errn, "too many nodes (%zu) or VMIs (%zu) to plan", nn, nv);
	g->node_objs = wk_xcalloc(nn + 1, sizeof(*g->node_objs));
	g->pn = wk_xcalloc(nn + 1, sizeof(*g->pn));
	k = 0;
	cJSON_ArrayForEach(it, wk_json_path(g->nodes, "items"))
	{
		int64_t am, ac;
		const char *name = wk_json_str(it, "metadata.name");

		if (!name)
			continue;
		mig_node_allocatable(it, &am, &ac);
		g->node_objs[k] = it;
		g->pn[k].name = name;
		g->pn[k].free_mem = am >= 0 ? am : INT64_MAX / 4;
		g->pn[k].free_cpu_milli = ac >= 0 ? ac : INT64_MAX / 4;
		g->pn[k].link = link;
		k++;
	}
	g->nnodes = k;
	/* What is taken on each node: VMIs there and migrations heading there. */
	cJSON_ArrayForEach(it, wk_json_path(g->vmis, "items"))
	{
		int64_t m, c;
		const char *on = vmi_node(it), *to = wk_json_meta(it, "labels", LABEL_MIG_TARGET);

		mig_vmi_resources(it, &st->kv, &m, &c);
		for (size_t j = 0; j < g->nnodes; j++) {
			if ((on && !strcmp(on, g->pn[j].name)) ||
			    (to && !strcmp(to, g->pn[j].name) && (!on || strcmp(on, to)))) {
				g->pn[j].free_mem -= m;
				g->pn[j].free_cpu_milli -= c;
			}
		}
	}
	/* And our queued requests towards a node (no VMIM yet, so no label). */
	for (struct mig_active *a = st->active; a; a = a->next)
		if (a->phase == MIG_PH_QUEUED && a->req.target_node[0])
			for (size_t j = 0; j < g->nnodes; j++)
				if (!strcmp(a->req.target_node, g->pn[j].name)) {
					g->pn[j].free_mem -= a->mem;
					g->pn[j].free_cpu_milli -= a->cpu_milli;
				}
	for (size_t j = 0; j < g->nnodes && ps; j++) {
		/* No node pushed over: at most `level` percent of it used after the move, memory
		 * and CPU (a VM weighs its vCPUs there: no per-VM use is read). */
		int64_t am, ac, used = mig_pressure_used(st, g->pn[j].name),
				cpu = mig_pressure_cpu_used(st, g->pn[j].name);

		mig_node_allocatable(g->node_objs[j], &am, &ac);
		if (am > 0 && used >= 0 &&
		    mig_pressure_level_of(am, ps->level) - used < g->pn[j].free_mem)
			g->pn[j].free_mem = mig_pressure_level_of(am, ps->level) - used;
		if (ac > 0 && cpu >= 0 &&
		    mig_pressure_level_of(ac, ps->level) - cpu < g->pn[j].free_cpu_milli)
			g->pn[j].free_cpu_milli = mig_pressure_level_of(ac, ps->level) - cpu;
	}
	for (size_t j = 0; j < g->nnodes; j++) {
		if (g->pn[j].free_mem < 0)
			g->pn[j].free_mem = 0;
		if (g->pn[j].free_cpu_milli < 0)
			g->pn[j].free_cpu_milli = 0;
	}

	g->c = wk_xcalloc(nv + 1, sizeof(*g->c));
	cJSON_ArrayForEach(it, wk_json_path(g->vmis, "items"))
	{
		const char *on = vmi_node(it), *ns = wk_json_str(it, "metadata.namespace");
		const char *vm = wk_json_str(it, "metadata.name"),
			   *ph = wk_json_str(it, "status.phase");
		char perr[256];
		const cJSON *wobj;

		if (!on || strcmp(on, node) || !ns || !vm)
			continue;
		if (!ph || strcmp(ph, "Running") ||
		    wk_json_path(it, "metadata.deletionTimestamp")) {
			skip(g, ns, vm, "VMINotRunning", NULL);
			continue;
		}
		wobj = mig_wukong_of_vm(g->wukongs, ns, vm);
		if (!wobj || !wk_json_str(wobj, "metadata.name")) {
			skip(g, ns, vm, "NotAWukong", "no Wukong owns this VM: not managed here");
			continue;
		}
		const char *wk = wk_json_str(wobj, "metadata.name");
		struct cand *c = &g->c[g->n];
		c->wukong = cJSON_Duplicate(wobj, true);
		if (mig_policy_read(c->wukong, &c->pol, perr, sizeof(perr)) < 0) {
			skip(g, ns, wk, "InvalidMigrationPolicy", perr);
			cJSON_Delete(c->wukong);
			mig_policy_release(&c->pol);
			memset(c, 0, sizeof(*c));
			continue;
		}
		if (ps) {
			char vk[400];
			size_t q;

			snprintf(vk, sizeof(vk), "%s/%s", ns, vm);
			for (q = 0; q < ps->n && strcmp(ps->only[q], vk); q++)
				;
			if (q == ps->n) {
				cJSON_Delete(c->wukong);
				mig_policy_release(&c->pol);
				memset(c, 0, sizeof(*c));
				continue;
			}
		} else if (maint && !(c->pol.enabled && (c->pol.triggers & MIG_TRIG_MAINTENANCE))) {
			skip(g, ns, wk, "PolicyNotEnabled",
			     "spec.migrationPolicy does not enable nodeMaintenance");
			cJSON_Delete(c->wukong);
			mig_policy_release(&c->pol);
			memset(c, 0, sizeof(*c));
			continue;
		}
		c->vmi = it;
		wk_strlcpy(c->ns, ns, sizeof(c->ns));
		wk_strlcpy(c->name, wk, sizeof(c->name));
		wk_strlcpy(c->vm, vm, sizeof(c->vm));
		mig_vmi_resources(it, &st->kv, &c->mem, &c->cpu);
		{
			int64_t gc;

			mig_vmi_guest(it, &c->guest, &gc);
		}
		if (ps) {
			/* A pressure move weighs what the VM may use on its target (the guest's
			 * size: the level is about use) as well as what the scheduler counts. */
			int64_t gm, gc;

			mig_vmi_guest(it, &gm, &gc);
			if (gm > c->mem)
				c->mem = gm;
			if (gc > c->cpu)
				c->cpu = gc;
		}
		if (c->mem <= 0)
			c->mem = 1;
		{
			const char *d = NULL;
			int64_t q;
			char qerr[64];

			if (dirty_ann && *dirty_ann) {
				const cJSON *anns = wk_json_path(it, "metadata.annotations");
				const cJSON *a = cJSON_GetObjectItemCaseSensitive(anns, dirty_ann);

				if (!cJSON_IsString(a))
					a = cJSON_GetObjectItemCaseSensitive(
					    wk_json_path(c->wukong, "metadata.annotations"),
					    dirty_ann);
				d = cJSON_IsString(a) ? a->valuestring : NULL;
			}
			c->dirty = d && wk_quantity_parse(d, &q, qerr, sizeof(qerr)) == 0 && q > 0
				       ? (double)q
				       : 0;
		}
		{
			/* KubeVirt says it cannot move live: a cold move when its owner allows
			 * one (with a copy of its node-local disks), else it stays, saying why. */
			const char *lr, *lm;

			if (vmi_not_migratable(it, &lr, &lm)) {
				if (c->pol.enabled && c->pol.allow_cold) {
					c->cold = true;
					c->disk_bytes = local_disk_bytes(st, ns, it);
				} else {
					char m2[800];

					snprintf(m2, sizeof(m2),
						 "%s: %.500s; it stays on the node "
						 "(spec.migrationPolicy.allowColdMigration would "
						 "move it cold)",
						 lr, lm);
					skip(g, ns, wk, "NotLiveMigratable", m2);
					cJSON_Delete(c->wukong);
					mig_policy_release(&c->pol);
					memset(c, 0, sizeof(*c));
					continue;
				}
			}
		}
		g->n++;
	}
	{
		/* The planner's VMs (live) first, the cold moves after them. */
		struct cand *t = wk_xcalloc(g->n + 1, sizeof(*t));
		size_t m = 0;

		for (size_t i = 0; i < g->n; i++)
			if (!g->c[i].cold)
				t[m++] = g->c[i];
		g->nlive = m;
		for (size_t i = 0; i < g->n; i++)
			if (g->c[i].cold)
				t[m++] = g->c[i];
		free(g->c);
		g->c = t;
	}
	g->cfg = wk_xcalloc(g->n + 1, sizeof(*g->cfg));
	for (size_t i = 0; i < g->n; i++)
		vm_settings(st, g, &g->c[i], &g->cfg[i]);
	if (g->n > MIG_PLAN_MAX_VMS)
		return wk_err(err, errn, "too many VMs on node '%s' to plan (%zu)", node, g->n);
	g->pv = wk_xcalloc(g->n + 1, sizeof(*g->pv));
	g->elig = wk_xcalloc((g->n + 1) * (g->nnodes + 1), sizeof(bool));
	for (size_t i = 0; i < g->n; i++) {
		struct cand *c = &g->c[i];
		bool *e = g->elig + i * (g->nnodes + 1);
		const cJSON *vsel = wk_json_path(c->vmi, "spec.nodeSelector");
		char why[64];

		for (size_t j = 0; j < g->nnodes; j++)
			e[j] = mig_node_eligible(g->node_objs[j], node, c->pol.target, vsel, why,
						 sizeof(why));
		g->pv[i] = (struct mig_plan_vm){.ns = c->ns,
						.name = c->name,
						.source = node,
						.memory = c->mem,
						.cpu_milli = c->cpu,
						.dirty_rate = c->dirty,
						.src_link = link,
						.eligible = e,
						.cfg = &g->cfg[i],
						.guest_memory = c->guest > 0 ? c->guest : 0};
	}
	if (mig_plan_build(g->pv, g->nlive, g->pn, g->nnodes, &g->prm, &g->plan, err, errn) < 0)
		return -1;
	cold_targets(st, g);
	return 0;
}

static cJSON *plan_details(const struct gathered *g, const char *node, bool dry_run)
{
	cJSON *d = cJSON_CreateObject();

	cJSON *plan = mig_plan_to_json(&g->plan, g->pv, g->pn), *steps, *it;
	char text[200];
	int order;

	cJSON_AddStringToObject(d, "node", node);
	cJSON_AddBoolToObject(d, "dryRun", dry_run);
	steps = cJSON_GetObjectItemCaseSensitive(plan, "steps");
	order = cJSON_GetArraySize(steps);
	cJSON_ArrayForEach(it, steps)
	{
		const char *ns = wk_json_str(it, "namespace"), *nm = wk_json_str(it, "name");

		cJSON_AddStringToObject(it, "mode", "live");
		for (size_t i = 0; i < g->nlive && ns && nm; i++)
			if (g->c[i].policy[0] && !strcmp(g->c[i].ns, ns) &&
			    !strcmp(g->c[i].name, nm)) {
				mig_plan_cfg_text(&g->cfg[i], text, sizeof(text));
				cJSON_AddStringToObject(it, "migrationPolicy", g->c[i].policy);
				cJSON_AddStringToObject(it, "settings", text);
			}
	}
	for (size_t i = g->nlive; i < g->n; i++) {
		const struct cand *c = &g->c[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "order", ++order);
		cJSON_AddStringToObject(x, "namespace", c->ns);
		cJSON_AddStringToObject(x, "name", c->name);
		cJSON_AddStringToObject(x, "source", node);
		if (c->cold_target >= 0)
			cJSON_AddStringToObject(x, "target", g->pn[c->cold_target].name);
		else
			cJSON_AddNullToObject(x, "target");
		cJSON_AddNumberToObject(x, "startSeconds", 0);
		cJSON_AddNumberToObject(x, "endSeconds", round(c->cold_s * 10) / 10);
		cJSON_AddNumberToObject(x, "memoryBytes", (double)c->mem);
		cJSON_AddNumberToObject(x, "diskBytes", (double)c->disk_bytes);
		cJSON_AddBoolToObject(x, "converges", c->cold_target >= 0);
		cJSON_AddStringToObject(x, "reason",
					c->cold_target >= 0 ? "" : "NoTargetWithCapacity");
		cJSON_AddStringToObject(x, "mode", "cold");
		cJSON_AddItemToArray(steps, x);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(
	    plan, "predictedSeconds", cJSON_CreateNumber(round(predicted_total(g) * 10) / 10));
	mig_plan_cfg_text(&g->prm, text, sizeof(text));
	cJSON_AddStringToObject(plan, "settings", text);
	cJSON_AddItemToObject(d, "plan", plan);
	cJSON_AddItemReferenceToObject(d, "skipped", g->skipped);
	return d;
}

/* ---- evacuations ---- */

static struct mig_evac *evac_find(struct mig_state *st, const char *id)
{
	for (struct mig_evac *e = st->evac.evacs; e; e = e->next_ev)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

static struct mig_evac *evac_by_node(struct mig_state *st, const char *node)
{
	for (struct mig_evac *e = st->evac.evacs; e; e = e->next_ev)
		if (!strcmp(e->node, node))
			return e;
	return NULL;
}

static void evac_free(struct mig_state *st, struct mig_evac *ev)
{
	struct mig_evac **pp;

	for (pp = &st->evac.evacs; *pp; pp = &(*pp)->next_ev)
		if (*pp == ev) {
			*pp = ev->next_ev;
			break;
		}
	if (ev->hold && st)
		mig_ack_unref(st, ev->hold);
	mig_evrep_destroy(ev->rep);
	cJSON_Delete(ev->skipped);
	free(ev->c);
	free(ev);
}

/* Submit one VM's migration. 0 submitted (or nothing left to do for it), -1 retry later. */
static int submit(struct mig_state *st, struct mig_evac *ev, size_t i)
{
	struct child *c = &ev->c[i];
	struct wk_k8s_result res;
	struct mig_request r;
	char err[512], key[400];
	enum wk_msg_result out;

	snprintf(key, sizeof(key), "%s/%s", c->ns, c->name);
	if (wk_k8s_get(st->k8s, &wk_res_wukongs, c->ns, c->name, &res, err, sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e == WK_K8S_ENOTFOUND) {
			c->state = 2;
			return 0;
		}
		wk_logk(WK_LOG_WARN, key, "evacuation '%s': cannot read the wukong: %s", ev->id,
			err);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	wk_strlcpy(r.id, c->id, sizeof(r.id));
	r.source = MIG_SRC_KAFKA;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, c->ns, sizeof(r.ns));
	wk_strlcpy(r.name, c->name, sizeof(r.name));
	mig_vm_name(res.body, r.vm, sizeof(r.vm));
	if (wk_json_str(res.body, "metadata.uid"))
		wk_strlcpy(r.uid, wk_json_str(res.body, "metadata.uid"), sizeof(r.uid));
	wk_strlcpy(r.tenant, ev->tenant, sizeof(r.tenant));
	/* Below KubeVirt 1.6 a migration cannot be sent to a chosen node (addedNodeSelector is
	 * pruned): the plan's order and room still hold, the scheduler picks the node - unless
	 * the owner's migrationPolicy says where its VMs may go (targetNodeSelector), which the
	 * scheduler would not know: then the target stays and the pre-flight refuses it
	 * (TargetedMigrationUnsupported, naming the version) rather than break the owner's rule.
	 * A cold move always has its target: it pins the template, on every version. */
	if (c->cold || mig_kv_can_target(&st->kv) ||
	    cJSON_IsObject(wk_json_path(res.body, "spec.migrationPolicy.targetNodeSelector")))
		wk_strlcpy(r.target_node, c->target, sizeof(r.target_node));
	snprintf(r.note, sizeof(r.note), "%s of node '%s' (%s), step %zu of %zu",
		 ev->pressure ? "resourcePressure move"
		 : ev->maint  ? "nodeMaintenance evacuation"
			      : "drain",
		 ev->node, ev->id, i + 1, ev->n);
	mig_options_init(&r.opt);
	/* The queue orders by this: the plan's order survives a restart. */
	r.received_ms = ev->base_ts + (int64_t)i;
	out = mig_handle_request(st, &r, res.body, ev->hold);
	wk_k8s_result_release(&res);
	if (out == WK_MSG_RETRY)
		return -1;
	c->state = mig_active_by_id(st, c->id) ? 1 : 2;
	c->sub_mono = wk_time_mono_ms();
	return 0;
}

/* The VMs this evacuation moved before a restart of the migrator (its message is replayed and
 * planned again from what is still on the node): our Succeeded VMIMs whose request (the
 * annotation it was created from) belongs to this evacuation - its request ids' form, queued at
 * ev->base_ts + its step (mig_evac.c submits them so), moved off this node - for VMs the new plan
 * does not hold. Only counts: a failed look-up leaves them out, as before. */
static void evac_earlier(struct mig_state *st, struct mig_evac *ev)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512], prefix[64];
	const cJSON *it;

	/* Only a message older than this process can have been worked on by an earlier one (a
	 * minute's slack for the producer's clock): the usual start skips the list. */
	if (ev->base_ts > st->boot_ms + 60000)
		return;
	if (ev->maint)
		snprintf(prefix, sizeof(prefix), "%s", ev->pressure ? "pr-" : "mt-");
	else
		snprintf(prefix, sizeof(prefix), "%.40s-", ev->id);
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = MIG_LABEL_MANAGED "=" MIG_MANAGED_VALUE;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstancemigrations, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_logk(WK_LOG_WARN, ev->node,
			"evacuation '%s': VMs moved before a restart not counted: %s", ev->id, err);
		wk_k8s_result_release(&res);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *ph = wk_json_str(it, "status.phase"),
			   *from = wk_json_str(it, "status.migrationState.sourceNode"),
			   *to = wk_json_str(it, "status.migrationState.targetNode"),
			   *ann = wk_json_meta(it, "annotations", WK_ANN_MIGRATION_REQUEST);
		struct mig_request r;
		bool seen = false;

		if (!ph || strcmp(ph, "Succeeded") || !from || strcmp(from, ev->node) || !ann ||
		    mig_request_from_json(ann, &r) < 0)
			continue;
		if (strncmp(r.id, prefix, strlen(prefix)) || r.received_ms < ev->base_ts ||
		    r.received_ms - ev->base_ts >= 100000)
			continue;
		/* The report holds the plan's VMs and those already counted. */
		for (size_t i = 0; i < ev->rep->n && !seen; i++)
			seen = !strcmp(ev->rep->vms[i].ns, r.ns) &&
			       !strcmp(ev->rep->vms[i].name, r.name);
		if (seen)
			continue;
		mig_evrep_add_done(ev->rep, r.ns, r.name, to ? to : "", r.id);
		ev->earlier++;
	}
	wk_k8s_result_release(&res);
	if (ev->earlier) {
		int64_t since = wk_time_now_ms() - ev->base_ts;

		ev->earlier_s = since > 0 ? (double)since / 1000.0 : 0;
		ev->rep->earlier_s = ev->earlier_s;
		wk_logk(WK_LOG_INFO, ev->node,
			"evacuation '%s': %zu VMs moved before a restart of the migrator", ev->id,
			ev->earlier);
	}
}

/* A planned VM still on the node: why, from its Wukong's migration status (the outcome of its
 * request), else "unknown". */
static void stayed_add(struct mig_state *st, cJSON *stayed, const struct child *c)
{
	struct wk_k8s_result res;
	char err[256];
	cJSON *x = cJSON_CreateObject();
	const char *reason = NULL, *message = NULL;

	cJSON_AddStringToObject(x, "namespace", c->ns);
	cJSON_AddStringToObject(x, "name", c->name);
	if (wk_k8s_get(st->k8s, &wk_res_wukongs, c->ns, c->name, &res, err, sizeof(err)) == 0) {
		const char *rid = wk_json_str(res.body, "status.migrationStatus.requestId");

		if (rid && !strcmp(rid, c->id)) {
			const cJSON *cond =
			    cJSON_GetArrayItem(wk_json_path(res.body, "status.conditions"), 0);

			reason = wk_json_str(cond, "reason");
			message = wk_json_str(res.body, "status.migrationStatus.message");
		}
	}
	cJSON_AddStringToObject(x, "reason", reason ? reason : "Unknown");
	cJSON_AddStringToObject(x, "message",
				message ? message : "its migration's outcome was not read");
	wk_k8s_result_release(&res);
	cJSON_AddItemToArray(stayed, x);
}

/* "ns/a (DisksNotLiveMigratable), ns/b (NotAWukong)" */
static void stayed_text(const cJSON *stayed, char *out, size_t n)
{
	const cJSON *x;
	size_t k = 0;

	out[0] = 0;
	cJSON_ArrayForEach(x, stayed)
	{
		if (k + 80 >= n) {
			snprintf(out + k, n - k, ", ...");
			return;
		}
		snprintf(out + k, n - k, "%s%.63s/%.100s (%.60s)", k ? ", " : "",
			 wk_json_str(x, "namespace") ? wk_json_str(x, "namespace") : "",
			 wk_json_str(x, "name") ? wk_json_str(x, "name") : "",
			 wk_json_str(x, "reason") ? wk_json_str(x, "reason") : "");
		k = strlen(out);
	}
}

static void evac_complete(struct mig_state *st, struct mig_evac *ev)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400], err[512], msg[1800];
	cJSON *d = cJSON_CreateObject(), *left = cJSON_AddArrayToObject(d, "remaining"),
	      *stayed = cJSON_AddArrayToObject(d, "stayed");
	const cJSON *it;
	char why[1200];
	size_t nleft = 0;
	double took = (double)(wk_time_mono_ms() - ev->started_mono) / 1000.0;

	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", ev->node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		/* Try again at the next tick: the outcome must be read, not guessed. */
		wk_k8s_result_release(&res);
		cJSON_Delete(d);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *nm = wk_json_str(it, "metadata.name");

		for (size_t i = 0; i < ev->n && ns && nm; i++)
			if (!strcmp(ev->c[i].ns, ns) && !strcmp(ev->c[i].vm, nm)) {
				cJSON_AddItemToArray(left, cJSON_CreateString(ev->c[i].name));
				mig_evrep_remaining(ev->rep, i);
				stayed_add(st, stayed, &ev->c[i]);
				nleft++;
			}
	}
	wk_k8s_result_release(&res);
	{
		/* The plan's own: VMs it never moved (not live-migratable, not ours, ...). */
		const cJSON *x;

		cJSON_ArrayForEach(x, ev->skipped)
		{
			if (cJSON_GetArraySize(stayed) >= 64)
				break; /* the audit record's details are capped */
			cJSON_AddItemToArray(stayed, cJSON_Duplicate(x, true));
		}
	}
	stayed_text(stayed, why, sizeof(why));
	took += ev->earlier_s;
	cJSON_AddNumberToObject(d, "vms", (double)(ev->n + ev->earlier));
	if (ev->earlier)
		cJSON_AddNumberToObject(d, "movedBeforeRestart", (double)ev->earlier);
	cJSON_AddNumberToObject(d, "seconds", round(took * 10) / 10);
	cJSON_AddNumberToObject(d, "predictedSeconds", round(ev->predicted_s * 10) / 10);
	if (nleft)
		snprintf(msg, sizeof(msg),
			 "%zu of %zu planned VMs are still on node '%s' after %.0f s; stayed: %s",
			 nleft, ev->n + ev->earlier, ev->node, took, why);
	else
		snprintf(msg, sizeof(msg),
			 "%zu VMs evacuated from node '%s' in %.0f s (predicted %.0f s)%s%s",
			 ev->n + ev->earlier, ev->node, took, ev->predicted_s + ev->earlier_s,
			 why[0] ? "; stayed: " : "", why);
	wk_logk(WK_LOG_INFO, ev->node, "evacuation '%s': %s", ev->id, msg);
	mig_evrep_final(st, ev->rep, ev->hold);
	evac_audit(st, ev, ev->id, ev->node, ev->maint,
		   ev->pressure ? "pressure.completed"
		   : ev->maint	? "evacuation.completed"
				: "drain.completed",
		   nleft ? "failure" : "success", nleft ? "VMsRemaining" : "Evacuated", msg, d,
		   ev->topic, ev->partition, ev->offset, ev->hold);
	cJSON_Delete(d);
	if (ev->maint) {
		size_t slot = 0;
		int64_t oldest = INT64_MAX;

		for (size_t i = 0; i < sizeof(st->evac.backoff) / sizeof(st->evac.backoff[0]); i++)
			if (st->evac.backoff[i].until < oldest) {
				oldest = st->evac.backoff[i].until;
				slot = i;
			}
		wk_strlcpy(st->evac.backoff[slot].node, ev->node,
			   sizeof(st->evac.backoff[slot].node));
		st->evac.backoff[slot].until = wk_time_mono_ms() + MAINT_BACKOFF_MS;
	}
	evac_free(st, ev);
}

/* Is the cold move of c's VM (started by its request) still under way: the VM carries the
 * cold-migration label with c's request id? An unreadable VM counts as under way (asked again a
 * second later); a deleted one as done. */
static bool cold_under_way(struct mig_state *st, const struct child *c)
{
	struct wk_k8s_result res;
	char err[256];
	bool busy;

	if (wk_k8s_get(st->k8s, &wk_res_virtualmachines, c->ns, c->vm, &res, err, sizeof(err)) <
	    0) {
		busy = res.err != WK_K8S_ENOTFOUND;
	} else {
		const char *id = wk_json_meta(res.body, "labels", WK_LABEL_COLD_MIGRATION_REQUEST);

		busy = id && !strcmp(id, c->id);
	}
	wk_k8s_result_release(&res);
	return busy;
}

static void evac_step(struct mig_state *st, struct mig_evac *ev)
{
	int64_t now = wk_time_mono_ms();
	int blocking = 0;
	bool all_final = true;

	bool look_cold = now >= ev->next_cold_mono;

	if (look_cold)
		ev->next_cold_mono = now + 1000;
	for (size_t i = 0; i < ev->next; i++) {
		struct child *c = &ev->c[i];

		if (c->state == 1 && !mig_active_by_id(st, c->id) &&
		    (!c->cold || (look_cold && !cold_under_way(st, c))))
			c->state = 2;
		if (c->state != 1 || c->cold)
			continue; /* a cold move holds no migration slot */
		/* Pipelined: a migration predicted to be within a set-up of its end no longer
		 * holds the next one back (its target pod gets ready meanwhile). */
		double hold_s = ev->pipelined ? c->dur_s - ev->setup_s : INFINITY;
		if (!ev->pipelined || (double)(now - c->sub_mono) / 1000.0 < hold_s)
			blocking++;
	}
	while (ev->next < ev->n && blocking < ev->conc) {
		if (submit(st, ev, ev->next) < 0)
			break;
		if (ev->c[ev->next].state == 1 && !ev->c[ev->next].cold)
			blocking++;
		ev->next++;
	}
	for (size_t i = 0; i < ev->n; i++)
		if (ev->c[i].state != 2)
			all_final = false;
	mig_evrep_tick(st, ev->rep, ev->next);
	if (all_final)
		evac_complete(st, ev);
}

void mig_evac_tick(struct mig_state *st)
{
	struct mig_evac *ev = st->evac.evacs, *nx;

	for (; ev; ev = nx) {
		nx = ev->next_ev;
		evac_step(st, ev);
	}
}

void mig_evac_shutdown(struct mig_state *st)
{
	while (st->evac.evacs) {
		struct mig_evac *ev = st->evac.evacs;

		/* The held message stays unacknowledged: it is replayed after the restart. */
		st->evac.evacs = ev->next_ev;
		if (ev->hold) {
			ev->hold->detached = true;
			mig_ack_unref(st, ev->hold);
		}
		mig_evrep_destroy(ev->rep);
		cJSON_Delete(ev->skipped);
		free(ev->c);
		free(ev);
	}
}

enum wk_msg_result mig_evac_start(struct mig_state *st, const char *id, const char *node,
				  bool maint, const struct mig_pressure_sel *ps, bool dry_run,
				  const char *tenant, int64_t ts, const char *topic,
				  int32_t partition, int64_t offset, struct mig_ack *ack)
{
	struct gathered g;
	char err[512], msg[700];

	if (gather(st, node, maint, ps, &g, err, sizeof(err)) < 0) {
		gathered_release(&g);
		wk_logk(WK_LOG_WARN, node, "evacuation '%s': %s; retrying", id, err);
		return WK_MSG_RETRY;
	}
	if (maint && g.n == 0 && cJSON_GetArraySize(g.skipped) == 0) {
		/* Nothing on the node asks to be moved (skipped ones are reported below). */
		gathered_release(&g);
		return WK_MSG_DONE;
	}
	size_t placed = 0, ncold = 0, nstay = (size_t)cJSON_GetArraySize(g.skipped);
	for (size_t i = 0; i < g.plan.n; i++)
		placed += g.plan.steps[i].target >= 0;
	for (size_t i = g.nlive; i < g.n; i++)
		ncold += g.c[i].cold_target >= 0;
	{
		char cold[64] = "", stay[64] = "", cfgtext[200];

		if (ncold)
			snprintf(cold, sizeof(cold), " (%zu cold)", ncold);
		if (nstay)
			snprintf(stay, sizeof(stay), "; %zu stay (see skipped)", nstay);
		mig_plan_cfg_text(&g.prm, cfgtext, sizeof(cfgtext));
		snprintf(msg, sizeof(msg),
			 "%s%s%s%zu VMs%s %s node '%s' in about %.0f s (first-come-first-served: "
			 "%.0f s, transfer bound %.0f s; %s)%s%s",
			 dry_run ? "dry run: " : "", ps && ps->why[0] ? ps->why : "",
			 ps && ps->why[0] ? ": " : "", placed + ncold, cold,
			 dry_run ? "would leave" : "leave", node, predicted_total(&g),
			 g.plan.fifo_s, g.plan.lower_bound_s, cfgtext,
			 placed + ncold < g.n ? "; some VMs have no target (see the plan)" : "",
			 stay);
	}
	cJSON *d = plan_details(&g, node, dry_run);
	if (dry_run) {
		evac_audit(st, NULL, id, node, maint, "drain.planned", "success", "DryRun", msg, d,
			   topic, partition, offset, ack);
		cJSON_Delete(d);
		gathered_release(&g);
		return WK_MSG_DONE;
	}
	struct mig_evac *ev = wk_xcalloc(1, sizeof(*ev));
	wk_strlcpy(ev->id, id, sizeof(ev->id));
	wk_strlcpy(ev->node, node, sizeof(ev->node));
	ev->maint = maint;
	ev->pressure = ps != NULL;
	wk_strlcpy(ev->tenant, tenant ? tenant : "", sizeof(ev->tenant));
	ev->base_ts = ts;
	ev->conc = g.plan.concurrency > 0 ? g.plan.concurrency : 1;
	ev->pipelined = g.plan.pipelined;
	ev->setup_s = mig_cfg_num(st, "migrator.plan-setup-seconds", 4.0, false);
	ev->predicted_s = predicted_total(&g);
	ev->skipped = cJSON_Duplicate(g.skipped, true);
	ev->started_mono = wk_time_mono_ms();
	wk_strlcpy(ev->topic, topic ? topic : "", sizeof(ev->topic));
	ev->partition = partition;
	ev->offset = offset;
	ev->c = wk_xcalloc(g.n + 1, sizeof(*ev->c));
	ev->rep = mig_evrep_new(id, st->cluster, node,
				ps	? "resourcePressure"
				: maint ? "nodeMaintenance"
					: "drain",
				ev->predicted_s, ev->started_mono);
	/* Cold moves first: they take no migration slot, so they start at once. */
	for (size_t k = 0; k < g.n + g.plan.n; k++) {
		bool cold = k < g.n;
		const struct mig_plan_step *s = cold ? NULL : &g.plan.steps[k - g.n];
		size_t vi = cold ? k : s->vm;
		const struct cand *c = &g.c[vi];
		long tg = cold ? c->cold_target : s->target;
		struct child *ch;

		if ((cold && (vi < g.nlive || tg < 0)) || (!cold && tg < 0))
			continue;
		ch = &ev->c[ev->n++];
		wk_strlcpy(ch->ns, c->ns, sizeof(ch->ns));
		wk_strlcpy(ch->name, c->name, sizeof(ch->name));
		wk_strlcpy(ch->vm, c->vm, sizeof(ch->vm));
		wk_strlcpy(ch->target, g.pn[tg].name, sizeof(ch->target));
		ch->dur_s = cold ? c->cold_s : s->end - s->start;
		ch->cold = cold;
		if (maint) {
			mig_maint_child_id(
			    node, c->ns, c->name, wk_json_str(c->vmi, "metadata.uid"),
			    wk_json_str(c->vmi, "status.migrationState.migrationUid"), ch->id,
			    sizeof(ch->id));
			if (ps) /* another trigger: its own ids ("pr-..." instead of "mt-...") */
				ch->id[0] = 'p', ch->id[1] = 'r';
		} else
			mig_drain_child_id(id, c->ns, c->name, ch->id, sizeof(ch->id));
		mig_evrep_add(ev->rep, ch->ns, ch->name, ch->target, ch->id,
			      cold ? c->cold_s : s->end);
	}
	evac_earlier(st, ev);
	ev->hold = mig_ack_ref(ack);
	ev->next_ev = st->evac.evacs;
	st->evac.evacs = ev;
	evac_audit(st, ev, id, node, maint,
		   ps	   ? "pressure.started"
		   : maint ? "evacuation.started"
			   : "drain.started",
		   "info",
		   ps	   ? "ResourcePressure"
		   : maint ? "NodeMaintenance"
			   : "Drain",
		   msg, d, topic, partition, offset, ack);
	cJSON_Delete(d);
	gathered_release(&g);
	wk_logk(WK_LOG_INFO, node, "evacuation '%s': %s", id, msg);
	evac_step(st, ev);
	return WK_MSG_DONE;
}

enum wk_msg_result mig_evac_drain(struct mig_state *st, const struct mig_drain_req *d, int64_t ts,
				  const char *topic, int32_t partition, int64_t offset,
				  struct mig_ack *ack)
{
	if (evac_find(st, d->id) || evac_by_node(st, d->node)) {
		wk_logk(WK_LOG_INFO, d->node, "drain '%s': an evacuation of the node is running",
			d->id);
		if (!evac_find(st, d->id))
			evac_audit(st, NULL, d->id, d->node, false, "drain.refused", "rejected",
				   "EvacuationInProgress",
				   "another evacuation of this node is in progress", NULL, topic,
				   partition, offset, ack);
		return WK_MSG_DONE;
	}
	return mig_evac_start(st, d->id, d->node, false, NULL, d->dry_run, d->tenant, ts, topic,
			      partition, offset, ack);
}

bool mig_evac_busy(struct mig_state *st, const char *node)
{
	int64_t now = wk_time_mono_ms();

	if (evac_by_node(st, node))
		return true;
	for (size_t i = 0; i < sizeof(st->evac.backoff) / sizeof(st->evac.backoff[0]); i++)
		if (!strcmp(st->evac.backoff[i].node, node) && now < st->evac.backoff[i].until)
			return true;
	return false;
}

enum wk_msg_result mig_evac_node_event(struct mig_state *st, const cJSON *body, const char *change,
				       int64_t ts, struct mig_ack *ack)
{
	const char *node = wk_json_str(body, "name");
	char why[256], id[MIG_ID_MAX], hex[17];

	if (!node || !strcmp(change, "deleted") || !strcmp(change, "synced"))
		return WK_MSG_DONE;
	if (!mig_node_in_maintenance(body, mig_cfg(st, "migrator.drain-taints", NULL), why,
				     sizeof(why)))
		return WK_MSG_DONE;
	if (mig_evac_busy(st, node))
		return WK_MSG_DONE;
	if (mig_node_drain_cordon(body, wk_time_now_ms(), 120000)) {
		wk_logk(WK_LOG_DEBUG, node,
			"node cordoned by a drain (" WK_ANN_CORDONED_FOR_DRAIN "): left to it");
		return WK_MSG_DONE;
	}
	{
		/* One id per triggering event (a replay has the same timestamp): the audit log
		 * keeps each evacuation's records apart and dedupes a replay's. */
		char *in = wk_xasprintf("%s/%lld", node, (long long)ts);

		mig_sha256_hex(in, strlen(in), 16, hex);
		free(in);
	}
	snprintf(id, sizeof(id), "maint-%s", hex);
	wk_logk(WK_LOG_DEBUG, node, "node in maintenance (%s): looking for policy-enabled VMs",
		why);
	return mig_evac_start(st, id, node, true, NULL, false, NULL, ts, NULL, 0, 0, ack);
}
