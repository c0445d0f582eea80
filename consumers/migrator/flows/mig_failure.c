/* mig_failure.c - spec.migrationPolicy's nodeFailure trigger (mig_failure.h): a node that is not
 * Ready is never a migration source; for each policy-enabled VM on it the migrator says, once per
 * (node, VM, VMI, reason), whether and why it is or is not recovered, steers KubeVirt's one
 * restart of a shared-storage VM onto a node its policy allows, and reports where it came back
 * (docs/evacuation.md).
 */
#include "flows/mig_failure.h"
#include "flows/mig_live.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "decide/mig_drain.h"

#include "wk_json.h"
#include "wk_log.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>

#define LABEL_NODE "kubevirt.io/nodeName"
#define LABEL_HOSTNAME "kubernetes.io/hostname"
/* Default for migrator.recovery-timeout-seconds: a VM that is not running again this long after
 * it went down (or after its follow-up move started) has failed to recover. */
#define RECOVERY_TIMEOUT_S 300

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* ---- reporting ---- */

void mig_failure_forget(struct mig_state *st)
{
	if (st->failure.sent_init)
		wk_map_release(&st->failure.sent);
	st->failure.sent_init = false;
}

/* The audit action and outcome of each reason. */
static void reason_action(const char *reason, const char **action, const char **outcome)
{
	static const struct {
		const char *reason, *action, *outcome;
	} t[] = {
	    {"NodeNotFenced", "recovery.not-fenced", "rejected"},
	    {"LocalStorage", "recovery.local-storage", "rejected"},
	    {"RecoveringOnHealthyNode", "recovery.restart", "info"},
	    {"NoEligibleNode", "recovery.restart", "info"},
	    {"MovingToEligibleNode", "recovery.move", "info"},
	    {"NodeRecovered", "recovery.cancelled", "info"},
	    {"RecoveredOnHealthyNode", "recovery.completed", "success"},
	    {"RecoveredOnIneligibleNode", "recovery.completed", "failure"},
	    {"RecoveryFailed", "recovery.completed", "failure"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(reason, t[i].reason)) {
			*action = t[i].action;
			*outcome = t[i].outcome;
			return;
		}
	*action = "recovery.restart";
	*outcome = "info";
}

/* Condition AutomaticRecovery + audit record, once per (node, VM, VMI, reason); a resend after a
 * restart reuses the ids. */
static void failure_report(struct mig_state *st, const char *ns, const char *wukong, const char *vm,
			   const char *node, const char *vmi_uid, const char *reason,
			   const char *message, struct mig_ack *ack)
{
	struct mig_request r;
	struct mig_status s;
	char key[900], hex[17];
	const char *action, *outcome;

	if (!ns || !wukong)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s/%s/%s", node, ns, wukong, vmi_uid ? vmi_uid : "",
		 reason);
	if (!st->failure.sent_init) {
		wk_map_init(&st->failure.sent, free);
		st->failure.sent_init = true;
	}
	if ((const char *)wk_map_get(&st->failure.sent, key))
		return;
	if (wk_map_count(&st->failure.sent) >
	    10000) { /* bounded: a resend is harmless (same audit id) */
		wk_map_release(&st->failure.sent);
		wk_map_init(&st->failure.sent, free);
	}
	wk_map_put(&st->failure.sent, key, wk_xstrdup("1"));
	memset(&r, 0, sizeof(r));
	mig_sha256_hex(key, strlen(key), 16, hex);
	snprintf(r.id, sizeof(r.id), "nf-%s", hex);
	r.source = MIG_SRC_KAFKA;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, wukong, sizeof(r.name));
	wk_strlcpy(r.vm, vm ? vm : "", sizeof(r.vm));
	reason_action(reason, &action, &outcome);
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = !strcmp(outcome, "success")	? MIG_PH_SUCCEEDED
		  : !strcmp(outcome, "failure") ? MIG_PH_FAILED
		  : !strcmp(outcome, "info")	? MIG_PH_MIGRATING
						: MIG_PH_REJECTED;
	s.seq = mig_next_seq(st);
	s.reason = reason;
	s.message = message;
	s.condition_only = true;
	s.condition_type = "AutomaticRecovery";
	mig_send_status(st, NULL, &s, ack);
	mig_send_req_audit(st, &r, action, outcome, reason, message, node, ack);
	mig_post_event(st, &r, NULL,
		       strcmp(outcome, "success") && strcmp(outcome, "info") ? "Warning" : "Normal",
		       reason, message, action);
	wk_logk(strcmp(outcome, "success") && strcmp(outcome, "info") ? WK_LOG_WARN : WK_LOG_INFO,
		key, "%s: %s", reason, message);
}

/* ---- the VM's marks ---- */

static int patch_vm(struct mig_state *st, const char *ns, const char *vm, cJSON *p)
{
	struct wk_k8s_result res;
	char err[512], *body = cJSON_PrintUnformatted(p);
	int rc;

	if (!body)
		abort();
	rc = wk_k8s_patch(st->k8s, &wk_res_virtualmachines, ns, vm, NULL, WK_K8S_PATCH_MERGE, body,
			  &res, err, sizeof(err));
	if (rc < 0)
		wk_logk(WK_LOG_WARN, vm, "node failure recovery: patch failed: %s", err);
	wk_k8s_result_release(&res);
	free(body);
	return rc;
}

