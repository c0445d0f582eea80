/* sim_model.h - the simulated cluster behind the API: nodes, the Wukong operator stand-in,
 * KubeVirt's migration, snapshot and clone controllers, and the control API for tests.
 *
 * The model reads and writes objects only through sim_store, runs its controllers on its own thread
 * at a simulated clock (time acceleration factor, seeded randomness), and owns what it returns.
 */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include "sim_store.h"
#include "wk_buf.h"

struct sim_model;

struct sim_model_opts {
	const char *scenario_path; /* NULL = the built-in small default cluster */
	double time_factor;	   /* simulated seconds per real second (1 = real time);
				    * 0 = the scenario's timeFactor (itself 1 when absent) */
	uint64_t seed;		   /* 0 = the scenario's seed (itself 1 when absent) */
	int kv_minor;		   /* KubeVirt 1.<minor> (5, 6, 9); 0 = the scenario's
				    * kubevirtVersion (itself 1.9 when absent) */
};

struct sim_model *sim_model_new(struct sim_store *st, const struct sim_model_opts *opts,
				char *errstr, size_t errstr_size);
/* Seed the store from the scenario and start the controller thread. */
int sim_model_start(struct sim_model *m, char *errstr, size_t errstr_size);
/* The simulated KubeVirt minor version (5, 6 or 9), fixed at sim_model_new(). */
int sim_model_kv_minor(const struct sim_model *m);
void sim_model_destroy(struct sim_model *m);

/* Control API, routed by the HTTP layer from "/sim/..." (method, path after "/sim", body):
 * returns an HTTP status code and fills out with a JSON body. */
int sim_model_control(struct sim_model *m, const char *method, const char *path, const char *body,
		      size_t body_len, struct wk_buf *out);
/* Prometheus text for GET /metrics (KubeVirt migration metrics with their real names/labels). */
int sim_model_metrics(struct sim_model *m, struct wk_buf *out);
/* Fault injection consulted by the HTTP layer before serving a request: returns 0 to serve, or an
 * HTTP status (500, 503, 429, ...) to fail it with; *latency_ms gets an added delay; *drop_watch
 * asks an open watch to be cut. verb is the Kubernetes verb (get, list, watch, create, update,
 * patch, delete). */
int sim_model_fault(struct sim_model *m, const char *verb, const char *plural, int *latency_ms);
/* Admission as KubeVirt's validating webhooks decide it, for the HTTP layer to call before it
 * creates obj (of res, in ns): 0 to admit, or the HTTP status of a webhook denial (422 for a
 * spec cause, 400 for the VMI checks) with the API server's message in msg ("admission webhook
 * \"...\" denied the request: ..."). Checks VMIMs (vmiName, VMI exists and runs,
 * LiveMigratable, no migration in flight), snapshot and clone sources. Without this call the
 * model fails such objects after the fact instead. Takes the model lock: do not call it while
 * holding the store's. */
int sim_model_admit(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const cJSON *obj, char *msg, size_t msg_size);
/* The update webhooks: a VMIM's or a VirtualMachineSnapshot's spec is immutable (old is the
 * stored object, obj the new one). 0, or 422 with msg as above. Lock-free: callable under the
 * store's lock. */
int sim_model_admit_update(struct sim_model *m, const struct sim_resource *res, const char *ns,
			   const cJSON *old, const cJSON *obj, char *msg, size_t msg_size);
bool sim_model_drop_watches(struct sim_model *m);

#endif
