/* sim_model_dv.c - CDI's DataVolume controller and KubeVirt's side of it: a VM's
 * dataVolumeTemplates become DataVolumes (owned by the VM), each DataVolume a PVC of its storage
 * class, populated by an import (http or registry source, progress in status.progress as
 * "45.00%"), a blank image, a clone of another PVC or of a VolumeSnapshot (any namespace; the
 * population waits for the snapshot to be readyToUse); an unreachable source keeps the import
 * failing the way CDI's importer pod does. A VM starts only when its DataVolumes are Succeeded,
 * WaitForFirstConsumer or PendingPopulation; a WaitForFirstConsumer PVC binds when the VMI is
 * scheduled, and the VMI runs once its disks are populated. docs/simulator.md cites the upstream
 * sources. Calls sim_model_util.c and sim_vs_ready (sim_model_vsnap.c). */
#include "sim_model_int.h"

#include "wk_quantity.h"

#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define IMPORT_BYTES_MAX (INT64_C(2) << 30) /* an image is at most this big, whatever the disk */
#define IMPORT_RATE_DEFAULT (INT64_C(256) << 20)

enum dv_phase {
	DV_PENDING,
	DV_WFFC,
	DV_SCHEDULED, /* ImportScheduled / CloneScheduled */
	DV_RUNNING,   /* ImportInProgress / CloneInProgress */
	DV_FAILING,   /* ImportInProgress with the importer failing (restarts) */
	DV_SUCCEEDED,
};

struct dvjob {
	char *ns, *name, *key;
	enum dv_phase phase;
	bool clone;
	char *snap_ns, *snap; /* source.snapshot: population waits for it to be readyToUse */
	bool snap_waiting;    /* the wait was reported (one Event) */
	char url[1100];
	int64_t total, done, rate;
	double next_at;
	int restarts;
	struct dvjob *next;
};

static const char *phase_name(const struct dvjob *j)
{
	switch (j->phase) {
	case DV_PENDING:
		return "Pending";
	case DV_WFFC:
		return "WaitForFirstConsumer";
	case DV_SCHEDULED:
		return j->clone ? "CloneScheduled" : "ImportScheduled";
	case DV_RUNNING:
	case DV_FAILING:
		return j->clone ? "CloneInProgress" : "ImportInProgress";
	case DV_SUCCEEDED:
		return "Succeeded";
	}
	return "Unknown";
}

static struct dvjob *job_find(struct sim_model *m, const char *ns, const char *name)
{
	for (struct dvjob *j = m->dvjobs; j; j = j->next)
		if (!strcmp(j->ns, ns) && !strcmp(j->name, name))
			return j;
	return NULL;
}

static void job_free(struct sim_model *m, struct dvjob *j)
{
	for (struct dvjob **p = &m->dvjobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	free(j->ns);
	free(j->name);
	free(j->key);
	free(j->snap);
	free(j->snap_ns);
	free(j);
}

void sim_dvs_release(struct sim_model *m)
{
	while (m->dvjobs)
		job_free(m, m->dvjobs);
}

/* The host of an http(s) or docker:// URL into out; false if there is none. */
static bool url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *e;

	if (!p)
		return false;
	p += 3;
	e = p + strcspn(p, "/:?#");
	if (e == p || (size_t)(e - p) >= n)
		return false;
	snprintf(out, n, "%.*s", (int)(e - p), p);
	return true;
}

/* A source the importer cannot reach: a host under the reserved .invalid TLD (RFC 2606), or one
 * that is not a DNS name at all (the seed's "http://..."). */
static bool unreachable(const char *url)
{
	char host[256];
	size_t n;

	if (!url_host(url, host, sizeof(host)))
		return true;
	n = strlen(host);
	if ((n >= 8 && !strcmp(host + n - 8, ".invalid")) || !strcmp(host, "invalid") ||
	    strspn(host, ".") == n)
		return true;
	return false;
}

