/* test_ctl_report.c - wukongctl report's feed (issue 24): a drain's audit records and reports into
 * its timeline, a migration's progress into its convergence series; others' messages, garbage
 * and hostile strings left out; the text and SVG it prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../tools/wukongctl/ctl_report.h"

static bool feed(struct ctl_report *r, char topic, const char *json, int64_t t)
{
	cJSON *v = cJSON_Parse(json);
	bool took = ctl_report_feed(r, topic, v, t);

	cJSON_Delete(v);
	return took;
}

static void drain(void **state)
{
	struct ctl_report r;
	struct wk_buf b;

	(void)state;
	ctl_report_init(&r, true, "dr-1");
	assert_true(feed(&r, 'a',
			 "{\"requestId\":\"dr-1\",\"cluster\":\"c1\",\"object\":{\"kind\":\"Node\","
			 "\"name\":\"n1\"},\"actor\":\"m\",\"action\":\"drain.started\",\"outcome\":"
			 "\"info\",\"details\":{\"plan\":{\"predictedSeconds\":10,\"steps\":[{"
			 "\"namespace\":\"default\",\"name\":\"a\",\"target\":\"n2\",\"mode\":\"live\","
			 "\"startSeconds\":0,\"endSeconds\":10}]}}}",
			 10000));
	assert_false(feed(&r, 'a', "{\"requestId\":\"dr-2\",\"action\":\"drain.started\"}", 1));
	assert_false(feed(&r, 'a', "[]", 1));
	assert_false(feed(&r, 'p', "not json", 1));
	assert_true(feed(&r, 'p',
			 "{\"type\":\"evacuation\",\"evacuationId\":\"dr-1\",\"requestId\":\"dr-1\","
			 "\"node\":\"n1\",\"phase\":\"Completed\",\"total\":1,\"succeeded\":1,"
			 "\"failed\":0,\"running\":0,\"waiting\":0,\"vms\":[{\"namespace\":\"default\","
			 "\"name\":\"a\",\"state\":\"Succeeded\"}]}",
			 22000));
	assert_true(r.seen);
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_report_text(&r, 30000, 100, false, &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "drain dr-1 of node n1: Completed, 1/1 moved"));
	assert_non_null(strstr(wk_buf_str(&b), "default/a -> n2: planned 0-10 s, actual 12-12 s"));
	wk_buf_reset(&b);
	assert_int_equal(ctl_report_svg(&r, 30000, &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "class=\"plan\""));
	wk_buf_release(&b);
	ctl_report_release(&r);
}

static void migrate(void **state)
{
	struct ctl_report r;
	struct wk_buf b;
	char j[512];

	(void)state;
	ctl_report_init(&r, false, "m-1");
	for (int i = 0; i < 6; i++) {
		/* It stops converging: the remaining bytes grow after the third sample. */
		snprintf(j, sizeof(j),
			 "{\"type\":\"migration\",\"requestId\":\"m-1\",\"namespace\":\"default\","
			 "\"name\":\"web\",\"sourceNode\":\"n1\",\"targetNode\":\"n2\",\"phase\":"
			 "\"Migrating\",\"dataRemainingBytes\":%d,\"transferRateBytesPerSecond\":100,"
			 "\"dirtyRateBytesPerSecond\":%d}",
			 i < 3 ? 1000 - i * 100 : 800 + i * 100, i < 3 ? 10 : 300);
		assert_true(feed(&r, 'p', j, 1000 + i * 1000));
	}
	/* Another request's, a clone's, a hostile name: not taken (the name stays as it was). */
	assert_false(feed(&r, 'p', "{\"type\":\"migration\",\"requestId\":\"m-2\"}", 9000));
	assert_false(feed(&r, 'p', "{\"type\":\"clone\",\"requestId\":\"m-1\"}", 9000));
	assert_true(feed(&r, 'p',
			 "{\"type\":\"migration\",\"requestId\":\"m-1\",\"name\":\"x\\u001b[2J\","
			 "\"phase\":\"\\u001b[31mMigrating\"}",
			 9500));
	assert_string_equal(r.name, "web");
	assert_null(strchr(r.phase, '\033'));
	assert_int_equal(r.conv.n, 6);
	assert_true(wk_conv_stalled(&r.conv, 4));
	wk_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_report_text(&r, 10000, 80, true, &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "migration m-1: default/web n1 -> n2"));
	assert_non_null(strstr(wk_buf_str(&b), "(not converging at the end)"));
	wk_buf_reset(&b);
	assert_int_equal(ctl_report_svg(&r, 10000, &b), 0);
	assert_non_null(strstr(wk_buf_str(&b), "class=\"remaining\""));
	wk_buf_release(&b);
	ctl_report_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(drain),
	    cmocka_unit_test(migrate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
