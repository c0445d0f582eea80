/* test_rt_route.c - the router's decisions (consumers/router/rt_route.c) and the registry record
 * (core/wk_cluster.c): routing, fan-out ids, placement, hold, refusals, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../consumers/router/rt_fanout.h"
#include "../../consumers/router/rt_route.h"
#include "wk_time.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define NOW 1800000000000LL

static void put(struct rt_registry *r, const char *id, const char *region, long long age_ms,
		long long mem_free_gi, int ready)
{
	char body[1024], t[64], err[256];

	wk_time_format(NOW - age_ms, t, sizeof(t));
	snprintf(
	    body, sizeof(body),
	    "{\"cluster\":\"%s\",\"labels\":{\"region\":\"%s\"},\"kubevirtVersion\":\"v1.6.0\","
	    "\"featureGates\":[\"Snapshot\"],\"nodes\":4,\"nodesReady\":%d,"
	    "\"memoryAllocatableBytes\":%lld,\"memoryUsedBytes\":0,\"time\":\"%s\"}",
	    id, region, ready, mem_free_gi << 30, t);
	assert_int_equal(rt_registry_apply(r, id, body, strlen(body), err, sizeof(err)), 0);
}

static void setup_reg(struct rt_registry *r)
{
	rt_registry_init(r, 15000);
	put(r, "a", "east", 1000, 10, 4);
	put(r, "b", "west", 1000, 40, 4);
	put(r, "c", "east", 60000, 90, 4); /* stale */
}

static void decide(struct rt_registry *r, const char *body, struct rt_decision *d)
{
	struct rt_input in = {"dev.novasphere.wukong.request.migrate.v1", body, strlen(body), NOW,
			      0};

	rt_decide(r, &in, d);
}

static void routes_by_cluster(void **s)
{
	struct rt_registry r;
	struct rt_decision d;

	(void)s;
	setup_reg(&r);
	decide(&r, "{\"requestId\":\"r1\",\"cluster\":\"b\",\"name\":\"x\"}", &d);
	assert_int_equal(d.verdict, RT_ROUTE);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.targets[0].cluster, "b");
	assert_string_equal(d.targets[0].request_id, "r1");
	assert_non_null(strstr(d.targets[0].body, "\"cluster\":\"b\""));
	rt_decision_release(&d);
	decide(&r, "{\"requestId\":\"r1\",\"cluster\":\"zz\"}", &d);
	assert_int_equal(d.verdict, RT_REFUSE);
	assert_string_equal(d.reason, RT_REASON_UNKNOWN);
	rt_decision_release(&d);
	decide(&r, "{\"requestId\":\"r1\",\"cluster\":\"c\"}", &d);
	assert_int_equal(d.verdict, RT_REFUSE);
	assert_string_equal(d.reason, RT_REASON_UNAVAILABLE);
	assert_non_null(strstr(d.message, "60 s old"));
	rt_decision_release(&d);
	/* held until its own expiresAt */
	decide(&r,
	       "{\"requestId\":\"r1\",\"cluster\":\"c\",\"expiresAt\":\"2027-12-01T00:00:00Z\"}",
	       &d);
	assert_int_equal(d.verdict, RT_HOLD);
	assert_true(d.hold_until_ms > NOW);
	rt_decision_release(&d);
	/* an expiresAt already past: refused, saying so */
	decide(&r, "{\"requestId\":\"r1\",\"cluster\":\"c\",\"expiresAt\":\"2020-12-01T00:00:00Z\"}",
	       &d);
	assert_int_equal(d.verdict, RT_REFUSE);
	assert_non_null(strstr(d.message, "deadline passed"));
	rt_decision_release(&d);
	rt_registry_release(&r);
}

