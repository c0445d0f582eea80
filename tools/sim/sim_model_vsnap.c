/* sim_model_vsnap.c - the CSI external-snapshotter's common controller for VolumeSnapshots
 * (snapshot.storage.k8s.io/v1) with a persistentVolumeClaimName source: the snapshot binds to a
 * content once a VolumeSnapshotClass serves the claim's CSI driver (the class named, else the
 * driver's default), is cut (creationTime) at once and becomes readyToUse after the class's copy
 * time; without a class, or without a bound claim, it stays not ready with status.error and a
 * Warning Event, as upstream's does. VolumeSnapshotContents are not stored (nothing here reads
 * them). docs/simulator.md cites the upstream sources. Calls only sim_model_util.c and
 * sim_model_storage.c's class check. */
#include "sim_model_int.h"

struct vsjob {
	char *ns, *name, *uid;
	double due; /* readyToUse at this sim time */
	int64_t size;
	struct vsjob *next;
};

static struct vsjob *vs_find(struct sim_model *m, const char *ns, const char *name)
{
	for (struct vsjob *j = m->vsjobs; j; j = j->next)
		if (!strcmp(j->ns, ns) && !strcmp(j->name, name))
			return j;
	return NULL;
}

static void vs_free(struct sim_model *m, struct vsjob *j)
{
	struct vsjob **pp = &m->vsjobs;

	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
	free(j->ns);
	free(j->name);
	free(j->uid);
	free(j);
}

void sim_vss_release(struct sim_model *m)
{
	while (m->vsjobs)
		vs_free(m, m->vsjobs);
}

static void vs_status(struct sim_model *m, const char *ns, const char *name, cJSON *st)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddItemToObject(p, "status", st);
	sim_merge(m, m->r_vs, ns, name, p);
}

/* The snapshot controller's error: status.error {message, time}, readyToUse false, and the
 * Warning Event (pkg/common-controller/snapshot_controller.go updateSnapshotErrorStatusWithEvent).
 */
static void vs_error(struct sim_model *m, const char *ns, const char *name, const char *uid,
		     const char *reason, const char *msg)
{
	cJSON *st = cJSON_CreateObject(), *e;
	char ts[40];

	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON_AddBoolToObject(st, "readyToUse", false);
	e = cJSON_AddObjectToObject(st, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "time", ts);
	vs_status(m, ns, name, st);
	sim_event(m, m->r_vs, ns, name, uid, "Warning", reason, "%s", msg);
}

