/* sim_api.c - the simulator's Kubernetes REST API over sim_store (routing, auth, discovery,
 * OpenAPI stubs, CRUD, patch, list, watch), shaped after kube-apiserver 1.32. */
#include "sim_api.h"
#include "wk_json.h"
#include "sim_kv.h"

#include "sim_patch.h"

#include "sim_crds.h"
#include "sim_proto.h"
#include "sim_rbac.h"
#include "wk_json.h"
#include "sim_sa.h"

#include "sim_store.h"
#include "sim_schema.h"
#include "sim_table.h"
#include "sim_yaml.h"
#include "wk_log.h"
#include "wk_name.h"
#include "wk_selector.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOKENS 64
#define MAX_SEGS 8
#define WATCH_BATCH 256

struct token {
	char *token;
	char *user;
	char *namespaces; /* NULL = all */
	char *verbs;	  /* NULL = all */
	/* A ServiceAccount token or an impersonated identity: RBAC decides (sim_rbac.c). */
	bool rbac;
	const struct sim_principal *principal;
};

struct sim_api {
	struct sim_store *st;
	struct sim_api_hooks hooks;
	struct token tokens[MAX_TOKENS];
	size_t ntokens;
	cJSON *crd;
	const cJSON *wukong_schema;
	const struct sim_kv_defs *kv_defs; /* the simulated KubeVirt version's definitions */
	pthread_mutex_t lock;
	int watches, max_watches;
	int bookmark_s;
	struct sim_sa *sa;	       /* TokenRequest tokens (sim_sa.c) */
	const struct sim_crds *crds; /* published CRD schemas (sim_crds.c), borrowed */
};

struct sim_watch {
	struct sim_api *api;
	const struct sim_resource *res;
	char *ns;
	struct wk_selector *labels;
	struct wk_field_selector *fields;
	uint64_t rv;
	bool bookmarks;
	int64_t deadline_ms, next_bookmark_ms;
	cJSON *initial; /* synthetic ADDED events still to send */
	bool done;
	/* With selectors: the objects the client currently holds, so that an object that stops
	 * matching arrives as DELETED and one that starts matching as ADDED (sorted keys). */
	bool filtered;
	char **held;
	size_t nheld, aheld;
	/* kubectl get -w: each event's object as a one-row Table, columns on the first only */
	bool table;
	struct sim_table_opts topt;
};

/* ---- small helpers ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void api_version(const struct sim_resource *res, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s", res->group, res->group[0] ? "/" : "", res->version);
}

static void res_qual(const struct sim_resource *res, char *out, size_t n)
{
	if (res->group[0])
		snprintf(out, n, "%s.%s", res->plural, res->group);
	else
		snprintf(out, n, "%s", res->plural);
}

/* Custom resources (every group that is not a built-in Kubernetes API) follow the CRD rules:
 * apiVersion/kind required, PUT needs a resourceVersion, strategic merge patch refused. */
static bool is_custom(const struct sim_resource *res)
{
	static const char *const builtin[] = {
	    "",		 "coordination.k8s.io",	      "storage.k8s.io",	   "apiextensions.k8s.io",
	    "metrics.k8s.io", "apps",		      "rbac.authorization.k8s.io", "networking.k8s.io",
	    "policy",	 "scheduling.k8s.io",	      "authorization.k8s.io"};

	for (size_t i = 0; i < WK_ARRAY_SIZE(builtin); i++)
		if (!strcmp(res->group, builtin[i]))
			return false;
	return true;
}

static const char *meta_str(const cJSON *obj, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *arg(const struct sim_req *req, const char *key)
{
	return req->arg ? req->arg(req->arg_ctx, key) : NULL;
}

static bool arg_true(const struct sim_req *req, const char *key)
{
	const char *v = arg(req, key);

	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "True") ||
		     !strcmp(v, "TRUE") || !strcmp(v, "t") || !strcmp(v, "T"));
}

static bool in_list(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	if (!list)
		return true;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if ((len == 1 && *p == '*') || (len == n && !strncmp(p, item, n)))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

void sim_resp_init(struct sim_resp *r)
{
	memset(r, 0, sizeof(*r));
	wk_buf_init(&r->body, SIM_API_MAX_RESPONSE);
	r->content_type = "application/json";
}

void sim_resp_release(struct sim_resp *r)
{
	wk_buf_release(&r->body);
	sim_watch_free(r->watch);
	r->watch = NULL;
}

static void set_json(struct sim_resp *r, int code, cJSON *body)
{
	char *s = cJSON_PrintUnformatted(body);

	cJSON_Delete(body);
	wk_buf_reset(&r->body);
	r->code = code;
	if (!s || wk_buf_adds(&r->body, s) < 0 || wk_buf_adds(&r->body, "\n") < 0) {
		free(s);
		sim_api_status(r, 500, "InternalError", "the response is too large");
		return;
	}
	free(s);
}

/* The Status object, fields in the Go struct's order. details is consumed (may be NULL). */
static cJSON *status_obj(int code, const char *reason, const char *message, cJSON *details)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", "Status");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(o, "status", code < 300 ? "Success" : "Failure");
	if (message && *message)
		cJSON_AddStringToObject(o, "message", message);
	if (reason && *reason)
		cJSON_AddStringToObject(o, "reason", reason);
	if (details)
		cJSON_AddItemToObject(o, "details", details);
	cJSON_AddNumberToObject(o, "code", code);
	return o;
}

static void status_details(struct sim_resp *r, int code, const char *reason, const char *message,
			   cJSON *details)
{
	set_json(r, code, status_obj(code, reason, message, details));
	if (code == 429 && !r->retry_after)
		r->retry_after = 1;
}

void sim_api_status(struct sim_resp *r, int code, const char *reason, const char *message)
{
	status_details(r, code, reason, message, code == 404 ? cJSON_CreateObject() : NULL);
}

static cJSON *details(const char *name, const char *group, const char *kind)
{
	cJSON *d = cJSON_CreateObject();

	if (name && *name)
		cJSON_AddStringToObject(d, "name", name);
	if (group && *group)
		cJSON_AddStringToObject(d, "group", group);
	if (kind && *kind)
		cJSON_AddStringToObject(d, "kind", kind);
	return d;
}

static void status_err(struct sim_resp *r, const struct sim_resource *res, const char *name,
		       const struct sim_err *err)
{
	cJSON *d = NULL;

	if (err->code == 404 || err->code == 409)
		d = details(name, res->group, res->plural);
	else if (err->code == 422)
		d = details(name, res->group, res->kind);
	status_details(r, err->code, err->reason, err->message, d);
}

static void not_found_path(struct sim_resp *r)
{
	sim_api_status(r, 404, "NotFound", "the server could not find the requested resource");
}

/* ---- lifecycle and configuration ---- */

struct sim_api *sim_api_new(struct sim_store *st, const struct sim_api_hooks *hooks)
{
	struct sim_api *api = wk_xcalloc(1, sizeof(*api));

	api->st = st;
	if (hooks)
		api->hooks = *hooks;
	pthread_mutex_init(&api->lock, NULL);
	api->max_watches = 1000;
	api->bookmark_s = 10;
	api->sa = sim_sa_new();
	return api;
}

void sim_api_destroy(struct sim_api *api)
{
	if (!api)
		return;
	for (size_t i = 0; i < api->ntokens; i++) {
		free(api->tokens[i].token);
		free(api->tokens[i].user);
		free(api->tokens[i].namespaces);
		free(api->tokens[i].verbs);
	}
	cJSON_Delete(api->crd);
	sim_sa_destroy(api->sa);
	pthread_mutex_destroy(&api->lock);
	free(api);
}

void sim_api_ensure_namespace(struct sim_api *api, const char *name)
{
	const struct sim_resource *nsr = sim_resource_find("", "v1", "namespaces");
	struct sim_err err;
	cJSON *o = sim_store_get(api->st, nsr, NULL, name);

	if (o) {
		cJSON_Delete(o);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Namespace");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", name);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "phase", "Active");
	/* a concurrent creator wins: AlreadyExists is fine */
	(void)sim_store_create(api->st, nsr, NULL, o, NULL, &err);
}

void sim_api_set_kv_defs(struct sim_api *api, const struct sim_kv_defs *defs)
{
	api->kv_defs = defs;
}

void sim_api_set_max_watches(struct sim_api *api, int max)
{
	api->max_watches = max;
}

void sim_api_set_bookmark_interval(struct sim_api *api, int seconds)
{
	api->bookmark_s = seconds > 0 ? seconds : 1;
}

void sim_api_add_token(struct sim_api *api, const char *token, const char *user,
		       const char *namespaces, const char *verbs)
{
	struct token *t;

	if (api->ntokens == MAX_TOKENS)
		WK_BUG("sim_api: more than %d tokens", MAX_TOKENS);
	t = &api->tokens[api->ntokens++];
	t->token = wk_xstrdup(token);
	t->user = wk_xstrdup(user ? user : "admin");
	t->namespaces = namespaces ? wk_xstrdup(namespaces) : NULL;
	t->verbs = verbs ? wk_xstrdup(verbs) : NULL;
	wk_log_add_secret(token);
}

static char *join_list(const cJSON *arr, const char *what, const char *path, char *errstr,
		       size_t errstr_size, int *rc)
{
	struct wk_buf b;
	const cJSON *it;

	*rc = 0;
	if (!arr)
		return NULL;
	if (!cJSON_IsArray(arr)) {
		*rc = wk_err(errstr, errstr_size, "%s: '%s' must be a list", path, what);
		return NULL;
	}
	wk_buf_init(&b, 4096);
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || strchr(it->valuestring, ',') ||
		    wk_buf_addf(&b, "%s%s", b.len ? "," : "", it->valuestring) < 0) {
			wk_buf_release(&b);
			*rc = wk_err(errstr, errstr_size, "%s: '%s' must be a list of names", path,
				     what);
			return NULL;
		}
	}
	return wk_buf_take(&b, NULL);
}

int sim_api_load_auth(struct sim_api *api, const char *path, char *errstr, size_t errstr_size)
{
	cJSON *doc = sim_yaml_load_file(path, errstr, errstr_size);
	const cJSON *toks, *t;
	int rc = 0;

	if (!doc)
		return -1;
	toks = cJSON_GetObjectItemCaseSensitive(doc, "tokens");
	if (!cJSON_IsArray(toks)) {
		cJSON_Delete(doc);
		return wk_err(errstr, errstr_size, "%s: 'tokens' must be a list", path);
	}
	cJSON_ArrayForEach(t, toks)
	{
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(t, "token");
		const cJSON *user = cJSON_GetObjectItemCaseSensitive(t, "user");
		char *ns, *verbs;

		if (!cJSON_IsString(tok) || strlen(tok->valuestring) < 8) {
			rc = wk_err(errstr, errstr_size,
				    "%s: every token needs a 'token' of at least 8 characters",
				    path);
			break;
		}
		if (api->ntokens == MAX_TOKENS) {
			rc = wk_err(errstr, errstr_size, "%s: more than %d tokens", path,
				    MAX_TOKENS);
			break;
		}
		ns = join_list(cJSON_GetObjectItemCaseSensitive(t, "namespaces"), "namespaces",
			       path, errstr, errstr_size, &rc);
		if (rc < 0)
			break;
		verbs = join_list(cJSON_GetObjectItemCaseSensitive(t, "verbs"), "verbs", path,
				  errstr, errstr_size, &rc);
		if (rc < 0) {
			free(ns);
			break;
		}
		sim_api_add_token(api, tok->valuestring,
				  cJSON_IsString(user) ? user->valuestring : "user", ns, verbs);
		free(ns);
		free(verbs);
	}
	cJSON_Delete(doc);
	return rc;
}

