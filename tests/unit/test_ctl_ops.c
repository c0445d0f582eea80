/* test_ctl_ops.c - following an operation: what status updates, progress reports, audit records
 * and dead letters about a request do to the view (and what ones about other requests do not),
 * lagging copies not moving the phase back, and the rows of the get/watch table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/wukongctl/ctl_ops.h"
#include "../../tools/wukongctl/ctl_table.h"
#include "wk_buf.h"

#include <cjson/cJSON.h>

static void req(struct ctl_request *r, enum ctl_verb v)
{
	memset(r, 0, sizeof(*r));
	r->verb = v;
	strcpy(r->id, "req-1");
	strcpy(r->cluster, "local");
	strcpy(r->ns, "default");
	strcpy(r->name, "web-1");
}

static bool status_msg(struct ctl_follow *f, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	bool ch;

	assert_non_null(o);
	ch = ctl_follow_status_msg(f, o);
	cJSON_Delete(o);
	return ch;
}

static void migration_success(void **state)
{
	struct ctl_request r;
	struct ctl_follow f;
	cJSON *o;

	(void)state;
	req(&r, CTL_VERB_MIGRATE);
	ctl_follow_init(&f, &r);
	/* another Wukong, another request: ignored */
	assert_false(status_msg(
	    &f, "{\"namespace\":\"default\",\"name\":\"web-2\",\"status\":"
		"{\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":\"req-1\"}}}"));
	assert_false(
	    status_msg(&f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":"
			   "{\"migrationStatus\":{\"phase\":\"Failed\",\"requestId\":\"old\"}}}"));
	assert_false(f.seen);
	/* a progress report before ours is known to run: not taken */
	assert_false(status_msg(&f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":"
				    "{\"migrationStatus\":{\"progress\":50}}}"));
	assert_true(status_msg(&f,
			       "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":"
			       "{\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":"
			       "\"req-1\",\"sourceNode\":\"node-1\",\"targetNode\":\"node-2\"}}}"));
	assert_true(f.seen);
	assert_false(f.done);
	assert_string_equal(f.phase, "Migrating");
	assert_string_equal(f.source_node, "node-1");
	/* progress without the id (the aggregator), then with bytes */
	assert_true(status_msg(&f,
			       "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":"
			       "{\"migrationStatus\":{\"progress\":40,\"mode\":\"PreCopy\"}}}"));
	assert_int_equal(f.prog.percent, 40);
	assert_string_equal(f.prog.mode, "PreCopy");
	o = cJSON_Parse("{\"type\":\"migration\",\"requestId\":\"req-1\",\"percent\":30,"
			"\"dataProcessedBytes\":3000,\"dataTotalBytes\":4000,\"etaSeconds\":5}");
	ctl_follow_progress(&f, o);
	cJSON_Delete(o);
	assert_int_equal(f.prog.percent, 75); /* bytes say more than the older 30 */
	assert_int_equal(f.prog.total_bytes, 4000);
	assert_true(f.prog.eta_s == 5);
	o = cJSON_Parse("{\"type\":\"clone\",\"requestId\":\"req-1\",\"percent\":99}");
	assert_false(ctl_follow_progress(&f, o));
	cJSON_Delete(o);
	/* the API server's lagging copy says Pending again: ignored */
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Pending\",\"requestId\":\"req-1\"}}");
	assert_false(ctl_follow_status(&f, o, NULL));
	cJSON_Delete(o);
	assert_string_equal(f.phase, "Migrating");
	assert_true(status_msg(&f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":"
				   "{\"migrationStatus\":{\"phase\":\"Succeeded\",\"requestId\":"
				   "\"req-1\",\"message\":\"done\"}}}"));
	assert_true(f.done);
	assert_int_equal(f.exit_code, CTL_EXIT_OK);
	assert_int_equal(f.prog.percent, 100);
	assert_string_equal(f.message, "done");
}

