/* test_wt_watcher.c - the watcher's event path with a capturing sink: relist diffs, deletions seen
 * as absence, recreation, synced markers, failed deliveries, malformed / oversized / unknown-kind
 * input; and the read-back of wukong.events (restart without a flood) against an in-process
 * librdkafka mock broker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"
#include "../../producers/watcher/wt_rebuild.h"
#include "../../producers/watcher/wt_watcher.h"

#define MAXCAP 256

struct cap {
	int n;
	char type[MAXCAP][160];
	char key[MAXCAP][600];
	char id[MAXCAP][640];
	char *body[MAXCAP];
	struct wt_pending *p[MAXCAP];
	int fail_next; /* sink refuses (local queue full) this many */
};

static struct cap cap;

static int sink(struct wt *w, const struct wt_event *ev, struct wt_pending *p)
{
	(void)w;
	if (cap.fail_next > 0) {
		cap.fail_next--;
		return -1;
	}
	assert_true(cap.n < MAXCAP);
	snprintf(cap.type[cap.n], sizeof(cap.type[0]), "%s", ev->type);
	snprintf(cap.key[cap.n], sizeof(cap.key[0]), "%s", ev->key);
	snprintf(cap.id[cap.n], sizeof(cap.id[0]), "%s", ev->id);
	cap.body[cap.n] = wk_xstrndup(ev->body, ev->body_len);
	cap.p[cap.n] = p;
	cap.n++;
	return 0;
}

static void cap_reset(struct wt *w, bool deliver_ok)
{
	for (int i = 0; i < cap.n; i++) {
		if (cap.p[i])
			wt_delivered(w, cap.p[i], deliver_ok);
		free(cap.body[i]);
	}
	memset(&cap, 0, sizeof(cap));
}

/* "<kind>.<change>" of event i */
static const char *short_type(int i)
{
	return cap.type[i] + strlen("dev.novasphere.wukong.");
}

static struct wk_config *cfg_new(const char *bootstrap)
{
	struct wk_config *cfg = wk_config_new();

	wk_config_set(cfg, "cluster.id", "c1");
	if (bootstrap)
		wk_config_set(cfg, "kafka.bootstrap.servers", bootstrap);
	return cfg;
}

static void wt_setup(struct wt *w, struct wk_config *cfg)
{
	char err[256];

	assert_int_equal(wt_init(w, cfg, "c1", err, sizeof(err)), 0);
	w->sink = sink;
	memset(&cap, 0, sizeof(cap));
}

static cJSON *vm(const char *name, const char *uid, const char *rv, bool running)
{
	char *s = wk_xasprintf("{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
			       "\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"%s\","
			       "\"resourceVersion\":\"%s\"},\"spec\":{\"running\":%s}}",
			       name, uid, rv, running ? "true" : "false");
	cJSON *o = cJSON_Parse(s);

	free(s);
	assert_non_null(o);
	return o;
}

static void ev(struct wt *w, enum wk_k8s_event_type t, cJSON *o)
{
	wt_handle(w, &wt_kinds[WT_VM], t, o);
	cJSON_Delete(o);
}

static void relist(struct wt *w, cJSON **objs, int n)
{
	cJSON *list = cJSON_Parse("{\"metadata\":{\"resourceVersion\":\"500\"}}");

	wt_handle(w, &wt_kinds[WT_VM], WK_K8S_EV_RELIST_BEGIN, NULL);
	for (int i = 0; i < n; i++)
		ev(w, WK_K8S_EV_ADDED, objs[i]);
	wt_handle(w, &wt_kinds[WT_VM], WK_K8S_EV_RELIST_END, list);
	cJSON_Delete(list);
}

