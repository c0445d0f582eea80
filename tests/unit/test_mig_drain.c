/* test_mig_drain.c - drain submissions (valid, empty, truncated, garbage, caps, hostile),
 * migrationPolicy reading, maintenance detection, target eligibility, deterministic ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "decide/mig_drain.h"
#include "wk_name.h"
#include "wk_selector.h"

static int parse(const char *s, struct mig_drain_req *d, struct mig_verdict *v)
{
	return mig_parse_drain(s, strlen(s), d, v);
}

static void drain_valid(void **state)
{
	struct mig_drain_req d;
	struct mig_verdict v;

	(void)state;
	assert_int_equal(
	    parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"node-1.x\"}", &d, &v), 0);
	assert_string_equal(d.id, "d1");
	assert_string_equal(d.node, "node-1.x");
	assert_false(d.dry_run);
	assert_int_equal(parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"n\","
			       "\"dryRun\":true,\"tenant\":\"ops\",\"reason\":\"kernel\"}",
			       &d, &v),
			 0);
	assert_true(d.dry_run);
	assert_string_equal(d.tenant, "ops");
	assert_string_equal(d.note, "kernel");
}

static void drain_bad(void **state)
{
	struct mig_drain_req d;
	struct mig_verdict v;

	(void)state;
	assert_int_equal(mig_parse_drain("", 0, &d, &v), -1);
	assert_string_equal(v.code, "MalformedRequest");
	assert_int_equal(parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"n\"", &d, &v),
			 -1); /* truncated */
	assert_string_equal(v.code, "MalformedRequest");
	assert_int_equal(parse("\x01\x02garbage", &d, &v), -1);
	assert_int_equal(parse("[1,2]", &d, &v), -1);
	assert_string_equal(v.code, "SchemaViolation");
	assert_int_equal(parse("{\"requestId\":\"d1\",\"cluster\":\"c1\"}", &d, &v), -1);
	assert_non_null(strstr(v.message, "'node'"));
	assert_int_equal(
	    parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"n\",\"x\":1}", &d, &v), -1);
	assert_non_null(strstr(v.message, "unknown field"));
	assert_int_equal(
	    parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"n\",\"dryRun\":\"yes\"}", &d,
		  &v),
	    -1);
	assert_int_equal(
	    parse("{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"../../etc\"}", &d, &v), -1);
	assert_string_equal(v.code, "InvalidName");
	assert_int_equal(parse("{\"requestId\":\"D_1\",\"cluster\":\"c1\",\"node\":\"n\"}", &d, &v),
			 -1);
	assert_int_equal(parse("{\"requestId\":1e999,\"cluster\":\"c1\",\"node\":\"n\"}", &d, &v),
			 -1);
	/* NUL inside */
	static const char nul[] = "{\"requestId\":\"d\0\",\"cluster\":\"c1\",\"node\":\"n\"}";
	assert_int_equal(mig_parse_drain(nul, sizeof(nul) - 1, &d, &v), -1);
	/* deep nesting in a refused field */
	char deep[3000];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep),
			      "{\"requestId\":\"d\",\"cluster\":\"c\",\"node\":\"n\",\"reason\":");
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	assert_int_equal(parse(deep, &d, &v), -1);
}

static void drain_caps(void **state)
{
	struct mig_drain_req d;
	struct mig_verdict v;
	char *big = malloc(MIG_SUBMISSION_MAX + 2);
	const char *head = "{\"requestId\":\"d1\",\"cluster\":\"c1\",\"node\":\"n\",\"reason\":\"";
	size_t h = strlen(head);

	(void)state;
	/* node name of 253 (the cap) passes; 254 does not */
	char node[300];
	char body[600];
	memset(node, 'a', 253);
	node[253] = '\0';
	for (int i = 50; i < 253; i += 50)
		node[i] = '.';
	snprintf(body, sizeof(body), "{\"requestId\":\"d\",\"cluster\":\"c\",\"node\":\"%s\"}",
		 node);
	assert_int_equal(parse(body, &d, &v), 0);
	node[253] = 'a';
	node[254] = '\0';
	snprintf(body, sizeof(body), "{\"requestId\":\"d\",\"cluster\":\"c\",\"node\":\"%s\"}",
		 node);
	assert_int_equal(parse(body, &d, &v), -1);
	/* whole submission: at the cap is parsed (the reason is then too long), cap+1 refused as
	 * oversized before parsing */
	memcpy(big, head, h);
	memset(big + h, 'x', MIG_SUBMISSION_MAX - h - 2);
	memcpy(big + MIG_SUBMISSION_MAX - 2, "\"}", 2);
	assert_int_equal(mig_parse_drain(big, MIG_SUBMISSION_MAX, &d, &v), -1);
	assert_string_equal(v.code, "RequestTooLarge");
	assert_non_null(strstr(v.message, "'reason'"));
	assert_int_equal(mig_parse_drain(big, MIG_SUBMISSION_MAX + 1, &d, &v), -1);
	assert_string_equal(v.code, "RequestTooLarge");
	assert_non_null(strstr(v.message, "cap"));
	free(big);
}

