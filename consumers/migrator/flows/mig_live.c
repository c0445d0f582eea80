/* mig_live.c - the live-migration flow (mig_live.h): pre-flight (facts from ctx/mig_cluster.c), the
 * queue under KubeVirt's limits, creation of the per-VM MigrationPolicy and the VMIM, tracking to a
 * final phase, cancel, and the rebuild after a restart. */
#include "flows/mig_cold.h"
#include "ctx/mig_tenancy.h"
#include "flows/mig_live.h"
#include "ctx/mig_checks.h"
#include "decide/mig_verify.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "ctx/mig_ctx.h"
#include "decide/mig_outcome.h"

#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"

#include "wk_json.h"
#include "wk_kubevirt.h"

#include <cjson/cJSON.h>
#include <strings.h>

static bool transient(enum wk_k8s_err e)
{
	return e == WK_K8S_ETRANSPORT || e == WK_K8S_ETOOMANY || e == WK_K8S_ESERVER ||
	       e == WK_K8S_EUNAUTHORIZED || e == WK_K8S_ECONFLICT;
}

/* ---- active requests ---- */

static struct mig_active *active_new(const struct mig_request *r)
{
	struct mig_active *a = wk_xcalloc(1, sizeof(*a));

	a->req = *r;
	mig_object_name(r, a->obj_name, sizeof(a->obj_name));
	wk_strlcpy(a->uid, r->uid, sizeof(a->uid));
	a->partition = -1;
	return a;
}

static void active_link(struct mig_state *st, struct mig_active *a)
{
	a->next = st->active;
	st->active = a;
}

static void remember_spec(struct mig_state *st, const struct mig_request *r)
{
	char key[400];

	if (r->source != MIG_SRC_SPEC)
		return;
	snprintf(key, sizeof(key), "%s/%s", r->ns, r->name);
	mig_last_spec_put(st, key, r->id);
}

/* ---- limits ---- */

int mig_refresh_limits(struct mig_state *st)
{
	struct wk_kubevirt_info kv;
	char err[512];
	int old_c = st->limits.per_cluster, old_n = st->limits.per_node;

	if (wk_kubevirt_fetch(st->k8s, &kv, err, sizeof(err)) < 0) {
		/* Keep what was read last: a blip of the API must not forget the version. */
		wk_warn("cannot read the KubeVirt CR: %s", err);
		return -1;
	}
	if (strcmp(kv.version, st->kv.version) || kv.found != st->kv.found ||
	    kv.cpu_allocation_ratio != st->kv.cpu_allocation_ratio || kv.rollout != st->kv.rollout)
		wk_info("KubeVirt %s (observedKubeVirtVersion '%s'): cpuAllocationRatio %lld, "
			"vmRolloutStrategy %s%s",
			wk_kubevirt_version_str(&kv), kv.version,
			(long long)kv.cpu_allocation_ratio,
			kv.rollout == WK_KV_ROLLOUT_LIVE_UPDATE ? "LiveUpdate" : "Stage",
			kv.found ? "" : " (no KubeVirt CR found)");
	st->kv = kv;
	/* KubeVirt's defaults when unset (pkg/virt-config): 5 and 2 (wk_kubevirt fills them). */
	st->limits.per_cluster =
	    kv.migrations.parallel_per_cluster >= 1 ? (int)kv.migrations.parallel_per_cluster : 5;
	st->limits.per_node = kv.migrations.parallel_outbound_per_node >= 1
				  ? (int)kv.migrations.parallel_outbound_per_node
				  : 2;
	st->limits_from_cr = kv.found;
	if (old_c != st->limits.per_cluster || old_n != st->limits.per_node)
		wk_info(
		    "migration limits from the KubeVirt CR: %d per cluster, %d outbound per node",
		    st->limits.per_cluster, st->limits.per_node);
	return 0;
}

/* ---- pre-flight ---- */

/* -1 transient (err), 0 checked (chk.reason empty = passed). */
static int preflight(struct mig_state *st, struct mig_active *a, struct mig_facts_buf *fb,
		     struct mig_check *chk, char *err, size_t errn)
{
	memset(chk, 0, sizeof(*chk));
	if (mig_gather_facts(st, a, fb, err, errn) < 0)
		return -1;
	if (mig_preflight(&fb->f, chk) == 0)
		chk->reason[0] = '\0';
	if (fb->vmi && wk_json_str(fb->vmi, "status.nodeName"))
		wk_strlcpy(a->source_node, wk_json_str(fb->vmi, "status.nodeName"),
			   sizeof(a->source_node));
	if (fb->vmi)
		mig_vmi_resources(fb->vmi, &st->kv, &a->mem, &a->cpu_milli);
	if (fb->node) {
		const cJSON *hl = cJSON_GetObjectItemCaseSensitive(
		    wk_json_path(fb->node, "metadata.labels"), "kubernetes.io/hostname");

		/* addedNodeSelector matches labels: use the node's hostname label, which usually
		 * but not always equals its name. */
		wk_strlcpy(a->hostname, cJSON_IsString(hl) ? hl->valuestring : a->req.target_node,
			   sizeof(a->hostname));
	}
	return 0;
}

/* ---- policy ---- */

static int delete_policy(struct mig_state *st, struct mig_active *a)
{
	struct wk_k8s_result res;
	char err[512];
	int rc = 0;

	if (wk_k8s_delete(st->k8s, &wk_res_migrationpolicies, NULL, a->obj_name, NULL, &res, err,
			  sizeof(err)) < 0 &&
	    res.err != WK_K8S_ENOTFOUND) {
		wk_warn("delete migrationpolicy '%s': %s (the resync retries)", a->obj_name, err);
		rc = -1;
	}
	wk_k8s_result_release(&res);
	return rc;
}

static char *selector_string(const cJSON *map)
{
	struct wk_buf b;
	const cJSON *l;

	wk_buf_init(&b, 64 * 1024);
	cJSON_ArrayForEach(l, map)
	{
		if (!cJSON_IsString(l))
			continue;
		if (wk_buf_addf(&b, "%s%s=%s", b.len ? "," : "", l->string, l->valuestring) < 0)
			break;
	}
	return wk_buf_take(&b, NULL);
}

/* Create the per-VM policy and make sure KubeVirt will pick it. 0 ok, -1 transient, 1 refused
 * (chk filled). */
static int ensure_policy(struct mig_state *st, struct mig_active *a, const cJSON *vmi,
			 struct mig_check *chk, char *err, size_t errn)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	cJSON *ns_labels = NULL, *vsel, *pol;
	const char *winner;
	char *sel;
	int rc = -1, n;

	if (wk_k8s_get(st->k8s, &wk_res_namespaces, NULL, a->req.ns, &res, err, errn) == 0) {
		const cJSON *l = wk_json_path(res.body, "metadata.labels");

		ns_labels = cJSON_IsObject(l) ? cJSON_Duplicate(l, true) : NULL;
	} else if (transient(res.err)) {
		wk_k8s_result_release(&res);
		return -1;
	}
	wk_k8s_result_release(&res);
	if (!ns_labels || !ns_labels->child) {
		/* Every namespace carries this label since Kubernetes 1.22. */
		cJSON_Delete(ns_labels);
		ns_labels = cJSON_CreateObject();
		cJSON_AddStringToObject(ns_labels, "kubernetes.io/metadata.name", a->req.ns);
	}
	vsel = mig_policy_vmi_selector(wk_json_path(vmi, "metadata.labels"));
	/* The selector must pick this VMI alone, or the options would leak to its neighbours. */
	sel = selector_string(vsel);
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = sel;
	if (wk_k8s_list(st->k8s, &wk_res_virtualmachineinstances, a->req.ns, &lo, &res, err, errn) <
	    0) {
		wk_k8s_result_release(&res);
		goto out;
	}
	n = cJSON_GetArraySize(wk_json_path(res.body, "items"));
	wk_k8s_result_release(&res);
	if (!vsel->child || n != 1) {
		wk_strlcpy(chk->reason, "MigrationPolicyNotSelective", sizeof(chk->reason));
		snprintf(chk->message, sizeof(chk->message),
			 "the VMI's labels select %d VMIs in namespace '%s', so a MigrationPolicy "
			 "for this VM alone is impossible; give the VM template a unique label",
			 vsel->child ? n : 0, a->req.ns);
		rc = 1;
		goto out;
	}
	pol = mig_policy_json(&a->req, a->obj_name, vsel, ns_labels);
	if (wk_k8s_create(st->k8s, &wk_res_migrationpolicies, NULL, pol, &res, err, errn) < 0 &&
	    res.err != WK_K8S_EALREADYEXISTS) {
		bool t = transient(res.err);

		cJSON_Delete(pol);
		wk_k8s_result_release(&res);
		if (t)
			goto out;
		wk_strlcpy(chk->reason, "MigrationPolicyRejected", sizeof(chk->reason));
		snprintf(chk->message, sizeof(chk->message), "creating MigrationPolicy failed: %s",
			 err);
		rc = 1;
		goto out;
	}
	cJSON_Delete(pol);
	wk_k8s_result_release(&res);
	/* KubeVirt picks the policy with the most matching labels; ours matches every stable
	 * label of the VMI and of its namespace, so only an exact tie with a smaller name can beat
	 * it. Check rather than hope. */
	if (wk_k8s_list_all(st->k8s, &wk_res_migrationpolicies, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		goto out;
	}
	{
		cJSON *vl = cJSON_Duplicate(vsel, true);

		winner = mig_policy_winner(wk_json_path(res.body, "items"), vl, ns_labels);
		if (!winner || strcmp(winner, a->obj_name)) {
			wk_strlcpy(chk->reason, "MigrationPolicyConflict", sizeof(chk->reason));
			snprintf(chk->message, sizeof(chk->message),
				 "MigrationPolicy '%.200s' would take precedence over the per-VM "
				 "options",
				 winner ? winner : "(none)");
			rc = 1;
		} else {
			rc = 0;
		}
		cJSON_Delete(vl);
	}
	wk_k8s_result_release(&res);
	if (rc == 1)
		delete_policy(st, a);
out:
	free(sel);
	cJSON_Delete(vsel);
	cJSON_Delete(ns_labels);
	return rc;
}

