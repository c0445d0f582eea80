/* mig_outcome.c - what a final VMIM means for the request (mig_outcome.h). */
#include "decide/mig_outcome.h"

#include "wk_json.h"
#include "wk_time.h"

#include <cjson/cJSON.h>

static bool has_progress(const cJSON *ms)
{
	/* More than the backend-storage PVC names (handleBackendStorage writes those early). */
	return wk_json_str(ms, "targetNode") || wk_json_path(ms, "completed") ||
	       wk_json_path(ms, "failed") || wk_json_str(ms, "endTimestamp") ||
	       wk_json_str(ms, "failureReason") || wk_json_str(ms, "abortStatus");
}

const cJSON *mig_outcome_state(const cJSON *vmim, const cJSON *vmi)
{
	const char *uid = wk_json_str(vmim, "metadata.uid");
	const cJSON *ms = wk_json_path(vmim, "status.migrationState");
	const char *mu;

	if (cJSON_IsObject(ms) && has_progress(ms)) {
		mu = wk_json_str(ms, "migrationUid");
		if (!mu || !uid || !strcmp(mu, uid))
			return ms;
	}
	ms = wk_json_path(vmi, "status.migrationState");
	mu = wk_json_str(ms, "migrationUid");
	if (cJSON_IsObject(ms) && uid && mu && !strcmp(mu, uid))
		return ms;
	return NULL;
}

/* status.phaseTransitionTimestamps: when the VMIM entered phase (0 = never / unknown). */
static int64_t phase_time(const cJSON *vmim, const char *phase)
{
	const cJSON *t;
	int64_t ms = 0;

	cJSON_ArrayForEach(t, wk_json_path(vmim, "status.phaseTransitionTimestamps"))
	{
		const char *p = wk_json_str(t, "phase"),
			   *ts = wk_json_str(t, "phaseTransitionTimestamp");
		int64_t v;

		if (p && ts && !strcmp(p, phase) && wk_time_parse_ms(ts, &v) == 0)
			ms = v;
	}
	return ms;
}

static bool cond_true(const cJSON *obj, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(obj, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *s = wk_json_str(c, "status");

		if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
			return true;
	}
	return false;
}

static const char *cond_message(const cJSON *obj, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(obj, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type");

		if (t && !strcmp(t, type))
			return wk_json_str(c, "message");
	}
	return NULL;
}

static int64_t event_time(const cJSON *e)
{
	static const char *const keys[] = {"lastTimestamp", "eventTime", "firstTimestamp",
					   "metadata.creationTimestamp"};
	size_t i;
	int64_t v;

	for (i = 0; i < WK_ARRAY_SIZE(keys); i++) {
		const char *s = wk_json_str(e, keys[i]);

		if (s && wk_time_parse_ms(s, &v) == 0)
			return v;
	}
	return 0;
}

/* The newest Event that says why the target pod did not come: the scheduler's FailedScheduling
 * on one of the VM's launcher pods, else a Warning on the VMIM (migrationTargetPodUnschedulable,
 * FailedMigration), else a Normal one that tells of a timeout (SuccessfulDelete "...timeout
 * period exceeded"). Only Events from the VMIM's creation on count. */
static const char *pick_event(const cJSON *vmim, const cJSON *events, const char *vm)
{
	const char *name = wk_json_str(vmim, "metadata.name");
	char pod_prefix[MIG_NAME_MAX + 32];
	const cJSON *e;
	const char *best = NULL;
	int best_rank = 0;
	int64_t best_t = 0, since = 0;

	if (!name)
		return NULL;
	wk_time_parse_ms(wk_json_str(vmim, "metadata.creationTimestamp")
			     ? wk_json_str(vmim, "metadata.creationTimestamp")
			     : "",
			 &since);
	snprintf(pod_prefix, sizeof(pod_prefix), "virt-launcher-%s-", vm ? vm : "");
	cJSON_ArrayForEach(e, events)
	{
		const char *kind = wk_json_str(e, "involvedObject.kind"),
			   *on = wk_json_str(e, "involvedObject.name"),
			   *reason = wk_json_str(e, "reason"), *msg = wk_json_str(e, "message"),
			   *type = wk_json_str(e, "type");
		int64_t t = event_time(e);
		int rank = 0;

		if (!kind || !on || !reason || !msg || !*msg || (since && t && t < since - 1000))
			continue;
		if (!strcmp(kind, "Pod") && !strncmp(on, pod_prefix, strlen(pod_prefix)) &&
		    !strcmp(reason, "FailedScheduling"))
			rank = 3;
		else if (!strcmp(kind, "VirtualMachineInstanceMigration") && !strcmp(on, name) &&
			 type && !strcmp(type, "Warning") && strcmp(reason, "FailedMigration"))
			rank = 2;
		else if (!strcmp(kind, "VirtualMachineInstanceMigration") && !strcmp(on, name) &&
			 strstr(msg, "timeout period exceeded"))
			rank = 2;
		else if (!strcmp(kind, "VirtualMachineInstanceMigration") && !strcmp(on, name))
			rank = 1;
		if (rank > best_rank || (rank == best_rank && rank && t >= best_t)) {
			best = msg;
			best_rank = rank;
			best_t = t;
		}
	}
	return best;
}

