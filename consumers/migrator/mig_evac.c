/* mig_evac.c - node evacuations: drain submissions and the nodeMaintenance trigger (mig_evac.h).
 *
 * Crash safety: an evacuation holds its message (the drain submission, or the Node event that
 * started it) until its last VM's migration is final and the completion audit is delivered.
 * After kill -9 the message is replayed: the VMs that already left are no longer on the node,
 * those migrating are found by their deterministic request ids (adopted, never a second VMIM),
 * the rest are planned again.
 */
#include "mig_evac.h"

#include "mig_plan.h"

#include "wk_cloudevent.h"
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
	int64_t sub_mono;
};

struct evac {
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
	int64_t started_mono;
	char topic[256];
	int32_t partition;
	int64_t offset;
	struct evac *next_ev;
};

/* A resourcePressure evacuation: just these VMs, and no target filled past `level` percent of
 * its allocatable memory (what metrics.k8s.io says it uses + what it receives). */
struct pressure_sel {
	char (*only)[400]; /* "<ns>/<vm>" */
	size_t n;
	int level;
};

static struct evac *g_evacs;
static struct backoff {
	char node[MIG_NAME_MAX];
	int64_t until;
} g_backoff[32];

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const cJSON *jpath(const cJSON *o, const char *path)
{
	char part[128];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		o = jget(o, part);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static const char *jstr(const cJSON *o, const char *path)
{
	const cJSON *s = jpath(o, path);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static const char *cfg(struct mig_state *st, const char *k, const char *def)
{
	return wk_config_get(wk_service_config(st->ctx), k, def);
}

static double cfg_num(struct mig_state *st, const char *k, double def, bool quantity)
{
	const char *v = cfg(st, k, NULL);
	int64_t q;
	char err[128];

	if (!v)
		return def;
	if (quantity)
		return wk_quantity_parse(v, &q, err, sizeof(err)) == 0 && q > 0 ? (double)q : def;
	double d = strtod(v, NULL);
	return d > 0 ? d : def;
}

/* ---- audit ---- */

static void evac_audit(struct mig_state *st, const struct evac *ev, const char *rid,
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
			if (!jget(details, "stepsTruncated"))
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
	wk_strlcpy(ce.type, "dev.novasphere.wukong.audit.v1", sizeof(ce.type));
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
}

/* ---- looking the node up and planning ---- */

struct cand {
	const cJSON *vmi; /* in the VMI list */
	cJSON *wukong;	  /* owned */
	char ns[64], name[MIG_NAME_MAX], vm[MIG_NAME_MAX], id[MIG_ID_MAX];
	int64_t mem, cpu;
	double dirty;
	struct mig_policy pol;
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
	const char *n = jstr(vmi, "metadata.labels." LABEL_NODE);
	return n ? n : jstr(vmi, "status.nodeName");
}

/* maint: only VMs whose policy enables nodeMaintenance. 0, or -1 (retry) with err. */
static int64_t pressure_used(const char *node);

static int gather(struct mig_state *st, const char *node, bool maint, const struct pressure_sel *ps,
		  struct gathered *g, char *err, size_t errn)
{
	struct wk_k8s_result res;
	const cJSON *it;
	double link = cfg_num(st, "migrator.link-bandwidth", 1250e6, true);
	const char *dirty_ann =
	    cfg(st, "migrator.dirty-rate-annotation", "vm.novasphere.dev/dirty-rate");
	size_t k;

	memset(g, 0, sizeof(*g));
	g->skipped = cJSON_CreateArray();
	mig_plan_init(&g->plan);
	if (wk_k8s_list_all(st->k8s, &wk_k8s_res_nodes, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->nodes = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &mig_res_vmis, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &mig_res_wukongs, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	g->wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);

	size_t nn = (size_t)cJSON_GetArraySize(jget(g->nodes, "items"));
	size_t nv = (size_t)cJSON_GetArraySize(jget(g->vmis, "items"));
	if (nn > MIG_PLAN_MAX_NODES || nv > 100000)
		return wk_err(err, errn, "too many nodes (%zu) or VMIs (%zu) to plan", nn, nv);
	g->node_objs = wk_xcalloc(nn + 1, sizeof(*g->node_objs));
	g->pn = wk_xcalloc(nn + 1, sizeof(*g->pn));
	k = 0;
	cJSON_ArrayForEach(it, jget(g->nodes, "items"))
	{
		int64_t am, ac;
		const char *name = jstr(it, "metadata.name");

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
	cJSON_ArrayForEach(it, jget(g->vmis, "items"))
	{
		int64_t m, c;
		const char *on = vmi_node(it), *to = jstr(it, "metadata.labels." LABEL_MIG_TARGET);

		mig_vmi_resources(it, &m, &c);
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
		/* No node pushed over: at most `level` percent of it used after the move. */
		int64_t am, ac, used = pressure_used(g->pn[j].name);

		mig_node_allocatable(g->node_objs[j], &am, &ac);
		if (am > 0 && used >= 0) {
			int64_t cap = am / 100 * ps->level - used;

			if (cap < g->pn[j].free_mem)
				g->pn[j].free_mem = cap;
		}
	}
	for (size_t j = 0; j < g->nnodes; j++) {
		if (g->pn[j].free_mem < 0)
			g->pn[j].free_mem = 0;
		if (g->pn[j].free_cpu_milli < 0)
			g->pn[j].free_cpu_milli = 0;
	}

	g->c = wk_xcalloc(nv + 1, sizeof(*g->c));
	cJSON_ArrayForEach(it, jget(g->vmis, "items"))
	{
		const char *on = vmi_node(it), *ns = jstr(it, "metadata.namespace");
		const char *vm = jstr(it, "metadata.name"), *ph = jstr(it, "status.phase");
		char perr[256];
		const cJSON *wobj = NULL, *w;

		if (!on || strcmp(on, node) || !ns || !vm)
			continue;
		if (!ph || strcmp(ph, "Running") ||
		    jget(jget(it, "metadata"), "deletionTimestamp")) {
			skip(g, ns, vm, "VMINotRunning", NULL);
			continue;
		}
		/* The Wukong whose VM this is (status.vmName, else <name>-vm). */
		cJSON_ArrayForEach(w, jget(g->wukongs, "items"))
		{
			char wvm[MIG_NAME_MAX];
			const char *wns = jstr(w, "metadata.namespace");

			if (!wns || strcmp(wns, ns))
				continue;
			mig_vm_name(w, wvm, sizeof(wvm));
			if (!strcmp(wvm, vm)) {
				wobj = w;
				break;
			}
		}
		if (!wobj || !jstr(wobj, "metadata.name")) {
			skip(g, ns, vm, "NotAWukong", "no Wukong owns this VM: not managed here");
			continue;
		}
		const char *wk = jstr(wobj, "metadata.name");
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
		mig_vmi_resources(it, &c->mem, &c->cpu);
		if (c->mem <= 0)
			c->mem = 1;
		{
			const char *d = NULL;
			int64_t q;
			char qerr[64];

			if (dirty_ann && *dirty_ann) {
				const cJSON *anns = jpath(it, "metadata.annotations");
				const cJSON *a = jget(anns, dirty_ann);

				if (!cJSON_IsString(a))
					a = jget(jpath(c->wukong, "metadata.annotations"),
						 dirty_ann);
				d = cJSON_IsString(a) ? a->valuestring : NULL;
			}
			c->dirty = d && wk_quantity_parse(d, &q, qerr, sizeof(qerr)) == 0 && q > 0
				       ? (double)q
				       : 0;
		}
		g->n++;
	}
	if (g->n > MIG_PLAN_MAX_VMS)
		return wk_err(err, errn, "too many VMs on node '%s' to plan (%zu)", node, g->n);
	g->pv = wk_xcalloc(g->n + 1, sizeof(*g->pv));
	g->elig = wk_xcalloc((g->n + 1) * (g->nnodes + 1), sizeof(bool));
	for (size_t i = 0; i < g->n; i++) {
		struct cand *c = &g->c[i];
		bool *e = g->elig + i * (g->nnodes + 1);
		const cJSON *vsel = jpath(c->vmi, "spec.nodeSelector");
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
						.eligible = e};
	}
	{
		struct mig_plan_params prm;

		mig_plan_params_default(&prm);
		prm.per_cluster = st->limits.per_cluster > 0 ? st->limits.per_cluster : 5;
		prm.per_node = st->limits.per_node > 0 ? st->limits.per_node : 2;
		prm.setup_s = cfg_num(st, "migrator.plan-setup-seconds", 4.0, false);
		prm.max_evals = (int)cfg_num(st, "migrator.plan-evaluations", 600, false);
		if (mig_plan_build(g->pv, g->n, g->pn, g->nnodes, &prm, &g->plan, err, errn) < 0)
			return -1;
	}
	return 0;
}

static cJSON *plan_details(const struct gathered *g, const char *node, bool dry_run)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "node", node);
	cJSON_AddBoolToObject(d, "dryRun", dry_run);
	cJSON_AddItemToObject(d, "plan", mig_plan_to_json(&g->plan, g->pv, g->pn));
	cJSON_AddItemReferenceToObject(d, "skipped", g->skipped);
	return d;
}

/* ---- evacuations ---- */

static struct evac *evac_find(const char *id)
{
	for (struct evac *e = g_evacs; e; e = e->next_ev)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

static struct evac *evac_by_node(const char *node)
{
	for (struct evac *e = g_evacs; e; e = e->next_ev)
		if (!strcmp(e->node, node))
			return e;
	return NULL;
}

static void evac_free(struct mig_state *st, struct evac *ev)
{
	struct evac **pp;

	for (pp = &g_evacs; *pp; pp = &(*pp)->next_ev)
		if (*pp == ev) {
			*pp = ev->next_ev;
			break;
		}
	if (ev->hold && st)
		mig_ack_unref(st, ev->hold);
	free(ev->c);
	free(ev);
}

/* Submit one VM's migration. 0 submitted (or nothing left to do for it), -1 retry later. */
static int submit(struct mig_state *st, struct evac *ev, size_t i)
{
	struct child *c = &ev->c[i];
	struct wk_k8s_result res;
	struct mig_request r;
	char err[512], key[400];
	enum wk_msg_result out;

	snprintf(key, sizeof(key), "%s/%s", c->ns, c->name);
	if (wk_k8s_get(st->k8s, &mig_res_wukongs, c->ns, c->name, &res, err, sizeof(err)) < 0) {
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
	if (jstr(res.body, "metadata.uid"))
		wk_strlcpy(r.uid, jstr(res.body, "metadata.uid"), sizeof(r.uid));
	wk_strlcpy(r.tenant, ev->tenant, sizeof(r.tenant));
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

static void evac_complete(struct mig_state *st, struct evac *ev)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400], err[512], msg[600];
	cJSON *d = cJSON_CreateObject(), *left = cJSON_AddArrayToObject(d, "remaining");
	const cJSON *it;
	size_t nleft = 0;
	double took = (double)(wk_time_mono_ms() - ev->started_mono) / 1000.0;

	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", ev->node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &mig_res_vmis, NULL, &lo, &res, err, sizeof(err)) < 0) {
		/* Try again at the next tick: the outcome must be read, not guessed. */
		wk_k8s_result_release(&res);
		cJSON_Delete(d);
		return;
	}
	cJSON_ArrayForEach(it, jget(res.body, "items"))
	{
		const char *ns = jstr(it, "metadata.namespace"), *nm = jstr(it, "metadata.name");

		for (size_t i = 0; i < ev->n && ns && nm; i++)
			if (!strcmp(ev->c[i].ns, ns) && !strcmp(ev->c[i].vm, nm)) {
				cJSON_AddItemToArray(left, cJSON_CreateString(ev->c[i].name));
				nleft++;
			}
	}
	wk_k8s_result_release(&res);
	cJSON_AddNumberToObject(d, "vms", (double)ev->n);
	cJSON_AddNumberToObject(d, "seconds", round(took * 10) / 10);
	cJSON_AddNumberToObject(d, "predictedSeconds", round(ev->predicted_s * 10) / 10);
	if (nleft)
		snprintf(msg, sizeof(msg),
			 "%zu of %zu planned VMs are still on node '%s' after %.0f s (their "
			 "migrations' statuses say why)",
			 nleft, ev->n, ev->node, took);
	else
		snprintf(msg, sizeof(msg),
			 "%zu VMs evacuated from node '%s' in %.0f s (predicted %.0f s)", ev->n,
			 ev->node, took, ev->predicted_s);
	wk_logk(WK_LOG_INFO, ev->node, "evacuation '%s': %s", ev->id, msg);
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

		for (size_t i = 0; i < sizeof(g_backoff) / sizeof(g_backoff[0]); i++)
			if (g_backoff[i].until < oldest) {
				oldest = g_backoff[i].until;
				slot = i;
			}
		wk_strlcpy(g_backoff[slot].node, ev->node, sizeof(g_backoff[slot].node));
		g_backoff[slot].until = wk_time_mono_ms() + MAINT_BACKOFF_MS;
	}
	evac_free(st, ev);
}

