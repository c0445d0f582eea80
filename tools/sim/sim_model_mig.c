/* sim_model_mig.c - KubeVirt's live migration controller: VMIM phases, parallelism limits,
 * target selection, MigrationPolicy matching, the transfer (sim_xfer), aborts, VMI
 * migrationState, and the migration metrics in Prometheus text. */
#include "sim_model_int.h"

#include "wk_quantity.h"

#define FINALIZER "kubevirt.io/migrationJobFinalize"
#define VMI_LABEL "kubevirt.io/vmi-name"
#define ANN_UNSCHED_TIMEOUT "kubevirt.io/migrationUnschedulablePodTimeoutSeconds"

static const char *const phase_names[] = {
    "",	       "Pending",   "Scheduling", "Scheduled", "PreparingTarget", "TargetReady",
    "Running", "Succeeded", "Failed",
};

const char *sim_mig_phase_name(enum mig_phase p)
{
	return phase_names[p];
}

/* ---- configuration ---- */

static int64_t num_or(const cJSON *v, int64_t def)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble : def;
}

void sim_kv_load(struct sim_model *m)
{
	cJSON *kv = sim_store_get(m->st, m->r_kv, "kubevirt", "kubevirt");
	const cJSON *g = wk_json_path(kv, "spec.configuration.migrations");
	struct kvcfg *c = &m->kv;

	m->kv_dirty = false;
	/* Absent fields take KubeVirt's defaults (pkg/virt-config). */
	c->parallel_cluster = num_or(wk_json_path(g, "parallelMigrationsPerCluster"), 5);
	c->parallel_node = num_or(wk_json_path(g, "parallelOutboundMigrationsPerNode"), 2);
	int64_t bw = sim_jqty(wk_json_path(g, "bandwidthPerMigration"));
	c->bandwidth = bw > 0 ? bw : 0;
	c->completion_per_gib = num_or(wk_json_path(g, "completionTimeoutPerGiB"), 150);
	c->progress_timeout = num_or(wk_json_path(g, "progressTimeout"), 150);
	c->auto_converge = cJSON_IsTrue(wk_json_path(g, "allowAutoConverge"));
	c->post_copy = cJSON_IsTrue(wk_json_path(g, "allowPostCopy"));
	const cJSON *d = wk_json_path(g, "allowWorkloadDisruption");
	c->has_disruption = cJSON_IsBool(d);
	c->disruption = cJSON_IsTrue(d);
	/* pkg/virt-config: DefaultCPUAllocationRatio 10; additionalGuestMemoryOverheadRatio a
	 * decimal string (unset = 1). */
	const cJSON *r =
	    wk_json_path(kv, "spec.configuration.developerConfiguration.cpuAllocationRatio");
	c->cpu_ratio = cJSON_IsNumber(r) && r->valuedouble > 0 ? r->valuedouble : 10;
	const char *o = wk_json_str(kv, "spec.configuration.additionalGuestMemoryOverheadRatio");
	c->overhead_ratio = o && atof(o) >= 1 && atof(o) <= 100 ? atof(o) : 1;
	cJSON_Delete(kv);
}

static int collect_policy(const cJSON *obj, void *opaque)
{
	cJSON_AddItemToArray(opaque, cJSON_Duplicate(obj, 1));
	return 0;
}

void sim_policies_load(struct sim_model *m)
{
	m->policies_dirty = false;
	cJSON_Delete(m->policies);
	m->policies = cJSON_CreateArray();
	sim_store_foreach(m->st, m->r_mp, NULL, collect_policy, m->policies);
}

/* Count how many of sel's labels the labels have; false if any is missing or differs. */
static bool count_match(const cJSON *sel, const cJSON *labels, int *n)
{
	const cJSON *s;
	*n = 0;
	cJSON_ArrayForEach(s, sel)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, s->string);
		if (!cJSON_IsString(s) || !cJSON_IsString(l) ||
		    strcmp(s->valuestring, l->valuestring))
			return false;
		(*n)++;
	}
	return true;
}

/* KubeVirt's matchPolicy: the most matching labels (VMI + namespace) win; on a tie more VMI
 * labels; on a further tie the smallest name. */
static const cJSON *match_policy(struct sim_model *m, const cJSON *vmi_labels,
				 const cJSON *ns_labels)
{
	const cJSON *p, *best = NULL;
	int best_total = -1, best_vmi = -1;

	cJSON_ArrayForEach(p, m->policies)
	{
		int nv, nn;
		if (!count_match(wk_json_path(p, "spec.selectors.virtualMachineInstanceSelector"),
				 vmi_labels, &nv) ||
		    !count_match(wk_json_path(p, "spec.selectors.namespaceSelector"), ns_labels,
				 &nn))
			continue;
		const char *name = wk_json_str(p, "metadata.name");
		int total = nv + nn;
		if (!best || total > best_total || (total == best_total && nv > best_vmi) ||
		    (total == best_total && nv == best_vmi && name &&
		     strcmp(name, wk_json_str(best, "metadata.name")) < 0)) {
			best = p;
			best_total = total;
			best_vmi = nv;
		}
	}
	return best;
}

