/* test_mig_cold.c - cold migration's pure parts: the state kept on the VM (round trip, garbage,
 * truncated, empty, missing fields), the nodeSelector pin / restore merge patches, which
 * pre-flight reasons allow a cold move, and who allows it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "../../consumers/migrator/mig_cold.h"

static void state_roundtrip(void **state)
{
	struct mig_cold_state s, t;
	char *j;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.request, "spec-1234-g2-abcd");
	strcpy(s.target, "node-b");
	strcpy(s.hostname, "node-b.example");
	strcpy(s.wukong, "db-1");
	strcpy(s.run_strategy, "Always");
	s.node_selector = cJSON_Parse("{\"tier\":\"db\"}");
	s.stopped_ms = 1763780000123LL;
	s.started_ms = 1763779990000LL;
	j = mig_cold_state_json(&s);
	assert_int_equal(mig_cold_state_parse(j, &t), 0);
	assert_string_equal(t.request, s.request);
	assert_string_equal(t.hostname, "node-b.example");
	assert_true(t.stopped_ms == s.stopped_ms);
	assert_true(t.started_ms == s.started_ms);
	assert_string_equal(cJSON_GetObjectItem(t.node_selector, "tier")->valuestring, "db");
	mig_cold_state_release(&t);
	mig_cold_state_release(&t); /* twice is harmless */
	free(j);
	/* bad input */
	assert_int_equal(mig_cold_state_parse(NULL, &t), -1);
	assert_int_equal(mig_cold_state_parse("", &t), -1);
	assert_int_equal(mig_cold_state_parse("{\"requestId\":\"x\"", &t), -1);
	assert_int_equal(mig_cold_state_parse("garbage", &t), -1);
	assert_int_equal(mig_cold_state_parse("[]", &t), -1);
	assert_int_equal(
	    mig_cold_state_parse("{\"requestId\":\"x\",\"target\":7,\"hostname\":\"h\","
				 "\"wukong\":\"w\"}",
				 &t),
	    -1);
	char big[600];
	snprintf(big, sizeof(big),
		 "{\"requestId\":\"%0200d\",\"target\":\"n\",\"hostname\":\"h\",\"wukong\":\"w\"}",
		 0);
	assert_int_equal(mig_cold_state_parse(big, &t), -1); /* longer than an id */
	mig_cold_state_release(&s);
}

static void selector_patches(void **state)
{
	struct mig_cold_state s;
	char *p;
	cJSON *o, *sel;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.hostname, "node-b");
	s.node_selector = cJSON_Parse("{\"tier\":\"db\"}");
	p = mig_cold_selector_patch(&s, true);
	o = cJSON_Parse(p);
	sel = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "template"),
				"spec"),
	    "nodeSelector");
	assert_string_equal(cJSON_GetObjectItem(sel, "tier")->valuestring, "db");
	assert_string_equal(cJSON_GetObjectItem(sel, "kubernetes.io/hostname")->valuestring,
			    "node-b");
	cJSON_Delete(o);
	free(p);
	p = mig_cold_selector_patch(&s, false);
	o = cJSON_Parse(p);
	sel = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "template"),
				"spec"),
	    "nodeSelector");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(sel, "kubernetes.io/hostname")));
	assert_string_equal(cJSON_GetObjectItem(sel, "tier")->valuestring, "db");
	cJSON_Delete(o);
	free(p);
	/* the VM pinned itself to a host: restoring puts its own value back */
	cJSON_Delete(s.node_selector);
	s.node_selector = cJSON_Parse("{\"kubernetes.io/hostname\":\"node-z\"}");
	p = mig_cold_selector_patch(&s, false);
	assert_non_null(strstr(p, "\"kubernetes.io/hostname\":\"node-z\""));
	free(p);
	mig_cold_state_release(&s);
}

static void applicability(void **state)
{
	struct mig_request r;
	cJSON *w;

	(void)state;
	assert_true(mig_cold_applicable("DisksNotLiveMigratable"));
	assert_true(mig_cold_applicable("HostDeviceNotLiveMigratable"));
	assert_false(mig_cold_applicable("TargetNodeNotReady"));
	assert_false(mig_cold_applicable(NULL));
	memset(&r, 0, sizeof(r));
	r.source = MIG_SRC_SPEC;
	strcpy(r.target_node, "node-b");
	w = cJSON_Parse("{\"spec\":{\"migration\":{\"cold\":true}}}");
	assert_true(mig_cold_allowed(&r, w));
	r.target_node[0] = '\0';
	assert_false(mig_cold_allowed(&r, w)); /* nowhere to pin to */
	strcpy(r.target_node, "node-b");
	r.source = MIG_SRC_KAFKA;
	assert_false(mig_cold_allowed(&r, w)); /* spec.migration.cold is for spec requests */
	cJSON_Delete(w);
	w = cJSON_Parse("{\"spec\":{\"migrationPolicy\":{\"enabled\":true,\"allowColdMigration\":"
			"true}}}");
	assert_true(mig_cold_allowed(&r, w));
	cJSON_Delete(w);
	w = cJSON_Parse("{\"spec\":{\"migrationPolicy\":{\"enabled\":false,"
			"\"allowColdMigration\":true}}}");
	assert_false(mig_cold_allowed(&r, w));
	cJSON_Delete(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(state_roundtrip),
	    cmocka_unit_test(selector_patches),
	    cmocka_unit_test(applicability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
