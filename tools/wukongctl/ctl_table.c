/* ctl_table.c - the operations table, polled from the API server (a list of Wukongs per refresh:
 * one request a second, no watch stream to keep alive for an interactive view). */
#include "ctl_table.h"

#include "ctl_ops.h"
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

void ctl_row_header(int cols, char *out, size_t out_size)
{
	snprintf(out, out_size, "%-28s %-9s %-10s %-27s %-25s %s", "VM", "KIND", "PHASE",
		 "PROGRESS", "SOURCE -> TARGET", "ETA");
	if (cols > 0 && strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

void ctl_row_format(const struct ctl_row *r, bool plain, int cols, unsigned tick, char *out,
		    size_t out_size)
{
	char bar[CTL_BAR_MAX + 3], pct[16], eta[16], st[2 * CTL_NAME_MAX + 8];

	ctl_fmt_eta(r->eta_s, eta, sizeof(eta));
	if (r->percent >= 0)
		snprintf(pct, sizeof(pct), "%3d%%", r->percent);
	else
		snprintf(pct, sizeof(pct), "  ?%%");
	if (plain) {
		snprintf(out, out_size,
			 "vm=%s kind=%s phase=%s progress=%s source=%s target=%s eta=%s request=%s",
			 r->vm, r->kind, r->phase, r->percent >= 0 ? pct + strspn(pct, " ") : "?",
			 r->source[0] ? r->source : "-", r->target[0] ? r->target : "-", eta,
			 r->request[0] ? r->request : "-");
		if (r->downtime_s >= 0) {
			size_t n = strlen(out);

			snprintf(out + n, out_size - n, " downtime=%.0fs", r->downtime_s);
		}
		return;
	}
	ctl_bar_render(bar, sizeof(bar), 20, r->percent, tick);
	snprintf(st, sizeof(st), "%s -> %s", r->source[0] ? r->source : "?",
		 r->target[0] ? r->target : "?");
	snprintf(out, out_size, "%-28.28s %-9s %-10.10s %s %s %-25.25s %s", r->vm, r->kind,
		 r->phase, bar, pct, st, eta);
	if (cols > 0 && strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

static int cmp_rows(const void *a, const void *b)
{
	const struct ctl_row *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	return c ? c : strcmp(x->kind, y->kind);
}

static int fetch(struct wk_k8s *k8s, bool all, struct ctl_row *rows, size_t *n, char *err,
		 size_t errn)
{
	struct wk_k8s_result res;
	const cJSON *it;

	*n = 0;
	if (wk_k8s_list_all(k8s, &wk_res_wukongs, NULL, NULL, &res, err, errn) < 0) {
		wk_k8s_result_release(&res);
		return -1;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(res.body, "items"))
	{
		if (*n >= MAX_ROWS)
			break;
		*n += ctl_rows_from_wukong(it, all, rows + *n, MAX_ROWS - *n);
	}
	wk_k8s_result_release(&res);
	qsort(rows, *n, sizeof(*rows), cmp_rows);
	return 0;
}

static void print_json(const struct ctl_env *e, const struct ctl_row *rows, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "vm", rows[i].vm);
		cJSON_AddStringToObject(o, "kind", rows[i].kind);
		cJSON_AddStringToObject(o, "phase", rows[i].phase);
		cJSON_AddStringToObject(o, "requestId", rows[i].request);
		cJSON_AddStringToObject(o, "source", rows[i].source);
		cJSON_AddStringToObject(o, "target", rows[i].target);
		if (rows[i].percent >= 0)
			cJSON_AddNumberToObject(o, "progress", rows[i].percent);
		else
			cJSON_AddNullToObject(o, "progress");
		if (rows[i].eta_s >= 0)
			cJSON_AddNumberToObject(o, "etaSeconds", rows[i].eta_s);
		if (rows[i].downtime_s >= 0)
			cJSON_AddNumberToObject(o, "downtimeSeconds", rows[i].downtime_s);
		cJSON_AddItemToArray(arr, o);
	}
	if (e->args->output == CTL_OUT_YAML) {
		const cJSON *o, *f;

		if (!n)
			printf("[]\n");
		cJSON_ArrayForEach(o, arr)
		{
			bool first = true;

			cJSON_ArrayForEach(f, o)
			{
				char *v = cJSON_PrintUnformatted(f);

				printf("%s %s: %s\n", first ? "-" : " ", f->string, v ? v : "null");
				free(v);
				first = false;
			}
		}
	} else {
		s = cJSON_PrintUnformatted(arr);
		printf("%s\n", s ? s : "[]");
		free(s);
	}
	cJSON_Delete(arr);
}

int ctl_get(const struct ctl_env *e, bool watch)
{
	struct ctl_row *rows = wk_xcalloc(MAX_ROWS, sizeof(*rows));
	char err[512], line[1024];
	bool tty = isatty(STDOUT_FILENO) && e->args->output == CTL_OUT_TEXT;
	size_t n = 0;
	unsigned tick = 0;
	int code = 0, fails = 0;
	struct wk_k8s *k8s = ctl_env_k8s(e, err, sizeof(err));
	char *prev = NULL;

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
		struct winsize ws;
		int cols = 120;

		if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
			cols = ws.ws_col;
		if (fetch(k8s, e->args->all, rows, &n, err, sizeof(err)) < 0) {
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
		if (!watch && e->args->output != CTL_OUT_TEXT) {
			print_json(e, rows, n);
			break;
		}
		if (tty && watch) {
			char ts[32];
			time_t now = time(NULL);
			struct tm tm;

			localtime_r(&now, &tm);
			strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			printf("\033[H\033[2J");
			printf("wukong operations in flight%s  %s  (Ctrl-C to quit)\n",
			       e->args->all ? " and finished" : "", ts);
		}
		if (tty || (!watch && !tty)) {
			if (tty) {
				ctl_row_header(cols - 1, line, sizeof(line));
				printf("%s\n", line);
			}
			for (size_t i = 0; i < n; i++) {
				ctl_row_format(&rows[i], !tty, cols - 1, tick, line, sizeof(line));
				printf("%s\n", line);
			}
			if (!n && tty)
				printf("(no operations in flight%s)\n",
				       e->args->all ? "" : "; -A shows finished ones");
		} else {
			/* watch into a pipe: a line for each row that changed */
			struct wk_buf b;

			wk_buf_init(&b, 0);
			for (size_t i = 0; i < n; i++) {
				ctl_row_format(&rows[i], true, 0, 0, line, sizeof(line));
				if (!prev || !strstr(prev, line))
					printf("%s\n", line);
				(void)!wk_buf_addf(&b, "%s\n", line);
			}
			free(prev);
			prev = wk_buf_take(&b, NULL);
		}
		fflush(stdout);
		tick++;
		for (int i = 0; watch && !stop && !e->args->once && i < 10; i++)
			usleep(100000);
	} while (watch && !stop && !e->args->once);
	if (watch && tty)
		printf("\033[?25h");
	free(prev);
	free(rows);
	wk_k8s_destroy(k8s);
	return code;
}
