/* wt_fpset.c - chained hash table of per-object fingerprints, one allocation per entry. */
#include "wt_fpset.h"

#define MAX_ID 4095
#define MAX_FIELD 100
#define NKINDS_MAX 16

struct wt_fpset {
	struct wt_fp **buckets;
	size_t nbuckets; /* power of two */
	size_t n;
	size_t count[NKINDS_MAX];
	size_t bytes;
};

static uint32_t hash_key(int kind, const char *id)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 16777619u;
	}
	return h;
}

struct wt_fpset *wt_fpset_new(void)
{
	struct wt_fpset *s = wk_xcalloc(1, sizeof(*s));

	s->nbuckets = 1024;
	s->buckets = wk_xcalloc(s->nbuckets, sizeof(*s->buckets));
	return s;
}

void wt_fpset_clear(struct wt_fpset *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct wt_fp *e = s->buckets[i];

		while (e) {
			struct wt_fp *next = e->next;

			free(e);
			e = next;
		}
		s->buckets[i] = NULL;
	}
	s->n = 0;
	s->bytes = 0;
	memset(s->count, 0, sizeof(s->count));
}

void wt_fpset_destroy(struct wt_fpset *s)
{
	if (!s)
		return;
	wt_fpset_clear(s);
	free(s->buckets);
	free(s);
}

static struct wt_fp **find(const struct wt_fpset *s, int kind, const char *id, uint32_t h)
{
	struct wt_fp **pp = &s->buckets[h & (s->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->hash == h && (*pp)->kind == kind && !strcmp((*pp)->data, id))
			return pp;
	}
	return pp;
}

struct wt_fp *wt_fpset_get(const struct wt_fpset *s, int kind, const char *id)
{
	return *find(s, kind, id, hash_key(kind, id));
}

static void grow(struct wt_fpset *s)
{
	size_t nb = s->nbuckets * 2;
	struct wt_fp **b = wk_xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < s->nbuckets; i++) {
		struct wt_fp *e = s->buckets[i];

		while (e) {
			struct wt_fp *next = e->next;

			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
			e = next;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
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
	uint32_t h = hash_key(kind, id);
	struct wt_fp **pp, *e, *old;

	uid = uid ? uid : "";
	rv = rv ? rv : "";
	vmref = vmref ? vmref : "";
	ul = strlen(uid);
	rl = strlen(rv);
	vl = strlen(vmref);
	if (kind < 0 || kind >= NKINDS_MAX || il > MAX_ID || ul > MAX_FIELD || rl > MAX_FIELD ||
	    vl > 2 * MAX_FIELD + 60)
		return NULL;
	e = wk_xmalloc(sizeof(*e) + il + ul + rl + vl + 4);
	e->fp = fp;
	e->hash = h;
	e->seen = 0;
	e->kind = (uint8_t)kind;
	e->id_len = (uint16_t)il;
	e->uid_off = 0;
	e->rv_off = (uint8_t)(ul + 1);
	e->vmref_off = (uint8_t)(ul + rl + 2);
	memcpy(e->data, id, il + 1);
	memcpy(e->data + il + 1, uid, ul + 1);
	memcpy(e->data + il + 1 + e->rv_off, rv, rl + 1);
	memcpy(e->data + il + 1 + e->vmref_off, vmref, vl + 1);
	pp = find(s, kind, id, h);
	old = *pp;
	if (old) {
		e->seen = old->seen;
		e->next = old->next;
		s->bytes -= entry_size(old);
		free(old);
	} else {
		e->next = NULL;
		s->n++;
		s->count[kind]++;
	}
	*pp = e;
	s->bytes += entry_size(e);
	if (s->n > s->nbuckets)
		grow(s);
	return e;
}

void wt_fpset_remove(struct wt_fpset *s, int kind, const char *id)
{
	struct wt_fp **pp = find(s, kind, id, hash_key(kind, id));
	struct wt_fp *e = *pp;

	if (!e)
		return;
	*pp = e->next;
	s->bytes -= entry_size(e);
	s->n--;
	s->count[kind]--;
	free(e);
}

size_t wt_fpset_count(const struct wt_fpset *s, int kind)
{
	return kind >= 0 && kind < NKINDS_MAX ? s->count[kind] : 0;
}

size_t wt_fpset_total(const struct wt_fpset *s)
{
	return s->n;
}

size_t wt_fpset_bytes(const struct wt_fpset *s)
{
	return s->bytes + s->nbuckets * sizeof(*s->buckets) + sizeof(*s);
}

char **wt_fpset_unseen(const struct wt_fpset *s, int kind, uint32_t epoch, size_t *n)
{
	char **ids = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (const struct wt_fp *e = s->buckets[i]; e; e = e->next) {
			if (e->kind != kind || e->seen == epoch)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				ids = wk_xrealloc(ids, cap * sizeof(*ids));
			}
			ids[(*n)++] = wk_xstrdup(e->data);
		}
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
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (const struct wt_fp *e = s->buckets[i]; e; e = e->next)
			cb(e, opaque);
	}
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
