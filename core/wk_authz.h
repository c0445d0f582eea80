/* wk_authz.h - who may ask: the submitter's identity from the Kafka topic a submission arrived on
 * (never from its body), the Kubernetes access a person would need to do the same thing with
 * kubectl (SubjectAccessReview attributes per action), a bounded cache of the API server's
 * decisions, and the per-tenant abuse limits (a token bucket and a cap on concurrent operations).
 * Used by both executors (migrator, cloner); docs/security.md is the reference.
 *
 * Pure apart from the injected clock: no I/O here. The SubjectAccessReview call itself is
 * wk_authz_io.c (wk_authz_authorize). struct wk_authz is caller-owned (init/release); the strings
 * it hands out live as long as it does.
 *
 * Configuration (docs/security.md, docs/configuration.md):
 *   authz.tenants.<tenant>.user       Kubernetes user the tenant maps to (required per tenant;
 *                                     "system:serviceaccount:NS:NAME" for a ServiceAccount)
 *   authz.tenants.<tenant>.groups     comma list of groups (optional)
 *   authz.tenants.<tenant>.rate|burst|max-active   per-tenant overrides of the three below
 *   authz.rate (20/s), authz.burst (50), authz.max-active (0 = no cap beyond KubeVirt's)
 *   authz.tenant-topic-prefix         short-name prefix of the tenant topics ("requests.t.")
 *   authz.trusted-topics              take submissions on wukong.requests[.<cluster>] as trusted;
 *                                     default true when no tenant is configured, else false
 *   authz.router                      the router forwards the tenant topics (wk_authz_entry_topic);
 *                                     the executors do not read them themselves (false)
 *   authz.cache-ttl                   lifetime of a cached decision (10s; 0 = no cache)
 * Caps: WK_AUTHZ_TENANTS_MAX tenants (more is a configuration error), WK_AUTHZ_CACHE_MAX cached
 * decisions (past it the expired ones are dropped, then the whole cache: a miss only costs a
 * review), tenant names are DNS-1123 labels of at most 40 bytes. */
#ifndef WK_AUTHZ_H
#define WK_AUTHZ_H

#include "wk_common.h"
#include "wk_map.h"
#include "wk_ratelimit.h"

struct cJSON;
struct wk_config;

#define WK_AUTHZ_TENANTS_MAX 64
#define WK_AUTHZ_TENANT_LEN 41 /* a tenant name: a DNS-1123 label of at most 40 bytes */
#define WK_AUTHZ_CACHE_MAX 4096
#define WK_AUTHZ_CHECKS_MAX 4
#define WK_AUTHZ_FORBIDDEN "Forbidden" /* the dead letter's x-dlt-reason */

/* Who sent a submission, as the transport says. */
struct wk_authz_identity {
	bool trusted; /* a trusted shared topic: no review, the services' rights */
	char tenant[WK_AUTHZ_TENANT_LEN]; /* "" when trusted */
	char user[256];			  /* the Kubernetes user the tenant maps to */
	char groups[512]; /* comma list as configured (implied ones added on review) */
	char topic[256];  /* where it arrived */
};

/* What a person would need to do the same thing with kubectl (docs/security.md table). */
enum wk_authz_action {
	WK_AUTHZ_MIGRATE = 0,  /* create virtualmachineinstancemigrations in ns */
	WK_AUTHZ_MIGRATE_COLD, /* + patch virtualmachines in ns (the move stops and pins the VM) */
	WK_AUTHZ_CANCEL,       /* delete virtualmachineinstancemigrations in ns */
	WK_AUTHZ_DRAIN,	       /* update nodes/<node> (cordon), cluster scope */
	WK_AUTHZ_CLONE,	       /* create virtualmachineclones in the target ns, get virtualmachines
				* (source) and create virtualmachinesnapshots in the source ns */
};

/* One SubjectAccessReview's resourceAttributes. */
struct wk_authz_check {
	const char *verb, *group, *resource;
	char ns[64];	/* "" = cluster scope */
	char name[254]; /* "" = any */
};

/* The checks an action needs: ns/name are the object's (the VM's namespace and name; the node
 * for a drain, ns ignored), src_ns/src_name the clone's source. Returns how many (<=
 * WK_AUTHZ_CHECKS_MAX). */
size_t wk_authz_checks(enum wk_authz_action act, const char *ns, const char *name,
		       const char *src_ns, const char *src_name, struct wk_authz_check *out);
const char *wk_authz_action_name(enum wk_authz_action act);

struct wk_authz_tenant {
	char name[WK_AUTHZ_TENANT_LEN];
	char user[256];
	char groups[512];
	struct wk_tokenbucket bucket;
	long long max_active; /* 0 = no cap */
	long long active;     /* operations of this tenant holding a slot now (the caller counts) */
};

