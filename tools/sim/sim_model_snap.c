/* sim_model_snap.c - KubeVirt's snapshot, restore and clone controllers: VirtualMachineSnapshot
 * (+ VirtualMachineSnapshotContent), VirtualMachineRestore and VirtualMachineClone, with copy
 * times that grow with disk size (each storage class's copyRate). */
#include "sim_model_int.h"
#include "sim_patch.h"

#include "wk_quantity.h"

#include <regex.h>

enum job_kind { JOB_SNAP, JOB_RESTORE, JOB_CLONE };

struct snapjob {
	enum job_kind kind;
	char *ns, *name, *uid;
	double start, due, deadline; /* deadline 0 = none */
	double retry_at;
	int stage;	   /* clone: 0 pending, 1 snapshot, 2 restore, 3 creating */
	bool blocked;	   /* waiting on something (unsupported volume, missing source) */
	char *snap;	   /* clone/restore: the snapshot used */
	char *target;	   /* restore/clone: target VM name */
	bool own_snapshot; /* clone made the snapshot and deletes it */
	bool dead;	   /* finished: freed by the next sweep */
	struct snapjob *next;
};

static struct snapjob *job_find(struct sim_model *m, enum job_kind k, const char *ns,
				const char *name)
{
	for (struct snapjob *j = m->snaps; j; j = j->next)
		if (!j->dead && j->kind == k && !strcmp(j->ns, ns) && !strcmp(j->name, name))
			return j;
	return NULL;
}

static struct snapjob *job_add(struct sim_model *m, enum job_kind k, const char *ns,
			       const char *name, const char *uid)
{
	struct snapjob *j = wk_xcalloc(1, sizeof(*j));
	j->kind = k;
	j->ns = wk_xstrdup(ns);
	j->name = wk_xstrdup(name);
	j->uid = wk_xstrdup(uid ? uid : "");
	j->start = m->now;
	j->next = m->snaps;
	m->snaps = j;
	return j;
}

static void job_free(struct snapjob *j)
{
	free(j->ns);
	free(j->name);
	free(j->uid);
	free(j->snap);
	free(j->target);
	free(j);
}

/* Jobs are only marked here and freed by sweep(): a step may end a job other than its own
 * (a clone removing its temporary snapshot) while sim_snaps_tick() walks the list. */
static void job_del(struct sim_model *m, struct snapjob *j)
{
	(void)m;
	j->dead = true;
}

static void sweep(struct sim_model *m)
{
	for (struct snapjob **p = &m->snaps; *p;) {
		struct snapjob *j = *p;
		if (j->dead) {
			*p = j->next;
			job_free(j);
		} else {
			p = &j->next;
		}
	}
}

void sim_snaps_release(struct sim_model *m)
{
	while (m->snaps) {
		struct snapjob *j = m->snaps;
		m->snaps = j->next;
		job_free(j);
	}
}

/* ---- volumes ---- */

/* For each PVC volume of a VM: its claim, size, class and whether the class can snapshot.
 * Returns the total bytes and the copy time; *why gets the first unsupported volume. */
static double volumes_scan(struct sim_model *m, const char *ns, const cJSON *vm, double *secs,
			   char *why, size_t why_size, cJSON *included)
{
	const cJSON *vol;
	double total = 0;

	*secs = 0;
	if (why)
		why[0] = 0;
	cJSON_ArrayForEach(vol, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		const char *vname = wk_json_str(vol, "name");
		if (!claim)
			claim = wk_json_str(vol, "dataVolume.name");
		if (!claim || !vname)
			continue;
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, ns, claim);
		const char *cls = wk_json_str(pvc, "spec.storageClassName");
		const struct sim_sc_class *c = cls ? sim_scenario_class(m->sc, cls) : NULL;
		int64_t size = sim_jqty(wk_json_path(pvc, "spec.resources.requests.storage"));
		if (size < 0)
			size = 0;
		char w[400];
		if (!sim_class_snapshottable(m, cls, vname, w, sizeof(w))) {
			if (why && !why[0])
				snprintf(why, why_size, "%s", w);
		} else {
			total += (double)size;
			*secs += (double)size / (double)(c ? c->copy_rate : INT64_C(256) << 20);
			if (included)
				cJSON_AddItemToArray(included, cJSON_CreateString(vname));
		}
		cJSON_Delete(pvc);
	}
	return total;
}

/* Is the claim bound, with a class that has a VolumeSnapshotClass (getSnapshotPVC)? */
static bool volume_snapshottable(struct sim_model *m, const char *ns, const char *claim)
{
	cJSON *pvc = sim_store_get(m->st, m->r_pvc, ns, claim);
	const char *cls = wk_json_str(pvc, "spec.storageClassName");
	const char *ph = wk_json_str(pvc, "status.phase");
	bool ok = ph && !strcmp(ph, "Bound") && sim_class_snapshottable(m, cls, claim, NULL, 0);
	cJSON_Delete(pvc);
	return ok;
}

/* "5m0s", "300s", "1h", "0" -> seconds; -1 if malformed. */
static double parse_duration(const char *s)
{
	double total = 0;
	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		if (*s == 'h')
			total += v * 3600, s++;
		else if (*s == 'm' && s[1] == 's')
			total += v / 1000, s += 2;
		else if (*s == 'm')
			total += v * 60, s++;
		else if (*s == 's')
			total += v, s++;
		else if (!*s && v == 0)
			return 0;
		else
			return -1;
	}
	return total;
}

/* ---- status writes ---- */

struct stw {
	cJSON *patch_status; /* merged into .status */
};

static void status_merge(struct sim_model *m, const struct sim_resource *res, const char *ns,
			 const char *name, cJSON *status)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddItemToObject(p, "status", status);
	sim_merge(m, res, ns, name, p);
}

static cJSON *conds2(struct sim_model *m, const char *pst, const char *preason, const char *rst,
		     const char *rreason)
{
	cJSON *c = cJSON_CreateArray();
	cJSON_AddItemToArray(c, sim_cond_new(m, "Progressing", pst, preason, NULL));
	cJSON_AddItemToArray(c, sim_cond_new(m, "Ready", rst, rreason, NULL));
	return c;
}

/* ---- snapshots ---- */

/* KubeVirt's updateSnapshotStatus (pkg/storage/snapshot/snapshot.go): phase Failed, Failure=True
 * with the text as its reason, Progressing=False "Operation failed", Ready=False "Not ready". The
 * deadline (vmSnapshotDeadlineExceededError) writes no status.error: that comes only from the
 * content's volume snapshots. */