static void rejections(void **state)
{
	struct ctl_request r;
	struct ctl_follow f;
	cJSON *o;

	(void)state;
	req(&r, CTL_VERB_MIGRATE);
	/* a dead letter naming another request, then ours */
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"requestId\":\"other\"}");
	assert_false(ctl_follow_dead_letter(&f, o, "schema", "x"));
	cJSON_Delete(o);
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"namespace\":\"default\"}");
	assert_true(
	    ctl_follow_dead_letter(&f, o, "not-found", "wukong 'default/web-1' does not exist"));
	cJSON_Delete(o);
	assert_true(f.done);
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	assert_string_equal(f.reason, "not-found");
	assert_string_equal(f.phase, "Rejected");
	/* a dead letter whose value is not an object or has no id */
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("[1,2]");
	assert_false(ctl_follow_dead_letter(&f, o, "deserialize", "x"));
	cJSON_Delete(o);
	assert_false(ctl_follow_dead_letter(&f, NULL, NULL, NULL));
	/* pre-flight rejection in the status, reason from the matching condition */
	ctl_follow_init(&f, &r);
	assert_true(status_msg(
	    &f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{\"migrationStatus\":"
		"{\"phase\":\"Rejected\",\"requestId\":\"req-1\",\"message\":\"local disk\"}},"
		"\"conditions\":[{\"type\":\"Migrating\",\"status\":\"False\",\"reason\":"
		"\"DisksNotLiveMigratable\",\"message\":\"local disk\"}]}"));
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	assert_string_equal(f.reason, "DisksNotLiveMigratable");
	/* refused because another request is in flight: only a condition names us */
	ctl_follow_init(&f, &r);
	assert_true(status_msg(&f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"conditions\":"
				   "[{\"type\":\"MigrationRequestRejected\",\"status\":\"True\","
				   "\"reason\":\"MigrationInFlight\",\"message\":\"request 'req-1' "
				   "refused: request 'x' is already migrating\"}]}"));
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	assert_string_equal(f.reason, "MigrationInFlight");
	/* ... but not a condition about request 'req-10' */
	ctl_follow_init(&f, &r);
	assert_false(status_msg(&f, "{\"namespace\":\"default\",\"name\":\"web-1\",\"conditions\":"
				    "[{\"type\":\"MigrationRequestRejected\",\"status\":\"True\","
				    "\"message\":\"request 'req-10' refused\"}]}"));
}