static void evac_step(struct mig_state *st, struct evac *ev)
{
	int64_t now = wk_time_mono_ms();
	int blocking = 0;
	bool all_final = true;

	for (size_t i = 0; i < ev->next; i++) {
		struct child *c = &ev->c[i];

		if (c->state == 1 && !mig_active_by_id(st, c->id))
			c->state = 2;
		if (c->state != 1)
			continue;
		/* Pipelined: a migration predicted to be within a set-up of its end no longer
		 * holds the next one back (its target pod gets ready meanwhile). */
		double hold_s = ev->pipelined ? c->dur_s - ev->setup_s : INFINITY;
		if (!ev->pipelined || (double)(now - c->sub_mono) / 1000.0 < hold_s)
			blocking++;
	}
	while (ev->next < ev->n && blocking < ev->conc) {
		if (submit(st, ev, ev->next) < 0)
			break;
		if (ev->c[ev->next].state == 1)
			blocking++;
		ev->next++;
	}
	for (size_t i = 0; i < ev->n; i++)
		if (ev->c[i].state != 2)
			all_final = false;
	if (all_final)
		evac_complete(st, ev);
}

void mig_evac_tick(struct mig_state *st)
{
	struct evac *ev = g_evacs, *nx;

	for (; ev; ev = nx) {
		nx = ev->next_ev;
		evac_step(st, ev);
	}
}

