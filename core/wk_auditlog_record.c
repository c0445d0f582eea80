/* wk_auditlog_record.c - the record line: serialization with strict escaping, the hash rule, the
 * check of one line, and the metadata the index keeps. */
#include "wk_auditlog_int.h"
#include "wk_kubeconfig.h" /* wk_read_file_capped */
#include "wk_log.h"
#include "wk_time.h"
#include "wk_utf8.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int from_hex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

uint64_t aul_hash64(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1; /* 0 means "none" in the index */
}

uint64_t aul_obj_hash(const char *ns, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[3] = {ns, "/", name};

	for (size_t p = 0; p < 3; p++)
		for (const char *c = parts[p]; *c; c++) {
			h ^= (unsigned char)*c;
			h *= 1099511628211ULL;
		}
	return h ? h : 1;
}

static void sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 32;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, a, alen) || (blen && !EVP_DigestUpdate(ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(ctx, out, &n))
		WK_BUG("openssl sha-256 failed");
	EVP_MD_CTX_free(ctx);
}

void aul_sha256_hex(const void *data, size_t len, char out[WK_AUDITLOG_HASH_HEX])
{
	uint8_t md[32];

	sha256_2(data, len, NULL, 0, md);
	to_hex(md, 32, out);
}

void aul_record_hash(const char *body, size_t len, char out[WK_AUDITLOG_HASH_HEX])
{
	uint8_t md[32];

	sha256_2(body, len, "}", 1, md);
	to_hex(md, 32, out);
}

void aul_hmac_hex(const struct wk_auditlog_key *key, const char *s, size_t len,
		  char out[WK_AUDITLOG_HASH_HEX])
{
	uint8_t md[32];
	unsigned int n = 32;

	if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, (const unsigned char *)s, len, md, &n))
		WK_BUG("openssl hmac-sha-256 failed");
	to_hex(md, 32, out);
}

void aul_record_mac(const char *body, size_t len, const struct wk_auditlog_key *key,
		    char out[WK_AUDITLOG_HASH_HEX])
{
	char *tmp;

	if (!key) {
		aul_record_hash(body, len, out);
		return;
	}
	tmp = wk_xmalloc(len + 1);
	memcpy(tmp, body, len);
	tmp[len] = '}';
	aul_hmac_hex(key, tmp, len + 1, out);
	free(tmp);
}

int wk_auditlog_key_load(const char *path, struct wk_auditlog_key *k, char *errstr,
			 size_t errstr_size)
{
	char *raw;
	size_t len;
	char hex[WK_AUDITLOG_HASH_HEX];

	memset(k, 0, sizeof(*k));
	if (wk_read_file_capped(path, WK_AUDITLOG_KEY_MAX + 2, &raw, &len, errstr, errstr_size) <
	    0)
		return -1;
	if (len && raw[len - 1] == '\n')
		len--;
	if (len && raw[len - 1] == '\r')
		len--;
	if (len < WK_AUDITLOG_KEY_MIN || len > WK_AUDITLOG_KEY_MAX) {
		memset(raw, 0, len);
		free(raw);
		return wk_err(errstr, errstr_size,
			      "audit key file '%s': %zu bytes, must be %d to %d", path, len,
			      WK_AUDITLOG_KEY_MIN, WK_AUDITLOG_KEY_MAX);
	}
	memcpy(k->bytes, raw, len);
	k->len = len;
	memset(raw, 0, len);
	free(raw);
	aul_sha256_hex(k->bytes, k->len, hex);
	memcpy(k->kid, hex, 16);
	k->kid[16] = '\0';
	return 0;
}

void aul_dedupe_digest(const void *key, size_t len, uint8_t out[16])
{
	uint8_t md[32];

	sha256_2(key, len, NULL, 0, md);
	memcpy(out, md, 16);
}

int aul_json_str(struct wk_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	if (wk_buf_add(b, "\"", 1))
		return -1;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		/* Flush the plain run before the byte that needs care. */
		if (run && wk_buf_add(b, s + i - run, run))
			return -1;
		run = 0;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};

			if (wk_buf_add(b, esc, 2))
				return -1;
			i++;
		} else if (c < 0x20) {
			const char *e = c == '\n'   ? "\\n"
					: c == '\t' ? "\\t"
					: c == '\r' ? "\\r"
						    : NULL;

			if (e ? wk_buf_adds(b, e) : wk_buf_addf(b, "\\u%04x", c))
				return -1;
			i++;
		} else if ((n = wk_utf8_seq(str + i, len - i, NULL)) > 0) {
			if (wk_buf_add(b, s + i, n))
				return -1;
			i += n;
		} else {
			if (wk_buf_adds(b, "\xef\xbf\xbd")) /* U+FFFD for one bad byte */
				return -1;
			i++;
		}
	}
	if (run && wk_buf_add(b, s + i - run, run))
		return -1;
	return wk_buf_add(b, "\"", 1);
}

