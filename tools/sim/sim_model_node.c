/* sim_model_node.c - nodes: seeding, what the node controller and kubelet would write (conditions,
 * taints, heartbeat loss), NodeMetrics, pressure, placement of VMIs and migration targets. */
#include "sim_model_int.h"

#include "wk_quantity.h"

#include <math.h>

#define TAINT_UNSCHED "node.kubernetes.io/unschedulable"
#define TAINT_UNREACH "node.kubernetes.io/unreachable"
#define TAINT_MEMPRESS "node.kubernetes.io/memory-pressure"
#define TAINT_OOS "node.kubernetes.io/out-of-service"
/* virt-controller's node controller: heartBeatTimeout (pkg/virt-controller/watch/node/node.go) */
#define SIM_HEARTBEAT_TIMEOUT 300.0

/* What kubelet reserves: allocatable = capacity - this. */
#define RESERVED_CPU 100
#define RESERVED_MEM (INT64_C(512) << 20)

int sim_node_index(struct sim_model *m, const char *name)
{
	uintptr_t v = (uintptr_t)wk_map_get(&m->node_idx, name);
	return v ? (int)(v - 1) : -1;
}

struct mnode *sim_node_by_name(struct sim_model *m, const char *name)
{
	int i = sim_node_index(m, name);
	return i < 0 ? NULL : &m->nodes[i];
}

static bool is_system_taint(const char *key)
{
	return !strcmp(key, TAINT_UNSCHED) || !strcmp(key, TAINT_UNREACH) ||
	       !strcmp(key, "node.kubernetes.io/not-ready") || !strcmp(key, TAINT_MEMPRESS);
}

static bool has_taint(const struct mnode *n, const char *key)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, n->taints)
	{
		const char *k = wk_json_str(t, "key");
		if (k && !strcmp(k, key))
			return true;
	}
	return false;
}

bool sim_labels_match(const cJSON *selector, const cJSON *labels)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, selector)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, s->string);
		if (!cJSON_IsString(s) || !cJSON_IsString(l) ||
		    strcmp(s->valuestring, l->valuestring))
			return false;
	}
	return true;
}

/* The labels every launcher pod selects, cached: placement checks them on every node. */
static void labels_changed(struct mnode *n)
{
	const char *s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(n->labels, "kubevirt.io/schedulable"));
	const char *a =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n->labels, "kubernetes.io/arch"));
	n->lbl_base = s && !strcmp(s, "true") && a && !strcmp(a, "amd64");
}

static cJSON *taint(const char *key, const char *effect, const char *time_added)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "key", key);
	cJSON_AddStringToObject(t, "effect", effect);
	if (time_added)
		cJSON_AddStringToObject(t, "timeAdded", time_added);
	return t;
}

/* The taints the node controller maintains, added to the user's own; existing system taints
 * keep their timeAdded. */
static cJSON *node_taints(struct sim_model *m, const struct mnode *n)
{
	cJSON *out = cJSON_CreateArray(), *t;
	char ts[40];

	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON_ArrayForEach(t, n->taints)
	{
		const char *k = wk_json_str(t, "key");
		if (k && !is_system_taint(k))
			cJSON_AddItemToArray(out, cJSON_Duplicate(t, 1));
	}
	struct {
		bool on;
		const char *key, *effect;
	} sys[] = {
	    {n->unschedulable, TAINT_UNSCHED, "NoSchedule"},
	    {n->not_ready, TAINT_UNREACH, "NoSchedule"},
	    {n->not_ready, TAINT_UNREACH, "NoExecute"},
	    {n->mem_pressure, TAINT_MEMPRESS, "NoSchedule"},
	};
	for (size_t i = 0; i < WK_ARRAY_SIZE(sys); i++) {
		if (!sys[i].on)
			continue;
		const char *kept = NULL;
		cJSON_ArrayForEach(t, n->taints)
		{
			const char *k = wk_json_str(t, "key"), *e = wk_json_str(t, "effect");
			if (k && e && !strcmp(k, sys[i].key) && !strcmp(e, sys[i].effect))
				kept = wk_json_str(t, "timeAdded");
		}
		/* timeAdded is set only for NoExecute taints. */
		bool ne = !strcmp(sys[i].effect, "NoExecute");
		cJSON_AddItemToArray(
		    out, taint(sys[i].key, sys[i].effect, ne ? (kept ? kept : ts) : NULL));
	}
	return out;
}

