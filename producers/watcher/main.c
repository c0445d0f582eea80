/* main.c - wukong-watcher: lists and watches one cluster's Wukongs, KubeVirt objects and Nodes
 * and publishes each real change as a CloudEvent to wukong.events (docs/watcher.md).
 *
 *   wukong-watcher [-c FILE] [-X key=value]... [--replay FILE]
 *
 * --replay FILE publishes watch-format JSON lines from FILE through the same decode, fingerprint
 * and publish path instead of watching the API, then exits 0 once everything is delivered (the
 * benchmark's mode). It is rewritten to -X watcher.replay=FILE before the core parses argv.
 */
#include "wk_service.h"
#include "wt_watcher.h"

static int w_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	struct wt *w = wk_xcalloc(1, sizeof(*w));

	wk_service_set_state(ctx, w);
	if (wt_init(w, wk_service_config(ctx), wk_service_cluster_id(ctx), errstr, errstr_size) <
		0 ||
	    wt_start(w, wk_service_producer(ctx), errstr, errstr_size) < 0)
		return -1;
	wk_service_set_ready(ctx, false);
	return 0;
}

static void w_tick(struct wk_service_ctx *ctx)
{
	struct wt *w = wk_service_state(ctx);
	bool done = false;

	wk_service_set_ready(ctx, wt_step(w, &done));
	if (done)
		wk_service_stop(ctx, 0);
}

static void w_term(struct wk_service_ctx *ctx)
{
	struct wt *w = wk_service_state(ctx);

	if (!w)
		return;
	wk_service_set_ready(ctx, false);
	if (w->prod)
		wt_shutdown(w, 10000);
	wt_release(w);
	free(w);
	wk_service_set_state(ctx, NULL);
}

/* Delivery reports of the service's producer: every message it carries is the watcher's. */
static void w_delivery(struct wk_service_ctx *ctx, void *msg_opaque, rd_kafka_resp_err_t err,
		       int32_t partition, int64_t offset)
{
	(void)partition;
	(void)offset;
	wt_delivery(wk_service_state(ctx), msg_opaque, err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* The producer keeps a message until the broker has it however long an outage lasts; what bounds
 * memory is watcher.queue-max (any configuration source overrides this). */
static const char *const defaults[] = {"kafka.message.timeout.ms", "0", NULL};

static const struct wk_service watcher = {
    .name = "wukong-watcher",
    .topics = NULL, /* no Kafka input: the API is the input */
    .tick_ms = 1,   /* the tick itself waits on the watch sockets (watcher.poll-wait) */
    .init = w_init,
    .on_tick = w_tick,
    .term = w_term,
    .defaults = defaults,
    .on_delivery = w_delivery,
};

int main(int argc, char **argv)
{
	char **av = wk_xcalloc((size_t)argc + 2, sizeof(char *));
	char dash_x[] = "-X";
	int ac = 0, rc;

	/* --replay is ours; everything else is the core's argv */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--replay") && i + 1 < argc) {
			av[ac++] = dash_x;
			av[ac++] = wk_xasprintf("watcher.replay=%s", argv[++i]);
		} else if (!strncmp(argv[i], "--replay=", 9)) {
			av[ac++] = dash_x;
			av[ac++] = wk_xasprintf("watcher.replay=%s", argv[i] + 9);
		} else {
			av[ac++] = argv[i];
		}
	}
	rc = wk_service_main(&watcher, ac, av);
	for (int i = 0; i < ac; i++) {
		if (av[i] == dash_x)
			free(av[++i]);
	}
	free(av);
	return rc;
}
