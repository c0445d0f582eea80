/* sim_kv.c - the simulated KubeVirt version: definitions, pruning, feature gates, per-version
 * names. See sim_kv.h; upstream sources are cited at each function.
 */
#include "sim_kv.h"

#include "wk_json.h"
#include "wk_log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_MAX_DEPTH 64
#define REF_PREFIX "#/definitions/"

struct sim_kv_defs {
	cJSON *doc;
	const cJSON *defs; /* borrowed from doc */
};

int sim_kv_minor_parse(const char *s)
{
	const char *p;
	char *end;
	long minor;

	if (!s)
		return -1;
	p = s[0] == 'v' ? s + 1 : s;
	if (strncmp(p, "1.", 2) || !(p[2] >= '0' && p[2] <= '9'))
		return -1;
	errno = 0;
	minor = strtol(p + 2, &end, 10);
	if (errno || (*end && strcmp(end, ".0")))
		return -1;
	return minor == 5 || minor == 6 || minor == 9 ? (int)minor : -1;
}

const char *sim_kv_version_tag(int minor)
{
	switch (minor) {
	case 5:
		return "v1.5.0";
	case 6:
		return "v1.6.0";
	case 7:
		return "v1.7.0";
	case 8:
		return "v1.8.0";
	default:
		return "v1.9.0";
	}
}

/* ---- definitions ---- */

struct sim_kv_defs *sim_kv_defs_parse(const char *text, size_t len, char *errstr,
				      size_t errstr_size)
{
	struct sim_kv_defs *d;
	cJSON *doc;
	const cJSON *defs;

	if (!text || len > SIM_KV_MAX_DEFS_BYTES) {
		wk_err(errstr, errstr_size, "KubeVirt definitions: missing or larger than %u bytes",
		       SIM_KV_MAX_DEFS_BYTES);
		return NULL;
	}
	doc = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		wk_err(errstr, errstr_size, "KubeVirt definitions: not a JSON object");
		return NULL;
	}
	defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	if (!defs)
		defs = doc;
	if (!cJSON_IsObject(defs) ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(defs, "v1.VirtualMachine"))) {
		cJSON_Delete(doc);
		wk_err(errstr, errstr_size,
		       "KubeVirt definitions: no \"definitions\" with v1.VirtualMachine");
		return NULL;
	}
	d = wk_xcalloc(1, sizeof(*d));
	d->doc = doc;
	d->defs = defs;
	return d;
}

struct sim_kv_defs *sim_kv_defs_load(const char *dir, int minor, char *errstr, size_t errstr_size)
{
	char path[PATH_MAX];
	struct sim_kv_defs *d;
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/v1.%d.0.json", dir, minor);
	f = fopen(path, "rb");
	if (!f) {
		wk_err(errstr, errstr_size, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (long)SIM_KV_MAX_DEFS_BYTES ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		wk_err(errstr, errstr_size, "'%s': unreadable or larger than %u bytes", path,
		       SIM_KV_MAX_DEFS_BYTES);
		return NULL;
	}
	buf = wk_xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		wk_err(errstr, errstr_size, "cannot read '%s'", path);
		return NULL;
	}
	fclose(f);
	d = sim_kv_defs_parse(buf, (size_t)n, errstr, errstr_size);
	free(buf);
	return d;
}

void sim_kv_defs_free(struct sim_kv_defs *d)
{
	if (!d)
		return;
	cJSON_Delete(d->doc);
	free(d);
}

const char *sim_kv_def_name(const struct sim_resource *res)
{
	static const struct {
		const char *group, *plural, *def;
	} map[] = {
	    {"kubevirt.io", "virtualmachines", "v1.VirtualMachine"},
	    {"kubevirt.io", "virtualmachineinstances", "v1.VirtualMachineInstance"},
	    {"kubevirt.io", "virtualmachineinstancemigrations",
	     "v1.VirtualMachineInstanceMigration"},
	    {"kubevirt.io", "kubevirts", "v1.KubeVirt"},
	    {"migrations.kubevirt.io", "migrationpolicies", "v1alpha1.MigrationPolicy"},
	    {"snapshot.kubevirt.io", "virtualmachinesnapshots", "v1beta1.VirtualMachineSnapshot"},
	    {"snapshot.kubevirt.io", "virtualmachinesnapshotcontents",
	     "v1beta1.VirtualMachineSnapshotContent"},
	    {"snapshot.kubevirt.io", "virtualmachinerestores", "v1beta1.VirtualMachineRestore"},
	    {"clone.kubevirt.io", "virtualmachineclones", "v1beta1.VirtualMachineClone"},
	};

	if (!res || !res->group)
		return NULL;
	for (size_t i = 0; i < WK_ARRAY_SIZE(map); i++)
		if (!strcmp(res->group, map[i].group) && !strcmp(res->plural, map[i].plural))
			return map[i].def;
	return NULL;
}