static cJSON *node_conditions(struct sim_model *m, const struct mnode *n)
{
	cJSON *c = cJSON_CreateArray(), *x;
	char ts[40];

	sim_ts(m, m->now, ts, sizeof(ts));
	if (n->not_ready)
		x = sim_cond_new(m, "Ready", "Unknown", "NodeStatusUnknown",
				 "Kubelet stopped posting node status.");
	else
		x = sim_cond_new(m, "Ready", "True", "KubeletReady",
				 "kubelet is posting ready status");
	cJSON_AddItemToArray(c, x);
	if (n->not_ready)
		x = sim_cond_new(m, "MemoryPressure", "Unknown", "NodeStatusUnknown",
				 "Kubelet stopped posting node status.");
	else if (n->mem_pressure)
		x = sim_cond_new(m, "MemoryPressure", "True", "KubeletHasInsufficientMemory",
				 "kubelet has insufficient memory available");
	else
		x = sim_cond_new(m, "MemoryPressure", "False", "KubeletHasSufficientMemory",
				 "kubelet has sufficient memory available");
	cJSON_AddItemToArray(c, x);
	cJSON_AddItemToArray(
	    c, n->not_ready ? sim_cond_new(m, "DiskPressure", "Unknown", "NodeStatusUnknown",
					   "Kubelet stopped posting node status.")
			    : sim_cond_new(m, "DiskPressure", "False", "KubeletHasNoDiskPressure",
					   "kubelet has no disk pressure"));
	cJSON_AddItemToArray(
	    c, n->not_ready ? sim_cond_new(m, "PIDPressure", "Unknown", "NodeStatusUnknown",
					   "Kubelet stopped posting node status.")
			    : sim_cond_new(m, "PIDPressure", "False", "KubeletHasSufficientPID",
					   "kubelet has sufficient PID available"));
	/* A failed kubelet stops heartbeating: lastHeartbeatTime freezes at the failure. */
	cJSON_ArrayForEach(x, c)
	{
		char hb[40];
		sim_ts(m, n->failed ? n->failed_at : m->now, hb, sizeof(hb));
		cJSON_AddStringToObject(x, "lastHeartbeatTime", hb);
		cJSON_DeleteItemFromObjectCaseSensitive(x, "lastProbeTime");
	}
	return c;
}

/* Write what the node controller and kubelet own: system taints, conditions, the
 * kubevirt.io/schedulable label that virt-handler maintains. */
static void node_sync(struct sim_model *m, int idx)
{
	struct mnode *n = &m->nodes[idx];
	cJSON *patch = cJSON_CreateObject();
	cJSON *taints = node_taints(m, n);

	const char *sched = n->unresponsive ? "false" : "true";
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "labels"),
	    "kubevirt.io/schedulable", sched);
	sim_jset_str(n->labels, "kubevirt.io/schedulable", sched);
	labels_changed(n);
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	cJSON_DeleteItemFromObject(spec, "taints");
	cJSON_AddItemToObject(spec, "taints",
			      cJSON_GetArraySize(taints) ? cJSON_Duplicate(taints, 1)
							 : cJSON_CreateNull());
	cJSON_AddItemToObject(cJSON_AddObjectToObject(patch, "status"), "conditions",
			      node_conditions(m, n));
	cJSON_Delete(n->taints);
	n->taints = taints;
	sim_merge(m, m->r_node, NULL, n->name, patch);
}

/* The machine IDs kubelet reads from the host (machineID: /etc/machine-id, systemUUID: the
 * firmware's, bootID: /proc/sys/kernel/random/boot_id), which the Node API requires: derived from
 * the seed and the node's name so that runs repeat, without drawing from the model's generator. */
static void node_ids(const struct sim_model *m, const char *name, cJSON *info)
{
	uint64_t h = m->seed ^ 0x9e3779b97f4a7c15ULL, w[6];
	char mid[40], uuid[2][40];

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	for (size_t i = 0; i < WK_ARRAY_SIZE(w); i++)
		w[i] = sim_splitmix(&h);
	snprintf(mid, sizeof(mid), "%016llx%016llx", (unsigned long long)w[0],
		 (unsigned long long)w[1]);
	for (int k = 0; k < 2; k++) {
		uint64_t a = w[2 + 2 * k], b = w[3 + 2 * k];

		snprintf(uuid[k], sizeof(uuid[k]), "%08llx-%04llx-4%03llx-%04llx-%012llx",
			 (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
			 (unsigned long long)(a & 0xfff),
			 (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)),
			 (unsigned long long)(b & 0xffffffffffffULL));
	}
	cJSON_AddStringToObject(info, "machineID", mid);
	cJSON_AddStringToObject(info, "systemUUID", uuid[0]);
	cJSON_AddStringToObject(info, "bootID", uuid[1]);
}

