/* ctl_table.c - the operations table, polled from the API server (a list of Wukongs per refresh:
 * one request a second, no watch stream to keep alive for an interactive view). */
#include "ctl_table.h"

#include "ctl_ops.h"
#include "ctl_out.h"
#include "wk_k8s.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 2000

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static const char *js(const cJSON *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		size_t n =
		    (size_t)(dot - path) < sizeof(key) - 1 ? (size_t)(dot - path) : sizeof(key) - 1;
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path = dot + 1;
	}
	o = cJSON_GetObjectItemCaseSensitive(o, path);
	return cJSON_IsString(o) ? o->valuestring : NULL;
}

static void cp(char *dst, size_t n, const char *s)
{
	ctl_safe(s ? s : "", dst, n, n - 5);
}

static bool final_phase(const char *ph)
{
	static const char *const f[] = {"Succeeded", "Completed", "Failed",
					"Rejected",  "Cancelled", "Aborted"};

	for (size_t i = 0; ph && i < WK_ARRAY_SIZE(f); i++)
		if (!strcmp(ph, f[i]))
			return true;
	return false;
}

size_t ctl_rows_from_wukong(const cJSON *wk, bool all, struct ctl_row *rows, size_t max)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(wk, "status");
	static const char *const kinds[] = {"migrationStatus", "cloneStatus"};
	size_t n = 0;

	for (size_t k = 0; k < 2 && n < max; k++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(st, kinds[k]), *v;
		const char *ph = js(s, "phase");
		struct ctl_row *r = &rows[n];

		if (!cJSON_IsObject(s) || !ph || (!all && final_phase(ph)))
			continue;
		memset(r, 0, sizeof(*r));
		snprintf(r->vm, sizeof(r->vm), "%.63s/%.253s",
			 js(wk, "metadata.namespace") ? js(wk, "metadata.namespace") : "",
			 js(wk, "metadata.name") ? js(wk, "metadata.name") : "");
		ctl_safe(r->vm, r->vm, sizeof(r->vm), sizeof(r->vm) - 5);
		cp(r->ns, sizeof(r->ns), js(wk, "metadata.namespace"));
		cp(r->name, sizeof(r->name), js(wk, "metadata.name"));
		cp(r->mode, sizeof(r->mode), js(s, "mode"));
		r->status = s;
		wk_strlcpy(r->kind, k ? "clone" : "migration", sizeof(r->kind));
		cp(r->phase, sizeof(r->phase), ph);
		cp(r->request, sizeof(r->request), js(s, "requestId"));
		if (k == 0) {
			cp(r->source, sizeof(r->source), js(s, "sourceNode"));
			cp(r->target, sizeof(r->target), js(s, "targetNode"));
		} else {
			cp(r->source, sizeof(r->source), js(s, "source"));
			cp(r->target, sizeof(r->target), js(wk, "metadata.name"));
		}
		v = cJSON_GetObjectItemCaseSensitive(s, "progress");
		r->percent = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 100
				 ? (int)v->valuedouble
				 : -1;
		r->final = final_phase(ph);
		if (r->final && !strcmp(ph, "Succeeded"))
			r->percent = 100;
		v = cJSON_GetObjectItemCaseSensitive(s, "etaSeconds");
		r->eta_s = cJSON_IsNumber(v) ? v->valuedouble : -1;
		v = k == 0 ? cJSON_GetObjectItemCaseSensitive(s, "downtimeSeconds") : NULL;
		r->downtime_s = cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
					v->valuedouble >= 0 && v->valuedouble <= 1e9
				    ? v->valuedouble
				    : -1;
		n++;
	}
	return n;
}

static void pct_cell(const struct ctl_row *r, bool tty, unsigned tick, char *out, size_t n)
{
	char bar[CTL_BAR_MAX + 3];

	/* A finished operation without a percentage (Rejected, Failed before any copy) has no
	 * progress to draw: "-", not an indeterminate bar. */
	if (r->percent < 0 && r->final) {
		snprintf(out, n, "-");
		return;
	}
	if (!tty) {
		if (r->percent >= 0)
			snprintf(out, n, "%d%%", r->percent);
		else
			snprintf(out, n, "?");
		return;
	}
	ctl_bar_render(bar, sizeof(bar), 20, r->percent, tick);
	if (r->percent >= 0)
		snprintf(out, n, "%s %3d%%", bar, r->percent);
	else
		snprintf(out, n, "%s   ?%%", bar);
}

