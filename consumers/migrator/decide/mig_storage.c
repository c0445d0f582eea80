/* mig_storage.c - a VM's disks read into shared / node-local / unknown, and the clone that
 * carries a node-local disk to the target of a cold move (mig_storage.h;
 * tests/unit/test_mig_storage.c). */
#include "decide/mig_storage.h"
#include "decide/mig_preflight.h"

#include "wk_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mig_disk_kind_name(enum mig_disk_kind k)
{
	switch (k) {
	case MIG_DISK_SHARED:
		return "shared";
	case MIG_DISK_LOCAL:
		return "node-local";
	case MIG_DISK_UNKNOWN:
		return "unknown";
	case MIG_DISK_OTHER:
		break;
	}
	return "other";
}

static void cpy(char *out, size_t n, const char *s)
{
	wk_strlcpy(out, s ? s : "", n);
}

/* The first value of the first In requirement of the first term: the node a local PV names. */
static const char *affinity_node(const cJSON *terms)
{
	const cJSON *t, *e;

	cJSON_ArrayForEach(t, terms)
	{
		cJSON_ArrayForEach(e, wk_json_path(t, "matchExpressions"))
		{
			const char *op = wk_json_str(e, "operator");
			const cJSON *v = cJSON_GetArrayItem(wk_json_path(e, "values"), 0);

			if (op && !strcmp(op, "In") && cJSON_IsString(v))
				return v->valuestring;
		}
	}
	return NULL;
}

int mig_disk_classify(const cJSON *volume, const cJSON *pvc, const cJSON *pv, const cJSON *sc,
		      const cJSON *node, const char *node_name, struct mig_disk *out)
{
	const char *claim, *vname = wk_json_str(volume, "name");
	const cJSON *am, *terms, *o;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(volume) || !vname)
		return -1;
	cpy(out->volume, sizeof(out->volume), vname);
	claim = wk_json_str(volume, "persistentVolumeClaim.claimName");
	if (!claim) {
		claim = wk_json_str(volume, "dataVolume.name"); /* CDI names the claim after it */
		out->ref_dv = claim != NULL;
	}
	if (!claim) {
		out->kind = MIG_DISK_OTHER;
		return 0;
	}
	cpy(out->claim, sizeof(out->claim), claim);
	if (strlen(claim) >= sizeof(out->claim)) {
		out->kind = MIG_DISK_UNKNOWN;
		snprintf(out->why, sizeof(out->why), "claim name longer than %zu bytes",
			 sizeof(out->claim) - 1);
		return 0;
	}
	if (!cJSON_IsObject(pvc)) {
		out->kind = MIG_DISK_UNKNOWN;
		snprintf(out->why, sizeof(out->why),
			 "PersistentVolumeClaim '%.63s' could not be read", claim);
		return 0;
	}
	cJSON_ArrayForEach(o, wk_json_path(pvc, "metadata.ownerReferences"))
	{
		const char *k = wk_json_str(o, "kind");

		if (k && !strcmp(k, "DataVolume") && wk_json_str(o, "name"))
			cpy(out->owner_dv, sizeof(out->owner_dv), wk_json_str(o, "name"));
	}
	cpy(out->sclass, sizeof(out->sclass), wk_json_str(pvc, "spec.storageClassName"));
	am = wk_json_path(pvc, "status.accessModes");
	if (!cJSON_GetArraySize(am))
		am = wk_json_path(pvc, "spec.accessModes");
	cJSON_ArrayForEach(o, am)
	{
		if (!cJSON_IsString(o))
			continue;
		if (!out->access[0])
			cpy(out->access, sizeof(out->access), o->valuestring);
		out->rwx |= !strcmp(o->valuestring, "ReadWriteMany");
	}
	o = wk_json_path(pvc, "spec.resources.requests.storage");
	if (!cJSON_IsString(o))
		o = wk_json_path(pvc, "status.capacity.storage");
	if (cJSON_IsString(o))
		cpy(out->size, sizeof(out->size), o->valuestring);
	cpy(out->volume_mode, sizeof(out->volume_mode), wk_json_str(pvc, "spec.volumeMode"));
	if (cJSON_IsObject(sc)) {
		const char *mode = wk_json_str(sc, "volumeBindingMode");

		cpy(out->provisioner, sizeof(out->provisioner), wk_json_str(sc, "provisioner"));
		out->wffc = mode && !strcmp(mode, "WaitForFirstConsumer");
	}
	if (!wk_json_str(pvc, "spec.volumeName") || !*wk_json_str(pvc, "spec.volumeName")) {
		out->kind = MIG_DISK_UNKNOWN;
		snprintf(out->why, sizeof(out->why), "PersistentVolumeClaim '%.63s' is not bound",
			 claim);
		return 0;
	}
	if (!cJSON_IsObject(pv)) {
		out->kind = MIG_DISK_UNKNOWN;
		snprintf(out->why, sizeof(out->why),
			 "PersistentVolume '%.63s' of claim '%.63s' could not be read",
			 wk_json_str(pvc, "spec.volumeName"), claim);
		return 0;
	}
	terms = wk_json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
	if (cJSON_IsArray(terms) && !mig_node_matches_terms(terms, node, node_name)) {
		out->kind = MIG_DISK_LOCAL;
		cpy(out->node, sizeof(out->node), affinity_node(terms));
		snprintf(out->why, sizeof(out->why),
			 "PersistentVolume '%.63s' is reachable only from %s%.63s%s (its "
			 "spec.nodeAffinity)",
			 wk_json_str(pv, "metadata.name") ? wk_json_str(pv, "metadata.name") : "",
			 out->node[0] ? "node '" : "other nodes", out->node,
			 out->node[0] ? "'" : "");
		return 0;
	}
	out->kind = MIG_DISK_SHARED;
	return 0;
}

