/* test_ctl_bar.c - progress bars and lines: widths, 0/100/unknown, narrow terminals, plain mode
 * for pipes (no escape sequences), byte and ETA formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/wukongctl/ctl_bar.h"

static void bars(void **state)
{
	char out[64];

	(void)state;
	ctl_bar_render(out, sizeof(out), 10, 0, 0);
	assert_string_equal(out, "[----------]");
	ctl_bar_render(out, sizeof(out), 10, 100, 0);
	assert_string_equal(out, "[##########]");
	ctl_bar_render(out, sizeof(out), 10, 50, 0);
	assert_string_equal(out, "[#####-----]");
	ctl_bar_render(out, sizeof(out), 20, 42, 0);
	assert_string_equal(out, "[########------------]");
	ctl_bar_render(out, sizeof(out), 10, 250, 0); /* clamped */
	assert_string_equal(out, "[##########]");
	/* width clamped to CTL_BAR_MIN..CTL_BAR_MAX */
	ctl_bar_render(out, sizeof(out), 1, 50, 0);
	assert_int_equal(strlen(out), CTL_BAR_MIN + 2);
	ctl_bar_render(out, sizeof(out), 500, 50, 0);
	assert_int_equal(strlen(out), CTL_BAR_MAX + 2);
	/* unknown: a marker that moves with the tick and stays inside */
	ctl_bar_render(out, sizeof(out), 10, -1, 0);
	assert_string_equal(out, "[<=>       ]");
	ctl_bar_render(out, sizeof(out), 10, -1, 3);
	assert_string_equal(out, "[   <=>    ]");
	for (unsigned t = 0; t < 50; t++) {
		ctl_bar_render(out, sizeof(out), 10, -1, t);
		assert_int_equal(strlen(out), 12);
		assert_non_null(strstr(out, "<=>"));
	}
	/* a too-small buffer is still terminated */
	ctl_bar_render(out, 5, 10, 50, 0);
	assert_int_equal(strlen(out), 4);
}

static void units(void **state)
{
	char out[32];

	(void)state;
	ctl_fmt_bytes(0, out, sizeof(out));
	assert_string_equal(out, "0B");
	ctl_fmt_bytes(1023, out, sizeof(out));
	assert_string_equal(out, "1023B");
	ctl_fmt_bytes(1536, out, sizeof(out));
	assert_string_equal(out, "1.5KiB");
	ctl_fmt_bytes(4LL << 30, out, sizeof(out));
	assert_string_equal(out, "4.0GiB");
	ctl_fmt_bytes(200LL << 20, out, sizeof(out));
	assert_string_equal(out, "200MiB");
	ctl_fmt_bytes(INT64_MAX, out, sizeof(out));
	assert_string_equal(out, "8.0EiB");
	ctl_fmt_bytes(-1, out, sizeof(out));
	assert_string_equal(out, "?");
	ctl_fmt_eta(42, out, sizeof(out));
	assert_string_equal(out, "0:42");
	ctl_fmt_eta(3723, out, sizeof(out));
	assert_string_equal(out, "1:02:03");
	ctl_fmt_eta(-1, out, sizeof(out));
	assert_string_equal(out, "--:--");
	ctl_fmt_eta(1e300, out, sizeof(out));
	assert_string_equal(out, "--:--");
	ctl_fmt_eta(0.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "--:--");
}

static void lines(void **state)
{
	struct ctl_progress p;
	char out[512];

	(void)state;
	ctl_progress_init(&p);
	p.phase = "Migrating";
	p.mode = "PreCopy";
	p.percent = 42;
	p.done_bytes = 1717986918; /* 1.6GiB */
	p.total_bytes = 4LL << 30;
	p.rate = 128 << 20;
	p.eta_s = 12;
	ctl_progress_line(&p, 100, 0, out, sizeof(out));
	assert_true(strlen(out) <= 100);
	assert_non_null(strstr(out, "[#"));
	assert_non_null(strstr(out, " 42%"));
	assert_non_null(strstr(out, "1.6GiB/4.0GiB"));
	assert_non_null(strstr(out, "128MiB/s"));
	assert_non_null(strstr(out, "ETA 0:12"));
	assert_non_null(strstr(out, "Migrating (PreCopy)"));
	/* every width fits, narrow ones drop the bar first */
	for (int cols = 1; cols <= 200; cols++) {
		ctl_progress_line(&p, cols, 0, out, sizeof(out));
		assert_true(strlen(out) <= (size_t)cols);
		assert_null(strchr(out, '\x1b'));
	}
	ctl_progress_line(&p, 50, 0, out, sizeof(out));
	assert_null(strchr(out, '['));
	/* the bar never grows past CTL_BAR_MAX */
	ctl_progress_line(&p, 500, 0, out, sizeof(out));
	assert_true(strchr(out, ']') - out <= CTL_BAR_MAX + 1);
	/* unknown progress and no numbers */
	ctl_progress_init(&p);
	ctl_progress_line(&p, 80, 0, out, sizeof(out));
	assert_non_null(strstr(out, "<=>"));
	assert_non_null(strstr(out, "  ?%"));
	assert_non_null(strstr(out, "Pending"));
	assert_non_null(strstr(out, "ETA --:--"));
	/* 0 and 100 */
	p.percent = 0;
	ctl_progress_line(&p, 80, 0, out, sizeof(out));
	assert_non_null(strstr(out, "[---"));
	assert_non_null(strstr(out, "  0%"));
	p.percent = 100;
	p.phase = "Succeeded";
	ctl_progress_line(&p, 80, 0, out, sizeof(out));
	assert_non_null(strstr(out, "##]"));
	assert_non_null(strstr(out, "100%"));
	/* cols 0 = 80 */
	ctl_progress_line(&p, 0, 0, out, sizeof(out));
	assert_true(strlen(out) <= 80);
}

static void plain(void **state)
{
	struct ctl_progress p;
	char out[256];

	(void)state;
	ctl_progress_init(&p);
	ctl_progress_plain(&p, out, sizeof(out));
	assert_string_equal(out, "phase=Pending");
	p.phase = "Migrating";
	p.mode = "PostCopy";
	p.percent = 7;
	p.done_bytes = 1024;
	p.total_bytes = 2048;
	p.rate = 1024;
	p.eta_s = 61;
	ctl_progress_plain(&p, out, sizeof(out));
	assert_string_equal(out, "phase=Migrating mode=PostCopy progress=7% bytes=1.0KiB/2.0KiB "
				 "rate=1.0KiB/s eta=1:01");
	p.percent = 100;
	p.done_bytes = p.total_bytes = -1;
	p.rate = p.eta_s = -1;
	p.mode = NULL;
	ctl_progress_plain(&p, out, sizeof(out));
	assert_string_equal(out, "phase=Migrating progress=100%");
	/* a hostile phase cannot grow the line past its cap */
	p.phase = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	ctl_progress_plain(&p, out, 16);
	assert_int_equal(strlen(out), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bars),
	    cmocka_unit_test(units),
	    cmocka_unit_test(lines),
	    cmocka_unit_test(plain),
	};

	return cmocka_run_group_tests_name("ctl_bar", tests, NULL, NULL);
}
