/* test_sim_store.c - the simulator's object store: create/update/conflict, generation, finalizers,
 * paging, watch history and 410 Expired, observers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_store.h"
#include "wk_buf.h"
#include "wk_resource.h"

static const struct sim_resource *wk(void)
{
	const struct sim_resource *r =
	    sim_resource_find("vm.novasphere.dev", "v1alpha1", "wukongs");

	assert_non_null(r);
	return r;
}

static cJSON *obj(const char *json)
{
	cJSON *o = cJSON_Parse(json);

	assert_non_null(o);
	return o;
}

static const char *mstr(const cJSON *o, const char *f)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), f);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int mint(const cJSON *o, const char *f)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), f);

	return cJSON_IsNumber(v) ? v->valueint : -1;
}

static void resource_table(void **state)
{
	(void)state;
	assert_null(sim_resource_find("vm.novasphere.dev", "v1", "wukongs"));
	assert_null(sim_resource_find(NULL, "v1", "nodes"));
	assert_string_equal(sim_resource_find("", "v1", "nodes")->kind, "Node");
	assert_false(sim_resource_find("", "v1", "nodes")->namespaced);
	assert_true(sim_resource_find("metrics.k8s.io", "v1beta1", "nodes")->read_only);
	assert_false(sim_resource_find("migrations.kubevirt.io", "v1alpha1", "migrationpolicies")
			 ->namespaced);
	assert_string_equal(sim_resource_by_kind("VirtualMachineInstanceMigration")->short_names,
			    "vmim,vmims");
	assert_null(sim_resource_by_kind("ReplicaSet"));
	assert_null(sim_resource_by_kind(NULL));
}

/* Every resource the product addresses (core's table) is served with the same group, version,
 * plural, kind and scope - the simulator's rows for them are built from that table - except pods,
 * which the simulator does not model. */
static void serves_the_product_table(void **state)
{
	const struct wk_k8s_resource *r;

	(void)state;
	for (size_t i = 0; (r = wk_resource_at(i)); i++) {
		const struct sim_resource *sr = sim_resource_find(r->group, r->version, r->plural);

		if (!strcmp(r->plural, "pods") && !r->group[0])
			continue;
		assert_non_null(sr);
		assert_string_equal(sr->kind, r->kind);
		assert_int_equal(sr->namespaced, r->namespaced);
	}
}

static void create_get(void **state)
{
	struct sim_store *st = sim_store_new(16);
	struct sim_err err;
	cJSON *out = NULL, *got;
	uint64_t rv0 = sim_store_rv(st);

	(void)state;
	assert_int_equal(
	    sim_store_create(st, wk(), "default",
			     obj("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"9\","
				 "\"uid\":\"x\"},\"spec\":{\"cpu\":2}}"),
			     &out, &err),
	    0);
	assert_string_equal(mstr(out, "namespace"), "default");
	assert_int_equal(mint(out, "generation"), 1);
	assert_non_null(mstr(out, "creationTimestamp"));
	assert_string_not_equal(mstr(out, "uid"), "x");
	assert_int_equal(strlen(mstr(out, "uid")), 36);
	assert_int_equal(strtoull(mstr(out, "resourceVersion"), NULL, 10), rv0 + 1);
	assert_string_equal(cJSON_GetObjectItem(out, "kind")->valuestring, "Wukong");
	assert_string_equal(cJSON_GetObjectItem(out, "apiVersion")->valuestring,
			    "vm.novasphere.dev/v1alpha1");
	got = sim_store_get(st, wk(), "default", "a");
	assert_true(sim_json_equal(got, out));
	assert_null(sim_store_get(st, wk(), "other", "a"));
	assert_null(sim_store_get(st, wk(), NULL, "a"));
	assert_null(sim_store_get(st, wk(), "default", NULL));
	cJSON_Delete(got);
	cJSON_Delete(out);

	/* AlreadyExists */
	assert_int_equal(sim_store_create(st, wk(), "default",
					  obj("{\"metadata\":{\"name\":\"a\"}}"), NULL, &err),
			 -1);
	assert_int_equal(err.code, 409);
	assert_string_equal(err.reason, "AlreadyExists");
	assert_string_equal(err.message, "wukongs.vm.novasphere.dev \"a\" already exists");
	/* neither name nor generateName */
	assert_int_equal(
	    sim_store_create(st, wk(), "default", obj("{\"metadata\":{}}"), NULL, &err), -1);
	assert_int_equal(err.code, 422);
	/* not an object */
	assert_int_equal(sim_store_create(st, wk(), "default", obj("[1]"), NULL, &err), -1);
	assert_int_equal(err.code, 400);
	/* generateName */
	assert_int_equal(sim_store_create(st, wk(), "default",
					  obj("{\"metadata\":{\"generateName\":\"g-\"}}"), &out,
					  &err),
			 0);
	assert_int_equal(strlen(mstr(out, "name")), 7);
	assert_memory_equal(mstr(out, "name"), "g-", 2);
	cJSON_Delete(out);
	assert_int_equal(sim_store_count(st, wk()), 2);
	sim_store_destroy(st);
	sim_store_destroy(NULL);
}