static int json_value(struct wk_buf *b, const cJSON *v, int depth)
{
	if (depth > WK_AUDITLOG_MAX_DEPTH)
		return -2;
	if (cJSON_IsNull(v))
		return wk_buf_adds(b, "null");
	if (cJSON_IsFalse(v))
		return wk_buf_adds(b, "false");
	if (cJSON_IsTrue(v))
		return wk_buf_adds(b, "true");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (!isfinite(d))
			return wk_buf_adds(b, "null");
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			return wk_buf_addf(b, "%lld", (long long)d);
		return wk_buf_addf(b, "%.17g", d);
	}
	if (cJSON_IsString(v))
		return aul_json_str(b, v->valuestring, strlen(v->valuestring));
	if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		bool obj = cJSON_IsObject(v);
		int rc;

		if (wk_buf_add(b, obj ? "{" : "[", 1))
			return -1;
		for (const cJSON *c = v->child; c; c = c->next) {
			if (c != v->child && wk_buf_add(b, ",", 1))
				return -1;
			if (obj && (aul_json_str(b, c->string ? c->string : "",
						 c->string ? strlen(c->string) : 0) ||
				    wk_buf_add(b, ":", 1)))
				return -1;
			if ((rc = json_value(b, c, depth + 1)))
				return rc;
		}
		return wk_buf_add(b, obj ? "}" : "]", 1);
	}
	return wk_buf_adds(b, "null"); /* cJSON_Invalid/Raw: nothing to say */
}

/* One member `,"name":"value"` with a cap on value's length. */
static int member_str(struct wk_buf *b, const char *name, const char *v, size_t cap, bool *first,
		      char *errstr, size_t errstr_size)
{
	size_t len;

	if (!v)
		return 0;
	len = strlen(v);
	if (len > cap)
		return wk_err(errstr, errstr_size, "field '%s' is %zu bytes, over the cap of %zu",
			      name, len, cap);
	if (wk_buf_addf(b, "%s\"%s\":", *first ? "" : ",", name) || aul_json_str(b, v, len))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	*first = false;
	return 0;
}

static int member_int(struct wk_buf *b, const char *name, long long v, bool *first, char *errstr,
		      size_t errstr_size)
{
	if (v < 0)
		return 0;
	if (wk_buf_addf(b, "%s\"%s\":%lld", *first ? "" : ",", name, v))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	*first = false;
	return 0;
}

/* A nested object of Kafka coordinates / request fields; left out when all are absent. */
static int coords(struct wk_buf *b, const char *name, const char *id, const char *source,
		  const char *topic, int32_t partition, int64_t offset, char *errstr,
		  size_t errstr_size)
{
	bool first = true;

	if (!id && !source && !topic && partition < 0 && offset < 0)
		return 0;
	if (wk_buf_addf(b, ",\"%s\":{", name))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	if (member_str(b, "id", id, WK_AUDITLOG_MAX_ID, &first, errstr, errstr_size) ||
	    member_str(b, "source", source, WK_AUDITLOG_MAX_ID, &first, errstr, errstr_size) ||
	    member_str(b, "topic", topic, WK_AUDITLOG_MAX_SOURCE, &first, errstr, errstr_size) ||
	    member_int(b, "partition", partition, &first, errstr, errstr_size) ||
	    member_int(b, "offset", offset, &first, errstr, errstr_size))
		return -1;
	if (wk_buf_add(b, "}", 1))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	return 0;
}

