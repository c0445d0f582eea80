/* wk_tenant.h - the tenant policy of the services that take Kafka submissions (cloner, migrator).
 *
 * "<svc>.tenants.<tenant>" in the configuration lists the namespaces that tenant may touch: comma
 * separated, blanks around an entry ignored, a trailing '*' matches a prefix ("team-a-*"), "*"
 * alone any namespace. Functions over caller-owned strings and config; nothing returned is owned.
 */
#ifndef WK_TENANT_H
#define WK_TENANT_H

#include "wk_common.h"

struct wk_config;

/* True when ns matches an entry of list (NULL or "" list, NULL ns: false). */
bool wk_tenant_ns_in_list(const char *ns, const char *list);

/* May `tenant` (NULL or "" = none given) touch namespace ns? tenants_list is the tenant's
 * configured list (NULL = the tenant is not configured); require_tenant refuses submissions
 * without a tenant; any_tenants says whether any "<svc>.tenants.*" key exists (without it and
 * without require_tenant there is no policy and everything passes; with it a submission that
 * names no tenant is refused too: the policy is never bypassed by leaving the tenant out). The
 * tenant is the identity the transport established (wk_authz.h) when there is one, the body's
 * field only on a trusted topic. This is the coarse first gate; Kubernetes RBAC decides next.
 * require_key names the require-tenant key in the message ("migrator.require-tenant"). 0 when
 * allowed, -1 with the reason in errstr (the caller's dead-letter code is "Forbidden"). */
int wk_tenant_check(const char *tenant, const char *ns, const char *tenants_list,
		    bool require_tenant, bool any_tenants, const char *require_key, char *errstr,
		    size_t errstr_size);

/* Whether any "<svc>.tenants.*" key is configured (svc: "cloner", "migrator"): the any_tenants
 * of wk_tenant_check(). */
bool wk_tenant_any_configured(const struct wk_config *cfg, const char *svc);

#endif
