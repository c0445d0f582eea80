/* test_wk_authz.c - who may ask (core/wk_authz.c): configuration (tenants, limits, hostile keys),
 * identity from the topic, the checks per action, the SubjectAccessReview body and answer, the
 * decision cache's lifetime and bound, the token bucket and cap per tenant, keyed ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_authz.h"
#include "wk_config.h"
#include "wk_emit.h"

#include <cjson/cJSON.h>

static char err[512];

static struct wk_config *two_tenants(void)
{
	struct wk_config *c = wk_config_new();

	wk_config_set(c, "authz.tenants.team-a.user", "system:serviceaccount:team-a:ci");
	wk_config_set(c, "authz.tenants.team-b.user", "bob");
	wk_config_set(c, "authz.tenants.team-b.groups", "devs, ops ,devs");
	wk_config_set(c, "authz.tenants.team-b.rate", "2");
	wk_config_set(c, "authz.tenants.team-b.burst", "3");
	wk_config_set(c, "authz.tenants.team-b.max-active", "1");
	return c;
}

static void config(void **state)
{
	struct wk_authz a;
	struct wk_config *c = wk_config_new();

	(void)state;
	/* nothing configured: trusted shared topics, no tenants */
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_false(a.enabled);
	assert_true(a.trusted_topics);
	assert_string_equal(a.topic_prefix, "wukong.requests.t.");
	assert_int_equal(a.cache_ttl_ms, 10000);
	wk_authz_release(&a);
	wk_config_destroy(c);

	c = two_tenants();
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_true(a.enabled);
	assert_false(a.trusted_topics); /* tenants configured: the shared topic is not trusted */
	assert_int_equal(a.ntenants, 2);
	assert_string_equal(wk_authz_tenant(&a, "team-b")->user, "bob");
	assert_int_equal(wk_authz_tenant(&a, "team-b")->max_active, 1);
	assert_int_equal(wk_authz_tenant(&a, "team-a")->max_active, 0);
	assert_null(wk_authz_tenant(&a, "team-c"));
	assert_null(wk_authz_tenant(&a, ""));
	wk_authz_release(&a);
	/* explicitly trusted alongside tenants */
	wk_config_set(c, "authz.trusted-topics", "true");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_true(a.trusted_topics);
	wk_authz_release(&a);
	wk_config_destroy(c);
}

static void config_hostile(void **state)
{
	static const char *const bad[][2] = {
	    {"authz.tenants.x.usr", "u"},	  /* unknown key */
	    {"authz.tenants.x", "u"},		  /* no field */
	    {"authz.tenants.Bad_Name.user", "u"}, /* not a DNS-1123 label */
	    {"authz.tenants.a.rate", "0"},	  /* rate below 1 */
	    {"authz.tenants.a.max-active", "-1"}, /* negative cap */
	    {"authz.tenants.a.groups", "g"},	  /* no user */
	    {"authz.rate", "abc"},		  /* not a number */
	    {"authz.tenant-topic-prefix", ""},	  /* empty prefix */
	    {"authz.tenants.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.user", "u"}, /* 45 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wk_config *c = wk_config_new();
		struct wk_authz a;

		if (strcmp(bad[i][0], "authz.tenants.a.groups"))
			wk_config_set(c, "authz.tenants.a.user", "u"); /* else valid */
		wk_config_set(c, bad[i][0], bad[i][1]);
		err[0] = 0;
		assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), -1);
		assert_true(err[0] != 0);
		wk_authz_release(&a);
		wk_config_destroy(c);
	}
	/* the cap on tenants: 65 is refused, 64 taken */
	{
		struct wk_config *c = wk_config_new();
		struct wk_authz a;
		char k[64];

		for (i = 0; i < WK_AUTHZ_TENANTS_MAX; i++) {
			snprintf(k, sizeof(k), "authz.tenants.t%zu.user", i);
			wk_config_set(c, k, "u");
		}
		assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
		assert_int_equal(a.ntenants, WK_AUTHZ_TENANTS_MAX);
		wk_authz_release(&a);
		wk_config_set(c, "authz.tenants.zz.user", "u");
		assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "more than 64 tenants"));
		wk_authz_release(&a);
		wk_config_destroy(c);
	}
}

