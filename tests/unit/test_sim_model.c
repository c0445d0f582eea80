/* test_sim_model.c - the simulator's model driven through its store, as the API server would:
 * seeding, the Wukong stand-in, LiveMigratable reasons, VMIM phases and addedNodeSelector,
 * completion timeout vs. post-copy through a MigrationPolicy, parallelism limits, aborts before
 * and after hand-over, failures before hand-over and the two-step final VMIM, snapshots (reasons,
 * excluded volumes, deadline) and clones (patches retried, filters, Halted targets), placement
 * like kube-scheduler, storage (classes, PVs, claims), node failure without fencing, the control
 * API and the metrics. */
#include "../../tools/sim/sim_model.h"
#include "../../tools/sim/sim_model_int.h"

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

/* Wait until the VMIM reached phase and its finalizer went: the second step of a final write
 * (migrationState copied, finalizer removed) happens a model tick after the phase. */
static cJSON *wait_final(struct fx *f, const char *name, const char *phase, double secs)
{
	cJSON_Delete(wait_status(f, VMIM, "default", name, "phase", phase, secs));
	for (int i = 0; i < 250; i++) {
		cJSON *o = sim_store_get(f->st, VMIM, "default", name);
		if (!o || !cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "finalizers"))
			return o;
		cJSON_Delete(o);
		usleep(20000);
	}
	fail_msg("%s: the finalizer never went", name);
	return NULL;
}

/* The VMIM's watch history shows the final phase first without migrationState and with the
 * finalizer, then (has_state) the migrationState copy, and the finalizer gone last. */
static void assert_two_step(struct fx *f, const char *name, bool has_state)
{
	static struct sim_watch_event ev[4096];
	struct sim_err err;
	int n = sim_store_events_since(f->st, VMIM, "default", 0, ev, 4096, &err);
	int step = 0;
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		const cJSON *o = ev[i].object;
		const char *nm = str_at(o, "metadata", "name", NULL);
		const char *ph = str_at(o, "status", "phase", NULL);
		bool fin = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "finalizers");
		bool st = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationState");
		if (nm && !strcmp(nm, name) && ph &&
		    (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) {
			if (step == 0) {
				assert_false(st);
				assert_true(fin);
				step = 1;
			} else if (step == 1 && st) {
				assert_true(has_state);
				assert_true(fin);
				step = 2;
			} else if (!fin) {
				assert_int_equal(step, has_state ? 2 : 1);
				step = 3;
			}
		}
		cJSON_Delete(ev[i].object);
	}
	assert_int_equal(step, 3);
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
	/* bound by the PersistentVolume controller (sim_model_storage.c), not by CDI: a
	 * provisioned PersistentVolume pvc-<uid> with its claimRef, the controller's annotations */
	assert_string_equal(str_at(v, "metadata", "annotations", "pv.kubernetes.io/bind-completed"),
			    "yes");
	{
		char pvn[80];
		cJSON *pv;

		snprintf(pvn, sizeof(pvn), "pvc-%s", str_at(v, "metadata", "uid", NULL));
		assert_string_equal(str_at(v, "spec", "volumeName", NULL), pvn);
		pv = sim_store_get(f->st, R("", "v1", "persistentvolumes"), NULL, pvn);
		assert_non_null(pv);
		assert_string_equal(str_at(pv, "spec", "claimRef", "name"), "new-1-system");
		cJSON_Delete(pv);
	}
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
	/* the class created later: the controller's resync binds the claim, the import runs */
	create(f, R("storage.k8s.io", "v1", "storageclasses"), NULL,
	       "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{"
	       "\"name\":\"gold\"},\"provisioner\":\"sim.csi.novasphere.dev\","
	       "\"volumeBindingMode\":\"Immediate\"}");
	cJSON_Delete(wait_status(f, DV, "default", "nocls", "phase", "Succeeded", 60));

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
	cJSON *g = wait_final(f, "mig-1", "Succeeded", 20);
	assert_two_step(f, "mig-1", true);
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
	cJSON *g = wait_final(f, "slow-1", "Failed", 30);
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
	g = wait_final(f, "slow-2", "Succeeded", 40);
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

struct ev_find {
	const char *kind, *reason, *msg_part, *component;
	bool seen;
};

static int find_event(const cJSON *o, void *opaque)
{
	struct ev_find *e = opaque;
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"));
	const char *kind = str_at(o, "involvedObject", "kind", NULL);
	const char *comp = str_at(o, "source", "component", NULL);
	if (r && !strcmp(r, e->reason) && kind && !strcmp(kind, e->kind) && msg &&
	    strstr(msg, e->msg_part) && (!e->component || (comp && !strcmp(comp, e->component))))
		e->seen = true;
	return 0;
}

static int dump_event(const cJSON *o, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "  event %s %s: %s\n", str_at(o, "involvedObject", "kind", NULL),
		cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")),
		cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")));
	return 0;
}

