/* test_aud_event.c - wukong-audit's translation of audit events and dead letters into entries:
 * valid events, every kind of invalid one (recorded, never dropped), caps, hostile bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../consumers/audit/aud_event.h"
#include "wk_log.h"

struct fake {
	const char *names[16];
	const char *values[16];
	size_t lens[16];
	size_t n;
};

static const char *fake_header(const void *msg, const char *name, size_t *len)
{
	const struct fake *f = msg;

	for (size_t i = f->n; i-- > 0;)
		if (!strcmp(f->names[i], name)) {
			*len = f->lens[i];
			return f->values[i];
		}
	return NULL;
}

static void set(struct fake *f, const char *name, const char *value)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name)) {
			f->values[i] = value;
			f->lens[i] = strlen(value);
			return;
		}
	f->names[f->n] = name;
	f->values[f->n] = value;
	f->lens[f->n++] = strlen(value);
}

static void ce_headers(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	set(f, "ce_specversion", "1.0");
	set(f, "ce_id", "id-1");
	set(f, "ce_source", "/clusters/east");
	set(f, "ce_type", AUD_CE_TYPE);
	set(f, "ce_time", "2026-01-02T03:04:05.123Z");
	set(f, "ce_subject", "Wukong/ns1/vm-a");
}

static struct aud_input input(const struct fake *f, const char *value, size_t len)
{
	return (struct aud_input){.topic = "wukong.audit",
				  .partition = 0,
				  .offset = 42,
				  .value = value,
				  .len = len,
				  .header = fake_header,
				  .msg = f};
}

static const char good[] =
    "{\"requestId\":\"req-1\",\"requestSource\":{\"type\":\"kafka\",\"topic\":\"wukong.requests\","
    "\"partition\":3,\"offset\":99},\"actor\":\"wukong-migrator\",\"action\":\"migration.create\","
    "\"outcome\":\"success\",\"reason\":\"Created\",\"message\":\"ok\",\"details\":{\"n\":1}}";

static void valid_event(void **state)
{
	struct fake f;
	struct aud_rec r;
	struct aud_input in;

	(void)state;
	ce_headers(&f);
	in = input(&f, good, strlen(good));
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	assert_string_equal(r.e.kind, "event");
	assert_string_equal(r.e.ce_id, "id-1");
	assert_string_equal(r.e.cluster, "east");
	assert_string_equal(r.e.object_kind, "Wukong");
	assert_string_equal(r.e.object_namespace, "ns1");
	assert_string_equal(r.e.object_name, "vm-a");
	assert_string_equal(r.e.request_id, "req-1");
	assert_string_equal(r.e.request_source, "kafka");
	assert_string_equal(r.e.request_topic, "wukong.requests");
	assert_int_equal(r.e.request_partition, 3);
	assert_int_equal(r.e.request_offset, 99);
	assert_string_equal(r.e.actor, "wukong-migrator");
	assert_string_equal(r.e.outcome, "success");
	assert_string_equal(r.e.event_time, "2026-01-02T03:04:05.123Z");
	assert_non_null(r.e.details);
	assert_int_equal(r.e.input_offset, 42);
	assert_null(r.e.raw);
	/* Identity: source + id. */
	assert_int_equal(r.e.dedupe_key_len, strlen("ce\n/clusters/east\nid-1"));
	assert_memory_equal(r.e.dedupe_key, "ce\n/clusters/east\nid-1", r.e.dedupe_key_len);
	aud_rec_release(&r);
}

static void body_object_overrides_subject(void **state)
{
	struct fake f;
	struct aud_rec r;
	struct aud_input in;
	static const char body[] = "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\","
				   "\"cluster\":\"west\",\"object\":{\"namespace\":\"n2\","
				   "\"name\":\"vm-b\"}}";

	(void)state;
	ce_headers(&f);
	in = input(&f, body, strlen(body));
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	assert_string_equal(r.e.kind, "event");
	assert_string_equal(r.e.cluster, "west");
	assert_string_equal(r.e.object_namespace, "n2");
	assert_string_equal(r.e.object_name, "vm-b");
	aud_rec_release(&r);
}

