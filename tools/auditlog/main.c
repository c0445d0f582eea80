/* wukong-auditlog - query and verify an audit log directory written by wukong-audit (no Kafka). */
#include "wk_version.h"
#include "wk_auditlog.h"
#include "wk_auditlog_cli.h"
#include "wk_log.h"
#include "wk_time.h"

#include <errno.h>
#include <getopt.h>

enum { EXIT_BROKEN = 1, EXIT_USAGE = 2, EXIT_IO = 3, EXIT_GAP = 4 };

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: wukong-auditlog query  [-d DIR] [--vm NS/NAME] [--cluster C] [--request ID]\n"
	    "                              [--since T] [--until T] [--limit N] [--reverse]\n"
	    "                              [--no-index] [-o table|wide|json|yaml]\n"
	    "       wukong-auditlog verify [-d DIR] [-q] [--ack-gaps-through SEQ]\n"
	    "                              [--key-file FILE]...\n"
	    "       wukong-auditlog reindex [-d DIR]\n"
	    "\n"
	    "DIR defaults to $WUKONG_AUDIT_DIR. T is RFC 3339 (2026-01-02T03:04:05Z) or a\n"
	    "duration back from now (90s, 15m, 2h, 7d). Filters combine with AND; --since is\n"
	    "inclusive, --until exclusive, both on the record time. --limit N: the newest N, "
	    "oldest\n"
	    "first (--reverse: newest first). The same flags and formats as 'wukongctl audit "
	    "query'\n"
	    "(whose default is the table; this tool's is json).\n"
	    "--key-file: a chain key (audit.key-file; repeat it for the keys before a rotation).\n"
	    "With keys, every keyed record's HMAC and HEAD's signature are checked, and a log "
	    "with\n"
	    "no keyed record fails; without, a keyed record fails and unkeyed ones get a warning.\n"
	    "verify also fails on an input gap: a record of kind input-gap says messages were\n"
	    "removed from the broker (retention) before the log read them. Once looked into,\n"
	    "--ack-gaps-through SEQ accepts every gap record up to that seq.\n"
	    "Exit status: 0 success (verify: the chain is valid, no unacknowledged gap), 1 verify\n"
	    "found a broken record, 2 usage, 3 the log could not be read, 4 unacknowledged input\n"
	    "gap.\n");
}

