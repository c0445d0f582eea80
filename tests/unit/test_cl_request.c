/* test_cl_request.c - clone submissions (valid, empty, truncated, garbage, wrong types, unknown
 * fields, hostile names, huge numbers, deep nesting, duplicates, at and past the caps), tenant
 * policy, jobs read from a Wukong's spec.cloneSource (vm, vmi, offline, cross-namespace, hostile
 * values), the Wukongs made for a batch, and the deterministic names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../consumers/cloner/cl_request.h"

#include "wk_name.h"

#include <cjson/cJSON.h>

#define VALID                                                                                      \
	"{\"requestId\":\"batch-1\",\"cluster\":\"local\",\"namespace\":\"default\","              \
	"\"tenant\":\"team-a\",\"source\":{\"type\":\"vm\",\"name\":\"tmpl-vm\"},"                 \
	"\"targets\":[{\"name\":\"b1\"},{\"name\":\"b2\",\"running\":false}],"                     \
	"\"disks\":[\"system\"],\"keepSnapshot\":true,\"parallelism\":3,\"reason\":\"farm\"}"

static struct cl_submission sub;
static struct cl_verdict v;

static int parse(const char *s)
{
	return cl_parse_submission(s, strlen(s), &sub, &v);
}

static void refused(const char *s, const char *code)
{
	if (parse(s) != -1)
		fail_msg("accepted: %s", s);
	assert_string_equal(v.code, code);
	assert_true(v.message[0] != 0);
}

static void submission_valid(void **state)
{
	(void)state;
	assert_int_equal(parse(VALID), 0);
	assert_string_equal(sub.id, "batch-1");
	assert_string_equal(sub.ns, "default");
	assert_string_equal(sub.source_ns, "default");
	assert_string_equal(sub.tenant, "team-a");
	assert_int_equal(sub.type, CL_SRC_VM);
	assert_string_equal(sub.source_name, "tmpl-vm");
	assert_int_equal(sub.ntargets, 2);
	assert_int_equal(sub.targets[0].running, -1);
	assert_int_equal(sub.targets[1].running, 0);
	assert_int_equal(sub.ndisks, 1);
	assert_true(sub.keep_snapshot);
	assert_int_equal(sub.parallelism, 3);
	assert_string_equal(sub.note, "farm");
	/* defaults */
	assert_int_equal(parse("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
			       "\"source\":{\"type\":\"vmi\",\"name\":\"s\",\"namespace\":\"o\"},"
			       "\"targets\":[{\"name\":\"t\"}]}"),
			 0);
	assert_int_equal(sub.parallelism, 2);
	assert_int_equal(sub.type, CL_SRC_VMI);
	assert_string_equal(sub.source_ns, "o");
	assert_false(sub.keep_snapshot);
}

static void submission_bad_input(void **state)
{
	(void)state;
	refused("", "MalformedRequest");
	assert_int_equal(cl_parse_submission(NULL, 0, &sub, &v), -1);
	refused("{\"requestId\":\"r\",\"cluster\"", "MalformedRequest"); /* truncated */
	refused("\x01\xff garbage", "MalformedRequest");
	refused("[1,2]", "SchemaViolation");
	refused("\"str\"", "SchemaViolation");
	refused("{}", "SchemaViolation");
	{
		char nul[] = "{\"requestId\":\"r\"}\0xx";

		assert_int_equal(cl_parse_submission(nul, sizeof(nul) - 1, &sub, &v), -1);
		assert_string_equal(v.code, "MalformedRequest");
	}
	/* unknown fields anywhere */
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\",\"extra\":1,"
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\",\"uid\":\"x\"},\"targets\":[{\"name\":"
		"\"t\"}]}",
		"SchemaViolation");
	refused(
	    "{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
	    "\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\",\"x\":1}]}",
	    "SchemaViolation");
	/* wrong types and values */
	refused("{\"requestId\":5,\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"pod\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[\"t\"]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"},"
		"{\"name\":\"t\"}]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\","
		"\"running\":\"yes\"}]}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"keepSnapshot\":1}",
		"SchemaViolation");
	/* a target whose VM would be the source */
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s-vm\"},\"targets\":[{\"name\":\"s\"}]}",
		"SchemaViolation");
}