void sim_nodes_seed(struct sim_model *m)
{
	const struct sim_scenario *sc = m->sc;

	m->nodes = wk_xcalloc(sc->nnodes, sizeof(*m->nodes));
	m->nnodes = sc->nnodes;
	for (size_t i = 0; i < sc->nnodes; i++) {
		const struct sim_sc_node *s = &sc->nodes[i];
		struct mnode *n = &m->nodes[i];
		cJSON *o = cJSON_CreateObject(), *meta, *labels, *spec, *st, *cap, *alloc, *addr,
		      *info;
		char q[64], ip[32];

		n->name = wk_xstrdup(s->name);
		n->cpu_milli =
		    s->cpu_milli > RESERVED_CPU * 2 ? s->cpu_milli - RESERVED_CPU : s->cpu_milli;
		n->memory = s->memory > RESERVED_MEM * 2 ? s->memory - RESERVED_MEM : s->memory;
		n->link = (double)s->link_bandwidth;
		n->unschedulable = s->unschedulable;
		n->mem_pct = n->cpu_pct = -1;
		n->metrics_dirty = true;
		n->labels = cJSON_Duplicate(s->labels, 1);
		sim_jset_str(n->labels, "kubernetes.io/hostname", s->name);
		sim_jset_str(n->labels, "kubernetes.io/os", "linux");
		sim_jset_str(n->labels, "kubernetes.io/arch", "amd64");
		sim_jset_str(n->labels, "kubevirt.io/schedulable", "true");
		n->other_cpu = s->other_cpu_milli >= 0 ? s->other_cpu_milli : sc->other_cpu_milli;
		n->other_mem = s->other_memory >= 0 ? s->other_memory : sc->other_memory;
		/* virt-handler's node-labeller: the host CPU model and what it can run, unless the
		 * scenario labels the node itself. */
		const cJSON *l;
		bool has_model = false;
		cJSON_ArrayForEach(l, n->labels) has_model |=
		    !strncmp(l->string, LABEL_HOST_MODEL, strlen(LABEL_HOST_MODEL));
		if (!has_model) {
			char k[160];
			snprintf(k, sizeof(k), "%s%s", LABEL_HOST_MODEL, SIM_DEFAULT_CPU_MODEL);
			sim_jset_str(n->labels, k, "true");
			snprintf(k, sizeof(k), "%s%s", LABEL_CPU_MODEL, SIM_DEFAULT_CPU_MODEL);
			sim_jset_str(n->labels, k, "true");
			snprintf(k, sizeof(k), "%s%s", LABEL_MIG_MODEL, SIM_DEFAULT_CPU_MODEL);
			sim_jset_str(n->labels, k, "true");
		}
		labels_changed(n);
		n->taints = cJSON_CreateArray();
		for (size_t t = 0; t < s->ntaints; t++) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "key", s->taints[t].key);
			if (s->taints[t].value)
				cJSON_AddStringToObject(x, "value", s->taints[t].value);
			cJSON_AddStringToObject(x, "effect", s->taints[t].effect);
			cJSON_AddItemToArray(n->taints, x);
		}
		wk_map_put(&m->node_idx, s->name, (void *)(uintptr_t)(i + 1));

		cJSON_AddStringToObject(o, "apiVersion", "v1");
		cJSON_AddStringToObject(o, "kind", "Node");
		meta = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(meta, "name", s->name);
		labels = cJSON_Duplicate(n->labels, 1);
		cJSON_AddItemToObject(meta, "labels", labels);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
					"node.alpha.kubernetes.io/ttl", "0");
		spec = cJSON_AddObjectToObject(o, "spec");
		snprintf(ip, sizeof(ip), "10.%zu.%zu.0/24", 244 + i / 65536 % 10, i % 256);
		cJSON_AddStringToObject(spec, "podCIDR", ip);
		if (n->unschedulable)
			cJSON_AddBoolToObject(spec, "unschedulable", true);
		cJSON *taints = node_taints(m, n);
		cJSON_Delete(n->taints);
		n->taints = taints;
		if (cJSON_GetArraySize(taints))
			cJSON_AddItemToObject(spec, "taints", cJSON_Duplicate(taints, 1));
		st = cJSON_AddObjectToObject(o, "status");
		cap = cJSON_AddObjectToObject(st, "capacity");
		wk_quantity_format_milli(s->cpu_milli, q, sizeof(q));
		cJSON_AddStringToObject(cap, "cpu", q);
		wk_quantity_format_bytes(s->memory, q, sizeof(q));
		cJSON_AddStringToObject(cap, "memory", q);
		cJSON_AddStringToObject(cap, "pods", "110");
		cJSON_AddStringToObject(cap, "ephemeral-storage", "100Gi");
		cJSON_AddStringToObject(cap, "devices.kubevirt.io/kvm", "1k");
		alloc = cJSON_AddObjectToObject(st, "allocatable");
		wk_quantity_format_milli(n->cpu_milli, q, sizeof(q));
		cJSON_AddStringToObject(alloc, "cpu", q);
		wk_quantity_format_bytes(n->memory, q, sizeof(q));
		cJSON_AddStringToObject(alloc, "memory", q);
		cJSON_AddStringToObject(alloc, "pods", "110");
		cJSON_AddStringToObject(alloc, "devices.kubevirt.io/kvm", "1k");
		cJSON_AddItemToObject(st, "conditions", node_conditions(m, n));
		addr = cJSON_AddArrayToObject(st, "addresses");
		snprintf(ip, sizeof(ip), "10.0.%zu.%zu", i / 250, i % 250 + 1);
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "type", "InternalIP");
		cJSON_AddStringToObject(a, "address", ip);
		cJSON_AddItemToArray(addr, a);
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "type", "Hostname");
		cJSON_AddStringToObject(a, "address", s->name);
		cJSON_AddItemToArray(addr, a);
		info = cJSON_AddObjectToObject(st, "nodeInfo");
		cJSON_AddStringToObject(info, "architecture", "amd64");
		cJSON_AddStringToObject(info, "operatingSystem", "linux");
		cJSON_AddStringToObject(info, "osImage", "Simulated Linux");
		cJSON_AddStringToObject(info, "kernelVersion", "6.1.0-sim");
		cJSON_AddStringToObject(info, "kubeletVersion", "v1.32.0");
		cJSON_AddStringToObject(info, "kubeProxyVersion", "v1.32.0");
		cJSON_AddStringToObject(info, "containerRuntimeVersion", "containerd://1.7.24");
		node_ids(m, s->name, info);
		/* kubelet's port, as kubelet registers it (k8s.io/api core/v1 NodeDaemonEndpoints)
		 */
		cJSON_AddNumberToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "daemonEndpoints"),
					    "kubeletEndpoint"),
		    "Port", 10250);
		sim_create(m, m->r_node, NULL, o);
	}
}

