/* test_st_update.c - wukong.status body validation: valid, empty, truncated, garbage, at the
 * caps, one past them, hostile (names, huge numbers, deep nesting, duplicate keys). */
#include "../../consumers/status/st_update.h"

#include "wk_buf.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define HEAD "\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"wk-1\",\"source\":\"mig\","

static int parse(const char *body, struct st_update *u, char *err, size_t errsz)
{
	return st_update_parse(u, body, strlen(body), err, errsz);
}

static void ok_body(const char *body)
{
	struct st_update u;
	char err[256];

	if (parse(body, &u, err, sizeof(err)) < 0)
		fail_msg("'%s' refused: %s", body, err);
	st_update_release(&u);
}

static void bad_body(const char *body, const char *want)
{
	struct st_update u;
	char err[256] = "";

	if (parse(body, &u, err, sizeof(err)) == 0) {
		st_update_release(&u);
		fail_msg("'%.200s' accepted", body);
	}
	if (!strstr(err, want))
		fail_msg("'%.200s': error '%s' lacks '%s'", body, err, want);
	/* a failed parse leaves nothing to free */
	assert_null(u.fields[0]);
	assert_null(u.conditions);
}

static void valid(void **state)
{
	struct st_update u;
	char err[256];
	const char *b =
	    "{" HEAD "\"seq\":1732240000123456,\"observedGeneration\":3,"
	    "\"status\":{\"migrationStatus\":{\"phase\":\"Migrating\",\"progress\":40,"
	    "\"queuePosition\":null,\"startedAt\":\"2026-11-22T01:00:00Z\",\"etaSeconds\":12.5,"
	    "\"dataRemainingBytes\":1048576,\"converging\":false}},"
	    "\"conditions\":[{\"type\":\"Migrating\",\"status\":\"True\",\"reason\":\"Running\","
	    "\"message\":\"\",\"lastTransitionTime\":\"2026-11-22T01:00:00Z\","
	    "\"observedGeneration\":3}]}";

	(void)state;
	assert_int_equal(parse(b, &u, err, sizeof(err)), 0);
	assert_string_equal(u.cluster, "c1");
	assert_string_equal(u.name, "wk-1");
	assert_string_equal(u.source, "mig");
	assert_int_equal(u.seq, 1732240000123456LL);
	assert_int_equal(u.observed_generation, 3);
	assert_non_null(u.fields[ST_F_MIGRATION]);
	assert_null(u.fields[ST_F_CLONE]);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(u.fields[ST_F_MIGRATION], "queuePosition")));
	assert_int_equal(cJSON_GetArraySize(u.conditions), 1);
	st_update_release(&u);

	ok_body("{" HEAD "\"seq\":1,\"status\":{\"cloneStatus\":{\"phase\":\"Snapshotting\"}}}");
	ok_body("{" HEAD "\"seq\":2,\"conditions\":[]}");
	ok_body("{" HEAD "\"seq\":2,\"observedGeneration\":0}");
	ok_body("{" HEAD "\"seq\":2,\"conditions\":[{\"type\":\"example.com/Ready\","
		"\"status\":\"Unknown\"}]}");
}

/* migrationStatus.downtimeSeconds (a cold move's downtime): a number in [0, 1e9] or null. */
static void downtime_seconds(void **state)
{
	struct st_update u;
	char err[256];
	const cJSON *v;

	(void)state;
#define DT(x) "{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"downtimeSeconds\":" x "}}}"
	assert_int_equal(parse(DT("12.5"), &u, err, sizeof(err)), 0);
	v = cJSON_GetObjectItem(u.fields[ST_F_MIGRATION], "downtimeSeconds");
	assert_true(cJSON_IsNumber(v) && v->valuedouble == 12.5);
	st_update_release(&u);
	ok_body(DT("0"));
	ok_body(DT("1e9"));				   /* at the cap */
	ok_body(DT("null"));				   /* clears it (merge patch) */
	bad_body(DT("1000000000.001"), "downtimeSeconds"); /* cap + a little */
	bad_body(DT("-1"), "downtimeSeconds");
	bad_body(DT("-0.001"), "downtimeSeconds");
	bad_body(DT("1e400"), "downtimeSeconds"); /* inf once parsed */
	bad_body(DT("\"12\""), "downtimeSeconds");
	bad_body(DT("true"), "downtimeSeconds");
	bad_body(DT("[12]"), "downtimeSeconds");
	bad_body(DT("{\"s\":12}"), "downtimeSeconds");
	/* not a cloneStatus key */
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"cloneStatus\":{\"downtimeSeconds\":1}}}",
		 "unknown key");
