/* wk_auditlog.c - the audit log writer: open and recover, dedupe, append, batched fsync, rotate. */
#include "wk_auditlog_int.h"
#include "wk_log.h"
#include "wk_time.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct wk_auditlog {
	char *dir;
	struct wk_auditlog_opts o;
	int lock_fd, seg_fd, idx_fd, head_fd;
	unsigned segno; /* current segment, 0 = none yet */
	uint64_t seg_size;
	int64_t seg_first_us; /* time of the segment's first record (age rotation) */
	uint64_t last_seq, durable_seq;
	char last_hash[WK_AUDITLOG_HASH_HEX];
	int64_t last_time_us;
	int pending;
	int64_t pending_since_ms; /* monotonic */
	bool idx_broken;	  /* an index write failed: stop writing it, rebuilt on open */
	bool failed;		  /* an fsync failed: nothing more is accepted */
	struct aul_dedupe dd;
	struct wk_buf line;
	struct wk_auditlog_key key; /* key.len 0: unkeyed */
};

void wk_audit_entry_init(struct wk_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->request_partition = e->input_partition = -1;
	e->request_offset = e->input_offset = -1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* HEAD: one fixed-size line rewritten in place after every fsync. A hint (not fsync'd itself):
 * it can only lag behind the durable log, never run ahead of it. */
static void write_head(struct wk_auditlog *l)
{
	char buf[AUL_HEAD_SIZE], seg[AUL_NAME_MAX];
	int n;

	if (l->head_fd < 0 || !l->last_seq)
		return;
	aul_seg_name(l->segno, seg);
	if (l->key.len) {
		/* Signed: the seq and hash HEAD claims, under the chain key. */
		char claim[128], mac[WK_AUDITLOG_HASH_HEX];
		int cn = snprintf(claim, sizeof(claim), "%llu %s", (unsigned long long)l->last_seq,
				  l->last_hash);

		aul_hmac_hex(&l->key, claim, (size_t)cn, mac);
		n = snprintf(buf, sizeof(buf),
			     "{\"seq\":%llu,\"hash\":\"%s\",\"segment\":\"%s\",\"kid\":\"%s\","
			     "\"mac\":\"%s\"}",
			     (unsigned long long)l->last_seq, l->last_hash, seg, l->key.kid, mac);
	} else {
		n = snprintf(buf, sizeof(buf),
			     "{\"seq\":%llu,\"hash\":\"%s\",\"segment\":\"%s\"}",
			     (unsigned long long)l->last_seq, l->last_hash, seg);
	}
	memset(buf + n, ' ', sizeof(buf) - (size_t)n - 1);
	buf[sizeof(buf) - 1] = '\n';
	if (pwrite(l->head_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		wk_warn("audit log: cannot update '%s/HEAD': %s", l->dir, strerror(errno));
}

int wk_auditlog_sync(struct wk_auditlog *l, char *errstr, size_t errstr_size)
{
	if (l->failed)
		return wk_err(errstr, errstr_size, "audit log '%s' failed earlier; reopen it",
			      l->dir);
	if (!l->pending)
		return 0;
	if (fdatasync(l->seg_fd)) {
		/* After a failed fsync the page cache may have dropped the data (Linux marks the
		 * pages clean): the only safe way on is to reopen and recover from the file. */
		l->failed = true;
		return wk_err(errstr, errstr_size, "cannot fsync audit segment in '%s': %s", l->dir,
			      strerror(errno));
	}
	l->durable_seq = l->last_seq;
	l->pending = 0;
	write_head(l);
	return 0;
}

long long wk_auditlog_sync_due_ms(const struct wk_auditlog *l)
{
	long long left;

	if (!l->pending)
		return -1;
	if (l->pending >= l->o.fsync_batch)
		return 0;
	left = l->pending_since_ms + l->o.fsync_delay_ms - wk_time_mono_ms();
	return left > 0 ? left : 0;
}

int wk_auditlog_sync_if_due(struct wk_auditlog *l, char *errstr, size_t errstr_size)
{
	if (wk_auditlog_sync_due_ms(l) != 0)
		return 0;
	return wk_auditlog_sync(l, errstr, errstr_size) ? -1 : 1;
}

bool wk_auditlog_failed(const struct wk_auditlog *l)
{
	return l->failed;
}

uint64_t wk_auditlog_last_seq(const struct wk_auditlog *l)
{
	return l->last_seq;
}

uint64_t wk_auditlog_durable_seq(const struct wk_auditlog *l)
{
	return l->durable_seq;
}

unsigned wk_auditlog_segment(const struct wk_auditlog *l)
{
	return l->segno;
}

static int open_segment(struct wk_auditlog *l, unsigned segno, bool create, char *errstr,
			size_t errstr_size)
{
	char name[AUL_NAME_MAX];
	char *path;

	aul_seg_name(segno, name);
	path = aul_path(l->dir, name);
	l->seg_fd =
	    open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0640);
	free(path);
	if (l->seg_fd < 0)
		return wk_err(errstr, errstr_size, "cannot open segment '%s/%s': %s", l->dir, name,
			      strerror(errno));
	if (create) {
		if (aul_idx_write(l->dir, segno, NULL, 0, errstr, errstr_size) ||
		    aul_fsync_dir(l->dir, errstr, errstr_size))
			return -1;
	}
	aul_idx_name(segno, name);
	path = aul_path(l->dir, name);
	l->idx_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	free(path);
	l->idx_broken = l->idx_fd < 0;
	l->segno = segno;
	return 0;
}

static void close_segment(struct wk_auditlog *l)
{
	if (l->seg_fd >= 0)
		close(l->seg_fd);
	if (l->idx_fd >= 0)
		close(l->idx_fd);
	l->seg_fd = l->idx_fd = -1;
}

static int rotate(struct wk_auditlog *l, char *errstr, size_t errstr_size)
{
	if (l->segno) {
		if (wk_auditlog_sync(l, errstr, errstr_size))
			return -1;
		/* A sealed segment's index is trusted by the next open: make it durable too. */
		if (l->idx_fd >= 0 && !l->idx_broken && fsync(l->idx_fd))
			wk_warn("audit log: cannot fsync index of segment %u: %s", l->segno,
				strerror(errno));
		close_segment(l);
	}
	if (open_segment(l, l->segno + 1, true, errstr, errstr_size))
		return -1;
	l->seg_size = 0;
	wk_info("audit log: started segment %u in '%s'", l->segno, l->dir);
	return 0;
}

static int refused(char *errstr, size_t errstr_size)
{
	wk_err(errstr, errstr_size, "record exceeds %d bytes", WK_AUDITLOG_MAX_RECORD);
	return WK_AUDITLOG_REFUSED;
}

int wk_auditlog_append(struct wk_auditlog *l, const struct wk_audit_entry *e, uint64_t *seq,
		       char *errstr, size_t errstr_size)
{
	uint8_t key[16];
	bool keyed = e->dedupe_key && e->dedupe_key_len;
	char hash[WK_AUDITLOG_HASH_HEX];
	int64_t t;
	struct aul_idx_entry x;
	struct aul_meta meta;
	cJSON *j;

	if (l->failed)
		return wk_err(errstr, errstr_size, "audit log '%s' failed earlier; reopen it",
			      l->dir);
	if (keyed) {
		aul_dedupe_digest(e->dedupe_key, e->dedupe_key_len, key);
		if (aul_dd_has(&l->dd, key)) {
			*seq = l->last_seq;
			return 1;
		}
	}
	/* Record time never goes backwards, so the index can trust time order. */
	t = now_us();
	if (t < l->last_time_us)
		t = l->last_time_us;
	wk_buf_reset(&l->line);
	if (aul_record_body(&l->line, e, l->last_seq + 1, t, keyed ? key : NULL,
			    l->key.len ? l->key.kid : NULL, l->last_hash, errstr, errstr_size))
		return WK_AUDITLOG_REFUSED;
	aul_record_mac(l->line.buf, l->line.len, l->key.len ? &l->key : NULL, hash);
	if (wk_buf_addf(&l->line, ",\"hash\":\"%s\"}\n", hash))
		return refused(errstr, errstr_size);
	/* The index learns what a reader will see: the record as parsed back (escaped names), the
	 * same path the index rebuild takes. This also proves the line is valid JSON. */
	j = cJSON_ParseWithLength(l->line.buf, l->line.len - 1);
	if (!j || aul_record_meta(j, &meta)) {
		cJSON_Delete(j);
		WK_BUG("audit record %llu does not parse back",
		       (unsigned long long)(l->last_seq + 1));
	}
	cJSON_Delete(j);

	if (!l->segno ||
	    (l->seg_size && (l->seg_size + l->line.len > (uint64_t)l->o.segment_bytes ||
			     t - l->seg_first_us >= l->o.segment_age_ms * 1000))) {
		if (rotate(l, errstr, errstr_size))
			return -1;
	}
	if (write_all(l->seg_fd, l->line.buf, l->line.len)) {
		int err = errno;

		/* Leave no partial line behind for the next record to be glued to. */
		if (ftruncate(l->seg_fd, (off_t)l->seg_size))
			l->failed = true;
		return wk_err(errstr, errstr_size, "cannot write audit segment %u in '%s': %s",
			      l->segno, l->dir, strerror(err));
	}
	memset(&x, 0, sizeof(x));
	x.seq = l->last_seq + 1;
	x.off = l->seg_size;
	x.len = (uint32_t)l->line.len;
	x.time_us = meta.time_us;
	x.obj = meta.obj;
	x.req = meta.req;
	if (keyed) {
		x.flags |= AUL_F_DEDUPE;
		memcpy(x.dedupe, key, 16);
	}
	if (!l->idx_broken && write_all(l->idx_fd, (const char *)&x, sizeof(x))) {
		wk_warn("audit log: cannot write index of segment %u (rebuilt on next open): %s",
			l->segno, strerror(errno));
		l->idx_broken = true;
	}
	if (!l->seg_size)
		l->seg_first_us = t;
	l->seg_size += l->line.len;
	l->last_seq++;
	memcpy(l->last_hash, hash, sizeof(hash));
	l->last_time_us = t;
	if (keyed)
		aul_dd_add(&l->dd, key);
	if (!l->pending++)
		l->pending_since_ms = wk_time_mono_ms();
	*seq = l->last_seq;
	if (l->o.fsync_every_record || l->pending >= l->o.fsync_batch)
		return wk_auditlog_sync(l, errstr, errstr_size);
	return 0;
}

/* The last complete record of a segment: 0 with seq/hash/time, 1 if the segment holds none. */
static int last_record(const char *dir, unsigned segno, uint64_t *seq,
		       char hash[WK_AUDITLOG_HASH_HEX], int64_t *time_us, char kid[17],
		       char *errstr, size_t errstr_size)
{
	char name[AUL_NAME_MAX], why[256];
	char *path;
	struct aul_map m;
	const char *end, *start;
	cJSON *j;
	struct aul_meta meta;
	int rc;

	aul_seg_name(segno, name);
	path = aul_path(dir, name);
	rc = aul_map_file(path, &m, errstr, errstr_size);
	free(path);
	if (rc)
		return -1;
	end = m.len ? memrchr(m.data, '\n', m.len) : NULL;
	if (!end) {
		aul_unmap(&m);
		return 1;
	}
	start = memrchr(m.data, '\n', (size_t)(end - m.data));
	start = start ? start + 1 : m.data;
	if (aul_check_line_keys(start, (size_t)(end - start), NULL, seq, hash, NULL, kid, &j, why,
				sizeof(why))) {
		aul_unmap(&m);
		return wk_err(errstr, errstr_size,
			      "cannot continue the chain: the last record of '%s' is invalid: %s; "
			      "run verify",
			      name, why);
	}
	*time_us = aul_record_meta(j, &meta) ? 0 : meta.time_us;
	cJSON_Delete(j);
	aul_unmap(&m);
	return 0;
}

/* A keyed writer on a log whose last record has another kid (or none): the first record under
 * the new key says so, chained to the last one under the old key (or unkeyed). Verify needs
 * every kid's key; docs/audit.md "Keys". */
static int rotate_key(struct wk_auditlog *l, const unsigned *segs, size_t nseg, char *errstr,
		      size_t errstr_size)
{
	char kid[17] = "", hash[WK_AUDITLOG_HASH_HEX];
	uint64_t seq;
	int64_t t;
	struct wk_audit_entry e;
	cJSON *d;
	char why[128], err[256];
	int rc = 1;

	for (size_t i = nseg; i-- > 0 && rc == 1;)
		rc = last_record(l->dir, segs[i], &seq, hash, &t, kid, err, sizeof(err));
	if (rc < 0)
		return wk_err(errstr, errstr_size, "%s", err);
	if (rc == 0 && !strcmp(kid, l->key.kid))
		return 0;
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "fromKid", kid[0] ? kid : "none");
	cJSON_AddStringToObject(d, "toKid", l->key.kid);
	wk_audit_entry_init(&e);
	e.kind = "key-rotation";
	e.action = "audit.key-rotation";
	e.outcome = "info";
	e.actor = "wukong-audit";
	snprintf(why, sizeof(why), "records from here on are keyed with kid %s", l->key.kid);
	e.reason = why;
	e.details = d;
	rc = wk_auditlog_append(l, &e, &seq, errstr, errstr_size);
	cJSON_Delete(d);
	if (rc)
		return -1;
	wk_info("audit log '%s': chain key %s from seq %llu (previous: %s)", l->dir, l->key.kid,
		(unsigned long long)seq, kid[0] ? kid : "unkeyed");
	return wk_auditlog_sync(l, errstr, errstr_size);
}

/* Walk the last segment record by record; cut a torn tail that lies past what HEAD says was
 * durable; rewrite its index; set the chain state. */
static int recover_last(struct wk_auditlog *l, const unsigned *segs, size_t nseg, uint64_t head_seq,
			char *errstr, size_t errstr_size)
{
	unsigned segno = segs[nseg - 1];
	char name[AUL_NAME_MAX], why[256];
	char *path;
	struct aul_map m;
	struct aul_idx_entry *e = NULL;
	size_t n = 0, cap = 0, off = 0;
	uint64_t line = 0;
	int rc = 1;

	/* Where the chain stands before this segment. */
	l->last_seq = 0;
	memcpy(l->last_hash, AUL_GENESIS, sizeof(l->last_hash));
	l->last_time_us = 0;
	for (size_t i = nseg - 1; i-- > 0 && rc == 1;) {
		rc = last_record(l->dir, segs[i], &l->last_seq, l->last_hash, &l->last_time_us, NULL,
				 errstr, errstr_size);
		if (rc < 0)
			return -1;
	}
	aul_seg_name(segno, name);
	path = aul_path(l->dir, name);
	if (aul_map_file(path, &m, errstr, errstr_size)) {
		free(path);
		return -1;
	}
	rc = 0;
	while (off < m.len) {
		const char *p = m.data + off, *nl = memchr(p, '\n', m.len - off);
		char hash[WK_AUDITLOG_HASH_HEX], prev[WK_AUDITLOG_HASH_HEX];
		uint64_t seq;
		cJSON *j;
		struct aul_meta meta;
		struct aul_idx_entry *x;

		line++;
		if (!nl) {
			snprintf(why, sizeof(why), "incomplete record (no newline)");
			break;
		}
		if (aul_check_line_json(p, (size_t)(nl - p), &seq, hash, prev, &j, why,
					sizeof(why)))
			break;
		if (seq != l->last_seq + 1 || strcmp(prev, l->last_hash) ||
		    aul_record_meta(j, &meta)) {
			snprintf(why, sizeof(why), "seq %llu does not follow seq %llu in the chain",
				 (unsigned long long)seq, (unsigned long long)l->last_seq);
			cJSON_Delete(j);
			break;
		}
		cJSON_Delete(j);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			e = wk_xrealloc(e, cap * sizeof(*e));
		}
		x = &e[n++];
		memset(x, 0, sizeof(*x));
		x->seq = seq;
		x->off = off;
		x->len = (uint32_t)(nl - p + 1);
		x->time_us = meta.time_us;
		x->obj = meta.obj;
		x->req = meta.req;
		if (meta.has_dedupe) {
			x->flags = AUL_F_DEDUPE;
			memcpy(x->dedupe, meta.dedupe, 16);
		}
		l->last_seq = seq;
		memcpy(l->last_hash, hash, sizeof(hash));
		if (meta.time_us > l->last_time_us)
			l->last_time_us = meta.time_us;
		off = (size_t)(nl - m.data) + 1;
	}
	if (off < m.len) {
		size_t cut = m.len - off;

		if (head_seq > l->last_seq) {
			rc = wk_err(
			    errstr, errstr_size,
			    "'%s' line %llu (seq %llu): %s; HEAD says seq %llu was durable, "
			    "so this is damage, not a torn write: run verify",
			    name, (unsigned long long)line, (unsigned long long)(l->last_seq + 1),
			    why, (unsigned long long)head_seq);
		} else if (truncate(path, (off_t)off)) {
			rc = wk_err(errstr, errstr_size, "cannot truncate '%s': %s", path,
				    strerror(errno));
		} else {
			wk_warn(
			    "audit log: removed a torn tail of %zu bytes after seq %llu from '%s' "
			    "(line %llu: %s); it was never acknowledged",
			    cut, (unsigned long long)l->last_seq, name, (unsigned long long)line,
			    why);
		}
	}
	aul_unmap(&m);
	free(path);
	if (!rc && head_seq > l->last_seq)
		rc = wk_err(
		    errstr, errstr_size,
		    "the log ends at seq %llu but HEAD says seq %llu was durable: records are "
		    "missing; run verify",
		    (unsigned long long)l->last_seq, (unsigned long long)head_seq);
	if (!rc)
		rc = aul_idx_write(l->dir, segno, e, n, errstr, errstr_size);
	if (!rc) {
		l->seg_size = off;
		l->seg_first_us = n ? e[0].time_us : 0;
	}
	free(e);
	return rc;
}

/* Sealed segments: rebuild any index that does not cover its segment exactly. */
static int check_sealed_indexes(struct wk_auditlog *l, const unsigned *segs, size_t nseg,
				char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i + 1 < nseg; i++) {
		char name[AUL_NAME_MAX];
		char *path;
		struct aul_map m;
		struct aul_idx_entry *e;
		size_t n, cap, end;
		int rc;

		aul_seg_name(segs[i], name);
		path = aul_path(l->dir, name);
		rc = aul_map_file(path, &m, errstr, errstr_size);
		free(path);
		if (rc)
			return -1;
		aul_idx_load(l->dir, segs[i], m.len, &e, &n);
		if (m.len && (!n || e[n - 1].off + e[n - 1].len != m.len)) {
			free(e);
			e = NULL;
			n = cap = 0;
			aul_idx_scan(&m, 0, &e, &n, &cap, &end);
			rc = aul_idx_write(l->dir, segs[i], e, n, errstr, errstr_size);
			wk_info("audit log: rebuilt the index of '%s' (%zu records)", name, n);
		}
		free(e);
		aul_unmap(&m);
		if (rc)
			return -1;
	}
	return 0;
}

