/* test_wt_event.c - the watcher's event builder: kinds, key mapping per kind, ce_type/ce_id/
 * ce_subject, body content, fingerprints, hostile and oversized objects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../producers/watcher/wt_event.h"

#define NOW_US 1700000000000000LL

static cJSON *parse(const char *s)
{
	cJSON *o = cJSON_Parse(s);

	assert_non_null(o);
	return o;
}

/* Build from JSON text; returns the rc and fills ev (release it). */
static int build(const char *kind, const char *json, enum wt_change ch, struct wt_event *ev,
		 char *err, size_t errsz)
{
	cJSON *o = parse(json);
	int rc = wt_event_build(wt_kind_by_name(kind), "c1", o, ch, NOW_US, ev, err, errsz);

	cJSON_Delete(o);
	return rc;
}

static cJSON *body_of(const struct wt_event *ev)
{
	cJSON *b = cJSON_ParseWithLength(ev->body, ev->body_len);

	assert_non_null(b);
	assert_int_equal(strlen(ev->body), ev->body_len);
	return b;
}

static const char *bstr(const cJSON *b, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void kinds_lookup(void **state)
{
	(void)state;
	assert_int_equal(wt_kind_by_name("node")->id, WT_NODE);
	assert_null(wt_kind_by_name("pod"));
	assert_null(wt_kind_by_name(NULL));
	assert_int_equal(wt_kind_of_object("kubevirt.io/v1", "VirtualMachine")->id, WT_VM);
	/* another version of the same group is the same kind */
	assert_int_equal(wt_kind_of_object("kubevirt.io/v1alpha3", "VirtualMachine")->id, WT_VM);
	assert_int_equal(wt_kind_of_object("v1", "Node")->id, WT_NODE);
	assert_int_equal(wt_kind_of_object("metrics.k8s.io/v1beta1", "NodeMetrics")->id,
			 WT_NODEMETRICS);
	assert_null(wt_kind_of_object("v1", "Pod"));
	assert_null(wt_kind_of_object("evil.io/v1", "VirtualMachine")); /* group must match */
	assert_null(wt_kind_of_object("kubevirt.io/v1", NULL));
	assert_null(wt_kind_of_object(NULL, "Node"));
	for (int i = 0; i < WT_NKINDS; i++)
		assert_int_equal(wt_kinds[i].id, i);
}

struct keycase {
	const char *kind;
	const char *json;
	const char *key;
	const char *subject;
	const char *vm; /* NULL: "vm" is null */
};

static void key_mapping_per_kind(void **state)
{
	static const struct keycase cases[] = {
	    {"wukong",
	     "{\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":"
	     "\"1\"},\"status\":{\"vmName\":\"real-vm\"}}",
	     "c1/ns/real-vm", "Wukong/ns/x", "real-vm"},
	    {"wukong",
	     "{\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":"
	     "\"1\"}}",
	     "c1/ns/x-vm", "Wukong/ns/x", "x-vm"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":"
	     "\"1\"}}",
	     "c1/ns/v", "VirtualMachine/ns/v", "v"},
	    {"virtualmachineinstance",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":"
	     "\"1\"}}",
	     "c1/ns/v", "VirtualMachineInstance/ns/v", "v"},
	    {"virtualmachineinstancemigration",
	     "{\"metadata\":{\"name\":\"mig-1\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"},\"spec\":{\"vmiName\":\"v\"}}",
	     "c1/ns/v", "VirtualMachineInstanceMigration/ns/mig-1", "v"},
	    {"virtualmachinesnapshot",
	     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"uid\":\"u\",\"resourceVersion\":"
	     "\"1\"},\"spec\":{\"source\":{\"kind\":\"VirtualMachine\",\"name\":\"v\"}}}",
	     "c1/ns/v", "VirtualMachineSnapshot/ns/s", "v"},
	    {"virtualmachineclone",
	     "{\"metadata\":{\"name\":\"cl\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"},\"spec\":{\"source\":{\"name\":\"src\"},\"target\":{"
	     "\"name\":\"dst\"}}}",
	     "c1/ns/dst", "VirtualMachineClone/ns/cl", "dst"},
	    {"virtualmachineclone",
	     "{\"metadata\":{\"name\":\"cl\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"},\"spec\":{\"source\":{\"name\":\"src\"}}}",
	     "c1/ns/src", "VirtualMachineClone/ns/cl", "src"},
	    {"migrationpolicy",
	     "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\",\"resourceVersion\":\"1\",\"labels\":{"
	     "\"vm.novasphere.dev/vm\":\"v\",\"vm.novasphere.dev/namespace\":\"team\"}}}",
	     "c1/team/v", "MigrationPolicy/p", "v"},
	    {"migrationpolicy",
	     "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\",\"resourceVersion\":\"1\",\"labels\":{"
	     "\"vm.novasphere.dev/vm\":\"v\"}}}",
	     "c1/default/v", "MigrationPolicy/p", "v"},
	    {"migrationpolicy",
	     "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
	     "c1/migrationpolicy/p", "MigrationPolicy/p", NULL},
	    {"node", "{\"metadata\":{\"name\":\"n1\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
	     "c1/node/n1", "Node/n1", NULL},
	    {"nodemetrics", "{\"metadata\":{\"name\":\"n1\"},\"usage\":{\"cpu\":\"1\"}}",
	     "c1/node/n1", "NodeMetrics/n1", NULL},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wt_event ev;
		cJSON *b;

		assert_int_equal(
		    build(cases[i].kind, cases[i].json, WT_ADDED, &ev, err, sizeof(err)), 0);
		assert_string_equal(ev.key, cases[i].key);
		assert_string_equal(ev.subject, cases[i].subject);
		b = body_of(&ev);
		if (cases[i].vm)
			assert_string_equal(bstr(b, "vm"), cases[i].vm);
		else
			assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b, "vm")));
		cJSON_Delete(b);
		wt_event_release(&ev);
	}
}

