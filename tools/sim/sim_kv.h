/* sim_kv.h - the simulated KubeVirt version: its published API definitions (pruning of fields the
 * version lacks, as its API server prunes them), its feature gates, and the per-version names and
 * texts the model writes. The model's files include this for the per-version helpers; the API layer
 * and the store use the pruner.
 *
 * Versions are KubeVirt minor versions of 1.x: 5, 6 or 9 (the definitions shipped in
 * tools/sim/openapi/); the per-version helpers also answer for 7 and 8. Thread-safe after load:
 * the definitions are read-only once loaded.
 */
#ifndef SIM_KV_H
#define SIM_KV_H

#include "sim_store.h"

#include <cjson/cJSON.h>

#define SIM_KV_DEFAULT_MINOR 9
#define SIM_KV_MAX_DEFS_BYTES (8u << 20)

/* "1.5", "1.6", "1.9", "v1.9", "v1.9.0" -> 5, 6, 9; -1 for anything else (versions without
 * definitions in tools/sim/openapi included). */
int sim_kv_minor_parse(const char *s);
/* "v1.<minor>.0": the image tag virt-operator reports as status.observedKubeVirtVersion. */
const char *sim_kv_version_tag(int minor);

/* ---- definitions and pruning ---- */

struct sim_kv_defs;
/* Parse the definitions document ({"definitions": {...}} or the bare map) of len bytes. */
struct sim_kv_defs *sim_kv_defs_parse(const char *text, size_t len, char *errstr,
				      size_t errstr_size);
/* Read DIR/v1.<minor>.0.json. */
struct sim_kv_defs *sim_kv_defs_load(const char *dir, int minor, char *errstr, size_t errstr_size);
void sim_kv_defs_free(struct sim_kv_defs *d);
/* The definition key of a KubeVirt resource ("v1.VirtualMachineInstanceMigration"), or NULL for a
 * resource that is not KubeVirt's. */
const char *sim_kv_def_name(const struct sim_resource *res);
/* Remove from obj (in place) every field definition `def` does not have, walking $ref, properties,
 * items, additionalProperties and x-kubernetes-preserve-unknown-fields as a structural schema
 * prunes; metadata (ObjectMeta) is left alone. The dotted paths of removed fields are appended to
 * `pruned` (may be NULL). Returns how many fields were removed. Depth is capped at 64. */
int sim_kv_prune(const struct sim_kv_defs *d, const char *def, cJSON *obj, cJSON *pruned);
/* The store's pruner (sim_store_set_pruner): opaque is a struct sim_kv_defs. */
void sim_kv_store_pruner(void *opaque, const struct sim_resource *res, cJSON *obj);

/* ---- feature gates (pkg/virt-config/featuregate/, feature-gates.go) ---- */

/* Whether gate is on for the KubeVirt CR kv (may be NULL) on 1.<minor>: GA gates always; gates
 * listed in spec.configuration.developerConfiguration.featureGates; from 1.9 Beta gates unless
 * listed in disabledFeatureGates. Unknown gates are off. */
bool sim_kv_gate_enabled(int minor, const cJSON *kv, const char *gate);

/* ---- per-version names the model writes ---- */

/* The snapshot indication for a failed/timed-out guest freeze: "QuiesceFailed" on 1.6-1.7,
 * "QuiesceTimeout" from 1.8; NULL on 1.5 (no such indication). */
const char *sim_kv_quiesce_indication(int minor);
/* status.sourceIndications exists from 1.7. */
bool sim_kv_has_source_indications(int minor);
/* The message of a sourceIndications entry (1.7+) for an indication, or NULL. */
const char *sim_kv_indication_message(int minor, const char *indication);
/* LiveMigratable=False message for a pod-network interface that cannot migrate. */
const char *sim_kv_iface_not_migratable_message(int minor);
/* virt-handler checks the disks before the interfaces on 1.5 and after them from 1.6. */
bool sim_kv_disks_checked_first(int minor);
/* spec.addedNodeSelector exists on VMIMs from 1.6. */
bool sim_kv_has_added_node_selector(int minor);

#endif
