/* wukong-audit - consumes wukong.audit and wukong.dlq into the hash-chained audit log
 * (core/wk_auditlog.h); an offset is acknowledged only after the fsync that made its record
 * durable. docs/audit.md describes the records, the log and the configuration. */
#include "aud_service.h"

static const char *const topics[] = {"audit", "dlq", NULL};

static const struct wk_service audit_service = {
    .name = "wukong-audit",
    .topics = topics,
    .tick_ms = 10, /* the fsync delay is checked this often */
    .init = aud_init,
    .on_message = aud_on_message,
    .on_tick = aud_on_tick,
    .term = aud_term,
};

int main(int argc, char **argv)
{
	return wk_service_main(&audit_service, argc, argv);
}
