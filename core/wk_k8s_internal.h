/* wk_k8s_internal.h - what wk_k8s.c shares with wk_k8s_watch.c; not for services. */
#ifndef WK_K8S_INTERNAL_H
#define WK_K8S_INTERNAL_H

#include "wk_k8s.h"

#include <curl/curl.h>

struct wk_metric;
struct wk_k8s_watch;

struct wk_k8s {
	struct wk_kubeconfig kc;
	struct wk_k8s_options opt;
	char *user_agent;
	bool secure;		      /* https: credentials may be sent */
	CURL *easy;		      /* blocking requests; reused so the connection stays open */
	CURLM *multi;		      /* every watch of this client */
	int64_t token_read_ms;	      /* monotonic time of the last token file read */
	struct wk_k8s_watch *watches; /* linked through wk_k8s_watch.next */
	unsigned int rand_state;
	int delivered;		       /* events delivered during the current wk_k8s_poll() */
	struct wk_metric *m_requests;  /* wukong_k8s_requests_total{verb,code} */
	struct wk_metric *m_retries;   /* wukong_k8s_request_retries_total{reason} */
	struct wk_metric *m_restarts;  /* wukong_k8s_watch_restarts_total{resource,reason} */
	struct wk_metric *m_relists;   /* wukong_k8s_watch_relists_total{resource} */
	struct wk_metric *m_malformed; /* wukong_k8s_watch_malformed_lines_total{resource,reason} */
	struct wk_metric *m_events;    /* wukong_k8s_watch_events_total{resource,type} */
};

#define K8S_TOKEN_REFRESH_MS 60000

int64_t k8s_mono_ms(void);
/* Connection, TLS, user agent and timeouts common to requests and watches. */
void k8s_easy_setup(struct wk_k8s *c, CURL *e);
/* Accept, Authorization (https only), empty Expect and an optional Content-Type. */
struct curl_slist *k8s_headers(struct wk_k8s *c, const char *content_type);
/* Re-read the token file when it is due (every 60 s). */
void k8s_token_maybe_refresh(struct wk_k8s *c);
/* After a 401: re-read the token file; true if the token changed (worth one retry). */
bool k8s_token_reload_after_401(struct wk_k8s *c);
/* Uniform random number in [0, n). */
long k8s_rand(struct wk_k8s *c, long n);
/* Parse Retry-After header lines (called from header callbacks): "retry-after: 5\r\n". */
bool k8s_header_retry_after(const char *line, size_t len, char *out, size_t out_size);
/* "wukongs.demo.example.com" or "pods": a resource label for metrics and messages. */
void k8s_resource_label(const struct wk_k8s_resource *res, char *out, size_t out_size);

#endif