static void expect_event(struct fx *f, const char *kind, const char *reason, const char *part,
			 const char *component)
{
	struct ev_find e = {kind, reason, part, component, false};
	for (int i = 0; i < 100 && !e.seen; i++) {
		sim_store_foreach(f->st, EVENTS, "default", find_event, &e);
		if (!e.seen)
			usleep(20000);
	}
	if (!e.seen) {
		sim_store_foreach(f->st, EVENTS, "default", dump_event, NULL);
		fail_msg("no %s event %s with \"%s\"", kind, reason, part);
	}
}

static bool history_has_phase(struct fx *f, const char *name, const char *phase)
{
	static struct sim_watch_event ev[4096];
	struct sim_err err;
	int n = sim_store_events_since(f->st, VMIM, "default", 0, ev, 4096, &err);
	bool seen = false;
	for (int i = 0; i < n; i++) {
		const char *nm = str_at(ev[i].object, "metadata", "name", NULL);
		const char *ph = str_at(ev[i].object, "status", "phase", NULL);
		seen |= nm && !strcmp(nm, name) && ph && !strcmp(ph, phase);
		cJSON_Delete(ev[i].object);
	}
	return seen;
}

/* Failures before the target pod is handed over write no failureReason anywhere (migration.go:
 * failMigration only sets the phase), and the final write comes in two steps. An unschedulable
 * target pod is deleted after the timeout; a cancel in Scheduling fails at once; a cancel in
 * PreparingTarget waits for Running and goes through the VMI's abortRequested and
 * virt-handler. */
