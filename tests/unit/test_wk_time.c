/* test_wk_time.c - RFC 3339 formatting and strict parsing, clocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_time.h"

static int64_t parse_ms(const char *s)
{
	int64_t v = 0;

	assert_int_equal(wk_time_parse_ms(s, &v), 0);
	return v;
}

static void bad(const char *s)
{
	int64_t v = 99;

	assert_int_equal(wk_time_parse_ms(s, &v), -1);
	assert_int_equal(wk_time_parse_us(s, &v), -1);
	assert_int_equal(v, 99);
}

static void formats(void **state)
{
	char out[32];

	(void)state;
	wk_time_format(1704164645000LL, out, sizeof(out));
	assert_string_equal(out, "2024-01-02T03:04:05Z");
	wk_time_format(1704164645999LL, out, sizeof(out)); /* truncates, never rounds up */
	assert_string_equal(out, "2024-01-02T03:04:05Z");
	wk_time_format(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	wk_time_format(-1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	wk_time_format(1709251199000LL, out, sizeof(out));
	assert_string_equal(out, "2024-02-29T23:59:59Z");
	wk_time_format_micro(1704164645123456LL, out, sizeof(out));
	assert_string_equal(out, "2024-01-02T03:04:05.123456Z");
	assert_int_equal(strlen(out), 27);
	wk_time_format_micro(-1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
	wk_time_format(1704164645000LL, out, 8); /* short buffer: truncated, terminated */
	assert_string_equal(out, "2024-01");
}

static void parses(void **state)
{
	int64_t us;

	(void)state;
	assert_int_equal(parse_ms("2024-01-02T03:04:05Z"), 1704164645000LL);
	assert_int_equal(parse_ms("2024-01-02t03:04:05z"), 1704164645000LL);
	assert_int_equal(parse_ms("2024-01-02T03:04:05.5Z"), 1704164645500LL);
	assert_int_equal(parse_ms("2024-01-02T03:04:05.123456789123Z"), 1704164645123LL);
	assert_int_equal(parse_ms("2024-01-02T05:04:05+02:00"), 1704164645000LL);
	assert_int_equal(parse_ms("2024-01-01T22:04:05-05:00"), 1704164645000LL);
	assert_int_equal(parse_ms("1969-12-31T23:59:59Z"), -1000);
	assert_int_equal(parse_ms("1969-12-31T23:59:59.9995Z"), -1); /* floor, not toward zero */
	assert_int_equal(parse_ms("9999-12-31T23:59:59Z"), 253402300799000LL);
	assert_int_equal(parse_ms("0001-01-01T00:00:00Z"), -62135596800000LL);
	assert_int_equal(parse_ms("2024-02-29T23:59:59Z"), 1709251199000LL);
	assert_int_equal(wk_time_parse_us("2024-01-02T03:04:05.123456Z", &us), 0);
	assert_int_equal(us, 1704164645123456LL);
}

static void round_trips(void **state)
{
	static const int64_t t[] = {0, 1, -1, 1704164645123456LL, 253402300799999999LL};
	char out[32];
	int64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < WK_ARRAY_SIZE(t); i++) {
		wk_time_format_micro(t[i], out, sizeof(out));
		assert_int_equal(wk_time_parse_us(out, &back), 0);
		assert_int_equal(back, t[i]);
	}
}

static void malformed(void **state)
{
	char long_frac[80];

	(void)state;
	bad("");
	bad(NULL);
	bad("2024-01-02");
	bad("2024-01-02T03:04:05");   /* no zone */
	bad("2024-01-02 03:04:05Z");  /* space separator */
	bad("2024-01-02T03:04Z");     /* truncated */
	bad("2024-01-02T03:04:05.Z"); /* empty fraction */
	bad("2024-1-02T03:04:05Z");
	bad("2023-02-29T00:00:00Z"); /* not a leap year */
	bad("1900-02-29T00:00:00Z");
	bad("2024-13-01T00:00:00Z");
	bad("2024-00-01T00:00:00Z");
	bad("2024-04-31T00:00:00Z");
	bad("2024-01-02T24:00:00Z");
	bad("2024-01-02T23:60:00Z");
	bad("2024-01-02T23:59:60Z");
	bad("2024-01-02T03:04:05+0200");
	bad("2024-01-02T03:04:05+24:00");
	bad("2024-01-02T03:04:05Zjunk");
	bad("2024-01-02T03:04:05Z\n");
	bad("+2024-01-02T03:04:05Z");
	bad("２024-01-02T03:04:05Z");
	bad("garbage");
	/* 64 bytes parse, 65 do not. */
	memset(long_frac, 0, sizeof(long_frac));
	strcpy(long_frac, "2024-01-02T03:04:05.");
	memset(long_frac + 20, '1', 43);
	strcat(long_frac, "Z");
	assert_int_equal(strlen(long_frac), 64);
	assert_int_equal(parse_ms(long_frac), 1704164645111LL);
	memmove(long_frac + 21, long_frac + 20, 45);
	assert_int_equal(strlen(long_frac), 65);
	bad(long_frac);
}

static void clocks(void **state)
{
	int64_t a = wk_time_mono_ms(), b = wk_time_mono_ms(), now = wk_time_now_ms();

	(void)state;
	assert_true(b >= a);
	assert_true(now > 1700000000000LL); /* after 2023 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(formats),	 cmocka_unit_test(parses), cmocka_unit_test(round_trips),
	    cmocka_unit_test(malformed), cmocka_unit_test(clocks),
	};

	return cmocka_run_group_tests_name("wk_time", tests, NULL, NULL);
}
