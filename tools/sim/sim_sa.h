/* sim_sa.h - ServiceAccount tokens as the TokenRequest API issues them (bound tokens with an
 * expiry): `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`, as `kubectl create token`
 * sends it (k8s.io/kubernetes pkg/registry/core/serviceaccount/storage/token.go).
 *
 * A token is an opaque random string here (upstream issues a signed JWT; clients treat it as
 * opaque). It authenticates as "system:serviceaccount:NS:NAME" until it expires or its
 * ServiceAccount is deleted or recreated (the token is bound to the object's uid). At most
 * SIM_SA_MAX_TOKENS live tokens; expired ones are reused first.
 */
#ifndef SIM_SA_H
#define SIM_SA_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_SA_MAX_TOKENS 4096
/* upstream: expirationSeconds defaults to 3600 and may not be under 600 */
#define SIM_SA_DEFAULT_EXPIRY_S 3600
#define SIM_SA_MIN_EXPIRY_S 600
/* the apiserver's --service-account-max-token-expiration default is unset; cap at 48 h here */
#define SIM_SA_MAX_EXPIRY_S (48 * 3600)

struct sim_sa;

struct sim_sa *sim_sa_new(void);
void sim_sa_destroy(struct sim_sa *sa);

/* Issue a token for ServiceAccount ns/name (uid: the object's metadata.uid) valid for expiry_s
 * seconds from now_s. Returns a copy of the token (caller frees), or NULL when the table is full
 * of live tokens. */
char *sim_sa_issue(struct sim_sa *sa, const char *ns, const char *name, const char *uid,
		   int64_t now_s, int64_t expiry_s);

/* Look a bearer token up: true with ns, name and uid of its ServiceAccount (the caller checks the
 * object still exists with that uid) when it is known and not expired at now_s. */
bool sim_sa_lookup(struct sim_sa *sa, const char *token, int64_t now_s, char *ns, size_t ns_size,
		   char *name, size_t name_size, char *uid, size_t uid_size);

/* Parse a TokenRequest body: spec.expirationSeconds (default, bounds as upstream). 0, or -1 with
 * the apiserver's message for a bad value. */
int sim_sa_request_expiry(const cJSON *body, int64_t *expiry_s, char *msg, size_t msg_size);

#endif
