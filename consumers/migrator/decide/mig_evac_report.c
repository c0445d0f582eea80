/* mig_evac_report.c - the evacuation progress report (mig_evac_report.h).
 *
 * The migrator is the only writer of these reports (source "wukong-migrator"): it alone knows the
 * plan (order, targets, predicted durations). wukong-progress publishes its own per-node
 * aggregate from the cluster's events (source "wukong-progress") and does not republish these.
 */
#include "decide/mig_evac_report.h"

#include "wk_emit.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

const char *mig_evrep_state_name(enum mig_evrep_state s)
{
	static const char *const names[] = {"Waiting",	   "Queued",	"Migrating",
					    "Unconfirmed", "Succeeded", "Failed"};

	return (size_t)s < WK_ARRAY_SIZE(names) ? names[s] : "Unknown";
}

bool mig_evrep_final_state(enum mig_evrep_state s)
{
	return s == MIG_EVREP_SUCCEEDED || s == MIG_EVREP_FAILED;
}

/* ---- pure ---- */

void mig_evrep_count(const struct mig_evrep *r, struct mig_evrep_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->total = r->n;
	for (size_t i = 0; i < r->n; i++) {
		switch (r->vms[i].state) {
		case MIG_EVREP_WAITING:
			c->waiting++;
			break;
		case MIG_EVREP_SUCCEEDED:
			c->succeeded++;
			break;
		case MIG_EVREP_FAILED:
			c->failed++;
			break;
		default:
			c->running++;
			break;
		}
	}
}

double mig_evrep_eta(const struct mig_evrep *r, double elapsed_s)
{
	double actual = 0, planned = 0, f = 1, eta;
	bool all = true;

	for (size_t i = 0; i < r->n; i++) {
		const struct mig_evrep_vm *v = &r->vms[i];

		if (!mig_evrep_final_state(v->state)) {
			all = false;
			continue;
		}
		if (v->done_s >= 0 && v->planned_end_s > 0) {
			actual += v->done_s;
			planned += v->planned_end_s;
		}
	}
	if (all)
		return 0;
	if (planned > 0 && actual > 0) {
		f = actual / planned;
		f = f < 0.25 ? 0.25 : f > 10 ? 10 : f;
	}
	if (!(r->predicted_s > 0) || !isfinite(r->predicted_s))
		return -1;
	eta = r->predicted_s * f - (elapsed_s > 0 ? elapsed_s : 0);
	/* Past the (scaled) prediction with VMs left: nothing honest to say. */
	return eta >= 1 ? eta : -1;
}

static double round1(double v)
{
	return isfinite(v) ? round(v * 10) / 10 : 0;
}

/* Listing order: what an operator looks at first. */
static int list_rank(enum mig_evrep_state s)
{
	switch (s) {
	case MIG_EVREP_MIGRATING:
	case MIG_EVREP_QUEUED:
	case MIG_EVREP_UNCONFIRMED:
		return 0;
	case MIG_EVREP_FAILED:
		return 1;
	case MIG_EVREP_WAITING:
		return 2;
	default:
		return 3;
	}
}

