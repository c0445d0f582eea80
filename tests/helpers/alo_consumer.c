/* alo_consumer.c - test helper: an at-least-once wk_consumer whose "effect" is a line appended
 * (and fsync'd) to a file, with stop points where a test SIGKILLs it.
 *
 *   alo_consumer -b BOOTSTRAP -g GROUP -t TOPIC -o OUT [-n COUNT]
 *                [--pause-after-process READY] [--pause-after-commit READY] [-X key=value]...
 *
 * For each message: append "<topic> <partition> <offset> <key> <value>\n" to OUT, then
 *   --pause-after-process: create READY and wait to be killed (offset NOT stored);
 *   --pause-after-commit:  store the offset, commit synchronously, create READY, wait;
 *   otherwise store the offset; after COUNT messages close cleanly (which commits) and exit 0.
 * SIGTERM/SIGINT also close cleanly.
 */
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	return close(fd);
}

static int append(const char *path, const rd_kafka_message_t *m)
{
	FILE *f = fopen(path, "a");
	int rc;

	if (!f)
		return -1;
	fprintf(f, "%s %d %lld %.*s %.*s\n", rd_kafka_topic_name(m->rkt), (int)m->partition,
		(long long)m->offset, (int)m->key_len, m->key ? (const char *)m->key : "",
		(int)m->len, m->payload ? (const char *)m->payload : "");
	/* The effect is durable before anything is stored: that is the point of the test. */
	rc = fflush(f) || fsync(fileno(f)) ? -1 : 0;
	return fclose(f) || rc ? -1 : 0;
}

static void wait_for_kill(void)
{
	while (!stop)
		pause();
	_exit(3); /* never a clean close: the test wanted a crash here */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pause-after-process", required_argument, NULL, 'P'},
	    {"pause-after-commit", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	struct wk_config *cfg = wk_config_new();
	const char *group = NULL, *topic = NULL, *out = NULL, *after_process = NULL,
		   *after_commit = NULL;
	struct wk_consumer *c;
	char err[512];
	long count = -1, done = 0;
	int opt;

	wk_log_init("alo_consumer", WK_LOG_INFO);
	while ((opt = getopt_long(argc, argv, "b:g:t:o:n:X:", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			wk_config_set(cfg, "kafka.bootstrap.servers", optarg);
			break;
		case 'g':
			group = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'X':
			if (wk_config_set_arg(cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "alo_consumer: %s\n", err);
				return 2;
			}
			break;
		case 'P':
			after_process = optarg;
			break;
		case 'C':
			after_commit = optarg;
			break;
		default:
			fprintf(stderr, "usage: see the comment at the top of alo_consumer.c\n");
			return 2;
		}
	}
	if (!group || !topic || !out) {
		fprintf(stderr, "alo_consumer: -g GROUP -t TOPIC -o OUT are required\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	c = wk_consumer_new(cfg, group, &topic, 1, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "alo_consumer: %s\n", err);
		return 1;
	}
	while (!stop && (count < 0 || done < count)) {
		rd_kafka_message_t *m = wk_consumer_poll(c, 200);

		if (!m)
			continue;
		if (append(out, m)) {
			fprintf(stderr, "alo_consumer: cannot write '%s'\n", out);
			rd_kafka_message_destroy(m);
			break;
		}
		wk_info("processed '%s' [%d] offset %lld", rd_kafka_topic_name(m->rkt),
			(int)m->partition, (long long)m->offset);
		if (after_process) {
			touch(after_process);
			wait_for_kill();
		}
		if (wk_consumer_store(c, m))
			fprintf(stderr, "alo_consumer: store failed\n");
		rd_kafka_message_destroy(m);
		if (after_commit) {
			if (wk_consumer_commit(c))
				fprintf(stderr, "alo_consumer: commit failed\n");
			touch(after_commit);
			wait_for_kill();
		}
		done++;
	}
	wk_consumer_destroy(c);
	wk_config_destroy(cfg);
	return 0;
}