static cJSON *owner_ref(const char *api, const char *kind, const char *name, const char *uid)
{
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "uid", uid ? uid : "");
	cJSON_AddBoolToObject(o, "controller", true);
	cJSON_AddBoolToObject(o, "blockOwnerDeletion", true);
	cJSON_AddItemToArray(a, o);
	return a;
}

/* ---- writing the DataVolume's status ---- */

struct dvst {
	struct sim_model *m;
	struct dvjob *j;
	const char *msg;
};

static int dv_status_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct dvst *a = opaque;
	struct dvjob *j = a->j;
	cJSON *st = sim_jobj(obj, "status"), *c = cJSON_CreateArray();
	char prog[32];
	bool bound = j->phase >= DV_SCHEDULED;

	(void)err;
	sim_jset_str(st, "phase", phase_name(j));
	if (j->phase == DV_SUCCEEDED)
		snprintf(prog, sizeof(prog), "100.0%%");
	else if (j->phase == DV_RUNNING && j->total > 0)
		snprintf(prog, sizeof(prog), "%.2f%%", 100.0 * (double)j->done / (double)j->total);
	else
		snprintf(prog, sizeof(prog), "N/A");
	sim_jset_str(st, "progress", prog);
	sim_jset(st, "restartCount", cJSON_CreateNumber(j->restarts));
	cJSON_AddItemToArray(c, sim_cond_new(a->m, "Bound", bound ? "True" : "False",
					     bound ? "Bound" : "Pending",
					     bound    ? "PVC Bound"
					     : a->msg ? a->msg
						      : "PVC Pending"));
	if (j->phase == DV_FAILING)
		cJSON_AddItemToArray(c, sim_cond_new(a->m, "Running", "False", "Error", a->msg));
	else if (j->phase == DV_RUNNING)
		cJSON_AddItemToArray(c,
				     sim_cond_new(a->m, "Running", "True", "Pod is running", NULL));
	else
		cJSON_AddItemToArray(c, sim_cond_new(a->m, "Running", "False",
						     j->phase == DV_SUCCEEDED ? "Completed" : NULL,
						     NULL));
	cJSON_AddItemToArray(
	    c,
	    sim_cond_new(a->m, "Ready", j->phase == DV_SUCCEEDED ? "True" : "False", NULL, NULL));
	sim_jset(st, "conditions", c);
	return 0;
}

static void dv_write(struct sim_model *m, struct dvjob *j, const char *msg)
{
	struct dvst a = {m, j, msg};
	struct sim_err err;

	sim_store_mutate(m->st, m->r_dv, j->ns, j->name, dv_status_fn, &a, NULL, &err);
}

/* ---- the PVC ---- */

static bool class_wffc(struct sim_model *m, const char *cls)
{
	cJSON *sc = sim_store_get(m->st, m->r_sc, NULL, cls);
	const char *mode = wk_json_str(sc, "volumeBindingMode");
	bool w = mode && !strcmp(mode, "WaitForFirstConsumer");

	cJSON_Delete(sc);
	return w;
}

struct pvcbind {
	const char *node;
};

static int pvc_bind_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct pvcbind *b = opaque;
	cJSON *st = sim_jobj(obj, "status");
	const cJSON *am = wk_json_path(obj, "spec.accessModes");
	const cJSON *sz = wk_json_path(obj, "spec.resources.requests.storage");
	char vn[64];

	(void)err;
	if (b->node)
		sim_jset_str(sim_jobj(sim_jobj(obj, "metadata"), "annotations"), ANN_SELECTED_NODE,
			     b->node);
	snprintf(vn, sizeof(vn), "pvc-%s",
		 wk_json_str(obj, "metadata.uid") ? wk_json_str(obj, "metadata.uid") : "x");
	sim_jset_str(sim_jobj(obj, "spec"), "volumeName", vn);
	sim_jset_str(st, "phase", "Bound");
	if (am)
		sim_jset(st, "accessModes", cJSON_Duplicate(am, 1));
	if (sz)
		sim_jset(sim_jobj(st, "capacity"), "storage", cJSON_Duplicate(sz, 1));
	return 0;
}

