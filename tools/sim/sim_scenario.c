/* sim_scenario.c - scenario YAML (libyaml document API) into struct sim_scenario. */
#include "sim_scenario.h"
#include "sim_kv.h"

#define SIM_SC_PROV_SNAP "sim.csi.novasphere.dev"
#define SIM_SC_PROV_NOSNAP "nosnap.csi.novasphere.dev"

#include "wk_name.h"
#include "wk_quantity.h"

#include <errno.h>
#include <stdarg.h>
#include <yaml.h>

/* Aliases make a YAML tree a graph: a walk that visits more nodes than this is refused
 * (billion-laughs documents). */
#define MAX_VISITS 4000000

struct ctx {
	const char *file;
	yaml_document_t *doc;
	char *errstr;
	size_t errstr_size;
	size_t visits;
};

static int perr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...) WK_PRINTF(3, 4);
static int perr(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return wk_err(c->errstr, c->errstr_size, "%s:%lu: %s", c->file,
		      n ? (unsigned long)n->start_mark.line + 1 : 1UL, msg);
}

static yaml_node_t *node(struct ctx *c, int id)
{
	c->visits++;
	return yaml_document_get_node(c->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Iterate a mapping: calls fn(key, value) for each pair. */
typedef int pair_fn(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);
static int each_pair(struct ctx *c, yaml_node_t *map, const char *what, pair_fn *fn, void *arg)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return perr(c, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		if (c->visits > MAX_VISITS)
			return perr(c, k, "document too large (aliases?)");
		const char *key = scalar(k);
		if (!key)
			return perr(c, k, "%s: keys must be scalars", what);
		if (fn(c, key, k, v, arg) < 0)
			return -1;
	}
	return 0;
}

static int get_str(struct ctx *c, yaml_node_t *v, const char *key, char **out)
{
	const char *s = scalar(v);
	if (!s)
		return perr(c, v, "'%s' must be a string", key);
	if (strlen(s) > 1024)
		return perr(c, v, "'%s' is too long", key);
	free(*out);
	*out = wk_xstrdup(s);
	return 0;
}

static int get_name(struct ctx *c, yaml_node_t *v, const char *key, char **out)
{
	char why[256];
	if (get_str(c, v, key, out) < 0)
		return -1;
	if (wk_name_check_subdomain(*out, why, sizeof(why)) < 0)
		return perr(c, v, "%s", why);
	return 0;
}

static int get_bool(struct ctx *c, yaml_node_t *v, const char *key, bool *out)
{
	const char *s = scalar(v);
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "True")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "False")))
		*out = false;
	else
		return perr(c, v, "'%s' must be true or false", key);
	return 0;
}

/* A quantity ("4Gi", "16", "500m" when milli) in [0, max]. */
static int get_qty(struct ctx *c, yaml_node_t *v, const char *key, bool milli, int64_t max,
		   int64_t *out)
{
	const char *s = scalar(v);
	char why[160];
	int64_t val;
	int rc;

	if (!s)
		return perr(c, v, "'%s' must be a quantity", key);
	rc = milli ? wk_quantity_parse_milli(s, &val, why, sizeof(why))
		   : wk_quantity_parse(s, &val, why, sizeof(why));
	if (rc < 0)
		return perr(c, v, "'%s': %s", key, why);
	if (val < 0 || val > max)
		return perr(c, v, "'%s' out of range: \"%s\"", key, s);
	*out = val;
	return 0;
}

static int get_int(struct ctx *c, yaml_node_t *v, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	const char *s = scalar(v);
	char *end;
	long long val;

	if (!s || !*s)
		return perr(c, v, "'%s' must be an integer", key);
	errno = 0;
	val = strtoll(s, &end, 10);
	if (errno || *end || val < min || val > max)
		return perr(c, v, "'%s' must be an integer in [%lld, %lld]", key, (long long)min,
			    (long long)max);
	*out = val;
	return 0;
}

