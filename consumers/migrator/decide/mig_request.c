/* mig_request.c - parsing and validation of migration requests, ids and derived names. */
#include "decide/mig_request.h"

#include "wk_json.h"
#include "wk_emit.h"
#include "wk_log.h"
#include "wk_name.h"
#include "wk_quantity.h"
#include "wk_tenant.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <math.h>

#define COMPLETION_TIMEOUT_MAX 604800 /* a week per GiB is already absurd */

/* Fill the verdict v; -1. */
#define verdict(v, c, ...)                                                                         \
	wk_code_msg((v)->code, sizeof((v)->code), (v)->message, sizeof((v)->message), (c),         \
		    __VA_ARGS__)

const char *mig_source_name(enum mig_source s)
{
	return s == MIG_SRC_SPEC ? "spec" : "kafka";
}

enum mig_verb mig_verb_from_type(const char *t)
{
	static const char pfx[] = WK_CE_REQUEST_PREFIX;

	if (!t || strncmp(t, pfx, sizeof(pfx) - 1))
		return MIG_VERB_UNKNOWN;
	t += sizeof(pfx) - 1;
	if (!strcmp(t, "migrate.v1"))
		return MIG_VERB_MIGRATE;
	if (!strcmp(t, "cancel.v1"))
		return MIG_VERB_CANCEL;
	if (!strcmp(t, "drain.v1") || !strcmp(t, "clone.v1"))
		return MIG_VERB_OTHER;
	return MIG_VERB_UNKNOWN;
}

void mig_options_init(struct mig_options *o)
{
	memset(o, 0, sizeof(*o));
	o->bandwidth = -1;
}

bool mig_options_any(const struct mig_options *o)
{
	return o->allow_auto_converge != MIG_UNSET || o->allow_post_copy != MIG_UNSET ||
	       o->allow_workload_disruption != MIG_UNSET || o->completion_timeout_per_gib > 0 ||
	       o->bandwidth >= 0;
}

/* A JSON integer in [lo, hi]. */
static bool json_int(const cJSON *n, int64_t lo, int64_t hi, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(n))
		return false;
	d = n->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
		return false;
	*out = (int64_t)d;
	return true;
}

static int tri(const cJSON *item, const char *field, enum mig_tristate *out, struct mig_verdict *v)
{
	if (!cJSON_IsBool(item))
		return verdict(v, "SchemaViolation", "field '%s': expected a boolean", field);
	*out = cJSON_IsTrue(item) ? MIG_TRUE : MIG_FALSE;
	return 0;
}