void sim_node_usage(struct sim_model *m, int idx, const struct mvm *vm, int sign)
{
	if (idx < 0 || (size_t)idx >= m->nnodes)
		return;
	m->nodes[idx].used_cpu += sign * vm->req_cpu;
	m->nodes[idx].used_mem += sign * vm->req_mem;
	m->nodes[idx].guest_cpu += sign * vm->cpu * 1000;
	m->nodes[idx].metrics_dirty = true;
}

static int64_t usage_mem(const struct sim_model *m, const struct mnode *n)
{
	if (n->mem_pct >= 0)
		return n->memory * n->mem_pct / 100;
	return m->sc->bg_memory + n->used_mem;
}

static int64_t usage_cpu(const struct sim_model *m, const struct mnode *n)
{
	if (n->cpu_pct >= 0)
		return n->cpu_milli * n->cpu_pct / 100;
	/* Guests use about a third of the vCPUs they asked for. */
	return m->sc->bg_cpu_milli + n->guest_cpu / 3;
}

/* MemoryPressure follows usage against allocatable, like the kubelet's eviction threshold. */
static void update_pressure(struct sim_model *m, int idx)
{
	struct mnode *n = &m->nodes[idx];
	bool p = n->memory > 0 && usage_mem(m, n) * 100 / n->memory >= m->sc->memory_pressure_pct;
	if (p != n->mem_pressure && !n->failed) {
		n->mem_pressure = p;
		node_sync(m, idx);
	}
}

struct nm_arg {
	const char *ts;
	char cpu[40], mem[40];
};

static int nm_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct nm_arg *a = opaque;
	(void)err;
	sim_jset_str(obj, "timestamp", a->ts);
	cJSON *u = sim_jobj(obj, "usage");
	sim_jset_str(u, "cpu", a->cpu);
	sim_jset_str(u, "memory", a->mem);
	return 0;
}

void sim_node_write_metrics(struct sim_model *m)
{
	char ts[40];
	sim_ts(m, m->now, ts, sizeof(ts));
	for (size_t i = 0; i < m->nnodes; i++) {
		struct mnode *n = &m->nodes[i];
		if (!n->metrics_dirty || n->failed)
			continue;
		n->metrics_dirty = false;
		update_pressure(m, (int)i);
		/* metrics-server reports cpu in nanocores and memory in KiB. */
		struct nm_arg a = {.ts = ts};
		snprintf(a.cpu, sizeof(a.cpu), "%lldn", (long long)usage_cpu(m, n) * 1000000LL);
		snprintf(a.mem, sizeof(a.mem), "%lldKi", (long long)usage_mem(m, n) / 1024);
		struct sim_err err;
		if (sim_store_mutate(m->st, m->r_nm, NULL, n->name, nm_fn, &a, NULL, &err) == 0)
			continue;
		cJSON *o = cJSON_CreateObject(), *meta;
		cJSON_AddStringToObject(o, "kind", "NodeMetrics");
		cJSON_AddStringToObject(o, "apiVersion", "metrics.k8s.io/v1beta1");
		meta = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(meta, "name", n->name);
		cJSON_AddItemToObject(meta, "labels", cJSON_Duplicate(n->labels, 1));
		cJSON_AddStringToObject(o, "timestamp", ts);
		cJSON_AddStringToObject(o, "window", "20.052s");
		cJSON *u = cJSON_AddObjectToObject(o, "usage");
		cJSON_AddStringToObject(u, "cpu", a.cpu);
		cJSON_AddStringToObject(u, "memory", a.mem);
		sim_create(m, m->r_nm, NULL, o);
	}
}

