/* test_sim_api.c - the simulator's REST layer without HTTP: routing (incl. hostile paths), auth,
 * discovery, Status shapes, writes, patches, lists with paging/selectors, watches, fault hooks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_api.h"

#include <unistd.h>

#define ADMIN "admin-token-0123456789"
#define READER "reader-token-0123456789"

struct kv {
	const char *k, *v;
};

struct fixture {
	struct sim_store *st;
	struct sim_api *api;
	int fault_code;
	int controls;
	int admits; /* admission hook calls */
};

static const char *lookup(void *ctx, const char *key)
{
	for (const struct kv *a = ctx; a && a->k; a++)
		if (!strcmp(a->k, key))
			return a->v;
	return NULL;
}

static int hook_fault(void *opaque, const char *verb, const char *plural, int *latency)
{
	struct fixture *f = opaque;

	*latency = 0;
	return !strcmp(verb, "list") && !strcmp(plural, "nodes") ? f->fault_code : 0;
}

static int hook_control(void *opaque, const char *method, const char *path, const char *body,
			size_t len, struct wk_buf *out)
{
	struct fixture *f = opaque;

	(void)body;
	(void)len;
	f->controls++;
	return wk_buf_addf(out, "{\"m\":\"%s\",\"p\":\"%s\"}", method, path) < 0 ? 500 : 200;
}

/* A stand-in webhook: refuses Wukongs named "denied-*" on create (400) and a change of
 * spec.cpu of Wukong "a1" (422). */
static int hook_admit(void *opaque, const struct sim_resource *res, const char *ns,
		      const cJSON *old, const cJSON *obj, char *msg, size_t msg_size)
{
	struct fixture *f = opaque;
	const cJSON *name = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "name");

	(void)res;
	(void)ns;
	f->admits++;
	if (!old && cJSON_IsString(name) && !strncmp(name->valuestring, "denied-", 7)) {
		snprintf(msg, msg_size, "admission webhook \"t.example\" denied the request: no");
		return 400;
	}
	if (old && cJSON_IsString(name) && !strcmp(name->valuestring, "a1") &&
	    !cJSON_Compare(cJSON_GetObjectItem(cJSON_GetObjectItem(old, "spec"), "cpu"),
			   cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "cpu"), 1)) {
		snprintf(msg, msg_size, "admission webhook \"t.example\" denied the request: cpu");
		return 422;
	}
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = wk_xcalloc(1, sizeof(*f));
	struct sim_api_hooks hooks = {f, hook_fault, NULL, hook_control, hook_admit};
	char err[256];

	f->st = sim_store_new(64);
	f->api = sim_api_new(f->st, &hooks);
	sim_api_add_token(f->api, ADMIN, "admin", NULL, NULL);
	sim_api_add_token(f->api, READER, "reader", "default", "get,list,watch");
	sim_api_ensure_namespace(f->api, "default");
	sim_api_ensure_namespace(f->api, "default"); /* idempotent */
	if (sim_api_load_crd(f->api, "deploy/crds/wukong.yaml", err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	sim_api_set_bookmark_interval(f->api, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sim_api_destroy(f->api);
	sim_store_destroy(f->st);
	free(f);
	return 0;
}

/* Run one request; returns the parsed body (caller frees) and the code in *code. */
static cJSON *call(struct fixture *f, const char *token, const char *method, const char *path,
		   const struct kv *args, const char *ctype, const char *body, int *code)
{
	struct sim_req req = {0};
	struct sim_resp resp;
	char auth[128];
	cJSON *o;

	snprintf(auth, sizeof(auth), "Bearer %s", token ? token : "");
	req.method = method;
	req.path = path;
	req.arg = lookup;
	req.arg_ctx = (void *)args;
	req.authorization = token ? auth : NULL;
	req.content_type = ctype;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	sim_resp_init(&resp);
	sim_api_handle(f->api, &req, &resp);
	*code = resp.code;
	assert_null(resp.watch);
	o = cJSON_Parse(wk_buf_str(&resp.body) ? wk_buf_str(&resp.body) : "null");
	sim_resp_release(&resp);
	return o;
}

static const char *sget(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(o, a);

	if (b)
		v = cJSON_GetObjectItem(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define WK_PATH "/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs"
#define WK_BODY(name, cpu)                                                                         \
	"{\"apiVersion\":\"vm.novasphere.dev/"                                                     \
	"v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{\"name\":"                                   \
	"\"" name "\"},\"spec\":{\"cpu\":" #cpu                                                    \
	",\"memory\":\"1Gi\"},\"status\":{\"phase\":\"X\"}}"

static void auth(void **state)
{
	struct fixture *f = *state;
	cJSON *o;
	int code;

	o = call(f, NULL, "GET", "/version", NULL, NULL, NULL, &code);
	assert_int_equal(code, 401);
	assert_string_equal(sget(o, "reason", NULL), "Unauthorized");
	assert_null(cJSON_GetObjectItem(o, "details"));
	cJSON_Delete(o);
	o = call(f, "wrong-token-0123456789", "GET", WK_PATH, NULL, NULL, NULL, &code);
	assert_int_equal(code, 401);
	cJSON_Delete(o);
	o = call(f, "", "GET", WK_PATH, NULL, NULL, NULL, &code);
	assert_int_equal(code, 401);
	cJSON_Delete(o);
	/* reader: may list in default, not elsewhere, not cluster-wide, not write */
	o = call(f, READER, "GET", WK_PATH, NULL, NULL, NULL, &code);
	assert_int_equal(code, 200);
	cJSON_Delete(o);
	o = call(f, READER, "GET", "/apis/vm.novasphere.dev/v1alpha1/namespaces/other/wukongs",
		 NULL, NULL, NULL, &code);
	assert_int_equal(code, 403);
	assert_string_equal(sget(o, "message", NULL),
			    "wukongs.vm.novasphere.dev is forbidden: User \"reader\" cannot list "
			    "resource \"wukongs\" in API group \"vm.novasphere.dev\" in the "
			    "namespace \"other\"");
	assert_string_equal(sget(o, "details", "kind"), "wukongs");
	cJSON_Delete(o);
	o = call(f, READER, "GET", "/api/v1/nodes", NULL, NULL, NULL, &code);
	assert_int_equal(code, 403);
	assert_non_null(strstr(sget(o, "message", NULL), "at the cluster scope"));
	cJSON_Delete(o);
	o = call(f, READER, "DELETE", WK_PATH "/x", NULL, NULL, NULL, &code);
	assert_int_equal(code, 403);
	assert_string_equal(sget(o, "details", "name"), "x");
	cJSON_Delete(o);
	o = call(f, READER, "GET", "/sim/nodes", NULL, NULL, NULL, &code);
	assert_int_equal(code, 403);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", "/sim/nodes/n1/fail", NULL, NULL, "{}", &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "p", NULL), "/nodes/n1/fail");
	cJSON_Delete(o);
}

static void discovery(void **state)
{
	struct fixture *f = *state;
	cJSON *o, *r;
	int code;
	bool status = false, wk = false;

	o = call(f, ADMIN, "GET", "/version", NULL, NULL, NULL, &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "minor", NULL), "32");
	assert_string_equal(sget(o, "major", NULL), "1");
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/apis", NULL, NULL, NULL, &code);
	assert_string_equal(sget(o, "kind", NULL), "APIGroupList");
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(o, "groups")) >= 8);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/apis/vm.novasphere.dev/v1alpha1", NULL, NULL, NULL, &code);
	assert_int_equal(code, 200);
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(o, "resources"))
	{
		if (!strcmp(sget(r, "name", NULL), "wukongs")) {
			wk = true;
			assert_string_equal(
			    cJSON_GetArrayItem(cJSON_GetObjectItem(r, "shortNames"), 0)
				->valuestring,
			    "wk");
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "verbs")), 8);
		}
		if (!strcmp(sget(r, "name", NULL), "wukongs/status"))
			status = true;
	}
	assert_true(wk && status);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/apis/migrations.kubevirt.io", NULL, NULL, NULL, &code);
	assert_string_equal(sget(o, "preferredVersion", "version"), "v1alpha1");
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/api", NULL, NULL, NULL, &code);
	assert_string_equal(sget(o, "kind", NULL), "APIVersions");
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/openapi/v3", NULL, NULL, NULL, &code);
	assert_non_null(sget(cJSON_GetObjectItem(o, "paths"), "apis/vm.novasphere.dev/v1alpha1",
			     "serverRelativeURL"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/openapi/v3/apis/vm.novasphere.dev/v1alpha1", NULL, NULL, NULL,
		 &code);
	assert_int_equal(code, 200);
	r = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(o, "paths"),
	    "/apis/vm.novasphere.dev/v1alpha1/namespaces/{namespace}/wukongs/{name}");
	assert_non_null(r);
	assert_string_equal(
	    sget(cJSON_GetObjectItem(r, "patch"), "x-kubernetes-group-version-kind", "kind"),
	    "Wukong");
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/openapi/v2", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", "/apis/nope.example.com/v1", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	assert_string_equal(sget(o, "message", NULL),
			    "the server could not find the requested resource");
	cJSON_Delete(o);
}

