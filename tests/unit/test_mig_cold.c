/* test_mig_cold.c - cold migration's pure parts: the state kept on the VM (round trip, garbage,
 * truncated, empty, missing fields), the nodeSelector pin / restore merge patches, which
 * pre-flight reasons allow a cold move, and who allows it, and whether a target may take the VM
 * before it is stopped (readiness, schedulability, selectors, room). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "decide/mig_cold_state.h"
#include "wk_selector.h"

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

#define BASE "\"requestId\":\"r\",\"target\":\"n\",\"hostname\":\"h\",\"wukong\":\"w\""

/* The outcome and the cluster-clock stop time survive the round trip (a restart between the
 * restore and the final status resends that status); hostile numbers are refused. */
static void state_result_and_numbers(void **state)
{
	struct mig_cold_state s, t;
	char *j;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.request, "r");
	strcpy(s.target, "node-b");
	strcpy(s.hostname, "node-b");
	strcpy(s.wukong, "db-1");
	s.started_ms = 1000;
	s.stopped_ms = 2000;
	s.down_since_ms = 1763780000000LL;
	j = mig_cold_state_json(&s);
	assert_int_equal(mig_cold_state_parse(j, &t), 0);
	assert_true(t.down_since_ms == s.down_since_ms);
	assert_int_equal(t.result, MIG_PH_PENDING); /* not decided yet */
	assert_true(t.downtime_s < 0);
	mig_cold_state_release(&t);
	free(j);

	s.result = MIG_PH_SUCCEEDED;
	s.downtime_s = 7.5;
	s.finished_ms = 1763780009000LL;
	strcpy(s.on_node, "node-b");
	j = mig_cold_state_json(&s);
	assert_int_equal(mig_cold_state_parse(j, &t), 0);
	assert_int_equal(t.result, MIG_PH_SUCCEEDED);
	assert_true(t.downtime_s == 7.5);
	assert_true(t.finished_ms == s.finished_ms);
	assert_string_equal(t.on_node, "node-b");
	mig_cold_state_release(&t);
	free(j);
	s.result = MIG_PH_FAILED;
	s.downtime_s = -1; /* unknown: not written */
	j = mig_cold_state_json(&s);
	assert_null(strstr(j, "downtimeSeconds"));
	assert_int_equal(mig_cold_state_parse(j, &t), 0);
	assert_int_equal(t.result, MIG_PH_FAILED);
	assert_true(t.downtime_s < 0);
	mig_cold_state_release(&t);
	free(j);

	/* hostile */
	static const char *const bad[] = {
	    "{" BASE ",\"stoppedMs\":-1}",
	    "{" BASE ",\"stoppedMs\":1e300}",
	    "{" BASE ",\"startedMs\":\"12\"}",
	    "{" BASE ",\"downSinceMs\":1.5}",
	    "{" BASE ",\"downSinceMs\":9007199254740992}",
	    "{" BASE ",\"finishedMs\":true}",
	    "{" BASE ",\"result\":\"Exploded\"}",
	    "{" BASE ",\"result\":7}",
	    "{" BASE ",\"result\":\"Succeeded\",\"downtimeSeconds\":-3}",
	    "{" BASE ",\"result\":\"Succeeded\",\"downtimeSeconds\":1e10}",
	    "{" BASE ",\"result\":\"Succeeded\",\"downtimeSeconds\":\"5\"}",
	    "{" BASE ",\"result\":\"Succeeded\",\"downtimeSeconds\":1e999}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mig_cold_state_parse(bad[i], &t), -1);
		assert_int_equal(t.result, MIG_PH_PENDING);
		assert_null(t.node_selector);
	}
	/* at the edges */
	assert_int_equal(mig_cold_state_parse("{" BASE ",\"stoppedMs\":9007199254740991,"
					      "\"result\":\"Succeeded\",\"downtimeSeconds\":1e9}",
					      &t),
			 0);
	assert_true(t.stopped_ms == 9007199254740991LL);
	assert_true(t.downtime_s == 1e9);
	mig_cold_state_release(&t);
	/* an old annotation (before downtime was kept): still ours */
	assert_int_equal(mig_cold_state_parse("{" BASE ",\"stoppedMs\":5,\"startedMs\":4}", &t), 0);
	assert_true(t.down_since_ms == 0 && t.result == MIG_PH_PENDING);
	mig_cold_state_release(&t);
}

