/* ctl_report.h - `wukongctl report drain|migrate ID [--svg FILE]` (issue 24): the drain's timeline
 * (the planner's bars against what happened, per VM) or the migration's convergence (data
 * remaining over time against transfer and dirty rate), read back from wukong.audit and
 * wukong.progress, printed as text or written as SVG (core/wk_chart.h draws both). The feed is
 * pure and unit-tested; ctl_report() reads the topics. Caller-owned struct (_init/_release). */
#ifndef CTL_REPORT_H
#define CTL_REPORT_H

#include "ctl_stack.h"

#include "wk_chart.h"

struct cJSON;

struct ctl_report {
	bool drain; /* else migrate */
	char id[64];
	struct wk_timeline tl;
	struct wk_conv conv;
	char ns[64], name[254], source[254], target[254], phase[32];
	bool seen; /* a message about the request was read */
};

void ctl_report_init(struct ctl_report *r, bool drain, const char *id);
void ctl_report_release(struct ctl_report *r);
/* One message value of wukong.audit ('a') or wukong.progress ('p') stamped t_ms. True when it
 * was about the request. */
bool ctl_report_feed(struct ctl_report *r, char topic, const struct cJSON *v, int64_t t_ms);
/* The report as text (timeline and planned-against-actual, or the sparkline and the samples) or
 * SVG into out. -1 past out's cap. */
int ctl_report_text(const struct ctl_report *r, int64_t now_ms, int width, bool utf8,
		    struct wk_buf *out);
int ctl_report_svg(const struct ctl_report *r, int64_t now_ms, struct wk_buf *out);

/* The command: exit 0, 1 when nothing about ID is on the topics, 3 Kafka not reachable. */
int ctl_report(const struct ctl_env *e);

#endif