/* The effective configuration: the KubeVirt CR with the policy's non-nil fields on top. */
static void effective_config(struct sim_model *m, struct mmig *g, const cJSON *vmi)
{
	struct kvcfg c = m->kv;
	const cJSON *pol;
	char bw[64];

	cJSON *ns = sim_store_get(m->st, m->r_ns, NULL, g->ns);
	pol = match_policy(m, wk_json_path(vmi, "metadata.labels"),
			   wk_json_path(ns, "metadata.labels"));
	g->policy[0] = 0;
	if (pol) {
		const cJSON *s = wk_json_path(pol, "spec"), *v;
		snprintf(g->policy, sizeof(g->policy), "%s", wk_json_str(pol, "metadata.name"));
		if (cJSON_IsBool(v = wk_json_path(s, "allowAutoConverge")))
			c.auto_converge = cJSON_IsTrue(v);
		if (cJSON_IsBool(v = wk_json_path(s, "allowPostCopy")))
			c.post_copy = cJSON_IsTrue(v);
		if (cJSON_IsBool(v = wk_json_path(s, "allowWorkloadDisruption"))) {
			c.has_disruption = true;
			c.disruption = cJSON_IsTrue(v);
		}
		if ((v = wk_json_path(s, "completionTimeoutPerGiB")) && cJSON_IsNumber(v))
			c.completion_per_gib = num_or(v, c.completion_per_gib);
		if ((v = wk_json_path(s, "bandwidthPerMigration"))) {
			int64_t b = sim_jqty(v);
			if (b >= 0)
				c.bandwidth = b;
		}
	}
	cJSON_Delete(ns);
	if (!c.has_disruption)
		c.disruption = c.post_copy;
	cJSON_Delete(g->config);
	g->config = cJSON_CreateObject();
	cJSON_AddBoolToObject(g->config, "allowAutoConverge", c.auto_converge);
	cJSON_AddBoolToObject(g->config, "allowPostCopy", c.post_copy);
	cJSON_AddBoolToObject(g->config, "allowWorkloadDisruption", c.disruption);
	if (c.bandwidth)
		wk_quantity_format_bytes(c.bandwidth, bw, sizeof(bw));
	else
		snprintf(bw, sizeof(bw), "0Mi");
	cJSON_AddStringToObject(g->config, "bandwidthPerMigration", bw);
	cJSON_AddNumberToObject(g->config, "completionTimeoutPerGiB", (double)c.completion_per_gib);
	cJSON_AddBoolToObject(g->config, "disableTLS", false);
	cJSON_AddBoolToObject(g->config, "matchSELinuxLevelOnMigration", false);
	cJSON_AddNumberToObject(g->config, "maxDowntimeMs", (double)m->sc->max_downtime_ms);
	cJSON_AddStringToObject(g->config, "nodeDrainTaintKey", "kubevirt.io/drain");
	cJSON_AddNumberToObject(g->config, "parallelMigrationsPerCluster",
				(double)m->kv.parallel_cluster);
	cJSON_AddNumberToObject(g->config, "parallelOutboundMigrationsPerNode",
				(double)m->kv.parallel_node);
	cJSON_AddNumberToObject(g->config, "progressTimeout", (double)c.progress_timeout);
	cJSON_AddBoolToObject(g->config, "unsafeMigrationOverride", false);
	g->bw_cap = c.bandwidth;

	struct sim_xfer_params p = {
	    .memory = g->vm ? g->vm->memory : 0,
	    .dirty_rate = g->vm ? g->vm->dirty_rate : 0,
	    .max_downtime_s = (double)m->sc->max_downtime_ms / 1000.0,
	    .completion_per_gib = c.completion_per_gib,
	    .progress_timeout = c.progress_timeout,
	    .allow_auto_converge = c.auto_converge,
	    .allow_post_copy = c.post_copy,
	    .allow_workload_disruption = c.disruption,
	    .postcopy_after_first_round = m->sc->postcopy_after_first_round,
	};
	sim_xfer_init(&g->x, &p);
}

/* ---- object writes ---- */

struct vmim_w {
	struct sim_model *m;
	struct mmig *g;
	const char *cond_type; /* a condition to set True, or NULL */
	cJSON *state;	       /* migrationState to copy (final), borrowed */
	bool add_finalizer;
};

static int vmim_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct vmim_w *w = opaque;
	struct mmig *g = w->g;
	char ts[40];
	(void)err;

	cJSON *meta = sim_jobj(obj, "metadata");
	if (w->add_finalizer && !wk_json_path(obj, "metadata.deletionTimestamp")) {
		cJSON *f = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
		if (!cJSON_IsArray(f))
			f = cJSON_AddArrayToObject(meta, "finalizers");
		bool have = false;
		const cJSON *it;
		cJSON_ArrayForEach(it, f) have |=
		    cJSON_IsString(it) && !strcmp(it->valuestring, FINALIZER);
		if (!have)
			cJSON_AddItemToArray(f, cJSON_CreateString(FINALIZER));
	}
	if (g->vmi)
		sim_jset_str(sim_jobj(meta, "labels"), VMI_LABEL, g->vmi);
	cJSON *st = sim_jobj(obj, "status");
	const char *cur = wk_json_str(st, "phase");
	const char *want = phase_names[g->phase];
	if (!cur || strcmp(cur, want)) {
		sim_jset_str(st, "phase", want);
		cJSON *pt = cJSON_GetObjectItemCaseSensitive(st, "phaseTransitionTimestamps");
		if (!cJSON_IsArray(pt)) {
			cJSON_DeleteItemFromObjectCaseSensitive(st, "phaseTransitionTimestamps");
			pt = cJSON_AddArrayToObject(st, "phaseTransitionTimestamps");
		}
		cJSON *e = cJSON_CreateObject();
		sim_ts(w->m, w->m->now, ts, sizeof(ts));
		cJSON_AddStringToObject(e, "phase", want);
		cJSON_AddStringToObject(e, "phaseTransitionTimestamp", ts);
		cJSON_AddItemToArray(pt, e);
	}
	if (w->cond_type) {
		cJSON *cs = cJSON_GetObjectItemCaseSensitive(st, "conditions");
		if (!cJSON_IsArray(cs)) {
			cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
			cs = cJSON_AddArrayToObject(st, "conditions");
		}
		/* The migration controller appends {type, status, lastProbeTime} only: no
		 * reason, no message, lastTransitionTime unset (migration.go updateStatus). */
		cJSON *c = cJSON_CreateObject();
		sim_ts(w->m, w->m->now, ts, sizeof(ts));
		cJSON_AddStringToObject(c, "type", w->cond_type);
		cJSON_AddStringToObject(c, "status", "True");
		cJSON_AddStringToObject(c, "lastProbeTime", ts);
		cJSON_AddNullToObject(c, "lastTransitionTime");
		cJSON_AddItemToArray(cs, c);
	}
	if (w->state)
		sim_jset(st, "migrationState", cJSON_Duplicate(w->state, 1));
	return 0;
}

