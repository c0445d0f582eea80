/* wk_authz.c - identity from the topic, SubjectAccessReview attributes per action, the decision
 * cache and the per-tenant limits (wk_authz.h). */
#include "wk_authz.h"
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_name.h"

#include <cjson/cJSON.h>

struct wk_authz_cached {
	bool allowed;
	int64_t expires_ms;
	char reason[256];
};

static const char KV[] = "kubevirt.io";

static void check_set(struct wk_authz_check *c, const char *verb, const char *group,
		      const char *res, const char *ns, const char *name)
{
	c->verb = verb;
	c->group = group;
	c->resource = res;
	wk_strlcpy(c->ns, ns ? ns : "", sizeof(c->ns));
	wk_strlcpy(c->name, name ? name : "", sizeof(c->name));
}

size_t wk_authz_checks(enum wk_authz_action act, const char *ns, const char *name,
		       const char *src_ns, const char *src_name, struct wk_authz_check *out)
{
	size_t n = 0;

	switch (act) {
	case WK_AUTHZ_MIGRATE_COLD:
		/* the cold move patches the VM (stop, pin, start): what `virtctl stop` and a
		 * nodeSelector edit need */
		check_set(&out[n++], "patch", KV, "virtualmachines", ns, name);
		/* fall through */
	case WK_AUTHZ_MIGRATE:
		check_set(&out[n++], "create", KV, "virtualmachineinstancemigrations", ns, NULL);
		break;
	case WK_AUTHZ_CANCEL:
		check_set(&out[n++], "delete", KV, "virtualmachineinstancemigrations", ns, NULL);
		break;
	case WK_AUTHZ_DRAIN:
		/* kubectl cordon / drain: update the Node (cluster scope) */
		check_set(&out[n++], "update", "", "nodes", NULL, name);
		break;
	case WK_AUTHZ_CLONE:
		check_set(&out[n++], "create", "clone.kubevirt.io", "virtualmachineclones", ns,
			  NULL);
		check_set(&out[n++], "get", KV, "virtualmachines", src_ns, src_name);
		/* the online route snapshots the source first (docs/cloner.md) */
		check_set(&out[n++], "create", "snapshot.kubevirt.io", "virtualmachinesnapshots",
			  src_ns, NULL);
		break;
	}
	return n;
}

const char *wk_authz_action_name(enum wk_authz_action act)
{
	switch (act) {
	case WK_AUTHZ_MIGRATE:
		return "migrate";
	case WK_AUTHZ_MIGRATE_COLD:
		return "cold-migrate";
	case WK_AUTHZ_CANCEL:
		return "cancel";
	case WK_AUTHZ_DRAIN:
		return "drain";
	case WK_AUTHZ_CLONE:
		return "clone";
	}
	return "?";
}

/* ---- configuration ---- */

struct scan {
	char names[WK_AUTHZ_TENANTS_MAX + 1][WK_AUTHZ_TENANT_LEN];
	size_t n;
	bool bad;
	char bad_key[200];
};

static int scan_cb(const char *key, const char *value, void *opaque)
{
	struct scan *s = opaque;
	const char *dot = strchr(key, '.');
	size_t len = dot ? (size_t)(dot - key) : strlen(key);
	char name[WK_AUTHZ_TENANT_LEN];

	(void)value;
	if (!dot || len == 0 || len >= sizeof(name)) {
		if (!s->bad)
			snprintf(s->bad_key, sizeof(s->bad_key), "%.150s", key);
		s->bad = true;
		return 0;
	}
	memcpy(name, key, len);
	name[len] = 0;
	if (s->n && !strcmp(s->names[s->n - 1], name))
		return 0;
	if (s->n > WK_AUTHZ_TENANTS_MAX)
		return 0;
	wk_strlcpy(s->names[s->n++], name, sizeof(s->names[0]));
	return 0;
}

struct names_cb {
	void (*cb)(const char *, void *);
	void *opaque;
};

