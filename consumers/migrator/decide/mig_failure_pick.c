/* mig_failure_pick.c - the pure side of nodeFailure recovery: the state recorded on the VM and
 * back, the recovery id, capacity and the pick of a target node, what the tick does next
 * (tests/unit/test_mig_failure.c). */
#include "decide/mig_failure_pick.h"
#include "decide/mig_drain.h"

#include "wk_json.h"
#include "wk_quantity.h"
#include "wk_selector.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_NODE "kubevirt.io/nodeName"
#define LABEL_MIG_TARGET "kubevirt.io/migrationTargetNodeName"

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

void mig_failure_state_release(struct mig_failure_state *s)
{
	if (s)
		mig_cold_state_release(&s->pin);
}

char *mig_failure_state_json(const struct mig_failure_state *s)
{
	char *cold = mig_cold_state_json(&s->pin), *out, n[32];
	cJSON *o = cJSON_Parse(cold);

	free(cold);
	if (!o)
		abort();
	cJSON_AddStringToObject(o, "failedNode", s->node);
	cJSON_AddStringToObject(o, "failedVmi", s->vmi_uid);
	cJSON_AddStringToObject(o, "moveId", s->move_id);
	cJSON_AddStringToObject(o, "moveTo", s->move_to);
	cJSON_AddStringToObject(o, "movedFrom", s->moved_from);
	snprintf(n, sizeof(n), "%lld", (long long)s->move_ms);
	cJSON_AddRawToObject(o, "moveMs", n);
	cJSON_AddBoolToObject(o, "localStorage", s->local);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!out)
		abort();
	return out;
}

static int copy_field(const cJSON *o, const char *k, char *out, size_t n, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	out[0] = '\0';
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return required || v ? -1 : 0;
	wk_strlcpy(out, v->valuestring, n);
	return 0;
}

