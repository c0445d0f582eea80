/* sim_proto.c - decode the protobuf bodies of the auth requests (sim_proto.h). */
#include "sim_proto.h"

struct pb {
	const unsigned char *p, *end;
};

/* One field: its number, wire type, and either a varint or a byte range. 0 at the end, 1 for a
 * field, -1 when malformed. */
struct field {
	uint32_t num;
	int wt;
	uint64_t v;
	const unsigned char *data;
	size_t len;
};

static int varint(struct pb *b, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return -1;
		v |= (uint64_t)(*b->p & 0x7f) << shift;
		if (!(*b->p++ & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int next(struct pb *b, struct field *f)
{
	uint64_t key, n;

	if (b->p >= b->end)
		return 0;
	if (varint(b, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	f->data = NULL;
	f->len = 0;
	switch (f->wt) {
	case 0:
		return varint(b, &f->v) < 0 ? -1 : 1;
	case 1:
		if (b->end - b->p < 8)
			return -1;
		b->p += 8;
		return 1;
	case 2:
		if (varint(b, &n) < 0 || n > (uint64_t)(b->end - b->p))
			return -1;
		f->data = b->p;
		f->len = (size_t)n;
		b->p += n;
		return 1;
	case 5:
		if (b->end - b->p < 4)
			return -1;
		b->p += 4;
		return 1;
	default:
		return -1;
	}
}

static bool add_str(cJSON *o, const char *key, const struct field *f)
{
	char *s;

	if (f->wt != 2 || f->len > SIM_PROTO_MAX_STRING || memchr(f->data, 0, f->len))
		return false;
	s = wk_xstrndup((const char *)f->data, f->len);
	cJSON_AddStringToObject(o, key, s);
	free(s);
	return true;
}

/* A message whose fields are strings (names[i] for field i+1, NULL = skipped), or, for
 * repeated string fields, arrays. */
static int strings_msg(const unsigned char *d, size_t len, cJSON *o, const char *const *names,
		       size_t nnames, uint32_t repeated)
{
	struct pb b = {d, d + len};
	struct field f;
	int rc;

	while ((rc = next(&b, &f)) == 1) {
		if (f.num == 0 || f.num > nnames || !names[f.num - 1])
			continue;
		if (repeated == f.num) {
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, names[f.num - 1]);
			char *s;

			if (f.wt != 2 || f.len > SIM_PROTO_MAX_STRING || memchr(f.data, 0, f.len))
				return -1;
			if (!arr)
				arr = cJSON_AddArrayToObject(o, names[f.num - 1]);
			if (cJSON_GetArraySize(arr) >= 64)
				return -1;
			s = wk_xstrndup((const char *)f.data, f.len);
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		} else if (!add_str(o, names[f.num - 1], &f)) {
			return -1;
		}
	}
	return rc;
}

static int resource_attrs(const unsigned char *d, size_t len, cJSON *o)
{
	static const char *const n[] = {"namespace", "verb",	    "group", "version",
					"resource",  "subresource", "name"};

	return strings_msg(d, len, o, n, WK_ARRAY_SIZE(n), 0);
}

static int nonresource_attrs(const unsigned char *d, size_t len, cJSON *o)
{
	static const char *const n[] = {"path", "verb"};

	return strings_msg(d, len, o, n, WK_ARRAY_SIZE(n), 0);
}

/* SelfSubjectAccessReviewSpec {1 resourceAttributes, 2 nonResourceAttributes};
 * SubjectAccessReviewSpec adds 3 user, 4 groups (repeated), 5 extra (skipped), 6 uid. */
static int review_spec(const unsigned char *d, size_t len, cJSON *spec, bool subject)
{
	struct pb b = {d, d + len};
	struct field f;
	int rc;

	while ((rc = next(&b, &f)) == 1) {
		if (f.wt != 2)
			continue;
		if (f.num == 1) {
			if (resource_attrs(f.data, f.len,
					   cJSON_AddObjectToObject(spec, "resourceAttributes")) < 0)
				return -1;
		} else if (f.num == 2) {
			if (nonresource_attrs(f.data, f.len, cJSON_AddObjectToObject(
								 spec, "nonResourceAttributes")) < 0)
				return -1;
		} else if (subject && f.num == 3) {
			if (!add_str(spec, "user", &f))
				return -1;
		} else if (subject && f.num == 4) {
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, "groups");
			char *s;

			if (f.len > SIM_PROTO_MAX_STRING || memchr(f.data, 0, f.len))
				return -1;
			if (!arr)
				arr = cJSON_AddArrayToObject(spec, "groups");
			if (cJSON_GetArraySize(arr) >= 64)
				return -1;
			s = wk_xstrndup((const char *)f.data, f.len);
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		} else if (subject && f.num == 6) {
			if (!add_str(spec, "uid", &f))
				return -1;
		}
	}
	return rc;
}

/* TokenRequestSpec {1 audiences (repeated), 4 expirationSeconds (int64)}; boundObjectRef (3)
 * is not supported by the simulator and skipped. */
static int token_spec(const unsigned char *d, size_t len, cJSON *spec)
{
	struct pb b = {d, d + len};
	struct field f;
	int rc;

	while ((rc = next(&b, &f)) == 1) {
		if (f.num == 4 && f.wt == 0) {
			cJSON_AddNumberToObject(spec, "expirationSeconds", (double)(int64_t)f.v);
		} else if (f.num == 1 && f.wt == 2) {
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, "audiences");
			char *s;

			if (f.len > SIM_PROTO_MAX_STRING || memchr(f.data, 0, f.len))
				return -1;
			if (!arr)
				arr = cJSON_AddArrayToObject(spec, "audiences");
			if (cJSON_GetArraySize(arr) >= 64)
				return -1;
			s = wk_xstrndup((const char *)f.data, f.len);
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		}
	}
	return rc;
}

cJSON *sim_proto_decode(const char *body, size_t len, char *errstr, size_t errstr_size)
{
	const unsigned char *u = (const unsigned char *)body;
	struct pb b;
	struct field f;
	const unsigned char *raw = NULL;
	size_t raw_len = 0;
	char api[128] = "", kind[128] = "";
	cJSON *o, *spec;
	int rc;

	if (!body || len < 4 || memcmp(body, "k8s\0", 4)) {
		wk_err(errstr, errstr_size, "protobuf body without the k8s envelope");
		return NULL;
	}
	b = (struct pb){u + 4, u + len};
	while ((rc = next(&b, &f)) == 1) {
		if (f.num == 1 && f.wt == 2) {
			struct pb tb = {f.data, f.data + f.len};
			struct field g;
			int r2;

			while ((r2 = next(&tb, &g)) == 1) {
				if (g.wt != 2 || g.len >= sizeof(api))
					continue;
				if (g.num == 1)
					snprintf(api, sizeof(api), "%.*s", (int)g.len, g.data);
				else if (g.num == 2)
					snprintf(kind, sizeof(kind), "%.*s", (int)g.len, g.data);
			}
			if (r2 < 0)
				rc = -1;
		} else if (f.num == 2 && f.wt == 2) {
			raw = f.data;
			raw_len = f.len;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !raw) {
		wk_err(errstr, errstr_size, "malformed protobuf body");
		return NULL;
	}
	if (strcmp(kind, "TokenRequest") && strcmp(kind, "SelfSubjectAccessReview") &&
	    strcmp(kind, "SubjectAccessReview")) {
		wk_err(errstr, errstr_size, "protobuf bodies of kind '%.100s' are not supported",
		       kind);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	spec = cJSON_AddObjectToObject(o, "spec");
	b = (struct pb){raw, raw + raw_len};
	while ((rc = next(&b, &f)) == 1) {
		if (f.num != 2 || f.wt != 2)
			continue; /* metadata (1) and status (3) are the server's */
		if (!strcmp(kind, "TokenRequest"))
			rc = token_spec(f.data, f.len, spec);
		else
			rc = review_spec(f.data, f.len, spec, !strcmp(kind, "SubjectAccessReview"));
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		cJSON_Delete(o);
		wk_err(errstr, errstr_size, "malformed protobuf %s", kind);
		return NULL;
	}
	return o;
}