static int map_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	cJSON *obj = arg;
	const char *s = scalar(v);

	if (!s)
		return perr(c, v, "value of '%s' must be a string", key);
	if (strlen(key) > 317 || strlen(s) > 1024)
		return perr(c, k, "label or annotation '%s' is too long", key);
	if (cJSON_GetArraySize(obj) >= SIM_SCENARIO_MAX_LABELS)
		return perr(c, k, "more than %d entries", SIM_SCENARIO_MAX_LABELS);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddStringToObject(obj, key, s);
	return 0;
}

static int get_map(struct ctx *c, yaml_node_t *v, const char *key, cJSON **out)
{
	cJSON_Delete(*out);
	*out = cJSON_CreateObject();
	return each_pair(c, v, key, map_pair, *out);
}

/* Iterate a sequence. */
typedef int item_fn(struct ctx *c, yaml_node_t *item, void *arg);
static int each_item(struct ctx *c, yaml_node_t *seq, const char *what, item_fn *fn, void *arg)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return perr(c, seq, "'%s' must be a list", what);
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *n = node(c, *i);
		if (c->visits > MAX_VISITS)
			return perr(c, n, "document too large (aliases?)");
		if (fn(c, n, arg) < 0)
			return -1;
	}
	return 0;
}

/* ---- migrations ---- */

static int mig_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_sc_migrations *m = arg;

	if (!strcmp(key, "parallelMigrationsPerCluster"))
		return get_int(c, v, key, 0, 100000, &m->parallel_per_cluster);
	if (!strcmp(key, "parallelOutboundMigrationsPerNode"))
		return get_int(c, v, key, 0, 100000, &m->parallel_outbound_node);
	if (!strcmp(key, "bandwidthPerMigration"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &m->bandwidth);
	if (!strcmp(key, "completionTimeoutPerGiB"))
		return get_int(c, v, key, 0, 1000000000, &m->completion_per_gib);
	if (!strcmp(key, "progressTimeout"))
		return get_int(c, v, key, 0, 1000000000, &m->progress_timeout);
	if (!strcmp(key, "allowAutoConverge"))
		return get_bool(c, v, key, &m->allow_auto_converge);
	if (!strcmp(key, "allowPostCopy"))
		return get_bool(c, v, key, &m->allow_post_copy);
	return perr(c, k, "unknown migration setting '%s'", key);
}

/* ---- storage classes ---- */

static int access_mode(struct ctx *c, yaml_node_t *v, bool *rwx)
{
	const char *s = scalar(v);
	if (s && (!strcmp(s, "RWX") || !strcmp(s, "ReadWriteMany")))
		*rwx = true;
	else if (s && (!strcmp(s, "RWO") || !strcmp(s, "ReadWriteOnce")))
		*rwx = false;
	else
		return perr(c, v, "access mode must be RWX, RWO, ReadWriteMany or ReadWriteOnce");
	return 0;
}

static int class_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_sc_class *sc = arg;

	if (!strcmp(key, "name"))
		return get_name(c, v, key, &sc->name);
	if (!strcmp(key, "accessMode"))
		return access_mode(c, v, &sc->rwx);
	if (!strcmp(key, "snapshot"))
		return get_bool(c, v, key, &sc->snapshot);
	if (!strcmp(key, "provisioner"))
		return get_str(c, v, key, &sc->provisioner);
	if (!strcmp(key, "copyRate"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &sc->copy_rate);
	if (!strcmp(key, "local"))
		return get_bool(c, v, key, &sc->local);
	if (!strcmp(key, "volumeBindingMode")) {
		const char *m = scalar(v);
		if (!m || (strcmp(m, "Immediate") && strcmp(m, "WaitForFirstConsumer")))
			return perr(
			    c, v, "'volumeBindingMode' must be Immediate or WaitForFirstConsumer");
		sc->wffc = !strcmp(m, "WaitForFirstConsumer");
		sc->binding_set = true;
		return 0;
	}
	return perr(c, k, "unknown storage class field '%s'", key);
}

