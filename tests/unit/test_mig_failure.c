/* test_mig_failure.c - nodeFailure recovery's pure parts: the state kept on the VM (round trip,
 * empty, truncated, garbage, missing fields, at the cap and past it, hostile), the recovery id,
 * the capacity table, the target choice (rules, room, least allocated) and the tick's decision
 * for every situation a recovery can be in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "decide/mig_drain.h"
#include "decide/mig_failure_pick.h"

static void fill(struct mig_failure_state *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->pin.request, "nf-0123456789abcdef");
	strcpy(s->pin.target, "node-c");
	strcpy(s->pin.hostname, "node-c.example");
	strcpy(s->pin.wukong, "db-1");
	s->pin.node_selector = cJSON_Parse("{\"tier\":\"db\"}");
	s->pin.started_ms = 1763780000000LL;
	s->pin.stopped_ms = 1763780005000LL;
	strcpy(s->node, "node-a");
	strcpy(s->vmi_uid, "uid-old");
}

static void state_roundtrip(void **state)
{
	struct mig_failure_state s, t;
	char *j;

	(void)state;
	fill(&s);
	strcpy(s.move_id, "nf-0123456789abcdef-move");
	strcpy(s.move_to, "node-d");
	strcpy(s.moved_from, "node-b");
	s.move_ms = 1763780009000LL;
	j = mig_failure_state_json(&s);
	assert_int_equal(mig_failure_state_parse(j, &t), 0);
	assert_string_equal(t.pin.request, s.pin.request);
	assert_string_equal(t.pin.target, "node-c");
	assert_string_equal(t.pin.hostname, "node-c.example");
	assert_string_equal(t.node, "node-a");
	assert_string_equal(t.vmi_uid, "uid-old");
	assert_string_equal(t.move_id, s.move_id);
	assert_string_equal(t.move_to, "node-d");
	assert_string_equal(t.moved_from, "node-b");
	assert_true(t.move_ms == s.move_ms);
	assert_true(t.pin.stopped_ms == s.pin.stopped_ms);
	assert_string_equal(cJSON_GetObjectItem(t.pin.node_selector, "tier")->valuestring, "db");
	mig_failure_state_release(&t);
	mig_failure_state_release(&t);
	mig_failure_state_release(NULL);
	free(j);
	/* unpinned, no selector, no move */
	s.pin.target[0] = s.pin.hostname[0] = '\0';
	cJSON_Delete(s.pin.node_selector);
	s.pin.node_selector = NULL;
	s.move_id[0] = s.move_to[0] = s.moved_from[0] = '\0';
	j = mig_failure_state_json(&s);
	assert_int_equal(mig_failure_state_parse(j, &t), 0);
	assert_string_equal(t.pin.target, "");
	assert_null(t.pin.node_selector);
	assert_string_equal(t.move_id, "");
	mig_failure_state_release(&t);
	free(j);
	mig_failure_state_release(&s);
}

