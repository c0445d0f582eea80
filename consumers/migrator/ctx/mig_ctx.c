/* mig_ctx.c - the migrator's shared state: acknowledgements of consumed offsets,
 * the table of active requests, the memory of finished ones and the configuration. Used by every
 * flow; calls only decide/ and core. */
#include "ctx/mig_ctx.h"

#include "wk_config.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <stdlib.h>
#include <string.h>

struct mig_ack *mig_ack_ref(struct mig_ack *a)
{
	if (a)
		a->refs++;
	return a;
}

void mig_ack_free(struct mig_ack *a)
{
	free(a->topic);
	free(a);
}

void mig_ack_unref(struct mig_state *st, struct mig_ack *a)
{
	if (!a || --a->refs > 0)
		return;
	if (a->pending && !a->detached &&
	    wk_service_ack(st->ctx, a->topic, a->partition, a->offset) < 0)
		wk_warn("ack '%s' [%d] offset %lld failed", a->topic, (int)a->partition,
			(long long)a->offset);
	if (a->pending || a->detached)
		mig_ack_free(a);
}

int64_t mig_next_seq(struct mig_state *st)
{
	int64_t now = wk_time_now_ms() * 1000;

	st->last_seq = now > st->last_seq ? now : st->last_seq + 1;
	return st->last_seq;
}

struct mig_active *mig_active_by_id(struct mig_state *st, const char *id)
{
	struct mig_active *a;

	for (a = st->active; a; a = a->next)
		if (!strcmp(a->req.id, id))
			return a;
	return NULL;
}

void mig_last_spec_put(struct mig_state *st, const char *key, const char *id)
{
	if (!wk_map_get(&st->last_spec, key) &&
	    wk_map_count(&st->last_spec) >= MIG_LAST_SPEC_MAX) {
		struct wk_map_iter it;

		wk_map_iter_init(&it, &st->last_spec);
		if (wk_map_iter_next(&it))
			wk_map_del(&st->last_spec, it.key);
	}
	wk_map_put(&st->last_spec, key, wk_xstrdup(id));
}

struct mig_active *mig_active_by_wukong(struct mig_state *st, const char *ns, const char *name)
{
	struct mig_active *a;

	for (a = st->active; a; a = a->next)
		if (!strcmp(a->req.ns, ns) && !strcmp(a->req.name, name))
			return a;
	return NULL;
}

struct mig_active *mig_active_by_vm(struct mig_state *st, const char *ns, const char *vm)
{
	struct mig_active *a;

	for (a = st->active; a; a = a->next)
		if (!strcmp(a->req.ns, ns) && !strcmp(a->req.vm, vm))
			return a;
	return NULL;
}

void mig_active_count(struct mig_state *st, struct mig_active *a, bool on)
{
	if (on == a->counted)
		return;
	mig_load_add(&st->load, a->source_node, on ? 1 : -1);
	a->counted = on;
}

void mig_active_free(struct mig_state *st, struct mig_active *a)
{
	struct mig_active **pp;

	for (pp = &st->active; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	mig_queue_remove(&st->queue, a->req.id);
	mig_active_count(st, a, false);
	if (a->hold) {
		mig_ack_unref(st, a->hold);
		a->hold = NULL;
	}
	free(a);
}

static void done_key(const struct mig_request *r, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", r->ns, r->name, r->id);
}

/* The outcome label: the phase name in lower case, as Prometheus label values go. */
static const char *outcome_label(enum mig_phase p)
{
	switch (p) {
	case MIG_PH_SUCCEEDED:
		return "succeeded";
	case MIG_PH_FAILED:
		return "failed";
	case MIG_PH_CANCELLED:
		return "cancelled";
	case MIG_PH_REJECTED:
		return "rejected";
	default:
		return "unknown";
	}
}

void mig_remember_done(struct mig_state *st, const struct mig_request *r, enum mig_phase p)
{
	char key[600];

	done_key(r, key, sizeof(key));
	if ((const char *)wk_map_get(&st->done, key))
		return;
	if (st->done_ring[st->done_next]) {
		wk_map_del(&st->done, st->done_ring[st->done_next]);
		free(st->done_ring[st->done_next]);
	}
	st->done_ring[st->done_next] = wk_xstrdup(key);
	st->done_next = (st->done_next + 1) % st->done_cap;
	wk_map_put(&st->done, key, wk_xstrdup(mig_phase_name(p)));
	if (mig_phase_final(p))
		wk_metric_inc(st->m_outcomes, (const char *const[]){outcome_label(p)}, 1);
}

void mig_outcome_metrics_init(struct mig_state *st)
{
	/* KubeVirt's own migration-duration buckets are not published; these span a small VM's
	 * seconds to a large one's hour under a 64 MiB/s bandwidth cap. */
	static const double b[] = {5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600};

	st->m_outcomes = wk_metric_counter("wukong_migrations_total",
					   "Migrations that reached a final phase, by outcome "
					   "(succeeded, failed, cancelled, rejected)",
					   "outcome");
	st->m_duration = wk_metric_histogram("wukong_migration_duration_seconds",
					     "From a migration's start (VMIM created, or the cold "
					     "stop) to its final phase, by outcome",
					     "outcome", b, WK_ARRAY_SIZE(b));
}

void mig_observe_duration(struct mig_state *st, enum mig_phase p, int64_t started_ms,
			  int64_t finished_ms)
{
	if (!mig_phase_final(p) || started_ms <= 0 || finished_ms < started_ms)
		return;
	wk_metric_observe(st->m_duration, (const char *const[]){outcome_label(p)},
			  (double)(finished_ms - started_ms) / 1000.0);
}

bool mig_is_done(struct mig_state *st, const struct mig_request *r)
{
	char key[600];

	done_key(r, key, sizeof(key));
	return (const char *)wk_map_get(&st->done, key) != NULL;
}

const char *mig_cfg(struct mig_state *st, const char *k, const char *def)
{
	return wk_config_get(wk_service_config(st->ctx), k, def);
}

double mig_cfg_num(struct mig_state *st, const char *k, double def, bool quantity)
{
	const char *v = mig_cfg(st, k, NULL);
	int64_t q;
	char err[128];

	if (!v)
		return def;
	if (quantity)
		return wk_quantity_parse(v, &q, err, sizeof(err)) == 0 && q > 0 ? (double)q : def;
	double d = strtod(v, NULL);
	return d > 0 ? d : def;
}
