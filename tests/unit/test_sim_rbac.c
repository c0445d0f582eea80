/* test_sim_rbac.c - the simulator's RBAC authorizer, access reviews, ServiceAccount tokens and the
 * protobuf bodies of the auth requests: upstream's matching rules, namespace confinement of
 * RoleBindings, the bootstrap discovery grants, token expiry and binding, hostile protobuf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/sim/sim_proto.h"
#include "../../tools/sim/sim_rbac.h"
#include "../../tools/sim/sim_sa.h"

static const struct sim_resource *R(const char *plural)
{
	return sim_resource_find("rbac.authorization.k8s.io", "v1", plural);
}

static void put(struct sim_store *st, const struct sim_resource *r, const char *ns,
		const char *json)
{
	struct sim_err err;

	assert_int_equal(sim_store_create(st, r, ns, cJSON_Parse(json), NULL, &err), 0);
}

static struct sim_store *fixture(void)
{
	struct sim_store *st = sim_store_new(100);

	put(st, R("clusterroles"), NULL,
	    "{\"metadata\":{\"name\":\"mig\"},\"rules\":[{\"apiGroups\":[\"kubevirt.io\"],"
	    "\"resources\":[\"virtualmachineinstancemigrations\"],\"verbs\":[\"create\",\"get\"]},"
	    "{\"apiGroups\":[\"vm.novasphere.dev\"],\"resources\":[\"wukongs/status\"],"
	    "\"verbs\":[\"patch\"]},{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
	    "\"verbs\":[\"get\"],\"resourceNames\":[\"only\"]}]}");
	put(st, R("clusterrolebindings"), NULL,
	    "{\"metadata\":{\"name\":\"mig\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
	    "\"kind\":\"ClusterRole\",\"name\":\"mig\"},\"subjects\":[{\"kind\":\"ServiceAccount\","
	    "\"name\":\"m\",\"namespace\":\"wk\"}]}");
	put(st, R("roles"), "wk",
	    "{\"metadata\":{\"name\":\"lease\",\"namespace\":\"wk\"},\"rules\":[{\"apiGroups\":"
	    "[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[\"*\"]}]}");
	/* subject without a namespace: the binding's */
	put(st, R("rolebindings"), "wk",
	    "{\"metadata\":{\"name\":\"lease\",\"namespace\":\"wk\"},\"roleRef\":{\"kind\":\"Role\","
	    "\"name\":\"lease\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"m\"}]}");
	/* a RoleBinding to a ClusterRole grants it in its namespace only */
	put(st, R("clusterroles"), NULL,
	    "{\"metadata\":{\"name\":\"reader\"},\"rules\":[{\"apiGroups\":[\"*\"],"
	    "\"resources\":[\"*\"],\"verbs\":[\"list\"]}]}");
	put(st, R("rolebindings"), "team",
	    "{\"metadata\":{\"name\":\"r\",\"namespace\":\"team\"},\"roleRef\":{\"kind\":"
	    "\"ClusterRole\",\"name\":\"reader\"},\"subjects\":[{\"kind\":\"Group\",\"name\":"
	    "\"devs\"},{\"kind\":\"User\",\"name\":\"alice\"}]}");
	/* a binding to a role that does not exist grants nothing */
	put(st, R("clusterrolebindings"), NULL,
	    "{\"metadata\":{\"name\":\"ghost\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":"
	    "\"nope\"},\"subjects\":[{\"kind\":\"Group\",\"name\":\"system:authenticated\"}]}");
	return st;
}

static bool can(struct sim_store *st, const char *user, const char *verb, const char *group,
		const char *res, const char *sub, const char *ns, const char *name)
{
	struct sim_principal p;
	struct sim_rbac_attrs a = {verb, group, res, sub, ns, name, NULL};

	sim_principal_init(&p, user, NULL, 0);
	return sim_rbac_allowed(st, &p, &a);
}

