/* ctl_report.c - wukongctl report: the topics read back into a drain timeline or a convergence
 * chart. */
#include "ctl_report.h"

#include "ctl_args.h"

#include "wk_config.h"
#include "wk_json.h"
#include "wk_kafka.h"
#include "wk_name.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REPORT_OUT_MAX (16 * 1024 * 1024)

/* ---- the pure part ---- */

void ctl_report_init(struct ctl_report *r, bool drain, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->drain = drain;
	wk_strlcpy(r->id, id ? id : "", sizeof(r->id));
	wk_timeline_init(&r->tl, r->id);
	wk_conv_init(&r->conv, WK_CONV_POINTS_MAX);
}

void ctl_report_release(struct ctl_report *r)
{
	wk_timeline_release(&r->tl);
	wk_conv_release(&r->conv);
}

static void copy_name(char *dst, size_t n, const char *s)
{
	if (s && wk_name_is_dns1123_subdomain(s) && strlen(s) < n)
		wk_strlcpy(dst, s, n);
}

bool ctl_report_feed(struct ctl_report *r, char topic, const cJSON *v, int64_t t_ms)
{
	const char *rid = wk_json_str(v, "requestId"), *type = wk_json_str(v, "type");

	if (!cJSON_IsObject(v) || !rid || strcmp(rid, r->id))
		return false;
	if (r->drain) {
		if (topic == 'a' && wk_timeline_audit(&r->tl, v, t_ms) > 0)
			return r->seen = true;
		if (topic == 'p' && type && !strcmp(type, "evacuation") &&
		    wk_timeline_report(&r->tl, v, t_ms) == 0)
			return r->seen = true;
		return false;
	}
	if (topic != 'p' || !type || strcmp(type, "migration"))
		return topic == 'a' ? (r->seen = true) : false;
	copy_name(r->ns, sizeof(r->ns), wk_json_str(v, "namespace"));
	copy_name(r->name, sizeof(r->name), wk_json_str(v, "name"));
	copy_name(r->source, sizeof(r->source), wk_json_str(v, "sourceNode"));
	copy_name(r->target, sizeof(r->target), wk_json_str(v, "targetNode"));
	if (wk_json_str(v, "phase"))
		ctl_safe(wk_json_str(v, "phase"), r->phase, sizeof(r->phase), sizeof(r->phase) - 4);
	wk_conv_add_json(&r->conv, v, t_ms);
	return r->seen = true;
}

static void conv_title(const struct ctl_report *r, char *out, size_t n)
{
	snprintf(out, n, "migration %s: %s/%s %s -> %s, %s, %zu samples", r->id,
		 r->ns[0] ? r->ns : "?", r->name[0] ? r->name : "?", r->source[0] ? r->source : "?",
		 r->target[0] ? r->target : "?", r->phase[0] ? r->phase : "?", r->conv.n);
}

int ctl_report_text(const struct ctl_report *r, int64_t now_ms, int width, bool utf8,
		    struct wk_buf *out)
{
	char title[1400], spark[4096];

	if (r->drain) {
		if (wk_buf_addf(
			out, "%s %s of node %s: %s, %ld/%ld moved, %ld failed, predicted %.0f s\n",
			r->tl.trigger[0] ? r->tl.trigger : "drain", r->id,
			r->tl.node[0] ? r->tl.node : "?", r->tl.phase[0] ? r->tl.phase : "?",
			r->tl.succeeded, r->tl.total, r->tl.failed, r->tl.predicted_s) < 0 ||
		    wk_timeline_text(&r->tl, now_ms, width, utf8, out) < 0)
			return -1;
		if (r->tl.end_ms && !r->tl.dry_run &&
		    (wk_buf_adds(out, "planned against actual:\n") < 0 ||
		     wk_timeline_compare(&r->tl, out) < 0))
			return -1;
		return 0;
	}
	conv_title(r, title, sizeof(title));
	wk_conv_sparkline(&r->conv, (size_t)(width > 20 ? width - 20 : 20), utf8, spark,
			  sizeof(spark));
	if (wk_buf_addf(out, "%s\nremaining %s%s\n", title, spark,
			wk_conv_stalled(&r->conv, 4) ? "  (not converging at the end)" : "") < 0)
		return -1;
	for (size_t i = 0; i < r->conv.n; i++) {
		const struct wk_conv_pt *p = &r->conv.p[i];

		if (wk_buf_addf(
			out,
			"%8.1f s  remaining %10.1f MiB  transfer %8.1f MiB/s  dirty %8.1f MiB/s\n",
			(double)(p->t_ms - r->conv.p[0].t_ms) / 1000.0, p->remaining / 1048576.0,
			p->transfer < 0 ? 0 : p->transfer / 1048576.0,
			p->dirty < 0 ? 0 : p->dirty / 1048576.0) < 0)
			return -1;
	}
	return 0;
}

int ctl_report_svg(const struct ctl_report *r, int64_t now_ms, struct wk_buf *out)
{
	char title[1400];

	if (r->drain)
		return wk_timeline_svg(&r->tl, now_ms, out);
	conv_title(r, title, sizeof(title));
	return wk_conv_svg(&r->conv, title, out);
}

/* ---- reading the topics back ---- */

