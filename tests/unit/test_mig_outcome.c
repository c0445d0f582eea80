/* test_mig_outcome.c - what a final VMIM means: the migrationState of this migration only (the
 * VMI's counts when its migrationUid is the VMIM's), Succeeded only on the requested node, the
 * two-step final write, cancels, and honest reasons for failures before hand-over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_outcome.h"
#include "decide/mig_preflight.h"
#include "wk_kubevirt.h"

#include <cjson/cJSON.h>

/* A VMIM failed before hand-over (sim/upstream: target pod deleted after 300 s unschedulable). */
static const char *VMIM_PRE =
    "{\"metadata\":{\"name\":\"wk-web-1-r1\",\"namespace\":\"default\",\"uid\":\"u-new\","
    "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
    "\"status\":{\"phase\":\"Failed\",\"phaseTransitionTimestamps\":["
    "{\"phase\":\"Pending\",\"phaseTransitionTimestamp\":\"2026-01-01T00:00:00Z\"},"
    "{\"phase\":\"Scheduling\",\"phaseTransitionTimestamp\":\"2026-01-01T00:00:01Z\"},"
    "{\"phase\":\"Failed\",\"phaseTransitionTimestamp\":\"2026-01-01T00:05:01Z\"}]}}";

/* The VMI still carries an EARLIER migration's state (failed, aborted, another target). */
static const char *VMI_OLD =
    "{\"metadata\":{\"name\":\"web-1-vm\"},\"status\":{\"phase\":\"Running\",\"nodeName\":"
    "\"node-1\",\"migrationState\":{\"migrationUid\":\"u-old\",\"targetNode\":\"node-3\","
    "\"failed\":true,\"failureReason\":\"Live migration failed: old\",\"abortStatus\":"
    "\"Succeeded\",\"abortRequested\":true}}}";

static const char *EVENTS =
    "[{\"involvedObject\":{\"kind\":\"VirtualMachineInstanceMigration\",\"name\":"
    "\"wk-web-1-r1\"},\"type\":\"Warning\",\"reason\":\"migrationTargetPodUnschedulable\","
    "\"message\":\"Migration target pod for VMI [default/web-1-vm] is currently "
    "unschedulable.\",\"lastTimestamp\":\"2026-01-01T00:00:02Z\"},"
    "{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"virt-launcher-web-1-vm-abcde\"},"
    "\"type\":\"Warning\",\"reason\":\"FailedScheduling\",\"message\":\"0/3 nodes are "
    "available: 1 Insufficient memory.\",\"lastTimestamp\":\"2026-01-01T00:00:03Z\"},"
    "{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"virt-launcher-other-vm-x\"},"
    "\"type\":\"Warning\",\"reason\":\"FailedScheduling\",\"message\":\"not ours\"}]";

static void in_init(struct mig_outcome_in *in, const cJSON *vmim, const cJSON *vmi)
{
	memset(in, 0, sizeof(*in));
	in->vmim = vmim;
	in->vmi = vmi;
	in->vm = "web-1-vm";
	in->source_node = "node-1";
	in->requested = "";
	in->kv_version = "v1.6.0";
	in->cancel_id = "";
}

static void pre_handover_failure_ignores_old_state(void **state)
{
	cJSON *vmim = cJSON_Parse(VMIM_PRE), *vmi = cJSON_Parse(VMI_OLD), *ev = cJSON_Parse(EVENTS);
	struct mig_outcome_in in;
	struct mig_outcome out;

	(void)state;
	assert_null(mig_outcome_state(vmim, vmi)); /* u-old is not u-new */
	in_init(&in, vmim, vmi);
	in.events = ev;
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_FAILED); /* not Cancelled by the old abort */
	assert_string_equal(out.reason, "TargetPodUnschedulable");
	assert_non_null(strstr(out.message, "never scheduled within 300 s"));
	assert_non_null(strstr(out.message, "Insufficient memory"));
	assert_null(strstr(out.message, "old"));
	assert_null(strstr(out.message, "not ours"));
	assert_string_equal(out.target, "");
	/* Without Events: still the honest part. */
	in.events = NULL;
	mig_outcome(&in, &out);
	assert_non_null(strstr(out.message, "never scheduled within 300 s"));
	cJSON_Delete(vmim);
	cJSON_Delete(vmi);
	cJSON_Delete(ev);
}

