/* test_wk_json.c - dotted-path reads: present, missing, wrong type, NULL and hostile paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_json.h"

#include <cjson/cJSON.h>

static void paths(void **state)
{
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"vm-1\",\"labels\":{\"a\":\"b\"},"
			       "\"generation\":3},\"items\":[1]}");

	(void)state;
	assert_non_null(o);
	assert_string_equal(wk_json_str(o, "metadata.name"), "vm-1");
	assert_string_equal(wk_json_str(o, "metadata.labels.a"), "b");
	assert_non_null(wk_json_path(o, "metadata.labels"));
	assert_true(cJSON_IsNumber(wk_json_path(o, "metadata.generation")));
	assert_null(wk_json_str(o, "metadata.generation")); /* not a string */
	assert_null(wk_json_str(o, "metadata.labels"));
	assert_null(wk_json_path(o, "metadata.missing.deeper"));
	assert_null(wk_json_path(o, "items.0")); /* arrays are not indexed */
	assert_ptr_equal(wk_json_path(o, ""), o);
	cJSON_Delete(o);
}

static void meta(void **state)
{
	cJSON *o = cJSON_Parse("{\"metadata\":{\"labels\":{\"kubevirt.io/nodeName\":\"n1\","
			       "\"n\":3},\"annotations\":{\"a.b/c\":\"x\"}}}");

	(void)state;
	assert_string_equal(wk_json_meta(o, "labels", "kubevirt.io/nodeName"), "n1");
	assert_null(wk_json_str(o, "metadata.labels.kubevirt.io/nodeName")); /* why meta exists */
	assert_string_equal(wk_json_meta(o, "annotations", "a.b/c"), "x");
	assert_null(wk_json_meta(o, "labels", "n")); /* not a string */
	assert_null(wk_json_meta(o, "labels", "missing"));
	assert_null(wk_json_meta(o, "annotations", "kubevirt.io/nodeName"));
	assert_null(wk_json_meta(o, "labels", NULL));
	assert_null(wk_json_meta(NULL, "labels", "n"));
	cJSON_Delete(o);
}

static void numbers(void **state)
{
	cJSON *o = cJSON_Parse("{\"status\":{\"percent\":42.5,\"eta\":0,\"neg\":-3,\"s\":\"7\","
			       "\"big\":1e308,\"n\":null,\"t\":true}}");

	(void)state;
	assert_non_null(o);
	assert_true(wk_json_num(o, "status.percent", -1) == 42.5);
	assert_true(wk_json_num(o, "status.eta", -1) == 0);
	assert_true(wk_json_num(o, "status.neg", 0) == -3);
	assert_true(wk_json_num(o, "status.big", 0) == 1e308);
	assert_true(wk_json_num(o, "status.s", -1) == -1); /* a string is not a number */
	assert_true(wk_json_num(o, "status.n", -1) == -1);
	assert_true(wk_json_num(o, "status.t", -1) == -1);
	assert_true(wk_json_num(o, "status", -1) == -1);
	assert_true(wk_json_num(o, "status.missing", 5) == 5);
	assert_true(wk_json_num(NULL, "status.percent", 9) == 9);
	assert_true(wk_json_num(o, NULL, 8) == 8); /* NULL path: o itself, an object */
	cJSON_Delete(o);
}

/* Out-of-range numbers give the default instead of an undefined conversion (run under
 * SANITIZE=address,undefined, which adds float-cast-overflow). */
static void integers(void **state)
{
	cJSON *o = cJSON_Parse("[3, -7, 1e300, -1e300, 9223372036854775808, 4.9, \"5\", null]");

	(void)state;
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 0), 1), 3);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 1), 1), -7);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 2), 1), 1);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 3), 1), 1);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 4), 1), 1);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 5), 1), 4);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 6), 1), 1);
	assert_int_equal(wk_json_int(cJSON_GetArrayItem(o, 7), 1), 1);
	assert_int_equal(wk_json_int(NULL, 2), 2);
	cJSON_Delete(o);
}

static void whole_keys(void **state)
{
	cJSON *o = cJSON_Parse("{\"app.kubernetes.io/managed-by\":\"wukong\",\"a\":{\"b\":\"c\"},"
			       "\"n\":1,\"\":\"empty\"}");

	(void)state;
	assert_string_equal(wk_json_key_str(o, "app.kubernetes.io/managed-by"), "wukong");
	assert_null(wk_json_str(o, "app.kubernetes.io/managed-by"));
	assert_null(wk_json_key_str(o, "a.b")); /* no path walking */
	assert_null(wk_json_key_str(o, "a"));	/* not a string */
	assert_null(wk_json_key_str(o, "n"));
	assert_string_equal(wk_json_key_str(o, ""), "empty");
	assert_null(wk_json_key_str(o, NULL));
	assert_null(wk_json_key_str(NULL, "a"));
	cJSON_Delete(o);
}

static void hostile(void **state)
{
	cJSON *o = cJSON_Parse("{\"a\":{\"\":{\"b\":\"x\"}}}");
	char longkey[300];

	(void)state;
	assert_null(wk_json_path(NULL, "a"));
	assert_null(wk_json_str(NULL, NULL));
	assert_ptr_equal(wk_json_path(o, NULL), o);
	/* an empty segment is the empty key */
	assert_string_equal(wk_json_str(o, "a..b"), "x");
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_null(wk_json_path(o, longkey)); /* over-long segment: absent, no overflow */
	assert_null(wk_json_path(o, "a.b.c.d.e.f.g.h"));
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paths),	  cmocka_unit_test(meta),     cmocka_unit_test(numbers),
	    cmocka_unit_test(whole_keys), cmocka_unit_test(integers), cmocka_unit_test(hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
