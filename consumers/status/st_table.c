/* st_table.c - per-Wukong coalescing, seq filtering, condition merging and patch building. */
#include "st_table.h"

#include "wk_json.h"
#include "wk_log.h"
#include "wk_map.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

struct st_table {
	struct wk_map by_key; /* "<ns>/<name>" -> struct st_wk */
	struct st_wk *dhead, *dtail;
	size_t ndirty;
	uint64_t order;
};

/* Neither a namespace nor a name holds '/', so "<ns>/<name>" is unambiguous. */
#define KEY_MAX (sizeof(((struct st_wk *)0)->ns) + sizeof(((struct st_wk *)0)->name))

static void key_of(char out[KEY_MAX], const char *ns, const char *name)
{
	size_t nl = strnlen(ns, sizeof(((struct st_wk *)0)->ns) - 1);
	size_t ml = strnlen(name, sizeof(((struct st_wk *)0)->name) - 1);

	memcpy(out, ns, nl);
	out[nl] = '/';
	memcpy(out + nl + 1, name, ml);
	out[nl + 1 + ml] = '\0';
}

static void wk_free(struct st_wk *w)
{
	st_wk_clear_pending(w);
	st_wk_forget_state(w);
	cJSON_Delete(w->applied);
	free(w->pend);
	free(w->offs);
	free(w);
}

static void wk_free_any(void *w)
{
	wk_free(w);
}

struct st_table *st_table_new(void)
{
	struct st_table *t = wk_xcalloc(1, sizeof(*t));

	wk_map_init(&t->by_key, wk_free_any);
	return t;
}

void st_table_destroy(struct st_table *t)
{
	if (!t)
		return;
	wk_map_release(&t->by_key);
	free(t);
}

size_t st_table_count(const struct st_table *t)
{
	return wk_map_count(&t->by_key);
}

size_t st_table_dirty_count(const struct st_table *t)
{
	return t->ndirty;
}

struct st_wk *st_table_get(struct st_table *t, const char *ns, const char *name, bool create)
{
	char key[KEY_MAX];
	struct st_wk *w;

	key_of(key, ns, name);
	w = wk_map_get(&t->by_key, key);
	if (w || !create)
		return w;
	w = wk_xcalloc(1, sizeof(*w));
	wk_strlcpy(w->ns, ns, sizeof(w->ns));
	wk_strlcpy(w->name, name, sizeof(w->name));
	w->generation = -1;
	wk_map_put(&t->by_key, key, w);
	return w;
}

static void dirty_unlink(struct st_table *t, struct st_wk *w)
{
	if (!w->in_dirty)
		return;
	if (w->dprev)
		w->dprev->dnext = w->dnext;
	else
		t->dhead = w->dnext;
	if (w->dnext)
		w->dnext->dprev = w->dprev;
	else
		t->dtail = w->dprev;
	w->dprev = w->dnext = NULL;
	w->in_dirty = false;
	t->ndirty--;
}

static void dirty_append(struct st_table *t, struct st_wk *w)
{
	w->dprev = t->dtail;
	w->dnext = NULL;
	if (t->dtail)
		t->dtail->dnext = w;
	else
		t->dhead = w;
	t->dtail = w;
	w->in_dirty = true;
	t->ndirty++;
}

void st_table_remove(struct st_table *t, struct st_wk *w)
{
	char key[KEY_MAX];

	dirty_unlink(t, w);
	key_of(key, w->ns, w->name);
	if (wk_map_get(&t->by_key, key) == w)
		wk_map_del(&t->by_key, key); /* frees w */
	else
		wk_free(w);
}

struct st_wk *st_table_first_dirty(struct st_table *t)
{
	return t->dhead;
}

struct st_wk *st_table_next_dirty(struct st_wk *w)
{
	return w->dnext;
}

void st_table_requeue(struct st_table *t, struct st_wk *w)
{
	dirty_unlink(t, w);
	if (w->npend || w->noffs)
		dirty_append(t, w);
}

size_t st_table_trim(struct st_table *t, size_t max)
{
	struct wk_map_iter it;
	size_t freed = 0;

	for (wk_map_iter_init(&it, &t->by_key);
	     wk_map_count(&t->by_key) > max && wk_map_iter_next(&it);) {
		struct st_wk *w = it.val;

		if (w->in_dirty || w->npend || w->noffs)
			continue;
		wk_map_del(&t->by_key, it.key);
		freed++;
	}
	return freed;
}

/* ---- merge-patch composition and conditions ---- */

