/* ctl_rbac.h - `wukongctl up --rbac` (or WUKONG_RBAC=1): every service under its own
 * ServiceAccount token with the install bundle's RBAC, as deployed (docs/deploy.md). Applies
 * deploy/base to the simulator with kubectl and writes one kubeconfig per service holding a
 * TokenRequest token (`kubectl create token`, 48 h). */
#ifndef CTL_RBAC_H
#define CTL_RBAC_H

#include "ctl_stack.h"

/* kubectl apply -k <root>/deploy/base against admin_kc (root: two levels above bindir). */
int ctl_rbac_apply(const struct ctl_env *e, const char *admin_kc, char *errstr,
		   size_t errstr_size);
/* DIR/kubeconfig.<svc>: admin_kc with wukong-<svc>'s token and namespace wukong; its path in
 * out. */
int ctl_rbac_kubeconfig(const struct ctl_env *e, const char *admin_kc, const char *svc, char *out,
			size_t out_size, char *errstr, size_t errstr_size);

#endif
