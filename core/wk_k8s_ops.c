/* wk_k8s_ops.c - the typed Kubernetes calls (get, list, create, replace, patch, delete, update)
 * on top of wk_k8s_request(). */
#include "wk_k8s_internal.h"
#include "wk_log.h"

#include <cjson/cJSON.h>

#define LIST_ALL_PAGE 500
#define UPDATE_ATTEMPTS 5

/* A path failed validation: no request is made. */
static int refuse(struct wk_k8s_result *out, char *errstr, size_t errstr_size, const char *verb,
		  const struct wk_k8s_resource *res, const char *err)
{
	wk_k8s_result_init(out);
	out->err = WK_K8S_EREFUSED;
	return wk_err(errstr, errstr_size, "%s %s: refused: %s", verb,
		      res && res->plural ? res->plural : "?", err);
}

static int build(struct wk_buf *path, const char *verb, const struct wk_k8s_resource *res,
		 const char *ns, const char *name, const char *sub, struct wk_k8s_result *out,
		 char *errstr, size_t errstr_size)
{
	char err[400];

	wk_buf_init(path, 0);
	if (wk_k8s_path(path, res, ns, name, sub, err, sizeof(err)) < 0) {
		wk_buf_release(path);
		return refuse(out, errstr, errstr_size, verb, res, err);
	}
	return 0;
}

static int call(struct wk_k8s *c, const char *method, struct wk_buf *path, const char *ctype,
		const char *body, struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	int r = wk_k8s_request(c, method, wk_buf_str(path), ctype, body, body ? strlen(body) : 0,
			       out, errstr, errstr_size);

	wk_buf_release(path);
	return r;
}

int wk_k8s_get(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
	       const char *name, struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	struct wk_buf path;

	if (!name)
		return refuse(out, errstr, errstr_size, "get", res, "no object name");
	if (build(&path, "get", res, ns, name, NULL, out, errstr, errstr_size) < 0)
		return -1;
	return call(c, "GET", &path, NULL, NULL, out, errstr, errstr_size);
}

int wk_k8s_list(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		const struct wk_k8s_list_opts *o, struct wk_k8s_result *out, char *errstr,
		size_t errstr_size)
{
	struct wk_buf path;

	if (build(&path, "list", res, ns, NULL, NULL, out, errstr, errstr_size) < 0)
		return -1;
	if (o && o->label_selector && *o->label_selector)
		wk_k8s_query_add(&path, "labelSelector", o->label_selector);
	if (o && o->field_selector && *o->field_selector)
		wk_k8s_query_add(&path, "fieldSelector", o->field_selector);
	if (o && o->limit > 0) {
		char n[24];

		snprintf(n, sizeof(n), "%ld", o->limit);
		wk_k8s_query_add(&path, "limit", n);
	}
	if (o && o->continue_token && *o->continue_token)
		wk_k8s_query_add(&path, "continue", o->continue_token);
	else if (o && o->resource_version)
		/* the server refuses resourceVersion together with continue */
		wk_k8s_query_add(&path, "resourceVersion", o->resource_version);
	return call(c, "GET", &path, NULL, NULL, out, errstr, errstr_size);
}

static const char *list_continue(const cJSON *list)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	const cJSON *cont = cJSON_GetObjectItemCaseSensitive(md, "continue");

	return cJSON_IsString(cont) && *cont->valuestring ? cont->valuestring : NULL;
}