void st_merge_compose(cJSON *into, const cJSON *patch)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, patch)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(into, v->string);

		if (cJSON_IsObject(v) && cJSON_IsObject(cur)) {
			st_merge_compose(cur, v);
			continue;
		}
		/* a later scalar, array or null replaces; an object over a scalar/null replaces
		 * too (applying null then {..} leaves just {..}; the composed {..} merges into
		 * what the target has: the one case composition cannot express, and status
		 * sub-objects do not rely on it) */
		if (cur)
			cJSON_ReplaceItemViaPointer(into, cur, cJSON_Duplicate(v, true));
		else
			cJSON_AddItemToObject(into, v->string, cJSON_Duplicate(v, true));
	}
}

bool st_conditions_upsert(cJSON *arr, const cJSON *cond, int64_t now_wall_ms)
{
	const char *type = wk_json_str(cond, "type"), *status = wk_json_str(cond, "status");
	cJSON *cur, *next;
	char t[40];

	if (!type || !status || !cJSON_IsArray(arr))
		return false;
	cJSON_ArrayForEach(cur, arr)
	{
		const char *ct = wk_json_str(cur, "type");

		if (ct && !strcmp(ct, type))
			break;
	}
	next = cJSON_Duplicate(cond, true);
	if (cur) {
		const char *cs = wk_json_str(cur, "status");
		const cJSON *ltt = cJSON_GetObjectItemCaseSensitive(cur, "lastTransitionTime");

		if (cs && !strcmp(cs, status) && cJSON_IsString(ltt)) {
			/* same status: the transition happened earlier, keep its time */
			cJSON_DeleteItemFromObjectCaseSensitive(next, "lastTransitionTime");
			cJSON_AddItemToObject(next, "lastTransitionTime",
					      cJSON_Duplicate(ltt, true));
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(next, "lastTransitionTime")) {
		wk_time_format(now_wall_ms, t, sizeof(t));
		cJSON_AddStringToObject(next, "lastTransitionTime", t);
	}
	if (cur && cJSON_Compare(cur, next, true)) {
		cJSON_Delete(next);
		return false;
	}
	if (cur)
		cJSON_ReplaceItemViaPointer(arr, cur, next);
	else
		cJSON_AddItemToArray(arr, next);
	return true;
}

/* ---- pending ---- */

static struct st_pend *pend_find(struct st_wk *w, const char *key)
{
	for (size_t i = 0; i < w->npend; i++)
		if (!strcmp(w->pend[i].key, key))
			return &w->pend[i];
	return NULL;
}

static struct st_pend *pend_add(struct st_wk *w, const char *key)
{
	struct st_pend *p;

	if (w->npend == w->apend) {
		w->apend = w->apend ? w->apend * 2 : 4;
		w->pend = wk_xrealloc(w->pend, w->apend * sizeof(*w->pend));
	}
	p = &w->pend[w->npend++];
	memset(p, 0, sizeof(*p));
	wk_strlcpy(p->key, key, sizeof(p->key));
	return p;
}

/* Count the keys u would add that are not pending yet. */
static size_t new_keys(struct st_wk *w, const struct st_update *u)
{
	char key[ST_KEY_MAX];
	size_t n = 0;
	const cJSON *c;

	for (int f = 0; f < ST_F_NFIELDS; f++) {
		snprintf(key, sizeof(key), "%s/%s", st_field_names[f], u->source);
		if (u->fields[f] && !pend_find(w, key))
			n++;
	}
	cJSON_ArrayForEach(c, u->conditions)
	{
		snprintf(key, sizeof(key), "conditions/%s/%s", wk_json_str(c, "type"), u->source);
		if (!pend_find(w, key))
			n++;
	}
	snprintf(key, sizeof(key), "observedGeneration/%s", u->source);
	if (u->observed_generation >= 0 && !pend_find(w, key))
		n++;
	return n;
}

const char *const st_last_names[ST_F_TOP] = {"lastMigrationStatus", "lastCloneStatus"};

/* Does patch name a request (requestId) other than the one cur holds? A patch without a
 * requestId (the progress aggregator's numbers) belongs to whatever request is current. */
static bool other_request(const cJSON *cur, const cJSON *patch)
{
	const char *a = wk_json_str(cur, "requestId"), *b = wk_json_str(patch, "requestId");

	return a && b && strcmp(a, b);
}

/* RFC 7386 apply (null removes) of patch onto target, in place. */
static void merge_apply(cJSON *target, const cJSON *patch)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, patch)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, v->string);

		if (cJSON_IsNull(v)) {
			if (cur)
				cJSON_DeleteItemFromObjectCaseSensitive(target, v->string);
		} else if (cJSON_IsObject(v) && cJSON_IsObject(cur)) {
			merge_apply(cur, v);
		} else {
			cJSON *n = cJSON_Duplicate(v, true);

			if (cJSON_IsObject(n)) {
				/* an object replacing a scalar: apply onto {} (drops its nulls) */
				cJSON *clean = cJSON_CreateObject();

				merge_apply(clean, n);
				cJSON_Delete(n);
				n = clean;
			}
			if (cur)
				cJSON_ReplaceItemViaPointer(target, cur, n);
			else
				cJSON_AddItemToObject(target, v->string, n);
		}
	}
}

