/* test_wk_name.c - DNS-1123 label and subdomain checks, including hostile names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_name.h"

static char *repeat(char c, size_t n)
{
	char *s = wk_xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void valid_labels(void **state)
{
	(void)state;
	assert_true(wk_name_is_dns1123_label("a"));
	assert_true(wk_name_is_dns1123_label("vm-1"));
	assert_true(wk_name_is_dns1123_label("0abc9"));
	assert_true(wk_name_is_dns1123_label("kube-system"));
}

static void invalid_labels(void **state)
{
	char err[128];

	(void)state;
	assert_false(wk_name_is_dns1123_label(""));
	assert_false(wk_name_is_dns1123_label(NULL));
	assert_false(wk_name_is_dns1123_label("-a"));
	assert_false(wk_name_is_dns1123_label("a-"));
	assert_false(wk_name_is_dns1123_label("A"));
	assert_false(wk_name_is_dns1123_label("a.b"));
	assert_false(wk_name_is_dns1123_label("a_b"));
	assert_false(wk_name_is_dns1123_label("a b"));
	assert_int_equal(wk_name_check_label("Vm", err, sizeof(err)), -1);
	assert_string_equal(
	    err, "invalid name 'Vm': must start with a lower case alphanumeric character");
	assert_int_equal(wk_name_check_label("a.b", err, sizeof(err)), -1);
	assert_string_equal(err, "invalid name 'a.b': must consist of lower case alphanumeric "
				 "characters or '-'");
}

static void label_cap(void **state)
{
	char *s63 = repeat('a', 63), *s64 = repeat('a', 64), err[128];

	(void)state;
	assert_true(wk_name_is_dns1123_label(s63));
	assert_int_equal(wk_name_check_label(s64, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no more than 63"));
	free(s63);
	free(s64);
}

static void subdomains(void **state)
{
	char *s253 = repeat('a', 253), *s254 = repeat('a', 254), err[256];

	(void)state;
	assert_true(wk_name_is_dns1123_subdomain("a.b.c"));
	assert_true(wk_name_is_dns1123_subdomain("vm.novasphere.dev"));
	assert_true(wk_name_is_dns1123_subdomain("my-vm-1"));
	assert_true(wk_name_is_dns1123_subdomain(s253));
	assert_false(wk_name_is_dns1123_subdomain(s254));
	assert_false(wk_name_is_dns1123_subdomain(""));
	assert_false(wk_name_is_dns1123_subdomain("a..b"));
	assert_false(wk_name_is_dns1123_subdomain("a.-b"));
	assert_false(wk_name_is_dns1123_subdomain("a-.b"));
	assert_false(wk_name_is_dns1123_subdomain(".a"));
	assert_false(wk_name_is_dns1123_subdomain("a."));
	assert_int_equal(wk_name_check_subdomain(s254, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no more than 253"));
	/* The echoed name is truncated so an error line stays short. */
	assert_non_null(strstr(err, "..."));
	assert_true(strlen(err) < 160);
	free(s253);
	free(s254);
}

static void hostile(void **state)
{
	char err[128];

	(void)state;
	assert_false(wk_name_is_dns1123_subdomain("../etc/passwd"));
	assert_false(wk_name_is_dns1123_subdomain("a/b"));
	assert_false(wk_name_is_dns1123_subdomain("a%2fb"));
	assert_false(wk_name_is_dns1123_subdomain("a\nb"));
	assert_false(wk_name_is_dns1123_label("a\xc3\xa9"));
	assert_false(wk_name_is_dns1123_subdomain("a?b=c"));
	assert_int_equal(wk_name_check_subdomain("a\nb", err, sizeof(err)), -1);
	/* Control characters never reach a log line. */
	assert_null(strchr(err, '\n'));
	/* A tiny error buffer is still terminated. */
	assert_int_equal(wk_name_check_subdomain("..", err, 5), -1);
	assert_int_equal(strlen(err), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_labels), cmocka_unit_test(invalid_labels),
	    cmocka_unit_test(label_cap),    cmocka_unit_test(subdomains),
	    cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests_name("wk_name", tests, NULL, NULL);
}
