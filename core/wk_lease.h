/* wk_lease.h - leader election on a coordination.k8s.io/v1 Lease as client-go's leaderelection
 * and leaselock do it (reference k8s-api.md §8), for any service that must be the one active
 * instance per cluster. The decisions are pure functions of the fetched Lease and injected clocks
 * (unit-tested); wk_lease_step() does the REST calls.
 *
 * struct wk_lease is caller-owned (wk_lease_init; it holds no heap memory, so no release).
 * Expiry of another holder's lease is judged by the local monotonic clock from when a change of
 * the Lease was last observed, never by comparing renewTime with the local clock (skew-tolerant).
 */
#ifndef WK_LEASE_H
#define WK_LEASE_H

#include "wk_common.h"

struct cJSON;
struct wk_k8s;

struct wk_lease_spec {
	char holder[256];
	long duration_s;
	int64_t acquire_us; /* wall clock, 0 = unset */
	int64_t renew_us;
	long transitions;
};

struct wk_lease {
	char identity[256];
	char ns[64];
	char name[254];
	long duration_s;	/* leaseDurationSeconds, default 15 */
	long renew_deadline_ms; /* default 10000: a leader that cannot renew for this long stops */
	long retry_ms;		/* default 2000: the try / renew period */

	bool leader;
	int64_t renewed_ms;	/* monotonic time of the last successful acquire/renew */
	uint64_t observed_hash; /* hash of the last fetched spec */
	int64_t observed_ms;	/* monotonic time it was first seen */
	bool observed;
	struct wk_lease_spec held; /* what we last wrote */
	char rv[64];		   /* its resourceVersion (fast-path renew) */
	uint64_t acquisitions;	   /* leadership gains of this process (metric) */
};

/* Defaults 15 s / 10 s / 2 s; identity is usually "<hostname>_<uuid>". */
void wk_lease_init(struct wk_lease *l, const char *identity, const char *ns, const char *name);
/* LeaseDuration > RenewDeadline > 1.2 * RetryPeriod (client-go's own check); -1 otherwise. */
int wk_lease_check(const struct wk_lease *l, char *errstr, size_t errstr_size);
/* "<hostname>_<random uuid>" into out. */
void wk_lease_identity(char *out, size_t out_size);

/* Parse the spec of a Lease object; missing fields are zero/empty. -1 when obj has no spec. */
int wk_lease_parse(const struct cJSON *lease, struct wk_lease_spec *out);
/* Serialise a Lease (metadata.name/namespace and, when rv is non-empty, resourceVersion). */
struct cJSON *wk_lease_to_json(const struct wk_lease *l, const struct wk_lease_spec *s,
			       const char *rv);

/* client-go's tryAcquireOrRenew after a GET (exists = the Lease was found): true and *next
 * filled when this candidate should write the Lease now (create when !exists, else update with
 * the fetched resourceVersion); false when another holder's lease is still valid. Records the
 * observation (hash, local time) in l. now_ms monotonic, now_us wall clock. */
bool wk_lease_decide(struct wk_lease *l, bool exists, const struct wk_lease_spec *fetched,
		     int64_t now_ms, int64_t now_us, struct wk_lease_spec *next);
/* After a successful write of `written` (whose new resourceVersion is rv). */
void wk_lease_won(struct wk_lease *l, const struct wk_lease_spec *written, const char *rv,
		  int64_t now_ms);
/* Whether we may still act as leader: we hold it and the last renew is within the deadline. */
bool wk_lease_valid(const struct wk_lease *l, int64_t now_ms);
/* Fast path allowed: we are leader and the lease we hold is still valid locally. */
bool wk_lease_fast_path(const struct wk_lease *l, int64_t now_ms);

/* One acquire-or-renew try against the API (blocking, bounded by the client's timeouts); 0 on a
 * successful write, -1 otherwise (errstr says why: held by someone else, conflict, transport).
 * Drops leadership (l->leader = false) once the renew deadline has passed without a renew. */
int wk_lease_step(struct wk_lease *l, struct wk_k8s *c, char *errstr, size_t errstr_size);
/* Give the lease up (holder "", duration 1 s) so that a successor takes over at once. */
int wk_lease_release(struct wk_lease *l, struct wk_k8s *c, char *errstr, size_t errstr_size);

#endif
