/* test_sim_model.c - the simulator's model driven through its store, as the API server would:
 * seeding, the Wukong stand-in, LiveMigratable reasons, VMIM phases and addedNodeSelector,
 * completion timeout vs. post-copy through a MigrationPolicy, parallelism limits, aborts,
 * snapshots and clones, node failure, the control API and the metrics. */
#include "../../tools/sim/sim_model.h"

#include "wk_log.h"
#include "wk_quantity.h"

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
#define KV R("kubevirt.io", "v1", "kubevirts")
#define DV R("cdi.kubevirt.io", "v1beta1", "datavolumes")

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

static int control(struct fx *f, const char *method, const char *path, const char *body,
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
	/* The scenario's VMs look as wukong-provisioner made them; their Wukongs' status is the
	 * provisioner's to write (no stand-in). */
	cJSON *w = sim_store_get(f->st, VM, "default", "web-1-vm");
	assert_string_equal(str_at(w, "metadata", "labels", "vm.novasphere.dev/provisioner"),
			    "wukong-provisioner");
	cJSON_Delete(w);
	w = sim_store_get(f->st, WK, "default", "web-1");
	assert_null(str_at(w, "status", "phase", NULL));
	cJSON_Delete(w);
	cJSON *vm = sim_store_get(f->st, VM, "dev", "dev-1-vm");
	assert_string_equal(str_at(vm, "status", "printableStatus", NULL), "Stopped");
	cJSON_Delete(vm);
	stop(f);
}

/* No Wukong stand-in: a Wukong alone gets no VM. A VM with dataVolumeTemplates (as
 * wukong-provisioner writes it) gets its DataVolumes, which import with progress and let the VMI
 * run once Succeeded; an unreachable source fails as CDI's importer does. */
static void datavolumes_and_run_strategy(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 50);
	create(f, WK, "default",
	       "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":"
	       "{\"name\":\"lonely\",\"namespace\":\"default\"},\"spec\":{\"cpu\":1}}");
	create(f, VM, "default",
	       "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{"
	       "\"name\":\"new-1-vm\",\"namespace\":\"default\"},\"spec\":{\"runStrategy\":"
	       "\"Always\",\"dataVolumeTemplates\":[{\"metadata\":{\"name\":\"new-1-system\"},"
	       "\"spec\":{\"source\":{\"http\":{\"url\":\"https://images.example.com/a.img\"}},"
	       "\"storage\":{\"resources\":{\"requests\":{\"storage\":\"5Gi\"}}}}}],"
	       "\"template\":{\"spec\":{\"nodeSelector\":{\"topology.kubernetes.io/zone\":"
	       "\"zone-b\"},\"domain\":{\"cpu\":{\"cores\":1},\"memory\":{\"guest\":\"1Gi\"},"
	       "\"resources\":{\"requests\":{\"memory\":\"1Gi\"}},\"devices\":{\"disks\":[{"
	       "\"name\":\"system\",\"disk\":{\"bus\":\"virtio\"}}]}},\"volumes\":[{\"name\":"
	       "\"system\",\"dataVolume\":{\"name\":\"new-1-system\"}}]}}}}");
	cJSON *d = wait_status(f, DV, "default", "new-1-system", "phase", "ImportInProgress", 20);
	assert_non_null(strchr(str_at(d, "status", "progress", NULL), '%'));
	cJSON_Delete(d);
	/* no VMI before the disk is populated */
	assert_null(sim_store_get(f->st, VMI, "default", "new-1-vm"));
	cJSON_Delete(wait_status(f, DV, "default", "new-1-system", "progress", "100.0%", 30));
	cJSON *v = wait_status(f, VMI, "default", "new-1-vm", "phase", "Running", 20);
	const char *node = str_at(v, "status", "nodeName", NULL);
	assert_true(!strcmp(node, "node-3") || !strcmp(node, "node-4"));
	cJSON_Delete(v);
	v = sim_store_get(f->st, R("", "v1", "persistentvolumeclaims"), "default", "new-1-system");
	assert_string_equal(str_at(v, "status", "phase", NULL), "Bound");
	cJSON_Delete(v);
	assert_null(sim_store_get(f->st, VM, "default", "lonely-vm"));
	/* Stopping through the VM's run strategy (as cold migration does) removes the VMI. */
	struct sim_err err;
	cJSON *vm = sim_store_get(f->st, VM, "default", "new-1-vm");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(vm, "spec"), "runStrategy",
				  cJSON_CreateString("Halted"));
	assert_int_equal(sim_store_update(f->st, VM, "default", "new-1-vm", vm, false, NULL, &err),
			 0);
	cJSON_Delete(wait_status(f, VM, "default", "new-1-vm", "printableStatus", "Stopped", 20));
	assert_null(sim_store_get(f->st, VMI, "default", "new-1-vm"));

	/* An unreachable source: Running=False, Error, the importer's message. */
	create(f, DV, "default",
	       "{\"apiVersion\":\"cdi.kubevirt.io/v1beta1\",\"kind\":\"DataVolume\",\"metadata\":{"
	       "\"name\":\"bad\",\"namespace\":\"default\"},\"spec\":{\"source\":{\"http\":{"
	       "\"url\":\"http://images.invalid/x.img\"}},\"storage\":{\"resources\":{"
	       "\"requests\":{\"storage\":\"1Gi\"}}}}}");
	for (int i = 0; i < 400; i++) {
		d = sim_store_get(f->st, DV, "default", "bad");
		if (cond(d, "Running") && str_at(cond(d, "Running"), "reason", NULL, NULL) &&
		    !strcmp(str_at(cond(d, "Running"), "reason", NULL, NULL), "Error"))
			break;
		cJSON_Delete(d);
		d = NULL;
		usleep(50000);
	}
	assert_non_null(d);
	assert_non_null(strstr(str_at(cond(d, "Running"), "message", NULL, NULL), "no such host"));
	assert_string_equal(str_at(d, "status", "phase", NULL), "ImportInProgress");
	cJSON_Delete(d);

	/* An unknown class: the DataVolume stays Pending. */
	create(f, DV, "default",
	       "{\"apiVersion\":\"cdi.kubevirt.io/v1beta1\",\"kind\":\"DataVolume\",\"metadata\":{"
	       "\"name\":\"nocls\",\"namespace\":\"default\"},\"spec\":{\"source\":{\"blank\":{}},"
	       "\"storage\":{\"storageClassName\":\"gold\",\"resources\":{\"requests\":{"
	       "\"storage\":\"1Gi\"}}}}}");
	cJSON_Delete(wait_status(f, DV, "default", "nocls", "phase", "Pending", 20));

	/* Placement: a VM larger than any node's free memory stays Pending and says why. */
	create(f, VM, "default",
	       "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{"
	       "\"name\":\"huge-vm\",\"namespace\":\"default\"},\"spec\":{\"runStrategy\":"
	       "\"Always\",\"template\":{\"spec\":{\"domain\":{\"cpu\":{\"cores\":2},"
	       "\"memory\":{\"guest\":\"200Gi\"},\"resources\":{\"requests\":{\"memory\":"
	       "\"200Gi\"}},\"devices\":{}}}}}}");
	cJSON *vmh =
	    wait_status(f, VM, "default", "huge-vm", "printableStatus", "ErrorUnschedulable", 20);
	cJSON_Delete(vmh);
	v = sim_store_get(f->st, VMI, "default", "huge-vm");
	assert_string_equal(str_at(v, "status", "phase", NULL), "Pending");
	assert_string_equal(str_at(cond(v, "PodScheduled"), "reason", NULL, NULL), "Unschedulable");
	assert_string_equal(str_at(cond(v, "PodScheduled"), "message", NULL, NULL),
			    "0/4 nodes are available: 4 Insufficient memory. preemption: 0/4 nodes "
			    "are available: 4 Preemption is not helpful for scheduling.");
	cJSON_Delete(v);
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
	cJSON_Delete(wait_status(f, VMIM, "default", "mig-2", "phase", "Scheduling", 20));
	bool seen = false;
	for (int i = 0; i < 100 && !seen; i++) {
		usleep(20000);
		sim_store_foreach(f->st, EVENTS, "default", find_sched_event, &seen);
	}
	assert_true(seen);
	stop(f);
}