/* A merge patch: the template's nodeSelector pinned to s's target (pin), or restored to the VM's
 * own (restore; only when s is pinned), and the state written (or, state NULL, removed). */
static cJSON *marks_patch(const struct mig_failure_state *s, bool pin, bool restore,
			  const struct mig_failure_state *state)
{
	cJSON *p = NULL, *meta;

	if ((pin || restore) && s->pin.target[0]) {
		char *sel = mig_cold_selector_patch(&s->pin, pin);

		p = cJSON_Parse(sel);
		free(sel);
	}
	if (!p)
		p = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(p, "metadata");
	if (state) {
		char *j = mig_failure_state_json(state);

		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"),
					WK_LABEL_FAILURE_RECOVERY, state->pin.request);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
					WK_ANN_FAILURE_RECOVERY, j);
		free(j);
	} else {
		cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");

		cJSON_AddNullToObject(cJSON_AddObjectToObject(meta, "labels"),
				      WK_LABEL_FAILURE_RECOVERY);
		cJSON_AddNullToObject(ann, WK_ANN_FAILURE_RECOVERY);
		if (s->vmi_uid[0])
			cJSON_AddStringToObject(ann, WK_ANN_RECOVERED_FROM_VMI, s->vmi_uid);
	}
	return p;
}

static int write_marks(struct mig_state *st, const char *ns, const char *vm,
		       const struct mig_failure_state *s, bool pin, bool restore,
		       const struct mig_failure_state *state)
{
	cJSON *p = marks_patch(s, pin, restore, state);
	int rc = patch_vm(st, ns, vm, p);

	cJSON_Delete(p);
	return rc;
}

/* Nodes and every VMI, looked up once per Node event or tick when a target must be chosen. */
struct capacity {
	bool loaded;
	cJSON *nodes, *vmis;
	struct mig_failure_node *t;
	size_t n;
};

static int capacity_load(struct mig_state *st, struct capacity *c)
{
	struct wk_k8s_result res;
	char err[512];

	if (c->loaded)
		return 0;
	if (wk_k8s_list_all(st->k8s, &wk_res_nodes, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		wk_warn("node failure: %s", err);
		return -1;
	}
	c->nodes = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, NULL, &res, err,
			    sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		cJSON_Delete(c->nodes);
		c->nodes = NULL;
		wk_warn("node failure: %s", err);
		return -1;
	}
	c->vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	c->t = mig_failure_capacity(c->nodes, c->vmis, &c->n);
	c->loaded = true;
	return 0;
}

static void capacity_release(struct capacity *c)
{
	free(c->t);
	cJSON_Delete(c->nodes);
	cJSON_Delete(c->vmis);
	memset(c, 0, sizeof(*c));
}

/* Choose a node for the VM (the table is charged with it); "" and why when none. */
static void choose(struct capacity *c, const char *source, const struct wk_selector *target,
		   const cJSON *own, int64_t mem, int64_t cpu, char *node, char *hostname, size_t n,
		   char *why, size_t why_size)
{
	long j = mig_failure_pick(c->t, c->n, source, target, own, mem, cpu, why, why_size);
	const char *h;

	node[0] = hostname[0] = '\0';
	if (j < 0)
		return;
	c->t[j].free_mem -= mem;
	c->t[j].free_cpu_milli -= cpu;
	h = wk_json_meta(c->t[j].obj, "labels", LABEL_HOSTNAME);
	wk_strlcpy(node, c->t[j].name, n);
	wk_strlcpy(hostname, h ? h : c->t[j].name, n);
}

/* Is the pinned target still usable for the VM (eligible, and room)? */
static bool target_usable(const struct capacity *c, const struct mig_failure_state *s,
			  const struct wk_selector *target, int64_t mem, int64_t cpu)
{
	char why[64];

	for (size_t j = 0; j < c->n; j++)
		if (!strcmp(c->t[j].name, s->pin.target))
			return mig_node_eligible(c->t[j].obj, s->node, target, s->pin.node_selector,
						 why, sizeof(why)) &&
			       c->t[j].free_mem >= mem && c->t[j].free_cpu_milli >= cpu;
	return false;
}

/* Mark (and pin) a policy-enabled shared-storage VM whose VMI is on the failed node, or, when
 * it is marked already, re-choose a target that is no longer usable once the node is fenced
 * and record since when the VM is down. target says where the template is pinned ("" = none,
 * why says why). 1: not steered (no VM, a cold migration holds it, an earlier recovery still
 * runs), 0: done, -1: the cluster could not be read or written (retry). */
