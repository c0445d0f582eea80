/* rt_fanout.c - aggregate status of fan-outs from audit records (pure). */
#include "rt_fanout.h"

#include "wk_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_fanout(void *v)
{
	free(v);
}

void rt_fanouts_init(struct rt_fanouts *f)
{
	memset(f, 0, sizeof(*f));
	wk_map_init(&f->by_parent, free_fanout);
	wk_map_init(&f->by_part, free);
}

void rt_fanouts_release(struct rt_fanouts *f)
{
	wk_map_release(&f->by_parent);
	wk_map_release(&f->by_part);
}

size_t rt_fanouts_count(const struct rt_fanouts *f)
{
	return wk_map_count(&f->by_parent);
}

const struct rt_fanout *rt_fanouts_get(const struct rt_fanouts *f, const char *request_id)
{
	return wk_map_get(&f->by_parent, request_id);
}

void rt_fanouts_forget(struct rt_fanouts *f, const char *request_id)
{
	struct rt_fanout *fo = wk_map_get(&f->by_parent, request_id);

	if (!fo)
		return;
	for (size_t i = 0; i < fo->n; i++)
		wk_map_del(&f->by_part, fo->parts[i].request_id);
	wk_map_del(&f->by_parent, request_id);
}

const char *rt_part_state_name(enum rt_part_state s)
{
	switch (s) {
	case RT_PART_SUCCEEDED:
		return "Succeeded";
	case RT_PART_FAILED:
		return "Failed";
	case RT_PART_REFUSED:
		return "Refused";
	case RT_PART_CANCELLED:
		return "Cancelled";
	case RT_PART_PENDING:
		break;
	}
	return "Pending";
}

const char *rt_fanout_overall(const struct rt_fanout *fo)
{
	size_t ok = 0;

	for (size_t i = 0; i < fo->n; i++) {
		if (fo->parts[i].state == RT_PART_PENDING)
			return "Running";
		if (fo->parts[i].state == RT_PART_SUCCEEDED)
			ok++;
	}
	return ok == fo->n ? "Succeeded" : ok ? "PartiallySucceeded" : "Failed";
}

static bool suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* What a final audit record means for a part; PENDING = not final. */
static enum rt_part_state final_state(const char *action, const char *outcome)
{
	if (!strcmp(action, "drain.planned") || suffix(action, ".succeeded"))
		return RT_PART_SUCCEEDED;
	if (suffix(action, ".completed"))
		return outcome && !strcmp(outcome, "success") ? RT_PART_SUCCEEDED : RT_PART_FAILED;
	if (suffix(action, ".request-refused") || suffix(action, ".refused"))
		return RT_PART_REFUSED;
	if (suffix(action, ".cancelled"))
		return RT_PART_CANCELLED;
	if (suffix(action, ".failed") || suffix(action, ".superseded") ||
	    suffix(action, ".queue-timeout"))
		return RT_PART_FAILED;
	return RT_PART_PENDING;
}

/* Make room: drop the oldest finished fan-out, else the oldest. */
static void evict(struct rt_fanouts *f)
{
	const struct rt_fanout *old = NULL, *old_done = NULL;
	char id[RT_ID_MAX];

	WK_MAP_EACH(it, &f->by_parent)
	{
		const struct rt_fanout *fo = it.val;

		if (!old || fo->seq < old->seq)
			old = fo;
		if (strcmp(rt_fanout_overall(fo), "Running") &&
		    (!old_done || fo->seq < old_done->seq))
			old_done = fo;
	}
	if (old_done)
		old = old_done;
	if (!old)
		return;
	wk_strlcpy(id, old->request_id, sizeof(id));
	rt_fanouts_forget(f, id);
}

