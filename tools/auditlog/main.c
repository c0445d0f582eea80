/* wukong-auditlog - query and verify an audit log directory written by wukong-audit (no Kafka). */
#include "wk_version.h"
#include "wk_auditlog.h"
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
	    "                              [--since T] [--until T] [--limit N] [-o json|table]\n"
	    "                              [--no-index]\n"
	    "       wukong-auditlog verify [-d DIR] [-q] [--ack-gaps-through SEQ]\n"
	    "                              [--key-file FILE]...\n"
	    "       wukong-auditlog reindex [-d DIR]\n"
	    "\n"
	    "DIR defaults to $WUKONG_AUDIT_DIR. T is RFC 3339 (2026-01-02T03:04:05Z) or a\n"
	    "duration back from now (90s, 15m, 2h, 7d). Filters combine with AND; --since is\n"
	    "inclusive, --until exclusive, both on the record time.\n"
	    "--key-file: a chain key (audit.key-file; repeat it for the keys before a rotation).\n"
	    "With keys, every keyed record's HMAC and HEAD's signature are checked, and a log with\n"
	    "no keyed record fails; without, a keyed record fails and unkeyed ones get a warning.\n"
	    "verify also fails on an input gap: a record of kind input-gap says messages were\n"
	    "removed from the broker (retention) before the log read them. Once looked into,\n"
	    "--ack-gaps-through SEQ accepts every gap record up to that seq.\n"
	    "Exit status: 0 success (verify: the chain is valid, no unacknowledged gap), 1 verify\n"
	    "found a broken record, 2 usage, 3 the log could not be read, 4 unacknowledged input\n"
	    "gap.\n");
}

/* RFC 3339, or N{s,m,h,d} ago. */
static int parse_when(const char *s, int64_t *us)
{
	char *end;
	long long n;
	long long unit;

	if (!wk_time_parse_us(s, us))
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || strlen(end) != 1)
		return -1;
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (n > 100LL * 365 * 86400 / unit)
		return -1;
	*us = wk_time_now_ms() * 1000 - n * unit * 1000000;
	return 0;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* One table cell: at most w columns, control characters shown as '?' so a record can't drive the
 * terminal. */
static void cell(const char *s, int w, bool last)
{
	int n = 0;

	for (; *s && (last || n < w); s++, n++) {
		unsigned char c = (unsigned char)*s;

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
	if (!last)
		for (; n <= w; n++)
			putchar(' ');
}

struct out {
	bool table;
	size_t n;
};

static int print_match(const char *line, size_t len, const cJSON *rec, void *opaque)
{
	struct out *o = opaque;
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	char obj[600], num[24];

	o->n++;
	if (!o->table) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		return 0;
	}
	snprintf(num, sizeof(num), "%.0f", cJSON_IsNumber(seq) ? seq->valuedouble : 0.0);
	snprintf(obj, sizeof(obj), "%s%s%s", str_at(rec, "object", "namespace"),
		 *str_at(rec, "object", "namespace") ? "/" : "", str_at(rec, "object", "name"));
	cell(num, 8, false);
	cell(str_at(rec, "time", NULL), 27, false);
	cell(str_at(rec, "kind", NULL), 19, false);
	cell(obj, 28, false);
	cell(str_at(rec, "request", "id"), 24, false);
	cell(str_at(rec, "actor", NULL), 16, false);
	cell(str_at(rec, "action", NULL), 24, false);
	cell(str_at(rec, "outcome", NULL), 9, false);
	cell(str_at(rec, "reason", NULL), 0, true);
	putchar('\n');
	return 0;
}

static int cmd_query(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
					     {"vm", required_argument, NULL, 'v'},
					     {"cluster", required_argument, NULL, 'c'},
					     {"request", required_argument, NULL, 'r'},
					     {"since", required_argument, NULL, 's'},
					     {"until", required_argument, NULL, 'u'},
					     {"limit", required_argument, NULL, 'l'},
					     {"output", required_argument, NULL, 'o'},
					     {"no-index", no_argument, NULL, 'N'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct wk_auditlog_query q;
	struct out o = {0};
	char *ns = NULL, err[512], *end;
	int c;

	wk_auditlog_query_init(&q);
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'v': {
			const char *slash = strchr(optarg, '/');

			if (!slash || slash == optarg || !slash[1] || strchr(slash + 1, '/')) {
				fprintf(stderr, "wukong-auditlog: --vm '%s': want NAMESPACE/NAME\n",
					optarg);
				return EXIT_USAGE;
			}
			free(ns);
			ns = wk_xstrndup(optarg, (size_t)(slash - optarg));
			q.ns = ns;
			q.name = slash + 1;
			break;
		}
		case 'c':
			q.cluster = optarg;
			break;
		case 'r':
			q.request_id = optarg;
			break;
		case 's':
		case 'u':
			if (parse_when(optarg, c == 's' ? &q.since_us : &q.until_us)) {
				fprintf(stderr,
					"wukong-auditlog: --%s '%s': want RFC 3339 or a duration "
					"like 2h\n",
					c == 's' ? "since" : "until", optarg);
				free(ns);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			errno = 0;
			q.limit = (size_t)strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-') {
				fprintf(stderr, "wukong-auditlog: --limit '%s': want a number\n",
					optarg);
				free(ns);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "wukong-auditlog: -o '%s': want json or table\n",
					optarg);
				free(ns);
				return EXIT_USAGE;
			}
			o.table = !strcmp(optarg, "table");
			break;
		case 'N':
			q.no_index = true;
			break;
		case 'h':
			usage(stdout);
			free(ns);
			return 0;
		default:
			usage(stderr);
			free(ns);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !dir || !*dir) {
		fprintf(stderr,
			optind < argc ? "wukong-auditlog: unexpected argument '%s'\n"
				      : "wukong-auditlog: no log directory (-d or "
					"$WUKONG_AUDIT_DIR)%s\n",
			optind < argc ? argv[optind] : "");
		free(ns);
		return EXIT_USAGE;
	}
	if (o.table) {
		cell("SEQ", 8, false);
		cell("TIME", 27, false);
		cell("KIND", 19, false);
		cell("OBJECT", 28, false);
		cell("REQUEST", 24, false);
		cell("ACTOR", 16, false);
		cell("ACTION", 24, false);
		cell("OUTCOME", 9, false);
		cell("REASON", 0, true);
		putchar('\n');
	}
	c = wk_auditlog_query_run(dir, &q, print_match, &o, err, sizeof(err));
	free(ns);
	if (c) {
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
			fprintf(stderr, "warning: %llu record(s) are unkeyed (plain SHA-256): whoever can "
			       "write the log directory could rewrite them consistently; set "
			       "audit.key-file\n",
			       (unsigned long long)r.unkeyed);
		if (r.keyed && !quiet)
			printf("keyed: %llu record(s) checked with their keys%s\n",
			       (unsigned long long)r.keyed, r.head_signed ? ", HEAD signature valid" : "");
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
