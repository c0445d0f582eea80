/* test_wk_kubevirt.c - the KubeVirt CR: version, feature gates per version (1.5, 1.6, 1.9),
 * defaults, migration configuration, and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "wk_kubevirt.h"

/* A KubeVirt CR as virt-operator leaves it: version in status, gates in developerConfiguration. */
static void parse(const char *json, struct wk_kubevirt_info *kv)
{
	char err[256] = "";
	cJSON *o = cJSON_Parse(json);

	assert_non_null(o);
	assert_int_equal(wk_kubevirt_parse(o, kv, err, sizeof(err)), 0);
	cJSON_Delete(o);
}

static const char kv15_nogate[] =
    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kubevirt\","
    "\"namespace\":\"kubevirt\"},\"spec\":{\"configuration\":{\"developerConfiguration\":{}}},"
    "\"status\":{\"observedKubeVirtVersion\":\"v1.5.0\",\"phase\":\"Deployed\"}}";
static const char kv15_snap[] =
    "{\"kind\":\"KubeVirt\",\"spec\":{\"configuration\":{\"developerConfiguration\":"
    "{\"featureGates\":[\"Snapshot\",\"VMExport\",\"DecentralizedLiveMigration\"]}}},"
    "\"status\":{\"observedKubeVirtVersion\":\"v1.5.2\"}}";
static const char kv16[] =
    "{\"kind\":\"KubeVirt\",\"spec\":{\"configuration\":{\"developerConfiguration\":"
    "{\"featureGates\":[\"DecentralizedLiveMigration\"],\"cpuAllocationRatio\":4},"
    "\"migrations\":{\"parallelMigrationsPerCluster\":9,\"parallelOutboundMigrationsPerNode\":3,"
    "\"bandwidthPerMigration\":\"64Mi\",\"completionTimeoutPerGiB\":800,\"progressTimeout\":300,"
    "\"allowPostCopy\":true}}},\"status\":{\"observedKubeVirtVersion\":\"v1.6.0\"}}";
static const char kv19[] =
    "{\"kind\":\"KubeVirt\",\"spec\":{\"configuration\":{\"developerConfiguration\":"
    "{\"disabledFeatureGates\":[\"NodeRestriction\"]}}},"
    "\"status\":{\"observedKubeVirtVersion\":\"v1.9.0\"}}";
static const char kv19_nosnap[] =
    "{\"kind\":\"KubeVirt\",\"spec\":{\"configuration\":{\"vmRolloutStrategy\":\"Stage\","
    "\"developerConfiguration\":{\"disabledFeatureGates\":[\"Snapshot\"],"
    "\"featureGates\":[]}}},\"status\":{\"observedKubeVirtVersion\":\"v1.9.0\"}}";

static void version_parse(void **state)
{
	int a = -1, b = -1, c = -1;

	(void)state;
	assert_true(wk_kubevirt_parse_version("v1.6.0", &a, &b, &c));
	assert_int_equal(a, 1);
	assert_int_equal(b, 6);
	assert_int_equal(c, 0);
	assert_true(wk_kubevirt_parse_version("1.9", &a, &b, &c));
	assert_int_equal(b, 9);
	assert_int_equal(c, 0);
	assert_true(wk_kubevirt_parse_version("v1.9.0-rc.1", &a, &b, &c));
	assert_true(wk_kubevirt_parse_version("v1.10.3+abc", &a, &b, &c));
	assert_int_equal(b, 10);
	assert_int_equal(c, 3);
	assert_false(wk_kubevirt_parse_version("latest", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("devel", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version(NULL, &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v1", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v1.", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v1.6.x", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v1.6.0 ", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v99999999999.1", &a, &b, &c));
	assert_false(wk_kubevirt_parse_version("v-1.6", &a, &b, &c));
}

static void v15(void **state)
{
	struct wk_kubevirt_info kv;
	char why[512];

	(void)state;
	parse(kv15_nogate, &kv);
	assert_string_equal(kv.version, "v1.5.0");
	assert_true(kv.found);
	assert_string_equal(kv.namespace, "kubevirt");
	assert_true(kv.version_known);
	assert_true(wk_kubevirt_at_least(&kv, 1, 5));
	assert_false(wk_kubevirt_at_least(&kv, 1, 6));
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT)); /* Alpha, not listed */
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_VMEXPORT));
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VOLUME_MIGRATION)); /* GA in 1.5 */
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VOLUMES_UPDATE));
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_DECENTRALIZED));
	assert_int_equal(kv.rollout, WK_KV_ROLLOUT_STAGE); /* 1.5 default */
	assert_false(kv.rollout_explicit);
	assert_int_equal(kv.cpu_allocation_ratio, 10);
	assert_int_equal(kv.migrations.parallel_per_cluster, 5);
	assert_int_equal(kv.migrations.parallel_outbound_per_node, 2);
	assert_int_equal(kv.migrations.bandwidth_per_migration, 0);
	assert_int_equal(kv.migrations.completion_timeout_per_gib, 150);
	assert_int_equal(kv.migrations.progress_timeout, 150);
	assert_false(kv.migrations.allow_post_copy);
	wk_kubevirt_gate_reason(&kv, WK_KV_GATE_SNAPSHOT, why, sizeof(why));
	assert_non_null(strstr(why, "KubeVirt v1.5.0: feature gate \"Snapshot\" is not enabled"));
	assert_non_null(strstr(why, "developerConfiguration.featureGates"));

	parse(kv15_snap, &kv);
	assert_int_equal(kv.patch, 2);
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT));
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VMEXPORT));
	/* 1.5 has no such gate: listing it does not make it exist */
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_DECENTRALIZED));
	wk_kubevirt_gate_reason(&kv, WK_KV_GATE_DECENTRALIZED, why, sizeof(why));
	assert_non_null(strstr(why, "has no feature gate"));
}

