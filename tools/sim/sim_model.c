/* sim_model.c - the model's dispatcher: lifecycle, the controller thread and its simulated clock,
 * the change queue fed by store observers and its routing to the per-kind controllers
 * (sim_model_{node,vm,mig,snap}.c), seeding from the scenario, fault injection and the /sim
 * control API. No model file calls into it: the helpers they all use live in sim_model_util.c. */
#include "sim_model.h"
#include "sim_admit.h"
#include "sim_model_int.h"

#include "wk_log.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

#define TICK_MS 50
#define QUEUE_MAX 1000000

/* Set while a thread holds m->lock: the store's observers then ignore the change, since the
 * model made it itself and already acted on it. */
static _Thread_local bool tl_self;

/* ---- observer queue ---- */

static void observe(void *opaque, const struct sim_resource *res, const char *type,
		    const cJSON *obj)
{
	struct sim_model *m = opaque;
	struct qitem *q;

	if (tl_self)
		return;
	if (res != m->r_vm && res != m->r_vmi && res != m->r_vmim && res != m->r_node &&
	    res != m->r_kv && res != m->r_mp && res != m->r_snap && res != m->r_clone &&
	    res != m->r_restore && res != m->r_pvc && res != m->r_dv && res != m->r_vs)
		return;
	q = wk_xcalloc(1, sizeof(*q));
	q->res = res;
	wk_strlcpy(q->type, type, sizeof(q->type));
	q->ns = wk_xstrdup(
	    wk_json_str(obj, "metadata.namespace") ? wk_json_str(obj, "metadata.namespace") : "");
	q->name =
	    wk_xstrdup(wk_json_str(obj, "metadata.name") ? wk_json_str(obj, "metadata.name") : "");
	pthread_mutex_lock(&m->qlock);
	if (m->qlen >= QUEUE_MAX) {
		/* The controller thread is stuck; dropping keeps memory bounded. */
		pthread_mutex_unlock(&m->qlock);
		wk_warn("sim model: change queue full, dropping %s %s/%s", type, q->ns, q->name);
		free(q->ns);
		free(q->name);
		free(q);
		return;
	}
	if (m->qtail)
		m->qtail->next = q;
	else
		m->qhead = q;
	m->qtail = q;
	m->qlen++;
	pthread_mutex_unlock(&m->qlock);
}

static void dispatch(struct sim_model *m, struct qitem *q)
{
	bool del = !strcmp(q->type, "DELETED");

	if (q->res == m->r_vm)
		sim_vm_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_vmi) {
		if (del)
			sim_vmi_deleted(m, q->ns, q->name);
	} else if (q->res == m->r_vmim)
		sim_mig_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_node)
		sim_node_on_change(m, q->name);
	else if (q->res == m->r_kv)
		m->kv_dirty = true;
	else if (q->res == m->r_mp)
		m->policies_dirty = true;
	else if (q->res == m->r_snap)
		sim_snap_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_clone)
		sim_clone_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_restore)
		sim_restore_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_pvc)
		sim_pvc_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_dv)
		sim_dv_reconcile(m, q->ns, q->name, del);
	else if (q->res == m->r_vs)
		sim_vs_reconcile(m, q->ns, q->name, del);
}

static void drain_queue(struct sim_model *m)
{
	struct qitem *q;

	pthread_mutex_lock(&m->qlock);
	q = m->qhead;
	m->qhead = m->qtail = NULL;
	m->qlen = 0;
	pthread_mutex_unlock(&m->qlock);
	while (q) {
		struct qitem *nx = q->next;
		dispatch(m, q);
		free(q->ns);
		free(q->name);
		free(q);
		q = nx;
	}
}

static void model_lock(struct sim_model *m)
{
	pthread_mutex_lock(&m->lock);
	tl_self = true;
}

static void model_unlock(struct sim_model *m)
{
	tl_self = false;
	pthread_mutex_unlock(&m->lock);
}

/* ---- the controller thread ---- */