static void state_with_matching_uid(void **state)
{
	cJSON *vmim = cJSON_Parse("{\"metadata\":{\"uid\":\"u-old\",\"name\":\"m\"},\"status\":{"
				  "\"phase\":\"Failed\"}}");
	cJSON *vmi = cJSON_Parse(VMI_OLD);
	struct mig_outcome_in in;
	struct mig_outcome out;

	(void)state;
	assert_non_null(mig_outcome_state(vmim, vmi));
	in_init(&in, vmim, vmi);
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_CANCELLED); /* its own abort */
	cJSON_Delete(vmim);
	/* The VMIM's own early partial state (backend storage PVC names) is not a state. */
	vmim = cJSON_Parse("{\"metadata\":{\"uid\":\"u-x\"},\"status\":{\"phase\":\"Failed\","
			   "\"migrationState\":{\"sourcePersistentStatePVCName\":\"p\"}}}");
	assert_null(mig_outcome_state(vmim, vmi));
	cJSON_Delete(vmim);
	cJSON_Delete(vmi);
}

static void succeeded_only_on_requested_node(void **state)
{
	cJSON *vmim = cJSON_Parse(
	    "{\"metadata\":{\"uid\":\"u1\",\"name\":\"m\"},\"status\":{\"phase\":\"Succeeded\","
	    "\"migrationState\":{\"migrationUid\":\"u1\",\"targetNode\":\"node-3\",\"completed\":"
	    "true,\"mode\":\"PreCopy\"}}}");
	struct mig_outcome_in in;
	struct mig_outcome out;

	(void)state;
	in_init(&in, vmim, NULL);
	in.requested = "node-3";
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_SUCCEEDED);
	assert_string_equal(out.mode, "PreCopy");
	in.requested = "node-2";
	in.kv_version = "v1.5.0";
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_FAILED);
	assert_string_equal(out.reason, "TargetNodeIgnored");
	assert_non_null(strstr(out.message, "v1.5.0"));
	assert_non_null(strstr(out.message, "node-3"));
	in.requested = ""; /* the scheduler's pick */
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_SUCCEEDED);
	assert_string_equal(out.target, "node-3");
	cJSON_Delete(vmim);
}

static void two_step_final_write(void **state)
{
	/* Step 1: phase Succeeded, no migrationState yet; the VMI has this migration's. */
	cJSON *vmim = cJSON_Parse("{\"metadata\":{\"uid\":\"u1\",\"name\":\"m\"},\"status\":{"
				  "\"phase\":\"Succeeded\"}}");
	cJSON *vmi = cJSON_Parse("{\"status\":{\"nodeName\":\"node-2\",\"migrationState\":{"
				 "\"migrationUid\":\"u1\",\"targetNode\":\"node-2\",\"completed\":"
				 "true}}}");
	cJSON *vmi_other = cJSON_Parse(VMI_OLD);
	struct mig_outcome_in in;
	struct mig_outcome out;

	(void)state;
	in_init(&in, vmim, vmi);
	in.requested = "node-2";
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_SUCCEEDED);
	/* The VMI shows another migration's state: wait for the VMIM's own. */
	in.vmi = vmi_other;
	mig_outcome(&in, &out);
	assert_true(out.need_state);
	assert_int_equal(out.phase, MIG_PH_FAILED);
	cJSON_Delete(vmim);
	cJSON_Delete(vmi);
	cJSON_Delete(vmi_other);
}