int wk_k8s_list_all(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		    const struct wk_k8s_list_opts *opts, struct wk_k8s_result *out, char *errstr,
		    size_t errstr_size)
{
	struct wk_k8s_list_opts o = {0};
	const size_t total_cap = c->opt.max_body * 4;
	bool restarted = false;
	cJSON *merged = NULL, *items = NULL;
	char *cont = NULL;
	size_t total = 0;
	int pages = 0;

	if (opts)
		o = *opts;
	if (o.limit <= 0)
		o.limit = LIST_ALL_PAGE;
	o.continue_token = NULL;
	for (;;) {
		struct wk_k8s_result page;
		cJSON *pitems;
		char *printed;

		o.continue_token = cont;
		if (wk_k8s_list(c, res, ns, &o, &page, errstr, errstr_size) < 0) {
			if (page.err == WK_K8S_EGONE && cont && !restarted) {
				/* continue token expired: the whole list must be from one snapshot
				 */
				wk_info("list %s: continue token expired, listing again",
					res->plural);
				restarted = true;
				free(cont);
				cont = NULL;
				cJSON_Delete(merged);
				merged = items = NULL;
				total = 0;
				wk_k8s_result_release(&page);
				continue;
			}
			free(cont);
			cJSON_Delete(merged);
			*out = page;
			return -1;
		}
		pages++;
		pitems = cJSON_GetObjectItemCaseSensitive(page.body, "items");
		if (!cJSON_IsObject(page.body) ||
		    (pitems && !cJSON_IsArray(pitems) && !cJSON_IsNull(pitems))) {
			free(cont);
			cJSON_Delete(merged);
			wk_k8s_result_release(&page);
			wk_k8s_result_init(out);
			out->err = WK_K8S_EOTHER;
			return wk_err(errstr, errstr_size, "list %s: response is not a list",
				      res->plural);
		}
		/* Count bytes as the server sent them (roughly: re-print is the same size). */
		printed = cJSON_PrintUnformatted(page.body);
		total += printed ? strlen(printed) : 0;
		free(printed);
		if (total > total_cap) {
			free(cont);
			cJSON_Delete(merged);
			wk_k8s_result_release(&page);
			wk_k8s_result_init(out);
			out->err = WK_K8S_ETOOBIG;
			return wk_err(errstr, errstr_size, "list %s: pages exceed the %zu-byte cap",
				      res->plural, total_cap);
		}
		free(cont);
		cont = list_continue(page.body) ? wk_xstrdup(list_continue(page.body)) : NULL;
		if (!merged) {
			merged = wk_k8s_result_take(&page);
			items = cJSON_GetObjectItemCaseSensitive(merged, "items");
			if (!cJSON_IsArray(items)) {
				cJSON_DeleteItemFromObjectCaseSensitive(merged, "items");
				items = cJSON_AddArrayToObject(merged, "items");
			}
		} else if (cJSON_IsArray(pitems)) {
			cJSON *it;

			while ((it = cJSON_DetachItemFromArray(pitems, 0)) != NULL)
				cJSON_AddItemToArray(items, it);
		}
		wk_k8s_result_release(&page);
		if (!cont)
			break;
	}
	{
		cJSON *md = cJSON_GetObjectItemCaseSensitive(merged, "metadata");

		cJSON_DeleteItemFromObjectCaseSensitive(md, "continue");
		cJSON_DeleteItemFromObjectCaseSensitive(md, "remainingItemCount");
	}
	wk_k8s_result_init(out);
	out->http_code = 200;
	out->body = merged;
	out->attempts = pages;
	return 0;
}

static char *print(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);

	if (!s)
		WK_BUG("cJSON_PrintUnformatted failed");
	return s;
}

int wk_k8s_create(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const cJSON *obj, struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	struct wk_buf path;
	cJSON *copy, *md;
	char *body;
	int r;

	if (!cJSON_IsObject(obj))
		return refuse(out, errstr, errstr_size, "create", res,
			      "object is not a JSON object");
	if (build(&path, "create", res, ns, NULL, NULL, out, errstr, errstr_size) < 0)
		return -1;
	/* What the server sets itself must not be sent (a resourceVersion gives a 500). */
	copy = cJSON_Duplicate(obj, true);
	md = cJSON_GetObjectItemCaseSensitive(copy, "metadata");
	if (!cJSON_IsObject(md)) {
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "metadata");
		md = cJSON_AddObjectToObject(copy, "metadata");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(md, "uid");
	cJSON_DeleteItemFromObjectCaseSensitive(md, "creationTimestamp");
	cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
	if (ns) {
		cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
		cJSON_AddStringToObject(md, "namespace", ns);
	}
	body = print(copy);
	cJSON_Delete(copy);
	r = call(c, "POST", &path, "application/json", body, out, errstr, errstr_size);
	free(body);
	return r;
}

