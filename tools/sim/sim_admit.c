/* sim_admit.c - KubeVirt's validating webhooks that need no model state (see sim_admit.h).
 * Upstream: pkg/virt-api/webhooks/validating-webhook/admitters/vms-admitter.go
 * (validateRunStrategy), pkg/storage/admitters/vmsnapshot.go, pkg/storage/admitters/vmrestore.go,
 * pkg/virt-api/webhooks/validating-webhook/admitters/vmclone-admitter.go, and
 * pkg/util/webhooks/webhooks.go (ToAdmissionResponse, ToAdmissionResponseError), v1.5.0-v1.9.0.
 */
#include "sim_admit.h"

#include "sim_kv.h"

#include "wk_common.h"
#include "wk_json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HOOK_VM "virtualmachine-validator.kubevirt.io"
#define HOOK_SNAP "virtualmachinesnapshot-validator.snapshot.kubevirt.io"
#define HOOK_RESTORE "virtualmachinerestore-validator.snapshot.kubevirt.io"
#define HOOK_CLONE "vm-clone-validator.kubevirt.io"

/* The causes of one review, joined as ToAdmissionResponse joins them. */
struct causes {
	char *why;
	size_t size;
	int n;
};

static void cause(struct causes *c, const char *fmt, ...) WK_PRINTF(2, 3);
static void cause(struct causes *c, const char *fmt, ...)
{
	size_t len = strlen(c->why);
	va_list ap;

	c->n++;
	if (c->n > 10 || len + 3 >= c->size)
		return;
	if (len) {
		snprintf(c->why + len, c->size - len, ", ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->why + len, c->size - len, fmt, ap);
	va_end(ap);
}

static int finish(struct causes *c)
{
	size_t len = strlen(c->why);

	if (!c->n)
		return 0;
	if (c->n > 10 && len < c->size)
		snprintf(c->why + len, c->size - len, ", and %d more validation errors", c->n - 10);
	return 422;
}

static int error(char *why, size_t n, const char *msg)
{
	snprintf(why, n, "%s", msg);
	return 400;
}

static const cJSON *item(const cJSON *o, const char *path)
{
	return wk_json_path(o, path);
}

int sim_admit_vm(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		 size_t why_size)
{
	static const char *const valid[] = {"Always", "RerunOnFailure", "Manual", "Halted", "Once"};
	const cJSON *running = item(obj, "spec.running"), *rs = item(obj, "spec.runStrategy");
	struct causes c = {why, why_size, 0};

	why[0] = 0;
	*hook = HOOK_VM;
	/* A JSON null is Go's nil pointer. */
	if (cJSON_IsNull(running))
		running = NULL;
	if (cJSON_IsNull(rs))
		rs = NULL;
	if (running && rs)
		cause(&c, "Running and RunStrategy are mutually exclusive. Note that Running is "
			  "deprecated, please use RunStrategy instead");
	if (!running && !rs)
		cause(&c, "RunStrategy must be specified");
	if (rs) {
		const char *s = cJSON_IsString(rs) ? rs->valuestring : "";
		bool ok = false;

		for (size_t i = 0; i < WK_ARRAY_SIZE(valid); i++)
			ok = ok || !strcmp(s, valid[i]);
		if (minor >= 9 && !strcmp(s, "WaitAsReceiver")) {
			if (!sim_kv_gate_enabled(minor, kv, "DecentralizedLiveMigration"))
				cause(
				    &c,
				    "Invalid RunStrategy (%s), DecentralizedLiveMigration feature "
				    "gate is not enabled in kubevirt resource",
				    s);
		} else if (!ok) {
			cause(&c, "Invalid RunStrategy (%.200s)", s);
		}
	}
	return finish(&c);
}

int sim_admit_snapshot(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		       size_t why_size)
{
	const char *g = wk_json_str(obj, "spec.source.apiGroup"),
		   *k = wk_json_str(obj, "spec.source.kind");
	struct causes c = {why, why_size, 0};

	why[0] = 0;
	*hook = HOOK_SNAP;
	if (!sim_kv_gate_enabled(minor, kv, "Snapshot"))
		return error(why, why_size, "snapshot feature gate not enabled");
	if (!g)
		cause(&c, "missing apiGroup");
	else if (strcmp(g, "kubevirt.io"))
		cause(&c, "invalid apiGroup");
	else if (!k || strcmp(k, "VirtualMachine"))
		cause(&c, "invalid kind");
	return finish(&c);
}

int sim_admit_restore(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		      size_t why_size)
{
	(void)obj;
	why[0] = 0;
	*hook = HOOK_RESTORE;
	if (!sim_kv_gate_enabled(minor, kv, "Snapshot"))
		return error(why, why_size, "Snapshot/Restore feature gate not enabled");
	return 0;
}

static void filters(struct causes *c, const cJSON *list, const char *field)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *f = cJSON_IsString(it) ? it->valuestring : "";
		size_t len = strlen(f);

		if (len == 1) {
			if (f[0] == '!')
				cause(c, "a negation character is not a valid filter");
			continue;
		}
		if (len > 1 && memchr(f + 1, '!', len - 1))
			cause(
			    c,
			    "%s filter %.200s is invalid: cannot contain a negation character (!); "
			    "FilterRules: NegationChar can be only used at the beginning of the "
			    "filter",
			    field, f);
		if (len > 1 && memchr(f, '*', len - 1))
			cause(
			    c,
			    "%s filter %.200s is invalid: cannot contain a wildcard character (*); "
			    "FilterRules: WildcardChar can be only at the end of the filter",
			    field, f);
	}
}