static void failures_before_handoff(void **state)
{
	(void)state;
	struct fx *f = start(SLOW, 20);
	struct sim_err err;
	create(f, VMIM, "default",
	       "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
	       "\"metadata\":{\"name\":\"u1\",\"namespace\":\"default\",\"annotations\":{"
	       "\"kubevirt.io/migrationUnschedulablePodTimeoutSeconds\":\"10\"}},\"spec\":{"
	       "\"vmiName\":\"calm-1-vm\",\"addedNodeSelector\":{\"kubernetes.io/hostname\":"
	       "\"nowhere\"}}}");
	cJSON_Delete(wait_status(f, VMIM, "default", "u1", "phase", "Scheduling", 20));
	expect_event(f, "Pod", "FailedScheduling", "0/2 nodes are available", "default-scheduler");
	expect_event(f, "VirtualMachineInstanceMigration", "migrationTargetPodUnschedulable",
		     "Migration target pod for VMI [default/calm-1-vm] is currently unschedulable.",
		     NULL);
	cJSON *g = wait_final(f, "u1", "Failed", 20);
	char buf[256];
	assert_string_equal(phases_of(g, buf, sizeof(buf)), "Pending,Scheduling,Failed");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"));
	char *txt = cJSON_PrintUnformatted(g);
	assert_null(strstr(txt, "failureReason"));
	free(txt);
	cJSON_Delete(g);
	assert_two_step(f, "u1", false);
	cJSON *v = sim_store_get(f->st, VMI, "default", "calm-1-vm");
	txt = cJSON_PrintUnformatted(v);
	assert_null(strstr(txt, "failureReason"));
	assert_null(strstr(txt, "migrationState"));
	free(txt);
	cJSON_Delete(v);
	expect_event(f, "VirtualMachineInstanceMigration", "SuccessfulDelete",
		     "timeout period exceeded", NULL);
	expect_event(f, "VirtualMachineInstanceMigration", "FailedMigration",
		     "Migration target pod was removed during active migration.", NULL);

	/* Cancel while Scheduling: Failed at once, the condition, no failureReason. */
	create(f, VMIM, "default",
	       "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceMigration\","
	       "\"metadata\":{\"name\":\"c1\",\"namespace\":\"default\"},\"spec\":{"
	       "\"vmiName\":\"calm-1-vm\",\"addedNodeSelector\":{\"kubernetes.io/hostname\":"
	       "\"nowhere\"}}}");
	cJSON_Delete(wait_status(f, VMIM, "default", "c1", "phase", "Scheduling", 20));
	assert_int_equal(sim_store_delete(f->st, VMIM, "default", "c1", NULL, &err), 0);
	g = wait_status(f, VMIM, "default", "c1", "phase", "Failed", 20);
	assert_non_null(cond(g, "migrationAbortRequested"));
	assert_null(str_at(cond(g, "migrationAbortRequested"), "reason", NULL, NULL));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(g, "status"), "migrationState"));
	cJSON_Delete(g);
	expect_event(f, "VirtualMachineInstanceMigration", "FailedMigration",
		     "Migration failed due to being canceled", NULL);
	expect_event(f, "VirtualMachineInstanceMigration", "SuccessfulDelete",
		     "migration canceled and pod default/virt-launcher-calm-1-vm-", NULL);
	for (int i = 0; i < 100 && (g = sim_store_get(f->st, VMIM, "default", "c1")); i++) {
		cJSON_Delete(g);
		usleep(20000);
	}
	assert_null(sim_store_get(f->st, VMIM, "default", "c1"));
	v = sim_store_get(f->st, VMI, "default", "calm-1-vm");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "status"), "migrationState"));
	cJSON_Delete(v);

	/* Cancel after hand-over (PreparingTarget): the migration still reaches Running, then the
	 * VMI gets abortRequested and virt-handler aborts it. */
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":1}", NULL), 200);
	assert_int_equal(control(f, "POST", "/vms/default/calm-2/dirty-rate",
				 "{\"dirtyRate\":\"1900Mi\"}", NULL),
			 200);
	vmim(f, "c2", "calm-2-vm");
	cJSON_Delete(wait_status(f, VMIM, "default", "c2", "phase", "PreparingTarget", 20));
	assert_int_equal(sim_store_delete(f->st, VMIM, "default", "c2", NULL, &err), 0);
	usleep(200000);
	g = sim_store_get(f->st, VMIM, "default", "c2");
	assert_non_null(g);
	assert_non_null(cond(g, "migrationAbortRequested"));
	assert_string_equal(str_at(g, "status", "phase", NULL), "PreparingTarget");
	cJSON_Delete(g);
	for (int i = 0; i < 300 && (g = sim_store_get(f->st, VMIM, "default", "c2")); i++) {
		cJSON_Delete(g);
		usleep(20000);
	}
	assert_null(sim_store_get(f->st, VMIM, "default", "c2"));
	assert_true(history_has_phase(f, "c2", "Running"));
	assert_two_step(f, "c2", true);
	v = sim_store_get(f->st, VMI, "default", "calm-2-vm");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(v, "status"), "migrationState"),
	    "abortRequested")));
	assert_string_equal(ms_str(v, "abortStatus"), "Succeeded");
	assert_string_equal(ms_str(v, "failureReason"), "Live migration has been aborted");
	cJSON_Delete(v);
	expect_event(f, "VirtualMachineInstanceMigration", "SuccessfulAbortMigration",
		     "Migration is ready to be canceled by virt-handler.", NULL);
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
	cJSON *g = wait_final(f, "p2", "Succeeded", 30);
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
	/* Conditions carry their text in reason, never in message (snapshot/util.go). */
	assert_string_equal(str_at(cond(s, "Ready"), "reason", NULL, NULL), "Ready");
	assert_null(str_at(cond(s, "Ready"), "message", NULL, NULL));
	assert_string_equal(str_at(cond(s, "Progressing"), "reason", NULL, NULL),
			    "Operation complete");
	assert_null(str_at(cond(s, "Progressing"), "message", NULL, NULL));
	cJSON_Delete(s);
	/* A volume whose class has no VolumeSnapshotClass is excluded and the snapshot succeeds;
	 * the "No VolumeSnapshotClass" text is only in the VM's volumeSnapshotStatuses. */
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s2\",\"namespace\":\"default\"},\"spec\":{"
	    "\"failureDeadline\":"
	    "\"1m\",\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	    "\"db-local-vm\"}}}");
	s = wait_status(f, SNAP, "default", "s2", "phase", "Succeeded", 20);
	txt = cJSON_PrintUnformatted(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(s, "status"), "snapshotVolumes"));
	assert_non_null(strstr(txt, "\"excludedVolumes\":[\"data\"]"));
	assert_null(strstr(txt, "VolumeSnapshotClass"));
	free(txt);
	txt = cJSON_PrintUnformatted(s);
	assert_null(strstr(txt, "No VolumeSnapshotClass"));
	free(txt);
	cJSON_Delete(s);
	cJSON *dbvm = sim_store_get(f->st, VM, "default", "db-local-vm");
	txt = cJSON_PrintUnformatted(dbvm);
	assert_non_null(strstr(txt, "No VolumeSnapshotClass: Volume snapshots are not configured "
				    "for this StorageClass [local-rwo] [data]"));
	free(txt);
	cJSON_Delete(dbvm);
	/* A snapshot that cannot finish before its failureDeadline (its source does not exist)
	 * fails with reason "snapshot deadline exceeded". */
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s4\",\"namespace\":\"default\"},\"spec\":{"
	    "\"failureDeadline\":\"1m\",\"source\":{\"apiGroup\":\"kubevirt.io\",\"kind\":"
	    "\"VirtualMachine\",\"name\":\"nope\"}}}");
	s = wait_status(f, SNAP, "default", "s4", "phase", "InProgress", 20);
	assert_string_equal(str_at(cond(s, "Progressing"), "reason", NULL, NULL),
			    "Source does not exist");
	cJSON_Delete(s);
	s = wait_status(f, SNAP, "default", "s4", "phase", "Failed", 20);
	assert_string_equal(str_at(cond(s, "Failure"), "reason", NULL, NULL),
			    "snapshot deadline exceeded");
	assert_null(str_at(cond(s, "Failure"), "message", NULL, NULL));
	assert_string_equal(str_at(cond(s, "Progressing"), "reason", NULL, NULL),
			    "Operation failed");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "status"), "error"));
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
	/* A cloned VM is created Halted (restore.go: new VM, runStrategy Halted). */
	assert_string_equal(str_at(vm, "spec", "runStrategy", NULL), "Halted");
	assert_non_null(
	    str_at(vm, "metadata", "annotations", "restore.kubevirt.io/lastRestoreUID"));
	cJSON_Delete(vm);
	usleep(300000);
	assert_null(sim_store_get(f->st, VMI, "default", "web-2-copy"));
	/* The temporary snapshot is gone. */
	assert_int_equal(sim_store_count(f->st, SNAP), 4);

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
	assert_string_equal(str_at(cond(c, "Ready"), "reason", NULL, NULL),
			    "Virtual Machine volume data does not support snapshots");
	assert_null(str_at(cond(c, "Ready"), "message", NULL, NULL));
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

