/* ce_produce.c - test helper: produce CloudEvents through the core library (wk_cloudevent_send on
 * a wk_producer) and say where they landed.
 *
 *   ce_produce -b BOOTSTRAP -t TOPIC -k KEY --source SRC --type TYPE [--id ID] [--subject S]
 *              [--time RFC3339] [--data JSON] [-n COUNT] [--interval-ms MS] [-X key=value]...
 *
 * With -n above 1, event i has data {"seq":i} and a random id. Prints one line per delivered event
 * "partition=P offset=O id=ID" (only with -n 1, the default) and finally "delivered=N failed=M".
 * Exit 0 when every event was delivered.
 */
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_log.h"
#include "wk_time.h"
#include "wk_uuid.h"

#include <getopt.h>
#include <unistd.h>

struct tally {
	int delivered, failed, verbose;
};

struct sent {
	char id[WK_CE_ID_MAX];
};

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			int64_t offset, void *opaque)
{
	struct tally *t = opaque;
	struct sent *s = msg_opaque;

	if (err) {
		t->failed++;
		fprintf(stderr, "ce_produce: delivery failed: %s\n", rd_kafka_err2str(err));
	} else {
		t->delivered++;
		if (t->verbose)
			printf("partition=%d offset=%lld id=%s\n", (int)partition,
			       (long long)offset, s->id);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 'y'},
	    {"id", required_argument, NULL, 'i'},
	    {"subject", required_argument, NULL, 'j'},
	    {"time", required_argument, NULL, 'T'},
	    {"data", required_argument, NULL, 'd'},
	    {"interval-ms", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	struct wk_config *cfg = wk_config_new();
	struct wk_cloudevent ev = {0};
	struct tally tally = {0};
	const char *topic = NULL, *key = NULL, *data = "{}";
	struct wk_producer *p;
	struct sent *sent;
	char err[512];
	long count = 1, interval = 0;
	int opt, rc;

	wk_log_init("ce_produce", WK_LOG_WARN);
	while ((opt = getopt_long(argc, argv, "b:t:k:n:X:", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			wk_config_set(cfg, "kafka.bootstrap.servers", optarg);
			break;
		case 't':
			topic = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'X':
			if (wk_config_set_arg(cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "ce_produce: %s\n", err);
				return 2;
			}
			break;
		case 's':
			wk_strlcpy(ev.source, optarg, sizeof(ev.source));
			break;
		case 'y':
			wk_strlcpy(ev.type, optarg, sizeof(ev.type));
			break;
		case 'i':
			wk_strlcpy(ev.id, optarg, sizeof(ev.id));
			break;
		case 'j':
			wk_strlcpy(ev.subject, optarg, sizeof(ev.subject));
			break;
		case 'T':
			wk_strlcpy(ev.time, optarg, sizeof(ev.time));
			break;
		case 'd':
			data = optarg;
			break;
		case 'w':
			interval = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: see the comment at the top of ce_produce.c\n");
			return 2;
		}
	}
	if (!topic || count < 1 || count > 100000) {
		fprintf(stderr, "ce_produce: -t TOPIC is required, -n 1-100000\n");
		return 2;
	}
	tally.verbose = count == 1;
	p = wk_producer_new(cfg, on_delivery, &tally, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "ce_produce: %s\n", err);
		return 1;
	}
	sent = wk_xcalloc((size_t)count, sizeof(*sent));
	for (long i = 0; i < count; i++) {
		char body[64];
		const char *d = data;
		struct wk_cloudevent e = ev;

		if (count > 1) {
			snprintf(body, sizeof(body), "{\"seq\":%ld}", i);
			d = body;
			e.id[0] = '\0';
		}
		if (!e.id[0])
			wk_uuid_v4(e.id);
		wk_strlcpy(sent[i].id, e.id, sizeof(sent[i].id));
		if (wk_cloudevent_send(p, topic, key, &e, d, strlen(d), &sent[i], err,
				       sizeof(err))) {
			fprintf(stderr, "ce_produce: event %ld: %s\n", i, err);
			tally.failed++;
		}
		wk_producer_poll(p, 0);
		if (interval > 0)
			usleep((useconds_t)interval * 1000);
	}
	if (wk_producer_flush(p, 60000))
		fprintf(stderr, "ce_produce: %d message(s) still queued after 60 s\n",
			wk_producer_outq_len(p));
	printf("delivered=%d failed=%d\n", tally.delivered, tally.failed);
	rc = tally.delivered == count && !tally.failed ? 0 : 1;
	wk_producer_destroy(p);
	free(sent);
	wk_config_destroy(cfg);
	return rc;
}
