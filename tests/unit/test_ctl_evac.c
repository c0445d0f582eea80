/* test_ctl_evac.c - `wukongctl drain`'s view of the migrator's evacuation report: valid,
 * empty, truncated, garbage, at/over the caps, hostile and inconsistent reports (never a crash,
 * the view unchanged), the bar line at every width, the plain line, and the drain following. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/wukongctl/ctl_evac.h"
#include "../../tools/wukongctl/ctl_ops.h"

#define GOOD                                                                                       \
	"{\"source\":\"wukong-migrator\",\"type\":\"evacuation\",\"cluster\":\"local\","           \
	"\"node\":\"node-3\",\"evacuationId\":\"dr-1\",\"requestId\":\"dr-1\","                    \
	"\"trigger\":\"drain\",\"total\":40,\"succeeded\":17,\"failed\":1,\"running\":2,"          \
	"\"waiting\":20,\"predictedSeconds\":210,\"elapsedSeconds\":100.5,\"etaSeconds\":95,"      \
	"\"percent\":45,\"phase\":\"Running\",\"vms\":[]}"

static bool take_str(struct ctl_evac *e, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	bool ch = ctl_evac_take(e, o, "dr-1", "node-3");

	cJSON_Delete(o);
	return ch;
}

/* GOOD with one field's value replaced (raw JSON text). */
static bool take_with(struct ctl_evac *e, const char *field, const char *raw)
{
	cJSON *o = cJSON_Parse(GOOD), *v = raw ? cJSON_Parse(raw) : NULL;
	bool ch;

	assert_non_null(o);
	if (raw)
		assert_non_null(v);
	cJSON_DeleteItemFromObjectCaseSensitive(o, field);
	if (v)
		cJSON_AddItemToObject(o, field, v);
	ch = ctl_evac_take(e, o, "dr-1", "node-3");
	cJSON_Delete(o);
	return ch;
}

static void valid(void **state)
{
	struct ctl_evac e;
	char s[256];

	(void)state;
	ctl_evac_init(&e);
	assert_true(take_str(&e, GOOD));
	assert_true(e.have);
	assert_int_equal(e.total, 40);
	assert_int_equal(e.succeeded, 17);
	assert_int_equal(e.failed, 1);
	assert_int_equal(e.running, 2);
	assert_int_equal(e.waiting, 20);
	assert_int_equal(e.percent, 45); /* (17 + 1) / 40 */
	assert_true(e.eta_s == 95);
	assert_true(e.predicted_s == 210);
	assert_string_equal(e.phase, "Running");
	/* the same report again changes nothing */
	assert_false(take_str(&e, GOOD));
	ctl_evac_summary(&e, s, sizeof(s));
	assert_string_equal(s,
			    "17/40 VMs moved, 2 migrating, 1 failed, ~95 s left (predicted 210 s)");
	ctl_evac_plain(&e, s, sizeof(s));
	assert_string_equal(s, "phase=Running moved=17/40 running=2 failed=1 waiting=20 "
			       "progress=45% eta=1:35 predicted=3:30");
	/* unknown ETA */
	assert_true(take_with(&e, "etaSeconds", "null"));
	assert_true(e.eta_s < 0);
	ctl_evac_summary(&e, s, sizeof(s));
	assert_non_null(strstr(s, "time left unknown"));
	ctl_evac_plain(&e, s, sizeof(s));
	assert_null(strstr(s, "eta="));
}

