/* cl_request.h - what a running-clone request is (a Wukong's spec.cloneSource, or one target of a
 * Kafka `clone` submission), how it is validated, and the deterministic names derived from it.
 * Pure functions, no I/O; all structs are caller-owned plain data.
 */
#ifndef CL_REQUEST_H
#define CL_REQUEST_H

#include "wk_common.h"
#include "wk_types.h"

struct cJSON;

#define CL_SUBMISSION_MAX (64 * 1024) /* bytes of one clone submission */
#define CL_ID_MAX 64		      /* request ids are DNS-1123 labels */
#define CL_NAME_MAX 254		      /* DNS-1123 subdomain + NUL */
#define CL_MAX_DISKS 32
#define CL_MAX_TARGETS 100
#define CL_MAX_PARALLELISM 32
#define CL_NOTE_MAX 1024

#define CL_LABEL_MANAGED "app.kubernetes.io/managed-by"
#define CL_MANAGED_VALUE "wukong-cloner"
/* Also WK_LABEL_REQUEST_ID, WK_LABEL_WUKONG; on Wukongs created for a Kafka batch the submission's
 * id and its parallelism: WK_ANN_CLONE_REQUEST, WK_ANN_CLONE_PARALLELISM (wk_types.h). */
/* On a source VM the cloner started: one key per job, so a batch of clones of one stopped VM
 * stops it only after the last snapshot. */
#define CL_ANN_STARTED_PREFIX "started-by.clone.vm.novasphere.dev/"

enum cl_source_type { CL_SRC_VM = 0, CL_SRC_VMI };

/* One clone job: one target Wukong. */
struct cl_job_spec {
	char id[CL_ID_MAX]; /* request id (spec-<uid8>, or the submission's requestId) */
	char cluster[64];
	char ns[64];		     /* the target Wukong's namespace */
	char name[CL_NAME_MAX];	     /* the target Wukong */
	char uid[64];		     /* the target Wukong's uid ("" until known) */
	char target_vm[CL_NAME_MAX]; /* <name>-vm */
	enum cl_source_type type;
	char source_name[CL_NAME_MAX]; /* vmName or vmiName as given */
	char source_ns[64];
	bool keep_snapshot;
	bool want_running;
	bool offline;	   /* cloneType offline: the source must be stopped and stays so */
	bool start_source; /* cloneSource.startSource: start a stopped source for an online copy */
	/* The route: a VirtualMachineSnapshot + VirtualMachineClone (same namespace, every disk),
	 * or per volume a VolumeSnapshot + a DataVolume cloned from it into the target namespace (a
	 * disk selection, or another namespace): see docs/cloner.md. */
	bool per_volume;
	size_t ndisks; /* 0 = every disk */
	char disks[CL_MAX_DISKS][64];
	int parallelism;  /* batch limit; 0 = none */
	bool from_kafka;  /* the Wukong was created for a submission */
	char invalid[32]; /* a reason code when the request cannot be done as asked */
	char invalid_msg[512];
};

/* Validation verdict of a submission (the dead letter's x-dlt-reason + human text). */
struct cl_verdict {
	char code[32];
	char message[512];
};

/* Read a Wukong (a Kubernetes object or the watcher's event turned into one). Returns 1 when it
 * asks for a clone (spec.cloneSource present), 0 when it does not, -1 when it is not a usable
 * Wukong. A clone it asks for that cannot be done (cloneType full/linked, missing vmName, ...)
 * comes back with out->invalid set: the job fails with that reason. */
int cl_job_from_wukong(const struct cJSON *wk, const char *cluster, struct cl_job_spec *out);

/* The Kafka `clone` submission (schemas/request-clone.v1.json). */
struct cl_submission {
	char id[CL_ID_MAX];
	char cluster[64];
	char ns[64];
	char tenant[64];
	enum cl_source_type type;
	char source_name[CL_NAME_MAX];
	char source_ns[64];
	size_t ntargets;
	struct cl_target {
		char name[CL_NAME_MAX];
		int running; /* -1 unset, 0, 1 */
	} targets[CL_MAX_TARGETS];
	size_t ndisks;
	char disks[CL_MAX_DISKS][64];
	bool keep_snapshot;
	bool offline;	   /* cloneType offline */
	bool start_source; /* startSource */
	int parallelism;   /* default 2 */
	char note[CL_NOTE_MAX];
};
/* Parse and validate (unknown fields refused). 0, or -1 with the verdict. */
int cl_parse_submission(const char *data, size_t len, struct cl_submission *out,
			struct cl_verdict *v);

/* Tenant policy: tenants_list is "cloner.tenants.<tenant>" (comma list of namespaces, '*' suffix =
 * prefix), NULL when the tenant is not configured. */
int cl_tenant_check(const char *tenant, const char *ns, const char *tenants_list,
		    bool require_tenant, bool any_tenants, struct cl_verdict *v);

/* The Wukong object created for one target of a submission: spec copied from base_spec (the
 * source's Wukong spec, may be NULL) minus migration fields, cloneSource from the submission,
 * annotations naming the request. Caller frees. */
struct cJSON *cl_wukong_for_target(const struct cl_submission *s, size_t i,
				   const struct cJSON *base_spec, const struct cJSON *source_vm);

/* "<wukong, at most 40>-clone-<10 hex of sha256(cluster/ns/name/id)>": the name of the
 * temporary VirtualMachineSnapshot and of the VirtualMachineClone (different kinds). */
void cl_object_name(const struct cl_job_spec *j, char *out, size_t out_size);
/* The annotation key marking a source VM started for this job. */
void cl_started_key(const struct cl_job_spec *j, char *out, size_t out_size);
/* "spec-<first 8 of the uid without dashes>". */
void cl_spec_request_id(const char *uid, char *out, size_t out_size);
/* A deterministic SMBIOS serial (UUID-shaped) for the clone of this job. */
void cl_smbios_serial(const struct cl_job_spec *j, char *out, size_t out_size);
bool cl_job_wants_disk(const struct cl_job_spec *j, const char *disk);
/* The per-volume route's objects for volume vol: "<cl_object_name>-<vol>", the VolumeSnapshot in
 * the source namespace and the DataVolume (and so its claim) in the target namespace. */
void cl_volume_object_name(const struct cl_job_spec *j, const char *vol, char *out,
			   size_t out_size);

#endif
