/* ctl_table.h - `get` and `watch`: the operations in flight, from the Wukongs' status (migration
 * and clone), as a table on a terminal or plain lines for pipes. Rows are caller-owned plain data.
 */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include "ctl_bar.h"
#include "ctl_stack.h"

struct cJSON;

struct ctl_row {
	char cluster[16]; /* "" with one cluster (no CLUSTER column) */
	char vm[CTL_NS_MAX + CTL_NAME_MAX]; /* ns/name of the Wukong */
	char kind[16];			    /* migration, clone */
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
/* One table line for `cols` columns, or (plain) one "key=value" line. */
void ctl_row_format(const struct ctl_row *r, bool plain, int cols, unsigned tick, char *out,
		    size_t out_size);
void ctl_row_header(int cols, char *out, size_t out_size);

int ctl_get(const struct ctl_env *e, bool watch);
/* `wukongctl clusters`: the registry (wukong.clusters) as a table or JSON. */
int ctl_clusters(const struct ctl_env *e);

#endif
