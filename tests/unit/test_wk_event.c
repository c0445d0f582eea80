/* test_wk_event.c - a wukong.events body turned into a Kubernetes-shaped object
 * (core/wk_event.c): valid, empty, truncated/garbage bodies, nulls, hostile values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_event.h"

#include <cjson/cJSON.h>

static const cJSON *get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static cJSON *of(const char *json)
{
	cJSON *body = json ? cJSON_Parse(json) : NULL;
	cJSON *o = wk_event_object(body);

	cJSON_Delete(body);
	assert_non_null(o);
	return o;
}

static void valid(void **state)
{
	cJSON *o;

	(void)state;
	o = of(
	    "{\"cluster\":\"local\",\"change\":\"modified\",\"kind\":\"Wukong\",\"name\":\"web-1\","
	    "\"namespace\":\"default\",\"uid\":\"u-1\",\"generation\":3,"
	    "\"resourceVersion\":\"42\",\"labels\":{\"a\":\"b\"},\"annotations\":null,"
	    "\"deletionTimestamp\":null,\"spec\":{\"migration\":{\"targetNode\":\"n2\"}},"
	    "\"status\":{\"phase\":\"Running\"}}");
	assert_string_equal(get(o, "metadata", "name")->valuestring, "web-1");
	assert_string_equal(get(o, "metadata", "namespace")->valuestring, "default");
	assert_string_equal(get(o, "metadata", "uid")->valuestring, "u-1");
	assert_int_equal(get(o, "metadata", "generation")->valueint, 3);
	assert_string_equal(get(o, "metadata", "resourceVersion")->valuestring, "42");
	assert_string_equal(get(get(o, "metadata", "labels"), "a", NULL)->valuestring, "b");
	/* nulls are left out, as are fields that are not metadata */
	assert_null(get(o, "metadata", "annotations"));
	assert_null(get(o, "metadata", "deletionTimestamp"));
	assert_null(get(o, "metadata", "cluster"));
	assert_null(get(o, "metadata", "change"));
	assert_null(get(o, "cluster", NULL));
	assert_string_equal(get(get(o, "spec", "migration"), "targetNode", NULL)->valuestring,
			    "n2");
	assert_string_equal(get(o, "status", "phase")->valuestring, "Running");
	cJSON_Delete(o);
}

static void empty_and_garbage(void **state)
{
	const char *bad[] = {NULL, "{}", "[1,2]", "\"name\"", "42", "null", "{\"name\":"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *o = of(bad[i]);

		assert_true(cJSON_IsObject(get(o, "metadata", NULL)));
		assert_null(get(o, "metadata", NULL)->child);
		assert_null(get(o, "spec", NULL));
		assert_null(get(o, "status", NULL));
		cJSON_Delete(o);
	}
}

static void hostile(void **state)
{
	char *deep = NULL;
	size_t i, n = 500;
	cJSON *o;

	(void)state;
	/* values are copied as they are, never interpreted: a traversal name stays text */
	o = of("{\"name\":\"../../etc\",\"namespace\":\"kube-system\",\"spec\":null}");
	assert_string_equal(get(o, "metadata", "name")->valuestring, "../../etc");
	/* a null spec is copied as null (the caller's spec reader decides) */
	assert_true(cJSON_IsNull(get(o, "spec", NULL)));
	cJSON_Delete(o);
	/* deep nesting inside spec is copied whole */
	deep = malloc(n * 6 + 32);
	strcpy(deep, "{\"spec\":");
	for (i = 0; i < n; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (i = 0; i < n; i++)
		strcat(deep, "}");
	strcat(deep, "}");
	{
		cJSON *body = cJSON_Parse(deep);

		if (body) { /* cJSON's own nesting cap may refuse it: then there is nothing to copy
			     */
			const cJSON *x;

			o = wk_event_object(body);
			x = get(o, "spec", NULL);
			for (i = 0; i < n; i++)
				x = get(x, "a", NULL);
			assert_int_equal(x->valueint, 1);
			cJSON_Delete(o);
			cJSON_Delete(body);
		}
	}
	free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid),
	    cmocka_unit_test(empty_and_garbage),
	    cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