int sim_api_load_crd(struct sim_api *api, const char *path, char *errstr, size_t errstr_size)
{
	const struct sim_resource *crds =
	    sim_resource_find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
	const struct sim_resource *wk =
	    sim_resource_find("vm.novasphere.dev", "v1alpha1", "wukongs");
	cJSON *crd = sim_yaml_load_file(path, errstr, errstr_size);
	const cJSON *schema;
	struct sim_err err;

	if (!crd)
		return -1;
	schema = sim_crd_schema(crd, wk->version);
	if (!schema) {
		cJSON_Delete(crd);
		return wk_err(errstr, errstr_size, "%s: no openAPIV3Schema for version '%s'", path,
			      wk->version);
	}
	if (sim_store_create(api->st, crds, NULL, cJSON_Duplicate(crd, true), NULL, &err) < 0 &&
	    err.code != 409) {
		cJSON_Delete(crd);
		return wk_err(errstr, errstr_size, "%s: %s", path, err.message);
	}
	cJSON_Delete(api->crd);
	api->crd = crd;
	api->wukong_schema = schema;
	return 0;
}

/* ---- authentication / authorization ---- */

static const struct token *authenticate(struct sim_api *api, const char *hdr)
{
	const char *tok;
	size_t n;

	if (!hdr || strncasecmp(hdr, "Bearer ", 7))
		return NULL;
	tok = hdr + 7;
	while (*tok == ' ')
		tok++;
	n = strlen(tok);
	for (size_t i = 0; i < api->ntokens; i++) {
		const struct token *t = &api->tokens[i];

		if (strlen(t->token) == n && CRYPTO_memcmp(t->token, tok, n) == 0)
			return t;
	}
	return NULL;
}

static bool authorized(struct sim_api *api, const struct token *t, const char *verb,
		       const struct sim_resource *res, const char *ns, const char *name,
		       const char *sub)
{
	if (t->rbac) {
		struct sim_rbac_attrs a = {verb, res->group, res->plural, sub,
					   res->namespaced ? ns : NULL, name, NULL};
		bool ok = sim_rbac_allowed(api->st, t->principal, &a);

		sim_rbac_record(t->principal, &a, ok);
		return ok;
	}
	if (!in_list(t->verbs, verb))
		return false;
	if (res && res->namespaced && ns)
		return in_list(t->namespaces, ns);
	/* cluster-scoped objects and all-namespace requests need every namespace */
	return in_list(t->namespaces, "*") && (!t->namespaces || strchr(t->namespaces, '*'));
}

static void forbidden(struct sim_resp *r, const struct token *t, const char *verb,
		      const struct sim_resource *res, const char *ns, const char *name,
		      const char *sub)
{
	char qual[200], msg[1024], rs[200], where[200];

	res_qual(res, qual, sizeof(qual));
	snprintf(rs, sizeof(rs), "%s%s%s", res->plural, sub ? "/" : "", sub ? sub : "");
	if (res->namespaced && ns)
		snprintf(where, sizeof(where), "in the namespace \"%s\"", ns);
	else
		snprintf(where, sizeof(where), "at the cluster scope");
	if (name)
		snprintf(msg, sizeof(msg),
			 "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\" in API "
			 "group \"%s\" %s",
			 qual, name, t->user, verb, rs, res->group, where);
	else
		snprintf(
		    msg, sizeof(msg),
		    "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" "
		    "%s",
		    qual, t->user, verb, rs, res->group, where);
	status_details(r, 403, "Forbidden", msg, details(name, res->group, res->plural));
}

/* ---- discovery ---- */

static void add_csv(cJSON *o, const char *key, const char *csv)
{
	cJSON *arr;
	const char *p = csv;

	if (!csv)
		return;
	arr = cJSON_AddArrayToObject(o, key);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *s = wk_xstrndup(p, len);

		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
		free(s);
		if (!end)
			break;
		p = end + 1;
	}
}

static void add_verbs(cJSON *o, const struct sim_resource *res, bool status)
{
	static const char *const all[] = {"create", "delete", "deletecollection", "get",
					  "list",   "patch",  "update",		  "watch"};
	static const char *const ro[] = {"get", "list"};
	static const char *const st[] = {"get", "patch", "update"};
	const char *const *v = status ? st : res->read_only ? ro : all;
	size_t n = status ? 3 : res->read_only ? 2 : 8;
	cJSON *arr = cJSON_AddArrayToObject(o, "verbs");

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
}

static bool gv_exists(const char *group, const char *version)
{
	for (const struct sim_resource *r = sim_resources; r->plural; r++)
		if (!strcmp(r->group, group) && (!version || !strcmp(r->version, version)))
			return true;
	return false;
}

static void resource_list(struct sim_resp *resp, const char *group, const char *version)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char gv[128];

	snprintf(gv, sizeof(gv), "%s%s%s", group, group[0] ? "/" : "", version);
	cJSON_AddStringToObject(o, "kind", "APIResourceList");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "groupVersion", gv);
	arr = cJSON_AddArrayToObject(o, "resources");
	for (const struct sim_resource *r = sim_resources; r->plural; r++) {
		cJSON *e;

		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", r->plural);
		cJSON_AddStringToObject(e, "singularName", r->singular ? r->singular : "");
		cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
		cJSON_AddStringToObject(e, "kind", r->kind);
		add_verbs(e, r, false);
		add_csv(e, "shortNames", r->short_names);
		add_csv(e, "categories", r->categories);
		cJSON_AddItemToArray(arr, e);
		if (r->has_status && !r->read_only) {
			char name[128];

			e = cJSON_CreateObject();
			snprintf(name, sizeof(name), "%s/status", r->plural);
			cJSON_AddStringToObject(e, "name", name);
			cJSON_AddStringToObject(e, "singularName", "");
			cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
			cJSON_AddStringToObject(e, "kind", r->kind);
			add_verbs(e, r, true);
			cJSON_AddItemToArray(arr, e);
		}
	}
	set_json(resp, 200, o);
}

static cJSON *group_obj(const char *group, bool typed)
{
	cJSON *g = cJSON_CreateObject(), *vers, *pref = NULL;
	const char *seen[8];
	size_t nseen = 0;

	if (typed) {
		cJSON_AddStringToObject(g, "kind", "APIGroup");
		cJSON_AddStringToObject(g, "apiVersion", "v1");
	}
	cJSON_AddStringToObject(g, "name", group);
	vers = cJSON_AddArrayToObject(g, "versions");
	for (const struct sim_resource *r = sim_resources; r->plural; r++) {
		bool dup = false;
		cJSON *v;
		char gv[128];

		if (strcmp(r->group, group))
			continue;
		for (size_t i = 0; i < nseen; i++)
			dup |= !strcmp(seen[i], r->version);
		if (dup || nseen == WK_ARRAY_SIZE(seen))
			continue;
		seen[nseen++] = r->version;
		snprintf(gv, sizeof(gv), "%s/%s", group, r->version);
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "groupVersion", gv);
		cJSON_AddStringToObject(v, "version", r->version);
		if (!pref)
			pref = cJSON_Duplicate(v, true);
		cJSON_AddItemToArray(vers, v);
	}
	if (pref)
		cJSON_AddItemToObject(g, "preferredVersion", pref);
	return g;
}

static void group_list(struct sim_resp *resp)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const char *seen[32];
	size_t nseen = 0;

	cJSON_AddStringToObject(o, "kind", "APIGroupList");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	arr = cJSON_AddArrayToObject(o, "groups");
	for (const struct sim_resource *r = sim_resources; r->plural; r++) {
		bool dup = false;

		if (!r->group[0])
			continue;
		for (size_t i = 0; i < nseen; i++)
			dup |= !strcmp(seen[i], r->group);
		if (dup || nseen == WK_ARRAY_SIZE(seen))
			continue;
		seen[nseen++] = r->group;
		cJSON_AddItemToArray(arr, group_obj(r->group, false));
	}
	set_json(resp, 200, o);
}

static void version_doc(struct sim_resp *resp)
{
	set_json(
	    resp, 200,
	    cJSON_Parse("{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.4-wukong-sim\","
			"\"gitCommit\":\"0000000000000000000000000000000000000000\","
			"\"gitTreeState\":\"clean\",\"buildDate\":\"2025-01-01T00:00:00Z\","
			"\"goVersion\":\"go1.23.4\",\"compiler\":\"gc\","
			"\"platform\":\"linux/amd64\"}"));
}

/* /openapi/v3 and /openapi/v3/<gv>: just enough for kubectl to see that every PATCH endpoint
 * takes fieldValidation, so the default `kubectl apply` validates on the server. */
