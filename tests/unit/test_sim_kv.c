/* test_sim_kv.c - the simulated KubeVirt version: version parsing, pruning against the shipped
 * definitions of v1.5.0/v1.6.0/v1.9.0 (and hostile definitions and objects), feature gates per
 * version, the per-version names, and the webhooks of sim_admit.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_admit.h"
#include "../../tools/sim/sim_handler.h"
#include "../../tools/sim/sim_store.h"
#include "../../tools/sim/sim_kv.h"
#include "wk_json.h"

#include <string.h>

#define OPENAPI "tools/sim/openapi" /* tests run from the repository root */

static struct sim_kv_defs *d5, *d6, *d9;

static cJSON *js(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	d5 = sim_kv_defs_load(OPENAPI, 5, err, sizeof(err));
	d6 = sim_kv_defs_load(OPENAPI, 6, err, sizeof(err));
	d9 = sim_kv_defs_load(OPENAPI, 9, err, sizeof(err));
	if (!d5 || !d6 || !d9)
		fprintf(stderr, "%s\n", err);
	return d5 && d6 && d9 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sim_kv_defs_free(d5);
	sim_kv_defs_free(d6);
	sim_kv_defs_free(d9);
	return 0;
}

static void versions(void **state)
{
	(void)state;
	assert_int_equal(sim_kv_minor_parse("1.5"), 5);
	assert_int_equal(sim_kv_minor_parse("1.6"), 6);
	assert_int_equal(sim_kv_minor_parse("v1.9.0"), 9);
	assert_int_equal(sim_kv_minor_parse("v1.9"), 9);
	assert_int_equal(sim_kv_minor_parse("1.7"), -1); /* no definitions shipped */
	assert_int_equal(sim_kv_minor_parse("1.9.1"), -1);
	assert_int_equal(sim_kv_minor_parse("2.9"), -1);
	assert_int_equal(sim_kv_minor_parse(""), -1);
	assert_int_equal(sim_kv_minor_parse(NULL), -1);
	assert_int_equal(sim_kv_minor_parse("1.99999999999999999999"), -1);
	assert_int_equal(sim_kv_minor_parse("1.-5"), -1);
	assert_string_equal(sim_kv_version_tag(5), "v1.5.0");
	assert_string_equal(sim_kv_version_tag(9), "v1.9.0");
}

static void prune_vmim(void **state)
{
	const char *body =
	    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
	    "\"metadata\":{\"name\":\"m\",\"labels\":{\"x\":\"y\"},\"weird\":1},"
	    "\"spec\":{\"vmiName\":\"v\",\"addedNodeSelector\":{\"a\":\"b\"},"
	    "\"priority\":\"user\",\"bogus\":true},"
	    "\"status\":{\"phase\":\"Running\",\"nope\":1,"
	    "\"migrationState\":{\"targetNode\":\"n\",\"x\":2}},\"extra\":[]}";
	cJSON *o, *pruned;

	(void)state;
	/* 1.5: only vmiName */
	o = js(body);
	pruned = cJSON_CreateArray();
	assert_int_equal(sim_kv_prune(d5, "v1.VirtualMachineInstanceMigration", o, pruned), 6);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "addedNodeSelector"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "vmiName"));
	assert_null(cJSON_GetObjectItem(o, "extra"));
	/* metadata is left alone */
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "weird"));
	assert_string_equal(cJSON_GetArrayItem(pruned, 0)->valuestring, "spec.addedNodeSelector");
	cJSON_Delete(o);
	cJSON_Delete(pruned);
	/* 1.6: addedNodeSelector stays, priority goes; 1.9: both stay */
	o = js(body);
	assert_int_equal(sim_kv_prune(d6, "v1.VirtualMachineInstanceMigration", o, NULL), 5);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "addedNodeSelector"));
	cJSON_Delete(o);
	o = js(body);
	assert_int_equal(sim_kv_prune(d9, "v1.VirtualMachineInstanceMigration", o, NULL), 4);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "priority"));
	/* additionalProperties: map values kept */
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "addedNodeSelector"), "a")
		->valuestring,
	    "b");
	cJSON_Delete(o);
}

