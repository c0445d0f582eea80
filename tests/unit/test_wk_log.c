/* test_wk_log.c - log lines are JSON, levelled, and never carry a secret. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <unistd.h>

#include "wk_log.h"
#include "wk_buf.h"

static char *capture(void (*fn)(void))
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	wk_log_set_stream(f);
	fn();
	wk_log_set_stream(NULL);
	fclose(f);
	return out;
}

static void emit_info(void)
{
	wk_logk(WK_LOG_INFO, "c1/default/vm1", "migration \"%s\" started\non node %s", "m1", "n2");
}

static void line_is_json_with_fields(void **state)
{
	char *out;
	cJSON *j;

	(void)state;
	wk_log_init("test-svc", WK_LOG_INFO);
	out = capture(emit_info);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* exactly one line */
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "info");
	assert_string_equal(cJSON_GetObjectItem(j, "svc")->valuestring, "test-svc");
	assert_string_equal(cJSON_GetObjectItem(j, "key")->valuestring, "c1/default/vm1");
	assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring,
			    "migration \"m1\" started\non node n2");
	assert_non_null(cJSON_GetObjectItem(j, "ts"));
	cJSON_Delete(j);
	free(out);
}

static void emit_debug(void)
{
	wk_debug("hidden %d", 1);
}

static void level_filters(void **state)
{
	char *out;

	(void)state;
	wk_log_init(NULL, WK_LOG_INFO);
	out = capture(emit_debug);
	assert_string_equal(out, "");
	free(out);
}

static void emit_secret(void)
{
	wk_info("sending Authorization: Bearer abc.def-ghi to server; sasl pw s3cr3t-pass here");
}

static void secrets_redacted(void **state)
{
	char *out;
	cJSON *j;

	(void)state;
	wk_log_init(NULL, WK_LOG_INFO);
	wk_log_add_secret("s3cr3t-pass");
	out = capture(emit_secret);
	assert_null(strstr(out, "abc.def-ghi"));
	assert_null(strstr(out, "s3cr3t-pass"));
	assert_non_null(strstr(out, "[REDACTED]"));
	j = cJSON_Parse(out);
	assert_non_null(j);
	cJSON_Delete(j);
	wk_log_clear_secrets();
	free(out);
}

static char *huge;
static void emit_huge(void)
{
	wk_info("%s", huge);
}

static void oversized_and_control_chars(void **state)
{
	char *out;
	cJSON *j;

	(void)state;
	huge = malloc(100000);
	memset(huge, 'x', 99999);
	huge[99999] = '\0';
	huge[10] = '\x01';
	huge[20] = '"';
	out = capture(emit_huge);
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_true(strlen(out) < 20000);
	cJSON_Delete(j);
	free(out);
	free(huge);
}

/* Issue 22 fault 4: a "Bearer " token starting at any place near the end of the 8 KiB message
 * buffer (the size arithmetic underflowed: a negative-size memmove past the stack buffer). */
static size_t near_end_pad;
static void emit_near_end(void)
{
	char *m = malloc(near_end_pad + 64);

	memset(m, 'x', near_end_pad);
	strcpy(m + near_end_pad, " Bearer tok-abcdefghijklmnopqrstuvwxyz");
	wk_info("%s", m);
	free(m);
}

static void bearer_near_buffer_end(void **state)
{
	(void)state;
	wk_log_init(NULL, WK_LOG_INFO);
	for (near_end_pad = 8120; near_end_pad < 8200; near_end_pad++) {
		char *out = capture(emit_near_end);
		cJSON *j = cJSON_Parse(out);

		assert_non_null(j);
		assert_null(strstr(out, "tok-abcdefghijklmnopqrstuvwxyz"));
		assert_null(strstr(out, "tok-abcdefgh"));
		cJSON_Delete(j);
		free(out);
	}
}

/* A secret equal to its own mask ("********"), or to the mark, looped forever holding the log
 * mutex. SIGALRM ends the test if it does. */
