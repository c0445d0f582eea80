/* pg_scrape.h - wukong-progress's metric scraper: finds virt-handler's metrics endpoints (the
 * `kubevirt-prometheus-metrics` Service's EndpointSlices in KubeVirt's namespace, or a fixed URL
 * list) and scrapes them all concurrently (curl multi) on its own thread, each round bounded by a
 * timeout, so a slow or dead node never stalls the service's loop or its liveness. Rounds' samples
 * are handed over through pg_scraper_take(). The scraper owns its own Kubernetes client and curl
 * handles; the caller owns what pg_scraper_take() returns. pg_targets_from_slices() is the pure
 * part (unit-tested).
 *
 * Upstream: kubevirt/kubevirt pkg/virt-operator/resource/generate/components/deployments.go
 * (NewPrometheusService: headless, port "metrics"), daemonsets.go (virt-handler --port 8443),
 * secrets.go (the kubevirt-ca CA, virt-handler's DNS-only SANs), cmd/virt-handler/virt-handler.go
 * (runPrometheusServer: TLS, no bearer token required). */
#ifndef PG_SCRAPE_H
#define PG_SCRAPE_H

#include "wk_common.h"

struct cJSON;
struct wk_config;

#define PG_SCRAPE_MAX_TARGETS 4096
#define PG_SCRAPE_SERVICE "kubevirt-prometheus-metrics"

struct pg_target {
	char url[600]; /* https://virt-handler.<ns>.svc:<port>/metrics, or a configured URL */
	char connect_to[400]; /* curl CONNECT_TO "<name>:<port>:<addr>:<port>"; "" = none */
	char node[254];	      /* endpoints[].nodeName ("" when not said) */
};

/* The virt-handler endpoints of a list of EndpointSlices (discovery.k8s.io/v1): endpoints whose
 * targetRef is a Pod named virt-handler-* (the Service selects every KubeVirt component) that are
 * not ready=false, at the port named "metrics" (else the slice's first port), addresses IPv4 or
 * IPv6. server_name is what the certificate says (virt-handler.<ns>.svc): the URL carries it and
 * connect_to sends the connection to the pod's address. -1 (errstr) for a list that is not one or
 * more than PG_SCRAPE_MAX_TARGETS endpoints; malformed entries are skipped. *out is the caller's
 * (free()). */
int pg_targets_from_slices(const struct cJSON *list, const char *server_name,
			   struct pg_target **out, size_t *n, char *errstr, size_t errstr_size);

struct pg_scrape_opts {
	const struct wk_config *cfg; /* for the Kubernetes client (kube.*); read at start only */
	char **urls;		     /* fixed URLs (progress.metrics-urls), copied */
	size_t nurls;
	bool discover;	       /* list the Service's EndpointSlices */
	char ns[64];	       /* KubeVirt's namespace */
	char ca_file[1024];    /* PEM bundle to verify with ("" = the kubevirt-ca ConfigMap) */
	char token_file[1024]; /* optional bearer token ("" = none) */
	bool insecure;	       /* no certificate verification (as upstream's ServiceMonitor) */
	long long interval_ms, timeout_ms, discovery_ms;
	int max_parallel;
};

/* One sample of a migration metric family (pg_metric_which). */
struct pg_sample {
	char ns[64];
	char vmi[254];
	int which;
	double v;
	int64_t ts;
};

struct pg_scrape_counts {
	uint64_t ok, error, malformed, discoveries, discovery_errors;
	size_t targets; /* at the last discovery */
};

struct pg_scraper;
struct pg_scraper *pg_scraper_start(const struct pg_scrape_opts *o, char *errstr,
				    size_t errstr_size);
/* The samples of the rounds finished since the last call (*out caller-freed, may be NULL with
 * 0) and the counters so far. Never blocks on the network. */
size_t pg_scraper_take(struct pg_scraper *s, struct pg_sample **out, struct pg_scrape_counts *c);
/* Stop the thread (within about 100 ms plus an API request in flight) and free. NULL is fine. */
void pg_scraper_stop(struct pg_scraper *s);

#endif
