/* sim_store.c - the simulator's object store: one sorted table per resource, a global
 * resourceVersion counter, a bounded ring of watch events, and change observers.
 *
 * Objects live as cJSON in a per-resource array sorted by "<namespace>/<name>" (lookups are a
 * binary search, lists walk it in order, an insert moves pointers only). The watch history keeps
 * each event as compact JSON text: it is four to five times smaller than a cJSON tree and is
 * parsed again only when a watch resumes from it.
 */
#include "sim_store.h"

#include "wk_buf.h"
#include "wk_log.h"
#include "wk_resource.h"
#include "wk_uuid.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

/* clang-format off */
/* A row for a resource the product's table (core/wk_resource.h) knows: group, version, plural,
 * namespaced and kind come from there, so the simulator serves exactly what the services address;
 * the rest (singular, short names, categories, status subresource, read-only) is the API
 * server's own. */
#define SIM_RES(fields, ...) SIM_RES_(fields, __VA_ARGS__)
#define SIM_RES_(group, version, plural, namespaced, kind, singular, short_names, categories,      \
		 has_status, read_only)                                                            \
	{group, version, plural, singular, kind, short_names, categories, namespaced, has_status,  \
	 read_only}

const struct sim_resource sim_resources[] = {
	SIM_RES(WK_RES_NAMESPACES_FIELDS, "namespace", "ns", NULL, true, false),
	SIM_RES(WK_RES_NODES_FIELDS, "node", "no", NULL, true, false),
	SIM_RES(WK_RES_PERSISTENTVOLUMECLAIMS_FIELDS, "persistentvolumeclaim", "pvc", NULL, true, false),
	SIM_RES(WK_RES_EVENTS_FIELDS, "event", "ev", NULL, false, false),
	SIM_RES(WK_RES_LEASES_FIELDS, "lease", NULL, NULL, false, false),
	{"", "v1", "services", "service", "Service", "svc", "all", true, true, false},
	SIM_RES(WK_RES_ENDPOINTSLICES_FIELDS, "endpointslice", NULL, NULL, false, false),
	SIM_RES(WK_RES_NODEMETRICS_FIELDS, "", NULL, NULL, false, true),
	SIM_RES(WK_RES_VIRTUALMACHINES_FIELDS, "virtualmachine", "vm,vms", "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINEINSTANCES_FIELDS, "virtualmachineinstance", "vmi,vmis", "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINEINSTANCEMIGRATIONS_FIELDS, "virtualmachineinstancemigration", "vmim,vmims", "all", true, false),
	SIM_RES(WK_RES_KUBEVIRTS_FIELDS, "kubevirt", "kv,kvs", "all", true, false),
	SIM_RES(WK_RES_MIGRATIONPOLICIES_FIELDS, "migrationpolicy", NULL, "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINESNAPSHOTS_FIELDS, "virtualmachinesnapshot", "vmsnapshot,vmsnapshots", "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINESNAPSHOTCONTENTS_FIELDS, "virtualmachinesnapshotcontent", "vmsnapshotcontent,vmsnapshotcontents", "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINERESTORES_FIELDS, "virtualmachinerestore", "vmrestore,vmrestores", "all", true, false),
	SIM_RES(WK_RES_VIRTUALMACHINECLONES_FIELDS, "virtualmachineclone", "vmclone,vmclones", "all", true, false),
	SIM_RES(WK_RES_WUKONGS_FIELDS, "wukong", "wk", "all", true, false),
	SIM_RES(WK_RES_DATAVOLUMES_FIELDS, "datavolume", "dv,dvs", "all", true, false),
	SIM_RES(WK_RES_STORAGECLASSES_FIELDS, "storageclass", "sc", NULL, false, false),
	SIM_RES(WK_RES_PERSISTENTVOLUMES_FIELDS, "persistentvolume", "pv", NULL, true, false),
	SIM_RES(WK_RES_VOLUMESNAPSHOTS_FIELDS, "volumesnapshot", "vs", NULL, true, false),
	{"snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", "volumesnapshotclass", "VolumeSnapshotClass", "vsclass,vsclasses", NULL, false, false, false},
	SIM_RES(WK_RES_CUSTOMRESOURCEDEFINITIONS_FIELDS, "customresourcedefinition", "crd,crds", NULL, true, false),
	/* The install bundle's kinds (issue 19, deploy/): stored and served, no controller acts on
	 * them; the monitoring.coreos.com and kafka.strimzi.io ones are validated against their
	 * published CRDs (tools/sim/crds/). The access reviews are answered, never stored
	 * (sim_rbac.c). */
	SIM_RES(WK_RES_CONFIGMAPS_FIELDS, "configmap", "cm", NULL, false, false),
	{"", "v1", "secrets", "secret", "Secret", NULL, NULL, true, false, false},
	{"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", "sa", NULL, true, false, false},
	{"apps", "v1", "deployments", "deployment", "Deployment", "deploy", "all", true, true, false},
	{"apps", "v1", "statefulsets", "statefulset", "StatefulSet", "sts", "all", true, true, false},
	{"rbac.authorization.k8s.io", "v1", "roles", "role", "Role", NULL, NULL, true, false, false},
	{"rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", NULL, NULL, true, false, false},
	{"rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", NULL, NULL, false, false, false},
	{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", NULL, NULL, false, false, false},
	{"networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", "netpol", NULL, true, false, false},
	{"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", "pdb", NULL, true, true, false},
	{"scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", "pc", NULL, false, false, false},
	{"monitoring.coreos.com", "v1", "podmonitors", "podmonitor", "PodMonitor", "pmon", NULL, true, true, false},
	{"monitoring.coreos.com", "v1", "servicemonitors", "servicemonitor", "ServiceMonitor", "smon", NULL, true, true, false},
	{"monitoring.coreos.com", "v1", "prometheusrules", "prometheusrule", "PrometheusRule", "promrule", NULL, true, true, false},
	{"kafka.strimzi.io", "v1", "kafkatopics", "kafkatopic", "KafkaTopic", "kt", "strimzi", true, true, false},
	{"kafka.strimzi.io", "v1", "kafkausers", "kafkauser", "KafkaUser", "ku", "strimzi", true, true, false},
	{"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", NULL, NULL, false, false, false},
	{"authorization.k8s.io", "v1", "subjectaccessreviews", "", "SubjectAccessReview", NULL, NULL, false, false, false},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false, false},
};
/* clang-format on */

#define NRES (WK_ARRAY_SIZE(sim_resources) - 1)
#define MAX_OBSERVERS 16

const struct sim_resource *sim_resource_find(const char *group, const char *version,
					     const char *plural)
{
	if (!group || !version || !plural)
		return NULL;
	for (size_t i = 0; i < NRES; i++) {
		const struct sim_resource *r = &sim_resources[i];

		if (!strcmp(r->group, group) && !strcmp(r->version, version) &&
		    !strcmp(r->plural, plural))
			return r;
	}
	return NULL;
}

const struct sim_resource *sim_resource_by_kind(const char *kind)
{
	if (!kind)
		return NULL;
	for (size_t i = 0; i < NRES; i++)
		if (!strcmp(sim_resources[i].kind, kind))
			return &sim_resources[i];
	return NULL;
}

struct entry {
	char *key; /* "<ns>/<name>" ("" namespace for cluster-scoped) */
	cJSON *obj;
	char *json; /* obj as compact JSON, kept from its last watch event (NULL = not yet) */
};

struct table {
	struct entry *v;
	size_t n, alloc;
};

struct hist_event {
	size_t res;
	const char *type;
	uint64_t rv;
	char *ns;
	char *json;
};

struct observer {
	sim_observer_fn *fn;
	void *opaque;
};

struct sim_store {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t rv;
	struct table tables[NRES];
	struct hist_event *hist; /* ring */
	size_t hist_cap, hist_head, hist_len;
	uint64_t compacted; /* rv of the newest event dropped from the ring */
	struct observer obs[MAX_OBSERVERS];
	size_t nobs;
	sim_pruner_fn *pruner; /* set before use, read under the lock */
	void *pruner_opaque;
};

/* A change waiting to be told to the observers once the lock is released. */
struct pending {
	const struct sim_resource *res;
	const char *type;
	cJSON *obj;
};

static void err_set(struct sim_err *err, int code, const char *reason, const char *fmt, ...)
    WK_PRINTF(4, 5);

static void err_set(struct sim_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	wk_strlcpy(err->reason, reason, sizeof(err->reason));
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* "<plural>.<group>" or "<plural>" for core: how the apiserver names a resource in messages. */
static void res_qual(const struct sim_resource *res, char *out, size_t n)
{
	if (res->group[0])
		snprintf(out, n, "%s.%s", res->plural, res->group);
	else
		snprintf(out, n, "%s", res->plural);
}

static size_t res_index(const struct sim_resource *res)
{
	if (res >= sim_resources && res < sim_resources + NRES)
		return (size_t)(res - sim_resources);
	for (size_t i = 0; i < NRES; i++)
		if (!strcmp(sim_resources[i].group, res->group) &&
		    !strcmp(sim_resources[i].version, res->version) &&
		    !strcmp(sim_resources[i].plural, res->plural))
			return i;
	WK_BUG("sim_store: resource '%s' is not in sim_resources", res->plural);
}

static const char *norm_ns(const struct sim_resource *res, const char *ns)
{
	if (!res->namespaced || !ns)
		return "";
	return ns;
}

static char *make_key(const char *ns, const char *name)
{
	return wk_xasprintf("%s/%s", ns, name);
}

/* Index of the first entry whose key is >= key. */
static size_t lower_bound(const struct table *t, const char *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct entry *table_find(struct table *t, const char *key, size_t *pos)
{
	size_t i = lower_bound(t, key);

	if (pos)
		*pos = i;
	if (i < t->n && !strcmp(t->v[i].key, key))
		return &t->v[i];
	return NULL;
}

static void table_insert(struct table *t, size_t pos, char *key, cJSON *obj)
{
	if (t->n == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 64;
		t->v = wk_xrealloc(t->v, t->alloc * sizeof(*t->v));
	}
	memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
	t->v[pos].key = key;
	t->v[pos].obj = obj;
	t->v[pos].json = NULL;
	t->n++;
}

static void table_remove(struct table *t, size_t pos)
{
	free(t->v[pos].key);
	free(t->v[pos].json);
	cJSON_Delete(t->v[pos].obj);
	memmove(&t->v[pos], &t->v[pos + 1], (t->n - pos - 1) * sizeof(*t->v));
	t->n--;
}

struct sim_store *sim_store_new(size_t history)
{
	struct sim_store *st = wk_xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->changed, NULL);
	st->rv = 1;
	st->hist_cap = history ? history : 1;
	st->hist = wk_xcalloc(st->hist_cap, sizeof(*st->hist));
	return st;
}

static void hist_free(struct hist_event *e)
{
	free(e->ns);
	free(e->json);
	memset(e, 0, sizeof(*e));
}

void sim_store_destroy(struct sim_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < NRES; i++) {
		struct table *t = &st->tables[i];

		for (size_t j = 0; j < t->n; j++) {
			free(t->v[j].key);
			free(t->v[j].json);
			cJSON_Delete(t->v[j].obj);
		}
		free(t->v);
	}
	for (size_t i = 0; i < st->hist_len; i++)
		hist_free(&st->hist[(st->hist_head + i) % st->hist_cap]);
	free(st->hist);
	pthread_cond_destroy(&st->changed);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

uint64_t sim_store_rv(struct sim_store *st)
{
	uint64_t rv;

	pthread_mutex_lock(&st->lock);
	rv = st->rv;
	pthread_mutex_unlock(&st->lock);
	return rv;
}

/* ---- object helpers ---- */

static cJSON *meta_of(cJSON *obj)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	if (!cJSON_IsObject(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		m = cJSON_AddObjectToObject(obj, "metadata");
	}
	return m;
}

static const char *meta_str(const cJSON *obj, const char *field)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_str(cJSON *o, const char *field, const char *value)
{
	cJSON *v = cJSON_CreateString(value);

	if (cJSON_GetObjectItemCaseSensitive(o, field))
		cJSON_ReplaceItemInObjectCaseSensitive(o, field, v);
	else
		cJSON_AddItemToObject(o, field, v);
}

static void set_num(cJSON *o, const char *field, double value)
{
	cJSON *v = cJSON_CreateNumber(value);

	if (cJSON_GetObjectItemCaseSensitive(o, field))
		cJSON_ReplaceItemInObjectCaseSensitive(o, field, v);
	else
		cJSON_AddItemToObject(o, field, v);
}

static void set_item(cJSON *o, const char *field, cJSON *v)
{
	if (!v) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, field);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, field))
		cJSON_ReplaceItemInObjectCaseSensitive(o, field, v);
	else
		cJSON_AddItemToObject(o, field, v);
}

