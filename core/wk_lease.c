/* wk_lease.c - client-go style leader election on a coordination.k8s.io/v1 Lease. */
#include "wk_lease.h"

#include "wk_uuid.h"
#include "wk_k8s.h"
#include "wk_log.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <unistd.h>

void wk_lease_init(struct wk_lease *l, const char *identity, const char *ns, const char *name)
{
	memset(l, 0, sizeof(*l));
	wk_strlcpy(l->identity, identity, sizeof(l->identity));
	wk_strlcpy(l->ns, ns, sizeof(l->ns));
	wk_strlcpy(l->name, name, sizeof(l->name));
	l->duration_s = 15;
	l->renew_deadline_ms = 10000;
	l->retry_ms = 2000;
}

int wk_lease_check(const struct wk_lease *l, char *errstr, size_t errstr_size)
{
	if (!l->identity[0])
		return wk_err(errstr, errstr_size, "lease identity is empty");
	if (l->duration_s * 1000 <= l->renew_deadline_ms)
		return wk_err(
		    errstr, errstr_size,
		    "lease duration (%ld s) must be greater than the renew deadline (%ld ms)",
		    l->duration_s, l->renew_deadline_ms);
	if (l->retry_ms <= 0 || (double)l->renew_deadline_ms <= 1.2 * (double)l->retry_ms)
		return wk_err(
		    errstr, errstr_size,
		    "renew deadline (%ld ms) must be greater than 1.2 * retry period (%ld ms)",
		    l->renew_deadline_ms, l->retry_ms);
	return 0;
}

void wk_lease_identity(char *out, size_t out_size)
{
	char host[128], uuid[WK_UUID_LEN + 1];

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		wk_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	wk_uuid_v4(uuid);
	snprintf(out, out_size, "%s_%s", host, uuid);
}

static int64_t parse_micro(const cJSON *v)
{
	int64_t us;

	if (!cJSON_IsString(v) || wk_time_parse_us(v->valuestring, &us) < 0)
		return 0;
	return us;
}

int wk_lease_parse(const cJSON *lease, struct wk_lease_spec *out)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
	const cJSON *v;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(spec))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity");
	if (cJSON_IsString(v))
		wk_strlcpy(out->holder, v->valuestring, sizeof(out->holder));
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e6)
		out->duration_s = (long)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 2e9)
		out->transitions = (long)v->valuedouble;
	out->acquire_us = parse_micro(cJSON_GetObjectItemCaseSensitive(spec, "acquireTime"));
	out->renew_us = parse_micro(cJSON_GetObjectItemCaseSensitive(spec, "renewTime"));
	return 0;
}

/* FNV-1a over the fields: "differs byte-for-byte from the last one observed". */
static uint64_t spec_hash(const struct wk_lease_spec *s)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s|%ld|%lld|%lld|%ld", s->holder, s->duration_s,
			 (long long)s->acquire_us, (long long)s->renew_us, s->transitions);
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < n && i < (int)sizeof(buf); i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	return h;
}

cJSON *wk_lease_to_json(const struct wk_lease *l, const struct wk_lease_spec *s, const char *rv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON *spec;
	char t[40];

	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	cJSON_AddStringToObject(md, "name", l->name);
	cJSON_AddStringToObject(md, "namespace", l->ns);
	if (rv && *rv)
		cJSON_AddStringToObject(md, "resourceVersion", rv);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", s->holder);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)s->duration_s);
	wk_time_format_micro(s->acquire_us, t, sizeof(t));
	cJSON_AddStringToObject(spec, "acquireTime", t);
	wk_time_format_micro(s->renew_us, t, sizeof(t));
	cJSON_AddStringToObject(spec, "renewTime", t);
	cJSON_AddNumberToObject(spec, "leaseTransitions", (double)s->transitions);
	return o;
}

bool wk_lease_decide(struct wk_lease *l, bool exists, const struct wk_lease_spec *fetched,
		     int64_t now_ms, int64_t now_us, struct wk_lease_spec *next)
{
	uint64_t h;

	memset(next, 0, sizeof(*next));
	wk_strlcpy(next->holder, l->identity, sizeof(next->holder));
	next->duration_s = l->duration_s;
	next->acquire_us = now_us;
	next->renew_us = now_us;
	if (!exists)
		return true;
	h = spec_hash(fetched);
	if (!l->observed || h != l->observed_hash) {
		l->observed = true;
		l->observed_hash = h;
		l->observed_ms = now_ms;
	}
	if (fetched->holder[0] && strcmp(fetched->holder, l->identity)) {
		long d = fetched->duration_s > 0 ? fetched->duration_s : l->duration_s;

		if (l->observed_ms + d * 1000 > now_ms)
			return false; /* another holder's lease has not expired by our clock */
	}
	if (!strcmp(fetched->holder, l->identity)) {
		next->acquire_us = fetched->acquire_us ? fetched->acquire_us : now_us;
		next->transitions = fetched->transitions;
	} else {
		next->transitions = fetched->transitions + 1;
	}
	return true;
}

