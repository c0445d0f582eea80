/* wt_event.c - kinds, key mapping, CloudEvent attributes and bodies for wukong.events. */
#include "wt_event.h"

#include "wk_cloudevent.h"
#include "wk_emit.h"
#include "wk_json.h"
#include "wk_name.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>

/* clang-format off */
const struct wt_kind wt_kinds[WT_NKINDS] = {
	{WT_WUKONG, "wukong", "Wukong", WK_API_VERSION_WUKONG,
	 WK_RES_WUKONGS_INIT, false},
	{WT_VM, "virtualmachine", "VirtualMachine", "kubevirt.io/v1",
	 WK_RES_VIRTUALMACHINES_INIT, false},
	{WT_VMI, "virtualmachineinstance", "VirtualMachineInstance", "kubevirt.io/v1",
	 WK_RES_VIRTUALMACHINEINSTANCES_INIT, false},
	{WT_VMIM, "virtualmachineinstancemigration", "VirtualMachineInstanceMigration", "kubevirt.io/v1",
	 WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_INIT, false},
	{WT_SNAPSHOT, "virtualmachinesnapshot", "VirtualMachineSnapshot", "snapshot.kubevirt.io/v1beta1",
	 WK_RES_VIRTUALMACHINESNAPSHOTS_INIT, false},
	{WT_CLONE, "virtualmachineclone", "VirtualMachineClone", "clone.kubevirt.io/v1beta1",
	 WK_RES_VIRTUALMACHINECLONES_INIT, false},
	{WT_MIGRATIONPOLICY, "migrationpolicy", "MigrationPolicy", "migrations.kubevirt.io/v1alpha1",
	 WK_RES_MIGRATIONPOLICIES_INIT, false},
	{WT_NODE, "node", "Node", "v1", WK_RES_NODES_INIT, false},
	{WT_NODEMETRICS, "nodemetrics", "NodeMetrics", "metrics.k8s.io/v1beta1",
	 WK_RES_NODEMETRICS_INIT, true},
	{WT_DATAVOLUME, "datavolume", "DataVolume", "cdi.kubevirt.io/v1beta1",
	 WK_RES_DATAVOLUMES_INIT, false},
};
/* clang-format on */

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

const struct wt_kind *wt_kind_by_name(const char *name)
{
	for (size_t i = 0; name && i < WT_NKINDS; i++) {
		if (!strcmp(wt_kinds[i].name, name))
			return &wt_kinds[i];
	}
	return NULL;
}

const struct wt_kind *wt_kind_of_object(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < WT_NKINDS; i++) {
		const struct wt_kind *k = &wt_kinds[i];
		const char *slash = strchr(api_version, '/');
		size_t glen = slash ? (size_t)(slash - api_version) : 0;

		if (strcmp(k->kind, kind))
			continue;
		if (strlen(k->res.group) == glen && !strncmp(api_version, k->res.group, glen))
			return k;
	}
	return NULL;
}

const char *wt_change_name(enum wt_change c)
{
	switch (c) {
	case WT_ADDED:
		return "added";
	case WT_MODIFIED:
		return "modified";
	case WT_DELETED:
		return "deleted";
	}
	return "unknown";
}

/* The VM an object belongs to (contracts.md "Message key"); NULL when it is keyed by node. *key_ns
 * may be replaced (a cluster-scoped MigrationPolicy names its VM's namespace by label). */
static const char *vm_of(const struct wt_kind *k, const cJSON *obj, const char **key_ns, char *tmp,
			 size_t tmp_size)
{
	const cJSON *md = wk_json_path(obj, "metadata");
	const cJSON *spec = wk_json_path(obj, "spec");
	const char *name = wk_json_key_str(md, "name");
	const char *s;

	switch (k->id) {
	case WT_WUKONG:
		s = wk_json_key_str(wk_json_path(obj, "status"), "vmName");
		if (s && *s)
			return s;
		if (snprintf(tmp, tmp_size, "%s-vm", name ? name : "") >= (int)tmp_size)
			return NULL;
		return tmp;
	case WT_VM:
	case WT_VMI:
		return name;
	case WT_VMIM:
		return wk_json_key_str(spec, "vmiName");
	case WT_SNAPSHOT:
		return wk_json_key_str(wk_json_path(spec, "source"), "name");
	case WT_CLONE:
		/* The VM being created; KubeVirt may leave target empty (it then generates a name):
		 * fall back to the source so the clone stays with a VM it concerns. */
		s = wk_json_key_str(wk_json_path(spec, "target"), "name");
		return s && *s ? s : wk_json_key_str(wk_json_path(spec, "source"), "name");
	case WT_MIGRATIONPOLICY:
		s = wk_json_key_str(wk_json_path(md, "labels"), WK_LABEL_VM);
		if (s && *s) {
			const char *lns =
			    wk_json_key_str(wk_json_path(md, "labels"), WK_LABEL_NAMESPACE);

			*key_ns = lns && *lns ? lns : "default";
			return s;
		}
		return NULL;
	case WT_DATAVOLUME: {
		/* A VM's dataVolumeTemplates give their DataVolumes an ownerReference to the VM;
		 * a DataVolume of its own is keyed by its name. */
		const cJSON *o;

		cJSON_ArrayForEach(o, wk_json_path(md, "ownerReferences"))
		{
			s = wk_json_key_str(o, "kind");
			if (s && !strcmp(s, "VirtualMachine") && wk_json_key_str(o, "name"))
				return wk_json_key_str(o, "name");
		}
		return name;
	}
	case WT_NODE:
	case WT_NODEMETRICS:
	case WT_NKINDS:
		break;
	}
	return NULL;
}

