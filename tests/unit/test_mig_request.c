/* test_mig_request.c - migration submissions (valid, empty, truncated, garbage, wrong types,
 * unknown fields, hostile names, at and past the size cap), tenant policy, spec.migration views,
 * request ids and derived object names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide/mig_request.h"
#include "wk_common.h"
#include "wk_tenant.h"

#include <cjson/cJSON.h>

#define VALID                                                                                      \
	"{\"requestId\":\"req-1\",\"cluster\":\"local\",\"namespace\":\"default\","                \
	"\"name\":\"web-1\",\"targetNode\":\"node-2\",\"tenant\":\"team-a\","                      \
	"\"options\":{\"allowPostCopy\":true,\"completionTimeoutPerGiB\":800,"                     \
	"\"bandwidthPerMigration\":\"64Mi\"}}"

static int parse(const char *s, struct mig_request *r, struct mig_verdict *v)
{
	return mig_parse_migrate(s, strlen(s), r, v);
}

static void migrate_valid(void **state)
{
	struct mig_request r;
	struct mig_verdict v;

	(void)state;
	assert_int_equal(parse(VALID, &r, &v), 0);
	assert_string_equal(r.id, "req-1");
	assert_string_equal(r.ns, "default");
	assert_string_equal(r.name, "web-1");
	assert_string_equal(r.target_node, "node-2");
	assert_string_equal(r.tenant, "team-a");
	assert_int_equal(r.opt.allow_post_copy, MIG_TRUE);
	assert_int_equal(r.opt.allow_auto_converge, MIG_UNSET);
	assert_int_equal(r.opt.completion_timeout_per_gib, 800);
	assert_int_equal(r.opt.bandwidth, 64 << 20);
	assert_string_equal(r.opt.bandwidth_text, "64Mi");
	assert_true(mig_options_any(&r.opt));
	assert_int_equal(r.source, MIG_SRC_KAFKA);
}

static void migrate_minimal(void **state)
{
	struct mig_request r;
	struct mig_verdict v;

	(void)state;
	assert_int_equal(parse("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\","
			       "\"name\":\"x\"}",
			       &r, &v),
			 0);
	assert_string_equal(r.target_node, "");
	assert_false(mig_options_any(&r.opt));
	/* cold is a request option, not a MigrationPolicy one: no policy for it */
	assert_int_equal(parse("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\","
			       "\"name\":\"x\",\"targetNode\":\"n2\",\"options\":{\"cold\":true}}",
			       &r, &v),
			 0);
	assert_int_equal(r.opt.cold, MIG_TRUE);
	assert_false(mig_options_any(&r.opt));
}

static void expect(const char *body, const char *code)
{
	struct mig_request r;
	struct mig_verdict v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(mig_parse_migrate(body, body ? strlen(body) : 0, &r, &v), -1);
	if (strcmp(v.code, code))
		fail_msg("'%s': code '%s' (%s), expected '%s'", body, v.code, v.message, code);
	assert_true(v.message[0] != '\0');
}

static void migrate_bad(void **state)
{
	(void)state;
	expect("", "MalformedRequest");
	expect(NULL, "MalformedRequest");
	expect("{\"requestId\":\"a\",\"clus", "MalformedRequest"); /* truncated */
	expect("\x01\xff garbage", "MalformedRequest");	      /* garbage */
	expect("[1,2]", "SchemaViolation");			      /* not an object */
	expect("\"str\"", "SchemaViolation");
	expect("{}", "SchemaViolation"); /* missing fields */
	expect("{\"requestId\":1,\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\"}", "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":[],\"name\":\"x\"}", "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"extra\":1}",
	       "SchemaViolation"); /* unknown field */
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"allowPostCopy\":\"yes\"}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"cold\":\"yes\"}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"completionTimeoutPerGiB\":1.5}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"completionTimeoutPerGiB\":1e300}}",
	       "SchemaViolation"); /* huge number */
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"completionTimeoutPerGiB\":-5}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"bandwidthPerMigration\":\"-1Mi\"}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"bandwidthPerMigration\":\"fast\"}}",
	       "SchemaViolation");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":{\"postCopy\":true}}",
	       "SchemaViolation"); /* unknown option */
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"options\":7}",
	       "SchemaViolation");
}

static void migrate_hostile_names(void **state)
{
	(void)state;
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"../../x\",\"name\":\"x\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"../../x\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"targetNode\":\"node/../../api\"}",
	       "InvalidName");
	expect("{\"requestId\":\"A B\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x%2F\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"Default\",\"name\":\"x\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"\"}",
	       "InvalidName");
	expect("{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
	       "\"tenant\":\"t\\u0000x\"}",
	       "SchemaViolation");
}