static void pvc_bind(struct sim_model *m, const char *ns, const char *name, const char *node)
{
	struct pvcbind b = {node};
	struct sim_err err;

	sim_store_mutate(m->st, m->r_pvc, ns, name, pvc_bind_fn, &b, NULL, &err);
}

/* ---- DataVolume -> PVC -> population ---- */

static void start_population(struct sim_model *m, struct dvjob *j)
{
	j->phase = DV_SCHEDULED;
	j->next_at = m->now + 1 + sim_rand(m);
	dv_write(m, j, NULL);
}

/* A new DataVolume (created through the API or by the VM controller): its PVC, bound now or at
 * the first consumer, and the population job. */
void sim_dv_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	struct dvjob *j = job_find(m, ns, name);
	cJSON *dv, *pvc, *meta, *spec;
	const cJSON *storage;
	const char *cls, *am = NULL;
	const struct sim_sc_class *c;
	int64_t size;
	char q[64];

	if (deleted) {
		/* the PVC is the DataVolume's (ownerReference): the garbage collector takes it */
		if (j)
			job_free(m, j);
		sim_delete(m, m->r_pvc, ns, name);
		return;
	}
	if (j)
		return; /* spec is immutable: nothing to do on a change */
	dv = sim_store_get(m->st, m->r_dv, ns, name);
	if (!dv || wk_json_path(dv, "metadata.deletionTimestamp")) {
		cJSON_Delete(dv);
		return;
	}
	j = wk_xcalloc(1, sizeof(*j));
	j->ns = wk_xstrdup(ns);
	j->name = wk_xstrdup(name);
	j->key = wk_xasprintf("%s/%s", ns, name);
	j->next = m->dvjobs;
	m->dvjobs = j;
	storage = wk_json_path(dv, "spec.storage");
	if (!storage)
		storage = wk_json_path(dv, "spec.pvc");
	cls = wk_json_str(storage, "storageClassName");
	if (!cls)
		cls = m->sc->default_class;
	c = sim_scenario_class(m->sc, cls);
	size = sim_jqty(wk_json_path(storage, "resources.requests.storage"));
	if (size <= 0)
		size = INT64_C(10) << 30;
	if (cJSON_GetArraySize(wk_json_path(storage, "accessModes")))
		am = cJSON_GetArrayItem(wk_json_path(storage, "accessModes"), 0)->valuestring;
	if (!am) /* spec.storage: the StorageProfile's choice, the class's mode */
		am = !c || c->rwx ? "ReadWriteMany" : "ReadWriteOnce";
	if (wk_json_str(dv, "spec.source.http.url"))
		wk_strlcpy(j->url, wk_json_str(dv, "spec.source.http.url"), sizeof(j->url));
	else if (wk_json_str(dv, "spec.source.registry.url"))
		wk_strlcpy(j->url, wk_json_str(dv, "spec.source.registry.url"), sizeof(j->url));
	j->clone = wk_json_path(dv, "spec.source.pvc") != NULL;
	if (wk_json_str(dv, "spec.source.snapshot.name")) {
		/* CDI's snapshot clone (pkg/controller/datavolume/snapshot-clone-controller.go):
		 * a namespace left out means the DataVolume's own */
		const char *sns = wk_json_str(dv, "spec.source.snapshot.namespace");
		int64_t rs = -1;

		j->clone = true;
		j->snap = wk_xstrdup(wk_json_str(dv, "spec.source.snapshot.name"));
		j->snap_ns = wk_xstrdup(sns && *sns ? sns : ns);
		/* spec.storage without a size takes the snapshot's restoreSize (CDI's
		 * renderPvcSpec for a snapshot source) */
		if (!wk_json_path(storage, "resources.requests.storage")) {
			(void)sim_vs_ready(m, j->snap_ns, j->snap, &rs, NULL);
			if (rs > 0)
				size = rs;
		}
	}
	j->total = wk_json_path(dv, "spec.source.blank") ? INT64_C(64) << 20
		   : size < IMPORT_BYTES_MAX		 ? size
							 : IMPORT_BYTES_MAX;
	j->rate = c && c->copy_rate > 0 ? c->copy_rate : IMPORT_RATE_DEFAULT;

	/* The PVC, named as the DataVolume and owned by it (CDI's datavolume controller). */
	pvc = cJSON_CreateObject();
	cJSON_AddStringToObject(pvc, "apiVersion", "v1");
	cJSON_AddStringToObject(pvc, "kind", "PersistentVolumeClaim");
	meta = cJSON_AddObjectToObject(pvc, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", ns);
	if (wk_json_path(dv, "metadata.labels"))
		cJSON_AddItemToObject(meta, "labels",
				      cJSON_Duplicate(wk_json_path(dv, "metadata.labels"), 1));
	cJSON_AddItemToObject(meta, "ownerReferences",
			      owner_ref("cdi.kubevirt.io/v1beta1", "DataVolume", name,
					wk_json_str(dv, "metadata.uid")));
	spec = cJSON_AddObjectToObject(pvc, "spec");
	cJSON_AddItemToObject(spec, "accessModes", cJSON_CreateStringArray(&am, 1));
	wk_quantity_format_bytes(size, q, sizeof(q));
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "resources"), "requests"),
	    "storage", q);
	cJSON_AddStringToObject(spec, "storageClassName", cls ? cls : "");
	cJSON_AddStringToObject(spec, "volumeMode", "Block");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pvc, "status"), "phase", "Pending");
	sim_create(m, m->r_pvc, ns, pvc);
	if (!c) {
		/* No such class: the PVC stays Pending (the PV controller's event), the
		 * DataVolume Pending with Bound=False. */
		char msg[400];

		snprintf(msg, sizeof(msg), "storageclass.storage.k8s.io \"%s\" not found",
			 cls ? cls : "");
		sim_event(m, m->r_pvc, ns, name, NULL, "Warning", "ProvisioningFailed", "%s", msg);
		sim_event(m, m->r_dv, ns, name, NULL, "Normal", "Pending", "PVC %s Pending", name);
		j->phase = DV_PENDING;
		dv_write(m, j, msg);
	} else if (class_wffc(m, cls) &&
		   !wk_json_meta(dv, "annotations",
				 "cdi.kubevirt.io/storage.bind.immediate.requested")) {
		/* (AnnImmediateBinding, pkg/controller/common/util.go: any value binds now) */
		sim_event(m, m->r_pvc, ns, name, NULL, "Normal", "WaitForFirstConsumer",
			  "waiting for first consumer to be created before binding");
		j->phase = DV_WFFC;
		dv_write(m, j, "PVC Pending");
	} else {
		pvc_bind(m, ns, name, NULL);
		sim_event(m, m->r_dv, ns, name, NULL, "Normal", "Bound", "PVC %s Bound", name);
		start_population(m, j);
	}
	cJSON_Delete(dv);
}