int aul_record_body(struct wk_buf *b, const struct wk_audit_entry *e, uint64_t seq, int64_t time_us,
		    const uint8_t *dedupe, const char *kid, const char *prev, char *errstr,
		    size_t errstr_size)
{
	char ts[40], hex[33];
	bool first = false;
	const size_t id = WK_AUDITLOG_MAX_ID, src = WK_AUDITLOG_MAX_SOURCE,
		     text = WK_AUDITLOG_MAX_TEXT;

	wk_time_format_micro(time_us, ts, sizeof(ts));
	if (wk_buf_addf(b, "{\"v\":1,\"seq\":%llu,\"time\":\"%s\"", (unsigned long long)seq, ts))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	if (member_str(b, "kind", e->kind ? e->kind : "event", id, &first, errstr, errstr_size) ||
	    member_str(b, "ceSource", e->ce_source, src, &first, errstr, errstr_size) ||
	    member_str(b, "ceId", e->ce_id, id, &first, errstr, errstr_size) ||
	    member_str(b, "ceType", e->ce_type, src, &first, errstr, errstr_size) ||
	    member_str(b, "eventTime", e->event_time, 64, &first, errstr, errstr_size) ||
	    coords(b, "request", e->request_id, e->request_source, e->request_topic,
		   e->request_partition, e->request_offset, errstr, errstr_size) ||
	    member_str(b, "cluster", e->cluster, id, &first, errstr, errstr_size))
		return -1;
	if (e->object_kind || e->object_namespace || e->object_name) {
		bool f = true;

		if (wk_buf_adds(b, ",\"object\":{"))
			return wk_err(errstr, errstr_size, "record exceeds %d bytes",
				      WK_AUDITLOG_MAX_RECORD);
		if (member_str(b, "kind", e->object_kind, id, &f, errstr, errstr_size) ||
		    member_str(b, "namespace", e->object_namespace, id, &f, errstr, errstr_size) ||
		    member_str(b, "name", e->object_name, id, &f, errstr, errstr_size) ||
		    wk_buf_add(b, "}", 1))
			return -1;
	}
	if (member_str(b, "actor", e->actor, id, &first, errstr, errstr_size) ||
	    member_str(b, "action", e->action, id, &first, errstr, errstr_size) ||
	    member_str(b, "outcome", e->outcome, id, &first, errstr, errstr_size) ||
	    member_str(b, "reason", e->reason, text, &first, errstr, errstr_size) ||
	    member_str(b, "message", e->message, text, &first, errstr, errstr_size))
		return -1;
	if (e->details) {
		size_t before = b->len;
		int rc;

		if (wk_buf_adds(b, ",\"details\":"))
			return wk_err(errstr, errstr_size, "record exceeds %d bytes",
				      WK_AUDITLOG_MAX_RECORD);
		rc = json_value(b, e->details, 1);
		if (rc == -2)
			return wk_err(errstr, errstr_size, "field 'details' nests deeper than %d",
				      WK_AUDITLOG_MAX_DEPTH);
		if (rc || b->len - before - 11 > WK_AUDITLOG_MAX_DETAILS)
			return wk_err(errstr, errstr_size,
				      "field 'details' is over the cap of %d bytes serialized",
				      WK_AUDITLOG_MAX_DETAILS);
	}
	if (e->raw) {
		size_t n = e->raw_len > WK_AUDITLOG_MAX_RAW ? WK_AUDITLOG_MAX_RAW : e->raw_len;

		if (wk_buf_adds(b, ",\"raw\":") || aul_json_str(b, e->raw, n) ||
		    wk_buf_addf(b, ",\"rawSize\":%zu", e->raw_len))
			return wk_err(errstr, errstr_size, "record exceeds %d bytes",
				      WK_AUDITLOG_MAX_RECORD);
	}
	if (coords(b, "input", NULL, NULL, e->input_topic, e->input_partition, e->input_offset,
		   errstr, errstr_size))
		return -1;
	if (dedupe) {
		to_hex(dedupe, 16, hex);
		if (wk_buf_addf(b, ",\"dedupe\":\"%s\"", hex))
			return wk_err(errstr, errstr_size, "record exceeds %d bytes",
				      WK_AUDITLOG_MAX_RECORD);
	}
	if ((kid && wk_buf_addf(b, ",\"kid\":\"%s\"", kid)) ||
	    wk_buf_addf(b, ",\"prev\":\"%s\"", prev))
		return wk_err(errstr, errstr_size, "record exceeds %d bytes",
			      WK_AUDITLOG_MAX_RECORD);
	return 0;
}