static void attributes_and_body(void **state)
{
	const char *vm =
	    "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\","
	    "\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"abc-1\","
	    "\"resourceVersion\":\"42\",\"generation\":3,\"labels\":{\"a\":\"b\"},"
	    "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
	    "\"{big}\",\"keep\":\"me\"},\"managedFields\":[{\"manager\":\"x\"}],"
	    "\"ownerReferences\":[{\"kind\":\"Wukong\",\"name\":\"w\",\"uid\":\"o\"}]},"
	    "\"spec\":{\"running\":true},\"status\":{\"ready\":true}}";
	struct wt_event ev;
	char err[256];
	cJSON *b;

	(void)state;
	assert_int_equal(build("virtualmachine", vm, WT_MODIFIED, &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.type, "dev.novasphere.wukong.virtualmachine.modified");
	assert_string_equal(ev.id, "c1.abc-1.42.modified");
	assert_string_equal(ev.uid, "abc-1");
	assert_string_equal(ev.obj_id, "ns/v");
	assert_string_equal(ev.vmref, "ns/v");
	assert_string_equal(ev.rv, "42");
	assert_string_equal(ev.time, "2023-11-14T22:13:20.000000Z");
	assert_int_equal(strlen(ev.fp_hex), 16);
	assert_false(ev.truncated);
	b = body_of(&ev);
	assert_string_equal(bstr(b, "cluster"), "c1");
	assert_string_equal(bstr(b, "kind"), "VirtualMachine");
	assert_string_equal(bstr(b, "apiVersion"), "kubevirt.io/v1");
	assert_string_equal(bstr(b, "namespace"), "ns");
	assert_string_equal(bstr(b, "change"), "modified");
	assert_string_equal(bstr(b, "resourceVersion"), "42");
	assert_int_equal(cJSON_GetObjectItem(b, "generation")->valueint, 3);
	assert_string_equal(bstr(cJSON_GetObjectItem(b, "labels"), "a"), "b");
	assert_string_equal(bstr(cJSON_GetObjectItem(b, "annotations"), "keep"), "me");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "annotations"),
					"kubectl.kubernetes.io/last-applied-configuration"));
	assert_null(strstr(ev.body, "managedFields"));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(b, "ownerReferences")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "spec"), "running")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "deletionTimestamp")));
	cJSON_Delete(b);

	/* the same object as an add: only type, id and "change" differ */
	{
		uint64_t fp = ev.fp;

		wt_event_set_change(&ev, WT_ADDED);
		assert_string_equal(ev.type, "dev.novasphere.wukong.virtualmachine.added");
		assert_string_equal(ev.id, "c1.abc-1.42.added");
		assert_int_equal(ev.fp, fp);
		b = body_of(&ev);
		assert_string_equal(bstr(b, "change"), "added");
		assert_string_equal(bstr(b, "resourceVersion"), "42");
		cJSON_Delete(b);
		wt_event_set_change(&ev, WT_MODIFIED);
		assert_string_equal(ev.id, "c1.abc-1.42.modified");
		b = body_of(&ev);
		assert_string_equal(bstr(b, "change"), "modified");
		cJSON_Delete(b);
	}
	wt_event_release(&ev);
	wt_event_release(&ev); /* idempotent */
}

