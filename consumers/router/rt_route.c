/* rt_route.c - registry table and routing decisions (pure; docs/multicluster.md). */
#include "rt_route.h"

#include "wk_emit.h"
#include "wk_json.h"
#include "wk_kubevirt.h"
#include "wk_name.h"
#include "wk_quantity.h"
#include "wk_selector.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_info(void *v)
{
	wk_cluster_info_release(v);
	free(v);
}

void rt_registry_init(struct rt_registry *r, int64_t max_age_ms)
{
	wk_map_init(&r->clusters, free_info);
	r->max_age_ms = max_age_ms;
}

void rt_registry_release(struct rt_registry *r)
{
	wk_map_release(&r->clusters);
}

int rt_registry_apply(struct rt_registry *r, const char *key, const char *body, size_t len,
		      char *errstr, size_t errstr_size)
{
	struct wk_cluster_info *ci, *old;

	if (!body || !len) {
		if (key)
			wk_map_del(&r->clusters, key);
		return 0;
	}
	ci = wk_xmalloc(sizeof(*ci));
	if (wk_cluster_parse(body, len, ci, errstr, errstr_size) < 0) {
		free(ci);
		return -1;
	}
	if (key && strcmp(key, ci->id)) {
		wk_err(errstr, errstr_size, "record for cluster '%s' under key '%s'", ci->id, key);
		free_info(ci);
		return -1;
	}
	old = wk_map_get(&r->clusters, ci->id);
	if (old && old->time_ms > ci->time_ms) {
		free_info(ci); /* an older record read after a newer one: keep the newer */
		return 0;
	}
	wk_map_put(&r->clusters, ci->id, ci);
	return 0;
}

const struct wk_cluster_info *rt_registry_get(const struct rt_registry *r, const char *id)
{
	return wk_map_get(&r->clusters, id);
}

void rt_decision_release(struct rt_decision *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->targets[i].body);
	memset(d, 0, sizeof(*d));
}

void rt_derived_id(const char *request_id, const char *cluster, char *out, size_t out_size)
{
	char hex[9], *joined = wk_xasprintf("%s/%s", request_id, cluster);
	int a = (int)strlen(request_id), b = (int)strlen(cluster);

	wk_emit_sha256_hex(joined, strlen(joined), 8, hex);
	free(joined);
	if (a > 32)
		a = 32;
	if (b > 20)
		b = 20;
	/* a cut may end on '-': a label may not, and "--" reads badly; trim it */
	while (a > 0 && request_id[a - 1] == '-')
		a--;
	while (b > 0 && cluster[b - 1] == '-')
		b--;
	snprintf(out, out_size, "%.*s-%.*s-%s", a, request_id, b, cluster, hex);
}

void rt_route_key(const char *key, const char *from, const char *to, char *out, size_t out_size)
{
	size_t fl = from ? strlen(from) : 0;

	if (!key || !*key)
		snprintf(out, out_size, "%s", to);
	else if (key[0] == '*' && key[1] == '/') /* a fan-out's placeholder */
		snprintf(out, out_size, "%s%s", to, key + 1);
	else if (fl && !strncmp(key, from, fl) && key[fl] == '/')
		snprintf(out, out_size, "%s%s", to, key + fl);
	else
		snprintf(out, out_size, "%s/%s", to, key);
}

static void refuse(struct rt_decision *d, const char *code, const char *fmt, ...) WK_PRINTF(3, 4);
static void refuse(struct rt_decision *d, const char *code, const char *fmt, ...)
{
	va_list ap;

	for (size_t i = 0; i < d->n; i++)
		free(d->targets[i].body);
	d->n = 0;
	d->verdict = RT_REFUSE;
	wk_strlcpy(d->reason, code, sizeof(d->reason));
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
}