static char *padded(size_t total)
{
	/* A valid submission padded with spaces to exactly total bytes. */
	const char *base =
	    "{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\"}";
	char *s = wk_xmalloc(total + 1);
	size_t n = strlen(base);

	memcpy(s, base, n - 1);
	memset(s + n - 1, ' ', total - n);
	s[total - 1] = '}';
	s[total] = '\0';
	return s;
}

static void migrate_caps(void **state)
{
	struct mig_request r;
	struct mig_verdict v;
	char *at = padded(MIG_SUBMISSION_MAX), *over = padded(MIG_SUBMISSION_MAX + 1);
	char deep[4096];
	size_t i;

	(void)state;
	assert_int_equal(mig_parse_migrate(at, strlen(at), &r, &v), 0);
	assert_int_equal(mig_parse_migrate(over, strlen(over), &r, &v), -1);
	assert_string_equal(v.code, "RequestTooLarge");
	free(at);
	free(over);
	/* Deep nesting in a field: rejected as a wrong type, not a crash. */
	strcpy(deep, "{\"requestId\":\"a\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\","
		     "\"reason\":");
	for (i = 0; i < 1000; i++)
		strcat(deep, "[");
	for (i = 0; i < 1000; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(mig_parse_migrate(deep, strlen(deep), &r, &v), -1);
	/* A request id at the label cap (63) is fine, 64 is not. */
	{
		char body[512], id[80];

		memset(id, 'a', 63);
		id[63] = '\0';
		snprintf(
		    body, sizeof(body),
		    "{\"requestId\":\"%s\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\"}",
		    id);
		assert_int_equal(parse(body, &r, &v), 0);
		memset(id, 'a', 64);
		id[64] = '\0';
		snprintf(
		    body, sizeof(body),
		    "{\"requestId\":\"%s\",\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"x\"}",
		    id);
		assert_int_equal(parse(body, &r, &v), -1);
		assert_string_equal(v.code, "InvalidName");
	}
}

static void cancel_parse(void **state)
{
	struct mig_cancel c;
	struct mig_verdict v;
	const char *ok = "{\"requestId\":\"c-1\",\"cluster\":\"local\",\"namespace\":\"default\","
			 "\"name\":\"web-1\",\"targetRequestId\":\"req-1\"}";
	const char *bad = "{\"requestId\":\"c-1\",\"cluster\":\"local\",\"namespace\":\"default\","
			  "\"name\":\"web-1\",\"targetRequestId\":\"../x\"}";

	(void)state;
	assert_int_equal(mig_parse_cancel(ok, strlen(ok), &c, &v), 0);
	assert_string_equal(c.target_request, "req-1");
	assert_int_equal(mig_parse_cancel(bad, strlen(bad), &c, &v), -1);
	assert_string_equal(v.code, "InvalidName");
	assert_int_equal(mig_parse_cancel("{\"requestId\":\"c\"}", 17, &c, &v), -1);
	assert_string_equal(v.code, "SchemaViolation");
	assert_int_equal(mig_parse_cancel("nope", 4, &c, &v), -1);
	assert_string_equal(v.code, "MalformedRequest");
}

static void verbs(void **state)
{
	(void)state;
	assert_int_equal(mig_verb_from_type("dev.novasphere.wukong.request.migrate.v1"),
			 MIG_VERB_MIGRATE);
	assert_int_equal(mig_verb_from_type("dev.novasphere.wukong.request.cancel.v1"),
			 MIG_VERB_CANCEL);
	assert_int_equal(mig_verb_from_type("dev.novasphere.wukong.request.drain.v1"),
			 MIG_VERB_OTHER);
	assert_int_equal(mig_verb_from_type("dev.novasphere.wukong.request.migrate.v2"),
			 MIG_VERB_UNKNOWN);
	assert_int_equal(mig_verb_from_type("evil"), MIG_VERB_UNKNOWN);
	assert_int_equal(mig_verb_from_type(NULL), MIG_VERB_UNKNOWN);
}

static void tenants(void **state)
{
	struct mig_verdict v;

	(void)state;
	assert_true(wk_tenant_ns_in_list("team-a-dev", "team-a-*, shared"));
	assert_true(wk_tenant_ns_in_list("shared", "team-a-*, shared"));
	assert_false(wk_tenant_ns_in_list("shared2", "team-a-*, shared"));
	assert_false(wk_tenant_ns_in_list("team-b", "team-a-*"));
	assert_true(wk_tenant_ns_in_list("anything", "*"));
	assert_false(wk_tenant_ns_in_list("x", ""));
	/* No policy configured at all: anyone may ask. */
	assert_int_equal(mig_tenant_check("", "default", NULL, false, false, &v), 0);
	assert_int_equal(mig_tenant_check("t", "default", NULL, false, false, &v), 0);
	/* Tenants configured: an unknown tenant is forbidden, a known one only in its list. */
	assert_int_equal(mig_tenant_check("t", "default", NULL, false, true, &v), -1);
	assert_string_equal(v.code, "Forbidden");
	assert_int_equal(mig_tenant_check("a", "team-a-1", "team-a-*", false, true, &v), 0);
	assert_int_equal(mig_tenant_check("a", "kube-system", "team-a-*", false, true, &v), -1);
	assert_string_equal(v.code, "Forbidden");
	assert_int_equal(mig_tenant_check("", "default", NULL, true, true, &v), -1);
}

static cJSON *wukong(const char *uid, int gen, const char *migration, const char *status_req)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\",\"uid\":\"%s\","
		 "\"generation\":%d},\"spec\":{\"cpu\":2%s%s},\"status\":{\"vmName\":\"web-1-vm\""
		 "%s%s%s}}",
		 uid, gen, migration ? ",\"migration\":" : "", migration ? migration : "",
		 status_req ? ",\"migrationStatus\":{\"requestId\":\"" : "",
		 status_req ? status_req : "", status_req ? "\",\"phase\":\"Succeeded\"}" : "");
	return cJSON_Parse(buf);
}

