/* cl_actions.c - wukong-cloner's I/O under cl_service.c (cl_actions.h): the job table, the reads
 * that fill struct cl_observed, the steps that carry out cl_decide()'s actions (the temporary
 * snapshot, the clone, the source and target VMs), cleanup, the relist, the Wukongs a submission
 * asks for, and the outputs (status, progress, audit, Kubernetes Events). The cluster is the
 * state: every object carries the request id, names are deterministic, and a restart relists
 * Wukongs and our snapshots/clones. */
#include "cl_actions.h"

#include "wk_emit.h"
#include "wk_event.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_resource.h"
#include "wk_time.h"

#include <cjson/cJSON.h>

/* ---- the job table ---- */

static void job_key(const struct cl_job *j, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", j->spec.cluster, j->spec.ns, j->spec.target_vm);
}

static bool is_done(struct cl_state *st, const char *ns, const char *name, const char *id)
{
	char k[400];
	size_t i;

	snprintf(k, sizeof(k), "%s/%s/%s", ns, name, id);
	for (i = 0; i < st->done_cap; i++)
		if (st->done[i] && !strcmp(st->done[i], k))
			return true;
	return false;
}

void cl_job_remember_done(struct cl_state *st, const struct cl_job *j)
{
	char k[400];

	snprintf(k, sizeof(k), "%s/%s/%s", j->spec.ns, j->spec.name, j->spec.id);
	free(st->done[st->done_next]);
	st->done[st->done_next] = wk_xstrdup(k);
	st->done_next = (st->done_next + 1) % st->done_cap;
}

struct cl_job *cl_job_find(struct cl_state *st, const char *ns, const char *name)
{
	for (struct cl_job *j = st->jobs; j; j = j->next)
		if (!strcmp(j->spec.ns, ns) && !strcmp(j->spec.name, name))
			return j;
	return NULL;
}