size_t wk_authz_tenant_names(const struct wk_config *cfg,
			     void (*cb)(const char *tenant, void *opaque), void *opaque)
{
	struct scan *s = wk_xcalloc(1, sizeof(*s));
	size_t i, n = 0;

	wk_config_foreach(cfg, "authz.tenants.", scan_cb, s);
	for (i = 0; i < s->n && i < WK_AUTHZ_TENANTS_MAX; i++) {
		if (wk_name_check_label(s->names[i], NULL, 0) < 0)
			continue;
		if (cb)
			cb(s->names[i], opaque);
		n++;
	}
	free(s);
	return n;
}

static int tenant_num(const struct wk_config *cfg, const char *t, const char *k, long long def,
		      long long *out, char *errstr, size_t errstr_size)
{
	char key[200];

	snprintf(key, sizeof(key), "authz.tenants.%s.%s", t, k);
	return wk_config_get_int(cfg, key, def, out, errstr, errstr_size);
}

static int tenant_key_ok(const char *key, const char *value, void *opaque)
{
	const char *dot = strchr(key, '.');
	static const char *const known[] = {"user", "groups", "rate", "burst", "max-active"};
	size_t i;

	(void)value;
	if (dot)
		for (i = 0; i < WK_ARRAY_SIZE(known); i++)
			if (!strcmp(dot + 1, known[i]))
				return 0;
	wk_strlcpy(opaque, key, 200);
	return 1;
}