static void submission_hostile(void **state)
{
	(void)state;
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"../kube-system\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}]}",
		"InvalidName");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"../../api/v1/secrets\"},\"targets\":[{"
		"\"name\":\"t\"}]}",
		"InvalidName");
	refused(
	    "{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
	    "\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"T?watch=1\"}]}",
	    "InvalidName");
	refused("{\"requestId\":\"R_1\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}]}",
		"InvalidName");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"disks\":[\"../etc\"]}",
		"SchemaViolation");
	/* huge and fractional numbers are refused, not truncated */
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"parallelism\":1e300}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"parallelism\":-1e300}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"parallelism\":2.5}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"parallelism\":0}",
		"SchemaViolation");
	refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
		"\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],"
		"\"parallelism\":-3}",
		"SchemaViolation");
	/* deep nesting in a field we do not know: refused as a schema error, no crash */
	{
		char *deep = malloc(20000);
		size_t n = 0, i;

		n += (size_t)sprintf(deep, "{\"requestId\":\"r\",\"x\":");
		for (i = 0; i < 900; i++)
			deep[n++] = '[';
		for (i = 0; i < 900; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = 0;
		assert_int_equal(parse(deep), -1);
		free(deep);
	}
}

static char *make_targets(size_t n, size_t pad)
{
	size_t cap = 200 + n * (pad + 40), i;
	char *s = malloc(cap);
	size_t len = (size_t)snprintf(s, cap,
				      "{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\","
				      "\"source\":{\"type\":\"vm\",\"name\":\"s\"},\"targets\":[");

	for (i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(s + len, cap - len, "%s{\"name\":\"t%zu\"}", i ? "," : "", i);
	len += (size_t)snprintf(s + len, cap - len, "],\"reason\":\"");
	for (i = 0; i < pad; i++)
		s[len++] = 'x';
	snprintf(s + len, cap - len, "\"}");
	return s;
}

static void submission_caps(void **state)
{
	char *s;
	size_t len;

	(void)state;
	/* targets: 100 accepted, 101 refused */
	s = make_targets(CL_MAX_TARGETS, 0);
	assert_int_equal(parse(s), 0);
	assert_int_equal(sub.ntargets, CL_MAX_TARGETS);
	free(s);
	s = make_targets(CL_MAX_TARGETS + 1, 0);
	refused(s, "SchemaViolation");
	free(s);
	/* reason: 1023 bytes accepted, 1024 refused */
	s = make_targets(1, CL_NOTE_MAX - 1);
	assert_int_equal(parse(s), 0);
	free(s);
	s = make_targets(1, CL_NOTE_MAX);
	refused(s, "SchemaViolation");
	free(s);
	/* the whole value: at the cap it is read (and refused for its content), past it not */
	s = malloc(CL_SUBMISSION_MAX + 2);
	memset(s, ' ', CL_SUBMISSION_MAX + 1);
	memcpy(s, VALID, strlen(VALID));
	len = CL_SUBMISSION_MAX;
	assert_int_equal(cl_parse_submission(s, len, &sub, &v), 0);
	assert_int_equal(cl_parse_submission(s, len + 1, &sub, &v), -1);
	assert_string_equal(v.code, "RequestTooLarge");
	free(s);
	/* disks: 32 accepted, 33 refused; duplicates refused */
	{
		char buf[4096];
		size_t n = (size_t)snprintf(buf, sizeof(buf),
					    "{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":"
					    "\"n\",\"source\":{\"type\":\"vm\",\"name\":\"s\"},"
					    "\"targets\":[{\"name\":\"t\"}],\"disks\":[");
		int i;

		for (i = 0; i < CL_MAX_DISKS; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"d%d\"", i ? "," : "",
					      i);
		snprintf(buf + n, sizeof(buf) - n, "]}");
		assert_int_equal(parse(buf), 0);
		assert_int_equal(sub.ndisks, CL_MAX_DISKS);
		snprintf(buf + n, sizeof(buf) - n, ",\"dx\"]}");
		refused(buf, "SchemaViolation");
		refused("{\"requestId\":\"r\",\"cluster\":\"c\",\"namespace\":\"n\",\"source\":{"
			"\"type\":\"vm\",\"name\":\"s\"},\"targets\":[{\"name\":\"t\"}],\"disks\":["
			"\"a\",\"a\"]}",
			"SchemaViolation");
	}
}

static void tenants(void **state)
{
	(void)state;
	assert_int_equal(cl_tenant_check("", "default", NULL, false, false, &v), 0);
	assert_int_equal(cl_tenant_check("", "default", NULL, true, false, &v), -1);
	assert_string_equal(v.code, "Forbidden");
	assert_int_equal(cl_tenant_check("a", "default", NULL, false, false, &v), 0);
	assert_int_equal(cl_tenant_check("a", "default", NULL, false, true, &v), -1);
	assert_int_equal(cl_tenant_check("a", "team-a-dev", "team-a-*, other", false, true, &v), 0);
	assert_int_equal(cl_tenant_check("a", "other", "team-a-*, other", false, true, &v), 0);
	assert_int_equal(cl_tenant_check("a", "othe", "team-a-*, other", false, true, &v), -1);
	assert_int_equal(cl_tenant_check("a", "kube-system", "team-a-*", false, true, &v), -1);
	assert_int_equal(cl_tenant_check("a", "x", "*", false, true, &v), 0);
}

static int job_of(const char *json, struct cl_job_spec *j)
{
	cJSON *o = cJSON_Parse(json);
	int rc;

	assert_non_null(o);
	rc = cl_job_from_wukong(o, "local", j);
	cJSON_Delete(o);
	return rc;
}

static void jobs_from_wukongs(void **state)
{
	struct cl_job_spec j;

	(void)state;
	assert_int_equal(
	    job_of("{\"metadata\":{\"name\":\"copy\",\"namespace\":\"default\","
		   "\"uid\":\"1a2b3c4d-5e6f-7a8b\"},\"spec\":{\"cloneSource\":{\"type\":"
		   "\"vmi\",\"vmiName\":\"src-vm\",\"cloneType\":\"running\",\"disks\":["
		   "\"system\"],\"keepSnapshot\":true}}}",
		   &j),
	    1);
	assert_string_equal(j.id, "spec-1a2b3c4d");
	assert_string_equal(j.target_vm, "copy-vm");
	assert_int_equal(j.type, CL_SRC_VMI);
	assert_string_equal(j.source_name, "src-vm");
	assert_string_equal(j.source_ns, "default");
	assert_true(j.keep_snapshot && j.want_running);
	assert_int_equal(j.ndisks, 1);
	assert_true(cl_job_wants_disk(&j, "system"));
	assert_false(cl_job_wants_disk(&j, "data"));
	assert_string_equal(j.invalid, "");
	/* no cloneSource, an offline clone, garbage metadata */
	assert_int_equal(
	    job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{}}", &j), 0);
	/* an offline clone is the cloner's too: never started, copied as it is */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"cloneType\":"
				"\"offline\"}}}",
				&j),
			 1);
	assert_true(j.offline && !j.start_source && !j.per_volume);
	assert_string_equal(j.invalid, "");
	/* offline and startSource contradict each other */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"cloneType\":"
				"\"offline\",\"startSource\":true}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "InvalidCloneSource");
	/* another namespace, or a disk selection: the per-volume route */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\","
				"\"namespace\":\"golden\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "");
	assert_true(j.per_volume);
	assert_string_equal(j.source_ns, "golden");
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\","
				"\"namespace\":\"golden\",\"startSource\":true}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "InvalidCloneSource");
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\"}}}",
				&j),
			 1); /* cloneType defaults to running (CRD default) */
	assert_string_equal(j.invalid, "");
	/* full and linked: the seed names them, the CRD takes them, the cloner refuses them */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"cloneType\":"
				"\"linked\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "CloneTypeNotSupported");
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"../x\",\"namespace\":\"d\"}}", &j), -1);
	assert_int_equal(job_of("[]", &j), -1);
	/* a Kafka batch's Wukong: the submission's id and parallelism, running false */
	assert_int_equal(
	    job_of("{\"metadata\":{\"name\":\"b1\",\"namespace\":\"d\",\"annotations\":"
		   "{\"vm.novasphere.dev/clone-request\":\"batch-1\","
		   "\"vm.novasphere.dev/clone-parallelism\":\"2\"}},\"spec\":{"
		   "\"running\":false,\"cloneSource\":{\"type\":\"vm\",\"vmName\":"
		   "\"s\",\"cloneType\":\"running\"}}}",
		   &j),
	    1);
	assert_string_equal(j.id, "batch-1");
	assert_true(j.from_kafka);
	assert_int_equal(j.parallelism, 2);
	assert_false(j.want_running);
	/* cross namespace: a per-volume job (VolumeSnapshots + CDI DataVolume clones) */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"namespace\":"
				"\"other\",\"cloneType\":\"running\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "");
	assert_true(j.per_volume);
	/* hostile values become invalid jobs, never paths */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"../../secrets\","
				"\"cloneType\":\"running\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "InvalidCloneSource");
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"disk\",\"cloneType\":\"running\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "InvalidCloneSource");
	assert_int_equal(
	    job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
		   "\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"a-vm\",\"cloneType\":"
		   "\"running\"}}}",
		   &j),
	    1);
	assert_string_equal(j.invalid, "InvalidCloneSource"); /* the source is the target */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"cloneType\":"
				"\"running\",\"disks\":\"system\"}}}",
				&j),
			 1);
	assert_string_equal(j.invalid, "InvalidCloneSource");
	/* a bogus parallelism annotation is ignored, not trusted */
	assert_int_equal(job_of("{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\",\"annotations\":"
				"{\"vm.novasphere.dev/clone-request\":\"r\","
				"\"vm.novasphere.dev/clone-parallelism\":\"99999\"}},\"spec\":{"
				"\"cloneSource\":{\"type\":\"vm\",\"vmName\":\"s\",\"cloneType\":"
				"\"running\"}}}",
				&j),
			 1);
	assert_int_equal(j.parallelism, 0);
}

