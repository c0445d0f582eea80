/* pv_build.c - Wukong -> VirtualMachine + DataVolume templates, spec changes -> merge patch, and
 * VM/VMI/DataVolumes -> Wukong status. Pure: no I/O, no clock. */
#include "pv_build.h"

#include "wk_json.h"
#include "wk_name.h"
#include "wk_quantity.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static int refuse(struct pv_verdict *v, bool retry, const char *reason, const char *fmt, ...)
    WK_PRINTF(4, 5);

static int refuse(struct pv_verdict *v, bool retry, const char *reason, const char *fmt, ...)
{
	va_list ap;

	wk_strlcpy(v->reason, reason, sizeof(v->reason));
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
	v->retry = retry;
	return -1;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A quantity (string or integer) in bytes; -1 if not one. */
static int64_t qty(const cJSON *v)
{
	int64_t n;
	char err[64];

	if (cJSON_IsNumber(v))
		return v->valuedouble >= 0 && v->valuedouble < 9.2e18 ? (int64_t)v->valuedouble
								      : -1;
	if (cJSON_IsString(v) && wk_quantity_parse(v->valuestring, &n, err, sizeof(err)) == 0)
		return n;
	return -1;
}

/* The quantity as the Wukong wrote it ("4Gi" stays "4Gi"), or formatted bytes. */
static cJSON *qty_json(const cJSON *v, int64_t bytes)
{
	char q[64];

	if (cJSON_IsString(v))
		return cJSON_CreateString(v->valuestring);
	wk_quantity_format_bytes(bytes, q, sizeof(q));
	return cJSON_CreateString(q);
}

static bool class_known(const struct pv_cluster *cl, const char *name)
{
	for (size_t i = 0; i < cl->nclasses; i++)
		if (!strcmp(cl->classes[i], name))
			return true;
	return false;
}

/* Labels and annotations a Wukong hands on. kubectl's bookkeeping and the pipeline's own request
 * keys (vm.novasphere.dev/...) stay on the Wukong. */
static bool carried_annotation(const char *k)
{
	return strncmp(k, "kubectl.kubernetes.io/", 22) &&
	       strncmp(k, WK_K8S_KEY_PREFIX, sizeof(WK_K8S_KEY_PREFIX) - 1);
}

static void copy_strings(cJSON *dst, const cJSON *src, bool annotations)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, src)
	{
		if (!cJSON_IsString(e) || get(dst, e->string))
			continue;
		if (annotations && !carried_annotation(e->string))
			continue;
		cJSON_AddStringToObject(dst, e->string, e->valuestring);
	}
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddStringToObject(o, k, v);
}

/* The comma-separated, sorted keys of the Wukong's labels (annotations: carried ones) -> out. */
static void carried_keys(const cJSON *wk, bool annotations, char *out, size_t n)
{
	const cJSON *src =
	    wk_json_path(wk, annotations ? "metadata.annotations" : "metadata.labels");
	const cJSON *e;
	const char *last = "";
	size_t off = 0;

	out[0] = 0;
	/* selection by repeated minimum: a handful of keys, no allocation */
	for (;;) {
		const char *next = NULL;

		cJSON_ArrayForEach(e, src)
		{
			if (!cJSON_IsString(e) || (annotations && !carried_annotation(e->string)))
				continue;
			if (strcmp(e->string, last) > 0 && (!next || strcmp(e->string, next) < 0))
				next = e->string;
		}
		if (!next || off + strlen(next) + 2 >= n)
			break;
		off += (size_t)snprintf(out + off, n - off, "%s%s", off ? "," : "", next);
		last = next;
	}
}

static void add_carried(cJSON *ann, const cJSON *wk)
{
	char keys[4096];

	carried_keys(wk, false, keys, sizeof(keys));
	set_str(ann, PV_ANN_CARRIED_LABELS, keys);
	carried_keys(wk, true, keys, sizeof(keys));
	set_str(ann, PV_ANN_CARRIED_ANNOTATIONS, keys);
}

/* One map (labels or annotations) of the VM at path toward want: into patch_map, the keys to set
 * and, for keys of the old carried list the Wukong no longer has, null. True when any. */
static bool meta_diff(const cJSON *have, const cJSON *want, const char *old_list, bool annotations,
		      cJSON *patch_map)
{
	const cJSON *e;
	bool any = false;

	cJSON_ArrayForEach(e, want)
	{
		const cJSON *h;

		if (!cJSON_IsString(e) || (annotations && !carried_annotation(e->string)))
			continue;
		h = get(have, e->string);
		if (cJSON_IsString(h) && !strcmp(h->valuestring, e->valuestring))
			continue;
		cJSON_AddStringToObject(patch_map, e->string, e->valuestring);
		any = true;
	}
	for (const char *p = old_list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		char key[320];

		if (len && len < sizeof(key)) {
			memcpy(key, p, len);
			key[len] = 0;
			/* a key of the pipeline's own (the provisioner's label, a migrator mark)
			 * is never the Wukong's to remove */
			if (!cJSON_IsString(get(want, key)) && get(have, key) &&
			    strncmp(key, WK_K8S_KEY_PREFIX, sizeof(WK_K8S_KEY_PREFIX) - 1) &&
			    strncmp(key, "kubevirt.io/", 12)) {
				cJSON_AddNullToObject(patch_map, key);
				any = true;
			}
		}
		p = c ? c + 1 : NULL;
	}
	return any;
}

