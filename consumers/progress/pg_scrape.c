/* pg_scrape.c - the metric scraper thread (pg_scrape.h). */
#include "pg_scrape.h"

#include "pg_state.h"
#include "wk_buf.h"
#include "wk_config.h"
#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_kubeconfig.h"
#include "wk_kubevirt.h"
#include "wk_log.h"
#include "wk_promtext.h"
#include "wk_resource.h"
#include "wk_service.h"
#include "wk_time.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <time.h>

/* ---- the pure part: EndpointSlices -> targets ---- */

static bool addr_ok(const char *a, bool *v6)
{
	unsigned char buf[16];

	*v6 = false;
	if (!a || strlen(a) >= 64)
		return false;
	if (inet_pton(AF_INET, a, buf) == 1)
		return true;
	if (inet_pton(AF_INET6, a, buf) == 1) {
		*v6 = true;
		return true;
	}
	return false;
}

int pg_targets_from_slices(const cJSON *list, const char *server_name, struct pg_target **out,
			   size_t *n, char *errstr, size_t errstr_size)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items"), *sl, *ep;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(items))
		return wk_err(errstr, errstr_size, "EndpointSlice list without items");
	cJSON_ArrayForEach(sl, items)
	{
		const cJSON *ports = cJSON_GetObjectItemCaseSensitive(sl, "ports"), *p;
		double port = -1;

		cJSON_ArrayForEach(p, ports)
		{
			const char *pn = wk_json_str(p, "name");
			double pv = wk_json_num(p, "port", -1);

			if (pv >= 1 && pv <= 65535 && pv == (int)pv &&
			    (port < 0 || (pn && !strcmp(pn, "metrics"))))
				port = pv;
		}
		if (port < 0)
			continue;
		cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(sl, "endpoints"))
		{
			const char *kind = wk_json_str(ep, "targetRef.kind");
			const char *pod = wk_json_str(ep, "targetRef.name");
			const char *node = wk_json_str(ep, "nodeName");
			const cJSON *ready = wk_json_path(ep, "conditions.ready");
			const char *addr = cJSON_GetStringValue(
			    cJSON_GetArrayItem(wk_json_path(ep, "addresses"), 0));
			struct pg_target *t;
			bool v6;

			/* the Service selects every KubeVirt component: virt-handler only */
			if (!kind || strcmp(kind, "Pod") || !pod ||
			    strncmp(pod, "virt-handler-", 13))
				continue;
			if (cJSON_IsFalse(ready) || !addr_ok(addr, &v6))
				continue;
			if (*n == PG_SCRAPE_MAX_TARGETS) {
				free(*out);
				*out = NULL;
				*n = 0;
				return wk_err(errstr, errstr_size,
					      "more than %d virt-handler endpoints",
					      PG_SCRAPE_MAX_TARGETS);
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				*out = wk_xrealloc(*out, cap * sizeof(**out));
			}
			t = &(*out)[(*n)++];
			memset(t, 0, sizeof(*t));
			snprintf(t->url, sizeof(t->url), "https://%s:%d/metrics", server_name,
				 (int)port);
			snprintf(t->connect_to, sizeof(t->connect_to),
				 v6 ? "%s:%d:[%s]:%d" : "%s:%d:%s:%d", server_name, (int)port, addr,
				 (int)port);
			if (node && strlen(node) < sizeof(t->node))
				wk_strlcpy(t->node, node, sizeof(t->node));
		}
	}
	return 0;
}

/* ---- the thread ---- */

struct pg_scraper {
	struct pg_scrape_opts o;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* handed over under mu */
	struct pg_sample *out;
	size_t nout, aout;
	struct pg_scrape_counts counts;
	/* the thread's own */
	struct wk_k8s *k8s;
	struct pg_target *found;
	size_t nfound;
	char *ca_blob; /* from the kubevirt-ca ConfigMap */
	char server_name[128];
	int64_t next_discovery;
};

struct job {
	CURL *h;
	struct curl_slist *to, *hdr;
	struct wk_buf body;
	const struct pg_target *t;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct wk_buf *b = opaque;

	if (wk_buf_add(b, data, size * nmemb) < 0)
		return 0; /* past the cap: curl aborts the transfer */
	return size * nmemb;
}

struct collect {
	struct pg_sample *s;
	size_t n, a;
};