/* batch-1 dirties 1.5 GiB/s over a 1 GiB/s link: never converges in pre-copy. */
static const char *const SLOW =
    "seed: 5\n"
    "linkBandwidth: 1Gi\n"
    "migrations: {completionTimeoutPerGiB: 5, progressTimeout: 1000, "
    "parallelOutboundMigrationsPerNode: 1}\n"
    "nodes:\n"
    "  - {name: a, cpu: 32, memory: 64Gi, labels: {zone: a}}\n"
    "  - {name: b, cpu: 32, memory: 64Gi, labels: {zone: b}}\n"
    "vms:\n"
    "  - {name: hot, memory: 4Gi, dirtyRate: 1536Mi, nodeSelector: {zone: a}, labels: {tier: hot},"
    " disks: [{name: system, size: 4Gi}]}\n"
    "  - {name: calm, count: 3, memory: 2Gi, dirtyRate: 1Mi, disks: [{name: system, size: 4Gi}]}\n";

static void vmim(struct fx *f, const char *name, const char *vmi)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
		 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{\"vmiName\":"
		 "\"%s\"}}",
		 name, vmi);
	create(f, VMIM, "default", json);
}

static const char *ms_str(const cJSON *obj, const char *field)
{
	return str_at(cJSON_GetObjectItem(obj, "status"), "migrationState", field, NULL);
}

