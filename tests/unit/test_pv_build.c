/* test_pv_build.c - wukong-provisioner's pure decisions: a Wukong fixture becomes exactly the VM
 * fixture; two boot disks, an unknown storage class, a bad image and hostile shapes are refused
 * with a reason; adoption tells our VMs from others; spec changes become a merge patch (disk
 * removal refused unless diskRemovalPolicy Delete); VM/VMI/DataVolumes become the status. */
#include "../../consumers/provisioner/pv_build.h"

#include "wk_emit.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#define FX "tests/unit/fixtures/provisioner/"

static cJSON *load(const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *o = cJSON_Parse(buf);
	assert_non_null(o);
	return o;
}

static cJSON *js(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

static struct pv_cluster cluster(void)
{
	struct pv_cluster cl;

	memset(&cl, 0, sizeof(cl));
	cl.classes[0] = "shared-rwx";
	cl.classes[1] = "local-path";
	cl.classes[2] = "nfs-storage";
	cl.nclasses = 3;
	cl.classes_known = true;
	cl.default_class = "shared-rwx";
	return cl;
}

static void fixture_vm(void **state)
{
	struct pv_cluster cl = cluster();
	struct pv_verdict v;
	cJSON *wk = load(FX "wukong-web.json"), *want = load(FX "vm-web.json"), *vm = NULL;

	(void)state;
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	if (!cJSON_Compare(vm, want, true)) {
		char *s = cJSON_Print(vm);

		fail_msg("built VM differs from the fixture:\n%s", s);
	}
	assert_true(pv_vm_is_ours(vm));
	assert_int_equal(pv_vm_built_generation(vm), 3);
	cJSON_Delete(vm);
	cJSON_Delete(want);
	cJSON_Delete(wk);
}

static void refusals(void **state)
{
	struct pv_cluster cl = cluster();
	struct pv_verdict v;
	cJSON *vm = NULL, *wk;

	(void)state;
	wk = js("{\"metadata\":{\"name\":\"two\",\"namespace\":\"d\"},\"spec\":{\"disks\":["
		"{\"name\":\"a\",\"size\":\"1Gi\",\"boot\":true},"
		"{\"name\":\"b\",\"size\":\"1Gi\",\"boot\":true}]}}");
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), -1);
	assert_null(vm);
	assert_string_equal(v.reason, "MultipleBootDisks");
	assert_non_null(strstr(v.message, "'a' and 'b'"));
	assert_false(v.retry);
	cJSON_Delete(wk);

	wk = js("{\"metadata\":{\"name\":\"nocls\",\"namespace\":\"d\"},\"spec\":{\"disks\":["
		"{\"name\":\"a\",\"size\":\"1Gi\",\"storageClassName\":\"gold\"}]}}");
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), -1);
	assert_string_equal(v.reason, "StorageClassNotFound");
	assert_non_null(strstr(v.message, "'gold'"));
	assert_true(v.retry);
	/* an unreadable class list is not a refusal */
	cl.classes_known = false;
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	cJSON_Delete(vm);
	cl = cluster();
	cJSON_Delete(wk);

	wk = js("{\"metadata\":{\"name\":\"img\",\"namespace\":\"d\"},\"spec\":{\"disks\":["
		"{\"name\":\"a\",\"size\":\"1Gi\",\"image\":\"ftp://x/y\"}]}}");
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), -1);
	assert_string_equal(v.reason, "InvalidImage");
	cJSON_Delete(wk);

	/* hostile or malformed shapes */
	static const char *const bad[] = {
	    "{}",
	    "{\"metadata\":{\"name\":\"x\"},\"spec\":{}}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":[]}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"disks\":[{\"size\":1}]}"
	    "}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"disks\":[{\"name\":\".."
	    "/a\","
	    "\"size\":\"1Gi\"}]}}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"disks\":[{\"name\":"
	    "\"a\","
	    "\"size\":\"-1Gi\"}]}}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"disks\":[{\"name\":"
	    "\"a\","
	    "\"size\":\"lots\"}]}}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"networks\":[{\"name\":"
	    "\"a\"},"
	    "{\"name\":\"b\"}]}}",
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\"},\"spec\":{\"networks\":[{}]}}",
	    "{\"metadata\":{\"name\":"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"namespace\":\"d\"},\"spec\":{}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wk = js(bad[i]);
		if (pv_build_vm(wk, &cl, &vm, &v) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(v.reason[0] && v.message[0]);
		cJSON_Delete(wk);
	}
	/* defaults: no cpu/memory/disks/networks (the seeds' migration examples) */
	wk = js(
	    "{\"metadata\":{\"name\":\"my-vm\",\"namespace\":\"d\"},\"spec\":{\"migration\":{}}}");
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
			cJSON_GetObjectItem(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "spec"), "template"),
			    "spec"),
			"domain"),
		    "memory"),
		"guest")),
	    "1Gi");
	cJSON_Delete(vm);
	cJSON_Delete(wk);
}

