/* wk_auditlog_cli.h - `audit query` as a command line: the one flag set and the output formats
 * that `wukong-auditlog query` and `wukongctl audit query` share (issue 25). Options are set by
 * their long name, so each program keeps its own parser and both accept the same flags with the
 * same meaning; --limit N is the newest N (oldest first, or newest first with --reverse).
 * struct wk_auditlog_cli is caller-owned plain data (its strings point at the caller's).
 */
#ifndef WK_AUDITLOG_CLI_H
#define WK_AUDITLOG_CLI_H

#include "wk_auditlog.h"

#include <stdio.h>

#define WK_AUDITLOG_CLI_MAX_LIMIT 100000 /* --limit; also what --reverse without --limit holds */

enum wk_auditlog_out {
	WK_AUDIT_OUT_TABLE = 0, /* TIME OBJECT ACTION OUTCOME REASON MESSAGE */
	WK_AUDIT_OUT_WIDE,	/* SEQ and KIND, REQUEST, ACTOR too */
	WK_AUDIT_OUT_JSON,	/* the records as stored, one per line (JSON Lines) */
	WK_AUDIT_OUT_YAML,	/* one YAML document per record */
};

struct wk_auditlog_cli {
	char ns[64], name[254]; /* --vm NS/NAME */
	const char *cluster, *request_id;
	int64_t since_us, until_us; /* INT64_MIN / INT64_MAX: open */
	size_t limit;		    /* 0 = all */
	bool reverse, no_index;
	enum wk_auditlog_out out;
};

/* The flags, for usage texts: "[--vm NS/NAME] [--cluster C] ...". */
extern const char wk_auditlog_cli_usage[];

void wk_auditlog_cli_init(struct wk_auditlog_cli *c);
/* Set one option by its long name: vm, cluster, request, since, until (RFC 3339, or a duration
 * back from now: 90s, 15m, 2h, 7d), limit, reverse (val ignored), no-index, output (table|text,
 * wide, json, yaml). 1 when name is one of them and val is good, 0 when name is not one of them,
 * -1 with a message naming the option when val is bad. */
int wk_auditlog_cli_set(struct wk_auditlog_cli *c, const char *name, const char *val, char *errstr,
			size_t errstr_size);
/* Does option `name` take a value? (false for reverse, no-index) */
bool wk_auditlog_cli_takes_value(const char *name);

/* Run the query on dir and print to f. print NULL: c->out's format; else print is called per
 * record in output order (the caller's own format). Nothing at all is printed when the log
 * cannot be read (-1 with errstr: no table header before the error). No match prints nothing on
 * f and "No audit records found." on stderr, as kubectl says "No resources found". */
typedef void wk_auditlog_cli_print(const char *line, size_t len, const struct cJSON *rec,
				   void *opaque);
int wk_auditlog_cli_query(const char *dir, const struct wk_auditlog_cli *c, FILE *f,
			  wk_auditlog_cli_print *print, void *opaque, char *errstr,
			  size_t errstr_size);

#endif
