/* test_mig_plan.c - the fast-evacuation planner: input validation, targets (eligibility,
 * capacity, never the source), KubeVirt's limits respected over the predicted timeline, the
 * plan never predicted slower than FIFO, a hot VM kept off a shared link, JSON output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>

#include "decide/mig_plan.h"

#define GI ((int64_t)1 << 30)
#define MI (1024.0 * 1024.0)

static struct mig_plan_vm vm(const char *name, const char *src, int64_t mem, double dirty)
{
	return (struct mig_plan_vm){.ns = "default",
				    .name = name,
				    .source = src,
				    .memory = mem,
				    .cpu_milli = 1000,
				    .dirty_rate = dirty,
				    .src_link = 1e9};
}

static struct mig_plan_node node(const char *name, int64_t mem)
{
	return (struct mig_plan_node){
	    .name = name, .free_mem = mem, .free_cpu_milli = 64000, .link = 1e9};
}

static void defaults(void **state)
{
	struct mig_plan_params p;

	(void)state;
	mig_plan_params_default(&p);
	assert_int_equal(p.per_cluster, 5);
	assert_int_equal(p.per_node, 2);
	assert_true(p.max_downtime_s > 0.8 && p.max_downtime_s < 1.0);
	assert_int_equal(p.completion_per_gib, 150);
	mig_plan_release(NULL); /* harmless */
}

static void empty(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];

	(void)state;
	mig_plan_params_default(&p);
	mig_plan_init(&plan);
	assert_int_equal(mig_plan_build(NULL, 0, NULL, 0, &p, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.n, 0);
	assert_true(plan.predicted_s == 0);
	mig_plan_release(&plan);
}

static void bad_input(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];
	struct mig_plan_node n[1] = {node("n1", 64 * GI)};
	struct mig_plan_vm v[1];

	(void)state;
	mig_plan_params_default(&p);
	mig_plan_init(&plan);
	v[0] = vm("a", "n0", 0, 0); /* no memory */
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"a\""));
	v[0] = vm("a", "n0", (int64_t)1 << 60, 0); /* absurd memory */
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	v[0] = vm("a", "n0", GI, -1);
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	v[0] = vm("a", "n0", GI, NAN);
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	v[0] = vm("a", "n0", GI, 1e300);
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	v[0] = vm("a", "n0", GI, 0);
	v[0].src_link = 0;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	v[0] = vm("a", "n0", GI, 0);
	n[0].link = -5;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	n[0].link = 1e9;
	/* counts past the caps are refused before anything is read */
	assert_int_equal(mig_plan_build(v, MIG_PLAN_MAX_VMS + 1, n, 1, &p, &plan, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "too many"));
	assert_int_equal(
	    mig_plan_build(v, 1, n, MIG_PLAN_MAX_NODES + 1, &p, &plan, err, sizeof(err)), -1);
	p.per_node = 0;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	mig_plan_params_default(&p);
	p.step_s = 0;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), -1);
	mig_plan_params_default(&p);
	size_t bad_order[1] = {7};
	assert_int_equal(
	    mig_plan_simulate(v, 1, n, 1, &p, bad_order, 1, false, NULL, &plan, err, sizeof(err)),
	    -1);
	assert_int_equal(plan.n, 0); /* nothing filled on failure */
	mig_plan_release(&plan);
}

static void single_vm_prediction(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];
	struct mig_plan_node n[1] = {node("n1", 64 * GI)};
	struct mig_plan_vm v[1] = {vm("a", "n0", 4 * GI, 0)};

	(void)state;
	mig_plan_params_default(&p);
	mig_plan_init(&plan);
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].target, 0);
	assert_true(plan.steps[0].converges);
	/* set-up + memory / link, no dirty pages to resend */
	double want = p.setup_s + (double)(4 * GI) / 1e9;
	assert_true(fabs(plan.predicted_s - want) < 2 * p.step_s);
	assert_true(fabs(plan.lower_bound_s - (double)(4 * GI) / 1e9) < 1e-6);
	/* a dirty guest re-sends pages: longer, more bytes */
	v[0].dirty_rate = 200 * MI;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), 0);
	assert_true(plan.predicted_s > want + 0.5);
	assert_true(plan.steps[0].bytes > (double)(4 * GI) * 1.1);
	/* a guest dirtying faster than the link never converges: predicted to fail */
	v[0].dirty_rate = 2e9;
	assert_int_equal(mig_plan_build(v, 1, n, 1, &p, &plan, err, sizeof(err)), 0);
	assert_false(plan.steps[0].converges);
	assert_string_equal(plan.steps[0].reason, "PredictedTimeout");
	mig_plan_release(&plan);
}

