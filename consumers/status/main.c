/* wukong-status - the only writer of Wukong /status: consumes wukong.status, coalesces per
 * Wukong, merge-patches the status subresource under an API rate limit, one active instance per
 * cluster (Lease). docs/status-writer.md. */
#include "st_service.h"

static const char *const topics[] = {"status", NULL};

static const struct wk_service status_service = {
    .name = "wukong-status",
    .topics = topics,
    .tick_ms = 10, /* flush and lease checks; the work per tick is bounded by status.flush-budget */
    .init = st_init,
    .on_message = st_on_message,
    .on_tick = st_on_tick,
    .term = st_term,
};

int main(int argc, char **argv)
{
	return wk_service_main(&status_service, argc, argv);
}
