/* test_wk_quantity.c - quantity parsing (every suffix, rounding, overflow) and canonical output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_quantity.h"

static int64_t milli(const char *s)
{
	int64_t v = -42;
	char err[128];

	assert_int_equal(wk_quantity_parse_milli(s, &v, err, sizeof(err)), 0);
	return v;
}

static int64_t units(const char *s)
{
	int64_t v = -42;
	char err[128];

	assert_int_equal(wk_quantity_parse(s, &v, err, sizeof(err)), 0);
	return v;
}

static void bad(const char *s, const char *why)
{
	int64_t v = 7;
	char err[128] = "";

	assert_int_equal(wk_quantity_parse_milli(s, &v, err, sizeof(err)), -1);
	assert_int_equal(v, 7); /* untouched on error */
	assert_non_null(strstr(err, why));
	assert_int_equal(wk_quantity_parse(s, &v, NULL, 0), -1);
}

static void decimal_and_milli(void **state)
{
	(void)state;
	assert_int_equal(milli("800m"), 800);
	assert_int_equal(milli("2"), 2000);
	assert_int_equal(milli("1.5"), 1500);
	assert_int_equal(milli("0.5"), 500);
	assert_int_equal(milli(".5"), 500);
	assert_int_equal(milli("1."), 1000);
	assert_int_equal(milli("2e3"), 2000000);
	assert_int_equal(milli("2E3"), 2000000);
	assert_int_equal(milli("1e-3"), 1);
	assert_int_equal(milli("+3k"), 3000000);
	assert_int_equal(milli("-250m"), -250);
	assert_int_equal(milli("0"), 0);
	assert_int_equal(milli("000"), 0);
	assert_int_equal(milli("0.0001"), 1); /* rounded up, as MilliValue() does */
	assert_int_equal(milli("1M"), 1000000000LL);
	assert_int_equal(units("1E"), 1000000000000000000LL);
	assert_int_equal(units("9E"), 9000000000000000000LL);
}

static void binary(void **state)
{
	(void)state;
	assert_int_equal(milli("1Ki"), 1024000);
	assert_int_equal(units("64Mi"), 64LL << 20);
	assert_int_equal(units("4Gi"), 4294967296LL);
	assert_int_equal(units("1.5Gi"), 1610612736LL);
	assert_int_equal(units("1Ti"), 1LL << 40);
	assert_int_equal(units("1Pi"), 1LL << 50);
	assert_int_equal(units("7Ei"), 7LL << 60);
	assert_int_equal(units("0.5Ki"), 512);
}

static void rounding(void **state)
{
	(void)state;
	assert_int_equal(units("1500m"), 2);
	assert_int_equal(units("1000m"), 1);
	assert_int_equal(units("1m"), 1);
	assert_int_equal(units("-1500m"), -2); /* away from zero */
	assert_int_equal(units("1e-400"), 1);
	assert_int_equal(units("0.000000000000000000000000000000000000000000001"), 1);
	/* More digits than the mantissa keeps still scale correctly. */
	assert_int_equal(units("1000000000000000000000000000000000000000e-30"), 1000000000LL);
	assert_int_equal(units("1000000000000000000000000000000000000001e-30"), 1000000001LL);
}

