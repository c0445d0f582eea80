/* ctl_out.c - output formats for every wukongctl command (ctl_out.h): JSONPath, YAML, tables. */
#include "ctl_out.h"

#include "wk_yaml.h"

#include <cjson/cJSON.h>
#include <math.h>

/* ---- JSONPath (the subset kubectl users type) ---- */

struct jp_set {
	const cJSON *v[CTL_JP_MAX_NODES];
	size_t n;
};

static int jp_push(struct jp_set *s, const cJSON *v, char *errstr, size_t errstr_size)
{
	if (s->n == CTL_JP_MAX_NODES)
		return wk_err(errstr, errstr_size, "jsonpath: more than %d values selected",
			      CTL_JP_MAX_NODES);
	s->v[s->n++] = v;
	return 0;
}

/* Evaluate expression [p, end) (".a.b[*]", "$.a", "['a']") from ctx into out. */
static int jp_eval(const char *p, const char *end, const cJSON *ctx, const cJSON *root,
		   struct jp_set *out, char *errstr, size_t errstr_size)
{
	struct jp_set *cur = wk_xcalloc(1, sizeof(*cur)), *next = wk_xcalloc(1, sizeof(*next));
	int rc = -1;

	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if (p < end && *p == '$') {
		ctx = root;
		p++;
	}
	cur->v[cur->n++] = ctx;
	while (p < end) {
		char key[256];
		size_t kn = 0;
		enum { K_KEY, K_ALL, K_IDX } kind = K_KEY;
		long idx = 0;

		next->n = 0;
		if (*p == '.') {
			p++;
			if (p < end && *p == '.') {
				wk_err(errstr, errstr_size, "jsonpath: '..' is not supported");
				goto out;
			}
			if (p < end && *p == '*') {
				kind = K_ALL;
				p++;
			} else {
				while (p < end && *p != '.' && *p != '[' && kn < sizeof(key) - 1)
					key[kn++] = *p++;
				if (!kn) {
					if (p == end)
						break; /* "{.}": the value itself */
					wk_err(errstr, errstr_size, "jsonpath: empty field name");
					goto out;
				}
			}
		} else if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p));

			if (!close) {
				wk_err(errstr, errstr_size, "jsonpath: '[' without ']'");
				goto out;
			}
			p++;
			if (*p == '*' && p + 1 == close) {
				kind = K_ALL;
			} else if (*p == '\'' || *p == '"') {
				char q = *p++;

				while (p < close && *p != q && kn < sizeof(key) - 1)
					key[kn++] = *p++;
				if (p >= close || *p != q) {
					wk_err(errstr, errstr_size, "jsonpath: unterminated quote");
					goto out;
				}
			} else {
				char *e2;

				idx = strtol(p, &e2, 10);
				if (e2 != close || e2 == p) {
					wk_err(
					    errstr, errstr_size,
					    "jsonpath: only [N], [*] and ['name'] are supported");
					goto out;
				}
				kind = K_IDX;
			}
			p = close + 1;
		} else {
			wk_err(errstr, errstr_size, "jsonpath: expected '.' or '[' at '%.20s'", p);
			goto out;
		}
		key[kn] = '\0';
		for (size_t i = 0; i < cur->n; i++) {
			const cJSON *v = cur->v[i], *c;

			if (kind == K_KEY) {
				c = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key)
						      : NULL;
				if (c && jp_push(next, c, errstr, errstr_size) < 0)
					goto out;
			} else if (kind == K_ALL) {
				cJSON_ArrayForEach(c, v) if (jp_push(next, c, errstr, errstr_size) <
							     0) goto out;
			} else if (cJSON_IsArray(v)) {
				int n = cJSON_GetArraySize(v);
				long k = idx < 0 ? n + idx : idx;

				c = k >= 0 && k < n ? cJSON_GetArrayItem(v, (int)k) : NULL;
				if (c && jp_push(next, c, errstr, errstr_size) < 0)
					goto out;
			}
		}
		{
			struct jp_set *t = cur;

			cur = next;
			next = t;
		}
	}
	memcpy(out, cur, sizeof(*out));
	rc = 0;
out:
	free(cur);
	free(next);
	return rc;
}

static void jp_print(const cJSON *v, struct wk_buf *out)
{
	if (cJSON_IsString(v)) {
		(void)!wk_buf_adds(out, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		if (isfinite(v->valuedouble) && fabs(v->valuedouble) < 1e15 &&
		    v->valuedouble == floor(v->valuedouble))
			(void)!wk_buf_addf(out, "%.0f", v->valuedouble);
		else
			(void)!wk_buf_addf(out, "%.17g", v->valuedouble);
	} else {
		char *s = cJSON_PrintUnformatted(v);

		(void)!wk_buf_adds(out, s ? s : "");
		free(s);
	}
}

/* Find the '}' closing the expression that starts after '{' at p (quotes may hold braces). */
static const char *jp_close(const char *p)
{
	char q = 0;

	for (; *p; p++) {
		if (q) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '}') {
			return p;
		}
	}
	return NULL;
}