static void timeout_then_post_copy_policy(void **state)
{
	(void)state;
	struct fx *f = start(SLOW, 40);
	/* hot is pinned to zone a by its own selector, so it cannot leave: relax by a policy?
	 * No: the VM selector wins over addedNodeSelector, and the only other node is in zone b.
	 * Use a calm VM's node instead: migrate hot after relabelling b. */
	struct sim_err err;
	cJSON *n = sim_store_get(f->st, NODE, NULL, "b");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "metadata"), "labels"),
				  "zone", cJSON_CreateString("a"));
	assert_int_equal(sim_store_update(f->st, NODE, NULL, "b", n, false, NULL, &err), 0);
	usleep(200000);

	vmim(f, "slow-1", "hot-vm");
	cJSON *g = wait_status(f, VMIM, "default", "slow-1", "phase", "Failed", 30);
	/* 5 s/GiB x 4 GiB = 20 s budget. */
	assert_string_equal(
	    ms_str(g, "failureReason"),
	    "Live migration is not completed after 20 seconds and has been aborted");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"), "failed")));
	cJSON_Delete(g);
	cJSON *v = sim_store_get(f->st, VMI, "default", "hot-vm");
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "a");
	assert_string_equal(
	    ms_str(v, "failureReason"),
	    "Live migration is not completed after 20 seconds and has been aborted");
	cJSON_Delete(v);

	/* A policy selecting the VMI by label allows post-copy: the same VM now completes. */
	create(f, MP, NULL,
	       "{\"apiVersion\":\"migrations.kubevirt.io/v1alpha1\",\"kind\":\"MigrationPolicy\","
	       "\"metadata\":{\"name\":\"hot-postcopy\"},\"spec\":{\"allowPostCopy\":true,"
	       "\"selectors\":{\"virtualMachineInstanceSelector\":{\"tier\":\"hot\"}}}}");
	create(f, MP, NULL,
	       "{\"apiVersion\":\"migrations.kubevirt.io/v1alpha1\",\"kind\":\"MigrationPolicy\","
	       "\"metadata\":{\"name\":\"zzz-other\"},\"spec\":{\"allowPostCopy\":false,"
	       "\"selectors\":{\"virtualMachineInstanceSelector\":{\"tier\":\"cold\"}}}}");
	usleep(200000);
	vmim(f, "slow-2", "hot-vm");
	g = wait_status(f, VMIM, "default", "slow-2", "phase", "Succeeded", 40);
	assert_string_equal(ms_str(g, "mode"), "PostCopy");
	assert_string_equal(ms_str(g, "migrationPolicyName"), "hot-postcopy");
	cJSON *mc = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"),
	    "migrationConfiguration");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(mc, "allowPostCopy")));
	assert_int_equal(cJSON_GetObjectItem(mc, "completionTimeoutPerGiB")->valueint, 5);
	cJSON_Delete(g);
	v = sim_store_get(f->st, VMI, "default", "hot-vm");
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "b");
	cJSON_Delete(v);
	stop(f);
}

static int count_phase(struct fx *f, const char *phase)
{
	int n = 0;
	const char *names[] = {"p1", "p2", "p3"};
	for (int i = 0; i < 3; i++) {
		cJSON *o = sim_store_get(f->st, VMIM, "default", names[i]);
		const char *ph = str_at(o, "status", "phase", NULL);
		n += ph && !strcmp(ph, phase);
		cJSON_Delete(o);
	}
	return n;
}

static void limits_abort_and_metrics(void **state)
{
	(void)state;
	struct fx *f = start(SLOW, 10);
	/* Put all calm VMs on one node first is not needed: outbound limit 1 per node applies
	 * to whichever node holds them; count how many leave Pending at once. */
	cJSON *c1 = sim_store_get(f->st, VMI, "default", "calm-1-vm");
	cJSON *c2 = sim_store_get(f->st, VMI, "default", "calm-2-vm");
	cJSON *c3 = sim_store_get(f->st, VMI, "default", "calm-3-vm");
	bool same =
	    !strcmp(str_at(c1, "status", "nodeName", NULL), str_at(c2, "status", "nodeName", NULL));
	cJSON_Delete(c1);
	cJSON_Delete(c2);
	cJSON_Delete(c3);
	/* slow down so that a migration stays Running for a while */
	assert_int_equal(
	    control(f, "POST", "/vms/default/hot/dirty-rate", "{\"dirtyRate\":\"512Mi\"}", NULL),
	    200);
	assert_int_equal(
	    control(f, "POST", "/vms/default/nope/dirty-rate", "{\"dirtyRate\":\"1\"}", NULL), 404);
	assert_int_equal(
	    control(f, "POST", "/vms/default/hot/dirty-rate", "{\"dirtyRate\":-1}", NULL), 400);
	vmim(f, "p1", "calm-1-vm");
	vmim(f, "p2", "calm-2-vm");
	if (same) {
		usleep(300000);
		/* parallelOutboundMigrationsPerNode: 1 -> one of the two waits in Pending. */
		assert_int_equal(count_phase(f, "Pending"), 1);
	}
	cJSON_Delete(wait_status(f, VMIM, "default", "p1", "phase", "Succeeded", 20));
	cJSON_Delete(wait_status(f, VMIM, "default", "p2", "phase", "Succeeded", 20));

	/* Abort a running migration by deleting it. */
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":2}", NULL), 200);
	assert_int_equal(control(f, "POST", "/vms/default/calm-3/dirty-rate",
				 "{\"dirtyRate\":\"1900Mi\"}", NULL),
			 200);
	vmim(f, "p3", "calm-3-vm");
	cJSON_Delete(wait_status(f, VMIM, "default", "p3", "phase", "Running", 20));
	usleep(300000);
	struct wk_buf b;
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(sim_model_metrics(f->m, &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "kubevirt_vmi_migration_data_remaining_bytes{name=\""
					       "calm-3-vm\",namespace=\"default\",node=\""));
	assert_non_null(
	    strstr(wk_buf_str(&b), "# TYPE kubevirt_vmi_migration_data_bytes_total counter"));
	assert_non_null(
	    strstr(wk_buf_str(&b), "kubevirt_vmi_migration_memory_transfer_rate_bytes{"));
	assert_non_null(strstr(wk_buf_str(&b), "kubevirt_vmi_migration_dirty_memory_rate_bytes{"));
	assert_non_null(strstr(wk_buf_str(&b), "kubevirt_vmi_migration_data_processed_bytes{"));
	assert_non_null(strstr(wk_buf_str(&b), "kubevirt_vmi_migrations_in_running_phase 1"));
	wk_buf_release(&b);
	struct sim_err err;
	assert_int_equal(sim_store_delete(f->st, VMIM, "default", "p3", NULL, &err), 0);
	for (int i = 0; i < 200; i++) {
		cJSON *o = sim_store_get(f->st, VMIM, "default", "p3");
		if (!o)
			break;
		cJSON_Delete(o);
		usleep(20000);
	}
	assert_null(sim_store_get(f->st, VMIM, "default", "p3"));
	cJSON *v = sim_store_get(f->st, VMI, "default", "calm-3-vm");
	assert_string_equal(ms_str(v, "abortStatus"), "Succeeded");
	assert_string_equal(ms_str(v, "failureReason"), "Live migration has been aborted");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(v, "status"), "migrationState"),
	    "abortRequested")));
	cJSON_Delete(v);

	cJSON *st = NULL;
	assert_int_equal(control(f, "GET", "/state", NULL, &st), 200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(st, "migrations"), "succeeded")->valueint, 2);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(st, "migrations"), "failed")->valueint, 1);
	cJSON_Delete(st);
	stop(f);
}