void pv_build_meta_update(const cJSON *wk, const cJSON *vm, cJSON **patch_out)
{
	const cJSON *wl = wk_json_path(wk, "metadata.labels"),
		    *wa = wk_json_path(wk, "metadata.annotations");
	const char *old_l = wk_json_meta(vm, "annotations", PV_ANN_CARRIED_LABELS),
		   *old_a = wk_json_meta(vm, "annotations", PV_ANN_CARRIED_ANNOTATIONS);
	cJSON *patch = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(patch, "metadata");
	cJSON *tmeta = cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template"),
	    "metadata");
	cJSON *ml = cJSON_AddObjectToObject(meta, "labels"),
	      *ma = cJSON_AddObjectToObject(meta, "annotations"),
	      *tl = cJSON_AddObjectToObject(tmeta, "labels"),
	      *ta = cJSON_AddObjectToObject(tmeta, "annotations");
	char keys[4096];
	bool any = false;

	any |= meta_diff(wk_json_path(vm, "metadata.labels"), wl, old_l, false, ml);
	any |= meta_diff(wk_json_path(vm, "metadata.annotations"), wa, old_a, true, ma);
	any |= meta_diff(wk_json_path(vm, "spec.template.metadata.labels"), wl, old_l, false, tl);
	any |=
	    meta_diff(wk_json_path(vm, "spec.template.metadata.annotations"), wa, old_a, true, ta);
	carried_keys(wk, false, keys, sizeof(keys));
	/* The lists are written with a change, or when they are out of date; a VM made before
	 * them (or seeded) that already matches is not written for them alone. */
	if ((any && (!old_l || strcmp(old_l, keys))) || (old_l && strcmp(old_l, keys))) {
		cJSON_AddStringToObject(ma, PV_ANN_CARRIED_LABELS, keys);
		any = true;
	}
	carried_keys(wk, true, keys, sizeof(keys));
	if ((any && (!old_a || strcmp(old_a, keys))) || (old_a && strcmp(old_a, keys))) {
		cJSON_AddStringToObject(ma, PV_ANN_CARRIED_ANNOTATIONS, keys);
		any = true;
	}
	if (!any) {
		cJSON_Delete(patch);
		patch = NULL;
	}
	*patch_out = patch;
}

/* image -> CDI DataVolume source: http(s) URL, or a registry image (docker://, or a bare
 * reference such as quay.io/org/img:tag, which CDI spells docker://...). */
static cJSON *dv_source(const char *image, struct pv_verdict *v, const char *disk)
{
	cJSON *src = cJSON_CreateObject();

	if (!image || !*image) {
		cJSON_AddObjectToObject(src, "blank");
	} else if (!strncmp(image, "http://", 7) || !strncmp(image, "https://", 8)) {
		cJSON_AddStringToObject(cJSON_AddObjectToObject(src, "http"), "url", image);
	} else if (!strncmp(image, "docker://", 9) || !strncmp(image, "oci-archive://", 14)) {
		cJSON_AddStringToObject(cJSON_AddObjectToObject(src, "registry"), "url", image);
	} else if (!strstr(image, "://") && !strchr(image, ' ') && strlen(image) < 1024) {
		char url[1100];

		snprintf(url, sizeof(url), "docker://%s", image);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(src, "registry"), "url", url);
	} else {
		cJSON_Delete(src);
		refuse(
		    v, false, "InvalidImage",
		    "disk '%s': image '%.200s' is neither an http(s):// URL nor a registry image "
		    "(docker://registry/image:tag)",
		    disk, image);
		return NULL;
	}
	return src;
}

static cJSON *owner_refs(const cJSON *wk)
{
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "apiVersion", "vm.novasphere.dev/v1alpha1");
	cJSON_AddStringToObject(o, "kind", "Wukong");
	cJSON_AddStringToObject(o, "name", wk_json_str(wk, "metadata.name"));
	cJSON_AddStringToObject(
	    o, "uid", wk_json_str(wk, "metadata.uid") ? wk_json_str(wk, "metadata.uid") : "");
	cJSON_AddBoolToObject(o, "controller", true);
	cJSON_AddBoolToObject(o, "blockOwnerDeletion", true);
	cJSON_AddItemToArray(a, o);
	return a;
}

/* The disk part: dataVolumeTemplates, domain disks, volumes. */
static int build_disks(const cJSON *wk, const struct pv_cluster *cl, cJSON *dvts, cJSON *ddisks,
		       cJSON *vols, struct pv_verdict *v)
{
	const char *wkname = wk_json_str(wk, "metadata.name");
	const cJSON *d;
	const char *boot = NULL;

	cJSON_ArrayForEach(d, wk_json_path(wk, "spec.disks"))
	{
		const char *dn = wk_json_str(d, "name"), *cls = wk_json_str(d, "storageClassName"),
			   *am = wk_json_str(d, "accessMode");
		int64_t size = qty(get(d, "size"));
		char dvname[320];
		cJSON *t, *meta, *spec, *storage, *src, *x;

		if (!dn || !wk_name_is_dns1123_label(dn))
			return refuse(v, false, "InvalidSpec", "a disk has no valid name");
		if (size <= 0)
			return refuse(v, false, "InvalidSpec",
				      "disk '%s': size is not a positive quantity", dn);
		if (cJSON_IsTrue(get(d, "boot"))) {
			if (boot)
				return refuse(
				    v, false, "MultipleBootDisks",
				    "disks '%s' and '%s' both have boot: true; a VM boots "
				    "from one disk: set boot: true on one of them only",
				    boot, dn);
			boot = dn;
		}
		if (cls && *cls && cl->classes_known && !class_known(cl, cls))
			return refuse(
			    v, true, "StorageClassNotFound",
			    "disk '%s': storage class '%s' does not exist on this cluster "
			    "(create it, or use one of `kubectl get storageclass`)",
			    dn, cls);
		if ((!cls || !*cls) && cl->classes_known && !cl->default_class && cl->nclasses)
			return refuse(v, true, "StorageClassNotFound",
				      "disk '%s' names no storageClassName and the cluster has no "
				      "default storage class",
				      dn);
		if (snprintf(dvname, sizeof(dvname), "%s-%s", wkname, dn) > 253)
			return refuse(v, false, "NameTooLong",
				      "DataVolume name '%s-%s' is longer than 253 characters",
				      wkname, dn);
		src = dv_source(wk_json_str(d, "image"), v, dn);
		if (!src)
			return -1;
		t = cJSON_CreateObject();
		meta = cJSON_AddObjectToObject(t, "metadata");
		cJSON_AddStringToObject(meta, "name", dvname);
		x = cJSON_AddObjectToObject(meta, "labels");
		cJSON_AddStringToObject(x, WK_LABEL_WUKONG, wkname);
		cJSON_AddStringToObject(x, PV_LABEL_PROVISIONER, PV_SVC);
		spec = cJSON_AddObjectToObject(t, "spec");
		cJSON_AddItemToObject(spec, "source", src);
		/* spec.storage (not spec.pvc): CDI fills what is left out (access mode, volume
		 * mode) from the class's StorageProfile. */
		storage = cJSON_AddObjectToObject(spec, "storage");
		if (am && *am)
			cJSON_AddItemToObject(storage, "accessModes",
					      cJSON_CreateStringArray(&am, 1));
		cJSON_AddItemToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(storage, "resources"),
					    "requests"),
		    "storage", qty_json(get(d, "size"), size));
		if (cls && *cls)
			cJSON_AddStringToObject(storage, "storageClassName", cls);
		else if (cl->default_class)
			cJSON_AddStringToObject(storage, "storageClassName", cl->default_class);
		cJSON_AddItemToArray(dvts, t);

		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", dn);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "disk"), "bus", "virtio");
		if (boot == dn)
			cJSON_AddNumberToObject(x, "bootOrder", 1);
		cJSON_AddItemToArray(ddisks, x);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", dn);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "dataVolume"), "name", dvname);
		cJSON_AddItemToArray(vols, x);
	}
	return 0;
}

