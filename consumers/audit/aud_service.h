/* aud_service.h - wukong-audit: the service callbacks (the descriptor lives in main.c). */
#ifndef AUD_SERVICE_H
#define AUD_SERVICE_H

#include "wk_service.h"

int aud_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
enum wk_msg_result aud_on_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				  char *reason_code, size_t reason_size, char *detail,
				  size_t detail_size);
void aud_on_tick(struct wk_service_ctx *ctx);
void aud_term(struct wk_service_ctx *ctx);

#endif
