/* test_ctl_args.c - wukongctl's command line: subcommands, options per command, NS/NAME, node
 * names, disk lists and durations, with hostile input (traversal, overlong, control bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../tools/wukongctl/ctl_args.h"

static int parse(struct ctl_args *a, char *err, size_t n, int argc, ...)
{
	char *argv[32];
	va_list ap;

	argv[0] = (char *)"wukongctl";
	va_start(ap, argc);
	for (int i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc + 1] = NULL;
	return ctl_args_parse(argc + 1, argv, a, err, n);
}

static void commands(void **state)
{
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), 1, "up"), 0);
	assert_int_equal(a.cmd, CTL_CMD_UP);
	assert_false(a.rbac);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "up", "--rbac"), 0);
	assert_true(a.rbac);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "status", "--rbac"), -1); /* up only */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "--dir", "/tmp/x", "status"), 0);
	assert_int_equal(a.cmd, CTL_CMD_STATUS);
	assert_string_equal(a.dir, "/tmp/x");
	assert_int_equal(parse(&a, err, sizeof(err), 6, "migrate", "default/web-1", "--to",
			       "node-2", "--auto-converge", "--timeout-per-gib=800"),
			 0);
	assert_int_equal(a.cmd, CTL_CMD_MIGRATE);
	assert_string_equal(a.pos[0], "default/web-1");
	assert_string_equal(a.to, "node-2");
	assert_true(a.auto_converge);
	assert_false(a.post_copy);
	assert_int_equal(a.timeout_per_gib, 800);
	assert_int_equal(parse(&a, err, sizeof(err), 5, "clone", "a/b", "a/c", "--disks", "x,y"),
			 0);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.disks, "x,y");
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "-o", "json"), 0);
	assert_int_equal(a.output, CTL_OUT_JSON);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--output=yaml"), 0);
	assert_int_equal(a.output, CTL_OUT_YAML);
	assert_int_equal(
	    parse(&a, err, sizeof(err), 4, "drain", "node-1", "--dry-run", "--no-wait"), 0);
	assert_true(a.dry_run && a.no_wait);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--timeout", "90s"), 0);
	assert_int_equal(a.timeout_ms, 90000);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "audit", "verify"), 0);
	assert_string_equal(a.audit_sub, "verify");
	/* `--` ends the options: a name starting with '-' is then an argument (and invalid later)
	 */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "cancel", "--", "-x"), 0);
	assert_string_equal(a.pos[0], "-x");
}

/* kubectl's habits (issue 25): -n, -A, -o wide|name|jsonpath=, -w, NAME or NS/NAME, the
 * kubectl plugin's "kubectl wukong -n default get", virtctl's migrate-cancel. */
