/* wk_chart.c - drain timelines and convergence series: building, JSON, SVG, terminal text. */
#include "wk_chart.h"
#include "wk_json.h"
#include "wk_utf8.h"

#include <cjson/cJSON.h>
#include <math.h>

/* ---- helpers ---- */

/* Copy a string field when it is valid UTF-8 without control bytes; else leave dst as is. */
static void take_str(char *dst, size_t dst_size, const char *s)
{
	size_t len;

	if (!s)
		return;
	len = strlen(s);
	if (len >= dst_size)
		len = dst_size - 1;
	/* Never cut inside a UTF-8 sequence. */
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	if (!wk_utf8_valid(s, len))
		return;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static bool is_final_state(const char *s)
{
	return !strcmp(s, "Succeeded") || !strcmp(s, "Failed");
}

static bool is_started_state(const char *s)
{
	return !strcmp(s, "Queued") || !strcmp(s, "Migrating") || !strcmp(s, "Unconfirmed") ||
	       is_final_state(s);
}

/* A count in 0..100000 or -1. */
static long count_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 100000 ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	return (long)v->valuedouble;
}

static double secs_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > 1e7)
		return -1;
	return v->valuedouble;
}

static int xml_esc(struct wk_buf *b, const char *s)
{
	for (; *s; s++) {
		int rc;

		switch (*s) {
		case '&':
			rc = wk_buf_adds(b, "&amp;");
			break;
		case '<':
			rc = wk_buf_adds(b, "&lt;");
			break;
		case '>':
			rc = wk_buf_adds(b, "&gt;");
			break;
		case '"':
			rc = wk_buf_adds(b, "&quot;");
			break;
		default:
			rc = (unsigned char)*s < 0x20 ? wk_buf_adds(b, "?") : wk_buf_add(b, s, 1);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A tick step of 1, 2 or 5 times a power of ten giving about n ticks over span. */
static double nice_step(double span, int n)
{
	double raw = span / (n > 0 ? n : 1), p, f;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* ---- timeline ---- */

void wk_timeline_init(struct wk_timeline *tl, const char *id)
{
	memset(tl, 0, sizeof(*tl));
	take_str(tl->id, sizeof(tl->id), id ? id : "");
}

void wk_timeline_release(struct wk_timeline *tl)
{
	free(tl->steps);
	memset(tl, 0, sizeof(*tl));
}

static struct wk_tl_step *step_get(struct wk_timeline *tl, const char *ns, const char *name)
{
	struct wk_tl_step *s;

	for (size_t i = 0; i < tl->n; i++)
		if (!strcmp(tl->steps[i].ns, ns) && !strcmp(tl->steps[i].name, name))
			return &tl->steps[i];
	if (tl->n >= WK_TL_STEPS_MAX)
		return NULL;
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? tl->cap * 2 : 16;
		tl->steps = wk_xrealloc(tl->steps, tl->cap * sizeof(*tl->steps));
	}
	s = &tl->steps[tl->n++];
	memset(s, 0, sizeof(*s));
	take_str(s->ns, sizeof(s->ns), ns);
	take_str(s->name, sizeof(s->name), name);
	s->plan_start = s->plan_end = -1;
	return s;
}

const struct wk_tl_step *wk_timeline_find(const struct wk_timeline *tl, const char *ns,
					  const char *name)
{
	for (size_t i = 0; i < tl->n; i++)
		if (!strcmp(tl->steps[i].ns, ns) && !strcmp(tl->steps[i].name, name))
			return &tl->steps[i];
	return NULL;
}

int wk_timeline_plan(struct wk_timeline *tl, const cJSON *plan, int64_t time_ms)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(plan, "steps"), *e;
	double pred;

	if (!cJSON_IsObject(plan) || !cJSON_IsArray(steps))
		return -1;
	pred = secs_of(plan, "predictedSeconds");
	if (pred >= 0)
		tl->predicted_s = pred;
	if (!tl->start_ms)
		tl->start_ms = time_ms;
	cJSON_ArrayForEach(e, steps)
	{
		const char *ns = wk_json_str(e, "namespace"), *name = wk_json_str(e, "name");
		struct wk_tl_step *s;
		double a = secs_of(e, "startSeconds"), b = secs_of(e, "endSeconds");
		double order = wk_json_num(e, "order", 0);

		if (!ns || !name || !*name || strlen(ns) >= sizeof(s->ns) ||
		    strlen(name) >= sizeof(s->name))
			continue;
		s = step_get(tl, ns, name);
		if (!s)
			break;
		take_str(s->target, sizeof(s->target), wk_json_str(e, "target"));
		take_str(s->reason, sizeof(s->reason), wk_json_str(e, "reason"));
		take_str(s->mode, sizeof(s->mode), wk_json_str(e, "mode"));
		s->converges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "converges"));
		s->order = order >= 1 && order <= WK_TL_STEPS_MAX ? (int)order : 0;
		if (a >= 0 && b >= a) {
			s->plan_start = a;
			s->plan_end = b;
		}
	}
	return 0;
}

