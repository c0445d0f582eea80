/* sim_model_int.h - state shared by the model's files (sim_model*.c): the index of nodes, VMs and
 * migrations kept beside the store, the helpers of sim_model_util.c, and what each per-kind
 * controller offers the others. Private to tools/sim; the model owns all of it.
 *
 * Locking: m->lock guards everything here; the controller thread and the control/metrics calls
 * take it. Store observers never take it: they only queue the change (m->qlock), so that a store
 * write made while holding m->lock cannot deadlock.
 */
#ifndef SIM_MODEL_INT_H
#define SIM_MODEL_INT_H

#include "sim_kv.h"
#include "sim_scenario.h"
#include "sim_store.h"
#include "sim_xfer.h"
#include "wk_buf.h"
#include "wk_json.h"
#include "wk_map.h"

#include <pthread.h>

#define GIB_D (1024.0 * 1024.0 * 1024.0)
/* Events the model keeps; older ones are deleted (kube-apiserver's event TTL, by count). */
#define SIM_MODEL_EVENTS 4096
/* Why a volume cannot be snapshotted (KubeVirt's message; StorageClass, volume). */
#define MSG_NO_CLASS                                                                               \
	"No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [%s] "  \
	"[%s]"

/* virt-handler's node-labeller (staging/src/kubevirt.io/api/core/v1/types.go) */
#define LABEL_HOST_MODEL "host-model-cpu.node.kubevirt.io/"
#define LABEL_HOST_FEATURE "host-model-required-features.node.kubevirt.io/"
#define LABEL_CPU_MODEL "cpu-model.node.kubevirt.io/"
#define LABEL_CPU_FEATURE "cpu-feature.node.kubevirt.io/"
#define LABEL_MIG_MODEL "cpu-model-migration.node.kubevirt.io/"
#define SIM_DEFAULT_CPU_MODEL "Cascadelake-Server"

struct mnode {
	char *name;
	cJSON *labels; /* copy of metadata.labels */
	bool lbl_base; /* kubevirt.io/schedulable=true and kubernetes.io/arch=amd64 (cached) */
	cJSON *taints; /* copy of spec.taints (array) or NULL */
	int64_t cpu_milli, memory;    /* allocatable */
	int64_t used_cpu, used_mem;   /* requests of launcher pods placed here (and targets) */
	int64_t guest_cpu;	      /* vCPUs (milli) of the VMIs placed here: NodeMetrics */
	int64_t other_cpu, other_mem; /* requests of the pods that are not VMs (scenario) */
	double link;		      /* NIC bytes/s */
	int nic_users;		      /* running migrations using this NIC (either side) */
	int outbound; /* active outbound migrations (parallelOutboundMigrationsPerNode) */
	bool unschedulable;
	bool failed;	       /* the control API stopped it */
	bool not_ready;	       /* Ready=Unknown reported */
	bool unresponsive;     /* virt-handler's heartbeat is older than 5 min (node controller) */
	bool pods_terminating; /* launcher pods evicted after the unreachable toleration */
	double failed_at, not_ready_at;
	int mem_pct, cpu_pct; /* pressure override, -1 = computed */
	bool mem_pressure;
	bool metrics_dirty;
	int nvmis; /* VMIs placed here */
};

enum vmi_phase { VMI_NONE, VMI_PENDING, VMI_SCHEDULING, VMI_SCHEDULED, VMI_RUNNING, VMI_FAILED };

struct mvm {
	char *ns, *name; /* the VirtualMachine (= the VMI's name) */
	char *key;
	int64_t cpu, memory;	  /* vCPUs, guest memory */
	int64_t req_cpu, req_mem; /* the virt-launcher pod's requests (milli, bytes), as rendered
				   * when the VMI was created */
	cJSON *tolerations;	  /* the VMI's spec.tolerations, or NULL */
	cJSON *affinity_terms;	  /* required nodeAffinity nodeSelectorTerms, or NULL */
	char cpu_model[64];	  /* spec.domain.cpu.model; "host-model" when unset (mutator) */
	cJSON *cpu_sel;		  /* host-model migration selectors of the current pod, or NULL */
	double dirty_rate;
	bool running; /* desired: the VM's run strategy says run */
	bool guest_agent;
	bool migratable;
	char reason[48], message[256]; /* LiveMigratable=False reason and message */
	char sched_msg[600];	       /* why the VMI's pod cannot be scheduled */
	const char *fail_reason;       /* status.reason of a Failed VMI (static), or NULL */
	bool migratable_known;
	enum vmi_phase phase;
	double phase_at;  /* sim time of the next VMI phase step */
	double failed_at; /* VMI failed: when the VM controller restarts it */
	int node;	  /* index into m->nodes, -1 = none */
	int pin_node;	  /* a bound local volume's node (-1 none): VolumeBinding */
	struct mmig *mig; /* in-flight migration */
	cJSON *node_selector;
	struct mvm *tnext, *tprev; /* list of VMs with a pending timer (phase steps) */
	bool in_timers;
};

