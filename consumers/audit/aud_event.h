/* aud_event.h - wukong-audit: turn one Kafka message (an audit event, or a dead letter) into an
 * audit log entry. Never fails: what can't be understood becomes an "invalid-event" record.
 *
 * struct aud_rec is caller-owned (aud_rec_init/aud_rec_release); the entry's strings point into it
 * and into the input message, so it lives no longer than both.
 */
#ifndef AUD_EVENT_H
#define AUD_EVENT_H

#include "wk_auditlog.h"
#include "wk_buf.h"
#include "wk_types.h"

/* The ce_type of an audit event (docs/audit.md). */
#define AUD_CE_TYPE WK_CE_AUDIT
/* Cap on an audit event's value; larger ones are recorded as invalid ("oversized"). */
#define AUD_MAX_EVENT (64 * 1024)

/* A Kafka message seen through what the translation needs (tests fake it without librdkafka). */
struct aud_input {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *value; /* NULL for a message without a value */
	size_t len;
	/* The last header `name` as bytes (not NUL-terminated), or NULL. */
	const char *(*header)(const void *msg, const char *name, size_t *len);
	const void *msg;
};

enum aud_input_kind { AUD_AUDIT_EVENT, AUD_DEAD_LETTER };

#define AUD_NSTR 32

struct aud_rec {
	struct wk_audit_entry e;
	char *s[AUD_NSTR]; /* owned strings the entry points to */
	size_t ns;
	cJSON *body;
	cJSON *details; /* owned details built here (dead letters) */
	struct wk_buf key;
	char invalid_reason[512]; /* non-empty: this is an invalid-event record */
};

void aud_rec_init(struct aud_rec *r);
void aud_rec_release(struct aud_rec *r);

/* Fill r->e from in. */
void aud_translate(struct aud_rec *r, enum aud_input_kind kind, const struct aud_input *in);
/* Replace r->e by an invalid-event record for the same input saying why (used when the log
 * refuses the entry, e.g. over its size cap after escaping). */
void aud_make_invalid(struct aud_rec *r, const struct aud_input *in, const char *why);
/* r (re-initialised) as an "input-gap" record (action audit.input-gap): offsets from..to of
 * topic/partition were removed before the log read them. Deduped per topic, partition and from
 * (a restart that finds the same gap again records it once). */
void aud_make_gap(struct aud_rec *r, const char *topic, int32_t partition, int64_t from,
		  int64_t to);
/* Replace r->e by the smallest record there is: input coordinates and why, nothing else. */
void aud_make_minimal(struct aud_rec *r, const struct aud_input *in, const char *why);
/* Translate in and append its record to log, falling back to an invalid-event record when the
 * log refuses the entry and to a minimal one (aud_make_minimal) when even that is refused:
 * never stops on content. 0 written (*seq), 1 duplicate, -1 I/O error (errstr). */
int aud_append(struct wk_auditlog *log, struct aud_rec *r, enum aud_input_kind kind,
	       const struct aud_input *in, uint64_t *seq, char *errstr, size_t errstr_size);

#endif