static int keep_sample(const struct wk_promtext_sample *s, void *opaque)
{
	struct collect *c = opaque;
	int which = pg_metric_which(s->name);
	const char *ns, *name;

	if (which < 0)
		return 0;
	ns = wk_promtext_label(s, "namespace");
	name = wk_promtext_label(s, "name");
	if (!ns || !name || strlen(ns) >= 64 || strlen(name) >= 254)
		return 0;
	if (c->n == c->a) {
		c->a = c->a ? c->a * 2 : 64;
		c->s = wk_xrealloc(c->s, c->a * sizeof(*c->s));
	}
	wk_strlcpy(c->s[c->n].ns, ns, sizeof(c->s[0].ns));
	wk_strlcpy(c->s[c->n].vmi, name, sizeof(c->s[0].vmi));
	c->s[c->n].which = which;
	c->s[c->n].v = s->value;
	c->s[c->n].ts = s->has_timestamp ? s->timestamp_ms : 0;
	c->n++;
	return 0;
}

static bool stopping(struct pg_scraper *s)
{
	bool st;

	pthread_mutex_lock(&s->mu);
	st = s->stop;
	pthread_mutex_unlock(&s->mu);
	return st;
}

static void discover(struct pg_scraper *s)
{
	struct wk_k8s_list_opts lo = {.label_selector =
					  "kubernetes.io/service-name=" PG_SCRAPE_SERVICE};
	struct wk_k8s_result r;
	struct pg_target *t = NULL;
	size_t n = 0;
	char err[512];
	bool ok = false;

	if (!s->k8s)
		return;
	if (!s->o.ns[0]) {
		/* KubeVirt's namespace is where its CR lives (usually "kubevirt") */
		struct wk_kubevirt_info kv;

		if (wk_kubevirt_fetch(s->k8s, &kv, err, sizeof(err)) < 0 || !kv.namespace[0]) {
			wk_warn("metrics endpoints: KubeVirt's namespace unknown (%s); trying "
				"'kubevirt'",
				kv.namespace[0] ? err : "no KubeVirt CR");
			wk_strlcpy(s->o.ns, "kubevirt", sizeof(s->o.ns));
		} else {
			wk_strlcpy(s->o.ns, kv.namespace, sizeof(s->o.ns));
		}
		snprintf(s->server_name, sizeof(s->server_name), "virt-handler.%s.svc", s->o.ns);
	}
	if (wk_k8s_list_all(s->k8s, &wk_res_endpointslices, s->o.ns, &lo, &r, err, sizeof(err)) < 0)
		wk_warn("metrics endpoints: cannot list EndpointSlices of '%s/%s': %s", s->o.ns,
			PG_SCRAPE_SERVICE, err);
	else if (pg_targets_from_slices(r.body, s->server_name, &t, &n, err, sizeof(err)) < 0)
		wk_warn("metrics endpoints: %s", err);
	else
		ok = true;
	wk_k8s_result_release(&r);
	/* the CA when none is configured: KubeVirt publishes it (rotated) in a ConfigMap */
	if (!s->o.ca_file[0] && !s->o.insecure) {
		if (wk_k8s_get(s->k8s, &wk_res_configmaps, s->o.ns, "kubevirt-ca", &r, err,
			       sizeof(err)) == 0 &&
		    wk_json_str(r.body, "data.ca-bundle")) {
			free(s->ca_blob);
			s->ca_blob = wk_xstrdup(wk_json_str(r.body, "data.ca-bundle"));
		} else if (!s->ca_blob) {
			wk_warn("metrics endpoints: no progress.metrics-ca-file and no ConfigMap "
				"'%s/kubevirt-ca' (key ca-bundle): %s",
				s->o.ns, err);
		}
		wk_k8s_result_release(&r);
	}
	pthread_mutex_lock(&s->mu);
	if (ok) {
		s->counts.discoveries++;
		s->counts.targets = n;
	} else {
		s->counts.discovery_errors++;
	}
	pthread_mutex_unlock(&s->mu);
	if (ok) {
		if (n != s->nfound)
			wk_info("metrics endpoints: %zu virt-handler(s) behind '%s/%s'", n, s->o.ns,
				PG_SCRAPE_SERVICE);
		free(s->found);
		s->found = t;
		s->nfound = n;
	}
}