/* ---- reporting helpers ---- */

static void finish(struct mig_state *st, struct mig_active *a, enum mig_phase p, const char *action,
		   const char *outcome, const char *reason, const char *msg, struct mig_ack *ack)
{
	a->phase = p;
	mig_queue_remove(&st->queue, a->req.id);
	mig_report(st, a, action, outcome, reason, msg, ack ? ack : a->hold);
	mig_remember_done(st, &a->req, p);
	mig_observe_duration(st, p, a->started_ms, wk_time_now_ms());
	wk_metric_inc(st->m_requests,
		      (const char *const[]){mig_source_name(a->req.source), mig_phase_name(p)}, 1);
	mig_active_free(st, a);
}

/* ---- execution ---- */

/* 0 done (migrating or finished), -1 transient failure (stay queued). */
static int execute(struct mig_state *st, struct mig_active *a, struct mig_facts_buf *given,
		   struct mig_ack *ack)
{
	struct mig_facts_buf own, *fb = given;
	struct mig_check chk;
	struct wk_k8s_result res;
	char err[512], msg[1200];
	cJSON *vmim;
	int rc;

	memset(&chk, 0, sizeof(chk));
	if (!fb) {
		/* Queued for a while: the cluster may have changed. */
		fb = &own;
		if (preflight(st, a, fb, &chk, err, sizeof(err)) < 0) {
			wk_warn("pre-flight of '%s': %s; retrying", a->req.id, err);
			mig_facts_release(fb);
			return -1;
		}
		if (chk.reason[0]) {
			finish(st, a, MIG_PH_REJECTED, "migration.preflight", "rejected",
			       chk.reason, chk.message, ack);
			mig_facts_release(fb);
			return 0;
		}
	}
	if (mig_options_any(&a->req.opt)) {
		rc = ensure_policy(st, a, fb->vmi, &chk, err, sizeof(err));
		if (rc < 0) {
			wk_warn("policy for '%s': %s; retrying", a->req.id, err);
			goto transient;
		}
		if (rc > 0) {
			finish(st, a, MIG_PH_REJECTED, "migration.policy", "rejected", chk.reason,
			       chk.message, ack);
			goto out;
		}
		snprintf(msg, sizeof(msg), "MigrationPolicy '%s' selects VMI '%s/%s' alone",
			 a->obj_name, a->req.ns, a->req.vm);
		{
			mig_send_req_audit(st, &a->req, "migration.policy-created", "success", NULL,
					   msg, a->obj_name, ack ? ack : a->hold);
		}
	}
	vmim = mig_vmim_json(&a->req, a->obj_name, a->req.target_node[0] ? a->hostname : NULL);
	{
		/* What the VMI looks like now, kept on the VMIM for the checks after the move (a
		 * restarted migrator finds it there). */
		cJSON *b = mig_verify_before(fb->vmi),
		      *meta = cJSON_GetObjectItem(vmim, "metadata"),
		      *ann = cJSON_GetObjectItem(meta, "annotations");
		char *bs = cJSON_PrintUnformatted(b);

		if (!ann)
			ann = cJSON_AddObjectToObject(meta, "annotations");
		if (bs && ann)
			cJSON_AddStringToObject(ann, WK_ANN_PRE_MOVE, bs);
		free(bs);
		cJSON_Delete(b);
	}
	rc = wk_k8s_create(st->k8s, &wk_res_virtualmachineinstancemigrations, a->req.ns, vmim, &res,
			   err, sizeof(err));
	cJSON_Delete(vmim);
	if (rc < 0 && res.err != WK_K8S_EALREADYEXISTS) {
		bool t = transient(res.err);

		wk_k8s_result_release(&res);
		if (t) {
			wk_warn("create vmim '%s': %s; retrying", a->obj_name, err);
			goto transient;
		}
		if (mig_options_any(&a->req.opt))
			delete_policy(st, a);
		snprintf(msg, sizeof(msg), "KubeVirt refused the migration: %s", err);
		finish(st, a, MIG_PH_FAILED, "migration.vmim-create", "failure", "MigrationRefused",
		       msg, ack);
		goto out;
	}
	wk_k8s_result_release(&res);
	a->phase = MIG_PH_MIGRATING;
	a->started_ms = wk_time_now_ms();
	wk_strlcpy(a->vmim_phase, "", sizeof(a->vmim_phase));
	mig_active_count(st, a, true);
	wk_metric_observe(st->m_react, NULL, (double)(a->started_ms - a->req.received_ms) / 1000.0);
	if (a->req.target_node[0])
		snprintf(msg, sizeof(msg),
			 "migration '%s' of VMI '%s' created: from node '%s' to node '%s'",
			 a->obj_name, a->req.vm, a->source_node, a->req.target_node);
	else
		snprintf(msg, sizeof(msg),
			 "migration '%s' of VMI '%s' created: from node '%s', the scheduler picks "
			 "the target",
			 a->obj_name, a->req.vm, a->source_node);
	mig_report(st, a, "migration.vmim-created", "success", "MigrationStarted", msg,
		   ack ? ack : a->hold);
	if (a->hold) {
		mig_ack_unref(st, a->hold);
		a->hold = NULL;
	}
out:
	if (fb == &own)
		mig_facts_release(fb);
	return 0;
transient:
	if (fb == &own)
		mig_facts_release(fb);
	return -1;
}

static void send_position(struct mig_state *st, struct mig_active *a)
{
	struct mig_status s;
	char msg[300];
	size_t pos = mig_queue_position(&st->queue, a->req.id);

	if (!pos || pos == a->sent_position)
		return;
	snprintf(msg, sizeof(msg),
		 "waiting for a migration slot: position %zu (limits: %d per cluster, %d "
		 "outbound per node)",
		 pos, st->limits.per_cluster, st->limits.per_node);
	memset(&s, 0, sizeof(s));
	s.req = &a->req;
	s.phase = MIG_PH_QUEUED;
	s.seq = mig_next_seq(st);
	s.source_node = a->source_node;
	s.queue_position = pos;
	s.reason = "Queued";
	s.message = msg;
	mig_send_status(st, a, &s, a->hold);
	a->sent_position = pos;
}

static void update_positions(struct mig_state *st)
{
	size_t i;

	for (i = 0; i < st->queue.n; i++)
		send_position(st, st->queue.e[i].opaque);
}