static int class_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_scenario *s = arg;
	struct sim_sc_class *sc;

	if (s->nclasses >= 256)
		return perr(c, n, "more than 256 storage classes");
	s->classes = wk_xrealloc(s->classes, (s->nclasses + 1) * sizeof(*s->classes));
	sc = &s->classes[s->nclasses++];
	memset(sc, 0, sizeof(*sc));
	sc->rwx = true;
	sc->snapshot = true;
	sc->copy_rate = INT64_C(256) << 20;
	if (each_pair(c, n, "storage class", class_pair, sc) < 0)
		return -1;
	if (!sc->name)
		return perr(c, n, "storage class without a name");
	/* A VolumeSnapshotClass serves a CSI driver: without a provisioner named, classes with
	 * and without snapshots get different ones. */
	if (!sc->provisioner)
		sc->provisioner = wk_xstrdup(sc->snapshot ? SIM_SC_PROV_SNAP : SIM_SC_PROV_NOSNAP);
	/* Local volumes are bound where the first consumer runs. */
	if (!sc->binding_set)
		sc->wffc = sc->local;
	if (sc->local && sc->rwx)
		return perr(c, n, "storage class '%s': local volumes are ReadWriteOnce", sc->name);
	if (sc->copy_rate == 0)
		return perr(c, n, "storage class '%s': copyRate must be positive", sc->name);
	for (size_t i = 0; i + 1 < s->nclasses; i++) {
		if (!strcmp(s->classes[i].name, sc->name))
			return perr(c, n, "duplicate storage class '%s'", sc->name);
		if (!strcmp(s->classes[i].provisioner, sc->provisioner) &&
		    s->classes[i].snapshot != sc->snapshot)
			return perr(
			    c, n,
			    "storage classes '%s' and '%s' share the provisioner '%s' but "
			    "not snapshot support (a VolumeSnapshotClass is per CSI driver)",
			    s->classes[i].name, sc->name, sc->provisioner);
	}
	return 0;
}

/* ---- nodes ---- */

struct node_tmp {
	struct sim_sc_node n;
	int64_t count;
};

static int taint_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_sc_taint *t = arg;

	if (!strcmp(key, "key"))
		return get_str(c, v, key, &t->key);
	if (!strcmp(key, "value"))
		return get_str(c, v, key, &t->value);
	if (!strcmp(key, "effect")) {
		if (get_str(c, v, key, &t->effect) < 0)
			return -1;
		if (strcmp(t->effect, "NoSchedule") && strcmp(t->effect, "PreferNoSchedule") &&
		    strcmp(t->effect, "NoExecute"))
			return perr(
			    c, v, "taint effect must be NoSchedule, PreferNoSchedule or NoExecute");
		return 0;
	}
	return perr(c, k, "unknown taint field '%s'", key);
}

static int taint_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_sc_node *nd = arg;
	struct sim_sc_taint *t;

	if (nd->ntaints >= SIM_SCENARIO_MAX_TAINTS)
		return perr(c, n, "more than %d taints", SIM_SCENARIO_MAX_TAINTS);
	nd->taints = wk_xrealloc(nd->taints, (nd->ntaints + 1) * sizeof(*nd->taints));
	t = &nd->taints[nd->ntaints++];
	memset(t, 0, sizeof(*t));
	if (each_pair(c, n, "taint", taint_pair, t) < 0)
		return -1;
	if (!t->key || !t->effect)
		return perr(c, n, "a taint needs a key and an effect");
	return 0;
}

static int node_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct node_tmp *t = arg;

	if (!strcmp(key, "name"))
		return get_name(c, v, key, &t->n.name);
	if (!strcmp(key, "cpu"))
		return get_qty(c, v, key, true, INT64_C(1) << 40, &t->n.cpu_milli);
	if (!strcmp(key, "memory"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &t->n.memory);
	if (!strcmp(key, "linkBandwidth"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &t->n.link_bandwidth);
	if (!strcmp(key, "labels"))
		return get_map(c, v, key, &t->n.labels);
	if (!strcmp(key, "taints"))
		return each_item(c, v, key, taint_item, &t->n);
	if (!strcmp(key, "unschedulable"))
		return get_bool(c, v, key, &t->n.unschedulable);
	if (!strcmp(key, "otherPodsCpu"))
		return get_qty(c, v, key, true, INT64_C(1) << 40, &t->n.other_cpu_milli);
	if (!strcmp(key, "otherPodsMemory"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &t->n.other_memory);
	if (!strcmp(key, "count"))
		return get_int(c, v, key, 1, SIM_SCENARIO_MAX_NODES, &t->count);
	return perr(c, k, "unknown node field '%s'", key);
}

static void taints_free(struct sim_sc_taint *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].key);
		free(t[i].value);
		free(t[i].effect);
	}
	free(t);
}

