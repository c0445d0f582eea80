/* ctl_table.h - `get` and `watch`: the operations in flight, from the Wukongs' status (migration
 * and clone), as kubectl prints a table (bars and colours only on a terminal) or as json, yaml,
 * name, jsonpath. Rows are caller-owned plain data; `status` borrows from the listed Wukong.
 */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include "ctl_bar.h"
#include "ctl_stack.h"

struct cJSON;
struct wk_buf;

struct ctl_row {
	char cluster[16];		    /* "" with one cluster (no CLUSTER column) */
	char vm[CTL_NS_MAX + CTL_NAME_MAX]; /* ns/name of the Wukong */
	char ns[CTL_NS_MAX], name[CTL_NAME_MAX];
	char mode[32];
	const struct cJSON *status; /* the migrationStatus / cloneStatus (borrowed) */
	char kind[16];		    /* migration, clone */
	char phase[32];
	char request[CTL_ID_MAX];
	char source[CTL_NAME_MAX], target[CTL_NAME_MAX];
	int percent; /* -1 unknown */
	double eta_s;
	double downtime_s; /* migrationStatus.downtimeSeconds (a cold move); -1 = none */
	bool final;
};

/* The rows one Wukong contributes (0, 1 or 2); `all` keeps finished operations too. */
size_t ctl_rows_from_wukong(const struct cJSON *wk, bool all, struct ctl_row *rows, size_t max);
/* The table: CLUSTER (when rows carry one: `up --clusters N`), NAMESPACE (all_ns only), NAME,
 * OPERATION, PHASE, PROGRESS (a bar on a terminal), SOURCE, TARGET, ETA; wide adds REQUEST, MODE,
 * DOWNTIME. cols > 0 fits a terminal by cutting the middle of names; tty adds bars and colours.
 * header false leaves the header out. */
void ctl_rows_table(const struct ctl_row *rows, size_t n, bool all_ns, bool wide, bool tty,
		    int cols, unsigned tick, bool header, struct wk_buf *out);
/* -o json / yaml / jsonpath: a kubectl List whose items are the status's own fields plus
 * cluster (several clusters only), namespace, name and operation (bookkeeping such as appliedSeq
 * left out). Caller frees. */
struct cJSON *ctl_rows_list(const struct ctl_row *rows, size_t n);

/* watch's live numbers: what wukong.status says about an operation before the status writer's
 * copy reaches the API server (the source `migrate` follows), so the two show the same. */
#define CTL_LIVE_MAX 512
struct ctl_live {
	char key[CTL_NS_MAX + CTL_NAME_MAX + 16]; /* "ns/name/migration", "ns/name/clone" */
	char request[CTL_ID_MAX];		  /* "" = not said (the aggregator's numbers) */
	int percent;				  /* -1 unknown */
	double eta_s;				  /* -1 unknown */
};
/* Take a wukong.status message body (schemas/status-update.v1.json): its migrationStatus /
 * cloneStatus progress and ETA into lv (at most CTL_LIVE_MAX entries, the oldest replaced).
 * True when it held any. Hostile values (out of range, not numbers) are ignored. */
bool ctl_live_take(struct ctl_live *lv, size_t *n, const struct cJSON *body);
/* Rows not final take the live percentage and ETA of their operation when it is ahead of the
 * API server's (same request, or a report that names none); never backwards. */
void ctl_live_apply(const struct ctl_live *lv, size_t n, struct ctl_row *rows, size_t nrows);

int ctl_get(const struct ctl_env *e, bool watch);
/* `wukongctl clusters`: the registry (wukong.clusters) as a table or JSON. */
int ctl_clusters(const struct ctl_env *e);
/* `wukongctl clusters`: the registry (wukong.clusters) as a table or JSON. */
int ctl_clusters(const struct ctl_env *e);

#endif
