/* pv_service.h - wukong-provisioner's service callbacks for wk_service_main(): Kafka in
 * (wukong.events), the relist/resync tick, and per Wukong the read -> decide (pv_build.h) -> act
 * -> report path. State (struct pv_state) is owned by the core's service state pointer.
 */
#ifndef PV_SERVICE_H
#define PV_SERVICE_H

#include "wk_service.h"

int pv_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result pv_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail,
				 size_t detail_size);
void pv_on_tick(struct wk_service_ctx *ctx);
void pv_term(struct wk_service_ctx *ctx);

#endif
