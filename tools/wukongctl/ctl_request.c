/* ctl_request.c - submission bodies with exactly the field names of schemas/request-*.v1.json. */
#include "ctl_request.h"

#include "wk_name.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <time.h>

static const char *const verbs[] = {"migrate", "cancel", "drain", "clone"};

const char *ctl_verb_name(enum ctl_verb verb)
{
	return (size_t)verb < WK_ARRAY_SIZE(verbs) ? verbs[verb] : "unknown";
}

const char *ctl_request_type(enum ctl_verb verb)
{
	static const char *const types[] = {WK_CE_REQUEST_MIGRATE, WK_CE_REQUEST_CANCEL,
					    WK_CE_REQUEST_DRAIN, WK_CE_REQUEST_CLONE};
	return (size_t)verb < WK_ARRAY_SIZE(types) ? types[verb] : "";
}

void ctl_request_new_id(enum ctl_verb verb, int64_t now_ms, uint32_t rnd, char *out,
			size_t out_size)
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, out_size, "%s-%04d%02d%02d-%02d%02d%02d-%06x", ctl_verb_name(verb),
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 rnd & 0xffffff);
}

int ctl_request_from_args(const struct ctl_args *a, enum ctl_verb verb, struct ctl_request *r,
			  char *errstr, size_t errstr_size)
{
	memset(r, 0, sizeof(*r));
	r->verb = verb;
	wk_strlcpy(r->cluster, a->cluster ? a->cluster : "local", sizeof(r->cluster));
	if (a->to_cluster) {
		char shown[80];

		ctl_safe(a->to_cluster, shown, sizeof(shown), 64);
		if (!wk_name_is_dns1123_label(a->to_cluster))
			return wk_err(errstr, errstr_size,
				      "--to-cluster: '%s' is not a cluster id (DNS-1123 label)", shown);
		wk_strlcpy(r->to_cluster, a->to_cluster, sizeof(r->to_cluster));
	}
	if (a->fanout) {
		const char *p = a->fanout, *comma;
		char one[256], shown[80];

		if (a->cluster)
			return wk_err(errstr, errstr_size, "--clusters excludes --cluster");
		for (;;) {
			size_t len;

			comma = strchr(p, ',');
			len = comma ? (size_t)(comma - p) : strlen(p);
			if (len >= sizeof(one))
				len = sizeof(one) - 1;
			memcpy(one, p, len);
			one[len] = '\0';
			ctl_safe(one, shown, sizeof(shown), 64);
			if (!wk_name_is_dns1123_label(one))
				return wk_err(errstr, errstr_size,
					      "--clusters: '%s' is not a cluster id (DNS-1123 label)",
					      shown);
			for (size_t i = 0; i < r->nclusters; i++)
				if (!strcmp(r->clusters[i], one))
					return wk_err(errstr, errstr_size,
						      "--clusters: '%s' listed twice", shown);
			if (r->nclusters == CTL_MAX_CLUSTERS)
				return wk_err(errstr, errstr_size, "--clusters: more than %d",
					      CTL_MAX_CLUSTERS);
			wk_strlcpy(r->clusters[r->nclusters++], one, CTL_NS_MAX);
			if (!comma)
				break;
			p = comma + 1;
		}
	}
	if (a->tenant)
		wk_strlcpy(r->tenant, a->tenant, sizeof(r->tenant));
	if (a->request_id)
		wk_strlcpy(r->id, a->request_id, sizeof(r->id));
	if (a->reason)
		wk_strlcpy(r->reason, a->reason, sizeof(r->reason));
	switch (verb) {
	case CTL_VERB_MIGRATE:
		if (a->cold && !a->to)
			return wk_err(
			    errstr, errstr_size,
			    "--cold needs --to NODE: a cold migration pins the VM to a node");
		r->cold = a->cold;
		if (ctl_ref_ns(a, a->pos[0], r->ns, r->name, errstr, errstr_size) < 0)
			return -1;
		if (a->to &&
		    ctl_parse_node(a->to, r->node, sizeof(r->node), errstr, errstr_size) < 0)
			return -1;
		r->auto_converge = a->auto_converge;
		r->post_copy = a->post_copy;
		r->timeout_per_gib = a->timeout_per_gib;
		return 0;
	case CTL_VERB_CANCEL:
		if (a->target_request)
			wk_strlcpy(r->target_request, a->target_request, sizeof(r->target_request));
		return ctl_ref_ns(a, a->pos[0], r->ns, r->name, errstr, errstr_size);
	case CTL_VERB_DRAIN:
		r->dry_run = a->dry_run;
		return ctl_parse_node(a->pos[0], r->node, sizeof(r->node), errstr, errstr_size);
	case CTL_VERB_CLONE: {
		int n;

		if (ctl_ref_ns(a, a->pos[0], r->src_ns, r->src_name, errstr, errstr_size) < 0 ||
		    ctl_ref_ns(a, a->pos[1], r->ns, r->name, errstr, errstr_size) < 0)
			return -1;
		/* The target Wukong's VM is "<name>-vm": keep that a valid name too. */
		if (strlen(r->name) > 250)
			return wk_err(errstr, errstr_size,
				      "DST name is longer than 250 characters");
		if (!strcmp(r->src_ns, r->ns) && !strcmp(r->src_name, r->name))
			return wk_err(errstr, errstr_size, "SRC and DST are the same Wukong");
		if (a->disks) {
			n = ctl_parse_disks(a->disks, r->disks, CTL_MAX_DISKS, errstr, errstr_size);
			if (n < 0)
				return -1;
			r->ndisks = (size_t)n;
		}
		if (a->count < 0 || a->count > CTL_MAX_BATCH)
			return wk_err(errstr, errstr_size, "--count must be in 1..%d",
				      CTL_MAX_BATCH);
		if (a->count > 1 && strlen(r->name) > 246)
			return wk_err(errstr, errstr_size,
				      "DST name is too long for a batch ('<DST>-<n>-vm')");
		if (a->parallelism < 0 || a->parallelism > 32)
			return wk_err(errstr, errstr_size, "--parallelism must be in 1..32");
		if (a->offline && a->start_source)
			return wk_err(errstr, errstr_size,
				      "--offline copies a stopped source as it is: not with "
				      "--start-source");
		r->count = a->count > 1 ? (int)a->count : 0;
		r->parallelism = (int)a->parallelism;
		r->offline = a->offline;
		r->start_source = a->start_source;
		r->stopped = a->stopped;
		return 0;
	}
	}
	return wk_err(errstr, errstr_size, "unknown request verb");
}

