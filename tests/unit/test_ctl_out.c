/* test_ctl_out.c - wukongctl's output formats: kubectl JSONPath templates (range, literals,
 * indexes, missing fields, malformed and oversized templates), block YAML that reads back as the
 * same data, middle truncation that keeps the end, and tables fitted to a width. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/wukongctl/ctl_out.h"
#include "wk_yaml.h"

#include <cjson/cJSON.h>
#include <yaml.h>

static const char list_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
    "{\"namespace\":\"default\",\"name\":\"web-1\",\"phase\":\"Migrating\",\"progress\":42,"
    "\"conditions\":[{\"type\":\"A\"},{\"type\":\"B\"}]},"
    "{\"namespace\":\"prod\",\"name\":\"db-1\",\"phase\":\"Succeeded\",\"progress\":100.5}]}";

static char *jp(const char *tmpl, const cJSON *v, int *rc)
{
	struct wk_buf b;
	char err[256];

	wk_buf_init(&b, 0);
	*rc = ctl_jsonpath(tmpl, v, &b, err, sizeof(err));
	if (*rc < 0) {
		wk_buf_release(&b);
		return strdup(err);
	}
	{
		char *s = wk_buf_take(&b, NULL);

		return s ? s : strdup("");
	}
}

static void jsonpath(void **state)
{
	cJSON *v = cJSON_Parse(list_json);
	int rc;
	char *s;
	static const struct {
		const char *tmpl, *want;
	} ok[] = {
	    {"{.items[*].name}", "web-1 db-1"},
	    {"{.items[0].phase}", "Migrating"},
	    {"{.items[-1].name}", "db-1"},
	    {"{$.kind}", "List"},
	    {"{.items[0]['name']}", "web-1"},
	    {"{.items[*].progress}", "42 100.5"},
	    {"{range .items[*]}{.namespace}/{.name}{\"\\n\"}{end}", "default/web-1\nprod/db-1\n"},
	    {"{range .items[*]}{range .conditions[*]}{.type},{end};{end}", "A,B,;;"},
	    {"x={.items[5].name}={.nosuch.field}", "x=="},
	    {"{range .nosuch[*]}{.a}{end}done", "done"},
	    {"{.items[0].conditions[1]}", "{\"type\":\"B\"}"},
	    {"plain text", "plain text"},
	    {"{.items[*].conditions[*].type}", "A B"},
	};
	static const char *const bad[] = {
	    "{.items[*].name", "{.items[}",   "{..name}",    "{range .items[*]}{.name}",
	    "{end}",	       "{.items[x]}", "{.items['a}", "{range .items[*]}{range .a}{end}"};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		s = jp(ok[i].tmpl, v, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(s, ok[i].want);
		free(s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = jp(bad[i], v, &rc);
		assert_int_equal(rc, -1);
		assert_non_null(strstr(s, "jsonpath"));
		free(s);
	}
	/* nesting past the cap, an oversized template */
	{
		char deep[512] = "", big[CTL_ARG_MAX + 8];

		for (int i = 0; i < CTL_JP_MAX_DEPTH + 2; i++)
			strcat(deep, "{range .items[*]}");
		for (int i = 0; i < CTL_JP_MAX_DEPTH + 2; i++)
			strcat(deep, "{end}");
		s = jp(deep, v, &rc);
		assert_int_equal(rc, -1);
		free(s);
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		s = jp(big, v, &rc);
		assert_int_equal(rc, -1);
		free(s);
		s = jp("", v, &rc);
		assert_int_equal(rc, 0);
		free(s);
	}
	cJSON_Delete(v);
}

/* Walk a libyaml document back into JSON (scalars as strings unless plain numbers / bools). */
static cJSON *yaml_node(yaml_document_t *d, yaml_node_t *n)
{
	cJSON *o;

	switch (n->type) {
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);

			cJSON_AddItemToObject(o, (char *)k->data.scalar.value,
					      yaml_node(d, yaml_document_get_node(d, p->value)));
		}
		return o;
	case YAML_SEQUENCE_NODE:
		o = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++)
			cJSON_AddItemToArray(o, yaml_node(d, yaml_document_get_node(d, *i)));
		return o;
	default: {
		const char *s = (const char *)n->data.scalar.value;
		char *end;
		double x;

		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (!strcmp(s, "true") || !strcmp(s, "false"))
				return cJSON_CreateBool(!strcmp(s, "true"));
			if (!strcmp(s, "null"))
				return cJSON_CreateNull();
			x = strtod(s, &end);
			if (*s && !*end)
				return cJSON_CreateNumber(x);
		}
		return cJSON_CreateString(s);
	}
	}
}