static void snap_fail(struct sim_model *m, struct snapjob *j, const char *msg)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "phase", "Failed");
	cJSON_AddBoolToObject(st, "readyToUse", false);
	cJSON *c = conds2(m, "False", "Operation failed", "False", "Not ready");
	cJSON_AddItemToArray(c, sim_cond_new(m, "Failure", "True", msg, NULL));
	cJSON_AddItemToObject(st, "conditions", c);
	status_merge(m, m->r_snap, j->ns, j->name, st);
	sim_event(m, m->r_snap, j->ns, j->name, j->uid, "Warning", "SnapshotFailed", "%s", msg);
	job_del(m, j);
}

/* (Re)examine a snapshot's source: start it, or say why it cannot start. */
static void snap_check(struct sim_model *m, struct snapjob *j, const cJSON *snap)
{
	const char *kind = wk_json_str(snap, "spec.source.kind"),
		   *group = wk_json_str(snap, "spec.source.apiGroup");
	const char *src = wk_json_str(snap, "spec.source.name");
	char why[400];
	double secs;

	if (!group) {
		snap_fail(m, j, "missing apiGroup");
		return;
	}
	if (strcmp(group, "kubevirt.io")) {
		snap_fail(m, j, "invalid apiGroup");
		return;
	}
	if (!kind || strcmp(kind, "VirtualMachine")) {
		snap_fail(m, j, "invalid kind");
		return;
	}
	cJSON *vm = src ? sim_store_get(m->st, m->r_vm, j->ns, src) : NULL;
	cJSON *st = cJSON_CreateObject();
	if (!vm) {
		j->blocked = true;
		cJSON_AddStringToObject(st, "phase", "InProgress");
		cJSON_AddBoolToObject(st, "readyToUse", false);
		cJSON_AddItemToObject(
		    st, "conditions",
		    conds2(m, "False", "Source does not exist", "False", "Not ready"));
		status_merge(m, m->r_snap, j->ns, j->name, st);
		j->retry_at = m->now + 2;
		return;
	}
	/* A volume whose class has no VolumeSnapshotClass is left out (KubeVirt's getSnapshotPVC
	 * returns nil: only a log line); the snapshot goes on without it. */
	volumes_scan(m, j->ns, vm, &secs, why, sizeof(why), NULL);
	cJSON_AddStringToObject(st, "phase", "InProgress");
	cJSON_AddBoolToObject(st, "readyToUse", false);
	if (wk_json_str(vm, "metadata.uid"))
		cJSON_AddStringToObject(st, "sourceUID", wk_json_str(vm, "metadata.uid"));
	{
		j->blocked = false;
		struct mvm *mv = sim_vm_find(m, j->ns, src);
		bool online = mv && mv->phase == VMI_RUNNING;
		cJSON *ind = cJSON_CreateArray(), *sind = cJSON_CreateArray();
		if (online) {
			cJSON_AddItemToArray(ind, cJSON_CreateString("Online"));
			cJSON_AddItemToArray(
			    ind,
			    cJSON_CreateString(mv->guest_agent ? "GuestAgent" : "NoGuestAgent"));
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "indication", "Online");
			cJSON_AddStringToObject(x, "message",
						"Snapshot was taken while the VM was running");
			cJSON_AddItemToArray(sind, x);
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "indication",
						mv->guest_agent ? "GuestAgent" : "NoGuestAgent");
			cJSON_AddStringToObject(
			    x, "message",
			    mv->guest_agent ? "Filesystems were frozen by the guest agent"
					    : "No guest agent: the snapshot is crash-consistent");
			cJSON_AddItemToArray(sind, x);
		}
		cJSON_AddItemToObject(st, "indications", ind);
		cJSON_AddItemToObject(st, "sourceIndications", sind);
		cJSON_AddItemToObject(st, "conditions",
				      conds2(m, "True", "Source locked and operation in progress",
					     "False", "Not ready"));
		char cname[300];
		snprintf(cname, sizeof(cname), "vmsnapshot-content-%s", j->uid);
		cJSON_AddStringToObject(st, "virtualMachineSnapshotContentName", cname);
		j->due = m->now + 1 + secs;
	}
	status_merge(m, m->r_snap, j->ns, j->name, st);
	cJSON_Delete(vm);
}

