/* wk_map.c - chained string-keyed hash map. */
#include "wk_map.h"

#define FIRST_BUCKETS 256

struct wk_map_ent {
	struct wk_map_ent *next;
	void *val;
	uint32_t hash;
	char key[];
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void wk_map_init(struct wk_map *m, void (*free_val)(void *))
{
	memset(m, 0, sizeof(*m));
	m->free_val = free_val;
}

void wk_map_release(struct wk_map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct wk_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			if (m->free_val)
				m->free_val(e->val);
			free(e);
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = m->n = m->key_bytes = 0;
}

size_t wk_map_count(const struct wk_map *m)
{
	return m->n;
}

size_t wk_map_bytes(const struct wk_map *m)
{
	return m->n * (sizeof(struct wk_map_ent) + 1) + m->key_bytes + m->nb * sizeof(*m->b);
}

static void grow(struct wk_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : FIRST_BUCKETS;
	struct wk_map_ent **b = wk_xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct wk_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* The link pointing at key's entry (or at the NULL ending its chain); NULL for an empty map. */
static struct wk_map_ent **find(const struct wk_map *m, const char *key, uint32_t h)
{
	struct wk_map_ent **pp;

	if (!m->nb)
		return NULL;
	for (pp = &m->b[h & (m->nb - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->key, key))
			break;
	return pp;
}

void *wk_map_get(const struct wk_map *m, const char *key)
{
	struct wk_map_ent **pp = find(m, key, fnv1a(key));

	return pp && *pp ? (*pp)->val : NULL;
}

const char *wk_map_key(const struct wk_map *m, const char *key)
{
	struct wk_map_ent **pp = find(m, key, fnv1a(key));

	return pp && *pp ? (*pp)->key : NULL;
}

void *wk_map_put(struct wk_map *m, const char *key, void *val)
{
	uint32_t h = fnv1a(key);
	struct wk_map_ent **pp = find(m, key, h), *e;
	size_t kl;

	if (pp && *pp) {
		void *old = (*pp)->val;

		(*pp)->val = val;
		if (m->free_val && old != val) {
			m->free_val(old);
			return NULL;
		}
		return m->free_val ? NULL : old;
	}
	if (m->n >= m->nb)
		grow(m);
	kl = strlen(key);
	e = wk_xmalloc(sizeof(*e) + kl + 1);
	memcpy(e->key, key, kl + 1);
	e->val = val;
	e->hash = h;
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->n++;
	m->key_bytes += kl;
	return NULL;
}

void *wk_map_del(struct wk_map *m, const char *key)
{
	struct wk_map_ent **pp = find(m, key, fnv1a(key)), *e;
	void *v;

	if (!pp || !*pp)
		return NULL;
	e = *pp;
	v = e->val;
	*pp = e->next;
	m->key_bytes -= strlen(e->key);
	free(e); /* key may point into e: not used past this line */
	m->n--;
	if (m->free_val) {
		m->free_val(v);
		return NULL;
	}
	return v;
}

void wk_map_iter_init(struct wk_map_iter *it, const struct wk_map *m)
{
	memset(it, 0, sizeof(*it));
	it->m = m;
	it->next = m->nb ? m->b[0] : NULL;
}

struct wk_map_iter wk_map_iter_start(const struct wk_map *m)
{
	struct wk_map_iter it;

	wk_map_iter_init(&it, m);
	return it;
}

bool wk_map_iter_next(struct wk_map_iter *it)
{
	const struct wk_map *m = it->m;

	while (!it->next) {
		if (++it->i >= m->nb) {
			it->i = m->nb;
			it->key = NULL;
			it->val = NULL;
			return false;
		}
		it->next = m->b[it->i];
	}
	it->key = it->next->key;
	it->val = it->next->val;
	it->next = it->next->next; /* taken now: the current entry may be deleted */
	return true;
}

bool wk_map_iter_after(struct wk_map_iter *it, const char *key)
{
	uint32_t h = fnv1a(key);
	struct wk_map_ent **pp = find(it->m, key, h);

	if (!pp || !*pp)
		return false;
	it->i = h & (it->m->nb - 1);
	it->next = (*pp)->next;
	it->key = NULL;
	it->val = NULL;
	return true;
}
