/* test_sim_scenario.c - scenario YAML: valid, defaults, count expansion, malformed, hostile and
 * oversized input, errors as file:line: message, and the built-in default kept in sync. */
#include "../../tools/sim/sim_scenario.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static char err[512];

static struct sim_scenario *parse(const char *text)
{
	err[0] = 0;
	return sim_scenario_parse("t.yaml", text, strlen(text), err, sizeof(err));
}

static void expect_error(const char *text, const char *want)
{
	struct sim_scenario *s = parse(text);
	if (s || !strstr(err, want))
		fail_msg("want error containing \"%s\", got \"%s\"", want, s ? "(parsed)" : err);
	sim_scenario_destroy(s);
}

static void valid_scenario(void **state)
{
	(void)state;
	struct sim_scenario *s =
	    parse("seed: 9\n"
		  "timeFactor: 20\n"
		  "migrations: {allowPostCopy: true, completionTimeoutPerGiB: 7}\n"
		  "storageClasses:\n"
		  "  - {name: fast, accessMode: RWO, snapshot: no, copyRate: 1Mi}\n"
		  "nodes:\n"
		  "  - name: n1\n"
		  "    cpu: 3500m\n"
		  "    memory: 8Gi\n"
		  "    labels: {zone: a}\n"
		  "    taints: [{key: k, value: v, effect: NoSchedule}]\n"
		  "vms:\n"
		  "  - name: a\n"
		  "    namespace: ns1\n"
		  "    memory: 1Gi\n"
		  "    dirtyRate: 2Mi\n"
		  "    guestAgent: false\n"
		  "    disks: [{name: d, size: 1Gi, storageClass: fast}]\n"
		  "    networks: [{binding: bridge}]\n");
	assert_non_null(s);
	assert_true(s->has_seed && s->seed == 9);
	assert_true(s->time_factor == 20);
	assert_true(s->mig.allow_post_copy);
	assert_int_equal(s->mig.completion_per_gib, 7);
	assert_int_equal(s->mig.parallel_per_cluster, 5);
	assert_int_equal(s->mig.parallel_outbound_node, 2);
	assert_int_equal(s->mig.progress_timeout, 150);
	assert_int_equal(s->nclasses, 1);
	assert_false(s->classes[0].rwx);
	assert_false(s->classes[0].snapshot);
	assert_string_equal(s->default_class, "fast");
	assert_int_equal(s->nnodes, 1);
	assert_int_equal(s->nodes[0].cpu_milli, 3500);
	assert_int_equal(s->nodes[0].memory, INT64_C(8) << 30);
	assert_int_equal(s->nodes[0].ntaints, 1);
	assert_string_equal(cJSON_GetObjectItem(s->nodes[0].labels, "zone")->valuestring, "a");
	assert_int_equal(s->nvms, 1);
	assert_string_equal(s->vms[0].ns, "ns1");
	assert_int_equal(s->vms[0].dirty_rate, 2 << 20);
	assert_true(s->vms[0].running);
	assert_false(s->vms[0].guest_agent);
	assert_string_equal(s->vms[0].nets[0].name, "default");
	assert_string_equal(s->vms[0].nets[0].type, "pod");
	assert_string_equal(s->vms[0].nets[0].binding, "bridge");
	sim_scenario_destroy(s);
}

static void count_expands(void **state)
{
	(void)state;
	struct sim_scenario *s = parse("defaultDirtyRate: 3Mi\n"
				       "nodes: [{name: n, count: 3, cpu: 1, memory: 1Gi}]\n"
				       "vms: [{name: v, count: 250, memory: 1Gi}]\n");
	assert_non_null(s);
	assert_int_equal(s->nnodes, 3);
	assert_string_equal(s->nodes[2].name, "n-3");
	assert_int_equal(s->nvms, 250);
	assert_string_equal(s->vms[249].name, "v-250");
	assert_string_equal(s->vms[249].ns, "default");
	assert_int_equal(s->vms[0].dirty_rate, 3 << 20);
	/* No classes given: one shared RWX class that can snapshot. */
	assert_string_equal(s->default_class, "shared-rwx");
	assert_true(s->classes[0].rwx && s->classes[0].snapshot);
	sim_scenario_destroy(s);
}

