/* sim_model_storage.c - storage as a cluster has it: StorageClasses (volumeBindingMode),
 * VolumeSnapshotClasses per CSI driver, and the PersistentVolume controller (binding a claim to a
 * new PersistentVolume at once, or at its first consumer for WaitForFirstConsumer classes, with
 * node affinity for local volumes; a claim whose class does not exist stays Pending). Calls only
 * sim_model_util.c. */
#include "sim_model_int.h"

#include "wk_quantity.h"

#define PV_CONTROLLER "persistentvolume-controller"
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"

/* ---- seeding ---- */

void sim_storage_seed(struct sim_model *m)
{
	for (size_t i = 0; i < m->sc->nclasses; i++) {
		const struct sim_sc_class *c = &m->sc->classes[i];
		cJSON *o = cJSON_CreateObject(), *meta, *ann;
		char rate[64];

		cJSON_AddStringToObject(o, "apiVersion", "storage.k8s.io/v1");
		cJSON_AddStringToObject(o, "kind", "StorageClass");
		meta = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(meta, "name", c->name);
		ann = cJSON_AddObjectToObject(meta, "annotations");
		if (!strcmp(c->name, m->sc->default_class))
			cJSON_AddStringToObject(ann, "storageclass.kubernetes.io/is-default-class",
						"true");
		/* What the model assumes about the class, readable by tests and tools. */
		cJSON_AddStringToObject(ann, "sim.novasphere.dev/access-mode",
					c->rwx ? "ReadWriteMany" : "ReadWriteOnce");
		cJSON_AddStringToObject(ann, "sim.novasphere.dev/snapshot",
					c->snapshot ? "true" : "false");
		wk_quantity_format_bytes(c->copy_rate, rate, sizeof(rate));
		cJSON_AddStringToObject(ann, "sim.novasphere.dev/copy-rate", rate);
		cJSON_AddStringToObject(o, "provisioner", c->provisioner);
		cJSON_AddStringToObject(o, "reclaimPolicy", "Delete");
		cJSON_AddStringToObject(o, "volumeBindingMode",
					c->wffc ? "WaitForFirstConsumer" : "Immediate");
		cJSON_AddBoolToObject(o, "allowVolumeExpansion", !c->local);
		sim_create(m, m->r_sc, NULL, o);
	}
	/* One VolumeSnapshotClass per CSI driver that can snapshot (the scenario checked that
	 * classes sharing a driver agree). */
	for (size_t i = 0; i < m->sc->nclasses; i++) {
		const struct sim_sc_class *c = &m->sc->classes[i];
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= m->sc->classes[j].snapshot &&
				!strcmp(m->sc->classes[j].provisioner, c->provisioner);
		if (!c->snapshot || seen)
			continue;
		cJSON *o = cJSON_CreateObject(), *meta;
		char name[300];
		snprintf(name, sizeof(name), "%.200s-snapclass", c->name);
		cJSON_AddStringToObject(o, "apiVersion", "snapshot.storage.k8s.io/v1");
		cJSON_AddStringToObject(o, "kind", "VolumeSnapshotClass");
		meta = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
					"snapshot.storage.kubernetes.io/is-default-class", "true");
		cJSON_AddStringToObject(o, "driver", c->provisioner);
		cJSON_AddStringToObject(o, "deletionPolicy", "Delete");
		sim_create(m, m->r_vsc, NULL, o);
	}
}

/* ---- VolumeSnapshotClasses ---- */

struct vsc_count {
	const char *driver;
	int n, defaults;
};

static int count_vsc(const cJSON *o, void *opaque)
{
	struct vsc_count *c = opaque;
	const char *d = wk_json_str(o, "driver");
	if (d && !strcmp(d, c->driver)) {
		c->n++;
		if (cJSON_GetObjectItemCaseSensitive(
			wk_json_path(o, "metadata.annotations"),
			"snapshot.storage.kubernetes.io/is-default-class"))
			c->defaults++;
	}
	return 0;
}

/* KubeVirt's getVolumeSnapshotClassName (pkg/storage/snapshot/snapshot.go): the stored
 * VolumeSnapshotClasses whose driver is the class's provisioner; several need one marked
 * default. A class that does not exist has none. */
bool sim_class_snapshottable(struct sim_model *m, const char *cls, const char *volume, char *why,
			     size_t why_size)
{
	cJSON *sc = cls ? sim_store_get(m->st, m->r_sc, NULL, cls) : NULL;
	const char *prov = wk_json_str(sc, "provisioner");
	struct vsc_count c = {prov, 0, 0};
	bool ok = false;

	if (prov)
		sim_store_foreach(m->st, m->r_vsc, NULL, count_vsc, &c);
	if (c.n == 1 || (c.n > 1 && c.defaults == 1))
		ok = true;
	else if (why && c.n > 1)
		snprintf(why, why_size, "%d matching VolumeSnapshotClasses for %s", c.n, cls);
	else if (why)
		snprintf(why, why_size, MSG_NO_CLASS, cls ? cls : "", volume ? volume : "");
	cJSON_Delete(sc);
	return ok;
}