void cl_job_unlink(struct cl_state *st, struct cl_job *j)
{
	for (struct cl_job **p = &st->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

static void add_meta(cJSON *meta, const struct cl_job *j, const char *name)
{
	cJSON *l, *a;

	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", j->spec.ns);
	l = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(l, CL_LABEL_MANAGED, CL_MANAGED_VALUE);
	cJSON_AddStringToObject(l, WK_LABEL_REQUEST_ID, j->spec.id);
	if (strlen(j->spec.name) <= 63)
		cJSON_AddStringToObject(l, WK_LABEL_WUKONG, j->spec.name);
	a = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(a, WK_ANN_WUKONG_NAME, j->spec.name);
	cJSON_AddStringToObject(a, WK_ANN_CLONE_TARGET, j->spec.target_vm);
}

/* ---- outputs ---- */

static void out_send(struct cl_state *st, const char *topic, const struct cl_job *j,
		     const char *type, const char *id, const char *body)
{
	char key[600], subj[400], err[256];

	job_key(j, key, sizeof(key));
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", j->spec.ns, j->spec.name);
	if (wk_emit_send(st->prod, topic, key, st->cluster, type, id, subj, body, NULL, err,
			 sizeof(err)) < 0)
		wk_logk(WK_LOG_ERROR, key, "send to '%s' failed: %s", topic, err);
}

static const char *outcome_of(const struct cl_decision *d)
{
	if (d->phase == CL_PH_SUCCEEDED)
		return "success";
	if (d->phase == CL_PH_FAILED)
		return "failure";
	if (d->phase == CL_PH_QUEUED || d->phase == CL_PH_PENDING)
		return "pending";
	return "info";
}

void cl_report(struct cl_state *st, struct cl_job *j, const struct cl_decision *d,
	       const struct cl_observed *o, bool phase_changed)
{
	struct wk_emit_condition conds[2];
	struct wk_emit_status s;
	struct wk_emit_audit au;
	cJSON *cs = cJSON_CreateObject(), *details;
	char src[400], t[40], key[600], id[64], seed[800], action[64], disc[96];
	const char *cons_reason = NULL, *cons = j->spec.per_volume
						    ? cl_volumes_consistency(o, &cons_reason)
						    : cl_consistency(o, &cons_reason);
	bool snaps = j->spec.per_volume ? cons != NULL : o->snap != CL_ABSENT;
	size_t nc = 0;
	char *body;
	bool final = cl_phase_final(d->phase);
	bool warn = d->phase == CL_PH_FAILED;

	/* The snapshot is gone at the end: its indications were remembered on the way. */
	if (cons && snaps) {
		j->cons = cons;
		j->cons_reason = cons_reason;
	} else {
		cons = j->cons;
		cons_reason = j->cons_reason;
	}
	job_key(j, key, sizeof(key));
	wk_logk(warn ? WK_LOG_WARN : WK_LOG_INFO, key, "clone '%s' of '%s/%s': %s %d%% %s: %s",
		j->spec.id, j->spec.ns, j->spec.name, cl_phase_name(d->phase), d->progress,
		d->reason, d->message);
	snprintf(src, sizeof(src), "%s/%s/%s", j->spec.type == CL_SRC_VMI ? "vmi" : "vm",
		 j->spec.source_ns, j->spec.source_name);
	cJSON_AddStringToObject(cs, "phase", cl_phase_name(d->phase));
	cJSON_AddStringToObject(cs, "requestId", j->spec.id);
	cJSON_AddNumberToObject(cs, "progress", d->progress);
	cJSON_AddStringToObject(cs, "source", src);
	/* The snapshot's name while it exists (or is kept); null once it is gone. */
	if (snaps || (d->phase == CL_PH_SUCCEEDED && j->spec.keep_snapshot))
		cJSON_AddStringToObject(cs, "snapshotName", j->base);
	else
		cJSON_AddNullToObject(cs, "snapshotName");
	cJSON_AddStringToObject(cs, "method",
				j->spec.per_volume ? "VolumeSnapshots" : "VirtualMachineClone");
	if (j->spec.per_volume && o->nvols) {
		/* which disks were copied, from which claim, through which objects */
		cJSON *vols = cJSON_AddArrayToObject(cs, "volumes");
		char n[200];

		for (size_t i = 0; i < o->nvols; i++) {
			cJSON *v = cJSON_CreateObject();

			cl_volume_object_name(&j->spec, o->vols[i].name, n, sizeof(n));
			cJSON_AddStringToObject(v, "name", o->vols[i].name);
			if (o->vols[i].claim[0])
				cJSON_AddStringToObject(v, "sourceClaim", o->vols[i].claim);
			cJSON_AddStringToObject(v, "volumeSnapshot", n);
			cJSON_AddStringToObject(v, "dataVolume", n);
			if (o->vols[i].dv_phase[0])
				cJSON_AddStringToObject(v, "phase", o->vols[i].dv_phase);
			cJSON_AddItemToArray(vols, v);
		}
	}
	if (j->started_ms) {
		wk_time_format(j->started_ms, t, sizeof(t));
		cJSON_AddStringToObject(cs, "startedAt", t);
	}
	if (final) {
		wk_time_format(wk_time_now_ms(), t, sizeof(t));
		cJSON_AddStringToObject(cs, "completedAt", t);
	} else {
		cJSON_AddNullToObject(cs, "completedAt");
	}
	cJSON_AddStringToObject(cs, "message", d->message);
	if (cons)
		cJSON_AddStringToObject(cs, "consistency", cons);
	conds[nc++] = (struct wk_emit_condition){
	    .type = "Cloning",
	    .status = final ? "False" : "True",
	    .reason = d->reason,
	    .message = d->message,
	};
	if (cons) {
		conds[nc++] = (struct wk_emit_condition){
		    .type = "FilesystemConsistent",
		    .status = !strcmp(cons, "filesystem-consistent") ? "True" : "False",
		    .reason = cons_reason,
		    .message =
			!strcmp(cons, "filesystem-consistent")
			    ? (strcmp(cons_reason, "Offline")
				   ? "the guest agent froze the filesystems for the snapshot"
				   : "the source was not running when the snapshot was taken")
			: !strcmp(cons_reason, "NoFreeze")
			    ? "each disk was snapshotted on its own while the VM ran, without a "
			      "filesystem freeze: the clone is crash-consistent"
			    : "no filesystem freeze (no guest agent or quiesce timeout): the "
			      "clone is crash-consistent",
		};
	}
	memset(&s, 0, sizeof(s));
	s.cluster = st->cluster;
	s.ns = j->spec.ns;
	s.name = j->spec.name;
	s.source = CL_SVC;
	s.seq = wk_emit_next_seq(&st->last_seq);
	s.field = "cloneStatus";
	s.fields = cs;
	s.conditions = conds;
	s.nconditions = nc;
	body = wk_emit_status_json(&s, wk_time_now_ms());
	{
		/* One key per (Wukong, sender, shape): wukong.status is compacted (wk_emit.h). */
		char skey[600], subj[400], err[256];

		if (wk_emit_status_key(body, strlen(body), skey, sizeof(skey)) < 0)
			job_key(j, skey, sizeof(skey));
		snprintf(subj, sizeof(subj), "Wukong/%s/%s", j->spec.ns, j->spec.name);
		if (wk_emit_send(st->prod, st->t_status, skey, st->cluster, WK_CE_STATUS, NULL,
				 subj, body, NULL, err, sizeof(err)) < 0)
			wk_logk(WK_LOG_ERROR, key, "send to '%s' failed: %s", st->t_status, err);
	}
	free(body);
	{
		/* The same step as a report for the progress aggregator (wukong.progress). */
		cJSON *pr = cJSON_CreateObject();

		cJSON_AddStringToObject(pr, "type", "clone");
		cJSON_AddStringToObject(pr, "cluster", st->cluster);
		cJSON_AddStringToObject(pr, "namespace", j->spec.ns);
		cJSON_AddStringToObject(pr, "name", j->spec.name);
		cJSON_AddStringToObject(pr, "source", CL_SVC);
		cJSON_AddStringToObject(pr, "requestId", j->spec.id);
		cJSON_AddStringToObject(pr, "phase", cl_phase_name(d->phase));
		cJSON_AddNumberToObject(pr, "percent", d->progress);
		body = cJSON_PrintUnformatted(pr);
		cJSON_Delete(pr);
		if (body)
			out_send(st, st->t_progress, j, WK_CE_PROGRESS_CLONE, NULL, body);
		free(body);
	}

	if (phase_changed || final || strcmp(j->reason, d->reason)) {
		const char *parts[] = {
		    st->cluster, j->spec.ns, j->spec.name, j->spec.id, cl_phase_name(d->phase),
		    d->reason};
		char lower[32];
		size_t i;

		wk_strlcpy(lower, cl_phase_name(d->phase), sizeof(lower));
		for (i = 0; lower[i]; i++)
			lower[i] =
			    (char)((lower[i] >= 'A' && lower[i] <= 'Z') ? lower[i] + 32 : lower[i]);
		snprintf(action, sizeof(action), "clone.%s", lower);
		wk_emit_keyed_id("cl", parts, WK_ARRAY_SIZE(parts), id, sizeof(id));
		details = cJSON_CreateObject();
		cJSON_AddStringToObject(details, "source", src);
		cJSON_AddStringToObject(details, "targetVM", j->spec.target_vm);
		cJSON_AddStringToObject(details, "snapshot", j->base);
		cJSON_AddNumberToObject(details, "progress", d->progress);
		if (cons)
			cJSON_AddStringToObject(details, "consistency", cons);
		memset(&au, 0, sizeof(au));
		au.request_id = j->spec.id;
		au.source_type = j->spec.from_kafka ? "kafka" : "spec";
		au.cluster = st->cluster;
		au.ns = j->spec.ns;
		au.name = j->spec.name;
		au.actor = CL_SVC;
		au.action = action;
		au.outcome = outcome_of(d);
		au.reason = d->reason;
		au.message = d->message;
		au.details = details;
		body = wk_emit_audit_json(&au);
		out_send(st, st->t_audit, j, WK_CE_AUDIT, id, body);
		free(body);
		cJSON_Delete(details);
		if (st->k8s_events) {
			struct wk_emit_event ev = {
			    .ns = j->spec.ns,
			    .name = j->spec.name,
			    .uid = j->spec.uid,
			    .type = warn ? "Warning" : "Normal",
			    .reason = d->reason,
			    .message = d->message,
			    .action = action,
			    .component = CL_SVC,
			    .instance = st->instance,
			    .seed = seed,
			};
			char err[256];

			snprintf(disc, sizeof(disc), "%s/%s", cl_phase_name(d->phase), d->reason);
			snprintf(seed, sizeof(seed), "%s/%s/%s/%s", j->spec.ns, j->spec.name,
				 j->spec.id, disc);
			if (wk_emit_post_event(st->k8s, &ev, err, sizeof(err)) < 0)
				wk_logk(WK_LOG_WARN, key, "event: %s", err);
		}
	}
	cJSON_Delete(cs);
	j->reported = true;
	j->progress = d->progress;
	wk_strlcpy(j->reason, d->reason, sizeof(j->reason));
}

int cl_audit_refusal(struct cl_state *st, const rd_kafka_message_t *m, const char *ns,
		     const char *rid, const char *code, const char *msg)
{
	int rc;
	struct wk_emit_audit au;
	char id[64], key[400], off[32], part[16];
	char *body;
	cJSON *d = cJSON_CreateObject();
	const char *parts[] = {st->cluster, rd_kafka_topic_name(m->rkt), part, off};

	snprintf(part, sizeof(part), "%d", (int)m->partition);
	snprintf(off, sizeof(off), "%lld", (long long)m->offset);
	wk_emit_keyed_id("clr", parts, 4, id, sizeof(id));
	cJSON_AddStringToObject(d, "deadLetterReason", code);
	if (st->requester)
		cJSON_AddItemToObject(d, "requester", wk_authz_identity_json(st->requester));
	memset(&au, 0, sizeof(au));
	au.request_id = rid;
	au.topic = rd_kafka_topic_name(m->rkt);
	au.partition = m->partition;
	au.offset = m->offset;
	au.cluster = st->cluster;
	au.ns = ns;
	au.actor = CL_SVC;
	au.action = "clone.request-refused";
	au.outcome = "rejected";
	au.reason = code;
	au.message = msg;
	au.details = d;
	body = wk_emit_audit_json(&au);
	snprintf(key, sizeof(key), "%s/%s/-", st->cluster, ns && *ns ? ns : "-");
	{
		char err[256];

		if (wk_emit_send(st->prod, st->t_audit, key, st->cluster, WK_CE_AUDIT, id, NULL,
				 body, NULL, err, sizeof(err)) < 0)
			wk_warn("audit: %s", err);
	}
	/* The core stores the offset right after the dead letter: make the audit durable
	 * first (not delivered: the caller retries; the audit id is the same, deduped). */
	rc = wk_producer_flush(st->prod, 10000);
	free(body);
	cJSON_Delete(d);
	return rc;
}

static void audit_target(struct cl_state *st, const struct cl_submission *s, const char *target,
			 const char *outcome, const char *reason, const char *msg)
{
	struct wk_emit_audit au;
	const char *parts[] = {st->cluster, s->ns, target, s->id, "target", reason};
	char id[64], key[600], err[256];
	char *body;

	wk_emit_keyed_id("cl", parts, WK_ARRAY_SIZE(parts), id, sizeof(id));
	memset(&au, 0, sizeof(au));
	au.request_id = s->id;
	au.source_type = "kafka";
	au.cluster = st->cluster;
	au.ns = s->ns;
	au.name = target;
	au.actor = CL_SVC;
	au.action = "clone.target";
	au.outcome = outcome;
	au.reason = reason;
	au.message = msg;
	body = wk_emit_audit_json(&au);
	snprintf(key, sizeof(key), "%s/%s/%s-vm", st->cluster, s->ns, target);
	if (wk_emit_send(st->prod, st->t_audit, key, st->cluster, WK_CE_AUDIT, id, NULL, body, NULL,
			 err, sizeof(err)) < 0)
		wk_warn("audit target '%s': %s", target, err);
	free(body);
}

/* ---- Kubernetes helpers ---- */

static cJSON *get_obj(struct cl_state *st, const struct wk_k8s_resource *r, const char *ns,
		      const char *name, bool *ok)
{
	struct wk_k8s_result res;
	char err[512];
	cJSON *o = NULL;

	if (!name || !*name)
		return NULL;
	if (wk_k8s_get(st->k8s, r, ns, name, &res, err, sizeof(err)) == 0)
		o = wk_k8s_result_take(&res);
	else if (res.err != WK_K8S_ENOTFOUND && res.err != WK_K8S_EREFUSED) {
		wk_warn("%s", err);
		*ok = false;
	}
	wk_k8s_result_release(&res);
	return o;
}

static int create_obj(struct cl_state *st, const struct wk_k8s_resource *r, const char *ns,
		      cJSON *obj, char *err, size_t n)
{
	struct wk_k8s_result res;
	int rc = wk_k8s_create(st->k8s, r, ns, obj, &res, err, n);

	if (rc < 0 && res.err == WK_K8S_EALREADYEXISTS)
		rc = 0; /* a replay after a crash: the deterministic name makes it the same one */
	/* A webhook or the API server refusing the object (400 from KubeVirt's admitters, e.g.
	 * "snapshot feature gate is not enabled", 403, 422) will refuse it again: not retried. */
	else if (rc < 0 && (res.err == WK_K8S_EBADREQUEST || res.err == WK_K8S_EFORBIDDEN ||
			    res.err == WK_K8S_EINVALID))
		rc = -2;
	wk_k8s_result_release(&res);
	cJSON_Delete(obj);
	return rc;
}

static int delete_obj(struct cl_state *st, const struct wk_k8s_resource *r, const char *ns,
		      const char *name)
{
	struct wk_k8s_result res;
	struct wk_k8s_delete_opts o = {.propagation_policy = "Background", .grace_period_s = -1};
	char err[512];
	int rc = wk_k8s_delete(st->k8s, r, ns, name, &o, &res, err, sizeof(err));

	if (rc < 0 && res.err == WK_K8S_ENOTFOUND)
		rc = 0;
	if (rc < 0)
		wk_warn("%s", err);
	wk_k8s_result_release(&res);
	return rc;
}

static int merge_patch(struct cl_state *st, const struct wk_k8s_resource *r, const char *ns,
		       const char *name, cJSON *patch)
{
	struct wk_k8s_result res;
	char err[512], *p = cJSON_PrintUnformatted(patch);
	int rc =
	    wk_k8s_patch(st->k8s, r, ns, name, NULL, WK_K8S_PATCH_MERGE, p, &res, err, sizeof(err));

	if (rc < 0)
		wk_warn("%s", err);
	wk_k8s_result_release(&res);
	free(p);
	cJSON_Delete(patch);
	return rc;
}

/* ---- actions ---- */

static const char *source_vm_name(const struct cl_job *j, const struct cl_observed *o)
{
	return j->spec.type == CL_SRC_VMI ? o->vmi_owner : j->spec.source_name;
}

static int act_start_source(struct cl_state *st, struct cl_job *j, const struct cl_observed *o)
{
	cJSON *p = cJSON_CreateObject(), *spec;
	char key[160];

	cl_started_key(&j->spec, key, sizeof(key));
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"), key,
	    j->spec.id);
	spec = cJSON_AddObjectToObject(p, "spec");
	cJSON_AddStringToObject(spec, "runStrategy", "Always");
	cJSON_AddNullToObject(spec, "running");
	return merge_patch(st, &wk_res_virtualmachines, j->spec.source_ns, source_vm_name(j, o), p);
}

static int act_release_source(struct cl_state *st, struct cl_job *j, const struct cl_observed *o)
{
	cJSON *p = cJSON_CreateObject();
	char key[160];

	cl_started_key(&j->spec, key, sizeof(key));
	cJSON_AddNullToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"), key);
	/* The last job holding a VM it started puts it back to stopped, as it was found. */
	if (o->others_started == 0 && st->restore_source) {
		cJSON *spec = cJSON_AddObjectToObject(p, "spec");

		cJSON_AddStringToObject(spec, "runStrategy", "Halted");
		cJSON_AddNullToObject(spec, "running");
	}
	return merge_patch(st, &wk_res_virtualmachines, j->spec.source_ns, source_vm_name(j, o), p);
}

static int act_create_snapshot(struct cl_state *st, struct cl_job *j, const struct cl_observed *o)
{
	cJSON *s = cJSON_CreateObject(), *spec, *src;
	char err[512];
	int rc;

	cJSON_AddStringToObject(s, "apiVersion", "snapshot.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(s, "kind", "VirtualMachineSnapshot");
	add_meta(cJSON_AddObjectToObject(s, "metadata"), j, j->base);
	spec = cJSON_AddObjectToObject(s, "spec");
	src = cJSON_AddObjectToObject(spec, "source");
	cJSON_AddStringToObject(src, "apiGroup", "kubevirt.io");
	cJSON_AddStringToObject(src, "kind", "VirtualMachine");
	cJSON_AddStringToObject(src, "name", source_vm_name(j, o));
	cJSON_AddStringToObject(spec, "deletionPolicy", "Delete");
	cJSON_AddStringToObject(spec, "failureDeadline", st->failure_deadline);
	rc = create_obj(st, &wk_res_virtualmachinesnapshots, j->spec.ns, s, err, sizeof(err));
	if (rc == -2) {
		wk_strlcpy(j->refused, "SnapshotRefused", sizeof(j->refused));
		snprintf(j->refused_msg, sizeof(j->refused_msg),
			 "creating the VirtualMachineSnapshot was refused: %s", err);
	}
	if (rc < 0)
		wk_warn("create snapshot: %s", err);
	return rc;
}

/* The guarded removes of selective_patches for one list: items at path
 * ("/spec/template/spec/volumes"), highest index first. */
static void drop_unwanted(const struct cl_job *j, const cJSON *items, const char *path,
			  cJSON *patches)
{
	char buf[512];

	for (int i = cJSON_GetArraySize(items) - 1; i >= 0; i--) {
		const char *n = wk_json_str(cJSON_GetArrayItem(items, i), "name");

		if (!n || cl_job_wants_disk(&j->spec, n))
			continue;
		snprintf(buf, sizeof(buf),
			 "{\"op\":\"test\",\"path\":\"%s/%d/name\",\"value\":\"%s\"}", path, i, n);
		cJSON_AddItemToArray(patches, cJSON_CreateString(buf));
		snprintf(buf, sizeof(buf), "{\"op\":\"remove\",\"path\":\"%s/%d\"}", path, i);
		cJSON_AddItemToArray(patches, cJSON_CreateString(buf));
	}
}

/* JSON patches for the clone that drop the volumes (and their disks) not listed in
 * cloneSource.disks; highest index first so the earlier indexes stay valid. Each remove is
 * guarded by a test of the name. */
static void selective_patches(const struct cl_job *j, const cJSON *vm, cJSON *patches)
{
	const cJSON *tspec = wk_json_path(vm, "spec.template.spec");

	drop_unwanted(j, wk_json_path(tspec, "domain.devices.disks"),
		      "/spec/template/spec/domain/devices/disks", patches);
	drop_unwanted(j, wk_json_path(tspec, "volumes"), "/spec/template/spec/volumes", patches);
}

/* The VirtualMachineSnapshotContent of our snapshot (its spec.source.virtualMachine is the VM copy
 * the clone's patches apply to), or NULL (logged) when it cannot be read yet. */
static cJSON *snapshot_vm_copy(struct cl_state *st, const struct cl_job *j)
{
	bool ok = true;
	cJSON *snap = get_obj(st, &wk_res_virtualmachinesnapshots, j->spec.ns, j->base, &ok),
	      *content = NULL;
	const char *cname = wk_json_str(snap, "status.virtualMachineSnapshotContentName");

	if (cname)
		content =
		    get_obj(st, &wk_res_virtualmachinesnapshotcontents, j->spec.ns, cname, &ok);
	if (!content || !wk_json_path(content, "spec.source.virtualMachine.spec")) {
		wk_warn("clone '%s': the snapshot content of '%s' (%s) has no VM copy yet",
			j->spec.id, j->base, cname ? cname : "no content name");
		cJSON_Delete(content);
		content = NULL;
	}
	cJSON_Delete(snap);
	return content;
}

static cJSON *str_array(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (; *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static int act_create_clone(struct cl_state *st, struct cl_job *j, const cJSON *source_vm)
{
	/* Keep the user's labels/annotations; drop what names the source's identity: the
	 * Wukong and request labels (the fix-up sets the target's own), KubeVirt's bookkeeping,
	 * and kubectl's last-applied copy of someone else's manifest. */
	static const char *const lf[] = {"*", "!vm.novasphere.dev/*", "!kubevirt.io/*",
					 "!app.kubernetes.io/managed-by", NULL};
	static const char *const af[] = {"*",
					 "!kubevirt.io/*",
					 "!kubectl.kubernetes.io/last-applied-configuration",
					 "!vm.novasphere.dev/*",
					 "!" CL_ANN_STARTED_PREFIX "*",
					 NULL};
	static const char *const tlf[] = {"*", "!vm.novasphere.dev/*", "!kubevirt.io/*", NULL};
	static const char *const taf[] = {"*", "!kubevirt.io/*", NULL};
	cJSON *c = cJSON_CreateObject(), *spec, *r, *tmpl, *patches;
	char serial[64], err[512];
	int rc;

	cJSON_AddStringToObject(c, "apiVersion", "clone.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(c, "kind", "VirtualMachineClone");
	add_meta(cJSON_AddObjectToObject(c, "metadata"), j, j->base);
	spec = cJSON_AddObjectToObject(c, "spec");
	r = cJSON_AddObjectToObject(spec, "source");
	cJSON_AddStringToObject(r, "apiGroup", "snapshot.kubevirt.io");
	cJSON_AddStringToObject(r, "kind", "VirtualMachineSnapshot");
	cJSON_AddStringToObject(r, "name", j->base);
	r = cJSON_AddObjectToObject(spec, "target");
	cJSON_AddStringToObject(r, "apiGroup", "kubevirt.io");
	cJSON_AddStringToObject(r, "kind", "VirtualMachine");
	cJSON_AddStringToObject(r, "name", j->spec.target_vm);
	cJSON_AddItemToObject(spec, "labelFilters", str_array(lf));
	cJSON_AddItemToObject(spec, "annotationFilters", str_array(af));
	tmpl = cJSON_AddObjectToObject(spec, "template");
	cJSON_AddItemToObject(tmpl, "labelFilters", str_array(tlf));
	cJSON_AddItemToObject(tmpl, "annotationFilters", str_array(taf));
	/* Empty: every interface gets a newly generated MAC. */
	cJSON_AddObjectToObject(spec, "newMacAddresses");
	cl_smbios_serial(&j->spec, serial, sizeof(serial));
	cJSON_AddStringToObject(spec, "newSMBiosSerial", serial);
	patches = cJSON_CreateArray();
	if (j->spec.ndisks) {
		/* KubeVirt applies the patches to the VM stored in the snapshot content
		 * (clone.go getVmFromSnapshot, restore.go patchVM), not to the live VM, whose
		 * disks may have changed since: the indexes come from that copy. */
		cJSON *content = snapshot_vm_copy(st, j);

		if (!content) {
			cJSON_Delete(patches);
			cJSON_Delete(c);
			return -1; /* the next pass tries again */
		}
		selective_patches(j, wk_json_path(content, "spec.source.virtualMachine"), patches);
		cJSON_Delete(content);
	}
	(void)source_vm;
	if (cJSON_GetArraySize(patches))
		cJSON_AddItemToObject(spec, "patches", patches);
	else
		cJSON_Delete(patches);
	rc = create_obj(st, &wk_res_virtualmachineclones, j->spec.ns, c, err, sizeof(err));
	if (rc == -2) {
		wk_strlcpy(j->refused, "CloneRefused", sizeof(j->refused));
		snprintf(j->refused_msg, sizeof(j->refused_msg),
			 "creating the VirtualMachineClone was refused: %s", err);
	}
	if (rc < 0)
		wk_warn("create clone: %s", err);
	return rc;
}

struct fixup {
	const struct cl_job *j;
	cJSON *removed_claims;
};

static int fixup_mutate(cJSON *vm, void *opaque, char *errstr, size_t n)
{
	struct fixup *f = opaque;
	const struct cl_job_spec *s = &f->j->spec;
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(vm, "metadata");
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(vm, "spec"), *labels, *tspec, *vols, *disks;
	int i;

	(void)errstr;
	(void)n;
	if (!cJSON_IsObject(meta) || !cJSON_IsObject(spec))
		return 1;
	labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	if (!cJSON_IsObject(labels)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "labels");
		labels = cJSON_AddObjectToObject(meta, "labels");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(labels, WK_LABEL_REQUEST_ID);
	cJSON_AddStringToObject(labels, WK_LABEL_REQUEST_ID, s->id);
	if (strlen(s->name) <= 63) {
		cJSON_DeleteItemFromObjectCaseSensitive(labels, WK_LABEL_WUKONG);
		cJSON_AddStringToObject(labels, WK_LABEL_WUKONG, s->name);
	}
	if (s->uid[0] && !cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences")) {
		cJSON *ref = cJSON_CreateObject();

		cJSON_AddStringToObject(ref, "apiVersion", WK_API_VERSION_WUKONG);
		cJSON_AddStringToObject(ref, "kind", "Wukong");
		cJSON_AddStringToObject(ref, "name", s->name);
		cJSON_AddStringToObject(ref, "uid", s->uid);
		cJSON_AddBoolToObject(ref, "controller", true);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "running");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "runStrategy");
	cJSON_AddStringToObject(spec, "runStrategy", s->want_running ? "Always" : "Halted");
	tspec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "template"),
						 "spec");
	vols = cJSON_GetObjectItemCaseSensitive(tspec, "volumes");
	disks = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tspec, "domain"),
					     "devices"),
	    "disks");
	/* A KubeVirt without clone patches (before v1.6) restored every volume: drop the ones
	 * that were not asked for. */
	for (i = cJSON_GetArraySize(vols) - 1; i >= 0; i--) {
		cJSON *v = cJSON_GetArrayItem(vols, i);
		const char *nm = wk_json_str(v, "name");

		if (!nm || cl_job_wants_disk(s, nm))
			continue;
		if (!wk_json_path(v, "persistentVolumeClaim") && !wk_json_path(v, "dataVolume"))
			continue;
		{
			const char *claim = wk_json_str(v, "persistentVolumeClaim.claimName");

			if (claim)
				cJSON_AddItemToArray(f->removed_claims, cJSON_CreateString(claim));
		}
		cJSON_DeleteItemFromArray(vols, i);
	}
	for (i = cJSON_GetArraySize(disks) - 1; i >= 0; i--) {
		const char *nm = wk_json_str(cJSON_GetArrayItem(disks, i), "name");

		if (nm && !cl_job_wants_disk(s, nm))
			cJSON_DeleteItemFromArray(disks, i);
	}
	return 0;
}

