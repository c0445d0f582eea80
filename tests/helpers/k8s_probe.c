/* k8s_probe.c - a tiny CLI over the core Kubernetes client, driven by tests/integration/0003.
 *
 * k8s_probe -k KUBECONFIG [-x CONTEXT] [-b BACKOFF_MS] [-r MAX_RETRIES] [-m MAX_BODY] COMMAND...
 * k8s_probe -i SA_DIR ...                   (in-cluster: $KUBERNETES_SERVICE_HOST/PORT + SA_DIR)
 * k8s_probe -k KUBECONFIG script FILE       (one command a line; '#' starts a comment)
 *
 * RES is "group/version/plural" or "v1/plural" (core), prefixed "cluster:" when cluster-scoped;
 * NS "-" means no namespace. Commands:
 *   get RES NS NAME | create RES NS JSON | replace RES NS NAME JSON [status]
 *   patch RES NS NAME merge|json|strategic JSON [status] | delete RES NS NAME [rv=RV]
 *   update RES NS NAME KEY VALUE   (read-modify-write of spec.KEY, retried on 409 Conflict)
 *   list RES NS [limit=N] [label=SEL] [field=SEL]   (every page)
 *   watch RES NS [events=N] [timeout=S] [stream-timeout=S] [label=SEL] [relist-after=N]
 *   wait-file PATH | sleep MS
 * Output, one line per result: "OK <code> <json>", "ERR <class> <code> <reason> attempts=<n>
 * <message>"; watches print "EV <TYPE> <ns>/<name> rv=<rv>", "RELIST_BEGIN", "RELIST_END rv=<rv>"
 * and final "WATCH ..." (this watch's counters) and "METRICS ..." (wk_metrics) lines. Exit status
 * 1 if any command failed.
 */
#include "wk_common.h"
#include "wk_k8s.h"
#include "wk_k8s_watch.h"
#include "wk_kubeconfig.h"
#include "wk_log.h"
#include "wk_metrics.h"

#include <getopt.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