static void set_rv(cJSON *obj, uint64_t rv)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
	set_str(meta_of(obj), "resourceVersion", buf);
}

/* metrics.k8s.io is an aggregated API served by metrics-server, which builds each object on the
 * fly: no uid, resourceVersion or generation (metrics-server pkg/api/node.go, pkg/storage/node.go).
 * The store still versions them internally (watch history). */
static void strip_ids(const struct sim_resource *res, cJSON *obj)
{
	cJSON *meta;

	if (strcmp(res->group, "metrics.k8s.io"))
		return;
	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
}

static void now_rfc3339(char *out, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void random_suffix(char *out, size_t len)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char b[16];

	if (len > sizeof(b))
		len = sizeof(b);
	if (getrandom(b, len, 0) != (ssize_t)len)
		for (size_t i = 0; i < len; i++)
			b[i] = (unsigned char)(rand() & 0xff);
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
	out[len] = '\0';
}

bool sim_json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (!a || !b)
		return a == b;
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	switch (a->type & 0xff) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return a->valuestring && b->valuestring ? !strcmp(a->valuestring, b->valuestring)
							: a->valuestring == b->valuestring;
	case cJSON_Array:
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!sim_json_equal(x, y))
				return false;
		return !x && !y;
	case cJSON_Object: {
		size_t na = 0, nb = 0;

		for (y = b->child; y; y = y->next)
			nb++;
		for (x = a->child; x; x = x->next) {
			na++;
			if (!x->string)
				return false;
			y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !sim_json_equal(x, y))
				return false;
		}
		return na == nb;
	}
	default:
		return false;
	}
}