static const char *start(struct rt_fanouts *f, const cJSON *ev, const char *rid)
{
	const cJSON *t;
	struct rt_fanout *fo;

	if (wk_map_get(&f->by_parent, rid) || strlen(rid) >= RT_ID_MAX)
		return NULL; /* seen (a replay of the same record) */
	fo = wk_xcalloc(1, sizeof(*fo));
	wk_strlcpy(fo->request_id, rid, sizeof(fo->request_id));
	cJSON_ArrayForEach(t, wk_json_path(ev, "details.targets"))
	{
		const char *c = wk_json_str(t, "cluster"), *p = wk_json_str(t, "requestId");

		if (!c || !p || fo->n >= RT_MAX_TARGETS || strlen(c) >= WK_CLUSTER_STR ||
		    strlen(p) >= RT_ID_MAX || wk_map_get(&f->by_part, p))
			continue;
		wk_strlcpy(fo->parts[fo->n].cluster, c, WK_CLUSTER_STR);
		wk_strlcpy(fo->parts[fo->n].request_id, p, RT_ID_MAX);
		fo->n++;
	}
	if (!fo->n) {
		free(fo);
		return NULL;
	}
	if (wk_map_count(&f->by_parent) >= RT_FANOUT_MAX)
		evict(f);
	fo->seq = ++f->seq;
	for (size_t i = 0; i < fo->n; i++)
		wk_map_put(&f->by_part, fo->parts[i].request_id, wk_xstrdup(rid));
	wk_map_put(&f->by_parent, rid, fo);
	return wk_map_key(&f->by_parent, rid);
}

const char *rt_fanouts_apply(struct rt_fanouts *f, const char *body, size_t len)
{
	cJSON *ev = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const char *rid = wk_json_str(ev, "requestId"), *action = wk_json_str(ev, "action");
	const char *actor = wk_json_str(ev, "actor"), *parent, *ret = NULL;
	struct rt_fanout *fo;
	enum rt_part_state st;

	if (!cJSON_IsObject(ev) || !rid || !action || !actor)
		goto out;
	if (!strcmp(actor, "wukong-router")) {
		if (!strcmp(action, "router.fanned-out"))
			ret = start(f, ev, rid);
		goto out;
	}
	parent = wk_map_get(&f->by_part, rid);
	if (!parent || !(fo = wk_map_get(&f->by_parent, parent)))
		goto out;
	st = final_state(action, wk_json_str(ev, "outcome"));
	if (st == RT_PART_PENDING)
		goto out;
	for (size_t i = 0; i < fo->n; i++) {
		struct rt_part *p = &fo->parts[i];

		if (strcmp(p->request_id, rid) || p->state != RT_PART_PENDING)
			continue;
		p->state = st;
		wk_strlcpy(p->action, action, sizeof(p->action));
		wk_strlcpy(p->message, wk_json_str(ev, "message") ? wk_json_str(ev, "message") : "",
			   sizeof(p->message));
		ret = wk_map_key(&f->by_parent, parent);
	}
out:
	cJSON_Delete(ev);
	return ret;
}

char *rt_fanout_report_json(const struct rt_fanout *fo)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t ok = 0, bad = 0, pend = 0;
	char *s;

	cJSON_AddStringToObject(o, "type", "route");
	cJSON_AddStringToObject(o, "requestId", fo->request_id);
	cJSON_AddStringToObject(o, "mode", "fanout");
	cJSON_AddStringToObject(o, "overall", rt_fanout_overall(fo));
	arr = cJSON_AddArrayToObject(o, "parts");
	for (size_t i = 0; i < fo->n; i++) {
		const struct rt_part *p = &fo->parts[i];
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "cluster", p->cluster);
		cJSON_AddStringToObject(t, "requestId", p->request_id);
		cJSON_AddStringToObject(t, "state", rt_part_state_name(p->state));
		if (p->action[0])
			cJSON_AddStringToObject(t, "action", p->action);
		if (p->message[0])
			cJSON_AddStringToObject(t, "message", p->message);
		cJSON_AddItemToArray(arr, t);
		if (p->state == RT_PART_PENDING)
			pend++;
		else if (p->state == RT_PART_SUCCEEDED)
			ok++;
		else
			bad++;
	}
	cJSON_AddNumberToObject(o, "succeeded", (double)ok);
	cJSON_AddNumberToObject(o, "failed", (double)bad);
	cJSON_AddNumberToObject(o, "pending", (double)pend);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
