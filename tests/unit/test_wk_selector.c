/* test_wk_selector.c - label selector strings and objects, field selectors, caps and hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "wk_selector.h"
#include "wk_buf.h"

static cJSON *labels;

static int setup(void **state)
{
	(void)state;
	labels = cJSON_Parse("{\"app\":\"web\",\"tier\":\"front\",\"env\":\"prod\","
			     "\"novasphere.dev/pool\":\"gpu\",\"empty\":\"\",\"num\":3}");
	return labels ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cJSON_Delete(labels);
	return 0;
}

static bool sel_match(const char *s)
{
	char err[256];
	struct wk_selector *sel = wk_selector_parse(s, err, sizeof(err));
	bool m;

	if (!sel)
		fail_msg("parse '%s': %s", s, err);
	m = wk_selector_matches(sel, labels);
	wk_selector_destroy(sel);
	return m;
}

static void sel_bad(const char *s, const char *why)
{
	char err[256] = "";
	struct wk_selector *sel = wk_selector_parse(s, err, sizeof(err));

	if (sel)
		fail_msg("'%s' parsed but should not", s);
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' lacks '%s'", s, err, why);
}

static void string_operators(void **state)
{
	(void)state;
	assert_true(sel_match(""));
	assert_true(sel_match("   "));
	assert_true(sel_match("app=web"));
	assert_true(sel_match("app==web"));
	assert_true(sel_match(" app = web , tier=front "));
	assert_false(sel_match("app=db"));
	assert_false(sel_match("app=web,tier=back"));
	assert_true(sel_match("app!=db"));
	assert_false(sel_match("app!=web"));
	assert_true(sel_match("missing!=x")); /* absent label satisfies != */
	assert_true(sel_match("env in (prod,staging)"));
	assert_true(sel_match("env in(prod)"));
	assert_false(sel_match("env in (dev,staging)"));
	assert_false(sel_match("missing in (x)"));
	assert_true(sel_match("env notin (dev)"));
	assert_false(sel_match("env notin (dev,prod)"));
	assert_true(sel_match("missing notin (x)"));
	assert_true(sel_match("app"));
	assert_false(sel_match("missing"));
	assert_true(sel_match("!missing"));
	assert_false(sel_match("!app"));
	assert_true(sel_match("novasphere.dev/pool=gpu"));
	assert_true(sel_match("empty="));
	assert_true(sel_match("empty in ()"));
	assert_false(sel_match("num=3")); /* non-string label values count as absent */
	assert_true(sel_match("app=web,!missing,env in (prod),tier notin (back),app"));
}

static void string_malformed(void **state)
{
	(void)state;
	sel_bad(",", "expected a label key");
	sel_bad("app=web,", "expected a label key");
	sel_bad("app=web,,tier=front", "expected a label key");
	sel_bad("=web", "expected a label key");
	sel_bad("app in", "expected '('");
	sel_bad("app in (a", "expected ',' or ')'");
	sel_bad("app in (a b)", "expected ',' or ')'");
	sel_bad("app between (a)", "unknown operator");
	sel_bad("app > 3", "unsupported operator");
	sel_bad("app=web tier=front", "expected ','");
	sel_bad("!app=web", "expected ',' after '!key'");
	sel_bad("app=(x)", "expected ','");
	sel_bad("a=b=c", "expected ','");
	sel_bad("-app=web", "invalid label key");
	sel_bad("app-=web", "invalid label key");
	sel_bad("Novasphere.dev/pool=gpu", "prefix part must be a lower case DNS-1123 subdomain");
	sel_bad("/pool=gpu", "prefix part must not be empty");
	sel_bad("a.b/=gpu", "name part must not be empty");
	sel_bad("a..b/c=d", "DNS-1123");
	sel_bad("app=-web", "invalid label value");
	sel_bad("app=we/b", "invalid label value");
	sel_bad("app=a\x01", "invalid label value");
	sel_bad("app in (ok,b@d)", "invalid label value");
	sel_bad("../../etc/passwd", "invalid label key");
}

