/* test_wk_cloudevent.c - CloudEvents binary mode through a real (mock) broker: encode round trip
 * (with extension attributes, and the headers' order on the wire), extension names and values
 * refused by the naming and String rules, and decode refusing missing, empty, oversized,
 * non-UTF-8, duplicate and malformed headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_cloudevent.h"
#include "wk_uuid.h"
#include "wk_log.h"
#include "wk_time.h"

#include "mock_kafka.h"

#define TOPIC "ce"

static struct mock_kafka mk;
static struct wk_config *cfg;
static struct wk_producer *prod;
static rd_kafka_t *reader;
/* The last message fetched: freed by the next fetch or teardown, so a failed assertion (which
 * longjmps out of the test) never leaves a message that would block rd_kafka_destroy(). */
static rd_kafka_message_t *cur;

static int setup(void **state)
{
	(void)state;
	wk_log_init("test", WK_LOG_WARN);
	if (mock_kafka_start(&mk, 1))
		return -1;
	if (rd_kafka_mock_topic_create(mk.mc, TOPIC, 1, 1))
		return -1;
	cfg = mock_kafka_config(&mk);
	prod = wk_producer_new(cfg, NULL, NULL, NULL, 0);
	reader = mock_kafka_reader(&mk, TOPIC, 0);
	return prod && reader ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (cur)
		rd_kafka_message_destroy(cur);
	mock_kafka_reader_close(reader);
	wk_producer_destroy(prod);
	wk_config_destroy(cfg);
	mock_kafka_stop(&mk);
	return 0;
}

/* What the broker hands back after we produced it. */
static rd_kafka_message_t *fetch(void)
{
	rd_kafka_message_t *m;

	assert_int_equal(wk_producer_flush(prod, 10000), 0);
	if (cur)
		rd_kafka_message_destroy(cur);
	cur = m = mock_kafka_next(reader, 10000);
	assert_non_null(m);
	return m;
}

static rd_kafka_message_t *send_raw(const struct wk_kafka_header *h, size_t n, const void *value,
				    size_t len)
{
	struct wk_kafka_msg msg = {.topic = TOPIC,
				   .key = "c1/ns/vm",
				   .key_len = 8,
				   .value = value,
				   .value_len = len,
				   .headers = h,
				   .nheaders = n};
	char err[256];

	assert_int_equal(wk_producer_send(prod, &msg, NULL, err, sizeof(err)), 0);
	return fetch();
}

#define H(n, v) ((struct wk_kafka_header){(n), (v), -1})
#define HL(n, v, l) ((struct wk_kafka_header){(n), (v), (l)})

/* A valid header set; tests overwrite single entries. */
static size_t base_headers(struct wk_kafka_header *h)
{
	h[0] = H("ce_specversion", "1.0");
	h[1] = H("ce_id", "id-1");
	h[2] = H("ce_source", "/clusters/c1");
	h[3] = H("ce_type", "dev.novasphere.wukong.vm.changed");
	h[4] = H("content-type", "application/json");
	return 5;
}

/* Decode must fail and the reason must contain `want`. */
static void expect_reject(const struct wk_kafka_header *h, size_t n, const char *want)
{
	rd_kafka_message_t *m = send_raw(h, n, "{}", 2);
	struct wk_cloudevent ev;
	char err[256] = "";

	assert_int_equal(wk_cloudevent_decode(m, &ev, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not mention '%s'", err, want);
}

static void expect_accept(const struct wk_kafka_header *h, size_t n, struct wk_cloudevent *ev)
{
	rd_kafka_message_t *m = send_raw(h, n, "{}", 2);
	char err[256] = "";

	if (wk_cloudevent_decode(m, ev, err, sizeof(err)))
		fail_msg("decode failed: %s", err);
}

static bool is_uuid4(const char *s)
{
	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return false;
	for (int i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23 && !strchr("0123456789abcdef", s[i]))
			return false;
	return s[14] == '4' && strchr("89ab", s[19]);
}

static void uuid_v4_format_and_random(void **state)
{
	char a[37], b[37];

	(void)state;
	wk_uuid_v4(a);
	wk_uuid_v4(b);
	assert_true(is_uuid4(a));
	assert_true(is_uuid4(b));
	assert_string_not_equal(a, b);
}

static void roundtrip_defaults(void **state)
{
	struct wk_cloudevent ev = {0}, out;
	const char *data = "{\"phase\":\"Running\"}";
	rd_kafka_message_t *m;
	char err[256], pk[64];
	int64_t ms, now = wk_time_now_ms();

	(void)state;
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.type, "dev.novasphere.wukong.vm.changed");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "c1/default/vm1", &ev, data, strlen(data),
					    NULL, err, sizeof(err)),
			 0);
	m = fetch();
	assert_int_equal(wk_cloudevent_decode(m, &out, err, sizeof(err)), 0);
	assert_true(is_uuid4(out.id));
	assert_string_equal(out.source, "/clusters/c1");
	assert_string_equal(out.type, "dev.novasphere.wukong.vm.changed");
	assert_string_equal(out.subject, "");
	assert_string_equal(out.content_type, "application/json");
	assert_int_equal(wk_time_parse_ms(out.time, &ms), 0);
	assert_true(ms >= now - 1000 && ms <= now + 5000);
	assert_int_equal(out.data_len, strlen(data));
	assert_memory_equal(out.data, data, strlen(data));
	assert_int_equal(m->key_len, strlen("c1/default/vm1"));
	assert_memory_equal(m->key, "c1/default/vm1", m->key_len);
	assert_int_equal(wk_kafka_header_copy(m, "ce_partitionkey", pk, sizeof(pk)), 0);
	assert_string_equal(pk, "c1/default/vm1");
}

