/* wk_kubevirt.c - parsing the KubeVirt CR; see wk_kubevirt.h for the upstream files it follows. */
#include "wk_kubevirt.h"

#include <ctype.h>
#include <errno.h>

#include <cjson/cJSON.h>

#include "wk_json.h"
#include "wk_quantity.h"

enum kv_state { KV_ABSENT = 0, KV_ALPHA, KV_BETA, KV_GA };

/* Gate states at v1.5 .. v1.9 (pkg/virt-config/featuregate/active.go and inactive.go at each tag).
 * A version newer than the table reads the last column. */
#define KV_FIRST_MINOR 5
#define KV_LAST_MINOR 9
static const struct kv_gate {
	const char *name;
	enum kv_state state[KV_LAST_MINOR - KV_FIRST_MINOR + 1];
} kv_gates[] = {
    {"Snapshot", {KV_ALPHA, KV_BETA, KV_BETA, KV_BETA, KV_BETA}},
    {"VMExport", {KV_ALPHA, KV_BETA, KV_BETA, KV_BETA, KV_GA}},
    {"DecentralizedLiveMigration", {KV_ABSENT, KV_ALPHA, KV_ALPHA, KV_ALPHA, KV_ALPHA}},
    {"VolumeMigration", {KV_GA, KV_GA, KV_GA, KV_GA, KV_GA}},
    {"VolumesUpdateStrategy", {KV_GA, KV_GA, KV_GA, KV_GA, KV_GA}},
    {"VMLiveUpdateFeatures", {KV_GA, KV_GA, KV_GA, KV_GA, KV_GA}},
    {"LiveMigration", {KV_GA, KV_GA, KV_GA, KV_GA, KV_GA}},
    {"ExpandDisks", {KV_ALPHA, KV_ALPHA, KV_ALPHA, KV_ALPHA, KV_GA}},
    {"NodeRestriction", {KV_ALPHA, KV_BETA, KV_BETA, KV_BETA, KV_BETA}},
};

void wk_kubevirt_info_init(struct wk_kubevirt_info *out)
{
	memset(out, 0, sizeof(*out));
	out->cpu_allocation_ratio = 10;		  /* DefaultCPUAllocationRatio */
	out->rollout = WK_KV_ROLLOUT_LIVE_UPDATE; /* the default of every version since 1.6 */
	out->migrations.parallel_per_cluster = 5;
	out->migrations.parallel_outbound_per_node = 2;
	out->migrations.bandwidth_per_migration = 0;
	out->migrations.completion_timeout_per_gib = 150;
	out->migrations.progress_timeout = 150;
}

static bool kv_num(const char **p, int *v)
{
	long n = 0;

	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p)) {
		n = n * 10 + (**p - '0');
		if (n > 100000)
			return false;
		(*p)++;
	}
	*v = (int)n;
	return true;
}

bool wk_kubevirt_parse_version(const char *s, int *major, int *minor, int *patch)
{
	int ma = 0, mi = 0, pa = 0;

	if (!s)
		return false;
	if (*s == 'v' || *s == 'V')
		s++;
	if (!kv_num(&s, &ma) || *s != '.')
		return false;
	s++;
	if (!kv_num(&s, &mi))
		return false;
	if (*s == '.') {
		s++;
		if (!kv_num(&s, &pa))
			return false;
	}
	/* "-rc.1", "+build": a pre-release of that minor still has its API */
	if (*s && *s != '-' && *s != '+')
		return false;
	*major = ma;
	*minor = mi;
	*patch = pa;
	return true;
}

static int kv_gate_list(const cJSON *arr, char (*dst)[WK_KUBEVIRT_GATE_LEN], size_t *n,
			const char *what, char *errstr, size_t errstr_size)
{
	const cJSON *g;

	*n = 0;
	if (!cJSON_IsArray(arr))
		return 0;
	if (cJSON_GetArraySize(arr) > WK_KUBEVIRT_MAX_GATES)
		return wk_err(errstr, errstr_size, "kubevirt: more than %d names in %s",
			      WK_KUBEVIRT_MAX_GATES, what);
	cJSON_ArrayForEach(g, arr)
	{
		if (!cJSON_IsString(g) || strlen(g->valuestring) >= WK_KUBEVIRT_GATE_LEN)
			continue;
		wk_strlcpy(dst[*n], g->valuestring, WK_KUBEVIRT_GATE_LEN);
		(*n)++;
	}
	return 0;
}

