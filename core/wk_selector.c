/* wk_selector.c - label selectors (string and LabelSelector forms) and field selectors, with
 * the semantics and validation rules of k8s.io/apimachinery/pkg/labels and pkg/fields. */
#include "wk_selector.h"
#include "wk_buf.h"
#include "wk_json.h"
#include "wk_log.h"

#include <cjson/cJSON.h>

#define SELECTOR_MAX_LEN 4096
#define MAX_REQS 64
#define MAX_VALUES 64
#define LABEL_NAME_MAX 63
#define LABEL_PREFIX_MAX 253

enum op { OP_EQ, OP_NEQ, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOT_EXISTS };

struct req {
	char *key;
	enum op op;
	char **values;
	size_t nvalues;
};

struct wk_selector {
	struct req *reqs;
	size_t n;
};

/* ---- validation (k8s IsQualifiedName / IsValidLabelValue) ---- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63; empty allowed only if allow_empty. */
static const char *check_name_part(const char *s, size_t len, bool allow_empty)
{
	size_t i;

	if (len == 0)
		return allow_empty ? NULL : "name part must not be empty";
	if (len > LABEL_NAME_MAX)
		return "must be no more than 63 characters";
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return "must start and end with an alphanumeric character";
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "must consist of alphanumeric characters, '-', '_' or '.'";
	}
	return NULL;
}

static const char *check_prefix(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return "prefix part must not be empty";
	if (len > LABEL_PREFIX_MAX)
		return "prefix part must be no more than 253 characters";
	for (i = 0; i < len; i++) {
		char c = s[i];
		bool edge = i == 0 || i == len - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if ((c == '-' && !edge) || (c == '.' && i > 0 && i < len - 1 && s[i - 1] != '.'))
			continue;
		return "prefix part must be a lower case DNS-1123 subdomain";
	}
	return NULL;
}

static int check_key(const char *key, char *errstr, size_t errstr_size)
{
	const char *slash = strchr(key, '/'), *why;

	if (slash) {
		why = check_prefix(key, (size_t)(slash - key));
		if (!why)
			why = check_name_part(slash + 1, strlen(slash + 1), false);
	} else {
		why = check_name_part(key, strlen(key), false);
	}
	if (why)
		return wk_err(errstr, errstr_size, "invalid label key '%.80s': %s", key, why);
	return 0;
}

static int check_value(const char *v, char *errstr, size_t errstr_size)
{
	const char *why = check_name_part(v, strlen(v), true);

	if (why)
		return wk_err(errstr, errstr_size, "invalid label value '%.80s': %s", v, why);
	return 0;
}

/* ---- selector construction ---- */

