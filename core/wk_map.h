/* wk_map.h - one string-keyed hash map; the map copies and owns its keys, values stay the caller's
 * unless a free function was given at init (then the map frees them on replace, del and release).
 *
 * Chained buckets (a power of two, 256 at the first put, doubling when the count reaches the
 * bucket count), FNV-1a 32-bit hashing, each entry one allocation holding its key. Iteration
 * order is the bucket order and only stable while the map does not change; an iterator tolerates
 * wk_map_del of its current entry, nothing else. No cap of its own: the caller bounds what it
 * stores. Single-threaded.
 */
#ifndef WK_MAP_H
#define WK_MAP_H

#include "wk_common.h"

struct wk_map_ent;

/* Caller-owned: wk_map_init / wk_map_release. The members are private. */
struct wk_map {
	struct wk_map_ent **b;
	size_t nb, n;
	size_t key_bytes; /* sum of the stored keys' lengths, for wk_map_bytes */
	void (*free_val)(void *);
};

/* free_val (may be NULL) frees a value the map drops: on put over an existing key, on del, on
 * release. */
void wk_map_init(struct wk_map *m, void (*free_val)(void *));
/* Free every entry (and value, with free_val); the map is then empty and may be used again. */
void wk_map_release(struct wk_map *m);

size_t wk_map_count(const struct wk_map *m);
/* Bytes the map itself holds (entries, keys, buckets; not the values), for memory metrics. */
size_t wk_map_bytes(const struct wk_map *m);
void *wk_map_get(const struct wk_map *m, const char *key);
/* The map's own copy of key (valid until the entry is deleted), NULL if absent. */
const char *wk_map_key(const struct wk_map *m, const char *key);
/* Insert or replace (key is copied). Returns the replaced value, or NULL; with free_val the
 * replaced value is freed and NULL returned. */
void *wk_map_put(struct wk_map *m, const char *key, void *val);
/* Remove key. Returns its value (NULL if absent); with free_val the value is freed and NULL
 * returned. */
void *wk_map_del(struct wk_map *m, const char *key);

/* for (wk_map_iter_init(&it, m); wk_map_iter_next(&it);) use it.key, it.val. During the loop the
 * current entry may be deleted (wk_map_del(m, it.key)); any other change ends the iteration's
 * validity. */
struct wk_map_iter {
	const struct wk_map *m;
	size_t i;		 /* bucket of next */
	struct wk_map_ent *next; /* the entry the next call returns, NULL = scan from bucket i */
	const char *key;	 /* current entry */
	void *val;
};
void wk_map_iter_init(struct wk_map_iter *it, const struct wk_map *m);
bool wk_map_iter_next(struct wk_map_iter *it);
/* An iterator positioned before the first entry, by value (for WK_MAP_EACH). */
struct wk_map_iter wk_map_iter_start(const struct wk_map *m);
/* WK_MAP_EACH(it, m) { use it.key, it.val }: the loop above in one line. */
#define WK_MAP_EACH(it, m)                                                                         \
	for (struct wk_map_iter it = wk_map_iter_start(m); wk_map_iter_next(&it);)
/* Position it so that the next wk_map_iter_next returns the entry after key (a cursor without
 * state between calls); false if key is absent. */
bool wk_map_iter_after(struct wk_map_iter *it, const char *key);

#endif