static void snap_complete(struct sim_model *m, struct snapjob *j)
{
	cJSON *snap = sim_store_get(m->st, m->r_snap, j->ns, j->name);
	const char *src = wk_json_str(snap, "spec.source.name");
	cJSON *vm = src ? sim_store_get(m->st, m->r_vm, j->ns, src) : NULL;
	char ts[40], cname[300];

	if (!vm) {
		/* The source went away: "Source does not exist" until it returns or the deadline.
		 */
		if (snap)
			snap_check(m, j, snap);
		cJSON_Delete(snap);
		return;
	}
	sim_ts(m, m->now, ts, sizeof(ts));
	snprintf(cname, sizeof(cname), "vmsnapshot-content-%s", j->uid);
	cJSON *c = cJSON_CreateObject(), *meta, *spec, *src_vm, *backups, *st;
	cJSON_AddStringToObject(c, "apiVersion", "snapshot.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(c, "kind", "VirtualMachineSnapshotContent");
	meta = cJSON_AddObjectToObject(c, "metadata");
	cJSON_AddStringToObject(meta, "name", cname);
	cJSON_AddStringToObject(meta, "namespace", j->ns);
	spec = cJSON_AddObjectToObject(c, "spec");
	cJSON_AddStringToObject(spec, "virtualMachineSnapshotName", j->name);
	src_vm = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "source"), "virtualMachine");
	cJSON *vmeta = cJSON_AddObjectToObject(src_vm, "metadata");
	cJSON_AddStringToObject(vmeta, "name", src);
	cJSON_AddStringToObject(vmeta, "namespace", j->ns);
	if (wk_json_path(vm, "metadata.labels"))
		cJSON_AddItemToObject(vmeta, "labels",
				      cJSON_Duplicate(wk_json_path(vm, "metadata.labels"), 1));
	if (wk_json_path(vm, "metadata.annotations"))
		cJSON_AddItemToObject(vmeta, "annotations",
				      cJSON_Duplicate(wk_json_path(vm, "metadata.annotations"), 1));
	if (wk_json_str(vm, "metadata.uid"))
		cJSON_AddStringToObject(vmeta, "uid", wk_json_str(vm, "metadata.uid"));
	cJSON_AddItemToObject(src_vm, "spec", cJSON_Duplicate(wk_json_path(vm, "spec"), 1));
	backups = cJSON_AddArrayToObject(spec, "volumeBackups");
	const cJSON *vol;
	/* status.snapshotVolumes as updateSnapshotSnapshotableVolumes writes it on success: every
	 * volume of the VM, included when it was backed up, excluded otherwise. */
	cJSON *inc = cJSON_CreateArray(), *exc = cJSON_CreateArray();
	cJSON_ArrayForEach(vol, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		const char *vname = wk_json_str(vol, "name");
		if (!claim) /* a DataVolume's PVC has its name */
			claim = wk_json_str(vol, "dataVolume.name");
		if (!vname)
			continue;
		if (!claim || !volume_snapshottable(m, j->ns, claim)) {
			cJSON_AddItemToArray(exc, cJSON_CreateString(vname));
			continue;
		}
		cJSON_AddItemToArray(inc, cJSON_CreateString(vname));
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, j->ns, claim);
		cJSON *b = cJSON_CreateObject(), *pc, *pm;
		char vsn[400];
		cJSON_AddStringToObject(b, "volumeName", vname);
		pc = cJSON_AddObjectToObject(b, "persistentVolumeClaim");
		pm = cJSON_AddObjectToObject(pc, "metadata");
		cJSON_AddStringToObject(pm, "name", claim);
		cJSON_AddStringToObject(pm, "namespace", j->ns);
		if (pvc && wk_json_path(pvc, "spec"))
			cJSON_AddItemToObject(pc, "spec",
					      cJSON_Duplicate(wk_json_path(pvc, "spec"), 1));
		snprintf(vsn, sizeof(vsn), "vmsnapshot-%s-volume-%s", j->uid, vname);
		cJSON_AddStringToObject(b, "volumeSnapshotName", vsn);
		cJSON_AddItemToArray(backups, b);
		cJSON_Delete(pvc);
	}
	st = cJSON_AddObjectToObject(c, "status");
	cJSON_AddStringToObject(st, "creationTime", ts);
	cJSON_AddBoolToObject(st, "readyToUse", true);
	sim_create(m, m->r_snapc, j->ns, c);

	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "phase", "Succeeded");
	cJSON_AddBoolToObject(s, "readyToUse", true);
	cJSON_AddStringToObject(s, "creationTime", ts);
	cJSON_AddItemToObject(s, "conditions",
			      conds2(m, "False", "Operation complete", "True", "Ready"));
	cJSON *sv = cJSON_AddObjectToObject(s, "snapshotVolumes");
	if (cJSON_GetArraySize(inc))
		cJSON_AddItemToObject(sv, "includedVolumes", inc);
	else
		cJSON_Delete(inc);
	if (cJSON_GetArraySize(exc))
		cJSON_AddItemToObject(sv, "excludedVolumes", exc);
	else
		cJSON_Delete(exc);
	status_merge(m, m->r_snap, j->ns, j->name, s);
	sim_event(m, m->r_snap, j->ns, j->name, j->uid, "Normal",
		  "SuccessfulVirtualMachineSnapshot",
		  "Successfully completed VirtualMachineSnapshot %s", j->name);
	cJSON_Delete(vm);
	cJSON_Delete(snap);
	job_del(m, j);
}

void sim_snap_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	struct snapjob *j = job_find(m, JOB_SNAP, ns, name);
	cJSON *o = deleted ? NULL : sim_store_get(m->st, m->r_snap, ns, name);

	if (!o || wk_json_path(o, "metadata.deletionTimestamp")) {
		/* deletionPolicy Delete (the default) removes the content too. */
		char cname[300];
		const char *uid = j ? j->uid : wk_json_str(o, "metadata.uid");
		const char *pol = wk_json_str(o, "spec.deletionPolicy");
		if (uid && (!pol || strcmp(pol, "Retain"))) {
			snprintf(cname, sizeof(cname), "vmsnapshot-content-%s", uid);
			sim_delete(m, m->r_snapc, ns, cname);
		}
		if (j)
			job_del(m, j);
		cJSON_Delete(o);
		return;
	}
	const char *phase = wk_json_str(o, "status.phase");
	if (j || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))) {
		cJSON_Delete(o);
		return;
	}
	j = job_add(m, JOB_SNAP, ns, name, wk_json_str(o, "metadata.uid"));
	double dl = 300;
	const char *fd = wk_json_str(o, "spec.failureDeadline");
	if (fd && parse_duration(fd) >= 0)
		dl = parse_duration(fd);
	j->deadline = dl > 0 ? m->now + dl : 0;
	snap_check(m, j, o);
	cJSON_Delete(o);
}

/* ---- restores and the target VM ---- */

/* Does the unanchored regular expression re match key (Go's regexp.MatchString)? POSIX ERE
 * stands in for RE2: the common subset (., *, +, ?, [], ^, $, |, ()) means the same; RE2-only
 * syntax (\d, (?i), lazy quantifiers) does not compile here and, like an invalid expression
 * upstream (which only logs), matches nothing. Overlong expressions match nothing too. */
bool sim_filter_match(const char *re, const char *key)
{
	regex_t rx;
	bool match;
	if (strlen(re) > SIM_FILTER_MAX || regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	match = regexec(&rx, key, 0, NULL, 0) == 0;
	regfree(&rx);
	return match;
}

/* KubeVirt's addRemovePatchesFromFilter (pkg/virt-controller/watch/clone/vm-target.go): no
 * filter list at all keeps everything; otherwise a key is kept when a regular filter matches
 * it ("*" alone means ".*") and no negation ("!re") does, in any order. An empty list keeps
 * nothing. */
bool sim_filter_keep(const cJSON *filters, const char *key)
{
	const cJSON *f;
	bool keep = false;
	if (!cJSON_IsArray(filters))
		return true;
	cJSON_ArrayForEach(f, filters)
	{
		const char *p = cJSON_GetStringValue(f);
		if (p && *p != '!' && sim_filter_match(strcmp(p, "*") ? p : ".*", key))
			keep = true;
	}
	if (!keep)
		return false;
	cJSON_ArrayForEach(f, filters)
	{
		const char *p = cJSON_GetStringValue(f);
		if (p && *p == '!' && sim_filter_match(p + 1, key))
			return false;
	}
	return true;
}

static cJSON *filtered(const cJSON *map, const cJSON *filters)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *e;
	cJSON_ArrayForEach(e, map) if (sim_filter_keep(filters, e->string))
	    cJSON_AddItemToObject(out, e->string, cJSON_Duplicate(e, 1));
	return out;
}