bool ctl_request_routed(const struct ctl_request *r)
{
	return r->nclusters > 0 || !strcmp(r->cluster, "auto") || r->to_cluster[0];
}

char *ctl_request_json(const struct ctl_request *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "requestId", r->id);
	if (r->nclusters) {
		cJSON *l = cJSON_AddArrayToObject(o, "clusters");

		for (size_t i = 0; i < r->nclusters; i++)
			cJSON_AddItemToArray(l, cJSON_CreateString(r->clusters[i]));
	} else {
		cJSON_AddStringToObject(o, "cluster", r->cluster);
	}
	if (r->to_cluster[0])
		cJSON_AddStringToObject(o, "toCluster", r->to_cluster);
	if (r->verb == CTL_VERB_DRAIN) {
		cJSON_AddStringToObject(o, "node", r->node);
		if (r->dry_run)
			cJSON_AddTrueToObject(o, "dryRun");
	} else {
		cJSON_AddStringToObject(o, "namespace", r->ns);
	}
	if (r->verb == CTL_VERB_MIGRATE || r->verb == CTL_VERB_CANCEL)
		cJSON_AddStringToObject(o, "name", r->name);
	if (r->tenant[0])
		cJSON_AddStringToObject(o, "tenant", r->tenant);
	if (r->verb == CTL_VERB_MIGRATE) {
		if (r->node[0])
			cJSON_AddStringToObject(o, "targetNode", r->node);
		if (r->auto_converge || r->post_copy || r->cold || r->timeout_per_gib) {
			cJSON *op = cJSON_AddObjectToObject(o, "options");

			if (r->auto_converge)
				cJSON_AddTrueToObject(op, "allowAutoConverge");
			if (r->post_copy)
				cJSON_AddTrueToObject(op, "allowPostCopy");
			if (r->cold)
				cJSON_AddTrueToObject(op, "cold");
			if (r->timeout_per_gib)
				cJSON_AddNumberToObject(op, "completionTimeoutPerGiB",
							(double)r->timeout_per_gib);
		}
	}
	if (r->verb == CTL_VERB_CANCEL && r->target_request[0])
		cJSON_AddStringToObject(o, "targetRequestId", r->target_request);
	if (r->verb == CTL_VERB_CLONE) {
		cJSON *src = cJSON_AddObjectToObject(o, "source"), *tg, *t;

		/* The source is the Wukong's VirtualMachine: "<name>-vm" (docs/wukongctl.md). */
		char vm[CTL_NAME_MAX + 4];

		snprintf(vm, sizeof(vm), "%s-vm", r->src_name);
		cJSON_AddStringToObject(src, "type", "vm");
		cJSON_AddStringToObject(src, "name", vm);
		cJSON_AddStringToObject(src, "namespace", r->src_ns);
		tg = cJSON_AddArrayToObject(o, "targets");
		for (int i = 0; i < (r->count > 1 ? r->count : 1); i++) {
			char tn[CTL_NAME_MAX + 8];

			ctl_clone_target(r, i, tn, sizeof(tn));
			t = cJSON_CreateObject();
			cJSON_AddStringToObject(t, "name", tn);
			if (r->stopped)
				cJSON_AddFalseToObject(t, "running");
			cJSON_AddItemToArray(tg, t);
		}
		if (r->parallelism > 0)
			cJSON_AddNumberToObject(o, "parallelism", r->parallelism);
		if (r->offline)
			cJSON_AddStringToObject(o, "cloneType", "offline");
		if (r->start_source)
			cJSON_AddTrueToObject(o, "startSource");
		if (r->ndisks) {
			cJSON *d = cJSON_AddArrayToObject(o, "disks");

			for (size_t i = 0; i < r->ndisks; i++)
				cJSON_AddItemToArray(d, cJSON_CreateString(r->disks[i]));
		}
	}
	if (r->reason[0])
		cJSON_AddStringToObject(o, "reason", r->reason);
	if (r->expires_at[0])
		cJSON_AddStringToObject(o, "expiresAt", r->expires_at);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		abort();
	return s;
}

void ctl_clone_target(const struct ctl_request *r, int i, char *out, size_t out_size)
{
	if (r->count > 1)
		snprintf(out, out_size, "%.246s-%d", r->name, (i + 1) % 1000);
	else
		snprintf(out, out_size, "%s", r->name);
}

void ctl_request_key(const struct ctl_request *r, char *out, size_t out_size)
{
	/* a fan-out's key starts with "*": the router puts each part's cluster there */
	const char *cl = r->nclusters ? "*" : r->cluster;

	if (r->verb == CTL_VERB_DRAIN)
		snprintf(out, out_size, "%s/node/%s", cl, r->node);
	else if (r->verb == CTL_VERB_CLONE) /* request-clone.v1.json: the source VM's key */
		snprintf(out, out_size, "%s/%s/%s-vm", cl, r->src_ns, r->src_name);
	else
		snprintf(out, out_size, "%s/%s/%s-vm", cl, r->ns, r->name);
}

void ctl_request_subject(const struct ctl_request *r, char *out, size_t out_size)
{
	if (r->verb == CTL_VERB_DRAIN)
		snprintf(out, out_size, "Node/%s", r->node);
	else
		snprintf(out, out_size, "Wukong/%s/%s", r->ns, r->name);
}
