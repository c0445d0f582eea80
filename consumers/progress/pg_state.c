/* pg_state.c - the progress aggregator's model of one cluster. */
#include "pg_state.h"

#include "wk_json.h"
#include "wk_log.h"
#include "wk_map.h"
#include "wk_name.h"
#include "wk_quantity.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <math.h>

/* ---- state ---- */

struct vmi {
	char node[PG_NAME_MAX];
	char wukong[PG_NAME_MAX]; /* from the label, "" when absent */
	double mem;		  /* bytes */
};

struct node {
	bool draining;
};

struct wkinfo {
	char name[PG_NAME_MAX];
	int floor;	   /* progress on the status of a migration in flight, -1 none */
	char request[256]; /* that migration's requestId ("" when none) */
};

struct sample {
	double v[5];
	int64_t ts[5];
	bool have[5];
};

struct pg_state {
	char cluster[64];
	struct wk_map vmis;    /* ns/name -> struct vmi */
	struct wk_map wukongs; /* ns/vm -> struct wkinfo */
	struct wk_map nodes;   /* name -> struct node */
	struct wk_map ops;     /* "m/ns/vmi" or "c/ns/wukong" -> struct pg_op */
	struct wk_map samples; /* ns/vmi -> struct sample (one scrape) */
	int64_t *failures;     /* ring of failure times (monotonic ms) */
	int64_t *successes;
	size_t nfail, nsucc, ring;
	struct pg_node_agg *aggs;
	size_t naggs;
	char **agg_names;
};

struct pg_state *pg_state_new(const char *cluster)
{
	struct pg_state *s = wk_xcalloc(1, sizeof(*s));

	wk_strlcpy(s->cluster, cluster, sizeof(s->cluster));
	wk_map_init(&s->vmis, free);
	wk_map_init(&s->wukongs, free);
	wk_map_init(&s->nodes, free);
	wk_map_init(&s->ops, free);
	wk_map_init(&s->samples, free);
	s->ring = 4096;
	s->failures = wk_xcalloc(s->ring, sizeof(int64_t));
	s->successes = wk_xcalloc(s->ring, sizeof(int64_t));
	return s;
}

static void free_aggs(struct pg_state *s)
{
	for (size_t i = 0; i < s->naggs; i++)
		free(s->agg_names[i]);
	free(s->agg_names);
	free(s->aggs);
	s->agg_names = NULL;
	s->aggs = NULL;
	s->naggs = 0;
}

void pg_state_destroy(struct pg_state *s)
{
	if (!s)
		return;
	wk_map_release(&s->vmis);
	wk_map_release(&s->wukongs);
	wk_map_release(&s->nodes);
	wk_map_release(&s->ops);
	wk_map_release(&s->samples);
	free_aggs(s);
	free(s->failures);
	free(s->successes);
	free(s);
}

static void copy(char *dst, size_t size, const char *src)
{
	wk_strlcpy(dst, src ? src : "", size);
}

static void ring_add(int64_t *ring, size_t cap, size_t *n, int64_t t)
{
	ring[*n % cap] = t;
	(*n)++;
}

static long ring_count(const int64_t *ring, size_t cap, size_t n, int64_t since)
{
	long c = 0;
	size_t k = n < cap ? n : cap;

	for (size_t i = 0; i < k; i++)
		if (ring[i] >= since)
			c++;
	return c;
}

static void op_key(char *out, size_t size, enum pg_op_kind k, const char *ns, const char *name)
{
	snprintf(out, size, "%c/%s/%s", k == PG_OP_CLONE ? 'c' : 'm', ns, name);
}

static const char *wukong_of(const struct pg_state *s, const char *ns, const char *vm,
			     const char *label)
{
	char k[400];
	size_t n;
	static char buf[PG_NAME_MAX];

	snprintf(k, sizeof(k), "%s/%s", ns, vm);
	{
		const struct wkinfo *wi = wk_map_get(&s->wukongs, k);

		if (wi)
			return wi->name;
	}
	if (label && *label)
		return label;
	/* the operator's convention: Wukong x runs VM "x-vm" */
	n = strlen(vm);
	if (n > 3 && !strcmp(vm + n - 3, "-vm") && n - 3 < sizeof(buf)) {
		memcpy(buf, vm, n - 3);
		buf[n - 3] = '\0';
		return buf;
	}
	return "";
}