static void v16(void **state)
{
	struct wk_kubevirt_info kv;

	(void)state;
	parse(kv16, &kv);
	assert_true(wk_kubevirt_at_least(&kv, 1, 6));
	assert_false(wk_kubevirt_at_least(&kv, 1, 7));
	assert_false(
	    wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT)); /* Beta, but 1.6 needs it listed */
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_DECENTRALIZED));
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VOLUME_MIGRATION));
	assert_int_equal(kv.rollout, WK_KV_ROLLOUT_LIVE_UPDATE);
	assert_int_equal(kv.cpu_allocation_ratio, 4);
	assert_int_equal(kv.migrations.parallel_per_cluster, 9);
	assert_int_equal(kv.migrations.parallel_outbound_per_node, 3);
	assert_int_equal(kv.migrations.bandwidth_per_migration, 64 * 1024 * 1024);
	assert_int_equal(kv.migrations.completion_timeout_per_gib, 800);
	assert_int_equal(kv.migrations.progress_timeout, 300);
	assert_true(kv.migrations.allow_post_copy);
	assert_false(kv.migrations.allow_auto_converge);
}

static void v19(void **state)
{
	struct wk_kubevirt_info kv;
	char why[512];

	(void)state;
	parse(kv19, &kv);
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT)); /* Beta on by default in 1.9 */
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VMEXPORT)); /* GA */
	assert_false(wk_kubevirt_gate(&kv, "NodeRestriction"));	 /* Beta but disabled */
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_DECENTRALIZED)); /* Alpha */
	assert_false(wk_kubevirt_gate(&kv, "NoSuchGate"));
	assert_int_equal(kv.rollout, WK_KV_ROLLOUT_LIVE_UPDATE);

	parse(kv19_nosnap, &kv);
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT));
	wk_kubevirt_gate_reason(&kv, WK_KV_GATE_SNAPSHOT, why, sizeof(why));
	assert_non_null(strstr(why, "is disabled"));
	assert_int_equal(kv.rollout, WK_KV_ROLLOUT_STAGE);
	assert_true(kv.rollout_explicit);
}

static void newer_and_unknown(void **state)
{
	struct wk_kubevirt_info kv;

	(void)state;
	parse("{\"status\":{\"observedKubeVirtVersion\":\"v1.12.0\"}}", &kv);
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT)); /* as 1.9 */
	assert_true(wk_kubevirt_at_least(&kv, 1, 9));
	parse("{\"status\":{\"observedKubeVirtVersion\":\"v2.0.0\"}}", &kv);
	assert_true(wk_kubevirt_at_least(&kv, 1, 9));

	parse("{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"featureGates\":"
	      "[\"Snapshot\"]}}},\"status\":{\"observedKubeVirtVersion\":\"latest\"}}",
	      &kv);
	assert_false(kv.version_known);
	assert_string_equal(kv.version, "latest");
	assert_false(wk_kubevirt_at_least(&kv, 1, 0));
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT)); /* listed */
	assert_false(wk_kubevirt_gate(&kv, WK_KV_GATE_VMEXPORT));
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_VOLUME_MIGRATION));
	assert_string_equal(wk_kubevirt_version_str(&kv), "latest");

	parse("{}", &kv); /* status not yet written (operator still deploying) */
	assert_false(kv.version_known);
	assert_string_equal(wk_kubevirt_version_str(&kv), "an unknown version");
	assert_int_equal(kv.cpu_allocation_ratio, 10);
}

