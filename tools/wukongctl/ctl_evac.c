/* ctl_evac.c - an evacuation's progress for `wukongctl drain` (ctl_evac.h). */
#include "ctl_evac.h"
#include "ctl_args.h"
#include "ctl_bar.h"
#include "wk_json.h"

#include <cjson/cJSON.h>
#include <math.h>

void ctl_evac_init(struct ctl_evac *e)
{
	memset(e, 0, sizeof(*e));
	e->percent = -1;
	e->predicted_s = e->elapsed_s = e->eta_s = -1;
}

/* An integer count in 0..CTL_EVAC_COUNT_MAX, else -1. */
static long count(const cJSON *o, const char *k)
{
	const cJSON *v = wk_json_path(o, k);
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0 && d <= CTL_EVAC_COUNT_MAX) || d != floor(d))
		return -1;
	return (long)d;
}

/* Seconds, or -1 when absent, null, negative, not finite or absurd. */
static double seconds(const cJSON *o, const char *k)
{
	const cJSON *v = wk_json_path(o, k);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= CTL_EVAC_SECONDS_MAX))
		return -1;
	return v->valuedouble;
}

static bool same(const struct ctl_evac *a, const struct ctl_evac *b)
{
	return a->total == b->total && a->succeeded == b->succeeded && a->failed == b->failed &&
	       a->running == b->running && a->waiting == b->waiting && a->percent == b->percent &&
	       a->predicted_s == b->predicted_s && a->elapsed_s == b->elapsed_s &&
	       a->eta_s == b->eta_s && !strcmp(a->phase, b->phase);
}

bool ctl_evac_take(struct ctl_evac *e, const cJSON *body, const char *request_id, const char *node)
{
	const char *type = wk_json_str(body, "type"), *rid = wk_json_str(body, "requestId"),
		   *phase = wk_json_str(body, "phase"), *n = wk_json_str(body, "node");
	struct ctl_evac v;

	if (!cJSON_IsObject(body) || !type || strcmp(type, "evacuation") ||
	    !wk_json_str(body, "evacuationId") || !rid || !request_id || strcmp(rid, request_id))
		return false;
	if (node && *node && (!n || strcmp(n, node)))
		return false;
	if (!phase ||
	    (strcmp(phase, "Running") && strcmp(phase, "Completed") && strcmp(phase, "Failed")))
		return false;
	ctl_evac_init(&v);
	v.have = true;
	v.total = count(body, "total");
	v.succeeded = count(body, "succeeded");
	v.failed = count(body, "failed");
	v.running = count(body, "running");
	v.waiting = count(body, "waiting");
	if (v.total < 0 || v.succeeded < 0 || v.failed < 0 || v.running < 0 || v.waiting < 0 ||
	    v.succeeded + v.failed + v.running + v.waiting != v.total)
		return false;
	wk_strlcpy(v.phase, phase, sizeof(v.phase));
	v.predicted_s = seconds(body, "predictedSeconds");
	v.elapsed_s = seconds(body, "elapsedSeconds");
	v.eta_s = seconds(body, "etaSeconds");
	/* The percentage is ours, from the counts: a report cannot make the bar lie. A drain
	 * that ended with VMs left (Failed) fills the bar only as far as the VMs that moved. */
	if (!strcmp(phase, "Failed")) {
		v.percent = v.total ? (int)(100 * v.succeeded / v.total) : 0;
		v.eta_s = 0;
	} else if (strcmp(phase, "Running")) {
		v.percent = 100;
		v.eta_s = 0;
	} else {
		v.percent = v.total ? (int)(100 * (v.succeeded + v.failed) / v.total) : 0;
		if (v.percent > 99)
			v.percent = 99;
	}
	if (e->have && same(e, &v))
		return false;
	*e = v;
	return true;
}

static void fmt_s(double s, char *out, size_t n)
{
	snprintf(out, n, "%.0f s", s);
}

void ctl_evac_summary(const struct ctl_evac *e, char *out, size_t out_size)
{
	char a[32], b[32];
	size_t k;

	if (!e->have) {
		snprintf(out, out_size, "waiting for the plan");
		return;
	}
	snprintf(out, out_size, "%ld/%ld VMs moved", e->succeeded, e->total);
	k = strlen(out);
	if (e->running && k < out_size)
		k += (size_t)snprintf(out + k, out_size - k, ", %ld migrating", e->running);
	if (e->failed && k < out_size)
		k += (size_t)snprintf(out + k, out_size - k, ", %ld failed", e->failed);
	if (!strcmp(e->phase, "Running") && k < out_size) {
		if (e->eta_s >= 0) {
			fmt_s(e->eta_s, a, sizeof(a));
			k += (size_t)snprintf(out + k, out_size - k, ", ~%s left", a);
		} else {
			k += (size_t)snprintf(out + k, out_size - k, ", time left unknown");
		}
	}
	if (e->predicted_s >= 0 && k < out_size) {
		fmt_s(e->predicted_s, b, sizeof(b));
		snprintf(out + k, out_size - k, " (predicted %s)", b);
	}
}

