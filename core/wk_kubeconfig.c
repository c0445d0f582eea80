/* wk_kubeconfig.c - kubeconfig (libyaml document API) and in-cluster service-account settings. */
#include "wk_kubeconfig.h"
#include "wk_log.h"
#include "wk_time.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <yaml.h>

struct kfile {
	char *name; /* as given, for messages */
	char *dir;  /* directory relative paths are resolved against */
	yaml_document_t doc;
	bool loaded;
};

struct kset {
	struct kfile files[WK_KUBECONFIG_MAX_FILES];
	int n;
};

void wk_kubeconfig_init(struct wk_kubeconfig *kc)
{
	memset(kc, 0, sizeof(*kc));
}

static void free_secret(char *p, size_t len)
{
	if (p) {
		/* Keys and tokens should not linger in freed heap memory. */
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

void wk_kubeconfig_release(struct wk_kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->server);
	free(kc->namespace);
	free(kc->context);
	free(kc->origin);
	free(kc->ca_file);
	free(kc->ca_pem);
	free(kc->cert_pem);
	free_secret(kc->key_pem, kc->key_pem_len);
	if (kc->token)
		free_secret(kc->token, strlen(kc->token));
	free(kc->token_file);
	wk_kubeconfig_exec_free(kc->exec);
	wk_kubeconfig_init(kc);
}

/* ---- YAML navigation ---- */

static int yerr(char *errstr, size_t errstr_size, const struct kfile *f, const yaml_node_t *node,
		const char *fmt, ...) WK_PRINTF(5, 6);

static int yerr(char *errstr, size_t errstr_size, const struct kfile *f, const yaml_node_t *node,
		const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node)
		return wk_err(errstr, errstr_size, "%s:%zu: %s", f->name, node->start_mark.line + 1,
			      msg);
	return wk_err(errstr, errstr_size, "%s: %s", f->name, msg);
}

static yaml_node_t *node_at(struct kfile *f, int id)
{
	return yaml_document_get_node(&f->doc, id);
}

/* A scalar's text, or NULL for a YAML null (~, null, empty plain scalar) or a non-scalar. */
static const char *scalar(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	     !strcmp(v, "NULL")))
		return NULL;
	return v;
}

static yaml_node_t *map_get(struct kfile *f, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node_at(f, p->key));

		if (k && !strcmp(k, key))
			return node_at(f, p->value);
	}
	return NULL;
}

static yaml_node_t *root_of(struct kfile *f)
{
	return f->loaded ? yaml_document_get_root_node(&f->doc) : NULL;
}

/* Find list[] entry {name: <name>, <inner>: {...}} across files, first file wins. */
static int find_named(struct kset *set, const char *list, const char *inner, const char *name,
		      yaml_node_t **out, struct kfile **out_file, char *errstr, size_t errstr_size)
{
	for (int i = 0; i < set->n; i++) {
		struct kfile *f = &set->files[i];
		yaml_node_t *seq = map_get(f, root_of(f), list);

		if (!seq)
			continue;
		if (seq->type != YAML_SEQUENCE_NODE)
			return yerr(errstr, errstr_size, f, seq, "'%s' must be a list", list);
		for (yaml_node_item_t *it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top; it++) {
			yaml_node_t *e = node_at(f, *it);
			const char *n;

			if (!e || e->type != YAML_MAPPING_NODE)
				return yerr(errstr, errstr_size, f, e, "'%s' entries must be maps",
					    list);
			n = scalar(map_get(f, e, "name"));
			if (!n || strcmp(n, name))
				continue;
			*out = map_get(f, e, inner);
			*out_file = f;
			if (!*out || (*out)->type != YAML_MAPPING_NODE)
				return yerr(errstr, errstr_size, f, e, "%s '%s' has no '%s' map",
					    inner, name, inner);
			return 0;
		}
	}
	return wk_err(errstr, errstr_size, "%s: %s '%s' not found", set->files[0].name, inner,
		      name);
}

static char *resolve_path(const struct kfile *f, const char *p)
{
	if (p[0] == '/' || !f->dir)
		return wk_xstrdup(p);
	return wk_xasprintf("%s/%s", f->dir, p);
}

