/* cl_volumes.c - the per-volume clone route (cl_machine.h): a VolumeSnapshot of each kept
 * claim in the source namespace, the target VM (halted) in the Wukong's namespace, a CDI
 * DataVolume cloned from each VolumeSnapshot there, then the run state, the snapshots' removal
 * and the target's start. Used for a disk selection (a VirtualMachineSnapshot would take every
 * disk, including those left out) and for another namespace (KubeVirt's snapshot, restore and
 * clone are namespace-local; CDI clones a snapshot across namespaces given datavolumes/source).
 * Pure: the decision, the observers of VolumeSnapshots and DataVolumes, the objects to create. */
#include "cl_machine.h"

#include "wk_json.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

/* Marks a VolumeSnapshot taken while the source ran (crash-safe memory of the consistency). */
#define CL_ANN_SOURCE_RUNNING "clone.vm.novasphere.dev/source-running"
/* CDI: bind the DataVolume's claim now even on a WaitForFirstConsumer class (the target stays
 * halted until the copy is done), and keep the DataVolume after it succeeds (the target VM
 * names it). pkg/controller/common/util.go AnnImmediateBinding, AnnDeleteAfterCompletion. */
#define CDI_ANN_IMMEDIATE "cdi.kubevirt.io/storage.bind.immediate.requested"
#define CDI_ANN_DELETE_AFTER "cdi.kubevirt.io/storage.deleteAfterCompletion"

const char *cl_volumes_consistency(const struct cl_observed *o, const char **reason)
{
	bool any = false, running = false;

	for (size_t i = 0; i < o->nvols; i++)
		if (o->vols[i].vs != CL_ABSENT) {
			any = true;
			running |= o->vols[i].vs_source_running;
		}
	if (!any) {
		if (reason)
			*reason = NULL;
		return NULL;
	}
	if (reason)
		*reason = running ? "NoFreeze" : "Offline";
	return running ? "crash-consistent" : "filesystem-consistent";
}

static size_t count(const struct cl_observed *o, bool dv, enum cl_obj st)
{
	size_t n = 0;

	for (size_t i = 0; i < o->nvols; i++)
		n += (dv ? o->vols[i].dv : o->vols[i].vs) == st;
	return n;
}