static void relist_diffs(void **state)
{
	struct wk_config *cfg = cfg_new(NULL);
	struct wt w;

	(void)state;
	wt_setup(&w, cfg);
	/* initial list: two adds and one synced marker */
	relist(&w, (cJSON *[]){vm("a", "ua", "1", true), vm("b", "ub", "2", true)}, 2);
	assert_int_equal(cap.n, 3);
	assert_string_equal(short_type(0), "virtualmachine.added");
	assert_string_equal(short_type(1), "virtualmachine.added");
	assert_string_equal(short_type(2), "virtualmachine.synced");
	assert_string_equal(cap.key[0], "c1/ns/a");
	assert_string_equal(cap.key[2], "c1/cluster");
	assert_string_equal(cap.id[2], "c1.virtualmachine.500.synced");
	assert_int_equal(w.inflight, 3);
	cap_reset(&w, true);
	assert_int_equal(w.inflight, 0);

	/* watch: a no-op update (new resourceVersion only) publishes nothing */
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "3", true));
	assert_int_equal(cap.n, 0);
	assert_int_equal(w.skipped, 1);
	/* a real change */
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "4", false));
	assert_int_equal(cap.n, 1);
	assert_string_equal(short_type(0), "virtualmachine.modified");
	assert_string_equal(cap.id[0], "c1.ua.4.modified");
	cap_reset(&w, true);

	/* a relist (410) after which: a unchanged, b changed, c new, and one gone (none here) */
	relist(&w,
	       (cJSON *[]){vm("a", "ua", "4", false), vm("b", "ub", "9", false),
			   vm("c", "uc", "10", true)},
	       3);
	assert_int_equal(cap.n, 2); /* no second synced marker in the same term */
	assert_string_equal(short_type(0), "virtualmachine.modified");
	assert_string_equal(cap.key[0], "c1/ns/b");
	assert_string_equal(short_type(1), "virtualmachine.added");
	assert_string_equal(cap.key[1], "c1/ns/c");
	cap_reset(&w, true);

	/* deleted while not watching: seen as absence */
	relist(&w, (cJSON *[]){vm("a", "ua", "4", false)}, 1);
	assert_int_equal(cap.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(short_type(i), "virtualmachine.deleted");
		assert_non_null(strstr(cap.body[i], "\"observedBy\":\"relist\""));
	}
	assert_int_equal(wt_fpset_count(w.fps, WT_VM), 1);
	cap_reset(&w, true);

	/* an object that turns invalid (a uid with a '.') is skipped, not reported deleted */
	{
		cJSON *bad = vm("a", "ua", "4", false);

		cJSON_ReplaceItemInObject(cJSON_GetObjectItem(bad, "metadata"), "uid",
					  cJSON_CreateString("u.a"));
		relist(&w, (cJSON *[]){bad}, 1);
		assert_int_equal(cap.n, 0); /* no deletion (and no second synced marker) */
		assert_int_equal(w.malformed, 1);
		assert_non_null(wt_fpset_get(w.fps, WT_VM, "ns/a"));
		cap_reset(&w, true);
	}

	/* recreated under the same name: the old one's deletion first, then the add */
	ev(&w, WK_K8S_EV_ADDED, vm("a", "ua2", "20", false));
	assert_int_equal(cap.n, 2);
	assert_string_equal(cap.id[0], "c1.ua.4.deleted");
	assert_string_equal(cap.id[1], "c1.ua2.20.added");
	cap_reset(&w, true);

	/* a DELETED of an older incarnation, and of something never seen: nothing */
	ev(&w, WK_K8S_EV_DELETED, vm("a", "ua", "21", false));
	ev(&w, WK_K8S_EV_DELETED, vm("zz", "uzz", "22", false));
	assert_int_equal(cap.n, 0);
	ev(&w, WK_K8S_EV_DELETED, vm("a", "ua2", "23", false));
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.id[0], "c1.ua2.23.deleted");
	assert_int_equal(wt_fpset_count(w.fps, WT_VM), 0);
	cap_reset(&w, true);
	wt_release(&w);
	wk_config_destroy(cfg);
}

static void failed_delivery_republished(void **state)
{
	struct wk_config *cfg = cfg_new(NULL);
	struct wt w;

	(void)state;
	wt_setup(&w, cfg);
	relist(&w, (cJSON *[]){vm("a", "ua", "1", true), vm("b", "ub", "2", true)}, 2);
	cap_reset(&w, true);
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "3", false));
	ev(&w, WK_K8S_EV_DELETED, vm("b", "ub", "4", true));
	assert_int_equal(cap.n, 2);
	cap_reset(&w, false); /* both fail */
	assert_int_equal(w.delivery_failed, 2);
	assert_true(w.ks[WT_VM].relist_due);
	/* the relist the failure asked for republishes both: the change and the deletion */
	relist(&w, (cJSON *[]){vm("a", "ua", "3", false)}, 1);
	assert_int_equal(cap.n, 2);
	assert_string_equal(cap.id[0], "c1.ua.3.modified");
	assert_string_equal(short_type(1), "virtualmachine.deleted");
	cap_reset(&w, true);
	/* the sink refusing (queue full locally) counts as a failed delivery too */
	cap.fail_next = 1;
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "5", true));
	assert_int_equal(cap.n, 0);
	assert_int_equal(w.inflight, 0);
	assert_int_equal(w.delivery_failed, 3);
	assert_true(wt_fpset_get(w.fps, WT_VM, "ns/a")->fp == 0);
	/* a stale report from an earlier term does not touch the set */
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "6", false));
	assert_int_equal(cap.n, 1);
	w.term++;
	cap_reset(&w, false);
	assert_true(wt_fpset_get(w.fps, WT_VM, "ns/a")->fp != 0);
	wt_release(&w);
	wk_config_destroy(cfg);
}