/* Translate and expect an invalid-event whose reason contains `why`. */
static void expect_invalid(const struct fake *f, const char *value, size_t len, const char *why)
{
	struct aud_rec r;
	struct aud_input in = input(f, value, len == SIZE_MAX ? strlen(value) : len);

	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	if (strcmp(r.e.kind, "invalid-event") || !strstr(r.e.reason, why))
		fail_msg("kind %s reason '%s', want invalid-event '%s'", r.e.kind,
			 r.e.reason ? r.e.reason : "", why);
	assert_string_equal(r.e.outcome, "invalid");
	assert_non_null(r.e.dedupe_key);
	assert_ptr_equal(r.e.raw, value);
	aud_rec_release(&r);
}

static void invalid_events(void **state)
{
	struct fake f;

	(void)state;
	ce_headers(&f);
	expect_invalid(&f, "", 0, "no value");
	expect_invalid(&f, NULL, 0, "no value");
	expect_invalid(&f, "{\"actor\":", 9, "not valid JSON");
	expect_invalid(&f, "garbage", 7, "not valid JSON");
	expect_invalid(&f, "[1,2]", 5, "not a JSON object");
	expect_invalid(&f, "{}", 2, "field 'actor' is required");
	expect_invalid(&f, "{\"actor\":\"\",\"action\":\"b\",\"outcome\":\"info\"}", SIZE_MAX,
		       "'actor' must not be empty");
	expect_invalid(&f, "{\"actor\":1,\"action\":\"b\",\"outcome\":\"info\"}", SIZE_MAX,
		       "'actor' must be a string");
	expect_invalid(&f, "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"maybe\"}", SIZE_MAX,
		       "'outcome': unknown value");
	expect_invalid(&f,
		       "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\",\"requestSource\":"
		       "{\"type\":\"kafka\",\"partition\":-1}}",
		       SIZE_MAX, "'partition' must be an integer");
	expect_invalid(&f,
		       "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\",\"requestSource\":"
		       "{\"type\":\"gossip\"}}",
		       SIZE_MAX, "'requestSource.type': unknown value");
	expect_invalid(&f,
		       "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\",\"details\":[1]}",
		       SIZE_MAX, "'details' must be an object");

	set(&f, "ce_type", "dev.novasphere.wukong.something.v1");
	expect_invalid(&f, good, strlen(good), "header 'ce_type'");
	ce_headers(&f);
	set(&f, "ce_specversion", "0.3");
	expect_invalid(&f, good, strlen(good), "ce_specversion");
	ce_headers(&f);
	set(&f, "ce_id", "");
	expect_invalid(&f, good, strlen(good), "header 'ce_id'");
	ce_headers(&f);
	set(&f, "ce_time", "yesterday");
	expect_invalid(&f, good, strlen(good), "ce_time");
	memset(&f, 0, sizeof(f));
	expect_invalid(&f, good, strlen(good), "ce_specversion");
}

static void hostile_headers(void **state)
{
	struct fake f;
	struct aud_rec r;
	struct aud_input in;
	char *big = wk_xmalloc(WK_AUDITLOG_MAX_ID + 2);
	static const char nul_id[] = "id\0evil";

	(void)state;
	/* ce_id at its cap is fine, cap + 1 is not. */
	memset(big, 'i', WK_AUDITLOG_MAX_ID + 1);
	big[WK_AUDITLOG_MAX_ID] = '\0';
	ce_headers(&f);
	set(&f, "ce_id", big);
	in = input(&f, good, strlen(good));
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	assert_string_equal(r.e.kind, "event");
	aud_rec_release(&r);
	big[WK_AUDITLOG_MAX_ID] = 'i';
	big[WK_AUDITLOG_MAX_ID + 1] = '\0';
	set(&f, "ce_id", big);
	expect_invalid(&f, good, strlen(good), "header 'ce_id'");
	/* A NUL byte inside a header: invalid, and the copy in the record has no NUL. */
	ce_headers(&f);
	f.values[1] = nul_id;
	f.lens[1] = sizeof(nul_id) - 1;
	in = input(&f, good, strlen(good));
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	assert_string_equal(r.e.kind, "invalid-event");
	assert_string_equal(r.e.ce_id, "id\xef\xbf\xbd"
				       "evil");
	aud_rec_release(&r);
	free(big);
}