static void finish_op(struct pg_state *s, struct pg_op *op, bool ok, int64_t now_ms)
{
	if (op->final)
		return;
	op->final = true;
	op->succeeded = ok;
	pg_xfer_finish(&op->x, ok);
	op->dirty = true;
	if (ok)
		ring_add(s->successes, s->ring, &s->nsucc, now_ms);
	else
		ring_add(s->failures, s->ring, &s->nfail, now_ms);
}

/* migrationState (VMIM or VMI status): mode, nodes, times, abort status, end flags. */
static void take_migration_state(struct pg_op *op, const cJSON *ms)
{
	const char *v;

	if (!cJSON_IsObject(ms))
		return;
	if ((v = wk_json_str(ms, "mode")) && strcmp(op->mode, v)) {
		copy(op->mode, sizeof(op->mode), v);
		op->dirty = true;
	}
	if ((v = wk_json_str(ms, "sourceNode")) && !op->source_node[0])
		copy(op->source_node, sizeof(op->source_node), v);
	if ((v = wk_json_str(ms, "targetNode")) && strcmp(op->target_node, v)) {
		copy(op->target_node, sizeof(op->target_node), v);
		op->dirty = true;
	}
	if ((v = wk_json_str(ms, "startTimestamp")) && !op->started_at[0]) {
		copy(op->started_at, sizeof(op->started_at), v);
		op->dirty = true;
	}
	if ((v = wk_json_str(ms, "endTimestamp")) && !op->completed_at[0]) {
		copy(op->completed_at, sizeof(op->completed_at), v);
		op->dirty = true;
	}
	if ((v = wk_json_str(ms, "abortStatus")))
		copy(op->abort_status, sizeof(op->abort_status), v);
}

static int on_vmim(struct pg_state *s, const char *change, const cJSON *b, int64_t now_ms,
		   char *errstr, size_t errstr_size)
{
	const char *ns = wk_json_str(b, "namespace"), *name = wk_json_str(b, "name");
	const cJSON *spec = wk_json_path(b, "spec"), *st = wk_json_path(b, "status"),
		    *labels = wk_json_path(b, "labels");
	const char *vmi = wk_json_str(spec, "vmiName"), *phase = wk_json_str(st, "phase");
	char key[400];
	struct pg_op *op;
	bool created = false;

	if (!ns || !name || !vmi || !wk_name_is_dns1123_label(ns) ||
	    !wk_name_is_dns1123_subdomain(vmi))
		return wk_err(errstr, errstr_size, "migration without namespace, name or vmiName");
	op_key(key, sizeof(key), PG_OP_MIGRATION, ns, vmi);
	op = wk_map_get(&s->ops, key);
	if (op && strcmp(op->migration, name)) {
		if (!strcmp(change, "deleted"))
			return 0; /* an older migration of this VMI went away */
		/* a new migration of the same VMI: start again */
		wk_map_del(&s->ops, key);
		op = NULL;
	}
	if (!op) {
		if (!strcmp(change, "deleted"))
			return 0;
		op = wk_xcalloc(1, sizeof(*op));
		op->kind = PG_OP_MIGRATION;
		copy(op->ns, sizeof(op->ns), ns);
		copy(op->vmi, sizeof(op->vmi), vmi);
		copy(op->migration, sizeof(op->migration), name);
		pg_xfer_init(&op->x);
		op->x.percent = 0;
		created = true;
		op->created_ms = now_ms;
		op->dirty = true;
		copy(op->mapkey, sizeof(op->mapkey), key);
		wk_map_put(&s->ops, key, op);
	}
	{
		const char *m = wk_json_key_str(labels, "app.kubernetes.io/managed-by");
		const char *rid = wk_json_key_str(labels, WK_LABEL_REQUEST_ID);

		op->managed = m && !strcmp(m, "wukong-migrator");
		if (rid)
			copy(op->request_id, sizeof(op->request_id), rid);
		copy(op->wukong, sizeof(op->wukong),
		     wukong_of(s, ns, vmi, wk_json_key_str(labels, WK_LABEL_WUKONG)));
	}
	if (created) {
		/* the same migration already in flight on the status (after a restart of this
		 * service): what it shows is the floor, so we never send a lower figure */
		char wk[400];
		const struct wkinfo *wi;

		snprintf(wk, sizeof(wk), "%s/%s", ns, vmi);
		wi = wk_map_get(&s->wukongs, wk);
		if (wi && wi->floor > 0 && !strcmp(wi->request, op->request_id))
			op->x.percent = wi->floor;
	}
	take_migration_state(op, wk_json_path(st, "migrationState"));
	if (phase && strcmp(op->phase, phase)) {
		copy(op->phase, sizeof(op->phase), phase);
		op->dirty = true;
	}
	if (phase && !strcmp(phase, "Succeeded"))
		finish_op(s, op, true, now_ms);
	else if (phase && !strcmp(phase, "Failed"))
		finish_op(s, op, false, now_ms);
	else if (!strcmp(change, "deleted") && !op->final) {
		/* deleting a running VMIM cancels it (KubeVirt aborts the migration) */
		copy(op->phase, sizeof(op->phase), "Failed");
		copy(op->abort_status, sizeof(op->abort_status), "Succeeded");
		finish_op(s, op, false, now_ms);
	}
	return 0;
}

