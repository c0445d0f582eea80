/* wk_k8s.h - a small Kubernetes REST client (libcurl + cJSON): get, list, create, replace, patch,
 * delete and the /status subresource, with the retries every caller would otherwise rewrite.
 *
 * struct wk_k8s is opaque and heap-owned (wk_k8s_new / wk_k8s_destroy); it is single-threaded:
 * use one client per thread. Requests are blocking; watches (wk_k8s_watch.h) are non-blocking and
 * driven by wk_k8s_poll(). A struct wk_k8s_result is caller-owned (wk_k8s_result_release) and
 * owns the parsed body.
 *
 * Safety: every namespace is checked as a DNS-1123 label and every name as a DNS-1123 subdomain
 * (core/wk_name.h) before a path is built, so a hostile name such as "../../api/v1/secrets" is
 * refused with WK_K8S_EREFUSED and no request is made. Query values are escaped.
 *
 * Retries, per request (bounded by wk_k8s_options.max_retries, jittered exponential backoff):
 * - 429, and 5xx carrying Retry-After: wait Retry-After (capped) and retry, any method;
 * - 5xx without Retry-After and transport errors: retried for GET only (others may have applied);
 * - 401 when the token comes from a file: re-read the file once and retry if it changed.
 * The token file is also re-read every 60 s (projected service-account tokens rotate).
 * Credentials are only sent over https (as kubectl does).
 *
 * Caps: a response body is at most wk_k8s_options.max_body bytes (default 16 MiB, which also
 * bounds one page of a list); past it the request fails with WK_K8S_ETOOBIG. wk_k8s_list_all()
 * stops with WK_K8S_ETOOBIG once the pages add up to 4 times that.
 */
#ifndef WK_K8S_H
#define WK_K8S_H

#include "wk_common.h"
#include "wk_buf.h"
#include "wk_kubeconfig.h"
#include "wk_resource.h"

struct cJSON;
struct wk_k8s;

#define WK_K8S_DEFAULT_MAX_BODY (16u << 20)

struct wk_k8s_options {
	long request_timeout_ms; /* whole request, default 30000 */
	long connect_timeout_ms; /* default 10000 */
	int max_retries;	 /* 429 / 5xx / transport retries per request, default 5, -1 none */
	long backoff_base_ms;	 /* first backoff, doubled each time, default 200 */
	long backoff_max_ms;	 /* cap of one backoff, default 10000 */
	long retry_after_max_s;	 /* cap of an honoured Retry-After, default 30 */
	size_t max_body;	 /* response body cap, default WK_K8S_DEFAULT_MAX_BODY */
	const char *user_agent;	 /* default "wukong/<version>" */
	/* Asked every 100 ms of a backoff and at least once a second during a transfer; true
	 * abandons the request with WK_K8S_ECANCELLED (a service draining on SIGTERM). NULL =
	 * never. */
	bool (*cancel)(void *opaque);
	void *cancel_opaque;
};

/* Outcome classes; the HTTP code and the Status reason are in the result too. */
enum wk_k8s_err {
	WK_K8S_OK = 0,
	WK_K8S_EREFUSED,       /* refused locally (invalid name, namespace, resource): no request */
	WK_K8S_ETRANSPORT,     /* no HTTP response: connect, TLS, timeout, reset */
	WK_K8S_ETOOBIG,	       /* response body past the cap */
	WK_K8S_EBADREQUEST,    /* 400 */
	WK_K8S_EUNAUTHORIZED,  /* 401 */
	WK_K8S_EFORBIDDEN,     /* 403 */
	WK_K8S_ENOTFOUND,      /* 404 */
	WK_K8S_EALREADYEXISTS, /* 409 reason AlreadyExists */
	WK_K8S_ECONFLICT,      /* 409 otherwise (optimistic-lock or precondition failure) */
	WK_K8S_EGONE,	       /* 410 Expired/Gone (resourceVersion or continue token too old) */
	WK_K8S_EUNSUPPORTED,   /* 415 UnsupportedMediaType */
	WK_K8S_EINVALID,       /* 422 Invalid */
	WK_K8S_ETOOMANY,       /* 429 after the retries */
	WK_K8S_ESERVER,	       /* 5xx after the retries */
	WK_K8S_EOTHER,	       /* any other non-2xx code, or a 2xx body that is not JSON */
	WK_K8S_ECANCELLED,     /* wk_k8s_options.cancel said so */
};