static int build_networks(const cJSON *wk, cJSON *ifaces, cJSON *nets, cJSON *tann,
			  struct pv_verdict *v)
{
	const cJSON *n, *wnets = wk_json_path(wk, "spec.networks");
	int pods = 0;

	if (!cJSON_GetArraySize(wnets)) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", "default");
		cJSON_AddObjectToObject(x, "masquerade");
		cJSON_AddItemToArray(ifaces, x);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", "default");
		cJSON_AddObjectToObject(x, "pod");
		cJSON_AddItemToArray(nets, x);
		return 0;
	}
	cJSON_ArrayForEach(n, wnets)
	{
		const char *nn = wk_json_str(n, "name"), *type = wk_json_str(n, "type"),
			   *binding = wk_json_str(n, "binding");
		bool multus = type && !strcmp(type, "multus");
		bool bridge = (binding && !strcmp(binding, "bridge")) || multus;
		cJSON *x;

		if (!nn || !wk_name_is_dns1123_label(nn))
			return refuse(v, false, "InvalidSpec", "a network has no valid name");
		if (!multus && ++pods > 1)
			return refuse(v, false, "InvalidSpec",
				      "network '%s': a VM has at most one pod network", nn);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", nn);
		/* KubeVirt implements masquerade on the pod network only: a Multus network (whose
		 * binding the CRD defaults to masquerade) is bridged. */
		cJSON_AddObjectToObject(x, bridge ? "bridge" : "masquerade");
		cJSON_AddItemToArray(ifaces, x);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", nn);
		if (multus)
			cJSON_AddStringToObject(
			    cJSON_AddObjectToObject(x, "multus"), "networkName",
			    wk_json_str(n, "networkName") ? wk_json_str(n, "networkName") : nn);
		else
			cJSON_AddObjectToObject(x, "pod");
		cJSON_AddItemToArray(nets, x);
		if (!multus && bridge && cJSON_IsTrue(get(n, "migratable")))
			set_str(tann, PV_ANN_BRIDGE_MIGRATION, "");
	}
	return 0;
}

static void build_compute(const cJSON *wk, cJSON *dom)
{
	const cJSON *spec = get(wk, "spec");
	const cJSON *cpu = get(spec, "cpu"), *mem = get(spec, "memory");
	int64_t cores = wk_json_int(cpu, 1) >= 1 ? wk_json_int(cpu, 1) : 1;
	int64_t bytes = qty(mem);
	cJSON *c, *res;
	char q[32];

	if (bytes <= 0) {
		bytes = INT64_C(1) << 30;
		mem = NULL;
	}
	c = cJSON_AddObjectToObject(dom, "cpu");
	cJSON_AddNumberToObject(c, "cores", (double)cores);
	cJSON_AddNumberToObject(c, "sockets", 1);
	cJSON_AddNumberToObject(c, "threads", 1);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(dom, "memory"), "guest",
			      qty_json(mem, bytes));
	res = cJSON_AddObjectToObject(cJSON_AddObjectToObject(dom, "resources"), "requests");
	cJSON_AddItemToObject(res, "memory", qty_json(mem, bytes));
	snprintf(q, sizeof(q), "%lld", (long long)cores);
	cJSON_AddStringToObject(res, "cpu", q);
}

int pv_build_vm(const cJSON *wk, const struct pv_cluster *cl, cJSON **vm_out, struct pv_verdict *v)
{
	const char *name = wk_json_str(wk, "metadata.name"),
		   *ns = wk_json_str(wk, "metadata.namespace");
	const cJSON *gen = wk_json_path(wk, "metadata.generation");
	cJSON *vm, *meta, *labels, *ann, *spec, *tpl, *tmeta, *tlabels, *tann, *tspec, *dom, *dev;
	char vmname[300], g[32];

	*vm_out = NULL;
	memset(v, 0, sizeof(*v));
	if (!name || !ns || !cJSON_IsObject(get(wk, "spec")))
		return refuse(v, false, "InvalidSpec", "the Wukong has no name, namespace or spec");
	if (strlen(name) > 63)
		return refuse(v, false, "NameTooLong",
			      "Wukong name '%.70s...' is longer than 63 characters: it cannot be a "
			      "label value (vm.novasphere.dev/wukong)",
			      name);
	snprintf(vmname, sizeof(vmname), "%s-vm", name);
	vm = cJSON_CreateObject();
	cJSON_AddStringToObject(vm, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
	meta = cJSON_AddObjectToObject(vm, "metadata");
	cJSON_AddStringToObject(meta, "name", vmname);
	cJSON_AddStringToObject(meta, "namespace", ns);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, WK_LABEL_WUKONG, name);
	cJSON_AddStringToObject(labels, PV_LABEL_PROVISIONER, PV_SVC);
	copy_strings(labels, wk_json_path(wk, "metadata.labels"), false);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	snprintf(g, sizeof(g), "%lld", (long long)wk_json_int(gen, 1));
	cJSON_AddStringToObject(ann, PV_ANN_GENERATION, g);
	copy_strings(ann, wk_json_path(wk, "metadata.annotations"), true);
	add_carried(ann, wk);
	cJSON_AddItemToObject(meta, "ownerReferences", owner_refs(wk));

	spec = cJSON_AddObjectToObject(vm, "spec");
	cJSON_AddStringToObject(spec, "runStrategy",
				cJSON_IsFalse(wk_json_path(wk, "spec.running")) ? "Halted"
										: "Always");
	cJSON *dvts = cJSON_AddArrayToObject(spec, "dataVolumeTemplates");
	tpl = cJSON_AddObjectToObject(spec, "template");
	tmeta = cJSON_AddObjectToObject(tpl, "metadata");
	tlabels = cJSON_AddObjectToObject(tmeta, "labels");
	cJSON_AddStringToObject(tlabels, "kubevirt.io/vm", vmname);
	cJSON_AddStringToObject(tlabels, WK_LABEL_WUKONG, name);
	/* the Wukong's labels reach the VMI, where MigrationPolicies select on them */
	copy_strings(tlabels, wk_json_path(wk, "metadata.labels"), false);
	tann = cJSON_AddObjectToObject(tmeta, "annotations");
	copy_strings(tann, wk_json_path(wk, "metadata.annotations"), true);
	tspec = cJSON_AddObjectToObject(tpl, "spec");
	dom = cJSON_AddObjectToObject(tspec, "domain");
	build_compute(wk, dom);
	/* A stable serial (the Wukong's uid): a rebuilt VM keeps its identity for the guest. */
	if (wk_json_str(wk, "metadata.uid"))
		cJSON_AddStringToObject(cJSON_AddObjectToObject(dom, "firmware"), "serial",
					wk_json_str(wk, "metadata.uid"));
	dev = cJSON_AddObjectToObject(dom, "devices");
	cJSON *ddisks = cJSON_AddArrayToObject(dev, "disks");
	cJSON *ifaces = cJSON_AddArrayToObject(dev, "interfaces");
	cJSON *nets = cJSON_AddArrayToObject(tspec, "networks");
	cJSON *vols = cJSON_AddArrayToObject(tspec, "volumes");
	if (build_disks(wk, cl, dvts, ddisks, vols, v) < 0 ||
	    build_networks(wk, ifaces, nets, tann, v) < 0) {
		cJSON_Delete(vm);
		return -1;
	}
	{
		const cJSON *sel = wk_json_path(wk, "spec.nodeSelector");

		if (cJSON_IsObject(sel) && sel->child)
			cJSON_AddItemToObject(tspec, "nodeSelector", cJSON_Duplicate(sel, true));
	}
	cJSON_AddStringToObject(tspec, "evictionStrategy", "LiveMigrateIfPossible");
	cJSON_AddNumberToObject(tspec, "terminationGracePeriodSeconds", 30);
	*vm_out = vm;
	return 0;
}

