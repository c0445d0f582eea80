/* test_sim_model.c - the simulator's model driven through its store, as the API server would:
 * seeding, the Wukong stand-in, LiveMigratable reasons, VMIM phases and addedNodeSelector,
 * completion timeout vs. post-copy through a MigrationPolicy, parallelism limits, aborts,
 * snapshots and clones, node failure, the control API and the metrics. */
#include "../../tools/sim/sim_model.h"

#include "wk_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

static const struct sim_resource *R(const char *group, const char *version, const char *plural)
{
	const struct sim_resource *r = sim_resource_find(group, version, plural);
	assert_non_null(r);
	return r;
}

#define VMI R("kubevirt.io", "v1", "virtualmachineinstances")
#define VMIM R("kubevirt.io", "v1", "virtualmachineinstancemigrations")
#define VM R("kubevirt.io", "v1", "virtualmachines")
#define WK R("vm.novasphere.dev", "v1alpha1", "wukongs")
#define NODE R("", "v1", "nodes")
#define MP R("migrations.kubevirt.io", "v1alpha1", "migrationpolicies")
#define SNAP R("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
#define CLONE R("clone.kubevirt.io", "v1beta1", "virtualmachineclones")
#define NM R("metrics.k8s.io", "v1beta1", "nodes")
#define EVENTS R("", "v1", "events")

struct fx {
	struct sim_store *st;
	struct sim_model *m;
	char path[64];
};

static struct fx *start(const char *yaml, double factor)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];
	struct sim_model_opts o = {.time_factor = factor, .seed = 3};

	f->st = sim_store_new(100000);
	if (yaml) {
		strcpy(f->path, "/tmp/test_sim_model.XXXXXX");
		int fd = mkstemp(f->path);
		assert_true(fd >= 0);
		assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
		close(fd);
		o.scenario_path = f->path;
	}
	f->m = sim_model_new(f->st, &o, err, sizeof(err));
	if (!f->m)
		fail_msg("%s", err);
	if (sim_model_start(f->m, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return f;
}

static void stop(struct fx *f)
{
	sim_model_destroy(f->m);
	sim_store_destroy(f->st);
	if (f->path[0])
		unlink(f->path);
	free(f);
}

static const char *str_at(const cJSON *o, const char *a, const char *b, const char *c)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (c)
		x = cJSON_GetObjectItemCaseSensitive(x, c);
	return cJSON_GetStringValue(x);
}

/* Poll (real time, up to secs) until obj's status.<field> equals want. */
static cJSON *wait_status(struct fx *f, const struct sim_resource *r, const char *ns,
			  const char *name, const char *field, const char *want, double secs)
{
	for (int i = 0; i < secs * 50; i++) {
		cJSON *o = sim_store_get(f->st, r, ns, name);
		const char *v = str_at(o, "status", field, NULL);
		if (v && !strcmp(v, want))
			return o;
		cJSON_Delete(o);
		usleep(20000);
	}
	cJSON *o = sim_store_get(f->st, r, ns, name);
	char *s = o ? cJSON_Print(o) : NULL;
	fail_msg("%s/%s: status.%s never became %s: %s", ns ? ns : "", name, field, want,
		 s ? s : "(gone)");
	return NULL;
}

static void create(struct fx *f, const struct sim_resource *r, const char *ns, const char *json)
{
	struct sim_err err;
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	if (sim_store_create(f->st, r, ns, o, NULL, &err) < 0)
		fail_msg("create: %s", err.message);
}

static const cJSON *cond(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "status"), "conditions"))
	{
		if (!strcmp(str_at(c, "type", NULL, NULL), type))
			return c;
	}
	return NULL;
}

WK_UNUSED static int control(struct fx *f, const char *method, const char *path, const char *body,
			     cJSON **out)
{
	struct wk_buf b;
	wk_buf_init(&b, 1 << 20);
	int code = sim_model_control(f->m, method, path, body, body ? strlen(body) : 0, &b);
	if (out)
		*out = cJSON_Parse(wk_buf_str(&b));
	wk_buf_release(&b);
	return code;
}