static void state_bad(void **state)
{
	struct mig_failure_state s, t;
	char *j, *cut, big[400], *hostile;
	size_t n;

	(void)state;
	assert_int_equal(mig_failure_state_parse(NULL, &t), -1);
	assert_int_equal(mig_failure_state_parse("", &t), -1);
	assert_int_equal(mig_failure_state_parse("garbage", &t), -1);
	assert_int_equal(mig_failure_state_parse("[]", &t), -1);
	assert_null(t.pin.node_selector);
	fill(&s);
	j = mig_failure_state_json(&s);
	/* truncated */
	n = strlen(j);
	cut = strndup(j, n / 2);
	assert_int_equal(mig_failure_state_parse(cut, &t), -1);
	free(cut);
	/* a cold migration's state is not ours (no failedNode / failedVmi) */
	{
		char *c = mig_cold_state_json(&s.pin);

		assert_int_equal(mig_failure_state_parse(c, &t), -1);
		assert_null(t.pin.node_selector);
		free(c);
	}
	free(j);
	/* empty failed node, a move without a target, wrong types */
	s.node[0] = '\0';
	j = mig_failure_state_json(&s);
	assert_int_equal(mig_failure_state_parse(j, &t), -1);
	free(j);
	strcpy(s.node, "node-a");
	strcpy(s.move_id, "x-move");
	j = mig_failure_state_json(&s);
	assert_int_equal(mig_failure_state_parse(j, &t), -1);
	free(j);
	s.move_id[0] = '\0';
	j = mig_failure_state_json(&s);
	{
		cJSON *o = cJSON_Parse(j);

		cJSON_ReplaceItemInObject(o, "failedVmi", cJSON_CreateNumber(7));
		free(j);
		j = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	assert_int_equal(mig_failure_state_parse(j, &t), -1);
	free(j);
	/* vmi uid at the cap (63 chars) and past it (64) */
	memset(big, 'u', 63);
	big[63] = '\0';
	strcpy(s.vmi_uid, big);
	j = mig_failure_state_json(&s);
	assert_int_equal(mig_failure_state_parse(j, &t), 0);
	assert_int_equal(strlen(t.vmi_uid), 63);
	mig_failure_state_release(&t);
	free(j);
	{
		cJSON *o;

		s.vmi_uid[0] = 'x';
		j = mig_failure_state_json(&s);
		o = cJSON_Parse(j);
		big[63] = 'u';
		big[64] = '\0';
		cJSON_ReplaceItemInObject(o, "failedVmi", cJSON_CreateString(big));
		free(j);
		j = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		assert_int_equal(mig_failure_state_parse(j, &t), -1);
		free(j);
	}
	/* hostile: a huge node name, deep nesting */
	{
		cJSON *o;
		char *huge = malloc(100001);

		j = mig_failure_state_json(&s);
		o = cJSON_Parse(j);
		memset(huge, 'n', 100000);
		huge[100000] = '\0';
		cJSON_ReplaceItemInObject(o, "failedNode", cJSON_CreateString(huge));
		free(j);
		j = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		assert_int_equal(mig_failure_state_parse(j, &t), -1);
		free(j);
		free(huge);
	}
	hostile = malloc(20001);
	for (n = 0; n < 10000; n++) {
		hostile[n] = '[';
		hostile[n + 10000] = ']';
	}
	hostile[20000] = '\0';
	assert_int_equal(mig_failure_state_parse(hostile, &t), -1);
	free(hostile);
	mig_failure_state_release(&s);
}

static void recovery_id(void **state)
{
	char a[MIG_ID_MAX], b[MIG_ID_MAX], c[MIG_ID_MAX];

	(void)state;
	mig_failure_recovery_id("node-a", "default", "vm-1", "uid-1", a, sizeof(a));
	mig_failure_recovery_id("node-a", "default", "vm-1", "uid-1", b, sizeof(b));
	mig_failure_recovery_id("node-a", "default", "vm-1", "uid-2", c, sizeof(c));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 19);
	assert_memory_equal(a, "nf-", 3);
	mig_failure_recovery_id("node-a", "default", "vm-1", NULL, c, sizeof(c));
	assert_int_equal(strlen(c), 19);
}

static cJSON *node(const char *name, const char *mem, const char *cpu, bool ready, bool unsched,
		   const char *pool)
{
	char buf[800];

	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":\"%s\"%s%s%s}},"
	    "\"spec\":{\"unschedulable\":%s},"
	    "\"status\":{\"allocatable\":{\"memory\":\"%s\",\"cpu\":\"%s\"},"
	    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
	    name, name, pool ? ",\"pool\":\"" : "", pool ? pool : "", pool ? "\"" : "",
	    unsched ? "true" : "false", mem, cpu, ready ? "True" : "Unknown");
	return cJSON_Parse(buf);
}