int wk_timeline_report(struct wk_timeline *tl, const cJSON *r, int64_t time_ms)
{
	const char *id = wk_json_str(r, "evacuationId"), *phase = wk_json_str(r, "phase");
	const cJSON *vms = cJSON_GetObjectItemCaseSensitive(r, "vms"), *e;
	long total = count_of(r, "total"), su = count_of(r, "succeeded"),
	     fa = count_of(r, "failed"), ru = count_of(r, "running"), wa = count_of(r, "waiting");
	double elapsed = secs_of(r, "elapsedSeconds"), pred = secs_of(r, "predictedSeconds");

	if (!cJSON_IsObject(r) || !id || strcmp(id, tl->id) || !phase ||
	    (strcmp(phase, "Running") && strcmp(phase, "Completed") && strcmp(phase, "Failed")) ||
	    total < 0 || su < 0 || fa < 0 || ru < 0 || wa < 0 || su + fa + ru + wa != total)
		return -1;
	take_str(tl->node, sizeof(tl->node), wk_json_str(r, "node"));
	take_str(tl->cluster, sizeof(tl->cluster), wk_json_str(r, "cluster"));
	take_str(tl->trigger, sizeof(tl->trigger), wk_json_str(r, "trigger"));
	if (tl->end_ms == 0 || strcmp(phase, "Running"))
		take_str(tl->phase, sizeof(tl->phase), phase);
	tl->total = total;
	tl->succeeded = su;
	tl->failed = fa;
	tl->running = ru;
	tl->waiting = wa;
	if (pred >= 0 && tl->predicted_s <= 0)
		tl->predicted_s = pred;
	if (!tl->start_ms)
		tl->start_ms = elapsed >= 0 ? time_ms - (int64_t)(elapsed * 1000) : time_ms;
	if (strcmp(phase, "Running") && !tl->end_ms)
		tl->end_ms = time_ms;
	cJSON_ArrayForEach(e, vms)
	{
		const char *ns = wk_json_str(e, "namespace"), *name = wk_json_str(e, "name");
		const char *state = wk_json_str(e, "state");
		struct wk_tl_step *s;

		if (!ns || !name || !state || !*name || strlen(ns) >= sizeof(s->ns) ||
		    strlen(name) >= sizeof(s->name) || strlen(state) >= sizeof(s->state))
			continue;
		s = step_get(tl, ns, name);
		if (!s)
			break;
		if (!s->target[0])
			take_str(s->target, sizeof(s->target), wk_json_str(e, "target"));
		take_str(s->state, sizeof(s->state), state);
		if (is_started_state(state) && !s->act_start_ms)
			s->act_start_ms = time_ms;
		if (is_final_state(state) && !s->act_end_ms)
			s->act_end_ms = time_ms;
	}
	return 0;
}

