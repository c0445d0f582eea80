/* cl_machine.c - the running-clone state machine and the observers feeding it. */
#include "cl_machine.h"
#include "wk_quantity.h"

#include "wk_json.h"
#include "wk_kubevirt.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

const char *cl_phase_name(enum cl_phase p)
{
	static const char *const n[] = {"Pending", "Queued",	 "StartingSource", "Snapshotting",
					"Cloning", "Finalizing", "Succeeded",	   "Failed"};
	return (size_t)p < WK_ARRAY_SIZE(n) ? n[p] : "Unknown";
}

bool cl_phase_final(enum cl_phase p)
{
	return p == CL_PH_SUCCEEDED || p == CL_PH_FAILED;
}

const char *cl_action_name(enum cl_action a)
{
	static const char *const n[] = {
	    "wait",	     "start-source",	   "create-snapshot", "release-source",
	    "create-clone",  "fixup-target",	   "delete-snapshot", "create-volume-snapshots",
	    "create-target", "create-datavolumes", "succeed",	      "fail"};
	return (size_t)a < WK_ARRAY_SIZE(n) ? n[a] : "unknown";
}

void cl_decision_set(struct cl_decision *d, enum cl_action a, enum cl_phase p, int progress,
		     const char *reason, const char *fmt, ...)
{
	va_list ap;

	d->action = a;
	d->phase = p;
	d->progress = progress;
	wk_strlcpy(d->reason, reason, sizeof(d->reason));
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
}

const char *cl_consistency(const struct cl_observed *o, const char **reason)
{
	const char *r = NULL, *c = NULL;

	/* QuiesceFailed/QuiesceTimeout come WITH GuestAgent (and stay once set): either one means
	 * the freeze did not cover the snapshot (pkg/storage/snapshot/source.go). */
	if (o->ind_guest_agent && !o->ind_quiesce_timeout && !o->ind_quiesce_failed) {
		r = "GuestAgent";
		c = "filesystem-consistent";
	} else if (o->ind_quiesce_failed) {
		r = "QuiesceFailed";
		c = "crash-consistent";
	} else if (o->ind_quiesce_timeout) {
		r = "QuiesceTimeout";
		c = "crash-consistent";
	} else if (o->ind_no_guest_agent || o->ind_online) {
		r = "NoGuestAgent";
		c = "crash-consistent";
	} else if (o->snap == CL_READY) {
		/* Not running when taken: nothing was in flight, the disks are at rest. */
		r = "Offline";
		c = "filesystem-consistent";
	}
	if (reason)
		*reason = r;
	return c;
}

static bool contains(const char *h, const char *n)
{
	return h && strstr(h, n) != NULL;
}

