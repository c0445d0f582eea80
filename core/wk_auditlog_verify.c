/* wk_auditlog_verify.c - check the whole chain and name the first broken record. */
#include "wk_auditlog_int.h"

#include <stdarg.h>

struct vstate {
	struct wk_auditlog_verify_result *r;
	uint64_t expect;		 /* next seq */
	char prev[WK_AUDITLOG_HASH_HEX]; /* hash of the last good record */
	char prev_seg[AUL_NAME_MAX];	 /* segment holding it */
	uint64_t head_seq;		 /* from HEAD, 0 = none */
	char head_hash[WK_AUDITLOG_HASH_HEX];
	char head_kid[17], head_mac[WK_AUDITLOG_HASH_HEX];
	const struct aul_keys *keys;
};

static void fail(struct vstate *v, const char *seg, uint64_t line, const char *fmt, ...)
    WK_PRINTF(4, 5);

static void fail(struct vstate *v, const char *seg, uint64_t line, const char *fmt, ...)
{
	va_list ap;

	v->r->ok = false;
	wk_strlcpy(v->r->segment, seg, sizeof(v->r->segment));
	v->r->line = line;
	v->r->seq = v->expect;
	va_start(ap, fmt);
	vsnprintf(v->r->what, sizeof(v->r->what), fmt, ap);
	va_end(ap);
}

/* Seq of the line after `off` if it is a well-formed record, else 0. */
static uint64_t next_seq(const struct aul_map *m, size_t off)
{
	const char *nl;
	uint64_t seq;
	char h[WK_AUDITLOG_HASH_HEX];

	if (off >= m->len || !(nl = memchr(m->data + off, '\n', m->len - off)))
		return 0;
	if (wk_auditlog_check_line(m->data + off, (size_t)(nl - m->data - off), &seq, h, NULL, NULL,
				   0))
		return 0;
	return seq;
}

/* An input-gap record: counted, the first ones listed. */
static void note_gap(struct wk_auditlog_verify_result *r, const cJSON *j, uint64_t seq)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");

	if (!cJSON_IsString(k) || strcmp(k->valuestring, "input-gap"))
		return;
	if (r->input_gaps < WK_AUDITLOG_GAPS_LISTED) {
		r->gap_seq[r->input_gaps] = seq;
		wk_strlcpy(r->gap_reason[r->input_gaps],
			   cJSON_IsString(why) ? why->valuestring : "input gap",
			   sizeof(r->gap_reason[0]));
	}
	r->input_gaps++;
	r->last_gap_seq = seq;
}

/* Check one segment; false once a problem is recorded. */
static bool verify_segment(struct vstate *v, const char *seg, const struct aul_map *m, bool first,
			   bool last)
{
	size_t off = 0;
	uint64_t line = 0;

	while (off < m->len) {
		const char *p = m->data + off;
		const char *nl = memchr(p, '\n', m->len - off);
		char hash[WK_AUDITLOG_HASH_HEX], prev[WK_AUDITLOG_HASH_HEX], why[256];
		uint64_t seq, after;
		char kid[17];
		cJSON *j;
		size_t len;

		line++;
		if (!nl && last && v->head_seq && v->expect > v->head_seq) {
			/* Past what HEAD says was durable: a record being written right now, or
			 * one torn by a crash that the writer cuts on its next open. It was never
			 * acknowledged, so it is not part of the log yet. */
			v->r->tail_incomplete = true;
			wk_strlcpy(v->r->segment, seg, sizeof(v->r->segment));
			v->r->line = line;
			v->r->seq = v->expect;
			return true;
		}
		if (!nl) {
			fail(v, seg, line,
			     "incomplete record at the end of the segment (no newline, %zu bytes): "
			     "a torn write or a truncated file",
			     m->len - off);
			return false;
		}
		len = (size_t)(nl - p);
		if (aul_check_line_keys(p, len, v->keys, &seq, hash, prev, kid, &j, why,
					sizeof(why))) {
			fail(v, seg, line, "%s", why);
			return false;
		}
		if (kid[0]) {
			v->r->keyed++;
		} else if (v->r->keyed) {
			cJSON_Delete(j);
			fail(v, seg, line,
			     "unkeyed record after keyed ones: the chain was downgraded (a record "
			     "written or rewritten without the key)");
			return false;
		} else {
			v->r->unkeyed++;
		}
		note_gap(v->r, j, seq);
		cJSON_Delete(j);
		if (seq != v->expect) {
			after = next_seq(m, off + len + 1);
			if (line == 1 && !first && seq > v->expect)
				fail(v, seg, line,
				     "segment starts at seq %llu but '%s' ends at seq %llu: the "
				     "end of "
				     "'%s' was truncated or records were deleted",
				     (unsigned long long)seq, v->prev_seg,
				     (unsigned long long)(v->expect - 1), v->prev_seg);
			else if (seq > v->expect && after == v->expect)
				fail(v, seg, line,
				     "records out of order: seq %llu comes before seq %llu",
				     (unsigned long long)seq, (unsigned long long)v->expect);
			else if (seq > v->expect)
				fail(v, seg, line,
				     "missing record: expected seq %llu, found seq %llu (%llu "
				     "record(s) "
				     "deleted)",
				     (unsigned long long)v->expect, (unsigned long long)seq,
				     (unsigned long long)(seq - v->expect));
			else
				fail(v, seg, line,
				     "records out of order or duplicated: expected seq %llu, found "
				     "seq "
				     "%llu",
				     (unsigned long long)v->expect, (unsigned long long)seq);
			return false;
		}
		if (strcmp(prev, v->prev)) {
			if (seq == 1)
				fail(v, seg, line,
				     "prev of the first record is not the genesis value");
			else if (line == 1 && !first)
				fail(v, seg, line,
				     "chain broken at the segment boundary: prev does not match "
				     "the hash "
				     "of the last record of '%s' (seq %llu)",
				     v->prev_seg, (unsigned long long)(seq - 1));
			else
				fail(v, seg, line,
				     "prev mismatch: prev does not match the hash of record seq "
				     "%llu "
				     "(a record was changed, removed or reordered)",
				     (unsigned long long)(seq - 1));
			return false;
		}
		if (seq == v->head_seq && strcmp(hash, v->head_hash)) {
			fail(v, seg, line,
			     "record seq %llu is not the record HEAD says was written (hash "
			     "%.12s..., "
			     "HEAD has %.12s...)",
			     (unsigned long long)seq, hash, v->head_hash);
			return false;
		}
		memcpy(v->prev, hash, sizeof(v->prev));
		wk_strlcpy(v->prev_seg, seg, sizeof(v->prev_seg));
		v->expect++;
		v->r->records++;
		v->r->last_seq = seq;
		off += len + 1;
	}
	return true;
}

