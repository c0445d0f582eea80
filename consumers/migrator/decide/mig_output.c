/* mig_output.c - builders for status updates, audit events, Kubernetes Events, VMIMs and
 * MigrationPolicies. */
#include "decide/mig_output.h"

#include "wk_emit.h"
#include "wk_log.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>

const char *mig_phase_name(enum mig_phase p)
{
	static const char *const names[] = {"Pending", "Queued",    "Migrating", "Succeeded",
					    "Failed",  "Cancelled", "Rejected"};
	return (size_t)p < WK_ARRAY_SIZE(names) ? names[p] : "Unknown";
}

bool mig_phase_final(enum mig_phase p)
{
	return p >= MIG_PH_SUCCEEDED;
}

const char *mig_condition_status(enum mig_phase p)
{
	return mig_phase_final(p) ? "False" : "True";
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_time_or_null(cJSON *o, const char *k, int64_t ms)
{
	char t[40];

	if (ms > 0) {
		wk_time_format(ms, t, sizeof(t));
		cJSON_AddStringToObject(o, k, t);
	} else {
		cJSON_AddNullToObject(o, k);
	}
}

char *mig_status_json(const struct mig_status *s, int64_t now_ms)
{
	const struct mig_request *r = s->req;
	cJSON *ms = NULL;
	struct wk_emit_condition c = {
	    .type = s->condition_type ? s->condition_type : "Migrating",
	    .status = s->condition_only ? (s->condition_status ? s->condition_status : "True")
					: mig_condition_status(s->phase),
	    .reason = s->reason && *s->reason ? s->reason : mig_phase_name(s->phase),
	    .message = s->message,
	    .observed_generation = r->source == MIG_SRC_SPEC ? r->generation : 0,
	};
	struct wk_emit_status e = {
	    .cluster = r->cluster,
	    .ns = r->ns,
	    .name = r->name,
	    .source = "wukong-migrator",
	    .seq = s->seq,
	    .field = "migrationStatus",
	    .conditions = &c,
	    .nconditions = 1,
	};
	char *out;

	if (!s->condition_only) {
		ms = cJSON_CreateObject();
		/* The whole object every time, with nulls: the status writer merge-patches, and a
		 * null removes a field left over from an earlier phase (queuePosition). */
		cJSON_AddStringToObject(ms, "phase", mig_phase_name(s->phase));
		cJSON_AddStringToObject(ms, "requestId", r->id);
		add_str_or_null(ms, "sourceNode", s->source_node);
		add_str_or_null(ms, "targetNode",
				s->target_node && *s->target_node ? s->target_node
								  : r->target_node);
		if (s->queue_position)
			cJSON_AddNumberToObject(ms, "queuePosition", (double)s->queue_position);
		else
			cJSON_AddNullToObject(ms, "queuePosition");
		add_time_or_null(ms, "startedAt", s->started_ms);
		add_time_or_null(ms, "completedAt", s->completed_ms);
		add_str_or_null(ms, "message", s->message);
		add_str_or_null(ms, "mode", s->mode);
		if (s->has_downtime && isfinite(s->downtime_s) && s->downtime_s >= 0 &&
		    s->downtime_s <= MIG_DOWNTIME_MAX_S)
			/* milliseconds are all a clock here can tell */
			cJSON_AddNumberToObject(ms, "downtimeSeconds",
						round(s->downtime_s * 1000.0) / 1000.0);
		else
			cJSON_AddNullToObject(ms, "downtimeSeconds");
		if (s->phase == MIG_PH_SUCCEEDED)
			cJSON_AddNumberToObject(ms, "progress", 100);
		e.fields = ms;
	}
	out = wk_emit_status_json(&e, now_ms);
	cJSON_Delete(ms);
	return out;
}

void mig_audit_id(const char *cluster, const char *ns, const char *name, const char *request_id,
		  const char *action, const char *disc, char *out, size_t out_size)
{
	char buf[1024], h[41];

	snprintf(buf, sizeof(buf), "%s/%s/%s/%s/%s/%s", cluster ? cluster : "", ns ? ns : "",
		 name ? name : "", request_id ? request_id : "", action ? action : "",
		 disc ? disc : "");
	wk_emit_keyed_hex(buf, strlen(buf), 40, h); /* keyed: not pre-burnable */
	snprintf(out, out_size, "mig-%s", h);
}

char *mig_audit_json(const struct mig_audit *a)
{
	const struct mig_request *r = a->req;
	struct wk_emit_audit e = {
	    .request_id = a->request_id ? a->request_id
			  : r		? r->id
					: NULL,
	    .source_type = r ? mig_source_name(r->source) : "kafka",
	    .topic = a->topic,
	    .partition = a->partition,
	    .offset = a->offset,
	    .cluster = a->cluster,
	    .ns = r ? r->ns : a->ns,
	    .name = r ? r->name : a->name,
	    .actor = "wukong-migrator",
	    .action = a->action,
	    .outcome = a->outcome,
	    .reason = a->reason,
	    .message = a->message,
	    .details = a->details,
	};
	cJSON *d = NULL;
	char *out;

	/* The request's VM, target node and tenant join the details unless they are given. */
	if (r) {
		d = a->details ? cJSON_Duplicate(a->details, true) : cJSON_CreateObject();
		if (!cJSON_GetObjectItemCaseSensitive(d, "vm"))
			cJSON_AddStringToObject(d, "vm", r->vm);
		if (r->target_node[0] && !cJSON_GetObjectItemCaseSensitive(d, "targetNode"))
			cJSON_AddStringToObject(d, "targetNode", r->target_node);
		if (r->tenant[0] && !cJSON_GetObjectItemCaseSensitive(d, "tenant"))
			cJSON_AddStringToObject(d, "tenant", r->tenant);
		e.details = d;
	}
	out = wk_emit_audit_json(&e);
	cJSON_Delete(d);
	return out;
}

struct cJSON *mig_k8s_event(const struct mig_request *r, const char *uid, const char *type,
			    const char *reason, const char *message, const char *action,
			    const char *instance, int64_t now_ms)
{
	char seed[600];
	struct wk_emit_event e = {
	    .ns = r->ns,
	    .name = r->name,
	    .uid = uid,
	    .type = type,
	    .reason = reason,
	    .message = message,
	    .action = action,
	    .component = "wukong-migrator",
	    .instance = instance,
	    .seed = seed,
	};

	/* One Event per step: a step is the action and its reason (migration.phase Scheduling,
	 * then Running, ...); the same step replayed after a restart names the same Event. */
	snprintf(seed, sizeof(seed), "%s/%s/%s/%s/%s", r->ns, r->name, r->id, action,
		 reason ? reason : "");
	return wk_emit_k8s_event(&e, now_ms);
}

static void add_meta(cJSON *meta, const struct mig_request *r, const char *name, bool with_ns)
{
	cJSON *labels, *ann;
	char *req = mig_request_to_json(r);

	cJSON_AddStringToObject(meta, "name", name);
	if (with_ns)
		cJSON_AddStringToObject(meta, "namespace", r->ns);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, MIG_LABEL_MANAGED, MIG_MANAGED_VALUE);
	cJSON_AddStringToObject(labels, WK_LABEL_REQUEST_ID, r->id);
	/* Label values are at most 63 characters; longer names live in the annotation only. */
	if (strlen(r->name) <= 63)
		cJSON_AddStringToObject(labels, WK_LABEL_WUKONG, r->name);
	if (strlen(r->vm) <= 63)
		cJSON_AddStringToObject(labels, WK_LABEL_VM, r->vm);
	cJSON_AddStringToObject(labels, WK_LABEL_NAMESPACE, r->ns);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, WK_ANN_MIGRATION_REQUEST, req);
	free(req);
}