static void cancel_and_drain(void **state)
{
	struct ctl_request r;
	struct ctl_follow f;
	cJSON *o;

	(void)state;
	req(&r, CTL_VERB_CANCEL);
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":\"m-1\"}}");
	ctl_follow_baseline(&f, o); /* m-1 was running when the cancel was sent */
	assert_string_equal(f.inflight, "m-1");
	assert_false(ctl_follow_status(&f, o, NULL));
	cJSON_Delete(o);
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Cancelled\",\"requestId\":\"m-1\","
			"\"message\":\"aborted\"}}");
	assert_true(ctl_follow_status(&f, o, NULL));
	cJSON_Delete(o);
	assert_int_equal(f.exit_code, CTL_EXIT_OK);
	/* issue 16 item 13: nothing in flight when sent; an earlier cancel's Cancelled status (the
	 * API server's copy) is not this cancel's outcome; the rejection audit record is */
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Cancelled\",\"requestId\":\"m-0\","
			"\"message\":\"migration cancelled by request cancel-old: ...\"}}");
	ctl_follow_baseline(&f, o);
	assert_string_equal(f.inflight, "");
	assert_false(ctl_follow_status(&f, o, NULL));
	assert_false(f.done);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"actor\":\"wukong-migrator\",\"action\":"
			"\"migration.cancel\",\"outcome\":\"rejected\",\"reason\":"
			"\"NoMigrationInFlight\",\"message\":\"nothing to cancel\"}");
	assert_true(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	/* a Cancelled status whose message names this cancel counts even without a baseline */
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Cancelled\",\"requestId\":\"m-3\","
			"\"message\":\"cancelled by request 'req-1' while queued\"}}");
	assert_true(ctl_follow_status(&f, o, NULL));
	assert_int_equal(f.exit_code, CTL_EXIT_OK);
	cJSON_Delete(o);
	/* --request names another migration: its cancellation is not ours */
	strcpy(r.target_request, "m-2");
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"migrationStatus\":{\"phase\":\"Cancelled\",\"requestId\":\"m-1\"}}");
	assert_false(ctl_follow_status(&f, o, NULL));
	cJSON_Delete(o);
	/* nothing in flight: the audit record says so */
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"actor\":\"wukong-migrator\",\"action\":"
			"\"migration.cancel\",\"outcome\":\"rejected\",\"reason\":"
			"\"NoMigrationInFlight\",\"message\":\"nothing to cancel\"}");
	assert_true(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	assert_string_equal(f.reason, "NoMigrationInFlight");
	/* clone: a target skipped because its name is taken is only audited */
	req(&r, CTL_VERB_CLONE);
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"actor\":\"wukong-cloner\",\"action\":"
			"\"clone.target\",\"outcome\":\"pending\"}");
	assert_true(ctl_follow_audit(&f, o));
	assert_false(f.done);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"action\":\"clone.target\",\"outcome\":"
			"\"rejected\",\"reason\":\"TargetNameTaken\",\"message\":\"taken\"}");
	assert_true(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_true(f.done);
	assert_int_equal(f.exit_code, CTL_EXIT_FAILED);
	assert_string_equal(f.reason, "TargetNameTaken");
	/* drain: an audit record is an answer; no answer leaves seen false (the command times out)
	 */
	req(&r, CTL_VERB_DRAIN);
	ctl_follow_init(&f, &r);
	o = cJSON_Parse("{\"requestId\":\"other\",\"outcome\":\"success\"}");
	assert_false(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_false(f.seen);
	o = cJSON_Parse("{\"requestId\":\"req-1\",\"outcome\":\"pending\"}");
	assert_true(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_true(f.seen);
	assert_false(f.done);
}

static char *table(const struct ctl_row *rows, size_t n, bool all_ns, bool wide, bool tty, int cols)
{
	struct wk_buf b;

	wk_buf_init(&b, 0);
	ctl_rows_table(rows, n, all_ns, wide, tty, cols, 0, true, &b);
	return wk_buf_take(&b, NULL);
}

static void table_rows(void **state)
{
	struct ctl_row rows[4];
	char *out, *js;
	cJSON *l;
	cJSON *wk = cJSON_Parse(
	    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-1\"},\"status\":{"
	    "\"migrationStatus\":{\"phase\":\"Migrating\",\"requestId\":\"r1\",\"sourceNode\":"
	    "\"node-1\",\"targetNode\":\"node-2\",\"progress\":40,\"etaSeconds\":12,"
	    "\"appliedSeq\":{\"x\":1}},"
	    "\"cloneStatus\":{\"phase\":\"Succeeded\",\"requestId\":\"c1\",\"source\":\"vm/x\"}}}");

	(void)state;
	assert_int_equal(ctl_rows_from_wukong(wk, false, rows, 4), 1);
	assert_string_equal(rows[0].vm, "default/web-1");
	assert_string_equal(rows[0].ns, "default");
	assert_string_equal(rows[0].name, "web-1");
	assert_string_equal(rows[0].kind, "migration");
	assert_int_equal(rows[0].percent, 40);
	/* a terminal: the bar */
	out = table(rows, 1, false, false, true, 200);
	assert_non_null(strstr(out, "[########------------]  40%"));
	assert_non_null(strstr(out, "node-1   node-2"));
	assert_non_null(strstr(out, "0:12"));
	assert_true(!strncmp(out, "NAME ", 5));
	free(out);
	/* a pipe: the same table without the bar, with NAMESPACE under -A */
	out = table(rows, 1, true, false, false, 0);
	assert_true(!strncmp(out, "NAMESPACE   NAME    OPERATION   PHASE       PROGRESS", 52));
	assert_non_null(strstr(out, "\ndefault     web-1   migration   Migrating   40%"));
	assert_null(strchr(out, '['));
	assert_null(strchr(out, '\x1b'));
	free(out);
	/* wide: the request id */
	out = table(rows, 1, false, true, false, 0);
	assert_non_null(strstr(out, "REQUEST"));
	assert_non_null(strstr(out, "   r1   "));
	free(out);
	/* -o json: the status's own field names, bookkeeping left out */
	l = ctl_rows_list(rows, 1);
	js = cJSON_PrintUnformatted(l);
	assert_non_null(strstr(js, "\"items\":[{\"namespace\":\"default\",\"name\":\"web-1\","
				   "\"operation\":\"migration\",\"phase\":\"Migrating\""));
	assert_non_null(strstr(js, "\"sourceNode\":\"node-1\""));
	assert_null(strstr(js, "appliedSeq"));
	free(js);
	cJSON_Delete(l);
	assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 4), 2);
	assert_string_equal(rows[1].kind, "clone");
	assert_int_equal(rows[1].percent, 100);
	assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 1), 1);
	cJSON_Delete(wk);
	/* a narrow terminal: names cut in the middle (the end kept), phase whole */
	wk = cJSON_Parse("{\"metadata\":{\"namespace\":\"default\",\"name\":"
			 "\"a-very-long-wukong-name-for-a-database-7\"},\"status\":{"
			 "\"migrationStatus\":{\"phase\":\"Snapshotting\",\"sourceNode\":"
			 "\"worker-node-with-a-long-name-1\",\"targetNode\":"
			 "\"worker-node-with-a-long-name-2\"}}}");
	assert_int_equal(ctl_rows_from_wukong(wk, false, rows, 4), 1);
	out = table(rows, 1, false, false, true, 120);
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		assert_true(nl - p <= 120);
	assert_non_null(strstr(out, "Snapshotting"));
	if (!strstr(out, "database-7"))
		fprintf(stderr, "%s", out);
	assert_non_null(strstr(out, "database-7"));
	assert_non_null(strstr(out, ".."));
	assert_non_null(strstr(out, "name-2"));
	free(out);
	cJSON_Delete(wk);
	/* hostile strings in a status cannot drive the terminal */
	wk = cJSON_Parse("{\"metadata\":{\"namespace\":\"d\",\"name\":\"n\"},\"status\":{"
			 "\"migrationStatus\":{\"phase\":\"\\u001b[2J\",\"progress\":1e300}}}");
	assert_int_equal(ctl_rows_from_wukong(wk, false, rows, 4), 1);
	assert_int_equal(rows[0].percent, -1);
	out = table(rows, 1, false, false, true, 120);
	assert_null(strchr(out, '\x1b'));
	free(out);
	cJSON_Delete(wk);
	/* a finished cold move: its downtime in the wide table; a Rejected row has no bar */
	wk = cJSON_Parse("{\"metadata\":{\"namespace\":\"d\",\"name\":\"db\"},\"status\":{"
			 "\"migrationStatus\":{\"phase\":\"Succeeded\",\"requestId\":\"r2\","
			 "\"targetNode\":\"node-b\",\"mode\":\"Cold\",\"downtimeSeconds\":6.4}}}");
	assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 4), 1);
	assert_true(rows[0].downtime_s == 6.4);
	out = table(rows, 1, false, true, false, 0);
	assert_non_null(strstr(out, "   Cold   6s"));
	free(out);
	cJSON_Delete(wk);
	wk = cJSON_Parse("{\"metadata\":{\"namespace\":\"d\",\"name\":\"db\"},\"status\":{"
			 "\"migrationStatus\":{\"phase\":\"Rejected\",\"requestId\":\"r3\"}}}");
	assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 4), 1);
	out = table(rows, 1, false, false, true, 120);
	assert_null(strstr(out, "<=>"));
	assert_non_null(strstr(out, "Rejected   -"));
	free(out);
	cJSON_Delete(wk);
	static const char *const bad_dt[] = {"-1", "1e400", "\"6\"", "true", "null", "1e10"};
	for (size_t i = 0; i < sizeof(bad_dt) / sizeof(bad_dt[0]); i++) {
		char jsn[300];

		snprintf(jsn, sizeof(jsn),
			 "{\"metadata\":{\"name\":\"db\"},\"status\":{\"migrationStatus\":{"
			 "\"phase\":\"Succeeded\",\"downtimeSeconds\":%s}}}",
			 bad_dt[i]);
		wk = cJSON_Parse(jsn);
		assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 4), 1);
		assert_true(rows[0].downtime_s < 0);
		cJSON_Delete(wk);
	}
	/* no status at all */
	wk = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(ctl_rows_from_wukong(wk, true, rows, 4), 0);
	cJSON_Delete(wk);
}