static void deletion_time_and_gone(void **state)
{
	struct wt_event ev;
	char err[256];
	cJSON *b;

	(void)state;
	assert_int_equal(build("virtualmachineinstance",
			       "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\","
			       "\"resourceVersion\":\"9\",\"deletionTimestamp\":"
			       "\"2026-01-02T03:04:05Z\"}}",
			       WT_DELETED, &ev, err, sizeof(err)),
			 0);
	assert_string_equal(ev.time, "2026-01-02T03:04:05.000000Z");
	assert_int_equal(ev.fp, 0);
	assert_string_equal(ev.id, "c1.u.9.deleted");
	wt_event_release(&ev);

	assert_int_equal(wt_event_build_gone(wt_kind_by_name("virtualmachinesnapshot"), "c1",
					     "ns/snap", "u2", "77", "ns/v", NOW_US, &ev, err,
					     sizeof(err)),
			 0);
	assert_string_equal(ev.key, "c1/ns/v");
	assert_string_equal(ev.subject, "VirtualMachineSnapshot/ns/snap");
	assert_string_equal(ev.type, "dev.novasphere.wukong.virtualmachinesnapshot.deleted");
	assert_string_equal(ev.id, "c1.u2.77.deleted");
	b = body_of(&ev);
	assert_string_equal(bstr(b, "observedBy"), "relist");
	assert_string_equal(bstr(b, "name"), "snap");
	assert_string_equal(bstr(b, "vm"), "v");
	cJSON_Delete(b);
	wt_event_release(&ev);

	/* node: no VM */
	assert_int_equal(wt_event_build_gone(wt_kind_by_name("node"), "c1", "n1", "u3", "5", "",
					     NOW_US, &ev, err, sizeof(err)),
			 0);
	assert_string_equal(ev.key, "c1/node/n1");
	wt_event_release(&ev);
	/* namespaced kind with an id that has no namespace */
	assert_int_equal(wt_event_build_gone(wt_kind_by_name("virtualmachine"), "c1", "nons", "u",
					     "1", "", NOW_US, &ev, err, sizeof(err)),
			 -1);
}