static cJSON *vmi(const char *on, const char *to, const char *phase, const char *mem, int cores)
{
	char buf[800];

	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"v\",\"labels\":{\"kubevirt.io/nodeName\":\"%s\"%s%s%s}},"
	    "\"spec\":{\"domain\":{\"memory\":{\"guest\":\"%s\"},\"cpu\":{\"cores\":%d}}},"
	    "\"status\":{\"phase\":\"%s\",\"nodeName\":\"%s\"}}",
	    on, to ? ",\"kubevirt.io/migrationTargetNodeName\":\"" : "", to ? to : "",
	    to ? "\"" : "", mem, cores, phase, on);
	return cJSON_Parse(buf);
}

static cJSON *list(cJSON *first, ...)
{
	cJSON *l = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(l, "items");
	va_list ap;

	va_start(ap, first);
	for (cJSON *o = first; o; o = va_arg(ap, cJSON *))
		cJSON_AddItemToArray(items, o);
	va_end(ap);
	return l;
}

static int64_t free_of(const struct mig_failure_node *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].free_mem;
	return -1;
}

/* The memory request of a launcher pod (mig_vmi_resources, defaults of the newest version). */
static int64_t pod(int64_t guest, int64_t vcpus)
{
	const int64_t Mi = 1024LL * 1024;

	return guest + guest / 512 + (220 + 8 * vcpus + 8 + 32) * Mi + 35000000;
}

