/* test_mig_preflight.c - every pre-flight check passing and failing with its reason, resource
 * accounting, and KubeVirt's MigrationPolicy precedence. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_preflight.h"
#include "wk_kubevirt.h"

#include <cjson/cJSON.h>

static const char *VMI =
    "{\"metadata\":{\"name\":\"web-1-vm\",\"namespace\":\"default\",\"labels\":{"
    "\"kubevirt.io/vm\":\"web-1-vm\",\"vm.novasphere.dev/wukong\":\"web-1\","
    "\"kubevirt.io/nodeName\":\"node-1\"}},"
    "\"spec\":{\"domain\":{\"cpu\":{\"cores\":2},\"memory\":{\"guest\":\"4Gi\"}}},"
    "\"status\":{\"phase\":\"Running\",\"nodeName\":\"node-1\",\"conditions\":["
    "{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"LiveMigratable\",\"status\":\"True\"}]}}";

static const char *NODE =
    "{\"metadata\":{\"name\":\"node-2\",\"labels\":{\"kubernetes.io/hostname\":\"node-2\","
    "\"kubevirt.io/"
    "schedulable\":\"true\",\"zone\":\"a\"}},\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":"
    "\"16\",\"memory\":\"64Gi\"},"
    "\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
    "{\"type\":\"Ready\",\"status\":\"True\"}]}}";

struct fx {
	cJSON *vmi, *node;
	struct mig_facts f;
};

static int setup(void **state)
{
	struct fx *x = wk_xcalloc(1, sizeof(*x));

	x->vmi = cJSON_Parse(VMI);
	x->node = cJSON_Parse(NODE);
	x->f.ns = "default";
	x->f.vm = "web-1-vm";
	x->f.vmi = x->vmi;
	x->f.target_name = "node-2";
	x->f.target_node = x->node;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	cJSON_Delete(x->vmi);
	cJSON_Delete(x->node);
	free(x);
	return 0;
}

static void expect_reason(const struct mig_facts *f, const char *reason)
{
	struct mig_check c;

	if (!reason) {
		if (mig_preflight(f, &c) != 0)
			fail_msg("unexpected failure %s: %s", c.reason, c.message);
		return;
	}
	assert_int_equal(mig_preflight(f, &c), -1);
	if (strcmp(c.reason, reason))
		fail_msg("reason %s (%s), expected %s", c.reason, c.message, reason);
	assert_true(strlen(c.message) > 10);
}

static void passes(void **state)
{
	struct fx *x = *state;

	expect_reason(&x->f, NULL);
	x->f.target_name = NULL; /* the scheduler picks */
	x->f.target_node = NULL;
	expect_reason(&x->f, NULL);
}

static void vmi_missing_or_not_running(void **state)
{
	struct fx *x = *state;

	x->f.vmi = NULL;
	expect_reason(&x->f, "VMINotFound");
	x->f.vmi = x->vmi;
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(x->vmi, "status"), "phase",
				  cJSON_CreateString("Scheduling"));
	expect_reason(&x->f, "VMINotRunning");
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(x->vmi, "status"), "phase");
	expect_reason(&x->f, "VMINotRunning");
}

static void vmi_deleting(void **state)
{
	struct fx *x = *state;

	cJSON_AddStringToObject(cJSON_GetObjectItem(x->vmi, "metadata"), "deletionTimestamp",
				"2026-01-01T00:00:00Z");
	expect_reason(&x->f, "VMINotRunning");
}

static void set_migratable(cJSON *vmi, const char *reason, const char *msg)
{
	cJSON *conds = cJSON_GetObjectItem(cJSON_GetObjectItem(vmi, "status"), "conditions");
	cJSON *c = cJSON_GetArrayItem(conds, 1);

	cJSON_ReplaceItemInObject(c, "status", cJSON_CreateString("False"));
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", msg);
}

