/* cl_request.c - clone requests: from a Wukong's spec.cloneSource and from Kafka submissions,
 * validation with caps, and derived names. */
#include "cl_request.h"

#include "wk_emit.h"
#include "wk_json.h"
#include "wk_name.h"
#include "wk_tenant.h"

#include <cjson/cJSON.h>
#include <stdarg.h>

/* Fill the verdict v; -1. */
#define verdict(v, c, ...)                                                                         \
	wk_code_msg((v)->code, sizeof((v)->code), (v)->message, sizeof((v)->message), (c),         \
		    __VA_ARGS__)

static void invalid(struct cl_job_spec *j, const char *code, const char *fmt, ...) WK_PRINTF(3, 4);
static void invalid(struct cl_job_spec *j, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (j->invalid[0])
		return; /* the first problem is the one reported */
	wk_strlcpy(j->invalid, code, sizeof(j->invalid));
	va_start(ap, fmt);
	vsnprintf(j->invalid_msg, sizeof(j->invalid_msg), fmt, ap);
	va_end(ap);
}

void cl_spec_request_id(const char *uid, char *out, size_t out_size)
{
	char h[9];
	size_t n = 0;

	for (; uid && *uid && n < 8; uid++)
		if ((*uid >= '0' && *uid <= '9') || (*uid >= 'a' && *uid <= 'z'))
			h[n++] = *uid;
	h[n] = 0;
	snprintf(out, out_size, "spec-%s", n ? h : "nouid");
}

bool cl_job_wants_disk(const struct cl_job_spec *j, const char *disk)
{
	size_t i;

	if (!j->ndisks)
		return true;
	for (i = 0; i < j->ndisks; i++)
		if (!strcmp(j->disks[i], disk))
			return true;
	return false;
}

/* A list of disk names: DNS-1123 labels, unique, at most CL_MAX_DISKS. */
static int parse_disks(const cJSON *a, char disks[][64], size_t *n, char *why, size_t why_size)
{
	const cJSON *d;
	size_t i;

	*n = 0;
	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return wk_err(why, why_size, "'disks' is not a list");
	if (cJSON_GetArraySize(a) > CL_MAX_DISKS)
		return wk_err(why, why_size, "'disks' has more than %d entries", CL_MAX_DISKS);
	cJSON_ArrayForEach(d, a)
	{
		if (!cJSON_IsString(d) || !wk_name_is_dns1123_label(d->valuestring))
			return wk_err(why, why_size, "'disks': invalid disk name '%.64s'",
				      cJSON_IsString(d) ? d->valuestring : "(not a string)");
		for (i = 0; i < *n; i++)
			if (!strcmp(disks[i], d->valuestring))
				return wk_err(why, why_size, "'disks': '%s' listed twice",
					      d->valuestring);
		wk_strlcpy(disks[(*n)++], d->valuestring, 64);
	}
	return 0;
}