static void tick(struct sim_model *m, double dt)
{
	m->now += dt;
	drain_queue(m);
	if (m->kv_dirty)
		sim_kv_load(m);
	if (m->policies_dirty)
		sim_policies_load(m);
	sim_nodes_tick(m);
	sim_vms_tick(m);
	sim_migs_tick(m, dt);
	sim_snaps_tick(m);
	sim_storage_tick(m);
	sim_vss_tick(m);
	sim_dvs_tick(m);
	sim_node_write_metrics(m);
}

static void *run(void *arg)
{
	struct sim_model *m = arg;
	int64_t last = wk_time_mono_ms();

	model_lock(m);
	while (!m->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		tl_self = false;
		pthread_cond_timedwait(&m->wake, &m->lock, &ts);
		tl_self = true;
		if (m->stop)
			break;
		int64_t t = wk_time_mono_ms();
		double real = (double)(t - last) / 1000.0;
		last = t;
		/* A stalled process (debugger, overloaded machine) must not make time leap. */
		if (real > 1.0)
			real = 1.0;
		tick(m, real * m->time_factor);
	}
	model_unlock(m);
	return NULL;
}

/* ---- lifecycle and seeding ---- */

static const struct sim_resource *res_of(const char *group, const char *version, const char *plural)
{
	const struct sim_resource *r = sim_resource_find(group, version, plural);
	if (!r)
		WK_BUG("sim model: resource %s.%s missing from sim_resources", plural, group);
	return r;
}

struct sim_model *sim_model_new(struct sim_store *st, const struct sim_model_opts *opts,
				char *errstr, size_t errstr_size)
{
	struct sim_scenario *sc;
	struct sim_model *m;

	if (opts->scenario_path)
		sc = sim_scenario_load(opts->scenario_path, errstr, errstr_size);
	else
		sc = sim_scenario_parse("default.yaml", sim_scenario_default_yaml,
					strlen(sim_scenario_default_yaml), errstr, errstr_size);
	if (!sc)
		return NULL;
	m = wk_xcalloc(1, sizeof(*m));
	m->st = st;
	m->sc = sc;
	m->scenario_name = wk_xstrdup(opts->scenario_path ? opts->scenario_path : "(built-in)");
	/* The command line wins over the scenario; the scenario over the defaults. */
	m->time_factor = opts->time_factor > 0 ? opts->time_factor
			 : sc->time_factor > 0 ? sc->time_factor
					       : 1;
	m->seed = opts->seed ? opts->seed : sc->has_seed ? sc->seed : 1;
	m->kv_minor = opts->kv_minor > 0 ? opts->kv_minor
		      : sc->kv_minor > 0 ? sc->kv_minor
					 : SIM_KV_DEFAULT_MINOR;
	m->rng = m->seed;
	m->frng = m->seed ^ 0x5bd1e995ULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	pthread_mutex_init(&m->qlock, NULL);
	pthread_mutex_init(&m->flock, NULL);
	wk_map_init(&m->node_idx, NULL);
	wk_map_init(&m->vms, NULL);
	wk_map_init(&m->migs, NULL);
	wk_map_init(&m->finalized, NULL);
	m->r_ns = res_of("", "v1", "namespaces");
	m->r_node = res_of("", "v1", "nodes");
	m->r_pvc = res_of("", "v1", "persistentvolumeclaims");
	m->r_event = res_of("", "v1", "events");
	m->r_nm = res_of("metrics.k8s.io", "v1beta1", "nodes");
	m->r_vm = res_of("kubevirt.io", "v1", "virtualmachines");
	m->r_vmi = res_of("kubevirt.io", "v1", "virtualmachineinstances");
	m->r_vmim = res_of("kubevirt.io", "v1", "virtualmachineinstancemigrations");
	m->r_kv = res_of("kubevirt.io", "v1", "kubevirts");
	m->r_mp = res_of("migrations.kubevirt.io", "v1alpha1", "migrationpolicies");
	m->r_snap = res_of("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots");
	m->r_snapc = res_of("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents");
	m->r_restore = res_of("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores");
	m->r_clone = res_of("clone.kubevirt.io", "v1beta1", "virtualmachineclones");
	m->r_wk = res_of("vm.novasphere.dev", "v1alpha1", "wukongs");
	m->r_sc = res_of("storage.k8s.io", "v1", "storageclasses");
	m->r_pv = res_of("", "v1", "persistentvolumes");
	m->r_vsc = res_of("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses");
	m->r_dv = res_of("cdi.kubevirt.io", "v1beta1", "datavolumes");
	m->r_vs = res_of("snapshot.storage.k8s.io", "v1", "volumesnapshots");
	m->policies = cJSON_CreateArray();
	m->node_failed = sim_mig_node_failed;
	m->node_vmis_lost = sim_vmi_fail_on_node;
	return m;
}

