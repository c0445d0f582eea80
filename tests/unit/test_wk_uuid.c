/* test_wk_uuid.c - random UUIDs: form, version and variant, no repeats; the form check on empty,
 * short, long and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_uuid.h"

static void form(void **state)
{
	char a[WK_UUID_LEN + 1], b[WK_UUID_LEN + 1];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		wk_uuid_v4(a);
		assert_int_equal(strlen(a), WK_UUID_LEN);
		assert_true(wk_uuid_is_valid(a));
		assert_int_equal(a[14], '4');		/* version */
		assert_non_null(strchr("89ab", a[19])); /* variant */
		for (const char *p = a; *p; p++)
			assert_true(*p == '-' || (*p >= '0' && *p <= '9') ||
				    (*p >= 'a' && *p <= 'f'));
		wk_uuid_v4(b);
		assert_string_not_equal(a, b);
	}
}

static void check(void **state)
{
	(void)state;
	assert_true(wk_uuid_is_valid("123e4567-e89b-12d3-a456-426614174000"));
	assert_true(wk_uuid_is_valid("123E4567-E89B-12D3-A456-426614174000"));
	assert_false(wk_uuid_is_valid(NULL));
	assert_false(wk_uuid_is_valid(""));
	assert_false(wk_uuid_is_valid("123e4567-e89b-12d3-a456-42661417400"));	 /* short */
	assert_false(wk_uuid_is_valid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
	assert_false(wk_uuid_is_valid("123e4567ae89b-12d3-a456-426614174000"));	 /* dash moved */
	assert_false(wk_uuid_is_valid("123e4567-e89b-12d3-a456-42661417400g"));
	assert_false(wk_uuid_is_valid("123e4567-e89b-12d3-a456-4266141740\n0"));
	assert_false(wk_uuid_is_valid("------------------------------------"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(form),
	    cmocka_unit_test(check),
	};

	return cmocka_run_group_tests_name("wk_uuid", tests, NULL, NULL);
}