static void decisions(void **state)
{
	struct sim_store *st = fixture();
	const char *m = "system:serviceaccount:wk:m";
	struct sim_principal p;
	struct sim_rbac_attrs a = {"list", "", "pods", NULL, "team", NULL, NULL};

	(void)state;
	assert_true(can(st, m, "create", "kubevirt.io", "virtualmachineinstancemigrations", NULL,
			"default", NULL));
	assert_false(can(st, m, "delete", "kubevirt.io", "virtualmachineinstancemigrations", NULL,
			 "default", "x"));
	assert_false(can(st, m, "create", "", "virtualmachineinstancemigrations", NULL, "default",
			 NULL)); /* group matters */
	assert_true(can(st, m, "patch", "vm.novasphere.dev", "wukongs", "status", "a", "w"));
	assert_false(can(st, m, "patch", "vm.novasphere.dev", "wukongs", NULL, "a", "w"));
	assert_true(can(st, m, "get", "", "configmaps", NULL, "a", "only"));
	assert_false(can(st, m, "get", "", "configmaps", NULL, "a", "other"));
	assert_false(can(st, m, "list", "", "configmaps", NULL, "a", NULL)); /* names: no list */
	assert_true(can(st, m, "update", "coordination.k8s.io", "leases", NULL, "wk", "l"));
	assert_false(can(st, m, "update", "coordination.k8s.io", "leases", NULL, "other", "l"));
	assert_false(can(st, m, "list", "coordination.k8s.io", "leases", NULL, NULL, NULL));
	assert_false(can(st, "system:serviceaccount:other:m", "create", "kubevirt.io",
			 "virtualmachineinstancemigrations", NULL, "default", NULL));
	assert_true(can(st, "alice", "list", "apps", "deployments", NULL, "team", NULL));
	assert_false(can(st, "alice", "list", "apps", "deployments", NULL, "else", NULL));
	assert_false(can(st, "alice", "list", "apps", "deployments", NULL, NULL, NULL));
	sim_principal_init(&p, "bob", (const char *const[]){"devs"}, 1);
	assert_true(sim_rbac_allowed(st, &p, &a));
	/* bootstrap: discovery and self access reviews for every authenticated identity */
	a = (struct sim_rbac_attrs){"get", "", NULL, NULL, NULL, NULL, "/apis/apps/v1"};
	assert_true(sim_rbac_allowed(st, &p, &a));
	a.path = "/metrics";
	assert_false(sim_rbac_allowed(st, &p, &a));
	a.path = "/apisx";
	assert_false(sim_rbac_allowed(st, &p, &a));
	assert_true(can(st, "nobody", "create", "authorization.k8s.io", "selfsubjectaccessreviews",
			NULL, NULL, NULL));
	assert_false(can(st, "nobody", "create", "authorization.k8s.io", "subjectaccessreviews",
			 NULL, NULL, NULL));
	sim_store_destroy(st);
}

static void groups_of_service_accounts(void **state)
{
	struct sim_principal p;

	(void)state;
	sim_principal_init(&p, "system:serviceaccount:wk:m", NULL, 0);
	assert_int_equal(p.ngroups, 3);
	assert_string_equal(p.groups[0], "system:serviceaccounts");
	assert_string_equal(p.groups[1], "system:serviceaccounts:wk");
	assert_string_equal(p.groups[2], "system:authenticated");
	sim_principal_init(&p, "system:serviceaccount:", NULL, 0); /* malformed: no crash */
	sim_principal_init(&p, NULL, NULL, 0);
	assert_string_equal(p.user, "");
}

static void reviews(void **state)
{
	struct sim_store *st = fixture();
	struct sim_principal self;
	char msg[512];
	cJSON *b, *out;

	(void)state;
	sim_principal_init(&self, "system:serviceaccount:wk:m", NULL, 0);
	b = cJSON_Parse("{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
			"\"SelfSubjectAccessReview\",\"spec\":{\"resourceAttributes\":{\"namespace\":"
			"\"default\",\"verb\":\"create\",\"group\":\"kubevirt.io\",\"resource\":"
			"\"virtualmachineinstancemigrations\"}}}");
	out = sim_rbac_review(st, &self, true, b, msg, sizeof(msg));
	assert_non_null(out);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "status"), "allowed")));
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "status"), "reason")),
	    "RBAC: allowed by ClusterRoleBinding \"mig\" of ClusterRole \"mig\" to ServiceAccount "
	    "\"m/wk\"");
	cJSON_Delete(out);
	cJSON_Delete(b);
	b = cJSON_Parse("{\"spec\":{\"user\":\"system:serviceaccount:wk:m\",\"resourceAttributes\":"
			"{\"namespace\":\"wk\",\"verb\":\"get\",\"group\":\"coordination.k8s.io\","
			"\"resource\":\"leases\"}}}");
	out = sim_rbac_review(st, &self, false, b, msg, sizeof(msg));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "status"), "allowed")));
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(
				   cJSON_GetObjectItem(out, "status"), "reason")),
			       "RoleBinding \"lease/wk\" of Role \"lease\""));
	cJSON_Delete(out);
	cJSON_Delete(b);
	/* malformed: no spec, both attribute kinds, none, no user for a SubjectAccessReview */
	static const char *const bad[] = {
	    "{}", "{\"spec\":1}", "{\"spec\":{}}",
	    "{\"spec\":{\"resourceAttributes\":{},\"nonResourceAttributes\":{}}}"};
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		b = cJSON_Parse(bad[i]);
		assert_null(sim_rbac_review(st, &self, true, b, msg, sizeof(msg)));
		cJSON_Delete(b);
	}
	b = cJSON_Parse("{\"spec\":{\"resourceAttributes\":{\"verb\":1}}}");
	out = sim_rbac_review(st, &self, false, b, msg, sizeof(msg));
	assert_null(out);
	cJSON_Delete(b);
	sim_store_destroy(st);
}