/* The parsed Status object (meta/v1 Status) of a failed request; strings may be empty. */
struct wk_k8s_status {
	int code;
	char status[16];   /* "Failure" / "Success" */
	char reason[64];   /* "NotFound", "Conflict", ... */
	char message[512]; /* from the server, cut at 511 bytes */
	char name[256];	   /* details.name */
	char kind[64];	   /* details.kind */
	int retry_after_s; /* details.retryAfterSeconds */
};

struct wk_k8s_result {
	enum wk_k8s_err err;
	long http_code;		     /* 0 when no HTTP response */
	struct cJSON *body;	     /* parsed JSON body (object, list or Status), or NULL */
	struct wk_k8s_status status; /* filled on failure when the body is a Status */
	int attempts; /* HTTP attempts made (retries + 1); pages for wk_k8s_list_all */
};

void wk_k8s_result_init(struct wk_k8s_result *r);
void wk_k8s_result_release(struct wk_k8s_result *r);
/* Hand the body to the caller (who cJSON_Delete()s it); NULL if there is none. */
struct cJSON *wk_k8s_result_take(struct wk_k8s_result *r);
const char *wk_k8s_err_name(enum wk_k8s_err e);

/* Takes over kc's contents on success (kc is left empty); on failure kc is untouched. opts may be
 * NULL for the defaults. */
struct wk_k8s *wk_k8s_new(struct wk_kubeconfig *kc, const struct wk_k8s_options *opts, char *errstr,
			  size_t errstr_size);
/* Addition (h16): the same from the service configuration: "kube.config" (a kubeconfig path) and
 * "kube.context", resolved by wk_kubeconfig_auto() (that path, $KUBECONFIG, in-cluster, or
 * ~/.kube/config). NULL with errstr on failure. */
struct wk_config;
struct wk_k8s *wk_k8s_new_from_config(const struct wk_config *cfg,
				      const struct wk_k8s_options *opts, char *errstr,
				      size_t errstr_size);
void wk_k8s_destroy(struct wk_k8s *c);
/* The context's namespace ("default" when unset) and the server URL. */
const char *wk_k8s_namespace(const struct wk_k8s *c);
const char *wk_k8s_server(const struct wk_k8s *c);

/* Path of a collection (name NULL), an object, or a subresource ("status"), after validating
 * every part; ns NULL = cluster-scoped, or all namespaces for a namespaced list. */
int wk_k8s_path(struct wk_buf *out, const struct wk_k8s_resource *res, const char *ns,
		const char *name, const char *subresource, char *errstr, size_t errstr_size);

/* Every call returns 0 on a 2xx response and -1 otherwise, with errstr saying what failed
 * ("get wukongs 'default/wk1': 404 NotFound: ...") and out->err classifying it. out is
 * initialised by the call; release it even on failure. */
int wk_k8s_get(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
	       const char *name, struct wk_k8s_result *out, char *errstr, size_t errstr_size);

struct wk_k8s_list_opts {
	const char *label_selector;   /* "app=x,tier!=db" */
	const char *field_selector;   /* "metadata.name=x" */
	const char *resource_version; /* NULL = most recent (consistent), "0" = any (cache) */
	long limit;		      /* page size; 0 = no paging (wk_k8s_list_all uses 500) */
	const char *continue_token;   /* from the previous page's metadata.continue */
};
/* One page; the next page's token is in body.metadata.continue. */
int wk_k8s_list(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		const struct wk_k8s_list_opts *opts, struct wk_k8s_result *out, char *errstr,
		size_t errstr_size);
/* Every page, merged: out->body is one list whose items are all items and whose
 * metadata.resourceVersion is the list's (the RV to start a watch from). An expired continue
 * token (410) restarts the listing from the first page, once. */
