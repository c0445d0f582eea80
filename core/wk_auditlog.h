/* wk_auditlog.h - the audit log: append-only, hash-chained, fsync'd JSON-lines segments with a
 * dedupe window, sidecar indexes, queries and a chain verifier (docs/audit.md is the long form).
 *
 * Layout of a log directory: segments `audit-NNNNNNNN.log` (one record per line, numbered from
 * 1), a sidecar index per segment `audit-NNNNNNNN.idx` (a rebuildable cache), `HEAD` (the last
 * record known durable: a hint verify uses to detect records cut off the end) and `LOCK` (one
 * writer per directory, flock).
 *
 * Record line: `{"v":1,"seq":N,...,"prev":"<64 hex>","hash":"<64 hex>"}\n`; `hash` is always the
 * last member and is the SHA-256 (hex) of the line's bytes with `,"hash":"<64 hex>"` removed
 * (that is, from `{` through the prev value, followed by `}`). `prev` is the previous record's
 * hash (the first record of the log: 64 zeros), across segment boundaries too.
 *
 * The writer (struct wk_auditlog) is opaque and owned by the caller (_new/_destroy); readers
 * (query, verify) are plain functions on a directory and safe to run while a writer appends.
 */
#ifndef WK_AUDITLOG_H
#define WK_AUDITLOG_H

#include "wk_common.h"

#include <cjson/cJSON.h>

/* Cap on one record line, newline included: a record that would be longer is refused. */
#define WK_AUDITLOG_MAX_RECORD (64 * 1024)
/* Caps on the string members of a record (bytes, before JSON escaping). */
#define WK_AUDITLOG_MAX_ID 256		    /* ceId, request id, cluster, names, actor, kinds */
#define WK_AUDITLOG_MAX_SOURCE 512	    /* ceSource, ceType, topic */
#define WK_AUDITLOG_MAX_TEXT 4096	    /* reason, message */
#define WK_AUDITLOG_MAX_DETAILS (32 * 1024) /* details, as serialized */
#define WK_AUDITLOG_MAX_DEPTH 16	    /* nesting of details */
#define WK_AUDITLOG_MAX_RAW 1024 /* raw: longer input is cut (rawSize keeps its length) */

#define WK_AUDITLOG_HASH_HEX 65 /* 64 hex digits + NUL */

/* Defaults of struct wk_auditlog_opts (0 in a field means its default). */
#define WK_AUDITLOG_DEF_SEGMENT_BYTES (64LL * 1024 * 1024)
#define WK_AUDITLOG_DEF_SEGMENT_AGE_MS (24LL * 3600 * 1000)
#define WK_AUDITLOG_DEF_FSYNC_BATCH 256
#define WK_AUDITLOG_DEF_FSYNC_DELAY_MS 50
#define WK_AUDITLOG_DEF_DEDUPE_WINDOW 1000000

/* A chain key (audit.key-file): records written with it carry "kid" (the first 16 hex digits of
 * the key's SHA-256) and their hash is HMAC-SHA256 under the key instead of plain SHA-256, and HEAD
 * carries an HMAC too. Without the key nobody can rewrite the log consistently. */
#define WK_AUDITLOG_KEY_MIN 32
#define WK_AUDITLOG_KEY_MAX 256
struct wk_auditlog_key {
	uint8_t bytes[WK_AUDITLOG_KEY_MAX];
	size_t len;
	char kid[17];
};
/* Read a key file: its bytes, a trailing newline dropped; 32 to 256 bytes. */
int wk_auditlog_key_load(const char *path, struct wk_auditlog_key *k, char *errstr,
			 size_t errstr_size);