static void yaml_roundtrip(void **state)
{
	static const char *const docs[] = {
	    list_json,
	    "{\"a\":\"\",\"b\":\"true\",\"c\":\"123\",\"d\":\"x: y\",\"e\":\"- "
	    "z\",\"f\":\"line\\n2\","
	    "\"g\":\"#c\",\"h\":null,\"i\":false,\"j\":[],\"k\":{},\"l\":[[1,2],[\"x\"]],"
	    "\"m\":\"2026-12-08T00:00:00Z\",\"n\":\"no\",\"o\":\" lead\",\"p\":\"\\u00e9\","
	    "\"key with space\":1,\"q\":[{\"a\":{\"b\":[1]}}]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *v = cJSON_Parse(docs[i]), *back;
		struct wk_buf b;
		yaml_parser_t p;
		yaml_document_t d;
		const char *y;

		assert_non_null(v);
		wk_buf_init(&b, 0);
		wk_yaml_write(v, &b);
		y = wk_buf_str(&b);
		assert_true(yaml_parser_initialize(&p));
		yaml_parser_set_input_string(&p, (const unsigned char *)y, strlen(y));
		assert_true(yaml_parser_load(&p, &d));
		back = yaml_node(&d, yaml_document_get_root_node(&d));
		if (!cJSON_Compare(v, back, true)) {
			char *x = cJSON_PrintUnformatted(back);

			fprintf(stderr, "yaml:\n%s\nread back as %s\n", y, x);
			free(x);
			fail();
		}
		cJSON_Delete(back);
		yaml_document_delete(&d);
		yaml_parser_delete(&p);
		wk_buf_release(&b);
		cJSON_Delete(v);
	}
}

static void json_layout(void **state)
{
	cJSON *v = cJSON_Parse("{\"a\":\"t\\tb\",\"b\":[1,{\"c\":null}]}"), *back;
	struct wk_buf b;

	(void)state;
	wk_buf_init(&b, 0);
	ctl_json(v, &b);
	assert_string_equal(wk_buf_str(&b), "{\n    \"a\": \"t\\tb\",\n    \"b\": [1, {\n"
					    "            \"c\": null\n        }]\n}\n");
	back = cJSON_Parse(wk_buf_str(&b));
	assert_true(cJSON_Compare(v, back, true));
	cJSON_Delete(back);
	cJSON_Delete(v);
	wk_buf_release(&b);
}

static void trunc_mid(void **state)
{
	char out[64];

	(void)state;
	ctl_trunc_mid("web-1", 10, out, sizeof(out));
	assert_string_equal(out, "web-1");
	ctl_trunc_mid("a-very-long-wukong-name-7", 12, out, sizeof(out));
	assert_int_equal(strlen(out), 12);
	assert_string_equal(out, "a-v..-name-7");
	ctl_trunc_mid("abcdefgh", 3, out, sizeof(out));
	assert_string_equal(out, "abc");
	ctl_trunc_mid("ab\x1b[2Jcd", 40, out, sizeof(out));
	assert_null(strchr(out, '\x1b'));
	ctl_trunc_mid("abcdefghijklmnop", 40, out, 5); /* the buffer caps it */
	assert_int_equal(strlen(out), 4);
	ctl_trunc_mid(NULL, 5, out, sizeof(out));
	assert_string_equal(out, "");
}

static void tables(void **state)
{
	static const char *const head[] = {"NAME", "PHASE", "NODE"};
	const char *r1[] = {"short", "Running", "n1"};
	const char *r2[] = {"a-much-longer-name-of-a-wukong-number-7", "Snapshotting", NULL};
	struct ctl_tab t;
	struct wk_buf b;

	(void)state;
	ctl_tab_init(&t, 3, head);
	t.shrink[0] = true;
	ctl_tab_add(&t, r1);
	t.color[ctl_tab_add(&t, r2)] = 31;
	wk_buf_init(&b, 0);
	ctl_tab_render(&t, 0, false, true, &b);
	assert_string_equal(wk_buf_str(&b),
			    "NAME                                      PHASE          NODE\n"
			    "short                                     Running        n1\n"
			    "a-much-longer-name-of-a-wukong-number-7   Snapshotting   \n");
	wk_buf_reset(&b);
	ctl_tab_render(&t, 40, true, false, &b);
	assert_string_equal(wk_buf_str(&b),
			    "short                Running        n1\n"
			    "\033[31ma-muc..ng-number-7   Snapshotting   \033[0m\n");
	/* too narrow to fit: names stop at 8, the rest stays whole */
	wk_buf_reset(&b);
	ctl_tab_render(&t, 10, false, false, &b);
	assert_non_null(strstr(wk_buf_str(&b), "a-..er-7   Snapshotting"));
	wk_buf_release(&b);
	ctl_tab_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jsonpath),	   cmocka_unit_test(yaml_roundtrip),
	    cmocka_unit_test(json_layout), cmocka_unit_test(trunc_mid),
	    cmocka_unit_test(tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