static void not_migratable_disks(void **state)
{
	struct fx *x = *state;
	struct mig_check c;

	set_migratable(x->vmi, "DisksNotLiveMigratable",
		       "cannot migrate VMI: PVC db-local-data is not shared");
	expect_reason(&x->f, "DisksNotLiveMigratable");
	mig_preflight(&x->f, &c);
	assert_non_null(strstr(c.message, "db-local-data"));
	/* the hint names the flag and the field, and does not repeat KubeVirt's sentence */
	assert_non_null(strstr(c.message, "--cold --to NODE"));
	assert_non_null(strstr(c.message, "spec.migration.cold"));
	assert_null(strstr(c.message, "ReadWriteMany"));
	/* A VM already on the target need not move, migratable or not (AlreadyOnTarget for a
	 * spec.migration): that is said first. */
	x->f.target_name = "node-1";
	expect_reason(&x->f, "TargetIsSourceNode");
	/* ... unless a migration of it is in flight */
	x->f.inflight_vmim = "other";
	expect_reason(&x->f, "DisksNotLiveMigratable");
	x->f.inflight_vmim = NULL;
}

static void not_migratable_bridge(void **state)
{
	struct fx *x = *state;
	struct mig_check c;

	set_migratable(x->vmi, "InterfaceNotLiveMigratable",
		       "cannot migrate VMI which does not use masquerade");
	expect_reason(&x->f, "InterfaceNotLiveMigratable");
	mig_preflight(&x->f, &c);
	assert_non_null(strstr(c.message, "kubevirt.io/allow-pod-bridge-network-live-migration"));
}

static void not_migratable_other(void **state)
{
	struct fx *x = *state;

	set_migratable(x->vmi, "HostDeviceNotLiveMigratable", "GPU");
	expect_reason(&x->f, "HostDeviceNotLiveMigratable");
	/* No reason given: upstream's generic NotMigratable. */
	cJSON_DeleteItemFromObject(
	    cJSON_GetArrayItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(x->vmi, "status"), "conditions"), 1),
	    "reason");
	expect_reason(&x->f, "NotMigratable");
}

static void inflight(void **state)
{
	struct fx *x = *state;

	x->f.inflight_vmim = "kubevirt-evacuation-abc";
	x->f.inflight_phase = "Running";
	expect_reason(&x->f, "MigrationInFlight");
}

static void target_checks(void **state)
{
	struct fx *x = *state;
	cJSON *spec = cJSON_GetObjectItem(x->node, "spec");
	cJSON *conds = cJSON_GetObjectItem(cJSON_GetObjectItem(x->node, "status"), "conditions");

	x->f.target_name = "node-1";
	expect_reason(&x->f, "TargetIsSourceNode");
	x->f.target_name = "node-9";
	x->f.target_node = NULL;
	expect_reason(&x->f, "TargetNodeNotFound");
	x->f.target_name = "node-2";
	x->f.target_node = x->node;
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(conds, 1), "status",
				  cJSON_CreateString("Unknown"));
	expect_reason(&x->f, "TargetNodeNotReady");
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(conds, 1), "status",
				  cJSON_CreateString("True"));
	cJSON_AddTrueToObject(spec, "unschedulable");
	expect_reason(&x->f, "TargetNodeUnschedulable");
	cJSON_DeleteItemFromObject(spec, "unschedulable");
	cJSON_AddItemToObject(spec, "taints",
			      cJSON_Parse("[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"}]"));
	expect_reason(&x->f, NULL);
	cJSON_ReplaceItemInObject(
	    spec, "taints",
	    cJSON_Parse("[{\"key\":\"kubevirt.io/drain\",\"effect\":\"NoSchedule\"}]"));
	expect_reason(&x->f, "TargetNodeUnschedulable");
}