int mig_copy_possible(const struct mig_disk *d, const char *target, char *why, size_t why_size)
{
	if (!d->provisioner[0]) {
		snprintf(why, why_size,
			 "volume '%s' (claim '%s') is node-local and its StorageClass '%s' could "
			 "not be read, so no copy can be provisioned on node '%s'",
			 d->volume, d->claim, d->sclass, target);
		return -1;
	}
	if (!strcmp(d->provisioner, "kubernetes.io/no-provisioner")) {
		snprintf(why, why_size,
			 "volume '%s' (claim '%s') is on StorageClass '%s', statically provisioned "
			 "local volumes (kubernetes.io/no-provisioner): a copy needs a class with "
			 "a dynamic provisioner on node '%s'",
			 d->volume, d->claim, d->sclass, target);
		return -1;
	}
	if (!d->wffc) {
		snprintf(why, why_size,
			 "volume '%s' (claim '%s') is node-local but its StorageClass '%s' binds "
			 "volumes at creation (volumeBindingMode Immediate), so a copy cannot be "
			 "placed on node '%s'; a WaitForFirstConsumer class is needed",
			 d->volume, d->claim, d->sclass, target);
		return -1;
	}
	return 0;
}

void mig_copy_name(const char *claim, const char *request, const char *volume, char *out,
		   size_t out_size)
{
	char in[600], hex[9];
	size_t n = strlen(claim);

	snprintf(in, sizeof(in), "%s/%s", request, volume);
	mig_sha256_hex(in, strlen(in), 8, hex);
	/* no trailing '-' or '.' before ours: a DNS-1123 label stays one */
	if (n > 44)
		n = 44;
	while (n > 0 && (claim[n - 1] == '-' || claim[n - 1] == '.'))
		n--;
	snprintf(out, out_size, "%.*s-mv-%s", (int)n, claim, hex);
}