static void adoption(void **state)
{
	cJSON *other =
	    js("{\"metadata\":{\"name\":\"web-vm\",\"labels\":{\"vm.novasphere.dev/wukong\":"
	       "\"web\"}}}");
	cJSON *ours =
	    js("{\"metadata\":{\"name\":\"web-vm\",\"labels\":{\"vm.novasphere.dev/"
	       "provisioner\":\"wukong-provisioner\"},\"annotations\":{\"vm.novasphere.dev/"
	       "provisioned-generation\":\"7\"}}}");

	(void)state;
	assert_false(pv_vm_is_ours(other));
	assert_false(pv_vm_is_ours(NULL));
	assert_true(pv_vm_is_ours(ours));
	assert_int_equal(pv_vm_built_generation(ours), 7);
	assert_int_equal(pv_vm_built_generation(other), 0);
	cJSON_Delete(other);
	cJSON_Delete(ours);
}

static const cJSON *at(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = cJSON_GetObjectItemCaseSensitive(o, tok);
	return o;
}

static void updates(void **state)
{
	struct pv_cluster cl = cluster();
	struct pv_verdict v;
	cJSON *wk = load(FX "wukong-web.json"), *vm = NULL, *patch, *del;

	(void)state;
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	/* unchanged (a new generation for spec.migration, say): the VM is not touched */
	cJSON_AddItemToObject(cJSON_GetObjectItem(wk, "spec"), "migration",
			      js("{\"targetNode\":\"node-2\"}"));
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_null(del);
	assert_null(patch);
	/* a VM written another way (no CPU request) is not rewritten for its form */
	cJSON_DeleteItemFromObject((cJSON *)at(vm, "spec.template.spec.domain.resources.requests"),
				   "cpu");
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_null(patch);
	/* cpu 4, stopped, the data disk removed (kept: refused), a new disk */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(wk, "spec"), "cpu", cJSON_CreateNumber(4));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(wk, "spec"), "running", cJSON_CreateFalse());
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(wk, "metadata"), "generation",
				  cJSON_CreateNumber(4));
	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(cJSON_GetObjectItem(wk, "spec"), "disks"), 1);
	cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(wk, "spec"), "disks"),
			     js("{\"name\":\"logs\",\"size\":\"5Gi\"}"));
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_string_equal(v.reason, "DiskRemovalRefused");
	assert_non_null(strstr(v.message, "diskRemovalPolicy: Delete"));
	assert_null(del);
	assert_string_equal(at(patch, "spec.runStrategy")->valuestring, "Halted");
	assert_string_equal(at(patch, "metadata.annotations")->child->valuestring, "4");
	assert_int_equal(at(patch, "spec.template.spec.domain.cpu.cores")->valueint, 4);
	assert_int_equal(cJSON_GetArraySize(at(patch, "spec.dataVolumeTemplates")), 4);
	assert_int_equal(cJSON_GetArraySize(at(patch, "spec.template.spec.volumes")), 4);
	cJSON_Delete(patch);
	/* the same with diskRemovalPolicy Delete: the DataVolume goes */
	cJSON_AddStringToObject(cJSON_GetObjectItem(wk, "spec"), "diskRemovalPolicy", "Delete");
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_string_equal(v.reason, "");
	assert_int_equal(cJSON_GetArraySize(del), 1);
	assert_string_equal(cJSON_GetArrayItem(del, 0)->valuestring, "web-data");
	assert_int_equal(cJSON_GetArraySize(at(patch, "spec.dataVolumeTemplates")), 3);
	cJSON_Delete(patch);
	cJSON_Delete(del);
	/* a second boot disk added later: refused, nothing patched */
	cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(wk, "spec"), "disks"),
			     js("{\"name\":\"boot2\",\"size\":\"5Gi\",\"boot\":true}"));
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), -1);
	assert_string_equal(v.reason, "MultipleBootDisks");
	assert_null(patch);
	cJSON_Delete(vm);
	cJSON_Delete(wk);
}