/* The node's virt-launcher pods no longer exist (force-deleted, PodGC after out-of-service):
 * virt-controller fails their VMIs, with reason NodeUnresponsive when the node controller does
 * it (heartbeat stale; node.go createAndApplyFailedVMINodeUnresponsivePatch), otherwise without
 * a reason (the VMI controller: "pod does not exist", lifecycle.go). */
static void pods_gone(struct sim_model *m, int idx)
{
	struct mnode *n = &m->nodes[idx];
	char msg[400];
	snprintf(msg, sizeof(msg),
		 "virt-handler on node %s is not responsive, marking VMI as failed", n->name);
	if (n->nvmis > 0)
		m->node_vmis_lost(m, idx, n->unresponsive ? "NodeUnresponsive" : NULL,
				  n->unresponsive ? msg : NULL);
}

/* A user (kubectl cordon, kubectl taint, label edits) changed a Node. */
void sim_node_on_change(struct sim_model *m, const char *name)
{
	int idx = sim_node_index(m, name);
	cJSON *o;

	if (idx < 0)
		return;
	o = sim_store_get(m->st, m->r_node, NULL, name);
	if (!o)
		return;
	struct mnode *n = &m->nodes[idx];
	bool unsched = cJSON_IsTrue(wk_json_path(o, "spec.unschedulable"));
	const cJSON *labels = wk_json_path(o, "metadata.labels");
	const cJSON *taints = wk_json_path(o, "spec.taints");
	bool had_oos = has_taint(n, TAINT_OOS);

	cJSON_Delete(n->labels);
	n->labels = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
	labels_changed(n);
	cJSON_Delete(n->taints);
	n->taints = cJSON_IsArray(taints) ? cJSON_Duplicate(taints, 1) : cJSON_CreateArray();
	n->unschedulable = unsched;
	/* The node controller adds or removes the unschedulable taint to match the spec. */
	cJSON *want = node_taints(m, n);
	char *a = cJSON_PrintUnformatted(want), *b = cJSON_PrintUnformatted(n->taints);
	if (strcmp(a, b))
		node_sync(m, idx);
	free(a);
	free(b);
	cJSON_Delete(want);
	cJSON_Delete(o);
	/* out-of-service on a NotReady node: PodGC force-deletes its pods (gcTerminating), and
	 * the VMIs whose pods are gone fail. */
	if (!had_oos && has_taint(n, TAINT_OOS) && n->not_ready)
		pods_gone(m, idx);
}

void sim_nodes_tick(struct sim_model *m)
{
	for (size_t i = 0; i < m->nnodes; i++) {
		struct mnode *n = &m->nodes[i];
		if (!n->failed)
			continue;
		if (!n->not_ready && m->now - n->failed_at >= (double)m->sc->node_grace_s) {
			n->not_ready = true;
			n->not_ready_at = m->now;
			node_sync(m, (int)i);
			sim_event(m, m->r_node, NULL, n->name, NULL, "Normal", "NodeNotReady",
				  "Node %s status is now: NodeNotReady", n->name);
			if (has_taint(n, TAINT_OOS))
				pods_gone(m, (int)i);
		}
		/* The taint manager evicts the pods once the unreachable toleration (300 s,
		 * DefaultTolerationSeconds) runs out: they are Terminating, but nothing on the dead
		 * node finishes the deletion, so the VMIs stay Running. */
		if (n->not_ready && !n->pods_terminating &&
		    m->now - n->not_ready_at >= (double)m->sc->eviction_timeout_s)
			n->pods_terminating = true;
		/* virt-controller's node controller (heartBeatTimeout 5 min): the node is
		 * unresponsive, kubevirt.io/schedulable=false. VMIs whose pods are still there
		 * ("alive", even Terminating) are left alone. */
		if (!n->unresponsive && m->now - n->failed_at >= SIM_HEARTBEAT_TIMEOUT) {
			n->unresponsive = true;
			node_sync(m, (int)i);
			sim_event(m, m->r_node, NULL, n->name, NULL, "Normal", "NodeUnresponsive",
				  "virt-handler is not responsive, marking node as unresponsive");
		}
	}
}