static int failure_mark(struct mig_state *st, struct capacity *cap, const char *wukong,
			const cJSON *vmi, const char *node, bool fenced, bool local,
			const struct mig_policy *pol, int64_t down_since_ms, char *target,
			size_t tn, char *why, size_t wn)
{
	const char *ns = wk_json_str(vmi, "metadata.namespace"),
		   *vm = wk_json_str(vmi, "metadata.name"), *uid = wk_json_str(vmi, "metadata.uid");
	struct wk_k8s_result res;
	struct mig_failure_state s, old;
	char err[512];
	int64_t mem, cpu, now = wk_time_now_ms();
	int rc = 0;
	bool had;

	target[0] = why[0] = '\0';
	if (!ns || !vm || !uid)
		return 1;
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachines, ns, vm, &res, err, sizeof(err)) < 0) {
		rc = res.err == WK_K8S_ENOTFOUND ? 1 : -1;
		wk_k8s_result_release(&res);
		return rc;
	}
	if (wk_json_meta(res.body, "labels", WK_LABEL_COLD_MIGRATION_REQUEST)) {
		wk_k8s_result_release(&res);
		snprintf(why, wn, "a cold migration holds the VM's placement");
		return 1;
	}
	mig_vmi_resources(vmi, &st->kv, &mem, &cpu);
	had = wk_json_meta(res.body, "labels", WK_LABEL_FAILURE_RECOVERY) &&
	      mig_failure_state_parse(
		  wk_json_meta(res.body, "annotations", WK_ANN_FAILURE_RECOVERY), &old) == 0;
	if (had && strcmp(old.vmi_uid, uid)) {
		mig_failure_state_release(&old);
		wk_k8s_result_release(&res);
		snprintf(why, wn, "an earlier recovery of this VM is still under way");
		return 1;
	}
	if (had && (!fenced || old.local)) {
		wk_strlcpy(target, old.pin.target, tn);
		mig_failure_state_release(&old);
		wk_k8s_result_release(&res);
		return 0;
	}
	if (local && !had) {
		/* Only reported (the tick does it if this event is missed): nothing to pin. */
		memset(&s, 0, sizeof(s));
		mig_failure_recovery_id(node, ns, vm, uid, s.pin.request, sizeof(s.pin.request));
		wk_strlcpy(s.pin.wukong, wukong, sizeof(s.pin.wukong));
		wk_strlcpy(s.node, node, sizeof(s.node));
		wk_strlcpy(s.vmi_uid, uid, sizeof(s.vmi_uid));
		s.pin.started_ms = now;
		s.local = true;
		rc = write_marks(st, ns, vm, &s, false, false, &s);
		st->failure.maybe = true;
		wk_k8s_result_release(&res);
		return rc < 0 ? -1 : 1;
	}
	if (capacity_load(st, cap) < 0) {
		if (had)
			mig_failure_state_release(&old);
		wk_k8s_result_release(&res);
		return -1;
	}
	if (had) {
		/* Fenced now: the restart is imminent. Keep a target that is still usable. */
		bool keep = old.pin.target[0] && target_usable(cap, &old, pol->target, mem, cpu);

		s = old;
		s.pin.node_selector = cJSON_Duplicate(old.pin.node_selector, true);
		if (!keep)
			choose(cap, node, pol->target, old.pin.node_selector, mem, cpu,
			       s.pin.target, s.pin.hostname, sizeof(s.pin.target), why, wn);
		if (!s.pin.stopped_ms)
			s.pin.stopped_ms = now;
		if (keep && old.pin.stopped_ms)
			rc = 0; /* nothing changed */
		else if (s.pin.target[0])
			rc = write_marks(st, ns, vm, &s, true, false, &s);
		else
			rc = write_marks(st, ns, vm, &old, false, true, &s);
	} else {
		const cJSON *own = wk_json_path(res.body, "spec.template.spec.nodeSelector");

		memset(&s, 0, sizeof(s));
		mig_failure_recovery_id(node, ns, vm, uid, s.pin.request, sizeof(s.pin.request));
		wk_strlcpy(s.pin.wukong, wukong, sizeof(s.pin.wukong));
		wk_strlcpy(s.node, node, sizeof(s.node));
		wk_strlcpy(s.vmi_uid, uid, sizeof(s.vmi_uid));
		if (cJSON_IsObject(own))
			s.pin.node_selector = cJSON_Duplicate(own, true);
		s.pin.started_ms = down_since_ms > 0 ? down_since_ms : now;
		s.pin.stopped_ms = fenced ? s.pin.started_ms : 0;
		choose(cap, node, pol->target, s.pin.node_selector, mem, cpu, s.pin.target,
		       s.pin.hostname, sizeof(s.pin.target), why, wn);
		rc = write_marks(st, ns, vm, &s, s.pin.target[0] != '\0', false, &s);
		st->failure.maybe = true;
		if (rc == 0)
			wk_logk(WK_LOG_INFO, vm,
				"node '%s' not ready: VM pinned to node '%s' for a restart (%s)",
				node, s.pin.target[0] ? s.pin.target : "(none)",
				why[0] ? why : "eligible");
	}
	wk_strlcpy(target, s.pin.target, tn);
	if (had)
		mig_failure_state_release(&old);
	mig_failure_state_release(&s);
	wk_k8s_result_release(&res);
	return rc;
}

