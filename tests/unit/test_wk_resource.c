/* test_wk_resource.c - the resource descriptor table: lookups, table consistency, empty and
 * hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_resource.h"

static void lookups(void **state)
{
	(void)state;
	assert_ptr_equal(wk_resource_by_kind("Wukong"), &wk_res_wukongs);
	assert_ptr_equal(wk_resource_by_kind("VirtualMachineInstanceMigration"),
			 &wk_res_virtualmachineinstancemigrations);
	assert_ptr_equal(wk_resource_by_kind("Node"), &wk_res_nodes);
	assert_ptr_equal(wk_resource_by_kind("NodeMetrics"), &wk_res_nodemetrics);
	assert_ptr_equal(wk_resource_find("vm.novasphere.dev", "v1alpha1", "wukongs"),
			 &wk_res_wukongs);
	assert_ptr_equal(wk_resource_find("", "v1", "nodes"), &wk_res_nodes);
	assert_ptr_equal(wk_resource_find("metrics.k8s.io", "v1beta1", "nodes"),
			 &wk_res_nodemetrics);
	assert_ptr_equal(wk_resource_find("coordination.k8s.io", "v1", "leases"), &wk_res_leases);
	assert_string_equal(wk_res_virtualmachines.group, "kubevirt.io");
	assert_true(wk_res_wukongs.namespaced);
	assert_false(wk_res_nodes.namespaced);
	assert_false(wk_res_migrationpolicies.namespaced);
}

/* Every row is found again by kind and by (group, version, plural); kinds are unique. */
static void table_consistent(void **state)
{
	const struct wk_k8s_resource *r;
	size_t i;

	(void)state;
	for (i = 0; (r = wk_resource_at(i)); i++) {
		assert_non_null(r->group);
		assert_non_null(r->version);
		assert_non_null(r->plural);
		assert_non_null(r->kind);
		assert_ptr_equal(wk_resource_by_kind(r->kind), r);
		assert_ptr_equal(wk_resource_find(r->group, r->version, r->plural), r);
	}
	assert_true(i >= 20);
	assert_null(wk_resource_at(i));
	assert_null(wk_resource_at((size_t)-1));
}

static void empty_and_hostile(void **state)
{
	char big[4096];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(wk_resource_by_kind(NULL));
	assert_null(wk_resource_by_kind(""));
	assert_null(wk_resource_by_kind("wukong")); /* exact case */
	assert_null(wk_resource_by_kind("Wukong "));
	assert_null(wk_resource_by_kind(big));
	assert_null(wk_resource_find(NULL, "v1", "nodes"));
	assert_null(wk_resource_find("", NULL, "nodes"));
	assert_null(wk_resource_find("", "v1", NULL));
	assert_null(wk_resource_find("", "", ""));
	assert_null(wk_resource_find("", "v2", "nodes"));
	assert_null(wk_resource_find("kubevirt.io", "v1", "Virtualmachines"));
	assert_null(wk_resource_find("kubevirt.io/", "v1", "virtualmachines"));
	assert_null(wk_resource_find(big, big, big));
}

static void api_version(void **state)
{
	char out[64];

	(void)state;
	assert_true(wk_resource_api_version(&wk_res_wukongs, out, sizeof(out)));
	assert_string_equal(out, "vm.novasphere.dev/v1alpha1");
	assert_true(wk_resource_api_version(&wk_res_nodes, out, sizeof(out)));
	assert_string_equal(out, "v1");
	/* at the cap: "kubevirt.io/v1" is 14 bytes + NUL */
	assert_true(wk_resource_api_version(&wk_res_virtualmachines, out, 15));
	assert_string_equal(out, "kubevirt.io/v1");
	assert_false(wk_resource_api_version(&wk_res_virtualmachines, out, 14));
	assert_int_equal(strlen(out), 13);
	assert_false(wk_resource_api_version(&wk_res_nodes, out, 2));
	assert_string_equal(out, "v");
	assert_false(wk_resource_api_version(&wk_res_nodes, out, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lookups),
	    cmocka_unit_test(table_consistent),
	    cmocka_unit_test(empty_and_hostile),
	    cmocka_unit_test(api_version),
	};

	return cmocka_run_group_tests_name("wk_resource", tests, NULL, NULL);
}