enum mig_phase {
	MIG_NEW,
	MIG_PENDING,
	MIG_SCHEDULING,
	MIG_SCHEDULED,
	MIG_PREPARING,
	MIG_TARGET_READY,
	MIG_RUNNING,
	MIG_SUCCEEDED,
	MIG_FAILED,
};

struct mmig {
	char *ns, *name, *key, *uid, *vmi;
	struct mvm *vm; /* NULL once the VM is gone */
	enum mig_phase phase;
	double phase_at;      /* sim time the current phase may advance */
	double sched_since;   /* when target scheduling started */
	double sched_timeout; /* unschedulable target pod timeout (300 s) */
	bool sched_event_sent;
	uint64_t seq; /* arrival order */
	cJSON *added_sel;
	cJSON *host_sel; /* host-model CPU selectors of the target pod (createTargetPod) */
	int src, dst;
	bool abort_requested; /* the VMI stopped, failed or went away */
	bool cancel;	      /* the VMIM was deleted (virtctl migrate-cancel) */
	bool cancel_cond;     /* migrationAbortRequested condition written */
	bool abort_signalled; /* vmi migrationState.abortRequested written */
	int abort_stage;      /* 0, 1 signalled, 2 virt-handler aborting */
	bool finalizing;      /* phase final written; migrationState + finalizer next */
	cJSON *final_state;   /* the VMI's final migrationState to copy, or NULL */
	bool abort_failed;    /* abort came too late (post-copy): abortStatus Failed */
	bool gone;	      /* the VMIM object no longer exists */
	bool xfer_started;
	bool mode_written;
	struct sim_xfer x;
	char policy[256];
	cJSON *config; /* effective migrationConfiguration */
	int64_t bw_cap;
	char target_pod[64];
	struct mmig *next, *prev;
};

struct kvcfg {
	int64_t parallel_cluster, parallel_node, bandwidth, completion_per_gib, progress_timeout;
	bool auto_converge, post_copy;
	bool has_disruption, disruption;
	double cpu_ratio;      /* developerConfiguration.cpuAllocationRatio (10) */
	double overhead_ratio; /* additionalGuestMemoryOverheadRatio (1) */
};

struct fault {
	char verb[16], resource[64];
	double error_rate;
	int code;
	int latency_ms;
};

struct qitem {
	const struct sim_resource *res;
	char type[12];
	char *ns, *name;
	struct qitem *next;
};

struct sim_model {
	struct sim_store *st;
	struct sim_scenario *sc;
	char *scenario_name;
	double time_factor;
	int kv_minor; /* KubeVirt 1.<kv_minor>: 5, 6 or 9 (sim_kv.h has the per-version names) */
	uint64_t seed, rng;
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;

	double now;	  /* simulated seconds since start */
	int64_t epoch_ms; /* wall clock at start: object timestamps are epoch + now */

	struct mnode *nodes;
	size_t nnodes;
	struct wk_map node_idx;	 /* name -> index + 1 (as uintptr) */
	struct wk_map vms;	 /* ns/name -> struct mvm */
	struct wk_map migs;	 /* ns/name -> struct mmig */
	struct wk_map finalized; /* ns/vmi -> struct mig_gc: finalized VMIMs kept per VMI */
	struct mmig *mig_head, *mig_tail; /* non-final migrations, arrival order */
	size_t mig_active;		  /* Scheduling .. Running (parallelMigrationsPerCluster) */
	uint64_t mig_seq;
	size_t mig_succeeded, mig_failed;
	struct mvm *timers; /* VMs waiting for a phase step */
	struct kvcfg kv;
	cJSON *policies; /* array of MigrationPolicy objects */
	bool policies_dirty, kv_dirty;
	struct snapjob *snaps; /* snapshots, restores and clones in progress */
	struct dvjob *dvjobs;  /* DataVolumes being populated (sim_model_dv.c) */
	struct vsjob *vsjobs;  /* VolumeSnapshots being cut (sim_model_vsnap.c) */