static void count_cb(const char *t, void *o)
{
	(void)t;
	(*(int *)o)++;
}

static void identify(void **state)
{
	struct wk_config *c = two_tenants();
	struct wk_authz a;
	struct wk_authz_identity id;
	const char *shared[] = {"wukong.requests", "wukong.requests.local", NULL};
	char d[300];
	int n = 0;

	(void)state;
	assert_int_equal(wk_authz_tenant_names(c, count_cb, &n), 2);
	assert_int_equal(n, 2);
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.t.team-a", shared, &id, err, sizeof(err)), 0);
	assert_false(id.trusted);
	assert_string_equal(id.tenant, "team-a");
	assert_string_equal(id.user, "system:serviceaccount:team-a:ci");
	wk_authz_describe(&id, d, sizeof(d));
	assert_string_equal(d, "tenant 'team-a' (user 'system:serviceaccount:team-a:ci')");
	/* an unconfigured tenant's topic, a prefix of a tenant, the untrusted shared topic,
	 * anything else */
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.t.team-c", shared, &id, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no configured tenant"));
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.t.team", shared, &id, err, sizeof(err)), -1);
	assert_int_equal(wk_authz_identify(&a, "wukong.requests.t.", shared, &id, err, sizeof(err)),
			 -1);
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.local", shared, &id, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not trusted"));
	assert_int_equal(wk_authz_identify(&a, "wukong.events", shared, &id, err, sizeof(err)), -1);
	assert_int_equal(wk_authz_identify(&a, NULL, shared, &id, err, sizeof(err)), -1);
	wk_authz_release(&a);
	/* trusted */
	wk_config_set(c, "authz.trusted-topics", "true");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.local", shared, &id, err, sizeof(err)), 0);
	assert_true(id.trusted);
	wk_authz_describe(&id, d, sizeof(d));
	assert_string_equal(d, "trusted topic 'wukong.requests.local'");
	{
		cJSON *j = wk_authz_identity_json(&id);

		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "trusted")));
		assert_null(cJSON_GetObjectItem(j, "user"));
		cJSON_Delete(j);
	}
	wk_authz_release(&a);
	wk_config_destroy(c);
}

/* The topic a request entered on: its own, or with authz.router the router's ce_wktopic on the
 * cluster topic (and only there). */
static void entry_topics(void **state)
{
	struct wk_config *c = two_tenants();
	struct wk_authz a;
	const char *cl = "wukong.requests.local";

	(void)state;
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_true(wk_authz_is_tenant_topic(&a, "wukong.requests.t.team-a"));
	assert_true(wk_authz_is_tenant_topic(&a, "wukong.requests.t.other"));
	assert_false(wk_authz_is_tenant_topic(&a, "wukong.requests.t."));
	assert_false(wk_authz_is_tenant_topic(&a, "wukong.requests.local"));
	assert_false(wk_authz_is_tenant_topic(&a, NULL));
	/* without the router the header is ignored: a writer of the cluster topic cannot claim */
	assert_string_equal(wk_authz_entry_topic(&a, cl, cl, "wukong.requests.t.team-a"), cl);
	wk_authz_release(&a);
	wk_config_set(c, "authz.router", "true");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_string_equal(wk_authz_entry_topic(&a, cl, cl, "wukong.requests.t.team-a"),
			    "wukong.requests.t.team-a");
	assert_string_equal(wk_authz_entry_topic(&a, cl, cl, ""), cl);
	assert_string_equal(wk_authz_entry_topic(&a, cl, cl, NULL), cl);
	/* on any other topic the header counts for nothing */
	assert_string_equal(
	    wk_authz_entry_topic(&a, "wukong.requests.t.team-b", cl, "wukong.requests.t.team-a"),
	    "wukong.requests.t.team-b");
	wk_authz_release(&a);
	wk_config_set(c, "authz.router", "maybe");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), -1);
	wk_authz_release(&a);
	wk_config_destroy(c);
}