cJSON *mig_evrep_body(const struct mig_evrep *r, double elapsed_s, const char *phase,
		      int64_t now_ms)
{
	struct mig_evrep_counts c;
	cJSON *o = cJSON_CreateObject(), *vms;
	char ts[40];
	double eta;
	size_t listed = 0;
	bool final = phase && strcmp(phase, "Running");
	double before = r->earlier_s > 0 ? r->earlier_s : 0; /* ran before a restart */

	mig_evrep_count(r, &c);
	wk_time_format(now_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "source", "wukong-migrator");
	cJSON_AddStringToObject(o, "type", "evacuation");
	cJSON_AddStringToObject(o, "cluster", r->cluster);
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "node", r->node);
	cJSON_AddStringToObject(o, "evacuationId", r->id);
	/* The drain submission's id (what wukongctl follows); a trigger's own evacuation id. */
	cJSON_AddStringToObject(o, "requestId", r->id);
	cJSON_AddStringToObject(o, "trigger", r->trigger);
	cJSON_AddNumberToObject(o, "total", (double)c.total);
	cJSON_AddNumberToObject(o, "succeeded", (double)c.succeeded);
	cJSON_AddNumberToObject(o, "failed", (double)c.failed);
	cJSON_AddNumberToObject(o, "running", (double)c.running);
	cJSON_AddNumberToObject(o, "waiting", (double)c.waiting);
	/* Both since the evacuation began, a restart of the migrator included; the ETA scales the
	 * replanned prediction, so it takes the time since this start. */
	cJSON_AddNumberToObject(o, "predictedSeconds",
				round1((r->predicted_s > 0 ? r->predicted_s : 0) + before));
	cJSON_AddNumberToObject(o, "elapsedSeconds",
				round1((elapsed_s > 0 ? elapsed_s : 0) + before));
	eta = final ? 0 : mig_evrep_eta(r, elapsed_s);
	if (eta >= 0)
		cJSON_AddNumberToObject(o, "etaSeconds", round1(eta));
	else
		cJSON_AddNullToObject(o, "etaSeconds");
	/* Final VMs over all; 100 only once the evacuation itself has ended. */
	{
		int pct = c.total ? (int)(100 * (c.succeeded + c.failed) / c.total) : 0;

		if (final)
			pct = 100;
		else if (pct > 99)
			pct = 99;
		cJSON_AddNumberToObject(o, "percent", pct);
	}
	cJSON_AddStringToObject(o, "phase", phase ? phase : "Running");
	vms = cJSON_AddArrayToObject(o, "vms");
	for (int rank = 0; rank <= 3; rank++)
		for (size_t i = 0; i < r->n; i++) {
			const struct mig_evrep_vm *v = &r->vms[i];
			cJSON *e;

			if (list_rank(v->state) != rank)
				continue;
			if (listed == MIG_EVREP_VMS_MAX) {
				rank = 4;
				break;
			}
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "namespace", v->ns);
			cJSON_AddStringToObject(e, "name", v->name);
			cJSON_AddStringToObject(e, "target", v->target);
			cJSON_AddStringToObject(e, "state", mig_evrep_state_name(v->state));
			cJSON_AddItemToArray(vms, e);
			listed++;
		}
	if (listed < r->n)
		cJSON_AddTrueToObject(o, "vmsTruncated");
	return o;
}

bool mig_evrep_due(const struct mig_evrep *r, int64_t now_mono)
{
	int64_t since = now_mono - r->last_sent_mono;

	if (!r->sent)
		return true;
	return (r->changed && since >= MIG_EVREP_INTERVAL_MS) || since >= MIG_EVREP_REFRESH_MS;
}

/* ---- building ---- */

struct mig_evrep *mig_evrep_new(const char *id, const char *cluster, const char *node,
				const char *trigger, double predicted_s, int64_t now_mono)
{
	struct mig_evrep *r = wk_xcalloc(1, sizeof(*r));

	wk_strlcpy(r->id, id, sizeof(r->id));
	wk_strlcpy(r->cluster, cluster, sizeof(r->cluster));
	wk_strlcpy(r->node, node, sizeof(r->node));
	wk_strlcpy(r->trigger, trigger, sizeof(r->trigger));
	r->predicted_s = predicted_s;
	r->started_mono = now_mono;
	return r;
}

void mig_evrep_destroy(struct mig_evrep *r)
{
	if (!r)
		return;
	free(r->vms);
	free(r);
}

void mig_evrep_add(struct mig_evrep *r, const char *ns, const char *name, const char *target,
		   const char *request_id, double planned_end_s)
{
	struct mig_evrep_vm *v;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->vms = wk_xrealloc(r->vms, r->cap * sizeof(*r->vms));
	}
	v = &r->vms[r->n++];
	memset(v, 0, sizeof(*v));
	wk_strlcpy(v->ns, ns, sizeof(v->ns));
	wk_strlcpy(v->name, name, sizeof(v->name));
	wk_strlcpy(v->target, target, sizeof(v->target));
	wk_strlcpy(v->id, request_id, sizeof(v->id));
	v->planned_end_s = planned_end_s;
	v->done_s = -1;
	v->state = MIG_EVREP_WAITING;
}

void mig_evrep_add_done(struct mig_evrep *r, const char *ns, const char *name, const char *target,
			const char *request_id)
{
	mig_evrep_add(r, ns, name, target, request_id, 0);
	r->vms[r->n - 1].state = MIG_EVREP_SUCCEEDED;
}

void mig_evrep_remaining(struct mig_evrep *r, size_t i)
{
	if (r && i < r->n)
		r->vms[i].remaining = true;
}