static void targets(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];
	/* n0 is the source and also listed as a node: never its own target */
	struct mig_plan_node n[3] = {node("n0", 512 * GI), node("n1", 8 * GI), node("n2", 8 * GI)};
	struct mig_plan_vm v[4] = {vm("a", "n0", 6 * GI, 0), vm("b", "n0", 6 * GI, 0),
				   vm("c", "n0", 6 * GI, 0), vm("d", "n0", 1 * GI, 0)};
	bool only_n2[3] = {false, false, true}, none[3] = {false, false, false};

	(void)state;
	mig_plan_params_default(&p);
	mig_plan_init(&plan);
	v[3].eligible = none;
	assert_int_equal(mig_plan_build(v, 4, n, 3, &p, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.n, 4);
	int used[3] = {0, 0, 0}, unplaced = 0;
	for (size_t i = 0; i < plan.n; i++) {
		const struct mig_plan_step *s = &plan.steps[i];
		if (s->target < 0) {
			unplaced++;
			assert_true(!strcmp(s->reason, "NoTargetWithCapacity") ||
				    !strcmp(s->reason, "NoEligibleTarget"));
			if (s->vm == 3)
				assert_string_equal(s->reason, "NoEligibleTarget");
			continue;
		}
		used[s->target]++;
	}
	assert_int_equal(used[0], 0); /* the source */
	assert_int_equal(used[1], 1); /* 8 GiB fits one 6 GiB VM */
	assert_int_equal(used[2], 1);
	assert_int_equal(unplaced, 2); /* one 6 GiB VM has no room, d is eligible nowhere */
	/* unplaceable steps come last */
	assert_true(plan.steps[2].target < 0 && plan.steps[3].target < 0);

	/* eligibility restricts the target */
	struct mig_plan_vm w[1] = {vm("e", "n0", GI, 0)};
	w[0].eligible = only_n2;
	assert_int_equal(mig_plan_build(w, 1, n, 3, &p, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.steps[0].target, 2);
	mig_plan_release(&plan);
}

/* At any time, no more than per_node migrations out of one source and per_cluster in all. */
static void limits(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];
	struct mig_plan_node n[4] = {node("t1", 512 * GI), node("t2", 512 * GI),
				     node("t3", 512 * GI), node("t4", 512 * GI)};
	struct mig_plan_vm v[24];
	char names[24][16];
	const char *src[3] = {"s1", "s2", "s3"};

	(void)state;
	for (int i = 0; i < 24; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		v[i] = vm(names[i], src[i % 3], (1 + i % 4) * GI, (i % 5) * 20 * MI);
	}
	mig_plan_params_default(&p);
	p.per_cluster = 3;
	p.max_evals = 60;
	mig_plan_init(&plan);
	assert_int_equal(mig_plan_build(v, 24, n, 4, &p, &plan, err, sizeof(err)), 0);
	for (size_t i = 0; i < plan.n; i++) {
		double t = plan.steps[i].start + 1e-6;
		int total = 0, same = 0;
		for (size_t j = 0; j < plan.n; j++) {
			const struct mig_plan_step *s = &plan.steps[j];
			if (s->target < 0 || s->start > t || s->end <= t)
				continue;
			total++;
			if (!strcmp(v[s->vm].source, v[plan.steps[i].vm].source))
				same++;
		}
		assert_true(total <= p.per_cluster);
		assert_true(same <= p.per_node);
	}
	/* every VM placed exactly once */
	int seen[24] = {0};
	for (size_t i = 0; i < plan.n; i++)
		seen[plan.steps[i].vm]++;
	for (int i = 0; i < 24; i++)
		assert_int_equal(seen[i], 1);
	mig_plan_release(&plan);
}

