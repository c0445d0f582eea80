/* mig_cold.c - cold migration: stop, pin, start, verify, restore (mig_cold.h). */
#include "flows/mig_cold.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "flows/mig_failure.h"

#include "decide/mig_drain.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

/* A VM that does not run on its target this long after starting again has failed. */
#define COLD_TIMEOUT_MS (5 * 60 * 1000)

static const struct wk_k8s_resource res_vms = {"kubevirt.io", "v1", "virtualmachines", true};
static int64_t g_next_tick;
/* Cold moves under way as of the last tick, plus those started since; -1 = not known yet. */
static long g_cold_known = -1;

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *jstr2(const cJSON *o, const char *a, const char *b, const char *c)
{
	const cJSON *v = jget(o, a);

	if (b)
		v = jget(v, b);
	if (c)
		v = jget(v, c);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void mig_cold_state_release(struct mig_cold_state *s)
{
	if (!s)
		return;
	cJSON_Delete(s->node_selector);
	s->node_selector = NULL;
}

char *mig_cold_state_json(const struct mig_cold_state *s)
{
	cJSON *o = cJSON_CreateObject();
	char n[32], *out;

	cJSON_AddStringToObject(o, "requestId", s->request);
	cJSON_AddStringToObject(o, "target", s->target);
	cJSON_AddStringToObject(o, "hostname", s->hostname);
	cJSON_AddStringToObject(o, "wukong", s->wukong);
	cJSON_AddStringToObject(o, "runStrategy", s->run_strategy);
	if (s->node_selector)
		cJSON_AddItemToObject(o, "nodeSelector", cJSON_Duplicate(s->node_selector, true));
	else
		cJSON_AddNullToObject(o, "nodeSelector");
	snprintf(n, sizeof(n), "%lld", (long long)s->stopped_ms);
	cJSON_AddRawToObject(o, "stoppedMs", n);
	snprintf(n, sizeof(n), "%lld", (long long)s->started_ms);
	cJSON_AddRawToObject(o, "startedMs", n);
	if (s->down_since_ms > 0) {
		snprintf(n, sizeof(n), "%lld", (long long)s->down_since_ms);
		cJSON_AddRawToObject(o, "downSinceMs", n);
	}
	if (s->result == MIG_PH_SUCCEEDED || s->result == MIG_PH_FAILED) {
		cJSON_AddStringToObject(o, "result", mig_phase_name(s->result));
		if (s->downtime_s >= 0 && s->downtime_s <= MIG_DOWNTIME_MAX_S)
			cJSON_AddNumberToObject(o, "downtimeSeconds", s->downtime_s);
		snprintf(n, sizeof(n), "%lld", (long long)s->finished_ms);
		cJSON_AddRawToObject(o, "finishedMs", n);
		cJSON_AddStringToObject(o, "onNode", s->on_node);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!out)
		abort();
	return out;
}

static int copy_str(const cJSON *o, const char *k, char *out, size_t n, bool required)
{
	const cJSON *v = jget(o, k);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return required ? -1 : 0;
	wk_strlcpy(out, v->valuestring, n);
	return 0;
}

/* An epoch-ms value: absent = 0; anything but an integer in [0, 2^53) is malformed. */
static int get_ms(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *t = jget(o, k);

	*out = 0;
	if (!t)
		return 0;
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0 ||
	    t->valuedouble >= 9007199254740992.0 || floor(t->valuedouble) != t->valuedouble)
		return -1;
	*out = (int64_t)t->valuedouble;
	return 0;
}