void cl_decide_volumes(const struct cl_job_spec *j, const struct cl_observed *o,
		       const struct cl_timeouts *t, struct cl_decision *d)
{
	const char *src = j->source_name;
	const char *vm = j->type == CL_SRC_VMI ? o->vmi_owner : j->source_name;
	size_t i, n = o->nvols;
	bool created = (o->target_exists && o->target_ours) || count(o, false, CL_ABSENT) < n ||
		       count(o, true, CL_ABSENT) < n;
	bool fin_late;

	memset(d, 0, sizeof(*d));
	if (o->target_exists && !o->target_ours) {
		cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "TargetNameTaken",
		    "a VirtualMachine named '%s' already exists in '%s' and is not this clone's",
		    j->target_vm, j->ns);
		return;
	}
	if (!created) {
		/* Nothing of ours exists: check everything before the first create. */
		if (o->refuse_code[0]) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, o->refuse_code, "%s", o->refuse_why);
			return;
		}
		if (j->type == CL_SRC_VMI && (!o->vmi_exists || !o->vmi_running)) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0,
			    o->vmi_exists || o->vm_exists ? "SourceNotRunning" : "SourceNotFound",
			    "VirtualMachineInstance '%s/%s' %s", j->source_ns, src,
			    o->vmi_exists ? "is not running" : "does not exist");
			return;
		}
		if (!o->vm_exists || !vm[0]) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotFound",
			    "VirtualMachine '%s/%s' does not exist", j->source_ns,
			    vm[0] ? vm : src);
			return;
		}
		if (j->offline && o->vmi_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceRunning",
			    "cloneType offline copies a stopped VM, and VirtualMachine '%s/%s' is "
			    "running: stop it first, or use cloneType running",
			    j->source_ns, vm);
			return;
		}
		for (i = 0; i < n; i++)
			if (!o->vols[i].snapshottable) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "StorageCannotSnapshot",
				    "disk '%s' (claim '%s') cannot be snapshotted: %s%s",
				    o->vols[i].name, o->vols[i].claim, o->vols[i].why,
				    j->ndisks ? "; leave it out of disks, or give its class a "
						"VolumeSnapshotClass"
					      : "");
				return;
			}
	}
	/* Snapshots: one per kept claim whose DataVolume does not exist yet. */
	for (i = 0; i < n; i++) {
		const struct cl_vol *v = &o->vols[i];

		if (v->dv == CL_ABSENT && v->vs == CL_FAILED) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotFailed",
			    "VolumeSnapshot of claim '%s/%s' (disk '%s') failed: %s", j->source_ns,
			    v->claim, v->name, v->vs_msg[0] ? v->vs_msg : "no reason given");
			return;
		}
	}
	for (i = 0; i < n; i++)
		if (o->vols[i].dv == CL_ABSENT && o->vols[i].vs == CL_ABSENT) {
			cl_decision_set(d, CL_ACT_CREATE_VOLUME_SNAPSHOTS, CL_PH_SNAPSHOTTING, 10,
			    "SnapshotStarted",
			    "taking a VolumeSnapshot of %zu disk%s of VM '%s/%s' (%s)", n,
			    n == 1 ? "" : "s", j->source_ns, vm[0] ? vm : src,
			    o->vmi_running ? "running: crash-consistent, no filesystem freeze"
					   : "stopped: at rest, not started");
			return;
		}
	for (i = 0; i < n; i++)
		if (o->vols[i].dv == CL_ABSENT && o->vols[i].vs == CL_IN_PROGRESS) {
			if (t->snapshot_ms > 0 && o->now_ms - o->phase_since_ms >= t->snapshot_ms) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotDeadlineExceeded",
				    "VolumeSnapshot of claim '%s' not ready within %llds%s%s",
				    o->vols[i].claim, (long long)(t->snapshot_ms / 1000),
				    o->vols[i].vs_msg[0] ? ": " : "", o->vols[i].vs_msg);
				return;
			}
			cl_decision_set(d, CL_ACT_WAIT, CL_PH_SNAPSHOTTING, 25, "SnapshotInProgress",
			    "%zu of %zu VolumeSnapshots ready", count(o, false, CL_READY), n);
			return;
		}
	/* Every disk is cut: the target VM, then its DataVolumes (owned by it). */
	if (!o->target_exists) {
		cl_decision_set(d, CL_ACT_CREATE_TARGET, CL_PH_CLONING, 50, "SnapshotReady",
		    "VolumeSnapshots ready; creating the target VM '%s/%s' (halted until its disks "
		    "are copied)",
		    j->ns, j->target_vm);
		return;
	}
	if (count(o, true, CL_ABSENT)) {
		cl_decision_set(d, CL_ACT_CREATE_DATAVOLUMES, CL_PH_CLONING, 55, "CloneInProgress",
		    "cloning %zu DataVolume%s into '%s' from the VolumeSnapshots in '%s'",
		    count(o, true, CL_ABSENT), count(o, true, CL_ABSENT) == 1 ? "" : "s", j->ns,
		    j->source_ns);
		return;
	}
	for (i = 0; i < n; i++)
		if (o->vols[i].dv == CL_FAILED) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "CloneFailed",
			    "DataVolume for disk '%s' failed: %s", o->vols[i].name,
			    o->vols[i].dv_msg[0] ? o->vols[i].dv_msg : "no reason given");
			return;
		}
	if (count(o, true, CL_IN_PROGRESS)) {
		if (t->clone_ms > 0 && o->now_ms - o->phase_since_ms >= t->clone_ms) {
			for (i = 0; i < n && o->vols[i].dv != CL_IN_PROGRESS; i++)
				;
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "CloneTimeout",
			    "DataVolume for disk '%s' not done within %llds (%s%s%s)",
			    o->vols[i].name, (long long)(t->clone_ms / 1000),
			    o->vols[i].dv_phase[0] ? o->vols[i].dv_phase : "no phase",
			    o->vols[i].dv_msg[0] ? ": " : "", o->vols[i].dv_msg);
			return;
		}
		cl_decision_set(d, CL_ACT_WAIT, CL_PH_CLONING, 70, "CloneInProgress",
		    "%zu of %zu DataVolumes copied", count(o, true, CL_READY), n);
		return;
	}
	/* Every disk copied. */
	fin_late = t->finalize_ms > 0 && o->now_ms - o->phase_since_ms >= t->finalize_ms;
	if (o->target_needs_fixup) {
		if (fin_late) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "FinalizeTimeout",
			    "target VM '%s' could not be fixed up within %llds", j->target_vm,
			    (long long)(t->finalize_ms / 1000));
			return;
		}
		cl_decision_set(d, CL_ACT_FIXUP_TARGET, CL_PH_FINALIZING, 90, "TargetCreated",
		    "disks copied; setting the run state of '%s'", j->target_vm);
		return;
	}
	if (!j->keep_snapshot && count(o, false, CL_ABSENT) < n && !fin_late) {
		cl_decision_set(d, CL_ACT_DELETE_SNAPSHOT, CL_PH_FINALIZING, 95, "SnapshotCleanup",
		    "deleting the temporary VolumeSnapshots");
		return;
	}
	if (j->want_running && !o->target_running) {
		if (o->now_ms - o->phase_since_ms >= t->target_start_ms) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "TargetNotRunning",
			    "target VM '%s' did not start within %llds", j->target_vm,
			    (long long)(t->target_start_ms / 1000));
			return;
		}
		cl_decision_set(d, CL_ACT_WAIT, CL_PH_FINALIZING, 97, "TargetStarting",
		    "waiting for the target VM '%s' to run", j->target_vm);
		return;
	}
	cl_decision_set(d, CL_ACT_SUCCEED, CL_PH_SUCCEEDED, 100, "Succeeded",
	    "'%s/%s' cloned from VM '%s/%s': %zu disk%s copied through VolumeSnapshots and CDI "
	    "DataVolumes%s%s",
	    j->ns, j->target_vm, j->source_ns, vm[0] ? vm : src, n, n == 1 ? "" : "s",
	    j->ndisks ? " (only the disks asked for; the others were not snapshotted)" : "",
	    j->keep_snapshot ? " (snapshots kept)" : "");
}