cJSON *mig_copy_dv(const char *ns, const struct mig_disk *d, const struct mig_copy *c,
		   const char *request)
{
	cJSON *o = cJSON_CreateObject(), *meta, *lab, *spec, *src, *st;

	cJSON_AddStringToObject(o, "apiVersion", "cdi.kubevirt.io/v1beta1");
	cJSON_AddStringToObject(o, "kind", "DataVolume");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", c->to);
	cJSON_AddStringToObject(meta, "namespace", ns);
	lab = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(lab, MIG_LABEL_MANAGED, MIG_MANAGED_VALUE);
	cJSON_AddStringToObject(lab, WK_LABEL_REQUEST_ID, request);
	spec = cJSON_AddObjectToObject(o, "spec");
	src = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "source"), "pvc");
	cJSON_AddStringToObject(src, "namespace", ns);
	cJSON_AddStringToObject(src, "name", c->from);
	st = cJSON_AddObjectToObject(spec, "storage");
	if (d->sclass[0])
		cJSON_AddStringToObject(st, "storageClassName", d->sclass);
	if (d->access[0]) {
		const char *a = d->access;

		cJSON_AddItemToObject(st, "accessModes", cJSON_CreateStringArray(&a, 1));
	}
	if (d->volume_mode[0])
		cJSON_AddStringToObject(st, "volumeMode", d->volume_mode);
	if (d->size[0])
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "resources"), "requests"),
		    "storage", d->size);
	return o;
}

cJSON *mig_copy_volumes(const cJSON *volumes, const struct mig_copy *c, size_t n, bool to_new)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *v;

	cJSON_ArrayForEach(v, volumes)
	{
		const char *name = wk_json_str(v, "name");
		size_t i;

		for (i = 0; i < n && (!name || strcmp(name, c[i].volume)); i++)
			;
		if (i == n) {
			cJSON_AddItemToArray(out, cJSON_Duplicate(v, true));
			continue;
		}
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", name);
		if (to_new)
			cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "dataVolume"), "name",
						c[i].to);
		else if (c[i].ref_dv)
			cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "dataVolume"), "name",
						c[i].from);
		else
			cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "persistentVolumeClaim"),
						"claimName", c[i].from);
		cJSON_AddItemToArray(out, x);
	}
	return out;
}

cJSON *mig_copy_templates(const cJSON *templates, const struct mig_copy *c, size_t n)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *t;

	cJSON_ArrayForEach(t, templates)
	{
		const char *name = wk_json_str(t, "metadata.name");
		bool drop = false;

		for (size_t i = 0; i < n && name; i++)
			drop |= (c[i].from_dv[0] && !strcmp(name, c[i].from_dv)) ||
				(c[i].ref_dv && !strcmp(name, c[i].from));
		if (!drop)
			cJSON_AddItemToArray(out, cJSON_Duplicate(t, true));
	}
	return out;
}

bool mig_copy_in_use(const cJSON *vmi, const struct mig_copy *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const cJSON *v;
		bool found = false;

		cJSON_ArrayForEach(v, wk_json_path(vmi, "spec.volumes"))
		{
			const char *name = wk_json_str(v, "name"),
				   *dv = wk_json_str(v, "dataVolume.name");

			if (name && dv && !strcmp(name, c[i].volume) && !strcmp(dv, c[i].to))
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

static cJSON *obj_at(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsObject(v)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, k);
		v = cJSON_AddObjectToObject(o, k);
	}
	return v;
}

char *mig_copy_vm_patch(const char *patch, const cJSON *vm, const struct mig_copy *c, size_t n,
			bool to_new)
{
	cJSON *p = cJSON_Parse(patch ? patch : "{}"), *spec, *tspec;
	char *out;

	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		p = cJSON_CreateObject();
	}
	if (n) {
		spec = obj_at(p, "spec");
		tspec = obj_at(obj_at(spec, "template"), "spec");
		cJSON_DeleteItemFromObjectCaseSensitive(tspec, "volumes");
		cJSON_AddItemToObject(
		    tspec, "volumes",
		    mig_copy_volumes(wk_json_path(vm, "spec.template.spec.volumes"), c, n, to_new));
		if (to_new && cJSON_IsArray(wk_json_path(vm, "spec.dataVolumeTemplates")))
			cJSON_AddItemToObject(
			    spec, "dataVolumeTemplates",
			    mig_copy_templates(wk_json_path(vm, "spec.dataVolumeTemplates"), c, n));
	}
	out = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!out)
		abort();
	return out;
}