static const char *mask_msg;
static void emit_mask(void)
{
	wk_info("%s", mask_msg);
}

static void secret_equal_to_its_mask(void **state)
{
	static const char *const secrets[] = {"********", "[REDACTED]", "****", "*****x**"};
	char *out;

	(void)state;
	wk_log_init(NULL, WK_LOG_INFO);
	alarm(10);
	for (size_t i = 0; i < WK_ARRAY_SIZE(secrets); i++) {
		wk_log_add_secret(secrets[i]);
		mask_msg = secrets[i];
		out = capture(emit_mask);
		assert_non_null(strstr(out, "\"msg\":\""));
		free(out);
	}
	mask_msg = "a ******** b [REDACTED] c *****x** d";
	out = capture(emit_mask);
	assert_null(strstr(out, "*****x**"));
	free(out);
	alarm(0);
	wk_log_clear_secrets();
}

/* The registry silently stopped at 32 secrets (rotated tokens beyond that were logged in clear):
 * the most recent ones are always redacted, the oldest are replaced with a warning. */
static char reg_msg[64];
static void emit_reg(void)
{
	wk_info("token %s here", reg_msg);
}

static void secret_registry_keeps_newest(void **state)
{
	char *out;

	(void)state;
	wk_log_init(NULL, WK_LOG_INFO);
	for (int i = 0; i < 500; i++) {
		snprintf(reg_msg, sizeof(reg_msg), "rotated-token-%04d", i);
		wk_log_add_secret(reg_msg);
		out = capture(emit_reg);
		if (strstr(out, reg_msg))
			fail_msg("secret #%d logged in clear: %s", i, out);
		free(out);
	}
	/* The last 32 are all still known. */
	for (int i = 500 - 32; i < 500; i++) {
		snprintf(reg_msg, sizeof(reg_msg), "rotated-token-%04d", i);
		out = capture(emit_reg);
		assert_null(strstr(out, reg_msg));
		free(out);
	}
	wk_log_clear_secrets();
}

static void level_names(void **state)
{
	enum wk_log_level l;

	(void)state;
	assert_int_equal(wk_log_level_parse("WARN", &l), 0);
	assert_int_equal(l, WK_LOG_WARN);
	assert_int_equal(wk_log_level_parse("debug", &l), 0);
	assert_int_equal(l, WK_LOG_DEBUG);
	assert_int_equal(wk_log_level_parse("loud", &l), -1);
	assert_int_equal(wk_log_level_parse("", &l), -1);
}

static void buf_cap(void **state)
{
	struct wk_buf b;
	char *p;
	size_t n;

	(void)state;
	wk_buf_init(&b, 8);
	assert_int_equal(wk_buf_adds(&b, "12345678"), 0);
	assert_int_equal(wk_buf_adds(&b, "9"), -1);
	assert_string_equal(wk_buf_str(&b), "12345678");
	wk_buf_consume(&b, 3);
	assert_string_equal(wk_buf_str(&b), "45678");
	assert_int_equal(wk_buf_addf(&b, "%d", 123), 0);
	assert_int_equal(wk_buf_addf(&b, "%d", 4), -1);
	p = wk_buf_take(&b, &n);
	assert_int_equal(n, 8);
	assert_string_equal(p, "45678123");
	free(p);
	assert_string_equal(wk_buf_str(&b), "");
	wk_buf_release(&b);
	wk_buf_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_is_json_with_fields),
		cmocka_unit_test(level_filters),
		cmocka_unit_test(secrets_redacted),
		cmocka_unit_test(bearer_near_buffer_end),
		cmocka_unit_test(secret_equal_to_its_mask),
		cmocka_unit_test(secret_registry_keeps_newest),
		cmocka_unit_test(oversized_and_control_chars),
		cmocka_unit_test(level_names),
		cmocka_unit_test(buf_cap),
	};
	return cmocka_run_group_tests_name("wk_log", tests, NULL, NULL);
}
