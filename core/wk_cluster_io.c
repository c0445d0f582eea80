/* wk_cluster_io.c - reading the cluster registry topic from its beginning (wk_cluster.h). */
#include "wk_cluster.h"

#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"

#include <stdio.h>
#include <string.h>

struct wk_cluster_reader {
	rd_kafka_t *rk;
	int np, at_end;
	bool *eof;
};

void wk_cluster_reader_destroy(struct wk_cluster_reader *r)
{
	if (!r)
		return;
	if (r->rk) {
		rd_kafka_assign(r->rk, NULL);
		rd_kafka_consumer_close(r->rk);
		rd_kafka_destroy(r->rk);
	}
	free(r->eof);
	free(r);
}

struct wk_cluster_reader *wk_cluster_reader_new(const struct wk_config *cfg, const char *topic,
						char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *tp = NULL;
	struct wk_cluster_reader *r = wk_xcalloc(1, sizeof(*r));
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t e;
	char err[512];

	if (wk_kafka_conf_apply(conf, cfg, WK_KAFKA_CONSUMER, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		free(r);
		return NULL;
	}
	/* assign() only: the group is never joined, nothing is committed */
	if (rd_kafka_conf_set(conf, "group.id", "wukong-cluster-registry-reader", err,
			      sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
		rd_kafka_conf_destroy(conf);
		free(r);
		wk_err(errstr, errstr_size, "registry reader: %s", err);
		return NULL;
	}
	wk_kafka_conf_set_logging(conf);
	r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!r->rk) {
		rd_kafka_conf_destroy(conf);
		free(r);
		wk_err(errstr, errstr_size, "registry reader: %s", err);
		return NULL;
	}
	rd_kafka_poll_set_consumer(r->rk);
	rkt = rd_kafka_topic_new(r->rk, topic, NULL);
	e = rd_kafka_metadata(r->rk, 0, rkt, &md, 5000);
	rd_kafka_topic_destroy(rkt);
	if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
		wk_err(errstr, errstr_size, "metadata of '%s': %s", topic,
		       rd_kafka_err2str(e		? e
					: md->topic_cnt ? md->topics[0].err
							: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
		if (md)
			rd_kafka_metadata_destroy(md);
		wk_cluster_reader_destroy(r);
		return NULL;
	}
	r->np = md->topics[0].partition_cnt;
	r->eof = wk_xcalloc((size_t)r->np, sizeof(*r->eof));
	tp = rd_kafka_topic_partition_list_new(r->np);
	for (int i = 0; i < r->np; i++)
		rd_kafka_topic_partition_list_add(tp, topic, md->topics[0].partitions[i].id)
		    ->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	e = rd_kafka_assign(r->rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (e) {
		wk_err(errstr, errstr_size, "assign '%s': %s", topic, rd_kafka_err2str(e));
		wk_cluster_reader_destroy(r);
		return NULL;
	}
	return r;
}

int wk_cluster_reader_poll(struct wk_cluster_reader *r, int timeout_ms, wk_cluster_record_cb *cb,
			   void *opaque)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);

	while (m) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (m->partition >= 0 && m->partition < r->np && !r->eof[m->partition]) {
				r->eof[m->partition] = true;
				r->at_end++;
			}
		} else if (m->err) {
			wk_debug("registry reader: %s", rd_kafka_message_errstr(m));
		} else {
			char key[256] = "";

			if (m->key && m->key_len < sizeof(key)) {
				memcpy(key, m->key, m->key_len);
				key[m->key_len] = '\0';
			}
			if (!m->key || m->key_len < sizeof(key))
				cb(key, m->payload, m->payload ? m->len : 0, opaque);
		}
		rd_kafka_message_destroy(m);
		m = rd_kafka_consumer_poll(r->rk, 0);
	}
	return r->at_end >= r->np ? 1 : 0;
}
