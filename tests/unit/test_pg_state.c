/* test_pg_state.c - the progress model: VMIM/VMI/Wukong/Node events, metric samples (newest of
 * the repeated ones, unknown VMIs ignored), percent on the status never going back, final states,
 * executor reports, per-node and cluster aggregates, the JSON it emits, hostile bodies. */
#include "../../consumers/progress/pg_state.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

static void ev(struct pg_state *s, const char *kind, const char *change, const char *json, int want)
{
	cJSON *b = cJSON_Parse(json);
	char err[256];

	assert_non_null(b);
	if (pg_state_event(s, kind, change, b, 1000, err, sizeof(err)) != want)
		fail_msg("%s %s: %s", kind, json, err);
	cJSON_Delete(b);
}

static void vmim(struct pg_state *s, const char *change, const char *phase, const char *extra)
{
	char j[2048];

	snprintf(j, sizeof(j),
		 "{\"cluster\":\"c1\",\"namespace\":\"default\",\"name\":\"mig-1\","
		 "\"labels\":{},\"spec\":{\"vmiName\":\"web-vm\"},\"status\":{\"phase\":\"%s\","
		 "\"migrationState\":{\"sourceNode\":\"n1\",\"targetNode\":\"n2\","
		 "\"startTimestamp\":\"2026-11-22T01:00:00Z\",\"mode\":\"PreCopy\"%s}}}",
		 phase, extra ? extra : "");
	ev(s, "virtualmachineinstancemigration", change, j, 0);
}

static struct pg_op *first_op(struct pg_state *s)
{
	return pg_state_next_op(s, NULL);
}

static cJSON *status_of(struct pg_state *s, struct pg_op *op)
{
	char *j = pg_op_status_json(s, op, 42);
	cJSON *o = cJSON_Parse(j);

	free(j);
	assert_non_null(o);
	return o;
}

static int progress_of(cJSON *o)
{
	return cJSON_GetObjectItem(
		   cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationStatus"),
		   "progress")
	    ->valueint;
}

static void setup_cluster(struct pg_state *s)
{
	ev(s, "node", "added", "{\"name\":\"n1\",\"spec\":{}}", 0);
	ev(s, "node", "added", "{\"name\":\"n2\",\"spec\":{}}", 0);
	ev(s, "wukong", "added",
	   "{\"namespace\":\"default\",\"name\":\"web\",\"status\":{\"vmName\":\"web-vm\"}}", 0);
	ev(s, "virtualmachineinstance", "added",
	   "{\"namespace\":\"default\",\"name\":\"web-vm\",\"spec\":{\"domain\":{\"memory\":"
	   "{\"guest\":\"4Gi\"}}},\"status\":{\"nodeName\":\"n1\",\"phase\":\"Running\"}}",
	   0);
	ev(s, "virtualmachineinstance", "added",
	   "{\"namespace\":\"default\",\"name\":\"db-vm\",\"spec\":{\"domain\":{\"resources\":"
	   "{\"requests\":{\"memory\":\"2Gi\"}}}},\"status\":{\"nodeName\":\"n1\"}}",
	   0);
}

