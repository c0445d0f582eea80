/* sim_table.c - meta.k8s.io Table responses (server-side printing), shaped after kube-apiserver
 * 1.32: pkg/printers/internalversion for the built-in kinds, the CRD table convertor for custom
 * resources (Name + additionalPrinterColumns), the default convertor (Name, Created At) else. */
#include "sim_table.h"

#include "wk_common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DESC_NAME                                                                                  \
	"Name must be unique within a namespace. Is required when creating resources, although "   \
	"some resources may allow a client to request the generation of an appropriate name "      \
	"automatically."
#define DESC_AGE                                                                                   \
	"CreationTimestamp is a timestamp representing the server time when this object was "      \
	"created."
#define CT_V1 "application/json;as=Table;v=v1;g=meta.k8s.io"
#define CT_V1BETA1 "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
#define MAX_FILTER_FIELDS 16

/* ---- time ---- */

void sim_human_duration(int64_t ms, char *out, size_t n)
{
	/* Go's int(d.Seconds()) truncates toward zero; a clock up to 2 s ahead counts as "now" */
	int64_t seconds = ms / 1000, minutes, hours;

	if (seconds < -1) {
		snprintf(out, n, "<invalid>");
		return;
	}
	if (seconds < 0 || ms < 0) {
		snprintf(out, n, "0s");
		return;
	}
	if (seconds < 60 * 2) {
		snprintf(out, n, "%llds", (long long)seconds);
		return;
	}
	minutes = seconds / 60;
	if (minutes < 10) {
		if (seconds % 60 == 0)
			snprintf(out, n, "%lldm", (long long)minutes);
		else
			snprintf(out, n, "%lldm%llds", (long long)minutes,
				 (long long)(seconds % 60));
		return;
	}
	if (minutes < 60 * 3) {
		snprintf(out, n, "%lldm", (long long)minutes);
		return;
	}
	hours = minutes / 60;
	if (hours < 8) {
		if (minutes % 60 == 0)
			snprintf(out, n, "%lldh", (long long)hours);
		else
			snprintf(out, n, "%lldh%lldm", (long long)hours, (long long)(minutes % 60));
	} else if (hours < 48) {
		snprintf(out, n, "%lldh", (long long)hours);
	} else if (hours < 24 * 8) {
		if (hours % 24 == 0)
			snprintf(out, n, "%lldd", (long long)(hours / 24));
		else
			snprintf(out, n, "%lldd%lldh", (long long)(hours / 24),
				 (long long)(hours % 24));
	} else if (hours < 24 * 365 * 2) {
		snprintf(out, n, "%lldd", (long long)(hours / 24));
	} else if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;

		if (dy == 0)
			snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(out, n, "%lldy%lldd", (long long)(hours / 24 / 365),
				 (long long)dy);
	} else {
		snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
	}
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int sim_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, frac_ms = 0, scale = 100;
	struct tm tm;
	const char *p;
	int64_t t;

	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (int i = 0; isdigit((unsigned char)*p); p++, i++) {
			if (i >= 9)
				return -1;
			if (scale) {
				frac_ms += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -1;
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	*ms = (t - (int64_t)oh * 3600 - (int64_t)om * 60) * 1000 + frac_ms;
	return 0;
}

/* translateTimestampSince: "<unknown>" for a missing or zero time. */
static cJSON *age_cell(const cJSON *ts, int64_t now)
{
	char buf[32];
	int64_t t;

	if (!cJSON_IsString(ts) || sim_parse_time(ts->valuestring, &t) < 0)
		return cJSON_CreateString("<unknown>");
	sim_human_duration(now - t, buf, sizeof(buf));
	return cJSON_CreateString(buf);
}

/* ---- negotiation ---- */

static bool param_is(const char *params, const char *key, const char *want)
{
	size_t kl = strlen(key), wl = strlen(want);
	const char *p = params;

	while (p && *p) {
		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t vl = strcspn(v, "; \t");

			return vl == wl && !strncmp(v, want, wl);
		}
		p = strchr(p, ';');
	}
	return false;
}

static bool has_param(const char *params, const char *key)
{
	size_t kl = strlen(key);
	const char *p = params;

	while (p && *p) {
		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, key, kl) && p[kl] == '=')
			return true;
		p = strchr(p, ';');
	}
	return false;
}

static bool is_json(const char *type)
{
	while (*type == ' ' || *type == '\t')
		type++;
	return !strncasecmp(type, "application/json", 16) &&
	       (!type[16] || type[16] == ' ' || type[16] == '\t');
}