void sim_dvs_tick(struct sim_model *m)
{
	for (struct dvjob *j = m->dvjobs; j; j = j->next) {
		if (j->phase < DV_SCHEDULED || j->phase == DV_SUCCEEDED || m->now < j->next_at)
			continue;
		if (j->phase == DV_SCHEDULED && j->snap) {
			bool exists = false;

			if (!sim_vs_ready(m, j->snap_ns, j->snap, NULL, &exists)) {
				/* CDI waits for the source snapshot
				 * (SnapshotForSmartCloneInProgress / CloneScheduled), checking
				 * again on its next change */
				if (!j->snap_waiting)
					sim_event(m, m->r_dv, j->ns, j->name, NULL, "Normal",
						  exists ? "CloneScheduled" : "CloneSourceNotFound",
						  "%s VolumeSnapshot %s/%s",
						  exists ? "waiting for the source"
							 : "cannot find the source",
						  j->snap_ns, j->snap);
				j->snap_waiting = true;
				j->next_at = m->now + 1;
				continue;
			}
		}
		if (j->phase == DV_SCHEDULED) {
			j->phase = DV_RUNNING;
			j->next_at = m->now + 1;
			if (!j->clone && j->url[0] && unreachable(j->url)) {
				char host[256] = "";
				char msg[1400];

				url_host(j->url, host, sizeof(host));
				/* the importer exits with the data source's error; the pod restarts
				 * with a back-off, and the DataVolume shows Running=False, Error */
				j->phase = DV_FAILING;
				snprintf(
				    msg, sizeof(msg),
				    "Unable to process data: HTTP request errored: Get \"%.900s\": "
				    "dial tcp: lookup %.200s: no such host",
				    j->url, host[0] ? host : "(none)");
				j->restarts++;
				j->next_at = m->now + 10 * j->restarts;
				sim_event(m, m->r_pvc, j->ns, j->name, NULL, "Warning",
					  "ErrImportFailed", "%s", msg);
				dv_write(m, j, msg);
				continue;
			}
			sim_event(m, m->r_dv, j->ns, j->name, NULL, "Normal",
				  j->clone ? "CloneInProgress" : "ImportInProgress",
				  "%s into %s in progress", j->clone ? "Cloning" : "Import",
				  j->name);
			dv_write(m, j, NULL);
			continue;
		}
		if (j->phase == DV_FAILING) {
			char host[256] = "", msg[1400];

			url_host(j->url, host, sizeof(host));
			snprintf(
			    msg, sizeof(msg),
			    "Unable to process data: HTTP request errored: Get \"%.900s\": dial "
			    "tcp: lookup %.200s: no such host",
			    j->url, host[0] ? host : "(none)");
			j->restarts++;
			j->next_at = m->now + (j->restarts < 30 ? 10 * j->restarts : 300);
			dv_write(m, j, msg);
			continue;
		}
		/* DV_RUNNING: one simulated second of copying */
		j->done += j->rate;
		j->next_at = m->now + 1;
		if (j->done >= j->total) {
			j->done = j->total;
			j->phase = DV_SUCCEEDED;
			sim_event(m, m->r_pvc, j->ns, j->name, NULL, "Normal", "ImportSucceeded",
				  "Import Successful");
			sim_event(m, m->r_dv, j->ns, j->name, NULL, "Normal", "ImportSucceeded",
				  "Successfully imported into PVC %s", j->name);
		}
		dv_write(m, j, NULL);
	}
}

