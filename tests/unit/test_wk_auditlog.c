/* test_wk_auditlog.c - the audit log: chain, reopen, rotation, torn tails, dedupe, index queries,
 * verify against tampering, and hostile record content. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_auditlog.h"
#include "wk_auditlog_cli.h"
#include "wk_log.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *mkdtemp_dir(void)
{
	char *d = wk_xstrdup("/tmp/wk-auditlog-test.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = wk_xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static char *seg_path(const char *dir, unsigned n)
{
	return wk_xasprintf("%s/audit-%08u.log", dir, n);
}

/* Byte offset where line `n` (1-based) starts, and its length with the newline. */
static size_t line_at(const char *buf, size_t n, size_t *len)
{
	size_t off = 0;

	for (size_t i = 1; i < n; i++)
		off = (size_t)(strchr(buf + off, '\n') - buf) + 1;
	*len = (size_t)(strchr(buf + off, '\n') - (buf + off)) + 1;
	return off;
}

static struct wk_auditlog *open_log(const char *dir, long long seg_bytes, long long window)
{
	struct wk_auditlog_opts o = {
	    .dir = dir, .segment_bytes = seg_bytes, .dedupe_window = window};
	char err[512] = "";
	struct wk_auditlog *l = wk_auditlog_new(&o, err, sizeof(err));

	if (!l)
		fail_msg("open: %s", err);
	return l;
}

/* Append one event about vm-<i%3> caused by request r<i%10> with dedupe key id-<i>. */
static int add(struct wk_auditlog *l, int i, uint64_t *seq)
{
	struct wk_audit_entry e;
	char id[32], vm[32], req[32], err[512];
	int rc;

	wk_audit_entry_init(&e);
	snprintf(id, sizeof(id), "id-%d", i);
	snprintf(vm, sizeof(vm), "vm-%d", i % 3);
	snprintf(req, sizeof(req), "r%d", i % 10);
	e.kind = "event";
	e.ce_source = "/clusters/c1";
	e.ce_id = id;
	e.request_id = req;
	e.request_source = "kafka";
	e.cluster = "c1";
	e.object_kind = "Wukong";
	e.object_namespace = "default";
	e.object_name = vm;
	e.actor = "wukong-migrator";
	e.action = "migration.create";
	e.outcome = "success";
	e.dedupe_key = id;
	e.dedupe_key_len = strlen(id);
	rc = wk_auditlog_append(l, &e, seq, err, sizeof(err));
	if (rc < 0 || rc == WK_AUDITLOG_REFUSED)
		fail_msg("append %d: %s", i, err);
	return rc;
}

