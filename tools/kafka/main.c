/* main.c - wukong-kafka: the embedded Kafka broker (librdkafka's mock cluster) for `make run` and
 * the tests. Creates the topics declared in deploy/topics.yaml, prints "bootstrap=HOST:PORT,..."
 * once they exist, takes fault-injection commands on a control FIFO, stops on SIGTERM/SIGINT.
 * See docs/kafka.md.
 */
#include "kt_topics.h"

#include "wk_version.h"
#include "wk_config.h"
#include "wk_kafka.h"
#include "wk_log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BROKERS 9
#define MAX_CLUSTERS 32
#define CONTROL_LINE_MAX 512 /* longer control lines are refused */

struct broker {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	int nbrokers;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: wukong-kafka [options]\n"
	    "  --brokers N            brokers in the mock cluster (1-%d, default 1)\n"
	    "  --topics FILE          topic list (default deploy/topics.yaml)\n"
	    "  --cluster ID           create the per-cluster topics for ID (repeatable; default "
	    "local)\n"
	    "  --bootstrap-file FILE  write the bootstrap list there once the topics exist\n"
	    "  --control FIFO         create FIFO and read commands from it:\n"
	    "                           down <broker-id>|all, up <broker-id>|all,\n"
	    "                           leader <topic> <partition> <broker-id>,\n"
	    "                           rtt <broker-id> <ms>, create <topic> <partitions>\n"
	    "  --strimzi              print Strimzi KafkaTopic manifests for the list and exit\n"
	    "  --strimzi-cluster NAME strimzi.io/cluster label (default wukong)\n"
	    "  -c FILE                config file (topics.prefix, log.level)\n"
	    "  -X key=value           config setting (e.g. -X topics.prefix=test1)\n"
	    "  -h, --help             this text\n",
	    MAX_BROKERS);
}

/* The topic list: --topics, else deploy/topics.yaml here, else next to the build directory. */
static const char *find_topics_file(const char *opt, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (opt)
		return opt;
	if (access("deploy/topics.yaml", R_OK) == 0)
		return "deploy/topics.yaml";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, size, "%s/../../deploy/topics.yaml", exe) < (int)size &&
			    access(buf, R_OK) == 0)
				return buf;
		}
	}
	return "deploy/topics.yaml";
}

static bool prefix_valid(const char *p)
{
	if (strlen(p) > 100)
		return false;
	for (; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    *p))
			return false;
	return true;
}

static int create_topic(const char *full, const struct kt_topic *t, void *opaque)
{
	struct broker *b = opaque;
	int rf = t->replicas < b->nbrokers ? t->replicas : b->nbrokers;
	rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(b->mc, full, t->partitions, rf);

	if (err) {
		wk_error("create topic '%s': %s", full, rd_kafka_err2str(err));
		return -1;
	}
	wk_info("topic '%s': %d partition(s), replication factor %d", full, t->partitions, rf);
	return 0;
}

static int write_file_atomic(const char *path, const char *content)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", content);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static bool parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool broker_arg(struct broker *b, const char *s, int32_t *id)
{
	long v;

	if (s && !strcmp(s, "all")) {
		*id = -1;
		return true;
	}
	if (!parse_num(s, 1, b->nbrokers, &v))
		return false;
	*id = (int32_t)v;
	return true;
}

