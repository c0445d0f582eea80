/* test_mig_verify.c - the checks after a move: the snapshot before (interfaces' addresses, the
 * guest agent; caps, garbage), and the verdict after (on the target and Running, every volume
 * attached, the same addresses, the agent still connected), each failure with its reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "decide/mig_verify.h"
#include "wk_json.h"

#define VMI(node, phase, ip, agent, vs)                                                            \
	"{\"spec\":{\"volumes\":[{\"name\":\"system\"},{\"name\":\"data\"}]},\"status\":{"         \
	"\"nodeName\":\"" node "\",\"phase\":\"" phase "\",\"conditions\":[{\"type\":"             \
	"\"AgentConnected\",\"status\":\"" agent "\"}],\"interfaces\":[{\"name\":\"default\","     \
	"\"ipAddress\":\"" ip "\",\"ipAddresses\":[\"" ip "\"]}],\"volumeStatus\":" vs "}}"
#define VS2 "[{\"name\":\"system\",\"target\":\"vda\"},{\"name\":\"data\",\"target\":\"vdb\"}]"

static void before_after(void **state)
{
	cJSON *a = cJSON_Parse(VMI("node-a", "Running", "10.0.0.5", "True", VS2));
	cJSON *b = mig_verify_before(a), *x;
	struct mig_check c;
	char ok[400];

	(void)state;
	assert_string_equal(wk_json_str(b, "node"), "node-a");
	assert_true(cJSON_IsTrue(wk_json_path(b, "agent")));
	assert_string_equal(cJSON_GetArrayItem(wk_json_path(b, "ips.default"), 0)->valuestring,
			    "10.0.0.5");
	/* the same VMI on node-b: fine */
	x = cJSON_Parse(VMI("node-b", "Running", "10.0.0.5", "True", VS2));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), 0);
	assert_non_null(strstr(ok, "2 volume(s) attached, 1 IP address(es) unchanged"));
	assert_non_null(strstr(ok, "guest agent connected"));
	/* not on the target */
	assert_int_equal(mig_verify_after(b, x, "node-c", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "VMINotRunningOnTarget");
	assert_int_equal(mig_verify_after(b, NULL, "node-b", &c, ok, sizeof(ok)), -1);
	cJSON_Delete(x);
	x = cJSON_Parse(VMI("node-b", "Scheduling", "10.0.0.5", "True", VS2));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "VMINotRunningOnTarget");
	cJSON_Delete(x);
	/* a volume not attached */
	x = cJSON_Parse(VMI("node-b", "Running", "10.0.0.5", "True", "[{\"name\":\"system\"}]"));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "VolumeNotAttached");
	assert_non_null(strstr(c.message, "'data'"));
	cJSON_Delete(x);
	x = cJSON_Parse(
	    VMI("node-b", "Running", "10.0.0.5", "True",
		"[{\"name\":\"system\"},{\"name\":\"data\",\"phase\":\"AttachedToNode\"}]"));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "VolumeNotAttached");
	cJSON_Delete(x);
	/* the address changed */
	x = cJSON_Parse(VMI("node-b", "Running", "10.0.9.9", "True", VS2));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "InterfaceIPChanged");
	assert_non_null(strstr(c.message, "10.0.0.5"));
	assert_non_null(strstr(c.message, "10.0.9.9"));
	/* ...which is not looked at without a snapshot */
	assert_int_equal(mig_verify_after(NULL, x, "node-b", &c, ok, sizeof(ok)), 0);
	cJSON_Delete(x);
	/* the agent gone */
	x = cJSON_Parse(VMI("node-b", "Running", "10.0.0.5", "False", VS2));
	assert_int_equal(mig_verify_after(b, x, "node-b", &c, ok, sizeof(ok)), -1);
	assert_string_equal(c.reason, "GuestAgentDisconnected");
	cJSON_Delete(x);
	cJSON_Delete(b);
	cJSON_Delete(a);
}

static void hostile(void **state)
{
	cJSON *b, *v;
	char big[8192];
	size_t k;
	struct mig_check c;
	char ok[64];

	(void)state;
	b = mig_verify_before(NULL);
	assert_non_null(b);
	assert_int_equal(cJSON_GetArraySize(wk_json_path(b, "ips")), 0);
	cJSON_Delete(b);
	v = cJSON_Parse(
	    "{\"status\":{\"interfaces\":[7,{\"name\":5},{\"name\":\"x\",\"ipAddresses\":[1,\"\"]},"
	    "{\"name\":\"x\",\"ipAddress\":\"1.1.1.1\"}],\"conditions\":\"no\"}}");
	b = mig_verify_before(v);
	/* only the one entry with a usable address counts */
	assert_int_equal(cJSON_GetArraySize(wk_json_path(b, "ips")), 1);
	assert_false(cJSON_IsTrue(wk_json_path(b, "agent")));
	cJSON_Delete(b);
	cJSON_Delete(v);
	/* more interfaces than kept */
	k = (size_t)snprintf(big, sizeof(big), "{\"status\":{\"interfaces\":[");
	for (int i = 0; i < 40; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k,
				      "%s{\"name\":\"i%d\",\"ipAddress\":\"10.0.0.%d\"}",
				      i ? "," : "", i, i);
	snprintf(big + k, sizeof(big) - k, "]}}");
	v = cJSON_Parse(big);
	b = mig_verify_before(v);
	assert_int_equal(cJSON_GetArraySize(wk_json_path(b, "ips")), 16);
	/* a small ok buffer is cut, never overrun */
	cJSON_AddStringToObject(cJSON_GetObjectItem(v, "status"), "nodeName", "n");
	cJSON_AddStringToObject(cJSON_GetObjectItem(v, "status"), "phase", "Running");
	assert_int_equal(mig_verify_after(b, v, "n", &c, ok, sizeof(ok)), 0);
	assert_true(strlen(ok) < sizeof(ok));
	cJSON_Delete(b);
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(before_after),
	    cmocka_unit_test(hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