int wk_timeline_audit(struct wk_timeline *tl, const cJSON *ev, int64_t time_ms)
{
	const char *rid = wk_json_str(ev, "requestId"), *action = wk_json_str(ev, "action");
	const char *outcome = wk_json_str(ev, "outcome"), *verb, *trigger;
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(ev, "details");
	const cJSON *plan = cJSON_GetObjectItemCaseSensitive(details, "plan");

	if (!rid || strcmp(rid, tl->id) || !action || !outcome)
		return 0;
	if (!strncmp(action, "drain.", 6))
		trigger = "drain";
	else if (!strncmp(action, "evacuation.", 11))
		trigger = "nodeMaintenance";
	else if (!strncmp(action, "pressure.", 9))
		trigger = "resourcePressure";
	else
		return 0;
	verb = strchr(action, '.') + 1;
	if (strcmp(verb, "planned") && strcmp(verb, "started") && strcmp(verb, "completed"))
		return 0;
	if (!tl->trigger[0])
		take_str(tl->trigger, sizeof(tl->trigger), trigger);
	if (!tl->node[0] &&
	    !strcmp(wk_json_str(ev, "object.kind") ? wk_json_str(ev, "object.kind") : "", "Node"))
		take_str(tl->node, sizeof(tl->node), wk_json_str(ev, "object.name"));
	if (!tl->cluster[0])
		take_str(tl->cluster, sizeof(tl->cluster), wk_json_str(ev, "cluster"));
	if (cJSON_IsObject(plan))
		wk_timeline_plan(tl, plan, time_ms);
	if (!strcmp(verb, "planned")) {
		tl->dry_run = true;
		wk_timeline_finish(tl, "Planned", time_ms);
	} else if (!strcmp(verb, "started")) {
		tl->start_ms = time_ms; /* the record's time is the start */
	} else {
		wk_timeline_finish(tl, !strcmp(outcome, "success") ? "Completed" : "Failed",
				   time_ms);
	}
	return 1;
}

void wk_timeline_finish(struct wk_timeline *tl, const char *phase, int64_t time_ms)
{
	take_str(tl->phase, sizeof(tl->phase), phase);
	if (!tl->end_ms)
		tl->end_ms = time_ms;
}

static void add_secs(cJSON *o, const char *k, double v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, round(v * 10) / 10);
}

static void add_ms(cJSON *o, const char *k, int64_t v)
{
	if (v <= 0)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, (double)v);
}

cJSON *wk_timeline_json(const struct wk_timeline *tl)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "id", tl->id);
	cJSON_AddStringToObject(o, "cluster", tl->cluster);
	cJSON_AddStringToObject(o, "node", tl->node);
	cJSON_AddStringToObject(o, "trigger", tl->trigger);
	cJSON_AddStringToObject(o, "phase", tl->phase);
	cJSON_AddBoolToObject(o, "dryRun", tl->dry_run);
	add_ms(o, "startMs", tl->start_ms);
	add_ms(o, "endMs", tl->end_ms);
	add_secs(o, "predictedSeconds", tl->predicted_s);
	cJSON_AddNumberToObject(o, "total", (double)tl->total);
	cJSON_AddNumberToObject(o, "succeeded", (double)tl->succeeded);
	cJSON_AddNumberToObject(o, "failed", (double)tl->failed);
	cJSON_AddNumberToObject(o, "running", (double)tl->running);
	cJSON_AddNumberToObject(o, "waiting", (double)tl->waiting);
	for (size_t i = 0; i < tl->n; i++) {
		const struct wk_tl_step *s = &tl->steps[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "order", s->order);
		cJSON_AddStringToObject(e, "namespace", s->ns);
		cJSON_AddStringToObject(e, "name", s->name);
		cJSON_AddStringToObject(e, "target", s->target);
		cJSON_AddStringToObject(e, "state", s->state);
		cJSON_AddBoolToObject(e, "converges", s->converges);
		cJSON_AddStringToObject(e, "reason", s->reason);
		cJSON_AddStringToObject(e, "mode", s->mode);
		add_secs(e, "planStart", s->plan_start);
		add_secs(e, "planEnd", s->plan_end);
		add_ms(e, "actStartMs", s->act_start_ms);
		add_ms(e, "actEndMs", s->act_end_ms);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddItemToObject(o, "steps", a);
	return o;
}

