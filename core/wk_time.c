/* wk_time.c - RFC 3339 formatting and strict parsing (no locale, no TZ environment). */
#include "wk_time.h"

#include <inttypes.h>
#include <time.h>

#define TIME_MAX_LEN 64 /* longer input is refused before parsing */

int64_t wk_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wk_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for any proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void format_secs(int64_t secs, char *out, size_t out_size, const char *frac)
{
	int64_t days = floor_div(secs, 86400), rem = secs - days * 86400, y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, out_size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d%sZ", y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
}

void wk_time_format(int64_t epoch_ms, char *out, size_t out_size)
{
	format_secs(floor_div(epoch_ms, 1000), out, out_size, "");
}

void wk_time_format_micro(int64_t epoch_us, char *out, size_t out_size)
{
	int64_t secs = floor_div(epoch_us, 1000000);
	char frac[8];

	snprintf(frac, sizeof(frac), ".%06d", (int)(epoch_us - secs * 1000000));
	format_secs(secs, out, out_size, frac);
}

/* n digits at *p as a number, advancing p; -1 if any is not a digit. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

int wk_time_parse_us(const char *s, int64_t *epoch_us)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, off = 0, scale = 100000;
	int64_t frac = 0, secs;

	if (!s || strnlen(s, TIME_MAX_LEN + 1) > TIME_MAX_LEN)
		return -1;
	if ((y = digits(&p, 4)) < 0 || !expect(&p, '-') || (mo = digits(&p, 2)) < 0 ||
	    !expect(&p, '-') || (d = digits(&p, 2)) < 0)
		return -1;
	if (*p != 'T' && *p != 't')
		return -1;
	p++;
	if ((h = digits(&p, 2)) < 0 || !expect(&p, ':') || (mi = digits(&p, 2)) < 0 ||
	    !expect(&p, ':') || (sec = digits(&p, 2)) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		/* Any number of digits; precision beyond microseconds is truncated. */
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if ((oh = digits(&p, 2)) < 0 || !expect(&p, ':') || (om = digits(&p, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	secs =
	    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*epoch_us = secs * 1000000 + frac;
	return 0;
}

int wk_time_parse_ms(const char *s, int64_t *epoch_ms)
{
	int64_t us;

	if (wk_time_parse_us(s, &us) < 0)
		return -1;
	*epoch_ms = floor_div(us, 1000);
	return 0;
}