/* A merge patch turning `from` into exactly `to` at the top level: every key of from that to
 * lacks becomes null, every key of to is set. */
static cJSON *replace_patch(const cJSON *from, const cJSON *to)
{
	cJSON *p = cJSON_CreateObject();
	const cJSON *v;

	cJSON_ArrayForEach(v, from)
	{
		if (v->string && !cJSON_GetObjectItemCaseSensitive(to, v->string))
			cJSON_AddNullToObject(p, v->string);
	}
	cJSON_ArrayForEach(v, to)
	{
		if (v->string)
			cJSON_AddItemToObject(p, v->string, cJSON_Duplicate(v, true));
	}
	return p;
}

int st_table_add(struct st_table *t, const struct st_update *u, int32_t partition, int64_t offset,
		 int64_t now_ms, size_t *stale)
{
	struct st_wk *w = st_table_get(t, u->ns, u->name, true);
	char key[ST_KEY_MAX];
	struct st_pend *p;
	const cJSON *c;
	uint64_t order = ++t->order;

	*stale = 0;
	if (w->npend + new_keys(w, u) > ST_PENDING_MAX)
		return -1;
	for (int f = 0; f < ST_F_NFIELDS; f++) {
		if (!u->fields[f])
			continue;
		snprintf(key, sizeof(key), "%s/%s", st_field_names[f], u->source);
		p = pend_find(w, key);
		if (p && u->seq <= p->seq) {
			(*stale)++; /* an older partial object of this sender: superseded */
			continue;
		}
		if (!p) {
			p = pend_add(w, key);
			p->kind = ST_K_FIELD;
			p->field = f;
			p->value = cJSON_Duplicate(u->fields[f], true);
		} else if (f < ST_F_TOP && other_request(p->value, u->fields[f])) {
			/* another request: its fields replace the pending ones of the previous
			 * request (the patch built from them removes what the object holds) */
			cJSON_Delete(p->value);
			p->value = cJSON_Duplicate(u->fields[f], true);
		} else {
			st_merge_compose(p->value, u->fields[f]);
		}
		p->seq = u->seq;
		p->order = order;
	}
	cJSON_ArrayForEach(c, u->conditions)
	{
		snprintf(key, sizeof(key), "conditions/%s/%s", wk_json_str(c, "type"), u->source);
		p = pend_find(w, key);
		if (p && u->seq <= p->seq) {
			(*stale)++;
			continue;
		}
		if (!p) {
			p = pend_add(w, key);
			p->kind = ST_K_COND;
		}
		cJSON_Delete(p->value);
		p->value = cJSON_Duplicate(c, true);
		p->seq = u->seq;
		p->order = order;
	}
	if (u->observed_generation >= 0) {
		snprintf(key, sizeof(key), "observedGeneration/%s", u->source);
		p = pend_find(w, key);
		if (p && u->seq <= p->seq) {
			(*stale)++;
		} else {
			if (!p) {
				p = pend_add(w, key);
				p->kind = ST_K_GEN;
			}
			p->gen = u->observed_generation;
			p->seq = u->seq;
			p->order = order;
		}
	}
	if (w->noffs == w->aoffs) {
		w->aoffs = w->aoffs ? w->aoffs * 2 : 4;
		w->offs = wk_xrealloc(w->offs, w->aoffs * sizeof(*w->offs));
	}
	w->offs[w->noffs].partition = partition;
	w->offs[w->noffs].offset = offset;
	w->noffs++;
	w->updates++;
	if (!w->dirty_ms)
		w->dirty_ms = now_ms ? now_ms : 1;
	if (!w->in_dirty)
		dirty_append(t, w);
	return 0;
}

void st_wk_clear_pending(struct st_wk *w)
{
	for (size_t i = 0; i < w->npend; i++)
		cJSON_Delete(w->pend[i].value);
	w->npend = 0;
	w->updates = 0;
	w->dirty_ms = 0;
	w->attempts = 0;
	w->next_try_ms = 0;
}