static void roundtrip_explicit(void **state)
{
	struct wk_cloudevent ev = {0}, out;
	rd_kafka_message_t *m;
	char err[256];

	(void)state;
	strcpy(ev.id, "c1.uid-1.42");
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.type, "dev.novasphere.wukong.migration.requested");
	strcpy(ev.subject, "virtualmachines/default/vm1");
	strcpy(ev.time, "2025-01-01T12:00:00.5+01:00");
	strcpy(ev.content_type, "application/json; charset=utf-8");
	assert_int_equal(
	    wk_cloudevent_send(prod, TOPIC, NULL, &ev, "[]", 2, NULL, err, sizeof(err)), 0);
	m = fetch();
	assert_int_equal(wk_cloudevent_decode(m, &out, err, sizeof(err)), 0);
	assert_string_equal(out.id, ev.id);
	assert_string_equal(out.subject, ev.subject);
	assert_string_equal(out.time, ev.time);
	assert_string_equal(out.content_type, ev.content_type);
	assert_null(m->key);
	assert_null(wk_kafka_header(m, "ce_partitionkey", NULL));
}

static void send_refuses_bad_event(void **state)
{
	struct wk_cloudevent ev = {0};
	char err[256];

	(void)state;
	strcpy(ev.type, "t");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "k", &ev, "{}", 2, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "source"));
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.time, "yesterday");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "k", &ev, "{}", 2, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ce_time"));
	ev.time[0] = '\0';
	strcpy(ev.source, "/clusters/has space");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "k", &ev, "{}", 2, NULL, err, sizeof(err)),
			 -1);
}

/* ---- extension attributes ---- */