static void spec_requests(void **state)
{
	cJSON *w1 =
	    wukong("1234abcd-0000", 3, "{\"targetNode\":\"node-2\",\"allowPostCopy\":true}", NULL);
	cJSON *w1b =
	    wukong("1234abcd-0000", 4, "{\"allowPostCopy\":true,\"targetNode\":\"node-2\"}", NULL);
	cJSON *w2 = wukong("1234abcd-0000", 5, "{\"targetNode\":\"node-3\"}", NULL);
	cJSON *none = wukong("1234abcd-0000", 6, NULL, NULL);
	struct mig_spec_view v1, v1b, v2, vn;
	struct mig_request r;
	struct mig_verdict vd;
	char u8[9], h8[9];
	int64_t g;

	(void)state;
	assert_int_equal(mig_spec_view(w1, &v1), 0);
	assert_int_equal(mig_spec_view(w1b, &v1b), 0);
	assert_int_equal(mig_spec_view(w2, &v2), 0);
	assert_int_equal(mig_spec_view(none, &vn), 0);
	assert_true(v1.present);
	assert_false(vn.present);
	/* Key order does not matter; content does. */
	assert_string_equal(v1.hash, v1b.hash);
	assert_string_not_equal(v1.hash, v2.hash);
	assert_int_equal(mig_request_from_spec(w1, "local", &r, &vd), 0);
	assert_string_equal(r.vm, "web-1-vm");
	assert_string_equal(r.target_node, "node-2");
	assert_int_equal(r.opt.allow_post_copy, MIG_TRUE);
	assert_int_equal(r.generation, 3);
	assert_int_equal(mig_spec_request_parse(r.id, u8, &g, h8), 0);
	assert_string_equal(u8, "1234abcd");
	assert_int_equal(g, 3);
	assert_memory_equal(h8, v1.hash, 8);
	/* One spec change = one request: nothing known yet -> new; the same spec at a later
	 * generation (a cpu change) -> not new; a different spec -> new; an older event -> not. */
	assert_true(mig_spec_is_new(&v1, NULL));
	assert_true(mig_spec_is_new(&v1, ""));
	assert_false(mig_spec_is_new(&v1b, r.id));
	assert_true(mig_spec_is_new(&v2, r.id));
	assert_false(mig_spec_is_new(&vn, r.id));
	{
		char id2[64];

		mig_spec_request_id(v2.uid, 5, v2.hash, id2, sizeof(id2));
		assert_false(mig_spec_is_new(&v1, id2)); /* replay of generation 3 after 5 */
		/* A Wukong recreated under the same name (new uid) starts over. */
		assert_true(mig_spec_is_new(&v1, "spec-ffffffff-g9-deadbeef"));
	}
	assert_int_equal(mig_spec_request_parse("req-1", u8, &g, h8), -1);
	assert_int_equal(mig_spec_request_parse("spec-abc-gX-12345678", u8, &g, h8), -1);
	assert_int_equal(mig_spec_request_parse("spec-abc-g1-123", u8, &g, h8), -1);
	/* A hostile targetNode in the spec is refused, not turned into a path. */
	{
		cJSON *bad = wukong("1", 1, "{\"targetNode\":\"../../x\"}", NULL);

		assert_int_equal(mig_request_from_spec(bad, "local", &r, &vd), -1);
		assert_string_equal(vd.code, "InvalidName");
		cJSON_Delete(bad);
	}
	cJSON_Delete(w1);
	cJSON_Delete(w1b);
	cJSON_Delete(w2);
	cJSON_Delete(none);
}

