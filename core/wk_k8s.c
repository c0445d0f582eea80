/* wk_k8s.c - Kubernetes REST client: connection setup, paths, one request with its retries. */
#include "wk_k8s_internal.h"
#include "wk_config.h"
#include "wk_log.h"
#include "wk_metrics.h"
#include "wk_name.h"
#include "wk_time.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#ifndef WK_VERSION
#define WK_VERSION "0.1.0"
#endif

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t k8s_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long k8s_rand(struct wk_k8s *c, long n)
{
	return n > 0 ? (long)(rand_r(&c->rand_state) % n) : 0;
}

/* Buffers in this file are uncapped (cap 0) and only hold what we build, so adding cannot fail. */
static void put(struct wk_buf *b, const char *s)
{
	if (wk_buf_adds(b, s) < 0)
		WK_BUG("uncapped buffer refused %zu bytes", strlen(s));
}

void k8s_resource_label(const struct wk_k8s_resource *res, char *out, size_t out_size)
{
	if (res->group && *res->group)
		snprintf(out, out_size, "%s.%s", res->plural, res->group);
	else
		snprintf(out, out_size, "%s", res->plural);
}

/* ---- client ---- */

struct wk_k8s *wk_k8s_new(struct wk_kubeconfig *kc, const struct wk_k8s_options *opts, char *errstr,
			  size_t errstr_size)
{
	struct wk_k8s *c;

	if (!kc->server)
		return wk_err(errstr, errstr_size, "kubeconfig has no server"), NULL;
	pthread_once(&curl_once, curl_init_once);
	c = wk_xcalloc(1, sizeof(*c));
	if (opts)
		c->opt = *opts;
	if (c->opt.request_timeout_ms <= 0)
		c->opt.request_timeout_ms = 30000;
	if (c->opt.connect_timeout_ms <= 0)
		c->opt.connect_timeout_ms = 10000;
	if (c->opt.max_retries <= 0)
		c->opt.max_retries = opts && opts->max_retries < 0 ? 0 : 5;
	if (c->opt.backoff_base_ms <= 0)
		c->opt.backoff_base_ms = 200;
	if (c->opt.backoff_max_ms <= 0)
		c->opt.backoff_max_ms = 10000;
	if (c->opt.retry_after_max_s <= 0)
		c->opt.retry_after_max_s = 30;
	if (c->opt.max_body == 0)
		c->opt.max_body = WK_K8S_DEFAULT_MAX_BODY;
	c->user_agent = wk_xstrdup(c->opt.user_agent ? c->opt.user_agent : "wukong/" WK_VERSION);
	c->opt.user_agent = NULL;
	c->easy = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->easy || !c->multi) {
		curl_easy_cleanup(c->easy);
		curl_multi_cleanup(c->multi);
		free(c->user_agent);
		free(c);
		return wk_err(errstr, errstr_size, "cannot initialise libcurl"), NULL;
	}
	c->kc = *kc; /* hand-off: the client owns the strings now */
	wk_kubeconfig_init(kc);
	c->secure = !strncmp(c->kc.server, "https://", 8);
	if (!c->secure && (c->kc.token || c->kc.key_pem))
		wk_warn("kubernetes server '%s' is plain http: credentials will not be sent",
			c->kc.server);
	c->token_read_ms = k8s_mono_ms();
	c->rand_state = (unsigned int)(time(NULL) ^ (getpid() << 16));
	srandom(c->rand_state);
	c->m_requests =
	    wk_metric_counter("wukong_k8s_requests_total",
			      "Kubernetes API requests by verb and HTTP code", "verb,code");
	c->m_retries = wk_metric_counter("wukong_k8s_request_retries_total",
					 "Kubernetes API request retries by reason", "reason");
	c->m_restarts =
	    wk_metric_counter("wukong_k8s_watch_restarts_total",
			      "Watch streams restarted, by resource and reason", "resource,reason");
	c->m_relists = wk_metric_counter("wukong_k8s_watch_relists_total",
					 "Full relists done by watches", "resource");
	c->m_malformed =
	    wk_metric_counter("wukong_k8s_watch_malformed_lines_total",
			      "Watch lines skipped, by resource and reason", "resource,reason");
	c->m_events =
	    wk_metric_counter("wukong_k8s_watch_events_total",
			      "Watch events delivered, by resource and type", "resource,type");
	return c;
}

