/* ctl_args.c - table-driven option parsing for wukongctl: each option names the subcommands that
 * accept it, so a flag given to the wrong command is an error, not silently ignored. */
#include "ctl_args.h"

#include "wk_name.h"

#include <errno.h>
#include <limits.h>

#define M(c) (1u << (c))
#define OPS (M(CTL_CMD_MIGRATE) | M(CTL_CMD_CANCEL) | M(CTL_CMD_DRAIN) | M(CTL_CMD_CLONE))
#define KAFKA (OPS | M(CTL_CMD_UP) | M(CTL_CMD_STATUS) | M(CTL_CMD_CLUSTERS) | M(CTL_CMD_REPORT))
#define ALL 0xffffffffu

enum opt_kind { O_FLAG, O_STR, O_DUR, O_INT };

struct opt {
	const char *name;
	char shortname;
	enum opt_kind kind;
	size_t off;
	unsigned cmds;
};

#define F(field) offsetof(struct ctl_args, field)

static const struct opt opts[] = {
    {"help", 'h', O_FLAG, F(help), ALL},
    {"verbose", 'v', O_FLAG, F(verbose), ALL},
    {"dir", 0, O_STR, F(dir), ALL},
    {"kubeconfig", 0, O_STR, F(kubeconfig), ALL},
    {"context", 0, O_STR, F(context), ALL},
    {"bootstrap", 0, O_STR, F(bootstrap), KAFKA},
    {"cluster", 0, O_STR, F(cluster), OPS | M(CTL_CMD_AUDIT) | M(CTL_CMD_REPORT)},
    {"tenant", 0, O_STR, F(tenant), OPS},
    {"request-id", 0, O_STR, F(request_id), OPS},
    {"output", 'o', O_STR, 0,
     OPS | M(CTL_CMD_GET) | M(CTL_CMD_STATUS) | M(CTL_CMD_AUDIT) | M(CTL_CMD_CLUSTERS)},
    /* kubectl's global flags: accepted by every command (a command without namespaces ignores
     * them, as kubectl's do) */
    {"namespace", 'n', O_STR, F(namespace), ALL},
    {"all-namespaces", 'A', O_FLAG, F(all_namespaces), ALL},
    {"timeout", 0, O_DUR, F(timeout_ms), OPS | M(CTL_CMD_UP) | M(CTL_CMD_DOWN) | M(CTL_CMD_REPORT)},
    {"no-wait", 0, O_FLAG, F(no_wait), OPS},
    {"expire-after", 0, O_DUR, F(expire_after_ms), OPS},
    {"reason", 0, O_STR, F(reason), OPS},
    {"to", 0, O_STR, F(to), M(CTL_CMD_MIGRATE)},
    {"to-cluster", 0, O_STR, F(to_cluster), M(CTL_CMD_MIGRATE)},
    {"cold", 0, O_FLAG, F(cold), M(CTL_CMD_MIGRATE)},
    {"auto-converge", 0, O_FLAG, F(auto_converge), M(CTL_CMD_MIGRATE)},
    {"post-copy", 0, O_FLAG, F(post_copy), M(CTL_CMD_MIGRATE)},
    {"timeout-per-gib", 0, O_INT, F(timeout_per_gib), M(CTL_CMD_MIGRATE)},
    {"request", 0, O_STR, F(target_request), M(CTL_CMD_CANCEL)},
    {"dry-run", 0, O_FLAG, F(dry_run), M(CTL_CMD_DRAIN)},
    {"no-cordon", 0, O_FLAG, F(no_cordon), M(CTL_CMD_DRAIN)},
    {"disks", 0, O_STR, F(disks), M(CTL_CMD_CLONE)},
    {"count", 0, O_INT, F(count), M(CTL_CMD_CLONE)},
    {"parallelism", 0, O_INT, F(parallelism), M(CTL_CMD_CLONE)},
    {"offline", 0, O_FLAG, F(offline), M(CTL_CMD_CLONE)},
    {"start-source", 0, O_FLAG, F(start_source), M(CTL_CMD_CLONE)},
    {"stopped", 0, O_FLAG, F(stopped), M(CTL_CMD_CLONE)},
    {"scenario", 0, O_STR, F(scenario), M(CTL_CMD_UP)},
    {"rbac", 0, O_FLAG, F(rbac), M(CTL_CMD_UP)},
    {"clusters", 0, O_INT, F(clusters), M(CTL_CMD_UP)},
    {"include-finished", 0, O_FLAG, F(include_finished), M(CTL_CMD_GET) | M(CTL_CMD_WATCH)},
    {"watch", 'w', O_FLAG, F(watch), M(CTL_CMD_GET)},
    {"clusters", 0, O_STR, F(fanout), M(CTL_CMD_MIGRATE) | M(CTL_CMD_DRAIN) | M(CTL_CMD_CLONE)},
    {"once", 0, O_FLAG, F(once), M(CTL_CMD_WATCH)},
    {"vm", 0, O_STR, F(vm), M(CTL_CMD_AUDIT)},
    {"request", 0, O_STR, F(target_request), M(CTL_CMD_AUDIT)},
    {"since", 0, O_STR, F(since), M(CTL_CMD_AUDIT)},
    {"until", 0, O_STR, F(until), M(CTL_CMD_AUDIT)},
    {"limit", 0, O_INT, F(limit), M(CTL_CMD_AUDIT)},
    {"svg", 0, O_STR, F(svg), M(CTL_CMD_REPORT)},
    {"reverse", 0, O_FLAG, F(reverse), M(CTL_CMD_AUDIT)},
    {"no-index", 0, O_FLAG, F(no_index), M(CTL_CMD_AUDIT)},
};