/* A Wukong with spec.migration (or none), a status request and conditions (JSON array text). */
static cJSON *wukong_c(int gen, const char *migration, const char *status_req, const char *conds)
{
	cJSON *w = wukong("1234abcd-0000", gen, migration, status_req);

	if (conds)
		cJSON_AddItemToObject(cJSON_GetObjectItem(w, "status"), "conditions",
				      cJSON_Parse(conds));
	return w;
}

#define REMOVED_AT(g)                                                                              \
	"[{\"type\":\"MigrationRequested\",\"status\":\"False\",\"reason\":"                       \
	"\"SpecMigrationRemoved\",\"observedGeneration\":" #g "}]"

/* Declarative spec.migration: removing it and setting the same one again is a new request; a
 * replay from before the removal is not; a cpu change is not. */
static void spec_due_after_removal(void **state)
{
	const char *m = "{\"targetNode\":\"node-2\"}";
	cJSON *w3 = wukong_c(3, m, NULL, NULL);
	struct mig_spec_view v;
	struct mig_request r;
	struct mig_verdict vd;
	char marker[32], last[64];
	cJSON *w;

	(void)state;
	assert_int_equal(mig_request_from_spec(w3, "local", &r, &vd), 0);
	wk_strlcpy(last, r.id, sizeof(last));
	/* handled at generation 3; a cpu change at 4 with the same spec: not due */
	w = wukong_c(4, m, last, NULL);
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_false(mig_spec_due(&v, last));
	assert_false(mig_spec_due(&v, NULL));
	cJSON_Delete(w);
	/* removed at 5 (remembered), the same spec again at 6: due */
	mig_spec_removed_marker(5, marker, sizeof(marker));
	assert_string_equal(marker, "removed-g5");
	assert_int_equal(mig_spec_removed_parse(marker), 5);
	w = wukong_c(6, m, last, NULL);
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_true(mig_spec_due(&v, marker));
	/* without the migrator's memory (a restart): the status's condition says the same */
	assert_false(mig_spec_due(&v, NULL));
	cJSON_Delete(w);
	w = wukong_c(6, m, last, REMOVED_AT(5));
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_int_equal(v.removed_generation, 5);
	assert_true(mig_spec_due(&v, NULL));
	/* ... and a request handled after the removal counts again */
	{
		char id6[64];

		mig_spec_request_id(v.uid, 6, v.hash, id6, sizeof(id6));
		assert_false(mig_spec_due(&v, id6));
	}
	cJSON_Delete(w);
	/* a replay of generation 3's event after the removal asks for nothing */
	w = wukong_c(3, m, NULL, REMOVED_AT(5));
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_false(mig_spec_due(&v, NULL));
	assert_false(mig_spec_due(&v, marker));
	cJSON_Delete(w);
	/* a removal marker of another generation; garbage markers and conditions count for
	 * nothing */
	assert_int_equal(mig_spec_removed_parse("removed-g"), 0);
	assert_int_equal(mig_spec_removed_parse("removed-g5x"), 0);
	assert_int_equal(mig_spec_removed_parse("removed-g-5"), 0);
	assert_int_equal(mig_spec_removed_parse(NULL), 0);
	assert_int_equal(mig_spec_removed_parse(last), 0);
	w = wukong_c(6, m, last,
		     "[{\"type\":\"MigrationRequested\",\"status\":\"True\",\"reason\":"
		     "\"SpecMigrationRemoved\",\"observedGeneration\":5},"
		     "{\"type\":\"MigrationRequested\",\"status\":\"False\",\"reason\":\"X\","
		     "\"observedGeneration\":\"5\"}, 7, null]");
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_int_equal(v.removed_generation, 0);
	assert_false(mig_spec_due(&v, NULL));
	cJSON_Delete(w);
	/* no spec.migration: never due */
	w = wukong_c(7, NULL, last, REMOVED_AT(5));
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_false(mig_spec_due(&v, NULL));
	cJSON_Delete(w);
	cJSON_Delete(w3);
}

