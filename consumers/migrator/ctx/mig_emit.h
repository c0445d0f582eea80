/* mig_emit.h - the migrator's outputs (ctx/mig_emit.c): status updates, audit events, Kubernetes
 * Events, and the producer's delivery callback that drops an ack's reference once an output is on
 * the broker. Sends copy what they are given; nothing returned is owned by the caller. */
#ifndef MIG_EMIT_H
#define MIG_EMIT_H

#include "ctx/mig_ctx.h"
#include "decide/mig_evac_report.h"

/* The producer's delivery callback (opaque: the struct mig_state). */
void mig_emit_on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			  int64_t offset, void *opaque);
/* Send a status update / audit event; refs ack until the broker has it. */
void mig_send_status(struct mig_state *st, struct mig_active *a, const struct mig_status *s,
		     struct mig_ack *ack);
void mig_send_audit(struct mig_state *st, const struct mig_audit *au, const char *disc,
		    struct mig_ack *ack);
/* mig_send_audit of the audit record about request r in this cluster (reason may be NULL). */
void mig_send_req_audit(struct mig_state *st, const struct mig_request *r, const char *action,
			const char *outcome, const char *reason, const char *message,
			const char *disc, struct mig_ack *ack);
/* A Kubernetes Event on r's Wukong (uid NULL/"": read from the cluster; a Wukong that is gone
 * gets none). Failures are logged, never fatal; 409 (a replay) counts as posted. */
void mig_post_event(struct mig_state *st, const struct mig_request *r, const char *uid,
		    const char *type, const char *reason, const char *message, const char *action);
/* Status + audit + Kubernetes Event for one step of an active request. */
void mig_report(struct mig_state *st, struct mig_active *a, const char *action, const char *outcome,
		const char *reason, const char *message, struct mig_ack *ack);

/* ---- evacuation progress reports (decide/mig_evac_report.h builds them) ---- */

/* Read each VM's state from the service (the first `submitted` VMs have been submitted) and
 * send a report when due. Best effort: a report that is not delivered is logged and dropped. */
void mig_evrep_tick(struct mig_state *st, struct mig_evrep *r, size_t submitted);
/* The final report. The node's listing is the truth, as for the completion audit: VMs marked
 * remaining are Failed, the others Succeeded; phase Completed when none remains, else Failed.
 * Sent holding ack: the evacuation's message is not acknowledged before the broker has it. */
void mig_evrep_final(struct mig_state *st, struct mig_evrep *r, struct mig_ack *ack);

/* The delivery opaque of best-effort reports: the migrator's delivery callback drops their
 * failures instead of stopping for a replay. */
extern char mig_evrep_best_effort;

#endif
