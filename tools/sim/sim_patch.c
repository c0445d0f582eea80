/* sim_patch.c - JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on cJSON documents. */
#include "sim_patch.h"

#include "sim_store.h"

#include <limits.h>

static cJSON *merge(cJSON *target, const cJSON *patch)
{
	const cJSON *it;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	cJSON_ArrayForEach(it, patch)
	{
		cJSON *cur;

		if (!it->string)
			continue;
		if (cJSON_IsNull(it)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, it->string);
			continue;
		}
		cur = cJSON_GetObjectItemCaseSensitive(target, it->string);
		if (cur) /* in place: keys keep their order */
			cJSON_ReplaceItemInObjectCaseSensitive(
			    target, it->string, merge(cJSON_Duplicate(cur, true), it));
		else
			cJSON_AddItemToObject(target, it->string, merge(NULL, it));
	}
	return target;
}

cJSON *sim_merge_patch(const cJSON *target, const cJSON *patch)
{
	return merge(target ? cJSON_Duplicate(target, true) : NULL, patch);
}

/* ---- JSON pointer (RFC 6901) ---- */

#define MAX_TOKENS 256

struct ptr {
	char *tok[MAX_TOKENS];
	size_t n;
};

static void ptr_free(struct ptr *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tok[i]);
	p->n = 0;
}

static int ptr_parse(const char *s, struct ptr *p, char *errstr, size_t errstr_size)
{
	p->n = 0;
	if (!s)
		return wk_err(errstr, errstr_size, "missing path");
	if (!*s)
		return 0;
	if (*s != '/')
		return wk_err(errstr, errstr_size, "invalid path '%.64s': must start with '/'", s);
	while (*s == '/') {
		const char *end = strchr(s + 1, '/');
		size_t len = end ? (size_t)(end - s - 1) : strlen(s + 1);
		char *t = wk_xmalloc(len + 1), *o = t;

		if (p->n == MAX_TOKENS) {
			free(t);
			ptr_free(p);
			return wk_err(errstr, errstr_size, "path too deep (more than %d levels)",
				      MAX_TOKENS);
		}
		for (size_t i = 0; i < len; i++) {
			char c = s[1 + i];

			if (c == '~') {
				char d = i + 1 < len ? s[2 + i] : '\0';

				if (d != '0' && d != '1') {
					free(t);
					ptr_free(p);
					return wk_err(errstr, errstr_size,
						      "invalid path: bad escape '~' in a pointer");
				}
				*o++ = d == '0' ? '~' : '/';
				i++;
			} else {
				*o++ = c;
			}
		}
		*o = '\0';
		p->tok[p->n++] = t;
		s += 1 + len;
	}
	return 0;
}

/* Array index: digits only, no leading zero, at most INT_MAX; -1 if not an index. */
static long parse_index(const char *t)
{
	long v = 0;

	if (!*t || (t[0] == '0' && t[1]))
		return -1;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return -1;
		v = v * 10 + (*t - '0');
		if (v > INT_MAX)
			return -1;
	}
	return v;
}

/* The node at the first `depth` tokens of p, or NULL. */
static cJSON *walk(cJSON *doc, const struct ptr *p, size_t depth)
{
	cJSON *cur = doc;

	for (size_t i = 0; i < depth && cur; i++) {
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, p->tok[i]);
		} else if (cJSON_IsArray(cur)) {
			long idx = parse_index(p->tok[i]);

			cur = idx < 0 ? NULL : cJSON_GetArrayItem(cur, (int)idx);
		} else {
			return NULL;
		}
	}
	return cur;
}

/* cJSON_InsertItemInArray of cJSON 1.7.15 fails to insert, so link by hand (0 <= idx < size;
 * cJSON keeps child->prev pointing at the last item). */
static void insert_at(cJSON *arr, int idx, cJSON *value)
{
	cJSON *after = cJSON_GetArrayItem(arr, idx);

	value->next = after;
	value->prev = after->prev;
	after->prev = value;
	if (after == arr->child)
		arr->child = value;
	else
		value->prev->next = value;
}

/* Add value at p in *doc (consumes value). */
static int op_add(cJSON **doc, const struct ptr *p, cJSON *value, bool replace_only,
		  const char *path, char *errstr, size_t errstr_size)
{
	cJSON *parent;
	const char *last;

	if (p->n == 0) {
		cJSON_Delete(*doc);
		*doc = value;
		return 0;
	}
	parent = walk(*doc, p, p->n - 1);
	last = p->tok[p->n - 1];
	if (cJSON_IsObject(parent)) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(parent, last);

		if (replace_only && !cur) {
			cJSON_Delete(value);
			return wk_err(
			    errstr, errstr_size,
			    "replace operation does not apply: doc is missing key: %.200s", path);
		}
		if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
		else
			cJSON_AddItemToObject(parent, last, value);
		return 0;
	}
	if (cJSON_IsArray(parent)) {
		int size = cJSON_GetArraySize(parent);
		long idx = strcmp(last, "-") ? parse_index(last) : (replace_only ? -1 : size);

		if (idx < 0 || idx > size || (replace_only && idx == size)) {
			cJSON_Delete(value);
			return wk_err(errstr, errstr_size, "unable to access invalid index: %.32s",
				      last);
		}
		if (replace_only)
			cJSON_ReplaceItemInArray(parent, (int)idx, value);
		else if (idx == size)
			cJSON_AddItemToArray(parent, value);
		else
			insert_at(parent, (int)idx, value);
		return 0;
	}
	cJSON_Delete(value);
	return wk_err(errstr, errstr_size, "doc is missing path: \"%.200s\"", path);
}

