/* mig_request.h - what a migration request is, where it comes from (a Wukong's spec.migration or a
 * Kafka submission), how it is validated, and the deterministic ids and object names derived
 * from it. Pure functions: no I/O. A struct mig_request is caller-owned (plain data, fixed-size
 * strings); parse results that hold cJSON say so.
 */
#ifndef MIG_REQUEST_H
#define MIG_REQUEST_H

#include "wk_common.h"
#include "wk_types.h"

struct cJSON;

/* Caps of a submission: the whole value, and each free-text field. */
#define MIG_SUBMISSION_MAX (64 * 1024)
#define MIG_ID_MAX 64	  /* request ids are DNS-1123 labels: <= 63 */
#define MIG_NAME_MAX 254  /* DNS-1123 subdomain: <= 253 */
#define MIG_NOTE_MAX 1024 /* "reason" free text on a submission */

/* Labels and annotations on every object the migrator creates (and the WK_LABEL_* of wk_types.h).
 */
#define MIG_LABEL_MANAGED "app.kubernetes.io/managed-by"
#define MIG_MANAGED_VALUE "wukong-migrator"

enum mig_source {
	MIG_SRC_SPEC = 0, /* Wukong spec.migration */
	MIG_SRC_KAFKA,	  /* wukong.requests[.<cluster>] submission */
};

enum mig_tristate { MIG_UNSET = 0, MIG_FALSE, MIG_TRUE };

/* Per-migration options; KubeVirt takes them only per MigrationPolicy or cluster-wide. */
struct mig_options {
	enum mig_tristate allow_auto_converge;
	enum mig_tristate allow_post_copy;
	enum mig_tristate allow_workload_disruption;
	enum mig_tristate cold; /* stop-and-start allowed when live is impossible (mig_cold.c); not
				 * a MigrationPolicy option, so mig_options_any() ignores it */
	int64_t completion_timeout_per_gib; /* seconds; 0 = unset */
	int64_t bandwidth;		    /* bytes/s; -1 = unset, 0 = unlimited */
	char bandwidth_text[32];	    /* as given ("64Mi"), for the policy */
};

struct mig_request {
	char id[MIG_ID_MAX];
	enum mig_source source;
	char cluster[64];
	char ns[64];
	char name[MIG_NAME_MAX]; /* the Wukong */
	char vm[MIG_NAME_MAX];	 /* its VirtualMachine / VMI (status.vmName, else <name>-vm) */
	char uid[64];		 /* the Wukong's uid when known */
	int64_t generation;	 /* spec source: the generation the request was taken from */
	char spec_hash[17];	 /* spec source: hash of spec.migration (16 hex) */
	char tenant[64];
	char target_node[MIG_NAME_MAX]; /* "" = the scheduler picks */
	char note[MIG_NOTE_MAX];
	struct mig_options opt;
	int64_t received_ms; /* Kafka message timestamp: orders the queue across restarts */
};

/* The verb of a submission, from ce_type WK_CE_REQUEST_PREFIX "<verb>.v1". */
enum mig_verb {
	MIG_VERB_UNKNOWN = 0,
	MIG_VERB_MIGRATE,
	MIG_VERB_CANCEL,
	MIG_VERB_OTHER, /* drain, clone: someone else's (skipped, not dead-lettered) */
};
enum mig_verb mig_verb_from_type(const char *ce_type);

struct mig_cancel {
	char id[MIG_ID_MAX];
	char cluster[64];
	char ns[64];
	char name[MIG_NAME_MAX];
	char tenant[64];
	char target_request[MIG_ID_MAX]; /* "" = whatever is active for the Wukong */
};

/* Validation outcome of a submission: a machine-readable reason code (the DLQ's x-dlt-reason)
 * and a human message. */
struct mig_verdict {
	char code[32];	   /* "MalformedRequest", "SchemaViolation", "InvalidName", "RequestTooLarge", "Forbidden" */
	char message[512]; /* "field 'namespace': invalid name '../../x': ..." */
};

/* Parse and validate a migrate / cancel submission body (JSON, at most MIG_SUBMISSION_MAX
 * bytes). 0, or -1 with the verdict filled. Unknown fields are refused (schema). */
int mig_parse_migrate(const char *data, size_t len, struct mig_request *out, struct mig_verdict *v);
int mig_parse_cancel(const char *data, size_t len, struct mig_cancel *out, struct mig_verdict *v);

/* Read options from a JSON object with the spec.migration / submission field names
 * (allowAutoConverge, allowPostCopy, allowWorkloadDisruption, completionTimeoutPerGiB,
 * bandwidthPerMigration); unknown keys are refused when strict. */
int mig_options_parse(const struct cJSON *obj, bool strict, struct mig_options *out,
		      struct mig_verdict *v);
bool mig_options_any(const struct mig_options *o);
void mig_options_init(struct mig_options *o);