void mig_pump(struct mig_state *st)
{
	int64_t now = wk_time_mono_ms();
	size_t i;
	bool changed = false;

	for (i = 0; i < st->queue.n;) {
		struct mig_active *a = st->queue.e[i].opaque;
		char msg[200];

		if (st->queue_timeout_ms > 0 && now - a->queued_mono_ms > st->queue_timeout_ms) {
			snprintf(msg, sizeof(msg), "no migration slot within %lld s",
				 st->queue_timeout_ms / 1000);
			finish(st, a, MIG_PH_FAILED, "migration.queue-timeout", "failure",
			       "QueueTimeout", msg, NULL);
			changed = true;
			continue;
		}
		i++;
	}
	for (;;) {
		long idx = mig_tenancy_pick(st); /* fair across tenants, within their caps */
		struct mig_active *a;
		int64_t ts;

		if (idx < 0)
			break;
		a = st->queue.e[idx].opaque;
		ts = st->queue.e[idx].received_ms;
		mig_queue_remove(&st->queue, a->req.id);
		changed = true;
		if (execute(st, a, NULL, NULL) < 0) {
			char key[400];

			snprintf(key, sizeof(key), "%s/%s", a->req.ns, a->req.name);
			mig_queue_push(&st->queue, a->req.id, key, a->source_node, ts, a);
			break;
		}
	}
	if (changed)
		update_positions(st);
}

/* ---- new requests ---- */

static void reject_inflight(struct mig_state *st, struct mig_request *r,
			    const struct mig_active *other, struct mig_ack *ack)
{
	struct mig_status s;
	struct mig_active tmp;
	char msg[700];

	snprintf(msg, sizeof(msg),
		 "request '%s' refused: request '%s' is already %s for this VM; cancel it first",
		 r->id, other->req.id, other->phase == MIG_PH_QUEUED ? "queued" : "migrating");
	memset(&tmp, 0, sizeof(tmp));
	tmp.req = *r;
	tmp.phase = MIG_PH_REJECTED;
	memset(&s, 0, sizeof(s));
	s.req = r;
	s.phase = MIG_PH_REJECTED;
	s.seq = mig_next_seq(st);
	s.reason = "MigrationInFlight";
	s.message = msg;
	s.condition_only = true; /* the running request keeps its migrationStatus */
	s.condition_type = "MigrationRequestRejected";
	mig_send_status(st, &tmp, &s, ack);
	{
		mig_send_req_audit(st, r, "migration.preflight", "rejected", "MigrationInFlight",
				   msg, "inflight", ack);
	}
	mig_remember_done(st, r, MIG_PH_REJECTED);
	wk_metric_inc(st->m_requests, (const char *const[]){mig_source_name(r->source), "Rejected"},
		      1);
}

/* A condition-only status about spec request r (MigrationRequestWaiting, MigrationRequested). */
static void spec_condition(struct mig_state *st, const struct mig_request *r, const char *type,
			   const char *status, const char *reason, const char *msg,
			   struct mig_ack *ack)
{
	struct mig_status s;
	struct mig_active tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.req = *r;
	tmp.phase = MIG_PH_PENDING;
	memset(&s, 0, sizeof(s));
	s.req = r;
	s.phase = MIG_PH_PENDING;
	s.seq = mig_next_seq(st);
	s.reason = reason;
	s.message = msg;
	/* condition only: a migrationStatus.requestId would mark the request handled */
	s.condition_only = true;
	s.condition_type = type;
	s.condition_status = status;
	mig_send_status(st, &tmp, &s, ack);
}

/* spec.migration is declarative: a Wukong created with it (or given it just after) finds its VM
 * still starting. Such a request is not rejected: it waits, with a condition saying so, and is
 * looked at again on the Wukong's next change (its status follows the VM: wukong-provisioner) and
 * on every poll (mig_spec_wait_retry), until the VMI runs or migrator.spec-wait-timeout has passed
 * since it first waited. The wait's start is the condition's lastTransitionTime when the Wukong
 * already shows it for this request (a restarted migrator keeps the clock), else now. A VM that
 * is stopped (spec.running false) or cannot be scheduled is refused at once. True when it waits;
 * *expired when it waited and the time is up. */
static bool spec_waits(struct mig_state *st, struct mig_request *r, const cJSON *wukong,
		       const struct mig_facts_buf *fb, struct mig_check *chk, bool *expired,
		       struct mig_ack *ack)
{
	const cJSON *c;
	int64_t now = wk_time_now_ms(), *since, shown;
	char key[600], msg[900];
	bool fresh = false;