/* Do two objects differ outside metadata (and outside status when the resource splits it)? */
static bool content_differs(const struct sim_resource *res, const cJSON *a, const cJSON *b)
{
	const cJSON *it;
	size_t na = 0, nb = 0;

	cJSON_ArrayForEach(it, a)
	{
		if (!it->string || !strcmp(it->string, "metadata") ||
		    (res->has_status && !strcmp(it->string, "status")))
			continue;
		na++;
		if (!sim_json_equal(it, cJSON_GetObjectItemCaseSensitive(b, it->string)))
			return true;
	}
	cJSON_ArrayForEach(it, b)
	{
		if (!it->string || !strcmp(it->string, "metadata") ||
		    (res->has_status && !strcmp(it->string, "status")))
			continue;
		nb++;
	}
	return na != nb;
}

static bool has_finalizers(const cJSON *obj)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");

	return cJSON_IsArray(f) && cJSON_GetArraySize(f) > 0;
}

static bool str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	}
	return false;
}

static int64_t meta_int(const cJSON *obj, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* ---- history and notification (lock held) ---- */

/* Appends a watch event; returns its JSON text (owned by the history). */
static const char *record(struct sim_store *st, size_t ri, const char *type, const cJSON *obj,
			  const char *ns, struct pending *p)
{
	struct hist_event *e;

	if (st->hist_len == st->hist_cap) {
		e = &st->hist[st->hist_head];
		st->compacted = e->rv;
		hist_free(e);
		st->hist_head = (st->hist_head + 1) % st->hist_cap;
		st->hist_len--;
	}
	e = &st->hist[(st->hist_head + st->hist_len) % st->hist_cap];
	e->res = ri;
	e->type = type;
	e->rv = st->rv;
	e->ns = wk_xstrdup(ns);
	e->json = cJSON_PrintUnformatted(obj);
	if (!e->json)
		WK_BUG("sim_store: cannot print an object");
	st->hist_len++;
	pthread_cond_broadcast(&st->changed);
	if (p) {
		p->res = &sim_resources[ri];
		p->type = type;
		p->obj = st->nobs ? cJSON_Duplicate(obj, true) : NULL;
	}
	return e->json;
}

static void cache_json(struct entry *e, const char *json)
{
	free(e->json);
	e->json = wk_xstrdup(json);
}

static void notify(struct sim_store *st, struct pending *p)
{
	struct observer obs[MAX_OBSERVERS];
	size_t n;

	if (!p->type)
		return;
	pthread_mutex_lock(&st->lock);
	n = st->nobs;
	memcpy(obs, st->obs, n * sizeof(*obs));
	pthread_mutex_unlock(&st->lock);
	if (p->obj)
		for (size_t i = 0; i < n; i++)
			obs[i].fn(obs[i].opaque, p->res, p->type, p->obj);
	cJSON_Delete(p->obj);
	memset(p, 0, sizeof(*p));
}

void sim_store_set_pruner(struct sim_store *st, sim_pruner_fn *fn, void *opaque)
{
	pthread_mutex_lock(&st->lock);
	st->pruner = fn;
	st->pruner_opaque = opaque;
	pthread_mutex_unlock(&st->lock);
}

void sim_store_observe(struct sim_store *st, sim_observer_fn *fn, void *opaque)
{
	pthread_mutex_lock(&st->lock);
	if (st->nobs == MAX_OBSERVERS)
		WK_BUG("sim_store: more than %d observers", MAX_OBSERVERS);
	st->obs[st->nobs].fn = fn;
	st->obs[st->nobs].opaque = opaque;
	st->nobs++;
	pthread_mutex_unlock(&st->lock);
}

/* ---- reads ---- */

cJSON *sim_store_get(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name)
{
	struct entry *e;
	cJSON *copy = NULL;
	char *key;

	if (!name || (res->namespaced && !ns))
		return NULL;
	key = make_key(norm_ns(res, ns), name);
	pthread_mutex_lock(&st->lock);
	e = table_find(&st->tables[res_index(res)], key, NULL);
	if (e)
		copy = cJSON_Duplicate(e->obj, true);
	pthread_mutex_unlock(&st->lock);
	free(key);
	return copy;
}

void sim_store_foreach(struct sim_store *st, const struct sim_resource *res, const char *ns,
		       int (*fn)(const cJSON *obj, void *opaque), void *opaque)
{
	struct table *t;
	char *prefix = NULL;
	size_t i = 0, plen = 0;

	pthread_mutex_lock(&st->lock);
	t = &st->tables[res_index(res)];
	if (ns && res->namespaced) {
		prefix = make_key(ns, "");
		plen = strlen(prefix);
		i = lower_bound(t, prefix);
	}
	for (; i < t->n; i++) {
		if (prefix && strncmp(t->v[i].key, prefix, plen))
			break;
		if (fn(t->v[i].obj, opaque))
			break;
	}
	pthread_mutex_unlock(&st->lock);
	free(prefix);
}

size_t sim_store_count(struct sim_store *st, const struct sim_resource *res)
{
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = st->tables[res_index(res)].n;
	pthread_mutex_unlock(&st->lock);
	return n;
}

cJSON *sim_store_list(struct sim_store *st, const struct sim_resource *res, const char *ns,
		      const char *after_key, bool (*match)(const cJSON *obj, void *opaque),
		      void *opaque, size_t limit, char **next_key, size_t *remaining, uint64_t *rv)
{
	struct table *t;
	char *prefix = NULL;
	size_t i = 0, plen = 0, rem = 0;
	cJSON *items = cJSON_CreateArray();
	size_t count = 0;
	const char *last_key = NULL;

	*next_key = NULL;
	pthread_mutex_lock(&st->lock);
	t = &st->tables[res_index(res)];
	if (ns && res->namespaced) {
		prefix = make_key(ns, "");
		plen = strlen(prefix);
		i = lower_bound(t, prefix);
	}
	if (after_key) {
		size_t j = lower_bound(t, after_key);

		if (j < t->n && !strcmp(t->v[j].key, after_key))
			j++;
		if (j > i)
			i = j;
	}
	for (; i < t->n; i++) {
		if (prefix && strncmp(t->v[i].key, prefix, plen))
			break;
		if (match && !match(t->v[i].obj, opaque))
			continue;
		if (limit && count == limit) {
			if (!*next_key)
				*next_key = wk_xstrdup(last_key);
			rem++;
			continue;
		}
		cJSON_AddItemToArray(items, cJSON_Duplicate(t->v[i].obj, true));
		last_key = t->v[i].key;
		count++;
	}
	if (rv)
		*rv = st->rv;
	pthread_mutex_unlock(&st->lock);
	free(prefix);
	if (remaining)
		*remaining = rem;
	return items;
}

int sim_store_list_json(struct sim_store *st, const struct sim_resource *res, const char *ns,
			const char *after_key, bool (*match)(const cJSON *obj, void *opaque),
			void *opaque, size_t limit, char **next_key, size_t *remaining,
			uint64_t *rv, struct wk_buf *out)
{
	struct table *t;
	char *prefix = NULL;
	size_t i = 0, plen = 0, rem = 0, count = 0;
	const char *last_key = NULL;
	int rc = 0;

	*next_key = NULL;
	pthread_mutex_lock(&st->lock);
	t = &st->tables[res_index(res)];
	if (ns && res->namespaced) {
		prefix = make_key(ns, "");
		plen = strlen(prefix);
		i = lower_bound(t, prefix);
	}
	if (after_key) {
		size_t j = lower_bound(t, after_key);

		if (j < t->n && !strcmp(t->v[j].key, after_key))
			j++;
		if (j > i)
			i = j;
	}
	for (; i < t->n; i++) {
		struct entry *e = &t->v[i];

		if (prefix && strncmp(e->key, prefix, plen))
			break;
		if (match && !match(e->obj, opaque))
			continue;
		if (limit && count == limit) {
			if (!*next_key)
				*next_key = wk_xstrdup(last_key);
			rem++;
			continue;
		}
		if (!e->json) {
			e->json = cJSON_PrintUnformatted(e->obj);
			if (!e->json)
				WK_BUG("sim_store: cannot print an object");
		}
		if ((count && wk_buf_add(out, ",", 1) < 0) || wk_buf_adds(out, e->json) < 0) {
			rc = -1;
			break;
		}
		last_key = e->key;
		count++;
	}
	if (rv)
		*rv = st->rv;
	pthread_mutex_unlock(&st->lock);
	free(prefix);
	if (remaining)
		*remaining = rem;
	if (rc < 0) {
		free(*next_key);
		*next_key = NULL;
		return -1;
	}
	return (int)count;
}

/* ---- writes ---- */

int sim_store_create(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     cJSON *obj, cJSON **out, struct sim_err *err)
{
	struct pending p = {0};
	struct table *t;
	cJSON *meta;
	const char *name, *gen_name;
	char qual[160], ts[32], uid[40], *key = NULL, namebuf[300];
	size_t pos;
	size_t ri = res_index(res);

	if (out)
		*out = NULL;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		err_set(err, 400, "BadRequest", "the object to create is not a JSON object");
		return -1;
	}
	ns = norm_ns(res, ns);
	res_qual(res, qual, sizeof(qual));
	meta = meta_of(obj);
	name = meta_str(obj, "name");
	gen_name = meta_str(obj, "generateName");
	if (res->namespaced && !ns[0]) {
		cJSON_Delete(obj);
		err_set(err, 400, "BadRequest", "the namespace of the object is missing");
		return -1;
	}
	if ((!name || !name[0]) && (!gen_name || !gen_name[0])) {
		cJSON_Delete(obj);
		err_set(
		    err, 422, "Invalid",
		    "%s.%s \"\" is invalid: metadata.name: Required value: name or generateName "
		    "is required",
		    res->kind, res->group[0] ? res->group : "core");
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	t = &st->tables[ri];
	if (!name || !name[0]) {
		/* generateName: five random characters, retried on the unlikely collision. */
		for (int tries = 0; tries < 8; tries++) {
			char sfx[8];

			random_suffix(sfx, 5);
			snprintf(namebuf, sizeof(namebuf), "%.247s%s", gen_name, sfx);
			free(key);
			key = make_key(ns, namebuf);
			if (!table_find(t, key, NULL))
				break;
		}
		set_str(meta, "name", namebuf);
	} else {
		key = make_key(ns, name);
	}
	name = meta_str(obj, "name");
	if (table_find(t, key, &pos)) {
		pthread_mutex_unlock(&st->lock);
		err_set(err, 409, "AlreadyExists", "%s \"%s\" already exists", qual, name);
		free(key);
		cJSON_Delete(obj);
		return -1;
	}
	st->rv++;
	if (res->namespaced)
		set_str(meta, "namespace", ns);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	wk_uuid_v4(uid);
	set_str(meta, "uid", uid);
	now_rfc3339(ts, sizeof(ts));
	set_str(meta, "creationTimestamp", ts);
	set_num(meta, "generation", 1);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionTimestamp");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionGracePeriodSeconds");
	set_rv(obj, st->rv);
	if (!cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")) {
		char av[96];

		snprintf(av, sizeof(av), "%s%s%s", res->group, res->group[0] ? "/" : "",
			 res->version);
		set_str(obj, "apiVersion", av);
	}
	if (!cJSON_GetObjectItemCaseSensitive(obj, "kind"))
		set_str(obj, "kind", res->kind);
	if (st->pruner)
		st->pruner(st->pruner_opaque, res, obj);
	strip_ids(res, obj);
	table_insert(t, pos, key, obj);
	cache_json(&t->v[pos], record(st, ri, "ADDED", obj, ns, &p));
	if (out)
		*out = cJSON_Duplicate(obj, true);
	pthread_mutex_unlock(&st->lock);
	notify(st, &p);
	return 0;
}