static char *repeat(char c, size_t n)
{
	char *s = wk_xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void string_caps(void **state)
{
	char *k63 = repeat('k', 63), *k64 = repeat('k', 64), *p253 = repeat('p', 253);
	char *p254 = repeat('p', 254), buf[8192], err[256];
	struct wk_buf b;
	struct wk_selector *sel;
	int i;

	(void)state;
	snprintf(buf, sizeof(buf), "%s", k63);
	sel = wk_selector_parse(buf, err, sizeof(err));
	assert_non_null(sel);
	wk_selector_destroy(sel);
	sel_bad(k64, "no more than 63");
	snprintf(buf, sizeof(buf), "x=%s", k64);
	sel_bad(buf, "no more than 63");
	snprintf(buf, sizeof(buf), "%s/%s", p253, k63);
	sel = wk_selector_parse(buf, err, sizeof(err));
	assert_non_null(sel);
	wk_selector_destroy(sel);
	snprintf(buf, sizeof(buf), "%s/a", p254);
	sel_bad(buf, "no more than 253");

	/* 64 requirements are fine, 65 are not. */
	wk_buf_init(&b, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(wk_buf_addf(&b, "%sk%d", i ? "," : "", i), 0);
	sel = wk_selector_parse(wk_buf_str(&b), err, sizeof(err));
	assert_non_null(sel);
	wk_selector_destroy(sel);
	assert_int_equal(wk_buf_adds(&b, ",k64"), 0);
	sel_bad(wk_buf_str(&b), "more than 64 requirements");

	/* 64 values, then 65. */
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "k in ("), 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(wk_buf_addf(&b, "%sv%d", i ? "," : "", i), 0);
	assert_int_equal(wk_buf_adds(&b, ")"), 0);
	sel = wk_selector_parse(wk_buf_str(&b), err, sizeof(err));
	assert_non_null(sel);
	wk_selector_destroy(sel);
	b.len--; /* drop ')' (test-only poke at the buffer) */
	assert_int_equal(wk_buf_adds(&b, ",v64)"), 0);
	sel_bad(wk_buf_str(&b), "more than 64 values");

	/* 4096 bytes parse; 4097 are refused before lexing. */
	wk_buf_reset(&b);
	while (b.len < 4096 - 4)
		assert_int_equal(wk_buf_adds(&b, "    "), 0);
	assert_int_equal(wk_buf_adds(&b, "a=bc"), 0);
	assert_int_equal(b.len, 4096);
	sel = wk_selector_parse(wk_buf_str(&b), err, sizeof(err));
	assert_non_null(sel);
	wk_selector_destroy(sel);
	assert_int_equal(wk_buf_adds(&b, "d"), 0);
	sel_bad(wk_buf_str(&b), "longer than 4096 bytes");
	wk_buf_release(&b);
	free(k63);
	free(k64);
	free(p253);
	free(p254);
}

static void canonical_string(void **state)
{
	char err[256], *s;
	struct wk_selector *sel;

	(void)state;
	sel = wk_selector_parse("tier notin (b,a), app==web,!gone, env in (z, y),has,x!=1", err,
				sizeof(err));
	assert_non_null(sel);
	assert_false(wk_selector_empty(sel));
	s = wk_selector_to_string(sel);
	assert_string_equal(s, "app=web,env in (y,z),!gone,has,tier notin (a,b),x!=1");
	wk_selector_destroy(sel);
	/* The canonical form parses back to the same canonical form. */
	sel = wk_selector_parse(s, err, sizeof(err));
	assert_non_null(sel);
	free(s);
	s = wk_selector_to_string(sel);
	assert_string_equal(s, "app=web,env in (y,z),!gone,has,tier notin (a,b),x!=1");
	free(s);
	wk_selector_destroy(sel);
	sel = wk_selector_parse("", err, sizeof(err));
	assert_true(wk_selector_empty(sel));
	s = wk_selector_to_string(sel);
	assert_string_equal(s, "");
	free(s);
	wk_selector_destroy(sel);
	wk_selector_destroy(NULL);
}

static struct wk_selector *from_json(const char *json, char *err, size_t err_size)
{
	cJSON *j = cJSON_Parse(json);
	struct wk_selector *sel;

	assert_non_null(j);
	sel = wk_selector_from_json(j, err, err_size);
	cJSON_Delete(j);
	return sel;
}

static bool obj_match(const char *json)
{
	char err[256];
	struct wk_selector *sel = from_json(json, err, sizeof(err));
	bool m;

	if (!sel)
		fail_msg("%s: %s", json, err);
	m = wk_selector_matches(sel, labels);
	wk_selector_destroy(sel);
	return m;
}

static void obj_bad(const char *json, const char *why)
{
	char err[256] = "";
	struct wk_selector *sel = from_json(json, err, sizeof(err));

	if (sel)
		fail_msg("%s parsed but should not", json);
	if (!strstr(err, why))
		fail_msg("%s: error '%s' lacks '%s'", json, err, why);
}

static void object_form(void **state)
{
	char err[64];
	struct wk_selector *sel;

	(void)state;
	sel = wk_selector_from_json(NULL, err, sizeof(err));
	assert_true(wk_selector_empty(sel));
	assert_true(wk_selector_matches(sel, labels));
	assert_true(wk_selector_matches(sel, NULL));
	wk_selector_destroy(sel);
	assert_true(obj_match("{}"));
	assert_true(obj_match("{\"matchLabels\":{\"app\":\"web\",\"env\":\"prod\"}}"));
	assert_false(obj_match("{\"matchLabels\":{\"app\":\"web\",\"env\":\"dev\"}}"));
	assert_true(obj_match("{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\","
			      "\"values\":[\"prod\",\"dev\"]}]}"));
	assert_false(obj_match("{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\","
			       "\"values\":[\"prod\"]}]}"));
	assert_true(
	    obj_match("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]}"));
	assert_true(obj_match("{\"matchExpressions\":[{\"key\":\"x\",\"operator\":"
			      "\"DoesNotExist\",\"values\":[]}]}"));
	assert_false(obj_match("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":"
			       "\"app\",\"operator\":\"DoesNotExist\"}]}"));
	sel = from_json("{\"matchLabels\":{\"b\":\"1\"},\"matchExpressions\":[{\"key\":\"a\","
			"\"operator\":\"NotIn\",\"values\":[\"2\",\"1\"]}]}",
			err, sizeof(err));
	assert_non_null(sel);
	{
		char *s = wk_selector_to_string(sel);

		assert_string_equal(s, "a notin (1,2),b=1");
		free(s);
	}
	wk_selector_destroy(sel);
}

static void object_malformed(void **state)
{
	(void)state;
	obj_bad("[]", "not an object");
	obj_bad("\"app=web\"", "not an object");
	obj_bad("{\"matchLabels\":[]}", "'matchLabels' must be an object");
	obj_bad("{\"matchLabels\":{\"app\":1}}", "must be a string");
	obj_bad("{\"matchLabels\":{\"app\":\"we b\"}}", "invalid label value");
	obj_bad("{\"matchLabels\":{\"Bad Key\":\"x\"}}", "invalid label key");
	obj_bad("{\"matchExpressions\":{}}", "'matchExpressions' must be an array");
	obj_bad("{\"matchExpressions\":[1]}", "not an object");
	obj_bad("{\"matchExpressions\":[{\"operator\":\"In\"}]}", "needs a string 'key'");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\"}]}", "'operator' must be a string");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"x\"]}]}",
		"unknown operator");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
		"must be non-empty");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
		"must be non-empty");
	obj_bad(
	    "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
	    "must be empty");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}",
		"'values' must be an array");
	obj_bad("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
		"values must be strings");
}

