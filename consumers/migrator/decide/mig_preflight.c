/* mig_preflight.c - pre-flight checks, resource accounting and MigrationPolicy precedence. */
#include "decide/mig_preflight.h"

#include "wk_kubevirt.h"
#include "wk_quantity.h"

#include "wk_json.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

#define ANN_BRIDGE "kubevirt.io/allow-pod-bridge-network-live-migration"

int mig_check_fail(struct mig_check *c, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wk_vcode_msg(c->reason, sizeof(c->reason), c->message, sizeof(c->message), reason, fmt, ap);
	va_end(ap);
	return -1;
}

bool mig_vmim_phase_final(const char *phase)
{
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

static int64_t qty(const cJSON *v, bool milli)
{
	int64_t out = -1;

	if (cJSON_IsNumber(v)) {
		/* A JSON number may be anything: negative, huge or not finite reads as unknown
		 * (converting an out-of-range double to an integer is undefined). */
		double d = v->valuedouble * (milli ? 1000 : 1);
		return d >= 0 && d < 9e18 ? (int64_t)d : -1;
	}
	if (!cJSON_IsString(v))
		return -1;
	if (milli ? wk_quantity_parse_milli(v->valuestring, &out, NULL, 0) < 0
		  : wk_quantity_parse(v->valuestring, &out, NULL, 0) < 0)
		return -1;
	return out;
}

void mig_vmi_guest(const cJSON *vmi, int64_t *mem, int64_t *cpu)
{
	const cJSON *dom = wk_json_path(vmi, "spec.domain");
	const cJSON *cores = wk_json_path(dom, "cpu.cores"),
		    *sockets = wk_json_path(dom, "cpu.sockets"),
		    *threads = wk_json_path(dom, "cpu.threads");

	*mem = qty(wk_json_path(dom, "memory.guest"), false);
	if (*mem < 0)
		*mem = qty(wk_json_path(dom, "resources.requests.memory"), false);
	if (*mem < 0)
		*mem = 0;
	if (cJSON_IsNumber(cores) && cores->valuedouble >= 1) {
		int64_t n = (int64_t)cores->valuedouble;

		if (cJSON_IsNumber(sockets) && sockets->valuedouble >= 1)
			n *= (int64_t)sockets->valuedouble;
		if (cJSON_IsNumber(threads) && threads->valuedouble >= 1)
			n *= (int64_t)threads->valuedouble;
		*cpu = n * 1000;
	} else {
		*cpu = qty(wk_json_path(dom, "resources.requests.cpu"), true);
		if (*cpu < 0)
			*cpu = 0;
	}
}

/* A topology count: a number in [1, 4096], else 1 (KubeVirt's default; hostile values capped). */
static int64_t topo(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1))
		return 1;
	return v->valuedouble > 4096 ? 4096 : (int64_t)v->valuedouble;
}

void mig_vmi_resources(const cJSON *vmi, const struct wk_kubevirt_info *kv, int64_t *mem,
		       int64_t *cpu)
{
	const int64_t Mi = INT64_C(1) << 20;
	const cJSON *dom = wk_json_path(vmi, "spec.domain");
	int64_t vcpus = topo(wk_json_path(dom, "cpu.cores")) *
			topo(wk_json_path(dom, "cpu.sockets")) *
			topo(wk_json_path(dom, "cpu.threads"));
	int64_t ratio = kv && kv->cpu_allocation_ratio > 0 ? kv->cpu_allocation_ratio : 10;
	bool dedicated = cJSON_IsTrue(wk_json_path(dom, "cpu.dedicatedCpuPlacement"));
	int64_t guest, over;

	if (vcpus > 4096)
		vcpus = 4096;
	if (!dom) {
		*mem = 0;
		*cpu = 0;
		return;
	}
	/* CPU: renderresources.go WithoutDedicatedCPU (vCPUs / ratio, %g or millicores) unless the
	 * VMI asks (Requests() copies the VMI's requests over the calculated ones). */
	*cpu = qty(wk_json_path(dom, "resources.requests.cpu"), true);
	if (*cpu < 0)
		*cpu = dedicated ? vcpus * 1000 : vcpus * 1000 / ratio;
	/* Memory: the guest's request + GetMemoryOverhead (hypervisorbackend.go, x86). */
	guest = qty(wk_json_path(dom, "resources.requests.memory"), false);
	if (guest < 0)
		guest = qty(wk_json_path(dom, "memory.guest"), false);
	if (guest < 0)
		guest = 0;
	over = guest / 512 + 220 * Mi + 8 * Mi * vcpus + 8 * Mi;
	if (!cJSON_IsFalse(wk_json_path(dom, "devices.autoattachGraphicsDevice")))
		over += (kv && kv->version_known && !wk_kubevirt_at_least(kv, 1, 6) ? 16 : 32) * Mi;
	if (dedicated)
		over += 100 * Mi;
	if (cJSON_IsTrue(wk_json_path(dom, "resources.overcommitGuestOverhead")))
		over = 0;
	*mem = guest + over;
	/* The guest-console-log container (serialconsolelog.go): 5m, 35M. */
	if (!cJSON_IsFalse(wk_json_path(dom, "devices.autoattachSerialConsole")) &&
	    !cJSON_IsFalse(wk_json_path(dom, "devices.logSerialConsole"))) {
		*cpu += 5;
		*mem += 35000000;
	}
}

