/* wk_tenant.c - the tenant/namespace policy shared by the cloner and the migrator. */
#include "wk_tenant.h"
#include "wk_config.h"

bool wk_tenant_ns_in_list(const char *ns, const char *list)
{
	const char *p = list;

	if (!ns)
		return false;
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 1 && *p == '*')
			return true;
		if (n && p[n - 1] == '*') {
			if (!strncmp(ns, p, n - 1))
				return true;
		} else if (n && strlen(ns) == n && !strncmp(ns, p, n)) {
			return true;
		}
		p = e ? e + 1 : NULL;
	}
	return false;
}

int wk_tenant_check(const char *tenant, const char *ns, const char *tenants_list,
		    bool require_tenant, bool any_tenants, const char *require_key, char *errstr,
		    size_t errstr_size)
{
	if (!tenant || !*tenant) {
		if (require_tenant)
			return wk_err(errstr, errstr_size, "no tenant given and %s is set",
				      require_key);
		/* A configured policy is never bypassed by naming no tenant (issue 20). */
		if (any_tenants)
			return wk_err(errstr, errstr_size,
				      "no tenant given and a tenant policy is configured");
		return 0;
	}
	if (!tenants_list) {
		if (!any_tenants && !require_tenant)
			return 0; /* no tenant policy configured at all */
		return wk_err(errstr, errstr_size, "tenant '%s' is not configured", tenant);
	}
	if (!wk_tenant_ns_in_list(ns, tenants_list))
		return wk_err(errstr, errstr_size, "tenant '%s' may not touch namespace '%s'",
			      tenant, ns ? ns : "");
	return 0;
}

static int any_cb(const char *key, const char *value, void *opaque)
{
	(void)key;
	(void)value;
	*(bool *)opaque = true;
	return 1;
}

bool wk_tenant_any_configured(const struct wk_config *cfg, const char *svc)
{
	char prefix[128];
	bool any = false;

	snprintf(prefix, sizeof(prefix), "%s.tenants.", svc);
	wk_config_foreach(cfg, prefix, any_cb, &any);
	return any;
}
