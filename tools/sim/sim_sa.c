/* sim_sa.c - the ServiceAccount token table behind the TokenRequest API (sim_sa.h). */
#include "sim_sa.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

struct sa_token {
	char token[65]; /* 64 hex characters; "" = free slot */
	char ns[64], name[254], uid[64];
	int64_t expires_s;
};

struct sim_sa {
	pthread_mutex_t lock;
	struct sa_token *t;
	size_t n;
};

struct sim_sa *sim_sa_new(void)
{
	struct sim_sa *sa = wk_xcalloc(1, sizeof(*sa));

	pthread_mutex_init(&sa->lock, NULL);
	return sa;
}

void sim_sa_destroy(struct sim_sa *sa)
{
	if (!sa)
		return;
	if (sa->t)
		OPENSSL_cleanse(sa->t, sa->n * sizeof(*sa->t));
	free(sa->t);
	pthread_mutex_destroy(&sa->lock);
	free(sa);
}

char *sim_sa_issue(struct sim_sa *sa, const char *ns, const char *name, const char *uid,
		   int64_t now_s, int64_t expiry_s)
{
	unsigned char rnd[32];
	struct sa_token *slot = NULL;
	char *out;

	if (!ns || !name || strlen(ns) >= sizeof(slot->ns) || strlen(name) >= sizeof(slot->name) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	pthread_mutex_lock(&sa->lock);
	for (size_t i = 0; i < sa->n && !slot; i++)
		if (!sa->t[i].token[0] || sa->t[i].expires_s <= now_s)
			slot = &sa->t[i];
	if (!slot && sa->n < SIM_SA_MAX_TOKENS) {
		sa->t = wk_xrealloc(sa->t, (sa->n + 1) * sizeof(*sa->t));
		slot = &sa->t[sa->n++];
	}
	if (!slot) {
		pthread_mutex_unlock(&sa->lock);
		return NULL;
	}
	memset(slot, 0, sizeof(*slot));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(slot->token + 2 * i, 3, "%02x", rnd[i]);
	wk_strlcpy(slot->ns, ns, sizeof(slot->ns));
	wk_strlcpy(slot->name, name, sizeof(slot->name));
	wk_strlcpy(slot->uid, uid ? uid : "", sizeof(slot->uid));
	slot->expires_s = now_s + expiry_s;
	out = wk_xstrdup(slot->token);
	pthread_mutex_unlock(&sa->lock);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return out;
}

bool sim_sa_lookup(struct sim_sa *sa, const char *token, int64_t now_s, char *ns, size_t ns_size,
		   char *name, size_t name_size, char *uid, size_t uid_size)
{
	bool found = false;
	size_t len;

	if (!sa || !token)
		return false;
	len = strlen(token);
	if (len != 64)
		return false;
	pthread_mutex_lock(&sa->lock);
	for (size_t i = 0; i < sa->n && !found; i++) {
		const struct sa_token *t = &sa->t[i];

		if (!t->token[0] || t->expires_s <= now_s ||
		    CRYPTO_memcmp(t->token, token, len) != 0)
			continue;
		wk_strlcpy(ns, t->ns, ns_size);
		wk_strlcpy(name, t->name, name_size);
		wk_strlcpy(uid, t->uid, uid_size);
		found = true;
	}
	pthread_mutex_unlock(&sa->lock);
	return found;
}

int sim_sa_request_expiry(const cJSON *body, int64_t *expiry_s, char *msg, size_t msg_size)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(body, "spec");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(spec, "expirationSeconds");

	*expiry_s = SIM_SA_DEFAULT_EXPIRY_S;
	if (!e || cJSON_IsNull(e))
		return 0;
	if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int64_t)e->valuedouble) {
		snprintf(msg, msg_size, "spec.expirationSeconds: Invalid value: must be an integer");
		return -1;
	}
	if (e->valuedouble < SIM_SA_MIN_EXPIRY_S) {
		/* apis/authentication/validation: "may not specify a duration less than 10 minutes" */
		snprintf(msg, msg_size,
			 "spec.expirationSeconds: Invalid value: %lld: may not specify a duration "
			 "less than 10 minutes",
			 (long long)e->valuedouble);
		return -1;
	}
	if (e->valuedouble > (double)((int64_t)1 << 32)) {
		snprintf(msg, msg_size,
			 "spec.expirationSeconds: Invalid value: %.0f: may not specify a duration "
			 "larger than 2^32 seconds",
			 e->valuedouble);
		return -1;
	}
	*expiry_s = (int64_t)e->valuedouble;
	if (*expiry_s > SIM_SA_MAX_EXPIRY_S)
		*expiry_s = SIM_SA_MAX_EXPIRY_S;
	return 0;
}