	*expired = false;
	if (r->source != MIG_SRC_SPEC ||
	    (strcmp(chk->reason, "VMINotRunning") && strcmp(chk->reason, "VMINotFound")) ||
	    cJSON_IsFalse(wk_json_path(wukong, "spec.running")) ||
	    (fb->f.vmi && wk_json_path(fb->f.vmi, "metadata.deletionTimestamp")))
		return false;
	cJSON_ArrayForEach(c, wk_json_path(fb->f.vmi, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *rs = wk_json_str(c, "reason");

		if (t && !strcmp(t, "PodScheduled") && rs && !strcmp(rs, "Unschedulable"))
			return false; /* it will not start by itself */
	}
	snprintf(key, sizeof(key), "%s/%s/%s", r->ns, r->name, r->id);
	since = wk_map_get(&st->spec_wait, key);
	shown = mig_spec_wait_since(wukong, r->id);
	if (!since) {
		if (wk_map_count(&st->spec_wait) >= 100000)
			return false;
		since = wk_xmalloc(sizeof(*since));
		*since = shown > 0 && shown <= now ? shown : now;
		wk_map_put(&st->spec_wait, key, since);
		fresh = true;
	}
	if (now - *since >= st->spec_wait_ms) {
		size_t n = strlen(chk->message);

		snprintf(chk->message + n, sizeof(chk->message) - n,
			 " (waited %llds for it to start: migrator.spec-wait-timeout)",
			 (long long)((now - *since) / 1000));
		wk_map_del(&st->spec_wait, key);
		*expired = true;
		return false;
	}
	if (!fresh || shown > 0)
		return true; /* said already (in this process, or on the status before a restart) */
	snprintf(
	    msg, sizeof(msg),
	    "request '%s' waits for its VM to start: %s; retried until it runs, for up to %llds",
	    r->id, chk->message, (long long)(st->spec_wait_ms / 1000));
	spec_condition(st, r, MIG_COND_WAITING, "True", "WaitingForVMI", msg, ack);
	wk_logk(WK_LOG_INFO, key, "%s", msg);
	return true;
}

/* A spec request that waited (in this process, or as the Wukong's status shows) no longer does:
 * MigrationRequestWaiting goes False, with why. */
static void spec_wait_end(struct mig_state *st, const struct mig_request *r, const cJSON *wukong,
			  bool expired, const char *outcome, struct mig_ack *ack)
{
	struct mig_spec_view view;
	char key[600], msg[900];
	bool mem;

	if (r->source != MIG_SRC_SPEC)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s", r->ns, r->name, r->id);
	mem = wk_map_get(&st->spec_wait, key) != NULL;
	wk_map_del(&st->spec_wait, key);
	if (!mem && !expired && (mig_spec_view(wukong, &view) < 0 || !view.waiting_shown))
		return;
	snprintf(msg, sizeof(msg), "request '%s' no longer waits: %s", r->id, outcome);
	spec_condition(st, r, MIG_COND_WAITING, "False", expired ? "WaitTimedOut" : "WaitEnded",
		       msg, ack);
}

/* A request for the conditions about a Wukong's spec.migration, at the event's generation. */
static void spec_cond_request(struct mig_state *st, const cJSON *wukong,
			      const struct mig_spec_view *view, const char *id,
			      struct mig_request *r)
{
	memset(r, 0, sizeof(*r));
	r->source = MIG_SRC_SPEC;
	wk_strlcpy(r->cluster, st->cluster, sizeof(r->cluster));
	wk_strlcpy(r->ns, wk_json_str(wukong, "metadata.namespace"), sizeof(r->ns));
	wk_strlcpy(r->name, wk_json_str(wukong, "metadata.name"), sizeof(r->name));
	wk_strlcpy(r->uid, view->uid, sizeof(r->uid));
	mig_vm_name(wukong, r->vm, sizeof(r->vm));
	r->generation = view->generation;
	wk_strlcpy(r->id, id ? id : "", sizeof(r->id));
}

void mig_spec_presence(struct mig_state *st, const cJSON *wukong, const struct mig_spec_view *view,
		       struct mig_ack *ack)
{
	struct mig_request r;
	struct wk_map_iter it;
	char key[400], pfx[420], marker[64], msg[600], u8[9], h8[9];
	const char *ns = wk_json_str(wukong, "metadata.namespace"),
		   *name = wk_json_str(wukong, "metadata.name"), *mem, *last = NULL;
	int64_t g = 0;

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	mem = (const char *)wk_map_get(&st->last_spec, key);
	if (view->present) {
		/* Set again after a removal: the status no longer says it is removed. */
		if (view->removed_generation > 0 && view->generation > view->removed_generation) {
			spec_cond_request(st, wukong, view, NULL, &r);
			snprintf(msg, sizeof(msg), "spec.migration set at generation %lld",
				 (long long)view->generation);
			spec_condition(st, &r, MIG_COND_REQUESTED, "True", "SpecMigrationSet", msg,
				       ack);
		}
		return;
	}
	/* Removed. A wait ends; the last request handled stops counting, so that setting the
	 * same spec.migration again is a new request (declarative: it moves the VM again if it is
	 * elsewhere by then). */
	snprintf(pfx, sizeof(pfx), "%s/", key);
	wk_map_iter_init(&it, &st->spec_wait);
	while (wk_map_iter_next(&it))
		if (!strncmp(it.key, pfx, strlen(pfx)) && !strchr(it.key + strlen(pfx), '/'))
			wk_map_del(&st->spec_wait, it.key);
	if (view->waiting_shown) {
		spec_cond_request(st, wukong, view, NULL, &r);
		spec_condition(st, &r, MIG_COND_WAITING, "False", "WaitEnded",
			       "spec.migration was removed: nothing waits", ack);
	}
	if (mig_spec_removed_parse(mem) > 0)
		return; /* seen already */
	if (mem && mig_spec_request_parse(mem, u8, &g, h8) == 0)
		last = mem;
	else if (mig_spec_request_parse(view->status_request, u8, &g, h8) == 0 &&
		 g >= view->removed_generation)
		last = view->status_request;
	if (!last || g >= view->generation)
		return;
	mig_spec_removed_marker(view->generation, marker, sizeof(marker));
	mig_last_spec_put(st, key, marker);
	spec_cond_request(st, wukong, view, last, &r);
	snprintf(msg, sizeof(msg),
		 "spec.migration was removed at generation %lld (last request '%s'): setting it "
		 "again asks for a new migration, to the same target too",
		 (long long)view->generation, last);
	spec_condition(st, &r, MIG_COND_REQUESTED, "False", MIG_REASON_REMOVED, msg, ack);
	wk_logk(WK_LOG_INFO, key, "%s", msg);
}

void mig_spec_wait_retry(struct mig_state *st)
{
	struct wk_map_iter it;
	char(*keys)[600];
	size_t n = 0, i, cap = wk_map_count(&st->spec_wait);

	if (!cap)
		return;
	if (cap > 64)
		cap = 64; /* a pass's share; the rest on the next polls */
	keys = wk_xcalloc(cap, sizeof(*keys));
	wk_map_iter_init(&it, &st->spec_wait);
	while (n < cap && wk_map_iter_next(&it))
		wk_strlcpy(keys[n++], it.key, sizeof(keys[0]));
	for (i = 0; i < n; i++) {
		struct wk_k8s_result res;
		struct mig_request r;
		struct mig_verdict v;
		char err[512], *name, *id;
		char *ns = keys[i];

		name = strchr(ns, '/');
		id = name ? strchr(name + 1, '/') : NULL;
		if (!id) {
			wk_map_del(&st->spec_wait, keys[i]);
			continue;
		}
		*name++ = '\0';
		*id++ = '\0';
		if (wk_k8s_get(st->k8s, &wk_res_wukongs, ns, name, &res, err, sizeof(err)) < 0) {
			enum wk_k8s_err e = res.err;

			wk_k8s_result_release(&res);
			name[-1] = id[-1] = '/';
			if (!transient(e))
				wk_map_del(&st->spec_wait, keys[i]);
			continue;
		}
		if (mig_request_from_spec(res.body, st->cluster, &r, &v) < 0 || strcmp(r.id, id)) {
			/* removed or changed: that event is handled on its own */
			name[-1] = id[-1] = '/';
			wk_map_del(&st->spec_wait, keys[i]);
		} else {
			r.received_ms = wk_time_now_ms();
			mig_handle_request(st, &r, res.body, NULL);
		}
		wk_k8s_result_release(&res);
	}
	free(keys);
}

/* After a restart: the requests the Wukongs' status shows waiting wait on, from that clock. */
static void spec_wait_recover(struct mig_state *st)
{
	struct wk_k8s_result res;
	char err[512];
	const cJSON *it;

	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_warn("cannot list Wukongs for waiting spec.migration requests: %s (each is "
			"looked at again on its Wukong's next change)",
			err);
		wk_k8s_result_release(&res);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		struct mig_request r;
		struct mig_verdict v;
		char key[600];
		int64_t since, *p;

		if (mig_request_from_spec(it, st->cluster, &r, &v) < 0)
			continue;
		since = mig_spec_wait_since(it, r.id);
		snprintf(key, sizeof(key), "%s/%s/%s", r.ns, r.name, r.id);
		if (since <= 0 || wk_map_get(&st->spec_wait, key) ||
		    wk_map_count(&st->spec_wait) >= 100000)
			continue;
		p = wk_xmalloc(sizeof(*p));
		*p = since;
		wk_map_put(&st->spec_wait, key, p);
	}
	wk_k8s_result_release(&res);
}

/* The newest spec request of ours recorded on a VMIM of this Wukong ("" if none). */
static int newest_spec_vmim(struct mig_state *st, const struct mig_request *r, char *out, size_t n)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400], err[512];
	const cJSON *it;
	int64_t best = -1;

	out[0] = '\0';
	if (strlen(r->name) > 63)
		return 0;
	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), "%s=%s,%s=%s", MIG_LABEL_MANAGED, MIG_MANAGED_VALUE,
		 WK_LABEL_WUKONG, r->name);
	lo.label_selector = sel;
	if (wk_k8s_list(st->k8s, &wk_res_virtualmachineinstancemigrations, r->ns, &lo, &res, err,
			sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		return transient(e) ? -1 : 0;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    wk_json_path(it, "metadata.labels"), WK_LABEL_REQUEST_ID));
		char u8[9], h8[9];
		int64_t g;

		if (id && mig_spec_request_parse(id, u8, &g, h8) == 0 && g > best) {
			best = g;
			wk_strlcpy(out, id, n);
		}
	}
	wk_k8s_result_release(&res);
	return 0;
}

