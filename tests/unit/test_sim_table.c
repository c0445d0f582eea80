/* test_sim_table.c - server-side printing: Accept negotiation, HumanDuration, RFC 3339 parsing,
 * the printer-column JSONPath (incl. missing fields and hostile paths), the Tables of the
 * Wukong CRD, KubeVirt and built-in kinds, and Tables through sim_api (get, list, watch). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_api.h"
#include "../../tools/sim/sim_table.h"
#include "../../tools/sim/sim_yaml.h"

#include <string.h>

#define KUBECTL_ACCEPT                                                                             \
	"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta." \
	"k8s.io,application/json"
/* 2026-11-22T01:00:00Z */
#define T0 1795309200000LL

static cJSON *js(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static const struct sim_resource *res(const char *group, const char *version, const char *plural)
{
	const struct sim_resource *r = sim_resource_find(group, version, plural);

	assert_non_null(r);
	return r;
}

static struct sim_table_opts opts(int64_t now)
{
	struct sim_table_opts o;
	char err[200];

	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, NULL, &o, err, sizeof(err)), 1);
	o.now_ms = now;
	return o;
}

/* "name1,name2,..." of the column definitions */
static void col_names(const cJSON *t, char *out, size_t n)
{
	const cJSON *c;
	size_t used = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columnDefinitions"))
	{
		used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "," : "",
					 cJSON_GetObjectItem(c, "name")->valuestring);
	}
}

static const cJSON *cell(const cJSON *t, int row, int col)
{
	const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), row);

	assert_non_null(r);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(r, "cells"), col);
}

static void expect_cell_str(const cJSON *t, int row, int col, const char *want)
{
	const cJSON *c = cell(t, row, col);

	if (!cJSON_IsString(c) || strcmp(c->valuestring, want)) {
		char *s = cJSON_PrintUnformatted(c);

		fail_msg("row %d col %d: got %s, want \"%s\"", row, col, s ? s : "(missing)", want);
	}
}

/* ---- negotiation ---- */

static void negotiate(void **state)
{
	struct sim_table_opts o;
	char err[200];

	(void)state;
	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, NULL, &o, err, sizeof(err)), 1);
	assert_string_equal(o.api_version, "meta.k8s.io/v1");
	assert_string_equal(o.content_type, "application/json;as=Table;v=v1;g=meta.k8s.io");
	assert_int_equal(o.include, SIM_TABLE_METADATA);
	assert_false(o.no_headers);
	/* v1beta1 only, spaces around ranges and parameters */
	assert_int_equal(sim_table_request(" application/json; as=Table; v=v1beta1; g=meta.k8s.io",
					   "", &o, err, sizeof(err)),
			 1);
	assert_string_equal(o.api_version, "meta.k8s.io/v1beta1");
	/* plain objects: no header, plain JSON first, kubectl -o json's header */
	assert_int_equal(sim_table_request(NULL, NULL, &o, err, sizeof(err)), 0);
	assert_int_equal(sim_table_request("", NULL, &o, err, sizeof(err)), 0);
	assert_int_equal(sim_table_request("application/json", NULL, &o, err, sizeof(err)), 0);
	assert_int_equal(sim_table_request("application/json, */*", NULL, &o, err, sizeof(err)), 0);
	assert_int_equal(
	    sim_table_request("application/json," KUBECTL_ACCEPT, NULL, &o, err, sizeof(err)), 0);
	/* conversions we do not serve are skipped; the next range decides */
	assert_int_equal(sim_table_request("application/json;as=PartialObjectMetadataList;v=v1;g="
					   "meta.k8s.io,application/json",
					   NULL, &o, err, sizeof(err)),
			 0);
	assert_int_equal(sim_table_request("application/json;as=Table;v=v2;g=meta.k8s.io,"
					   "application/json;as=Table;v=v1;g=meta.k8s.io",
					   NULL, &o, err, sizeof(err)),
			 1);
	assert_int_equal(sim_table_request("application/vnd.kubernetes.protobuf;as=Table;v=v1;g="
					   "meta.k8s.io,application/json",
					   NULL, &o, err, sizeof(err)),
			 0);
	assert_int_equal(sim_table_request("application/json;as=Table;v=v1;g=other.io", NULL, &o,
					   err, sizeof(err)),
			 0);
	assert_int_equal(sim_table_request("application/json;as=Tablex;v=v1;g=meta.k8s.io", NULL,
					   &o, err, sizeof(err)),
			 0);
	/* garbage and truncated headers never crash and never ask for a Table */
	assert_int_equal(sim_table_request(";;;,,,;as", NULL, &o, err, sizeof(err)), 0);
	assert_int_equal(
	    sim_table_request("application/json;as=Table;v=v1;g=", NULL, &o, err, sizeof(err)), 0);
	{
		char big[2048];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(sim_table_request(big, NULL, &o, err, sizeof(err)), 0);
	}
	/* includeObject */
	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, "Object", &o, err, sizeof(err)), 1);
	assert_int_equal(o.include, SIM_TABLE_OBJECT);
	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, "None", &o, err, sizeof(err)), 1);
	assert_int_equal(o.include, SIM_TABLE_NONE);
	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, "Metadata", &o, err, sizeof(err)), 1);
	assert_int_equal(o.include, SIM_TABLE_METADATA);
	assert_int_equal(sim_table_request(KUBECTL_ACCEPT, "object", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "Unable to convert to Table as requested: includeObject: Invalid "
				 "value: \"object\": must be 'Metadata', 'Object', or 'None'");
	/* a bad includeObject does not matter when no Table is asked for */
	assert_int_equal(sim_table_request("application/json", "bad", &o, err, sizeof(err)), 0);
}