/* Read PEM material from `<key>-data` (base64) or `<key>` (a file); neither is fine. */
static int load_pem(struct kfile *f, const yaml_node_t *map, const char *key, char **pem,
		    size_t *pem_len, char **path_out, char *errstr, size_t errstr_size)
{
	char dkey[64], err[256];
	const yaml_node_t *dn, *fn;
	const char *data, *path;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	dn = map_get(f, map, dkey);
	fn = map_get(f, map, key);
	data = scalar(dn);
	path = scalar(fn);
	if (data) {
		if (wk_base64_decode(data, strlen(data), WK_KUBECONFIG_MAX_PEM, pem, pem_len, err,
				     sizeof(err)) < 0)
			return yerr(errstr, errstr_size, f, dn, "%s: %s", dkey, err);
		if (!strstr(*pem, "-----BEGIN ")) {
			free(*pem);
			*pem = NULL;
			return yerr(errstr, errstr_size, f, dn, "%s: decoded data is not PEM",
				    dkey);
		}
		return 0;
	}
	if (path) {
		char *full = resolve_path(f, path);
		int r = 0;

		if (path_out) {
			*path_out = full; /* curl reads a CA file itself (it may be a bundle) */
			if (wk_read_file_capped(full, WK_KUBECONFIG_MAX_PEM, pem, pem_len, err,
						sizeof(err)) < 0)
				r = yerr(errstr, errstr_size, f, fn, "%s: %s", key, err);
			/* keep only the path for CAs */
			free(*pem);
			*pem = NULL;
			*pem_len = 0;
			if (r < 0) {
				free(full);
				*path_out = NULL;
			}
			return r;
		}
		if (wk_read_file_capped(full, WK_KUBECONFIG_MAX_PEM, pem, pem_len, err,
					sizeof(err)) < 0)
			r = yerr(errstr, errstr_size, f, fn, "%s: %s", key, err);
		free(full);
		return r;
	}
	return 0;
}

static char *trim_dup(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
		       s[len - 1] == '\t'))
		len--;
	while (len && (*s == ' ' || *s == '\t' || *s == '\n')) {
		s++;
		len--;
	}
	return wk_xstrndup(s, len);
}

static int read_token_file(const char *path, char **out, char *errstr, size_t errstr_size)
{
	char *raw, *tok;
	size_t len;

	if (wk_read_file_capped(path, WK_KUBECONFIG_MAX_TOKEN, &raw, &len, errstr, errstr_size) < 0)
		return -1;
	if (memchr(raw, '\0', len)) {
		free_secret(raw, len);
		return wk_err(errstr, errstr_size, "token file '%s' holds a NUL byte", path);
	}
	tok = trim_dup(raw, len);
	free_secret(raw, len);
	if (!*tok || strpbrk(tok, "\r\n")) {
		free_secret(tok, strlen(tok));
		return wk_err(errstr, errstr_size, "token file '%s' is empty or has several lines",
			      path);
	}
	*out = tok;
	wk_log_add_secret(tok);
	return 0;
}

int wk_kubeconfig_reload_token(struct wk_kubeconfig *kc, bool *changed, char *errstr,
			       size_t errstr_size)
{
	char *tok = NULL;

	if (changed)
		*changed = false;
	if (!kc->token_file)
		return 0;
	if (read_token_file(kc->token_file, &tok, errstr, errstr_size) < 0)
		return -1;
	if (kc->token && !strcmp(kc->token, tok)) {
		free_secret(tok, strlen(tok));
		return 0;
	}
	if (kc->token)
		free_secret(kc->token, strlen(kc->token));
	kc->token = tok;
	if (changed)
		*changed = true;
	return 0;
}

static int parse_bool(struct kfile *f, const yaml_node_t *n, const char *key, bool *out,
		      char *errstr, size_t errstr_size)
{
	const char *v = scalar(n);

	*out = false;
	if (!v || !strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
		*out = true;
		return 0;
	}
	return yerr(errstr, errstr_size, f, n, "%s: expected true or false, not '%s'", key, v);
}

