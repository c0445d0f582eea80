/* audit_bench.c - benchmark of the audit log (core/wk_auditlog.h), driven by
 * tests/bench/audit-bench.sh. Every figure is reported next to a baseline measured in the same
 * run, as a ratio:
 *
 *   write DIR N      records/s with the default policy (fsync per 256 records or 50 ms), against
 *                    (a) fsync after every record and (b) plain unchained appends (fwrite of the
 *                    same JSON, no hash, no fsync): the cost of the chain and of durability.
 *   query DIR M      builds an M-record log (1000 VMs, M/10 requests), then times queries by VM,
 *                    by request and by time window with the sidecar indexes against a full scan,
 *                    and the time `verify` takes over it.
 */
#include "wk_auditlog.h"
#include "wk_log.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = wk_xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

struct names {
	char id[32], vm[32], req[32];
};

/* Record i: a typical executor event. */
static void entry(struct wk_audit_entry *e, struct names *n, long i, long nreq)
{
	snprintf(n->id, sizeof(n->id), "ev-%ld", i);
	snprintf(n->vm, sizeof(n->vm), "vm-%ld", i % 1000);
	snprintf(n->req, sizeof(n->req), "req-%ld", i % nreq);
	wk_audit_entry_init(e);
	e->kind = "event";
	e->ce_source = "/clusters/bench";
	e->ce_id = n->id;
	e->ce_type = "dev.novasphere.wukong.audit.v1";
	e->request_id = n->req;
	e->request_source = "kafka";
	e->cluster = "bench";
	e->object_kind = "Wukong";
	e->object_namespace = "default";
	e->object_name = n->vm;
	e->actor = "wukong-migrator";
	e->action = "migration.vmim-created";
	e->outcome = "success";
	e->input_topic = "wukong.audit";
	e->input_partition = 0;
	e->input_offset = i;
	e->dedupe_key = n->id;
	e->dedupe_key_len = strlen(n->id);
}

/* Wall-clock time of the first and the last append of the last write_log() run. */
static int64_t first_us, last_us;

static double write_log(const char *dir, long n, const struct wk_auditlog_opts *base, long nreq)
{
	struct wk_auditlog_opts o = *base;
	struct wk_auditlog *l;
	char err[512];
	double t0;
	uint64_t seq;

	rm_rf(dir);
	o.dir = dir;
	l = wk_auditlog_new(&o, err, sizeof(err));
	if (!l)
		wk_die(1, "%s", err);
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct wk_audit_entry e;
		struct names nm;

		entry(&e, &nm, i, nreq);
		if (i == 0)
			first_us = wall_us();
		if (wk_auditlog_append(l, &e, &seq, err, sizeof(err)))
			wk_die(1, "append: %s", err);
		/* What the service's tick does between messages. */
		if (wk_auditlog_sync_if_due(l, err, sizeof(err)) < 0)
			wk_die(1, "%s", err);
	}
	last_us = wall_us();
	if (wk_auditlog_sync(l, err, sizeof(err)))
		wk_die(1, "%s", err);
	wk_auditlog_destroy(l);
	return (double)n / (now_s() - t0);
}

/* Baseline (b): the same JSON written with stdio, no chain, no dedupe, no fsync. */
static double write_plain(const char *dir, long n)
{
	char *path = wk_xasprintf("%s.plain", dir);
	FILE *f = fopen(path, "w");
	double t0 = now_s();

	if (!f)
		wk_die(1, "cannot write '%s'", path);
	for (long i = 0; i < n; i++)
		fprintf(
		    f,
		    "{\"v\":1,\"seq\":%ld,\"time\":\"2026-01-01T00:00:00.000000Z\",\"kind\":"
		    "\"event\",\"ceSource\":\"/clusters/bench\",\"ceId\":\"ev-%ld\",\"ceType\":"
		    "\"dev.novasphere.wukong.audit.v1\",\"request\":{\"id\":\"req-%ld\",\"source\":"
		    "\"kafka\"},\"cluster\":\"bench\",\"object\":{\"kind\":\"Wukong\","
		    "\"namespace\":"
		    "\"default\",\"name\":\"vm-%ld\"},\"actor\":\"wukong-migrator\",\"action\":"
		    "\"migration.vmim-created\",\"outcome\":\"success\",\"input\":{\"topic\":"
		    "\"wukong.audit\",\"partition\":0,\"offset\":%ld}}\n",
		    i + 1, i, i % 1000, i % 1000, i);
	fclose(f);
	unlink(path);
	free(path);
	return (double)n / (now_s() - t0);
}

