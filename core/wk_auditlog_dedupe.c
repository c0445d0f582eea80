/* wk_auditlog_dedupe.c - the dedupe window: the keys of the last N records, oldest evicted first.
 *
 * A ring of 16-byte keys plus an open-addressing table (linear probing, backward-shift deletion)
 * of ring positions + 1: 24 bytes per key, O(1) lookups, no allocation after init.
 */
#include "wk_auditlog_int.h"

static size_t dd_slot(const struct aul_dedupe *d, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & d->mask;
}

void aul_dd_init(struct aul_dedupe *d, size_t cap)
{
	size_t size = 16;

	while (size < cap * 2)
		size *= 2;
	d->cap = cap;
	d->count = d->head = 0;
	d->ring = wk_xcalloc(cap, sizeof(*d->ring));
	d->table = wk_xcalloc(size, sizeof(*d->table));
	d->mask = size - 1;
}

void aul_dd_release(struct aul_dedupe *d)
{
	free(d->ring);
	free(d->table);
}

bool aul_dd_has(const struct aul_dedupe *d, const uint8_t *key)
{
	for (size_t i = dd_slot(d, key); d->table[i]; i = (i + 1) & d->mask)
		if (!memcmp(d->ring[d->table[i] - 1], key, 16))
			return true;
	return false;
}

static void dd_remove(struct aul_dedupe *d, size_t r)
{
	size_t i = dd_slot(d, d->ring[r]), j;

	while (d->table[i] && d->table[i] != r + 1)
		i = (i + 1) & d->mask;
	if (!d->table[i])
		return;
	/* Backward shift: move up any later entry of the cluster whose home slot is not between
	 * the hole and itself, so that lookups never stop early at the hole. */
	for (j = i;;) {
		size_t k;

		j = (j + 1) & d->mask;
		if (!d->table[j])
			break;
		k = dd_slot(d, d->ring[d->table[j] - 1]);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			d->table[i] = d->table[j];
			i = j;
		}
	}
	d->table[i] = 0;
}

void aul_dd_add(struct aul_dedupe *d, const uint8_t *key)
{
	size_t i;

	if (d->count == d->cap)
		dd_remove(d, d->head);
	memcpy(d->ring[d->head], key, 16);
	for (i = dd_slot(d, key); d->table[i]; i = (i + 1) & d->mask)
		;
	d->table[i] = (uint32_t)(d->head + 1);
	d->head = (d->head + 1) % d->cap;
	if (d->count < d->cap)
		d->count++;
}