void wk_lease_won(struct wk_lease *l, const struct wk_lease_spec *written, const char *rv,
		  int64_t now_ms)
{
	if (!l->leader)
		l->acquisitions++;
	l->leader = true;
	l->renewed_ms = now_ms;
	l->held = *written;
	wk_strlcpy(l->rv, rv ? rv : "", sizeof(l->rv));
	l->observed = true; /* what we wrote is what we have observed */
	l->observed_hash = spec_hash(written);
	l->observed_ms = now_ms;
}

bool wk_lease_valid(const struct wk_lease *l, int64_t now_ms)
{
	return l->leader && now_ms - l->renewed_ms < l->renew_deadline_ms;
}

bool wk_lease_fast_path(const struct wk_lease *l, int64_t now_ms)
{
	return l->leader && l->rv[0] && now_ms < l->renewed_ms + l->duration_s * 1000;
}

static const char *rv_of(const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");

	return cJSON_IsString(rv) ? rv->valuestring : "";
}

/* PUT (rv non-empty) or POST the spec; on success take it. */
static int write_lease(struct wk_lease *l, struct wk_k8s *c, const struct wk_lease_spec *s,
		       const char *rv, char *errstr, size_t errstr_size)
{
	struct wk_k8s_result r;
	cJSON *o = wk_lease_to_json(l, s, rv);
	int rc;

	if (rv && *rv)
		rc = wk_k8s_replace(c, &wk_res_leases, l->ns, l->name, NULL, o, &r, errstr,
				    errstr_size);
	else
		rc = wk_k8s_create(c, &wk_res_leases, l->ns, o, &r, errstr, errstr_size);
	cJSON_Delete(o);
	if (rc == 0)
		wk_lease_won(l, s, rv_of(r.body), wk_time_mono_ms());
	wk_k8s_result_release(&r);
	return rc;
}

static void check_deadline(struct wk_lease *l)
{
	if (l->leader && !wk_lease_valid(l, wk_time_mono_ms())) {
		wk_warn("lease '%s/%s': not renewed for %ld ms: leadership lost", l->ns, l->name,
			l->renew_deadline_ms);
		l->leader = false;
		l->rv[0] = '\0';
	}
}

int wk_lease_step(struct wk_lease *l, struct wk_k8s *c, char *errstr, size_t errstr_size)
{
	struct wk_lease_spec fetched, next;
	struct wk_k8s_result r;
	char err[512], rv[64];
	bool exists;
	int rc;

	if (wk_lease_fast_path(l, wk_time_mono_ms())) {
		next = l->held;
		next.renew_us = wk_time_now_ms() * 1000;
		if (write_lease(l, c, &next, l->rv, err, sizeof(err)) == 0)
			return 0;
		wk_debug("lease fast renew failed: %s", err);
	}
	rc = wk_k8s_get(c, &wk_res_leases, l->ns, l->name, &r, err, sizeof(err));
	exists = rc == 0;
	if (rc < 0 && r.err != WK_K8S_ENOTFOUND) {
		wk_k8s_result_release(&r);
		check_deadline(l);
		return wk_err(errstr, errstr_size, "%s", err);
	}
	if (!exists || wk_lease_parse(r.body, &fetched) < 0)
		memset(&fetched, 0, sizeof(fetched)); /* a Lease without spec: take it */
	if (!wk_lease_decide(l, exists, &fetched, wk_time_mono_ms(), wk_time_now_ms() * 1000,
			     &next)) {
		wk_k8s_result_release(&r);
		if (l->leader) {
			wk_warn("lease '%s/%s' is held by '%s': leadership lost", l->ns, l->name,
				fetched.holder);
			l->leader = false;
			l->rv[0] = '\0';
		}
		return wk_err(errstr, errstr_size, "lease '%s/%s' is held by '%s'", l->ns, l->name,
			      fetched.holder);
	}
	wk_strlcpy(rv, exists ? rv_of(r.body) : "", sizeof(rv));
	wk_k8s_result_release(&r);
	if (exists && !rv[0]) {
		check_deadline(l);
		return wk_err(errstr, errstr_size, "lease '%s/%s' has no resourceVersion", l->ns,
			      l->name);
	}
	if (write_lease(l, c, &next, rv, err, sizeof(err)) < 0) {
		check_deadline(l);
		return wk_err(errstr, errstr_size, "%s", err);
	}
	return 0;
}

int wk_lease_release(struct wk_lease *l, struct wk_k8s *c, char *errstr, size_t errstr_size)
{
	struct wk_lease_spec s;
	int64_t now_us = wk_time_now_ms() * 1000;
	int rc;

	if (!l->leader || !l->rv[0])
		return 0;
	s = l->held;
	s.holder[0] = '\0';
	s.duration_s = 1;
	s.renew_us = now_us;
	s.acquire_us = now_us;
	rc = write_lease(l, c, &s, l->rv, errstr, errstr_size);
	l->leader = false;
	l->rv[0] = '\0';
	return rc;
}