static void derived_names(void **state)
{
	struct cl_job_spec a, b;
	char n1[96], n2[96], key[200], serial[64];

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.cluster, "local");
	strcpy(a.ns, "default");
	strcpy(a.name, "copy");
	strcpy(a.id, "spec-1a2b3c4d");
	b = a;
	cl_object_name(&a, n1, sizeof(n1));
	cl_object_name(&b, n2, sizeof(n2));
	assert_string_equal(n1, n2); /* deterministic */
	assert_int_equal(strncmp(n1, "copy-clone-", 11), 0);
	assert_true(wk_name_is_dns1123_label(n1));
	strcpy(b.id, "spec-other");
	cl_object_name(&b, n2, sizeof(n2));
	assert_string_not_equal(n1, n2);
	/* long names and a cut that would end in '-' stay valid labels */
	memset(a.name, 'a', 200);
	a.name[200] = 0;
	a.name[39] = '-';
	cl_object_name(&a, n1, sizeof(n1));
	assert_true(strlen(n1) <= 63);
	assert_true(wk_name_is_dns1123_label(n1));
	cl_started_key(&a, key, sizeof(key));
	assert_int_equal(strncmp(key, CL_ANN_STARTED_PREFIX, strlen(CL_ANN_STARTED_PREFIX)), 0);
	cl_smbios_serial(&a, serial, sizeof(serial));
	assert_int_equal(strlen(serial), 36);
	assert_int_equal(serial[8], '-');
	assert_int_equal(serial[14], '4');
	cl_spec_request_id("AB-cd-12", n1, sizeof(n1));
	assert_string_equal(n1, "spec-cd12");
	cl_spec_request_id(NULL, n1, sizeof(n1));
	assert_string_equal(n1, "spec-nouid");
}