static void fingerprints(void **state)
{
	const char *a = "{\"metadata\":{\"name\":\"n1\",\"uid\":\"u\",\"resourceVersion\":\"1\","
			"\"managedFields\":[1]},\"spec\":{\"unschedulable\":false},\"status\":{"
			"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
			"\"lastHeartbeatTime\":\"2026-01-01T00:00:00Z\"}]}}";
	/* only resourceVersion, managedFields and the kubelet heartbeat moved */
	const char *b = "{\"metadata\":{\"name\":\"n1\",\"uid\":\"u\",\"resourceVersion\":\"2\","
			"\"managedFields\":[2]},\"spec\":{\"unschedulable\":false},\"status\":{"
			"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
			"\"lastHeartbeatTime\":\"2026-01-01T00:00:10Z\"}]}}";
	/* cordoned: a real change */
	const char *c = "{\"metadata\":{\"name\":\"n1\",\"uid\":\"u\",\"resourceVersion\":\"3\"},"
			"\"spec\":{\"unschedulable\":true},\"status\":{"
			"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
			"\"lastHeartbeatTime\":\"2026-01-01T00:00:10Z\"}]}}";
	struct wt_event ea, eb, ec;
	char err[256];

	(void)state;
	assert_int_equal(build("node", a, WT_MODIFIED, &ea, err, sizeof(err)), 0);
	assert_int_equal(build("node", b, WT_MODIFIED, &eb, err, sizeof(err)), 0);
	assert_int_equal(build("node", c, WT_MODIFIED, &ec, err, sizeof(err)), 0);
	assert_true(ea.fp != 0);
	assert_true(ea.fp == eb.fp);
	assert_true(ea.fp != ec.fp);
	assert_null(strstr(ea.body, "lastHeartbeatTime"));
	wt_event_release(&ea);
	wt_event_release(&eb);
	wt_event_release(&ec);
	/* known FNV-1a 64 values; 0 never comes out */
	assert_true(wt_fingerprint("", 0) == 0xcbf29ce484222325ull);
	assert_true(wt_fingerprint("a", 1) == 0xaf63dc4c8601ec8cull);

	/* nodemetrics: no uid/rv; ce_id carries the usage fingerprint; timestamp ignored */
	assert_int_equal(build("nodemetrics",
			       "{\"metadata\":{\"name\":\"n1\"},\"timestamp\":\"t1\",\"usage\":{"
			       "\"cpu\":\"100m\"}}",
			       WT_MODIFIED, &ea, err, sizeof(err)),
			 0);
	assert_int_equal(build("nodemetrics",
			       "{\"metadata\":{\"name\":\"n1\"},\"timestamp\":\"t2\",\"usage\":{"
			       "\"cpu\":\"100m\"}}",
			       WT_MODIFIED, &eb, err, sizeof(err)),
			 0);
	assert_true(ea.fp == eb.fp);
	assert_string_equal(ea.id, eb.id);
	assert_string_equal(ea.uid, "n1");
	assert_int_equal(strlen(ea.id), strlen("c1.n1.") + 16 + strlen(".modified"));
	wt_event_release(&ea);
	wt_event_release(&eb);

	/* issue 16 item 2: a dotted node name (FQDN hosts) is published; its stand-in uid has no
	 * dot (ce_id is split on dots), is the same every time and differs per name; the body
	 * and the key keep the real name */
	assert_int_equal(
	    build("nodemetrics",
		  "{\"metadata\":{\"name\":\"ip-10-0-1-5.ec2.internal\",\"labels\":{"
		  "\"kubernetes.io/hostname\":\"ip-10-0-1-5.ec2.internal\"},"
		  "\"creationTimestamp\":\"2026-12-07T12:00:00Z\"},\"timestamp\":\"t1\","
		  "\"window\":\"20s\",\"usage\":{\"cpu\":\"3250000000n\",\"memory\":"
		  "\"1Gi\"}}",
		  WT_MODIFIED, &ea, err, sizeof(err)),
	    0);
	assert_int_equal(
	    build("nodemetrics",
		  "{\"metadata\":{\"name\":\"ip-10-0-1-5.ec2.internal\"},\"timestamp\":"
		  "\"t2\",\"usage\":{\"cpu\":\"3250000000n\",\"memory\":\"1Gi\"}}",
		  WT_MODIFIED, &eb, err, sizeof(err)),
	    0);
	assert_non_null(strstr(ea.key, "/node/ip-10-0-1-5.ec2.internal"));
	assert_int_equal(strncmp(ea.uid, "nm-", 3), 0);
	assert_int_equal(strlen(ea.uid), 35);
	assert_null(strchr(ea.uid, '.'));
	assert_string_equal(ea.uid, eb.uid);
	assert_int_equal(strncmp(ea.id, "c1.nm-", 6), 0);
	assert_non_null(strstr(ea.body, "\"ip-10-0-1-5.ec2.internal\""));
	wt_event_release(&eb);
	assert_int_equal(
	    build("nodemetrics",
		  "{\"metadata\":{\"name\":\"ip-10-0-1-6.ec2.internal\"},\"usage\":{}}",
		  WT_MODIFIED, &eb, err, sizeof(err)),
	    0);
	assert_string_not_equal(ea.uid, eb.uid);
	wt_event_release(&ea);
	wt_event_release(&eb);
}