static void checks(void **state)
{
	struct wk_authz_check c[WK_AUTHZ_CHECKS_MAX];
	size_t n;

	(void)state;
	n = wk_authz_checks(WK_AUTHZ_MIGRATE, "ns1", "vm1", NULL, NULL, c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].verb, "create");
	assert_string_equal(c[0].resource, "virtualmachineinstancemigrations");
	assert_string_equal(c[0].group, "kubevirt.io");
	assert_string_equal(c[0].ns, "ns1");
	n = wk_authz_checks(WK_AUTHZ_MIGRATE_COLD, "ns1", "vm1", NULL, NULL, c);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].verb, "patch");
	assert_string_equal(c[0].resource, "virtualmachines");
	n = wk_authz_checks(WK_AUTHZ_CANCEL, "ns1", NULL, NULL, NULL, c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].verb, "delete");
	n = wk_authz_checks(WK_AUTHZ_DRAIN, NULL, "node-a", NULL, NULL, c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].verb, "update");
	assert_string_equal(c[0].resource, "nodes");
	assert_string_equal(c[0].ns, "");
	assert_string_equal(c[0].name, "node-a");
	n = wk_authz_checks(WK_AUTHZ_CLONE, "dst", "x", "src", "vm", c);
	assert_int_equal(n, 3);
	assert_string_equal(c[0].resource, "virtualmachineclones");
	assert_string_equal(c[0].ns, "dst");
	assert_string_equal(c[1].verb, "get");
	assert_string_equal(c[1].ns, "src");
	assert_string_equal(c[1].name, "vm");
	assert_string_equal(c[2].resource, "virtualmachinesnapshots");
	assert_string_equal(wk_authz_action_name(WK_AUTHZ_CLONE), "clone");
}

