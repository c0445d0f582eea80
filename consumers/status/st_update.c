/* st_update.c - wukong.status body validation (the C twin of schemas/status-update.v1.json). */
#include "st_update.h"

#include "wk_name.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>

const char *const st_field_names[ST_F_NFIELDS] = {"migrationStatus", "cloneStatus", "status"};

enum kt {
	K_STR,
	K_MSG,
	K_TIME,
	K_PERCENT,
	K_BYTES,
	K_RATE,
	K_SECONDS,
	K_BOOL,
	K_QUEUE,
	K_PHASE,   /* the CRD's status.phase enum */
	K_STRS,	   /* array of at most 16 strings of at most 64 bytes (IP addresses) */
	K_DISKS,   /* array of at most 16 disk objects (disk_keys) */
	K_VOLUMES, /* array of at most 32 volume objects (volume_keys): a per-volume clone */
};

struct key {
	const char *name;
	enum kt type;
};

static const struct key migration_keys[] = {
    {"phase", K_STR},
    {"requestId", K_STR},
    {"sourceNode", K_STR},
    {"targetNode", K_STR},
    {"progress", K_PERCENT},
    {"queuePosition", K_QUEUE},
    {"startedAt", K_TIME},
    {"completedAt", K_TIME},
    {"message", K_MSG},
    {"mode", K_STR},
    {"downtimeSeconds", K_SECONDS},
    {"etaSeconds", K_SECONDS},
    {"dataProcessedBytes", K_BYTES},
    {"dataRemainingBytes", K_BYTES},
    {"dataTotalBytes", K_BYTES},
    {"transferRateBytesPerSecond", K_RATE},
    {"dirtyRateBytesPerSecond", K_RATE},
    {"converging", K_BOOL},
    {NULL, K_STR},
};

static const struct key clone_keys[] = {
    {"phase", K_STR},	     {"requestId", K_STR},
    {"progress", K_PERCENT}, {"source", K_STR},
    {"snapshotName", K_STR}, {"startedAt", K_TIME},
    {"completedAt", K_TIME}, {"message", K_MSG},
    {"consistency", K_STR},  {"etaSeconds", K_SECONDS},
    {"method", K_STR},	     {"volumes", K_VOLUMES},
    {NULL, K_STR},
};

/* Top-level status keys (ST_F_TOP), the provisioner's. */
static const struct key top_keys[] = {
    {"phase", K_PHASE},	     {"nodeName", K_STR}, {"vmName", K_STR},
    {"ipAddresses", K_STRS}, {"disks", K_DISKS},  {NULL, K_STR},
};

static const struct key disk_keys[] = {
    {"name", K_STR},	 {"dataVolume", K_STR}, {"phase", K_STR},
    {"progress", K_STR}, {"message", K_MSG},	{NULL, K_STR},
};

static const struct key volume_keys[] = {
    {"name", K_STR},	   {"sourceClaim", K_STR}, {"volumeSnapshot", K_STR},
    {"dataVolume", K_STR}, {"phase", K_STR},	   {NULL, K_STR},
};

static int check_value(const struct key *k, const cJSON *v, const char *path, char *errstr,
		       size_t errstr_size);

/* One element of status.disks (disk_keys) or cloneStatus.volumes (volume_keys): an object of
 * those keys, no duplicates, no nulls. */
static int check_disk(const cJSON *d, const struct key *keys, const char *path, char *errstr,
		      size_t errstr_size)
{
	const cJSON *v;
	char p[200];

	if (!cJSON_IsObject(d))
		return wk_err(errstr, errstr_size, "%s: not an object", path);
	cJSON_ArrayForEach(v, d)
	{
		const struct key *k;

		for (k = keys; k->name && strcmp(k->name, v->string); k++)
			;
		snprintf(p, sizeof(p), "%.128s.%.32s", path, v->string);
		if (!k->name)
			return wk_err(errstr, errstr_size, "%s: unknown key", p);
		if (cJSON_IsNull(v) || check_value(k, v, p, errstr, errstr_size) < 0)
			return cJSON_IsNull(v) ? wk_err(errstr, errstr_size, "%s: null", p) : -1;
		for (const cJSON *w = v->next; w; w = w->next)
			if (!strcmp(w->string, v->string))
				return wk_err(errstr, errstr_size, "%s: duplicate key", p);
	}
	return 0;
}