static void failure_forget(void);

void mig_evac_shutdown(struct mig_state *st)
{
	failure_forget();
	while (g_evacs) {
		struct evac *ev = g_evacs;

		/* The held message stays unacknowledged: it is replayed after the restart. */
		g_evacs = ev->next_ev;
		if (ev->hold) {
			ev->hold->detached = true;
			mig_ack_unref(st, ev->hold);
		}
		free(ev->c);
		free(ev);
	}
}

/* Plan an evacuation; dry run: report; otherwise start it. */
static enum wk_msg_result evacuate(struct mig_state *st, const char *id, const char *node,
				   bool maint, const struct pressure_sel *ps, bool dry_run,
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
	size_t placed = 0;
	for (size_t i = 0; i < g.plan.n; i++)
		placed += g.plan.steps[i].target >= 0;
	snprintf(
	    msg, sizeof(msg),
	    "%s%zu VMs %s node '%s' in about %.0f s (first-come-first-served: %.0f s, transfer "
	    "bound %.0f s)%s",
	    dry_run ? "dry run: " : "", placed, dry_run ? "would leave" : "leave", node,
	    g.plan.predicted_s, g.plan.fifo_s, g.plan.lower_bound_s,
	    placed < g.plan.n ? "; some VMs have no target (see the plan)" : "");
	cJSON *d = plan_details(&g, node, dry_run);
	if (dry_run) {
		evac_audit(st, NULL, id, node, maint, "drain.planned", "success", "DryRun", msg, d,
			   topic, partition, offset, ack);
		cJSON_Delete(d);
		gathered_release(&g);
		return WK_MSG_DONE;
	}
	struct evac *ev = wk_xcalloc(1, sizeof(*ev));
	wk_strlcpy(ev->id, id, sizeof(ev->id));
	wk_strlcpy(ev->node, node, sizeof(ev->node));
	ev->maint = maint;
	ev->pressure = ps != NULL;
	wk_strlcpy(ev->tenant, tenant ? tenant : "", sizeof(ev->tenant));
	ev->base_ts = ts;
	ev->conc = g.plan.concurrency > 0 ? g.plan.concurrency : 1;
	ev->pipelined = g.plan.pipelined;
	ev->setup_s = cfg_num(st, "migrator.plan-setup-seconds", 4.0, false);
	ev->predicted_s = g.plan.predicted_s;
	ev->started_mono = wk_time_mono_ms();
	wk_strlcpy(ev->topic, topic ? topic : "", sizeof(ev->topic));
	ev->partition = partition;
	ev->offset = offset;
	ev->c = wk_xcalloc(g.plan.n + 1, sizeof(*ev->c));
	for (size_t i = 0; i < g.plan.n; i++) {
		const struct mig_plan_step *s = &g.plan.steps[i];
		const struct cand *c = &g.c[s->vm];
		struct child *ch;

		if (s->target < 0)
			continue;
		ch = &ev->c[ev->n++];
		wk_strlcpy(ch->ns, c->ns, sizeof(ch->ns));
		wk_strlcpy(ch->name, c->name, sizeof(ch->name));
		wk_strlcpy(ch->vm, c->vm, sizeof(ch->vm));
		wk_strlcpy(ch->target, g.pn[s->target].name, sizeof(ch->target));
		ch->dur_s = s->end - s->start;
		if (maint) {
			mig_maint_child_id(node, c->ns, c->name, jstr(c->vmi, "metadata.uid"),
					   jstr(c->vmi, "status.migrationState.migrationUid"),
					   ch->id, sizeof(ch->id));
			if (ps) /* another trigger: its own ids ("pr-..." instead of "mt-...") */
				ch->id[0] = 'p', ch->id[1] = 'r';
		} else
			mig_drain_child_id(id, c->ns, c->name, ch->id, sizeof(ch->id));
	}
	ev->hold = mig_ack_ref(ack);
	ev->next_ev = g_evacs;
	g_evacs = ev;
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
	if (evac_find(d->id) || evac_by_node(d->node)) {
		wk_logk(WK_LOG_INFO, d->node, "drain '%s': an evacuation of the node is running",
			d->id);
		if (!evac_find(d->id))
			evac_audit(st, NULL, d->id, d->node, false, "drain.refused", "rejected",
				   "EvacuationInProgress",
				   "another evacuation of this node is in progress", NULL, topic,
				   partition, offset, ack);
		return WK_MSG_DONE;
	}
	return evacuate(st, d->id, d->node, false, NULL, d->dry_run, d->tenant, ts, topic,
			partition, offset, ack);
}