static void object_caps(void **state)
{
	struct wk_buf b;
	char err[256];
	struct wk_selector *sel;
	int i;

	(void)state;
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_adds(&b, "{\"matchLabels\":{"), 0);
	for (i = 0; i < 65; i++)
		assert_int_equal(wk_buf_addf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i), 0);
	assert_int_equal(wk_buf_adds(&b, "}}"), 0);
	sel = from_json(wk_buf_str(&b), err, sizeof(err));
	assert_null(sel);
	assert_non_null(strstr(err, "more than 64 requirements"));
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "{\"matchExpressions\":[{\"key\":\"k\",\"operator\":"
					 "\"In\",\"values\":["),
			 0);
	for (i = 0; i < 65; i++)
		assert_int_equal(wk_buf_addf(&b, "%s\"v%d\"", i ? "," : "", i), 0);
	assert_int_equal(wk_buf_adds(&b, "]}]}"), 0);
	sel = from_json(wk_buf_str(&b), err, sizeof(err));
	assert_null(sel);
	assert_non_null(strstr(err, "more than 64 values"));
	wk_buf_release(&b);
}

static bool field_match(const char *s, const char *json)
{
	char err[256];
	struct wk_field_selector *fs = wk_field_selector_parse(s, err, sizeof(err));
	cJSON *obj = cJSON_Parse(json);
	bool m;

	if (!fs)
		fail_msg("parse '%s': %s", s, err);
	m = wk_field_selector_matches(fs, obj);
	wk_field_selector_destroy(fs);
	cJSON_Delete(obj);
	return m;
}