static void mac_new(struct sim_model *m, char *out, size_t n)
{
	uint64_t r = (uint64_t)(sim_rand(m) * 281474976710656.0);
	snprintf(out, n, "02:%02x:%02x:%02x:%02x:%02x", (unsigned)(r >> 32) & 0xff,
		 (unsigned)(r >> 24) & 0xff, (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 8) & 0xff,
		 (unsigned)r & 0xff);
}

/* The clone's spec.patches (each string one RFC 6902 operation, as KubeVirt joins them into
 * the restore's JSON patch) applied to the target VM in place. -1 with why when one is not JSON
 * or does not apply; the VM is then unchanged. */
static int apply_clone_patches(cJSON *vm, const cJSON *patches, char *why, size_t why_size)
{
	cJSON *ops, *out;
	const cJSON *p;
	char err[300];
	int i = 0;

	if (!cJSON_IsArray(patches) || !cJSON_GetArraySize(patches))
		return 0;
	/* patchVM (pkg/storage/snapshot/restore.go) joins the strings into one JSON patch and
	 * names it in its errors: "cannot decode vm patches [...]: ..." or "failed to apply patch
	 * for VM [...]: ..." (the Go library's own error text is not reproduced). */
	struct wk_buf joined;
	int bad = 0;
	wk_buf_init(&joined, 8u << 20);
	bad |= wk_buf_adds(&joined, "[\n");
	cJSON_ArrayForEach(p, patches)
	{
		if (i++)
			bad |= wk_buf_adds(&joined, ",\n");
		bad |= wk_buf_adds(&joined, cJSON_IsString(p) ? p->valuestring : "");
	}
	bad |= wk_buf_adds(&joined, "\n]");
	if (bad) {
		wk_buf_release(&joined);
		snprintf(why, why_size, "cannot decode vm patches: too large");
		return -1;
	}
	ops = cJSON_Parse(wk_buf_str(&joined));
	if (!cJSON_IsArray(ops)) {
		cJSON_Delete(ops);
		snprintf(why, why_size, "cannot decode vm patches %.1000s: invalid JSON",
			 wk_buf_str(&joined));
		wk_buf_release(&joined);
		return -1;
	}
	out = sim_json_patch(vm, ops, err, sizeof(err));
	cJSON_Delete(ops);
	if (!out) {
		snprintf(why, why_size, "failed to apply patch for VM %.1000s: %s",
			 wk_buf_str(&joined), err);
		wk_buf_release(&joined);
		return -1;
	}
	wk_buf_release(&joined);
	if (!cJSON_IsObject(out)) {
		cJSON_Delete(out);
		snprintf(why, why_size, "the patched VM is not an object");
		return -1;
	}
	/* Swap the contents so the caller's pointer stays valid. */
	while (vm->child)
		cJSON_Delete(cJSON_DetachItemViaPointer(vm, vm->child));
	while (out->child) {
		cJSON *it = out->child;
		char *key = wk_xstrdup(it->string ? it->string : "");
		cJSON_DetachItemViaPointer(out, it);
		cJSON_AddItemToObject(vm, key, it);
		free(key);
	}
	cJSON_Delete(out);
	return 0;
}

/* Build the target VM from a snapshot content: new PVCs (restore-<uid>-<volume>), new MACs and
 * firmware serial (the clone spec may name them), label/annotation filters, then the clone's
 * patches. -1: no content; -2: a patch does not apply (why says so, nothing is created). */