static void oversized_value(void **state)
{
	struct fake f;
	char *v = wk_xmalloc(AUD_MAX_EVENT + 1);
	struct aud_rec r;
	struct aud_input in;
	size_t pad;

	(void)state;
	/* A valid event of exactly the cap ... */
	pad = AUD_MAX_EVENT - strlen("{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\","
				     "\"details\":{\"p\":\"\"}}");
	snprintf(
	    v, AUD_MAX_EVENT + 1,
	    "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"info\",\"details\":{\"p\":\"%*s\"}}",
	    (int)pad, "");
	assert_int_equal(strlen(v), AUD_MAX_EVENT);
	ce_headers(&f);
	in = input(&f, v, AUD_MAX_EVENT);
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	assert_string_equal(r.e.kind, "event");
	aud_rec_release(&r);
	/* ... and one byte more. */
	v = wk_xrealloc(v, AUD_MAX_EVENT + 2);
	memmove(v + 1, v, AUD_MAX_EVENT + 1);
	v[0] = ' ';
	expect_invalid(&f, v, AUD_MAX_EVENT + 1, "oversized");
	free(v);
}

static void dedupe_keys(void **state)
{
	struct fake f;
	struct aud_rec a, b;
	struct aud_input in;

	(void)state;
	/* An invalid event with an id: keyed by it (redelivery dedupes) but apart from a valid
	 * event with the same id. */
	ce_headers(&f);
	in = input(&f, "x", 1);
	aud_rec_init(&a);
	aud_translate(&a, AUD_AUDIT_EVENT, &in);
	assert_memory_equal(a.e.dedupe_key, "invalid\n/clusters/east\nid-1", a.e.dedupe_key_len);
	aud_rec_release(&a);
	/* Without an id: keyed by where it sits in Kafka. */
	memset(&f, 0, sizeof(f));
	in = input(&f, "x", 1);
	aud_rec_init(&b);
	aud_translate(&b, AUD_AUDIT_EVENT, &in);
	assert_memory_equal(b.e.dedupe_key, "kafka\nwukong.audit\n0\n42", b.e.dedupe_key_len);
	aud_rec_release(&b);
}

static void dead_letters(void **state)
{
	struct fake f;
	struct aud_rec r;
	struct aud_input in;
	static const char sub[] =
	    "{\"requestId\":\"req-9\",\"namespace\":\"ns\",\"name\":\"../../x\"}";

	(void)state;
	memset(&f, 0, sizeof(f));
	set(&f, "ce_id", "sub-1");
	set(&f, "ce_source", "/clusters/east");
	set(&f, "x-dlt-original-topic", "wukong.requests");
	set(&f, "x-dlt-original-partition", "2");
	set(&f, "x-dlt-original-offset", "17");
	set(&f, "x-dlt-reason", "invalid-name");
	set(&f, "x-dlt-error", "invalid name '../../x'");
	set(&f, "x-dlt-service", "wukong-migrator");
	set(&f, "x-dlt-time", "2026-01-01T00:00:00Z");
	in = input(&f, sub, strlen(sub));
	in.topic = "wukong.dlq";
	aud_rec_init(&r);
	aud_translate(&r, AUD_DEAD_LETTER, &in);
	assert_string_equal(r.e.kind, "rejected-submission");
	assert_string_equal(r.e.outcome, "rejected");
	assert_string_equal(r.e.reason, "invalid-name");
	assert_string_equal(r.e.message, "invalid name '../../x'");
	assert_string_equal(r.e.actor, "wukong-migrator");
	assert_string_equal(r.e.request_id, "req-9");
	assert_string_equal(r.e.request_topic, "wukong.requests");
	assert_int_equal(r.e.request_partition, 2);
	assert_int_equal(r.e.request_offset, 17);
	assert_string_equal(r.e.object_name, "../../x");
	assert_string_equal(r.e.cluster, "east");
	assert_ptr_equal(r.e.raw, sub);
	assert_memory_equal(r.e.dedupe_key, "dlq\nwukong-migrator\nwukong.requests\n2\n17",
			    r.e.dedupe_key_len);
	aud_rec_release(&r);

	/* Junk on the dlq topic (no x-dlt-*, not JSON, a bad partition): still a record. */
	memset(&f, 0, sizeof(f));
	set(&f, "x-dlt-original-partition", "-5x");
	in = input(&f, "\xff\xfe", 2);
	in.topic = "wukong.dlq";
	aud_rec_init(&r);
	aud_translate(&r, AUD_DEAD_LETTER, &in);
	assert_string_equal(r.e.kind, "rejected-submission");
	assert_string_equal(r.e.reason, "unknown");
	assert_int_equal(r.e.request_partition, -1);
	assert_null(r.e.request_id);
	assert_memory_equal(r.e.dedupe_key, "kafka\nwukong.dlq\n0\n42", r.e.dedupe_key_len);
	aud_rec_release(&r);
}