/* Store `next` as the new state of entry `e` (lock held): decides whether anything changed,
 * bumps generation, enforces the finalizer rules, and removes the object when the last finalizer
 * of a deleting object went away. Consumes next. Returns 0 (stored or unchanged) or -1. */
static int commit(struct sim_store *st, size_t ri, size_t pos, cJSON *next, cJSON **out,
		  struct pending *p, struct sim_err *err)
{
	const struct sim_resource *res = &sim_resources[ri];
	struct table *t = &st->tables[ri];
	struct entry *e = &t->v[pos];
	cJSON *old = e->obj, *nmeta = meta_of(next), *ometa = meta_of(old);
	const char *del = meta_str(old, "deletionTimestamp");
	const cJSON *of = cJSON_GetObjectItemCaseSensitive(ometa, "finalizers");
	const cJSON *nf = cJSON_GetObjectItemCaseSensitive(nmeta, "finalizers"), *it;
	char ns[256];
	int64_t gen = meta_int(old, "generation");

	if (del) {
		cJSON_ArrayForEach(it, nf)
		{
			if (cJSON_IsString(it) && !str_in_array(of, it->valuestring)) {
				err_set(
				    err, 422, "Invalid",
				    "%s.%s \"%s\" is invalid: metadata.finalizers: Forbidden: no "
				    "new finalizers can be added if the object is being deleted, "
				    "found new finalizers []string{\"%s\"}",
				    res->kind, res->group[0] ? res->group : "core",
				    meta_str(old, "name"), it->valuestring);
				cJSON_Delete(next);
				return -1;
			}
		}
	}
	/* Server-owned metadata always comes from the stored object. */
	static const char *const keep[] = {"name",
					   "namespace",
					   "uid",
					   "creationTimestamp",
					   "deletionTimestamp",
					   "deletionGracePeriodSeconds",
					   "resourceVersion",
					   "generation"};
	for (size_t i = 0; i < WK_ARRAY_SIZE(keep); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(ometa, keep[i]);

		set_item(nmeta, keep[i], v ? cJSON_Duplicate(v, true) : NULL);
	}
	if (!cJSON_GetObjectItemCaseSensitive(next, "apiVersion"))
		set_item(
		    next, "apiVersion",
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "apiVersion"), true));
	if (!cJSON_GetObjectItemCaseSensitive(next, "kind"))
		set_item(next, "kind",
			 cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "kind"), true));
	if (st->pruner)
		st->pruner(st->pruner_opaque, res, next);
	if (sim_json_equal(old, next)) {
		cJSON_Delete(next);
		if (out)
			*out = cJSON_Duplicate(old, true);
		return 0;
	}
	if (content_differs(res, old, next))
		set_num(nmeta, "generation", (double)(gen + 1));
	st->rv++;
	set_rv(next, st->rv);
	strip_ids(res, next);
	snprintf(ns, sizeof(ns), "%s",
		 meta_str(next, "namespace") ? meta_str(next, "namespace") : "");
	if (del && !has_finalizers(next)) {
		record(st, ri, "DELETED", next, ns, p);
		if (out)
			*out = cJSON_Duplicate(next, true);
		cJSON_Delete(next);
		table_remove(t, pos);
		return 0;
	}
	cJSON_Delete(old);
	e->obj = next;
	cache_json(e, record(st, ri, "MODIFIED", next, ns, p));
	if (out)
		*out = cJSON_Duplicate(next, true);
	return 0;
}