static void cluster_scoped(void **state)
{
	struct sim_store *st = sim_store_new(16);
	const struct sim_resource *nodes = sim_resource_find("", "v1", "nodes");
	struct sim_err err;
	cJSON *out;

	(void)state;
	assert_int_equal(sim_store_create(st, nodes, "ignored",
					  obj("{\"metadata\":{\"name\":\"n1\",\"namespace\":\"x\"},"
					      "\"status\":{\"phase\":\"Ready\"}}"),
					  &out, &err),
			 0);
	assert_null(mstr(out, "namespace"));
	/* the store keeps status on create; dropping it is the HTTP layer's business */
	assert_non_null(cJSON_GetObjectItem(out, "status"));
	cJSON_Delete(out);
	out = sim_store_get(st, nodes, NULL, "n1");
	assert_non_null(out);
	cJSON_Delete(out);
	out = sim_store_get(st, nodes, "whatever", "n1");
	assert_non_null(out);
	cJSON_Delete(out);
	sim_store_destroy(st);
}

static void update_generation_conflict(void **state)
{
	struct sim_store *st = sim_store_new(64);
	struct sim_err err;
	cJSON *out, *upd;
	char rv[32];

	(void)state;
	assert_int_equal(sim_store_create(st, wk(), "ns1",
					  obj("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"cpu\":2},"
					      "\"status\":{\"phase\":\"Running\"}}"),
					  &out, &err),
			 0);
	snprintf(rv, sizeof(rv), "%s", mstr(out, "resourceVersion"));

	/* main endpoint: spec change bumps generation, status in the body is ignored */
	upd = cJSON_Duplicate(out, true);
	cJSON_Delete(out);
	cJSON_GetObjectItem(cJSON_GetObjectItem(upd, "spec"), "cpu")->valuedouble = 4;
	cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(upd, "spec"), "cpu"), 4);
	cJSON_ReplaceItemInObject(upd, "status", obj("{\"phase\":\"Hacked\"}"));
	assert_int_equal(sim_store_update(st, wk(), "ns1", "a", upd, false, &out, &err), 0);
	assert_int_equal(mint(out, "generation"), 2);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(out, "status"), "phase")->valuestring,
	    "Running");
	assert_string_not_equal(mstr(out, "resourceVersion"), rv);

	/* stale resourceVersion: 409 Conflict */
	upd = obj("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"},\"spec\":{}}");
	assert_int_equal(sim_store_update(st, wk(), "ns1", "a", upd, false, NULL, &err), -1);
	assert_int_equal(err.code, 409);
	assert_string_equal(err.reason, "Conflict");
	assert_non_null(strstr(err.message, "Operation cannot be fulfilled on "
					    "wukongs.vm.novasphere.dev \"a\": the object has been "
					    "modified"));

	/* label-only change: new rv, no generation bump */
	snprintf(rv, sizeof(rv), "%s", mstr(out, "resourceVersion"));
	upd = cJSON_Duplicate(out, true);
	cJSON_AddItemToObject(cJSON_GetObjectItem(upd, "metadata"), "labels",
			      obj("{\"app\":\"x\"}"));
	cJSON_Delete(out);
	assert_int_equal(sim_store_update(st, wk(), "ns1", "a", upd, false, &out, &err), 0);
	assert_int_equal(mint(out, "generation"), 2);
	assert_string_not_equal(mstr(out, "resourceVersion"), rv);

	/* no-op update: same rv, no event */
	snprintf(rv, sizeof(rv), "%s", mstr(out, "resourceVersion"));
	upd = cJSON_Duplicate(out, true);
	cJSON_Delete(out);
	assert_int_equal(sim_store_update(st, wk(), "ns1", "a", upd, false, &out, &err), 0);
	assert_string_equal(mstr(out, "resourceVersion"), rv);
	cJSON_Delete(out);

	/* status-only: spec and labels in the body ignored, generation unchanged */
	upd = obj("{\"metadata\":{\"name\":\"a\",\"labels\":{}},\"spec\":{\"cpu\":99},"
		  "\"status\":{\"phase\":\"Migrating\"}}");
	assert_int_equal(sim_store_update(st, wk(), "ns1", "a", upd, true, &out, &err), 0);
	assert_int_equal(mint(out, "generation"), 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "spec"), "cpu")->valueint, 4);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "labels")->child->valuestring,
	    "x");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(out, "status"), "phase")->valuestring,
	    "Migrating");
	cJSON_Delete(out);

	/* missing object */
	assert_int_equal(sim_store_update(st, wk(), "ns1", "zz", obj("{}"), false, NULL, &err), -1);
	assert_int_equal(err.code, 404);
	assert_string_equal(err.message, "wukongs.vm.novasphere.dev \"zz\" not found");
	sim_store_destroy(st);
}

