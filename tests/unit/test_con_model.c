/* test_con_model.c - the console's view: nodes and VMs from wukong.events, operations from
 * wukong.status and wukong.progress (queue position and the limits that hold it, percent never
 * back, a new request replacing the old, a late final of an older one ignored), convergence points
 * in the delta, drains from the audit records and reports, the audit search's filters, expiry,
 * deltas with what is gone, caps, and hostile input (empty, over 1 MiB, truncated, garbage,
 * invalid UTF-8, deep nesting). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../consumers/console/con_model.h"

static int put(struct con_model *m, enum con_topic t, const char *type, const char *subject,
	       int64_t ms, const char *json)
{
	char err[256];

	return con_model_apply(m, t, "k", type, subject, ms, json, strlen(json), err, sizeof(err));
}

static cJSON *parse_free(char *s)
{
	cJSON *o;

	assert_non_null(s);
	o = cJSON_Parse(s);
	free(s);
	assert_non_null(o);
	return o;
}

static cJSON *find(cJSON *arr, const char *id)
{
	cJSON *e;

	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *i = cJSON_GetObjectItem(e, "id");

		if (cJSON_IsString(i) && !strcmp(i->valuestring, id))
			return e;
	}
	return NULL;
}

static double num(cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *str(cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void fleet(void **state)
{
	struct con_model *m = con_model_new(NULL);
	cJSON *snap, *n, *vm;

	(void)state;
	assert_int_equal(
	    put(m, CON_EVENTS, "dev.novasphere.wukong.node.added", NULL, 1000,
		"{\"cluster\":\"c1\",\"kind\":\"Node\",\"name\":\"n1\",\"change\":\"added\","
		"\"spec\":{\"unschedulable\":true},\"status\":{\"allocatable\":{\"cpu\":"
		"\"16\",\"memory\":\"64Gi\"},\"conditions\":[{\"type\":\"Ready\","
		"\"status\":\"False\"}]}}"),
	    1);
	assert_int_equal(
	    put(m, CON_EVENTS, NULL, NULL, 1000,
		"{\"cluster\":\"c1\",\"kind\":\"VirtualMachineInstance\",\"namespace\":"
		"\"default\",\"name\":\"web-vm\",\"change\":\"added\",\"labels\":{},"
		"\"spec\":{\"domain\":{\"memory\":{\"guest\":\"4Gi\"},\"cpu\":{\"cores\":"
		"2}}},\"status\":{\"nodeName\":\"n1\",\"phase\":\"Running\"}}"),
	    1);
	/* Kinds the console does not show. */
	assert_int_equal(
	    put(m, CON_EVENTS, NULL, NULL, 1000,
		"{\"cluster\":\"c1\",\"kind\":\"VirtualMachineSnapshot\",\"name\":\"s\"}"),
	    0);
	snap = parse_free(con_model_snapshot(m, 2000));
	n = find(cJSON_GetObjectItem(snap, "nodes"), "c1/n1");
	assert_non_null(n);
	assert_true(num(n, "memoryBytes") == 64.0 * 1024 * 1024 * 1024);
	assert_true(num(n, "cpuMilli") == 16000);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(n, "unschedulable")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(n, "ready")));
	vm = find(cJSON_GetObjectItem(snap, "vms"), "c1/default/web-vm");
	assert_non_null(vm);
	assert_string_equal(str(vm, "wukong"), "web");
	assert_string_equal(str(vm, "node"), "n1");
	assert_true(num(vm, "cpus") == 2);
	assert_non_null(find(cJSON_GetObjectItem(snap, "clusters"), "c1"));
	cJSON_Delete(snap);
	/* The first delta carries everything, the next nothing, a deletion a "gone". */
	snap = parse_free(con_model_delta(m, 2000));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "vms")), 1);
	cJSON_Delete(snap);
	assert_null(con_model_delta(m, 2100));
	assert_int_equal(
	    put(m, CON_EVENTS, NULL, NULL, 3000,
		"{\"cluster\":\"c1\",\"kind\":\"VirtualMachineInstance\",\"namespace\":"
		"\"default\",\"name\":\"web-vm\",\"change\":\"deleted\"}"),
	    1);
	snap = parse_free(con_model_delta(m, 3000));
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(snap, "gone"), "vms"), 0)
		->valuestring,
	    "c1/default/web-vm");
	cJSON_Delete(snap);
	con_model_destroy(m);
}