/* ---- KubeVirt's VM controller ---- */

/* The VM's dataVolumeTemplates that do not exist yet become DataVolumes owned by the VM. */
void sim_dv_from_vm(struct sim_model *m, const cJSON *vm)
{
	const char *ns = wk_json_str(vm, "metadata.namespace");
	const cJSON *t;

	cJSON_ArrayForEach(t, wk_json_path(vm, "spec.dataVolumeTemplates"))
	{
		const char *name = wk_json_str(t, "metadata.name");
		cJSON *have, *dv, *meta;

		if (!ns || !name)
			continue;
		have = sim_store_get(m->st, m->r_dv, ns, name);
		if (have) {
			cJSON_Delete(have);
			continue;
		}
		dv = cJSON_CreateObject();
		cJSON_AddStringToObject(dv, "apiVersion", "cdi.kubevirt.io/v1beta1");
		cJSON_AddStringToObject(dv, "kind", "DataVolume");
		meta = cJSON_AddObjectToObject(dv, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "namespace", ns);
		if (wk_json_path(t, "metadata.labels"))
			cJSON_AddItemToObject(
			    meta, "labels", cJSON_Duplicate(wk_json_path(t, "metadata.labels"), 1));
		cJSON_AddItemToObject(meta, "ownerReferences",
				      owner_ref("kubevirt.io/v1", "VirtualMachine",
						wk_json_str(vm, "metadata.name"),
						wk_json_str(vm, "metadata.uid")));
		cJSON_AddItemToObject(dv, "spec",
				      wk_json_path(t, "spec")
					  ? cJSON_Duplicate(wk_json_path(t, "spec"), 1)
					  : cJSON_CreateObject());
		if (sim_create(m, m->r_dv, ns, dv) == 0) {
			sim_event(m, m->r_vm, ns, wk_json_str(vm, "metadata.name"), NULL, "Normal",
				  "SuccessfulDataVolumeCreate", "Created DataVolume %s", name);
			sim_dv_reconcile(m, ns, name, false);
		}
	}
}