/* Seconds after the start of an actual edge; a running VM's end is now. */
static void act_span(const struct wk_timeline *tl, const struct wk_tl_step *s, int64_t now_ms,
		     double *a, double *b)
{
	int64_t end = s->act_end_ms ? s->act_end_ms : (tl->end_ms ? tl->end_ms : now_ms);

	*a = *b = -1;
	if (!s->act_start_ms || !tl->start_ms)
		return;
	*a = (double)(s->act_start_ms - tl->start_ms) / 1000.0;
	*b = (double)(end - tl->start_ms) / 1000.0;
	if (*a < 0)
		*a = 0;
	if (*b < *a)
		*b = *a;
}

static double span_of(const struct wk_timeline *tl, int64_t now_ms)
{
	double span = tl->predicted_s > 0 ? tl->predicted_s : 0;

	for (size_t i = 0; i < tl->n; i++) {
		double a, b;

		if (tl->steps[i].plan_end > span)
			span = tl->steps[i].plan_end;
		act_span(tl, &tl->steps[i], now_ms, &a, &b);
		if (b > span)
			span = b;
	}
	return span > 1 ? span : 1;
}

static const char *state_color(const char *state)
{
	if (!strcmp(state, "Succeeded"))
		return "#2e9d5b";
	if (!strcmp(state, "Failed"))
		return "#d0453a";
	return "#2f6fd6";
}

#define SVG_W 960
#define SVG_LABEL 300
#define SVG_ROW 24

int wk_timeline_svg(const struct wk_timeline *tl, int64_t now_ms, struct wk_buf *b)
{
	double span = span_of(tl, now_ms), step = nice_step(span, 8);
	double plot = SVG_W - SVG_LABEL - 20, k = plot / span;
	int h = 70 + (int)tl->n * SVG_ROW + 30;
	char title[600];

	snprintf(title, sizeof(title), "%s %s: node %s, %zu VMs%s",
		 tl->trigger[0] ? tl->trigger : "drain", tl->id, tl->node[0] ? tl->node : "?",
		 tl->n, tl->phase[0] ? "" : "");
	if (wk_buf_addf(b,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
			"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
			"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n<text x=\"10\" "
			"y=\"20\" font-size=\"15\" font-weight=\"bold\">",
			SVG_W, h, SVG_W, h) < 0 ||
	    xml_esc(b, title) < 0 ||
	    wk_buf_addf(
		b,
		"</text>\n<text x=\"10\" y=\"38\" fill=\"#555\">phase %s · predicted %.1f s · "
		"%ld succeeded, %ld failed, %ld running, %ld waiting</text>\n"
		"<rect x=\"%d\" y=\"46\" width=\"14\" height=\"7\" fill=\"none\" "
		"stroke=\"#6b7fa8\"/><text x=\"%d\" y=\"54\">planned</text>"
		"<rect x=\"%d\" y=\"46\" width=\"14\" height=\"7\" fill=\"#2f6fd6\"/><text "
		"x=\"%d\" y=\"54\">actual</text>\n",
		tl->phase[0] ? tl->phase : "unknown", tl->predicted_s, tl->succeeded, tl->failed,
		tl->running, tl->waiting, SVG_W - 200, SVG_W - 182, SVG_W - 110, SVG_W - 92) < 0)
		return -1;
	/* Axis and grid. */
	for (double t = 0; t <= span + 1e-9; t += step) {
		double x = SVG_LABEL + t * k;

		if (wk_buf_addf(
			b,
			"<line x1=\"%.1f\" y1=\"62\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%g "
			"s</text>\n",
			x, x, h - 24, x, h - 10, t) < 0)
			return -1;
	}
	for (size_t i = 0; i < tl->n; i++) {
		const struct wk_tl_step *s = &tl->steps[i];
		int y = 66 + (int)i * SVG_ROW;
		double a, e;

		if (wk_buf_addf(b, "<g class=\"row\" data-vm=\"") < 0 || xml_esc(b, s->ns) < 0 ||
		    wk_buf_adds(b, "/") < 0 || xml_esc(b, s->name) < 0 ||
		    wk_buf_addf(b, "\"><text x=\"10\" y=\"%d\">", y + 14) < 0 ||
		    xml_esc(b, s->ns) < 0 || wk_buf_adds(b, "/") < 0 || xml_esc(b, s->name) < 0 ||
		    wk_buf_adds(b, " → ") < 0 || xml_esc(b, s->target[0] ? s->target : "—") < 0 ||
		    wk_buf_adds(b, "</text>") < 0)
			return -1;
		if (s->plan_start >= 0 &&
		    wk_buf_addf(b,
				"<rect class=\"plan\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
				"height=\"7\" fill=\"none\" stroke=\"#6b7fa8\"/>",
				SVG_LABEL + s->plan_start * k, y + 2,
				fmax(1, (s->plan_end - s->plan_start) * k)) < 0)
			return -1;
		act_span(tl, s, now_ms, &a, &e);
		if (a >= 0 && wk_buf_addf(b,
					  "<rect class=\"act\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
					  "height=\"9\" fill=\"%s\"/>",
					  SVG_LABEL + a * k, y + 11, fmax(1, (e - a) * k),
					  state_color(s->state)) < 0)
			return -1;
		if (wk_buf_adds(b, "</g>\n") < 0)
			return -1;
	}
	return wk_buf_adds(b, "</svg>\n");
}