static bool node_fenced(struct mig_state *st, const cJSON *node, char *why, size_t n)
{
	const char *extra = mig_cfg(st, "migrator.fencing-taints", NULL);
	const cJSON *t;

	cJSON_ArrayForEach(t, wk_json_path(node, "spec.taints"))
	{
		const char *k = wk_json_str(t, "key");

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

/* The VMI's disks cannot move (KubeVirt's verdict: LiveMigratable=False because of disks). */
static bool vmi_local_storage(const cJSON *vmi, char *msg, size_t n)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(vmi, "status.conditions"))
	{
		const char *ty = wk_json_str(c, "type"), *stt = wk_json_str(c, "status"),
			   *r = wk_json_str(c, "reason");

		if (ty && !strcmp(ty, "LiveMigratable") && stt && !strcmp(stt, "False") && r &&
		    !strcmp(r, "DisksNotLiveMigratable")) {
			snprintf(msg, n, "%s",
				 wk_json_str(c, "message") ? wk_json_str(c, "message") : r);
			return true;
		}
	}
	return false;
}

/* What a fenced node means for a marked shared-storage VM pinned to target ("" = none, twhy
 * says why). Returns the reason. */
static const char *fenced_message(char *msg, size_t n, const char *node, const char *why,
				  const char *target, const char *twhy)
{
	if (target[0]) {
		snprintf(msg, n,
			 "node '%s' is confirmed down (%s): the VM's disks are shared, KubeVirt "
			 "restarts it, on node '%s' (it satisfies targetNodeSelector and the VM's "
			 "nodeSelector, is ready, schedulable and has room)",
			 node, why, target);
		return "RecoveringOnHealthyNode";
	}
	snprintf(msg, n,
		 "node '%s' is confirmed down (%s): the VM's disks are shared, but no node "
		 "satisfies targetNodeSelector, the VM's nodeSelector, readiness, schedulability "
		 "and capacity (%s): KubeVirt restarts it where the VM's own nodeSelector allows; "
		 "if a node qualifies once it runs, the migrator moves it there live",
		 node, why, twhy && twhy[0] ? twhy : "none");
	return "NoEligibleNode";
}

/* The node is not Ready. Shared-storage VMs are marked and pinned to an eligible node at once (a
 * template change does not touch the running VMI; it only decides where the next one starts).
 * Without fencing nothing is recovered (a second copy could write to a shared disk the first may
 * still be writing); with it, KubeVirt fails the VMIs and restarts the VMs, on the pinned nodes,
 * and local-storage VMs cannot be recovered. */
enum wk_msg_result mig_failure_node_event(struct mig_state *st, const cJSON *body, const char *node,
					  struct mig_ack *ack)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	struct capacity cap;
	char sel[400], err[512], why[256], msg[1400];
	cJSON *vmis, *wukongs;
	const cJSON *it, *w;
	bool fenced = node_fenced(st, body, why, sizeof(why));
	enum wk_msg_result out = WK_MSG_DONE;

	memset(&lo, 0, sizeof(lo));
	memset(&cap, 0, sizeof(cap));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineinstances, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		wk_logk(WK_LOG_WARN, node, "node failure: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (cJSON_GetArraySize(wk_json_path(vmis, "items")) == 0) {
		cJSON_Delete(vmis);
		return WK_MSG_DONE;
	}
	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		cJSON_Delete(vmis);
		return WK_MSG_RETRY;
	}
	wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	cJSON_ArrayForEach(it, wk_json_path(vmis, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *vm = wk_json_str(it, "metadata.name"),
			   *uid = wk_json_str(it, "metadata.uid"), *wname, *reason;
		struct mig_policy pol;
		char perr[128], disk[600], target[MIG_NAME_MAX], twhy[128];
		bool local;
		int mrc;

		if (!ns || !vm)
			continue;
		w = mig_wukong_of_vm(wukongs, ns, vm);
		wname = wk_json_str(w, "metadata.name");
		if (!w || !wname || mig_policy_read(w, &pol, perr, sizeof(perr)) < 0) {
			if (w)
				mig_policy_release(&pol);
			continue;
		}
		if (!pol.enabled || !(pol.triggers & MIG_TRIG_FAILURE)) {
			mig_policy_release(&pol);
			continue;
		}
		local = vmi_local_storage(it, disk, sizeof(disk));
		mrc = failure_mark(st, &cap, wname, it, node, fenced, local, &pol, 0, target,
				   sizeof(target), twhy, sizeof(twhy));
		mig_policy_release(&pol);
		if (mrc < 0) {
			out = WK_MSG_RETRY; /* the message is replayed: reports are deduplicated */
			continue;
		}
		if (!fenced) {
			reason = "NodeNotFenced";
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is not ready but not confirmed down (no "
			    "node.kubernetes.io/out-of-service taint or fencing signal): not "
			    "recovering, a second copy could write to the VM's disks while the "
			    "first may still be running",
			    node);
		} else if (local) {
			reason = "LocalStorage";
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is confirmed down (%s) but the VM's disks are on storage "
			    "that cannot leave the node (%.400s): it cannot be recovered "
			    "automatically; repair the node or restore from a snapshot",
			    node, why, disk);
		} else if (mrc == 0) {
			reason = fenced_message(msg, sizeof(msg), node, why, target, twhy);
		} else {
			reason = "RecoveringOnHealthyNode";
			snprintf(msg, sizeof(msg),
				 "node '%s' is confirmed down (%s): the VM's disks are shared, "
				 "KubeVirt restarts it on a healthy node (not steered: %s)",
				 node, why, twhy[0] ? twhy : "the VM was not found");
		}
		failure_report(st, ns, wname, vm, node, uid, reason, msg, ack);
	}
	capacity_release(&cap);
	cJSON_Delete(vmis);
	cJSON_Delete(wukongs);
	return out;
}