/* Toleration.ToleratesTaint (k8s.io/api/core/v1/toleration.go): an empty effect matches every
 * effect; an empty key with Exists matches every taint; operator "" is Equal. */
static bool tolerates(const cJSON *tols, const cJSON *taint)
{
	const cJSON *t;
	const char *tk = wk_json_str(taint, "key"), *tv = wk_json_str(taint, "value"),
		   *te = wk_json_str(taint, "effect");
	cJSON_ArrayForEach(t, tols)
	{
		const char *k = wk_json_str(t, "key"), *op = wk_json_str(t, "operator"),
			   *v = wk_json_str(t, "value"), *e = wk_json_str(t, "effect");
		if (e && *e && (!te || strcmp(e, te)))
			continue;
		bool exists = op && !strcmp(op, "Exists");
		if (!k || !*k) {
			if (exists)
				return true;
			continue;
		}
		if (!tk || strcmp(k, tk))
			continue;
		if (exists ||
		    ((!op || !*op || !strcmp(op, "Equal")) && !strcmp(v ? v : "", tv ? tv : "")))
			return true;
	}
	return false;
}

/* The first NoSchedule/NoExecute taint the pod does not tolerate (TaintToleration's Filter),
 * the unschedulable one left to NodeUnschedulable. */
static const cJSON *untolerated(const struct mnode *n, const cJSON *tols)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, n->taints)
	{
		const char *e = wk_json_str(t, "effect"), *k = wk_json_str(t, "key");
		if (!e || (strcmp(e, "NoSchedule") && strcmp(e, "NoExecute")))
			continue;
		if (k && !strcmp(k, TAINT_UNSCHED))
			continue;
		if (!tolerates(tols, t))
			return t;
	}
	return NULL;
}

static bool int_cmp(const char *label, const cJSON *vals, bool gt)
{
	const cJSON *v = cJSON_GetArrayItem(vals, 0);
	char *e1, *e2;
	if (!label || !cJSON_IsString(v))
		return false;
	long long a = strtoll(label, &e1, 10), b = strtoll(v->valuestring, &e2, 10);
	if (*e1 || *e2 || !*label || !*v->valuestring)
		return false;
	return gt ? a > b : a < b;
}

/* One nodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
static bool requirement(const cJSON *req, const char *(*get)(const struct mnode *, const char *),
			const struct mnode *n)
{
	const char *key = wk_json_str(req, "key"), *op = wk_json_str(req, "operator");
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(req, "values"), *v;
	if (!key || !op)
		return false;
	const char *have = get(n, key);
	if (!strcmp(op, "Exists"))
		return have != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return have == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt"))
		return int_cmp(have, vals, op[0] == 'G');
	bool in = false;
	cJSON_ArrayForEach(v, vals) in |=
	    have && cJSON_IsString(v) && !strcmp(v->valuestring, have);
	if (!strcmp(op, "In"))
		return in;
	if (!strcmp(op, "NotIn"))
		return !in;
	return false;
}

static const char *node_label(const struct mnode *n, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n->labels, key));
}

static const char *node_field(const struct mnode *n, const char *key)
{
	return !strcmp(key, "metadata.name") ? n->name : NULL;
}

/* requiredDuringSchedulingIgnoredDuringExecution: the terms are ORed, the requirements of a term
 * ANDed; a term with no requirements matches nothing (component-helpers nodeaffinity). */
static bool affinity_match(const cJSON *terms, const struct mnode *n)
{
	const cJSON *t, *r;
	if (!cJSON_IsArray(terms))
		return true;
	cJSON_ArrayForEach(t, terms)
	{
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(t, "matchExpressions"),
			    *fi = cJSON_GetObjectItemCaseSensitive(t, "matchFields");
		bool ok = cJSON_GetArraySize(ex) + cJSON_GetArraySize(fi) > 0;
		cJSON_ArrayForEach(r, ex) ok = ok && requirement(r, node_label, n);
		cJSON_ArrayForEach(r, fi) ok = ok && requirement(r, node_field, n);
		if (ok)
			return true;
	}
	return false;
}

static bool base_overridden(const cJSON *sel)
{
	return cJSON_GetObjectItemCaseSensitive(sel, "kubevirt.io/schedulable") ||
	       cJSON_GetObjectItemCaseSensitive(sel, "kubernetes.io/arch");
}

/* The launcher pod's nodeSelector (NewNodeSelectorRenderer + createTargetPod): base labels,
 * then `extra` (addedNodeSelector, host-model migration labels), then the VMI's own selector
 * winning on a collision. */
