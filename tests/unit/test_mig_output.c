/* test_mig_output.c - status updates, audit events, Kubernetes Events, VMIM and MigrationPolicy
 * bodies: content, nulls that clear stale fields, deterministic names and ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_output.h"
#include "../../consumers/status/st_update.h"

#include <cjson/cJSON.h>
#include <math.h>

static void req(struct mig_request *r)
{
	memset(r, 0, sizeof(*r));
	mig_options_init(&r->opt);
	strcpy(r->id, "req-1");
	strcpy(r->cluster, "local");
	strcpy(r->ns, "default");
	strcpy(r->name, "web-1");
	strcpy(r->vm, "web-1-vm");
	strcpy(r->target_node, "node-2");
	r->source = MIG_SRC_KAFKA;
}

static const cJSON *get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static void status_queued_then_migrating(void **state)
{
	struct mig_request r;
	struct mig_status s;
	char *js;
	cJSON *o;
	const cJSON *ms, *c;

	(void)state;
	req(&r);
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = MIG_PH_QUEUED;
	s.seq = 1700000000000001;
	s.source_node = "node-1";
	s.queue_position = 3;
	s.reason = "Queued";
	s.message = "waiting";
	js = mig_status_json(&s, 1700000000000);
	o = cJSON_Parse(js);
	assert_non_null(o);
	assert_string_equal(get(o, "source", NULL)->valuestring, "wukong-migrator");
	assert_non_null(strstr(js, "\"seq\":1700000000000001,"));
	ms = get(get(o, "status", NULL), "migrationStatus", NULL);
	assert_string_equal(get(ms, "phase", NULL)->valuestring, "Queued");
	assert_string_equal(get(ms, "requestId", NULL)->valuestring, "req-1");
	assert_int_equal(get(ms, "queuePosition", NULL)->valueint, 3);
	assert_true(cJSON_IsNull(get(ms, "startedAt", NULL)));
	c = cJSON_GetArrayItem(get(o, "conditions", NULL), 0);
	assert_string_equal(get(c, "type", NULL)->valuestring, "Migrating");
	assert_string_equal(get(c, "status", NULL)->valuestring, "True");
	assert_string_equal(get(c, "lastTransitionTime", NULL)->valuestring,
			    "2023-11-14T22:13:20Z");
	assert_null(get(c, "observedGeneration", NULL)); /* Kafka source */
	cJSON_Delete(o);
	free(js);

	/* Leaving the queue: the position must be cleared with an explicit null. */
	s.phase = MIG_PH_MIGRATING;
	s.queue_position = 0;
	s.started_ms = 1700000000000;
	js = mig_status_json(&s, 1700000000000);
	o = cJSON_Parse(js);
	ms = get(get(o, "status", NULL), "migrationStatus", NULL);
	assert_true(cJSON_IsNull(get(ms, "queuePosition", NULL)));
	assert_string_equal(get(ms, "startedAt", NULL)->valuestring, "2023-11-14T22:13:20Z");
	cJSON_Delete(o);
	free(js);
}

static void status_final_and_condition_only(void **state)
{
	struct mig_request r;
	struct mig_status s;
	char *js;
	cJSON *o;
	const cJSON *c;

	(void)state;
	req(&r);
	r.source = MIG_SRC_SPEC;
	r.generation = 7;
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = MIG_PH_REJECTED;
	s.seq = 5;
	s.reason = "TargetNodeNotReady";
	s.message = "target node 'node-2' is not Ready";
	js = mig_status_json(&s, 0);
	o = cJSON_Parse(js);
	c = cJSON_GetArrayItem(get(o, "conditions", NULL), 0);
	assert_string_equal(get(c, "status", NULL)->valuestring, "False");
	assert_string_equal(get(c, "reason", NULL)->valuestring, "TargetNodeNotReady");
	assert_int_equal(get(c, "observedGeneration", NULL)->valueint, 7);
	assert_string_equal(
	    get(get(get(o, "status", NULL), "migrationStatus", NULL), "phase", NULL)->valuestring,
	    "Rejected");
	cJSON_Delete(o);
	free(js);
	s.condition_only = true;
	s.condition_type = "MigrationRequestRejected";
	js = mig_status_json(&s, 0);
	o = cJSON_Parse(js);
	assert_null(get(o, "status", NULL)); /* the running request's status is left alone */
	c = cJSON_GetArrayItem(get(o, "conditions", NULL), 0);
	assert_string_equal(get(c, "type", NULL)->valuestring, "MigrationRequestRejected");
	assert_string_equal(get(c, "status", NULL)->valuestring, "True");
	cJSON_Delete(o);
	free(js);
	assert_true(mig_phase_final(MIG_PH_CANCELLED));
	assert_false(mig_phase_final(MIG_PH_QUEUED));
	assert_string_equal(mig_phase_name(MIG_PH_SUCCEEDED), "Succeeded");
	assert_string_equal(mig_phase_name((enum mig_phase)99), "Unknown");
}