static int apply_cluster(struct wk_kubeconfig *kc, struct kfile *f, const yaml_node_t *c,
			 const char *name, char *errstr, size_t errstr_size)
{
	static const char *const refused[] = {"proxy-url", "tls-server-name"};
	const yaml_node_t *sn = map_get(f, c, "server");
	const char *server = scalar(sn);
	size_t len;

	if (!server)
		return yerr(errstr, errstr_size, f, c, "cluster '%s' has no server", name);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return yerr(errstr, errstr_size, f, sn, "server '%s' is not an http(s) URL",
			    server);
	if (strpbrk(server, " \t\r\n?#") || strlen(server) > 2048)
		return yerr(errstr, errstr_size, f, sn, "server '%s' is not a plain base URL",
			    server);
	for (size_t i = 0; i < WK_ARRAY_SIZE(refused); i++)
		if (scalar(map_get(f, c, refused[i])))
			return yerr(errstr, errstr_size, f, map_get(f, c, refused[i]),
				    "cluster '%s': %s is not supported", name, refused[i]);
	len = strlen(server);
	while (len && server[len - 1] == '/')
		len--;
	kc->server = wk_xstrndup(server, len);
	if (parse_bool(f, map_get(f, c, "insecure-skip-tls-verify"), "insecure-skip-tls-verify",
		       &kc->insecure_skip_tls_verify, errstr, errstr_size) < 0)
		return -1;
	if (load_pem(f, c, "certificate-authority", &kc->ca_pem, &kc->ca_pem_len, &kc->ca_file,
		     errstr, errstr_size) < 0)
		return -1;
	if (kc->insecure_skip_tls_verify && (kc->ca_file || kc->ca_pem))
		return yerr(errstr, errstr_size, f, c,
			    "cluster '%s': a certificate authority and insecure-skip-tls-verify: "
			    "true together are not allowed",
			    name);
	if (kc->insecure_skip_tls_verify)
		wk_warn("kubeconfig %s: cluster '%s' sets insecure-skip-tls-verify: the API "
			"server's certificate will not be verified",
			f->name, name);
	return 0;
}

/* users[].user.exec (kubeconfig v1 ExecConfig; client-go plugin/pkg/client/auth/exec). */
static int parse_exec(struct wk_kubeconfig *kc, struct kfile *f, const yaml_node_t *xn,
		      const char *name, char *errstr, size_t errstr_size)
{
	struct wk_kubeconfig_exec *x;
	const yaml_node_t *an = map_get(f, xn, "args"), *en = map_get(f, xn, "env");
	const char *cmd = scalar(map_get(f, xn, "command"));
	const char *api = scalar(map_get(f, xn, "apiVersion"));
	const char *im = scalar(map_get(f, xn, "interactiveMode"));
	const char *hint = scalar(map_get(f, xn, "installHint"));

	if (xn->type != YAML_MAPPING_NODE)
		return yerr(errstr, errstr_size, f, xn, "user '%s': exec must be a map", name);
	if (!cmd || !*cmd)
		return yerr(errstr, errstr_size, f, xn, "user '%s': exec has no command", name);
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1")))
		return yerr(errstr, errstr_size, f, xn,
			    "user '%s': exec apiVersion must be client.authentication.k8s.io/v1 or "
			    "/v1beta1 (not '%s')",
			    name, api ? api : "");
	/* client-go: interactiveMode must be specified for v1; v1beta1 defaults to IfAvailable */
	if (!im && !strcmp(api, "client.authentication.k8s.io/v1"))
		return yerr(errstr, errstr_size, f, xn,
			    "user '%s': interactiveMode must be specified for %s to use exec "
			    "authentication plugin",
			    name, cmd);
	x = wk_xcalloc(1, sizeof(*x));
	kc->exec = x;
	x->api_version = wk_xstrdup(api);
	x->install_hint = hint ? wk_xstrdup(hint) : NULL;
	if (!im || !strcmp(im, "IfAvailable"))
		x->interactive = WK_EXEC_IF_AVAILABLE;
	else if (!strcmp(im, "Never"))
		x->interactive = WK_EXEC_NEVER;
	else if (!strcmp(im, "Always"))
		x->interactive = WK_EXEC_ALWAYS;
	else
		return yerr(errstr, errstr_size, f, xn,
			    "user '%s': interactiveMode must be Never, IfAvailable or Always",
			    name);
	x->command = strchr(cmd, '/') ? resolve_path(f, cmd) : wk_xstrdup(cmd);
	if (parse_bool(f, map_get(f, xn, "provideClusterInfo"), "provideClusterInfo",
		       &x->provide_cluster_info, errstr, errstr_size) < 0)
		return -1;
	if (an && scalar(an))
		return yerr(errstr, errstr_size, f, an, "user '%s': exec args must be a list",
			    name);
	if (an && an->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = an->data.sequence.items.start;
		     it < an->data.sequence.items.top; it++) {
			const yaml_node_t *e = node_at(f, *it);
			const char *v = e && e->type == YAML_SCALAR_NODE
					    ? (const char *)e->data.scalar.value
					    : NULL;

			if (!v)
				return yerr(errstr, errstr_size, f, e,
					    "user '%s': exec args must be strings", name);
			if (x->nargs == WK_KUBECONFIG_EXEC_MAX_ARGS)
				return yerr(errstr, errstr_size, f, an,
					    "user '%s': more than %d exec args", name,
					    WK_KUBECONFIG_EXEC_MAX_ARGS);
			x->args[x->nargs++] = wk_xstrdup(v);
		}
	}
	if (en && scalar(en))
		return yerr(errstr, errstr_size, f, en, "user '%s': exec env must be a list", name);
	if (en && en->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = en->data.sequence.items.start;
		     it < en->data.sequence.items.top; it++) {
			const yaml_node_t *e = node_at(f, *it);
			const char *k = scalar(map_get(f, e, "name"));
			const char *v = scalar(map_get(f, e, "value"));

			if (!k || !*k || strchr(k, '='))
				return yerr(errstr, errstr_size, f, e,
					    "user '%s': exec env entries need a name (without "
					    "'=') and a value",
					    name);
			if (x->nenv == WK_KUBECONFIG_EXEC_MAX_ARGS)
				return yerr(errstr, errstr_size, f, en,
					    "user '%s': more than %d exec env entries", name,
					    WK_KUBECONFIG_EXEC_MAX_ARGS);
			x->env[x->nenv++] = wk_xasprintf("%s=%s", k, v ? v : "");
		}
	}
	return 0;
}