/* ---- spec changes ---- */

bool pv_vm_is_ours(const cJSON *vm)
{
	const char *v = wk_json_meta(vm, "labels", PV_LABEL_PROVISIONER);

	return v && !strcmp(v, PV_SVC);
}

int64_t pv_vm_built_generation(const cJSON *vm)
{
	const char *g = wk_json_meta(vm, "annotations", PV_ANN_GENERATION);

	return g ? strtoll(g, NULL, 10) : 0;
}

static const cJSON *by_name(const cJSON *arr, const char *path, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
	{
		const char *n = wk_json_str(e, path);

		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

/* Do the VM's networks and interfaces say what the Wukong asks for? By name: the network's
 * source (pod, multus networkName) and the interface's binding; other fields (a MAC address a
 * VM was given) do not count. */
static bool nets_same(const cJSON *wn, const cJSON *wi, const cJSON *hn, const cJSON *hi)
{
	static const char *const bindings[] = {"masquerade", "bridge", "sriov", "passt", "binding"};
	const cJSON *e;

	if (cJSON_GetArraySize(wn) != cJSON_GetArraySize(hn) ||
	    cJSON_GetArraySize(wi) != cJSON_GetArraySize(hi))
		return false;
	cJSON_ArrayForEach(e, wn)
	{
		const cJSON *h = by_name(hn, "name", wk_json_str(e, "name"));

		const cJSON *em = h ? wk_json_path(e, "multus.networkName") : NULL,
			    *hm = h ? wk_json_path(h, "multus.networkName") : NULL;

		if (!h || !get(e, "pod") != !get(h, "pod") || !em != !hm ||
		    (em && !cJSON_Compare(em, hm, true)))
			return false;
	}
	cJSON_ArrayForEach(e, wi)
	{
		const cJSON *h = by_name(hi, "name", wk_json_str(e, "name"));

		if (!h)
			return false;
		for (size_t i = 0; i < WK_ARRAY_SIZE(bindings); i++)
			if (!get(e, bindings[i]) != !get(h, bindings[i]))
				return false;
	}
	return true;
}

int pv_build_update(const cJSON *wk, const cJSON *vm, const struct pv_cluster *cl,
		    cJSON **patch_out, cJSON **delete_dvs, struct pv_verdict *refused)
{
	cJSON *want = NULL, *patch, *pspec, *ptspec, *pdom;
	const cJSON *e;
	const char *cur_rs = wk_json_str(vm, "spec.runStrategy");
	const cJSON *gen = wk_json_path(wk, "metadata.generation");
	bool changed = false, remove_ok;
	char g[32];

	*patch_out = NULL;
	*delete_dvs = NULL;
	memset(refused, 0, sizeof(*refused));
	if (pv_build_vm(wk, cl, &want, refused) < 0)
		return -1;
	remove_ok = wk_json_str(wk, "spec.diskRemovalPolicy") &&
		    !strcmp(wk_json_str(wk, "spec.diskRemovalPolicy"), "Delete");
	patch = cJSON_CreateObject();
	pspec = cJSON_AddObjectToObject(patch, "spec");
	ptspec = cJSON_AddObjectToObject(cJSON_AddObjectToObject(pspec, "template"), "spec");
	pdom = cJSON_AddObjectToObject(ptspec, "domain");

	/* spec.running starts and stops: judged by running or not, so a VM on the deprecated
	 * spec.running, or on runStrategy Manual / RerunOnFailure, is not rewritten for its form */
	bool cur_halted =
	    cur_rs ? !strcmp(cur_rs, "Halted") : !cJSON_IsTrue(wk_json_path(vm, "spec.running"));
	bool want_halted = !strcmp(wk_json_str(want, "spec.runStrategy"), "Halted");

	if (cur_halted != want_halted) {
		cJSON_AddStringToObject(pspec, "runStrategy",
					wk_json_str(want, "spec.runStrategy"));
		cJSON_AddNullToObject(pspec, "running");
		changed = true;
	}
	/* cpu and memory: the template; KubeVirt applies them live (LiveUpdate) or on restart.
	 * Judged by the values the Wukong sets (cores, guest memory), so a VM written another way
	 * (no CPU request, "4096Mi") is not rewritten for its form. */
	{
		const cJSON *wc = wk_json_path(want, "spec.template.spec.domain.cpu.cores");
		const cJSON *hc = wk_json_path(vm, "spec.template.spec.domain.cpu.cores");
		int64_t wm = qty(wk_json_path(want, "spec.template.spec.domain.memory.guest"));
		int64_t hm = qty(wk_json_path(vm, "spec.template.spec.domain.memory.guest"));

		if (!cJSON_IsNumber(hc) || !cJSON_IsNumber(wc) ||
		    hc->valuedouble != wc->valuedouble || wm != hm) {
			static const char *const compute[] = {"cpu", "memory", "resources"};

			for (size_t i = 0; i < WK_ARRAY_SIZE(compute); i++) {
				char p[64];

				snprintf(p, sizeof(p), "spec.template.spec.domain.%s", compute[i]);
				cJSON_AddItemToObject(pdom, compute[i],
						      cJSON_Duplicate(wk_json_path(want, p), true));
			}
			changed = true;
		}
	}
	/* Disks, by volume name: the VM's current entries stay as they are (a DataVolume's spec is
	 * immutable, and a VM made earlier may use plain PVCs); a disk the Wukong added is
	 * appended; one it dropped goes only with diskRemovalPolicy Delete. */
	{
		const cJSON *cvols = wk_json_path(vm, "spec.template.spec.volumes");
		const cJSON *cdisks = wk_json_path(vm, "spec.template.spec.domain.devices.disks");
		const cJSON *cdvts = wk_json_path(vm, "spec.dataVolumeTemplates");
		const cJSON *wvols = wk_json_path(want, "spec.template.spec.volumes");
		cJSON *vols = cJSON_CreateArray(), *ddisks = cJSON_CreateArray(),
		      *dvts = cJSON_CreateArray();
		bool dchanged = false;

		cJSON_ArrayForEach(e, cvols)
		{
			const char *vn = wk_json_str(e, "name");
			const char *dv = wk_json_str(e, "dataVolume.name");
			const cJSON *x;

			if (vn && !by_name(wvols, "name", vn)) {
				if (remove_ok) {
					if (dv) {
						if (!*delete_dvs)
							*delete_dvs = cJSON_CreateArray();
						cJSON_AddItemToArray(*delete_dvs,
								     cJSON_CreateString(dv));
					}
					dchanged = true;
					continue;
				}
				snprintf(refused->reason, sizeof(refused->reason),
					 "DiskRemovalRefused");
				snprintf(
				    refused->message, sizeof(refused->message),
				    "disk '%s' was removed from spec.disks but its data is kept: "
				    "set spec.diskRemovalPolicy: Delete to delete its DataVolume "
				    "'%s', or put the disk back",
				    vn, dv ? dv : vn);
			}
			cJSON_AddItemToArray(vols, cJSON_Duplicate(e, true));
			if (vn && (x = by_name(cdisks, "name", vn)))
				cJSON_AddItemToArray(ddisks, cJSON_Duplicate(x, true));
			if (dv && (x = by_name(cdvts, "metadata.name", dv)))
				cJSON_AddItemToArray(dvts, cJSON_Duplicate(x, true));
		}
		/* entries of the VM that are not volumes (cdrom disks without volume, templates
		 * not mounted) are kept as they are */
		cJSON_ArrayForEach(e, cdisks)
		{
			if (wk_json_str(e, "name") &&
			    !by_name(cvols, "name", wk_json_str(e, "name")))
				cJSON_AddItemToArray(ddisks, cJSON_Duplicate(e, true));
		}
		cJSON_ArrayForEach(e, wvols)
		{
			const char *vn = wk_json_str(e, "name");
			const char *dv = wk_json_str(e, "dataVolume.name");
			const cJSON *x;

			if (!vn || by_name(cvols, "name", vn))
				continue;
			dchanged = true;
			cJSON_AddItemToArray(vols, cJSON_Duplicate(e, true));
			if ((x = by_name(
				 wk_json_path(want, "spec.template.spec.domain.devices.disks"),
				 "name", vn)))
				cJSON_AddItemToArray(ddisks, cJSON_Duplicate(x, true));
			if (dv && (x = by_name(wk_json_path(want, "spec.dataVolumeTemplates"),
					       "metadata.name", dv)))
				cJSON_AddItemToArray(dvts, cJSON_Duplicate(x, true));
		}
		if (dchanged) {
			cJSON_AddItemToObject(pspec, "dataVolumeTemplates", dvts);
			cJSON_AddItemToObject(ptspec, "volumes", vols);
			cJSON_AddItemToObject(cJSON_AddObjectToObject(pdom, "devices"), "disks",
					      ddisks); /* before the interfaces below */
			changed = true;
		} else {
			cJSON_Delete(dvts);
			cJSON_Delete(vols);
			cJSON_Delete(ddisks);
		}
	}
	/* Networks and their interfaces, as a whole (KubeVirt matches them by name; the order is
	 * the guest's NIC order): a running VM takes them on its next start unless KubeVirt
	 * hot-plugs them (LiveUpdate: a bridge interface on a Multus network), which the status's
	 * RestartRequired tells from the VMI. The template annotation that lets a bridge on the pod
	 * network migrate follows them. */
	{
		const cJSON *wn = wk_json_path(want, "spec.template.spec.networks"),
			    *wi =
				wk_json_path(want, "spec.template.spec.domain.devices.interfaces");
		const char *wb = wk_json_meta(wk_json_path(want, "spec.template"), "annotations",
					      PV_ANN_BRIDGE_MIGRATION),
			   *hb = wk_json_meta(wk_json_path(vm, "spec.template"), "annotations",
					      PV_ANN_BRIDGE_MIGRATION);

		const cJSON *hn = wk_json_path(vm, "spec.template.spec.networks"),
			    *hi = wk_json_path(vm, "spec.template.spec.domain.devices.interfaces");

		if (!nets_same(wn, wi, hn, hi)) {
			cJSON *devs = cJSON_GetObjectItemCaseSensitive(pdom, "devices"), *ifs;

			if (!devs)
				devs = cJSON_AddObjectToObject(pdom, "devices");
			ifs = cJSON_AddArrayToObject(devs, "interfaces");
			cJSON_ArrayForEach(e, wi)
			{
				cJSON *x = cJSON_Duplicate(e, true);
				const cJSON *had = by_name(hi, "name", wk_json_str(e, "name"));

				/* an interface that stays keeps its MAC address (the guest's NIC)
				 */
				if (cJSON_IsString(get(had, "macAddress")) && !get(x, "macAddress"))
					cJSON_AddItemToObject(
					    x, "macAddress",
					    cJSON_Duplicate(get(had, "macAddress"), true));
				cJSON_AddItemToArray(ifs, x);
			}
			cJSON_AddItemToObject(ptspec, "networks", cJSON_Duplicate(wn, true));
			changed = true;
		}
		if (!wb != !hb) {
			cJSON *tann = cJSON_AddObjectToObject(
			    cJSON_AddObjectToObject(
				cJSON_GetObjectItemCaseSensitive(pspec, "template"), "metadata"),
			    "annotations");

			if (wb)
				cJSON_AddStringToObject(tann, PV_ANN_BRIDGE_MIGRATION, wb);
			else
				cJSON_AddNullToObject(tann, PV_ANN_BRIDGE_MIGRATION);
			changed = true;
		}
	}
	/* nodeSelector: KubeVirt patches it onto the running VMI under LiveUpdate, else on the
	 * next start (RestartRequired). Not while node-failure recovery pins the VM (its label):
	 * that pin is the migrator's until it restores the VM's own. */
	{
		const cJSON *ws = wk_json_path(want, "spec.template.spec.nodeSelector"),
			    *hs = wk_json_path(vm, "spec.template.spec.nodeSelector");

		if (!wk_json_meta(vm, "labels", WK_LABEL_FAILURE_RECOVERY) &&
		    !cJSON_Compare(ws ? ws : NULL, hs, true) && (ws || (hs && hs->child))) {
			if (ws)
				cJSON_AddItemToObject(ptspec, "nodeSelector",
						      cJSON_Duplicate(ws, true));
			else
				cJSON_AddNullToObject(ptspec, "nodeSelector");
			changed = true;
		}
	}
	cJSON_Delete(want);
	snprintf(g, sizeof(g), "%lld", (long long)wk_json_int(gen, 1));
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "annotations"),
	    PV_ANN_GENERATION, g);
	/* Nothing to change (a new generation for spec.migration, say): the VM is not touched. */
	if (!changed) {
		cJSON_Delete(patch);
		patch = NULL;
	}
	*patch_out = patch;
	return 0;
}