static void openapi(struct sim_resp *resp, int nsegs, char **segs)
{
	cJSON *o = cJSON_CreateObject();

	if (nsegs == 2) {
		cJSON *paths = cJSON_AddObjectToObject(o, "paths");

		for (const struct sim_resource *r = sim_resources; r->plural; r++) {
			char key[160], url[256], gv[128];
			cJSON *p;

			api_version(r, gv, sizeof(gv));
			snprintf(key, sizeof(key), "%s%s", r->group[0] ? "apis/" : "api/", gv);
			if (cJSON_GetObjectItemCaseSensitive(paths, key))
				continue;
			snprintf(url, sizeof(url), "/openapi/v3/%s?hash=0123456789ABCDEF", key);
			p = cJSON_AddObjectToObject(paths, key);
			cJSON_AddStringToObject(p, "serverRelativeURL", url);
		}
		set_json(resp, 200, o);
		return;
	}
	/* /openapi/v3/api/v1 or /openapi/v3/apis/<g>/<v> */
	const char *group = NULL, *version = NULL;

	if (nsegs == 4 && !strcmp(segs[2], "api")) {
		group = "";
		version = segs[3];
	} else if (nsegs == 5 && !strcmp(segs[2], "apis")) {
		group = segs[3];
		version = segs[4];
	}
	if (!group || !gv_exists(group, version)) {
		cJSON_Delete(o);
		not_found_path(resp);
		return;
	}
	cJSON_AddStringToObject(o, "openapi", "3.0.0");
	cJSON *info = cJSON_AddObjectToObject(o, "info");
	cJSON_AddStringToObject(info, "title", "Kubernetes");
	cJSON_AddStringToObject(info, "version", "v1.32.4");
	cJSON *paths = cJSON_AddObjectToObject(o, "paths");
	for (const struct sim_resource *r = sim_resources; r->plural; r++) {
		char path[300];
		cJSON *p, *op, *gvk, *params, *prm;

		if (strcmp(r->group, group) || strcmp(r->version, version) || r->read_only)
			continue;
		snprintf(path, sizeof(path), "/%s%s%s%s%s/%s/{name}",
			 r->group[0] ? "apis/" : "api/", r->group, r->group[0] ? "/" : "",
			 r->version, r->namespaced ? "/namespaces/{namespace}" : "", r->plural);
		p = cJSON_AddObjectToObject(paths, path);
		op = cJSON_AddObjectToObject(p, "patch");
		gvk = cJSON_AddObjectToObject(op, "x-kubernetes-group-version-kind");
		cJSON_AddStringToObject(gvk, "group", r->group);
		cJSON_AddStringToObject(gvk, "version", r->version);
		cJSON_AddStringToObject(gvk, "kind", r->kind);
		params = cJSON_AddArrayToObject(op, "parameters");
		prm = cJSON_CreateObject();
		cJSON_AddStringToObject(prm, "name", "fieldValidation");
		cJSON_AddStringToObject(prm, "in", "query");
		cJSON_AddItemToObject(prm, "schema", cJSON_Parse("{\"type\":\"string\"}"));
		cJSON_AddItemToArray(params, prm);
		cJSON_AddItemToObject(op, "responses",
				      cJSON_Parse("{\"200\":{\"description\":\"OK\"}}"));
	}
	cJSON *comp = cJSON_AddObjectToObject(o, "components");
	cJSON_AddObjectToObject(comp, "schemas");
	set_json(resp, 200, o);
}

/* ---- request parsing ---- */

struct target {
	const struct sim_resource *res;
	const char *ns;	  /* NULL for cluster-scoped or all namespaces */
	const char *name; /* NULL for the collection */
	const char *sub;  /* "status" or NULL */
};

/* A path segment that names an object: what path.ValidatePathSegmentName refuses, plus caps. */
static const char *bad_segment(const char *s, size_t cap)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "may not be '.' or '..'";
	if (strchr(s, '%'))
		return "may not contain '%'";
	if (strlen(s) > cap)
		return "is too long";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "may not contain control characters";
	return NULL;
}

/* 0 = resolved, 404 = unknown path, 400 = bad name (msg filled). */
static int resolve(const char *group, const char *version, char **segs, int n, struct target *t,
		   char *msg, size_t msg_size)
{
	const struct sim_resource *r;
	const char *why;

	memset(t, 0, sizeof(*t));
	if (n == 0)
		return 404;
	if (n >= 3 && !strcmp(segs[0], "namespaces") &&
	    (r = sim_resource_find(group, version, segs[2])) && r->namespaced) {
		if (n > 5)
			return 404;
		t->res = r;
		t->ns = segs[1];
		t->name = n >= 4 ? segs[3] : NULL;
		t->sub = n >= 5 ? segs[4] : NULL;
	} else {
		r = sim_resource_find(group, version, segs[0]);
		if (!r || n > 3 || (r->namespaced && n > 1))
			return 404;
		t->res = r;
		t->name = n >= 2 ? segs[1] : NULL;
		t->sub = n >= 3 ? segs[2] : NULL;
	}
	if (t->ns && (why = bad_segment(t->ns, 63))) {
		snprintf(msg, msg_size, "namespace \"%.63s\" %s", t->ns, why);
		return 400;
	}
	if (t->name && (why = bad_segment(t->name, 253))) {
		snprintf(msg, msg_size, "name \"%.63s\" %s", t->name, why);
		return 400;
	}
	if (t->sub && (strcmp(t->sub, "status") || !t->res->has_status || t->res->read_only))
		return 404;
	if (t->ns && !t->ns[0])
		return 404;
	if (t->name && !t->name[0])
		return 404;
	return 0;
}

