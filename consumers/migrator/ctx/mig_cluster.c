/* mig_cluster.c - what the migrator reads from the cluster: the resource descriptors it uses. */
#include "ctx/mig_cluster.h"

const struct wk_k8s_resource mig_res_vmis = {"kubevirt.io", "v1", "virtualmachineinstances", true};

const struct wk_k8s_resource mig_res_vmims = {"kubevirt.io", "v1",
					      "virtualmachineinstancemigrations", true};

const struct wk_k8s_resource mig_res_kubevirts = {"kubevirt.io", "v1", "kubevirts", true};

const struct wk_k8s_resource mig_res_policies = {"migrations.kubevirt.io", "v1alpha1",
						 "migrationpolicies", false};

const struct wk_k8s_resource mig_res_wukongs = {"vm.novasphere.dev", "v1alpha1", "wukongs", true};
