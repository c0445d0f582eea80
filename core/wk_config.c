/* wk_config.c - YAML (libyaml event parser) + environment + -X overrides into one sorted table of
 * dotted keys, each remembering where its value came from.
 *
 * Decisions: aliases are refused (no billion-laughs expansion to guard against); a key given twice
 * in one file, including through flattening (`a: {b: 1}` and `a.b: 2`), is an error naming both
 * lines; across sources the later one wins. A null scalar (`key:`, `~`, `null`) sets "".
 */
#include "wk_config.h"
#include "wk_buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_KEY_MAX 256
#define CONFIG_VALUE_MAX (64 * 1024)
#define CONFIG_KEYS_MAX 4096
#define CONFIG_DEPTH_MAX 16

extern char **environ;

struct entry {
	char *key;
	char *value;
	char *origin;
	unsigned gen; /* load that set it: detects duplicates within one file */
};

struct wk_config {
	struct entry *e;
	size_t n, alloc;
	unsigned gen;
};

struct wk_config *wk_config_new(void)
{
	return wk_xcalloc(1, sizeof(struct wk_config));
}

void wk_config_destroy(struct wk_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n; i++) {
		free(cfg->e[i].key);
		free(cfg->e[i].value);
		free(cfg->e[i].origin);
	}
	free(cfg->e);
	free(cfg);
}