/* Later changes of networks and nodeSelector reach the VM (once per generation); labels and
 * annotations (no generation) are judged against the VM each time, dropped keys removed. */
static void template_updates(void **state)
{
	struct pv_cluster cl = cluster();
	struct pv_verdict v;
	cJSON *wk = load(FX "wukong-web.json"), *vm = NULL, *patch, *del;
	cJSON *spec, *meta;

	(void)state;
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	spec = cJSON_GetObjectItem(wk, "spec");
	meta = cJSON_GetObjectItem(wk, "metadata");
	/* the VM as built: nothing to do */
	pv_build_meta_update(wk, vm, &patch);
	assert_null(patch);
	/* a VM whose interfaces carry MAC addresses (seeded, or given by someone) is not
	 * rewritten for them when another field changes (a spec.migration generation) */
	cJSON_AddStringToObject(
	    cJSON_GetArrayItem(at(vm, "spec.template.spec.domain.devices.interfaces"), 0),
	    "macAddress", "02:00:00:00:00:01");
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_null(patch);
	/* networks: the multus one gone, the pod one no longer migratable; nodeSelector changed */
	cJSON_ReplaceItemInObject(spec, "networks",
				  js("[{\"name\":\"default\",\"type\":\"pod\",\"binding\":"
				     "\"bridge\"}]"));
	cJSON_ReplaceItemInObject(spec, "nodeSelector", js("{\"zone\":\"b\"}"));
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_non_null(patch);
	assert_int_equal(cJSON_GetArraySize(at(patch, "spec.template.spec.networks")), 1);
	assert_int_equal(
	    cJSON_GetArraySize(at(patch, "spec.template.spec.domain.devices.interfaces")), 1);
	assert_non_null(at(patch, "spec.template.spec.domain.devices.interfaces"));
	assert_true(cJSON_IsNull(at(patch, "spec.template.metadata.annotations")->child));
	assert_string_equal(at(patch, "spec.template.spec.nodeSelector.zone")->valuestring, "b");
	/* the interface that stays keeps its MAC address */
	assert_string_equal(
	    at(cJSON_GetArrayItem(at(patch, "spec.template.spec.domain.devices.interfaces"), 0),
	       "macAddress")
		->valuestring,
	    "02:00:00:00:00:01");
	assert_null(at(patch, "spec.template.spec.domain.cpu")); /* cpu unchanged */
	cJSON_Delete(patch);
	/* nodeSelector removed: null; but not while node-failure recovery pins the VM */
	cJSON_DeleteItemFromObject(spec, "nodeSelector");
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_true(cJSON_IsNull(at(patch, "spec.template.spec.nodeSelector")));
	cJSON_Delete(patch);
	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"), "labels"),
				"vm.novasphere.dev/failure-recovery", "node-1");
	assert_int_equal(pv_build_update(wk, vm, &cl, &patch, &del, &v), 0);
	assert_null(at(patch, "spec.template.spec.nodeSelector"));
	cJSON_Delete(patch);
	/* labels and annotations: one changed, one added, one dropped; the VM's and the
	 * template's; the pipeline's own keys and others' keys stay */
	cJSON_ReplaceItemInObject(meta, "labels", js("{\"app\":\"web2\",\"tier\":\"front\"}"));
	cJSON_ReplaceItemInObject(meta, "annotations",
				  js("{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\","
				     "\"owner\":\"ops\"}"));
	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(vm, "metadata"), "labels"),
				"someone-elses", "x");
	pv_build_meta_update(wk, vm, &patch);
	assert_non_null(patch);
	assert_string_equal(at(patch, "metadata.labels.app")->valuestring, "web2");
	assert_string_equal(at(patch, "metadata.labels.tier")->valuestring, "front");
	assert_string_equal(at(patch, "spec.template.metadata.labels.tier")->valuestring, "front");
	assert_null(at(patch, "metadata.labels.someone-elses"));
	assert_null(at(patch, "metadata.labels.vm.novasphere.dev/failure-recovery"));
	assert_true(cJSON_IsNull(at(patch, "metadata.annotations.team")));
	assert_true(cJSON_IsNull(at(patch, "spec.template.metadata.annotations.team")));
	assert_string_equal(at(patch, "metadata.annotations.owner")->valuestring, "ops");
	assert_null(cJSON_GetObjectItem(at(patch, "metadata.annotations"),
					"kubectl.kubernetes.io/last-applied-configuration"));
	assert_string_equal(cJSON_GetObjectItem(at(patch, "metadata.annotations"),
						"vm.novasphere.dev/carried-labels")
				->valuestring,
			    "app,tier");
	assert_string_equal(cJSON_GetObjectItem(at(patch, "metadata.annotations"),
						"vm.novasphere.dev/carried-annotations")
				->valuestring,
			    "owner");
	cJSON_Delete(patch);
	/* a VM made before the carried lists (or seeded) that matches is not written for them */
	{
		cJSON *w2 = load(FX "wukong-web.json"), *vm2 = NULL;

		assert_int_equal(pv_build_vm(w2, &cl, &vm2, &v), 0);
		cJSON_DeleteItemFromObject((cJSON *)at(vm2, "metadata.annotations"),
					   "vm.novasphere.dev/carried-labels");
		cJSON_DeleteItemFromObject((cJSON *)at(vm2, "metadata.annotations"),
					   "vm.novasphere.dev/carried-annotations");
		pv_build_meta_update(w2, vm2, &patch);
		assert_null(patch);
		cJSON_Delete(vm2);
		cJSON_Delete(w2);
	}
	cJSON_Delete(vm);
	cJSON_Delete(wk);
}