static void seed_namespace(struct sim_model *m, const char *name)
{
	cJSON *ns;

	if (sim_store_count(m->st, m->r_ns) < 10000) {
		cJSON *have = sim_store_get(m->st, m->r_ns, NULL, name);
		if (have) {
			cJSON_Delete(have);
			return;
		}
	}
	ns = cJSON_CreateObject();
	cJSON_AddStringToObject(ns, "apiVersion", "v1");
	cJSON_AddStringToObject(ns, "kind", "Namespace");
	cJSON *meta = cJSON_AddObjectToObject(ns, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"),
				"kubernetes.io/metadata.name", name);
	const char *fin[] = {"kubernetes"};
	cJSON_AddItemToObject(cJSON_AddObjectToObject(ns, "spec"), "finalizers",
			      cJSON_CreateStringArray(fin, 1));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "status"), "phase", "Active");
	sim_create(m, m->r_ns, NULL, ns);
}

static void seed_kubevirt(struct sim_model *m)
{
	const struct sim_sc_migrations *g = &m->sc->mig;
	cJSON *kv = cJSON_CreateObject(), *meta, *spec, *cfg, *mig, *st;
	char bw[64];

	cJSON_AddStringToObject(kv, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(kv, "kind", "KubeVirt");
	meta = cJSON_AddObjectToObject(kv, "metadata");
	cJSON_AddStringToObject(meta, "name", "kubevirt");
	cJSON_AddStringToObject(meta, "namespace", "kubevirt");
	spec = cJSON_AddObjectToObject(kv, "spec");
	cJSON_AddStringToObject(spec, "imagePullPolicy", "IfNotPresent");
	cfg = cJSON_AddObjectToObject(spec, "configuration");
	cJSON *dev = cJSON_AddObjectToObject(cfg, "developerConfiguration");
	const char *gates[] = {"Snapshot", "VMExport", "LiveMigration"};
	cJSON_AddItemToObject(dev, "featureGates",
			      m->sc->feature_gates ? cJSON_Duplicate(m->sc->feature_gates, true)
						   : cJSON_CreateStringArray(gates, 3));
	mig = cJSON_AddObjectToObject(cfg, "migrations");
	cJSON_AddNumberToObject(mig, "parallelMigrationsPerCluster",
				(double)g->parallel_per_cluster);
	cJSON_AddNumberToObject(mig, "parallelOutboundMigrationsPerNode",
				(double)g->parallel_outbound_node);
	if (g->bandwidth)
		wk_quantity_format_bytes(g->bandwidth, bw, sizeof(bw));
	else
		snprintf(bw, sizeof(bw), "0Mi");
	cJSON_AddStringToObject(mig, "bandwidthPerMigration", bw);
	cJSON_AddNumberToObject(mig, "completionTimeoutPerGiB", (double)g->completion_per_gib);
	cJSON_AddNumberToObject(mig, "progressTimeout", (double)g->progress_timeout);
	cJSON_AddBoolToObject(mig, "allowAutoConverge", g->allow_auto_converge);
	cJSON_AddBoolToObject(mig, "allowPostCopy", g->allow_post_copy);
	cJSON_AddStringToObject(cfg, "evictionStrategy", "None");
	st = cJSON_AddObjectToObject(kv, "status");
	/* What virt-operator writes once every component is ready
	 * (pkg/virt-operator/util/config.go SetObservedDeploymentConfig/SetTargetDeploymentConfig,
	 * pkg/virt-operator/kubevirt.go): the image tag, the registry, the operator's version. */
	const char *tag = sim_kv_version_tag(m->kv_minor);
	cJSON_AddStringToObject(st, "phase", "Deployed");
	cJSON_AddStringToObject(st, "observedKubeVirtVersion", tag);
	cJSON_AddStringToObject(st, "targetKubeVirtVersion", tag);
	cJSON_AddStringToObject(st, "observedKubeVirtRegistry", "quay.io/kubevirt");
	cJSON_AddStringToObject(st, "targetKubeVirtRegistry", "quay.io/kubevirt");
	cJSON_AddStringToObject(st, "operatorVersion", tag);
	cJSON_AddStringToObject(st, "observedDeploymentID", "wukong-sim");
	cJSON_AddStringToObject(st, "targetDeploymentID", "wukong-sim");
	cJSON_AddNumberToObject(st, "observedGeneration", 1);
	cJSON_AddStringToObject(st, "defaultArchitecture", "amd64"); /* 1.9: pruned on 1.5/1.6 */
	cJSON_AddNumberToObject(st, "outdatedVirtualMachineInstanceWorkloads", 0);
	cJSON_AddItemToObject(st, "conditions", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(st, "conditions"),
			     sim_cond_new(m, "Available", "True", "AllResourcesCreated",
					  "All resources were created."));
	sim_create(m, m->r_kv, "kubevirt", kv);
}

int sim_model_start(struct sim_model *m, char *errstr, size_t errstr_size)
{
	static const char *const base_ns[] = {"default", "kube-system", "kube-public",
					      "kube-node-lease", "kubevirt"};

	model_lock(m);
	m->epoch_ms = wk_time_now_ms();
	for (size_t i = 0; i < WK_ARRAY_SIZE(base_ns); i++)
		seed_namespace(m, base_ns[i]);
	for (size_t i = 0; i < m->sc->nvms; i++)
		if (i == 0 || strcmp(m->sc->vms[i].ns, m->sc->vms[i - 1].ns))
			seed_namespace(m, m->sc->vms[i].ns);
	sim_storage_seed(m);
	seed_kubevirt(m);
	sim_kv_load(m);
	sim_policies_load(m);
	sim_nodes_seed(m);
	for (size_t i = 0; i < m->sc->nvms; i++)
		sim_vm_seed(m, &m->sc->vms[i]);
	sim_node_write_metrics(m);
	model_unlock(m);
	sim_store_observe(m->st, observe, m);
	if (pthread_create(&m->thread, NULL, run, m) != 0)
		return wk_err(errstr, errstr_size, "cannot start the model thread");
	m->started = true;
	wk_info("sim model: %zu nodes, %zu vms from %s, time factor %g, seed %llu", m->nnodes,
		m->sc->nvms, m->scenario_name, m->time_factor, (unsigned long long)m->seed);
	return 0;
}

int sim_model_kv_minor(const struct sim_model *m)
{
	return m->kv_minor;
}

void sim_model_destroy(struct sim_model *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	/* Observers cannot be removed from the store: the store must go first or the model must
	 * outlive it (main.c destroys the server, then the model, then the store). */
	for (struct qitem *q = m->qhead, *nx; q; q = nx) {
		nx = q->next;
		free(q->ns);
		free(q->name);
		free(q);
	}
	WK_MAP_EACH(e, &m->vms)
	sim_vm_destroy(e.val);
	WK_MAP_EACH(e, &m->migs)
	sim_mig_destroy(e.val);
	sim_snaps_release(m);
	sim_dvs_release(m);
	sim_vss_release(m);
	sim_migs_release(m);
	wk_map_release(&m->vms);
	wk_map_release(&m->migs);
	wk_map_release(&m->node_idx);
	for (size_t i = 0; i < m->nnodes; i++) {
		free(m->nodes[i].name);
		cJSON_Delete(m->nodes[i].labels);
		cJSON_Delete(m->nodes[i].taints);
	}
	free(m->nodes);
	cJSON_Delete(m->policies);
	for (size_t i = 0; i < SIM_MODEL_EVENTS; i++)
		free(m->events[i]);
	sim_scenario_destroy(m->sc);
	free(m->scenario_name);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->qlock);
	pthread_mutex_destroy(&m->flock);
	free(m);
}

