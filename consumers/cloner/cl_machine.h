/* cl_machine.h - the running-clone state machine: from what the cluster shows about one job (its
 * source, temporary snapshot, clone and target VM) to the next action, the reported phase,
 * progress, reason and message. Pure: no I/O, so every transition is unit-tested; the caller
 * (cl_service.c, through cl_actions.c) observes, acts, and calls it again. Also the observers that
 * read KubeVirt objects into struct cl_observed. All data is caller-owned.
 */
#ifndef CL_MACHINE_H
#define CL_MACHINE_H

#include "cl_request.h"

struct cJSON;
struct wk_kubevirt_info;

enum cl_phase {
	CL_PH_PENDING = 0,
	CL_PH_QUEUED,	       /* waiting for a slot under the batch's parallelism */
	CL_PH_STARTING_SOURCE, /* type vm, stopped: started first */
	CL_PH_SNAPSHOTTING,    /* the online VirtualMachineSnapshot is being taken */
	CL_PH_CLONING,	       /* the VirtualMachineClone runs */
	CL_PH_FINALIZING,      /* target VM adjusted and started, temporary snapshot removed */
	CL_PH_SUCCEEDED,
	CL_PH_FAILED,
};
const char *cl_phase_name(enum cl_phase p);
bool cl_phase_final(enum cl_phase p);

enum cl_obj { CL_ABSENT = 0, CL_IN_PROGRESS, CL_READY, CL_FAILED };

/* One disk of a per-volume clone (cl_job_spec.per_volume): a kept volume backed by a claim. */
struct cl_vol {
	char name[64];		  /* the VM's volume (and disk) name */
	char claim[CL_NAME_MAX];  /* the source claim (a DataVolume's claim has its name) */
	bool snapshottable;	  /* vm.status.volumeSnapshotStatuses (absent: not known, true) */
	char why[256];		  /* KubeVirt's reason when it cannot be snapshotted */
	char size[32];		  /* the source claim's requested storage ("" unknown) */
	char sclass[CL_NAME_MAX]; /* the source claim's storage class ("" default) */
	enum cl_obj vs;		  /* our VolumeSnapshot of the claim (source namespace) */
	bool vs_source_running;	  /* its annotation: the source ran when it was taken */
	char vs_msg[256];	  /* status.error.message */
	enum cl_obj dv;		  /* the target's DataVolume (target namespace) */
	char dv_phase[32];
	char dv_msg[256];
};

struct cl_observed {
	int64_t now_ms;
	int64_t phase_since_ms; /* when the job entered its current phase (this process) */
	/* source */
	bool vm_exists;
	bool vmi_exists;
	bool vmi_running;	 /* the VMI's phase is Running */
	bool vm_start_requested; /* runStrategy Always/RerunOnFailure or running: true */
	bool vm_unstartable;	 /* printableStatus says it cannot start (ErrorUnschedulable...) */
	char vm_status[64];	 /* printableStatus */
	bool we_started;	 /* our started-by annotation is on the source VM */
	int others_started;	 /* other jobs' started-by annotations */
	bool storage_ok; /* every volume snapshot-capable (vm.status.volumeSnapshotStatuses) */
	char storage_why[512];
	char vmi_owner[CL_NAME_MAX]; /* type vmi: the VM owning the VMI ("" = none) */
	/* what KubeVirt can do (cl_check_cluster) and whether the disk selection fits the source
	 * (cl_check_disks): a code here fails the job before anything is created */
	char refuse_code[48];
	char refuse_why[512];
	/* temporary snapshot */
	enum cl_obj snap;
	bool snap_unsupported; /* Progressing=False: a volume cannot be snapshotted */
	char snap_msg[512];
	int64_t snap_created_ms;
	int64_t snap_deadline_ms; /* failureDeadline; 0 = none */
	bool ind_online, ind_guest_agent, ind_no_guest_agent, ind_quiesce_timeout;
	bool ind_quiesce_failed; /* 1.6-1.7: the freeze failed; the snapshot is crash-consistent */
	/* whether the copy was taken from a running source, remembered by the caller once the
	 * snapshot is gone (known false: not remembered, e.g. after a restart) */
	bool online_known, was_online;
	/* clone */
	enum cl_obj clone;
	bool clone_pending; /* phase unset and Progressing=False (KubeVirt's "stays pending") */
	char clone_phase[32];
	int64_t clone_phase_since_ms; /* when this process first saw clone_phase */
	char clone_msg[512];
	/* per-volume route: the kept volumes with a claim, from the source VM (or, once the
	 * source is gone, from the target VM) */
	bool vols_known;
	size_t nvols;
	struct cl_vol vols[CL_MAX_DISKS];
	/* target VM */
	char target_uid[64];
	bool target_exists;
	bool target_ours; /* carries our request label, or the clone says it made it */
	bool target_needs_fixup;
	bool target_running;
};

