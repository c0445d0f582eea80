/* wk_cloudevent.h - CloudEvents 1.0 in Kafka binary content mode: encode to headers, decode and
 * validate the required ce_* headers.
 *
 * A decoded event's strings are copies held in the struct (fixed caps below); data points into
 * the Kafka message and lives as long as it.
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

struct wk_cloudevent {
	char id[WK_CE_ID_MAX];
	char source[WK_CE_SOURCE_MAX];   /* "/clusters/<cluster-id>" */
	char type[WK_CE_TYPE_MAX];       /* "dev.novasphere.wukong.<kind>.<change>" */
	char subject[WK_CE_SUBJECT_MAX]; /* "<kind>/<ns>/<name>", optional */
	char time[WK_CE_TIME_MAX];       /* RFC 3339, optional */
	char content_type[128];          /* "application/json" */
	const char *data;                /* the message value (not NUL-terminated) */
	size_t data_len;
};

/* Validate and copy: specversion "1.0"; id, source, type present, non-empty and within caps;
 * time (if present) RFC 3339; content-type (if present) JSON. -1 with the reason otherwise. */
int wk_cloudevent_decode(const rd_kafka_message_t *m, struct wk_cloudevent *ev, char *errstr,
			 size_t errstr_size);
/* Produce ev with the JSON body data to topic under key. Empty id: a random UUID is used;
 * empty time: now. */
int wk_cloudevent_send(struct wk_producer *p, const char *topic, const char *key,
		       const struct wk_cloudevent *ev, const char *data, size_t data_len,
		       void *msg_opaque, char *errstr, size_t errstr_size);
/* A random RFC 4122 version-4 UUID (37 bytes with NUL). */
void wk_uuid(char out[37]);

#endif