static double memory_of(const cJSON *spec)
{
	const cJSON *dom = wk_json_path(spec, "domain");
	const char *q = wk_json_str(wk_json_path(dom, "memory"), "guest");
	int64_t v;
	char err[128];

	if (!q)
		q = wk_json_str(wk_json_path(wk_json_path(dom, "resources"), "requests"), "memory");
	if (!q || wk_quantity_parse(q, &v, err, sizeof(err)) < 0 || v < 0)
		return 0;
	return (double)v;
}

static int on_vmi(struct pg_state *s, const char *change, const cJSON *b, int64_t now_ms,
		  char *errstr, size_t errstr_size)
{
	const char *ns = wk_json_str(b, "namespace"), *name = wk_json_str(b, "name");
	const cJSON *st = wk_json_path(b, "status");
	char key[400];
	struct vmi *v;
	struct pg_op *op;

	(void)now_ms;
	if (!ns || !name || !wk_name_is_dns1123_label(ns) || !wk_name_is_dns1123_subdomain(name))
		return wk_err(errstr, errstr_size, "instance without a valid namespace or name");
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (!strcmp(change, "deleted")) {
		wk_map_del(&s->vmis, key);
		return 0;
	}
	v = wk_map_get(&s->vmis, key);
	if (!v) {
		v = wk_xcalloc(1, sizeof(*v));
		wk_map_put(&s->vmis, key, v);
	}
	copy(v->node, sizeof(v->node), wk_json_str(st, "nodeName"));
	copy(v->wukong, sizeof(v->wukong),
	     wk_json_key_str(wk_json_path(b, "labels"), WK_LABEL_WUKONG));
	v->mem = memory_of(wk_json_path(b, "spec"));
	op_key(key, sizeof(key), PG_OP_MIGRATION, ns, name);
	op = wk_map_get(&s->ops, key);
	if (op && !op->final) {
		const cJSON *ms = wk_json_path(st, "migrationState");
		const char *uid = wk_json_str(ms, "migrationUid");

		(void)uid; /* the VMI holds the latest migration, which is this op's */
		take_migration_state(op, ms);
	}
	return 0;
}

static int on_wukong(struct pg_state *s, const char *change, const cJSON *b, char *errstr,
		     size_t errstr_size)
{
	const char *ns = wk_json_str(b, "namespace"), *name = wk_json_str(b, "name");
	const char *vm = wk_json_str(wk_json_path(b, "status"), "vmName");
	char key[600], def[PG_NAME_MAX + 4];

	if (!ns || !name || !wk_name_is_dns1123_label(ns) || !wk_name_is_dns1123_subdomain(name))
		return wk_err(errstr, errstr_size, "wukong without a valid namespace or name");
	if (!vm || !*vm) {
		snprintf(def, sizeof(def), "%s-vm", name);
		vm = def;
	}
	snprintf(key, sizeof(key), "%s/%s", ns, vm);
	if (!strcmp(change, "deleted"))
		wk_map_del(&s->wukongs, key);
	else {
		struct wkinfo *wi = wk_xcalloc(1, sizeof(*wi));
		const cJSON *ms = wk_json_path(wk_json_path(b, "status"), "migrationStatus");
		const cJSON *pr = wk_json_path(ms, "progress");
		const char *ph = wk_json_str(ms, "phase");

		copy(wi->name, sizeof(wi->name), name);
		copy(wi->request, sizeof(wi->request), wk_json_str(ms, "requestId"));
		wi->floor = -1;
		/* a migration in flight: what the status shows is the floor for this run's
		 * percent, so a restarted service never sends a lower figure */
		if (cJSON_IsNumber(pr) && pr->valuedouble >= 0 && pr->valuedouble <= 99 && ph &&
		    !strcmp(ph, "Migrating"))
			wi->floor = (int)pr->valuedouble;
		wk_map_put(&s->wukongs, key, wi);
	}
	return 0;
}

