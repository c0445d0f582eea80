/* test_cl_machine.c - the running-clone state machine: the happy path step by step (running
 * source, stopped source started first, keepSnapshot, run state of the target), every failure
 * classification, timeouts, crash-restart views (objects already there), the consistency
 * condition, and the observers reading KubeVirt objects (snapshot, clone, VM, VMI, target). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../consumers/cloner/cl_machine.h"

#include <cjson/cJSON.h>

#include "wk_kubevirt.h"

static const struct cl_timeouts TO = {
    .source_start_ms = 60000,
    .clone_pending_ms = 30000,
    .target_start_ms = 60000,
    .deadline_grace_ms = 10000,
    .snapshot_ms = 120000,
    .restore_ms = 90000,
    .clone_ms = 600000,
    .finalize_ms = 300000,
};

static void job(struct cl_job_spec *j, enum cl_source_type t)
{
	memset(j, 0, sizeof(*j));
	strcpy(j->id, "spec-abcd1234");
	strcpy(j->cluster, "local");
	strcpy(j->ns, "default");
	strcpy(j->name, "copy");
	strcpy(j->target_vm, "copy-vm");
	j->type = t;
	strcpy(j->source_name, t == CL_SRC_VMI ? "src-vm" : "src-vm");
	strcpy(j->source_ns, "default");
	j->want_running = true;
}

/* A running source VM with snapshot-capable storage, nothing created yet. */
static void running_source(struct cl_observed *o)
{
	memset(o, 0, sizeof(*o));
	o->now_ms = 1000000;
	o->phase_since_ms = 1000000;
	o->vm_exists = o->vmi_exists = o->vmi_running = true;
	o->vm_start_requested = true;
	o->storage_ok = true;
	strcpy(o->vmi_owner, "src-vm");
}

static void decide(const struct cl_job_spec *j, const struct cl_observed *o, struct cl_decision *d)
{
	cl_decide(j, o, &TO, d);
	assert_true(d->progress >= 0 && d->progress <= 100);
	assert_true(d->message[0] != 0);
}

static void happy_path_running(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;
	struct cl_decision d;

	(void)state;
	job(&j, CL_SRC_VMI);
	running_source(&o);
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_SNAPSHOT);
	assert_int_equal(d.phase, CL_PH_SNAPSHOTTING);
	assert_string_equal(d.reason, "SnapshotStarted");

	o.snap = CL_IN_PROGRESS;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	assert_int_equal(d.phase, CL_PH_SNAPSHOTTING);

	o.snap = CL_READY;
	o.ind_online = o.ind_guest_agent = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_CLONE);
	assert_int_equal(d.phase, CL_PH_CLONING);

	o.clone = CL_IN_PROGRESS;
	strcpy(o.clone_phase, "RestoreInProgress");
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	assert_int_equal(d.progress, 70);
	strcpy(o.clone_phase, "CreatingTargetVM");
	decide(&j, &o, &d);
	assert_int_equal(d.progress, 85);

	o.clone = CL_READY;
	o.target_exists = o.target_ours = true;
	o.target_needs_fixup = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_FIXUP_TARGET);
	assert_int_equal(d.phase, CL_PH_FINALIZING);

	o.target_needs_fixup = false;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_DELETE_SNAPSHOT);

	o.snap = CL_ABSENT;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	assert_string_equal(d.reason, "TargetStarting");

	o.target_running = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_SUCCEED);
	assert_int_equal(d.phase, CL_PH_SUCCEEDED);
	assert_int_equal(d.progress, 100);
	assert_true(cl_phase_final(d.phase));
}

static void keep_snapshot_and_halted_target(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;
	struct cl_decision d;

	(void)state;
	job(&j, CL_SRC_VM);
	j.keep_snapshot = true;
	j.want_running = false;
	running_source(&o);
	o.snap = CL_READY;
	o.clone = CL_READY;
	o.target_exists = o.target_ours = true;
	decide(&j, &o, &d);
	/* The snapshot stays, and a stopped target is what was asked for. */
	assert_int_equal(d.action, CL_ACT_SUCCEED);
	assert_non_null(strstr(d.message, "snapshot kept"));
}