int mig_cold_state_parse(const char *json, struct mig_cold_state *out)
{
	cJSON *o;
	const cJSON *ns, *t;

	memset(out, 0, sizeof(*out));
	if (!json)
		return -1;
	o = cJSON_Parse(json);
	if (!cJSON_IsObject(o) || copy_str(o, "requestId", out->request, sizeof(out->request), 1) ||
	    copy_str(o, "target", out->target, sizeof(out->target), 1) ||
	    copy_str(o, "hostname", out->hostname, sizeof(out->hostname), 1) ||
	    copy_str(o, "wukong", out->wukong, sizeof(out->wukong), 1) ||
	    copy_str(o, "runStrategy", out->run_strategy, sizeof(out->run_strategy), 0)) {
		cJSON_Delete(o);
		return -1;
	}
	out->downtime_s = -1;
	t = jget(o, "result");
	if (t) {
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Succeeded"))
			out->result = MIG_PH_SUCCEEDED;
		else if (cJSON_IsString(t) && !strcmp(t->valuestring, "Failed"))
			out->result = MIG_PH_FAILED;
		else
			goto bad;
		t = jget(o, "downtimeSeconds");
		if (cJSON_IsNumber(t) && isfinite(t->valuedouble) && t->valuedouble >= 0 &&
		    t->valuedouble <= MIG_DOWNTIME_MAX_S)
			out->downtime_s = t->valuedouble;
		else if (t && !cJSON_IsNull(t))
			goto bad;
		if (copy_str(o, "onNode", out->on_node, sizeof(out->on_node), 0) < 0)
			goto bad;
	}
	if (get_ms(o, "stoppedMs", &out->stopped_ms) < 0 ||
	    get_ms(o, "startedMs", &out->started_ms) < 0 ||
	    get_ms(o, "downSinceMs", &out->down_since_ms) < 0 ||
	    get_ms(o, "finishedMs", &out->finished_ms) < 0)
		goto bad;
	ns = jget(o, "nodeSelector");
	if (cJSON_IsObject(ns))
		out->node_selector = cJSON_Duplicate(ns, true);
	cJSON_Delete(o);
	return 0;
bad:
	cJSON_Delete(o);
	memset(out, 0, sizeof(*out));
	return -1;
}

char *mig_cold_selector_patch(const struct mig_cold_state *s, bool pin)
{
	cJSON *o = cJSON_CreateObject(), *sel, *v;
	char *out;

	sel = cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "template"), "spec");
	sel = cJSON_AddObjectToObject(sel, "nodeSelector");
	cJSON_ArrayForEach(v, s->node_selector)
	{
		if (cJSON_IsString(v))
			cJSON_AddStringToObject(sel, v->string, v->valuestring);
	}
	if (pin) {
		cJSON_DeleteItemFromObjectCaseSensitive(sel, "kubernetes.io/hostname");
		cJSON_AddStringToObject(sel, "kubernetes.io/hostname", s->hostname);
	} else if (!jget(s->node_selector, "kubernetes.io/hostname")) {
		/* Merge patch: null removes the key we added. */
		cJSON_AddNullToObject(sel, "kubernetes.io/hostname");
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!out)
		abort();
	return out;
}

bool mig_cold_applicable(const char *reason)
{
	static const char *const live[] = {"DisksNotLiveMigratable", "InterfaceNotLiveMigratable",
					   "HostDeviceNotLiveMigratable",
					   "HotplugNotLiveMigratable", NULL};

	for (size_t i = 0; reason && live[i]; i++)
		if (!strcmp(reason, live[i]))
			return true;
	return false;
}

int64_t mig_cold_cond_time(const cJSON *obj, const char *type, const char *status)
{
	const cJSON *c;
	int64_t ms;

	cJSON_ArrayForEach(c, jget(jget(obj, "status"), "conditions"))
	{
		const char *t = jstr2(c, "type", NULL, NULL), *st = jstr2(c, "status", NULL, NULL);
		const char *ltt = jstr2(c, "lastTransitionTime", NULL, NULL);

		if (t && st && !strcmp(t, type) && !strcmp(st, status))
			return ltt && strlen(ltt) <= 64 && wk_time_parse_ms(ltt, &ms) == 0 && ms > 0
				   ? ms
				   : 0;
	}
	return 0;
}

