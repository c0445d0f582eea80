/* con_service.h - wukong-console's I/O: a group-less Kafka tail of wukong.events, wukong.status,
 * wukong.progress and wukong.audit into the model (con_model.h), and the web console on the
 * service's HTTP endpoint (the embedded page, JSON, Server-Sent Events). Read-only: it produces
 * nothing and commits nothing. docs/console.md. */
#ifndef CON_SERVICE_H
#define CON_SERVICE_H

#include "wk_service.h"

int con_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size);
void con_on_tick(struct wk_service_ctx *ctx);
void con_term(struct wk_service_ctx *ctx);

#endif
