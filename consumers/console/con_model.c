/* con_model.c - the console's view: messages in, JSON out (pure). */
#include "con_model.h"

#include "wk_chart.h"
#include "wk_json.h"
#include "wk_log.h"
#include "wk_map.h"
#include "wk_quantity.h"
#include "wk_time.h"
#include "wk_types.h"
#include "wk_utf8.h"

#include <cjson/cJSON.h>
#include <math.h>

#define VALUE_MAX (1024 * 1024)
#define STR_MAX 1024 /* longest string copied into the view (messages are cut here) */
#define ID_MAX 600

struct ent {
	cJSON *o;
	bool dirty;
	bool pt_new;	  /* a convergence point was added since the last delta */
	int64_t final_ms; /* when it became final; 0 = in flight */
	struct wk_conv *conv;
};

struct drain {
	struct wk_timeline tl;
	bool dirty;
	int64_t touched_ms;
	uint64_t order; /* creation order, the oldest finished one goes first past the cap */
};

struct con_model {
	struct con_limits lim;
	struct wk_map clusters, nodes, vms, ops, drains; /* struct ent / struct drain */
	cJSON *gone;   /* {"nodes":[],"vms":[],"ops":[],"drains":[]} */
	cJSON **audit; /* ring of records */
	size_t audit_head, audit_n;
	uint64_t seq, drain_order;
	uint64_t applied, ignored, malformed;
};

static void ent_free(void *p)
{
	struct ent *e = p;

	if (!e)
		return;
	cJSON_Delete(e->o);
	if (e->conv) {
		wk_conv_release(e->conv);
		free(e->conv);
	}
	free(e);
}

static void drain_free(void *p)
{
	struct drain *d = p;

	if (!d)
		return;
	wk_timeline_release(&d->tl);
	free(d);
}

void con_limits_default(struct con_limits *l)
{
	l->nodes = 10000;
	l->vms = 200000;
	l->ops = 20000;
	l->drains = 256;
	l->audit = 20000;
	l->conv_points = 600;
	l->keep_finished_ms = 600000;
}

static cJSON *gone_new(void)
{
	cJSON *g = cJSON_CreateObject();

	cJSON_AddArrayToObject(g, "nodes");
	cJSON_AddArrayToObject(g, "vms");
	cJSON_AddArrayToObject(g, "ops");
	cJSON_AddArrayToObject(g, "drains");
	return g;
}

struct con_model *con_model_new(const struct con_limits *l)
{
	struct con_model *m = wk_xcalloc(1, sizeof(*m));

	if (l)
		m->lim = *l;
	else
		con_limits_default(&m->lim);
	if (m->lim.audit < 1)
		m->lim.audit = 1;
	wk_map_init(&m->clusters, ent_free);
	wk_map_init(&m->nodes, ent_free);
	wk_map_init(&m->vms, ent_free);
	wk_map_init(&m->ops, ent_free);
	wk_map_init(&m->drains, drain_free);
	m->gone = gone_new();
	m->audit = wk_xcalloc(m->lim.audit, sizeof(*m->audit));
	return m;
}

void con_model_destroy(struct con_model *m)
{
	if (!m)
		return;
	wk_map_release(&m->clusters);
	wk_map_release(&m->nodes);
	wk_map_release(&m->vms);
	wk_map_release(&m->ops);
	wk_map_release(&m->drains);
	cJSON_Delete(m->gone);
	for (size_t i = 0; i < m->lim.audit; i++)
		cJSON_Delete(m->audit[i]);
	free(m->audit);
	free(m);
}

/* ---- small helpers ---- */

/* A string fit for the view: valid UTF-8, no control bytes other than tab/newline, cut at
 * STR_MAX on a character boundary. NULL for anything else. */
static const char *clean(const char *s, char *buf, size_t buf_size)
{
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	if (len >= buf_size)
		len = buf_size - 1;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	if (!wk_utf8_valid(s, len))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
			return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	char buf[STR_MAX];
	const char *c = clean(v, buf, sizeof(buf));

	if (!c)
		return;
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateString(c));
	else
		cJSON_AddStringToObject(o, k, c);
}

static void set_num(cJSON *o, const char *k, double v)
{
	if (!isfinite(v))
		return;
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateNumber(v));
	else
		cJSON_AddNumberToObject(o, k, v);
}

static void set_bool(cJSON *o, const char *k, bool v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateBool(v));
	else
		cJSON_AddBoolToObject(o, k, v);
}