/* ---- faults ---- */

int sim_model_fault(struct sim_model *m, const char *verb, const char *plural, int *latency_ms)
{
	int code = 0;

	if (latency_ms)
		*latency_ms = 0;
	pthread_mutex_lock(&m->flock);
	for (size_t i = 0; i < m->nfaults; i++) {
		const struct fault *f = &m->faults[i];
		if (strcmp(f->verb, "*") && (!verb || strcmp(f->verb, verb)))
			continue;
		if (strcmp(f->resource, "*") && (!plural || strcmp(f->resource, plural)))
			continue;
		if (latency_ms && f->latency_ms > *latency_ms)
			*latency_ms = f->latency_ms;
		if (!code && f->error_rate > 0 &&
		    (double)(sim_splitmix(&m->frng) >> 11) / 9007199254740992.0 < f->error_rate)
			code = f->code;
	}
	pthread_mutex_unlock(&m->flock);
	return code;
}

bool sim_model_drop_watches(struct sim_model *m)
{
	bool drop;
	pthread_mutex_lock(&m->flock);
	drop = wk_time_mono_ms() < m->drop_until_ms;
	pthread_mutex_unlock(&m->flock);
	return drop;
}

/* ---- control API ---- */

static int reply(struct wk_buf *out, int code, cJSON *body)
{
	char *s = cJSON_PrintUnformatted(body);
	wk_buf_reset(out);
	if (wk_buf_adds(out, s) < 0 || wk_buf_adds(out, "\n") < 0)
		code = 500;
	free(s);
	cJSON_Delete(body);
	return code;
}

