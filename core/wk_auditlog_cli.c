/* wk_auditlog_cli.c - `audit query`'s shared flags and output (wk_auditlog_cli.h). */
#include "wk_auditlog_cli.h"

#include "wk_buf.h"
#include "wk_name.h"
#include "wk_time.h"
#include "wk_yaml.h"

#include <errno.h>

const char wk_auditlog_cli_usage[] =
    "[--vm NS/NAME] [--cluster C] [--request ID] [--since T] [--until T]\n"
    "  [--limit N] [--reverse] [--no-index] [-o table|wide|json|yaml]";

void wk_auditlog_cli_init(struct wk_auditlog_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->since_us = INT64_MIN;
	c->until_us = INT64_MAX;
}

/* RFC 3339, or N{s,m,h,d} back from now. */
static int parse_when(const char *s, int64_t *us)
{
	char *end;
	long long n, unit;

	if (!wk_time_parse_us(s, us))
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || strlen(end) != 1)
		return -1;
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (n > 100LL * 365 * 86400 / unit)
		return -1;
	*us = wk_time_now_ms() * 1000 - n * unit * 1000000;
	return 0;
}

bool wk_auditlog_cli_takes_value(const char *name)
{
	return strcmp(name, "reverse") && strcmp(name, "no-index");
}

int wk_auditlog_cli_set(struct wk_auditlog_cli *c, const char *name, const char *val, char *errstr,
			size_t errstr_size)
{
	char shown[80];

	snprintf(shown, sizeof(shown), "%.64s", val ? val : "");
	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (!strcmp(name, "reverse")) {
		c->reverse = true;
		return 1;
	}
	if (!strcmp(name, "no-index")) {
		c->no_index = true;
		return 1;
	}
	if (strcmp(name, "vm") && strcmp(name, "cluster") && strcmp(name, "request") &&
	    strcmp(name, "since") && strcmp(name, "until") && strcmp(name, "limit") &&
	    strcmp(name, "output"))
		return 0;
	if (!val || !*val)
		return wk_err(errstr, errstr_size, "--%s: empty value", name);
	if (!strcmp(name, "vm")) {
		const char *slash = strchr(val, '/');
		size_t nl = slash ? (size_t)(slash - val) : 0;

		if (!slash || !nl || nl >= sizeof(c->ns) || strlen(slash + 1) >= sizeof(c->name) ||
		    strchr(slash + 1, '/'))
			return wk_err(errstr, errstr_size, "--vm '%s': want NAMESPACE/NAME", shown);
		memcpy(c->ns, val, nl);
		c->ns[nl] = '\0';
		wk_strlcpy(c->name, slash + 1, sizeof(c->name));
		if (!wk_name_is_dns1123_label(c->ns) || !wk_name_is_dns1123_subdomain(c->name))
			return wk_err(errstr, errstr_size,
				      "--vm '%s': namespace and name must be Kubernetes names",
				      shown);
	} else if (!strcmp(name, "cluster")) {
		c->cluster = val;
	} else if (!strcmp(name, "request")) {
		c->request_id = val;
	} else if (!strcmp(name, "since") || !strcmp(name, "until")) {
		if (parse_when(val, name[0] == 's' ? &c->since_us : &c->until_us) < 0)
			return wk_err(errstr, errstr_size,
				      "--%s '%s': want RFC 3339 (2026-01-02T03:04:05Z) or a "
				      "duration back from now (90s, 15m, 2h, 7d)",
				      name, shown);
	} else if (!strcmp(name, "limit")) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(val, &end, 10);
		if (errno || *end || end == val || n < 1 || n > WK_AUDITLOG_CLI_MAX_LIMIT)
			return wk_err(errstr, errstr_size, "--limit '%s': want a number in 1..%d",
				      shown, WK_AUDITLOG_CLI_MAX_LIMIT);
		c->limit = (size_t)n;
	} else {
		if (!strcmp(val, "table") || !strcmp(val, "text"))
			c->out = WK_AUDIT_OUT_TABLE;
		else if (!strcmp(val, "wide"))
			c->out = WK_AUDIT_OUT_WIDE;
		else if (!strcmp(val, "json"))
			c->out = WK_AUDIT_OUT_JSON;
		else if (!strcmp(val, "yaml"))
			c->out = WK_AUDIT_OUT_YAML;
		else
			return wk_err(errstr, errstr_size,
				      "-o '%s': want table (or text), wide, json or yaml", shown);
	}
	return 1;
}