static int on_node(struct pg_state *s, const char *change, const cJSON *b, char *errstr,
		   size_t errstr_size)
{
	const char *name = wk_json_str(b, "name");
	struct node *n;

	if (!name || !wk_name_is_dns1123_subdomain(name))
		return wk_err(errstr, errstr_size, "node without a valid name");
	if (!strcmp(change, "deleted")) {
		wk_map_del(&s->nodes, name);
		return 0;
	}
	n = wk_map_get(&s->nodes, name);
	if (!n) {
		n = wk_xcalloc(1, sizeof(*n));
		wk_map_put(&s->nodes, name, n);
	}
	n->draining = cJSON_IsTrue(wk_json_path(wk_json_path(b, "spec"), "unschedulable"));
	return 0;
}

int pg_state_event(struct pg_state *s, const char *kind, const char *change, const cJSON *b,
		   int64_t now_ms, char *errstr, size_t errstr_size)
{
	const char *cl = wk_json_str(b, "cluster");

	if (!cJSON_IsObject(b))
		return wk_err(errstr, errstr_size, "event body is not an object");
	if (cl && strcmp(cl, s->cluster))
		return 0; /* another cluster's event: not ours */
	if (!strcmp(kind, "virtualmachineinstancemigration"))
		return on_vmim(s, change, b, now_ms, errstr, errstr_size);
	if (!strcmp(kind, "virtualmachineinstance"))
		return on_vmi(s, change, b, now_ms, errstr, errstr_size);
	if (!strcmp(kind, "wukong"))
		return on_wukong(s, change, b, errstr, errstr_size);
	if (!strcmp(kind, "node"))
		return on_node(s, change, b, errstr, errstr_size);
	return 0;
}

int pg_state_report(struct pg_state *s, const cJSON *b, int64_t now_ms, char *errstr,
		    size_t errstr_size)
{
	const char *type = wk_json_str(b, "type"), *ns = wk_json_str(b, "namespace"),
		   *name = wk_json_str(b, "name");
	const char *phase = wk_json_str(b, "phase"), *cl = wk_json_str(b, "cluster"),
		   *rid = wk_json_str(b, "requestId");
	const cJSON *pct = wk_json_path(b, "percent"), *eta = wk_json_path(b, "etaSeconds"),
		    *qp = wk_json_path(b, "queuePosition");
	enum pg_op_kind kind;
	char key[400];
	struct pg_op *op;
	bool is_final;

	/* Evacuation reports (the migrator's plan view, key <cluster>/node/<node>), aggregates and
	 * the router's fan-out/placement records are not per-VM: nothing to fold in, and not
	 * republished (one writer each, progress.md, multicluster.md). */
	if (type && (!strcmp(type, "evacuation") || !strcmp(type, "cluster") ||
		     !strcmp(type, "route")))
		return 0;
	if (!type || !ns || !name || !wk_name_is_dns1123_label(ns) ||
	    !wk_name_is_dns1123_subdomain(name))
		return wk_err(errstr, errstr_size, "report without type, namespace or name");
	if (cl && strcmp(cl, s->cluster))
		return 0;
	if (!strcmp(type, "clone"))
		kind = PG_OP_CLONE;
	else if (!strcmp(type, "migration"))
		kind = PG_OP_MIGRATION;
	else
		return 0; /* a type this version does not know */
	if (pct && (!cJSON_IsNumber(pct) || pct->valuedouble < 0 || pct->valuedouble > 100))
		return wk_err(errstr, errstr_size, "percent is not a number in [0, 100]");
	if (kind == PG_OP_MIGRATION) {
		/* the migrator's view before a VMIM exists: queued requests */
		snprintf(key, sizeof(key), "q/%s/%s", ns, name);
	} else {
		op_key(key, sizeof(key), kind, ns, name);
	}
	is_final = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
			     !strcmp(phase, "Cancelled") || !strcmp(phase, "Rejected"));
	op = wk_map_get(&s->ops, key);
	if (op && rid && strcmp(op->request_id, rid)) {
		wk_map_del(&s->ops, key); /* another request: start again */
		op = NULL;
	}
	if (!op) {
		if (kind == PG_OP_MIGRATION && (!phase || strcmp(phase, "Queued")))
			return 0; /* only queued requests are tracked from reports */
		op = wk_xcalloc(1, sizeof(*op));
		op->kind = kind;
		copy(op->ns, sizeof(op->ns), ns);
		copy(op->vmi, sizeof(op->vmi), name);
		copy(op->wukong, sizeof(op->wukong), name);
		copy(op->request_id, sizeof(op->request_id), rid);
		pg_xfer_init(&op->x);
		op->x.percent = 0;
		op->created_ms = now_ms;
		op->managed = true; /* the executor owns phase and times */
		copy(op->mapkey, sizeof(op->mapkey), key);
		wk_map_put(&s->ops, key, op);
	}
	if (phase)
		copy(op->phase, sizeof(op->phase), phase);
	if (cJSON_IsNumber(qp) && qp->valuedouble >= 0 && qp->valuedouble < 1e9)
		op->queue_position = (int)qp->valuedouble;
	if (kind == PG_OP_MIGRATION) {
		if (strcmp(op->phase, "Queued"))
			wk_map_del(&s->ops, key); /* no longer queued: the VMIM op takes over */
		return 0;
	}
	if (pct && (int)pct->valuedouble > op->x.percent) {
		/* clone progress is monotone too: a report never lowers it */
		op->x.percent = (int)pct->valuedouble; /* the executor's own figure */
		op->dirty = true;
	}
	if (cJSON_IsNumber(eta) && eta->valuedouble >= 0 && eta->valuedouble < 1e9) {
		op->x.eta_s = eta->valuedouble;
		op->dirty = true;
	}
	if (is_final)
		finish_op(s, op, !strcmp(phase, "Succeeded"), now_ms);
	return 0;
}

