/* test_wk_emit.c - the executors' shared outputs: seq strictly increasing, deterministic ids,
 * status updates (field object, conditions, exact int64 seq), audit events (Kafka origin,
 * object), and Kubernetes Events named deterministically from their seed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_emit.h"
#include "wk_utf8.h"

#include <cjson/cJSON.h>

static void seq_increases(void **state)
{
	int64_t last = 0, a, b, c;

	(void)state;
	a = wk_emit_next_seq(&last);
	b = wk_emit_next_seq(&last);
	assert_true(b > a);
	last = INT64_C(9000000000000000); /* a clock behind the last seq sent: still bumped */
	c = wk_emit_next_seq(&last);
	assert_int_equal(c, INT64_C(9000000000000001));
}

static void ids(void **state)
{
	const char *p1[] = {"a", "b"}, *p2[] = {"ab", ""}, *p3[] = {NULL, "b"};
	char x[80], y[64], z[64];

	(void)state;
	wk_emit_id("cl", p1, 2, x, sizeof(x));
	wk_emit_id("cl", p1, 2, y, sizeof(y));
	assert_string_equal(x, y);
	assert_int_equal(strlen(x), 43);
	wk_emit_id("cl", p2, 2, z, sizeof(z)); /* separators keep "a/b" apart from "ab/" */
	assert_string_not_equal(x, z);
	wk_emit_id("cl", p3, 2, z, sizeof(z));
	assert_string_not_equal(x, z);
	wk_emit_id(NULL, NULL, 0, z, sizeof(z));
	assert_int_equal(strncmp(z, "id-", 3), 0);
	wk_emit_sha256_hex("abc", 3, 8, x);
	assert_string_equal(x, "ba7816bf");
	wk_emit_sha256_hex("abc", 3, 99, x);
	assert_int_equal(strlen(x), 64);
}

static void status_json(void **state)
{
	cJSON *f = cJSON_Parse("{\"phase\":\"Cloning\",\"snapshotName\":null}"), *o;
	struct wk_emit_condition c[2] = {
	    {.type = "Cloning", .status = "True", .reason = "SnapshotReady", .message = "m"},
	    {.type = "FilesystemConsistent", .status = "False", .observed_generation = 3},
	};
	struct wk_emit_status s = {.cluster = "local",
				   .ns = "default",
				   .name = "copy",
				   .source = "wukong-cloner",
				   .seq = INT64_C(1763780000123456),
				   .field = "cloneStatus",
				   .fields = f,
				   .conditions = c,
				   .nconditions = 2};
	char *j;

	(void)state;
	j = wk_emit_status_json(&s, 1763780000000);
	assert_non_null(strstr(j, "\"seq\":1763780000123456")); /* exact, not a rounded double */
	o = cJSON_Parse(j);
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "cloneStatus"), "phase")
		->valuestring,
	    "Cloning");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "cloneStatus"), "snapshotName")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "conditions")), 2);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "conditions"), 1),
					"reason"));
	cJSON_Delete(o);
	free(j);
	s.fields = NULL;
	s.nconditions = 0;
	j = wk_emit_status_json(&s, 0);
	assert_null(strstr(j, "status\":"));
	assert_null(strstr(j, "conditions"));
	free(j);
	cJSON_Delete(f);
}

static void audit_json(void **state)
{
	struct wk_emit_audit a = {.request_id = "r1",
				  .topic = "wukong.requests.local",
				  .partition = 2,
				  .offset = INT64_C(12345678901234),
				  .cluster = "local",
				  .ns = "default",
				  .name = "copy",
				  .actor = "wukong-cloner",
				  .action = "clone.failed",
				  .outcome = "failure",
				  .reason = "SourceNotFound",
				  .message = "m"};
	char *j = wk_emit_audit_json(&a);
	cJSON *o = cJSON_Parse(j);

	(void)state;
	assert_non_null(strstr(j, "\"offset\":12345678901234"));
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "requestSource"), "type")->valuestring,
	    "kafka");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "object"), "kind")->valuestring, "Wukong");
	cJSON_Delete(o);
	free(j);
	memset(&a, 0, sizeof(a));
	a.actor = "x";
	a.action = "y";
	a.outcome = "info";
	a.source_type = "spec";
	j = wk_emit_audit_json(&a);
	o = cJSON_Parse(j);
	assert_null(cJSON_GetObjectItem(o, "object"));
	assert_null(cJSON_GetObjectItem(o, "requestId"));
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "requestSource"), "type")->valuestring,
	    "spec");
	cJSON_Delete(o);
	free(j);
}