void mig_node_allocatable(const cJSON *node, int64_t *mem, int64_t *cpu)
{
	*mem = qty(wk_json_path(node, "status.allocatable.memory"), false);
	*cpu = qty(wk_json_path(node, "status.allocatable.cpu"), true);
}

bool mig_node_ready(const cJSON *node)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(node, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *s = wk_json_str(c, "status");

		if (t && !strcmp(t, "Ready"))
			return s && !strcmp(s, "True");
	}
	return false;
}

bool mig_node_unschedulable(const cJSON *node, char *why, size_t why_size)
{
	const cJSON *t;

	if (cJSON_IsTrue(wk_json_path(node, "spec.unschedulable"))) {
		snprintf(why, why_size, "it is cordoned (spec.unschedulable)");
		return true;
	}
	cJSON_ArrayForEach(t, wk_json_path(node, "spec.taints"))
	{
		const char *e = wk_json_str(t, "effect"), *k = wk_json_str(t, "key");

		if (e && (!strcmp(e, "NoSchedule") || !strcmp(e, "NoExecute"))) {
			snprintf(why, why_size, "it has the taint '%.128s:%s'", k ? k : "", e);
			return true;
		}
	}
	return false;
}

/* Exact binary quantities as such ("1536Mi"); others (a launcher pod's request with its
 * overhead) to one decimal of the largest unit ("8.3Gi"). */
static void fmt_bytes(int64_t b, char *out, size_t n)
{
	static const char *const unit[] = {"Ki", "Mi", "Gi", "Ti"};
	double v;
	size_t k;

	if (b < 0)
		b = 0;
	if (b % 1024 == 0 || b < 1024) {
		wk_quantity_format_bytes(b, out, n);
		return;
	}
	v = (double)b / 1024;
	for (k = 0; k + 1 < WK_ARRAY_SIZE(unit) && v >= 1024; k++)
		v /= 1024;
	snprintf(out, n, "%.1f%s", v, unit[k]);
}

/* The LiveMigratable condition; false with KubeVirt's reason and message. */
static int check_migratable(const struct mig_facts *f, struct mig_check *c)
{
	const cJSON *cond;

	cJSON_ArrayForEach(cond, wk_json_path(f->vmi, "status.conditions"))
	{
		const char *t = wk_json_str(cond, "type"), *s = wk_json_str(cond, "status");
		const char *r = wk_json_str(cond, "reason"), *m = wk_json_str(cond, "message");

		if (!t || strcmp(t, "LiveMigratable") || !s || strcmp(s, "False"))
			continue;
		if (!r || !*r)
			r = "NotMigratable"; /* upstream's generic reason (api core/v1 types.go) */
		if (!strcmp(r, "InterfaceNotLiveMigratable"))
			return mig_check_fail(
			    c, r,
			    "VMI '%s/%s' is not live-migratable: %s; a bridge binding on "
			    "the pod network can migrate only if the CNI keeps the pod IP "
			    "(e.g. Kube-OVN) and the VM template carries the annotation "
			    "'" ANN_BRIDGE "'",
			    f->ns, f->vm, m ? m : r);
		if (!strcmp(r, "DisksNotLiveMigratable"))
			return mig_check_fail(
			    c, r,
			    "VMI '%s/%s' is not live-migratable: %s; move it stopped instead: "
			    "'--cold --to NODE' on wukongctl migrate (spec.migration.cold: true "
			    "with targetNode)",
			    f->ns, f->vm, m ? m : r);
		return mig_check_fail(c, r, "VMI '%s/%s' is not live-migratable: %s", f->ns, f->vm,
				      m ? m : r);
	}
	return 0;
}

