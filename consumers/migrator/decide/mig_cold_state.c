/* mig_cold_state.c - the pure side of cold migration: the state recorded on the VM and back, the
 * nodeSelector patches, whether a request may move cold, downtime, the target check
 * (tests/unit/test_mig_cold.c). */
#include "decide/mig_cold_state.h"
#include "decide/mig_drain.h"

#include "wk_json.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mig_cold_state_release(struct mig_cold_state *s)
{
	if (!s)
		return;
	cJSON_Delete(s->node_selector);
	s->node_selector = NULL;
}

char *mig_cold_state_json(const struct mig_cold_state *s)
{
	cJSON *o = cJSON_CreateObject();
	char n[32], *out;

	cJSON_AddStringToObject(o, "requestId", s->request);
	cJSON_AddStringToObject(o, "target", s->target);
	cJSON_AddStringToObject(o, "hostname", s->hostname);
	cJSON_AddStringToObject(o, "wukong", s->wukong);
	cJSON_AddStringToObject(o, "runStrategy", s->run_strategy);
	if (s->node_selector)
		cJSON_AddItemToObject(o, "nodeSelector", cJSON_Duplicate(s->node_selector, true));
	else
		cJSON_AddNullToObject(o, "nodeSelector");
	snprintf(n, sizeof(n), "%lld", (long long)s->stopped_ms);
	cJSON_AddRawToObject(o, "stoppedMs", n);
	snprintf(n, sizeof(n), "%lld", (long long)s->started_ms);
	cJSON_AddRawToObject(o, "startedMs", n);
	if (s->down_since_ms > 0) {
		snprintf(n, sizeof(n), "%lld", (long long)s->down_since_ms);
		cJSON_AddRawToObject(o, "downSinceMs", n);
	}
	if (s->result == MIG_PH_SUCCEEDED || s->result == MIG_PH_FAILED) {
		cJSON_AddStringToObject(o, "result", mig_phase_name(s->result));
		if (s->downtime_s >= 0 && s->downtime_s <= MIG_DOWNTIME_MAX_S)
			cJSON_AddNumberToObject(o, "downtimeSeconds", s->downtime_s);
		snprintf(n, sizeof(n), "%lld", (long long)s->finished_ms);
		cJSON_AddRawToObject(o, "finishedMs", n);
		cJSON_AddStringToObject(o, "onNode", s->on_node);
	}
	if (s->source[0])
		cJSON_AddStringToObject(o, "source", s->source);
	if (s->ncopies) {
		cJSON *a = cJSON_AddArrayToObject(o, "copies");

		for (size_t i = 0; i < s->ncopies && i < MIG_COPY_MAX; i++) {
			const struct mig_copy *c = &s->copies[i];
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "volume", c->volume);
			cJSON_AddStringToObject(x, "from", c->from);
			cJSON_AddStringToObject(x, "fromDataVolume", c->from_dv);
			cJSON_AddStringToObject(x, "fromNode", c->from_node);
			cJSON_AddStringToObject(x, "to", c->to);
			cJSON_AddBoolToObject(x, "refDataVolume", c->ref_dv);
			cJSON_AddItemToArray(a, x);
		}
		cJSON_AddBoolToObject(o, "keepSource", s->keep_source);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!out)
		abort();
	return out;
}

static int copy_str(const cJSON *o, const char *k, char *out, size_t n, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return required ? -1 : 0;
	wk_strlcpy(out, v->valuestring, n);
	return 0;
}

/* An epoch-ms value: absent = 0; anything but an integer in [0, 2^53) is malformed. */
static int get_ms(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, k);

	*out = 0;
	if (!t)
		return 0;
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0 ||
	    t->valuedouble >= 9007199254740992.0 || floor(t->valuedouble) != t->valuedouble)
		return -1;
	*out = (int64_t)t->valuedouble;
	return 0;
}