static void put_cell(char *cells, size_t idx, size_t n, char c)
{
	if (idx < n && (cells[idx] == ' ' || c == '#'))
		cells[idx] = c;
}

int wk_timeline_text(const struct wk_timeline *tl, int64_t now_ms, int width, bool utf8,
		     struct wk_buf *b)
{
	double span = span_of(tl, now_ms);
	int w = width < 40 ? 40 : width > 400 ? 400 : width;
	int barw = w - 24 - 14 - 6 - 16;
	char cells[400];

	if (barw < 8)
		barw = 8;
	if (wk_buf_addf(b, "%-24s %-14s %-5s %-*s %s\n", "VM", "TARGET", "MODE", barw, "TIMELINE",
			"SECONDS") < 0)
		return -1;
	for (size_t i = 0; i < tl->n; i++) {
		const struct wk_tl_step *s = &tl->steps[i];
		char vm[320], secs[64] = "";
		double a, e;

		snprintf(vm, sizeof(vm), "%s/%s", s->ns, s->name);
		memset(cells, ' ', (size_t)barw);
		if (s->plan_start >= 0) {
			size_t x0 = (size_t)(s->plan_start / span * (barw - 1));
			size_t x1 = (size_t)(s->plan_end / span * (barw - 1));

			for (size_t x = x0; x <= x1; x++)
				put_cell(cells, x, (size_t)barw, '-');
			snprintf(secs, sizeof(secs), "%.0f-%.0f", s->plan_start, s->plan_end);
		}
		act_span(tl, s, now_ms, &a, &e);
		if (a >= 0) {
			size_t x0 = (size_t)(a / span * (barw - 1)),
			       x1 = (size_t)(e / span * (barw - 1));

			for (size_t x = x0; x <= x1; x++)
				put_cell(cells, x, (size_t)barw, '#');
		}
		if (wk_buf_addf(b, "%-24.24s %-14.14s %-5s ", vm, s->target[0] ? s->target : "-",
				!s->target[0]  ? "-"
				: s->mode[0]   ? s->mode
				: s->converges ? "live"
					       : "live!") < 0)
			return -1;
		for (int x = 0; x < barw; x++) {
			const char *c = cells[x] == '#'	  ? (utf8 ? "█" : "#")
					: cells[x] == '-' ? (utf8 ? "░" : "-")
							  : " ";

			if (wk_buf_adds(b, c) < 0)
				return -1;
		}
		if (wk_buf_addf(b, " %s%s\n", secs, s->reason[0] ? "" : "") < 0)
			return -1;
		if (s->reason[0] && wk_buf_addf(b, "%24s   not moved: %s\n", "", s->reason) < 0)
			return -1;
	}
	if (wk_buf_addf(b, "%-46s0 s%*s%.0f s\n", "", barw - 3 - 8, "", span) < 0)
		return -1;
	return 0;
}

