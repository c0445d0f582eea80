/* test_mig_storage.c - a VM's disks classified (shared, node-local, unknown, other) from the claim,
 * PersistentVolume and StorageClass; when a node-local disk can be copied and the reason when
 * not; the copy's deterministic name; the clone DataVolume; the volumes switched to the copy and
 * back (idempotent), dataVolumeTemplates without the old one; the copies in the cold-migration
 * state (round trip, garbage, over the cap). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "decide/mig_cold_state.h"
#include "decide/mig_storage.h"
#include "wk_json.h"

#define PVC_LOCAL                                                                                  \
	"{\"metadata\":{\"name\":\"db-data\",\"ownerReferences\":[{\"kind\":\"DataVolume\","       \
	"\"name\":\"db-data\"}]},\"spec\":{\"storageClassName\":\"local-path\",\"volumeName\":"    \
	"\"pv-1\",\"accessModes\":[\"ReadWriteOnce\"],\"volumeMode\":\"Block\",\"resources\":"     \
	"{\"requests\":{\"storage\":\"4Gi\"}}}}"
#define PV_LOCAL                                                                                   \
	"{\"metadata\":{\"name\":\"pv-1\"},\"spec\":{\"nodeAffinity\":{\"required\":{"             \
	"\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\","       \
	"\"operator\":\"In\",\"values\":[\"node-a\"]}]}]}}}}"
#define SC_WFFC                                                                                    \
	"{\"metadata\":{\"name\":\"local-path\"},\"provisioner\":\"rancher.io/local-path\","       \
	"\"volumeBindingMode\":\"WaitForFirstConsumer\"}"
#define NODE_B                                                                                     \
	"{\"metadata\":{\"name\":\"node-b\",\"labels\":{\"kubernetes.io/hostname\":\"node-b\"}}}"

static void classify(void **state)
{
	cJSON *vol = cJSON_Parse("{\"name\":\"data\",\"dataVolume\":{\"name\":\"db-data\"}}");
	cJSON *pvc = cJSON_Parse(PVC_LOCAL), *pv = cJSON_Parse(PV_LOCAL),
	      *sc = cJSON_Parse(SC_WFFC);
	cJSON *nb = cJSON_Parse(NODE_B), *na = cJSON_Parse("{\"metadata\":{\"name\":\"node-a\","
							   "\"labels\":{\"kubernetes.io/hostname\":"
							   "\"node-a\"}}}");
	struct mig_disk d;
	char why[400];

	(void)state;
	assert_int_equal(mig_disk_classify(vol, pvc, pv, sc, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_LOCAL);
	assert_string_equal(mig_disk_kind_name(d.kind), "node-local");
	assert_string_equal(d.node, "node-a");
	assert_string_equal(d.claim, "db-data");
	assert_string_equal(d.owner_dv, "db-data");
	assert_true(d.ref_dv);
	assert_true(d.wffc);
	assert_false(d.rwx);
	assert_string_equal(d.size, "4Gi");
	assert_string_equal(d.access, "ReadWriteOnce");
	assert_non_null(strstr(d.why, "node 'node-a'"));
	assert_int_equal(mig_copy_possible(&d, "node-b", why, sizeof(why)), 0);
	/* the node its volume is on: reachable */
	assert_int_equal(mig_disk_classify(vol, pvc, pv, sc, na, "node-a", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_SHARED);
	/* no node affinity: shared */
	assert_int_equal(mig_disk_classify(vol, pvc, NULL, sc, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_UNKNOWN); /* the PV could not be read */
	cJSON *pv2 = cJSON_Parse("{\"metadata\":{\"name\":\"pv-1\"},\"spec\":{\"csi\":{}}}");
	assert_int_equal(mig_disk_classify(vol, pvc, pv2, sc, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_SHARED);
	/* no claim */
	assert_int_equal(mig_disk_classify(vol, NULL, NULL, NULL, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_UNKNOWN);
	/* not bound */
	cJSON *pvc2 = cJSON_Parse("{\"spec\":{\"storageClassName\":\"x\"}}");
	assert_int_equal(mig_disk_classify(vol, pvc2, NULL, NULL, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_UNKNOWN);
	assert_non_null(strstr(d.why, "not bound"));
	/* not a claim */
	cJSON *cd = cJSON_Parse("{\"name\":\"boot\",\"containerDisk\":{\"image\":\"x\"}}");
	assert_int_equal(mig_disk_classify(cd, NULL, NULL, NULL, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_OTHER);
	/* garbage */
	assert_int_equal(mig_disk_classify(NULL, NULL, NULL, NULL, NULL, NULL, &d), -1);
	cJSON *bad = cJSON_Parse("[1,2]");
	assert_int_equal(mig_disk_classify(bad, pvc, pv, sc, nb, "node-b", &d), -1);
	cJSON *noname = cJSON_Parse("{\"persistentVolumeClaim\":{\"claimName\":\"x\"}}");
	assert_int_equal(mig_disk_classify(noname, pvc, pv, sc, nb, "node-b", &d), -1);
	/* a claim name over the cap: unknown, never truncated into another name */
	char big[300];
	snprintf(big, sizeof(big),
		 "{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"%0100d\"}}", 0);
	cJSON *bv = cJSON_Parse(big);
	assert_int_equal(mig_disk_classify(bv, pvc, pv, sc, nb, "node-b", &d), 0);
	assert_int_equal(d.kind, MIG_DISK_UNKNOWN);
	cJSON_Delete(bv);
	cJSON_Delete(noname);
	cJSON_Delete(bad);
	cJSON_Delete(cd);
	cJSON_Delete(pvc2);
	cJSON_Delete(pv2);
	cJSON_Delete(vol);
	cJSON_Delete(pvc);
	cJSON_Delete(pv);
	cJSON_Delete(sc);
	cJSON_Delete(nb);
	cJSON_Delete(na);
}

static void copy_possible(void **state)
{
	struct mig_disk d;
	char why[400];

	(void)state;
	memset(&d, 0, sizeof(d));
	strcpy(d.volume, "data");
	strcpy(d.claim, "db-data");
	strcpy(d.sclass, "local-static");
	assert_int_equal(mig_copy_possible(&d, "node-b", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "could not be read"));
	strcpy(d.provisioner, "kubernetes.io/no-provisioner");
	d.wffc = true;
	assert_int_equal(mig_copy_possible(&d, "node-b", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "dynamic provisioner"));
	strcpy(d.provisioner, "topolvm.io");
	d.wffc = false;
	assert_int_equal(mig_copy_possible(&d, "node-b", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "WaitForFirstConsumer"));
	d.wffc = true;
	assert_int_equal(mig_copy_possible(&d, "node-b", why, sizeof(why)), 0);
}

static void names_and_dv(void **state)
{
	char a[MIG_COPY_NAME], b[MIG_COPY_NAME], c[MIG_COPY_NAME];
	char longclaim[80];

	(void)state;
	mig_copy_name("db-data", "req-1", "data", a, sizeof(a));
	mig_copy_name("db-data", "req-1", "data", b, sizeof(b));
	mig_copy_name("db-data", "req-2", "data", c, sizeof(c));
	assert_string_equal(a, b); /* the same for the same move */
	assert_string_not_equal(a, c);
	assert_int_equal(strncmp(a, "db-data-mv-", 11), 0);
	assert_int_equal(strlen(a), 19);
	memset(longclaim, 'x', 63);
	longclaim[43] = '-'; /* the cut lands after a '-': dropped */
	longclaim[63] = 0;
	mig_copy_name(longclaim, "r", "v", a, sizeof(a));
	assert_true(strlen(a) <= 63);
	assert_null(strstr(a, "--"));

	struct mig_disk d;
	struct mig_copy cp;
	memset(&d, 0, sizeof(d));
	memset(&cp, 0, sizeof(cp));
	strcpy(d.sclass, "local-path");
	strcpy(d.access, "ReadWriteOnce");
	strcpy(d.size, "4Gi");
	strcpy(d.volume_mode, "Block");
	strcpy(cp.from, "db-data");
	strcpy(cp.to, "db-data-mv-1234abcd");
	cJSON *dv = mig_copy_dv("ns1", &d, &cp, "req-1");
	assert_string_equal(wk_json_str(dv, "spec.source.pvc.name"), "db-data");
	assert_string_equal(wk_json_str(dv, "spec.source.pvc.namespace"), "ns1");
	assert_string_equal(wk_json_str(dv, "spec.storage.storageClassName"), "local-path");
	assert_string_equal(wk_json_str(dv, "spec.storage.resources.requests.storage"), "4Gi");
	assert_string_equal(wk_json_str(dv, "metadata.name"), "db-data-mv-1234abcd");
	assert_string_equal(wk_json_meta(dv, "labels", WK_LABEL_REQUEST_ID), "req-1");
	cJSON_Delete(dv);
}

static void switch_volumes(void **state)
{
	cJSON *vm = cJSON_Parse(
	    "{\"spec\":{\"dataVolumeTemplates\":[{\"metadata\":{\"name\":\"db-data\"}},"
	    "{\"metadata\":{\"name\":\"db-sys\"}}],\"template\":{\"spec\":{\"volumes\":["
	    "{\"name\":\"sys\",\"dataVolume\":{\"name\":\"db-sys\"}},"
	    "{\"name\":\"data\",\"dataVolume\":{\"name\":\"db-data\"}},"
	    "{\"name\":\"scratch\",\"persistentVolumeClaim\":{\"claimName\":\"db-scratch\"}}]}}}}");
	struct mig_copy c[2];
	cJSON *v, *v2, *back, *t;
	char *p;

	(void)state;
	memset(c, 0, sizeof(c));
	strcpy(c[0].volume, "data");
	strcpy(c[0].from, "db-data");
	strcpy(c[0].from_dv, "db-data");
	c[0].ref_dv = true;
	strcpy(c[0].to, "db-data-mv-1");
	strcpy(c[1].volume, "scratch");
	strcpy(c[1].from, "db-scratch");
	strcpy(c[1].to, "db-scratch-mv-1");
	v = mig_copy_volumes(wk_json_path(vm, "spec.template.spec.volumes"), c, 2, true);
	assert_int_equal(cJSON_GetArraySize(v), 3);
	assert_string_equal(wk_json_str(cJSON_GetArrayItem(v, 0), "dataVolume.name"), "db-sys");
	assert_string_equal(wk_json_str(cJSON_GetArrayItem(v, 1), "dataVolume.name"),
			    "db-data-mv-1");
	assert_string_equal(wk_json_str(cJSON_GetArrayItem(v, 2), "dataVolume.name"),
			    "db-scratch-mv-1");
	/* idempotent */
	v2 = mig_copy_volumes(v, c, 2, true);
	assert_true(cJSON_Compare(v, v2, true));
	/* and back: as the VM named them */
	back = mig_copy_volumes(v, c, 2, false);
	assert_true(cJSON_Compare(back, wk_json_path(vm, "spec.template.spec.volumes"), true));
	t = mig_copy_templates(wk_json_path(vm, "spec.dataVolumeTemplates"), c, 2);
	assert_int_equal(cJSON_GetArraySize(t), 1);
	assert_string_equal(wk_json_str(cJSON_GetArrayItem(t, 0), "metadata.name"), "db-sys");
	/* the VMI on the copies */
	cJSON *vmi = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(vmi, "spec"), "volumes",
			      cJSON_Duplicate(v, 1));
	assert_true(mig_copy_in_use(vmi, c, 2));
	cJSON_Delete(vmi);
	vmi = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(vmi, "spec"), "volumes",
			      cJSON_Duplicate(back, 1));
	assert_false(mig_copy_in_use(vmi, c, 2));
	assert_true(mig_copy_in_use(vmi, c, 0));
	/* the patch keeps what it is given and adds the volumes */
	p = mig_copy_vm_patch("{\"spec\":{\"runStrategy\":\"Always\",\"template\":{\"spec\":{"
			      "\"nodeSelector\":{\"a\":\"b\"}}}}}",
			      vm, c, 2, true);
	cJSON *pp = cJSON_Parse(p);
	assert_string_equal(wk_json_str(pp, "spec.runStrategy"), "Always");
	assert_string_equal(wk_json_str(pp, "spec.template.spec.nodeSelector.a"), "b");
	assert_int_equal(cJSON_GetArraySize(wk_json_path(pp, "spec.template.spec.volumes")), 3);
	assert_int_equal(cJSON_GetArraySize(wk_json_path(pp, "spec.dataVolumeTemplates")), 1);
	cJSON_Delete(pp);
	free(p);
	p = mig_copy_vm_patch("garbage", vm, c, 0, true);
	assert_string_equal(p, "{}");
	free(p);
	cJSON_Delete(vmi);
	cJSON_Delete(t);
	cJSON_Delete(back);
	cJSON_Delete(v2);
	cJSON_Delete(v);
	cJSON_Delete(vm);
}

#define BASE "\"requestId\":\"r\",\"target\":\"n\",\"hostname\":\"h\",\"wukong\":\"w\""

static void state_copies(void **state)
{
	struct mig_cold_state s, t;
	char *j, big[8000];
	size_t k;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.request, "r");
	strcpy(s.target, "node-b");
	strcpy(s.hostname, "node-b");
	strcpy(s.wukong, "db");
	strcpy(s.source, "node-a");
	s.ncopies = 1;
	s.keep_source = true;
	strcpy(s.copies[0].volume, "data");
	strcpy(s.copies[0].from, "db-data");
	strcpy(s.copies[0].from_node, "node-a");
	strcpy(s.copies[0].to, "db-data-mv-1");
	s.copies[0].ref_dv = true;
	j = mig_cold_state_json(&s);
	assert_int_equal(mig_cold_state_parse(j, &t), 0);
	assert_int_equal(t.ncopies, 1);
	assert_true(t.keep_source);
	assert_true(t.copies[0].ref_dv);
	assert_string_equal(t.source, "node-a");
	assert_string_equal(t.copies[0].to, "db-data-mv-1");
	assert_string_equal(t.copies[0].from_node, "node-a");
	mig_cold_state_release(&t);
	free(j);
	/* malformed copies */
	assert_int_equal(mig_cold_state_parse("{" BASE ",\"copies\":{}}", &t), -1);
	assert_int_equal(mig_cold_state_parse("{" BASE ",\"copies\":[7]}", &t), -1);
	assert_int_equal(mig_cold_state_parse("{" BASE ",\"copies\":[{\"volume\":\"v\"}]}", &t),
			 -1);
	assert_int_equal(
	    mig_cold_state_parse(
		"{" BASE ",\"copies\":[{\"volume\":\"v\",\"from\":\"\",\"to\":\"x\"}]}", &t),
	    -1);
	/* at the cap, and one over */
	k = (size_t)snprintf(big, sizeof(big), "{" BASE ",\"copies\":[");
	for (int i = 0; i < MIG_COPY_MAX; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k,
				      "%s{\"volume\":\"v%d\",\"from\":\"a\",\"to\":\"b\"}",
				      i ? "," : "", i);
	snprintf(big + k, sizeof(big) - k, "]}");
	assert_int_equal(mig_cold_state_parse(big, &t), 0);
	assert_int_equal(t.ncopies, MIG_COPY_MAX);
	mig_cold_state_release(&t);
	snprintf(big + k, sizeof(big) - k, ",{\"volume\":\"v\",\"from\":\"a\",\"to\":\"b\"}]}");
	assert_int_equal(mig_cold_state_parse(big, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(classify),	    cmocka_unit_test(copy_possible),
	    cmocka_unit_test(names_and_dv), cmocka_unit_test(switch_volumes),
	    cmocka_unit_test(state_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
