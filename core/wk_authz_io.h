/* wk_authz_io.h - the I/O of wk_authz.h: SubjectAccessReviews against the API server (through
 * the decision cache) and the loading of the per-installation id key (security.id-key-file, a
 * mounted Secret). Both executors call these; nothing returned is owned by the caller. */
#ifndef WK_AUTHZ_IO_H
#define WK_AUTHZ_IO_H

#include "wk_authz.h"

struct wk_k8s;
struct wk_config;

/* May id do every check? 1 = allowed (a trusted identity always is), 0 = denied (denial names
 * the first check refused and the review's reason), -1 = no answer (errstr; the caller
 * retries: the API server is down or the service may not create subjectaccessreviews). */
int wk_authz_authorize(struct wk_authz *a, struct wk_k8s *k, const struct wk_authz_identity *id,
		       const struct wk_authz_check *checks, size_t n, char *denial,
		       size_t denial_size, char *errstr, size_t errstr_size);

/* Read security.id-key-file (16 to 4096 bytes, trailing newlines dropped) and key the
 * executors' audit ids with it (wk_emit_set_id_key). 0 = not configured (ids stay plain
 * hashes), 1 = loaded, -1 with errstr. */
int wk_authz_load_id_key(const struct wk_config *cfg, char *errstr, size_t errstr_size);

#endif
