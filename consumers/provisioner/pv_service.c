/* pv_service.c - wukong-provisioner's I/O: Kafka in (Wukong, VM, VMI and DataVolume events), the
 * relist on start and every resync, and per Wukong: read the Wukong, its VM, VMI and DataVolumes;
 * decide (pv_build.c); create or patch the VM; send the status to wukong.status.
 *
 * Crash safety: the VM's name is deterministic (<wukong>-vm), a create that meets 409
 * AlreadyExists counts as done, and a spec change is applied only while the VM's generation mark
 * is below the Wukong's generation. A Wukong event is acknowledged only after its effect; VM,
 * VMI and DataVolume events mark the Wukong for the next tick, and the resync is the safety net.
 */
#include "pv_service.h"

#include "pv_build.h"

#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_emit.h"
#include "wk_json.h"
#include "wk_k8s.h"
#include "wk_kubevirt.h"
#include "wk_log.h"
#include "wk_map.h"
#include "wk_metrics.h"
#include "wk_resource.h"
#include "wk_time.h"
#include "wk_types.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define PV_WUKONGS_MAX 100000 /* Wukongs followed; past it a resync still covers them */
#define PV_PASS_MAX 64	      /* Wukongs reconciled per tick */

struct pv_state {
	struct wk_service_ctx *ctx;
	struct wk_k8s *k8s;
	struct wk_producer *prod;
	char cluster[64];
	char t_status[256], t_events[256];
	bool enabled, k8s_events;
	char instance[128];
	long long resync_ms;
	int64_t next_resync, last_seq;
	struct wk_map last;  /* "<ns>/<name>" -> sha of the last status sent (char *) */
	struct wk_map dirty; /* "<ns>/<name>" -> (void *)1: reconcile on the next tick */
	cJSON *classes_body; /* the StorageClass list the names point into */
	struct pv_cluster cl;
	struct wk_metric *m_actions;
	struct wk_metric *m_pending; /* Wukongs marked and not reconciled yet (st->dirty) */
};

/* ---- what the cluster has ---- */

static void refresh_cluster(struct pv_state *st)
{
	struct wk_k8s_result r;
	char err[512];
	const cJSON *it;

	cJSON_Delete(st->classes_body);
	st->classes_body = NULL;
	memset(&st->cl.classes, 0, sizeof(st->cl.classes));
	st->cl.nclasses = 0;
	st->cl.default_class = NULL;
	st->cl.classes_known = false;
	if (wk_k8s_list_all(st->k8s, &wk_res_storageclasses, NULL, NULL, &r, err, sizeof(err)) ==
	    0) {
		st->classes_body = wk_k8s_result_take(&r);
		st->cl.classes_known = true;
		cJSON_ArrayForEach(it, wk_json_path(st->classes_body, "items"))
		{
			const char *n = wk_json_str(it, "metadata.name");
			const char *d = wk_json_meta(it, "annotations",
						     "storageclass.kubernetes.io/is-default-class");

			if (!n || st->cl.nclasses >= PV_CLASSES_MAX)
				continue;
			st->cl.classes[st->cl.nclasses++] = n;
			if (d && !strcmp(d, "true"))
				st->cl.default_class = n;
		}
	} else {
		wk_warn("storage classes not readable, not checked: %s", err);
	}
	wk_k8s_result_release(&r);
	/* the rollout strategy as the CR says, or as its version defaults (core/wk_kubevirt.h) */
	{
		struct wk_kubevirt_info kv;

		st->cl.live_update = wk_kubevirt_fetch(st->k8s, &kv, err, sizeof(err)) == 0 &&
				     kv.found && kv.rollout == WK_KV_ROLLOUT_LIVE_UPDATE;
	}
}

/* ---- status out ---- */