/* The scheduler's rules for the launcher pod (issue 16 item 6). */
static void placement_rules(void **state)
{
	struct fx *x = *state;
	cJSON *spec = cJSON_GetObjectItem(x->node, "spec");
	cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(x->node, "metadata"), "labels");
	cJSON *vspec = cJSON_GetObjectItem(x->vmi, "spec");
	cJSON *src =
	    cJSON_Parse("{\"metadata\":{\"labels\":{"
			"\"host-model-cpu.node.kubevirt.io/Skylake\":\"true\","
			"\"host-model-required-features.node.kubevirt.io/vmx\":\"true\"}}}");

	/* Tolerated taints: Equal with the value, Exists on the key, Exists with no key; a
	 * wrong value or effect is not tolerated. */
	cJSON_AddItemToObject(
	    spec, "taints",
	    cJSON_Parse("[{\"key\":\"dedicated\",\"value\":\"vm\",\"effect\":\"NoSchedule\"}]"));
	expect_reason(&x->f, "TargetNodeUnschedulable");
	cJSON_AddItemToObject(vspec, "tolerations",
			      cJSON_Parse("[{\"key\":\"dedicated\",\"operator\":\"Equal\","
					  "\"value\":\"vm\",\"effect\":\"NoSchedule\"}]"));
	expect_reason(&x->f, NULL);
	cJSON_ReplaceItemInObject(vspec, "tolerations",
				  cJSON_Parse("[{\"key\":\"dedicated\",\"value\":\"db\"}]"));
	expect_reason(&x->f, "TargetNodeUnschedulable");
	cJSON_ReplaceItemInObject(vspec, "tolerations",
				  cJSON_Parse("[{\"key\":\"dedicated\",\"operator\":\"Exists\","
					      "\"effect\":\"NoExecute\"}]"));
	expect_reason(&x->f, "TargetNodeUnschedulable");
	cJSON_ReplaceItemInObject(vspec, "tolerations", cJSON_Parse("[{\"operator\":\"Exists\"}]"));
	expect_reason(&x->f, NULL);
	/* A cordon is tolerated like its taint. */
	cJSON_AddTrueToObject(spec, "unschedulable");
	expect_reason(&x->f, NULL);
	cJSON_DeleteItemFromObject(vspec, "tolerations");
	expect_reason(&x->f, "TargetNodeUnschedulable");
	cJSON_DeleteItemFromObject(spec, "unschedulable");
	cJSON_DeleteItemFromObject(spec, "taints");
	expect_reason(&x->f, NULL);
	/* kubevirt.io/schedulable must be "true". */
	cJSON_ReplaceItemInObject(labels, "kubevirt.io/schedulable", cJSON_CreateString("false"));
	expect_reason(&x->f, "TargetNodeNotSchedulableForVMs");
	cJSON_ReplaceItemInObject(labels, "kubevirt.io/schedulable", cJSON_CreateString("true"));
	/* Required node affinity: In / NotIn / Exists / Gt, matchFields on the name. */
	cJSON_AddItemToObject(
	    vspec, "affinity",
	    cJSON_Parse("{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\","
			"\"operator\":\"In\",\"values\":[\"b\"]}]},{\"matchFields\":[{\"key\":"
			"\"metadata.name\",\"operator\":\"In\",\"values\":[\"node-9\"]}]}]}}}"));
	expect_reason(&x->f, "TargetNodeAffinityMismatch");
	cJSON_ReplaceItemInObject(
	    vspec, "affinity",
	    cJSON_Parse("{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\","
			"\"operator\":\"NotIn\",\"values\":[\"b\"]},{\"key\":\"zone\","
			"\"operator\":\"Exists\"}]}]}}}"));
	expect_reason(&x->f, NULL);
	cJSON_DeleteItemFromObject(vspec, "affinity");
	/* An explicit CPU model needs the node-labeller's label. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(vspec, "domain"), "cpu",
				  cJSON_Parse("{\"cores\":2,\"model\":\"Haswell\"}"));
	expect_reason(&x->f, "TargetNodeCPUMismatch");
	cJSON_AddStringToObject(labels, "cpu-model.node.kubevirt.io/Haswell", "true");
	expect_reason(&x->f, NULL);
	/* host-model migrating: the source's host model and required features. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(vspec, "domain"), "cpu",
				  cJSON_Parse("{\"cores\":2,\"model\":\"host-model\"}"));
	x->f.source_node = src;
	expect_reason(&x->f, "TargetNodeCPUMismatch");
	cJSON_AddStringToObject(labels, "cpu-model-migration.node.kubevirt.io/Skylake", "true");
	expect_reason(&x->f, "TargetNodeCPUMismatch");
	cJSON_AddStringToObject(labels, "cpu-feature.node.kubevirt.io/vmx", "true");
	expect_reason(&x->f, NULL);
	x->f.source_node = NULL;
	cJSON_Delete(src);
	/* A PersistentVolume pinned to a node (local storage): VolumeBinding. */
	{
		cJSON *pv = cJSON_Parse(
		    "{\"metadata\":{\"name\":\"pv-1\"},\"spec\":{\"nodeAffinity\":{\"required\":{"
		    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
		    "\"kubernetes.io/"
		    "hostname\",\"operator\":\"In\",\"values\":[\"node-1\"]}]}]}}}}");
		cJSON *shared = cJSON_Parse("{\"metadata\":{\"name\":\"pv-2\"},\"spec\":{}}");
		struct mig_check c;

		assert_int_equal(mig_pv_check(pv, "data", x->node, "node-2", &c), -1);
		assert_string_equal(c.reason, "TargetNodeVolumeAffinityMismatch");
		assert_non_null(strstr(c.message, "pv-1"));
		assert_int_equal(mig_pv_check(shared, "data", x->node, "node-2", &c), 0);
		assert_int_equal(mig_pv_check(NULL, "data", x->node, "node-2", &c), 0);
		cJSON_ReplaceItemInObject(labels, "kubernetes.io/hostname",
					  cJSON_CreateString("node-1"));
		assert_int_equal(mig_pv_check(pv, "data", x->node, "node-1", &c), 0);
		/* Hostile terms: not an array / garbage requirements. */
		assert_true(mig_node_matches_terms(NULL, x->node, "node-1"));
		cJSON_Delete(shared);
		shared = cJSON_Parse("[{\"matchExpressions\":[{\"key\":7,\"operator\":\"In\"}]},"
				     "{\"matchExpressions\":\"x\"},{}]");
		assert_false(mig_node_matches_terms(shared, x->node, "node-1"));
		cJSON_Delete(shared);
		cJSON_Delete(pv);
	}
}