static char *split_path(const char *path, char **segs, int *n)
{
	char *copy = wk_xstrdup(path), *p = copy;

	/* not strtok: it would merge "//", and empty segments must fail to resolve */
	*n = 0;
	if (*p == '/')
		p++;
	while (*n < MAX_SEGS) {
		char *slash = strchr(p, '/');

		segs[(*n)++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	if (strchr(p, '/'))
		*n = MAX_SEGS + 1; /* too many segments */
	if (*n == 1 && !segs[0][0])
		*n = 0;
	/* a trailing slash leaves an empty last segment: ignore it like the apiserver */
	if (*n > 0 && *n <= MAX_SEGS && !segs[*n - 1][0])
		(*n)--;
	return copy;
}

/* ---- selectors ---- */

struct filter {
	struct wk_selector *labels;
	struct wk_field_selector *fields;
};

static bool filter_match(const cJSON *obj, void *opaque)
{
	const struct filter *f = opaque;
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");

	if (f->labels && !wk_selector_matches(f->labels, labels))
		return false;
	if (f->fields && !wk_field_selector_matches(f->fields, obj))
		return false;
	return true;
}

static bool field_supported(const struct sim_resource *res, const char *key)
{
	if (!strcmp(key, "metadata.name") || !strcmp(key, "metadata.namespace"))
		return true;
	if (!strcmp(res->plural, "virtualmachineinstances") && !strcmp(res->group, "kubevirt.io"))
		return !strcmp(key, "spec.nodeName") || !strcmp(key, "status.phase") ||
		       !strcmp(key, "status.nodeName");
	if (!strcmp(res->plural, "nodes") && !res->group[0])
		return !strcmp(key, "spec.unschedulable");
	if (!strcmp(res->plural, "events") && !res->group[0])
		return !strncmp(key, "involvedObject.", 15) || !strcmp(key, "reason") ||
		       !strcmp(key, "type");
	if (!strcmp(res->plural, "virtualmachineinstancemigrations"))
		return !strcmp(key, "status.phase") || !strcmp(key, "spec.vmiName");
	return false;
}

/* 0, or -1 with a 400 in resp. */
static int filter_init(struct filter *f, const struct sim_req *req, const struct sim_resource *res,
		       struct sim_resp *resp)
{
	const char *ls = arg(req, "labelSelector"), *fs = arg(req, "fieldSelector");
	char err[256], msg[400];

	memset(f, 0, sizeof(*f));
	if (ls && *ls) {
		f->labels = wk_selector_parse(ls, err, sizeof(err));
		if (!f->labels) {
			snprintf(msg, sizeof(msg), "unable to parse requirement: %s", err);
			sim_api_status(resp, 400, "BadRequest", msg);
			return -1;
		}
	}
	if (fs && *fs) {
		/* check each key before matching: unknown fields are a 400 like the apiserver's */
		const char *p = fs;

		while (*p) {
			const char *q = p;
			char key[128];
			size_t k = 0;

			while (*q && *q != '=' && *q != '!' && *q != ',' && k + 1 < sizeof(key))
				key[k++] = *q++;
			key[k] = '\0';
			while (k && key[k - 1] == ' ')
				key[--k] = '\0';
			if (!field_supported(res, key)) {
				snprintf(msg, sizeof(msg), "field label not supported: %.100s",
					 key);
				sim_api_status(resp, 400, "BadRequest", msg);
				wk_selector_destroy(f->labels);
				f->labels = NULL;
				return -1;
			}
			/* next unescaped comma */
			while (*q && !(*q == ',' && q[-1] != '\\'))
				q++;
			p = *q ? q + 1 : q;
		}
		f->fields = wk_field_selector_parse(fs, err, sizeof(err));
		if (!f->fields) {
			snprintf(msg, sizeof(msg), "invalid field selector: %s", err);
			sim_api_status(resp, 400, "BadRequest", msg);
			wk_selector_destroy(f->labels);
			f->labels = NULL;
			return -1;
		}
	}
	return 0;
}

static void filter_release(struct filter *f)
{
	wk_selector_destroy(f->labels);
	wk_field_selector_destroy(f->fields);
	memset(f, 0, sizeof(*f));
}

/* ---- continue tokens: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>"} ---- */

static char *continue_encode(uint64_t rv, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	char *json, *out;
	int len;

	cJSON_AddStringToObject(o, "v", "meta.k8s.io/v1");
	cJSON_AddNumberToObject(o, "rv", (double)rv);
	cJSON_AddStringToObject(o, "start", key);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	len = (int)strlen(json);
	out = wk_xmalloc((size_t)(4 * ((len + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, len);
	free(json);
	return out;
}

static int continue_decode(const char *tok, uint64_t *rv, char **key)
{
	size_t len = strlen(tok);
	unsigned char *raw;
	int n;
	cJSON *o;
	const cJSON *jrv, *jstart;

	if (len == 0 || len > 4096 || len % 4)
		return -1;
	raw = wk_xmalloc(len);
	n = EVP_DecodeBlock(raw, (const unsigned char *)tok, (int)len);
	if (n < 0) {
		free(raw);
		return -1;
	}
	while (n > 0 && raw[n - 1] == '\0')
		n--;
	o = cJSON_ParseWithLength((const char *)raw, (size_t)n);
	free(raw);
	jrv = cJSON_GetObjectItemCaseSensitive(o, "rv");
	jstart = cJSON_GetObjectItemCaseSensitive(o, "start");
	if (!cJSON_IsNumber(jrv) || !cJSON_IsString(jstart) || jrv->valuedouble < 0) {
		cJSON_Delete(o);
		return -1;
	}
	*rv = (uint64_t)jrv->valuedouble;
	*key = wk_xstrdup(jstart->valuestring);
	cJSON_Delete(o);
	return 0;
}

static int parse_rv(const char *s, uint64_t *rv)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno)
		return -1;
	*rv = v;
	return 0;
}

/* ---- list ---- */

static void do_list(struct sim_api *api, const struct sim_req *req, const struct target *t,
		    struct sim_resp *resp)
{
	struct filter f;
	const char *lim = arg(req, "limit"), *cont = arg(req, "continue"),
		   *rvs = arg(req, "resourceVersion"), *rvm = arg(req, "resourceVersionMatch");
	size_t limit = 0, remaining = 0;
	uint64_t rv = 0, list_rv, req_rv;
	char *after = NULL, *next = NULL, av[128], kind[160], *head;
	struct wk_buf items;
	cJSON *o, *meta;
	int n;

	if (rvm && *rvm && (!rvs || !*rvs)) {
		cJSON *causes = cJSON_CreateArray(), *c = cJSON_CreateObject(), *d;

		cJSON_AddStringToObject(c, "reason", "FieldValueForbidden");
		cJSON_AddStringToObject(c, "message",
					"Forbidden: resourceVersionMatch is forbidden "
					"unless resourceVersion is provided");
		cJSON_AddStringToObject(c, "field", "resourceVersionMatch");
		cJSON_AddItemToArray(causes, c);
		d = details(NULL, "meta.k8s.io", "ListOptions");
		cJSON_AddItemToObject(d, "causes", causes);
		status_details(
		    resp, 422, "Invalid",
		    "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
		    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
		    "is provided",
		    d);
		return;
	}
	if (lim && *lim) {
		char *end;
		long long v = strtoll(lim, &end, 10);

		if (*end || v < 0) {
			sim_api_status(resp, 400, "BadRequest", "invalid limit parameter");
			return;
		}
		limit = (size_t)v;
	}
	if (cont && *cont) {
		if (rvs && *rvs && strcmp(rvs, "0")) {
			sim_api_status(
			    resp, 400, "BadRequest",
			    "specifying resource version is not allowed when using continue");
			return;
		}
		if (continue_decode(cont, &rv, &after) < 0) {
			sim_api_status(resp, 400, "BadRequest",
				       "continue key is not valid: incorrect encoded start "
				       "resourceVersion (version meta.k8s.io/v1)");
			return;
		}
	} else if (rvs && *rvs) {
		if (parse_rv(rvs, &req_rv) < 0) {
			sim_api_status(resp, 400, "BadRequest", "invalid resource version");
			return;
		}
		if (req_rv > sim_store_rv(api->st)) {
			char msg[160];
			cJSON *d = cJSON_CreateObject(),
			      *causes = cJSON_AddArrayToObject(d, "causes"),
			      *c = cJSON_CreateObject();

			snprintf(
			    msg, sizeof(msg), "Too large resource version: %llu, current: %llu",
			    (unsigned long long)req_rv, (unsigned long long)sim_store_rv(api->st));
			cJSON_AddStringToObject(c, "reason", "ResourceVersionTooLarge");
			cJSON_AddStringToObject(c, "message", msg);
			cJSON_AddItemToArray(causes, c);
			cJSON_AddNumberToObject(d, "retryAfterSeconds", 1);
			status_details(resp, 504, "Timeout", msg, d);
			return;
		}
	}
	if (filter_init(&f, req, t->res, resp) < 0) {
		free(after);
		return;
	}
	/* items go straight from the store's cached JSON into the body: no tree copies */
	wk_buf_init(&items, SIM_API_MAX_RESPONSE);
	n = sim_store_list_json(api->st, t->res, t->ns, after,
				f.labels || f.fields ? filter_match : NULL, &f, limit, &next,
				&remaining, &list_rv, &items);
	filter_release(&f);
	free(after);
	if (n < 0) {
		wk_buf_release(&items);
		sim_api_status(resp, 500, "InternalError",
			       "the list is larger than the response cap; use limit and continue");
		return;
	}
	if (rv)
		list_rv = rv; /* every page of a paged list reports the first page's version */
	o = cJSON_CreateObject();
	api_version(t->res, av, sizeof(av));
	snprintf(kind, sizeof(kind), "%sList", t->res->kind);
	cJSON_AddStringToObject(o, "apiVersion", av);
	cJSON_AddStringToObject(o, "kind", kind);
	meta = cJSON_AddObjectToObject(o, "metadata");
	{
		char b[24];

		snprintf(b, sizeof(b), "%llu", (unsigned long long)list_rv);
		cJSON_AddStringToObject(meta, "resourceVersion", b);
	}
	if (next) {
		char *tok = continue_encode(list_rv, next);

		cJSON_AddStringToObject(meta, "continue", tok);
		cJSON_AddNumberToObject(meta, "remainingItemCount", (double)remaining);
		free(tok);
		free(next);
	}
	head = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	head[strlen(head) - 1] = '\0'; /* drop the closing brace: items follow */
	wk_buf_reset(&resp->body);
	resp->code = 200;
	if (wk_buf_adds(&resp->body, head) < 0 || wk_buf_adds(&resp->body, ",\"items\":[") < 0 ||
	    wk_buf_add(&resp->body, items.buf ? items.buf : "", items.len) < 0 ||
	    wk_buf_adds(&resp->body, "]}\n") < 0)
		sim_api_status(resp, 500, "InternalError", "the response is too large");
	free(head);
	wk_buf_release(&items);
}

/* ---- watch ---- */

static void held_init(struct sim_watch *w, const cJSON *items);

static void watch_start(struct sim_api *api, const struct sim_req *req, const struct target *t,
			const struct sim_table_opts *topt, struct sim_resp *resp)
{
	struct filter f;
	struct sim_watch *w;
	const char *rvs = arg(req, "resourceVersion"), *ts = arg(req, "timeoutSeconds");
	uint64_t rv = 0;
	long timeout = 1800;

	if (rvs && *rvs && strcmp(rvs, "0") && parse_rv(rvs, &rv) < 0) {
		sim_api_status(resp, 400, "BadRequest", "invalid resource version");
		return;
	}
	if (ts && *ts) {
		char *end;

		timeout = strtol(ts, &end, 10);
		if (*end || timeout < 0) {
			sim_api_status(resp, 400, "BadRequest", "invalid timeoutSeconds");
			return;
		}
		if (timeout == 0 || timeout > 3600)
			timeout = timeout ? 3600 : 1800;
	}
	if (filter_init(&f, req, t->res, resp) < 0)
		return;
	pthread_mutex_lock(&api->lock);
	if (api->watches >= api->max_watches) {
		pthread_mutex_unlock(&api->lock);
		filter_release(&f);
		sim_api_status(resp, 429, "TooManyRequests",
			       "too many open watches, please try again later");
		return;
	}
	api->watches++;
	pthread_mutex_unlock(&api->lock);
	w = wk_xcalloc(1, sizeof(*w));
	w->api = api;
	w->res = t->res;
	w->ns = t->ns ? wk_xstrdup(t->ns) : NULL;
	w->labels = f.labels;
	w->fields = f.fields;
	w->filtered = (f.labels && !wk_selector_empty(f.labels)) || f.fields;
	w->bookmarks = arg_true(req, "allowWatchBookmarks");
	if (topt) {
		w->table = true;
		w->topt = *topt;
	}
	w->deadline_ms = mono_ms() + timeout * 1000;
	w->next_bookmark_ms = mono_ms() + (int64_t)api->bookmark_s * 1000;
	if (!rvs || !*rvs || !strcmp(rvs, "0")) {
		char *next = NULL;
		size_t rem;

		w->initial = sim_store_list(api->st, t->res, t->ns, NULL, filter_match, &f, 0,
					    &next, &rem, &w->rv);
		free(next);
		if (w->filtered)
			held_init(w, w->initial);
	} else {
		w->rv = rv;
		if (w->filtered) {
			/* what the client holds at N is unknown here: take what matches now */
			char *next = NULL;
			size_t rem;
			cJSON *now = sim_store_list(api->st, t->res, t->ns, NULL, filter_match, &f,
						    0, &next, &rem, NULL);

			free(next);
			held_init(w, now);
			cJSON_Delete(now);
		}
	}
	resp->code = 200;
	resp->watch = w;
}

static int emit(struct wk_buf *out, const char *type, cJSON *obj)
{
	cJSON *ev = cJSON_CreateObject();
	char *s;
	int rc;

	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddItemToObject(ev, "object", obj);
	s = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	rc = wk_buf_adds(out, s) < 0 || wk_buf_adds(out, "\n") < 0 ? -1 : 0;
	free(s);
	return rc;
}

/* The object a watch event carries: as is, or as a Table (Status objects stay as they are). */
static cJSON *watch_obj(struct sim_watch *w, cJSON *obj)
{
	cJSON *t;

	if (!w->table)
		return obj;
	w->topt.now_ms = wall_ms();
	t = sim_table_build(w->res, w->api->crd, obj, &w->topt);
	w->topt.no_headers = true;
	cJSON_Delete(obj);
	return t;
}

static bool watch_match(struct sim_watch *w, const cJSON *obj)
{
	struct filter f = {w->labels, w->fields};

	return filter_match(obj, &f);
}

static char *obj_key(const cJSON *obj)
{
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");

	return wk_xasprintf("%s/%s", ns ? ns : "", name ? name : "");
}

static size_t held_pos(const struct sim_watch *w, const char *key, bool *found)
{
	size_t lo = 0, hi = w->nheld;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->held[mid], key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Record whether the client holds key; returns whether it held it before. Consumes key. */
static bool held_set(struct sim_watch *w, char *key, bool hold)
{
	bool found;
	size_t pos = held_pos(w, key, &found);

	if (found && !hold) {
		free(w->held[pos]);
		memmove(&w->held[pos], &w->held[pos + 1], (w->nheld - pos - 1) * sizeof(char *));
		w->nheld--;
	} else if (!found && hold) {
		if (w->nheld == w->aheld) {
			w->aheld = w->aheld ? w->aheld * 2 : 16;
			w->held = wk_xrealloc(w->held, w->aheld * sizeof(char *));
		}
		memmove(&w->held[pos + 1], &w->held[pos], (w->nheld - pos) * sizeof(char *));
		w->held[pos] = key;
		w->nheld++;
		return found;
	}
	free(key);
	return found;
}

static void held_init(struct sim_watch *w, const cJSON *items)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
	{
		held_set(w, obj_key(it), true);
	}
}

/* The event type the client sees for a stored event, or NULL to skip it. */
static const char *watch_type(struct sim_watch *w, const char *type, const cJSON *obj)
{
	bool now, before;

	if (!w->filtered)
		return type;
	now = strcmp(type, "DELETED") && watch_match(w, obj);
	before = held_set(w, obj_key(obj), now);
	if (!strcmp(type, "DELETED"))
		return before ? type : NULL;
	if (now)
		return before ? type : "ADDED";
	return before ? "DELETED" : NULL;
}

int sim_watch_next(struct sim_watch *w, struct wk_buf *out, int wait_ms)
{
	struct sim_watch_event ev[WATCH_BATCH];
	struct sim_err err;
	size_t before = out->len;
	int64_t now;
	int n;

	if (w->done)
		return -1;
	if (w->initial) {
		cJSON *it;

		while ((it = cJSON_DetachItemFromArray(w->initial, 0))) {
			if (emit(out, "ADDED", watch_obj(w, it)) < 0)
				break;
		}
		cJSON_Delete(w->initial);
		w->initial = NULL;
		if (out->len > before)
			return 1;
	}
	now = mono_ms();
	if (now >= w->deadline_ms) {
		w->done = true;
		return -1;
	}
	if (w->api->hooks.drop_watches && w->api->hooks.drop_watches(w->api->hooks.opaque)) {
		w->done = true;
		return -1;
	}
	for (;;) {
		uint64_t cur = sim_store_rv(w->api->st);

		n = sim_store_events_since(w->api->st, w->res, w->ns, w->rv, ev, WATCH_BATCH, &err);
		if (n < 0) {
			emit(out, "ERROR", status_obj(err.code, err.reason, err.message, NULL));
			w->done = true;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			const char *type = watch_type(w, ev[i].type, ev[i].object);

			if (type)
				(void)emit(out, type, watch_obj(w, ev[i].object)); /* no cap */
			else
				cJSON_Delete(ev[i].object);
			w->rv = ev[i].rv;
		}
		if (n < WATCH_BATCH) {
			if (cur > w->rv)
				w->rv = cur;
			break;
		}
	}
	if (out->len > before)
		return 1;
	now = mono_ms();
	if (w->bookmarks && (now >= w->next_bookmark_ms ||
			     (w->deadline_ms - now <= 2000 && w->deadline_ms - now > 0 &&
			      w->next_bookmark_ms - now > 2000))) {
		char av[128], rvb[24];
		cJSON *o = cJSON_CreateObject(), *meta;

		api_version(w->res, av, sizeof(av));
		snprintf(rvb, sizeof(rvb), "%llu", (unsigned long long)w->rv);
		cJSON_AddStringToObject(o, "kind", w->res->kind);
		cJSON_AddStringToObject(o, "apiVersion", av);
		meta = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(meta, "resourceVersion", rvb);
		emit(out, "BOOKMARK", watch_obj(w, o));
		w->next_bookmark_ms = w->deadline_ms - now <= 2000
					  ? w->deadline_ms + 1
					  : now + (int64_t)w->api->bookmark_s * 1000;
		return 1;
	}
	{
		int64_t until = w->deadline_ms - now;

		if (w->bookmarks && w->next_bookmark_ms - now < until)
			until = w->next_bookmark_ms - now;
		if (until > wait_ms)
			until = wait_ms;
		if (until > 0)
			sim_store_wait(w->api->st, w->rv, (int)until);
	}
	return 0;
}

void sim_watch_free(struct sim_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->api->lock);
	w->api->watches--;
	pthread_mutex_unlock(&w->api->lock);
	free(w->ns);
	wk_selector_destroy(w->labels);
	wk_field_selector_destroy(w->fields);
	cJSON_Delete(w->initial);
	for (size_t i = 0; i < w->nheld; i++)
		free(w->held[i]);
	free(w->held);
	free(w);
}

/* ---- writes ---- */

static bool ns_exists(struct sim_api *api, const char *ns)
{
	const struct sim_resource *nsr = sim_resource_find("", "v1", "namespaces");
	cJSON *o = sim_store_get(api->st, nsr, NULL, ns);
	bool ok = o != NULL;

	cJSON_Delete(o);
	return ok;
}

static void ns_not_found(struct sim_resp *resp, const char *ns)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "namespaces \"%s\" not found", ns);
	status_details(resp, 404, "NotFound", msg, details(ns, NULL, "namespaces"));
}