static void migration_lifecycle(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	struct pg_op *op;
	cJSON *o;
	struct pg_cluster_agg c;

	(void)state;
	setup_cluster(s);
	vmim(s, "added", "Pending", NULL);
	op = first_op(s);
	assert_non_null(op);
	assert_string_equal(op->wukong, "web");
	assert_false(op->managed);
	pg_state_cluster(s, 2000, &c);
	assert_int_equal(c.queued, 1);
	assert_int_equal(c.running, 0);
	vmim(s, "modified", "Running", NULL);
	pg_state_cluster(s, 2000, &c);
	assert_int_equal(c.running, 1);

	/* samples: virt-handler repeats older ones with timestamps; the newest wins */
	pg_state_metric(s, "default", "web-vm", 0, 1 * GiB, 5000);
	pg_state_metric(s, "default", "web-vm", 1, 3 * GiB, 5000);
	pg_state_metric(s, "default", "web-vm", 0, 0.5 * GiB, 1000);
	pg_state_metric(s, "default", "web-vm", 1, 3.5 * GiB, 1000);
	pg_state_metric(s, "default", "web-vm", 4, 100 * MiB, 5000);
	pg_state_metric(s, "default", "web-vm", 3, 10 * MiB, 5000);
	/* an unknown VMI (or a hostile endpoint inventing names) is ignored */
	pg_state_metric(s, "default", "ghost-vm", 0, 1, 5000);
	pg_state_metric(s, "default", "../../x", 0, 1, 5000);
	assert_int_equal(pg_state_metrics_apply(s, 9000), 1);
	assert_int_equal(op->x.percent, 25);
	assert_true(op->dirty);
	o = status_of(s, op);
	assert_int_equal(progress_of(o), 25);
	assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "web");
	assert_string_equal(cJSON_GetObjectItem(o, "source")->valuestring, "wukong-progress");
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationStatus"), "phase")
		->valuestring,
	    "Migrating");
	cJSON_Delete(o);

	/* remaining grows: the status percent stays */
	pg_state_metric(s, "default", "web-vm", 0, 1.2 * GiB, 10000);
	pg_state_metric(s, "default", "web-vm", 1, 6 * GiB, 10000);
	assert_int_equal(pg_state_metrics_apply(s, 11000), 1);
	assert_int_equal(op->x.percent, 25);
	/* the same sample again: not taken */
	pg_state_metric(s, "default", "web-vm", 0, 1.2 * GiB, 10000);
	pg_state_metric(s, "default", "web-vm", 1, 6 * GiB, 10000);
	assert_int_equal(pg_state_metrics_apply(s, 12000), 0);

	vmim(s, "modified", "Succeeded", ",\"endTimestamp\":\"2026-11-22T01:01:00Z\"");
	assert_true(op->final);
	o = status_of(s, op);
	assert_int_equal(progress_of(o), 100);
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationStatus"),
		"completedAt")
		->valuestring,
	    "2026-11-22T01:01:00Z");
	cJSON_Delete(o);
	pg_state_cluster(s, 2000, &c);
	assert_int_equal(c.running, 0);
	assert_int_equal(c.succeeded_last_hour, 1);
	/* gc only after the final state was sent */
	assert_int_equal(pg_state_gc(s, 10 * 60 * 1000, 1000), 0);
	op->final_sent = true;
	op->last_sent_ms = 1000;
	assert_int_equal(pg_state_gc(s, 10 * 60 * 1000, 1000), 1);
	assert_null(first_op(s));
	pg_state_destroy(s);
}

static void cancel_by_delete_and_failures(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	struct pg_cluster_agg c;
	struct pg_op *op;
	cJSON *o;

	(void)state;
	setup_cluster(s);
	vmim(s, "added", "Running", NULL);
	op = first_op(s);
	vmim(s, "deleted", "Running", NULL);
	assert_true(op->final);
	assert_false(op->succeeded);
	o = status_of(s, op);
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationStatus"), "phase")
		->valuestring,
	    "Cancelled");
	cJSON_Delete(o);
	pg_state_cluster(s, 2000, &c);
	assert_int_equal(c.failed_last_hour, 1);
	/* more than an hour later it no longer counts */
	pg_state_cluster(s, 1000 + PG_FAILED_WINDOW_MS + 1, &c);
	assert_int_equal(c.failed_last_hour, 0);
	pg_state_destroy(s);
}

static void managed_migration_leaves_phase_alone(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	cJSON *o, *ms;

	(void)state;
	setup_cluster(s);
	ev(s, "virtualmachineinstancemigration", "added",
	   "{\"namespace\":\"default\",\"name\":\"wk-req1\",\"labels\":{"
	   "\"app.kubernetes.io/managed-by\":\"wukong-migrator\","
	   "\"vm.novasphere.dev/request-id\":\"req1\"},\"spec\":{\"vmiName\":\"web-vm\"},"
	   "\"status\":{\"phase\":\"Running\"}}",
	   0);
	o = status_of(s, first_op(s));
	ms = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "status"), "migrationStatus");
	assert_null(cJSON_GetObjectItem(ms, "phase")); /* the migrator owns it */
	assert_non_null(cJSON_GetObjectItem(ms, "progress"));
	cJSON_Delete(o);
	pg_state_destroy(s);
}