static void limits(void **state)
{
	int64_t v;
	char err[128];

	(void)state;
	assert_int_equal(units("9223372036854775807"), INT64_MAX);
	assert_int_equal(wk_quantity_parse("9223372036854775808", &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(wk_quantity_parse("8Ei", &v, err, sizeof(err)), -1); /* 2^63 */
	assert_int_equal(milli("9223372036854775"), 9223372036854775000LL);
	/* Fits as units, not as milli-units. */
	assert_int_equal(units("9223372036854776"), 9223372036854776LL);
	assert_int_equal(wk_quantity_parse_milli("9223372036854776", &v, err, sizeof(err)), -1);
}

static void limits_overflow(void **state)
{
	(void)state;
	bad("8Ei", "out of range");
	bad("9223372036854775808", "out of range");
	bad("1e400", "out of range");
	bad("1e99999999999999999999", "out of range");
	bad("99999999999999999999999999999999999999999999999Ei", "out of range");
}

static void malformed(void **state)
{
	char s65[66];

	(void)state;
	bad("", "empty");
	bad("Mi", "no digits");
	bad(".", "no digits");
	bad("-", "no digits");
	bad("1K", "unknown suffix");
	bad("1mi", "unknown suffix");
	bad("1 Gi", "unknown suffix");
	bad(" 1", "no digits");
	bad("1Gi ", "unknown suffix");
	bad("1e", "unknown suffix");
	bad("1e+", "unknown suffix");
	bad("1e3.5", "unknown suffix");
	bad("1..2", "unknown suffix");
	bad("0x10", "unknown suffix");
	bad("1Gi\n", "unknown suffix");
	bad("--1", "no digits");
	/* Cap: 64 bytes parse, 65 are refused before any work. */
	memset(s65, '0', 64);
	s65[63] = '1';
	s65[64] = '\0';
	assert_int_equal(units(s65), 1);
	s65[64] = '1';
	s65[65] = '\0';
	bad(s65, "longer than 64 bytes");
}

/* What metrics-server reports for cpu: nanocores ("n"); "u" is the other small decimal suffix. */
static void nano_micro(void **state)
{
	int64_t v = 7;
	char err[128];

	(void)state;
	assert_int_equal(milli("3250000000n"), 3250);
	assert_int_equal(milli("3500m"), 3500);
	assert_int_equal(milli("1000000n"), 1);
	assert_int_equal(milli("1n"), 1);	/* rounded up, as MilliValue() does */
	assert_int_equal(milli("1999999n"), 2); /* 1.999999m */
	assert_int_equal(milli("-1n"), -1);	/* away from zero */
	assert_int_equal(milli("0n"), 0);
	assert_int_equal(units("250000000n"), 1); /* a quarter core is 1 whole unit rounded up */
	assert_int_equal(units("4000000000n"), 4);
	assert_int_equal(milli("1500u"), 2);
	assert_int_equal(milli("250000u"), 250);
	assert_int_equal(milli("0.5u"), 1);
	/* The largest int64 in nanocores is far from any limit in milli-units. */
	assert_int_equal(milli("9223372036854775807n"), 9223372036855LL);
	assert_int_equal(milli("1.0000000000000000000000000000000000000001n"), 1);
	/* At the cap of int64 milli-units, and one nanocore-million past it. */
	assert_int_equal(milli("9223372036854775807000000n"), INT64_MAX);
	assert_int_equal(
	    wk_quantity_parse_milli("9223372036854775808000000n", &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	bad("1N", "unknown suffix");
	bad("1nn", "unknown suffix");
	bad("1ni", "unknown suffix");
	bad("1U", "unknown suffix");
	bad("n", "no digits");
	bad("1n ", "unknown suffix");
	bad("2e9n", "unknown suffix"); /* an exponent or a suffix, not both */
}

static void format(void **state)
{
	char out[32];

	(void)state;
	wk_quantity_format_bytes(4294967296LL, out, sizeof(out));
	assert_string_equal(out, "4Gi");
	wk_quantity_format_bytes(1610612736LL, out, sizeof(out));
	assert_string_equal(out, "1536Mi");
	wk_quantity_format_bytes(1000, out, sizeof(out));
	assert_string_equal(out, "1000");
	wk_quantity_format_bytes(0, out, sizeof(out));
	assert_string_equal(out, "0");
	wk_quantity_format_bytes(1024, out, sizeof(out));
	assert_string_equal(out, "1Ki");
	wk_quantity_format_bytes(-2048, out, sizeof(out));
	assert_string_equal(out, "-2Ki");
	wk_quantity_format_bytes(INT64_MIN, out, sizeof(out));
	assert_string_equal(out, "-8Ei");
	wk_quantity_format_bytes(4LL << 60, out, sizeof(out));
	assert_string_equal(out, "4Ei");
	wk_quantity_format_milli(500, out, sizeof(out));
	assert_string_equal(out, "500m");
	wk_quantity_format_milli(2000, out, sizeof(out));
	assert_string_equal(out, "2");
	wk_quantity_format_milli(1500, out, sizeof(out));
	assert_string_equal(out, "1500m");
	wk_quantity_format_milli(0, out, sizeof(out));
	assert_string_equal(out, "0");
	/* A short buffer truncates but stays terminated. */
	wk_quantity_format_bytes(1610612736LL, out, 4);
	assert_string_equal(out, "153");
}

static void round_trip(void **state)
{
	static const char *const in[] = {"4Gi", "1536Mi", "1000", "1Ki", "3Ti", "1023"};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < WK_ARRAY_SIZE(in); i++) {
		wk_quantity_format_bytes(units(in[i]), out, sizeof(out));
		assert_string_equal(out, in[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(decimal_and_milli), cmocka_unit_test(binary),
	    cmocka_unit_test(rounding),		 cmocka_unit_test(limits),
	    cmocka_unit_test(limits_overflow),	 cmocka_unit_test(malformed),
	    cmocka_unit_test(nano_micro),	 cmocka_unit_test(format),
	    cmocka_unit_test(round_trip),
	};

	return cmocka_run_group_tests_name("wk_quantity", tests, NULL, NULL);
}