enum wk_msg_result mig_handle_request(struct mig_state *st, struct mig_request *r,
				      const cJSON *wukong, struct mig_ack *ack)
{
	struct mig_active *a, *other;
	struct wk_k8s_result res;
	struct mig_facts_buf fb;
	struct mig_check chk;
	char err[512], key[400], msg[1200];
	bool expired = false;
	const char *sreq = wk_json_str(wukong, "status.migrationStatus.requestId");
	const char *sph = wk_json_str(wukong, "status.migrationStatus.phase");

	snprintf(key, sizeof(key), "%s/%s", r->ns, r->name);
	if (wk_json_str(wukong, "metadata.uid"))
		wk_strlcpy(r->uid, wk_json_str(wukong, "metadata.uid"), sizeof(r->uid));
	if ((a = mig_active_by_id(st, r->id)) != NULL || mig_is_done(st, r) ||
	    (sreq && !strcmp(sreq, r->id) && sph &&
	     (!strcmp(sph, "Succeeded") || !strcmp(sph, "Failed") || !strcmp(sph, "Cancelled") ||
	      !strcmp(sph, "Rejected")))) {
		wk_logk(WK_LOG_DEBUG, key, "request '%s' already handled", r->id);
		return WK_MSG_DONE;
	}
	if (r->source == MIG_SRC_SPEC && !(const char *)wk_map_get(&st->last_spec, key)) {
		char last[MIG_ID_MAX];
		struct mig_spec_view view;

		if (newest_spec_vmim(st, r, last, sizeof(last)) < 0)
			return WK_MSG_RETRY;
		if (mig_spec_view(wukong, &view) < 0)
			memset(&view, 0, sizeof(view));
		view.present = true;
		wk_strlcpy(view.hash, r->spec_hash, sizeof(view.hash));
		view.generation = r->generation;
		wk_strlcpy(view.uid, r->uid, sizeof(view.uid));
		view.status_request[0] = '\0'; /* judged by the caller; here only the VMIM counts */
		/* a VMIM of a request from before a removal of spec.migration does not count */
		if (last[0] && !mig_spec_due(&view, last)) {
			mig_last_spec_put(st, key, last);
			return WK_MSG_DONE;
		}
	}
	a = active_new(r);
	/* Created before a crash? Then the VMIM is the truth: adopt it. */
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstancemigrations, r->ns, a->obj_name, &res,
		       err, sizeof(err)) == 0) {
		char name[sizeof(a->obj_name)];

		wk_k8s_result_release(&res);
		wk_strlcpy(name, a->obj_name, sizeof(name));
		free(a);
		remember_spec(st, r);
		return mig_vmim_changed(st, r->ns, name, ack);
	}
	if (res.err != WK_K8S_ENOTFOUND) {
		wk_k8s_result_release(&res);
		free(a);
		wk_logk(WK_LOG_WARN, key, "cannot read vmim: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	wk_k8s_result_release(&res);
	other = mig_active_by_wukong(st, r->ns, r->name);
	if (other && other->phase == MIG_PH_QUEUED && r->source == MIG_SRC_SPEC &&
	    other->req.source == MIG_SRC_SPEC) {
		snprintf(msg, sizeof(msg), "superseded by a newer spec.migration (request '%s')",
			 r->id);
		finish(st, other, MIG_PH_CANCELLED, "migration.superseded", "cancelled",
		       "Superseded", msg, ack);
		other = NULL;
	}
	if (other) {
		reject_inflight(st, r, other, ack);
		remember_spec(st, r);
		free(a);
		return WK_MSG_DONE;
	}
	if (preflight(st, a, &fb, &chk, err, sizeof(err)) < 0) {
		wk_logk(WK_LOG_WARN, key, "pre-flight look-ups failed: %s; retrying", err);
		mig_facts_release(&fb);
		free(a);
		return WK_MSG_RETRY;
	}
	if (chk.reason[0]) {
		/* A cold move of this request under way before a restart: the VM is stopped or
		 * on the target, which the pre-flight refuses; the cold tick carries it on. */
		int own = mig_cold_owns(st, r, wukong);

		if (own != 0) {
			mig_facts_release(&fb);
			free(a);
			if (own < 0)
				return WK_MSG_RETRY;
			remember_spec(st, r);
			mig_remember_done(st, r, MIG_PH_MIGRATING);
			return WK_MSG_DONE;
		}
	}
	if (chk.reason[0] && r->source == MIG_SRC_SPEC &&
	    !strcmp(chk.reason, "TargetIsSourceNode")) {
		/* Declarative: the VM is where spec.migration asks for it. Nothing is created. */
		snprintf(msg, sizeof(msg),
			 "VMI '%s/%s' already runs on node '%s', the target of spec.migration: "
			 "nothing to move",
			 r->ns, r->vm, r->target_node);
		spec_wait_end(st, r, wukong, false, "the VM already runs on the target", ack);
		remember_spec(st, r);
		active_link(st, a);
		finish(st, a, MIG_PH_SUCCEEDED, "migration.already-on-target", "success",
		       "AlreadyOnTarget", msg, ack);
		mig_facts_release(&fb);
		return WK_MSG_DONE;
	}
	if (chk.reason[0] && spec_waits(st, r, wukong, &fb, &chk, &expired, ack)) {
		mig_facts_release(&fb);
		free(a);
		return WK_MSG_DONE;
	}
	if (chk.reason[0])
		snprintf(msg, sizeof(msg), "%s: %s", chk.reason, chk.message);
	else
		snprintf(msg, sizeof(msg), "its VM runs: the migration goes ahead");
	spec_wait_end(st, r, wukong, expired, msg, ack);
	if (chk.reason[0] && mig_cold_applicable(chk.reason) &&
	    mig_cold_consent_missing(r, wukong, &chk)) {
		/* The submitter asked to stop the VM; its owner did not allow it: refused with
		 * the fields to set (chk now says so), nothing is patched. */
	} else if (chk.reason[0] && mig_cold_applicable(chk.reason) &&
		   mig_cold_allowed(r, wukong)) {
		/* Cannot live-migrate, the owner allows stop-and-start (mig_cold.c). */
		remember_spec(st, r);
		mig_remember_done(st, r, MIG_PH_MIGRATING);
		mig_cold_start(st, r, wukong, &fb.f, chk.reason, ack);
		mig_facts_release(&fb);
		free(a);
		return WK_MSG_DONE;
	}
	remember_spec(st, r);
	active_link(st, a);
	if (chk.reason[0]) {
		finish(st, a, MIG_PH_REJECTED, "migration.preflight", "rejected", chk.reason,
		       chk.message, ack);
		mig_facts_release(&fb);
		return WK_MSG_DONE;
	}
	{
		snprintf(msg, sizeof(msg), "pre-flight checks passed for VMI '%s/%s' on node '%s'",
			 r->ns, r->vm, a->source_node);
		mig_send_req_audit(st, r, "migration.preflight", "success", NULL, msg, "ok", ack);
	}
	a->queued_mono_ms = wk_time_mono_ms();
	if (mig_tenancy_may_start(st, r->tenant) &&
	    mig_load_admits(&st->load, &st->limits, a->source_node)) {
		if (execute(st, a, &fb, ack) == 0) {
			mig_facts_release(&fb);
			return WK_MSG_DONE;
		}
		/* A transient failure: let the queue retry it on the next tick. */
	}
	mig_facts_release(&fb);
	if (st->queue.n >= (size_t)st->queue_max) {
		finish(st, a, MIG_PH_REJECTED, "migration.queue", "rejected", "QueueFull",
		       "the migration queue is full (migrator.queue-max)", ack);
		return WK_MSG_DONE;
	}
	mig_queue_push(&st->queue, r->id, key, a->source_node, r->received_ms, a);
	a->phase = MIG_PH_QUEUED;
	/* The request's message stays unacknowledged while it waits: after a crash it is
	 * delivered again and the queue entry comes back. */
	a->hold = mig_ack_ref(ack);
	snprintf(msg, sizeof(msg),
		 "waiting for a migration slot: position %zu (limits: %d per cluster, %d outbound "
		 "per node)",
		 mig_queue_position(&st->queue, r->id), st->limits.per_cluster,
		 st->limits.per_node);
	mig_report(st, a, "migration.queued", "pending", "Queued", msg, ack);
	update_positions(st);
	return WK_MSG_DONE;
}

/* ---- tracking ---- */

/* KubeVirt's failureReason as a CamelCase reason (the text itself goes in the message). */
static const char *classify_failure(const char *f)
{
	if (!f || !*f)
		return "MigrationFailed";
	if (strcasestr(f, "stuck") || strcasestr(f, "progress"))
		return "ProgressTimeout"; /* no progress: the VM dirties memory too fast */
	if (strcasestr(f, "not completed after") || strcasestr(f, "completion"))
		return "CompletionTimeout";
	if (strcasestr(f, "schedul"))
		return "TargetPodUnschedulable";
	if (strcasestr(f, "aborted"))
		return "Aborted";
	if (strcasestr(f, "target pod"))
		return "TargetPodFailed";
	return "MigrationFailed";
}

/* How long a Succeeded VMIM may go without saying where the VM went (upstream copies the VMI's
 * migrationState into it one reconcile after the phase) before the VMI's node is taken. */
#define STATE_WAIT_MS 30000

static void finalize(struct mig_state *st, struct mig_active *a, const cJSON *vmim,
		     struct mig_ack *ack)
{
	struct wk_k8s_result res, evs;
	struct wk_k8s_list_opts lo;
	struct mig_outcome_in in;
	struct mig_outcome out;
	cJSON *vmi = NULL;
	char err[512];
	const char *phase = wk_json_str(vmim, "status.phase");
	const cJSON *ms;

	wk_k8s_result_init(&res);
	wk_k8s_result_init(&evs);
	/* The VMI: its migrationState counts only when its migrationUid is this VMIM's
	 * (mig_outcome_state); the previous migration's state stays on it until a new one is
	 * handed over. */
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, a->req.ns, a->req.vm, &res, err,
		       sizeof(err)) == 0)
		vmi = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	ms = mig_outcome_state(vmim, vmi);
	if (!wk_json_str(ms, "failureReason") && phase && !strcmp(phase, "Failed")) {
		/* A failure before hand-over has no failureReason anywhere: the Events about the
		 * VMIM and its target pod say why. */
		memset(&lo, 0, sizeof(lo));
		lo.limit = 500;
		/* No field selector: the launcher pod's Events count too (decide filters). */
		if (wk_k8s_list(st->k8s, &wk_res_events, a->req.ns, &lo, &evs, err, sizeof(err)) <
		    0)
			wk_logk(WK_LOG_WARN, a->req.name, "cannot read the migration's Events: %s",
				err);
	}
	memset(&in, 0, sizeof(in));
	in.vmim = vmim;
	in.vmi = vmi;
	in.events = wk_json_path(evs.body, "items");
	in.vm = a->req.vm;
	in.source_node = a->source_node;
	in.requested = a->req.target_node;
	in.kv_version = wk_kubevirt_version_str(&st->kv);
	in.cancel_requested = a->cancel_requested;
	in.cancel_id = a->cancel_id;
	mig_outcome(&in, &out);
	wk_k8s_result_release(&evs);
	if (out.need_state) {
		/* Said on the next event or poll, once the state is there; past the wait, a
		 * Succeeded without a known target is not reported as a success. */
		if (!a->final_seen_mono_ms)
			a->final_seen_mono_ms = wk_time_mono_ms();
		if (wk_time_mono_ms() - a->final_seen_mono_ms < STATE_WAIT_MS) {
			cJSON_Delete(vmi);
			return;
		}
	}
	if (out.target[0] && !a->req.target_node[0])
		wk_strlcpy(a->req.target_node, out.target, sizeof(a->req.target_node));
	if (a->deadline_hit && out.phase != MIG_PH_SUCCEEDED) {
		/* Cancelled by the deadline, not by a user. */
		out.phase = MIG_PH_FAILED;
		wk_strlcpy(out.reason, "MigrationDeadlineExceeded", sizeof(out.reason));
		snprintf(out.message, sizeof(out.message),
			 "migration '%s' did not end within %lld s (migrator.migration-deadline, "
			 "default: KubeVirt's 900 s pending timeout + twice its completion timeout "
			 "+ 300 s): cancelled; the VM stays on node '%s'",
			 a->obj_name, (long long)((a->deadline_ms - a->started_ms) / 1000),
			 a->source_node);
	}
	if (out.mode[0])
		wk_strlcpy(a->mode, out.mode, sizeof(a->mode));
	if (mig_options_any(&a->req.opt))
		delete_policy(st, a);
	if (out.phase == MIG_PH_SUCCEEDED) {
		/* The checks after the move, on the status as a condition of their own. */
		cJSON *before = cJSON_Parse(wk_json_meta(vmim, "annotations", WK_ANN_PRE_MOVE)
						? wk_json_meta(vmim, "annotations", WK_ANN_PRE_MOVE)
						: "null");
		/* Said before the final status, which stays the last word on the request. */
		mig_send_verified(st, &a->req, before, vmi,
				  a->req.target_node[0] ? a->req.target_node : out.target);
		cJSON_Delete(before);
		finish(st, a, MIG_PH_SUCCEEDED, "migration.succeeded", "success", "Succeeded",
		       out.message, ack);
	} else if (out.phase == MIG_PH_CANCELLED) {
		finish(st, a, MIG_PH_CANCELLED, "migration.cancelled", "cancelled", out.reason,
		       out.message, ack);
	} else {
		finish(st, a, MIG_PH_FAILED, "migration.failed", "failure",
		       out.reason[0] ? out.reason
				     : classify_failure(wk_json_str(ms, "failureReason")),
		       out.message, ack);
	}
	cJSON_Delete(vmi);
}

