/* mig_preflight.c - pre-flight checks, resource accounting and MigrationPolicy precedence. */
#include "decide/mig_preflight.h"

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

void mig_vmi_resources(const cJSON *vmi, int64_t *mem, int64_t *cpu)
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

static void fmt_bytes(int64_t b, char *out, size_t n)
{
	wk_quantity_format_bytes(b < 0 ? 0 : b, out, n);
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
			r = "NotLiveMigratable";
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
			    "VMI '%s/%s' is not live-migratable: %s; live migration needs "
			    "every PVC to be ReadWriteMany (shared storage); use a cold "
			    "migration instead",
			    f->ns, f->vm, m ? m : r);
		return mig_check_fail(c, r, "VMI '%s/%s' is not live-migratable: %s", f->ns, f->vm,
				      m ? m : r);
	}
	return 0;
}

/* The VMI's own nodeSelector wins over addedNodeSelector (KubeVirt copies it on top), so a
 * target that does not carry those labels could never be chosen. */
static int check_selector(const struct mig_facts *f, struct mig_check *c)
{
	const cJSON *sel, *labels = wk_json_path(f->target_node, "metadata.labels");

	cJSON_ArrayForEach(sel, wk_json_path(f->vmi, "spec.nodeSelector"))
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, sel->string);

		if (!cJSON_IsString(sel))
			continue;
		if (!cJSON_IsString(l) || strcmp(l->valuestring, sel->valuestring))
			return mig_check_fail(
			    c, "TargetNodeSelectorMismatch",
			    "target node '%s' does not match the VM's nodeSelector "
			    "'%.128s=%.128s'",
			    f->target_name, sel->string, sel->valuestring);
	}
	return 0;
}

int mig_preflight(const struct mig_facts *f, struct mig_check *c)
{
	const char *phase, *src;
	char why[256];
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
	src = wk_json_str(f->vmi, "status.nodeName");
	if (src && !strcmp(src, f->target_name))
		return mig_check_fail(c, "TargetIsSourceNode",
				      "VMI '%s/%s' already runs on node '%s'; pick another target",
				      f->ns, f->vm, f->target_name);
	if (!f->target_node)
		return mig_check_fail(c, "TargetNodeNotFound", "target node '%s' does not exist",
				      f->target_name);
	if (!mig_node_ready(f->target_node))
		return mig_check_fail(c, "TargetNodeNotReady", "target node '%s' is not Ready",
				      f->target_name);
	if (mig_node_unschedulable(f->target_node, why, sizeof(why)))
		return mig_check_fail(c, "TargetNodeUnschedulable",
				      "target node '%s' is unschedulable: %s", f->target_name, why);
	if (check_selector(f, c) < 0)
		return -1;
	mig_vmi_resources(f->vmi, &mem, &cpu);
	return mig_check_room(c, f->target_name, f->target_node, f->target_used_mem,
			      f->target_used_cpu_milli, mem, cpu);
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