static void final_report(void **state)
{
	struct ctl_evac e;
	char s[256];

	(void)state;
	ctl_evac_init(&e);
	assert_true(take_str(&e,
			     "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			     "\"dr-1\",\"node\":\"node-3\",\"total\":3,\"succeeded\":3,\"failed\":"
			     "0,\"running\":0,\"waiting\":0,\"phase\":\"Completed\","
			     "\"percent\":7}"));
	assert_int_equal(e.percent, 100); /* from the counts and the phase, not the report */
	assert_true(e.eta_s == 0);
	assert_true(e.predicted_s < 0);
	ctl_evac_summary(&e, s, sizeof(s));
	assert_string_equal(s, "3/3 VMs moved");
	/* Running with every VM final: 99 until the end */
	assert_true(take_str(&e,
			     "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			     "\"dr-1\",\"node\":\"node-3\",\"total\":3,\"succeeded\":3,\"failed\":"
			     "0,\"running\":0,\"waiting\":0,\"phase\":\"Running\"}"));
	assert_int_equal(e.percent, 99);
	/* an empty evacuation */
	assert_true(take_str(&e,
			     "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			     "\"dr-1\",\"node\":\"node-3\",\"total\":0,\"succeeded\":0,\"failed\":"
			     "0,\"running\":0,\"waiting\":0,\"phase\":\"Running\"}"));
	assert_int_equal(e.percent, 0);
	/* ended with VMs left: the bar shows what moved, never full (issue 18) */
	assert_true(take_str(&e,
			     "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			     "\"dr-1\",\"node\":\"node-3\",\"total\":4,\"succeeded\":3,\"failed\":"
			     "1,\"running\":0,\"waiting\":0,\"phase\":\"Failed\"}"));
	assert_int_equal(e.percent, 75);
	assert_true(e.eta_s == 0);
}

static void not_ours(void **state)
{
	struct ctl_evac e;
	cJSON *o = cJSON_Parse(GOOD);

	(void)state;
	ctl_evac_init(&e);
	assert_false(ctl_evac_take(&e, o, "dr-2", "node-3")); /* another request */
	assert_false(ctl_evac_take(&e, o, "dr-1", "node-4")); /* another node */
	assert_false(ctl_evac_take(&e, o, NULL, NULL));	      /* no request id to match */
	assert_true(ctl_evac_take(&e, o, "dr-1", NULL));      /* node not checked */
	cJSON_Delete(o);
	ctl_evac_init(&e);
	/* wukong-progress's node aggregate: no evacuationId */
	assert_false(take_str(&e, "{\"source\":\"wukong-progress\",\"type\":\"evacuation\","
				  "\"node\":\"node-3\",\"requestId\":\"dr-1\",\"vmsLeft\":3,"
				  "\"bytesLeft\":1,\"etaSeconds\":null}"));
	assert_false(take_with(&e, "type", "\"migration\""));
	assert_false(take_with(&e, "evacuationId", NULL));
	assert_false(take_with(&e, "evacuationId", "7"));
	assert_false(e.have);
}

static void malformed(void **state)
{
	struct ctl_evac e;

	(void)state;
	ctl_evac_init(&e);
	/* empty, truncated, garbage, not an object */
	assert_false(ctl_evac_take(&e, NULL, "dr-1", "node-3"));
	assert_false(take_str(&e, ""));
	assert_false(take_str(&e, "{}"));
	assert_false(take_str(&e, "[]"));
	assert_false(take_str(&e, "\"evacuation\""));
	{
		char trunc[sizeof(GOOD)];

		for (size_t n = 0; n < sizeof(GOOD) - 1; n++) {
			memcpy(trunc, GOOD, n);
			trunc[n] = '\0';
			assert_false(take_str(&e, trunc));
		}
	}
	assert_false(take_str(&e, "\x01\xff garbage {{{"));
	assert_false(e.have);
	/* a good one, then bad ones leave it untouched */
	assert_true(take_str(&e, GOOD));
	assert_false(take_with(&e, "total", NULL));
	assert_false(take_with(&e, "total", "\"40\""));
	assert_false(take_with(&e, "total", "-1"));
	assert_false(take_with(&e, "total", "40.5"));
	assert_false(take_with(&e, "total", "1e308"));
	assert_false(take_with(&e, "total", "41")); /* counts do not add up */
	assert_false(take_with(&e, "succeeded", "-17"));
	assert_false(take_with(&e, "running", "true"));
	assert_false(take_with(&e, "waiting", "null"));
	assert_false(take_with(&e, "phase", "\"Done\""));
	assert_false(take_with(&e, "phase", "\"\""));
	assert_false(take_with(&e, "phase", "{\"a\":1}"));
	assert_false(take_with(&e, "requestId", "[\"dr-1\"]"));
	assert_int_equal(e.total, 40);
	assert_int_equal(e.succeeded, 17);
	assert_string_equal(e.phase, "Running");
}