int aul_check_line_keys(const char *line, size_t len, const struct aul_keys *keys, uint64_t *seq,
			char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			char kid[17], cJSON **out, char *errstr, size_t errstr_size)
{
	const struct wk_auditlog_key *key = NULL;
	char kid_buf[17] = "";
	const char *tail;
	uint8_t md[32];
	char computed[WK_AUDITLOG_HASH_HEX];
	cJSON *j, *v;

	if (out)
		*out = NULL;
	if (len < AUL_HASH_TAIL + 2 || line[0] != '{')
		return wk_err(errstr, errstr_size, "not a record: too short or not a JSON object");
	tail = line + len - AUL_HASH_TAIL;
	if (memcmp(tail, ",\"hash\":\"", 9) || !is_hex64(tail + 9, 64) || tail[73] != '"' ||
	    tail[74] != '}')
		return wk_err(errstr, errstr_size,
			      "not a record: it does not end with the hash member");
	j = cJSON_ParseWithLength(line, len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return wk_err(errstr, errstr_size, "not a record: not valid JSON");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "seq");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble > 9007199254740992.0) {
		cJSON_Delete(j);
		return wk_err(errstr, errstr_size, "not a record: missing or invalid seq");
	}
	*seq = (uint64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "prev");
	if (!cJSON_IsString(v) || !is_hex64(v->valuestring, strlen(v->valuestring))) {
		cJSON_Delete(j);
		return wk_err(errstr, errstr_size, "not a record: missing or invalid prev");
	}
	if (prev)
		memcpy(prev, v->valuestring, WK_AUDITLOG_HASH_HEX);
	v = cJSON_GetObjectItemCaseSensitive(j, "kid");
	if (v) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) != 16) {
			cJSON_Delete(j);
			return wk_err(errstr, errstr_size, "not a record: invalid kid");
		}
		memcpy(kid_buf, v->valuestring, 17);
		for (size_t i = 0; keys && i < keys->n; i++)
			if (!strcmp(keys->k[i].kid, kid_buf))
				key = &keys->k[i];
		if (!key && keys && keys->strict) {
			cJSON_Delete(j);
			return wk_err(errstr, errstr_size,
				      "the record is keyed (kid %s) and that key was not given",
				      kid_buf);
		}
	}
	if (kid)
		memcpy(kid, kid_buf, sizeof(kid_buf));
	memcpy(hash, tail + 9, 64);
	hash[64] = '\0';
	if (kid_buf[0] && !key) {
		/* Keyed, no key to check it with (the writer on open, queries): as it is. */
		if (out)
			*out = j;
		else
			cJSON_Delete(j);
		return 0;
	}
	if (key) {
		aul_record_mac(line, len - AUL_HASH_TAIL, key, computed);
	} else {
		sha256_2(line, len - AUL_HASH_TAIL, "}", 1, md);
		to_hex(md, 32, computed);
	}
	if (strcmp(computed, hash)) {
		cJSON_Delete(j);
		return wk_err(errstr, errstr_size,
			      "%s mismatch: the record's content was changed (stored %.12s..., "
			      "computed %.12s...)",
			      key ? "hmac" : "hash", hash, computed);
	}
	if (out)
		*out = j;
	else
		cJSON_Delete(j);
	return 0;
}

int aul_check_line_json(const char *line, size_t len, uint64_t *seq,
			char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			cJSON **out, char *errstr, size_t errstr_size)
{
	return aul_check_line_keys(line, len, NULL, seq, hash, prev, NULL, out, errstr,
				   errstr_size);
}

int wk_auditlog_check_line(const char *line, size_t len, uint64_t *seq,
			   char hash[WK_AUDITLOG_HASH_HEX], char prev[WK_AUDITLOG_HASH_HEX],
			   char *errstr, size_t errstr_size)
{
	return aul_check_line_json(line, len, seq, hash, prev, NULL, errstr, errstr_size);
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int aul_record_meta(const cJSON *rec, struct aul_meta *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const char *t = str_at(rec, "time", NULL), *ns, *name, *req, *dd;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || !t || wk_time_parse_us(t, &m->time_us))
		return -1;
	m->seq = (uint64_t)v->valuedouble;
	ns = str_at(rec, "object", "namespace");
	name = str_at(rec, "object", "name");
	if (ns && name)
		m->obj = aul_obj_hash(ns, name);
	req = str_at(rec, "request", "id");
	if (req)
		m->req = aul_hash64(req, strlen(req));
	dd = str_at(rec, "dedupe", NULL);
	if (dd && strlen(dd) == 32 && !from_hex(dd, 16, m->dedupe))
		m->has_dedupe = true;
	return 0;
}
