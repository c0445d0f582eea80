/* test_wk_chart.c - drain timelines (plan, reports, audit records, finish; SVG, text,
 * planned-against-actual) and convergence series (points, stall, sparkline, SVG), with hostile
 * and truncated input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "wk_chart.h"

static const char *plan_json =
    "{\"predictedSeconds\":20,\"steps\":["
    "{\"order\":1,\"namespace\":\"default\",\"name\":\"a\",\"target\":\"n2\",\"startSeconds\":0,"
    "\"endSeconds\":8,\"converges\":true,\"reason\":null},"
    "{\"order\":2,\"namespace\":\"default\",\"name\":\"b\",\"target\":\"n3\",\"startSeconds\":4,"
    "\"endSeconds\":12,\"converges\":true,\"reason\":null},"
    "{\"order\":3,\"namespace\":\"default\",\"name\":\"c\",\"target\":null,\"startSeconds\":0,"
    "\"endSeconds\":0,\"converges\":false,\"reason\":\"NoEligibleTarget\"}]}";

static cJSON *report(const char *id, const char *phase, int su, int ru, int wa, const char *a,
		     const char *b)
{
	char j[2048];

	snprintf(
	    j, sizeof(j),
	    "{\"source\":\"wukong-migrator\",\"type\":\"evacuation\",\"cluster\":\"c1\","
	    "\"node\":\"n1\",\"evacuationId\":\"%s\",\"requestId\":\"%s\",\"trigger\":\"drain\","
	    "\"total\":%d,\"succeeded\":%d,\"failed\":0,\"running\":%d,\"waiting\":%d,"
	    "\"predictedSeconds\":20,\"elapsedSeconds\":1,\"etaSeconds\":5,\"percent\":10,"
	    "\"phase\":\"%s\",\"vms\":[{\"namespace\":\"default\",\"name\":\"a\",\"target\":\"n2\","
	    "\"state\":\"%s\"},{\"namespace\":\"default\",\"name\":\"b\",\"target\":\"n3\","
	    "\"state\":\"%s\"}]}",
	    id, id, su + ru + wa, su, ru, wa, phase, a, b);
	return cJSON_Parse(j);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void timeline(void **state)
{
	struct wk_timeline tl;
	cJSON *plan = cJSON_Parse(plan_json), *r, *j;
	struct wk_buf b;
	const struct wk_tl_step *s;

	(void)state;
	wk_timeline_init(&tl, "dr-1");
	assert_int_equal(wk_timeline_plan(&tl, plan, 100000), 0);
	assert_int_equal(tl.n, 3);
	assert_int_equal(tl.start_ms, 100000);
	s = wk_timeline_find(&tl, "default", "b");
	assert_non_null(s);
	assert_true(s->plan_start == 4 && s->plan_end == 12);
	assert_string_equal(wk_timeline_find(&tl, "default", "c")->reason, "NoEligibleTarget");
	/* Reports: a starts at 101 s, b queued at 104 s, a done at 109 s. */
	r = report("dr-1", "Running", 0, 1, 1, "Migrating", "Waiting");
	assert_int_equal(wk_timeline_report(&tl, r, 101000), 0);
	cJSON_Delete(r);
	r = report("dr-1", "Running", 0, 2, 0, "Migrating", "Queued");
	assert_int_equal(wk_timeline_report(&tl, r, 104000), 0);
	cJSON_Delete(r);
	r = report("dr-1", "Running", 1, 1, 0, "Succeeded", "Migrating");
	assert_int_equal(wk_timeline_report(&tl, r, 109000), 0);
	cJSON_Delete(r);
	s = wk_timeline_find(&tl, "default", "a");
	assert_int_equal(s->act_start_ms, 101000);
	assert_int_equal(s->act_end_ms, 109000);
	assert_int_equal(wk_timeline_find(&tl, "default", "b")->act_start_ms, 104000);
	assert_int_equal(wk_timeline_find(&tl, "default", "b")->act_end_ms, 0);
	assert_int_equal(tl.end_ms, 0);
	/* Another drain's report, counts that do not add up, a bad phase: ignored whole. */
	r = report("dr-2", "Running", 2, 0, 0, "Succeeded", "Succeeded");
	assert_int_equal(wk_timeline_report(&tl, r, 110000), -1);
	cJSON_Delete(r);
	r = report("dr-1", "Running", 1, 1, 0, "Succeeded", "Succeeded");
	cJSON_ReplaceItemInObject(r, "total", cJSON_CreateNumber(7));
	assert_int_equal(wk_timeline_report(&tl, r, 110000), -1);
	cJSON_ReplaceItemInObject(r, "total", cJSON_CreateNumber(2));
	cJSON_ReplaceItemInObject(r, "phase", cJSON_CreateString("Exploded"));
	assert_int_equal(wk_timeline_report(&tl, r, 110000), -1);
	cJSON_Delete(r);
	assert_int_equal(wk_timeline_find(&tl, "default", "b")->act_end_ms, 0);
	/* The JSON the console sends. */
	j = wk_timeline_json(&tl);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "dr-1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "steps")), 3);
	cJSON_Delete(j);
	/* SVG while running: the running VM's actual bar ends at now. */
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_timeline_svg(&tl, 112000, &b), 0);
	assert_int_equal(count(wk_buf_str(&b), "class=\"plan\""), 3);
	assert_int_equal(count(wk_buf_str(&b), "class=\"act\""), 2);
	assert_int_equal(count(wk_buf_str(&b), "<g class=\"row\""), 3);
	assert_non_null(strstr(wk_buf_str(&b), "</svg>"));
	wk_buf_release(&b);
	/* The final report, then the completion record. */
	r = report("dr-1", "Completed", 2, 0, 0, "Succeeded", "Succeeded");
	assert_int_equal(wk_timeline_report(&tl, r, 113000), 0);
	cJSON_Delete(r);
	assert_int_equal(tl.end_ms, 113000);
	assert_string_equal(tl.phase, "Completed");
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_timeline_compare(&tl, &b), 0);
	assert_non_null(
	    strstr(wk_buf_str(&b), "default/a -> n2: planned 0-8 s, actual 1-9 s (+1 s)"));
	assert_non_null(strstr(wk_buf_str(&b), "default/b -> n3: planned 4-12 s, actual 4-13 s"));
	assert_null(strstr(wk_buf_str(&b), "default/c"));
	wk_buf_release(&b);
	/* Text at every width: one line per VM, nothing longer than the width allows. */
	for (int w = 1; w <= 420; w += 7) {
		wk_buf_init(&b, 1 << 20);
		assert_int_equal(wk_timeline_text(&tl, 113000, w, w % 2, &b), 0);
		assert_non_null(strstr(wk_buf_str(&b), "default/a"));
		assert_non_null(strstr(wk_buf_str(&b), "not moved: NoEligibleTarget"));
		wk_buf_release(&b);
	}
	/* A tiny cap: -1, never an overflow. */
	wk_buf_init(&b, 64);
	assert_int_equal(wk_timeline_svg(&tl, 113000, &b), -1);
	wk_buf_release(&b);
	cJSON_Delete(plan);
	wk_timeline_release(&tl);
}