static void empty_and_garbage(void **state)
{
	(void)state;
	expect_error("", "t.yaml:1: empty scenario");
	expect_error("nodes: [", "t.yaml:2: did not find expected node content");
	expect_error("\x01\x02\xff", "t.yaml:");
	expect_error("- a\n- b\n", "the scenario must be a mapping");
	expect_error("seed: 1\n", "no nodes");
	expect_error("nodes:\n  - name: n\n    cpu: 1\n", "t.yaml:2: node 'n' needs positive cpu");
}

static void truncated(void **state)
{
	(void)state;
	expect_error("nodes:\n  - {name: n, cpu: 1, memory: 1G", "t.yaml:");
	expect_error("nodes:\n  - name: n\n    memory: \"1Gi", "t.yaml:");
}

static void errors_name_the_line(void **state)
{
	(void)state;
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}]\nvms:\n  - name: v\n    memory: 1Gi\n"
		     "    colour: red\n",
		     "t.yaml:5: unknown vm field 'colour'");
	expect_error("nodes: [{name: n, cpu: 1, memory: lots}]\n", "t.yaml:1: 'memory'");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}]\nvms: [{name: v, memory: 1Gi, "
		     "disks: [{name: d, size: 1Gi, storageClass: nope}]}]\n",
		     "unknown storage class 'nope'");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi, taints: [{key: k, effect: Bad}]}]\n",
		     "taint effect");
	expect_error(
	    "migrations: {allowPostCopy: maybe}\nnodes: [{name: n, cpu: 1, memory: 1Gi}]\n",
	    "t.yaml:1: 'allowPostCopy' must be true or false");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}, {name: n, cpu: 1, memory: 1Gi}]\n",
		     "duplicate node 'n'");
	/* Storage: binding modes, local volumes, one VolumeSnapshotClass per driver. */
	expect_error("storageClasses: [{name: s, volumeBindingMode: Lazy}]\n",
		     "t.yaml:1: 'volumeBindingMode' must be Immediate or WaitForFirstConsumer");
	expect_error("storageClasses: [{name: s, local: true}]\n",
		     "local volumes are ReadWriteOnce");
	expect_error("storageClasses: [{name: a, provisioner: p}, {name: b, provisioner: p, "
		     "snapshot: false}]\n",
		     "share the provisioner 'p' but not snapshot support");
	expect_error("otherPodsCpu: lots\nnodes: [{name: n, cpu: 1, memory: 1Gi}]\n",
		     "'otherPodsCpu'");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi, otherPodsMemory: -1Gi}]\n",
		     "'otherPodsMemory'");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}]\nvms: [{name: v, cpuRequest: x}]\n",
		     "'cpuRequest'");
	struct sim_scenario *s = parse("storageClasses: [{name: lp, accessMode: RWO, local: true, "
				       "snapshot: false}, {name: n, snapshot: false}]\n"
				       "nodes: [{name: n, cpu: 1, memory: 1Gi}]\n");
	assert_non_null(s);
	assert_true(s->classes[0].wffc);
	assert_true(s->classes[0].local);
	assert_false(s->classes[1].wffc);
	sim_scenario_destroy(s);
}

static void hostile(void **state)
{
	(void)state;
	/* Path traversal and upper case names. */
	expect_error("nodes: [{name: ../etc, cpu: 1, memory: 1Gi}]\n", "invalid name");
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}]\nvms: [{name: v, namespace: A/b, "
		     "memory: 1Gi}]\n",
		     "invalid namespace");
	/* Huge numbers. */
	expect_error("nodes: [{name: n, cpu: 1, memory: 99999999999999999999999Ei}]\n", "'memory'");
	expect_error("seed: 99999999999999999999999\nnodes: [{name: n, cpu: 1, memory: 1Gi}]\n",
		     "'seed'");
	expect_error("migrations: {parallelMigrationsPerCluster: -1}\n",
		     "parallelMigrationsPerCluster");
	expect_error("timeFactor: 1e300\nnodes: [{name: n, cpu: 1, memory: 1Gi}]\n", "timeFactor");
	/* Deep nesting in a value we expect to be flat. */
	char deep[4096] = "nodes: [{name: n, cpu: 1, memory: 1Gi, labels: ";
	for (int i = 0; i < 1000; i++)
		strcat(deep, "[");
	expect_error(deep, "t.yaml:");
	/* Billion laughs: aliases fan out; refused by the visit budget or the node caps. */
	const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			     "nodes: [{name: n, cpu: 1, memory: 1Gi}]\n";
	expect_error(laughs, "unknown scenario field 'a'");
	const char *alias_nodes = "x: &n {name: n, cpu: 1, memory: 1Gi, count: 5000}\n";
	struct sim_scenario *s = parse(alias_nodes);
	assert_null(s);
	/* Too many nodes through count. */
	expect_error("nodes: [{name: n, count: 5000, cpu: 1, memory: 1Gi}, {name: m, cpu: 1, "
		     "memory: 1Gi}]\n",
		     "more than 5000 nodes");
	/* Too many labels. */
	char labels[8192] = "nodes: [{name: n, cpu: 1, memory: 1Gi, labels: {";
	for (int i = 0; i < 65; i++)
		sprintf(labels + strlen(labels), "k%d: v,", i);
	strcat(labels, "}}]\n");
	expect_error(labels, "more than 64 entries");
}