static void ext_roundtrip_and_order(void **state)
{
	static const char *const want[][2] = {
	    {"ce_specversion", "1.0"},
	    {"ce_id", "c1.u-1.42.added"},
	    {"ce_source", "/clusters/c1"},
	    {"ce_type", "dev.novasphere.wukong.virtualmachine.added"},
	    {"ce_time", "2025-01-01T12:00:00.000001Z"},
	    {"ce_subject", "VirtualMachine/ns/vm"},
	    {"ce_partitionkey", "c1/ns/vm"},
	    {"ce_wkuid", "u-1"},
	    {"ce_wkfp", "00ff00ff00ff00ff"},
	    {"content-type", "application/json"},
	};
	struct wk_cloudevent ev = {0}, out;
	rd_kafka_headers_t *hdrs;
	rd_kafka_message_t *m;
	const char *name;
	const void *v;
	size_t sz, i;
	char err[256];

	(void)state;
	strcpy(ev.id, "c1.u-1.42.added");
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.type, "dev.novasphere.wukong.virtualmachine.added");
	strcpy(ev.time, "2025-01-01T12:00:00.000001Z");
	strcpy(ev.subject, "VirtualMachine/ns/vm");
	strcpy(ev.content_type, "application/json");
	assert_int_equal(wk_cloudevent_ext_add(&ev, "wkuid", "u-1", err, sizeof(err)), 0);
	assert_int_equal(wk_cloudevent_ext_add(&ev, "wkfp", "00ff00ff00ff00ff", err, sizeof(err)),
			 0);
	assert_int_equal(ev.next, 2);
	assert_int_equal(
	    wk_cloudevent_send(prod, TOPIC, "c1/ns/vm", &ev, "{}", 2, NULL, err, sizeof(err)), 0);
	m = fetch();
	/* exactly these headers, in this order (what a byte-level reader sees) */
	assert_int_equal(rd_kafka_message_headers(m, &hdrs), 0);
	assert_int_equal(rd_kafka_header_cnt(hdrs), WK_ARRAY_SIZE(want));
	for (i = 0; rd_kafka_header_get_all(hdrs, i, &name, &v, &sz) == 0; i++) {
		assert_string_equal(name, want[i][0]);
		assert_int_equal(sz, strlen(want[i][1]));
		assert_memory_equal(v, want[i][1], sz);
	}
	assert_int_equal(i, WK_ARRAY_SIZE(want));
	/* extensions do not disturb decoding, which does not collect them */
	assert_int_equal(wk_cloudevent_decode(m, &out, err, sizeof(err)), 0);
	assert_string_equal(out.id, ev.id);
	assert_int_equal(out.next, 0);

	/* no key: no ce_partitionkey, the extensions still follow ce_subject */
	assert_int_equal(
	    wk_cloudevent_send(prod, TOPIC, NULL, &ev, "{}", 2, NULL, err, sizeof(err)), 0);
	m = fetch();
	assert_int_equal(rd_kafka_message_headers(m, &hdrs), 0);
	assert_int_equal(rd_kafka_header_get_all(hdrs, 6, &name, &v, &sz), 0);
	assert_string_equal(name, "ce_wkuid");
	assert_null(wk_kafka_header(m, "ce_partitionkey", NULL));
}

/* name must be refused with a reason mentioning `want`, leaving ev as it was */
static void expect_bad_ext(struct wk_cloudevent *ev, const char *name, const char *value,
			   const char *want)
{
	struct wk_cloudevent before = *ev;
	char err[256] = "";

	assert_int_equal(wk_cloudevent_ext_add(ev, name, value, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("ext '%s': error '%s' does not mention '%s'", name ? name : "(null)", err,
			 want);
	assert_memory_equal(&before, ev, sizeof(before));
}

static void ext_hostile_names(void **state)
{
	struct wk_cloudevent ev = {0};
	char err[256], long_name[64];

	(void)state;
	expect_bad_ext(&ev, NULL, "v", "without a name");
	expect_bad_ext(&ev, "", "v", "without a name");
	expect_bad_ext(&ev, "WkUid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wk_uid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wk-uid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wk uid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wkuid\n", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "ce_wkuid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wk.uid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "wk/../uid", "v", "only a-z and 0-9");
	expect_bad_ext(&ev, "caf\xc3\xa9", "v", "only a-z and 0-9");
	/* a name that would write a header the core owns */
	expect_bad_ext(&ev, "id", "v", "the core writes it");
	expect_bad_ext(&ev, "specversion", "v", "the core writes it");
	expect_bad_ext(&ev, "source", "v", "the core writes it");
	expect_bad_ext(&ev, "type", "v", "the core writes it");
	expect_bad_ext(&ev, "time", "v", "the core writes it");
	expect_bad_ext(&ev, "subject", "v", "the core writes it");
	expect_bad_ext(&ev, "datacontenttype", "v", "the core writes it");
	expect_bad_ext(&ev, "dataschema", "v", "the core writes it");
	expect_bad_ext(&ev, "data", "v", "the core writes it");
	expect_bad_ext(&ev, "partitionkey", "v", "the core writes it");
	/* 20 characters is the most */
	memset(long_name, 'a', sizeof(long_name));
	long_name[WK_CE_EXT_NAME_MAX + 1] = '\0';
	expect_bad_ext(&ev, long_name, "v", "at most 20");
	long_name[WK_CE_EXT_NAME_MAX] = '\0';
	assert_int_equal(wk_cloudevent_ext_add(&ev, long_name, "v", err, sizeof(err)), 0);
	assert_string_equal(ev.ext[0].header, "ce_aaaaaaaaaaaaaaaaaaaa");
	/* a name once; at most WK_CE_EXT_MAX of them */
	expect_bad_ext(&ev, long_name, "w", "added twice");
	assert_int_equal(wk_cloudevent_ext_add(&ev, "wkuid", "u", err, sizeof(err)), 0);
	assert_int_equal(wk_cloudevent_ext_add(&ev, "x0", "0", err, sizeof(err)), 0);
	assert_int_equal(wk_cloudevent_ext_add(&ev, "x1", "1", err, sizeof(err)), 0);
	assert_int_equal(ev.next, WK_CE_EXT_MAX);
	expect_bad_ext(&ev, "x2", "2", "has 4 already");
	/* a corrupt count is refused rather than overrunning the array, by add and by send */
	ev.next = WK_CE_EXT_MAX + 1;
	expect_bad_ext(&ev, "x3", "3", "corrupt");
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.type, "t");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "k", &ev, "{}", 2, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "corrupt"));
}