/* ---- the PersistentVolume controller ---- */

static void pv_create(struct sim_model *m, const cJSON *pvc, const cJSON *sc, const char *pvname,
		      const char *node)
{
	cJSON *pv = cJSON_CreateObject(), *meta, *spec, *ref;
	const char *prov = wk_json_str(sc, "provisioner");
	const struct sim_sc_class *c = sim_scenario_class(m->sc, wk_json_str(sc, "metadata.name"));

	cJSON_AddStringToObject(pv, "apiVersion", "v1");
	cJSON_AddStringToObject(pv, "kind", "PersistentVolume");
	meta = cJSON_AddObjectToObject(pv, "metadata");
	cJSON_AddStringToObject(meta, "name", pvname);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
				"pv.kubernetes.io/provisioned-by", prov ? prov : "");
	spec = cJSON_AddObjectToObject(pv, "spec");
	if (wk_json_path(pvc, "spec.accessModes"))
		cJSON_AddItemToObject(spec, "accessModes",
				      cJSON_Duplicate(wk_json_path(pvc, "spec.accessModes"), 1));
	if (wk_json_path(pvc, "spec.resources.requests.storage"))
		cJSON_AddItemToObject(
		    cJSON_AddObjectToObject(spec, "capacity"), "storage",
		    cJSON_Duplicate(wk_json_path(pvc, "spec.resources.requests.storage"), 1));
	ref = cJSON_AddObjectToObject(spec, "claimRef");
	cJSON_AddStringToObject(ref, "apiVersion", "v1");
	cJSON_AddStringToObject(ref, "kind", "PersistentVolumeClaim");
	sim_jset_str(ref, "name", wk_json_str(pvc, "metadata.name"));
	sim_jset_str(ref, "namespace", wk_json_str(pvc, "metadata.namespace"));
	sim_jset_str(ref, "uid", wk_json_str(pvc, "metadata.uid"));
	cJSON_AddStringToObject(spec, "persistentVolumeReclaimPolicy", "Delete");
	sim_jset_str(spec, "storageClassName", wk_json_str(sc, "metadata.name"));
	sim_jset_str(spec, "volumeMode",
		     wk_json_str(pvc, "spec.volumeMode") ? wk_json_str(pvc, "spec.volumeMode")
							 : "Filesystem");
	if (c && c->local && node) {
		char path[400];
		snprintf(path, sizeof(path), "/var/lib/local-volumes/%s", pvname);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "local"), "path", path);
		/* nodeAffinity.required: the pod that uses it can only run on this node. */
		cJSON *expr = cJSON_CreateObject(), *terms, *term;
		cJSON_AddStringToObject(expr, "key", "kubernetes.io/hostname");
		cJSON_AddStringToObject(expr, "operator", "In");
		cJSON_AddItemToObject(expr, "values", cJSON_CreateStringArray(&node, 1));
		terms = cJSON_AddArrayToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "nodeAffinity"),
					    "required"),
		    "nodeSelectorTerms");
		term = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_AddArrayToObject(term, "matchExpressions"), expr);
		cJSON_AddItemToArray(terms, term);
	} else {
		cJSON *csi = cJSON_AddObjectToObject(spec, "csi");
		cJSON_AddStringToObject(csi, "driver", prov ? prov : "");
		cJSON_AddStringToObject(csi, "volumeHandle", pvname);
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pv, "status"), "phase", "Bound");
	sim_create(m, m->r_pv, NULL, pv);
}

struct bind_w {
	const char *pv, *prov, *node;
};

static int bind_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct bind_w *w = opaque;
	(void)err;
	cJSON *ann = sim_jobj(sim_jobj(obj, "metadata"), "annotations");
	sim_jset_str(ann, "pv.kubernetes.io/bind-completed", "yes");
	sim_jset_str(ann, "pv.kubernetes.io/bound-by-controller", "yes");
	sim_jset_str(ann, "volume.beta.kubernetes.io/storage-provisioner", w->prov);
	sim_jset_str(ann, "volume.kubernetes.io/storage-provisioner", w->prov);
	if (w->node)
		sim_jset_str(ann, ANN_SELECTED_NODE, w->node);
	sim_jset_str(sim_jobj(obj, "spec"), "volumeName", w->pv);
	cJSON *st = sim_jobj(obj, "status");
	sim_jset_str(st, "phase", "Bound");
	const cJSON *am = wk_json_path(obj, "spec.accessModes");
	if (am)
		sim_jset(st, "accessModes", cJSON_Duplicate(am, 1));
	const cJSON *sz = wk_json_path(obj, "spec.resources.requests.storage");
	if (sz)
		sim_jset(sim_jobj(st, "capacity"), "storage", cJSON_Duplicate(sz, 1));
	return 0;
}