int cl_job_from_wukong(const cJSON *wk, const char *cluster, struct cl_job_spec *out)
{
	const cJSON *meta = wk_json_path(wk, "metadata"), *spec = wk_json_path(wk, "spec"), *cs;
	const char *ns = wk_json_str(meta, "namespace"), *name = wk_json_str(meta, "name"),
		   *uid = wk_json_str(meta, "uid");
	const char *t, *ct, *sns, *req;
	char why[256];

	memset(out, 0, sizeof(*out));
	if (!ns || !name || !wk_name_is_dns1123_label(ns) || !wk_name_is_dns1123_subdomain(name))
		return -1;
	cs = wk_json_path(spec, "cloneSource");
	if (!cs || cJSON_IsNull(cs))
		return 0;
	wk_strlcpy(out->cluster, cluster, sizeof(out->cluster));
	wk_strlcpy(out->ns, ns, sizeof(out->ns));
	wk_strlcpy(out->name, name, sizeof(out->name));
	wk_strlcpy(out->uid, uid ? uid : "", sizeof(out->uid));
	if (strlen(name) + 3 >= CL_NAME_MAX || strlen(name) > 250)
		invalid(out, "InvalidTarget", "wukong name '%.60s...' is too long for '<name>-vm'",
			name);
	snprintf(out->target_vm, sizeof(out->target_vm), "%.250s-vm", name);
	req = wk_json_meta(wk, "annotations", WK_ANN_CLONE_REQUEST);
	if (req && wk_name_is_dns1123_label(req)) {
		wk_strlcpy(out->id, req, sizeof(out->id));
		out->from_kafka = true;
		const char *p = wk_json_meta(wk, "annotations", WK_ANN_CLONE_PARALLELISM);
		char *end;
		long pl = p ? strtol(p, &end, 10) : 0;

		out->parallelism = p && !*end && pl > 0 && pl <= CL_MAX_PARALLELISM ? (int)pl : 0;
	} else {
		cl_spec_request_id(uid, out->id, sizeof(out->id));
	}
	out->want_running = !cJSON_IsFalse(wk_json_path(spec, "running"));
	if (!cJSON_IsObject(cs)) {
		invalid(out, "InvalidCloneSource", "spec.cloneSource is not an object");
		return 1;
	}
	out->keep_snapshot = cJSON_IsTrue(wk_json_path(cs, "keepSnapshot"));
	t = wk_json_str(cs, "type");
	ct = wk_json_str(cs, "cloneType");
	/* The CRD defaults cloneType to running; an API server that did not apply the default
	 * (or an event body without it) means the same. */
	if (ct && (!strcmp(ct, "full") || !strcmp(ct, "linked"))) {
		/* The seed names them and the CRD accepts them; KubeVirt has no such clone (a
		 * VirtualMachineClone always copies), so say so instead of ignoring the Wukong. */
		invalid(
		    out, "CloneTypeNotSupported",
		    "cloneType '%s' is not supported: KubeVirt's VirtualMachineClone makes full "
		    "copies of a snapshot; use cloneType running (online) or offline",
		    ct);
		return 1;
	}
	if (ct && strcmp(ct, "running") && strcmp(ct, "offline")) {
		invalid(out, "CloneTypeNotSupported", "cloneType '%.32s' is not running or offline",
			ct);
		return 1;
	}
	out->offline = ct && !strcmp(ct, "offline");
	out->start_source = cJSON_IsTrue(wk_json_path(cs, "startSource"));
	if (out->offline && out->start_source)
		invalid(out, "InvalidCloneSource",
			"cloneType offline copies a stopped VM as it is: startSource asks for the "
			"opposite");
	if (t && !strcmp(t, "vmi")) {
		out->type = CL_SRC_VMI;
		wk_strlcpy(out->source_name,
			   wk_json_str(cs, "vmiName") ? wk_json_str(cs, "vmiName") : "",
			   sizeof(out->source_name));
	} else if (t && !strcmp(t, "vm")) {
		out->type = CL_SRC_VM;
		wk_strlcpy(out->source_name,
			   wk_json_str(cs, "vmName") ? wk_json_str(cs, "vmName") : "",
			   sizeof(out->source_name));
	} else {
		invalid(out, "InvalidCloneSource", "spec.cloneSource.type '%.32s' is not vm or vmi",
			t ? t : "");
		return 1;
	}
	if (!wk_name_is_dns1123_subdomain(out->source_name))
		invalid(out, "InvalidCloneSource",
			"spec.cloneSource.%s '%.64s' is not a valid name",
			out->type == CL_SRC_VMI ? "vmiName" : "vmName", out->source_name);
	sns = wk_json_str(cs, "namespace");
	if (sns && *sns && !wk_name_is_dns1123_label(sns))
		invalid(out, "InvalidCloneSource",
			"spec.cloneSource.namespace '%.64s' is not valid", sns);
	wk_strlcpy(out->source_ns, sns && *sns ? sns : ns, sizeof(out->source_ns));
	if (parse_disks(wk_json_path(cs, "disks"), out->disks, &out->ndisks, why, sizeof(why)) < 0)
		invalid(out, "InvalidCloneSource", "spec.cloneSource.%s", why);
	/* KubeVirt's snapshot, restore and clone name their source and target with a
	 * TypedLocalObjectReference (one namespace), and a VirtualMachineSnapshot takes every disk:
	 * another namespace or a disk selection goes per volume (CDI clones a VolumeSnapshot into
	 * any namespace the cloner may read from, datavolumes/source). */
	out->per_volume = strcmp(out->source_ns, out->ns) != 0 || out->ndisks > 0;
	if (out->per_volume && out->start_source)
		invalid(out, "InvalidCloneSource",
			"startSource applies to a whole-VM clone in the same namespace; a copy per "
			"volume (a disk selection or another namespace) is taken from the VM as it "
			"is, running (crash-consistent) or stopped");
	if (out->type == CL_SRC_VM && !strcmp(out->source_name, out->target_vm) &&
	    !strcmp(out->source_ns, out->ns))
		invalid(out, "InvalidCloneSource", "the source VM is the target VM '%s'",
			out->target_vm);
	return 1;
}

static bool field_known(const char *k, const char *const *known)
{
	for (; *known; known++)
		if (!strcmp(k, *known))
			return true;
	return false;
}