/* A Kubernetes Event on the Wukong; its name comes from seed, so a replay meets 409. */
static void post_event(struct pv_state *st, const cJSON *wk, const char *type, const char *reason,
		       const char *msg, const char *what)
{
	char seed[700], err[256];
	const cJSON *g = wk_json_path(wk, "metadata.generation");
	struct wk_emit_event ev = {
	    .ns = wk_json_str(wk, "metadata.namespace"),
	    .name = wk_json_str(wk, "metadata.name"),
	    .uid = wk_json_str(wk, "metadata.uid"),
	    .type = type,
	    .reason = reason,
	    .message = msg,
	    .action = what,
	    .component = PV_SVC,
	    .instance = st->instance,
	    .seed = seed,
	};

	if (!st->k8s_events || !ev.ns || !ev.name)
		return;
	snprintf(seed, sizeof(seed), "%s/%s/%s/%lld/%s/%s", ev.ns, ev.name, ev.uid ? ev.uid : "",
		 (long long)wk_json_int(g, 0), what, reason);
	if (wk_emit_post_event(st->k8s, &ev, err, sizeof(err)) < 0)
		wk_warn("event on wukong '%s/%s': %s", ev.ns, ev.name, err);
}

static void send_status(struct pv_state *st, const cJSON *wk, const char *ns, const char *name,
			const struct pv_status *ps)
{
	struct wk_emit_condition conds[3];
	struct wk_emit_status s;
	char key[600], subj[400], err[256], hash[41], mk[400];
	char *body, *cmp;
	cJSON *c = cJSON_CreateObject();
	const char *prev;

	/* What changed is judged without seq and times: the same status is not sent twice. */
	cJSON_AddItemToObject(c, "s", cJSON_Duplicate(ps->status, true));
	for (size_t i = 0; i < ps->ncond; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "t", ps->cond[i].type);
		cJSON_AddStringToObject(x, "s", ps->cond[i].status);
		cJSON_AddStringToObject(x, "r", ps->cond[i].reason);
		cJSON_AddStringToObject(x, "m", ps->cond[i].message);
		cJSON_AddItemToObject(c, ps->cond[i].type, x);
	}
	cmp = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	wk_emit_sha256_hex(cmp, strlen(cmp), 40, hash);
	free(cmp);
	snprintf(mk, sizeof(mk), "%s/%s", ns, name);
	prev = wk_map_get(&st->last, mk);
	if (prev && !strcmp(prev, hash))
		return;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < ps->ncond; i++)
		conds[i] = (struct wk_emit_condition){
		    .type = ps->cond[i].type,
		    .status = ps->cond[i].status,
		    .reason = ps->cond[i].reason,
		    .message = ps->cond[i].message,
		};
	s.cluster = st->cluster;
	s.ns = ns;
	s.name = name;
	s.source = PV_SVC;
	s.seq = wk_emit_next_seq(&st->last_seq);
	s.fields = ps->status;
	s.conditions = conds;
	s.nconditions = ps->ncond;
	body = wk_emit_status_json(&s, wk_time_now_ms());
	/* One key per (Wukong, sender, shape): wukong.status is compacted (wk_emit.h). */
	if (wk_emit_status_key(body, strlen(body), key, sizeof(key)) < 0)
		snprintf(key, sizeof(key), "%s/%s/%s", st->cluster, ns, name);
	snprintf(subj, sizeof(subj), "Wukong/%s/%s", ns, name);
	if (wk_emit_send(st->prod, st->t_status, key, st->cluster, WK_CE_STATUS, NULL, subj, body,
			 NULL, err, sizeof(err)) < 0) {
		wk_logk(WK_LOG_ERROR, key, "status send failed: %s", err);
	} else if (wk_map_count(&st->last) < PV_WUKONGS_MAX || prev) {
		wk_map_put(&st->last, mk, wk_xstrdup(hash));
	}
	free(body);
	/* What a user must act on is also a Warning Event on the Wukong (kubectl describe). */
	for (size_t i = 0; i < ps->ncond; i++) {
		const struct pv_cond *pc = &ps->cond[i];

		if (!strcmp(pc->status, "False") &&
		    ((!strcmp(pc->type, "SpecAccepted")) ||
		     (!strcmp(pc->type, "Ready") && (!strcmp(pc->reason, "ImportFailed") ||
						     !strcmp(pc->reason, "Unschedulable")))))
			post_event(st, wk, "Warning", pc->reason, pc->message, "Provision");
	}
}

/* ---- one Wukong ---- */

/* GET into *out (NULL on 404). 0, or -1 on any other failure. */
static int get_opt(struct pv_state *st, const struct wk_k8s_resource *res, const char *ns,
		   const char *name, cJSON **out)
{
	struct wk_k8s_result r;
	char err[512];
	int rc = 0;

	*out = NULL;
	if (wk_k8s_get(st->k8s, res, ns, name, &r, err, sizeof(err)) == 0)
		*out = wk_k8s_result_take(&r);
	else if (r.err != WK_K8S_ENOTFOUND) {
		wk_warn("%s", err);
		rc = -1;
	}
	wk_k8s_result_release(&r);
	return rc;
}

