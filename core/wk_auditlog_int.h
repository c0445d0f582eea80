/* wk_auditlog_int.h - private to core/wk_auditlog*.c: file names, the sidecar index format, the
 * record serializer and segment scanning. Not for use outside those files.
 */
#ifndef WK_AUDITLOG_INT_H
#define WK_AUDITLOG_INT_H

#include "wk_auditlog.h"
#include "wk_buf.h"

#define AUL_SEG_FMT "audit-%08u.log"
#define AUL_IDX_FMT "audit-%08u.idx"
#define AUL_NAME_MAX 32
#define AUL_HEAD "HEAD"
#define AUL_LOCK "LOCK"
#define AUL_HEAD_SIZE 320 /* HEAD is one fixed-size line, rewritten in place */
#define AUL_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
/* `,"hash":"` + 64 hex + `"}`: the fixed tail of every record line. */
#define AUL_HASH_TAIL 75

/* Sidecar index: a header, then one fixed-size entry per record in segment order. Native byte
 * order: it is a local cache, rebuilt from the segment whenever it does not match it. */
#define AUL_IDX_MAGIC "WKAIDX01"
struct aul_idx_header {
	char magic[8];
	uint32_t segno;
	uint32_t entry_size;
	uint64_t reserved[2];
};

struct aul_idx_entry {
	uint64_t seq;
	uint64_t off;	 /* byte offset of the line in the segment */
	uint32_t len;	 /* line length including the newline */
	uint32_t flags;	 /* AUL_F_* */
	int64_t time_us; /* record time */
	uint64_t obj;	 /* aul_hash64("<ns>/<name>"), 0 = no object */
	uint64_t req;	 /* aul_hash64(request id), 0 = no request */
	uint8_t dedupe[16];
};
#define AUL_F_DEDUPE 1u /* dedupe holds a key */

/* What the index and the dedupe window need from one record. */
struct aul_meta {
	uint64_t seq;
	int64_t time_us;
	uint64_t obj, req;
	bool has_dedupe;
	uint8_t dedupe[16];
};

/* The dedupe window (wk_auditlog_dedupe.c): the keys of the last `cap` records, oldest evicted
 * first; ring positions + 1 in an open-addressing table. */
struct aul_dedupe {
	uint8_t (*ring)[16];
	size_t cap, count, head; /* head: next ring slot to write (the oldest once full) */
	uint32_t *table;
	size_t mask;
};
void aul_dd_init(struct aul_dedupe *d, size_t cap);
void aul_dd_release(struct aul_dedupe *d);
bool aul_dd_has(const struct aul_dedupe *d, const uint8_t *key);
void aul_dd_add(struct aul_dedupe *d, const uint8_t *key);

uint64_t aul_hash64(const char *s, size_t len);
uint64_t aul_obj_hash(const char *ns, const char *name);
void aul_sha256_hex(const void *data, size_t len, char out[WK_AUDITLOG_HASH_HEX]);
/* The hash rule: SHA-256 (hex) of a record body (everything up to and including the prev value)
 * followed by "}". */
void aul_record_hash(const char *body, size_t len, char out[WK_AUDITLOG_HASH_HEX]);
/* The 16-byte dedupe digest of a key: the first half of its SHA-256. */
void aul_dedupe_digest(const void *key, size_t len, uint8_t out[16]);

void aul_seg_name(unsigned segno, char out[AUL_NAME_MAX]);
void aul_idx_name(unsigned segno, char out[AUL_NAME_MAX]);
/* Segment numbers in dir, ascending (caller frees *segs). */
int aul_list_segments(const char *dir, unsigned **segs, size_t *n, char *errstr,
		      size_t errstr_size);

/* JSON string with escaping; invalid UTF-8 becomes U+FFFD. -1 past the buffer's cap. */
int aul_json_str(struct wk_buf *b, const char *s, size_t len);
/* Serialize e as a record body up to and including the prev member, without the closing brace;
 * kid (NULL: unkeyed) goes right before prev. */
int aul_record_body(struct wk_buf *b, const struct wk_audit_entry *e, uint64_t seq, int64_t time_us,
		    const uint8_t *dedupe, const char *kid, const char *prev, char *errstr,
		    size_t errstr_size);
/* The hash of a body (up to prev, without the brace): SHA-256, or HMAC-SHA256 under key. */
void aul_record_mac(const char *body, size_t len, const struct wk_auditlog_key *key,
		    char out[WK_AUDITLOG_HASH_HEX]);
/* HMAC-SHA256 (hex) of s under key. */
void aul_hmac_hex(const struct wk_auditlog_key *key, const char *s, size_t len,
		  char out[WK_AUDITLOG_HASH_HEX]);
/* Keys a check uses: strict = a keyed record whose key is not here fails. NULL = not strict. */
struct aul_keys {
	const struct wk_auditlog_key *k;
	size_t n;
	bool strict;
};
/* aul_check_line_json with keys: *kid (17 bytes, "" = unkeyed) says which key the record has;
 * its hash is checked under that key when it is in keys (else: strict fails, otherwise the hash
 * is taken as it is). */
int aul_check_line_keys(const char *line, size_t len, const struct aul_keys *keys, uint64_t *seq,
			char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			char kid[17], cJSON **out, char *errstr, size_t errstr_size);
/* wk_auditlog_check_line, also handing back the parse (*out, caller deletes) on success. */
int aul_check_line_json(const char *line, size_t len, uint64_t *seq,
			char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			cJSON **out, char *errstr, size_t errstr_size);
/* Index metadata of a parsed record. -1 if seq or time are missing. */
int aul_record_meta(const cJSON *rec, struct aul_meta *m);

/* A read-only view of a whole file (empty files map to len 0, data NULL). */
struct aul_map {
	const char *data;
	size_t len;
};
int aul_map_file(const char *path, struct aul_map *m, char *errstr, size_t errstr_size);
void aul_unmap(struct aul_map *m);

/* Load the index of a segment of seg_len bytes: the longest prefix of entries consistent with
 * themselves (contiguous offsets, consecutive seqs, inside the segment). *n = 0 when missing. */
int aul_idx_load(const char *dir, unsigned segno, size_t seg_len, struct aul_idx_entry **e,
		 size_t *n);
/* Write a complete index file for a segment (replacing any). */
int aul_idx_write(const char *dir, unsigned segno, const struct aul_idx_entry *e, size_t n,
		  char *errstr, size_t errstr_size);
/* Index entries of every complete, parseable line of a mapped segment from byte `from`; stops at
 * the first line that is torn or does not parse (*end = its offset). Caller frees *e. */
void aul_idx_scan(const struct aul_map *seg, size_t from, struct aul_idx_entry **e, size_t *n,
		  size_t *cap, size_t *end);

/* HEAD's claim: the last seq known durable and its hash; *seq = 0 when missing or unreadable. */
void aul_read_head(const char *dir, uint64_t *seq, char hash[WK_AUDITLOG_HASH_HEX]);
/* aul_read_head and, from the same read, HEAD's signature: kid and mac ("" when unsigned). */
void aul_read_head_mac(const char *dir, uint64_t *seq, char hash[WK_AUDITLOG_HASH_HEX],
		       char kid[17], char mac[WK_AUDITLOG_HASH_HEX]);
int aul_fsync_dir(const char *dir, char *errstr, size_t errstr_size);
char *aul_path(const char *dir, const char *name);

#endif