static void stopped_source_started_first(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;
	struct cl_decision d;

	(void)state;
	job(&j, CL_SRC_VM);
	running_source(&o);
	o.vmi_exists = o.vmi_running = false;
	o.vm_start_requested = false;
	/* Not asked to start it: an offline snapshot of the VM as it is. */
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_SNAPSHOT);
	assert_non_null(strstr(d.message, "offline"));
	/* cloneType offline: the same; a running source is refused */
	j.offline = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_SNAPSHOT);
	o.vmi_exists = o.vmi_running = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_FAIL);
	assert_string_equal(d.reason, "SourceRunning");
	o.vmi_exists = o.vmi_running = false;
	j.offline = false;
	/* startSource: started first */
	j.start_source = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_START_SOURCE);
	assert_int_equal(d.phase, CL_PH_STARTING_SOURCE);

	o.we_started = true;
	o.vm_start_requested = true;
	o.now_ms += 1000;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	assert_int_equal(d.phase, CL_PH_STARTING_SOURCE);

	/* Running now: snapshot; once ready, release the source before cloning. */
	o.vmi_exists = o.vmi_running = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_SNAPSHOT);
	o.snap = CL_READY;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_RELEASE_SOURCE);
	o.we_started = false;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_CLONE);
	/* Another clone started it: hold it as well before snapshotting. */
	o.snap = CL_ABSENT;
	o.we_started = false;
	o.others_started = 1;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_START_SOURCE);
	o.we_started = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_CREATE_SNAPSHOT);
	o.others_started = 0;
	/* A crash after the clone was created but before the release: release first. */
	o.we_started = true;
	o.clone = CL_IN_PROGRESS;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_RELEASE_SOURCE);
}

static void expect_fail(const struct cl_job_spec *j, const struct cl_observed *o,
			const char *reason)
{
	struct cl_decision d;

	decide(j, o, &d);
	assert_int_equal(d.action, CL_ACT_FAIL);
	assert_int_equal(d.phase, CL_PH_FAILED);
	assert_string_equal(d.reason, reason);
}

static void failures_classified(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;

	(void)state;
	/* source missing */
	job(&j, CL_SRC_VM);
	running_source(&o);
	o.vm_exists = o.vmi_exists = o.vmi_running = false;
	expect_fail(&j, &o, "SourceNotFound");
	job(&j, CL_SRC_VMI);
	expect_fail(&j, &o, "SourceNotFound");
	/* a VMI whose VM is stopped */
	o.vm_exists = true;
	expect_fail(&j, &o, "SourceNotRunning");
	/* a VMI that exists but is not running */
	running_source(&o);
	o.vmi_running = false;
	expect_fail(&j, &o, "SourceNotRunning");
	/* a VMI without a VM */
	running_source(&o);
	o.vmi_owner[0] = 0;
	o.vm_exists = false;
	expect_fail(&j, &o, "SourceNotFound");
	/* not startable: a status that says so, or not running by the timeout */
	job(&j, CL_SRC_VM);
	running_source(&o);
	j.start_source = true;
	o.vmi_exists = o.vmi_running = false;
	o.vm_unstartable = true;
	strcpy(o.vm_status, "ErrorUnschedulable");
	expect_fail(&j, &o, "SourceNotStartable");
	o.vm_unstartable = false;
	o.we_started = true;
	o.now_ms = o.phase_since_ms + TO.source_start_ms;
	expect_fail(&j, &o, "SourceNotStartable");
	/* storage */
	running_source(&o);
	o.storage_ok = false;
	strcpy(o.storage_why, "volume 'system': No VolumeSnapshotClass");
	expect_fail(&j, &o, "StorageCannotSnapshot");
	running_source(&o);
	o.snap = CL_IN_PROGRESS;
	o.snap_unsupported = true;
	expect_fail(&j, &o, "StorageCannotSnapshot");
	/* deadline: KubeVirt's verdict, and ours past the grace */
	running_source(&o);
	o.snap = CL_FAILED;
	strcpy(o.snap_msg, "snapshot deadline exceeded");
	expect_fail(&j, &o, "SnapshotDeadlineExceeded");
	strcpy(o.snap_msg, "quota");
	expect_fail(&j, &o, "SnapshotFailed");
	running_source(&o);
	o.snap = CL_IN_PROGRESS;
	o.snap_deadline_ms = o.now_ms - TO.deadline_grace_ms - 1;
	expect_fail(&j, &o, "SnapshotDeadlineExceeded");
	o.snap_deadline_ms = o.now_ms - TO.deadline_grace_ms; /* at the grace: not yet */
	{
		struct cl_decision d;

		decide(&j, &o, &d);
		assert_int_equal(d.action, CL_ACT_WAIT);
	}
	/* clone failed / pending too long / target vanished */
	running_source(&o);
	o.snap = CL_READY;
	o.clone = CL_FAILED;
	expect_fail(&j, &o, "CloneFailed");
	o.clone = CL_IN_PROGRESS;
	o.clone_pending = true;
	o.now_ms = o.phase_since_ms + TO.clone_pending_ms;
	expect_fail(&j, &o, "ClonePending");
	o.clone = CL_READY;
	o.clone_pending = false;
	o.target_exists = false;
	expect_fail(&j, &o, "TargetMissing");
	/* target name taken: before anything is created, even with a snapshot ready */
	running_source(&o);
	o.target_exists = true;
	o.target_ours = false;
	expect_fail(&j, &o, "TargetNameTaken");
	o.snap = CL_READY;
	expect_fail(&j, &o, "TargetNameTaken");
	/* ours (a crash after the clone made it): no complaint */
	o.target_ours = true;
	{
		struct cl_decision d;

		decide(&j, &o, &d);
		assert_int_equal(d.action, CL_ACT_CREATE_CLONE);
	}
	/* target never starts */
	running_source(&o);
	o.clone = CL_READY;
	o.target_exists = o.target_ours = true;
	o.now_ms = o.phase_since_ms + TO.target_start_ms;
	expect_fail(&j, &o, "TargetNotRunning");
	/* invalid request */
	job(&j, CL_SRC_VM);
	strcpy(j.invalid, "CrossNamespaceNotSupported");
	strcpy(j.invalid_msg, "source namespace 'a' differs");
	running_source(&o);
	expect_fail(&j, &o, "CrossNamespaceNotSupported");
}