void st_update_init(struct st_update *u)
{
	memset(u, 0, sizeof(*u));
	u->observed_generation = -1;
}

void st_update_release(struct st_update *u)
{
	for (int i = 0; i < ST_F_NFIELDS; i++)
		cJSON_Delete(u->fields[i]);
	cJSON_Delete(u->conditions);
	st_update_init(u);
}

/* A JSON integer in [min, max] (a double without fraction; 2^53-1 keeps it exact). */
static bool is_int(const cJSON *v, double min, double max)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= min &&
	       v->valuedouble <= max && floor(v->valuedouble) == v->valuedouble;
}

static bool utf8_len_ok(const char *s, size_t max)
{
	/* maxLength counts characters; counting bytes is stricter and never lets more through */
	return strlen(s) <= max;
}

static int check_value(const struct key *k, const cJSON *v, const char *path, char *errstr,
		       size_t errstr_size)
{
	int64_t t;

	if (cJSON_IsNull(v))
		return 0; /* merge patch: remove the key */
	switch (k->type) {
	case K_STR:
	case K_MSG:
		if (!cJSON_IsString(v))
			return wk_err(errstr, errstr_size, "%s: not a string", path);
		if (!utf8_len_ok(v->valuestring, k->type == K_STR ? 1024 : 4096))
			return wk_err(errstr, errstr_size, "%s: longer than %d bytes", path,
				      k->type == K_STR ? 1024 : 4096);
		return 0;
	case K_TIME:
		if (!cJSON_IsString(v) || strlen(v->valuestring) > 64 ||
		    wk_time_parse_ms(v->valuestring, &t) < 0)
			return wk_err(errstr, errstr_size, "%s: not an RFC 3339 date-time", path);
		return 0;
	case K_PERCENT:
		if (!is_int(v, 0, 100))
			return wk_err(errstr, errstr_size, "%s: not an integer in [0, 100]", path);
		return 0;
	case K_QUEUE:
		if (!is_int(v, 0, 1e9))
			return wk_err(errstr, errstr_size, "%s: not an integer in [0, 1e9]", path);
		return 0;
	case K_BYTES:
		if (!is_int(v, 0, (double)ST_SEQ_MAX))
			return wk_err(errstr, errstr_size, "%s: not an integer in [0, 2^53-1]",
				      path);
		return 0;
	case K_RATE:
	case K_SECONDS:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
		    v->valuedouble > (k->type == K_RATE ? 1e15 : 1e9))
			return wk_err(errstr, errstr_size, "%s: not a number in range", path);
		return 0;
	case K_BOOL:
		if (!cJSON_IsBool(v))
			return wk_err(errstr, errstr_size, "%s: not a boolean", path);
		return 0;
	case K_PHASE: {
		static const char *const phases[] = {"Pending", "Provisioning", "Running",
						     "Stopped", "Migrating",	"Failed"};

		for (size_t i = 0; cJSON_IsString(v) && i < WK_ARRAY_SIZE(phases); i++)
			if (!strcmp(v->valuestring, phases[i]))
				return 0;
		return wk_err(errstr, errstr_size,
			      "%s: not one of Pending, Provisioning, Running, Stopped, Migrating, "
			      "Failed",
			      path);
	}
	case K_STRS:
	case K_DISKS:
	case K_VOLUMES: {
		const cJSON *e;
		char p[128];
		int i = 0, max = k->type == K_VOLUMES ? 32 : 16;

		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > max)
			return wk_err(errstr, errstr_size, "%s: not an array of at most %d items",
				      path, max);
		cJSON_ArrayForEach(e, v)
		{
			snprintf(p, sizeof(p), "%s[%d]", path, i++);
			if (k->type != K_STRS) {
				if (check_disk(e, k->type == K_VOLUMES ? volume_keys : disk_keys, p,
					       errstr, errstr_size) < 0)
					return -1;
			} else if (!cJSON_IsString(e) || strlen(e->valuestring) > 64) {
				return wk_err(errstr, errstr_size,
					      "%s: not a string of at most 64 bytes", p);
			}
		}
		return 0;
	}
	}
	return wk_err(errstr, errstr_size, "%s: unexpected", path);
}