enum wk_msg_result mig_failure_vmi_event(struct mig_state *st, const cJSON *body, int64_t ts,
					 struct mig_ack *ack)
{
	const cJSON *status = wk_json_path(body, "status"), *w;
	const char *ns = wk_json_str(body, "namespace"), *name = wk_json_str(body, "name"),
		   *uid = wk_json_str(body, "uid"), *phase = wk_json_str(status, "phase"),
		   *node = wk_json_str(status, "nodeName"), *wname;
	struct wk_k8s_result res;
	struct capacity cap;
	struct mig_policy pol;
	char err[512], why[256], perr[128], disk[600], target[MIG_NAME_MAX], twhy[128], msg[900];
	char key[600];
	cJSON *nodeobj = NULL, *wukongs = NULL, *vmi = NULL, *meta;
	bool local;
	int mrc;
	enum wk_msg_result out = WK_MSG_DONE;

	if (!ns || !name || !uid || !node || !*node || !streq(phase, "Failed"))
		return WK_MSG_DONE;
	/* Once per failed VMI in this process (its Failed and its deletion both come by). */
	snprintf(key, sizeof(key), "vmi-failed/%s/%s/%s", ns, name, uid);
	if (!st->failure.sent_init) {
		wk_map_init(&st->failure.sent, free);
		st->failure.sent_init = true;
	}
	if ((const char *)wk_map_get(&st->failure.sent, key))
		return WK_MSG_DONE;
	if (wk_k8s_get(st->k8s, &wk_res_nodes, NULL, node, &res, err, sizeof(err)) < 0) {
		out = res.err == WK_K8S_ENOTFOUND ? WK_MSG_DONE : WK_MSG_RETRY;
		wk_k8s_result_release(&res);
		return out;
	}
	nodeobj = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	/* A VMI fails for many reasons; only a fenced node that is down is ours to follow. */
	if (mig_node_ready(nodeobj) || !node_fenced(st, nodeobj, why, sizeof(why)))
		goto done;
	/* Marked already (the migrator is following this failure: the Node event came first), or
	 * its last recovery was from this very VMI (a replayed event). */
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachines, ns, name, &res, err, sizeof(err)) < 0) {
		out = res.err == WK_K8S_ENOTFOUND ? WK_MSG_DONE : WK_MSG_RETRY;
		wk_k8s_result_release(&res);
		goto done;
	}
	if (wk_json_meta(res.body, "labels", WK_LABEL_FAILURE_RECOVERY) ||
	    streq(wk_json_meta(res.body, "annotations", WK_ANN_RECOVERED_FROM_VMI), uid)) {
		wk_k8s_result_release(&res);
		wk_map_put(&st->failure.sent, key, wk_xstrdup("1"));
		goto done;
	}
	wk_k8s_result_release(&res);
	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, ns, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		out = WK_MSG_RETRY;
		goto done;
	}
	wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	w = mig_wukong_of_vm(wukongs, ns, name);
	wname = wk_json_str(w, "metadata.name");
	if (!w || !wname || mig_policy_read(w, &pol, perr, sizeof(perr)) < 0) {
		if (w)
			mig_policy_release(&pol);
		goto done;
	}
	if (!pol.enabled || !(pol.triggers & MIG_TRIG_FAILURE)) {
		mig_policy_release(&pol);
		wk_map_put(&st->failure.sent, key, wk_xstrdup("1"));
		goto done;
	}
	/* The migrator did not see this failure (it was not running): mark the VM now from the
	 * failed VMI, as at the Node event; the tick then finds where KubeVirt restarted it and
	 * moves it to a node the policy allows (or reports it). */
	vmi = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(vmi, "metadata");
	cJSON_AddStringToObject(meta, "namespace", ns);
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "uid", uid);
	if (wk_json_path(body, "labels"))
		cJSON_AddItemToObject(meta, "labels",
				      cJSON_Duplicate(wk_json_path(body, "labels"), true));
	if (wk_json_path(body, "spec"))
		cJSON_AddItemToObject(vmi, "spec",
				      cJSON_Duplicate(wk_json_path(body, "spec"), true));
	cJSON_AddItemToObject(vmi, "status", cJSON_Duplicate(status, true));
	memset(&cap, 0, sizeof(cap));
	local = vmi_local_storage(vmi, disk, sizeof(disk));
	mrc = failure_mark(st, &cap, wname, vmi, node, true, local, &pol, ts, target,
			   sizeof(target), twhy, sizeof(twhy));
	mig_policy_release(&pol);
	capacity_release(&cap);
	if (mrc < 0) {
		out = WK_MSG_RETRY;
		goto done;
	}
	wk_map_put(&st->failure.sent, key, wk_xstrdup("1"));
	if (mrc == 0 && !local) {
		snprintf(msg, sizeof(msg),
			 "node '%s' was confirmed down (%s) while the migrator was not running; "
			 "KubeVirt restarts the VM: checking that it runs on a node "
			 "targetNodeSelector allows",
			 node, why);
		failure_report(st, ns, wname, name, node, uid, "RecoveringOnHealthyNode", msg, ack);
	}