static bool media_is(const char *ct, const char *want)
{
	size_t n = strcspn(ct, "; ");

	return n == strlen(want) && !strncasecmp(ct, want, n);
}

static cJSON *parse_body(const struct sim_req *req, struct sim_resp *resp, bool patch)
{
	const char *ct = req->content_type ? req->content_type : "application/json";
	cJSON *o;

	if (!req->body || !req->body_len) {
		sim_api_status(resp, 400, "BadRequest", "the request body is empty");
		return NULL;
	}
	if (!patch && media_is(ct, "application/yaml")) {
		char err[256], msg[320];

		o = sim_yaml_parse("body", req->body, req->body_len, err, sizeof(err));
		if (!o) {
			snprintf(msg, sizeof(msg), "the body of the request is not valid YAML: %s",
				 err);
			sim_api_status(resp, 400, "BadRequest", msg);
		}
		return o;
	}
	if (!patch && !media_is(ct, "application/json")) {
		char msg[300];

		snprintf(
		    msg, sizeof(msg),
		    "the body of the request was in an unknown format (%.100s) - the simulator "
		    "accepts media types: application/json, application/yaml",
		    ct);
		sim_api_status(resp, 415, "UnsupportedMediaType", msg);
		return NULL;
	}
	o = cJSON_ParseWithLength(req->body, req->body_len);
	if (!o) {
		sim_api_status(resp, 400, "BadRequest",
			       "the body of the request is not valid JSON (or nests deeper than "
			       "the parser allows)");
		return NULL;
	}
	return o;
}

/* Check the kind/apiVersion of a body: CRs need both, built-ins may omit them. */
static int check_gvk(const struct sim_resource *res, const cJSON *obj, struct sim_resp *resp)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
	char av[128], msg[300];

	if (!cJSON_IsObject(obj)) {
		sim_api_status(resp, 400, "BadRequest",
			       "the body of the request must be an object");
		return -1;
	}
	api_version(res, av, sizeof(av));
	if (is_custom(res) && (!cJSON_IsString(k) || !cJSON_IsString(v))) {
		snprintf(msg, sizeof(msg), "Object '%s' is missing in the request body",
			 !cJSON_IsString(k) ? "Kind" : "apiVersion");
		sim_api_status(resp, 400, "BadRequest", msg);
		return -1;
	}
	if ((k && (!cJSON_IsString(k) || strcmp(k->valuestring, res->kind))) ||
	    (v && (!cJSON_IsString(v) || strcmp(v->valuestring, av)))) {
		snprintf(msg, sizeof(msg),
			 "the API version in the data (%.60s) does not match the expected API "
			 "version (%s) or kind (%.60s) does not match %s",
			 cJSON_IsString(v) ? v->valuestring : "", av,
			 cJSON_IsString(k) ? k->valuestring : "", res->kind);
		sim_api_status(resp, 400, "BadRequest", msg);
		return -1;
	}
	return 0;
}

static void invalid(struct sim_resp *resp, const struct sim_resource *res, const char *name,
		    cJSON *causes)
{
	char *msg = sim_schema_message(res->kind, res->group[0] ? res->group : "core",
				       name ? name : "", causes);
	cJSON *d = details(name, res->group, res->kind);

	cJSON_AddItemToObject(d, "causes", causes);
	status_details(resp, 422, "Invalid", msg, d);
	free(msg);
}

static void add_cause(cJSON *causes, const char *reason, const char *field, const char *message)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message);
	cJSON_AddStringToObject(c, "field", field);
	cJSON_AddItemToArray(causes, c);
}

/* Schema (Wukong) and name checks of a candidate object. Returns 0, or -1 with the response set
 * (422 Invalid, or 400 for unknown fields under fieldValidation=Strict). */
static int validate(struct sim_api *api, const struct sim_req *req, const struct sim_resource *res,
		    cJSON *obj, struct sim_resp *resp)
{
	cJSON *causes = cJSON_CreateArray(), *unknown = cJSON_CreateArray();
	const char *name = meta_str(obj, "name");
	const char *fv = arg(req, "fieldValidation");
	char m[512];

	if (name && !(!strcmp(res->plural, "namespaces") ? wk_name_is_dns1123_label(name)
							 : wk_name_is_dns1123_subdomain(name))) {
		bool label = !strcmp(res->plural, "namespaces");

		snprintf(m, sizeof(m),
			 "Invalid value: \"%.253s\": a lowercase RFC 1123 %s must consist of lower "
			 "case alphanumeric characters, '-'%s, and must start and end with an "
			 "alphanumeric character",
			 name, label ? "label" : "subdomain", label ? "" : " or '.'");
		add_cause(causes, "FieldValueInvalid", "metadata.name", m);
	}
	if (api->wukong_schema && !strcmp(res->group, "vm.novasphere.dev") &&
	    !strcmp(res->plural, "wukongs"))
		sim_schema_validate(api->wukong_schema, obj, causes, unknown);
	else if (sim_crds_schema(api->crds, res->group, res->version, res->plural))
		sim_schema_validate(sim_crds_schema(api->crds, res->group, res->version, res->plural),
				    obj, causes, unknown);
	/* KubeVirt's CRDs: fields the served version does not have are pruned before admission
	 * (the store prunes again on every write, the model's included). */
	if (api->kv_defs && sim_kv_def_name(res))
		sim_kv_prune(api->kv_defs, sim_kv_def_name(res), obj, unknown);
	if (cJSON_GetArraySize(causes) > 0) {
		cJSON_Delete(unknown);
		invalid(resp, res, name, causes);
		return -1;
	}
	cJSON_Delete(causes);
	if (fv && !strcmp(fv, "Strict") && cJSON_GetArraySize(unknown) > 0) {
		struct wk_buf b;
		const cJSON *u;

		wk_buf_init(&b, 2048);
		cJSON_ArrayForEach(u, unknown)
		{
			if (wk_buf_addf(&b, "%sunknown field \"%s\"", b.len ? ", " : "",
					u->valuestring) < 0)
				break;
		}
		snprintf(m, sizeof(m), "strict decoding error: %s", wk_buf_str(&b));
		wk_buf_release(&b);
		cJSON_Delete(unknown);
		sim_api_status(resp, 400, "BadRequest", m);
		return -1;
	}
	cJSON_Delete(unknown);
	return 0;
}

/* Validating admission webhooks (the model's hook), after schema validation as in the API
 * server. The denial is the webhook's Status as the API server relays it: its code, reason
 * Invalid for a 422, no reason for a 400. */
static bool admission_denied(struct sim_api *api, const struct target *t, const cJSON *old,
			     const cJSON *obj, struct sim_resp *resp)
{
	char msg[1024];
	int code;

	if (!api->hooks.admit)
		return false;
	msg[0] = 0;
	code = api->hooks.admit(api->hooks.opaque, t->res, t->ns, old, obj, msg, sizeof(msg));
	if (!code)
		return false;
	status_details(resp, code, code == 422 ? "Invalid" : NULL, msg, NULL);
	return true;
}

/* CDI's clone authorization (containerized-data-importer, doc/clone-datavolume.md; the DataVolume
 * webhook, pkg/apiserver/webhooks/datavolume-validate.go; the checks are
 * containerized-data-importer-api pkg/apis/core/v1beta1/authorize_utils.go): a DataVolume cloning
 * a PVC (spec.source.pvc) is admitted only when its creator may create datavolumes/source in the
 * source namespace, or pods there; one cloning a VolumeSnapshot (spec.source.snapshot) when it
 * may create datavolumes/source there, or both pods and "pvcs" (sic) there; otherwise the webhook
 * denies it (403: "User U has insufficient permissions in clone source namespace NS"). Checked
 * (and recorded) only for RBAC tokens. */