void pv_build_clone_update(const cJSON *wk, const cJSON *vm, cJSON **patch_out)
{
	const cJSON *cpu = wk_json_path(wk, "spec.cpu"), *mem = wk_json_path(wk, "spec.memory");
	const cJSON *gen = wk_json_path(wk, "metadata.generation");
	const cJSON *cores = wk_json_path(vm, "spec.template.spec.domain.cpu.cores");
	cJSON *patch = cJSON_CreateObject(), *dom, *req;
	int64_t want = qty(mem),
		have = qty(wk_json_path(vm, "spec.template.spec.domain.memory.guest"));
	char g[32];

	dom = cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template"),
		"spec"),
	    "domain");
	req = cJSON_CreateObject();
	if (cJSON_IsNumber(cpu) && cpu->valuedouble >= 1 &&
	    (!cJSON_IsNumber(cores) || cores->valuedouble != cpu->valuedouble)) {
		char q[32];

		cJSON_AddNumberToObject(cJSON_AddObjectToObject(dom, "cpu"), "cores",
					cpu->valuedouble);
		snprintf(q, sizeof(q), "%lld", (long long)wk_json_int(cpu, 1));
		cJSON_AddStringToObject(req, "cpu", q);
	}
	if (want > 0 && want != have) {
		cJSON_AddItemToObject(cJSON_AddObjectToObject(dom, "memory"), "guest",
				      qty_json(mem, want));
		cJSON_AddItemToObject(req, "memory", qty_json(mem, want));
	}
	if (req->child)
		cJSON_AddItemToObject(cJSON_AddObjectToObject(dom, "resources"), "requests", req);
	else
		cJSON_Delete(req);
	snprintf(g, sizeof(g), "%lld", (long long)wk_json_int(gen, 1));
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "annotations"),
	    PV_ANN_GENERATION, g);
	*patch_out = patch;
}