void st_wk_clear_offsets(struct st_wk *w)
{
	w->noffs = 0;
}

void st_wk_forget_state(struct st_wk *w)
{
	/* the applied seqs are kept: they only grow, and what this process wrote successfully
	 * stays true (the next read merges them with the object's) */
	cJSON_Delete(w->conditions);
	w->conditions = NULL;
	for (int f = 0; f < ST_F_TOP; f++) {
		cJSON_Delete(w->cur[f]);
		cJSON_Delete(w->last[f]);
		w->cur[f] = w->last[f] = NULL;
	}
	w->rv[0] = '\0';
	w->generation = -1;
	w->have_state = false;
}

static void merge_applied(cJSON *into, const cJSON *from)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, from)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(into, a->string);

		if (!cJSON_IsNumber(a))
			continue;
		if (!cur)
			cJSON_AddNumberToObject(into, a->string, a->valuedouble);
		else if (cJSON_IsNumber(cur) && cur->valuedouble < a->valuedouble)
			cJSON_SetNumberValue(cur, a->valuedouble);
	}
}

void st_wk_load(struct st_wk *w, const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
	const cJSON *v;
	cJSON *mine = w->applied;

	w->applied = NULL;
	st_wk_forget_state(w);
	wk_strlcpy(w->rv,
		   wk_json_str(md, "resourceVersion") ? wk_json_str(md, "resourceVersion") : "",
		   sizeof(w->rv));
	v = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	w->conditions = cJSON_IsArray(v) ? cJSON_Duplicate(v, true) : cJSON_CreateArray();
	v = cJSON_GetObjectItemCaseSensitive(st, "appliedSeq");
	w->applied = cJSON_IsObject(v) ? cJSON_Duplicate(v, true) : cJSON_CreateObject();
	if (mine) {
		merge_applied(w->applied, mine);
		cJSON_Delete(mine);
	}
	v = cJSON_GetObjectItemCaseSensitive(st, "observedGeneration");
	w->generation = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
	for (int f = 0; f < ST_F_TOP; f++) {
		v = cJSON_GetObjectItemCaseSensitive(st, st_field_names[f]);
		w->cur[f] = cJSON_IsObject(v) ? cJSON_Duplicate(v, true) : NULL;
		v = cJSON_GetObjectItemCaseSensitive(st, st_last_names[f]);
		w->last[f] = cJSON_IsObject(v) ? cJSON_Duplicate(v, true) : NULL;
	}
	w->have_state = true;
}

void st_wk_note_applied(struct st_wk *w, const char *patch)
{
	cJSON *p = cJSON_Parse(patch);
	const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(p, "status"), "appliedSeq");
	const cJSON *a;

	if (!w->applied)
		w->applied = cJSON_CreateObject();
	cJSON_ArrayForEach(a, seqs)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(w->applied, a->string);

		if (cJSON_IsNull(a)) {
			cJSON_DeleteItemFromObjectCaseSensitive(w->applied, a->string);
		} else if (!cur) {
			cJSON_AddNumberToObject(w->applied, a->string, a->valuedouble);
		} else if (cJSON_IsNumber(cur) && cur->valuedouble < a->valuedouble) {
			cJSON_SetNumberValue(cur, a->valuedouble);
		}
	}
	cJSON_Delete(p);
}

static int64_t applied_seq(const struct st_wk *w, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(w->applied, key);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? (int64_t)v->valuedouble : 0;
}

static int cmp_order(const void *a, const void *b)
{
	const struct st_pend *const *x = a, *const *y = b;

	return (*x)->order < (*y)->order ? -1 : (*x)->order > (*y)->order;
}