/* ---- placement as kube-scheduler decides it ---- */

/* k8s.io/api/core/v1 Toleration.ToleratesTaint: the effect matches (empty = all), the key
 * matches (empty key with Exists = every key), Exists ignores the value, Equal (or "") needs it. */
static bool tolerates(const cJSON *tols, const char *key, const char *value, const char *effect)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tols)
	{
		const char *k = wk_json_str(t, "key"), *op = wk_json_str(t, "operator"),
			   *v = wk_json_str(t, "value"), *e = wk_json_str(t, "effect");

		if (e && *e && strcmp(e, effect))
			continue;
		if (op && !strcmp(op, "Exists")) {
			if (!k || !*k || !strcmp(k, key))
				return true;
			continue;
		}
		if (op && *op && strcmp(op, "Equal"))
			continue; /* Lt/Gt (newest k8s) do not apply to a string taint here */
		if (!k || strcmp(k, key))
			continue;
		if (!strcmp(v ? v : "", value ? value : ""))
			return true;
	}
	return false;
}

static bool label_is(const cJSON *labels, const char *key, const char *want)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, key);

	return cJSON_IsString(l) && !strcmp(l->valuestring, want);
}

static bool in_values(const cJSON *values, const char *v)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, values)
	{
		if (cJSON_IsString(x) && v && !strcmp(x->valuestring, v))
			return true;
	}
	return false;
}

/* One NodeSelectorRequirement (k8s.io/component-helpers nodeaffinity): In, NotIn, Exists,
 * DoesNotExist, Gt, Lt; against labels, or against the node's name (matchFields). */
static bool req_matches(const cJSON *r, const cJSON *labels, const char *node_name, bool field)
{
	const char *key = wk_json_str(r, "key"), *op = wk_json_str(r, "operator");
	const cJSON *values = wk_json_path(r, "values");
	const char *v;
	const cJSON *l;

	if (!key || !op)
		return false;
	if (field) {
		if (strcmp(key, "metadata.name"))
			return false;
		v = node_name;
	} else {
		l = cJSON_GetObjectItemCaseSensitive(labels, key);
		v = cJSON_IsString(l) ? l->valuestring : NULL;
	}
	if (!strcmp(op, "In"))
		return v && in_values(values, v);
	if (!strcmp(op, "NotIn"))
		return !v || !in_values(values, v);
	if (!strcmp(op, "Exists"))
		return v != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return v == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		const cJSON *x = cJSON_GetArrayItem(values, 0);
		char *end1, *end2;
		long long a, b;

		if (!v || !cJSON_IsString(x) || cJSON_GetArraySize(values) != 1)
			return false;
		a = strtoll(v, &end1, 10);
		b = strtoll(x->valuestring, &end2, 10);
		if (*end1 || *end2 || !*v || !*x->valuestring)
			return false;
		return !strcmp(op, "Gt") ? a > b : a < b;
	}
	return false;
}

bool mig_node_matches_terms(const cJSON *terms, const cJSON *node, const char *node_name)
{
	const cJSON *labels = wk_json_path(node, "metadata.labels"), *t;

	if (!cJSON_IsArray(terms))
		return true;
	cJSON_ArrayForEach(t, terms)
	{
		const cJSON *me = wk_json_path(t, "matchExpressions"),
			    *mf = wk_json_path(t, "matchFields"), *r;
		bool ok = cJSON_GetArraySize(me) + cJSON_GetArraySize(mf) > 0;

		cJSON_ArrayForEach(r, me) ok = ok && req_matches(r, labels, node_name, false);
		cJSON_ArrayForEach(r, mf) ok = ok && req_matches(r, labels, node_name, true);
		if (ok)
			return true;
	}
	return false;
}

/* requiredDuringSchedulingIgnoredDuringExecution: any term matches (a term: all of its
 * requirements; an empty term matches nothing). No affinity: true. */
static bool affinity_matches(const cJSON *spec, const cJSON *node, const char *node_name)
{
	return mig_node_matches_terms(
	    wk_json_path(spec,
			 "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
			 "nodeSelectorTerms"),
	    node, node_name);
}