/* ---- observers ---- */

static const cJSON *find_named(const cJSON *arr, const char *name)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr)
	{
		const char *n = wk_json_str(x, "name");

		if (n && !strcmp(n, name))
			return x;
	}
	return NULL;
}

void cl_observe_vols(const cJSON *vm, const struct cl_job_spec *j, bool from_target,
		     struct cl_observed *o)
{
	const cJSON *v, *tspec = wk_json_path(vm, "spec.template.spec");
	char dvname[200];

	o->nvols = 0;
	o->vols_known = vm != NULL;
	cJSON_ArrayForEach(v, wk_json_path(tspec, "volumes"))
	{
		const char *n = wk_json_str(v, "name");
		const char *claim = wk_json_str(v, "persistentVolumeClaim.claimName");
		struct cl_vol *cv;
		const cJSON *ss;

		if (!claim)
			claim = wk_json_str(v, "dataVolume.name");
		if (!n || !claim || strlen(n) >= sizeof(cv->name) || !cl_job_wants_disk(j, n))
			continue;
		/* a volume without a disk (a filesystem, ...) is not a disk to copy */
		if (!find_named(wk_json_path(tspec, "domain.devices.disks"), n))
			continue;
		if (from_target) {
			/* ours when it names our DataVolume; the source claim is unknown */
			cl_volume_object_name(j, n, dvname, sizeof(dvname));
			if (strcmp(claim, dvname))
				continue;
		}
		if (o->nvols >= CL_MAX_DISKS)
			break;
		cv = &o->vols[o->nvols++];
		memset(cv, 0, sizeof(*cv));
		wk_strlcpy(cv->name, n, sizeof(cv->name));
		wk_strlcpy(cv->claim, from_target ? "" : claim, sizeof(cv->claim));
		cv->snapshottable = true;
		ss = find_named(wk_json_path(vm, "status.volumeSnapshotStatuses"), n);
		if (ss && cJSON_IsFalse(wk_json_path(ss, "enabled"))) {
			const char *r = wk_json_str(ss, "reason");

			cv->snapshottable = false;
			wk_strlcpy(cv->why, r ? r : "snapshots not supported", sizeof(cv->why));
		}
	}
}