static void node_aggregates(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	const struct pg_node_agg *a;
	size_t n;

	(void)state;
	setup_cluster(s);
	n = pg_state_nodes(s, &a);
	assert_int_equal(n, 0); /* nothing drained, nothing moving */
	ev(s, "node", "modified", "{\"name\":\"n1\",\"spec\":{\"unschedulable\":true}}", 0);
	n = pg_state_nodes(s, &a);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].node, "n1");
	assert_true(a[0].draining);
	assert_int_equal(a[0].vms_left, 2);
	assert_true(a[0].bytes_left == 6 * GiB);
	assert_true(a[0].eta_s < 0); /* nothing moving yet */
	vmim(s, "added", "Running", NULL);
	pg_state_metric(s, "default", "web-vm", 0, 3 * GiB, 1000);
	pg_state_metric(s, "default", "web-vm", 1, 1 * GiB, 1000);
	pg_state_metric(s, "default", "web-vm", 4, 110 * MiB, 1000);
	pg_state_metric(s, "default", "web-vm", 3, 10 * MiB, 1000);
	pg_state_metrics_apply(s, 1000);
	n = pg_state_nodes(s, &a);
	assert_int_equal(a[0].migrating, 1);
	assert_true(a[0].bytes_left == 3 * GiB);	 /* 1 GiB left of web + 2 GiB of db */
	assert_true(a[0].eta_s > 30 && a[0].eta_s < 31); /* 3 GiB at 100 MiB/s net */
	{
		char *j = pg_node_progress_json(s, &a[0], 0);
		cJSON *o = cJSON_Parse(j);

		assert_int_equal(cJSON_GetObjectItem(o, "vmsLeft")->valueint, 2);
		assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "evacuation");
		cJSON_Delete(o);
		free(j);
	}
	/* the VM moved: it leaves the node's count */
	vmim(s, "modified", "Succeeded", NULL);
	n = pg_state_nodes(s, &a);
	assert_int_equal(a[0].vms_left, 1);
	pg_state_destroy(s);
}

