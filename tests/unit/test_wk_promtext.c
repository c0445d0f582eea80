/* test_wk_promtext.c - Prometheus text parser: valid bodies, and empty, truncated, garbage, at
 * the caps, one past them, hostile input. */
#include "wk_promtext.h"

#include "wk_buf.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

struct got {
	int n;
	char names[8][64];
	double values[8];
	char labels[8][256]; /* "k=v;k=v" */
	int64_t ts[8];
};

static int collect(const struct wk_promtext_sample *s, void *opaque)
{
	struct got *g = opaque;

	if (g->n < 8) {
		snprintf(g->names[g->n], sizeof(g->names[0]), "%s", s->name);
		g->values[g->n] = s->value;
		g->ts[g->n] = s->has_timestamp ? s->timestamp_ms : -1;
		g->labels[g->n][0] = '\0';
		for (size_t i = 0; i < s->nlabels; i++) {
			size_t l = strlen(g->labels[g->n]);

			snprintf(g->labels[g->n] + l, sizeof(g->labels[0]) - l, "%s%s=%s",
				 i ? ";" : "", s->labels[i].name, s->labels[i].value);
		}
	}
	g->n++;
	return 0;
}

static long parse(const char *text, struct got *g, const struct wk_promtext_limits *lim, char *err,
		  size_t errsz)
{
	memset(g, 0, sizeof(*g));
	return wk_promtext_parse(text, strlen(text), lim, collect, g, err, errsz);
}

static void valid(void **state)
{
	struct got g;
	char err[256];
	const char *body =
	    "# HELP kubevirt_vmi_migration_data_processed_bytes The total Guest OS data.\n"
	    "# TYPE kubevirt_vmi_migration_data_processed_bytes gauge\n"
	    "kubevirt_vmi_migration_data_processed_bytes{name=\"vm-1\",namespace=\"default\","
	    "node=\"node-1\"} 1.048576e+06 1700000000123\n"
	    "\n"
	    "  up 1\r\n"
	    "odd{ a = \"x\\\"y\\\\z\\n\" , b=\"\", } NaN\n"
	    "inf_metric +Inf\n"
	    "neg_metric{le=\"0.5\"} -Inf -5\n"
	    "ns:rule:sum 3.5";
	long n = parse(body, &g, NULL, err, sizeof(err));

	(void)state;
	if (n < 0)
		fail_msg("%s", err);
	assert_int_equal(n, 6);
	assert_string_equal(g.names[0], "kubevirt_vmi_migration_data_processed_bytes");
	assert_string_equal(g.labels[0], "name=vm-1;namespace=default;node=node-1");
	assert_true(g.values[0] == 1048576.0);
	assert_int_equal(g.ts[0], 1700000000123LL);
	assert_string_equal(g.names[1], "up");
	assert_int_equal(g.ts[1], -1);
	assert_string_equal(g.labels[2], "a=x\"y\\z\n;b=");
	assert_true(isnan(g.values[2]));
	assert_true(isinf(g.values[3]) && g.values[3] > 0);
	assert_true(isinf(g.values[4]) && g.values[4] < 0);
	assert_int_equal(g.ts[4], -5);
}

static int check_label(const struct wk_promtext_sample *s, void *opaque)
{
	(void)opaque;
	assert_string_equal(wk_promtext_label(s, "b"), "2");
	assert_null(wk_promtext_label(s, "c"));
	return 0;
}

static void label_accessor(void **state)
{
	char err[64];
	const char *b = "m{a=\"1\",b=\"2\"} 1\n";

	(void)state;
	assert_int_equal(wk_promtext_parse(b, strlen(b), NULL, check_label, NULL, err, sizeof(err)),
			 1);
}