int mig_pv_check(const cJSON *pv, const char *claim, const cJSON *node, const char *node_name,
		 struct mig_check *c)
{
	const cJSON *terms = wk_json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");

	if (!pv || !cJSON_IsArray(terms) || mig_node_matches_terms(terms, node, node_name))
		return 0;
	return mig_check_fail(
	    c, "TargetNodeVolumeAffinityMismatch",
	    "the VM's volume '%.200s' is on PersistentVolume '%.200s', which is "
	    "reachable only from other nodes (its spec.nodeAffinity, local "
	    "storage): the VM cannot start on node '%s' unless its data moves",
	    claim ? claim : "",
	    wk_json_str(pv, "metadata.name") ? wk_json_str(pv, "metadata.name") : "", node_name);
}

int mig_place_check(const cJSON *node, const char *node_name, const cJSON *spec,
		    const char *skip_key, const cJSON *source_node, struct mig_check *c)
{
	const cJSON *labels = wk_json_path(node, "metadata.labels"), *t, *sel;
	const cJSON *tols = wk_json_path(spec, "tolerations");
	const char *model = wk_json_str(spec, "domain.cpu.model");
	const cJSON *sched = cJSON_GetObjectItemCaseSensitive(labels, "kubevirt.io/schedulable");
	char key[320];

	if (!label_is(labels, "kubevirt.io/schedulable", "true"))
		return mig_check_fail(
		    c, "TargetNodeNotSchedulableForVMs",
		    "target node '%s' does not take VMs: its label kubevirt.io/schedulable is "
		    "'%s' (KubeVirt places VMs only on nodes where virt-handler runs and its "
		    "heartbeat is recent)",
		    node_name, cJSON_IsString(sched) ? sched->valuestring : "(none)");
	if (cJSON_IsTrue(wk_json_path(node, "spec.unschedulable")) &&
	    !tolerates(tols, "node.kubernetes.io/unschedulable", "", "NoSchedule"))
		return mig_check_fail(c, "TargetNodeUnschedulable",
				      "target node '%s' is unschedulable: it is cordoned "
				      "(spec.unschedulable)",
				      node_name);
	cJSON_ArrayForEach(t, wk_json_path(node, "spec.taints"))
	{
		const char *e = wk_json_str(t, "effect"), *k = wk_json_str(t, "key"),
			   *v = wk_json_str(t, "value");

		if (!e || (strcmp(e, "NoSchedule") && strcmp(e, "NoExecute")))
			continue; /* PreferNoSchedule only scores */
		if (!tolerates(tols, k ? k : "", v ? v : "", e))
			return mig_check_fail(c, "TargetNodeUnschedulable",
					      "target node '%s' is unschedulable: it has the taint "
					      "'%.128s%s%.128s:%s' that the VM does not tolerate",
					      node_name, k ? k : "", v && *v ? "=" : "", v ? v : "",
					      e);
	}
	cJSON_ArrayForEach(sel, wk_json_path(spec, "nodeSelector"))
	{
		if (!cJSON_IsString(sel) || (skip_key && !strcmp(sel->string, skip_key)))
			continue;
		if (!label_is(labels, sel->string, sel->valuestring))
			return mig_check_fail(
			    c, "TargetNodeSelectorMismatch",
			    "target node '%s' does not match the VM's nodeSelector "
			    "'%.128s=%.128s'",
			    node_name, sel->string, sel->valuestring);
	}
	if (!affinity_matches(spec, node, node_name))
		return mig_check_fail(c, "TargetNodeAffinityMismatch",
				      "target node '%s' does not satisfy the VM's required node "
				      "affinity (spec.affinity.nodeAffinity)",
				      node_name);
	if (model && *model && strcmp(model, "host-model") && strcmp(model, "host-passthrough")) {
		snprintf(key, sizeof(key), "cpu-model.node.kubevirt.io/%.200s", model);
		if (!label_is(labels, key, "true"))
			return mig_check_fail(
			    c, "TargetNodeCPUMismatch",
			    "target node '%s' cannot run the VM's CPU model '%.100s' "
			    "(no label %s=true)",
			    node_name, model, key);
	}
	cJSON_ArrayForEach(t, wk_json_path(spec, "domain.cpu.features"))
	{
		const char *n = wk_json_str(t, "name"), *pol = wk_json_str(t, "policy");

		if (!n || (pol && *pol && strcmp(pol, "require")))
			continue;
		snprintf(key, sizeof(key), "cpu-feature.node.kubevirt.io/%.200s", n);
		if (!label_is(labels, key, "true"))
			return mig_check_fail(
			    c, "TargetNodeCPUMismatch",
			    "target node '%s' lacks the CPU feature '%.100s' the VM "
			    "requires (no label %s=true)",
			    node_name, n, key);
	}
	if (source_node && (!model || !*model || !strcmp(model, "host-model"))) {
		/* migration.go prepareNodeSelectorForHostCpuModel: the source's host model and its
		 * required features become the target pod's selector. */
		const cJSON *l;
		static const char hm[] = "host-model-cpu.node.kubevirt.io/",
				  hf[] = "host-model-required-features.node.kubevirt.io/";

		cJSON_ArrayForEach(l, wk_json_path(source_node, "metadata.labels"))
		{
			const char *want = NULL, *name = NULL;

			if (!strncmp(l->string, hm, sizeof(hm) - 1)) {
				name = l->string + sizeof(hm) - 1;
				snprintf(key, sizeof(key),
					 "cpu-model-migration.node.kubevirt.io/%.200s", name);
				want = key;
			} else if (!strncmp(l->string, hf, sizeof(hf) - 1)) {
				name = l->string + sizeof(hf) - 1;
				snprintf(key, sizeof(key), "cpu-feature.node.kubevirt.io/%.200s",
					 name);
				want = key;
			}
			if (want && !label_is(labels, want, "true"))
				return mig_check_fail(
				    c, "TargetNodeCPUMismatch",
				    "target node '%s' cannot take the VM's host-model CPU from its "
				    "source node (no label %s=true)",
				    node_name, want);
		}
	}
	return 0;
}

