/* mig_drain.c - drain submissions, migrationPolicy, maintenance and eligibility (mig_drain.h). */
#include "decide/mig_drain.h"

#include "decide/mig_preflight.h"

#include "wk_json.h"
#include "wk_name.h"
#include "wk_selector.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

/* Fill the verdict v; -1. */
#define verdict(v, c, ...)                                                                         \
	wk_code_msg((v)->code, sizeof((v)->code), (v)->message, sizeof((v)->message), (c),         \
		    __VA_ARGS__)

/* kind: 'l' DNS-1123 label, 's' subdomain, 't' free text (no NUL, capped). */
static int str_field(const cJSON *root, const char *k, bool required, char kind, char *out,
		     size_t out_size, struct mig_verdict *v)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, k);

	out[0] = '\0';
	if (!f) {
		if (required)
			return verdict(v, "SchemaViolation", "field '%s' is required", k);
		return 0;
	}
	if (!cJSON_IsString(f))
		return verdict(v, "SchemaViolation", "field '%s' must be a string", k);
	if (strlen(f->valuestring) >= out_size)
		return verdict(v, kind == 't' ? "RequestTooLarge" : "InvalidName",
			       "field '%s' is longer than %zu characters", k, out_size - 1);
	if ((kind == 'l' && !wk_name_is_dns1123_label(f->valuestring)) ||
	    (kind == 's' && !wk_name_is_dns1123_subdomain(f->valuestring)))
		return verdict(v, "InvalidName", "field '%s': invalid name '%.100s'", k,
			       f->valuestring);
	wk_strlcpy(out, f->valuestring, out_size);
	return 0;
}