static int make_target(struct sim_model *m, const char *ns, const char *content_name,
		       const char *target, const char *restore_uid, const char *restore_name,
		       const cJSON *clone_spec, char *why, size_t why_size)
{
	cJSON *c = sim_store_get(m->st, m->r_snapc, ns, content_name);
	const cJSON *svm = wk_json_path(c, "spec.source.virtualMachine");
	if (!svm) {
		cJSON_Delete(c);
		return -1;
	}
	cJSON *have = sim_store_get(m->st, m->r_vm, ns, target);
	if (have) {
		cJSON_Delete(have);
		cJSON_Delete(c);
		return 0;
	}
	cJSON *vm = cJSON_CreateObject(), *meta, *spec;
	cJSON_AddStringToObject(vm, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
	meta = cJSON_AddObjectToObject(vm, "metadata");
	cJSON_AddStringToObject(meta, "name", target);
	cJSON_AddStringToObject(meta, "namespace", ns);
	cJSON *labels = filtered(wk_json_path(svm, "metadata.labels"),
				 wk_json_path(clone_spec, "labelFilters"));
	cJSON *anns = filtered(wk_json_path(svm, "metadata.annotations"),
			       wk_json_path(clone_spec, "annotationFilters"));
	/* The Wukong label names the Wukong this VM belongs to: <wukong>-vm, if one exists. */
	cJSON_DeleteItemFromObjectCaseSensitive(labels, "vm.novasphere.dev/wukong");
	size_t tl = strlen(target);
	if (tl > 3 && !strcmp(target + tl - 3, "-vm")) {
		char wkname[300];
		snprintf(wkname, sizeof(wkname), "%.*s", (int)(tl - 3), target);
		cJSON *wk = sim_store_get(m->st, m->r_wk, ns, wkname);
		if (wk)
			sim_jset_str(labels, "vm.novasphere.dev/wukong", wkname);
		cJSON_Delete(wk);
	}
	cJSON_AddItemToObject(meta, "labels", labels);
	cJSON_AddItemToObject(meta, "annotations", anns);
	/* setLastRestoreAnnotation: "<restore name>-<restore uid>" (never filtered out). */
	cJSON *robj = sim_store_get(m->st, m->r_restore, ns, restore_name);
	char lr[400];
	snprintf(lr, sizeof(lr), "%s-%s", restore_name,
		 wk_json_str(robj, "metadata.uid") ? wk_json_str(robj, "metadata.uid") : "");
	cJSON_Delete(robj);
	sim_jset_str(anns, "restore.kubevirt.io/lastRestoreUID", lr);
	spec = cJSON_Duplicate(wk_json_path(svm, "spec"), 1);
	if (!spec)
		spec = cJSON_CreateObject();
	cJSON_AddItemToObject(vm, "spec", spec);
	/* A new VM from a restore never runs at first (restore.go, the new-VM branch): 1.6+ sets
	 * running=false when the snapshot's VM used `running`, else runStrategy Halted; 1.5 sets
	 * Halted when runStrategy is there, else running=false when `running` is. */
	bool has_rs = cJSON_GetObjectItemCaseSensitive(spec, "runStrategy") &&
		      !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(spec, "runStrategy"));
	bool has_run = cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(spec, "running"));
	if (m->kv_minor <= 5 ? !has_rs && has_run : has_run) {
		sim_jset(spec, "running", cJSON_CreateFalse());
	} else if (m->kv_minor > 5 || has_rs) {
		sim_jset_str(spec, "runStrategy", "Halted");
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "running");
	}
	cJSON *tmeta = sim_jobj(sim_jobj(spec, "template"), "metadata");
	cJSON *tlab = filtered(cJSON_GetObjectItemCaseSensitive(tmeta, "labels"),
			       wk_json_path(clone_spec, "template.labelFilters"));
	cJSON_DeleteItemFromObjectCaseSensitive(tlab, "vm.novasphere.dev/wukong");
	sim_jset_str(tlab, "kubevirt.io/vm", target);
	if (cJSON_GetObjectItemCaseSensitive(labels, "vm.novasphere.dev/wukong"))
		sim_jset(
		    tlab, "vm.novasphere.dev/wukong",
		    cJSON_Duplicate(
			cJSON_GetObjectItemCaseSensitive(labels, "vm.novasphere.dev/wukong"), 1));
	sim_jset(tmeta, "labels", tlab);
	sim_jset(tmeta, "annotations",
		 filtered(cJSON_GetObjectItemCaseSensitive(tmeta, "annotations"),
			  wk_json_path(clone_spec, "template.annotationFilters")));
	cJSON *tspec = sim_jobj(sim_jobj(spec, "template"), "spec");
	cJSON *iface;
	cJSON_ArrayForEach(iface, wk_json_path(tspec, "domain.devices.interfaces"))
	{
		const char *in = wk_json_str(iface, "name");
		const char *want = in ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
					    wk_json_path(clone_spec, "newMacAddresses"), in))
				      : NULL;
		char mac[32];
		if (!want) {
			mac_new(m, mac, sizeof(mac));
			want = mac;
		}
		sim_jset_str(iface, "macAddress", want);
	}
	const char *serial = wk_json_str(clone_spec, "newSMBiosSerial");
	char uuid[40];
	if (!serial) {
		unsigned v[4];
		for (int i = 0; i < 4; i++)
			v[i] = (unsigned)(sim_rand(m) * 65536.0);
		snprintf(uuid, sizeof(uuid), "%04x%04x-0000-4000-8000-%04x%04x0000", v[0], v[1],
			 v[2], v[3]);
		serial = uuid;
	}
	sim_jset_str(sim_jobj(sim_jobj(tspec, "domain"), "firmware"), "serial", serial);
	/* New claims copied from the snapshot's volumes (created once the patches applied). */
	cJSON *vol, *pvcs = cJSON_CreateArray();
	cJSON_ArrayForEach(vol, wk_json_path(tspec, "volumes"))
	{
		cJSON *pvcref = cJSON_GetObjectItemCaseSensitive(vol, "persistentVolumeClaim");
		const char *vname = wk_json_str(vol, "name");
		const char *dvn = wk_json_str(vol, "dataVolume.name");
		if (!pvcref && dvn && vname) {
			/* A DataVolume volume is restored into a new claim too (upstream makes a
			 * prepopulated DataVolume of it; the model a plain claim): its template goes,
			 * so the target never shares the source's DataVolume. */
			cJSON *t, *dvts = cJSON_GetObjectItemCaseSensitive(spec, "dataVolumeTemplates");
			for (t = dvts ? dvts->child : NULL; t; t = t->next)
				if (wk_json_str(t, "metadata.name") &&
				    !strcmp(wk_json_str(t, "metadata.name"), dvn)) {
					cJSON_Delete(cJSON_DetachItemViaPointer(dvts, t));
					break;
				}
			cJSON_DeleteItemFromObjectCaseSensitive(vol, "dataVolume");
			pvcref = cJSON_AddObjectToObject(vol, "persistentVolumeClaim");
		}
		if (!pvcref || !vname)
			continue;
		char claim[320];
		snprintf(claim, sizeof(claim), "restore-%.36s-%.200s", restore_uid, vname);
		const cJSON *b, *pspec = NULL;
		bool backed = false;
		cJSON_ArrayForEach(b, wk_json_path(c, "spec.volumeBackups"))
		{
			const char *bn = wk_json_str(b, "volumeName");
			if (bn && !strcmp(bn, vname)) {
				pspec = wk_json_path(b, "persistentVolumeClaim.spec");
				backed = true;
			}
		}
		/* A volume left out of the snapshot keeps its claim (the restore leaves it). */
		if (!backed)
			continue;
		sim_jset_str(pvcref, "claimName", claim);
		cJSON *p = cJSON_CreateObject(), *pm, *ps;
		cJSON_AddStringToObject(p, "apiVersion", "v1");
		cJSON_AddStringToObject(p, "kind", "PersistentVolumeClaim");
		pm = cJSON_AddObjectToObject(p, "metadata");
		cJSON_AddStringToObject(pm, "name", claim);
		cJSON_AddStringToObject(pm, "namespace", ns);
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(pm, "labels"), "restore.kubevirt.io/source-vm-name",
		    wk_json_str(svm, "metadata.name") ? wk_json_str(svm, "metadata.name") : "");
		/* As KubeVirt's restore controller does: the claim names the restore that made it,
		 * so whoever asked for the restore (a clone) can find and clean up its claims. */
		cJSON_AddStringToObject(cJSON_AddObjectToObject(pm, "annotations"),
					"restore.kubevirt.io/name", restore_name);
		ps = pspec ? cJSON_Duplicate(pspec, 1) : cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(ps, "volumeName");
		cJSON_AddItemToObject(p, "spec", ps);
		cJSON *pst = cJSON_AddObjectToObject(p, "status");
		cJSON_AddStringToObject(pst, "phase", "Bound");
		if (wk_json_path(ps, "accessModes"))
			cJSON_AddItemToObject(pst, "accessModes",
					      cJSON_Duplicate(wk_json_path(ps, "accessModes"), 1));
		if (wk_json_path(ps, "resources.requests"))
			cJSON_AddItemToObject(
			    pst, "capacity",
			    cJSON_Duplicate(wk_json_path(ps, "resources.requests"), 1));
		cJSON_AddItemToArray(pvcs, p);
	}
	cJSON_Delete(c);
	if (apply_clone_patches(vm, wk_json_path(clone_spec, "patches"), why, why_size) < 0) {
		cJSON_Delete(pvcs);
		cJSON_Delete(vm);
		return -2;
	}
	/* Every backed-up volume is restored, as KubeVirt's restore does, even one the patches
	 * dropped from the VM. */
	while (cJSON_GetArraySize(pvcs) > 0)
		sim_pvc_create(m, ns, cJSON_DetachItemFromArray(pvcs, 0));
	cJSON_Delete(pvcs);
	sim_create(m, m->r_vm, ns, vm);
	/* Our own writes are not observed: start the VM by hand. */
	sim_vm_reconcile(m, ns, target, false);
	return 0;
}

