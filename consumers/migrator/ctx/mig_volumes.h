/* mig_volumes.h - the storage look-ups and writes of a move (ctx/mig_volumes.c, I/O): each of a
 * VM's volumes read (claim, PersistentVolume, StorageClass) and classified by
 * decide/mig_storage.c, and the clone DataVolumes a cold move creates for its node-local disks
 * and the volumes it deletes afterwards. Every write is idempotent (deterministic names;
 * AlreadyExists and NotFound count as done), so a migrator killed at any step repeats it safely.
 */
#ifndef MIG_VOLUMES_H
#define MIG_VOLUMES_H

#include "ctx/mig_ctx.h"
#include "decide/mig_preflight.h"
#include "decide/mig_storage.h"

/* Read and classify the volumes of vm's template against the target (node may be NULL). At most
 * max disks into out (more: -1). 0, or -1 with err. */
int mig_volumes_read(struct mig_state *st, const char *ns, const struct cJSON *vm,
		     const struct cJSON *node, const char *node_name, struct mig_disk *out,
		     size_t max, size_t *n, char *err, size_t errn);

/* Are CDI DataVolumes served (a list in ns answers)? 1 yes, 0 no (404), -1 error. */
int mig_volumes_cdi(struct mig_state *st, const char *ns, char *err, size_t errn);

/* Create the clone DataVolume of each copy (re-reading the old claim for its class and size).
 * An existing one of ours counts as created; one of the same name not made for this request is
 * an error. 0, or -1 with err (retry). */
int mig_volumes_clone(struct mig_state *st, const char *ns, const char *request,
		      const struct mig_copy *c, size_t n, char *err, size_t errn);

/* Delete the old volumes (old: each copy's owning DataVolume, else its claim) or the new ones
 * (!old: the clone DataVolumes). NotFound counts as done. 0, or -1 with err (retry). */
int mig_volumes_delete(struct mig_state *st, const char *ns, const struct mig_copy *c, size_t n,
		       bool old, char *err, size_t errn);

#endif