static void vmim_update(struct mig_state *st, struct mig_active *a, const cJSON *vmim,
			struct mig_ack *ack)
{
	const char *ph = wk_json_str(vmim, "status.phase");
	char msg[600];
	int64_t now = wk_time_now_ms();

	if (wk_json_path(vmim, "metadata.deletionTimestamp"))
		a->cancel_requested = true;
	if (mig_vmim_phase_final(ph)) {
		finalize(st, a, vmim, ack);
		return;
	}
	if (!ph)
		ph = "";
	if (a->started_ms && !a->deadline_ms) {
		int64_t per_gib = a->req.opt.completion_timeout_per_gib > 0
				      ? a->req.opt.completion_timeout_per_gib
				      : st->kv.migrations.completion_timeout_per_gib;

		a->deadline_ms = a->started_ms +
				 mig_live_deadline_ms(a->mem, per_gib, st->migration_deadline_ms);
	}
	if (a->deadline_ms && now > a->deadline_ms && !a->deadline_hit) {
		/* KubeVirt has not ended it (a controller down, a stuck target): cancel it. */
		struct wk_k8s_result res;
		char err[512];

		if (wk_k8s_delete(st->k8s, &wk_res_virtualmachineinstancemigrations, a->req.ns,
				  a->obj_name, NULL, &res, err, sizeof(err)) < 0 &&
		    res.err != WK_K8S_ENOTFOUND) {
			wk_k8s_result_release(&res);
			wk_logk(WK_LOG_WARN, a->req.name, "deadline: delete vmim '%s': %s",
				a->obj_name, err);
			return;
		}
		wk_k8s_result_release(&res);
		a->deadline_hit = true;
		a->cancel_requested = true;
		snprintf(msg, sizeof(msg),
			 "migration '%s' still in phase %s after %lld s (the migrator's deadline, "
			 "migrator.migration-deadline): cancelled, waiting for KubeVirt",
			 a->obj_name, *ph ? ph : "(unset)",
			 (long long)((now - a->started_ms) / 1000));
		mig_report(st, a, "migration.deadline", "pending", "MigrationDeadlineExceeded", msg,
			   ack);
		return;
	}
	if (a->deadline_hit && now > a->deadline_ms + 300000) {
		/* Deleted but never final: KubeVirt is not handling it. */
		snprintf(msg, sizeof(msg),
			 "migration '%s' did not end within %lld s and did not end 300 s after the "
			 "migrator cancelled it (phase %s): KubeVirt's virt-controller is not "
			 "handling it; check it and the VMIM (its finalizer)",
			 a->obj_name, (long long)((a->deadline_ms - a->started_ms) / 1000),
			 *ph ? ph : "(unset)");
		finish(st, a, MIG_PH_FAILED, "migration.failed", "failure",
		       "MigrationDeadlineExceeded", msg, ack);
		return;
	}
	if (!strcmp(ph, a->vmim_phase))
		return;
	wk_strlcpy(a->vmim_phase, ph, sizeof(a->vmim_phase));
	snprintf(msg, sizeof(msg), "migration '%s' is in phase %s%s", a->obj_name,
		 *ph ? ph : "(unset)", a->cancel_requested ? " (cancel requested)" : "");
	mig_report(st, a, "migration.phase", "info", *ph ? ph : "Created", msg, ack);
}

static void adopt_fill(struct mig_state *st, struct mig_active *a, const cJSON *vmim)
{
	struct wk_k8s_result res;
	char err[512];
	int64_t t;

	a->phase = MIG_PH_MIGRATING;
	if (wk_time_parse_ms(wk_json_str(vmim, "metadata.creationTimestamp")
				 ? wk_json_str(vmim, "metadata.creationTimestamp")
				 : "",
			     &t) == 0)
		a->started_ms = t;
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, a->req.ns, a->req.vm, &res, err,
		       sizeof(err)) == 0) {
		const char *n = wk_json_str(res.body, "status.migrationState.sourceNode");

		if (!n || !*n)
			n = wk_json_str(res.body, "status.nodeName");
		if (n)
			wk_strlcpy(a->source_node, n, sizeof(a->source_node));
		mig_vmi_resources(res.body, &st->kv, &a->mem, &a->cpu_milli);
	}
	wk_k8s_result_release(&res);
	if (a->req.target_node[0])
		wk_strlcpy(a->hostname, a->req.target_node, sizeof(a->hostname));
}