/* KubeVirt's restore makes a claim for every volume in the snapshot and applies the clone's
 * patches to the VM only, so a selective clone leaves claims no volume of the target uses. Delete
 * the claims our clone's restore made (annotation restore.kubevirt.io/name) that the target VM
 * does not keep. Runs before the target is labelled: a crash in between repeats it. */
static void drop_unused_restored_claims(struct cl_state *st, struct cl_job *j)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo = {0};
	bool ok = true;
	cJSON *clone = get_obj(st, &wk_res_virtualmachineclones, j->spec.ns, j->base, &ok);
	cJSON *vm = get_obj(st, &wk_res_virtualmachines, j->spec.ns, j->spec.target_vm, &ok);
	const char *uid = wk_json_str(clone, "metadata.uid");
	char restore[128], err[512];
	const cJSON *items, *vols, *pvc, *v;

	if (!uid || !vm) {
		cJSON_Delete(clone);
		cJSON_Delete(vm);
		return;
	}
	snprintf(restore, sizeof(restore), "tmp-restore-%s", uid);
	if (wk_k8s_list_all(st->k8s, &wk_res_persistentvolumeclaims, j->spec.ns, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_warn("list claims for clone '%s': %s", j->base, err);
		wk_k8s_result_release(&res);
		cJSON_Delete(clone);
		cJSON_Delete(vm);
		return;
	}
	items = wk_json_path(res.body, "items");
	vols = wk_json_path(vm, "spec.template.spec.volumes");
	for (pvc = items ? items->child : NULL; pvc; pvc = pvc->next) {
		const char *name = wk_json_str(pvc, "metadata.name");
		const char *made_by = wk_json_meta(pvc, "annotations", "restore.kubevirt.io/name");
		bool kept = false;

		if (!name || !made_by || strcmp(made_by, restore))
			continue;
		for (v = vols ? vols->child : NULL; v; v = v->next) {
			const char *claim = wk_json_str(v, "persistentVolumeClaim.claimName");
			const char *vn = wk_json_str(v, "name");

			if (claim && vn && !strcmp(claim, name) && cl_job_wants_disk(&j->spec, vn))
				kept = true;
		}
		if (!kept) {
			wk_info("clone '%s': deleting restored claim '%s' of a disk not asked for",
				j->base, name);
			delete_obj(st, &wk_res_persistentvolumeclaims, j->spec.ns, name);
		}
	}
	wk_k8s_result_release(&res);
	cJSON_Delete(clone);
	cJSON_Delete(vm);
}

