/* rt_service.h - wukong-router's I/O (docs/multicluster.md): the registry read from
 * wukong.clusters, submissions in from wukong.requests (and the per-tenant request topics),
 * rt_route.h's decisions carried out: routed copies to wukong.requests.<cluster>, audit records,
 * fan-out/placement records on wukong.progress, held submissions, dead letters. An input offset is
 * stored only once everything it caused is on the broker. */
#ifndef RT_SERVICE_H
#define RT_SERVICE_H

#include "wk_service.h"

int rt_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result rt_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				 char *reason, size_t reason_size, char *detail,
				 size_t detail_size);
void rt_on_tick(struct wk_service_ctx *ctx);
void rt_term(struct wk_service_ctx *ctx);
void rt_on_delivery(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
		    int32_t partition, int64_t offset);

#endif