static void set_null(cJSON *o, const char *k)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateNull());
	else
		cJSON_AddNullToObject(o, k);
}

static const char *ostr(const cJSON *o, const char *k)
{
	return wk_json_str(o, k);
}

/* A string member of the view, "" when absent. */
static const char *sget(const cJSON *o, const char *k)
{
	const char *s = wk_json_str(o, k);

	return s ? s : "";
}

/* Copy numbers / strings / booleans named in keys from src into dst under the same names. */
static void copy_fields(cJSON *dst, const cJSON *src, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, keys[i]);

		if (cJSON_IsNumber(v) && v->valuedouble >= 0)
			set_num(dst, keys[i], v->valuedouble);
		else if (cJSON_IsString(v))
			set_str(dst, keys[i], v->valuestring);
		else if (cJSON_IsBool(v))
			set_bool(dst, keys[i], cJSON_IsTrue(v));
		else if (cJSON_IsNull(v))
			set_null(dst, keys[i]);
	}
}

static bool final_phase(const char *p)
{
	return p && (!strcmp(p, "Succeeded") || !strcmp(p, "Failed") || !strcmp(p, "Cancelled") ||
		     !strcmp(p, "Rejected") || !strcmp(p, "Completed") || !strcmp(p, "Aborted"));
}

static bool id_ok(const char *s)
{
	return s && *s && strlen(s) < 254 && wk_utf8_valid(s, strlen(s)) && !strchr(s, '\n');
}

static void gone_add(struct con_model *m, const char *what, const char *id)
{
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(m->gone, what),
			     cJSON_CreateString(id));
}

/* The entity id in map, created (with "id" and the given fields) when absent and room is left. */
static struct ent *ent_get(struct wk_map *map, size_t cap, const char *id)
{
	struct ent *e = wk_map_get(map, id);

	if (e)
		return e;
	if (wk_map_count(map) >= cap)
		return NULL;
	e = wk_xcalloc(1, sizeof(*e));
	e->o = cJSON_CreateObject();
	cJSON_AddStringToObject(e->o, "id", id);
	wk_map_put(map, id, e);
	return e;
}

static void ent_drop(struct con_model *m, struct wk_map *map, const char *what, const char *id)
{
	if (wk_map_get(map, id)) {
		wk_map_del(map, id);
		gone_add(m, what, id);
	}
}

static void touch_cluster(struct con_model *m, const char *cluster, int64_t t)
{
	struct ent *e;

	if (!id_ok(cluster) || strlen(cluster) > 63)
		return;
	e = ent_get(&m->clusters, 1024, cluster);
	if (!e)
		return;
	if (!cJSON_GetObjectItemCaseSensitive(e->o, "name")) {
		set_str(e->o, "name", cluster);
		e->dirty = true;
	}
	(void)t;
}

/* ---- wukong.events ---- */

static int64_t qty(const char *s)
{
	int64_t v = 0;
	char err[64];

	if (!s || wk_quantity_parse(s, &v, err, sizeof(err)) < 0)
		return -1;
	return v;
}

static int64_t qty_milli(const char *s)
{
	int64_t v = 0;
	char err[64];

	if (!s || wk_quantity_parse_milli(s, &v, err, sizeof(err)) < 0)
		return -1;
	return v;
}

static int apply_node(struct con_model *m, const cJSON *b, const char *cluster, int64_t t)
{
	const char *name = ostr(b, "name"), *change = ostr(b, "change");
	const cJSON *conds, *c;
	char id[ID_MAX];
	struct ent *e;
	int64_t v;
	const char *ready = NULL;

	if (!id_ok(name))
		return -1;
	snprintf(id, sizeof(id), "%s/%s", cluster, name);
	if (change && !strcmp(change, "deleted")) {
		ent_drop(m, &m->nodes, "nodes", id);
		return 1;
	}
	e = ent_get(&m->nodes, m->lim.nodes, id);
	if (!e)
		return 0;
	set_str(e->o, "cluster", cluster);
	set_str(e->o, "name", name);
	if ((v = qty_milli(wk_json_str(b, "status.allocatable.cpu"))) >= 0)
		set_num(e->o, "cpuMilli", (double)v);
	if ((v = qty(wk_json_str(b, "status.allocatable.memory"))) >= 0)
		set_num(e->o, "memoryBytes", (double)v);
	set_bool(e->o, "unschedulable", cJSON_IsTrue(wk_json_path(b, "spec.unschedulable")));
	conds = wk_json_path(b, "status.conditions");
	cJSON_ArrayForEach(c, conds)
	{
		const char *type = ostr(c, "type");

		if (type && !strcmp(type, "Ready"))
			ready = ostr(c, "status");
	}
	set_bool(e->o, "ready", !ready || !strcmp(ready, "True"));
	set_num(e->o, "taints", (double)cJSON_GetArraySize(wk_json_path(b, "spec.taints")));
	set_num(e->o, "updatedMs", (double)t);
	e->dirty = true;
	return 1;
}