/* Refill the dedupe window with the keys of the newest records, oldest first. */
static void rebuild_dedupe(struct wk_auditlog *l, const unsigned *segs, size_t nseg)
{
	struct aul_idx_entry **chunk = wk_xcalloc(nseg ? nseg : 1, sizeof(*chunk));
	size_t *count = wk_xcalloc(nseg ? nseg : 1, sizeof(*count));
	size_t total = 0, first = nseg, skip;

	while (first > 0 && total < l->dd.cap) {
		char name[AUL_NAME_MAX];
		char *path;
		struct stat st;

		first--;
		aul_seg_name(segs[first], name);
		path = aul_path(l->dir, name);
		if (!stat(path, &st))
			aul_idx_load(l->dir, segs[first], (size_t)st.st_size, &chunk[first],
				     &count[first]);
		free(path);
		for (size_t k = 0; k < count[first]; k++)
			total += (chunk[first][k].flags & AUL_F_DEDUPE) != 0;
	}
	skip = total > l->dd.cap ? total - l->dd.cap : 0;
	for (size_t i = first; i < nseg; i++) {
		for (size_t k = 0; k < count[i]; k++) {
			if (!(chunk[i][k].flags & AUL_F_DEDUPE))
				continue;
			if (skip) {
				skip--;
				continue;
			}
			aul_dd_add(&l->dd, chunk[i][k].dedupe);
		}
		free(chunk[i]);
	}
	free(chunk);
	free(count);
}

