/* wk_cluster.c - the cluster registry record: summary, JSON, parse, availability, room. */
#include "wk_cluster.h"

#include "wk_json.h"
#include "wk_kubevirt.h"
#include "wk_name.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The gates the product asks about, published as this cluster's version decides them. */
static const char *const product_gates[] = {
    WK_KV_GATE_SNAPSHOT,	 WK_KV_GATE_VMEXPORT,	    WK_KV_GATE_DECENTRALIZED,
    WK_KV_GATE_VOLUME_MIGRATION, WK_KV_GATE_VOLUMES_UPDATE,
};

void wk_cluster_info_init(struct wk_cluster_info *ci)
{
	memset(ci, 0, sizeof(*ci));
}

void wk_cluster_info_release(struct wk_cluster_info *ci)
{
	cJSON_Delete(ci->labels);
	memset(ci, 0, sizeof(*ci));
}

static int64_t quantity(const cJSON *o, const char *path, bool milli)
{
	const char *s = wk_json_str(o, path);
	int64_t v = 0;
	char err[128];

	if (!s)
		return 0;
	if (milli ? wk_quantity_parse_milli(s, &v, err, sizeof(err)) < 0
		  : wk_quantity_parse(s, &v, err, sizeof(err)) < 0)
		return 0;
	return v < 0 ? 0 : v;
}