static void cross_cluster_gate(void **s)
{
	struct rt_registry r;
	struct rt_decision d;
	char body[512], t[64], err[256];

	(void)s;
	setup_reg(&r);
	/* a and b: v1.6.0 without the gate */
	decide(&r, "{\"requestId\":\"x\",\"cluster\":\"a\",\"toCluster\":\"b\",\"name\":\"w\"}", &d);
	assert_int_equal(d.verdict, RT_REFUSE);
	assert_string_equal(d.reason, RT_REASON_GATE);
	assert_non_null(strstr(d.message, "DecentralizedLiveMigration"));
	rt_decision_release(&d);
	/* both with the gate: refused as not carried out (yet), never routed */
	wk_time_format(NOW - 1000, t, sizeof(t));
	for (int i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
			 "{\"cluster\":\"%s\",\"kubevirtVersion\":\"v1.6.0\",\"featureGates\":"
			 "[\"DecentralizedLiveMigration\"],\"nodesReady\":1,\"time\":\"%s\"}",
			 i ? "b" : "a", t);
		assert_int_equal(rt_registry_apply(&r, i ? "b" : "a", body, strlen(body), err,
						   sizeof(err)),
				 0);
	}
	decide(&r, "{\"requestId\":\"x\",\"cluster\":\"a\",\"toCluster\":\"b\",\"name\":\"w\"}", &d);
	assert_int_equal(d.verdict, RT_REFUSE);
	assert_string_equal(d.reason, RT_REASON_UNSUPPORTED);
	rt_decision_release(&d);
	/* 1.5 has no such gate */
	snprintf(body, sizeof(body),
		 "{\"cluster\":\"b\",\"kubevirtVersion\":\"v1.5.2\",\"nodesReady\":1,\"time\":"
		 "\"%s\"}",
		 t);
	assert_int_equal(rt_registry_apply(&r, "b", body, strlen(body), err, sizeof(err)), 0);
	decide(&r, "{\"requestId\":\"x\",\"cluster\":\"a\",\"toCluster\":\"b\",\"name\":\"w\"}", &d);
	assert_string_equal(d.reason, RT_REASON_GATE);
	assert_non_null(strstr(d.message, "1.6 or later"));
	rt_decision_release(&d);
	decide(&r, "{\"requestId\":\"x\",\"cluster\":\"a\",\"toCluster\":\"a\"}", &d);
	assert_string_equal(d.reason, "schema");
	rt_decision_release(&d);
	decide(&r, "{\"requestId\":\"x\",\"cluster\":\"a\",\"toCluster\":\"../b\"}", &d);
	assert_string_equal(d.reason, "invalid-name");
	rt_decision_release(&d);
	decide(&r, "{\"requestId\":\"x\",\"clusters\":[\"a\"],\"toCluster\":\"b\"}", &d);
	assert_string_equal(d.reason, "schema");
	rt_decision_release(&d);
	rt_registry_release(&r);
}

static void fanout_and_placement(void **s)
{
	struct rt_registry r;
	struct rt_decision d;
	char id[64], id2[64];

	(void)s;
	setup_reg(&r);
	decide(&r, "{\"requestId\":\"fan\",\"clusters\":[\"a\",\"b\"],\"node\":\"n\"}", &d);
	assert_int_equal(d.verdict, RT_ROUTE);
	assert_true(d.fanout);
	assert_int_equal(d.n, 2);
	rt_derived_id("fan", "a", id, sizeof(id));
	rt_derived_id("fan", "a", id2, sizeof(id2));
	assert_string_equal(id, id2);
	assert_string_equal(d.targets[0].request_id, id);
	assert_true(strncmp(id, "fan-a-", 6) == 0 && strlen(id) == 14);
	rt_decision_release(&d);
	/* selector: c matches but is stale: skipped */
	decide(&r, "{\"requestId\":\"sel\",\"clusterSelector\":\"region=east\"}", &d);
	assert_int_equal(d.verdict, RT_ROUTE);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.targets[0].cluster, "a");
	assert_int_equal(d.n_skipped, 1);
	rt_decision_release(&d);
	/* auto: b has the most free memory among the available (c is stale) */
	decide(&r, "{\"requestId\":\"au\",\"cluster\":\"auto\"}", &d);
	assert_int_equal(d.verdict, RT_ROUTE);
	assert_true(d.placed);
	assert_string_equal(d.targets[0].cluster, "b");
	assert_non_null(strstr(d.message, "most free memory"));
	rt_decision_release(&d);
	decide(&r,
	       "{\"requestId\":\"au\",\"cluster\":\"auto\",\"clusterSelector\":\"region=east\"}",
	       &d);
	assert_string_equal(d.targets[0].cluster, "a");
	rt_decision_release(&d);
	/* a long id and cluster still give a DNS-1123 label */
	rt_derived_id("a-very-long-request-id-that-goes-on-and-on-and-on-and-on",
		      "cluster-with-a-long-name-x", id, sizeof(id));
	assert_true(strlen(id) <= 63);
	assert_null(strstr(id, "--"));
	rt_registry_release(&r);
}