static const char *queued =
    "{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"web\",\"source\":\"wukong-migrator\","
    "\"status\":{\"migrationStatus\":{\"phase\":\"Queued\",\"requestId\":\"r1\",\"queuePosition\":"
    "3,\"sourceNode\":\"n1\",\"message\":\"waiting for a migration slot: position 3 (limits: 5 "
    "per cluster, 2 outbound per node)\"}}}";

static void operations(void **state)
{
	struct con_model *m = con_model_new(NULL);
	cJSON *d, *op;
	char j[1024];

	(void)state;
	assert_int_equal(put(m, CON_STATUS, NULL, NULL, 1000, queued), 1);
	d = parse_free(con_model_delta(m, 1000));
	op = find(cJSON_GetObjectItem(d, "ops"), "mig:c1/default/web");
	assert_non_null(op);
	assert_string_equal(str(op, "phase"), "Queued");
	assert_true(num(op, "queuePosition") == 3);
	assert_true(num(op, "limitPerCluster") == 5 && num(op, "limitPerNode") == 2);
	assert_string_equal(str(op, "kind"), "migration");
	cJSON_Delete(d);
	/* Progress: bytes, rates, a convergence point in the delta; percent never back. */
	for (int i = 0; i < 3; i++) {
		snprintf(
		    j, sizeof(j),
		    "{\"source\":\"wukong-progress\",\"type\":\"migration\",\"cluster\":\"c1\","
		    "\"namespace\":\"default\",\"name\":\"web\",\"requestId\":\"r1\",\"phase\":"
		    "\"Migrating\",\"percent\":%d,\"dataRemainingBytes\":%d,"
		    "\"transferRateBytesPerSecond\":100,\"dirtyRateBytesPerSecond\":10,"
		    "\"mode\":\"PreCopy\",\"targetNode\":\"n2\"}",
		    i == 2 ? 10 : 40 + i, 1000 - i * 100);
		assert_int_equal(put(m, CON_PROGRESS, NULL, NULL, 2000 + i * 1000, j), 1);
	}
	d = parse_free(con_model_delta(m, 5000));
	op = find(cJSON_GetObjectItem(d, "ops"), "mig:c1/default/web");
	assert_true(num(op, "percent") == 41);
	assert_true(cJSON_GetObjectItem(op, "queuePosition") == NULL ||
		    cJSON_IsNull(cJSON_GetObjectItem(op, "queuePosition")));
	assert_true(num(op, "points") == 3);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(op, "pt")));
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(op, "pt"), 1)->valuedouble == 800);
	cJSON_Delete(d);
	d = parse_free(con_model_conv_json(m, "mig:c1/default/web"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "points")), 3);
	cJSON_Delete(d);
	assert_null(con_model_conv_json(m, "mig:nosuch"));
	/* Cold: mode Cold makes it a cold move. Final: kept, then expired. */
	assert_int_equal(
	    put(m, CON_STATUS, NULL, NULL, 6000,
		"{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"web\","
		"\"status\":{\"migrationStatus\":{\"phase\":\"Succeeded\",\"requestId\":"
		"\"r1\",\"mode\":\"Cold\",\"progress\":100}}}"),
	    1);
	d = parse_free(con_model_delta(m, 6000));
	op = find(cJSON_GetObjectItem(d, "ops"), "mig:c1/default/web");
	assert_string_equal(str(op, "kind"), "cold");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(op, "final")));
	assert_true(num(op, "percent") == 100);
	cJSON_Delete(d);
	con_model_expire(m, 6000 + 600000 - 1);
	assert_null(con_model_delta(m, 7000));
	/* A late final of an older request over a new one in flight: ignored. */
	assert_int_equal(
	    put(m, CON_STATUS, NULL, NULL, 7000,
		"{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"web\","
		"\"status\":{\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":"
		"\"r2\"}}}"),
	    1);
	assert_int_equal(put(m, CON_STATUS, NULL, NULL, 7100,
			     "{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"web\","
			     "\"status\":{\"migrationStatus\":{\"phase\":\"Failed\",\"requestId\":"
			     "\"r1\"}}}"),
			 0);
	d = parse_free(con_model_snapshot(m, 7200));
	op = find(cJSON_GetObjectItem(d, "ops"), "mig:c1/default/web");
	assert_string_equal(str(op, "requestId"), "r2");
	assert_string_equal(str(op, "phase"), "Migrating");
	assert_true(num(op, "points") == -1); /* a new request starts a new series */
	cJSON_Delete(d);
	/* Clone status and clone progress. */
	assert_int_equal(
	    put(m, CON_STATUS, NULL, NULL, 8000,
		"{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"copy\","
		"\"status\":{\"cloneStatus\":{\"phase\":\"Snapshotting\",\"requestId\":"
		"\"c1\",\"progress\":20}}}"),
	    1);
	d = parse_free(con_model_snapshot(m, 8000));
	op = find(cJSON_GetObjectItem(d, "ops"), "clone:c1/default/copy");
	assert_string_equal(str(op, "kind"), "clone");
	assert_true(num(op, "percent") == 20);
	cJSON_Delete(d);
	/* Expiry after keep_finished: a "gone" in the next delta. */
	con_model_destroy(m);
}