static void not_found(const struct sim_resource *res, const char *name, struct sim_err *err)
{
	char qual[160];

	res_qual(res, qual, sizeof(qual));
	err_set(err, 404, "NotFound", "%s \"%s\" not found", qual, name);
}

int sim_store_update(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, cJSON *obj, bool status_only, cJSON **out,
		     struct sim_err *err)
{
	struct pending p = {0};
	struct entry *e;
	char *key, qual[160];
	const char *rv;
	size_t pos, ri = res_index(res);
	cJSON *next;
	int rc;

	if (out)
		*out = NULL;
	if (!cJSON_IsObject(obj) || !name) {
		cJSON_Delete(obj);
		err_set(err, 400, "BadRequest", "the object to update is not a JSON object");
		return -1;
	}
	key = make_key(norm_ns(res, ns), name);
	pthread_mutex_lock(&st->lock);
	e = table_find(&st->tables[ri], key, &pos);
	free(key);
	if (!e) {
		pthread_mutex_unlock(&st->lock);
		cJSON_Delete(obj);
		not_found(res, name, err);
		return -1;
	}
	rv = meta_str(obj, "resourceVersion");
	if (rv && rv[0] && strcmp(rv, meta_str(e->obj, "resourceVersion"))) {
		pthread_mutex_unlock(&st->lock);
		cJSON_Delete(obj);
		res_qual(res, qual, sizeof(qual));
		err_set(err, 409, "Conflict",
			"Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
			"please apply your changes to the latest version and try again",
			qual, name);
		return -1;
	}
	if (status_only) {
		next = cJSON_Duplicate(e->obj, true);
		set_item(next, "status", cJSON_DetachItemFromObjectCaseSensitive(obj, "status"));
		cJSON_Delete(obj);
	} else {
		next = obj;
		if (res->has_status) {
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(e->obj, "status");

			set_item(next, "status", s ? cJSON_Duplicate(s, true) : NULL);
		}
	}
	rc = commit(st, ri, pos, next, out, &p, err);
	pthread_mutex_unlock(&st->lock);
	notify(st, &p);
	return rc;
}

