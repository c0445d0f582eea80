/* wukong-console - the read-only web console: fleet, operations in flight, drain timelines,
 * convergence charts and the audit search, from wukong.events, wukong.status, wukong.progress and
 * wukong.audit, pushed to browsers with Server-Sent Events on the service's HTTP endpoint.
 * docs/console.md. */
#include "con_service.h"

#include "wk_httpd.h"

static const char *const defaults[] = {"http.liveness-timeout", "60s", NULL};

static const struct wk_service console_service = {
    .name = "wukong-console",
    .topics = NULL, /* its own group-less tail (con_service.c): a view commits nothing */
    .tick_ms = 50,  /* Kafka reading and the push interval's clock */
    .init = con_init,
    .on_tick = con_on_tick,
    .term = con_term,
    .defaults = defaults,
    .http_flags = WK_HTTPD_THREADED, /* event streams wait on their own threads */
};

int main(int argc, char **argv)
{
	return wk_service_main(&console_service, argc, argv);
}