static void tokens(void **state)
{
	struct sim_sa *sa = sim_sa_new();
	char ns[64], name[254], uid[64], msg[256];
	char *t = sim_sa_issue(sa, "wk", "m", "u1", 1000, 600);
	int64_t e;
	cJSON *b;

	(void)state;
	assert_non_null(t);
	assert_int_equal(strlen(t), 64);
	assert_true(sim_sa_lookup(sa, t, 1599, ns, sizeof(ns), name, sizeof(name), uid, sizeof(uid)));
	assert_string_equal(ns, "wk");
	assert_string_equal(uid, "u1");
	assert_false(sim_sa_lookup(sa, t, 1600, ns, sizeof(ns), name, sizeof(name), uid,
				   sizeof(uid))); /* expired */
	assert_false(sim_sa_lookup(sa, "short", 1000, ns, sizeof(ns), name, sizeof(name), uid,
				   sizeof(uid)));
	assert_false(sim_sa_lookup(sa, NULL, 1000, ns, sizeof(ns), name, sizeof(name), uid,
				   sizeof(uid)));
	free(t);
	b = cJSON_Parse("{\"spec\":{\"expirationSeconds\":599}}");
	assert_int_equal(sim_sa_request_expiry(b, &e, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "less than 10 minutes"));
	cJSON_Delete(b);
	b = cJSON_Parse("{\"spec\":{\"expirationSeconds\":\"x\"}}");
	assert_int_equal(sim_sa_request_expiry(b, &e, msg, sizeof(msg)), -1);
	cJSON_Delete(b);
	b = cJSON_Parse("{}");
	assert_int_equal(sim_sa_request_expiry(b, &e, msg, sizeof(msg)), 0);
	assert_int_equal(e, SIM_SA_DEFAULT_EXPIRY_S);
	cJSON_Delete(b);
	sim_sa_destroy(sa);
}

/* A SelfSubjectAccessReview as client-go encodes it: envelope, typeMeta, raw object. */
static size_t ssar_pb(unsigned char *out)
{
	static const unsigned char attrs[] = {
	    0x0a, 0x07, 'd', 'e', 'f', 'a', 'u', 'l', 't', /* namespace */
	    0x12, 0x06, 'c', 'r', 'e', 'a', 't', 'e',	     /* verb */
	    0x1a, 0x0b, 'k', 'u', 'b', 'e', 'v', 'i', 'r', 't', '.', 'i', 'o', /* group */
	    0x2a, 0x05, 'v', 'm', 'i', 'm', 's'};			      /* resource */
	unsigned char raw[128], tm[64];
	size_t n = 0, r = 0, t = 0;

	raw[r++] = 0x12; /* spec */
	raw[r++] = (unsigned char)(sizeof(attrs) + 2);
	raw[r++] = 0x0a; /* resourceAttributes */
	raw[r++] = (unsigned char)sizeof(attrs);
	memcpy(raw + r, attrs, sizeof(attrs));
	r += sizeof(attrs);
	tm[t++] = 0x0a;
	tm[t++] = 23;
	memcpy(tm + t, "authorization.k8s.io/v1", 23);
	t += 23;
	tm[t++] = 0x12;
	tm[t++] = 23;
	memcpy(tm + t, "SelfSubjectAccessReview", 23);
	t += 23;
	memcpy(out, "k8s\0", 4);
	n = 4;
	out[n++] = 0x0a;
	out[n++] = (unsigned char)t;
	memcpy(out + n, tm, t);
	n += t;
	out[n++] = 0x12;
	out[n++] = (unsigned char)r;
	memcpy(out + n, raw, r);
	n += r;
	return n;
}

static void protobuf(void **state)
{
	unsigned char buf[256];
	size_t n = ssar_pb(buf);
	char err[256];
	cJSON *o = sim_proto_decode((const char *)buf, n, err, sizeof(err));
	const cJSON *ra;

	(void)state;
	assert_non_null(o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")),
			    "SelfSubjectAccessReview");
	ra = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "resourceAttributes");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ra, "group")), "kubevirt.io");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ra, "resource")), "vmims");
	cJSON_Delete(o);
	/* every truncation and every single-byte corruption: an error or a result, never a crash */
	for (size_t cut = 0; cut < n; cut++) {
		o = sim_proto_decode((const char *)buf, cut, err, sizeof(err));
		cJSON_Delete(o);
	}
	for (size_t i = 4; i < n; i++) {
		unsigned char c[256];

		for (int v = 0; v < 256; v += 17) {
			memcpy(c, buf, n);
			c[i] = (unsigned char)v;
			o = sim_proto_decode((const char *)c, n, err, sizeof(err));
			cJSON_Delete(o);
		}
	}
	/* a length far past the end; an endless varint; wrong magic */
	{
		static const unsigned char huge[] = {'k', '8', 's', 0, 0x12, 0xff, 0xff, 0xff, 0x7f};
		static const unsigned char endless[] = {'k', '8', 's', 0, 0x08, 0xff, 0xff, 0xff,
							0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

		assert_null(sim_proto_decode((const char *)huge, sizeof(huge), err, sizeof(err)));
		assert_null(
		    sim_proto_decode((const char *)endless, sizeof(endless), err, sizeof(err)));
		assert_null(sim_proto_decode("k9s\0", 4, err, sizeof(err)));
		assert_null(sim_proto_decode(NULL, 0, err, sizeof(err)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(decisions), cmocka_unit_test(groups_of_service_accounts),
	    cmocka_unit_test(reviews),	 cmocka_unit_test(tokens),
	    cmocka_unit_test(protobuf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