int sim_store_mutate(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, int (*fn)(cJSON *obj, void *opaque, struct sim_err *err),
		     void *opaque, cJSON **out, struct sim_err *err)
{
	struct pending p = {0};
	struct entry *e;
	char *key;
	size_t pos, ri = res_index(res);
	cJSON *next;
	int rc;

	if (out)
		*out = NULL;
	if (!name)
		return not_found(res, "", err), -1;
	key = make_key(norm_ns(res, ns), name);
	pthread_mutex_lock(&st->lock);
	e = table_find(&st->tables[ri], key, &pos);
	free(key);
	if (!e) {
		pthread_mutex_unlock(&st->lock);
		not_found(res, name, err);
		return -1;
	}
	next = cJSON_Duplicate(e->obj, true);
	rc = fn(next, opaque, err);
	if (rc == 1) {
		if (out)
			*out = cJSON_Duplicate(e->obj, true);
		cJSON_Delete(next);
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	if (rc < 0) {
		cJSON_Delete(next);
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	rc = commit(st, ri, pos, next, out, &p, err);
	pthread_mutex_unlock(&st->lock);
	notify(st, &p);
	return rc;
}

int sim_store_delete(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, cJSON **out, struct sim_err *err)
{
	struct pending p = {0};
	struct entry *e;
	char *key, ts[32];
	size_t pos, ri = res_index(res);
	const char *nsn = norm_ns(res, ns);

	if (out)
		*out = NULL;
	if (!name)
		return not_found(res, "", err), -1;
	key = make_key(nsn, name);
	pthread_mutex_lock(&st->lock);
	e = table_find(&st->tables[ri], key, &pos);
	free(key);
	if (!e) {
		pthread_mutex_unlock(&st->lock);
		not_found(res, name, err);
		return -1;
	}
	if (has_finalizers(e->obj)) {
		if (!meta_str(e->obj, "deletionTimestamp")) {
			cJSON *meta = meta_of(e->obj);

			st->rv++;
			now_rfc3339(ts, sizeof(ts));
			set_str(meta, "deletionTimestamp", ts);
			set_num(meta, "deletionGracePeriodSeconds", 0);
			set_num(meta, "generation", (double)(meta_int(e->obj, "generation") + 1));
			set_rv(e->obj, st->rv);
			strip_ids(res, e->obj);
			cache_json(e, record(st, ri, "MODIFIED", e->obj, nsn, &p));
		}
		if (out)
			*out = cJSON_Duplicate(e->obj, true);
	} else {
		st->rv++;
		set_rv(e->obj, st->rv);
		strip_ids(res, e->obj);
		record(st, ri, "DELETED", e->obj, nsn, &p);
		if (out)
			*out = cJSON_Duplicate(e->obj, true);
		table_remove(&st->tables[ri], pos);
	}
	pthread_mutex_unlock(&st->lock);
	notify(st, &p);
	return 0;
}

/* ---- watch ---- */

int sim_store_events_since(struct sim_store *st, const struct sim_resource *res, const char *ns,
			   uint64_t since, struct sim_watch_event *out, size_t max,
			   struct sim_err *err)
{
	size_t ri = res_index(res), n = 0;
	const char *nsn = ns && res->namespaced ? ns : NULL;

	pthread_mutex_lock(&st->lock);
	if (since < st->compacted) {
		uint64_t c = st->compacted;

		pthread_mutex_unlock(&st->lock);
		err_set(err, 410, "Expired", "too old resource version: %llu (%llu)",
			(unsigned long long)since, (unsigned long long)c);
		return -1;
	}
	/* Binary search would do too; a linear scan from the newest end stops early. */
	size_t first = st->hist_len;
	while (first > 0 && st->hist[(st->hist_head + first - 1) % st->hist_cap].rv > since)
		first--;
	for (size_t i = first; i < st->hist_len && n < max; i++) {
		struct hist_event *e = &st->hist[(st->hist_head + i) % st->hist_cap];
		cJSON *obj;

		if (e->res != ri || (nsn && strcmp(e->ns, nsn)))
			continue;
		obj = cJSON_Parse(e->json);
		if (!obj)
			continue;
		out[n].type = e->type;
		out[n].object = obj;
		out[n].rv = e->rv;
		n++;
	}
	pthread_mutex_unlock(&st->lock);
	return (int)n;
}

uint64_t sim_store_oldest_rv(struct sim_store *st)
{
	uint64_t c;

	pthread_mutex_lock(&st->lock);
	c = st->compacted;
	pthread_mutex_unlock(&st->lock);
	return c;
}

uint64_t sim_store_wait(struct sim_store *st, uint64_t rv, int timeout_ms)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->lock);
	while (st->rv <= rv) {
		if (pthread_cond_timedwait(&st->changed, &st->lock, &ts) == ETIMEDOUT)
			break;
	}
	now = st->rv;
	pthread_mutex_unlock(&st->lock);
	return now;
}
