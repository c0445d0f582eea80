/* test_wk_tenant.c - the tenant/namespace policy (core/wk_tenant.c): list matching (exact,
 * prefix, "*", blanks, empty entries), the check's decisions and messages, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_tenant.h"
#include "wk_config.h"

static char err[512];

static void lists(void **state)
{
	(void)state;
	/* valid */
	assert_true(wk_tenant_ns_in_list("team-a-dev", "team-a-*, shared"));
	assert_true(wk_tenant_ns_in_list("shared", "team-a-*, shared"));
	assert_true(wk_tenant_ns_in_list("shared", "  shared  "));
	assert_true(wk_tenant_ns_in_list("anything", "*"));
	assert_true(wk_tenant_ns_in_list("anything", "x, * "));
	assert_false(wk_tenant_ns_in_list("shared2", "team-a-*, shared"));
	assert_false(wk_tenant_ns_in_list("share", "shared"));
	assert_false(wk_tenant_ns_in_list("team-b", "team-a-*"));
	/* a prefix entry matches the bare prefix too, not something shorter */
	assert_true(wk_tenant_ns_in_list("team-a-", "team-a-*"));
	assert_false(wk_tenant_ns_in_list("team-a", "team-a-*"));
	/* empty and missing */
	assert_false(wk_tenant_ns_in_list("x", ""));
	assert_false(wk_tenant_ns_in_list("x", NULL));
	assert_false(wk_tenant_ns_in_list(NULL, "*"));
	assert_false(wk_tenant_ns_in_list("x", ",,, ,"));
	assert_false(wk_tenant_ns_in_list("", "a,b"));
	/* truncated entries: a trailing comma or a lone blank entry match nothing */
	assert_true(wk_tenant_ns_in_list("a", "a,"));
	assert_false(wk_tenant_ns_in_list("b", "a,"));
}

static void hostile(void **state)
{
	char big[8192];
	size_t i;

	(void)state;
	/* '*' only counts at the end of an entry; elsewhere it is a literal character */
	assert_false(wk_tenant_ns_in_list("team-x-dev", "team-*-dev"));
	assert_true(wk_tenant_ns_in_list("team-*-dev", "team-*-dev"));
	/* path traversal and separators are compared as text, never interpreted */
	assert_false(wk_tenant_ns_in_list("../kube-system", "team-*"));
	assert_false(wk_tenant_ns_in_list("kube-system", "../kube-system"));
	assert_false(wk_tenant_ns_in_list("team-a,kube-system", "team-b"));
	/* an entry cannot be smuggled in through the namespace: ns "a,b" vs list "b" */
	assert_false(wk_tenant_ns_in_list("a,b", "b"));
	/* a huge list: the match at its very end is still found, a miss stays a miss */
	for (i = 0; i + 2 < sizeof(big) - 16; i += 2) {
		big[i] = 'q';
		big[i + 1] = ',';
	}
	strcpy(big + i, "target");
	assert_true(wk_tenant_ns_in_list("target", big));
	assert_false(wk_tenant_ns_in_list("targe", big));
	/* a namespace longer than any entry */
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(wk_tenant_ns_in_list(big, "n, nn, nnn"));
	assert_true(wk_tenant_ns_in_list(big, "n*"));
}

static void checks(void **state)
{
	(void)state;
	/* no policy at all: everything passes */
	assert_int_equal(wk_tenant_check("", "default", NULL, false, false, "svc.require-tenant",
					 err, sizeof(err)),
			 0);
	/* tenants configured: naming none does not bypass the policy (issue 20) */
	assert_int_equal(wk_tenant_check(NULL, "default", NULL, false, true, "svc.require-tenant",
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, "no tenant given and a tenant policy is configured");
	assert_int_equal(wk_tenant_check("", "default", NULL, false, true, "svc.require-tenant",
					 err, sizeof(err)),
			 -1);
	assert_int_equal(wk_tenant_check("t", "default", NULL, false, false, "svc.require-tenant",
					 err, sizeof(err)),
			 0);
	/* a tenant is required */
	assert_int_equal(wk_tenant_check("", "default", NULL, true, false, "svc.require-tenant",
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, "no tenant given and svc.require-tenant is set");
	/* tenants configured, this one is not */
	assert_int_equal(wk_tenant_check("t", "default", NULL, false, true, "svc.require-tenant",
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, "tenant 't' is not configured");
	assert_int_equal(wk_tenant_check("t", "default", NULL, true, false, "svc.require-tenant",
					 err, sizeof(err)),
			 -1);
	/* configured: its list decides */
	assert_int_equal(wk_tenant_check("a", "team-a-1", "team-a-*", false, true,
					 "svc.require-tenant", err, sizeof(err)),
			 0);
	assert_int_equal(wk_tenant_check("a", "kube-system", "team-a-*", false, true,
					 "svc.require-tenant", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "tenant 'a' may not touch namespace 'kube-system'");
	/* an empty list allows nothing */
	assert_int_equal(
	    wk_tenant_check("a", "x", "", false, true, "svc.require-tenant", err, sizeof(err)), -1);
	/* a NULL namespace is refused, not dereferenced; a NULL errstr is fine */
	assert_int_equal(wk_tenant_check("a", NULL, "*x", false, true, "k", NULL, 0), -1);
	/* a small errstr is truncated, still terminated */
	{
		char small[8];

		assert_int_equal(
		    wk_tenant_check("tenant", "ns", NULL, false, true, "k", small, sizeof(small)),
		    -1);
		assert_int_equal(strlen(small), sizeof(small) - 1);
	}
}

static void any_configured(void **state)
{
	struct wk_config *cfg = wk_config_new();

	(void)state;
	assert_false(wk_tenant_any_configured(cfg, "cloner"));
	wk_config_set(cfg, "cloner.require-tenant", "true");
	wk_config_set(cfg, "migrator.tenants.a", "x");
	wk_config_set(cfg, "cloner.tenantsx.b", "x"); /* not under "cloner.tenants." */
	assert_false(wk_tenant_any_configured(cfg, "cloner"));
	assert_true(wk_tenant_any_configured(cfg, "migrator"));
	wk_config_set(cfg, "cloner.tenants.b", "");
	assert_true(wk_tenant_any_configured(cfg, "cloner"));
	wk_config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lists),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(checks),
	    cmocka_unit_test(any_configured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