struct wk_k8s *wk_k8s_new_from_config(const struct wk_config *cfg,
				      const struct wk_k8s_options *opts, char *errstr,
				      size_t errstr_size)
{
	struct wk_kubeconfig kc;
	struct wk_k8s *c = NULL;

	wk_kubeconfig_init(&kc);
	if (wk_kubeconfig_auto(&kc, wk_config_get(cfg, "kube.config", NULL),
			       wk_config_get(cfg, "kube.context", NULL), errstr, errstr_size) == 0)
		c = wk_k8s_new(&kc, opts, errstr, errstr_size);
	wk_kubeconfig_release(&kc);
	return c;
}

void wk_k8s_destroy(struct wk_k8s *c)
{
	if (!c)
		return;
	if (c->watches)
		WK_BUG("wk_k8s_destroy with watches still open");
	curl_easy_cleanup(c->easy);
	curl_multi_cleanup(c->multi);
	wk_kubeconfig_release(&c->kc);
	free(c->user_agent);
	free(c);
}

const char *wk_k8s_namespace(const struct wk_k8s *c)
{
	return c->kc.namespace ? c->kc.namespace : "default";
}

const char *wk_k8s_server(const struct wk_k8s *c)
{
	return c->kc.server;
}

void k8s_easy_setup(struct wk_k8s *c, CURL *e)
{
	const struct wk_kubeconfig *kc = &c->kc;

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY,
			 ""); /* the API server is never reached via $https_proxy */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, kc->insecure_skip_tls_verify ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, kc->insecure_skip_tls_verify ? 0L : 2L);
	if (kc->ca_pem) {
		struct curl_blob b = {kc->ca_pem, kc->ca_pem_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (kc->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file);
	}
	if (kc->cert_pem && kc->key_pem && c->secure) {
		struct curl_blob cb = {kc->cert_pem, kc->cert_pem_len, CURL_BLOB_COPY};
		struct curl_blob kb = {kc->key_pem, kc->key_pem_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
	}
}

struct curl_slist *k8s_headers(struct wk_k8s *c, const char *content_type)
{
	struct curl_slist *h = NULL;

	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:"); /* no 1 s 100-continue stall on writes */
	if (content_type) {
		char *ct = wk_xasprintf("Content-Type: %s", content_type);

		h = curl_slist_append(h, ct);
		free(ct);
	}
	if (c->secure && c->kc.token) {
		char *auth = wk_xasprintf("Authorization: Bearer %s", c->kc.token);

		h = curl_slist_append(h, auth);
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	return h;
}

void k8s_token_maybe_refresh(struct wk_k8s *c)
{
	char err[512];
	bool changed;

	if (c->kc.exec) {
		/* an exec plugin's token: re-run once it has expired (cheap check otherwise) */
		if (wk_kubeconfig_exec_refresh(&c->kc, false, wk_time_now_ms(), &changed, err,
					       sizeof(err)) < 0)
			wk_warn("keeping the current token: %s", err);
		else if (changed)
			wk_info("exec credential plugin '%s' gave a new token",
				c->kc.exec->command);
		return;
	}
	if (!c->kc.token_file || k8s_mono_ms() - c->token_read_ms < K8S_TOKEN_REFRESH_MS)
		return;
	c->token_read_ms = k8s_mono_ms();
	if (wk_kubeconfig_reload_token(&c->kc, &changed, err, sizeof(err)) < 0)
		wk_warn("keeping the current token: %s", err);
	else if (changed)
		wk_info("token file '%s' changed, using the new token", c->kc.token_file);
}

bool k8s_token_reload_after_401(struct wk_k8s *c)
{
	char err[512];
	bool changed = false;

	if (c->kc.exec) {
		/* client-go: a 401 re-runs the plugin (maybeRefreshCreds) */
		if (wk_kubeconfig_exec_refresh(&c->kc, true, wk_time_now_ms(), &changed, err,
					       sizeof(err)) < 0) {
			wk_warn("401 from the API server and the exec plugin failed: %s", err);
			return false;
		}
		if (changed)
			wk_info(
			    "401 from the API server: exec plugin '%s' gave a new token, retrying",
			    c->kc.exec->command);
		return changed;
	}
	if (!c->kc.token_file)
		return false;
	c->token_read_ms = k8s_mono_ms();
	if (wk_kubeconfig_reload_token(&c->kc, &changed, err, sizeof(err)) < 0) {
		wk_warn("401 from the API server and cannot re-read the token: %s", err);
		return false;
	}
	if (changed)
		wk_info("401 from the API server: token file '%s' changed, retrying",
			c->kc.token_file);
	return changed;
}

/* ---- paths ---- */

int wk_k8s_path(struct wk_buf *out, const struct wk_k8s_resource *res, const char *ns,
		const char *name, const char *subresource, char *errstr, size_t errstr_size)
{
	char err[300];

	wk_buf_reset(out);
	if (!res || !res->version || !res->plural)
		return wk_err(errstr, errstr_size, "incomplete resource descriptor");
	if (res->group && *res->group && wk_name_check_subdomain(res->group, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "resource group: %s", err);
	if (wk_name_check_label(res->version, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "resource version: %s", err);
	if (wk_name_check_label(res->plural, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "resource: %s", err);
	if (ns && !res->namespaced)
		return wk_err(errstr, errstr_size,
			      "'%s' is cluster-scoped but a namespace was given", res->plural);
	if (ns && wk_name_check_label(ns, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "namespace: %s", err);
	if (name && wk_name_check_subdomain(name, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "name: %s", err);
	if (name && res->namespaced && !ns)
		return wk_err(errstr, errstr_size, "'%s' is namespaced: '%s' needs a namespace",
			      res->plural, name);
	if (subresource && !name)
		return wk_err(errstr, errstr_size, "subresource '%s' needs an object name",
			      subresource);
	if (subresource && wk_name_check_label(subresource, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "subresource: %s", err);

	if (res->group && *res->group) {
		put(out, "/apis/");
		put(out, res->group);
		put(out, "/");
	} else {
		put(out, "/api/");
	}
	put(out, res->version);
	if (ns) {
		put(out, "/namespaces/");
		put(out, ns);
	}
	put(out, "/");
	put(out, res->plural);
	if (name) {
		put(out, "/");
		put(out, name);
	}
	if (subresource) {
		put(out, "/");
		put(out, subresource);
	}
	return 0;
}

void wk_k8s_query_add(struct wk_buf *b, const char *key, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);

	if (!v)
		WK_BUG("curl_easy_escape failed");
	put(b, strchr(wk_buf_str(b), '?') ? "&" : "?");
	put(b, key);
	put(b, "=");
	put(b, v);
	curl_free(v);
}

/* ---- one request ---- */

struct xfer {
	struct wk_buf body;
	bool too_big;
	char retry_after[64];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct xfer *x = opaque;

	if (wk_buf_add(&x->body, data, size * nmemb) < 0) {
		x->too_big = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct xfer *x = opaque;
	size_t len = size * nmemb;

	if (len >= 5 && !strncmp(data, "HTTP/", 5))
		x->retry_after[0] = '\0'; /* a new response (after a 100) starts */
	k8s_header_retry_after(data, len, x->retry_after, sizeof(x->retry_after));
	return len;
}

static void code_label(char *out, size_t size, long code)
{
	if (code)
		snprintf(out, size, "%ld", code);
	else
		wk_strlcpy(out, "transport", size);
}

/* Copy at most 200 bytes of a non-JSON body into a one-line message. */
static void raw_message(char *dst, size_t size, const char *body, size_t len)
{
	size_t n = len < 200 ? len : 200;

	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
	dst[n] = '\0';
}

static bool cancelled(struct wk_k8s *c)
{
	return c->opt.cancel && c->opt.cancel(c->opt.cancel_opaque);
}

static int on_progress(void *opaque, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return cancelled(opaque) ? 1 : 0;
}

/* Sleep in slices so a cancel (shutdown) is noticed within 100 ms; false if cancelled. */
static bool sleep_ms(struct wk_k8s *c, long ms)
{
	while (ms > 0) {
		long slice = ms < 100 ? ms : 100;
		struct timespec ts = {0, slice * 1000000L};

		if (cancelled(c))
			return false;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms -= slice;
	}
	return !cancelled(c);
}

int wk_k8s_request(struct wk_k8s *c, const char *method, const char *path_query,
		   const char *content_type, const char *body, size_t body_len,
		   struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	char *url = wk_xasprintf("%s%s", c->kc.server, path_query);
	char curl_err[CURL_ERROR_SIZE], label[16];
	bool is_get = !strcmp(method, "GET"), reloaded = false;
	struct xfer x;
	CURLcode cc;
	long code = 0;

	wk_k8s_result_init(out);
	wk_buf_init(&x.body, c->opt.max_body);
	for (int attempt = 0;; attempt++) {
		struct curl_slist *h;
		const char *const lv[] = {method, label};
		long wait_ms = -1;

		k8s_token_maybe_refresh(c);
		wk_buf_reset(&x.body);
		x.too_big = false;
		x.retry_after[0] = '\0';
		curl_err[0] = '\0';
		h = k8s_headers(c, content_type);
		curl_easy_reset(c->easy);
		k8s_easy_setup(c, c->easy);
		curl_easy_setopt(c->easy, CURLOPT_URL, url);
		curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->opt.request_timeout_ms);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, curl_err);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, &x);
		if (is_get)
			curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
		else
			curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
		if (c->opt.cancel) {
			curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(c->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
			curl_easy_setopt(c->easy, CURLOPT_XFERINFODATA, c);
		}
		if (body) {
			curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)body_len);
		}
		cc = curl_easy_perform(c->easy);
		curl_slist_free_all(h);
		code = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
		out->attempts = attempt + 1;
		code_label(label, sizeof(label), code);
		if (c->m_requests)
			wk_metric_inc(c->m_requests, lv, 1);
		if (x.too_big)
			break;
		if (code == 401 && !reloaded) {
			reloaded = true;
			if (k8s_token_reload_after_401(c)) {
				attempt--; /* a fresh token is not a retry */
				continue;
			}
		}
		if (attempt >= c->opt.max_retries)
			break;
		if (cc != CURLE_OK) {
			if (is_get)
				wait_ms = wk_k8s_backoff_ms(attempt, c->opt.backoff_base_ms,
							    c->opt.backoff_max_ms);
		} else if (code == 429 || (code >= 500 && code < 600)) {
			long ra;

			if (x.retry_after[0] &&
			    wk_k8s_retry_after_parse(x.retry_after, (int64_t)time(NULL),
						     c->opt.retry_after_max_s, &ra) == 0)
				wait_ms =
				    ra * 1000 + k8s_rand(c, 250); /* don't all come back at once */
			else if (code == 429 || is_get)
				wait_ms = wk_k8s_backoff_ms(attempt, c->opt.backoff_base_ms,
							    c->opt.backoff_max_ms);
		}
		if (wait_ms < 0)
			break;
		if (c->m_retries) {
			const char *const rv[] = {cc != CURLE_OK ? "transport" : label};

			wk_metric_inc(c->m_retries, rv, 1);
		}
		wk_debug("%s %s: %s, retrying in %ld ms", method, path_query,
			 cc != CURLE_OK ? curl_err : label, wait_ms);
		if (!sleep_ms(c, wait_ms)) {
			cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
	}
	out->http_code = code;

	if (x.too_big) {
		out->err = WK_K8S_ETOOBIG;
		wk_err(errstr, errstr_size, "%s %s: response body exceeds the %zu-byte cap", method,
		       path_query, c->opt.max_body);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK && c->opt.cancel) {
		out->err = WK_K8S_ECANCELLED;
		out->http_code = 0;
		wk_err(errstr, errstr_size, "%s %s: cancelled", method, path_query);
	} else if (cc != CURLE_OK) {
		out->err = WK_K8S_ETRANSPORT;
		wk_err(errstr, errstr_size, "%s %s: %s", method, path_query,
		       curl_err[0] ? curl_err : curl_easy_strerror(cc));
	} else {
		if (x.body.len)
			out->body = cJSON_ParseWithLength(x.body.buf, x.body.len);
		if (code >= 200 && code < 300) {
			out->err = WK_K8S_OK;
			if (x.body.len && !out->body) {
				out->err = WK_K8S_EOTHER;
				wk_err(errstr, errstr_size, "%s %s: %ld response is not JSON",
				       method, path_query, code);
			}
		} else {
			if (wk_k8s_status_from_json(out->body, &out->status) < 0) {
				out->status.code = (int)code;
				raw_message(out->status.message, sizeof(out->status.message),
					    x.body.len ? x.body.buf : "", x.body.len);
			}
			out->err = wk_k8s_classify(code, out->status.reason);
			wk_err(errstr, errstr_size, "%s %s: %ld %s: %s", method, path_query, code,
			       out->status.reason[0] ? out->status.reason
						     : wk_k8s_err_name(out->err),
			       out->status.message);
		}
	}
	wk_buf_release(&x.body);
	free(url);
	return out->err == WK_K8S_OK ? 0 : -1;
}