double mig_cold_downtime(const struct mig_cold_state *s, int64_t up_since_ms, int64_t now_ms)
{
	if (s->down_since_ms > 0 && up_since_ms >= s->down_since_ms &&
	    (double)(up_since_ms - s->down_since_ms) <= MIG_DOWNTIME_MAX_S * 1000.0)
		return (double)(up_since_ms - s->down_since_ms) / 1000.0;
	/* One clock or the other, never a mix of the two. */
	if (s->started_ms > 0 && now_ms >= s->started_ms &&
	    (double)(now_ms - s->started_ms) <= MIG_DOWNTIME_MAX_S * 1000.0)
		return (double)(now_ms - s->started_ms) / 1000.0;
	return -1;
}

bool mig_cold_allowed(const struct mig_request *r, const cJSON *wukong)
{
	const cJSON *spec = jget(wukong, "spec");
	const cJSON *pol = jget(spec, "migrationPolicy");

	if (!r->target_node[0])
		return false; /* a cold move needs a node to pin the VM to */
	if (r->opt.cold == MIG_TRUE)
		return true; /* the request itself allows it (spec.migration.cold or a submission)
			      */
	if (r->source == MIG_SRC_SPEC && cJSON_IsTrue(jget(jget(spec, "migration"), "cold")))
		return true;
	return cJSON_IsTrue(jget(pol, "enabled")) && cJSON_IsTrue(jget(pol, "allowColdMigration"));
}

/* "k=v,k2=v2" of a nodeSelector, for a message (cut at n). */
static void selector_text(const cJSON *sel, char *out, size_t n)
{
	const cJSON *v;
	size_t len = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(v, sel)
	{
		if (cJSON_IsString(v) && len < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s=%s", len ? "," : "",
						v->string, v->valuestring);
	}
}

int mig_cold_target_check(const cJSON *node, const char *node_name, const cJSON *vm,
			  const cJSON *vmi, const struct wk_selector *target, int64_t used_mem,
			  int64_t used_cpu, struct mig_check *c)
{
	const cJSON *tpl = jget(jget(vm, "spec"), "template"), *v;
	cJSON *own = cJSON_CreateObject();
	char why[160], code[64], sel[256];
	int64_t mem, cpu;
	bool ok;

	memset(c, 0, sizeof(*c));
	/* The template's nodeSelector still applies where the VM starts, except the hostname the
	 * cold move pins (an earlier pin, or the owner's own, which the move replaces). */
	cJSON_ArrayForEach(v, jget(jget(tpl, "spec"), "nodeSelector"))
	{
		if (cJSON_IsString(v) && strcmp(v->string, "kubernetes.io/hostname"))
			cJSON_AddStringToObject(own, v->string, v->valuestring);
	}
	ok = mig_node_eligible(node, NULL, NULL, own, code, sizeof(code));
	if (!ok) {
		if (!strcmp(code, "TargetNodeNotFound"))
			mig_check_fail(c, code, "target node '%s' does not exist", node_name);
		else if (!strcmp(code, "TargetNodeNotReady"))
			mig_check_fail(c, code, "target node '%s' is not Ready", node_name);
		else if (!strcmp(code, "TargetNodeUnschedulable") &&
			 mig_node_unschedulable(node, why, sizeof(why)))
			mig_check_fail(c, code, "target node '%s' is unschedulable: %s", node_name,
				       why);
		else if (!strcmp(code, "TargetNodeSelectorMismatch")) {
			selector_text(own, sel, sizeof(sel));
			mig_check_fail(c, code,
				       "target node '%s' does not match the VM's nodeSelector '%s'",
				       node_name, sel);
		} else
			mig_check_fail(c, code, "target node '%s' may not take the VM (%s)",
				       node_name, code);
	}
	cJSON_Delete(own);
	if (!ok)
		return -1;
	if (target && !mig_node_eligible(node, NULL, target, NULL, code, sizeof(code))) {
		char *ts = wk_selector_to_string(target);

		mig_check_fail(c, code,
			       "target node '%s' does not satisfy the migrationPolicy's "
			       "targetNodeSelector '%.200s'",
			       node_name, ts ? ts : "");
		free(ts);
		return -1;
	}
	/* What the VM starts with is the template's; a template naming neither (not KubeVirt's
	 * usual) falls back to what the running VMI holds. */
	mig_vmi_resources(tpl, &mem, &cpu);
	if (!mem && !cpu && vmi)
		mig_vmi_resources(vmi, &mem, &cpu);
	return mig_check_room(c, node_name, node, used_mem, used_cpu, mem, cpu);
}

