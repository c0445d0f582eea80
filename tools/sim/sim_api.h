/* sim_api.h - the simulator's Kubernetes REST API, independent of the HTTP library: auth,
 * discovery, OpenAPI stubs, CRUD/patch/list/watch over sim_store, Status objects like the real
 * apiserver's. main.c feeds it requests from libmicrohttpd; unit tests feed it directly.
 *
 * A sim_api borrows the store; the model is reached only through the hooks (so the API layer
 * builds and tests without it). Responses and watches are owned by the caller.
 * Caps: SIM_API_MAX_BODY request bytes, SIM_API_MAX_PATH path bytes, at most max_watches open
 * watches (429 past it), names <= 253 bytes and namespaces <= 63 in paths.
 */
#ifndef SIM_API_H
#define SIM_API_H

#include "sim_store.h"
#include "wk_buf.h"

#define SIM_API_MAX_BODY (3u << 20)
#define SIM_API_MAX_PATH 8192
#define SIM_API_MAX_RESPONSE (512u << 20)

struct sim_api;
struct sim_watch;

/* Model callbacks (all optional). fault: 0 to serve, or an HTTP status to fail the request with;
 * *latency_ms an added delay. drop_watches: true asks open watches to end now. control: the
 * "/sim/..." control API (path after "/sim"), returns an HTTP status and fills out with JSON.
 * admit: validating admission of a create (old NULL) or an update of the main resource (old =
 * the stored object; then called under the store's lock): 0, or the HTTP status (400/422) of a
 * denial with the message in msg. */
struct sim_api_hooks {
	void *opaque;
	int (*fault)(void *opaque, const char *verb, const char *plural, int *latency_ms);
	bool (*drop_watches)(void *opaque);
	int (*control)(void *opaque, const char *method, const char *path, const char *body,
		       size_t body_len, struct wk_buf *out);
	int (*admit)(void *opaque, const struct sim_resource *res, const char *ns, const cJSON *old,
		     const cJSON *obj, char *msg, size_t msg_size);
};

struct sim_api *sim_api_new(struct sim_store *st, const struct sim_api_hooks *hooks);
void sim_api_destroy(struct sim_api *api);

/* Authentication and authorization. A token with NULL namespaces/verbs may do everything;
 * otherwise each is a comma-separated allow-list ("*" = all). */
void sim_api_add_token(struct sim_api *api, const char *token, const char *user,
		       const char *namespaces, const char *verbs);
/* YAML: {tokens: [{token, user, namespaces: [..], verbs: [..]}]}. */
int sim_api_load_auth(struct sim_api *api, const char *path, char *errstr, size_t errstr_size);
/* Validate the kinds of published CRDs against their schemas (sim_crds.h); borrowed. */
struct sim_crds;
void sim_api_set_crds(struct sim_api *api, const struct sim_crds *crds);
/* Read the Wukong CRD (YAML), validate Wukongs against its schema, and list it read-only. */
int sim_api_load_crd(struct sim_api *api, const char *path, char *errstr, size_t errstr_size);
/* Create namespace `name` unless it exists (the API's default namespaces). */
void sim_api_ensure_namespace(struct sim_api *api, const char *name);
void sim_api_set_max_watches(struct sim_api *api, int max);
/* The simulated KubeVirt version's definitions (sim_kv.h, borrowed): KubeVirt objects in create,
 * update and patch bodies lose the fields that version lacks before admission, and
 * fieldValidation=Strict reports them (400 strict decoding error). NULL = no pruning. */
struct sim_kv_defs;
void sim_api_set_kv_defs(struct sim_api *api, const struct sim_kv_defs *defs);
/* Seconds between BOOKMARK events on watches that allow them (default 10). */
void sim_api_set_bookmark_interval(struct sim_api *api, int seconds);

struct sim_req {
	const char *method;
	const char *path; /* decoded, without the query string */
	/* query parameter lookup (decoded value or NULL) */
	const char *(*arg)(void *ctx, const char *key);
	void *arg_ctx;
	const char *authorization; /* header or NULL */
	const char *content_type;  /* header or NULL */
	const char *accept;	   /* header or NULL: a Table when it asks for one (sim_table.h) */
	const char *body;
	size_t body_len;
	/* Impersonate-User / Impersonate-Group headers (NULL / 0 when absent) */
	const char *impersonate_user;
	const char *impersonate_groups[4];
	size_t n_impersonate_groups;
};

struct sim_resp {
	int code;
	struct wk_buf body;
	const char *content_type;
	int retry_after;	 /* seconds, 0 = no Retry-After header */
	struct sim_watch *watch; /* non-NULL: a 200 stream; drive with sim_watch_next() */
};

void sim_resp_init(struct sim_resp *r);
void sim_resp_release(struct sim_resp *r);
void sim_api_handle(struct sim_api *api, const struct sim_req *req, struct sim_resp *resp);

/* Append the next events (newline-terminated JSON) to out, waiting up to wait_ms for some.
 * Returns 1 when out got data, 0 when nothing happened yet, -1 when the stream is over. */
int sim_watch_next(struct sim_watch *w, struct wk_buf *out, int wait_ms);
void sim_watch_free(struct sim_watch *w);

/* A Status object body (exposed for the HTTP glue's own errors: 413, 414, ...). */
void sim_api_status(struct sim_resp *r, int code, const char *reason, const char *message);

#endif