static double restore_secs(struct sim_model *m, const char *ns, const char *snapshot)
{
	cJSON *s = sim_store_get(m->st, m->r_snap, ns, snapshot);
	const char *cname = wk_json_str(s, "status.virtualMachineSnapshotContentName");
	cJSON *c = cname ? sim_store_get(m->st, m->r_snapc, ns, cname) : NULL;
	const cJSON *b;
	double secs = 1;
	cJSON_ArrayForEach(b, wk_json_path(c, "spec.volumeBackups"))
	{
		const char *cls = wk_json_str(b, "persistentVolumeClaim.spec.storageClassName");
		const struct sim_sc_class *k = cls ? sim_scenario_class(m->sc, cls) : NULL;
		int64_t size = sim_jqty(
		    wk_json_path(b, "persistentVolumeClaim.spec.resources.requests.storage"));
		if (k && size > 0)
			secs += (double)size / (double)k->copy_rate;
	}
	cJSON_Delete(c);
	cJSON_Delete(s);
	return secs;
}

static bool snapshot_ready(struct sim_model *m, const char *ns, const char *name, bool *failed)
{
	cJSON *s = sim_store_get(m->st, m->r_snap, ns, name);
	bool ready = cJSON_IsTrue(wk_json_path(s, "status.readyToUse"));
	const char *ph = wk_json_str(s, "status.phase");
	*failed = !s || (ph && !strcmp(ph, "Failed"));
	cJSON_Delete(s);
	return ready;
}

static void restore_finish(struct sim_model *m, const char *ns, const char *name, bool ok,
			   const char *msg)
{
	char ts[40];
	cJSON *st = cJSON_CreateObject();
	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON_AddBoolToObject(st, "complete", ok);
	if (ok)
		cJSON_AddStringToObject(st, "restoreTime", ts);
	cJSON_AddItemToObject(
	    st, "conditions",
	    ok ? conds2(m, "False", "Operation complete", "True", "Operation complete")
	       : conds2(m, "False", msg, "False", msg));
	status_merge(m, m->r_restore, ns, name, st);
}

void sim_restore_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	struct snapjob *j = job_find(m, JOB_RESTORE, ns, name);
	cJSON *o = deleted ? NULL : sim_store_get(m->st, m->r_restore, ns, name);
	if (!o) {
		if (j)
			job_del(m, j);
		return;
	}
	if (j || cJSON_IsTrue(wk_json_path(o, "status.complete"))) {
		cJSON_Delete(o);
		return;
	}
	const char *tk = wk_json_str(o, "spec.target.kind"),
		   *tn = wk_json_str(o, "spec.target.name");
	const char *sn = wk_json_str(o, "spec.virtualMachineSnapshotName");
	if (!tk || strcmp(tk, "VirtualMachine") || !tn || !sn) {
		restore_finish(m, ns, name, false, "invalid target or snapshot name");
		cJSON_Delete(o);
		return;
	}
	j = job_add(m, JOB_RESTORE, ns, name, wk_json_str(o, "metadata.uid"));
	j->target = wk_xstrdup(tn);
	j->snap = wk_xstrdup(sn);
	j->due = 0; /* set once the snapshot is ready */
	cJSON *st = cJSON_CreateObject();
	cJSON_AddBoolToObject(st, "complete", false);
	cJSON_AddItemToObject(st, "conditions",
			      conds2(m, "True", "Initializing VirtualMachineRestore", "False",
				     "Initializing VirtualMachineRestore"));
	status_merge(m, m->r_restore, ns, name, st);
	cJSON_Delete(o);
}

static void restore_step(struct sim_model *m, struct snapjob *j)
{
	bool failed;
	if (!j->due) {
		if (!snapshot_ready(m, j->ns, j->snap, &failed)) {
			if (failed) {
				restore_finish(m, j->ns, j->name, false, "snapshot is not usable");
				job_del(m, j);
			}
			return;
		}
		j->due = m->now + restore_secs(m, j->ns, j->snap);
		return;
	}
	if (m->now < j->due)
		return;
	cJSON *s = sim_store_get(m->st, m->r_snap, j->ns, j->snap);
	const char *cname = wk_json_str(s, "status.virtualMachineSnapshotContentName");
	char why[400] = "";
	int rc =
	    cname ? make_target(m, j->ns, cname, j->target, j->uid, j->name, NULL, why, sizeof(why))
		  : -1;
	cJSON_Delete(s);
	restore_finish(m, j->ns, j->name, rc == 0, "snapshot content is missing");
	job_del(m, j);
}

/* ---- clones ---- */

/* KubeVirt's clone updateStatus (pkg/virt-controller/watch/clone/clone.go): the conditions say
 * everything in `reason` (no message): pending = Progressing False "Pending" + Ready False <why>,
 * failing = Progressing False "Failed" + Ready False <why>, otherwise both "Still processing",
 * succeeded both "Ready". */
static void clone_status(struct sim_model *m, struct snapjob *j, const char *phase, const char *pst,
			 const char *preason, const char *rst, const char *rreason)
{
	cJSON *st = cJSON_CreateObject();
	if (phase)
		cJSON_AddStringToObject(st, "phase", phase);
	cJSON_AddItemToObject(st, "conditions", conds2(m, pst, preason, rst, rreason));
	if (j->snap && j->stage >= 1)
		cJSON_AddStringToObject(st, "snapshotName", j->snap);
	if (j->stage >= 2 && j->due) {
		char rn[300];
		snprintf(rn, sizeof(rn), "tmp-restore-%s", j->uid);
		cJSON_AddStringToObject(st, "restoreName", rn);
	}
	if (j->target && j->stage >= 3)
		cJSON_AddStringToObject(st, "targetName", j->target);
	status_merge(m, m->r_clone, j->ns, j->name, st);
}

static void clone_progress(struct sim_model *m, struct snapjob *j, const char *phase)
{
	clone_status(m, j, phase, "True", "Still processing", "False", "Still processing");
}

static void clone_fail(struct sim_model *m, struct snapjob *j, const char *event, const char *msg)
{
	clone_status(m, j, "Failed", "False", "Failed", "False", msg);
	sim_event(m, m->r_clone, j->ns, j->name, j->uid, "Normal", event, "%s", msg);
	job_del(m, j);
}