int mig_failure_state_parse(const char *json, struct mig_failure_state *out)
{
	cJSON *o;
	const cJSON *t;

	memset(out, 0, sizeof(*out));
	if (!json || mig_cold_state_parse(json, &out->pin) < 0)
		return -1;
	o = cJSON_Parse(json);
	if (!cJSON_IsObject(o) || copy_field(o, "failedNode", out->node, sizeof(out->node), 1) ||
	    !out->node[0] || copy_field(o, "failedVmi", out->vmi_uid, sizeof(out->vmi_uid), 1) ||
	    !out->vmi_uid[0] || copy_field(o, "moveId", out->move_id, sizeof(out->move_id), 0) ||
	    copy_field(o, "moveTo", out->move_to, sizeof(out->move_to), 0) ||
	    copy_field(o, "movedFrom", out->moved_from, sizeof(out->moved_from), 0) ||
	    (out->move_id[0] && !out->move_to[0])) {
		cJSON_Delete(o);
		mig_failure_state_release(out);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	t = wk_json_path(o, "moveMs");
	out->move_ms = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : 0;
	out->local = cJSON_IsTrue(wk_json_path(o, "localStorage"));
	cJSON_Delete(o);
	return 0;
}

void mig_failure_recovery_id(const char *node, const char *ns, const char *vm, const char *vmi_uid,
			     char *out, size_t out_size)
{
	char hex[17], *in = wk_xasprintf("%s/%s/%s/%s", node, ns, vm, vmi_uid ? vmi_uid : "");

	mig_sha256_hex(in, strlen(in), 16, hex);
	free(in);
	snprintf(out, out_size, "nf-%s", hex);
}

static bool vmi_holds(const cJSON *vmi)
{
	const cJSON *ph = wk_json_path(vmi, "status.phase");

	return !(cJSON_IsString(ph) &&
		 (!strcmp(ph->valuestring, "Failed") || !strcmp(ph->valuestring, "Succeeded")));
}

struct mig_failure_node *mig_failure_capacity(const cJSON *nodes, const cJSON *vmis, size_t *n)
{
	size_t cap = (size_t)cJSON_GetArraySize(wk_json_path(nodes, "items")), k = 0;
	struct mig_failure_node *t = wk_xcalloc(cap + 1, sizeof(*t));
	const cJSON *it;

	cJSON_ArrayForEach(it, wk_json_path(nodes, "items"))
	{
		int64_t am, ac;
		const char *name = wk_json_str(it, "metadata.name");

		if (!name || k >= cap)
			continue;
		mig_node_allocatable(it, &am, &ac);
		t[k].obj = it;
		t[k].name = name;
		t[k].free_mem = am >= 0 ? am : INT64_MAX / 4;
		t[k].free_cpu_milli = ac >= 0 ? ac : INT64_MAX / 4;
		k++;
	}
	cJSON_ArrayForEach(it, wk_json_path(vmis, "items"))
	{
		int64_t m, c;
		const char *on = wk_json_meta(it, "labels", LABEL_NODE),
			   *to = wk_json_meta(it, "labels", LABEL_MIG_TARGET);

		if (!on)
			on = wk_json_str(it, "status.nodeName");
		if (!vmi_holds(it))
			continue;
		mig_vmi_resources(it, NULL, &m, &c);
		for (size_t j = 0; j < k; j++)
			if (streq(on, t[j].name) || (streq(to, t[j].name) && !streq(on, to))) {
				t[j].free_mem -= m;
				t[j].free_cpu_milli -= c;
			}
	}
	*n = k;
	return t;
}

long mig_failure_pick(const struct mig_failure_node *nodes, size_t n, const char *source,
		      const struct wk_selector *target, const cJSON *vm_node_selector, int64_t mem,
		      int64_t cpu_milli, char *why, size_t why_size)
{
	long best = -1;
	bool any = false;
	char w[64];

	for (size_t j = 0; j < n; j++) {
		if (!mig_node_eligible(nodes[j].obj, source, target, vm_node_selector, w,
				       sizeof(w)))
			continue;
		any = true;
		if (nodes[j].free_mem < mem || nodes[j].free_cpu_milli < cpu_milli)
			continue;
		if (best < 0 || nodes[j].free_mem > nodes[best].free_mem)
			best = (long)j;
	}
	if (best < 0)
		snprintf(why, why_size, "%s", any ? "NoNodeWithCapacity" : "NoEligibleNode");
	else if (why_size)
		why[0] = '\0';
	return best;
}

bool mig_failure_node_matches(const cJSON *node, const struct wk_selector *target,
			      const cJSON *vm_node_selector)
{
	const cJSON *labels = wk_json_path(node, "metadata.labels"), *s;

	if (!cJSON_IsObject(node) || (target && !wk_selector_matches(target, labels)))
		return false;
	cJSON_ArrayForEach(s, vm_node_selector)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, s->string);

		if (!cJSON_IsString(s) || !cJSON_IsString(l) ||
		    strcmp(s->valuestring, l->valuestring))
			return false;
	}
	return true;
}

enum mig_failure_action mig_failure_decide(const struct mig_failure_state *s,
					   const struct mig_failure_view *v)
{
	bool same = v->vmi_exists && streq(v->vmi_uid, s->vmi_uid);
	bool over = streq(v->vmi_phase, "Failed") || streq(v->vmi_phase, "Succeeded");
	bool running = v->vmi_exists && !same && !v->vmi_deleting &&
		       streq(v->vmi_phase, "Running") && v->vmi_node && *v->vmi_node &&
		       strcmp(v->vmi_node, s->node);

	if (same && !over && !v->vmi_deleting) {
		/* The VMI we marked still stands: the node is back, or it had left the node. */
		if (v->node_ready || (v->vmi_node && *v->vmi_node && strcmp(v->vmi_node, s->node)))
			return MIG_FA_NODE_BACK;
		return MIG_FA_WAIT;
	}
	if (!s->pin.stopped_ms)
		return MIG_FA_DOWN;
	if (running) {
		if (v->vmi_node_matches)
			return MIG_FA_RECOVERED;
		if (!s->move_id[0])
			return MIG_FA_MISPLACED;
		if (streq(v->move_phase, "Failed") || streq(v->move_phase, "Rejected") ||
		    streq(v->move_phase, "Cancelled") || streq(v->move_phase, "Succeeded") ||
		    v->now_ms - s->move_ms > v->timeout_ms)
			return MIG_FA_MOVE_FAILED; /* Succeeded yet not on a good node: failed too
						    */
		return MIG_FA_MOVING;
	}
	if (v->now_ms - s->pin.stopped_ms > v->timeout_ms)
		return MIG_FA_TIMEOUT;
	return MIG_FA_WAIT;
}