/* Index of key, or -(insertion point) - 1. */
static long find(const struct wk_config *cfg, const char *key)
{
	size_t lo = 0, hi = cfg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cfg->e[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static struct entry *lookup(const struct wk_config *cfg, const char *key)
{
	long i = find(cfg, key);

	return i >= 0 ? &cfg->e[i] : NULL;
}

/* Insert or replace; the caller has checked the caps. */
static void put(struct wk_config *cfg, const char *key, const char *value, size_t value_len,
		const char *origin)
{
	long i = find(cfg, key);
	struct entry *e;

	if (i < 0) {
		size_t at = (size_t)(-i - 1);

		if (cfg->n == cfg->alloc) {
			cfg->alloc = cfg->alloc ? cfg->alloc * 2 : 32;
			cfg->e = wk_xrealloc(cfg->e, cfg->alloc * sizeof(*cfg->e));
		}
		memmove(&cfg->e[at + 1], &cfg->e[at], (cfg->n - at) * sizeof(*cfg->e));
		cfg->n++;
		e = &cfg->e[at];
		e->key = wk_xstrdup(key);
	} else {
		e = &cfg->e[i];
		free(e->value);
		free(e->origin);
	}
	e->value = wk_xstrndup(value, value_len);
	e->origin = wk_xstrdup(origin);
	e->gen = cfg->gen;
}

void wk_config_set(struct wk_config *cfg, const char *key, const char *value)
{
	put(cfg, key, value, strlen(value), "set");
}

/* Common checks for a key/value about to be stored; `where` prefixes the error. */
static int check_entry(const struct wk_config *cfg, const char *where, const char *key,
		       size_t value_len, char *errstr, size_t errstr_size)
{
	size_t i, len = strlen(key);

	if (len == 0)
		return wk_err(errstr, errstr_size, "%s: empty key", where);
	if (len > CONFIG_KEY_MAX)
		return wk_err(errstr, errstr_size, "%s: key '%.40s...' longer than %d bytes", where,
			      key, CONFIG_KEY_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c <= ' ' || c >= 0x7f || c == '=')
			return wk_err(errstr, errstr_size,
				      "%s: key '%.80s' has a character outside printable ASCII "
				      "or '='",
				      where, key);
	}
	if (key[0] == '.' || key[len - 1] == '.' || strstr(key, ".."))
		return wk_err(errstr, errstr_size, "%s: key '%s' has an empty part", where, key);
	if (value_len > CONFIG_VALUE_MAX)
		return wk_err(errstr, errstr_size, "%s: key '%s': value longer than %d bytes",
			      where, key, CONFIG_VALUE_MAX);
	if (!lookup(cfg, key) && cfg->n >= CONFIG_KEYS_MAX)
		return wk_err(errstr, errstr_size, "%s: more than %d keys", where, CONFIG_KEYS_MAX);
	return 0;
}

/* ---- YAML ---- */

struct loader {
	struct wk_config *cfg;
	const char *name;
	yaml_parser_t parser;
	char *errstr;
	size_t errstr_size;
};

static int fail_at(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
    WK_PRINTF(3, 4);

static int fail_at(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return wk_err(ld->errstr, ld->errstr_size, "%s:%zu: %s", ld->name, mark->line + 1, msg);
}

static int next(struct loader *ld, yaml_event_t *ev)
{
	if (yaml_parser_parse(&ld->parser, ev))
		return 0;
	return wk_err(ld->errstr, ld->errstr_size, "%s:%zu: %s%s%s", ld->name,
		      ld->parser.problem_mark.line + 1,
		      ld->parser.problem ? ld->parser.problem : "malformed YAML",
		      ld->parser.context ? " " : "", ld->parser.context ? ld->parser.context : "");
}

static bool is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static int store(struct loader *ld, const char *key, const char *value, size_t len,
		 const yaml_mark_t *mark)
{
	char where[300];
	const struct entry *old;

	snprintf(where, sizeof(where), "%s:%zu", ld->name, mark->line + 1);
	if (memchr(value, '\0', len))
		return wk_err(ld->errstr, ld->errstr_size,
			      "%s: key '%s': value contains a NUL byte", where, key);
	if (check_entry(ld->cfg, where, key, len, ld->errstr, ld->errstr_size) < 0)
		return -1;
	old = lookup(ld->cfg, key);
	if (old && old->gen == ld->cfg->gen)
		return wk_err(ld->errstr, ld->errstr_size,
			      "%s: duplicate key '%s' (first set at %s)", where, key, old->origin);
	put(ld->cfg, key, value, len, where);
	return 0;
}

/* A sequence of scalars becomes one comma-separated value. */
static int load_sequence(struct loader *ld, const char *key, const yaml_mark_t *start)
{
	struct wk_buf b;
	yaml_event_t ev;
	int rc = -1;
	bool first = true;

	wk_buf_init(&b, CONFIG_VALUE_MAX);
	for (;;) {
		if (next(ld, &ev) < 0)
			goto out;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			fail_at(ld, &ev.start_mark, "aliases are not supported ('*%s')",
				(const char *)ev.data.alias.anchor);
			yaml_event_delete(&ev);
			goto out;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			fail_at(ld, &ev.start_mark, "key '%s': sequence items must be scalars",
				key);
			yaml_event_delete(&ev);
			goto out;
		}
		if ((!first && wk_buf_adds(&b, ",") < 0) ||
		    wk_buf_add(&b, ev.data.scalar.value, ev.data.scalar.length) < 0) {
			fail_at(ld, &ev.start_mark, "key '%s': value longer than %d bytes", key,
				CONFIG_VALUE_MAX);
			yaml_event_delete(&ev);
			goto out;
		}
		first = false;
		yaml_event_delete(&ev);
	}
	rc = store(ld, key, b.buf ? b.buf : "", b.len, start);
out:
	wk_buf_release(&b);
	return rc;
}

static int load_mapping(struct loader *ld, const char *prefix, int depth)
{
	yaml_event_t kev, vev;
	char key[CONFIG_KEY_MAX + 2];
	int rc;

	for (;;) {
		if (next(ld, &kev) < 0)
			return -1;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (kev.type == YAML_ALIAS_EVENT) {
			fail_at(ld, &kev.start_mark, "aliases are not supported ('*%s')",
				(const char *)kev.data.alias.anchor);
			yaml_event_delete(&kev);
			return -1;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			fail_at(ld, &kev.start_mark, "expected a scalar key");
			yaml_event_delete(&kev);
			return -1;
		}
		if ((*prefix ? strlen(prefix) + 1 : 0) + kev.data.scalar.length > CONFIG_KEY_MAX) {
			fail_at(ld, &kev.start_mark, "key longer than %d bytes", CONFIG_KEY_MAX);
			yaml_event_delete(&kev);
			return -1;
		}
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
			 (const char *)kev.data.scalar.value);
		if (kev.data.scalar.length == 0 ||
		    memchr(kev.data.scalar.value, '\0', kev.data.scalar.length)) {
			fail_at(ld, &kev.start_mark, "empty key under '%s'", prefix);
			yaml_event_delete(&kev);
			return -1;
		}
		if (next(ld, &vev) < 0) {
			yaml_event_delete(&kev);
			return -1;
		}
		switch (vev.type) {
		case YAML_SCALAR_EVENT:
			if (is_null_scalar(&vev))
				rc = store(ld, key, "", 0, &kev.start_mark);
			else
				rc = store(ld, key, (const char *)vev.data.scalar.value,
					   vev.data.scalar.length, &kev.start_mark);
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth >= CONFIG_DEPTH_MAX)
				rc = fail_at(ld, &vev.start_mark, "nesting deeper than %d levels",
					     CONFIG_DEPTH_MAX);
			else
				rc = load_mapping(ld, key, depth + 1);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = load_sequence(ld, key, &kev.start_mark);
			break;
		case YAML_ALIAS_EVENT:
			rc = fail_at(ld, &vev.start_mark, "aliases are not supported ('*%s')",
				     (const char *)vev.data.alias.anchor);
			break;
		default:
			rc = fail_at(ld, &vev.start_mark, "unexpected YAML event");
			break;
		}
		yaml_event_delete(&kev);
		yaml_event_delete(&vev);
		if (rc < 0)
			return -1;
	}
}