static void ext_hostile_values(void **state)
{
	static const char *const bad[] = {
	    "\x01",		/* C0 control */
	    "a\nb",		/* newline */
	    "tab\there",	/* tab */
	    "del\x7f",		/* DEL */
	    "c1\xc2\x85",	/* U+0085, a C1 control */
	    "\xff",		/* never UTF-8 */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xe0\x80\xaf",	/* overlong '/' in three bytes */
	    "\xed\xa0\x80",	/* a UTF-16 surrogate */
	    "\xf4\x90\x80\x80", /* over U+10FFFF */
	    "\xe2\x82",		/* truncated sequence */
	    "\x80",		/* lone continuation byte */
	};
	struct wk_cloudevent ev = {0};
	char err[256], big[WK_CE_EXT_VALUE_MAX + 1];

	(void)state;
	expect_bad_ext(&ev, "wkuid", NULL, "empty value");
	expect_bad_ext(&ev, "wkuid", "", "empty value");
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++)
		expect_bad_ext(&ev, "wkuid", bad[i], "not UTF-8 text");
	memset(big, 'v', sizeof(big));
	big[WK_CE_EXT_VALUE_MAX] = '\0';
	expect_bad_ext(&ev, "wkuid", big, "over the 255 byte cap");
	big[WK_CE_EXT_VALUE_MAX - 1] = '\0';
	assert_int_equal(wk_cloudevent_ext_add(&ev, "big", big, err, sizeof(err)), 0);
	assert_int_equal(strlen(ev.ext[0].value), WK_CE_EXT_VALUE_MAX - 1);
	/* any printable UTF-8 is fine, and arrives as given */
	assert_int_equal(wk_cloudevent_ext_add(&ev, "utf8",
					       "na\xc3\xafve \xe2\x98\x83 \xf0\x9d\x84\x9e", err,
					       sizeof(err)),
			 0);
	strcpy(ev.source, "/clusters/c1");
	strcpy(ev.type, "t");
	assert_int_equal(wk_cloudevent_send(prod, TOPIC, "k", &ev, "{}", 2, NULL, err, sizeof(err)),
			 0);
	{
		rd_kafka_message_t *m = fetch();
		char got[WK_CE_EXT_VALUE_MAX];

		assert_int_equal(wk_kafka_header_copy(m, "ce_utf8", got, sizeof(got)), 0);
		assert_string_equal(got, "na\xc3\xafve \xe2\x98\x83 \xf0\x9d\x84\x9e");
		assert_int_equal(wk_kafka_header_copy(m, "ce_big", got, sizeof(got)), 0);
		assert_string_equal(got, big);
	}
}

static void missing_required(void **state)
{
	static const char *const names[] = {"ce_specversion", "ce_id", "ce_source", "ce_type"};
	struct wk_kafka_header h[8];

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(names); i++) {
		size_t n = base_headers(h);

		/* Drop header i by swapping the last one into its place. */
		h[i] = h[n - 1];
		expect_reject(h, n - 1, names[i]);
	}
}

