/* ctl_evac.h - an evacuation's progress as `wukongctl drain` shows it: the migrator's report on
 * wukong.progress (schemas/progress-evacuation.v1.json) read defensively, and the bar / plain
 * line drawn from it. Pure; results go into caller-owned structs and buffers.
 */
#ifndef CTL_EVAC_H
#define CTL_EVAC_H

#include "wk_common.h"

struct cJSON;

/* Counts above this are refused (a node holds a few hundred VMs at most). */
#define CTL_EVAC_COUNT_MAX 100000
/* Seconds above this are taken as unknown. */
#define CTL_EVAC_SECONDS_MAX 1e7

struct ctl_evac {
	bool have; /* a valid report was taken */
	long total, succeeded, failed, running, waiting;
	int percent; /* from the counts: final / total, 100 only at the end */
	double predicted_s, elapsed_s, eta_s; /* -1 unknown */
	char phase[16];			      /* Running, Completed, Failed */
};

void ctl_evac_init(struct ctl_evac *e);
/* Take a wukong.progress body when it is an evacuation report (type "evacuation" with an
 * "evacuationId") whose requestId is request_id and, when node is given, whose node is node.
 * A report that is malformed or inconsistent (counts not integers in 0..CTL_EVAC_COUNT_MAX, not
 * adding up to total, unknown phase) is ignored as a whole: the view is unchanged. Returns true
 * when the view changed. */
bool ctl_evac_take(struct ctl_evac *e, const struct cJSON *body, const char *request_id,
		   const char *node);
/* "17/40 VMs moved, 2 migrating, 1 failed, ~95 s left (predicted 210 s)" */
void ctl_evac_summary(const struct ctl_evac *e, char *out, size_t out_size);
/* For a terminal of cols columns (0 = 80): "[####----]  42%  " + the summary, shortened to fit
 * (the bar goes first, then the summary is cut); never longer than cols. */
void ctl_evac_line(const struct ctl_evac *e, int cols, unsigned tick, char *out, size_t out_size);
/* For a pipe: "phase=Running moved=17/40 running=2 failed=1 waiting=20 progress=42% eta=1:35
 * predicted=3:30" (eta and predicted left out when unknown). */
void ctl_evac_plain(const struct ctl_evac *e, char *out, size_t out_size);
/* The per-VM plan of a drain's audit details (drain.planned / drain.started: details.plan.steps,
 * details.skipped) as text lines: "VM TARGET MODE START END" per step, then one "stays: VM
 * (reason: message)" line per VM left on the node; and details.stayed of a completion the same
 * way. Fields that are missing or of the wrong type print as "-"; names are made safe for a
 * terminal (ctl_safe); at most out_size bytes, cut at a line ("...") when longer. "" when there
 * is nothing to show. */
void ctl_evac_plan_text(const struct cJSON *details, char *out, size_t out_size);

#endif