static void hostile_paths(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *path;
		int code;
	} cases[] = {
	    {"/api/v1/namespaces/../secrets", 400},
	    {"/api/v1/namespaces/default/../../secrets", 404},
	    {"/api/v1/namespaces/./pods", 400},
	    {"/api/v1/namespaces/%2e%2e/events", 400},
	    {"/api/v1/namespaces//events", 404},
	    {"/api/v1/replicationcontrollers", 404}, /* not served */
	    {"/api/v1/namespaces/default/secrets/x", 404},
	    {"/apis/vm.novasphere.dev/v1alpha1/wukongs/x", 404},
	    {"/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs/x/scale", 404},
	    {"/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs/x/status/y", 404},
	    {"/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs/x/status/y/z/w/v", 404},
	    {"/apis/storage.k8s.io/v1/storageclasses/x/status", 404},
	    {"/apis/vm.novasphere.dev/v1alpha1/namespaces/default/wukongs/a%00b", 400},
	    {"/", 404},
	    {"//", 404},
	    {"/apis/", 200},
	    {"relative", 400},
	};
	char *longname = wk_xmalloc(SIM_API_MAX_PATH + 100), path[400];
	cJSON *o;
	int code;

	for (size_t i = 0; i < WK_ARRAY_SIZE(cases); i++) {
		o = call(f, ADMIN, "GET", cases[i].path, NULL, NULL, NULL, &code);
		if (code != cases[i].code)
			fail_msg("%s: got %d, want %d", cases[i].path, code, cases[i].code);
		assert_non_null(o);
		cJSON_Delete(o);
	}
	/* a 254-character name is refused; 253 is a normal 404 */
	memset(longname, 'a', 254);
	longname[254] = '\0';
	snprintf(path, sizeof(path), WK_PATH "/%s", longname);
	o = call(f, ADMIN, "GET", path, NULL, NULL, NULL, &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	longname[253] = '\0';
	snprintf(path, sizeof(path), WK_PATH "/%s", longname);
	o = call(f, ADMIN, "GET", path, NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
	/* overlong namespace (64) */
	snprintf(path, sizeof(path), "/api/v1/namespaces/%.64s/events", longname);
	o = call(f, ADMIN, "GET", path, NULL, NULL, NULL, &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	/* path over the cap */
	memset(longname, 'a', SIM_API_MAX_PATH + 10);
	longname[0] = '/';
	longname[SIM_API_MAX_PATH + 10] = '\0';
	o = call(f, ADMIN, "GET", longname, NULL, NULL, NULL, &code);
	assert_int_equal(code, 414);
	cJSON_Delete(o);
	free(longname);
	/* methods */
	o = call(f, ADMIN, "POST", "/version", NULL, NULL, "{}", &code);
	assert_int_equal(code, 405);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH "/x", NULL, NULL, "{}", &code);
	assert_int_equal(code, 405);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", "/apis/metrics.k8s.io/v1beta1/nodes", NULL, NULL, "{}", &code);
	assert_int_equal(code, 405);
	cJSON_Delete(o);
}

static void create_get_update(void **state)
{
	struct fixture *f = *state;
	static const struct kv strict[] = {{"fieldValidation", "Strict"}, {NULL, NULL}};
	cJSON *o;
	int code;
	char body[512], rv[32];

	o = call(f, ADMIN, "POST", WK_PATH, NULL, "application/json", WK_BODY("c1", 2), &code);
	assert_int_equal(code, 201);
	assert_null(cJSON_GetObjectItem(o, "status")); /* dropped on create */
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "generation")->valueint, 1);
	snprintf(rv, sizeof(rv), "%s", sget(o, "metadata", "resourceVersion"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, "application/json", WK_BODY("c1", 2), &code);
	assert_int_equal(code, 409);
	assert_string_equal(sget(o, "reason", NULL), "AlreadyExists");
	assert_string_equal(sget(o, "details", "kind"), "wukongs");
	assert_string_equal(sget(o, "details", "group"), "vm.novasphere.dev");
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", WK_PATH "/nope", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	assert_string_equal(sget(o, "message", NULL),
			    "wukongs.vm.novasphere.dev \"nope\" not found");
	assert_string_equal(sget(o, "status", NULL), "Failure");
	assert_string_equal(o->child->string, "kind"); /* Go struct field order */
	cJSON_Delete(o);
	/* missing namespace */
	o = call(f, ADMIN, "POST", "/apis/vm.novasphere.dev/v1alpha1/namespaces/ghost/wukongs",
		 NULL, "application/json", WK_BODY("c1", 2), &code);
	assert_int_equal(code, 404);
	assert_string_equal(sget(o, "message", NULL), "namespaces \"ghost\" not found");
	cJSON_Delete(o);
	/* invalid: schema + name */
	o = call(f, ADMIN, "POST", WK_PATH, NULL, "application/json", WK_BODY("Bad_Name", "\"x\""),
		 &code);
	assert_int_equal(code, 422);
	assert_string_equal(sget(o, "reason", NULL), "Invalid");
	assert_string_equal(sget(o, "details", "kind"), "Wukong");
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "details"), "causes")),
	    2);
	assert_non_null(strstr(sget(o, "message", NULL),
			       "Wukong.vm.novasphere.dev \"Bad_Name\" is invalid: [metadata.name"));
	cJSON_Delete(o);
	/* unknown field: pruned by default, 400 under Strict */
	o = call(f, ADMIN, "POST", WK_PATH, strict, "application/json",
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"s1\"},\"spec\":{\"cpu\":1,\"memory\":\"1Gi\",\"colour\":\"red\"}}",
		 &code);
	assert_int_equal(code, 400);
	assert_string_equal(sget(o, "message", NULL),
			    "strict decoding error: unknown field \"spec.colour\"");
	cJSON_Delete(o);
	/* bodies: kind missing, wrong kind, garbage, resourceVersion set, yaml, protobuf */
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, "{\"metadata\":{\"name\":\"k\"}}", &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL,
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Node\"}", &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, "{\"apiVersion\":", &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, "", &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL,
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"r\",\"resourceVersion\":\"3\"},\"spec\":{\"cpu\":1,\"memory\":\"1\"}}",
		 &code);
	assert_int_equal(code, 500);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, "application/yaml",
		 "apiVersion: vm.novasphere.dev/v1alpha1\nkind: Wukong\nmetadata: {name: y1}\n"
		 "spec: {cpu: 1, memory: 1Gi}\n",
		 &code);
	assert_int_equal(code, 201);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", "/api/v1/namespaces", NULL,
		 "application/vnd.kubernetes.protobuf", "k8s\x00", &code);
	assert_int_equal(code, 415);
	cJSON_Delete(o);

	/* PUT: RV required for CRs, stale RV conflicts, name mismatch, spec change bumps */
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"c1\"},\"spec\":{\"cpu\":3,\"memory\":\"1Gi\"}}");
	o = call(f, ADMIN, "PUT", WK_PATH "/c1", NULL, NULL, body, &code);
	assert_int_equal(code, 422);
	assert_non_null(strstr(sget(o, "message", NULL), "must be specified for an update"));
	cJSON_Delete(o);
	snprintf(
	    body, sizeof(body),
	    "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
	    "\"name\":\"c1\",\"resourceVersion\":\"1\"},\"spec\":{\"cpu\":3,\"memory\":\"1Gi\"}}");
	o = call(f, ADMIN, "PUT", WK_PATH "/c1", NULL, NULL, body, &code);
	assert_int_equal(code, 409);
	assert_string_equal(sget(o, "reason", NULL), "Conflict");
	cJSON_Delete(o);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"zz\",\"resourceVersion\":\"%s\"},\"spec\":{\"cpu\":3}}",
		 rv);
	o = call(f, ADMIN, "PUT", WK_PATH "/c1", NULL, NULL, body, &code);
	assert_int_equal(code, 400);
	assert_string_equal(sget(o, "message", NULL),
			    "the name of the object (zz) does not match the name on the URL (c1)");
	cJSON_Delete(o);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"c1\",\"resourceVersion\":\"%s\"},\"spec\":{\"cpu\":3,\"memory\":"
		 "\"1Gi\"},\"status\":{\"phase\":\"Ignored\"}}",
		 rv);
	o = call(f, ADMIN, "PUT", WK_PATH "/c1", NULL, NULL, body, &code);
	assert_int_equal(code, 200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "generation")->valueint, 2);
	assert_null(cJSON_GetObjectItem(o, "status"));
	cJSON_Delete(o);
	/* PUT a schema violation */
	o = call(f, ADMIN, "GET", WK_PATH "/c1", NULL, NULL, NULL, &code);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"c1\",\"resourceVersion\":\"%s\"},\"spec\":{\"cpu\":-1,\"memory\":"
		 "\"1Gi\"}}",
		 sget(o, "metadata", "resourceVersion"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "PUT", WK_PATH "/c1", NULL, NULL, body, &code);
	assert_int_equal(code, 422);
	cJSON_Delete(o);
}