static void field_bad(const char *s, const char *why)
{
	char err[256] = "";
	struct wk_field_selector *fs = wk_field_selector_parse(s, err, sizeof(err));

	if (fs)
		fail_msg("'%s' parsed but should not", s);
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' lacks '%s'", s, err, why);
}

static void fields(void **state)
{
	static const char *pod =
	    "{\"metadata\":{\"name\":\"vm1\",\"namespace\":\"prod\"},"
	    "\"spec\":{\"nodeName\":\"n1\",\"unschedulable\":true,\"replicas\":2},"
	    "\"status\":{\"phase\":\"Running\"}}";

	(void)state;
	assert_true(field_match("", pod));
	assert_true(field_match("metadata.name=vm1", pod));
	assert_true(field_match("metadata.name==vm1,metadata.namespace!=dev", pod));
	assert_false(field_match("metadata.name=vm2", pod));
	assert_false(field_match("metadata.namespace!=prod", pod));
	assert_true(field_match("spec.nodeName=n1,status.phase=Running", pod));
	assert_true(field_match("spec.unschedulable=true", pod));
	assert_true(field_match("spec.replicas=2", pod));
	assert_true(field_match("spec.missing=", pod)); /* absent compares as "" */
	assert_true(field_match("spec.missing!=x", pod));
	assert_true(field_match("spec=", pod)); /* a non-scalar is "" too */
	assert_true(field_match("metadata.name.deeper=", pod));
	assert_true(field_match("metadata.name=a\\,b", "{\"metadata\":{\"name\":\"a,b\"}}"));
	assert_true(
	    field_match("metadata.name=a\\=b\\\\", "{\"metadata\":{\"name\":\"a=b\\\\\"}}"));
	assert_true(field_match("metadata.name=vm1", NULL) == false);
	assert_true(field_match("metadata.name=", NULL));
	field_bad("metadata.name", "has no operator");
	field_bad("=x", "empty field name");
	field_bad("a=b,", "has no operator");
	field_bad(",a=b", "has no operator");
	field_bad("a b=c", "invalid field name");
	field_bad("a=b\\x", "invalid escape sequence");
	field_bad("a=b\\", "invalid escape sequence");
	field_bad("a=\x01", "control character");
}

static void field_caps(void **state)
{
	struct wk_buf b;
	struct wk_field_selector *fs;
	char err[256];
	int i;

	(void)state;
	wk_buf_init(&b, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(wk_buf_addf(&b, "%sa%d=b", i ? "," : "", i), 0);
	fs = wk_field_selector_parse(wk_buf_str(&b), err, sizeof(err));
	assert_non_null(fs);
	wk_field_selector_destroy(fs);
	assert_int_equal(wk_buf_adds(&b, ",x=y"), 0);
	field_bad(wk_buf_str(&b), "more than 64 terms");
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "a="), 0);
	while (b.len < 4096)
		assert_int_equal(wk_buf_adds(&b, "x"), 0);
	fs = wk_field_selector_parse(wk_buf_str(&b), err, sizeof(err));
	assert_non_null(fs);
	wk_field_selector_destroy(fs);
	assert_int_equal(wk_buf_adds(&b, "x"), 0);
	field_bad(wk_buf_str(&b), "longer than 4096 bytes");
	wk_buf_release(&b);
	wk_field_selector_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(string_operators), cmocka_unit_test(string_malformed),
	    cmocka_unit_test(string_caps),	cmocka_unit_test(canonical_string),
	    cmocka_unit_test(object_form),	cmocka_unit_test(object_malformed),
	    cmocka_unit_test(object_caps),	cmocka_unit_test(fields),
	    cmocka_unit_test(field_caps),
	};

	return cmocka_run_group_tests_name("wk_selector", tests, setup, teardown);
}