static void target_capacity(void **state)
{
	struct fx *x = *state;

	/* 64Gi allocatable; the launcher pod of a 4Gi, 2-vCPU VM asks 4Gi + 284Mi overhead + 35M
	 * (console logger) and 2/10 CPU + 5m: exactly enough passes, one more byte does not. */
	const int64_t need = (INT64_C(4) << 30) + (INT64_C(284) << 20) + 35000000;

	x->f.target_used_mem = (INT64_C(64) << 30) - need;
	expect_reason(&x->f, NULL);
	x->f.target_used_mem = (INT64_C(64) << 30) - need + 1;
	expect_reason(&x->f, "TargetNodeInsufficientMemory");
	x->f.target_used_mem = 0;
	x->f.target_used_cpu_milli = 16000 - 205;
	expect_reason(&x->f, NULL);
	x->f.target_used_cpu_milli = 16000 - 204;
	expect_reason(&x->f, "TargetNodeInsufficientCPU");
	/* cpuAllocationRatio from the KubeVirt CR: 1 counts whole vCPUs. */
	{
		struct wk_kubevirt_info kv;

		wk_kubevirt_info_init(&kv);
		kv.cpu_allocation_ratio = 1;
		x->f.kv = &kv;
		x->f.target_used_cpu_milli = 16000 - 2005;
		expect_reason(&x->f, NULL);
		x->f.target_used_cpu_milli = 16000 - 2004;
		expect_reason(&x->f, "TargetNodeInsufficientCPU");
		x->f.kv = NULL;
	}
}

static void selector_mismatch(void **state)
{
	struct fx *x = *state;

	cJSON_AddItemToObject(cJSON_GetObjectItem(x->vmi, "spec"), "nodeSelector",
			      cJSON_Parse("{\"gpu\":\"true\"}"));
	expect_reason(&x->f, "TargetNodeSelectorMismatch");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(x->vmi, "spec"), "nodeSelector",
				  cJSON_Parse("{\"zone\":\"a\"}"));
	expect_reason(&x->f, NULL);
}