static void capacity_and_pick(void **state)
{
	const int64_t G = 1024LL * 1024 * 1024;
	cJSON *nodes = list(node("node-a", "64Gi", "32", false, false, NULL),
			    node("node-b", "256Gi", "64", true, false, NULL),
			    node("node-c", "16Gi", "32", true, false, "recovery"),
			    node("node-d", "16Gi", "32", true, false, "recovery"),
			    node("node-e", "64Gi", "32", true, true, "recovery"), NULL);
	cJSON *vmis = list(vmi("node-c", NULL, "Running", "4Gi", 2),
			   vmi("node-b", "node-d", "Running", "8Gi", 2), /* migrating to d */
			   vmi("node-d", NULL, "Failed", "8Gi", 2),	 /* holds nothing */
			   vmi("node-a", NULL, "Running", "2Gi", 1), NULL);
	cJSON *pol =
	    cJSON_Parse("{\"spec\":{\"migrationPolicy\":{\"enabled\":true,"
			"\"targetNodeSelector\":{\"matchLabels\":{\"pool\":\"recovery\"}}}}}");
	struct mig_policy p;
	struct mig_failure_node *t;
	size_t n;
	char why[64], err[128];
	long j;

	(void)state;
	assert_int_equal(mig_policy_read(pol, &p, err, sizeof(err)), 0);
	t = mig_failure_capacity(nodes, vmis, &n);
	assert_int_equal(n, 5);
	/* What the scheduler counts: the launcher pods' requests (guest + overhead + logger). */
	assert_true(free_of(t, n, "node-c") == 16 * G - pod(4 * G, 2));
	assert_true(free_of(t, n, "node-d") == 16 * G - pod(8 * G, 2)); /* inbound, not failed */
	assert_true(free_of(t, n, "node-b") == 256 * G - pod(8 * G, 2));
	/* node-b is the biggest but not pool=recovery; e is cordoned; a is the failed source */
	j = mig_failure_pick(t, n, "node-a", p.target, NULL, 1 * G, 1000, why, sizeof(why));
	assert_true(j >= 0);
	assert_string_equal(t[j].name, "node-c"); /* more free than d */
	assert_string_equal(why, "");
	/* 10 GiB fits only c */
	j = mig_failure_pick(t, n, "node-a", p.target, NULL, 10 * G, 1000, why, sizeof(why));
	assert_string_equal(t[j].name, "node-c");
	/* 13 GiB fits no eligible node */
	j = mig_failure_pick(t, n, "node-a", p.target, NULL, 13 * G, 1000, why, sizeof(why));
	assert_int_equal(j, -1);
	assert_string_equal(why, "NoNodeWithCapacity");
	/* the VM's own nodeSelector excludes them all */
	{
		cJSON *own = cJSON_Parse("{\"disk\":\"nvme\"}");

		j = mig_failure_pick(t, n, "node-a", p.target, own, 1 * G, 1000, why, sizeof(why));
		assert_int_equal(j, -1);
		assert_string_equal(why, "NoEligibleNode");
		cJSON_Delete(own);
	}
	/* where it runs: labels only (cordoned / NotReady still match), the VM's own rules too */
	{
		cJSON *own = cJSON_Parse("{\"pool\":\"recovery\"}"),
		      *bad = cJSON_Parse("{\"pool\":7}");

		assert_true(mig_failure_node_matches(t[2].obj, p.target, NULL));
		assert_true(mig_failure_node_matches(t[4].obj, p.target, own)); /* cordoned */
		assert_false(mig_failure_node_matches(t[1].obj, p.target, NULL));
		assert_true(mig_failure_node_matches(t[1].obj, NULL, NULL));
		assert_false(mig_failure_node_matches(t[1].obj, NULL, own));
		assert_false(mig_failure_node_matches(t[2].obj, NULL, bad));
		assert_false(mig_failure_node_matches(NULL, NULL, NULL));
		cJSON_Delete(own);
		cJSON_Delete(bad);
	}
	/* no targetNodeSelector: the biggest wins */
	j = mig_failure_pick(t, n, "node-a", NULL, NULL, 1 * G, 1000, why, sizeof(why));
	assert_string_equal(t[j].name, "node-b");
	/* excluding the source */
	j = mig_failure_pick(t, n, "node-b", NULL, NULL, 1 * G, 1000, why, sizeof(why));
	assert_string_equal(t[j].name, "node-c");
	/* cpu counts too */
	j = mig_failure_pick(t, n, "node-a", p.target, NULL, 1 * G, 40000, why, sizeof(why));
	assert_int_equal(j, -1);
	free(t);
	/* empty lists */
	{
		cJSON *e = list(NULL, NULL);

		t = mig_failure_capacity(e, NULL, &n);
		assert_int_equal(n, 0);
		j = mig_failure_pick(t, n, "node-a", NULL, NULL, 1, 1, why, sizeof(why));
		assert_int_equal(j, -1);
		assert_string_equal(why, "NoEligibleNode");
		free(t);
		cJSON_Delete(e);
	}
	mig_policy_release(&p);
	cJSON_Delete(pol);
	cJSON_Delete(nodes);
	cJSON_Delete(vmis);
}

static enum mig_failure_action run(const struct mig_failure_state *s, const char *uid,
				   const char *phase, const char *on, bool ready, bool matches,
				   const char *move_phase, int64_t now)
{
	struct mig_failure_view v;

	memset(&v, 0, sizeof(v));
	v.vmi_exists = uid != NULL;
	v.vmi_uid = uid;
	v.vmi_phase = phase;
	v.vmi_node = on;
	v.node_ready = ready;
	v.vmi_node_matches = matches;
	v.move_phase = move_phase;
	v.now_ms = now;
	v.timeout_ms = 300000;
	return mig_failure_decide(s, &v);
}