static void node_release(struct sim_sc_node *n)
{
	free(n->name);
	cJSON_Delete(n->labels);
	taints_free(n->taints, n->ntaints);
}

static struct sim_sc_taint *taints_dup(const struct sim_sc_taint *t, size_t n)
{
	struct sim_sc_taint *d = wk_xcalloc(n ? n : 1, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		d[i].key = wk_xstrdup(t[i].key);
		d[i].value = t[i].value ? wk_xstrdup(t[i].value) : NULL;
		d[i].effect = wk_xstrdup(t[i].effect);
	}
	return d;
}

/* `count: N` turns one entry into N entries named <name>-1 .. <name>-N. */
static int node_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_scenario *s = arg;
	struct node_tmp t = {.count = 0, .n = {.other_cpu_milli = -1, .other_memory = -1}};
	int rc = -1;

	if (each_pair(c, n, "node", node_pair, &t) < 0)
		goto out;
	if (!t.n.name) {
		perr(c, n, "node without a name");
		goto out;
	}
	if (t.n.cpu_milli <= 0 || t.n.memory <= 0) {
		perr(c, n, "node '%s' needs positive cpu and memory", t.n.name);
		goto out;
	}
	int64_t count = t.count ? t.count : 1;
	if ((int64_t)s->nnodes + count > SIM_SCENARIO_MAX_NODES) {
		perr(c, n, "more than %d nodes", SIM_SCENARIO_MAX_NODES);
		goto out;
	}
	s->nodes = wk_xrealloc(s->nodes, (s->nnodes + (size_t)count) * sizeof(*s->nodes));
	for (int64_t i = 0; i < count; i++) {
		struct sim_sc_node *d = &s->nodes[s->nnodes++];
		*d = t.n;
		d->name = t.count ? wk_xasprintf("%s-%lld", t.n.name, (long long)i + 1)
				  : wk_xstrdup(t.n.name);
		d->labels = t.n.labels ? cJSON_Duplicate(t.n.labels, 1) : cJSON_CreateObject();
		d->taints = taints_dup(t.n.taints, t.n.ntaints);
		if (!wk_name_is_dns1123_subdomain(d->name)) {
			perr(c, n, "invalid node name '%s'", d->name);
			goto out;
		}
	}
	rc = 0;
out:
	node_release(&t.n);
	return rc;
}

/* ---- VMs ---- */

struct vm_tmp {
	struct sim_sc_vm v;
	int64_t count;
	bool has_dirty;
};

static int disk_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_sc_disk *d = arg;

	if (!strcmp(key, "name")) {
		if (get_str(c, v, key, &d->name) < 0)
			return -1;
		if (!wk_name_is_dns1123_label(d->name))
			return perr(c, v, "invalid disk name '%s'", d->name);
		return 0;
	}
	if (!strcmp(key, "size"))
		return get_qty(c, v, key, false, INT64_C(1) << 56, &d->size);
	if (!strcmp(key, "storageClass") || !strcmp(key, "storageClassName"))
		return get_name(c, v, key, &d->storage_class);
	if (!strcmp(key, "accessMode")) {
		bool rwx;
		if (access_mode(c, v, &rwx) < 0)
			return -1;
		free(d->access_mode);
		d->access_mode = wk_xstrdup(rwx ? "ReadWriteMany" : "ReadWriteOnce");
		return 0;
	}
	return perr(c, k, "unknown disk field '%s'", key);
}