static void no_status_subresource(void **state)
{
	struct sim_store *st = sim_store_new(16);
	const struct sim_resource *lease = sim_resource_find("coordination.k8s.io", "v1", "leases");
	struct sim_err err;
	cJSON *out;

	(void)state;
	assert_int_equal(
	    sim_store_create(st, lease, "ns", obj("{\"metadata\":{\"name\":\"l\"}}"), NULL, &err),
	    0);
	assert_int_equal(
	    sim_store_update(st, lease, "ns", "l",
			     obj("{\"metadata\":{\"name\":\"l\"},\"status\":{\"x\":1}}"), false,
			     &out, &err),
	    0);
	/* without a status subresource, status is ordinary content and bumps generation */
	assert_int_equal(mint(out, "generation"), 2);
	assert_non_null(cJSON_GetObjectItem(out, "status"));
	cJSON_Delete(out);
	sim_store_destroy(st);
}

static void finalizers(void **state)
{
	struct sim_store *st = sim_store_new(64);
	struct sim_err err;
	cJSON *out, *upd;

	(void)state;
	assert_int_equal(
	    sim_store_create(st, wk(), "d",
			     obj("{\"metadata\":{\"name\":\"f\",\"finalizers\":[\"x/y\"]},"
				 "\"spec\":{}}"),
			     NULL, &err),
	    0);
	assert_int_equal(sim_store_delete(st, wk(), "d", "f", &out, &err), 0);
	assert_non_null(mstr(out, "deletionTimestamp"));
	assert_int_equal(mint(out, "generation"), 2);
	assert_int_equal(mint(out, "deletionGracePeriodSeconds"), 0);
	/* still there; deleting again returns the object unchanged */
	cJSON_Delete(out);
	assert_int_equal(sim_store_delete(st, wk(), "d", "f", &out, &err), 0);
	assert_int_equal(mint(out, "generation"), 2);
	assert_int_equal(sim_store_count(st, wk()), 1);

	/* no new finalizers while deleting */
	upd = cJSON_Duplicate(out, true);
	cJSON_AddItemToArray(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(upd, "metadata"), "finalizers"),
	    cJSON_CreateString("new/one"));
	assert_int_equal(sim_store_update(st, wk(), "d", "f", upd, false, NULL, &err), -1);
	assert_int_equal(err.code, 422);
	assert_non_null(strstr(err.message, "no new finalizers can be added"));

	/* deletionTimestamp cannot be cleared by a client */
	upd = cJSON_Duplicate(out, true);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(upd, "metadata"), "deletionTimestamp");
	assert_int_equal(sim_store_update(st, wk(), "d", "f", upd, false, NULL, &err), 0);
	cJSON *g = sim_store_get(st, wk(), "d", "f");
	assert_non_null(mstr(g, "deletionTimestamp"));
	cJSON_Delete(g);

	/* removing the last finalizer deletes the object */
	upd = cJSON_Duplicate(out, true);
	cJSON_Delete(out);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(upd, "metadata"), "finalizers",
				  cJSON_CreateArray());
	assert_int_equal(sim_store_update(st, wk(), "d", "f", upd, false, &out, &err), 0);
	cJSON_Delete(out);
	assert_int_equal(sim_store_count(st, wk()), 0);
	assert_null(sim_store_get(st, wk(), "d", "f"));
	assert_int_equal(sim_store_delete(st, wk(), "d", "f", NULL, &err), -1);
	assert_int_equal(err.code, 404);
	sim_store_destroy(st);
}