static void resources(void **state)
{
	cJSON *v = cJSON_Parse("{\"spec\":{\"domain\":{\"cpu\":{\"cores\":2,\"sockets\":2,"
			       "\"threads\":2},\"resources\":{\"requests\":{\"memory\":\"1Gi\","
			       "\"cpu\":\"500m\"}}}}}");
	cJSON *w = cJSON_Parse("{\"spec\":{\"domain\":{\"resources\":{\"requests\":{\"memory\":"
			       "\"1536Mi\",\"cpu\":\"1500m\"}}}}}");
	cJSON *n = cJSON_Parse("{\"status\":{\"allocatable\":{\"memory\":\"1000000Ki\"}}}");
	int64_t mem, cpu;

	(void)state;
	mig_vmi_guest(v, &mem, &cpu);
	assert_int_equal(mem, INT64_C(1) << 30);
	assert_int_equal(cpu, 8000);
	mig_vmi_guest(w, &mem, &cpu);
	assert_int_equal(mem, INT64_C(1536) << 20);
	assert_int_equal(cpu, 1500);
	mig_vmi_guest(NULL, &mem, &cpu);
	assert_int_equal(mem, 0);
	assert_int_equal(cpu, 0);
	/* The launcher pod's requests: an explicit cpu request wins over vCPUs / ratio. */
	mig_vmi_resources(v, NULL, &mem, &cpu);
	assert_int_equal(cpu, 505);
	/* 1Gi + 1Gi/512 + 220Mi + 8 x 8Mi + 8Mi + 32Mi video + 35M */
	assert_int_equal(mem,
			 (INT64_C(1) << 30) + ((INT64_C(2) + 220 + 64 + 8 + 32) << 20) + 35000000);
	{
		struct wk_kubevirt_info kv;

		wk_kubevirt_info_init(&kv);
		kv.version_known = true;
		kv.major = 1;
		kv.minor = 5; /* video RAM 16Mi on 1.5 */
		mig_vmi_resources(v, &kv, &mem, &cpu);
		assert_int_equal(mem, (INT64_C(1) << 30) +
					  ((INT64_C(2) + 220 + 64 + 8 + 16) << 20) + 35000000);
	}
	mig_vmi_resources(NULL, NULL, &mem, &cpu);
	assert_int_equal(mem, 0);
	assert_int_equal(cpu, 0);
	{
		cJSON *d = cJSON_Parse("{\"spec\":{\"domain\":{\"cpu\":{\"cores\":4,"
				       "\"dedicatedCpuPlacement\":true},\"memory\":{\"guest\":"
				       "\"2Gi\"},\"resources\":{\"overcommitGuestOverhead\":true},"
				       "\"devices\":{\"logSerialConsole\":false}}}}");
		mig_vmi_resources(d, NULL, &mem, &cpu);
		assert_int_equal(cpu, 4000);
		assert_int_equal(mem, INT64_C(2) << 30);
		cJSON_Delete(d);
		/* Hostile topology: capped, no overflow. */
		d = cJSON_Parse("{\"spec\":{\"domain\":{\"cpu\":{\"cores\":1e300,\"sockets\":"
				"1e300,\"threads\":-5}}}}");
		mig_vmi_resources(d, NULL, &mem, &cpu);
		assert_true(cpu > 0 && cpu <= 4096 * 1000 / 10 + 5);
		cJSON_Delete(d);
	}
	mig_node_allocatable(n, &mem, &cpu);
	assert_int_equal(mem, INT64_C(1024000000));
	assert_int_equal(cpu, -1);
	assert_false(mig_node_ready(n));
	assert_true(mig_vmim_phase_final("Failed"));
	assert_false(mig_vmim_phase_final("Running"));
	assert_false(mig_vmim_phase_final(NULL));
	cJSON_Delete(v);
	cJSON_Delete(w);
	cJSON_Delete(n);
	/* Hostile numbers (huge, negative) read as unknown, not as undefined conversions. */
	n = cJSON_Parse("{\"status\":{\"allocatable\":{\"memory\":1e300,\"cpu\":-4}}}");
	mig_node_allocatable(n, &mem, &cpu);
	assert_int_equal(mem, -1);
	assert_int_equal(cpu, -1);
	cJSON_Delete(n);
	n = cJSON_Parse("{\"status\":{\"allocatable\":{\"memory\":4096,\"cpu\":1e17}}}");
	mig_node_allocatable(n, &mem, &cpu);
	assert_int_equal(mem, 4096);
	assert_int_equal(cpu, -1); /* 1e17 cores in millicores is out of range */
	cJSON_Delete(n);
}