struct cl_timeouts {
	int64_t source_start_ms;   /* a started source must run within this */
	int64_t clone_pending_ms;  /* a clone pending this long has a reason to be reported */
	int64_t target_start_ms;   /* the target VMI must run within this (want_running) */
	int64_t deadline_grace_ms; /* past the snapshot's failureDeadline before we call it */
	int64_t snapshot_ms;	   /* a snapshot without a failureDeadline: our own limit */
	int64_t restore_ms;  /* a clone in RestoreInProgress this long (KubeVirt retries forever) */
	int64_t clone_ms;    /* the whole Cloning phase */
	int64_t finalize_ms; /* fix-up and snapshot removal (Finalizing) */
};

enum cl_action {
	CL_ACT_WAIT = 0,
	CL_ACT_START_SOURCE,	/* runStrategy Always + our started-by annotation */
	CL_ACT_CREATE_SNAPSHOT, /* the online VirtualMachineSnapshot */
	CL_ACT_RELEASE_SOURCE,	/* drop our annotation; stop it when no other job holds it */
	CL_ACT_CREATE_CLONE,	/* VirtualMachineClone from the snapshot into <name>-vm */
	CL_ACT_FIXUP_TARGET,	/* labels, owner, run strategy, unlisted disks removed */
	CL_ACT_DELETE_SNAPSHOT, /* the temporary snapshot(s), once the clone is done */
	/* the per-volume route */
	CL_ACT_CREATE_VOLUME_SNAPSHOTS, /* a VolumeSnapshot of each kept claim still without one */
	CL_ACT_CREATE_TARGET,		/* the target VM, halted, on the DataVolumes to come */
	CL_ACT_CREATE_DATAVOLUMES,	/* a DataVolume cloned from each VolumeSnapshot */
	CL_ACT_SUCCEED,
	CL_ACT_FAIL, /* clean up everything of ours, then report Failed */
};
const char *cl_action_name(enum cl_action a);

struct cl_decision {
	enum cl_action action;
	enum cl_phase phase;
	int progress; /* 0..100 */
	char reason[48];
	char message[768];
};
/* Fill a decision: action, phase, progress, reason and a formatted message (the state machine
 * and the per-volume route, cl_volumes.c). */
void cl_decision_set(struct cl_decision *d, enum cl_action a, enum cl_phase p, int progress,
		     const char *reason, const char *fmt, ...) WK_PRINTF(6, 7);


/* The next step for job j given what was observed (j->per_volume: cl_decide_volumes). */
void cl_decide(const struct cl_job_spec *j, const struct cl_observed *o,
	       const struct cl_timeouts *t, struct cl_decision *d);
/* The per-volume route (cl_volumes.c). */
void cl_decide_volumes(const struct cl_job_spec *j, const struct cl_observed *o,
		       const struct cl_timeouts *t, struct cl_decision *d);

/* Whether this cluster's KubeVirt can run the clone at all, before anything is created. kv_read:
 * the KubeVirt CR was read (kv may be NULL otherwise); clone_api: clone.kubevirt.io/v1beta1 is
 * served (discovery); selective: a disk selection is asked for. 0, or -1 with a reason code
 * (SnapshotGateDisabled, CloneAPIMissing, SelectiveCloneUnsupported) and a sentence naming the
 * gate, the API or the version. */