/* ---- nodeFailure: report, never start a second copy ---- */

static struct mig_map g_failure_sent; /* "node/ns/name/vmi uid/reason" already reported */
static bool g_failure_init;

static bool node_fenced(struct mig_state *st, const cJSON *node, char *why, size_t n)
{
	const char *extra = cfg(st, "migrator.fencing-taints", NULL);
	const cJSON *t;

	cJSON_ArrayForEach(t, jpath(node, "spec.taints"))
	{
		const char *k = jstr(t, "key");

		if (!k)
			continue;
		if (!strcmp(k, "node.kubernetes.io/out-of-service") ||
		    (extra && *extra && strstr(extra, k) && strlen(k) > 0)) {
			snprintf(why, n, "%s", k);
			return true;
		}
	}
	return false;
}

static void pressure_forget(void);

static void failure_forget(void)
{
	if (g_failure_init)
		mig_map_release(&g_failure_sent);
	g_failure_init = false;
	pressure_forget();
}

/* The VMI's disks cannot move (KubeVirt's verdict: LiveMigratable=False because of disks). */
static bool vmi_local_storage(const cJSON *vmi, char *msg, size_t n)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, jpath(vmi, "status.conditions"))
	{
		const char *ty = jstr(c, "type"), *stt = jstr(c, "status"), *r = jstr(c, "reason");

		if (ty && !strcmp(ty, "LiveMigratable") && stt && !strcmp(stt, "False") && r &&
		    !strcmp(r, "DisksNotLiveMigratable")) {
			snprintf(msg, n, "%s", jstr(c, "message") ? jstr(c, "message") : r);
			return true;
		}
	}
	return false;
}

