/* test_ctl_request.c - the submissions wukongctl builds: field names and values, keys, ids, and
 * every body validated against schemas/request-*.v1.json with tests/schema-validate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/wukongctl/ctl_request.h"
#include "wk_name.h"

#include <cjson/cJSON.h>
#include <unistd.h>

static int build(struct ctl_request *r, enum ctl_verb verb, char *err, int argc, ...)
{
	char *argv[32];
	struct ctl_args a;
	va_list ap;

	argv[0] = (char *)"wukongctl";
	va_start(ap, argc);
	for (int i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	if (ctl_args_parse(argc + 1, argv, &a, err, 256) < 0)
		return -2;
	return ctl_request_from_args(&a, verb, r, err, 256);
}

static cJSON *body(const struct ctl_request *r)
{
	char *s = ctl_request_json(r);
	cJSON *o = cJSON_Parse(s);

	free(s);
	assert_non_null(o);
	return o;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void migrate(void **state)
{
	struct ctl_request r;
	char err[256], key[600], subj[600];
	cJSON *o, *op;

	(void)state;
	assert_int_equal(build(&r, CTL_VERB_MIGRATE, err, 9, "migrate", "prod/web-1", "--to",
			       "node-2", "--auto-converge", "--post-copy", "--timeout-per-gib",
			       "800", "--tenant=team-a"),
			 0);
	wk_strlcpy(r.id, "migrate-1", sizeof(r.id));
	o = body(&r);
	assert_string_equal(str(o, "requestId"), "migrate-1");
	assert_string_equal(str(o, "cluster"), "local");
	assert_string_equal(str(o, "namespace"), "prod");
	assert_string_equal(str(o, "name"), "web-1");
	assert_string_equal(str(o, "targetNode"), "node-2");
	assert_string_equal(str(o, "tenant"), "team-a");
	op = cJSON_GetObjectItemCaseSensitive(o, "options");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "allowAutoConverge")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "allowPostCopy")));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(op, "completionTimeoutPerGiB")->valueint,
			 800);
	cJSON_Delete(o);
	ctl_request_key(&r, key, sizeof(key));
	assert_string_equal(key, "local/prod/web-1-vm");
	ctl_request_subject(&r, subj, sizeof(subj));
	assert_string_equal(subj, "Wukong/prod/web-1");
	assert_string_equal(ctl_request_type(CTL_VERB_MIGRATE),
			    "dev.novasphere.wukong.request.migrate.v1");
	/* no options: no "options" object, no targetNode */
	assert_int_equal(build(&r, CTL_VERB_MIGRATE, err, 2, "migrate", "web-1"), 0);
	o = body(&r);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "options"));
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "targetNode"));
	assert_string_equal(str(o, "namespace"), "default");
	cJSON_Delete(o);
	/* --cold: options.cold, and only with a node to pin the VM to */
	assert_int_equal(
	    build(&r, CTL_VERB_MIGRATE, err, 5, "migrate", "web-1", "--cold", "--to", "node-2"), 0);
	o = body(&r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "options"), "cold")));
	cJSON_Delete(o);
	assert_int_equal(build(&r, CTL_VERB_MIGRATE, err, 3, "migrate", "web-1", "--cold"), -1);
	assert_non_null(strstr(err, "--cold"));
	/* refused before anything is sent */
	assert_int_equal(build(&r, CTL_VERB_MIGRATE, err, 2, "migrate", "../../x"), -1);
	assert_int_equal(build(&r, CTL_VERB_MIGRATE, err, 4, "migrate", "x", "--to", "../n"), -1);
}

static void other_verbs(void **state)
{
	struct ctl_request r;
	char err[256], key[600];
	cJSON *o;

	(void)state;
	assert_int_equal(build(&r, CTL_VERB_CANCEL, err, 4, "cancel", "a/b", "--request", "m-1"),
			 0);
	o = body(&r);
	assert_string_equal(str(o, "targetRequestId"), "m-1");
	assert_string_equal(str(o, "name"), "b");
	cJSON_Delete(o);
	assert_int_equal(build(&r, CTL_VERB_DRAIN, err, 3, "drain", "node-3", "--dry-run"), 0);
	o = body(&r);
	assert_string_equal(str(o, "node"), "node-3");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dryRun")));
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "namespace"));
	cJSON_Delete(o);
	ctl_request_key(&r, key, sizeof(key));
	assert_string_equal(key, "local/node/node-3");
	assert_int_equal(
	    build(&r, CTL_VERB_CLONE, err, 5, "clone", "a/src", "a/dst", "--disks", "system,data"),
	    0);
	o = body(&r);
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(o, "source"), "name"), "src-vm");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(o, "source"), "type"), "vm");
	assert_string_equal(
	    str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "targets"), 0), "name"),
	    "dst");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "disks")), 2);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "name"));
	cJSON_Delete(o);
	ctl_request_key(&r, key, sizeof(key));
	assert_string_equal(key, "local/a/src-vm");
	assert_int_equal(build(&r, CTL_VERB_CLONE, err, 3, "clone", "a/src", "a/src"), -1);
	assert_int_equal(build(&r, CTL_VERB_CLONE, err, 5, "clone", "a", "b", "--disks", "x,x"),
			 -1);
	assert_int_equal(build(&r, CTL_VERB_DRAIN, err, 2, "drain", "no/de"), -1);
}