static void wukong_for_batch_target(void **state)
{
	cJSON *base = cJSON_Parse("{\"cpu\":2,\"memory\":\"4Gi\",\"disks\":[{\"name\":\"system\"}],"
				  "\"migration\":{\"targetNode\":\"n\"},\"running\":true}");
	cJSON *w;
	const cJSON *spec, *cs;

	(void)state;
	assert_int_equal(parse(VALID), 0);
	w = cl_wukong_for_target(&sub, 1, base, NULL);
	spec = cJSON_GetObjectItem(w, "spec");
	cs = cJSON_GetObjectItem(spec, "cloneSource");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(w, "metadata"), "name")->valuestring, "b2");
	assert_null(cJSON_GetObjectItem(spec, "migration"));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(spec, "running")));
	assert_int_equal(cJSON_GetObjectItem(spec, "cpu")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(cs, "vmName")->valuestring, "tmpl-vm");
	assert_string_equal(cJSON_GetObjectItem(cs, "cloneType")->valuestring, "running");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cs, "keepSnapshot")));
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(w, "metadata"), "annotations"),
		WK_ANN_CLONE_PARALLELISM)
		->valuestring,
	    "3");
	cJSON_Delete(w);
	/* without a source Wukong: cpu/memory from the VM, else defaults */
	w = cl_wukong_for_target(&sub, 0, NULL, NULL);
	spec = cJSON_GetObjectItem(w, "spec");
	assert_int_equal(cJSON_GetObjectItem(spec, "cpu")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(spec, "memory")->valuestring, "1Gi");
	cJSON_Delete(w);
	cJSON_Delete(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(submission_valid),
	    cmocka_unit_test(submission_bad_input),
	    cmocka_unit_test(submission_hostile),
	    cmocka_unit_test(submission_caps),
	    cmocka_unit_test(tenants),
	    cmocka_unit_test(jobs_from_wukongs),
	    cmocka_unit_test(derived_names),
	    cmocka_unit_test(wukong_for_batch_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