/* ---- status ---- */

static const cJSON *condition(const cJSON *obj, const char *type)
{
	return by_name(wk_json_path(obj, "status.conditions"), "type", type);
}

static void cond_set(struct pv_status *s, const char *type, const char *status, const char *reason,
		     const char *msg)
{
	struct pv_cond *c = &s->cond[s->ncond++];

	c->type = type;
	c->status = status;
	wk_strlcpy(c->reason, reason, sizeof(c->reason));
	wk_strlcpy(c->message, msg ? msg : "", sizeof(c->message));
}

/* A DataVolume that failed: CDI's phase Failed, or its Running condition False with a reason
 * other than the normal ones (Completed, Pending, ...): the importer's message is there. */
static bool dv_failed(const cJSON *dv, const char **msg)
{
	const cJSON *run = condition(dv, "Running");
	const char *ph = wk_json_str(dv, "status.phase");
	const char *r = wk_json_str(run, "reason");

	*msg = wk_json_str(run, "message");
	if (ph && !strcmp(ph, "Failed"))
		return true;
	return run && wk_json_str(run, "status") && !strcmp(wk_json_str(run, "status"), "False") &&
	       r && (strstr(r, "Error") || strstr(r, "Failed") || strstr(r, "CrashLoop"));
}

static bool dv_ready(const char *phase)
{
	/* WaitForFirstConsumer: the VMI is the consumer, so the VM starts. */
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "WaitForFirstConsumer") ||
			 !strcmp(phase, "PendingPopulation"));
}

/* What of the template (besides cpu, memory and disks) the running VMI does not have yet:
 * networks (KubeVirt hot-plugs some interfaces under LiveUpdate; what it did shows on the VMI),
 * nodeSelector (patched onto the VMI under LiveUpdate), the Wukong's labels and annotations
 * (a VMI keeps the metadata it was created with). "" when none. */
