/* wt_rebuild.h - rebuild the watcher's fingerprint table from what it already published: read
 * wukong.events from the beginning of what the broker retains up to the high watermark of every
 * partition (no consumer group, nothing committed) and keep, per object of this cluster, the last
 * event's uid, resourceVersion, key and fingerprint (the ce_wkuid / ce_wkfp extension headers).
 *
 * This is what makes the watcher restartable without a local state file (DESIGN.md: the cluster
 * and Kafka are the state). Only headers and the key are read, never bodies.
 */
#ifndef WT_REBUILD_H
#define WT_REBUILD_H

#include "wk_common.h"

#include <librdkafka/rdkafka.h>

struct wk_config;
struct wt_fpset;

struct wt_rebuild_stats {
	uint64_t messages; /* read */
	uint64_t applied;  /* object events of this cluster applied to the set */
	uint64_t ignored;  /* other clusters, markers, heartbeats, foreign or malformed events */
	int partitions;
	int64_t elapsed_ms;
};

struct wt_rebuild;

/* Resumable form, so that a leader keeps renewing its Lease while it reads: begin takes the high
 * watermarks and assigns the partitions (NULL with errstr when the broker cannot be reached), each
 * poll reads for at most budget_ms (1 = caught up with the watermarks taken at begin, 0 = more to
 * read, -1 error), end frees (NULL is a no-op). */
struct wt_rebuild *wt_rebuild_begin(const struct wk_config *cfg, const char *topic,
				    const char *cluster, char *errstr, size_t errstr_size);
int wt_rebuild_poll(struct wt_rebuild *rb, struct wt_fpset *fps, int budget_ms, char *errstr,
		    size_t errstr_size);
void wt_rebuild_get_stats(const struct wt_rebuild *rb, struct wt_rebuild_stats *st);
void wt_rebuild_end(struct wt_rebuild *rb);

/* All at once: 0 on success (the set holds the last published state of every live object), -1
 * with errstr when the broker could not be read within timeout_ms (the caller retries later:
 * publishing without it would flood). */
int wt_rebuild(const struct wk_config *cfg, const char *topic, const char *cluster,
	       struct wt_fpset *fps, long timeout_ms, struct wt_rebuild_stats *st, char *errstr,
	       size_t errstr_size);

/* Apply one message (exposed for unit tests). Returns 1 applied, 0 ignored. */
int wt_rebuild_apply(struct wt_fpset *fps, const char *cluster, const rd_kafka_message_t *m);

#endif