/* The body one cluster's executors read: the request with its routing fields replaced. */
static void add_target(struct rt_decision *d, const cJSON *req, const char *cluster, bool derive)
{
	struct rt_target *t = &d->targets[d->n++];
	cJSON *o = cJSON_Duplicate(req, 1);

	wk_strlcpy(t->cluster, cluster, sizeof(t->cluster));
	if (derive)
		rt_derived_id(d->request_id, cluster, t->request_id, sizeof(t->request_id));
	else
		wk_strlcpy(t->request_id, d->request_id, sizeof(t->request_id));
	cJSON_DeleteItemFromObjectCaseSensitive(o, "clusters");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "clusterSelector");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "cluster");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "requestId");
	cJSON_AddStringToObject(o, "requestId", t->request_id);
	cJSON_AddStringToObject(o, "cluster", cluster);
	t->body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
}

/* Hold until the request's own expiresAt (when it has one in the future), else refuse. */
static void hold_or_refuse(struct rt_decision *d, const cJSON *req, int64_t now, const char *code,
			   const char *why)
{
	const char *exp = wk_json_str(req, "expiresAt");
	int64_t until;

	if (exp && wk_time_parse_ms(exp, &until) == 0 && until <= now) {
		refuse(d, code, "%s; its expiresAt %s has passed: the deadline passed", why, exp);
		return;
	}
	if (exp && wk_time_parse_ms(exp, &until) == 0 && until > now) {
		for (size_t i = 0; i < d->n; i++)
			free(d->targets[i].body);
		d->n = 0;
		d->verdict = RT_HOLD;
		d->hold_until_ms = until;
		wk_strlcpy(d->reason, code, sizeof(d->reason));
		snprintf(d->message, sizeof(d->message), "%s: held until its expiresAt %s", why,
			 exp);
		return;
	}
	refuse(d, code, "%s", why);
}

/* Gates a placement must find on the cluster for this verb. */
static const char *needed_gate(const char *ce_type)
{
	if (ce_type && !strcmp(ce_type, WK_CE_REQUEST_CLONE))
		return WK_KV_GATE_SNAPSHOT;
	return NULL;
}

/* One named cluster: true if it may be routed to now; otherwise d holds or refuses. */
static bool check_named(const struct rt_registry *r, const struct rt_input *in, const cJSON *req,
			const char *id, struct rt_decision *d)
{
	const struct wk_cluster_info *ci = rt_registry_get(r, id);
	char why[512];

	if (!ci) {
		if (in->now_ms < in->grace_until_ms) {
			d->verdict = RT_HOLD;
			d->hold_until_ms = in->grace_until_ms;
			wk_strlcpy(d->reason, RT_REASON_UNKNOWN, sizeof(d->reason));
			snprintf(d->message, sizeof(d->message),
				 "cluster '%s' is not (yet) in the registry: held while the router "
				 "starts",
				 id);
			return false;
		}
		refuse(d, RT_REASON_UNKNOWN,
		       "cluster '%s' is not in the registry (wukong.clusters): no watcher of that "
		       "cluster has sent a heartbeat; check the cluster id, or start its watcher",
		       id);
		return false;
	}
	if (!wk_cluster_available(ci, in->now_ms, r->max_age_ms)) {
		wk_cluster_unavailable_reason(ci, in->now_ms, r->max_age_ms, why, sizeof(why));
		hold_or_refuse(d, req, in->now_ms, RT_REASON_UNAVAILABLE, why);
		return false;
	}
	return true;
}

static int cmp_info(const void *a, const void *b)
{
	return wk_cluster_room_cmp(*(const struct wk_cluster_info *const *)a,
				   *(const struct wk_cluster_info *const *)b);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((*(const struct wk_cluster_info *const *)a)->id,
		      (*(const struct wk_cluster_info *const *)b)->id);
}

/* The registry's clusters matching sel (NULL = all), sorted by id; at most RT_MAX_TARGETS * 4. */
static size_t matching(const struct rt_registry *r, const struct wk_selector *sel,
		       const struct wk_cluster_info **out, size_t max)
{
	size_t n = 0;

	WK_MAP_EACH(it, &r->clusters)
	{
		const struct wk_cluster_info *ci = it.val;

		if (n < max && (!sel || wk_selector_matches(sel, ci->labels)))
			out[n++] = ci;
	}
	qsort(out, n, sizeof(*out), cmp_id);
	return n;
}