/* Provision and bind the claim now (node: where its first consumer was scheduled, or NULL). */
static void bind_claim(struct sim_model *m, const cJSON *pvc, const cJSON *sc, const char *node)
{
	char pvname[80];
	const char *ns = wk_json_str(pvc, "metadata.namespace"),
		   *name = wk_json_str(pvc, "metadata.name");
	/* the external provisioner names the volume after the claim's uid */
	snprintf(pvname, sizeof(pvname), "pvc-%.40s",
		 wk_json_str(pvc, "metadata.uid") ? wk_json_str(pvc, "metadata.uid") : "");
	pv_create(m, pvc, sc, pvname, node);
	struct bind_w w = {
	    pvname, wk_json_str(sc, "provisioner") ? wk_json_str(sc, "provisioner") : "", node};
	struct sim_err err;
	sim_store_mutate(m->st, m->r_pvc, ns, name, bind_fn, &w, NULL, &err);
}

/* A claim that is not bound: provision it (Immediate), wait for a consumer
 * (WaitForFirstConsumer: event WaitForFirstConsumer), or fail to (its class does not exist:
 * Warning ProvisioningFailed, retried; pv_controller.go provisionClaim). */
static void claim_sync(struct sim_model *m, const cJSON *pvc, bool first)
{
	const char *ns = wk_json_str(pvc, "metadata.namespace"),
		   *name = wk_json_str(pvc, "metadata.name"),
		   *cls = wk_json_str(pvc, "spec.storageClassName"),
		   *uid = wk_json_str(pvc, "metadata.uid");
	if (!cls || !*cls) {
		/* No class named: the default one (the DefaultStorageClass admission plugin
		 * would have set it); statically provisioned claims are not modelled. */
		cls = m->sc->default_class;
	}
	cJSON *sc = sim_store_get(m->st, m->r_sc, NULL, cls);
	if (!sc) {
		if (first)
			sim_event_from(m, m->r_pvc, ns, name, uid, PV_CONTROLLER, "Warning",
				       "ProvisioningFailed",
				       "storageclass.storage.k8s.io \"%s\" not found", cls);
		return;
	}
	const char *mode = wk_json_str(sc, "volumeBindingMode");
	if (mode && !strcmp(mode, "WaitForFirstConsumer")) {
		const char *sel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    wk_json_path(pvc, "metadata.annotations"), ANN_SELECTED_NODE));
		if (sel)
			bind_claim(m, pvc, sc, sel);
		else if (first)
			sim_event_from(m, m->r_pvc, ns, name, uid, PV_CONTROLLER, "Normal",
				       "WaitForFirstConsumer",
				       "waiting for first consumer to be created before binding");
	} else {
		bind_claim(m, pvc, sc, NULL);
	}
	cJSON_Delete(sc);
}

/* Create a claim (the stand-in's, a restore's) and let the controller bind it. */
void sim_pvc_create(struct sim_model *m, const char *ns, cJSON *pvc)
{
	cJSON *out = NULL;
	struct sim_err err;
	cJSON_DeleteItemFromObjectCaseSensitive(pvc, "status");
	sim_jset_str(sim_jobj(pvc, "status"), "phase", "Pending");
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(pvc, "spec"),
						"volumeName");
	/* the store takes pvc */
	if (sim_store_create(m->st, m->r_pvc, ns, pvc, &out, &err) < 0)
		return;
	claim_sync(m, out, true);
	cJSON_Delete(out);
}

struct claim_ref {
	const char *ns, *name;
	cJSON *pvs; /* names of the PVs bound to it with reclaim policy Delete */
};

static int find_claim_pv(const cJSON *o, void *opaque)
{
	struct claim_ref *c = opaque;
	const char *ns = wk_json_str(o, "spec.claimRef.namespace"),
		   *name = wk_json_str(o, "spec.claimRef.name"),
		   *pol = wk_json_str(o, "spec.persistentVolumeReclaimPolicy");
	if (ns && name && !strcmp(ns, c->ns) && !strcmp(name, c->name) && pol &&
	    !strcmp(pol, "Delete") && wk_json_str(o, "metadata.name"))
		cJSON_AddItemToArray(c->pvs, cJSON_CreateString(wk_json_str(o, "metadata.name")));
	return 0;
}

/* A client created, changed or deleted a claim. A deleted claim's PersistentVolumes with
 * reclaim policy Delete go too (the provisioner deletes the volume). */