/* Tenant policy: "migrator.tenants.<tenant>" = comma list of namespaces (core/wk_tenant.h), the
 * refusal as a "Forbidden" verdict. require_tenant: a submission without a tenant is refused.
 * tenants_list is the configured namespace list of the submission's tenant (NULL = tenant not
 * configured). */
int mig_tenant_check(const char *tenant, const char *ns, const char *tenants_list,
		     bool require_tenant, bool any_tenants, struct mig_verdict *v);

/* ---- spec.migration ---- */

/* What a Wukong event body says about spec.migration. */
struct mig_spec_view {
	bool present;  /* spec.migration is a non-empty object */
	char hash[17]; /* of its canonical JSON */
	int64_t generation;
	char uid[64];
	char status_request[MIG_ID_MAX]; /* status.migrationStatus.requestId ("" if none) */
	char status_phase[32];
	/* The generation at which the migrator saw spec.migration removed, from the Wukong's
	 * condition MigrationRequested=False (reason SpecMigrationRemoved, observedGeneration);
	 * 0 if none. A spec request older than it no longer counts as "handled last". */
	int64_t removed_generation;
	/* condition MigrationRequestWaiting is True */
	bool waiting_shown;
};
/* -1 when the object is not a usable Wukong (missing metadata). */
int mig_spec_view(const struct cJSON *wukong, struct mig_spec_view *out);
/* Build the request a spec.migration stands for (id derived from uid, generation, hash). -1 with
 * the verdict when the spec is invalid (e.g. targetNode not a valid name). */
int mig_request_from_spec(const struct cJSON *wukong, const char *cluster, struct mig_request *out,
			  struct mig_verdict *v);

/* "spec-<uid8>-g<generation>-<hash8>": the id of a spec-sourced request. */
void mig_spec_request_id(const char *uid, int64_t generation, const char *hash, char *out,
			 size_t out_size);
/* Parse such an id back: 0 and the parts, -1 if it is not a spec id. */
int mig_spec_request_parse(const char *id, char uid8[9], int64_t *generation, char hash8[9]);

/* Is a new spec-sourced request due? Given the event's view and the last spec request known for
 * this Wukong (id, "" if none): returns true when spec.migration is present and its hash differs
 * from the last one's (or the last one is unknown) and the event is not older than it. */
bool mig_spec_is_new(const struct mig_spec_view *view, const char *last_id);

/* The conditions the migrator keeps about spec.migration (docs/migrator.md). */
#define MIG_COND_REQUESTED "MigrationRequested"
#define MIG_COND_WAITING "MigrationRequestWaiting"
#define MIG_REASON_REMOVED "SpecMigrationRemoved"
/* The migrator's memory of a removal: "removed-g<generation>" (mig_spec_removed_marker). */
void mig_spec_removed_marker(int64_t generation, char *out, size_t out_size);
/* Its generation, 0 if s is not such a marker. */
int64_t mig_spec_removed_parse(const char *s);
/* Is a new spec-sourced request due? Declarative: spec.migration present, and neither what the
 * migrator remembers (mem: a request id, a removal marker, or NULL) nor the status's request is
 * this spec.migration, where a request older than a removal of spec.migration (remembered or
 * on the status) does not count, and the event is newer than that removal. */
bool mig_spec_due(const struct mig_spec_view *view, const char *mem);
/* Since when (wall-clock ms) request id has been waiting for its VM, as the Wukong's status
 * says: the lastTransitionTime of MigrationRequestWaiting=True when its message names the
 * request ('<id>'); 0 if the status says nothing of it. Survives a restart of the migrator. */
int64_t mig_spec_wait_since(const struct cJSON *wukong, const char *id);

/* ---- derived names ---- */

/* VMIM and MigrationPolicy name: "wk-<id, at most 40>-<10 hex of sha256(cluster/ns/name/id)>".
 * Deterministic, so a retry after a crash finds the object instead of creating a second one. */
void mig_object_name(const struct mig_request *r, char *out, size_t out_size);
/* First n hex digits (n <= 64) of sha256(data). */
void mig_sha256_hex(const void *data, size_t len, size_t n, char *out);
/* Canonical JSON (object keys sorted, recursively), caller frees. */
char *mig_canonical_json(const struct cJSON *v);
/* The VM name of a Wukong: status.vmName, else "<name>-vm". */
void mig_vm_name(const struct cJSON *wukong, char *out, size_t out_size);
/* The Wukong in a Wukong list ({"items": [...]}) whose VM is ns/vm, or NULL. */
const struct cJSON *mig_wukong_of_vm(const struct cJSON *wukongs, const char *ns, const char *vm);

/* The request as a compact JSON annotation (and back), so that a relist after a crash can
 * rebuild the request from the object that carries it. */
char *mig_request_to_json(const struct mig_request *r);
int mig_request_from_json(const char *json, struct mig_request *out);

const char *mig_source_name(enum mig_source s);

#endif