static int find_restore_error(const cJSON *o, void *opaque)
{
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"));
	const char *kind = str_at(o, "involvedObject", "kind", NULL);
	if (r && !strcmp(r, "VirtualMachineRestoreError") && kind &&
	    !strcmp(kind, "VirtualMachineRestore") && msg &&
	    strstr(msg, "VirtualMachineRestore encountered error error patching VM bad-copy"))
		*(bool *)opaque = true;
	return 0;
}

/* spec.patches: applied to the target VM after the generated changes; a patch that does not
 * apply (or is not JSON) is an error of the temporary restore, retried for ever: the clone stays
 * in RestoreInProgress (restore.go reconcileSpec + doUpdateError), and no VM appears. */
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
	cJSON *c = wait_status(f, CLONE, "default", "bad", "phase", "RestoreInProgress", 30);
	cJSON_Delete(c);
	bool seen = false;
	for (int i = 0; i < 200 && !seen; i++) {
		sim_store_foreach(f->st, EVENTS, "default", find_restore_error, &seen);
		if (!seen)
			usleep(20000);
	}
	assert_true(seen);
	/* Well past the retries: still RestoreInProgress, no VM, the restore says why. */
	usleep(1000000);
	c = wait_status(f, CLONE, "default", "bad", "phase", "RestoreInProgress", 1);
	assert_string_equal(str_at(cond(c, "Progressing"), "reason", NULL, NULL),
			    "Still processing");
	char rname[300];
	snprintf(rname, sizeof(rname), "%s", str_at(c, "status", "restoreName", NULL));
	cJSON_Delete(c);
	cJSON *r =
	    sim_store_get(f->st, R("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores"),
			  "default", rname);
	assert_non_null(r);
	const char *m = str_at(cond(r, "Ready"), "reason", NULL, NULL);
	assert_non_null(m);
	assert_non_null(strstr(m, "error patching VM bad-copy: failed to apply patch for VM"));
	assert_null(cond(r, "Failure"));
	cJSON_Delete(r);
	assert_null(sim_store_get(f->st, VM, "default", "bad-copy"));

	/* Not JSON at all. */
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"junk\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	       "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-2-vm\"},"
	       "\"target\":{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":"
	       "\"junk-copy\"},\"patches\":[\"{not json\"]}}");
	c = wait_status(f, CLONE, "default", "junk", "phase", "RestoreInProgress", 30);
	cJSON_Delete(c);
	assert_null(sim_store_get(f->st, VM, "default", "junk-copy"));

	/* The snapshot deleted while the clone restores from it: the clone fails (getSnapshot). */
	create(
	    f, SNAP, "default",
	    "{\"apiVersion\":\"snapshot.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineSnapshot\","
	    "\"metadata\":{\"name\":\"s9\",\"namespace\":\"default\"},\"spec\":{\"source\":"
	    "{\"apiGroup\":\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"web-1-vm\"}}}");
	cJSON_Delete(wait_status(f, SNAP, "default", "s9", "phase", "Succeeded", 60));
	create(f, CLONE, "default",
	       "{\"apiVersion\":\"clone.kubevirt.io/v1beta1\",\"kind\":\"VirtualMachineClone\","
	       "\"metadata\":{\"name\":\"orphan\",\"namespace\":\"default\"},\"spec\":{"
	       "\"source\":{\"apiGroup\":\"snapshot.kubevirt.io\",\"kind\":"
	       "\"VirtualMachineSnapshot\",\"name\":\"s9\"},\"target\":{\"apiGroup\":"
	       "\"kubevirt.io\",\"kind\":\"VirtualMachine\",\"name\":\"orphan-copy\"}}}");
	cJSON_Delete(wait_status(f, CLONE, "default", "orphan", "phase", "RestoreInProgress", 30));
	struct sim_err err;
	assert_int_equal(sim_store_delete(f->st, SNAP, "default", "s9", NULL, &err), 0);
	c = wait_status(f, CLONE, "default", "orphan", "phase", "Failed", 30);
	assert_string_equal(str_at(cond(c, "Ready"), "reason", NULL, NULL),
			    "snapshot s9 does not exist anymore");
	assert_string_equal(str_at(cond(c, "Progressing"), "reason", NULL, NULL), "Failed");
	cJSON_Delete(c);
	stop(f);
}

