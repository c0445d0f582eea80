/* test_mig_evac_report.c - the evacuation progress report: counts, ETA, the body (fields,
 * percent, phase, VM listing order and cap, hostile names kept as data), the rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "decide/mig_evac_report.h"

static struct mig_evrep *make(size_t n, double predicted)
{
	struct mig_evrep *r = mig_evrep_new("dr-1", "local", "node-a", "drain", predicted, 1000);

	for (size_t i = 0; i < n; i++) {
		char name[32], id[32];

		snprintf(name, sizeof(name), "vm-%zu", i);
		snprintf(id, sizeof(id), "dr-1-%zu", i);
		mig_evrep_add(r, "default", name, "node-b", id, (double)(i + 1) * 10);
	}
	return r;
}

static int num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(v));
	return v->valueint;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void counts(void **state)
{
	struct mig_evrep *r = make(6, 60);
	struct mig_evrep_counts c;

	(void)state;
	r->vms[0].state = MIG_EVREP_SUCCEEDED;
	r->vms[1].state = MIG_EVREP_FAILED;
	r->vms[2].state = MIG_EVREP_MIGRATING;
	r->vms[3].state = MIG_EVREP_QUEUED;
	r->vms[4].state = MIG_EVREP_UNCONFIRMED;
	mig_evrep_count(r, &c);
	assert_int_equal(c.total, 6);
	assert_int_equal(c.succeeded, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.running, 3);
	assert_int_equal(c.waiting, 1);
	assert_int_equal(c.total, c.succeeded + c.failed + c.running + c.waiting);
	mig_evrep_destroy(r);
	mig_evrep_destroy(NULL);
}

static void eta(void **state)
{
	struct mig_evrep *r = make(4, 40);

	(void)state;
	/* Nothing final: the prediction minus the elapsed time. */
	assert_true(fabs(mig_evrep_eta(r, 10) - 30) < 1e-9);
	/* Past the prediction with nothing final: unknown, never a negative or zero lie. */
	assert_true(mig_evrep_eta(r, 45) < 0);
	assert_true(mig_evrep_eta(r, 39.5) < 0);
	/* The first VM took twice its predicted 10 s: the rest is expected to as well. */
	r->vms[0].state = MIG_EVREP_SUCCEEDED;
	r->vms[0].done_s = 20;
	assert_true(fabs(mig_evrep_eta(r, 20) - 60) < 1e-9);
	/* Faster than predicted. */
	r->vms[0].done_s = 5;
	assert_true(fabs(mig_evrep_eta(r, 5) - 15) < 1e-9);
	/* Absurd ratios are clamped (0.25..10). */
	r->vms[0].done_s = 0.001;
	assert_true(fabs(mig_evrep_eta(r, 0) - 10) < 1e-9);
	r->vms[0].done_s = 1e6;
	assert_true(fabs(mig_evrep_eta(r, 0) - 400) < 1e-9);
	/* Every VM final: 0. */
	for (size_t i = 0; i < r->n; i++)
		r->vms[i].state = MIG_EVREP_FAILED;
	assert_true(mig_evrep_eta(r, 1000) == 0);
	mig_evrep_destroy(r);
	/* No usable prediction: unknown. */
	r = make(2, 0);
	assert_true(mig_evrep_eta(r, 1) < 0);
	r->predicted_s = NAN;
	assert_true(mig_evrep_eta(r, 1) < 0);
	r->predicted_s = INFINITY;
	assert_true(mig_evrep_eta(r, 1) < 0);
	mig_evrep_destroy(r);
}

/* After a restart: the VMs moved before it count as Succeeded, the ETA scales the replanned
 * prediction from this start only, elapsed and predicted include the time before. */
static void earlier(void **state)
{
	struct mig_evrep *r = make(2, 20);
	struct mig_evrep_counts c;
	cJSON *o;

	(void)state;
	mig_evrep_add_done(r, "default", "moved-1", "node-c", "dr-1-x");
	mig_evrep_add_done(r, "default", "moved-2", "node-c", "dr-1-y");
	r->earlier_s = 100;
	mig_evrep_count(r, &c);
	assert_int_equal(c.total, 4);
	assert_int_equal(c.succeeded, 2);
	assert_int_equal(c.waiting, 2);
	/* No planned end: the earlier ones do not skew the ratio. */
	assert_true(fabs(mig_evrep_eta(r, 5) - 15) < 1e-9);
	o = mig_evrep_body(r, 5, "Running", 1700000000000);
	assert_int_equal(num(o, "total"), 4);
	assert_int_equal(num(o, "succeeded"), 2);
	assert_int_equal(num(o, "percent"), 50);
	assert_int_equal(num(o, "elapsedSeconds"), 105);
	assert_int_equal(num(o, "predictedSeconds"), 120);
	assert_int_equal(num(o, "etaSeconds"), 15);
	cJSON_Delete(o);
	/* The plan's VMs keep their indexes (mig_evrep_remaining marks the right one). */
	mig_evrep_remaining(r, 1);
	assert_true(r->vms[1].remaining);
	assert_string_equal(r->vms[1].name, "vm-1");
	assert_false(r->vms[2].remaining);
	mig_evrep_destroy(r);
}

