/* wt_rebuild.c - read back wukong.events into the fingerprint table. */
#include "wt_rebuild.h"

#include <errno.h>

#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"
#include "wk_time.h"
#include "wk_types.h"
#include "wt_event.h"
#include "wt_fpset.h"


static bool header_str(const rd_kafka_message_t *m, const char *name, char *out, size_t size)
{
	return wk_kafka_header_copy(m, name, out, size) == 0 && out[0];
}

int wt_rebuild_apply(struct wt_fpset *fps, const char *cluster, const rd_kafka_message_t *m)
{
	char src[300], type[200], subject[600], uid[128], fph[32], id[700];
	const char *kname, *chg, *rest, *rv_start, *rv_end;
	char kbuf[64], vmref[300], rv[128];
	const struct wt_kind *k;
	size_t clen = strlen(cluster), dot;
	uint64_t fp;
	char *end;

	if (!m->key || m->key_len <= clen + 1 || memcmp(m->key, cluster, clen) ||
	    ((const char *)m->key)[clen] != '/')
		return 0;
	snprintf(src, sizeof(src), "/clusters/%s", cluster);
	{
		char have[300];

		if (!header_str(m, "ce_source", have, sizeof(have)) || strcmp(have, src))
			return 0;
	}
	if (!header_str(m, "ce_type", type, sizeof(type)) ||
	    strncmp(type, WK_CE_PREFIX, strlen(WK_CE_PREFIX)))
		return 0;
	kname = type + strlen(WK_CE_PREFIX);
	chg = strrchr(kname, '.');
	if (!chg || (size_t)(chg - kname) >= sizeof(kbuf))
		return 0;
	memcpy(kbuf, kname, (size_t)(chg - kname));
	kbuf[chg - kname] = '\0';
	chg++;
	k = wt_kind_by_name(kbuf);
	if (!k || (strcmp(chg, "added") && strcmp(chg, "modified") && strcmp(chg, "deleted")))
		return 0;
	if (!header_str(m, "ce_subject", subject, sizeof(subject)) ||
	    !header_str(m, "ce_wkuid", uid, sizeof(uid)) || !header_str(m, "ce_id", id, sizeof(id)))
		return 0;
	rest = strchr(subject, '/'); /* "<Kind>/<ns>/<name>" -> "<ns>/<name>" */
	if (!rest || !rest[1])
		return 0;
	rest++;
	if (!strcmp(chg, "deleted")) {
		struct wt_fp *cur = wt_fpset_get(fps, k->id, rest);

		/* a deletion of an older incarnation must not forget a newer one */
		if (cur && !strcmp(wt_fp_uid(cur), uid))
			wt_fpset_remove(fps, k->id, rest);
		return 1;
	}
	if (!header_str(m, "ce_wkfp", fph, sizeof(fph)))
		return 0;
	errno = 0;
	fp = strtoull(fph, &end, 16);
	if (*end || errno || strlen(fph) != 16)
		return 0;
	/* ce_id = "<cluster>.<uid>.<rv>.<change>" */
	dot = clen + 1 + strlen(uid) + 1;
	if (strlen(id) <= dot + strlen(chg) + 1 || strncmp(id, cluster, clen) || id[clen] != '.' ||
	    strncmp(id + clen + 1, uid, strlen(uid)) || id[dot - 1] != '.')
		return 0;
	rv_start = id + dot;
	rv_end = id + strlen(id) - strlen(chg) - 1;
	if (rv_end <= rv_start || *rv_end != '.' || (size_t)(rv_end - rv_start) >= sizeof(rv))
		return 0;
	memcpy(rv, rv_start, (size_t)(rv_end - rv_start));
	rv[rv_end - rv_start] = '\0';
	/* key "<cluster>/<key_ns>/<vm>" unless node-keyed */
	vmref[0] = '\0';
	if (k->id != WT_NODE && k->id != WT_NODEMETRICS) {
		size_t n = m->key_len - clen - 1;
		const char *kr = (const char *)m->key + clen + 1;

		if (n >= sizeof(vmref))
			return 0;
		memcpy(vmref, kr, n);
		vmref[n] = '\0';
		if (k->id == WT_MIGRATIONPOLICY && !strncmp(vmref, "migrationpolicy/", 16) &&
		    !strcmp(vmref + 16, rest))
			vmref[0] = '\0';
	}
	if (!wt_fpset_put(fps, k->id, rest, uid, rv, vmref, fp))
		return 0;
	return 1;
}

struct wt_rebuild {
	rd_kafka_t *rk;
	char *topic;
	char *cluster;
	int np;
	int32_t *part;
	int64_t *high; /* -1 once the partition is read up to its watermark */
	int remaining;
	int64_t start_ms;
	struct wt_rebuild_stats st;
};

void wt_rebuild_end(struct wt_rebuild *rb)
{
	if (!rb)
		return;
	if (rb->rk) {
		rd_kafka_consumer_close(rb->rk);
		rd_kafka_destroy(rb->rk);
	}
	free(rb->topic);
	free(rb->cluster);
	free(rb->part);
	free(rb->high);
	free(rb);
}