static int set_phase(cJSON *o, void *opaque, struct sim_err *err)
{
	const char *phase = opaque;
	cJSON *s = cJSON_GetObjectItem(o, "status");

	if (!strcmp(phase, "fail")) {
		err->code = 500;
		return -1;
	}
	if (!s)
		s = cJSON_AddObjectToObject(o, "status");
	if (cJSON_GetObjectItem(s, "phase") &&
	    !strcmp(cJSON_GetObjectItem(s, "phase")->valuestring, phase))
		return 1;
	cJSON_DeleteItemFromObject(s, "phase");
	cJSON_AddStringToObject(s, "phase", phase);
	return 0;
}

static void mutate(void **state)
{
	struct sim_store *st = sim_store_new(16);
	struct sim_err err;
	cJSON *out;
	uint64_t rv;

	(void)state;
	assert_int_equal(
	    sim_store_create(st, wk(), "d", obj("{\"metadata\":{\"name\":\"m\"}}"), NULL, &err), 0);
	assert_int_equal(
	    sim_store_mutate(st, wk(), "d", "m", set_phase, (void *)"Running", &out, &err), 0);
	assert_int_equal(mint(out, "generation"), 1);
	cJSON_Delete(out);
	rv = sim_store_rv(st);
	assert_int_equal(
	    sim_store_mutate(st, wk(), "d", "m", set_phase, (void *)"Running", &out, &err), 0);
	assert_int_equal(sim_store_rv(st), rv);
	cJSON_Delete(out);
	assert_int_equal(
	    sim_store_mutate(st, wk(), "d", "m", set_phase, (void *)"fail", &out, &err), -1);
	assert_int_equal(err.code, 500);
	assert_int_equal(
	    sim_store_mutate(st, wk(), "d", "nope", set_phase, (void *)"x", NULL, &err), -1);
	assert_int_equal(err.code, 404);
	sim_store_destroy(st);
}

static void make_many(struct sim_store *st, const char *ns, int n)
{
	struct sim_err err;
	char json[128];

	for (int i = 0; i < n; i++) {
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"o%03d\"}}", i);
		assert_int_equal(sim_store_create(st, wk(), ns, obj(json), NULL, &err), 0);
	}
}

static bool odd_only(const cJSON *o, void *opaque)
{
	const char *name = mstr(o, "name");

	(void)opaque;
	return name && strlen(name) > 3 && (name[3] - '0') % 2 == 1;
}

static int count_cb(const cJSON *o, void *opaque)
{
	(void)o;
	return ++*(int *)opaque == 5;
}

