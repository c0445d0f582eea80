/* wk_cloudevent.h - CloudEvents 1.0 in Kafka binary content mode: encode to headers (with
 * extension attributes), decode and validate the required ce_* headers.
 *
 * A decoded event's strings are copies held in the struct (fixed caps below); data points into
 * the Kafka message and lives as long as it. Extension attributes added to an event are copies
 * held in the struct too.
 */
#ifndef WK_CLOUDEVENT_H
#define WK_CLOUDEVENT_H

#include "wk_common.h"
#include "wk_kafka.h"

#define WK_CE_ID_MAX 256
#define WK_CE_SOURCE_MAX 512
#define WK_CE_TYPE_MAX 256
#define WK_CE_SUBJECT_MAX 512
#define WK_CE_TIME_MAX 64
#define WK_CE_EXT_MAX 4		/* extension attributes per event, besides ce_partitionkey */
#define WK_CE_EXT_NAME_MAX 20	/* CloudEvents: a name SHOULD NOT exceed 20 characters */
#define WK_CE_EXT_VALUE_MAX 256 /* with the NUL */

/* One extension attribute: its Kafka header "ce_<name>" and its value. */
struct wk_cloudevent_ext {
	char header[WK_CE_EXT_NAME_MAX + 4];
	char value[WK_CE_EXT_VALUE_MAX];
};

struct wk_cloudevent {
	char id[WK_CE_ID_MAX];
	char source[WK_CE_SOURCE_MAX];	 /* "/clusters/<cluster-id>" */
	char type[WK_CE_TYPE_MAX];	 /* WK_CE_PREFIX "<kind>.<change>" (wk_types.h) */
	char subject[WK_CE_SUBJECT_MAX]; /* "<kind>/<ns>/<name>", optional */
	char time[WK_CE_TIME_MAX];	 /* RFC 3339, optional */
	char content_type[128];		 /* "application/json" */
	const char *data;		 /* the message value (not NUL-terminated) */
	size_t data_len;
	/* Extension attributes for wk_cloudevent_send, in the order added (wk_cloudevent_ext_add);
	 * wk_cloudevent_decode leaves them empty (read one with wk_kafka_header_copy). */
	struct wk_cloudevent_ext ext[WK_CE_EXT_MAX];
	size_t next;
};

/* Validate and copy: specversion "1.0"; id, source, type present, non-empty and within caps;
 * time (if present) RFC 3339; content-type (if present) JSON. -1 with the reason otherwise. */
int wk_cloudevent_decode(const rd_kafka_message_t *m, struct wk_cloudevent *ev, char *errstr,
			 size_t errstr_size);
/* The same from a message's parts: its headers (NULL = none) and value (data points into it).
 * What wk_cloudevent_decode does after reading the headers; tests/fuzz/fuzz_cloudevent.c. */
int wk_cloudevent_decode_parts(const rd_kafka_headers_t *hdrs, const void *payload, size_t len,
			       struct wk_cloudevent *ev, char *errstr, size_t errstr_size);
/* Whether the len bytes at s are CloudEvents String text: UTF-8 without control characters (what
 * wk_cloudevent_decode requires of every ce_* header it reads, and wk_cloudevent_ext_add of a
 * value). For producers that check an attribute before they build the event. */
bool wk_cloudevent_string_ok(const char *s, size_t len);
/* Add the extension attribute `name` with `value` to ev (copied), for wk_cloudevent_send. The
 * name follows the CloudEvents naming rule: 1 to WK_CE_EXT_NAME_MAX characters of a-z and 0-9
 * (no '_', '-' or upper case), neither a core attribute nor "partitionkey" (wk_cloudevent_send
 * writes that from the message key), and not already added. The value is non-empty CloudEvents
 * String text: UTF-8 without control characters, under WK_CE_EXT_VALUE_MAX bytes. -1 with the
 * reason otherwise, or when ev has WK_CE_EXT_MAX of them already; ev is unchanged then. */
int wk_cloudevent_ext_add(struct wk_cloudevent *ev, const char *name, const char *value,
			  char *errstr, size_t errstr_size);
/* Produce ev with the JSON body data to topic under key. Empty id: a random UUID is used;
 * empty time: now. Headers in this order: ce_specversion, ce_id, ce_source, ce_type, ce_time,
 * ce_subject (when set), ce_partitionkey (the key, when there is one), ev's extension
 * attributes in the order added, content-type. */
int wk_cloudevent_send(struct wk_producer *p, const char *topic, const char *key,
		       const struct wk_cloudevent *ev, const char *data, size_t data_len,
		       void *msg_opaque, char *errstr, size_t errstr_size);

/* Which executor answers for a message on a request topic, so that a bad message is
 * dead-lettered exactly once though every executor reads it: the cloner for a message whose
 * ce_type header is a clone request, the migrator for everything else (migrate, cancel, drain,
 * unknown types, messages without a readable ce_type: undecodable, oversized, garbage). Decided
 * from the header alone, so it holds before (or without) decoding. Others skip it silently. */
enum wk_request_owner { WK_OWNER_MIGRATOR = 0, WK_OWNER_CLONER };
enum wk_request_owner wk_request_owner(const rd_kafka_message_t *m);

#endif