static void admission(void **state)
{
	struct fixture *f = *state;
	static const struct kv dry[] = {{"dryRun", "All"}, {NULL, NULL}};
	cJSON *o;
	int code;

	/* create refused: the webhook's code and message, no reason for a 400, nothing stored */
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("denied-1", 2), &code);
	assert_int_equal(code, 400);
	assert_string_equal(sget(o, "kind", NULL), "Status");
	assert_string_equal(sget(o, "status", NULL), "Failure");
	assert_string_equal(sget(o, "message", NULL),
			    "admission webhook \"t.example\" denied the request: no");
	assert_null(cJSON_GetObjectItem(o, "reason"));
	assert_int_equal(cJSON_GetObjectItem(o, "code")->valueint, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", WK_PATH "/denied-1", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
	/* dry-run runs the webhooks too */
	o = call(f, ADMIN, "POST", WK_PATH, dry, NULL, WK_BODY("denied-2", 2), &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	/* schema validation comes first: an invalid object never reaches the webhook */
	int before = f->admits;
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("Denied-Caps", 2), &code);
	assert_int_equal(code, 422);
	assert_int_equal(f->admits, before);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("a1", 2), &code);
	assert_int_equal(code, 201);
	cJSON_Delete(o);
	/* update refused (merge patch and JSON patch): 422 Invalid, the object unchanged */
	o = call(f, ADMIN, "PATCH", WK_PATH "/a1", NULL, "application/merge-patch+json",
		 "{\"spec\":{\"cpu\":4}}", &code);
	assert_int_equal(code, 422);
	assert_string_equal(sget(o, "reason", NULL), "Invalid");
	assert_string_equal(sget(o, "message", NULL),
			    "admission webhook \"t.example\" denied the request: cpu");
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/a1", NULL, "application/json-patch+json",
		 "[{\"op\":\"replace\",\"path\":\"/spec/cpu\",\"value\":3}]", &code);
	assert_int_equal(code, 422);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", WK_PATH "/a1", NULL, NULL, NULL, &code);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "cpu")->valueint, 2);
	cJSON_Delete(o);
	/* an update the webhook allows goes through */
	o = call(f, ADMIN, "PATCH", WK_PATH "/a1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}", &code);
	assert_int_equal(code, 200);
	cJSON_Delete(o);
	/* the status subresource is not admitted by the resource's webhooks */
	before = f->admits;
	o = call(f, ADMIN, "PATCH", WK_PATH "/a1/status", NULL, "application/merge-patch+json",
		 "{\"status\":{\"phase\":\"Running\"}}", &code);
	assert_int_equal(code, 200);
	assert_int_equal(f->admits, before);
	cJSON_Delete(o);
}