void cl_decide(const struct cl_job_spec *j, const struct cl_observed *o,
	       const struct cl_timeouts *t, struct cl_decision *d)
{
	const char *src = j->source_name;
	const char *vm = j->type == CL_SRC_VMI ? o->vmi_owner : j->source_name;

	memset(d, 0, sizeof(*d));
	if (j->invalid[0]) {
		cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, j->invalid, "%s", j->invalid_msg);
		return;
	}
	if (j->per_volume) {
		cl_decide_volumes(j, o, t, d);
		return;
	}
	/* The clone exists: follow it to the end. */
	if (o->clone != CL_ABSENT) {
		if (o->we_started && o->snap != CL_IN_PROGRESS) {
			cl_decision_set(d, CL_ACT_RELEASE_SOURCE, CL_PH_CLONING, 50, "SourceReleased",
			    "snapshot taken: the source VM '%s' goes back to its stopped state",
			    vm);
			return;
		}
		if (o->clone == CL_FAILED) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "CloneFailed",
			    "VirtualMachineClone failed: %s",
			    o->clone_msg[0] ? o->clone_msg : "no reason given");
			return;
		}
		if (o->clone == CL_IN_PROGRESS) {
			/* KubeVirt's restore retries a failing step (a patch that does not apply, a
			 * volume it cannot restore) forever: RestoreInProgress gets our deadline.
			 */
			if (!strcmp(o->clone_phase, "RestoreInProgress") && t->restore_ms > 0 &&
			    o->clone_phase_since_ms > 0 &&
			    o->now_ms - o->clone_phase_since_ms >= t->restore_ms) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "RestoreTimeout",
				    "VirtualMachineClone into '%s' stayed in RestoreInProgress for "
				    "%llds%s%s",
				    j->target_vm, (long long)(t->restore_ms / 1000),
				    o->clone_msg[0] ? ": " : "", o->clone_msg);
				return;
			}
			if (t->clone_ms > 0 && o->now_ms - o->phase_since_ms >= t->clone_ms) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "CloneTimeout",
				    "VirtualMachineClone into '%s' not done within %llds (phase "
				    "%s)%s%s",
				    j->target_vm, (long long)(t->clone_ms / 1000),
				    o->clone_phase[0] ? o->clone_phase : "unset",
				    o->clone_msg[0] ? ": " : "", o->clone_msg);
				return;
			}
			if (o->clone_pending) {
				if (o->now_ms - o->phase_since_ms >= t->clone_pending_ms) {
					cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "ClonePending",
					    "VirtualMachineClone stays pending: %s",
					    o->clone_msg[0] ? o->clone_msg : "no progress");
					return;
				}
				cl_decision_set(d, CL_ACT_WAIT, CL_PH_CLONING, 55, "ClonePending",
				    "VirtualMachineClone pending: %s", o->clone_msg);
				return;
			}
			if (!strcmp(o->clone_phase, "CreatingTargetVM"))
				cl_decision_set(d, CL_ACT_WAIT, CL_PH_CLONING, 85, "CreatingTargetVM",
				    "creating the target VM '%s'", j->target_vm);
			else if (!strcmp(o->clone_phase, "RestoreInProgress"))
				cl_decision_set(d, CL_ACT_WAIT, CL_PH_CLONING, 70, "RestoreInProgress",
				    "restoring the snapshot's volumes for '%s'", j->target_vm);
			else
				cl_decision_set(d, CL_ACT_WAIT, CL_PH_CLONING, 60, "CloneInProgress",
				    "VirtualMachineClone into '%s' %s", j->target_vm,
				    o->clone_phase[0] ? o->clone_phase : "started");
			return;
		}
		/* Succeeded. */
		if (!o->target_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "TargetMissing",
			    "the clone succeeded but the target VM '%s' is gone", j->target_vm);
			return;
		}
		bool fin_late =
		    t->finalize_ms > 0 && o->now_ms - o->phase_since_ms >= t->finalize_ms;

		if (o->target_needs_fixup && fin_late) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "FinalizeTimeout",
			    "target VM '%s' could not be fixed up (labels, run state, disks) "
			    "within "
			    "%llds",
			    j->target_vm, (long long)(t->finalize_ms / 1000));
			return;
		}
		if (o->target_needs_fixup) {
			cl_decision_set(d, CL_ACT_FIXUP_TARGET, CL_PH_FINALIZING, 90, "TargetCreated",
			    "target VM '%s' created; applying labels, run state%s", j->target_vm,
			    j->ndisks ? " and the disk selection" : "");
			return;
		}
		/* a snapshot whose deletion hangs (finalizers) does not hold the clone back
		 * forever: past the deadline it is left to KubeVirt's garbage collection */
		if (o->snap != CL_ABSENT && !j->keep_snapshot && !fin_late) {
			cl_decision_set(d, CL_ACT_DELETE_SNAPSHOT, CL_PH_FINALIZING, 95, "SnapshotCleanup",
			    "deleting the temporary snapshot");
			return;
		}
		if (j->want_running && !o->target_running) {
			if (o->now_ms - o->phase_since_ms >= t->target_start_ms) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "TargetNotRunning",
				    "target VM '%s' did not start within %llds", j->target_vm,
				    (long long)(t->target_start_ms / 1000));
				return;
			}
			cl_decision_set(d, CL_ACT_WAIT, CL_PH_FINALIZING, 97, "TargetStarting",
			    "waiting for the target VM '%s' to run", j->target_vm);
			return;
		}
		cl_decision_set(d, CL_ACT_SUCCEED, CL_PH_SUCCEEDED, 100, "Succeeded",
		    "'%s' cloned from %s '%s/%s'%s%s", j->target_vm,
		    j->type == CL_SRC_VMI ? "VMI" : "VM", j->source_ns, src,
		    o->ind_online || (o->online_known && o->was_online)
			? " while it ran (an online snapshot, the VM was not stopped)"
		    : o->online_known || o->snap == CL_READY
			? " while it was stopped (it was not started)"
			: "",
		    j->keep_snapshot	   ? " (snapshot kept)"
		    : o->snap != CL_ABSENT ? " (the temporary snapshot is still being deleted)"
					   : "");
		return;
	}
	/* No clone yet. The target name must be free before anything is created. */
	if (o->target_exists && !o->target_ours) {
		cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "TargetNameTaken",
		    "a VirtualMachine named '%s' already exists in '%s' and is not this clone's",
		    j->target_vm, j->ns);
		return;
	}
	/* Nothing of ours exists yet and KubeVirt cannot do it (gate, API, version) or the disk
	 * selection does not fit the source: say so before creating anything. */
	if (o->refuse_code[0] && o->snap == CL_ABSENT && !o->we_started) {
		cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, o->refuse_code, "%s", o->refuse_why);
		return;
	}
	if (o->snap == CL_FAILED) {
		/* upstream's Failure reason is the phrase "snapshot deadline exceeded" */
		if (contains(o->snap_msg, "deadline exceeded"))
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotDeadlineExceeded",
			    "VirtualMachineSnapshot of '%s' failed: %s", vm, o->snap_msg);
		else
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotFailed",
			    "VirtualMachineSnapshot of '%s' failed: %s", vm,
			    o->snap_msg[0] ? o->snap_msg : "no reason given");
		return;
	}
	if (o->snap == CL_IN_PROGRESS) {
		if (o->snap_unsupported) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "StorageCannotSnapshot",
			    "the source's storage cannot be snapshotted: %s", o->snap_msg);
			return;
		}
		if (o->snap_deadline_ms > 0 &&
		    o->now_ms > o->snap_deadline_ms + t->deadline_grace_ms) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotDeadlineExceeded",
			    "VirtualMachineSnapshot of '%s' not ready by its failure deadline", vm);
			return;
		}
		if (o->snap_deadline_ms == 0 && t->snapshot_ms > 0 &&
		    o->now_ms - o->phase_since_ms >= t->snapshot_ms) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SnapshotDeadlineExceeded",
			    "VirtualMachineSnapshot of '%s' not ready within %llds", vm,
			    (long long)(t->snapshot_ms / 1000));
			return;
		}
		cl_decision_set(d, CL_ACT_WAIT, CL_PH_SNAPSHOTTING, 25, "SnapshotInProgress",
		    "online snapshot of VM '%s' in progress", vm);
		return;
	}
	if (o->snap == CL_READY) {
		if (o->we_started) {
			cl_decision_set(d, CL_ACT_RELEASE_SOURCE, CL_PH_SNAPSHOTTING, 45, "SourceReleased",
			    "snapshot taken: the source VM '%s' goes back to its stopped state",
			    vm);
			return;
		}
		cl_decision_set(d, CL_ACT_CREATE_CLONE, CL_PH_CLONING, 50, "SnapshotReady",
		    "snapshot ready; cloning into '%s'", j->target_vm);
		return;
	}
	/* Nothing created yet: check the source. */
	if (j->type == CL_SRC_VMI) {
		if (!o->vmi_exists && o->vm_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotRunning",
			    "VirtualMachineInstance '%s/%s' does not exist: its VirtualMachine is "
			    "stopped (name the VM with type: vm to have it started first)",
			    j->source_ns, src);
			return;
		}
		if (!o->vmi_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotFound",
			    "VirtualMachineInstance '%s/%s' does not exist", j->source_ns, src);
			return;
		}
		if (!o->vmi_running) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotRunning",
			    "VirtualMachineInstance '%s/%s' is not running: a running clone of a "
			    "VMI needs it running (name its VM with type: vm to have it started)",
			    j->source_ns, src);
			return;
		}
		if (!o->vmi_owner[0] || !o->vm_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotFound",
			    "VirtualMachineInstance '%s/%s' has no VirtualMachine: KubeVirt "
			    "snapshots only VirtualMachines",
			    j->source_ns, src);
			return;
		}
	} else {
		if (!o->vm_exists) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotFound",
			    "VirtualMachine '%s/%s' does not exist", j->source_ns, src);
			return;
		}
		if (j->offline && (o->vmi_running || o->vmi_exists)) {
			cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceRunning",
			    "cloneType offline copies a stopped VM, and VirtualMachine '%s/%s' is "
			    "running: stop it first, or use cloneType running for an online copy",
			    j->source_ns, src);
			return;
		}
		if (!o->vmi_running && !j->start_source && !o->we_started) {
			/* A stopped VM is snapshotted as it is (an offline snapshot, consistent at
			 * rest) and never started unless asked (startSource). */
		} else if (!o->vmi_running) {
			if (o->vm_unstartable) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotStartable",
				    "VirtualMachine '%s/%s' cannot start: %s", j->source_ns, src,
				    o->vm_status);
				return;
			}
			if (!o->we_started) {
				cl_decision_set(d, CL_ACT_START_SOURCE, CL_PH_STARTING_SOURCE, 5,
				    "StartingSource",
				    "VirtualMachine '%s/%s' is stopped: starting it first",
				    j->source_ns, src);
				return;
			}
			if (o->now_ms - o->phase_since_ms >= t->source_start_ms) {
				cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "SourceNotStartable",
				    "VirtualMachine '%s/%s' did not start within %llds (%s)",
				    j->source_ns, src, (long long)(t->source_start_ms / 1000),
				    o->vm_status[0] ? o->vm_status : "no status");
				return;
			}
			cl_decision_set(d, CL_ACT_WAIT, CL_PH_STARTING_SOURCE, 5, "StartingSource",
			    "waiting for VirtualMachine '%s/%s' to run (%s)", j->source_ns, src,
			    o->vm_status[0] ? o->vm_status : "starting");
			return;
		}
		/* Running only because another clone started it: hold it too, or that clone
		 * stops it under our snapshot when its own is done. */
		if (o->others_started > 0 && !o->we_started) {
			cl_decision_set(d, CL_ACT_START_SOURCE, CL_PH_STARTING_SOURCE, 5, "StartingSource",
			    "VirtualMachine '%s/%s' runs for another clone: holding it running "
			    "until this snapshot is taken",
			    j->source_ns, src);
			return;
		}
	}
	if (!o->storage_ok) {
		cl_decision_set(d, CL_ACT_FAIL, CL_PH_FAILED, 0, "StorageCannotSnapshot",
		    "the source's storage cannot be snapshotted (a VirtualMachineClone would stay "
		    "pending): %s",
		    o->storage_why);
		return;
	}
	cl_decision_set(d, CL_ACT_CREATE_SNAPSHOT, CL_PH_SNAPSHOTTING, 10, "SnapshotStarted",
	    "taking %s snapshot of VM '%s'",
	    o->vmi_running ? "an online" : "an offline (the VM is stopped and stays so)", vm);
}