static void count(struct pv_state *st, const char *action)
{
	const char *lv[] = {action};

	wk_metric_inc(st->m_actions, lv, 1);
}

static int create_vm(struct pv_state *st, const char *ns, const cJSON *vm)
{
	struct wk_k8s_result r;
	char err[512];
	int rc = 0;

	if (wk_k8s_create(st->k8s, &wk_res_virtualmachines, ns, vm, &r, err, sizeof(err)) == 0) {
		wk_info("created VirtualMachine '%s/%s'", ns, wk_json_str(vm, "metadata.name"));
		count(st, "create");
	} else if (r.err != WK_K8S_EALREADYEXISTS) {
		/* 409 AlreadyExists: made before a crash, or by someone else; either is done */
		wk_warn("%s", err);
		rc = r.err == WK_K8S_EINVALID ? 0 : -1;
	}
	wk_k8s_result_release(&r);
	return rc;
}

static int apply_update(struct pv_state *st, const char *ns, const char *vmname, const cJSON *patch,
			const cJSON *delete_dvs)
{
	struct wk_k8s_result r;
	char err[512], *p = cJSON_PrintUnformatted(patch);
	const cJSON *d;
	int rc = 0;

	if (wk_k8s_patch(st->k8s, &wk_res_virtualmachines, ns, vmname, NULL, WK_K8S_PATCH_MERGE, p,
			 &r, err, sizeof(err)) < 0) {
		wk_warn("%s", err);
		rc = r.err == WK_K8S_EINVALID || r.err == WK_K8S_ENOTFOUND ? 0 : -1;
	} else {
		count(st, "update");
		wk_info("updated VirtualMachine '%s/%s' to the Wukong's spec", ns, vmname);
	}
	wk_k8s_result_release(&r);
	free(p);
	cJSON_ArrayForEach(d, delete_dvs)
	{
		if (rc < 0)
			break;
		if (wk_k8s_delete(st->k8s, &wk_res_datavolumes, ns, d->valuestring, NULL, &r, err,
				  sizeof(err)) < 0 &&
		    r.err != WK_K8S_ENOTFOUND) {
			wk_warn("%s", err);
			rc = -1;
		} else {
			count(st, "delete-datavolume");
		}
		wk_k8s_result_release(&r);
	}
	return rc;
}

/* The VM's DataVolumes, as an array (absent ones left out). */
static int read_dvs(struct pv_state *st, const char *ns, const cJSON *vm, cJSON **out)
{
	const cJSON *v;

	*out = cJSON_CreateArray();
	cJSON_ArrayForEach(v, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *dvn = wk_json_str(v, "dataVolume.name");
		cJSON *dv;

		if (!dvn)
			continue;
		if (get_opt(st, &wk_res_datavolumes, ns, dvn, &dv) < 0)
			return -1;
		if (dv)
			cJSON_AddItemToArray(*out, dv);
	}
	return 0;
}