/* A change of the KubeVirt CR applies to the next migrations: one at a time cluster-wide. */
static void kubevirt_cr_changes_apply(void **state)
{
	(void)state;
	struct fx *f = start(SLOW, 2);
	struct sim_err err;
	cJSON *kv = sim_store_get(f->st, KV, "kubevirt", "kubevirt");
	cJSON *mig = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "spec"), "configuration"), "migrations");
	cJSON_ReplaceItemInObject(mig, "parallelMigrationsPerCluster", cJSON_CreateNumber(1));
	assert_int_equal(sim_store_update(f->st, KV, "kubevirt", "kubevirt", kv, false, NULL, &err),
			 0);
	usleep(300000);
	vmim(f, "p1", "calm-1-vm");
	usleep(100000);
	vmim(f, "p2", "calm-2-vm");
	usleep(400000);
	/* The first holds the only slot (about 6 simulated seconds = 3 s here). */
	assert_int_equal(count_phase(f, "Pending"), 1);
	cJSON *g = wait_status(f, VMIM, "default", "p2", "phase", "Succeeded", 30);
	cJSON *mc = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"),
	    "migrationConfiguration");
	assert_int_equal(cJSON_GetObjectItem(mc, "parallelMigrationsPerCluster")->valueint, 1);
	cJSON_Delete(g);
	cJSON_Delete(wait_status(f, VMIM, "default", "p1", "phase", "Succeeded", 30));
	stop(f);
}