void ctl_rows_table(const struct ctl_row *rows, size_t n, bool all_ns, bool wide, bool tty,
		    int cols, unsigned tick, bool header, struct wk_buf *out)
{
	static const char *const head[] = {"NAMESPACE", "NAME",	  "OPERATION", "PHASE",
					   "PROGRESS",	"SOURCE", "TARGET",    "ETA",
					   "REQUEST",	"MODE",	  "DOWNTIME"};
	size_t first = all_ns ? 0 : 1, ncols = (wide ? 11 : 8) - first;
	struct ctl_tab t;

	ctl_tab_init(&t, ncols, head + first);
	/* names may be cut in the middle to fit a terminal; phase, progress, ETA never */
	t.shrink[0] = true;
	t.shrink[1 - first] = true;
	t.shrink[5 - first] = t.shrink[6 - first] = true;
	if (wide)
		t.shrink[8 - first] = true;
	for (size_t i = 0; i < n; i++) {
		const struct ctl_row *r = &rows[i];
		char pct[CTL_BAR_MAX + 16], eta[16], dt[32];
		const char *cells[11];
		size_t k;

		pct_cell(r, tty, tick, pct, sizeof(pct));
		if (r->final)
			snprintf(eta, sizeof(eta), "-");
		else
			ctl_fmt_eta(r->eta_s, eta, sizeof(eta));
		if (r->downtime_s >= 0)
			snprintf(dt, sizeof(dt), "%.0fs", r->downtime_s);
		else
			snprintf(dt, sizeof(dt), "-");
		cells[0] = r->ns;
		cells[1] = r->name;
		cells[2] = r->kind;
		cells[3] = r->phase;
		cells[4] = pct;
		cells[5] = r->source[0] ? r->source : "-";
		cells[6] = r->target[0] ? r->target : "-";
		cells[7] = eta;
		cells[8] = r->request[0] ? r->request : "-";
		cells[9] = r->mode[0] ? r->mode : "-";
		cells[10] = dt;
		k = ctl_tab_add(&t, cells + first);
		if (!strcmp(r->phase, "Succeeded"))
			t.color[k] = 32;
		else if (!strcmp(r->phase, "Failed") || !strcmp(r->phase, "Rejected"))
			t.color[k] = 31;
		else if (!strcmp(r->phase, "Cancelled"))
			t.color[k] = 33;
	}
	ctl_tab_render(&t, cols, tty, header, out);
	ctl_tab_release(&t);
}

/* Fields of a status that are bookkeeping, not facts for a reader. */
static bool bookkeeping(const char *k)
{
	return !strcmp(k, "appliedSeq");
}

cJSON *ctl_rows_list(const struct ctl_row *rows, size_t n)
{
	cJSON *list = cJSON_CreateObject(), *items = cJSON_CreateArray();

	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddStringToObject(list, "kind", "List");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		const cJSON *f;

		cJSON_AddStringToObject(o, "namespace", rows[i].ns);
		cJSON_AddStringToObject(o, "name", rows[i].name);
		cJSON_AddStringToObject(o, "operation", rows[i].kind);
		cJSON_ArrayForEach(f, rows[i].status)
		{
			if (f->string && !bookkeeping(f->string) &&
			    !cJSON_GetObjectItemCaseSensitive(o, f->string))
				cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, true));
		}
		if (!rows[i].status) {
			cJSON_AddStringToObject(o, "phase", rows[i].phase);
			cJSON_AddStringToObject(o, "requestId", rows[i].request);
		}
		cJSON_AddItemToArray(items, o);
	}
	cJSON_AddItemToObject(list, "items", items);
	return list;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct ctl_row *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	return c ? c : strcmp(x->kind, y->kind);
}

/* List the Wukongs (ns NULL: every namespace) into *list (caller frees) and the rows. */
static int fetch(struct wk_k8s *k8s, const char *ns, const char *name, bool finished, cJSON **list,
		 struct ctl_row *rows, size_t *n, bool *found, char *err, size_t errn)
{
	struct wk_k8s_result res;
	const cJSON *it;

	*n = 0;
	*found = false;
	if (wk_k8s_list_all(k8s, &wk_res_wukongs, ns, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_Delete(*list);
	*list = wk_k8s_result_take(&res);
	wk_k8s_result_release(&res);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(*list, "items"))
	{
		if (*n >= MAX_ROWS)
			break;
		if (name) {
			const char *nm = js(it, "metadata.name");

			if (!nm || strcmp(nm, name))
				continue;
			*found = true;
		}
		/* a named Wukong shows its current operation whatever its phase */
		*n += ctl_rows_from_wukong(it, finished || name, rows + *n, MAX_ROWS - *n);
	}
	qsort(rows, *n, sizeof(*rows), cmp_rows);
	return 0;
}

/* Is line one of the lines of text (whole lines only)? */
static bool has_line(const char *text, const char *line)
{
	size_t ln = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += ln)
		if ((p == text || p[-1] == '\n') && (p[ln] == '\n' || !p[ln]))
			return true;
	return false;
}

static int term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

