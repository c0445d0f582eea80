/* test_st_table.c - coalescing per (field, source), seq ordering (also across a restart through
 * status.appliedSeq), condition merging by Kubernetes conventions, patch building, caps. */
#include "../../consumers/status/st_table.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void upd(struct st_update *u, const char *name, const char *source, int64_t seq,
		const char *status_json, const char *conds_json, int64_t gen)
{
	st_update_init(u);
	snprintf(u->cluster, sizeof(u->cluster), "c1");
	snprintf(u->ns, sizeof(u->ns), "default");
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->source, sizeof(u->source), "%s", source);
	u->seq = seq;
	u->observed_generation = gen;
	if (status_json) {
		cJSON *st = cJSON_Parse(status_json);

		assert_non_null(st);
		for (int f = 0; f < ST_F_NFIELDS; f++) {
			cJSON *v = cJSON_DetachItemFromObject(st, st_field_names[f]);

			u->fields[f] = v;
		}
		cJSON_Delete(st);
	}
	if (conds_json) {
		u->conditions = cJSON_Parse(conds_json);
		assert_non_null(u->conditions);
	}
}

static void add(struct st_table *t, const char *name, const char *source, int64_t seq,
		const char *status_json, const char *conds_json, int64_t gen, int64_t offset,
		size_t want_stale)
{
	struct st_update u;
	size_t stale;

	upd(&u, name, source, seq, status_json, conds_json, gen);
	assert_int_equal(st_table_add(t, &u, 0, offset, 1000, &stale), 0);
	assert_int_equal(stale, want_stale);
	st_update_release(&u);
}

static struct st_wk *loaded(struct st_table *t, const char *name, const char *obj_json)
{
	struct st_wk *w = st_table_get(t, "default", name, true);
	cJSON *o = cJSON_Parse(obj_json);

	assert_non_null(o);
	st_wk_load(w, o);
	cJSON_Delete(o);
	return w;
}

static cJSON *build(struct st_wk *w, struct st_build_stats *bs)
{
	char *p = st_wk_build_patch(w, 1763773200000LL /* 2025-11-22T01:00:00Z */, bs);
	cJSON *o;

	if (!p)
		return NULL;
	o = cJSON_Parse(p);
	free(p);
	assert_non_null(o);
	return o;
}

static const cJSON *path(const cJSON *o, const char *a, const char *b, const char *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (c)
		v = cJSON_GetObjectItemCaseSensitive(v, c);
	return v;
}