int wk_authz_init(struct wk_authz *a, const struct wk_config *cfg, int64_t now_ms, char *errstr,
		  size_t errstr_size)
{
	struct scan *s;
	long long rate, burst, max_active;
	char bad[200] = "", shortp[128];
	size_t i;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	wk_map_init(&a->cache, free);
	s = wk_xcalloc(1, sizeof(*s));
	wk_config_foreach(cfg, "authz.tenants.", scan_cb, s);
	if (s->bad) {
		wk_err(errstr, errstr_size,
		       "key 'authz.tenants.%s': expected authz.tenants.<tenant>.<user|groups|rate|"
		       "burst|max-active>",
		       s->bad_key);
		goto out;
	}
	if (wk_config_foreach(cfg, "authz.tenants.", tenant_key_ok, bad)) {
		wk_err(errstr, errstr_size,
		       "key 'authz.tenants.%s': unknown (user, groups, rate, burst, max-active)",
		       bad);
		goto out;
	}
	if (s->n > WK_AUTHZ_TENANTS_MAX) {
		wk_err(errstr, errstr_size, "more than %d tenants under authz.tenants",
		       WK_AUTHZ_TENANTS_MAX);
		goto out;
	}
	a->enabled = s->n > 0;
	if (wk_config_get_bool(cfg, "authz.trusted-topics", !a->enabled, &a->trusted_topics, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "authz.router", false, &a->via_router, errstr, errstr_size) <
		0 ||
	    wk_config_get_duration_ms(cfg, "authz.cache-ttl", 10000, &a->cache_ttl_ms, errstr,
				      errstr_size) < 0 ||
	    wk_config_get_int(cfg, "authz.rate", 20, &rate, errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "authz.burst", 50, &burst, errstr, errstr_size) < 0 ||
	    wk_config_get_int(cfg, "authz.max-active", 0, &max_active, errstr, errstr_size) < 0)
		goto out;
	if (rate < 1 || burst < 1 || max_active < 0) {
		wk_err(
		    errstr, errstr_size,
		    "authz.rate and authz.burst must be at least 1, authz.max-active at least 0");
		goto out;
	}
	wk_strlcpy(shortp, wk_config_get(cfg, "authz.tenant-topic-prefix", "requests.t."),
		   sizeof(shortp));
	if (!shortp[0]) {
		wk_err(errstr, errstr_size, "authz.tenant-topic-prefix may not be empty");
		goto out;
	}
	wk_kafka_topic(cfg, shortp, a->topic_prefix, sizeof(a->topic_prefix));
	a->tenants = wk_xcalloc(s->n ? s->n : 1, sizeof(*a->tenants));
	for (i = 0; i < s->n; i++) {
		struct wk_authz_tenant *t = &a->tenants[a->ntenants];
		char key[200], err[256];
		long long tr, tb, tm;
		const char *user, *groups;

		if (wk_name_check_label(s->names[i], err, sizeof(err)) < 0) {
			wk_err(errstr, errstr_size, "tenant '%s' under authz.tenants: %s",
			       s->names[i], err);
			goto out;
		}
		snprintf(key, sizeof(key), "authz.tenants.%s.user", s->names[i]);
		user = wk_config_get(cfg, key, NULL);
		if (!user || !*user || strlen(user) >= sizeof(t->user)) {
			wk_err(errstr, errstr_size,
			       "key '%s': required (the Kubernetes user of the "
			       "tenant, at most 255 bytes)",
			       key);
			goto out;
		}
		snprintf(key, sizeof(key), "authz.tenants.%s.groups", s->names[i]);
		groups = wk_config_get(cfg, key, "");
		if (strlen(groups) >= sizeof(t->groups)) {
			wk_err(errstr, errstr_size, "key '%s': longer than %zu bytes", key,
			       sizeof(t->groups) - 1);
			goto out;
		}
		if (tenant_num(cfg, s->names[i], "rate", rate, &tr, errstr, errstr_size) < 0 ||
		    tenant_num(cfg, s->names[i], "burst", burst, &tb, errstr, errstr_size) < 0 ||
		    tenant_num(cfg, s->names[i], "max-active", max_active, &tm, errstr,
			       errstr_size) < 0)
			goto out;
		if (tr < 1 || tb < 1 || tm < 0) {
			wk_err(
			    errstr, errstr_size,
			    "tenant '%s': rate and burst must be at least 1, max-active at least 0",
			    s->names[i]);
			goto out;
		}
		wk_strlcpy(t->name, s->names[i], sizeof(t->name));
		wk_strlcpy(t->user, user, sizeof(t->user));
		wk_strlcpy(t->groups, groups, sizeof(t->groups));
		wk_tokenbucket_init(&t->bucket, (double)tr, (double)tb, now_ms);
		t->max_active = tm;
		a->ntenants++;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

void wk_authz_release(struct wk_authz *a)
{
	if (!a)
		return;
	wk_map_release(&a->cache);
	free(a->tenants);
	a->tenants = NULL;
	a->ntenants = 0;
}

struct wk_authz_tenant *wk_authz_tenant(struct wk_authz *a, const char *tenant)
{
	size_t i;

	if (!tenant || !*tenant)
		return NULL;
	for (i = 0; i < a->ntenants; i++)
		if (!strcmp(a->tenants[i].name, tenant))
			return &a->tenants[i];
	return NULL;
}

/* ---- identity ---- */

bool wk_authz_is_tenant_topic(const struct wk_authz *a, const char *topic)
{
	size_t pl = strlen(a->topic_prefix);

	return topic && !strncmp(topic, a->topic_prefix, pl) && topic[pl];
}

const char *wk_authz_entry_topic(const struct wk_authz *a, const char *topic,
				 const char *cluster_topic, const char *wktopic)
{
	if (a->via_router && topic && cluster_topic && !strcmp(topic, cluster_topic) && wktopic &&
	    *wktopic)
		return wktopic;
	return topic;
}

int wk_authz_identify(const struct wk_authz *a, const char *topic, const char *const *shared_topics,
		      struct wk_authz_identity *id, char *errstr, size_t errstr_size)
{
	size_t pl = strlen(a->topic_prefix), i;

	memset(id, 0, sizeof(*id));
	wk_strlcpy(id->topic, topic ? topic : "", sizeof(id->topic));
	if (!topic)
		return wk_err(errstr, errstr_size, "no topic");
	if (!strncmp(topic, a->topic_prefix, pl)) {
		const char *t = topic + pl;

		for (i = 0; i < a->ntenants; i++) {
			if (strcmp(a->tenants[i].name, t))
				continue;
			wk_strlcpy(id->tenant, t, sizeof(id->tenant));
			wk_strlcpy(id->user, a->tenants[i].user, sizeof(id->user));
			wk_strlcpy(id->groups, a->tenants[i].groups, sizeof(id->groups));
			return 0;
		}
		return wk_err(errstr, errstr_size,
			      "topic '%.200s' belongs to no configured tenant (authz.tenants.*)",
			      topic);
	}
	for (i = 0; shared_topics && shared_topics[i]; i++) {
		if (strcmp(topic, shared_topics[i]))
			continue;
		if (!a->trusted_topics)
			return wk_err(
			    errstr, errstr_size,
			    "topic '%.200s' is not trusted (authz.trusted-topics is false): "
			    "tenants submit on their own topic '%s<tenant>'",
			    topic, a->topic_prefix);
		id->trusted = true;
		return 0;
	}
	return wk_err(errstr, errstr_size, "topic '%.200s' is not a request topic", topic);
}

void wk_authz_describe(const struct wk_authz_identity *id, char *out, size_t out_size)
{
	if (id->trusted)
		snprintf(out, out_size, "trusted topic '%s'", id->topic);
	else
		snprintf(out, out_size, "tenant '%s' (user '%s')", id->tenant, id->user);
}

cJSON *wk_authz_identity_json(const struct wk_authz_identity *id)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "trusted", id->trusted);
	/* none of them when the topic gave no identity (refused before one was established) */
	if (id->tenant[0])
		cJSON_AddStringToObject(o, "tenant", id->tenant);
	if (id->user[0])
		cJSON_AddStringToObject(o, "user", id->user);
	if (id->groups[0])
		cJSON_AddStringToObject(o, "groups", id->groups);
	cJSON_AddStringToObject(o, "topic", id->topic);
	return o;
}