static void vm_create(struct fx *f, const char *name, const char *tspec)
{
	char json[2048];
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{"
		 "\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{\"runStrategy\":\"Always\","
		 "\"template\":{\"spec\":%s}}}",
		 name, tspec);
	create(f, VM, "default", json);
}

static int64_t node_req(struct fx *f, const char *node, const char *field)
{
	cJSON *st = NULL;
	int64_t v = -1;
	assert_int_equal(control(f, "GET", "/state", NULL, &st), 200);
	const cJSON *n;
	cJSON_ArrayForEach(n, cJSON_GetObjectItem(st, "nodes"))
	{
		if (!strcmp(str_at(n, "name", NULL, NULL), node))
			v = (int64_t)cJSON_GetObjectItem(n, field)->valuedouble;
	}
	cJSON_Delete(st);
	return v;
}

/* Placement as kube-scheduler does it for the launcher pod KubeVirt renders: cpu = vCPUs /
 * cpuAllocationRatio unless the VM asks, memory = guest + overhead, other pods' requests,
 * taints vs tolerations, required node affinity, the scheduler's message, host-model CPU
 * labels for migration targets. */
static void placement_like_the_scheduler(void **state)
{
	(void)state;
	const char *yaml =
	    "otherPodsCpu: 0\notherPodsMemory: 0\n"
	    "nodes:\n"
	    "  - {name: a, cpu: 4, memory: 8Gi, labels: {gpu: \"true\"}, taints: [{key: dedicated, "
	    "value: gpu, effect: NoSchedule}]}\n"
	    "  - {name: b, cpu: 2, memory: 8Gi, unschedulable: true, labels: {"
	    "\"host-model-cpu.node.kubevirt.io/Skylake-Server\": \"true\"}}\n"
	    "  - {name: c, cpu: 16, memory: 64Gi, otherPodsMemory: 60Gi, labels: {"
	    "\"host-model-cpu.node.kubevirt.io/Skylake-Server\": \"true\"}}\n"
	    "  - {name: d, cpu: 8, memory: 16Gi}\n"
	    "vms: []\n";
	struct fx *f = start(yaml, 20);
	struct sim_err err;
	/* 8 vCPUs fit a 2-CPU node: the pod asks for 800m (+5m for guest-console-log). */
	vm_create(f, "wide",
		  "{\"nodeSelector\":{\"kubernetes.io/hostname\":\"d\"},\"domain\":{\"cpu\":{"
		  "\"cores\":8},\"memory\":{\"guest\":\"2Gi\"},\"resources\":{\"requests\":{"
		  "\"memory\":\"2Gi\"}}}}");
	cJSON_Delete(wait_status(f, VMI, "default", "wide", "phase", "Running", 20));
	assert_int_equal(node_req(f, "d", "cpuRequestedMilli"), 805);
	const int64_t Mi = INT64_C(1) << 20;
	assert_int_equal(node_req(f, "d", "memoryRequested"), 2048 * Mi + (2048 * Mi) / 512 +
								  220 * Mi + 8 * 8 * Mi + 8 * Mi +
								  32 * Mi + 35000000);
	cJSON *v = sim_store_get(f->st, VMI, "default", "wide");
	/* virt-api's mutator: the default CPU model. */
	assert_string_equal(wk_json_str(v, "spec.domain.cpu.model"), "host-model");
	cJSON_Delete(v);

	/* An explicit cpu request wins; nothing fits: the scheduler's message. */
	vm_create(f, "big",
		  "{\"domain\":{\"cpu\":{\"cores\":2},\"resources\":{\"requests\":{\"cpu\":\"16\","
		  "\"memory\":\"4Gi\"}}}}");
	v = wait_status(f, VMI, "default", "big", "phase", "Pending", 20);
	cJSON_Delete(v);
	const char *want = "0/4 nodes are available: 1 Insufficient memory, 1 node(s) had "
			   "untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, "
			   "2 Insufficient cpu.";
	expect_event(f, "VirtualMachineInstance", "FailedScheduling", want, NULL);

	/* Tolerations and required node affinity: onto the tainted gpu node. */
	vm_create(f, "gpu",
		  "{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":"
		  "\"gpu\",\"effect\":\"NoSchedule\"}],\"affinity\":{\"nodeAffinity\":{"
		  "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{"
		  "\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"In\",\"values\":[\"true\"]"
		  "}]}]}}},\"domain\":{\"cpu\":{\"cores\":1},\"resources\":{\"requests\":{"
		  "\"memory\":\"1Gi\"}}}}");
	v = wait_status(f, VMI, "default", "gpu", "phase", "Running", 20);
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "a");
	cJSON_Delete(v);
	/* A toleration with the wrong value does not help. */
	vm_create(
	    f, "nogpu",
	    "{\"tolerations\":[{\"key\":\"dedicated\",\"value\":\"cpu\"}],\"affinity\":{"
	    "\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
	    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":"
	    "\"Exists\"}]}]}}},\"domain\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}}");
	cJSON_Delete(wait_status(f, VMI, "default", "nogpu", "phase", "Pending", 20));
	expect_event(f, "VirtualMachineInstance", "FailedScheduling",
		     "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
		     "1 node(s) were unschedulable, 2 node(s) didn't match Pod's node "
		     "affinity/selector.",
		     NULL);

	/* Host-model CPU: the target must offer the source's host model for migration. b's
	 * host model differs (Skylake), so after uncordoning it still does not fit... */
	vm_create(f, "hm", "{\"domain\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}}");
	v = wait_status(f, VMI, "default", "hm", "phase", "Running", 20);
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "d");
	cJSON_Delete(v);
	cJSON *n = sim_store_get(f->st, NODE, NULL, "b");
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(n, "spec"), "unschedulable");
	assert_int_equal(sim_store_update(f->st, NODE, NULL, "b", n, false, NULL, &err), 0);
	usleep(200000);
	vmim(f, "hm-1", "hm");
	cJSON_Delete(wait_status(f, VMIM, "default", "hm-1", "phase", "Scheduling", 20));
	expect_event(f, "Pod", "FailedScheduling",
		     "0/4 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 1 "
		     "node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's "
		     "node affinity/selector.",
		     "default-scheduler");
	usleep(500000);
	cJSON *g = sim_store_get(f->st, VMIM, "default", "hm-1");
	assert_string_equal(str_at(g, "status", "phase", NULL), "Scheduling");
	cJSON_Delete(g);
	/* ... until the node-labeller says b can run Cascadelake-Server guests. */
	n = sim_store_get(f->st, NODE, NULL, "b");
	sim_jset_str(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "metadata"), "labels"),
		     "cpu-model-migration.node.kubevirt.io/Cascadelake-Server", "true");
	assert_int_equal(sim_store_update(f->st, NODE, NULL, "b", n, false, NULL, &err), 0);
	cJSON_Delete(wait_final(f, "hm-1", "Succeeded", 30));
	v = sim_store_get(f->st, VMI, "default", "hm");
	assert_string_equal(str_at(v, "status", "nodeName", NULL), "b");
	cJSON_Delete(v);
	stop(f);
}