static void timeline_audit(void **state)
{
	struct wk_timeline tl;
	char j[4096];
	cJSON *ev;

	(void)state;
	wk_timeline_init(&tl, "dr-9");
	snprintf(
	    j, sizeof(j),
	    "{\"requestId\":\"dr-9\",\"cluster\":\"c1\",\"object\":{\"kind\":\"Node\",\"name\":"
	    "\"n1\"},\"actor\":\"wukong-migrator\",\"action\":\"drain.started\",\"outcome\":"
	    "\"info\",\"details\":{\"plan\":%s}}",
	    plan_json);
	ev = cJSON_Parse(j);
	assert_int_equal(wk_timeline_audit(&tl, ev, 5000), 1);
	cJSON_Delete(ev);
	assert_int_equal(tl.start_ms, 5000);
	assert_string_equal(tl.node, "n1");
	assert_string_equal(tl.trigger, "drain");
	assert_int_equal(tl.n, 3);
	/* Not ours, not an evacuation action: nothing. */
	ev = cJSON_Parse("{\"requestId\":\"other\",\"action\":\"drain.completed\",\"outcome\":"
			 "\"success\"}");
	assert_int_equal(wk_timeline_audit(&tl, ev, 9000), 0);
	cJSON_Delete(ev);
	ev = cJSON_Parse("{\"requestId\":\"dr-9\",\"action\":\"migration.started\",\"outcome\":"
			 "\"info\"}");
	assert_int_equal(wk_timeline_audit(&tl, ev, 9000), 0);
	cJSON_Delete(ev);
	ev = cJSON_Parse("{\"requestId\":\"dr-9\",\"action\":\"drain.completed\",\"outcome\":"
			 "\"failure\"}");
	assert_int_equal(wk_timeline_audit(&tl, ev, 30000), 1);
	cJSON_Delete(ev);
	assert_string_equal(tl.phase, "Failed");
	assert_int_equal(tl.end_ms, 30000);
	wk_timeline_release(&tl);
	/* A dry run. */
	wk_timeline_init(&tl, "dry");
	snprintf(j, sizeof(j),
		 "{\"requestId\":\"dry\",\"action\":\"drain.planned\",\"outcome\":\"success\","
		 "\"details\":{\"plan\":%s}}",
		 plan_json);
	ev = cJSON_Parse(j);
	assert_int_equal(wk_timeline_audit(&tl, ev, 1000), 1);
	cJSON_Delete(ev);
	assert_true(tl.dry_run);
	assert_string_equal(tl.phase, "Planned");
	wk_timeline_release(&tl);
}