static void not_migratable_fails_fast(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 20);
	vmim(f, "nope", "db-local-vm");
	cJSON *g = wait_status(f, VMIM, "default", "nope", "phase", "Failed", 20);
	cJSON_Delete(g);
	/* Only the 5 most recent finalized migrations of a VMI are kept. */
	const char *names[] = {"n1", "n2", "n3", "n4", "n5", "n6"};
	for (int i = 0; i < 6; i++) {
		vmim(f, names[i], "db-local-vm");
		cJSON_Delete(wait_status(f, VMIM, "default", names[i], "phase", "Failed", 20));
	}
	usleep(100000);
	assert_null(sim_store_get(f->st, VMIM, "default", "nope"));
	cJSON *kept = sim_store_get(f->st, VMIM, "default", "n2");
	assert_non_null(kept);
	cJSON_Delete(kept);
	vmim(f, "ghost", "no-such-vm");
	cJSON_Delete(wait_status(f, VMIM, "default", "ghost", "phase", "Failed", 20));
	/* The same checks as admission, for the HTTP layer. */
	char msg[1024];
	cJSON *o = cJSON_Parse("{\"spec\":{\"vmiName\":\"db-local-vm\"}}");
	assert_int_equal(sim_model_admit(f->m, VMIM, "default", o, msg, sizeof(msg)), 400);
	assert_string_equal(msg,
			    "admission webhook \"migration-create-validator.kubevirt.io\" denied "
			    "the request: Cannot migrate VMI, Reason: DisksNotLiveMigratable, "
			    "Message: cannot migrate VMI: PVC db-local-data is not shared, live "
			    "migration requires that all PVCs must be shared (using ReadWriteMany "
			    "access mode)");
	cJSON_Delete(o);
	o = cJSON_Parse("{\"spec\":{\"vmiName\":\"web-1-vm\"}}");
	assert_int_equal(sim_model_admit(f->m, VMIM, "default", o, msg, sizeof(msg)), 0);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"spec\":{}}");
	assert_int_equal(sim_model_admit(f->m, VMIM, "default", o, msg, sizeof(msg)), 422);
	assert_non_null(strstr(msg, "vmiName is missing"));
	cJSON_Delete(o);
	o = cJSON_Parse("{\"spec\":{\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":"
			"\"VirtualMachineInstance\",\"name\":\"x\"}}}");
	assert_int_equal(sim_model_admit(f->m, SNAP, "default", o, msg, sizeof(msg)), 422);
	assert_non_null(strstr(msg, "invalid kind"));
	assert_int_equal(sim_model_admit(f->m, CLONE, "default", o, msg, sizeof(msg)), 422);
	cJSON_Delete(o);
	assert_int_equal(sim_model_admit(f->m, WK, "default", NULL, msg, sizeof(msg)), 0);
	/* Updates: the spec of a VMIM or a snapshot is immutable; metadata may change. */
	cJSON *a = cJSON_Parse("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"vmiName\":\"a\"}}");
	cJSON *b = cJSON_Parse("{\"metadata\":{\"name\":\"m\",\"labels\":{\"x\":\"y\"}},"
			       "\"spec\":{\"vmiName\":\"a\"}}");
	cJSON *c = cJSON_Parse("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"vmiName\":\"b\"}}");
	cJSON *e1 = cJSON_Parse("{\"metadata\":{}}"), *e2 = cJSON_Parse("{\"spec\":{}}");
	assert_int_equal(sim_model_admit_update(f->m, VMIM, "default", a, b, msg, sizeof(msg)), 0);
	assert_int_equal(sim_model_admit_update(f->m, VMIM, "default", a, c, msg, sizeof(msg)),
			 422);
	assert_string_equal(msg, "admission webhook \"migration-update-validator.kubevirt.io\" "
				 "denied the request: update of Migration object's spec is "
				 "restricted");
	assert_int_equal(sim_model_admit_update(f->m, SNAP, "default", a, c, msg, sizeof(msg)),
			 422);
	assert_non_null(strstr(msg, "virtualmachinesnapshot-validator.snapshot.kubevirt.io"));
	assert_int_equal(sim_model_admit_update(f->m, VMIM, "default", e1, e2, msg, sizeof(msg)),
			 0); /* absent spec == empty spec */
	assert_int_equal(sim_model_admit_update(f->m, VMIM, "default", e1, a, msg, sizeof(msg)),
			 422);
	assert_int_equal(sim_model_admit_update(f->m, WK, "default", a, c, msg, sizeof(msg)), 0);
	assert_int_equal(sim_model_admit_update(f->m, VMIM, "default", NULL, c, msg, sizeof(msg)),
			 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(e1);
	cJSON_Delete(e2);
	stop(f);
}

static void snapshots_and_clones(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 50);
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s1\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	    "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-1-vm\"}}}");
	cJSON *s = wait_status(f, SNAP, "default", "s1", "phase", "Succeeded", 20);
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "status"), "readyToUse")));
	char *txt = cJSON_PrintUnformatted(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(s, "status"), "indications"));
	assert_string_equal(txt, "[\"Online\",\"GuestAgent\"]");
	free(txt);
	assert_non_null(str_at(s, "status", "creationTime", NULL));
	cJSON_Delete(s);
	/* A snapshot of a VM with a local volume stays not ready and says why, until its
	 * failureDeadline. */
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s2\",\"namespace\":\"default\"},\"spec\":{"
	    "\"failureDeadline\":"
	    "\"1m\",\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	    "\"db-local-vm\"}}}");
	s = wait_status(f, SNAP, "default", "s2", "phase", "InProgress", 20);
	assert_non_null(
	    strstr(str_at(cond(s, "Ready"), "message", NULL, NULL), "No VolumeSnapshotClass"));
	cJSON_Delete(s);
	s = wait_status(f, SNAP, "default", "s2", "phase", "Failed", 20);
	assert_string_equal(str_at(cond(s, "Failure"), "message", NULL, NULL),
			    "snapshot deadline exceeded");
	cJSON_Delete(s);
	/* Wrong source kind. */
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s3\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	    "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachineInstance\",\"name\":\"x\"}}}");
	cJSON_Delete(wait_status(f, SNAP, "default", "s3", "phase", "Failed", 20));

	/* Clone of a running VM into a new VM: new MAC, filters applied. */
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"c1\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	       "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-2-vm\"},"
	       "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	       "\"web-2-copy\"},\"newMacAddresses\":{\"default\":\"02:00:00:00:00:aa\"},"
	       "\"newSMBiosSerial\":\"serial-1\"}}");
	cJSON *c = wait_status(f, CLONE, "default", "c1", "phase", "Succeeded", 30);
	assert_null(str_at(c, "status", "snapshotName", NULL));
	assert_null(str_at(c, "status", "restoreName", NULL));
	cJSON_Delete(c);
	cJSON *vm = sim_store_get(f->st, VM, "default", "web-2-copy");
	assert_non_null(vm);
	char *vtxt = cJSON_PrintUnformatted(vm);
	assert_non_null(strstr(vtxt, "\"macAddress\":\"02:00:00:00:00:aa\""));
	assert_non_null(strstr(vtxt, "\"serial\":\"serial-1\""));
	assert_non_null(strstr(vtxt, "restore-"));
	free(vtxt);
	cJSON_Delete(vm);
	cJSON_Delete(wait_status(f, VMI, "default", "web-2-copy", "phase", "Running", 20));
	/* The temporary snapshot is gone. */
	assert_int_equal(sim_store_count(f->st, SNAP), 3);

	/* Clone of a VM with non-snapshottable storage stays pending. */
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"c2\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	       "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"db-local-vm\"}"
	       "}}");
	usleep(500000);
	c = sim_store_get(f->st, CLONE, "default", "c2");
	assert_null(str_at(c, "status", "phase", NULL));
	assert_string_equal(str_at(cond(c, "Progressing"), "reason", NULL, NULL), "Pending");
	cJSON_Delete(c);
	/* Clone from a snapshot. */
	create(
	    f, CLONE, "default",
	    "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	    "\"metadata\":{\"name\":\"c3\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	    "{\"apiGroup\":\"snapshot.kubevirt.io\",\"kind\":\"VirtualMachineSnapshot\",\"name\":"
	    "\"s1\"},\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\","
	    "\"name\":\"from-snap\"}}}");
	c = wait_status(f, CLONE, "default", "c3", "phase", "Succeeded", 30);
	assert_string_equal(str_at(c, "status", "snapshotName", NULL), "s1");
	cJSON_Delete(c);
	stop(f);
}

