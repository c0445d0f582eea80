/* wk_promtext.c - Prometheus text format parser with caps. */
#include "wk_promtext.h"

#include <errno.h>
#include <math.h>

struct pctx {
	struct wk_promtext_limits lim;
	char *scratch; /* unescaped names and values of the current line */
	struct wk_promtext_label *labels;
};

const char *wk_promtext_label(const struct wk_promtext_sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

static bool name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool name_char(char c, bool colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Copy a name at *pp into *out (scratch), advancing both; -1 when empty or too long. */
static int take_name(const char **pp, const char *end, char **out, size_t max, bool colon,
		     const char **name)
{
	const char *p = *pp;
	size_t n = 0;

	if (p >= end || !name_start(*p, colon))
		return -1;
	while (p + n < end && name_char(p[n], colon))
		n++;
	if (n > max)
		return -2;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	*name = *out;
	*out += n + 1;
	*pp = p + n;
	return 0;
}

/* A token ending at whitespace or end of line, copied NUL-terminated into buf. */
static int take_token(const char **pp, const char *end, char *buf, size_t size)
{
	const char *p = *pp;
	size_t n = 0;

	while (p + n < end && p[n] != ' ' && p[n] != '\t')
		n++;
	if (n == 0 || n >= size)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*pp = p + n;
	return 0;
}

static int parse_value(const char *tok, double *v)
{
	char *e;

	/* Go's ParseFloat spellings Prometheus writes; strtod alone would take "nan(...)" too */
	if (!strcmp(tok, "NaN")) {
		*v = NAN;
		return 0;
	}
	if (!strcmp(tok, "+Inf") || !strcmp(tok, "Inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!strcmp(tok, "-Inf")) {
		*v = -INFINITY;
		return 0;
	}
	for (const char *c = tok; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' || *c == 'E' ||
		      *c == '+' || *c == '-'))
			return -1;
	errno = 0;
	*v = strtod(tok, &e);
	if (*e || e == tok)
		return -1;
	return 0; /* overflow gives +-HUGE_VAL (Inf), as Go's ParseFloat does */
}

static int parse_ts(const char *tok, int64_t *ts)
{
	char *e;
	long long v;

	for (const char *c = tok; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (c == tok && *c == '-')))
			return -1;
	errno = 0;
	v = strtoll(tok, &e, 10);
	if (errno || *e || e == tok)
		return -1;
	*ts = v;
	return 0;
}

/* One sample line (no newline); 0, or -1 with the reason. */
static int parse_line(struct pctx *c, const char *p, const char *end, struct wk_promtext_sample *s,
		      char *why, size_t why_size)
{
	char *out = c->scratch, tok[128];
	int rc;

	memset(s, 0, sizeof(*s));
	s->labels = c->labels;
	rc = take_name(&p, end, &out, c->lim.max_name, true, &s->name);
	if (rc < 0)
		return wk_err(why, why_size,
			      rc == -2 ? "metric name longer than %zu bytes"
				       : "expected a metric name",
			      c->lim.max_name);
	p = skip_ws(p, end);
	if (p < end && *p == '{') {
		p++;
		for (;;) {
			struct wk_promtext_label *l;
			size_t n = 0;

			p = skip_ws(p, end);
			if (p < end && *p == '}') {
				p++;
				break;
			}
			if (s->nlabels >= c->lim.max_labels)
				return wk_err(why, why_size, "more than %zu labels",
					      c->lim.max_labels);
			l = &c->labels[s->nlabels];
			rc = take_name(&p, end, &out, c->lim.max_name, false, &l->name);
			if (rc < 0)
				return wk_err(why, why_size,
					      rc == -2 ? "label name longer than %zu bytes"
						       : "expected a label name",
					      c->lim.max_name);
			for (size_t i = 0; i < s->nlabels; i++)
				if (!strcmp(c->labels[i].name, l->name))
					return wk_err(why, why_size, "duplicate label '%s'",
						      l->name);
			p = skip_ws(p, end);
			if (p >= end || *p != '=')
				return wk_err(why, why_size, "expected '=' after label '%s'",
					      l->name);
			p = skip_ws(p + 1, end);
			if (p >= end || *p != '"')
				return wk_err(why, why_size, "expected '\"' for label '%s'",
					      l->name);
			p++;
			l->value = out;
			for (;;) {
				char ch;

				if (p >= end)
					return wk_err(why, why_size,
						      "unterminated value of label '%s'", l->name);
				ch = *p++;
				if (ch == '"')
					break;
				if (ch == '\\') {
					if (p >= end)
						return wk_err(why, why_size,
							      "unterminated value of label '%s'",
							      l->name);
					ch = *p++;
					if (ch == 'n')
						ch = '\n';
					else if (ch != '\\' && ch != '"')
						return wk_err(why, why_size,
							      "bad escape '\\%c' in label '%s'", ch,
							      l->name);
				}
				if (n >= c->lim.max_value)
					return wk_err(why, why_size,
						      "value of label '%s' longer than %zu bytes",
						      l->name, c->lim.max_value);
				out[n++] = ch;
			}
			out[n] = '\0';
			out += n + 1;
			s->nlabels++;
			p = skip_ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			return wk_err(why, why_size, "expected ',' or '}' after label '%s'",
				      l->name);
		}
	}
	p = skip_ws(p, end);
	if (take_token(&p, end, tok, sizeof(tok)) < 0 || parse_value(tok, &s->value) < 0)
		return wk_err(why, why_size, "bad or missing value for '%s'", s->name);
	p = skip_ws(p, end);
	if (p < end) {
		if (take_token(&p, end, tok, sizeof(tok)) < 0 ||
		    parse_ts(tok, &s->timestamp_ms) < 0)
			return wk_err(why, why_size, "bad timestamp for '%s'", s->name);
		s->has_timestamp = true;
		p = skip_ws(p, end);
		if (p < end)
			return wk_err(why, why_size, "trailing characters after '%s'", s->name);
	}
	return 0;
}

long wk_promtext_parse(const char *text, size_t len, const struct wk_promtext_limits *lim,
		       wk_promtext_cb *cb, void *opaque, char *errstr, size_t errstr_size)
{
	struct pctx c;
	const char *p = text, *end = text + len;
	long nsamples = 0, lineno = 0;
	char why[256];
	long rc = 0;

	memset(&c, 0, sizeof(c));
	if (lim)
		c.lim = *lim;
#define DEF(f, v)                                                                                  \
	if (!c.lim.f)                                                                              \
	c.lim.f = (v)
	DEF(max_body, WK_PROMTEXT_MAX_BODY);
	DEF(max_line, WK_PROMTEXT_MAX_LINE);
	DEF(max_name, WK_PROMTEXT_MAX_NAME);
	DEF(max_value, WK_PROMTEXT_MAX_VALUE);
	DEF(max_labels, WK_PROMTEXT_MAX_LABELS);
	DEF(max_samples, WK_PROMTEXT_MAX_SAMPLES);
#undef DEF
	if (len > c.lim.max_body)
		return wk_err(errstr, errstr_size,
			      "metrics body of %zu bytes is over the cap (%zu)", len,
			      c.lim.max_body);
	if (len && memchr(text, '\0', len))
		return wk_err(errstr, errstr_size, "metrics body contains a NUL byte");
	/* every unescaped string of a line is shorter than the line, plus its NUL */
	c.scratch = wk_xmalloc(c.lim.max_line + 2 * c.lim.max_labels + 2);
	c.labels = wk_xcalloc(c.lim.max_labels, sizeof(*c.labels));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q;
		struct wk_promtext_sample s;

		lineno++;
		if ((size_t)(le - p) > c.lim.max_line) {
			rc = wk_err(errstr, errstr_size, "line %ld: longer than %zu bytes", lineno,
				    c.lim.max_line);
			goto out;
		}
		if (le > p && le[-1] == '\r')
			le--; /* tolerate CRLF */
		q = skip_ws(p, le);
		if (q < le && *q != '#') {
			if (parse_line(&c, q, le, &s, why, sizeof(why)) < 0) {
				rc = wk_err(errstr, errstr_size, "line %ld: %s", lineno, why);
				goto out;
			}
			if ((size_t)nsamples >= c.lim.max_samples) {
				rc = wk_err(errstr, errstr_size, "line %ld: more than %zu samples",
					    lineno, c.lim.max_samples);
				goto out;
			}
			nsamples++;
			if (cb && cb(&s, opaque)) {
				rc = wk_err(errstr, errstr_size, "line %ld: stopped by the caller",
					    lineno);
				goto out;
			}
		}
		p = nl ? nl + 1 : end;
	}
	rc = nsamples;
out:
	free(c.scratch);
	free(c.labels);
	return rc;
}