static void fill(const char *dir, int from, int to, long long seg_bytes)
{
	struct wk_auditlog *l = open_log(dir, seg_bytes, 0);
	uint64_t seq;

	for (int i = from; i < to; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
}

static struct wk_auditlog_verify_result verify(const char *dir)
{
	struct wk_auditlog_verify_result r;
	char err[256];

	assert_int_equal(wk_auditlog_verify(dir, &r, err, sizeof(err)), 0);
	return r;
}

static void append_reopen_chain(void **state)
{
	char *dir = mkdtemp_dir(), *p, *buf, hash[WK_AUDITLOG_HASH_HEX], prev[WK_AUDITLOG_HASH_HEX],
	     last[WK_AUDITLOG_HASH_HEX], err[256];
	struct wk_auditlog *l;
	struct wk_auditlog_verify_result r;
	uint64_t seq;
	size_t len, off = 0, n = 0;

	(void)state;
	l = open_log(dir, 0, 0);
	assert_int_equal(wk_auditlog_last_seq(l), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(add(l, i, &seq), 0);
		assert_int_equal(seq, (uint64_t)i + 1);
	}
	/* Not durable until the batch is synced. */
	assert_true(wk_auditlog_durable_seq(l) < 10);
	assert_true(wk_auditlog_sync_due_ms(l) >= 0);
	assert_int_equal(wk_auditlog_sync(l, err, sizeof(err)), 0);
	assert_int_equal(wk_auditlog_durable_seq(l), 10);
	assert_int_equal(wk_auditlog_sync_due_ms(l), -1);
	wk_auditlog_destroy(l);

	l = open_log(dir, 0, 0);
	assert_int_equal(wk_auditlog_last_seq(l), 10);
	assert_int_equal(wk_auditlog_durable_seq(l), 10);
	for (int i = 10; i < 15; i++)
		assert_int_equal(add(l, i, &seq), 0);
	assert_int_equal(seq, 15);
	wk_auditlog_destroy(l);

	/* Every line checks and chains onto the one before, starting from the genesis value. */
	p = seg_path(dir, 1);
	buf = slurp(p, &len);
	memset(last, '0', 64);
	last[64] = '\0';
	while (off < len) {
		char *nl = strchr(buf + off, '\n');

		assert_int_equal(wk_auditlog_check_line(buf + off, (size_t)(nl - buf - off), &seq,
							hash, prev, err, sizeof(err)),
				 0);
		assert_int_equal(seq, ++n);
		assert_string_equal(prev, last);
		memcpy(last, hash, sizeof(last));
		off = (size_t)(nl - buf) + 1;
	}
	assert_int_equal(n, 15);
	r = verify(dir);
	assert_true(r.ok);
	assert_int_equal(r.records, 15);
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void second_writer_refused(void **state)
{
	char *dir = mkdtemp_dir(), err[512];
	struct wk_auditlog_opts o = {.dir = dir};
	struct wk_auditlog *a = open_log(dir, 0, 0), *b;

	(void)state;
	b = wk_auditlog_new(&o, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "in use by another writer"));
	wk_auditlog_destroy(a);
	wk_auditlog_destroy(NULL);
	rm_rf(dir);
	free(dir);
}

static void rotation_by_size(void **state)
{
	char *dir = mkdtemp_dir(), *p;
	struct wk_auditlog *l;
	struct wk_auditlog_verify_result r;
	struct stat st;
	uint64_t seq;

	(void)state;
	l = open_log(dir, 2000, 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(add(l, i, &seq), 0);
	assert_true(wk_auditlog_segment(l) >= 5);
	wk_auditlog_destroy(l);
	/* No segment over the limit. */
	for (unsigned s = 1;; s++) {
		p = seg_path(dir, s);
		if (stat(p, &st)) {
			free(p);
			break;
		}
		assert_true(st.st_size <= 2000);
		free(p);
	}
	/* Reopen continues in the last segment and the chain runs across every boundary. */
	fill(dir, 40, 50, 2000);
	r = verify(dir);
	assert_true(r.ok);
	assert_int_equal(r.records, 50);
	assert_true(r.segments >= 6);
	rm_rf(dir);
	free(dir);
}

static void rotation_by_age(void **state)
{
	char *dir = mkdtemp_dir();
	struct wk_auditlog_opts o = {.dir = dir, .segment_age_ms = 1};
	char err[256];
	struct wk_auditlog *l = wk_auditlog_new(&o, err, sizeof(err));
	uint64_t seq;

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(add(l, i, &seq), 0);
		usleep(3000);
	}
	assert_int_equal(wk_auditlog_segment(l), 3);
	wk_auditlog_destroy(l);
	assert_true(verify(dir).ok);
	rm_rf(dir);
	free(dir);
}

static void torn_tail_recovery(void **state)
{
	char *dir = mkdtemp_dir(), *p = seg_path(dir, 1), *buf;
	struct wk_auditlog *l;
	struct wk_auditlog_verify_result r;
	FILE *f;
	uint64_t seq;
	size_t len;
	static const char zeros[100];

	(void)state;
	fill(dir, 0, 5, 0);
	/* A crash in the middle of writing record 6. */
	f = fopen(p, "ab");
	fputs("{\"v\":1,\"seq\":6,\"time\":\"2026-", f);
	fclose(f);
	/* Past HEAD: not acknowledged, so not an error, but reported. */
	r = verify(dir);
	assert_true(r.ok);
	assert_true(r.tail_incomplete);
	assert_int_equal(r.line, 6);
	assert_int_equal(r.seq, 6);
	assert_int_equal(r.records, 5);

	l = open_log(dir, 0, 0);
	assert_int_equal(wk_auditlog_last_seq(l), 5);
	assert_int_equal(add(l, 5, &seq), 0);
	assert_int_equal(seq, 6);
	wk_auditlog_destroy(l);
	assert_true(verify(dir).ok);

	/* A power cut can leave a run of zeros (size updated, data never written). */
	f = fopen(p, "ab");
	fwrite(zeros, 1, sizeof(zeros), f);
	fputc('\n', f);
	fclose(f);
	l = open_log(dir, 0, 0);
	assert_int_equal(wk_auditlog_last_seq(l), 6);
	wk_auditlog_destroy(l);
	assert_true(verify(dir).ok);

	/* Damage to a record that HEAD says was durable is not a torn write: refuse to open. */
	buf = slurp(p, &len);
	spit(p, buf, len - 10);
	{
		struct wk_auditlog_opts o = {.dir = dir};
		char err[512];

		assert_null(wk_auditlog_new(&o, err, sizeof(err)));
		assert_non_null(strstr(err, "HEAD says seq 6 was durable"));
	}
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void dedupe_across_reopen(void **state)
{
	char *dir = mkdtemp_dir();
	struct wk_auditlog *l;
	uint64_t seq;

	(void)state;
	l = open_log(dir, 0, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(add(l, i, &seq), 0);
	assert_int_equal(add(l, 3, &seq), 1);
	assert_int_equal(seq, 10);
	wk_auditlog_destroy(l);

	l = open_log(dir, 0, 0);
	assert_int_equal(add(l, 5, &seq), 1);
	assert_int_equal(add(l, 0, &seq), 1);
	assert_int_equal(add(l, 10, &seq), 0);
	assert_int_equal(seq, 11);
	wk_auditlog_destroy(l);

	/* A window of 4 forgets older ids, across segments and reopens too. */
	l = open_log(dir, 1500, 4);
	assert_int_equal(add(l, 10, &seq), 1);
	assert_int_equal(add(l, 7, &seq), 1);
	assert_int_equal(add(l, 6, &seq), 0); /* id-6 fell out of the window */
	wk_auditlog_destroy(l);
	l = open_log(dir, 1500, 4);
	assert_int_equal(add(l, 6, &seq), 1);
	assert_int_equal(add(l, 9, &seq), 1);
	assert_int_equal(add(l, 7, &seq), 0); /* window now: 8 9 10 6 */
	wk_auditlog_destroy(l);
	assert_true(verify(dir).ok);
	rm_rf(dir);
	free(dir);
}

static void dedupe_eviction_stress(void **state)
{
	char *dir = mkdtemp_dir();
	struct wk_auditlog *l = open_log(dir, 0, 100);
	uint64_t seq;

	(void)state;
	/* Many evictions exercise the table's backward-shift deletion. */
	for (int i = 0; i < 2000; i++)
		assert_int_equal(add(l, i, &seq), 0);
	for (int i = 1900; i < 2000; i++)
		assert_int_equal(add(l, i, &seq), 1);
	for (int i = 1800; i < 1850; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
	rm_rf(dir);
	free(dir);
}

struct collect {
	size_t n;
	uint64_t seqs[1024];
};

static int collect_cb(const char *line, size_t len, const cJSON *rec, void *opaque)
{
	struct collect *c = opaque;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "seq");

	(void)line;
	(void)len;
	if (c->n < 1024)
		c->seqs[c->n] = (uint64_t)s->valuedouble;
	c->n++;
	return 0;
}

static struct collect run_query(const char *dir, struct wk_auditlog_query *q)
{
	struct collect c = {0}, full = {0};
	char err[256];

	assert_int_equal(wk_auditlog_query_run(dir, q, collect_cb, &c, err, sizeof(err)), 0);
	/* The index must answer exactly what a full scan answers. */
	q->no_index = true;
	assert_int_equal(wk_auditlog_query_run(dir, q, collect_cb, &full, err, sizeof(err)), 0);
	q->no_index = false;
	assert_int_equal(c.n, full.n);
	assert_memory_equal(c.seqs, full.seqs, sizeof(c.seqs));
	return c;
}

static void index_queries(void **state)
{
	char *dir = mkdtemp_dir(), *p;
	struct wk_auditlog_query q;
	struct collect c;
	int64_t t_mid;
	char err[256];

	(void)state;
	fill(dir, 0, 150, 8000);
	usleep(20000);
	t_mid = 0;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		t_mid = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	usleep(20000);
	fill(dir, 150, 300, 8000);

	wk_auditlog_query_init(&q);
	q.ns = "default";
	q.name = "vm-1";
	c = run_query(dir, &q);
	assert_int_equal(c.n, 100);
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal((c.seqs[i] - 1) % 3, 1);

	wk_auditlog_query_init(&q);
	q.request_id = "r7";
	c = run_query(dir, &q);
	assert_int_equal(c.n, 30);
	assert_int_equal(c.seqs[0], 8);

	wk_auditlog_query_init(&q);
	q.since_us = t_mid;
	c = run_query(dir, &q);
	assert_int_equal(c.n, 150);
	assert_int_equal(c.seqs[0], 151);
	q.since_us = INT64_MIN;
	q.until_us = t_mid;
	c = run_query(dir, &q);
	assert_int_equal(c.n, 150);

	/* AND of filters, a limit, an unknown VM, a half-given object. */
	wk_auditlog_query_init(&q);
	q.ns = "default";
	q.name = "vm-0";
	q.request_id = "r3";
	c = run_query(dir, &q); /* i%3==0 && i%10==3: i = 3, 33, 63, ... */
	assert_int_equal(c.n, 10);
	q.limit = 2;
	c = run_query(dir, &q);
	assert_int_equal(c.n, 2);
	wk_auditlog_query_init(&q);
	q.ns = "default";
	q.name = "nope";
	assert_int_equal(run_query(dir, &q).n, 0);
	q.cluster = "c2";
	q.name = "vm-1";
	assert_int_equal(run_query(dir, &q).n, 0);
	q.name = NULL;
	assert_int_equal(wk_auditlog_query_run(dir, &q, collect_cb, &c, err, sizeof(err)), -1);

	/* Missing and stale indexes: answers stay the same, and reopening rebuilds them. */
	p = wk_xasprintf("%s/audit-00000001.idx", dir);
	unlink(p);
	free(p);
	p = wk_xasprintf("%s/audit-00000002.idx", dir);
	assert_int_equal(truncate(p, 100), 0);
	free(p);
	wk_auditlog_query_init(&q);
	q.request_id = "r7";
	assert_int_equal(run_query(dir, &q).n, 30);
	fill(dir, 307, 308, 8000); /* request r7 again */
	assert_int_equal(run_query(dir, &q).n, 31);
	assert_int_equal(wk_auditlog_reindex(dir, err, sizeof(err)), 0);
	assert_int_equal(run_query(dir, &q).n, 31);
	assert_int_equal(
	    wk_auditlog_query_run("/nonexistent/dir", &q, collect_cb, &c, err, sizeof(err)), -1);
	rm_rf(dir);
	free(dir);
}

/* A fresh 10-record log in one segment; returns its path. */
static char *ten(const char *dir)
{
	fill(dir, 0, 10, 0);
	return seg_path(dir, 1);
}

static void verify_edited_byte(void **state)
{
	char *dir = mkdtemp_dir(), *p = ten(dir), *buf, *at;
	struct wk_auditlog_verify_result r;
	size_t len, off, ll;

	(void)state;
	assert_true(verify(dir).ok);
	buf = slurp(p, &len);
	off = line_at(buf, 5, &ll);
	at = strstr(buf + off, "vm-1");
	assert_true(at && at < buf + off + ll);
	at[3] = '2'; /* vm-1 -> vm-2: still valid JSON, different content */
	spit(p, buf, len);
	r = verify(dir);
	assert_false(r.ok);
	assert_int_equal(r.line, 5);
	assert_int_equal(r.seq, 5);
	assert_string_equal(r.segment, "audit-00000001.log");
	assert_non_null(strstr(r.what, "hash mismatch"));
	assert_int_equal(r.records, 4);
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void verify_deleted_record(void **state)
{
	char *dir = mkdtemp_dir(), *p = ten(dir), *buf;
	struct wk_auditlog_verify_result r;
	size_t len, off, ll;

	(void)state;
	buf = slurp(p, &len);
	off = line_at(buf, 4, &ll);
	memmove(buf + off, buf + off + ll, len - off - ll);
	spit(p, buf, len - ll);
	r = verify(dir);
	assert_false(r.ok);
	assert_int_equal(r.line, 4);
	assert_int_equal(r.seq, 4);
	assert_non_null(strstr(r.what, "missing record: expected seq 4, found seq 5"));
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void verify_swapped_records(void **state)
{
	char *dir = mkdtemp_dir(), *p = ten(dir), *buf, *out;
	struct wk_auditlog_verify_result r;
	size_t len, o3, l3, o4, l4;

	(void)state;
	buf = slurp(p, &len);
	o3 = line_at(buf, 3, &l3);
	o4 = line_at(buf, 4, &l4);
	out = wk_xmalloc(len);
	memcpy(out, buf, o3);
	memcpy(out + o3, buf + o4, l4);
	memcpy(out + o3 + l4, buf + o3, l3);
	memcpy(out + o3 + l3 + l4, buf + o4 + l4, len - o4 - l4);
	spit(p, out, len);
	r = verify(dir);
	assert_false(r.ok);
	assert_int_equal(r.line, 3);
	assert_non_null(strstr(r.what, "out of order: seq 4 comes before seq 3"));
	free(out);
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void verify_truncated(void **state)
{
	char *dir = mkdtemp_dir(), *p = ten(dir), *buf;
	struct wk_auditlog_verify_result r;
	size_t len, off, ll;

	(void)state;
	buf = slurp(p, &len);
	/* Mid-record. */
	spit(p, buf, len - 30);
	r = verify(dir);
	assert_false(r.ok);
	assert_int_equal(r.line, 10);
	assert_non_null(strstr(r.what, "incomplete record"));
	/* On a record boundary: only HEAD can tell. */
	off = line_at(buf, 9, &ll);
	spit(p, buf, off);
	r = verify(dir);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "ends at seq 8 but HEAD says seq 10"));
	/* And the writer refuses to continue over it. */
	{
		struct wk_auditlog_opts o = {.dir = dir};
		char err[512];

		assert_null(wk_auditlog_new(&o, err, sizeof(err)));
		assert_non_null(strstr(err, "HEAD says seq 10 was durable"));
	}
	/* Empty file. */
	spit(p, "", 0);
	r = verify(dir);
	assert_false(r.ok);
	free(buf);
	free(p);
	rm_rf(dir);
	free(dir);
}

static void verify_segments(void **state)
{
	char *dir = mkdtemp_dir(), *p, *buf;
	struct wk_auditlog_verify_result r;
	size_t len;

	(void)state;
	fill(dir, 0, 40, 2000);
	assert_true(verify(dir).ok);
	/* The end of segment 2 cut off: segment 3 no longer follows it. */
	p = seg_path(dir, 2);
	buf = slurp(p, &len);
	*strrchr(buf, '\n') = '\0';
	spit(p, buf, (size_t)(strrchr(buf, '\n') - buf) + 1);
	r = verify(dir);
	assert_false(r.ok);
	assert_string_equal(r.segment, "audit-00000003.log");
	assert_int_equal(r.line, 1);
	assert_non_null(strstr(r.what, "end of 'audit-00000002.log' was truncated"));
	free(buf);
	free(p);
	/* A whole middle segment deleted. */
	p = seg_path(dir, 2);
	unlink(p);
	free(p);
	r = verify(dir);
	assert_false(r.ok);
	assert_string_equal(r.segment, "audit-00000003.log");
	assert_non_null(strstr(r.what, "segment 'audit-00000002.log' is missing"));
	/* The first segment deleted. */
	p = seg_path(dir, 1);
	unlink(p);
	free(p);
	r = verify(dir);
	assert_false(r.ok);
	assert_non_null(strstr(r.what, "'audit-00000001.log' is missing"));
	rm_rf(dir);
	free(dir);
}

/* Replace line `n` of segment `seg` in dir a by the same line of dir b. */
static void transplant(const char *a, const char *b, unsigned seg, size_t n)
{
	char *pa = seg_path(a, seg), *pb = seg_path(b, seg), *ba, *bb, *out;
	size_t la, lb, oa, oba, ob, obb;

	ba = slurp(pa, &la);
	bb = slurp(pb, &lb);
	oa = line_at(ba, n, &oba);
	ob = line_at(bb, n, &obb);
	out = wk_xmalloc(la - oba + obb);
	memcpy(out, ba, oa);
	memcpy(out + oa, bb + ob, obb);
	memcpy(out + oa + obb, ba + oa + oba, la - oa - oba);
	spit(pa, out, la - oba + obb);
	free(out);
	free(ba);
	free(bb);
	free(pa);
	free(pb);
}

static void verify_prev_mismatch(void **state)
{
	char *a = mkdtemp_dir(), *b = mkdtemp_dir();
	struct wk_auditlog_verify_result r;

	(void)state;
	/* Two logs with the same records written at other times: same sizes, same segment
	 * boundaries, other hashes. A record from b has a valid hash of its own but does not chain
	 * onto a's records. */
	fill(a, 0, 40, 2000);
	usleep(2000);
	fill(b, 0, 40, 2000);
	transplant(a, b, 1, 3);
	r = verify(a);
	assert_false(r.ok);
	assert_int_equal(r.line, 3);
	assert_int_equal(r.seq, 3);
	assert_non_null(strstr(r.what, "prev mismatch"));
	rm_rf(a);
	free(a);
	a = mkdtemp_dir();
	fill(a, 0, 40, 2000);
	transplant(a, b, 2, 1);
	r = verify(a);
	assert_false(r.ok);
	assert_string_equal(r.segment, "audit-00000002.log");
	assert_int_equal(r.line, 1);
	assert_non_null(strstr(r.what, "chain broken at the segment boundary"));
	rm_rf(a);
	rm_rf(b);
	free(a);
	free(b);
}

static void check_line_garbage(void **state)
{
	uint64_t seq;
	char h[WK_AUDITLOG_HASH_HEX], err[256];
	const char *bad[] = {
	    "",
	    "{",
	    "garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage x",
	    "{\"seq\":1,\"prev\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"hash\":\"zz00000000000000000000000000000000000000000000000000000000000000\"}",
	    "{\"seq\":1,\"prev\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"hash\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	    "{\"seq\":-1,\"prev\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000"
	    "\",\"hash\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	    ("[\"seq\",1,\"prev\",\"000000000000000000000000000000000000000000000000000000000000000"
	     "\",\"hash\":\"0000000000000000000000000000000000000000000000000000000000000000\"}"),
	};

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++)
		assert_int_equal(
		    wk_auditlog_check_line(bad[i], strlen(bad[i]), &seq, h, NULL, err, sizeof(err)),
		    -1);
	assert_int_equal(
	    wk_auditlog_check_line(bad[4], strlen(bad[4]), &seq, h, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hash mismatch"));
}

/* The single line of a one-record log. */
static cJSON *only_record(const char *dir, size_t *line_len)
{
	char *p = seg_path(dir, 1), *buf;
	size_t len;
	cJSON *j;

	buf = slurp(p, &len);
	assert_true(len > 0 && buf[len - 1] == '\n');
	assert_null(memchr(buf, '\0', len));
	j = cJSON_ParseWithLength(buf, len);
	assert_non_null(j);
	if (line_len)
		*line_len = len;
	free(buf);
	free(p);
	return j;
}

static void hostile_content(void **state)
{
	char *dir = mkdtemp_dir(), err[512], *big, bad_utf8[] = "a\xff\xfe\xc0\xafz\xed\xa0\x80";
	struct wk_auditlog *l = open_log(dir, 0, 0);
	struct wk_audit_entry e;
	uint64_t seq;
	cJSON *j, *details;
	static const char raw[] = "{\"x\":\0\x01\"}";
	const char *msg;

	(void)state;
	wk_audit_entry_init(&e);
	e.kind = "invalid-event";
	e.message = bad_utf8;
	e.raw = raw;
	e.raw_len = sizeof(raw) - 1;
	e.reason = "quote \" backslash \\ newline \n tab \t bell \a";
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	wk_auditlog_destroy(l);
	j = only_record(dir, NULL);
	msg = cJSON_GetObjectItem(j, "message")->valuestring;
	/* Every bad byte became U+FFFD; the good ones stayed. */
	assert_string_equal(msg, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz"
				 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, e.reason);
	assert_int_equal(cJSON_GetObjectItem(j, "rawSize")->valueint, sizeof(raw) - 1);
	cJSON_Delete(j);
	assert_true(verify(dir).ok);
	rm_rf(dir);
	free(dir);

	/* Field caps: at the cap accepted, cap + 1 refused with the field named. */
	dir = mkdtemp_dir();
	l = open_log(dir, 0, 0);
	big = wk_xmalloc(WK_AUDITLOG_MAX_TEXT + 2);
	memset(big, 'm', WK_AUDITLOG_MAX_TEXT + 1);
	big[WK_AUDITLOG_MAX_TEXT + 1] = '\0';
	wk_audit_entry_init(&e);
	e.message = big;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), WK_AUDITLOG_REFUSED);
	assert_non_null(strstr(err, "field 'message'"));
	big[WK_AUDITLOG_MAX_TEXT] = '\0';
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	memset(big, 'i', WK_AUDITLOG_MAX_ID + 1);
	big[WK_AUDITLOG_MAX_ID + 1] = '\0';
	wk_audit_entry_init(&e);
	e.ce_id = big;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), WK_AUDITLOG_REFUSED);
	assert_non_null(strstr(err, "field 'ceId'"));
	/* A raw value longer than its cap is cut, with its size kept. */
	wk_audit_entry_init(&e);
	e.raw = big;
	e.raw_len = WK_AUDITLOG_MAX_ID + 1;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	/* Deep nesting in details: 16 levels fine, 17 refused. */
	details = cJSON_CreateObject();
	{
		cJSON *cur = details;

		for (int d = 1; d < WK_AUDITLOG_MAX_DEPTH; d++) {
			cJSON *n = cJSON_CreateObject();

			cJSON_AddItemToObject(cur, "a", n);
			cur = n;
		}
		wk_audit_entry_init(&e);
		e.details = details;
		assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
		cJSON_AddItemToObject(cur, "a", cJSON_CreateArray());
		assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)),
				 WK_AUDITLOG_REFUSED);
		assert_non_null(strstr(err, "nests deeper"));
	}
	cJSON_Delete(details);
	assert_int_equal(wk_auditlog_last_seq(l), 3);
	/* A name with a bad byte is indexed as it reads back (U+FFFD), so the index and a full
	 * scan agree on it, before and after the index is rebuilt. */
	wk_audit_entry_init(&e);
	e.object_namespace = "default";
	e.object_name = "vm-\xff";
	e.request_id = "r\xc0";
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	wk_auditlog_destroy(l);
	{
		struct wk_auditlog_query q;

		for (int pass = 0; pass < 2; pass++) {
			wk_auditlog_query_init(&q);
			q.ns = "default";
			q.name = "vm-\xef\xbf\xbd";
			assert_int_equal(run_query(dir, &q).n, 1);
			wk_auditlog_query_init(&q);
			q.request_id = "r\xef\xbf\xbd";
			assert_int_equal(run_query(dir, &q).n, 1);
			assert_int_equal(wk_auditlog_reindex(dir, err, sizeof(err)), 0);
		}
	}
	assert_true(verify(dir).ok);
	free(big);
	rm_rf(dir);
	free(dir);
}