int cl_check_cluster(const struct wk_kubevirt_info *kv, bool kv_read, bool clone_api,
		     bool selective, char *code, size_t code_size, char *why, size_t why_size);
/* Whether a disk selection fits the source VM: every listed name is a disk of
 * spec.template.spec.domain.devices.disks, and the boot disk (the lowest bootOrder, else the
 * first disk) is kept. 0, or -1 with the sentence why (reason InvalidDiskSelection). */
int cl_check_disks(const char (*disks)[64], size_t ndisks, const struct cJSON *vm, char *why,
		   size_t why_size);

/* Whether the target Wukong's disk sizes can be honoured: a clone copies each disk whole, so a
 * disk the target asks smaller than the source's claim cannot be. claims: array of the source's
 * PersistentVolumeClaims as read (status.capacity.storage, else spec.resources.requests.storage);
 * the source VM maps disk names to claims (volumes[].persistentVolumeClaim.claimName or
 * dataVolume.name). 0, or -1 with the sentence why (reason DiskSmallerThanSource). */
int cl_check_sizes(const struct cl_job_spec *j, const struct cJSON *vm, const struct cJSON *claims,
		   char *why, size_t why_size);
/* The claim name behind the source VM's disk (NULL if it has no claim). */
const char *cl_disk_claim(const struct cJSON *vm, const char *disk);

/* Consistency from the snapshot's indications: "filesystem-consistent", "crash-consistent" or
 * NULL (not known yet); reason is the condition reason (GuestAgent, NoGuestAgent,
 * QuiesceFailed, QuiesceTimeout, Offline). */
const char *cl_consistency(const struct cl_observed *o, const char **reason);
/* The same for the per-volume route: the VolumeSnapshots of a running source are taken without a
 * filesystem freeze ("crash-consistent", reason NoFreeze), of a stopped one at rest ("Offline");
 * NULL until a snapshot exists. */
const char *cl_volumes_consistency(const struct cl_observed *o, const char **reason);

/* ---- observers (KubeVirt objects -> struct cl_observed) ---- */
void cl_observe_vm(const struct cJSON *vm, const char *started_key, struct cl_observed *o);
void cl_observe_vmi(const struct cJSON *vmi, struct cl_observed *o);
void cl_observe_snapshot(const struct cJSON *snap, struct cl_observed *o);
void cl_observe_clone(const struct cJSON *clone, struct cl_observed *o);
/* Target VM: ours when labelled with request_id; needs a fix-up when our labels are missing, the
 * run strategy differs from want_running, or it still has a volume for an unlisted disk. */
void cl_observe_target(const struct cJSON *vm, const struct cJSON *vmi, const struct cl_job_spec *j,
		       bool clone_made_it, struct cl_observed *o);
/* Per-volume route: the kept claim-backed volumes of the source VM into o->vols (names, claims,
 * snapshottable from status.volumeSnapshotStatuses); from_target: vm is the target VM we made
 * (the source is gone), whose volumes name our DataVolumes. */
void cl_observe_vols(const struct cJSON *vm, const struct cl_job_spec *j, bool from_target,
		     struct cl_observed *o);
void cl_observe_volume_snapshot(const struct cJSON *vs, struct cl_vol *v);
void cl_observe_datavolume(const struct cJSON *dv, struct cl_vol *v);
/* The objects the per-volume route creates (caller frees): the VolumeSnapshot of v in the
 * source namespace, the target VM (halted; kept disks on our DataVolumes, new MACs, the given
 * SMBIOS serial, labels and owner naming the Wukong), the DataVolume of v owned by the target VM
 * (target_uid) and cloned from its VolumeSnapshot. */
struct cJSON *cl_volume_snapshot_obj(const struct cl_job_spec *j, const struct cl_vol *v,
				     bool source_running);
struct cJSON *cl_target_vm_obj(const struct cl_job_spec *j, const struct cJSON *source_vm,
			       const char *serial);
struct cJSON *cl_datavolume_obj(const struct cl_job_spec *j, const struct cl_vol *v,
				const char *target_uid);

/* Parse a Go duration ("5m0s", "90s", "1h30m", "0") to ms; -1 if malformed. */
int64_t cl_duration_ms(const char *s);

#endif
