/* ctl_request.h - the Kafka submissions wukongctl sends (schemas/request-*.v1.json): body, key,
 * ce_type and subject, built from validated arguments. Pure; returned strings are the caller's.
 */
#ifndef CTL_REQUEST_H
#define CTL_REQUEST_H

#include "ctl_args.h"

enum ctl_verb { CTL_VERB_MIGRATE = 0, CTL_VERB_CANCEL, CTL_VERB_DRAIN, CTL_VERB_CLONE };

struct ctl_request {
	enum ctl_verb verb;
	char id[CTL_ID_MAX];
	char cluster[CTL_NS_MAX]; /* "auto": placed by the router */
	size_t nclusters;	  /* > 0: a fan-out to these clusters through the router */
	char to_cluster[CTL_NS_MAX]; /* migrate: to another cluster ("" = none) */
	char clusters[CTL_MAX_CLUSTERS][CTL_NS_MAX];
	char tenant[CTL_NS_MAX]; /* "" = none */
	char ns[CTL_NS_MAX];	 /* the Wukong (clone: the targets' namespace) */
	char name[CTL_NAME_MAX]; /* the Wukong (clone: the target) */
	char node[CTL_NAME_MAX]; /* migrate: --to; drain: the node */
	char src_ns[CTL_NS_MAX]; /* clone source */
	char src_name[CTL_NAME_MAX];
	char target_request[CTL_ID_MAX]; /* cancel --request */
	char reason[1024];
	char expires_at[40]; /* RFC 3339; "" = none (schemas: expiresAt) */
	bool auto_converge, post_copy, cold, dry_run;
	long long timeout_per_gib;
	size_t ndisks;
	char disks[CTL_MAX_DISKS][64];
	/* clone: a batch of count targets "<name>-1".."<name>-<count>" (0: one, <name>) */
	int count, parallelism;
	bool offline, start_source, stopped;
};
#define CTL_MAX_BATCH 100 /* request-clone.v1.json: targets maxItems */

/* The i-th target of a clone (0-based): "<name>" alone, or "<name>-<i+1>" in a batch. */
void ctl_clone_target(const struct ctl_request *r, int i, char *out, size_t out_size);

/* Fill r from parsed arguments (positional NS/NAME, --to, ...). -1 with a message for anything
 * invalid (including --cold, which no submission schema can carry yet). */
int ctl_request_from_args(const struct ctl_args *a, enum ctl_verb verb, struct ctl_request *r,
			  char *errstr, size_t errstr_size);

/* A fresh request id: "<verb>-<yyyymmdd-hhmmss>-<6 hex>" (a DNS-1123 label). */
void ctl_request_new_id(enum ctl_verb verb, int64_t now_ms, uint32_t rnd, char *out,
			size_t out_size);

/* Through the router (wukong.requests): a fan-out, cluster "auto" or a migration to another
 * cluster. */
bool ctl_request_routed(const struct ctl_request *r);

/* The JSON body (caller frees). */
char *ctl_request_json(const struct ctl_request *r);
/* WK_CE_REQUEST_* (wk_types.h): "dev.novasphere.wukong.request.<verb>.v1" */
const char *ctl_request_type(enum ctl_verb verb);
const char *ctl_verb_name(enum ctl_verb verb);
/* Message key: "<cluster>/<ns>/<vm>" (vm = "<name>-vm", the stand-in's naming; clone: the
 * source's), drain
 * "<cluster>/node/<node>"; ce_subject "Wukong/<ns>/<name>" or "Node/<node>". */
void ctl_request_key(const struct ctl_request *r, char *out, size_t out_size);
void ctl_request_subject(const struct ctl_request *r, char *out, size_t out_size);

#endif