/* downtimeSeconds: a number only where it is known (has_downtime), in the schema's range; null
 * otherwise so that a live migration's update clears a cold move's value; never NaN/inf/negative
 * (the status writer would dead-letter the whole update). */
static double downtime_of(struct mig_status *s, bool *is_null)
{
	char *js = mig_status_json(s, 0);
	cJSON *o = cJSON_Parse(js);
	const cJSON *v;
	double d = -1;

	assert_non_null(o);
	v = get(get(get(o, "status", NULL), "migrationStatus", NULL), "downtimeSeconds", NULL);
	assert_non_null(v); /* always present: a number or null */
	*is_null = cJSON_IsNull(v);
	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	else
		assert_true(*is_null);
	cJSON_Delete(o);
	free(js);
	return d;
}

static void status_downtime(void **state)
{
	struct mig_request r;
	struct mig_status s;
	bool nul;
	char *js;

	(void)state;
	req(&r);
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.seq = 9;
	s.phase = MIG_PH_SUCCEEDED;
	s.mode = "Cold";
	s.has_downtime = true;
	s.downtime_s = 12.3456789;
	assert_true(downtime_of(&s, &nul) == 12.346); /* milliseconds */
	assert_false(nul);
	s.downtime_s = 0;
	assert_true(downtime_of(&s, &nul) == 0);
	assert_false(nul);
	s.downtime_s = MIG_DOWNTIME_MAX_S; /* at the cap */
	assert_true(downtime_of(&s, &nul) == 1e9);
	assert_false(nul);
	/* Out of range or not a number: null, never a value the schema refuses. */
	s.downtime_s = MIG_DOWNTIME_MAX_S + 1;
	downtime_of(&s, &nul);
	assert_true(nul);
	s.downtime_s = -0.5;
	downtime_of(&s, &nul);
	assert_true(nul);
	s.downtime_s = NAN;
	downtime_of(&s, &nul);
	assert_true(nul);
	s.downtime_s = INFINITY;
	downtime_of(&s, &nul);
	assert_true(nul);
	/* Not known (every live-migration update): null, whatever downtime_s holds. */
	s.has_downtime = false;
	s.downtime_s = 5;
	downtime_of(&s, &nul);
	assert_true(nul);
	s.phase = MIG_PH_MIGRATING;
	s.mode = "PreCopy";
	downtime_of(&s, &nul);
	assert_true(nul);
	/* What the migrator sends, the status writer takes: a cold success and a live update. */
	{
		struct st_update u;
		char err[256];
		const cJSON *v;

		s.phase = MIG_PH_SUCCEEDED;
		s.mode = "Cold";
		s.has_downtime = true;
		s.downtime_s = 42.5;
		s.started_ms = 1700000000000;
		s.completed_ms = 1700000042500;
		js = mig_status_json(&s, 1700000042500);
		st_update_init(&u);
		assert_int_equal(st_update_parse(&u, js, strlen(js), err, sizeof(err)), 0);
		v = cJSON_GetObjectItem(u.fields[ST_F_MIGRATION], "downtimeSeconds");
		assert_true(cJSON_IsNumber(v) && v->valuedouble == 42.5);
		st_update_release(&u);
		free(js);
		s.has_downtime = false;
		s.phase = MIG_PH_MIGRATING;
		js = mig_status_json(&s, 1700000042500);
		assert_int_equal(st_update_parse(&u, js, strlen(js), err, sizeof(err)), 0);
		assert_true(
		    cJSON_IsNull(cJSON_GetObjectItem(u.fields[ST_F_MIGRATION], "downtimeSeconds")));
		st_update_release(&u);
		free(js);
	}
	/* A condition-only update has no migrationStatus at all. */
	s.condition_only = true;
	s.has_downtime = true;
	js = mig_status_json(&s, 0);
	assert_null(strstr(js, "downtimeSeconds"));
	free(js);
}

