/* test_sim_schema.c - CRD openAPIV3Schema checks (the shipped Wukong CRD and small schemas) and the
 * YAML loader behind them: valid, empty, truncated, garbage, caps, hostile nesting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_schema.h"
#include "../../tools/sim/sim_yaml.h"

#define CRD "deploy/crds/wukong.yaml" /* tests run from the repository root */

static cJSON *js(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static cJSON *crd;

static int setup(void **state)
{
	char err[256];

	(void)state;
	crd = sim_yaml_load_file(CRD, err, sizeof(err));
	if (!crd)
		fprintf(stderr, "%s\n", err);
	return crd ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cJSON_Delete(crd);
	return 0;
}

/* Validate obj against the Wukong schema; returns the causes (caller frees). */
static cJSON *check(cJSON *obj, cJSON **unknown)
{
	const cJSON *schema = sim_crd_schema(crd, "v1alpha1");
	cJSON *causes = cJSON_CreateArray();

	assert_non_null(schema);
	*unknown = cJSON_CreateArray();
	sim_schema_validate(schema, obj, causes, *unknown);
	return causes;
}

static const cJSON *cause_for(const cJSON *causes, const char *field)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, causes)
	{
		if (!strcmp(cJSON_GetObjectItem(c, "field")->valuestring, field))
			return c;
	}
	return NULL;
}

static void crd_shape(void **state)
{
	const cJSON *spec = cJSON_GetObjectItem(crd, "spec");

	(void)state;
	assert_string_equal(cJSON_GetObjectItem(spec, "group")->valuestring, "vm.novasphere.dev");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "names"), "kind")->valuestring, "Wukong");
	assert_null(sim_crd_schema(crd, "v1"));
	assert_null(sim_crd_schema(NULL, "v1alpha1"));
}

static void valid_wukong(void **state)
{
	cJSON *o =
	    js("{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\","
	       "\"metadata\":{\"name\":\"a\",\"anything\":1},"
	       "\"spec\":{\"cpu\":2,\"memory\":\"4Gi\",\"disks\":[{\"name\":\"system\","
	       "\"size\":\"20Gi\",\"accessMode\":\"ReadWriteMany\"}],\"networks\":[{\"name\":"
	       "\"default\"}],\"nodeSelector\":{\"a\":\"b\"},\"migrationPolicy\":{"
	       "\"triggerConditions\":[{\"type\":\"resourcePressure\",\"threshold\":\"80%\"}]}},"
	       "\"status\":{\"phase\":\"Running\",\"observedGeneration\":3}}");
	cJSON *unknown, *causes = check(o, &unknown);
	const cJSON *net;

	(void)state;
	assert_int_equal(cJSON_GetArraySize(causes), 0);
	assert_int_equal(cJSON_GetArraySize(unknown), 0);
	/* defaults applied: running, network type and binding */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "running")));
	net =
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "networks"), 0);
	assert_string_equal(cJSON_GetObjectItem(net, "type")->valuestring, "pod");
	assert_string_equal(cJSON_GetObjectItem(net, "binding")->valuestring, "masquerade");
	/* metadata is not pruned */
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "anything"));
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
}