static int apply_nodemetrics(struct con_model *m, const cJSON *b, const char *cluster)
{
	const char *name = ostr(b, "name");
	char id[ID_MAX];
	struct ent *e;
	int64_t v;

	if (!id_ok(name))
		return -1;
	snprintf(id, sizeof(id), "%s/%s", cluster, name);
	e = wk_map_get(&m->nodes, id);
	if (!e)
		return 0;
	if ((v = qty_milli(wk_json_str(b, "usage.cpu"))) >= 0)
		set_num(e->o, "usageCpuMilli", (double)v);
	if ((v = qty(wk_json_str(b, "usage.memory"))) >= 0)
		set_num(e->o, "usageMemoryBytes", (double)v);
	e->dirty = true;
	return 1;
}

static int apply_vmi(struct con_model *m, const cJSON *b, const char *cluster, int64_t t)
{
	const char *ns = ostr(b, "namespace"), *name = ostr(b, "name"), *change = ostr(b, "change");
	const char *wk;
	char id[ID_MAX], wname[300];
	struct ent *e;
	int64_t mem;
	double cpu;

	if (!id_ok(ns) || !id_ok(name))
		return -1;
	snprintf(id, sizeof(id), "%s/%s/%s", cluster, ns, name);
	if (change && !strcmp(change, "deleted")) {
		ent_drop(m, &m->vms, "vms", id);
		return 1;
	}
	e = ent_get(&m->vms, m->lim.vms, id);
	if (!e)
		return 0;
	set_str(e->o, "cluster", cluster);
	set_str(e->o, "namespace", ns);
	set_str(e->o, "name", name);
	wk = cJSON_GetObjectItemCaseSensitive(b, "labels")
		 ? wk_json_key_str(cJSON_GetObjectItemCaseSensitive(b, "labels"), WK_LABEL_WUKONG)
		 : NULL;
	if (!wk) {
		size_t n = strlen(name);

		snprintf(wname, sizeof(wname), "%s", name);
		if (n > 3 && !strcmp(name + n - 3, "-vm"))
			wname[n - 3] = '\0';
		wk = wname;
	}
	set_str(e->o, "wukong", wk);
	if (wk_json_str(b, "status.nodeName"))
		set_str(e->o, "node", wk_json_str(b, "status.nodeName"));
	if (wk_json_str(b, "status.phase"))
		set_str(e->o, "phase", wk_json_str(b, "status.phase"));
	mem = qty(wk_json_str(b, "spec.domain.memory.guest"));
	if (mem < 0)
		mem = qty(wk_json_str(b, "spec.domain.resources.requests.memory"));
	if (mem >= 0)
		set_num(e->o, "memoryBytes", (double)mem);
	cpu = wk_json_num(b, "spec.domain.cpu.cores", 1) *
	      wk_json_num(b, "spec.domain.cpu.sockets", 1) *
	      wk_json_num(b, "spec.domain.cpu.threads", 1);
	if (cpu >= 1 && cpu < 100000)
		set_num(e->o, "cpus", cpu);
	set_num(e->o, "updatedMs", (double)t);
	e->dirty = true;
	return 1;
}

static int apply_event(struct con_model *m, const char *ce_type, const cJSON *b, int64_t t)
{
	const char *kind = ostr(b, "kind"), *cluster = ostr(b, "cluster");

	if (ce_type && !strcmp(ce_type, WK_CE_CLUSTER_HEARTBEAT)) {
		touch_cluster(m, cluster ? cluster : ostr(b, "id"), t);
		return 1;
	}
	if (!kind || !cluster || !id_ok(cluster))
		return kind ? -1 : 0;
	touch_cluster(m, cluster, t);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "truncated")))
		return 0;
	if (!strcasecmp(kind, "Node"))
		return apply_node(m, b, cluster, t);
	if (!strcasecmp(kind, "NodeMetrics"))
		return apply_nodemetrics(m, b, cluster);
	if (!strcasecmp(kind, "VirtualMachineInstance"))
		return apply_vmi(m, b, cluster, t);
	return 0;
}