static void ids(void **state)
{
	char id[CTL_ID_MAX], id2[CTL_ID_MAX];

	(void)state;
	/* 2026-01-02T03:04:05Z */
	ctl_request_new_id(CTL_VERB_MIGRATE, 1767323045000LL, 0xabcdef12u, id, sizeof(id));
	assert_string_equal(id, "migrate-20260102-030405-cdef12");
	assert_true(wk_name_is_dns1123_label(id));
	ctl_request_new_id(CTL_VERB_CLONE, 1767323045000LL, 1, id2, sizeof(id2));
	assert_true(wk_name_is_dns1123_label(id2));
	assert_string_not_equal(id, id2);
}

/* Every body against its schema, through the same validator the integration tests use. */
static void schemas(void **state)
{
	static const struct {
		enum ctl_verb verb;
		const char *schema;
		int argc;
		const char *argv[8];
	} cases[] = {
	    {CTL_VERB_MIGRATE, "schemas/request-migrate.v1.json", 2, {"migrate", "web-1"}},
	    {CTL_VERB_MIGRATE,
	     "schemas/request-migrate.v1.json",
	     8,
	     {"migrate", "ns-1/web.1", "--to", "node-2", "--auto-converge", "--post-copy",
	      "--timeout-per-gib=604800", "--reason=maintenance \"window\" 3"}},
	    {CTL_VERB_MIGRATE,
	     "schemas/request-migrate.v1.json",
	     4,
	     {"migrate", "db-local", "--cold", "--to=node-3"}},
	    {CTL_VERB_CANCEL, "schemas/request-cancel.v1.json", 2, {"cancel", "a/b"}},
	    {CTL_VERB_CANCEL,
	     "schemas/request-cancel.v1.json",
	     4,
	     {"cancel", "a/b", "--request", "migrate-1"}},
	    {CTL_VERB_CLONE, "schemas/request-clone.v1.json", 3, {"clone", "a/src", "a/dst"}},
	    {CTL_VERB_CLONE,
	     "schemas/request-clone.v1.json",
	     6,
	     {"clone", "a/src", "b/dst", "--disks", "system,data", "--tenant=t1"}},
	};
	char tmpl[] = "/tmp/test_ctl_request.XXXXXX", cmd[512], err[256];

	(void)state;
	if (access("tests/schema-validate", X_OK) < 0 || access("/usr/bin/python3", X_OK) < 0)
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_request r;
		int fd = mkstemp(tmpl);
		char *s;
		FILE *f;

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		switch (cases[i].argc) {
		case 2:
			assert_int_equal(
			    build(&r, cases[i].verb, err, 2, cases[i].argv[0], cases[i].argv[1]),
			    0);
			break;
		case 3:
			assert_int_equal(build(&r, cases[i].verb, err, 3, cases[i].argv[0],
					       cases[i].argv[1], cases[i].argv[2]),
					 0);
			break;
		case 4:
			assert_int_equal(build(&r, cases[i].verb, err, 4, cases[i].argv[0],
					       cases[i].argv[1], cases[i].argv[2],
					       cases[i].argv[3]),
					 0);
			break;
		case 6:
			assert_int_equal(build(&r, cases[i].verb, err, 6, cases[i].argv[0],
					       cases[i].argv[1], cases[i].argv[2], cases[i].argv[3],
					       cases[i].argv[4], cases[i].argv[5]),
					 0);
			break;
		default:
			assert_int_equal(build(&r, cases[i].verb, err, 8, cases[i].argv[0],
					       cases[i].argv[1], cases[i].argv[2], cases[i].argv[3],
					       cases[i].argv[4], cases[i].argv[5], cases[i].argv[6],
					       cases[i].argv[7]),
					 0);
		}
		ctl_request_new_id(cases[i].verb, 1767323045000LL, (uint32_t)i, r.id, sizeof(r.id));
		/* what ctl_operation adds: the time after which no executor starts it */
		strcpy(r.expires_at, "2026-01-02T03:14:05.000Z");
		s = ctl_request_json(&r);
		assert_non_null(strstr(s, "\"expiresAt\":\"2026-01-02T03:14:05.000Z\""));
		fprintf(f, "%s\n", s);
		free(s);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/schema-validate %s %s",
			 cases[i].schema, tmpl);
		assert_int_equal(system(cmd), 0);
		unlink(tmpl);
		strcpy(tmpl + strlen(tmpl) - 6, "XXXXXX");
	}
	/* the validator can fail: an unknown field is refused */
	{
		int fd = mkstemp(tmpl);
		FILE *f = fdopen(fd, "w");

		fprintf(f, "{\"requestId\":\"x\",\"cluster\":\"local\",\"namespace\":\"a\","
			   "\"name\":\"b\",\"cold\":true}\n");
		fclose(f);
		snprintf(
		    cmd, sizeof(cmd),
		    "/usr/bin/python3 tests/schema-validate schemas/request-migrate.v1.json %s "
		    ">/dev/null",
		    tmpl);
		assert_int_not_equal(system(cmd), 0);
		unlink(tmpl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(migrate),
	    cmocka_unit_test(other_verbs),
	    cmocka_unit_test(ids),
	    cmocka_unit_test(schemas),
	};

	return cmocka_run_group_tests_name("ctl_request", tests, NULL, NULL);
}
