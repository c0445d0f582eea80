/* mig_cold.c - cold migration: stop, pin, start, verify, restore (mig_cold.h). */
#include "flows/mig_cold.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "ctx/mig_volumes.h"
#include "ctx/mig_checks.h"
#include "decide/mig_failure_pick.h"

#include "decide/mig_drain.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

/* A VM that does not run on its target this long after starting again has failed; with disks
 * to copy, the copy's deadline (migrator.cold-copy-timeout-seconds) is added. */
#define COLD_TIMEOUT_MS (5 * 60 * 1000)
#define COPY_TIMEOUT_S_DEFAULT 3600

static int64_t cold_timeout_ms(struct mig_state *st, const struct mig_cold_state *s)
{
	if (!s->ncopies)
		return COLD_TIMEOUT_MS;
	return COLD_TIMEOUT_MS + (int64_t)(mig_cfg_num(st, "migrator.cold-copy-timeout-seconds",
						       COPY_TIMEOUT_S_DEFAULT, false) *
					   1000);
}

static void cold_status(struct mig_state *st, const char *ns, const struct mig_cold_state *s,
			enum mig_phase ph, const char *reason, const char *msg)
{
	struct mig_request r;
	struct mig_status u;
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
	u.source_node = s->source[0] ? s->source : NULL; /* where the VM ran when it began */
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
	if (mig_phase_final(ph) && !mig_is_done(st, &r)) {
		mig_remember_done(st, &r, ph);
		mig_observe_duration(st, ph, s->started_ms, u.completed_ms);
	}
	mig_send_req_audit(st, &r, "migration.cold",
			   ph == MIG_PH_SUCCEEDED  ? "success"
			   : ph == MIG_PH_FAILED   ? "failure"
			   : ph == MIG_PH_REJECTED ? "rejected"
						   : "info",
			   reason, msg, reason, NULL);
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

	memset(&u, 0, sizeof(u));
	u.req = r;
	u.phase = MIG_PH_REJECTED;
	u.seq = mig_next_seq(st);
	u.reason = reason;
	u.message = msg;
	u.condition_only = true;
	u.condition_type = "MigrationRequestRejected";
	mig_send_status(st, NULL, &u, NULL);
	mig_send_req_audit(st, r, "migration.preflight", "rejected", reason, msg, reason, NULL);
	mig_post_event(st, r, r->uid, "Warning", reason, msg, "migration.preflight");
	mig_remember_done(st, r, MIG_PH_REJECTED);
}

static int patch_vm(struct mig_state *st, const char *ns, const char *vm, const char *patch)
{
	struct wk_k8s_result res;
	char err[512];
	int rc = wk_k8s_patch(st->k8s, &wk_res_virtualmachines, ns, vm, NULL, WK_K8S_PATCH_MERGE,
			      patch, &res, err, sizeof(err));

	if (rc < 0)
		wk_logk(WK_LOG_WARN, vm, "cold migration: patch failed: %s", err);
	wk_k8s_result_release(&res);
	return rc;
}

/* The VM's disks against the target (seed 001: local data must travel with the VM): a disk whose
 * PersistentVolume the target cannot reach (node-local) is copied by a CDI clone when its class
 * can place the copy there (mig_copy_possible) and CDI is served; otherwise the move is refused
 * before the stop, naming what would be needed. Disks that cannot be read are left to KubeVirt.
 * 0 with s->copies filled, -1 with the refusal in chk. */
static int volumes_plan(struct mig_state *st, const char *ns, const cJSON *vm, const cJSON *wukong,
			const cJSON *node, const char *node_name, struct mig_cold_state *s,
			struct mig_check *chk)
{
	struct mig_disk *d = wk_xcalloc(MIG_COPY_MAX * 2, sizeof(*d));
	size_t n = 0;
	char err[512], why[600];
	int rc = 0;