/* A non-negative integer at path, or def (also for fractions, negatives and absurd values). */
static int64_t kv_int(const cJSON *o, const char *path, int64_t def, int64_t min)
{
	const cJSON *v = wk_json_path(o, path);

	/* The range before the conversion: out of range, (int64_t) is undefined (issue 22). */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)min) || !(v->valuedouble <= 1e15) ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return def;
	return (int64_t)v->valuedouble;
}

static bool kv_bool(const cJSON *o, const char *path, bool def)
{
	const cJSON *v = wk_json_path(o, path);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

int wk_kubevirt_parse(const struct cJSON *kv, struct wk_kubevirt_info *out, char *errstr,
		      size_t errstr_size)
{
	const cJSON *dev, *mig, *bw;
	const char *ver, *rs, *ns;

	wk_kubevirt_info_init(out);
	if (!cJSON_IsObject(kv))
		return wk_err(errstr, errstr_size,
			      "kubevirt: the KubeVirt resource is not an object");

	out->found = true;
	ns = wk_json_str(kv, "metadata.namespace");
	if (ns && strlen(ns) < sizeof(out->namespace))
		wk_strlcpy(out->namespace, ns, sizeof(out->namespace));
	ver = wk_json_str(kv, "status.observedKubeVirtVersion");
	if (ver && strlen(ver) < sizeof(out->version)) {
		wk_strlcpy(out->version, ver, sizeof(out->version));
		out->version_known =
		    wk_kubevirt_parse_version(ver, &out->major, &out->minor, &out->patch);
	}

	dev = wk_json_path(kv, "spec.configuration.developerConfiguration");
	if (kv_gate_list(wk_json_path(dev, "featureGates"), out->gates, &out->n_gates,
			 "featureGates", errstr, errstr_size) < 0 ||
	    kv_gate_list(wk_json_path(dev, "disabledFeatureGates"), out->disabled, &out->n_disabled,
			 "disabledFeatureGates", errstr, errstr_size) < 0) {
		wk_kubevirt_info_init(out);
		return -1;
	}
	out->cpu_allocation_ratio = kv_int(dev, "cpuAllocationRatio", 10, 1);

	/* IsVMRolloutStrategyLiveUpdate: 1.5 needs it set to LiveUpdate; 1.6+ treats unset as
	 * LiveUpdate */
	out->rollout = (out->version_known && out->major == 1 && out->minor < 6)
			   ? WK_KV_ROLLOUT_STAGE
			   : WK_KV_ROLLOUT_LIVE_UPDATE;
	rs = wk_json_str(kv, "spec.configuration.vmRolloutStrategy");
	if (rs && !strcmp(rs, "Stage")) {
		out->rollout = WK_KV_ROLLOUT_STAGE;
		out->rollout_explicit = true;
	} else if (rs && !strcmp(rs, "LiveUpdate")) {
		out->rollout = WK_KV_ROLLOUT_LIVE_UPDATE;
		out->rollout_explicit = true;
	}

	mig = wk_json_path(kv, "spec.configuration.migrations");
	out->migrations.parallel_per_cluster = kv_int(mig, "parallelMigrationsPerCluster", 5, 1);
	out->migrations.parallel_outbound_per_node =
	    kv_int(mig, "parallelOutboundMigrationsPerNode", 2, 1);
	out->migrations.completion_timeout_per_gib = kv_int(mig, "completionTimeoutPerGiB", 150, 0);
	out->migrations.progress_timeout = kv_int(mig, "progressTimeout", 150, 0);
	out->migrations.allow_post_copy = kv_bool(mig, "allowPostCopy", false);
	out->migrations.allow_auto_converge = kv_bool(mig, "allowAutoConverge", false);
	out->migrations.unsafe_migration_override = kv_bool(mig, "unsafeMigrationOverride", false);
	bw = wk_json_path(mig, "bandwidthPerMigration");
	if (cJSON_IsString(bw)) {
		int64_t v;

		if (wk_quantity_parse(bw->valuestring, &v, NULL, 0) == 0 && v >= 0)
			out->migrations.bandwidth_per_migration = v;
	} else if (cJSON_IsNumber(bw) && bw->valuedouble >= 0 && bw->valuedouble < 1e18) {
		out->migrations.bandwidth_per_migration = (int64_t)bw->valuedouble;
	}
	return 0;
}

bool wk_kubevirt_at_least(const struct wk_kubevirt_info *kv, int major, int minor)
{
	if (!kv || !kv->version_known)
		return false;
	return kv->major > major || (kv->major == major && kv->minor >= minor);
}

static bool kv_listed(const char (*list)[WK_KUBEVIRT_GATE_LEN], size_t n, const char *gate)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], gate))
			return true;
	return false;
}