int mig_preflight(const struct mig_facts *f, struct mig_check *c)
{
	const char *phase, *src;
	int64_t mem, cpu;

	memset(c, 0, sizeof(*c));
	if (!f->vmi)
		return mig_check_fail(
		    c, "VMINotFound",
		    "VirtualMachineInstance '%s/%s' does not exist: the VM is not running", f->ns,
		    f->vm);
	phase = wk_json_str(f->vmi, "status.phase");
	if (wk_json_path(f->vmi, "metadata.deletionTimestamp"))
		return mig_check_fail(c, "VMINotRunning", "VMI '%s/%s' is being deleted", f->ns,
				      f->vm);
	if (!phase || strcmp(phase, "Running"))
		return mig_check_fail(c, "VMINotRunning",
				      "VMI '%s/%s' is in phase '%s', not Running", f->ns, f->vm,
				      phase && *phase ? phase : "(none)");
	/* Before whether it could move: a VM already where it is asked to be need not move (a
	 * spec.migration then ends AlreadyOnTarget, mig_live.c). */
	src = wk_json_str(f->vmi, "status.nodeName");
	if (f->target_name && *f->target_name && src && !strcmp(src, f->target_name) &&
	    !f->inflight_vmim)
		return mig_check_fail(c, "TargetIsSourceNode",
				      "VMI '%s/%s' already runs on node '%s'; pick another target",
				      f->ns, f->vm, f->target_name);
	if (check_migratable(f, c) < 0)
		return -1;
	if (f->inflight_vmim)
		return mig_check_fail(
		    c, "MigrationInFlight",
		    "migration '%s' (phase %s) is already in flight for VMI '%s/%s'",
		    f->inflight_vmim, f->inflight_phase ? f->inflight_phase : "unset", f->ns,
		    f->vm);
	if (!f->target_name || !*f->target_name)
		return 0;
	if (!mig_kv_can_target(f->kv))
		return mig_check_fail(
		    c, "TargetedMigrationUnsupported",
		    "KubeVirt %s cannot send a migration to a chosen node: "
		    "VirtualMachineInstanceMigration spec.addedNodeSelector exists from v1.6.0 "
		    "(this version prunes it and the scheduler picks any node); ask without a "
		    "target node, or upgrade KubeVirt",
		    wk_kubevirt_version_str(f->kv));
	if (!f->target_node)
		return mig_check_fail(c, "TargetNodeNotFound", "target node '%s' does not exist",
				      f->target_name);
	if (!mig_node_ready(f->target_node))
		return mig_check_fail(c, "TargetNodeNotReady", "target node '%s' is not Ready",
				      f->target_name);
	if (mig_place_check(f->target_node, f->target_name, wk_json_path(f->vmi, "spec"), NULL,
			    f->source_node, c) < 0)
		return -1;
	mig_vmi_resources(f->vmi, f->kv, &mem, &cpu);
	return mig_check_room(c, f->target_name, f->target_node, f->target_used_mem,
			      f->target_used_cpu_milli, mem, cpu);
}