static void caps(void **state)
{
	struct ctl_evac e;
	char raw[64];

	(void)state;
	ctl_evac_init(&e);
	/* at the count cap */
	assert_true(
	    take_str(&e, "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			 "\"dr-1\",\"node\":\"node-3\",\"total\":100000,\"succeeded\":0,"
			 "\"failed\":0,\"running\":0,\"waiting\":100000,\"phase\":\"Running\"}"));
	assert_int_equal(e.total, 100000);
	/* cap + 1 */
	assert_false(
	    take_str(&e, "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			 "\"dr-1\",\"node\":\"node-3\",\"total\":100001,\"succeeded\":0,"
			 "\"failed\":0,\"running\":0,\"waiting\":100001,\"phase\":\"Running\"}"));
	/* seconds: at the cap kept, past it / negative / huge / wrong type unknown */
	ctl_evac_init(&e);
	snprintf(raw, sizeof(raw), "%.0f", CTL_EVAC_SECONDS_MAX);
	assert_true(take_with(&e, "etaSeconds", raw));
	assert_true(e.eta_s == CTL_EVAC_SECONDS_MAX);
	snprintf(raw, sizeof(raw), "%.0f", CTL_EVAC_SECONDS_MAX + 1);
	assert_true(take_with(&e, "etaSeconds", raw));
	assert_true(e.eta_s < 0);
	assert_true(take_with(&e, "predictedSeconds", "-5"));
	assert_true(e.predicted_s < 0);
	assert_true(take_str(&e, GOOD));
	assert_true(take_with(&e, "predictedSeconds", "1e308"));
	assert_true(e.predicted_s < 0);
	assert_true(take_with(&e, "elapsedSeconds", "\"10\""));
	assert_true(e.elapsed_s < 0);
}

static void hostile(void **state)
{
	struct ctl_evac e;
	char deep[4096], line[512];
	size_t k = 0;

	(void)state;
	ctl_evac_init(&e);
	/* deep nesting where a string is expected */
	k += (size_t)snprintf(deep, sizeof(deep),
			      "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":"
			      "\"dr-1\",\"phase\":");
	for (int i = 0; i < 400 && k + 2 < sizeof(deep); i++)
		deep[k++] = '[';
	deep[k] = '\0';
	assert_false(take_str(&e, deep));
	/* escape sequences and a huge node name are compared, never printed */
	assert_false(take_with(&e, "node", "\"\\u001b[2J../../etc\""));
	/* a report whose strings are huge: still only counts reach the line */
	{
		size_t n = 100000;
		char *big = malloc(n + 3);

		assert_non_null(big);
		big[0] = '"';
		memset(big + 1, 'A', n);
		big[n + 1] = '"';
		big[n + 2] = '\0';
		assert_true(take_with(&e, "trigger", big));
		free(big);
	}
	ctl_evac_line(&e, 80, 0, line, sizeof(line));
	assert_null(strchr(line, '\033'));
	assert_true(strlen(line) <= 80);
}

static void line_widths(void **state)
{
	struct ctl_evac e;
	char line[512];

	(void)state;
	ctl_evac_init(&e);
	/* before any report: an indeterminate line */
	ctl_evac_line(&e, 80, 3, line, sizeof(line));
	assert_non_null(strstr(line, "waiting for the plan"));
	assert_true(take_str(&e, GOOD));
	for (int cols = 1; cols <= 200; cols++) {
		ctl_evac_line(&e, cols, (unsigned)cols, line, sizeof(line));
		assert_true(strlen(line) <= (size_t)cols);
	}
	ctl_evac_line(&e, 120, 0, line, sizeof(line));
	assert_int_equal(line[0], '[');
	assert_non_null(strstr(line, " 45%"));
	assert_non_null(strstr(line, "17/40 VMs moved, 2 migrating, 1 failed"));
	ctl_evac_line(&e, 0, 0, line, sizeof(line)); /* 0 = 80 */
	assert_true(strlen(line) <= 80);
	/* narrow: the bar goes first */
	ctl_evac_line(&e, 60, 0, line, sizeof(line));
	assert_true(line[0] != '[');
}