static void patches(void **state)
{
	struct fixture *f = *state;
	cJSON *o;
	int code;

	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("p1", 2), &code);
	assert_int_equal(code, 201);
	cJSON_Delete(o);
	/* status subresource: only status changes, generation stays */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1/status", NULL, "application/merge-patch+json",
		 "{\"status\":{\"phase\":\"Running\",\"observedGeneration\":1},\"spec\":{\"cpu\":"
		 "9}}",
		 &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "status", "phase"), "Running");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "cpu")->valueint, 2);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "generation")->valueint, 1);
	cJSON_Delete(o);
	/* an invalid status is refused */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1/status", NULL, "application/merge-patch+json",
		 "{\"status\":{\"phase\":\"Dancing\"}}", &code);
	assert_int_equal(code, 422);
	cJSON_Delete(o);
	/* main endpoint: spec bumps generation, status in the patch is ignored */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/merge-patch+json",
		 "{\"spec\":{\"cpu\":4},\"status\":{\"phase\":\"Failed\"}}", &code);
	assert_int_equal(code, 200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "generation")->valueint, 2);
	assert_string_equal(sget(o, "status", "phase"), "Running");
	cJSON_Delete(o);
	/* labels only: no bump */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL,
		 "application/merge-patch+json; charset=utf-8",
		 "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}", &code);
	assert_int_equal(code, 200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "generation")->valueint, 2);
	cJSON_Delete(o);
	/* JSON patch with a failing test → 422, with a stale RV → 409 */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/json-patch+json",
		 "[{\"op\":\"test\",\"path\":\"/spec/cpu\",\"value\":99}]", &code);
	assert_int_equal(code, 422);
	assert_non_null(strstr(sget(o, "message", NULL), "testing value /spec/cpu failed"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"resourceVersion\":\"1\"},\"spec\":{\"cpu\":5}}", &code);
	assert_int_equal(code, 409);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/json-patch+json",
		 "[{\"op\":\"replace\",\"path\":\"/spec/cpu\",\"value\":6}]", &code);
	assert_int_equal(code, 200);
	cJSON_Delete(o);
	/* patch bodies of the wrong shape */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/json-patch+json", "{}",
		 &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/merge-patch+json", "[]",
		 &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	/* strategic merge: 415 on a CR, fine on a node; apply-patch 415 */
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/strategic-merge-patch+json",
		 "{\"spec\":{\"cpu\":7}}", &code);
	assert_int_equal(code, 415);
	assert_string_equal(sget(o, "reason", NULL), "UnsupportedMediaType");
	assert_string_equal(
	    sget(o, "message", NULL),
	    "the body of the request was in an unknown format - accepted media types "
	    "include: application/json-patch+json, application/merge-patch+json, "
	    "application/apply-patch+yaml");
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/p1", NULL, "application/apply-patch+yaml", "a: b",
		 &code);
	assert_int_equal(code, 415);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", "/api/v1/nodes", NULL, NULL,
		 "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"phase\":\"x\"}}", &code);
	assert_int_equal(code, 201);
	assert_non_null(cJSON_GetObjectItem(o, "status")); /* nodes keep status on create */
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", "/api/v1/nodes/n1", NULL,
		 "application/strategic-merge-patch+json", "{\"spec\":{\"unschedulable\":true}}",
		 &code);
	assert_int_equal(code, 200);
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "unschedulable")));
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", "/api/v1/nodes/n1", NULL,
		 "application/strategic-merge-patch+json", "{\"spec\":{\"unschedulable\":null}}",
		 &code);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "unschedulable"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/ghost", NULL, "application/merge-patch+json", "{}",
		 &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
}