static const struct {
	const char *name;
	enum ctl_cmd cmd;
	int min_pos, max_pos;
	const char *usage;
} cmds[] = {
    {"up", CTL_CMD_UP, 0, 0,
     "usage: wukongctl up [--dir DIR] [--scenario FILE[,FILE...]] [--timeout DUR] [--rbac]\n"
     "                    [--clusters N]\n"
     "Start the embedded stack in the background: wukong-kafka, wukong-sim (with the demo\n"
     "scenario unless --scenario) and every service binary next to wukongctl. Writes\n"
     "DIR/kubeconfig, DIR/bootstrap, DIR/pids/, DIR/logs/ and links bin/kubectl-wukong.\n"
     "--rbac (or WUKONG_RBAC=1): apply deploy/base to the simulator and run each service\n"
     "under its own ServiceAccount token (DIR/kubeconfig.<svc>), as deployed.\n"
     "--clusters N (2..8): N simulators, clusters a, b, c ... (DIR/clusters/<id>/kubeconfig,\n"
     "the Nth scenario of the list, else the last), each cluster's services, one broker, one\n"
     "router and one audit logger; DIR/kubeconfig is cluster a's (docs/multicluster.md).\n"},
    {"clusters", CTL_CMD_CLUSTERS, 0, 0,
     "usage: wukongctl clusters [--dir DIR] [--bootstrap B] [-o json]\n"
     "The cluster registry (wukong.clusters): each cluster's versions, feature gates, nodes,\n"
     "room, age of its last heartbeat and whether the router counts it Available.\n"},
    {"down", CTL_CMD_DOWN, 0, 0,
     "usage: wukongctl down [--dir DIR] [--timeout DUR]\n"
     "Stop every process 'up' started (SIGTERM, wait, SIGKILL): none is left behind.\n"},
    {"status", CTL_CMD_STATUS, 0, 0,
     "usage: wukongctl status [--dir DIR] [-o json]\n"
     "Each component's process, /healthz and restarts. Exit 0 when all are healthy, 1\n"
     "otherwise, 3 when no stack runs in DIR.\n"},
    {"restart", CTL_CMD_RESTART, 1, 1,
     "usage: wukongctl restart SERVICE [--dir DIR]\n"
     "Stop a service of the stack (SIGTERM) and start it again at once. Services that exit\n"
     "on their own are restarted by 'up''s supervisor after a backoff (1 s doubling to\n"
     "60 s); 'status' counts the restarts.\n"},
    {"migrate", CTL_CMD_MIGRATE, 1, 1,
     "usage: wukongctl migrate NS/NAME [--to NODE] [--to-cluster ID] [--auto-converge]\n"
     "                         [--post-copy]\n"
     "                         [--timeout-per-gib N] [--cold] [common options]\n"
     "Submit a live migration of the Wukong NS/NAME (NAME alone: namespace 'default') to\n"
     "wukong.requests.<cluster> and follow it with a progress bar until it ends.\n"},
    {"cancel", CTL_CMD_CANCEL, 1, 1,
     "usage: wukongctl cancel NS/NAME [--request ID] [common options]\n"
     "       (also: migrate-cancel, virtctl's name)\n"
     "Cancel the migration queued or running for NS/NAME (only request ID with --request).\n"},
    {"migrate-cancel", CTL_CMD_CANCEL, 1, 1, NULL},
    {"drain", CTL_CMD_DRAIN, 1, 1,
     "usage: wukongctl drain NODE [--dry-run] [--no-cordon] [common options]\n"
     "Cordon NODE (as kubectl drain does; not with --dry-run or --no-cordon), then submit a\n"
     "node drain (evacuate every VM from NODE); --dry-run prints the per-VM plan.\n"},
    {"clone", CTL_CMD_CLONE, 2, 2,
     "usage: wukongctl clone SRC DST [--disks a,b] [--count N] [--parallelism N]\n"
     "                       [--offline | --start-source] [--stopped] [common options]\n"
     "Clone the Wukong SRC (NS/NAME) into a new Wukong DST (NS/NAME; another namespace than\n"
     "SRC's is cloned per volume), optionally only some disks, and follow it. --count N: a\n"
     "batch DST-1..DST-N, at most --parallelism at a time. A stopped source is copied as it\n"
     "is (never started) unless --start-source; --offline refuses a running source;\n"
     "--stopped leaves the clones stopped.\n"},
    {"get", CTL_CMD_GET, 0, 1,
     "usage: wukongctl get [NAME|NS/NAME] [-n NS|-A] [--include-finished] [-w]\n"
     "                     [-o wide|json|yaml|name|jsonpath=TEMPLATE]\n"
     "Operations in flight in the namespace (-n, else the kubeconfig context's; -A: all\n"
     "namespaces), as kubectl prints a table. --include-finished: finished ones too; NAME:\n"
     "that Wukong's current operation, finished or not. -w: as 'watch'.\n"},
    {"watch", CTL_CMD_WATCH, 0, 1,
     "usage: wukongctl watch [NAME|NS/NAME] [-n NS|-A] [--include-finished] [--once]\n"
     "                       [-o wide]\n"
     "Like get, redrawn in place on a terminal; into a pipe a table row per change.\n"},
    {"audit", CTL_CMD_AUDIT, 1, 1,
     "usage: wukongctl audit query [--vm NS/NAME] [--cluster C] [--request ID] [--since T]\n"
     "                             [--until T] [--limit N] [--reverse] [--no-index]\n"
     "                             [-o table|wide|json|yaml|name|jsonpath=T]\n"
     "       wukongctl audit verify\n"
     "The audit log in DIR/audit, with wukong-auditlog's flags and formats\n"
     "(core/wk_auditlog_cli.h). T is RFC 3339 or a duration back from now (90s, 2h, 7d).\n"
     "--limit N: the newest N, oldest first (--reverse: newest first).\n"},
    {"report", CTL_CMD_REPORT, 2, 2,
     "usage: wukongctl report drain|migrate ID [--svg FILE] [--timeout DUR]\n"
     "The picture of a drain (per VM: the planner's bar against what happened) or of a\n"
     "migration (data remaining over time against transfer and dirty rate), read back from\n"
     "wukong.audit, wukong.progress and wukong.status: as text on stdout, or with --svg as\n"
     "an SVG file any browser opens. ID is the request id (the drain's, or the migration's).\n"},
    {"help", CTL_CMD_HELP, 0, 1, NULL},
    {"version", CTL_CMD_VERSION, 0, 0, "usage: wukongctl version\n"},
};