static void timeline_hostile(void **state)
{
	struct wk_timeline tl;
	cJSON *p, *steps;
	struct wk_buf b;
	char name[300];

	(void)state;
	wk_timeline_init(&tl, "x");
	assert_int_equal(wk_timeline_plan(&tl, NULL, 1), -1);
	p = cJSON_Parse("{\"steps\":{}}");
	assert_int_equal(wk_timeline_plan(&tl, p, 1), -1);
	cJSON_Delete(p);
	/* Steps without names, negative and inverted times, overlong names, control bytes,
	 * markup: skipped, or kept without planned times, and escaped in the SVG. */
	p = cJSON_Parse("{\"steps\":[{},{\"namespace\":\"d\",\"name\":\"\"},"
			"{\"namespace\":\"d\",\"name\":\"q\",\"startSeconds\":-5,\"endSeconds\":3},"
			"{\"namespace\":\"d\",\"name\":\"r\",\"startSeconds\":9,\"endSeconds\":3},"
			"{\"namespace\":\"d\",\"name\":\"<x&\\\"y>\",\"target\":\"a\\u0007b\"}]}");
	steps = cJSON_GetObjectItem(p, "steps");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	{
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "namespace", "d");
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddItemToArray(steps, e);
	}
	assert_int_equal(wk_timeline_plan(&tl, p, 1), 0);
	cJSON_Delete(p);
	assert_int_equal(tl.n, 3);
	assert_true(wk_timeline_find(&tl, "d", "q")->plan_start < 0);
	assert_true(wk_timeline_find(&tl, "d", "r")->plan_start < 0);
	assert_string_equal(wk_timeline_find(&tl, "d", "<x&\"y>")->target, "");
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_timeline_svg(&tl, 2, &b), 0);
	assert_null(strstr(wk_buf_str(&b), "<x&"));
	assert_non_null(strstr(wk_buf_str(&b), "&lt;x&amp;&quot;y&gt;"));
	wk_buf_release(&b);
	/* Reports that are not objects or miss counts. */
	p = cJSON_Parse("[1,2]");
	assert_int_equal(wk_timeline_report(&tl, p, 1), -1);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"evacuationId\":\"x\",\"phase\":\"Running\",\"total\":1.5}");
	assert_int_equal(wk_timeline_report(&tl, p, 1), -1);
	cJSON_Delete(p);
	wk_timeline_release(&tl);
	/* At most WK_TL_STEPS_MAX VMs. */
	wk_timeline_init(&tl, "big");
	p = cJSON_CreateObject();
	steps = cJSON_AddArrayToObject(p, "steps");
	for (int i = 0; i < WK_TL_STEPS_MAX + 10; i++) {
		cJSON *e = cJSON_CreateObject();

		snprintf(name, sizeof(name), "vm-%d", i);
		cJSON_AddStringToObject(e, "namespace", "d");
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddNumberToObject(e, "startSeconds", i);
		cJSON_AddNumberToObject(e, "endSeconds", i + 5);
		cJSON_AddItemToArray(steps, e);
	}
	assert_int_equal(wk_timeline_plan(&tl, p, 1), 0);
	cJSON_Delete(p);
	assert_int_equal(tl.n, WK_TL_STEPS_MAX);
	wk_timeline_release(&tl);
}