/* watch's live overlay from wukong.status: ahead of the API server's copy, never backwards,
 * only for the same request, hostile values ignored, bounded. */
static void live_overlay(void **state)
{
	struct ctl_live *lv = calloc(CTL_LIVE_MAX, sizeof(*lv));
	struct ctl_row rows[2];
	size_t n = 0;
	cJSON *wk = cJSON_Parse("{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-1\"},"
				"\"status\":{\"migrationStatus\":{\"phase\":\"Migrating\","
				"\"requestId\":\"r1\",\"progress\":10,\"etaSeconds\":30}}}");
	cJSON *b;
	static const char *const bad[] = {
	    "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{\"migrationStatus\":"
	    "{\"progress\":1e300}}}",
	    "{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{\"migrationStatus\":"
	    "{\"progress\":\"90\"}}}",
	    "{\"name\":\"web-1\",\"status\":{\"migrationStatus\":{\"progress\":90}}}", "[]", "{}"};

	(void)state;
	assert_int_equal(ctl_rows_from_wukong(wk, false, rows, 2), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = cJSON_Parse(bad[i]);
		assert_false(ctl_live_take(lv, &n, b));
		cJSON_Delete(b);
	}
	/* the aggregator's numbers (no requestId) are ahead: taken */
	b = cJSON_Parse("{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{"
			"\"migrationStatus\":{\"progress\":60,\"etaSeconds\":8}}}");
	assert_true(ctl_live_take(lv, &n, b));
	cJSON_Delete(b);
	ctl_live_apply(lv, n, rows, 1);
	assert_int_equal(rows[0].percent, 60);
	assert_true(rows[0].eta_s == 8);
	/* another request's numbers are not ours */
	b = cJSON_Parse("{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{"
			"\"migrationStatus\":{\"requestId\":\"r0\",\"progress\":100}}}");
	assert_true(ctl_live_take(lv, &n, b));
	cJSON_Delete(b);
	ctl_live_apply(lv, n, rows, 1);
	assert_int_equal(rows[0].percent, 60);
	/* never backwards */
	b = cJSON_Parse("{\"namespace\":\"default\",\"name\":\"web-1\",\"status\":{"
			"\"migrationStatus\":{\"requestId\":\"r1\",\"progress\":40}}}");
	assert_true(ctl_live_take(lv, &n, b));
	cJSON_Delete(b);
	ctl_live_apply(lv, n, rows, 1);
	assert_int_equal(rows[0].percent, 60);
	assert_int_equal(n, 1);
	/* bounded: many Wukongs keep at most CTL_LIVE_MAX entries */
	for (int i = 0; i < CTL_LIVE_MAX + 10; i++) {
		char js[200];

		snprintf(js, sizeof(js),
			 "{\"namespace\":\"d\",\"name\":\"w-%d\",\"status\":{\"cloneStatus\":{"
			 "\"progress\":5}}}",
			 i);
		b = cJSON_Parse(js);
		assert_true(ctl_live_take(lv, &n, b));
		cJSON_Delete(b);
	}
	assert_int_equal(n, CTL_LIVE_MAX);
	cJSON_Delete(wk);
	free(lv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(migration_success), cmocka_unit_test(rejections),
	    cmocka_unit_test(cancel_and_drain),	 cmocka_unit_test(table_rows),
	    cmocka_unit_test(live_overlay),
	};

	return cmocka_run_group_tests_name("ctl_ops", tests, NULL, NULL);
}