static void hostile(void **s)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{}",
	    "{\"requestId\":\"UPPER\",\"cluster\":\"a\"}",
	    "{\"requestId\":\"r\",\"cluster\":\"../a\"}",
	    "{\"requestId\":\"r\",\"cluster\":\"a\",\"clusters\":[\"a\"]}",
	    "{\"requestId\":\"r\",\"clusters\":[]}",
	    "{\"requestId\":\"r\",\"clusters\":[\"a\",\"a\"]}",
	    "{\"requestId\":\"r\",\"clusters\":[1]}",
	    "{\"requestId\":\"r\",\"clusterSelector\":\"region in (\"}",
	    "{\"requestId\":\"r\",\"clusterSelector\":5}",
	    "{\"requestId\":\"r\",\"cluster\":\"a\",\"clusterSelector\":\"x=y\"}",
	    "{\"requestId\":\"r\"}",
	    "{\"requestId\":\"r\",\"cluster\":7}",
	};
	struct rt_registry r;
	struct rt_decision d;
	char big[RT_BODY_MAX + 2];

	(void)s;
	setup_reg(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide(&r, bad[i], &d);
		assert_int_equal(d.verdict, RT_REFUSE);
		assert_true(d.reason[0]);
		rt_decision_release(&d);
	}
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = 0;
	decide(&r, big, &d);
	assert_string_equal(d.reason, "RequestTooLarge");
	rt_decision_release(&d);
	{
		char err[256];

		/* registry records: key mismatch, garbage, too many gates */
		assert_int_equal(rt_registry_apply(&r, "x",
						   "{\"cluster\":\"a\",\"time\":"
						   "\"2026-01-01T00:00:00Z\"}",
						   46, err, sizeof(err)),
				 -1);
		assert_int_equal(rt_registry_apply(&r, "a", "nope", 4, err, sizeof(err)), -1);
		assert_int_equal(rt_registry_apply(&r, "a", "{\"cluster\":\"a\",\"time\":\"x\"}",
						   27, err, sizeof(err)),
				 -1);
		assert_int_equal(rt_registry_apply(&r, "a",
						   "{\"cluster\":\"a\",\"time\":"
						   "\"2026-01-01T00:00:00Z\",\"nodes\":-1}",
						   57, err, sizeof(err)),
				 -1);
		/* a tombstone removes */
		assert_int_equal(rt_registry_apply(&r, "a", NULL, 0, err, sizeof(err)), 0);
		assert_null(rt_registry_get(&r, "a"));
	}
	rt_registry_release(&r);
}

static const char *apply(struct rt_fanouts *f, const char *body)
{
	return rt_fanouts_apply(f, body, strlen(body));
}

static void fanout_aggregate(void **s)
{
	struct rt_fanouts f;
	const struct rt_fanout *fo;
	char *rep;

	(void)s;
	rt_fanouts_init(&f);
	/* a part's record before its plan is not followed */
	assert_null(apply(&f, "{\"requestId\":\"p-a-1\",\"actor\":\"wukong-migrator\","
			      "\"action\":\"drain.completed\",\"outcome\":\"success\"}"));
	assert_non_null(apply(&f, "{\"requestId\":\"p\",\"actor\":\"wukong-router\","
				  "\"action\":\"router.fanned-out\",\"outcome\":\"success\","
				  "\"details\":{\"targets\":[{\"cluster\":\"a\",\"requestId\":"
				  "\"p-a-1\"},{\"cluster\":\"b\",\"requestId\":\"p-b-2\"}]}}"));
	/* the same plan again (a replay): nothing new */
	assert_null(apply(&f, "{\"requestId\":\"p\",\"actor\":\"wukong-router\","
			      "\"action\":\"router.fanned-out\",\"details\":{\"targets\":[]}}"));
	fo = rt_fanouts_get(&f, "p");
	assert_non_null(fo);
	assert_string_equal(rt_fanout_overall(fo), "Running");
	/* not final, then final */
	assert_null(apply(&f, "{\"requestId\":\"p-a-1\",\"actor\":\"wukong-migrator\","
			      "\"action\":\"drain.started\",\"outcome\":\"info\"}"));
	assert_string_equal(apply(&f, "{\"requestId\":\"p-a-1\",\"actor\":\"wukong-migrator\","
				      "\"action\":\"drain.completed\",\"outcome\":\"success\"}"),
			    "p");
	assert_string_equal(rt_fanout_overall(fo), "Running");
	assert_string_equal(apply(&f, "{\"requestId\":\"p-b-2\",\"actor\":\"wukong-migrator\","
				      "\"action\":\"migration.request-refused\",\"outcome\":"
				      "\"rejected\",\"message\":\"no\"}"),
			    "p");
	assert_string_equal(rt_fanout_overall(fo), "PartiallySucceeded");
	rep = rt_fanout_report_json(fo);
	assert_non_null(strstr(rep, "\"overall\":\"PartiallySucceeded\""));
	assert_non_null(strstr(rep, "\"state\":\"Refused\""));
	free(rep);
	/* a second final record of the same part changes nothing */
	assert_null(apply(&f, "{\"requestId\":\"p-b-2\",\"actor\":\"wukong-migrator\","
			      "\"action\":\"migration.succeeded\",\"outcome\":\"success\"}"));
	/* hostile input is ignored */
	assert_null(apply(&f, "garbage"));
	assert_null(apply(&f, "{\"requestId\":5}"));
	assert_null(apply(&f, "{\"requestId\":\"q\",\"actor\":\"wukong-router\",\"action\":"
			      "\"router.fanned-out\",\"details\":{\"targets\":\"x\"}}"));
	rt_fanouts_forget(&f, "p");
	assert_int_equal(rt_fanouts_count(&f), 0);
	assert_null(apply(&f, "{\"requestId\":\"p-a-1\",\"actor\":\"wukong-migrator\","
			      "\"action\":\"drain.completed\",\"outcome\":\"success\"}"));
	rt_fanouts_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(routes_by_cluster),
	    cmocka_unit_test(fanout_and_placement),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(fanout_aggregate),
	    cmocka_unit_test(cross_cluster_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