enum ctl_cmd ctl_cmd_from_name(const char *s)
{
	for (size_t i = 0; i < WK_ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, s))
			return cmds[i].cmd;
	return CTL_CMD_NONE;
}

const char *ctl_cmd_usage(enum ctl_cmd c)
{
	for (size_t i = 0; i < WK_ARRAY_SIZE(cmds); i++)
		if (cmds[i].cmd == c && cmds[i].usage)
			return cmds[i].usage;
	return NULL;
}

const char *ctl_args_ns(const struct ctl_args *a)
{
	return a->namespace ? a->namespace : a->default_ns ? a->default_ns : "default";
}

int ctl_ref_ns(const struct ctl_args *a, const char *s, char ns[CTL_NS_MAX],
	       char name[CTL_NAME_MAX], char *errstr, size_t errstr_size)
{
	char shown[80];

	if (ctl_parse_ref(s, ctl_args_ns(a), ns, name, errstr, errstr_size) < 0)
		return -1;
	if (a->namespace && strchr(s, '/') && strcmp(ns, a->namespace)) {
		ctl_safe(s, shown, sizeof(shown), 64);
		return wk_err(errstr, errstr_size,
			      "'%s' names namespace '%s' but -n says '%s': give one of them", shown,
			      ns, a->namespace);
	}
	return 0;
}

