/* mig_ctx.c - the migrator's shared state: the string map, acknowledgements of consumed offsets,
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

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void mig_map_init(struct mig_map *m)
{
	m->nb = 1024;
	m->n = 0;
	m->b = wk_xcalloc(m->nb, sizeof(*m->b));
}

void mig_map_release(struct mig_map *m)
{
	size_t i;

	for (i = 0; i < m->nb; i++) {
		struct mig_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->key);
			free(e->val);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

const char *mig_map_get(const struct mig_map *m, const char *key)
{
	const struct mig_map_ent *e = m->b[hash_str(key) % m->nb];

	for (; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->val;
	return NULL;
}

static void map_grow(struct mig_map *m)
{
	size_t nb = m->nb * 2, i;
	struct mig_map_ent **b = wk_xcalloc(nb, sizeof(*b));

	for (i = 0; i < m->nb; i++) {
		struct mig_map_ent *e = m->b[i], *n;

		for (; e; e = n) {
			size_t h = hash_str(e->key) % nb;

			n = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void mig_map_set(struct mig_map *m, const char *key, const char *val)
{
	size_t h = hash_str(key) % m->nb;
	struct mig_map_ent *e;

	for (e = m->b[h]; e; e = e->next) {
		if (!strcmp(e->key, key)) {
			free(e->val);
			e->val = wk_xstrdup(val);
			return;
		}
	}
	if (m->n + 1 > m->nb * 2) {
		map_grow(m);
		h = hash_str(key) % m->nb;
	}
	e = wk_xmalloc(sizeof(*e));
	e->key = wk_xstrdup(key);
	e->val = wk_xstrdup(val);
	e->next = m->b[h];
	m->b[h] = e;
	m->n++;
}

void mig_map_del(struct mig_map *m, const char *key)
{
	struct mig_map_ent **pp = &m->b[hash_str(key) % m->nb], *e;

	for (; (e = *pp); pp = &e->next) {
		if (!strcmp(e->key, key)) {
			*pp = e->next;
			free(e->key);
			free(e->val);
			free(e);
			m->n--;
			return;
		}
	}
}

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
	if (mig_map_get(&st->done, key))
		return;
	if (st->done_ring[st->done_next]) {
		mig_map_del(&st->done, st->done_ring[st->done_next]);
		free(st->done_ring[st->done_next]);
	}
	st->done_ring[st->done_next] = wk_xstrdup(key);
	st->done_next = (st->done_next + 1) % st->done_cap;
	mig_map_set(&st->done, key, mig_phase_name(p));
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
	return mig_map_get(&st->done, key) != NULL;
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