done:
	cJSON_Delete(vmi);
	cJSON_Delete(wukongs);
	cJSON_Delete(nodeobj);
	return out;
}

/* ---- the tick: verify, restore, move, report ---- */

static void submit_move(struct mig_state *st, const struct mig_failure_state *s, const char *ns,
			const char *vm, const cJSON *wukong)
{
	struct mig_request r;

	memset(&r, 0, sizeof(r));
	wk_strlcpy(r.id, s->move_id, sizeof(r.id));
	r.source = MIG_SRC_KAFKA;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, s->pin.wukong, sizeof(r.name));
	wk_strlcpy(r.vm, vm, sizeof(r.vm));
	wk_strlcpy(r.target_node, s->move_to, sizeof(r.target_node));
	snprintf(r.note, sizeof(r.note),
		 "nodeFailure recovery (%s): KubeVirt restarted the VM on node '%s', outside "
		 "targetNodeSelector",
		 s->pin.request, s->moved_from);
	mig_options_init(&r.opt);
	r.received_ms = s->move_ms;
	/* Idempotent: an active or finished request with this id is left alone, a VMIM left by a
	 * crash is adopted. */
	mig_handle_request(st, &r, wukong, NULL);
}

static int64_t recovery_timeout_ms(struct mig_state *st)
{
	return (int64_t)(mig_cfg_num(st, "migrator.recovery-timeout-seconds", RECOVERY_TIMEOUT_S,
				     false) *
			 1000.0);
}

/* The restart landed outside the rules: move it live to an eligible node, or say it stays. */
static void misplaced(struct mig_state *st, struct mig_failure_state *s, const char *ns,
		      const char *vm, const cJSON *vmi, const cJSON *wukong,
		      const struct mig_policy *pol, const char *on, double down)
{
	struct capacity cap;
	struct mig_failure_state n;
	char to[MIG_NAME_MAX], host[MIG_NAME_MAX], why[64], msg[900];
	int64_t mem, cpu;

	memset(&cap, 0, sizeof(cap));
	if (capacity_load(st, &cap) < 0)
		return;
	mig_vmi_resources(vmi, &st->kv, &mem, &cpu);
	choose(&cap, on, pol->target, s->pin.node_selector, mem, cpu, to, host, sizeof(to), why,
	       sizeof(why));
	capacity_release(&cap);
	if (!to[0]) {
		snprintf(
		    msg, sizeof(msg),
		    "recovered on node '%s' after node '%s' failed, down for about %.0f s, but "
		    "'%s' does not satisfy targetNodeSelector and the VM's nodeSelector, and "
		    "no node that does is ready, schedulable and has room (%s): it stays there",
		    on, s->node, down, on, why);
		failure_report(st, ns, s->pin.wukong, vm, s->node, s->vmi_uid,
			       "RecoveredOnIneligibleNode", msg, NULL);
		write_marks(st, ns, vm, s, false, true, NULL);
		return;
	}
	n = *s;
	n.pin.node_selector = s->pin.node_selector;
	snprintf(n.move_id, sizeof(n.move_id), "%.40s-move", s->pin.request);
	wk_strlcpy(n.move_to, to, sizeof(n.move_to));
	wk_strlcpy(n.moved_from, on, sizeof(n.moved_from));
	n.move_ms = wk_time_now_ms();
	n.pin.target[0] = n.pin.hostname[0] = '\0'; /* restored by this very patch */
	/* State first: a crash after it resubmits the same move id, never a second one. */
	if (write_marks(st, ns, vm, s, false, true, &n) < 0)
		return;
	snprintf(msg, sizeof(msg),
		 "KubeVirt restarted the VM on node '%s' (down for about %.0f s after node '%s' "
		 "failed), which does not satisfy targetNodeSelector and the VM's nodeSelector: "
		 "moving it live to node '%s' (request '%s')",
		 on, down, s->node, to, n.move_id);
	failure_report(st, ns, s->pin.wukong, vm, s->node, s->vmi_uid, "MovingToEligibleNode", msg,
		       NULL);
	submit_move(st, &n, ns, vm, wukong);
}