static bool wukong_shows_final(struct mig_state *st, const struct mig_request *r, const cJSON *vmim,
			       bool *transient_err)
{
	struct wk_k8s_result res;
	char err[512];
	bool fin = false;

	*transient_err = false;
	if (wk_k8s_get(st->k8s, &wk_res_wukongs, r->ns, r->name, &res, err, sizeof(err)) == 0) {
		const char *id = wk_json_str(res.body, "status.migrationStatus.requestId");
		const char *ph = wk_json_str(res.body, "status.migrationStatus.phase");

		fin = id && !strcmp(id, r->id) && ph &&
		      (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed") ||
		       !strcmp(ph, "Cancelled") || !strcmp(ph, "Rejected"));
		/* or a later request of the same Wukong is shown: this one is history */
		fin = fin || mig_outcome_superseded(res.body, r->id, vmim);
	} else if (res.err == WK_K8S_ENOTFOUND) {
		fin = true; /* nobody left to tell */
	} else {
		*transient_err = transient(res.err);
	}
	wk_k8s_result_release(&res);
	return fin;
}

enum wk_msg_result mig_vmim_changed(struct mig_state *st, const char *ns, const char *name,
				    struct mig_ack *ack)
{
	struct wk_k8s_result res;
	struct mig_active *a;
	struct mig_request r;
	char err[512], msg[400];
	const char *id;

	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstancemigrations, ns, name, &res, err,
		       sizeof(err)) < 0) {
		enum wk_k8s_err e = res.err;

		wk_k8s_result_release(&res);
		if (e != WK_K8S_ENOTFOUND)
			return transient(e) ? WK_MSG_RETRY : WK_MSG_DONE;
		for (a = st->active; a; a = a->next)
			if (!strcmp(a->req.ns, ns) && !strcmp(a->obj_name, name) &&
			    a->phase == MIG_PH_MIGRATING)
				break;
		if (a) {
			/* The finalizer is gone: KubeVirt's verdict survives on the VMI, whose
			 * migrationState describes the last migration. */
			struct wk_k8s_result vr;
			const cJSON *ms = NULL;

			if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, a->req.ns,
				       a->req.vm, &vr, err, sizeof(err)) == 0)
				ms = wk_json_path(vr.body, "status.migrationState");
			if (cJSON_IsObject(ms) &&
			    (cJSON_IsTrue(wk_json_path(ms, "completed")) ||
			     cJSON_IsTrue(wk_json_path(ms, "failed"))) &&
			    (!a->req.target_node[0] || !wk_json_str(ms, "targetNode") ||
			     !strcmp(wk_json_str(ms, "targetNode"), a->req.target_node))) {
				cJSON *fake = cJSON_CreateObject(), *fst;

				fst = cJSON_AddObjectToObject(fake, "status");
				cJSON_AddStringToObject(fst, "phase",
							cJSON_IsTrue(wk_json_path(ms, "failed"))
							    ? "Failed"
							    : "Succeeded");
				cJSON_AddItemToObject(fst, "migrationState",
						      cJSON_Duplicate(ms, true));
				finalize(st, a, fake, ack);
				cJSON_Delete(fake);
				wk_k8s_result_release(&vr);
				return WK_MSG_DONE;
			}
			wk_k8s_result_release(&vr);
			snprintf(msg, sizeof(msg),
				 "migration '%s' was deleted before it reported a final phase",
				 name);
			if (mig_options_any(&a->req.opt))
				delete_policy(st, a);
			finish(st, a, a->cancel_requested ? MIG_PH_CANCELLED : MIG_PH_FAILED,
			       a->cancel_requested ? "migration.cancelled" : "migration.failed",
			       a->cancel_requested ? "cancelled" : "failure", "MigrationDeleted",
			       msg, ack);
		}
		return WK_MSG_DONE;
	}
	id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    wk_json_path(res.body, "metadata.labels"), WK_LABEL_REQUEST_ID));
	a = id ? mig_active_by_id(st, id) : NULL;
	if (a && a->phase == MIG_PH_QUEUED) {
		/* Cannot happen unless someone else created it under our name: adopt it. */
		mig_queue_remove(&st->queue, a->req.id);
		if (a->hold) {
			mig_ack_unref(st, a->hold);
			a->hold = NULL;
		}
		adopt_fill(st, a, res.body);
		mig_active_count(st, a, true);
	}
	if (!a) {
		const char *ann = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    wk_json_path(res.body, "metadata.annotations"), WK_ANN_MIGRATION_REQUEST));
		bool terr = false;

		if (!ann || mig_request_from_json(ann, &r) < 0 || strcmp(r.ns, ns)) {
			wk_k8s_result_release(&res);
			return WK_MSG_DONE;
		}
		if (mig_vmim_phase_final(wk_json_str(res.body, "status.phase"))) {
			if (mig_is_done(st, &r) || wukong_shows_final(st, &r, res.body, &terr)) {
				if (!terr)
					mig_remember_done(st, &r, MIG_PH_SUCCEEDED);
				else {
					wk_k8s_result_release(&res);
					return WK_MSG_RETRY;
				}
				if (mig_options_any(&r.opt)) {
					struct mig_active tmp;

					memset(&tmp, 0, sizeof(tmp));
					tmp.req = r;
					mig_object_name(&r, tmp.obj_name, sizeof(tmp.obj_name));
					delete_policy(st, &tmp);
				}
				wk_k8s_result_release(&res);
				return WK_MSG_DONE;
			}
			if (terr) {
				wk_k8s_result_release(&res);
				return WK_MSG_RETRY;
			}
		}
		a = active_new(&r);
		adopt_fill(st, a, res.body);
		active_link(st, a);
		mig_active_count(st, a, true);
		remember_spec(st, &r);
		wk_info("adopted migration '%s/%s' (request '%s')", ns, name, r.id);
	}
	vmim_update(st, a, res.body, ack);
	wk_k8s_result_release(&res);
	return WK_MSG_DONE;
}

void mig_vmi_changed(struct mig_state *st, const cJSON *status, const char *ns, const char *vm,
		     struct mig_ack *ack)
{
	struct mig_active *a = mig_active_by_vm(st, ns, vm);
	const char *mode;
	char msg[300];

	if (!a || a->phase != MIG_PH_MIGRATING)
		return;
	mode = wk_json_str(status, "migrationState.mode");
	if (!mode || !*mode || !strcmp(mode, a->mode))
		return;
	wk_strlcpy(a->mode, mode, sizeof(a->mode));
	snprintf(msg, sizeof(msg), "migration '%s' runs in mode %s", a->obj_name, mode);
	mig_report(st, a, "migration.mode", "info", mode, msg, ack);
}

void mig_wukong_deleted(struct mig_state *st, const char *ns, const char *name, struct mig_ack *ack)
{
	struct mig_active *a = mig_active_by_wukong(st, ns, name);
	char key[400];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	wk_map_del(&st->last_spec, key);
	if (a && a->phase == MIG_PH_QUEUED)
		finish(st, a, MIG_PH_CANCELLED, "migration.cancelled", "cancelled", "WukongDeleted",
		       "the Wukong was deleted while the migration was queued", ack);
}

enum wk_msg_result mig_handle_cancel(struct mig_state *st, const struct mig_cancel *c,
				     struct mig_ack *ack)
{
	struct mig_active *a = mig_active_by_wukong(st, c->ns, c->name);
	struct wk_k8s_result res;
	char err[512], msg[600];