/* ---- I/O ---- */

static void cold_status(struct mig_state *st, const char *ns, const struct mig_cold_state *s,
			enum mig_phase ph, const char *reason, const char *msg)
{
	struct mig_request r;
	struct mig_status u;
	struct mig_audit au;
	char vm[MIG_NAME_MAX + 4];

	memset(&r, 0, sizeof(r));
	wk_strlcpy(r.id, s->request, sizeof(r.id));
	r.source = MIG_SRC_SPEC;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, s->wukong, sizeof(r.name));
	snprintf(vm, sizeof(vm), "%s-vm", s->wukong);
	wk_strlcpy(r.vm, vm, sizeof(r.vm));
	wk_strlcpy(r.target_node, s->target, sizeof(r.target_node));
	memset(&u, 0, sizeof(u));
	u.req = &r;
	u.phase = ph;
	u.seq = mig_next_seq(st);
	u.target_node = s->target;
	u.started_ms = s->started_ms;
	u.completed_ms = !mig_phase_final(ph) ? 0
			 : s->finished_ms     ? s->finished_ms
					      : wk_time_now_ms();
	u.mode = "Cold";
	/* Known only once the VM runs on the target; null (cleared) on every other step. */
	u.has_downtime = ph == MIG_PH_SUCCEEDED && s->downtime_s >= 0;
	u.downtime_s = s->downtime_s;
	u.reason = reason;
	u.message = msg;
	mig_send_status(st, NULL, &u, NULL);
	if (mig_phase_final(ph))
		mig_remember_done(st, &r, ph);
	memset(&au, 0, sizeof(au));
	au.req = &r;
	au.cluster = st->cluster;
	au.action = "migration.cold";
	au.outcome = ph == MIG_PH_SUCCEEDED  ? "success"
		     : ph == MIG_PH_FAILED   ? "failure"
		     : ph == MIG_PH_REJECTED ? "rejected"
					     : "info";
	au.reason = reason;
	au.message = msg;
	mig_send_audit(st, &au, reason, NULL);
	mig_post_event(st, &r, NULL,
		       ph == MIG_PH_FAILED || ph == MIG_PH_REJECTED ? "Warning" : "Normal", reason,
		       msg, "migration.cold");
	wk_logk(WK_LOG_INFO, s->wukong, "cold migration '%s': %s", s->request, msg);
}

/* Refuse a request with a condition only (MigrationRequestRejected) and an audit record: the
 * Wukong's migrationStatus belongs to another request, or to this one already done. */
static void refuse(struct mig_state *st, const struct mig_request *r, const char *reason,
		   const char *msg)
{
	struct mig_status u;
	struct mig_audit au;

	memset(&u, 0, sizeof(u));
	u.req = r;
	u.phase = MIG_PH_REJECTED;
	u.seq = mig_next_seq(st);
	u.reason = reason;
	u.message = msg;
	u.condition_only = true;
	u.condition_type = "MigrationRequestRejected";
	mig_send_status(st, NULL, &u, NULL);
	memset(&au, 0, sizeof(au));
	au.req = r;
	au.cluster = st->cluster;
	au.action = "migration.preflight";
	au.outcome = "rejected";
	au.reason = reason;
	au.message = msg;
	mig_send_audit(st, &au, reason, NULL);
	mig_post_event(st, r, r->uid, "Warning", reason, msg, "migration.preflight");
	mig_remember_done(st, r, MIG_PH_REJECTED);
}

static int patch_vm(struct mig_state *st, const char *ns, const char *vm, const char *patch)
{
	struct wk_k8s_result res;
	char err[512];
	int rc = wk_k8s_patch(st->k8s, &res_vms, ns, vm, NULL, WK_K8S_PATCH_MERGE, patch, &res, err,
			      sizeof(err));

	if (rc < 0)
		wk_logk(WK_LOG_WARN, vm, "cold migration: patch failed: %s", err);
	wk_k8s_result_release(&res);
	return rc;
}