void ctl_safe(const char *s, char *out, size_t out_size, size_t max)
{
	size_t i, n = 0;

	if (!out_size)
		return;
	for (i = 0; s && s[i] && n + 4 < out_size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == max) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
}

int ctl_parse_duration(const char *s, long long *ms)
{
	char *end;
	long long v, unit = 1000;

	if (!s || !*s || *s == '-' || *s == '+' || strlen(s) > 32)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (!strcmp(end, "ms"))
		unit = 1;
	else if (!strcmp(end, "s") || !*end)
		unit = 1000;
	else if (!strcmp(end, "m"))
		unit = 60000;
	else if (!strcmp(end, "h"))
		unit = 3600000;
	else
		return -1;
	if (v <= 0 || v > 7LL * 86400000 / unit)
		return -1;
	*ms = v * unit;
	return 0;
}

int ctl_parse_ref(const char *s, const char *def_ns, char ns[CTL_NS_MAX], char name[CTL_NAME_MAX],
		  char *errstr, size_t errstr_size)
{
	const char *slash;
	char shown[80];

	ctl_safe(s, shown, sizeof(shown), 64);
	if (!s || !*s)
		return wk_err(errstr, errstr_size, "empty name: give NS/NAME or NAME");
	if (strlen(s) >= CTL_NS_MAX + CTL_NAME_MAX)
		return wk_err(errstr, errstr_size,
			      "name '%s' is too long (NS/NAME: at most %d bytes)", shown,
			      CTL_NS_MAX + CTL_NAME_MAX - 1);
	slash = strchr(s, '/');
	if (slash) {
		size_t n = (size_t)(slash - s);

		if (strchr(slash + 1, '/'))
			return wk_err(errstr, errstr_size,
				      "invalid name '%s': expected NS/NAME with a single '/'",
				      shown);
		if (n == 0 || n >= CTL_NS_MAX)
			return wk_err(errstr, errstr_size,
				      "invalid name '%s': namespace must be 1-63 characters",
				      shown);
		memcpy(ns, s, n);
		ns[n] = '\0';
		s = slash + 1;
	} else {
		wk_strlcpy(ns, def_ns ? def_ns : "default", CTL_NS_MAX);
	}
	if (!wk_name_is_dns1123_label(ns))
		return wk_err(errstr, errstr_size,
			      "invalid name '%s': namespace is not a DNS-1123 label (lowercase "
			      "letters, digits, '-')",
			      shown);
	if (!*s || strlen(s) >= CTL_NAME_MAX || !wk_name_is_dns1123_subdomain(s))
		return wk_err(errstr, errstr_size,
			      "invalid name '%s': NAME is not a DNS-1123 subdomain (lowercase "
			      "letters, digits, '-', '.')",
			      shown);
	wk_strlcpy(name, s, CTL_NAME_MAX);
	return 0;
}

