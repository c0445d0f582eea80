/* sim_rbac.c - RBAC evaluation, access reviews and the record of used verbs (sim_rbac.h). */
#include "sim_rbac.h"

#include "wk_log.h"

#include <errno.h>
#include <pthread.h>

#define MAX_REFS 256

void sim_principal_init(struct sim_principal *p, const char *user, const char *const *groups,
			size_t ngroups)
{
	static const char sa_prefix[] = "system:serviceaccount:";

	memset(p, 0, sizeof(*p));
	wk_strlcpy(p->user, user ? user : "", sizeof(p->user));
	for (size_t i = 0; i < ngroups && p->ngroups < SIM_RBAC_MAX_GROUPS - 3; i++)
		if (groups[i] && *groups[i])
			wk_strlcpy(p->groups[p->ngroups++], groups[i], sizeof(p->groups[0]));
	if (!strncmp(p->user, sa_prefix, sizeof(sa_prefix) - 1)) {
		char ns[160];
		char *colon;

		wk_strlcpy(ns, p->user + sizeof(sa_prefix) - 1, sizeof(ns));
		colon = strchr(ns, ':');
		wk_strlcpy(p->groups[p->ngroups++], "system:serviceaccounts",
			   sizeof(p->groups[0]));
		if (colon) {
			*colon = '\0';
			snprintf(p->groups[p->ngroups++], sizeof(p->groups[0]),
				 "system:serviceaccounts:%.120s", ns);
		}
	}
	wk_strlcpy(p->groups[p->ngroups++], "system:authenticated", sizeof(p->groups[0]));
}

/* ---- rule matching (evaluation_helpers.go) ---- */

static bool str_in(const cJSON *arr, const char *s, bool star)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v))
			continue;
		if ((star && !strcmp(v->valuestring, "*")) || !strcmp(v->valuestring, s))
			return true;
	}
	return false;
}

static bool resource_matches(const cJSON *resources, const char *res, const char *sub)
{
	char combined[400];
	const cJSON *v;

	if (sub)
		snprintf(combined, sizeof(combined), "%s/%s", res, sub);
	else
		wk_strlcpy(combined, res, sizeof(combined));
	cJSON_ArrayForEach(v, resources)
	{
		const char *r = cJSON_GetStringValue(v);

		if (!r)
			continue;
		if (!strcmp(r, "*") || !strcmp(r, combined))
			return true;
		/* "*" + "/status" matches any resource's status (upstream's ResourceMatches) */
		if (sub && r[0] == '*' && r[1] == '/' && !strcmp(r + 2, sub))
			return true;
	}
	return false;
}

static bool url_matches(const cJSON *urls, const char *path)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, urls)
	{
		const char *u = cJSON_GetStringValue(v);
		size_t n;

		if (!u)
			continue;
		n = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, path))
			return true;
		if (n && u[n - 1] == '*' && !strncmp(u, path, n - 1))
			return true;
	}
	return false;
}

static bool rule_allows(const cJSON *rule, const struct sim_rbac_attrs *a)
{
	const cJSON *verbs = cJSON_GetObjectItemCaseSensitive(rule, "verbs");

	if (!str_in(verbs, a->verb, true))
		return false;
	if (!a->resource)
		return url_matches(cJSON_GetObjectItemCaseSensitive(rule, "nonResourceURLs"),
				   a->path ? a->path : "");
	if (!str_in(cJSON_GetObjectItemCaseSensitive(rule, "apiGroups"), a->group, true) ||
	    !resource_matches(cJSON_GetObjectItemCaseSensitive(rule, "resources"), a->resource,
			      a->subresource))
		return false;
	{
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(rule, "resourceNames");

		if (cJSON_GetArraySize(names) == 0)
			return true;
		return a->name && str_in(names, a->name, false);
	}
}

/* ---- subjects ---- */

static bool applies_to(const cJSON *subjects, const struct sim_principal *p, const char *bns,
		       char *desc, size_t desc_size)
{
	static const char sa_prefix[] = "system:serviceaccount:";
	const cJSON *s;

	cJSON_ArrayForEach(s, subjects)
	{
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "kind"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "name"));
		const char *sns =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "namespace"));
		char sa[400];

		if (!kind || !name)
			continue;
		if (!strcmp(kind, "User") && !strcmp(name, p->user)) {
			snprintf(desc, desc_size, "User \"%s\"", name);
			return true;
		}
		if (!strcmp(kind, "Group")) {
			for (size_t i = 0; i < p->ngroups; i++)
				if (!strcmp(p->groups[i], name)) {
					snprintf(desc, desc_size, "Group \"%s\"", name);
					return true;
				}
		}
		if (!strcmp(kind, "ServiceAccount")) {
			const char *ns = sns && *sns ? sns : bns;

			if (!ns)
				continue;
			snprintf(sa, sizeof(sa), "%s%s:%s", sa_prefix, ns, name);
			if (!strcmp(sa, p->user)) {
				snprintf(desc, desc_size, "ServiceAccount \"%s/%s\"", name, ns);
				return true;
			}
		}
	}
	return false;
}

