/* sim_store.h - the simulator's object store: every API object as cJSON, resourceVersions, watch
 * history, and change observers for the simulated controllers.
 *
 * One lock guards the whole store. Every function here takes it itself; observers are called after
 * the lock is released (from the thread that made the change), so an observer may call back into
 * the store. Objects handed in are consumed; objects handed out are deep copies owned by the
 * caller. Errors carry the HTTP status code and a message shaped for a Kubernetes Status object.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "wk_common.h"

#include <cjson/cJSON.h>

struct sim_store;

struct sim_resource {
	const char *group;   /* "" for core/v1 */
	const char *version; /* "v1", "v1beta1", ... */
	const char *plural;  /* "virtualmachineinstancemigrations" */
	const char *singular;
	const char *kind;	 /* "VirtualMachineInstanceMigration" */
	const char *short_names; /* comma-separated, e.g. "vmim,vmims", or NULL */
	const char *categories;	 /* comma-separated, e.g. "all", or NULL */
	bool namespaced;
	bool has_status; /* has a /status subresource (generation counts spec changes only) */
	bool read_only;	 /* e.g. metrics.k8s.io: no writes through the API */
};

/* The table of every served resource, terminated by an entry with plural == NULL. */
extern const struct sim_resource sim_resources[];
const struct sim_resource *sim_resource_find(const char *group, const char *version,
					     const char *plural);
const struct sim_resource *sim_resource_by_kind(const char *kind);

struct sim_err {
	int code;	 /* HTTP status: 404, 409, 422, ... */
	char reason[32]; /* Status reason: "NotFound", "AlreadyExists", "Conflict", "Invalid" */
	char message[512];
};

/* history: how many watch events are kept for resuming watches (older -> 410 Expired). */
struct sim_store *sim_store_new(size_t history);
void sim_store_destroy(struct sim_store *st);

/* Current resourceVersion of the whole store (as a decimal string in the API). */
uint64_t sim_store_rv(struct sim_store *st);

cJSON *sim_store_get(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name);
/* Create: fills uid, resourceVersion, creationTimestamp, generation=1, namespace; generateName
 * honoured. 409 AlreadyExists if present. *out (may be NULL) gets a copy of the stored object. */
int sim_store_create(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     cJSON *obj, cJSON **out, struct sim_err *err);
/* Replace (PUT): a non-empty metadata.resourceVersion must match (409 Conflict otherwise).
 * status_only: only .status is taken from obj; otherwise .status is kept from the stored object
 * when the resource has a status subresource. generation bumps when spec changes. */
int sim_store_update(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, cJSON *obj, bool status_only, cJSON **out,
		     struct sim_err *err);
/* Read-modify-write under the lock: fn edits the object in place and returns 0 to store it
 * (a new resourceVersion and a MODIFIED event only if it really changed), 1 to leave it, or -1
 * with err filled. Used by the simulated controllers for status changes. */
int sim_store_mutate(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, int (*fn)(cJSON *obj, void *opaque, struct sim_err *err),
		     void *opaque, cJSON **out, struct sim_err *err);
/* Delete: with finalizers present, sets deletionTimestamp (MODIFIED) and the object stays until
 * the last finalizer is removed; otherwise removes it (DELETED). */
int sim_store_delete(struct sim_store *st, const struct sim_resource *res, const char *ns,
		     const char *name, cJSON **out, struct sim_err *err);

/* Call fn on every object of res (in namespace ns, or all when NULL) in name order, under the lock:
 * fn must not call the store. Non-zero from fn stops the walk. */
void sim_store_foreach(struct sim_store *st, const struct sim_resource *res, const char *ns,
		       int (*fn)(const cJSON *obj, void *opaque), void *opaque);
size_t sim_store_count(struct sim_store *st, const struct sim_resource *res);

/* Change notification for the simulated controllers. type is "ADDED", "MODIFIED" or "DELETED";
 * obj is borrowed for the duration of the call. */
typedef void sim_observer_fn(void *opaque, const struct sim_resource *res, const char *type,
			     const cJSON *obj);
void sim_store_observe(struct sim_store *st, sim_observer_fn *fn, void *opaque);
/* Called under the store's lock on every object about to be stored (create, update, patch,
 * status writes, the model's own writes): removes in place what the served API version does not
 * have, as an API server prunes unknown fields. Must not call the store. One pruner per store. */
typedef void sim_pruner_fn(void *opaque, const struct sim_resource *res, cJSON *obj);
void sim_store_set_pruner(struct sim_store *st, sim_pruner_fn *fn, void *opaque);

/* Watch events after resourceVersion `since` for res (ns NULL = all namespaces), for the HTTP
 * layer: fills up to max events into a caller array of copies; returns the count, or -1 with
 * err 410 Expired when `since` is older than the kept history. */
struct sim_watch_event {
	const char *type; /* static string */
	cJSON *object;	  /* copy, caller frees */
	uint64_t rv;
};
int sim_store_events_since(struct sim_store *st, const struct sim_resource *res, const char *ns,
			   uint64_t since, struct sim_watch_event *out, size_t max,
			   struct sim_err *err);
/* Block until the store's resourceVersion passes `rv` or timeout_ms elapses; returns the rv now. */
uint64_t sim_store_wait(struct sim_store *st, uint64_t rv, int timeout_ms);

/* Added for the HTTP layer (paged, filtered LIST): copies of the objects of res (in ns, or all when
 * NULL) whose key ("<ns>/<name>", "/<name>" for cluster-scoped) sorts after after_key (NULL = from
 * the start) and that pass match (NULL = all), at most limit (0 = no limit). When more matching
 * objects remain, *next_key gets the key to continue after (caller frees) and *remaining their
 * count; *rv (may be NULL) gets the store's resourceVersion. Returns a cJSON array. */
cJSON *sim_store_list(struct sim_store *st, const struct sim_resource *res, const char *ns,
		      const char *after_key, bool (*match)(const cJSON *obj, void *opaque),
		      void *opaque, size_t limit, char **next_key, size_t *remaining, uint64_t *rv);
/* Same selection as sim_store_list, but the objects' compact JSON (cached per object) is appended
 * to out, comma-separated, without copying trees: what LIST responses are made of. Returns the
 * number of objects, or -1 when out's cap was hit (out then holds a partial list). */
struct wk_buf;
int sim_store_list_json(struct sim_store *st, const struct sim_resource *res, const char *ns,
			const char *after_key, bool (*match)(const cJSON *obj, void *opaque),
			void *opaque, size_t limit, char **next_key, size_t *remaining,
			uint64_t *rv, struct wk_buf *out);
/* Structural JSON equality in linear time (cJSON_Compare is exponential in the nesting depth of
 * objects, which a hostile body would exploit). Object key order does not matter. */
bool sim_json_equal(const cJSON *a, const cJSON *b);
/* The newest resourceVersion dropped from the watch history (0 = none yet): a watch from an
 * older version gets 410 Expired. */
uint64_t sim_store_oldest_rv(struct sim_store *st);

#endif