static cJSON *pod_selector(const struct mvm *vm, const cJSON *extra)
{
	cJSON *sel = cJSON_CreateObject();
	const cJSON *e;
	/* kubevirt.io/schedulable: "true" and kubernetes.io/arch: amd64 are checked through the
	 * cached n->lbl_base, unless the VMI's own selector names one of them. */
	if (base_overridden(vm->node_selector)) {
		sim_jset_str(sel, "kubevirt.io/schedulable", "true");
		sim_jset_str(sel, "kubernetes.io/arch", "amd64");
	}
	if (vm->cpu_model[0] && strcmp(vm->cpu_model, "host-model") &&
	    strcmp(vm->cpu_model, "host-passthrough")) {
		char k[160];
		snprintf(k, sizeof(k), "%s%s", LABEL_CPU_MODEL, vm->cpu_model);
		sim_jset_str(sel, k, "true");
	}
	cJSON_ArrayForEach(e, extra) if (cJSON_IsString(e))
	    sim_jset_str(sel, e->string, e->valuestring);
	cJSON_ArrayForEach(e, vm->node_selector) if (cJSON_IsString(e))
	    sim_jset_str(sel, e->string, e->valuestring);
	return sel;
}

struct reasons {
	char what[8][200];
	size_t n[8], used;
};