int mig_options_parse(const cJSON *obj, bool strict, struct mig_options *o, struct mig_verdict *v)
{
	const cJSON *it;

	mig_options_init(o);
	if (!obj || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return verdict(v, "SchemaViolation", "field 'options': expected an object");
	cJSON_ArrayForEach(it, obj)
	{
		const char *k = it->string;

		if (!strcmp(k, "allowAutoConverge")) {
			if (tri(it, k, &o->allow_auto_converge, v) < 0)
				return -1;
		} else if (!strcmp(k, "allowPostCopy")) {
			if (tri(it, k, &o->allow_post_copy, v) < 0)
				return -1;
		} else if (!strcmp(k, "allowWorkloadDisruption")) {
			if (tri(it, k, &o->allow_workload_disruption, v) < 0)
				return -1;
		} else if (!strcmp(k, "cold")) {
			if (tri(it, k, &o->cold, v) < 0)
				return -1;
		} else if (!strcmp(k, "completionTimeoutPerGiB")) {
			if (!json_int(it, 1, COMPLETION_TIMEOUT_MAX,
				      &o->completion_timeout_per_gib))
				return verdict(v, "SchemaViolation",
					       "field 'completionTimeoutPerGiB': expected an "
					       "integer from 1 to %d",
					       COMPLETION_TIMEOUT_MAX);
		} else if (!strcmp(k, "bandwidthPerMigration")) {
			char err[128];
			int64_t b;

			if (cJSON_IsNumber(it)) {
				if (!json_int(it, 0, INT64_C(1) << 50, &b))
					return verdict(v, "SchemaViolation",
						       "field 'bandwidthPerMigration': expected a "
						       "non-negative quantity");
				snprintf(o->bandwidth_text, sizeof(o->bandwidth_text), "%lld",
					 (long long)b);
			} else if (cJSON_IsString(it)) {
				if (wk_quantity_parse(it->valuestring, &b, err, sizeof(err)) < 0 ||
				    b < 0 || strlen(it->valuestring) >= sizeof(o->bandwidth_text))
					return verdict(v, "SchemaViolation",
						       "field 'bandwidthPerMigration': '%.40s' is "
						       "not a non-negative quantity",
						       it->valuestring);
				wk_strlcpy(o->bandwidth_text, it->valuestring,
					   sizeof(o->bandwidth_text));
			} else {
				return verdict(
				    v, "SchemaViolation",
				    "field 'bandwidthPerMigration': expected a quantity");
			}
			o->bandwidth = b;
		} else if (strict) {
			return verdict(v, "SchemaViolation", "field 'options.%.64s': unknown field", k);
		}
	}
	return 0;
}

/* Copy a required/optional string field with a name check. kind: 'l' label, 's' subdomain,
 * 't' free text. */
static int str_field(const cJSON *root, const char *field, bool required, char kind, char *out,
		     size_t out_size, struct mig_verdict *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);
	char err[256];

	out[0] = '\0';
	if (!it || cJSON_IsNull(it)) {
		if (required)
			return verdict(v, "SchemaViolation", "field '%s': required", field);
		return 0;
	}
	if (!cJSON_IsString(it))
		return verdict(v, "SchemaViolation", "field '%s': expected a string", field);
	if (kind == 'l' && wk_name_check_label(it->valuestring, err, sizeof(err)) < 0)
		return verdict(v, "InvalidName", "field '%s': %s", field, err);
	if (kind == 's' && wk_name_check_subdomain(it->valuestring, err, sizeof(err)) < 0)
		return verdict(v, "InvalidName", "field '%s': %s", field, err);
	if (strlen(it->valuestring) >= out_size)
		return verdict(v, kind == 't' ? "SchemaViolation" : "InvalidName",
			       "field '%s': longer than %zu bytes", field, out_size - 1);
	if (kind == 't' && !*it->valuestring && required)
		return verdict(v, "SchemaViolation", "field '%s': empty", field);
	wk_strlcpy(out, it->valuestring, out_size);
	return 0;
}

static cJSON *parse_body(const char *data, size_t len, struct mig_verdict *v)
{
	cJSON *root;

	if (len > MIG_SUBMISSION_MAX) {
		verdict(v, "RequestTooLarge", "submission of %zu bytes exceeds the %d-byte cap", len,
			MIG_SUBMISSION_MAX);
		return NULL;
	}
	if (!data || !len) {
		verdict(v, "MalformedRequest", "empty submission");
		return NULL;
	}
	/* cJSON ends a string at an escaped NUL, so "t\u0000x" would silently read as "t". */
	if (memmem(data, len, "\\u0000", 6) || memchr(data, '\0', len)) {
		verdict(v, "SchemaViolation", "submission contains a NUL character");
		return NULL;
	}
	root = cJSON_ParseWithLength(data, len);
	if (!root) {
		verdict(v, "MalformedRequest", "submission is not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		verdict(v, "SchemaViolation", "submission is not a JSON object");
		return NULL;
	}
	return root;
}

static int only_fields(const cJSON *root, const char *const *allowed, struct mig_verdict *v)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, root)
	{
		size_t i;
		bool ok = false;

		for (i = 0; allowed[i]; i++)
			ok = ok || !strcmp(it->string, allowed[i]);
		if (!ok)
			return verdict(v, "SchemaViolation", "field '%.64s': unknown field", it->string);
	}
	return 0;
}