static void failure_step(struct mig_state *st, const cJSON *vmobj)
{
	const char *ns = wk_json_str(vmobj, "metadata.namespace"),
		   *vm = wk_json_str(vmobj, "metadata.name");
	struct mig_failure_state s;
	struct mig_failure_view v;
	struct mig_policy pol;
	struct wk_k8s_result wr, vr, nr, tr;
	char err[512], msg[1300], perr[128], fwhy[256] = "", note[300];
	bool have_vmi, wants, fenced = false, node_clock = false;
	enum mig_failure_action act;
	double down;

	if (!ns || !vm)
		return;
	if (mig_failure_state_parse(wk_json_meta(vmobj, "annotations", WK_ANN_FAILURE_RECOVERY),
				    &s) < 0) {
		cJSON *p = cJSON_Parse("{\"metadata\":{\"labels\":{\"" WK_LABEL_FAILURE_RECOVERY
				       "\":null}}}");

		wk_logk(WK_LOG_WARN, vm, "node failure recovery: unreadable state: dropped");
		patch_vm(st, ns, vm, p);
		cJSON_Delete(p);
		return;
	}
	memset(&wr, 0, sizeof(wr));
	memset(&vr, 0, sizeof(vr));
	memset(&nr, 0, sizeof(nr));
	memset(&tr, 0, sizeof(tr));
	memset(&pol, 0, sizeof(pol));
	if (wk_k8s_get(st->k8s, &wk_res_wukongs, ns, s.pin.wukong, &wr, err, sizeof(err)) < 0) {
		if (wr.err == WK_K8S_ENOTFOUND)
			write_marks(st, ns, vm, &s, false, true, NULL);
		goto out;
	}
	wants = mig_policy_read(wr.body, &pol, perr, sizeof(perr)) == 0 && pol.enabled &&
		(pol.triggers & MIG_TRIG_FAILURE);
	if (!wants) {
		/* The owner turned the policy off: its rules are back, nothing more is done. */
		wk_logk(WK_LOG_INFO, vm, "node failure recovery: policy no longer enabled");
		write_marks(st, ns, vm, &s, false, true, NULL);
		goto out;
	}
	have_vmi = wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, ns, vm, &vr, err,
			      sizeof(err)) == 0;
	if (!have_vmi && vr.err != WK_K8S_ENOTFOUND)
		goto out;
	memset(&v, 0, sizeof(v));
	v.vmi_exists = have_vmi;
	v.vmi_uid = have_vmi ? wk_json_str(vr.body, "metadata.uid") : NULL;
	v.vmi_phase = have_vmi ? wk_json_str(vr.body, "status.phase") : NULL;
	v.vmi_node = have_vmi ? wk_json_str(vr.body, "status.nodeName") : NULL;
	v.vmi_deleting = have_vmi && wk_json_path(vr.body, "metadata.deletionTimestamp");
	v.now_ms = wk_time_now_ms();
	v.timeout_ms = recovery_timeout_ms(st);
	if (wk_k8s_get(st->k8s, &wk_res_nodes, NULL, s.node, &nr, err, sizeof(err)) == 0) {
		v.node_ready = mig_node_ready(nr.body);
		fenced = node_fenced(st, nr.body, fwhy, sizeof(fwhy));
	} else if (nr.err != WK_K8S_ENOTFOUND) {
		goto out;
	}
	if (v.vmi_node && strcmp(v.vmi_node, s.node) && !streq(v.vmi_uid, s.vmi_uid) &&
	    wk_k8s_get(st->k8s, &wk_res_nodes, NULL, v.vmi_node, &tr, err, sizeof(err)) == 0)
		v.vmi_node_matches =
		    mig_failure_node_matches(tr.body, pol.target, s.pin.node_selector);
	if (s.move_id[0] &&
	    streq(wk_json_str(wr.body, "status.migrationStatus.requestId"), s.move_id))
		v.move_phase = wk_json_str(wr.body, "status.migrationStatus.phase");
	act = mig_failure_decide(&s, &v);
	down = (double)(v.now_ms - s.pin.stopped_ms) / 1000.0;
	{
		/* On the cluster's clock when it tells: from the node's Ready condition leaving
		 * True (the node controller's transition) to the new VMI's Ready=True. */
		int64_t nd = mig_cold_cond_time(nr.body, "Ready", "Unknown"), up;

		if (!nd)
			nd = mig_cold_cond_time(nr.body, "Ready", "False");
		up = have_vmi ? mig_cold_cond_time(vr.body, "Ready", "True") : 0;
		if (nd > 0 && up >= nd && up - nd <= (int64_t)MIG_DOWNTIME_MAX_S * 1000 &&
		    !v.node_ready) {
			down = (double)(up - nd) / 1000.0;
			node_clock = true;
		}
	}
	/* The restore of the template's nodeSelector reaches a running VMI under vmRolloutStrategy
	 * LiveUpdate, which KubeVirt refuses while it migrates: wait for the migration's end. */
	if ((act == MIG_FA_RECOVERED || act == MIG_FA_MOVE_FAILED) && have_vmi &&
	    st->kv.rollout == WK_KV_ROLLOUT_LIVE_UPDATE && mig_vmi_migrating(vr.body))
		act = MIG_FA_WAIT;
	mig_rollout_note(&st->kv, note, sizeof(note));
	if (s.local && act != MIG_FA_NODE_BACK) {
		/* Nothing to steer: say it cannot be recovered once the node is fenced or KubeVirt
		 * gave the VMI up (also when the Node event was missed), and stop watching. */
		if (!fenced && act == MIG_FA_WAIT)
			goto out;
		snprintf(msg, sizeof(msg),
			 "node '%s' is %s but the VM's disks are on storage that cannot leave the "
			 "node: it cannot be recovered automatically; repair the node or restore "
			 "from a snapshot",
			 s.node, fenced ? "confirmed down" : "down (its VMI was given up)");
		failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid, "LocalStorage", msg,
			       NULL);
		write_marks(st, ns, vm, &s, false, false, NULL);
		goto out;
	}
	switch (act) {
	case MIG_FA_WAIT:
		break;
	case MIG_FA_NODE_BACK:
		snprintf(msg, sizeof(msg),
			 "node '%s' is ready again and the VM kept running: nothing recovered; "
			 "its own placement rules are restored",
			 s.node);
		if (write_marks(st, ns, vm, &s, false, true, NULL) == 0)
			failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid, "NodeRecovered",
				       msg, NULL);
		break;
	case MIG_FA_DOWN: {
		struct mig_failure_state n = s;

		/* KubeVirt gave the VMI up (without fencing after its own timeout, or we missed
		 * the fencing event): down from now. */
		n.pin.stopped_ms = v.now_ms;
		if (write_marks(st, ns, vm, &s, false, false, &n) == 0 && fenced) {
			const char *r =
			    fenced_message(msg, sizeof(msg), s.node, fwhy, s.pin.target, "");

			failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid, r, msg, NULL);
		}
		break;
	}
	case MIG_FA_RECOVERED:
		if (s.move_id[0])
			snprintf(msg, sizeof(msg),
				 "recovered on node '%s' after node '%s' failed, down for about "
				 "%.0f s (KubeVirt restarted it on node '%s'; moved live since)%s",
				 v.vmi_node, s.node,
				 (double)(s.move_ms - s.pin.stopped_ms) / 1000.0, s.moved_from,
				 note);
		else
			snprintf(msg, sizeof(msg),
				 "recovered on node '%s' after node '%s' failed, down for about "
				 "%.0f s (%s)%s",
				 v.vmi_node, s.node, down,
				 node_clock ? "from the node's Ready condition leaving True to the "
					      "VMI running there"
					    : "from when the migrator saw it down",
				 note);
		/* Report first: a crash before the marks go repeats the report (same ids), not
		 * the recovery. */
		failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid,
			       "RecoveredOnHealthyNode", msg, NULL);
		write_marks(st, ns, vm, &s, false, true, NULL);
		break;
	case MIG_FA_MISPLACED:
		misplaced(st, &s, ns, vm, vr.body, wr.body, &pol, v.vmi_node, down);
		break;
	case MIG_FA_MOVING:
		submit_move(st, &s, ns, vm, wr.body);
		break;
	case MIG_FA_MOVE_FAILED:
		snprintf(msg, sizeof(msg),
			 "recovered on node '%s' after node '%s' failed, but moving it onto node "
			 "'%s' (targetNodeSelector) did not succeed (%s; request '%s'): it stays "
			 "outside targetNodeSelector",
			 v.vmi_node, s.node, s.move_to, v.move_phase ? v.move_phase : "timed out",
			 s.move_id);
		failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid, "RecoveryFailed", msg,
			       NULL);
		write_marks(st, ns, vm, &s, false, true, NULL);
		break;
	case MIG_FA_TIMEOUT:
		snprintf(msg, sizeof(msg),
			 "the VM is not running again %.0f s after node '%s' failed (VMI %s%s%s); "
			 "its own placement rules are restored",
			 down, s.node, v.vmi_exists ? "phase " : "missing",
			 v.vmi_exists && v.vmi_phase ? v.vmi_phase : "",
			 v.vmi_exists && v.vmi_node ? " on a node" : "");
		failure_report(st, ns, s.pin.wukong, vm, s.node, s.vmi_uid, "RecoveryFailed", msg,
			       NULL);
		write_marks(st, ns, vm, &s, false, true, NULL);
		break;
	}
out:
	mig_policy_release(&pol);
	wk_k8s_result_release(&wr);
	wk_k8s_result_release(&vr);
	wk_k8s_result_release(&nr);
	wk_k8s_result_release(&tr);
	mig_failure_state_release(&s);
}

void mig_failure_tick(struct mig_state *st)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char err[512];
	const cJSON *it;
	int64_t now = wk_time_mono_ms();

	if (now < st->failure.next_tick || (!st->failure.maybe && now < st->failure.next_full))
		return;
	st->failure.next_tick = now + 1000;
	st->failure.next_full = now + 60000;
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = WK_LABEL_FAILURE_RECOVERY;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachines, NULL, &lo, &res, err, sizeof(err)) <
	    0) {
		wk_k8s_result_release(&res);
		return;
	}
	st->failure.maybe = cJSON_GetArraySize(wk_json_path(res.body, "items")) > 0;
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items")) failure_step(st, it);
	wk_k8s_result_release(&res);
}
