/* mig_checks.c - the checks after a move, reported (mig_checks.h). */
#include "ctx/mig_checks.h"
#include "ctx/mig_emit.h"
#include "decide/mig_verify.h"

#include "wk_log.h"

#include <cjson/cJSON.h>

void mig_send_verified(struct mig_state *st, const struct mig_request *r, const cJSON *before,
		       const cJSON *vmi, const char *target)
{
	struct mig_check chk;
	struct mig_status u;
	char ok[400];
	bool good;

	if (!vmi) {
		wk_logk(WK_LOG_WARN, r->name,
			"request '%s': VMI not read, the move is not verified", r->id);
		return;
	}
	good = mig_verify_after(before, vmi, target, &chk, ok, sizeof(ok)) == 0;
	memset(&u, 0, sizeof(u));
	u.req = r;
	u.phase = MIG_PH_SUCCEEDED;
	u.seq = mig_next_seq(st);
	u.condition_only = true;
	u.condition_type = "MigrationVerified";
	u.condition_status = good ? "True" : "False";
	u.reason = good ? "Verified" : chk.reason;
	u.message = good ? ok : chk.message;
	mig_send_status(st, NULL, &u, NULL);
	mig_send_req_audit(st, r, "migration.verified", good ? "success" : "failure", u.reason,
			   u.message, "verified", NULL);
	if (!good)
		mig_post_event(st, r, r->uid, "Warning", chk.reason, chk.message,
			       "migration.verified");
	wk_logk(good ? WK_LOG_INFO : WK_LOG_WARN, r->name, "request '%s': %s", r->id, u.message);
}
