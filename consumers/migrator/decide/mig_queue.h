/* mig_queue.h - the visible queue of migrations waiting for a slot under KubeVirt's limits
 * (parallelMigrationsPerCluster, parallelOutboundMigrationsPerNode), and the load accounting the
 * limits are checked against. Pure data structures; entries and loads are owned by the queue /
 * load and hold copies of what they are given.
 */
#ifndef MIG_QUEUE_H
#define MIG_QUEUE_H

#include "wk_common.h"

struct mig_limits {
	int per_cluster; /* KubeVirt default 5 */
	int per_node;	 /* KubeVirt default 2 */
};

/* Migrations in flight: in total and outbound per source node. Caller-owned (init/release). */
struct mig_load {
	int total;
	size_t n, alloc;
	struct mig_load_node {
		char *node;
		int count;
	} * nodes;
};
void mig_load_init(struct mig_load *l);
void mig_load_release(struct mig_load *l);
void mig_load_reset(struct mig_load *l);
/* One more (delta +1) or one fewer (-1) migration out of node ("" = unknown source). */
void mig_load_add(struct mig_load *l, const char *node, int delta);
int mig_load_node(const struct mig_load *l, const char *node);
/* May one more migration out of node start? */
bool mig_load_admits(const struct mig_load *l, const struct mig_limits *lim, const char *node);

struct mig_queue_entry {
	char *id;	   /* request id */
	char *key;	   /* "<ns>/<wukong>" */
	char *source_node; /* the VMI's node when queued */
	int64_t received_ms;
	void *opaque; /* the caller's request */
};

/* Ordered by received_ms (the Kafka timestamp of the request, so the order survives a restart
 * that replays the requests), then by id. Caller-owned (init/release). */
struct mig_queue {
	struct mig_queue_entry *e;
	size_t n, alloc;
};
void mig_queue_init(struct mig_queue *q);
void mig_queue_release(struct mig_queue *q);
/* Insert in order; -1 if the id is already queued. */
int mig_queue_push(struct mig_queue *q, const char *id, const char *key, const char *source_node,
		   int64_t received_ms, void *opaque);
/* Remove by id; returns the entry's opaque or NULL when absent. */
void *mig_queue_remove(struct mig_queue *q, const char *id);
/* 1-based position, 0 when absent. */
size_t mig_queue_position(const struct mig_queue *q, const char *id);
const struct mig_queue_entry *mig_queue_find_key(const struct mig_queue *q, const char *key);
/* The index of the first entry, in queue order, that the limits admit now (an entry whose node
 * is full does not hold back entries from other nodes), or -1. */
long mig_queue_pick(const struct mig_queue *q, const struct mig_limits *lim,
		    const struct mig_load *load);

#endif