static void opts_defaults(struct wk_auditlog_opts *o)
{
	if (o->segment_bytes <= 0)
		o->segment_bytes = WK_AUDITLOG_DEF_SEGMENT_BYTES;
	if (o->segment_age_ms <= 0)
		o->segment_age_ms = WK_AUDITLOG_DEF_SEGMENT_AGE_MS;
	if (o->fsync_batch <= 0)
		o->fsync_batch = WK_AUDITLOG_DEF_FSYNC_BATCH;
	if (o->fsync_delay_ms <= 0)
		o->fsync_delay_ms = WK_AUDITLOG_DEF_FSYNC_DELAY_MS;
	if (o->dedupe_window <= 0)
		o->dedupe_window = WK_AUDITLOG_DEF_DEDUPE_WINDOW;
	/* Ring positions are stored as uint32_t. */
	if (o->dedupe_window > 100000000)
		o->dedupe_window = 100000000;
}

struct wk_auditlog *wk_auditlog_new(const struct wk_auditlog_opts *opts, char *errstr,
				    size_t errstr_size)
{
	struct wk_auditlog *l;
	unsigned *segs = NULL;
	size_t nseg = 0;
	uint64_t head_seq;
	char head_hash[WK_AUDITLOG_HASH_HEX];
	char *path;
	struct stat st;
	bool head_new;

	if (!opts->dir || !*opts->dir) {
		wk_err(errstr, errstr_size, "audit log directory not set");
		return NULL;
	}
	if (mkdir(opts->dir, 0750) && errno != EEXIST) {
		wk_err(errstr, errstr_size, "cannot create audit log directory '%s': %s", opts->dir,
		       strerror(errno));
		return NULL;
	}
	l = wk_xcalloc(1, sizeof(*l));
	l->o = *opts;
	opts_defaults(&l->o);
	l->dir = wk_xstrdup(opts->dir);
	l->o.dir = l->dir;
	l->lock_fd = l->seg_fd = l->idx_fd = l->head_fd = -1;
	wk_buf_init(&l->line, WK_AUDITLOG_MAX_RECORD);
	aul_dd_init(&l->dd, (size_t)l->o.dedupe_window);

	path = aul_path(l->dir, AUL_LOCK);
	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	free(path);
	if (l->lock_fd < 0 || flock(l->lock_fd, LOCK_EX | LOCK_NB)) {
		wk_err(errstr, errstr_size,
		       errno == EWOULDBLOCK ? "audit log '%s' is in use by another writer"
					    : "cannot lock audit log '%s': %s",
		       l->dir, strerror(errno));
		goto fail;
	}
	aul_read_head(l->dir, &head_seq, head_hash);
	if (aul_list_segments(l->dir, &segs, &nseg, errstr, errstr_size))
		goto fail;
	memcpy(l->last_hash, AUL_GENESIS, sizeof(l->last_hash));
	if (nseg) {
		if (recover_last(l, segs, nseg, head_seq, errstr, errstr_size) ||
		    check_sealed_indexes(l, segs, nseg, errstr, errstr_size) ||
		    open_segment(l, segs[nseg - 1], false, errstr, errstr_size))
			goto fail;
		rebuild_dedupe(l, segs, nseg);
		if (fdatasync(l->seg_fd)) {
			wk_err(errstr, errstr_size, "cannot fsync audit segment in '%s': %s",
			       l->dir, strerror(errno));
			goto fail;
		}
	} else if (head_seq) {
		wk_err(errstr, errstr_size,
		       "HEAD says seq %llu was durable but '%s' holds no segment: run verify",
		       (unsigned long long)head_seq, l->dir);
		goto fail;
	}
	path = aul_path(l->dir, AUL_HEAD);
	head_new = stat(path, &st) != 0;
	l->head_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	free(path);
	if (l->head_fd < 0 || (head_new && aul_fsync_dir(l->dir, errstr, errstr_size))) {
		if (l->head_fd < 0)
			wk_err(errstr, errstr_size, "cannot open '%s/HEAD': %s", l->dir,
			       strerror(errno));
		goto fail;
	}
	l->durable_seq = l->last_seq;
	if (opts->key)
		l->key = *opts->key;
	if (l->key.len && rotate_key(l, segs, nseg, errstr, errstr_size))
		goto fail;
	write_head(l);
	free(segs);
	wk_info("audit log '%s' open: %zu segment(s), last seq %llu, %zu ids in the dedupe window",
		l->dir, nseg, (unsigned long long)l->last_seq, l->dd.count);
	return l;
fail:
	free(segs);
	l->pending = 0;
	wk_auditlog_destroy(l);
	return NULL;
}

void wk_auditlog_destroy(struct wk_auditlog *l)
{
	char err[256];

	if (!l)
		return;
	if (l->pending && !l->failed && wk_auditlog_sync(l, err, sizeof(err)))
		wk_error("audit log: %s", err);
	close_segment(l);
	if (l->head_fd >= 0)
		close(l->head_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	aul_dd_release(&l->dd);
	wk_buf_release(&l->line);
	free(l->dir);
	free(l);
}