static void invalid_wukong(void **state)
{
	cJSON *o =
	    js("{\"spec\":{\"cpu\":\"string\",\"memory\":4294967296,\"disks\":[{\"name\":"
	       "\"Bad_Name\",\"size\":\"20Gi\",\"accessMode\":\"Sometimes\"},{\"size\":1}],"
	       "\"extra\":true,\"networks\":[{\"name\":\"n\",\"type\":\"pod\",\"bogus\":1}]},"
	       "\"status\":{\"phase\":\"Flying\"}}");
	cJSON *unknown, *causes = check(o, &unknown);
	const cJSON *c;
	char *msg;

	(void)state;
	c = cause_for(causes, "spec.cpu");
	assert_non_null(c);
	assert_string_equal(cJSON_GetObjectItem(c, "reason")->valuestring, "FieldValueTypeInvalid");
	assert_string_equal(cJSON_GetObjectItem(c, "message")->valuestring,
			    "Invalid value: \"string\": spec.cpu in body must be of type integer: "
			    "\"string\"");
	assert_null(cause_for(causes, "spec.memory")); /* int-or-string takes an integer */
	c = cause_for(causes, "spec.disks[0].accessMode");
	assert_string_equal(cJSON_GetObjectItem(c, "reason")->valuestring,
			    "FieldValueNotSupported");
	assert_string_equal(
	    cJSON_GetObjectItem(c, "message")->valuestring,
	    "Unsupported value: \"Sometimes\": supported values: \"ReadWriteMany\", "
	    "\"ReadWriteOnce\", \"ReadOnlyMany\", \"ReadWriteOncePod\"");
	c = cause_for(causes, "spec.disks[0].name");
	assert_string_equal(cJSON_GetObjectItem(c, "reason")->valuestring, "FieldValueInvalid");
	assert_non_null(strstr(cJSON_GetObjectItem(c, "message")->valuestring, "should match"));
	c = cause_for(causes, "spec.disks[1].name");
	assert_string_equal(cJSON_GetObjectItem(c, "reason")->valuestring, "FieldValueRequired");
	assert_string_equal(cJSON_GetObjectItem(c, "message")->valuestring, "Required value");
	assert_non_null(cause_for(causes, "status.phase"));
	/* unknown fields are pruned and reported */
	assert_int_equal(cJSON_GetArraySize(unknown), 2);
	assert_string_equal(cJSON_GetArrayItem(unknown, 0)->valuestring, "spec.extra");
	assert_string_equal(cJSON_GetArrayItem(unknown, 1)->valuestring, "spec.networks[0].bogus");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "extra"));
	msg = sim_schema_message("Wukong", "vm.novasphere.dev", "x", causes);
	assert_memory_equal(msg,
			    "Wukong.vm.novasphere.dev \"x\" is invalid: [spec.cpu: Invalid value",
			    strlen("Wukong.vm.novasphere.dev \"x\" is invalid: [spec.cpu: Invalid "
				   "value"));
	free(msg);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
}

static void bounds(void **state)
{
	cJSON *unknown, *causes, *o;
	char *msg;

	(void)state;
	o = js("{\"spec\":{\"cpu\":0,\"memory\":\"1Gi\"}}");
	causes = check(o, &unknown);
	assert_int_equal(cJSON_GetArraySize(causes), 1);
	msg = sim_schema_message("Wukong", "vm.novasphere.dev", "x", causes);
	assert_string_equal(msg, "Wukong.vm.novasphere.dev \"x\" is invalid: spec.cpu: Invalid "
				 "value: 0: spec.cpu in body should be greater than or equal to 1");
	free(msg);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
	/* at the limits: 1 and 512 pass, 513 fails; 2.5 is not an integer */
	o = js("{\"spec\":{\"cpu\":512,\"memory\":\"1Gi\"}}");
	causes = check(o, &unknown);
	assert_int_equal(cJSON_GetArraySize(causes), 0);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
	o = js("{\"spec\":{\"cpu\":513,\"memory\":\"1Gi\"}}");
	causes = check(o, &unknown);
	assert_non_null(
	    strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(causes, 0), "message")->valuestring,
		   "should be less than or equal to 512"));
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
	o = js("{\"spec\":{\"cpu\":2.5,\"memory\":\"1Gi\"}}");
	causes = check(o, &unknown);
	assert_non_null(
	    strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(causes, 0), "message")->valuestring,
		   "must be of type integer: \"number\""));
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
	/* memory: a bad quantity string, and a boolean where int-or-string is expected */
	o = js("{\"spec\":{\"cpu\":1,\"memory\":\"lots\",\"migration\":{\"bandwidthPerMigration\":"
	       "true}}}");
	causes = check(o, &unknown);
	assert_int_equal(cJSON_GetArraySize(causes), 2);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
	/* not an object at all */
	o = js("[1]");
	causes = check(o, &unknown);
	assert_int_equal(cJSON_GetArraySize(causes), 1);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(o);
}

static void small_schemas(void **state)
{
	cJSON *schema =
	    js("{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"object\","
	       "\"properties\":{\"free\":{\"type\":\"object\","
	       "\"x-kubernetes-preserve-unknown-fields\":true},"
	       "\"n\":{\"type\":\"string\",\"nullable\":true,\"minLength\":2,"
	       "\"maxLength\":3},\"l\":{\"type\":\"array\",\"minItems\":1,"
	       "\"maxItems\":2,\"items\":{\"type\":\"integer\"}},"
	       "\"x\":{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true}}}}}");
	cJSON *causes = cJSON_CreateArray(), *unknown = cJSON_CreateArray(), *o;

	(void)state;
	o = js("{\"s\":{\"free\":{\"a\":{\"b\":1}},\"n\":null,\"l\":[1,2],\"x\":0.5}}");
	assert_int_equal(sim_schema_validate(schema, o, causes, unknown), 0);
	assert_non_null(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "s"), "free"), "a"));
	cJSON_Delete(o);
	o = js("{\"s\":{\"n\":\"abcd\",\"l\":[1,\"x\",3],\"x\":0}}");
	assert_int_equal(sim_schema_validate(schema, o, causes, unknown), 4);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(causes, 0), "reason")->valuestring,
	    "FieldValueTooLong");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(causes, 1), "reason")->valuestring,
	    "FieldValueTooMany");
	cJSON_Delete(o);
	cJSON_Delete(causes);
	cJSON_Delete(unknown);
	cJSON_Delete(schema);
}