static void setup_job(struct pg_scraper *s, struct job *j, const struct pg_target *t,
		      const char *token)
{
	memset(j, 0, sizeof(*j));
	j->t = t;
	j->h = curl_easy_init();
	if (!j->h)
		return;
	wk_buf_init(&j->body, WK_PROMTEXT_MAX_BODY);
	curl_easy_setopt(j->h, CURLOPT_URL, t->url);
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->h, CURLOPT_TIMEOUT_MS, (long)s->o.timeout_ms);
	curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT_MS, (long)s->o.timeout_ms);
	curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, &j->body);
	curl_easy_setopt(j->h, CURLOPT_USERAGENT, "wukong-progress/" WK_VERSION);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	if (t->connect_to[0]) {
		j->to = curl_slist_append(NULL, t->connect_to);
		curl_easy_setopt(j->h, CURLOPT_CONNECT_TO, j->to);
	}
	if (s->o.insecure) {
		curl_easy_setopt(j->h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(j->h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (s->o.ca_file[0]) {
		curl_easy_setopt(j->h, CURLOPT_CAINFO, s->o.ca_file);
	} else if (s->ca_blob) {
		struct curl_blob blob = {s->ca_blob, strlen(s->ca_blob), CURL_BLOB_COPY};

		curl_easy_setopt(j->h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (token) {
		char *a = wk_xasprintf("Authorization: Bearer %s", token);

		j->hdr = curl_slist_append(NULL, a);
		OPENSSL_cleanse(a, strlen(a));
		free(a);
		curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->hdr);
	}
}

static void finish_job(struct pg_scraper *s, struct job *j, CURLcode rc, struct collect *c)
{
	long code = 0;
	char err[256];

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		pthread_mutex_lock(&s->mu);
		s->counts.error++;
		pthread_mutex_unlock(&s->mu);
		wk_warn("scrape '%s'%s%s: %s", j->t->url, j->t->node[0] ? " on node " : "",
			j->t->node, rc != CURLE_OK ? curl_easy_strerror(rc) : "not 200");
		return;
	}
	if (wk_promtext_parse(j->body.buf ? j->body.buf : "", j->body.len, NULL, keep_sample, c,
			      err, sizeof(err)) < 0) {
		pthread_mutex_lock(&s->mu);
		s->counts.malformed++;
		pthread_mutex_unlock(&s->mu);
		wk_warn("scrape '%s': %s", j->t->url, err);
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->counts.ok++;
	pthread_mutex_unlock(&s->mu);
}

static void free_job(struct job *j)
{
	if (j->h)
		curl_easy_cleanup(j->h);
	curl_slist_free_all(j->to);
	curl_slist_free_all(j->hdr);
	wk_buf_release(&j->body);
	memset(j, 0, sizeof(*j));
}

static char *read_token(const char *path)
{
	char *tok = NULL, *p;
	size_t len;

	if (!path[0] || wk_read_file_capped(path, WK_KUBECONFIG_MAX_TOKEN, &tok, &len, NULL, 0) < 0)
		return NULL;
	for (p = tok + strlen(tok); p > tok && (p[-1] == '\n' || p[-1] == '\r' || p[-1] == ' ');)
		*--p = '\0';
	if (!*tok) {
		free(tok);
		return NULL;
	}
	wk_log_add_secret(tok);
	return tok;
}

/* One round: every target, at most max_parallel at a time, the whole round within timeout. */
static void round_all(struct pg_scraper *s)
{
	size_t total = s->o.nurls + s->nfound, next = 0, running = 0;
	struct pg_target *fixed = wk_xcalloc(s->o.nurls ? s->o.nurls : 1, sizeof(*fixed));
	struct job *jobs = wk_xcalloc((size_t)s->o.max_parallel, sizeof(*jobs));
	struct collect c = {0};
	CURLM *m = curl_multi_init();
	int64_t deadline = wk_time_mono_ms() + s->o.timeout_ms + 500;
	char *token = read_token(s->o.token_file);

	for (size_t i = 0; i < s->o.nurls; i++)
		wk_strlcpy(fixed[i].url, s->o.urls[i], sizeof(fixed[i].url));
	while ((next < total || running) && wk_time_mono_ms() < deadline && !stopping(s)) {
		CURLMsg *msg;
		int still, left;

		for (int k = 0; k < s->o.max_parallel && next < total; k++) {
			if (jobs[k].h)
				continue;
			setup_job(s, &jobs[k],
				  next < s->o.nurls ? &fixed[next] : &s->found[next - s->o.nurls],
				  token);
			next++;
			if (jobs[k].h) {
				curl_multi_add_handle(m, jobs[k].h);
				running++;
			}
		}
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct job *j = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			finish_job(s, j, msg->data.result, &c);
			curl_multi_remove_handle(m, j->h);
			free_job(j);
			running--;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	/* what did not finish in time counts as an error; the service never waited for it */
	for (int k = 0; k < s->o.max_parallel; k++) {
		if (!jobs[k].h)
			continue;
		pthread_mutex_lock(&s->mu);
		s->counts.error++;
		pthread_mutex_unlock(&s->mu);
		wk_warn("scrape '%s'%s%s: no answer within %lld ms", jobs[k].t->url,
			jobs[k].t->node[0] ? " on node " : "", jobs[k].t->node, s->o.timeout_ms);
		curl_multi_remove_handle(m, jobs[k].h);
		free_job(&jobs[k]);
	}
	curl_multi_cleanup(m);
	if (token) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	free(jobs);
	free(fixed);
	pthread_mutex_lock(&s->mu);
	if (c.n) {
		if (s->nout + c.n > s->aout) {
			s->aout = s->nout + c.n;
			s->out = wk_xrealloc(s->out, s->aout * sizeof(*s->out));
		}
		memcpy(s->out + s->nout, c.s, c.n * sizeof(*c.s));
		s->nout += c.n;
	}
	pthread_mutex_unlock(&s->mu);
	free(c.s);
}

static void *run(void *arg)
{
	struct pg_scraper *s = arg;
	int64_t next_round = wk_time_mono_ms();

	for (;;) {
		int64_t now = wk_time_mono_ms();

		pthread_mutex_lock(&s->mu);
		while (!s->stop && now < next_round) {
			struct timespec ts;
			int64_t wait = next_round - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			now = wk_time_mono_ms();
		}
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		pthread_mutex_unlock(&s->mu);
		next_round = now + s->o.interval_ms;
		if (s->o.discover && now >= s->next_discovery) {
			s->next_discovery = now + s->o.discovery_ms;
			discover(s);
		}
		round_all(s);
	}
	return NULL;
}

struct pg_scraper *pg_scraper_start(const struct pg_scrape_opts *o, char *errstr,
				    size_t errstr_size)
{
	struct pg_scraper *s = wk_xcalloc(1, sizeof(*s));

	s->o = *o;
	s->o.urls = wk_xcalloc(o->nurls ? o->nurls : 1, sizeof(char *));
	for (size_t i = 0; i < o->nurls; i++)
		s->o.urls[i] = wk_xstrdup(o->urls[i]);
	if (s->o.max_parallel <= 0)
		s->o.max_parallel = 16;
	if (s->o.discovery_ms <= 0)
		s->o.discovery_ms = 30000;
	if (o->ns[0])
		snprintf(s->server_name, sizeof(s->server_name), "virt-handler.%s.svc", o->ns);
	if (o->discover) {
		struct wk_k8s_options ko = {0};

		ko.request_timeout_ms = 10000;
		ko.max_retries = 1;
		s->k8s = wk_k8s_new_from_config(o->cfg, &ko, errstr, errstr_size);
		if (!s->k8s) {
			for (size_t i = 0; i < o->nurls; i++)
				free(s->o.urls[i]);
			free(s->o.urls);
			free(s);
			return NULL;
		}
	}
	s->o.cfg = NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		wk_err(errstr, errstr_size, "cannot start the scraper thread");
		wk_k8s_destroy(s->k8s);
		for (size_t i = 0; i < o->nurls; i++)
			free(s->o.urls[i]);
		free(s->o.urls);
		free(s);
		return NULL;
	}
	return s;
}

size_t pg_scraper_take(struct pg_scraper *s, struct pg_sample **out, struct pg_scrape_counts *c)
{
	size_t n;

	*out = NULL;
	if (!s) {
		if (c)
			memset(c, 0, sizeof(*c));
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	*out = s->out;
	n = s->nout;
	s->out = NULL;
	s->nout = s->aout = 0;
	if (c)
		*c = s->counts;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void pg_scraper_stop(struct pg_scraper *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	wk_k8s_destroy(s->k8s);
	for (size_t i = 0; i < s->o.nurls; i++)
		free(s->o.urls[i]);
	free(s->o.urls);
	free(s->found);
	free(s->out);
	free(s->ca_blob);
	free(s);
}