/* ---- observers ---- */

static const cJSON *condition(const cJSON *obj, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(obj, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type");

		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

int64_t cl_duration_ms(const char *s)
{
	double total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);

		if (end == s || v < 0 || v > 1e9)
			return -1;
		s = end;
		if (*s == 'h')
			total += v * 3600000, s++;
		else if (*s == 'm' && s[1] == 's')
			total += v, s += 2;
		else if (*s == 'm')
			total += v * 60000, s++;
		else if (*s == 's')
			total += v * 1000, s++;
		else if (!*s && v == 0 && total == 0)
			return 0;
		else
			return -1;
	}
	return (int64_t)total;
}

static const char *const unstartable[] = {
    "ErrorUnschedulable", "ErrorPvcNotFound", "DataVolumeError", /* upstream's; no
								    ErrorDataVolumeNotFound */
    "ErrImagePull",	  "ImagePullBackOff", "CrashLoopBackOff", NULL};

void cl_observe_vm(const cJSON *vm, const char *started_key, struct cl_observed *o)
{
	const cJSON *spec = wk_json_path(vm, "spec"), *a, *v;
	const char *rs, *ps;
	size_t kl = strlen(CL_ANN_STARTED_PREFIX);

	o->vm_exists = vm != NULL;
	o->storage_ok = true;
	o->storage_why[0] = 0;
	o->we_started = false;
	o->others_started = 0;
	o->vm_start_requested = false;
	o->vm_unstartable = false;
	o->vm_status[0] = 0;
	if (!vm)
		return;
	rs = wk_json_str(spec, "runStrategy");
	o->vm_start_requested = rs ? (!strcmp(rs, "Always") || !strcmp(rs, "RerunOnFailure"))
				   : cJSON_IsTrue(wk_json_path(spec, "running"));
	ps = wk_json_str(vm, "status.printableStatus");
	wk_strlcpy(o->vm_status, ps ? ps : "", sizeof(o->vm_status));
	for (size_t i = 0; ps && unstartable[i]; i++)
		if (!strcmp(ps, unstartable[i]))
			o->vm_unstartable = true;
	cJSON_ArrayForEach(a, wk_json_path(vm, "metadata.annotations"))
	{
		if (!a->string || strncmp(a->string, CL_ANN_STARTED_PREFIX, kl))
			continue;
		if (started_key && !strcmp(a->string, started_key))
			o->we_started = true;
		else
			o->others_started++;
	}
	cJSON_ArrayForEach(v, wk_json_path(vm, "status.volumeSnapshotStatuses"))
	{
		if (cJSON_IsFalse(wk_json_path(v, "enabled"))) {
			const char *n = wk_json_str(v, "name"), *r = wk_json_str(v, "reason");

			o->storage_ok = false;
			if (!o->storage_why[0])
				snprintf(o->storage_why, sizeof(o->storage_why), "volume '%s': %s",
					 n ? n : "?", r ? r : "snapshots not supported");
		}
	}
}

