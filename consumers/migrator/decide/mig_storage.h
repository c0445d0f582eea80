/* mig_storage.h - what a VM's disks are made of, for a move: each volume's claim, its
 * PersistentVolume's node affinity and its StorageClass read into shared / node-local / unknown,
 * and the copy a cold move makes of each node-local disk (a CDI clone DataVolume with a
 * deterministic name, the VM's volumes switched to it and back). Pure: the caller fetches the
 * objects (flows/mig_copy.c) and frees what the builders return. Caps: MIG_COPY_MAX disks copied
 * per move; names at most 63 bytes (a claim name is a DNS-1123 label in practice). */
#ifndef MIG_STORAGE_H
#define MIG_STORAGE_H

#include "decide/mig_request.h"

struct cJSON;

#define MIG_COPY_MAX 16
#define MIG_COPY_NAME 64

enum mig_disk_kind {
	MIG_DISK_OTHER,	  /* not a claim (containerDisk, cloudInit, ...): travels with the VM */
	MIG_DISK_SHARED,  /* its PersistentVolume is reachable from the target (no node affinity
			   * or one that admits it) */
	MIG_DISK_LOCAL,	  /* its PersistentVolume is pinned to nodes that exclude the target */
	MIG_DISK_UNKNOWN, /* the claim or its volume could not be read, or it is not bound */
};

struct mig_disk {
	char volume[MIG_COPY_NAME];   /* the VM's volume name */
	char claim[MIG_COPY_NAME];    /* the PersistentVolumeClaim */
	char owner_dv[MIG_COPY_NAME]; /* the DataVolume owning the claim ("" = none) */
	char sclass[MIG_COPY_NAME];   /* spec.storageClassName */
	char provisioner[128];	      /* the class's provisioner ("" = class not read) */
	char node[MIG_COPY_NAME];     /* LOCAL: the first node its affinity names */
	char access[24];	      /* the claim's first access mode */
	char size[32];		      /* the claim's requested (else bound) storage */
	char volume_mode[16];	      /* Block / Filesystem ("" = not said) */
	bool ref_dv;		      /* the VM names it as a dataVolume (not a claim) */
	bool rwx;		      /* ReadWriteMany: KubeVirt live-migrates it as is */
	bool wffc;		      /* the class binds at the first consumer */
	enum mig_disk_kind kind;
	char why[240]; /* UNKNOWN / LOCAL: a sentence */
};

/* The name of a kind as the status and logs say it: "shared", "node-local", "unknown",
 * "other". */
const char *mig_disk_kind_name(enum mig_disk_kind k);

/* Classify one of the VM template's volumes. pvc, pv, sc: the objects read (NULL = not found or
 * not readable); node / node_name: the target (node may be NULL: then only the name is matched
 * against a kubernetes.io/hostname term). 0, or -1 when volume is not an object with a name. */
int mig_disk_classify(const struct cJSON *volume, const struct cJSON *pvc, const struct cJSON *pv,
		      const struct cJSON *sc, const struct cJSON *node, const char *node_name,
		      struct mig_disk *out);

/* One disk a cold move copies, as kept in the cold-migration state on the VM. */
struct mig_copy {
	char volume[MIG_COPY_NAME];    /* the VM's volume */
	char from[MIG_COPY_NAME];      /* the old claim */
	char from_dv[MIG_COPY_NAME];   /* the DataVolume owning it ("" = a bare claim) */
	char from_node[MIG_COPY_NAME]; /* where the old one lives */
	char to[MIG_COPY_NAME];	       /* the new DataVolume (and claim) */
	bool ref_dv;		       /* the VM named the old one as a dataVolume */
};

/* Can a copy of d be placed on the target by a clone? A class that binds at the first consumer
 * (WaitForFirstConsumer) provisions the copy on the node the VM is pinned to; a class bound at
 * creation (Immediate) or one with no dynamic provisioner (kubernetes.io/no-provisioner: static
 * local volumes) cannot be told where. 0, or -1 with a sentence saying what would be needed. */
int mig_copy_possible(const struct mig_disk *d, const char *target, char *why, size_t why_size);

/* The new DataVolume's name: "<claim, at most 44>-mv-<8 hex of sha256(request/volume)>" - the
 * same for the same move and disk, so a migrator killed and restarted finds the one it made. */
void mig_copy_name(const char *claim, const char *request, const char *volume, char *out,
		   size_t out_size);

/* The DataVolume (cdi.kubevirt.io/v1beta1) cloning d's claim into c->to: spec.source.pvc
 * {namespace, name}, spec.storage with d's class, access mode, size and volume mode; labels
 * wukong.novasphere.dev/managed-by and the request id. New object, caller deletes. */
struct cJSON *mig_copy_dv(const char *ns, const struct mig_disk *d, const struct mig_copy *c,
			  const char *request);

/* The VM template's volumes with each copied volume pointing at its new DataVolume (to_new) or
 * back at its old claim / DataVolume (!to_new); others unchanged. A volume already switched
 * stays so (the call is idempotent). New array, caller deletes. */
struct cJSON *mig_copy_volumes(const struct cJSON *volumes, const struct mig_copy *c, size_t n,
			       bool to_new);

/* The VM's dataVolumeTemplates without those of the copied disks' old DataVolumes (KubeVirt
 * would create a template's DataVolume again once the old one is deleted). New array. */
struct cJSON *mig_copy_templates(const struct cJSON *templates, const struct mig_copy *c, size_t n);

/* A VM merge patch (text) with the template's volumes switched (mig_copy_volumes) and, when the
 * VM has dataVolumeTemplates, those without the old ones (mig_copy_templates) added. New
 * string, caller frees; n == 0 returns a copy of patch. */
char *mig_copy_vm_patch(const char *patch, const struct cJSON *vm, const struct mig_copy *c,
			size_t n, bool to_new);

/* Does the VMI use every copy's new volume (spec.volumes)? */
bool mig_copy_in_use(const struct cJSON *vmi, const struct mig_copy *c, size_t n);

#endif
