/* mock_kafka.h - an in-process librdkafka mock cluster for unit tests of the Kafka modules: start
 * it, get a config pointing at it, read back what was produced. Included by test_wk_kafka.c,
 * test_wk_cloudevent.c and test_wk_service.c only (static inline functions; not a test of its own).
 */
#ifndef MOCK_KAFKA_H
#define MOCK_KAFKA_H

#include "wk_config.h"
#include "wk_kafka.h"

#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

struct mock_kafka {
	rd_kafka_t *rk; /* owns the mock cluster */
	rd_kafka_mock_cluster_t *mc;
	char bootstrap[256];
};

static inline int mock_kafka_start(struct mock_kafka *mk, int brokers)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];

	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	mk->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!mk->rk)
		return -1;
	mk->mc = rd_kafka_mock_cluster_new(mk->rk, brokers);
	if (!mk->mc)
		return -1;
	snprintf(mk->bootstrap, sizeof(mk->bootstrap), "%s",
		 rd_kafka_mock_cluster_bootstraps(mk->mc));
	return 0;
}

static inline void mock_kafka_stop(struct mock_kafka *mk)
{
	if (mk->mc)
		rd_kafka_mock_cluster_destroy(mk->mc);
	if (mk->rk)
		rd_kafka_destroy(mk->rk);
	memset(mk, 0, sizeof(*mk));
}

/* A fresh config pointing at the mock. */
static inline struct wk_config *mock_kafka_config(const struct mock_kafka *mk)
{
	struct wk_config *cfg = wk_config_new();

	wk_config_set(cfg, "kafka.bootstrap.servers", mk->bootstrap);
	wk_config_set(cfg, "kafka.linger.ms", "0");
	wk_config_set(cfg, "kafka.fetch.wait.max.ms", "10");
	return cfg;
}

/* A plain (group-less) consumer reading topic/partition from the beginning. */
static inline rd_kafka_t *mock_kafka_reader(const struct mock_kafka *mk, const char *topic,
					    int32_t partition)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *l;
	char err[256];
	rd_kafka_t *rk;

	rd_kafka_conf_set(conf, "bootstrap.servers", mk->bootstrap, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", "mock-reader", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	/* The mock answers a fetch only when data arrives or this expires: keep tests quick. */
	rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk)
		return NULL;
	rd_kafka_poll_set_consumer(rk);
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	return rk;
}

/* The next message (errors such as partition EOF skipped), or NULL after timeout_ms. */
static inline rd_kafka_message_t *mock_kafka_next(rd_kafka_t *reader, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 100);

		if (!m)
			continue;
		if (!m->err)
			return m;
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

static inline void mock_kafka_reader_close(rd_kafka_t *reader)
{
	if (!reader)
		return;
	rd_kafka_consumer_close(reader);
	rd_kafka_destroy(reader);
}

#endif