/* The matches kept for printing: all of them, or (--limit) the newest `cap` in a ring. */
struct keep {
	char **line;
	size_t cap, n, head; /* head: index of the oldest when full */
	bool stream;	     /* print as they come (no --limit, no --reverse) */
	const struct wk_auditlog_cli *c;
	FILE *f;
	wk_auditlog_cli_print *print;
	void *opaque;
	size_t printed;
};

static const char *rs(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* "ns/name"; a cluster-scoped object as kubectl names it ("node/node-1"). */
static void object_name(const cJSON *rec, char *out, size_t n)
{
	const char *ns = rs(rec, "object", "namespace"), *name = rs(rec, "object", "name");
	const char *kind = rs(rec, "object", "kind");

	if (ns)
		snprintf(out, n, "%s/%s", ns, name ? name : "-");
	else if (kind && name) {
		size_t k = 0;

		for (; kind[k] && k + 1 < n; k++)
			out[k] = (char)(kind[k] >= 'A' && kind[k] <= 'Z' ? kind[k] + 32 : kind[k]);
		snprintf(out + k, n - k, "/%s", name);
	} else
		snprintf(out, n, "%s", name ? name : "-");
}

static void cell(struct wk_buf *b, const char *s, int w, bool last)
{
	int i = 0;

	for (s = s ? s : "-"; *s && (last || i < w); s++, i++) {
		unsigned char ch = (unsigned char)*s;

		(void)!wk_buf_addf(b, "%c", ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	if (!last)
		for (; i <= w + 1; i++)
			(void)!wk_buf_adds(b, " ");
}

static void header(const struct keep *k)
{
	struct wk_buf b;

	wk_buf_init(&b, 0);
	if (k->c->out == WK_AUDIT_OUT_WIDE) {
		cell(&b, "SEQ", 8, false);
		cell(&b, "TIME", 27, false);
		cell(&b, "KIND", 19, false);
		cell(&b, "OBJECT", 30, false);
		cell(&b, "REQUEST", 30, false);
		cell(&b, "ACTOR", 16, false);
	} else {
		cell(&b, "TIME", 27, false);
		cell(&b, "OBJECT", 30, false);
	}
	cell(&b, "ACTION", 26, false);
	cell(&b, "OUTCOME", 9, false);
	cell(&b, "REASON", 26, false);
	cell(&b, "MESSAGE", 0, true);
	fprintf(k->f, "%s\n", wk_buf_str(&b));
	wk_buf_release(&b);
}

static void emit(struct keep *k, const char *line, size_t len)
{
	cJSON *rec = cJSON_ParseWithLength(line, len);
	struct wk_buf b;

	if (!rec)
		return;
	if (!k->printed++ && !k->print &&
	    (k->c->out == WK_AUDIT_OUT_TABLE || k->c->out == WK_AUDIT_OUT_WIDE))
		header(k);
	if (k->print) {
		k->print(line, len, rec, k->opaque);
		cJSON_Delete(rec);
		return;
	}
	wk_buf_init(&b, 0);
	switch (k->c->out) {
	case WK_AUDIT_OUT_JSON:
		(void)!wk_buf_add(&b, line, len);
		(void)!wk_buf_adds(&b, "\n");
		break;
	case WK_AUDIT_OUT_YAML:
		(void)!wk_buf_adds(&b, "---\n");
		wk_yaml_write(rec, &b);
		break;
	default: {
		char obj[600], seq[24];
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "seq");
		const char *msg = rs(rec, "message", NULL);
		char m[201];

		object_name(rec, obj, sizeof(obj));
		if (k->c->out == WK_AUDIT_OUT_WIDE) {
			snprintf(seq, sizeof(seq), "%.0f",
				 cJSON_IsNumber(s) ? s->valuedouble : 0.0);
			cell(&b, seq, 8, false);
			cell(&b, rs(rec, "time", NULL), 27, false);
			cell(&b, rs(rec, "kind", NULL), 19, false);
			cell(&b, obj, 30, false);
			cell(&b, rs(rec, "request", "id"), 30, false);
			cell(&b, rs(rec, "actor", NULL), 16, false);
		} else {
			cell(&b, rs(rec, "time", NULL), 27, false);
			cell(&b, obj, 30, false);
		}
		cell(&b, rs(rec, "action", NULL), 26, false);
		cell(&b, rs(rec, "outcome", NULL), 9, false);
		cell(&b, rs(rec, "reason", NULL), 26, false);
		snprintf(m, sizeof(m), "%s", msg ? msg : "");
		cell(&b, m, 0, true);
		(void)!wk_buf_adds(&b, "\n");
	}
	}
	fputs(wk_buf_str(&b) ? wk_buf_str(&b) : "", k->f);
	wk_buf_release(&b);
	cJSON_Delete(rec);
}

static int on_match(const char *line, size_t len, const cJSON *rec, void *opaque)
{
	struct keep *k = opaque;
	char *copy;

	(void)rec;
	if (k->stream) {
		emit(k, line, len);
		return 0;
	}
	copy = wk_xstrndup(line, len);
	if (k->n < k->cap) {
		k->line[k->n++] = copy;
	} else {
		/* the ring is full: drop the oldest (--limit keeps the newest) */
		free(k->line[k->head]);
		k->line[k->head] = copy;
		k->head = (k->head + 1) % k->cap;
	}
	return 0;
}

int wk_auditlog_cli_query(const char *dir, const struct wk_auditlog_cli *c, FILE *f,
			  wk_auditlog_cli_print *print, void *opaque, char *errstr,
			  size_t errstr_size)
{
	struct wk_auditlog_query q;
	struct keep k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.f = f;
	k.print = print;
	k.opaque = opaque;
	k.stream = !c->limit && !c->reverse;
	k.cap = c->limit ? c->limit : WK_AUDITLOG_CLI_MAX_LIMIT;
	if (!k.stream)
		k.line = wk_xcalloc(k.cap, sizeof(*k.line));
	wk_auditlog_query_init(&q);
	if (c->ns[0]) {
		q.ns = c->ns;
		q.name = c->name;
	}
	q.cluster = c->cluster;
	q.request_id = c->request_id;
	q.since_us = c->since_us;
	q.until_us = c->until_us;
	q.no_index = c->no_index;
	if (k.stream) {
		/* streaming prints as records come: the header only with the first, so an error
		 * reading the log prints no table before it */
		rc = wk_auditlog_query_run(dir, &q, on_match, &k, errstr, errstr_size);
	} else {
		rc = wk_auditlog_query_run(dir, &q, on_match, &k, errstr, errstr_size);
		if (rc == 0)
			for (size_t i = 0; i < k.n; i++) {
				/* oldest first: from head around the ring; --reverse: newest first
				 */
				size_t j =
				    c->reverse ? (k.head + k.n - 1 - i) % k.n : (k.head + i) % k.n;

				emit(&k, k.line[j], strlen(k.line[j]));
			}
		for (size_t i = 0; i < k.n; i++)
			free(k.line[i]);
		free(k.line);
	}
	if (rc < 0)
		return -1;
	if (!k.printed)
		fprintf(stderr, "No audit records found.\n");
	return 0;
}