/* ---- metrics ---- */

int pg_metric_which(const char *n)
{
	static const struct {
		const char *name;
		int which;
	} names[] = {
	    {"kubevirt_vmi_migration_data_processed_bytes", 0},
	    {"kubevirt_migrate_vmi_data_processed_bytes", 0},
	    {"kubevirt_vmi_migration_data_remaining_bytes", 1},
	    {"kubevirt_migrate_vmi_data_remaining_bytes", 1},
	    {"kubevirt_vmi_migration_data_bytes_total", 2},
	    {"kubevirt_vmi_migration_data_total_bytes", 2},
	    {"kubevirt_vmi_migration_dirty_memory_rate_bytes", 3},
	    {"kubevirt_migrate_vmi_dirty_memory_rate_bytes", 3},
	    {"kubevirt_vmi_migration_memory_transfer_rate_bytes", 4},
	    /* v1.1 - v1.6: misnamed, it carried MemoryBps */
	    {"kubevirt_vmi_migration_disk_transfer_rate_bytes", 4},
	    {"kubevirt_migrate_vmi_disk_transfer_rate_bytes", 4},
	};

	for (size_t i = 0; i < WK_ARRAY_SIZE(names); i++)
		if (!strcmp(names[i].name, n))
			return names[i].which;
	return -1;
}

void pg_state_metric(struct pg_state *s, const char *ns, const char *vmi, int which, double v,
		     int64_t ts_ms)
{
	char key[400];
	struct sample *sm;

	if (which < 0 || which > 4 || !ns || !vmi || !wk_name_is_dns1123_label(ns) ||
	    !wk_name_is_dns1123_subdomain(vmi) || !isfinite(v) || v < 0)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, vmi);
	sm = wk_map_get(&s->samples, key);
	if (!sm) {
		/* only migrations we know of: a hostile endpoint cannot grow this map */
		char ok[400];

		op_key(ok, sizeof(ok), PG_OP_MIGRATION, ns, vmi);
		if (!wk_map_get(&s->ops, ok))
			return;
		sm = wk_xcalloc(1, sizeof(*sm));
		wk_map_put(&s->samples, key, sm);
	}
	/* virt-handler exposes its last samples with timestamps: keep the newest */
	if (!sm->have[which] || ts_ms >= sm->ts[which]) {
		sm->v[which] = v;
		sm->ts[which] = ts_ms;
		sm->have[which] = true;
	}
}

size_t pg_state_metrics_apply(struct pg_state *s, int64_t scrape_ms)
{
	struct wk_map_iter it;
	size_t taken = 0;

	for (wk_map_iter_init(&it, &s->samples); wk_map_iter_next(&it);) {
		struct sample *sm = it.val;
		char key[420];
		struct pg_op *op;
		int64_t ts = 0;
		bool pc;

		snprintf(key, sizeof(key), "m/%s", it.key);
		op = wk_map_get(&s->ops, key);
		if (!op || op->final || !sm->have[0] || !sm->have[1])
			continue;
		for (int k = 0; k < 5; k++)
			if (sm->have[k] && sm->ts[k] > ts)
				ts = sm->ts[k];
		pc = !strcmp(op->mode, "PostCopy") || !strcmp(op->mode, "Paused");
		if (pg_xfer_sample(&op->x, sm->v[0], sm->v[1], sm->have[2] ? sm->v[2] : -1,
				   sm->have[4] ? sm->v[4] : -1, sm->have[3] ? sm->v[3] : -1,
				   ts ? ts : scrape_ms, pc)) {
			op->dirty = true;
			taken++;
		}
	}
	wk_map_release(&s->samples);
	return taken;
}