static void expiry(void **state)
{
	struct con_limits l;
	struct con_model *m;
	cJSON *d;

	(void)state;
	con_limits_default(&l);
	l.keep_finished_ms = 1000;
	m = con_model_new(&l);
	assert_int_equal(put(m, CON_STATUS, NULL, NULL, 1000,
			     "{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"web\","
			     "\"status\":{\"migrationStatus\":{\"phase\":\"Failed\",\"requestId\":"
			     "\"r1\"}}}"),
			 1);
	free(con_model_delta(m, 1000));
	con_model_expire(m, 1500);
	assert_null(con_model_delta(m, 1500));
	con_model_expire(m, 2500);
	d = parse_free(con_model_delta(m, 2500));
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "gone"), "ops"), 0)
		->valuestring,
	    "mig:c1/default/web");
	cJSON_Delete(d);
	con_model_destroy(m);
}

static void drains_and_audit(void **state)
{
	struct con_model *m = con_model_new(NULL);
	struct con_audit_query q;
	cJSON *d, *r;
	char *svg;

	(void)state;
	assert_int_equal(
	    put(m, CON_AUDIT, "dev.novasphere.wukong.audit.v1", "Node/n1", 100000,
		"{\"requestId\":\"dr-1\",\"cluster\":\"c1\",\"object\":{\"kind\":\"Node\",\"name\":"
		"\"n1\"},\"actor\":\"wukong-migrator\",\"action\":\"drain.started\",\"outcome\":"
		"\"info\",\"details\":{\"plan\":{\"predictedSeconds\":10,\"steps\":[{\"order\":1,"
		"\"namespace\":\"default\",\"name\":\"a\",\"target\":\"n2\",\"startSeconds\":0,"
		"\"endSeconds\":10}]}}}"),
	    1);
	assert_int_equal(
	    put(m, CON_PROGRESS, NULL, NULL, 101000,
		"{\"source\":\"wukong-migrator\",\"type\":\"evacuation\",\"cluster\":\"c1\","
		"\"node\":"
		"\"n1\",\"evacuationId\":\"dr-1\",\"requestId\":\"dr-1\",\"trigger\":\"drain\","
		"\"total\":1,\"succeeded\":0,\"failed\":0,\"running\":1,\"waiting\":0,"
		"\"predictedSeconds\":10,\"elapsedSeconds\":1,\"etaSeconds\":9,\"percent\":0,"
		"\"phase\":"
		"\"Running\",\"vms\":[{\"namespace\":\"default\",\"name\":\"a\",\"target\":\"n2\","
		"\"state\":\"Migrating\"}]}"),
	    1);
	assert_int_equal(
	    put(m, CON_AUDIT, NULL, "Wukong/default/a", 102000,
		"{\"requestId\":\"dr-1-0123456789\",\"cluster\":\"c1\",\"object\":{\"kind\":"
		"\"Wukong\",\"namespace\":\"default\",\"name\":\"a\"},\"actor\":\"wukong-"
		"migrator\","
		"\"action\":\"migration.vmim-created\",\"outcome\":\"info\",\"details\":"
		"{\"targetNode\":\"n2\"}}"),
	    1);
	assert_int_equal(
	    put(m, CON_AUDIT, NULL, "Wukong/other/b", 103000,
		"{\"requestId\":\"dr-10\",\"actor\":\"x\",\"action\":\"migration.queued\","
		"\"outcome\":\"rejected\"}"),
	    1);
	d = parse_free(con_model_drain_json(m, "dr-1"));
	assert_string_equal(str(d, "node"), "n1");
	assert_true(num(d, "startMs") == 100000);
	r = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "steps"), 0);
	assert_true(num(r, "actStartMs") == 101000);
	assert_true(num(r, "planEnd") == 10);
	cJSON_Delete(d);
	svg = con_model_drain_svg(m, "dr-1", 105000);
	assert_non_null(strstr(svg, "class=\"plan\""));
	assert_non_null(strstr(svg, "class=\"act\""));
	free(svg);
	assert_null(con_model_drain_json(m, "nosuch"));
	/* Search: a drain's id finds its own records and its VMs' ("dr-1-<hex>"), not "dr-10". */
	memset(&q, 0, sizeof(q));
	q.request = "dr-1";
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 2);
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "records"), 0), "action"),
			    "migration.vmim-created"); /* newest first */
	cJSON_Delete(d);
	memset(&q, 0, sizeof(q));
	q.node = "n2";
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	q.node = "n1";
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	memset(&q, 0, sizeof(q));
	q.vm = "default/a";
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	q.vm = "a-vm"; /* the VM's name finds nothing: search names the Wukong */
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 0);
	cJSON_Delete(d);
	q.vm = "b"; /* ce_subject stands in for a missing object */
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	memset(&q, 0, sizeof(q));
	q.outcome = "rejected";
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	memset(&q, 0, sizeof(q));
	q.since_ms = 101500;
	q.until_ms = 102500;
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 1);
	cJSON_Delete(d);
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "records")), 1);
	cJSON_Delete(d);
	con_model_destroy(m);
}