static void prune_nested(void **state)
{
	/* items, $ref chains, nested template metadata kept, RawExtension-like objects kept */
	cJSON *o = js("{\"spec\":{\"runStrategy\":\"Always\",\"template\":{\"metadata\":{\"x\":1},"
		      "\"spec\":{\"domain\":{\"devices\":{\"interfaces\":[{\"name\":\"a\","
		      "\"masquerade\":{},\"junk\":1}]},\"junk2\":2}}}},"
		      "\"status\":{\"volumeSnapshotStatuses\":[{\"name\":\"d\",\"enabled\":false,"
		      "\"reason\":\"r\",\"zz\":1}]}}");
	cJSON *pruned = cJSON_CreateArray();

	(void)state;
	assert_int_equal(sim_kv_prune(d9, "v1.VirtualMachine", o, pruned), 3);
	assert_string_equal(cJSON_GetArrayItem(pruned, 0)->valuestring,
			    "spec.template.spec.domain.devices.interfaces[0].junk");
	assert_non_null(wk_json_path(o, "spec.template.metadata.x"));
	cJSON_Delete(o);
	cJSON_Delete(pruned);
	/* snapshot status: sourceIndications exists only from 1.7 */
	o = js("{\"status\":{\"indications\":[\"Online\"],\"sourceIndications\":[{\"indication\":"
	       "\"Online\",\"message\":\"m\"}]}}");
	assert_int_equal(sim_kv_prune(d6, "v1beta1.VirtualMachineSnapshot", o, NULL), 1);
	cJSON_Delete(o);
	o = js("{\"status\":{\"sourceIndications\":[{\"indication\":\"Online\"}]}}");
	assert_int_equal(sim_kv_prune(d9, "v1beta1.VirtualMachineSnapshot", o, NULL), 0);
	cJSON_Delete(o);
	/* clone patches exist from 1.6 */
	o = js("{\"spec\":{\"patches\":[\"{}\"],\"source\":{\"kind\":\"VirtualMachine\"}}}");
	assert_int_equal(sim_kv_prune(d5, "v1beta1.VirtualMachineClone", o, NULL), 1);
	cJSON_Delete(o);
}