static void failure_report(struct mig_state *st, const cJSON *wukong, const char *node,
			   const char *vmi_uid, const char *reason, const char *message,
			   struct mig_ack *ack)
{
	struct mig_request r;
	struct mig_status s;
	struct mig_audit au;
	char key[800], action[64];
	const char *ns = jstr(wukong, "metadata.namespace"), *name = jstr(wukong, "metadata.name");

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s/%s/%s", node, ns, name, vmi_uid ? vmi_uid : "",
		 reason);
	if (!g_failure_init) {
		mig_map_init(&g_failure_sent);
		g_failure_init = true;
	}
	if (mig_map_get(&g_failure_sent, key))
		return;
	if (g_failure_sent.n > 10000) { /* bounded: a resend is harmless (same audit id) */
		mig_map_release(&g_failure_sent);
		mig_map_init(&g_failure_sent);
	}
	mig_map_set(&g_failure_sent, key, "1");
	memset(&r, 0, sizeof(r));
	{
		char hex[17];

		mig_sha256_hex(key, strlen(key), 16, hex);
		snprintf(r.id, sizeof(r.id), "nf-%s", hex);
	}
	r.source = MIG_SRC_KAFKA;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, name, sizeof(r.name));
	mig_vm_name(wukong, r.vm, sizeof(r.vm));
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = MIG_PH_REJECTED;
	s.seq = mig_next_seq(st);
	s.reason = reason;
	s.message = message;
	s.condition_only = true;
	s.condition_type = "AutomaticRecovery";
	mig_send_status(st, NULL, &s, ack);
	memset(&au, 0, sizeof(au));
	au.req = &r;
	au.cluster = st->cluster;
	snprintf(action, sizeof(action), "recovery.%s",
		 !strcmp(reason, "NodeNotFenced")  ? "not-fenced"
		 : !strcmp(reason, "LocalStorage") ? "local-storage"
						   : "restart");
	au.action = action;
	au.outcome = strcmp(reason, "RecoveringOnHealthyNode") ? "rejected" : "info";
	au.reason = reason;
	au.message = message;
	mig_send_audit(st, &au, node, ack);
	wk_logk(WK_LOG_WARN, key, "%s: %s", reason, message);
}