static void make_invalid_after_refusal(void **state)
{
	struct fake f;
	struct aud_rec r;
	struct aud_input in;

	(void)state;
	ce_headers(&f);
	in = input(&f, good, strlen(good));
	aud_rec_init(&r);
	aud_translate(&r, AUD_AUDIT_EVENT, &in);
	aud_make_invalid(&r, &in, "record refused by the log: record exceeds 65536 bytes");
	assert_string_equal(r.e.kind, "invalid-event");
	assert_non_null(strstr(r.e.reason, "refused"));
	assert_string_equal(r.e.ce_id, "id-1");
	assert_null(r.e.details);
	aud_rec_release(&r);
}

/* Issue 22 fault 1 (poison pill): a dead letter whose ce_id (and every other header) is NUL bytes
 * up to the cap. Each NUL becomes U+FFFD (3 bytes); cut before escaping, the field was 3x over
 * the log's cap, the invalid-event fallback was refused the same way and the service hit WK_BUG.
 * Whatever the headers hold, a record is written. */
static char *tmp_dir(void)
{
	char *d = wk_xstrdup("/tmp/wk-audev-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void nul_headers_poison_pill(void **state)
{
	static const char *const names[] = {
	    "ce_id", "ce_source", "ce_type", "ce_subject", "x-dlt-original-topic",
	    "x-dlt-reason", "x-dlt-error", "x-dlt-service", "x-dlt-time", "ce_time"};
	char *nuls = wk_xcalloc(3 * WK_AUDITLOG_MAX_TEXT + 1, 1), *dir = tmp_dir(), err[512],
	     cmd[128];
	struct wk_auditlog_opts o = {.dir = dir};
	struct wk_auditlog *log = wk_auditlog_new(&o, err, sizeof(err));
	struct wk_auditlog_verify_result vr;
	struct fake f;
	uint64_t seq;

	(void)state;
	assert_non_null(log);
	for (int kind = 0; kind < 2; kind++)
		for (size_t len = 1; len <= 3 * WK_AUDITLOG_MAX_TEXT; len = len * 2 + 1) {
			struct aud_rec r;
			struct aud_input in;
			int rc;

			memset(&f, 0, sizeof(f));
			for (size_t i = 0; i < WK_ARRAY_SIZE(names); i++) {
				f.names[f.n] = names[i];
				f.values[f.n] = nuls;
				f.lens[f.n++] = len;
			}
			if (kind == AUD_AUDIT_EVENT) {
				f.names[f.n] = "ce_specversion";
				f.values[f.n] = "1.0";
				f.lens[f.n++] = 3;
			}
			in = input(&f, nuls, len);
			in.offset = (int64_t)len;
			aud_rec_init(&r);
			rc = aud_append(log, &r, (enum aud_input_kind)kind, &in, &seq, err,
					sizeof(err));
			aud_rec_release(&r);
			if (rc != 0 && rc != 1) /* written, or a duplicate of one */
				fail_msg("kind %d, %zu NUL bytes: rc %d: %s", kind, len, rc, err);
		}
	/* The last fallback holds nothing from the message: coordinates and why. */
	{
		struct aud_rec r;
		struct aud_input in = input(&f, nuls, 7);

		aud_rec_init(&r);
		aud_make_minimal(&r, &in, "why");
		assert_string_equal(r.e.kind, "invalid-event");
		assert_string_equal(r.e.reason, "why");
		assert_null(r.e.ce_id);
		assert_null(r.e.raw);
		assert_int_equal(r.e.input_offset, 42);
		assert_int_equal(wk_auditlog_append(log, &r.e, &seq, err, sizeof(err)), 0);
		aud_rec_release(&r);
	}
	assert_int_equal(wk_auditlog_sync(log, err, sizeof(err)), 0);
	wk_auditlog_destroy(log);
	assert_int_equal(wk_auditlog_verify(dir, &vr, err, sizeof(err)), 0);
	assert_true(vr.ok);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
	free(nuls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_event),     cmocka_unit_test(body_object_overrides_subject),
	    cmocka_unit_test(invalid_events),  cmocka_unit_test(hostile_headers),
	    cmocka_unit_test(oversized_value), cmocka_unit_test(dedupe_keys),
	    cmocka_unit_test(dead_letters),    cmocka_unit_test(make_invalid_after_refusal),
	    cmocka_unit_test(nul_headers_poison_pill),
	};

	wk_log_init("test", WK_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