static int reply_err(struct wk_buf *out, int code, const char *fmt, ...) WK_PRINTF(3, 4);
static int reply_err(struct wk_buf *out, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *b = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(b, "error", msg);
	return reply(out, code, b);
}

static cJSON *faults_json(struct sim_model *m)
{
	cJSON *a = cJSON_CreateArray();
	pthread_mutex_lock(&m->flock);
	for (size_t i = 0; i < m->nfaults; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "verb", m->faults[i].verb);
		cJSON_AddStringToObject(f, "resource", m->faults[i].resource);
		cJSON_AddNumberToObject(f, "errorRate", m->faults[i].error_rate);
		cJSON_AddNumberToObject(f, "code", m->faults[i].code);
		cJSON_AddNumberToObject(f, "latencyMs", m->faults[i].latency_ms);
		cJSON_AddItemToArray(a, f);
	}
	pthread_mutex_unlock(&m->flock);
	return a;
}

static int control_faults(struct sim_model *m, const char *method, const cJSON *body,
			  struct wk_buf *out)
{
	if (!strcmp(method, "GET"))
		return reply(out, 200, faults_json(m));
	if (!strcmp(method, "DELETE")) {
		pthread_mutex_lock(&m->flock);
		m->nfaults = 0;
		pthread_mutex_unlock(&m->flock);
		return reply(out, 200, faults_json(m));
	}
	if (strcmp(method, "POST"))
		return reply_err(out, 405, "use GET, POST or DELETE on /sim/faults");
	struct fault f = {.code = 503};
	const char *verb = wk_json_str(body, "verb"), *res = wk_json_str(body, "resource");
	const cJSON *rate = wk_json_path(body, "errorRate"), *code = wk_json_path(body, "code"),
		    *lat = wk_json_path(body, "latencyMs");
	static const char *const verbs[] = {"*",      "get",	"list",	 "watch",
					    "create", "update", "patch", "delete"};
	bool ok = false;
	for (size_t i = 0; i < WK_ARRAY_SIZE(verbs); i++)
		ok |= !strcmp(verb ? verb : "*", verbs[i]);
	if (!ok)
		return reply_err(out, 400, "unknown verb '%s'", verb);
	if (res && (strlen(res) >= sizeof(f.resource) || !*res))
		return reply_err(out, 400, "bad resource '%.64s'", res);
	if (rate && (!cJSON_IsNumber(rate) || rate->valuedouble < 0 || rate->valuedouble > 1))
		return reply_err(out, 400, "errorRate must be a number in [0, 1]");
	if (code && (!cJSON_IsNumber(code) || code->valuedouble < 400 || code->valuedouble > 599))
		return reply_err(out, 400, "code must be an HTTP status in [400, 599]");
	if (lat && (!cJSON_IsNumber(lat) || lat->valuedouble < 0 || lat->valuedouble > 60000))
		return reply_err(out, 400, "latencyMs must be in [0, 60000]");
	wk_strlcpy(f.verb, verb ? verb : "*", sizeof(f.verb));
	wk_strlcpy(f.resource, res ? res : "*", sizeof(f.resource));
	f.error_rate = rate ? rate->valuedouble : 0;
	if (code)
		f.code = (int)code->valuedouble;
	f.latency_ms = lat ? (int)lat->valuedouble : 0;
	pthread_mutex_lock(&m->flock);
	if (m->nfaults == WK_ARRAY_SIZE(m->faults)) {
		pthread_mutex_unlock(&m->flock);
		return reply_err(out, 400, "at most %zu fault rules", WK_ARRAY_SIZE(m->faults));
	}
	m->faults[m->nfaults++] = f;
	pthread_mutex_unlock(&m->flock);
	return reply(out, 201, faults_json(m));
}

