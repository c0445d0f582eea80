/* sim_xfer.h - the simulator's live-migration memory transfer model (QEMU pre-copy, auto-converge,
 * post-copy, KubeVirt's completion and progress timeouts): pure arithmetic on a caller-owned
 * struct.
 *
 * Pre-copy: iteration 1 sends all guest memory; every later iteration sends what the guest dirtied
 * during the previous one (dirty rate x iteration time, at most the guest memory). When what is
 * left can be sent within the maximum downtime, the guest is paused and the rest goes over
 * (stop-and-copy): the migration has converged. Auto-converge throttles the guest's vCPUs and so
 * its dirty rate: 20% at first, then +10% per iteration that still does not converge (QEMU's
 * cpu-throttle-initial / cpu-throttle-increment), at most 99%. Post-copy moves the guest to the
 * target and pulls the remaining pages at link speed; the guest no longer dirties source memory.
 *
 * KubeVirt's monitor (virt-handler, live-migration-source.go): the completion budget is
 * completionTimeoutPerGiB x the data size in GiB; once exceeded, the migration switches to
 * post-copy when allowed, pauses the guest when workload disruption is allowed, or is aborted.
 * Independently, when the remaining data has not reached a new low for progressTimeout seconds
 * (and the migration is not in post-copy), it is aborted.
 */
#ifndef SIM_XFER_H
#define SIM_XFER_H

#include "wk_common.h"

enum sim_xfer_mode { SIM_XFER_PRECOPY, SIM_XFER_POSTCOPY, SIM_XFER_PAUSED };
enum sim_xfer_state { SIM_XFER_RUNNING, SIM_XFER_COMPLETED, SIM_XFER_FAILED };

struct sim_xfer_params {
	int64_t memory;		    /* guest memory, bytes (> 0) */
	int64_t extra;		    /* block-migrated disk bytes counted in the budget and data */
	double dirty_rate;	    /* bytes/s the guest dirties, before throttling */
	double max_downtime_s;	    /* stop-and-copy budget (KubeVirt default maxDowntimeMs 900) */
	int64_t completion_per_gib; /* completionTimeoutPerGiB, s (0 = no completion timeout) */
	int64_t progress_timeout;   /* progressTimeout, s (0 = none) */
	bool allow_auto_converge;
	bool allow_post_copy;
	bool allow_workload_disruption;	 /* pause the guest on timeout when post-copy is not allowed
					  */
	bool postcopy_after_first_round; /* switch right after iteration 1 instead of at the timeout
					  */
};

struct sim_xfer {
	struct sim_xfer_params p;
	enum sim_xfer_mode mode;
	enum sim_xfer_state state;
	int iteration;	       /* 1-based pre-copy pass */
	double throttle;       /* 0 .. 0.99 auto-converge vCPU throttle */
	int high_passes;       /* passes in a row that dirtied more than half of what they sent */
	double round_left;     /* bytes still to send in this pass */
	double dirtied;	       /* bytes dirtied since this pass began (resent next pass) */
	double processed;      /* bytes sent so far */
	double elapsed;	       /* seconds since the transfer started */
	double rate;	       /* bytes/s used in the last step */
	double watermark;      /* lowest remaining seen (progress detection) */
	double watermark_time; /* elapsed when the watermark last went down */
	double downtime;       /* seconds the guest was paused for the switch-over */
	char failure[160];     /* why it failed, KubeVirt's wording */
};

void sim_xfer_init(struct sim_xfer *x, const struct sim_xfer_params *p);
/* Advance by dt seconds at bandwidth bytes/s (0 = stalled link). Returns the new state. */
enum sim_xfer_state sim_xfer_step(struct sim_xfer *x, double dt, double bandwidth);
/* Abort on request (deleted VMIM): returns false when it cannot be aborted (post-copy). */
bool sim_xfer_abort(struct sim_xfer *x);
/* The completion budget in seconds (0 = none). */
double sim_xfer_budget(const struct sim_xfer *x);
double sim_xfer_remaining(const struct sim_xfer *x);
/* The guest's current dirty rate (after throttling; 0 in post-copy or paused). */
double sim_xfer_dirty_rate(const struct sim_xfer *x);
const char *sim_xfer_mode_name(enum sim_xfer_mode mode);
/* Bandwidth for one migration: each NIC (bytes/s) is shared equally by the migrations using it
 * (count >= 1, this one included); the slower side wins, then bandwidthPerMigration caps it
 * (cap <= 0 = unlimited). */
double sim_xfer_bandwidth(double src_link, int src_count, double dst_link, int dst_count,
			  double cap);

#endif
