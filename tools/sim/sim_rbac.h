/* sim_rbac.h - authorization as kube-apiserver's RBAC authorizer decides it, over the Roles,
 * ClusterRoles, RoleBindings and ClusterRoleBindings in the store (no aggregation), plus the
 * access reviews (authorization.k8s.io/v1 SelfSubjectAccessReview, SubjectAccessReview) and a
 * record of what each identity was allowed to do.
 *
 * Upstream: plugin/pkg/auth/authorizer/rbac/rbac.go (RBACAuthorizer.Authorize, the visitor over
 * ClusterRoleBindings then the namespace's RoleBindings), pkg/apis/rbac/v1/evaluation_helpers.go
 * (VerbMatches, APIGroupMatches, ResourceMatches with "*" and "*\/sub", ResourceNameMatches,
 * NonResourceURLMatches with a trailing "*"), appliesTo (User, Group, ServiceAccount subjects).
 * The bootstrap policy's default bindings that every authenticated identity gets are built in:
 * system:discovery and system:public-info-viewer (GET on /api, /apis, /version, /openapi,
 * /healthz, /livez, /readyz) and system:basic-user (create selfsubjectaccessreviews,
 * selfsubjectrulesreviews).
 */
#ifndef SIM_RBAC_H
#define SIM_RBAC_H

#include "sim_store.h"

#define SIM_RBAC_MAX_GROUPS 8

struct sim_principal {
	char user[320];
	char groups[SIM_RBAC_MAX_GROUPS][160];
	size_t ngroups;
};

/* The identity the apiserver derives: user, the given groups, then "system:authenticated"; a
 * service account "system:serviceaccount:NS:NAME" also gets "system:serviceaccounts" and
 * "system:serviceaccounts:NS" (k8s.io/apiserver pkg/authentication/serviceaccount). */
void sim_principal_init(struct sim_principal *p, const char *user, const char *const *groups,
			size_t ngroups);

struct sim_rbac_attrs {
	const char *verb;	 /* get list watch create update patch delete deletecollection */
	const char *group;	 /* "" = core */
	const char *resource;	 /* plural; NULL = a non-resource request */
	const char *subresource; /* "status", "token" or NULL */
	const char *ns;		 /* NULL = cluster scope */
	const char *name;	 /* NULL = collection */
	const char *path;	 /* non-resource URL */
};

/* RBAC's decision; on a deny, reason may be "" as upstream's (the 403 text is the caller's). */
bool sim_rbac_allowed(struct sim_store *st, const struct sim_principal *p,
		      const struct sim_rbac_attrs *a);

/* Record every distinct (user, verb, group, resource[/sub], namespace, decision) once, as a
 * tab-separated line appended to path (NULL = stop recording). */
int sim_rbac_record_open(const char *path, char *errstr, size_t errstr_size);
void sim_rbac_record(const struct sim_principal *p, const struct sim_rbac_attrs *a, bool allowed);
void sim_rbac_record_close(void);

/* Answer an access review. body: the posted SelfSubjectAccessReview (self = the caller, p) or
 * SubjectAccessReview (spec.user/groups). Returns the object to send with 201 (status.allowed,
 * reason as upstream: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`),
 * or NULL with a 400/422 message in msg. */
cJSON *sim_rbac_review(struct sim_store *st, const struct sim_principal *self, bool self_review,
		       const cJSON *body, char *msg, size_t msg_size);

#endif