void cl_observe_vmi(const cJSON *vmi, struct cl_observed *o)
{
	const cJSON *r;
	const char *ph = wk_json_str(vmi, "status.phase");

	o->vmi_exists = vmi != NULL;
	o->vmi_running = ph && !strcmp(ph, "Running");
	o->vmi_owner[0] = 0;
	cJSON_ArrayForEach(r, wk_json_path(vmi, "metadata.ownerReferences"))
	{
		const char *k = wk_json_str(r, "kind"), *n = wk_json_str(r, "name");

		if (k && n && !strcmp(k, "VirtualMachine"))
			wk_strlcpy(o->vmi_owner, n, sizeof(o->vmi_owner));
	}
}

void cl_observe_snapshot(const cJSON *snap, struct cl_observed *o)
{
	const cJSON *st = wk_json_path(snap, "status"), *x, *prog, *fail;
	const char *ph = wk_json_str(st, "phase");
	int64_t ms;

	o->snap_unsupported = false;
	o->snap_msg[0] = 0;
	o->snap_created_ms = 0;
	o->snap_deadline_ms = 0;
	o->ind_online = o->ind_guest_agent = o->ind_no_guest_agent = o->ind_quiesce_timeout = false;
	o->ind_quiesce_failed = false;
	if (!snap) {
		o->snap = CL_ABSENT;
		return;
	}
	if (wk_json_path(snap, "metadata.deletionTimestamp")) {
		o->snap = CL_ABSENT; /* being deleted (finalizers): gone as far as we care */
		return;
	}
	if (ph && !strcmp(ph, "Failed"))
		o->snap = CL_FAILED;
	else if (cJSON_IsTrue(wk_json_path(st, "readyToUse")))
		o->snap = CL_READY;
	else
		o->snap = CL_IN_PROGRESS;
	fail = condition(snap, "Failure");
	prog = condition(snap, "Progressing");
	/* KubeVirt writes its text into the conditions' reason, never message
	 * (pkg/storage/snapshot/util.go newFailureCondition): the Failure reason says why
	 * ("snapshot deadline exceeded"), status.error.message what a volume reported. */
	{
		const char *fr = wk_json_str(fail, "reason");

		if (fr &&
		    strcmp(wk_json_str(fail, "status") ? wk_json_str(fail, "status") : "", "True"))
			fr = NULL;
		if (fr && (!*fr || !strcmp(fr, "Failed") || !strcmp(fr, "Operation failed")))
			fr = NULL; /* a bare word: the text is elsewhere */
		if (fr)
			wk_strlcpy(o->snap_msg, fr, sizeof(o->snap_msg));
		else if (wk_json_str(st, "error.message"))
			wk_strlcpy(o->snap_msg, wk_json_str(st, "error.message"),
				   sizeof(o->snap_msg));
		else if (wk_json_str(fail, "message"))
			wk_strlcpy(o->snap_msg, wk_json_str(fail, "message"), sizeof(o->snap_msg));
	}
	if (o->snap == CL_IN_PROGRESS && prog && wk_json_str(prog, "status") &&
	    !strcmp(wk_json_str(prog, "status"), "False")) {
		const char *r = wk_json_str(prog, "reason");

		if (r && (strstr(r, "NotSupported") || strstr(r, "VolumeSnapshotClass") ||
			  strstr(r, "does not support snapshots"))) {
			o->snap_unsupported = true;
			wk_strlcpy(o->snap_msg, r, sizeof(o->snap_msg));
		}
	}
	if (wk_json_str(snap, "metadata.creationTimestamp") &&
	    wk_time_parse_ms(wk_json_str(snap, "metadata.creationTimestamp"), &ms) == 0) {
		int64_t dl = 5 * 60 * 1000; /* KubeVirt's DefaultFailureDeadline */
		const char *fd = wk_json_str(snap, "spec.failureDeadline");

		o->snap_created_ms = ms;
		if (fd)
			dl = cl_duration_ms(fd);
		o->snap_deadline_ms = dl > 0 ? ms + dl : 0;
	}
	cJSON_ArrayForEach(x, wk_json_path(st, "indications"))
	{
		const char *s = cJSON_GetStringValue(x);

		if (!s)
			continue;
		o->ind_online |= !strcmp(s, "Online");
		o->ind_guest_agent |= !strcmp(s, "GuestAgent");
		o->ind_no_guest_agent |= !strcmp(s, "NoGuestAgent");
		o->ind_quiesce_timeout |= !strcmp(s, "QuiesceTimeout");
		o->ind_quiesce_failed |= !strcmp(s, "QuiesceFailed");
	}
	cJSON_ArrayForEach(x, wk_json_path(st, "sourceIndications"))
	{
		const char *s = wk_json_str(x, "indication");

		if (!s)
			continue;
		o->ind_online |= !strcmp(s, "Online");
		o->ind_guest_agent |= !strcmp(s, "GuestAgent");
		o->ind_no_guest_agent |= !strcmp(s, "NoGuestAgent");
		o->ind_quiesce_timeout |= !strcmp(s, "QuiesceTimeout");
		o->ind_quiesce_failed |= !strcmp(s, "QuiesceFailed");
	}
}