static void caps(void **state)
{
	struct con_limits l;
	struct con_model *m;
	struct con_stats st;
	struct con_audit_query q = {0};
	char j[512];
	cJSON *d;

	(void)state;
	con_limits_default(&l);
	l.ops = 10;
	l.audit = 100;
	l.drains = 2;
	m = con_model_new(&l);
	for (int i = 0; i < 20; i++) {
		snprintf(j, sizeof(j),
			 "{\"cluster\":\"c1\",\"namespace\":\"d\",\"name\":\"v%d\",\"status\":"
			 "{\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":\"r\"}}}",
			 i);
		put(m, CON_STATUS, NULL, NULL, 1000, j);
	}
	for (int i = 0; i < 250; i++) {
		snprintf(j, sizeof(j),
			 "{\"requestId\":\"q%d\",\"actor\":\"a\",\"action\":\"x.y\",\"outcome\":"
			 "\"info\"}",
			 i);
		assert_int_equal(put(m, CON_AUDIT, NULL, NULL, 1000 + i, j), 1);
	}
	/* Drains: past the cap the oldest finished one leaves; none finished: the new is left out.
	 */
	for (int i = 0; i < 3; i++) {
		snprintf(j, sizeof(j),
			 "{\"requestId\":\"dr-%d\",\"actor\":\"a\",\"action\":\"drain.completed\","
			 "\"outcome\":\"success\"}",
			 i);
		put(m, CON_AUDIT, NULL, "Node/n1", 5000 + i, j);
	}
	con_model_stats(m, &st);
	assert_int_equal(st.ops, 10);
	assert_int_equal(st.audit, 100);
	assert_int_equal(st.drains, 2);
	assert_null(con_model_drain_json(m, "dr-0"));
	free(con_model_drain_json(m, "dr-2"));
	d = parse_free(con_model_audit_search(m, &q));
	assert_true(num(d, "total") == 100);
	assert_string_equal(
	    str(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "records"), 0), "requestId"), "dr-2");
	cJSON_Delete(d);
	con_model_destroy(m);
}