static void reports(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	struct pg_cluster_agg c;
	char err[256];
	cJSON *b;
	struct pg_op *op;

	(void)state;
	b = cJSON_Parse("{\"source\":\"wukong-migrator\",\"type\":\"migration\",\"cluster\":\"c1\","
			"\"namespace\":\"default\",\"name\":\"web\",\"requestId\":\"r1\","
			"\"phase\":\"Queued\",\"queuePosition\":3}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	pg_state_cluster(s, 1000, &c);
	assert_int_equal(c.queued, 1);
	b = cJSON_Parse("{\"source\":\"wukong-migrator\",\"type\":\"migration\",\"cluster\":\"c1\","
			"\"namespace\":\"default\",\"name\":\"web\",\"requestId\":\"r1\","
			"\"phase\":\"Migrating\"}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	pg_state_cluster(s, 1000, &c);
	assert_int_equal(c.queued, 0);

	/* clone reports: monotone percent, 100 only at the end */
	b = cJSON_Parse("{\"source\":\"wukong-cloner\",\"type\":\"clone\",\"cluster\":\"c1\","
			"\"namespace\":\"default\",\"name\":\"copy\",\"requestId\":\"c1\","
			"\"phase\":\"Copying\",\"percent\":60}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	op = first_op(s);
	assert_int_equal(op->kind, PG_OP_CLONE);
	assert_int_equal(op->x.percent, 60);
	b = cJSON_Parse("{\"source\":\"wukong-cloner\",\"type\":\"clone\",\"cluster\":\"c1\","
			"\"namespace\":\"default\",\"name\":\"copy\",\"requestId\":\"c1\","
			"\"phase\":\"Copying\",\"percent\":40}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	assert_int_equal(op->x.percent, 60);
	/* hostile reports */
	b = cJSON_Parse("{\"source\":\"x\",\"type\":\"clone\",\"cluster\":\"c1\","
			"\"namespace\":\"default\",\"name\":\"copy\",\"percent\":1e300}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), -1);
	cJSON_Delete(b);
	b = cJSON_Parse("{\"source\":\"x\",\"type\":\"clone\",\"cluster\":\"c1\","
			"\"namespace\":\"../etc\",\"name\":\"copy\"}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), -1);
	cJSON_Delete(b);
	/* the migrator's evacuation report has no namespace/name: accepted, not folded in, so
	 * it is never dead-lettered */
	b = cJSON_Parse("{\"source\":\"wukong-migrator\",\"type\":\"evacuation\",\"cluster\":"
			"\"c1\",\"node\":\"n1\",\"evacuationId\":\"d1\",\"total\":3}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	/* a report without a type still is refused */
	b = cJSON_Parse("{\"source\":\"x\",\"cluster\":\"c1\",\"node\":\"n1\"}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), -1);
	cJSON_Delete(b);
	/* another cluster's report is not ours */
	b = cJSON_Parse("{\"source\":\"x\",\"type\":\"clone\",\"cluster\":\"c2\","
			"\"namespace\":\"default\",\"name\":\"other\",\"percent\":5}");
	assert_int_equal(pg_state_report(s, b, 1000, err, sizeof(err)), 0);
	cJSON_Delete(b);
	assert_null(pg_state_next_op(s, op));
	pg_state_destroy(s);
}

static void restart_floor(void **state)
{
	struct pg_state *s = pg_state_new("c1");
	struct pg_op *op;

	(void)state;
	/* relisted after a restart: the status shows 70 % of a migration in flight */
	ev(s, "wukong", "added",
	   "{\"namespace\":\"default\",\"name\":\"web\",\"status\":{\"vmName\":\"web-vm\","
	   "\"migrationStatus\":{\"phase\":\"Migrating\",\"progress\":70}}}",
	   0);
	vmim(s, "added", "Running", NULL);
	op = first_op(s);
	assert_int_equal(op->x.percent, 70);
	/* the first samples say 40 %: the status is not lowered */
	pg_state_metric(s, "default", "web-vm", 0, 4 * GiB, 1000);
	pg_state_metric(s, "default", "web-vm", 1, 6 * GiB, 1000);
	pg_state_metrics_apply(s, 1000);
	assert_int_equal(op->x.percent, 70);
	pg_state_destroy(s);

	/* a failed earlier migration's 60 % is not a floor for the next one */
	s = pg_state_new("c1");
	ev(s, "wukong", "added",
	   "{\"namespace\":\"default\",\"name\":\"web\",\"status\":{\"vmName\":\"web-vm\","
	   "\"migrationStatus\":{\"phase\":\"Failed\",\"progress\":60}}}",
	   0);
	vmim(s, "added", "Pending", NULL);
	assert_int_equal(first_op(s)->x.percent, 0);
	pg_state_destroy(s);
}

static void hostile_events(void **state)
{
	struct pg_state *s = pg_state_new("c1");

	(void)state;
	ev(s, "virtualmachineinstancemigration", "added",
	   "{\"namespace\":\"default\",\"name\":\"m\",\"spec\":{}}", -1);
	ev(s, "virtualmachineinstancemigration", "added",
	   "{\"namespace\":\"default\",\"name\":\"m\",\"spec\":{\"vmiName\":\"../../x\"}}", -1);
	ev(s, "virtualmachineinstance", "added", "{\"namespace\":\"Bad NS\",\"name\":\"v\"}", -1);
	ev(s, "node", "added", "{\"name\":7}", -1);
	ev(s, "wukong", "added", "{\"namespace\":\"default\"}", -1);
	/* odd but harmless: unknown kinds, other clusters, wrong types inside */
	ev(s, "virtualmachinesnapshot", "added", "{}", 0);
	ev(s, "virtualmachineinstance", "added",
	   "{\"cluster\":\"c2\",\"namespace\":\"default\",\"name\":\"v\"}", 0);
	ev(s, "virtualmachineinstance", "added",
	   "{\"namespace\":\"default\",\"name\":\"v\",\"spec\":{\"domain\":{\"memory\":"
	   "{\"guest\":\"lots\"}}},\"status\":{\"nodeName\":[1,2]}}",
	   0);
	assert_null(first_op(s));
	assert_int_equal(pg_metric_which("kubevirt_vmi_migration_data_processed_bytes"), 0);
	assert_int_equal(pg_metric_which("kubevirt_migrate_vmi_data_remaining_bytes"), 1);
	assert_int_equal(pg_metric_which("kubevirt_vmi_migration_data_total_bytes"), 2);
	assert_int_equal(pg_metric_which("kubevirt_vmi_migration_disk_transfer_rate_bytes"), 4);
	assert_int_equal(pg_metric_which("up"), -1);
	pg_state_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(migration_lifecycle),
	    cmocka_unit_test(cancel_by_delete_and_failures),
	    cmocka_unit_test(managed_migration_leaves_phase_alone),
	    cmocka_unit_test(node_aggregates),
	    cmocka_unit_test(reports),
	    cmocka_unit_test(restart_floor),
	    cmocka_unit_test(hostile_events),
	};
	return cmocka_run_group_tests_name("pg_state", tests, NULL, NULL);
}