static void policy(void **state)
{
	struct mig_policy p;
	char err[256];
	cJSON *w;

	(void)state;
	w = cJSON_Parse("{\"spec\":{}}");
	assert_int_equal(mig_policy_read(w, &p, err, sizeof(err)), 0);
	assert_false(p.enabled);
	assert_null(p.target);
	cJSON_Delete(w);
	w = cJSON_Parse("{\"spec\":{\"migrationPolicy\":{\"enabled\":true,\"triggerConditions\":["
			"{\"type\":\"nodeMaintenance\"},{\"type\":\"resourcePressure\","
			"\"threshold\":\"80%\"}],\"targetNodeSelector\":{\"matchLabels\":"
			"{\"pool\":\"b\"}},\"allowColdMigration\":true}}}");
	assert_int_equal(mig_policy_read(w, &p, err, sizeof(err)), 0);
	assert_true(p.enabled);
	assert_true(p.allow_cold);
	assert_int_equal(p.triggers, MIG_TRIG_MAINTENANCE | MIG_TRIG_PRESSURE);
	assert_int_equal(p.pressure_percent, 80);
	assert_non_null(p.target);
	cJSON *lb = cJSON_Parse("{\"pool\":\"b\"}"), *la = cJSON_Parse("{\"pool\":\"a\"}");
	assert_true(wk_selector_matches(p.target, lb));
	assert_false(wk_selector_matches(p.target, la));
	cJSON_Delete(lb);
	cJSON_Delete(la);
	mig_policy_release(&p);
	mig_policy_release(&p); /* twice is harmless */
	cJSON_Delete(w);
	static const char *const bad[] = {
	    "{\"spec\":{\"migrationPolicy\":{\"triggerConditions\":[{\"type\":\"x\"}]}}}",
	    "{\"spec\":{\"migrationPolicy\":{\"triggerConditions\":[{\"type\":\"resourcePressure\","
	    "\"threshold\":\"180%\"}]}}}",
	    "{\"spec\":{\"migrationPolicy\":{\"triggerConditions\":[{\"type\":\"resourcePressure\","
	    "\"threshold\":\"80\"}]}}}",
	    "{\"spec\":{\"migrationPolicy\":{\"triggerConditions\":{}}}}",
	    "{\"spec\":{\"migrationPolicy\":{\"targetNodeSelector\":{\"matchExpressions\":[{"
	    "\"key\":"
	    "\"a\",\"operator\":\"Bogus\"}]}}}}",
	    "{\"spec\":{\"migrationPolicy\":7}}",
	    NULL};
	for (int i = 0; bad[i]; i++) {
		w = cJSON_Parse(bad[i]);
		assert_non_null(w);
		assert_int_equal(mig_policy_read(w, &p, err, sizeof(err)), -1);
		mig_policy_release(&p);
		cJSON_Delete(w);
	}
}

static void maintenance(void **state)
{
	char why[128];
	cJSON *n;

	(void)state;
	n = cJSON_Parse("{\"spec\":{}}");
	assert_false(mig_node_in_maintenance(n, NULL, why, sizeof(why)));
	cJSON_Delete(n);
	n = cJSON_Parse("{\"spec\":{\"unschedulable\":true}}");
	assert_true(mig_node_in_maintenance(n, NULL, why, sizeof(why)));
	assert_string_equal(why, "cordoned");
	cJSON_Delete(n);
	n = cJSON_Parse("{\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":\"NoSchedule\"},"
			"{\"key\":\"example.com/drain\",\"effect\":\"NoSchedule\"}]}}");
	assert_false(mig_node_in_maintenance(n, NULL, why, sizeof(why)));
	assert_false(mig_node_in_maintenance(n, "example.com/drai", why, sizeof(why)));
	assert_true(mig_node_in_maintenance(n, "a, example.com/drain", why, sizeof(why)));
	assert_non_null(strstr(why, "example.com/drain"));
	cJSON_Delete(n);
}