static void condition_times_and_downtime(void **state)
{
	struct mig_cold_state s;
	cJSON *vm;

	(void)state;
	vm = cJSON_Parse("{\"status\":{\"conditions\":["
			 "{\"type\":\"Paused\",\"status\":\"False\","
			 "\"lastTransitionTime\":\"2026-11-22T01:00:00Z\"},"
			 "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"VMINotExists\","
			 "\"lastTransitionTime\":\"2026-11-22T01:00:05Z\"}]}}");
	assert_true(mig_cold_cond_time(vm, "Ready", "False") == 1795309205000LL);
	assert_true(mig_cold_cond_time(vm, "Ready", "True") == 0); /* other status */
	assert_true(mig_cold_cond_time(vm, "Nope", "False") == 0);
	assert_true(mig_cold_cond_time(NULL, "Ready", "False") == 0);
	cJSON_Delete(vm);
	/* garbage, missing, too long, not a string, not an array */
	static const char *const bad[] = {
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
	    "\"lastTransitionTime\":\"yesterday\"}]}}",
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
	    "\"lastTransitionTime\":\"2026-11-22T01:00:05Z                                     "
	    "                    \"}]}}",
	    "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
	    "\"lastTransitionTime\":5}]}}",
	    "{\"status\":{\"conditions\":{\"type\":\"Ready\"}}}",
	    "{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vm = cJSON_Parse(bad[i]);
		assert_non_null(vm);
		assert_true(mig_cold_cond_time(vm, "Ready", "False") == 0);
		cJSON_Delete(vm);
	}

	memset(&s, 0, sizeof(s));
	s.started_ms = 1000000;
	s.down_since_ms = 1795309205000LL;
	/* the cluster's clock, both ends */
	assert_true(mig_cold_downtime(&s, 1795309217000LL, 5000000) == 12.0);
	assert_true(mig_cold_downtime(&s, s.down_since_ms, 5000000) == 0.0);
	/* running "before" it stopped (a stale condition) or unknown: the migrator's clock */
	assert_true(mig_cold_downtime(&s, 1795309204000LL, 1009500) == 9.5);
	assert_true(mig_cold_downtime(&s, 0, 1009500) == 9.5);
	s.down_since_ms = 0;
	assert_true(mig_cold_downtime(&s, 1795309217000LL, 1002000) == 2.0);
	/* absurd spans are refused rather than reported */
	s.down_since_ms = 1;
	assert_true(mig_cold_downtime(&s, 1795309217000LL, 1002000) == 2.0);
	s.started_ms = 0;
	assert_true(mig_cold_downtime(&s, 0, 1002000) < 0);
	s.started_ms = 2000000; /* the clock went back */
	assert_true(mig_cold_downtime(&s, 0, 1000000) < 0);
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

/* The VM patch of a cold move: the selector patch plus the state annotation, runStrategy when
 * given. */
static void vm_patch(void **state)
{
	struct mig_cold_state s, back;
	char *p;
	cJSON *o;
	const char *ann;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.request, "r1");
	strcpy(s.target, "node-b");
	strcpy(s.hostname, "node-b");
	strcpy(s.run_strategy, "Always");
	p = mig_cold_vm_patch(&s, true, s.run_strategy);
	o = cJSON_Parse(p);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "runStrategy")->valuestring,
	    "Always");
	/* running cleared in the same patch: KubeVirt refuses running and runStrategy together. */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "running")));
	ann = cJSON_GetObjectItem(
		  cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "annotations"),
		  WK_ANN_COLD_MIGRATION)
		  ->valuestring;
	assert_int_equal(mig_cold_state_parse(ann, &back), 0);
	assert_string_equal(back.request, "r1");
	assert_string_equal(back.target, "node-b");
	mig_cold_state_release(&back);
	cJSON_Delete(o);
	free(p);
	p = mig_cold_vm_patch(&s, false, NULL);
	o = cJSON_Parse(p);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "runStrategy"));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "running"));
	assert_non_null(strstr(p, "cold-migration"));
	cJSON_Delete(o);
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
	/* ... and the owner's consent to a submission that asks for a cold move (issue 20) */
	r.opt.cold = MIG_TRUE;
	assert_true(mig_cold_allowed(&r, w));
	{
		struct mig_check c;

		memset(&c, 0, sizeof(c));
		assert_false(mig_cold_consent_missing(&r, w, &c));
		cJSON_Delete(w);
		w = cJSON_Parse("{\"spec\":{\"migrationPolicy\":{\"enabled\":false,"
				"\"allowColdMigration\":true}}}");
		assert_false(mig_cold_allowed(&r, w)); /* asked, but the owner did not consent */
		assert_true(mig_cold_consent_missing(&r, w, &c));
		assert_string_equal(c.reason, MIG_COLD_NOT_ALLOWED);
		assert_non_null(strstr(c.message, "spec.migrationPolicy.allowColdMigration: true"));
		assert_non_null(strstr(c.message, "spec.migration.cold: true"));
		r.source = MIG_SRC_SPEC; /* the owner's own spec request is its consent */
		assert_false(mig_cold_consent_missing(&r, w, &c));
		r.source = MIG_SRC_KAFKA;
		r.opt.cold = MIG_UNSET;
		assert_false(mig_cold_consent_missing(&r, w, &c)); /* not asked: not refused so */
	}
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