static void deletes(void **state)
{
	struct fixture *f = *state;
	cJSON *o;
	int code;

	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL,
		 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
		 "\"name\":\"d1\",\"finalizers\":[\"a/b\"]},\"spec\":{\"cpu\":1,\"memory\":\"1\"}}",
		 &code);
	assert_int_equal(code, 201);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/d1", NULL, "application/json",
		 "{\"propagationPolicy\":\"Background\"}", &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "kind", NULL), "Wukong");
	assert_non_null(sget(o, "metadata", "deletionTimestamp"));
	cJSON_Delete(o);
	/* precondition mismatch */
	o = call(f, ADMIN, "DELETE", WK_PATH "/d1", NULL, NULL,
		 "{\"preconditions\":{\"uid\":\"nope\"}}", &code);
	assert_int_equal(code, 409);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/d1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"finalizers\":[\"a/b\",\"c/d\"]}}", &code);
	assert_int_equal(code, 422);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/d1", NULL, "application/json-patch+json",
		 "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]", &code);
	assert_int_equal(code, 200);
	cJSON_Delete(o);
	o = call(f, ADMIN, "GET", WK_PATH "/d1", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
	/* immediate delete: Status Success with details */
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("d2", 1), &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/d2", NULL, NULL, NULL, &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "status", NULL), "Success");
	assert_string_equal(sget(o, "details", "name"), "d2");
	assert_string_equal(sget(o, "details", "kind"), "wukongs");
	assert_non_null(sget(o, "details", "uid"));
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/d2", NULL, NULL, NULL, &code);
	assert_int_equal(code, 404);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/d3", NULL, NULL, "not json", &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
}