static int act_fixup_target(struct cl_state *st, struct cl_job *j)
{
	struct fixup f = {.j = j, .removed_claims = cJSON_CreateArray()};
	struct wk_k8s_result res;
	char err[512];
	const cJSON *c;
	int rc;

	if (j->spec.ndisks)
		drop_unused_restored_claims(st, j);
	rc = wk_k8s_update(st->k8s, &wk_res_virtualmachines, j->spec.ns, j->spec.target_vm, NULL,
			   fixup_mutate, &f, 0, &res, err, sizeof(err));

	wk_k8s_result_release(&res);
	if (rc < 0)
		wk_warn("fix up target VM: %s", err);
	else
		cJSON_ArrayForEach(c, f.removed_claims)
		    delete_obj(st, &wk_res_persistentvolumeclaims, j->spec.ns, c->valuestring);
	cJSON_Delete(f.removed_claims);
	return rc;
}

/* ---- the per-volume route ---- */

static int refused(struct cl_job *j, int rc, const char *reason, const char *what, const char *err)
{
	if (rc == -2) {
		wk_strlcpy(j->refused, reason, sizeof(j->refused));
		snprintf(j->refused_msg, sizeof(j->refused_msg), "creating %s was refused: %s",
			 what, err);
	}
	if (rc < 0)
		wk_warn("create %s: %s", what, err);
	return rc;
}