#define NODE_B                                                                                     \
	"{\"metadata\":{\"name\":\"node-b\",\"labels\":{\"tier\":\"db\",\"zone\":\"z1\","          \
	"\"kubevirt.io/schedulable\":\"true\","                                                    \
	"\"kubernetes.io/hostname\":\"node-b\"}},\"spec\":{%s},\"status\":{\"conditions\":[{"      \
	"\"type\":\"Ready\",\"status\":\"%s\"}],\"allocatable\":{\"memory\":\"8Gi\",\"cpu\":"      \
	"\"4\"}}}"
#define VM_TPL "{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{%s},\"domain\":{%s}}}}}"
#define GI (INT64_C(1) << 30)
#define MI (INT64_C(1) << 20)
#define NEED_MEM (4 * GI + 284 * MI + 35000000)

static cJSON *jf(const char *fmt, ...) WK_PRINTF(1, 2);
static cJSON *jf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o = cJSON_Parse(buf);
	assert_non_null(o);
	return o;
}

/* The target rules of a cold move, checked before the VM is stopped. */
static void target_check(void **state)
{
	cJSON *node = jf(NODE_B, "", "True"), *vm, *other, *vmi;
	struct mig_check c;
	struct wk_selector *sel;
	char err[128];

	(void)state;
	/* The hostname the cold move replaces does not count; tier does and matches. */
	vm = jf(VM_TPL, "\"tier\":\"db\",\"kubernetes.io/hostname\":\"node-a\"",
		"\"memory\":{\"guest\":\"4Gi\"},\"cpu\":{\"cores\":2}");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 0, &c), 0);
	assert_string_equal(c.reason, "");
	/* Room: exactly enough passes, one byte / millicore less does not. */
	/* The launcher pod's requests: 4Gi + overhead (8Mi + 220Mi + 16Mi + 8Mi + 32Mi) + the
	 * console logger's 35M; 2 vCPUs / 10 + 5m. */
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL,
					       8 * GI - NEED_MEM, 4000 - 205, &c),
			 0);
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL,
					       8 * GI - NEED_MEM + 1, 0, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeInsufficientMemory");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 6 * GI, 0, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeInsufficientMemory");
	assert_non_null(strstr(c.message, "node 'node-b' has 2Gi free memory, the VM needs "));
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 3796, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeInsufficientCPU");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 3000, &c),
			 0);
	/* More used than allocatable (hostile / racing numbers): 0 free, never negative. */
	assert_int_equal(
	    mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, INT64_MAX / 2, 0, &c), -1);
	assert_non_null(strstr(c.message, "node 'node-b' has 0 free memory, the VM needs "));
	/* The policy's targetNodeSelector. */
	sel = wk_selector_parse("zone=z1", err, sizeof(err));
	assert_non_null(sel);
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, sel, NULL, 0, 0, &c), 0);
	wk_selector_destroy(sel);
	sel = wk_selector_parse("zone in (z2,z3)", err, sizeof(err));
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, sel, NULL, 0, 0, &c), -1);
	assert_string_equal(c.reason, "TargetNodeSelectorMismatch");
	assert_non_null(strstr(c.message, "targetNodeSelector"));
	assert_non_null(strstr(c.message, "zone"));
	/* Checked before room: the first failure is the one reported. */
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, sel, NULL, 8 * GI, 0, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeSelectorMismatch");
	wk_selector_destroy(sel);
	/* The VM's own nodeSelector. */
	other = jf(VM_TPL, "\"tier\":\"web\"", "\"memory\":{\"guest\":\"1Gi\"}");
	assert_int_equal(mig_cold_target_check(node, "node-b", other, NULL, NULL, NULL, 0, 0, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeSelectorMismatch");
	assert_string_equal(c.message,
			    "target node 'node-b' does not match the VM's nodeSelector 'tier=web'");
	cJSON_Delete(other);
	/* Missing, not Ready, cordoned, tainted. */
	assert_int_equal(mig_cold_target_check(NULL, "node-x", vm, NULL, NULL, NULL, 0, 0, &c), -1);
	assert_string_equal(c.reason, "TargetNodeNotFound");
	assert_string_equal(c.message, "target node 'node-x' does not exist");
	cJSON_Delete(node);
	node = jf(NODE_B, "", "False");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 0, &c), -1);
	assert_string_equal(c.reason, "TargetNodeNotReady");
	cJSON_Delete(node);
	node = jf(NODE_B, "\"unschedulable\":true", "True");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 0, &c), -1);
	assert_string_equal(c.reason, "TargetNodeUnschedulable");
	assert_non_null(strstr(c.message, "cordoned"));
	cJSON_Delete(node);
	node = jf(NODE_B, "\"taints\":[{\"key\":\"gpu\",\"effect\":\"NoSchedule\"}]", "True");
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 0, &c), -1);
	assert_non_null(strstr(c.message, "gpu:NoSchedule"));
	cJSON_Delete(node);
	/* A template naming no resources: the running VMI's count. */
	node = jf(NODE_B, "", "True");
	other = jf(VM_TPL, "", "\"devices\":{}");
	vmi = cJSON_Parse("{\"spec\":{\"domain\":{\"resources\":{\"requests\":{\"memory\":"
			  "\"3Gi\",\"cpu\":\"500m\"}}}}}");
	assert_int_equal(
	    mig_cold_target_check(node, "node-b", other, vmi, NULL, NULL, 4 * GI, 0, &c), 0);
	assert_int_equal(
	    mig_cold_target_check(node, "node-b", other, vmi, NULL, NULL, 5 * GI, 0, &c), -1);
	assert_non_null(strstr(c.message, "node 'node-b' has 3Gi free memory, the VM needs 3"));
	assert_int_equal(mig_cold_target_check(node, "node-b", other, vmi, NULL, NULL, 0, 3600, &c),
			 -1);
	assert_string_equal(c.reason, "TargetNodeInsufficientCPU");
	cJSON_Delete(vmi);
	cJSON_Delete(other);
	/* Empty / garbage VM objects: no selector, nothing requested. */
	assert_int_equal(
	    mig_cold_target_check(node, "node-b", NULL, NULL, NULL, NULL, 8 * GI, 4000, &c), 0);
	/* A taint the VM tolerates does not stop it (k8s ToleratesTaint); one it does not, does. */
	cJSON_Delete(node);
	node = jf(NODE_B,
		  "\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"}]",
		  "True");
	other = cJSON_Parse(
	    "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":"
	    "\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\"}],\"domain\":{}}}}}");
	assert_int_equal(mig_cold_target_check(node, "node-b", other, NULL, NULL, NULL, 0, 0, &c),
			 0);
	assert_int_equal(mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 0, 0, &c), -1);
	assert_string_equal(c.reason, "TargetNodeUnschedulable");
	cJSON_Delete(other);
	cJSON_Delete(node);
	node = jf(NODE_B, "", "True");
	other = cJSON_Parse("{\"spec\":{\"template\":[1,2],\"x\":\"y\"}}");
	assert_int_equal(mig_cold_target_check(node, "node-b", other, NULL, NULL, NULL, 0, 0, &c),
			 0);
	cJSON_Delete(other);
	/* A node without allocatable: nothing to measure room against (as the live pre-flight). */
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(node, "status"), "allocatable");
	assert_int_equal(
	    mig_cold_target_check(node, "node-b", vm, NULL, NULL, NULL, 100 * GI, 100000, &c), 0);
	cJSON_Delete(node);
	cJSON_Delete(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(state_roundtrip),
	    cmocka_unit_test(state_result_and_numbers),
	    cmocka_unit_test(condition_times_and_downtime),
	    cmocka_unit_test(selector_patches),
	    cmocka_unit_test(vm_patch),
	    cmocka_unit_test(applicability),
	    cmocka_unit_test(target_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