static void hostile(void **state)
{
	struct con_model *m = con_model_new(NULL);
	char err[256], *big, *deep;
	const char *bad[] = {"", "{", "[]", "null", "\"x\"", "{\"kind\":", "garbage", "{}}"};
	struct con_stats st;
	cJSON *d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int t = 0; t < 4; t++)
			assert_true(con_model_apply(m, (enum con_topic)t, "k", NULL, NULL, 1,
						    bad[i], strlen(bad[i]), err, sizeof(err)) <= 0);
	assert_int_equal(
	    con_model_apply(m, CON_STATUS, NULL, NULL, NULL, 1, NULL, 0, err, sizeof(err)), -1);
	/* Over 1 MiB: refused before parsing. */
	n = 1024 * 1024 + 1;
	big = malloc(n + 1);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	assert_int_equal(
	    con_model_apply(m, CON_STATUS, NULL, NULL, NULL, 1, big, n, err, sizeof(err)), -1);
	free(big);
	/* Deep nesting (cJSON's own limit) and every truncation of a valid message. */
	deep = malloc(20001);
	for (int i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[10000 + i] = ']';
	}
	deep[20000] = 0;
	assert_int_equal(
	    con_model_apply(m, CON_AUDIT, NULL, NULL, NULL, 1, deep, 20000, err, sizeof(err)), -1);
	free(deep);
	for (size_t i = 1; i < strlen(queued); i++)
		(void)con_model_apply(m, CON_STATUS, NULL, NULL, NULL, 1, queued, i, err,
				      sizeof(err));
	/* Names that are not UTF-8 or carry newlines are refused; a message with control bytes is
	 * kept without them. */
	assert_int_equal(
	    put(m, CON_STATUS, NULL, NULL, 1,
		"{\"cluster\":\"c1\",\"namespace\":\"d\",\"name\":\"a\\nb\",\"status\":"
		"{\"migrationStatus\":{\"phase\":\"Queued\",\"requestId\":\"r\"}}}"),
	    -1);
	assert_int_equal(put(m, CON_STATUS, NULL, NULL, 1,
			     "{\"cluster\":\"c1\",\"namespace\":\"d\",\"name\":\"\xff\xfe\","
			     "\"status\":{\"migrationStatus\":{\"phase\":\"Queued\"}}}"),
			 -1);
	assert_int_equal(put(m, CON_STATUS, NULL, NULL, 1,
			     "{\"cluster\":\"c1\",\"namespace\":\"d\",\"name\":\"ok\",\"status\":"
			     "{\"migrationStatus\":{\"phase\":\"Queued\",\"requestId\":\"r\","
			     "\"message\":\"\\u001b[31mred\"}}}"),
			 1);
	d = parse_free(con_model_snapshot(m, 2));
	assert_null(
	    cJSON_GetObjectItem(find(cJSON_GetObjectItem(d, "ops"), "mig:c1/d/ok"), "message"));
	cJSON_Delete(d);
	/* Numbers of the wrong type or sign never reach the view. */
	assert_int_equal(
	    put(m, CON_PROGRESS, NULL, NULL, 3,
		"{\"type\":\"migration\",\"cluster\":\"c1\",\"namespace\":\"d\",\"name\":"
		"\"ok\",\"requestId\":\"r\",\"percent\":1e300,\"dataRemainingBytes\":-1,"
		"\"etaSeconds\":\"soon\"}"),
	    1);
	d = parse_free(con_model_snapshot(m, 4));
	assert_null(cJSON_GetObjectItem(find(cJSON_GetObjectItem(d, "ops"), "mig:c1/d/ok"),
					"dataRemainingBytes"));
	cJSON_Delete(d);
	con_model_stats(m, &st);
	assert_true(st.malformed > 10);
	con_model_destroy(m);
}

static void limits_text(void **state)
{
	int a = 0, b = 0;

	(void)state;
	assert_int_equal(con_parse_limits("x (limits: 5 per cluster, 2 outbound per node)", &a, &b),
			 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 2);
	assert_int_equal(con_parse_limits("(limits: 5 per cluster)", &a, &b), -1);
	assert_int_equal(con_parse_limits(NULL, &a, &b), -1);
	assert_int_equal(con_parse_limits("(limits: -1 per cluster, 2 outbound per node)", &a, &b),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fleet),	   cmocka_unit_test(operations),
	    cmocka_unit_test(expiry),	   cmocka_unit_test(drains_and_audit),
	    cmocka_unit_test(caps),	   cmocka_unit_test(hostile),
	    cmocka_unit_test(limits_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
