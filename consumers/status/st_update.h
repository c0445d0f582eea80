/* st_update.h - decoding and validation of one wukong.status message body
 * (schemas/status-update.v1.json), mirroring the schema so that a hostile body is refused before
 * anything reaches the Kubernetes API. A struct st_update is caller-owned (st_update_release). */
#ifndef ST_UPDATE_H
#define ST_UPDATE_H

#include "wk_common.h"

struct cJSON;

#define ST_BODY_MAX (64 * 1024) /* documented cap of one update body */
#define ST_CONDITIONS_MAX 16
#define ST_SEQ_MAX 9007199254740991LL /* 2^53 - 1: exact as a JSON number everywhere */

/* ST_F_TOP is the status object itself (phase, nodeName, vmName, ipAddresses, disks: the
 * provisioner's); its seq key is "status/<source>" and its keys land directly under /status. */
enum st_field { ST_F_MIGRATION = 0, ST_F_CLONE, ST_F_TOP, ST_F_NFIELDS };
extern const char
    *const st_field_names[ST_F_NFIELDS]; /* "migrationStatus", "cloneStatus", "status" */

struct st_update {
	char cluster[64];
	char ns[64];
	char name[254];
	char source[64];
	int64_t seq;
	int64_t observed_generation;	    /* -1 = absent */
	struct cJSON *fields[ST_F_NFIELDS]; /* owned partial objects (merge patches), or NULL */
	struct cJSON *conditions;	    /* owned array, or NULL */
};

void st_update_init(struct st_update *u);
void st_update_release(struct st_update *u);
/* Parse and validate body; 0, or -1 with the reason (the first violation, with its JSON path). */
int st_update_parse(struct st_update *u, const char *body, size_t len, char *errstr,
		    size_t errstr_size);

/* Whether the update can come from a producer of wukong.status (docs/security.md): ce_source is
 * "/clusters/<u->cluster>" (what every producer writes), and seq, which senders take from the wall
 * clock in microseconds, is at most max_ahead_us past now_us: a forged seq near 2^53 would
 * otherwise freeze the field for good (every later real update would be "stale"). 0, or -1 with
 * *code ("WrongSource", "SeqTooFarAhead", the dead letter's reason) and the reason. */
#define ST_MAX_SEQ_AHEAD_DEFAULT_MS (3600LL * 1000) /* status.max-seq-ahead */
int st_update_check_origin(const struct st_update *u, const char *ce_source, int64_t now_us,
			   int64_t max_ahead_us, const char **code, char *errstr,
			   size_t errstr_size);

#endif