static const struct pv_cond *cond(const struct pv_status *s, const char *type)
{
	static const struct pv_cond missing = {"", "", "", ""};

	for (size_t i = 0; i < s->ncond; i++)
		if (!strcmp(s->cond[i].type, type))
			return &s->cond[i];
	fail_msg("no condition '%s'", type);
	return &missing;
}

static void status(void **state)
{
	struct pv_cluster cl = cluster();
	struct pv_verdict v, none;
	struct pv_status s;
	cJSON *wk = load(FX "wukong-web.json"), *vm = NULL, *dvs, *vmi;

	(void)state;
	memset(&none, 0, sizeof(none));
	assert_int_equal(pv_build_vm(wk, &cl, &vm, &v), 0);
	/* no VM yet, refused */
	snprintf(v.reason, sizeof(v.reason), "StorageClassNotFound");
	snprintf(v.message, sizeof(v.message), "class 'gold' does not exist");
	v.retry = true;
	pv_build_status(wk, NULL, NULL, NULL, &cl, &v, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Pending");
	assert_string_equal(cond(&s, "Ready")->reason, "StorageClassNotFound");
	assert_string_equal(cond(&s, "SpecAccepted")->status, "False");
	pv_status_release(&s);
	v.retry = false;
	snprintf(v.reason, sizeof(v.reason), "MultipleBootDisks");
	pv_build_status(wk, NULL, NULL, NULL, &cl, &v, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Failed");
	pv_status_release(&s);
	/* importing: per-disk progress */
	dvs = js(
	    "[{\"metadata\":{\"name\":\"web-system\"},\"status\":{\"phase\":\"ImportInProgress\","
	    "\"progress\":\"45.00%\"}},{\"metadata\":{\"name\":\"web-data\"},\"status\":{\"phase\":"
	    "\"Succeeded\",\"progress\":\"100.0%\"}}]");
	pv_build_status(wk, vm, NULL, dvs, &cl, &none, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Provisioning");
	assert_string_equal(cond(&s, "Ready")->reason, "ImportInProgress");
	{
		const cJSON *d0 = cJSON_GetArrayItem(at(s.status, "disks"), 0);

		assert_string_equal(at(d0, "progress")->valuestring, "45.00%");
		assert_string_equal(at(d0, "phase")->valuestring, "ImportInProgress");
		assert_string_equal(
		    at(cJSON_GetArrayItem(at(s.status, "disks"), 2), "phase")->valuestring,
		    "NotCreated");
	}
	pv_status_release(&s);
	cJSON_Delete(dvs);
	/* import failed: the importer's message */
	dvs = js(
	    "[{\"metadata\":{\"name\":\"web-system\"},\"status\":{\"phase\":\"ImportInProgress\","
	    "\"progress\":\"N/A\",\"conditions\":[{\"type\":\"Running\",\"status\":\"False\","
	    "\"reason\":\"Error\",\"message\":\"Unable to connect to http data source: dial tcp: "
	    "lookup images.example: no such host\"}]}}]");
	pv_build_status(wk, vm, NULL, dvs, &cl, &none, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Failed");
	assert_string_equal(cond(&s, "Ready")->reason, "ImportFailed");
	assert_non_null(strstr(cond(&s, "Ready")->message, "no such host"));
	pv_status_release(&s);
	cJSON_Delete(dvs);
	dvs = js("[{\"metadata\":{\"name\":\"web-system\"},\"status\":{\"phase\":\"Succeeded\"}},"
		 "{\"metadata\":{\"name\":\"web-data\"},\"status\":{\"phase\":\"Succeeded\"}},"
		 "{\"metadata\":{\"name\":\"web-tools\"},\"status\":{\"phase\":"
		 "\"WaitForFirstConsumer\"}}]");
	/* unschedulable: the scheduler's message */
	vmi = js("{\"status\":{\"phase\":\"Scheduling\",\"conditions\":[{\"type\":\"PodScheduled\","
		 "\"status\":\"False\",\"reason\":\"Unschedulable\",\"message\":\"0/4 nodes are "
		 "available: 4 Insufficient memory.\"}]}}");
	pv_build_status(wk, vm, vmi, dvs, &cl, &none, &s);
	assert_string_equal(cond(&s, "Ready")->reason, "Unschedulable");
	assert_non_null(strstr(cond(&s, "Ready")->message, "Insufficient memory"));
	pv_status_release(&s);
	cJSON_Delete(vmi);
	/* running, with addresses; then migrating */
	vmi =
	    js("{\"spec\":{\"domain\":{\"cpu\":{\"cores\":2},\"memory\":{\"guest\":\"4Gi\"}},"
	       "\"volumes\":[{},{},{}]},\"status\":{\"phase\":\"Running\",\"nodeName\":\"node-2\","
	       "\"interfaces\":[{\"ipAddress\":\"10.244.0.7\",\"ipAddresses\":[\"10.244.0.7\","
	       "\"fd00::7\"]}]}}");
	/* the VMI KubeVirt made from the template: its networks, nodeSelector and metadata */
	cJSON_AddItemToObject(cJSON_GetObjectItem(vmi, "spec"), "networks",
			      cJSON_Duplicate(at(vm, "spec.template.spec.networks"), true));
	cJSON_AddItemToObject(cJSON_GetObjectItem(vmi, "spec"), "nodeSelector",
			      cJSON_Duplicate(at(vm, "spec.template.spec.nodeSelector"), true));
	cJSON_AddItemToObject(vmi, "metadata",
			      cJSON_Duplicate(at(vm, "spec.template.metadata"), true));
	pv_build_status(wk, vm, vmi, dvs, &cl, &none, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Running");
	assert_string_equal(at(s.status, "nodeName")->valuestring, "node-2");
	assert_string_equal(at(s.status, "vmName")->valuestring, "web-vm");
	assert_int_equal(cJSON_GetArraySize(at(s.status, "ipAddresses")), 2);
	assert_string_equal(cond(&s, "Ready")->status, "True");
	assert_string_equal(cond(&s, "RestartRequired")->status, "False");
	pv_status_release(&s);
	/* the template moved on, the running VMI did not: RestartRequired says what */
	{
		cJSON *v2 = cJSON_Duplicate(vmi, true);

		cJSON_DeleteItemFromArray((cJSON *)at(v2, "spec.networks"), 1);
		pv_build_status(wk, vm, v2, dvs, &cl, &none, &s);
		assert_string_equal(cond(&s, "RestartRequired")->status, "True");
		assert_non_null(strstr(cond(&s, "RestartRequired")->message, "networks changed"));
		pv_status_release(&s);
		cJSON_Delete(v2);
		v2 = cJSON_Duplicate(vmi, true);
		cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v2, "spec"), "nodeSelector",
					  js("{\"zone\":\"c\"}"));
		pv_build_status(wk, vm, v2, dvs, &cl, &none, &s);
		assert_non_null(
		    strstr(cond(&s, "RestartRequired")->message, "nodeSelector changed"));
		assert_non_null(strstr(cond(&s, "RestartRequired")->message, "not LiveUpdate"));
		pv_status_release(&s);
		cJSON_Delete(v2);
		v2 = cJSON_Duplicate(vmi, true);
		cJSON_ReplaceItemInObject((cJSON *)at(v2, "metadata.labels"), "app",
					  cJSON_CreateString("old"));
		pv_build_status(wk, vm, v2, dvs, &cl, &none, &s);
		assert_non_null(
		    strstr(cond(&s, "RestartRequired")->message, "label 'app' changed"));
		assert_non_null(strstr(cond(&s, "RestartRequired")->message, "restart the VM"));
		pv_status_release(&s);
		cJSON_Delete(v2);
	}
	cJSON_AddItemToObject(cJSON_GetObjectItem(vmi, "status"), "migrationState",
			      js("{\"startTimestamp\":\"2026-12-07T21:00:00Z\"}"));
	pv_build_status(wk, vm, vmi, dvs, &cl, &none, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Migrating");
	pv_status_release(&s);
	/* memory changed on the VM, not live: RestartRequired says why */
	cJSON_ReplaceItemInObject((cJSON *)at(vm, "spec.template.spec.domain.memory"), "guest",
				  cJSON_CreateString("8Gi"));
	pv_build_status(wk, vm, vmi, dvs, &cl, &none, &s);
	assert_string_equal(cond(&s, "RestartRequired")->status, "True");
	assert_non_null(strstr(cond(&s, "RestartRequired")->message, "LiveUpdate"));
	pv_status_release(&s);
	cl.live_update = true;
	pv_build_status(wk, vm, vmi, dvs, &cl, &none, &s);
	assert_string_equal(cond(&s, "RestartRequired")->status, "False");
	pv_status_release(&s);
	cJSON_Delete(vmi);
	/* stopped */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(vm, "spec"), "runStrategy",
				  cJSON_CreateString("Halted"));
	pv_build_status(wk, vm, NULL, dvs, &cl, &none, &s);
	assert_string_equal(at(s.status, "phase")->valuestring, "Stopped");
	assert_true(cJSON_IsNull(at(s.status, "nodeName")));
	pv_status_release(&s);
	cJSON_Delete(dvs);
	cJSON_Delete(vm);
	cJSON_Delete(wk);
}

/* A finished clone's VM takes its own Wukong's cpu and memory; unset ones stay the source's. */
static void clone_update(void **state)
{
	cJSON *vm = js("{\"spec\":{\"template\":{\"spec\":{\"domain\":{\"cpu\":{\"cores\":1},"
		       "\"memory\":{\"guest\":\"2Gi\"}}}}}}");
	cJSON *wk = js("{\"metadata\":{\"generation\":2},\"spec\":{\"cpu\":4,\"memory\":\"8Gi\","
		       "\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\"}}}");
	cJSON *patch = NULL;

	(void)state;
	pv_build_clone_update(wk, vm, &patch);
	assert_int_equal(at(patch, "spec.template.spec.domain.cpu.cores")->valueint, 4);
	assert_string_equal(at(patch, "spec.template.spec.domain.memory.guest")->valuestring,
			    "8Gi");
	assert_string_equal(
	    at(patch, "spec.template.spec.domain.resources.requests.cpu")->valuestring, "4");
	assert_string_equal(at(patch, "metadata.annotations")->child->valuestring, "2");
	cJSON_Delete(patch);
	cJSON_Delete(wk);
	wk = js("{\"metadata\":{\"generation\":1},\"spec\":{\"cloneSource\":{}}}");
	pv_build_clone_update(wk, vm, &patch);
	assert_null(at(patch, "spec.template.spec.domain.cpu"));
	assert_null(at(patch, "spec.template.spec.domain.memory"));
	cJSON_Delete(patch);
	cJSON_Delete(wk);
	cJSON_Delete(vm);
}

/* What goes to wukong.status: the top-level keys directly under status. */
static void emitted_body(void **state)
{
	struct wk_emit_status s;
	cJSON *f = js("{\"phase\":\"Running\",\"vmName\":\"web-vm\"}"), *o;
	char *body;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cluster = "c1";
	s.ns = "default";
	s.name = "web";
	s.source = PV_SVC;
	s.seq = 5;
	s.fields = f;
	body = wk_emit_status_json(&s, 0);
	o = js(body);
	assert_string_equal(at(o, "status.phase")->valuestring, "Running");
	assert_string_equal(at(o, "status.vmName")->valuestring, "web-vm");
	cJSON_Delete(o);
	free(body);
	cJSON_Delete(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fixture_vm),   cmocka_unit_test(refusals),
	    cmocka_unit_test(adoption),	    cmocka_unit_test(updates),
	    cmocka_unit_test(status),	    cmocka_unit_test(emitted_body),
	    cmocka_unit_test(clone_update), cmocka_unit_test(template_updates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
