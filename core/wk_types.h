/* wk_types.h - the CloudEvent types (ce_type) and the Kubernetes label/annotation keys Wukong
 * writes and reads: string literals, nothing to own or free.
 *
 * Every type is WK_CE_PREFIX + "<what>". The watcher composes its own from its kinds:
 * WK_CE_PREFIX "<kind>.<added|modified|deleted|synced>" (kind as in wt_kinds: "virtualmachine")
 * and WK_CE_CLUSTER_HEARTBEAT; schemas/ holds the bodies.
 */
#ifndef WK_TYPES_H
#define WK_TYPES_H

#define WK_CE_PREFIX "dev.novasphere.wukong."

/* wukong.requests.<cluster>: what wukongctl submits and the migrator / cloner take */
#define WK_CE_REQUEST_PREFIX WK_CE_PREFIX "request."
#define WK_CE_REQUEST_MIGRATE WK_CE_REQUEST_PREFIX "migrate.v1"
#define WK_CE_REQUEST_CANCEL WK_CE_REQUEST_PREFIX "cancel.v1"
#define WK_CE_REQUEST_DRAIN WK_CE_REQUEST_PREFIX "drain.v1"
#define WK_CE_REQUEST_CLONE WK_CE_REQUEST_PREFIX "clone.v1"

/* wukong.status, wukong.audit, wukong.progress */
#define WK_CE_STATUS WK_CE_PREFIX "status.v1"
#define WK_CE_AUDIT WK_CE_PREFIX "audit.v1"
#define WK_CE_PROGRESS_MIGRATION WK_CE_PREFIX "progress.migration.v1"
#define WK_CE_PROGRESS_CLONE WK_CE_PREFIX "progress.clone.v1"
#define WK_CE_PROGRESS_EVACUATION WK_CE_PREFIX "progress.evacuation.v1"
#define WK_CE_PROGRESS_CLUSTER WK_CE_PREFIX "progress.cluster.v1"
/* The router's record of where a fan-out's parts or a placed request went (docs/multicluster.md). */
#define WK_CE_PROGRESS_ROUTE WK_CE_PREFIX "progress.route.v1"

/* wukong.events: the watcher's; the per-kind ones are composed (see above) */
#define WK_CE_CLUSTER_HEARTBEAT WK_CE_PREFIX "cluster.heartbeat"
/* The cluster registry record on wukong.clusters (core/wk_cluster.h). */
#define WK_CE_CLUSTER_REGISTRY WK_CE_PREFIX "cluster.registry.v1"
#define WK_CE_SUFFIX_SYNCED "synced"

/* The Wukong custom resource's apiVersion (wk_res_wukongs is its descriptor) */
#define WK_API_VERSION_WUKONG "vm.novasphere.dev/v1alpha1"

/* Labels and annotations on objects Wukong creates or marks */
#define WK_K8S_KEY_PREFIX "vm.novasphere.dev/"
#define WK_LABEL_REQUEST_ID WK_K8S_KEY_PREFIX "request-id"
#define WK_LABEL_WUKONG WK_K8S_KEY_PREFIX "wukong"
#define WK_LABEL_VM WK_K8S_KEY_PREFIX "vm"
#define WK_LABEL_NAMESPACE WK_K8S_KEY_PREFIX "namespace"
#define WK_ANN_MIGRATION_REQUEST WK_K8S_KEY_PREFIX "migration-request"
#define WK_LABEL_COLD_MIGRATION_REQUEST WK_K8S_KEY_PREFIX "cold-migration-request"
#define WK_ANN_COLD_MIGRATION WK_K8S_KEY_PREFIX "cold-migration"
/* On a Wukong: "true" keeps the old copies of node-local disks after a cold move copied them. */
/* On a Node: when `wukongctl drain` cordoned it (RFC 3339): the drain evacuates it, so the
 * migrator's nodeMaintenance trigger leaves that cordon alone for a while. */
#define WK_ANN_CORDONED_FOR_DRAIN WK_K8S_KEY_PREFIX "cordoned-for-drain"
/* On a VMIM the migrator creates: the VMI as it was before the move (mig_verify_before), for the
 * checks after it. */
#define WK_ANN_PRE_MOVE WK_K8S_KEY_PREFIX "pre-move"
#define WK_ANN_KEEP_SOURCE_VOLUMES WK_K8S_KEY_PREFIX "keep-source-volumes"
#define WK_LABEL_FAILURE_RECOVERY WK_K8S_KEY_PREFIX "failure-recovery"
#define WK_ANN_FAILURE_RECOVERY WK_K8S_KEY_PREFIX "failure-recovery"
#define WK_ANN_RECOVERED_FROM_VMI WK_K8S_KEY_PREFIX "recovered-from-vmi"
#define WK_ANN_DIRTY_RATE WK_K8S_KEY_PREFIX "dirty-rate"
#define WK_ANN_CLONE_REQUEST WK_K8S_KEY_PREFIX "clone-request"
#define WK_ANN_CLONE_PARALLELISM WK_K8S_KEY_PREFIX "clone-parallelism"
#define WK_ANN_CLONE_REASON WK_K8S_KEY_PREFIX "clone-reason"
#define WK_ANN_WUKONG_NAME WK_K8S_KEY_PREFIX "wukong-name"
#define WK_ANN_CLONE_TARGET WK_K8S_KEY_PREFIX "clone-target"

#endif