static void template_drift(const cJSON *wk, const cJSON *vm, const cJSON *vmi,
			   const struct pv_cluster *cl, char *why, size_t n)
{
	const cJSON *tn = wk_json_path(vm, "spec.template.spec.networks"),
		    *in = wk_json_path(vmi, "spec.networks"), *e;
	const cJSON *ts = wk_json_path(vm, "spec.template.spec.nodeSelector"),
		    *is = wk_json_path(vmi, "spec.nodeSelector");
	bool nets_differ = cJSON_GetArraySize(tn) != cJSON_GetArraySize(in);

	cJSON_ArrayForEach(e, tn)
	{
		const char *nm = wk_json_str(e, "name");

		if (!nm || !cJSON_Compare(e, by_name(in, "name", nm), true))
			nets_differ = true;
	}
	if (nets_differ) {
		snprintf(why, n,
			 "networks changed: the running VMI has its interfaces from its start "
			 "(KubeVirt hot-plugs only bridge interfaces on Multus networks, under "
			 "vmRolloutStrategy LiveUpdate)");
		return;
	}
	if (!cJSON_Compare(ts, is, true) && ((ts && ts->child) || (is && is->child))) {
		snprintf(why, n, "nodeSelector changed: %s",
			 cl->live_update ? "KubeVirt has not applied it to the running VMI yet"
					 : "the cluster's KubeVirt spec.configuration."
					   "vmRolloutStrategy is not LiveUpdate");
		return;
	}
	if (!pv_vm_is_ours(vm))
		return; /* another operator's or the cloner's VM: its metadata is theirs */
	cJSON_ArrayForEach(e, wk_json_path(wk, "metadata.labels"))
	{
		const cJSON *v = get(wk_json_path(vmi, "metadata.labels"), e->string);

		if (cJSON_IsString(e) &&
		    (!cJSON_IsString(v) || strcmp(v->valuestring, e->valuestring))) {
			snprintf(
			    why, n,
			    "label '%s' changed: a running VMI keeps the labels it started with",
			    e->string);
			return;
		}
	}
	cJSON_ArrayForEach(e, wk_json_path(wk, "metadata.annotations"))
	{
		const cJSON *v = get(wk_json_path(vmi, "metadata.annotations"), e->string);

		if (cJSON_IsString(e) && carried_annotation(e->string) &&
		    (!cJSON_IsString(v) || strcmp(v->valuestring, e->valuestring))) {
			snprintf(why, n,
				 "annotation '%s' changed: a running VMI keeps the annotations it "
				 "started with",
				 e->string);
			return;
		}
	}
}

void pv_build_status(const cJSON *wk, const cJSON *vm, const cJSON *vmi, const cJSON *dvs,
		     const struct pv_cluster *cl, const struct pv_verdict *refused,
		     struct pv_status *out)
{
	const char *name = wk_json_str(wk, "metadata.name");
	const char *phase = "Pending", *reason = "Creating", *node = NULL;
	char vmname[300], msg[1024] = "";
	cJSON *st, *disks, *ips;
	const cJSON *e;
	bool dv_pending = false, dv_fail = false;

	memset(out, 0, sizeof(*out));
	st = out->status = cJSON_CreateObject();
	snprintf(vmname, sizeof(vmname), "%s-vm", name ? name : "");
	if (vm && wk_json_str(vm, "metadata.name"))
		wk_strlcpy(vmname, wk_json_str(vm, "metadata.name"), sizeof(vmname));
	cJSON_AddStringToObject(st, "vmName", vmname);