static void clone_pending(struct sim_model *m, struct snapjob *j, const char *event,
			  const char *msg, double retry)
{
	if (!j->blocked)
		sim_event(m, m->r_clone, j->ns, j->name, j->uid, "Normal", event, "%s", msg);
	j->blocked = true;
	j->retry_at = m->now + retry;
	clone_status(m, j, NULL, "False", "Pending", "False", msg);
}

/* Can the clone start? A VirtualMachine source must exist and every PVC volume must be
 * snapshot-capable in the VM's volumeSnapshotStatuses (validateVolumeSnapshotStatus); otherwise
 * it stays pending (phase unset), re-checked every few seconds. */
static void clone_try_start(struct sim_model *m, struct snapjob *j, const cJSON *clone)
{
	const char *kind = wk_json_str(clone, "spec.source.kind"),
		   *src = wk_json_str(clone, "spec.source.name");
	char why[600];

	if (!strcmp(kind, "VirtualMachineSnapshot")) {
		cJSON *sn = sim_store_get(m->st, m->r_snap, j->ns, src);
		if (!sn) {
			snprintf(why, sizeof(why),
				 "Source doesnt exist: VirtualMachineSnapshot %s/%s", j->ns, src);
			clone_pending(m, j, "SourceDoesNotExist", why, 2);
			return;
		}
		cJSON_Delete(sn);
		j->blocked = false;
		free(j->snap);
		j->snap = wk_xstrdup(src);
		j->own_snapshot = false;
		j->stage = 1;
		clone_progress(m, j, "SnapshotInProgress");
		return;
	}
	cJSON *vm = sim_store_get(m->st, m->r_vm, j->ns, src);
	if (!vm) {
		snprintf(why, sizeof(why), "Source doesnt exist: VirtualMachine %s/%s", j->ns, src);
		clone_pending(m, j, "SourceDoesNotExist", why, 2);
		return;
	}
	const cJSON *vol;
	why[0] = 0;
	cJSON_ArrayForEach(vol, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		const char *vname = wk_json_str(vol, "name");
		if (!claim)
			claim = wk_json_str(vol, "dataVolume.name");
		if (!claim || !vname)
			continue;
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, j->ns, claim);
		const char *cls = wk_json_str(pvc, "spec.storageClassName");
		size_t l = strlen(why);
		/* errors.Join: one line each */
		if ((!pvc || !sim_class_snapshottable(m, cls, vname, NULL, 0)) &&
		    l + 1 < sizeof(why))
			snprintf(why + l, sizeof(why) - l,
				 "%sVirtual Machine volume %s does not support snapshots",
				 l ? "\n" : "", vname);
		cJSON_Delete(pvc);
	}
	cJSON_Delete(vm);
	if (why[0]) {
		clone_pending(m, j, "VMVolumeSnapshotsInvalid", why, 5);
		return;
	}
	j->blocked = false;
	/* A temporary online snapshot of the source. */
	char sn[300];
	snprintf(sn, sizeof(sn), "tmp-snapshot-%s", j->uid);
	free(j->snap);
	j->snap = wk_xstrdup(sn);
	j->own_snapshot = true;
	j->stage = 1;
	cJSON *s = cJSON_CreateObject(), *meta, *spec, *ref;
	cJSON_AddStringToObject(s, "apiVersion", "snapshot.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(s, "kind", "VirtualMachineSnapshot");
	meta = cJSON_AddObjectToObject(s, "metadata");
	cJSON_AddStringToObject(meta, "name", sn);
	cJSON_AddStringToObject(meta, "namespace", j->ns);
	ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "apiVersion", "clone.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(ref, "kind", "VirtualMachineClone");
	cJSON_AddStringToObject(ref, "name", j->name);
	cJSON_AddStringToObject(ref, "uid", j->uid);
	cJSON_AddBoolToObject(ref, "controller", true);
	cJSON_AddBoolToObject(ref, "blockOwnerDeletion", true);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	spec = cJSON_AddObjectToObject(s, "spec");
	cJSON *src_ref = cJSON_AddObjectToObject(spec, "source");
	cJSON_AddStringToObject(src_ref, "apiGroup", "kubevirt.io");
	cJSON_AddStringToObject(src_ref, "kind", "VirtualMachine");
	cJSON_AddStringToObject(src_ref, "name", src);
	sim_create(m, m->r_snap, j->ns, s);
	sim_snap_reconcile(m, j->ns, sn, false);
	sim_event(m, m->r_clone, j->ns, j->name, j->uid, "Normal", "SnapshotCreated",
		  "created snapshot %s for clone %s", sn, j->name);
	clone_progress(m, j, "SnapshotInProgress");
}

void sim_clone_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	struct snapjob *j = job_find(m, JOB_CLONE, ns, name);
	cJSON *o = deleted ? NULL : sim_store_get(m->st, m->r_clone, ns, name);
	if (!o) {
		if (j)
			job_del(m, j);
		return;
	}
	const char *phase = wk_json_str(o, "status.phase");
	if (j || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))) {
		cJSON_Delete(o);
		return;
	}
	j = job_add(m, JOB_CLONE, ns, name, wk_json_str(o, "metadata.uid"));
	const char *sk = wk_json_str(o, "spec.source.kind"),
		   *sg = wk_json_str(o, "spec.source.apiGroup"),
		   *sname = wk_json_str(o, "spec.source.name");
	const char *tk = wk_json_str(o, "spec.target.kind"),
		   *tname = wk_json_str(o, "spec.target.name");
	/* What the webhook refuses; reached only by objects written past admission. */
	if (!sk || !sg || !sname || !*sname) {
		clone_fail(m, j, "CloneFailed", "source apiGroup, kind and name are required");
	} else if (!((!strcmp(sk, "VirtualMachine") && !strcmp(sg, "kubevirt.io")) ||
		     (!strcmp(sk, "VirtualMachineSnapshot") &&
		      !strcmp(sg, "snapshot.kubevirt.io")))) {
		clone_fail(m, j, "CloneFailed",
			   "source kind must be VirtualMachine or VirtualMachineSnapshot");
	} else if (tk && strcmp(tk, "VirtualMachine")) {
		clone_fail(m, j, "CloneFailed", "target kind must be VirtualMachine");
	} else if (tname && !strcmp(sk, "VirtualMachine") && !strcmp(tname, sname)) {
		clone_fail(m, j, "CloneFailed", "target name cannot be equal to source name");
	} else {
		if (tname && *tname) {
			j->target = wk_xstrdup(tname);
		} else {
			/* What the mutating webhook fills in. */
			static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
			char sfx[6];
			for (int i = 0; i < 5; i++)
				sfx[i] = abc[(int)(sim_rand(m) * 36) % 36];
			sfx[5] = 0;
			j->target = wk_xasprintf("clone-%.200s-%s", sname, sfx);
		}
		clone_try_start(m, j, o);
	}
	cJSON_Delete(o);
}