struct wk_auditlog_opts {
	const char *dir;	  /* created (one level) if missing */
	long long segment_bytes;  /* rotate before a segment would exceed this size */
	long long segment_age_ms; /* rotate when the segment's first record is this old */
	int fsync_batch;	  /* fsync once this many records are pending ... */
	int fsync_delay_ms;	  /* ... or the oldest pending record is this old (see _sync_due) */
	long long dedupe_window;  /* ids of the last N records are remembered (16 bytes + 8 each) */
	bool fsync_every_record;  /* benchmark baseline: fsync inside every append */
	/* NULL: unkeyed (plain SHA-256 chain). Set: keyed records; when the last record of the
	 * log has another kid (or none), a "key-rotation" record is appended first. */
	const struct wk_auditlog_key *key;
};

/* One record's content. NULL strings (and negative partition/offset) are left out of the record.
 * Strings are bytes: invalid UTF-8 is replaced by U+FFFD, control characters are escaped. */
struct wk_audit_entry {
	const char *kind; /* "event", "invalid-event", "rejected-submission" */
	const char *ce_source, *ce_id, *ce_type, *event_time;
	const char *request_id, *request_source; /* source: "spec", "policy", "kafka", ... */
	const char *request_topic;
	int32_t request_partition;
	int64_t request_offset;
	const char *cluster, *object_kind, *object_namespace, *object_name;
	const char *actor, *action, *outcome, *reason, *message;
	const cJSON *details; /* any JSON value; serialized with the escaping above */
	const char *raw;      /* invalid events: a prefix of the raw message value */
	size_t raw_len;
	const char *input_topic; /* where this record's input came from */
	int32_t input_partition;
	int64_t input_offset;
	/* Identity for dedupe (bytes; NULL = never a duplicate). An entry whose key equals the key
	 * of one of the last dedupe_window records is dropped. */
	const void *dedupe_key;
	size_t dedupe_key_len;
};

/* Initialise e with everything absent (partitions and offsets -1). */
void wk_audit_entry_init(struct wk_audit_entry *e);

struct wk_auditlog;

/* Open (or create) the log in opts->dir for appending: takes the directory lock, removes a torn
 * last record (a write that never completed, so never acknowledged), rebuilds stale indexes and
 * the dedupe window. Fails, naming the record, when damage reaches records that HEAD says were
 * durable: that is not a crash but loss or tampering, and verify should look at it. */
struct wk_auditlog *wk_auditlog_new(const struct wk_auditlog_opts *opts, char *errstr,
				    size_t errstr_size);
/* fsync what is pending and close; NULL is a no-op. */
void wk_auditlog_destroy(struct wk_auditlog *l);

/* Append one record: 0 with *seq set; 1 if it is a duplicate (dropped; *seq is the last seq, the
 * point after which its original is durable); WK_AUDITLOG_REFUSED if the content breaks a cap
 * (errstr names the field; nothing written); -1 on an I/O error (nothing written, or, when
 * wk_auditlog_failed() says so, the log must be reopened). The record is durable only once
 * wk_auditlog_durable_seq() >= *seq. */
#define WK_AUDITLOG_REFUSED 2
int wk_auditlog_append(struct wk_auditlog *l, const struct wk_audit_entry *e, uint64_t *seq,
		       char *errstr, size_t errstr_size);
/* fsync now if anything is pending; -1 on an I/O error (the log must then be reopened). */
int wk_auditlog_sync(struct wk_auditlog *l, char *errstr, size_t errstr_size);
/* fsync if the batch is full or the delay has passed: 1 synced, 0 nothing due, -1 error. */
int wk_auditlog_sync_if_due(struct wk_auditlog *l, char *errstr, size_t errstr_size);
/* Milliseconds until the pending batch is due (0 = now), or -1 when nothing is pending. */
long long wk_auditlog_sync_due_ms(const struct wk_auditlog *l);
/* True once an fsync or a write failed in a way that needs a reopen (recovery) to go on. */
bool wk_auditlog_failed(const struct wk_auditlog *l);
uint64_t wk_auditlog_last_seq(const struct wk_auditlog *l);
uint64_t wk_auditlog_durable_seq(const struct wk_auditlog *l);
/* The segment number appended to last (0 before the first record). */
unsigned wk_auditlog_segment(const struct wk_auditlog *l);