static void clone_pending_waits_first(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;
	struct cl_decision d;

	(void)state;
	job(&j, CL_SRC_VM);
	running_source(&o);
	o.snap = CL_READY;
	o.clone = CL_IN_PROGRESS;
	o.clone_pending = true;
	strcpy(o.clone_msg, "VMVolumeSnapshotsInvalid");
	o.now_ms = o.phase_since_ms + TO.clone_pending_ms - 1;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	assert_string_equal(d.reason, "ClonePending");
	assert_non_null(strstr(d.message, "VMVolumeSnapshotsInvalid"));
}

static void consistency_from_indications(void **state)
{
	struct cl_observed o;
	const char *r;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_null(cl_consistency(&o, &r));
	o.ind_online = o.ind_guest_agent = true;
	assert_string_equal(cl_consistency(&o, &r), "filesystem-consistent");
	assert_string_equal(r, "GuestAgent");
	o.ind_quiesce_failed = true; /* 1.6-1.7: comes with GuestAgent, never fs-consistent */
	assert_string_equal(cl_consistency(&o, &r), "crash-consistent");
	assert_string_equal(r, "QuiesceFailed");
	o.ind_quiesce_failed = false;
	o.ind_quiesce_timeout = true;
	assert_string_equal(cl_consistency(&o, &r), "crash-consistent");
	assert_string_equal(r, "QuiesceTimeout");
	memset(&o, 0, sizeof(o));
	o.ind_online = o.ind_no_guest_agent = true;
	assert_string_equal(cl_consistency(&o, &r), "crash-consistent");
	assert_string_equal(r, "NoGuestAgent");
	memset(&o, 0, sizeof(o));
	o.snap = CL_READY; /* offline snapshot: no indications */
	assert_string_equal(cl_consistency(&o, &r), "filesystem-consistent");
	assert_string_equal(r, "Offline");
}