static void quota_and_late_failure(void **state)
{
	cJSON *vmim = cJSON_Parse(
	    "{\"metadata\":{\"uid\":\"u1\",\"name\":\"m\"},\"status\":{\"phase\":\"Failed\","
	    "\"conditions\":[{\"type\":\"migrationRejectedByResourceQuota\",\"status\":\"True\","
	    "\"message\":\"exceeded quota\"}]}}");
	struct mig_outcome_in in;
	struct mig_outcome out;

	(void)state;
	in_init(&in, vmim, NULL);
	mig_outcome(&in, &out);
	assert_string_equal(out.reason, "MigrationRejectedByResourceQuota");
	cJSON_Delete(vmim);
	vmim = cJSON_Parse("{\"metadata\":{\"uid\":\"u1\",\"name\":\"m\"},\"status\":{\"phase\":"
			   "\"Failed\",\"phaseTransitionTimestamps\":[{\"phase\":\"Running\","
			   "\"phaseTransitionTimestamp\":\"2026-01-01T00:00:00Z\"}]}}");
	in.vmim = vmim;
	mig_outcome(&in, &out);
	assert_string_equal(out.reason, "MigrationFailed");
	assert_non_null(strstr(out.message, "last phase Running"));
	cJSON_Delete(vmim);
	/* Hostile: not objects at all. */
	vmim = cJSON_Parse("[1,2]");
	in.vmim = vmim;
	in.events = vmim;
	mig_outcome(&in, &out);
	assert_int_equal(out.phase, MIG_PH_FAILED);
	cJSON_Delete(vmim);
}

static void targeted_refused_below_1_6(void **state)
{
	cJSON *vmi = cJSON_Parse("{\"status\":{\"phase\":\"Running\",\"nodeName\":\"node-1\"}}");
	struct wk_kubevirt_info kv;
	struct mig_facts f;
	struct mig_check c;

	(void)state;
	wk_kubevirt_info_init(&kv);
	memset(&f, 0, sizeof(f));
	f.ns = "default";
	f.vm = "web-1-vm";
	f.vmi = vmi;
	f.target_name = "node-2";
	f.kv = &kv;
	wk_strlcpy(kv.version, "v1.5.0", sizeof(kv.version));
	kv.version_known = true;
	kv.major = 1;
	kv.minor = 5;
	assert_int_equal(mig_preflight(&f, &c), -1);
	assert_string_equal(c.reason, "TargetedMigrationUnsupported");
	assert_non_null(strstr(c.message, "v1.5.0"));
	f.target_name = NULL; /* the scheduler picks: fine on 1.5 */
	assert_int_equal(mig_preflight(&f, &c), 0);
	assert_false(mig_kv_can_target(&kv));
	kv.minor = 6;
	assert_true(mig_kv_can_target(&kv));
	kv.version_known = false; /* "latest": the outcome checks the target */
	assert_true(mig_kv_can_target(&kv));
	assert_true(mig_kv_can_target(NULL));
	cJSON_Delete(vmi);
}