void cl_observe_volume_snapshot(const cJSON *vs, struct cl_vol *v)
{
	const char *err = wk_json_str(vs, "status.error.message");
	const char *run = wk_json_meta(vs, "annotations", CL_ANN_SOURCE_RUNNING);

	v->vs_msg[0] = 0;
	v->vs_source_running = run && !strcmp(run, "true");
	if (!vs || wk_json_path(vs, "metadata.deletionTimestamp"))
		v->vs = CL_ABSENT;
	else if (cJSON_IsTrue(wk_json_path(vs, "status.readyToUse")))
		v->vs = CL_READY;
	else if (err)
		v->vs = CL_FAILED; /* the snapshot controller's verdict (no class, no claim...) */
	else
		v->vs = CL_IN_PROGRESS;
	if (err)
		wk_strlcpy(v->vs_msg, err, sizeof(v->vs_msg));
}

void cl_observe_datavolume(const cJSON *dv, struct cl_vol *v)
{
	const char *ph = wk_json_str(dv, "status.phase");
	const cJSON *c;

	v->dv_msg[0] = 0;
	wk_strlcpy(v->dv_phase, ph ? ph : "", sizeof(v->dv_phase));
	if (!dv || wk_json_path(dv, "metadata.deletionTimestamp")) {
		v->dv = CL_ABSENT;
		return;
	}
	v->dv = ph && !strcmp(ph, "Succeeded") ? CL_READY
		: ph && !strcmp(ph, "Failed")  ? CL_FAILED
					       : CL_IN_PROGRESS;
	/* CDI's text: the Running condition's message (the importer's / cloner's error), else
	 * Bound's while the claim is pending */
	cJSON_ArrayForEach(c, wk_json_path(dv, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *m = wk_json_str(c, "message");
		const char *s = wk_json_str(c, "status");

		if (!t || !m || !*m || !s || !strcmp(s, "True"))
			continue;
		if (!strcmp(t, "Running") || (!v->dv_msg[0] && !strcmp(t, "Bound")))
			wk_strlcpy(v->dv_msg, m, sizeof(v->dv_msg));
	}
}

/* ---- the objects ---- */

static void our_meta(cJSON *meta, const struct cl_job_spec *j, const char *name, const char *ns)
{
	cJSON *l, *a;

	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", ns);
	l = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(l, CL_LABEL_MANAGED, CL_MANAGED_VALUE);
	cJSON_AddStringToObject(l, WK_LABEL_REQUEST_ID, j->id);
	if (strlen(j->name) <= 63)
		cJSON_AddStringToObject(l, WK_LABEL_WUKONG, j->name);
	a = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(a, WK_ANN_WUKONG_NAME, j->name);
	cJSON_AddStringToObject(a, CL_ANN_WUKONG_NAMESPACE, j->ns);
	cJSON_AddStringToObject(a, WK_ANN_CLONE_TARGET, j->target_vm);
}

cJSON *cl_volume_snapshot_obj(const struct cl_job_spec *j, const struct cl_vol *v,
			      bool source_running)
{
	cJSON *o = cJSON_CreateObject(), *meta;
	char name[200];

	cl_volume_object_name(j, v->name, name, sizeof(name));
	cJSON_AddStringToObject(o, "apiVersion", "snapshot.storage.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "VolumeSnapshot");
	meta = cJSON_AddObjectToObject(o, "metadata");
	our_meta(meta, j, name, j->source_ns);
	cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(meta, "annotations"),
				CL_ANN_SOURCE_RUNNING, source_running ? "true" : "false");
	/* no volumeSnapshotClassName: the default class of the claim's CSI driver */
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "source"),
	    "persistentVolumeClaimName", v->claim);
	return o;
}