struct res_buf {
	struct wk_k8s_resource res;
	char text[256];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_res(const char *s, struct res_buf *rb)
{
	char *slash1, *slash2;

	rb->res.namespaced = true;
	if (!strncmp(s, "cluster:", 8)) {
		rb->res.namespaced = false;
		s += 8;
	}
	wk_strlcpy(rb->text, s, sizeof(rb->text));
	slash1 = strchr(rb->text, '/');
	if (!slash1)
		return -1;
	*slash1 = '\0';
	slash2 = strchr(slash1 + 1, '/');
	if (!slash2) { /* v1/plural */
		rb->res.group = "";
		rb->res.version = rb->text;
		rb->res.plural = slash1 + 1;
	} else {
		*slash2 = '\0';
		rb->res.group = rb->text;
		rb->res.version = slash1 + 1;
		rb->res.plural = slash2 + 1;
	}
	return 0;
}

static const char *opt_arg(int argc, char **argv, int from, const char *key)
{
	size_t n = strlen(key);

	for (int i = from; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static int report(int r, struct wk_k8s_result *res, const char *err)
{
	if (r == 0) {
		char *s = res->body ? cJSON_PrintUnformatted(res->body) : NULL;

		printf("OK %ld %s\n", res->http_code, s ? s : "null");
		free(s);
	} else {
		printf("ERR %s %ld %s attempts=%d %s\n", wk_k8s_err_name(res->err), res->http_code,
		       res->status.reason[0] ? res->status.reason : "-", res->attempts, err);
	}
	wk_k8s_result_release(res);
	return r;
}

struct set_spec {
	const char *key, *value;
	int calls;
};

static int set_spec_field(cJSON *obj, void *opaque, char *errstr, size_t errstr_size)
{
	struct set_spec *s = opaque;
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");

	s->calls++;
	if (!spec && !(spec = cJSON_AddObjectToObject(obj, "spec")))
		return wk_err(errstr, errstr_size, "cannot add spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, s->key);
	cJSON_AddStringToObject(spec, s->key, s->value);
	return 0;
}

struct watch_state {
	long want;
	long got;
	long relist_after; /* ask for a relist (from the callback) after this many events */
};

static void on_event(struct wk_k8s_watch *w, enum wk_k8s_event_type t, const cJSON *obj,
		     void *opaque)
{
	struct watch_state *ws = opaque;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	const char *rvs = cJSON_IsString(rv) ? rv->valuestring : "-";

	if (t == WK_K8S_EV_RELIST_BEGIN)
		printf("RELIST_BEGIN\n");
	else if (t == WK_K8S_EV_RELIST_END)
		printf("RELIST_END rv=%s\n", rvs);
	else {
		printf("EV %s %s/%s rv=%s\n", wk_k8s_event_type_name(t),
		       cJSON_IsString(ns) ? ns->valuestring : "-",
		       cJSON_IsString(name) ? name->valuestring : "-", rvs);
		ws->got++;
		if (ws->relist_after > 0 && ws->got == ws->relist_after) {
			printf("RELIST_REQUESTED\n");
			wk_k8s_watch_relist(w);
		}
	}
	fflush(stdout);
}

static int do_watch(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns, int argc,
		    char **argv)
{
	struct watch_state ws = {0};
	struct wk_k8s_watch_opts o = {0};
	struct wk_k8s_watch_stats st;
	struct wk_k8s_watch *w;
	const char *v;
	long timeout_s = 30;
	int64_t end;
	char err[512];

	ws.want = (v = opt_arg(argc, argv, 0, "events")) ? atol(v) : -1;
	if ((v = opt_arg(argc, argv, 0, "timeout")))
		timeout_s = atol(v);
	if ((v = opt_arg(argc, argv, 0, "stream-timeout")))
		o.timeout_s = atol(v);
	if ((v = opt_arg(argc, argv, 0, "idle-timeout")))
		o.idle_timeout_s = atol(v);
	o.label_selector = opt_arg(argc, argv, 0, "label");
	if ((v = opt_arg(argc, argv, 0, "relist-after")))
		ws.relist_after = atol(v);
	o.backoff_base_ms = 100;
	o.backoff_max_ms = 1000;
	w = wk_k8s_watch_new(c, res, ns, &o, on_event, &ws, err, sizeof(err));
	if (!w) {
		printf("ERR Refused 0 - attempts=0 %s\n", err);
		return -1;
	}
	end = now_ms() + timeout_s * 1000;
	while (now_ms() < end && (ws.want < 0 || ws.got < ws.want))
		wk_k8s_poll(c, 100);
	wk_k8s_watch_get_stats(w, &st);
	printf("WATCH events=%ld relists=%llu restarts=%llu malformed=%llu oversized=%llu "
	       "bookmarks=%llu errors=%llu rv=%s\n",
	       ws.got, (unsigned long long)st.relists, (unsigned long long)st.restarts,
	       (unsigned long long)st.malformed, (unsigned long long)st.oversized,
	       (unsigned long long)st.bookmarks, (unsigned long long)st.errors,
	       wk_k8s_watch_resource_version(w) ? wk_k8s_watch_resource_version(w) : "-");
	{
		const char *const lv[] = {"wukongs.demo.example.com", NULL};
		const char *const mv[] = {"wukongs.demo.example.com", "json"};

		printf("METRICS relists=%g malformed_json=%g\n",
		       wk_metric_value(
			   wk_metric_counter("wukong_k8s_watch_relists_total", "", "resource"), lv),
		       wk_metric_value(wk_metric_counter("wukong_k8s_watch_malformed_lines_total",
							 "", "resource,reason"),
				       mv));
	}
	wk_k8s_watch_destroy(w);
	return ws.want < 0 || ws.got >= ws.want ? 0 : -1;
}

static int run(struct wk_k8s *c, int argc, char **argv)
{
	struct wk_k8s_result res;
	struct res_buf rb;
	const char *cmd = argv[0], *ns, *sub;
	char err[1024];
	int r;

	if (!strcmp(cmd, "sleep") && argc == 2) {
		usleep((useconds_t)atol(argv[1]) * 1000);
		return 0;
	}
	if (!strcmp(cmd, "wait-file") && argc == 2) {
		for (int i = 0; i < 300 && access(argv[1], F_OK) < 0; i++)
			usleep(100000);
		return access(argv[1], F_OK);
	}
	if (argc < 3 || parse_res(argv[1], &rb) < 0) {
		fprintf(stderr, "k8s_probe: bad command '%s'\n", cmd);
		return -1;
	}
	ns = strcmp(argv[2], "-") ? argv[2] : NULL;
	sub = argc > 0 && !strcmp(argv[argc - 1], "status") ? "status" : NULL;
	if (!strcmp(cmd, "get") && argc == 4) {
		r = wk_k8s_get(c, &rb.res, ns, argv[3], &res, err, sizeof(err));
	} else if (!strcmp(cmd, "create") && argc == 4) {
		cJSON *obj = cJSON_Parse(argv[3]);

		r = wk_k8s_create(c, &rb.res, ns, obj, &res, err, sizeof(err));
		cJSON_Delete(obj);
	} else if (!strcmp(cmd, "replace") && argc >= 5) {
		cJSON *obj = cJSON_Parse(argv[4]);

		r = wk_k8s_replace(c, &rb.res, ns, argv[3], sub, obj, &res, err, sizeof(err));
		cJSON_Delete(obj);
	} else if (!strcmp(cmd, "patch") && argc >= 6) {
		enum wk_k8s_patch_type t = !strcmp(argv[4], "json")	   ? WK_K8S_PATCH_JSON
					   : !strcmp(argv[4], "strategic") ? WK_K8S_PATCH_STRATEGIC
									   : WK_K8S_PATCH_MERGE;

		r = wk_k8s_patch(c, &rb.res, ns, argv[3], sub, t, argv[5], &res, err, sizeof(err));
	} else if (!strcmp(cmd, "delete") && argc >= 4) {
		struct wk_k8s_delete_opts o = {.propagation_policy = "Background",
					       .precondition_rv = opt_arg(argc, argv, 4, "rv"),
					       .grace_period_s = -1};

		r = wk_k8s_delete(c, &rb.res, ns, argv[3], &o, &res, err, sizeof(err));
	} else if (!strcmp(cmd, "update") && argc == 6) {
		struct set_spec s = {argv[4], argv[5], 0};

		r = wk_k8s_update(c, &rb.res, ns, argv[3], NULL, set_spec_field, &s, 0, &res, err,
				  sizeof(err));
		printf("UPDATE mutations=%d\n", s.calls);
	} else if (!strcmp(cmd, "list")) {
		struct wk_k8s_list_opts o = {0};
		const char *v = opt_arg(argc, argv, 3, "limit");
		const cJSON *it, *items, *md, *rv;

		o.limit = v ? atol(v) : 0;
		o.label_selector = opt_arg(argc, argv, 3, "label");
		o.field_selector = opt_arg(argc, argv, 3, "field");
		r = wk_k8s_list_all(c, &rb.res, ns, &o, &res, err, sizeof(err));
		if (r == 0) {
			items = cJSON_GetObjectItemCaseSensitive(res.body, "items");
			md = cJSON_GetObjectItemCaseSensitive(res.body, "metadata");
			rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
			printf("LIST items=%d pages=%d rv=%s\n", cJSON_GetArraySize(items),
			       res.attempts, cJSON_IsString(rv) ? rv->valuestring : "-");
			cJSON_ArrayForEach(it, items)
			{
				const cJSON *n = cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name");

				printf("ITEM %s\n", cJSON_IsString(n) ? n->valuestring : "-");
			}
			wk_k8s_result_release(&res);
			return 0;
		}
	} else if (!strcmp(cmd, "watch")) {
		return do_watch(c, &rb.res, ns, argc - 3, argv + 3);
	} else {
		fprintf(stderr, "k8s_probe: bad command '%s'\n", cmd);
		return -1;
	}
	return report(r, &res, err);
}

static int run_script(struct wk_k8s *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[65536];
	int failed = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *argv[32], *save = NULL;
		int argc = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		for (char *t = strtok_r(line, " ", &save); t && argc < 32;
		     t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
		if (run(c, argc, argv) < 0)
			failed = 1;
		fflush(stdout);
	}
	fclose(f);
	return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct wk_k8s_options o = {.backoff_base_ms = 100, .backoff_max_ms = 1000};
	const char *kubeconfig = NULL, *context = NULL, *sa_dir = NULL;
	struct wk_kubeconfig kc;
	struct wk_k8s *c;
	char err[1024];
	int opt, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	wk_log_init("k8s-probe", getenv("PROBE_DEBUG") ? WK_LOG_DEBUG : WK_LOG_INFO);
	while ((opt = getopt(argc, argv, "k:x:b:r:m:i:")) != -1) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case 'x':
			context = optarg;
			break;
		case 'b':
			o.backoff_base_ms = atol(optarg);
			break;
		case 'r':
			o.max_retries = atoi(optarg);
			break;
		case 'm':
			o.max_body = (size_t)atol(optarg);
			break;
		case 'i':
			sa_dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: k8s_probe -k KUBECONFIG [-x CONTEXT] COMMAND...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: k8s_probe -k KUBECONFIG [-x CONTEXT] COMMAND...\n");
		return 2;
	}
	if ((sa_dir ? wk_kubeconfig_in_cluster(&kc, sa_dir, err, sizeof(err))
		    : wk_kubeconfig_auto(&kc, kubeconfig, context, err, sizeof(err))) < 0) {
		fprintf(stderr, "k8s_probe: %s\n", err);
		return 3;
	}
	c = wk_k8s_new(&kc, &o, err, sizeof(err));
	if (!c) {
		wk_kubeconfig_release(&kc);
		fprintf(stderr, "k8s_probe: %s\n", err);
		return 3;
	}
	if (!strcmp(argv[optind], "script") && optind + 1 < argc)
		r = run_script(c, argv[optind + 1]);
	else
		r = run(c, argc - optind, argv + optind);
	wk_k8s_destroy(c);
	return r < 0 ? 1 : 0;
}