	/* observer queue */
	pthread_mutex_t qlock;
	struct qitem *qhead, *qtail;
	size_t qlen;

	/* faults (their own lock: consulted on every request) */
	pthread_mutex_t flock;
	struct fault faults[32];
	size_t nfaults;
	uint64_t frng;
	int64_t drop_until_ms;

	const struct sim_resource *r_ns, *r_node, *r_pvc, *r_event, *r_nm, *r_vm, *r_vmi, *r_vmim,
	    *r_kv, *r_mp, *r_snap, *r_snapc, *r_restore, *r_clone, *r_wk, *r_sc, *r_pv, *r_vsc,
	    *r_dv, *r_vs;
	double pvc_resync_at; /* next retry of Pending claims */
	uint64_t event_seq;
	char *events[SIM_MODEL_EVENTS]; /* ring of "ns/name" of the Events the model wrote */
	size_t event_next;

	/* Set by sim_model.c, so that the node controller (which the VM and migration controllers
	 * call) tells them of a failure without calling back up: the control API stopped a node
	 * (its migrations stall: sim_mig_node_failed), a down node's VMIs fail
	 * (sim_vmi_fail_on_node). */
	void (*node_failed)(struct sim_model *m, int node);
	void (*node_vmis_lost)(struct sim_model *m, int node, const char *reason,
			       const char *message);
};

/* sim_model_util.c: calls none of the files below */
uint64_t sim_splitmix(uint64_t *s);   /* the next value of a splitmix64 stream */
double sim_rand(struct sim_model *m); /* [0, 1) from the seeded generator */
void sim_ts(struct sim_model *m, double at, char *out, size_t n); /* sim time -> RFC 3339 */
void sim_event(struct sim_model *m, const struct sim_resource *res, const char *ns,
	       const char *name, const char *uid, const char *type, const char *reason,
	       const char *fmt, ...) WK_PRINTF(8, 9);
/* The same from another component (e.g. "default-scheduler"). */
void sim_event_from(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const char *name, const char *uid, const char *component, const char *type,
		    const char *reason, const char *fmt, ...) WK_PRINTF(9, 10);
extern const struct sim_resource sim_pod_resource; /* core/v1 Pod, for events only */
/* Merge patch (RFC 7386) of patch into the stored object; consumes patch. Conditions arrays keep
 * their lastTransitionTime for entries whose status did not change. 0 or -1 (not found). */
int sim_merge(struct sim_model *m, const struct sim_resource *res, const char *ns, const char *name,
	      cJSON *patch);
int sim_create(struct sim_model *m, const struct sim_resource *res, const char *ns, cJSON *obj);
int sim_delete(struct sim_model *m, const struct sim_resource *res, const char *ns,
	       const char *name);
void sim_remove_finalizer(struct sim_model *m, const struct sim_resource *res, const char *ns,
			  const char *name, const char *finalizer);
cJSON *sim_jobj(cJSON *parent, const char *key); /* get or add an object member */
void sim_jset(cJSON *parent, const char *key, cJSON *val);
void sim_jset_str(cJSON *parent, const char *key, const char *val);
cJSON *sim_cond_new(struct sim_model *m, const char *type, const char *status, const char *reason,
		    const char *message);
/* Clone label/annotation filters (sim_model_snap.c): an unanchored regular expression match,
 * and whether a key survives a filter list. Expressions longer than SIM_FILTER_MAX match
 * nothing. */
#define SIM_FILTER_MAX 1024
bool sim_filter_match(const char *re, const char *key);
bool sim_filter_keep(const cJSON *filters, const char *key);
int64_t sim_jqty(const cJSON *v); /* a quantity as a string or number; -1 when absent or bad */

/* The per-kind controllers. Calls go one way: mig -> vm -> node, mig -> node, snap -> vm, and
 * each of them -> sim_model_util.c; sim_model.c (the dispatcher) calls them all. */

/* sim_model_node.c */
struct mnode *sim_node_by_name(struct sim_model *m, const char *name);
int sim_node_index(struct sim_model *m, const char *name);
void sim_nodes_seed(struct sim_model *m);
/* Add (sign 1) or take away (sign -1) vm's launcher pod on node idx. */
void sim_node_usage(struct sim_model *m, int idx, const struct mvm *vm, int sign);
void sim_node_on_change(struct sim_model *m, const char *name);
void sim_nodes_tick(struct sim_model *m);
void sim_node_write_metrics(struct sim_model *m);
/* Pick a node for vm's launcher pod as kube-scheduler would (node selector: kubevirt.io/
 * schedulable=true, the arch, an explicit CPU model, then extra, then the VMI's own selector
 * winning on collisions; required node affinity; taints vs tolerations; requests against
 * allocatable minus what is placed), not `exclude` (the target pod's anti-affinity); -1 and why
 * (kube-scheduler's message) in msg when none fits. */
