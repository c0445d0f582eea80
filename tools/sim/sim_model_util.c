/* sim_model_util.c - the helpers every model file uses (sim_model_int.h): the string map, the
 * seeded generator and timestamps, JSON edits, conditions, store writes and Events. It calls none
 * of the model's other files. */
#include "sim_model_int.h"

#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <stdarg.h>

/* ---- randomness and time ---- */

uint64_t sim_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double sim_rand(struct sim_model *m)
{
	return (double)(sim_splitmix(&m->rng) >> 11) / 9007199254740992.0;
}

void sim_ts(struct sim_model *m, double at, char *out, size_t n)
{
	wk_time_format(m->epoch_ms + (int64_t)(at * 1000.0), out, n);
}

/* ---- JSON helpers ---- */

cJSON *sim_jobj(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (cJSON_IsObject(o))
		return o;
	if (o)
		cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
	return cJSON_AddObjectToObject(parent, key);
}

void sim_jset(cJSON *parent, const char *key, cJSON *val)
{
	if (cJSON_GetObjectItemCaseSensitive(parent, key))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, key, val);
	else
		cJSON_AddItemToObject(parent, key, val);
}

void sim_jset_str(cJSON *parent, const char *key, const char *val)
{
	sim_jset(parent, key, cJSON_CreateString(val));
}

int64_t sim_jqty(const cJSON *v)
{
	int64_t q;
	if (cJSON_IsNumber(v))
		return v->valuedouble >= 0 && v->valuedouble < 9e18 ? (int64_t)v->valuedouble : -1;
	if (!cJSON_IsString(v) || wk_quantity_parse(v->valuestring, &q, NULL, 0) < 0)
		return -1;
	return q;
}

cJSON *sim_cond_new(struct sim_model *m, const char *type, const char *status, const char *reason,
		    const char *message)
{
	char ts[40];
	cJSON *c = cJSON_CreateObject();

	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", ts);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (message)
		cJSON_AddStringToObject(c, "message", message);
	return c;
}

/* Conditions whose type and status did not change keep their lastTransitionTime. */
static void keep_transition_times(const cJSON *old, cJSON *neu)
{
	cJSON *c;
	cJSON_ArrayForEach(c, neu)
	{
		const cJSON *o;
		cJSON_ArrayForEach(o, old)
		{
			const char *ot = wk_json_str(o, "type"), *nt = wk_json_str(c, "type");
			const char *os = wk_json_str(o, "status"), *ns = wk_json_str(c, "status");
			const cJSON *ltt =
			    cJSON_GetObjectItemCaseSensitive(o, "lastTransitionTime");
			if (ot && nt && os && ns && !strcmp(ot, nt) && !strcmp(os, ns) && ltt)
				sim_jset(c, "lastTransitionTime", cJSON_Duplicate(ltt, 1));
		}
	}
}

static void merge(cJSON *target, const cJSON *patch)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, patch)
	{
		cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			merge(t, p);
		} else {
			cJSON *d = cJSON_Duplicate(p, 1);
			if (!strcmp(p->string, "conditions") && cJSON_IsArray(t))
				keep_transition_times(t, d);
			sim_jset(target, p->string, d);
		}
	}
}

static int merge_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	(void)err;
	merge(obj, opaque);
	return 0;
}

int sim_merge(struct sim_model *m, const struct sim_resource *res, const char *ns, const char *name,
	      cJSON *patch)
{
	struct sim_err err;
	int rc = sim_store_mutate(m->st, res, ns, name, merge_fn, patch, NULL, &err);
	cJSON_Delete(patch);
	return rc;
}

int sim_create(struct sim_model *m, const struct sim_resource *res, const char *ns, cJSON *obj)
{
	struct sim_err err;
	if (sim_store_create(m->st, res, ns, obj, NULL, &err) < 0) {
		if (err.code != 409)
			wk_warn("sim model: cannot create %s '%s': %s", res->kind, ns ? ns : "",
				err.message);
		return -1;
	}
	return 0;
}

int sim_delete(struct sim_model *m, const struct sim_resource *res, const char *ns,
	       const char *name)
{
	struct sim_err err;
	return sim_store_delete(m->st, res, ns, name, NULL, &err);
}

