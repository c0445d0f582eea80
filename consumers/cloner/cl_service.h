/* cl_service.h - wukong-cloner's service callbacks for wk_service_main(): Kafka in (wukong.events,
 * wukong.requests[.<cluster>]) and the reconcile tick that drives every clone job through
 * cl_machine.h; the I/O and the outputs (status, audit, Kubernetes Events) are cl_actions.h's.
 * State (struct cl_state) is owned by the core's service state pointer.
 */
#ifndef CL_SERVICE_H
#define CL_SERVICE_H

#include "wk_service.h"

int cl_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result cl_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail,
				 size_t detail_size);
void cl_on_tick(struct wk_service_ctx *ctx);
void cl_term(struct wk_service_ctx *ctx);

#endif