/* ---- time ---- */

static void human_duration(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {-2000, "<invalid>"},
	    {-1999, "0s"}, /* up to 2 s of clock skew is "now" */
	    {-500, "0s"},
	    {0, "0s"},
	    {999, "0s"},
	    {59000, "59s"},
	    {119999, "119s"},
	    {120000, "2m"},
	    {312000, "5m12s"},
	    {599000, "9m59s"},
	    {600000, "10m"},
	    {(3 * 60 - 1) * 60000LL, "179m"},
	    {3 * 3600000LL, "3h"},
	    {3 * 3600000LL + 5 * 60000, "3h5m"},
	    {8 * 3600000LL - 1, "7h59m"},
	    {8 * 3600000LL, "8h"},
	    {47 * 3600000LL + 59 * 60000, "47h"},
	    {48 * 3600000LL, "2d"},
	    {53 * 3600000LL, "2d5h"},
	    {8 * 24 * 3600000LL - 1, "7d23h"},
	    {8 * 24 * 3600000LL, "8d"},
	    {729 * 24 * 3600000LL, "729d"},
	    {730 * 24 * 3600000LL, "2y"},
	    {735 * 24 * 3600000LL, "2y5d"},
	    {8 * 365 * 24 * 3600000LL, "8y"},
	    {INT64_MAX, "292471208y"},
	    {INT64_MIN, "<invalid>"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(cases); i++) {
		sim_human_duration(cases[i].ms, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fail_msg("%lld ms: got %s, want %s", (long long)cases[i].ms, buf,
				 cases[i].want);
	}
	/* a small buffer truncates, never overflows */
	sim_human_duration(53 * 3600000LL, buf, 3);
	assert_string_equal(buf, "2d");
}

static void parse_time(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00Z", &ms), 0);
	assert_true(ms == T0);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00.25Z", &ms), 0);
	assert_true(ms == T0 + 250);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00.123456789Z", &ms), 0);
	assert_true(ms == T0 + 123);
	assert_int_equal(sim_parse_time("2026-11-22T03:30:00+02:30", &ms), 0);
	assert_true(ms == T0);
	assert_int_equal(sim_parse_time("2026-11-21T23:00:00-02:00", &ms), 0);
	assert_true(ms == T0);
	assert_int_equal(sim_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	assert_true(ms == 0);
	/* empty, truncated, garbage, out of range */
	assert_int_equal(sim_parse_time("", &ms), -1);
	assert_int_equal(sim_parse_time(NULL, &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:0Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22 01:00:00Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-13-22T01:00:00Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T25:00:00Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00.Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00.1234567890Z", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00Zjunk", &ms), -1);
	assert_int_equal(sim_parse_time("2026-11-22T01:00:00+0200", &ms), -1);
	assert_int_equal(sim_parse_time("yesterday at noon, roughly", &ms), -1);
}

/* ---- JSONPath ---- */

static const char *OBJ =
    "{\"metadata\":{\"name\":\"a\",\"labels\":{\"x.io/y\":\"v\"}},"
    "\"status\":{\"phase\":\"Running\",\"n\":3,\"ok\":true,\"nil\":null,"
    "\"interfaces\":[{\"ipAddress\":\"10.0.0.1\"},{\"ipAddress\":\"10.0.0.2\"}],"
    "\"conditions\":[{\"type\":\"Paused\",\"status\":\"False\",\"n\":1},"
    "{\"type\":\"Ready\",\"status\":\"True\",\"n\":2}]}}";

static void expect_path(const cJSON *o, const char *path, const char *want_json)
{
	const cJSON *r;
	char *s;

	if (sim_jsonpath_first(path, o, &r) < 0)
		fail_msg("%s: does not parse", path);
	if (!want_json) {
		if (r)
			fail_msg("%s: want no result", path);
		return;
	}
	if (!r)
		fail_msg("%s: no result, want %s", path, want_json);
	s = cJSON_PrintUnformatted(r);
	if (strcmp(s, want_json))
		fail_msg("%s: got %s, want %s", path, s, want_json);
	free(s);
}

static void expect_bad_path(const cJSON *o, const char *path)
{
	const cJSON *r = (const cJSON *)1;

	if (sim_jsonpath_first(path, o, &r) != -1)
		fail_msg("%.80s: parsed, want invalid", path);
	assert_null(r);
}

static void jsonpath(void **state)
{
	cJSON *o = js(OBJ);
	char big[SIM_TABLE_MAX_PATH + 2];

	(void)state;
	expect_path(o, ".status.phase", "\"Running\"");
	expect_path(o, "{.status.phase}", "\"Running\"");
	expect_path(o, "$.status.n", "3");
	expect_path(o, ".status.interfaces[0].ipAddress", "\"10.0.0.1\"");
	expect_path(o, ".status.interfaces[1].ipAddress", "\"10.0.0.2\"");
	expect_path(o, ".status.interfaces[-1].ipAddress", "\"10.0.0.2\"");
	expect_path(o, ".status.interfaces[*].ipAddress", "\"10.0.0.1\"");
	expect_path(o, ".status.conditions[?(@.type=='Ready')].status", "\"True\"");
	expect_path(o, ".status.conditions[?(@.type==\"Paused\")].status", "\"False\"");
	expect_path(o, ".status.conditions[?(@.type != 'Paused')].type", "\"Ready\"");
	expect_path(o, ".status.conditions[?(@.n==2)].type", "\"Ready\"");
	expect_path(o, ".status.conditions[?(@.status)].type", "\"Paused\"");
	expect_path(o, ".metadata.labels['x.io/y']", "\"v\"");
	expect_path(o, ".metadata.labels[\"x.io/y\"]", "\"v\"");
	expect_path(o, ".metadata.*", "\"a\"");
	/* missing keys, wrong types, out of range: no result, not an error */
	expect_path(o, ".status.nope", NULL);
	expect_path(o, ".spec.a.b.c", NULL);
	expect_path(o, ".status.phase.x", NULL);
	expect_path(o, ".status.interfaces[2].ipAddress", NULL);
	expect_path(o, ".status.interfaces[-3]", NULL);
	expect_path(o, ".status.phase[0]", NULL);
	expect_path(o, ".status.conditions[?(@.type=='Gone')].status", NULL);
	expect_path(o, ".status.phase[?(@.a=='b')]", NULL);
	expect_path(o, ".status.nil", "null");
	{
		const cJSON *r;

		assert_int_equal(sim_jsonpath_first(".", o, &r), 0);
		assert_ptr_equal(r, o);
	}
	/* hostile and malformed paths */
	expect_bad_path(o, "");
	expect_bad_path(o, NULL);
	expect_bad_path(o, "status.phase");
	expect_bad_path(o, "..status");
	expect_bad_path(o, ".status..phase");
	expect_bad_path(o, ".status.");
	expect_bad_path(o, ".status[");
	expect_bad_path(o, ".status[0");
	expect_bad_path(o, ".status['phase");
	expect_bad_path(o, ".status['phase'");
	expect_bad_path(o, ".status[abc]");
	expect_bad_path(o, ".status[1:2]");
	expect_bad_path(o, ".status[99999999999999999999]");
	expect_bad_path(o, ".status.conditions[?(@.type=='Ready'].status");
	expect_bad_path(o, ".status.conditions[?(@.type=='Ready)].status");
	expect_bad_path(o, ".status.conditions[?(@.type<'Ready')].status");
	expect_bad_path(o, ".status.conditions[?(type=='Ready')].status");
	expect_bad_path(o, ".status.conditions[?(@.type==nan)].status");
	expect_bad_path(o, ".status.conditions[?(@.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q=='x')]");
	expect_bad_path(o, "{.status.phase");
	/* at the caps and past them */
	memset(big, 'a', sizeof(big));
	big[0] = '.';
	big[SIM_TABLE_MAX_PATH] = '\0';
	expect_path(o, big, NULL);
	big[SIM_TABLE_MAX_PATH] = 'a';
	big[SIM_TABLE_MAX_PATH + 1] = '\0';
	expect_bad_path(o, big);
	{
		char steps[4 * (SIM_TABLE_MAX_STEPS + 1) + 1] = "";
		cJSON *deep = cJSON_CreateObject(), *cur = deep;

		for (int i = 0; i < SIM_TABLE_MAX_STEPS; i++) {
			strcat(steps, ".a");
			cur = cJSON_AddObjectToObject(cur, "a");
		}
		cJSON_AddStringToObject(cur, "leaf", "deep");
		expect_path(deep, steps, "{\"leaf\":\"deep\"}");
		strcat(steps, ".b");
		expect_bad_path(deep, steps);
		cJSON_Delete(deep);
	}
	cJSON_Delete(o);
}

/* ---- Tables ---- */

static cJSON *load_crd(void)
{
	char err[256];
	cJSON *crd = sim_yaml_load_file("deploy/crds/wukong.yaml", err, sizeof(err));

	if (!crd)
		fail_msg("%s", err);
	return crd;
}

static void wukong_table(void **state)
{
	cJSON *crd = load_crd(), *list, *t;
	const cJSON *v, *c, *defs, *row;
	struct sim_table_opts o = opts(T0 + 312000);
	char names[512], want[512] = "Name";
	int i = 0;

	(void)state;
	/* the columns are exactly the CRD's additionalPrinterColumns, after Name */
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(cJSON_GetObjectItem(crd, "spec"), "versions"))
	{
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "additionalPrinterColumns"))
		{
			strcat(want, ",");
			strcat(want, cJSON_GetObjectItem(c, "name")->valuestring);
		}
	}
	assert_string_equal(want, "Name,Phase,Node,Migration,Progress,Clone,Age,VM,Source,Target,"
				  "ETA,Clone-Source");
	list =
	    js("{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"WukongList\","
	       "\"metadata\":{\"resourceVersion\":\"77\",\"continue\":\"abc\","
	       "\"remainingItemCount\":3},\"items\":["
	       "{\"metadata\":{\"name\":\"wk1\",\"namespace\":\"default\",\"uid\":\"u1\","
	       "\"labels\":{\"a\":\"b\"},\"creationTimestamp\":\"2026-11-22T01:00:00Z\"},"
	       "\"spec\":{\"cpu\":2},\"status\":{\"phase\":\"Migrating\",\"nodeName\":\"node-1\","
	       "\"migrationStatus\":{\"phase\":\"Running\",\"progress\":42.7},"
	       "\"cloneStatus\":{\"phase\":{\"odd\":1,\"a\":[2]}}}},"
	       "{\"metadata\":{\"name\":\"wk2\",\"namespace\":\"default\"},"
	       "\"status\":{\"migrationStatus\":{\"progress\":\"high\"}}}]}");
	t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), crd, list, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, want);
	assert_string_equal(cJSON_GetObjectItem(t, "kind")->valuestring, "Table");
	assert_string_equal(cJSON_GetObjectItem(t, "apiVersion")->valuestring, "meta.k8s.io/v1");
	v = cJSON_GetObjectItem(t, "metadata");
	assert_string_equal(cJSON_GetObjectItem(v, "resourceVersion")->valuestring, "77");
	assert_string_equal(cJSON_GetObjectItem(v, "continue")->valuestring, "abc");
	assert_int_equal(cJSON_GetObjectItem(v, "remainingItemCount")->valueint, 3);
	defs = cJSON_GetObjectItem(t, "columnDefinitions");
	cJSON_ArrayForEach(c, defs)
	{
		/* every definition carries the five fields kubectl decodes */
		assert_true(cJSON_IsString(cJSON_GetObjectItem(c, "type")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(c, "format")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(c, "description")));
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(c, "priority")));
		i++;
	}
	assert_int_equal(i, 12);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(defs, 0), "format")->valuestring,
			    "name");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(defs, 4), "type")->valuestring,
			    "integer");
	expect_cell_str(t, 0, 0, "wk1");
	expect_cell_str(t, 0, 1, "Migrating");
	expect_cell_str(t, 0, 2, "node-1");
	expect_cell_str(t, 0, 3, "Running");
	assert_true(cJSON_IsNumber(cell(t, 0, 4)));
	assert_int_equal(cell(t, 0, 4)->valueint, 42);	   /* integer: truncated like int64(f) */
	expect_cell_str(t, 0, 5, "{\"a\":[2],\"odd\":1}"); /* string of an object: sorted JSON */
	expect_cell_str(t, 0, 6, "5m12s");
	/* wk2: missing fields are null, a string where an integer is due is null too */
	expect_cell_str(t, 1, 0, "wk2");
	for (i = 1; i <= 5; i++)
		assert_true(cJSON_IsNull(cell(t, 1, i)));
	assert_true(cJSON_IsNull(cell(t, 1, 6))); /* no creationTimestamp */
	/* row object: PartialObjectMetadata with the whole metadata */
	row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0);
	v = cJSON_GetObjectItem(row, "object");
	assert_string_equal(cJSON_GetObjectItem(v, "kind")->valuestring, "PartialObjectMetadata");
	assert_string_equal(cJSON_GetObjectItem(v, "apiVersion")->valuestring, "meta.k8s.io/v1");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "metadata"), "labels"),
				"a")
		->valuestring,
	    "b");
	assert_null(cJSON_GetObjectItem(v, "spec"));
	cJSON_Delete(t);
	/* includeObject=Object / None, and headers off (watch events after the first) */
	o.include = SIM_TABLE_OBJECT;
	o.no_headers = true;
	t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), crd, list, &o);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(t, "columnDefinitions")));
	row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0);
	/* the stored object as it is (this list item has no kind), not PartialObjectMetadata */
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(row, "object"), "kind"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(row, "object"), "spec"));
	cJSON_Delete(t);
	o.include = SIM_TABLE_NONE;
	t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), crd, list, &o);
	row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(row, "object")));
	cJSON_Delete(t);
	/* without the CRD: Name and Age, as for a CRD without printer columns */
	o = opts(T0);
	t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), NULL, list, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Age");
	cJSON_Delete(t);
	cJSON_Delete(list);
	cJSON_Delete(crd);
}