static void prune_hostile(void **state)
{
	char err[256];
	struct sim_kv_defs *bad;
	cJSON *o;
	char *deep;
	size_t n = 20000;

	(void)state;
	/* wrong types where objects are expected are left for validation, not crashed on */
	o = js("{\"spec\":[1,2],\"status\":\"x\",\"metadata\":3}");
	assert_int_equal(sim_kv_prune(d9, "v1.VirtualMachine", o, NULL), 0);
	cJSON_Delete(o);
	/* unknown definition, NULL arguments */
	o = js("{\"spec\":{}}");
	assert_int_equal(sim_kv_prune(d9, "v1.NoSuchThing", o, NULL), 0);
	assert_int_equal(sim_kv_prune(NULL, "v1.VirtualMachine", o, NULL), 0);
	assert_int_equal(sim_kv_prune(d9, NULL, o, NULL), 0);
	cJSON_Delete(o);
	/* deep nesting under a preserving field: no recursion blow-up */
	deep = malloc(n * 2 + 64);
	assert_non_null(deep);
	strcpy(deep, "{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"devices\":");
	for (size_t i = 0; i < 500; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (size_t i = 0; i < 500; i++)
		strcat(deep, "}");
	strcat(deep, "}}}}}");
	o = cJSON_Parse(deep);
	if (o) {
		sim_kv_prune(d9, "v1.VirtualMachine", o, NULL);
		cJSON_Delete(o);
	}
	free(deep);
	/* definitions that are not definitions; a $ref cycle */
	assert_null(sim_kv_defs_parse("[]", 2, err, sizeof(err)));
	assert_null(sim_kv_defs_parse("{\"definitions\":{}}", 18, err, sizeof(err)));
	assert_null(sim_kv_defs_parse("{garbage", 8, err, sizeof(err)));
	assert_null(sim_kv_defs_parse(NULL, 0, err, sizeof(err)));
	assert_null(sim_kv_defs_load("/nonexistent", 9, err, sizeof(err)));
	const char *cyc = "{\"definitions\":{\"v1.VirtualMachine\":{\"properties\":{\"spec\":"
			  "{\"$ref\":\"#/definitions/a\"}}},\"a\":{\"$ref\":\"#/definitions/b\"},"
			  "\"b\":{\"$ref\":\"#/definitions/a\"}}}";
	bad = sim_kv_defs_parse(cyc, strlen(cyc), err, sizeof(err));
	assert_non_null(bad);
	o = js("{\"spec\":{\"x\":1}}");
	assert_int_equal(sim_kv_prune(bad, "v1.VirtualMachine", o, NULL), 0);
	cJSON_Delete(o);
	sim_kv_defs_free(bad);
}

static void gates(void **state)
{
	cJSON *none = js("{}"),
	      *listed = js("{\"spec\":{\"configuration\":{\"developerConfiguration\":{"
			   "\"featureGates\":[\"Snapshot\"]}}}}"),
	      *disabled = js("{\"spec\":{\"configuration\":{\"developerConfiguration\":{"
			     "\"disabledFeatureGates\":[\"Snapshot\"]}}}}");

	(void)state;
	/* 1.5 Alpha, 1.6 Beta: only when listed */
	assert_false(sim_kv_gate_enabled(5, none, "Snapshot"));
	assert_false(sim_kv_gate_enabled(6, none, "Snapshot"));
	assert_false(sim_kv_gate_enabled(6, NULL, "Snapshot"));
	assert_true(sim_kv_gate_enabled(5, listed, "Snapshot"));
	assert_true(sim_kv_gate_enabled(6, listed, "Snapshot"));
	/* 1.9: Beta on by default, off when disabled, listed wins */
	assert_true(sim_kv_gate_enabled(9, none, "Snapshot"));
	assert_true(sim_kv_gate_enabled(9, NULL, "Snapshot"));
	assert_false(sim_kv_gate_enabled(9, disabled, "Snapshot"));
	assert_true(sim_kv_gate_enabled(9, listed, "Snapshot"));
	/* disabledFeatureGates means nothing before 1.9 */
	assert_false(sim_kv_gate_enabled(6, disabled, "Snapshot"));
	/* GA gates always; unknown gates need listing; Alpha stays off on 1.9 */
	assert_true(sim_kv_gate_enabled(5, none, "LiveMigration"));
	assert_true(sim_kv_gate_enabled(9, none, "VMExport"));
	assert_false(sim_kv_gate_enabled(9, none, "DecentralizedLiveMigration"));
	assert_false(sim_kv_gate_enabled(5, none, "DecentralizedLiveMigration"));
	assert_false(sim_kv_gate_enabled(9, none, "NoSuchGate"));
	assert_false(sim_kv_gate_enabled(9, none, NULL));
	cJSON_Delete(none);
	cJSON_Delete(listed);
	cJSON_Delete(disabled);
}

static void names(void **state)
{
	(void)state;
	assert_null(sim_kv_quiesce_indication(5));
	assert_string_equal(sim_kv_quiesce_indication(6), "QuiesceFailed");
	assert_string_equal(sim_kv_quiesce_indication(7), "QuiesceFailed");
	assert_string_equal(sim_kv_quiesce_indication(8), "QuiesceTimeout");
	assert_string_equal(sim_kv_quiesce_indication(9), "QuiesceTimeout");
	assert_false(sim_kv_has_source_indications(6));
	assert_true(sim_kv_has_source_indications(7));
	assert_null(sim_kv_indication_message(6, "Online"));
	assert_non_null(strstr(sim_kv_indication_message(9, "QuiesceTimeout"), "freeze window"));
	assert_non_null(strstr(sim_kv_iface_not_migratable_message(6), "bridge with"));
	assert_null(strstr(sim_kv_iface_not_migratable_message(9), "bridge with"));
	assert_true(sim_kv_disks_checked_first(5));
	assert_false(sim_kv_disks_checked_first(6));
	assert_false(sim_kv_has_added_node_selector(5));
	assert_true(sim_kv_has_added_node_selector(6));
}

static void admit(void **state)
{
	const char *hook;
	char why[700];
	cJSON *o, *none = js("{}");

	(void)state;
	o = js("{\"spec\":{\"running\":true,\"runStrategy\":\"Always\"}}");
	assert_int_equal(sim_admit_vm(9, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(hook, "virtualmachine-validator.kubevirt.io");
	assert_string_equal(why, "Running and RunStrategy are mutually exclusive. Note that "
				 "Running is deprecated, please use RunStrategy instead");
	cJSON_Delete(o);
	o = js("{\"spec\":{\"running\":null,\"runStrategy\":\"Halted\"}}");
	assert_int_equal(sim_admit_vm(9, none, o, &hook, why, sizeof(why)), 0);
	cJSON_Delete(o);
	o = js("{\"spec\":{}}");
	assert_int_equal(sim_admit_vm(5, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "RunStrategy must be specified");
	cJSON_Delete(o);
	o = js("{\"spec\":{\"runStrategy\":\"Sometimes\"}}");
	assert_int_equal(sim_admit_vm(6, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "Invalid RunStrategy (Sometimes)");
	cJSON_Delete(o);
	o = js("{\"spec\":{\"runStrategy\":\"WaitAsReceiver\"}}");
	assert_int_equal(sim_admit_vm(9, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration "
				 "feature gate is not enabled in kubevirt resource");
	assert_int_equal(sim_admit_vm(6, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "Invalid RunStrategy (WaitAsReceiver)");
	cJSON_Delete(o);
	o = js("{\"spec\":{\"runStrategy\":42}}");
	assert_int_equal(sim_admit_vm(9, none, o, &hook, why, sizeof(why)), 422);
	cJSON_Delete(o);

	/* gates */
	o = js("{\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
	       "\"name\":\"a\"}}}");
	assert_int_equal(sim_admit_snapshot(6, none, o, &hook, why, sizeof(why)), 400);
	assert_string_equal(why, "snapshot feature gate not enabled");
	assert_int_equal(sim_admit_snapshot(9, none, o, &hook, why, sizeof(why)), 0);
	assert_int_equal(sim_admit_restore(5, none, o, &hook, why, sizeof(why)), 400);
	assert_string_equal(why, "Snapshot/Restore feature gate not enabled");
	assert_string_equal(hook, "virtualmachinerestore-validator.snapshot.kubevirt.io");
	assert_int_equal(sim_admit_clone(5, none, o, &hook, why, sizeof(why)), 400);
	assert_string_equal(why, "snapshot feature gate is not enabled");
	assert_string_equal(hook, "vm-clone-validator.kubevirt.io");
	assert_int_equal(sim_admit_clone(9, none, o, &hook, why, sizeof(why)), 0);
	cJSON_Delete(o);

	/* clone causes, in upstream's order */
	o = js("{\"spec\":{\"source\":{\"kind\":\"Pod\",\"name\":\"a\"},\"target\":{\"kind\":"
	       "\"VirtualMachine\",\"name\":\"a\"},\"labelFilters\":[\"!\"],"
	       "\"newMacAddresses\":{\"eth0\":\"zz:00\"},\"patches\":[\"{nope\"]}}");
	assert_int_equal(sim_admit_clone(9, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "a negation character is not a valid filter, Source kind is not "
				 "supported, Source's APIGroup cannot be empty, interface eth0 has "
				 "malformed MAC address (zz:00)., patch is not valid JSON ({nope)");
	cJSON_Delete(o);
	o = js("{\"spec\":{}}");
	assert_int_equal(sim_admit_clone(9, none, o, &hook, why, sizeof(why)), 422);
	assert_string_equal(why, "Source kind is not supported, Source cannot be nil");
	cJSON_Delete(o);
	/* more than 10 causes */
	o = js("{\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
	       "\"name\":\"a\"},\"labelFilters\":[\"!\",\"!\",\"!\",\"!\",\"!\",\"!\",\"!\",\"!\","
	       "\"!\",\"!\",\"!\",\"!\"]}}");
	assert_int_equal(sim_admit_clone(9, none, o, &hook, why, sizeof(why)), 422);
	assert_non_null(strstr(why, ", and 2 more validation errors"));
	cJSON_Delete(o);
	/* a tiny buffer truncates, never overflows */
	o = js("{\"spec\":{}}");
	assert_int_equal(sim_admit_clone(9, none, o, &hook, why, 8), 422);
	assert_true(strlen(why) < 8);
	cJSON_Delete(o);
	cJSON_Delete(none);
}

static void handler_filter(void **state)
{
	const char *text = "# HELP kubevirt_vmi_migration_data_remaining_bytes r\n"
			   "# TYPE kubevirt_vmi_migration_data_remaining_bytes gauge\n"
			   "kubevirt_vmi_migration_data_remaining_bytes{name=\"a\",namespace=\"d\","
			   "node=\"ip-1.ec2\"} 5\n"
			   "kubevirt_vmi_migration_data_remaining_bytes{name=\"b\",namespace=\"d\","
			   "node=\"ip-1.ec2x\"} 6\n"
			   "kubevirt_vmi_migration_data_remaining_bytes{name=\"c\",namespace=\"d\","
			   "xnode=\"ip-1.ec2\"} 7\n"
			   "kubevirt_vmi_migrations_in_running_phase 1\n"
			   "wukong_sim_time_seconds 3\n"
			   "kubevirt_vmi_migration_broken{node=\"ip-1.ec2\"";
	struct wk_buf b;

	(void)state;
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(sim_handler_filter(text, "ip-1.ec2", &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "} 5"));
	assert_null(strstr(wk_buf_str(&b), "} 6")); /* another node whose name extends this one */
	assert_null(strstr(wk_buf_str(&b), "} 7")); /* a label that only ends in "node" */
	assert_null(strstr(wk_buf_str(&b), "in_running_phase"));
	assert_null(strstr(wk_buf_str(&b), "wukong_sim"));
	assert_null(strstr(wk_buf_str(&b), "broken")); /* no closing brace */
	wk_buf_reset(&b);
	assert_int_equal(sim_handler_filter(text, NULL, &b), 0);
	assert_string_equal(wk_buf_str(&b), "kubevirt_vmi_migrations_in_running_phase 1\n");
	wk_buf_reset(&b);
	assert_int_equal(sim_handler_filter("", "n", &b), 0);
	assert_int_equal(b.len, 0);
	wk_buf_release(&b);
	/* a capped buffer fails cleanly */
	wk_buf_init(&b, 16);
	assert_int_equal(sim_handler_filter(text, "ip-1.ec2", &b), -1);
	wk_buf_release(&b);
}

/* The store prunes every write through its pruner and serves NodeMetrics without ids. */
static void store_pruner(void **state)
{
	struct sim_store *st = sim_store_new(64);
	const struct sim_resource *vmim = sim_resource_find("kubevirt.io", "v1",
							    "virtualmachineinstancemigrations"),
				  *nm = sim_resource_find("metrics.k8s.io", "v1beta1", "nodes");
	struct sim_err err;
	cJSON *out = NULL;

	(void)state;
	sim_store_set_pruner(st, sim_kv_store_pruner, d5);
	assert_int_equal(
	    sim_store_create(
		st, vmim, "default",
		js("{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":"
		   "\"VirtualMachineInstanceMigration\",\"metadata\":{\"name\":\"m\"},"
		   "\"spec\":{\"vmiName\":\"v\",\"addedNodeSelector\":{\"a\":\"b\"}}}"),
		&out, &err),
	    0);
	assert_null(wk_json_path(out, "spec.addedNodeSelector"));
	cJSON_Delete(out);
	/* a status write by a controller is pruned too */
	assert_int_equal(sim_store_update(st, vmim, "default", "m",
					  js("{\"metadata\":{\"name\":\"m\"},\"status\":{"
					     "\"phase\":\"Running\",\"bogus\":1}}"),
					  true, &out, &err),
			 0);
	assert_string_equal(wk_json_str(out, "status.phase"), "Running");
	assert_null(wk_json_path(out, "status.bogus"));
	cJSON_Delete(out);
	assert_int_equal(
	    sim_store_create(st, nm, NULL,
			     js("{\"metadata\":{\"name\":\"ip-10-0-1-5.ec2.internal\"},"
				"\"usage\":{\"cpu\":\"1n\"}}"),
			     &out, &err),
	    0);
	assert_null(wk_json_path(out, "metadata.uid"));
	assert_null(wk_json_path(out, "metadata.resourceVersion"));
	assert_null(wk_json_path(out, "metadata.generation"));
	cJSON_Delete(out);
	sim_store_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(versions),	    cmocka_unit_test(prune_vmim),
	    cmocka_unit_test(prune_nested), cmocka_unit_test(prune_hostile),
	    cmocka_unit_test(gates),	    cmocka_unit_test(names),
	    cmocka_unit_test(admit),	    cmocka_unit_test(handler_filter),
	    cmocka_unit_test(store_pruner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