static void audit(void **state)
{
	struct mig_request r;
	struct mig_audit a;
	char *js, id1[64], id2[64], id3[64];
	cJSON *o;

	(void)state;
	req(&r);
	memset(&a, 0, sizeof(a));
	a.req = &r;
	a.cluster = "local";
	a.action = "migration.preflight";
	a.outcome = "rejected";
	a.reason = "TargetNodeNotFound";
	a.message = "target node 'node-9' does not exist";
	a.topic = "wukong.requests.local";
	a.partition = 2;
	a.offset = 41;
	js = mig_audit_json(&a);
	o = cJSON_Parse(js);
	assert_string_equal(get(o, "actor", NULL)->valuestring, "wukong-migrator");
	assert_string_equal(get(o, "requestId", NULL)->valuestring, "req-1");
	assert_string_equal(get(get(o, "requestSource", NULL), "type", NULL)->valuestring, "kafka");
	assert_int_equal(get(get(o, "requestSource", NULL), "offset", NULL)->valueint, 41);
	assert_string_equal(get(get(o, "object", NULL), "kind", NULL)->valuestring, "Wukong");
	assert_string_equal(get(get(o, "details", NULL), "targetNode", NULL)->valuestring,
			    "node-2");
	cJSON_Delete(o);
	free(js);
	/* A submission that could not be parsed: no request, no object name. */
	memset(&a, 0, sizeof(a));
	a.action = "migration.request-refused";
	a.outcome = "rejected";
	a.reason = "deserialize";
	js = mig_audit_json(&a);
	o = cJSON_Parse(js);
	assert_null(get(o, "object", NULL));
	assert_null(get(o, "requestId", NULL));
	cJSON_Delete(o);
	free(js);
	mig_audit_id("local", "default", "web-1", "req-1", "migration.queued", "Queued/1", id1,
		     sizeof(id1));
	mig_audit_id("local", "default", "web-1", "req-1", "migration.queued", "Queued/1", id2,
		     sizeof(id2));
	mig_audit_id("local", "default", "web-1", "req-1", "migration.queued", "Queued/2", id3,
		     sizeof(id3));
	assert_string_equal(id1, id2); /* a resend after a crash reuses the id */
	assert_string_not_equal(id1, id3);
	assert_int_equal(strlen(id1), 44);
}

static void k8s_event(void **state)
{
	struct mig_request r;
	cJSON *e, *e2;

	(void)state;
	req(&r);
	e = mig_k8s_event(&r, "uid-1", "Warning", "TargetNodeNotReady", "not ready",
			  "migration.preflight", "inst", 1700000000000);
	e2 = mig_k8s_event(&r, "uid-1", "Warning", "TargetNodeNotReady", "not ready",
			   "migration.preflight", "inst", 1700000009999);
	assert_string_equal(get(get(e, "involvedObject", NULL), "kind", NULL)->valuestring,
			    "Wukong");
	assert_string_equal(get(get(e, "involvedObject", NULL), "uid", NULL)->valuestring, "uid-1");
	assert_string_equal(get(e, "reason", NULL)->valuestring, "TargetNodeNotReady");
	assert_string_equal(get(e, "type", NULL)->valuestring, "Warning");
	assert_string_equal(get(get(e, "metadata", NULL), "name", NULL)->valuestring,
			    get(get(e2, "metadata", NULL), "name", NULL)->valuestring);
	assert_int_equal(
	    strncmp(get(get(e, "metadata", NULL), "name", NULL)->valuestring, "web-1.", 6), 0);
	cJSON_Delete(e2);
	/* Another step of the same action (migration.phase Scheduling, then Running) is its own
	 * Event, not a 409 on the first one's name. */
	e2 = mig_k8s_event(&r, "uid-1", "Warning", "TargetNodeUnschedulable", "cordoned",
			   "migration.preflight", "inst", 1700000000000);
	assert_string_not_equal(get(get(e, "metadata", NULL), "name", NULL)->valuestring,
				get(get(e2, "metadata", NULL), "name", NULL)->valuestring);
	cJSON_Delete(e);
	cJSON_Delete(e2);
}