void mig_cold_start(struct mig_state *st, const struct mig_request *r, const cJSON *wukong,
		    const struct mig_facts *f, const char *reason, struct mig_ack *ack)
{
	struct mig_cold_state s;
	struct wk_k8s_result res;
	struct mig_policy pol;
	struct mig_check chk;
	char err[512], msg[900];
	cJSON *p, *meta, *lab, *ann;
	char *state, *body;

	(void)ack;
	memset(&s, 0, sizeof(s));
	if (wk_k8s_get(st->k8s, &res_vms, r->ns, r->vm, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		wk_logk(WK_LOG_WARN, r->vm, "cold migration: %s", err);
		return;
	}
	if (jstr2(res.body, "metadata", "labels", MIG_COLD_LABEL)) {
		wk_k8s_result_release(&res); /* already under way: the tick carries on */
		return;
	}
	wk_strlcpy(s.request, r->id, sizeof(s.request));
	wk_strlcpy(s.target, r->target_node, sizeof(s.target));
	wk_strlcpy(s.wukong, r->name, sizeof(s.wukong));
	if (jstr2(res.body, "metadata", "labels", MIG_FAIL_LABEL)) {
		/* Node-failure recovery may hold the template's nodeSelector (its pin): a cold
		 * move would record the pin as the VM's own placement and restore it later. */
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "FailureRecoveryInProgress",
			    "cold migration refused: node-failure recovery is steering this VM "
			    "(label " MIG_FAIL_LABEL "); retry once it has finished");
		wk_k8s_result_release(&res);
		return;
	}
	{
		const char *on = jstr2(f->vmi, "status", "nodeName", NULL);

		if (on && !strcmp(on, s.target)) {
			/* Never stop a VM to move it where it already runs. A condition only: this
			 * may be a done cold move's request delivered again, whose Succeeded must
			 * stay (checked first: the VM itself would count against the target's
			 * room). */
			snprintf(msg, sizeof(msg),
				 "request '%s' refused: VMI '%.63s/%.200s' already runs on node "
				 "'%.200s'; pick "
				 "another target",
				 r->id, r->ns, r->vm, s.target);
			refuse(st, r, "TargetIsSourceNode", msg);
			wk_k8s_result_release(&res);
			return;
		}
	}
	{
		const char *h =
		    jstr2(f->target_node, "metadata", "labels", "kubernetes.io/hostname");

		wk_strlcpy(s.hostname, h ? h : r->target_node, sizeof(s.hostname));
	}
	/* Never stop a VM that could not start where it is sent: the target must meet the rules a
	 * live move's would, checked now, before the stop. Once stopped the move goes on; a target
	 * that fails later (cordoned, full) leaves the VM unscheduled until COLD_TIMEOUT_MS, then
	 * the restore lets it start wherever its own rules allow. */
	if (mig_policy_read(wukong, &pol, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg),
			 "cold migration refused: spec.migrationPolicy is invalid (%s), so its "
			 "targetNodeSelector cannot be checked; the VM keeps running",
			 err);
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "InvalidMigrationPolicy", msg);
		wk_k8s_result_release(&res);
		return;
	}
	if (mig_cold_target_check(f->target_node, r->target_node, res.body, f->vmi, pol.target,
				  f->target_used_mem, f->target_used_cpu_milli, &chk) < 0) {
		snprintf(msg, sizeof(msg), "cold migration refused (%s): %s; the VM keeps running",
			 chk.reason, chk.message);
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "ColdMigrationTargetUnusable", msg);
		mig_policy_release(&pol);
		wk_k8s_result_release(&res);
		return;
	}
	mig_policy_release(&pol);
	{
		const char *rs = jstr2(res.body, "spec", "runStrategy", NULL);
		const cJSON *ns =
		    jget(jget(jget(jget(res.body, "spec"), "template"), "spec"), "nodeSelector");

		wk_strlcpy(s.run_strategy, rs ? rs : "Always", sizeof(s.run_strategy));
		if (cJSON_IsObject(ns))
			s.node_selector = cJSON_Duplicate(ns, true);
	}
	wk_k8s_result_release(&res);
	s.started_ms = wk_time_now_ms();
	state = mig_cold_state_json(&s);
	p = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(p, "metadata");
	lab = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(lab, MIG_COLD_LABEL, r->id);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, MIG_COLD_ANN, state);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "spec"), "runStrategy", "Halted");
	body = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	free(state);
	if (patch_vm(st, r->ns, r->vm, body) == 0) {
		if (g_cold_known >= 0)
			g_cold_known++;
		snprintf(
		    msg, sizeof(msg),
		    "the VM cannot live-migrate (%s): cold migration to node '%s': stopping it",
		    reason, s.target);
		cold_status(st, r->ns, &s, MIG_PH_MIGRATING, "ColdMigrationStopping", msg);
	}
	free(body);
	mig_cold_state_release(&s);
}