/* ---- operations ---- */

static const char *const op_num_keys[] = {"percent",
					  "queuePosition",
					  "dataProcessedBytes",
					  "dataRemainingBytes",
					  "dataTotalBytes",
					  "transferRateBytesPerSecond",
					  "dirtyRateBytesPerSecond",
					  "etaSeconds",
					  "converging",
					  "downtimeSeconds",
					  NULL};
static const char *const op_str_keys[] = {"phase",	 "sourceNode",	"targetNode",
					  "mode",	 "message",	"startedAt",
					  "completedAt", "consistency", NULL};

/* The operation of kind ("mig" or "clone") on cluster/ns/name for request rid: NULL when the
 * update is stale (another request's final state over one in flight) or there is no room. */
static struct ent *op_for(struct con_model *m, const char *kind, const char *cluster,
			  const char *ns, const char *name, const char *rid, const char *phase,
			  int64_t t)
{
	char id[ID_MAX];
	struct ent *e;
	const char *cur;

	snprintf(id, sizeof(id), "%s:%s/%s/%s", kind, cluster, ns, name);
	e = wk_map_get(&m->ops, id);
	if (e) {
		cur = ostr(e->o, "requestId");
		if (rid && cur && strcmp(rid, cur)) {
			if (!e->final_ms && final_phase(phase))
				return NULL;	 /* a late final of an older request */
			wk_map_del(&m->ops, id); /* a new request on the same VM */
			e = NULL;
		}
	}
	if (!e) {
		if (!phase && !rid)
			return NULL; /* bare progress without any operation known */
		e = ent_get(&m->ops, m->lim.ops, id);
		if (!e)
			return NULL;
		set_str(e->o, "kind", !strcmp(kind, "mig") ? "migration" : "clone");
		set_str(e->o, "cluster", cluster);
		set_str(e->o, "namespace", ns);
		set_str(e->o, "name", name);
		set_num(e->o, "createdMs", (double)t);
	}
	if (rid)
		set_str(e->o, "requestId", rid);
	return e;
}

static void op_update(struct con_model *m, struct ent *e, const cJSON *src, int64_t t)
{
	const char *phase = ostr(src, "phase"), *msg = ostr(src, "message"), *mode;
	const cJSON *pct = cJSON_GetObjectItemCaseSensitive(src, "percent");
	double old = wk_json_num(e->o, "percent", -1);
	int pc = 0, pn = 0;

	if (!pct)
		pct = cJSON_GetObjectItemCaseSensitive(src, "progress");
	copy_fields(e->o, src, op_num_keys);
	copy_fields(e->o, src, op_str_keys);
	/* The percentage never goes back within one request. */
	if (cJSON_IsNumber(pct) && pct->valuedouble >= 0 && pct->valuedouble <= 100)
		set_num(e->o, "percent", fmax(old, pct->valuedouble));
	else if (old >= 0)
		set_num(e->o, "percent", old);
	mode = ostr(e->o, "mode");
	if (mode && !strcmp(mode, "Cold") && !strcmp(sget(e->o, "kind"), "migration"))
		set_str(e->o, "kind", "cold");
	if (msg && con_parse_limits(msg, &pc, &pn) == 0) {
		set_num(e->o, "limitPerCluster", pc);
		set_num(e->o, "limitPerNode", pn);
	}
	if (phase && strcmp(phase, "Queued"))
		set_null(e->o, "queuePosition");
	if (final_phase(phase) && !e->final_ms)
		e->final_ms = t;
	else if (phase && !final_phase(phase))
		e->final_ms = 0;
	set_bool(e->o, "final", e->final_ms != 0);
	set_num(e->o, "updatedMs", (double)t);
	if (cJSON_GetObjectItemCaseSensitive(src, "dataRemainingBytes")) {
		if (!e->conv) {
			e->conv = wk_xcalloc(1, sizeof(*e->conv));
			wk_conv_init(e->conv, m->lim.conv_points);
		}
		if (wk_conv_add_json(e->conv, src, t) > 0) {
			e->pt_new = true;
			set_bool(e->o, "stalled", wk_conv_stalled(e->conv, 4));
		}
	}
	e->dirty = true;
}