/* The clone controller's fixed reasons that say nothing about a failure. */
static bool generic_clone_reason(const char *r)
{
	static const char *const g[] = {"Still processing", "Ready",	 "Pending",
					"Failed",	    "Not ready", NULL};

	if (!r || !*r)
		return true;
	for (size_t i = 0; g[i]; i++)
		if (!strcmp(r, g[i]))
			return true;
	return false;
}

void cl_observe_clone(const cJSON *clone, struct cl_observed *o)
{
	const cJSON *st = wk_json_path(clone, "status"), *prog, *ready;
	const char *ph = wk_json_str(st, "phase");

	o->clone_pending = false;
	o->clone_msg[0] = 0;
	wk_strlcpy(o->clone_phase, ph ? ph : "", sizeof(o->clone_phase));
	if (!clone) {
		o->clone = CL_ABSENT;
		return;
	}
	if (ph && !strcmp(ph, "Succeeded"))
		o->clone = CL_READY;
	else if (ph && !strcmp(ph, "Failed"))
		o->clone = CL_FAILED;
	else
		o->clone = CL_IN_PROGRESS;
	prog = condition(clone, "Progressing");
	ready = condition(clone, "Ready");
	/* Upstream puts the text in reason (pkg/virt-controller/watch/clone/util.go): Progressing
	 * carries "Still processing" / "Pending" / "Failed", Ready the error itself. */
	if (ready && !generic_clone_reason(wk_json_str(ready, "reason")))
		wk_strlcpy(o->clone_msg, wk_json_str(ready, "reason"), sizeof(o->clone_msg));
	else if (prog && !generic_clone_reason(wk_json_str(prog, "reason")))
		wk_strlcpy(o->clone_msg, wk_json_str(prog, "reason"), sizeof(o->clone_msg));
	if (o->clone == CL_IN_PROGRESS && (!ph || !*ph) && prog && wk_json_str(prog, "status") &&
	    !strcmp(wk_json_str(prog, "status"), "False"))
		o->clone_pending = true;
}

