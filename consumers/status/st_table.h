/* st_table.h - the status writer's per-Wukong state: pending updates coalesced per
 * (field, source), the last state read from the API (resourceVersion, conditions, applied seqs),
 * the Kafka offsets waiting for the write, and the merge patch that applies them.
 *
 * Pure logic (no I/O), so coalescing, seq ordering and condition merging are unit-tested. The
 * table owns every struct st_wk; pointers stay valid until st_table_remove()/st_table_destroy().
 *
 * Seq keys (also the keys of status.appliedSeq on the object):
 *   "<field>/<source>"             migrationStatus, cloneStatus
 *   "conditions/<type>/<source>"   one condition type
 *   "observedGeneration/<source>"
 */
#ifndef ST_TABLE_H
#define ST_TABLE_H

#include "wk_common.h"
#include "st_update.h"

struct cJSON;
struct st_table;

#define ST_KEY_MAX 512
#define ST_APPLIED_MAX 64 /* seq keys kept per Wukong in status.appliedSeq */
#define ST_PENDING_MAX 64 /* pending seq keys per Wukong; past it the update is refused (RETRY) */

enum st_kind { ST_K_FIELD, ST_K_COND, ST_K_GEN };

struct st_pend {
	char key[ST_KEY_MAX];
	enum st_kind kind;
	int field;	     /* ST_F_* for ST_K_FIELD */
	int64_t seq;	     /* newest seq coalesced into value */
	struct cJSON *value; /* composed merge patch / condition object / NULL for GEN */
	int64_t gen;	     /* for ST_K_GEN */
	uint64_t order;	     /* arrival of the newest update: composition order across sources */
};

struct st_offset {
	int32_t partition;
	int64_t offset;
};

struct st_wk {
	char ns[64];
	char name[254];
	/* state as last read from the API */
	bool have_state;
	char rv[64];
	struct cJSON *conditions; /* status.conditions (array, owned) */
	struct cJSON *applied;	  /* status.appliedSeq (object, owned) */
	/* status.migrationStatus / cloneStatus and lastMigrationStatus / lastCloneStatus as read
	 * (owned, NULL = absent): a new request's status replaces the current one instead of
	 * merging into it, and the previous request moves to the last... field */
	struct cJSON *cur[ST_F_TOP], *last[ST_F_TOP];
	int64_t generation;	  /* status.observedGeneration, -1 none */
	/* pending */
	struct st_pend *pend;
	size_t npend, apend;
	struct st_offset *offs;
	size_t noffs, aoffs;
	size_t updates;	     /* messages coalesced since the last write */
	int64_t dirty_ms;    /* when the first pending update arrived (monotonic), 0 = clean */
	int64_t next_try_ms; /* earliest next attempt after a failure */
	int attempts;
	/* table links */
	struct st_wk *dprev, *dnext;
	bool in_dirty;
};

struct st_table *st_table_new(void);
void st_table_destroy(struct st_table *t);
size_t st_table_count(const struct st_table *t);
size_t st_table_dirty_count(const struct st_table *t);

struct st_wk *st_table_get(struct st_table *t, const char *ns, const char *name, bool create);
void st_table_remove(struct st_table *t, struct st_wk *w);
/* The oldest dirty Wukong (first pending update longest ago), or NULL. */
struct st_wk *st_table_first_dirty(struct st_table *t);
struct st_wk *st_table_next_dirty(struct st_wk *w);
/* Move a dirty Wukong to the back of the queue (after a failed attempt). */
void st_table_requeue(struct st_table *t, struct st_wk *w);
/* Free the cached state of clean entries until at most max remain (memory cap). */
size_t st_table_trim(struct st_table *t, size_t max);

/* Coalesce u into its Wukong and remember (partition, offset) for the acknowledgement.
 * *stale counts fields of u already superseded by a pending newer seq (dropped). 0, or -1 when
 * the Wukong has ST_PENDING_MAX pending keys (the caller retries the message later). */
int st_table_add(struct st_table *t, const struct st_update *u, int32_t partition, int64_t offset,
		 int64_t now_ms, size_t *stale);

/* Load the server state from a Wukong object (GET, LIST item or PATCH response). */
void st_wk_load(struct st_wk *w, const struct cJSON *obj);

struct st_build_stats {
	size_t stale;	   /* pending keys whose seq is not newer than the applied one */
	size_t applied;	   /* pending keys in the patch */
	size_t conditions; /* conditions that changed */
};
/* The merge patch (caller frees) for the pending updates against the loaded state, or NULL when
 * nothing is left to write (everything stale or already so). An update of migrationStatus or
 * cloneStatus whose requestId differs from the one the status holds starts afresh: every field
 * of the previous request is removed (null in the patch) and the previous request's fields go,
 * whole, to status.lastMigrationStatus / lastCloneStatus (st_last_names). now_wall_ms stamps conditions whose
 * status changes without a lastTransitionTime. Requires w->have_state. */
char *st_wk_build_patch(const struct st_wk *w, int64_t now_wall_ms, struct st_build_stats *stats);
/* After a successful write: remember the seqs the patch recorded (status.appliedSeq), also when
 * the response does not show them (an API that prunes the field); the larger value wins. */
void st_wk_note_applied(struct st_wk *w, const char *patch);
/* Forget the pending updates (after the write, a 404 or a refusal); offsets are kept for the
 * caller to acknowledge and then clear with st_wk_clear_offsets(). */
void st_wk_clear_pending(struct st_wk *w);
void st_wk_clear_offsets(struct st_wk *w);
/* Forget the server state (after a 409: read again); the applied seqs are kept and merged with
 * the object's on the next load (they only grow). */
void st_wk_forget_state(struct st_wk *w);

extern const char *const st_last_names[ST_F_TOP]; /* "lastMigrationStatus", "lastCloneStatus" */

/* ---- pieces, exposed for tests ---- */

/* RFC 7386 composition: after the call, applying `into` equals applying the old `into` and then
 * `patch`. */
void st_merge_compose(struct cJSON *into, const struct cJSON *patch);
/* Upsert cond into the conditions array by type, Kubernetes conventions: lastTransitionTime
 * changes only when status changes (then it is the update's, or now_wall_ms when absent). True when
 * the array changed. */
bool st_conditions_upsert(struct cJSON *arr, const struct cJSON *cond, int64_t now_wall_ms);

#endif