static void crd_cell_types(void **state)
{
	/* a CRD of our own exercising each column type and hostile paths */
	cJSON *crd = js(
	    "{\"spec\":{\"group\":\"vm.novasphere.dev\",\"names\":{\"plural\":\"wukongs\"},"
	    "\"versions\":[{\"name\":\"v1\"},{\"name\":\"v1alpha1\",\"additionalPrinterColumns\":["
	    "{\"name\":\"S\",\"type\":\"string\",\"jsonPath\":\".s\"},"
	    "{\"name\":\"F\",\"type\":\"string\",\"jsonPath\":\".f\"},"
	    "{\"name\":\"Big\",\"type\":\"string\",\"jsonPath\":\".big\"},"
	    "{\"name\":\"Tiny\",\"type\":\"string\",\"jsonPath\":\".tiny\"},"
	    "{\"name\":\"B\",\"type\":\"boolean\",\"jsonPath\":\".b\"},"
	    "{\"name\":\"BS\",\"type\":\"string\",\"jsonPath\":\".b\"},"
	    "{\"name\":\"N\",\"type\":\"number\",\"jsonPath\":\".f\"},"
	    "{\"name\":\"I\",\"type\":\"integer\",\"jsonPath\":\".huge\"},"
	    "{\"name\":\"D\",\"type\":\"date\",\"jsonPath\":\".d\"},"
	    "{\"name\":\"DBad\",\"type\":\"date\",\"jsonPath\":\".s\"},"
	    "{\"name\":\"DEmpty\",\"type\":\"date\",\"jsonPath\":\".e\"},"
	    "{\"name\":\"Bad\",\"type\":\"string\",\"jsonPath\":\"..s\",\"priority\":1},"
	    "{\"name\":\"Odd\",\"type\":\"weird\",\"jsonPath\":\".s\"},"
	    "{\"name\":\"NoPath\",\"type\":\"string\"}]}]}}");
	cJSON *obj = js("{\"metadata\":{\"name\":\"x\"},\"s\":\"str\",\"f\":0.5,\"big\":1234567.5,"
			"\"tiny\":0.00001,\"b\":false,\"huge\":1e300,"
			"\"d\":\"2026-11-20T01:00:00Z\",\"e\":\"\"}");
	struct sim_table_opts o = opts(T0);
	cJSON *t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), crd, obj, &o);
	char names[512];

	(void)state;
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,S,F,Big,Tiny,B,BS,N,I,D,DBad,DEmpty,Bad,Odd");
	assert_null(cJSON_GetObjectItem(t, "metadata")->child); /* an object without RV */
	expect_cell_str(t, 0, 1, "str");
	expect_cell_str(t, 0, 2, "0.5");
	expect_cell_str(t, 0, 3, "1.2345675e+06");
	expect_cell_str(t, 0, 4, "1e-05");
	assert_true(cJSON_IsFalse(cell(t, 0, 5)));
	expect_cell_str(t, 0, 6, "false");
	assert_true(cell(t, 0, 7)->valuedouble == 0.5);
	assert_true(cJSON_IsNull(cell(t, 0, 8))); /* out of int64 range */
	expect_cell_str(t, 0, 9, "2d");
	expect_cell_str(t, 0, 10, "<invalid>");
	expect_cell_str(t, 0, 11, "<unknown>");
	assert_true(cJSON_IsNull(cell(t, 0, 12))); /* invalid path */
	assert_true(cJSON_IsNull(cell(t, 0, 13))); /* unknown type */
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "columnDefinitions"), 12),
				"priority")
		->valueint,
	    1);
	cJSON_Delete(t);
	/* not an object at all: one row, empty name, no crash */
	cJSON_Delete(obj);
	obj = js("\"just a string\"");
	t = sim_table_build(res("vm.novasphere.dev", "v1alpha1", "wukongs"), crd, obj, &o);
	expect_cell_str(t, 0, 0, "");
	cJSON_Delete(t);
	cJSON_Delete(obj);
	cJSON_Delete(crd);
}