static cJSON *parse(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static void observe_snapshot(void **state)
{
	struct cl_observed o;
	cJSON *s;

	(void)state;
	memset(&o, 0, sizeof(o));
	cl_observe_snapshot(NULL, &o);
	assert_int_equal(o.snap, CL_ABSENT);
	s = parse("{\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		  "\"spec\":{\"failureDeadline\":\"1m30s\"},"
		  "\"status\":{\"phase\":\"InProgress\",\"readyToUse\":false,"
		  "\"indications\":[\"Online\",\"NoGuestAgent\"]}}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_IN_PROGRESS);
	assert_true(o.ind_online && o.ind_no_guest_agent && !o.ind_guest_agent);
	assert_int_equal(o.snap_deadline_ms - o.snap_created_ms, 90000);
	cJSON_Delete(s);
	/* upstream writes the text into reason, never message (snapshot/util.go) */
	s = parse("{\"status\":{\"phase\":\"InProgress\",\"conditions\":[{\"type\":\"Progressing\","
		  "\"status\":\"False\",\"reason\":\"No VolumeSnapshotClass: Volume snapshots are "
		  "not configured for this StorageClass [nfs] [disk0]\"}]}}");
	cl_observe_snapshot(s, &o);
	assert_true(o.snap_unsupported);
	assert_non_null(strstr(o.snap_msg, "No VolumeSnapshotClass"));
	cJSON_Delete(s);
	s = parse("{\"status\":{\"phase\":\"Failed\",\"error\":{\"message\":\"VolumeSnapshot x "
		  "error: boom\"},\"conditions\":[{\"type\":\"Failure\",\"status\":\"True\","
		  "\"reason\":\"snapshot deadline exceeded\"},{\"type\":\"Progressing\",\"status\":"
		  "\"False\",\"reason\":\"Operation failed\"}]}}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_FAILED);
	assert_string_equal(o.snap_msg, "snapshot deadline exceeded");
	assert_false(o.snap_unsupported);
	cJSON_Delete(s);
	s = parse(
	    "{\"status\":{\"phase\":\"InProgress\",\"indications\":[\"Online\",\"GuestAgent\","
	    "\"QuiesceFailed\"]}}");
	cl_observe_snapshot(s, &o);
	assert_true(o.ind_quiesce_failed && o.ind_guest_agent);
	cJSON_Delete(s);
	s = parse("{\"status\":{\"phase\":\"Failed\",\"error\":{\"message\":\"snapshot deadline "
		  "exceeded\"},\"sourceIndications\":[{\"indication\":\"GuestAgent\"}]}}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_FAILED);
	assert_string_equal(o.snap_msg, "snapshot deadline exceeded");
	assert_true(o.ind_guest_agent);
	cJSON_Delete(s);
	s = parse("{\"status\":{\"phase\":\"Succeeded\",\"readyToUse\":true}}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_READY);
	cJSON_Delete(s);
	/* being deleted counts as gone; garbage shapes do not crash */
	s = parse("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"},"
		  "\"status\":{\"readyToUse\":true}}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_ABSENT);
	cJSON_Delete(s);
	s = parse("{\"status\":{\"indications\":\"Online\",\"conditions\":7},\"spec\":[]}");
	cl_observe_snapshot(s, &o);
	assert_int_equal(o.snap, CL_IN_PROGRESS);
	assert_false(o.ind_online);
	cJSON_Delete(s);
}

static void observe_clone_vm_target(void **state)
{
	struct cl_observed o;
	struct cl_job_spec j;
	cJSON *c, *vm, *vmi;

	(void)state;
	memset(&o, 0, sizeof(o));
	/* upstream: Progressing reason Pending, the text in Ready's reason (clone/util.go) */
	c = parse("{\"status\":{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\","
		  "\"reason\":\"Pending\"},{\"type\":\"Ready\",\"status\":\"False\",\"reason\":"
		  "\"Virtual Machine volume disk0 does not support snapshots\"}]}}");
	cl_observe_clone(c, &o);
	assert_int_equal(o.clone, CL_IN_PROGRESS);
	assert_true(o.clone_pending);
	assert_string_equal(o.clone_msg, "Virtual Machine volume disk0 does not support snapshots");
	cJSON_Delete(c);
	c = parse("{\"status\":{\"phase\":\"Failed\",\"conditions\":[{\"type\":\"Progressing\","
		  "\"status\":\"False\",\"reason\":\"Failed\"},{\"type\":\"Ready\",\"status\":"
		  "\"False\",\"reason\":\"volume disk1 is not backed up in snapshot s\"}]}}");
	cl_observe_clone(c, &o);
	assert_int_equal(o.clone, CL_FAILED);
	assert_string_equal(o.clone_msg, "volume disk1 is not backed up in snapshot s");
	cJSON_Delete(c);
	c = parse("{\"status\":{\"phase\":\"RestoreInProgress\",\"conditions\":[{\"type\":"
		  "\"Progressing\",\"status\":\"True\",\"reason\":\"Still processing\"},{\"type\":"
		  "\"Ready\",\"status\":\"False\",\"reason\":\"Still processing\"}]}}");
	cl_observe_clone(c, &o);
	assert_int_equal(o.clone, CL_IN_PROGRESS);
	assert_false(o.clone_pending);
	assert_string_equal(o.clone_msg, "");
	cJSON_Delete(c);

	vm = parse("{\"metadata\":{\"annotations\":{\"started-by.clone.vm.novasphere.dev/a\":\"x\","
		   "\"started-by.clone.vm.novasphere.dev/b\":\"y\",\"other\":\"z\"}},"
		   "\"spec\":{\"runStrategy\":\"Halted\"},\"status\":{\"printableStatus\":"
		   "\"ErrorUnschedulable\",\"volumeSnapshotStatuses\":[{\"name\":\"system\","
		   "\"enabled\":true},{\"name\":\"data\",\"enabled\":false,\"reason\":\"No "
		   "VolumeSnapshotClass\"}]}}");
	cl_observe_vm(vm, "started-by.clone.vm.novasphere.dev/a", &o);
	assert_true(o.vm_exists && o.we_started && o.vm_unstartable);
	assert_int_equal(o.others_started, 1);
	assert_false(o.vm_start_requested);
	assert_false(o.storage_ok);
	assert_non_null(strstr(o.storage_why, "'data'"));
	cJSON_Delete(vm);
	vmi = parse("{\"metadata\":{\"ownerReferences\":[{\"kind\":\"VirtualMachine\",\"name\":"
		    "\"src-vm\"}]},\"status\":{\"phase\":\"Running\"}}");
	cl_observe_vmi(vmi, &o);
	assert_true(o.vmi_running);
	assert_string_equal(o.vmi_owner, "src-vm");

	job(&j, CL_SRC_VM);
	j.ndisks = 1;
	strcpy(j.disks[0], "system");
	vm = parse(
	    "{\"metadata\":{\"labels\":{\"vm.novasphere.dev/request-id\":\"spec-abcd1234\","
	    "\"vm.novasphere.dev/wukong\":\"copy\"}},\"spec\":{\"runStrategy\":\"Always\","
	    "\"template\":{\"spec\":{\"volumes\":[{\"name\":\"system\",\"persistentVolumeClaim\":"
	    "{\"claimName\":\"a\"}}]}}}}");
	cl_observe_target(vm, vmi, &j, false, &o);
	assert_true(o.target_exists && o.target_ours && o.target_running);
	assert_false(o.target_needs_fixup);
	/* an unlisted disk left over, or the wrong run state: fix-up */
	cJSON_AddItemToArray(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "template"), "spec"),
		"volumes"),
	    parse("{\"name\":\"data\",\"dataVolume\":{\"name\":\"d\"}}"));
	cl_observe_target(vm, vmi, &j, false, &o);
	assert_true(o.target_needs_fixup);
	cJSON_Delete(vm);
	/* a Wukong name over 63 characters cannot be a label value: no endless fix-up */
	vm =
	    parse("{\"metadata\":{\"labels\":{\"vm.novasphere.dev/request-id\":\"spec-abcd1234\"}},"
		  "\"spec\":{\"runStrategy\":\"Always\"}}");
	cl_observe_target(vm, NULL, &j, false, &o);
	assert_true(o.target_needs_fixup); /* short name: the wukong label is missing */
	memset(j.name, 'n', 100);
	j.name[100] = 0;
	cl_observe_target(vm, NULL, &j, false, &o);
	assert_false(o.target_needs_fixup);
	cJSON_Delete(vm);
	vm = parse("{\"metadata\":{\"labels\":{\"vm.novasphere.dev/request-id\":\"other\"}}}");
	cl_observe_target(vm, NULL, &j, false, &o);
	assert_false(o.target_ours);
	cl_observe_target(vm, NULL, &j, true, &o);
	assert_true(o.target_ours);
	cJSON_Delete(vm);
	cJSON_Delete(vmi);
}

static void parse_kv(const char *s, struct wk_kubevirt_info *kv)
{
	cJSON *o = parse(s);

	assert_int_equal(wk_kubevirt_parse(o, kv, NULL, 0), 0);
	cJSON_Delete(o);
}

/* Issue 16 item 4/9: what KubeVirt cannot do is refused before anything is created. */
static void cluster_refusals(void **state)
{
	struct wk_kubevirt_info kv;
	char code[48], why[512];

	(void)state;
	parse_kv("{\"status\":{\"observedKubeVirtVersion\":\"v1.5.0\"}}", &kv);
	assert_int_equal(
	    cl_check_cluster(&kv, true, true, false, code, sizeof(code), why, sizeof(why)), -1);
	assert_string_equal(code, "SnapshotGateDisabled");
	assert_non_null(strstr(why, "v1.5.0"));
	assert_non_null(strstr(why, "\"Snapshot\""));
	parse_kv("{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"featureGates\":"
		 "[\"Snapshot\"]}}},\"status\":{\"observedKubeVirtVersion\":\"v1.5.0\"}}",
		 &kv);
	assert_int_equal(
	    cl_check_cluster(&kv, true, true, false, code, sizeof(code), why, sizeof(why)), 0);
	assert_int_equal(
	    cl_check_cluster(&kv, true, true, true, code, sizeof(code), why, sizeof(why)), -1);
	assert_string_equal(code, "SelectiveCloneUnsupported");
	assert_non_null(strstr(why, "KubeVirt v1.5.0"));
	parse_kv("{\"status\":{\"observedKubeVirtVersion\":\"v1.6.0\"}}", &kv);
	assert_int_equal(
	    cl_check_cluster(&kv, true, true, true, code, sizeof(code), why, sizeof(why)), -1);
	assert_string_equal(code, "SnapshotGateDisabled");
	parse_kv("{\"status\":{\"observedKubeVirtVersion\":\"v1.9.0\"}}", &kv);
	assert_int_equal(
	    cl_check_cluster(&kv, true, true, true, code, sizeof(code), why, sizeof(why)), 0);
	assert_int_equal(
	    cl_check_cluster(&kv, true, false, false, code, sizeof(code), why, sizeof(why)), -1);
	assert_string_equal(code, "CloneAPIMissing");
	assert_non_null(strstr(why, "clone.kubevirt.io/v1beta1"));
	/* nothing known: KubeVirt's webhook decides */
	assert_int_equal(
	    cl_check_cluster(NULL, false, true, true, code, sizeof(code), why, sizeof(why)), 0);
}

static void disk_selection(void **state)
{
	char why[512];
	char sel[3][64];
	cJSON *vm =
	    parse("{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"devices\":{\"disks\":"
		  "[{\"name\":\"rootdisk\"},{\"name\":\"data\"},{\"name\":\"cidata\"}]}}}}}}");
	cJSON *vm2 = parse("{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"devices\":{\"disks\":"
			   "[{\"name\":\"a\"},{\"name\":\"b\",\"bootOrder\":1}]}}}}}}");

	(void)state;
	strcpy(sel[0], "nosuch");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 1, vm, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'nosuch' is not a disk of the source VM"));
	assert_non_null(strstr(why, "rootdisk data cidata"));
	strcpy(sel[0], "data");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 1, vm, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "drops the boot disk 'rootdisk'"));
	strcpy(sel[1], "rootdisk");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 2, vm, why, sizeof(why)), 0);
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 0, vm, why, sizeof(why)), 0);
	/* bootOrder wins over position */
	strcpy(sel[0], "a");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 1, vm2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'b'"));
	strcpy(sel[0], "b");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 1, vm2, why, sizeof(why)), 0);
	/* hostile shapes: no disks at all, disks not an array */
	cJSON_Delete(vm2);
	vm2 =
	    parse("{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"devices\":{\"disks\":7}}}}}}");
	assert_int_equal(cl_check_disks((const char(*)[64])sel, 1, vm2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "none"));
	cJSON_Delete(vm);
	cJSON_Delete(vm2);
}

