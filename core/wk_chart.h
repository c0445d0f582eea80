/* wk_chart.h - the pictures of an evacuation and of a migration, built from the messages and drawn
 * as SVG or terminal text: a drain timeline (the planner's bars against what happened, per VM) and
 * a convergence series (remaining bytes over time against transfer and dirty rate). Pure: the
 * caller feeds parsed messages, owns the structs (_init/_release) and every buffer it passes.
 *
 * Timeline inputs: the planner's plan (`details.plan` of the audit records drain.planned /
 * drain.started: steps {order, namespace, name, target, startSeconds, endSeconds, converges,
 * reason}) and the migrator's evacuation reports (schemas/progress-evacuation.v1.json: per-VM
 * state). A VM's actual bar starts at the first report showing it submitted (Queued, Migrating,
 * Unconfirmed or final) and ends at the first showing it final; reports come at most once a
 * second, so that is the resolution. Caps: WK_TL_STEPS_MAX VMs (more are ignored), strings cut to
 * their field sizes; a report that is not whole (wrong id, counts not integers) is ignored.
 */
#ifndef WK_CHART_H
#define WK_CHART_H

#include "wk_common.h"
#include "wk_buf.h"

struct cJSON;

#define WK_TL_STEPS_MAX 2000
#define WK_CONV_POINTS_MAX 4096

struct wk_tl_step {
	char ns[64];
	char name[254];
	char target[254];
	char state[16];	   /* the last report's state, "" before any */
	char reason[48];   /* the plan's reason (a VM with nowhere to go) */
	char mode[8];	   /* the plan's "live" or "cold", "" when it does not say */
	int order;	   /* the plan's order, 0 = not in the plan */
	bool converges;	   /* the plan expects the pre-copy to converge */
	double plan_start; /* seconds after the evacuation's start; < 0 = not planned */
	double plan_end;
	int64_t act_start_ms; /* epoch ms; 0 = not started */
	int64_t act_end_ms;   /* epoch ms; 0 = not finished */
};

struct wk_timeline {
	char id[64];
	char cluster[64];
	char node[254];
	char trigger[24];
	char phase[16];	  /* "Planned" (dry run), "Running", "Completed", "Failed", "" */
	int64_t start_ms; /* epoch ms of the evacuation's start, 0 = unknown */
	int64_t end_ms;	  /* the final report or the completion record, 0 = running */
	double predicted_s;
	long total, succeeded, failed, running, waiting;
	bool dry_run;
	struct wk_tl_step *steps;
	size_t n, cap;
};

void wk_timeline_init(struct wk_timeline *tl, const char *id);
void wk_timeline_release(struct wk_timeline *tl);
/* The plan object (details.plan) of a drain.planned / drain.started record seen at time_ms (the
 * evacuation's start when none is known). 0, or -1 when plan is not an object with steps. */
int wk_timeline_plan(struct wk_timeline *tl, const struct cJSON *plan, int64_t time_ms);
/* One evacuation report (the whole message value) stamped time_ms. 0 taken, -1 ignored. */
int wk_timeline_report(struct wk_timeline *tl, const struct cJSON *report, int64_t time_ms);
/* An audit event (schemas/audit-event.v1.json) of this evacuation (requestId = the timeline's
 * id): {drain,evacuation,pressure}.{planned,started,completed} set the trigger, node, plan, start
 * and end. 1 taken, 0 not about it. */
int wk_timeline_audit(struct wk_timeline *tl, const struct cJSON *ev, int64_t time_ms);
/* The completion record: phase "Completed" or "Failed" at time_ms. */
void wk_timeline_finish(struct wk_timeline *tl, const char *phase, int64_t time_ms);
/* The step of ns/name, NULL if none. */
const struct wk_tl_step *wk_timeline_find(const struct wk_timeline *tl, const char *ns,
					  const char *name);
/* {id, cluster, node, trigger, phase, dryRun, startMs, endMs, predictedSeconds, total, succeeded,
 * failed, running, waiting, steps:[{order, namespace, name, target, state, converges, reason,
 * planStart, planEnd (seconds or null), actStartMs, actEndMs (epoch ms or null)}]}. New object. */
struct cJSON *wk_timeline_json(const struct wk_timeline *tl);
/* The Gantt chart as a standalone SVG document: one row per VM, a hollow planned bar and a solid
 * actual bar (a running VM's bar ends at now_ms), a time axis in seconds. -1 past out's cap. */
int wk_timeline_svg(const struct wk_timeline *tl, int64_t now_ms, struct wk_buf *out);
/* The same as terminal lines, `width` columns (40..400): "ns/name  -> target  live |  ===  |
 * 12-30 s" per VM, planned bars drawn with '-', actual with '#' when utf8 is false, or block
 * characters when true. A header line and an axis line first. -1 past out's cap. */
int wk_timeline_text(const struct wk_timeline *tl, int64_t now_ms, int width, bool utf8,
		     struct wk_buf *out);
/* Planned against actual, one line per VM that finished: "ns/name  planned 0-12 s  actual
 * 1-14 s  (+2 s)". -1 past out's cap. */
int wk_timeline_compare(const struct wk_timeline *tl, struct wk_buf *out);

struct wk_conv_pt {
	int64_t t_ms;
	double remaining, processed, transfer, dirty; /* bytes, bytes/s; < 0 = not given */
};

struct wk_conv {
	struct wk_conv_pt *p;
	size_t n, cap, max; /* the oldest point is dropped past max (<= WK_CONV_POINTS_MAX) */
};

void wk_conv_init(struct wk_conv *c, size_t max);
void wk_conv_release(struct wk_conv *c);
/* Add a point from a progress message or a migrationStatus (dataRemainingBytes,
 * dataProcessedBytes, transferRateBytesPerSecond, dirtyRateBytesPerSecond). 1 added, 0 when it
 * carries no remaining bytes or repeats the last point's time. */
int wk_conv_add_json(struct wk_conv *c, const struct cJSON *o, int64_t t_ms);
void wk_conv_add(struct wk_conv *c, const struct wk_conv_pt *pt);
/* Whether the last `window` points (>= 2) show the remaining bytes not shrinking. */
bool wk_conv_stalled(const struct wk_conv *c, size_t window);
/* The remaining bytes of the last `cells` points as a sparkline (UTF-8 block characters, or
 * " .:-=+*#%@" when utf8 is false) into out (NUL-terminated, cut to out_size). */
void wk_conv_sparkline(const struct wk_conv *c, size_t cells, bool utf8, char *out,
		       size_t out_size);
/* [[tMs, remaining, transfer, dirty], ...] (nulls for missing values). New array. */
struct cJSON *wk_conv_json(const struct wk_conv *c);
/* The convergence chart as a standalone SVG: remaining bytes (left axis) and transfer / dirty
 * rate (right axis) over seconds. title is escaped. -1 past out's cap. */
int wk_conv_svg(const struct wk_conv *c, const char *title, struct wk_buf *out);

#endif