/* Every message of topic from its beginning to its end as of now, in partition order. */
static int read_topic(rd_kafka_t *rk, const char *topic, struct ctl_report *r, char kind,
		      int64_t deadline, char *errstr, size_t errstr_size)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 10000);
	rd_kafka_topic_partition_list_t *tp;
	int64_t *hi;
	int n, left = 0;

	rd_kafka_topic_destroy(t);
	if (err || !md || md->topic_cnt != 1 || md->topics[0].err) {
		if (md)
			rd_kafka_metadata_destroy(md);
		return wk_err(errstr, errstr_size, "cannot read topic '%s': %s", topic,
			      err ? rd_kafka_err2str(err) : "no such topic");
	}
	n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	hi = wk_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*hi));
	tp = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
	for (int p = 0; p < n; p++) {
		int64_t lo;

		if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 5000)) {
			free(hi);
			rd_kafka_topic_partition_list_destroy(tp);
			return wk_err(errstr, errstr_size, "cannot read the offsets of '%s'",
				      topic);
		}
		if (hi[p] > lo) {
			rd_kafka_topic_partition_list_add(tp, topic, p)->offset = lo;
			left++;
		}
	}
	if (left && rd_kafka_assign(rk, tp)) {
		free(hi);
		rd_kafka_topic_partition_list_destroy(tp);
		return wk_err(errstr, errstr_size, "cannot assign '%s'", topic);
	}
	rd_kafka_topic_partition_list_destroy(tp);
	while (left > 0) {
		rd_kafka_message_t *m;

		if (wk_time_mono_ms() > deadline) {
			free(hi);
			rd_kafka_assign(rk, NULL);
			return wk_err(errstr, errstr_size,
				      "'%s' not read to its end within --timeout", topic);
		}
		m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err && m->payload && m->len <= WK_KAFKA_MAX_MESSAGE) {
			cJSON *v = cJSON_ParseWithLength(m->payload, m->len);
			char tb[64];
			int64_t ts = 0;

			if (wk_kafka_header_copy(m, "ce_time", tb, sizeof(tb)) < 0 ||
			    wk_time_parse_ms(tb, &ts) < 0)
				ts = rd_kafka_message_timestamp(m, NULL);
			ctl_report_feed(r, kind, v, ts);
			cJSON_Delete(v);
		}
		if (!m->err && m->partition < n && m->offset + 1 >= hi[m->partition]) {
			hi[m->partition] = INT64_MAX; /* done with it */
			left--;
		}
		rd_kafka_message_destroy(m);
	}
	free(hi);
	rd_kafka_assign(rk, NULL);
	return 0;
}

static int term_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 100;
}

int ctl_report(const struct ctl_env *e)
{
	const struct ctl_args *a = e->args;
	struct wk_config *cfg;
	struct ctl_report r;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char err[512], t_audit[256], t_prog[256];
	struct wk_buf out;
	int64_t deadline = wk_time_mono_ms() + (a->timeout_ms ? a->timeout_ms : 60000);
	int rc = 0;

	cfg = ctl_env_kafka_config(e, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "wukongctl: %s\n", err);
		return 3;
	}
	wk_kafka_topic(cfg, "audit", t_audit, sizeof(t_audit));
	wk_kafka_topic(cfg, "progress", t_prog, sizeof(t_prog));
	conf = rd_kafka_conf_new();
	if (wk_kafka_conf_apply(conf, cfg, WK_KAFKA_CONSUMER, err, sizeof(err)) < 0 ||
	    rd_kafka_conf_set(conf, "group.id", "wukongctl-report", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof(err))) {
		rd_kafka_conf_destroy(conf);
		wk_config_destroy(cfg);
		fprintf(stderr, "wukongctl: kafka: %s\n", err);
		return 3;
	}
	wk_kafka_conf_set_logging(conf);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		wk_config_destroy(cfg);
		fprintf(stderr, "wukongctl: kafka: %s\n", err);
		return 3;
	}
	ctl_report_init(&r, !strcmp(a->report_kind, "drain"), a->report_id);
	if (read_topic(rk, t_audit, &r, 'a', deadline, err, sizeof(err)) < 0 ||
	    read_topic(rk, t_prog, &r, 'p', deadline, err, sizeof(err)) < 0) {
		fprintf(stderr, "wukongctl: %s; is the stack up? ('wukongctl status')\n", err);
		rc = 3;
		goto out;
	}
	if (!r.seen || (r.drain && r.tl.n == 0) || (!r.drain && r.conv.n == 0)) {
		fprintf(stderr, "wukongctl: nothing about %s request '%s' on '%s' and '%s'%s\n",
			a->report_kind, r.id, t_audit, t_prog,
			r.seen ? " to draw (no plan, report or sample yet)" : "");
		rc = 1;
		goto out;
	}
	wk_buf_init(&out, REPORT_OUT_MAX);
	if (a->svg) {
		FILE *f;

		if (ctl_report_svg(&r, wk_time_now_ms(), &out) < 0) {
			fprintf(stderr, "wukongctl: the SVG exceeds %d bytes\n", REPORT_OUT_MAX);
			rc = 1;
		} else {
			size_t len = strlen(wk_buf_str(&out));
			bool ok = (f = fopen(a->svg, "w")) != NULL;

			ok = ok && fwrite(wk_buf_str(&out), 1, len, f) == len;
			if (f && fclose(f) != 0)
				ok = false;
			if (!ok) {
				fprintf(stderr, "wukongctl: cannot write '%s': %s\n", a->svg,
					strerror(errno));
				rc = 1;
			} else {
				printf("%s %s: wrote %s\n", a->report_kind, r.id, a->svg);
			}
		}
	} else if (ctl_report_text(&r, wk_time_now_ms(), term_width(), isatty(STDOUT_FILENO),
				   &out) == 0) {
		fputs(wk_buf_str(&out), stdout);
	}
	wk_buf_release(&out);
out:
	ctl_report_release(&r);
	rd_kafka_destroy(rk);
	wk_config_destroy(cfg);
	return rc;
}