static cJSON *op_detach(cJSON *doc, const struct ptr *p, const char *path, char *errstr,
			size_t errstr_size)
{
	cJSON *parent;
	const char *last;

	if (p->n == 0) {
		wk_err(errstr, errstr_size, "cannot remove the whole document");
		return NULL;
	}
	parent = walk(doc, p, p->n - 1);
	last = p->tok[p->n - 1];
	if (cJSON_IsObject(parent)) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(parent, last);

		if (v)
			return v;
	} else if (cJSON_IsArray(parent)) {
		long idx = parse_index(last);

		if (idx >= 0 && idx < cJSON_GetArraySize(parent))
			return cJSON_DetachItemFromArray(parent, (int)idx);
		wk_err(errstr, errstr_size, "unable to access invalid index: %.32s", last);
		return NULL;
	}
	wk_err(errstr, errstr_size,
	       "remove operation does not apply: doc is missing path: \"%.200s\"", path);
	return NULL;
}

static int apply_op(cJSON **doc, const cJSON *op, char *errstr, size_t errstr_size)
{
	const cJSON *jop = cJSON_GetObjectItemCaseSensitive(op, "op");
	const cJSON *jpath = cJSON_GetObjectItemCaseSensitive(op, "path");
	const cJSON *jfrom = cJSON_GetObjectItemCaseSensitive(op, "from");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
	const char *name, *path;
	struct ptr p = {0}, f = {0};
	int rc = -1;

	if (!cJSON_IsObject(op) || !cJSON_IsString(jop))
		return wk_err(errstr, errstr_size, "invalid JSON patch operation: missing \"op\"");
	if (!cJSON_IsString(jpath))
		return wk_err(errstr, errstr_size,
			      "invalid JSON patch operation: missing \"path\"");
	name = jop->valuestring;
	path = jpath->valuestring;
	if (ptr_parse(path, &p, errstr, errstr_size) < 0)
		return -1;
	if (!strcmp(name, "add") || !strcmp(name, "replace")) {
		if (!value) {
			wk_err(errstr, errstr_size, "%s operation is missing \"value\"", name);
			goto out;
		}
		rc = op_add(doc, &p, cJSON_Duplicate(value, true), !strcmp(name, "replace"), path,
			    errstr, errstr_size);
	} else if (!strcmp(name, "remove")) {
		cJSON *v = op_detach(*doc, &p, path, errstr, errstr_size);

		if (v) {
			cJSON_Delete(v);
			rc = 0;
		}
	} else if (!strcmp(name, "test")) {
		cJSON *cur = walk(*doc, &p, p.n);

		if (!value) {
			wk_err(errstr, errstr_size, "test operation is missing \"value\"");
		} else if (!cur && cJSON_IsNull(value)) {
			rc = 0;
		} else if (!cur || !sim_json_equal(cur, value)) {
			wk_err(errstr, errstr_size, "testing value %.200s failed", path);
		} else {
			rc = 0;
		}
	} else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
		cJSON *v;
		size_t fl;

		if (!cJSON_IsString(jfrom)) {
			wk_err(errstr, errstr_size, "%s operation is missing \"from\"", name);
			goto out;
		}
		if (ptr_parse(jfrom->valuestring, &f, errstr, errstr_size) < 0)
			goto out;
		fl = strlen(jfrom->valuestring);
		if (!strcmp(name, "move") && !strncmp(path, jfrom->valuestring, fl) &&
		    (path[fl] == '/' || path[fl] == '\0')) {
			if (path[fl] == '\0') {
				rc = 0; /* moving onto itself */
				goto out;
			}
			wk_err(errstr, errstr_size,
			       "move operation: \"from\" is a prefix of \"path\"");
			goto out;
		}
		if (!strcmp(name, "move")) {
			v = op_detach(*doc, &f, jfrom->valuestring, errstr, errstr_size);
		} else {
			cJSON *cur = walk(*doc, &f, f.n);

			v = cur ? cJSON_Duplicate(cur, true) : NULL;
			if (!v)
				wk_err(errstr, errstr_size,
				       "copy operation: doc is missing from path: "
				       "\"%.200s\"",
				       jfrom->valuestring);
		}
		if (v)
			rc = op_add(doc, &p, v, false, path, errstr, errstr_size);
	} else {
		wk_err(errstr, errstr_size, "unexpected kind of JSON patch operation: \"%.32s\"",
		       name);
	}
out:
	ptr_free(&p);
	ptr_free(&f);
	return rc;
}

cJSON *sim_json_patch(const cJSON *doc, const cJSON *patch, char *errstr, size_t errstr_size)
{
	cJSON *out;
	const cJSON *op;

	if (!cJSON_IsArray(patch)) {
		wk_err(errstr, errstr_size, "a JSON patch must be a list of operations");
		return NULL;
	}
	if (cJSON_GetArraySize(patch) > SIM_JSONPATCH_MAX_OPS) {
		wk_err(errstr, errstr_size,
		       "the allowed maximum operations in a JSON patch is %d, got %d",
		       SIM_JSONPATCH_MAX_OPS, cJSON_GetArraySize(patch));
		return NULL;
	}
	out = cJSON_Duplicate(doc, true);
	cJSON_ArrayForEach(op, patch)
	{
		if (apply_op(&out, op, errstr, errstr_size) < 0) {
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}