static void kubectl_flags(void **state)
{
	struct ctl_args a;
	char err[256], ns[CTL_NS_MAX], name[CTL_NAME_MAX];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "web-3", "-n", "prod"), 0);
	assert_string_equal(a.namespace, "prod");
	assert_int_equal(ctl_ref_ns(&a, a.pos[0], ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "prod");
	assert_string_equal(name, "web-3");
	/* NS/NAME agreeing with -n is fine; a different NS is refused */
	assert_int_equal(ctl_ref_ns(&a, "prod/web-3", ns, name, err, sizeof(err)), 0);
	assert_int_equal(ctl_ref_ns(&a, "dev/web-3", ns, name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-n says 'prod'"));
	/* without -n: the kubeconfig context's namespace, else default */
	assert_int_equal(parse(&a, err, sizeof(err), 2, "migrate", "web-3"), 0);
	assert_string_equal(ctl_args_ns(&a), "default");
	a.default_ns = "team-a";
	assert_int_equal(ctl_ref_ns(&a, "web-3", ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "team-a");
	assert_int_equal(ctl_ref_ns(&a, "other/web-3", ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "other");
	/* global flags before the command (kubectl wukong -n default get) */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "-n", "default", "get"), 0);
	assert_int_equal(a.cmd, CTL_CMD_GET);
	assert_string_equal(a.namespace, "default");
	assert_int_equal(parse(&a, err, sizeof(err), 2, "--namespace=x", "get"), 0);
	assert_string_equal(a.namespace, "x");
	assert_int_equal(parse(&a, err, sizeof(err), 2, "get", "--all-namespaces"), 0);
	assert_true(a.all_namespaces);
	assert_false(a.include_finished);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-A", "--include-finished"), 0);
	assert_true(a.all_namespaces && a.include_finished);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "get", "-A", "-n", "x"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-n", "Bad_NS"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "get", "default/db-1"), 0);
	assert_string_equal(a.pos[0], "default/db-1");
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "a", "b"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "get", "-w"), 0);
	assert_true(a.watch);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "-w"), -1);
	/* -o */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-o", "wide"), 0);
	assert_int_equal(a.output, CTL_OUT_WIDE);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-o", "name"), 0);
	assert_int_equal(a.output, CTL_OUT_NAME);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-o", "jsonpath={.items[*].name}"),
			 0);
	assert_int_equal(a.output, CTL_OUT_JSONPATH);
	assert_string_equal(a.jsonpath, "{.items[*].name}");
	assert_int_equal(parse(&a, err, sizeof(err), 2, "get", "-ojsonpath="), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-o", "jsonpath="), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "get", "-o", "xml"), -1);
	assert_non_null(strstr(err, "jsonpath=TEMPLATE"));
	/* virtctl's verb */
	assert_int_equal(parse(&a, err, sizeof(err), 2, "migrate-cancel", "web-1"), 0);
	assert_int_equal(a.cmd, CTL_CMD_CANCEL);
	assert_non_null(ctl_cmd_usage(CTL_CMD_CANCEL));
	/* audit: newest N, --reverse */
	assert_int_equal(
	    parse(&a, err, sizeof(err), 5, "audit", "query", "--limit", "5", "--reverse"), 0);
	assert_true(a.reverse);
	assert_int_equal(a.limit, 5);
}

static void help(void **state)
{
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), 1, "--help"), 0);
	assert_int_equal(a.cmd, CTL_CMD_HELP);
	/* --help on every subcommand, even without its arguments */
	static const char *const cmds[] = {"up",    "down",  "status", "migrate", "cancel",
					   "drain", "clone", "get",    "watch",	  "audit"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(parse(&a, err, sizeof(err), 2, cmds[i], "--help"), 0);
		assert_true(a.help);
		assert_non_null(ctl_cmd_usage(a.cmd));
		assert_non_null(strstr(ctl_cmd_usage(a.cmd), cmds[i]));
	}
	assert_int_equal(parse(&a, err, sizeof(err), 2, "help", "migrate"), 0);
	assert_int_equal(a.cmd, CTL_CMD_HELP);
}

static void bad_usage(void **state)
{
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), 0), -1);
	assert_non_null(strstr(err, "no command"));
	assert_int_equal(parse(&a, err, sizeof(err), 1, "explode"), -1);
	assert_non_null(strstr(err, "unknown command 'explode'"));
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--frobnicate"), -1);
	assert_non_null(strstr(err, "unknown option '--frobnicate' for 'migrate'"));
	assert_non_null(strstr(err, "wukongctl migrate --help"));
	/* an option of another command is refused, not ignored */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "cancel", "x", "--dry-run"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "up", "--to", "node-1", "x"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 1, "migrate"), -1);
	assert_non_null(strstr(err, "takes 1 argument"));
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "a", "b"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "clone", "a"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--to"), -1);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--cold=yes"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "-o", "xml"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--timeout", "soon"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--timeout", "-5s"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--timeout-per-gib=0"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x",
			       "--timeout-per-gib=99999999999999999999"),
			 -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--cluster", "../../x"),
			 -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--request-id", "A_B"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 2, "audit", "delete"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 6, "migrate", "a", "--to", "n", "--to", "m"),
			 0); /* the last one wins, as with every CLI */
	assert_int_equal(parse(&a, err, sizeof(err), 4, "migrate", "x", "--reason", ""), -1);
}

