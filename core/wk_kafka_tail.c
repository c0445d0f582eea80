/* wk_kafka_tail.c - group-less readers of a whole topic from a point in time (wk_kafka.h). */
#include "wk_kafka.h"

#include "wk_config.h"
#include "wk_log.h"

#include <stdio.h>
#include <string.h>

struct wk_tail {
	rd_kafka_t *rk;
	int np, at_end;
	int32_t *ids;
	bool *eof;
};

void wk_tail_destroy(struct wk_tail *t)
{
	if (!t)
		return;
	if (t->rk) {
		rd_kafka_assign(t->rk, NULL);
		rd_kafka_consumer_close(t->rk);
		rd_kafka_destroy(t->rk);
	}
	free(t->eof);
	free(t->ids);
	free(t);
}

struct wk_tail *wk_tail_new(const struct wk_config *cfg, const char *topic, int64_t since_ms,
			    const char *group, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *tp = NULL;
	struct wk_tail *t = wk_xcalloc(1, sizeof(*t));
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t e;
	char err[512];

	if (wk_kafka_conf_apply(conf, cfg, WK_KAFKA_CONSUMER, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		free(t);
		return NULL;
	}
	/* assign() only: the group is never joined, nothing is committed */
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
		rd_kafka_conf_destroy(conf);
		free(t);
		wk_err(errstr, errstr_size, "reader of '%s': %s", topic, err);
		return NULL;
	}
	wk_kafka_conf_set_logging(conf);
	t->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!t->rk) {
		rd_kafka_conf_destroy(conf);
		free(t);
		wk_err(errstr, errstr_size, "reader of '%s': %s", topic, err);
		return NULL;
	}
	rd_kafka_poll_set_consumer(t->rk);
	rkt = rd_kafka_topic_new(t->rk, topic, NULL);
	e = rd_kafka_metadata(t->rk, 0, rkt, &md, 5000);
	rd_kafka_topic_destroy(rkt);
	if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
		wk_err(errstr, errstr_size, "metadata of '%s': %s", topic,
		       rd_kafka_err2str(e		? e
					: md->topic_cnt ? md->topics[0].err
							: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
		if (md)
			rd_kafka_metadata_destroy(md);
		wk_tail_destroy(t);
		return NULL;
	}
	t->np = md->topics[0].partition_cnt;
	t->eof = wk_xcalloc((size_t)t->np, sizeof(*t->eof));
	t->ids = wk_xcalloc((size_t)t->np, sizeof(*t->ids));
	tp = rd_kafka_topic_partition_list_new(t->np);
	for (int i = 0; i < t->np; i++) {
		t->ids[i] = md->topics[0].partitions[i].id;
		/* offsets_for_times takes the time in the offset field */
		rd_kafka_topic_partition_list_add(tp, topic, t->ids[i])->offset =
		    since_ms > 0 ? since_ms : RD_KAFKA_OFFSET_BEGINNING;
	}
	rd_kafka_metadata_destroy(md);
	if (since_ms > 0) {
		e = rd_kafka_offsets_for_times(t->rk, tp, 5000);
		for (int i = 0; !e && i < tp->cnt; i++) {
			/* no message at or after the time: the end */
			if (tp->elems[i].err || tp->elems[i].offset < 0)
				tp->elems[i].offset = RD_KAFKA_OFFSET_END;
		}
		if (e) {
			wk_err(errstr, errstr_size, "offsets of '%s' at %lld: %s", topic,
			       (long long)since_ms, rd_kafka_err2str(e));
			rd_kafka_topic_partition_list_destroy(tp);
			wk_tail_destroy(t);
			return NULL;
		}
	}
	e = rd_kafka_assign(t->rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (e) {
		wk_err(errstr, errstr_size, "assign '%s': %s", topic, rd_kafka_err2str(e));
		wk_tail_destroy(t);
		return NULL;
	}
	return t;
}

rd_kafka_message_t *wk_tail_poll(struct wk_tail *t, int timeout_ms)
{
	rd_kafka_message_t *m;

	while ((m = rd_kafka_consumer_poll(t->rk, timeout_ms))) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			for (int i = 0; i < t->np; i++)
				if (t->ids[i] == m->partition && !t->eof[i]) {
					t->eof[i] = true;
					t->at_end++;
				}
		} else if (m->err) {
			wk_debug("reader: %s", rd_kafka_message_errstr(m));
		} else {
			return m;
		}
		rd_kafka_message_destroy(m);
		timeout_ms = 0;
	}
	return NULL;
}

bool wk_tail_caught_up(const struct wk_tail *t)
{
	return t->at_end >= t->np;
}
