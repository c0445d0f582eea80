/* test_st_compaction.c - issue 22 fault 10: wukong.status is a compacted topic, so after an outage
 * of the status writer longer than the compaction lag it reads only the newest message of each
 * key. The Wukong's status written from the compacted topic must equal the one written from every
 * message. The keys are the senders' (wk_emit_status_key); the same history under the keys used
 * before (cluster/namespace/VM for every sender) loses the final migration phase. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_output.h"
#include "wk_emit.h"
#include "../../consumers/status/st_table.h"
#include "../../consumers/status/st_update.h"

#include <cjson/cJSON.h>

#define NOW_MS 1763773200000LL /* 2025-11-22T01:00:00Z: every body built at the same time */

struct msg {
	char key[600];
	char *body;
};

struct history {
	struct msg m[32];
	size_t n;
};

static void push(struct history *h, const char *legacy_key, char *body, bool legacy)
{
	struct msg *m = &h->m[h->n++];

	assert_true(h->n <= WK_ARRAY_SIZE(h->m));
	m->body = body;
	if (legacy)
		snprintf(m->key, sizeof(m->key), "%s", legacy_key);
	else
		assert_int_equal(wk_emit_status_key(body, strlen(body), m->key, sizeof(m->key)), 0);
}

static void req(struct mig_request *r, const char *id)
{
	memset(r, 0, sizeof(*r));
	mig_options_init(&r->opt);
	snprintf(r->id, sizeof(r->id), "%s", id);
	strcpy(r->cluster, "local");
	strcpy(r->ns, "default");
	strcpy(r->name, "web-1");
	strcpy(r->vm, "web-1-vm");
	strcpy(r->target_node, "node-2");
	r->source = MIG_SRC_KAFKA;
}

static char *migrator(const struct mig_request *r, enum mig_phase ph, int64_t seq,
		      const char *cond_only)
{
	struct mig_status s;

	memset(&s, 0, sizeof(s));
	s.req = r;
	s.phase = ph;
	s.seq = seq;
	s.source_node = "node-1";
	s.target_node = "node-2";
	s.started_ms = ph >= MIG_PH_MIGRATING ? NOW_MS - 5000 : 0;
	s.completed_ms = ph == MIG_PH_SUCCEEDED ? NOW_MS : 0;
	s.message = cond_only ? "another request is in flight" : mig_phase_name(ph);
	if (cond_only) {
		s.condition_only = true;
		s.condition_type = cond_only;
		s.reason = "MigrationInProgress";
	}
	return mig_status_json(&s, NOW_MS);
}

static char *other(const char *source, const char *field, const char *fields_json, int64_t seq,
		   const char *cond)
{
	cJSON *f = cJSON_Parse(fields_json);
	struct wk_emit_condition c = {.type = cond, .status = "True", .reason = "Ready"};
	struct wk_emit_status e = {
	    .cluster = "local",
	    .ns = "default",
	    .name = "web-1",
	    .source = source,
	    .seq = seq,
	    .field = field,
	    .fields = f,
	    .conditions = cond ? &c : NULL,
	    .nconditions = cond ? 1 : 0,
	};
	char *out;

	assert_non_null(f);
	out = wk_emit_status_json(&e, NOW_MS);
	cJSON_Delete(f);
	return out;
}

/* One migration of web-1 as the senders report it, with the keys they use (or used). */
static void build_history(struct history *h, struct mig_request *r1, struct mig_request *r2,
			  bool legacy)
{
	const char *vmkey = "local/default/web-1-vm"; /* every sender's key before the fix */

	req(r1, "req-1");
	req(r2, "req-2");
	h->n = 0;
	push(h, vmkey, migrator(r1, MIG_PH_PENDING, 1, NULL), legacy);
	push(h, vmkey, migrator(r1, MIG_PH_MIGRATING, 2, NULL), legacy);
	push(h, vmkey,
	     other("wukong-progress", "migrationStatus", "{\"progress\":40,\"etaSeconds\":3}", 3,
		   NULL),
	     legacy);
	/* a second request while the first is in flight: a condition-only refusal */
	push(h, vmkey, migrator(r2, MIG_PH_PENDING, 4, "MigrationRequestRejected"), legacy);
	push(h, vmkey,
	     other("wukong-progress", "migrationStatus", "{\"progress\":90,\"etaSeconds\":1}", 5,
		   NULL),
	     legacy);
	push(h, vmkey, migrator(r1, MIG_PH_SUCCEEDED, 6, NULL), legacy);
	push(h, vmkey,
	     other("wukong-progress", "migrationStatus", "{\"progress\":100,\"etaSeconds\":0}", 7,
		   NULL),
	     legacy);
	/* the provisioner reports the VM on its new node (top-level status and Ready) */
	push(h, vmkey,
	     other("wukong-provisioner", NULL, "{\"phase\":\"Running\",\"nodeName\":\"node-2\"}", 8,
		   "Ready"),
	     legacy);
}

/* Kafka's log compaction: the newest message of each key, in offset order. */
static size_t compact(const struct history *h, size_t *keep)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++) {
		bool newer = false;

		for (size_t j = i + 1; j < h->n && !newer; j++)
			newer = !strcmp(h->m[i].key, h->m[j].key);
		if (!newer)
			keep[n++] = i;
	}
	return n;
}

/* What the status writer writes for these messages onto a Wukong with an empty status: the
 * status object of its merge patch. */
