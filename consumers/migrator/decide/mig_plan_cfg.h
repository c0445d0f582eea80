/* mig_plan_cfg.h - the transfer settings the evacuation planner predicts each VM's migration
 * with, as KubeVirt applies them: the KubeVirt CR's spec.configuration.migrations (with
 * upstream's defaults, core/wk_kubevirt.h), then the MigrationPolicy that selects the VMI, whose
 * non-nil fields replace the cluster's (KubeVirt's migrations.kubevirt.io/v1alpha1
 * MigrationPolicySpec: allowAutoConverge, bandwidthPerMigration, completionTimeoutPerGiB,
 * allowPostCopy; pkg/virt-controller/watch/migration: the policy is matched once per migration
 * and GetMigrationConfByPolicy copies its set fields over the cluster's). And what a VM that
 * cannot move live costs as a cold move. Pure; no allocation. */
#ifndef MIG_PLAN_CFG_H
#define MIG_PLAN_CFG_H

#include "decide/mig_plan.h"

struct cJSON;
struct wk_kubevirt_migrations;

/* The cluster's settings into p (limits, bandwidth, timeouts, auto-converge, post-copy); the
 * planner's own fields (setup_s, max_evals, step_s, max_downtime_s) are left as they are. */
void mig_plan_cfg_kv(const struct wk_kubevirt_migrations *m, struct mig_plan_params *p);

/* A MigrationPolicy object's set fields over p. A field of the wrong type or out of range is
 * ignored (KubeVirt's schema refuses such a policy). Returns how many fields applied. */
int mig_plan_cfg_policy(const struct cJSON *policy, struct mig_plan_params *p);

/* "bandwidth 64Mi/s, 800 s/GiB, progress timeout 150 s, auto-converge off, post-copy off" */
void mig_plan_cfg_text(const struct mig_plan_params *p, char *out, size_t out_size);

/* Predicted seconds of a cold move: stopping and starting the VM (base_s) plus copying its
 * node-local disks (disk_bytes at copy_rate bytes/s; copy_rate <= 0: no copy counted). */
double mig_plan_cold_seconds(double base_s, int64_t disk_bytes, double copy_rate);

#endif