/* Read, decide, act, report. 0 done, -1 try again (the API failed). */
static int reconcile(struct pv_state *st, const char *ns, const char *name)
{
	cJSON *wk = NULL, *vm = NULL, *vmi = NULL, *dvs = NULL, *built = NULL;
	struct pv_verdict v;
	struct pv_status ps;
	char vmname[300], mk[400];
	int rc = -1;

	memset(&v, 0, sizeof(v));
	snprintf(mk, sizeof(mk), "%s/%s", ns, name);
	if (get_opt(st, &wk_res_wukongs, ns, name, &wk) < 0)
		return -1;
	if (!wk || wk_json_path(wk, "metadata.deletionTimestamp")) {
		wk_map_del(&st->last, mk);
		cJSON_Delete(wk);
		return 0;
	}
	snprintf(vmname, sizeof(vmname), "%s-vm", name);
	if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0)
		goto out;
	if (!vm && !wk_json_path(wk, "spec.cloneSource")) {
		/* A clone target's VM is the cloner's to make; every other Wukong's is ours. */
		if (pv_build_vm(wk, &st->cl, &built, &v) == 0) {
			char msg[600];

			if (create_vm(st, ns, built) < 0)
				goto out;
			snprintf(
			    msg, sizeof(msg), "VirtualMachine '%s' with %d DataVolume(s)", vmname,
			    cJSON_GetArraySize(wk_json_path(built, "spec.dataVolumeTemplates")));
			post_event(st, wk, "Normal", "VirtualMachineCreated", msg, "Create");
			if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0)
				goto out;
		} else {
			count(st, "refuse");
		}
	} else if (vm && pv_vm_is_ours(vm) && !wk_json_path(wk, "spec.cloneSource")) {
		cJSON *patch = NULL, *del = NULL;
		const cJSON *g = wk_json_path(wk, "metadata.generation");
		int64_t gen = wk_json_int(g, 1);

		/* The decision is made every time (a refusal stays on the status); the VM is
		 * written only for a generation it has not seen, so a run-strategy change made by
		 * the migrator (cold migration) or by hand is not undone by a resync. */
		/* While the migrator moves the VM cold (its annotation on the VM), the VM is the
		 * migrator's: run strategy and placement are mid-change. */
		if (pv_build_update(wk, vm, &st->cl, &patch, &del, &v) == 0 && patch &&
		    pv_vm_built_generation(vm) < gen &&
		    !wk_json_meta(vm, "annotations", WK_ANN_COLD_MIGRATION)) {
			if (apply_update(st, ns, vmname, patch, del) < 0) {
				cJSON_Delete(patch);
				cJSON_Delete(del);
				goto out;
			}
			cJSON_Delete(vm);
			if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0) {
				cJSON_Delete(patch);
				cJSON_Delete(del);
				goto out;
			}
		}
		cJSON_Delete(patch);
		cJSON_Delete(del);
		/* Labels and annotations bump no generation: judged against the VM each time. */
		pv_build_meta_update(wk, vm, &patch);
		if (patch) {
			if (apply_update(st, ns, vmname, patch, NULL) < 0) {
				cJSON_Delete(patch);
				goto out;
			}
			cJSON_Delete(patch);
			cJSON_Delete(vm);
			if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0)
				goto out;
		}
	}
	if (vm && wk_json_path(wk, "spec.cloneSource") && !pv_vm_is_ours(vm) &&
	    wk_json_str(wk, "status.cloneStatus.phase") &&
	    !strcmp(wk_json_str(wk, "status.cloneStatus.phase"), "Succeeded")) {
		/* The clone is done: its VM takes the cpu and memory its own Wukong asks for (once
		 * per generation; a running VM then shows RestartRequired). */
		const cJSON *g = wk_json_path(wk, "metadata.generation");
		int64_t gen = wk_json_int(g, 1);

		if (pv_vm_built_generation(vm) < gen) {
			cJSON *patch = NULL;

			pv_build_clone_update(wk, vm, &patch);
			if (apply_update(st, ns, vmname, patch, NULL) < 0) {
				cJSON_Delete(patch);
				goto out;
			}
			cJSON_Delete(patch);
			cJSON_Delete(vm);
			if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0)
				goto out;
		}
	}
	/* An adopted VM (another operator's, no provisioner label) and a clone target are
	 * followed: their status is reported, their spec is not rewritten (a clone target's cpu
	 * and memory aside, above). */
	if (vm && (get_opt(st, &wk_res_virtualmachineinstances, ns, vmname, &vmi) < 0 ||
		   read_dvs(st, ns, vm, &dvs) < 0))
		goto out;
	pv_build_status(wk, vm, vmi, dvs, &st->cl, &v, &ps);
	send_status(st, wk, ns, name, &ps);
	pv_status_release(&ps);
	rc = 0;
out:
	cJSON_Delete(wk);
	cJSON_Delete(vm);
	cJSON_Delete(vmi);
	cJSON_Delete(dvs);
	cJSON_Delete(built);
	return rc;
}

/* The Wukong is gone: its VM goes with it (Kubernetes' garbage collector does the same through
 * the ownerReference; deleting it here does not depend on one being there). Only a VM of ours. */