static cJSON *state_json(struct sim_model *m)
{
	cJSON *s = cJSON_CreateObject(), *mig, *nodes;
	size_t running = 0, phases[MIG_FAILED + 1] = {0};

	cJSON_AddStringToObject(s, "scenario", m->scenario_name);
	cJSON_AddNumberToObject(s, "time", m->now);
	cJSON_AddNumberToObject(s, "timeFactor", m->time_factor);
	cJSON_AddNumberToObject(s, "seed", (double)m->seed);
	cJSON_AddNumberToObject(s, "vms", (double)wk_map_count(&m->vms));
	WK_MAP_EACH(e, &m->vms)
	running += ((struct mvm *)e.val)->phase == VMI_RUNNING;
	cJSON_AddNumberToObject(s, "vmisRunning", (double)running);
	for (struct mmig *g = m->mig_head; g; g = g->next)
		phases[g->phase]++;
	mig = cJSON_AddObjectToObject(s, "migrations");
	cJSON_AddNumberToObject(mig, "pending", (double)(phases[MIG_NEW] + phases[MIG_PENDING]));
	cJSON_AddNumberToObject(mig, "active", (double)m->mig_active);
	cJSON_AddNumberToObject(mig, "running", (double)phases[MIG_RUNNING]);
	cJSON_AddNumberToObject(mig, "succeeded", (double)m->mig_succeeded);
	cJSON_AddNumberToObject(mig, "failed", (double)m->mig_failed);
	nodes = cJSON_AddArrayToObject(s, "nodes");
	for (size_t i = 0; i < m->nnodes && i < 1000; i++) {
		const struct mnode *n = &m->nodes[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", n->name);
		cJSON_AddBoolToObject(o, "ready", !n->not_ready);
		cJSON_AddBoolToObject(o, "failed", n->failed);
		cJSON_AddBoolToObject(o, "unschedulable", n->unschedulable);
		cJSON_AddNumberToObject(o, "vmis", n->nvmis);
		cJSON_AddNumberToObject(o, "cpuRequestedMilli", (double)n->used_cpu);
		cJSON_AddNumberToObject(o, "memoryRequested", (double)n->used_mem);
		cJSON_AddNumberToObject(o, "outboundMigrations", n->outbound);
		cJSON_AddBoolToObject(o, "memoryPressure", n->mem_pressure);
		cJSON_AddItemToArray(nodes, o);
	}
	return s;
}

static int control_vm(struct sim_model *m, const char *method, const char *rest, const cJSON *body,
		      struct wk_buf *out)
{
	char ns[64], name[256], action[32];
	struct mvm *vm;

	/* /vms/<ns>/<name>/dirty-rate */
	if (sscanf(rest, "%63[^/]/%255[^/]/%31s", ns, name, action) != 3 ||
	    strcmp(action, "dirty-rate"))
		return reply_err(out, 404, "unknown path; use /sim/vms/<ns>/<name>/dirty-rate");
	if (strcmp(method, "POST") && strcmp(method, "PUT"))
		return reply_err(out, 405, "use POST");
	vm = sim_vm_find(m, ns, name);
	if (!vm) {
		char alt[300];
		snprintf(alt, sizeof(alt), "%s-vm", name);
		vm = sim_vm_find(m, ns, alt);
	}
	if (!vm)
		return reply_err(out, 404, "no vm '%s' in namespace '%s'", name, ns);
	int64_t rate = sim_jqty(wk_json_path(body, "dirtyRate"));
	if (rate < 0)
		return reply_err(out, 400,
				 "dirtyRate must be a quantity (bytes/s), like \"512Mi\"");
	vm->dirty_rate = (double)rate;
	if (vm->mig && vm->mig->xfer_started)
		vm->mig->x.p.dirty_rate = (double)rate;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "namespace", vm->ns);
	cJSON_AddStringToObject(r, "name", vm->name);
	cJSON_AddNumberToObject(r, "dirtyRate", (double)rate);
	return reply(out, 200, r);
}