static void vmim_write(struct sim_model *m, struct mmig *g, struct vmim_w *extra)
{
	struct vmim_w w = {.m = m, .g = g};
	struct sim_err err;
	if (extra) {
		w = *extra;
		w.m = m;
		w.g = g;
	}
	sim_store_mutate(m->st, m->r_vmim, g->ns, g->name, vmim_fn, &w, NULL, &err);
}

/* vmi.status.migrationState from the migration's progress; `final` adds the end fields. */
static cJSON *mig_state(struct sim_model *m, struct mmig *g, bool final, bool ok,
			const char *failure, const char *abort_status)
{
	cJSON *s = cJSON_CreateObject();
	char ts[40];

	cJSON_AddStringToObject(s, "migrationUid", g->uid ? g->uid : "");
	if (g->src >= 0) {
		char pod[80];
		cJSON_AddStringToObject(s, "sourceNode", m->nodes[g->src].name);
		snprintf(pod, sizeof(pod), "virt-launcher-%.48s-src", g->vmi);
		cJSON_AddStringToObject(s, "sourcePod", pod);
	}
	if (g->dst >= 0) {
		cJSON_AddStringToObject(s, "targetNode", m->nodes[g->dst].name);
		cJSON_AddStringToObject(s, "targetPod", g->target_pod);
		if (g->phase >= MIG_TARGET_READY) {
			char addr[32];
			snprintf(addr, sizeof(addr), "10.0.%d.%d", g->dst / 250, g->dst % 250 + 1);
			cJSON_AddStringToObject(s, "targetNodeAddress", addr);
			cJSON_AddBoolToObject(s, "targetNodeDomainDetected", true);
		}
	}
	if (g->xfer_started) {
		sim_ts(m, g->x.elapsed >= 0 ? m->now - g->x.elapsed : m->now, ts, sizeof(ts));
		cJSON_AddStringToObject(s, "startTimestamp", ts);
		cJSON_AddStringToObject(s, "mode", sim_xfer_mode_name(g->x.mode));
	}
	if (g->config)
		cJSON_AddItemToObject(s, "migrationConfiguration", cJSON_Duplicate(g->config, 1));
	if (g->policy[0])
		cJSON_AddStringToObject(s, "migrationPolicyName", g->policy);
	cJSON_AddStringToObject(s, "migrationNetworkType", "Pod");
	if (g->abort_signalled)
		cJSON_AddBoolToObject(s, "abortRequested", true);
	if (abort_status)
		cJSON_AddStringToObject(s, "abortStatus", abort_status);
	if (final) {
		sim_ts(m, m->now, ts, sizeof(ts));
		cJSON_AddStringToObject(s, "endTimestamp", ts);
		/* An aborted migration also reports completed=true (the job ended). */
		cJSON_AddBoolToObject(s, "completed",
				      ok || (abort_status && !strcmp(abort_status, "Succeeded")));
		cJSON_AddBoolToObject(s, "failed", !ok);
		if (failure)
			cJSON_AddStringToObject(s, "failureReason", failure);
	}
	return s;
}

struct vmi_mig_w {
	cJSON *state;
	const char *new_node; /* on success */
	const char *target_label;
};

static int vmi_mig_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct vmi_mig_w *w = opaque;
	(void)err;
	cJSON *st = sim_jobj(obj, "status");
	sim_jset(st, "migrationState", cJSON_Duplicate(w->state, 1));
	cJSON *labels = sim_jobj(sim_jobj(obj, "metadata"), "labels");
	if (w->target_label)
		sim_jset_str(labels, "kubevirt.io/migrationTargetNodeName", w->target_label);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(labels,
							"kubevirt.io/migrationTargetNodeName");
	if (w->new_node) {
		sim_jset_str(st, "nodeName", w->new_node);
		sim_jset_str(labels, "kubevirt.io/nodeName", w->new_node);
		cJSON *ap = cJSON_CreateObject();
		char uid[48];
		snprintf(uid, sizeof(uid), "%.8s-mig-target",
			 wk_json_str(w->state, "migrationUid")
			     ? wk_json_str(w->state, "migrationUid")
			     : "00000000");
		cJSON_AddStringToObject(ap, uid, w->new_node);
		sim_jset(st, "activePods", ap);
	}
	return 0;
}

static void vmi_mig_write(struct sim_model *m, struct mmig *g, cJSON *state, const char *new_node,
			  bool migrating)
{
	struct vmi_mig_w w = {state, new_node,
			      migrating && g->dst >= 0 ? m->nodes[g->dst].name : NULL};
	struct sim_err err;
	if (g->vm && g->vm->phase == VMI_RUNNING)
		sim_store_mutate(m->st, m->r_vmi, g->ns, g->vmi, vmi_mig_fn, &w, NULL, &err);
	cJSON_Delete(state);
}