/* Drop the keys of a label/annotation map that name the source's identity or bookkeeping. */
static void filter_map(cJSON *map, const char *const *prefixes)
{
	cJSON *x = map ? map->child : NULL, *nx;

	for (; x; x = nx) {
		nx = x->next;
		for (const char *const *p = prefixes; *p; p++)
			if (x->string && !strncmp(x->string, *p, strlen(*p))) {
				cJSON_Delete(cJSON_DetachItemViaPointer(map, x));
				break;
			}
	}
}

static const char *const drop_keys[] = {
    "vm.novasphere.dev/",	    "kubevirt.io/",
    "app.kubernetes.io/managed-by", "kubectl.kubernetes.io/last-applied-configuration",
    CL_ANN_STARTED_PREFIX,	    NULL};

cJSON *cl_target_vm_obj(const struct cl_job_spec *j, const cJSON *source_vm, const char *serial)
{
	cJSON *o = cJSON_CreateObject(), *meta, *spec, *tmpl, *tspec, *x, *disks, *vols, *ifs;
	cJSON *labels, *ann;
	int i;

	cJSON_AddStringToObject(o, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(o, "kind", "VirtualMachine");
	meta = cJSON_AddObjectToObject(o, "metadata");
	our_meta(meta, j, j->target_vm, j->ns);
	labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	/* the user's labels and annotations, as a VirtualMachineClone's filters would keep */
	{
		cJSON *sl = cJSON_Duplicate(wk_json_path(source_vm, "metadata.labels"), 1);
		cJSON *sa = cJSON_Duplicate(wk_json_path(source_vm, "metadata.annotations"), 1);

		filter_map(sl, drop_keys);
		filter_map(sa, drop_keys);
		for (x = sl ? sl->child : NULL; x; x = x->next)
			if (cJSON_IsString(x) &&
			    !cJSON_GetObjectItemCaseSensitive(labels, x->string))
				cJSON_AddStringToObject(labels, x->string, x->valuestring);
		for (x = sa ? sa->child : NULL; x; x = x->next)
			if (cJSON_IsString(x) && !cJSON_GetObjectItemCaseSensitive(ann, x->string))
				cJSON_AddStringToObject(ann, x->string, x->valuestring);
		cJSON_Delete(sl);
		cJSON_Delete(sa);
	}
	if (j->uid[0]) {
		cJSON *ref = cJSON_CreateObject();

		cJSON_AddStringToObject(ref, "apiVersion", WK_API_VERSION_WUKONG);
		cJSON_AddStringToObject(ref, "kind", "Wukong");
		cJSON_AddStringToObject(ref, "name", j->name);
		cJSON_AddStringToObject(ref, "uid", j->uid);
		cJSON_AddBoolToObject(ref, "controller", true);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	}
	spec = cJSON_AddObjectToObject(o, "spec");
	/* halted until every disk is copied; the fix-up sets what spec.running asks */
	cJSON_AddStringToObject(spec, "runStrategy", "Halted");
	for (const char *k = "instancetype"; k; k = strcmp(k, "instancetype") ? NULL : "preference")
		if (wk_json_path(source_vm, "spec") &&
		    cJSON_GetObjectItemCaseSensitive(wk_json_path(source_vm, "spec"), k))
			cJSON_AddItemToObject(
			    spec, k,
			    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
						wk_json_path(source_vm, "spec"), k),
					    1));
	tmpl = cJSON_Duplicate(wk_json_path(source_vm, "spec.template"), 1);
	if (!tmpl)
		tmpl = cJSON_CreateObject();
	cJSON_AddItemToObject(spec, "template", tmpl);
	filter_map((cJSON *)wk_json_path(tmpl, "metadata.labels"), drop_keys);
	filter_map((cJSON *)wk_json_path(tmpl, "metadata.annotations"), drop_keys);
	tspec = cJSON_GetObjectItemCaseSensitive(tmpl, "spec");
	disks = (cJSON *)wk_json_path(tspec, "domain.devices.disks");
	vols = cJSON_GetObjectItemCaseSensitive(tspec, "volumes");
	/* the disks left out go with their volumes */
	for (i = cJSON_GetArraySize(disks) - 1; i >= 0; i--) {
		const char *n = wk_json_str(cJSON_GetArrayItem(disks, i), "name");

		if (n && !cl_job_wants_disk(j, n))
			cJSON_DeleteItemFromArray(disks, i);
	}
	for (i = cJSON_GetArraySize(vols) - 1; i >= 0; i--) {
		cJSON *v = cJSON_GetArrayItem(vols, i);
		const char *n = wk_json_str(v, "name");
		bool claim =
		    wk_json_path(v, "persistentVolumeClaim") || wk_json_path(v, "dataVolume");
		char dvname[200];

		if (!n)
			continue;
		if (!cl_job_wants_disk(j, n) &&
		    find_named(wk_json_path(source_vm, "spec.template.spec.domain."
						       "devices.disks"),
			       n)) {
			cJSON_DeleteItemFromArray(vols, i);
			continue;
		}
		if (!claim || !find_named(disks, n))
			continue;
		/* a kept disk: on our DataVolume */
		cl_volume_object_name(j, n, dvname, sizeof(dvname));
		cJSON *nv = cJSON_CreateObject();

		cJSON_AddStringToObject(nv, "name", n);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(nv, "dataVolume"), "name", dvname);
		cJSON_ReplaceItemInArray(vols, i, nv);
	}
	/* a new identity: every interface gets a new MAC, the SMBIOS serial is the clone's */
	ifs = (cJSON *)wk_json_path(tspec, "domain.devices.interfaces");
	cJSON_ArrayForEach(x, ifs) cJSON_DeleteItemFromObjectCaseSensitive(x, "macAddress");
	if (tspec) {
		cJSON *dom = cJSON_GetObjectItemCaseSensitive(tspec, "domain");
		cJSON *fw = dom ? cJSON_GetObjectItemCaseSensitive(dom, "firmware") : NULL;

		if (dom && !fw)
			fw = cJSON_AddObjectToObject(dom, "firmware");
		if (fw) {
			cJSON_DeleteItemFromObjectCaseSensitive(fw, "uuid");
			cJSON_DeleteItemFromObjectCaseSensitive(fw, "serial");
			cJSON_AddStringToObject(fw, "serial", serial);
		}
	}
	return o;
}

