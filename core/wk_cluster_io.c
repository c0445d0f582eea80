/* wk_cluster_io.c - reading the cluster registry topic from its beginning (wk_cluster.h). */
#include "wk_cluster.h"

#include "wk_kafka.h"

#include <string.h>

struct wk_cluster_reader {
	struct wk_tail *t;
};

void wk_cluster_reader_destroy(struct wk_cluster_reader *r)
{
	if (!r)
		return;
	wk_tail_destroy(r->t);
	free(r);
}

struct wk_cluster_reader *wk_cluster_reader_new(const struct wk_config *cfg, const char *topic,
						char *errstr, size_t errstr_size)
{
	struct wk_cluster_reader *r = wk_xcalloc(1, sizeof(*r));

	r->t = wk_tail_new(cfg, topic, 0, "wukong-cluster-registry-reader", errstr, errstr_size);
	if (!r->t) {
		free(r);
		return NULL;
	}
	return r;
}

int wk_cluster_reader_poll(struct wk_cluster_reader *r, int timeout_ms, wk_cluster_record_cb *cb,
			   void *opaque)
{
	rd_kafka_message_t *m;

	while ((m = wk_tail_poll(r->t, timeout_ms))) {
		char key[256] = "";

		timeout_ms = 0;
		if (m->key && m->key_len < sizeof(key)) {
			memcpy(key, m->key, m->key_len);
			key[m->key_len] = '\0';
		}
		if (!m->key || m->key_len < sizeof(key))
			cb(key, m->payload, m->payload ? m->len : 0, opaque);
		rd_kafka_message_destroy(m);
	}
	return wk_tail_caught_up(r->t) ? 1 : 0;
}