int sim_table_request(const char *accept, const char *include_object, struct sim_table_opts *o,
		      char *errstr, size_t errstr_size)
{
	const char *p = accept;
	int table = 0;

	memset(o, 0, sizeof(*o));
	/* media ranges in order; the first acceptable one decides (kubectl lists Table v1, Table
	 * v1beta1, then plain JSON). Ranges converting to kinds we do not serve are skipped. */
	while (p && *p && !table) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char range[512];
		char *params;

		if (len < sizeof(range)) {
			memcpy(range, p, len);
			range[len] = '\0';
			params = strchr(range, ';');
			if (params)
				*params++ = '\0';
			if (!has_param(params, "as"))
				break; /* a plain media range: objects as they are */
			if (is_json(range) && param_is(params, "as", "Table") &&
			    param_is(params, "g", "meta.k8s.io")) {
				if (param_is(params, "v", "v1")) {
					o->api_version = "meta.k8s.io/v1";
					o->content_type = CT_V1;
					table = 1;
				} else if (param_is(params, "v", "v1beta1")) {
					o->api_version = "meta.k8s.io/v1beta1";
					o->content_type = CT_V1BETA1;
					table = 1;
				}
			}
		}
		p = end ? end + 1 : NULL;
	}
	if (!table)
		return 0;
	if (!include_object || !*include_object || !strcmp(include_object, "Metadata"))
		o->include = SIM_TABLE_METADATA;
	else if (!strcmp(include_object, "Object"))
		o->include = SIM_TABLE_OBJECT;
	else if (!strcmp(include_object, "None"))
		o->include = SIM_TABLE_NONE;
	else
		return wk_err(errstr, errstr_size,
			      "Unable to convert to Table as requested: includeObject: Invalid "
			      "value: \"%.100s\": must be 'Metadata', 'Object', or 'None'",
			      include_object);
	return 1;
}

/* ---- JSONPath ---- */

enum step_kind { STEP_FIELD, STEP_INDEX, STEP_ALL, STEP_FILTER };
enum filter_op { OP_EXISTS, OP_EQ, OP_NE };

struct step {
	enum step_kind kind;
	char *name; /* FIELD */
	long index; /* INDEX (negative counts from the end) */
	/* FILTER: @.f1.f2 op literal */
	char *fields[MAX_FILTER_FIELDS];
	int nfields;
	enum filter_op op;
	char *lit_str; /* string literal, or NULL for a number */
	double lit_num;
};

struct path {
	struct step steps[SIM_TABLE_MAX_STEPS];
	int n;
};

static void path_free(struct path *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->steps[i].name);
		free(p->steps[i].lit_str);
		for (int j = 0; j < p->steps[i].nfields; j++)
			free(p->steps[i].fields[j]);
	}
	p->n = 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = wk_xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* A name after '.': up to the next '.', '[', or a character that ends a filter subpath. */