int sim_model_control(struct sim_model *m, const char *method, const char *path, const char *body,
		      size_t body_len, struct wk_buf *out)
{
	cJSON *b = NULL;
	int code;

	if (body && body_len) {
		if (body_len > 65536)
			return reply_err(out, 413, "control body larger than 64 KiB");
		b = cJSON_ParseWithLength(body, body_len);
		if (!b)
			return reply_err(out, 400, "the body is not JSON");
	}
	if (!strncmp(path, "/faults", 7) && (!path[7] || path[7] == '?')) {
		code = control_faults(m, method, b, out);
		cJSON_Delete(b);
		return code;
	}
	if (!strcmp(path, "/watches/drop")) {
		const cJSON *ms = wk_json_path(b, "durationMs");
		int64_t dur = cJSON_IsNumber(ms) && ms->valuedouble >= 0 && ms->valuedouble <= 60000
				  ? (int64_t)ms->valuedouble
				  : 500;
		pthread_mutex_lock(&m->flock);
		m->drop_until_ms = wk_time_mono_ms() + dur;
		pthread_mutex_unlock(&m->flock);
		cJSON_Delete(b);
		cJSON *r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "durationMs", (double)dur);
		return reply(out, 200, r);
	}
	model_lock(m);
	if (!strcmp(path, "/state") && !strcmp(method, "GET")) {
		code = reply(out, 200, state_json(m));
	} else if (!strcmp(path, "/time")) {
		const cJSON *f = wk_json_path(b, "timeFactor");
		if (!strcmp(method, "GET")) {
			code = 0;
		} else if (!cJSON_IsNumber(f) ||
			   !(f->valuedouble > 0 && f->valuedouble <= 100000)) {
			code = reply_err(out, 400, "timeFactor must be a number in (0, 100000]");
		} else {
			m->time_factor = f->valuedouble;
			code = 0;
		}
		if (!code) {
			cJSON *r = cJSON_CreateObject();
			cJSON_AddNumberToObject(r, "timeFactor", m->time_factor);
			cJSON_AddNumberToObject(r, "time", m->now);
			code = reply(out, 200, r);
		}
	} else if (!strncmp(path, "/nodes/", 7)) {
		char name[256], action[32] = "";
		if (sscanf(path + 7, "%255[^/]/%31s", name, action) < 1)
			code = reply_err(out, 404, "unknown path");
		else
			code = sim_node_control(m, method, name, action, b, out);
	} else if (!strncmp(path, "/vms/", 5)) {
		code = control_vm(m, method, path + 5, b, out);
	} else {
		code = reply_err(out, 404, "unknown control path '%.128s'", path);
	}
	model_unlock(m);
	cJSON_Delete(b);
	return code;
}