void sim_pvc_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	cJSON *pvc = deleted ? NULL : sim_store_get(m->st, m->r_pvc, ns, name);
	if (!pvc) {
		struct claim_ref c = {ns, name, cJSON_CreateArray()};
		const cJSON *p;
		sim_store_foreach(m->st, m->r_pv, NULL, find_claim_pv, &c);
		cJSON_ArrayForEach(p, c.pvs) sim_delete(m, m->r_pv, NULL, p->valuestring);
		cJSON_Delete(c.pvs);
		return;
	}
	const char *ph = wk_json_str(pvc, "status.phase");
	if (!ph || strcmp(ph, "Bound")) {
		bool first = !ph;
		if (first) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "status"), "phase",
						"Pending");
			sim_merge(m, m->r_pvc, ns, name, p);
		}
		claim_sync(m, pvc, first);
	}
	cJSON_Delete(pvc);
}

/* Claims still waiting for their class retry now and then, as the controller's resync does. */
static int collect_pending(const cJSON *o, void *opaque)
{
	const char *ph = wk_json_str(o, "status.phase");
	if (ph && !strcmp(ph, "Pending") && cJSON_GetArraySize(opaque) < 256)
		cJSON_AddItemToArray(opaque, cJSON_Duplicate(o, 1));
	return 0;
}

void sim_storage_tick(struct sim_model *m)
{
	static const double resync = 15;
	if (m->now < m->pvc_resync_at)
		return;
	m->pvc_resync_at = m->now + resync;
	cJSON *a = cJSON_CreateArray();
	const cJSON *p;
	sim_store_foreach(m->st, m->r_pvc, NULL, collect_pending, a);
	cJSON_ArrayForEach(p, a) claim_sync(m, p, false);
	cJSON_Delete(a);
}

/* ---- what the scheduler's VolumeBinding plugin sees ---- */

/* The claims of a VMI spec: -1 with the scheduler's reason when one is unbound and not
 * WaitForFirstConsumer (or missing its class); otherwise 0 and *pin = the node a bound local
 * volume is on (-1 none). */
int sim_claims_check(struct sim_model *m, const char *ns, const cJSON *spec, int *pin,
		     const char **why)
{
	const cJSON *vol;
	*pin = -1;
	*why = NULL;
	cJSON_ArrayForEach(vol, wk_json_path(spec, "volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		if (!claim)
			claim = wk_json_str(vol, "dataVolume.name");
		if (!claim)
			continue;
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, ns, claim);
		const char *ph = wk_json_str(pvc, "status.phase");
		if (!pvc) {
			*why = "persistentvolumeclaim not found";
		} else if (ph && !strcmp(ph, "Bound")) {
			const char *pvn = wk_json_str(pvc, "spec.volumeName");
			cJSON *pv = pvn ? sim_store_get(m->st, m->r_pv, NULL, pvn) : NULL;
			const cJSON *t = cJSON_GetArrayItem(
			    wk_json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms"), 0);
			const cJSON *e = cJSON_GetArrayItem(wk_json_path(t, "matchExpressions"), 0);
			const char *node =
			    cJSON_GetStringValue(cJSON_GetArrayItem(wk_json_path(e, "values"), 0));
			if (node)
				*pin = sim_node_index(m, node);
			cJSON_Delete(pv);
		} else {
			const char *cls = wk_json_str(pvc, "spec.storageClassName");
			cJSON *sc = sim_store_get(m->st, m->r_sc, NULL,
						  cls && *cls ? cls : m->sc->default_class);
			const char *mode = wk_json_str(sc, "volumeBindingMode");
			if (!mode || strcmp(mode, "WaitForFirstConsumer"))
				*why = "pod has unbound immediate PersistentVolumeClaims";
			cJSON_Delete(sc);
		}
		cJSON_Delete(pvc);
		if (*why)
			return -1;
	}
	return 0;
}

/* The pod was scheduled on node: WaitForFirstConsumer claims are provisioned there. */
void sim_claims_bind(struct sim_model *m, const char *ns, const cJSON *spec, int node)
{
	const cJSON *vol;
	cJSON_ArrayForEach(vol, wk_json_path(spec, "volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		if (!claim)
			claim = wk_json_str(vol, "dataVolume.name");
		cJSON *pvc = claim ? sim_store_get(m->st, m->r_pvc, ns, claim) : NULL;
		const char *ph = wk_json_str(pvc, "status.phase");
		if (pvc && (!ph || strcmp(ph, "Bound"))) {
			const char *cls = wk_json_str(pvc, "spec.storageClassName");
			cJSON *sc = sim_store_get(m->st, m->r_sc, NULL,
						  cls && *cls ? cls : m->sc->default_class);
			const char *mode = wk_json_str(sc, "volumeBindingMode");
			if (mode && !strcmp(mode, "WaitForFirstConsumer"))
				bind_claim(m, pvc, sc, m->nodes[node].name);
			cJSON_Delete(sc);
		}
		cJSON_Delete(pvc);
	}
}
