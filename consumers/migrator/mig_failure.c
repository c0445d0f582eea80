/* mig_failure.c - spec.migrationPolicy's nodeFailure trigger (mig_failure.h): a node that is not
 * Ready is never a migration source; for each policy-enabled VM on it the migrator says, once per
 * (node, VM, VMI, reason), whether and why it is or is not recovered (docs/evacuation.md).
 */
#include "mig_failure.h"
#include "mig_evac_int.h"

#include "wk_json.h"
#include "wk_log.h"

#include <cjson/cJSON.h>

#define LABEL_NODE "kubevirt.io/nodeName"

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static struct mig_map g_failure_sent; /* "node/ns/name/vmi uid/reason" already reported */
static bool g_failure_init;

static bool node_fenced(struct mig_state *st, const cJSON *node, char *why, size_t n)
{
	const char *extra = mig_cfg(st, "migrator.fencing-taints", NULL);
	const cJSON *t;

	cJSON_ArrayForEach(t, wk_json_path(node, "spec.taints"))
	{
		const char *k = wk_json_str(t, "key");

		if (!k)
			continue;
		if (!strcmp(k, "node.kubernetes.io/out-of-service") ||
		    (extra && *extra && strstr(extra, k) && strlen(k) > 0)) {
			snprintf(why, n, "%s", k);
			return true;
		}
	}
	return false;
}

void mig_failure_forget(void)
{
	if (g_failure_init)
		mig_map_release(&g_failure_sent);
	g_failure_init = false;
}

/* The VMI's disks cannot move (KubeVirt's verdict: LiveMigratable=False because of disks). */
static bool vmi_local_storage(const cJSON *vmi, char *msg, size_t n)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(vmi, "status.conditions"))
	{
		const char *ty = wk_json_str(c, "type"), *stt = wk_json_str(c, "status"),
			   *r = wk_json_str(c, "reason");

		if (ty && !strcmp(ty, "LiveMigratable") && stt && !strcmp(stt, "False") && r &&
		    !strcmp(r, "DisksNotLiveMigratable")) {
			snprintf(msg, n, "%s",
				 wk_json_str(c, "message") ? wk_json_str(c, "message") : r);
			return true;
		}
	}
	return false;
}

static void failure_report(struct mig_state *st, const cJSON *wukong, const char *node,
			   const char *vmi_uid, const char *reason, const char *message,
			   struct mig_ack *ack)
{
	struct mig_request r;
	struct mig_status s;
	struct mig_audit au;
	char key[800], action[64];
	const char *ns = wk_json_str(wukong, "metadata.namespace"),
		   *name = wk_json_str(wukong, "metadata.name");

	if (!ns || !name)
		return;
	snprintf(key, sizeof(key), "%s/%s/%s/%s/%s", node, ns, name, vmi_uid ? vmi_uid : "",
		 reason);
	if (!g_failure_init) {
		mig_map_init(&g_failure_sent);
		g_failure_init = true;
	}
	if (mig_map_get(&g_failure_sent, key))
		return;
	if (g_failure_sent.n > 10000) { /* bounded: a resend is harmless (same audit id) */
		mig_map_release(&g_failure_sent);
		mig_map_init(&g_failure_sent);
	}
	mig_map_set(&g_failure_sent, key, "1");
	memset(&r, 0, sizeof(r));
	{
		char hex[17];

		mig_sha256_hex(key, strlen(key), 16, hex);
		snprintf(r.id, sizeof(r.id), "nf-%s", hex);
	}
	r.source = MIG_SRC_KAFKA;
	wk_strlcpy(r.cluster, st->cluster, sizeof(r.cluster));
	wk_strlcpy(r.ns, ns, sizeof(r.ns));
	wk_strlcpy(r.name, name, sizeof(r.name));
	mig_vm_name(wukong, r.vm, sizeof(r.vm));
	memset(&s, 0, sizeof(s));
	s.req = &r;
	s.phase = MIG_PH_REJECTED;
	s.seq = mig_next_seq(st);
	s.reason = reason;
	s.message = message;
	s.condition_only = true;
	s.condition_type = "AutomaticRecovery";
	mig_send_status(st, NULL, &s, ack);
	memset(&au, 0, sizeof(au));
	au.req = &r;
	au.cluster = st->cluster;
	snprintf(action, sizeof(action), "recovery.%s",
		 !strcmp(reason, "NodeNotFenced")  ? "not-fenced"
		 : !strcmp(reason, "LocalStorage") ? "local-storage"
						   : "restart");
	au.action = action;
	au.outcome = strcmp(reason, "RecoveringOnHealthyNode") ? "rejected" : "info";
	au.reason = reason;
	au.message = message;
	mig_send_audit(st, &au, node, ack);
	wk_logk(WK_LOG_WARN, key, "%s: %s", reason, message);
}

