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

#endif