/* One control command; the answer goes to stdout ("ok ..." / "error ...") and the log. */
static void control(struct broker *b, char *line)
{
	char *argv[5] = {0};
	int argc = 0;
	char *save = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	const char *bad = NULL;
	char echo[CONTROL_LINE_MAX];
	int32_t id;
	long a, c;

	wk_strlcpy(echo, line, sizeof(echo));
	for (char *tok = strtok_r(line, " \t\r", &save); tok && argc < 5;
	     tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (!argc)
		return;
	if (!strcmp(argv[0], "down") && argc == 2) {
		if (!broker_arg(b, argv[1], &id))
			bad = "unknown broker id";
		else
			err = rd_kafka_mock_broker_set_down(b->mc, id);
	} else if (!strcmp(argv[0], "up") && argc == 2) {
		if (!broker_arg(b, argv[1], &id))
			bad = "unknown broker id";
		else
			err = rd_kafka_mock_broker_set_up(b->mc, id);
	} else if (!strcmp(argv[0], "leader") && argc == 4) {
		if (!parse_num(argv[2], 0, KT_PARTITIONS_MAX - 1, &a))
			bad = "bad partition";
		else if (!broker_arg(b, argv[3], &id) || id < 0)
			bad = "unknown broker id";
		else
			err = rd_kafka_mock_partition_set_leader(b->mc, argv[1], (int32_t)a, id);
	} else if (!strcmp(argv[0], "rtt") && argc == 3) {
		if (!broker_arg(b, argv[1], &id))
			bad = "unknown broker id";
		else if (!parse_num(argv[2], 0, 60000, &a))
			bad = "rtt must be 0-60000 ms";
		else
			err = rd_kafka_mock_broker_set_rtt(b->mc, id, (int)a);
	} else if (!strcmp(argv[0], "create") && argc == 3) {
		if (!parse_num(argv[2], 1, KT_PARTITIONS_MAX, &c))
			bad = "bad partition count";
		else
			err = rd_kafka_mock_topic_create(b->mc, argv[1], (int)c,
							 b->nbrokers < 3 ? b->nbrokers : 3);
	} else {
		bad = "unknown command (down, up, leader, rtt, create)";
	}
	if (bad || err) {
		const char *why = bad ? bad : rd_kafka_err2str(err);

		wk_warn("control '%s': %s", echo, why);
		printf("error %s: %s\n", echo, why);
	} else {
		wk_info("control '%s': done", echo);
		printf("ok %s\n", echo);
	}
	fflush(stdout);
}

/* Read what is there and run every complete line; a line over the cap is dropped whole. */
static void control_read(struct broker *b, int fd, char *buf, size_t *len, bool *overlong)
{
	char chunk[1024];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				buf[*len] = '\0';
				if (*overlong) {
					wk_warn("control line over %d bytes ignored",
						CONTROL_LINE_MAX);
					printf("error line over %d bytes\n", CONTROL_LINE_MAX);
					fflush(stdout);
				} else {
					control(b, buf);
				}
				*len = 0;
				*overlong = false;
			} else if (*len + 1 < CONTROL_LINE_MAX) {
				buf[(*len)++] = chunk[i];
			} else {
				*overlong = true;
			}
		}
	}
}