static int apply_user(struct wk_kubeconfig *kc, struct kfile *f, const yaml_node_t *u,
		      const char *name, char *errstr, size_t errstr_size)
{
	static const char *const refused[] = {"auth-provider", "username", "password", "as",
					      "impersonate"};
	const yaml_node_t *xn = map_get(f, u, "exec");
	const yaml_node_t *tn = map_get(f, u, "token"), *tf = map_get(f, u, "tokenFile");

	for (size_t i = 0; i < WK_ARRAY_SIZE(refused); i++) {
		const yaml_node_t *n = map_get(f, u, refused[i]);

		if (n && (n->type != YAML_SCALAR_NODE || scalar(n)))
			return yerr(errstr, errstr_size, f, n, "user '%s': %s is not supported",
				    name, refused[i]);
	}
	if (load_pem(f, u, "client-certificate", &kc->cert_pem, &kc->cert_pem_len, NULL, errstr,
		     errstr_size) < 0)
		return -1;
	if (load_pem(f, u, "client-key", &kc->key_pem, &kc->key_pem_len, NULL, errstr,
		     errstr_size) < 0)
		return -1;
	if (!kc->cert_pem != !kc->key_pem)
		return yerr(errstr, errstr_size, f, u,
			    "user '%s': client-certificate and client-key go together", name);
	if (kc->key_pem)
		wk_log_add_secret(kc->key_pem);
	if (scalar(tn)) {
		kc->token = wk_xstrdup(scalar(tn));
		wk_log_add_secret(kc->token);
	}
	if (scalar(tf)) {
		char err[256];

		/* client-go: when both are set, the file's content wins (it rotates). */
		kc->token_file = resolve_path(f, scalar(tf));
		if (wk_kubeconfig_reload_token(kc, NULL, err, sizeof(err)) < 0)
			return yerr(errstr, errstr_size, f, tf, "tokenFile: %s", err);
	}
	if (xn && (xn->type != YAML_SCALAR_NODE || scalar(xn))) {
		char err[512];

		if (parse_exec(kc, f, xn, name, errstr, errstr_size) < 0)
			return -1;
		/* The first credentials now: a client certificate must be known before the client
		 * is built, and a plugin that cannot run is a configuration error to report. */
		if (wk_kubeconfig_exec_refresh(kc, true, wk_time_now_ms(), NULL, err, sizeof(err)) <
		    0)
			return yerr(errstr, errstr_size, f, xn, "user '%s': %s", name, err);
	}
	return 0;
}