static void no_headers_at_all(void **state)
{
	rd_kafka_message_t *m;
	struct wk_cloudevent ev;
	char err[256];

	(void)state;
	m = send_raw(NULL, 0, "{}", 2);
	assert_int_equal(wk_cloudevent_decode(m, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no headers"));
}

static void empty_values(void **state)
{
	struct wk_kafka_header h[8];
	size_t n;

	(void)state;
	n = base_headers(h);
	h[1] = H("ce_id", "");
	expect_reject(h, n, "empty header 'ce_id'");
	n = base_headers(h);
	h[n++] = H("ce_subject", "");
	expect_reject(h, n, "empty header 'ce_subject'");
	n = base_headers(h);
	h[n++] = H("ce_time", "");
	expect_reject(h, n, "ce_time");
}

static void caps(void **state)
{
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	char big[WK_CE_SOURCE_MAX + 8];
	size_t n;

	(void)state;
	/* At the cap (cap - 1 bytes plus the NUL) is fine, one more is refused. */
	memset(big, 'a', sizeof(big));
	big[WK_CE_ID_MAX - 1] = '\0';
	n = base_headers(h);
	h[1] = H("ce_id", big);
	expect_accept(h, n, &ev);
	assert_int_equal(strlen(ev.id), WK_CE_ID_MAX - 1);
	big[WK_CE_ID_MAX - 1] = 'a';
	big[WK_CE_ID_MAX] = '\0';
	expect_reject(h, n, "over the 255 byte cap");

	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[WK_CE_SOURCE_MAX] = '\0';
	n = base_headers(h);
	h[2] = H("ce_source", big);
	expect_reject(h, n, "'ce_source'");
	big[WK_CE_SOURCE_MAX - 1] = '\0';
	expect_accept(h, n, &ev);

	memset(big, '1', sizeof(big));
	big[WK_CE_TIME_MAX] = '\0';
	n = base_headers(h);
	h[n++] = H("ce_time", big);
	expect_reject(h, n, "ce_time");
}

static void not_utf8_or_control(void **state)
{
	static const char *const bad[] = {
	    "\xff\xfe",		/* not UTF-8 at all */
	    "ab\xc0\xaf",	/* overlong '/' */
	    "\xed\xa0\x80",	/* UTF-16 surrogate */
	    "x\xe2\x82",	/* truncated sequence */
	    "tab\there",	/* control character */
	    "c1\xc2\x85",	/* C1 control U+0085 */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	};
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		n = base_headers(h);
		h[3] = H("ce_type", bad[i]);
		expect_reject(h, n, "not UTF-8");
	}
	/* An embedded NUL is a control character, not the end of the value. */
	n = base_headers(h);
	h[1] = HL("ce_id", "ab\0cd", 5);
	expect_reject(h, n, "ce_id");
	/* Real UTF-8 is fine. */
	n = base_headers(h);
	h[1] = H("ce_id", "vm-\xc3\xa9t\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x90\x92");
	expect_accept(h, n, &ev);
	assert_string_equal(ev.id, "vm-\xc3\xa9t\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x90\x92");
}

static void wrong_specversion(void **state)
{
	static const char *const bad[] = {"0.3", "1.0 ", "1", "1.00", "2.0"};
	struct wk_kafka_header h[8];
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		n = base_headers(h);
		h[0] = H("ce_specversion", bad[i]);
		expect_reject(h, n, "ce_specversion");
	}
}

static void bad_time(void **state)
{
	static const char *const bad[] = {
	    "yesterday",
	    "2024-13-01T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "2024-01-01 00:00:00Z",
	    "2024-01-01T00:00:00",
	    "2024-01-01T24:00:00Z",
	    "2024-01-01T00:00:00.Z",
	    "2024-01-01T00:00:00+0100",
	    "99999999999999999999-01-01T00:00:00Z",
	};
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		n = base_headers(h);
		h[n++] = H("ce_time", bad[i]);
		expect_reject(h, n, "ce_time");
	}
	n = base_headers(h);
	h[n++] = H("ce_time", "2024-02-29t23:59:59.123456789z");
	expect_accept(h, n, &ev);
}

static void duplicate_headers(void **state)
{
	static const char *const names[] = {"ce_specversion", "ce_id", "ce_source", "ce_type",
					    "content-type"};
	struct wk_kafka_header h[8];
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(names); i++) {
		n = base_headers(h);
		h[n++] = h[i];
		expect_reject(h, n, "duplicate header");
	}
	n = base_headers(h);
	h[n++] = H("ce_time", "2024-01-01T00:00:00Z");
	h[n++] = H("ce_time", "2024-01-01T00:00:01Z");
	expect_reject(h, n, "duplicate header 'ce_time'");
}