/* ---- lifecycle ---- */

static void unlink_mig(struct sim_model *m, struct mmig *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else if (m->mig_head == g)
		m->mig_head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else if (m->mig_tail == g)
		m->mig_tail = g->prev;
	g->next = g->prev = NULL;
}

/* virt-controller keeps the 5 most recent finalized migrations of a VMI and deletes older ones
 * (defaultFinalizedMigrationGarbageCollectionBuffer): clients must expect a VMIM to vanish. */
#define GC_KEEP 5
struct mig_gc {
	char *names[GC_KEEP];
	size_t next;
};

static void gc_finalized(struct sim_model *m, const struct mmig *g)
{
	char key[600];
	struct mig_gc *l;

	snprintf(key, sizeof(key), "%s/%s", g->ns, g->vmi);
	l = wk_map_get(&m->finalized, key);
	if (!l) {
		l = wk_xcalloc(1, sizeof(*l));
		wk_map_put(&m->finalized, key, l);
	}
	char **slot = &l->names[l->next++ % GC_KEEP];
	if (*slot) {
		sim_delete(m, m->r_vmim, g->ns, *slot);
		free(*slot);
	}
	*slot = wk_xstrdup(g->name);
}

void sim_migs_release(struct sim_model *m)
{
	WK_MAP_EACH(e, &m->finalized)
	{
		struct mig_gc *l = e.val;
		for (size_t i = 0; i < GC_KEEP; i++)
			free(l->names[i]);
		free(l);
	}
	wk_map_release(&m->finalized);
}

/* A migration record's own memory (the model's release and the removal below). */
void sim_mig_destroy(struct mmig *g)
{
	free(g->ns);
	free(g->name);
	free(g->key);
	free(g->uid);
	free(g->vmi);
	cJSON_Delete(g->added_sel);
	cJSON_Delete(g->config);
	cJSON_Delete(g->final_state);
	cJSON_Delete(g->host_sel);
	free(g);
}

static void free_mig(struct sim_model *m, struct mmig *g)
{
	if (!g->gone && (g->phase == MIG_SUCCEEDED || g->phase == MIG_FAILED) && g->vmi[0])
		gc_finalized(m, g);
	unlink_mig(m, g);
	wk_map_del(&m->migs, g->key);
	if (g->vm && g->vm->mig == g)
		g->vm->mig = NULL;
	sim_mig_destroy(g);
}

/* Give back the slot, the outbound count and the target reservation. */
static void release(struct sim_model *m, struct mmig *g, bool success)
{
	if (g->phase >= MIG_SCHEDULING && g->phase <= MIG_RUNNING) {
		if (m->mig_active)
			m->mig_active--;
		if (g->src >= 0 && m->nodes[g->src].outbound > 0)
			m->nodes[g->src].outbound--;
	}
	if (!g->vm)
		return;
	if (success) {
		/* The next migration copies the host-model selectors of this pod. */
		if (g->host_sel) {
			cJSON_Delete(g->vm->cpu_sel);
			g->vm->cpu_sel = cJSON_Duplicate(g->host_sel, 1);
		}
		/* The VMI now lives on the target: its reservation becomes its usage. */
		sim_node_usage(m, g->src, g->vm, -1);
		if (g->src >= 0)
			m->nodes[g->src].nvmis--;
		m->nodes[g->dst].nvmis++;
		g->vm->node = g->dst;
	} else if (g->dst >= 0) {
		sim_node_usage(m, g->dst, g->vm, -1);
	}
}

/* The migration becomes final in two steps, as virt-controller's updateStatus
 * (pkg/virt-controller/watch/migration/migration.go) writes it: this reconcile writes only the
 * phase (and a condition); the next one (finalize_second, one model tick later) copies the VMI's
 * migrationState, when this migration was handed over, and then removes the finalizer. Between
 * the two a client sees a final VMIM without migrationState. `state` (consumed) is that copy,
 * or NULL; `cond` a condition type to add. The VMI and its node follow at once. */
static void final_phase(struct sim_model *m, struct mmig *g, bool ok, cJSON *state,
			const char *cond)
{
	struct vmim_w w = {.cond_type = cond};

	release(m, g, ok);
	g->phase = ok ? MIG_SUCCEEDED : MIG_FAILED;
	if (ok)
		m->mig_succeeded++;
	else
		m->mig_failed++;
	vmim_write(m, g, &w);
	cJSON_Delete(g->final_state);
	g->final_state = state;
	g->finalizing = true;
	if (g->vm) {
		struct mvm *vm = g->vm;
		g->vm->mig = NULL;
		g->vm = NULL;
		sim_vm_reconcile(m, vm->ns, vm->name, false);
	}
}

static void finalize_second(struct sim_model *m, struct mmig *g)
{
	if (!g->gone) {
		if (g->final_state) {
			struct vmim_w w = {.state = g->final_state};
			vmim_write(m, g, &w);
		}
		sim_remove_finalizer(m, m->r_vmim, g->ns, g->name, FINALIZER);
	}
	free_mig(m, g);
}

/* After hand-over: virt-handler finalizes the VMI's migrationState (and nodeName) first, and
 * virt-controller derives the VMIM's final phase from it, so a client that sees the VMIM final
 * always reads the VMI already moved (or already marked failed). */