	memset(chk, 0, sizeof(*chk));
	s->ncopies = 0;
	if (mig_volumes_read(st, ns, vm, node, node_name, d, MIG_COPY_MAX * 2, &n, err,
			     sizeof(err)) < 0) {
		wk_logk(WK_LOG_WARN, s->wukong, "cold migration: volumes not read: %s", err);
		rc = mig_check_fail(
		    chk, n >= MIG_COPY_MAX * 2 ? "TooManyVolumes" : "VolumesUnreadable",
		    "the VM's volumes could not be read (%s); retry the request", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (d[i].kind == MIG_DISK_UNKNOWN)
			wk_logk(WK_LOG_INFO, s->wukong, "cold migration: volume '%s': %s",
				d[i].volume, d[i].why);
		if (d[i].kind != MIG_DISK_LOCAL)
			continue;
		if (mig_copy_possible(&d[i], node_name, why, sizeof(why)) < 0) {
			rc = mig_check_fail(chk, "TargetNodeVolumeAffinityMismatch",
					    "the VM's volume '%s' is node-local: %s; %s",
					    d[i].volume, d[i].why, why);
			goto out;
		}
		if (s->ncopies == MIG_COPY_MAX) {
			rc =
			    mig_check_fail(chk, "TooManyVolumes",
					   "more than %d node-local volumes to copy", MIG_COPY_MAX);
			goto out;
		}
		struct mig_copy *c = &s->copies[s->ncopies++];

		wk_strlcpy(c->volume, d[i].volume, sizeof(c->volume));
		wk_strlcpy(c->from, d[i].claim, sizeof(c->from));
		wk_strlcpy(c->from_dv, d[i].owner_dv, sizeof(c->from_dv));
		wk_strlcpy(c->from_node, d[i].node, sizeof(c->from_node));
		c->ref_dv = d[i].ref_dv;
		mig_copy_name(d[i].claim, s->request, d[i].volume, c->to, sizeof(c->to));
	}
	if (s->ncopies) {
		int cdi = mig_volumes_cdi(st, ns, err, sizeof(err));

		if (cdi < 0) {
			rc =
			    mig_check_fail(chk, "VolumesUnreadable",
					   "node-local volumes must be copied but CDI could not be "
					   "asked (%s); retry the request",
					   err);
		} else if (cdi == 0) {
			rc =
			    mig_check_fail(chk, "TargetNodeVolumeAffinityMismatch",
					   "the VM's volume '%s' is node-local (%s) and copying it "
					   "needs CDI (cdi.kubevirt.io DataVolumes), which this "
					   "cluster does not serve",
					   s->copies[0].volume, d[0].why);
		}
		const char *keep = wk_json_meta(wukong, "annotations", WK_ANN_KEEP_SOURCE_VOLUMES);
		s->keep_source = keep && !strcmp(keep, "true");
	}
out:
	free(d);
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
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachines, r->ns, r->vm, &res, err, sizeof(err)) <
	    0) {
		wk_k8s_result_release(&res);
		wk_logk(WK_LOG_WARN, r->vm, "cold migration: %s", err);
		return;
	}
	if (wk_json_meta(res.body, "labels", WK_LABEL_COLD_MIGRATION_REQUEST)) {
		wk_k8s_result_release(&res); /* already under way: the tick carries on */
		return;
	}
	wk_strlcpy(s.request, r->id, sizeof(s.request));
	wk_strlcpy(s.target, r->target_node, sizeof(s.target));
	wk_strlcpy(s.wukong, r->name, sizeof(s.wukong));
	if (wk_json_meta(res.body, "labels", WK_LABEL_FAILURE_RECOVERY)) {
		/* Node-failure recovery may hold the template's nodeSelector (its pin): a cold
		 * move would record the pin as the VM's own placement and restore it later. */
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "FailureRecoveryInProgress",
			    "cold migration refused: node-failure recovery is steering this VM "
			    "(label " WK_LABEL_FAILURE_RECOVERY "); retry once it has finished");
		wk_k8s_result_release(&res);
		return;
	}
	{
		const char *on = wk_json_str(f->vmi, "status.nodeName");

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
		const char *h = wk_json_meta(f->target_node, "labels", "kubernetes.io/hostname");

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
				  &st->kv, f->target_used_mem, f->target_used_cpu_milli,
				  &chk) < 0) {
		snprintf(msg, sizeof(msg), "cold migration refused (%s): %s; the VM keeps running",
			 chk.reason, chk.message);
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "ColdMigrationTargetUnusable", msg);
		mig_policy_release(&pol);
		wk_k8s_result_release(&res);
		return;
	}
	mig_policy_release(&pol);
	if (volumes_plan(st, r->ns, res.body, wukong, f->target_node, r->target_node, &s, &chk) <
	    0) {
		snprintf(msg, sizeof(msg), "cold migration refused (%s): %s; the VM keeps running",
			 chk.reason, chk.message);
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "ColdMigrationTargetUnusable", msg);
		wk_k8s_result_release(&res);
		return;
	}
	wk_strlcpy(s.source,
		   wk_json_str(f->vmi, "status.nodeName") ? wk_json_str(f->vmi, "status.nodeName")
							  : "",
		   sizeof(s.source));
	{
		const char *rs = wk_json_str(res.body, "spec.runStrategy");
		const cJSON *ns = wk_json_path(res.body, "spec.template.spec.nodeSelector");

		if (rs && !strcmp(rs, "Manual")) {
			/* Back from Halted to Manual, KubeVirt would leave it stopped: a Manual VM
			 * starts only on a start request (virtctl start: PUT
			 * subresources.kubevirt.io
			 * .../virtualmachines/<vm>/start, pkg/virt-api/rest/lifecycle.go), which
			 * the migrator does not send. Refused before anything is touched. */
			snprintf(
			    msg, sizeof(msg),
			    "cold migration refused: VM '%.63s/%.200s' has runStrategy Manual; "
			    "after the stop KubeVirt starts such a VM only on a start request "
			    "(virtctl start), which the migrator does not send; set its "
			    "runStrategy to Always (or RerunOnFailure) for the move, or stop, "
			    "pin and start it yourself; the VM keeps running",
			    r->ns, r->vm);
			cold_status(st, r->ns, &s, MIG_PH_REJECTED,
				    "ColdMigrationManualRunStrategy", msg);
			wk_k8s_result_release(&res);
			return;
		}
		/* A VM on the deprecated spec.running (true: it runs) comes back as runStrategy
		 * Always, its equivalent; the stop patch clears running (mig_cold_vm_patch). */
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
	cJSON_AddStringToObject(lab, WK_LABEL_COLD_MIGRATION_REQUEST, r->id);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, WK_ANN_COLD_MIGRATION, state);
	{
		cJSON *spec = cJSON_AddObjectToObject(p, "spec");

		/* running and runStrategy are mutually exclusive (KubeVirt's VM webhook): clear a
		 * deprecated spec.running in the same patch. */
		cJSON_AddStringToObject(spec, "runStrategy", "Halted");
		cJSON_AddNullToObject(spec, "running");
	}
	body = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	free(state);
	if (patch_vm(st, r->ns, r->vm, body) == 0) {
		if (st->cold.known >= 0)
			st->cold.known++;
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
/* The checks after the move (ctx/mig_checks.c): placement and volumes attached. Interface
 * addresses and the guest agent are not compared: the guest restarted in a new pod. */
static void cold_verify(struct mig_state *st, const char *ns, const char *vm,
			const struct mig_cold_state *s)
{
	struct wk_k8s_result res;
	struct mig_request r;
	char err[256];

	memset(&r, 0, sizeof(r));
	wk_strlcpy(r.id, s->request, sizeof(r.id));
	r.source = MIG_SRC_SPEC;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, s->wukong, sizeof(r.name));
	wk_strlcpy(r.vm, vm, sizeof(r.vm));
	wk_strlcpy(r.target_node, s->target, sizeof(r.target_node));
	if (wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, ns, vm, &res, err, sizeof(err)) ==
	    0)
		mig_send_verified(st, &r, NULL, res.body, s->target);
	wk_k8s_result_release(&res);
}

