/* wk_kubevirt.h - what the cluster's KubeVirt CR (kubevirt.io/v1 KubeVirt, usually
 * kubevirt/kubevirt) says about the KubeVirt the product talks to: its version, which feature gates
 * are on (as that version's virt-config decides), the CPU allocation ratio, the VM rollout strategy
 * and the migration configuration with upstream's defaults. Pure: no I/O; each service GETs the CR
 * and hands it here. The caller owns struct wk_kubevirt_info (plain data, no heap). Caps: a version
 * string of at most 63 bytes (longer reads as unknown), at most WK_KUBEVIRT_MAX_GATES names per
 * gate list (more is an error), gate names of at most 63 bytes (longer ones are skipped: no gate
 * has such a name).
 *
 * Upstream (kubevirt/kubevirt at v1.5.0 .. v1.9.0):
 *   pkg/virt-config/feature-gates.go  (*ClusterConfig).isFeatureGateEnabled
 *   pkg/virt-config/featuregate/feature-gates.go  IsEnabled (1.9: Beta on unless disabled)
 *   pkg/virt-config/featuregate/active.go, inactive.go  gate states per tag
 *   pkg/virt-config/virt-config.go  defaults (migrations, cpuAllocationRatio, vmRolloutStrategy)
 *   pkg/virt-operator/util/config.go  observedKubeVirtVersion = the image tag ("v1.6.0") */
#ifndef WK_KUBEVIRT_H
#define WK_KUBEVIRT_H

#include "wk_common.h"

struct cJSON;

#define WK_KUBEVIRT_MAX_GATES 128
#define WK_KUBEVIRT_GATE_LEN 64

/* The gates the product cares about (names as upstream spells them). */
#define WK_KV_GATE_SNAPSHOT "Snapshot"
#define WK_KV_GATE_VMEXPORT "VMExport"
#define WK_KV_GATE_DECENTRALIZED "DecentralizedLiveMigration"
#define WK_KV_GATE_VOLUME_MIGRATION "VolumeMigration"
#define WK_KV_GATE_VOLUMES_UPDATE "VolumesUpdateStrategy"

enum wk_kubevirt_rollout {
	WK_KV_ROLLOUT_STAGE,	   /* a template change waits for a restart (RestartRequired) */
	WK_KV_ROLLOUT_LIVE_UPDATE, /* nodeSelector/affinity/tolerations are patched onto the VMI */
};

/* spec.configuration.migrations with upstream's defaults filled in (virt-config.go). */
struct wk_kubevirt_migrations {
	int64_t parallel_per_cluster;	    /* parallelMigrationsPerCluster, default 5 */
	int64_t parallel_outbound_per_node; /* parallelOutboundMigrationsPerNode, default 2 */
	int64_t bandwidth_per_migration;    /* bytes per second, 0 = unlimited (default "0Mi") */
	int64_t completion_timeout_per_gib; /* seconds, default 150 */
	int64_t progress_timeout;	    /* seconds, default 150 */
	bool allow_post_copy;		    /* default false */
	bool allow_auto_converge;	    /* default false */
	bool unsafe_migration_override;	    /* default false */
};

struct wk_kubevirt_info {
	bool found;	    /* a KubeVirt CR was seen (wk_kubevirt_fetch; parse sets it) */
	char namespace[64]; /* metadata.namespace of the CR: KubeVirt's install namespace */
	char version[64];   /* status.observedKubeVirtVersion verbatim ("" when absent) */
	bool version_known; /* "v<major>.<minor>[.<patch>][-suffix]" parsed */
	int major, minor, patch;
	char gates[WK_KUBEVIRT_MAX_GATES]
		  [WK_KUBEVIRT_GATE_LEN]; /* developerConfiguration.featureGates */
	size_t n_gates;
	char disabled[WK_KUBEVIRT_MAX_GATES]
		     [WK_KUBEVIRT_GATE_LEN]; /* ...disabledFeatureGates (1.9+) */
	size_t n_disabled;
	int64_t cpu_allocation_ratio; /* developerConfiguration.cpuAllocationRatio, default 10 */
	enum wk_kubevirt_rollout
	    rollout;	       /* configuration.vmRolloutStrategy or the version's default */
	bool rollout_explicit; /* set in the CR (not a default) */
	struct wk_kubevirt_migrations migrations;
};

/* Fill out from a KubeVirt CR. Fields that are absent, of the wrong type or out of range take
 * upstream's defaults (the API server's schema and KubeVirt's webhook refuse such values on a real
 * cluster, so they only come from a hostile or broken source). -1 when kv is not an object or a
 * gate list is longer than WK_KUBEVIRT_MAX_GATES; out is then reset to the defaults of an unknown
 * version. */
int wk_kubevirt_parse(const struct cJSON *kv, struct wk_kubevirt_info *out, char *errstr,
		      size_t errstr_size);
/* The defaults of an unknown version (what wk_kubevirt_parse falls back to). */
void wk_kubevirt_info_init(struct wk_kubevirt_info *out);

struct wk_k8s;
/* GET every KubeVirt CR (cluster-wide list, the first item: a cluster has one) and parse it. 0 with
 * out->found false when there is none (KubeVirt not installed); -1 on a transport/API error (out
 * reset). I/O: lives in wk_kubevirt_io.c. */
int wk_kubevirt_fetch(struct wk_k8s *k8s, struct wk_kubevirt_info *out, char *errstr,
		      size_t errstr_size);

/* Parse "v1.6.0", "1.6", "v1.9.0-rc.1" into numbers; false for "latest", "devel", "" ... */
bool wk_kubevirt_parse_version(const char *s, int *major, int *minor, int *patch);

/* True when the version is known and at least major.minor. An unknown version is never "at least".
 */
bool wk_kubevirt_at_least(const struct wk_kubevirt_info *kv, int major, int minor);

/* Whether the gate is on, as this version decides: GA -> on; listed in featureGates -> on; on 1.9+
 * listed in disabledFeatureGates -> off, otherwise Beta -> on; otherwise off. A gate this version
 * does not know is off. With an unknown version: gates GA since 1.5 are on, others only if listed.
 */
bool wk_kubevirt_gate(const struct wk_kubevirt_info *kv, const char *gate);

/* A sentence saying why the gate is off on this cluster and how to turn it on, for a refusal
 * reason: `KubeVirt v1.5.0: feature gate "Snapshot" is not enabled (list it in spec.configuration.
 * developerConfiguration.featureGates of the KubeVirt CR)`. */
void wk_kubevirt_gate_reason(const struct wk_kubevirt_info *kv, const char *gate, char *out,
			     size_t out_size);

/* "v1.6.0" or "an unknown version" when the CR did not say, for messages. */
const char *wk_kubevirt_version_str(const struct wk_kubevirt_info *kv);

#endif