static void finish(struct sim_model *m, struct mmig *g, bool ok, const char *failure,
		   const char *abort_status)
{
	const char *dst = g->dst >= 0 ? m->nodes[g->dst].name : NULL;
	cJSON *state = mig_state(m, g, true, ok, failure, abort_status);

	vmi_mig_write(m, g, cJSON_Duplicate(state, 1), ok ? dst : NULL, false);
	if (ok) {
		sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Normal", "SuccessfulMigration",
			  "Source node reported migration succeeded");
		sim_event(m, m->r_vmi, g->ns, g->vmi, NULL, "Normal", "Migrated",
			  "The VirtualMachineInstance migrated to node %s.", dst);
	} else {
		sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Warning", "FailedMigration",
			  "source node reported migration failed");
	}
	final_phase(m, g, ok, state,
		    g->cancel && !g->cancel_cond ? "migrationAbortRequested" : NULL);
}

/* Before hand-over (no VMI migrationState for this migration yet): the migration just turns
 * Failed. Nothing anywhere gets a failureReason; only Events and phaseTransitionTimestamps tell
 * what happened. `pod_event` is the SuccessfulDelete text for the target pod, if it was
 * deleted. */
static void fail_before_handoff(struct sim_model *m, struct mmig *g, const char *pod_event,
				const char *why, const char *cond)
{
	if (pod_event)
		sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Normal", "SuccessfulDelete", "%s",
			  pod_event);
	sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Warning", "FailedMigration", "%s", why);
	final_phase(m, g, false, NULL, cond);
}

/* Reject what KubeVirt's admission webhook would refuse: fail at once with its message. */
static void fail_fast(struct sim_model *m, struct mmig *g, const char *msg)
{
	g->phase = MIG_FAILED;
	m->mig_failed++;
	vmim_write(m, g, NULL);
	sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Warning", "FailedMigration", "%s", msg);
	sim_remove_finalizer(m, m->r_vmim, g->ns, g->name, FINALIZER);
	free_mig(m, g);
}

/* What KubeVirt's migration-create admitter refuses; -1 with its message
 * (pkg/virt-api/webhooks/validating-webhook/admitters/migration-create-admitter.go). The webhook
 * admits a VMI that is not running yet (upstream's controller then waits for it); the model's
 * reconcile (webhook false) still fails such a migration at once (a simplification). */
static int admit_check(struct sim_model *m, const char *ns, const char *vmi, bool webhook,
		       struct mvm **out, char *msg, size_t msg_size)
{
	struct mvm *vm = vmi && *vmi ? sim_vm_find(m, ns, vmi) : NULL;

	*out = vm;
	msg[0] = 0;
	if (!vmi || !*vmi)
		snprintf(msg, msg_size, "vmiName is missing");
	else if (!vm || vm->phase == VMI_NONE)
		snprintf(msg, msg_size, "the VMI \"%s/%s\" does not exist", ns, vmi);
	else if (vm->phase == VMI_FAILED)
		snprintf(msg, msg_size, "Cannot migrate VMI in finalized state.");
	else if (vm->phase != VMI_RUNNING && !webhook)
		snprintf(msg, msg_size, "Cannot migrate VMI %s: it is not running", vmi);
	else if (vm->phase == VMI_RUNNING && !vm->migratable)
		snprintf(msg, msg_size, "Cannot migrate VMI, Reason: %s, Message: %s", vm->reason,
			 vm->message);
	else if (vm->mig)
		snprintf(msg, msg_size,
			 "in-flight migration detected. Active migration job (%s) is currently "
			 "already in progress for VMI %s.",
			 vm->mig->uid ? vm->mig->uid : vm->mig->name, vmi);
	return msg[0] ? -1 : 0;
}

void sim_mig_admit(struct sim_model *m, const char *ns, const cJSON *obj, char *msg,
		   size_t msg_size)
{
	struct mvm *vm;
	admit_check(m, ns, wk_json_str(obj, "spec.vmiName"), true, &vm, msg, msg_size);
}

void sim_mig_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	char key[600];
	struct mmig *g;
	cJSON *o;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	g = wk_map_get(&m->migs, key);
	o = deleted ? NULL : sim_store_get(m->st, m->r_vmim, ns, name);
	if (!o) {
		/* Gone without our finalizer (deleted before we saw it): stop the work. */
		if (g) {
			g->abort_requested = true;
			g->gone = true;
		}
		return;
	}
	const char *phase = wk_json_str(o, "status.phase");
	if (!g && phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		/* Final: nothing to do but let a deletion through. */
		if (wk_json_path(o, "metadata.deletionTimestamp"))
			sim_remove_finalizer(m, m->r_vmim, ns, name, FINALIZER);
		cJSON_Delete(o);
		return;
	}
	if (g) {
		if (wk_json_path(o, "metadata.deletionTimestamp"))
			g->cancel = true;
		cJSON_Delete(o);
		return;
	}
	g = wk_xcalloc(1, sizeof(*g));
	g->ns = wk_xstrdup(ns);
	g->name = wk_xstrdup(name);
	g->key = wk_xstrdup(key);
	g->uid = wk_xstrdup(wk_json_str(o, "metadata.uid") ? wk_json_str(o, "metadata.uid") : "");
	g->vmi = wk_xstrdup(wk_json_str(o, "spec.vmiName") ? wk_json_str(o, "spec.vmiName") : "");
	const cJSON *sel = wk_json_path(o, "spec.addedNodeSelector");
	g->added_sel = cJSON_IsObject(sel) ? cJSON_Duplicate(sel, 1) : NULL;
	g->seq = ++m->mig_seq;
	g->src = g->dst = -1;
	g->phase = MIG_PENDING;
	g->sched_timeout = 300;
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(wk_json_path(o, "metadata.annotations"),
							    ANN_UNSCHED_TIMEOUT);
	if (cJSON_IsString(ann) && atoi(ann->valuestring) > 0)
		g->sched_timeout = atoi(ann->valuestring);
	bool deleting = wk_json_path(o, "metadata.deletionTimestamp") != NULL;
	cJSON_Delete(o);
	wk_map_put(&m->migs, g->key, g);
	if (m->mig_tail) {
		m->mig_tail->next = g;
		g->prev = m->mig_tail;
	} else {
		m->mig_head = g;
	}
	m->mig_tail = g;

	char msg[700];
	struct mvm *vm = NULL;
	if (admit_check(m, ns, g->vmi, false, &vm, msg, sizeof(msg)) < 0) {
		fail_fast(m, g, msg);
		return;
	}
	g->vm = vm;
	vm->mig = g;
	g->cancel = deleting;
	struct vmim_w w = {.add_finalizer = true};
	vmim_write(m, g, &w);
}