/* The spec wait's clock from the status: MigrationRequestWaiting=True naming the request. */
static void spec_wait_clock(void **state)
{
	cJSON *w =
	    wukong_c(2, "{\"targetNode\":\"node-2\"}", NULL,
		     "[{\"type\":\"MigrationRequestWaiting\",\"status\":\"True\",\"reason\":"
		     "\"WaitingForVMI\",\"message\":\"request 'spec-1234abcd-g2-aaaaaaaa' waits\","
		     "\"lastTransitionTime\":\"2026-12-08T01:00:00Z\"}]");
	struct mig_spec_view v;
	cJSON *c;

	(void)state;
	assert_int_equal(mig_spec_wait_since(w, "spec-1234abcd-g2-aaaaaaaa"), 1796691600000LL);
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_true(v.waiting_shown);
	/* another request, a prefix of the id, nothing: 0 */
	assert_int_equal(mig_spec_wait_since(w, "spec-1234abcd-g3-aaaaaaaa"), 0);
	assert_int_equal(mig_spec_wait_since(w, "spec-1234abcd-g2-aaaa"), 0);
	assert_int_equal(mig_spec_wait_since(w, ""), 0);
	assert_int_equal(mig_spec_wait_since(w, NULL), 0);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "status"), "conditions"),
			       0);
	/* a bad time, then a wait that ended */
	cJSON_ReplaceItemInObject(c, "lastTransitionTime", cJSON_CreateString("yesterday"));
	assert_int_equal(mig_spec_wait_since(w, "spec-1234abcd-g2-aaaaaaaa"), 0);
	cJSON_ReplaceItemInObject(c, "lastTransitionTime",
				  cJSON_CreateString("2026-12-08T01:00:00Z"));
	cJSON_ReplaceItemInObject(c, "status", cJSON_CreateString("False"));
	assert_int_equal(mig_spec_wait_since(w, "spec-1234abcd-g2-aaaaaaaa"), 0);
	assert_int_equal(mig_spec_view(w, &v), 0);
	assert_false(v.waiting_shown);
	cJSON_Delete(w);
}

static void names(void **state)
{
	struct mig_request a, b;
	char na[128], nb[128], na2[128];

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.cluster, "local");
	strcpy(a.ns, "default");
	strcpy(a.name, "web-1");
	strcpy(a.id, "req-1");
	b = a;
	strcpy(b.ns, "other");
	mig_object_name(&a, na, sizeof(na));
	mig_object_name(&a, na2, sizeof(na2));
	mig_object_name(&b, nb, sizeof(nb));
	assert_string_equal(na, na2); /* deterministic */
	assert_string_not_equal(na, nb);
	assert_int_equal(strncmp(na, "wk-req-1-", 9), 0);
	/* A long id is cut to a valid name without a dangling '-'. */
	memset(a.id, 'x', 39);
	a.id[39] = '-';
	a.id[40] = 'y';
	a.id[41] = '\0';
	mig_object_name(&a, na, sizeof(na));
	assert_true(strlen(na) <= 63);
	assert_null(strstr(na, "--"));
}

static void request_json_roundtrip(void **state)
{
	struct mig_request r, back;
	struct mig_verdict v;
	char *s;

	(void)state;
	assert_int_equal(parse(VALID, &r, &v), 0);
	strcpy(r.vm, "web-1-vm");
	r.received_ms = 1700000000123;
	s = mig_request_to_json(&r);
	assert_int_equal(mig_request_from_json(s, &back), 0);
	assert_string_equal(back.id, r.id);
	assert_string_equal(back.vm, "web-1-vm");
	assert_string_equal(back.target_node, "node-2");
	assert_int_equal(back.opt.allow_post_copy, MIG_TRUE);
	assert_int_equal(back.opt.bandwidth, 64 << 20);
	assert_int_equal(back.received_ms, 1700000000123);
	free(s);
	/* Annotations can be edited by anyone: a tampered one is refused. */
	assert_int_equal(mig_request_from_json("{\"requestId\":\"a\",\"namespace\":\"../x\","
					       "\"name\":\"x\",\"vm\":\"x\"}",
					       &back),
			 -1);
	assert_int_equal(mig_request_from_json("not json", &back), -1);
	assert_int_equal(mig_request_from_json(NULL, &back), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(migrate_valid),
	    cmocka_unit_test(migrate_minimal),
	    cmocka_unit_test(migrate_bad),
	    cmocka_unit_test(migrate_hostile_names),
	    cmocka_unit_test(migrate_caps),
	    cmocka_unit_test(cancel_parse),
	    cmocka_unit_test(verbs),
	    cmocka_unit_test(tenants),
	    cmocka_unit_test(spec_requests),
	    cmocka_unit_test(spec_due_after_removal),
	    cmocka_unit_test(spec_wait_clock),
	    cmocka_unit_test(names),
	    cmocka_unit_test(request_json_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