static int count_cb(const char *line, size_t len, const cJSON *rec, void *opaque)
{
	(void)line;
	(void)len;
	(void)rec;
	(*(size_t *)opaque)++;
	return 0;
}

static void time_query(const char *dir, const char *what, struct wk_auditlog_query *q)
{
	size_t hits = 0, hits_full = 0;
	char err[512];
	double t0, ti, tf;

	t0 = now_s();
	if (wk_auditlog_query_run(dir, q, count_cb, &hits, err, sizeof(err)))
		wk_die(1, "%s", err);
	ti = now_s() - t0;
	q->no_index = true;
	t0 = now_s();
	if (wk_auditlog_query_run(dir, q, count_cb, &hits_full, err, sizeof(err)))
		wk_die(1, "%s", err);
	tf = now_s() - t0;
	q->no_index = false;
	if (hits != hits_full)
		wk_die(1, "query %s: index found %zu, scan %zu", what, hits, hits_full);
	printf("query %-28s %6zu matches: indexed %8.1f ms, full scan %8.1f ms, ratio %6.1fx\n",
	       what, hits, ti * 1000, tf * 1000, tf / ti);
}

int main(int argc, char **argv)
{
	struct wk_auditlog_opts o = {0};
	long n;

	wk_log_init("audit_bench", WK_LOG_WARN);
	if (argc != 4 || (strcmp(argv[1], "write") && strcmp(argv[1], "query")) ||
	    (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: audit_bench write|query DIR N\n");
		return 2;
	}
	if (!strcmp(argv[1], "write")) {
		long nsync = n / 40 > 200 ? n / 40 : 200;
		double batched, every, plain;

		batched = write_log(argv[2], n, &o, n / 10 + 1);
		o.fsync_every_record = true;
		every = write_log(argv[2], nsync, &o, n / 10 + 1);
		plain = write_plain(argv[2], n);
		rm_rf(argv[2]);
		printf("write  chained, fsync per %d records or %d ms: %9.0f records/s\n",
		       WK_AUDITLOG_DEF_FSYNC_BATCH, WK_AUDITLOG_DEF_FSYNC_DELAY_MS, batched);
		printf(
		    "write  chained, fsync per record (%ld records):   %9.0f records/s  -> batched "
		    "is %.1fx faster\n",
		    nsync, every, batched / every);
		printf(
		    "write  plain fwrite, no chain, no fsync:          %9.0f records/s  -> batched "
		    "costs %.1fx\n",
		    plain, plain / batched);
	} else {
		struct wk_auditlog_query q;
		double t0 = now_s(), rate;

		/* Generation only: a big batch keeps fsyncs out of the way. */
		o.fsync_batch = 65536;
		o.fsync_delay_ms = 60000;
		rate = write_log(argv[2], n, &o, n / 10 + 1);
		printf("built  %ld records in %.1f s (%.0f records/s)\n", n, now_s() - t0, rate);
		wk_auditlog_query_init(&q);
		q.ns = "default";
		q.name = "vm-7";
		time_query(argv[2], "--vm default/vm-7", &q);
		wk_auditlog_query_init(&q);
		q.request_id = "req-4242";
		time_query(argv[2], "--request req-4242", &q);
		wk_auditlog_query_init(&q);
		q.since_us = last_us - (last_us - first_us) / 100;
		time_query(argv[2], "--since (last 1% of time)", &q);
		{
			struct wk_auditlog_verify_result r;
			char err[512];
			double tv = now_s();

			if (wk_auditlog_verify(argv[2], &r, err, sizeof(err)) || !r.ok)
				wk_die(1, "verify: %s%s", err, r.what);
			tv = now_s() - tv;
			printf("verify %llu records in %u segments: %.1f s (%.0f records/s)\n",
			       (unsigned long long)r.records, r.segments, tv,
			       (double)r.records / tv);
		}
		rm_rf(argv[2]);
	}
	return 0;
}