static void hostile_args(void **state)
{
	struct ctl_args a;
	char err[256], big[CTL_ARG_MAX + 2];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(&a, err, sizeof(err), 2, "migrate", big), -1);
	assert_non_null(strstr(err, "longer than"));
	big[CTL_ARG_MAX] = '\0'; /* at the cap: parses; the name check refuses it later */
	assert_int_equal(parse(&a, err, sizeof(err), 2, "migrate", big), 0);
	/* control bytes in an unknown option never reach the terminal */
	assert_int_equal(parse(&a, err, sizeof(err), 3, "migrate", "x", "--\x1b[2Jevil"), -1);
	assert_null(strchr(err, '\x1b'));
	assert_int_equal(parse(&a, err, sizeof(err), 1, "\x1b]0;pwned\x07"), -1);
	assert_null(strchr(err, '\x1b'));
	assert_null(strchr(err, '\x07'));
}

static void refs(void **state)
{
	char ns[CTL_NS_MAX], name[CTL_NAME_MAX], err[256], big[400];

	(void)state;
	assert_int_equal(ctl_parse_ref("default/web-1", NULL, ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "default");
	assert_string_equal(name, "web-1");
	assert_int_equal(ctl_parse_ref("web.1", "dev", ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "dev");
	assert_string_equal(name, "web.1");
	assert_int_equal(ctl_parse_ref("web", NULL, ns, name, err, sizeof(err)), 0);
	assert_string_equal(ns, "default");
	/* invalid and hostile */
	static const char *const bad[] = {
	    "",	     "/",	   "ns/",   "/name", "../../x",	 "a/b/c",
	    "A/b",   "a/B",	   "a/b c", "a/-b",  "a/b-",	 "kube_system/x",
	    "a/b\n", "a/b\x1b[1m", "a/..",  "a/.",   "%2e%2e/x", "a/b/../../etc/passwd"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_parse_ref(bad[i], NULL, ns, name, err, sizeof(err)), -1);
		assert_null(strchr(err, '\n'));
		assert_null(strchr(err, '\x1b'));
	}
	/* caps: a 63-character namespace and a 253-character name fit; one more does not */
	memset(big, 'a', 63);
	big[63] = '/';
	memset(big + 64, 'b', 63);
	big[127] = '\0';
	assert_int_equal(ctl_parse_ref(big, NULL, ns, name, err, sizeof(err)), 0);
	memset(big, 'a', 64);
	big[64] = '/';
	big[65] = 'b';
	big[66] = '\0';
	assert_int_equal(ctl_parse_ref(big, NULL, ns, name, err, sizeof(err)), -1);
	/* name: 253 = 4 labels of 63 + dots */
	snprintf(big, sizeof(big), "x/%.63s.%.63s.%.63s.%.61s", name, name, name, name);
	memset(big + 2, 'c', 63);
	memset(big + 66, 'c', 63);
	memset(big + 130, 'c', 63);
	memset(big + 194, 'c', 61);
	assert_int_equal(strlen(big), 2 + 253);
	assert_int_equal(ctl_parse_ref(big, NULL, ns, name, err, sizeof(err)), 0);
	big[255] = 'c';
	big[256] = '\0';
	assert_int_equal(ctl_parse_ref(big, NULL, ns, name, err, sizeof(err)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctl_parse_ref(big, NULL, ns, name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
}

static void nodes_disks_durations(void **state)
{
	char out[CTL_NAME_MAX], err[256], disks[CTL_MAX_DISKS][64], list[CTL_MAX_DISKS * 4 + 8];
	long long ms;

	(void)state;
	assert_int_equal(ctl_parse_node("node-1", out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(ctl_parse_node("../node", out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_node("", out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_node("Node1", out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_disks("system,data", disks, CTL_MAX_DISKS, err, sizeof(err)), 2);
	assert_string_equal(disks[1], "data");
	assert_int_equal(ctl_parse_disks("", disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_disks("a,,b", disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_disks("a,a", disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_disks("a,../b", disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_disks("a,", disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	/* at the cap and one past it */
	list[0] = '\0';
	for (int i = 0; i < CTL_MAX_DISKS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sd%d", i ? "," : "",
			 i);
	assert_int_equal(ctl_parse_disks(list, disks, CTL_MAX_DISKS, err, sizeof(err)),
			 CTL_MAX_DISKS);
	strcat(list, ",dx");
	assert_int_equal(ctl_parse_disks(list, disks, CTL_MAX_DISKS, err, sizeof(err)), -1);
	assert_int_equal(ctl_parse_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(ctl_parse_duration("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(ctl_parse_duration("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(ctl_parse_duration("168h", &ms), 0);
	assert_int_equal(ctl_parse_duration("169h", &ms), -1);
	assert_int_equal(ctl_parse_duration("0s", &ms), -1);
	assert_int_equal(ctl_parse_duration("1d", &ms), -1);
	assert_int_equal(ctl_parse_duration("99999999999999999999s", &ms), -1);
	assert_int_equal(ctl_parse_duration("", &ms), -1);
}

/* Addition (issue 24): report drain|migrate ID [--svg FILE]. */
static void report_args(void **state)
{
	struct ctl_args a;
	char err[256], big[5000];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), 5, "report", "drain", "dr-1", "--svg", "x.svg"),
			 0);
	assert_int_equal(a.cmd, CTL_CMD_REPORT);
	assert_string_equal(a.report_kind, "drain");
	assert_string_equal(a.report_id, "dr-1");
	assert_string_equal(a.svg, "x.svg");
	assert_int_equal(parse(&a, err, sizeof(err), 3, "report", "migrate", "m-1"), 0);
	assert_null(a.svg);
	assert_int_equal(parse(&a, err, sizeof(err), 3, "report", "clone", "c-1"), -1);
	assert_non_null(strstr(err, "unknown report 'clone' (drain, migrate)"));
	assert_int_equal(parse(&a, err, sizeof(err), 3, "report", "drain", "../../etc"), -1);
	assert_non_null(strstr(err, "is not a request id"));
	assert_int_equal(parse(&a, err, sizeof(err), 3, "report", "drain", "a\033]0;x"), -1);
	assert_null(strchr(err, '\033'));
	assert_int_equal(parse(&a, err, sizeof(err), 2, "report", "drain"), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 5, "report", "drain", "d", "--svg", ""), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(parse(&a, err, sizeof(err), 5, "report", "drain", "d", "--svg", big), -1);
	assert_int_equal(parse(&a, err, sizeof(err), 4, "report", "drain", "d", "--to"), -1);
	assert_non_null(ctl_cmd_usage(CTL_CMD_REPORT));
}

static void safe_copy(void **state)
{
	char out[32];

	(void)state;
	ctl_safe("ab\x1b[31mc", out, sizeof(out), 64);
	assert_string_equal(out, "ab?[31mc");
	ctl_safe("abcdefgh", out, sizeof(out), 4);
	assert_string_equal(out, "abcd...");
	ctl_safe("\xc3\xa9", out, sizeof(out), 64);
	assert_string_equal(out, "??");
	ctl_safe("0123456789012345678901234567890123456789", out, 8, 64);
	assert_true(strlen(out) < 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(commands),
	    cmocka_unit_test(kubectl_flags),
	    cmocka_unit_test(help),
	    cmocka_unit_test(bad_usage),
	    cmocka_unit_test(hostile_args),
	    cmocka_unit_test(refs),
	    cmocka_unit_test(nodes_disks_durations),
	    cmocka_unit_test(safe_copy),
	    cmocka_unit_test(report_args),
	};

	return cmocka_run_group_tests_name("ctl_args", tests, NULL, NULL);
}