int ctl_get(const struct ctl_env *e, bool watch)
{
	const struct ctl_args *a = e->args;
	struct ctl_row *rows = wk_xcalloc(MAX_ROWS, sizeof(*rows));
	char err[512], ns[CTL_NS_MAX], name[CTL_NAME_MAX];
	bool tty = isatty(STDOUT_FILENO), found = false, wide = a->output == CTL_OUT_WIDE;
	bool data = a->output != CTL_OUT_TEXT && a->output != CTL_OUT_WIDE;
	const char *want_ns = NULL, *want_name = NULL;
	size_t n = 0;
	unsigned tick = 0;
	int code = 0, fails = 0;
	struct wk_k8s *k8s;
	cJSON *list = NULL;
	char *prev = NULL;

	if (a->npos) {
		if (ctl_ref_ns(a, a->pos[0], ns, name, err, sizeof(err)) < 0) {
			fprintf(stderr, "wukongctl: %s\n", err);
			free(rows);
			return CTL_EXIT_USAGE;
		}
		want_name = name;
	} else {
		wk_strlcpy(ns, ctl_args_ns(a), sizeof(ns));
	}
	if (!a->all_namespaces || want_name)
		want_ns = ns;
	if (watch && data) {
		fprintf(stderr, "wukongctl: watch prints tables: -o wide or none\n");
		free(rows);
		return CTL_EXIT_USAGE;
	}
	k8s = ctl_env_k8s(e, err, sizeof(err));
	if (!k8s) {
		fprintf(stderr, "wukongctl: %s\n", err);
		free(rows);
		return CTL_EXIT_ENV;
	}
	if (watch) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sig;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		if (tty)
			printf("\033[?25l"); /* hide the cursor while redrawing */
	}
	do {
		struct wk_buf b;

		if (fetch(k8s, want_ns, want_name, a->include_finished, &list, rows, &n, &found,
			  err, sizeof(err)) < 0) {
			if (!watch || ++fails >= 5) {
				fprintf(stderr,
					"wukongctl: cannot list wukongs: %s (is the stack up? "
					"'wukongctl status')\n",
					err);
				code = CTL_EXIT_ENV;
				break;
			}
		} else {
			fails = 0;
		}
		if (!watch && want_name && !found) {
			fprintf(
			    stderr,
			    "Error from server (NotFound): wukongs.wukong.novasphere.dev \"%s\" "
			    "not found\n",
			    want_name);
			code = CTL_EXIT_FAILED;
			break;
		}
		if (!watch && data) {
			cJSON *l = ctl_rows_list(rows, n);

			if (a->output == CTL_OUT_NAME) {
				for (size_t i = 0; i < n; i++)
					if (!i || strcmp(rows[i].vm, rows[i - 1].vm))
						printf("wukong.wukong.novasphere.dev/%s\n",
						       rows[i].name);
			} else {
				code = ctl_out_value(a, l, NULL, stdout);
			}
			cJSON_Delete(l);
			if (!n && a->output == CTL_OUT_NAME)
				ctl_no_resources(a->all_namespaces ? NULL : ns, stderr);
			break;
		}
		wk_buf_init(&b, 0);
		if (tty && watch) {
			char ts[32];
			time_t now = time(NULL);
			struct tm tm;

			localtime_r(&now, &tm);
			strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			printf("\033[H\033[2J");
			printf("wukong operations %s%s  %s  (Ctrl-C to quit)\n",
			       a->include_finished ? "(with finished ones) " : "in flight ",
			       a->all_namespaces ? "in all namespaces" : "", ts);
		}
		if (tty || !watch) {
			if (n)
				ctl_rows_table(rows, n, a->all_namespaces, wide, tty,
					       tty ? term_cols() - 1 : 0, tick, true, &b);
			fputs(wk_buf_str(&b) ? wk_buf_str(&b) : "", stdout);
			if (!n) {
				if (want_name)
					printf("(Wukong %s/%s: no migration or clone status)\n", ns,
					       want_name);
				else if (!watch || !tty)
					ctl_no_resources(a->all_namespaces ? NULL : ns, stderr);
				else
					printf("No resources found%s%s%s\n",
					       a->all_namespaces ? "" : " in ",
					       a->all_namespaces ? "" : ns,
					       a->all_namespaces ? "" : " namespace.");
			}
		} else {
			/* watch into a pipe, as kubectl get -w: the header once, then a row each
			 * time one changes */
			char *cur, *save = NULL, *line;

			ctl_rows_table(rows, n, a->all_namespaces, wide, false, 0, 0, !prev, &b);
			cur = wk_buf_take(&b, NULL);
			wk_buf_init(&b, 0);
			for (line = cur ? strtok_r(cur, "\n", &save) : NULL; line;
			     line = strtok_r(NULL, "\n", &save)) {
				if (!prev || !has_line(prev, line))
					printf("%s\n", line);
				(void)!wk_buf_addf(&b, "%s\n", line);
			}
			free(cur);
			free(prev);
			prev = wk_buf_take(&b, NULL);
			if (!prev)
				prev = wk_xstrdup("");
		}
		wk_buf_release(&b);
		fflush(stdout);
		tick++;
		for (int i = 0; watch && !stop && !a->once && i < 10; i++)
			usleep(100000);
	} while (watch && !stop && !a->once);
	if (watch && tty)
		printf("\033[?25h");
	free(prev);
	free(rows);
	cJSON_Delete(list);
	wk_k8s_destroy(k8s);
	return code;
}