static int disk_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_sc_vm *vm = arg;
	struct sim_sc_disk *d;

	if (vm->ndisks >= SIM_SCENARIO_MAX_DISKS)
		return perr(c, n, "more than %d disks", SIM_SCENARIO_MAX_DISKS);
	d = &vm->disks[vm->ndisks++];
	if (each_pair(c, n, "disk", disk_pair, d) < 0)
		return -1;
	if (!d->name || d->size <= 0)
		return perr(c, n, "a disk needs a name and a positive size");
	return 0;
}

static int net_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_sc_net *nt = arg;

	if (!strcmp(key, "name"))
		return get_name(c, v, key, &nt->name);
	if (!strcmp(key, "type")) {
		if (get_str(c, v, key, &nt->type) < 0)
			return -1;
		if (strcmp(nt->type, "pod") && strcmp(nt->type, "multus"))
			return perr(c, v, "network type must be pod or multus");
		return 0;
	}
	if (!strcmp(key, "binding")) {
		if (get_str(c, v, key, &nt->binding) < 0)
			return -1;
		if (strcmp(nt->binding, "masquerade") && strcmp(nt->binding, "bridge"))
			return perr(c, v, "binding must be masquerade or bridge");
		return 0;
	}
	if (!strcmp(key, "networkName"))
		return get_str(c, v, key, &nt->network_name);
	return perr(c, k, "unknown network field '%s'", key);
}

static int net_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_sc_vm *vm = arg;
	struct sim_sc_net *nt;

	if (vm->nnets >= SIM_SCENARIO_MAX_NETS)
		return perr(c, n, "more than %d networks", SIM_SCENARIO_MAX_NETS);
	nt = &vm->nets[vm->nnets++];
	if (each_pair(c, n, "network", net_pair, nt) < 0)
		return -1;
	if (!nt->name)
		nt->name = wk_xstrdup("default");
	if (!nt->type)
		nt->type = wk_xstrdup("pod");
	if (!nt->binding)
		nt->binding = wk_xstrdup("masquerade");
	return 0;
}

static int vm_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct vm_tmp *t = arg;

	if (!strcmp(key, "name"))
		return get_name(c, v, key, &t->v.name);
	if (!strcmp(key, "namespace")) {
		if (get_str(c, v, key, &t->v.ns) < 0)
			return -1;
		if (!wk_name_is_dns1123_label(t->v.ns))
			return perr(c, v, "invalid namespace '%s'", t->v.ns);
		return 0;
	}
	if (!strcmp(key, "cpu"))
		return get_int(c, v, key, 1, 512, &t->v.cpu);
	if (!strcmp(key, "cpuRequest"))
		return get_qty(c, v, key, true, INT64_C(1) << 30, &t->v.cpu_request);
	if (!strcmp(key, "memory"))
		return get_qty(c, v, key, false, INT64_C(1) << 46, &t->v.memory);
	if (!strcmp(key, "dirtyRate")) {
		t->has_dirty = true;
		return get_qty(c, v, key, false, INT64_C(1) << 46, &t->v.dirty_rate);
	}
	if (!strcmp(key, "running"))
		return get_bool(c, v, key, &t->v.running);
	if (!strcmp(key, "guestAgent"))
		return get_bool(c, v, key, &t->v.guest_agent);
	if (!strcmp(key, "labels"))
		return get_map(c, v, key, &t->v.labels);
	if (!strcmp(key, "annotations"))
		return get_map(c, v, key, &t->v.annotations);
	if (!strcmp(key, "nodeSelector"))
		return get_map(c, v, key, &t->v.node_selector);
	if (!strcmp(key, "disks"))
		return each_item(c, v, key, disk_item, &t->v);
	if (!strcmp(key, "networks"))
		return each_item(c, v, key, net_item, &t->v);
	if (!strcmp(key, "count"))
		return get_int(c, v, key, 1, SIM_SCENARIO_MAX_VMS, &t->count);
	return perr(c, k, "unknown vm field '%s'", key);
}