static int cmd_query(const char *dir, int argc, char **argv)
{
	/* the flags are wk_auditlog_cli's, shared with `wukongctl audit query` */
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},   {"vm", required_argument, NULL, 1},
	    {"cluster", required_argument, NULL, 1}, {"request", required_argument, NULL, 1},
	    {"since", required_argument, NULL, 1},   {"until", required_argument, NULL, 1},
	    {"limit", required_argument, NULL, 1},   {"output", required_argument, NULL, 'o'},
	    {"reverse", no_argument, NULL, 1},	     {"no-index", no_argument, NULL, 1},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0}};
	struct wk_auditlog_cli q;
	char err[512];
	int c, idx = 0;

	wk_auditlog_cli_init(&q);
	q.out = WK_AUDIT_OUT_JSON; /* a tool for scripts: JSON Lines unless -o says otherwise */
	while ((c = getopt_long(argc, argv, "d:o:h", opts, &idx)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 1:
		case 'o':
			if (wk_auditlog_cli_set(&q, c == 'o' ? "output" : opts[idx].name, optarg,
						err, sizeof(err)) <= 0) {
				fprintf(stderr, "wukong-auditlog: %s\n", err);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !dir || !*dir) {
		fprintf(stderr,
			optind < argc ? "wukong-auditlog: unexpected argument '%s'\n"
				      : "wukong-auditlog: no log directory (-d or "
					"$WUKONG_AUDIT_DIR)%s\n",
			optind < argc ? argv[optind] : "");
		return EXIT_USAGE;
	}
	if (wk_auditlog_cli_query(dir, &q, stdout, NULL, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "wukong-auditlog: %s\n", err);
		return EXIT_IO;
	}
	if (fflush(stdout))
		return EXIT_IO;
	return 0;
}

static int cmd_verify(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"ack-gaps-through", required_argument, NULL, 'A'},
					     {"key-file", required_argument, NULL, 'K'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct wk_auditlog_verify_result r;
	unsigned long long acked = 0;
	struct wk_auditlog_key keys[8];
	size_t nkeys = 0;
	bool quiet = false;
	char *end;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else if (c == 'q') {
			quiet = true;
		} else if (c == 'K') {
			if (nkeys == WK_ARRAY_SIZE(keys)) {
				fprintf(stderr, "wukong-auditlog: at most %zu --key-file\n",
					WK_ARRAY_SIZE(keys));
				return EXIT_USAGE;
			}
			if (wk_auditlog_key_load(optarg, &keys[nkeys], err, sizeof(err))) {
				fprintf(stderr, "wukong-auditlog: %s\n", err);
				return EXIT_USAGE;
			}
			nkeys++;
		} else if (c == 'A') {
			errno = 0;
			acked = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-') {
				fprintf(stderr, "wukong-auditlog: --ack-gaps-through: not a seq\n");
				return EXIT_USAGE;
			}
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : EXIT_USAGE;
		}
	}
	if (optind < argc || !dir || !*dir) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (wk_auditlog_verify_keys(dir, nkeys ? keys : NULL, nkeys, &r, err, sizeof(err))) {
		fprintf(stderr, "wukong-auditlog: %s\n", err);
		return EXIT_IO;
	}
	if (r.ok && r.last_gap_seq > acked) {
		printf("INPUT GAP: the chain is valid (%llu records) but %llu input-gap record(s) "
		       "say messages never reached this log:\n",
		       (unsigned long long)r.records, (unsigned long long)r.input_gaps);
		for (uint64_t i = 0; i < r.input_gaps && i < WK_AUDITLOG_GAPS_LISTED; i++)
			if (r.gap_seq[i] > acked)
				printf("  seq %llu: %s\n", (unsigned long long)r.gap_seq[i],
				       r.gap_reason[i]);
		printf("acknowledge with --ack-gaps-through %llu once looked into\n",
		       (unsigned long long)r.last_gap_seq);
		return EXIT_GAP;
	}
	if (r.ok) {
		if (!quiet)
			printf("ok: %llu records in %u segment(s), chain valid, last seq %llu\n",
			       (unsigned long long)r.records, r.segments,
			       (unsigned long long)r.last_seq);
		if (r.unkeyed)
			fprintf(stderr,
				"warning: %llu record(s) are unkeyed (plain SHA-256): whoever can "
				"write the log directory could rewrite them consistently; set "
				"audit.key-file\n",
				(unsigned long long)r.unkeyed);
		if (r.keyed && !quiet)
			printf("keyed: %llu record(s) checked with their keys%s\n",
			       (unsigned long long)r.keyed,
			       r.head_signed ? ", HEAD signature valid" : "");
		if (r.input_gaps && !quiet)
			printf("note: %llu input gap(s), acknowledged through seq %llu\n",
			       (unsigned long long)r.input_gaps, acked);
		if (r.tail_incomplete)
			printf(
			    "note: %s line %llu (seq %llu) is incomplete: a record being written, "
			    "or torn by a crash and never acknowledged (wukong-audit removes it "
			    "when it opens the log)\n",
			    r.segment, (unsigned long long)r.line, (unsigned long long)r.seq);
		return 0;
	}
	if (r.line)
		printf("BROKEN: %s line %llu (seq %llu): %s\n", r.segment,
		       (unsigned long long)r.line, (unsigned long long)r.seq, r.what);
	else
		printf("BROKEN: %s: %s\n", r.segment, r.what);
	if (!quiet)
		printf("%llu records verified before it\n", (unsigned long long)r.records);
	return EXIT_BROKEN;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("WUKONG_AUDIT_DIR");
	const char *cmd;
	char err[512];
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		wk_version_print(stdout, "wukong-auditlog");
		return 0;
	}

	wk_log_init("wukong-auditlog", WK_LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	argc--;
	argv++;
	if (!strcmp(cmd, "query"))
		return cmd_query(dir, argc, argv);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(dir, argc, argv);
	if (!strcmp(cmd, "reindex")) {
		if (argc == 3 && !strcmp(argv[1], "-d"))
			dir = argv[2];
		else if (argc != 1) {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!dir || wk_auditlog_reindex(dir, err, sizeof(err))) {
			fprintf(stderr, "wukong-auditlog: %s\n", dir ? err : "no log directory");
			return dir ? EXIT_IO : EXIT_USAGE;
		}
		return 0;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "wukong-auditlog: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
