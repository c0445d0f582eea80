/* test_kafka_topics.c - deploy/topics.yaml parsing (tools/kafka/kt_topics.c): the real file, the
 * generated Strimzi manifests staying in sync with it, and refusal of bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/kafka/kt_topics.h"

static const char *const local[] = {"local"};

/* Never NULL (a failed lookup fails the test), so callers can dereference. */
static const struct kt_topic *find(const struct kt_topics *t, const char *name, bool per_cluster)
{
	static const struct kt_topic missing;

	for (size_t i = 0; t->v && i < t->n; i++)
		if (!strcmp(t->v[i].name, name) && t->v[i].per_cluster == per_cluster)
			return &t->v[i];
	fail_msg("topic '%s' not declared", name);
	return &missing;
}

static const char *config_of(const struct kt_topic *t, const char *key)
{
	for (size_t i = 0; t->config && i < t->nconfig; i++)
		if (!strcmp(t->config[i].key, key))
			return t->config[i].value;
	return "(absent)";
}

static void the_declared_list(void **state)
{
	static const char *const shorts[] = {"events",	 "requests", "status",
					     "progress", "audit",    "dlq"};
	struct kt_topics t;
	const struct kt_topic *x;
	char err[256];

	(void)state;
	if (kt_topics_load(&t, "deploy/topics.yaml", err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < WK_ARRAY_SIZE(shorts); i++)
		find(&t, shorts[i], false);
	x = find(&t, "requests", true);
	assert_true(x->per_cluster);
	x = find(&t, "status", false);
	assert_string_equal(config_of(x, "cleanup.policy"), "compact");
	/* the status writer reads every per-key update before compaction may drop it */
	assert_string_equal(config_of(x, "min.compaction.lag.ms"), "86400000");
	assert_string_equal(config_of(x, "min.insync.replicas"), "2"); /* from defaults */
	x = find(&t, "audit", false);
	assert_int_equal(x->partitions, 1);
	assert_int_equal(x->replicas, 3);
	kt_topics_release(&t);
}

struct names {
	char buf[1024];
};

static int collect(const char *full, const struct kt_topic *t, void *opaque)
{
	struct names *n = opaque;

	(void)t;
	strcat(n->buf, full);
	strcat(n->buf, " ");
	return 0;
}

static void expansion_and_prefix(void **state)
{
	static const char *yaml = "topics:\n"
				  "  - {name: events, partitions: 3}\n"
				  "  - {name: requests, partitions: 2, per_cluster: true}\n";
	static const char *const two[] = {"east", "west"};
	struct kt_topics t;
	struct names n = {""};
	char err[256];

	(void)state;
	assert_int_equal(kt_topics_parse(&t, "t.yaml", yaml, strlen(yaml), err, sizeof(err)), 0);
	kt_topics_foreach(&t, "wukong", two, 2, collect, &n);
	assert_string_equal(n.buf, "wukong.events wukong.requests.east wukong.requests.west ");
	n.buf[0] = '\0';
	kt_topics_foreach(&t, "", local, 1, collect, &n);
	assert_string_equal(n.buf, "events requests.local ");
	assert_int_equal(t.v[0].replicas, 1); /* no defaults: 1 */
	kt_topics_release(&t);
}

/* deploy/kafka-topics.yaml must be exactly what the generator makes from deploy/topics.yaml. */
static void strimzi_manifests_in_sync(void **state)
{
	struct kt_topics t;
	char err[256], *gen = NULL, *file;
	size_t gen_len = 0, file_len;
	FILE *f;

	(void)state;
	assert_int_equal(kt_topics_load(&t, "deploy/topics.yaml", err, sizeof(err)), 0);
	f = open_memstream(&gen, &gen_len);
	kt_topics_write_strimzi(f, &t, "wukong", local, 1, "wukong");
	fclose(f);
	kt_topics_release(&t);
	assert_non_null(strstr(gen, "kind: KafkaTopic"));
	assert_non_null(strstr(gen, "  name: wukong.requests.local\n"));
	assert_non_null(strstr(gen, "    cleanup.policy: \"compact\"\n"));

	f = fopen("deploy/kafka-topics.yaml", "r");
	assert_non_null(f);
	file = wk_xmalloc(1 << 20);
	file_len = fread(file, 1, (1 << 20) - 1, f);
	fclose(f);
	file[file_len] = '\0';
	if (strcmp(file, gen))
		fail_msg("deploy/kafka-topics.yaml is stale: run "
			 "build/bin/wukong-kafka --strimzi > deploy/kafka-topics.yaml");
	free(file);
	free(gen);
}

static void strimzi_renames_invalid_k8s_names(void **state)
{
	static const char *yaml = "topics:\n  - {name: events, partitions: 3}\n";
	struct kt_topics t;
	char err[256], *gen = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(kt_topics_parse(&t, "t.yaml", yaml, strlen(yaml), err, sizeof(err)), 0);
	f = open_memstream(&gen, &len);
	kt_topics_write_strimzi(f, &t, "My_Prefix", local, 1, "kc");
	fclose(f);
	assert_non_null(strstr(gen, "  name: my-prefix.events\n"));
	assert_non_null(strstr(gen, "  topicName: My_Prefix.events\n"));
	assert_non_null(strstr(gen, "strimzi.io/cluster: kc\n"));
	free(gen);
	kt_topics_release(&t);
}

static void expect_error(const char *yaml, size_t len, const char *want)
{
	struct kt_topics t;
	char err[256] = "";

	if (kt_topics_parse(&t, "bad.yaml", yaml, len, err, sizeof(err)) == 0) {
		kt_topics_release(&t);
		fail_msg("accepted: %s", yaml);
	}
	if (!strstr(err, want))
		fail_msg("error '%s' does not mention '%s'", err, want);
	assert_int_equal(t.n, 0);
}

#define BAD(y, want) expect_error((y), strlen(y), (want))

static void refuses_bad_input(void **state)
{
	char *big;

	(void)state;
	BAD("", "bad.yaml:1");
	BAD("topics: [", "bad.yaml:");
	BAD("- a\n- b\n", "expected a mapping");
	BAD("topics: {}\n", "must be a list");
	BAD("topics: []\n", "no topics");
	BAD("topicz: []\n", "unknown key 'topicz'");
	BAD("topics:\n  - {partitions: 3}\n", "without a 'name'");
	BAD("topics:\n  - {name: a}\n", "without 'partitions'");
	BAD("topics:\n  - {name: a, partitions: 0}\n", "from 1 to 1000");
	BAD("topics:\n  - {name: a, partitions: 1001}\n", "from 1 to 1000");
	BAD("topics:\n  - {name: a, partitions: 99999999999999999999}\n", "from 1 to 1000");
	BAD("topics:\n  - {name: a, partitions: 3x}\n", "partitions");
	BAD("topics:\n  - {name: a, partitions: [1]}\n", "partitions");
	BAD("topics:\n  - {name: ../etc, partitions: 1}\n", "[a-z0-9.-]");
	BAD("topics:\n  - {name: A_b, partitions: 1}\n", "[a-z0-9.-]");
	BAD("topics:\n  - {name: .a, partitions: 1}\n", "[a-z0-9.-]");
	BAD("topics:\n  - {name: a, partitions: 1, per_cluster: yes}\n", "true or false");
	BAD("topics:\n  - {name: a, partitions: 1, colour: red}\n", "unknown topic key");
	BAD("topics:\n  - {name: a, partitions: 1}\n  - {name: a, partitions: 2}\n",
	    "bad.yaml:3: topic 'a' is declared twice");
	BAD("topics:\n  - {name: a, partitions: 1, config: {Bad-Key: 1}}\n", "config key");
	BAD("topics:\n  - {name: a, partitions: 1, config: {x: \"a\\\"b\"}}\n", "plain value");
	BAD("topics:\n  - {name: a, partitions: 1, config: [x]}\n", "must be a mapping");
	BAD("defaults: {replicas: 11}\ntopics:\n  - {name: a, partitions: 1}\n", "from 1 to 10");
	BAD("defaults: {other: 1}\ntopics:\n  - {name: a, partitions: 1}\n", "in defaults");
	/* Over the caps. */
	big = wk_xmalloc(KT_FILE_MAX + 2);
	memset(big, ' ', KT_FILE_MAX + 1);
	big[KT_FILE_MAX + 1] = '\0';
	BAD(big, "cap");
	free(big);
	{
		char y[8192] = "topics:\n";

		for (int i = 0; i <= KT_TOPICS_MAX; i++)
			snprintf(y + strlen(y), sizeof(y) - strlen(y),
				 "  - {name: t%d, partitions: 1}\n", i);
		BAD(y, "more than 64 topics");
	}
}

static void name_and_partition_caps(void **state)
{
	char y[512], name[KT_NAME_MAX + 2];
	struct kt_topics t;
	char err[256];

	(void)state;
	memset(name, 'a', sizeof(name));
	name[KT_NAME_MAX] = '\0';
	snprintf(y, sizeof(y), "topics:\n  - {name: %s, partitions: 1000}\n", name);
	assert_int_equal(kt_topics_parse(&t, "t.yaml", y, strlen(y), err, sizeof(err)), 0);
	assert_int_equal(t.v[0].partitions, KT_PARTITIONS_MAX);
	kt_topics_release(&t);
	name[KT_NAME_MAX] = 'a';
	name[KT_NAME_MAX + 1] = '\0';
	snprintf(y, sizeof(y), "topics:\n  - {name: %s, partitions: 1}\n", name);
	BAD(y, "1-100");
}

static void cluster_ids(void **state)
{
	(void)state;
	assert_true(kt_cluster_id_valid("local"));
	assert_true(kt_cluster_id_valid("prod-east-1"));
	assert_false(kt_cluster_id_valid(""));
	assert_false(kt_cluster_id_valid("East"));
	assert_false(kt_cluster_id_valid("a.b"));
	assert_false(kt_cluster_id_valid("../x"));
	assert_false(kt_cluster_id_valid("-a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_declared_list),
	    cmocka_unit_test(expansion_and_prefix),
	    cmocka_unit_test(strimzi_manifests_in_sync),
	    cmocka_unit_test(strimzi_renames_invalid_k8s_names),
	    cmocka_unit_test(refuses_bad_input),
	    cmocka_unit_test(name_and_partition_caps),
	    cmocka_unit_test(cluster_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