/* ---- reviews ---- */

static void add_group(cJSON *arr, const char *g, size_t n)
{
	char buf[256];
	const cJSON *e;

	if (n == 0 || n >= sizeof(buf))
		return;
	memcpy(buf, g, n);
	buf[n] = 0;
	cJSON_ArrayForEach(e, arr)
	{
		if (cJSON_IsString(e) && !strcmp(e->valuestring, buf))
			return;
	}
	cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
}

cJSON *wk_authz_review_body(const struct wk_authz_identity *id, const struct wk_authz_check *c)
{
	static const char sa[] = "system:serviceaccount:";
	cJSON *o = cJSON_CreateObject(), *spec, *ra, *groups;
	const char *p = id->groups;

	cJSON_AddStringToObject(o, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "SubjectAccessReview");
	spec = cJSON_AddObjectToObject(o, "spec");
	ra = cJSON_AddObjectToObject(spec, "resourceAttributes");
	cJSON_AddStringToObject(ra, "verb", c->verb);
	cJSON_AddStringToObject(ra, "group", c->group);
	cJSON_AddStringToObject(ra, "resource", c->resource);
	if (c->ns[0])
		cJSON_AddStringToObject(ra, "namespace", c->ns);
	if (c->name[0])
		cJSON_AddStringToObject(ra, "name", c->name);
	cJSON_AddStringToObject(spec, "user", id->user);
	groups = cJSON_AddArrayToObject(spec, "groups");
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		add_group(groups, p, n);
		p = e ? e + 1 : NULL;
	}
	/* A SubjectAccessReview takes the groups as given; a token-authenticated
	 * ServiceAccount has these (k8s.io/apiserver pkg/authentication/serviceaccount/util.go
	 * MakeGroupNames) and every authenticated user system:authenticated. */
	if (!strncmp(id->user, sa, sizeof(sa) - 1)) {
		const char *ns = id->user + sizeof(sa) - 1, *colon = strchr(ns, ':');
		char g[200];

		add_group(groups, "system:serviceaccounts", strlen("system:serviceaccounts"));
		if (colon) {
			snprintf(g, sizeof(g), "system:serviceaccounts:%.*s", (int)(colon - ns),
				 ns);
			add_group(groups, g, strlen(g));
		}
	}
	add_group(groups, "system:authenticated", strlen("system:authenticated"));
	return o;
}

