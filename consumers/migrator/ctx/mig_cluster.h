/* mig_cluster.h - what the migrator reads from the cluster (ctx/mig_cluster.c): the resource
 * descriptors of the objects it uses (static, never freed). */
#ifndef MIG_CLUSTER_H
#define MIG_CLUSTER_H

#include "ctx/mig_ctx.h"

#include "wk_k8s.h"

/* NodeMetrics readings: a node's entry (create: add it when missing; NULL when absent or the
 * table is full). mig_pressure_used / _cpu_used: the node's last sampled memory use in bytes /
 * CPU use in millicores, -1 when unknown. */
struct mig_pnode *mig_pnode_get(struct mig_state *st, const char *node, bool create);
int64_t mig_pressure_used(struct mig_state *st, const char *node);
int64_t mig_pressure_cpu_used(struct mig_state *st, const char *node);

/* The Wukong list, shared by every node's evaluation for a few seconds (NodeMetrics of many
 * nodes arrive together); sets st->pressure.wk_any_pressure (any Wukong asks for pressure
 * relief). NULL when the list fails. Owned by st. */
const struct cJSON *mig_wukongs_cached(struct mig_state *st);

/* The facts of a live migration's pre-flight (decide/mig_preflight.h's struct mig_facts) with the
 * objects they point into, owned until mig_facts_release. */
struct mig_facts_buf {
	struct cJSON *vmi, *node, *source_node;
	char inflight[MIG_NAME_MAX], inflight_phase[32];
	struct mig_facts f;
};
void mig_facts_release(struct mig_facts_buf *fb);
/* Look everything up for a's pre-flight: its VMI, anyone's migration of it in flight, the target
 * Node and what runs or is heading there (VMIs, our migrations, cold moves). 0, or -1 on an API
 * failure worth retrying (err says what). */
int mig_gather_facts(struct mig_state *st, struct mig_active *a, struct mig_facts_buf *fb,
		     char *err, size_t errn);

/* Cold moves heading to a node (the VMs carrying decide/mig_cold_state.h's marks). */
/* Add the memory and CPU of the VMs under a cold move to `node` that have no VMI counted there
 * yet (stopping on their source, or stopped), skipping the ",ns/name," keys in `seen` (may be
 * NULL): they are heading there. No API call while no cold move is known. 0, or -1 on an API
 * failure (err). */
int mig_cold_heading(struct mig_state *st, const char *node, const char *seen, int64_t *mem,
		     int64_t *cpu_milli, char *err, size_t errn);

#endif