void sim_vs_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	struct vsjob *j = vs_find(m, ns, name);
	cJSON *vs, *pvc = NULL;
	const char *claim, *uid, *cls, *phase;
	char why[400], msg[700], ts[40], content[320];
	const struct sim_sc_class *c;

	if (deleted) {
		if (j)
			vs_free(m, j);
		return;
	}
	if (j)
		return; /* the source is immutable (the CRD's validation rules) */
	vs = sim_store_get(m->st, m->r_vs, ns, name);
	if (!vs || wk_json_path(vs, "metadata.deletionTimestamp") ||
	    wk_json_path(vs, "status.boundVolumeSnapshotContentName") ||
	    wk_json_path(vs, "status.error")) {
		cJSON_Delete(vs);
		return;
	}
	uid = wk_json_str(vs, "metadata.uid");
	claim = wk_json_str(vs, "spec.source.persistentVolumeClaimName");
	if (!claim) {
		/* A pre-provisioned content (volumeSnapshotContentName): none is modelled. */
		vs_error(m, ns, name, uid, "SnapshotContentMissing",
			 "VolumeSnapshotContent is missing");
		cJSON_Delete(vs);
		return;
	}
	pvc = sim_store_get(m->st, m->r_pvc, ns, claim);
	phase = wk_json_str(pvc, "status.phase");
	if (!pvc || !phase || strcmp(phase, "Bound")) {
		/* getClaimFromVolumeSnapshot: "the PVC %s is not yet bound to a PV, will not
		 * attempt to take a snapshot"; retried on the claim's next change */
		snprintf(msg, sizeof(msg),
			 "Failed to create snapshot content with error snapshot controller failed "
			 "to update %s on API server: the PVC %s%s",
			 name, claim, pvc ? " is not yet bound to a PV" : " not found");
		vs_error(m, ns, name, uid, "SnapshotContentCreationFailed", msg);
		cJSON_Delete(vs);
		cJSON_Delete(pvc);
		return;
	}
	cls = wk_json_str(pvc, "spec.storageClassName");
	if (!sim_class_snapshottable(m, cls, claim, why, sizeof(why))) {
		/* SetDefaultSnapshotClass: no VolumeSnapshotClass for the claim's driver */
		snprintf(msg, sizeof(msg),
			 "Failed to set default snapshot class with error cannot find default "
			 "snapshot class (%s)",
			 why);
		vs_error(m, ns, name, uid, "SetDefaultSnapshotClassFailed", msg);
		cJSON_Delete(vs);
		cJSON_Delete(pvc);
		return;
	}
	c = cls ? sim_scenario_class(m->sc, cls) : NULL;
	j = wk_xcalloc(1, sizeof(*j));
	j->ns = wk_xstrdup(ns);
	j->name = wk_xstrdup(name);
	j->uid = wk_xstrdup(uid ? uid : "");
	j->size = sim_jqty(wk_json_path(pvc, "spec.resources.requests.storage"));
	if (j->size < 0)
		j->size = 0;
	j->due =
	    m->now + 1 +
	    (double)j->size / (double)(c && c->copy_rate > 0 ? c->copy_rate : INT64_C(256) << 20);
	j->next = m->vsjobs;
	m->vsjobs = j;

	/* Bound to its content and cut now (creationTime); ready once the copy is done. */
	cJSON *st = cJSON_CreateObject();
	char q[64];

	snprintf(content, sizeof(content), "snapcontent-%s", j->uid);
	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON_AddStringToObject(st, "boundVolumeSnapshotContentName", content);
	cJSON_AddStringToObject(st, "creationTime", ts);
	cJSON_AddBoolToObject(st, "readyToUse", false);
	snprintf(q, sizeof(q), "%lld", (long long)j->size);
	cJSON_AddStringToObject(st, "restoreSize",
				wk_json_str(pvc, "spec.resources.requests.storage")
				    ? wk_json_str(pvc, "spec.resources.requests.storage")
				    : q);
	vs_status(m, ns, name, st);
	sim_event(m, m->r_vs, ns, name, j->uid, "Normal", "CreatingSnapshot",
		  "Waiting for a snapshot %s/%s to be created by the CSI driver.", ns, name);
	cJSON_Delete(vs);
	cJSON_Delete(pvc);
}

void sim_vss_tick(struct sim_model *m)
{
	struct vsjob *j = m->vsjobs, *nx;

	for (; j; j = nx) {
		nx = j->next;
		if (m->now < j->due)
			continue;
		cJSON *st = cJSON_CreateObject();

		cJSON_AddBoolToObject(st, "readyToUse", true);
		vs_status(m, j->ns, j->name, st);
		sim_event(m, m->r_vs, j->ns, j->name, j->uid, "Normal", "SnapshotReady",
			  "Snapshot %s/%s is ready to use.", j->ns, j->name);
		vs_free(m, j);
	}
}

bool sim_vs_ready(struct sim_model *m, const char *ns, const char *name, int64_t *size,
		  bool *exists)
{
	cJSON *vs = sim_store_get(m->st, m->r_vs, ns, name);
	bool ok = vs && cJSON_IsTrue(wk_json_path(vs, "status.readyToUse")) &&
		  !wk_json_path(vs, "metadata.deletionTimestamp");

	if (exists)
		*exists = vs != NULL;
	if (size)
		*size = vs ? sim_jqty(wk_json_path(vs, "status.restoreSize")) : -1;
	cJSON_Delete(vs);
	return ok;
}