static void place(const struct rt_registry *r, const struct rt_input *in, const cJSON *req,
		  const struct wk_selector *sel, struct rt_decision *d)
{
	const struct wk_cluster_info *all[RT_MAX_TARGETS * 4], *ok[RT_MAX_TARGETS * 4];
	size_t n = matching(r, sel, all, WK_ARRAY_SIZE(all)), k = 0, no_gate = 0;
	const char *gate = needed_gate(in->ce_type);
	char mem[32], list[400] = "";
	size_t used = 0;

	d->placed = true;
	for (size_t i = 0; i < n; i++) {
		if (!wk_cluster_available(all[i], in->now_ms, r->max_age_ms))
			continue;
		if (gate && !wk_cluster_has_gate(all[i], gate)) {
			no_gate++;
			continue;
		}
		ok[k++] = all[i];
	}
	if (!k) {
		char g[128] = "", why[400];

		if (gate && no_gate)
			snprintf(g, sizeof(g), "; %zu lack the feature gate \"%s\"", no_gate, gate);
		snprintf(why, sizeof(why),
			 "cluster: auto: no available cluster fits (%zu in the registry%s%s)", n,
			 sel ? " match the selector" : "", g);
		return hold_or_refuse(d, req, in->now_ms, RT_REASON_NO_FIT, why);
	}
	qsort(ok, k, sizeof(*ok), cmp_info);
	for (size_t i = 0; i < k && i < 4; i++) {
		wk_quantity_format_bytes(ok[i]->mem_alloc - ok[i]->mem_used, mem, sizeof(mem));
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s %s free",
					 i ? ", " : "", ok[i]->id, mem);
		if (used >= sizeof(list))
			break;
	}
	add_target(d, req, ok[0]->id, false);
	d->verdict = RT_ROUTE;
	snprintf(d->message, sizeof(d->message),
		 "cluster: auto placed on '%s': the most free memory among %zu available "
		 "cluster(s)%s%s (%s)",
		 ok[0]->id, k, sel ? " matching the selector" : "",
		 gate ? " with the needed feature gate" : "", list);
}

static void fan_list(const struct rt_registry *r, const struct rt_input *in, const cJSON *req,
		     const cJSON *list, struct rt_decision *d)
{
	const cJSON *it;
	char err[256];
	size_t n = 0;

	d->fanout = true;
	if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
		return refuse(d, "SchemaViolation", "'clusters' must be a non-empty array of cluster ids");
	if (cJSON_GetArraySize(list) > RT_MAX_TARGETS)
		return refuse(d, "SchemaViolation", "'clusters': more than %d clusters", RT_MAX_TARGETS);
	cJSON_ArrayForEach(it, list)
	{
		if (!cJSON_IsString(it))
			return refuse(d, "SchemaViolation", "'clusters': an entry that is not a string");
		if (wk_name_check_label(it->valuestring, err, sizeof(err)) < 0)
			return refuse(d, "InvalidName", "'clusters': %s", err);
		for (const cJSON *p = list->child; p != it; p = p->next)
			if (!strcmp(p->valuestring, it->valuestring))
				return refuse(d, "SchemaViolation", "'clusters': '%s' listed twice",
					      it->valuestring);
	}
	cJSON_ArrayForEach(it, list)
	{
		if (!check_named(r, in, req, it->valuestring, d))
			return;
	}
	cJSON_ArrayForEach(it, list)
	{
		add_target(d, req, it->valuestring, true);
		n++;
	}
	d->verdict = RT_ROUTE;
	snprintf(d->message, sizeof(d->message), "fanned out to %zu cluster(s)", n);
}