char *st_wk_build_patch(const struct st_wk *w, int64_t now_wall_ms, struct st_build_stats *stats)
{
	struct st_pend **live;
	size_t nlive = 0;
	cJSON *patch, *status, *seqs, *conds = NULL;
	cJSON *fields[ST_F_NFIELDS] = {NULL, NULL, NULL};
	/* migrationStatus / cloneStatus as they stand after each pending update (eff), and the
	 * previous request's when a new one replaces it (prev) */
	cJSON *eff[ST_F_TOP], *prev[ST_F_TOP] = {NULL, NULL};
	int64_t gen = -1;
	char *out;

	memset(stats, 0, sizeof(*stats));
	if (!w->have_state)
		return NULL;
	live = wk_xcalloc(w->npend + 1, sizeof(*live));
	for (size_t i = 0; i < w->npend; i++) {
		if (w->pend[i].seq <= applied_seq(w, w->pend[i].key)) {
			stats->stale++;
			continue;
		}
		live[nlive++] = &w->pend[i];
	}
	qsort(live, nlive, sizeof(*live), cmp_order);
	for (int f = 0; f < ST_F_TOP; f++)
		eff[f] = w->cur[f] ? cJSON_Duplicate(w->cur[f], true) : cJSON_CreateObject();
	patch = cJSON_CreateObject();
	status = cJSON_CreateObject();
	seqs = cJSON_CreateObject();
	for (size_t i = 0; i < nlive; i++) {
		struct st_pend *p = live[i];
		bool used = false;

		switch (p->kind) {
		case ST_K_FIELD:
			if (!fields[p->field])
				fields[p->field] = cJSON_CreateObject();
			if (p->field < ST_F_TOP && other_request(eff[p->field], p->value)) {
				/* a new request: nothing of the previous one stays current */
				cJSON *empty = cJSON_CreateObject();

				cJSON_Delete(prev[p->field]);
				prev[p->field] = eff[p->field];
				cJSON_Delete(fields[p->field]);
				fields[p->field] =
				    replace_patch(w->cur[p->field] ? w->cur[p->field] : empty,
						  empty);
				eff[p->field] = empty;
			}
			st_merge_compose(fields[p->field], p->value);
			if (p->field < ST_F_TOP)
				merge_apply(eff[p->field], p->value);
			used = true;
			break;
		case ST_K_COND:
			if (!conds)
				conds = cJSON_Duplicate(w->conditions, true);
			if (st_conditions_upsert(conds, p->value, now_wall_ms))
				stats->conditions++;
			used = true;
			break;
		case ST_K_GEN:
			if (p->gen > w->generation && p->gen > gen)
				gen = p->gen;
			used = true; /* never lowered, but the seq is recorded */
			break;
		}
		if (used) {
			cJSON_AddNumberToObject(seqs, p->key, (double)p->seq);
			stats->applied++;
		}
	}
	free(live);
	for (int f = 0; f < ST_F_TOP; f++) {
		if (prev[f]) {
			cJSON *empty = cJSON_CreateObject();

			cJSON_AddItemToObject(status, st_last_names[f],
					      replace_patch(w->last[f] ? w->last[f] : empty, prev[f]));
			cJSON_Delete(empty);
			cJSON_Delete(prev[f]);
		}
		cJSON_Delete(eff[f]);
	}
	if (!stats->applied) {
		cJSON_Delete(patch);
		cJSON_Delete(status);
		cJSON_Delete(seqs);
		cJSON_Delete(conds);
		return NULL;
	}
	for (int f = 0; f < ST_F_TOP; f++)
		if (fields[f])
			cJSON_AddItemToObject(status, st_field_names[f], fields[f]);
	if (fields[ST_F_TOP]) {
		/* the provisioner's keys sit directly under /status (phase, nodeName, ...) */
		while (fields[ST_F_TOP]->child) {
			cJSON *v = cJSON_DetachItemViaPointer(fields[ST_F_TOP],
							      fields[ST_F_TOP]->child);

			cJSON_AddItemToObject(status, v->string, v);
		}
		cJSON_Delete(fields[ST_F_TOP]);
	}
	if (conds && stats->conditions)
		cJSON_AddItemToObject(status, "conditions", conds);
	else
		cJSON_Delete(conds);
	if (gen >= 0)
		cJSON_AddNumberToObject(status, "observedGeneration", (double)gen);
	{
		/* cap status.appliedSeq: drop the oldest keys the patch does not touch */
		size_t n = (size_t)cJSON_GetArraySize(w->applied);
		const cJSON *a;

		cJSON_ArrayForEach(a, seqs)
		{
			if (!cJSON_GetObjectItemCaseSensitive(w->applied, a->string))
				n++;
		}
		while (n > ST_APPLIED_MAX) {
			const cJSON *old = NULL;

			cJSON_ArrayForEach(a, w->applied)
			{
				if (cJSON_GetObjectItemCaseSensitive(seqs, a->string))
					continue;
				if (!old || a->valuedouble < old->valuedouble)
					old = a;
			}
			if (!old)
				break;
			cJSON_AddNullToObject(seqs, old->string);
			n--;
		}
	}
	cJSON_AddItemToObject(status, "appliedSeq", seqs);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(patch, "metadata"), "resourceVersion",
				w->rv);
	cJSON_AddItemToObject(patch, "status", status);
	out = cJSON_PrintUnformatted(patch);
	cJSON_Delete(patch);
	if (!out)
		WK_BUG("cJSON_PrintUnformatted failed");
	return out;
}
