/* main.c - wukong-sim: a Kubernetes API server simulator with a KubeVirt model.
 *
 * Serves the REST API (sim_api) over HTTPS on 127.0.0.1 with libmicrohttpd (a thread per
 * connection, so a blocked watch never holds up other requests), KubeVirt's metrics endpoints
 * (sim_handler: virt-handler per node and virt-controller, HTTPS with KubeVirt's own CA, listed by
 * the kubevirt-prometheus-metrics Service's EndpointSlices), and runs the cluster model
 * (sim_model) until SIGTERM/SIGINT. Writes DIR/kubeconfig, DIR/ca.crt, DIR/token and
 * DIR/kubevirt-ca.crt, then prints "kubeconfig=PATH" on stdout once it serves.
 */
#include "sim_api.h"
#include "sim_crds.h"
#include "sim_rbac.h"
#include "sim_handler.h"
#include "sim_kv.h"
#include "sim_model.h"
#include "sim_store.h"
#include "sim_tls.h"

#include "wk_version.h"
#include "wk_buf.h"
#include "wk_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 4096
#define WATCH_BLOCK 65536

static volatile sig_atomic_t stopping;

struct ctx {
	struct sim_api *api;
	struct sim_model *model;
};

/* Per-connection request state, created by the URI log callback (which sees the raw URI). */
struct conn {
	char *raw_uri;
	struct wk_buf body;
	bool too_large;
	bool headers_seen; /* the handler's first call carries headers only */
};

struct stream {
	struct sim_watch *watch;
	struct wk_buf out;
	size_t off;
	int fd;
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *cs = wk_xcalloc(1, sizeof(*cs));