/* The temporary VirtualMachineRestore into the target. */
static void clone_make_restore(struct sim_model *m, struct snapjob *j)
{
	char rn[300];
	snprintf(rn, sizeof(rn), "tmp-restore-%s", j->uid);
	cJSON *r = cJSON_CreateObject(), *meta, *spec, *t;
	cJSON_AddStringToObject(r, "apiVersion", "snapshot.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(r, "kind", "VirtualMachineRestore");
	meta = cJSON_AddObjectToObject(r, "metadata");
	cJSON_AddStringToObject(meta, "name", rn);
	cJSON_AddStringToObject(meta, "namespace", j->ns);
	spec = cJSON_AddObjectToObject(r, "spec");
	t = cJSON_AddObjectToObject(spec, "target");
	cJSON_AddStringToObject(t, "apiGroup", "kubevirt.io");
	cJSON_AddStringToObject(t, "kind", "VirtualMachine");
	cJSON_AddStringToObject(t, "name", j->target);
	cJSON_AddStringToObject(spec, "virtualMachineSnapshotName", j->snap);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(r, "status"), "complete",
			      cJSON_CreateFalse());
	sim_create(m, m->r_restore, j->ns, r);
	sim_event(m, m->r_clone, j->ns, j->name, j->uid, "Normal", "RestoreCreated",
		  "created restore %s for clone %s", rn, j->name);
}

static void clone_step(struct sim_model *m, struct snapjob *j)
{
	bool failed;
	char rn[300];
	snprintf(rn, sizeof(rn), "tmp-restore-%s", j->uid);

	if (j->stage == 0) {
		if (m->now < j->retry_at)
			return;
		cJSON *o = sim_store_get(m->st, m->r_clone, j->ns, j->name);
		if (!o) {
			job_del(m, j);
			return;
		}
		clone_try_start(m, j, o);
		cJSON_Delete(o);
		return;
	}
	if (j->stage == 1) {
		/* verifySnapshotReady looks only at readyToUse: a snapshot that failed (or
		 * vanished) leaves the clone in SnapshotInProgress for good. */
		if (!snapshot_ready(m, j->ns, j->snap, &failed))
			return;
		j->stage = 2;
		j->due = 0;
		j->retry_at = 0;
	}
	if (j->stage == 2) {
		/* getSnapshot: the snapshot was there; gone now, the clone fails. */
		cJSON *sn = sim_store_get(m->st, m->r_snap, j->ns, j->snap);
		if (!sn) {
			char why[400];
			snprintf(why, sizeof(why), "snapshot %s does not exist anymore", j->snap);
			clone_fail(m, j, "SnapshotDeleted", why);
			return;
		}
		cJSON_Delete(sn);
		if (!j->due) {
			clone_make_restore(m, j);
			j->due = m->now + restore_secs(m, j->ns, j->snap);
			clone_progress(m, j, "RestoreInProgress");
			return;
		}
		if (m->now < j->due || m->now < j->retry_at)
			return;
		/* The restore builds the target VM; a patch that does not apply is an error the
		 * restore reports and retries (doUpdateError: fail=false), for ever: the clone
		 * stays in RestoreInProgress. */
		cJSON *clone = sim_store_get(m->st, m->r_clone, j->ns, j->name);
		cJSON *s = sim_store_get(m->st, m->r_snap, j->ns, j->snap);
		const char *cname = wk_json_str(s, "status.virtualMachineSnapshotContentName");
		char why[1600] = "", msg[2048];
		int rc = cname ? make_target(m, j->ns, cname, j->target, j->uid, rn,
					     wk_json_path(clone, "spec"), why, sizeof(why))
			       : -1;
		cJSON_Delete(s);
		cJSON_Delete(clone);
		if (rc < 0) {
			if (rc == -2)
				snprintf(msg, sizeof(msg), "error patching VM %s: %s", j->target,
					 why);
			else
				snprintf(msg, sizeof(msg), "snapshot %s does not exist anymore",
					 j->snap);
			restore_finish(m, j->ns, rn, false, msg);
			sim_event(m, m->r_restore, j->ns, rn, NULL, "Warning",
				  "VirtualMachineRestoreError",
				  "VirtualMachineRestore encountered error %s", msg);
			j->retry_at = m->now + 5;
			return;
		}
		restore_finish(m, j->ns, rn, true, NULL);
		j->stage = 3;
		clone_progress(m, j, "CreatingTargetVM");
		return;
	}
	/* stage 3: the target VM exists; clean up the temporary objects. */
	sim_delete(m, m->r_restore, j->ns, rn);
	if (j->own_snapshot) {
		sim_delete(m, m->r_snap, j->ns, j->snap);
		sim_snap_reconcile(m, j->ns, j->snap, true);
	}
	char ts[40];
	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "phase", "Succeeded");
	cJSON_AddItemToObject(st, "conditions", conds2(m, "False", "Ready", "True", "Ready"));
	/* The temporary snapshot and restore are gone: their names go back to null. */
	if (j->own_snapshot)
		cJSON_AddNullToObject(st, "snapshotName");
	else
		cJSON_AddStringToObject(st, "snapshotName", j->snap);
	cJSON_AddNullToObject(st, "restoreName");
	cJSON_AddStringToObject(st, "targetName", j->target);
	cJSON_AddStringToObject(st, "creationTime", ts);
	status_merge(m, m->r_clone, j->ns, j->name, st);
	sim_event(m, m->r_clone, j->ns, j->name, j->uid, "Normal", "PVCBound",
		  "all PVC for clone %s are bound", j->name);
	job_del(m, j);
}

void sim_snaps_tick(struct sim_model *m)
{
	for (struct snapjob *j = m->snaps; j; j = j->next) {
		if (j->dead)
			continue;
		switch (j->kind) {
		case JOB_SNAP:
			if (j->deadline && m->now >= j->deadline) {
				snap_fail(m, j, "snapshot deadline exceeded");
				break;
			}
			if (j->blocked) {
				if (m->now >= j->retry_at) {
					cJSON *o = sim_store_get(m->st, m->r_snap, j->ns, j->name);
					if (o)
						snap_check(m, j, o);
					cJSON_Delete(o);
				}
				break;
			}
			if (m->now >= j->due)
				snap_complete(m, j);
			break;
		case JOB_RESTORE:
			restore_step(m, j);
			break;
		case JOB_CLONE:
			clone_step(m, j);
			break;
		}
	}
	sweep(m);
}
