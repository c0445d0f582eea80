/* sim_schema.c - structural OpenAPI v3 schema checks of custom resources (defaulting, pruning,
 * validation), with causes worded like kube-apiserver's. */
#include "sim_schema.h"

#include "sim_store.h"
#include "wk_buf.h"

#include <math.h>
#include <stdarg.h>
#include <regex.h>

struct vctx {
	cJSON *causes;
	cJSON *unknown;
	int count;
};

static const cJSON *kw(const cJSON *schema, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(schema, name);
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.2e18
			   ? "integer"
			   : "number";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "null";
}

/* How the apiserver prints a bad value after "Invalid value: ". */
static void value_repr(const cJSON *v, char *out, size_t n)
{
	if (cJSON_IsString(v)) {
		char *s = cJSON_PrintUnformatted(v);

		if (strlen(s) > 80)
			snprintf(out, n, "%.76s...\"", s);
		else
			snprintf(out, n, "%s", s);
		free(s);
	} else if (cJSON_IsNumber(v)) {
		if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
			snprintf(out, n, "%.0f", v->valuedouble);
		else
			snprintf(out, n, "%g", v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else {
		snprintf(out, n, "\"%s\"", type_name(v));
	}
}

static void cause(struct vctx *c, const char *reason, const char *field, const char *fmt, ...)
    WK_PRINTF(4, 5);

static void cause(struct vctx *c, const char *reason, const char *field, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	cJSON *o;

	c->count++;
	if (cJSON_GetArraySize(c->causes) >= SIM_SCHEMA_MAX_CAUSES)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "field", field);
	cJSON_AddItemToArray(c->causes, o);
}

static bool type_ok(const char *want, const cJSON *v)
{
	if (!strcmp(want, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(want, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(want, "string"))
		return cJSON_IsString(v);
	if (!strcmp(want, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(want, "number"))
		return cJSON_IsNumber(v);
	if (!strcmp(want, "integer"))
		return cJSON_IsNumber(v) && !strcmp(type_name(v), "integer");
	return true;
}

static void child_path(char *out, size_t n, const char *path, const char *key)
{
	if (!path[0])
		snprintf(out, n, "%s", key);
	else
		snprintf(out, n, "%s.%s", path, key);
}

static void check(struct vctx *c, const cJSON *s, cJSON *v, const char *path, int depth);

static void check_object(struct vctx *c, const cJSON *s, cJSON *v, const char *path, int depth,
			 bool root)
{
	const cJSON *props = kw(s, "properties"), *addl = kw(s, "additionalProperties"), *req, *p;
	bool preserve = cJSON_IsTrue(kw(s, "x-kubernetes-preserve-unknown-fields"));
	char cp[512];
	cJSON *it, *next;

	/* defaults first, as the apiserver applies them before validating */
	cJSON_ArrayForEach(p, props)
	{
		const cJSON *def = kw(p, "default");

		if (def && p->string && !cJSON_GetObjectItemCaseSensitive(v, p->string))
			cJSON_AddItemToObject(v, p->string, cJSON_Duplicate(def, true));
	}
	for (it = v->child; it; it = next) {
		const cJSON *ps;

		next = it->next;
		if (!it->string)
			continue;
		if (root && (!strcmp(it->string, "apiVersion") || !strcmp(it->string, "kind") ||
			     !strcmp(it->string, "metadata")))
			continue;
		child_path(cp, sizeof(cp), path, it->string);
		ps = cJSON_GetObjectItemCaseSensitive(props, it->string);
		if (ps) {
			check(c, ps, it, cp, depth + 1);
		} else if (cJSON_IsObject(addl)) {
			check(c, addl, it, cp, depth + 1);
		} else if (cJSON_IsTrue(addl) || preserve) {
			continue;
		} else {
			if (c->unknown)
				cJSON_AddItemToArray(c->unknown, cJSON_CreateString(cp));
			cJSON_Delete(cJSON_DetachItemViaPointer(v, it));
		}
	}
	req = kw(s, "required");
	cJSON_ArrayForEach(p, req)
	{
		if (cJSON_IsString(p) && !cJSON_GetObjectItemCaseSensitive(v, p->valuestring)) {
			child_path(cp, sizeof(cp), path, p->valuestring);
			cause(c, "FieldValueRequired", cp, "Required value");
		}
	}
}

static void check(struct vctx *c, const cJSON *s, cJSON *v, const char *path, int depth)
{
	const cJSON *t = kw(s, "type"), *e;
	bool int_or_string = cJSON_IsTrue(kw(s, "x-kubernetes-int-or-string"));
	char repr[128];

	if (depth > SIM_SCHEMA_MAX_DEPTH) {
		cause(c, "FieldValueInvalid", path, "Invalid value: \"object\": nesting too deep");
		return;
	}
	if (cJSON_IsNull(v) && cJSON_IsTrue(kw(s, "nullable")))
		return;
	if (int_or_string) {
		if (!cJSON_IsString(v) && strcmp(type_name(v), "integer")) {
			value_repr(v, repr, sizeof(repr));
			cause(c, "FieldValueTypeInvalid", path,
			      "Invalid value: \"%s\": %s in body must be of type integer,string: "
			      "\"%s\"",
			      type_name(v), path, type_name(v));
			return;
		}
	} else if (cJSON_IsString(t) && !type_ok(t->valuestring, v)) {
		cause(c, "FieldValueTypeInvalid", path,
		      "Invalid value: \"%s\": %s in body must be of type %s: \"%s\"", type_name(v),
		      path, t->valuestring, type_name(v));
		return;
	}
	e = kw(s, "enum");
	if (cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0) {
		const cJSON *opt;
		bool found = false;

		cJSON_ArrayForEach(opt, e)
		{
			if (sim_json_equal(opt, v))
				found = true;
		}
		if (!found) {
			struct wk_buf b;
			char one[128];

			wk_buf_init(&b, 600);
			cJSON_ArrayForEach(opt, e)
			{
				value_repr(opt, one, sizeof(one));
				if (wk_buf_addf(&b, "%s%s", b.len ? ", " : "", one) < 0)
					break;
			}
			value_repr(v, repr, sizeof(repr));
			cause(c, "FieldValueNotSupported", path,
			      "Unsupported value: %s: supported values: %s", repr, wk_buf_str(&b));
			wk_buf_release(&b);
		}
	}
	if (cJSON_IsString(v)) {
		const cJSON *pat = kw(s, "pattern"), *mx = kw(s, "maxLength"),
			    *mn = kw(s, "minLength");
		size_t len = strlen(v->valuestring);

		value_repr(v, repr, sizeof(repr));
		if (cJSON_IsNumber(mx) && len > (size_t)mx->valuedouble)
			cause(c, "FieldValueTooLong", path,
			      "Too long: may not be more than %.0f bytes", mx->valuedouble);
		if (cJSON_IsNumber(mn) && len < (size_t)mn->valuedouble)
			cause(c, "FieldValueInvalid", path,
			      "Invalid value: %s: %s in body should be at least %.0f chars long",
			      repr, path, mn->valuedouble);
		if (cJSON_IsString(pat)) {
			regex_t re;

			if (regcomp(&re, pat->valuestring, REG_EXTENDED | REG_NOSUB) == 0) {
				if (regexec(&re, v->valuestring, 0, NULL, 0) != 0)
					cause(c, "FieldValueInvalid", path,
					      "Invalid value: %s: %s in body should match '%s'",
					      repr, path, pat->valuestring);
				regfree(&re);
			}
		}
	}
	if (cJSON_IsNumber(v)) {
		const cJSON *mn = kw(s, "minimum"), *mx = kw(s, "maximum");
		bool xmn = cJSON_IsTrue(kw(s, "exclusiveMinimum")),
		     xmx = cJSON_IsTrue(kw(s, "exclusiveMaximum"));

		value_repr(v, repr, sizeof(repr));
		if (cJSON_IsNumber(mn) && (v->valuedouble < mn->valuedouble ||
					   (xmn && v->valuedouble == mn->valuedouble)))
			cause(c, "FieldValueInvalid", path,
			      "Invalid value: %s: %s in body should be greater than %s%g", repr,
			      path, xmn ? "" : "or equal to ", mn->valuedouble);
		if (cJSON_IsNumber(mx) && (v->valuedouble > mx->valuedouble ||
					   (xmx && v->valuedouble == mx->valuedouble)))
			cause(c, "FieldValueInvalid", path,
			      "Invalid value: %s: %s in body should be less than %s%g", repr, path,
			      xmx ? "" : "or equal to ", mx->valuedouble);
	}
	if (cJSON_IsArray(v)) {
		const cJSON *items = kw(s, "items"), *mx = kw(s, "maxItems"),
			    *mn = kw(s, "minItems");
		int n = cJSON_GetArraySize(v), i = 0;
		char cp[512];
		cJSON *it;

		if (cJSON_IsNumber(mx) && n > mx->valuedouble)
			cause(c, "FieldValueTooMany", path,
			      "Too many: %d: must have at most %.0f items", n, mx->valuedouble);
		if (cJSON_IsNumber(mn) && n < mn->valuedouble)
			cause(c, "FieldValueInvalid", path,
			      "Invalid value: %d: %s in body should have at least %.0f items", n,
			      path, mn->valuedouble);
		if (cJSON_IsObject(items)) {
			cJSON_ArrayForEach(it, v)
			{
				snprintf(cp, sizeof(cp), "%s[%d]", path, i++);
				check(c, items, it, cp, depth + 1);
			}
		}
	}
	if (cJSON_IsObject(v))
		check_object(c, s, v, path, depth, false);
}

int sim_schema_validate(const cJSON *schema, cJSON *obj, cJSON *causes, cJSON *unknown)
{
	struct vctx c = {causes, unknown, 0};

	if (!cJSON_IsObject(obj)) {
		cause(&c, "FieldValueTypeInvalid", "<root>",
		      "Invalid value: \"%s\": must be of type object", type_name(obj));
		return c.count;
	}
	if (cJSON_IsObject(schema))
		check_object(&c, schema, obj, "", 0, true);
	return c.count;
}

char *sim_schema_message(const char *kind, const char *group, const char *name, const cJSON *causes)
{
	struct wk_buf b;
	const cJSON *it;
	int n = cJSON_GetArraySize(causes), i = 0;

	wk_buf_init(&b, 16384);
	if (wk_buf_addf(&b, "%s.%s \"%s\" is invalid: %s", kind, group, name, n > 1 ? "[" : "") < 0)
		goto out;
	cJSON_ArrayForEach(it, causes)
	{
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "field");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "message");

		if (wk_buf_addf(&b, "%s%s: %s", i++ ? ", " : "",
				cJSON_IsString(f) ? f->valuestring : "",
				cJSON_IsString(m) ? m->valuestring : "") < 0)
			break;
	}
	if (n > 1 && wk_buf_adds(&b, "]") < 0) {
		/* over the cap: the message stays without its closing bracket */
	}
out:
	return wk_buf_take(&b, NULL);
}

const cJSON *sim_crd_schema(const cJSON *crd, const char *version)
{
	const cJSON *versions = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(crd, "spec"), "versions");
	const cJSON *v;

	cJSON_ArrayForEach(v, versions)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");

		if (cJSON_IsString(name) && !strcmp(name->valuestring, version))
			return cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(
				       cJSON_GetObjectItemCaseSensitive(v, "schema"),
				       "openAPIV3Schema"),
				   "properties")
				   ? cJSON_GetObjectItemCaseSensitive(
					 cJSON_GetObjectItemCaseSensitive(v, "schema"),
					 "openAPIV3Schema")
				   : NULL;
	}
	return NULL;
}