/* Follow $ref (at most 16 hops: a cycle of refs without properties is not a schema). */
static const cJSON *resolve(const struct sim_kv_defs *d, const cJSON *s)
{
	for (int hops = 0; s && hops < 16; hops++) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");

		if (!cJSON_IsString(ref))
			return s;
		if (strncmp(ref->valuestring, REF_PREFIX, strlen(REF_PREFIX)))
			return NULL;
		s = cJSON_GetObjectItemCaseSensitive(d->defs,
						     ref->valuestring + strlen(REF_PREFIX));
	}
	return NULL;
}

static bool is_object_meta(const cJSON *s)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");

	return cJSON_IsString(ref) && strstr(ref->valuestring, "meta.v1.ObjectMeta");
}

static void note(cJSON *pruned, const char *path, const char *key)
{
	char buf[1024];

	if (!pruned || cJSON_GetArraySize(pruned) >= 256)
		return;
	snprintf(buf, sizeof(buf), "%s%s%s", path, path[0] ? "." : "", key);
	cJSON_AddItemToArray(pruned, cJSON_CreateString(buf));
}

static int prune(const struct sim_kv_defs *d, const cJSON *schema, cJSON *v, const char *path,
		 int depth, cJSON *pruned)
{
	const cJSON *s = resolve(d, schema), *props, *addl, *items, *pres;
	int n = 0;
	char sub[1024];

	if (!s || !v || depth > PRUNE_MAX_DEPTH)
		return 0;
	pres = cJSON_GetObjectItemCaseSensitive(s, "x-kubernetes-preserve-unknown-fields");
	if (cJSON_IsTrue(pres))
		return 0;
	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
	items = cJSON_GetObjectItemCaseSensitive(s, "items");
	if (cJSON_IsObject(v)) {
		cJSON *it = v->child, *next;

		/* An object schema with neither properties nor additionalProperties (RawExtension,
		 * empty marker structs) keeps what it holds. */
		if (!props && !addl)
			return 0;
		for (; it; it = next) {
			const cJSON *ps =
			    props ? cJSON_GetObjectItemCaseSensitive(props, it->string) : NULL;

			next = it->next;
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", it->string);
			if (ps) {
				if (!is_object_meta(ps))
					n += prune(d, ps, it, sub, depth + 1, pruned);
			} else if (cJSON_IsObject(addl)) {
				n += prune(d, addl, it, sub, depth + 1, pruned);
			} else if (!cJSON_IsTrue(addl)) {
				note(pruned, path, it->string);
				cJSON_Delete(cJSON_DetachItemViaPointer(v, it));
				n++;
			}
		}
	} else if (cJSON_IsArray(v) && items) {
		cJSON *it;
		int i = 0;

		cJSON_ArrayForEach(it, v)
		{
			snprintf(sub, sizeof(sub), "%s[%d]", path, i++);
			n += prune(d, items, it, sub, depth + 1, pruned);
		}
	}
	return n;
}

int sim_kv_prune(const struct sim_kv_defs *d, const char *def, cJSON *obj, cJSON *pruned)
{
	const cJSON *s, *props;
	cJSON *it, *next;
	int n = 0;

	if (!d || !def || !cJSON_IsObject(obj))
		return 0;
	s = cJSON_GetObjectItemCaseSensitive(d->defs, def);
	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	if (!props)
		return 0;
	for (it = obj->child; it; it = next) {
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, it->string);

		next = it->next;
		if (!strcmp(it->string, "metadata") || !strcmp(it->string, "apiVersion") ||
		    !strcmp(it->string, "kind"))
			continue;
		if (!ps) {
			note(pruned, "", it->string);
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, it));
			n++;
			continue;
		}
		n += prune(d, ps, it, it->string, 1, pruned);
	}
	return n;
}

void sim_kv_store_pruner(void *opaque, const struct sim_resource *res, cJSON *obj)
{
	const char *def = sim_kv_def_name(res);

	if (def)
		sim_kv_prune(opaque, def, obj, NULL);
}

/* ---- feature gates ---- */

enum gate_state { G_ALPHA, G_BETA, G_GA };

/* States at v1.5.0 / v1.6.0 / v1.9.0 of pkg/virt-config/featuregate/active.go and inactive.go
 * (1.7 and 1.8 as 1.6 for the gates listed here). */