int mig_parse_migrate(const char *data, size_t len, struct mig_request *r, struct mig_verdict *v)
{
	static const char *const allowed[] = {"requestId", "cluster",	 "namespace", "name",
					      "tenant",	   "targetNode", "options",   "reason",
					      "expiresAt", NULL};
	cJSON *root = parse_body(data, len, v);
	int rc = -1;

	memset(r, 0, sizeof(*r));
	mig_options_init(&r->opt);
	r->source = MIG_SRC_KAFKA;
	if (!root)
		return -1;
	if (only_fields(root, allowed, v) < 0 ||
	    str_field(root, "requestId", true, 'l', r->id, sizeof(r->id), v) < 0 ||
	    str_field(root, "cluster", true, 'l', r->cluster, sizeof(r->cluster), v) < 0 ||
	    str_field(root, "namespace", true, 'l', r->ns, sizeof(r->ns), v) < 0 ||
	    str_field(root, "name", true, 's', r->name, sizeof(r->name), v) < 0 ||
	    str_field(root, "tenant", false, 'l', r->tenant, sizeof(r->tenant), v) < 0 ||
	    str_field(root, "targetNode", false, 's', r->target_node, sizeof(r->target_node), v) <
		0 ||
	    str_field(root, "reason", false, 't', r->note, sizeof(r->note), v) < 0 ||
	    mig_options_parse(cJSON_GetObjectItemCaseSensitive(root, "options"), true, &r->opt, v) <
		0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int mig_parse_cancel(const char *data, size_t len, struct mig_cancel *c, struct mig_verdict *v)
{
	static const char *const allowed[] = {"requestId", "cluster",	"namespace",
					      "name",	   "tenant",	"targetRequestId",
					      "reason",	   "expiresAt", NULL};
	cJSON *root = parse_body(data, len, v);
	char note[MIG_NOTE_MAX];
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!root)
		return -1;
	if (only_fields(root, allowed, v) < 0 ||
	    str_field(root, "requestId", true, 'l', c->id, sizeof(c->id), v) < 0 ||
	    str_field(root, "cluster", true, 'l', c->cluster, sizeof(c->cluster), v) < 0 ||
	    str_field(root, "namespace", true, 'l', c->ns, sizeof(c->ns), v) < 0 ||
	    str_field(root, "name", true, 's', c->name, sizeof(c->name), v) < 0 ||
	    str_field(root, "tenant", false, 'l', c->tenant, sizeof(c->tenant), v) < 0 ||
	    str_field(root, "targetRequestId", false, 'l', c->target_request,
		      sizeof(c->target_request), v) < 0 ||
	    str_field(root, "reason", false, 't', note, sizeof(note), v) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int mig_tenant_check(const char *tenant, const char *ns, const char *list, bool require_tenant,
		     bool any_tenants, struct mig_verdict *v)
{
	char err[512];

	if (wk_tenant_check(tenant, ns, list, require_tenant, any_tenants,
			    "migrator.require-tenant", err, sizeof(err)) < 0)
		return verdict(v, "Forbidden", "%s", err);
	return 0;
}

/* ---- hashing and canonical JSON ---- */

void mig_sha256_hex(const void *data, size_t len, size_t n, char *out)
{
	wk_emit_sha256_hex(data, len, n, out);
}

static int cmp_items(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

static cJSON *canonical(const cJSON *v)
{
	cJSON *out, *it;

	if (cJSON_IsObject(v)) {
		size_t n = 0, i;
		const cJSON *c;
		const cJSON **items;

		cJSON_ArrayForEach(c, v) n++;
		items = wk_xcalloc(n ? n : 1, sizeof(*items));
		n = 0;
		cJSON_ArrayForEach(c, v) items[n++] = c;
		qsort(items, n, sizeof(*items), cmp_items);
		out = cJSON_CreateObject();
		for (i = 0; i < n; i++)
			cJSON_AddItemToObject(out, items[i]->string, canonical(items[i]));
		free(items);
		return out;
	}
	if (cJSON_IsArray(v)) {
		out = cJSON_CreateArray();
		cJSON_ArrayForEach(it, v) cJSON_AddItemToArray(out, canonical(it));
		return out;
	}
	return cJSON_Duplicate(v, false);
}

char *mig_canonical_json(const cJSON *v)
{
	cJSON *c = canonical(v);
	char *s = cJSON_PrintUnformatted(c);

	cJSON_Delete(c);
	if (!s)
		WK_BUG("cJSON_PrintUnformatted failed");
	return s;
}

/* ---- spec.migration ---- */

void mig_vm_name(const cJSON *wk, char *out, size_t out_size)
{
	const cJSON *vm = wk_json_path(wk, "status.vmName");
	const cJSON *name = wk_json_path(wk, "metadata.name");

	if (cJSON_IsString(vm) && wk_name_is_dns1123_subdomain(vm->valuestring))
		wk_strlcpy(out, vm->valuestring, out_size);
	else
		snprintf(out, out_size, "%.240s-vm", cJSON_IsString(name) ? name->valuestring : "");
}

const cJSON *mig_wukong_of_vm(const cJSON *wukongs, const char *ns, const char *vm)
{
	const cJSON *w;

	if (!ns || !vm)
		return NULL;
	cJSON_ArrayForEach(w, wk_json_path(wukongs, "items"))
	{
		const cJSON *wns = wk_json_path(w, "metadata.namespace");
		char wvm[MIG_NAME_MAX];

		if (!cJSON_IsString(wns) || strcmp(wns->valuestring, ns))
			continue;
		mig_vm_name(w, wvm, sizeof(wvm));
		if (!strcmp(wvm, vm))
			return w;
	}
	return NULL;
}

/* status.conditions[] of that type, or NULL */
static const cJSON *wukong_condition(const cJSON *wk, const char *type)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(wk, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type");

		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

int mig_spec_view(const cJSON *wk, struct mig_spec_view *out)
{
	const cJSON *mig = wk_json_path(wk, "spec.migration");
	const cJSON *uid = wk_json_path(wk, "metadata.uid");
	const cJSON *gen = wk_json_path(wk, "metadata.generation");
	const cJSON *ms = wk_json_path(wk, "status.migrationStatus");
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(ms, "requestId");
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(ms, "phase");
	int64_t g = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsString(uid) || !*uid->valuestring)
		return -1;
	wk_strlcpy(out->uid, uid->valuestring, sizeof(out->uid));
	if (cJSON_IsNumber(gen) && gen->valuedouble >= 0 && gen->valuedouble < 9e15)
		g = (int64_t)gen->valuedouble;
	out->generation = g;
	if (cJSON_IsString(rid))
		wk_strlcpy(out->status_request, rid->valuestring, sizeof(out->status_request));
	if (cJSON_IsString(ph))
		wk_strlcpy(out->status_phase, ph->valuestring, sizeof(out->status_phase));
	{
		const cJSON *c = wukong_condition(wk, MIG_COND_REQUESTED);
		const cJSON *og = cJSON_GetObjectItemCaseSensitive(c, "observedGeneration");
		const char *cs = wk_json_str(c, "status"), *cr = wk_json_str(c, "reason");

		if (cs && !strcmp(cs, "False") && cr && !strcmp(cr, MIG_REASON_REMOVED) &&
		    cJSON_IsNumber(og) && og->valuedouble > 0 && og->valuedouble < 9e15)
			out->removed_generation = (int64_t)og->valuedouble;
		c = wukong_condition(wk, MIG_COND_WAITING);
		cs = wk_json_str(c, "status");
		out->waiting_shown = cs && !strcmp(cs, "True");
	}
	if (cJSON_IsObject(mig) && mig->child) {
		char *s = mig_canonical_json(mig);

		out->present = true;
		mig_sha256_hex(s, strlen(s), 16, out->hash);
		free(s);
	}
	return 0;
}

void mig_spec_request_id(const char *uid, int64_t generation, const char *hash, char *out,
			 size_t out_size)
{
	char u[9] = {0};
	size_t i, j = 0;

	/* The uid's first 8 alphanumerics: a Wukong recreated under the same name restarts its
	 * generation at 1 but has a new uid. */
	for (i = 0; uid[i] && j < 8; i++) {
		char ch = uid[i];

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z'))
			u[j++] = ch;
	}
	snprintf(out, out_size, "spec-%s-g%lld-%.8s", u, (long long)generation, hash);
}

int mig_spec_request_parse(const char *id, char uid8[9], int64_t *generation, char hash8[9])
{
	const char *p, *q;
	char *end;
	long long g;

	if (!id || strncmp(id, "spec-", 5))
		return -1;
	p = id + 5;
	q = strchr(p, '-');
	if (!q || q - p > 8 || q[1] != 'g')
		return -1;
	memcpy(uid8, p, (size_t)(q - p));
	uid8[q - p] = '\0';
	g = strtoll(q + 2, &end, 10);
	if (end == q + 2 || *end != '-' || g < 0 || strlen(end + 1) != 8)
		return -1;
	*generation = g;
	memcpy(hash8, end + 1, 9);
	return 0;
}

bool mig_spec_is_new(const struct mig_spec_view *view, const char *last_id)
{
	char u8[9], h8[9], mine[9] = {0};
	size_t i, j = 0;
	int64_t g;

	if (!view->present)
		return false;
	if (!last_id || !*last_id || mig_spec_request_parse(last_id, u8, &g, h8) < 0)
		return true;
	for (i = 0; view->uid[i] && j < 8; i++)
		if ((view->uid[i] >= '0' && view->uid[i] <= '9') ||
		    (view->uid[i] >= 'a' && view->uid[i] <= 'z'))
			mine[j++] = view->uid[i];
	if (strcmp(mine, u8))
		return true; /* the last request was for an earlier Wukong of the same name */
	if (!strncmp(view->hash, h8, 8))
		return false; /* same spec.migration as the last request: already handled */
	/* An event older than the last request (a replay) must not start a new one. */
	return view->generation > g;
}

void mig_spec_removed_marker(int64_t generation, char *out, size_t out_size)
{
	snprintf(out, out_size, "removed-g%lld", (long long)generation);
}

int64_t mig_spec_removed_parse(const char *s)
{
	char *end;
	long long g;

	if (!s || strncmp(s, "removed-g", 9) || s[9] < '0' || s[9] > '9')
		return 0;
	g = strtoll(s + 9, &end, 10);
	return *end || g < 0 ? 0 : (int64_t)g;
}

/* Does last_id count as the last spec request handled, given a removal at generation rg? */
static bool counts(const struct mig_spec_view *view, const char *last_id, int64_t rg)
{
	char u8[9], h8[9], mine[9] = {0};
	size_t i, j = 0;
	int64_t g;

	if (!last_id || mig_spec_request_parse(last_id, u8, &g, h8) < 0)
		return false;
	for (i = 0; view->uid[i] && j < 8; i++)
		if ((view->uid[i] >= '0' && view->uid[i] <= '9') ||
		    (view->uid[i] >= 'a' && view->uid[i] <= 'z'))
			mine[j++] = view->uid[i];
	/* a request of an earlier Wukong of the same name is judged by mig_spec_is_new (new) */
	return g >= rg || strcmp(mine, u8) != 0;
}

bool mig_spec_due(const struct mig_spec_view *view, const char *mem)
{
	int64_t rg = view->removed_generation, mg = mig_spec_removed_parse(mem);

	if (!view->present)
		return false;
	if (mg > rg)
		rg = mg;
	/* an event from before the removal (a replay) asks for nothing */
	if (rg > 0 && view->generation <= rg)
		return false;
	if (counts(view, mem, rg) && !mig_spec_is_new(view, mem))
		return false;
	if (counts(view, view->status_request, rg) && !mig_spec_is_new(view, view->status_request))
		return false;
	return true;
}

int64_t mig_spec_wait_since(const cJSON *wk, const char *id)
{
	const cJSON *c = wukong_condition(wk, MIG_COND_WAITING);
	const char *cs = wk_json_str(c, "status"), *m = wk_json_str(c, "message"),
		   *t = wk_json_str(c, "lastTransitionTime");
	char quoted[MIG_ID_MAX + 3];
	int64_t ms;

	if (!cs || strcmp(cs, "True") || !m || !t || !id || !*id)
		return 0;
	snprintf(quoted, sizeof(quoted), "'%s'", id);
	if (!strstr(m, quoted) || wk_time_parse_ms(t, &ms) < 0 || ms <= 0)
		return 0;
	return ms;
}

int mig_request_from_spec(const cJSON *wk, const char *cluster, struct mig_request *r,
			  struct mig_verdict *v)
{
	struct mig_spec_view view;
	const cJSON *mig = wk_json_path(wk, "spec.migration");
	const cJSON *ns = wk_json_path(wk, "metadata.namespace");
	const cJSON *name = wk_json_path(wk, "metadata.name");

	memset(r, 0, sizeof(*r));
	mig_options_init(&r->opt);
	r->source = MIG_SRC_SPEC;
	if (mig_spec_view(wk, &view) < 0 || !cJSON_IsString(ns) || !cJSON_IsString(name))
		return verdict(v, "SchemaViolation", "wukong without metadata.uid/namespace/name");
	if (!view.present)
		return verdict(v, "SchemaViolation", "wukong has no spec.migration");
	if (!wk_name_is_dns1123_label(ns->valuestring) ||
	    !wk_name_is_dns1123_subdomain(name->valuestring))
		return verdict(v, "InvalidName", "wukong '%.64s/%.64s' has an invalid name",
			       ns->valuestring, name->valuestring);
	wk_strlcpy(r->cluster, cluster, sizeof(r->cluster));
	wk_strlcpy(r->ns, ns->valuestring, sizeof(r->ns));
	wk_strlcpy(r->name, name->valuestring, sizeof(r->name));
	wk_strlcpy(r->uid, view.uid, sizeof(r->uid));
	mig_vm_name(wk, r->vm, sizeof(r->vm));
	r->generation = view.generation;
	wk_strlcpy(r->spec_hash, view.hash, sizeof(r->spec_hash));
	mig_spec_request_id(view.uid, view.generation, view.hash, r->id, sizeof(r->id));
	if (str_field(mig, "targetNode", false, 's', r->target_node, sizeof(r->target_node), v) < 0)
		return -1;
	return mig_options_parse(mig, false, &r->opt, v);
}

void mig_object_name(const struct mig_request *r, char *out, size_t out_size)
{
	char buf[512], h[11];

	snprintf(buf, sizeof(buf), "%s/%s/%s/%s", r->cluster, r->ns, r->name, r->id);
	mig_sha256_hex(buf, strlen(buf), 10, h);
	/* The id is a DNS-1123 label, so its first 40 characters are valid in a name; trim a
	 * trailing '-' the cut may leave. */
	snprintf(buf, sizeof(buf), "%.40s", r->id);
	while (*buf && buf[strlen(buf) - 1] == '-')
		buf[strlen(buf) - 1] = '\0';
	snprintf(out, out_size, "wk-%s-%s", buf, h);
}

/* ---- request <-> JSON annotation ---- */

static void add_tri(cJSON *o, const char *k, enum mig_tristate t)
{
	if (t != MIG_UNSET)
		cJSON_AddBoolToObject(o, k, t == MIG_TRUE);
}

char *mig_request_to_json(const struct mig_request *r)
{
	cJSON *o = cJSON_CreateObject(), *opt;
	char *s;

	cJSON_AddStringToObject(o, "requestId", r->id);
	cJSON_AddStringToObject(o, "source", mig_source_name(r->source));
	cJSON_AddStringToObject(o, "cluster", r->cluster);
	cJSON_AddStringToObject(o, "namespace", r->ns);
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "vm", r->vm);
	if (r->uid[0])
		cJSON_AddStringToObject(o, "uid", r->uid);
	if (r->generation)
		cJSON_AddNumberToObject(o, "generation", (double)r->generation);
	if (r->spec_hash[0])
		cJSON_AddStringToObject(o, "specHash", r->spec_hash);
	if (r->tenant[0])
		cJSON_AddStringToObject(o, "tenant", r->tenant);
	if (r->target_node[0])
		cJSON_AddStringToObject(o, "targetNode", r->target_node);
	if (r->received_ms)
		cJSON_AddNumberToObject(o, "receivedMs", (double)r->received_ms);
	opt = cJSON_AddObjectToObject(o, "options");
	add_tri(opt, "allowAutoConverge", r->opt.allow_auto_converge);
	add_tri(opt, "allowPostCopy", r->opt.allow_post_copy);
	add_tri(opt, "allowWorkloadDisruption", r->opt.allow_workload_disruption);
	if (r->opt.completion_timeout_per_gib > 0)
		cJSON_AddNumberToObject(opt, "completionTimeoutPerGiB",
					(double)r->opt.completion_timeout_per_gib);
	if (r->opt.bandwidth >= 0)
		cJSON_AddStringToObject(opt, "bandwidthPerMigration", r->opt.bandwidth_text);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void get_str(const cJSON *o, const char *k, char *out, size_t n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	out[0] = '\0';
	if (cJSON_IsString(it))
		wk_strlcpy(out, it->valuestring, n);
}

int mig_request_from_json(const char *json, struct mig_request *r)
{
	cJSON *o = json ? cJSON_Parse(json) : NULL;
	const cJSON *it;
	char src[16];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	mig_options_init(&r->opt);
	if (!cJSON_IsObject(o))
		goto out;
	get_str(o, "requestId", r->id, sizeof(r->id));
	get_str(o, "source", src, sizeof(src));
	r->source = !strcmp(src, "spec") ? MIG_SRC_SPEC : MIG_SRC_KAFKA;
	get_str(o, "cluster", r->cluster, sizeof(r->cluster));
	get_str(o, "namespace", r->ns, sizeof(r->ns));
	get_str(o, "name", r->name, sizeof(r->name));
	get_str(o, "vm", r->vm, sizeof(r->vm));
	get_str(o, "uid", r->uid, sizeof(r->uid));
	get_str(o, "specHash", r->spec_hash, sizeof(r->spec_hash));
	get_str(o, "tenant", r->tenant, sizeof(r->tenant));
	get_str(o, "targetNode", r->target_node, sizeof(r->target_node));
	it = cJSON_GetObjectItemCaseSensitive(o, "generation");
	if (cJSON_IsNumber(it))
		r->generation = (int64_t)it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(o, "receivedMs");
	if (cJSON_IsNumber(it))
		r->received_ms = (int64_t)it->valuedouble;
	if (mig_options_parse(cJSON_GetObjectItemCaseSensitive(o, "options"), false, &r->opt,
			      NULL) < 0)
		goto out;
	if (!wk_name_is_dns1123_label(r->id) || !wk_name_is_dns1123_label(r->ns) ||
	    !wk_name_is_dns1123_subdomain(r->name) || !wk_name_is_dns1123_subdomain(r->vm))
		goto out;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}