int sim_node_pick(struct sim_model *m, const struct mvm *vm, const cJSON *extra, int exclude,
		  char *msg, size_t msg_size);
bool sim_labels_match(const cJSON *selector, const cJSON *labels);
int sim_node_control(struct sim_model *m, const char *method, const char *name, const char *action,
		     const cJSON *body, struct wk_buf *out);

/* sim_model_vm.c */
void sim_vm_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_vmi_deleted(struct sim_model *m, const char *ns, const char *name);
void sim_vms_tick(struct sim_model *m);
struct mvm *sim_vm_find(struct sim_model *m, const char *ns, const char *name);
void sim_vm_seed(struct sim_model *m, const struct sim_sc_vm *v);
/* Free a VM record and what it holds (not its map entry or timer). */
void sim_vm_destroy(struct mvm *vm);
/* Free a migration record and what it holds (not its map entry or list links). */
void sim_mig_destroy(struct mmig *g);
void sim_vm_timer(struct sim_model *m, struct mvm *vm, double at);
void sim_vmi_fail_on_node(struct sim_model *m, int node, const char *reason, const char *message);
/* status.volumeSnapshotStatuses of a VM object: which volumes a snapshot can take. */
cJSON *sim_vm_volume_snapshot_statuses(struct sim_model *m, const cJSON *vm);

/* sim_model_mig.c */
void sim_mig_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_migs_tick(struct sim_model *m, double dt);
void sim_kv_load(struct sim_model *m);
void sim_policies_load(struct sim_model *m);
void sim_mig_node_failed(struct sim_model *m, int node);
void sim_migs_release(struct sim_model *m);
void sim_mig_admit(struct sim_model *m, const char *ns, const cJSON *obj, char *msg,
		   size_t msg_size);
int sim_mig_metrics(struct sim_model *m, struct wk_buf *out);
const char *sim_mig_phase_name(enum mig_phase p);

/* sim_model_storage.c: calls only sim_model_util.c */
void sim_storage_seed(struct sim_model *m);
void sim_storage_tick(struct sim_model *m);
void sim_pvc_create(struct sim_model *m, const char *ns, cJSON *pvc); /* consumes pvc */
void sim_pvc_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
/* Can volumes of class cls be snapshotted (a VolumeSnapshotClass for its driver)? If not, why
 * (KubeVirt's volumeSnapshotStatuses reason, naming volume). */
bool sim_class_snapshottable(struct sim_model *m, const char *cls, const char *volume, char *why,
			     size_t why_size);
int sim_claims_check(struct sim_model *m, const char *ns, const cJSON *spec, int *pin,
		     const char **why);
void sim_claims_bind(struct sim_model *m, const char *ns, const cJSON *spec, int node);

/* sim_model_snap.c */
struct snapjob;
void sim_snap_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_clone_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_restore_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_snaps_tick(struct sim_model *m);
void sim_snaps_release(struct sim_model *m);

/* sim_model_vsnap.c (the CSI snapshot controller; calls sim_model_util.c and
 * sim_class_snapshottable) */
struct vsjob;
void sim_vs_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_vss_tick(struct sim_model *m);
void sim_vss_release(struct sim_model *m);
/* Is the VolumeSnapshot ns/name readyToUse? *exists whether it is stored, *size its restoreSize
 * in bytes (-1 unknown). */
bool sim_vs_ready(struct sim_model *m, const char *ns, const char *name, int64_t *size,
		  bool *exists);

/* sim_model_dv.c (CDI; calls sim_model_util.c and sim_vs_ready) */
struct dvjob;
void sim_dv_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted);
void sim_dvs_tick(struct sim_model *m);
void sim_dvs_release(struct sim_model *m);
void sim_dv_from_vm(struct sim_model *m, const cJSON *vm);
void sim_dv_vm_deleted(struct sim_model *m, const char *ns, const char *vmname);
bool sim_dv_vm_startable(struct sim_model *m, const cJSON *vm);
void sim_dv_vmi_scheduled(struct sim_model *m, const char *ns, const char *vmname,
			  const char *node);
bool sim_dv_vmi_ready(struct sim_model *m, const char *ns, const char *vmname);

#endif