static int unfinalize_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	(void)err;
	cJSON *f = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "finalizers");
	int i = 0, found = -1;
	cJSON *it;
	cJSON_ArrayForEach(it, f)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, opaque))
			found = i;
		i++;
	}
	if (found < 0)
		return 1;
	cJSON_DeleteItemFromArray(f, found);
	if (!cJSON_GetArraySize(f))
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(obj, "metadata"),
							"finalizers");
	return 0;
}

void sim_remove_finalizer(struct sim_model *m, const struct sim_resource *res, const char *ns,
			  const char *name, const char *finalizer)
{
	struct sim_err err;
	sim_store_mutate(m->st, res, ns, name, unfinalize_fn, (void *)finalizer, NULL, &err);
}

static void event_v(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const char *name, const char *uid, const char *component, const char *type,
		    const char *reason, const char *fmt, va_list ap) WK_PRINTF(9, 0);

void sim_event(struct sim_model *m, const struct sim_resource *res, const char *ns,
	       const char *name, const char *uid, const char *type, const char *reason,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	event_v(m, res, ns, name, uid, "virt-controller", type, reason, fmt, ap);
	va_end(ap);
}

void sim_event_from(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const char *name, const char *uid, const char *component, const char *type,
		    const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	event_v(m, res, ns, name, uid, component, type, reason, fmt, ap);
	va_end(ap);
}

/* Pods are not stored objects; events about them (the scheduler's) still name one. */
const struct sim_resource sim_pod_resource = {.group = "",
					      .version = "v1",
					      .plural = "pods",
					      .singular = "pod",
					      .kind = "Pod",
					      .namespaced = true};

static void event_v(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const char *name, const char *uid, const char *component, const char *type,
		    const char *reason, const char *fmt, va_list ap)
{
	char msg[1024], ts[40], ename[320];
	cJSON *ev = cJSON_CreateObject(), *meta, *io, *src;
	const char *evns = ns && *ns ? ns : "default";

	vsnprintf(msg, sizeof(msg), fmt, ap);
	sim_ts(m, m->now, ts, sizeof(ts));
	/* client-go names events <object>.<hex unix nanos>; the sequence keeps them unique. */
	snprintf(ename, sizeof(ename), "%.200s.%llx", name,
		 (unsigned long long)((m->epoch_ms + (int64_t)(m->now * 1000)) * 1000000ULL +
				      ++m->event_seq));
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	meta = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(meta, "name", ename);
	cJSON_AddStringToObject(meta, "namespace", evns);
	io = cJSON_AddObjectToObject(ev, "involvedObject");
	{
		char av[128];
		snprintf(av, sizeof(av), "%s%s%s", res->group, res->group[0] ? "/" : "",
			 res->version);
		cJSON_AddStringToObject(io, "apiVersion", av);
	}
	cJSON_AddStringToObject(io, "kind", res->kind);
	if (res->namespaced && ns)
		cJSON_AddStringToObject(io, "namespace", ns);
	cJSON_AddStringToObject(io, "name", name);
	if (uid)
		cJSON_AddStringToObject(io, "uid", uid);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddStringToObject(ev, "message", msg);
	cJSON_AddStringToObject(ev, "type", type);
	src = cJSON_AddObjectToObject(ev, "source");
	cJSON_AddStringToObject(src, "component", component);
	cJSON_AddStringToObject(ev, "firstTimestamp", ts);
	cJSON_AddStringToObject(ev, "lastTimestamp", ts);
	cJSON_AddNumberToObject(ev, "count", 1);
	cJSON_AddStringToObject(ev, "reportingComponent", component);
	cJSON_AddStringToObject(ev, "reportingInstance", "");
	if (sim_create(m, m->r_event, evns, ev) < 0)
		return;
	/* Bounded: the oldest of the model's events goes when the ring is full. */
	char **slot = &m->events[m->event_next++ % SIM_MODEL_EVENTS];
	if (*slot) {
		char *sl = strchr(*slot, '/');
		*sl = 0;
		sim_delete(m, m->r_event, *slot, sl + 1);
		free(*slot);
	}
	*slot = wk_xasprintf("%s/%s", evns, ename);
}