static bool clone_denied(struct sim_api *api, const struct token *tok, const struct sim_req *req,
			 const struct target *t, struct sim_resp *resp)
{
	const struct sim_resource *pods = sim_resource_find("", "v1", "pods");
	/* the implicit snapshot check names the resource "pvcs", not persistentvolumeclaims (an
	 * upstream quirk): a descriptor of that name, for the RBAC evaluation only */
	static const struct sim_resource pvcs_res = {"", "v1", "pvcs", "", "", NULL, NULL,
						     true, false, false};
	const struct sim_resource *pvcs = &pvcs_res;
	bool snap;
	cJSON *obj;
	const char *src_ns;
	char ns[300], msg[800];
	bool denied = false;

	if (!tok || !tok->rbac || strcmp(t->res->plural, "datavolumes") || !req->body)
		return false;
	obj = cJSON_ParseWithLength(req->body, req->body_len);
	if (!obj) {
		char err[200];

		obj = sim_yaml_parse("body", req->body, req->body_len, err, sizeof(err));
	}
	snap = cJSON_IsObject(wk_json_path(obj, "spec.source.snapshot"));
	if (!snap && !cJSON_IsObject(wk_json_path(obj, "spec.source.pvc"))) {
		cJSON_Delete(obj);
		return false;
	}
	src_ns = wk_json_str(obj, snap ? "spec.source.snapshot.namespace"
				       : "spec.source.pvc.namespace");
	wk_strlcpy(ns, src_ns && *src_ns ? src_ns : t->ns ? t->ns : "", sizeof(ns));
	cJSON_Delete(obj);
	/* the same namespace needs nothing more (CanUserClonePVC / CanUserCloneSnapshot) */
	if (t->ns && !strcmp(ns, t->ns))
		return false;
	if (!authorized(api, tok, "create", t->res, ns, NULL, "source") &&
	    (!pods || !authorized(api, tok, "create", pods, ns, NULL, NULL) ||
	     (snap && (!pvcs || !authorized(api, tok, "create", pvcs, ns, NULL, NULL))))) {
		snprintf(msg, sizeof(msg),
			 "admission webhook \"datavolume-validate.cdi.kubevirt.io\" denied the "
			 "request: User %.300s has insufficient permissions in clone source "
			 "namespace %.253s",
			 tok->principal ? tok->principal->user : "", ns);
		sim_api_status(resp, 403, "Forbidden", msg);
		denied = true;
	}
	return denied;
}

static void do_create(struct sim_api *api, const struct sim_req *req, const struct target *t,
		      struct sim_resp *resp)
{
	cJSON *obj = parse_body(req, resp, false), *meta, *out = NULL;
	const char *bns, *name, *rv;
	struct sim_err err;
	char msg[400];

	if (!obj || check_gvk(t->res, obj, resp) < 0) {
		cJSON_Delete(obj);
		return;
	}
	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!cJSON_IsObject(meta)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		meta = cJSON_AddObjectToObject(obj, "metadata");
	}
	bns = meta_str(obj, "namespace");
	if (t->res->namespaced && bns && *bns && strcmp(bns, t->ns)) {
		cJSON_Delete(obj);
		sim_api_status(resp, 400, "BadRequest",
			       "the namespace of the provided object does not match the namespace "
			       "sent on the request");
		return;
	}
	rv = meta_str(obj, "resourceVersion");
	if (rv && *rv) {
		cJSON_Delete(obj);
		sim_api_status(resp, 500, "InternalError",
			       "resourceVersion should not be set on objects to be created");
		return;
	}
	static const char *const strip[] = {"uid",
					    "creationTimestamp",
					    "managedFields",
					    "deletionTimestamp",
					    "deletionGracePeriodSeconds",
					    "generation",
					    "resourceVersion",
					    "selfLink"};
	for (size_t i = 0; i < WK_ARRAY_SIZE(strip); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, strip[i]);
	if (t->res->has_status && strcmp(t->res->plural, "nodes"))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	if (!strcmp(t->res->plural, "namespaces") && !t->res->group[0])
		cJSON_AddItemToObject(obj, "status", cJSON_Parse("{\"phase\":\"Active\"}"));
	name = meta_str(obj, "name");
	if (validate(api, req, t->res, obj, resp) < 0) {
		cJSON_Delete(obj);
		return;
	}
	if (t->res->namespaced && !ns_exists(api, t->ns)) {
		cJSON_Delete(obj);
		ns_not_found(resp, t->ns);
		return;
	}
	if (admission_denied(api, t, NULL, obj, resp)) {
		cJSON_Delete(obj);
		return;
	}
	if (arg(req, "dryRun") && !strcmp(arg(req, "dryRun"), "All")) {
		set_json(resp, 201, obj);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", name ? name : "");
	if (sim_store_create(api->st, t->res, t->ns, obj, &out, &err) < 0) {
		status_err(resp, t->res, msg, &err);
		return;
	}
	set_json(resp, 201, out);
}

enum patch_kind { PATCH_NONE, PATCH_MERGE, PATCH_JSON, PATCH_SMP };

struct write_ctx {
	struct sim_api *api;
	const struct sim_req *req;
	const struct target *t;
	struct sim_resp *resp; /* filled on validation failures */
	cJSON *body;	       /* PUT: the new object; PATCH: the patch */
	enum patch_kind patch;
	bool failed_resp; /* resp already holds the error */
};

static void replace_contents(cJSON *dst, cJSON *src)
{
	cJSON *it;

	while (dst->child)
		cJSON_Delete(cJSON_DetachItemViaPointer(dst, dst->child));
	while ((it = src->child)) {
		char *key = wk_xstrdup(it->string ? it->string : "");

		cJSON_DetachItemViaPointer(src, it);
		cJSON_AddItemToObject(dst, key, it);
		free(key);
	}
	cJSON_Delete(src);
}

/* sim_store_mutate callback: compute the new object from the stored one, under the store lock. */
static int write_fn(cJSON *cur, void *opaque, struct sim_err *err)
{
	struct write_ctx *c = opaque;
	const struct sim_resource *res = c->t->res;
	cJSON *next;
	const char *rv, *cur_rv = meta_str(cur, "resourceVersion");
	char errbuf[300], qual[200];

	if (c->patch == PATCH_NONE) {
		next = cJSON_Duplicate(c->body, true);
	} else if (c->patch == PATCH_JSON) {
		next = sim_json_patch(cur, c->body, errbuf, sizeof(errbuf));
		if (!next) {
			err->code = 422;
			wk_strlcpy(err->reason, "Invalid", sizeof(err->reason));
			snprintf(
			    err->message, sizeof(err->message),
			    "the server rejected our request due to an error in our request: %s",
			    errbuf);
			return -1;
		}
	} else {
		next = sim_merge_patch(cur, c->body);
	}
	if (!cJSON_IsObject(next)) {
		cJSON_Delete(next);
		err->code = 422;
		wk_strlcpy(err->reason, "Invalid", sizeof(err->reason));
		snprintf(err->message, sizeof(err->message), "the patched object is not an object");
		return -1;
	}
	rv = meta_str(next, "resourceVersion");
	if (rv && *rv && strcmp(rv, cur_rv ? cur_rv : "")) {
		cJSON_Delete(next);
		res_qual(res, qual, sizeof(qual));
		err->code = 409;
		wk_strlcpy(err->reason, "Conflict", sizeof(err->reason));
		snprintf(
		    err->message, sizeof(err->message),
		    "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
		    "please apply your changes to the latest version and try again",
		    qual, c->t->name);
		return -1;
	}
	/* spec/status split */
	if (c->t->sub) {
		cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(next, "status");

		cJSON_Delete(next);
		next = cJSON_Duplicate(cur, true);
		cJSON_DeleteItemFromObjectCaseSensitive(next, "status");
		if (st)
			cJSON_AddItemToObject(next, "status", st);
	} else if (res->has_status) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(cur, "status");

		cJSON_DeleteItemFromObjectCaseSensitive(next, "status");
		if (st)
			cJSON_AddItemToObject(next, "status", cJSON_Duplicate(st, true));
	}
	/* name/namespace come from the URL; metadata the server owns is restored by the store */
	if (validate(c->api, c->req, res, next, c->resp) < 0 ||
	    (!c->t->sub && admission_denied(c->api, c->t, cur, next, c->resp))) {
		cJSON_Delete(next);
		c->failed_resp = true;
		err->code = c->resp->code;
		return -1;
	}
	replace_contents(cur, next);
	return 0;
}

static void do_write(struct sim_api *api, const struct sim_req *req, const struct target *t,
		     struct sim_resp *resp, enum patch_kind pk)
{
	struct write_ctx c = {api, req, t, resp, NULL, pk, false};
	struct sim_err err;
	cJSON *out = NULL;
	char msg[600];

	c.body = parse_body(req, resp, pk != PATCH_NONE);
	if (!c.body)
		return;
	if (pk == PATCH_NONE) {
		const char *bname, *bns, *rv;

		if (check_gvk(t->res, c.body, resp) < 0)
			goto out;
		bname = meta_str(c.body, "name");
		bns = meta_str(c.body, "namespace");
		if (bname && strcmp(bname, t->name)) {
			snprintf(
			    msg, sizeof(msg),
			    "the name of the object (%.253s) does not match the name on the URL "
			    "(%.253s)",
			    bname, t->name);
			sim_api_status(resp, 400, "BadRequest", msg);
			goto out;
		}
		if (t->res->namespaced && bns && *bns && strcmp(bns, t->ns)) {
			sim_api_status(resp, 400, "BadRequest",
				       "the namespace of the provided object does not match the "
				       "namespace sent on the request");
			goto out;
		}
		rv = meta_str(c.body, "resourceVersion");
		if (is_custom(t->res) && (!rv || !*rv)) {
			cJSON *causes = cJSON_CreateArray();

			add_cause(causes, "FieldValueInvalid", "metadata.resourceVersion",
				  "Invalid value: 0x0: must be specified for an update");
			invalid(resp, t->res, t->name, causes);
			goto out;
		}
	} else if (pk == PATCH_JSON ? !cJSON_IsArray(c.body) : !cJSON_IsObject(c.body)) {
		sim_api_status(resp, 400, "BadRequest",
			       pk == PATCH_JSON ? "a JSON patch must be a list of operations"
						: "a merge patch must be a JSON object");
		goto out;
	}
	if (sim_store_mutate(api->st, t->res, t->ns, t->name, write_fn, &c, &out, &err) < 0) {
		if (!c.failed_resp)
			status_err(resp, t->res, t->name, &err);
		goto out;
	}
	set_json(resp, 200, out);
out:
	cJSON_Delete(c.body);
}

static void do_patch(struct sim_api *api, const struct sim_req *req, const struct target *t,
		     struct sim_resp *resp)
{
	const char *ct = req->content_type ? req->content_type : "";
	size_t n = strcspn(ct, "; ");

