/* sim_handler.c - virt-handler and virt-controller metrics endpoints (see sim_handler.h).
 * Upstream: pkg/virt-operator/resource/generate/components/deployments.go NewPrometheusService,
 * components/daemonsets.go (virt-handler --port 8443, container port "metrics"),
 * cmd/virt-handler/virt-handler.go runPrometheusServer, pkg/util/tls/tls.go SetupPromTLS,
 * components/secrets.go (kubevirt-ca, the virt-handler server certificate's names).
 */
#include "sim_handler.h"

#include "wk_buf.h"
#include "wk_json.h"
#include "wk_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define NS "kubevirt"
#define SVC "kubevirt-prometheus-metrics"
#define SLICE_MAX 100 /* the EndpointSlice controller's maxEndpointsPerSlice default */

struct ep {
	int fd;
	uint32_t addr; /* host order */
	char *node;    /* NULL: virt-controller */
	char pod[64];
};

struct sim_handlers {
	struct sim_model *m;
	struct ep *eps;
	size_t n;
	uint16_t port;
	struct MHD_Daemon *d;
	pthread_t thread;
	bool running;
	volatile bool stop;
};

static uint32_t ep_addr(size_t i, bool controller)
{
	if (controller)
		return (127u << 24) | (11u << 16) | 1u;
	return (127u << 24) | (10u << 16) | ((uint32_t)(i / 250) << 8) | (uint32_t)(i % 250 + 1);
}

int sim_handler_filter(const char *in, const char *node, struct wk_buf *out)
{
	const char *p = in, *nl;
	char want[300];

	if (node)
		snprintf(want, sizeof(want), "node=\"%s\"", node);
	for (; p && *p; p = nl ? nl + 1 : NULL) {
		const char *name = p;
		size_t len;
		bool keep;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7))
			name = p + 7;
		if (node) {
			keep = !strncmp(name, "kubevirt_vmi_migration_", 23);
			if (keep && name == p) {
				/* a sample: its node label must be this node's */
				const char *lb = memchr(p, '{', len),
					   *rb =
					       lb ? memchr(lb, '}', len - (size_t)(lb - p)) : NULL;
				const char *hit = lb ? strstr(lb, want) : NULL;

				keep = hit && rb && hit < rb && (hit[-1] == '{' || hit[-1] == ',');
			}
		} else {
			keep = !strncmp(name, "kubevirt_vmi_migrations_in_", 27);
		}
		if (keep && (wk_buf_add(out, p, len) < 0 || wk_buf_add(out, "\n", 1) < 0))
			return -1;
	}
	return 0;
}

static struct ep *ep_of(struct sim_handlers *h, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    sa.sin_family != AF_INET)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		if (h->eps[i].addr == ntohl(sa.sin_addr.s_addr))
			return &h->eps[i];
	return NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct sim_handlers *h = cls;
	struct MHD_Response *resp;
	struct wk_buf b, all;
	unsigned int code = 200;
	struct ep *e;
	enum MHD_Result ret;
	size_t len;
	char *body;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (!*con_cls) {
		*con_cls = c;
		return MHD_YES;
	}
	wk_buf_init(&b, 64u << 20);
	e = ep_of(h, c);
	if (strcmp(method, "GET")) {
		code = 405;
		(void)!wk_buf_adds(&b, "method not allowed\n");
	} else if (!e) {
		code = 500;
		(void)!wk_buf_adds(&b, "unknown endpoint\n");
	} else if (!strcmp(url, "/metrics")) {
		wk_buf_init(&all, 64u << 20);
		if (sim_model_metrics(h->m, &all) < 0 ||
		    sim_handler_filter(wk_buf_str(&all), e->node, &b) < 0) {
			code = 500;
			wk_buf_reset(&b);
			(void)!wk_buf_adds(&b, "metrics unavailable\n");
		}
		wk_buf_release(&all);
	} else if (!strcmp(url, "/healthz")) {
		(void)!wk_buf_adds(&b, "ok\n");
	} else {
		code = 404;
		(void)!wk_buf_adds(&b, "404 page not found\n");
	}
	body = wk_buf_take(&b, &len);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
				code == 200 && !strcmp(url, "/metrics")
				    ? "text/plain; version=0.0.4; charset=utf-8"
				    : "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Accept on every endpoint's socket and hand the connection to the TLS daemon. */
