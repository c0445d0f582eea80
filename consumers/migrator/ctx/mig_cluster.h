/* mig_cluster.h - what the migrator reads from the cluster (ctx/mig_cluster.c): the resource
 * descriptors of the objects it uses (static, never freed). */
#ifndef MIG_CLUSTER_H
#define MIG_CLUSTER_H

#include "ctx/mig_ctx.h"

#include "wk_k8s.h"

extern const struct wk_k8s_resource mig_res_vmis, mig_res_vmims, mig_res_kubevirts,
    mig_res_policies, mig_res_wukongs;

#endif