static int resolve(struct wk_kubeconfig *kc, struct kset *set, const char *context, char *errstr,
		   size_t errstr_size)
{
	yaml_node_t *ctx, *cluster, *user = NULL;
	struct kfile *cf, *cl, *uf;
	const char *cname, *uname, *ns;

	for (int i = 0; i < set->n && !context; i++) {
		struct kfile *f = &set->files[i];
		yaml_node_t *root = root_of(f);

		if (root && root->type != YAML_MAPPING_NODE)
			return yerr(errstr, errstr_size, f, root, "a kubeconfig must be a map");
		context = scalar(map_get(f, root, "current-context"));
	}
	if (!context)
		return wk_err(errstr, errstr_size, "%s: no current-context and no context given",
			      set->files[0].name);
	if (find_named(set, "contexts", "context", context, &ctx, &cf, errstr, errstr_size) < 0)
		return -1;
	cname = scalar(map_get(cf, ctx, "cluster"));
	uname = scalar(map_get(cf, ctx, "user"));
	ns = scalar(map_get(cf, ctx, "namespace"));
	if (!cname)
		return yerr(errstr, errstr_size, cf, ctx, "context '%s' names no cluster", context);
	if (find_named(set, "clusters", "cluster", cname, &cluster, &cl, errstr, errstr_size) < 0)
		return -1;
	kc->context = wk_xstrdup(context);
	kc->origin = wk_xstrdup(cf->name);
	kc->namespace = wk_xstrdup(ns ? ns : "default");
	if (apply_cluster(kc, cl, cluster, cname, errstr, errstr_size) < 0)
		return -1;
	if (uname && find_named(set, "users", "user", uname, &user, &uf, errstr, errstr_size) < 0)
		return -1;
	if (user && apply_user(kc, uf, user, uname, errstr, errstr_size) < 0)
		return -1;
	return 0;
}

static int parse_into(struct kfile *f, const char *name, const char *yaml, size_t len, char *errstr,
		      size_t errstr_size)
{
	yaml_parser_t p;
	const char *slash;

	f->name = wk_xstrdup(name);
	slash = strrchr(name, '/');
	f->dir = slash ? wk_xstrndup(name, (size_t)(slash - name) + (slash == name)) : NULL;
	if (len > WK_KUBECONFIG_MAX_FILE)
		return wk_err(errstr, errstr_size, "%s: larger than the %u-byte cap", name,
			      WK_KUBECONFIG_MAX_FILE);
	if (!yaml_parser_initialize(&p))
		return wk_err(errstr, errstr_size, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&p, &f->doc)) {
		size_t line = (p.problem_mark.line ? p.problem_mark.line : p.context_mark.line) + 1;

		wk_err(errstr, errstr_size, "%s:%zu: %s%s%s", name, line,
		       p.problem ? p.problem : "invalid YAML", p.context ? " " : "",
		       p.context ? p.context : "");
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_parser_delete(&p);
	f->loaded = true;
	return 0;
}

static void kset_release(struct kset *set)
{
	for (int i = 0; i < set->n; i++) {
		if (set->files[i].loaded)
			yaml_document_delete(&set->files[i].doc);
		free(set->files[i].name);
		free(set->files[i].dir);
	}
	set->n = 0;
}

static int finish(struct wk_kubeconfig *kc, struct kset *set, const char *context, char *errstr,
		  size_t errstr_size)
{
	int r = resolve(kc, set, context, errstr, errstr_size);

	kset_release(set);
	if (r < 0)
		wk_kubeconfig_release(kc);
	return r;
}

int wk_kubeconfig_load_string(struct wk_kubeconfig *kc, const char *name, const char *yaml,
			      size_t len, const char *context, char *errstr, size_t errstr_size)
{
	struct kset set = {.n = 1};

	wk_kubeconfig_init(kc);
	memset(&set.files[0], 0, sizeof(set.files[0]));
	if (parse_into(&set.files[0], name, yaml, len, errstr, errstr_size) < 0) {
		kset_release(&set);
		return -1;
	}
	return finish(kc, &set, context, errstr, errstr_size);
}