static void hostile_and_incomplete(void **state)
{
	static const struct {
		const char *kind, *json, *want;
	} bad[] = {
	    {"virtualmachine", "{}", "metadata"},
	    {"virtualmachine", "[]", "metadata"},
	    {"virtualmachine", "{\"metadata\":{}}", "name"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"../../api\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"}}",
	     "invalid name"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"a/b\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"}}",
	     "invalid"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
	     "namespace"},
	    {"virtualmachine", "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\"}}",
	     "resourceVersion"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"resourceVersion\":\"1\"}}",
	     "uid"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"a.b\","
	     "\"resourceVersion\":\"1\"}}",
	     "uid"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":123,\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"}}",
	     "name"},
	    {"virtualmachineinstancemigration",
	     "{\"metadata\":{\"name\":\"m\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"},\"spec\":{}}",
	     "no VM name"},
	    {"virtualmachineinstancemigration",
	     "{\"metadata\":{\"name\":\"m\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\"},\"spec\":{\"vmiName\":\"../x\"}}",
	     "vm name"},
	    {"migrationpolicy",
	     "{\"metadata\":{\"name\":\"p\",\"uid\":\"u\",\"resourceVersion\":\"1\",\"labels\":{"
	     "\"vm.novasphere.dev/vm\":\"v\",\"vm.novasphere.dev/namespace\":\"A_B\"}}}",
	     "namespace"},
	    /* what would go into ce_id / ce_wkuid must be CloudEvents String text */
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\\u0001\","
	     "\"resourceVersion\":\"1\"}}",
	     "not UTF-8 text"},
	    {"virtualmachine",
	     "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\","
	     "\"resourceVersion\":\"1\\n\"}}",
	     "not UTF-8 text"},
	    {"node",
	     "{\"metadata\":{\"name\":\"n\",\"uid\":\"u\\u0085\",\"resourceVersion\":\"1\"}}",
	     "not UTF-8 text"},
	};
	char err[256], big[400];
	struct wt_event ev;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(build(bad[i].kind, bad[i].json, WT_ADDED, &ev, err, sizeof(err)),
				 -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
	}
	/* a resourceVersion over 100 bytes */
	memset(big, '7', 101);
	big[101] = '\0';
	{
		char *j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":"
				       "\"u\",\"resourceVersion\":\"%s\"}}",
				       big);

		assert_int_equal(build("virtualmachine", j, WT_ADDED, &ev, err, sizeof(err)), -1);
		big[100] = '\0'; /* at the cap: fine */
		free(j);
		j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":"
				 "\"u\",\"resourceVersion\":\"%s\"}}",
				 big);
		assert_int_equal(build("virtualmachine", j, WT_ADDED, &ev, err, sizeof(err)), 0);
		wt_event_release(&ev);
		free(j);
	}
	/* printable non-ASCII in a uid is fine */
	assert_int_equal(
	    build("node",
		  "{\"metadata\":{\"name\":\"n\",\"uid\":\"u\\u00e9\",\"resourceVersion\":"
		  "\"1\"}}",
		  WT_ADDED, &ev, err, sizeof(err)),
	    0);
	assert_string_equal(ev.uid, "u\xc3\xa9");
	wt_event_release(&ev);
	/* a ce_id over the CloudEvents cap (a 63-character cluster id, uid and resourceVersion of
	 * 100 bytes each) is refused whatever its change; 255 bytes with "modified" fit */
	{
		char cluster[64], uid[101], *j;
		cJSON *o;

		memset(cluster, 'c', 63);
		cluster[63] = '\0';
		memset(uid, 'u', 100);
		uid[100] = '\0';
		memset(big, '7', 100);
		big[100] = '\0';
		j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":"
				 "\"%s\",\"resourceVersion\":\"%s\"}}",
				 uid, big);
		o = parse(j);
		assert_int_equal(wt_event_build(wt_kind_by_name("virtualmachine"), cluster, o,
						WT_ADDED, NOW_US, &ev, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "over the 255 byte cap"));
		assert_int_equal(wt_event_build_gone(wt_kind_by_name("virtualmachine"), cluster,
						     "ns/v", uid, big, "ns/v", NOW_US, &ev, err,
						     sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "over the 255 byte cap"));
		cJSON_Delete(o);
		free(j);
		big[100 - 18] = '\0'; /* 63 + 100 + 82 + 8 + 3 = 256: one too many */
		j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":"
				 "\"%s\",\"resourceVersion\":\"%s\"}}",
				 uid, big);
		o = parse(j);
		assert_int_equal(wt_event_build(wt_kind_by_name("virtualmachine"), cluster, o,
						WT_ADDED, NOW_US, &ev, err, sizeof(err)),
				 -1);
		cJSON_Delete(o);
		free(j);
		big[100 - 19] = '\0'; /* 255 bytes: the most */
		j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":"
				 "\"%s\",\"resourceVersion\":\"%s\"}}",
				 uid, big);
		o = parse(j);
		assert_int_equal(wt_event_build(wt_kind_by_name("virtualmachine"), cluster, o,
						WT_ADDED, NOW_US, &ev, err, sizeof(err)),
				 0);
		wt_event_set_change(&ev, WT_MODIFIED);
		assert_int_equal(strlen(ev.id), 255);
		wt_event_release(&ev);
		cJSON_Delete(o);
		free(j);
	}
	/* a uid read back from the topic (where anyone may write) is checked too */
	assert_int_equal(wt_event_build_gone(wt_kind_by_name("node"), "c1", "n1", "u\x01", "5", "",
					     NOW_US, &ev, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not UTF-8 text"));
	assert_int_equal(wt_event_build_gone(wt_kind_by_name("node"), "c1", "n1", "u", "\xff", "",
					     NOW_US, &ev, err, sizeof(err)),
			 -1);
	/* a Wukong whose derived VM name would be over 253 characters */
	{
		char name[254];
		char *j;

		memset(name, 'a', 252);
		name[252] = '\0';
		j = wk_xasprintf(
		    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"u\","
		    "\"resourceVersion\":\"1\"}}",
		    name);
		assert_int_equal(build("wukong", j, WT_ADDED, &ev, err, sizeof(err)), -1);
		free(j);
	}
}

/* Deep nesting in spec is carried by reference, not recursed into by us. */
static void deep_spec(void **state)
{
	struct wk_buf b;
	struct wt_event ev;
	char err[256];

	(void)state;
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_adds(&b, "{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\","
					 "\"uid\":\"u\",\"resourceVersion\":\"1\"},\"spec\":"),
			 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(wk_buf_adds(&b, "{\"a\":"), 0);
	assert_int_equal(wk_buf_adds(&b, "1"), 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(wk_buf_adds(&b, "}"), 0);
	assert_int_equal(wk_buf_adds(&b, "}"), 0);
	assert_int_equal(build("virtualmachine", wk_buf_str(&b), WT_ADDED, &ev, err, sizeof(err)),
			 0);
	assert_true(ev.body_len > 3000);
	wt_event_release(&ev);
	wk_buf_release(&b);
}

static char *vm_with_filler(size_t n)
{
	char *fill = wk_xmalloc(n + 1), *j;

	memset(fill, 'x', n);
	fill[n] = '\0';
	j = wk_xasprintf("{\"metadata\":{\"name\":\"v\",\"namespace\":\"ns\",\"uid\":\"u\","
			 "\"resourceVersion\":\"1\"},\"spec\":{\"blob\":\"%s\"}}",
			 fill);
	free(fill);
	return j;
}

static void body_cap(void **state)
{
	struct wt_event ev;
	char err[256];
	char *j = vm_with_filler(10);
	size_t overhead, n;
	uint64_t fp_small;

	(void)state;
	assert_int_equal(build("virtualmachine", j, WT_ADDED, &ev, err, sizeof(err)), 0);
	overhead = ev.body_len - 10;
	wt_event_release(&ev);
	free(j);
	/* exactly at the cap: published whole */
	n = WT_BODY_MAX - overhead;
	j = vm_with_filler(n);
	assert_int_equal(build("virtualmachine", j, WT_ADDED, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.body_len, WT_BODY_MAX);
	assert_false(ev.truncated);
	fp_small = ev.fp;
	wt_event_release(&ev);
	free(j);
	/* one byte over: identity only, flagged, fingerprint of the real content kept */
	j = vm_with_filler(n + 1);
	assert_int_equal(build("virtualmachine", j, WT_ADDED, &ev, err, sizeof(err)), 0);
	assert_true(ev.truncated);
	assert_true(ev.body_len < 1000);
	assert_true(ev.fp != fp_small && ev.fp != 0);
	assert_non_null(strstr(ev.body, "\"truncated\":true"));
	assert_null(strstr(ev.body, "xxxx"));
	assert_string_equal(ev.id, "c1.u.1.added");
	wt_event_release(&ev);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kinds_lookup),	   cmocka_unit_test(key_mapping_per_kind),
	    cmocka_unit_test(attributes_and_body), cmocka_unit_test(deletion_time_and_gone),
	    cmocka_unit_test(fingerprints),	   cmocka_unit_test(hostile_and_incomplete),
	    cmocka_unit_test(deep_spec),	   cmocka_unit_test(body_cap),
	};
	return cmocka_run_group_tests_name("wt_event", tests, NULL, NULL);
}