void cl_observe_target(const cJSON *vm, const cJSON *vmi, const struct cl_job_spec *j,
		       bool clone_made_it, struct cl_observed *o)
{
	const cJSON *v;
	const char *req = wk_json_meta(vm, "labels", WK_LABEL_REQUEST_ID), *rs;
	const char *ph = wk_json_str(vmi, "status.phase");
	bool running_wanted;

	o->target_exists = vm != NULL;
	o->target_ours = vm && ((req && !strcmp(req, j->id)) || clone_made_it);
	o->target_running = ph && !strcmp(ph, "Running");
	o->target_needs_fixup = false;
	if (!vm)
		return;
	/* Label values stop at 63 characters: a longer Wukong name is in the annotation only. */
	if (!req || strcmp(req, j->id) ||
	    (strlen(j->name) <= 63 && !wk_json_meta(vm, "labels", WK_LABEL_WUKONG)))
		o->target_needs_fixup = true;
	rs = wk_json_str(vm, "spec.runStrategy");
	running_wanted =
	    rs ? strcmp(rs, "Halted") != 0 : cJSON_IsTrue(wk_json_path(vm, "spec.running"));
	if (running_wanted != j->want_running)
		o->target_needs_fixup = true;
	cJSON_ArrayForEach(v, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *n = wk_json_str(v, "name");

		if (n &&
		    (wk_json_path(v, "persistentVolumeClaim") || wk_json_path(v, "dataVolume")) &&
		    !cl_job_wants_disk(j, n))
			o->target_needs_fixup = true;
	}
}