	if (n == strlen("application/merge-patch+json") &&
	    !strncmp(ct, "application/merge-patch+json", n)) {
		do_write(api, req, t, resp, PATCH_MERGE);
	} else if (n == strlen("application/json-patch+json") &&
		   !strncmp(ct, "application/json-patch+json", n)) {
		do_write(api, req, t, resp, PATCH_JSON);
	} else if (n == strlen("application/strategic-merge-patch+json") &&
		   !strncmp(ct, "application/strategic-merge-patch+json", n) &&
		   !is_custom(t->res)) {
		/* built-ins: the fields kubectl cordon and friends send behave as a merge patch */
		do_write(api, req, t, resp, PATCH_SMP);
	} else if (n == strlen("application/apply-patch+yaml") &&
		   !strncmp(ct, "application/apply-patch+yaml", n)) {
		sim_api_status(
		    resp, 415, "UnsupportedMediaType",
		    "the body of the request was in an unknown format - server-side "
		    "apply (application/apply-patch+yaml) is not implemented by the "
		    "simulator; accepted media types include: application/json-patch+json, "
		    "application/merge-patch+json");
	} else if (is_custom(t->res)) {
		sim_api_status(resp, 415, "UnsupportedMediaType",
			       "the body of the request was in an unknown format - accepted media "
			       "types include: application/json-patch+json, "
			       "application/merge-patch+json, application/apply-patch+yaml");
	} else {
		sim_api_status(resp, 415, "UnsupportedMediaType",
			       "the body of the request was in an unknown format - accepted media "
			       "types include: application/json-patch+json, "
			       "application/merge-patch+json, application/apply-patch+yaml, "
			       "application/strategic-merge-patch+json");
	}
}

static void do_delete(struct sim_api *api, const struct sim_req *req, const struct target *t,
		      struct sim_resp *resp)
{
	struct sim_err err;
	cJSON *out = NULL, *opts = NULL;
	const cJSON *pre, *it;

	if (req->body && req->body_len) {
		opts = cJSON_ParseWithLength(req->body, req->body_len);
		if (!cJSON_IsObject(opts)) {
			cJSON_Delete(opts);
			sim_api_status(resp, 400, "BadRequest",
				       "the body of the request is not a DeleteOptions object");
			return;
		}
	}
	pre = cJSON_GetObjectItemCaseSensitive(opts, "preconditions");
	if (cJSON_IsObject(pre)) {
		cJSON *cur = sim_store_get(api->st, t->res, t->ns, t->name);

		if (cur) {
			cJSON_ArrayForEach(it, pre)
			{
				const char *have = it->string ? meta_str(cur, it->string) : NULL;

				if (cJSON_IsString(it) &&
				    (!have || strcmp(have, it->valuestring))) {
					char msg[600], qual[200];

					res_qual(t->res, qual, sizeof(qual));
					snprintf(
					    msg, sizeof(msg),
					    "Operation cannot be fulfilled on %s \"%s\": "
					    "Precondition failed: %s in precondition: %.64s, %s "
					    "in object meta: %.64s",
					    qual, t->name,
					    !strcmp(it->string, "uid") ? "UID" : "ResourceVersion",
					    it->valuestring,
					    !strcmp(it->string, "uid") ? "UID" : "ResourceVersion",
					    have ? have : "");
					status_details(
					    resp, 409, "Conflict", msg,
					    details(t->name, t->res->group, t->res->plural));
					cJSON_Delete(cur);
					cJSON_Delete(opts);
					return;
				}
			}
			cJSON_Delete(cur);
		}
	}
	cJSON_Delete(opts);
	if (sim_store_delete(api->st, t->res, t->ns, t->name, &out, &err) < 0) {
		status_err(resp, t->res, t->name, &err);
		return;
	}
	{
		const cJSON *fin = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(out, "metadata"), "finalizers");

		if (cJSON_GetArraySize(fin) > 0) {
			set_json(resp, 200, out);
			return;
		}
	}
	{
		cJSON *d = details(t->name, t->res->group, t->res->plural);
		const char *uid = meta_str(out, "uid");

		if (uid)
			cJSON_AddStringToObject(d, "uid", uid);
		cJSON_Delete(out);
		status_details(resp, 200, NULL, NULL, d);
	}
}

static void do_delete_collection(struct sim_api *api, const struct sim_req *req,
				 const struct target *t, struct sim_resp *resp)
{
	struct filter f;
	cJSON *items, *it, *o, *deleted;
	char *next = NULL, av[128], kind[160], rvb[24];
	size_t rem;

	if (filter_init(&f, req, t->res, resp) < 0)
		return;
	items =
	    sim_store_list(api->st, t->res, t->ns, NULL, filter_match, &f, 0, &next, &rem, NULL);
	filter_release(&f);
	free(next);
	deleted = cJSON_CreateArray();
	cJSON_ArrayForEach(it, items)
	{
		struct sim_err err;
		cJSON *out = NULL;

		if (sim_store_delete(api->st, t->res, meta_str(it, "namespace"),
				     meta_str(it, "name"), &out, &err) == 0)
			cJSON_AddItemToArray(deleted, out);
	}
	cJSON_Delete(items);
	o = cJSON_CreateObject();
	api_version(t->res, av, sizeof(av));
	snprintf(kind, sizeof(kind), "%sList", t->res->kind);
	snprintf(rvb, sizeof(rvb), "%llu", (unsigned long long)sim_store_rv(api->st));
	cJSON_AddStringToObject(o, "apiVersion", av);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "resourceVersion", rvb);
	cJSON_AddItemToObject(o, "items", deleted);
	set_json(resp, 200, o);
}

static const char *fault_reason(int code)
{
	switch (code) {
	case 400:
		return "BadRequest";
	case 404:
		return "NotFound";
	case 409:
		return "Conflict";
	case 410:
		return "Expired"; /* apimachinery errors.NewResourceExpired (StatusReasonExpired) */
	case 429:
		return "TooManyRequests";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "Timeout";
	default:
		return "InternalError";
	}
}

/* Server-side printing: replace a 200 object or list body with its Table (sim_table.c). */
static void as_table(struct sim_api *api, const struct sim_resource *res,
		     struct sim_table_opts *topt, struct sim_resp *resp)
{
	cJSON *o;

	if (resp->code != 200)
		return;
	o = cJSON_ParseWithLength(resp->body.buf, resp->body.len);
	if (!o) {
		sim_api_status(resp, 500, "InternalError", "the response could not be printed");
		return;
	}
	topt->now_ms = wall_ms();
	set_json(resp, 200, sim_table_build(res, api->crd, o, topt));
	cJSON_Delete(o);
	if (resp->code == 200)
		resp->content_type = topt->content_type;
}

static void resource_request(struct sim_api *api, const struct sim_req *req,
			     const struct token *tok, const char *group, const char *version,
			     char **segs, int nsegs, struct sim_resp *resp)
{
	struct target t;
	struct sim_table_opts topt;
	char msg[300];
	const char *verb, *m = req->method;
	int table = 0, rc = resolve(group, version, segs, nsegs, &t, msg, sizeof(msg));

	if (rc == 404) {
		not_found_path(resp);
		return;
	}
	if (rc == 400) {
		sim_api_status(resp, 400, "BadRequest", msg);
		return;
	}
	if (!strcmp(m, "GET"))
		verb = t.name ? "get" : arg_true(req, "watch") ? "watch" : "list";
	else if (!strcmp(m, "POST") && !t.name)
		verb = "create";
	else if (!strcmp(m, "PUT") && t.name)
		verb = "update";
	else if (!strcmp(m, "PATCH") && t.name)
		verb = "patch";
	else if (!strcmp(m, "DELETE"))
		verb = t.name ? "delete" : "deletecollection";
	else
		verb = NULL;
	if (!verb || (t.res->read_only && strcmp(verb, "get") && strcmp(verb, "list") &&
		      strcmp(verb, "watch"))) {
		sim_api_status(resp, 405, "MethodNotAllowed",
			       "the server does not allow this method on the requested resource");
		return;
	}
	if (!authorized(api, tok, verb, t.res, t.ns, t.name, t.sub)) {
		forbidden(resp, tok, verb, t.res, t.ns, t.name, t.sub);
		return;
	}
	if (api->hooks.fault) {
		int latency = 0,
		    code = api->hooks.fault(api->hooks.opaque, verb, t.res->plural, &latency);

		if (latency > 0)
			usleep((useconds_t)(latency > 60000 ? 60000 : latency) * 1000);
		if (code >= 400) {
			snprintf(msg, sizeof(msg),
				 "Internal error occurred: injected fault (%s %s)", verb,
				 t.res->plural);
			sim_api_status(resp, code, fault_reason(code), msg);
			return;
		}
	}
	if (!strcmp(verb, "get") || !strcmp(verb, "list") || !strcmp(verb, "watch")) {
		table = sim_table_request(req->accept, arg(req, "includeObject"), &topt, msg,
					  sizeof(msg));
		if (table < 0) {
			sim_api_status(resp, 400, "BadRequest", msg);
			return;
		}
	}
	if (!strcmp(verb, "get")) {
		cJSON *o = sim_store_get(api->st, t.res, t.ns, t.name);
		struct sim_err err;

		if (!o) {
			char qual[200];

			res_qual(t.res, qual, sizeof(qual));
			err.code = 404;
			wk_strlcpy(err.reason, "NotFound", sizeof(err.reason));
			snprintf(err.message, sizeof(err.message), "%s \"%.253s\" not found", qual,
				 t.name);
			status_err(resp, t.res, t.name, &err);
			return;
		}
		set_json(resp, 200, o);
		if (table)
			as_table(api, t.res, &topt, resp);
	} else if (!strcmp(verb, "list")) {
		do_list(api, req, &t, resp);
		if (table)
			as_table(api, t.res, &topt, resp);
	} else if (!strcmp(verb, "watch")) {
		watch_start(api, req, &t, table ? &topt : NULL, resp);
	} else if (!strcmp(verb, "create")) {
		if (clone_denied(api, tok, req, &t, resp))
			return;
		do_create(api, req, &t, resp);
	} else if (!strcmp(verb, "update")) {
		do_write(api, req, &t, resp, PATCH_NONE);
	} else if (!strcmp(verb, "patch")) {
		do_patch(api, req, &t, resp);
	} else if (!strcmp(verb, "delete")) {
		do_delete(api, req, &t, resp);
	} else {
		do_delete_collection(api, req, &t, resp);
	}
}

/* ---- ServiceAccount tokens, impersonation, TokenRequest, access reviews (issue 19) ---- */

void sim_api_set_crds(struct sim_api *api, const struct sim_crds *crds)
{
	api->crds = crds;
}

/* A TokenRequest token whose ServiceAccount still exists with the uid it was bound to. */
static bool sa_authenticate(struct sim_api *api, const char *hdr, struct sim_principal *pr)
{
	const struct sim_resource *sar = sim_resource_find("", "v1", "serviceaccounts");
	char ns[64], name[254], uid[64], user[400];
	const char *tok;
	cJSON *sa;
	bool ok;

	if (!hdr || strncasecmp(hdr, "Bearer ", 7))
		return false;
	for (tok = hdr + 7; *tok == ' '; tok++)
		;
	if (!sim_sa_lookup(api->sa, tok, wall_ms() / 1000, ns, sizeof(ns), name, sizeof(name), uid,
			   sizeof(uid)))
		return false;
	sa = sar ? sim_store_get(api->st, sar, ns, name) : NULL;
	ok = sa && meta_str(sa, "uid") && !strcmp(meta_str(sa, "uid"), uid);
	cJSON_Delete(sa);
	if (!ok)
		return false;
	snprintf(user, sizeof(user), "system:serviceaccount:%s:%s", ns, name);
	sim_principal_init(pr, user, NULL, 0);
	return true;
}