/* A binding that applies to the principal: its role and how to describe it. */
struct ref {
	bool cluster_role;
	char role[254];
	char binding[320];
	char subject[420];
	char ns[64]; /* RoleBinding's namespace ("" for a ClusterRoleBinding) */
};

struct collect {
	const struct sim_principal *p;
	struct ref *refs;
	size_t n;
};

static int collect_one(const cJSON *b, void *opaque)
{
	struct collect *c = opaque;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(b, "metadata");
	const cJSON *rr = cJSON_GetObjectItemCaseSensitive(b, "roleRef");
	const char *bname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
	const char *bns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rr, "kind"));
	const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rr, "name"));
	struct ref *r;
	char desc[420];

	if (!bname || !kind || !role || c->n >= MAX_REFS)
		return 0;
	if (!applies_to(cJSON_GetObjectItemCaseSensitive(b, "subjects"), c->p, bns, desc,
			sizeof(desc)))
		return 0;
	r = &c->refs[c->n++];
	r->cluster_role = !strcmp(kind, "ClusterRole");
	wk_strlcpy(r->role, role, sizeof(r->role));
	if (bns && *bns)
		snprintf(r->binding, sizeof(r->binding), "RoleBinding \"%s/%s\"", bname, bns);
	else
		snprintf(r->binding, sizeof(r->binding), "ClusterRoleBinding \"%s\"", bname);
	wk_strlcpy(r->subject, desc, sizeof(r->subject));
	wk_strlcpy(r->ns, bns ? bns : "", sizeof(r->ns));
	return 0;
}

static bool bootstrap_allows(const struct sim_rbac_attrs *a)
{
	static const char *const urls[] = {"/api", "/apis", "/version", "/openapi", "/healthz",
					   "/livez", "/readyz"};

	if (!a->resource) {
		if (strcmp(a->verb, "get") || !a->path)
			return false;
		for (size_t i = 0; i < WK_ARRAY_SIZE(urls); i++) {
			size_t n = strlen(urls[i]);

			if (!strncmp(a->path, urls[i], n) && (!a->path[n] || a->path[n] == '/'))
				return true;
		}
		return false;
	}
	return !strcmp(a->verb, "create") && !strcmp(a->group, "authorization.k8s.io") &&
	       !a->subresource &&
	       (!strcmp(a->resource, "selfsubjectaccessreviews") ||
		!strcmp(a->resource, "selfsubjectrulesreviews"));
}

static bool decide(struct sim_store *st, const struct sim_principal *p,
		   const struct sim_rbac_attrs *a, char *reason, size_t reason_size)
{
	const struct sim_resource *crb =
	    sim_resource_find("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
	const struct sim_resource *rb =
	    sim_resource_find("rbac.authorization.k8s.io", "v1", "rolebindings");
	const struct sim_resource *cr =
	    sim_resource_find("rbac.authorization.k8s.io", "v1", "clusterroles");
	const struct sim_resource *ro = sim_resource_find("rbac.authorization.k8s.io", "v1", "roles");
	struct ref *refs = wk_xcalloc(MAX_REFS, sizeof(*refs));
	struct collect c = {p, refs, 0};
	bool allowed = false;

	reason[0] = '\0';
	if (bootstrap_allows(a)) {
		snprintf(reason, reason_size,
			 "RBAC: allowed by ClusterRoleBinding \"system:%s\" of ClusterRole "
			 "\"system:%s\" to Group \"system:authenticated\"",
			 a->resource ? "basic-user" : "discovery",
			 a->resource ? "basic-user" : "discovery");
		free(refs);
		return true;
	}
	if (!crb || !rb || !cr || !ro) {
		free(refs);
		return false;
	}
	sim_store_foreach(st, crb, NULL, collect_one, &c);
	/* a RoleBinding grants only inside its namespace, never at the cluster scope */
	if (a->ns && a->resource)
		sim_store_foreach(st, rb, a->ns, collect_one, &c);
	for (size_t i = 0; i < c.n && !allowed; i++) {
		struct ref *r = &refs[i];
		cJSON *role = r->cluster_role ? sim_store_get(st, cr, NULL, r->role)
					      : sim_store_get(st, ro, r->ns, r->role);
		const cJSON *rule;

		if (!role)
			continue; /* a binding to a missing role grants nothing */
		cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(role, "rules"))
		{
			if (rule_allows(rule, a)) {
				allowed = true;
				snprintf(reason, reason_size, "RBAC: allowed by %s of %s \"%s\" to %s",
					 r->binding, r->cluster_role ? "ClusterRole" : "Role",
					 r->role, r->subject);
				break;
			}
		}
		cJSON_Delete(role);
	}
	free(refs);
	return allowed;
}

bool sim_rbac_allowed(struct sim_store *st, const struct sim_principal *p,
		      const struct sim_rbac_attrs *a)
{
	char reason[1024];

	return decide(st, p, a, reason, sizeof(reason));
}

/* ---- the record of used verbs ---- */

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *rec_file;
static char **rec_seen;
static size_t rec_n;