struct wk_authz {
	bool enabled;		/* at least one tenant configured */
	bool trusted_topics;	/* submissions on the shared / cluster topics are trusted */
	bool via_router;	/* authz.router: the cluster topic's ce_wktopic names the entry */
	long long cache_ttl_ms; /* 0 = no cache */
	char topic_prefix[256]; /* full name prefix of the tenant topics ("wukong.requests.t.") */
	struct wk_authz_tenant *tenants;
	size_t ntenants;
	struct wk_map cache; /* key -> struct wk_authz_cached */
	/* counters for /metrics and the tests */
	unsigned long long reviews, cache_hits, denials;
};

/* Read the authz.* keys (cfg may not be NULL). now_ms starts the token buckets. -1 with errstr
 * (a config error: unknown tenant key, bad name, missing user, too many tenants). */
int wk_authz_init(struct wk_authz *a, const struct wk_config *cfg, int64_t now_ms, char *errstr,
		  size_t errstr_size);
void wk_authz_release(struct wk_authz *a);

/* The configured tenant names, for the subscription (wk_service): calls cb for each valid one,
 * in key order. Returns how many. */
size_t wk_authz_tenant_names(const struct wk_config *cfg,
			     void (*cb)(const char *tenant, void *opaque), void *opaque);

/* Is topic a tenant's request topic (authz.tenant-topic-prefix + a name)? Such a topic carries
 * every cluster's requests of that tenant, like the shared one: an executor skips (does not
 * dead-letter) another cluster's. */
bool wk_authz_is_tenant_topic(const struct wk_authz *a, const char *topic);

/* The topic a submission entered on. With authz.router (the multi-cluster router forwards the
 * tenants' topics to wukong.requests.<cluster>, which only it may write: deploy/'s ACLs), a
 * message on the cluster topic names it in its ce_wktopic header (wktopic, NULL when absent);
 * otherwise, and for any other topic, it is the topic itself. */
const char *wk_authz_entry_topic(const struct wk_authz *a, const char *topic,
				 const char *cluster_topic, const char *wktopic);

/* The identity of a submission that arrived on topic. shared_topics: the shared and per-cluster
 * request topics (NULL-terminated full names). 0, or -1 with the reason (dead letter
 * "Forbidden"): a tenant topic of an unconfigured tenant, a shared topic that is not trusted,
 * any other topic. */
int wk_authz_identify(const struct wk_authz *a, const char *topic, const char *const *shared_topics,
		      struct wk_authz_identity *id, char *errstr, size_t errstr_size);

/* "tenant 'a' (user 'system:serviceaccount:team-a:ci')" / "trusted topic 'wukong.requests'":
 * for messages and audit records. */
void wk_authz_describe(const struct wk_authz_identity *id, char *out, size_t out_size);
/* The identity as an audit details object {"tenant","user","groups","topic","trusted"}. */
struct cJSON *wk_authz_identity_json(const struct wk_authz_identity *id);

/* The SubjectAccessReview to POST for one check (the caller frees it). A ServiceAccount user
 * also gets the groups the API server's authenticator gives it (system:serviceaccounts,
 * system:serviceaccounts:NS, system:authenticated); any other user system:authenticated. */
struct cJSON *wk_authz_review_body(const struct wk_authz_identity *id,
				   const struct wk_authz_check *c);
/* Read the answer: 0 with *allowed and reason (status.reason, else status.evaluationError,
 * else ""), -1 when it is not a SubjectAccessReview with a boolean status.allowed. */
int wk_authz_review_parse(const struct cJSON *resp, bool *allowed, char *reason,
			  size_t reason_size);
/* The denial text: "user 'U' may not VERB RESOURCE.GROUP 'NAME' in namespace 'NS'
 * (SubjectAccessReview: REASON)". */
void wk_authz_denial(const struct wk_authz_identity *id, const struct wk_authz_check *c,
		     const char *reason, char *out, size_t out_size);

/* The cache: 1 and the decision when a decision for (identity, check) younger than the TTL is
 * held, else 0. A decision is never used past its fetch time + cache_ttl_ms: that is the bound
 * on how long a revoked RoleBinding can still allow (docs/security.md). */
int wk_authz_cache_get(struct wk_authz *a, const struct wk_authz_identity *id,
		       const struct wk_authz_check *c, int64_t now_ms, bool *allowed, char *reason,
		       size_t reason_size);
void wk_authz_cache_put(struct wk_authz *a, const struct wk_authz_identity *id,
			const struct wk_authz_check *c, bool allowed, const char *reason,
			int64_t now_ms);

/* The tenant's record (NULL for a trusted identity or an unknown tenant). */
struct wk_authz_tenant *wk_authz_tenant(struct wk_authz *a, const char *tenant);
/* Take one token of the tenant's rate; false = over its rate (the caller retries later, which
 * holds back that tenant's partitions only). Trusted identities are not limited. */
bool wk_authz_rate_take(struct wk_authz *a, const struct wk_authz_identity *id, int64_t now_ms);
/* May the tenant start one more operation (active < max-active)? true for no cap / trusted. */
bool wk_authz_slot_free(const struct wk_authz *a, const char *tenant);

#endif