static void refused_and_deadlines(void **state)
{
	struct cl_job_spec j;
	struct cl_observed o;
	struct cl_decision d;

	(void)state;
	job(&j, CL_SRC_VM);
	running_source(&o);
	strcpy(o.refuse_code, "SnapshotGateDisabled");
	strcpy(o.refuse_why, "KubeVirt v1.6.0: feature gate \"Snapshot\" is not enabled");
	expect_fail(&j, &o, "SnapshotGateDisabled");
	decide(&j, &o, &d);
	assert_non_null(strstr(d.message, "Snapshot"));
	/* once our snapshot exists the refusal no longer applies (a gate turned off midway) */
	o.snap = CL_IN_PROGRESS;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	/* a snapshot without failureDeadline: our own limit */
	o.refuse_code[0] = 0;
	o.now_ms = o.phase_since_ms + TO.snapshot_ms;
	expect_fail(&j, &o, "SnapshotDeadlineExceeded");
	/* RestoreInProgress forever (a patch KubeVirt cannot apply) */
	running_source(&o);
	o.snap = CL_READY;
	o.clone = CL_IN_PROGRESS;
	strcpy(o.clone_phase, "RestoreInProgress");
	strcpy(o.clone_msg, "error patching VM copy-vm: test failed");
	o.clone_phase_since_ms = o.now_ms - TO.restore_ms + 1;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_WAIT);
	o.clone_phase_since_ms = o.now_ms - TO.restore_ms;
	expect_fail(&j, &o, "RestoreTimeout");
	decide(&j, &o, &d);
	assert_non_null(strstr(d.message, "error patching VM"));
	/* any clone phase: the whole Cloning phase has a limit */
	strcpy(o.clone_phase, "SnapshotInProgress");
	o.phase_since_ms = o.now_ms - TO.clone_ms;
	expect_fail(&j, &o, "CloneTimeout");
	decide(&j, &o, &d);
	assert_non_null(strstr(d.message, "SnapshotInProgress"));
	/* Finalizing: a snapshot deletion that hangs is left behind past the deadline; a fix-up
	 * that keeps failing ends the job */
	running_source(&o);
	o.snap = CL_READY;
	o.clone = CL_READY;
	o.target_exists = o.target_ours = o.target_running = true;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_DELETE_SNAPSHOT);
	o.phase_since_ms = o.now_ms - TO.finalize_ms;
	decide(&j, &o, &d);
	assert_int_equal(d.action, CL_ACT_SUCCEED);
	assert_non_null(strstr(d.message, "still being deleted"));
	o.target_needs_fixup = true;
	expect_fail(&j, &o, "FinalizeTimeout");
}