static void list_paging(void **state)
{
	struct sim_store *st = sim_store_new(1024);
	char *next = NULL;
	size_t rem = 0;
	uint64_t rv;
	cJSON *items;
	int seen = 0, n = 0;

	(void)state;
	make_many(st, "b", 25);
	make_many(st, "a", 3);
	make_many(st, "a-b", 2);
	items = sim_store_list(st, wk(), "b", NULL, NULL, NULL, 10, &next, &rem, &rv);
	assert_int_equal(cJSON_GetArraySize(items), 10);
	assert_int_equal(rem, 15);
	assert_int_equal(rv, sim_store_rv(st));
	assert_string_equal(mstr(cJSON_GetArrayItem(items, 0), "name"), "o000");
	seen += cJSON_GetArraySize(items);
	cJSON_Delete(items);
	while (next) {
		char *after = next;

		items = sim_store_list(st, wk(), "b", after, NULL, NULL, 10, &next, &rem, NULL);
		free(after);
		seen += cJSON_GetArraySize(items);
		cJSON_Delete(items);
	}
	assert_int_equal(seen, 25);
	/* namespace "a" must not pick up "a-b" */
	items = sim_store_list(st, wk(), "a", NULL, NULL, NULL, 0, &next, &rem, NULL);
	assert_int_equal(cJSON_GetArraySize(items), 3);
	assert_null(next);
	cJSON_Delete(items);
	items = sim_store_list(st, wk(), NULL, NULL, NULL, NULL, 0, &next, &rem, NULL);
	assert_int_equal(cJSON_GetArraySize(items), 30);
	cJSON_Delete(items);
	/* filter + limit */
	items = sim_store_list(st, wk(), "b", NULL, odd_only, NULL, 5, &next, &rem, NULL);
	assert_int_equal(cJSON_GetArraySize(items), 5);
	assert_string_equal(mstr(cJSON_GetArrayItem(items, 4), "name"), "o009");
	assert_int_equal(rem, 7);
	cJSON_Delete(items);
	free(next);
	/* hostile continue key: sorts past everything */
	items = sim_store_list(st, wk(), NULL, "\xff\xff", NULL, NULL, 0, &next, &rem, NULL);
	assert_int_equal(cJSON_GetArraySize(items), 0);
	cJSON_Delete(items);
	sim_store_foreach(st, wk(), NULL, count_cb, &n);
	assert_int_equal(n, 5);
	sim_store_destroy(st);
}

static void list_json(void **state)
{
	struct sim_store *st = sim_store_new(64);
	struct sim_err err;
	struct wk_buf b;
	char *next = NULL;
	size_t rem = 0;
	cJSON *arr, *o;
	char *s;

	(void)state;
	make_many(st, "j", 5);
	/* a change after create must show in the cached JSON */
	assert_int_equal(
	    sim_store_update(st, wk(), "j", "o001",
			     obj("{\"metadata\":{\"name\":\"o001\"},\"spec\":{\"x\":1}}"), false,
			     NULL, &err),
	    0);
	wk_buf_init(&b, 0);
	assert_int_equal(
	    sim_store_list_json(st, wk(), "j", NULL, NULL, NULL, 3, &next, &rem, NULL, &b), 3);
	assert_int_equal(rem, 2);
	assert_non_null(next);
	s = wk_xasprintf("[%s]", wk_buf_str(&b));
	arr = cJSON_Parse(s);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	o = sim_store_get(st, wk(), "j", "o001");
	assert_true(sim_json_equal(cJSON_GetArrayItem(arr, 1), o));
	cJSON_Delete(o);
	cJSON_Delete(arr);
	free(s);
	wk_buf_reset(&b);
	s = next;
	assert_int_equal(
	    sim_store_list_json(st, wk(), "j", s, NULL, NULL, 3, &next, &rem, NULL, &b), 2);
	assert_null(next);
	free(s);
	wk_buf_release(&b);
	/* a capped buffer: -1 and no continue key */
	wk_buf_init(&b, 10);
	assert_int_equal(
	    sim_store_list_json(st, wk(), "j", NULL, NULL, NULL, 0, &next, &rem, NULL, &b), -1);
	assert_null(next);
	wk_buf_release(&b);
	sim_store_destroy(st);
}

