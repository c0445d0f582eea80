/* wukongctl - the operator's front door: start and stop the embedded stack, submit migrations,
 * cancels, drains and clones through Kafka and follow them with a progress bar, show what is in
 * flight, query and verify the audit log. Also a kubectl plugin (`kubectl wukong ...` through a
 * kubectl-wukong link). docs/wukongctl.md describes it; the parts are in ctl_*.c.
 */
#include "ctl_args.h"
#include "ctl_out.h"
#include "ctl_ops.h"
#include "ctl_report.h"
#include "ctl_stack.h"
#include "ctl_table.h"

#include "wk_version.h"
#include "wk_auditlog.h"
#include "wk_auditlog_cli.h"
#include "wk_log.h"
#include "wk_time.h"

#include <curl/curl.h>
#include <limits.h>
#include <signal.h>

static const char usage_text[] =
    "usage: wukongctl COMMAND [options]   (also: kubectl wukong COMMAND ...)\n"
    "\n"
    "Stack (embedded broker, cluster simulator, every service; files under --dir):\n"
    "  up          start it in the background            status   health of each part\n"
    "  down        stop it, leaving no process behind\n"
    "  up --clusters N   N simulated clusters a, b, c ... and the router\n"
    "Operations (a Kafka submission, then a live progress bar until it ends):\n"
    "  migrate NS/NAME [--to NODE] [--auto-converge] [--post-copy] [--timeout-per-gib N]\n"
    "  cancel NS/NAME [--request ID]        (also: migrate-cancel, as virtctl)\n"
    "  drain NODE [--dry-run] [--no-cordon]\n"
    "  clone SRC DST [--disks a,b]\n"
    "Views:\n"
    "  get [NAME] [-n NS|-A] [--include-finished] [-w]   operations in flight, a table\n"
    "  watch [NAME] [-n NS|-A] [--include-finished]      the same, live\n"
    "  audit query|verify   the audit log (DIR/audit)\n"
    "  clusters    the cluster registry (wukong.clusters): versions, gates, room, state\n"
    "  report drain|migrate ID [--svg FILE]   a drain's timeline, a migration's convergence\n"
    "\n"
    "kubectl's flags: -n/--namespace NS (default: the kubeconfig context's), -A/--all-namespaces,\n"
    "--kubeconfig FILE, --context NAME, -o json|yaml|wide|name|jsonpath=TEMPLATE. NAME alone\n"
    "is in that namespace; NS/NAME names another.\n"
    "Common options: --dir DIR (default $WUKONG_DIR or .wukong), --kubeconfig FILE\n"
    "(default $KUBECONFIG, DIR/kubeconfig, else ~/.kube/config), --context NAME,\n"
    "--bootstrap HOST:PORT|FILE (default\n"
    "$WUKONG_KAFKA_BOOTSTRAP_SERVERS or DIR/bootstrap), --cluster ID (default local),\n"
    "--tenant T, --request-id ID, --reason TEXT, --no-wait, --timeout DUR, --expire-after DUR,\n"
    "-v.\n"
    "'wukongctl COMMAND --help' describes each command. Exit status: 0 done, 1 failed or\n"
    "rejected, 2 usage, 3 no stack / unreachable, 4 nothing processed it in time.\n";

/* ---- audit: the same library, flags and formats as wukong-auditlog (wk_auditlog_cli.h) ---- */

/* -o jsonpath= / name: per record. */
static void audit_print(const char *line, size_t len, const cJSON *rec, void *opaque)
{
	const struct ctl_args *a = opaque;
	char seq[32];
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "seq");

	(void)line;
	(void)len;
	snprintf(seq, sizeof(seq), "record/%.0f", cJSON_IsNumber(s) ? s->valuedouble : 0.0);
	(void)ctl_out_value(a, rec, seq, stdout);
	if (a->output == CTL_OUT_JSONPATH)
		putchar('\n');
}