static int get_label(const cJSON *o, const char *k, bool required, char *out, size_t n,
		     struct cl_verdict *v)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!s || cJSON_IsNull(s)) {
		if (required)
			return verdict(v, "SchemaViolation", "field '%s' is required", k);
		out[0] = 0;
		return 0;
	}
	if (!cJSON_IsString(s))
		return verdict(v, "SchemaViolation", "field '%s' is not a string", k);
	if (!wk_name_is_dns1123_label(s->valuestring))
		return verdict(v, "InvalidName", "field '%s': invalid name '%.64s'", k,
			       s->valuestring);
	wk_strlcpy(out, s->valuestring, n);
	return 0;
}

int cl_parse_submission(const char *data, size_t len, struct cl_submission *out,
			struct cl_verdict *v)
{
	static const char *const known[] = {"requestId",   "cluster", "namespace", "tenant",
					    "source",	   "targets", "disks",	   "keepSnapshot",
					    "parallelism", "reason",  "expiresAt", "cloneType",
					    "startSource", NULL};
	static const char *const known_src[] = {"type", "name", "namespace", NULL};
	static const char *const known_tgt[] = {"name", "running", NULL};
	cJSON *root;
	const cJSON *it, *src, *tg, *p;
	char why[256];
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(v, 0, sizeof(*v));
	if (!data || !len)
		return verdict(v, "MalformedRequest", "empty submission");
	if (len > CL_SUBMISSION_MAX)
		return verdict(v, "RequestTooLarge", "submission of %zu bytes exceeds the %d-byte cap",
			       len, CL_SUBMISSION_MAX);
	if (memchr(data, 0, len))
		return verdict(v, "MalformedRequest", "submission contains a NUL byte");
	root = cJSON_ParseWithLength(data, len);
	if (!root)
		return verdict(v, "MalformedRequest", "submission is not valid JSON");
	if (!cJSON_IsObject(root)) {
		verdict(v, "SchemaViolation", "submission is not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(it, root) if (!field_known(it->string, known))
	{
		verdict(v, "SchemaViolation", "unknown field '%.64s'", it->string);
		goto out;
	}
	if (get_label(root, "requestId", true, out->id, sizeof(out->id), v) < 0 ||
	    get_label(root, "cluster", true, out->cluster, sizeof(out->cluster), v) < 0 ||
	    get_label(root, "namespace", true, out->ns, sizeof(out->ns), v) < 0 ||
	    get_label(root, "tenant", false, out->tenant, sizeof(out->tenant), v) < 0)
		goto out;
	src = wk_json_path(root, "source");
	if (!cJSON_IsObject(src)) {
		verdict(v, "SchemaViolation", "field 'source' is required and must be an object");
		goto out;
	}
	cJSON_ArrayForEach(it, src) if (!field_known(it->string, known_src))
	{
		verdict(v, "SchemaViolation", "unknown field 'source.%.64s'", it->string);
		goto out;
	}
	{
		const char *t = wk_json_str(src, "type"), *n = wk_json_str(src, "name");

		if (!t || (strcmp(t, "vm") && strcmp(t, "vmi"))) {
			verdict(v, "SchemaViolation", "field 'source.type' must be 'vm' or 'vmi'");
			goto out;
		}
		out->type = !strcmp(t, "vmi") ? CL_SRC_VMI : CL_SRC_VM;
		if (!n) {
			verdict(v, "SchemaViolation", "field 'source.name' is required");
			goto out;
		}
		if (!wk_name_is_dns1123_subdomain(n)) {
			verdict(v, "InvalidName", "field 'source.name': invalid name '%.64s'", n);
			goto out;
		}
		wk_strlcpy(out->source_name, n, sizeof(out->source_name));
		if (get_label(src, "namespace", false, out->source_ns, sizeof(out->source_ns), v) <
		    0)
			goto out;
		if (!out->source_ns[0])
			wk_strlcpy(out->source_ns, out->ns, sizeof(out->source_ns));
	}
	tg = wk_json_path(root, "targets");
	if (!cJSON_IsArray(tg) || cJSON_GetArraySize(tg) < 1) {
		verdict(v, "SchemaViolation", "field 'targets' must be a non-empty list");
		goto out;
	}
	if (cJSON_GetArraySize(tg) > CL_MAX_TARGETS) {
		verdict(v, "SchemaViolation", "field 'targets' has more than %d entries", CL_MAX_TARGETS);
		goto out;
	}
	cJSON_ArrayForEach(it, tg)
	{
		struct cl_target *t = &out->targets[out->ntargets];
		const cJSON *f, *r;
		const char *n = wk_json_str(it, "name");

		if (!cJSON_IsObject(it)) {
			verdict(v, "SchemaViolation", "every target must be an object");
			goto out;
		}
		cJSON_ArrayForEach(f, it) if (!field_known(f->string, known_tgt))
		{
			verdict(v, "SchemaViolation", "unknown field 'targets[].%.64s'", f->string);
			goto out;
		}
		/* The VM is "<name>-vm" and must stay a valid name. */
		if (!n || !wk_name_is_dns1123_subdomain(n) || strlen(n) > 250) {
			verdict(v, n ? "InvalidName" : "SchemaViolation",
				"field 'targets[%zu].name': invalid name '%.64s'", out->ntargets,
				n ? n : "");
			goto out;
		}
		for (i = 0; i < out->ntargets; i++)
			if (!strcmp(out->targets[i].name, n)) {
				verdict(v, "SchemaViolation", "target '%s' listed twice", n);
				goto out;
			}
		wk_strlcpy(t->name, n, sizeof(t->name));
		r = wk_json_path(it, "running");
		if (r && !cJSON_IsBool(r) && !cJSON_IsNull(r)) {
			verdict(v, "SchemaViolation", "field 'targets[].running' is not a boolean");
			goto out;
		}
		t->running = cJSON_IsBool(r) ? cJSON_IsTrue(r) : -1;
		out->ntargets++;
	}
	if (parse_disks(wk_json_path(root, "disks"), out->disks, &out->ndisks, why, sizeof(why)) <
	    0) {
		verdict(v, "SchemaViolation", "%s", why);
		goto out;
	}
	p = wk_json_path(root, "keepSnapshot");
	if (p && !cJSON_IsBool(p)) {
		verdict(v, "SchemaViolation", "field 'keepSnapshot' is not a boolean");
		goto out;
	}
	out->keep_snapshot = cJSON_IsTrue(p);
	p = wk_json_path(root, "startSource");
	if (p && !cJSON_IsBool(p)) {
		verdict(v, "SchemaViolation", "field 'startSource' is not a boolean");
		goto out;
	}
	out->start_source = cJSON_IsTrue(p);
	p = wk_json_path(root, "cloneType");
	if (p && (!cJSON_IsString(p) ||
		  (strcmp(p->valuestring, "running") && strcmp(p->valuestring, "offline")))) {
		verdict(v, "SchemaViolation", "field 'cloneType' must be 'running' or 'offline'");
		goto out;
	}
	out->offline = p && !strcmp(p->valuestring, "offline");
	if (out->offline && out->start_source) {
		verdict(v, "SchemaViolation", "'startSource' cannot be combined with cloneType 'offline'");
		goto out;
	}
	p = wk_json_path(root, "parallelism");
	out->parallelism = 2;
	if (p) {
		/* Integers only: 2.5, 1e300 and strings are refused, not truncated. The range
		 * is checked before the conversion (out of range, it is undefined). */
		if (!cJSON_IsNumber(p) || !(p->valuedouble >= 1) ||
		    !(p->valuedouble <= CL_MAX_PARALLELISM) ||
		    p->valuedouble != (double)(int)p->valuedouble) {
			verdict(v, "SchemaViolation", "field 'parallelism' must be an integer in 1..%d",
				CL_MAX_PARALLELISM);
			goto out;
		}
		out->parallelism = (int)p->valuedouble;
	}
	p = wk_json_path(root, "reason");
	if (p) {
		if (!cJSON_IsString(p) || strlen(p->valuestring) >= CL_NOTE_MAX) {
			verdict(v, "SchemaViolation", "field 'reason' must be a string under %d bytes",
				CL_NOTE_MAX);
			goto out;
		}
		wk_strlcpy(out->note, p->valuestring, sizeof(out->note));
	}
	if (out->type == CL_SRC_VM && !strcmp(out->source_ns, out->ns))
		for (i = 0; i < out->ntargets; i++) {
			char vm[CL_NAME_MAX + 4];

			snprintf(vm, sizeof(vm), "%s-vm", out->targets[i].name);
			if (!strcmp(vm, out->source_name)) {
				verdict(v, "SchemaViolation", "target '%s' would overwrite the source VM",
					out->targets[i].name);
				goto out;
			}
		}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int cl_tenant_check(const char *tenant, const char *ns, const char *list, bool require_tenant,
		    bool any_tenants, struct cl_verdict *v)
{
	char err[512];

	if (wk_tenant_check(tenant, ns, list, require_tenant, any_tenants, "cloner.require-tenant",
			    err, sizeof(err)) < 0)
		return verdict(v, "Forbidden", "%s", err);
	return 0;
}

cJSON *cl_wukong_for_target(const struct cl_submission *s, size_t i, const cJSON *base_spec,
			    const cJSON *source_vm)
{
	cJSON *o = cJSON_CreateObject(), *meta, *spec, *cs, *ann, *labels;
	const struct cl_target *t = &s->targets[i];
	char par[16];
	size_t d;

	cJSON_AddStringToObject(o, "apiVersion", WK_API_VERSION_WUKONG);
	cJSON_AddStringToObject(o, "kind", "Wukong");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", t->name);
	cJSON_AddStringToObject(meta, "namespace", s->ns);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, WK_LABEL_REQUEST_ID, s->id);
	cJSON_AddStringToObject(labels, CL_LABEL_MANAGED, CL_MANAGED_VALUE);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, WK_ANN_CLONE_REQUEST, s->id);
	snprintf(par, sizeof(par), "%d", s->parallelism);
	cJSON_AddStringToObject(ann, WK_ANN_CLONE_PARALLELISM, par);
	if (s->note[0])
		cJSON_AddStringToObject(ann, WK_ANN_CLONE_REASON, s->note);
	spec = cJSON_IsObject(base_spec) ? cJSON_Duplicate(base_spec, true) : cJSON_CreateObject();
	/* A clone does not inherit the source's pending migration or policy triggers. */
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "migration");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "cloneSource");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "running");
	if (!wk_json_path(spec, "cpu")) {
		const cJSON *c = wk_json_path(source_vm, "spec.template.spec.domain.cpu.cores");

		cJSON_AddNumberToObject(spec, "cpu", cJSON_IsNumber(c) ? c->valuedouble : 1);
	}
	if (!wk_json_path(spec, "memory")) {
		const char *m = wk_json_str(source_vm, "spec.template.spec.domain.memory.guest");

		cJSON_AddStringToObject(spec, "memory", m ? m : "1Gi");
	}
	cJSON_AddBoolToObject(spec, "running", t->running != 0);
	cs = cJSON_AddObjectToObject(spec, "cloneSource");
	cJSON_AddStringToObject(cs, "type", s->type == CL_SRC_VMI ? "vmi" : "vm");
	cJSON_AddStringToObject(cs, s->type == CL_SRC_VMI ? "vmiName" : "vmName", s->source_name);
	cJSON_AddStringToObject(cs, "namespace", s->source_ns);
	cJSON_AddStringToObject(cs, "cloneType", s->offline ? "offline" : "running");
	if (s->start_source)
		cJSON_AddBoolToObject(cs, "startSource", true);
	if (s->ndisks) {
		cJSON *a = cJSON_AddArrayToObject(cs, "disks");

		for (d = 0; d < s->ndisks; d++)
			cJSON_AddItemToArray(a, cJSON_CreateString(s->disks[d]));
	}
	cJSON_AddBoolToObject(cs, "keepSnapshot", s->keep_snapshot);
	cJSON_AddItemToObject(o, "spec", spec);
	return o;
}