static void fan_selector(const struct rt_registry *r, const struct rt_input *in, const cJSON *req,
			 const struct wk_selector *sel, struct rt_decision *d)
{
	const struct wk_cluster_info *all[RT_MAX_TARGETS * 4];
	size_t n = matching(r, sel, all, WK_ARRAY_SIZE(all));

	d->fanout = true;
	for (size_t i = 0; i < n; i++) {
		if (!wk_cluster_available(all[i], in->now_ms, r->max_age_ms)) {
			if (d->n_skipped < RT_MAX_TARGETS)
				wk_strlcpy(d->skipped[d->n_skipped++], all[i]->id, WK_CLUSTER_STR);
			continue;
		}
		if (d->n >= RT_MAX_TARGETS)
			return refuse(d, "SchemaViolation",
				      "'clusterSelector' selects more than %d available clusters",
				      RT_MAX_TARGETS);
		add_target(d, req, all[i]->id, true);
	}
	if (!d->n) {
		if (in->now_ms < in->grace_until_ms) {
			d->verdict = RT_HOLD;
			d->hold_until_ms = in->grace_until_ms;
			wk_strlcpy(d->reason, RT_REASON_NO_MATCH, sizeof(d->reason));
			snprintf(d->message, sizeof(d->message),
				 "no available cluster matches the selector yet: held while the "
				 "router starts");
			return;
		}
		return hold_or_refuse(d, req, in->now_ms, RT_REASON_NO_MATCH,
				      n ? "every cluster matching 'clusterSelector' is Unavailable"
					: "no cluster in the registry matches 'clusterSelector'");
	}
	d->verdict = RT_ROUTE;
	snprintf(d->message, sizeof(d->message),
		 "fanned out by selector to %zu cluster(s), %zu matching cluster(s) Unavailable "
		 "and skipped",
		 d->n, d->n_skipped);
}

/* A live migration to another cluster (`toCluster`): KubeVirt's decentralized live migration
 * (1.6+, feature gate DecentralizedLiveMigration) on both sides, checked here from the registry,
 * before anything is created. The executor side is not built yet: a request both clusters could
 * carry out is refused as Unsupported, saying so (docs/multicluster.md). */
static void cross_cluster(const struct rt_registry *r, const struct rt_input *in, const cJSON *req,
			  const char *from, const char *to, struct rt_decision *d)
{
	const char *ids[2] = {from, to};

	if (!in->ce_type || strcmp(in->ce_type, WK_CE_REQUEST_MIGRATE))
		return refuse(d, "schema", "'toCluster' belongs to a migrate request only");
	if (!strcmp(from, to))
		return refuse(d, "schema", "'toCluster' is the request's own cluster '%s'", from);
	for (int i = 0; i < 2; i++)
		if (!check_named(r, in, req, ids[i], d))
			return;
	for (int i = 0; i < 2; i++) {
		const struct wk_cluster_info *ci = rt_registry_get(r, ids[i]);

		if (!wk_cluster_kubevirt_at_least(ci, 1, 6))
			return refuse(d, RT_REASON_GATE,
				      "cluster '%s' runs KubeVirt %s: live migration between clusters "
				      "needs KubeVirt 1.6 or later with the feature gate \"%s\"",
				      ids[i], ci->kubevirt_version[0] ? ci->kubevirt_version : "(none)",
				      WK_KV_GATE_DECENTRALIZED);
		if (!wk_cluster_has_gate(ci, WK_KV_GATE_DECENTRALIZED))
			return refuse(d, RT_REASON_GATE,
				      "cluster '%s' (KubeVirt %s): feature gate \"%s\" is not enabled "
				      "(list it in spec.configuration.developerConfiguration."
				      "featureGates of the KubeVirt CR); live migration between "
				      "clusters needs it on both clusters",
				      ids[i], ci->kubevirt_version, WK_KV_GATE_DECENTRALIZED);
	}
	refuse(d, RT_REASON_UNSUPPORTED,
	       "clusters '%s' and '%s' both allow decentralized live migration, but this version "
	       "of Wukong does not carry out live migration between clusters yet "
	       "(docs/multicluster.md)",
	       from, to);
}

static struct wk_selector *selector(const cJSON *s, char *err, size_t err_size)
{
	if (cJSON_IsString(s))
		return wk_selector_parse(s->valuestring, err, err_size);
	if (cJSON_IsObject(s))
		return wk_selector_from_json(s, err, err_size);
	wk_err(err, err_size, "not a label selector string or a LabelSelector object");
	return NULL;
}