static int act_create_volume_snapshots(struct cl_state *st, struct cl_job *j,
				       const struct cl_observed *o)
{
	char err[512];

	for (size_t i = 0; i < o->nvols; i++) {
		const struct cl_vol *v = &o->vols[i];
		int rc;

		if (v->vs != CL_ABSENT || v->dv != CL_ABSENT)
			continue;
		rc = create_obj(st, &wk_res_volumesnapshots, j->spec.source_ns,
				cl_volume_snapshot_obj(&j->spec, v, o->vmi_running), err,
				sizeof(err));
		if (rc < 0)
			return refused(j, rc, "SnapshotRefused", "a VolumeSnapshot", err);
	}
	return 0;
}

static int act_create_target(struct cl_state *st, struct cl_job *j, const cJSON *src_vm)
{
	char serial[64], err[512];

	if (!src_vm)
		return -1; /* the source is gone between the snapshots and now: next pass */
	cl_smbios_serial(&j->spec, serial, sizeof(serial));
	return refused(j,
		       create_obj(st, &wk_res_virtualmachines, j->spec.ns,
				  cl_target_vm_obj(&j->spec, src_vm, serial), err, sizeof(err)),
		       "CloneRefused", "the target VirtualMachine", err);
}

static int act_create_datavolumes(struct cl_state *st, struct cl_job *j,
				  const struct cl_observed *o)
{
	char err[512];

	for (size_t i = 0; i < o->nvols; i++) {
		int rc;

		if (o->vols[i].dv != CL_ABSENT)
			continue;
		/* CDI's webhook checks create on datavolumes/source in the source namespace
		 * for the creator, the cloner (403 otherwise: refused for good) */
		rc = create_obj(st, &wk_res_datavolumes, j->spec.ns,
				cl_datavolume_obj(&j->spec, &o->vols[i], o->target_uid), err,
				sizeof(err));
		if (rc < 0)
			return refused(j, rc, "CloneRefused", "a DataVolume", err);
	}
	return 0;
}