/* net.ParseMAC's common forms: six hex octets separated by ':' or '-' (the 8- and 20-octet
 * forms Go also accepts are not). */
static bool mac_ok(const char *s)
{
	size_t len = strlen(s);

	if (len != 17)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i % 3 == 2) {
			if (s[i] != s[2] || (s[i] != ':' && s[i] != '-'))
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

int sim_admit_clone(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		    size_t why_size)
{
	const cJSON *src = item(obj, "spec.source"), *tgt = item(obj, "spec.target"), *it;
	const char *sk = wk_json_str(obj, "spec.source.kind"),
		   *sg = wk_json_str(obj, "spec.source.apiGroup"),
		   *sn = wk_json_str(obj, "spec.source.name"),
		   *tk = wk_json_str(obj, "spec.target.kind"),
		   *tn = wk_json_str(obj, "spec.target.name");
	struct causes c = {why, why_size, 0};

	why[0] = 0;
	*hook = HOOK_CLONE;
	if (!sim_kv_gate_enabled(minor, kv, "Snapshot"))
		return error(why, why_size, "snapshot feature gate is not enabled");
	filters(&c, item(obj, "spec.annotationFilters"), "spec.annotations");
	filters(&c, item(obj, "spec.labelFilters"), "spec.labels");
	filters(&c, item(obj, "spec.template.annotationFilters"), "spec.template.annotations");
	filters(&c, item(obj, "spec.template.labelFilters"), "spec.template.labels");
	if (!sk || (strcmp(sk, "VirtualMachine") && strcmp(sk, "VirtualMachineSnapshot")))
		cause(&c, "Source kind is not supported");
	if (cJSON_IsObject(tgt) && (!tk || strcmp(tk, "VirtualMachine")))
		cause(&c, "Target kind is not supported");
	if (!cJSON_IsObject(src)) {
		cause(&c, "Source cannot be nil");
	} else {
		if (!sg || !*sg)
			cause(&c, "Source's APIGroup cannot be empty");
		if (!sk || !*sk)
			cause(&c, "Source's Kind cannot be empty");
		if (!sn || !*sn)
			cause(&c, "Source's name cannot be empty");
	}
	if (cJSON_IsObject(src) && cJSON_IsObject(tgt) && sk && tk &&
	    !strcmp(sk, "VirtualMachine") && !strcmp(tk, "VirtualMachine") &&
	    !strcmp(tn ? tn : "", sn ? sn : ""))
		cause(&c,
		      "Target name cannot be equal to source name when both are VirtualMachines");
	cJSON_ArrayForEach(it, item(obj, "spec.newMacAddresses"))
	{
		const char *mac = cJSON_IsString(it) ? it->valuestring : "";

		if (*mac && !mac_ok(mac))
			cause(&c, "interface %.100s has malformed MAC address (%.100s).",
			      it->string, mac);
	}
	cJSON_ArrayForEach(it, item(obj, "spec.patches"))
	{
		const char *p = cJSON_IsString(it) ? it->valuestring : "";
		cJSON *parsed = cJSON_Parse(p);

		if (!parsed)
			cause(&c, "patch is not valid JSON (%.200s)", p);
		cJSON_Delete(parsed);
	}
	return finish(&c);
}