/* "; data copied: volume 'data' from claim 'x' on node 'a' (deleted) to DataVolume 'y'" */
static void copies_note(const struct mig_cold_state *s, char *out, size_t n)
{
	size_t k = strlen(out);

	for (size_t i = 0; i < s->ncopies && k < n; i++) {
		const struct mig_copy *c = &s->copies[i];

		if (s->result == MIG_PH_SUCCEEDED)
			snprintf(
			    out + k, n - k,
			    "%s volume '%s' from claim '%s' on node '%s' (%s) to DataVolume '%s' "
			    "on node '%s'",
			    i ? "," : "; data copied:", c->volume, c->from,
			    c->from_node[0] ? c->from_node : "?",
			    s->keep_source ? "kept" : "deleted", c->to, s->target);
		else
			snprintf(out + k, n - k,
				 "%s volume '%s' back on claim '%s' (copy '%s' deleted)",
				 i ? "," : "; the VM keeps its data:", c->volume, c->from, c->to);
		k = strlen(out);
	}
}

static void cold_finish(struct mig_state *st, const char *ns, const char *name,
			const struct mig_cold_state *s)
{
	char msg[2600], down[48], note[900]; /* msg: the text, three names and the note */

	mig_rollout_note(&st->kv, note, sizeof(note));
	if (s->ncopies) {
		/* The old copies go only once the VM runs on the new ones (never Succeeded with
		 * its data left behind); a failed move drops the new ones and keeps the old. */
		char err[512];
		bool ok = s->result == MIG_PH_SUCCEEDED;

		if ((!ok || !s->keep_source) &&
		    mig_volumes_delete(st, ns, s->copies, s->ncopies, ok, err, sizeof(err)) < 0) {
			wk_logk(WK_LOG_WARN, name,
				"cold migration: %s volumes not deleted yet (%s); retrying",
				ok ? "old" : "new", err);
			return;
		}
		copies_note(s, note, sizeof(note));
	}
	if (s->result == MIG_PH_SUCCEEDED) {
		if (s->downtime_s >= 0)
			snprintf(down, sizeof(down), "down for %.0f s", s->downtime_s);
		else
			snprintf(down, sizeof(down), "downtime unknown");
		snprintf(msg, sizeof(msg),
			 "cold migration %s%s%sto node '%s' done: the VM was stopped and restarted "
			 "(%s, from the VMI stopping to it running there); its own placement rules "
			 "are restored%s",
			 s->source[0] ? "from node '" : "", s->source, s->source[0] ? "' " : "",
			 s->target, down, note);
		cold_verify(st, ns, name, s); /* before the final status, the last word */
		cold_status(st, ns, s, MIG_PH_SUCCEEDED, "ColdMigrationSucceeded", msg);
	} else if (!s->stopped_ms) {
		snprintf(msg, sizeof(msg),
			 "cold migration: VMI '%s' did not stop within %d s (still on node '%s': a "
			 "finalizer or virt-handler not acting on it); its run strategy and "
			 "placement rules are restored, it keeps running there%s",
			 name, COLD_TIMEOUT_MS / 1000, s->on_node[0] ? s->on_node : "none", note);
		cold_status(st, ns, s, MIG_PH_FAILED, "ColdMigrationStopTimeout", msg);
	} else {
		snprintf(msg, sizeof(msg),
			 "cold migration: the VM did not run on node '%s' within %lld s after it "
			 "stopped (it is on '%s'); placement rules restored%s",
			 s->target, (long long)(cold_timeout_ms(st, s) / 1000),
			 s->on_node[0] ? s->on_node : "none", note);
		cold_status(st, ns, s, MIG_PH_FAILED, "ColdMigrationTimeout", msg);
	}
	/* Unmark only once the final status is in Kafka: after that nothing else says it. */
	if (wk_producer_flush(st->prod, 5000) < 0) {
		wk_logk(WK_LOG_WARN, name,
			"cold migration: final status not delivered yet; retrying");
		return;
	}
	patch_vm(st, ns, name,
		 "{\"metadata\":{\"labels\":{\"" WK_LABEL_COLD_MIGRATION_REQUEST
		 "\":null},\"annotations\":{\"" WK_ANN_COLD_MIGRATION "\":null}}}");
}