static int apply_status(struct con_model *m, const cJSON *b, int64_t t)
{
	const char *cluster = ostr(b, "cluster"), *ns = ostr(b, "namespace"),
		   *name = ostr(b, "name");
	const cJSON *ms = wk_json_path(b, "status.migrationStatus");
	const cJSON *cs = wk_json_path(b, "status.cloneStatus");
	int rc = 0;

	if (!id_ok(cluster) || !id_ok(ns) || !id_ok(name))
		return -1;
	touch_cluster(m, cluster, t);
	if (cJSON_IsObject(ms)) {
		struct ent *e = op_for(m, "mig", cluster, ns, name, ostr(ms, "requestId"),
				       ostr(ms, "phase"), t);

		if (e) {
			op_update(m, e, ms, t);
			rc = 1;
		}
	}
	if (cJSON_IsObject(cs)) {
		struct ent *e = op_for(m, "clone", cluster, ns, name, ostr(cs, "requestId"),
				       ostr(cs, "phase"), t);

		if (e) {
			op_update(m, e, cs, t);
			set_str(e->o, "sourceNode", wk_json_str(cs, "source.name"));
			rc = 1;
		}
	}
	return rc;
}

static struct drain *drain_get(struct con_model *m, const char *id, int64_t t)
{
	struct drain *d = wk_map_get(&m->drains, id);

	if (d)
		return d;
	if (!id_ok(id) || strlen(id) > 63)
		return NULL;
	if (wk_map_count(&m->drains) >= m->lim.drains) {
		/* Room for a new one: the oldest finished drain leaves. */
		const char *victim = NULL;
		uint64_t best = UINT64_MAX;

		WK_MAP_EACH(it, &m->drains)
		{
			struct drain *x = it.val;

			if (x->tl.end_ms && x->order < best) {
				best = x->order;
				victim = it.key;
			}
		}
		if (!victim)
			return NULL;
		gone_add(m, "drains", victim);
		wk_map_del(&m->drains, victim);
	}
	d = wk_xcalloc(1, sizeof(*d));
	wk_timeline_init(&d->tl, id);
	d->order = ++m->drain_order;
	d->touched_ms = t;
	wk_map_put(&m->drains, id, d);
	return d;
}

static int apply_progress(struct con_model *m, const cJSON *b, int64_t t)
{
	const char *type = ostr(b, "type"), *cluster = ostr(b, "cluster");
	const char *ns = ostr(b, "namespace"), *name = ostr(b, "name");

	if (!type || !id_ok(cluster))
		return -1;
	touch_cluster(m, cluster, t);
	if (!strcmp(type, "migration") || !strcmp(type, "clone")) {
		const char *kind = !strcmp(type, "migration") ? "mig" : "clone";
		struct ent *e;

		if (!id_ok(ns) || !id_ok(name))
			return -1;
		e = op_for(m, kind, cluster, ns, name, ostr(b, "requestId"), ostr(b, "phase"), t);
		if (!e)
			return 0;
		op_update(m, e, b, t);
		return 1;
	}
	if (!strcmp(type, "evacuation")) {
		const char *eid = ostr(b, "evacuationId"), *node = ostr(b, "node");
		char id[ID_MAX];
		struct ent *e;

		if (eid) {
			struct drain *d = drain_get(m, eid, t);

			if (!d)
				return 0;
			if (wk_timeline_report(&d->tl, b, t) < 0)
				return -1;
			d->dirty = true;
			d->touched_ms = t;
			return 1;
		}
		if (!id_ok(node))
			return -1;
		snprintf(id, sizeof(id), "%s/%s", cluster, node);
		e = wk_map_get(&m->nodes, id);
		if (!e)
			return 0;
		copy_fields(e->o, b,
			    (const char *const[]){"vmsLeft", "migrating", "bytesLeft", "etaSeconds",
						  "draining", NULL});
		e->dirty = true;
		return 1;
	}
	if (!strcmp(type, "cluster")) {
		struct ent *e = wk_map_get(&m->clusters, cluster);

		if (!e)
			return 0;
		copy_fields(e->o, b,
			    (const char *const[]){"running", "queued", "failedLastHour",
						  "succeededLastHour", NULL});
		e->dirty = true;
		return 1;
	}
	return 0;
}

/* ---- audit ---- */

/* "<kind>/<ns>/<name>" or "<kind>/<name>" into the parts (empty when absent). */
static void split_subject(const char *s, char *kind, char *ns, char *name, size_t n)
{
	const char *a, *b2;

	kind[0] = ns[0] = name[0] = '\0';
	if (!s || !(a = strchr(s, '/')))
		return;
	snprintf(kind, n, "%.*s", (int)(a - s), s);
	b2 = strchr(a + 1, '/');
	if (b2) {
		snprintf(ns, n, "%.*s", (int)(b2 - a - 1), a + 1);
		snprintf(name, n, "%s", b2 + 1);
	} else {
		snprintf(name, n, "%s", a + 1);
	}
}