/* The node is not Ready. Without fencing nothing is recovered (a second copy could write to a
 * shared disk the first may still be writing); with it, KubeVirt restarts the shared-storage VMs
 * elsewhere (their VMIs are failed), and local-storage VMs cannot be recovered. */
static enum wk_msg_result node_failure(struct mig_state *st, const cJSON *body, const char *node,
				       struct mig_ack *ack)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400], err[512], why[256], msg[1400];
	cJSON *vmis, *wukongs;
	const cJSON *it, *w;
	bool fenced = node_fenced(st, body, why, sizeof(why));

	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &mig_res_vmis, NULL, &lo, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		wk_logk(WK_LOG_WARN, node, "node failure: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (cJSON_GetArraySize(jget(vmis, "items")) == 0) {
		cJSON_Delete(vmis);
		return WK_MSG_DONE;
	}
	if (wk_k8s_list_all(st->k8s, &mig_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		cJSON_Delete(vmis);
		return WK_MSG_RETRY;
	}
	wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	cJSON_ArrayForEach(it, jget(vmis, "items"))
	{
		const char *ns = jstr(it, "metadata.namespace"), *vm = jstr(it, "metadata.name");
		struct mig_policy pol;
		char perr[128], disk[600];

		if (!ns || !vm)
			continue;
		cJSON_ArrayForEach(w, jget(wukongs, "items"))
		{
			char wvm[MIG_NAME_MAX];
			const char *wns = jstr(w, "metadata.namespace");

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
		bool wants = pol.enabled && (pol.triggers & MIG_TRIG_FAILURE);
		mig_policy_release(&pol);
		if (!wants)
			continue;
		if (!fenced)
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is not ready but not confirmed down (no "
			    "node.kubernetes.io/out-of-service taint or fencing signal): not "
			    "recovering, a second copy could write to the VM's disks while the "
			    "first may still be running",
			    node);
		else if (vmi_local_storage(it, disk, sizeof(disk)))
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is confirmed down (%s) but the VM's disks are on storage "
			    "that cannot leave the node (%.400s): it cannot be recovered "
			    "automatically; repair the node or restore from a snapshot",
			    node, why, disk);
		else
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is confirmed down (%s): the VM's disks are shared, KubeVirt "
			    "restarts it on a healthy node",
			    node, why);
		failure_report(st, w, node, jstr(it, "metadata.uid"),
			       !fenced ? "NodeNotFenced"
			       : vmi_local_storage(it, disk, sizeof(disk))
				   ? "LocalStorage"
				   : "RecoveringOnHealthyNode",
			       msg, ack);
	}
	cJSON_Delete(vmis);
	cJSON_Delete(wukongs);
	return WK_MSG_DONE;
}