static int audit(const struct ctl_env *e)
{
	const struct ctl_args *a = e->args;
	char dir[PATH_MAX + 16], err[512], ns[CTL_NS_MAX], name[CTL_NAME_MAX];

	snprintf(dir, sizeof(dir), "%s/audit", e->dir);
	if (!strcmp(a->audit_sub, "verify")) {
		struct wk_auditlog_verify_result r;

		if (wk_auditlog_verify(dir, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "wukongctl: %s (is there an audit log in '%s/audit'?)\n",
				err, e->shown);
			return 3;
		}
		if (r.ok) {
			printf("audit log ok: %llu records in %u segments, last seq %llu%s\n",
			       (unsigned long long)r.records, r.segments,
			       (unsigned long long)r.last_seq,
			       r.tail_incomplete ? " (last record still being written)" : "");
			return 0;
		}
		printf("audit log BROKEN at %s line %llu (seq %llu): %s\n", r.segment,
		       (unsigned long long)r.line, (unsigned long long)r.seq, r.what);
		return 1;
	}
	{
		struct wk_auditlog_cli q;
		static const char *const outs[] = {"table", "json", "yaml", "wide"};
		char lim[24];
		int bad = 0;

		wk_auditlog_cli_init(&q);
		if (a->vm) {
			/* NAME alone: the namespace -n or the context gives */
			if (ctl_ref_ns(a, a->vm, ns, name, err, sizeof(err)) < 0) {
				fprintf(stderr, "wukongctl: --vm: %s\n", err);
				return 2;
			}
			{
				char vm[CTL_NS_MAX + CTL_NAME_MAX + 2];

				snprintf(vm, sizeof(vm), "%s/%s", ns, name);
				bad |= wk_auditlog_cli_set(&q, "vm", vm, err, sizeof(err)) < 0;
			}
		}
		snprintf(lim, sizeof(lim), "%lld", a->limit);
		if ((a->cluster &&
		     wk_auditlog_cli_set(&q, "cluster", a->cluster, err, sizeof(err)) < 0) ||
		    (a->target_request &&
		     wk_auditlog_cli_set(&q, "request", a->target_request, err, sizeof(err)) < 0) ||
		    (a->since &&
		     wk_auditlog_cli_set(&q, "since", a->since, err, sizeof(err)) < 0) ||
		    (a->until &&
		     wk_auditlog_cli_set(&q, "until", a->until, err, sizeof(err)) < 0) ||
		    (a->limit && wk_auditlog_cli_set(&q, "limit", lim, err, sizeof(err)) < 0) ||
		    (a->output <= CTL_OUT_WIDE &&
		     wk_auditlog_cli_set(&q, "output", outs[a->output], err, sizeof(err)) < 0))
			bad = 1;
		if (bad) {
			fprintf(stderr, "wukongctl: %s\n", err);
			return 2;
		}
		q.reverse = a->reverse;
		q.no_index = a->no_index;
		if (wk_auditlog_cli_query(dir, &q, stdout,
					  a->output == CTL_OUT_JSONPATH || a->output == CTL_OUT_NAME
					      ? audit_print
					      : NULL,
					  (void *)a, err, sizeof(err)) < 0) {
			fprintf(stderr, "wukongctl: %s (is there an audit log in '%s/audit'?)\n",
				err, e->shown);
			return 3;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_args a;
	struct ctl_env e;
	char err[512], ctx_ns[CTL_NS_MAX];
	int rc;

	/* The libraries' own log lines are for daemons; the CLI speaks plain sentences. */
	wk_log_init("wukongctl", WK_LOG_FATAL);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		wk_version_print(stdout, "wukongctl");
		return 0;
	}
	if (ctl_args_parse(argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "wukongctl: %s\n", err);
		return 2;
	}
	if (a.verbose)
		wk_log_init(NULL, WK_LOG_INFO);
	if (a.cmd == CTL_CMD_HELP) {
		enum ctl_cmd c = a.npos ? ctl_cmd_from_name(a.pos[0]) : CTL_CMD_NONE;

		fputs(c != CTL_CMD_NONE && ctl_cmd_usage(c) ? ctl_cmd_usage(c) : usage_text,
		      stdout);
		return 0;
	}
	if (a.help) {
		fputs(ctl_cmd_usage(a.cmd) ? ctl_cmd_usage(a.cmd) : usage_text, stdout);
		if (a.cmd >= CTL_CMD_MIGRATE && a.cmd <= CTL_CMD_CLONE)
			fputs("Common options: --cluster ID, --tenant T, --request-id ID, --reason "
			      "TEXT,\n--no-wait, --timeout DUR, --expire-after DUR (no executor "
			      "starts "
			      "the\nrequest after that; default 10m), -o "
			      "json|yaml|name|jsonpath=T, -n NS, --dir DIR, "
			      "--kubeconfig FILE, --context NAME, --bootstrap B.\n",
			      stdout);
		return 0;
	}
	if (a.cmd == CTL_CMD_VERSION) {
		wk_version_print(stdout, "wukongctl");
		return 0;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ctl_env_init(&e, &a, argv[0]);
	/* NAME without -n: the kubeconfig context's namespace, as kubectl */
	if (!a.namespace && a.cmd >= CTL_CMD_MIGRATE && a.cmd <= CTL_CMD_AUDIT) {
		ctl_env_context_ns(&e, ctx_ns, sizeof(ctx_ns));
		a.default_ns = ctx_ns;
	}
	switch (a.cmd) {
	case CTL_CMD_UP:
		rc = ctl_up(&e);
		break;
	case CTL_CMD_DOWN:
		rc = ctl_down(&e);
		break;
	case CTL_CMD_STATUS:
		rc = ctl_status(&e);
		break;
	case CTL_CMD_CLUSTERS:
		rc = ctl_clusters(&e);
		break;
	case CTL_CMD_RESTART:
		rc = ctl_restart(&e, a.pos[0]);
		break;
	case CTL_CMD_MIGRATE:
		rc = ctl_operation(&e, CTL_VERB_MIGRATE);
		break;
	case CTL_CMD_CANCEL:
		rc = ctl_operation(&e, CTL_VERB_CANCEL);
		break;
	case CTL_CMD_DRAIN:
		rc = ctl_operation(&e, CTL_VERB_DRAIN);
		break;
	case CTL_CMD_CLONE:
		rc = ctl_operation(&e, CTL_VERB_CLONE);
		break;
	case CTL_CMD_GET:
		rc = ctl_get(&e, false);
		break;
	case CTL_CMD_WATCH:
		rc = ctl_get(&e, true);
		break;
	case CTL_CMD_AUDIT:
		rc = audit(&e);
		break;
	case CTL_CMD_REPORT:
		rc = ctl_report(&e);
		break;
	default:
		fputs(usage_text, stderr);
		rc = 2;
	}
	curl_global_cleanup();
	if (rc == CTL_EXIT_INTERRUPT) {
		/* Die of the signal, so that a calling shell script stops too (bash only ends a
		 * script on Ctrl-C when its child was killed by SIGINT). */
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	return rc;
}
