/* ctl_args.h - wukongctl's command line: subcommands, their options, NS/NAME and list arguments.
 * Pure parsing, no I/O; struct ctl_args is caller-owned and points into argv (nothing to free).
 */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include "wk_common.h"

/* Caps on what the command line may hand us (outside input). */
#define CTL_ARG_MAX 1024 /* any single argument */
#define CTL_NS_MAX 64	 /* DNS-1123 label + NUL */
#define CTL_NAME_MAX 254 /* DNS-1123 subdomain + NUL */
#define CTL_MAX_DISKS 32 /* --disks entries */
#define CTL_MAX_POS 4	 /* positional arguments */
#define CTL_ID_MAX 64	 /* request ids: DNS-1123 labels */
#define CTL_MAX_CLUSTERS 64 /* --clusters entries (the router's cap) */

enum ctl_cmd {
	CTL_CMD_NONE = 0,
	CTL_CMD_UP,
	CTL_CMD_DOWN,
	CTL_CMD_STATUS,
	CTL_CMD_MIGRATE,
	CTL_CMD_CANCEL,
	CTL_CMD_DRAIN,
	CTL_CMD_CLONE,
	CTL_CMD_GET,
	CTL_CMD_WATCH,
	CTL_CMD_AUDIT,
	CTL_CMD_HELP,
	CTL_CMD_VERSION,
	CTL_CMD_RESTART,
	CTL_CMD_CLUSTERS,
	CTL_CMD_REPORT, /* addition (issue 24): report drain|migrate ID [--svg FILE] */
};

/* -o: text (the default table / progress lines), wide (text with more columns), json, yaml,
 * name (kind/name per line), jsonpath=TEMPLATE (ctl_out.h). */
enum ctl_output {
	CTL_OUT_TEXT = 0,
	CTL_OUT_JSON,
	CTL_OUT_YAML,
	CTL_OUT_WIDE,
	CTL_OUT_NAME,
	CTL_OUT_JSONPATH,
};

struct ctl_args {
	enum ctl_cmd cmd;
	const char *cmd_name;
	/* global */
	const char *dir, *kubeconfig, *context, *bootstrap, *cluster, *tenant, *request_id;
	/* kubectl's: -n/--namespace (NULL: the kubeconfig context's, see ctl_env_namespace),
	 * -A/--all-namespaces */
	const char *namespace;
	const char *default_ns; /* not an option: main's kubeconfig context namespace, or NULL */
	bool all_namespaces;
	enum ctl_output output;
	const char *jsonpath; /* -o jsonpath=TEMPLATE: the template */
	bool help, verbose;
	long long timeout_ms;	   /* --timeout; 0 = the command's default */
	long long expire_after_ms; /* --expire-after; 0 = 10 minutes (the executors' default) */
	/* operations */
	const char *to, *disks, *reason, *target_request, *scenario;
	bool cold, auto_converge, post_copy, no_wait, dry_run, once, no_cordon;
	bool include_finished; /* get/watch: finished operations too (was -A before -A meant
				* all namespaces) */
	bool watch;	       /* get -w: the same as `watch` */
	bool rbac;	       /* up: services under their ServiceAccount tokens (ctl_rbac.h) */
	long long clusters;    /* up: simulated clusters (0 = one, "local"; 2..8: a, b, c ...) */
	const char *fanout;	/* operations: --clusters a,b (a fan-out through the router) */
	const char *to_cluster; /* migrate: --to-cluster (live migration between clusters) */
	long long timeout_per_gib; /* 0 = unset */
	/* clone */
	long long count;       /* --count: a batch of DST-1..DST-N; 0 = one target, DST */
	long long parallelism; /* --parallelism; 0 = the cloner's default (2) */
	bool offline, start_source, stopped;
	/* audit */
	const char *audit_sub, *vm, *since, *until;
	/* report */
	const char *report_kind, *report_id, *svg;
	long long limit; /* the newest N (oldest first unless --reverse) */
	bool reverse;	 /* newest first */
	bool no_index;	 /* full scan */
	const char *pos[CTL_MAX_POS];
	int npos;
};

/* Parse argv (argv[0] is the program). 0, or -1 with a message naming the bad argument and what
 * to do ("unknown option '--x' for 'migrate'; see 'wukongctl migrate --help'"). */
int ctl_args_parse(int argc, char **argv, struct ctl_args *a, char *errstr, size_t errstr_size);

/* "NS/NAME" or "NAME" (namespace def_ns, "default" when NULL): both DNS-1123 (namespace a label,
 * name a subdomain). */
int ctl_parse_ref(const char *s, const char *def_ns, char ns[CTL_NS_MAX], char name[CTL_NAME_MAX],
		  char *errstr, size_t errstr_size);
/* A node name (DNS-1123 subdomain). */
int ctl_parse_node(const char *s, char *out, size_t out_size, char *errstr, size_t errstr_size);
/* "a,b,c": each a DNS-1123 label, no duplicates, at most CTL_MAX_DISKS. Returns the count or -1. */
int ctl_parse_disks(const char *s, char out[][64], size_t max, char *errstr, size_t errstr_size);
/* A duration "250ms", "10s", "5m", "1h" (a bare number is seconds) into ms, at most 7 days. */
int ctl_parse_duration(const char *s, long long *ms);

/* Copy at most max bytes of s for an error message, control and non-ASCII bytes as '?', "..."
 * when cut: outside input never drives the terminal. */
void ctl_safe(const char *s, char *out, size_t out_size, size_t max);

/* ctl_parse_ref with -n: NAME takes -n, else a->default_ns, else "default"; NS/NAME whose NS
 * differs from an explicit -n is an error (kubectl refuses such a mismatch too). */
int ctl_ref_ns(const struct ctl_args *a, const char *s, char ns[CTL_NS_MAX],
	       char name[CTL_NAME_MAX], char *errstr, size_t errstr_size);
/* The namespace -n or the context gives ("default" when neither). */
const char *ctl_args_ns(const struct ctl_args *a);

const char *ctl_cmd_usage(enum ctl_cmd c);
enum ctl_cmd ctl_cmd_from_name(const char *s);

#endif