static void default_cluster_seeded(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 50);
	assert_int_equal(sim_store_count(f->st, NODE), 4);
	assert_int_equal(sim_store_count(f->st, NM), 4);
	assert_int_equal(sim_store_count(f->st, WK), 10);
	/* dev-1 is not running: 9 VMIs. */
	assert_int_equal(sim_store_count(f->st, VMI), 9);
	cJSON *n = sim_store_get(f->st, NODE, NULL, "node-1");
	assert_string_equal(str_at(n, "metadata", "labels", "kubernetes.io/hostname"), "node-1");
	assert_string_equal(str_at(cond(n, "Ready"), "status", NULL, NULL), "True");
	assert_string_equal(str_at(cond(n, "MemoryPressure"), "status", NULL, NULL), "False");
	cJSON_Delete(n);

	cJSON *v = sim_store_get(f->st, VMI, "default", "web-1-vm");
	assert_string_equal(str_at(v, "status", "phase", NULL), "Running");
	assert_string_equal(str_at(cond(v, "LiveMigratable"), "status", NULL, NULL), "True");
	assert_string_equal(str_at(v, "status", "migrationMethod", NULL), "LiveMigration");
	cJSON_Delete(v);
	v = sim_store_get(f->st, VMI, "default", "db-local-vm");
	assert_string_equal(str_at(cond(v, "LiveMigratable"), "reason", NULL, NULL),
			    "DisksNotLiveMigratable");
	assert_non_null(strstr(str_at(cond(v, "LiveMigratable"), "message", NULL, NULL),
			       "PVC db-local-data is not shared, live migration requires that all "
			       "PVCs must be shared (using ReadWriteMany access mode)"));
	cJSON_Delete(v);
	v = sim_store_get(f->st, VMI, "default", "legacy-bridge-vm");
	assert_string_equal(str_at(cond(v, "LiveMigratable"), "reason", NULL, NULL),
			    "InterfaceNotLiveMigratable");
	assert_string_equal(str_at(cond(v, "LiveMigratable"), "message", NULL, NULL),
			    "cannot migrate VMI which does not use masquerade or a migratable "
			    "plugin to connect to the pod network");
	assert_null(cond(v, "AgentConnected"));
	cJSON_Delete(v);
	/* gpu-1 honours its nodeSelector. */
	v = sim_store_get(f->st, VMI, "default", "gpu-1-vm");
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "node-4");
	cJSON_Delete(v);
	cJSON *w = sim_store_get(f->st, WK, "default", "web-1");
	assert_string_equal(str_at(w, "status", "phase", NULL), "Running");
	assert_string_equal(str_at(w, "status", "vmName", NULL), "web-1-vm");
	assert_non_null(str_at(w, "status", "nodeName", NULL));
	cJSON_Delete(w);
	w = sim_store_get(f->st, WK, "dev", "dev-1");
	assert_string_equal(str_at(w, "status", "phase", NULL), "Stopped");
	cJSON_Delete(w);
	cJSON *vm = sim_store_get(f->st, VM, "dev", "dev-1-vm");
	assert_string_equal(str_at(vm, "status", "printableStatus", NULL), "Stopped");
	cJSON_Delete(vm);
	stop(f);
}

static void wukong_stand_in_and_run_strategy(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 50);
	create(
	    f, WK, "default",
	    "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":"
	    "{\"name\":\"new-1\",\"namespace\":\"default\"},\"spec\":{\"cpu\":1,\"memory\":\"1Gi\","
	    "\"nodeSelector\":{\"topology.kubernetes.io/zone\":\"zone-b\"},"
	    "\"disks\":[{\"name\":\"system\",\"size\":\"5Gi\"}]}}");
	cJSON *v = wait_status(f, VMI, "default", "new-1-vm", "phase", "Running", 10);
	const char *node = str_at(v, "status", "nodeName", NULL);
	assert_true(!strcmp(node, "node-3") || !strcmp(node, "node-4"));
	cJSON_Delete(v);
	cJSON_Delete(wait_status(f, WK, "default", "new-1", "phase", "Running", 5));
	/* Stopping through the VM's run strategy (as cold migration does) removes the VMI. */
	struct sim_err err;
	cJSON *vm = sim_store_get(f->st, VM, "default", "new-1-vm");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(vm, "spec"), "runStrategy",
				  cJSON_CreateString("Halted"));
	assert_int_equal(sim_store_update(f->st, VM, "default", "new-1-vm", vm, false, NULL, &err),
			 0);
	cJSON_Delete(wait_status(f, VM, "default", "new-1-vm", "printableStatus", "Stopped", 5));
	cJSON_Delete(wait_status(f, WK, "default", "new-1", "phase", "Stopped", 5));
	assert_null(sim_store_get(f->st, VMI, "default", "new-1-vm"));
	stop(f);
}