/* The node is not Ready. Without fencing nothing is recovered (a second copy could write to a
 * shared disk the first may still be writing); with it, KubeVirt restarts the shared-storage VMs
 * elsewhere (their VMIs are failed), and local-storage VMs cannot be recovered. */
enum wk_msg_result mig_failure_node_event(struct mig_state *st, const cJSON *body, const char *node,
					  struct mig_ack *ack)
{
	struct wk_k8s_result res;
	struct wk_k8s_list_opts lo;
	char sel[400], err[512], why[256], msg[1400];
	cJSON *vmis, *wukongs;
	const cJSON *it, *w;
	bool fenced = node_fenced(st, body, why, sizeof(why));

	memset(&lo, 0, sizeof(lo));
	snprintf(sel, sizeof(sel), LABEL_NODE "=%s", node);
	lo.label_selector = sel;
	if (wk_k8s_list_all(st->k8s, &mig_res_vmis, NULL, &lo, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		wk_logk(WK_LOG_WARN, node, "node failure: %s; retrying", err);
		return WK_MSG_RETRY;
	}
	vmis = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	if (cJSON_GetArraySize(jget(vmis, "items")) == 0) {
		cJSON_Delete(vmis);
		return WK_MSG_DONE;
	}
	if (wk_k8s_list_all(st->k8s, &mig_res_wukongs, NULL, NULL, &res, err, sizeof(err)) < 0) {
		wk_k8s_result_release(&res);
		cJSON_Delete(vmis);
		return WK_MSG_RETRY;
	}
	wukongs = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	cJSON_ArrayForEach(it, jget(vmis, "items"))
	{
		const char *ns = wk_json_str(it, "metadata.namespace"),
			   *vm = wk_json_str(it, "metadata.name");
		struct mig_policy pol;
		char perr[128], disk[600];

		if (!ns || !vm)
			continue;
		cJSON_ArrayForEach(w, jget(wukongs, "items"))
		{
			char wvm[MIG_NAME_MAX];
			const char *wns = wk_json_str(w, "metadata.namespace");

			if (!wns || strcmp(wns, ns))
				continue;
			mig_vm_name(w, wvm, sizeof(wvm));
			if (!strcmp(wvm, vm))
				break;
		}
		if (!w || mig_policy_read(w, &pol, perr, sizeof(perr)) < 0) {
			if (w)
				mig_policy_release(&pol);
			continue;
		}
		bool wants = pol.enabled && (pol.triggers & MIG_TRIG_FAILURE);
		mig_policy_release(&pol);
		if (!wants)
			continue;
		if (!fenced)
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is not ready but not confirmed down (no "
			    "node.kubernetes.io/out-of-service taint or fencing signal): not "
			    "recovering, a second copy could write to the VM's disks while the "
			    "first may still be running",
			    node);
		else if (vmi_local_storage(it, disk, sizeof(disk)))
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is confirmed down (%s) but the VM's disks are on storage "
			    "that cannot leave the node (%.400s): it cannot be recovered "
			    "automatically; repair the node or restore from a snapshot",
			    node, why, disk);
		else
			snprintf(
			    msg, sizeof(msg),
			    "node '%s' is confirmed down (%s): the VM's disks are shared, KubeVirt "
			    "restarts it on a healthy node",
			    node, why);
		failure_report(st, w, node, wk_json_str(it, "metadata.uid"),
			       !fenced ? "NodeNotFenced"
			       : vmi_local_storage(it, disk, sizeof(disk))
				   ? "LocalStorage"
				   : "RecoveringOnHealthyNode",
			       msg, ack);
	}
	cJSON_Delete(vmis);
	cJSON_Delete(wukongs);
	return WK_MSG_DONE;
}
