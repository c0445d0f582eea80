/* wt_event.h - the watcher's kinds and the wukong.events CloudEvent built from one Kubernetes
 * object: message key, ce_type, ce_subject, deterministic ce_id, JSON body and its fingerprint.
 *
 * A struct wt_event is caller-owned (wt_event_release frees what the builder allocated); the kind
 * table is static. Nothing here talks to Kafka or the API: these are pure functions of the object,
 * the cluster id and the clock value passed in, so they are unit-tested directly.
 */
#ifndef WT_EVENT_H
#define WT_EVENT_H

#include "wk_common.h"
#include "wk_k8s.h"

struct cJSON;

enum wt_kind_id {
	WT_WUKONG,
	WT_VM,
	WT_VMI,
	WT_VMIM,
	WT_SNAPSHOT,
	WT_CLONE,
	WT_MIGRATIONPOLICY,
	WT_NODE,
	WT_NODEMETRICS,
	WT_DATAVOLUME, /* CDI: import progress of a Wukong's disks (wukong-provisioner) */
	WT_NKINDS,
};

struct wt_kind {
	enum wt_kind_id id;
	const char *name;	 /* "virtualmachine": ce_type part and metric label */
	const char *kind;	 /* "VirtualMachine": the object's kind and ce_subject prefix */
	const char *api_version; /* "kubevirt.io/v1" */
	struct wk_k8s_resource res;
	bool polled; /* listed every interval instead of watched (NodeMetrics) */
};

extern const struct wt_kind wt_kinds[WT_NKINDS];

/* By lowercase name ("node"), or by apiVersion + kind as found in an object. NULL if unknown. The
 * group must match; any version of the group is accepted (a watch of v1 may be served another
 * stored version's apiVersion by a conversion webhook, the kind is what matters). */
const struct wt_kind *wt_kind_by_name(const char *name);
const struct wt_kind *wt_kind_of_object(const char *api_version, const char *kind);

enum wt_change {
	WT_ADDED,
	WT_MODIFIED,
	WT_DELETED,
};
const char *wt_change_name(enum wt_change c);

/* Identity of an object, pointers into the cJSON object (or static strings) valid while it lives.
 */
struct wt_ident {
	const char *ns; /* NULL for cluster-scoped kinds */
	const char *name;
	const char *uid;    /* metadata.uid; for NodeMetrics (no uid) the name, or "nm-<32 hex of
			     * sha256(name)>" when the name has a dot (ce_id splits on dots) */
	const char *rv;	    /* metadata.resourceVersion; "" when absent (NodeMetrics) */
	const char *vm;	    /* the VM name of the key, NULL for node-keyed objects */
	const char *key_ns; /* the key's namespace: ns, or a MigrationPolicy's VM namespace label */
	char id[320];	    /* "<ns>/<name>" or "<name>": the fingerprint table's key */
	char vm_buf[260];   /* a Wukong's derived "<name>-vm" */
	char uid_buf[40];   /* NodeMetrics: the stand-in uid of a dotted name */
};

/* Extract and validate the identity: name a DNS-1123 subdomain, namespace a label (namespaced kinds
 * only), uid present (except NodeMetrics), VM name (when the mapping yields one) a subdomain. -1
 * with the reason otherwise: such an object is counted as malformed and never published. */
int wt_event_ident(const struct wt_kind *k, const struct cJSON *obj, struct wt_ident *out,
		   char *errstr, size_t errstr_size);

/* Cap on a published body, below WK_KAFKA_MAX_MESSAGE (1 MiB) to leave room for the fields added
 * after fingerprinting; past it the body is replaced by the identity with "truncated":true. */
#define WT_BODY_MAX (1000u * 1000u)

struct wt_event {
	char key[600];	   /* "<cluster>/<ns>/<vm>", "<cluster>/node/<name>", "<cluster>/cluster" */
	char type[160];	   /* dev.novasphere.wukong.<kind>.<change> */
	char subject[400]; /* <Kind>/<ns>/<name> or <Kind>/<name> */
	char id[640];	   /* <cluster>.<uid>.<rv>.<change> */
	char time[40];	   /* RFC 3339 MicroTime */
	char uid[128];	   /* the ce_wkuid extension (fingerprint rebuild) */
	char fp_hex[17];   /* the ce_wkfp extension: the fingerprint in hex */
	uint64_t fp;	   /* fingerprint of the body (0 for deletions) */
	bool truncated;	   /* body replaced by the identity: the object was over WT_BODY_MAX */
	char *body;	   /* JSON, malloc'ed */
	size_t body_len;
	size_t prefix_len; /* body bytes before ',"change":' (what the fingerprint covers) */
	enum wt_change change;
	/* identity for the fingerprint table */
	char obj_id[320];
	char rv[128];
	char vmref[300];
};

/* Turn a built event into another change (same object and body content): ce_type, ce_id and the
 * body's "change" field. Used after the fingerprint decided whether it is an add or a modify. */
void wt_event_set_change(struct wt_event *ev, enum wt_change change);

void wt_event_release(struct wt_event *ev);

/* Build the event for obj (ADDED/MODIFIED/DELETED). now_us is the observation time (ce_time unless
 * a deletion carries metadata.deletionTimestamp). */
int wt_event_build(const struct wt_kind *k, const char *cluster, const struct cJSON *obj,
		   enum wt_change change, int64_t now_us, struct wt_event *ev, char *errstr,
		   size_t errstr_size);

/* A deletion seen only as absence from a relist (or from the rebuilt set after a restart): the
 * object itself is gone, so the body carries its identity and "observedBy":"relist". vmref is
 * "<key namespace>/<vm>" as wt_event_vmref() made it, or "" for node-keyed objects. */
int wt_event_build_gone(const struct wt_kind *k, const char *cluster, const char *id,
			const char *uid, const char *rv, const char *vmref, int64_t now_us,
			struct wt_event *ev, char *errstr, size_t errstr_size);
/* "<key_ns>/<vm>" or "" (what the fingerprint table keeps to rebuild the key). */
void wt_event_vmref(const struct wt_ident *id, char *out, size_t out_size);

/* Fingerprint of an object as it would be published: FNV-1a 64 of the body without "change" and
 * "resourceVersion" (a no-op update that only bumps resourceVersion or managedFields is no real
 * change). Never 0 (0 means "unknown" in the fingerprint table). */
uint64_t wt_fingerprint(const char *data, size_t len);

/* "<cluster>/<ns>/<vm>" etc. for an identity. */
void wt_event_key(const struct wt_kind *k, const char *cluster, const struct wt_ident *id,
		  char *out, size_t out_size);

#endif
