/* test_sim_patch.c - JSON merge patch (RFC 7386) and JSON patch (RFC 6902), incl. hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_patch.h"
#include "../../tools/sim/sim_store.h"

static cJSON *js(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static void expect_merge(const char *target, const char *patch, const char *want)
{
	cJSON *t = target ? js(target) : NULL, *p = js(patch), *w = js(want);
	cJSON *got = sim_merge_patch(t, p);

	if (!sim_json_equal(got, w)) {
		char *s = cJSON_PrintUnformatted(got);

		fail_msg("merge %s + %s: got %s, want %s", target, patch, s, want);
	}
	cJSON_Delete(t);
	cJSON_Delete(p);
	cJSON_Delete(w);
	cJSON_Delete(got);
}

/* The examples of RFC 7386 appendix A. */
static void merge_rfc(void **state)
{
	(void)state;
	expect_merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	expect_merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	expect_merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	expect_merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	expect_merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	expect_merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	expect_merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		     "{\"a\":{\"b\":\"d\"}}");
	expect_merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	expect_merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	expect_merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	expect_merge("{\"a\":\"foo\"}", "null", "null");
	expect_merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	expect_merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	expect_merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	expect_merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
	expect_merge(NULL, "{\"a\":1}", "{\"a\":1}");
}

static void merge_keeps_order(void **state)
{
	cJSON *t = js("{\"apiVersion\":\"v\",\"metadata\":{\"a\":1},\"spec\":{}}");
	cJSON *p = js("{\"metadata\":{\"b\":2}}"), *got;

	(void)state;
	got = sim_merge_patch(t, p);
	assert_string_equal(got->child->next->string, "metadata");
	cJSON_Delete(t);
	cJSON_Delete(p);
	cJSON_Delete(got);
}

static char *jp(const char *doc, const char *patch, char *err, size_t n)
{
	cJSON *d = js(doc), *p = cJSON_Parse(patch), *got;
	char *s = NULL;

	got = sim_json_patch(d, p, err, n);
	if (got)
		s = cJSON_PrintUnformatted(got);
	cJSON_Delete(got);
	cJSON_Delete(d);
	cJSON_Delete(p);
	return s;
}

static void expect_jp(const char *doc, const char *patch, const char *want)
{
	char err[256] = "", *got = jp(doc, patch, err, sizeof(err));

	if (!got)
		fail_msg("patch %s on %s failed: %s", patch, doc, err);
	assert_string_equal(got, want);
	free(got);
}

static void expect_jp_fail(const char *doc, const char *patch, const char *msg_part)
{
	char err[256] = "", *got = jp(doc, patch, err, sizeof(err));

	if (got)
		fail_msg("patch %s on %s should fail, got %s", patch, doc, got);
	if (msg_part && !strstr(err, msg_part))
		fail_msg("error '%s' lacks '%s'", err, msg_part);
}

static void json_patch_ops(void **state)
{
	(void)state;
	expect_jp("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2}]",
		  "{\"a\":1,\"b\":2}");
	expect_jp("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":9}]",
		  "{\"a\":[1,9,2]}");
	expect_jp("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":9}]",
		  "{\"a\":[9,1,2]}");
	expect_jp("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-\",\"value\":9}]",
		  "{\"a\":[1,2,9]}");
	expect_jp("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":9}]",
		  "{\"a\":[1,2,9]}");
	expect_jp("{\"a\":1,\"b\":2}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", "{\"b\":2}");
	expect_jp("{\"f\":[\"x\",\"y\"]}", "[{\"op\":\"remove\",\"path\":\"/f/0\"}]",
		  "{\"f\":[\"y\"]}");
	expect_jp("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":{\"x\":1}}]",
		  "{\"a\":{\"x\":1}}");
	expect_jp("{\"a\":{\"b\":1},\"c\":{}}",
		  "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c/d\"}]",
		  "{\"a\":{},\"c\":{\"d\":1}}");
	expect_jp("{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/z\"}]",
		  "{\"a\":{\"b\":1},\"z\":{\"b\":1}}");
	expect_jp("{\"m\":{\"rv\":\"5\"},\"x\":1}",
		  "[{\"op\":\"test\",\"path\":\"/m/rv\",\"value\":\"5\"},"
		  "{\"op\":\"replace\",\"path\":\"/x\",\"value\":2}]",
		  "{\"m\":{\"rv\":\"5\"},\"x\":2}");
	/* escaped keys */
	expect_jp("{\"a/b\":1,\"c~d\":2}",
		  "[{\"op\":\"remove\",\"path\":\"/a~1b\"},{\"op\":\"replace\",\"path\":\"/c~0d\","
		  "\"value\":3}]",
		  "{\"c~d\":3}");
	/* whole document */
	expect_jp("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]");
	expect_jp("{}", "[]", "{}");
	/* move onto itself is a no-op */
	expect_jp("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
}

static void json_patch_failures(void **state)
{
	(void)state;
	expect_jp_fail("{\"m\":{\"rv\":\"5\"}}",
		       "[{\"op\":\"test\",\"path\":\"/m/rv\",\"value\":\"4\"}]",
		       "testing value /m/rv failed");
	expect_jp_fail("{}", "[{\"op\":\"remove\",\"path\":\"/nope\"}]", "missing path");
	expect_jp_fail("{}", "[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":1}]",
		       "missing key");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", "missing path");
	expect_jp_fail("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]",
		       "invalid index");
	expect_jp_fail("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", "invalid index");
	expect_jp_fail("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", "invalid index");
	expect_jp_fail("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-1\"}]", "invalid index");
	expect_jp_fail("{\"a\":[1]}",
		       "[{\"op\":\"add\",\"path\":\"/a/99999999999999999999999\",\"value\":1}]",
		       "invalid index");
	expect_jp_fail("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/-\",\"value\":1}]",
		       "invalid index");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", "must start with");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]", "bad escape");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/a~\",\"value\":1}]", "bad escape");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", "missing \"value\"");
	expect_jp_fail("{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", "unexpected kind");
	expect_jp_fail("{}", "[{\"path\":\"/a\"}]", "missing \"op\"");
	expect_jp_fail("{}", "[{\"op\":\"add\",\"value\":1}]", "missing \"path\"");
	expect_jp_fail("{}", "[5]", "missing \"op\"");
	expect_jp_fail("{}", "{\"op\":\"add\"}", "list of operations");
	expect_jp_fail("{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
		       "prefix");
	expect_jp_fail("{}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/y\"}]", "missing");
	expect_jp_fail("{}", "[{\"op\":\"remove\",\"path\":\"\"}]", "whole document");
	/* truncated / garbage patch bodies never parse, so they arrive as NULL */
	expect_jp_fail("{}", "[{\"op\":", "list of operations");
}

