/* wukong-progress - live progress of migrations and clones: wukong.events + executor reports on
 * wukong.progress + KubeVirt migration metrics in, rate-limited status updates (wukong.status) and
 * progress aggregates (wukong.progress, /metrics) out. docs/progress.md. */
#include "pg_service.h"

static const char *const topics[] = {"events", "progress", NULL};

static const struct wk_service progress_service = {
    .name = "wukong-progress",
    .topics = topics,
    .tick_ms = 100, /* emission, scrape and aggregate timers */
    .init = pg_init,
    .on_message = pg_on_message,
    .on_tick = pg_on_tick,
    .term = pg_term,
    .lease = "progress", /* active/standby when progress.lease.enabled */
};

int main(int argc, char **argv)
{
	return wk_service_main(&progress_service, argc, argv);
}
