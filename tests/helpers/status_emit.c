/* status_emit.c - test helper: produce status updates (schemas/status-update.v1.json) to
 * wukong.status as CloudEvents in binary mode, as the executors do, and wait until the broker has
 * them all.
 *
 * usage: status_emit -b BOOTSTRAP [-t TOPIC] [--type CE_TYPE] [--cluster C]
 *          (reads one JSON body per line from stdin; the key is <cluster>/<namespace>/<name>-vm
 *           taken from the body, or "x/x/x" when the body has none)
 *        status_emit -b BOOTSTRAP --gen N --rounds R [--ns NS] [--prefix P] [--cluster C]
 *                    [--seq-base S] [--source SRC] [--round-ms MS]
 *          (for round r = 1..R, for Wukong i = 0..N-1 "<P>-<i>": a migrationStatus with
 *           progress r*100/R, phase Migrating (Succeeded at r = R), seq S + r)
 * Prints the number delivered; exits 1 if any failed.
 */
#include "wk_cloudevent.h"
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <time.h>

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

static int send_one(struct wk_producer *p, const char *topic, const char *type, const char *cluster,
		    const char *body)
{
	struct wk_cloudevent ev;
	char key[600], err[512];
	cJSON *o = cJSON_Parse(body);
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(o, "namespace");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(o, "cluster");

	if (cJSON_IsString(ns) && cJSON_IsString(name))
		snprintf(key, sizeof(key), "%s/%s/%s-vm",
			 cJSON_IsString(cl) ? cl->valuestring : cluster, ns->valuestring,
			 name->valuestring);
	else
		snprintf(key, sizeof(key), "x/x/x");
	cJSON_Delete(o);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.source, sizeof(ev.source), "/clusters/%s", cluster);
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	snprintf(ev.content_type, sizeof(ev.content_type), "application/json");
	if (wk_cloudevent_send(p, topic, key, &ev, body, strlen(body), NULL, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "status_emit: %s\n", err);
		return -1;
	}
	wk_producer_poll(p, 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"type", required_argument, NULL, 'T'},	{"cluster", required_argument, NULL, 'C'},
	    {"gen", required_argument, NULL, 'G'},	{"rounds", required_argument, NULL, 'R'},
	    {"ns", required_argument, NULL, 'N'},	{"prefix", required_argument, NULL, 'P'},
	    {"seq-base", required_argument, NULL, 'S'}, {"source", required_argument, NULL, 'O'},
	    {"round-ms", required_argument, NULL, 'W'}, {NULL, 0, NULL, 0}};
	const char *bootstrap = NULL, *topic = "wukong.status",
		   *type = "dev.novasphere.wukong.status.v1";
	const char *cluster = "local", *ns = "default", *prefix = "wk", *source = "status-emit";
	long gen = 0, rounds = 1, round_ms = 0;
	long long seq_base = 1000;
	struct wk_config *cfg = wk_config_new();
	struct wk_producer *p;
	char err[512], line[70000];
	int c, rc = 0;

	wk_log_init("status_emit", WK_LOG_WARN);
	while ((c = getopt_long(argc, argv, "b:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bootstrap = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'T':
			type = optarg;
			break;
		case 'C':
			cluster = optarg;
			break;
		case 'G':
			gen = atol(optarg);
			break;
		case 'R':
			rounds = atol(optarg);
			break;
		case 'N':
			ns = optarg;
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'S':
			seq_base = atoll(optarg);
			break;
		case 'O':
			source = optarg;
			break;
		case 'W':
			round_ms = atol(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!bootstrap) {
		fprintf(stderr, "usage: status_emit -b BOOTSTRAP [options]\n");
		return 2;
	}
	wk_config_set(cfg, "kafka.bootstrap.servers", bootstrap);
	p = wk_producer_new(cfg, on_delivery, NULL, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "status_emit: %s\n", err);
		return 1;
	}
	if (gen > 0) {
		for (long r = 1; r <= rounds && rc == 0; r++) {
			for (long i = 0; i < gen && rc == 0; i++) {
				snprintf(
				    line, sizeof(line),
				    "{\"cluster\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s-%ld\","
				    "\"source\":\"%s\",\"seq\":%lld,\"status\":{"
				    "\"migrationStatus\":"
				    "{\"phase\":\"%s\",\"progress\":%ld}}}",
				    cluster, ns, prefix, i, source, seq_base + r,
				    r == rounds ? "Succeeded" : "Migrating", r * 100 / rounds);
				rc = send_one(p, topic, type, cluster, line);
			}
			if (round_ms > 0) {
				/* pace the rounds so that a burst lasts long enough to be
				 * interrupted */
				wk_producer_flush(p, 5000);
				struct timespec ts = {round_ms / 1000,
						      (round_ms % 1000) * 1000000L};

				nanosleep(&ts, NULL);
			}
		}
	} else {
		while (rc == 0 && fgets(line, sizeof(line), stdin)) {
			size_t n = strlen(line);

			while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n)
				rc = send_one(p, topic, type, cluster, line);
		}
	}
	if (wk_producer_flush(p, 30000) < 0)
		rc = -1;
	wk_producer_destroy(p);
	wk_config_destroy(cfg);
	printf("%ld\n", delivered);
	return rc < 0 || failed ? 1 : 0;
}