static void req_release(struct req *r)
{
	size_t i;

	free(r->key);
	for (i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

void wk_selector_destroy(struct wk_selector *sel)
{
	size_t i;

	if (!sel)
		return;
	for (i = 0; i < sel->n; i++)
		req_release(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

static struct req *add_req(struct wk_selector *sel, char *errstr, size_t errstr_size)
{
	struct req *r;

	if (sel->n >= MAX_REQS) {
		wk_err(errstr, errstr_size, "invalid selector: more than %d requirements",
		       MAX_REQS);
		return NULL;
	}
	if (!sel->reqs)
		sel->reqs = wk_xcalloc(MAX_REQS, sizeof(*sel->reqs));
	r = &sel->reqs[sel->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

static int add_value(struct req *r, const char *v, size_t len, char *errstr, size_t errstr_size)
{
	char *copy;

	if (r->nvalues >= MAX_VALUES)
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%s' has more than %d values", r->key,
			      MAX_VALUES);
	copy = wk_xstrndup(v, len);
	if (check_value(copy, errstr, errstr_size) < 0) {
		free(copy);
		return -1;
	}
	if (!r->values)
		r->values = wk_xcalloc(MAX_VALUES, sizeof(char *));
	r->values[r->nvalues++] = copy;
	return 0;
}

/* ---- string form: a small lexer as in k8s labels/selector.go ---- */

enum tok { T_END, T_IDENT, T_NOT, T_EQ, T_DEQ, T_NEQ, T_OPEN, T_CLOSE, T_COMMA, T_BAD };

struct lexer {
	const char *p;
	const char *text; /* T_IDENT: start */
	size_t len;
};

static bool is_special(char c)
{
	return c == '!' || c == '=' || c == ',' || c == '(' || c == ')' || c == '<' || c == '>';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static enum tok lex(struct lexer *lx)
{
	const char *p = lx->p;

	while (is_space(*p))
		p++;
	lx->text = p;
	if (!*p) {
		lx->p = p;
		return T_END;
	}
	lx->len = 1;
	switch (*p) {
	case '!':
		if (p[1] == '=') {
			lx->p = p + 2;
			return T_NEQ;
		}
		lx->p = p + 1;
		return T_NOT;
	case '=':
		if (p[1] == '=') {
			lx->p = p + 2;
			return T_DEQ;
		}
		lx->p = p + 1;
		return T_EQ;
	case '(':
		lx->p = p + 1;
		return T_OPEN;
	case ')':
		lx->p = p + 1;
		return T_CLOSE;
	case ',':
		lx->p = p + 1;
		return T_COMMA;
	case '<':
	case '>':
		lx->p = p + 1;
		return T_BAD;
	default:
		break;
	}
	while (*p && !is_space(*p) && !is_special(*p))
		p++;
	lx->len = (size_t)(p - lx->text);
	lx->p = p;
	return T_IDENT;
}

static enum tok peek(const struct lexer *lx)
{
	struct lexer copy = *lx;

	return lex(&copy);
}

static bool ident_is(const struct lexer *lx, const char *word)
{
	return lx->len == strlen(word) && memcmp(lx->text, word, lx->len) == 0;
}

static int syntax(const char *s, const struct lexer *lx, const char *what, char *errstr,
		  size_t errstr_size)
{
	return wk_err(errstr, errstr_size, "invalid selector '%.80s': %s at position %zu", s, what,
		      (size_t)(lx->text - s));
}

static int parse_set(const char *s, struct lexer *lx, struct req *r, char *errstr,
		     size_t errstr_size)
{
	enum tok t;

	if (lex(lx) != T_OPEN)
		return syntax(s, lx, "expected '('", errstr, errstr_size);
	for (;;) {
		t = lex(lx);
		if (t == T_IDENT) {
			if (add_value(r, lx->text, lx->len, errstr, errstr_size) < 0)
				return -1;
			t = lex(lx);
		} else if (add_value(r, "", 0, errstr, errstr_size) < 0) {
			/* "()" and "(a,)" hold the empty value, as in Kubernetes */
			return -1;
		}
		if (t == T_CLOSE)
			return 0;
		if (t != T_COMMA)
			return syntax(s, lx, "expected ',' or ')'", errstr, errstr_size);
	}
}

static int parse_requirement(const char *s, struct lexer *lx, struct wk_selector *sel, char *errstr,
			     size_t errstr_size)
{
	struct req *r;
	enum tok t = lex(lx);
	bool negated = false;

	if (t == T_NOT) {
		negated = true;
		t = lex(lx);
	}
	if (t != T_IDENT)
		return syntax(s, lx, "expected a label key", errstr, errstr_size);
	r = add_req(sel, errstr, errstr_size);
	if (!r)
		return -1;
	r->key = wk_xstrndup(lx->text, lx->len);
	if (check_key(r->key, errstr, errstr_size) < 0)
		return -1;
	t = peek(lx);
	if (negated || t == T_END || t == T_COMMA) {
		if (negated && t != T_END && t != T_COMMA) {
			lex(lx);
			return syntax(s, lx, "expected ',' after '!key'", errstr, errstr_size);
		}
		r->op = negated ? OP_NOT_EXISTS : OP_EXISTS;
		return 0;
	}
	lex(lx);
	switch (t) {
	case T_EQ:
	case T_DEQ:
	case T_NEQ:
		r->op = t == T_NEQ ? OP_NEQ : OP_EQ;
		if (peek(lx) == T_IDENT) {
			lex(lx);
			return add_value(r, lx->text, lx->len, errstr, errstr_size);
		}
		return add_value(r, "", 0, errstr, errstr_size);
	case T_IDENT:
		if (ident_is(lx, "in"))
			r->op = OP_IN;
		else if (ident_is(lx, "notin"))
			r->op = OP_NOTIN;
		else
			return syntax(s, lx, "unknown operator", errstr, errstr_size);
		return parse_set(s, lx, r, errstr, errstr_size);
	default:
		return syntax(s, lx, "unsupported operator", errstr, errstr_size);
	}
}

struct wk_selector *wk_selector_parse(const char *s, char *errstr, size_t errstr_size)
{
	struct wk_selector *sel = wk_xcalloc(1, sizeof(*sel));
	struct lexer lx = {.p = s ? s : "", .text = s ? s : ""};
	enum tok t;

	if (!s)
		return sel;
	if (strnlen(s, SELECTOR_MAX_LEN + 1) > SELECTOR_MAX_LEN) {
		wk_err(errstr, errstr_size, "invalid selector: longer than %d bytes",
		       SELECTOR_MAX_LEN);
		goto fail;
	}
	if (peek(&lx) == T_END)
		return sel;
	for (;;) {
		if (parse_requirement(s, &lx, sel, errstr, errstr_size) < 0)
			goto fail;
		t = lex(&lx);
		if (t == T_END)
			return sel;
		if (t != T_COMMA) {
			syntax(s, &lx, "expected ','", errstr, errstr_size);
			goto fail;
		}
	}
fail:
	wk_selector_destroy(sel);
	return NULL;
}

/* ---- object form ---- */

static int expr_from_json(const cJSON *e, struct wk_selector *sel, char *errstr, size_t errstr_size)
{
	static const struct {
		const char *name;
		enum op op;
	} ops[] = {{"In", OP_IN},
		   {"NotIn", OP_NOTIN},
		   {"Exists", OP_EXISTS},
		   {"DoesNotExist", OP_NOT_EXISTS}};
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(e, "values");
	const cJSON *v;
	struct req *r;
	size_t i;

	if (!cJSON_IsObject(e))
		return wk_err(errstr, errstr_size,
			      "invalid selector: matchExpressions entry is not "
			      "an object");
	if (!cJSON_IsString(key))
		return wk_err(errstr, errstr_size,
			      "invalid selector: matchExpressions entry needs "
			      "a string 'key'");
	if (!cJSON_IsString(op))
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%.80s': 'operator' must "
			      "be a string",
			      key->valuestring);
	if (values && !cJSON_IsArray(values) && !cJSON_IsNull(values))
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%.80s': 'values' must "
			      "be an array",
			      key->valuestring);
	r = add_req(sel, errstr, errstr_size);
	if (!r)
		return -1;
	r->key = wk_xstrdup(key->valuestring);
	if (check_key(r->key, errstr, errstr_size) < 0)
		return -1;
	for (i = 0; i < WK_ARRAY_SIZE(ops); i++) {
		if (strcmp(op->valuestring, ops[i].name) == 0)
			break;
	}
	if (i == WK_ARRAY_SIZE(ops))
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%s': unknown operator "
			      "'%.40s'",
			      r->key, op->valuestring);
	r->op = ops[i].op;
	cJSON_ArrayForEach(v, values)
	{
		if (!cJSON_IsString(v))
			return wk_err(errstr, errstr_size,
				      "invalid selector: key '%s': values must "
				      "be strings",
				      r->key);
		if (add_value(r, v->valuestring, strlen(v->valuestring), errstr, errstr_size) < 0)
			return -1;
	}
	if ((r->op == OP_IN || r->op == OP_NOTIN) && r->nvalues == 0)
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%s': values must be "
			      "non-empty for '%s'",
			      r->key, ops[i].name);
	if ((r->op == OP_EXISTS || r->op == OP_NOT_EXISTS) && r->nvalues)
		return wk_err(errstr, errstr_size,
			      "invalid selector: key '%s': values must be "
			      "empty for '%s'",
			      r->key, ops[i].name);
	return 0;
}

struct wk_selector *wk_selector_from_json(const struct cJSON *obj, char *errstr, size_t errstr_size)
{
	struct wk_selector *sel = wk_xcalloc(1, sizeof(*sel));
	const cJSON *ml, *me, *it;
	struct req *r;

	if (!obj || cJSON_IsNull(obj))
		return sel;
	if (!cJSON_IsObject(obj)) {
		wk_err(errstr, errstr_size, "invalid selector: not an object");
		goto fail;
	}
	ml = cJSON_GetObjectItemCaseSensitive(obj, "matchLabels");
	me = cJSON_GetObjectItemCaseSensitive(obj, "matchExpressions");
	if (ml && !cJSON_IsObject(ml) && !cJSON_IsNull(ml)) {
		wk_err(errstr, errstr_size, "invalid selector: 'matchLabels' must be an object");
		goto fail;
	}
	if (me && !cJSON_IsArray(me) && !cJSON_IsNull(me)) {
		wk_err(errstr, errstr_size,
		       "invalid selector: 'matchExpressions' must be an array");
		goto fail;
	}
	cJSON_ArrayForEach(it, ml)
	{
		if (!cJSON_IsString(it)) {
			wk_err(errstr, errstr_size,
			       "invalid selector: matchLabels '%.80s' must be "
			       "a string",
			       it->string);
			goto fail;
		}
		if (!(r = add_req(sel, errstr, errstr_size)))
			goto fail;
		r->key = wk_xstrdup(it->string);
		r->op = OP_EQ;
		if (check_key(r->key, errstr, errstr_size) < 0 ||
		    add_value(r, it->valuestring, strlen(it->valuestring), errstr, errstr_size) < 0)
			goto fail;
	}
	cJSON_ArrayForEach(it, me)
	{
		if (expr_from_json(it, sel, errstr, errstr_size) < 0)
			goto fail;
	}
	return sel;
fail:
	wk_selector_destroy(sel);
	return NULL;
}

/* ---- matching and printing ---- */

static bool in_values(const struct req *r, const char *v)
{
	size_t i;

	for (i = 0; i < r->nvalues; i++) {
		if (strcmp(r->values[i], v) == 0)
			return true;
	}
	return false;
}

bool wk_selector_matches(const struct wk_selector *sel, const struct cJSON *labels)
{
	size_t i;

	if (!sel)
		return true;
	for (i = 0; i < sel->n; i++) {
		const struct req *r = &sel->reqs[i];
		const char *v = labels ? wk_json_key_str(labels, r->key) : NULL;
		bool ok = false;

		switch (r->op) {
		case OP_EQ:
		case OP_IN:
			ok = v && in_values(r, v);
			break;
		case OP_NEQ:
		case OP_NOTIN:
			ok = !v || !in_values(r, v);
			break;
		case OP_EXISTS:
			ok = v != NULL;
			break;
		case OP_NOT_EXISTS:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

bool wk_selector_empty(const struct wk_selector *sel)
{
	return !sel || sel->n == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
	const struct req *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (int)x->op - (int)y->op;
}

char *wk_selector_to_string(const struct wk_selector *sel)
{
	struct wk_buf b;
	struct req *sorted;
	size_t i, j, n = sel ? sel->n : 0;
	int rc = 0;

	/* Caps bound the output (64 x 64 values of 63 bytes): no cap needed on this buffer. */
	wk_buf_init(&b, 0);
	rc |= wk_buf_adds(&b, "");
	if (n == 0)
		return wk_buf_take(&b, NULL);
	sorted = wk_xmalloc(n * sizeof(*sorted));
	memcpy(sorted, sel->reqs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_req);
	for (i = 0; i < n; i++) {
		const struct req *r = &sorted[i];
		char **vals = NULL;

		if (i)
			rc |= wk_buf_adds(&b, ",");
		switch (r->op) {
		case OP_EQ:
			rc |= wk_buf_addf(&b, "%s=%s", r->key, r->values[0]);
			break;
		case OP_NEQ:
			rc |= wk_buf_addf(&b, "%s!=%s", r->key, r->values[0]);
			break;
		case OP_EXISTS:
			rc |= wk_buf_adds(&b, r->key);
			break;
		case OP_NOT_EXISTS:
			rc |= wk_buf_addf(&b, "!%s", r->key);
			break;
		case OP_IN:
		case OP_NOTIN:
			vals = wk_xmalloc(r->nvalues * sizeof(char *));
			memcpy(vals, r->values, r->nvalues * sizeof(char *));
			qsort(vals, r->nvalues, sizeof(char *), cmp_str);
			rc |= wk_buf_addf(&b, "%s %s (", r->key, r->op == OP_IN ? "in" : "notin");
			for (j = 0; j < r->nvalues; j++)
				rc |= wk_buf_addf(&b, "%s%s", j ? "," : "", vals[j]);
			rc |= wk_buf_adds(&b, ")");
			free(vals);
			break;
		}
	}
	free(sorted);
	if (rc)
		WK_BUG("selector string exceeded an unbounded buffer");
	return wk_buf_take(&b, NULL);
}

/* ---- field selectors ---- */

struct field_term {
	char *path;
	char *value;
	bool neq;
};

struct wk_field_selector {
	struct field_term *terms;
	size_t n;
};

void wk_field_selector_destroy(struct wk_field_selector *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++) {
		free(fs->terms[i].path);
		free(fs->terms[i].value);
	}
	free(fs->terms);
	free(fs);
}

/* Unescape one term ("\," "\=" "\\" as in k8s fields.EscapeValue) into key/op/value. */
static int parse_term(const char *s, const char *term, size_t len, struct field_term *t,
		      char *errstr, size_t errstr_size)
{
	struct wk_buf key, val;
	struct wk_buf *cur = &key;
	size_t i;
	int rc = 0;
	bool have_op = false;

	wk_buf_init(&key, SELECTOR_MAX_LEN);
	wk_buf_init(&val, SELECTOR_MAX_LEN);
	rc |= wk_buf_adds(&key, "");
	rc |= wk_buf_adds(&val, "");
	for (i = 0; i < len; i++) {
		char c = term[i];

		if (c == '\\') {
			if (i + 1 == len ||
			    (term[i + 1] != '\\' && term[i + 1] != ',' && term[i + 1] != '=')) {
				rc = wk_err(errstr, errstr_size,
					    "invalid field selector '%.80s': "
					    "invalid escape sequence",
					    s);
				goto out;
			}
			rc |= wk_buf_add(cur, &term[++i], 1);
			continue;
		}
		if (!have_op && (c == '=' || (c == '!' && i + 1 < len && term[i + 1] == '='))) {
			have_op = true;
			t->neq = c == '!';
			if (c == '!' || (i + 1 < len && term[i + 1] == '='))
				i++;
			cur = &val;
			continue;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f) {
			rc = wk_err(errstr, errstr_size,
				    "invalid field selector '%.80s': control "
				    "character",
				    s);
			goto out;
		}
		rc |= wk_buf_add(cur, &c, 1);
	}
	if (!have_op)
		rc = wk_err(errstr, errstr_size,
			    "invalid field selector '%.80s': '%.*s' has no "
			    "operator",
			    s, (int)(len > 80 ? 80 : len), term);
	else if (key.len == 0)
		rc = wk_err(errstr, errstr_size, "invalid field selector '%.80s': empty field name",
			    s);
	else if (strpbrk(key.buf, " \t!="))
		rc = wk_err(errstr, errstr_size,
			    "invalid field selector '%.80s': invalid field "
			    "name '%.80s'",
			    s, key.buf);
out:
	if (rc == 0) {
		t->path = wk_buf_take(&key, NULL);
		t->value = wk_buf_take(&val, NULL);
	}
	wk_buf_release(&key);
	wk_buf_release(&val);
	return rc ? -1 : 0;
}

struct wk_field_selector *wk_field_selector_parse(const char *s, char *errstr, size_t errstr_size)
{
	struct wk_field_selector *fs = wk_xcalloc(1, sizeof(*fs));
	const char *p, *start;

	if (!s || !*s)
		return fs;
	if (strnlen(s, SELECTOR_MAX_LEN + 1) > SELECTOR_MAX_LEN) {
		wk_err(errstr, errstr_size, "invalid field selector: longer than %d bytes",
		       SELECTOR_MAX_LEN);
		goto fail;
	}
	fs->terms = wk_xcalloc(MAX_REQS, sizeof(*fs->terms));
	for (start = p = s;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p != ',' && *p)
			continue;
		if (fs->n >= MAX_REQS) {
			wk_err(errstr, errstr_size, "invalid field selector: more than %d terms",
			       MAX_REQS);
			goto fail;
		}
		if (parse_term(s, start, (size_t)(p - start), &fs->terms[fs->n], errstr,
			       errstr_size) < 0)
			goto fail;
		fs->n++;
		if (!*p)
			return fs;
		start = p + 1;
	}
fail:
	wk_field_selector_destroy(fs);
	return NULL;
}

/* The field at a dotted path as text; "" when absent or not a scalar. */
static const char *field_text(const cJSON *obj, const char *path, char *num, size_t num_size)
{
	const cJSON *cur = obj;
	const char *p = path;
	char seg[256];

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len >= sizeof(seg) || !cJSON_IsObject(cur))
			return "";
		memcpy(seg, p, len);
		seg[len] = '\0';
		cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		p = dot ? dot + 1 : p + len;
	}
	if (cJSON_IsString(cur))
		return cur->valuestring;
	if (cJSON_IsBool(cur))
		return cJSON_IsTrue(cur) ? "true" : "false";
	if (cJSON_IsNumber(cur)) {
		snprintf(num, num_size, "%.17g", cur->valuedouble);
		return num;
	}
	return "";
}

bool wk_field_selector_matches(const struct wk_field_selector *fs, const struct cJSON *obj)
{
	char num[64];
	size_t i;

	if (!fs)
		return true;
	for (i = 0; i < fs->n; i++) {
		const char *v = field_text(obj, fs->terms[i].path, num, sizeof(num));
		bool eq = strcmp(v, fs->terms[i].value) == 0;

		if (eq == fs->terms[i].neq)
			return false;
	}
	return true;
}