void sim_mig_node_failed(struct sim_model *m, int node)
{
	/* Nothing to do at once: a migration touching a failed node gets no bandwidth (its link
	 * is gone), so it stalls and progressTimeout ends it, as it would in a cluster. */
	(void)m;
	(void)node;
}

/* The target pod's host-model CPU selectors (prepareNodeSelectorForHostCpuModel): copied from
 * the source pod when the VMI migrated before, otherwise taken from the source node's
 * node-labeller labels (its host model becomes a cpu-model-migration label, each required
 * feature a cpu-feature label). NULL when the VMI names its CPU model. */
static cJSON *host_model_selector(struct sim_model *m, struct mmig *g)
{
	const struct mvm *vm = g->vm;
	const cJSON *l;
	if (strcmp(vm->cpu_model, "host-model"))
		return NULL;
	if (vm->cpu_sel)
		return cJSON_Duplicate(vm->cpu_sel, 1);
	cJSON *sel = cJSON_CreateObject();
	char k[200];
	cJSON_ArrayForEach(l, m->nodes[g->src].labels)
	{
		if (!cJSON_IsString(l))
			continue;
		if (!strncmp(l->string, LABEL_HOST_MODEL, strlen(LABEL_HOST_MODEL))) {
			snprintf(k, sizeof(k), "%s%s", LABEL_MIG_MODEL,
				 l->string + strlen(LABEL_HOST_MODEL));
			sim_jset_str(sel, k, l->valuestring);
		} else if (!strncmp(l->string, LABEL_HOST_FEATURE, strlen(LABEL_HOST_FEATURE))) {
			snprintf(k, sizeof(k), "%s%s", LABEL_CPU_FEATURE,
				 l->string + strlen(LABEL_HOST_FEATURE));
			sim_jset_str(sel, k, l->valuestring);
		}
	}
	return sel;
}

static void try_target(struct sim_model *m, struct mmig *g)
{
	char msg[1200];
	if (!g->host_sel)
		g->host_sel = host_model_selector(m, g);
	/* addedNodeSelector first; the host-model labels over it (createTargetPod). */
	cJSON *extra = g->added_sel ? cJSON_Duplicate(g->added_sel, 1) : cJSON_CreateObject();
	const cJSON *e;
	cJSON_ArrayForEach(e, g->host_sel) sim_jset(extra, e->string, cJSON_Duplicate(e, 1));
	int n = sim_node_pick(m, g->vm, extra, g->src, msg, sizeof(msg));
	cJSON_Delete(extra);

	if (n < 0) {
		if (!g->sched_event_sent) {
			/* The scheduler reports on the target pod (which stays Pending); the
			 * migration controller on the VMIM (handlePendingPodTimeout, each
			 * reconcile: here once). */
			sim_event_from(m, &sim_pod_resource, g->ns, g->target_pod, NULL,
				       "default-scheduler", "Warning", "FailedScheduling", "%s",
				       msg);
			sim_event(
			    m, m->r_vmim, g->ns, g->name, g->uid, "Warning",
			    "migrationTargetPodUnschedulable",
			    "Migration target pod for VMI [%s/%s] is currently unschedulable.",
			    g->ns, g->vmi);
			g->sched_event_sent = true;
		}
		g->phase_at = m->now + 2;
		return;
	}
	g->dst = n;
	sim_node_usage(m, n, g->vm, 1);
	g->phase_at = m->now + 1 + sim_rand(m);
}

/* The VMI is gone, stopped or failed, or the VMIM vanished: the migration ends without
 * virt-handler's report (updateStatus: "Migration failed because vmi does not exist." /
 * "Migration failed vmi shutdown during migration."). */
static void interrupt_mig(struct sim_model *m, struct mmig *g)
{
	if (g->gone) {
		release(m, g, false);
		m->mig_failed++;
		free_mig(m, g);
		return;
	}
	fail_before_handoff(m, g, NULL,
			    g->vm ? "Migration failed vmi shutdown during migration."
				  : "Migration failed because vmi does not exist.",
			    NULL);
}

/* A cancel (the VMIM deleted). Before hand-over (Pending, Scheduling, Scheduled) the target pod
 * is deleted and the migration fails at once (handlePreHandoffMigrationCancel). After it
 * (PreparingTarget, TargetReady) the controller only adds the migrationAbortRequested condition
 * and lets the migration go on; once Running it sets the VMI's migrationState.abortRequested
 * (markMigrationAbortInVmiStatus), virt-handler sets abortStatus Aborting and cancels the job:
 * abortStatus Succeeded (the migration fails) or, in post-copy, Failed (it completes). Returns
 * true when g is gone. */