static void reason_add(struct reasons *r, const char *what)
{
	for (size_t i = 0; i < r->used; i++)
		if (!strcmp(r->what[i], what)) {
			r->n[i]++;
			return;
		}
	if (r->used < WK_ARRAY_SIZE(r->what)) {
		snprintf(r->what[r->used], sizeof(r->what[0]), "%s", what);
		r->n[r->used++] = 1;
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int sim_node_pick(struct sim_model *m, const struct mvm *vm, const cJSON *extra, int exclude,
		  char *msg, size_t msg_size)
{
	int best = -1, ties = 0;
	int64_t best_free = -1;
	struct reasons r = {.used = 0};
	cJSON *sel = pod_selector(vm, extra);
	bool base_over = base_overridden(vm->node_selector);
	cJSON *unsched = cJSON_CreateObject();
	sim_jset_str(unsched, "key", TAINT_UNSCHED);
	sim_jset_str(unsched, "effect", "NoSchedule");

	/* The default filter plugins in order (NodeUnschedulable, TaintToleration, NodeAffinity,
	 * NodeResourcesFit, InterPodAffinity); the first that fails names the node's reason. */
	for (size_t i = 0; i < m->nnodes; i++) {
		const struct mnode *n = &m->nodes[i];
		if (n->failed && !n->not_ready) {
			/* Still Ready for the node-monitor grace period: the scheduler would bind
			 * the pod to a dead kubelet; the model keeps it away. */
			reason_add(
			    &r, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
			continue;
		}
		if (n->unschedulable && !tolerates(vm->tolerations, unsched)) {
			reason_add(&r, "node(s) were unschedulable");
			continue;
		}
		const cJSON *t = untolerated(n, vm->tolerations);
		if (t) {
			char w[200];
			snprintf(w, sizeof(w), "node(s) had untolerated taint {%.80s: %.80s}",
				 wk_json_str(t, "key") ? wk_json_str(t, "key") : "",
				 wk_json_str(t, "value") ? wk_json_str(t, "value") : "");
			reason_add(&r, w);
			continue;
		}
		if ((!n->lbl_base && !base_over) || !sim_labels_match(sel, n->labels) ||
		    !affinity_match(vm->affinity_terms, n)) {
			reason_add(&r, "node(s) didn't match Pod's node affinity/selector");
			continue;
		}
		bool no_mem = n->memory - n->other_mem - n->used_mem < vm->req_mem;
		bool no_cpu = n->cpu_milli - n->other_cpu - n->used_cpu < vm->req_cpu;
		if (no_mem)
			reason_add(&r, "Insufficient memory");
		if (no_cpu)
			reason_add(&r, "Insufficient cpu");
		if (no_mem || no_cpu)
			continue;
		if (vm->pin_node >= 0 && (int)i != vm->pin_node) {
			reason_add(&r, "node(s) had volume node affinity conflict");
			continue;
		}
		if ((int)i == exclude) {
			reason_add(&r, "node(s) didn't match pod anti-affinity rules");
			continue;
		}
		/* Least allocated (by share of memory) first, like kube-scheduler's
		 * LeastAllocated score; ties broken by the seeded generator. */
		int64_t fr = (int64_t)((double)(n->memory - n->other_mem - n->used_mem) /
				       (double)n->memory * 1e6);
		if (fr > best_free) {
			best = (int)i;
			best_free = fr;
			ties = 1;
		} else if (fr == best_free && sim_rand(m) * ++ties < 1.0) {
			best = (int)i;
		}
	}
	cJSON_Delete(sel);
	cJSON_Delete(unsched);
	if (best < 0 && msg) {
		/* FitError.Error(): "<count> <reason>" strings sorted, joined with ", ". */
		char lines[8][220], parts[1800] = "";
		for (size_t i = 0; i < r.used; i++)
			snprintf(lines[i], sizeof(lines[i]), "%zu %s", r.n[i], r.what[i]);
		qsort(lines, r.used, sizeof(lines[0]), str_cmp);
		for (size_t i = 0; i < r.used; i++) {
			size_t l = strlen(parts);
			snprintf(parts + l, sizeof(parts) - l, "%s%s", l ? ", " : "", lines[i]);
		}
		snprintf(msg, msg_size,
			 "0/%zu nodes are available: %s. preemption: 0/%zu nodes are available: "
			 "%zu Preemption is not helpful for scheduling.",
			 m->nnodes, parts, m->nnodes, m->nnodes);
	}
	return best;
}

static cJSON *node_state(struct sim_model *m, const struct mnode *n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddBoolToObject(o, "failed", n->failed);
	cJSON_AddBoolToObject(o, "ready", !n->not_ready);
	cJSON_AddBoolToObject(o, "memoryPressure", n->mem_pressure);
	cJSON_AddNumberToObject(o, "memoryPercent", n->mem_pct);
	cJSON_AddNumberToObject(o, "cpuPercent", n->cpu_pct);
	cJSON_AddNumberToObject(o, "memoryUsage", (double)usage_mem(m, n));
	cJSON_AddNumberToObject(o, "cpuUsageMilli", (double)usage_cpu(m, n));
	cJSON_AddNumberToObject(o, "vmis", n->nvmis);
	return o;
}

static int node_reply(struct wk_buf *out, int code, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	wk_buf_reset(out);
	if (wk_buf_adds(out, s) < 0 || wk_buf_adds(out, "\n") < 0)
		code = 500;
	free(s);
	cJSON_Delete(o);
	return code;
}

static int node_err(struct wk_buf *out, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	return node_reply(out, code, o);
}

static int pct(const cJSON *v, int *out)
{
	if (!v)
		return 0;
	if (cJSON_IsNull(v)) {
		*out = -1;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < -1 || v->valuedouble > 100)
		return -1;
	*out = (int)v->valuedouble;
	return 0;
}

int sim_node_control(struct sim_model *m, const char *method, const char *name, const char *action,
		     const cJSON *body, struct wk_buf *out)
{
	int idx = sim_node_index(m, name);
	struct mnode *n;

	if (idx < 0)
		return node_err(out, 404, "no such node");
	n = &m->nodes[idx];
	if (!*action) {
		if (strcmp(method, "GET"))
			return node_err(out, 405, "use GET");
		return node_reply(out, 200, node_state(m, n));
	}
	if (strcmp(method, "POST"))
		return node_err(out, 405, "use POST");
	if (!strcmp(action, "fail")) {
		if (!n->failed) {
			n->failed = true;
			n->failed_at = m->now;
			/* Migrations touching it stall at once: the link is gone. */
			m->node_failed(m, idx);
		}
	} else if (!strcmp(action, "recover")) {
		if (n->failed) {
			n->failed = false;
			bool was = n->not_ready, evicted = n->pods_terminating;
			n->not_ready = false;
			n->unresponsive = false;
			n->pods_terminating = false;
			n->metrics_dirty = true;
			node_sync(m, idx);
			if (was)
				sim_event(m, m->r_node, NULL, n->name, NULL, "Normal", "NodeReady",
					  "Node %s status is now: NodeReady", n->name);
			/* The kubelet is back and finishes the evictions: those pods go, and their
			 * VMIs fail. */
			if (evicted)
				pods_gone(m, idx);
		}
	} else if (!strcmp(action, "force-delete-pods")) {
		/* kubectl delete pod --force --grace-period=0 of the node's launcher pods */
		pods_gone(m, idx);
	} else if (!strcmp(action, "pressure")) {
		int mp = n->mem_pct, cp = n->cpu_pct;
		if (pct(wk_json_path(body, "memoryPercent"), &mp) < 0 ||
		    pct(wk_json_path(body, "cpuPercent"), &cp) < 0)
			return node_err(out, 400,
					"memoryPercent and cpuPercent must be 0..100, or null/-1 "
					"to clear");
		n->mem_pct = mp;
		n->cpu_pct = cp;
		n->metrics_dirty = true;
		sim_node_write_metrics(m);
	} else {
		return node_err(out, 404,
				"unknown node action; use fail, recover, pressure or "
				"force-delete-pods");
	}
	return node_reply(out, 200, node_state(m, n));
}