static const struct {
	const char *name;
	signed char st5, st6, st9; /* enum gate_state, -1 = not a gate of that version */
} gates[] = {
    {"Snapshot", G_ALPHA, G_BETA, G_BETA},
    {"VMExport", G_ALPHA, G_BETA, G_GA},
    {"ExpandDisks", G_ALPHA, G_ALPHA, G_GA},
    {"NodeRestriction", G_ALPHA, G_BETA, G_BETA},
    {"DecentralizedLiveMigration", -1, G_ALPHA, G_ALPHA},
    {"LiveMigration", G_GA, G_GA, G_GA},
    {"VMLiveUpdateFeatures", G_GA, G_GA, G_GA},
    {"VolumesUpdateStrategy", G_GA, G_GA, G_GA},
    {"VolumeMigration", G_GA, G_GA, G_GA},
    {"HotplugVolumes", G_ALPHA, G_ALPHA, G_ALPHA},
    {"CPUManager", G_ALPHA, G_ALPHA, G_ALPHA},
};

static bool listed(const cJSON *arr, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, name))
			return true;
	}
	return false;
}

bool sim_kv_gate_enabled(int minor, const cJSON *kv, const char *gate)
{
	const cJSON *dev = wk_json_path(kv, "spec.configuration.developerConfiguration");
	int st = G_ALPHA;

	if (!gate)
		return false;
	for (size_t i = 0; i < WK_ARRAY_SIZE(gates); i++) {
		if (strcmp(gates[i].name, gate))
			continue;
		st = minor <= 5 ? gates[i].st5 : minor <= 8 ? gates[i].st6 : gates[i].st9;
		break;
	}
	/* Gates this table does not know count as Alpha: on only when listed. */
	if (st < 0)
		return false;
	if (st == G_GA)
		return true;
	if (listed(cJSON_GetObjectItemCaseSensitive(dev, "featureGates"), gate))
		return true;
	/* 1.5-1.8: isFeatureGateEnabled returns false past the list; 1.9's IsEnabled turns Beta
	 * gates on unless disabledFeatureGates names them. */
	if (minor < 9)
		return false;
	if (listed(cJSON_GetObjectItemCaseSensitive(dev, "disabledFeatureGates"), gate))
		return false;
	return st == G_BETA;
}

/* ---- per-version names ---- */

const char *sim_kv_quiesce_indication(int minor)
{
	/* staging/src/kubevirt.io/api/snapshot/v1beta1/types.go Indication constants */
	if (minor <= 5)
		return NULL;
	return minor <= 7 ? "QuiesceFailed" : "QuiesceTimeout";
}

bool sim_kv_has_source_indications(int minor)
{
	return minor >= 7;
}

const char *sim_kv_indication_message(int minor, const char *ind)
{
	/* pkg/storage/snapshot/snapshot.go snapshotIndicationMessages (1.7+) */
	static const struct {
		const char *ind, *msg;
	} msgs[] = {
	    {"Online",
	     "Snapshot taken while the VM was running. Consistency depends on guest-agent "
	     "quiescing."},
	    {"GuestAgent", "Guest agent was active and attempted to quiesce the filesystem for "
			   "application consistency."},
	    {"NoGuestAgent", "Guest agent was not available. Snapshot is crash-consistent and may "
			     "not be application-consistent."},
	    {"QuiesceFailed", "Guest agent failed to quiesce the filesystem. Snapshot is "
			      "crash-consistent and may not be application-consistent."},
	    {"QuiesceTimeout", "Guest agent quiesced the filesystem, but the freeze window timed "
			       "out before completion. Snapshot is crash-consistent and may not be "
			       "application-consistent."},
	    {"Paused", "Snapshot taken while the VM was paused. Snapshot is crash-consistent and "
		       "may not be application-consistent."},
	};

	if (!sim_kv_has_source_indications(minor) || !ind)
		return NULL;
	for (size_t i = 0; i < WK_ARRAY_SIZE(msgs); i++)
		if (!strcmp(msgs[i].ind, ind))
			return msgs[i].msg;
	return NULL;
}

const char *sim_kv_iface_not_migratable_message(int minor)
{
	/* pkg/network/vmispec/interface.go VerifyVMIMigratable */
	if (minor >= 9)
		return "cannot migrate VMI which does not use masquerade or a migratable plugin to "
		       "connect to the pod network";
	return "cannot migrate VMI which does not use masquerade, bridge with "
	       "kubevirt.io/allow-pod-bridge-network-live-migration VM annotation or a migratable "
	       "plugin to connect to the pod network";
}

bool sim_kv_disks_checked_first(int minor)
{
	/* pkg/virt-handler/vm.go calculateLiveMigrationCondition */
	return minor <= 5;
}

bool sim_kv_has_added_node_selector(int minor)
{
	return minor >= 6;
}