static int check_object(const cJSON *o, const struct key *keys, const char *field, char *errstr,
			size_t errstr_size)
{
	const cJSON *v;
	char path[128];

	if (!cJSON_IsObject(o))
		return wk_err(errstr, errstr_size, "%s: not an object", field);
	cJSON_ArrayForEach(v, o)
	{
		const struct key *k;

		for (k = keys; k->name && strcmp(k->name, v->string); k++)
			;
		snprintf(path, sizeof(path), "%s.%.64s", field, v->string);
		if (!k->name)
			return wk_err(errstr, errstr_size, "%s: unknown key", path);
		if (check_value(k, v, path, errstr, errstr_size) < 0)
			return -1;
		/* cJSON keeps duplicate keys; a merge patch with two answers is ambiguous */
		for (const cJSON *w = v->next; w; w = w->next)
			if (!strcmp(w->string, v->string))
				return wk_err(errstr, errstr_size, "%s: duplicate key", path);
	}
	return 0;
}

static bool match(const char *pattern, const char *s)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static bool condition_type_ok(const char *s)
{
	return *s && strlen(s) <= 316 &&
	       match("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
		     "[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
		     s);
}

static int check_condition(const cJSON *c, int i, char *errstr, size_t errstr_size)
{
	const cJSON *v;
	int64_t t;

	if (!cJSON_IsObject(c))
		return wk_err(errstr, errstr_size, "conditions[%d]: not an object", i);
	cJSON_ArrayForEach(v, c)
	{
		const char *k = v->string;

		for (const cJSON *w = v->next; w; w = w->next)
			if (!strcmp(w->string, k))
				return wk_err(errstr, errstr_size,
					      "conditions[%d].%.64s: duplicate key", i, k);
		if (!strcmp(k, "type")) {
			if (!cJSON_IsString(v) || !condition_type_ok(v->valuestring))
				return wk_err(errstr, errstr_size,
					      "conditions[%d].type: not a condition type", i);
		} else if (!strcmp(k, "status")) {
			if (!cJSON_IsString(v) ||
			    (strcmp(v->valuestring, "True") && strcmp(v->valuestring, "False") &&
			     strcmp(v->valuestring, "Unknown")))
				return wk_err(errstr, errstr_size,
					      "conditions[%d].status: not True, False or Unknown",
					      i);
		} else if (!strcmp(k, "reason")) {
			if (!cJSON_IsString(v) || strlen(v->valuestring) > 1024 ||
			    (*v->valuestring &&
			     !match("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", v->valuestring)))
				return wk_err(errstr, errstr_size,
					      "conditions[%d].reason: not a CamelCase reason", i);
		} else if (!strcmp(k, "message")) {
			if (!cJSON_IsString(v) || strlen(v->valuestring) > 32768)
				return wk_err(errstr, errstr_size,
					      "conditions[%d].message: not a string of at most "
					      "32768 bytes",
					      i);
		} else if (!strcmp(k, "lastTransitionTime")) {
			if (!cJSON_IsString(v) || strlen(v->valuestring) > 64 ||
			    wk_time_parse_ms(v->valuestring, &t) < 0)
				return wk_err(errstr, errstr_size,
					      "conditions[%d].lastTransitionTime: not a date-time",
					      i);
		} else if (!strcmp(k, "observedGeneration")) {
			if (!is_int(v, 0, (double)ST_SEQ_MAX))
				return wk_err(errstr, errstr_size,
					      "conditions[%d].observedGeneration: not an integer",
					      i);
		} else {
			return wk_err(errstr, errstr_size, "conditions[%d].%.64s: unknown key", i,
				      k);
		}
	}
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "type")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "status")))
		return wk_err(errstr, errstr_size, "conditions[%d]: type and status are required",
			      i);
	/* two entries of one type in one update: which one wins is not defined, refuse it */
	for (const cJSON *w = c->next; w; w = w->next) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "type");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(w, "type");

		if (cJSON_IsString(b) && !strcmp(a->valuestring, b->valuestring))
			return wk_err(errstr, errstr_size, "conditions[%d]: type '%.64s' repeated",
				      i, a->valuestring);
	}
	return 0;
}