static void follow_drain(void **state)
{
	struct ctl_request r;
	struct ctl_follow f;
	cJSON *o;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.verb = CTL_VERB_DRAIN;
	strcpy(r.id, "dr-1");
	strcpy(r.cluster, "local");
	strcpy(r.node, "node-3");
	ctl_follow_init(&f, &r);
	assert_false(f.evac.have);
	o = cJSON_Parse(GOOD);
	assert_true(ctl_follow_progress(&f, o));
	cJSON_Delete(o);
	assert_true(f.seen);
	assert_false(f.done); /* the completion audit record ends a drain, not a report */
	assert_string_equal(f.phase, "Evacuating");
	assert_int_equal(f.evac.succeeded, 17);
	o = cJSON_Parse(
	    "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":\"dr-1\","
	    "\"node\":\"node-3\",\"total\":40,\"succeeded\":40,\"failed\":0,\"running\":"
	    "0,\"waiting\":0,\"phase\":\"Completed\"}");
	assert_true(ctl_follow_progress(&f, o));
	cJSON_Delete(o);
	assert_false(f.done);
	assert_int_equal(f.evac.percent, 100);
	o = cJSON_Parse("{\"requestId\":\"dr-1\",\"action\":\"drain.completed\",\"outcome\":"
			"\"success\",\"reason\":\"Evacuated\",\"message\":\"40 VMs evacuated\"}");
	assert_true(ctl_follow_audit(&f, o));
	cJSON_Delete(o);
	assert_true(f.done);
	assert_int_equal(f.exit_code, CTL_EXIT_OK);
	/* a migrate does not take evacuation reports */
	r.verb = CTL_VERB_MIGRATE;
	ctl_follow_init(&f, &r);
	o = cJSON_Parse(GOOD);
	assert_false(ctl_follow_progress(&f, o));
	cJSON_Delete(o);
	assert_false(f.evac.have);
}

static void plan_text(void **state)
{
	char out[4096], small[120];
	cJSON *d = cJSON_Parse(
	    "{\"plan\":{\"steps\":[{\"namespace\":\"default\",\"name\":\"v-1\",\"target\":"
	    "\"node-b\",\"mode\":\"live\",\"startSeconds\":0,\"endSeconds\":10.04},"
	    "{\"namespace\":\"default\",\"name\":\"br\",\"target\":null,\"mode\":\"cold\","
	    "\"startSeconds\":\"x\",\"endSeconds\":1e300},{\"name\":\"\\u001b[2Jevil\"}]},"
	    "\"skipped\":[{\"namespace\":\"default\",\"name\":\"br2\",\"reason\":"
	    "\"NotLiveMigratable\",\"message\":\"bridge\"}]}");

	(void)state;
	ctl_evac_plan_text(d, out, sizeof(out));
	assert_non_null(strstr(out, "  VM "));
	assert_non_null(strstr(out, "default/v-1"));
	assert_non_null(strstr(out, "live     0.0s   10.0s"));
	/* missing or wrong-typed fields print as "-" */
	assert_non_null(strstr(out, "default/br "));
	assert_non_null(strstr(out, " cold        -       -"));
	assert_non_null(strstr(out, "stays: default/br2 (NotLiveMigratable: bridge)"));
	/* no escape sequence reaches the terminal */
	assert_null(strchr(out, '\033'));
	/* cut at a line, never overrun */
	ctl_evac_plan_text(d, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_non_null(strstr(small, "..."));
	/* nothing to show, garbage */
	ctl_evac_plan_text(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	cJSON_Delete(d);
	d = cJSON_Parse("{\"plan\":{\"steps\":7},\"skipped\":\"x\",\"stayed\":[{\"name\":\"a\"}]}");
	ctl_evac_plan_text(d, out, sizeof(out));
	assert_string_equal(out, "  stays: -/a (-)\n");
	ctl_evac_plan_text(d, out, 0);
	cJSON_Delete(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid),	   cmocka_unit_test(final_report),
	    cmocka_unit_test(not_ours),	   cmocka_unit_test(malformed),
	    cmocka_unit_test(caps),	   cmocka_unit_test(hostile),
	    cmocka_unit_test(line_widths), cmocka_unit_test(follow_drain),
	    cmocka_unit_test(plan_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