struct cJSON *mig_vmim_json(const struct mig_request *r, const char *name, const char *hostname)
{
	cJSON *o = cJSON_CreateObject(), *spec;

	cJSON_AddStringToObject(o, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(o, "kind", "VirtualMachineInstanceMigration");
	add_meta(cJSON_AddObjectToObject(o, "metadata"), r, name, true);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "vmiName", r->vm);
	if (hostname && *hostname)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "addedNodeSelector"),
					"kubernetes.io/hostname", hostname);
	return o;
}

struct cJSON *mig_policy_json(const struct mig_request *r, const char *name,
			      const struct cJSON *vmi_selector, const struct cJSON *ns_selector)
{
	cJSON *o = cJSON_CreateObject(), *spec, *sel;
	const struct mig_options *op = &r->opt;

	cJSON_AddStringToObject(o, "apiVersion", "migrations.kubevirt.io/v1alpha1");
	cJSON_AddStringToObject(o, "kind", "MigrationPolicy");
	add_meta(cJSON_AddObjectToObject(o, "metadata"), r, name, false);
	spec = cJSON_AddObjectToObject(o, "spec");
	sel = cJSON_AddObjectToObject(spec, "selectors");
	cJSON_AddItemToObject(sel, "namespaceSelector",
			      ns_selector ? cJSON_Duplicate(ns_selector, true)
					  : cJSON_CreateObject());
	cJSON_AddItemToObject(sel, "virtualMachineInstanceSelector",
			      vmi_selector ? cJSON_Duplicate(vmi_selector, true)
					   : cJSON_CreateObject());
	if (op->allow_auto_converge != MIG_UNSET)
		cJSON_AddBoolToObject(spec, "allowAutoConverge",
				      op->allow_auto_converge == MIG_TRUE);
	if (op->allow_post_copy != MIG_UNSET)
		cJSON_AddBoolToObject(spec, "allowPostCopy", op->allow_post_copy == MIG_TRUE);
	if (op->allow_workload_disruption != MIG_UNSET)
		cJSON_AddBoolToObject(spec, "allowWorkloadDisruption",
				      op->allow_workload_disruption == MIG_TRUE);
	if (op->completion_timeout_per_gib > 0)
		cJSON_AddNumberToObject(spec, "completionTimeoutPerGiB",
					(double)op->completion_timeout_per_gib);
	if (op->bandwidth >= 0)
		cJSON_AddStringToObject(spec, "bandwidthPerMigration", op->bandwidth_text);
	return o;
}