static int copy_label(const cJSON *o, const char *k, char *out, size_t size, bool subdomain,
		      char *errstr, size_t errstr_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(v))
		return wk_err(errstr, errstr_size, "%s: missing or not a string", k);
	if (subdomain ? !wk_name_is_dns1123_subdomain(v->valuestring)
		      : !wk_name_is_dns1123_label(v->valuestring))
		return wk_err(errstr, errstr_size, "%s: '%.64s' is not a DNS-1123 %s", k,
			      v->valuestring, subdomain ? "subdomain" : "label");
	if (!wk_strlcpy(out, v->valuestring, size))
		return wk_err(errstr, errstr_size, "%s: too long", k);
	return 0;
}

/* cJSON turns "\u0000" into a C string cut at the NUL: "a\u0000b" would read as "a" and
 * address another object. Refuse the escape anywhere (no legitimate status carries it). */
static bool has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
			return true;
		i++; /* skip the escaped character (also a second backslash) */
	}
	return false;
}

int st_update_parse(struct st_update *u, const char *body, size_t len, char *errstr,
		    size_t errstr_size)
{
	cJSON *o, *v, *st;
	int rc = -1;

	st_update_init(u);
	if (len == 0)
		return wk_err(errstr, errstr_size, "empty body");
	if (len > ST_BODY_MAX)
		return wk_err(errstr, errstr_size, "body of %zu bytes is over the cap (%d)", len,
			      ST_BODY_MAX);
	if (memchr(body, '\0', len) || has_nul_escape(body, len))
		return wk_err(errstr, errstr_size, "body contains a NUL character");
	o = cJSON_ParseWithLength(body, len);
	if (!o)
		return wk_err(errstr, errstr_size, "body is not JSON");
	if (!cJSON_IsObject(o)) {
		wk_err(errstr, errstr_size, "body is not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(v, o)
	{
		static const char *const known[] = {"cluster", "namespace", "name",
						    "source",  "seq",	    "observedGeneration",
						    "status",  "conditions"};
		size_t i;

		for (i = 0; i < WK_ARRAY_SIZE(known) && strcmp(known[i], v->string); i++)
			;
		if (i == WK_ARRAY_SIZE(known)) {
			wk_err(errstr, errstr_size, "%.64s: unknown key", v->string);
			goto out;
		}
		for (const cJSON *w = v->next; w; w = w->next)
			if (!strcmp(w->string, v->string)) {
				wk_err(errstr, errstr_size, "%.64s: duplicate key", v->string);
				goto out;
			}
	}
	if (copy_label(o, "cluster", u->cluster, sizeof(u->cluster), false, errstr, errstr_size) <
		0 ||
	    copy_label(o, "namespace", u->ns, sizeof(u->ns), false, errstr, errstr_size) < 0 ||
	    copy_label(o, "name", u->name, sizeof(u->name), true, errstr, errstr_size) < 0 ||
	    copy_label(o, "source", u->source, sizeof(u->source), false, errstr, errstr_size) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(o, "seq");
	if (!is_int(v, 1, (double)ST_SEQ_MAX)) {
		wk_err(errstr, errstr_size, "seq: missing or not an integer in [1, 2^53-1]");
		goto out;
	}
	u->seq = (int64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(o, "observedGeneration");
	if (v) {
		if (!is_int(v, 0, (double)ST_SEQ_MAX)) {
			wk_err(errstr, errstr_size, "observedGeneration: not an integer >= 0");
			goto out;
		}
		u->observed_generation = (int64_t)v->valuedouble;
	}
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (st) {
		if (!cJSON_IsObject(st) || !st->child) {
			wk_err(errstr, errstr_size, "status: not a non-empty object");
			goto out;
		}
		cJSON *top = NULL;

		for (v = st->child; v;) {
			cJSON *next = v->next;
			const struct key *k;

			for (k = top_keys; k->name && strcmp(k->name, v->string); k++)
				;
			if (strcmp(v->string, "migrationStatus") &&
			    strcmp(v->string, "cloneStatus") && !k->name) {
				wk_err(errstr, errstr_size, "status.%.64s: unknown key", v->string);
				cJSON_Delete(top);
				goto out;
			}
			for (const cJSON *w = v->next; w; w = w->next)
				if (!strcmp(w->string, v->string)) {
					wk_err(errstr, errstr_size, "status.%.64s: duplicate key",
					       v->string);
					cJSON_Delete(top);
					goto out;
				}
			if (k->name) {
				/* a top-level key: gather them into the ST_F_TOP partial object */
				if (!top)
					top = cJSON_CreateObject();
				cJSON_AddItemToObject(top, v->string,
						      cJSON_DetachItemViaPointer(st, v));
			}
			v = next;
		}
		if (top) {
			if (check_object(top, top_keys, "status", errstr, errstr_size) < 0) {
				cJSON_Delete(top);
				goto out;
			}
			u->fields[ST_F_TOP] = top;
		}
		cJSON_ArrayForEach(v, st)
		{
			for (const cJSON *w = v->next; w; w = w->next)
				if (!strcmp(w->string, v->string)) {
					wk_err(errstr, errstr_size, "status.%.64s: duplicate key",
					       v->string);
					goto out;
				}
		}
		for (int f = 0; f < ST_F_TOP; f++) {
			char fpath[64];

			v = cJSON_GetObjectItemCaseSensitive(st, st_field_names[f]);
			if (!v)
				continue;
			snprintf(fpath, sizeof(fpath), "status.%s", st_field_names[f]);
			if (check_object(v, f == ST_F_MIGRATION ? migration_keys : clone_keys,
					 fpath, errstr, errstr_size) < 0)
				goto out;
			u->fields[f] = cJSON_DetachItemViaPointer(st, v);
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "conditions");
	if (v) {
		int i = 0;
		const cJSON *c;

		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > ST_CONDITIONS_MAX) {
			wk_err(errstr, errstr_size, "conditions: not an array of at most %d items",
			       ST_CONDITIONS_MAX);
			goto out;
		}
		cJSON_ArrayForEach(c, v)
		{
			if (check_condition(c, i++, errstr, errstr_size) < 0)
				goto out;
		}
		u->conditions = cJSON_DetachItemViaPointer(o, v);
	}
	if (!st && !u->conditions && u->observed_generation < 0) {
		wk_err(errstr, errstr_size,
		       "nothing to apply: no status, conditions or "
		       "observedGeneration");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	if (rc < 0)
		st_update_release(u);
	return rc;
}

int st_update_check_origin(const struct st_update *u, const char *ce_source, int64_t now_us,
			   int64_t max_ahead_us, const char **code, char *errstr,
			   size_t errstr_size)
{
	char want[128];

	snprintf(want, sizeof(want), "/clusters/%s", u->cluster);
	if (!ce_source || strcmp(ce_source, want)) {
		*code = "wrong-source";
		return wk_err(
		    errstr, errstr_size,
		    "ce_source '%.200s' is not '%s' (the producers of wukong.status write "
		    "their cluster)",
		    ce_source ? ce_source : "", want);
	}
	if (u->seq > now_us && u->seq - now_us > max_ahead_us) {
		*code = "invalid-seq";
		return wk_err(errstr, errstr_size,
			      "seq %lld is %lld s ahead of this writer's clock (at most %lld s "
			      "allowed, status.max-seq-ahead): not applied, it would freeze the "
			      "field",
			      (long long)u->seq, (long long)((u->seq - now_us) / 1000000),
			      (long long)(max_ahead_us / 1000000));
	}
	return 0;
}