static void hostile_depth(void **state)
{
	/* a self-similar schema walked by a 300-deep value stops at the cap with one cause */
	cJSON *schema = js("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\","
			   "\"additionalProperties\":{\"type\":\"object\",\"additionalProperties\":"
			   "true}}}");
	cJSON *causes = cJSON_CreateArray(), *o;
	char *s = wk_xmalloc(4000), *p = s;

	(void)state;
	for (int i = 0; i < 300; i++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (int i = 0; i < 300; i++)
		*p++ = '}';
	*p = '\0';
	o = js(s);
	sim_schema_validate(schema, o, causes, NULL);
	cJSON_Delete(o);
	cJSON_Delete(causes);
	cJSON_Delete(schema);
	free(s);
	/* a schema nested deeper than the cap */
	p = s = wk_xmalloc(40000);
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "{\"type\":\"object\",\"properties\":{\"a\":");
	p += sprintf(p, "{\"type\":\"integer\"}");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "}}");
	schema = js(s);
	p = s;
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (int i = 0; i < 100; i++)
		*p++ = '}';
	*p = '\0';
	o = js(s);
	causes = cJSON_CreateArray();
	assert_true(sim_schema_validate(schema, o, causes, NULL) >= 1);
	assert_non_null(
	    strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(causes, 0), "message")->valuestring,
		   "too deep"));
	cJSON_Delete(o);
	cJSON_Delete(causes);
	cJSON_Delete(schema);
	free(s);
}

static void yaml_loader(void **state)
{
	char err[256], *big, *deep, *p;
	cJSON *o;

	(void)state;
	const char *doc = "a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: [x, 2]\ng: 0x1F\nh: -3\n";

	o = sim_yaml_parse("t", doc, strlen(doc), err, sizeof(err));
	assert_non_null(o);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "a")));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "b")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "c")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "d")));
	assert_true(cJSON_GetObjectItem(o, "e")->valuedouble == 1.5);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "f")), 2);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "g")));
	assert_int_equal(cJSON_GetObjectItem(o, "h")->valueint, -3);
	cJSON_Delete(o);
	/* empty document */
	o = sim_yaml_parse("t", "", 0, err, sizeof(err));
	assert_true(cJSON_IsNull(o));
	cJSON_Delete(o);
	/* truncated / garbage */
	assert_null(sim_yaml_parse("t", "a: [1, 2", 8, err, sizeof(err)));
	assert_non_null(strstr(err, "t:"));
	assert_null(sim_yaml_parse("t", "a: b: c: : -", 12, err, sizeof(err)));
	assert_null(sim_yaml_parse("t", "{[1]: x}", 8, err, sizeof(err)));
	/* over the size cap */
	big = wk_xmalloc(SIM_YAML_MAX_BYTES + 2);
	memset(big, '#', SIM_YAML_MAX_BYTES + 1);
	big[SIM_YAML_MAX_BYTES + 1] = '\0';
	assert_null(sim_yaml_parse("t", big, SIM_YAML_MAX_BYTES + 1, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	free(big);
	/* nesting past the cap */
	p = deep = wk_xmalloc(1000);
	for (int i = 0; i < 100; i++)
		*p++ = '[';
	for (int i = 0; i < 100; i++)
		*p++ = ']';
	*p = '\0';
	assert_null(sim_yaml_parse("t", deep, strlen(deep), err, sizeof(err)));
	assert_non_null(strstr(err, "nesting"));
	free(deep);
	/* alias bombs stop at the node cap */
	const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
			   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
			   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
			   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
	assert_null(sim_yaml_parse("t", bomb, strlen(bomb), err, sizeof(err)));
	assert_non_null(strstr(err, "too many nodes"));
	assert_null(sim_yaml_load_file("/nonexistent/x.yaml", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(crd_shape),      cmocka_unit_test(valid_wukong),
	    cmocka_unit_test(invalid_wukong), cmocka_unit_test(bounds),
	    cmocka_unit_test(small_schemas),  cmocka_unit_test(hostile_depth),
	    cmocka_unit_test(yaml_loader),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