static int forget(struct pv_state *st, const char *ns, const char *name, const char *uid)
{
	cJSON *vm = NULL;
	char vmname[300], mk[400], err[512];
	struct wk_k8s_result r;
	struct wk_k8s_delete_opts o = {.propagation_policy = "Background", .grace_period_s = -1};
	int rc = 0;

	snprintf(mk, sizeof(mk), "%s/%s", ns, name);
	wk_map_del(&st->last, mk);
	wk_map_del(&st->dirty, mk);
	snprintf(vmname, sizeof(vmname), "%s-vm", name);
	if (get_opt(st, &wk_res_virtualmachines, ns, vmname, &vm) < 0)
		return -1;
	if (vm && pv_vm_is_ours(vm)) {
		const char *owner = wk_json_str(
		    cJSON_GetArrayItem(wk_json_path(vm, "metadata.ownerReferences"), 0), "uid");

		if (!uid || !owner || !strcmp(owner, uid)) {
			if (wk_k8s_delete(st->k8s, &wk_res_virtualmachines, ns, vmname, &o, &r, err,
					  sizeof(err)) < 0 &&
			    r.err != WK_K8S_ENOTFOUND) {
				wk_warn("%s", err);
				rc = -1;
			} else {
				count(st, "delete");
			}
			wk_k8s_result_release(&r);
		}
	}
	cJSON_Delete(vm);
	return rc;
}

static void mark(struct pv_state *st, const char *ns, const char *name)
{
	char mk[400];

	snprintf(mk, sizeof(mk), "%s/%s", ns, name);
	if (wk_map_count(&st->dirty) < PV_WUKONGS_MAX)
		wk_map_put(&st->dirty, mk, (void *)1);
}

static void resync(struct pv_state *st)
{
	struct wk_k8s_result r;
	char err[512];
	const cJSON *it;

	refresh_cluster(st);
	if (wk_k8s_list_all(st->k8s, &wk_res_wukongs, NULL, NULL, &r, err, sizeof(err)) < 0) {
		wk_warn("relist of Wukongs failed: %s", err);
		st->next_resync = wk_time_mono_ms() + 2000;
		wk_k8s_result_release(&r);
		return;
	}
	cJSON_ArrayForEach(it, wk_json_path(r.body, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *n = wk_json_str(it, "metadata.name");

		if (ns && n)
			mark(st, ns, n);
	}
	wk_k8s_result_release(&r);
	st->next_resync = wk_time_mono_ms() + st->resync_ms;
	wk_metric_set(st->m_pending, NULL, (double)wk_map_count(&st->dirty));
}

/* ---- Kafka ---- */

enum wk_msg_result pv_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail, size_t detail_size)
{
	struct pv_state *st = wk_service_state(ctx);
	struct wk_cloudevent ce;
	char err[256];
	const char *t;
	cJSON *body;
	enum wk_msg_result out = WK_MSG_DONE;

	(void)reason, (void)reason_size, (void)detail, (void)detail_size;
	if (!st->enabled || wk_cloudevent_decode(m, &ce, err, sizeof(err)) < 0)
		return WK_MSG_DONE; /* the watcher's to dead-letter, not ours */
	if (strncmp(ce.type, WK_CE_PREFIX, sizeof(WK_CE_PREFIX) - 1))
		return WK_MSG_DONE;
	t = ce.type + sizeof(WK_CE_PREFIX) - 1;
	if (strncmp(t, "wukong.", 7) && strncmp(t, "virtualmachine.", 15) &&
	    strncmp(t, "virtualmachineinstance.", 23) && strncmp(t, "datavolume.", 11))
		return WK_MSG_DONE;
	body = cJSON_ParseWithLength(ce.data, ce.data_len);
	if (!cJSON_IsObject(body) ||
	    (wk_json_str(body, "cluster") && strcmp(wk_json_str(body, "cluster"), st->cluster))) {
		cJSON_Delete(body);
		return WK_MSG_DONE;
	}
	{
		const char *ns = wk_json_str(body, "namespace"), *name = wk_json_str(body, "name");
		const char *vm = wk_json_str(body, "vm");

		if (!ns || !name) {
			/* synced markers and the like */
		} else if (!strcmp(t, "wukong.deleted")) {
			if (forget(st, ns, name, wk_json_str(body, "uid")) < 0)
				out = WK_MSG_RETRY;
		} else if (!strncmp(t, "wukong.", 7)) {
			/* a Wukong change: its effect is done before the offset is stored */
			if (reconcile(st, ns, name) < 0)
				out = WK_MSG_RETRY;
			else {
				char mk[400];

				snprintf(mk, sizeof(mk), "%s/%s", ns, name);
				wk_map_del(&st->dirty, mk);
			}
		} else if (vm && strlen(vm) > 3 && !strcmp(vm + strlen(vm) - 3, "-vm")) {
			/* the VM, VMI or a DataVolume of <wukong>-vm: look again on the next tick
			 */
			char wkname[300];

			snprintf(wkname, sizeof(wkname), "%.*s", (int)(strlen(vm) - 3), vm);
			mark(st, ns, wkname);
		}
	}
	cJSON_Delete(body);
	return out;
}