#define PVC R("", "v1", "persistentvolumeclaims")
#define PV R("", "v1", "persistentvolumes")
#define SC R("storage.k8s.io", "v1", "storageclasses")
#define VSC R("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses")

static void pvc_create(struct fx *f, const char *name, const char *cls)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
		 "\"%s\",\"namespace\":\"default\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
		 "\"storageClassName\":\"%s\",\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}",
		 name, cls);
	create(f, PVC, "default", json);
}

/* StorageClasses with their binding modes, VolumeSnapshotClasses per CSI driver, PVs (node
 * affinity for local ones), claims the PV controller binds, waits on or cannot provision. */
static void storage_as_clusters_have_it(void **state)
{
	(void)state;
	struct fx *f = start(NULL, 20);
	cJSON *sc = sim_store_get(f->st, SC, NULL, "local-path");
	assert_string_equal(wk_json_str(sc, "volumeBindingMode"), "WaitForFirstConsumer");
	assert_string_equal(wk_json_str(sc, "provisioner"), "rancher.io/local-path");
	cJSON_Delete(sc);
	sc = sim_store_get(f->st, SC, NULL, "nfs-storage");
	assert_string_equal(wk_json_str(sc, "volumeBindingMode"), "Immediate");
	cJSON_Delete(sc);
	/* Snapshots only for the drivers that have a VolumeSnapshotClass. */
	assert_int_equal(sim_store_count(f->st, VSC), 2);
	cJSON *vsc = sim_store_get(f->st, VSC, NULL, "longhorn-snapclass");
	assert_string_equal(wk_json_str(vsc, "driver"), "driver.longhorn.io");
	cJSON_Delete(vsc);
	/* db-local's local claim is bound where its VMI runs, and the PV says so. */
	cJSON *v = sim_store_get(f->st, VMI, "default", "db-local-vm");
	char node[64];
	snprintf(node, sizeof(node), "%s", wk_json_str(v, "status.nodeName"));
	cJSON_Delete(v);
	cJSON *pvc = sim_store_get(f->st, PVC, "default", "db-local-data");
	assert_string_equal(wk_json_str(pvc, "status.phase"), "Bound");
	assert_string_equal(
	    str_at(pvc, "metadata", "annotations", "volume.kubernetes.io/selected-node"), node);
	cJSON *pv = sim_store_get(f->st, PV, NULL, wk_json_str(pvc, "spec.volumeName"));
	assert_non_null(pv);
	char *txt = cJSON_PrintUnformatted(wk_json_path(pv, "spec.nodeAffinity"));
	char want[200];
	snprintf(
	    want, sizeof(want),
	    "{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes."
	    "io/hostname\",\"operator\":\"In\",\"values\":[\"%s\"]}]}]}}",
	    node);
	assert_string_equal(txt, want);
	free(txt);
	assert_string_equal(wk_json_str(pv, "spec.claimRef.name"), "db-local-data");
	cJSON_Delete(pv);
	cJSON_Delete(pvc);
	/* A shared claim's PV is a CSI volume of the class's driver. */
	pvc = sim_store_get(f->st, PVC, "default", "web-1-system");
	pv = sim_store_get(f->st, PV, NULL, wk_json_str(pvc, "spec.volumeName"));
	assert_string_equal(wk_json_str(pv, "spec.csi.driver"), "rbd.csi.ceph.com");
	cJSON_Delete(pv);
	cJSON_Delete(pvc);

	/* Claims made by clients. */
	pvc_create(f, "nfs-1", "nfs-storage");
	pvc_create(f, "lp-1", "local-path");
	pvc_create(f, "bad-1", "no-such-class");
	pvc = wait_status(f, PVC, "default", "nfs-1", "phase", "Bound", 20);
	char nfs_pv[80];
	snprintf(nfs_pv, sizeof(nfs_pv), "%s", wk_json_str(pvc, "spec.volumeName"));
	cJSON_Delete(pvc);
	pv = sim_store_get(f->st, PV, NULL, nfs_pv);
	assert_non_null(pv);
	cJSON_Delete(pv);
	/* reclaimPolicy Delete: the claim goes, its volume goes. */
	struct sim_err err;
	assert_int_equal(sim_store_delete(f->st, PVC, "default", "nfs-1", NULL, &err), 0);
	for (int i = 0; i < 100 && (pv = sim_store_get(f->st, PV, NULL, nfs_pv)); i++) {
		cJSON_Delete(pv);
		usleep(20000);
	}
	assert_null(sim_store_get(f->st, PV, NULL, nfs_pv));
	cJSON_Delete(wait_status(f, PVC, "default", "lp-1", "phase", "Pending", 20));
	cJSON_Delete(wait_status(f, PVC, "default", "bad-1", "phase", "Pending", 20));
	expect_event(f, "PersistentVolumeClaim", "ProvisioningFailed",
		     "storageclass.storage.k8s.io \"no-such-class\" not found",
		     "persistentvolume-controller");
	expect_event(f, "PersistentVolumeClaim", "WaitForFirstConsumer",
		     "waiting for first consumer to be created before binding",
		     "persistentvolume-controller");
	usleep(500000);
	pvc = sim_store_get(f->st, PVC, "default", "bad-1");
	assert_string_equal(wk_json_str(pvc, "status.phase"), "Pending");
	cJSON_Delete(pvc);
	/* A VM on the claim whose class is missing cannot be scheduled. */
	vm_create(f, "needs-bad",
		  "{\"domain\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}},\"volumes\":[{"
		  "\"name\":\"d\",\"persistentVolumeClaim\":{\"claimName\":\"bad-1\"}}]}");
	cJSON_Delete(wait_status(f, VMI, "default", "needs-bad", "phase", "Pending", 20));
	expect_event(f, "VirtualMachineInstance", "FailedScheduling",
		     "pod has unbound immediate PersistentVolumeClaims", NULL);
	/* A VM on the local-path claim binds it where it lands. */
	vm_create(f, "needs-lp",
		  "{\"domain\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}},\"volumes\":[{"
		  "\"name\":\"d\",\"persistentVolumeClaim\":{\"claimName\":\"lp-1\"}}]}");
	v = wait_status(f, VMI, "default", "needs-lp", "phase", "Running", 20);
	pvc = sim_store_get(f->st, PVC, "default", "lp-1");
	assert_string_equal(wk_json_str(pvc, "status.phase"), "Bound");
	assert_string_equal(
	    str_at(pvc, "metadata", "annotations", "volume.kubernetes.io/selected-node"),
	    wk_json_str(v, "status.nodeName"));
	cJSON_Delete(pvc);
	cJSON_Delete(v);
	stop(f);
}

