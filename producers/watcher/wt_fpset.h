/* wt_fpset.h - the watcher's compact memory of what it last published: per object (kind +
 * "<ns>/<name>") its uid, resourceVersion, key reference and a 64-bit body fingerprint, never the
 * object itself. It decides whether an observed object is a real change, and after a relist which
 * objects vanished.
 *
 * The set is opaque and heap-owned (wt_fpset_new / wt_fpset_destroy); entries are owned by the set
 * and valid until the next put/remove/clear of the same key. Single-threaded.
 */
#ifndef WT_FPSET_H
#define WT_FPSET_H

#include "wk_common.h"

struct wt_fpset;

struct wt_fp {
	uint64_t fp;	/* 0 = unknown: the next observation publishes whatever it sees */
	const char *id; /* the set's copy of "<ns>/<name>" (inside its map key) */
	uint32_t seen;	/* relist epoch in which the object was last observed */
	uint8_t kind;
	uint8_t rv_off, vmref_off; /* offsets in data */
	char data[];		   /* "<uid>\0<rv>\0<vmref>\0" */
};

static inline const char *wt_fp_id(const struct wt_fp *e)
{
	return e->id;
}
static inline const char *wt_fp_uid(const struct wt_fp *e)
{
	return e->data;
}
static inline const char *wt_fp_rv(const struct wt_fp *e)
{
	return e->data + e->rv_off;
}
static inline const char *wt_fp_vmref(const struct wt_fp *e)
{
	return e->data + e->vmref_off;
}

struct wt_fpset *wt_fpset_new(void);
void wt_fpset_destroy(struct wt_fpset *s);
void wt_fpset_clear(struct wt_fpset *s);

struct wt_fp *wt_fpset_get(const struct wt_fpset *s, int kind, const char *id);
/* Insert or replace. Strings are copied (id up to 4095 bytes, uid/rv/vmref up to 100 bytes each;
 * longer ones are refused with NULL: wt_event_ident never passes such). seen is kept on replace. */
struct wt_fp *wt_fpset_put(struct wt_fpset *s, int kind, const char *id, const char *uid,
			   const char *rv, const char *vmref, uint64_t fp);
void wt_fpset_remove(struct wt_fpset *s, int kind, const char *id);
size_t wt_fpset_count(const struct wt_fpset *s, int kind);
size_t wt_fpset_total(const struct wt_fpset *s);
/* Bytes held by entries and buckets (for the metric and the 10,000-VM estimate). */
size_t wt_fpset_bytes(const struct wt_fpset *s);

/* Entries of kind not observed in relist epoch `epoch`: a malloc'ed array of their ids (each
 * malloc'ed too; free with wt_fpset_free_ids), *n set. The caller publishes and removes them. */
char **wt_fpset_unseen(const struct wt_fpset *s, int kind, uint32_t epoch, size_t *n);
void wt_fpset_free_ids(char **ids, size_t n);
/* Visit every entry (no changes to the set from cb). */
void wt_fpset_foreach(const struct wt_fpset *s, void (*cb)(const struct wt_fp *e, void *opaque),
		      void *opaque);

/* What an observation means against the current entry (NULL = none). */
enum wt_action {
	WT_ACT_NONE,	/* unchanged, or a deletion of something never published */
	WT_ACT_ADD,	/* new object */
	WT_ACT_MODIFY,	/* body fingerprint differs */
	WT_ACT_REPLACE, /* same name, another uid: publish the old one's deletion, then the add */
	WT_ACT_DELETE,
};
enum wt_action wt_decide(const struct wt_fp *cur, const char *uid, uint64_t fp, bool deleted);

#endif