int wk_auditlog_verify(const char *dir, struct wk_auditlog_verify_result *r, char *errstr,
		       size_t errstr_size)
{
	return wk_auditlog_verify_keys(dir, NULL, 0, r, errstr, errstr_size);
}

/* HEAD of a keyed log must carry a valid HMAC of its claim under a given key. */
static void check_head_mac(struct vstate *v, const struct aul_keys *ks)
{
	const char *kid = v->head_kid, *mac = v->head_mac;
	char claim[128], want[WK_AUDITLOG_HASH_HEX];
	const struct wk_auditlog_key *key = NULL;
	int n;

	if (!v->head_seq)
		return;
	if (!kid[0]) {
		fail(v, "HEAD", 0, "the log is keyed but HEAD is not signed (rewritten without the key)");
		return;
	}
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->k[i].kid, kid))
			key = &ks->k[i];
	if (!key) {
		fail(v, "HEAD", 0, "HEAD is signed with kid %s and that key was not given", kid);
		return;
	}
	n = snprintf(claim, sizeof(claim), "%llu %s", (unsigned long long)v->head_seq,
		     v->head_hash);
	aul_hmac_hex(key, claim, (size_t)n, want);
	if (strcmp(want, mac)) {
		fail(v, "HEAD", 0, "HEAD's signature does not match its claim (seq %llu)",
		     (unsigned long long)v->head_seq);
		return;
	}
	v->r->head_signed = true;
}

int wk_auditlog_verify_keys(const char *dir, const struct wk_auditlog_key *keys, size_t nkeys,
			    struct wk_auditlog_verify_result *r, char *errstr, size_t errstr_size)
{
	struct aul_keys ks = {keys, nkeys, true};
	struct vstate v = {.r = r, .expect = 1, .keys = &ks};
	char last_name[AUL_NAME_MAX] = "";
	unsigned *segs;
	size_t nseg;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	memcpy(v.prev, AUL_GENESIS, sizeof(v.prev));
	/* HEAD before the segments: a writer appending meanwhile only moves the log past it. */
	aul_read_head_mac(dir, &v.head_seq, v.head_hash, v.head_kid, v.head_mac);
	if (aul_list_segments(dir, &segs, &nseg, errstr, errstr_size))
		return -1;
	r->segments = (unsigned)nseg;
	for (size_t i = 0; i < nseg && r->ok; i++) {
		char name[AUL_NAME_MAX], want[AUL_NAME_MAX];
		char *path;
		struct aul_map m;

		aul_seg_name(segs[i], name);
		memcpy(last_name, name, sizeof(last_name));
		if (segs[i] != (i ? segs[i - 1] + 1 : 1)) {
			aul_seg_name(i ? segs[i - 1] + 1 : 1, want);
			if (i)
				fail(&v, name, 0,
				     "segment '%s' is missing: '%s' is followed by '%s' (a whole "
				     "segment was deleted)",
				     want, v.prev_seg[0] ? v.prev_seg : "-", name);
			else
				fail(&v, name, 0, "segment '%s' is missing: the log starts at '%s'",
				     want, name);
			break;
		}
		path = aul_path(dir, name);
		if (aul_map_file(path, &m, errstr, errstr_size)) {
			free(path);
			rc = -1;
			break;
		}
		free(path);
		if (m.len == 0 && i + 1 < nseg) {
			fail(&v, name, 0,
			     "segment is empty but later segments exist (its records "
			     "were removed)");
			break;
		}
		verify_segment(&v, name, &m, i == 0, i + 1 == nseg);
		aul_unmap(&m);
	}
	free(segs);
	if (!rc && r->ok && v.head_seq > r->last_seq) {
		fail(
		    &v, last_name[0] ? last_name : "-", 0,
		    "the log ends at seq %llu but HEAD says seq %llu was written: records were cut "
		    "off the end",
		    (unsigned long long)r->last_seq, (unsigned long long)v.head_seq);
	}
	if (!rc && r->ok && r->keyed)
		check_head_mac(&v, &ks);
	if (!rc && r->ok && nkeys && !r->keyed && r->records)
		fail(&v, last_name[0] ? last_name : "-", 0,
		     "keys were given but no record is keyed: the log was never keyed, or was "
		     "rewritten without the key (downgraded)");
	return rc;
}
