/* mig_cold.c - cold migration: stop, pin, start, verify, restore (mig_cold.h). */
#include "flows/mig_cold.h"
#include "ctx/mig_cluster.h"
#include "ctx/mig_emit.h"
#include "decide/mig_failure_pick.h"

#include "decide/mig_drain.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

/* A VM that does not run on its target this long after starting again has failed. */
#define COLD_TIMEOUT_MS (5 * 60 * 1000)

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

/* The scheduler's VolumeBinding for the VM's claims: a bound claim's PersistentVolume with a node
 * affinity (local storage) must allow the target (mig_pv_check). A claim or volume that cannot
 * be read is not checked (KubeVirt decides). 0, or -1 with the failure in chk. */
static int volumes_check(struct mig_state *st, const char *ns, const cJSON *vm, const cJSON *node,
			 const char *node_name, struct mig_check *chk)
{
	const cJSON *v;
	int rc = 0;

	cJSON_ArrayForEach(v, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(v, "persistentVolumeClaim.claimName");
		struct wk_k8s_result pr;
		char err[512];
		const char *pvname;

		if (!claim)
			claim = wk_json_str(v, "dataVolume.name"); /* CDI names the PVC after it */
		if (!claim || rc < 0)
			continue;
		if (wk_k8s_get(st->k8s, &wk_res_persistentvolumeclaims, ns, claim, &pr, err,
			       sizeof(err)) < 0) {
			wk_k8s_result_release(&pr);
			continue;
		}
		pvname = wk_json_str(pr.body, "spec.volumeName");
		if (pvname && *pvname) {
			struct wk_k8s_result vr;
			char pvn[MIG_NAME_MAX];

			wk_strlcpy(pvn, pvname, sizeof(pvn));
			if (wk_k8s_get(st->k8s, &wk_res_persistentvolumes, NULL, pvn, &vr, err,
				       sizeof(err)) == 0)
				rc = mig_pv_check(vr.body, claim, node, node_name, chk);
			wk_k8s_result_release(&vr);
		}
		wk_k8s_result_release(&pr);
	}
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
	if (volumes_check(st, r->ns, res.body, f->target_node, r->target_node, &chk) < 0) {
		snprintf(msg, sizeof(msg), "cold migration refused (%s): %s; the VM keeps running",
			 chk.reason, chk.message);
		cold_status(st, r->ns, &s, MIG_PH_REJECTED, "ColdMigrationTargetUnusable", msg);
		wk_k8s_result_release(&res);
		return;
	}
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
static void cold_finish(struct mig_state *st, const char *ns, const char *name,
			const struct mig_cold_state *s)
{
	char msg[900], down[48], note[300];

	mig_rollout_note(&st->kv, note, sizeof(note));
	if (s->result == MIG_PH_SUCCEEDED) {
		if (s->downtime_s >= 0)
			snprintf(down, sizeof(down), "down for %.0f s", s->downtime_s);
		else
			snprintf(down, sizeof(down), "downtime unknown");
		snprintf(msg, sizeof(msg),
			 "cold migration to node '%s' done: the VM was stopped and restarted (%s, "
			 "from the VMI stopping to it running there); its own placement rules are "
			 "restored%s",
			 s->target, down, note);
		cold_status(st, ns, s, MIG_PH_SUCCEEDED, "ColdMigrationSucceeded", msg);
	} else if (!s->stopped_ms) {
		snprintf(msg, sizeof(msg),
			 "cold migration: VMI '%s' did not stop within %d s (still on node '%s': a "
			 "finalizer or virt-handler not acting on it); its run strategy and "
			 "placement rules are restored, it keeps running there",
			 name, COLD_TIMEOUT_MS / 1000, s->on_node[0] ? s->on_node : "none");
		cold_status(st, ns, s, MIG_PH_FAILED, "ColdMigrationStopTimeout", msg);
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
		/* Stopped: pin it to the target and start it again, in one patch. */
		s.stopped_ms = now;
		s.down_since_ms = mig_cold_cond_time(vm, "Ready", "False");
		patch = mig_cold_vm_patch(&s, true, s.run_strategy);
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
	/* Under vmRolloutStrategy LiveUpdate the restore is carried onto the running VMI, which
	 * KubeVirt refuses while it migrates (someone else's move right after the start): wait
	 * for the migration to end, within the cold move's deadline. */
	if (running_there && migrating && st->kv.rollout == WK_KV_ROLLOUT_LIVE_UPDATE &&
	    now - s.stopped_ms <= 2 * COLD_TIMEOUT_MS)
		goto out;
	/* Verified (or given up): restore the VM's own placement rules and record the outcome on
	 * the VM in one patch; the marks come off once the final status is out (cold_finish). */
	s.result = running_there ? MIG_PH_SUCCEEDED : MIG_PH_FAILED;
	s.downtime_s = running_there ? mig_cold_downtime(&s, up_since, now) : -1;
	s.finished_ms = now;
	wk_strlcpy(s.on_node, node_copy ? node_copy : "", sizeof(s.on_node));
	patch = mig_cold_vm_patch(&s, false, NULL);
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