static void coalesces_latest_per_field(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"10\"},\"status\":{}}");
	add(t, "wk-1", "mig", 100,
	    "{\"migrationStatus\":{\"phase\":\"Pending\",\"message\":\"a\"}}", NULL, -1, 1, 0);
	add(t, "wk-1", "mig", 101,
	    "{\"migrationStatus\":{\"phase\":\"Queued\",\"queuePosition\":3}}", NULL, -1, 2, 0);
	add(t, "wk-1", "mig", 102,
	    "{\"migrationStatus\":{\"phase\":\"Migrating\",\"queuePosition\":null}}", NULL, -1, 3,
	    0);
	assert_int_equal(w->noffs, 3);
	assert_int_equal(w->updates, 3);
	assert_int_equal(w->npend, 1); /* three messages, one pending key */
	p = build(w, &bs);
	assert_non_null(p);
	assert_int_equal(bs.applied, 1);
	assert_string_equal(path(p, "status", "migrationStatus", "phase")->valuestring,
			    "Migrating");
	assert_string_equal(path(p, "status", "migrationStatus", "message")->valuestring, "a");
	assert_true(cJSON_IsNull(path(p, "status", "migrationStatus", "queuePosition")));
	assert_string_equal(path(p, "metadata", "resourceVersion", NULL)->valuestring, "10");
	assert_int_equal(
	    (int64_t)path(p, "status", "appliedSeq", "migrationStatus/mig")->valuedouble, 102);
	assert_null(path(p, "status", "conditions", NULL)); /* untouched: not in the patch */
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void stale_by_seq_not_arrival(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"10\"},\"status\":{}}");
	add(t, "wk-1", "mig", 200, "{\"migrationStatus\":{\"phase\":\"Succeeded\"}}", NULL, -1, 1,
	    0);
	/* an older update arriving later is dropped, not applied over the newer one */
	add(t, "wk-1", "mig", 150, "{\"migrationStatus\":{\"phase\":\"Migrating\"}}", NULL, -1, 2,
	    1);
	add(t, "wk-1", "mig", 200, "{\"migrationStatus\":{\"phase\":\"Pending\"}}", NULL, -1, 3, 1);
	assert_int_equal(w->noffs, 3); /* still acknowledged with the write */
	p = build(w, &bs);
	assert_string_equal(path(p, "status", "migrationStatus", "phase")->valuestring,
			    "Succeeded");
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void restart_uses_applied_seq(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	/* a fresh writer: what an earlier instance applied is on the object */
	w = loaded(t, "wk-1",
		   "{\"metadata\":{\"resourceVersion\":\"20\"},\"status\":{\"migrationStatus\":"
		   "{\"phase\":\"Succeeded\",\"progress\":100},\"appliedSeq\":"
		   "{\"migrationStatus/mig\":300,\"migrationStatus/progress\":310}}}");
	/* the uncommitted tail is replayed: all older or equal */
	add(t, "wk-1", "mig", 290, "{\"migrationStatus\":{\"phase\":\"Migrating\"}}", NULL, -1, 5,
	    0);
	add(t, "wk-1", "mig", 300, "{\"migrationStatus\":{\"phase\":\"Succeeded\"}}", NULL, -1, 6,
	    0);
	add(t, "wk-1", "progress", 305, "{\"migrationStatus\":{\"progress\":90}}", NULL, -1, 7, 0);
	p = build(w, &bs);
	assert_null(p); /* nothing newer: no write at all */
	assert_int_equal(bs.stale, 2);
	assert_int_equal(bs.applied, 0);
	/* a genuinely newer one from one source goes through, the other source's stale one not */
	add(t, "wk-1", "progress", 311, "{\"migrationStatus\":{\"progress\":100}}", NULL, -1, 8, 0);
	p = build(w, &bs);
	assert_non_null(p);
	assert_int_equal(bs.applied, 1);
	assert_int_equal(bs.stale, 1);
	assert_null(path(p, "status", "migrationStatus", "phase"));
	assert_int_equal(path(p, "status", "migrationStatus", "progress")->valueint, 100);
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void sources_compose_in_arrival_order(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	/* different senders' clocks are not comparable: each source has its own seq */
	add(t, "wk-1", "progress", 5000, "{\"migrationStatus\":{\"progress\":40,\"etaSeconds\":9}}",
	    NULL, -1, 1, 0);
	add(t, "wk-1", "mig", 10, "{\"migrationStatus\":{\"phase\":\"Migrating\",\"progress\":0}}",
	    NULL, -1, 2, 0);
	add(t, "wk-1", "progress", 5001, "{\"migrationStatus\":{\"progress\":55}}", NULL, -1, 3, 0);
	p = build(w, &bs);
	assert_int_equal(bs.applied, 2);
	/* progress's newest update arrived last, so its progress wins; mig's phase stays */
	assert_int_equal(path(p, "status", "migrationStatus", "progress")->valueint, 55);
	assert_int_equal(path(p, "status", "migrationStatus", "etaSeconds")->valueint, 9);
	assert_string_equal(path(p, "status", "migrationStatus", "phase")->valuestring,
			    "Migrating");
	assert_non_null(path(p, "status", "appliedSeq", "migrationStatus/mig"));
	assert_non_null(path(p, "status", "appliedSeq", "migrationStatus/progress"));
	cJSON_Delete(p);
	st_table_destroy(t);
}

/* downtimeSeconds passes through: a cold move's value reaches the patch, the progress service's
 * updates (which never carry it) leave it alone, and the next live migration's null clears it. */
static void downtime_passes_through(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	add(t, "wk-1", "mig", 10,
	    "{\"migrationStatus\":{\"phase\":\"Migrating\",\"mode\":\"Cold\","
	    "\"downtimeSeconds\":null}}",
	    NULL, -1, 1, 0);
	add(t, "wk-1", "progress", 5000, "{\"migrationStatus\":{\"progress\":40}}", NULL, -1, 2, 0);
	add(t, "wk-1", "mig", 11,
	    "{\"migrationStatus\":{\"phase\":\"Succeeded\",\"mode\":\"Cold\","
	    "\"downtimeSeconds\":6.5}}",
	    NULL, -1, 3, 0);
	p = build(w, &bs);
	assert_non_null(p);
	assert_true(path(p, "status", "migrationStatus", "downtimeSeconds")->valuedouble == 6.5);
	assert_int_equal(path(p, "status", "migrationStatus", "progress")->valueint, 40);
	cJSON_Delete(p);
	st_wk_clear_pending(w);
	add(t, "wk-1", "mig", 12,
	    "{\"migrationStatus\":{\"phase\":\"Migrating\",\"mode\":\"PreCopy\","
	    "\"downtimeSeconds\":null}}",
	    NULL, -1, 4, 0);
	p = build(w, &bs);
	assert_non_null(p);
	assert_true(cJSON_IsNull(path(p, "status", "migrationStatus", "downtimeSeconds")));
	cJSON_Delete(p);
	st_table_destroy(t);
}

/* The provisioner's keys (ST_F_TOP) land directly under /status, with seq key status/<source>. */
static void top_level_keys(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	add(t, "wk-1", "wukong-provisioner", 10,
	    "{\"status\":{\"phase\":\"Provisioning\",\"vmName\":\"wk-1-vm\","
	    "\"disks\":[{\"name\":\"system\",\"progress\":\"45.00%\"}]}}",
	    NULL, -1, 1, 0);
	add(t, "wk-1", "wukong-provisioner", 11,
	    "{\"status\":{\"phase\":\"Running\",\"nodeName\":\"node-1\"}}", NULL, -1, 2, 0);
	add(t, "wk-1", "wukong-provisioner", 9, "{\"status\":{\"phase\":\"Pending\"}}", NULL, -1,
	    3, 1);
	p = build(w, &bs);
	assert_non_null(p);
	assert_string_equal(path(p, "status", "phase", NULL)->valuestring, "Running");
	assert_string_equal(path(p, "status", "nodeName", NULL)->valuestring, "node-1");
	assert_string_equal(path(p, "status", "vmName", NULL)->valuestring, "wk-1-vm");
	assert_true(cJSON_IsArray(path(p, "status", "disks", NULL)));
	assert_null(path(p, "status", "status", NULL));
	assert_int_equal(path(p, "status", "appliedSeq", "status/wukong-provisioner")->valueint, 11);
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void conditions_merge(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	const cJSON *c;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1",
		   "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{\"conditions\":["
		   "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
		   "\"2025-01-01T00:00:00Z\"},"
		   "{\"type\":\"Migrating\",\"status\":\"True\",\"reason\":\"Queued\","
		   "\"lastTransitionTime\":\"2025-06-01T00:00:00Z\"}]}}");
	/* same status: reason/message change, lastTransitionTime stays */
	add(t, "wk-1", "mig", 1, NULL,
	    "[{\"type\":\"Migrating\",\"status\":\"True\",\"reason\":\"Running\","
	    "\"message\":\"moving\",\"lastTransitionTime\":\"2025-07-01T00:00:00Z\","
	    "\"observedGeneration\":4}]",
	    -1, 1, 0);
	p = build(w, &bs);
	c = cJSON_GetArrayItem(path(p, "status", "conditions", NULL), 1);
	assert_int_equal(cJSON_GetArraySize(path(p, "status", "conditions", NULL)), 2);
	assert_string_equal(path(c, "reason", NULL, NULL)->valuestring, "Running");
	assert_string_equal(path(c, "lastTransitionTime", NULL, NULL)->valuestring,
			    "2025-06-01T00:00:00Z");
	assert_int_equal(path(c, "observedGeneration", NULL, NULL)->valueint, 4);
	/* someone else's condition is kept as it was */
	c = cJSON_GetArrayItem(path(p, "status", "conditions", NULL), 0);
	assert_string_equal(path(c, "type", NULL, NULL)->valuestring, "Ready");
	cJSON_Delete(p);
	st_wk_clear_pending(w);

	/* status changes: the update's time, or now when it has none; new types are appended */
	add(t, "wk-1", "mig", 2, NULL,
	    "[{\"type\":\"Migrating\",\"status\":\"False\",\"reason\":\"Succeeded\"},"
	    "{\"type\":\"NotConverging\",\"status\":\"False\","
	    "\"lastTransitionTime\":\"2025-08-01T00:00:00Z\"}]",
	    -1, 2, 0);
	p = build(w, &bs);
	assert_int_equal(bs.conditions, 2);
	c = cJSON_GetArrayItem(path(p, "status", "conditions", NULL), 1);
	assert_string_equal(path(c, "status", NULL, NULL)->valuestring, "False");
	assert_string_equal(path(c, "lastTransitionTime", NULL, NULL)->valuestring,
			    "2025-11-22T01:00:00Z");
	c = cJSON_GetArrayItem(path(p, "status", "conditions", NULL), 2);
	assert_string_equal(path(c, "lastTransitionTime", NULL, NULL)->valuestring,
			    "2025-08-01T00:00:00Z");
	assert_non_null(path(p, "status", "appliedSeq", "conditions/NotConverging/mig"));
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void condition_unchanged_is_no_array_write(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(t, "wk-1",
		   "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{\"conditions\":["
		   "{\"type\":\"A\",\"status\":\"True\",\"reason\":\"R\",\"lastTransitionTime\":"
		   "\"2025-01-01T00:00:00Z\"}]}}");
	add(t, "wk-1", "mig", 1, NULL, "[{\"type\":\"A\",\"status\":\"True\",\"reason\":\"R\"}]",
	    -1, 1, 0);
	p = build(w, &bs);
	/* the seq is still recorded, but the array is not rewritten */
	assert_int_equal(bs.conditions, 0);
	assert_null(path(p, "status", "conditions", NULL));
	assert_non_null(path(p, "status", "appliedSeq", "conditions/A/mig"));
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void observed_generation_only_rises(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *p;

	(void)state;
	w = loaded(
	    t, "wk-1",
	    "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{\"observedGeneration\":5}}");
	add(t, "wk-1", "mig", 1, NULL, NULL, 3, 1, 0);
	p = build(w, &bs);
	assert_null(path(p, "status", "observedGeneration", NULL));
	cJSON_Delete(p);
	st_wk_clear_pending(w);
	add(t, "wk-1", "mig", 2, NULL, NULL, 7, 2, 0);
	p = build(w, &bs);
	assert_int_equal(path(p, "status", "observedGeneration", NULL)->valueint, 7);
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void compose_semantics(void **state)
{
	cJSON *a = cJSON_Parse("{\"x\":1,\"o\":{\"a\":1,\"b\":2},\"n\":null,\"arr\":[1]}");
	cJSON *b =
	    cJSON_Parse("{\"x\":null,\"o\":{\"b\":3,\"c\":{\"d\":1}},\"n\":4,\"arr\":[2,3]}");
	char *s;

	(void)state;
	st_merge_compose(a, b);
	s = cJSON_PrintUnformatted(a);
	assert_string_equal(s, "{\"x\":null,\"o\":{\"a\":1,\"b\":3,\"c\":{\"d\":1}},\"n\":4,"
			       "\"arr\":[2,3]}");
	free(s);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void applied_seq_cap(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *obj = cJSON_Parse("{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	cJSON *seqs = cJSON_AddObjectToObject(cJSON_GetObjectItem(obj, "status"), "appliedSeq");
	char k[64];
	cJSON *p;

	(void)state;
	for (int i = 0; i < ST_APPLIED_MAX; i++) {
		snprintf(k, sizeof(k), "conditions/T%d/x", i);
		cJSON_AddNumberToObject(seqs, k, 100 + i);
	}
	w = st_table_get(t, "default", "wk-1", true);
	st_wk_load(w, obj);
	cJSON_Delete(obj);
	add(t, "wk-1", "mig", 1, "{\"migrationStatus\":{\"phase\":\"A\"}}", NULL, -1, 1, 0);
	p = build(w, &bs);
	/* the oldest untouched key makes room */
	assert_true(cJSON_IsNull(path(p, "status", "appliedSeq", "conditions/T0/x")));
	assert_null(path(p, "status", "appliedSeq", "conditions/T1/x"));
	cJSON_Delete(p);
	st_table_destroy(t);
}

static void pending_cap_and_queue(void **state)
{
	struct st_table *t = st_table_new();
	struct st_update u;
	size_t stale;
	char c[64];
	struct st_wk *w;

	(void)state;
	for (int i = 0; i < ST_PENDING_MAX; i++) {
		snprintf(c, sizeof(c), "[{\"type\":\"T%d\",\"status\":\"True\"}]", i);
		add(t, "wk-1", "mig", i + 1, NULL, c, -1, i, 0);
	}
	upd(&u, "wk-1", "mig", 1000, NULL, "[{\"type\":\"Extra\",\"status\":\"True\"}]", -1);
	assert_int_equal(st_table_add(t, &u, 0, 99, 1000, &stale), -1);
	st_update_release(&u);
	/* a known key still coalesces */
	add(t, "wk-1", "mig", 1001, NULL, "[{\"type\":\"T0\",\"status\":\"False\"}]", -1, 100, 0);

	add(t, "wk-2", "mig", 1, NULL, NULL, 1, 1, 0);
	assert_int_equal(st_table_dirty_count(t), 2);
	w = st_table_first_dirty(t);
	assert_string_equal(w->name, "wk-1");
	st_table_requeue(t, w);
	assert_string_equal(st_table_first_dirty(t)->name, "wk-2");
	st_wk_clear_pending(w);
	st_wk_clear_offsets(w);
	st_table_requeue(t, w);
	assert_int_equal(st_table_dirty_count(t), 1);
	assert_int_equal(st_table_count(t), 2);
	/* trim frees clean entries only */
	assert_int_equal(st_table_trim(t, 0), 1);
	assert_int_equal(st_table_count(t), 1);
	assert_null(st_table_get(t, "default", "wk-1", false));
	assert_non_null(st_table_get(t, "default", "wk-2", false));
	st_table_remove(t, st_table_get(t, "default", "wk-2", false));
	assert_int_equal(st_table_count(t), 0);
	assert_int_equal(st_table_dirty_count(t), 0);
	st_table_destroy(t);
}

static void applied_seqs_survive_a_pruning_api(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	char *patch;

	(void)state;
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	add(t, "wk-1", "mig", 50, "{\"migrationStatus\":{\"phase\":\"A\"}}", NULL, -1, 1, 0);
	patch = st_wk_build_patch(w, 0, &bs);
	assert_non_null(patch);
	/* the response does not show appliedSeq (the CRD pruned it) */
	w = loaded(t, "wk-1",
		   "{\"metadata\":{\"resourceVersion\":\"2\"},\"status\":{\"migrationStatus\":"
		   "{\"phase\":\"A\"}}}");
	st_wk_note_applied(w, patch);
	free(patch);
	st_wk_clear_pending(w);
	/* a conflict: read again; what was written stays known */
	st_wk_forget_state(w);
	w = loaded(t, "wk-1", "{\"metadata\":{\"resourceVersion\":\"3\"},\"status\":{}}");
	add(t, "wk-1", "mig", 40, "{\"migrationStatus\":{\"phase\":\"OLD\"}}", NULL, -1, 2, 0);
	assert_null(st_wk_build_patch(w, 0, &bs));
	assert_int_equal(bs.stale, 1);
	/* the object's larger value wins over the remembered one */
	st_wk_clear_pending(w);
	w = loaded(t, "wk-1",
		   "{\"metadata\":{\"resourceVersion\":\"4\"},\"status\":{\"appliedSeq\":"
		   "{\"migrationStatus/mig\":70}}}");
	add(t, "wk-1", "mig", 60, "{\"migrationStatus\":{\"phase\":\"OLD\"}}", NULL, -1, 3, 0);
	assert_null(st_wk_build_patch(w, 0, &bs));
	st_table_destroy(t);
}

static void no_state_no_patch(void **state)
{
	struct st_table *t = st_table_new();
	struct st_build_stats bs;

	(void)state;
	add(t, "wk-1", "mig", 1, NULL, NULL, 1, 1, 0);
	assert_null(st_wk_build_patch(st_table_get(t, "default", "wk-1", false), 0, &bs));
	st_table_destroy(t);
}

/* RFC 7386 apply, as the API server does with the patch. */
static void apply(cJSON *target, const cJSON *patch)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, patch)
	{
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, v->string);

		if (cJSON_IsNull(v)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, v->string);
		} else if (cJSON_IsObject(v)) {
			if (!cJSON_IsObject(cur)) {
				cJSON_DeleteItemFromObjectCaseSensitive(target, v->string);
				cur = cJSON_AddObjectToObject(target, v->string);
			}
			apply(cur, v);
		} else if (cur) {
			cJSON_ReplaceItemViaPointer(target, cur, cJSON_Duplicate(v, true));
		} else {
			cJSON_AddItemToObject(target, v->string, cJSON_Duplicate(v, true));
		}
	}
}

static void same_json(const cJSON *got, const char *want)
{
	cJSON *w = cJSON_Parse(want);

	assert_non_null(w);
	if (!cJSON_Compare(got, w, true)) {
		char *g = cJSON_PrintUnformatted(got);

		fprintf(stderr, "got  %s\nwant %s\n", g, want);
		free(g);
		fail();
	}
	cJSON_Delete(w);
}

/* Status hygiene (issue 25): a Wukong migrated, then given a request that is rejected, shows
 * only the rejected request's fields as current (no completedAt, bytes or 100 % of the previous
 * migration) and the previous migration whole under lastMigrationStatus; numbers without a
 * requestId (the progress aggregator's) still merge into the current request. */
static void new_request_replaces_previous(void **state)
{
	static const char done[] =
	    "{\"requestId\":\"r1\",\"phase\":\"Succeeded\",\"progress\":100,\"sourceNode\":\"n1\","
	    "\"targetNode\":\"n2\",\"completedAt\":\"2026-12-08T00:00:00Z\","
	    "\"dataProcessedBytes\":4096,\"transferRateBytesPerSecond\":1024,\"mode\":\"PreCopy\"}";
	char obj[1024];
	struct st_table *t = st_table_new();
	struct st_build_stats bs;
	struct st_wk *w;
	cJSON *o, *p;

	(void)state;
	snprintf(obj, sizeof(obj),
		 "{\"metadata\":{\"resourceVersion\":\"7\"},\"status\":{\"migrationStatus\":%s,"
		 "\"lastMigrationStatus\":{\"requestId\":\"r0\",\"phase\":\"Failed\","
		 "\"message\":\"old\"}}}",
		 done);
	o = cJSON_Parse(obj);
	w = loaded(t, "wk-h", obj);
	add(t, "wk-h", "wukong-migrator", 200,
	    "{\"migrationStatus\":{\"requestId\":\"r2\",\"phase\":\"Rejected\","
	    "\"message\":\"not live-migratable\"}}",
	    NULL, -1, 1, 0);
	p = build(w, &bs);
	assert_non_null(p);
	apply(o, p);
	same_json(path(o, "status", "migrationStatus", NULL),
		  "{\"requestId\":\"r2\",\"phase\":\"Rejected\",\"message\":\"not live-migratable\"}");
	same_json(path(o, "status", "lastMigrationStatus", NULL), done);
	cJSON_Delete(p);
	st_wk_clear_pending(w);
	st_wk_note_applied(w, "{}");
	/* the same request goes on: merged, last untouched */
	st_wk_load(w, o);
	add(t, "wk-h", "wukong-progress", 5, "{\"migrationStatus\":{\"etaSeconds\":3}}", NULL, -1, 2,
	    0);
	add(t, "wk-h", "wukong-migrator", 201,
	    "{\"migrationStatus\":{\"requestId\":\"r2\",\"message\":\"still\"}}", NULL, -1, 3, 0);
	p = build(w, &bs);
	assert_null(path(p, "status", "lastMigrationStatus", NULL));
	apply(o, p);
	same_json(path(o, "status", "migrationStatus", NULL),
		  "{\"requestId\":\"r2\",\"phase\":\"Rejected\",\"message\":\"still\","
		  "\"etaSeconds\":3}");
	cJSON_Delete(p);
	st_wk_clear_pending(w);
	/* within one batch, r3 then r4 from the migrator: r3 is replaced before it was ever
	 * written, so the object's previous request (r2) becomes last and nothing of r3 or r2 is
	 * current */
	st_wk_load(w, o);
	add(t, "wk-h", "wukong-migrator", 300,
	    "{\"migrationStatus\":{\"requestId\":\"r3\",\"phase\":\"Migrating\",\"progress\":40}}",
	    NULL, -1, 4, 0);
	add(t, "wk-h", "wukong-migrator", 301,
	    "{\"migrationStatus\":{\"requestId\":\"r4\",\"phase\":\"Pending\"}}", NULL, -1, 6, 0);
	p = build(w, &bs);
	apply(o, p);
	same_json(path(o, "status", "migrationStatus", NULL),
		  "{\"requestId\":\"r4\",\"phase\":\"Pending\"}");
	assert_string_equal(path(o, "status", "lastMigrationStatus", "requestId")->valuestring, "r2");
	assert_null(path(o, "status", "lastMigrationStatus", "completedAt"));
	cJSON_Delete(p);
	cJSON_Delete(o);
	st_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(coalesces_latest_per_field),
	    cmocka_unit_test(stale_by_seq_not_arrival),
	    cmocka_unit_test(restart_uses_applied_seq),
	    cmocka_unit_test(sources_compose_in_arrival_order),
	    cmocka_unit_test(downtime_passes_through),
	    cmocka_unit_test(top_level_keys),
	    cmocka_unit_test(conditions_merge),
	    cmocka_unit_test(condition_unchanged_is_no_array_write),
	    cmocka_unit_test(observed_generation_only_rises),
	    cmocka_unit_test(compose_semantics),
	    cmocka_unit_test(applied_seq_cap),
	    cmocka_unit_test(pending_cap_and_queue),
	    cmocka_unit_test(applied_seqs_survive_a_pruning_api),
	    cmocka_unit_test(no_state_no_patch),
	    cmocka_unit_test(new_request_replaces_previous),
	};
	return cmocka_run_group_tests_name("st_table", tests, NULL, NULL);
}