int wk_timeline_compare(const struct wk_timeline *tl, struct wk_buf *b)
{
	for (size_t i = 0; i < tl->n; i++) {
		const struct wk_tl_step *s = &tl->steps[i];
		double a, e;

		act_span(tl, s, 0, &a, &e);
		if (!s->act_end_ms || a < 0)
			continue;
		if (s->plan_start >= 0) {
			if (wk_buf_addf(b,
					"  %s/%s -> %s: planned %.0f-%.0f s, actual %.0f-%.0f s "
					"(%+.0f s)%s\n",
					s->ns, s->name, s->target[0] ? s->target : "-",
					s->plan_start, s->plan_end, a, e, e - s->plan_end,
					strcmp(s->state, "Failed") ? "" : " FAILED") < 0)
				return -1;
		} else if (wk_buf_addf(b, "  %s/%s -> %s: not planned, actual %.0f-%.0f s%s\n",
				       s->ns, s->name, s->target[0] ? s->target : "-", a, e,
				       strcmp(s->state, "Failed") ? "" : " FAILED") < 0)
			return -1;
	}
	return 0;
}

/* ---- convergence ---- */

void wk_conv_init(struct wk_conv *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max < 2 ? 2 : max > WK_CONV_POINTS_MAX ? WK_CONV_POINTS_MAX : max;
}

void wk_conv_release(struct wk_conv *c)
{
	free(c->p);
	memset(c, 0, sizeof(*c));
}

void wk_conv_add(struct wk_conv *c, const struct wk_conv_pt *pt)
{
	if (c->n == c->max) {
		memmove(c->p, c->p + 1, (c->n - 1) * sizeof(*c->p));
		c->n--;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		if (c->cap > c->max)
			c->cap = c->max;
		c->p = wk_xrealloc(c->p, c->cap * sizeof(*c->p));
	}
	c->p[c->n++] = *pt;
}

static double num_or(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
		       v->valuedouble < 1e18
		   ? v->valuedouble
		   : -1;
}

int wk_conv_add_json(struct wk_conv *c, const cJSON *o, int64_t t_ms)
{
	struct wk_conv_pt pt = {.t_ms = t_ms};

	pt.remaining = num_or(o, "dataRemainingBytes");
	if (pt.remaining < 0)
		return 0;
	if (c->n && c->p[c->n - 1].t_ms >= t_ms)
		return 0;
	pt.processed = num_or(o, "dataProcessedBytes");
	pt.transfer = num_or(o, "transferRateBytesPerSecond");
	pt.dirty = num_or(o, "dirtyRateBytesPerSecond");
	wk_conv_add(c, &pt);
	return 1;
}

bool wk_conv_stalled(const struct wk_conv *c, size_t window)
{
	if (window < 2)
		window = 2;
	if (c->n < window)
		return false;
	for (size_t i = c->n - window + 1; i < c->n; i++)
		if (c->p[i].remaining < c->p[i - 1].remaining)
			return false;
	return c->p[c->n - 1].remaining > 0;
}

void wk_conv_sparkline(const struct wk_conv *c, size_t cells, bool utf8, char *out, size_t out_size)
{
	static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = " .:-=+*#%@";
	size_t from = c->n > cells ? c->n - cells : 0, len = 0;
	double lo = INFINITY, hi = -INFINITY;

	if (!out_size)
		return;
	out[0] = '\0';
	for (size_t i = from; i < c->n; i++) {
		lo = fmin(lo, c->p[i].remaining);
		hi = fmax(hi, c->p[i].remaining);
	}
	for (size_t i = from; i < c->n; i++) {
		double f = hi > lo ? (c->p[i].remaining - lo) / (hi - lo) : 0.5;
		const char *g;
		char one[2];
		size_t gl;

		if (utf8) {
			g = blocks[(int)lrint(f * 7)];
		} else {
			one[0] = ascii[(int)lrint(f * 9)];
			one[1] = '\0';
			g = one;
		}
		gl = strlen(g);
		if (len + gl + 1 > out_size)
			break;
		memcpy(out + len, g, gl);
		len += gl;
		out[len] = '\0';
	}
}

static void add_num_or_null(cJSON *a, double v)
{
	if (v < 0)
		cJSON_AddItemToArray(a, cJSON_CreateNull());
	else
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
}

