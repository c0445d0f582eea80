/* echo_service.c - a minimal service on wk_service_main() for tests/integration/0005: appends each
 * message value from "<prefix>.echo" to the file named by config key "echo.out" and answers DONE;
 * "bad" is rejected (reason "SchemaViolation"), "flaky" asks for one retry, "pending" is answered PENDING
 * and acknowledged on the next tick, "ackinline" is acknowledged from inside on_message, "stop"
 * makes the service stop with exit code 4. */
#include "wk_common.h"
#include "wk_config.h"
#include "wk_log.h"
#include "wk_service.h"

#define PENDING_MAX 64

struct echo {
	FILE *out;
	int64_t flaky_seen[64]; /* offsets already retried once */
	size_t nflaky;
	struct {
		char topic[256];
		int32_t partition;
		int64_t offset;
	} pending[PENDING_MAX];
	size_t npending;
};

static struct echo echo;

static int echo_init(struct wk_service_ctx *ctx, char *errstr, size_t errstr_size)
{
	const char *path = wk_config_get(wk_service_config(ctx), "echo.out", NULL);

	if (!path)
		return wk_err(errstr, errstr_size, "config key 'echo.out' is not set");
	echo.out = fopen(path, "a");
	if (!echo.out)
		return wk_err(errstr, errstr_size, "cannot open '%s'", path);
	setvbuf(echo.out, NULL, _IOLBF, 0);
	wk_service_set_state(ctx, &echo);
	wk_service_set_ready(ctx, true);
	return 0;
}

static bool value_is(const rd_kafka_message_t *m, const char *s)
{
	return m->len == strlen(s) && memcmp(m->payload, s, m->len) == 0;
}

static enum wk_msg_result echo_message(struct wk_service_ctx *ctx, const rd_kafka_message_t *m,
				       char *reason, size_t reason_size, char *detail,
				       size_t detail_size)
{
	struct echo *e = wk_service_state(ctx);
	size_t i;

	if (value_is(m, "bad")) {
		snprintf(reason, reason_size, "SchemaViolation");
		snprintf(detail, detail_size, "value 'bad' is not accepted");
		return WK_MSG_REJECT;
	}
	if (value_is(m, "flaky")) {
		for (i = 0; i < e->nflaky && e->flaky_seen[i] != m->offset; i++)
			;
		if (i == e->nflaky && e->nflaky < WK_ARRAY_SIZE(e->flaky_seen)) {
			e->flaky_seen[e->nflaky++] = m->offset;
			wk_info("flaky message at offset %lld: retry", (long long)m->offset);
			return WK_MSG_RETRY;
		}
	}
	if (value_is(m, "stop")) {
		wk_service_stop(ctx, 4);
		return WK_MSG_DONE;
	}
	fprintf(e->out, "%.*s\n", (int)m->len, (const char *)m->payload);
	if (value_is(m, "ackinline")) {
		/* durable at once: ack from inside on_message, then answer PENDING */
		if (wk_service_ack(ctx, rd_kafka_topic_name(m->rkt), m->partition, m->offset) < 0)
			wk_error("inline ack of offset %lld failed", (long long)m->offset);
		return WK_MSG_PENDING;
	}
	if (value_is(m, "pending") && e->npending < PENDING_MAX) {
		snprintf(e->pending[e->npending].topic, sizeof(e->pending[0].topic), "%s",
			 rd_kafka_topic_name(m->rkt));
		e->pending[e->npending].partition = m->partition;
		e->pending[e->npending].offset = m->offset;
		e->npending++;
		return WK_MSG_PENDING;
	}
	return WK_MSG_DONE;
}

static void echo_tick(struct wk_service_ctx *ctx)
{
	struct echo *e = wk_service_state(ctx);
	size_t i;

	for (i = 0; i < e->npending; i++) {
		if (wk_service_ack(ctx, e->pending[i].topic, e->pending[i].partition,
				   e->pending[i].offset) < 0)
			wk_error("ack of offset %lld failed", (long long)e->pending[i].offset);
	}
	e->npending = 0;
}

static void echo_term(struct wk_service_ctx *ctx)
{
	struct echo *e = wk_service_state(ctx);

	if (e && e->out) {
		fprintf(e->out, "-- term\n");
		fclose(e->out);
		e->out = NULL;
	}
}

int main(int argc, char **argv)
{
	static const char *const topics[] = {"echo", NULL};
	static const struct wk_service svc = {
	    .name = "wukong-echo",
	    .topics = topics,
	    .tick_ms = 200,
	    .init = echo_init,
	    .on_message = echo_message,
	    .on_tick = echo_tick,
	    .term = echo_term,
	};

	return wk_service_main(&svc, argc, argv);
}