/* vmRolloutStrategy: what a restored nodeSelector means, and IsMigrating as KubeVirt reads it. */
static void rollout_and_migrating(void **state)
{
	struct wk_kubevirt_info kv;
	char note[300];
	cJSON *a = cJSON_Parse("{\"status\":{\"migrationState\":{\"startTimestamp\":"
			       "\"2026-01-01T00:00:00Z\"}}}");
	cJSON *b =
	    cJSON_Parse("{\"status\":{\"migrationState\":{\"startTimestamp\":"
			"\"2026-01-01T00:00:00Z\",\"endTimestamp\":\"2026-01-01T00:01:00Z\"}}}");

	(void)state;
	assert_true(mig_vmi_migrating(a));
	assert_false(mig_vmi_migrating(b));
	assert_false(mig_vmi_migrating(NULL));
	wk_kubevirt_info_init(&kv);
	kv.rollout = WK_KV_ROLLOUT_STAGE;
	wk_strlcpy(kv.version, "v1.5.0", sizeof(kv.version));
	mig_rollout_note(&kv, note, sizeof(note));
	assert_non_null(strstr(note, "RestartRequired"));
	assert_non_null(strstr(note, "v1.5.0"));
	kv.rollout = WK_KV_ROLLOUT_LIVE_UPDATE;
	mig_rollout_note(&kv, note, sizeof(note));
	assert_string_equal(note, "");
	mig_rollout_note(NULL, note, sizeof(note));
	assert_string_equal(note, "");
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* The migrator's own deadline for a live migration. */
static void live_deadline(void **state)
{
	(void)state;
	/* 4Gi at KubeVirt's default 150 s/GiB: 900 + 2 x 600 + 300 s. */
	assert_int_equal(mig_live_deadline_ms(INT64_C(4) << 30, 150, 0), 2400000);
	assert_int_equal(mig_live_deadline_ms(0, 0, 0), (900 + 300 + 300) * 1000);
	assert_int_equal(mig_live_deadline_ms(INT64_C(4) << 30, 150, 60000), 60000);
	/* Hostile: huge memory and per-GiB values stay finite and positive. */
	assert_true(mig_live_deadline_ms(INT64_MAX, INT64_MAX, 0) > 0);
	assert_true(mig_live_deadline_ms(-5, -5, 0) > 0);
}

/* A final VMIM found again after a restart: a later request shown on the Wukong means this one's
 * outcome is history (the chaos run saw old requests re-reported over the newest one). */
static void superseded_by_a_later_request(void **state)
{
	cJSON *vmim =
	    cJSON_Parse("{\"metadata\":{\"creationTimestamp\":\"2026-01-01T10:00:00Z\"}}");
	cJSON *later = cJSON_Parse("{\"status\":{\"migrationStatus\":{\"requestId\":\"r2\","
				   "\"startedAt\":\"2026-01-01T10:05:00Z\"}}}");
	cJSON *rejected =
	    cJSON_Parse("{\"status\":{\"migrationStatus\":{\"requestId\":\"r2\","
			"\"startedAt\":null,\"completedAt\":\"2026-01-01T10:05:00Z\"}}}");
	cJSON *earlier = cJSON_Parse("{\"status\":{\"migrationStatus\":{\"requestId\":\"r0\","
				     "\"startedAt\":\"2026-01-01T09:59:00Z\","
				     "\"completedAt\":\"2026-01-01T10:00:00.500Z\"}}}");
	cJSON *pending = cJSON_Parse("{\"status\":{\"migrationStatus\":{\"requestId\":\"r2\"}}}");

	(void)state;
	assert_true(mig_outcome_superseded(later, "r1", vmim));
	assert_true(mig_outcome_superseded(rejected, "r1", vmim));
	/* the request before it, shown because the status writer lags: report this one */
	assert_false(mig_outcome_superseded(earlier, "r1", vmim));
	assert_false(mig_outcome_superseded(pending, "r1", vmim)); /* times do not tell */
	assert_false(mig_outcome_superseded(later, "r2", vmim));   /* it is this request */
	assert_false(mig_outcome_superseded(NULL, "r1", vmim));
	assert_false(mig_outcome_superseded(later, "r1", NULL));
	cJSON_Delete(vmim);
	cJSON_Delete(later);
	cJSON_Delete(rejected);
	cJSON_Delete(earlier);
	cJSON_Delete(pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pre_handover_failure_ignores_old_state),
	    cmocka_unit_test(state_with_matching_uid),
	    cmocka_unit_test(succeeded_only_on_requested_node),
	    cmocka_unit_test(two_step_final_write),
	    cmocka_unit_test(superseded_by_a_later_request),
	    cmocka_unit_test(quota_and_late_failure),
	    cmocka_unit_test(targeted_refused_below_1_6),
	    cmocka_unit_test(rollout_and_migrating),
	    cmocka_unit_test(live_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