static cJSON *pol(const char *name, const char *vmi_sel, const char *ns_sel)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selectors\":{"
		 "\"virtualMachineInstanceSelector\":%s,\"namespaceSelector\":%s}}}",
		 name, vmi_sel, ns_sel);
	return cJSON_Parse(buf);
}

static void policy_precedence(void **state)
{
	cJSON *vmil = cJSON_Parse("{\"app\":\"web\",\"tier\":\"front\",\"kubevirt.io/nodeName\":"
				  "\"node-1\"}");
	cJSON *nsl = cJSON_Parse("{\"kubernetes.io/metadata.name\":\"default\"}");
	cJSON *ps = cJSON_CreateArray(), *sel;

	(void)state;
	assert_null(mig_policy_winner(ps, vmil, nsl));
	cJSON_AddItemToArray(ps, pol("cluster-web", "{\"app\":\"web\"}", "{}"));
	assert_string_equal(mig_policy_winner(ps, vmil, nsl), "cluster-web");
	/* Ours: every stable VMI label plus the namespace. */
	sel = mig_policy_vmi_selector(vmil);
	assert_null(cJSON_GetObjectItem(sel, "kubevirt.io/nodeName"));
	assert_int_equal(cJSON_GetArraySize(sel), 2);
	{
		char *s = cJSON_PrintUnformatted(sel);
		char *n = cJSON_PrintUnformatted(nsl);
		cJSON_AddItemToArray(ps, pol("wk-req-1-abc", s, n));
		free(s);
		free(n);
	}
	assert_string_equal(mig_policy_winner(ps, vmil, nsl), "wk-req-1-abc");
	/* A policy that does not match (one label differs) never wins. */
	cJSON_AddItemToArray(ps, pol("a-other",
				     "{\"app\":\"web\",\"tier\":\"back\","
				     "\"x\":\"y\",\"z\":\"w\"}",
				     "{}"));
	assert_string_equal(mig_policy_winner(ps, vmil, nsl), "wk-req-1-abc");
	/* An exact tie: more VMI labels first, then the smaller name. */
	cJSON_AddItemToArray(ps, pol("aaa-tie", "{\"app\":\"web\",\"tier\":\"front\"}",
				     "{\"kubernetes.io/metadata.name\":\"default\"}"));
	assert_string_equal(mig_policy_winner(ps, vmil, nsl), "aaa-tie");
	cJSON_AddItemToArray(ps, pol("zzz-more-vmi",
				     "{\"app\":\"web\",\"tier\":\"front\",\"kubevirt.io/nodeName\":"
				     "\"node-1\"}",
				     "{}"));
	/* 3 VMI + 0 ns = 3 = 2 + 1, tie on total, more VMI labels wins. */
	assert_string_equal(mig_policy_winner(ps, vmil, nsl), "zzz-more-vmi");
	cJSON_Delete(sel);
	cJSON_Delete(ps);
	cJSON_Delete(vmil);
	cJSON_Delete(nsl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(passes, setup, teardown),
	    cmocka_unit_test_setup_teardown(vmi_missing_or_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(vmi_deleting, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_migratable_disks, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_migratable_bridge, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_migratable_other, setup, teardown),
	    cmocka_unit_test_setup_teardown(inflight, setup, teardown),
	    cmocka_unit_test_setup_teardown(target_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(target_capacity, setup, teardown),
	    cmocka_unit_test_setup_teardown(placement_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(selector_mismatch, setup, teardown),
	    cmocka_unit_test(resources),
	    cmocka_unit_test(policy_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