static void lists(void **state)
{
	struct fixture *f = *state;
	struct kv args[4] = {{NULL, NULL}};
	cJSON *o;
	int code, seen = 0;
	char body[400], cont[512], rv[32];

	for (int i = 0; i < 7; i++) {
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\","
			 "\"metadata\":{\"name\":\"l%d\",\"labels\":{\"tier\":\"%s\"}},\"spec\":{"
			 "\"cpu\":1,\"memory\":\"1\"}}",
			 i, i % 2 ? "odd" : "even");
		o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, body, &code);
		assert_int_equal(code, 201);
		cJSON_Delete(o);
	}
	args[0] = (struct kv){"labelSelector", "tier=odd"};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 200);
	assert_string_equal(sget(o, "kind", NULL), "WukongList");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 3);
	cJSON_Delete(o);
	args[0] = (struct kv){"fieldSelector", "metadata.name=l4"};
	o = call(f, ADMIN, "GET", "/apis/vm.novasphere.dev/v1alpha1/wukongs", args, NULL, NULL,
		 &code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 1);
	cJSON_Delete(o);
	args[0] = (struct kv){"fieldSelector", "spec.cpu=1"};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 400);
	assert_string_equal(sget(o, "message", NULL), "field label not supported: spec.cpu");
	cJSON_Delete(o);
	args[0] = (struct kv){"labelSelector", "tier in (odd"};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	/* paging with labelSelector; every page has the same list RV */
	args[0] = (struct kv){"labelSelector", "tier"};
	args[1] = (struct kv){"limit", "3"};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 3);
	snprintf(cont, sizeof(cont), "%s", sget(o, "metadata", "continue"));
	snprintf(rv, sizeof(rv), "%s", sget(o, "metadata", "resourceVersion"));
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "remainingItemCount")->valueint,
	    4);
	seen += 3;
	cJSON_Delete(o);
	while (cont[0]) {
		args[2] = (struct kv){"continue", cont};
		o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
		assert_int_equal(code, 200);
		assert_string_equal(sget(o, "metadata", "resourceVersion"), rv);
		seen += cJSON_GetArraySize(cJSON_GetObjectItem(o, "items"));
		snprintf(cont, sizeof(cont), "%s",
			 sget(o, "metadata", "continue") ? sget(o, "metadata", "continue") : "");
		cJSON_Delete(o);
	}
	assert_int_equal(seen, 7);
	/* garbage continue tokens */
	static const char *const bad[] = {"x", "!!!!", "e30=", "bm90IGpzb24=", ""};
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad) - 1; i++) {
		args[2] = (struct kv){"continue", bad[i]};
		o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
		assert_int_equal(code, 400);
		cJSON_Delete(o);
	}
	args[1] = (struct kv){"limit", "-1"};
	args[2] = (struct kv){NULL, NULL};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 400);
	cJSON_Delete(o);
	/* resourceVersion in the future: 504 ResourceVersionTooLarge */
	args[0] = (struct kv){"resourceVersion", "999999"};
	args[1] = (struct kv){NULL, NULL};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 504);
	cJSON_Delete(o);
	args[0] = (struct kv){"resourceVersionMatch", "Exact"};
	o = call(f, ADMIN, "GET", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 422);
	cJSON_Delete(o);
	/* deletecollection by label */
	args[0] = (struct kv){"labelSelector", "tier=even"};
	o = call(f, ADMIN, "DELETE", WK_PATH, args, NULL, NULL, &code);
	assert_int_equal(code, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 4);
	cJSON_Delete(o);
	/* fault hook */
	f->fault_code = 503;
	o = call(f, ADMIN, "GET", "/api/v1/nodes", NULL, NULL, NULL, &code);
	assert_int_equal(code, 503);
	assert_string_equal(sget(o, "reason", NULL), "ServiceUnavailable");
	cJSON_Delete(o);
	f->fault_code = 0;
}

static struct sim_watch *open_watch(struct fixture *f, const struct kv *args, int *code)
{
	struct sim_req req = {0};
	struct sim_resp resp;
	struct sim_watch *w;

	req.method = "GET";
	req.path = WK_PATH;
	req.arg = lookup;
	req.arg_ctx = (void *)args;
	req.authorization = "Bearer " ADMIN;
	sim_resp_init(&resp);
	sim_api_handle(f->api, &req, &resp);
	*code = resp.code;
	w = resp.watch;
	resp.watch = NULL;
	sim_resp_release(&resp);
	return w;
}

static void watches(void **state)
{
	struct fixture *f = *state;
	struct kv args[5] = {{"watch", "true"}, {NULL, NULL}};
	struct sim_watch *w;
	struct wk_buf out;
	cJSON *o;
	int code;
	char rv[32];

	wk_buf_init(&out, 0);
	/* RV unset: synthetic ADDED for what exists, then changes */
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("w1", 1), &code);
	snprintf(rv, sizeof(rv), "%s", sget(o, "metadata", "resourceVersion"));
	cJSON_Delete(o);
	args[1] = (struct kv){"fieldSelector", "metadata.name=w1"};
	w = open_watch(f, args, &code);
	assert_int_equal(code, 200);
	assert_non_null(w);
	assert_int_equal(sim_watch_next(w, &out, 10), 1);
	assert_non_null(strstr(wk_buf_str(&out), "{\"type\":\"ADDED\""));
	assert_int_equal(out.buf[out.len - 1], '\n');
	wk_buf_reset(&out);
	o = call(f, ADMIN, "PATCH", WK_PATH "/w1", NULL, "application/merge-patch+json",
		 "{\"spec\":{\"cpu\":2}}", &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/w1", NULL, NULL, NULL, &code);
	cJSON_Delete(o);
	assert_int_equal(sim_watch_next(w, &out, 10), 1);
	assert_non_null(strstr(wk_buf_str(&out), "\"MODIFIED\""));
	assert_non_null(strstr(wk_buf_str(&out), "\"DELETED\""));
	sim_watch_free(w);
	wk_buf_reset(&out);

	/* from an RV: only later events; bookmarks; timeout ends the stream */
	args[1] = (struct kv){"resourceVersion", rv};
	args[2] = (struct kv){"allowWatchBookmarks", "True"};
	args[3] = (struct kv){"timeoutSeconds", "2"};
	w = open_watch(f, args, &code);
	assert_non_null(w);
	assert_int_equal(sim_watch_next(w, &out, 10), 1);
	assert_null(strstr(wk_buf_str(&out), "\"ADDED\""));
	wk_buf_reset(&out);
	{
		int rc, bookmarks = 0;

		while ((rc = sim_watch_next(w, &out, 200)) >= 0)
			if (rc == 1 && strstr(wk_buf_str(&out), "\"BOOKMARK\""))
				bookmarks++;
		assert_true(bookmarks >= 1);
		assert_int_equal(sim_watch_next(w, &out, 10), -1);
	}
	sim_watch_free(w);
	wk_buf_reset(&out);

	/* a too-old RV: ERROR event with a 410 Expired Status, then the end */
	for (int i = 0; i < 80; i++) {
		o = call(f, ADMIN, "POST", "/api/v1/namespaces/default/events", NULL, NULL,
			 "{\"metadata\":{\"generateName\":\"e-\"},\"reason\":\"x\"}", &code);
		assert_int_equal(code, 201);
		cJSON_Delete(o);
	}
	args[1] = (struct kv){"resourceVersion", "2"};
	args[2] = (struct kv){NULL, NULL};
	w = open_watch(f, args, &code);
	assert_int_equal(code, 200);
	assert_int_equal(sim_watch_next(w, &out, 10), 1);
	o = cJSON_Parse(wk_buf_str(&out));
	assert_string_equal(sget(o, "type", NULL), "ERROR");
	assert_string_equal(sget(o, "object", "reason"), "Expired");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "object"), "code")->valueint,
			 410);
	assert_non_null(strstr(sget(o, "object", "message"), "too old resource version: 2 ("));
	cJSON_Delete(o);
	assert_int_equal(sim_watch_next(w, &out, 10), -1);
	sim_watch_free(w);
	/* bad parameters fail before the stream */
	args[1] = (struct kv){"resourceVersion", "abc"};
	w = open_watch(f, args, &code);
	assert_null(w);
	assert_int_equal(code, 400);
	args[1] = (struct kv){"timeoutSeconds", "-5"};
	w = open_watch(f, args, &code);
	assert_null(w);
	assert_int_equal(code, 400);
	/* the watch cap */
	sim_api_set_max_watches(f->api, 1);
	args[1] = (struct kv){NULL, NULL};
	w = open_watch(f, args, &code);
	assert_non_null(w);
	assert_null(open_watch(f, args, &code));
	assert_int_equal(code, 429);
	sim_watch_free(w);
	sim_api_set_max_watches(f->api, 1000);
	wk_buf_release(&out);
}