static void vmim_and_policy(void **state)
{
	struct mig_request r, back;
	cJSON *v, *p, *vsel = cJSON_Parse("{\"vm.novasphere.dev/wukong\":\"web-1\"}");
	cJSON *nsel = cJSON_Parse("{\"kubernetes.io/metadata.name\":\"default\"}");
	const cJSON *spec, *labels;

	(void)state;
	req(&r);
	r.opt.allow_post_copy = MIG_TRUE;
	r.opt.allow_auto_converge = MIG_FALSE;
	r.opt.completion_timeout_per_gib = 800;
	r.opt.bandwidth = 64 << 20;
	strcpy(r.opt.bandwidth_text, "64Mi");
	v = mig_vmim_json(&r, "wk-req-1-0123456789", "node-2");
	assert_string_equal(get(v, "kind", NULL)->valuestring, "VirtualMachineInstanceMigration");
	spec = get(v, "spec", NULL);
	assert_string_equal(get(spec, "vmiName", NULL)->valuestring, "web-1-vm");
	assert_string_equal(
	    get(get(spec, "addedNodeSelector", NULL), "kubernetes.io/hostname", NULL)->valuestring,
	    "node-2");
	/* Only what KubeVirt accepts: no tuning fields on a VMIM. */
	assert_null(get(spec, "allowPostCopy", NULL));
	labels = get(get(v, "metadata", NULL), "labels", NULL);
	assert_string_equal(get(labels, WK_LABEL_REQUEST_ID, NULL)->valuestring, "req-1");
	assert_string_equal(get(labels, MIG_LABEL_MANAGED, NULL)->valuestring, MIG_MANAGED_VALUE);
	assert_int_equal(
	    mig_request_from_json(get(get(get(v, "metadata", NULL), "annotations", NULL),
				      WK_ANN_MIGRATION_REQUEST, NULL)
				      ->valuestring,
				  &back),
	    0);
	assert_string_equal(back.id, "req-1");
	cJSON_Delete(v);
	v = mig_vmim_json(&r, "x", NULL);
	assert_null(get(get(v, "spec", NULL), "addedNodeSelector", NULL));
	cJSON_Delete(v);

	p = mig_policy_json(&r, "wk-req-1-0123456789", vsel, nsel);
	spec = get(p, "spec", NULL);
	assert_string_equal(get(p, "apiVersion", NULL)->valuestring,
			    "migrations.kubevirt.io/v1alpha1");
	assert_null(get(get(p, "metadata", NULL), "namespace", NULL)); /* cluster-scoped */
	assert_true(cJSON_IsTrue(get(spec, "allowPostCopy", NULL)));
	assert_true(cJSON_IsFalse(get(spec, "allowAutoConverge", NULL)));
	assert_null(get(spec, "allowWorkloadDisruption", NULL));
	assert_int_equal(get(spec, "completionTimeoutPerGiB", NULL)->valueint, 800);
	assert_string_equal(get(spec, "bandwidthPerMigration", NULL)->valuestring, "64Mi");
	assert_string_equal(
	    get(get(get(spec, "selectors", NULL), "virtualMachineInstanceSelector", NULL),
		"vm.novasphere.dev/wukong", NULL)
		->valuestring,
	    "web-1");
	assert_non_null(get(get(spec, "selectors", NULL), "namespaceSelector", NULL));
	cJSON_Delete(p);
	cJSON_Delete(vsel);
	cJSON_Delete(nsel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_queued_then_migrating),
	    cmocka_unit_test(status_final_and_condition_only),
	    cmocka_unit_test(status_downtime),
	    cmocka_unit_test(audit),
	    cmocka_unit_test(k8s_event),
	    cmocka_unit_test(vmim_and_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