	if (a && c->target_request[0] && strcmp(a->req.id, c->target_request))
		a = NULL;
	if (!a) {
		struct mig_audit au;

		snprintf(msg, sizeof(msg),
			 "cancel '%s': no migration%s%s is queued or running for "
			 "wukong '%s/%s'",
			 c->id, c->target_request[0] ? " with request id " : "", c->target_request,
			 c->ns, c->name);
		memset(&au, 0, sizeof(au));
		au.cluster = st->cluster;
		au.ns = c->ns;
		au.name = c->name;
		au.request_id = c->id;
		au.action = "migration.cancel";
		au.outcome = "rejected";
		au.reason = "NoMigrationInFlight";
		au.message = msg;
		mig_send_audit(st, &au, "none", ack);
		return WK_MSG_DONE;
	}
	if (a->phase == MIG_PH_QUEUED) {
		snprintf(msg, sizeof(msg), "cancelled by request '%s' while queued", c->id);
		wk_strlcpy(a->cancel_id, c->id, sizeof(a->cancel_id));
		finish(st, a, MIG_PH_CANCELLED, "migration.cancelled", "cancelled", "Cancelled",
		       msg, ack);
		mig_pump(st);
		return WK_MSG_DONE;
	}
	if (a->cancel_requested)
		return WK_MSG_DONE;
	if (wk_k8s_delete(st->k8s, &wk_res_virtualmachineinstancemigrations, a->req.ns, a->obj_name,
			  NULL, &res, err, sizeof(err)) < 0 &&
	    res.err != WK_K8S_ENOTFOUND) {
		bool t = transient(res.err);

		wk_k8s_result_release(&res);
		wk_warn("cancel '%s': delete vmim '%s': %s", c->id, a->obj_name, err);
		return t ? WK_MSG_RETRY : WK_MSG_DONE;
	}
	wk_k8s_result_release(&res);
	a->cancel_requested = true;
	wk_strlcpy(a->cancel_id, c->id, sizeof(a->cancel_id));
	snprintf(msg, sizeof(msg),
		 "cancel requested by '%s': migration '%s' deleted, waiting for KubeVirt's "
		 "abortStatus",
		 c->id, a->obj_name);
	mig_report(st, a, "migration.cancel-requested", "pending", "CancelRequested", msg, ack);
	return WK_MSG_DONE;
}

/* ---- polling and resync ---- */

struct name_pair {
	char ns[64], name[96];
};

void mig_poll(struct mig_state *st)
{
	struct mig_active *a;
	struct name_pair *v;
	size_t n = 0, i;

	for (a = st->active; a; a = a->next)
		n += a->phase == MIG_PH_MIGRATING;
	if (!n)
		return;
	/* Events normally drive tracking; polling covers a watcher that is down or slow. Copy
	 * the names first: tracking may free the entries. */
	v = wk_xcalloc(n, sizeof(*v));
	n = 0;
	for (a = st->active; a; a = a->next) {
		if (a->phase != MIG_PH_MIGRATING)
			continue;
		wk_strlcpy(v[n].ns, a->req.ns, sizeof(v[n].ns));
		wk_strlcpy(v[n].name, a->obj_name, sizeof(v[n].name));
		n++;
	}
	for (i = 0; i < n; i++)
		mig_vmim_changed(st, v[i].ns, v[i].name, NULL);
	free(v);
}

static bool in_list(const cJSON *items, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		const char *n = wk_json_str(it, "metadata.name");

		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

void mig_resync(struct mig_state *st)
{
	struct wk_k8s_result res, pols;
	struct wk_k8s_list_opts lo;
	char err[512], sel[128];
	const cJSON *it;
	struct name_pair *pending_names = NULL;
	size_t npending_names = 0, i;
	int foreign = 0;
	int64_t now = wk_time_now_ms();

	/* Our policies first: a final VMIM whose policy is still there was not finished. */
	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), "%s=%s", MIG_LABEL_MANAGED, MIG_MANAGED_VALUE);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &wk_res_migrationpolicies, NULL, &lo, &pols, err,
			    sizeof(err)) < 0) {
		wk_warn("resync: %s", err);
		wk_k8s_result_release(&pols);
		return;
	}
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstancemigrations, NULL, NULL, &res,
			    err, sizeof(err)) < 0) {
		wk_warn("resync: %s", err);
		wk_k8s_result_release(&res);
		wk_k8s_result_release(&pols);
		return;
	}
	pending_names = wk_xcalloc((size_t)cJSON_GetArraySize(wk_json_path(res.body, "items")) + 1,
				   sizeof(*pending_names));
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *mgr = wk_json_meta(it, "labels", MIG_LABEL_MANAGED),
			   *id = wk_json_meta(it, "labels", WK_LABEL_REQUEST_ID);
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *name = wk_json_str(it, "metadata.name");
		bool final = mig_vmim_phase_final(wk_json_str(it, "status.phase"));

		if (!mgr || strcmp(mgr, MIG_MANAGED_VALUE)) {
			foreign += !final;
			continue;
		}
		if (!id || !ns || !name || mig_active_by_id(st, id))
			continue;
		/* Ours and not tracked: in flight (adopt it); or final and possibly unfinished:
		 * at start every one (the outcome may not have reached the Wukong), later only
		 * those whose policy is still there. */
		if (final && st->rebuilt && !in_list(wk_json_path(pols.body, "items"), name))
			continue;
		if (final) {
			struct mig_request r;
			const char *wk = wk_json_meta(it, "labels", WK_LABEL_WUKONG);

			memset(&r, 0, sizeof(r));
			wk_strlcpy(r.ns, ns, sizeof(r.ns));
			wk_strlcpy(r.name, wk ? wk : "", sizeof(r.name));
			wk_strlcpy(r.id, id, sizeof(r.id));
			if (wk && mig_is_done(st, &r) &&
			    !in_list(wk_json_path(pols.body, "items"), name))
				continue;
		}
		wk_strlcpy(pending_names[npending_names].ns, ns,
			   sizeof(pending_names[npending_names].ns));
		wk_strlcpy(pending_names[npending_names].name, name,
			   sizeof(pending_names[npending_names].name));
		npending_names++;
	}
	wk_k8s_result_release(&res);
	st->load.total += foreign - st->foreign;
	if (st->load.total < 0)
		st->load.total = 0;
	st->foreign = foreign;
	for (i = 0; i < npending_names; i++)
		mig_vmim_changed(st, pending_names[i].ns, pending_names[i].name, NULL);
	free(pending_names);
	st->rebuilt = true;
	/* Policies of ours whose migration is gone: a crash between creating the policy and
	 * the VMIM, or a delete that failed. The request's message is still unacknowledged in
	 * the first case, so give its replay time before collecting. */
	cJSON_ArrayForEach(it, wk_json_path(pols.body, "items"))
	{
		const char *name = wk_json_str(it, "metadata.name"),
			   *id = wk_json_meta(it, "labels", WK_LABEL_REQUEST_ID);
		const char *ns = wk_json_meta(it, "labels", WK_LABEL_NAMESPACE);
		struct wk_k8s_result vr, dr;
		int64_t created = 0;
		bool orphan = false;

		if (!name || !id || !ns || mig_active_by_id(st, id))
			continue;
		wk_time_parse_ms(wk_json_str(it, "metadata.creationTimestamp")
				     ? wk_json_str(it, "metadata.creationTimestamp")
				     : "",
				 &created);
		if (now - created < 120000)
			continue;
		if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstancemigrations, ns, name, &vr,
			       err, sizeof(err)) == 0)
			orphan = mig_vmim_phase_final(wk_json_str(vr.body, "status.phase"));
		else
			orphan = vr.err == WK_K8S_ENOTFOUND;
		wk_k8s_result_release(&vr);
		if (!orphan)
			continue;
		wk_info("deleting orphaned migrationpolicy '%s'", name);
		if (wk_k8s_delete(st->k8s, &wk_res_migrationpolicies, NULL, name, NULL, &dr, err,
				  sizeof(err)) < 0 &&
		    dr.err != WK_K8S_ENOTFOUND)
			wk_warn("delete migrationpolicy '%s': %s", name, err);
		wk_k8s_result_release(&dr);
	}
	wk_k8s_result_release(&pols);
}

int mig_rebuild(struct mig_state *st, char *errstr, size_t errstr_size)
{
	(void)errstr;
	(void)errstr_size;
	/* The cluster is the state: every non-final VMIM of ours becomes an active migration
	 * again (its slot counted), final ones whose outcome may not have reached the Wukong are
	 * reported again (idempotent), and the queue comes back from the replay of the
	 * unacknowledged requests. */
	mig_resync(st);
	spec_wait_recover(st);
	return 0;
}
