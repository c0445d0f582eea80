/* ctl_out.h - wukongctl's output formats, shared by every command: -o json|yaml|name|jsonpath= of
 * a JSON value, kubectl-style tables (column widths from the content, the middle of a cell cut
 * to fit a terminal), and the "No resources found" line. Pure: everything writes into a caller's
 * wk_buf or FILE; nothing returned needs freeing beyond what each function says.
 */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include "ctl_args.h"
#include "wk_buf.h"

#include <stdio.h>

struct cJSON;

/* Caps (outside input: a template from the command line, values from the cluster). */
#define CTL_JP_MAX_NODES 4096 /* values one jsonpath expression may select */
#define CTL_JP_MAX_DEPTH 8    /* nested {range} */
#define CTL_TAB_MAX_COLS 12
#define CTL_TAB_MAX_CELL 256 /* bytes of one cell */

/* Render a kubectl JSONPath template (`{.items[*].name}`, `{range .items[*]}{.name}{"\n"}{end}`;
 * fields `.a`, `['a']`, indexes `[N]` / `[-1]`, `[*]`, `..`-free) against v. Missing fields
 * print nothing, as kubectl's get does. 0, or -1 with a message on a malformed template. */
int ctl_jsonpath(const char *tmpl, const struct cJSON *v, struct wk_buf *out, char *errstr,
		 size_t errstr_size);

/* Indented JSON as kubectl prints it (four spaces, `"key": value`), with a final newline. */
void ctl_json(const struct cJSON *v, struct wk_buf *out);

/* Print v as a->output asks: json (indented), yaml, jsonpath; name prints `name_of` (one line,
 * NULL = nothing). Returns 0, or 2 (usage) on a bad template, with the error on stderr. */
int ctl_out_value(const struct ctl_args *a, const struct cJSON *v, const char *name_of, FILE *f);

/* Copy s into out cut to at most w display bytes by removing its middle ("web-...-vm-3"): the
 * end, which tells names apart, survives. Control and non-ASCII bytes become '?'. */
void ctl_trunc_mid(const char *s, size_t w, char *out, size_t out_size);

/* A table: a header and rows of cells; printed with kubectl's layout (each column as wide as its
 * widest cell, three spaces between). */
struct ctl_tab {
	size_t ncols, nrows;
	const char *head[CTL_TAB_MAX_COLS];
	bool shrink[CTL_TAB_MAX_COLS]; /* may be cut in the middle to fit */
	char (*cells)[CTL_TAB_MAX_COLS][CTL_TAB_MAX_CELL];
	unsigned char *color; /* per row: an SGR colour (32 green, 31 red) or 0; used only by
			       * ctl_tab_render with colour */
	size_t cap;
};

void ctl_tab_init(struct ctl_tab *t, size_t ncols, const char *const *head);
void ctl_tab_release(struct ctl_tab *t);
/* Add a row (ncols cells, NULL = ""), returning its index. */
size_t ctl_tab_add(struct ctl_tab *t, const char *const *cells);
/* Render: cols > 0 cuts shrinkable cells (widest first, down to 8) so each line fits cols;
 * colour wraps a row in its SGR code; header false leaves the header out. */
void ctl_tab_render(const struct ctl_tab *t, int cols, bool colour, bool header,
		    struct wk_buf *out);

/* kubectl's empty answer: "No resources found in NS namespace." or (-A) "No resources found". */
void ctl_no_resources(const char *ns, FILE *f);

#endif