void cl_object_name(const struct cl_job_spec *j, char *out, size_t out_size)
{
	const char *parts[] = {j->cluster, j->ns, j->name, j->id};
	char id[64];
	size_t n = strlen(j->name);

	wk_emit_id("x", parts, 4, id, sizeof(id));
	/* A name cut at 40 may end in '-' or '.': trim so the result stays a DNS name. */
	if (n > 40)
		n = 40;
	while (n && (j->name[n - 1] == '-' || j->name[n - 1] == '.'))
		n--;
	snprintf(out, out_size, "%.*s-clone-%.10s", (int)n, j->name, id + 2);
}

void cl_volume_object_name(const struct cl_job_spec *j, const char *vol, char *out, size_t out_size)
{
	char base[80];

	cl_object_name(j, base, sizeof(base));
	snprintf(out, out_size, "%s-%.63s", base, vol);
}

void cl_started_key(const struct cl_job_spec *j, char *out, size_t out_size)
{
	char base[80];

	cl_object_name(j, base, sizeof(base));
	snprintf(out, out_size, "%s%s", CL_ANN_STARTED_PREFIX, base);
}

void cl_smbios_serial(const struct cl_job_spec *j, char *out, size_t out_size)
{
	const char *parts[] = {"smbios", j->cluster, j->ns, j->name, j->id};
	char id[64];
	const char *h;

	wk_emit_id("s", parts, 5, id, sizeof(id));
	h = id + 2;
	snprintf(out, out_size, "%.8s-%.4s-4%.3s-8%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
}
