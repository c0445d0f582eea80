/* wk_request.h - the age limit of a submission on wukong.requests[.<cluster>]: one check every
 * executor runs right after decoding a request, so that a request that sat in Kafka while no
 * executor ran (the topic keeps it for its retention) is not carried out long after the client
 * gave up. A request expires at its ce_time (else the Kafka message's timestamp) plus the
 * executor's maximum age, or at its own `expiresAt` (RFC 3339, schemas/request-*.v1.json) when
 * that is earlier. Pure apart from reading the message's timestamp; the caller owns *out.
 * Expired requests are dead-lettered with x-dlt-reason `Expired` and audited by the caller. */
#ifndef WK_REQUEST_H
#define WK_REQUEST_H

#include "wk_common.h"
#include "wk_kafka.h"

struct wk_cloudevent;

#define WK_REQUEST_MAX_AGE_DEFAULT_MS (10LL * 60 * 1000) /* 10 minutes */
#define WK_REQUEST_EXPIRED "Expired"			 /* the dead letter's x-dlt-reason */

struct wk_request_expiry {
	int64_t expires_ms; /* epoch ms; 0 = never (no maximum age, no expiresAt) */
	int64_t sent_ms;    /* ce_time or the Kafka timestamp; 0 = unknown */
	bool expired;
	bool own_deadline; /* the request's expiresAt decided */
	char message[300]; /* when expired: "request expired at <T> (...): not carried out" */
	/* From the body, for the audit record of the refusal: each only when it is a valid
	 * Kubernetes name (DNS-1123 label; name a subdomain), else "". */
	char request_id[64], cluster[64], ns[64], name[254];
};

/* Decide. data/len: the request body (JSON object; expiresAt read from it when present).
 * max_age_ms <= 0: no maximum age (only expiresAt counts). 0, or -1 (errstr, a schema error)
 * when expiresAt is present but not an RFC 3339 string. */
int wk_request_check_expiry(const rd_kafka_message_t *m, const struct wk_cloudevent *ce,
			    const char *data, size_t len, int64_t max_age_ms, int64_t now_ms,
			    struct wk_request_expiry *out, char *errstr, size_t errstr_size);

#endif