cJSON *wk_conv_json(const struct wk_conv *c)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < c->n; i++) {
		cJSON *p = cJSON_CreateArray();

		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)c->p[i].t_ms));
		add_num_or_null(p, c->p[i].remaining);
		add_num_or_null(p, c->p[i].transfer);
		add_num_or_null(p, c->p[i].dirty);
		cJSON_AddItemToArray(a, p);
	}
	return a;
}

static int polyline(struct wk_buf *b, const struct wk_conv *c, int which, double x0, double kx,
		    double y0, double ky, const char *cls, const char *color)
{
	bool open = false;

	for (size_t i = 0; i < c->n; i++) {
		double v = which == 0	? c->p[i].remaining
			   : which == 1 ? c->p[i].transfer
					: c->p[i].dirty;
		double x = x0 + (double)(c->p[i].t_ms - c->p[0].t_ms) / 1000.0 * kx;

		if (v < 0)
			continue;
		if (!open && wk_buf_addf(b,
					 "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
					 "stroke-width=\"2\" points=\"",
					 cls, color) < 0)
			return -1;
		open = true;
		if (wk_buf_addf(b, "%.1f,%.1f ", x, y0 - v * ky) < 0)
			return -1;
	}
	return open ? wk_buf_adds(b, "\"/>\n") : 0;
}

int wk_conv_svg(const struct wk_conv *c, const char *title, struct wk_buf *b)
{
	const double W = 960, H = 360, L = 80, R = 80, T = 40, Bm = 40;
	double span = c->n > 1 ? (double)(c->p[c->n - 1].t_ms - c->p[0].t_ms) / 1000.0 : 1;
	double maxb = 1, maxr = 1, kx, kb, kr, step;

	if (span <= 0)
		span = 1;
	for (size_t i = 0; i < c->n; i++) {
		maxb = fmax(maxb, c->p[i].remaining);
		maxr = fmax(maxr, fmax(c->p[i].transfer, c->p[i].dirty));
	}
	kx = (W - L - R) / span;
	kb = (H - T - Bm) / maxb;
	kr = (H - T - Bm) / maxr;
	if (wk_buf_addf(b,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
			"xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
			"viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
			"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n<text x=\"10\" "
			"y=\"20\" font-size=\"15\" font-weight=\"bold\">",
			W, H, W, H) < 0 ||
	    xml_esc(b, title ? title : "") < 0 ||
	    wk_buf_addf(b,
			"</text>\n<text x=\"%.0f\" y=\"34\" fill=\"#2f6fd6\">remaining (max %.0f "
			"MiB)</text><text x=\"%.0f\" y=\"34\" fill=\"#2e9d5b\" "
			"text-anchor=\"end\">transfer rate</text><text x=\"%.0f\" y=\"34\" "
			"fill=\"#d0453a\" text-anchor=\"end\">dirty rate (max %.0f MiB/s)</text>\n",
			L, maxb / 1048576.0, W - R - 150, W - R, maxr / 1048576.0) < 0)
		return -1;
	step = nice_step(span, 8);
	for (double t = 0; t <= span + 1e-9; t += step) {
		double x = L + t * kx;

		if (wk_buf_addf(b,
				"<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
				"stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.0f\" "
				"text-anchor=\"middle\" fill=\"#555\">%g s</text>\n",
				x, T, x, H - Bm, x, H - Bm + 16, t) < 0)
			return -1;
	}
	if (wk_buf_addf(b,
			"<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#999\"/>\n",
			L, H - Bm, W - R, H - Bm) < 0 ||
	    polyline(b, c, 0, L, kx, H - Bm, kb, "remaining", "#2f6fd6") < 0 ||
	    polyline(b, c, 1, L, kx, H - Bm, kr, "transfer", "#2e9d5b") < 0 ||
	    polyline(b, c, 2, L, kx, H - Bm, kr, "dirty", "#d0453a") < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		double x = L + (double)(c->p[i].t_ms - c->p[0].t_ms) / 1000.0 * kx;

		if (wk_buf_addf(b,
				"<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
				"fill=\"#2f6fd6\"/>",
				x, H - Bm - c->p[i].remaining * kb) < 0)
			return -1;
	}
	return wk_buf_adds(b, "\n</svg>\n");
}