	(void)cls;
	(void)c;
	cs->raw_uri = wk_xstrndup(uri, SIM_API_MAX_PATH * 2);
	wk_buf_init(&cs->body, SIM_API_MAX_BODY);
	return cs;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn *cs = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!cs)
		return;
	free(cs->raw_uri);
	wk_buf_release(&cs->body);
	free(cs);
	*con_cls = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoding in place like MHD's own, except that "%00" stays as it is: a NUL would cut
 * the path short ("a%00b" would act on "a"); left encoded, the router refuses the '%'. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;

	(void)cls;
	(void)c;
	while (*r) {
		int hi, lo;

		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
		    (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Every Impersonate-Group header (kubectl --as-group repeats it), at most four. */
static enum MHD_Result impersonate_group(void *cls, enum MHD_ValueKind kind, const char *key,
					 const char *value)
{
	struct sim_req *req = cls;

	(void)kind;
	if (key && value && !strcasecmp(key, "Impersonate-Group") &&
	    req->n_impersonate_groups < WK_ARRAY_SIZE(req->impersonate_groups))
		req->impersonate_groups[req->n_impersonate_groups++] = value;
	return MHD_YES;
}

static const char *get_arg(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static bool peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	if (fd < 0)
		return false;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;

	(void)pos;
	for (;;) {
		if (s->off < s->out.len) {
			size_t n = s->out.len - s->off;

			if (n > max)
				n = max;
			memcpy(buf, s->out.buf + s->off, n);
			s->off += n;
			if (s->off == s->out.len) {
				wk_buf_reset(&s->out);
				s->off = 0;
			}
			return (ssize_t)n;
		}
		if (stopping || peer_gone(s->fd))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (sim_watch_next(s->watch, &s->out, 1000) < 0 && s->out.len == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	sim_watch_free(s->watch);
	wk_buf_release(&s->out);
	free(s);
}

static enum MHD_Result queue(struct MHD_Connection *c, struct sim_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char ra[16];

	if (r->watch) {
		struct stream *s = wk_xcalloc(1, sizeof(*s));
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		s->watch = r->watch;
		r->watch = NULL;
		wk_buf_init(&s->out, 0);
		s->fd = ci ? ci->connect_fd : -1;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, WATCH_BLOCK, stream_read,
							 s, stream_free);
	} else {
		size_t len;
		char *body = wk_buf_take(&r->body, &len);

		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", r->content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned int)(r->code ? r->code : 500), resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result status_reply(struct MHD_Connection *c, int code, const char *reason,
				    const char *msg)
{
	struct sim_resp r;
	enum MHD_Result ret;

	sim_resp_init(&r);
	sim_api_status(&r, code, reason, msg);
	ret = queue(c, &r);
	sim_resp_release(&r);
	return ret;
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload,
				   size_t *upload_size, void **con_cls)
{
	struct ctx *ctx = cls;
	struct conn *cs = *con_cls;
	struct sim_req req;
	struct sim_resp r;
	enum MHD_Result ret;

	(void)version;
	if (!cs)
		return MHD_NO;
	if (!cs->headers_seen) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		cs->headers_seen = true;
		if (cl && strtoull(cl, NULL, 10) > SIM_API_MAX_BODY)
			cs->too_large = true; /* answered once the body is drained */
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cs->too_large && wk_buf_add(&cs->body, upload, *upload_size) < 0)
			cs->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cs->too_large) {
		char msg[96];

		snprintf(msg, sizeof(msg), "Request entity too large: limit is %u",
			 SIM_API_MAX_BODY);
		return status_reply(c, 413, "RequestEntityTooLarge", msg);
	}
	if (strlen(url) > SIM_API_MAX_PATH)
		return status_reply(c, 414, "RequestURITooLong", "the request path is too long");
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	/* url comes without the query string (libmicrohttpd splits it off); the control API gets
	 * none either: clients add their own parameters (kubectl sends ?timeout=32s) and the
	 * model routes on the path alone (sim_model_control has no query parameter). */
	req.arg = get_arg;
	req.arg_ctx = c;
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	req.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	req.impersonate_user = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Impersonate-User");
	MHD_get_connection_values(c, MHD_HEADER_KIND, impersonate_group, &req);
	req.body = cs->body.buf;
	req.body_len = cs->body.len;
	sim_resp_init(&r);
	sim_api_handle(ctx->api, &req, &r);
	if (r.code >= 500 || r.code == 0)
		wk_warn("%s %s: %d", method, url, r.code);
	else
		wk_debug("%s %s: %d", method, url, r.code);
	ret = queue(c, &r);
	sim_resp_release(&r);
	return ret;
}

/* ---- model hooks ---- */

static int hook_fault(void *opaque, const char *verb, const char *plural, int *latency_ms)
{
	return sim_model_fault(opaque, verb, plural, latency_ms);
}

static bool hook_drop(void *opaque)
{
	return sim_model_drop_watches(opaque);
}

static int hook_control(void *opaque, const char *method, const char *path, const char *body,
			size_t body_len, struct wk_buf *out)
{
	return sim_model_control(opaque, method, path, body, body_len, out);
}

static int hook_admit(void *opaque, const struct sim_resource *res, const char *ns,
		      const cJSON *old, const cJSON *obj, char *msg, size_t msg_size)
{
	if (old)
		return sim_model_admit_update(opaque, res, ns, old, obj, msg, msg_size);
	return sim_model_admit(opaque, res, ns, obj, msg, msg_size);
}

/* ---- files ---- */

static int write_file(const char *dir, const char *name, const char *content, mode_t mode,
		      char *errstr, size_t errstr_size)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len = strlen(content);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return wk_err(errstr, errstr_size, "cannot write '%s': %s", tmp, strerror(errno));
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return wk_err(errstr, errstr_size, "cannot write '%s': %s", tmp, strerror(e));
	}
	close(fd);
	/* rename: a test polling for the file never sees it half-written */
	if (rename(tmp, path) < 0)
		return wk_err(errstr, errstr_size, "cannot rename '%s': %s", tmp, strerror(errno));
	return 0;
}

/* tools/sim/crds/ beside deploy/ of the tree the CRD came from: <root>/deploy/crds/wukong.yaml. */
static struct sim_crds *load_published_crds(struct sim_api *api, struct sim_store *st,
					    const char *crd_path)
{
	const struct sim_resource *crds = sim_resource_find("apiextensions.k8s.io", "v1",
							    "customresourcedefinitions");
	char dir[PATH_MAX], copy[PATH_MAX], errstr[512];
	struct sim_crds *c;
	struct sim_err err;

	wk_strlcpy(copy, crd_path, sizeof(copy));
	snprintf(dir, sizeof(dir), "%s/../../tools/sim/crds", dirname(copy));
	c = sim_crds_load_dir(dir, errstr, sizeof(errstr));
	if (!c) {
		wk_warn("published CRDs not loaded (%s): their kinds are served unvalidated", errstr);
		return NULL;
	}
	for (size_t i = 0; i < sim_crds_count(c); i++)
		sim_store_create(st, crds, NULL, cJSON_Duplicate(sim_crds_object(c, i), true), NULL,
				 &err);
	sim_api_set_crds(api, c);
	return c;
}