int ctl_parse_node(const char *s, char *out, size_t out_size, char *errstr, size_t errstr_size)
{
	char shown[80];

	ctl_safe(s, shown, sizeof(shown), 64);
	if (!s || !*s || strlen(s) >= out_size || strlen(s) >= CTL_NAME_MAX ||
	    !wk_name_is_dns1123_subdomain(s))
		return wk_err(errstr, errstr_size,
			      "invalid node name '%s': not a DNS-1123 subdomain", shown);
	wk_strlcpy(out, s, out_size);
	return 0;
}

int ctl_parse_disks(const char *s, char out[][64], size_t max, char *errstr, size_t errstr_size)
{
	size_t n = 0;
	const char *p = s, *comma;
	char one[256], shown[80];

	if (!s || !*s)
		return wk_err(errstr, errstr_size, "--disks: empty list");
	for (;;) {
		size_t len;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, p, len);
		one[len] = '\0';
		ctl_safe(one, shown, sizeof(shown), 64);
		if (!wk_name_is_dns1123_label(one))
			return wk_err(errstr, errstr_size,
				      "--disks: '%s' is not a disk name (DNS-1123 label)", shown);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(out[i], one))
				return wk_err(errstr, errstr_size, "--disks: '%s' listed twice",
					      shown);
		if (n == max)
			return wk_err(errstr, errstr_size, "--disks: more than %zu disks", max);
		wk_strlcpy(out[n++], one, 64);
		if (!comma)
			break;
		p = comma + 1;
	}
	return (int)n;
}

static int set_opt(struct ctl_args *a, const struct opt *o, const char *val, const char *shown,
		   char *errstr, size_t errstr_size)
{
	char *base = (char *)a, sv[80];

	ctl_safe(val, sv, sizeof(sv), 64);
	switch (o->kind) {
	case O_FLAG:
		*(bool *)(void *)(base + o->off) = true;
		return 0;
	case O_STR:
		if (!strcmp(o->name, "output")) {
			if (!strcmp(val, "json"))
				a->output = CTL_OUT_JSON;
			else if (!strcmp(val, "yaml"))
				a->output = CTL_OUT_YAML;
			else if (!strcmp(val, "text"))
				a->output = CTL_OUT_TEXT;
			else if (!strcmp(val, "wide"))
				a->output = CTL_OUT_WIDE;
			else if (!strcmp(val, "name"))
				a->output = CTL_OUT_NAME;
			else if (!strncmp(val, "jsonpath=", 9) && val[9]) {
				a->output = CTL_OUT_JSONPATH;
				a->jsonpath = val + 9;
			} else
				return wk_err(errstr, errstr_size,
					      "%s: unknown output format '%s' (json, yaml, wide, "
					      "name, jsonpath=TEMPLATE, text)",
					      shown, sv);
			return 0;
		}
		if (!*val)
			return wk_err(errstr, errstr_size, "%s: empty value", shown);
		*(const char **)(void *)(base + o->off) = val;
		return 0;
	case O_DUR:
		if (ctl_parse_duration(val, (long long *)(void *)(base + o->off)) < 0)
			return wk_err(
			    errstr, errstr_size,
			    "%s: '%s' is not a duration (500ms, 30s, 5m, 1h; at most 7 days)",
			    shown, sv);
		return 0;
	case O_INT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(val, &end, 10);
		if (errno || end == val || *end || v < 1 || v > 604800)
			return wk_err(errstr, errstr_size,
				      "%s: '%s' is not a whole number in 1..604800", shown, sv);
		*(long long *)(void *)(base + o->off) = v;
		return 0;
	}
	}
	return -1;
}