static void delete_volume_snapshots(struct cl_state *st, struct cl_job *j,
				    const struct cl_observed *o)
{
	char name[200];

	for (size_t i = 0; i < o->nvols; i++)
		if (o->vols[i].vs != CL_ABSENT) {
			cl_volume_object_name(&j->spec, o->vols[i].name, name, sizeof(name));
			delete_obj(st, &wk_res_volumesnapshots, j->spec.source_ns, name);
		}
}

int cl_act(struct cl_state *st, struct cl_job *j, enum cl_action a, const struct cl_observed *o,
	   const cJSON *src_vm)
{
	switch (a) {
	case CL_ACT_CREATE_VOLUME_SNAPSHOTS:
		return act_create_volume_snapshots(st, j, o);
	case CL_ACT_CREATE_TARGET:
		return act_create_target(st, j, src_vm);
	case CL_ACT_CREATE_DATAVOLUMES:
		return act_create_datavolumes(st, j, o);
	case CL_ACT_START_SOURCE:
		return act_start_source(st, j, o);
	case CL_ACT_CREATE_SNAPSHOT:
		return act_create_snapshot(st, j, o);
	case CL_ACT_RELEASE_SOURCE:
		return act_release_source(st, j, o);
	case CL_ACT_CREATE_CLONE:
		return act_create_clone(st, j, src_vm);
	case CL_ACT_FIXUP_TARGET:
		return act_fixup_target(st, j);
	case CL_ACT_DELETE_SNAPSHOT:
		if (j->spec.per_volume) {
			delete_volume_snapshots(st, j, o);
			return 0;
		}
		return delete_obj(st, &wk_res_virtualmachinesnapshots, j->spec.ns, j->base);
	case CL_ACT_WAIT:
	case CL_ACT_SUCCEED:
	case CL_ACT_FAIL:
		break;
	}
	return 0;
}

/* Failure or cancellation: nothing of ours stays behind. */
void cl_cleanup(struct cl_state *st, struct cl_job *j, const struct cl_observed *o,
		bool delete_target)
{
	if (o->clone != CL_ABSENT)
		delete_obj(st, &wk_res_virtualmachineclones, j->spec.ns, j->base);
	if (o->snap != CL_ABSENT)
		delete_obj(st, &wk_res_virtualmachinesnapshots, j->spec.ns, j->base);
	if (j->spec.per_volume) {
		char name[200];

		delete_volume_snapshots(st, j, o);
		for (size_t i = 0; i < o->nvols; i++)
			if (o->vols[i].dv != CL_ABSENT && delete_target) {
				cl_volume_object_name(&j->spec, o->vols[i].name, name,
						      sizeof(name));
				delete_obj(st, &wk_res_datavolumes, j->spec.ns, name);
			}
	}
	if (delete_target && o->target_exists && o->target_ours)
		delete_obj(st, &wk_res_virtualmachines, j->spec.ns, j->spec.target_vm);
	if (o->we_started && source_vm_name(j, o)[0])
		act_release_source(st, j, o);
}

/* ---- observing one job ---- */

/* Per-volume route: the kept volumes (from the source VM, else from our target VM), each one's
 * VolumeSnapshot and DataVolume, and (while its DataVolume is still to be made) the source
 * claim's size and class. */
static void observe_vols(struct cl_state *st, struct cl_job *j, struct cl_observed *o,
			 const cJSON *vm, const cJSON *tvm, bool *ok)
{
	char name[200];

	cl_observe_vols(vm ? vm : tvm, &j->spec, !vm, o);
	for (size_t i = 0; i < o->nvols; i++) {
		struct cl_vol *v = &o->vols[i];
		cJSON *x;

		cl_volume_object_name(&j->spec, v->name, name, sizeof(name));
		x = get_obj(st, &wk_res_volumesnapshots, j->spec.source_ns, name, ok);
		cl_observe_volume_snapshot(x, v);
		cJSON_Delete(x);
		x = get_obj(st, &wk_res_datavolumes, j->spec.ns, name, ok);
		cl_observe_datavolume(x, v);
		cJSON_Delete(x);
		if (v->dv == CL_ABSENT && v->claim[0]) {
			x = get_obj(st, &wk_res_persistentvolumeclaims, j->spec.source_ns, v->claim,
				    ok);
			if (wk_json_str(x, "spec.resources.requests.storage"))
				wk_strlcpy(v->size,
					   wk_json_str(x, "spec.resources.requests.storage"),
					   sizeof(v->size));
			if (wk_json_str(x, "spec.storageClassName"))
				wk_strlcpy(v->sclass, wk_json_str(x, "spec.storageClassName"),
					   sizeof(v->sclass));
			cJSON_Delete(x);
		}
	}
}

bool cl_observe(struct cl_state *st, struct cl_job *j, struct cl_observed *o, cJSON **src_vm)
{
	bool ok = true;
	cJSON *vmi = NULL, *vm = NULL, *snap, *clone, *tvm, *tvmi;
	char key[160];
	const char *vmname = NULL;

	memset(o, 0, sizeof(*o));
	o->now_ms = wk_time_mono_ms();
	o->phase_since_ms = j->phase_since_ms;
	cl_started_key(&j->spec, key, sizeof(key));
	if (!j->spec.invalid[0]) {
		vmi = get_obj(st, &wk_res_virtualmachineinstances, j->spec.source_ns,
			      j->spec.source_name, &ok);
		cl_observe_vmi(vmi, o);
		vmname = j->spec.type == CL_SRC_VMI ? o->vmi_owner : j->spec.source_name;
		/* A VMI that is not there: its VM (same name in KubeVirt) may be stopped. */
		if (!vmname[0] && j->spec.type == CL_SRC_VMI && !vmi)
			vmname = j->spec.source_name;
		if (vmname[0])
			vm = get_obj(st, &wk_res_virtualmachines, j->spec.source_ns, vmname, &ok);
		cl_observe_vm(vm, key, o);
	}
	snap = get_obj(st, &wk_res_virtualmachinesnapshots, j->spec.ns, j->base, &ok);
	cl_observe_snapshot(snap, o);
	clone = get_obj(st, &wk_res_virtualmachineclones, j->spec.ns, j->base, &ok);
	cl_observe_clone(clone, o);
	if (strcmp(o->clone_phase, j->clone_phase)) {
		wk_strlcpy(j->clone_phase, o->clone_phase, sizeof(j->clone_phase));
		j->clone_phase_since_ms = o->now_ms;
	}
	o->clone_phase_since_ms = j->clone_phase_since_ms;
	/* Before anything of ours exists: can KubeVirt clone at all, does the selection fit the
	 * source (a user error on any version), can this version do a selection? (The
	 * per-volume route needs neither the Snapshot gate nor VirtualMachineClone.) */
	if (j->spec.per_volume && !j->spec.invalid[0] && vm &&
	    cl_check_disks((const char(*)[64])j->spec.disks, j->spec.ndisks, vm, o->refuse_why,
			   sizeof(o->refuse_why)) < 0)
		wk_strlcpy(o->refuse_code, "InvalidDiskSelection", sizeof(o->refuse_code));
	if (!j->spec.per_volume && !j->spec.invalid[0] && o->snap == CL_ABSENT &&
	    o->clone == CL_ABSENT &&
	    cl_cluster_refusal(st, false, o->refuse_code, sizeof(o->refuse_code), o->refuse_why,
			       sizeof(o->refuse_why)) == 0) {
		if (vm && cl_check_disks((const char(*)[64])j->spec.disks, j->spec.ndisks, vm,
					 o->refuse_why, sizeof(o->refuse_why)) < 0)
			wk_strlcpy(o->refuse_code, "InvalidDiskSelection", sizeof(o->refuse_code));
		else if (j->spec.ndisks)
			cl_cluster_refusal(st, true, o->refuse_code, sizeof(o->refuse_code),
					   o->refuse_why, sizeof(o->refuse_why));
	}
	tvm = get_obj(st, &wk_res_virtualmachines, j->spec.ns, j->spec.target_vm, &ok);
	tvmi =
	    tvm ? get_obj(st, &wk_res_virtualmachineinstances, j->spec.ns, j->spec.target_vm, &ok)
		: NULL;
	{
		const char *tn = wk_json_str(clone, "status.targetName");
		bool made = clone && (o->clone != CL_IN_PROGRESS || (tn && o->clone_phase[0]));

		cl_observe_target(tvm, tvmi, &j->spec, made, o);
		wk_strlcpy(o->target_uid,
			   wk_json_str(tvm, "metadata.uid") ? wk_json_str(tvm, "metadata.uid") : "",
			   sizeof(o->target_uid));
	}
	if (j->spec.per_volume && !j->spec.invalid[0])
		observe_vols(st, j, o, vm, o->target_ours ? tvm : NULL, &ok);
	/* what the copy was taken from, once the snapshot that said so is gone */
	o->online_known = j->cons != NULL;
	o->was_online = j->cons_reason && strcmp(j->cons_reason, "Offline");
	cJSON_Delete(vmi);
	cJSON_Delete(snap);
	cJSON_Delete(clone);
	cJSON_Delete(tvm);
	cJSON_Delete(tvmi);
	*src_vm = vm;
	return ok;
}