static int find_clone_failed(const cJSON *o, void *opaque)
{
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"));
	const char *name = str_at(o, "involvedObject", "name", NULL);
	if (r && !strcmp(r, "CloneFailed") && name && !strcmp(name, "bad") && msg &&
	    strstr(msg, "error patching VM bad-copy"))
		*(bool *)opaque = true;
	return 0;
}

/* spec.patches: applied to the target VM after the generated changes; a patch that does not
 * apply (or is not JSON) fails the clone with a condition and an event, and no VM appears. */
static void clone_patches(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 50);
	create(
	    f, CLONE, "default",
	    "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	    "\"metadata\":{\"name\":\"ok\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	    "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-2-vm\"},"
	    "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	    "\"ok-copy\"},\"patches\":["
	    "\"{\\\"op\\\":\\\"add\\\",\\\"path\\\":\\\"/metadata/labels/patched\\\",\\\"value\\\":"
	    "\\\"yes\\\"}\","
	    "\"{\\\"op\\\":\\\"remove\\\",\\\"path\\\":\\\"/spec/template/spec/domain/firmware/"
	    "serial\\\"}\"]}}");
	cJSON_Delete(wait_status(f, CLONE, "default", "ok", "phase", "Succeeded", 30));
	cJSON *vm = sim_store_get(f->st, VM, "default", "ok-copy");
	assert_non_null(vm);
	assert_string_equal(str_at(vm, "metadata", "labels", "patched"), "yes");
	const cJSON *fw = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "template"), "spec"),
		    "domain"),
		"firmware"),
	    "serial");
	assert_null(fw); /* removed after the generated serial was set */
	cJSON_Delete(vm);

	/* A path that does not exist. */
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"bad\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	       "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-2-vm\"},"
	       "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	       "\"bad-copy\"},\"patches\":["
	       "\"{\\\"op\\\":\\\"add\\\",\\\"path\\\":\\\"/metadata/labels/fine\\\",\\\"value\\\":"
	       "\\\"1\\\"}\","
	       "\"{\\\"op\\\":\\\"remove\\\",\\\"path\\\":\\\"/spec/no/such\\\"}\"]}}");
	cJSON *c = wait_status(f, CLONE, "default", "bad", "phase", "Failed", 30);
	const char *m = str_at(cond(c, "Ready"), "message", NULL, NULL);
	assert_non_null(m);
	assert_non_null(strstr(m, "error patching VM bad-copy"));
	assert_string_equal(str_at(cond(c, "Ready"), "status", NULL, NULL), "False");
	cJSON_Delete(c);
	assert_null(sim_store_get(f->st, VM, "default", "bad-copy"));
	bool seen = false;
	for (int i = 0; i < 100 && !seen; i++) {
		sim_store_foreach(f->st, EVENTS, "default", find_clone_failed, &seen);
		if (!seen)
			usleep(20000);
	}
	assert_true(seen);

	/* Not JSON at all. */
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"junk\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	       "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-2-vm\"},"
	       "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	       "\"junk-copy\"},\"patches\":[\"{not json\"]}}");
	c = wait_status(f, CLONE, "default", "junk", "phase", "Failed", 30);
	assert_non_null(strstr(str_at(cond(c, "Ready"), "message", NULL, NULL),
			       "is not a JSON patch operation"));
	cJSON_Delete(c);
	assert_null(sim_store_get(f->st, VM, "default", "junk-copy"));
	stop(f);
}