int wk_kubeconfig_load(struct wk_kubeconfig *kc, const char *paths, const char *context,
		       char *errstr, size_t errstr_size)
{
	struct kset set = {.n = 0};
	char *list = wk_xstrdup(paths), *save = NULL;

	wk_kubeconfig_init(kc);
	for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		struct kfile *f;
		char *text, err[256];
		size_t len;

		if (set.n == WK_KUBECONFIG_MAX_FILES) {
			kset_release(&set);
			free(list);
			return wk_err(errstr, errstr_size, "more than %d kubeconfig files",
				      WK_KUBECONFIG_MAX_FILES);
		}
		if (wk_read_file_capped(p, WK_KUBECONFIG_MAX_FILE, &text, &len, err, sizeof(err)) <
		    0) {
			/* KUBECONFIG lists may name files that do not exist (client-go skips them)
			 */
			if (errno == ENOENT && strchr(paths, ':'))
				continue;
			kset_release(&set);
			free(list);
			return wk_err(errstr, errstr_size, "kubeconfig: %s", err);
		}
		f = &set.files[set.n++];
		memset(f, 0, sizeof(*f));
		if (parse_into(f, p, text, len, errstr, errstr_size) < 0) {
			free(text);
			kset_release(&set);
			free(list);
			return -1;
		}
		free(text);
	}
	free(list);
	if (set.n == 0)
		return wk_err(errstr, errstr_size, "no kubeconfig file found in '%s'", paths);
	return finish(kc, &set, context, errstr, errstr_size);
}

int wk_kubeconfig_in_cluster(struct wk_kubeconfig *kc, const char *sa_dir, char *errstr,
			     size_t errstr_size)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *path, *ns = NULL, err[256];
	size_t len;

	wk_kubeconfig_init(kc);
	if (!sa_dir)
		sa_dir = WK_KUBECONFIG_SA_DIR;
	if (!host || !*host || !port || !*port)
		return wk_err(errstr, errstr_size,
			      "in-cluster: KUBERNETES_SERVICE_HOST and "
			      "KUBERNETES_SERVICE_PORT must be set");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strpbrk(host, "/?#@ \t[]") || strlen(host) > 253)
		return wk_err(errstr, errstr_size,
			      "in-cluster: invalid service host '%s' or port '%s'", host, port);
	/* IPv6 literals need brackets in a URL. */
	kc->server = strchr(host, ':') ? wk_xasprintf("https://[%s]:%s", host, port)
				       : wk_xasprintf("https://%s:%s", host, port);
	kc->context = wk_xstrdup("in-cluster");
	kc->origin = wk_xstrdup("in-cluster");
	kc->token_file = wk_xasprintf("%s/token", sa_dir);
	if (wk_kubeconfig_reload_token(kc, NULL, err, sizeof(err)) < 0) {
		wk_kubeconfig_release(kc);
		return wk_err(errstr, errstr_size, "in-cluster: %s", err);
	}
	kc->ca_file = wk_xasprintf("%s/ca.crt", sa_dir);
	if (access(kc->ca_file, R_OK) < 0) {
		wk_err(errstr, errstr_size, "in-cluster: cannot read '%s': %s", kc->ca_file,
		       strerror(errno));
		wk_kubeconfig_release(kc);
		return -1;
	}
	path = wk_xasprintf("%s/namespace", sa_dir);
	if (wk_read_file_capped(path, 256, &ns, &len, err, sizeof(err)) == 0) {
		kc->namespace = trim_dup(ns, len);
		free(ns);
	} else {
		kc->namespace = wk_xstrdup("default");
	}
	free(path);
	return 0;
}

int wk_kubeconfig_auto(struct wk_kubeconfig *kc, const char *path, const char *context,
		       char *errstr, size_t errstr_size)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char *def;
	int r;

	if (path && *path)
		return wk_kubeconfig_load(kc, path, context, errstr, errstr_size);
	if (env && *env)
		return wk_kubeconfig_load(kc, env, context, errstr, errstr_size);
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return wk_kubeconfig_in_cluster(kc, NULL, errstr, errstr_size);
	if (!home)
		return wk_err(errstr, errstr_size, "no kubeconfig: set KUBECONFIG or HOME");
	def = wk_xasprintf("%s/.kube/config", home);
	r = wk_kubeconfig_load(kc, def, context, errstr, errstr_size);
	free(def);
	return r;
}