static int apply_audit(struct con_model *m, const cJSON *b, const char *ce_subject, int64_t t)
{
	const char *action = ostr(b, "action"), *outcome = ostr(b, "outcome");
	const char *rid = ostr(b, "requestId"), *cluster = ostr(b, "cluster");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(b, "object");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(b, "details");
	char kind[256], ns[256], name[256];
	const char *node = NULL;
	cJSON *r;
	size_t slot;
	int rc = 1;

	if (!action || !outcome || !ostr(b, "actor"))
		return -1;
	split_subject(ce_subject, kind, ns, name, sizeof(kind));
	if (cJSON_IsObject(obj)) {
		if (ostr(obj, "kind"))
			snprintf(kind, sizeof(kind), "%s", ostr(obj, "kind"));
		if (ostr(obj, "namespace"))
			snprintf(ns, sizeof(ns), "%s", ostr(obj, "namespace"));
		if (ostr(obj, "name"))
			snprintf(name, sizeof(name), "%s", ostr(obj, "name"));
	}
	if (!strcmp(kind, "Node"))
		node = name;
	else if (ostr(details, "sourceNode"))
		node = ostr(details, "sourceNode");
	else if (ostr(details, "node"))
		node = ostr(details, "node");
	r = cJSON_CreateObject();
	set_num(r, "timeMs", (double)t);
	set_str(r, "cluster", cluster ? cluster : "");
	set_str(r, "kind", kind);
	set_str(r, "namespace", ns);
	set_str(r, "name", name);
	set_str(r, "requestId", rid ? rid : "");
	set_str(r, "action", action);
	set_str(r, "outcome", outcome);
	set_str(r, "reason", ostr(b, "reason") ? ostr(b, "reason") : "");
	set_str(r, "message", ostr(b, "message") ? ostr(b, "message") : "");
	set_str(r, "actor", ostr(b, "actor"));
	set_str(r, "node", node ? node : "");
	set_str(r, "targetNode", ostr(details, "targetNode") ? ostr(details, "targetNode") : "");
	slot = (m->audit_head + m->audit_n) % m->lim.audit;
	if (m->audit_n == m->lim.audit) {
		cJSON_Delete(m->audit[m->audit_head]);
		m->audit_head = (m->audit_head + 1) % m->lim.audit;
		slot = (m->audit_head + m->audit_n - 1) % m->lim.audit;
	} else {
		m->audit_n++;
	}
	m->audit[slot] = r;
	if (cluster)
		touch_cluster(m, cluster, t);

	/* Evacuations: the plan, the start, the end (wk_timeline_audit decides). */
	if (rid && (!strncmp(action, "drain.", 6) || !strncmp(action, "evacuation.", 11) ||
		    !strncmp(action, "pressure.", 9))) {
		const char *verb = strchr(action, '.') + 1;

		if (!strcmp(verb, "planned") || !strcmp(verb, "started") ||
		    !strcmp(verb, "completed")) {
			struct drain *d = drain_get(m, rid, t);

			if (d && wk_timeline_audit(&d->tl, b, t) > 0) {
				if (!d->tl.node[0] && node)
					snprintf(d->tl.node, sizeof(d->tl.node), "%.*s", (int)sizeof(d->tl.node) - 1, node);
				d->dirty = true;
			}
		}
	}
	return rc;
}

/* ---- entry ---- */

int con_model_apply(struct con_model *m, enum con_topic topic, const char *key, const char *ce_type,
		    const char *ce_subject, int64_t time_ms, const char *value, size_t len,
		    char *errstr, size_t errstr_size)
{
	cJSON *b;
	int rc;

	(void)key;
	if (!value || len == 0 || len > VALUE_MAX) {
		m->malformed++;
		return wk_err(errstr, errstr_size, "value is empty or over %d bytes", VALUE_MAX);
	}
	b = cJSON_ParseWithLength(value, len);
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		m->malformed++;
		return wk_err(errstr, errstr_size, "value is not a JSON object");
	}
	switch (topic) {
	case CON_EVENTS:
		rc = apply_event(m, ce_type, b, time_ms);
		break;
	case CON_STATUS:
		rc = apply_status(m, b, time_ms);
		break;
	case CON_PROGRESS:
		rc = apply_progress(m, b, time_ms);
		break;
	case CON_AUDIT:
		rc = apply_audit(m, b, ce_subject, time_ms);
		break;
	default:
		rc = 0;
	}
	cJSON_Delete(b);
	if (rc < 0) {
		m->malformed++;
		return wk_err(errstr, errstr_size, "message misses the fields its kind needs");
	}
	if (rc == 0)
		m->ignored++;
	else
		m->applied++;
	return rc;
}