static char *find_crd(const char *given)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *root = getenv("WUKONG_ROOT");
	ssize_t n;

	if (given)
		return wk_xstrdup(given);
	if (root && *root) {
		snprintf(cand, sizeof(cand), "%s/deploy/crds/wukong.yaml", root);
		if (access(cand, R_OK) == 0)
			return wk_xstrdup(cand);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* <root>/<build>/bin/wukong-sim, or installed as <prefix>/bin next to share/ */
		static const char *const rel[] = {"../../deploy/crds/wukong.yaml",
						  "../../../deploy/crds/wukong.yaml",
						  "../share/wukong/crds/wukong.yaml"};
		char *dir = dirname(exe);

		for (size_t i = 0; i < WK_ARRAY_SIZE(rel); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
			if (access(cand, R_OK) == 0)
				return wk_xstrdup(cand);
		}
	}
	if (access("deploy/crds/wukong.yaml", R_OK) == 0)
		return wk_xstrdup("deploy/crds/wukong.yaml");
	return NULL;
}

/* tools/sim/openapi (KubeVirt's definitions), found like the CRD. */
static char *find_openapi(const char *given)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *root = getenv("WUKONG_ROOT");
	ssize_t n;

	if (given)
		return wk_xstrdup(given);
	if (root && *root) {
		snprintf(cand, sizeof(cand), "%s/tools/sim/openapi/v1.9.0.json", root);
		if (access(cand, R_OK) == 0)
			return wk_xasprintf("%s/tools/sim/openapi", root);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		static const char *const rel[] = {"../../tools/sim/openapi",
						  "../../../tools/sim/openapi",
						  "../share/wukong/openapi"};
		char *dir;

		exe[n] = '\0';
		dir = dirname(exe);
		for (size_t i = 0; i < WK_ARRAY_SIZE(rel); i++) {
			snprintf(cand, sizeof(cand), "%s/%s/v1.9.0.json", dir, rel[i]);
			if (access(cand, R_OK) == 0)
				return wk_xasprintf("%s/%s", dir, rel[i]);
		}
	}
	if (access("tools/sim/openapi/v1.9.0.json", R_OK) == 0)
		return wk_xstrdup("tools/sim/openapi");
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: wukong-sim --dir DIR [--scenario FILE] [--time-factor X] [--seed N]\n"
	    "                  [--listen 127.0.0.1:PORT] [--history N] [--auth FILE] [--crd FILE]\n"
	    "                  [--max-watches N] [--bookmark-interval SECONDS]\n"
	    "                  [--kubevirt-version 1.5|1.6|1.9] [--openapi DIR]\n"
	    "                  [--log-level debug|info|warn|error]\n"
	    "  --time-factor X  simulated seconds per real second (default: the scenario's\n"
	    "                   timeFactor, 1 when it has none)\n"
	    "  --seed N         random seed (default: the scenario's seed, 1 when it has none;\n"
	    "                   0 = the default)\n"
	    "  --kubevirt-version V  the KubeVirt version to behave as (default: the scenario's\n"
	    "                   kubevirtVersion, 1.9 when it has none)\n"
	    "  --openapi DIR    KubeVirt's definitions (default: tools/sim/openapi of the tree)\n");
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	/* loopback only: the simulator has a well-known admin token in a file */
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -1;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"scenario", required_argument, NULL, 's'},
	    {"time-factor", required_argument, NULL, 't'},
	    {"seed", required_argument, NULL, 'S'},
	    {"listen", required_argument, NULL, 'l'},
	    {"history", required_argument, NULL, 'H'},
	    {"auth", required_argument, NULL, 'a'},
	    {"crd", required_argument, NULL, 'c'},
	    {"max-watches", required_argument, NULL, 'w'},
	    {"bookmark-interval", required_argument, NULL, 'b'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"kubevirt-version", required_argument, NULL, 'K'},
	    {"openapi", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *auth = NULL, *crd_arg = NULL, *listen = "127.0.0.1:0";
	const char *openapi_arg = NULL;
	char *openapi_dir;
	struct sim_kv_defs *kv_defs;
	struct sim_model_opts mopts = {NULL, 0, 0, 0}; /* 0: the scenario's values */
	size_t history = 20000;
	int max_watches = 1000, bookmark = 10, opt;
	char errstr[512], token[65], *crd_path, *kc, *ca_b64, path[PATH_MAX];
	unsigned char rnd[32];
	struct sim_tls tls, kvtls;
	struct sim_handlers *handlers;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct ctx ctx;
	struct sim_store *st;
	struct sim_api_hooks hooks;
	struct sim_crds *published;
	enum wk_log_level lvl = WK_LOG_INFO;
	uint16_t port;
	char *end;
	sigset_t sigs;
	int sig;
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		wk_version_print(stdout, "wukong-sim");
		return 0;
	}

	wk_log_init("wukong-sim", WK_LOG_INFO);
	/* The test harness picks the version for every simulator it starts (tests/lib.sh). */
	if (getenv("WUKONG_SIM_KUBEVIRT_VERSION") && *getenv("WUKONG_SIM_KUBEVIRT_VERSION")) {
		mopts.kv_minor = sim_kv_minor_parse(getenv("WUKONG_SIM_KUBEVIRT_VERSION"));
		if (mopts.kv_minor < 0)
			wk_die(2, "WUKONG_SIM_KUBEVIRT_VERSION: '%s' is not 1.5, 1.6 or 1.9",
			       getenv("WUKONG_SIM_KUBEVIRT_VERSION"));
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			mopts.scenario_path = optarg;
			break;
		case 't':
			mopts.time_factor = strtod(optarg, &end);
			if (*end || !(mopts.time_factor > 0) || mopts.time_factor > 1e6)
				wk_die(2, "--time-factor: '%s' is not a number in (0, 1e6]",
				       optarg);
			break;
		case 'S':
			mopts.seed = strtoull(optarg, &end, 10);
			if (*end || !*optarg)
				wk_die(2, "--seed: '%s' is not a number", optarg);
			break;
		case 'l':
			listen = optarg;
			break;
		case 'H':
			history = strtoull(optarg, &end, 10);
			if (*end || history < 16 || history > 10000000)
				wk_die(2, "--history: '%s' is not a number in [16, 10000000]",
				       optarg);
			break;
		case 'a':
			auth = optarg;
			break;
		case 'c':
			crd_arg = optarg;
			break;
		case 'w':
			max_watches = (int)strtol(optarg, &end, 10);
			if (*end || max_watches < 1 || max_watches > MAX_CONNECTIONS)
				wk_die(2, "--max-watches: '%s' is not a number in [1, %d]", optarg,
				       MAX_CONNECTIONS);
			break;
		case 'b':
			bookmark = (int)strtol(optarg, &end, 10);
			if (*end || bookmark < 1 || bookmark > 3600)
				wk_die(2, "--bookmark-interval: '%s' is not a number in [1, 3600]",
				       optarg);
			break;
		case 'L':
			if (wk_log_level_parse(optarg, &lvl) < 0)
				wk_die(2, "--log-level: unknown level '%s'", optarg);
			wk_log_init(NULL, lvl);
			break;
		case 'K':
			mopts.kv_minor = sim_kv_minor_parse(optarg);
			if (mopts.kv_minor < 0)
				wk_die(2, "--kubevirt-version: '%s' is not 1.5, 1.6 or 1.9",
				       optarg);
			break;
		case 'O':
			openapi_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (parse_listen(listen, &sa) < 0)
		wk_die(2, "--listen: '%s' is not a loopback IPv4 address:port", listen);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		wk_die(1, "cannot create '%s': %s", dir, strerror(errno));
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		wk_die(1, "libmicrohttpd was built without TLS support");
	crd_path = find_crd(crd_arg);
	if (!crd_path)
		wk_die(1,
		       "cannot find deploy/crds/wukong.yaml: pass --crd FILE or set WUKONG_ROOT");

	/* block the stop signals in every thread started from here on; main() sigwait()s them */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	st = sim_store_new(history);
	ctx.model = sim_model_new(st, &mopts, errstr, sizeof(errstr));
	if (!ctx.model)
		wk_die(1, "%s", errstr);
	openapi_dir = find_openapi(openapi_arg);
	if (!openapi_dir)
		wk_die(1, "cannot find tools/sim/openapi: pass --openapi DIR or set WUKONG_ROOT");
	kv_defs =
	    sim_kv_defs_load(openapi_dir, sim_model_kv_minor(ctx.model), errstr, sizeof(errstr));
	if (!kv_defs)
		wk_die(1, "%s", errstr);
	/* Every write, the model's seeding included, keeps only what this version's API has. */
	sim_store_set_pruner(st, sim_kv_store_pruner, kv_defs);
	hooks.opaque = ctx.model;
	hooks.fault = hook_fault;
	hooks.drop_watches = hook_drop;
	hooks.control = hook_control;
	hooks.admit = hook_admit;
	ctx.api = sim_api_new(st, &hooks);
	sim_api_set_max_watches(ctx.api, max_watches);
	sim_api_set_kv_defs(ctx.api, kv_defs);
	sim_api_set_bookmark_interval(ctx.api, bookmark);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		wk_die(1, "cannot get random bytes for the admin token");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	sim_api_add_token(ctx.api, token, "wukong-sim-admin", NULL, NULL);
	if (auth && sim_api_load_auth(ctx.api, auth, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);
	if (sim_api_load_crd(ctx.api, crd_path, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);
	published = load_published_crds(ctx.api, st, crd_path);
	/* what each RBAC identity did, for the least-privilege check (docs/simulator.md) */
	snprintf(path, sizeof(path), "%s/rbac-used.tsv", dir);
	if (sim_rbac_record_open(path, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);
	if (sim_model_start(ctx.model, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);
	sim_api_ensure_namespace(ctx.api, "default");
	sim_api_ensure_namespace(ctx.api, "kube-system");
	if (sim_tls_generate(&tls, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);

	d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		MHD_USE_TLS,
	    0, NULL, NULL, api_handler, &ctx, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_KEY,
	    tls.key_pem, MHD_OPTION_HTTPS_MEM_CERT, tls.cert_pem, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(4u << 20), MHD_OPTION_URI_LOG_CALLBACK, uri_log,
	    NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, NULL, MHD_OPTION_END);
	if (!d)
		wk_die(1, "cannot listen on %s (https)", listen);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : 0;

	/* KubeVirt's own CA (secret kubevirt-ca) and virt-handler's serving certificate: the
	 * names of components/secrets.go, no IP SANs (pods are reached by name or chain-only
	 * verification; upstream's ServiceMonitor skips verification). */
	{
		char cacn[64];

		snprintf(cacn, sizeof(cacn), "kubevirt.io@%lld", (long long)time(NULL));
		if (sim_tls_generate_named(&kvtls, cacn, "kubevirt.io:system:node:virt-handler",
					   "DNS:virt-handler,DNS:virt-handler.kubevirt,"
					   "DNS:virt-handler.kubevirt.svc,"
					   "DNS:virt-handler.kubevirt.svc.cluster.local",
					   errstr, sizeof(errstr)) < 0)
			wk_die(1, "%s", errstr);
	}
	handlers = sim_handlers_start(st, ctx.model, &kvtls, errstr, sizeof(errstr));
	if (!handlers)
		wk_die(1, "%s", errstr);

	ca_b64 = sim_base64(tls.ca_pem, strlen(tls.ca_pem));
	kc = wk_xasprintf("apiVersion: v1\n"
			  "kind: Config\n"
			  "current-context: wukong-sim\n"
			  "clusters:\n"
			  "- name: wukong-sim\n"
			  "  cluster:\n"
			  "    server: https://127.0.0.1:%u\n"
			  "    certificate-authority-data: %s\n"
			  "contexts:\n"
			  "- name: wukong-sim\n"
			  "  context:\n"
			  "    cluster: wukong-sim\n"
			  "    user: wukong-sim\n"
			  "    namespace: default\n"
			  "users:\n"
			  "- name: wukong-sim\n"
			  "  user:\n"
			  "    token: %s\n",
			  port, ca_b64, token);
	if (write_file(dir, "ca.crt", tls.ca_pem, 0644, errstr, sizeof(errstr)) < 0 ||
	    write_file(dir, "token", token, 0600, errstr, sizeof(errstr)) < 0 ||
	    write_file(dir, "kubevirt-ca.crt", kvtls.ca_pem, 0644, errstr, sizeof(errstr)) < 0 ||
	    write_file(dir, "kubeconfig", kc, 0600, errstr, sizeof(errstr)) < 0)
		wk_die(1, "%s", errstr);
	free(kc);
	free(ca_b64);
	{
		char *abs = realpath(dir, NULL);

		snprintf(path, sizeof(path), "%s/kubeconfig", abs ? abs : dir);
		free(abs);
	}
	wk_info("serving https://127.0.0.1:%u (KubeVirt metrics endpoints on port %u), crd %s, "
		"KubeVirt %s",
		port, sim_handlers_port(handlers), crd_path,
		sim_kv_version_tag(sim_model_kv_minor(ctx.model)));
	printf("kubeconfig=%s\n", path);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	stopping = 1;

	wk_info("shutting down");
	sim_handlers_stop(handlers);
	MHD_stop_daemon(d);
	sim_model_destroy(ctx.model);
	sim_api_destroy(ctx.api);
	sim_crds_destroy(published);
	sim_rbac_record_close();
	sim_store_destroy(st);
	sim_kv_defs_free(kv_defs);
	free(openapi_dir);
	sim_tls_release(&tls);
	sim_tls_release(&kvtls);
	free(crd_path);
	return 0;
}