static void durations(void **state)
{
	(void)state;
	assert_int_equal(cl_duration_ms("5m0s"), 300000);
	assert_int_equal(cl_duration_ms("1h30m"), 5400000);
	assert_int_equal(cl_duration_ms("250ms"), 250);
	assert_int_equal(cl_duration_ms("2s"), 2000);
	assert_int_equal(cl_duration_ms("0"), 0);
	assert_int_equal(cl_duration_ms(""), -1);
	assert_int_equal(cl_duration_ms(NULL), -1);
	assert_int_equal(cl_duration_ms("5"), -1);
	assert_int_equal(cl_duration_ms("-1s"), -1);
	assert_int_equal(cl_duration_ms("5x"), -1);
	assert_int_equal(cl_duration_ms("1e308h"), -1);
	assert_int_equal(cl_duration_ms("m"), -1);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(cl_phase_name(CL_PH_STARTING_SOURCE), "StartingSource");
	assert_string_equal(cl_phase_name((enum cl_phase)99), "Unknown");
	assert_string_equal(cl_action_name(CL_ACT_FIXUP_TARGET), "fixup-target");
	assert_false(cl_phase_final(CL_PH_FINALIZING));
	assert_true(cl_phase_final(CL_PH_FAILED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(happy_path_running),
	    cmocka_unit_test(keep_snapshot_and_halted_target),
	    cmocka_unit_test(stopped_source_started_first),
	    cmocka_unit_test(failures_classified),
	    cmocka_unit_test(clone_pending_waits_first),
	    cmocka_unit_test(consistency_from_indications),
	    cmocka_unit_test(observe_snapshot),
	    cmocka_unit_test(observe_clone_vm_target),
	    cmocka_unit_test(cluster_refusals),
	    cmocka_unit_test(disk_selection),
	    cmocka_unit_test(refused_and_deadlines),
	    cmocka_unit_test(durations),
	    cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