int wt_event_ident(const struct wt_kind *k, const cJSON *obj, struct wt_ident *out, char *errstr,
		   size_t errstr_size)
{
	const cJSON *md = wk_json_path(obj, "metadata");
	char err[300];

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj) || !cJSON_IsObject(md))
		return wk_err(errstr, errstr_size, "%s: object without metadata", k->name);
	out->name = wk_json_key_str(md, "name");
	if (!out->name || wk_name_check_subdomain(out->name, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "%s: %s", k->name,
			      out->name ? err : "no metadata.name");
	if (k->res.namespaced) {
		out->ns = wk_json_key_str(md, "namespace");
		if (!out->ns || wk_name_check_label(out->ns, err, sizeof(err)) < 0)
			return wk_err(errstr, errstr_size, "%s '%s': %s", k->name, out->name,
				      out->ns ? err : "no metadata.namespace");
	}
	out->uid = wk_json_key_str(md, "uid");
	out->rv = wk_json_key_str(md, "resourceVersion");
	if (k->id == WT_NODEMETRICS) {
		/* metrics.k8s.io objects are computed, not stored: no uid, no resourceVersion
		 * (metrics-server pkg/api/node.go). The name stands in for the uid; node names
		 * are often FQDNs ("ip-10-0-1-5.ec2.internal") and a uid is a ce_id field, split
		 * on dots: a dotted name stands in as a digest of itself. */
		if (!out->uid || !*out->uid) {
			out->uid = out->name;
			if (strchr(out->name, '.')) {
				memcpy(out->uid_buf, "nm-", 3);
				wk_emit_sha256_hex(out->name, strlen(out->name), 32,
						   out->uid_buf + 3);
				out->uid = out->uid_buf;
			}
		}
		if (!out->rv)
			out->rv = "";
	} else {
		if (!out->uid || !*out->uid)
			return wk_err(errstr, errstr_size, "%s '%s': no metadata.uid", k->name,
				      out->name);
		if (!out->rv || !*out->rv)
			return wk_err(errstr, errstr_size, "%s '%s': no metadata.resourceVersion",
				      k->name, out->name);
	}
	if (strlen(out->uid) > 100 || strlen(out->rv) > 100 || strchr(out->uid, '.'))
		return wk_err(errstr, errstr_size,
			      "%s '%s': uid with a '.' or uid/resourceVersion over 100 bytes",
			      k->name, out->name);
	if (!wk_cloudevent_string_ok(out->uid, strlen(out->uid)) ||
	    !wk_cloudevent_string_ok(out->rv, strlen(out->rv)))
		return wk_err(errstr, errstr_size,
			      "%s '%s': uid or resourceVersion is not UTF-8 text without control "
			      "characters (ce_id, ce_wkuid)",
			      k->name, out->name);
	out->key_ns = out->ns;
	out->vm = vm_of(k, obj, &out->key_ns, out->vm_buf, sizeof(out->vm_buf));
	if (!out->vm && k->id != WT_NODE && k->id != WT_NODEMETRICS && k->id != WT_MIGRATIONPOLICY)
		return wk_err(errstr, errstr_size, "%s '%s': no VM name for the key", k->name,
			      out->name);
	if (out->vm && wk_name_check_subdomain(out->vm, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "%s '%s': vm name: %s", k->name, out->name, err);
	if (out->vm && wk_name_check_label(out->key_ns, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "%s '%s': label '%s': %s", k->name, out->name,
			      WK_LABEL_NAMESPACE, err);
	if (out->ns)
		snprintf(out->id, sizeof(out->id), "%s/%s", out->ns, out->name);
	else
		snprintf(out->id, sizeof(out->id), "%s", out->name);
	return 0;
}

void wt_event_vmref(const struct wt_ident *id, char *out, size_t out_size)
{
	if (id->vm)
		snprintf(out, out_size, "%s/%s", id->key_ns, id->vm);
	else
		out[0] = '\0';
}

void wt_event_key(const struct wt_kind *k, const char *cluster, const struct wt_ident *id,
		  char *out, size_t out_size)
{
	if (id->vm)
		snprintf(out, out_size, "%s/%s/%s", cluster, id->key_ns, id->vm);
	else if (k->id == WT_MIGRATIONPOLICY)
		snprintf(out, out_size, "%s/migrationpolicy/%s", cluster, id->name);
	else
		snprintf(out, out_size, "%s/node/%s", cluster, id->name);
}

uint64_t wt_fingerprint(const char *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

void wt_event_release(struct wt_event *ev)
{
	free(ev->body);
	ev->body = NULL;
	ev->body_len = 0;
}

/* A reference to an item of the object (no copy); the body only lives while obj does. */
static void add_ref(cJSON *body, const char *name, const cJSON *item)
{
	if (item)
		cJSON_AddItemReferenceToObject(body, name, (cJSON *)item);
	else
		cJSON_AddNullToObject(body, name);
}

static void add_str(cJSON *body, const char *name, const char *s)
{
	if (s)
		cJSON_AddStringToObject(body, name, s);
	else
		cJSON_AddNullToObject(body, name);
}

/* Node conditions' lastHeartbeatTime moves on every kubelet status report without anything having
 * changed: publishing it would make every node "modified" every few seconds. */
static cJSON *node_status(const cJSON *status)
{
	cJSON *copy = cJSON_Duplicate(status, true);
	cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(copy, "conditions"))
	{
		cJSON_DeleteItemFromObjectCaseSensitive(c, "lastHeartbeatTime");
	}
	return copy;
}

/* ce_id "<cluster>.<uid>.<rv>.<change>" within the cap every consumer decodes it with, whichever
 * change it ends up with. */
static int id_fits(const struct wt_kind *k, const char *cluster, const char *uid, const char *rv,
		   const char *name, char *errstr, size_t errstr_size)
{
	size_t rvlen = *rv ? strlen(rv) : 16; /* NodeMetrics: the usage fingerprint in hex */
	size_t n = strlen(cluster) + strlen(uid) + rvlen + strlen("modified") + 3;

	if (n >= WK_CE_ID_MAX)
		return wk_err(errstr, errstr_size,
			      "%s '%s': its ce_id would be %zu bytes, over the %d byte cap",
			      k->name, name, n, WK_CE_ID_MAX - 1);
	return 0;
}

static void fill_attrs(const struct wt_kind *k, const char *cluster, const struct wt_ident *id,
		       const char *rv, enum wt_change change, struct wt_event *ev)
{
	wt_event_key(k, cluster, id, ev->key, sizeof(ev->key));
	snprintf(ev->type, sizeof(ev->type), WK_CE_PREFIX "%s.%s", k->name, wt_change_name(change));
	if (id->ns)
		snprintf(ev->subject, sizeof(ev->subject), "%s/%s/%s", k->kind, id->ns, id->name);
	else
		snprintf(ev->subject, sizeof(ev->subject), "%s/%s", k->kind, id->name);
	snprintf(ev->id, sizeof(ev->id), "%s.%s.%s.%s", cluster, id->uid, rv,
		 wt_change_name(change));
	wk_strlcpy(ev->uid, id->uid, sizeof(ev->uid));
	wk_strlcpy(ev->obj_id, id->id, sizeof(ev->obj_id));
	wk_strlcpy(ev->rv, rv, sizeof(ev->rv));
	wt_event_vmref(id, ev->vmref, sizeof(ev->vmref));
}

void wt_event_set_change(struct wt_event *ev, enum wt_change change)
{
	const char *old = wt_change_name(ev->change), *nw = wt_change_name(change);
	size_t ol = strlen(old), nl = strlen(nw), tl = strlen(ev->type), il = strlen(ev->id);
	/* body: prefix + ',"change":"' + old + '"' + rest */
	size_t at = ev->prefix_len + strlen(",\"change\":\"");
	size_t rest = ev->body_len - at - ol;
	char *b;

	if (change == ev->change || !ev->body)
		return;
	b = wk_xmalloc(ev->body_len - ol + nl + 1);
	memcpy(b, ev->body, at);
	memcpy(b + at, nw, nl);
	memcpy(b + at + nl, ev->body + at + ol, rest);
	ev->body_len = at + nl + rest;
	b[ev->body_len] = '\0';
	free(ev->body);
	ev->body = b;
	if (tl > ol && il > ol) {
		snprintf(ev->type + tl - ol, sizeof(ev->type) - (tl - ol), "%s", nw);
		snprintf(ev->id + il - ol, sizeof(ev->id) - (il - ol), "%s", nw);
	}
	ev->change = change;
}

/* body (printed without change/resourceVersion) + those two fields; fingerprint of the former. */
static int finish_body(cJSON *body, const char *rv, enum wt_change change, struct wt_event *ev,
		       char *errstr, size_t errstr_size)
{
	char *s = cJSON_PrintUnformatted(body);
	cJSON *rvs = cJSON_CreateString(rv);
	char *rvj = cJSON_PrintUnformatted(rvs);
	size_t n, cap;

	cJSON_Delete(rvs);
	if (!s || !rvj || strlen(s) < 2) {
		free(s);
		free(rvj);
		return wk_err(errstr, errstr_size, "cannot print the event body");
	}
	n = strlen(s);
	ev->change = change;
	ev->prefix_len = n - 1;
	ev->fp = change == WT_DELETED ? 0 : wt_fingerprint(s, n);
	snprintf(ev->fp_hex, sizeof(ev->fp_hex), "%016llx", (unsigned long long)ev->fp);
	cap = n + strlen(rvj) + 64;
	ev->body = wk_xmalloc(cap);
	memcpy(ev->body, s, n - 1); /* without the closing brace */
	ev->body_len = n - 1;
	ev->body_len += (size_t)snprintf(ev->body + ev->body_len, cap - ev->body_len,
					 ",\"change\":\"%s\",\"resourceVersion\":%s}",
					 wt_change_name(change), rvj);
	free(s);
	free(rvj);
	return 0;
}

static void ident_fields(cJSON *body, const struct wt_kind *k, const char *cluster,
			 const struct wt_ident *id)
{
	add_str(body, "cluster", cluster);
	add_str(body, "kind", k->kind);
	add_str(body, "apiVersion", k->api_version);
	add_str(body, "namespace", id->ns);
	add_str(body, "name", id->name);
	add_str(body, "uid", id->uid);
	add_str(body, "vm", id->vm);
}

int wt_event_build(const struct wt_kind *k, const char *cluster, const cJSON *obj,
		   enum wt_change change, int64_t now_us, struct wt_event *ev, char *errstr,
		   size_t errstr_size)
{
	const cJSON *md = wk_json_path(obj, "metadata");
	const cJSON *ann, *gen, *del;
	struct wt_ident id;
	cJSON *body, *tmp_status = NULL, *tmp_ann = NULL;
	char rvbuf[24];
	const char *rv;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (wt_event_ident(k, obj, &id, errstr, errstr_size) < 0 ||
	    id_fits(k, cluster, id.uid, id.rv, id.name, errstr, errstr_size) < 0)
		return -1;
	body = cJSON_CreateObject();
	ident_fields(body, k, cluster, &id);
	gen = wk_json_path(md, "generation");
	if (cJSON_IsNumber(gen))
		cJSON_AddNumberToObject(body, "generation", gen->valuedouble);
	else
		cJSON_AddNullToObject(body, "generation");
	add_ref(body, "labels", wk_json_path(md, "labels"));
	ann = wk_json_path(md, "annotations");
	if (cJSON_GetObjectItemCaseSensitive(ann, LAST_APPLIED)) {
		/* kubectl apply's copy of the whole manifest: large, and spec is already here */
		tmp_ann = cJSON_Duplicate(ann, true);
		cJSON_DeleteItemFromObjectCaseSensitive(tmp_ann, LAST_APPLIED);
		ann = tmp_ann;
	}
	add_ref(body, "annotations", ann);
	add_ref(body, "ownerReferences", wk_json_path(md, "ownerReferences"));
	del = wk_json_path(md, "deletionTimestamp");
	add_ref(body, "deletionTimestamp", cJSON_IsString(del) ? del : NULL);
	if (k->id == WT_NODEMETRICS) {
		add_ref(body, "usage", wk_json_path(obj, "usage"));
		add_ref(body, "window", wk_json_path(obj, "window"));
		/* "timestamp" moves on every scrape; usage is the content */
	} else {
		add_ref(body, "spec", wk_json_path(obj, "spec"));
		if (k->id == WT_NODE && wk_json_path(obj, "status")) {
			tmp_status = node_status(wk_json_path(obj, "status"));
			add_ref(body, "status", tmp_status);
		} else {
			add_ref(body, "status", wk_json_path(obj, "status"));
		}
	}
	rv = id.rv;
	if (k->id == WT_NODEMETRICS && !*rv) {
		/* no resourceVersion: the usage fingerprint stands in for it in ce_id */
		char *s = cJSON_PrintUnformatted(body);

		snprintf(rvbuf, sizeof(rvbuf), "%016llx",
			 (unsigned long long)wt_fingerprint(s, strlen(s)));
		free(s);
		rv = rvbuf;
	}
	rc = finish_body(body, rv, change, ev, errstr, errstr_size);
	cJSON_Delete(body);
	cJSON_Delete(tmp_status);
	cJSON_Delete(tmp_ann);
	if (rc < 0)
		return -1;
	fill_attrs(k, cluster, &id, rv, change, ev);
	if (ev->body_len > WT_BODY_MAX) {
		/* too big for one message: say that it changed, without the content */
		uint64_t fp = ev->fp;

		free(ev->body);
		ev->body = NULL;
		body = cJSON_CreateObject();
		ident_fields(body, k, cluster, &id);
		cJSON_AddBoolToObject(body, "truncated", true);
		cJSON_AddNumberToObject(body, "size", (double)ev->body_len);
		rc = finish_body(body, rv, change, ev, errstr, errstr_size);
		cJSON_Delete(body);
		if (rc < 0)
			return -1;
		ev->fp = fp;
		snprintf(ev->fp_hex, sizeof(ev->fp_hex), "%016llx", (unsigned long long)fp);
		ev->truncated = true;
	}
	{
		int64_t t;

		if (change == WT_DELETED && cJSON_IsString(del) &&
		    wk_time_parse_ms(del->valuestring, &t) == 0)
			wk_time_format_micro(t * 1000, ev->time, sizeof(ev->time));
		else
			wk_time_format_micro(now_us, ev->time, sizeof(ev->time));
	}
	return 0;
}

int wt_event_build_gone(const struct wt_kind *k, const char *cluster, const char *idstr,
			const char *uid, const char *rv, const char *vmref, int64_t now_us,
			struct wt_event *ev, char *errstr, size_t errstr_size)
{
	struct wt_ident id;
	const char *slash = strchr(idstr, '/');
	const char *vslash = vmref ? strchr(vmref, '/') : NULL;
	char nsbuf[64], keyns[64];
	cJSON *body;
	int rc;

	memset(ev, 0, sizeof(*ev));
	memset(&id, 0, sizeof(id));
	if (k->res.namespaced) {
		if (!slash || (size_t)(slash - idstr) >= sizeof(nsbuf))
			return wk_err(errstr, errstr_size, "%s: bad id '%s'", k->name, idstr);
		memcpy(nsbuf, idstr, (size_t)(slash - idstr));
		nsbuf[slash - idstr] = '\0';
		id.ns = nsbuf;
		id.name = slash + 1;
	} else {
		id.name = idstr;
	}
	if (vslash) {
		if ((size_t)(vslash - vmref) >= sizeof(keyns))
			return wk_err(errstr, errstr_size, "%s: bad vm reference '%s'", k->name,
				      vmref);
		memcpy(keyns, vmref, (size_t)(vslash - vmref));
		keyns[vslash - vmref] = '\0';
		id.key_ns = keyns;
		id.vm = vslash + 1;
	}
	id.uid = uid;
	id.rv = rv;
	/* (read back from the topic, where anyone may have written) */
	if (!wk_cloudevent_string_ok(uid, strlen(uid)) || !wk_cloudevent_string_ok(rv, strlen(rv)))
		return wk_err(errstr, errstr_size,
			      "%s '%s': uid or resourceVersion is not UTF-8 text without control "
			      "characters",
			      k->name, idstr);
	if (id_fits(k, cluster, uid, rv, idstr, errstr, errstr_size) < 0)
		return -1;
	wk_strlcpy(id.id, idstr, sizeof(id.id));
	body = cJSON_CreateObject();
	ident_fields(body, k, cluster, &id);
	cJSON_AddStringToObject(body, "observedBy", "relist");
	rc = finish_body(body, rv, WT_DELETED, ev, errstr, errstr_size);
	cJSON_Delete(body);
	if (rc < 0)
		return -1;
	fill_attrs(k, cluster, &id, rv, WT_DELETED, ev);
	wk_time_format_micro(now_us, ev->time, sizeof(ev->time));
	return 0;
}