/* KubeVirt 1.5 renders the launcher with 16Mi of video RAM in its overhead (v1.5.0
 * services.GetMemoryOverhead), not 32Mi. */
static void kubevirt_1_5_differences(void **state)
{
	(void)state;
	const char *yaml = "kubevirtVersion: \"1.5\"\notherPodsCpu: 0\notherPodsMemory: 0\n"
			   "nodes:\n  - {name: d, cpu: 8, memory: 16Gi}\nvms: []\n";
	struct fx *f = start(yaml, 20);
	assert_int_equal(sim_model_kv_minor(f->m), 5);
	vm_create(
	    f, "wide",
	    "{\"domain\":{\"cpu\":{\"cores\":8},\"memory\":{\"guest\":\"2Gi\"},\"resources\":{"
	    "\"requests\":{\"memory\":\"2Gi\"}}}}");
	cJSON_Delete(wait_status(f, VMI, "default", "wide", "phase", "Running", 20));
	const int64_t Mi = INT64_C(1) << 20;
	assert_int_equal(node_req(f, "d", "memoryRequested"), 2048 * Mi + (2048 * Mi) / 512 +
								  220 * Mi + 8 * 8 * Mi + 8 * Mi +
								  16 * Mi + 35000000);
	stop(f);
}

/* Clone filters as vm-target.go's addRemovePatchesFromFilter: unanchored regular expressions,
 * "*" alone = ".*", negations win in any order, no list keeps all, an empty list keeps none,
 * invalid or overlong expressions match nothing. */