void rt_decide(const struct rt_registry *r, const struct rt_input *in, struct rt_decision *d)
{
	const cJSON *rid, *cl, *list, *selj, *to;
	struct wk_selector *sel = NULL;
	char err[256];
	cJSON *req;

	memset(d, 0, sizeof(*d));
	if (!in->body || !in->len)
		return refuse(d, "MalformedRequest", "empty body");
	if (in->len > RT_BODY_MAX)
		return refuse(d, "RequestTooLarge", "body of %zu bytes over the %d-byte cap", in->len,
			      RT_BODY_MAX);
	if (memchr(in->body, '\0', in->len))
		return refuse(d, "SchemaViolation", "a NUL byte in the body");
	req = cJSON_ParseWithLength(in->body, in->len);
	if (!req)
		return refuse(d, "MalformedRequest", "not JSON");
	if (!cJSON_IsObject(req)) {
		refuse(d, "SchemaViolation", "not a JSON object");
		goto out;
	}
	rid = cJSON_GetObjectItemCaseSensitive(req, "requestId");
	if (!cJSON_IsString(rid)) {
		refuse(d, "SchemaViolation", "'requestId': missing or not a string");
		goto out;
	}
	if (wk_name_check_label(rid->valuestring, err, sizeof(err)) < 0) {
		refuse(d, "InvalidName", "'requestId': %s", err);
		goto out;
	}
	wk_strlcpy(d->request_id, rid->valuestring, sizeof(d->request_id));
	cl = cJSON_GetObjectItemCaseSensitive(req, "cluster");
	list = cJSON_GetObjectItemCaseSensitive(req, "clusters");
	selj = cJSON_GetObjectItemCaseSensitive(req, "clusterSelector");
	to = cJSON_GetObjectItemCaseSensitive(req, "toCluster");
	if (to) {
		if (!cJSON_IsString(to) || !cJSON_IsString(cl) || list || selj)
			refuse(d, "schema",
			       "'toCluster' must be a string and goes with one 'cluster' (the source)");
		else if (wk_name_check_label(to->valuestring, err, sizeof(err)) < 0 ||
			 wk_name_check_label(cl->valuestring, err, sizeof(err)) < 0)
			refuse(d, "invalid-name", "'cluster'/'toCluster': %s", err);
		else
			cross_cluster(r, in, req, cl->valuestring, to->valuestring, d);
		goto out;
	}
	if (cl && !cJSON_IsString(cl)) {
		refuse(d, "SchemaViolation", "'cluster': not a string");
		goto out;
	}
	if (list && (cl || selj)) {
		refuse(d, "SchemaViolation", "'clusters' excludes 'cluster' and 'clusterSelector'");
		goto out;
	}
	if (selj) {
		sel = selector(selj, err, sizeof(err));
		if (!sel) {
			refuse(d, "SchemaViolation", "'clusterSelector': %s", err);
			goto out;
		}
	}
	if (list) {
		fan_list(r, in, req, list, d);
	} else if (cl && !strcmp(cl->valuestring, "auto")) {
		place(r, in, req, sel, d);
	} else if (cl && sel) {
		refuse(d, "SchemaViolation",
		       "'clusterSelector' goes with 'cluster: auto' (placement) or without "
		       "'cluster' (fan-out), not with a cluster id");
	} else if (sel) {
		fan_selector(r, in, req, sel, d);
	} else if (!cl) {
		refuse(d, "SchemaViolation",
		       "no destination: give 'cluster' (an id or auto), 'clusters' or "
		       "'clusterSelector'");
	} else if (wk_name_check_label(cl->valuestring, err, sizeof(err)) < 0) {
		refuse(d, "InvalidName", "'cluster': %s", err);
	} else if (check_named(r, in, req, cl->valuestring, d)) {
		add_target(d, req, cl->valuestring, false);
		d->verdict = RT_ROUTE;
		snprintf(d->message, sizeof(d->message), "routed to cluster '%s'", cl->valuestring);
	}
out:
	wk_selector_destroy(sel);
	cJSON_Delete(req);
}