/* Queries. Filters combine with AND; an unset filter matches everything. */
struct wk_auditlog_query {
	const char *ns, *name;	/* object namespace and name (both, or neither) */
	const char *cluster;	/* optional with ns/name */
	const char *request_id; /* request.id */
	int64_t since_us;	/* record time >= since (INT64_MIN: open) */
	int64_t until_us;	/* record time <  until (INT64_MAX: open) */
	size_t limit;		/* stop after this many matches; 0 = no limit */
	bool no_index;		/* full scan (the benchmark's baseline) */
};

void wk_auditlog_query_init(struct wk_auditlog_query *q);

/* Called once per match in log order with the record line (no newline) and its parse; a
 * non-zero return stops the query. */
typedef int wk_auditlog_match_cb(const char *line, size_t len, const cJSON *rec, void *opaque);

/* Run q over the log in dir: 0 (matches delivered to cb), -1 on an I/O error. Records that fail to
 * parse are skipped (verify reports them). Indexes are used when consistent with their segment
 * and the part of a segment past its index is scanned, so a concurrent writer is fine. */
int wk_auditlog_query_run(const char *dir, const struct wk_auditlog_query *q,
			  wk_auditlog_match_cb *cb, void *opaque, char *errstr, size_t errstr_size);

/* Verification of the whole chain. */
struct wk_auditlog_verify_result {
	bool ok;
	uint64_t records;  /* records checked (up to the first problem) */
	unsigned segments; /* segment files seen */
	uint64_t last_seq;
	/* The first problem: segment file name, 1-based line (0 = the file as a whole), the seq
	 * expected at that place, and a sentence saying what is wrong. */
	char segment[64];
	uint64_t line;
	uint64_t seq;
	char what[512];
	/* ok, but the last segment ends in an incomplete record past HEAD: one being written, or
	 * torn by a crash and never acknowledged (the writer cuts it on open). segment/line/seq
	 * say where. */
	bool tail_incomplete;
	/* Records of kind "input-gap" (wukong-audit found its input trimmed before it read it):
	 * the chain can be valid and the log still incomplete. Their count, and the seq and
	 * reason of the first WK_AUDITLOG_GAPS_LISTED. */
	uint64_t input_gaps;
	uint64_t last_gap_seq; /* 0 = none */
	/* Keys: records checked with a key (keyed) and records with a plain SHA-256 hash
	 * (unkeyed, older logs: anyone able to write the directory could rewrite them);
	 * head_signed: HEAD's HMAC was checked. */
	uint64_t keyed, unkeyed;
	bool head_signed;
	uint64_t gap_seq[8];
	char gap_reason[8][256];
};
#define WK_AUDITLOG_GAPS_LISTED 8

/* 0 when the check ran (r->ok says the verdict), -1 when the directory can't be read. A keyed
 * record needs its key: without it verify fails on it. */
int wk_auditlog_verify(const char *dir, struct wk_auditlog_verify_result *r, char *errstr,
		       size_t errstr_size);
/* The same with the chain keys (every key the log was written with since the last unkeyed
 * record: rotation leaves older kids behind). An unkeyed record after a keyed one fails (a
 * downgrade); HEAD must carry a valid HMAC once the log is keyed. */
int wk_auditlog_verify_keys(const char *dir, const struct wk_auditlog_key *keys, size_t nkeys,
			    struct wk_auditlog_verify_result *r, char *errstr, size_t errstr_size);

/* Rebuild every segment's index from its records (the CLI's `reindex`). */
int wk_auditlog_reindex(const char *dir, char *errstr, size_t errstr_size);

/* Check one record line (no newline): 0 with its seq and hash filled in (prev into prev when
 * non-NULL), -1 with what is wrong ("hash mismatch ..."). Exposed for tests and tools. */
int wk_auditlog_check_line(const char *line, size_t len, uint64_t *seq,
			   char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			   char *errstr, size_t errstr_size);

#endif