static int jp_run(const char **tp, const cJSON *ctx, const cJSON *root, int depth, bool in_range,
		  struct wk_buf *out, char *errstr, size_t errstr_size)
{
	const char *t = *tp;

	if (depth > CTL_JP_MAX_DEPTH)
		return wk_err(errstr, errstr_size, "jsonpath: {range} nested more than %d deep",
			      CTL_JP_MAX_DEPTH);
	while (*t) {
		const char *e, *x;

		if (*t != '{') {
			(void)!wk_buf_add(out, t, 1);
			t++;
			continue;
		}
		e = jp_close(t + 1);
		if (!e)
			return wk_err(errstr, errstr_size, "jsonpath: '{' without '}'");
		x = t + 1;
		while (*x == ' ')
			x++;
		if (!strncmp(x, "end", 3) && x + 3 <= e &&
		    strspn(x + 3, " ") == (size_t)(e - x - 3)) {
			if (!in_range)
				return wk_err(errstr, errstr_size,
					      "jsonpath: {end} without {range}");
			*tp = e + 1;
			return 0;
		}
		if (!strncmp(x, "range ", 6)) {
			struct jp_set *s = wk_xcalloc(1, sizeof(*s));
			const char *body = e + 1, *after = NULL;

			if (jp_eval(x + 6, e, ctx, root, s, errstr, errstr_size) < 0) {
				free(s);
				return -1;
			}
			/* The body is run once per value; with none, once into a scratch buffer
			 * to find where it ends. */
			for (size_t i = 0; i < (s->n ? s->n : 1); i++) {
				struct wk_buf scratch;
				const char *b = body;
				int r;

				wk_buf_init(&scratch, 0);
				r = jp_run(&b, s->n ? s->v[i] : ctx, root, depth + 1, true,
					   s->n ? out : &scratch, errstr, errstr_size);
				wk_buf_release(&scratch);
				if (r < 0) {
					free(s);
					return -1;
				}
				after = b;
			}
			free(s);
			if (after == body)
				return wk_err(errstr, errstr_size,
					      "jsonpath: {range} without {end}");
			t = after;
			continue;
		}
		if (*x == '"' || *x == '\'') {
			/* a literal: {"\n"}, {"\t"}, {" "} */
			char q = *x;

			for (x++; x < e && *x != q; x++) {
				char c = *x;

				if (c == '\\' && x + 1 < e) {
					x++;
					c = *x == 'n'	? '\n'
					    : *x == 't' ? '\t'
					    : *x == 'r' ? '\r'
							: *x;
				}
				(void)!wk_buf_add(out, &c, 1);
			}
			t = e + 1;
			continue;
		}
		{
			struct jp_set *s = wk_xcalloc(1, sizeof(*s));

			if (jp_eval(x, e, ctx, root, s, errstr, errstr_size) < 0) {
				free(s);
				return -1;
			}
			for (size_t i = 0; i < s->n; i++) {
				if (i)
					(void)!wk_buf_adds(out, " ");
				jp_print(s->v[i], out);
			}
			free(s);
		}
		t = e + 1;
	}
	if (in_range)
		return wk_err(errstr, errstr_size, "jsonpath: {range} without {end}");
	*tp = t;
	return 0;
}

int ctl_jsonpath(const char *tmpl, const cJSON *v, struct wk_buf *out, char *errstr,
		 size_t errstr_size)
{
	const char *t = tmpl;

	if (!tmpl || strlen(tmpl) > CTL_ARG_MAX)
		return wk_err(errstr, errstr_size, "jsonpath: empty or longer than %d bytes",
			      CTL_ARG_MAX);
	return jp_run(&t, v, v, 0, false, out, errstr, errstr_size);
}

void ctl_json(const cJSON *v, struct wk_buf *out)
{
	char *s = cJSON_Print(v);

	/* kubectl's layout: four spaces a level, `"key": value`. cJSON's raw tabs are only its
	 * formatting (a tab inside a string is written as \t), so they can be replaced. */
	for (const char *p = s ? s : "null"; *p; p++) {
		if (*p != '\t')
			(void)!wk_buf_add(out, p, 1);
		else if (p > s && p[-1] == ':')
			(void)!wk_buf_adds(out, " ");
		else
			(void)!wk_buf_adds(out, "    ");
	}
	(void)!wk_buf_adds(out, "\n");
	free(s);
}

