/* mig_live.h - the live-migration flow (flows/mig_live.c): a request through pre-flight, the queue
 * under KubeVirt's limits, the per-VM MigrationPolicy and the VMIM, tracked to a final phase;
 * cancel, resync and the rebuild after a restart. Returns message results; owns nothing it is
 * handed. */
#ifndef MIG_LIVE_H
#define MIG_LIVE_H

#include "ctx/mig_ctx.h"

struct cJSON;

/* A new validated request. Returns the message result (DONE/RETRY); ack is the message's. */
enum wk_msg_result mig_handle_request(struct mig_state *st, struct mig_request *r,
				      const struct cJSON *wukong, struct mig_ack *ack);
enum wk_msg_result mig_handle_cancel(struct mig_state *st, const struct mig_cancel *c,
				     struct mig_ack *ack);
/* A VMIM (event body or fetched object) of ours changed. */
enum wk_msg_result mig_vmim_changed(struct mig_state *st, const char *ns, const char *name,
				    struct mig_ack *ack);
void mig_vmi_changed(struct mig_state *st, const struct cJSON *vmi_status, const char *ns,
		     const char *vm, struct mig_ack *ack);
void mig_wukong_deleted(struct mig_state *st, const char *ns, const char *name,
			struct mig_ack *ack);
/* spec.migration's presence on a Wukong event (view: mig_spec_view of it): removed -> a wait ends
 * and condition MigrationRequested=False (SpecMigrationRemoved) makes the same spec new again;
 * set again after that -> MigrationRequested=True. */
struct mig_spec_view;
void mig_spec_presence(struct mig_state *st, const struct cJSON *wukong,
		       const struct mig_spec_view *view, struct mig_ack *ack);
/* Look again at the spec requests waiting for their VM (each poll). */
void mig_spec_wait_retry(struct mig_state *st);
/* The tick's work: limits, queue admission, timeouts, polling, resync. */
void mig_pump(struct mig_state *st);
void mig_poll(struct mig_state *st);
void mig_resync(struct mig_state *st);
int mig_refresh_limits(struct mig_state *st);
/* Startup: adopt our in-flight VMIMs and finish what a crash interrupted. */
int mig_rebuild(struct mig_state *st, char *errstr, size_t errstr_size);

#endif