/* With a selector, objects that stop matching arrive as DELETED and those that start as ADDED. */
static void watch_selector_transitions(void **state)
{
	struct fixture *f = *state;
	struct kv args[] = {{"watch", "1"}, {"labelSelector", "tier=a"}, {NULL, NULL}};
	struct sim_watch *w;
	struct wk_buf out;
	cJSON *o;
	int code;
	const char *types[8];
	int n = 0;

	wk_buf_init(&out, 0);
	w = open_watch(f, args, &code);
	assert_non_null(w);
	o = call(
	    f, ADMIN, "POST", WK_PATH, NULL, NULL,
	    "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
	    "\"name\":\"t1\",\"labels\":{\"tier\":\"a\"}},\"spec\":{\"cpu\":1,\"memory\":\"1\"}}",
	    &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "POST", WK_PATH, NULL, NULL, WK_BODY("other", 1), &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/t1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"labels\":{\"tier\":\"b\"}}}", &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/t1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"labels\":{\"tier\":\"b\",\"x\":\"y\"}}}", &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/t1", NULL, "application/merge-patch+json",
		 "{\"metadata\":{\"labels\":{\"tier\":\"a\"}}}", &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "PATCH", WK_PATH "/t1", NULL, "application/merge-patch+json",
		 "{\"spec\":{\"cpu\":3}}", &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/t1", NULL, NULL, NULL, &code);
	cJSON_Delete(o);
	o = call(f, ADMIN, "DELETE", WK_PATH "/other", NULL, NULL, NULL, &code);
	cJSON_Delete(o);
	assert_int_equal(sim_watch_next(w, &out, 10), 1);
	for (char *line = out.buf, *nl; line && *line && n < 8; line = nl + 1) {
		cJSON *ev;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		ev = cJSON_Parse(line);
		assert_string_equal(sget(cJSON_GetObjectItem(ev, "object"), "metadata", "name"),
				    "t1");
		types[n++] = strcmp(sget(ev, "type", NULL), "ADDED") == 0      ? "A"
			     : strcmp(sget(ev, "type", NULL), "MODIFIED") == 0 ? "M"
									       : "D";
		cJSON_Delete(ev);
	}
	assert_int_equal(n, 5);
	assert_string_equal(types[0], "A"); /* created matching */
	assert_string_equal(types[1], "D"); /* tier=b: stops matching */
	assert_string_equal(types[2], "A"); /* back to tier=a */
	assert_string_equal(types[3], "M"); /* spec change while matching */
	assert_string_equal(types[4], "D"); /* deleted */
	sim_watch_free(w);
	wk_buf_release(&out);
}

/* Random paths, methods, content types and bodies: every answer is a Status or an object, never a
 * crash (seeded: the same sequence every run). */
static void fuzz(void **state)
{
	struct fixture *f = *state;
	static const char *const segs[] = {"api",
					   "apis",
					   "v1",
					   "namespaces",
					   "default",
					   "kube-system",
					   "..",
					   "wukongs",
					   "nodes",
					   "status",
					   "vm.novasphere.dev",
					   "v1alpha1",
					   "kubevirt.io",
					   "x",
					   "",
					   "%00",
					   "a%2Fb",
					   "events",
					   "sim",
					   "openapi",
					   "v3",
					   "metrics.k8s.io",
					   "v1beta1",
					   "customresourcedefinitions",
					   "leases",
					   "coordination.k8s.io"};
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
	static const char *const ctypes[] = {NULL,
					     "application/json",
					     "application/merge-patch+json",
					     "application/json-patch+json",
					     "application/strategic-merge-patch+json",
					     "application/yaml",
					     "text/plain"};
	static const char *const bodies[] = {
	    NULL,
	    "",
	    "{}",
	    "[]",
	    "null",
	    "{\"metadata\":null}",
	    "{\"metadata\":{\"name\":5}}",
	    "{\"apiVersion\":\"vm.novasphere.dev/v1alpha1\",\"kind\":\"Wukong\",\"metadata\":{"
	    "\"name\":\"x\",\"finalizers\":\"nope\"},\"spec\":[]}",
	    "[{\"op\":\"add\",\"path\":\"/metadata\",\"value\":7}]",
	    "[{\"op\":\"remove\",\"path\":\"/metadata/name\"}]",
	    "{\"metadata\":{\"resourceVersion\":7,\"labels\":[1]}}",
	    "{\"status\":{\"phase\":{}}}",
	    "a: [",
	    "\xff\xfe{",
	};
	unsigned int seed = 12345;

	for (int i = 0; i < 3000; i++) {
		char path[256] = "";
		int nseg = 1 + (int)(rand_r(&seed) % 7), code;
		cJSON *o;
		struct kv args[] = {{"watch", rand_r(&seed) % 4 ? NULL : "1"},
				    {"limit", rand_r(&seed) % 3 ? NULL : "1"},
				    {NULL, NULL}};

		if (!args[0].v)
			args[0] = (struct kv){"x", "y"};
		for (int j = 0; j < nseg; j++) {
			strcat(path, "/");
			strcat(path, segs[rand_r(&seed) % WK_ARRAY_SIZE(segs)]);
		}
		if (!strstr(path, "watch")) {
			struct sim_req req = {0};
			struct sim_resp resp;
			const char *body = bodies[rand_r(&seed) % WK_ARRAY_SIZE(bodies)];

			req.method = methods[rand_r(&seed) % WK_ARRAY_SIZE(methods)];
			req.path = path;
			req.arg = lookup;
			req.arg_ctx = args;
			req.authorization = "Bearer " ADMIN;
			req.content_type = ctypes[rand_r(&seed) % WK_ARRAY_SIZE(ctypes)];
			req.body = body;
			req.body_len = body ? strlen(body) : 0;
			sim_resp_init(&resp);
			sim_api_handle(f->api, &req, &resp);
			code = resp.code;
			if (resp.watch) {
				assert_int_equal(code, 200);
			} else if (code != 200 || strcmp(resp.content_type, "text/plain")) {
				o = cJSON_Parse(wk_buf_str(&resp.body) ? wk_buf_str(&resp.body)
								       : "");
				if (!o)
					fail_msg("%s %s: unparsable answer %d", req.method, path,
						 code);
				cJSON_Delete(o);
			}
			assert_true(code >= 200 && code < 600);
			sim_resp_release(&resp);
		}
	}
}

static void auth_file(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/test_sim_api_authXXXXXX", err[256];
	int fd = mkstemp(path);
	FILE *fp;
	cJSON *o;
	int code;

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs("tokens:\n- token: file-token-1234\n  user: bob\n  namespaces: [ns1, ns2]\n"
	      "  verbs: [get]\n",
	      fp);
	fclose(fp);
	assert_int_equal(sim_api_load_auth(f->api, path, err, sizeof(err)), 0);
	o = call(f, "file-token-1234", "GET",
		 "/apis/vm.novasphere.dev/v1alpha1/namespaces/ns2/"
		 "wukongs/x",
		 NULL, NULL, NULL, &code);
	assert_int_equal(code, 404); /* allowed, just absent */
	cJSON_Delete(o);
	o = call(f, "file-token-1234", "GET", WK_PATH "/x", NULL, NULL, NULL, &code);
	assert_int_equal(code, 403);
	assert_non_null(strstr(sget(o, "message", NULL), "User \"bob\" cannot get"));
	cJSON_Delete(o);
	fp = fopen(path, "w");
	fputs("tokens:\n- token: short\n", fp);
	fclose(fp);
	assert_int_equal(sim_api_load_auth(f->api, path, err, sizeof(err)), -1);
	fp = fopen(path, "w");
	fputs("tokens: {a: b}\n", fp);
	fclose(fp);
	assert_int_equal(sim_api_load_auth(f->api, path, err, sizeof(err)), -1);
	fp = fopen(path, "w");
	fputs("tokens:\n- token: long-enough-token\n  verbs: get\n", fp);
	fclose(fp);
	assert_int_equal(sim_api_load_auth(f->api, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "must be a list"));
	unlink(path);
	assert_int_equal(sim_api_load_auth(f->api, path, err, sizeof(err)), -1);
	assert_int_equal(sim_api_load_crd(f->api, path, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(discovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(hostile_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(create_get_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(admission, setup, teardown),
	    cmocka_unit_test_setup_teardown(patches, setup, teardown),
	    cmocka_unit_test_setup_teardown(deletes, setup, teardown),
	    cmocka_unit_test_setup_teardown(lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(watches, setup, teardown),
	    cmocka_unit_test_setup_teardown(watch_selector_transitions, setup, teardown),
	    cmocka_unit_test_setup_teardown(fuzz, setup, teardown),
	    cmocka_unit_test_setup_teardown(auth_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