int wk_k8s_replace(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		   const char *name, const char *sub, const cJSON *obj, struct wk_k8s_result *out,
		   char *errstr, size_t errstr_size)
{
	struct wk_buf path;
	char *body;
	int r;

	if (!name || !cJSON_IsObject(obj))
		return refuse(out, errstr, errstr_size, "replace", res, "no name or no object");
	if (build(&path, "replace", res, ns, name, sub, out, errstr, errstr_size) < 0)
		return -1;
	body = print(obj);
	r = call(c, "PUT", &path, "application/json", body, out, errstr, errstr_size);
	free(body);
	return r;
}

int wk_k8s_patch(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		 const char *name, const char *sub, enum wk_k8s_patch_type type, const char *patch,
		 struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	static const char *const ctypes[] = {"application/merge-patch+json",
					     "application/json-patch+json",
					     "application/strategic-merge-patch+json"};
	struct wk_buf path;

	if (!name || !patch || (size_t)type >= WK_ARRAY_SIZE(ctypes))
		return refuse(out, errstr, errstr_size, "patch", res, "no name, patch or type");
	if (build(&path, "patch", res, ns, name, sub, out, errstr, errstr_size) < 0)
		return -1;
	return call(c, "PATCH", &path, ctypes[type], patch, out, errstr, errstr_size);
}

int wk_k8s_delete(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const char *name, const struct wk_k8s_delete_opts *o, struct wk_k8s_result *out,
		  char *errstr, size_t errstr_size)
{
	struct wk_buf path;
	char *body = NULL;
	int r;

	if (!name)
		return refuse(out, errstr, errstr_size, "delete", res, "no object name");
	if (build(&path, "delete", res, ns, name, NULL, out, errstr, errstr_size) < 0)
		return -1;
	if (o && (o->propagation_policy || o->precondition_uid || o->precondition_rv ||
		  o->grace_period_s >= 0)) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "kind", "DeleteOptions");
		cJSON_AddStringToObject(d, "apiVersion", "v1");
		if (o->propagation_policy)
			cJSON_AddStringToObject(d, "propagationPolicy", o->propagation_policy);
		if (o->grace_period_s >= 0)
			cJSON_AddNumberToObject(d, "gracePeriodSeconds", (double)o->grace_period_s);
		if (o->precondition_uid || o->precondition_rv) {
			cJSON *p = cJSON_AddObjectToObject(d, "preconditions");

			if (o->precondition_uid)
				cJSON_AddStringToObject(p, "uid", o->precondition_uid);
			if (o->precondition_rv)
				cJSON_AddStringToObject(p, "resourceVersion", o->precondition_rv);
		}
		body = print(d);
		cJSON_Delete(d);
	}
	r = call(c, "DELETE", &path, body ? "application/json" : NULL, body, out, errstr,
		 errstr_size);
	free(body);
	return r;
}

int wk_k8s_update(struct wk_k8s *c, const struct wk_k8s_resource *res, const char *ns,
		  const char *name, const char *sub, wk_k8s_mutate_fn mutate, void *opaque,
		  int max_attempts, struct wk_k8s_result *out, char *errstr, size_t errstr_size)
{
	if (max_attempts <= 0)
		max_attempts = UPDATE_ATTEMPTS;
	for (int attempt = 1;; attempt++) {
		struct wk_k8s_result cur;
		struct wk_buf path;
		int m;

		if (build(&path, "update", res, ns, name, sub, out, errstr, errstr_size) < 0)
			return -1;
		if (call(c, "GET", &path, NULL, NULL, &cur, errstr, errstr_size) < 0) {
			*out = cur;
			return -1;
		}
		m = mutate(cur.body, opaque, errstr, errstr_size);
		if (m != 0) {
			*out = cur;
			if (m < 0)
				out->err = WK_K8S_EREFUSED;
			return m < 0 ? -1 : 0;
		}
		if (wk_k8s_replace(c, res, ns, name, sub, cur.body, out, errstr, errstr_size) ==
			0 ||
		    out->err != WK_K8S_ECONFLICT || attempt >= max_attempts) {
			wk_k8s_result_release(&cur);
			return out->err == WK_K8S_OK ? 0 : -1;
		}
		wk_debug("update %s '%s/%s': conflict, attempt %d of %d", res->plural, ns ? ns : "",
			 name, attempt, max_attempts);
		wk_k8s_result_release(&cur);
		wk_k8s_result_release(out);
	}
}