static void replay_input(void **state)
{
	struct wk_config *cfg = cfg_new(NULL);
	struct wt w;
	const char *good = "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":"
			   "\"Node\",\"metadata\":{\"name\":\"n1\",\"uid\":\"un\","
			   "\"resourceVersion\":\"1\"}}}\n";
	const char *junk[] = {
	    "not json\n",
	    "\n\n\r\n", /* empty lines: skipped, not counted */
	    "{\"type\":\"EXPLODED\",\"object\":{}}\n",
	    "{\"type\":\"ADDED\"}\n",
	    "[1,2,3]\n",
	    "\xff\xfe\x01garbage\n",
	    "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
	    "\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}}\n",
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}\n",
	    "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{"
	    "\"name\":\"../../etc\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}}\n",
	    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\","
	    "\"metadata\":{\"resourceVersion\":\"9\"}}}\n",
	};
	char *big;

	(void)state;
	wt_setup(&w, cfg);
	w.ks[WT_NODE].epoch = 1;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		wt_replay_feed(&w, junk[i], strlen(junk[i]));
	assert_int_equal(cap.n, 0);
	assert_int_equal(w.malformed, 5 + 1); /* incl. the hostile name */
	assert_int_equal(w.unknown_kind, 2);  /* Pod, and no kind at all */
	/* a line over the 1 MiB cap, then a good line: the stream goes on */
	big = wk_xmalloc(WK_K8S_WATCH_MAX_LINE + 2);
	memset(big, ' ', WK_K8S_WATCH_MAX_LINE + 1);
	big[WK_K8S_WATCH_MAX_LINE + 1] = '\n';
	wt_replay_feed(&w, big, WK_K8S_WATCH_MAX_LINE + 2);
	assert_int_equal(w.oversized, 1);
	/* exactly at the cap: parsed (whitespace then a valid event) */
	memset(big, ' ', WK_K8S_WATCH_MAX_LINE);
	memcpy(big + WK_K8S_WATCH_MAX_LINE - strlen(good) + 1, good, strlen(good) - 1);
	big[WK_K8S_WATCH_MAX_LINE] = '\n';
	wt_replay_feed(&w, big, WK_K8S_WATCH_MAX_LINE + 1);
	assert_int_equal(w.oversized, 1);
	assert_int_equal(cap.n, 1);
	assert_string_equal(short_type(0), "node.added");
	free(big);
	/* the same again: unchanged; then a truncated line completed by the next chunk */
	wt_replay_feed(&w, good, strlen(good));
	assert_int_equal(cap.n, 1);
	{
		const char *line = "{\"type\":\"MODIFIED\",\"object\":{\"apiVersion\":\"v1\","
				   "\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"uid\":"
				   "\"un\",\"resourceVersion\":\"2\"},\"spec\":{"
				   "\"unschedulable\":true}}}\n";

		wt_replay_feed(&w, line, 48);
		assert_int_equal(cap.n, 1);
		wt_replay_feed(&w, line + 48, strlen(line) - 48);
	}
	assert_int_equal(cap.n, 2);
	assert_string_equal(short_type(1), "node.modified");
	assert_string_equal(cap.key[1], "c1/node/n1");
	cap_reset(&w, true);
	wt_release(&w);
	wk_config_destroy(cfg);
}