int sim_rbac_record_open(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return wk_err(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&rec_lock);
	if (rec_file)
		fclose(rec_file);
	rec_file = f;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

void sim_rbac_record_close(void)
{
	pthread_mutex_lock(&rec_lock);
	if (rec_file)
		fclose(rec_file);
	rec_file = NULL;
	for (size_t i = 0; i < rec_n; i++)
		free(rec_seen[i]);
	free(rec_seen);
	rec_seen = NULL;
	rec_n = 0;
	pthread_mutex_unlock(&rec_lock);
}

void sim_rbac_record(const struct sim_principal *p, const struct sim_rbac_attrs *a, bool allowed)
{
	char line[1200];

	if (!rec_file || !a->resource)
		return;
	/* user verb group resource[/sub] namespace("*" = cluster scope) decision */
	snprintf(line, sizeof(line), "%s\t%s\t%s\t%s%s%s\t%s\t%s", p->user, a->verb,
		 a->group[0] ? a->group : "core", a->resource, a->subresource ? "/" : "",
		 a->subresource ? a->subresource : "", a->ns ? a->ns : "*",
		 allowed ? "allowed" : "denied");
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < rec_n; i++)
		if (!strcmp(rec_seen[i], line)) {
			pthread_mutex_unlock(&rec_lock);
			return;
		}
	if (rec_n < 100000 && rec_file) {
		rec_seen = wk_xrealloc(rec_seen, (rec_n + 1) * sizeof(char *));
		rec_seen[rec_n++] = wk_xstrdup(line);
		fprintf(rec_file, "%s\n", line);
	}
	pthread_mutex_unlock(&rec_lock);
}

/* ---- access reviews ---- */

static const char *sget(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

cJSON *sim_rbac_review(struct sim_store *st, const struct sim_principal *self, bool self_review,
		       const cJSON *body, char *msg, size_t msg_size)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(body, "spec");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(spec, "resourceAttributes");
	const cJSON *nra = cJSON_GetObjectItemCaseSensitive(spec, "nonResourceAttributes");
	struct sim_principal who;
	struct sim_rbac_attrs a;
	char reason[1024];
	cJSON *out, *status;
	bool allowed;

	if (!cJSON_IsObject(spec)) {
		snprintf(msg, msg_size, "spec: Required value");
		return NULL;
	}
	if (!!cJSON_IsObject(ra) == !!cJSON_IsObject(nra)) {
		/* pkg/apis/authorization/validation: exactly one of them */
		snprintf(msg, msg_size,
			 "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
			 "nonResourceAttributes or resourceAttributes must be specified");
		return NULL;
	}
	if (self_review) {
		who = *self;
	} else {
		const char *user = sget(spec, "user");
		const cJSON *groups = cJSON_GetObjectItemCaseSensitive(spec, "groups"), *g;
		const char *gv[SIM_RBAC_MAX_GROUPS];
		size_t ng = 0;

		if ((!user || !*user) && cJSON_GetArraySize(groups) == 0) {
			snprintf(msg, msg_size,
				 "spec.user: Invalid value: \"\": at least one of user or group "
				 "must be specified");
			return NULL;
		}
		cJSON_ArrayForEach(g, groups)
		{
			if (cJSON_IsString(g) && ng < WK_ARRAY_SIZE(gv))
				gv[ng++] = g->valuestring;
		}
		/* a SubjectAccessReview names the groups itself: no implied ones (upstream passes
		 * spec.groups as they are) */
		memset(&who, 0, sizeof(who));
		wk_strlcpy(who.user, user ? user : "", sizeof(who.user));
		for (size_t i = 0; i < ng; i++)
			wk_strlcpy(who.groups[who.ngroups++], gv[i], sizeof(who.groups[0]));
	}
	memset(&a, 0, sizeof(a));
	if (ra) {
		const char *ns = sget(ra, "namespace"), *name = sget(ra, "name");
		const char *sub = sget(ra, "subresource");

		a.verb = sget(ra, "verb") ? sget(ra, "verb") : "";
		a.group = sget(ra, "group") ? sget(ra, "group") : "";
		a.resource = sget(ra, "resource") ? sget(ra, "resource") : "";
		a.subresource = sub && *sub ? sub : NULL;
		a.ns = ns && *ns ? ns : NULL;
		a.name = name && *name ? name : NULL;
	} else {
		a.verb = sget(nra, "verb") ? sget(nra, "verb") : "";
		a.path = sget(nra, "path") ? sget(nra, "path") : "";
	}
	allowed = decide(st, &who, &a, reason, sizeof(reason));
	out = cJSON_Duplicate(body, true);
	cJSON_DeleteItemFromObjectCaseSensitive(out, "status");
	if (!cJSON_GetObjectItemCaseSensitive(out, "metadata"))
		cJSON_AddObjectToObject(out, "metadata");
	{
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(out, "metadata");

		if (!cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))
			cJSON_AddNullToObject(meta, "creationTimestamp");
	}
	status = cJSON_AddObjectToObject(out, "status");
	cJSON_AddBoolToObject(status, "allowed", allowed);
	if (reason[0])
		cJSON_AddStringToObject(status, "reason", reason);
	return out;
}
