/* ctl_ops.h - migrate, cancel, drain, clone: send the submission, then follow the operation (the
 * Wukong's status through the Kubernetes API, and wukong.status / wukong.audit / wukong.dlq) until
 * it ends. Also the pure part of following, so it can be tested without a stack.
 */
#ifndef CTL_OPS_H
#define CTL_OPS_H

#include "ctl_bar.h"
#include "ctl_evac.h"
#include "ctl_request.h"
#include "ctl_stack.h"

struct cJSON;

/* Exit codes of the operation commands. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,  /* failed, rejected, cancelled */
	CTL_EXIT_USAGE = 2,   /* bad arguments */
	CTL_EXIT_ENV = 3,     /* no stack / cannot reach Kafka or the API server */
	CTL_EXIT_TIMEOUT = 4, /* nothing processed it, or it did not end in time */
	CTL_EXIT_INTERRUPT = 130,
};

/* What is known of one operation while following it. */
struct ctl_follow {
	const struct ctl_request *req;
	bool seen; /* an executor answered (status, audit or dead letter naming the request) */
	bool done;
	int exit_code;
	char phase[32];
	char reason[128];
	char message[1200];
	char source_node[CTL_NAME_MAX], target_node[CTL_NAME_MAX];
	struct ctl_progress prog;
	/* Phases already passed: the API server's copy lags the Kafka messages, so an older phase
	 * arriving later must not move the view back. */
	char history[16][32];
	size_t nhistory;
	char mode[32];
	struct ctl_evac evac; /* drain: the migrator's evacuation report */
	/* drain: the per-VM plan (dry run) or the VMs that stayed (completion), as text lines
	 * (ctl_evac_plan_text) */
	char plan[8192];
	/* cancel: the migration request that was queued or running when the cancel was sent ("" =
	 * none seen). A Cancelled status counts only for that one, or when its message names the
	 * cancel's own id: an earlier migration's Cancelled status is not this cancel's outcome. */
	char inflight[CTL_ID_MAX];
};

void ctl_follow_init(struct ctl_follow *f, const struct ctl_request *r);
/* cancel: remember the migration in flight before sending (the Wukong's .status as read then). */
void ctl_follow_baseline(struct ctl_follow *f, const struct cJSON *status);
/* Feed one thing that may be about the request; each returns true when it changed the view.
 * status_obj: a Wukong's .status (from the API) or the "status" of a wukong.status message
 * (conds: its "conditions", may be NULL). */
bool ctl_follow_status(struct ctl_follow *f, const struct cJSON *status, const struct cJSON *conds);
/* A wukong.status message body (checks namespace/name). */
bool ctl_follow_status_msg(struct ctl_follow *f, const struct cJSON *body);
/* A wukong.progress message body (type migration / clone with our requestId): numbers only;
 * drain: the migrator's evacuation report (ctl_evac.h) into f->evac. */
bool ctl_follow_progress(struct ctl_follow *f, const struct cJSON *body);
/* A wukong.audit message body. */
bool ctl_follow_audit(struct ctl_follow *f, const struct cJSON *body);
/* A dead letter: its value and x-dlt-reason / x-dlt-error. */
bool ctl_follow_dead_letter(struct ctl_follow *f, const struct cJSON *value, const char *reason,
			    const char *error);

/* The command. */
int ctl_operation(const struct ctl_env *e, enum ctl_verb verb);

/* A group-less consumer assigned to the current end (high watermark) of every partition of
 * topics: what is said from now on. NULL with errstr. The caller closes and destroys it. */
struct rd_kafka_s;
struct wk_config;
struct rd_kafka_s *ctl_tail_new(const struct wk_config *cfg, const char *const *topics, size_t n,
				char *errstr, size_t errstr_size);

#endif