int mig_cold_state_parse(const char *json, struct mig_cold_state *out)
{
	cJSON *o;
	const cJSON *ns, *t;

	memset(out, 0, sizeof(*out));
	if (!json)
		return -1;
	o = cJSON_Parse(json);
	if (!cJSON_IsObject(o) || copy_str(o, "requestId", out->request, sizeof(out->request), 1) ||
	    copy_str(o, "target", out->target, sizeof(out->target), 1) ||
	    copy_str(o, "hostname", out->hostname, sizeof(out->hostname), 1) ||
	    copy_str(o, "wukong", out->wukong, sizeof(out->wukong), 1) ||
	    copy_str(o, "runStrategy", out->run_strategy, sizeof(out->run_strategy), 0)) {
		cJSON_Delete(o);
		return -1;
	}
	out->downtime_s = -1;
	t = wk_json_path(o, "result");
	if (t) {
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Succeeded"))
			out->result = MIG_PH_SUCCEEDED;
		else if (cJSON_IsString(t) && !strcmp(t->valuestring, "Failed"))
			out->result = MIG_PH_FAILED;
		else
			goto bad;
		t = wk_json_path(o, "downtimeSeconds");
		if (cJSON_IsNumber(t) && isfinite(t->valuedouble) && t->valuedouble >= 0 &&
		    t->valuedouble <= MIG_DOWNTIME_MAX_S)
			out->downtime_s = t->valuedouble;
		else if (t && !cJSON_IsNull(t))
			goto bad;
		if (copy_str(o, "onNode", out->on_node, sizeof(out->on_node), 0) < 0)
			goto bad;
	}
	if (get_ms(o, "stoppedMs", &out->stopped_ms) < 0 ||
	    get_ms(o, "startedMs", &out->started_ms) < 0 ||
	    get_ms(o, "downSinceMs", &out->down_since_ms) < 0 ||
	    get_ms(o, "finishedMs", &out->finished_ms) < 0)
		goto bad;
	if (copy_str(o, "source", out->source, sizeof(out->source), 0) < 0)
		goto bad;
	t = wk_json_path(o, "copies");
	if (t && (!cJSON_IsArray(t) || cJSON_GetArraySize(t) > MIG_COPY_MAX))
		goto bad;
	{
		const cJSON *x;

		cJSON_ArrayForEach(x, t)
		{
			struct mig_copy *c = &out->copies[out->ncopies];

			if (!cJSON_IsObject(x) ||
			    copy_str(x, "volume", c->volume, sizeof(c->volume), 1) ||
			    copy_str(x, "from", c->from, sizeof(c->from), 1) ||
			    copy_str(x, "to", c->to, sizeof(c->to), 1) ||
			    copy_str(x, "fromDataVolume", c->from_dv, sizeof(c->from_dv), 0) ||
			    copy_str(x, "fromNode", c->from_node, sizeof(c->from_node), 0) ||
			    !c->volume[0] || !c->from[0] || !c->to[0])
				goto bad;
			c->ref_dv =
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "refDataVolume"));
			out->ncopies++;
		}
	}
	out->keep_source = cJSON_IsTrue(wk_json_path(o, "keepSource"));
	ns = wk_json_path(o, "nodeSelector");
	if (cJSON_IsObject(ns))
		out->node_selector = cJSON_Duplicate(ns, true);
	cJSON_Delete(o);
	return 0;
bad:
	cJSON_Delete(o);
	memset(out, 0, sizeof(*out));
	return -1;
}

char *mig_cold_selector_patch(const struct mig_cold_state *s, bool pin)
{
	cJSON *o = cJSON_CreateObject(), *sel, *v;
	char *out;

	sel = cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "spec"), "template"), "spec");
	sel = cJSON_AddObjectToObject(sel, "nodeSelector");
	cJSON_ArrayForEach(v, s->node_selector)
	{
		if (cJSON_IsString(v))
			cJSON_AddStringToObject(sel, v->string, v->valuestring);
	}
	if (pin) {
		cJSON_DeleteItemFromObjectCaseSensitive(sel, "kubernetes.io/hostname");
		cJSON_AddStringToObject(sel, "kubernetes.io/hostname", s->hostname);
	} else if (!cJSON_GetObjectItemCaseSensitive(s->node_selector, "kubernetes.io/hostname")) {
		/* Merge patch: null removes the key we added. */
		cJSON_AddNullToObject(sel, "kubernetes.io/hostname");
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!out)
		abort();
	return out;
}

bool mig_cold_applicable(const char *reason)
{
	static const char *const live[] = {"DisksNotLiveMigratable", "InterfaceNotLiveMigratable",
					   "HostDeviceNotLiveMigratable",
					   "HotplugNotLiveMigratable", NULL};

	for (size_t i = 0; reason && live[i]; i++)
		if (!strcmp(reason, live[i]))
			return true;
	return false;
}