/* Content that escapes to 6 bytes per input byte, so a record can reach the line cap. */
static char *ctl(size_t n)
{
	char *s = wk_xmalloc(n + 1);

	memset(s, '\x01', n);
	s[n] = '\0';
	return s;
}

static void record_cap(void **state)
{
	char *dir = mkdtemp_dir(), err[512], *reason = ctl(WK_AUDITLOG_MAX_TEXT),
	     *message = ctl(WK_AUDITLOG_MAX_TEXT), *fillstr;
	struct wk_auditlog *l;
	struct wk_audit_entry e;
	cJSON *details;
	uint64_t seq;
	size_t len0, want;

	(void)state;
	/* Measure a record with an empty details string ... */
	l = open_log(dir, 0, 0);
	wk_audit_entry_init(&e);
	e.reason = reason;
	e.message = message;
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "s", "");
	e.details = details;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	wk_auditlog_destroy(l);
	cJSON_Delete(only_record(dir, &len0));
	rm_rf(dir);
	free(dir);
	/* ... then grow it to exactly the cap (seq and prev have the same width). */
	want = WK_AUDITLOG_MAX_RECORD - len0;
	fillstr = wk_xmalloc(want + 2);
	memset(fillstr, 'x', want + 1);
	fillstr[want] = '\0';
	dir = mkdtemp_dir();
	l = open_log(dir, 0, 0);
	cJSON_Delete(details);
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "s", fillstr);
	e.details = details;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), 0);
	wk_auditlog_destroy(l);
	{
		size_t len;

		cJSON_Delete(only_record(dir, &len));
		assert_int_equal(len, WK_AUDITLOG_MAX_RECORD);
	}
	rm_rf(dir);
	free(dir);
	/* One byte more is refused and leaves nothing behind. */
	dir = mkdtemp_dir();
	l = open_log(dir, 0, 0);
	fillstr[want] = 'x';
	fillstr[want + 1] = '\0';
	cJSON_Delete(details);
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "s", fillstr);
	e.details = details;
	assert_int_equal(wk_auditlog_append(l, &e, &seq, err, sizeof(err)), WK_AUDITLOG_REFUSED);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(wk_auditlog_last_seq(l), 0);
	wk_auditlog_destroy(l);
	assert_true(verify(dir).ok);
	cJSON_Delete(details);
	free(fillstr);
	free(reason);
	free(message);
	rm_rf(dir);
	free(dir);
}