static void clone_filters(void **state)
{
	(void)state;
	cJSON *f = cJSON_Parse("[\"app\"]");
	assert_true(sim_filter_keep(f, "myapp.io/x")); /* unanchored: a substring matches */
	assert_true(sim_filter_keep(f, "app"));
	assert_false(sim_filter_keep(f, "team"));
	cJSON_Delete(f);
	f = cJSON_Parse("[\"!^app$\", \"*\"]"); /* the negation comes first and still wins */
	assert_false(sim_filter_keep(f, "app"));
	assert_true(sim_filter_keep(f, "apps"));
	assert_true(sim_filter_keep(f, "x"));
	cJSON_Delete(f);
	f = cJSON_Parse("[\"^team\\\\.io/.*\", \"!secret\"]");
	assert_true(sim_filter_keep(f, "team.io/owner"));
	assert_false(sim_filter_keep(f, "teamXio/owner"));
	assert_false(sim_filter_keep(f, "team.io/secret-key"));
	cJSON_Delete(f);
	assert_true(sim_filter_keep(NULL, "anything")); /* no filters: keep all */
	f = cJSON_Parse("[]");
	assert_false(sim_filter_keep(f, "anything")); /* an empty list removes every key */
	cJSON_Delete(f);
	/* Hostile: invalid, RE2-only and overlong expressions match nothing. */
	assert_false(sim_filter_match("(", "("));
	assert_false(sim_filter_match("[a-", "a"));
	char *big = malloc(SIM_FILTER_MAX + 2);
	memset(big, 'a', SIM_FILTER_MAX + 1);
	big[SIM_FILTER_MAX + 1] = 0;
	assert_false(sim_filter_match(big, big));
	free(big);
	f = cJSON_Parse(
	    "[\"*\", 7, null, \"!\"]"); /* "!" alone: the empty expression, matches all */
	assert_false(sim_filter_keep(f, "k"));
	cJSON_Delete(f);
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
	/* Not fenced: well past the pods' eviction (evictionTimeout) and virt-handler's heartbeat
	 * timeout (300 s), the VMI stays Running on the dead node (its pod is Terminating, still
	 * "alive" to virt-controller); the node is marked unresponsive. */
	const char *other = strcmp(node, "a") ? "a" : "b";
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":400}", NULL), 200);
	usleep(1500000);
	assert_int_equal(control(f, "POST", "/time", "{\"timeFactor\":10}", NULL), 200);
	cJSON *x0 = sim_store_get(f->st, VMI, "default", "v-vm");
	assert_string_equal(str_at(x0, "status", "phase", NULL), "Running");
	assert_string_equal(str_at(x0, "status", "nodeName", NULL), node);
	cJSON_Delete(x0);
	cJSON *n0 = sim_store_get(f->st, NODE, NULL, node);
	assert_string_equal(str_at(n0, "metadata", "labels", "kubevirt.io/schedulable"), "false");
	cJSON_Delete(n0);
	/* Force-deleting the pods ends it: Failed with reason NodeUnresponsive, and the VM starts
	 * a new VMI elsewhere. */
	snprintf(path, sizeof(path), "/nodes/%s/force-delete-pods", node);
	assert_int_equal(control(f, "POST", path, NULL, NULL), 200);
	x0 = sim_store_get(f->st, VMI, "default", "v-vm");
	assert_string_equal(str_at(x0, "status", "phase", NULL), "Failed");
	assert_string_equal(str_at(x0, "status", "reason", NULL), "NodeUnresponsive");
	cJSON_Delete(x0);
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
	    cmocka_unit_test(failures_before_handoff),
	    cmocka_unit_test(not_migratable_fails_fast),
	    cmocka_unit_test(snapshots_and_clones),
	    cmocka_unit_test(clone_patches),
	    cmocka_unit_test(clone_filters),
	    cmocka_unit_test(placement_like_the_scheduler),
	    cmocka_unit_test(storage_as_clusters_have_it),
	    cmocka_unit_test(kubevirt_1_5_differences),
	    cmocka_unit_test(node_failure_and_pressure),
	    cmocka_unit_test(faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
