/* wk_cluster.h - the cluster registry (`wukong.clusters`, compacted, key = cluster id): what one
 * cluster's watcher says about its cluster in a heartbeat, how that record is built from the
 * cluster's Nodes, VMIs and KubeVirt CR, read back (router, wukongctl), judged Available or not,
 * and compared for room. Pure: no I/O. struct wk_cluster_info is caller-owned (wk_cluster_info_init
 * / _release: its labels object is heap). Caps: a record of at most WK_CLUSTER_RECORD_MAX bytes,
 * WK_CLUSTER_MAX_LABELS labels, WK_CLUSTER_MAX_GATES gates (more is an error), strings of at most
 * 63 bytes (longer ones are an error). docs/multicluster.md describes the record;
 * schemas/cluster.v1.json is its schema. */
#ifndef WK_CLUSTER_H
#define WK_CLUSTER_H

#include "wk_common.h"

struct cJSON;
struct wk_kubevirt_info;

#define WK_CLUSTER_RECORD_MAX (64 * 1024)
#define WK_CLUSTER_MAX_LABELS 32
#define WK_CLUSTER_MAX_GATES 32
#define WK_CLUSTER_STR 64

struct wk_cluster_info {
	char id[WK_CLUSTER_STR];
	struct cJSON *labels; /* object of string values (region, zone, environment ...) */
	char server_version[WK_CLUSTER_STR];
	char kubevirt_version[WK_CLUSTER_STR]; /* observedKubeVirtVersion, "" = no KubeVirt */
	char gates[WK_CLUSTER_MAX_GATES][WK_CLUSTER_STR]; /* on, as that version decides */
	size_t n_gates;
	int64_t nodes, nodes_ready;		 /* Ready and schedulable count as ready */
	int64_t cpu_alloc_milli, cpu_used_milli; /* over the ready nodes */
	int64_t mem_alloc, mem_used;		 /* bytes, over the ready nodes */
	int64_t vmis;				 /* VMIs placed on a node and not finished */
	int64_t time_ms;			 /* when the watcher observed it */
};

void wk_cluster_info_init(struct wk_cluster_info *ci);
void wk_cluster_info_release(struct wk_cluster_info *ci);

/* Fill ci from a NodeList and a VirtualMachineInstanceList (bodies as the API returns them; NULL =
 * none) and the parsed KubeVirt CR (NULL or !found = no KubeVirt). labels (borrowed, copied) are
 * the watcher's `cluster.labels.*`. Used CPU/memory: each running VMI's launcher requests as
 * KubeVirt sets them (resources.requests, else guest memory and vCPUs / cpuAllocationRatio). */
void wk_cluster_summarize(struct wk_cluster_info *ci, const char *id, const struct cJSON *labels,
			  const char *server_version, const struct cJSON *nodes,
			  const struct cJSON *vmis, const struct wk_kubevirt_info *kv,
			  int64_t now_ms);

/* The record body (heap, caller frees). */
char *wk_cluster_json(const struct wk_cluster_info *ci);
/* The record's content without its time, for "publish on change" (heap, caller frees). */
char *wk_cluster_fingerprint(const struct wk_cluster_info *ci);
/* Parse a record; -1 with errstr on anything malformed, oversized or out of range (ci is then
 * empty). */
int wk_cluster_parse(const char *body, size_t len, struct wk_cluster_info *ci, char *errstr,
		     size_t errstr_size);

/* Available: a heartbeat no older than max_age_ms at now_ms (a clock ahead by less than max_age
 * counts as fresh) and at least one ready node. */
bool wk_cluster_available(const struct wk_cluster_info *ci, int64_t now_ms, int64_t max_age_ms);
/* Why not available, for a reason text ("last heartbeat 42 s ago (limit 15 s)"). */
void wk_cluster_unavailable_reason(const struct wk_cluster_info *ci, int64_t now_ms,
				   int64_t max_age_ms, char *out, size_t out_size);
bool wk_cluster_has_gate(const struct wk_cluster_info *ci, const char *gate);
/* KubeVirt version at least major.minor ("" or unparsable = no). */
bool wk_cluster_kubevirt_at_least(const struct wk_cluster_info *ci, int major, int minor);
/* Room ordering for placement: more free memory first, then more free CPU, then the smaller id.
 * < 0 when a has more room than b. */
int wk_cluster_room_cmp(const struct wk_cluster_info *a, const struct wk_cluster_info *b);

/* Reading the registry (I/O, wk_cluster_io.c): a group-less consumer of the topic from its
 * beginning (the compacted topic holds the latest record per cluster), for the router and
 * wukongctl. Heap-owned (wk_cluster_reader_destroy; NULL is a no-op). */
struct wk_config;
struct wk_cluster_reader;
typedef void wk_cluster_record_cb(const char *key, const char *body, size_t len, void *opaque);
struct wk_cluster_reader *wk_cluster_reader_new(const struct wk_config *cfg, const char *topic,
						char *errstr, size_t errstr_size);
/* Deliver what arrives within timeout_ms to cb (key NUL-terminated, "" when absent; body NULL
 * for a tombstone). 1 once every partition has been read to its end at least once, else 0. */
int wk_cluster_reader_poll(struct wk_cluster_reader *r, int timeout_ms, wk_cluster_record_cb *cb,
			   void *opaque);
void wk_cluster_reader_destroy(struct wk_cluster_reader *r);

#endif