static void node_failure_and_pressure(void **state)
{
	(void)state;
	const char *yaml = "nodeGracePeriod: 5\nevictionTimeout: 10\nmemoryPressurePercent: 90\n"
			   "nodes:\n  - {name: a, cpu: 8, memory: 16Gi}\n"
			   "  - {name: b, cpu: 8, memory: 16Gi}\n"
			   "vms:\n  - {name: v, memory: 1Gi, disks: [{name: d, size: 1Gi}]}\n";
	struct fx *f = start(yaml, 10);
	cJSON *v = sim_store_get(f->st, VMI, "default", "v-vm");
	char node[16];
	snprintf(node, sizeof(node), "%s", str_at(v, "status", "nodeName", NULL));
	cJSON_Delete(v);
	char path[64];
	snprintf(path, sizeof(path), "/nodes/%s/fail", node);
	assert_int_equal(control(f, "POST", path, NULL, NULL), 200);
	assert_int_equal(control(f, "POST", "/nodes/zz/fail", NULL, NULL), 404);
	assert_int_equal(control(f, "GET", "/nope", NULL, NULL), 404);
	/* Ready=Unknown after the grace period, with the unreachable taints. */
	for (int i = 0; i < 200; i++) {
		cJSON *n = sim_store_get(f->st, NODE, NULL, node);
		bool unknown = !strcmp(str_at(cond(n, "Ready"), "status", NULL, NULL), "Unknown");
		char *t = cJSON_PrintUnformatted(n);
		bool tainted = strstr(t, "node.kubernetes.io/unreachable") != NULL;
		free(t);
		cJSON_Delete(n);
		if (unknown && tainted)
			break;
		assert_true(i < 199);
		usleep(20000);
	}
	/* After the eviction timeout the VMI fails and the VM starts a new one elsewhere. */
	const char *other = strcmp(node, "a") ? "a" : "b";
	for (int i = 0; i < 300; i++) {
		cJSON *x = sim_store_get(f->st, VMI, "default", "v-vm");
		const char *ph = str_at(x, "status", "phase", NULL);
		const char *nn = str_at(x, "status", "nodeName", NULL);
		bool moved = ph && nn && !strcmp(ph, "Running") && !strcmp(nn, other);
		cJSON_Delete(x);
		if (moved)
			break;
		assert_true(i < 299);
		usleep(20000);
	}
	snprintf(path, sizeof(path), "/nodes/%s/recover", node);
	assert_int_equal(control(f, "POST", path, NULL, NULL), 200);
	cJSON *n = sim_store_get(f->st, NODE, NULL, node);
	assert_string_equal(str_at(cond(n, "Ready"), "status", NULL, NULL), "True");
	cJSON_Delete(n);

	/* Memory pressure: NodeMetrics usage and the MemoryPressure condition. */
	snprintf(path, sizeof(path), "/nodes/%s/pressure", other);
	assert_int_equal(control(f, "POST", path, "{\"memoryPercent\":95,\"cpuPercent\":50}", NULL),
			 200);
	assert_int_equal(control(f, "POST", path, "{\"memoryPercent\":101}", NULL), 400);
	n = sim_store_get(f->st, NODE, NULL, other);
	assert_string_equal(str_at(cond(n, "MemoryPressure"), "status", NULL, NULL), "True");
	cJSON_Delete(n);
	cJSON *nm = sim_store_get(f->st, NM, NULL, other);
	const char *mem = str_at(nm, "usage", "memory", NULL);
	/* 95% of (16Gi - 512Mi reserved) in KiB */
	char want[64];
	snprintf(want, sizeof(want), "%lldKi",
		 (long long)(((INT64_C(16) << 30) - (INT64_C(512) << 20)) * 95 / 100 / 1024));
	assert_string_equal(mem, want);
	/* CPU: 50 % of allocatable, in nanocores as metrics-server prints it. */
	int64_t cpu_milli = -1, alloc_milli = -1;
	n = sim_store_get(f->st, NODE, NULL, other);
	assert_int_equal(wk_quantity_parse_milli(str_at(n, "status", "allocatable", "cpu"),
						 &alloc_milli, NULL, 0),
			 0);
	cJSON_Delete(n);
	const char *cpu = str_at(nm, "usage", "cpu", NULL);
	assert_non_null(cpu);
	assert_int_equal(cpu[strlen(cpu) - 1], 'n');
	assert_int_equal(wk_quantity_parse_milli(cpu, &cpu_milli, NULL, 0), 0);
	assert_true(alloc_milli > 0);
	assert_int_equal(cpu_milli, alloc_milli * 50 / 100);
	assert_int_equal(control(f, "POST", path, "{\"cpuPercent\":101}", NULL), 400);
	assert_int_equal(control(f, "POST", path, "{\"cpuPercent\":-2}", NULL), 400);
	cJSON_Delete(nm);
	assert_int_equal(control(f, "POST", path, "{\"memoryPercent\":null}", NULL), 200);
	n = sim_store_get(f->st, NODE, NULL, other);
	assert_string_equal(str_at(cond(n, "MemoryPressure"), "status", NULL, NULL), "False");
	cJSON_Delete(n);

	struct sim_err err;
	/* out-of-service on a NotReady node: its VMIs fail at once and restart elsewhere. */
	snprintf(path, sizeof(path), "/nodes/%s/fail", other);
	assert_int_equal(control(f, "POST", path, NULL, NULL), 200);
	for (int i = 0; i < 200; i++) {
		n = sim_store_get(f->st, NODE, NULL, other);
		bool unknown = !strcmp(str_at(cond(n, "Ready"), "status", NULL, NULL), "Unknown");
		cJSON_Delete(n);
		if (unknown)
			break;
		assert_true(i < 199);
		usleep(20000);
	}
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":1}", NULL), 200);
	n = sim_store_get(f->st, NODE, NULL, other);
	cJSON *taints = cJSON_GetObjectItem(cJSON_GetObjectItem(n, "spec"), "taints");
	cJSON_AddItemToArray(taints, cJSON_Parse("{\"key\":\"node.kubernetes.io/out-of-service\","
						 "\"value\":\"nodeshutdown\",\"effect\":"
						 "\"NoExecute\"}"));
	assert_int_equal(sim_store_update(f->st, NODE, NULL, other, n, false, NULL, &err), 0);
	/* Well before evictionTimeout (10 s simulated = 10 s real now) the VMI fails... */
	for (int i = 0; i < 100; i++) {
		cJSON *x = sim_store_get(f->st, VMI, "default", "v-vm");
		const char *ph = str_at(x, "status", "phase", NULL);
		bool failed = !x || (ph && !strcmp(ph, "Failed"));
		cJSON_Delete(x);
		if (failed)
			break;
		assert_true(i < 99);
		usleep(20000);
	}
	/* ... and comes back on the healthy node. */
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":10}", NULL), 200);
	for (int i = 0; i < 150; i++) {
		cJSON *x = sim_store_get(f->st, VMI, "default", "v-vm");
		const char *ph = str_at(x, "status", "phase", NULL);
		const char *nn = str_at(x, "status", "nodeName", NULL);
		bool moved = ph && nn && !strcmp(ph, "Running") && !strcmp(nn, node);
		cJSON_Delete(x);
		if (moved)
			break;
		assert_true(i < 149);
		usleep(20000);
	}
	snprintf(path, sizeof(path), "/nodes/%s/recover", other);
	assert_int_equal(control(f, "POST", path, NULL, NULL), 200);
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":10}", NULL), 200);

	/* Cordon (spec.unschedulable) gets the node controller's taint. */
	n = sim_store_get(f->st, NODE, NULL, other);
	cJSON_AddBoolToObject(cJSON_GetObjectItem(n, "spec"), "unschedulable", true);
	assert_int_equal(sim_store_update(f->st, NODE, NULL, other, n, false, NULL, &err), 0);
	for (int i = 0; i < 100; i++) {
		n = sim_store_get(f->st, NODE, NULL, other);
		char *t = cJSON_PrintUnformatted(n);
		bool ok = strstr(t, "node.kubernetes.io/unschedulable") != NULL;
		free(t);
		cJSON_Delete(n);
		if (ok)
			break;
		assert_true(i < 99);
		usleep(20000);
	}
	stop(f);
}