static const struct kv_gate *kv_gate_find(const char *gate)
{
	for (size_t i = 0; i < WK_ARRAY_SIZE(kv_gates); i++)
		if (!strcmp(kv_gates[i].name, gate))
			return &kv_gates[i];
	return NULL;
}

/* The gate's state at this version; KV_ABSENT also for gates outside the table. */
static enum kv_state kv_gate_state(const struct wk_kubevirt_info *kv, const struct kv_gate *g)
{
	int col;

	if (!g)
		return KV_ABSENT;
	if (!kv->version_known) /* only what has been GA since the oldest version we know */
		return g->state[0] == KV_GA ? KV_GA : KV_ABSENT;
	if (kv->major < 1 || (kv->major == 1 && kv->minor < KV_FIRST_MINOR))
		col = 0;
	else if (kv->major > 1 || kv->minor > KV_LAST_MINOR)
		col = KV_LAST_MINOR - KV_FIRST_MINOR;
	else
		col = kv->minor - KV_FIRST_MINOR;
	return g->state[col];
}

bool wk_kubevirt_gate(const struct wk_kubevirt_info *kv, const char *gate)
{
	const struct kv_gate *g;
	enum kv_state st;

	if (!kv || !gate)
		return false;
	g = kv_gate_find(gate);
	st = kv_gate_state(kv, g);
	if (st == KV_GA)
		return true;
	if (g && st == KV_ABSENT && kv->version_known)
		return false; /* this version does not know the gate: listing it does nothing */
	if (kv_listed(kv->gates, kv->n_gates, gate))
		return true;
	if (wk_kubevirt_at_least(kv, 1, 9)) {
		if (kv_listed(kv->disabled, kv->n_disabled, gate))
			return false;
		return st == KV_BETA;
	}
	return false;
}

const char *wk_kubevirt_version_str(const struct wk_kubevirt_info *kv)
{
	if (!kv || !kv->version[0])
		return "an unknown version";
	return kv->version;
}

void wk_kubevirt_gate_reason(const struct wk_kubevirt_info *kv, const char *gate, char *out,
			     size_t out_size)
{
	const struct kv_gate *g = kv_gate_find(gate);

	if (g && kv && kv->version_known && kv_gate_state(kv, g) == KV_ABSENT)
		snprintf(out, out_size, "KubeVirt %s has no feature gate \"%s\"",
			 wk_kubevirt_version_str(kv), gate);
	else if (wk_kubevirt_at_least(kv, 1, 9) && kv_listed(kv->disabled, kv->n_disabled, gate))
		snprintf(out, out_size,
			 "KubeVirt %s: feature gate \"%s\" is disabled (remove it from "
			 "spec.configuration.developerConfiguration.disabledFeatureGates of the "
			 "KubeVirt CR)",
			 wk_kubevirt_version_str(kv), gate);
	else
		snprintf(
		    out, out_size,
		    "KubeVirt %s: feature gate \"%s\" is not enabled (list it in "
		    "spec.configuration.developerConfiguration.featureGates of the KubeVirt CR)",
		    wk_kubevirt_version_str(kv), gate);
}