int wk_k8s_list_all(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		    const struct wk_k8s_list_opts *opts, struct wk_k8s_result *out, char *errstr,
		    size_t errstr_size);

/* POST; obj's namespace is taken from ns. 409 AlreadyExists -> WK_K8S_EALREADYEXISTS. */
int wk_k8s_create(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const struct cJSON *obj, struct wk_k8s_result *out, char *errstr,
		  size_t errstr_size);
/* PUT the whole object; metadata.resourceVersion in obj is the precondition, a mismatch gives
 * WK_K8S_ECONFLICT. subresource NULL or "status". */
int wk_k8s_replace(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		   const char *name, const char *subresource, const struct cJSON *obj,
		   struct wk_k8s_result *out, char *errstr, size_t errstr_size);

enum wk_k8s_patch_type {
	WK_K8S_PATCH_MERGE,	/* application/merge-patch+json (RFC 7386) */
	WK_K8S_PATCH_JSON,	/* application/json-patch+json (RFC 6902) */
	WK_K8S_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
};
/* PATCH with a JSON text; subresource NULL or "status". */
int wk_k8s_patch(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		 const char *name, const char *subresource, enum wk_k8s_patch_type type,
		 const char *patch, struct wk_k8s_result *out, char *errstr, size_t errstr_size);

struct wk_k8s_delete_opts {
	const char *propagation_policy; /* "Background", "Foreground", "Orphan" or NULL */
	const char *precondition_uid;	/* 409 Conflict when the object's uid differs */
	const char *precondition_rv;	/* 409 Conflict when its resourceVersion differs */
	long grace_period_s;		/* -1 = server default */
};
/* 200/202 with either a Status or the object (finalizers pending) both count as success. opts may
 * be NULL. */
int wk_k8s_delete(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const char *name, const struct wk_k8s_delete_opts *opts,
		  struct wk_k8s_result *out, char *errstr, size_t errstr_size);

/* Read-modify-write: GET, mutate(obj), PUT with the read resourceVersion; on 409 Conflict start
 * again, at most max_attempts times (0 = 5). mutate returns 0 to write, 1 for "nothing to do"
 * (no PUT; out->body is the object as read) or -1 to stop with its errstr. */
typedef int (*wk_k8s_mutate_fn)(struct cJSON *obj, void *opaque, char *errstr, size_t errstr_size);
int wk_k8s_update(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const char *name, const char *subresource, wk_k8s_mutate_fn mutate, void *opaque,
		  int max_attempts, struct wk_k8s_result *out, char *errstr, size_t errstr_size);

/* The low-level call the helpers above use. path_query is a path built by wk_k8s_path() plus an
 * optional "?..." query (escaped by the caller, see wk_k8s_query_add()). */
int wk_k8s_request(struct wk_k8s *c, const char *method, const char *path_query,
		   const char *content_type, const char *body, size_t body_len,
		   struct wk_k8s_result *out, char *errstr, size_t errstr_size);
/* Append "?k=v" or "&k=v" to a path, escaping v. */
void wk_k8s_query_add(struct wk_buf *b, const char *key, const char *value);

/* ---- pieces exposed for tests and for wk_k8s_watch.c ---- */

/* Parse a body as a Status (kind "Status"); -1 if it is not one. */
int wk_k8s_status_parse(const char *body, size_t len, struct wk_k8s_status *st);
int wk_k8s_status_from_json(const struct cJSON *obj, struct wk_k8s_status *st);
/* Classify an HTTP code plus Status reason. */
enum wk_k8s_err wk_k8s_classify(long http_code, const char *reason);
/* Retry-After: delta-seconds or an HTTP-date; 0 and *seconds (>= 0, clamped to max_s), or -1
 * when malformed. now is the current epoch time in seconds (for dates). */
int wk_k8s_retry_after_parse(const char *value, int64_t now, long max_s, long *seconds);
/* Full-jitter backoff for attempt n (0-based): uniform in [base*2^n / 2, base*2^n], capped. */
long wk_k8s_backoff_ms(int attempt, long base_ms, long max_ms);

#endif