enum wk_msg_result mig_evac_node_event(struct mig_state *st, const cJSON *body, const char *change,
				       int64_t ts, struct mig_ack *ack)
{
	const char *node = jstr(body, "name");
	char why[256], id[MIG_ID_MAX], hex[17];
	int64_t now = wk_time_mono_ms();

	if (!node || !strcmp(change, "deleted") || !strcmp(change, "synced"))
		return WK_MSG_DONE;
	if (!mig_node_ready(body))
		return node_failure(st, body, node, ack);
	if (!mig_node_in_maintenance(body, cfg(st, "migrator.drain-taints", NULL), why,
				     sizeof(why)))
		return WK_MSG_DONE;
	if (evac_by_node(node))
		return WK_MSG_DONE;
	for (size_t i = 0; i < sizeof(g_backoff) / sizeof(g_backoff[0]); i++)
		if (!strcmp(g_backoff[i].node, node) && now < g_backoff[i].until)
			return WK_MSG_DONE;
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
	return evacuate(st, id, node, true, NULL, false, NULL, ts, NULL, 0, 0, ack);
}

/* ---- resourcePressure ---- */

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
		const cJSON *pol = jpath(w, "spec.migrationPolicy"), *t;

		if (!cJSON_IsTrue(jget(pol, "enabled")))
			continue;
		cJSON_ArrayForEach(t,
				   jget(pol, "triggerConditions")) if (jstr(t, "type") &&
								       !strcmp(jstr(t, "type"),
									       "resourcePressure"))
		    g_wk_any_pressure = true;
	}
	return g_wk_cache;
}

static int64_t pressure_used(const char *node)
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
enum wk_msg_result mig_evac_metrics_event(struct mig_state *st, const cJSON *body,
					  const char *change, int64_t ts, struct mig_ack *ack)
{
	const char *node = jstr(body, "name"), *mem = jstr(body, "usage.memory");
	struct pnode *p;
	int64_t used, now = wk_time_mono_ms(), am, ac;
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512], sel[400];
	int hyst = (int)cfg_num(st, "migrator.pressure-hysteresis", 10, false);
	double sustain_ms = cfg_num(st, "migrator.pressure-sustain", 15, false) * 1000;
	double cooldown_ms = cfg_num(st, "migrator.pressure-cooldown", 600, false) * 1000;

	if (!node || !mem || !strcmp(change, "deleted") ||
	    wk_quantity_parse(mem, &used, err, sizeof(err)) < 0)
		return WK_MSG_DONE;
	p = pnode_get(node, true);
	if (!p)
		return WK_MSG_DONE;
	p->used = used;
	if (now < p->next_check || evac_by_node(node))
		return WK_MSG_DONE;
	for (size_t i = 0; i < sizeof(g_backoff) / sizeof(g_backoff[0]); i++)
		if (!strcmp(g_backoff[i].node, node) && now < g_backoff[i].until)
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
		const char *ns = jstr(it, "metadata.namespace"), *vm = jstr(it, "metadata.name");
		const char *ph = jstr(it, "status.phase"), *end;
		struct mig_policy pol;
		char perr[128], key[400];
		int64_t m, c;

		if (!ns || !vm || !ph || strcmp(ph, "Running"))
			continue;
		cJSON_ArrayForEach(w, jget(wukongs, "items"))
		{
			char wvm[MIG_NAME_MAX];
			const char *wns = jstr(w, "metadata.namespace");

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
		end = jstr(it, "status.migrationState.endTimestamp");
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
		struct pressure_sel ps = {wk_xcalloc(nc, sizeof(*ps.only)), 0, level};
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
		out = evacuate(st, id, node, true, &ps, false, NULL, ts, NULL, 0, 0, ack);
		if (out == WK_MSG_DONE)
			p->hot_since = 0;
		free(ps.only);
		free(taken);
	}
done:
	free(cand);
	return out;
}

static void pressure_forget(void)
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
