/* mig_verify.c - the checks after a move (mig_verify.h; tests/unit/test_mig_verify.c). */
#include "decide/mig_verify.h"

#include "wk_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define MAX_IFACES 16
#define MAX_IPS 16

static bool agent_connected(const cJSON *vmi)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, wk_json_path(vmi, "status.conditions"))
	{
		const char *t = wk_json_str(c, "type"), *s = wk_json_str(c, "status");

		if (t && s && !strcmp(t, "AgentConnected"))
			return !strcmp(s, "True");
	}
	return false;
}

/* An interface's addresses: ipAddresses, else ipAddress. */
static cJSON *iface_ips(const cJSON *iface)
{
	cJSON *a = cJSON_CreateArray();
	const cJSON *ip;

	cJSON_ArrayForEach(ip, wk_json_path(iface, "ipAddresses"))
	{
		if (cJSON_IsString(ip) && *ip->valuestring && cJSON_GetArraySize(a) < MAX_IPS)
			cJSON_AddItemToArray(a, cJSON_CreateString(ip->valuestring));
	}
	if (!cJSON_GetArraySize(a) && wk_json_str(iface, "ipAddress") &&
	    *wk_json_str(iface, "ipAddress"))
		cJSON_AddItemToArray(a, cJSON_CreateString(wk_json_str(iface, "ipAddress")));
	return a;
}

cJSON *mig_verify_before(const cJSON *vmi)
{
	cJSON *o = cJSON_CreateObject(), *ips = cJSON_CreateObject();
	const cJSON *i;
	int n = 0;

	cJSON_AddStringToObject(
	    o, "node",
	    wk_json_str(vmi, "status.nodeName") ? wk_json_str(vmi, "status.nodeName") : "");
	cJSON_AddBoolToObject(o, "agent", agent_connected(vmi));
	cJSON_ArrayForEach(i, wk_json_path(vmi, "status.interfaces"))
	{
		const char *name = wk_json_str(i, "name");
		cJSON *a;

		if (!name || !*name || n >= MAX_IFACES ||
		    cJSON_GetObjectItemCaseSensitive(ips, name))
			continue;
		a = iface_ips(i);
		if (cJSON_GetArraySize(a)) {
			cJSON_AddItemToObject(ips, name, a);
			n++;
		} else {
			cJSON_Delete(a);
		}
	}
	cJSON_AddItemToObject(o, "ips", ips);
	return o;
}

static bool has_ip(const cJSON *ips, const char *ip)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, ips)
	{
		if (cJSON_IsString(x) && !strcmp(x->valuestring, ip))
			return true;
	}
	return false;
}

int mig_verify_after(const cJSON *before, const cJSON *vmi, const char *target,
		     struct mig_check *out, char *ok_msg, size_t ok_size)
{
	const char *node = wk_json_str(vmi, "status.nodeName"),
		   *phase = wk_json_str(vmi, "status.phase");
	const cJSON *v, *b;
	int nvol = 0, nip = 0;

	if (ok_size)
		ok_msg[0] = 0;
	memset(out, 0, sizeof(*out));
	if (!vmi || !node || !phase || strcmp(phase, "Running") ||
	    (target && *target && strcmp(node, target)))
		return mig_check_fail(
		    out, "VMINotRunningOnTarget", "the VMI is %s on node '%s', not Running on '%s'",
		    phase ? phase : "absent", node ? node : "none", target ? target : "");
	cJSON_ArrayForEach(v, wk_json_path(vmi, "spec.volumes"))
	{
		const char *name = wk_json_str(v, "name");
		const cJSON *s;
		bool found = false;

		if (!name)
			continue;
		cJSON_ArrayForEach(s, wk_json_path(vmi, "status.volumeStatus"))
		{
			const char *sn = wk_json_str(s, "name"), *sp = wk_json_str(s, "phase");

			/* hotplugged volumes carry a phase; attached is Ready */
			if (sn && !strcmp(sn, name) && (!sp || !strcmp(sp, "Ready")))
				found = true;
		}
		if (!found)
			return mig_check_fail(out, "VolumeNotAttached",
					      "volume '%.200s' is not attached on node '%s' (no "
					      "status.volumeStatus entry ready)",
					      name, node);
		nvol++;
	}
	cJSON_ArrayForEach(b, wk_json_path(before, "ips"))
	{
		const cJSON *i, *now = NULL, *ip;

		cJSON_ArrayForEach(i, wk_json_path(vmi, "status.interfaces"))
		{
			const char *n = wk_json_str(i, "name");

			if (n && b->string && !strcmp(n, b->string))
				now = i;
		}
		cJSON *a = iface_ips(now);
		cJSON_ArrayForEach(ip, b)
		{
			if (cJSON_IsString(ip) && !has_ip(a, ip->valuestring)) {
				char was[64], is[64];

				snprintf(was, sizeof(was), "%s", ip->valuestring);
				snprintf(is, sizeof(is), "%s",
					 cJSON_GetArraySize(a)
					     ? cJSON_GetArrayItem(a, 0)->valuestring
					     : "none");
				cJSON_Delete(a);
				return mig_check_fail(
				    out, "InterfaceIPChanged",
				    "interface '%.60s' had %s before the move and "
				    "has %s now",
				    b->string ? b->string : "", was, is);
			}
			nip++;
		}
		cJSON_Delete(a);
	}
	if (cJSON_IsTrue(wk_json_path(before, "agent")) && !agent_connected(vmi))
		return mig_check_fail(
		    out, "GuestAgentDisconnected",
		    "the guest agent was connected before the move and is not now");
	if (ok_size)
		snprintf(ok_msg, ok_size,
			 "verified: the VMI runs on node '%s', %d volume(s) attached, %d IP "
			 "address(es) unchanged%s",
			 node, nvol, nip,
			 cJSON_IsTrue(wk_json_path(before, "agent")) ? ", guest agent connected"
								     : "");
	return 0;
}
