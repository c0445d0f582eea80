/* st_service.h - wukong-status: the only writer of Wukong /status. Consumes wukong.status,
 * coalesces per Wukong (st_table.h), applies merge patches on the status subresource under a
 * token-bucket API rate, holds a coordination.k8s.io Lease so one instance per cluster writes.
 * Callbacks for wk_service_main(); docs/status-writer.md. */
#ifndef ST_SERVICE_H
#define ST_SERVICE_H

#include "wk_service.h"

int st_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result st_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail,
				 size_t detail_size);
void st_on_tick(struct wk_service_ctx *ctx);
void st_term(struct wk_service_ctx *ctx);

#endif