static void review(void **state)
{
	struct wk_config *c = two_tenants();
	struct wk_authz a;
	struct wk_authz_identity id;
	struct wk_authz_check chk[WK_AUTHZ_CHECKS_MAX];
	const char *shared[] = {NULL};
	cJSON *b, *g;
	char *s, reason[300], d[1200];
	bool allowed;

	(void)state;
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.t.team-a", shared, &id, err, sizeof(err)), 0);
	wk_authz_checks(WK_AUTHZ_MIGRATE, "team-b", NULL, NULL, NULL, chk);
	b = wk_authz_review_body(&id, &chk[0]);
	s = cJSON_PrintUnformatted(b);
	assert_string_equal(
	    s, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\","
	       "\"spec\":{\"resourceAttributes\":{\"verb\":\"create\",\"group\":\"kubevirt.io\","
	       "\"resource\":\"virtualmachineinstancemigrations\",\"namespace\":\"team-b\"},"
	       "\"user\":\"system:serviceaccount:team-a:ci\",\"groups\":[\"system:"
	       "serviceaccounts\",\"system:serviceaccounts:team-a\",\"system:authenticated\"]}}");
	free(s);
	cJSON_Delete(b);
	/* groups: trimmed, deduplicated */
	assert_int_equal(
	    wk_authz_identify(&a, "wukong.requests.t.team-b", shared, &id, err, sizeof(err)), 0);
	b = wk_authz_review_body(&id, &chk[0]);
	g = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "spec"), "groups");
	assert_int_equal(cJSON_GetArraySize(g), 3);
	assert_string_equal(cJSON_GetArrayItem(g, 0)->valuestring, "devs");
	assert_string_equal(cJSON_GetArrayItem(g, 1)->valuestring, "ops");
	cJSON_Delete(b);
	/* answers */
	b = cJSON_Parse("{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":false,"
			"\"reason\":\"no RBAC policy matched\"}}");
	assert_int_equal(wk_authz_review_parse(b, &allowed, reason, sizeof(reason)), 0);
	assert_false(allowed);
	assert_string_equal(reason, "no RBAC policy matched");
	cJSON_Delete(b);
	b = cJSON_Parse("{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":true}}");
	assert_int_equal(wk_authz_review_parse(b, &allowed, reason, sizeof(reason)), 0);
	assert_true(allowed);
	assert_string_equal(reason, "");
	cJSON_Delete(b);
	/* hostile / not answers: a Status, allowed as a string, no status, NULL */
	{
		static const char *const bad[] = {
		    "{\"kind\":\"Status\",\"code\":403}",
		    "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":\"true\"}}",
		    "{\"kind\":\"SubjectAccessReview\"}", "[]", "{\"status\":{\"allowed\":true}}"};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			b = cJSON_Parse(bad[i]);
			assert_int_equal(wk_authz_review_parse(b, &allowed, reason, sizeof(reason)),
					 -1);
			cJSON_Delete(b);
		}
		assert_int_equal(wk_authz_review_parse(NULL, &allowed, reason, sizeof(reason)), -1);
	}
	wk_authz_denial(&id, &chk[0], "no RBAC policy matched", d, sizeof(d));
	assert_string_equal(d, "user 'bob' (tenant 'team-b') may not create "
			       "virtualmachineinstancemigrations.kubevirt.io in namespace 'team-b' "
			       "(no RBAC policy matched)");
	wk_authz_checks(WK_AUTHZ_DRAIN, NULL, "node-a", NULL, NULL, chk);
	wk_authz_denial(&id, &chk[0], "", d, sizeof(d));
	assert_string_equal(d, "user 'bob' (tenant 'team-b') may not update nodes 'node-a' at the "
			       "cluster scope (SubjectAccessReview: no rule allows it)");
	wk_authz_release(&a);
	wk_config_destroy(c);
}

static void cache(void **state)
{
	struct wk_config *c = two_tenants();
	struct wk_authz a;
	struct wk_authz_identity id, other;
	struct wk_authz_check chk[WK_AUTHZ_CHECKS_MAX];
	const char *shared[] = {NULL};
	char reason[100];
	bool allowed = false;
	size_t i;

	(void)state;
	wk_config_set(c, "authz.cache-ttl", "5s");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	wk_authz_identify(&a, "wukong.requests.t.team-a", shared, &id, err, sizeof(err));
	wk_authz_identify(&a, "wukong.requests.t.team-b", shared, &other, err, sizeof(err));
	wk_authz_checks(WK_AUTHZ_MIGRATE, "team-a", NULL, NULL, NULL, chk);
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 1000, &allowed, reason, 100), 0);
	wk_authz_cache_put(&a, &id, &chk[0], true, "ok", 1000);
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 1000, &allowed, reason, 100), 1);
	assert_true(allowed);
	/* the last instant it may be used, and not one ms later: the revocation bound */
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 5999, &allowed, reason, 100), 1);
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 6000, &allowed, reason, 100), 0);
	/* another identity, another namespace: no hit */
	wk_authz_cache_put(&a, &id, &chk[0], true, "ok", 7000);
	assert_int_equal(wk_authz_cache_get(&a, &other, &chk[0], 7000, &allowed, reason, 100), 0);
	wk_strlcpy(chk[0].ns, "team-b", sizeof(chk[0].ns));
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 7000, &allowed, reason, 100), 0);
	/* the bound on entries */
	for (i = 0; i < WK_AUTHZ_CACHE_MAX + 10; i++) {
		snprintf(chk[0].ns, sizeof(chk[0].ns), "ns-%zu", i);
		wk_authz_cache_put(&a, &id, &chk[0], false, "no", 8000);
		assert_true(wk_map_count(&a.cache) <= WK_AUTHZ_CACHE_MAX);
	}
	wk_authz_release(&a);
	/* ttl 0: no cache */
	wk_config_set(c, "authz.cache-ttl", "0");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	wk_authz_cache_put(&a, &id, &chk[0], true, "ok", 1000);
	assert_int_equal(wk_authz_cache_get(&a, &id, &chk[0], 1000, &allowed, reason, 100), 0);
	wk_authz_release(&a);
	wk_config_destroy(c);
}