#undef DT
}

/* The provisioner's top-level keys: phase (the CRD's enum), nodeName, vmName, ipAddresses,
 * disks; each capped, hostile shapes refused. */
static void top_level(void **state)
{
	struct st_update u;
	char err[256];
	struct wk_buf b;

	(void)state;
	assert_int_equal(
	    parse("{" HEAD "\"seq\":1,\"status\":{\"phase\":\"Provisioning\","
		  "\"vmName\":\"wk-1-vm\",\"nodeName\":null,\"ipAddresses\":[\"10.0.0.1\"],"
		  "\"disks\":[{\"name\":\"system\",\"dataVolume\":\"wk-1-system\","
		  "\"phase\":\"ImportInProgress\",\"progress\":\"45.00%\"}],"
		  "\"migrationStatus\":{\"phase\":\"Queued\"}}}",
		  &u, err, sizeof(err)),
	    0);
	assert_non_null(u.fields[ST_F_TOP]);
	assert_non_null(u.fields[ST_F_MIGRATION]);
	assert_non_null(cJSON_GetObjectItem(u.fields[ST_F_TOP], "disks"));
	st_update_release(&u);
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"phase\":\"Exploded\"}}",
		 "status.phase: not one of");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"phase\":3}}", "status.phase");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"ipAddresses\":\"10.0.0.1\"}}", "not an array");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"ipAddresses\":[1]}}", "ipAddresses[0]");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"disks\":[{\"name\":\"a\",\"size\":1}]}}",
		 "status.disks[0].size: unknown key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"disks\":[{\"name\":null}]}}", "null");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"disks\":[[]]}}", "not an object");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"phase\":\"Running\",\"phase\":\"Failed\"}}",
		 "duplicate key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"appliedSeq\":{}}}", "unknown key");
	/* at the cap (16 addresses) and one past it */
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_addf(&b, "{" HEAD "\"seq\":1,\"status\":{\"ipAddresses\":["), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(wk_buf_addf(&b, "%s\"10.0.0.%d\"", i ? "," : "", i), 0);
	assert_int_equal(wk_buf_addf(&b, "]}}"), 0);
	ok_body(wk_buf_str(&b));
	wk_buf_release(&b);
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_addf(&b, "{" HEAD "\"seq\":1,\"status\":{\"ipAddresses\":["), 0);
	for (int i = 0; i < 17; i++)
		assert_int_equal(wk_buf_addf(&b, "%s\"10.0.0.%d\"", i ? "," : "", i), 0);
	assert_int_equal(wk_buf_addf(&b, "]}}"), 0);
	bad_body(wk_buf_str(&b), "at most 16");
	wk_buf_release(&b);
}

static void empty_truncated_garbage(void **state)
{
	(void)state;
	bad_body("", "empty");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"phase\":\"Mig", "not JSON");
	bad_body("\x01\x02garbage", "not JSON");
	bad_body("[1,2]", "not a JSON object");
	bad_body("\"string\"", "not a JSON object");
	bad_body("{}", "cluster");
	bad_body("{" HEAD "\"seq\":1}", "nothing to apply");
}