static void node_table(void **state)
{
	cJSON *list = js(
	    "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":["
	    "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2026-11-22T00:00:00Z\","
	    "\"labels\":{\"node-role.kubernetes.io/worker\":\"\",\"node-role.kubernetes.io/"
	    "control-plane\":\"\",\"kubernetes.io/role\":\"worker\",\"node-role.kubernetes.io/\":"
	    "\"\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":["
	    "{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":"
	    "\"True\"}],\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},{\"type\":"
	    "\"InternalIP\",\"address\":\"10.0.0.1\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32."
	    "0\","
	    "\"osImage\":\"Linux\"}}},"
	    "{\"metadata\":{\"name\":\"n2\"},\"status\":{\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"Unknown\"}]}},"
	    "{\"metadata\":{\"name\":\"n3\"}}]}");
	struct sim_table_opts o = opts(T0);
	cJSON *t = sim_table_build(res("", "v1", "nodes"), NULL, list, &o);
	char names[512];
	const cJSON *c;
	int wide = 0;

	(void)state;
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Status,Roles,Age,Version,Internal-IP,External-IP,OS-Image,"
				   "Kernel-Version,Container-Runtime");
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columnDefinitions"))
	{
		wide += cJSON_GetObjectItem(c, "priority")->valueint;
	}
	assert_int_equal(wide, 5); /* the -o wide columns */
	expect_cell_str(t, 0, 0, "n1");
	expect_cell_str(t, 0, 1, "Ready,SchedulingDisabled");
	expect_cell_str(t, 0, 2, "control-plane,worker");
	expect_cell_str(t, 0, 3, "60m");
	expect_cell_str(t, 0, 4, "v1.32.0");
	expect_cell_str(t, 0, 5, "10.0.0.1");
	expect_cell_str(t, 0, 6, "<none>");
	expect_cell_str(t, 0, 7, "Linux");
	expect_cell_str(t, 0, 8, "<unknown>");
	expect_cell_str(t, 1, 1, "NotReady");
	expect_cell_str(t, 1, 2, "<none>");
	expect_cell_str(t, 1, 3, "<unknown>");
	expect_cell_str(t, 2, 1, "Unknown");
	cJSON_Delete(t);
	cJSON_Delete(list);
}

static void builtin_tables(void **state)
{
	struct sim_table_opts o = opts(T0);
	char names[512];
	cJSON *obj, *t;

	(void)state;
	obj = js("{\"metadata\":{\"name\":\"c1\",\"creationTimestamp\":\"2026-11-22T00:59:30Z\"},"
		 "\"spec\":{\"volumeName\":\"pv1\",\"storageClassName\":\"fast\"},"
		 "\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"10Gi\"},"
		 "\"accessModes\":[\"ReadWriteMany\",\"ReadWriteOnce\"]}}");
	t = sim_table_build(res("", "v1", "persistentvolumeclaims"), NULL, obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Status,Volume,Capacity,Access Modes,StorageClass,"
				   "VolumeAttributesClass,Age,VolumeMode");
	expect_cell_str(t, 0, 1, "Bound");
	expect_cell_str(t, 0, 3, "10Gi");
	expect_cell_str(t, 0, 4, "RWO,RWX");
	expect_cell_str(t, 0, 5, "fast");
	expect_cell_str(t, 0, 6, "<unset>");
	expect_cell_str(t, 0, 7, "30s");
	expect_cell_str(t, 0, 8, "<unset>");
	cJSON_Delete(t);
	cJSON_Delete(obj);

	obj = js("{\"metadata\":{\"name\":\"ev1\",\"namespace\":\"default\"},\"type\":\"Warning\","
		 "\"reason\":\"FailedMigration\",\"message\":\"  boom \\n\",\"involvedObject\":"
		 "{\"kind\":\"VirtualMachineInstanceMigration\",\"name\":\"m1\"},"
		 "\"source\":{\"component\":\"virt-controller\"},"
		 "\"firstTimestamp\":\"2026-11-22T00:00:00Z\",\"lastTimestamp\":"
		 "\"2026-11-22T00:58:00Z\",\"count\":3}");
	t = sim_table_build(res("", "v1", "events"), NULL, obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Last Seen,Type,Reason,Object,Subobject,Source,Message,"
				   "First Seen,Count,Name");
	expect_cell_str(t, 0, 0, "2m");
	expect_cell_str(t, 0, 1, "Warning");
	expect_cell_str(t, 0, 3, "virtualmachineinstancemigration/m1");
	expect_cell_str(t, 0, 5, "virt-controller");
	expect_cell_str(t, 0, 6, "boom");
	expect_cell_str(t, 0, 7, "60m");
	assert_int_equal(cell(t, 0, 8)->valueint, 3);
	expect_cell_str(t, 0, 9, "ev1");
	cJSON_Delete(t);
	cJSON_Delete(obj);

	obj = js("{\"metadata\":{\"name\":\"sc\",\"annotations\":{\"storageclass.kubernetes.io/"
		 "is-default-class\":\"true\"}},\"provisioner\":\"p\"}");
	t = sim_table_build(res("storage.k8s.io", "v1", "storageclasses"), NULL, obj, &o);
	expect_cell_str(t, 0, 0, "sc (default)");
	expect_cell_str(t, 0, 2, "Delete");
	expect_cell_str(t, 0, 3, "Immediate");
	assert_true(cJSON_IsFalse(cell(t, 0, 4)));
	cJSON_Delete(t);
	cJSON_Delete(obj);

	obj = js("{\"metadata\":{\"name\":\"l\",\"creationTimestamp\":\"2026-11-22T01:00:00Z\"},"
		 "\"spec\":{\"holderIdentity\":\"me\"}}");
	t = sim_table_build(res("coordination.k8s.io", "v1", "leases"), NULL, obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Holder,Age");
	expect_cell_str(t, 0, 1, "me");
	expect_cell_str(t, 0, 2, "0s");
	cJSON_Delete(t);
	t = sim_table_build(res("", "v1", "namespaces"), NULL, obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Status,Age");
	cJSON_Delete(t);
	/* the default convertor (CRDs): Name, Created At in RFC 3339 */
	t = sim_table_build(res("apiextensions.k8s.io", "v1", "customresourcedefinitions"), NULL,
			    obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,Created At");
	expect_cell_str(t, 0, 1, "2026-11-22T01:00:00Z");
	cJSON_Delete(t);
	cJSON_Delete(obj);

	obj = js("{\"items\":[{\"metadata\":{\"name\":\"n1\"},\"window\":\"20s\",\"usage\":"
		 "{\"memory\":\"1Ki\",\"cpu\":\"5n\"}}]}");
	t = sim_table_build(res("metrics.k8s.io", "v1beta1", "nodes"), NULL, obj, &o);
	col_names(t, names, sizeof(names));
	assert_string_equal(names, "Name,cpu,memory,Window");
	expect_cell_str(t, 0, 1, "5n");
	expect_cell_str(t, 0, 2, "1Ki");
	expect_cell_str(t, 0, 3, "20s");
	cJSON_Delete(t);
	cJSON_Delete(obj);
}

static void kubevirt_tables(void **state)
{
	static const struct {
		const char *group, *version, *plural, *cols;
	} cases[] = {
	    {"kubevirt.io", "v1", "virtualmachines", "Name,Age,Status,Ready"},
	    {"kubevirt.io", "v1", "virtualmachineinstances",
	     "Name,Age,Phase,IP,NodeName,Ready,Live-Migratable,Paused"},
	    {"kubevirt.io", "v1", "virtualmachineinstancemigrations", "Name,Phase,VMI"},
	    {"kubevirt.io", "v1", "kubevirts", "Name,Age,Phase"},
	    {"migrations.kubevirt.io", "v1alpha1", "migrationpolicies", "Name,Age"},
	    {"snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots",
	     "Name,SourceKind,SourceName,Phase,ReadyToUse,CreationTime,Error"},
	    {"snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents",
	     "Name,ReadyToUse,CreationTime,Error"},
	    {"snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores",
	     "Name,TargetKind,TargetName,Complete,RestoreTime"},
	    {"clone.kubevirt.io", "v1beta1", "virtualmachineclones",
	     "Name,Phase,SourceVirtualMachine,TargetVirtualMachine"},
	};
	struct sim_table_opts o = opts(T0);
	cJSON *vmi = js("{\"metadata\":{\"name\":\"v\",\"creationTimestamp\":"
			"\"2026-11-21T22:00:00Z\"},\"status\":{\"phase\":\"Running\",\"nodeName\":"
			"\"node-2\",\"interfaces\":[{\"ipAddress\":\"10.1.2.3\"}],\"conditions\":"
			"[{\"type\":\"LiveMigratable\",\"status\":\"False\"},{\"type\":\"Ready\","
			"\"status\":\"True\"}]}}");
	char names[512];
	cJSON *t;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(cases); i++) {
		t = sim_table_build(res(cases[i].group, cases[i].version, cases[i].plural), NULL,
				    vmi, &o);
		col_names(t, names, sizeof(names));
		if (strcmp(names, cases[i].cols))
			fail_msg("%s: got %s, want %s", cases[i].plural, names, cases[i].cols);
		cJSON_Delete(t);
	}
	t = sim_table_build(res("kubevirt.io", "v1", "virtualmachineinstances"), NULL, vmi, &o);
	expect_cell_str(t, 0, 1, "3h");
	expect_cell_str(t, 0, 2, "Running");
	expect_cell_str(t, 0, 3, "10.1.2.3");
	expect_cell_str(t, 0, 4, "node-2");
	expect_cell_str(t, 0, 5, "True");
	expect_cell_str(t, 0, 6, "False");
	assert_true(cJSON_IsNull(cell(t, 0, 7)));
	cJSON_Delete(t);
	cJSON_Delete(vmi);
}

/* ---- through the API ---- */

#define ADMIN "admin-token-table"
#define WK_PATH "/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs"

struct kv {
	const char *k, *v;
};

static const char *lookup(void *ctx, const char *key)
{
	for (const struct kv *a = ctx; a && a->k; a++)
		if (!strcmp(a->k, key))
			return a->v;
	return NULL;
}

static void request(struct sim_api *api, const char *method, const char *path,
		    const struct kv *args, const char *accept, const char *body,
		    struct sim_resp *resp)
{
	struct sim_req req = {0};

	req.method = method;
	req.path = path;
	req.arg = lookup;
	req.arg_ctx = (void *)args;
	req.authorization = "Bearer " ADMIN;
	req.accept = accept;
	req.content_type = body ? "application/json" : NULL;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	sim_resp_init(resp);
	sim_api_handle(api, &req, resp);
}

static cJSON *call(struct sim_api *api, const char *method, const char *path, const struct kv *args,
		   const char *accept, const char *body, int *code, const char **ctype)
{
	struct sim_resp resp;
	cJSON *o;

	request(api, method, path, args, accept, body, &resp);
	*code = resp.code;
	if (ctype)
		*ctype = resp.content_type;
	o = cJSON_ParseWithLength(resp.body.buf, resp.body.len);
	sim_resp_release(&resp);
	return o;
}

static void through_api(void **state)
{
	struct sim_store *st = sim_store_new(64);
	struct sim_api *api = sim_api_new(st, NULL);
	struct kv page[] = {{"limit", "1"}, {NULL, NULL}};
	struct kv bad[] = {{"includeObject", "Everything"}, {NULL, NULL}};
	struct kv watch[] = {{"watch", "true"}, {NULL, NULL}};
	const char *ctype;
	struct sim_resp resp;
	struct wk_buf out;
	cJSON *o, *ev;
	char err[256];
	int code;

	(void)state;
	sim_api_add_token(api, ADMIN, "admin", NULL, NULL);
	sim_api_ensure_namespace(api, "default");
	assert_int_equal(sim_api_load_crd(api, "deploy/crds/wukong.yaml", err, sizeof(err)), 0);
	for (int i = 1; i <= 2; i++) {
		char body[300];

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\","
			 "\"metadata\":{\"name\":\"w%d\"},\"spec\":{\"cpu\":1,\"memory\":\"1Gi\"}}",
			 i);
		cJSON_Delete(call(api, "POST", WK_PATH, NULL, NULL, body, &code, NULL));
		assert_int_equal(code, 201);
	}
	/* plain JSON without the Table media type (kubectl -o json/yaml/jsonpath) */
	o = call(api, "GET", WK_PATH, NULL, "application/json", NULL, &code, &ctype);
	assert_int_equal(code, 200);
	assert_string_equal(cJSON_GetObjectItem(o, "kind")->valuestring, "WukongList");
	assert_string_equal(ctype, "application/json");
	cJSON_Delete(o);
	/* a paged list as a Table keeps continue and remainingItemCount */
	o = call(api, "GET", WK_PATH, page, KUBECTL_ACCEPT, NULL, &code, &ctype);
	assert_int_equal(code, 200);
	assert_string_equal(ctype, "application/json;as=Table;v=v1;g=meta.k8s.io");
	assert_string_equal(cJSON_GetObjectItem(o, "kind")->valuestring, "Table");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "rows")), 1);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "continue"));
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "remainingItemCount")->valueint,
	    1);
	expect_cell_str(o, 0, 0, "w1");
	/* just created: "0s" or "1s" (creationTimestamp has whole seconds) */
	assert_true(cJSON_IsString(cell(o, 0, 6)) && strlen(cell(o, 0, 6)->valuestring) == 2 &&
		    cell(o, 0, 6)->valuestring[1] == 's');
	cJSON_Delete(o);
	/* a single object */
	o = call(api, "GET", WK_PATH "/w2", NULL, KUBECTL_ACCEPT, NULL, &code, NULL);
	assert_int_equal(code, 200);
	expect_cell_str(o, 0, 0, "w2");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "resourceVersion"));
	cJSON_Delete(o);
	/* errors stay Status objects */
	o = call(api, "GET", WK_PATH "/nope", NULL, KUBECTL_ACCEPT, NULL, &code, &ctype);
	assert_int_equal(code, 404);
	assert_string_equal(cJSON_GetObjectItem(o, "kind")->valuestring, "Status");
	assert_string_equal(ctype, "application/json");
	cJSON_Delete(o);
	o = call(api, "GET", WK_PATH, bad, KUBECTL_ACCEPT, NULL, &code, NULL);
	assert_int_equal(code, 400);
	assert_non_null(strstr(cJSON_GetObjectItem(o, "message")->valuestring, "includeObject"));
	cJSON_Delete(o);
	/* a watch: one-row Tables, column definitions on the first event only */
	request(api, "GET", WK_PATH, watch, KUBECTL_ACCEPT, NULL, &resp);
	assert_int_equal(resp.code, 200);
	assert_non_null(resp.watch);
	wk_buf_init(&out, 0);
	assert_int_equal(sim_watch_next(resp.watch, &out, 10), 1);
	{
		char *nl = strchr(wk_buf_str(&out), '\n');

		assert_non_null(nl);
		ev = cJSON_ParseWithLength(out.buf, (size_t)(nl - out.buf));
		assert_string_equal(cJSON_GetObjectItem(ev, "type")->valuestring, "ADDED");
		o = cJSON_GetObjectItem(ev, "object");
		assert_string_equal(cJSON_GetObjectItem(o, "kind")->valuestring, "Table");
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "columnDefinitions")),
				 12);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "rows")), 1);
		cJSON_Delete(ev);
		ev = cJSON_Parse(nl + 1);
		o = cJSON_GetObjectItem(ev, "object");
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "columnDefinitions")));
		expect_cell_str(o, 0, 0, "w2");
		cJSON_Delete(ev);
	}
	wk_buf_reset(&out);
	{
		struct sim_req req = {0};
		struct sim_resp pr;

		req.method = "PATCH";
		req.path = WK_PATH "/w1/status";
		req.authorization = "Bearer " ADMIN;
		req.content_type = "application/merge-patch+json";
		req.body = "{\"status\":{\"phase\":\"Running\"}}";
		req.body_len = strlen(req.body);
		sim_resp_init(&pr);
		sim_api_handle(api, &req, &pr);
		assert_int_equal(pr.code, 200);
		sim_resp_release(&pr);
	}
	assert_int_equal(sim_watch_next(resp.watch, &out, 100), 1);
	ev = cJSON_Parse(wk_buf_str(&out));
	assert_string_equal(cJSON_GetObjectItem(ev, "type")->valuestring, "MODIFIED");
	o = cJSON_GetObjectItem(ev, "object");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "columnDefinitions")));
	expect_cell_str(o, 0, 1, "Running");
	cJSON_Delete(ev);
	wk_buf_release(&out);
	sim_resp_release(&resp);
	sim_api_destroy(api);
	sim_store_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(negotiate),       cmocka_unit_test(human_duration),
	    cmocka_unit_test(parse_time),      cmocka_unit_test(jsonpath),
	    cmocka_unit_test(wukong_table),    cmocka_unit_test(crd_cell_types),
	    cmocka_unit_test(node_table),      cmocka_unit_test(builtin_tables),
	    cmocka_unit_test(kubevirt_tables), cmocka_unit_test(through_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
