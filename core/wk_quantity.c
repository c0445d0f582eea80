/* wk_quantity.c - Kubernetes resource.Quantity parsing with exact integer arithmetic.
 *
 * Grammar (k8s.io/apimachinery/pkg/api/resource): [+-] digits [. digits] suffix, where suffix is
 * one of Ki Mi Gi Ti Pi Ei, n u m "" k M G T P E (n: the nanocores metrics-server reports), or
 * e/E followed by a signed integer exponent. The value is mantissa * 2^b * 10^e computed in 128
 * bits; anything that does not fit int64 after scaling is an overflow. Like Quantity.Value()/
 * MilliValue(), a fractional result is rounded up, away from zero. Input is capped at 64 bytes
 * (no real quantity is longer).
 */
#include "wk_quantity.h"

#include <inttypes.h>

#define QUANTITY_MAX_LEN 64
#define MANTISSA_DIGITS 36 /* keeps the mantissa far below the 128-bit limit */
#define EXP_MAX 400

typedef unsigned __int128 u128;

static const u128 LIMIT = (u128)1 << 126;

struct parsed {
	bool neg;
	u128 mantissa;
	int digits;   /* significant digits kept in mantissa */
	bool dropped; /* a non-zero digit did not fit the mantissa */
	int exp10;
	int exp2;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void add_digit(struct parsed *p, char c, bool fraction)
{
	if (p->mantissa == 0 && c == '0') {
		if (fraction)
			p->exp10--;
		return;
	}
	if (p->digits < MANTISSA_DIGITS) {
		p->mantissa = p->mantissa * 10 + (unsigned)(c - '0');
		p->digits++;
		if (fraction)
			p->exp10--;
		return;
	}
	/* Out of precision: an integer digit still scales the value, a fraction digit does not. */
	if (c != '0')
		p->dropped = true;
	if (!fraction)
		p->exp10++;
}

static int parse_suffix(const char *s, struct parsed *p)
{
	static const struct {
		const char *name;
		int exp2, exp10;
	} suffixes[] = {
	    {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0},
	    {"Pi", 50, 0}, {"Ei", 60, 0}, {"n", 0, -9},	 {"u", 0, -6},
	    {"m", 0, -3},  {"", 0, 0},	  {"k", 0, 3},	 {"M", 0, 6},
	    {"G", 0, 9},   {"T", 0, 12},  {"P", 0, 15},	 {"E", 0, 18},
	};
	size_t i;

	for (i = 0; i < WK_ARRAY_SIZE(suffixes); i++) {
		if (strcmp(s, suffixes[i].name) == 0) {
			p->exp2 += suffixes[i].exp2;
			p->exp10 += suffixes[i].exp10;
			return 0;
		}
	}
	if (s[0] == 'e' || s[0] == 'E') {
		bool neg = false;
		int e = 0;

		s++;
		if (*s == '+' || *s == '-')
			neg = *s++ == '-';
		if (!is_digit(*s))
			return -1;
		for (; is_digit(*s); s++) {
			if (e < EXP_MAX * 10)
				e = e * 10 + (*s - '0');
		}
		if (*s)
			return -1;
		p->exp10 += neg ? -e : e;
		return 0;
	}
	return -1;
}

/* Scale the parsed quantity by 10^scale into *out (rounded up away from zero). */
static int scale_to(const struct parsed *pp, int scale, int64_t *out)
{
	struct parsed p = *pp;
	u128 m;

	p.exp10 += scale;
	m = p.mantissa;
	if (m == 0 && !p.dropped) {
		*out = 0;
		return 0;
	}
	if (p.exp10 > EXP_MAX)
		return -1;
	while (p.exp2 > 0) {
		if (m >= LIMIT / 2) {
			if (p.exp10 >= 0)
				return -1;
			p.dropped |= m % 10 != 0;
			m /= 10;
			p.exp10++;
			continue;
		}
		m *= 2;
		p.exp2--;
	}
	while (p.exp10 > 0) {
		if (m >= LIMIT / 10)
			return -1;
		m *= 10;
		p.exp10--;
	}
	while (p.exp10 < 0 && m) {
		p.dropped |= m % 10 != 0;
		m /= 10;
		p.exp10++;
	}
	if (p.dropped)
		m++;
	if (m > (u128)INT64_MAX)
		return -1;
	*out = p.neg ? -(int64_t)m : (int64_t)m;
	return 0;
}

static int parse(const char *s, int scale, int64_t *out, char *errstr, size_t errstr_size)
{
	struct parsed p = {0};
	const char *q;
	size_t len;
	bool any = false;

	if (!s || !*s)
		return wk_err(errstr, errstr_size, "invalid quantity '': empty");
	len = strnlen(s, QUANTITY_MAX_LEN + 1);
	if (len > QUANTITY_MAX_LEN)
		return wk_err(errstr, errstr_size,
			      "invalid quantity '%.20s...': longer than %d bytes", s,
			      QUANTITY_MAX_LEN);
	q = s;
	if (*q == '+' || *q == '-')
		p.neg = *q++ == '-';
	for (; is_digit(*q); q++) {
		add_digit(&p, *q, false);
		any = true;
	}
	if (*q == '.') {
		for (q++; is_digit(*q); q++) {
			add_digit(&p, *q, true);
			any = true;
		}
	}
	if (!any)
		return wk_err(errstr, errstr_size, "invalid quantity '%s': no digits", s);
	if (parse_suffix(q, &p) < 0)
		return wk_err(errstr, errstr_size, "invalid quantity '%s': unknown suffix '%s'", s,
			      q);
	if (scale_to(&p, scale, out) < 0)
		return wk_err(errstr, errstr_size, "invalid quantity '%s': out of range", s);
	return 0;
}

int wk_quantity_parse_milli(const char *s, int64_t *milli, char *errstr, size_t errstr_size)
{
	return parse(s, 3, milli, errstr, errstr_size);
}

int wk_quantity_parse(const char *s, int64_t *value, char *errstr, size_t errstr_size)
{
	return parse(s, 0, value, errstr, errstr_size);
}

void wk_quantity_format_bytes(int64_t bytes, char *out, size_t out_size)
{
	static const char *const suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	/* Work on the magnitude as unsigned so INT64_MIN has one. */
	uint64_t mag = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
	size_t k = 0;

	while (mag && k + 1 < WK_ARRAY_SIZE(suffix) && mag % 1024 == 0) {
		mag /= 1024;
		k++;
	}
	snprintf(out, out_size, "%s%" PRIu64 "%s", bytes < 0 ? "-" : "", mag, suffix[k]);
}

void wk_quantity_format_milli(int64_t milli, char *out, size_t out_size)
{
	if (milli % 1000 == 0)
		snprintf(out, out_size, "%" PRId64, milli / 1000);
	else
		snprintf(out, out_size, "%" PRId64 "m", milli);
}