/* ---- iteration, gc, aggregates ---- */

struct pg_op *pg_state_next_op(struct pg_state *s, struct pg_op *prev)
{
	struct wk_map_iter it;

	wk_map_iter_init(&it, &s->ops);
	if (prev && !wk_map_iter_after(&it, prev->mapkey))
		return NULL;
	return wk_map_iter_next(&it) ? it.val : NULL;
}

struct pg_op *pg_state_op(struct pg_state *s, const char *mapkey)
{
	return wk_map_get(&s->ops, mapkey);
}

size_t pg_state_gc(struct pg_state *s, int64_t now_ms, int64_t keep_ms)
{
	struct wk_map_iter it;
	size_t n = 0;

	for (wk_map_iter_init(&it, &s->ops); wk_map_iter_next(&it);) {
		struct pg_op *op = it.val;

		if (op->final && op->final_sent && now_ms - op->last_sent_ms > keep_ms) {
			wk_map_del(&s->ops, it.key);
			n++;
		}
	}
	return n;
}

static struct pg_node_agg *agg_for(struct pg_state *s, const char *node)
{
	for (size_t i = 0; i < s->naggs; i++)
		if (!strcmp(s->aggs[i].node, node))
			return &s->aggs[i];
	s->aggs = wk_xrealloc(s->aggs, (s->naggs + 1) * sizeof(*s->aggs));
	s->agg_names = wk_xrealloc(s->agg_names, (s->naggs + 1) * sizeof(char *));
	s->agg_names[s->naggs] = wk_xstrdup(node);
	memset(&s->aggs[s->naggs], 0, sizeof(s->aggs[0]));
	s->aggs[s->naggs].node = s->agg_names[s->naggs];
	s->aggs[s->naggs].eta_s = -1;
	return &s->aggs[s->naggs++];
}

size_t pg_state_nodes(struct pg_state *s, const struct pg_node_agg **out)
{
	struct wk_map_iter it;
	double *rates;

	free_aggs(s);
	/* nodes being drained */
	for (wk_map_iter_init(&it, &s->nodes); wk_map_iter_next(&it);)
		if (((struct node *)it.val)->draining)
			agg_for(s, it.key)->draining = true;
	/* and nodes with a live migration away from them */
	for (struct pg_op *op = pg_state_next_op(s, NULL); op; op = pg_state_next_op(s, op))
		if (op->kind == PG_OP_MIGRATION && !op->final && op->source_node[0])
			agg_for(s, op->source_node);
	rates = wk_xcalloc(s->naggs + 1, sizeof(double));
	for (wk_map_iter_init(&it, &s->vmis); wk_map_iter_next(&it);) {
		struct vmi *v = it.val;
		struct pg_node_agg *a = NULL;
		char key[420];
		struct pg_op *op;
		double left = v->mem;

		for (size_t k = 0; k < s->naggs; k++)
			if (!strcmp(s->aggs[k].node, v->node)) {
				a = &s->aggs[k];
				break;
			}
		if (!a)
			continue;
		snprintf(key, sizeof(key), "m/%s", it.key);
		op = wk_map_get(&s->ops, key);
		if (op && op->final && op->succeeded)
			continue; /* moved, the event saying so is on its way */
		if (op && !op->final && op->x.have) {
			left = op->x.remaining;
			a->migrating++;
			if (op->x.have_net && op->x.net_rate > 0)
				rates[a - s->aggs] += op->x.net_rate;
		}
		a->vms_left++;
		a->bytes_left += left;
	}
	for (size_t k = 0; k < s->naggs; k++) {
		if (s->aggs[k].vms_left == 0)
			s->aggs[k].eta_s = 0;
		else if (rates[k] > 0)
			/* at the current aggregate drain rate; the VMs not started yet are
			 * assumed to move as fast as those moving now */
			s->aggs[k].eta_s = s->aggs[k].bytes_left / rates[k];
	}
	free(rates);
	*out = s->aggs;
	return s->naggs;
}