/* The final status and audit record of a decided cold migration, then our marks off the VM. The
 * outcome is on the VM before this runs, so a migrator killed anywhere in here says it again
 * (the audit record's id is deterministic: the audit log keeps one) and unmarks afterwards. */
static void cold_finish(struct mig_state *st, const char *ns, const char *name,
			const struct mig_cold_state *s)
{
	char msg[700], down[48];

	if (s->result == MIG_PH_SUCCEEDED) {
		if (s->downtime_s >= 0)
			snprintf(down, sizeof(down), "down for %.0f s", s->downtime_s);
		else
			snprintf(down, sizeof(down), "downtime unknown");
		snprintf(msg, sizeof(msg),
			 "cold migration to node '%s' done: the VM was stopped and restarted (%s, "
			 "from the VMI stopping to it running there); its own placement rules are "
			 "restored",
			 s->target, down);
		cold_status(st, ns, s, MIG_PH_SUCCEEDED, "ColdMigrationSucceeded", msg);
	} else {
		snprintf(msg, sizeof(msg),
			 "cold migration: the VM did not run on node '%s' within %d s after it "
			 "stopped (it is on '%s'); placement rules restored",
			 s->target, COLD_TIMEOUT_MS / 1000, s->on_node[0] ? s->on_node : "none");
		cold_status(st, ns, s, MIG_PH_FAILED, "ColdMigrationTimeout", msg);
	}
	/* Unmark only once the final status is in Kafka: after that nothing else says it. */
	if (wk_producer_flush(st->prod, 5000) < 0) {
		wk_logk(WK_LOG_WARN, name,
			"cold migration: final status not delivered yet; retrying");
		return;
	}
	patch_vm(st, ns, name,
		 "{\"metadata\":{\"labels\":{\"" MIG_COLD_LABEL
		 "\":null},\"annotations\":{\"" MIG_COLD_ANN "\":null}}}");
}