/* ---- what the cluster can do; what the selection names ---- */

int cl_check_cluster(const struct wk_kubevirt_info *kv, bool kv_read, bool clone_api,
		     bool selective, char *code, size_t code_size, char *why, size_t why_size)
{
	code[0] = 0;
	why[0] = 0;
	if (!clone_api) {
		wk_strlcpy(code, "CloneAPIMissing", code_size);
		snprintf(why, why_size,
			 "the cluster does not serve clone.kubevirt.io/v1beta1 "
			 "(VirtualMachineClone): KubeVirt %s cannot clone",
			 kv_read ? wk_kubevirt_version_str(kv) : "(KubeVirt CR not readable)");
		return -1;
	}
	if (!kv_read || !kv || !kv->found)
		return 0; /* nothing known: KubeVirt's webhook has the last word */
	/* The clone webhook refuses the create without it (vmclone-admitter.go "snapshot feature
	 * gate is not enabled"), and the snapshot webhook ours. */
	if (!wk_kubevirt_gate(kv, WK_KV_GATE_SNAPSHOT)) {
		wk_strlcpy(code, "SnapshotGateDisabled", code_size);
		wk_kubevirt_gate_reason(kv, WK_KV_GATE_SNAPSHOT, why, why_size);
		return -1;
	}
	/* spec.patches exists from v1.6.0 (clone/v1beta1 types.go); 1.5 prunes it and clones
	 * every disk. */
	if (selective && kv->version_known && !wk_kubevirt_at_least(kv, 1, 6)) {
		wk_strlcpy(code, "SelectiveCloneUnsupported", code_size);
		snprintf(
		    why, why_size,
		    "KubeVirt %s has no VirtualMachineClone spec.patches (added in v1.6.0): a "
		    "clone there copies every disk; a disk selection needs KubeVirt 1.6 or newer",
		    wk_kubevirt_version_str(kv));
		return -1;
	}
	return 0;
}

