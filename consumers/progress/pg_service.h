/* pg_service.h - wukong-progress: builds migration (and clone) progress from wukong.events,
 * executor reports on wukong.progress and KubeVirt's migration metrics; sends rate-limited status
 * updates to wukong.status and per-operation, per-node and per-cluster progress to
 * wukong.progress; exports the aggregates on /metrics. Callbacks for wk_service_main();
 * docs/progress.md. */
#ifndef PG_SERVICE_H
#define PG_SERVICE_H

#include "wk_service.h"

int pg_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result pg_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail,
				 size_t detail_size);
void pg_on_tick(struct wk_service_ctx *ctx);
void pg_term(struct wk_service_ctx *ctx);

#endif