static void eligibility(void **state)
{
	char why[64], err[128];
	cJSON *n = cJSON_Parse("{\"metadata\":{\"name\":\"n2\",\"labels\":{\"pool\":\"b\",\"gpu\":"
			       "\"no\"}},\"spec\":{},\"status\":{\"conditions\":[{\"type\":"
			       "\"Ready\",\"status\":\"True\"}]}}");
	struct wk_selector *sb = wk_selector_parse("pool=b", err, sizeof(err));
	struct wk_selector *sa = wk_selector_parse("pool=a", err, sizeof(err));
	cJSON *vsel = cJSON_Parse("{\"gpu\":\"yes\"}");

	(void)state;
	assert_true(mig_node_eligible(n, "n1", NULL, NULL, why, sizeof(why)));
	assert_true(mig_node_eligible(n, "n1", sb, NULL, why, sizeof(why)));
	assert_false(mig_node_eligible(n, "n1", sa, NULL, why, sizeof(why)));
	assert_string_equal(why, "TargetNodeSelectorMismatch");
	assert_false(mig_node_eligible(n, "n2", NULL, NULL, why, sizeof(why)));
	assert_string_equal(why, "TargetIsSourceNode");
	assert_false(mig_node_eligible(n, "n1", NULL, vsel, why, sizeof(why)));
	cJSON_AddTrueToObject(cJSON_GetObjectItem(n, "spec"), "unschedulable");
	assert_false(mig_node_eligible(n, "n1", NULL, NULL, why, sizeof(why)));
	assert_string_equal(why, "TargetNodeUnschedulable");
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(n, "spec"), "unschedulable");
	cJSON_ReplaceItemInObject(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "status"), "conditions"),
			       0),
	    "status", cJSON_CreateString("Unknown"));
	assert_false(mig_node_eligible(n, "n1", NULL, NULL, why, sizeof(why)));
	assert_string_equal(why, "TargetNodeNotReady");
	wk_selector_destroy(sa);
	wk_selector_destroy(sb);
	cJSON_Delete(vsel);
	cJSON_Delete(n);
}

static void ids(void **state)
{
	char a[MIG_ID_MAX], b[MIG_ID_MAX], c[MIG_ID_MAX];
	char longid[64];

	(void)state;
	mig_drain_child_id("d1", "default", "vm1", a, sizeof(a));
	mig_drain_child_id("d1", "default", "vm1", b, sizeof(b));
	mig_drain_child_id("d1", "default", "vm2", c, sizeof(c));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_true(wk_name_is_dns1123_label(a));
	memset(longid, 'z', 63);
	longid[63] = '\0';
	mig_drain_child_id(longid, "default", "vm1", a, sizeof(a));
	assert_true(strlen(a) <= 63);
	assert_true(wk_name_is_dns1123_label(a));
	mig_maint_child_id("node-1.example.com", "ns", "vm", "uid1", "", a, sizeof(a));
	mig_maint_child_id("node-1.example.com", "ns", "vm", "uid1", "mig1", b, sizeof(b));
	assert_string_not_equal(a, b); /* moved once: a new episode */
	assert_true(wk_name_is_dns1123_label(a));
	assert_true(wk_name_is_dns1123_label(b));
	char node[254];
	memset(node, 'n', 253);
	node[253] = '\0';
	node[29] = '.';
	mig_maint_child_id(node, "ns", "vm", NULL, NULL, a, sizeof(a));
	assert_true(strlen(a) <= 63);
	assert_true(wk_name_is_dns1123_label(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(drain_valid), cmocka_unit_test(drain_bad),
	    cmocka_unit_test(drain_caps),  cmocka_unit_test(policy),
	    cmocka_unit_test(maintenance), cmocka_unit_test(eligibility),
	    cmocka_unit_test(ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