static void content_types(void **state)
{
	static const char *const good[] = {"application/json", "application/json; charset=utf-8",
					   "APPLICATION/JSON", "application/vnd.wukong+json"};
	static const char *const bad[] = {"text/plain", "application/jsonx", "+json",
					  "application/xml"};
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(good); i++) {
		n = base_headers(h);
		h[4] = H("content-type", good[i]);
		expect_accept(h, n, &ev);
		assert_string_equal(ev.content_type, good[i]);
	}
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		n = base_headers(h);
		h[4] = H("content-type", bad[i]);
		expect_reject(h, n, "not JSON");
	}
	n = base_headers(h);
	h[4] = H("content-type", "application/cloudevents+json; charset=UTF-8");
	expect_reject(h, n, "structured");
	/* Absent: JSON by default (CloudEvents JSON format, datacontenttype). */
	n = base_headers(h);
	expect_accept(h, n - 1, &ev);
	assert_string_equal(ev.content_type, "application/json");
}

static void bad_source(void **state)
{
	static const char *const bad[] = {"/clusters/has space", "/clusters/%zz", "/c/%4",
					  "/clusters/\xc3\xa9", "<script>"};
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		n = base_headers(h);
		h[2] = H("ce_source", bad[i]);
		expect_reject(h, n, "ce_source");
	}
	n = base_headers(h);
	h[2] = H("ce_source", "https://wukong.example/clusters/c1?x=%20y#f");
	expect_accept(h, n, &ev);
}

static void unknown_extensions_ignored(void **state)
{
	struct wk_kafka_header h[10];
	struct wk_cloudevent ev;
	size_t n;

	(void)state;
	n = base_headers(h);
	h[n++] = H("ce_partitionkey", "c1/ns/vm");
	h[n++] = H("ce_dataschema", "https://x/schema.json");
	h[n++] = H("traceparent", "00-abc");
	expect_accept(h, n, &ev);
	assert_string_equal(ev.id, "id-1");
}

static void tombstone_and_value_caps(void **state)
{
	struct wk_kafka_header h[8];
	struct wk_cloudevent ev;
	rd_kafka_message_t *m;
	struct wk_kafka_msg msg = {0};
	char err[256];
	char *big = wk_xmalloc(WK_KAFKA_MAX_MESSAGE + 1);
	size_t n = base_headers(h);

	(void)state;
	/* No data: a tombstone (status topic deletes) still decodes. */
	m = send_raw(h, n, NULL, 0);
	assert_int_equal(wk_cloudevent_decode(m, &ev, err, sizeof(err)), 0);
	assert_null(ev.data);
	assert_int_equal(ev.data_len, 0);

	memset(big, ' ', WK_KAFKA_MAX_MESSAGE + 1);
	big[0] = '{';
	big[WK_KAFKA_MAX_MESSAGE - 1] = '}';
	m = send_raw(h, n, big, WK_KAFKA_MAX_MESSAGE);
	assert_int_equal(wk_cloudevent_decode(m, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.data_len, WK_KAFKA_MAX_MESSAGE);

	/* Our producer refuses cap + 1; another client might not, and decode refuses it then. */
	msg.topic = TOPIC;
	msg.value = big;
	msg.value_len = WK_KAFKA_MAX_MESSAGE + 1;
	assert_int_equal(wk_producer_send(prod, &msg, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cap"));
	{
		rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n);

		for (size_t i = 0; i < n; i++)
			rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, -1);
		assert_int_equal(rd_kafka_producev(wk_producer_handle(prod),
						   RD_KAFKA_V_TOPIC(TOPIC),
						   RD_KAFKA_V_VALUE(big, WK_KAFKA_MAX_MESSAGE + 1),
						   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						   RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
				 0);
	}
	m = fetch();
	assert_int_equal(wk_cloudevent_decode(m, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over the 1048576 byte cap"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uuid_v4_format_and_random),
	    cmocka_unit_test(roundtrip_defaults),
	    cmocka_unit_test(roundtrip_explicit),
	    cmocka_unit_test(send_refuses_bad_event),
	    cmocka_unit_test(ext_roundtrip_and_order),
	    cmocka_unit_test(ext_hostile_names),
	    cmocka_unit_test(ext_hostile_values),
	    cmocka_unit_test(missing_required),
	    cmocka_unit_test(no_headers_at_all),
	    cmocka_unit_test(empty_values),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(not_utf8_or_control),
	    cmocka_unit_test(wrong_specversion),
	    cmocka_unit_test(bad_time),
	    cmocka_unit_test(duplicate_headers),
	    cmocka_unit_test(content_types),
	    cmocka_unit_test(bad_source),
	    cmocka_unit_test(unknown_extensions_ignored),
	    cmocka_unit_test(tombstone_and_value_caps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