static cJSON *written(const struct history *h, const size_t *idx, size_t n)
{
	struct st_table *t = st_table_new();
	struct st_wk *w = st_table_get(t, "default", "web-1", true);
	cJSON *obj = cJSON_Parse("{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{}}");
	struct st_build_stats bs;
	char err[256], *patch;
	cJSON *p, *st;

	st_wk_load(w, obj);
	cJSON_Delete(obj);
	for (size_t i = 0; i < n; i++) {
		const char *b = h->m[idx[i]].body;
		struct st_update u;
		size_t stale;

		st_update_init(&u);
		assert_int_equal(st_update_parse(&u, b, strlen(b), err, sizeof(err)), 0);
		assert_int_equal(st_table_add(t, &u, 0, (int64_t)idx[i], 1000, &stale), 0);
		st_update_release(&u);
	}
	patch = st_wk_build_patch(w, NOW_MS, &bs);
	assert_non_null(patch);
	p = cJSON_Parse(patch);
	free(patch);
	st = cJSON_DetachItemFromObject(p, "status");
	cJSON_Delete(p);
	st_table_destroy(t);
	return st;
}

static bool same_after_compaction(bool legacy)
{
	struct history h;
	struct mig_request r1, r2;
	size_t all[32], keep[32], nk;
	cJSON *full, *comp;
	bool same;

	build_history(&h, &r1, &r2, legacy);
	for (size_t i = 0; i < h.n; i++)
		all[i] = i;
	nk = compact(&h, keep);
	assert_true(nk < h.n); /* compaction removed something */
	full = written(&h, all, h.n);
	comp = written(&h, keep, nk);
	same = cJSON_Compare(full, comp, true);
	if (!legacy && !same) {
		char *a = cJSON_Print(full), *b = cJSON_Print(comp);

		print_error("every message:\n%s\ncompacted:\n%s\n", a, b);
		free(a);
		free(b);
	}
	if (!legacy) {
		/* and it is the outcome: the final phase, the progress, the refusal, Ready */
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(comp, "migrationStatus");

		assert_string_equal(cJSON_GetObjectItemCaseSensitive(ms, "phase")->valuestring,
				    "Succeeded");
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(ms, "progress")->valueint, 100);
		assert_int_equal(
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(comp, "conditions")), 3);
	}
	cJSON_Delete(full);
	cJSON_Delete(comp);
	for (size_t i = 0; i < h.n; i++)
		free(h.m[i].body);
	return same;
}

static void compaction_keeps_every_latest_value(void **state)
{
	(void)state;
	assert_true(same_after_compaction(false));
}

/* The regression: under the keys used before, compaction keeps only the provisioner's last
 * message and the migration's final phase is gone. */
static void legacy_keys_lose_the_final_phase(void **state)
{
	(void)state;
	assert_false(same_after_compaction(true));
}

static void key_shapes(void **state)
{
	char k[600];
	const char *b1 = "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"w\",\"source\":\"s\","
			 "\"seq\":1,\"status\":{\"migrationStatus\":{},\"phase\":\"x\","
			 "\"nodeName\":\"y\"},\"conditions\":[{\"type\":\"B\"},{\"type\":\"A\"}]}";
	char big[8192];
	size_t n;

	(void)state;
	assert_int_equal(wk_emit_status_key(b1, strlen(b1), k, sizeof(k)), 0);
	assert_string_equal(k, "c/n/w/s/conditions/A,conditions/B,migrationStatus,status");
	/* the same seq keys in another order: the same key */
	b1 = "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"w\",\"source\":\"s\",\"seq\":2,"
	     "\"conditions\":[{\"type\":\"A\"},{\"type\":\"B\"}],\"status\":{\"nodeName\":\"z\","
	     "\"migrationStatus\":{\"phase\":\"p\"}}}";
	assert_int_equal(wk_emit_status_key(b1, strlen(b1), k, sizeof(k)), 0);
	assert_string_equal(k, "c/n/w/s/conditions/A,conditions/B,migrationStatus,status");
	b1 = "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"w\",\"source\":\"s\",\"seq\":2}";
	assert_int_equal(wk_emit_status_key(b1, strlen(b1), k, sizeof(k)), 0);
	assert_string_equal(k, "c/n/w/s/-");
	/* many condition types: a hash of the shape, bounded */
	n = (size_t)snprintf(big, sizeof(big),
			     "{\"cluster\":\"c\",\"namespace\":\"n\","
			     "\"name\":\"w\",\"source\":\"s\",\"conditions\":[");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"type\":\"Condition%02d\"}",
				      i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	assert_int_equal(wk_emit_status_key(big, strlen(big), k, sizeof(k)), 0);
	assert_int_equal(strncmp(k, "c/n/w/s/h-", 10), 0);
	assert_int_equal(strlen(k), 10 + 40);
	/* not a status update */
	assert_int_equal(wk_emit_status_key("{}", 2, k, sizeof(k)), -1);
	assert_int_equal(wk_emit_status_key("garbage", 7, k, sizeof(k)), -1);
	b1 = "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"w\",\"source\":\"\"}";
	assert_int_equal(wk_emit_status_key(b1, strlen(b1), k, sizeof(k)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(compaction_keeps_every_latest_value),
	    cmocka_unit_test(legacy_keys_lose_the_final_phase),
	    cmocka_unit_test(key_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