int cl_check_disks(const char (*disks)[64], size_t ndisks, const cJSON *vm, char *why,
		   size_t why_size)
{
	const cJSON *all = wk_json_path(vm, "spec.template.spec.domain.devices.disks"), *d;
	const char *boot = NULL;
	double best = 0;
	size_t i;
	bool kept = false;

	why[0] = 0;
	if (!ndisks || !vm)
		return 0;
	for (i = 0; i < ndisks; i++) {
		bool found = false;

		cJSON_ArrayForEach(d, all)
		{
			const char *n = wk_json_str(d, "name");

			if (n && !strcmp(n, disks[i]))
				found = true;
		}
		if (!found) {
			size_t off = (size_t)snprintf(why, why_size,
						      "disk '%s' is not a disk of the source VM "
						      "(its disks:",
						      disks[i]);
			cJSON_ArrayForEach(d, all)
			{
				if (wk_json_str(d, "name") && off < why_size)
					off += (size_t)snprintf(why + off, why_size - off, " %s",
								wk_json_str(d, "name"));
			}
			if (off < why_size)
				snprintf(why + off, why_size - off, "%s)",
					 cJSON_GetArraySize(all) ? "" : " none");
			return -1;
		}
	}
	/* The boot disk: the lowest bootOrder; without any, KubeVirt boots the first disk. */
	cJSON_ArrayForEach(d, all)
	{
		const cJSON *bo = wk_json_path(d, "bootOrder");

		if (cJSON_IsNumber(bo) && bo->valuedouble >= 1 &&
		    (!boot || bo->valuedouble < best)) {
			best = bo->valuedouble;
			boot = wk_json_str(d, "name");
		}
	}
	if (!boot)
		boot = wk_json_str(cJSON_GetArrayItem(all, 0), "name");
	if (!boot)
		return 0;
	for (i = 0; i < ndisks; i++)
		kept |= !strcmp(disks[i], boot);
	if (!kept) {
		snprintf(why, why_size,
			 "the selection drops the boot disk '%s': the clone would not boot (list "
			 "it in disks)",
			 boot);
		return -1;
	}
	return 0;
}

const char *cl_disk_claim(const cJSON *vm, const char *disk)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *n = wk_json_str(v, "name");

		if (!n || strcmp(n, disk))
			continue;
		if (wk_json_str(v, "persistentVolumeClaim.claimName"))
			return wk_json_str(v, "persistentVolumeClaim.claimName");
		return wk_json_str(v, "dataVolume.name");
	}
	return NULL;
}

static int64_t claim_bytes(const cJSON *claims, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, claims)
	{
		const char *n = wk_json_str(c, "metadata.name"),
			   *q = wk_json_str(c, "status.capacity.storage");
		int64_t b;
		char err[64];

		if (!n || strcmp(n, name))
			continue;
		if (!q)
			q = wk_json_str(c, "spec.resources.requests.storage");
		return q && wk_quantity_parse(q, &b, err, sizeof(err)) == 0 ? b : -1;
	}
	return -1;
}

int cl_check_sizes(const struct cl_job_spec *j, const cJSON *vm, const cJSON *claims, char *why,
		   size_t why_size)
{
	size_t i, k;

	why[0] = 0;
	for (i = 0; i < j->nsizes; i++) {
		const char *claim = cl_disk_claim(vm, j->size_disk[i]);
		int64_t have = claim ? claim_bytes(claims, claim) : -1;
		bool listed = !j->ndisks;
		char a[32], b[32];

		for (k = 0; k < j->ndisks; k++)
			listed |= !strcmp(j->disks[k], j->size_disk[i]);
		/* a disk the source does not have, or does not copy, is not the clone's to size */
		if (!listed || have <= 0 || j->size_bytes[i] >= have)
			continue;
		wk_quantity_format_bytes(j->size_bytes[i], a, sizeof(a));
		wk_quantity_format_bytes(have, b, sizeof(b));
		snprintf(
		    why, why_size,
		    "disk '%s' asks for %s, smaller than the source's %s (claim '%s'): a clone "
		    "copies the whole disk and a volume cannot shrink; ask for %s or more",
		    j->size_disk[i], a, b, claim, b);
		return -1;
	}
	return 0;
}