int wk_authz_review_parse(const cJSON *resp, bool *allowed, char *reason, size_t reason_size)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(resp, "kind");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(resp, "status");
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(st, "allowed");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(st, "reason");
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(st, "evaluationError");

	if (reason_size)
		reason[0] = 0;
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "SubjectAccessReview") ||
	    !cJSON_IsBool(al))
		return -1;
	*allowed = cJSON_IsTrue(al);
	if (cJSON_IsString(r) && r->valuestring[0])
		wk_strlcpy(reason, r->valuestring, reason_size);
	else if (cJSON_IsString(ev) && ev->valuestring[0])
		wk_strlcpy(reason, ev->valuestring, reason_size);
	return 0;
}

void wk_authz_denial(const struct wk_authz_identity *id, const struct wk_authz_check *c,
		     const char *reason, char *out, size_t out_size)
{
	char obj[320];

	if (c->name[0])
		snprintf(obj, sizeof(obj), " '%s'", c->name);
	else
		obj[0] = 0;
	snprintf(out, out_size, "user '%s' (tenant '%s') may not %s %s%s%s%s %s%s%s (%s)", id->user,
		 id->tenant, c->verb, c->resource, c->group[0] ? "." : "", c->group, obj,
		 c->ns[0] ? "in namespace '" : "at the cluster scope", c->ns, c->ns[0] ? "'" : "",
		 reason && *reason ? reason : "SubjectAccessReview: no rule allows it");
}

/* ---- cache ---- */

static void cache_key(const struct wk_authz_identity *id, const struct wk_authz_check *c, char *out,
		      size_t n)
{
	snprintf(out, n, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", id->user, id->groups, c->verb,
		 c->group, c->resource, c->ns, c->name);
}

int wk_authz_cache_get(struct wk_authz *a, const struct wk_authz_identity *id,
		       const struct wk_authz_check *c, int64_t now_ms, bool *allowed, char *reason,
		       size_t reason_size)
{
	char key[1400];
	struct wk_authz_cached *e;

	if (a->cache_ttl_ms <= 0)
		return 0;
	cache_key(id, c, key, sizeof(key));
	e = wk_map_get(&a->cache, key);
	if (!e)
		return 0;
	if (now_ms >= e->expires_ms) {
		wk_map_del(&a->cache, key);
		return 0;
	}
	*allowed = e->allowed;
	wk_strlcpy(reason, e->reason, reason_size);
	a->cache_hits++;
	return 1;
}

void wk_authz_cache_put(struct wk_authz *a, const struct wk_authz_identity *id,
			const struct wk_authz_check *c, bool allowed, const char *reason,
			int64_t now_ms)
{
	char key[1400];
	struct wk_authz_cached *e;

	if (a->cache_ttl_ms <= 0)
		return;
	if (wk_map_count(&a->cache) >= WK_AUTHZ_CACHE_MAX) {
		WK_MAP_EACH(it, &a->cache)
		{
			if (now_ms >= ((struct wk_authz_cached *)it.val)->expires_ms)
				wk_map_del(&a->cache, it.key);
		}
		if (wk_map_count(&a->cache) >= WK_AUTHZ_CACHE_MAX)
			wk_map_release(&a->cache);
	}
	cache_key(id, c, key, sizeof(key));
	e = wk_xcalloc(1, sizeof(*e));
	e->allowed = allowed;
	e->expires_ms = now_ms + a->cache_ttl_ms;
	wk_strlcpy(e->reason, reason ? reason : "", sizeof(e->reason));
	wk_map_put(&a->cache, key, e);
}

/* ---- limits ---- */

bool wk_authz_rate_take(struct wk_authz *a, const struct wk_authz_identity *id, int64_t now_ms)
{
	struct wk_authz_tenant *t;

	if (id->trusted)
		return true;
	t = wk_authz_tenant(a, id->tenant);
	return !t || wk_tokenbucket_take(&t->bucket, now_ms);
}

bool wk_authz_slot_free(const struct wk_authz *a, const char *tenant)
{
	size_t i;

	if (!tenant || !*tenant)
		return true;
	for (i = 0; i < a->ntenants; i++)
		if (!strcmp(a->tenants[i].name, tenant))
			return a->tenants[i].max_active == 0 ||
			       a->tenants[i].active < a->tenants[i].max_active;
	return true;
}