	/* per disk: the DataVolume's phase and CDI's progress ("45.00%") */
	disks = cJSON_AddArrayToObject(st, "disks");
	cJSON_ArrayForEach(e, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *dvn = wk_json_str(e, "dataVolume.name");
		const cJSON *dv = NULL, *x;
		const char *dph, *fmsg;
		cJSON *d;

		if (!dvn)
			continue;
		cJSON_ArrayForEach(x, dvs)
		{
			if (wk_json_str(x, "metadata.name") &&
			    !strcmp(wk_json_str(x, "metadata.name"), dvn))
				dv = x;
		}
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name",
					wk_json_str(e, "name") ? wk_json_str(e, "name") : dvn);
		cJSON_AddStringToObject(d, "dataVolume", dvn);
		dph = wk_json_str(dv, "status.phase");
		cJSON_AddStringToObject(d, "phase", dph ? dph : dv ? "Pending" : "NotCreated");
		if (wk_json_str(dv, "status.progress"))
			cJSON_AddStringToObject(d, "progress", wk_json_str(dv, "status.progress"));
		if (dv && dv_failed(dv, &fmsg)) {
			dv_fail = true;
			snprintf(msg, sizeof(msg), "disk '%s' (DataVolume '%s'): import failed: %s",
				 wk_json_str(e, "name") ? wk_json_str(e, "name") : dvn, dvn,
				 fmsg ? fmsg : "see the DataVolume's events");
			cJSON_AddStringToObject(d, "message", fmsg ? fmsg : "import failed");
		} else if (!dv_ready(dph)) {
			dv_pending = true;
		}
		cJSON_AddItemToArray(disks, d);
	}
	if (!cJSON_GetArraySize(disks))
		cJSON_DeleteItemFromObjectCaseSensitive(st, "disks");

	if (refused && refused->reason[0] && !vm) {
		phase = refused->retry ? "Pending" : "Failed";
		reason = refused->reason;
		wk_strlcpy(msg, refused->message, sizeof(msg));
	} else if (!vm) {
		if (wk_json_path(wk, "spec.cloneSource")) {
			phase = "Provisioning";
			reason = "Cloning";
			snprintf(msg, sizeof(msg),
				 "the cloner creates VM '%s' from the clone source", vmname);
		} else {
			snprintf(msg, sizeof(msg), "creating VirtualMachine '%s'", vmname);
		}
	} else if (dv_fail) {
		phase = "Failed";
		reason = "ImportFailed";
	} else {
		const char *vph = wk_json_str(vmi, "status.phase");
		const char *rs = wk_json_str(vm, "spec.runStrategy");
		const cJSON *ps = condition(vmi, "PodScheduled");
		bool halted = (rs && !strcmp(rs, "Halted")) ||
			      (!rs && cJSON_IsFalse(wk_json_path(vm, "spec.running")));

		if (!vmi || !vph) {
			if (dv_pending && !halted) {
				phase = "Provisioning";
				reason = "ImportInProgress";
				snprintf(msg, sizeof(msg), "importing disks (see status.disks)");
			} else {
				phase = halted ? "Stopped" : "Pending";
				reason = halted ? "Stopped" : "Starting";
			}
		} else if (!strcmp(vph, "Pending") || !strcmp(vph, "Scheduling")) {
			phase = "Pending";
			reason = "Scheduling";
			if (ps && wk_json_str(ps, "status") &&
			    !strcmp(wk_json_str(ps, "status"), "False") &&
			    wk_json_str(ps, "reason") &&
			    !strcmp(wk_json_str(ps, "reason"), "Unschedulable")) {
				reason = "Unschedulable";
				wk_strlcpy(msg,
					   wk_json_str(ps, "message") ? wk_json_str(ps, "message")
								      : "",
					   sizeof(msg));
			}
			if (!strcmp(vph, "Scheduling"))
				phase = "Provisioning";
		} else if (!strcmp(vph, "Scheduled")) {
			phase = "Provisioning";
			reason = "Starting";
			node = wk_json_str(vmi, "status.nodeName");
		} else if (!strcmp(vph, "Running")) {
			const cJSON *ms = wk_json_path(vmi, "status.migrationState");

			node = wk_json_str(vmi, "status.nodeName");
			phase = "Running";
			reason = "Running";
			if (cJSON_IsObject(ms) && wk_json_str(ms, "startTimestamp") &&
			    !cJSON_IsTrue(get(ms, "completed")) &&
			    !cJSON_IsTrue(get(ms, "failed"))) {
				phase = "Migrating";
				reason = "Migrating";
			}
		} else if (!strcmp(vph, "Succeeded")) {
			phase = "Stopped";
			reason = "Stopped";
		} else {
			phase = "Failed";
			reason = "VMIFailed";
			snprintf(msg, sizeof(msg), "VMI '%s' is in phase %s", vmname, vph);
		}
	}
	cJSON_AddStringToObject(st, "phase", phase);
	if (node)
		cJSON_AddStringToObject(st, "nodeName", node);
	else
		cJSON_AddNullToObject(st, "nodeName");
	ips = cJSON_CreateArray();
	cJSON_ArrayForEach(e, wk_json_path(vmi, "status.interfaces"))
	{
		const cJSON *a;

		cJSON_ArrayForEach(a, get(e, "ipAddresses"))
		{
			if (cJSON_IsString(a) && strlen(a->valuestring) <= 64 &&
			    cJSON_GetArraySize(ips) < 16)
				cJSON_AddItemToArray(ips, cJSON_CreateString(a->valuestring));
		}
		if (!get(e, "ipAddresses") && wk_json_str(e, "ipAddress") &&
		    strlen(wk_json_str(e, "ipAddress")) <= 64 && cJSON_GetArraySize(ips) < 16)
			cJSON_AddItemToArray(ips, cJSON_CreateString(wk_json_str(e, "ipAddress")));
	}
	if (cJSON_GetArraySize(ips))
		cJSON_AddItemToObject(st, "ipAddresses", ips);
	else {
		cJSON_Delete(ips);
		cJSON_AddNullToObject(st, "ipAddresses");
	}
	cond_set(out, "Ready", !strcmp(phase, "Running") ? "True" : "False", reason, msg);

	/* RestartRequired: the running VMI has other cpu/memory/disks than the VM's template and
	 * the cluster does not roll them out live (or KubeVirt itself says so on the VM). */
	if (vm && vmi && wk_json_str(vmi, "status.phase") &&
	    !strcmp(wk_json_str(vmi, "status.phase"), "Running")) {
		const cJSON *kv = condition(vm, "RestartRequired");
		const cJSON *tc = wk_json_path(vm, "spec.template.spec.domain.cpu.cores");
		const cJSON *ic = wk_json_path(vmi, "spec.domain.cpu.cores");
		const char *tm = wk_json_str(vm, "spec.template.spec.domain.memory.guest");
		const char *im = wk_json_str(vmi, "spec.domain.memory.guest");
		int64_t tmb = -1, imb = -1;
		char why[512] = "";
		char e2[64];

		if (tm)
			wk_quantity_parse(tm, &tmb, e2, sizeof(e2));
		if (im)
			wk_quantity_parse(im, &imb, e2, sizeof(e2));
		if (cJSON_IsNumber(tc) && cJSON_IsNumber(ic) && tc->valuedouble != ic->valuedouble)
			snprintf(
			    why, sizeof(why),
			    "cpu %g -> %g: KubeVirt hot-plugs CPU sockets only, this VM's CPUs "
			    "are cores",
			    ic->valuedouble, tc->valuedouble);
		else if (tmb > 0 && imb > 0 && tmb != imb && !cl->live_update)
			snprintf(why, sizeof(why),
				 "memory %s -> %s: the cluster's KubeVirt "
				 "spec.configuration.vmRolloutStrategy is not LiveUpdate",
				 im, tm);
		else if (cJSON_GetArraySize(wk_json_path(vm, "spec.template.spec.volumes")) !=
			     cJSON_GetArraySize(wk_json_path(vmi, "spec.volumes")) &&
			 !cl->live_update)
			snprintf(
			    why, sizeof(why),
			    "disks changed: the cluster's KubeVirt "
			    "spec.configuration.vmRolloutStrategy is not LiveUpdate, so they are "
			    "attached on the next start");
		if (!why[0])
			template_drift(wk, vm, vmi, cl, why, sizeof(why));
		if (!why[0] && kv && wk_json_str(kv, "status") &&
		    !strcmp(wk_json_str(kv, "status"), "True"))
			snprintf(why, sizeof(why), "%s",
				 wk_json_str(kv, "message")
				     ? wk_json_str(kv, "message")
				     : "KubeVirt says the VM needs a restart");
		if (why[0]) {
			char m[1024];

			snprintf(m, sizeof(m),
				 "%s; restart the VM to apply it (spec.running: false, then true)",
				 why);
			cond_set(out, "RestartRequired", "True", "RestartRequired", m);
		} else {
			cond_set(out, "RestartRequired", "False", "UpToDate", "");
		}
	}
	if (refused && refused->reason[0])
		cond_set(out, "SpecAccepted", "False", refused->reason, refused->message);
	else
		cond_set(out, "SpecAccepted", "True", "Accepted", "");
}

void pv_status_release(struct pv_status *s)
{
	cJSON_Delete(s->status);
	memset(s, 0, sizeof(*s));
}
