/* test_wk_utf8.c - the strict UTF-8 check: every sequence length, its limits, truncated,
 * overlong, surrogate, out-of-range and empty input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_utf8.h"

#define V(s) wk_utf8_valid(s, sizeof(s) - 1)

static void sequences(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(wk_utf8_seq("a", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(wk_utf8_seq("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(wk_utf8_seq("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(wk_utf8_seq("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	/* limits: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF */
	assert_int_equal(wk_utf8_seq("\xc2\x80", 2, NULL), 2);
	assert_int_equal(wk_utf8_seq("\xdf\xbf", 2, NULL), 2);
	assert_int_equal(wk_utf8_seq("\xe0\xa0\x80", 3, NULL), 3);
	assert_int_equal(wk_utf8_seq("\xef\xbf\xbf", 3, NULL), 3);
	assert_int_equal(wk_utf8_seq("\xf0\x90\x80\x80", 4, NULL), 4);
	assert_int_equal(wk_utf8_seq("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	/* only what n allows is read */
	assert_int_equal(wk_utf8_seq("\xe2\x82\xac", 2, NULL), 0);
	assert_int_equal(wk_utf8_seq("a", 0, NULL), 0);
}

static void invalid(void **state)
{
	(void)state;
	assert_int_equal(wk_utf8_seq("\x80", 1, NULL), 0);	       /* lone continuation */
	assert_int_equal(wk_utf8_seq("\xc0\xaf", 2, NULL), 0);	       /* overlong '/' */
	assert_int_equal(wk_utf8_seq("\xc1\xbf", 2, NULL), 0);	       /* overlong */
	assert_int_equal(wk_utf8_seq("\xe0\x9f\xbf", 3, NULL), 0);     /* overlong U+07FF */
	assert_int_equal(wk_utf8_seq("\xf0\x8f\xbf\xbf", 4, NULL), 0); /* overlong U+FFFF */
	assert_int_equal(wk_utf8_seq("\xed\xa0\x80", 3, NULL), 0);     /* surrogate U+D800 */
	assert_int_equal(wk_utf8_seq("\xed\xbf\xbf", 3, NULL), 0);     /* surrogate U+DFFF */
	assert_int_equal(wk_utf8_seq("\xf4\x90\x80\x80", 4, NULL), 0); /* U+110000 */
	assert_int_equal(wk_utf8_seq("\xf5\x80\x80\x80", 4, NULL), 0);
	assert_int_equal(wk_utf8_seq("\xff", 1, NULL), 0);
	assert_int_equal(wk_utf8_seq("\xc3\x28", 2, NULL), 0); /* bad continuation */
}

static void runs(void **state)
{
	char big[70000];

	(void)state;
	assert_true(wk_utf8_valid("", 0));
	assert_true(wk_utf8_valid(NULL, 0));
	assert_true(V("plain ascii"));
	assert_true(V("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_true(V("a\0b"));		    /* NUL is a character */
	assert_false(V("caf\xc3"));	    /* truncated at the end */
	assert_false(V("\xe2\x82 x"));	    /* truncated in the middle */
	assert_false(V("ok \xed\xa0\x80")); /* surrogate */
	assert_false(V("\xfe\xff"));
	/* a long valid run with one bad byte at the very end */
	for (size_t i = 0; i + 2 <= sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	assert_true(wk_utf8_valid(big, sizeof(big)));
	big[sizeof(big) - 1] = '\x80';
	big[sizeof(big) - 2] = 'x';
	assert_false(wk_utf8_valid(big, sizeof(big)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sequences),
	    cmocka_unit_test(invalid),
	    cmocka_unit_test(runs),
	};

	return cmocka_run_group_tests_name("wk_utf8", tests, NULL, NULL);
}