int ctl_args_parse(int argc, char **argv, struct ctl_args *a, char *errstr, size_t errstr_size)
{
	int i, ci = -1;
	bool only_pos = false;
	char shown[80];

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++)
		if (strlen(argv[i]) > CTL_ARG_MAX)
			return wk_err(errstr, errstr_size, "argument %d is longer than %d bytes", i,
				      CTL_ARG_MAX);
	/* The subcommand is the first argument that is not an option (global options may come
	 * first: `wukongctl --dir X status`). */
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (s[0] == '-' && s[1]) {
			/* skip the value of an option that takes one ("--dir X") */
			for (size_t k = 0; k < WK_ARRAY_SIZE(opts); k++)
				if (opts[k].kind != O_FLAG &&
				    ((s[1] == '-' && !strcmp(s + 2, opts[k].name)) ||
				     (s[1] == opts[k].shortname && !s[2]))) {
					i++;
					break;
				}
			continue;
		}
		a->cmd = ctl_cmd_from_name(s);
		a->cmd_name = s;
		ci = i;
		break;
	}
	if (ci < 0) {
		for (i = 1; i < argc; i++)
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				a->cmd = CTL_CMD_HELP;
				return 0;
			}
		return wk_err(errstr, errstr_size, "no command given; see 'wukongctl --help'");
	}
	if (a->cmd == CTL_CMD_NONE) {
		ctl_safe(argv[ci], shown, sizeof(shown), 40);
		return wk_err(errstr, errstr_size, "unknown command '%s'; see 'wukongctl --help'",
			      shown);
	}
	for (i = 1; i < argc; i++) {
		const char *s = argv[i], *val = NULL, *eq;
		const struct opt *o = NULL;
		char name[64];

		if (i == ci)
			continue;
		if (only_pos || s[0] != '-' || !s[1]) {
			if (a->npos == CTL_MAX_POS)
				return wk_err(errstr, errstr_size, "too many arguments for '%s'",
					      a->cmd_name);
			a->pos[a->npos++] = s;
			continue;
		}
		if (!strcmp(s, "--")) {
			only_pos = true;
			continue;
		}
		ctl_safe(s, shown, sizeof(shown), 40);
		if (s[1] == '-') {
			eq = strchr(s + 2, '=');
			size_t n = eq ? (size_t)(eq - s - 2) : strlen(s + 2);

			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, s + 2, n);
			name[n] = '\0';
			for (size_t k = 0; k < WK_ARRAY_SIZE(opts); k++)
				if (!strcmp(opts[k].name, name) && (opts[k].cmds & M(a->cmd))) {
					o = &opts[k];
					break;
				}
			if (eq)
				val = eq + 1;
		} else {
			for (size_t k = 0; k < WK_ARRAY_SIZE(opts); k++)
				if (opts[k].shortname == s[1] && (opts[k].cmds & M(a->cmd))) {
					o = &opts[k];
					break;
				}
			/* kubectl's "-ojson", "-nprod": a short option's value attached */
			if (o && s[2]) {
				if (o->kind == O_FLAG)
					o = NULL;
				else
					val = s + 2;
			}
		}
		if (!o)
			return wk_err(errstr, errstr_size,
				      "unknown option '%s' for '%s'; see 'wukongctl %s --help'",
				      shown, a->cmd_name, a->cmd_name);
		if (o->kind == O_FLAG) {
			if (val)
				return wk_err(errstr, errstr_size, "option '--%s' takes no value",
					      o->name);
		} else if (!val) {
			if (i + 1 >= argc)
				return wk_err(errstr, errstr_size, "option '%s' needs a value",
					      shown);
			val = argv[++i];
		}
		if (set_opt(a, o, val ? val : "", shown, errstr, errstr_size) < 0)
			return -1;
	}
	if (a->help || a->cmd == CTL_CMD_HELP || a->cmd == CTL_CMD_VERSION)
		return 0;
	for (size_t k = 0; k < WK_ARRAY_SIZE(cmds); k++) {
		if (cmds[k].cmd != a->cmd)
			continue;
		if (a->npos < cmds[k].min_pos || a->npos > cmds[k].max_pos)
			return wk_err(errstr, errstr_size,
				      "'%s' takes %d argument%s, got %d; see 'wukongctl %s --help'",
				      cmds[k].name, cmds[k].max_pos,
				      cmds[k].max_pos == 1 ? "" : "s", a->npos, cmds[k].name);
	}
	if (a->cmd == CTL_CMD_AUDIT) {
		a->audit_sub = a->pos[0];
		if (strcmp(a->audit_sub, "query") && strcmp(a->audit_sub, "verify")) {
			ctl_safe(a->audit_sub, shown, sizeof(shown), 40);
			return wk_err(errstr, errstr_size,
				      "unknown audit command '%s' (query, verify)", shown);
		}
	}
	if (a->cmd == CTL_CMD_REPORT) {
		a->report_kind = a->pos[0];
		a->report_id = a->pos[1];
		if (strcmp(a->report_kind, "drain") && strcmp(a->report_kind, "migrate")) {
			ctl_safe(a->report_kind, shown, sizeof(shown), 40);
			return wk_err(errstr, errstr_size, "unknown report '%s' (drain, migrate)",
				      shown);
		}
		if (!wk_name_is_dns1123_label(a->report_id)) {
			ctl_safe(a->report_id, shown, sizeof(shown), 64);
			return wk_err(errstr, errstr_size, "report: '%s' is not a request id",
				      shown);
		}
		if (a->svg && (!*a->svg || strlen(a->svg) >= 4096))
			return wk_err(errstr, errstr_size, "--svg: give a file name");
	}
	if (a->namespace && !wk_name_is_dns1123_label(a->namespace)) {
		ctl_safe(a->namespace, shown, sizeof(shown), 64);
		return wk_err(errstr, errstr_size, "-n: '%s' is not a namespace (DNS-1123 label)",
			      shown);
	}
	if (a->namespace && a->all_namespaces && (a->cmd == CTL_CMD_GET || a->cmd == CTL_CMD_WATCH))
		return wk_err(errstr, errstr_size,
			      "-n and -A (--all-namespaces) exclude each other");
	if (a->cluster && !wk_name_is_dns1123_label(a->cluster)) {
		ctl_safe(a->cluster, shown, sizeof(shown), 64);
		return wk_err(errstr, errstr_size, "--cluster: '%s' is not a DNS-1123 label",
			      shown);
	}
	if (a->tenant && !wk_name_is_dns1123_label(a->tenant)) {
		ctl_safe(a->tenant, shown, sizeof(shown), 64);
		return wk_err(errstr, errstr_size, "--tenant: '%s' is not a DNS-1123 label", shown);
	}
	if (a->request_id && !wk_name_is_dns1123_label(a->request_id)) {
		ctl_safe(a->request_id, shown, sizeof(shown), 64);
		return wk_err(
		    errstr, errstr_size,
		    "--request-id: '%s' is not a DNS-1123 label (at most 63 of a-z 0-9 -)", shown);
	}
	if (a->target_request && !wk_name_is_dns1123_label(a->target_request)) {
		ctl_safe(a->target_request, shown, sizeof(shown), 64);
		return wk_err(errstr, errstr_size, "--request: '%s' is not a request id", shown);
	}
	if (a->reason && strlen(a->reason) > 1023)
		return wk_err(errstr, errstr_size, "--reason: at most 1023 bytes");
	return 0;
}