static void faults(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 1);
	int lat;
	assert_int_equal(sim_model_fault(f->m, "get", "wukongs", &lat), 0);
	assert_int_equal(control(f, "POST", "/faults",
				 "{\"verb\":\"list\",\"resource\":\"wukongs\",\"errorRate\":1,"
				 "\"code\":503,\"latencyMs\":20}",
				 NULL),
			 201);
	assert_int_equal(sim_model_fault(f->m, "list", "wukongs", &lat), 503);
	assert_int_equal(lat, 20);
	assert_int_equal(sim_model_fault(f->m, "get", "wukongs", &lat), 0);
	assert_int_equal(sim_model_fault(f->m, "list", "nodes", &lat), 0);
	assert_int_equal(control(f, "POST", "/faults", "{\"verb\":\"bogus\"}", NULL), 400);
	assert_int_equal(control(f, "POST", "/faults", "{\"errorRate\":2}", NULL), 400);
	assert_int_equal(control(f, "POST", "/faults", "not json", NULL), 400);
	/* Half the requests fail, reproducibly with the seed. */
	assert_int_equal(control(f, "POST", "/faults", "{\"verb\":\"*\",\"errorRate\":0.5}", NULL),
			 201);
	int fails = 0;
	for (int i = 0; i < 1000; i++)
		fails += sim_model_fault(f->m, "get", "nodes", &lat) != 0;
	assert_true(fails > 400 && fails < 600);
	assert_int_equal(control(f, "DELETE", "/faults", NULL, NULL), 200);
	assert_int_equal(sim_model_fault(f->m, "list", "wukongs", &lat), 0);
	assert_false(sim_model_drop_watches(f->m));
	assert_int_equal(control(f, "POST", "/watches/drop", "{\"durationMs\":300}", NULL), 200);
	assert_true(sim_model_drop_watches(f->m));
	usleep(400000);
	assert_false(sim_model_drop_watches(f->m));
	stop(f);
}

int main(void)
{
	wk_log_init("test", WK_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_cluster_seeded),
	    cmocka_unit_test(datavolumes_and_run_strategy),
	    cmocka_unit_test(migration_with_added_node_selector),
	    cmocka_unit_test(timeout_then_post_copy_policy),
	    cmocka_unit_test(limits_abort_and_metrics),
	    cmocka_unit_test(kubevirt_cr_changes_apply),
	    cmocka_unit_test(not_migratable_fails_fast),
	    cmocka_unit_test(snapshots_and_clones),
	    cmocka_unit_test(clone_patches),
	    cmocka_unit_test(node_failure_and_pressure),
	    cmocka_unit_test(faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