void con_model_expire(struct con_model *m, int64_t now_ms)
{
	WK_MAP_EACH(it, &m->ops)
	{
		struct ent *e = it.val;

		if (e->final_ms && now_ms - e->final_ms > m->lim.keep_finished_ms) {
			gone_add(m, "ops", it.key);
			wk_map_del(&m->ops, it.key);
		}
	}
}

/* ---- output ---- */

static void ops_pt(cJSON *o, const struct ent *e)
{
	const struct wk_conv_pt *p = &e->conv->p[e->conv->n - 1];
	cJSON *a = cJSON_CreateArray();

	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)p->t_ms));
	cJSON_AddItemToArray(a, p->remaining >= 0 ? cJSON_CreateNumber(p->remaining)
						  : cJSON_CreateNull());
	cJSON_AddItemToArray(a, p->transfer >= 0 ? cJSON_CreateNumber(p->transfer)
						 : cJSON_CreateNull());
	cJSON_AddItemToArray(a, p->dirty >= 0 ? cJSON_CreateNumber(p->dirty) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "pt", a);
}

static void add_ents(cJSON *root, const char *k, struct wk_map *map, bool only_dirty, bool pts)
{
	cJSON *a = cJSON_AddArrayToObject(root, k);

	WK_MAP_EACH(it, map)
	{
		struct ent *e = it.val;
		cJSON *copy;

		if (only_dirty && !e->dirty)
			continue;
		copy = cJSON_Duplicate(e->o, true);
		if (pts && e->pt_new && e->conv && e->conv->n)
			ops_pt(copy, e);
		if (e->conv)
			cJSON_AddNumberToObject(copy, "points", (double)e->conv->n);
		cJSON_AddItemToArray(a, copy);
		if (only_dirty) {
			e->dirty = false;
			e->pt_new = false;
		}
	}
}

static cJSON *drain_summary(const struct drain *d)
{
	return wk_timeline_json(&d->tl);
}

static void add_drains(cJSON *root, struct con_model *m, bool only_dirty)
{
	cJSON *a = cJSON_AddArrayToObject(root, "drains");

	WK_MAP_EACH(it, &m->drains)
	{
		struct drain *d = it.val;

		if (only_dirty && !d->dirty)
			continue;
		cJSON_AddItemToArray(a, drain_summary(d));
		if (only_dirty)
			d->dirty = false;
	}
}

static char *print_free(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!s)
		WK_BUG("cannot print the console's view");
	return s;
}

char *con_model_snapshot(struct con_model *m, int64_t now_ms)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddNumberToObject(o, "now", (double)now_ms);
	add_ents(o, "clusters", &m->clusters, false, false);
	add_ents(o, "nodes", &m->nodes, false, false);
	add_ents(o, "vms", &m->vms, false, false);
	add_ents(o, "ops", &m->ops, false, false);
	add_drains(o, m, false);
	return print_free(o);
}

static bool any_dirty(struct wk_map *map)
{
	WK_MAP_EACH(it, map)
	if (((struct ent *)it.val)->dirty)
		return true;
	return false;
}

char *con_model_delta(struct con_model *m, int64_t now_ms)
{
	bool changed = any_dirty(&m->clusters) || any_dirty(&m->nodes) || any_dirty(&m->vms) ||
		       any_dirty(&m->ops);
	cJSON *o, *g;

	WK_MAP_EACH(it, &m->drains)
	if (((struct drain *)it.val)->dirty)
		changed = true;
	g = m->gone;
	for (cJSON *x = g->child; x; x = x->next)
		if (cJSON_GetArraySize(x) > 0)
			changed = true;
	if (!changed)
		return NULL;
	m->seq++;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddNumberToObject(o, "now", (double)now_ms);
	add_ents(o, "clusters", &m->clusters, true, false);
	add_ents(o, "nodes", &m->nodes, true, false);
	add_ents(o, "vms", &m->vms, true, false);
	add_ents(o, "ops", &m->ops, true, true);
	add_drains(o, m, true);
	cJSON_AddItemToObject(o, "gone", m->gone);
	m->gone = gone_new();
	return print_free(o);
}