static void watch_history(void **state)
{
	struct sim_store *st = sim_store_new(8);
	struct sim_watch_event ev[32];
	struct sim_err err;
	uint64_t start = sim_store_rv(st);
	int n;

	(void)state;
	make_many(st, "w", 3);
	assert_int_equal(sim_store_delete(st, wk(), "w", "o001", NULL, &err), 0);
	n = sim_store_events_since(st, wk(), "w", start, ev, 32, &err);
	assert_int_equal(n, 4);
	assert_string_equal(ev[0].type, "ADDED");
	assert_string_equal(ev[3].type, "DELETED");
	assert_int_equal(ev[3].rv, sim_store_rv(st));
	assert_int_equal(strtoull(mstr(ev[3].object, "resourceVersion"), NULL, 10), ev[3].rv);
	for (int i = 0; i < n; i++)
		cJSON_Delete(ev[i].object);
	/* another namespace, another resource: nothing */
	assert_int_equal(sim_store_events_since(st, wk(), "x", start, ev, 32, &err), 0);
	assert_int_equal(sim_store_events_since(st, sim_resource_find("", "v1", "nodes"), NULL,
						start, ev, 32, &err),
			 0);
	/* max respected */
	n = sim_store_events_since(st, wk(), NULL, start, ev, 2, &err);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		cJSON_Delete(ev[i].object);
	/* overflow the ring: the start is now too old */
	make_many(st, "v", 10);
	assert_true(sim_store_oldest_rv(st) > start);
	assert_int_equal(sim_store_events_since(st, wk(), NULL, start, ev, 32, &err), -1);
	assert_int_equal(err.code, 410);
	assert_string_equal(err.reason, "Expired");
	assert_non_null(strstr(err.message, "too old resource version: "));
	/* from the oldest kept point it works */
	n = sim_store_events_since(st, wk(), NULL, sim_store_oldest_rv(st), ev, 32, &err);
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++)
		cJSON_Delete(ev[i].object);
	/* from now: nothing; wait times out and returns the same rv */
	assert_int_equal(sim_store_events_since(st, wk(), NULL, sim_store_rv(st), ev, 32, &err), 0);
	assert_int_equal(sim_store_wait(st, sim_store_rv(st), 20), sim_store_rv(st));
	assert_int_equal(sim_store_wait(st, 0, 20), sim_store_rv(st));
	sim_store_destroy(st);
}

struct seen {
	int added, modified, deleted;
	struct sim_store *st;
};

static void observer(void *opaque, const struct sim_resource *res, const char *type, const cJSON *o)
{
	struct seen *s = opaque;
	cJSON *again;

	assert_non_null(res);
	assert_non_null(mstr(o, "name"));
	if (!strcmp(type, "ADDED"))
		s->added++;
	else if (!strcmp(type, "MODIFIED"))
		s->modified++;
	else if (!strcmp(type, "DELETED"))
		s->deleted++;
	/* observers run without the lock: calling back into the store must not deadlock */
	again = sim_store_get(s->st, res, mstr(o, "namespace"), mstr(o, "name"));
	cJSON_Delete(again);
}

static void observers(void **state)
{
	struct sim_store *st = sim_store_new(16);
	struct seen s = {0, 0, 0, st};
	struct sim_err err;

	(void)state;
	sim_store_observe(st, observer, &s);
	assert_int_equal(
	    sim_store_create(st, wk(), "o",
			     obj("{\"metadata\":{\"name\":\"x\",\"finalizers\":[\"f\"]}}"), NULL,
			     &err),
	    0);
	assert_int_equal(sim_store_delete(st, wk(), "o", "x", NULL, &err), 0);
	assert_int_equal(
	    sim_store_update(st, wk(), "o", "x",
			     obj("{\"metadata\":{\"name\":\"x\",\"finalizers\":null}}"), false,
			     NULL, &err),
	    0);
	assert_int_equal(s.added, 1);
	assert_int_equal(s.modified, 1);
	assert_int_equal(s.deleted, 1);
	sim_store_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resource_table),
	    cmocka_unit_test(serves_the_product_table),
	    cmocka_unit_test(create_get),
	    cmocka_unit_test(cluster_scoped),
	    cmocka_unit_test(update_generation_conflict),
	    cmocka_unit_test(no_status_subresource),
	    cmocka_unit_test(finalizers),
	    cmocka_unit_test(mutate),
	    cmocka_unit_test(list_paging),
	    cmocka_unit_test(list_json),
	    cmocka_unit_test(watch_history),
	    cmocka_unit_test(observers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