static void wrong_fields(void **state)
{
	(void)state;
	bad_body("{" HEAD "\"seq\":0,\"observedGeneration\":1}", "seq");
	bad_body("{" HEAD "\"seq\":1.5,\"observedGeneration\":1}", "seq");
	bad_body("{" HEAD "\"seq\":\"7\",\"observedGeneration\":1}", "seq");
	bad_body("{" HEAD "\"seq\":9007199254740992,\"observedGeneration\":1}", "seq");
	ok_body("{" HEAD "\"seq\":9007199254740991,\"observedGeneration\":1}");
	bad_body("{" HEAD "\"seq\":1e400,\"observedGeneration\":1}", "");
	bad_body("{" HEAD "\"seq\":1,\"observedGeneration\":-1}", "observedGeneration");
	bad_body("{" HEAD "\"seq\":1,\"extra\":1,\"observedGeneration\":1}", "extra: unknown key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{}}", "status");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"spec\":{}}}", "status.spec: unknown key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"progress\":101}}}",
		 "progress");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"progress\":-1}}}",
		 "progress");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"progress\":50.5}}}",
		 "progress");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"phase\":7}}}", "phase");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"startedAt\":\"now\"}}}",
		 "startedAt");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"bogus\":1}}}",
		 "bogus: unknown key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"cloneStatus\":{\"dataTotalBytes\":1}}}",
		 "unknown key");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"etaSeconds\":-3}}}",
		 "etaSeconds");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"converging\":\"yes\"}}}",
		 "converging");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":[]}}", "not an object");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":{}}", "conditions");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A\"}]}", "required");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A\",\"status\":\"Yes\"}]}",
		 "status");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A B\",\"status\":\"True\"}]}",
		 "type");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A\",\"status\":\"True\","
		 "\"reason\":\"has space\"}]}",
		 "reason");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A\",\"status\":\"True\","
		 "\"color\":\"red\"}]}",
		 "unknown key");
	bad_body("{" HEAD "\"seq\":1,\"conditions\":[{\"type\":\"A\",\"status\":\"True\"},"
		 "{\"type\":\"A\",\"status\":\"False\"}]}",
		 "repeated");
}

static void hostile_names(void **state)
{
	(void)state;
	bad_body("{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"../../api/v1/secrets\","
		 "\"source\":\"m\",\"seq\":1,\"observedGeneration\":1}",
		 "name");
	bad_body("{\"cluster\":\"c1\",\"namespace\":\"kube-system/x\",\"name\":\"a\","
		 "\"source\":\"m\",\"seq\":1,\"observedGeneration\":1}",
		 "namespace");
	bad_body("{\"cluster\":\"C1\",\"namespace\":\"default\",\"name\":\"a\","
		 "\"source\":\"m\",\"seq\":1,\"observedGeneration\":1}",
		 "cluster");
	bad_body("{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"a\","
		 "\"source\":\"a/b\",\"seq\":1,\"observedGeneration\":1}",
		 "source");
	bad_body("{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"a\\u0000b\","
		 "\"source\":\"m\",\"seq\":1,\"observedGeneration\":1}",
		 "NUL");
	/* an escaped backslash before u0000 is text, not a NUL: refused as a name, not as NUL */
	bad_body("{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"a\\\\u0000\","
		 "\"source\":\"m\",\"seq\":1,\"observedGeneration\":1}",
		 "DNS-1123");
	/* duplicate keys: a merge patch with two answers is ambiguous */
	bad_body("{" HEAD "\"seq\":1,\"seq\":2,\"observedGeneration\":1}", "duplicate");
	bad_body("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"phase\":\"A\","
		 "\"phase\":\"B\"}}}",
		 "duplicate");
}

static char *body_of(size_t total)
{
	/* a valid update whose message pads it to exactly `total` bytes */
	const char *pre = "{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"message\":\"";
	const char *post = "\"}}}";
	size_t pad = total - strlen(pre) - strlen(post);
	char *s = wk_xmalloc(total + 1);

	memcpy(s, pre, strlen(pre));
	memset(s + strlen(pre), 'x', pad);
	memcpy(s + strlen(pre) + pad, post, strlen(post) + 1);
	return s;
}