/* One VM under cold migration. */
static void cold_step(struct mig_state *st, const cJSON *vm)
{
	const char *ns = jstr2(vm, "metadata", "namespace", NULL);
	const char *name = jstr2(vm, "metadata", "name", NULL);
	struct mig_cold_state s;
	struct wk_k8s_result res;
	char err[512], msg[700], *patch;
	int64_t now = wk_time_now_ms(), up_since = 0;

	if (!ns || !name ||
	    mig_cold_state_parse(jstr2(vm, "metadata", "annotations", MIG_COLD_ANN), &s) < 0)
		return;
	if (s.result != MIG_PH_PENDING) {
		cold_finish(st, ns, name, &s); /* decided before a restart */
		mig_cold_state_release(&s);
		return;
	}
	int vrc = wk_k8s_get(st->k8s, &mig_res_vmis, ns, name, &res, err, sizeof(err));
	bool gone = vrc < 0 && res.err == WK_K8S_ENOTFOUND;
	const char *node = vrc == 0 ? jstr2(res.body, "status", "nodeName", NULL) : NULL;
	const char *phase = vrc == 0 ? jstr2(res.body, "status", "phase", NULL) : NULL;
	bool running_there = node && phase && !strcmp(phase, "Running") && !strcmp(node, s.target);
	char *node_copy = node ? wk_xstrdup(node) : NULL;

	if (running_there)
		up_since = mig_cold_cond_time(res.body, "Ready", "True");
	wk_k8s_result_release(&res);

	if (!s.stopped_ms) {
		if (!gone)
			goto out; /* still stopping */
		/* Stopped: pin it to the target and start it again, in one patch. */
		s.stopped_ms = now;
		s.down_since_ms = mig_cold_cond_time(vm, "Ready", "False");
		char *state = mig_cold_state_json(&s);
		cJSON *p = cJSON_Parse(patch = mig_cold_selector_patch(&s, true));
		free(patch);
		cJSON_AddStringToObject(cJSON_GetObjectItem(p, "spec"), "runStrategy",
					s.run_strategy);
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"),
		    MIG_COLD_ANN, state);
		free(state);
		patch = cJSON_PrintUnformatted(p);
		cJSON_Delete(p);
		/* Said (and delivered) before the patch: a migrator killed right after it would
		 * never say it (the next one finds the VM pinned). If the patch fails, the next
		 * tick says it again with the same audit id, which the audit log keeps once. */
		snprintf(msg, sizeof(msg), "cold migration: stopped; starting it on node '%s'",
			 s.target);
		cold_status(st, ns, &s, MIG_PH_MIGRATING, "ColdMigrationStarting", msg);
		if (wk_producer_flush(st->prod, 5000) == 0)
			patch_vm(st, ns, name, patch);
		else
			wk_logk(WK_LOG_WARN, name,
				"cold migration: status not delivered; retrying");
		free(patch);
		goto out;
	}
	bool timed_out = now - s.stopped_ms > COLD_TIMEOUT_MS;
	if (!running_there && !timed_out)
		goto out;
	/* Verified (or given up): restore the VM's own placement rules and record the outcome on
	 * the VM in one patch; the marks come off once the final status is out (cold_finish). */
	s.result = running_there ? MIG_PH_SUCCEEDED : MIG_PH_FAILED;
	s.downtime_s = running_there ? mig_cold_downtime(&s, up_since, now) : -1;
	s.finished_ms = now;
	wk_strlcpy(s.on_node, node_copy ? node_copy : "", sizeof(s.on_node));
	{
		char *state = mig_cold_state_json(&s);
		cJSON *p = cJSON_Parse(patch = mig_cold_selector_patch(&s, false));

		free(patch);
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"),
		    MIG_COLD_ANN, state);
		free(state);
		patch = cJSON_PrintUnformatted(p);
		cJSON_Delete(p);
	}
	if (patch_vm(st, ns, name, patch) == 0)
		cold_finish(st, ns, name, &s);
	free(patch);
out:
	free(node_copy);
	mig_cold_state_release(&s);
}

/* A Wukong status about this request that means "done, or a cold move of it under way whose
 * marks are already off the VM" (its final status is in Kafka, not applied yet). */
static bool status_is_ours(const struct mig_request *r, const char *sreq, const char *sph,
			   const char *smode)
{
	if (!sreq || strcmp(sreq, r->id) || !sph)
		return false;
	if (!strcmp(sph, "Succeeded") || !strcmp(sph, "Failed") || !strcmp(sph, "Cancelled") ||
	    !strcmp(sph, "Rejected"))
		return true;
	return !strcmp(sph, "Migrating") && smode && !strcmp(smode, "Cold");
}