static void convergence(void **state)
{
	struct wk_conv c;
	struct wk_buf b;
	char spark[256];
	cJSON *o;

	(void)state;
	wk_conv_init(&c, 5);
	o = cJSON_Parse("{\"dataRemainingBytes\":1000,\"transferRateBytesPerSecond\":100,"
			"\"dirtyRateBytesPerSecond\":10}");
	assert_int_equal(wk_conv_add_json(&c, o, 1000), 1);
	assert_int_equal(wk_conv_add_json(&c, o, 1000), 0); /* the same time again */
	cJSON_Delete(o);
	o = cJSON_Parse("{\"transferRateBytesPerSecond\":100}");
	assert_int_equal(wk_conv_add_json(&c, o, 2000), 0); /* no remaining bytes */
	cJSON_Delete(o);
	o = cJSON_Parse("{\"dataRemainingBytes\":-5}");
	assert_int_equal(wk_conv_add_json(&c, o, 2000), 0);
	cJSON_Delete(o);
	for (int i = 1; i <= 6; i++) {
		struct wk_conv_pt pt = {.t_ms = 1000 + i * 1000,
					.remaining = 1000 - i * 100,
					.transfer = 100,
					.dirty = 10,
					.processed = -1};

		wk_conv_add(&c, &pt);
	}
	assert_int_equal(c.n, 5); /* the oldest dropped past max */
	assert_int_equal(c.p[0].t_ms, 3000);
	assert_false(wk_conv_stalled(&c, 4));
	/* It stops converging: remaining grows. */
	for (int i = 0; i < 4; i++) {
		struct wk_conv_pt pt = {.t_ms = 10000 + i * 1000,
					.remaining = 500 + i * 50,
					.transfer = 20,
					.dirty = 80,
					.processed = -1};

		wk_conv_add(&c, &pt);
	}
	assert_true(wk_conv_stalled(&c, 4));
	wk_conv_sparkline(&c, 12, true, spark, sizeof(spark));
	assert_int_equal(strlen(spark), 5 * 3); /* five points, three bytes each */
	wk_conv_sparkline(&c, 12, false, spark, sizeof(spark));
	assert_int_equal(strlen(spark), 5);
	wk_conv_sparkline(&c, 12, true, spark, 4); /* cut on a character boundary */
	assert_int_equal(strlen(spark), 3);
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_conv_svg(&c, "m <1>", &b), 0);
	assert_int_equal(count(wk_buf_str(&b), "class=\"pt\""), 5);
	assert_non_null(strstr(wk_buf_str(&b), "m &lt;1&gt;"));
	assert_non_null(strstr(wk_buf_str(&b), "class=\"dirty\""));
	wk_buf_release(&b);
	o = wk_conv_json(&c);
	assert_int_equal(cJSON_GetArraySize(o), 5);
	cJSON_Delete(o);
	wk_conv_release(&c);
	/* Empty series: an SVG without points, an empty sparkline. */
	wk_conv_init(&c, 10);
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(wk_conv_svg(&c, NULL, &b), 0);
	wk_buf_release(&b);
	wk_conv_sparkline(&c, 12, true, spark, sizeof(spark));
	assert_string_equal(spark, "");
	assert_false(wk_conv_stalled(&c, 4));
	wk_conv_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(timeline),
	    cmocka_unit_test(timeline_audit),
	    cmocka_unit_test(timeline_hostile),
	    cmocka_unit_test(convergence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