void pg_state_cluster(struct pg_state *s, int64_t now_ms, struct pg_cluster_agg *out)
{
	memset(out, 0, sizeof(*out));
	for (struct pg_op *op = pg_state_next_op(s, NULL); op; op = pg_state_next_op(s, op)) {
		if (op->kind != PG_OP_MIGRATION || op->final)
			continue;
		if (!strcmp(op->phase, "Queued") || !strcmp(op->phase, "Pending") || !op->phase[0])
			out->queued++;
		else
			out->running++;
	}
	out->failed_last_hour =
	    ring_count(s->failures, s->ring, s->nfail, now_ms - PG_FAILED_WINDOW_MS);
	out->succeeded_last_hour =
	    ring_count(s->successes, s->ring, s->nsucc, now_ms - PG_FAILED_WINDOW_MS);
}

/* ---- JSON ---- */

const char *pg_op_vm(const struct pg_state *s, const struct pg_op *op)
{
	(void)s;
	return op->vmi; /* clones: the Wukong's name stands in (no VMI yet) */
}

static const char *status_phase(const struct pg_op *op)
{
	if (op->final)
		return op->succeeded				? "Succeeded"
		       : !strcmp(op->abort_status, "Succeeded") ? "Cancelled"
								: "Failed";
	if (!op->phase[0] || !strcmp(op->phase, "Pending"))
		return "Pending";
	return "Migrating";
}

static char *print(cJSON *o)
{
	char *p = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!p)
		WK_BUG("cJSON_PrintUnformatted failed");
	return p;
}

static void add_bytes(cJSON *o, const char *k, double v)
{
	if (isfinite(v) && v >= 0 && v <= 9007199254740991.0)
		cJSON_AddNumberToObject(o, k, floor(v));
}

char *pg_op_status_json(const struct pg_state *s, const struct pg_op *op, int64_t seq)
{
	cJSON *o = cJSON_CreateObject(), *ms, *st, *conds, *c;
	const char *f = op->kind == PG_OP_CLONE ? "cloneStatus" : "migrationStatus";

	cJSON_AddStringToObject(o, "cluster", s->cluster);
	cJSON_AddStringToObject(o, "namespace", op->ns);
	cJSON_AddStringToObject(o, "name", op->wukong);
	cJSON_AddStringToObject(o, "source", "wukong-progress");
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	st = cJSON_AddObjectToObject(o, "status");
	ms = cJSON_AddObjectToObject(st, f);
	cJSON_AddNumberToObject(ms, "progress", op->x.percent < 0 ? 0 : op->x.percent);
	if (op->x.eta_s >= 0 && op->x.eta_s < 1e9)
		cJSON_AddNumberToObject(ms, "etaSeconds", round(op->x.eta_s * 10) / 10);
	else
		cJSON_AddNullToObject(ms, "etaSeconds");
	if (op->kind == PG_OP_CLONE)
		return print(o);
	if (op->x.have) {
		add_bytes(ms, "dataProcessedBytes", op->x.processed);
		add_bytes(ms, "dataRemainingBytes", op->x.remaining);
		add_bytes(ms, "dataTotalBytes", op->x.total);
		if (op->x.rate >= 0 && op->x.rate <= 1e15)
			cJSON_AddNumberToObject(ms, "transferRateBytesPerSecond",
						floor(op->x.rate));
		if (op->x.dirty >= 0 && op->x.dirty <= 1e15)
			cJSON_AddNumberToObject(ms, "dirtyRateBytesPerSecond", floor(op->x.dirty));
		cJSON_AddBoolToObject(ms, "converging", !op->x.not_converging);
	}
	if (op->mode[0])
		cJSON_AddStringToObject(ms, "mode", op->mode);
	if (!op->managed) {
		/* no executor owns this migration (KubeVirt's own evacuation, kubectl): the
		 * progress service describes it entirely */
		cJSON_AddStringToObject(ms, "phase", status_phase(op));
		if (op->source_node[0])
			cJSON_AddStringToObject(ms, "sourceNode", op->source_node);
		if (op->target_node[0])
			cJSON_AddStringToObject(ms, "targetNode", op->target_node);
		if (op->started_at[0])
			cJSON_AddStringToObject(ms, "startedAt", op->started_at);
		if (op->completed_at[0] && op->final)
			cJSON_AddStringToObject(ms, "completedAt", op->completed_at);
	}
	if (op->x.have || op->final) {
		conds = cJSON_AddArrayToObject(o, "conditions");
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", "MigrationConverging");
		/* a condition says what is true now: once the migration ended it is not
		 * converging any more (False, Completed), whatever it did before */
		cJSON_AddStringToObject(c, "status",
					op->final || op->x.not_converging ? "False" : "True");
		cJSON_AddStringToObject(c, "reason",
					op->final	       ? "Completed"
					: op->x.not_converging ? "NotConverging"
							       : "Converging");
		cJSON_AddStringToObject(
		    c, "message",
		    op->final ? "the migration ended"
		    : op->x.not_converging
			? "guest memory is dirtied faster than it is transferred; remaining data "
			  "is not shrinking"
			: "");
		cJSON_AddItemToArray(conds, c);
	}
	return print(o);
}

