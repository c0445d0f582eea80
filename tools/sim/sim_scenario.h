/* sim_scenario.h - the simulator's scenario file (YAML): nodes, storage classes, VMs, the KubeVirt
 * migration configuration and the model's own knobs. A parsed scenario is heap-owned by the caller
 * (sim_scenario_destroy); its cJSON members (labels, selectors, ...) belong to it.
 *
 * Caps: the file is at most SIM_SCENARIO_MAX_BYTES; at most SIM_SCENARIO_MAX_NODES nodes and
 * SIM_SCENARIO_MAX_VMS VMs after `count` expansion; 16 disks and 8 networks per VM; 64 taints per
 * node; 64 labels per map. Errors read "file:line: message".
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_SCENARIO_MAX_BYTES (16u << 20)
#define SIM_SCENARIO_MAX_NODES 5000
#define SIM_SCENARIO_MAX_VMS 100000
#define SIM_SCENARIO_MAX_DISKS 16
#define SIM_SCENARIO_MAX_NETS 8
#define SIM_SCENARIO_MAX_TAINTS 64
#define SIM_SCENARIO_MAX_LABELS 64

struct sim_sc_taint {
	char *key;
	char *value;  /* may be NULL */
	char *effect; /* NoSchedule | PreferNoSchedule | NoExecute */
};

struct sim_sc_node {
	char *name;
	cJSON *labels; /* object of strings; kubernetes.io/hostname added by the model */
	int64_t cpu_milli;
	int64_t memory;
	int64_t link_bandwidth; /* bytes/s of the NIC migrations use */
	struct sim_sc_taint *taints;
	size_t ntaints;
	bool unschedulable;
	int64_t other_cpu_milli, other_memory; /* -1 = the scenario's */
};

struct sim_sc_class {
	char *name;
	bool rwx;      /* ReadWriteMany; otherwise ReadWriteOnce */
	bool snapshot; /* a VolumeSnapshotClass exists for it */
	char *provisioner;
	int64_t copy_rate; /* bytes/s for snapshot, restore and clone copies */
	bool wffc;	   /* volumeBindingMode WaitForFirstConsumer (default for local classes) */
	bool local;	   /* local volumes: each PV is pinned to one node (nodeAffinity) */
	bool binding_set;
};

struct sim_sc_disk {
	char *name;
	int64_t size;
	char *storage_class; /* NULL = the scenario's default class */
	char *access_mode;   /* NULL, "ReadWriteMany" or "ReadWriteOnce" (override) */
};

struct sim_sc_net {
	char *name;
	char *type;	    /* pod | multus */
	char *binding;	    /* masquerade | bridge */
	char *network_name; /* multus only */
};

struct sim_sc_vm {
	char *name;
	char *ns;
	int64_t cpu;	     /* cores */
	int64_t cpu_request; /* milli; 0 = none (the launcher asks for cpu / ratio) */
	int64_t memory;
	int64_t dirty_rate;
	bool running;
	bool guest_agent;
	cJSON *labels;	      /* may be NULL */
	cJSON *annotations;   /* may be NULL */
	cJSON *node_selector; /* may be NULL */
	struct sim_sc_disk disks[SIM_SCENARIO_MAX_DISKS];
	size_t ndisks;
	struct sim_sc_net nets[SIM_SCENARIO_MAX_NETS];
	size_t nnets;
};

struct sim_sc_migrations {
	int64_t parallel_per_cluster;	/* 5 */
	int64_t parallel_outbound_node; /* 2 */
	int64_t bandwidth;		/* bytes/s, 0 = unlimited */
	int64_t completion_per_gib;	/* 150 */
	int64_t progress_timeout;	/* 150 */
	bool allow_auto_converge;
	bool allow_post_copy;
};

struct sim_scenario {
	double time_factor; /* 0 = not set */
	uint64_t seed;
	bool has_seed;
	int64_t link_bandwidth; /* default per NIC, bytes/s (1 GiB/s... 10 Gbit/s) */
	int64_t bg_cpu_milli;	/* background usage per node (NodeMetrics) */
	int64_t bg_memory;
	int64_t other_cpu_milli; /* requests of each node's pods that are not VMs */
	int64_t other_memory;
	int64_t default_dirty_rate;  /* for VMs and Wukongs that do not say */
	int64_t memory_pressure_pct; /* MemoryPressure=True at or above (90) */
	int64_t node_grace_s;	     /* node-monitor-grace-period (50) */
	int64_t eviction_timeout_s;  /* NotReady until VMIs there are marked Failed (300) */
	int64_t max_downtime_ms;     /* maxDowntimeMs (900) */
	bool postcopy_after_first_round;
	char *default_class; /* default storage class name (first one when unset) */
	int kv_minor;	     /* kubevirtVersion "1.5"/"1.6"/"1.9" -> 5/6/9; 0 = not set */
	cJSON *feature_gates; /* featureGates: the KubeVirt CR's list; NULL = the default list */
	struct sim_sc_migrations mig;
	struct sim_sc_node *nodes;
	size_t nnodes;
	struct sim_sc_class *classes;
	size_t nclasses;
	struct sim_sc_vm *vms;
	size_t nvms;
};

/* Parse text (len bytes) read from `file` (used in messages). NULL with "file:line: message". */
struct sim_scenario *sim_scenario_parse(const char *file, const char *text, size_t len,
					char *errstr, size_t errstr_size);
struct sim_scenario *sim_scenario_load(const char *path, char *errstr, size_t errstr_size);
/* The built-in cluster used without --scenario (the text of scenarios/default.yaml). */
extern const char sim_scenario_default_yaml[];
void sim_scenario_destroy(struct sim_scenario *sc);
const struct sim_sc_class *sim_scenario_class(const struct sim_scenario *sc, const char *name);

#endif