/* Impersonate-User / Impersonate-Group: only an unrestricted token may (as system:masters may
 * impersonate anyone; staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go). */
static bool impersonate(const struct token *tok, const struct sim_req *req,
			struct sim_principal *pr, struct sim_resp *resp)
{
	char msg[1024];

	if (tok->rbac || tok->verbs || tok->namespaces) {
		snprintf(msg, sizeof(msg),
			 "users \"%.253s\" is forbidden: User \"%s\" cannot impersonate resource "
			 "\"users\" in API group \"\" at the cluster scope",
			 req->impersonate_user ? req->impersonate_user : "", tok->user);
		status_details(resp, 403, "Forbidden", msg, details(req->impersonate_user, "", "users"));
		return false;
	}
	if (!req->impersonate_user || !*req->impersonate_user) {
		sim_api_status(resp, 500, "InternalError",
			       "Internal error occurred: requested [{Group  } ...] without "
			       "impersonating a user");
		return false;
	}
	sim_principal_init(pr, req->impersonate_user, req->impersonate_groups,
			   req->n_impersonate_groups);
	return true;
}

static bool post_json(const struct sim_req *req, struct sim_resp *resp, cJSON **body)
{
	*body = NULL;
	if (strcmp(req->method, "POST")) {
		sim_api_status(resp, 405, "MethodNotAllowed",
			       "the server does not allow this method on the requested resource");
		return false;
	}
	if (req->content_type && media_is(req->content_type, SIM_PROTO_MEDIA)) {
		char err[256];

		*body = sim_proto_decode(req->body, req->body_len, err, sizeof(err));
		if (!*body)
			sim_api_status(resp, 400, "BadRequest", err);
		return *body != NULL;
	}
	*body = parse_body(req, resp, false);
	return *body != NULL;
}

/* POST .../serviceaccounts/NAME/token, .../selfsubjectaccessreviews, .../subjectaccessreviews:
 * true when this was one (resp filled). */
static bool auth_request(struct sim_api *api, const struct sim_req *req, const struct token *tok,
			 char **segs, int n, struct sim_resp *resp)
{
	const struct sim_resource *sar = sim_resource_find("", "v1", "serviceaccounts");
	bool token_req = n == 7 && !strcmp(segs[0], "api") && !strcmp(segs[1], "v1") &&
			 !strcmp(segs[2], "namespaces") && !strcmp(segs[4], "serviceaccounts") &&
			 !strcmp(segs[6], "token");
	bool review = n == 4 && !strcmp(segs[0], "apis") &&
		      !strcmp(segs[1], "authorization.k8s.io") && !strcmp(segs[2], "v1") &&
		      (!strcmp(segs[3], "selfsubjectaccessreviews") ||
		       !strcmp(segs[3], "subjectaccessreviews"));
	cJSON *body = NULL, *out;
	char msg[600];

	if (!token_req && !review)
		return false;
	if (review) {
		bool self = !strcmp(segs[3], "selfsubjectaccessreviews");
		const struct sim_resource *r = sim_resource_find("authorization.k8s.io", "v1", segs[3]);
		struct sim_principal caller;

		if (!authorized(api, tok, "create", r, NULL, NULL, NULL)) {
			forbidden(resp, tok, "create", r, NULL, NULL, NULL);
			return true;
		}
		if (!post_json(req, resp, &body))
			return true;
		if (tok->rbac)
			caller = *tok->principal;
		else
			sim_principal_init(&caller, tok->user, (const char *const[]){"system:masters"},
					   1);
		out = sim_rbac_review(api->st, &caller, self, body, msg, sizeof(msg));
		cJSON_Delete(body);
		if (!out) {
			sim_api_status(resp, 400, "BadRequest", msg);
			return true;
		}
		set_json(resp, 201, out);
		return true;
	}
	/* TokenRequest */
	{
		const char *ns = segs[3], *name = segs[5];
		struct sim_err err;
		cJSON *sa, *st;
		int64_t exp_s, now_s = wall_ms() / 1000;
		char *t, ts[40];
		time_t et;
		struct tm tm;

		if (!authorized(api, tok, "create", sar, ns, name, "token")) {
			forbidden(resp, tok, "create", sar, ns, name, "token");
			return true;
		}
		if (!post_json(req, resp, &body))
			return true;
		if (sim_sa_request_expiry(body, &exp_s, msg, sizeof(msg)) < 0) {
			cJSON_Delete(body);
			status_details(resp, 422, "Invalid", msg, NULL);
			return true;
		}
		sa = sim_store_get(api->st, sar, ns, name);
		if (!sa) {
			cJSON_Delete(body);
			err.code = 404;
			wk_strlcpy(err.reason, "NotFound", sizeof(err.reason));
			snprintf(err.message, sizeof(err.message),
				 "serviceaccounts \"%.200s\" not found", name);
			status_err(resp, sar, name, &err);
			return true;
		}
		t = sim_sa_issue(api->sa, ns, name, meta_str(sa, "uid"), now_s, exp_s);
		cJSON_Delete(sa);
		if (!t) {
			cJSON_Delete(body);
			sim_api_status(resp, 429, "TooManyRequests", "too many live tokens");
			return true;
		}
		wk_log_add_secret(t);
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "kind", "TokenRequest");
		cJSON_AddStringToObject(out, "apiVersion", "authentication.k8s.io/v1");
		cJSON_AddItemToObject(out, "metadata", cJSON_Parse("{\"creationTimestamp\":null}"));
		cJSON_AddItemToObject(out, "spec",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(body, "spec"),
						      true));
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(out, "spec");
		if (!cJSON_IsObject(spec)) {
			cJSON_DeleteItemFromObjectCaseSensitive(out, "spec");
			spec = cJSON_AddObjectToObject(out, "spec");
		}
		if (!cJSON_GetObjectItemCaseSensitive(spec, "expirationSeconds"))
			cJSON_AddNumberToObject(spec, "expirationSeconds", (double)exp_s);
		st = cJSON_AddObjectToObject(out, "status");
		cJSON_AddStringToObject(st, "token", t);
		et = (time_t)(now_s + exp_s);
		gmtime_r(&et, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(st, "expirationTimestamp", ts);
		free(t);
		cJSON_Delete(body);
		set_json(resp, 201, out);
		return true;
	}
}

void sim_api_handle(struct sim_api *api, const struct sim_req *req, struct sim_resp *resp)
{
	struct sim_principal pr;
	struct token rtok;
	const struct token *tok;
	char *copy, *segs[MAX_SEGS + 1];
	int n;

	if (!req->path || req->path[0] != '/') {
		sim_api_status(resp, 400, "BadRequest", "the request path must start with '/'");
		return;
	}
	if (strlen(req->path) > SIM_API_MAX_PATH) {
		sim_api_status(resp, 414, "RequestURITooLong", "the request path is too long");
		return;
	}
	tok = authenticate(api, req->authorization);
	if (!tok && sa_authenticate(api, req->authorization, &pr)) {
		rtok = (struct token){.user = pr.user, .rbac = true, .principal = &pr};
		tok = &rtok;
	}
	if (!tok) {
		set_json(resp, 401, status_obj(401, "Unauthorized", "Unauthorized", NULL));
		return;
	}
	if (req->impersonate_user || req->n_impersonate_groups) {
		if (!impersonate(tok, req, &pr, resp))
			return;
		rtok = (struct token){.user = pr.user, .rbac = true, .principal = &pr};
		tok = &rtok;
	}
	copy = split_path(req->path, segs, &n);
	if (n > MAX_SEGS) {
		not_found_path(resp);
	} else if (auth_request(api, req, tok, segs, n, resp)) {
		/* TokenRequest or an access review: answered */
	} else if (n >= 1 && !strcmp(segs[0], "sim")) {
		if (!api->hooks.control) {
			not_found_path(resp);
		} else if (tok->verbs || tok->namespaces || tok->rbac) {
			sim_api_status(resp, 403, "Forbidden",
				       "the simulator's control API needs an unrestricted token");
		} else {
			char sub[SIM_API_MAX_PATH + 2];

			snprintf(sub, sizeof(sub), "%s", req->path + 4);
			if (!sub[0])
				snprintf(sub, sizeof(sub), "/");
			wk_buf_reset(&resp->body);
			resp->code = api->hooks.control(api->hooks.opaque, req->method, sub,
							req->body, req->body_len, &resp->body);
		}
	} else if (strcmp(req->method, "GET") &&
		   !(n >= 2 && (!strcmp(segs[0], "api") || !strcmp(segs[0], "apis")))) {
		sim_api_status(resp, 405, "MethodNotAllowed",
			       "the server does not allow this method on the requested resource");
	} else if (n == 1 && (!strcmp(segs[0], "version"))) {
		version_doc(resp);
	} else if (n == 1 && (!strcmp(segs[0], "healthz") || !strcmp(segs[0], "readyz") ||
			      !strcmp(segs[0], "livez"))) {
		resp->code = 200;
		resp->content_type = "text/plain";
		if (wk_buf_adds(&resp->body, "ok") < 0)
			resp->code = 500;
	} else if (n >= 2 && !strcmp(segs[0], "openapi") && !strcmp(segs[1], "v3")) {
		openapi(resp, n, segs);
	} else if (n == 1 && !strcmp(segs[0], "api")) {
		set_json(
		    resp, 200,
		    cJSON_Parse("{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
				"\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
				"\"serverAddress\":\"127.0.0.1:6443\"}]}"));
	} else if (n == 2 && !strcmp(segs[0], "api") && !strcmp(segs[1], "v1") &&
		   !strcmp(req->method, "GET")) {
		resource_list(resp, "", "v1");
	} else if (n >= 3 && !strcmp(segs[0], "api") && !strcmp(segs[1], "v1")) {
		resource_request(api, req, tok, "", "v1", segs + 2, n - 2, resp);
	} else if (n == 1 && !strcmp(segs[0], "apis")) {
		group_list(resp);
	} else if (n == 2 && !strcmp(segs[0], "apis") && gv_exists(segs[1], NULL) &&
		   !strcmp(req->method, "GET")) {
		set_json(resp, 200, group_obj(segs[1], true));
	} else if (n == 3 && !strcmp(segs[0], "apis") && gv_exists(segs[1], segs[2]) &&
		   !strcmp(req->method, "GET")) {
		resource_list(resp, segs[1], segs[2]);
	} else if (n >= 4 && !strcmp(segs[0], "apis") && gv_exists(segs[1], segs[2])) {
		resource_request(api, req, tok, segs[1], segs[2], segs + 3, n - 3, resp);
	} else {
		not_found_path(resp);
	}
	free(copy);
}