cJSON *cl_datavolume_obj(const struct cl_job_spec *j, const struct cl_vol *v,
			 const char *target_uid)
{
	cJSON *o = cJSON_CreateObject(), *meta, *ann, *spec, *src, *st;
	char name[200];

	cl_volume_object_name(j, v->name, name, sizeof(name));
	cJSON_AddStringToObject(o, "apiVersion", "cdi.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(o, "kind", "DataVolume");
	meta = cJSON_AddObjectToObject(o, "metadata");
	our_meta(meta, j, name, j->ns);
	ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	cJSON_AddStringToObject(ann, CDI_ANN_IMMEDIATE, "true");
	cJSON_AddStringToObject(ann, CDI_ANN_DELETE_AFTER, "false");
	if (target_uid && *target_uid) {
		/* the target VM owns its disks: deleting it deletes them */
		cJSON *ref = cJSON_CreateObject();

		cJSON_AddStringToObject(ref, "apiVersion", "kubevirt.io/v1");
		cJSON_AddStringToObject(ref, "kind", "VirtualMachine");
		cJSON_AddStringToObject(ref, "name", j->target_vm);
		cJSON_AddStringToObject(ref, "uid", target_uid);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	}
	spec = cJSON_AddObjectToObject(o, "spec");
	src = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "source"), "snapshot");
	cJSON_AddStringToObject(src, "namespace", j->source_ns);
	cJSON_AddStringToObject(src, "name", name);
	st = cJSON_AddObjectToObject(spec, "storage");
	/* the source claim's size and class; without a size CDI takes the snapshot's
	 * restoreSize */
	if (v->size[0])
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "resources"), "requests"),
		    "storage", v->size);
	if (v->sclass[0])
		cJSON_AddStringToObject(st, "storageClassName", v->sclass);
	return o;
}