void mig_outcome_explain(const cJSON *vmim, const cJSON *events, const char *vm, char *reason,
			 size_t rs, char *msg, size_t ms)
{
	static const char *const order[] = {"Pending",	       "Scheduling",  "Scheduled",
					    "PreparingTarget", "TargetReady", "Running"};
	const char *last = NULL, *ev = pick_event(vmim, events, vm);
	int64_t failed = phase_time(vmim, "Failed"), since = 0;
	char evp[520] = "", within[48] = "";
	size_t i;

	for (i = 0; i < WK_ARRAY_SIZE(order); i++)
		if (phase_time(vmim, order[i]))
			last = order[i];
	if (cond_true(vmim, "migrationRejectedByResourceQuota")) {
		const char *m = cond_message(vmim, "migrationRejectedByResourceQuota");

		wk_strlcpy(reason, "MigrationRejectedByResourceQuota", rs);
		snprintf(msg, ms,
			 "migration failed before hand-over: the target pod was rejected by a "
			 "ResourceQuota%s%.400s; raise the namespace's quota or free some of it",
			 m ? ": " : "", m ? m : "");
		return;
	}
	if (!last || !strcmp(last, "Pending") || !strcmp(last, "Scheduling")) {
		since = phase_time(vmim, "Scheduling");
		if (!since)
			since = phase_time(vmim, "Pending");
		if (!since)
			wk_time_parse_ms(wk_json_str(vmim, "metadata.creationTimestamp")
					     ? wk_json_str(vmim, "metadata.creationTimestamp")
					     : "",
					 &since);
		wk_strlcpy(reason, "TargetPodUnschedulable", rs);
		if (ev)
			snprintf(evp, sizeof(evp), " (%.500s)", ev);
		if (failed && since && failed >= since)
			snprintf(within, sizeof(within), " within %lld s",
				 (long long)((failed - since + 500) / 1000));
		snprintf(
		    msg, ms,
		    "migration failed before hand-over: the target pod was never scheduled%s%s; "
		    "free room on a suitable node or pick another target",
		    within, evp);
		return;
	}
	wk_strlcpy(reason, "MigrationFailed", rs);
	snprintf(msg, ms,
		 "migration failed: KubeVirt gave no failure reason (last phase %s)%s%.500s", last,
		 ev ? "; " : "", ev ? ev : "");
}