static void decide(void **state)
{
	struct mig_failure_state s;
	int64_t t0 = 1763780005000LL;

	(void)state;
	fill(&s);
	s.pin.stopped_ms = 0;
	/* not fenced yet: the old VMI still stands on the failed node */
	assert_int_equal(run(&s, "uid-old", "Running", "node-a", false, false, NULL, t0),
			 MIG_FA_WAIT);
	/* the node came back */
	assert_int_equal(run(&s, "uid-old", "Running", "node-a", true, false, NULL, t0),
			 MIG_FA_NODE_BACK);
	/* it had migrated away before the node failed */
	assert_int_equal(run(&s, "uid-old", "Running", "node-x", false, false, NULL, t0),
			 MIG_FA_NODE_BACK);
	/* KubeVirt failed it / deleted it: down from now */
	assert_int_equal(run(&s, "uid-old", "Failed", "node-a", false, false, NULL, t0),
			 MIG_FA_DOWN);
	assert_int_equal(run(&s, NULL, NULL, NULL, false, false, NULL, t0), MIG_FA_DOWN);
	assert_int_equal(run(&s, "uid-new", "Running", "node-c", false, true, NULL, t0),
			 MIG_FA_DOWN);
	s.pin.stopped_ms = t0;
	/* down: waiting for the new VMI */
	assert_int_equal(run(&s, "uid-old", "Failed", "node-a", false, false, NULL, t0 + 1000),
			 MIG_FA_WAIT);
	assert_int_equal(run(&s, NULL, NULL, NULL, false, false, NULL, t0 + 1000), MIG_FA_WAIT);
	assert_int_equal(run(&s, "uid-new", "Pending", NULL, false, false, NULL, t0 + 1000),
			 MIG_FA_WAIT);
	assert_int_equal(run(&s, "uid-new", "Scheduled", "node-c", false, true, NULL, t0 + 1000),
			 MIG_FA_WAIT);
	/* ... and the node being ready again does not undo a recovery under way */
	assert_int_equal(run(&s, "uid-old", "Failed", "node-a", true, false, NULL, t0 + 1000),
			 MIG_FA_WAIT);
	/* running on a good node */
	assert_int_equal(run(&s, "uid-new", "Running", "node-c", false, true, NULL, t0 + 9000),
			 MIG_FA_RECOVERED);
	/* running outside the rules */
	assert_int_equal(run(&s, "uid-new", "Running", "node-b", false, false, NULL, t0 + 9000),
			 MIG_FA_MISPLACED);
	/* a "new" VMI on the failed node itself is not a recovery */
	assert_int_equal(run(&s, "uid-new", "Running", "node-a", false, true, NULL, t0 + 9000),
			 MIG_FA_WAIT);
	/* timeout */
	assert_int_equal(run(&s, "uid-new", "Pending", NULL, false, false, NULL, t0 + 300001),
			 MIG_FA_TIMEOUT);
	assert_int_equal(run(&s, NULL, NULL, NULL, false, false, NULL, t0 + 300001),
			 MIG_FA_TIMEOUT);
	/* moving */
	strcpy(s.move_id, "nf-x-move");
	strcpy(s.move_to, "node-d");
	s.move_ms = t0 + 10000;
	assert_int_equal(run(&s, "uid-new", "Running", "node-b", false, false, NULL, t0 + 11000),
			 MIG_FA_MOVING);
	assert_int_equal(
	    run(&s, "uid-new", "Running", "node-b", false, false, "Migrating", t0 + 11000),
	    MIG_FA_MOVING);
	assert_int_equal(
	    run(&s, "uid-new", "Running", "node-d", false, true, "Succeeded", t0 + 20000),
	    MIG_FA_RECOVERED);
	assert_int_equal(
	    run(&s, "uid-new", "Running", "node-b", false, false, "Failed", t0 + 20000),
	    MIG_FA_MOVE_FAILED);
	assert_int_equal(
	    run(&s, "uid-new", "Running", "node-b", false, false, "Rejected", t0 + 20000),
	    MIG_FA_MOVE_FAILED);
	assert_int_equal(
	    run(&s, "uid-new", "Running", "node-b", false, false, NULL, t0 + 10000 + 300001),
	    MIG_FA_MOVE_FAILED);
	mig_failure_state_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(state_roundtrip), cmocka_unit_test(state_bad),
	    cmocka_unit_test(recovery_id),     cmocka_unit_test(capacity_and_pick),
	    cmocka_unit_test(decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