static size_t name_len(const char *s, bool in_filter)
{
	size_t n = 0;

	while (s[n] && s[n] != '.' && s[n] != '[' && !(in_filter && strchr(" =!<>)", s[n])))
		n++;
	return n;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* Parses "[?(...)]" starting after "[?(" ; returns the rest after "]" or NULL. */
static const char *parse_filter(const char *s, struct step *st)
{
	st->kind = STEP_FILTER;
	s = skip_ws(s);
	if (*s++ != '@')
		return NULL;
	while (*s == '.') {
		size_t n = name_len(++s, true);

		if (!n || st->nfields >= MAX_FILTER_FIELDS)
			return NULL;
		st->fields[st->nfields++] = dup_n(s, n);
		s += n;
	}
	s = skip_ws(s);
	if (*s == ')') {
		st->op = OP_EXISTS;
	} else {
		if (!strncmp(s, "==", 2))
			st->op = OP_EQ;
		else if (!strncmp(s, "!=", 2))
			st->op = OP_NE;
		else
			return NULL;
		s = skip_ws(s + 2);
		if (*s == '\'' || *s == '"') {
			const char *q = strchr(s + 1, *s);

			if (!q)
				return NULL;
			st->lit_str = dup_n(s + 1, (size_t)(q - s - 1));
			s = q + 1;
		} else {
			char *end;

			st->lit_num = strtod(s, &end);
			if (end == s || !isfinite(st->lit_num))
				return NULL;
			s = end;
		}
		s = skip_ws(s);
	}
	if (s[0] != ')' || s[1] != ']')
		return NULL;
	return s + 2;
}

static int path_parse(const char *in, struct path *p)
{
	size_t len = in ? strlen(in) : 0;
	char buf[SIM_TABLE_MAX_PATH + 1];
	const char *s;

	p->n = 0;
	if (!len || len > SIM_TABLE_MAX_PATH)
		return -1;
	/* the convertor wraps the path in {}; accept it already wrapped */
	if (in[0] == '{' && in[len - 1] == '}') {
		memcpy(buf, in + 1, len - 2);
		buf[len - 2] = '\0';
	} else {
		memcpy(buf, in, len + 1);
	}
	s = buf;
	if (*s == '$')
		s++;
	if (*s != '.' && *s != '[')
		return -1;
	if (!strcmp(s, "."))
		return 0;
	while (*s) {
		struct step *st;

		if (p->n >= SIM_TABLE_MAX_STEPS)
			goto bad;
		st = &p->steps[p->n];
		memset(st, 0, sizeof(*st));
		if (*s == '.') {
			size_t n;

			s++;
			if (*s == '.')
				goto bad; /* recursive descent is not a simple path */
			if (*s == '*') {
				st->kind = STEP_ALL;
				s++;
				p->n++;
				continue;
			}
			n = name_len(s, false);
			if (!n)
				goto bad;
			st->kind = STEP_FIELD;
			st->name = dup_n(s, n);
			s += n;
			p->n++;
		} else if (*s == '[') {
			s++;
			if (*s == '\'' || *s == '"') {
				const char *q = strchr(s + 1, *s);

				if (!q || q[1] != ']')
					goto bad;
				st->kind = STEP_FIELD;
				st->name = dup_n(s + 1, (size_t)(q - s - 1));
				s = q + 2;
			} else if (s[0] == '*' && s[1] == ']') {
				st->kind = STEP_ALL;
				s += 2;
			} else if (s[0] == '?' && s[1] == '(') {
				p->n++; /* owned by p from here, freed on failure */
				s = parse_filter(s + 2, st);
				if (!s)
					goto bad;
				continue;
			} else {
				char *end;
				long v = strtol(s, &end, 10);

				if (end == s || *end != ']' || v > 1000000 || v < -1000000)
					goto bad;
				st->kind = STEP_INDEX;
				st->index = v;
				s = end + 1;
			}
			p->n++;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	path_free(p);
	return -1;
}

static bool filter_match(const struct step *st, const cJSON *el)
{
	const cJSON *v = el;

	for (int i = 0; i < st->nfields && v; i++)
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, st->fields[i]) : NULL;
	if (st->op == OP_EXISTS)
		return v != NULL;
	if (!v)
		return false;
	{
		bool eq = st->lit_str ? cJSON_IsString(v) && !strcmp(v->valuestring, st->lit_str)
				      : cJSON_IsNumber(v) && v->valuedouble == st->lit_num;

		return st->op == OP_EQ ? eq : !eq;
	}
}

/* First match of steps[i..] under node, in document order (depth bounded by the step cap). */
static const cJSON *eval(const struct path *p, int i, const cJSON *node)
{
	const struct step *st;
	const cJSON *c, *r;

	if (i == p->n)
		return node;
	st = &p->steps[i];
	switch (st->kind) {
	case STEP_FIELD:
		if (!cJSON_IsObject(node))
			return NULL;
		c = cJSON_GetObjectItemCaseSensitive(node, st->name);
		return c ? eval(p, i + 1, c) : NULL;
	case STEP_INDEX: {
		int n;
		long idx = st->index;

		if (!cJSON_IsArray(node))
			return NULL;
		n = cJSON_GetArraySize(node);
		if (idx < 0)
			idx += n;
		if (idx < 0 || idx >= n)
			return NULL;
		return eval(p, i + 1, cJSON_GetArrayItem(node, (int)idx));
	}
	case STEP_ALL:
		if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
			return NULL;
		cJSON_ArrayForEach(c, node)
		{
			if ((r = eval(p, i + 1, c)))
				return r;
		}
		return NULL;
	case STEP_FILTER:
		if (!cJSON_IsArray(node))
			return NULL;
		cJSON_ArrayForEach(c, node)
		{
			if (filter_match(st, c) && (r = eval(p, i + 1, c)))
				return r;
		}
		return NULL;
	}
	return NULL;
}

int sim_jsonpath_first(const char *path, const cJSON *root, const cJSON **out)
{
	struct path *p = wk_xcalloc(1, sizeof(*p));

	*out = NULL;
	if (path_parse(path, p) < 0) {
		free(p);
		return -1;
	}
	*out = eval(p, 0, root);
	path_free(p);
	free(p);
	return 0;
}

/* ---- cell values ---- */

/* Go's fmt %v of a JSON number as Kubernetes decodes it: integers as int64, else float64
 * ('g' with the shortest precision: exponent form below 1e-4 and from 1e6). */
static void go_number(double v, char *out, size_t n)
{
	char tmp[40];
	int prec, exp10;

	if (v == floor(v) && fabs(v) < 9.2e18) {
		snprintf(out, n, "%lld", (long long)v);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	exp10 = atoi(strchr(tmp, 'e') + 1);
	if (exp10 < -4 || exp10 >= 6)
		snprintf(out, n, "%s", tmp);
	else
		snprintf(out, n, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
}

/* Go's json.Marshal of a map sorts its keys: print objects with sorted keys. */
static void sort_keys(cJSON *o)
{
	cJSON *c;

	if (cJSON_IsObject(o) && o->child) {
		bool swapped;

		do { /* bubble sort over the linked list: printer-column values are small */
			swapped = false;
			for (c = o->child; c && c->next; c = c->next) {
				if (strcmp(c->string, c->next->string) > 0) {
					cJSON tmp = *c, *a = c, *b = c->next;

					/* swap payloads, keep the links */
					a->type = b->type;
					a->valuestring = b->valuestring;
					a->valueint = b->valueint;
					a->valuedouble = b->valuedouble;
					a->child = b->child;
					a->string = b->string;
					b->type = tmp.type;
					b->valuestring = tmp.valuestring;
					b->valueint = tmp.valueint;
					b->valuedouble = tmp.valuedouble;
					b->child = tmp.child;
					b->string = tmp.string;
					swapped = true;
				}
			}
		} while (swapped);
	}
	cJSON_ArrayForEach(c, o)
	{
		sort_keys(c);
	}
}

static cJSON *text_cell(const cJSON *v)
{
	char num[48];

	if (cJSON_IsString(v))
		return cJSON_CreateString(v->valuestring);
	if (cJSON_IsNumber(v)) {
		go_number(v->valuedouble, num, sizeof(num));
		return cJSON_CreateString(num);
	}
	if (cJSON_IsBool(v))
		return cJSON_CreateString(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		cJSON *d = cJSON_Duplicate(v, true);
		char *s;
		cJSON *cell;

		sort_keys(d);
		s = cJSON_PrintUnformatted(d);
		cJSON_Delete(d);
		cell = s ? cJSON_CreateString(s) : cJSON_CreateNull();
		free(s);
		return cell;
	}
	return cJSON_CreateNull();
}

struct col {
	const char *name, *type, *format, *desc;
	int priority;
	const char *path; /* CRD-style column: evaluated on the object */
};

/* The CRD table convertor's cellForJSONValue (and PrintResults for strings). */
static cJSON *crd_cell(const struct col *c, const cJSON *obj, int64_t now)
{
	const cJSON *v;

	if (sim_jsonpath_first(c->path, obj, &v) < 0 || !v || cJSON_IsNull(v))
		return cJSON_CreateNull();
	if (!strcmp(c->type, "string"))
		return text_cell(v);
	if (!strcmp(c->type, "integer") && cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d >= 9.2e18 || d <= -9.2e18)
			return cJSON_CreateNull();
		return cJSON_CreateNumber((double)(long long)d);
	}
	if (!strcmp(c->type, "number") && cJSON_IsNumber(v))
		return cJSON_CreateNumber(v->valuedouble);
	if (!strcmp(c->type, "boolean") && cJSON_IsBool(v))
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (!strcmp(c->type, "date") && cJSON_IsString(v)) {
		int64_t t;
		char buf[32];

		if (!v->valuestring[0] || !strcmp(v->valuestring, "null"))
			return cJSON_CreateString("<unknown>");
		if (sim_parse_time(v->valuestring, &t) < 0)
			return cJSON_CreateString("<invalid>");
		sim_human_duration(now - t, buf, sizeof(buf));
		return cJSON_CreateString(buf);
	}
	return cJSON_CreateNull();
}

/* ---- built-in printers (pkg/printers/internalversion) ---- */

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const cJSON *get2(const cJSON *o, const char *a, const char *b)
{
	return get(get(o, a), b);
}

static double num(const cJSON *v, double def)
{
	return cJSON_IsNumber(v) && v ? v->valuedouble : def;
}

static const char *str(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void add(cJSON *cells, const char *s)
{
	cJSON_AddItemToArray(cells, cJSON_CreateString(s));
}

static const char *name_of(const cJSON *obj)
{
	return str(get2(obj, "metadata", "name"));
}

static cJSON *age_of(const cJSON *obj, int64_t now)
{
	return age_cell(get2(obj, "metadata", "creationTimestamp"), now);
}

static const char *node_address(const cJSON *obj, const char *type)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, get2(obj, "status", "addresses"))
	{
		if (!strcmp(str(get(a, "type")), type))
			return str(get(a, "address"));
	}
	return "<none>";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void row_node(const cJSON *obj, cJSON *cells, int64_t now)
{
	const cJSON *c, *info = get2(obj, "status", "nodeInfo");
	const char *ready = NULL;
	char status[64], *roles[64], rolebuf[1024] = "";
	size_t nroles = 0, used = 0;

	cJSON_ArrayForEach(c, get2(obj, "status", "conditions"))
	{
		if (!strcmp(str(get(c, "type")), "Ready"))
			ready = !strcmp(str(get(c, "status")), "True") ? "Ready" : "NotReady";
	}
	snprintf(status, sizeof(status), "%s%s", ready ? ready : "Unknown",
		 cJSON_IsTrue(get2(obj, "spec", "unschedulable")) ? ",SchedulingDisabled" : "");
	cJSON_ArrayForEach(c, get2(obj, "metadata", "labels"))
	{
		const char *role = NULL;

		if (!strncmp(c->string, "node-role.kubernetes.io/", 24) && c->string[24])
			role = c->string + 24;
		else if (!strcmp(c->string, "kubernetes.io/role") && str(c)[0])
			role = str(c);
		if (role && nroles < WK_ARRAY_SIZE(roles)) {
			bool dup = false;

			for (size_t i = 0; i < nroles; i++)
				dup = dup || !strcmp(roles[i], role);
			if (!dup)
				roles[nroles++] = (char *)role;
		}
	}
	qsort(roles, nroles, sizeof(roles[0]), cmp_str);
	for (size_t i = 0; i < nroles && used < sizeof(rolebuf); i++)
		used += (size_t)snprintf(rolebuf + used, sizeof(rolebuf) - used, "%s%s",
					 i ? "," : "", roles[i]);
	add(cells, name_of(obj));
	add(cells, status);
	add(cells, nroles ? rolebuf : "<none>");
	cJSON_AddItemToArray(cells, age_of(obj, now));
	add(cells, str(get(info, "kubeletVersion")));
	add(cells, node_address(obj, "InternalIP"));
	add(cells, node_address(obj, "ExternalIP"));
	add(cells, str(get(info, "osImage"))[0] ? str(get(info, "osImage")) : "<unknown>");
	add(cells,
	    str(get(info, "kernelVersion"))[0] ? str(get(info, "kernelVersion")) : "<unknown>");
	add(cells, str(get(info, "containerRuntimeVersion"))[0]
		       ? str(get(info, "containerRuntimeVersion"))
		       : "<unknown>");
}

static void row_namespace(const cJSON *obj, cJSON *cells, int64_t now)
{
	add(cells, name_of(obj));
	add(cells, str(get2(obj, "status", "phase")));
	cJSON_AddItemToArray(cells, age_of(obj, now));
}

static bool has_mode(const cJSON *modes, const char *m)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, modes)
	{
		if (!strcmp(str(c), m))
			return true;
	}
	return false;
}

static void row_pvc(const cJSON *obj, cJSON *cells, int64_t now)
{
	static const char *const modes[][2] = {{"ReadWriteOnce", "RWO"},
					       {"ReadOnlyMany", "ROX"},
					       {"ReadWriteMany", "RWX"},
					       {"ReadWriteOncePod", "RWOP"}};
	const cJSON *spec = get(obj, "spec"), *st = get(obj, "status"),
		    *cls = get2(obj, "metadata", "annotations");
	const char *volume = str(get(spec, "volumeName"));
	char am[64] = "";
	size_t used = 0;

	cls = get(cls, "volume.beta.kubernetes.io/storage-class");
	if (!cls)
		cls = get(spec, "storageClassName");
	if (volume[0])
		for (size_t i = 0; i < WK_ARRAY_SIZE(modes); i++)
			if (has_mode(get(st, "accessModes"), modes[i][0]))
				used += (size_t)snprintf(am + used, sizeof(am) - used, "%s%s",
							 used ? "," : "", modes[i][1]);
	add(cells, name_of(obj));
	add(cells,
	    get2(obj, "metadata", "deletionTimestamp") ? "Terminating" : str(get(st, "phase")));
	add(cells, volume);
	add(cells, volume[0] ? str(get2(st, "capacity", "storage")) : "");
	add(cells, am);
	add(cells, str(cls));
	add(cells, str(get(spec, "volumeAttributesClassName"))[0]
		       ? str(get(spec, "volumeAttributesClassName"))
		       : "<unset>");
	cJSON_AddItemToArray(cells, age_of(obj, now));
	add(cells, str(get(spec, "volumeMode"))[0] ? str(get(spec, "volumeMode")) : "<unset>");
}

static void row_lease(const cJSON *obj, cJSON *cells, int64_t now)
{
	add(cells, name_of(obj));
	add(cells, str(get2(obj, "spec", "holderIdentity")));
	cJSON_AddItemToArray(cells, age_of(obj, now));
}

static void row_event(const cJSON *obj, cJSON *cells, int64_t now)
{
	const cJSON *inv = get(obj, "involvedObject"), *series = get(obj, "series"),
		    *src = get(obj, "source");
	cJSON *first = age_cell(get(obj, "firstTimestamp"), now), *last;
	const char *comp, *host, *msg = str(get(obj, "message"));
	char kind[128], target[512], source[300];
	double count = num(get(obj, "count"), 0);
	size_t i, ml;

	if (!strcmp(first->valuestring, "<unknown>")) {
		cJSON_Delete(first);
		first = age_cell(get(obj, "eventTime"), now);
	}
	last = get(obj, "lastTimestamp") && cJSON_IsString(get(obj, "lastTimestamp"))
		   ? age_cell(get(obj, "lastTimestamp"), now)
		   : cJSON_Duplicate(first, true);
	if (series) {
		cJSON_Delete(last);
		last = age_cell(get(series, "lastObservedTime"), now);
		count = num(get(series, "count"), 0);
	} else if (count == 0) {
		count = 1; /* singleton events of the events.k8s.io API have no count */
	}
	snprintf(kind, sizeof(kind), "%s", str(get(inv, "kind")));
	for (i = 0; kind[i]; i++)
		kind[i] = (char)tolower((unsigned char)kind[i]);
	if (str(get(inv, "name"))[0])
		snprintf(target, sizeof(target), "%s/%.300s", kind, str(get(inv, "name")));
	else
		snprintf(target, sizeof(target), "%s", kind);
	comp = str(get(src, "component"))[0] ? str(get(src, "component"))
					     : str(get(obj, "reportingComponent"));
	host =
	    str(get(src, "host"))[0] ? str(get(src, "host")) : str(get(obj, "reportingInstance"));
	snprintf(source, sizeof(source), "%.140s%s%.140s", comp, host[0] ? ", " : "", host);
	while (isspace((unsigned char)*msg))
		msg++;
	ml = strlen(msg);
	while (ml && isspace((unsigned char)msg[ml - 1]))
		ml--;
	cJSON_AddItemToArray(cells, last);
	add(cells, str(get(obj, "type")));
	add(cells, str(get(obj, "reason")));
	add(cells, target);
	add(cells, str(get2(obj, "involvedObject", "fieldPath")));
	add(cells, source);
	{
		char *m = dup_n(msg, ml);

		add(cells, m);
		free(m);
	}
	cJSON_AddItemToArray(cells, first);
	cJSON_AddItemToArray(cells, cJSON_CreateNumber((double)(long long)count));
	add(cells, name_of(obj));
}

static void row_storageclass(const cJSON *obj, cJSON *cells, int64_t now)
{
	const cJSON *ann = get2(obj, "metadata", "annotations"), *exp;
	char name[300];
	bool def =
	    !strcmp(str(get(ann, "storageclass.kubernetes.io/is-default-class")), "true") ||
	    !strcmp(str(get(ann, "storageclass.beta.kubernetes.io/is-default-class")), "true");

	snprintf(name, sizeof(name), "%s%s", name_of(obj), def ? " (default)" : "");
	add(cells, name);
	add(cells, str(get(obj, "provisioner")));
	add(cells, str(get(obj, "reclaimPolicy"))[0] ? str(get(obj, "reclaimPolicy")) : "Delete");
	add(cells, str(get(obj, "volumeBindingMode"))[0] ? str(get(obj, "volumeBindingMode"))
							 : "Immediate");
	exp = get(obj, "allowVolumeExpansion");
	cJSON_AddItemToArray(cells, cJSON_CreateBool(cJSON_IsTrue(exp)));
	cJSON_AddItemToArray(cells, age_of(obj, now));
}

/* rest.NewDefaultTableConvertor: the creation time in RFC 3339, UTC. */
static void row_default(const cJSON *obj, cJSON *cells, int64_t now)
{
	int64_t t;
	char buf[32] = "0001-01-01T00:00:00Z";

	(void)now;
	if (sim_parse_time(str(get2(obj, "metadata", "creationTimestamp")), &t) == 0) {
		time_t s = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000);
		struct tm tm;

		gmtime_r(&s, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	add(cells, name_of(obj));
	add(cells, buf);
}

typedef void (*row_fn)(const cJSON *obj, cJSON *cells, int64_t now);

#define NAME_COL                                                                                   \
	{                                                                                          \
		"Name", "string", "name", DESC_NAME, 0, NULL                                       \
	}
#define AGE_COL(p)                                                                                 \
	{                                                                                          \
		"Age", "string", "", DESC_AGE, p, NULL                                             \
	}
#define CRD_AGE                                                                                    \
	{                                                                                          \
		"Age", "date", "", DESC_AGE, 0, ".metadata.creationTimestamp"                      \
	}
#define S(n, p)                                                                                    \
	{                                                                                          \
		n, "string", "", "", 0, p                                                          \
	}

static const struct col cols_node[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the node", 0, NULL},
    {"Roles", "string", "", "The roles of the node", 0, NULL},
    AGE_COL(0),
    {"Version", "string", "", "Kubelet Version reported by the node.", 0, NULL},
    {"Internal-IP", "string", "", "List of addresses reachable to the node.", 1, NULL},
    {"External-IP", "string", "", "List of addresses reachable to the node.", 1, NULL},
    {"OS-Image", "string", "", "OS Image reported by the node.", 1, NULL},
    {"Kernel-Version", "string", "", "Kernel Version reported by the node.", 1, NULL},
    {"Container-Runtime", "string", "", "ContainerRuntime Version reported by the node.", 1, NULL},
};
static const struct col cols_namespace[] = {
    NAME_COL, {"Status", "string", "", "The status of the namespace", 0, NULL}, AGE_COL(0)};
static const struct col cols_pvc[] = {
    NAME_COL,
    {"Status", "string", "", "phase represents the current phase of PersistentVolumeClaim.", 0,
     NULL},
    {"Volume", "string", "", "volumeName is the binding reference to the PersistentVolume.", 0,
     NULL},
    {"Capacity", "string", "", "capacity represents the actual resources of the volume.", 0, NULL},
    {"Access Modes", "string", "", "accessModes contains the actual access modes.", 0, NULL},
    {"StorageClass", "string", "", "StorageClass of the pvc", 0, NULL},
    {"VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pvc", 0, NULL},
    AGE_COL(0),
    {"VolumeMode", "string", "", "volumeMode defines what type of volume is required.", 1, NULL},
};
static const struct col cols_lease[] = {
    NAME_COL,
    {"Holder", "string", "", "holderIdentity contains the identity of the holder.", 0, NULL},
    AGE_COL(0)};
static const struct col cols_event[] = {
    {"Last Seen", "string", "", "The time at which the most recent occurrence was recorded.", 0,
     NULL},
    {"Type", "string", "", "Type of this event (Normal, Warning).", 0, NULL},
    {"Reason", "string", "", "The reason for the transition into the object's current status.", 0,
     NULL},
    {"Object", "string", "", "The object that this event is about.", 0, NULL},
    {"Subobject", "string", "", "The field of the object the event is about.", 1, NULL},
    {"Source", "string", "", "The component reporting this event.", 1, NULL},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0,
     NULL},
    {"First Seen", "string", "", "The time at which the event was first recorded.", 1, NULL},
    {"Count", "string", "", "The number of times this event has occurred.", 1, NULL},
    {"Name", "string", "name", DESC_NAME, 1, NULL},
};
static const struct col cols_storageclass[] = {
    NAME_COL,
    {"Provisioner", "string", "", "provisioner indicates the type of the provisioner.", 0, NULL},
    {"ReclaimPolicy", "string", "", "reclaimPolicy of dynamically provisioned volumes.", 0, NULL},
    {"VolumeBindingMode", "string", "", "volumeBindingMode of PersistentVolumeClaims.", 0, NULL},
    {"AllowVolumeExpansion", "string", "",
     "allowVolumeExpansion shows whether expansion is "
     "allowed.",
     0, NULL},
    AGE_COL(0),
};
static const struct col cols_default[] = {NAME_COL, {"Created At", "date", "", DESC_AGE, 0, NULL}};

/* KubeVirt's CRD printer columns (virt-operator's components/crds.go). */
static const struct col cols_vm[] = {
    CRD_AGE,
    {"Status", "string", "", "Human Readable Status", 0, ".status.printableStatus"},
    S("Ready", ".status.conditions[?(@.type=='Ready')].status")};
static const struct col cols_vmi[] = {
    CRD_AGE,
    S("Phase", ".status.phase"),
    S("IP", ".status.interfaces[0].ipAddress"),
    S("NodeName", ".status.nodeName"),
    S("Ready", ".status.conditions[?(@.type=='Ready')].status"),
    {"Live-Migratable", "string", "", "", 1,
     ".status.conditions[?(@.type=='LiveMigratable')].status"},
    {"Paused", "string", "", "", 1, ".status.conditions[?(@.type=='Paused')].status"}};
static const struct col cols_vmim[] = {
    {"Phase", "string", "", "The current phase of VM instance migration", 0, ".status.phase"},
    {"VMI", "string", "", "The name of the VMI to perform the migration on", 0, ".spec.vmiName"}};
static const struct col cols_kv[] = {CRD_AGE, S("Phase", ".status.phase")};
/* external-snapshotter's CRD: Driver, DeletionPolicy, Age */
static const struct col cols_vsclass[] = {S("Driver", ".driver"),
					  S("DeletionPolicy", ".deletionPolicy"), CRD_AGE};
static const struct col cols_snapshot[] = {
    S("SourceKind", ".spec.source.kind"),
    S("SourceName", ".spec.source.name"),
    S("Phase", ".status.phase"),
    {"ReadyToUse", "boolean", "", "", 0, ".status.readyToUse"},
    {"CreationTime", "date", "", "", 0, ".status.creationTime"},
    S("Error", ".status.error.message")};
static const struct col cols_content[] = {
    {"ReadyToUse", "boolean", "", "", 0, ".status.readyToUse"},
    {"CreationTime", "date", "", "", 0, ".status.creationTime"},
    S("Error", ".status.error.message")};
static const struct col cols_restore[] = {
    S("TargetKind", ".spec.target.kind"),
    S("TargetName", ".spec.target.name"),
    {"Complete", "boolean", "", "", 0, ".status.complete"},
    {"RestoreTime", "date", "", "", 0, ".status.restoreTime"}};
static const struct col cols_clone[] = {S("Phase", ".status.phase"),
					S("SourceVirtualMachine", ".spec.source.name"),
					S("TargetVirtualMachine", ".spec.target.name")};
static const struct col cols_crd_default[] = {CRD_AGE};

struct printer {
	const char *group, *plural;
	const struct col *cols;
	size_t ncols;
	row_fn row; /* NULL: a CRD-style table (Name + cols evaluated by JSONPath) */
};

#define P(g, p, c, r)                                                                              \
	{                                                                                          \
		g, p, c, WK_ARRAY_SIZE(c), r                                                       \
	}
static const struct printer printers[] = {
    P("", "nodes", cols_node, row_node),
    P("", "namespaces", cols_namespace, row_namespace),
    P("", "persistentvolumeclaims", cols_pvc, row_pvc),
    P("", "events", cols_event, row_event),
    P("coordination.k8s.io", "leases", cols_lease, row_lease),
    P("storage.k8s.io", "storageclasses", cols_storageclass, row_storageclass),
    P("apiextensions.k8s.io", "customresourcedefinitions", cols_default, row_default),
    P("kubevirt.io", "virtualmachines", cols_vm, NULL),
    P("kubevirt.io", "virtualmachineinstances", cols_vmi, NULL),
    P("kubevirt.io", "virtualmachineinstancemigrations", cols_vmim, NULL),
    P("kubevirt.io", "kubevirts", cols_kv, NULL),
    P("migrations.kubevirt.io", "migrationpolicies", cols_crd_default, NULL),
    P("snapshot.kubevirt.io", "virtualmachinesnapshots", cols_snapshot, NULL),
    P("snapshot.kubevirt.io", "virtualmachinesnapshotcontents", cols_content, NULL),
    P("snapshot.kubevirt.io", "virtualmachinerestores", cols_restore, NULL),
    P("clone.kubevirt.io", "virtualmachineclones", cols_clone, NULL),
    P("snapshot.storage.k8s.io", "volumesnapshotclasses", cols_vsclass, NULL),
};

/* The CRD's additionalPrinterColumns for version (pointers into crd), or the default Age. */
static size_t crd_columns(const cJSON *crd, const char *version, struct col *out, size_t max)
{
	const cJSON *versions = get2(crd, "spec", "versions"), *v, *c;
	size_t n = 0;

	for (v = versions ? versions->child : NULL; v; v = v->next) {
		const cJSON *pcs = get(v, "additionalPrinterColumns");

		if (strcmp(str(get(v, "name")), version))
			continue;
		for (c = pcs ? pcs->child : NULL; c; c = c->next) {
			const cJSON *pr = get(c, "priority");

			if (n >= max || !cJSON_IsString(get(c, "name")) ||
			    !cJSON_IsString(get(c, "jsonPath")))
				continue;
			out[n].name = str(get(c, "name"));
			out[n].type = str(get(c, "type"));
			out[n].format = str(get(c, "format"));
			out[n].desc = str(get(c, "description"));
			out[n].priority = cJSON_IsNumber(pr) ? (int)pr->valuedouble : 0;
			out[n].path = str(get(c, "jsonPath"));
			n++;
		}
	}
	if (n == 0) {
		out[0] = cols_crd_default[0];
		n = 1;
	}
	return n;
}

static void add_col_def(cJSON *defs, const struct col *c, char *desc_buf, size_t desc_size)
{
	cJSON *d = cJSON_CreateObject();
	const char *desc = c->desc;

	if (c->path && !desc[0]) {
		snprintf(desc_buf, desc_size,
			 "Custom resource definition column (in JSONPath format): %s", c->path);
		desc = desc_buf;
	}
	cJSON_AddStringToObject(d, "name", c->name);
	cJSON_AddStringToObject(d, "type", c->type);
	cJSON_AddStringToObject(d, "format", c->format);
	cJSON_AddStringToObject(d, "description", desc);
	cJSON_AddNumberToObject(d, "priority", c->priority);
	cJSON_AddItemToArray(defs, d);
}

static cJSON *row_object(const cJSON *obj, const struct sim_table_opts *o)
{
	cJSON *p;
	const cJSON *meta;

	switch (o->include) {
	case SIM_TABLE_OBJECT:
		return cJSON_Duplicate(obj, true);
	case SIM_TABLE_NONE:
		return cJSON_CreateNull();
	case SIM_TABLE_METADATA:
		break;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "kind", "PartialObjectMetadata");
	cJSON_AddStringToObject(p, "apiVersion", o->api_version);
	meta = get(obj, "metadata");
	cJSON_AddItemToObject(p, "metadata",
			      meta ? cJSON_Duplicate(meta, true) : cJSON_CreateObject());
	return p;
}

cJSON *sim_table_build(const struct sim_resource *res, const cJSON *crd, const cJSON *obj,
		       const struct sim_table_opts *o)
{
	const struct printer *pr = NULL;
	struct col dyn[SIM_TABLE_MAX_COLS + 1];
	const struct col *cols;
	size_t ncols;
	row_fn row = NULL;
	cJSON *t = cJSON_CreateObject(), *meta, *rows;
	const cJSON *items = get(obj, "items"), *lm = get(obj, "metadata"), *it;
	bool list = cJSON_IsArray(items);
	char desc[SIM_TABLE_MAX_PATH + 80];
	bool nodemetrics = !strcmp(res->group, "metrics.k8s.io");
	const char *av = o->api_version ? o->api_version : "meta.k8s.io/v1";

	for (size_t i = 0; i < WK_ARRAY_SIZE(printers); i++)
		if (!strcmp(printers[i].group, res->group) &&
		    !strcmp(printers[i].plural, res->plural))
			pr = &printers[i];
	if (pr) {
		cols = pr->cols;
		ncols = pr->ncols;
		row = pr->row;
	} else if (nodemetrics) {
		/* metrics-server: Name, the first item's usage resources (sorted), Window */
		const cJSON *first = list ? cJSON_GetArrayItem(items, 0) : obj, *u;
		const char *keys[SIM_TABLE_MAX_COLS];
		size_t n = 0, nk = 0;

		cJSON_ArrayForEach(u, get(first, "usage"))
		{
			if (nk < SIM_TABLE_MAX_COLS - 2 && u->string)
				keys[nk++] = u->string;
		}
		qsort(keys, nk, sizeof(keys[0]), cmp_str);
		dyn[n++] = (struct col){"Name", "string", "name", "Name of the resource", 0, NULL};
		for (size_t i = 0; i < nk; i++)
			dyn[n++] = (struct col){keys[i], "string", "quantity", "", 0, NULL};
		dyn[n++] = (struct col){"Window", "string", "duration", "", 0, NULL};
		cols = dyn;
		ncols = n;
		row = NULL;
	} else if (strcmp(res->group, "") && strcmp(res->group, "coordination.k8s.io") &&
		   strcmp(res->group, "storage.k8s.io") &&
		   strcmp(res->group, "apiextensions.k8s.io")) {
		/* a custom resource: its CRD's printer columns when we have the CRD */
		const cJSON *names = get2(crd, "spec", "names");

		if (crd && !strcmp(str(get2(crd, "spec", "group")), res->group) &&
		    !strcmp(str(get(names, "plural")), res->plural)) {
			ncols = crd_columns(crd, res->version, dyn, SIM_TABLE_MAX_COLS);
		} else {
			dyn[0] = cols_crd_default[0];
			ncols = 1;
		}
		cols = dyn;
	} else {
		cols = cols_default;
		ncols = WK_ARRAY_SIZE(cols_default);
		row = row_default;
	}

	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON_AddStringToObject(t, "apiVersion", av);
	meta = cJSON_AddObjectToObject(t, "metadata");
	if (cJSON_IsString(get(lm, "resourceVersion")))
		cJSON_AddStringToObject(meta, "resourceVersion", str(get(lm, "resourceVersion")));
	if (list && cJSON_IsString(get(lm, "continue")) && str(get(lm, "continue"))[0])
		cJSON_AddStringToObject(meta, "continue", str(get(lm, "continue")));
	if (list && cJSON_IsNumber(get(lm, "remainingItemCount")))
		cJSON_AddNumberToObject(meta, "remainingItemCount",
					num(get(lm, "remainingItemCount"), 0));
	if (o->no_headers) {
		cJSON_AddNullToObject(t, "columnDefinitions");
	} else {
		cJSON *defs = cJSON_AddArrayToObject(t, "columnDefinitions");

		if (!row && !nodemetrics) {
			static const struct col name = NAME_COL;

			add_col_def(defs, &name, desc, sizeof(desc));
		}
		for (size_t i = 0; i < ncols; i++)
			add_col_def(defs, &cols[i], desc, sizeof(desc));
	}
	rows = cJSON_AddArrayToObject(t, "rows");
	for (it = list ? items->child : obj; it; it = list ? it->next : NULL) {
		cJSON *r = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(r, "cells");

		if (row) {
			row(it, cells, o->now_ms);
		} else if (nodemetrics) {
			add(cells, name_of(it));
			for (size_t i = 1; i + 1 < ncols; i++)
				add(cells, str(get2(it, "usage", cols[i].name)));
			add(cells, str(get(it, "window")));
		} else {
			add(cells, name_of(it));
			for (size_t i = 0; i < ncols; i++)
				cJSON_AddItemToArray(cells, crd_cell(&cols[i], it, o->now_ms));
		}
		cJSON_AddItemToObject(r, "object", row_object(it, o));
		cJSON_AddItemToArray(rows, r);
	}
	return t;
}