static void limits(void **state)
{
	struct wk_config *c = two_tenants();
	struct wk_authz a;
	struct wk_authz_identity b, t;
	const char *shared[] = {"wukong.requests", NULL};
	int i;

	(void)state;
	wk_config_set(c, "authz.trusted-topics", "true");
	assert_int_equal(wk_authz_init(&a, c, 0, err, sizeof(err)), 0);
	wk_authz_identify(&a, "wukong.requests.t.team-b", shared, &b, err, sizeof(err));
	wk_authz_identify(&a, "wukong.requests", shared, &t, err, sizeof(err));
	/* burst 3, then 2/s */
	for (i = 0; i < 3; i++)
		assert_true(wk_authz_rate_take(&a, &b, 0));
	assert_false(wk_authz_rate_take(&a, &b, 0));
	assert_true(wk_authz_rate_take(&a, &b, 500));
	assert_false(wk_authz_rate_take(&a, &b, 500));
	/* trusted: not limited */
	for (i = 0; i < 1000; i++)
		assert_true(wk_authz_rate_take(&a, &t, 0));
	/* the cap */
	assert_true(wk_authz_slot_free(&a, "team-b"));
	wk_authz_tenant(&a, "team-b")->active = 1;
	assert_false(wk_authz_slot_free(&a, "team-b"));
	assert_true(wk_authz_slot_free(&a, "team-a")); /* no cap */
	assert_true(wk_authz_slot_free(&a, ""));
	assert_true(wk_authz_slot_free(&a, "unknown"));
	wk_authz_release(&a);
	wk_config_destroy(c);
}

static void keyed_ids(void **state)
{
	const char *parts[] = {"local", "ns", "vm", "req-1"};
	char plain[64], k1[64], k2[64], again[64];

	(void)state;
	wk_emit_set_id_key(NULL, 0);
	wk_emit_id("cl", parts, 4, plain, sizeof(plain));
	wk_emit_keyed_id("cl", parts, 4, k1, sizeof(k1));
	assert_string_equal(plain, k1); /* no key: the plain hash, as before */
	wk_emit_set_id_key("0123456789abcdef", 16);
	assert_true(wk_emit_id_keyed());
	wk_emit_keyed_id("cl", parts, 4, k1, sizeof(k1));
	assert_string_not_equal(plain, k1);
	wk_emit_keyed_id("cl", parts, 4, again, sizeof(again));
	assert_string_equal(k1, again); /* deterministic: a resend reuses it */
	wk_emit_set_id_key("0123456789abcdeX", 16);
	wk_emit_keyed_id("cl", parts, 4, k2, sizeof(k2));
	assert_string_not_equal(k1, k2); /* another installation's key, another id */
	assert_int_equal(strlen(k1), strlen("cl-") + 40);
	/* object names stay unkeyed */
	wk_emit_id("cl", parts, 4, again, sizeof(again));
	assert_string_equal(plain, again);
	wk_emit_set_id_key(NULL, 0);
	assert_false(wk_emit_id_keyed());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config),	 cmocka_unit_test(config_hostile),
	    cmocka_unit_test(identify),	 cmocka_unit_test(entry_topics),
	    cmocka_unit_test(checks),	 cmocka_unit_test(review),
	    cmocka_unit_test(cache),	 cmocka_unit_test(limits),
	    cmocka_unit_test(keyed_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
