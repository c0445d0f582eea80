/* audit_emit.c - test helper: produce N audit events (CloudEvents binary mode, docs/audit.md) to
 * the audit topic, as an executor would, and wait until the broker has them all.
 *
 * usage: audit_emit -b BOOTSTRAP [-t TOPIC] [-n COUNT] [-s START] [-p ID_PREFIX] [-r REPEAT]
 *                   [--vm NS/NAME] [--request ID] [--cluster C] [--action A] [--outcome O]
 *                   [--reason R] [--small]
 * Event i (START <= i < START+COUNT) has ce_id "<prefix>-<i>"; each is sent REPEAT times (the
 * same id: what a producer retrying after a crash does). --small sends the smallest valid event
 * (no subject, request or details: ~300 bytes with headers), so that a burst fits the embedded
 * broker's 5 MiB per partition. Prints the number sent.
 */
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"

#include <getopt.h>

static long delivered, failed;

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
			int64_t offset, void *opaque)
{
	(void)msg_opaque;
	(void)partition;
	(void)offset;
	(void)opaque;
	if (err)
		failed++;
	else
		delivered++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"vm", required_argument, NULL, 'V'},      {"request", required_argument, NULL, 'R'},
	    {"cluster", required_argument, NULL, 'C'}, {"action", required_argument, NULL, 'A'},
	    {"outcome", required_argument, NULL, 'O'}, {"reason", required_argument, NULL, 'E'},
	    {"small", no_argument, NULL, 'S'},	       {NULL, 0, NULL, 0}};
	const char *bootstrap = NULL, *topic = "wukong.audit", *prefix = "ev", *vm = "default/vm-1";
	const char *request = NULL, *cluster = "c1", *action = "migration.create-vmim";
	const char *outcome = "success", *reason = NULL;
	long count = 1, start = 0, repeat = 1;
	bool small = false;
	struct wk_config *cfg = wk_config_new();
	struct wk_producer *p;
	char err[512], key[600], ns[256];
	const char *slash;
	int c;

	wk_log_init("audit_emit", WK_LOG_WARN);
	while ((c = getopt_long(argc, argv, "b:t:n:s:p:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bootstrap = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 's':
			start = atol(optarg);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			repeat = atol(optarg);
			break;
		case 'V':
			vm = optarg;
			break;
		case 'R':
			request = optarg;
			break;
		case 'C':
			cluster = optarg;
			break;
		case 'A':
			action = optarg;
			break;
		case 'O':
			outcome = optarg;
			break;
		case 'E':
			reason = optarg;
			break;
		case 'S':
			small = true;
			break;
		default:
			return 2;
		}
	}
	slash = strchr(vm, '/');
	if (!bootstrap || !slash || count < 0 || repeat < 1) {
		fprintf(stderr, "usage: audit_emit -b BOOTSTRAP [-n N] [--vm NS/NAME] ...\n");
		return 2;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - vm), vm);
	wk_config_set(cfg, "kafka.bootstrap.servers", bootstrap);
	p = wk_producer_new(cfg, on_delivery, NULL, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "audit_emit: %s\n", err);
		return 1;
	}
	snprintf(key, sizeof(key), "%s/%s", cluster, vm);
	for (long r = 0; r < repeat; r++) {
		for (long i = start; i < start + count; i++) {
			struct wk_cloudevent ev;
			char *body, req[300];

			memset(&ev, 0, sizeof(ev));
			snprintf(ev.id, sizeof(ev.id), "%s-%ld", prefix, i);
			snprintf(ev.source, sizeof(ev.source), "/clusters/%s", cluster);
			snprintf(ev.type, sizeof(ev.type), "dev.novasphere.wukong.audit.v1");
			snprintf(req, sizeof(req), "%s", request ? request : ev.id);
			if (small)
				body =
				    wk_xasprintf("{\"actor\":\"m\",\"action\":\"%s\",\"outcome\":"
						 "\"%s\"}",
						 action, outcome);
			else
				body = wk_xasprintf(
				    "{\"requestId\":\"%s\",\"requestSource\":{\"type\":\"kafka\","
				    "\"topic\":"
				    "\"wukong.requests\",\"partition\":0,\"offset\":%ld},"
				    "\"cluster\":\"%"
				    "s\","
				    "\"object\":{\"kind\":\"Wukong\",\"namespace\":\"%s\",\"name\":"
				    "\"%s\"},"
				    "\"actor\":\"wukong-migrator\",\"action\":\"%s\",\"outcome\":"
				    "\"%s\"%s%"
				    "s%s,"
				    "\"message\":\"event %ld\",\"details\":{\"i\":%ld}}",
				    req, i, cluster, ns, slash + 1, action, outcome,
				    reason ? ",\"reason\":\"" : "", reason ? reason : "",
				    reason ? "\"" : "", i, i);
			if (!small)
				snprintf(ev.subject, sizeof(ev.subject), "Wukong/%s", vm);
			if (wk_cloudevent_send(p, topic, small ? NULL : key, &ev, body,
					       strlen(body), NULL, err, sizeof(err))) {
				fprintf(stderr, "audit_emit: %s\n", err);
				free(body);
				wk_producer_destroy(p);
				return 1;
			}
			free(body);
			wk_producer_poll(p, 0);
		}
	}
	if (wk_producer_flush(p, 30000) || failed) {
		fprintf(stderr, "audit_emit: %ld delivered, %ld failed\n", delivered, failed);
		wk_producer_destroy(p);
		return 1;
	}
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
	printf("%ld\n", delivered);
	return 0;
}
