/* wk_auditlog_index.c - segment files, the sidecar index (load, scan, write) and queries. */
#include "wk_auditlog_int.h"
#include "wk_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void aul_seg_name(unsigned segno, char out[AUL_NAME_MAX])
{
	snprintf(out, AUL_NAME_MAX, AUL_SEG_FMT, segno);
}

void aul_idx_name(unsigned segno, char out[AUL_NAME_MAX])
{
	snprintf(out, AUL_NAME_MAX, AUL_IDX_FMT, segno);
}

char *aul_path(const char *dir, const char *name)
{
	return wk_xasprintf("%s/%s", dir, name);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int aul_list_segments(const char *dir, unsigned **segs, size_t *n, char *errstr, size_t errstr_size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*segs = NULL;
	*n = 0;
	if (!d)
		return wk_err(errstr, errstr_size, "cannot open audit log directory '%s': %s", dir,
			      strerror(errno));
	while ((de = readdir(d))) {
		unsigned segno;
		char check[AUL_NAME_MAX];

		/* Only exact names: "audit-00000001.log", nothing with extra characters. */
		if (strlen(de->d_name) != 18 || sscanf(de->d_name, "audit-%8u.log", &segno) != 1 ||
		    !segno)
			continue;
		aul_seg_name(segno, check);
		if (strcmp(check, de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*segs = wk_xrealloc(*segs, cap * sizeof(**segs));
		}
		(*segs)[(*n)++] = segno;
	}
	closedir(d);
	if (*n)
		qsort(*segs, *n, sizeof(**segs), cmp_uint);
	return 0;
}

int aul_map_file(const char *path, struct aul_map *m, char *errstr, size_t errstr_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	m->data = NULL;
	m->len = 0;
	if (fd < 0)
		return wk_err(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return wk_err(errstr, errstr_size, "cannot stat '%s': %s", path, strerror(errno));
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return wk_err(errstr, errstr_size, "cannot map '%s': %s", path, strerror(errno));
	m->data = p;
	m->len = (size_t)st.st_size;
	return 0;
}

void aul_unmap(struct aul_map *m)
{
	if (m->data)
		munmap((void *)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}

void aul_read_head(const char *dir, uint64_t *seq, char hash[WK_AUDITLOG_HASH_HEX])
{
	char *path = aul_path(dir, AUL_HEAD);
	char buf[AUL_HEAD_SIZE + 1];
	FILE *f = fopen(path, "rb");
	size_t n;
	cJSON *j, *s, *h;

	free(path);
	*seq = 0;
	hash[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, AUL_HEAD_SIZE, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	s = cJSON_GetObjectItemCaseSensitive(j, "seq");
	h = cJSON_GetObjectItemCaseSensitive(j, "hash");
	if (cJSON_IsNumber(s) && s->valuedouble >= 1 && cJSON_IsString(h) &&
	    strlen(h->valuestring) == 64) {
		*seq = (uint64_t)s->valuedouble;
		memcpy(hash, h->valuestring, WK_AUDITLOG_HASH_HEX);
	}
	cJSON_Delete(j);
}

void aul_read_head_mac(const char *dir, uint64_t *seq, char hash[WK_AUDITLOG_HASH_HEX],
		       char kid[17], char mac[WK_AUDITLOG_HASH_HEX])
{
	char *path = aul_path(dir, AUL_HEAD);
	char buf[AUL_HEAD_SIZE + 1];
	FILE *f = fopen(path, "rb");
	size_t n;
	cJSON *j, *k, *m;

	free(path);
	kid[0] = mac[0] = hash[0] = '\0';
	*seq = 0;
	if (!f)
		return;
	n = fread(buf, 1, AUL_HEAD_SIZE, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	k = cJSON_GetObjectItemCaseSensitive(j, "seq");
	m = cJSON_GetObjectItemCaseSensitive(j, "hash");
	if (cJSON_IsNumber(k) && k->valuedouble >= 1 && cJSON_IsString(m) &&
	    strlen(m->valuestring) == 64) {
		*seq = (uint64_t)k->valuedouble;
		memcpy(hash, m->valuestring, WK_AUDITLOG_HASH_HEX);
	}
	k = cJSON_GetObjectItemCaseSensitive(j, "kid");
	m = cJSON_GetObjectItemCaseSensitive(j, "mac");
	if (cJSON_IsString(k) && strlen(k->valuestring) == 16 && cJSON_IsString(m) &&
	    strlen(m->valuestring) == 64) {
		memcpy(kid, k->valuestring, 17);
		memcpy(mac, m->valuestring, WK_AUDITLOG_HASH_HEX);
	}
	cJSON_Delete(j);
}

int aul_fsync_dir(const char *dir, char *errstr, size_t errstr_size)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd))
		rc = wk_err(errstr, errstr_size, "cannot fsync directory '%s': %s", dir,
			    strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int aul_idx_load(const char *dir, unsigned segno, size_t seg_len, struct aul_idx_entry **e,
		 size_t *n)
{
	char name[AUL_NAME_MAX];
	char *path;
	struct aul_map m;
	const struct aul_idx_header *h;
	size_t count, ok = 0;
	uint64_t end = 0, seq = 0;

	*e = NULL;
	*n = 0;
	aul_idx_name(segno, name);
	path = aul_path(dir, name);
	if (aul_map_file(path, &m, NULL, 0)) {
		free(path);
		return 0;
	}
	free(path);
	h = (const void *)m.data;
	if (m.len < sizeof(*h) || memcmp(h->magic, AUL_IDX_MAGIC, 8) || h->segno != segno ||
	    h->entry_size != sizeof(struct aul_idx_entry)) {
		aul_unmap(&m);
		return 0;
	}
	count = (m.len - sizeof(*h)) / sizeof(struct aul_idx_entry);
	*e = wk_xmalloc((count ? count : 1) * sizeof(**e));
	memcpy(*e, m.data + sizeof(*h), count * sizeof(**e));
	aul_unmap(&m);
	/* Keep the prefix that is consistent: each line starts where the previous one ended, seqs
	 * count up by one, and nothing points past the segment's end. */
	for (ok = 0; ok < count; ok++) {
		const struct aul_idx_entry *x = &(*e)[ok];

		if (x->off != end || x->len == 0 || x->off + x->len > seg_len ||
		    (ok && x->seq != seq + 1))
			break;
		end = x->off + x->len;
		seq = x->seq;
	}
	*n = ok;
	return 0;
}

int aul_idx_write(const char *dir, unsigned segno, const struct aul_idx_entry *e, size_t n,
		  char *errstr, size_t errstr_size)
{
	char name[AUL_NAME_MAX];
	char *path, *tmp;
	struct aul_idx_header h = {0};
	FILE *f;
	int rc = 0;

	aul_idx_name(segno, name);
	path = aul_path(dir, name);
	tmp = wk_xasprintf("%s.tmp", path);
	memcpy(h.magic, AUL_IDX_MAGIC, 8);
	h.segno = segno;
	h.entry_size = sizeof(*e);
	f = fopen(tmp, "wb");
	if (!f || fwrite(&h, sizeof(h), 1, f) != 1 || (n && fwrite(e, sizeof(*e), n, f) != n) ||
	    fflush(f) || fsync(fileno(f)))
		rc = wk_err(errstr, errstr_size, "cannot write index '%s': %s", tmp,
			    strerror(errno));
	if (f && fclose(f) && !rc)
		rc = wk_err(errstr, errstr_size, "cannot write index '%s': %s", tmp,
			    strerror(errno));
	if (!rc && rename(tmp, path))
		rc = wk_err(errstr, errstr_size, "cannot rename '%s': %s", tmp, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

void aul_idx_scan(const struct aul_map *seg, size_t from, struct aul_idx_entry **e, size_t *n,
		  size_t *cap, size_t *end)
{
	size_t off = from;

	while (off < seg->len) {
		const char *line = seg->data + off;
		const char *nl = memchr(line, '\n', seg->len - off);
		size_t len;
		cJSON *j;
		struct aul_meta meta;

		if (!nl)
			break; /* torn: not a record yet */
		len = (size_t)(nl - line);
		j = cJSON_ParseWithLength(line, len);
		if (j && !aul_record_meta(j, &meta)) {
			struct aul_idx_entry *x;

			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 1024;
				*e = wk_xrealloc(*e, *cap * sizeof(**e));
			}
			x = &(*e)[(*n)++];
			memset(x, 0, sizeof(*x));
			x->seq = meta.seq;
			x->off = off;
			x->len = (uint32_t)(len + 1);
			x->time_us = meta.time_us;
			x->obj = meta.obj;
			x->req = meta.req;
			if (meta.has_dedupe) {
				x->flags |= AUL_F_DEDUPE;
				memcpy(x->dedupe, meta.dedupe, 16);
			}
		}
		cJSON_Delete(j);
		off += len + 1;
	}
	*end = off;
}

int wk_auditlog_reindex(const char *dir, char *errstr, size_t errstr_size)
{
	unsigned *segs;
	size_t nseg;
	int rc = 0;

	if (aul_list_segments(dir, &segs, &nseg, errstr, errstr_size))
		return -1;
	for (size_t i = 0; i < nseg && !rc; i++) {
		char name[AUL_NAME_MAX];
		char *path;
		struct aul_map m;
		struct aul_idx_entry *e = NULL;
		size_t n = 0, cap = 0, end;

		aul_seg_name(segs[i], name);
		path = aul_path(dir, name);
		rc = aul_map_file(path, &m, errstr, errstr_size);
		free(path);
		if (rc)
			break;
		aul_idx_scan(&m, 0, &e, &n, &cap, &end);
		aul_unmap(&m);
		rc = aul_idx_write(dir, segs[i], e, n, errstr, errstr_size);
		free(e);
	}
	free(segs);
	return rc;
}

void wk_auditlog_query_init(struct wk_auditlog_query *q)
{
	memset(q, 0, sizeof(*q));
	q->since_us = INT64_MIN;
	q->until_us = INT64_MAX;
}

static bool str_eq(const cJSON *o, const char *a, const char *b, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

/* The full check of one record against q (the index only narrows down the candidates). */
static bool matches(const cJSON *rec, const struct wk_auditlog_query *q, int64_t time_us)
{
	if (time_us < q->since_us || time_us >= q->until_us)
		return false;
	if (q->ns &&
	    !(str_eq(rec, "object", "namespace", q->ns) && str_eq(rec, "object", "name", q->name)))
		return false;
	if (q->cluster && !str_eq(rec, "cluster", NULL, q->cluster))
		return false;
	if (q->request_id && !str_eq(rec, "request", "id", q->request_id))
		return false;
	return true;
}

struct query_state {
	const struct wk_auditlog_query *q;
	uint64_t obj, req;
	wk_auditlog_match_cb *cb;
	void *opaque;
	size_t found;
	bool stop;
};

static void query_segment(struct query_state *s, const struct aul_map *seg,
			  const struct aul_idx_entry *e, size_t n)
{
	const struct wk_auditlog_query *q = s->q;

	for (size_t i = 0; i < n && !s->stop; i++) {
		const struct aul_idx_entry *x = &e[i];
		struct aul_meta meta;
		cJSON *j;

		if (x->time_us < q->since_us || x->time_us >= q->until_us ||
		    (s->obj && x->obj != s->obj) || (s->req && x->req != s->req))
			continue;
		if (x->off + x->len > seg->len || x->len < 2)
			continue;
		j = cJSON_ParseWithLength(seg->data + x->off, x->len - 1);
		if (j && !aul_record_meta(j, &meta) && matches(j, q, meta.time_us)) {
			s->found++;
			if (s->cb(seg->data + x->off, x->len - 1, j, s->opaque) ||
			    (q->limit && s->found >= q->limit))
				s->stop = true;
		}
		cJSON_Delete(j);
	}
}

int wk_auditlog_query_run(const char *dir, const struct wk_auditlog_query *q,
			  wk_auditlog_match_cb *cb, void *opaque, char *errstr, size_t errstr_size)
{
	struct query_state s = {.q = q, .cb = cb, .opaque = opaque};
	unsigned *segs;
	size_t nseg;
	int rc = 0;

	if ((q->ns == NULL) != (q->name == NULL))
		return wk_err(errstr, errstr_size, "query needs both namespace and name");
	if (q->ns)
		s.obj = aul_obj_hash(q->ns, q->name);
	if (q->request_id)
		s.req = aul_hash64(q->request_id, strlen(q->request_id));
	if (aul_list_segments(dir, &segs, &nseg, errstr, errstr_size))
		return -1;
	for (size_t i = 0; i < nseg && !s.stop; i++) {
		char name[AUL_NAME_MAX];
		char *path;
		struct aul_map m;
		struct aul_idx_entry *e = NULL;
		size_t n = 0, cap, from = 0;

		aul_seg_name(segs[i], name);
		path = aul_path(dir, name);
		if (aul_map_file(path, &m, errstr, errstr_size)) {
			free(path);
			/* A segment removed under our feet (retention) is not an error. */
			if (errno == ENOENT)
				continue;
			rc = -1;
			break;
		}
		free(path);
		if (!q->no_index) {
			aul_idx_load(dir, segs[i], m.len, &e, &n);
			if (n)
				from = e[n - 1].off + e[n - 1].len;
		}
		cap = n;
		/* The part of the segment the index does not cover yet (a live writer, or no
		 * index). */
		if (from < m.len)
			aul_idx_scan(&m, from, &e, &n, &cap, &from);
		query_segment(&s, &m, e, n);
		free(e);
		aul_unmap(&m);
	}
	free(segs);
	return rc;
}