/* ---- what the cluster's KubeVirt can do ---- */

void cl_refresh_cluster(struct cl_state *st)
{
	struct wk_kubevirt_info kv;
	struct wk_k8s_result res;
	char err[512];
	bool api = st->clone_api;

	if (wk_kubevirt_fetch(st->k8s, &kv, err, sizeof(err)) < 0) {
		wk_warn("%s (keeping what was known)", err);
	} else {
		bool snap = wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT);

		if (!st->kv_read || strcmp(kv.version, st->kv.version) ||
		    snap != wk_kubevirt_gate(&st->kv, WK_KV_GATE_SNAPSHOT) ||
		    kv.found != st->kv.found)
			wk_info("KubeVirt %s%s: Snapshot gate %s", wk_kubevirt_version_str(&kv),
				kv.found ? "" : " (no KubeVirt CR)", snap ? "on" : "off");
		st->kv = kv;
		st->kv_read = true;
	}
	/* Discovery of the clone API: 404 = not served (no KubeVirt, or one without clones). */
	if (wk_k8s_request(st->k8s, "GET", "/apis/clone.kubevirt.io/v1beta1", NULL, NULL, 0, &res,
			   err, sizeof(err)) == 0)
		api = true;
	else if (res.err == WK_K8S_ENOTFOUND)
		api = false;
	else
		wk_warn("discovery of clone.kubevirt.io/v1beta1: %s", err);
	if (api != st->clone_api)
		wk_info("clone.kubevirt.io/v1beta1 %s", api ? "served" : "not served");
	st->clone_api = api;
	wk_k8s_result_release(&res);
}

int cl_cluster_refusal(struct cl_state *st, bool selective, char *code, size_t code_size, char *why,
		       size_t why_size)
{
	return cl_check_cluster(&st->kv, st->kv_read, st->clone_api, selective, code, code_size,
				why, why_size);
}

/* ---- job intake and relist ---- */

static void wukong_status_final(const cJSON *wk, const char *id, bool *final)
{
	const cJSON *cs = wk_json_path(wk, "status.cloneStatus");
	const char *rid = wk_json_str(cs, "requestId"), *ph = wk_json_str(cs, "phase");

	*final =
	    rid && !strcmp(rid, id) && ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

void cl_intake(struct cl_state *st, const cJSON *wk)
{
	struct cl_job_spec spec;
	struct cl_job *j;
	bool final;
	int rc = cl_job_from_wukong(wk, st->cluster, &spec);

	if (rc <= 0)
		return;
	if (wk_json_path(wk, "metadata.deletionTimestamp"))
		return;
	j = cl_job_find(st, spec.ns, spec.name);
	if (j) {
		if (!j->spec.uid[0] && spec.uid[0])
			wk_strlcpy(j->spec.uid, spec.uid, sizeof(j->spec.uid));
		return;
	}
	wukong_status_final(wk, spec.id, &final);
	if (final || is_done(st, spec.ns, spec.name, spec.id))
		return;
	j = wk_xcalloc(1, sizeof(*j));
	j->spec = spec;
	cl_object_name(&spec, j->base, sizeof(j->base));
	j->phase = CL_PH_PENDING;
	j->phase_since_ms = wk_time_mono_ms();
	j->next = st->jobs;
	st->jobs = j;
	st->dirty = true;
	wk_metric_inc(st->m_jobs, (const char *const[]){spec.from_kafka ? "kafka" : "spec"}, 1);
	wk_info("clone job '%s' for wukong '%s/%s' from %s '%s/%s'", spec.id, spec.ns, spec.name,
		spec.type == CL_SRC_VMI ? "vmi" : "vm", spec.source_ns, spec.source_name);
}

/* Every Wukong, and every snapshot/clone of ours whose job is gone (kill -9 between a
 * Wukong's deletion and our cleanup, or a finished job whose snapshot deletion was lost). */
/* A snapshot or clone the cloner made (it), for cl_relist: its namespace, name and Wukong name,
 * and the Wukong (*wk, caller-owned; NULL: it is gone). false, *wk NULL, when there is nothing to
 * decide: a field is missing, the job is live, or the Wukong could not be read. */
static bool relist_item(struct cl_state *st, const cJSON *it, const char **ns, const char **name,
			const char **wkn, cJSON **wk)
{
	const cJSON *meta = wk_json_path(it, "metadata");
	bool ok = true;

	*ns = wk_json_str(meta, "namespace");
	*name = wk_json_str(meta, "name");
	*wkn = wk_json_meta(it, "annotations", WK_ANN_WUKONG_NAME);
	*wk = NULL;
	if (!*ns || !*name || !*wkn || cl_job_find(st, *ns, *wkn))
		return false;
	*wk = get_obj(st, &wk_res_wukongs, *ns, *wkn, &ok);
	if (!ok) {
		cJSON_Delete(*wk);
		*wk = NULL;
		return false;
	}
	return true;
}

void cl_relist(struct cl_state *st)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo = {0};
	char err[512], sel[128];
	const cJSON *it;

	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_warn("relist wukongs: %s", err);
		wk_k8s_result_release(&res);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items")) cl_intake(st, it);
	wk_k8s_result_release(&res);
	snprintf(sel, sizeof(sel), "%s=%s", CL_LABEL_MANAGED, CL_MANAGED_VALUE);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachinesnapshots, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_warn("relist snapshots: %s", err);
		wk_k8s_result_release(&res);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *ns, *name, *wkn;
		bool keep = false;
		cJSON *wk;

		if (!relist_item(st, it, &ns, &name, &wkn, &wk))
			continue;
		if (wk) {
			const cJSON *cs = wk_json_path(wk, "status.cloneStatus");
			const char *ph = wk_json_str(cs, "phase");

			keep = cJSON_IsTrue(wk_json_path(wk, "spec.cloneSource.keepSnapshot")) &&
			       ph && !strcmp(ph, "Succeeded");
			/* A job still to come (the Wukong will be taken in by intake). */
			if (!ph || (strcmp(ph, "Succeeded") && strcmp(ph, "Failed")))
				keep = true;
		}
		cJSON_Delete(wk);
		if (!keep) {
			wk_info("deleting orphaned temporary snapshot '%s/%s'", ns, name);
			delete_obj(st, &wk_res_virtualmachinesnapshots, ns, name);
		}
	}
	wk_k8s_result_release(&res);
	/* Clones whose Wukong is gone (deleted while we were down): the clone and the VM it
	 * made go too. A clone of a live Wukong stays: it records the success. */
	if (wk_k8s_list_all(st->k8s, &wk_res_virtualmachineclones, NULL, &lo, &res, err,
			    sizeof(err)) < 0) {
		wk_warn("relist clones: %s", err);
		wk_k8s_result_release(&res);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(res.body, "items"))
	{
		const char *tgt = wk_json_meta(it, "annotations", WK_ANN_CLONE_TARGET);
		const char *made = wk_json_str(it, "status.targetName");
		const char *ns, *name, *wkn;
		cJSON *wk;

		if (!relist_item(st, it, &ns, &name, &wkn, &wk))
			continue;
		if (!wk) {
			wk_info("deleting orphaned clone '%s/%s' (wukong '%s' is gone)", ns, name,
				wkn);
			delete_obj(st, &wk_res_virtualmachineclones, ns, name);
			if (tgt && made && !strcmp(tgt, made))
				delete_obj(st, &wk_res_virtualmachines, ns, tgt);
		}
		cJSON_Delete(wk);
	}
	wk_k8s_result_release(&res);
}