/* Two hot VMs (dirtying 60% of the link) among cold ones: FIFO with two transfers sharing the
 * link fails them; the plan must not, and must not be predicted slower than FIFO. */
static void beats_fifo(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan, fifo;
	char err[128];
	struct mig_plan_node n[2] = {node("t1", 512 * GI), node("t2", 512 * GI)};
	struct mig_plan_vm v[8];
	char names[8][16];

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		v[i] = vm(names[i], "s", (i % 2 ? 8 : 2) * GI, 0);
	}
	v[0].dirty_rate = v[1].dirty_rate = 0.6e9;
	mig_plan_params_default(&p);
	p.max_evals = 120;
	mig_plan_init(&plan);
	mig_plan_init(&fifo);
	size_t order[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	assert_int_equal(
	    mig_plan_simulate(v, 8, n, 2, &p, order, 2, false, NULL, &fifo, err, sizeof(err)), 0);
	int fifo_fail = 0;
	for (size_t i = 0; i < fifo.n; i++)
		fifo_fail += !fifo.steps[i].converges;
	assert_true(fifo_fail > 0);
	assert_int_equal(mig_plan_build(v, 8, n, 2, &p, &plan, err, sizeof(err)), 0);
	for (size_t i = 0; i < plan.n; i++)
		assert_true(plan.steps[i].converges);
	assert_true(plan.predicted_s <= plan.fifo_s + 1e-9);
	assert_true(plan.predicted_s >= plan.lower_bound_s);
	assert_true(plan.evals > 1 && plan.evals <= p.max_evals);
	/* deterministic: the same input gives the same plan */
	struct mig_plan again;
	mig_plan_init(&again);
	assert_int_equal(mig_plan_build(v, 8, n, 2, &p, &again, err, sizeof(err)), 0);
	for (size_t i = 0; i < plan.n; i++) {
		assert_int_equal(plan.steps[i].vm, again.steps[i].vm);
		assert_int_equal(plan.steps[i].target, again.steps[i].target);
	}
	mig_plan_release(&again);
	mig_plan_release(&plan);
	mig_plan_release(&fifo);
}

static void json(void **state)
{
	struct mig_plan_params p;
	struct mig_plan plan;
	char err[128];
	struct mig_plan_node n[1] = {node("t1", 3 * GI)};
	struct mig_plan_vm v[2] = {vm("a", "s", 2 * GI, 0), vm("b", "s", 2 * GI, 0)};

	(void)state;
	mig_plan_params_default(&p);
	mig_plan_init(&plan);
	assert_int_equal(mig_plan_build(v, 2, n, 1, &p, &plan, err, sizeof(err)), 0);
	cJSON *o = mig_plan_to_json(&plan, v, n);
	assert_non_null(o);
	cJSON *steps = cJSON_GetObjectItem(o, "steps");
	assert_int_equal(cJSON_GetArraySize(steps), 2);
	cJSON *s0 = cJSON_GetArrayItem(steps, 0), *s1 = cJSON_GetArrayItem(steps, 1);
	assert_string_equal(cJSON_GetObjectItem(s0, "target")->valuestring, "t1");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(s1, "target")));
	assert_string_equal(cJSON_GetObjectItem(s1, "reason")->valuestring, "NoTargetWithCapacity");
	assert_int_equal(cJSON_GetObjectItem(s0, "order")->valueint, 1);
	assert_true(cJSON_GetObjectItem(o, "predictedSeconds")->valuedouble > 0);
	cJSON_Delete(o);
	mig_plan_release(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),	  cmocka_unit_test(empty),
	    cmocka_unit_test(bad_input),  cmocka_unit_test(single_vm_prediction),
	    cmocka_unit_test(targets),	  cmocka_unit_test(limits),
	    cmocka_unit_test(beats_fifo), cmocka_unit_test(json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