int64_t mig_cold_cond_time(const cJSON *obj, const char *type, const char *status)
{
	const cJSON *c;
	int64_t ms;

	cJSON_ArrayForEach(c, wk_json_path(obj, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *st = wk_json_str(c, "status");
		const char *ltt = wk_json_str(c, "lastTransitionTime");

		if (t && st && !strcmp(t, type) && !strcmp(st, status))
			return ltt && strlen(ltt) <= 64 && wk_time_parse_ms(ltt, &ms) == 0 && ms > 0
				   ? ms
				   : 0;
	}
	return 0;
}

double mig_cold_downtime(const struct mig_cold_state *s, int64_t up_since_ms, int64_t now_ms)
{
	if (s->down_since_ms > 0 && up_since_ms >= s->down_since_ms &&
	    (double)(up_since_ms - s->down_since_ms) <= MIG_DOWNTIME_MAX_S * 1000.0)
		return (double)(up_since_ms - s->down_since_ms) / 1000.0;
	/* One clock or the other, never a mix of the two. */
	if (s->started_ms > 0 && now_ms >= s->started_ms &&
	    (double)(now_ms - s->started_ms) <= MIG_DOWNTIME_MAX_S * 1000.0)
		return (double)(now_ms - s->started_ms) / 1000.0;
	return -1;
}

bool mig_cold_owner_consents(const cJSON *wukong)
{
	const cJSON *spec = wk_json_path(wukong, "spec");
	const cJSON *pol = wk_json_path(spec, "migrationPolicy");

	return cJSON_IsTrue(wk_json_path(spec, "migration.cold")) ||
	       (cJSON_IsTrue(wk_json_path(pol, "enabled")) &&
		cJSON_IsTrue(wk_json_path(pol, "allowColdMigration")));
}

bool mig_cold_allowed(const struct mig_request *r, const cJSON *wukong)
{
	if (!r->target_node[0])
		return false; /* a cold move needs a node to pin the VM to */
	if (r->source == MIG_SRC_SPEC &&
	    (r->opt.cold == MIG_TRUE || cJSON_IsTrue(wk_json_path(wukong, "spec.migration.cold"))))
		return true; /* spec.migration.cold: the owner wrote it */
	if (cJSON_IsTrue(wk_json_path(wukong, "spec.migrationPolicy.enabled")) &&
	    cJSON_IsTrue(wk_json_path(wukong, "spec.migrationPolicy.allowColdMigration")))
		return true; /* the owner allows it for any request (evacuations too) */
	/* a submission that asks for it (options.cold), with the owner's spec.migration.cold */
	return r->opt.cold == MIG_TRUE && mig_cold_owner_consents(wukong);
}

bool mig_cold_consent_missing(const struct mig_request *r, const cJSON *wukong, struct mig_check *c)
{
	if (r->source == MIG_SRC_SPEC || r->opt.cold != MIG_TRUE || !r->target_node[0] ||
	    mig_cold_allowed(r, wukong))
		return false;
	mig_check_fail(c, MIG_COLD_NOT_ALLOWED,
		       "cold migration refused: the submission asks for one (options.cold) but the "
		       "owner of Wukong '%s/%s' has not allowed it; set "
		       "spec.migrationPolicy.allowColdMigration: true (with "
		       "spec.migrationPolicy.enabled: true) or spec.migration.cold: true on the "
		       "Wukong; the VM keeps running",
		       r->ns, r->name);
	return true;
}

/* "k=v,k2=v2" of a nodeSelector, for a message (cut at n). */
int mig_cold_target_check(const cJSON *node, const char *node_name, const cJSON *vm,
			  const cJSON *vmi, const struct wk_selector *target,
			  const struct wk_kubevirt_info *kv, int64_t used_mem, int64_t used_cpu,
			  struct mig_check *c)
{
	const cJSON *tpl = wk_json_path(vm, "spec.template");
	char code[64];
	int64_t mem, cpu;

	memset(c, 0, sizeof(*c));
	if (!node)
		return mig_check_fail(c, "TargetNodeNotFound", "target node '%s' does not exist",
				      node_name);
	if (!mig_node_ready(node))
		return mig_check_fail(c, "TargetNodeNotReady", "target node '%s' is not Ready",
				      node_name);
	/* Where the VM starts, the scheduler places its launcher pod by the template's rules,
	 * except the hostname the cold move pins (an earlier pin, or the owner's own, which the
	 * move replaces). */
	if (mig_place_check(node, node_name, wk_json_path(tpl, "spec"), "kubernetes.io/hostname",
			    NULL, c) < 0)
		return -1;
	if (target && !mig_node_eligible(node, NULL, target, NULL, code, sizeof(code))) {
		char *ts = wk_selector_to_string(target);

		mig_check_fail(c, code,
			       "target node '%s' does not satisfy the migrationPolicy's "
			       "targetNodeSelector '%.200s'",
			       node_name, ts ? ts : "");
		free(ts);
		return -1;
	}
	/* What the VM starts with is the template's; a template naming neither (not KubeVirt's
	 * usual) falls back to what the running VMI holds. */
	mig_vmi_guest(tpl, &mem, &cpu);
	mig_vmi_resources(!mem && !cpu && vmi ? vmi : tpl, kv, &mem, &cpu);
	return mig_check_room(c, node_name, node, used_mem, used_cpu, mem, cpu);
}

char *mig_cold_vm_patch(const struct mig_cold_state *s, bool pin, const char *run_strategy)
{
	char *state = mig_cold_state_json(s), *patch = mig_cold_selector_patch(s, pin), *out;
	cJSON *p = cJSON_Parse(patch);

	free(patch);
	if (run_strategy) {
		/* KubeVirt's VM webhook refuses running and runStrategy together ("Running and
		 * RunStrategy are mutually exclusive", vms-admitter.go validateRunStrategy):
		 * null clears a deprecated spec.running in the same merge patch. */
		cJSON_AddStringToObject(cJSON_GetObjectItem(p, "spec"), "runStrategy",
					run_strategy);
		cJSON_AddNullToObject(cJSON_GetObjectItem(p, "spec"), "running");
	}
	cJSON_AddStringToObject(
	    cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "metadata"), "annotations"),
	    WK_ANN_COLD_MIGRATION, state);
	free(state);
	out = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	return out;
}