static int load_document(struct loader *ld)
{
	yaml_event_t ev;
	int rc = 0;
	int docs = 0;

	if (next(ld, &ev) < 0)
		return -1;
	if (ev.type != YAML_STREAM_START_EVENT) {
		rc = fail_at(ld, &ev.start_mark, "malformed YAML stream");
		yaml_event_delete(&ev);
		return rc;
	}
	yaml_event_delete(&ev);
	for (;;) {
		if (next(ld, &ev) < 0)
			return -1;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			rc = fail_at(ld, &ev.start_mark, "malformed YAML stream");
			yaml_event_delete(&ev);
			return rc;
		}
		if (++docs > 1) {
			rc = fail_at(ld, &ev.start_mark, "more than one YAML document");
			yaml_event_delete(&ev);
			return rc;
		}
		yaml_event_delete(&ev);
		if (next(ld, &ev) < 0)
			return -1;
		if (ev.type == YAML_MAPPING_START_EVENT) {
			rc = load_mapping(ld, "", 1);
		} else if (ev.type == YAML_SCALAR_EVENT && is_null_scalar(&ev)) {
			rc = 0; /* an empty document is an empty config */
		} else {
			rc = fail_at(ld, &ev.start_mark, "expected a mapping");
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
		if (next(ld, &ev) < 0)
			return -1;
		if (ev.type != YAML_DOCUMENT_END_EVENT) {
			rc = fail_at(ld, &ev.start_mark, "expected the end of the document");
			yaml_event_delete(&ev);
			return rc;
		}
		yaml_event_delete(&ev);
	}
}

static int load_buffer(struct wk_config *cfg, const char *name, const char *yaml, size_t len,
		       char *errstr, size_t errstr_size)
{
	struct loader ld = {.cfg = cfg, .name = name, .errstr = errstr, .errstr_size = errstr_size};
	int rc;

	if (len > CONFIG_FILE_MAX)
		return wk_err(errstr, errstr_size, "%s: larger than %d bytes", name,
			      CONFIG_FILE_MAX);
	if (!yaml_parser_initialize(&ld.parser))
		return wk_err(errstr, errstr_size, "%s: cannot initialize the YAML parser", name);
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)yaml, len);
	cfg->gen++;
	rc = load_document(&ld);
	yaml_parser_delete(&ld.parser);
	return rc;
}

int wk_config_load_string(struct wk_config *cfg, const char *name, const char *yaml, char *errstr,
			  size_t errstr_size)
{
	return load_buffer(cfg, name, yaml, strlen(yaml), errstr, errstr_size);
}