struct wt_rebuild *wt_rebuild_begin(const struct wk_config *cfg, const char *topic,
				    const char *cluster, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *assign = NULL;
	rd_kafka_topic_t *rkt = NULL;
	struct wt_rebuild *rb;
	char err[512], group[300];
	rd_kafka_resp_err_t e;

	if (!wk_config_get(cfg, "kafka.bootstrap.servers", NULL)) {
		wk_err(errstr, errstr_size, "config key 'kafka.bootstrap.servers' is not set");
		return NULL;
	}
	conf = rd_kafka_conf_new();
	/* Consumer settings only (wk_kafka_conf.c); group.id below overrides any configured. */
	if (wk_kafka_conf_apply(conf, cfg, WK_KAFKA_CONSUMER, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	snprintf(group, sizeof(group), "wukong-watcher-rebuild-%s", cluster);
	/* assign() only: the group id is never joined and nothing is committed. Small fetch
	 * buffers keep the read-back from inflating the resident set. */
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "2048", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "fetch.max.bytes", "1048576", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "max.partition.fetch.bytes", "262144", err, sizeof(err))) {
		rd_kafka_conf_destroy(conf);
		wk_err(errstr, errstr_size, "rebuild consumer: %s", err);
		return NULL;
	}
	wk_kafka_conf_set_logging(conf);
	rb = wk_xcalloc(1, sizeof(*rb));
	rb->start_ms = wk_time_mono_ms();
	rb->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rb->rk) {
		rd_kafka_conf_destroy(conf);
		wk_err(errstr, errstr_size, "rebuild consumer: %s", err);
		goto fail;
	}
	rb->topic = wk_xstrdup(topic);
	rb->cluster = wk_xstrdup(cluster);
	rd_kafka_poll_set_consumer(rb->rk);
	rkt = rd_kafka_topic_new(rb->rk, topic, NULL);
	e = rd_kafka_metadata(rb->rk, 0, rkt, &md, 5000);
	if (e || md->topic_cnt != 1 || md->topics[0].err) {
		wk_err(errstr, errstr_size, "metadata of '%s': %s", topic,
		       rd_kafka_err2str(e		? e
					: md->topic_cnt ? md->topics[0].err
							: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
		goto fail;
	}
	rb->np = md->topics[0].partition_cnt;
	rb->st.partitions = rb->np;
	rb->part = wk_xcalloc((size_t)(rb->np > 0 ? rb->np : 1), sizeof(*rb->part));
	rb->high = wk_xcalloc((size_t)(rb->np > 0 ? rb->np : 1), sizeof(*rb->high));
	assign = rd_kafka_topic_partition_list_new(rb->np > 0 ? rb->np : 1);
	for (int i = 0; i < rb->np; i++) {
		int32_t p = md->topics[0].partitions[i].id;
		int64_t lo, hi;

		rb->part[i] = p;
		e = rd_kafka_query_watermark_offsets(rb->rk, topic, p, &lo, &hi, 5000);
		if (e) {
			wk_err(errstr, errstr_size, "watermarks of '%s' [%d]: %s", topic, (int)p,
			       rd_kafka_err2str(e));
			goto fail;
		}
		rb->high[i] = -1;
		if (hi > lo) {
			rb->high[i] = hi;
			rd_kafka_topic_partition_list_add(assign, topic, p)->offset = lo;
			rb->remaining++;
		}
	}
	if (rb->remaining && (e = rd_kafka_assign(rb->rk, assign))) {
		wk_err(errstr, errstr_size, "assign '%s': %s", topic, rd_kafka_err2str(e));
		goto fail;
	}
	rd_kafka_topic_partition_list_destroy(assign);
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return rb;
fail:
	if (assign)
		rd_kafka_topic_partition_list_destroy(assign);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	wt_rebuild_end(rb);
	return NULL;
}

int wt_rebuild_poll(struct wt_rebuild *rb, struct wt_fpset *fps, int budget_ms, char *errstr,
		    size_t errstr_size)
{
	int64_t deadline = wk_time_mono_ms() + budget_ms;

	(void)errstr;
	(void)errstr_size;
	while (rb->remaining > 0) {
		rd_kafka_message_t *m;
		int64_t left = deadline - wk_time_mono_ms();
		int idx = -1;

		if (left <= 0)
			break;
		m = rd_kafka_consumer_poll(rb->rk, (int)(left < 100 ? left : 100));
		if (!m)
			continue;
		for (int i = 0; i < rb->np; i++) {
			if (rb->part[i] == m->partition)
				idx = i;
		}
		if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			wk_warn("rebuild: reading '%s': %s", rb->topic, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		if (!m->err) {
			rb->st.messages++;
			if (wt_rebuild_apply(fps, rb->cluster, m))
				rb->st.applied++;
			else
				rb->st.ignored++;
		}
		if (idx >= 0 && rb->high[idx] >= 0 &&
		    (m->offset + 1 >= rb->high[idx] ||
		     m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)) {
			rb->high[idx] = -1;
			rb->remaining--;
		}
		rd_kafka_message_destroy(m);
	}
	rb->st.elapsed_ms = wk_time_mono_ms() - rb->start_ms;
	return rb->remaining == 0 ? 1 : 0;
}

void wt_rebuild_get_stats(const struct wt_rebuild *rb, struct wt_rebuild_stats *st)
{
	*st = rb->st;
}

int wt_rebuild(const struct wk_config *cfg, const char *topic, const char *cluster,
	       struct wt_fpset *fps, long timeout_ms, struct wt_rebuild_stats *st, char *errstr,
	       size_t errstr_size)
{
	struct wt_rebuild *rb = wt_rebuild_begin(cfg, topic, cluster, errstr, errstr_size);
	int64_t deadline = wk_time_mono_ms() + timeout_ms;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!rb)
		return -1;
	while (rc == 0 && wk_time_mono_ms() < deadline)
		rc = wt_rebuild_poll(rb, fps, 200, errstr, errstr_size);
	wt_rebuild_get_stats(rb, st);
	if (rc == 0)
		wk_err(errstr, errstr_size,
		       "reading '%s' back took over %ld ms (%d partition(s) not done)", topic,
		       timeout_ms, rb->remaining);
	wt_rebuild_end(rb);
	return rc == 1 ? 0 : -1;
}