/* A wukong.progress report: source, type and cluster first ... */
static cJSON *progress_new(const struct pg_state *s, const char *type)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "source", "wukong-progress");
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "cluster", s->cluster);
	return o;
}

/* ... and the time last; prints and frees o. */
static char *progress_print(cJSON *o, int64_t now_wall_ms)
{
	char t[40];

	wk_time_format(now_wall_ms, t, sizeof(t));
	cJSON_AddStringToObject(o, "time", t);
	return print(o);
}

char *pg_op_progress_json(const struct pg_state *s, const struct pg_op *op, int64_t now_wall_ms)
{
	cJSON *o = progress_new(s, op->kind == PG_OP_CLONE ? "clone" : "migration");

	cJSON_AddStringToObject(o, "namespace", op->ns);
	cJSON_AddStringToObject(o, "name", op->wukong[0] ? op->wukong : op->vmi);
	cJSON_AddStringToObject(o, "vmi", op->vmi);
	if (op->migration[0])
		cJSON_AddStringToObject(o, "migration", op->migration);
	if (op->request_id[0])
		cJSON_AddStringToObject(o, "requestId", op->request_id);
	cJSON_AddStringToObject(
	    o, "phase", op->kind == PG_OP_CLONE && op->phase[0] ? op->phase : status_phase(op));
	cJSON_AddNumberToObject(o, "percent", op->x.percent < 0 ? 0 : op->x.percent);
	if (op->x.have) {
		add_bytes(o, "dataProcessedBytes", op->x.processed);
		add_bytes(o, "dataRemainingBytes", op->x.remaining);
		add_bytes(o, "dataTotalBytes", op->x.total);
		if (op->x.rate >= 0)
			cJSON_AddNumberToObject(o, "transferRateBytesPerSecond", floor(op->x.rate));
		if (op->x.dirty >= 0)
			cJSON_AddNumberToObject(o, "dirtyRateBytesPerSecond", floor(op->x.dirty));
		cJSON_AddBoolToObject(o, "converging", !op->x.not_converging);
	}
	if (op->x.eta_s >= 0 && op->x.eta_s < 1e9)
		cJSON_AddNumberToObject(o, "etaSeconds", round(op->x.eta_s * 10) / 10);
	if (op->source_node[0])
		cJSON_AddStringToObject(o, "sourceNode", op->source_node);
	if (op->target_node[0])
		cJSON_AddStringToObject(o, "targetNode", op->target_node);
	if (op->mode[0])
		cJSON_AddStringToObject(o, "mode", op->mode);
	return progress_print(o, now_wall_ms);
}

char *pg_node_progress_json(const struct pg_state *s, const struct pg_node_agg *n,
			    int64_t now_wall_ms)
{
	cJSON *o = progress_new(s, "evacuation");

	cJSON_AddStringToObject(o, "node", n->node);
	cJSON_AddBoolToObject(o, "draining", n->draining);
	cJSON_AddNumberToObject(o, "vmsLeft", (double)n->vms_left);
	cJSON_AddNumberToObject(o, "migrating", (double)n->migrating);
	add_bytes(o, "bytesLeft", n->bytes_left);
	if (n->eta_s >= 0 && n->eta_s < 1e9)
		cJSON_AddNumberToObject(o, "etaSeconds", round(n->eta_s * 10) / 10);
	else
		cJSON_AddNullToObject(o, "etaSeconds");
	return progress_print(o, now_wall_ms);
}

char *pg_cluster_progress_json(const struct pg_state *s, const struct pg_cluster_agg *c,
			       int64_t now_wall_ms)
{
	cJSON *o = progress_new(s, "cluster");

	cJSON_AddNumberToObject(o, "running", (double)c->running);
	cJSON_AddNumberToObject(o, "queued", (double)c->queued);
	cJSON_AddNumberToObject(o, "failedLastHour", (double)c->failed_last_hour);
	cJSON_AddNumberToObject(o, "succeededLastHour", (double)c->succeeded_last_hour);
	return progress_print(o, now_wall_ms);
}