static void *accept_loop(void *arg)
{
	struct sim_handlers *h = arg;
	struct pollfd *pf = wk_xcalloc(h->n, sizeof(*pf));

	for (size_t i = 0; i < h->n; i++) {
		pf[i].fd = h->eps[i].fd;
		pf[i].events = POLLIN;
	}
	while (!h->stop) {
		int r = poll(pf, (nfds_t)h->n, 300);

		if (r <= 0)
			continue;
		for (size_t i = 0; i < h->n; i++) {
			struct sockaddr_in sa;
			socklen_t sl = sizeof(sa);
			int fd;

			if (!(pf[i].revents & POLLIN))
				continue;
			fd = accept4(pf[i].fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (MHD_add_connection(h->d, fd, (struct sockaddr *)&sa, sl) != MHD_YES)
				close(fd); /* MHD closes it on failure too in recent versions */
		}
	}
	free(pf);
	return NULL;
}

static int listen_on(uint32_t addr, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(addr);
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

/* Every endpoint on one port: the first binds an ephemeral port, the others take the same one on
 * their own address; a clash retries with a new port. */
static int listen_all(struct sim_handlers *h)
{
	for (int tries = 0; tries < 16; tries++) {
		uint16_t port = 0, got = 0;
		size_t i;

		for (i = 0; i < h->n; i++) {
			h->eps[i].fd = listen_on(h->eps[i].addr, port, &got);
			if (h->eps[i].fd < 0)
				break;
			port = got;
		}
		if (i == h->n) {
			h->port = port;
			return 0;
		}
		while (i-- > 0)
			close(h->eps[i].fd);
	}
	return -1;
}

static int node_name(const cJSON *obj, void *opaque)
{
	cJSON *names = opaque;
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name"));

	if (n && cJSON_GetArraySize(names) < SIM_HANDLER_MAX - 1)
		cJSON_AddItemToArray(names, cJSON_CreateString(n));
	return 0;
}

static void pod_name(char *out, size_t n, const char *base, size_t i)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	char sfx[6];
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ULL + 0x5bd1e995ULL;

	for (int k = 0; k < 5; k++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ULL;
		sfx[k] = alnum[x % (sizeof(alnum) - 1)];
	}
	sfx[5] = 0;
	snprintf(out, n, "%s-%s", base, sfx);
}

static void write_objects(struct sim_handlers *h, struct sim_store *st)
{
	const struct sim_resource *rs = sim_resource_find("", "v1", "services"),
				  *re =
				      sim_resource_find("discovery.k8s.io", "v1", "endpointslices");
	struct sim_err err;
	cJSON *svc = cJSON_CreateObject(), *out = NULL, *meta, *labels, *spec, *port;
	const char *svc_uid = "";

	/* NewPrometheusService: headless, port "metrics" 443 -> the pods' named port "metrics". */
	cJSON_AddStringToObject(svc, "apiVersion", "v1");
	cJSON_AddStringToObject(svc, "kind", "Service");
	meta = cJSON_AddObjectToObject(svc, "metadata");
	cJSON_AddStringToObject(meta, "name", SVC);
	cJSON_AddStringToObject(meta, "namespace", NS);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/component", "kubevirt");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "virt-operator");
	cJSON_AddStringToObject(labels, "kubevirt.io", "");
	cJSON_AddStringToObject(labels, "prometheus.kubevirt.io", "true");
	spec = cJSON_AddObjectToObject(svc, "spec");
	cJSON_AddStringToObject(spec, "clusterIP", "None");
	cJSON_AddItemToObject(spec, "clusterIPs",
			      cJSON_CreateStringArray((const char *[]){"None"}, 1));
	cJSON_AddStringToObject(spec, "type", "ClusterIP");
	cJSON_AddStringToObject(spec, "sessionAffinity", "None");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "selector"), "prometheus.kubevirt.io",
				"true");
	port = cJSON_CreateObject();
	cJSON_AddStringToObject(port, "name", "metrics");
	cJSON_AddNumberToObject(port, "port", 443);
	cJSON_AddStringToObject(port, "protocol", "TCP");
	cJSON_AddStringToObject(port, "targetPort", "metrics");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "ports"), port);
	cJSON_AddObjectToObject(cJSON_AddObjectToObject(svc, "status"), "loadBalancer");
	if (sim_store_create(st, rs, NS, svc, &out, &err) < 0)
		wk_warn("sim: cannot create the %s Service: %s", SVC, err.message);
	if (out)
		svc_uid = cJSON_GetStringValue(wk_json_path(out, "metadata.uid"));

	for (size_t first = 0; first < h->n; first += SLICE_MAX) {
		cJSON *sl = cJSON_CreateObject(), *eps, *owner, *p;
		char name[96];

		cJSON_AddStringToObject(sl, "apiVersion", "discovery.k8s.io/v1");
		cJSON_AddStringToObject(sl, "kind", "EndpointSlice");
		meta = cJSON_AddObjectToObject(sl, "metadata");
		pod_name(name, sizeof(name), SVC, 1000000 + first);
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "generateName", SVC "-");
		cJSON_AddStringToObject(meta, "namespace", NS);
		labels = cJSON_AddObjectToObject(meta, "labels");
		cJSON_AddStringToObject(labels, "app.kubernetes.io/component", "kubevirt");
		cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "virt-operator");
		cJSON_AddStringToObject(labels, "endpointslice.kubernetes.io/managed-by",
					"endpointslice-controller.k8s.io");
		cJSON_AddStringToObject(labels, "kubernetes.io/service-name", SVC);
		cJSON_AddStringToObject(labels, "prometheus.kubevirt.io", "true");
		cJSON_AddStringToObject(labels, "service.kubernetes.io/headless", "");
		owner = cJSON_CreateObject();
		cJSON_AddStringToObject(owner, "apiVersion", "v1");
		cJSON_AddStringToObject(owner, "kind", "Service");
		cJSON_AddStringToObject(owner, "name", SVC);
		cJSON_AddStringToObject(owner, "uid", svc_uid ? svc_uid : "");
		cJSON_AddBoolToObject(owner, "controller", true);
		cJSON_AddBoolToObject(owner, "blockOwnerDeletion", true);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), owner);
		cJSON_AddStringToObject(sl, "addressType", "IPv4");
		eps = cJSON_AddArrayToObject(sl, "endpoints");
		for (size_t i = first; i < h->n && i < first + SLICE_MAX; i++) {
			struct ep *e = &h->eps[i];
			cJSON *x = cJSON_CreateObject(), *cond, *ref;
			struct in_addr a = {.s_addr = htonl(e->addr)};
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			cJSON_AddItemToObject(x, "addresses",
					      cJSON_CreateStringArray((const char *[]){ip}, 1));
			cond = cJSON_AddObjectToObject(x, "conditions");
			cJSON_AddBoolToObject(cond, "ready", true);
			cJSON_AddBoolToObject(cond, "serving", true);
			cJSON_AddBoolToObject(cond, "terminating", false);
			if (e->node)
				cJSON_AddStringToObject(x, "nodeName", e->node);
			ref = cJSON_AddObjectToObject(x, "targetRef");
			cJSON_AddStringToObject(ref, "kind", "Pod");
			cJSON_AddStringToObject(ref, "name", e->pod);
			cJSON_AddStringToObject(ref, "namespace", NS);
			cJSON_AddItemToArray(eps, x);
		}
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", "metrics");
		cJSON_AddNumberToObject(p, "port", h->port);
		cJSON_AddStringToObject(p, "protocol", "TCP");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(sl, "ports"), p);
		if (sim_store_create(st, re, NS, sl, NULL, &err) < 0)
			wk_warn("sim: cannot create an EndpointSlice: %s", err.message);
	}
	cJSON_Delete(out);
}