static void body_running(void **state)
{
	struct mig_evrep *r = make(5, 50);
	cJSON *o, *vms;

	(void)state;
	r->vms[0].state = MIG_EVREP_SUCCEEDED;
	r->vms[0].done_s = 10;
	r->vms[1].state = MIG_EVREP_FAILED;
	r->vms[1].done_s = 20;
	r->vms[2].state = MIG_EVREP_MIGRATING;
	o = mig_evrep_body(r, 20, "Running", 1700000000000);
	assert_string_equal(str(o, "source"), "wukong-migrator");
	assert_string_equal(str(o, "type"), "evacuation");
	assert_string_equal(str(o, "cluster"), "local");
	assert_string_equal(str(o, "node"), "node-a");
	assert_string_equal(str(o, "evacuationId"), "dr-1");
	assert_string_equal(str(o, "requestId"), "dr-1");
	assert_string_equal(str(o, "trigger"), "drain");
	assert_string_equal(str(o, "phase"), "Running");
	assert_string_equal(str(o, "time"), "2023-11-14T22:13:20Z");
	assert_int_equal(num(o, "total"), 5);
	assert_int_equal(num(o, "succeeded"), 1);
	assert_int_equal(num(o, "failed"), 1);
	assert_int_equal(num(o, "running"), 1);
	assert_int_equal(num(o, "waiting"), 2);
	assert_int_equal(num(o, "percent"), 40);
	assert_int_equal(num(o, "predictedSeconds"), 50);
	assert_int_equal(num(o, "elapsedSeconds"), 20);
	/* actual 30 / predicted 30: on time, 50 - 20 left */
	assert_int_equal(num(o, "etaSeconds"), 30);
	/* Running first, then failed, waiting, succeeded. */
	vms = cJSON_GetObjectItemCaseSensitive(o, "vms");
	assert_int_equal(cJSON_GetArraySize(vms), 5);
	assert_string_equal(str(cJSON_GetArrayItem(vms, 0), "name"), "vm-2");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 0), "state"), "Migrating");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 1), "name"), "vm-1");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 1), "state"), "Failed");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 2), "name"), "vm-3");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 3), "state"), "Waiting");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 4), "name"), "vm-0");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 4), "target"), "node-b");
	assert_string_equal(str(cJSON_GetArrayItem(vms, 4), "namespace"), "default");
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "vmsTruncated"));
	cJSON_Delete(o);
	/* Late: unknown ETA is null, not a number. */
	o = mig_evrep_body(r, 500, "Running", 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "etaSeconds")));
	cJSON_Delete(o);
	mig_evrep_destroy(r);
}

static void body_percent(void **state)
{
	struct mig_evrep *r = make(3, 30);
	cJSON *o;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		r->vms[i].state = MIG_EVREP_SUCCEEDED;
	/* every VM final but the evacuation not ended (node not listed yet): 99 */
	o = mig_evrep_body(r, 30, "Running", 0);
	assert_int_equal(num(o, "percent"), 99);
	assert_int_equal(num(o, "etaSeconds"), 0);
	cJSON_Delete(o);
	o = mig_evrep_body(r, 30, "Completed", 0);
	assert_int_equal(num(o, "percent"), 100);
	assert_string_equal(str(o, "phase"), "Completed");
	cJSON_Delete(o);
	mig_evrep_destroy(r);
	/* An empty evacuation (every VM skipped). */
	r = make(0, 0);
	o = mig_evrep_body(r, 0, "Running", 0);
	assert_int_equal(num(o, "total"), 0);
	assert_int_equal(num(o, "percent"), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "vms")), 0);
	cJSON_Delete(o);
	o = mig_evrep_body(r, 0, "Completed", 0);
	assert_int_equal(num(o, "percent"), 100);
	cJSON_Delete(o);
	mig_evrep_destroy(r);
}

