/* wt_fpset.c - per-object fingerprints in a wk_map keyed by kind and id, one value allocation per
 * entry. */
#include "wt_fpset.h"

#include "wk_map.h"

#define MAX_ID 4095
#define MAX_FIELD 100
#define NKINDS_MAX 16

struct wt_fpset {
	struct wk_map map; /* "<kind letter><id>" -> struct wt_fp */
	size_t count[NKINDS_MAX];
	size_t bytes; /* held by the values */
};

/* The map key: one letter for the kind (the same id under two kinds is two objects), then id.
 * MAX_ID + 2 bytes at most. */
static void key_of(char *out, int kind, const char *id, size_t il)
{
	out[0] = (char)('a' + kind);
	memcpy(out + 1, id, il + 1);
}

struct wt_fpset *wt_fpset_new(void)
{
	struct wt_fpset *s = wk_xcalloc(1, sizeof(*s));

	wk_map_init(&s->map, free);
	return s;
}

void wt_fpset_clear(struct wt_fpset *s)
{
	wk_map_release(&s->map);
	s->bytes = 0;
	memset(s->count, 0, sizeof(s->count));
}

void wt_fpset_destroy(struct wt_fpset *s)
{
	if (!s)
		return;
	wt_fpset_clear(s);
	free(s);
}

struct wt_fp *wt_fpset_get(const struct wt_fpset *s, int kind, const char *id)
{
	char key[MAX_ID + 2];
	size_t il = strlen(id);

	if (kind < 0 || kind >= NKINDS_MAX || il > MAX_ID)
		return NULL;
	key_of(key, kind, id, il);
	return wk_map_get(&s->map, key);
}

static size_t entry_size(const struct wt_fp *e)
{
	const char *v = wt_fp_vmref(e);

	return sizeof(*e) + (size_t)(v - e->data) + strlen(v) + 1;
}

struct wt_fp *wt_fpset_put(struct wt_fpset *s, int kind, const char *id, const char *uid,
			   const char *rv, const char *vmref, uint64_t fp)
{
	size_t il = strlen(id), ul, rl, vl;
	char key[MAX_ID + 2];
	struct wt_fp *e, *old;

	uid = uid ? uid : "";
	rv = rv ? rv : "";
	vmref = vmref ? vmref : "";
	ul = strlen(uid);
	rl = strlen(rv);
	vl = strlen(vmref);
	if (kind < 0 || kind >= NKINDS_MAX || il > MAX_ID || ul > MAX_FIELD || rl > MAX_FIELD ||
	    vl > 2 * MAX_FIELD + 60)
		return NULL;
	key_of(key, kind, id, il);
	e = wk_xmalloc(sizeof(*e) + ul + rl + vl + 3);
	e->fp = fp;
	e->seen = 0;
	e->kind = (uint8_t)kind;
	e->rv_off = (uint8_t)(ul + 1);
	e->vmref_off = (uint8_t)(ul + rl + 2);
	memcpy(e->data, uid, ul + 1);
	memcpy(e->data + e->rv_off, rv, rl + 1);
	memcpy(e->data + e->vmref_off, vmref, vl + 1);
	old = wk_map_get(&s->map, key);
	if (old) {
		e->seen = old->seen;
		s->bytes -= entry_size(old);
	} else {
		s->count[kind]++;
	}
	wk_map_put(&s->map, key, e); /* frees old */
	e->id = wk_map_key(&s->map, key) + 1;
	s->bytes += entry_size(e);
	return e;
}

void wt_fpset_remove(struct wt_fpset *s, int kind, const char *id)
{
	struct wt_fp *e = wt_fpset_get(s, kind, id);

	if (!e)
		return;
	s->bytes -= entry_size(e);
	s->count[kind]--;
	wk_map_del(&s->map, wk_map_key(&s->map, e->id - 1)); /* frees e */
}

size_t wt_fpset_count(const struct wt_fpset *s, int kind)
{
	return kind >= 0 && kind < NKINDS_MAX ? s->count[kind] : 0;
}

size_t wt_fpset_total(const struct wt_fpset *s)
{
	return wk_map_count(&s->map);
}

size_t wt_fpset_bytes(const struct wt_fpset *s)
{
	return s->bytes + wk_map_bytes(&s->map) + sizeof(*s);
}

char **wt_fpset_unseen(const struct wt_fpset *s, int kind, uint32_t epoch, size_t *n)
{
	struct wk_map_iter it;
	char **ids = NULL;
	size_t cap = 0;

	*n = 0;
	for (wk_map_iter_init(&it, &s->map); wk_map_iter_next(&it);) {
		const struct wt_fp *e = it.val;

		if (e->kind != kind || e->seen == epoch)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = wk_xrealloc(ids, cap * sizeof(*ids));
		}
		ids[(*n)++] = wk_xstrdup(e->id);
	}
	return ids;
}

void wt_fpset_free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void wt_fpset_foreach(const struct wt_fpset *s, void (*cb)(const struct wt_fp *e, void *opaque),
		      void *opaque)
{
	struct wk_map_iter it;

	for (wk_map_iter_init(&it, &s->map); wk_map_iter_next(&it);)
		cb(it.val, opaque);
}

enum wt_action wt_decide(const struct wt_fp *cur, const char *uid, uint64_t fp, bool deleted)
{
	bool same_uid = cur && uid && !strcmp(wt_fp_uid(cur), uid);

	if (deleted)
		return same_uid ? WT_ACT_DELETE : WT_ACT_NONE;
	if (!cur)
		return WT_ACT_ADD;
	if (!same_uid)
		return WT_ACT_REPLACE;
	return cur->fp == fp && fp != 0 ? WT_ACT_NONE : WT_ACT_MODIFY;
}