/* One VM under cold migration. */
static void cold_step(struct mig_state *st, const cJSON *vm)
{
	const char *ns = wk_json_str(vm, "metadata.namespace");
	const char *name = wk_json_str(vm, "metadata.name");
	struct mig_cold_state s;
	struct wk_k8s_result res;
	char err[512], msg[700], *patch;
	int64_t now = wk_time_now_ms(), up_since = 0;

	if (!ns || !name ||
	    mig_cold_state_parse(wk_json_meta(vm, "annotations", WK_ANN_COLD_MIGRATION), &s) < 0)
		return;
	if (s.result != MIG_PH_PENDING) {
		cold_finish(st, ns, name, &s); /* decided before a restart */
		mig_cold_state_release(&s);
		return;
	}
	int vrc =
	    wk_k8s_get(st->k8s, &wk_res_virtualmachineinstances, ns, name, &res, err, sizeof(err));
	bool gone = vrc < 0 && res.err == WK_K8S_ENOTFOUND;
	const char *node = vrc == 0 ? wk_json_str(res.body, "status.nodeName") : NULL;
	const char *phase = vrc == 0 ? wk_json_str(res.body, "status.phase") : NULL;
	bool running_there = node && phase && !strcmp(phase, "Running") && !strcmp(node, s.target);
	bool migrating = vrc == 0 && mig_vmi_migrating(res.body);
	bool uses_copies = vrc == 0 && mig_copy_in_use(res.body, s.copies, s.ncopies);
	char *node_copy = node ? wk_xstrdup(node) : NULL;

	if (running_there)
		up_since = mig_cold_cond_time(res.body, "Ready", "True");
	wk_k8s_result_release(&res);

	if (!s.stopped_ms) {
		if (!gone && now - s.started_ms > COLD_TIMEOUT_MS) {
			/* The VMI never went (a finalizer, virt-handler not acting): give up, and
			 * give the VM its run strategy and placement back where it is. */
			s.result = MIG_PH_FAILED;
			s.downtime_s = -1;
			s.finished_ms = now;
			wk_strlcpy(s.on_node, node_copy ? node_copy : "", sizeof(s.on_node));
			patch = mig_cold_vm_patch(&s, false, s.run_strategy);
			if (patch_vm(st, ns, name, patch) == 0)
				cold_finish(st, ns, name, &s);
			free(patch);
			goto out;
		}
		if (!gone)
			goto out; /* still stopping */
		if (s.ncopies && mig_volumes_clone(st, ns, s.request, s.copies, s.ncopies, err,
						   sizeof(err)) < 0) {
			/* The VM stays stopped while the copies cannot be made, within the move's
			 * deadline; then it gets its own volumes, placement and run strategy back.
			 */
			wk_logk(WK_LOG_WARN, name, "cold migration: copies not created: %s", err);
			if (now - s.started_ms <= cold_timeout_ms(st, &s))
				goto out;
			s.stopped_ms = now;
			s.result = MIG_PH_FAILED;
			s.downtime_s = -1;
			s.finished_ms = now;
			patch = mig_cold_vm_patch(&s, false, s.run_strategy);
			if (patch_vm(st, ns, name, patch) == 0)
				cold_finish(st, ns, name, &s);
			free(patch);
			goto out;
		}
		/* Stopped: pin it to the target (on its copied volumes) and start it again, in one
		 * patch. */
		s.stopped_ms = now;
		s.down_since_ms = mig_cold_cond_time(vm, "Ready", "False");
		{
			char *p0 = mig_cold_vm_patch(&s, true, s.run_strategy);

			patch = mig_copy_vm_patch(p0, vm, s.copies, s.ncopies, true);
			free(p0);
		}
		/* Said (and delivered) before the patch: a migrator killed right after it would
		 * never say it (the next one finds the VM pinned). If the patch fails, the next
		 * tick says it again with the same audit id, which the audit log keeps once. */
		if (s.ncopies)
			snprintf(
			    msg, sizeof(msg),
			    "cold migration: stopped; copying %zu node-local volume(s) to node "
			    "'%s' (CDI clones, e.g. '%s' from '%s') and starting it there",
			    s.ncopies, s.target, s.copies[0].to, s.copies[0].from);
		else
			snprintf(msg, sizeof(msg),
				 "cold migration: stopped; starting it on node '%s'", s.target);
		cold_status(st, ns, &s, MIG_PH_MIGRATING, "ColdMigrationStarting", msg);
		if (wk_producer_flush(st->prod, 5000) == 0)
			patch_vm(st, ns, name, patch);
		else
			wk_logk(WK_LOG_WARN, name,
				"cold migration: status not delivered; retrying");
		free(patch);
		goto out;
	}
	/* With copies, running there means on the copies (a VMI on the old volumes could not
	 * start there: their volumes' node affinity). */
	if (running_there && s.ncopies && !uses_copies)
		running_there = false;
	bool timed_out = now - s.stopped_ms > cold_timeout_ms(st, &s);
	if (!running_there && !timed_out)
		goto out;
	/* Under vmRolloutStrategy LiveUpdate the restore is carried onto the running VMI, which
	 * KubeVirt refuses while it migrates (someone else's move right after the start): wait
	 * for the migration to end, within the cold move's deadline. */
	if (running_there && migrating && st->kv.rollout == WK_KV_ROLLOUT_LIVE_UPDATE &&
	    now - s.stopped_ms <= 2 * cold_timeout_ms(st, &s))
		goto out;
	/* Verified (or given up): restore the VM's own placement rules and record the outcome on
	 * the VM in one patch; the marks come off once the final status is out (cold_finish). */
	s.result = running_there ? MIG_PH_SUCCEEDED : MIG_PH_FAILED;
	s.downtime_s = running_there ? mig_cold_downtime(&s, up_since, now) : -1;
	s.finished_ms = now;
	wk_strlcpy(s.on_node, node_copy ? node_copy : "", sizeof(s.on_node));
	{
		/* A failed move with copies gives the VM its old volumes back (its data). */
		char *p0 = mig_cold_vm_patch(&s, false, NULL);

		patch = s.result == MIG_PH_FAILED
			    ? mig_copy_vm_patch(p0, vm, s.copies, s.ncopies, false)
			    : wk_xstrdup(p0);
		free(p0);
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

	if (wk_k8s_get(st->k8s, &wk_res_virtualmachines, r->ns, r->vm, &res, err, sizeof(err)) <
	    0) {
		rc = res.err == WK_K8S_ENOTFOUND ? 0 : -1;
		wk_k8s_result_release(&res);
		return rc;
	}
	id = wk_json_meta(res.body, "labels", WK_LABEL_COLD_MIGRATION_REQUEST);
	sreq = wk_json_str(wukong, "status.migrationStatus.requestId");
	sph = wk_json_str(wukong, "status.migrationStatus.phase");
	smode = wk_json_str(wukong, "status.migrationStatus.mode");
	if (id && !strcmp(id, r->id)) {
		/* A restart: the tick carries it on. Killed between the stop patch and its
		 * status, the last migrator never said "stopping": say it (same audit id). */
		struct mig_cold_state cs;

		if (mig_cold_state_parse(
			wk_json_meta(res.body, "annotations", WK_ANN_COLD_MIGRATION), &cs) == 0 &&
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

		if (wk_k8s_get(st->k8s, &wk_res_wukongs, r->ns, r->name, &wr, err, sizeof(err)) <
		    0) {
			rc = wr.err == WK_K8S_ENOTFOUND ? 0 : -1;
		} else {
			sreq = wk_json_str(wr.body, "status.migrationStatus.requestId");
			sph = wk_json_str(wr.body, "status.migrationStatus.phase");
			smode = wk_json_str(wr.body, "status.migrationStatus.mode");
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

	if (now < st->cold.next_tick)
		return;
	st->cold.next_tick = now + 1000;
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = WK_LABEL_COLD_MIGRATION_REQUEST;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachines, NULL, &lo, &res, err, sizeof(err)) <
	    0) {
		wk_k8s_result_release(&res);
		return;
	}
	st->cold.known = cJSON_GetArraySize(wk_json_path(res.body, "items"));
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items")) cold_step(st, it);
	wk_k8s_result_release(&res);
}