static bool cancel_mig(struct sim_model *m, struct mmig *g)
{
	if (g->phase < MIG_PREPARING) {
		char pe[300] = "";
		if (g->phase >= MIG_SCHEDULING)
			snprintf(pe, sizeof(pe), "migration canceled and pod %s/%s is deleted",
				 g->ns, g->target_pod);
		fail_before_handoff(m, g, pe[0] ? pe : NULL,
				    "Migration failed due to being canceled",
				    "migrationAbortRequested");
		return true;
	}
	if (!g->cancel_cond) {
		struct vmim_w w = {.cond_type = "migrationAbortRequested"};
		g->cancel_cond = true;
		vmim_write(m, g, &w);
	}
	if (g->phase != MIG_RUNNING || g->abort_failed)
		return false;
	switch (g->abort_stage) {
	case 0:
		g->abort_stage = 1;
		g->abort_signalled = true;
		vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, NULL), NULL, true);
		sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Normal",
			  "SuccessfulAbortMigration",
			  "Migration is ready to be canceled by virt-handler.");
		return false;
	case 1:
		g->abort_stage = 2;
		vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, "Aborting"), NULL, true);
		return false;
	default:
		break;
	}
	if (sim_xfer_abort(&g->x)) {
		/* setMigrationResult: 1.9 maps libvirt's "canceled by client" to this text;
		 * earlier versions report "Live migration failed <libvirt error>". */
		finish(m, g, false,
		       m->kv_minor >= 9
			   ? g->x.failure
			   : "Live migration failed operation aborted: migration out job: "
			     "canceled by client",
		       "Succeeded");
		return true;
	}
	/* Post-copy cannot be aborted: abortStatus Failed, the migration goes on. */
	vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, "Failed"), NULL, true);
	g->mode_written = true;
	g->abort_failed = true;
	return false;
}

static void step_running(struct sim_model *m, struct mmig *g, double dt)
{
	const struct mnode *s = &m->nodes[g->src], *d = &m->nodes[g->dst];
	double bw = 0;

	if (!s->failed && !d->failed)
		bw = sim_xfer_bandwidth(s->link, s->nic_users, d->link, d->nic_users,
					(double)g->bw_cap);
	g->x.p.dirty_rate = g->vm->dirty_rate;
	enum sim_xfer_mode before = g->x.mode;
	sim_xfer_step(&g->x, dt, bw);
	if (g->x.state == SIM_XFER_COMPLETED) {
		finish(m, g, true, NULL, g->abort_failed ? "Failed" : NULL);
		return;
	}
	if (g->x.state == SIM_XFER_FAILED) {
		finish(m, g, false, g->x.failure, NULL);
		return;
	}
	if (g->x.mode != before)
		vmi_mig_write(
		    m, g, mig_state(m, g, false, false, NULL, g->abort_failed ? "Failed" : NULL),
		    NULL, true);
}

static void advance(struct sim_model *m, struct mmig *g, double dt)
{
	switch (g->phase) {
	case MIG_NEW:
	case MIG_PENDING:
		if (m->mig_active >= (size_t)m->kv.parallel_cluster)
			return;
		g->src = g->vm->node;
		if (g->src < 0 || m->nodes[g->src].outbound >= m->kv.parallel_node)
			return;
		m->mig_active++;
		m->nodes[g->src].outbound++;
		g->phase = MIG_SCHEDULING;
		g->sched_since = m->now;
		/* The target pod exists from here on (Pending until scheduled). */
		snprintf(g->target_pod, sizeof(g->target_pod), "virt-launcher-%.40s-%05x", g->vmi,
			 (unsigned)(sim_rand(m) * 1048575));
		cJSON *vmi = sim_store_get(m->st, m->r_vmi, g->ns, g->vmi);
		effective_config(m, g, vmi);
		cJSON_Delete(vmi);
		vmim_write(m, g, NULL);
		try_target(m, g);
		return;
	case MIG_SCHEDULING:
		if (g->dst < 0) {
			/* defaultUnschedulablePendingTimeoutSeconds (300 s from the target
			 * pod's creation): the pod is deleted (deleteTimedOutTargetPod), and the
			 * next reconcile finds it gone ("Migration target pod was removed
			 * during active migration.") and only sets phase Failed. */
			if (m->now - g->sched_since >= g->sched_timeout) {
				char pe[300];
				snprintf(pe, sizeof(pe),
					 "unschedulable pod %s/%s timeout period exceeded", g->ns,
					 g->target_pod);
				fail_before_handoff(
				    m, g, pe,
				    "Migration target pod was removed during active migration.",
				    NULL);
				return;
			}
			if (m->now >= g->phase_at)
				try_target(m, g);
			return;
		}
		if (m->now < g->phase_at)
			return;
		g->phase = MIG_SCHEDULED;
		g->phase_at = m->now + 1;
		vmim_write(m, g, NULL);
		return;
	case MIG_SCHEDULED:
		if (m->now < g->phase_at)
			return;
		g->phase = MIG_PREPARING;
		g->phase_at = m->now + 1;
		vmim_write(m, g, NULL);
		vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, NULL), NULL, true);
		return;
	case MIG_PREPARING:
		if (m->now < g->phase_at)
			return;
		g->phase = MIG_TARGET_READY;
		g->phase_at = m->now + 0.5;
		vmim_write(m, g, NULL);
		vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, NULL), NULL, true);
		return;
	case MIG_TARGET_READY:
		if (m->now < g->phase_at)
			return;
		g->phase = MIG_RUNNING;
		g->xfer_started = true;
		g->x.p.dirty_rate = g->vm->dirty_rate;
		vmi_mig_write(m, g, mig_state(m, g, false, false, NULL, NULL), NULL, true);
		vmim_write(m, g, NULL);
		sim_event(m, m->r_vmim, g->ns, g->name, g->uid, "Normal", "Migrating",
			  "VirtualMachineInstance is migrating.");
		return;
	case MIG_RUNNING:
		step_running(m, g, dt);
		return;
	case MIG_SUCCEEDED:
	case MIG_FAILED:
		return;
	}
}