int mig_parse_drain(const char *data, size_t len, struct mig_drain_req *out, struct mig_verdict *v)
{
	static const char *const allowed[] = {"requestId", "cluster", "node",	   "dryRun",
					      "tenant",	   "reason",  "expiresAt", NULL};
	cJSON *root = NULL;
	const cJSON *f;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(v, 0, sizeof(*v));
	if (!data || len == 0)
		return verdict(v, "MalformedRequest", "empty submission");
	if (len > MIG_SUBMISSION_MAX)
		return verdict(v, "RequestTooLarge", "submission of %zu bytes exceeds the %d-byte cap",
			       len, MIG_SUBMISSION_MAX);
	if (memchr(data, '\0', len))
		return verdict(v, "MalformedRequest", "submission contains a NUL byte");
	root = cJSON_ParseWithLength(data, len);
	if (!root)
		return verdict(v, "MalformedRequest", "submission is not valid JSON");
	if (!cJSON_IsObject(root)) {
		verdict(v, "SchemaViolation", "submission must be a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(f, root)
	{
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (f->string && !strcmp(f->string, allowed[i]))
				break;
		if (!allowed[i]) {
			verdict(v, "SchemaViolation", "unknown field '%.100s'", f->string ? f->string : "");
			goto out;
		}
	}
	if (str_field(root, "requestId", true, 'l', out->id, sizeof(out->id), v) < 0 ||
	    str_field(root, "cluster", true, 'l', out->cluster, sizeof(out->cluster), v) < 0 ||
	    str_field(root, "node", true, 's', out->node, sizeof(out->node), v) < 0 ||
	    str_field(root, "tenant", false, 'l', out->tenant, sizeof(out->tenant), v) < 0 ||
	    str_field(root, "reason", false, 't', out->note, sizeof(out->note), v) < 0)
		goto out;
	f = cJSON_GetObjectItemCaseSensitive(root, "dryRun");
	if (f && !cJSON_IsBool(f)) {
		verdict(v, "SchemaViolation", "field 'dryRun' must be a boolean");
		goto out;
	}
	out->dry_run = cJSON_IsTrue(f);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int mig_policy_read(const cJSON *wukong, struct mig_policy *out, char *errstr, size_t errstr_size)
{
	const cJSON *p = wk_json_path(wukong, "spec.migrationPolicy"), *t, *tc;
	char err[256];

	memset(out, 0, sizeof(*out));
	if (!p || cJSON_IsNull(p))
		return 0;
	if (!cJSON_IsObject(p))
		return wk_err(errstr, errstr_size, "spec.migrationPolicy must be an object");
	out->enabled = cJSON_IsTrue(wk_json_path(p, "enabled"));
	out->allow_cold = cJSON_IsTrue(wk_json_path(p, "allowColdMigration"));
	tc = wk_json_path(p, "triggerConditions");
	if (tc && !cJSON_IsArray(tc))
		return wk_err(errstr, errstr_size, "triggerConditions must be a list");
	cJSON_ArrayForEach(t, tc)
	{
		const cJSON *ty = wk_json_path(t, "type"), *th = wk_json_path(t, "threshold");

		if (!cJSON_IsString(ty))
			return wk_err(errstr, errstr_size, "a trigger condition has no type");
		if (!strcmp(ty->valuestring, "nodeMaintenance")) {
			out->triggers |= MIG_TRIG_MAINTENANCE;
		} else if (!strcmp(ty->valuestring, "nodeFailure")) {
			out->triggers |= MIG_TRIG_FAILURE;
		} else if (!strcmp(ty->valuestring, "resourcePressure")) {
			out->triggers |= MIG_TRIG_PRESSURE;
			if (th) {
				char *end;
				long pct;

				if (!cJSON_IsString(th))
					return wk_err(errstr, errstr_size,
						      "threshold must be a string like \"80%%\"");
				pct = strtol(th->valuestring, &end, 10);
				if (end == th->valuestring || strcmp(end, "%") || pct < 1 ||
				    pct > 100)
					return wk_err(errstr, errstr_size,
						      "threshold \"%.32s\" is not a percentage "
						      "from 1%% to 100%%",
						      th->valuestring);
				out->pressure_percent = (int)pct;
			}
		} else {
			return wk_err(errstr, errstr_size,
				      "unknown trigger condition type \"%.64s\"", ty->valuestring);
		}
	}
	t = wk_json_path(p, "targetNodeSelector");
	if (t && !cJSON_IsNull(t)) {
		out->target = wk_selector_from_json(t, err, sizeof(err));
		if (!out->target)
			return wk_err(errstr, errstr_size, "targetNodeSelector: %s", err);
	}
	return 0;
}

void mig_policy_release(struct mig_policy *p)
{
	if (!p)
		return;
	wk_selector_destroy(p->target);
	p->target = NULL;
}

static bool in_list(const char *key, const char *list)
{
	size_t n = strlen(key);
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && !strncmp(p, key, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

bool mig_node_in_maintenance(const cJSON *node, const char *drain_taints, char *why,
			     size_t why_size)
{
	const cJSON *spec = wk_json_path(node, "spec"), *t;

	if (cJSON_IsTrue(wk_json_path(spec, "unschedulable"))) {
		snprintf(why, why_size, "cordoned");
		return true;
	}
	cJSON_ArrayForEach(t, wk_json_path(spec, "taints"))
	{
		const cJSON *k = wk_json_path(t, "key");

		if (!cJSON_IsString(k))
			continue;
		if (!strcmp(k->valuestring, "node.kubernetes.io/unschedulable") ||
		    in_list(k->valuestring, drain_taints)) {
			snprintf(why, why_size, "taint %.200s", k->valuestring);
			return true;
		}
	}
	return false;
}

bool mig_node_drain_cordon(const cJSON *node, int64_t now_ms, int64_t window_ms)
{
	const cJSON *ann = wk_json_path(node, "annotations"), *v;
	int64_t at;

	if (!cJSON_IsObject(ann))
		ann = wk_json_path(node, "metadata.annotations");
	v = cJSON_GetObjectItemCaseSensitive(ann, WK_ANN_CORDONED_FOR_DRAIN);
	if (!cJSON_IsString(v) || wk_time_parse_ms(v->valuestring, &at) < 0)
		return false;
	/* a clock a few seconds ahead of ours still counts */
	return at <= now_ms + 60000 && now_ms - at < window_ms;
}

bool mig_node_eligible(const cJSON *node, const char *source, const struct wk_selector *target,
		       const cJSON *vm_node_selector, char *why, size_t why_size)
{
	const cJSON *name = wk_json_path(node, "metadata.name");
	const cJSON *labels = wk_json_path(node, "metadata.labels"), *s;
	char w[128];

	if (!cJSON_IsString(name))
		return snprintf(why, why_size, "TargetNodeNotFound"), false;
	if (source && !strcmp(source, name->valuestring))
		return snprintf(why, why_size, "TargetIsSourceNode"), false;
	if (!mig_node_ready(node))
		return snprintf(why, why_size, "TargetNodeNotReady"), false;
	if (mig_node_unschedulable(node, w, sizeof(w)))
		return snprintf(why, why_size, "TargetNodeUnschedulable"), false;
	if (target && !wk_selector_matches(target, labels))
		return snprintf(why, why_size, "TargetNodeSelectorMismatch"), false;
	cJSON_ArrayForEach(s, vm_node_selector)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, s->string);

		if (!cJSON_IsString(s) || !cJSON_IsString(l) ||
		    strcmp(s->valuestring, l->valuestring))
			return snprintf(why, why_size, "TargetNodeSelectorMismatch"), false;
	}
	if (why_size)
		why[0] = '\0';
	return true;
}

void mig_drain_child_id(const char *drain_id, const char *ns, const char *name, char *out,
			size_t out_size)
{
	char hex[11], *in = wk_xasprintf("%s/%s/%s", drain_id, ns, name);

	mig_sha256_hex(in, strlen(in), 10, hex);
	free(in);
	snprintf(out, out_size, "%.40s-%s", drain_id, hex);
}

void mig_maint_child_id(const char *node, const char *ns, const char *name, const char *vmi_uid,
			const char *last_migration_uid, char *out, size_t out_size)
{
	char hex[17], n[31];
	char *in = wk_xasprintf("%s/%s/%s/%s/%s", node, ns, name, vmi_uid ? vmi_uid : "",
				last_migration_uid ? last_migration_uid : "");
	size_t i;

	mig_sha256_hex(in, strlen(in), 16, hex);
	free(in);
	wk_strlcpy(n, node, sizeof(n));
	for (i = 0; n[i]; i++)
		if (n[i] == '.')
			n[i] = '-';
	/* A label may not end with '-' before ours: trim it. */
	while (i > 0 && n[i - 1] == '-')
		n[--i] = '\0';
	snprintf(out, out_size, "mt-%s-%s", n, hex);
}
