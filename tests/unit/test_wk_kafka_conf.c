/* test_wk_kafka_conf.c - the kafka.* / kafka.producer.* / kafka.consumer.* namespaces: a plain key
 * reaches only the clients it is valid for, a role key only its role, a role key of the other
 * role is refused, the role key wins; hostile keys and values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_config.h"
#include "wk_kafka.h"

/* The value librdkafka holds for key on conf, "" when it cannot say. */
static const char *get(rd_kafka_conf_t *conf, const char *key)
{
	static char v[512];
	size_t n = sizeof(v);

	if (rd_kafka_conf_get(conf, key, v, &n) != RD_KAFKA_CONF_OK)
		return "";
	return v;
}

static void scopes_from_librdkafka(void **state)
{
	(void)state;
	assert_int_equal(wk_kafka_property_scope("fetch.wait.max.ms"), 'C');
	assert_int_equal(wk_kafka_property_scope("session.timeout.ms"), 'C');
	assert_int_equal(wk_kafka_property_scope("message.timeout.ms"), 'P');
	assert_int_equal(wk_kafka_property_scope("linger.ms"), 'P');
	assert_int_equal(wk_kafka_property_scope("bootstrap.servers"), '*');
	assert_int_equal(wk_kafka_property_scope("security.protocol"), '*');
	assert_int_equal(wk_kafka_property_scope("no.such.property"), '?');
	assert_int_equal(wk_kafka_property_scope(""), '?');
}

static void routing(void **state)
{
	struct wk_config *cfg = wk_config_new();
	rd_kafka_conf_t *p = rd_kafka_conf_new(), *c = rd_kafka_conf_new();
	char err[512];

	(void)state;
	wk_config_set(cfg, "kafka.bootstrap.servers", "b:9092");
	wk_config_set(cfg, "kafka.fetch.wait.max.ms", "10");
	wk_config_set(cfg, "kafka.message.timeout.ms", "1234");
	wk_config_set(cfg, "kafka.client.id", "both");
	wk_config_set(cfg, "kafka.producer.client.id", "prod");
	wk_config_set(cfg, "kafka.consumer.fetch.wait.max.ms", "20");
	wk_config_set(cfg, "kafka.producer.linger.ms", "7");
	assert_int_equal(wk_kafka_conf_apply(p, cfg, WK_KAFKA_PRODUCER, err, sizeof(err)), 0);
	assert_int_equal(wk_kafka_conf_apply(c, cfg, WK_KAFKA_CONSUMER, err, sizeof(err)), 0);
	assert_string_equal(get(p, "bootstrap.servers"), "b:9092");
	assert_string_equal(get(c, "bootstrap.servers"), "b:9092");
	assert_string_equal(get(p, "client.id"), "prod");
	assert_string_equal(get(c, "client.id"), "both");
	assert_string_equal(get(c, "fetch.wait.max.ms"), "20");  /* role key wins */
	assert_string_equal(get(p, "fetch.wait.max.ms"), "500"); /* never set on a producer */
	assert_string_equal(get(p, "message.timeout.ms"), "1234");
	assert_string_not_equal(get(c, "message.timeout.ms"), "1234"); /* topic-level: maybe "" */
	assert_string_equal(get(p, "linger.ms"), "7");
	assert_string_equal(get(c, "linger.ms"), "5");
	assert_string_equal(wk_kafka_conf_user(cfg, WK_KAFKA_CONSUMER, "fetch.wait.max.ms"), "20");
	assert_null(wk_kafka_conf_user(cfg, WK_KAFKA_PRODUCER, "fetch.wait.max.ms"));
	assert_string_equal(wk_kafka_conf_user(cfg, WK_KAFKA_PRODUCER, "message.timeout.ms"),
			    "1234");
	assert_null(wk_kafka_conf_user(cfg, WK_KAFKA_CONSUMER, "message.timeout.ms"));
	assert_null(wk_kafka_conf_user(NULL, WK_KAFKA_CONSUMER, "x"));
	rd_kafka_conf_destroy(p);
	rd_kafka_conf_destroy(c);
	wk_config_destroy(cfg);
}

static void wrong_role_refused(void **state)
{
	struct wk_config *cfg = wk_config_new();
	rd_kafka_conf_t *p = rd_kafka_conf_new();
	char err[512] = "";

	(void)state;
	wk_config_set(cfg, "kafka.producer.fetch.wait.max.ms", "10");
	assert_int_equal(wk_kafka_conf_apply(p, cfg, WK_KAFKA_PRODUCER, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kafka.producer.fetch.wait.max.ms"));
	assert_non_null(strstr(err, "consumer property"));
	rd_kafka_conf_destroy(p);
	wk_config_destroy(cfg);
}

static void hostile(void **state)
{
	struct wk_config *cfg = wk_config_new();
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char err[512] = "", big[5000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	wk_config_set(cfg, "kafka.consumer.", "x"); /* empty property name */
	assert_int_equal(wk_kafka_conf_apply(c, cfg, WK_KAFKA_CONSUMER, err, sizeof(err)), -1);
	wk_config_destroy(cfg);
	cfg = wk_config_new();
	wk_config_set(cfg, big, "x"); /* not under kafka. at all */
	wk_config_set(cfg, "kafka.session.timeout.ms", big);
	assert_int_equal(wk_kafka_conf_apply(c, cfg, WK_KAFKA_CONSUMER, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kafka.session.timeout.ms"));
	assert_int_equal(wk_kafka_property_scope(big), '?');
	rd_kafka_conf_destroy(c);
	wk_config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scopes_from_librdkafka),
	    cmocka_unit_test(routing),
	    cmocka_unit_test(wrong_role_refused),
	    cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
