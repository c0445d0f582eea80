/* mig_queue.c - migration queue ordering and limit accounting. */
#include "decide/mig_queue.h"

void mig_load_init(struct mig_load *l)
{
	memset(l, 0, sizeof(*l));
}

void mig_load_reset(struct mig_load *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->nodes[i].node);
	l->n = 0;
	l->total = 0;
}

void mig_load_release(struct mig_load *l)
{
	mig_load_reset(l);
	free(l->nodes);
	memset(l, 0, sizeof(*l));
}

static struct mig_load_node *load_find(const struct mig_load *l, const char *node)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->nodes[i].node, node))
			return &l->nodes[i];
	return NULL;
}

void mig_load_add(struct mig_load *l, const char *node, int delta)
{
	struct mig_load_node *n;

	l->total += delta;
	if (l->total < 0)
		l->total = 0;
	if (!node || !*node)
		return;
	n = load_find(l, node);
	if (!n) {
		if (delta <= 0)
			return;
		if (l->n == l->alloc) {
			l->alloc = l->alloc ? l->alloc * 2 : 8;
			l->nodes = wk_xrealloc(l->nodes, l->alloc * sizeof(*l->nodes));
		}
		n = &l->nodes[l->n++];
		n->node = wk_xstrdup(node);
		n->count = 0;
	}
	n->count += delta;
	if (n->count < 0)
		n->count = 0;
}

int mig_load_node(const struct mig_load *l, const char *node)
{
	const struct mig_load_node *n = node ? load_find(l, node) : NULL;
	return n ? n->count : 0;
}

bool mig_load_admits(const struct mig_load *l, const struct mig_limits *lim, const char *node)
{
	if (l->total >= lim->per_cluster)
		return false;
	return !node || !*node || mig_load_node(l, node) < lim->per_node;
}

void mig_queue_init(struct mig_queue *q)
{
	memset(q, 0, sizeof(*q));
}

static void entry_free(struct mig_queue_entry *e)
{
	free(e->id);
	free(e->key);
	free(e->source_node);
}

void mig_queue_release(struct mig_queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		entry_free(&q->e[i]);
	free(q->e);
	memset(q, 0, sizeof(*q));
}

static int entry_cmp(int64_t ts, const char *id, const struct mig_queue_entry *e)
{
	if (ts != e->received_ms)
		return ts < e->received_ms ? -1 : 1;
	return strcmp(id, e->id);
}

int mig_queue_push(struct mig_queue *q, const char *id, const char *key, const char *source_node,
		   int64_t received_ms, void *opaque)
{
	size_t i, at = q->n;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->e[i].id, id))
			return -1;
	for (i = 0; i < q->n; i++) {
		if (entry_cmp(received_ms, id, &q->e[i]) < 0) {
			at = i;
			break;
		}
	}
	if (q->n == q->alloc) {
		q->alloc = q->alloc ? q->alloc * 2 : 16;
		q->e = wk_xrealloc(q->e, q->alloc * sizeof(*q->e));
	}
	memmove(&q->e[at + 1], &q->e[at], (q->n - at) * sizeof(*q->e));
	q->e[at].id = wk_xstrdup(id);
	q->e[at].key = wk_xstrdup(key ? key : "");
	q->e[at].source_node = wk_xstrdup(source_node ? source_node : "");
	q->e[at].received_ms = received_ms;
	q->e[at].opaque = opaque;
	q->n++;
	return 0;
}

void *mig_queue_remove(struct mig_queue *q, const char *id)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		if (!strcmp(q->e[i].id, id)) {
			void *op = q->e[i].opaque;

			entry_free(&q->e[i]);
			memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof(*q->e));
			q->n--;
			return op;
		}
	}
	return NULL;
}

size_t mig_queue_position(const struct mig_queue *q, const char *id)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->e[i].id, id))
			return i + 1;
	return 0;
}

const struct mig_queue_entry *mig_queue_find_key(const struct mig_queue *q, const char *key)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->e[i].key, key))
			return &q->e[i];
	return NULL;
}

long mig_queue_pick(const struct mig_queue *q, const struct mig_limits *lim,
		    const struct mig_load *load)
{
	size_t i;

	if (load->total >= lim->per_cluster)
		return -1;
	for (i = 0; i < q->n; i++)
		if (mig_load_admits(load, lim, q->e[i].source_node))
			return (long)i;
	return -1;
}