int sim_model_metrics(struct sim_model *m, struct wk_buf *out)
{
	int rc;
	model_lock(m);
	rc = sim_mig_metrics(m, out);
	model_unlock(m);
	return rc;
}

int sim_model_admit(struct sim_model *m, const struct sim_resource *res, const char *ns,
		    const cJSON *obj, char *msg, size_t msg_size)
{
	char why[700] = "";
	const char *hook = NULL;
	int code = 400;

	if (!res || !obj)
		return 0;
	model_lock(m);
	if (res == m->r_vmim) {
		const char *vmi = wk_json_str(obj, "spec.vmiName");
		hook = "migration-create-validator.kubevirt.io";
		sim_mig_admit(m, ns ? ns : "", obj, why, sizeof(why));
		/* A missing vmiName is a spec cause (422 Invalid); the VMI checks are plain errors
		 * (400), as webhookutils.ToAdmissionResponse/ToAdmissionResponseError answer. */
		if (!vmi || !*vmi)
			code = 422;
	} else if (res == m->r_vm || res == m->r_snap || res == m->r_restore || res == m->r_clone) {
		/* The feature gates come from the KubeVirt CR as it is now (virt-api's cluster
		 * config follows it). */
		cJSON *kv = sim_store_get(m->st, m->r_kv, "kubevirt", "kubevirt");
		code = res == m->r_vm ? sim_admit_vm(m->kv_minor, kv, obj, &hook, why, sizeof(why))
		       : res == m->r_snap
			   ? sim_admit_snapshot(m->kv_minor, kv, obj, &hook, why, sizeof(why))
		       : res == m->r_restore
			   ? sim_admit_restore(m->kv_minor, kv, obj, &hook, why, sizeof(why))
			   : sim_admit_clone(m->kv_minor, kv, obj, &hook, why, sizeof(why));
		cJSON_Delete(kv);
	}
	model_unlock(m);
	if (!why[0])
		return 0;
	snprintf(msg, msg_size, "admission webhook \"%s\" denied the request: %s", hook, why);
	return code;
}

/* Go's reflect.DeepEqual on the decoded spec: an absent spec equals an empty one. */
static bool same_spec(const cJSON *a, const cJSON *b)
{
	const cJSON *sa = cJSON_GetObjectItemCaseSensitive(a, "spec"),
		    *sb = cJSON_GetObjectItemCaseSensitive(b, "spec");
	bool ea = !sa || (cJSON_IsObject(sa) && !sa->child),
	     eb = !sb || (cJSON_IsObject(sb) && !sb->child);

	if (ea || eb)
		return ea && eb;
	return cJSON_Compare(sa, sb, true);
}

int sim_model_admit_update(struct sim_model *m, const struct sim_resource *res, const char *ns,
			   const cJSON *old, const cJSON *obj, char *msg, size_t msg_size)
{
	const char *hook = NULL, *why = NULL;
	char buf[700];

	(void)ns;
	if (!res || !old || !obj)
		return 0;
	/* No model lock: the caller may hold the store's lock, and this reads only the two
	 * objects and the resource pointers fixed at sim_model_new(). */
	if (res == m->r_vm) {
		/* The VM webhook validates updates too (the KubeVirt CR is not needed for the run
		 * strategy rules except WaitAsReceiver's gate, read as off here: no store access
		 * under its lock). */
		int code = sim_admit_vm(m->kv_minor, NULL, obj, &hook, buf, sizeof(buf));

		if (!code)
			return 0;
		snprintf(msg, msg_size, "admission webhook \"%s\" denied the request: %s", hook,
			 buf);
		return code;
	}
	if (res == m->r_vmim && !same_spec(old, obj)) {
		hook = "migration-update-validator.kubevirt.io";
		why = "update of Migration object's spec is restricted";
	} else if (res == m->r_snap && !same_spec(old, obj)) {
		hook = "virtualmachinesnapshot-validator.snapshot.kubevirt.io";
		why = "spec in immutable after creation"; /* sic, KubeVirt's wording */
	}
	if (!why)
		return 0;
	snprintf(msg, msg_size, "admission webhook \"%s\" denied the request: %s", hook, why);
	return 422;
}