void sim_migs_tick(struct sim_model *m, double dt)
{
	struct mmig *g, *nx;

	for (size_t i = 0; i < m->nnodes; i++)
		m->nodes[i].nic_users = 0;
	for (g = m->mig_head; g; g = g->next)
		if (g->phase == MIG_RUNNING && g->src >= 0 && g->dst >= 0) {
			m->nodes[g->src].nic_users++;
			m->nodes[g->dst].nic_users++;
		}
	for (g = m->mig_head; g; g = nx) {
		nx = g->next;
		/* Each of these may free g and, through sim_vm_reconcile, nothing else. */
		if (g->finalizing) {
			finalize_second(m, g);
			continue;
		}
		if (!g->vm || g->gone || g->vm->phase != VMI_RUNNING ||
		    (g->abort_requested && !g->cancel)) {
			interrupt_mig(m, g);
			continue;
		}
		if (g->cancel && cancel_mig(m, g))
			continue;
		advance(m, g, dt);
	}
}

/* ---- metrics ---- */

static int metric(struct wk_buf *out, const char *name, const char *type, const char *help)
{
	return wk_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int sim_mig_metrics(struct sim_model *m, struct wk_buf *out)
{
	static const struct {
		const char *name, *type, *help;
		int which;
	} ms[] = {
	    {"kubevirt_vmi_migration_data_processed_bytes", "gauge",
	     "The total Guest OS data processed and migrated to the new VM.", 0},
	    {"kubevirt_vmi_migration_data_remaining_bytes", "gauge",
	     "The remaining guest OS data to be migrated to the new VM.", 1},
	    {"kubevirt_vmi_migration_data_bytes_total", "counter",
	     "The total Guest OS data to be migrated to the new VM.", 2},
	    {"kubevirt_vmi_migration_dirty_memory_rate_bytes", "gauge",
	     "The rate of memory being dirty in the Guest OS.", 3},
	    {"kubevirt_vmi_migration_memory_transfer_rate_bytes", "gauge",
	     "The rate at which the memory is being transferred.", 4},
	};
	size_t pending = 0, sched = 0, running = 0;

	wk_buf_reset(out);
	for (size_t i = 0; i < WK_ARRAY_SIZE(ms); i++) {
		if (metric(out, ms[i].name, ms[i].type, ms[i].help) < 0)
			return -1;
		for (struct mmig *g = m->mig_head; g; g = g->next) {
			if (g->phase != MIG_RUNNING || !g->xfer_started || g->src < 0)
				continue;
			double v = 0, rem = sim_xfer_remaining(&g->x);
			switch (ms[i].which) {
			case 0:
				v = g->x.processed;
				break;
			case 1:
				v = rem;
				break;
			case 2:
				v = g->x.processed + rem;
				break;
			case 3:
				v = sim_xfer_dirty_rate(&g->x);
				break;
			default:
				v = g->x.rate;
				break;
			}
			/* Labels as virt-handler's collector sets them; node = the source. */
			if (wk_buf_addf(out, "%s{name=\"%s\",namespace=\"%s\",node=\"%s\"} %.0f\n",
					ms[i].name, g->vmi, g->ns, m->nodes[g->src].name, v) < 0)
				return -1;
		}
	}
	for (struct mmig *g = m->mig_head; g; g = g->next) {
		if (g->phase <= MIG_PENDING)
			pending++;
		else if (g->phase < MIG_RUNNING)
			sched++;
		else if (g->phase == MIG_RUNNING)
			running++;
	}
	if (metric(out, "kubevirt_vmi_migrations_in_pending_phase", "gauge",
		   "Number of current pending migrations.") < 0 ||
	    wk_buf_addf(out, "kubevirt_vmi_migrations_in_pending_phase %zu\n", pending) < 0 ||
	    metric(out, "kubevirt_vmi_migrations_in_scheduling_phase", "gauge",
		   "Number of current scheduling migrations.") < 0 ||
	    wk_buf_addf(out, "kubevirt_vmi_migrations_in_scheduling_phase %zu\n", sched) < 0 ||
	    metric(out, "kubevirt_vmi_migrations_in_running_phase", "gauge",
		   "Number of current running migrations.") < 0 ||
	    wk_buf_addf(out, "kubevirt_vmi_migrations_in_running_phase %zu\n", running) < 0 ||
	    metric(out, "wukong_sim_migrations_finished_total", "counter",
		   "Migrations the simulator finished, by result (simulator only).") < 0 ||
	    wk_buf_addf(out, "wukong_sim_migrations_finished_total{result=\"succeeded\"} %zu\n",
			m->mig_succeeded) < 0 ||
	    wk_buf_addf(out, "wukong_sim_migrations_finished_total{result=\"failed\"} %zu\n",
			m->mig_failed) < 0 ||
	    metric(out, "wukong_sim_time_seconds", "gauge",
		   "Simulated seconds since the simulator started (simulator only).") < 0 ||
	    wk_buf_addf(out, "wukong_sim_time_seconds %.3f\n", m->now) < 0)
		return -1;
	return 0;
}