int wk_config_load_file(struct wk_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
	struct wk_buf b;
	char chunk[65536];
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wk_err(errstr, errstr_size, "cannot open config '%s': %s", path,
			      strerror(errno));
	/* Read with a cap instead of trusting st_size: the file may be a pipe or still growing. */
	wk_buf_init(&b, CONFIG_FILE_MAX);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = wk_err(errstr, errstr_size, "cannot read config '%s': %s", path,
				    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (wk_buf_add(&b, chunk, (size_t)n) < 0) {
			rc = wk_err(errstr, errstr_size, "%s: larger than %d bytes", path,
				    CONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = load_buffer(cfg, path, b.buf ? b.buf : "", b.len, errstr, errstr_size);
out:
	close(fd);
	wk_buf_release(&b);
	return rc;
}

/* ---- environment and -X ---- */

int wk_config_load_env(struct wk_config *cfg, char **envp, char *errstr, size_t errstr_size)
{
	static const char prefix[] = "WUKONG_";
	char key[CONFIG_KEY_MAX + 1], where[CONFIG_KEY_MAX + 16];
	char **ep;

	cfg->gen++;
	for (ep = envp ? envp : environ; ep && *ep; ep++) {
		const char *var = *ep, *eq = strchr(var, '='), *p;
		size_t klen = 0;

		if (!eq || strncmp(var, prefix, sizeof(prefix) - 1) != 0)
			continue;
		p = var + sizeof(prefix) - 1;
		if ((size_t)(eq - p) == 0 || (eq - p == 6 && !strncmp(p, "CONFIG", 6)) ||
		    (eq - p == 3 && !strncmp(p, "DIR", 3)))
			continue;
		snprintf(where, sizeof(where), "env %.*s%s", (int)(eq - var > 64 ? 64 : eq - var),
			 var, eq - var > 64 ? "..." : "");
		if (eq - p > CONFIG_KEY_MAX)
			return wk_err(errstr, errstr_size, "%s: key longer than %d bytes", where,
				      CONFIG_KEY_MAX);
		/* "__" spells '-' (http.addr-file = WUKONG_HTTP_ADDR__FILE), '_' spells '.'. */
		for (; p < eq; p++) {
			if (p[0] == '_' && p + 1 < eq && p[1] == '_') {
				key[klen++] = '-';
				p++;
			} else if (*p == '_') {
				key[klen++] = '.';
			} else {
				key[klen++] =
				    (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
			}
		}
		key[klen] = '\0';
		if (check_entry(cfg, where, key, strlen(eq + 1), errstr, errstr_size) < 0)
			return -1;
		put(cfg, key, eq + 1, strlen(eq + 1), where);
	}
	return 0;
}

int wk_config_set_arg(struct wk_config *cfg, const char *arg, char *errstr, size_t errstr_size)
{
	const char *eq = strchr(arg, '=');
	char key[CONFIG_KEY_MAX + 1];

	if (!eq)
		return wk_err(errstr, errstr_size, "-X '%.80s': expected key=value", arg);
	if ((size_t)(eq - arg) > CONFIG_KEY_MAX)
		return wk_err(errstr, errstr_size, "-X: key longer than %d bytes", CONFIG_KEY_MAX);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	if (check_entry(cfg, "-X", key, strlen(eq + 1), errstr, errstr_size) < 0)
		return -1;
	put(cfg, key, eq + 1, strlen(eq + 1), "-X");
	return 0;
}

/* ---- getters ---- */

const char *wk_config_get(const struct wk_config *cfg, const char *key, const char *def)
{
	const struct entry *e = lookup(cfg, key);

	return e ? e->value : def;
}

const char *wk_config_origin(const struct wk_config *cfg, const char *key)
{
	const struct entry *e = lookup(cfg, key);

	return e ? e->origin : NULL;
}

static int bad_value(const struct entry *e, const char *what, char *errstr, size_t errstr_size)
{
	return wk_err(errstr, errstr_size, "%s: key '%s': '%.80s' is not %s", e->origin, e->key,
		      e->value, what);
}

int wk_config_get_int(const struct wk_config *cfg, const char *key, long long def, long long *out,
		      char *errstr, size_t errstr_size)
{
	const struct entry *e = lookup(cfg, key);
	char *end;
	long long v;

	if (!e) {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtoll(e->value, &end, 10);
	if (!*e->value || *end || end == e->value || e->value[0] == ' ' || e->value[0] == '\t')
		return bad_value(e, "an integer", errstr, errstr_size);
	if (errno == ERANGE)
		return bad_value(e, "an integer in range", errstr, errstr_size);
	*out = v;
	return 0;
}

int wk_config_get_bool(const struct wk_config *cfg, const char *key, bool def, bool *out,
		       char *errstr, size_t errstr_size)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	const struct entry *e = lookup(cfg, key);
	size_t i;

	if (!e) {
		*out = def;
		return 0;
	}
	for (i = 0; i < WK_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(e->value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(e->value, no[i])) {
			*out = false;
			return 0;
		}
	}
	return bad_value(e, "a boolean (true/false)", errstr, errstr_size);
}

int wk_config_get_duration_ms(const struct wk_config *cfg, const char *key, long long def,
			      long long *out, char *errstr, size_t errstr_size)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const struct entry *e = lookup(cfg, key);
	const char *p;
	long long v = 0;
	size_t i;

	if (!e) {
		*out = def;
		return 0;
	}
	for (p = e->value; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return bad_value(e, "a duration in range", errstr, errstr_size);
		v = v * 10 + (*p - '0');
	}
	if (p == e->value)
		return bad_value(e, "a duration (250ms, 10s, 5m, 1h)", errstr, errstr_size);
	for (i = 0; i < WK_ARRAY_SIZE(units); i++) {
		if (!strcmp(p, units[i].unit)) {
			if (v > LLONG_MAX / units[i].ms)
				return bad_value(e, "a duration in range", errstr, errstr_size);
			*out = v * units[i].ms;
			return 0;
		}
	}
	return bad_value(e, "a duration (250ms, 10s, 5m, 1h)", errstr, errstr_size);
}

int wk_config_foreach(const struct wk_config *cfg, const char *prefix,
		      int (*cb)(const char *key, const char *value, void *opaque), void *opaque)
{
	size_t plen = strlen(prefix);
	long i = find(cfg, prefix);
	size_t at = i >= 0 ? (size_t)i : (size_t)(-i - 1);
	int rc;

	for (; at < cfg->n && strncmp(cfg->e[at].key, prefix, plen) == 0; at++) {
		rc = cb(cfg->e[at].key + plen, cfg->e[at].value, opaque);
		if (rc)
			return rc;
	}
	return 0;
}