bool mig_vmi_migrating(const cJSON *vmi)
{
	const cJSON *ms = wk_json_path(vmi, "status.migrationState");
	const char *start = wk_json_str(ms, "startTimestamp"),
		   *end = wk_json_str(ms, "endTimestamp");

	return start && *start && !(end && *end);
}

void mig_rollout_note(const struct wk_kubevirt_info *kv, char *out, size_t n)
{
	if (n)
		out[0] = '\0';
	if (kv && kv->rollout == WK_KV_ROLLOUT_STAGE)
		snprintf(
		    out, n,
		    "; KubeVirt %s rolls VM changes out with vmRolloutStrategy Stage, so the VM "
		    "shows RestartRequired for the restored nodeSelector until its next restart "
		    "(nothing else changes)",
		    wk_kubevirt_version_str(kv));
}

bool mig_kv_can_target(const struct wk_kubevirt_info *kv)
{
	return !kv || !kv->version_known || wk_kubevirt_at_least(kv, 1, 6);
}

int mig_check_room(struct mig_check *c, const char *node_name, const cJSON *node, int64_t used_mem,
		   int64_t used_cpu_milli, int64_t mem, int64_t cpu_milli)
{
	int64_t amem, acpu;
	char a[32], b[32];

	mig_node_allocatable(node, &amem, &acpu);
	if (amem >= 0 && amem - used_mem < mem) {
		fmt_bytes(amem - used_mem, a, sizeof(a));
		fmt_bytes(mem, b, sizeof(b));
		return mig_check_fail(c, "TargetNodeInsufficientMemory",
				      "node '%s' has %s free memory, the VM needs %s", node_name, a,
				      b);
	}
	if (acpu >= 0 && acpu - used_cpu_milli < cpu_milli) {
		wk_quantity_format_milli(acpu - used_cpu_milli < 0 ? 0 : acpu - used_cpu_milli, a,
					 sizeof(a));
		wk_quantity_format_milli(cpu_milli, b, sizeof(b));
		return mig_check_fail(c, "TargetNodeInsufficientCPU",
				      "node '%s' has %s free CPU, the VM needs %s", node_name, a,
				      b);
	}
	return 0;
}

/* ---- MigrationPolicy ---- */

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

const char *mig_policy_winner(const cJSON *policies, const cJSON *vmi_labels,
			      const cJSON *ns_labels)
{
	const cJSON *p;
	const char *best = NULL;
	int best_total = -1, best_vmi = -1;

	cJSON_ArrayForEach(p, policies)
	{
		const char *name = wk_json_str(p, "metadata.name");
		int nv, nn;

		if (!name ||
		    !count_match(wk_json_path(p, "spec.selectors.virtualMachineInstanceSelector"),
				 vmi_labels, &nv) ||
		    !count_match(wk_json_path(p, "spec.selectors.namespaceSelector"), ns_labels,
				 &nn))
			continue;
		if (nv + nn > best_total || (nv + nn == best_total && nv > best_vmi) ||
		    (nv + nn == best_total && nv == best_vmi && strcmp(name, best) < 0)) {
			best = name;
			best_total = nv + nn;
			best_vmi = nv;
		}
	}
	return best;
}

cJSON *mig_policy_vmi_selector(const cJSON *vmi_labels)
{
	static const char *const volatile_keys[] = {"kubevirt.io/nodeName",
						    "kubevirt.io/migrationTargetNodeName",
						    "kubevirt.io/outdatedLauncherImage", NULL};
	cJSON *out = cJSON_CreateObject();
	const cJSON *l;

	cJSON_ArrayForEach(l, vmi_labels)
	{
		size_t i;
		bool skip = !cJSON_IsString(l);

		for (i = 0; volatile_keys[i] && !skip; i++)
			skip = !strcmp(l->string, volatile_keys[i]);
		if (!skip)
			cJSON_AddStringToObject(out, l->string, l->valuestring);
	}
	return out;
}