uint64_t con_model_seq(const struct con_model *m)
{
	return m->seq;
}

char *con_model_drain_json(struct con_model *m, const char *id)
{
	struct drain *d = id ? wk_map_get(&m->drains, id) : NULL;

	return d ? print_free(drain_summary(d)) : NULL;
}

char *con_model_drain_svg(struct con_model *m, const char *id, int64_t now_ms)
{
	struct drain *d = id ? wk_map_get(&m->drains, id) : NULL;
	struct wk_buf b;

	if (!d)
		return NULL;
	wk_buf_init(&b, 8 * 1024 * 1024);
	if (wk_timeline_svg(&d->tl, now_ms, &b) < 0) {
		wk_buf_release(&b);
		return NULL;
	}
	return wk_buf_take(&b, NULL);
}

char *con_model_conv_json(struct con_model *m, const char *op_id)
{
	struct ent *e = op_id ? wk_map_get(&m->ops, op_id) : NULL;
	cJSON *o;

	if (!e)
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", op_id);
	cJSON_AddItemToObject(o, "op", cJSON_Duplicate(e->o, true));
	cJSON_AddItemToObject(o, "points", e->conv ? wk_conv_json(e->conv) : cJSON_CreateArray());
	return print_free(o);
}

static bool has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

static bool audit_match(const cJSON *r, const struct con_audit_query *q)
{
	int64_t t = (int64_t)wk_json_num(r, "timeMs", 0);

	if (q->since_ms && t < q->since_ms)
		return false;
	if (q->until_ms && t > q->until_ms)
		return false;
	if (q->outcome && *q->outcome && strcmp(sget(r, "outcome"), q->outcome))
		return false;
	if (q->request && *q->request) {
		const char *rid = sget(r, "requestId");
		size_t n = strlen(q->request);

		/* A drain's VMs carry "<drain id>-<10 hex>". */
		if (strcmp(rid, q->request) && !(has_prefix(rid, q->request) && rid[n] == '-'))
			return false;
	}
	if (q->node && *q->node && strcmp(sget(r, "node"), q->node) &&
	    strcmp(sget(r, "targetNode"), q->node))
		return false;
	if (q->vm && *q->vm) {
		const char *slash = strchr(q->vm, '/'), *name = slash ? slash + 1 : q->vm;
		const char *rn = sget(r, "name");
		size_t n = strlen(name);

		if (!strcmp(sget(r, "kind"), "Node"))
			return false;
		if (slash && strncmp(sget(r, "namespace"), q->vm, (size_t)(slash - q->vm)))
			return false;
		if (slash && sget(r, "namespace")[slash - q->vm] != '\0')
			return false;
		/* The Wukong or its VirtualMachine (<name>-vm). */
		if (strcmp(rn, name) && !(has_prefix(rn, name) && !strcmp(rn + n, "-vm")))
			return false;
	}
	return true;
}

char *con_model_audit_search(struct con_model *m, const struct con_audit_query *q)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t limit = q->limit ? (q->limit > 1000 ? 1000 : q->limit) : 200, total = 0;

	a = cJSON_AddArrayToObject(o, "records");
	for (size_t i = m->audit_n; i-- > 0;) {
		const cJSON *r = m->audit[(m->audit_head + i) % m->lim.audit];

		if (!audit_match(r, q))
			continue;
		if (total++ < limit)
			cJSON_AddItemToArray(a, cJSON_Duplicate(r, true));
	}
	cJSON_AddNumberToObject(o, "total", (double)total);
	return print_free(o);
}

void con_model_stats(const struct con_model *m, struct con_stats *out)
{
	out->applied = m->applied;
	out->ignored = m->ignored;
	out->malformed = m->malformed;
	out->nodes = wk_map_count(&m->nodes);
	out->vms = wk_map_count(&m->vms);
	out->ops = wk_map_count(&m->ops);
	out->drains = wk_map_count(&m->drains);
	out->audit = m->audit_n;
}

int con_parse_limits(const char *msg, int *per_cluster, int *per_node)
{
	const char *p = msg ? strstr(msg, "(limits: ") : NULL;
	int a, b, used = 0;

	if (!p ||
	    sscanf(p, "(limits: %d per cluster, %d outbound per node)%n", &a, &b, &used) != 2 ||
	    used == 0 || a < 0 || b < 0)
		return -1;
	*per_cluster = a;
	*per_node = b;
	return 0;
}