/* ---- submissions ---- */

enum wk_msg_result cl_submit(struct cl_state *st, const struct cl_submission *s,
			     struct cl_verdict *v)
{
	enum wk_msg_result out = WK_MSG_DONE;
	cJSON *src_vm = NULL, *src_wk = NULL;
	const cJSON *base = NULL;
	char err[512];
	bool ok = true;
	size_t i;

	/* The targets' spec: the source Wukong's when the source VM belongs to one. */
	if (s->type == CL_SRC_VM) {
		src_vm = get_obj(st, &wk_res_virtualmachines, s->source_ns, s->source_name, &ok);
	} else {
		cJSON *vmi =
		    get_obj(st, &wk_res_virtualmachineinstances, s->source_ns, s->source_name, &ok);
		const cJSON *r, *refs = wk_json_path(vmi, "metadata.ownerReferences");

		for (r = refs ? refs->child : NULL; r; r = r->next) {
			if (wk_json_str(r, "kind") &&
			    !strcmp(wk_json_str(r, "kind"), "VirtualMachine"))
				src_vm = get_obj(st, &wk_res_virtualmachines, s->source_ns,
						 wk_json_str(r, "name"), &ok);
		}
		cJSON_Delete(vmi);
	}
	if (!ok) {
		out = WK_MSG_RETRY;
		goto done;
	}
	/* A selection that names a disk the source does not have, or drops its boot disk, would
	 * end in a VM without (bootable) disks: refused before any Wukong exists. */
	if (src_vm && cl_check_disks((const char(*)[64])s->disks, s->ndisks, src_vm, v->message,
				     sizeof(v->message)) < 0) {
		wk_strlcpy(v->code, "InvalidDiskSelection", sizeof(v->code));
		out = WK_MSG_REJECT;
		goto done;
	}
	/* a selection on a KubeVirt without clone patches (1.5) */
	if (s->ndisks && cl_cluster_refusal(st, true, v->code, sizeof(v->code), v->message,
					    sizeof(v->message)) < 0) {
		out = WK_MSG_REJECT;
		goto done;
	}
	{
		const char *wkn = wk_json_meta(src_vm, "labels", WK_LABEL_WUKONG);

		if (wkn)
			src_wk = get_obj(st, &wk_res_wukongs, s->source_ns, wkn, &ok);
		base = wk_json_path(src_wk, "spec");
	}
	for (i = 0; i < s->ntargets; i++) {
		cJSON *wk = cl_wukong_for_target(s, i, base, src_vm), *have;
		struct wk_k8s_result res;

		have = get_obj(st, &wk_res_wukongs, s->ns, s->targets[i].name, &ok);
		if (!ok) {
			cJSON_Delete(wk);
			out = WK_MSG_RETRY;
			goto done;
		}
		if (have) {
			const char *r = wk_json_meta(have, "annotations", WK_ANN_CLONE_REQUEST);

			if (!r || strcmp(r, s->id)) {
				snprintf(err, sizeof(err),
					 "a Wukong named '%s' already exists in '%s' and is not "
					 "this request's: target skipped",
					 s->targets[i].name, s->ns);
				wk_warn("%s", err);
				audit_target(st, s, s->targets[i].name, "rejected",
					     "TargetNameTaken", err);
			} else {
				/* A retry after an undelivered audit: say it again (same id). */
				audit_target(st, s, s->targets[i].name, "pending", "TargetCreated",
					     "Wukong created for a running clone");
			}
			cJSON_Delete(have);
			cJSON_Delete(wk);
			continue;
		}
		if (wk_k8s_create(st->k8s, &wk_res_wukongs, s->ns, wk, &res, err, sizeof(err)) <
			0 &&
		    res.err != WK_K8S_EALREADYEXISTS) {
			bool transient = res.err == WK_K8S_ETRANSPORT ||
					 res.err == WK_K8S_ESERVER || res.err == WK_K8S_ETOOMANY;

			wk_k8s_result_release(&res);
			cJSON_Delete(wk);
			if (transient) {
				out = WK_MSG_RETRY;
				goto done;
			}
			audit_target(st, s, s->targets[i].name, "failure", "TargetNotCreated", err);
			continue;
		}
		if (res.body)
			cl_intake(st, res.body);
		wk_k8s_result_release(&res);
		cJSON_Delete(wk);
		audit_target(st, s, s->targets[i].name, "pending", "TargetCreated",
			     "Wukong created for a running clone");
	}
	wk_info("clone submission '%s': %zu target(s) in '%s' from %s '%s/%s', parallelism %d",
		s->id, s->ntargets, s->ns, s->type == CL_SRC_VMI ? "vmi" : "vm", s->source_ns,
		s->source_name, s->parallelism);
	/* The Wukongs are the durable record: the audit lines go out before the offset, and
	 * when they could not, the submission is retried (it finds its Wukongs and audits again).
	 */
	if (wk_producer_flush(st->prod, 10000) < 0) {
		wk_warn("clone submission '%s': audit lines not delivered, retrying", s->id);
		out = WK_MSG_RETRY;
	}
done:
	cJSON_Delete(src_vm);
	cJSON_Delete(src_wk);
	return out;
}
