/* mig_service.h - the wukong-migrator service callbacks (consumers/migrator/main.c hands them to
 * wk_service_main) and the topic list it subscribes to, which depends on cluster.id. */
#ifndef MIG_SERVICE_H
#define MIG_SERVICE_H

#include "wk_common.h"
#include "wk_service.h"

int mig_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result mig_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				  char *reason, size_t reason_size, char *detail,
				  size_t detail_size);
void mig_on_tick(struct wk_service_ctx *ctx);
void mig_term(struct wk_service_ctx *ctx);

/* Fill topics (short names, NULL-terminated, at most 4 entries) from the configuration the
 * service will load: "events", "requests.<cluster.id>", and "requests" unless
 * migrator.shared-requests is false. Strings point into bufs. */
void mig_topics(const char *cluster, bool shared, char bufs[4][128], const char *topics[4]);

#endif