static void caps(void **state)
{
	struct st_update u;
	char err[256], *s;
	struct wk_buf b;

	(void)state;
	/* migrationStatus.message: 4096 ok, 4097 refused */
	s = body_of(strlen("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"message\":\"") +
		    4096 + 4);
	ok_body(s);
	free(s);
	s = body_of(strlen("{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":{\"message\":\"") +
		    4097 + 4);
	bad_body(s, "message");
	free(s);
	/* body cap: 64 KiB accepted up to the parse, one byte more refused before parsing */
	s = body_of(ST_BODY_MAX + 1);
	assert_int_equal(st_update_parse(&u, s, strlen(s), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over the cap"));
	free(s);
	/* conditions: 16 ok, 17 refused */
	wk_buf_init(&b, 0);
	for (int n = 16; n <= 17; n++) {
		wk_buf_reset(&b);
		assert_int_equal(wk_buf_adds(&b, "{" HEAD "\"seq\":1,\"conditions\":["), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(wk_buf_addf(&b, "%s{\"type\":\"T%d\",\"status\":\"True\"}",
						     i ? "," : "", i),
					 0);
		assert_int_equal(wk_buf_adds(&b, "]}"), 0);
		if (n == 16)
			ok_body(wk_buf_str(&b));
		else
			bad_body(wk_buf_str(&b), "at most 16");
	}
	/* deep nesting: refused (by cJSON's nesting limit or by the shape), never a crash */
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "{" HEAD "\"seq\":1,\"status\":{\"migrationStatus\":"
					 "{\"message\":"),
			 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(wk_buf_adds(&b, "["), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(wk_buf_adds(&b, "]"), 0);
	assert_int_equal(wk_buf_adds(&b, "}}}"), 0);
	bad_body(wk_buf_str(&b), "");
	wk_buf_release(&b);
}

/* A forged or broken sender (issue 20): a seq far past the writer's clock, a foreign ce_source. */
static void origin(void **state)
{
	struct st_update u;
	char err[400];
	const char *code = NULL;
	int64_t now_us = INT64_C(1765000000) * 1000000, hour = INT64_C(3600) * 1000000;

	(void)state;
	assert_int_equal(parse("{" HEAD "\"seq\":9007199254740991,\"observedGeneration\":1}", &u,
			       err, sizeof(err)),
			 0);
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c1", now_us, hour, &code, err, sizeof(err)), -1);
	assert_string_equal(code, "SeqTooFarAhead");
	assert_non_null(strstr(err, "status.max-seq-ahead"));
	/* at the limit and one past it */
	u.seq = now_us + hour;
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c1", now_us, hour, &code, err, sizeof(err)), 0);
	u.seq = now_us + hour + 1;
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c1", now_us, hour, &code, err, sizeof(err)), -1);
	/* old and small seqs are the table's business (stale), not a forgery */
	u.seq = 1;
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c1", now_us, hour, &code, err, sizeof(err)), 0);
	/* ce_source */
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c2", now_us, hour, &code, err, sizeof(err)), -1);
	assert_string_equal(code, "WrongSource");
	assert_int_equal(
	    st_update_check_origin(&u, "/tenants/x", now_us, hour, &code, err, sizeof(err)), -1);
	assert_int_equal(st_update_check_origin(&u, NULL, now_us, hour, &code, err, sizeof(err)),
			 -1);
	assert_int_equal(
	    st_update_check_origin(&u, "/clusters/c1/", now_us, hour, &code, err, sizeof(err)), -1);
	st_update_release(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid),	    cmocka_unit_test(downtime_seconds),
	    cmocka_unit_test(top_level),    cmocka_unit_test(empty_truncated_garbage),
	    cmocka_unit_test(wrong_fields), cmocka_unit_test(hostile_names),
	    cmocka_unit_test(caps),	    cmocka_unit_test(origin),
	};
	return cmocka_run_group_tests_name("st_update", tests, NULL, NULL);
}
