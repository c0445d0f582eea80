/* mig_cluster.h - what the migrator reads from the cluster (ctx/mig_cluster.c): the resource
 * descriptors of the objects it uses (static, never freed). */
#ifndef MIG_CLUSTER_H
#define MIG_CLUSTER_H

#include "ctx/mig_ctx.h"

#include "wk_k8s.h"

extern const struct wk_k8s_resource mig_res_vms, mig_res_vmis, mig_res_vmims, mig_res_kubevirts,
    mig_res_policies, mig_res_wukongs;

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

#endif