void mig_outcome(const struct mig_outcome_in *in, struct mig_outcome *out)
{
	const cJSON *ms = mig_outcome_state(in->vmim, in->vmi);
	const char *phase = wk_json_str(in->vmim, "status.phase");
	const char *failure = wk_json_str(ms, "failureReason");
	const char *abort_st = wk_json_str(ms, "abortStatus");
	const char *tgt = wk_json_str(ms, "targetNode"), *mode = wk_json_str(ms, "mode");
	const char *req = in->requested ? in->requested : "";
	const char *src = in->source_node ? in->source_node : "";
	bool abort_req = cJSON_IsTrue(wk_json_path(ms, "abortRequested")) || in->cancel_requested ||
			 cond_true(in->vmim, "migrationAbortRequested");

	memset(out, 0, sizeof(*out));
	if (mode)
		wk_strlcpy(out->mode, mode, sizeof(out->mode));
	if (!tgt && phase && !strcmp(phase, "Succeeded") && in->vmi && !ms) {
		/* No state of this migration anywhere yet: the VMI's node says where it runs only
		 * if the VMI reports no other migration in its place. */
		if (!wk_json_path(in->vmi, "status.migrationState"))
			tgt = wk_json_str(in->vmi, "status.nodeName");
	}
	if (tgt)
		wk_strlcpy(out->target, tgt, sizeof(out->target));
	if (phase && !strcmp(phase, "Succeeded")) {
		if (!tgt) {
			out->need_state = true;
			out->phase = MIG_PH_FAILED;
			wk_strlcpy(out->reason, "MigrationStateUnknown", sizeof(out->reason));
			snprintf(out->message, sizeof(out->message),
				 "KubeVirt reports the migration Succeeded but neither it nor VMI "
				 "'%s' says where the VM went",
				 in->vm ? in->vm : "");
			return;
		}
		if (*req && strcmp(tgt, req)) {
			out->phase = MIG_PH_FAILED;
			wk_strlcpy(out->reason, "TargetNodeIgnored", sizeof(out->reason));
			snprintf(
			    out->message, sizeof(out->message),
			    "VMI '%s' migrated from node '%s' to node '%s', not to the requested "
			    "node '%s': KubeVirt %s did not apply addedNodeSelector (it needs "
			    "1.6 or later)",
			    in->vm ? in->vm : "", src, tgt, req,
			    in->kv_version ? in->kv_version : "");
			return;
		}
		out->phase = MIG_PH_SUCCEEDED;
		wk_strlcpy(out->reason, "Succeeded", sizeof(out->reason));
		snprintf(out->message, sizeof(out->message),
			 "VMI '%s' migrated from node '%s' to node '%s'%s%s%s",
			 in->vm ? in->vm : "", src, tgt, out->mode[0] ? " (" : "", out->mode,
			 out->mode[0] ? ")" : "");
		if (in->cancel_requested)
			snprintf(out->message + strlen(out->message),
				 sizeof(out->message) - strlen(out->message),
				 "; the cancel came too late (abortStatus %s)",
				 abort_st ? abort_st : "none");
		return;
	}
	if (abort_req && (!abort_st || !strcmp(abort_st, "Succeeded"))) {
		const char *cid = in->cancel_id ? in->cancel_id : "";

		out->phase = MIG_PH_CANCELLED;
		wk_strlcpy(out->reason, "Aborted", sizeof(out->reason));
		snprintf(
		    out->message, sizeof(out->message),
		    "migration cancelled%s%s: KubeVirt abortStatus %s%s%.300s; the VM stays on "
		    "node '%s'",
		    *cid ? " by request " : "", cid,
		    abort_st ? abort_st : "none (aborted before hand-over)", failure ? ", " : "",
		    failure ? failure : "", src);
		return;
	}
	out->phase = MIG_PH_FAILED;
	if (failure && *failure) {
		wk_strlcpy(out->reason, "", sizeof(out->reason));
		snprintf(out->message, sizeof(out->message), "migration failed: %.700s%s", failure,
			 abort_st && !strcmp(abort_st, "Failed")
			     ? "; the abort failed (abortStatus Failed)"
			     : "");
		return;
	}
	mig_outcome_explain(in->vmim, in->events, in->vm, out->reason, sizeof(out->reason),
			    out->message, sizeof(out->message));
}

int64_t mig_live_deadline_ms(int64_t mem, int64_t per_gib, int64_t configured_ms)
{
	int64_t gib = mem > 0 ? (mem >> 30) + ((mem & ((INT64_C(1) << 30) - 1)) != 0) : 1;

	if (configured_ms > 0)
		return configured_ms;
	if (per_gib <= 0 || per_gib > 86400)
		per_gib = 150;
	if (gib < 1)
		gib = 1;
	if (gib > 1 << 20)
		gib = 1 << 20;
	return (900 + 2 * per_gib * gib + 300) * 1000;
}

bool mig_outcome_superseded(const cJSON *wukong, const char *request_id, const cJSON *vmim)
{
	const char *id = wk_json_str(wukong, "status.migrationStatus.requestId");
	const char *created = wk_json_str(vmim, "metadata.creationTimestamp");
	const char *t[2] = {wk_json_str(wukong, "status.migrationStatus.startedAt"),
			    wk_json_str(wukong, "status.migrationStatus.completedAt")};
	int64_t c, x;

	if (!id || !request_id || !strcmp(id, request_id) || !created ||
	    wk_time_parse_ms(created, &c) < 0)
		return false;
	/* creationTimestamp has whole seconds: a second of margin */
	for (int i = 0; i < 2; i++)
		if (t[i] && wk_time_parse_ms(t[i], &x) == 0 && x >= c + 1000)
			return true;
	return false;
}