static int find_sched_event(const cJSON *o, void *opaque)
{
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"));
	if (r && !strcmp(r, "FailedScheduling") && msg &&
	    strstr(msg, "didn't match Pod's node affinity/selector"))
		*(bool *)opaque = true;
	return 0;
}

static const char *phases_of(const cJSON *vmim, char *buf, size_t n)
{
	const cJSON *p;
	buf[0] = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(cJSON_GetObjectItem(vmim, "status"),
						  "phaseTransitionTimestamps"))
	{
		size_t l = strlen(buf);
		snprintf(buf + l, n - l, "%s%s", l ? "," : "", str_at(p, "phase", NULL, NULL));
	}
	return buf;
}

static void migration_with_added_node_selector(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 20);
	cJSON *v = sim_store_get(f->st, VMI, "default", "web-1-vm");
	char src[64];
	snprintf(src, sizeof(src), "%s", str_at(v, "status", "nodeName", NULL));
	cJSON_Delete(v);
	const char *target = strcmp(src, "node-2") ? "node-2" : "node-1";
	char json[512];
	snprintf(
	    json, sizeof(json),
	    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
	    "\"metadata\":{\"name\":\"mig-1\",\"namespace\":\"default\"},\"spec\":{\"vmiName\":"
	    "\"web-1-vm\",\"addedNodeSelector\":{\"kubernetes.io/hostname\":\"%s\"}}}",
	    target);
	create(f, VMIM, "default", json);
	cJSON *g = wait_status(f, VMIM, "default", "mig-1", "phase", "Succeeded", 20);
	char buf[256];
	assert_string_equal(phases_of(g, buf, sizeof(buf)),
			    "Pending,Scheduling,Scheduled,PreparingTarget,TargetReady,Running,"
			    "Succeeded");
	assert_string_equal(str_at(g, "metadata", "labels", "kubevirt.io/vmi-name"), "web-1-vm");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"), "completed")));
	/* The finalizer is gone once final. */
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(g, "metadata"), "finalizers"));
	cJSON_Delete(g);
	v = sim_store_get(f->st, VMI, "default", "web-1-vm");
	assert_string_equal(str_at(v, "status", "nodeName", NULL), target);
	assert_string_equal(str_at(v, "status", "migrationState", "sourceNode"), src);
	assert_string_equal(str_at(v, "status", "migrationState", "targetNode"), target);
	assert_string_equal(str_at(v, "status", "migrationState", "mode"), "PreCopy");
	assert_non_null(str_at(v, "status", "migrationState", "startTimestamp"));
	assert_non_null(str_at(v, "status", "migrationState", "endTimestamp"));
	cJSON *mc = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(v, "status"), "migrationState"),
	    "migrationConfiguration");
	assert_int_equal(cJSON_GetObjectItem(mc, "completionTimeoutPerGiB")->valueint, 150);
	assert_int_equal(cJSON_GetObjectItem(mc, "parallelMigrationsPerCluster")->valueint, 5);
	cJSON_Delete(v);

	/* A selector nothing matches: Scheduling, with a FailedScheduling event. */
	create(f, VMIM, "default",
	       "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
	       "\"metadata\":{\"name\":\"mig-2\",\"namespace\":\"default\"},\"spec\":{\"vmiName\":"
	       "\"web-2-vm\",\"addedNodeSelector\":{\"kubernetes.io/hostname\":\"nowhere\"}}}");
	cJSON_Delete(wait_status(f, VMIM, "default", "mig-2", "phase", "Scheduling", 5));
	bool seen = false;
	for (int i = 0; i < 100 && !seen; i++) {
		usleep(20000);
		sim_store_foreach(f->st, EVENTS, "default", find_sched_event, &seen);
	}
	assert_true(seen);
	stop(f);
}

int main(void)
{
	wk_log_init("test", WK_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_cluster_seeded),
	    cmocka_unit_test(wukong_stand_in_and_run_strategy),
	    cmocka_unit_test(migration_with_added_node_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