static bool node_ready(const cJSON *n)
{
	const cJSON *c;

	if (cJSON_IsTrue(wk_json_path(n, "spec.unschedulable")))
		return false;
	cJSON_ArrayForEach(c, wk_json_path(n, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *s = wk_json_str(c, "status");

		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

static void add_gate(struct wk_cluster_info *ci, const char *g)
{
	for (size_t i = 0; i < ci->n_gates; i++)
		if (!strcmp(ci->gates[i], g))
			return;
	if (ci->n_gates < WK_CLUSTER_MAX_GATES && strlen(g) < WK_CLUSTER_STR)
		wk_strlcpy(ci->gates[ci->n_gates++], g, WK_CLUSTER_STR);
}

void wk_cluster_summarize(struct wk_cluster_info *ci, const char *id, const cJSON *labels,
			  const char *server_version, const cJSON *nodes, const cJSON *vmis,
			  const struct wk_kubevirt_info *kv, int64_t now_ms)
{
	const cJSON *it;
	int64_t ratio =
	    kv && kv->found && kv->cpu_allocation_ratio > 0 ? kv->cpu_allocation_ratio : 10;

	wk_cluster_info_release(ci);
	wk_strlcpy(ci->id, id, sizeof(ci->id));
	ci->labels = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
	wk_strlcpy(ci->server_version, server_version ? server_version : "",
		   sizeof(ci->server_version));
	ci->time_ms = now_ms;
	if (kv && kv->found) {
		wk_strlcpy(ci->kubevirt_version, kv->version, sizeof(ci->kubevirt_version));
		for (size_t i = 0; i < WK_ARRAY_SIZE(product_gates); i++)
			if (wk_kubevirt_gate(kv, product_gates[i]))
				add_gate(ci, product_gates[i]);
		for (size_t i = 0; i < kv->n_gates; i++)
			if (wk_kubevirt_gate(kv, kv->gates[i]))
				add_gate(ci, kv->gates[i]);
	}
	cJSON_ArrayForEach(it, wk_json_path(nodes, "items"))
	{
		ci->nodes++;
		if (!node_ready(it))
			continue;
		ci->nodes_ready++;
		ci->cpu_alloc_milli += quantity(it, "status.allocatable.cpu", true);
		ci->mem_alloc += quantity(it, "status.allocatable.memory", false);
	}
	cJSON_ArrayForEach(it, wk_json_path(vmis, "items"))
	{
		const char *phase = wk_json_str(it, "status.phase");
		int64_t mem, cpu;

		if (!wk_json_str(it, "status.nodeName") ||
		    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
			continue;
		ci->vmis++;
		mem = quantity(it, "spec.domain.resources.requests.memory", false);
		if (!mem)
			mem = quantity(it, "spec.domain.memory.guest", false);
		cpu = quantity(it, "spec.domain.resources.requests.cpu", true);
		if (!cpu) {
			double c = wk_json_num(it, "spec.domain.cpu.cores", 1),
			       s = wk_json_num(it, "spec.domain.cpu.sockets", 1),
			       t = wk_json_num(it, "spec.domain.cpu.threads", 1);
			double v = (c >= 1 ? c : 1) * (s >= 1 ? s : 1) * (t >= 1 ? t : 1);

			if (v > 1e6)
				v = 1e6;
			cpu = (int64_t)(v * 1000.0) / ratio;
		}
		ci->mem_used += mem;
		ci->cpu_used_milli += cpu;
	}
}

static cJSON *to_json(const struct wk_cluster_info *ci, bool with_time)
{
	cJSON *o = cJSON_CreateObject(), *g;
	char t[64];

	cJSON_AddStringToObject(o, "cluster", ci->id);
	cJSON_AddItemToObject(o, "labels",
			      ci->labels ? cJSON_Duplicate(ci->labels, 1) : cJSON_CreateObject());
	cJSON_AddStringToObject(o, "serverVersion", ci->server_version);
	cJSON_AddStringToObject(o, "kubevirtVersion", ci->kubevirt_version);
	g = cJSON_AddArrayToObject(o, "featureGates");
	for (size_t i = 0; i < ci->n_gates; i++)
		cJSON_AddItemToArray(g, cJSON_CreateString(ci->gates[i]));
	cJSON_AddNumberToObject(o, "nodes", (double)ci->nodes);
	cJSON_AddNumberToObject(o, "nodesReady", (double)ci->nodes_ready);
	cJSON_AddNumberToObject(o, "vmis", (double)ci->vmis);
	cJSON_AddNumberToObject(o, "cpuAllocatableMilli", (double)ci->cpu_alloc_milli);
	cJSON_AddNumberToObject(o, "cpuUsedMilli", (double)ci->cpu_used_milli);
	cJSON_AddNumberToObject(o, "memoryAllocatableBytes", (double)ci->mem_alloc);
	cJSON_AddNumberToObject(o, "memoryUsedBytes", (double)ci->mem_used);
	if (with_time) {
		wk_time_format(ci->time_ms, t, sizeof(t));
		cJSON_AddStringToObject(o, "time", t);
	}
	return o;
}

char *wk_cluster_json(const struct wk_cluster_info *ci)
{
	cJSON *o = to_json(ci, true);
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

char *wk_cluster_fingerprint(const struct wk_cluster_info *ci)
{
	cJSON *o = to_json(ci, false);
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

static int get_str(const cJSON *o, const char *k, char *out, bool required, char *errstr,
		   size_t errstr_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v && !required) {
		out[0] = 0;
		return 0;
	}
	if (!cJSON_IsString(v))
		return wk_err(errstr, errstr_size, "'%s': not a string", k);
	if (strlen(v->valuestring) >= WK_CLUSTER_STR)
		return wk_err(errstr, errstr_size, "'%s': longer than %d bytes", k,
			      WK_CLUSTER_STR - 1);
	wk_strlcpy(out, v->valuestring, WK_CLUSTER_STR);
	return 0;
}

static int get_count(const cJSON *o, const char *k, int64_t *out, char *errstr, size_t errstr_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	*out = 0;
	if (!v)
		return 0;
	/* 2^53: exact in a double; a cluster's bytes stay far below */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return wk_err(errstr, errstr_size, "'%s': not a whole number in 0..2^53", k);
	*out = (int64_t)v->valuedouble;
	return 0;
}

static int parse_obj(const cJSON *o, struct wk_cluster_info *ci, char *errstr, size_t errstr_size)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels"), *it;
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "featureGates");
	char t[WK_CLUSTER_STR], err[256];
	int n = 0;

	if (!cJSON_IsObject(o))
		return wk_err(errstr, errstr_size, "not a JSON object");
	if (get_str(o, "cluster", ci->id, true, errstr, errstr_size) < 0 ||
	    get_str(o, "serverVersion", ci->server_version, false, errstr, errstr_size) < 0 ||
	    get_str(o, "kubevirtVersion", ci->kubevirt_version, false, errstr, errstr_size) < 0 ||
	    get_str(o, "time", t, true, errstr, errstr_size) < 0)
		return -1;
	if (wk_name_check_label(ci->id, err, sizeof(err)) < 0)
		return wk_err(errstr, errstr_size, "'cluster': %s", err);
	if (wk_time_parse_ms(t, &ci->time_ms) < 0)
		return wk_err(errstr, errstr_size, "'time': not an RFC 3339 time");
	if (l && !cJSON_IsObject(l))
		return wk_err(errstr, errstr_size, "'labels': not an object");
	cJSON_ArrayForEach(it, l)
	{
		if (!cJSON_IsString(it) || strlen(it->string) >= 317 ||
		    strlen(it->valuestring) >= WK_CLUSTER_STR)
			return wk_err(errstr, errstr_size,
				      "'labels': a value that is not a string of at most 63 bytes");
		if (++n > WK_CLUSTER_MAX_LABELS)
			return wk_err(errstr, errstr_size, "'labels': more than %d",
				      WK_CLUSTER_MAX_LABELS);
	}
	ci->labels = l ? cJSON_Duplicate(l, 1) : cJSON_CreateObject();
	if (g && !cJSON_IsArray(g))
		return wk_err(errstr, errstr_size, "'featureGates': not an array");
	cJSON_ArrayForEach(it, g)
	{
		if (!cJSON_IsString(it) || strlen(it->valuestring) >= WK_CLUSTER_STR)
			return wk_err(errstr, errstr_size,
				      "'featureGates': an entry that is not a string of at most 63 "
				      "bytes");
		if (ci->n_gates >= WK_CLUSTER_MAX_GATES)
			return wk_err(errstr, errstr_size, "'featureGates': more than %d",
				      WK_CLUSTER_MAX_GATES);
		wk_strlcpy(ci->gates[ci->n_gates++], it->valuestring, WK_CLUSTER_STR);
	}
	if (get_count(o, "nodes", &ci->nodes, errstr, errstr_size) < 0 ||
	    get_count(o, "nodesReady", &ci->nodes_ready, errstr, errstr_size) < 0 ||
	    get_count(o, "vmis", &ci->vmis, errstr, errstr_size) < 0 ||
	    get_count(o, "cpuAllocatableMilli", &ci->cpu_alloc_milli, errstr, errstr_size) < 0 ||
	    get_count(o, "cpuUsedMilli", &ci->cpu_used_milli, errstr, errstr_size) < 0 ||
	    get_count(o, "memoryAllocatableBytes", &ci->mem_alloc, errstr, errstr_size) < 0 ||
	    get_count(o, "memoryUsedBytes", &ci->mem_used, errstr, errstr_size) < 0)
		return -1;
	return 0;
}

int wk_cluster_parse(const char *body, size_t len, struct wk_cluster_info *ci, char *errstr,
		     size_t errstr_size)
{
	cJSON *o;
	int rc;

	wk_cluster_info_init(ci);
	if (!body || !len)
		return wk_err(errstr, errstr_size, "empty record");
	if (len > WK_CLUSTER_RECORD_MAX)
		return wk_err(errstr, errstr_size, "record of %zu bytes over the %d-byte cap", len,
			      WK_CLUSTER_RECORD_MAX);
	o = cJSON_ParseWithLength(body, len);
	if (!o)
		return wk_err(errstr, errstr_size, "not JSON");
	rc = parse_obj(o, ci, errstr, errstr_size);
	cJSON_Delete(o);
	if (rc < 0)
		wk_cluster_info_release(ci);
	return rc;
}

bool wk_cluster_available(const struct wk_cluster_info *ci, int64_t now_ms, int64_t max_age_ms)
{
	return ci->id[0] && now_ms - ci->time_ms <= max_age_ms && ci->nodes_ready > 0;
}

void wk_cluster_unavailable_reason(const struct wk_cluster_info *ci, int64_t now_ms,
				   int64_t max_age_ms, char *out, size_t out_size)
{
	if (now_ms - ci->time_ms > max_age_ms)
		snprintf(out, out_size,
			 "cluster '%s' is Unavailable: its last heartbeat is %lld s old (limit "
			 "%lld s)",
			 ci->id, (long long)((now_ms - ci->time_ms) / 1000),
			 (long long)(max_age_ms / 1000));
	else if (ci->nodes_ready <= 0)
		snprintf(out, out_size,
			 "cluster '%s' is Unavailable: none of its %lld node(s) is Ready and "
			 "schedulable",
			 ci->id, (long long)ci->nodes);
	else
		snprintf(out, out_size, "cluster '%s' is Available", ci->id);
}

bool wk_cluster_has_gate(const struct wk_cluster_info *ci, const char *gate)
{
	for (size_t i = 0; i < ci->n_gates; i++)
		if (!strcmp(ci->gates[i], gate))
			return true;
	return false;
}

bool wk_cluster_kubevirt_at_least(const struct wk_cluster_info *ci, int major, int minor)
{
	int ma, mi, pa;

	if (!wk_kubevirt_parse_version(ci->kubevirt_version, &ma, &mi, &pa))
		return false;
	return ma > major || (ma == major && mi >= minor);
}

int wk_cluster_room_cmp(const struct wk_cluster_info *a, const struct wk_cluster_info *b)
{
	int64_t fa = a->mem_alloc - a->mem_used, fb = b->mem_alloc - b->mem_used;

	if (fa != fb)
		return fa > fb ? -1 : 1;
	fa = a->cpu_alloc_milli - a->cpu_used_milli;
	fb = b->cpu_alloc_milli - b->cpu_used_milli;
	if (fa != fb)
		return fa > fb ? -1 : 1;
	return strcmp(a->id, b->id);
}
