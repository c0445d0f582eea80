/* sim_handler.h - KubeVirt's metrics endpoints as a cluster exposes them: one virt-handler per node
 * and one virt-controller, each serving /metrics (and /healthz) over HTTPS with a certificate from
 * KubeVirt's own CA, listed by the Service kubevirt-prometheus-metrics in namespace kubevirt and
 * its EndpointSlices (discovery.k8s.io/v1).
 *
 * Each pod has its own loopback address (virt-handler of node i: 127.10.<i/250>.<i%250+1>,
 * virt-controller: 127.11.0.1) and they all share one port, as pods share 8443 on their own IPs.
 * A node's virt-handler serves the migration metrics of the migrations whose source is that node;
 * virt-controller the kubevirt_vmi_migrations_in_*_phase gauges. No bearer token is needed
 * (virt-handler's Prometheus server takes client certificates if given, nothing else).
 */
#ifndef SIM_HANDLER_H
#define SIM_HANDLER_H

#include "sim_model.h"
#include "sim_store.h"
#include "sim_tls.h"

#define SIM_HANDLER_MAX 5000 /* endpoints (nodes + 1) */

struct sim_handlers;

/* Listen for every Node in the store (read once: nodes added later get no virt-handler), write
 * the Service and EndpointSlices into the store. tls: the KubeVirt CA's serving certificate. */
struct sim_handlers *sim_handlers_start(struct sim_store *st, struct sim_model *m,
					const struct sim_tls *tls, char *errstr,
					size_t errstr_size);
uint16_t sim_handlers_port(const struct sim_handlers *h);
void sim_handlers_stop(struct sim_handlers *h);

/* Keep the lines of Prometheus text `in` that a virt-handler on `node` serves (node NULL: what
 * virt-controller serves), appending them to out. Exposed for tests. */
int sim_handler_filter(const char *in, const char *node, struct wk_buf *out);

#endif
