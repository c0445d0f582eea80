/* mig_plan.h - the fast-evacuation planner: given the VMs that must leave their nodes and the
 * nodes that may take them, decide which VM goes first, to which node, and how many transfers
 * run at once from one node, so that the last VM is off as early as possible under KubeVirt's
 * limits and the links' bandwidth; predicts each VM's start and end. Pure (no I/O). The plan is
 * owned by the caller (mig_plan_release); it keeps no pointer to its inputs except indexes.
 * Algorithm and model: docs/migrator.md "Evacuation planner".
 */
#ifndef MIG_PLAN_H
#define MIG_PLAN_H

#include "wk_common.h"

struct cJSON;

#define MIG_PLAN_MAX_VMS 4096
#define MIG_PLAN_MAX_NODES 4096

/* A VM to move. eligible[j] says whether targets[j] may take it (targetNodeSelector, the VM's
 * own nodeSelector, readiness, schedulability: the caller's checks); NULL = every target. */
struct mig_plan_vm {
	const char *ns;
	const char *name;
	const char *source; /* the node it runs on */
	int64_t memory;	    /* what it takes on a target (the launcher pod's memory), bytes (> 0) */
	int64_t cpu_milli;
	double dirty_rate; /* bytes/s */
	double src_link;   /* the source node's NIC, bytes/s */
	const bool *eligible;
	/* Bytes of disk copied with the memory (a live storage migration of node-local disks:
	 * sent in the first pass, counted in the completion budget); 0 = none. */
	int64_t disk_bytes;
	/* Bytes of RAM a migration sends (the guest's memory, without the launcher pod's
	 * overhead); 0 = memory. */
	int64_t guest_memory;
	/* The VM's own transfer settings (the KubeVirt CR with the MigrationPolicy that selects
	 * it on top: bw_cap, completion_per_gib, progress_timeout, allow_auto_converge,
	 * allow_post_copy are read from it); NULL = the plan's. */
	const struct mig_plan_params *cfg;
};

/* A node that may receive VMs: what is free on it now, and its NIC. */
struct mig_plan_node {
	const char *name;
	int64_t free_mem;
	int64_t free_cpu_milli;
	double link; /* bytes/s */
};

struct mig_plan_params {
	int per_cluster;	    /* parallelMigrationsPerCluster (KubeVirt default 5) */
	int per_node;		    /* parallelOutboundMigrationsPerNode (default 2) */
	double bw_cap;		    /* bandwidthPerMigration, bytes/s (0 = unlimited) */
	double max_downtime_s;	    /* stop-and-copy budget (KubeVirt default 0.9) */
	double setup_s;		    /* VMIM created -> transfer starts (target pod, preparation) */
	int64_t completion_per_gib; /* completionTimeoutPerGiB (0 = none) */
	int64_t progress_timeout;   /* progressTimeout, s (0 = none) */
	bool allow_auto_converge;
	bool allow_post_copy;
	int max_evals; /* candidate orders simulated at most (search budget) */
	double step_s; /* the prediction's time step */
};
/* KubeVirt's defaults: 5, 2, unlimited, 0.9 s, 4 s set-up, 150 s/GiB, 150 s progress timeout,
 * no auto-converge, no post-copy; 600 evaluations, 50 ms steps. */
void mig_plan_params_default(struct mig_plan_params *p);

struct mig_plan_step {
	size_t vm;	/* index into the VM array */
	long target;	/* index into the node array; -1 = nowhere to go (reason says why) */
	double start;	/* s after the plan starts: the VMIM is created */
	double end;	/* s: the VM is on its target (predicted) */
	double bytes;	/* predicted bytes sent (memory + re-sent dirty pages) */
	bool converges; /* false: predicted to fail (timeout) under this plan */
	char reason[48];
};

/* Steps in start order (unplaceable ones last). */
struct mig_plan {
	size_t n;
	struct mig_plan_step *steps;
	int concurrency;      /* transfers at once per source node the plan allows */
	bool pipelined;	      /* the next VM's set-up starts while a transfer ends (below) */
	double predicted_s;   /* predicted time until the last VM is off */
	double lower_bound_s; /* total guest memory / source link (per source, the largest) */
	double fifo_s;	      /* predicted time of first-come-first-served in the given order */
	int evals;	      /* candidate orders simulated */
};

void mig_plan_init(struct mig_plan *p);
void mig_plan_release(struct mig_plan *p);

/* Build the plan. The VMs' given order is the FIFO baseline. -1 on bad input (counts over the
 * caps, memory <= 0, NaN or negative rates, links <= 0). */
int mig_plan_build(const struct mig_plan_vm *vms, size_t nvms, const struct mig_plan_node *nodes,
		   size_t nnodes, const struct mig_plan_params *prm, struct mig_plan *out,
		   char *errstr, size_t errstr_size);

/* Predict one given order with a given concurrency and target choice (the planner's own model;
 * used by the planner's search, by the benchmark for the FIFO baseline, and by the tests).
 * fixed_targets (may be NULL): per VM index, the node index to use (-1 = choose). Fills out
 * like mig_plan_build (fifo_s and evals left 0). */
int mig_plan_simulate(const struct mig_plan_vm *vms, size_t nvms, const struct mig_plan_node *nodes,
		      size_t nnodes, const struct mig_plan_params *prm, const size_t *order,
		      int concurrency, bool pipelined, const long *fixed_targets,
		      struct mig_plan *out, char *errstr, size_t errstr_size);

/* Admission rule the plan assumes, per source node: at most parallelOutboundMigrationsPerNode
 * migrations exist, and fewer than `concurrency` of them "block". Not pipelined: every
 * migration blocks. Pipelined: a migration blocks while it is predicted to need more than
 * setup_s to finish (setting up: the rest of its set-up plus its memory at a lone rate;
 * transferring: what remains at its current rate). */

/* The plan as JSON: {"predictedSeconds","lowerBoundSeconds","fifoSeconds","concurrency",
 * "steps":[{"order","namespace","name","source","target","startSeconds","endSeconds",
 * "memoryBytes","converges","reason"}], "pipelined"}. New object, caller deletes. */
struct cJSON *mig_plan_to_json(const struct mig_plan *p, const struct mig_plan_vm *vms,
			       const struct mig_plan_node *nodes);

#endif