static void vm_release(struct sim_sc_vm *v)
{
	free(v->name);
	free(v->ns);
	cJSON_Delete(v->labels);
	cJSON_Delete(v->annotations);
	cJSON_Delete(v->node_selector);
	for (size_t i = 0; i < v->ndisks; i++) {
		free(v->disks[i].name);
		free(v->disks[i].storage_class);
		free(v->disks[i].access_mode);
	}
	for (size_t i = 0; i < v->nnets; i++) {
		free(v->nets[i].name);
		free(v->nets[i].type);
		free(v->nets[i].binding);
		free(v->nets[i].network_name);
	}
}

static char *dup_or_null(const char *s)
{
	return s ? wk_xstrdup(s) : NULL;
}

static cJSON *json_dup(const cJSON *j)
{
	return j ? cJSON_Duplicate(j, 1) : NULL;
}

static void vm_copy(struct sim_sc_vm *d, const struct sim_sc_vm *s, char *name)
{
	*d = *s;
	d->name = name;
	d->ns = wk_xstrdup(s->ns ? s->ns : "default");
	d->labels = json_dup(s->labels);
	d->annotations = json_dup(s->annotations);
	d->node_selector = json_dup(s->node_selector);
	for (size_t i = 0; i < s->ndisks; i++) {
		d->disks[i].name = wk_xstrdup(s->disks[i].name);
		d->disks[i].storage_class = dup_or_null(s->disks[i].storage_class);
		d->disks[i].access_mode = dup_or_null(s->disks[i].access_mode);
	}
	for (size_t i = 0; i < s->nnets; i++) {
		d->nets[i].name = wk_xstrdup(s->nets[i].name);
		d->nets[i].type = wk_xstrdup(s->nets[i].type);
		d->nets[i].binding = wk_xstrdup(s->nets[i].binding);
		d->nets[i].network_name = dup_or_null(s->nets[i].network_name);
	}
}

static int vm_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_scenario *s = arg;
	struct vm_tmp t = {.v = {.running = true, .guest_agent = true, .cpu = 1}};
	int rc = -1;

	if (each_pair(c, n, "vm", vm_pair, &t) < 0)
		goto out;
	if (!t.v.name) {
		perr(c, n, "vm without a name");
		goto out;
	}
	if (t.v.memory <= 0) {
		perr(c, n, "vm '%s' needs a positive memory", t.v.name);
		goto out;
	}
	if (!t.has_dirty)
		t.v.dirty_rate = -1; /* the scenario default, resolved after parsing */
	int64_t count = t.count ? t.count : 1;
	if ((int64_t)s->nvms + count > SIM_SCENARIO_MAX_VMS) {
		perr(c, n, "more than %d vms", SIM_SCENARIO_MAX_VMS);
		goto out;
	}
	s->vms = wk_xrealloc(s->vms, (s->nvms + (size_t)count) * sizeof(*s->vms));
	for (int64_t i = 0; i < count; i++) {
		char *name = t.count ? wk_xasprintf("%s-%lld", t.v.name, (long long)i + 1)
				     : wk_xstrdup(t.v.name);
		vm_copy(&s->vms[s->nvms++], &t.v, name);
		/* Derived names (<name>-vm, <name>-<disk>) must stay valid. */
		if (strlen(name) > 60) {
			perr(c, n, "vm name '%s' is too long", name);
			goto out;
		}
	}
	rc = 0;
out:
	vm_release(&t.v);
	return rc;
}

/* ---- top level ---- */

static int gate_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct sim_scenario *s = arg;
	const char *g = scalar(n);

	if (!g || !*g || strlen(g) > 128)
		return perr(c, n, "'featureGates' entries must be gate names (at most 128 bytes)");
	if (cJSON_GetArraySize(s->feature_gates) >= 128)
		return perr(c, n, "more than 128 feature gates");
	cJSON_AddItemToArray(s->feature_gates, cJSON_CreateString(g));
	return 0;
}