/* The VM is gone: its DataVolumes (and with them their PVCs) go too. */
void sim_dv_vm_deleted(struct sim_model *m, const char *ns, const char *vmname)
{
	struct dvjob *j, *nx;

	for (j = m->dvjobs; j; j = nx) {
		cJSON *dv;
		const char *owner;

		nx = j->next;
		if (strcmp(j->ns, ns))
			continue;
		dv = sim_store_get(m->st, m->r_dv, ns, j->name);
		owner = wk_json_str(
		    cJSON_GetArrayItem(wk_json_path(dv, "metadata.ownerReferences"), 0), "name");
		if (owner && !strcmp(owner, vmname) &&
		    !strcmp(wk_json_str(
				cJSON_GetArrayItem(wk_json_path(dv, "metadata.ownerReferences"), 0),
				"kind"),
			    "VirtualMachine")) {
			char name[300];

			wk_strlcpy(name, j->name, sizeof(name));
			sim_delete(m, m->r_dv, ns, name);
			sim_dv_reconcile(m, ns, name, true);
		}
		cJSON_Delete(dv);
	}
}

/* The names of the DataVolumes a VM's (or VMI's) volumes use. */
static int each_dv(struct sim_model *m, const cJSON *volumes, const char *ns,
		   int (*fn)(struct sim_model *, struct dvjob *, void *), void *opaque)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, volumes)
	{
		const char *n = wk_json_str(v, "dataVolume.name");
		struct dvjob *j;
		int rc;

		if (!n)
			continue;
		j = job_find(m, ns, n);
		rc = fn(m, j, opaque);
		if (rc)
			return rc;
	}
	return 0;
}

static int not_startable(struct sim_model *m, struct dvjob *j, void *opaque)
{
	(void)m, (void)opaque;
	/* absent: not created yet (KubeVirt waits for it); Succeeded / WaitForFirstConsumer let the
	 * VMI be created (handleDataVolumes) */
	return !j || (j->phase != DV_SUCCEEDED && j->phase != DV_WFFC);
}

bool sim_dv_vm_startable(struct sim_model *m, const cJSON *vm)
{
	return !each_dv(m, wk_json_path(vm, "spec.template.spec.volumes"),
			wk_json_str(vm, "metadata.namespace"), not_startable, NULL);
}

static int not_populated(struct sim_model *m, struct dvjob *j, void *opaque)
{
	(void)m, (void)opaque;
	return j && j->phase != DV_SUCCEEDED;
}

static int bind_wffc(struct sim_model *m, struct dvjob *j, void *opaque)
{
	if (j && j->phase == DV_WFFC) {
		pvc_bind(m, j->ns, j->name, opaque);
		sim_event(m, m->r_dv, j->ns, j->name, NULL, "Normal", "Bound", "PVC %s Bound",
			  j->name);
		start_population(m, j);
	}
	return 0;
}

/* The VMI of vm was scheduled to node: its WaitForFirstConsumer PVCs bind there and their
 * population starts. */
void sim_dv_vmi_scheduled(struct sim_model *m, const char *ns, const char *vmname, const char *node)
{
	cJSON *vmi = sim_store_get(m->st, m->r_vmi, ns, vmname);

	each_dv(m, wk_json_path(vmi, "spec.volumes"), ns, bind_wffc, (void *)node);
	cJSON_Delete(vmi);
}

/* Are the VMI's disks populated (it may run)? */
bool sim_dv_vmi_ready(struct sim_model *m, const char *ns, const char *vmname)
{
	cJSON *vmi = sim_store_get(m->st, m->r_vmi, ns, vmname);
	bool ok = !each_dv(m, wk_json_path(vmi, "spec.volumes"), ns, not_populated, NULL);

	cJSON_Delete(vmi);
	return ok;
}