static void caps(void **state)
{
	(void)state;
	/* Exactly at the disk cap parses; one more fails. */
	char buf[4096];
	for (int extra = 0; extra < 2; extra++) {
		strcpy(buf, "nodes: [{name: n, cpu: 1, memory: 1Gi}]\nvms: [{name: v, memory: 1Gi, "
			    "disks: [");
		for (int i = 0; i < SIM_SCENARIO_MAX_DISKS + extra; i++)
			sprintf(buf + strlen(buf), "{name: d%d, size: 1Gi},", i);
		strcat(buf, "]}]\n");
		struct sim_scenario *s = parse(buf);
		if (extra == 0) {
			assert_non_null(s);
			assert_int_equal(s->vms[0].ndisks, SIM_SCENARIO_MAX_DISKS);
		} else {
			assert_null(s);
			assert_non_null(strstr(err, "more than 16 disks"));
		}
		sim_scenario_destroy(s);
	}
	/* Oversized file: refused before parsing. */
	size_t big = SIM_SCENARIO_MAX_BYTES + 1;
	char *text = malloc(big);
	memset(text, '#', big);
	assert_null(sim_scenario_parse("big.yaml", text, big, err, sizeof(err)));
	assert_non_null(strstr(err, "big.yaml:1: scenario larger than"));
	free(text);
	/* The largest VM count. */
	struct sim_scenario *s = parse("nodes: [{name: n, cpu: 1, memory: 1Gi}]\n"
				       "vms: [{name: v, count: 100000, memory: 1Gi}]\n");
	assert_non_null(s);
	assert_int_equal(s->nvms, SIM_SCENARIO_MAX_VMS);
	sim_scenario_destroy(s);
	expect_error("nodes: [{name: n, cpu: 1, memory: 1Gi}]\n"
		     "vms: [{name: v, count: 100000, memory: 1Gi}, {name: w, memory: 1Gi}]\n",
		     "more than 100000 vms");
}

static void files_in_tree(void **state)
{
	(void)state;
	static const char *files[] = {"tools/sim/scenarios/default.yaml",
				      "tools/sim/scenarios/small.yaml",
				      "tools/sim/scenarios/scale-10k.yaml"};
	for (size_t i = 0; i < WK_ARRAY_SIZE(files); i++) {
		struct sim_scenario *s = sim_scenario_load(files[i], err, sizeof(err));
		if (!s)
			fail_msg("%s", err);
		sim_scenario_destroy(s);
	}
	/* The built-in copy is the file, byte for byte. */
	FILE *f = fopen("tools/sim/scenarios/default.yaml", "rb");
	assert_non_null(f);
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	assert_string_equal(text, sim_scenario_default_yaml);
	struct sim_scenario *s = parse(sim_scenario_default_yaml);
	assert_non_null(s);
	assert_int_equal(s->nnodes, 4);
	assert_true(s->nvms >= 8);
	sim_scenario_destroy(s);
	assert_null(sim_scenario_load("/nonexistent/x.yaml", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open scenario '/nonexistent/x.yaml'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_scenario),
	    cmocka_unit_test(count_expands),
	    cmocka_unit_test(empty_and_garbage),
	    cmocka_unit_test(truncated),
	    cmocka_unit_test(errors_name_the_line),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(files_in_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