static void hostile(void **state)
{
	struct wk_kubevirt_info kv;
	char err[256] = "";
	char big[256];
	cJSON *o, *arr;

	(void)state;
	/* wrong types everywhere: defaults, no crash */
	parse("{\"spec\":{\"configuration\":{\"vmRolloutStrategy\":7,\"developerConfiguration\":"
	      "{\"featureGates\":\"Snapshot\",\"cpuAllocationRatio\":-3},\"migrations\":"
	      "{\"parallelMigrationsPerCluster\":1.5,\"bandwidthPerMigration\":\"lots\","
	      "\"progressTimeout\":1e300,\"allowPostCopy\":\"yes\"}}},\"status\":"
	      "{\"observedKubeVirtVersion\":[1,6]}}",
	      &kv);
	assert_false(kv.version_known);
	assert_int_equal(kv.n_gates, 0);
	assert_int_equal(kv.cpu_allocation_ratio, 10);
	assert_int_equal(kv.migrations.parallel_per_cluster, 5);
	assert_int_equal(kv.migrations.bandwidth_per_migration, 0);
	assert_int_equal(kv.migrations.progress_timeout, 150);
	assert_false(kv.migrations.allow_post_copy);
	parse("{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"cpuAllocationRatio\":0}}"
	      "}}",
	      &kv);
	assert_int_equal(kv.cpu_allocation_ratio, 10);

	/* non-string gate entries and over-long names are skipped */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	o = cJSON_Parse(
	    "{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"featureGates\":"
	    "[1,null,\"Snapshot\"]}}},\"status\":{\"observedKubeVirtVersion\":\"v1.6.0\"}}");
	arr = (cJSON *)cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "configuration"),
		"developerConfiguration"),
	    "featureGates");
	cJSON_AddItemToArray(arr, cJSON_CreateString(big));
	assert_int_equal(wk_kubevirt_parse(o, &kv, err, sizeof(err)), 0);
	assert_int_equal(kv.n_gates, 1);
	assert_true(wk_kubevirt_gate(&kv, WK_KV_GATE_SNAPSHOT));
	assert_false(wk_kubevirt_gate(&kv, big));

	/* the cap: 128 names pass, 129 are refused and the info reset */
	while (cJSON_GetArraySize(arr) < WK_KUBEVIRT_MAX_GATES)
		cJSON_AddItemToArray(arr, cJSON_CreateString("Other"));
	assert_int_equal(wk_kubevirt_parse(o, &kv, err, sizeof(err)), 0);
	cJSON_AddItemToArray(arr, cJSON_CreateString("Other"));
	assert_int_equal(wk_kubevirt_parse(o, &kv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 128 names in featureGates"));
	assert_int_equal(kv.n_gates, 0);
	assert_false(kv.version_known);
	cJSON_Delete(o);

	/* an over-long version reads as unknown */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "observedKubeVirtVersion",
				big);
	assert_int_equal(wk_kubevirt_parse(o, &kv, err, sizeof(err)), 0);
	assert_false(kv.version_known);
	assert_string_equal(kv.version, "");
	cJSON_Delete(o);

	/* not an object */
	o = cJSON_Parse("[1]");
	assert_int_equal(wk_kubevirt_parse(o, &kv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an object"));
	cJSON_Delete(o);
	assert_int_equal(wk_kubevirt_parse(NULL, &kv, NULL, 0), -1);
	assert_false(wk_kubevirt_gate(NULL, "Snapshot"));
	assert_false(wk_kubevirt_gate(&kv, NULL));
	assert_false(wk_kubevirt_at_least(NULL, 1, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(version_parse),
	    cmocka_unit_test(v15),
	    cmocka_unit_test(v16),
	    cmocka_unit_test(v19),
	    cmocka_unit_test(newer_and_unknown),
	    cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