static void json_patch_atomic(void **state)
{
	cJSON *d = js("{\"a\":1}"), *p, *got;
	char err[128];

	(void)state;
	p = js("[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},{\"op\":\"remove\",\"path\":\"/"
	       "z\"}]");
	got = sim_json_patch(d, p, err, sizeof(err));
	assert_null(got);
	assert_int_equal(cJSON_GetObjectItem(d, "a")->valueint, 1);
	cJSON_Delete(p);
	cJSON_Delete(d);
}

static void json_patch_caps(void **state)
{
	char *deep_path, err[256];
	cJSON *ops, *d = js("{}"), *got;

	(void)state;
	/* at the cap: 10000 ops work; cap+1 is refused */
	ops = cJSON_CreateArray();
	for (int i = 0; i < SIM_JSONPATCH_MAX_OPS; i++)
		cJSON_AddItemToArray(ops, js("{\"op\":\"add\",\"path\":\"/a\",\"value\":1}"));
	got = sim_json_patch(d, ops, err, sizeof(err));
	assert_non_null(got);
	cJSON_Delete(got);
	cJSON_AddItemToArray(ops, js("{\"op\":\"add\",\"path\":\"/a\",\"value\":1}"));
	assert_null(sim_json_patch(d, ops, err, sizeof(err)));
	assert_non_null(strstr(err, "maximum operations"));
	cJSON_Delete(ops);
	/* a pointer 1000 levels deep is refused, not recursed into */
	deep_path = wk_xmalloc(2 * 1000 + 1);
	for (int i = 0; i < 1000; i++)
		memcpy(deep_path + 2 * i, "/a", 2);
	deep_path[2000] = '\0';
	ops = cJSON_CreateArray();
	cJSON *op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "op", "add");
	cJSON_AddStringToObject(op, "path", deep_path);
	cJSON_AddNumberToObject(op, "value", 1);
	cJSON_AddItemToArray(ops, op);
	assert_null(sim_json_patch(d, ops, err, sizeof(err)));
	assert_non_null(strstr(err, "too deep"));
	cJSON_Delete(ops);
	free(deep_path);
	cJSON_Delete(d);
}

static void merge_deep(void **state)
{
	/* deep nesting (within cJSON's parse limit) merges without trouble */
	char *a = wk_xmalloc(20000), *p = a;
	cJSON *t, *patch, *got;

	(void)state;
	for (int i = 0; i < 900; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "1");
	for (int i = 0; i < 900; i++)
		*p++ = '}';
	*p = '\0';
	t = js(a);
	patch = js(a);
	got = sim_merge_patch(t, patch);
	assert_true(sim_json_equal(got, t));
	cJSON_Delete(t);
	cJSON_Delete(patch);
	cJSON_Delete(got);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(merge_rfc),	 cmocka_unit_test(merge_keeps_order),
	    cmocka_unit_test(json_patch_ops),	 cmocka_unit_test(json_patch_failures),
	    cmocka_unit_test(json_patch_atomic), cmocka_unit_test(json_patch_caps),
	    cmocka_unit_test(merge_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