static void k8s_event(void **state)
{
	char longname[300];
	struct wk_emit_event e = {.ns = "default",
				  .name = "copy",
				  .uid = "u1",
				  .type = "Warning",
				  .reason = "SourceNotFound",
				  .message = "gone",
				  .component = "wukong-cloner",
				  .seed = "default/copy/r1/Failed"};
	cJSON *a = wk_emit_k8s_event(&e, 1763780000000), *b;
	const char *n1, *n2;

	(void)state;
	b = wk_emit_k8s_event(&e, 1763780009999);
	n1 = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "name")->valuestring;
	n2 = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name")->valuestring;
	assert_string_equal(n1, n2); /* same step, same name: a replay gets 409 */
	assert_int_equal(strncmp(n1, "copy.", 5), 0);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(a, "involvedObject"), "kind")->valuestring,
	    "Wukong");
	assert_string_equal(cJSON_GetObjectItem(a, "action")->valuestring, "SourceNotFound");
	cJSON_Delete(b);
	e.seed = "default/copy/r1/Succeeded";
	b = wk_emit_k8s_event(&e, 1763780000000);
	assert_string_not_equal(
	    n1, cJSON_GetObjectItem(cJSON_GetObjectItem(b, "metadata"), "name")->valuestring);
	cJSON_Delete(b);
	cJSON_Delete(a);
	memset(longname, 'a', 299);
	longname[299] = 0;
	e.name = longname;
	e.seed = NULL;
	a = wk_emit_k8s_event(&e, 0);
	assert_int_equal(
	    strlen(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "name")->valuestring),
	    200 + 1 + 16);
	cJSON_Delete(a);
	/* A Node (cluster-scoped): the Event lives in event_ns, the reference has no namespace. */
	{
		struct wk_emit_event n = {.api_version = "v1",
					  .kind = "Node",
					  .name = "node-a",
					  .uid = "node-a",
					  .event_ns = "default",
					  .reason = "Drain",
					  .component = "wukong-migrator",
					  .seed = "local/node-a/dr-1/drain.started"};
		cJSON *io;

		a = wk_emit_k8s_event(&n, 0);
		io = cJSON_GetObjectItem(a, "involvedObject");
		assert_string_equal(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "namespace")
			->valuestring,
		    "default");
		assert_null(cJSON_GetObjectItem(io, "namespace"));
		assert_string_equal(cJSON_GetObjectItem(io, "kind")->valuestring, "Node");
		assert_string_equal(cJSON_GetObjectItem(io, "apiVersion")->valuestring, "v1");
		cJSON_Delete(a);
	}
}

/* Events with eventTime: the API server refuses a message over 1024 bytes; cut on a character
 * boundary, " ..." appended, never more than 1024 bytes; short ones untouched. */
static void k8s_event_long_message(void **state)
{
	static char msg[4000];
	struct wk_emit_event e = {.ns = "default",
				  .name = "copy",
				  .reason = "MigrationFailed",
				  .message = msg,
				  .component = "wukong-migrator"};
	const char *m;
	cJSON *a;
	size_t i;

	(void)state;
	/* 1024 bytes exactly: kept. */
	memset(msg, 'x', 1024);
	msg[1024] = 0;
	a = wk_emit_k8s_event(&e, 0);
	assert_int_equal(strlen(cJSON_GetObjectItem(a, "message")->valuestring), 1024);
	cJSON_Delete(a);
	/* Three-byte characters (U+4E2D) across the cut: no partial character survives. */
	for (i = 0; i + 3 < sizeof(msg); i += 3)
		memcpy(msg + i, "\xe4\xb8\xad", 3);
	msg[i] = 0;
	a = wk_emit_k8s_event(&e, 0);
	m = cJSON_GetObjectItem(a, "message")->valuestring;
	assert_true(strlen(m) <= 1024);
	assert_true(strlen(m) > 1000);
	assert_true(wk_utf8_valid(m, strlen(m)));
	assert_string_equal(m + strlen(m) - 4, " ...");
	assert_int_equal((strlen(m) - 4) % 3, 0);
	cJSON_Delete(a);
	/* Invalid bytes are counted one each, still within the limit. */
	memset(msg, 0xff, 2000);
	msg[2000] = 0;
	assert_int_equal(wk_emit_event_message_len(msg, 1024), 1020);
	assert_int_equal(wk_emit_event_message_len(msg, 3), 0);
	assert_int_equal(wk_emit_event_message_len(NULL, 1024), 0);
	assert_int_equal(wk_emit_event_message_len("short", 1024), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seq_increases), cmocka_unit_test(ids),
	    cmocka_unit_test(status_json),   cmocka_unit_test(audit_json),
	    cmocka_unit_test(k8s_event),     cmocka_unit_test(k8s_event_long_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