static void body_cap(void **state)
{
	struct mig_evrep *r;
	cJSON *o, *vms;

	(void)state;
	/* at the cap: all listed, no flag */
	r = make(MIG_EVREP_VMS_MAX, 100);
	o = mig_evrep_body(r, 1, "Running", 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "vms")),
			 MIG_EVREP_VMS_MAX);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "vmsTruncated"));
	cJSON_Delete(o);
	mig_evrep_destroy(r);
	/* cap + 1 and far beyond: capped, flagged, counts still cover every VM; the one running
	 * VM (the last in plan order) is listed first */
	r = make(MIG_EVREP_VMS_MAX + 1, 100);
	r->vms[MIG_EVREP_VMS_MAX].state = MIG_EVREP_MIGRATING;
	o = mig_evrep_body(r, 1, "Running", 0);
	vms = cJSON_GetObjectItemCaseSensitive(o, "vms");
	assert_int_equal(cJSON_GetArraySize(vms), MIG_EVREP_VMS_MAX);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "vmsTruncated")));
	assert_int_equal(num(o, "total"), MIG_EVREP_VMS_MAX + 1);
	assert_int_equal(num(o, "running"), 1);
	assert_string_equal(str(cJSON_GetArrayItem(vms, 0), "state"), "Migrating");
	cJSON_Delete(o);
	mig_evrep_destroy(r);
	r = make(5000, 1000);
	o = mig_evrep_body(r, 1, "Running", 0);
	{
		char *s = cJSON_PrintUnformatted(o);

		assert_non_null(s);
		assert_true(strlen(s) < 16384); /* a small Kafka message whatever the node holds */
		free(s);
	}
	cJSON_Delete(o);
	mig_evrep_destroy(r);
}

static void hostile(void **state)
{
	struct mig_evrep *r;
	char longname[600];
	cJSON *o, *back;
	char *s;

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	r = mig_evrep_new(longname, "local", "../../etc\"\n", "drain", 1e308, 0);
	mig_evrep_add(r, "ns\"}", longname, "t\\", "id", -5);
	/* Fixed fields are truncated to their sizes, quotes escaped: the output stays JSON. */
	assert_true(strlen(r->id) < sizeof(r->id));
	assert_true(strlen(r->vms[0].name) < sizeof(r->vms[0].name));
	o = mig_evrep_body(r, -3, "Running", 0);
	s = cJSON_PrintUnformatted(o);
	back = cJSON_Parse(s);
	assert_non_null(back);
	assert_string_equal(str(back, "node"), "../../etc\"\n");
	assert_int_equal(num(back, "elapsedSeconds"), 0);
	cJSON_Delete(back);
	free(s);
	cJSON_Delete(o);
	mig_evrep_destroy(r);
}

static void state_names(void **state)
{
	(void)state;
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_WAITING), "Waiting");
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_QUEUED), "Queued");
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_MIGRATING), "Migrating");
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_UNCONFIRMED), "Unconfirmed");
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_SUCCEEDED), "Succeeded");
	assert_string_equal(mig_evrep_state_name(MIG_EVREP_FAILED), "Failed");
	assert_string_equal(mig_evrep_state_name((enum mig_evrep_state)99), "Unknown");
}

/* Only Succeeded and Failed are outcomes (ctx/mig_emit.c never takes one back). */
static void final_states(void **state)
{
	(void)state;
	assert_true(mig_evrep_final_state(MIG_EVREP_SUCCEEDED));
	assert_true(mig_evrep_final_state(MIG_EVREP_FAILED));
	assert_false(mig_evrep_final_state(MIG_EVREP_WAITING));
	assert_false(mig_evrep_final_state(MIG_EVREP_QUEUED));
	assert_false(mig_evrep_final_state(MIG_EVREP_MIGRATING));
	assert_false(mig_evrep_final_state(MIG_EVREP_UNCONFIRMED));
}

static void due(void **state)
{
	struct mig_evrep *r = make(2, 20);

	(void)state;
	assert_true(mig_evrep_due(r, 1000)); /* never sent: at once */
	r->sent = true;
	r->last_sent_mono = 1000;
	assert_false(mig_evrep_due(r, 1500));
	r->changed = true;
	assert_false(mig_evrep_due(r, 1000 + MIG_EVREP_INTERVAL_MS - 1));
	assert_true(mig_evrep_due(r, 1000 + MIG_EVREP_INTERVAL_MS));
	r->changed = false;
	assert_false(mig_evrep_due(r, 1000 + MIG_EVREP_REFRESH_MS - 1));
	assert_true(mig_evrep_due(r, 1000 + MIG_EVREP_REFRESH_MS));
	/* remaining marks are recorded; out-of-range indexes are ignored */
	mig_evrep_remaining(r, 1);
	mig_evrep_remaining(r, 99);
	mig_evrep_remaining(NULL, 0);
	assert_true(r->vms[1].remaining);
	assert_false(r->vms[0].remaining);
	mig_evrep_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counts),	    cmocka_unit_test(eta),
	    cmocka_unit_test(body_running), cmocka_unit_test(body_percent),
	    cmocka_unit_test(body_cap),	    cmocka_unit_test(hostile),
	    cmocka_unit_test(state_names),  cmocka_unit_test(final_states),
	    cmocka_unit_test(due),	    cmocka_unit_test(earlier),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