/* ---- lifecycle ---- */

int pv_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const struct wk_config *cfg = wk_service_config(ctx);
	struct pv_state *st = wk_xcalloc(1, sizeof(*st));

	st->ctx = ctx;
	wk_service_set_state(ctx, st);
	wk_map_init(&st->last, free);
	wk_map_init(&st->dirty, NULL);
	wk_strlcpy(st->cluster, wk_service_cluster_id(ctx), sizeof(st->cluster));
	wk_kafka_topic(cfg, "status", st->t_status, sizeof(st->t_status));
	wk_kafka_topic(cfg, "events", st->t_events, sizeof(st->t_events));
	{
		char host[64] = "localhost";

		gethostname(host, sizeof(host) - 1);
		snprintf(st->instance, sizeof(st->instance), PV_SVC "-%.60s", host);
	}
	if (wk_config_get_bool(cfg, "provisioner.enabled", true, &st->enabled, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_bool(cfg, "provisioner.kubernetes-events", true, &st->k8s_events, errstr,
			       errstr_size) < 0 ||
	    wk_config_get_duration_ms(cfg, "provisioner.resync-interval", 60000, &st->resync_ms,
				      errstr, errstr_size) < 0)
		return -1;
	if (st->resync_ms < 100)
		st->resync_ms = 100;
	st->m_actions =
	    wk_metric_counter("wukong_provisioner_actions_total",
			      "Changes made on the cluster, by action (create, update, delete, "
			      "delete-datavolume, refuse)",
			      "action");
	st->m_pending =
	    wk_metric_gauge("wukong_provisioner_pending_wukongs",
			    "Wukongs waiting for their next reconcile (0: caught up)", NULL);
	st->prod = wk_service_producer(ctx);
	st->k8s = wk_k8s_new_from_config(cfg, NULL, errstr, errstr_size);
	if (!st->k8s)
		return -1;
	if (!st->enabled) {
		wk_info("provisioner.enabled is false: Wukongs are left to another controller");
	} else {
		/* Relist on start: what a crash interrupted continues from what the cluster shows.
		 */
		resync(st);
	}
	wk_service_set_ready(ctx, true);
	wk_info("provisioner for cluster '%s' ready (%zu Wukongs to look at)", st->cluster,
		wk_map_count(&st->dirty));
	return 0;
}

void pv_on_tick(struct wk_service_ctx *ctx)
{
	struct pv_state *st = wk_service_state(ctx);
	struct wk_map_iter it;
	int n = 0;

	if (!st || !st->enabled)
		return;
	if (wk_time_mono_ms() >= st->next_resync)
		resync(st);
	wk_map_iter_init(&it, &st->dirty);
	while (n < PV_PASS_MAX && wk_map_iter_next(&it)) {
		char mk[400], *slash;

		wk_strlcpy(mk, it.key, sizeof(mk));
		slash = strchr(mk, '/');
		if (!slash) {
			wk_map_del(&st->dirty, it.key);
			continue;
		}
		*slash = '\0';
		if (reconcile(st, mk, slash + 1) == 0)
			wk_map_del(&st->dirty, it.key);
		else
			break; /* the API is unhappy: the next tick tries again */
		n++;
	}
	wk_metric_set(st->m_pending, NULL, (double)wk_map_count(&st->dirty));
}

void pv_term(struct wk_service_ctx *ctx)
{
	struct pv_state *st = wk_service_state(ctx);

	if (!st)
		return;
	if (st->prod && wk_producer_flush(st->prod, 10000) < 0)
		wk_warn("%d status update(s) not delivered at shutdown",
			wk_producer_outq_len(st->prod));
	wk_map_release(&st->last);
	wk_map_release(&st->dirty);
	cJSON_Delete(st->classes_body);
	wk_k8s_destroy(st->k8s);
	free(st);
	wk_service_set_state(ctx, NULL);
}