int ctl_out_value(const struct ctl_args *a, const cJSON *v, const char *name_of, FILE *f)
{
	struct wk_buf b;
	char err[256];

	wk_buf_init(&b, 0);
	switch (a->output) {
	case CTL_OUT_YAML:
		wk_yaml_write(v, &b);
		break;
	case CTL_OUT_JSONPATH:
		if (ctl_jsonpath(a->jsonpath, v, &b, err, sizeof(err)) < 0) {
			fprintf(stderr, "wukongctl: %s\n", err);
			wk_buf_release(&b);
			return 2;
		}
		break;
	case CTL_OUT_NAME:
		if (name_of)
			(void)!wk_buf_addf(&b, "%s\n", name_of);
		break;
	default:
		ctl_json(v, &b);
		break;
	}
	fputs(wk_buf_str(&b) ? wk_buf_str(&b) : "", f);
	wk_buf_release(&b);
	return 0;
}

/* ---- tables ---- */

void ctl_trunc_mid(const char *s, size_t w, char *out, size_t out_size)
{
	char clean[CTL_TAB_MAX_CELL];
	size_t n, head, tail;

	if (!out_size)
		return;
	ctl_safe(s ? s : "", clean, sizeof(clean), sizeof(clean) - 5);
	n = strlen(clean);
	if (w >= out_size)
		w = out_size - 1;
	if (n <= w) {
		memcpy(out, clean, n + 1);
		return;
	}
	if (w < 5) {
		memcpy(out, clean, w);
		out[w] = '\0';
		return;
	}
	head = (w - 2) / 3; /* a third from the start, the rest from the end */
	tail = w - 2 - head;
	memcpy(out, clean, head);
	memcpy(out + head, "..", 2);
	memcpy(out + head + 2, clean + n - tail, tail);
	out[w] = '\0';
}

void ctl_tab_init(struct ctl_tab *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < CTL_TAB_MAX_COLS ? ncols : CTL_TAB_MAX_COLS;
	for (size_t i = 0; i < t->ncols; i++)
		t->head[i] = head[i];
}

void ctl_tab_release(struct ctl_tab *t)
{
	free(t->cells);
	free(t->color);
	memset(t, 0, sizeof(*t));
}

size_t ctl_tab_add(struct ctl_tab *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = wk_xrealloc(t->cells, t->cap * sizeof(*t->cells));
		t->color = wk_xrealloc(t->color, t->cap);
	}
	for (size_t i = 0; i < t->ncols; i++)
		ctl_safe(cells[i] ? cells[i] : "", t->cells[t->nrows][i], CTL_TAB_MAX_CELL,
			 CTL_TAB_MAX_CELL - 5);
	t->color[t->nrows] = 0;
	return t->nrows++;
}

static void tab_line(const struct ctl_tab *t, const char *const *cells, const size_t *w,
		     struct wk_buf *out)
{
	char cut[CTL_TAB_MAX_CELL];

	for (size_t i = 0; i < t->ncols; i++) {
		ctl_trunc_mid(cells[i], w[i], cut, sizeof(cut));
		if (i + 1 < t->ncols)
			(void)!wk_buf_addf(out, "%-*s   ", (int)w[i], cut);
		else
			(void)!wk_buf_adds(out, cut);
	}
}

void ctl_tab_render(const struct ctl_tab *t, int cols, bool colour, bool header, struct wk_buf *out)
{
	size_t w[CTL_TAB_MAX_COLS], total = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		w[i] = strlen(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++)
			if (strlen(t->cells[r][i]) > w[i])
				w[i] = strlen(t->cells[r][i]);
		total += w[i] + (i + 1 < t->ncols ? 3 : 0);
	}
	while (cols > 0 && total > (size_t)cols) {
		size_t best = CTL_TAB_MAX_COLS, cut;

		for (size_t i = 0; i < t->ncols; i++)
			if (t->shrink[i] && w[i] > 8 &&
			    (best == CTL_TAB_MAX_COLS || w[i] > w[best]))
				best = i;
		if (best == CTL_TAB_MAX_COLS)
			break;
		cut = total - (size_t)cols;
		if (cut > w[best] - 8)
			cut = w[best] - 8;
		/* shrink the widest a little at a time so that several share the cut */
		if (cut > 4)
			cut = cut / 2 + 1;
		w[best] -= cut;
		total -= cut;
	}
	if (header) {
		tab_line(t, t->head, w, out);
		(void)!wk_buf_adds(out, "\n");
	}
	for (size_t r = 0; r < t->nrows; r++) {
		const char *cells[CTL_TAB_MAX_COLS];

		for (size_t i = 0; i < t->ncols; i++)
			cells[i] = t->cells[r][i];
		if (colour && t->color[r])
			(void)!wk_buf_addf(out, "\033[%dm", t->color[r]);
		tab_line(t, cells, w, out);
		if (colour && t->color[r])
			(void)!wk_buf_adds(out, "\033[0m");
		(void)!wk_buf_adds(out, "\n");
	}
}

void ctl_no_resources(const char *ns, FILE *f)
{
	if (ns)
		fprintf(f, "No resources found in %s namespace.\n", ns);
	else
		fprintf(f, "No resources found\n");
}