static int open_control(const char *path, int *wfd)
{
	struct stat st;
	int fd;

	if (mkfifo(path, 0600) && errno != EEXIST) {
		wk_error("control fifo '%s': %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) || !S_ISFIFO(st.st_mode)) {
		wk_error("control fifo '%s': exists and is not a FIFO", path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		wk_error("control fifo '%s': %s", path, strerror(errno));
		return -1;
	}
	/* Our own writer end keeps the FIFO from reporting EOF between clients. */
	*wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"brokers", required_argument, NULL, 'b'},
	    {"topics", required_argument, NULL, 't'},
	    {"cluster", required_argument, NULL, 'C'},
	    {"bootstrap-file", required_argument, NULL, 'f'},
	    {"control", required_argument, NULL, 'p'},
	    {"strimzi", no_argument, NULL, 's'},
	    {"strimzi-cluster", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *topics_opt = NULL, *bootstrap_file = NULL, *control_path = NULL;
	const char *strimzi_cluster = "wukong", *clusters[MAX_CLUSTERS], *prefix, *level;
	size_t nclusters = 0;
	bool strimzi = false;
	long nbrokers = 1;
	char errstr[512], pathbuf[PATH_MAX], ctl[CONTROL_LINE_MAX];
	struct wk_config *cfg = wk_config_new();
	struct kt_topics topics;
	struct broker b = {0};
	const char *topics_path;
	enum wk_log_level lvl;
	rd_kafka_conf_t *conf;
	sigset_t sigs;
	int opt, sfd, cfd = -1, cwfd = -1, rc = 1;
	size_t ctl_len = 0;
	bool ctl_overlong = false;
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		wk_version_print(stdout, "wukong-kafka");
		return 0;
	}

	wk_log_init("wukong-kafka", WK_LOG_INFO);
	while ((opt = getopt_long(argc, argv, "c:X:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (!parse_num(optarg, 1, MAX_BROKERS, &nbrokers)) {
				fprintf(stderr, "wukong-kafka: --brokers must be 1-%d\n",
					MAX_BROKERS);
				return 2;
			}
			break;
		case 't':
			topics_opt = optarg;
			break;
		case 'C':
			if (!kt_cluster_id_valid(optarg) || nclusters >= MAX_CLUSTERS) {
				fprintf(
				    stderr,
				    "wukong-kafka: cluster id '%s' must be a DNS-1123 label (at "
				    "most %d ids)\n",
				    optarg, MAX_CLUSTERS);
				return 2;
			}
			clusters[nclusters++] = optarg;
			break;
		case 'f':
			bootstrap_file = optarg;
			break;
		case 'p':
			control_path = optarg;
			break;
		case 's':
			strimzi = true;
			break;
		case 'S':
			strimzi_cluster = optarg;
			break;
		case 'c':
			if (wk_config_load_file(cfg, optarg, errstr, sizeof(errstr))) {
				fprintf(stderr, "wukong-kafka: %s\n", errstr);
				return 3;
			}
			break;
		case 'X':
			if (wk_config_set_arg(cfg, optarg, errstr, sizeof(errstr))) {
				fprintf(stderr, "wukong-kafka: %s\n", errstr);
				return 3;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (wk_config_load_env(cfg, NULL, errstr, sizeof(errstr))) {
		fprintf(stderr, "wukong-kafka: %s\n", errstr);
		return 3;
	}
	level = wk_config_get(cfg, "log.level", "info");
	if (wk_log_level_parse(level, &lvl)) {
		fprintf(stderr, "wukong-kafka: unknown log.level '%s'\n", level);
		return 3;
	}
	wk_log_init(NULL, lvl);
	if (!nclusters)
		clusters[nclusters++] = "local";
	prefix = wk_config_get(cfg, "topics.prefix", "wukong");
	if (!prefix_valid(prefix)) {
		fprintf(stderr, "wukong-kafka: topics.prefix '%s' must be [A-Za-z0-9._-]\n",
			prefix);
		return 3;
	}
	topics_path = find_topics_file(topics_opt, pathbuf, sizeof(pathbuf));
	if (kt_topics_load(&topics, topics_path, errstr, sizeof(errstr))) {
		fprintf(stderr, "wukong-kafka: %s\n", errstr);
		wk_config_destroy(cfg);
		return 3;
	}
	if (strimzi) {
		kt_topics_write_strimzi(stdout, &topics, prefix, clusters, nclusters,
					strimzi_cluster);
		kt_topics_release(&topics);
		wk_config_destroy(cfg);
		return fflush(stdout) ? 1 : 0;
	}

	/* Block the stop signals before librdkafka starts its threads so only signalfd sees them.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	conf = rd_kafka_conf_new();
	wk_kafka_conf_set_logging(conf);
	b.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!b.rk) {
		rd_kafka_conf_destroy(conf);
		wk_error("mock cluster handle: %s", errstr);
		goto out;
	}
	b.nbrokers = (int)nbrokers;
	b.mc = rd_kafka_mock_cluster_new(b.rk, b.nbrokers);
	if (!b.mc) {
		wk_error("could not start a mock cluster of %d broker(s)", b.nbrokers);
		goto out;
	}
	if (kt_topics_foreach(&topics, prefix, clusters, nclusters, create_topic, &b))
		goto out;
	if (control_path && (cfd = open_control(control_path, &cwfd)) < 0)
		goto out;
	if (bootstrap_file &&
	    write_file_atomic(bootstrap_file, rd_kafka_mock_cluster_bootstraps(b.mc))) {
		wk_error("bootstrap file '%s': %s", bootstrap_file, strerror(errno));
		goto out;
	}
	printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(b.mc));
	fflush(stdout);
	wk_info("mock cluster of %d broker(s) up at %s, %s topics from '%s'", b.nbrokers,
		rd_kafka_mock_cluster_bootstraps(b.mc), prefix, topics_path);

	for (;;) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {cfd, POLLIN, 0}};

		if (poll(pfd, cfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			wk_error("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				wk_info("signal %u: stopping", si.ssi_signo);
			break;
		}
		if (cfd >= 0 && (pfd[1].revents & POLLIN))
			control_read(&b, cfd, ctl, &ctl_len, &ctl_overlong);
	}
	rc = 0;
out:
	if (cfd >= 0) {
		close(cfd);
		if (cwfd >= 0)
			close(cwfd);
		unlink(control_path);
	}
	if (bootstrap_file && rc == 0)
		unlink(bootstrap_file);
	if (b.mc)
		rd_kafka_mock_cluster_destroy(b.mc);
	if (b.rk)
		rd_kafka_destroy(b.rk);
	kt_topics_release(&topics);
	wk_config_destroy(cfg);
	return rc;
}