/* ---- issue 22 fault 8: the keyed chain ---- */

#include <openssl/evp.h>

static void sha_hex(const char *s, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdn = 32;
	static const char hx[] = "0123456789abcdef";

	assert_int_equal(EVP_Digest(s, n, md, &mdn, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

/* What someone who can write the directory but has no key does: change "success" to "failure"
 * in record `target`, optionally strip every kid, recompute the plain SHA-256 chain from there and
 * write an unsigned HEAD. Against an unkeyed log this is undetectable. */
static void attacker_rewrite(const char *dir, int target, bool strip_kid)
{
	char *path = seg_path(dir, 1), *buf, *out, prev[65], hash[65];
	size_t len, o = 0;
	int n = 0;
	char *line, *save = NULL;

	buf = slurp(path, &len);
	out = wk_xcalloc(len * 2 + 1, 1);
	memcpy(prev, "0000000000000000000000000000000000000000000000000000000000000000", 65);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line), body;
		char *k, *pv;

		n++;
		if (n == target && (k = strstr(line, "\"outcome\":\"success\"")))
			memcpy(k, "\"outcome\":\"failure\"", 19);
		if (strip_kid && (k = strstr(line, ",\"kid\":\""))) {
			memmove(k, k + 25, strlen(k + 25) + 1);
			l = strlen(line);
		}
		body = l - 75;
		pv = strstr(line, "\"prev\":\"");
		assert_non_null(pv);
		memcpy(pv + 8, prev, 64);
		line[body] = '}';
		sha_hex(line, body + 1, hash);
		line[body] = ',';
		memcpy(line + body + 9, hash, 64);
		memcpy(prev, hash, 65);
		memcpy(out + o, line, l);
		o += l;
		out[o++] = '\n';
	}
	spit(path, out, o);
	free(path);
	path = wk_xasprintf("%s/HEAD", dir);
	{
		char head[400];
		int hn = snprintf(
		    head, sizeof(head),
		    "{\"seq\":%d,\"hash\":\"%s\",\"segment\":\"audit-00000001.log\"}\n", n, prev);

		spit(path, head, (size_t)hn);
	}
	free(path);
	free(out);
	free(buf);
}

static void make_key(struct wk_auditlog_key *k, const char *dir, char fill_c)
{
	char *path = wk_xasprintf("%s.key%c", dir, fill_c), data[40], err[256];

	memset(data, fill_c, 32);
	data[32] = '\n';
	spit(path, data, 33);
	if (wk_auditlog_key_load(path, k, err, sizeof(err)))
		fail_msg("key: %s", err);
	unlink(path);
	free(path);
}

static struct wk_auditlog *open_keyed(const char *dir, const struct wk_auditlog_key *k)
{
	struct wk_auditlog_opts o = {.dir = dir, .key = k};
	char err[512] = "";
	struct wk_auditlog *l = wk_auditlog_new(&o, err, sizeof(err));

	if (!l)
		fail_msg("open: %s", err);
	return l;
}

static int verify_k(const char *dir, const struct wk_auditlog_key *k, size_t n,
		    struct wk_auditlog_verify_result *r)
{
	char err[256];

	assert_int_equal(wk_auditlog_verify_keys(dir, k, n, r, err, sizeof(err)), 0);
	return r->ok ? 0 : -1;
}

/* Before: an unkeyed log rewritten consistently still verifies (the fault); it still does, now
 * with a warning count, so that old logs keep verifying. */
static void unkeyed_rewrite_undetectable(void **state)
{
	char *dir = mkdtemp_dir();
	struct wk_auditlog_verify_result r;

	(void)state;
	fill(dir, 0, 5, 0);
	attacker_rewrite(dir, 3, false);
	assert_int_equal(verify_k(dir, NULL, 0, &r), 0);
	assert_int_equal(r.unkeyed, 5);
	assert_int_equal(r.keyed, 0);
	rm_rf(dir);
	free(dir);
}

static void keyed_chain(void **state)
{
	char *dir = mkdtemp_dir();
	struct wk_auditlog_key k1, k2, both[2];
	struct wk_auditlog_verify_result r;
	struct wk_auditlog *l;
	uint64_t seq;

	(void)state;
	make_key(&k1, dir, 'a');
	make_key(&k2, dir, 'b');
	assert_string_not_equal(k1.kid, k2.kid);
	/* an old unkeyed part, then the key: a rotation record, keyed records after it */
	fill(dir, 0, 2, 0);
	l = open_keyed(dir, &k1);
	for (int i = 2; i < 5; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
	assert_int_equal(verify_k(dir, &k1, 1, &r), 0);
	assert_int_equal(r.records, 6); /* 2 unkeyed + rotation + 3 */
	assert_int_equal(r.unkeyed, 2);
	assert_int_equal(r.keyed, 4);
	assert_true(r.head_signed);
	/* without the key: refused, naming the kid */
	assert_int_equal(verify_k(dir, NULL, 0, &r), -1);
	assert_non_null(strstr(r.what, k1.kid));
	/* the wrong key: refused */
	assert_int_equal(verify_k(dir, &k2, 1, &r), -1);
	/* rotation to k2: both keys verify the whole log, k2 alone does not */
	l = open_keyed(dir, &k2);
	assert_int_equal(add(l, 5, &seq), 0);
	wk_auditlog_destroy(l);
	both[0] = k1;
	both[1] = k2;
	assert_int_equal(verify_k(dir, both, 2, &r), 0);
	assert_int_equal(r.keyed, 6);
	assert_int_equal(verify_k(dir, &k2, 1, &r), -1);
	/* reopening with the same key adds no rotation record */
	l = open_keyed(dir, &k2);
	wk_auditlog_destroy(l);
	assert_int_equal(verify_k(dir, both, 2, &r), 0);
	assert_int_equal(r.records, 8);
	rm_rf(dir);
	free(dir);
}

/* Someone without the key rewrites a keyed log consistently: with the key, verify says so. */
static void keyed_rewrite_detected(void **state)
{
	char *dir = mkdtemp_dir(), *dir2 = mkdtemp_dir(), *path;
	struct wk_auditlog_key k;
	struct wk_auditlog_verify_result r;
	struct wk_auditlog *l;
	uint64_t seq;
	size_t hl;
	char *h;

	(void)state;
	make_key(&k, dir, 'k');
	l = open_keyed(dir, &k);
	for (int i = 0; i < 4; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
	attacker_rewrite(dir, 3, false); /* kids kept, plain SHA-256 */
	assert_int_equal(verify_k(dir, &k, 1, &r), -1);
	assert_non_null(strstr(r.what, "hmac mismatch"));
	/* the downgrade: every kid stripped, the chain and HEAD recomputed unkeyed */
	l = open_keyed(dir2, &k);
	for (int i = 0; i < 4; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
	attacker_rewrite(dir2, 3, true);
	assert_int_equal(verify_k(dir2, &k, 1, &r), -1);
	if (!strstr(r.what, "no record is keyed"))
		fail_msg("downgrade: %s", r.what);
	/* HEAD rewritten to another claim without the key: its signature fails */
	rm_rf(dir);
	free(dir);
	dir = mkdtemp_dir();
	l = open_keyed(dir, &k);
	for (int i = 0; i < 3; i++)
		assert_int_equal(add(l, i, &seq), 0);
	wk_auditlog_destroy(l);
	path = wk_xasprintf("%s/HEAD", dir);
	h = slurp(path, &hl);
	assert_non_null(strstr(h, "\"mac\":\""));
	{
		char *m = strstr(h, "\"mac\":\"") + 7;

		*m = *m == '0' ? '1' : '0'; /* a HEAD not signed by the key */
	}
	spit(path, h, hl);
	assert_int_equal(verify_k(dir, &k, 1, &r), -1);
	assert_non_null(strstr(r.what, "HEAD's signature"));
	free(h);
	free(path);
	rm_rf(dir);
	free(dir);
	rm_rf(dir2);
	free(dir2);
}

/* The shared `audit query` command line (wk_auditlog_cli.h): hostile option values refused,
 * --limit N the newest N (oldest first; --reverse newest first), formats, an unreadable
 * directory printing nothing. */
static char *query_out(const char *dir, const struct wk_auditlog_cli *c, int *rc)
{
	char err[512], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = wk_auditlog_cli_query(dir, c, f, NULL, NULL, err, sizeof(err));
	fclose(f);
	return buf;
}

static void cli_query(void **state)
{
	char *dir = mkdtemp_dir(), *out, err[256], big[300];
	struct wk_auditlog_cli c;
	int rc;
	static const struct {
		const char *name, *val;
	} bad[] = {
	    {"vm", "noslash"},
	    {"vm", "/x"},
	    {"vm", "a/"},
	    {"vm", "a/b/c"},
	    {"vm", "UPPER/x"},
	    {"vm", "a/\x1b[2J"},
	    {"limit", "0"},
	    {"limit", "-1"},
	    {"limit", "1e3"},
	    {"limit", "100001"},
	    {"limit", ""},
	    {"since", "yesterday"},
	    {"since", "-5m"},
	    {"until", "5w"},
	    {"output", "xml"},
	    {"output", ""},
	    {"since", "99999999999d"},
	};

	(void)state;
	wk_auditlog_cli_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(wk_auditlog_cli_set(&c, bad[i].name, bad[i].val, err, sizeof(err)),
				 -1);
		assert_null(strchr(err, '\x1b'));
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '/';
	assert_int_equal(wk_auditlog_cli_set(&c, "vm", big, err, sizeof(err)), -1);
	assert_int_equal(wk_auditlog_cli_set(&c, "nosuch", "x", err, sizeof(err)), 0);
	assert_int_equal(wk_auditlog_cli_set(&c, "since", "2m", err, sizeof(err)), 1);
	assert_int_equal(wk_auditlog_cli_set(&c, "until", "2026-01-02T03:04:05Z", err, sizeof(err)),
			 1);
	assert_false(wk_auditlog_cli_takes_value("reverse"));
	assert_true(wk_auditlog_cli_takes_value("limit"));

	fill(dir, 0, 12, 0);
	/* --limit 3: the newest three, oldest first */
	wk_auditlog_cli_init(&c);
	c.out = WK_AUDIT_OUT_JSON;
	assert_int_equal(wk_auditlog_cli_set(&c, "limit", "3", err, sizeof(err)), 1);
	out = query_out(dir, &c, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"id-9\""));
	assert_true(strstr(out, "\"id-9\"") < strstr(out, "\"id-11\""));
	assert_null(strstr(out, "\"id-8\""));
	free(out);
	/* --reverse: newest first */
	c.reverse = true;
	out = query_out(dir, &c, &rc);
	assert_true(strstr(out, "\"id-11\"") < strstr(out, "\"id-9\""));
	free(out);
	/* a filter with --reverse and no limit: all of vm-1, newest first */
	wk_auditlog_cli_init(&c);
	c.out = WK_AUDIT_OUT_JSON;
	c.reverse = true;
	assert_int_equal(wk_auditlog_cli_set(&c, "vm", "default/vm-1", err, sizeof(err)), 1);
	out = query_out(dir, &c, &rc);
	assert_true(strstr(out, "\"id-10\"") < strstr(out, "\"id-1\""));
	assert_null(strstr(out, "\"id-2\""));
	free(out);
	/* the table: header, an object as ns/name */
	wk_auditlog_cli_init(&c);
	assert_int_equal(wk_auditlog_cli_set(&c, "limit", "1", err, sizeof(err)), 1);
	out = query_out(dir, &c, &rc);
	assert_int_equal(strncmp(out, "TIME ", 5), 0);
	assert_non_null(strstr(out, "default/vm-2"));
	free(out);
	assert_int_equal(wk_auditlog_cli_set(&c, "output", "yaml", err, sizeof(err)), 1);
	out = query_out(dir, &c, &rc);
	assert_int_equal(strncmp(out, "---\n", 4), 0);
	assert_non_null(strstr(out, "\naction: migration.create\n"));
	free(out);
	/* an unreadable directory: an error, nothing printed (no header) */
	wk_auditlog_cli_init(&c);
	out = query_out("/nonexistent/wukong-audit", &c, &rc);
	assert_int_equal(rc, -1);
	assert_true(!out || !*out);
	free(out);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(append_reopen_chain),
	    cmocka_unit_test(cli_query),
	    cmocka_unit_test(second_writer_refused),
	    cmocka_unit_test(rotation_by_size),
	    cmocka_unit_test(rotation_by_age),
	    cmocka_unit_test(torn_tail_recovery),
	    cmocka_unit_test(dedupe_across_reopen),
	    cmocka_unit_test(dedupe_eviction_stress),
	    cmocka_unit_test(index_queries),
	    cmocka_unit_test(verify_edited_byte),
	    cmocka_unit_test(verify_deleted_record),
	    cmocka_unit_test(verify_swapped_records),
	    cmocka_unit_test(verify_truncated),
	    cmocka_unit_test(verify_segments),
	    cmocka_unit_test(verify_prev_mismatch),
	    cmocka_unit_test(check_line_garbage),
	    cmocka_unit_test(hostile_content),
	    cmocka_unit_test(record_cap),
	    cmocka_unit_test(unkeyed_rewrite_undetectable),
	    cmocka_unit_test(keyed_chain),
	    cmocka_unit_test(keyed_rewrite_detected),
	};

	wk_log_init("test", WK_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
