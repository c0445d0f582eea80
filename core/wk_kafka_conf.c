/* wk_kafka_conf.c - the "kafka.*", "kafka.producer.*" and "kafka.consumer.*" config namespaces:
 * which librdkafka properties reach a producer and which a consumer.
 *
 * librdkafka accepts a consumer-only property on a producer's configuration (and the reverse) and
 * then logs CONFWARN at rd_kafka_new(). Each property's scope ("*", "P", "C") comes from
 * librdkafka's own property table (rd_kafka_conf_properties_show), read once, so this module
 * never carries a copy of it:
 *   kafka.KEY            every client for which KEY is valid ("*": both; "P": producers only;
 *                        "C": consumers only) - a plain key never reaches a client it means nothing to
 *   kafka.producer.KEY   producers only; KEY must be valid for a producer (config error otherwise)
 *   kafka.consumer.KEY   consumers only; KEY must be valid for a consumer
 * A role-specific key overrides the plain one. */
#include "wk_kafka.h"

#include "wk_config.h"
#include "wk_log.h"

#include <pthread.h>

struct scope_entry {
	char *name;
	char scope; /* '*', 'P' or 'C' */
};

static struct scope_entry *scope_tab;
static size_t scope_n;
static pthread_once_t scope_once = PTHREAD_ONCE_INIT;

/* One table row: "name   |  C  | range | default | importance | description". Section headers,
 * the column header and the rule lines are skipped; topic-level properties (a second table) are
 * listed too and are valid for both roles unless marked. */
static void scope_line(char *line)
{
	char *bar = strchr(line, '|');
	char *end, *s;
	char sc;

	if (!bar || line[0] == '#' || line[0] == '-')
		return;
	end = bar;
	while (end > line && end[-1] == ' ')
		end--;
	*end = '\0';
	if (!line[0] || !strcmp(line, "Property"))
		return;
	for (s = bar + 1; *s == ' '; s++)
		;
	if (*s == '*' || *s == 'P' || *s == 'C')
		sc = *s;
	else
		return;
	if (sc != '*' && s[1] == '/') /* "C/P" */
		sc = '*';
	for (size_t i = 0; i < scope_n; i++) {
		if (!strcmp(scope_tab[i].name, line)) {
			if (scope_tab[i].scope != sc) /* listed in both tables with two scopes */
				scope_tab[i].scope = '*';
			return;
		}
	}
	scope_tab = wk_xrealloc(scope_tab, (scope_n + 1) * sizeof(*scope_tab));
	scope_tab[scope_n].name = wk_xstrdup(line);
	scope_tab[scope_n].scope = sc;
	scope_n++;
}

static void scope_load(void)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	rd_kafka_conf_properties_show(f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		scope_line(line);
	free(text);
}

char wk_kafka_property_scope(const char *key)
{
	pthread_once(&scope_once, scope_load);
	for (size_t i = 0; i < scope_n; i++) {
		if (!strcmp(scope_tab[i].name, key))
			return scope_tab[i].scope;
	}
	return '?';
}

static bool scope_fits(char scope, enum wk_kafka_role role)
{
	if (scope == '*' || scope == '?') /* unknown keys go on: librdkafka rejects them by name */
		return true;
	return (scope == 'P') == (role == WK_KAFKA_PRODUCER);
}

static const char *role_prefix(enum wk_kafka_role role)
{
	return role == WK_KAFKA_PRODUCER ? "kafka.producer." : "kafka.consumer.";
}

const char *wk_kafka_conf_user(const struct wk_config *cfg, enum wk_kafka_role role,
			       const char *key)
{
	char full[300];
	const char *v;

	if (!cfg)
		return NULL;
	snprintf(full, sizeof(full), "%s%s", role_prefix(role), key);
	v = wk_config_get(cfg, full, NULL);
	if (v)
		return v;
	snprintf(full, sizeof(full), "kafka.%s", key);
	return scope_fits(wk_kafka_property_scope(key), role) ? wk_config_get(cfg, full, NULL)
								: NULL;
}

/* Config keys whose values must never reach a log line. */
static bool is_secret_key(const char *key)
{
	return strstr(key, "password") || strstr(key, "secret") || !strcmp(key, "ssl.key.pem") ||
	       !strcmp(key, "sasl.oauthbearer.config") || !strcmp(key, "ssl_key.pem");
}

struct apply_ctx {
	rd_kafka_conf_t *conf;
	const struct wk_config *cfg;
	enum wk_kafka_role role;
	const char *prefix; /* the config prefix being walked, for the error message */
	bool specific;	    /* walking kafka.producer. / kafka.consumer. */
	char *errstr;
	size_t errstr_size;
};

static int apply_one(const char *key, const char *value, void *opaque)
{
	struct apply_ctx *c = opaque;
	const char *origin;
	char full[300], err[256];
	char scope;

	if (!c->specific && (!strncmp(key, "producer.", 9) || !strncmp(key, "consumer.", 9)))
		return 0; /* a role namespace, walked on its own */
	snprintf(full, sizeof(full), "%s%s", c->prefix, key);
	origin = wk_config_origin(c->cfg, full);
	scope = wk_kafka_property_scope(key);
	if (!scope_fits(scope, c->role)) {
		if (!c->specific)
			return 0;
		return wk_err(c->errstr, c->errstr_size, "%s: key '%s': '%s' is a %s property",
			      origin ? origin : "config", full, key,
			      scope == 'P' ? "producer" : "consumer");
	}
	if (is_secret_key(key))
		wk_log_add_secret(value);
	if (rd_kafka_conf_set(c->conf, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
		return 0;
	return wk_err(c->errstr, c->errstr_size, "%s: key '%s': %s", origin ? origin : "config",
		      full, err);
}

int wk_kafka_conf_apply(rd_kafka_conf_t *conf, const struct wk_config *cfg,
			enum wk_kafka_role role, char *errstr, size_t errstr_size)
{
	struct apply_ctx c = {conf, cfg, role, "kafka.", false, errstr, errstr_size};

	if (wk_config_foreach(cfg, "kafka.", apply_one, &c))
		return -1;
	c.prefix = role_prefix(role);
	c.specific = true;
	return wk_config_foreach(cfg, c.prefix, apply_one, &c);
}