/* ---- read-back against a mock broker ---- */

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/* What the watcher service's on_delivery does with the service producer's reports. */
static void test_dr(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset,
		    void *opaque)
{
	(void)partition;
	(void)offset;
	wt_delivery(opaque, msg_opaque, err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void restart_reads_back(void **state)
{
	struct wk_producer *prod;
	rd_kafka_conf_t *mconf = rd_kafka_conf_new();
	char err[512], path[] = "/tmp/wt-replay-XXXXXX";
	rd_kafka_t *mrk;
	rd_kafka_mock_cluster_t *mc;
	struct wk_config *cfg;
	struct wt_rebuild_stats st;
	struct wt w, w2;
	struct wt_fpset *fps;
	const struct wt_fp *e;
	int fd;

	(void)state;
	rd_kafka_conf_set(mconf, "log_level", "2", err, sizeof(err));
	mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
	assert_non_null(mrk);
	mc = rd_kafka_mock_cluster_new(mrk, 1);
	assert_non_null(mc);
	assert_int_equal(rd_kafka_mock_topic_create(mc, "wukong.events", 3, 1), 0);
	cfg = cfg_new(rd_kafka_mock_cluster_bootstraps(mc));
	wk_config_set(cfg, "kafka.log_level", "2");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(write_file(path, ""), 0);
	wk_config_set(cfg, "watcher.replay", path);

	/* first life: publish through a real producer (as the service's, message.timeout.ms=0) */
	wk_config_set(cfg, "kafka.message.timeout.ms", "0");
	prod = wk_producer_new(cfg, test_dr, &w, err, sizeof(err));
	assert_non_null(prod);
	assert_int_equal(wt_init(&w, cfg, "c1", err, sizeof(err)), 0);
	assert_int_equal(wt_start(&w, prod, err, sizeof(err)), 0);
	assert_ptr_equal(w.prod, prod);
	w.term = 1;
	relist(&w,
	       (cJSON *[]){vm("a", "ua", "1", true), vm("b", "ub", "2", true),
			   vm("c", "uc", "3", true)},
	       3);
	ev(&w, WK_K8S_EV_MODIFIED, vm("a", "ua", "4", false));
	ev(&w, WK_K8S_EV_DELETED, vm("c", "uc", "5", true));
	assert_int_equal(wk_producer_flush(w.prod, 10000), 0);
	assert_int_equal(w.inflight, 0);
	assert_int_equal(w.delivery_failed, 0);

	/* what a restarted watcher reads back equals what the first one remembered */
	fps = wt_fpset_new();
	assert_int_equal(wt_rebuild(cfg, "wukong.events", "c1", fps, 10000, &st, err, sizeof(err)),
			 0);
	assert_int_equal(st.partitions, 3);
	assert_int_equal(st.messages, 6); /* 3 adds, synced, modify, delete */
	assert_int_equal(st.applied, 5);
	assert_int_equal(wt_fpset_total(fps), 2);
	for (const char *id = "ns/a"; id; id = strcmp(id, "ns/a") ? NULL : "ns/b") {
		const struct wt_fp *a = wt_fpset_get(w.fps, WT_VM, id);

		e = wt_fpset_get(fps, WT_VM, id);
		assert_non_null(e);
		assert_true(e->fp == a->fp);
		assert_string_equal(wt_fp_uid(e), wt_fp_uid(a));
		assert_string_equal(wt_fp_rv(e), wt_fp_rv(a));
		assert_string_equal(wt_fp_vmref(e), wt_fp_vmref(a));
	}
	assert_null(wt_fpset_get(fps, WT_VM, "ns/c"));
	/* another cluster's view of the same topic is empty */
	{
		struct wt_fpset *other = wt_fpset_new();

		assert_int_equal(
		    wt_rebuild(cfg, "wukong.events", "c2", other, 10000, &st, err, sizeof(err)), 0);
		assert_int_equal(wt_fpset_total(other), 0);
		assert_int_equal(st.ignored, 6);
		wt_fpset_destroy(other);
	}
	/* (an unknown topic: the mock broker creates topics on a metadata request, so this is
	 * not testable here; against real Kafka wt_rebuild_begin fails and the watcher retries) */

	/* second life, with the read-back set: unchanged a is not republished, changed b is,
	 * and d (created while down) is added; nothing about c (already deleted) */
	wt_setup(&w2, cfg);
	wt_fpset_destroy(w2.fps);
	w2.fps = fps;
	relist(&w2,
	       (cJSON *[]){vm("a", "ua", "4", false), vm("b", "ub", "7", false),
			   vm("d", "ud", "8", true)},
	       3);
	assert_int_equal(cap.n, 3);
	assert_string_equal(cap.id[0], "c1.ub.7.modified");
	assert_string_equal(cap.id[1], "c1.ud.8.added");
	assert_string_equal(short_type(2), "virtualmachine.synced");
	cap_reset(&w2, true);
	/* and a relist without a: its deletion (while we were down) is published */
	relist(&w2, (cJSON *[]){vm("b", "ub", "7", false), vm("d", "ud", "8", true)}, 2);
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.id[0], "c1.ua.4.deleted");
	cap_reset(&w2, true);
	wt_release(&w2);

	wk_producer_destroy(prod);
	wt_release(&w);
	/* a report after the watcher is released only frees what travelled with the message */
	wt_delivery(NULL, wk_xcalloc(1, sizeof(struct wt_pending)), true);
	wt_delivery(NULL, NULL, false);
	unlink(path);
	wk_config_destroy(cfg);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(mrk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(relist_diffs),
	    cmocka_unit_test(failed_delivery_republished),
	    cmocka_unit_test(replay_input),
	    cmocka_unit_test(restart_reads_back),
	};
	wk_log_init("test_wt_watcher", WK_LOG_ERROR);
	return cmocka_run_group_tests_name("wt_watcher", tests, NULL, NULL);
}