static void empty_and_comments(void **state)
{
	struct got g;
	char err[256];

	(void)state;
	assert_int_equal(parse("", &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(parse("\n\n# just a comment\n#\n   \n", &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
}

static void bad(const char *text, const char *want)
{
	struct got g;
	char err[256] = "";

	assert_int_equal(parse(text, &g, NULL, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void truncated_and_garbage(void **state)
{
	(void)state;
	bad("m{a=\"1\"", "expected ',' or '}'");
	bad("m{a=\"1", "unterminated");
	bad("m{a=\"1\",", "expected a label name");
	bad("m{a=", "expected '\"'");
	bad("m{a", "expected '='");
	bad("m", "missing value");
	bad("m{a=\"1\"} ", "missing value");
	bad("1metric 3", "expected a metric name");
	bad("{a=\"b\"} 3", "expected a metric name");
	bad("m 12abc", "bad or missing value");
	bad("m nan(0x1)", "bad or missing value");
	bad("m 0x10", "bad or missing value");
	bad("m 1 2 3", "trailing");
	bad("m 1 1.5", "bad timestamp");
	bad("m 1 99999999999999999999", "bad timestamp");
	bad("m{a=\"x\\q\"} 1", "bad escape");
	bad("m{a=\"1\" b=\"2\"} 1", "expected ','");
	bad("m{a=\"1\",a=\"2\"} 1", "duplicate label");
	bad("good 1\n\x01\x02garbage", "line 2");
	bad("m{1a=\"x\"} 1", "expected a label name");
	bad("m{a:b=\"x\"} 1", "expected '='");
}

static void huge_numbers(void **state)
{
	struct got g;
	char err[256];

	(void)state;
	assert_int_equal(parse("m 1e400\nn -1e400\no 4.9e-400\n", &g, NULL, err, sizeof(err)), 3);
	assert_true(isinf(g.values[0]));
	assert_true(isinf(g.values[1]));
	assert_true(g.values[2] == 0.0);
	assert_int_equal(parse("m 1 9223372036854775807\n", &g, NULL, err, sizeof(err)), 1);
	assert_int_equal(g.ts[0], INT64_MAX);
	bad("m 1 9223372036854775808", "bad timestamp");
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	struct wk_buf b;

	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_adds(&b, head), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wk_buf_adds(&b, unit), 0);
	assert_int_equal(wk_buf_adds(&b, tail), 0);
	return wk_buf_take(&b, NULL);
}

static void caps(void **state)
{
	struct wk_promtext_limits lim = {0};
	struct got g;
	char err[256], *s, name[300];

	(void)state;
	/* body: at the cap and one past it */
	lim.max_body = 8;
	assert_int_equal(parse("m 12345\n", &g, &lim, err, sizeof(err)), 1);
	assert_int_equal(parse("m 123456\n", &g, &lim, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over the cap"));

	/* line length */
	memset(&lim, 0, sizeof(lim));
	lim.max_line = 7;
	assert_int_equal(parse("m 12345\n", &g, &lim, err, sizeof(err)), 1);
	assert_int_equal(parse("m 123456\n", &g, &lim, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 7"));

	/* metric name: 256 ok, 257 refused */
	memset(name, 'a', 257);
	name[256] = '\0';
	s = wk_xasprintf("%s 1\n", name);
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), 1);
	free(s);
	name[256] = 'a';
	name[257] = '\0';
	s = wk_xasprintf("%s 1\n", name);
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metric name longer"));
	free(s);

	/* labels per sample: 64 ok, 65 refused */
	{
		struct wk_buf b;

		wk_buf_init(&b, 0);
		assert_int_equal(wk_buf_adds(&b, "m{"), 0);
		for (int i = 0; i < 64; i++)
			assert_int_equal(wk_buf_addf(&b, "l%d=\"v\",", i), 0);
		assert_int_equal(wk_buf_adds(&b, "} 1\n"), 0);
		assert_int_equal(parse(wk_buf_str(&b), &g, NULL, err, sizeof(err)), 1);
		wk_buf_reset(&b);
		assert_int_equal(wk_buf_adds(&b, "m{"), 0);
		for (int i = 0; i < 65; i++)
			assert_int_equal(wk_buf_addf(&b, "l%d=\"v\",", i), 0);
		assert_int_equal(wk_buf_adds(&b, "} 1\n"), 0);
		assert_int_equal(parse(wk_buf_str(&b), &g, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "more than 64 labels"));
		wk_buf_release(&b);
	}

	/* label value: 4096 bytes ok, 4097 refused (escapes count once unescaped) */
	s = repeat("m{a=\"", "\\\\", 4096, "\"} 1\n");
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), 1);
	free(s);
	s = repeat("m{a=\"", "x", 4097, "\"} 1\n");
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 4096"));
	free(s);

	/* samples */
	memset(&lim, 0, sizeof(lim));
	lim.max_samples = 3;
	assert_int_equal(parse("a 1\nb 2\nc 3\n", &g, &lim, err, sizeof(err)), 3);
	assert_int_equal(parse("a 1\nb 2\nc 3\nd 4\n", &g, &lim, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 3 samples"));
}

static void hostile(void **state)
{
	struct got g;
	char err[256], *s;
	const char nul[] = "m 1\nn\0 2\n";

	(void)state;
	assert_int_equal(
	    wk_promtext_parse(nul, sizeof(nul) - 1, NULL, collect, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	/* nesting is not a thing in this format: braces inside are errors, not recursion */
	s = repeat("m", "{", 10000, " 1\n");
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), -1);
	free(s);
	/* a very long line of spaces is a line-cap error, not a hang */
	s = repeat("m", " ", 70000, "1\n");
	assert_int_equal(parse(s, &g, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	free(s);
	/* path-like and control characters in label values are just data */
	assert_int_equal(parse("m{name=\"../../etc/passwd\",namespace=\"\t\x7f\"} 1\n", &g, NULL,
			       err, sizeof(err)),
			 1);
	assert_string_equal(g.labels[0], "name=../../etc/passwd;namespace=\t\x7f");
}

static int stop_cb(const struct wk_promtext_sample *s, void *opaque)
{
	(void)s;
	return ++*(int *)opaque == 2;
}

static void caller_stops(void **state)
{
	int n = 0;
	char err[128];
	const char *b = "a 1\nb 2\nc 3\n";

	(void)state;
	assert_int_equal(wk_promtext_parse(b, strlen(b), NULL, stop_cb, &n, err, sizeof(err)), -1);
	assert_int_equal(n, 2);
	assert_non_null(strstr(err, "stopped"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid),
	    cmocka_unit_test(label_accessor),
	    cmocka_unit_test(empty_and_comments),
	    cmocka_unit_test(truncated_and_garbage),
	    cmocka_unit_test(huge_numbers),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(caller_stops),
	};
	return cmocka_run_group_tests_name("wk_promtext", tests, NULL, NULL);
}