static int top_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sim_scenario *s = arg;
	int64_t i;

	if (!strcmp(key, "timeFactor")) {
		const char *str = scalar(v);
		char *end;
		double f = str ? strtod(str, &end) : 0;
		if (!str || *end || !(f > 0 && f <= 100000))
			return perr(c, v, "'timeFactor' must be a number in (0, 100000]");
		s->time_factor = f;
		return 0;
	}
	if (!strcmp(key, "seed")) {
		if (get_int(c, v, key, 0, INT64_MAX, &i) < 0)
			return -1;
		s->seed = (uint64_t)i;
		s->has_seed = true;
		return 0;
	}
	if (!strcmp(key, "linkBandwidth"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &s->link_bandwidth);
	if (!strcmp(key, "backgroundCpu"))
		return get_qty(c, v, key, true, INT64_C(1) << 40, &s->bg_cpu_milli);
	if (!strcmp(key, "backgroundMemory"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &s->bg_memory);
	if (!strcmp(key, "otherPodsCpu"))
		return get_qty(c, v, key, true, INT64_C(1) << 40, &s->other_cpu_milli);
	if (!strcmp(key, "otherPodsMemory"))
		return get_qty(c, v, key, false, INT64_C(1) << 50, &s->other_memory);
	if (!strcmp(key, "defaultDirtyRate"))
		return get_qty(c, v, key, false, INT64_C(1) << 46, &s->default_dirty_rate);
	if (!strcmp(key, "memoryPressurePercent"))
		return get_int(c, v, key, 1, 100, &s->memory_pressure_pct);
	if (!strcmp(key, "nodeGracePeriod"))
		return get_int(c, v, key, 0, 86400, &s->node_grace_s);
	if (!strcmp(key, "evictionTimeout"))
		return get_int(c, v, key, 0, 86400, &s->eviction_timeout_s);
	if (!strcmp(key, "maxDowntimeMs"))
		return get_int(c, v, key, 1, 2000000, &s->max_downtime_ms);
	if (!strcmp(key, "postCopyAfterFirstRound"))
		return get_bool(c, v, key, &s->postcopy_after_first_round);
	if (!strcmp(key, "defaultStorageClass"))
		return get_name(c, v, key, &s->default_class);
	if (!strcmp(key, "kubevirtVersion")) {
		const char *str = scalar(v);
		int minor = sim_kv_minor_parse(str);
		if (minor < 0)
			return perr(c, v, "'kubevirtVersion' must be \"1.5\", \"1.6\" or \"1.9\"");
		s->kv_minor = minor;
		return 0;
	}
	if (!strcmp(key, "featureGates")) {
		cJSON_Delete(s->feature_gates);
		s->feature_gates = cJSON_CreateArray();
		return each_item(c, v, key, gate_item, s);
	}
	if (!strcmp(key, "migrations"))
		return each_pair(c, v, key, mig_pair, &s->mig);
	if (!strcmp(key, "storageClasses"))
		return each_item(c, v, key, class_item, s);
	if (!strcmp(key, "nodes"))
		return each_item(c, v, key, node_item, s);
	if (!strcmp(key, "vms"))
		return each_item(c, v, key, vm_item, s);
	return perr(c, k, "unknown scenario field '%s'", key);
}

static int check(struct ctx *c, struct sim_scenario *s, yaml_node_t *root)
{
	if (!s->nnodes)
		return perr(c, root, "the scenario has no nodes");
	if (!s->nclasses) {
		/* One shared class keeps small scenarios short. */
		s->classes = wk_xcalloc(1, sizeof(*s->classes));
		s->classes[0] = (struct sim_sc_class){.name = wk_xstrdup("shared-rwx"),
						      .rwx = true,
						      .snapshot = true,
						      .provisioner = wk_xstrdup(SIM_SC_PROV_SNAP),
						      .copy_rate = INT64_C(256) << 20};
		s->nclasses = 1;
	}
	if (!s->default_class)
		s->default_class = wk_xstrdup(s->classes[0].name);
	else if (!sim_scenario_class(s, s->default_class))
		return perr(c, root, "unknown default storage class '%s'", s->default_class);
	for (size_t i = 0; i < s->nnodes; i++) {
		if (!s->nodes[i].link_bandwidth)
			s->nodes[i].link_bandwidth = s->link_bandwidth;
		for (size_t j = 0; j < i && s->nnodes <= 1000; j++)
			if (!strcmp(s->nodes[i].name, s->nodes[j].name))
				return perr(c, root, "duplicate node '%s'", s->nodes[i].name);
	}
	for (size_t i = 0; i < s->nvms; i++) {
		struct sim_sc_vm *v = &s->vms[i];
		if (v->dirty_rate < 0)
			v->dirty_rate = s->default_dirty_rate;
		for (size_t d = 0; d < v->ndisks; d++)
			if (v->disks[d].storage_class &&
			    !sim_scenario_class(s, v->disks[d].storage_class))
				return perr(c, root, "vm '%s': unknown storage class '%s'", v->name,
					    v->disks[d].storage_class);
	}
	return 0;
}

struct sim_scenario *sim_scenario_parse(const char *file, const char *text, size_t len,
					char *errstr, size_t errstr_size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct sim_scenario *s;
	struct ctx c = {.file = file, .doc = &doc, .errstr = errstr, .errstr_size = errstr_size};
	yaml_node_t *root;
	int rc;

	if (len > SIM_SCENARIO_MAX_BYTES) {
		wk_err(errstr, errstr_size, "%s:1: scenario larger than %u bytes", file,
		       SIM_SCENARIO_MAX_BYTES);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		wk_err(errstr, errstr_size, "%s:1: cannot initialize the yaml parser", file);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		wk_err(errstr, errstr_size, "%s:%lu: %s", file,
		       (unsigned long)parser.problem_mark.line + 1,
		       parser.problem ? parser.problem : "malformed yaml");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_parser_delete(&parser);
	s = wk_xcalloc(1, sizeof(*s));
	s->link_bandwidth = INT64_C(1250) * 1000 * 1000; /* 10 Gbit/s */
	s->bg_cpu_milli = 250;
	s->bg_memory = INT64_C(1) << 30;
	/* virt-handler (10m, 325Mi) plus a CNI agent and kube-proxy, roughly. */
	s->other_cpu_milli = 250;
	s->other_memory = INT64_C(512) << 20;
	s->default_dirty_rate = INT64_C(16) << 20;
	s->memory_pressure_pct = 90;
	s->node_grace_s = 50;
	s->eviction_timeout_s = 300;
	s->max_downtime_ms = 900;
	s->mig = (struct sim_sc_migrations){5, 2, 0, 150, 150, false, false};
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		wk_err(errstr, errstr_size, "%s:1: empty scenario", file);
		rc = -1;
	} else {
		rc = each_pair(&c, root, "the scenario", top_pair, s);
		if (rc == 0)
			rc = check(&c, s, root);
	}
	yaml_document_delete(&doc);
	if (rc < 0) {
		sim_scenario_destroy(s);
		return NULL;
	}
	return s;
}

struct sim_scenario *sim_scenario_load(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	struct sim_scenario *s;

	if (!f) {
		wk_err(errstr, errstr_size, "cannot open scenario '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = wk_xmalloc(SIM_SCENARIO_MAX_BYTES + 1);
	n = fread(buf, 1, SIM_SCENARIO_MAX_BYTES + 1, f);
	fclose(f);
	s = sim_scenario_parse(path, buf, n, errstr, errstr_size);
	free(buf);
	return s;
}

const struct sim_sc_class *sim_scenario_class(const struct sim_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->nclasses; i++)
		if (!strcmp(sc->classes[i].name, name))
			return &sc->classes[i];
	return NULL;
}

void sim_scenario_destroy(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nnodes; i++)
		node_release(&sc->nodes[i]);
	free(sc->nodes);
	for (size_t i = 0; i < sc->nclasses; i++) {
		free(sc->classes[i].name);
		free(sc->classes[i].provisioner);
	}
	free(sc->classes);
	for (size_t i = 0; i < sc->nvms; i++)
		vm_release(&sc->vms[i]);
	free(sc->vms);
	free(sc->default_class);
	cJSON_Delete(sc->feature_gates);
	free(sc);
}
