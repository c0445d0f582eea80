/* mig_verify.h - the checks after a move (seed 001's post-checks, seed 002's promise): what the
 * VMI looked like before (its interfaces' IP addresses, the guest agent, its volumes) and whether
 * after the move it runs on the target with every volume attached, the same IP addresses on each
 * interface and the guest agent connected when it was before. Pure; the caller frees the
 * returned objects. Caps: at most 16 interfaces and 16 addresses each are kept. */
#ifndef MIG_VERIFY_H
#define MIG_VERIFY_H

#include "decide/mig_preflight.h"

struct cJSON;

/* {"node": "...", "agent": bool, "ips": {"<interface name>": ["10.0.0.5", ...]}} from a VMI's
 * status (status.nodeName, the AgentConnected condition, status.interfaces[].name/ipAddresses
 * or ipAddress). Never NULL. */
struct cJSON *mig_verify_before(const struct cJSON *vmi);

/* Check the VMI after a move to target against before (may be NULL: only placement and
 * volumes are checked). 0 when every check holds, with a sentence naming what was checked in
 * ok_msg; -1 with the first failure in out: VMINotRunningOnTarget, VolumeNotAttached (a volume
 * of spec.volumes without a status.volumeStatus entry), InterfaceIPChanged (an interface that
 * had addresses before has none of them now), GuestAgentDisconnected. */
int mig_verify_after(const struct cJSON *before, const struct cJSON *vmi, const char *target,
		     struct mig_check *out, char *ok_msg, size_t ok_size);

#endif