void ctl_evac_line(const struct ctl_evac *e, int cols, unsigned tick, char *out, size_t out_size)
{
	char sum[256], pct[16], bar[CTL_BAR_MAX + 3];
	int w;

	if (cols <= 0)
		cols = 80;
	ctl_evac_summary(e, sum, sizeof(sum));
	if (e->percent >= 0)
		snprintf(pct, sizeof(pct), "%3d%%", e->percent > 100 ? 100 : e->percent);
	else
		snprintf(pct, sizeof(pct), "  ?%%");
	w = cols - (int)strlen(pct) - (int)strlen(sum) - 5; /* brackets, spaces */
	if (w > CTL_BAR_MAX)
		w = CTL_BAR_MAX;
	if (w >= CTL_BAR_MIN) {
		ctl_bar_render(bar, sizeof(bar), w, e->percent, tick);
		snprintf(out, out_size, "%s %s  %s", bar, pct, sum);
	} else {
		snprintf(out, out_size, "%s  %s", pct, sum);
	}
	if (strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

void ctl_evac_plain(const struct ctl_evac *e, char *out, size_t out_size)
{
	char a[32];
	size_t k;

	if (!e->have) {
		snprintf(out, out_size, "phase=Pending");
		return;
	}
	snprintf(out, out_size,
		 "phase=%s moved=%ld/%ld running=%ld failed=%ld waiting=%ld progress=%d%%",
		 e->phase, e->succeeded, e->total, e->running, e->failed, e->waiting, e->percent);
	k = strlen(out);
	if (e->eta_s >= 0 && k < out_size) {
		ctl_fmt_eta(e->eta_s, a, sizeof(a));
		k += (size_t)snprintf(out + k, out_size - k, " eta=%s", a);
	}
	if (e->predicted_s >= 0 && k < out_size) {
		ctl_fmt_eta(e->predicted_s, a, sizeof(a));
		snprintf(out + k, out_size - k, " predicted=%s", a);
	}
}

static void plan_line(char *out, size_t n, size_t *k, const char *line)
{
	size_t len = strlen(line);

	if (*k >= n || (*k + len + 1 >= n && *k + 5 < n)) {
		if (*k + 5 < n) {
			snprintf(out + *k, n - *k, "...\n");
			*k = n; /* nothing more */
		}
		return;
	}
	snprintf(out + *k, n - *k, "%s\n", line);
	*k += len + 1;
}

static const char *jstr_or(const cJSON *o, const char *k)
{
	const char *v = wk_json_str(o, k);

	return v && *v ? v : "-";
}

static void stays(const cJSON *list, char *out, size_t n, size_t *k)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, list)
	{
		char a[80], b[260], r[80], m[300], line[900];

		ctl_safe(jstr_or(x, "namespace"), a, sizeof(a), 63);
		ctl_safe(jstr_or(x, "name"), b, sizeof(b), 253);
		ctl_safe(jstr_or(x, "reason"), r, sizeof(r), 63);
		ctl_safe(wk_json_str(x, "message") ? wk_json_str(x, "message") : "", m, sizeof(m),
			 280);
		snprintf(line, sizeof(line), "  stays: %s/%s (%s%s%s)", a, b, r, m[0] ? ": " : "",
			 m);
		plan_line(out, n, k, line);
	}
}

void ctl_evac_plan_text(const cJSON *details, char *out, size_t out_size)
{
	const cJSON *steps = wk_json_path(details, "plan.steps"), *x;
	size_t k = 0;

	if (!out_size)
		return;
	out[0] = 0;
	if (cJSON_GetArraySize(steps) > 0) {
		char line[700];

		snprintf(line, sizeof(line), "  %-40s %-20s %-5s %7s %7s", "VM", "TARGET", "MODE",
			 "START", "END");
		plan_line(out, out_size, &k, line);
		cJSON_ArrayForEach(x, steps)
		{
			char vm[360], ns[80], nm[260], tg[260], mode[16], st[24], en[24];
			double s = wk_json_num(x, "startSeconds", -1),
			       e = wk_json_num(x, "endSeconds", -1);

			ctl_safe(jstr_or(x, "namespace"), ns, sizeof(ns), 63);
			ctl_safe(jstr_or(x, "name"), nm, sizeof(nm), 253);
			snprintf(vm, sizeof(vm), "%s/%s", ns, nm);
			ctl_safe(jstr_or(x, "target"), tg, sizeof(tg), 253);
			ctl_safe(jstr_or(x, "mode"), mode, sizeof(mode), 8);
			if (s >= 0 && s < CTL_EVAC_SECONDS_MAX)
				snprintf(st, sizeof(st), "%.1fs", s);
			else
				snprintf(st, sizeof(st), "-");
			if (e >= 0 && e < CTL_EVAC_SECONDS_MAX)
				snprintf(en, sizeof(en), "%.1fs", e);
			else
				snprintf(en, sizeof(en), "-");
			snprintf(line, sizeof(line), "  %-40s %-20s %-5s %7s %7s", vm, tg, mode, st,
				 en);
			plan_line(out, out_size, &k, line);
		}
	}
	stays(wk_json_path(details, "skipped"), out, out_size, &k);
	if (!cJSON_GetArraySize(steps))
		stays(wk_json_path(details, "stayed"), out, out_size, &k);
}