struct sim_handlers *sim_handlers_start(struct sim_store *st, struct sim_model *m,
					const struct sim_tls *tls, char *errstr, size_t errstr_size)
{
	const struct sim_resource *rn = sim_resource_find("", "v1", "nodes");
	struct sim_handlers *h = wk_xcalloc(1, sizeof(*h));
	cJSON *names = cJSON_CreateArray(), *it;
	size_t i = 0;

	h->m = m;
	sim_store_foreach(st, rn, NULL, node_name, names);
	h->n = (size_t)cJSON_GetArraySize(names) + 1;
	h->eps = wk_xcalloc(h->n, sizeof(*h->eps));
	cJSON_ArrayForEach(it, names)
	{
		h->eps[i].node = wk_xstrdup(it->valuestring);
		h->eps[i].addr = ep_addr(i, false);
		pod_name(h->eps[i].pod, sizeof(h->eps[i].pod), "virt-handler", i);
		i++;
	}
	cJSON_Delete(names);
	h->eps[i].addr = ep_addr(0, true);
	pod_name(h->eps[i].pod, sizeof(h->eps[i].pod), "virt-controller-6c8f9b7d4", i);
	for (size_t k = 0; k < h->n; k++)
		h->eps[k].fd = -1;
	/* a socket per pod: make room for them under a low soft limit */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)h->n + 1024) {
			rl.rlim_cur =
			    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)h->n + 1024
				? (rlim_t)h->n + 1024
				: rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (listen_all(h) < 0) {
		wk_err(errstr, errstr_size, "cannot listen on the virt-handler addresses: %s",
		       strerror(errno));
		sim_handlers_stop(h);
		return NULL;
	}
	h->d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TLS |
				 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
			     0, NULL, NULL, handler, h, MHD_OPTION_HTTPS_MEM_KEY, tls->key_pem,
			     MHD_OPTION_HTTPS_MEM_CERT, tls->cert_pem, MHD_OPTION_CONNECTION_LIMIT,
			     256u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!h->d) {
		wk_err(errstr, errstr_size, "cannot start the virt-handler metrics server");
		sim_handlers_stop(h);
		return NULL;
	}
	if (pthread_create(&h->thread, NULL, accept_loop, h) != 0) {
		wk_err(errstr, errstr_size, "cannot start the virt-handler accept thread");
		sim_handlers_stop(h);
		return NULL;
	}
	h->running = true;
	write_objects(h, st);
	return h;
}

uint16_t sim_handlers_port(const struct sim_handlers *h)
{
	return h->port;
}

void sim_handlers_stop(struct sim_handlers *h)
{
	if (!h)
		return;
	h->stop = true;
	if (h->running)
		pthread_join(h->thread, NULL);
	if (h->d)
		MHD_stop_daemon(h->d);
	for (size_t i = 0; i < h->n; i++) {
		if (h->eps[i].fd >= 0)
			close(h->eps[i].fd);
		free(h->eps[i].node);
	}
	free(h->eps);
	free(h);
}