int mig_cold_owns(struct mig_state *st, const struct mig_request *r, const cJSON *wukong)
{
	struct wk_k8s_result res;
	char err[512], msg[700];
	const char *id, *sreq, *sph, *smode;
	int rc = 0;

	if (wk_k8s_get(st->k8s, &res_vms, r->ns, r->vm, &res, err, sizeof(err)) < 0) {
		rc = res.err == WK_K8S_ENOTFOUND ? 0 : -1;
		wk_k8s_result_release(&res);
		return rc;
	}
	id = jstr2(res.body, "metadata", "labels", MIG_COLD_LABEL);
	sreq = jstr2(wukong, "status", "migrationStatus", "requestId");
	sph = jstr2(wukong, "status", "migrationStatus", "phase");
	smode = jstr2(wukong, "status", "migrationStatus", "mode");
	if (id && !strcmp(id, r->id)) {
		/* A restart: the tick carries it on. Killed between the stop patch and its
		 * status, the last migrator never said "stopping": say it (same audit id). */
		struct mig_cold_state cs;

		if (mig_cold_state_parse(jstr2(res.body, "metadata", "annotations", MIG_COLD_ANN),
					 &cs) == 0 &&
		    !cs.stopped_ms) {
			snprintf(msg, sizeof(msg), "cold migration to node '%s': stopping it",
				 cs.target);
			cold_status(st, r->ns, &cs, MIG_PH_MIGRATING, "ColdMigrationStopping", msg);
		}
		mig_cold_state_release(&cs);
		rc = 1;
	} else if (id) {
		/* Another request's cold move owns the VM until it is done. */
		snprintf(msg, sizeof(msg),
			 "request '%s' refused: cold migration '%.200s' of this VM is under way",
			 r->id, id);
		refuse(st, r, "MigrationInFlight", msg);
		rc = 1;
	} else if (status_is_ours(r, sreq, sph, smode)) {
		rc = 1;
	} else {
		/* The request may come from an old snapshot of the Wukong (a redelivery after a
		 * restart): what does its status say now? */
		struct wk_k8s_result wr;

		if (wk_k8s_get(st->k8s, &mig_res_wukongs, r->ns, r->name, &wr, err, sizeof(err)) <
		    0) {
			rc = wr.err == WK_K8S_ENOTFOUND ? 0 : -1;
		} else {
			sreq = jstr2(wr.body, "status", "migrationStatus", "requestId");
			sph = jstr2(wr.body, "status", "migrationStatus", "phase");
			smode = jstr2(wr.body, "status", "migrationStatus", "mode");
			rc = status_is_ours(r, sreq, sph, smode) ? 1 : 0;
		}
		wk_k8s_result_release(&wr);
	}
	wk_k8s_result_release(&res);
	return rc;
}

void mig_cold_tick(struct mig_state *st)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512];
	const cJSON *it;
	int64_t now = wk_time_mono_ms();

	if (now < g_next_tick)
		return;
	g_next_tick = now + 1000;
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = MIG_COLD_LABEL;
	if (wk_k8s_list_all(st->k8s, &res_vms, NULL, &lo, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		return;
	}
	g_cold_known = cJSON_GetArraySize(jget(res.body, "items"));
	cJSON_ArrayForEach(it, jget(res.body, "items")) cold_step(st, it);
	wk_k8s_result_release(&res);
}

int mig_cold_heading(struct mig_state *st, const char *node, const char *seen, int64_t *mem,
		     int64_t *cpu, char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	const cJSON *it;

	/* The list costs a scan on a large cluster: skipped while no cold move is known. */
	if (g_cold_known == 0)
		return 0;
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = MIG_COLD_LABEL;
	if (wk_k8s_list_all(st->k8s, &res_vms, NULL, &lo, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_ArrayForEach(it, jget(res.body, "items"))
	{
		const char *ns = jstr2(it, "metadata", "namespace", NULL),
			   *name = jstr2(it, "metadata", "name", NULL);
		struct mig_cold_state s;
		char key[600];
		int64_t m, c;

		if (!ns || !name ||
		    mig_cold_state_parse(jstr2(it, "metadata", "annotations", MIG_COLD_ANN), &s) <
			0)
			continue;
		snprintf(key, sizeof(key), ",%s/%s,", ns, name);
		/* Heading there until decided; one whose VMI is already counted there, once. */
		if (!strcmp(s.target, node) && s.result == MIG_PH_PENDING &&
		    !(seen && strstr(seen, key))) {
			mig_vmi_resources(jget(jget(it, "spec"), "template"), &m, &c);
			*mem += m;
			*cpu += c;
		}
		mig_cold_state_release(&s);
	}
	wk_k8s_result_release(&res);
	return 0;
}
