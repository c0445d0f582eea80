/* ctl_table.c - the operations table, polled from the API server (a list of Wukongs per refresh:
 * one request a second, no watch stream to keep alive for an interactive view). */
#include "ctl_table.h"

#include "ctl_ops.h"
#include "ctl_out.h"
#include "wk_cluster.h"
#include "wk_config.h"
#include "wk_k8s.h"
#include "wk_kafka.h"
#include "wk_quantity.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 2000
#define ST_LIVE_BODY_MAX (64 * 1024) /* a wukong.status body's documented cap */

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

static void rows_table(const struct ctl_row *rows, size_t n, bool all_ns, bool wide, bool bars,
		       bool colour, int cols, unsigned tick, bool header, struct wk_buf *out)
{
	/* every column there is; which are shown depends on -A, -o wide and the clusters */
	enum {
		C_CLUSTER,
		C_NS,
		C_NAME,
		C_OP,
		C_PHASE,
		C_PROG,
		C_SRC,
		C_TGT,
		C_ETA,
		C_REQ,
		C_MODE,
		C_DT,
		C_N
	};
	static const char *const head[C_N] = {"CLUSTER", "NAMESPACE", "NAME",	"OPERATION",
					      "PHASE",	 "PROGRESS",  "SOURCE", "TARGET",
					      "ETA",	 "REQUEST",   "MODE",	"DOWNTIME"};
	bool show[C_N], multi = false;
	const char *h[C_N];
	size_t nc = 0;
	struct ctl_tab t;

	for (size_t i = 0; i < n && !multi; i++)
		multi = rows[i].cluster[0] != '\0';
	for (int c = 0; c < C_N; c++)
		show[c] = c == C_CLUSTER ? multi : c == C_NS ? all_ns : c >= C_REQ ? wide : true;
	for (int c = 0; c < C_N; c++)
		if (show[c])
			h[nc++] = head[c];
	ctl_tab_init(&t, nc, h);
	nc = 0;
	/* names may be cut in the middle to fit a terminal; phase, progress and ETA never */
	for (int c = 0; c < C_N; c++)
		if (show[c])
			t.shrink[nc++] =
			    c == C_NS || c == C_NAME || c == C_SRC || c == C_TGT || c == C_REQ;
	for (size_t i = 0; i < n; i++) {
		const struct ctl_row *r = &rows[i];
		char pct[CTL_BAR_MAX + 16], eta[16], dt[32];
		const char *all[C_N], *cells[C_N];
		size_t k, m = 0;

		pct_cell(r, bars, tick, pct, sizeof(pct));
		if (r->final)
			snprintf(eta, sizeof(eta), "-");
		else
			ctl_fmt_eta(r->eta_s, eta, sizeof(eta));
		if (r->downtime_s >= 0)
			snprintf(dt, sizeof(dt), "%.0fs", r->downtime_s);
		else
			snprintf(dt, sizeof(dt), "-");
		all[C_CLUSTER] = r->cluster;
		all[C_NS] = r->ns;
		all[C_NAME] = r->name;
		all[C_OP] = r->kind;
		all[C_PHASE] = r->phase;
		all[C_PROG] = pct;
		all[C_SRC] = r->source[0] ? r->source : "-";
		all[C_TGT] = r->target[0] ? r->target : "-";
		all[C_ETA] = eta;
		all[C_REQ] = r->request[0] ? r->request : "-";
		all[C_MODE] = r->mode[0] ? r->mode : "-";
		all[C_DT] = dt;
		for (int c = 0; c < C_N; c++)
			if (show[c])
				cells[m++] = all[c];
		k = ctl_tab_add(&t, cells);
		if (!strcmp(r->phase, "Succeeded"))
			t.color[k] = 32;
		else if (!strcmp(r->phase, "Failed") || !strcmp(r->phase, "Rejected"))
			t.color[k] = 31;
		else if (!strcmp(r->phase, "Cancelled"))
			t.color[k] = 33;
	}
	ctl_tab_render(&t, cols, colour, header, out);
	ctl_tab_release(&t);
}

void ctl_rows_table(const struct ctl_row *rows, size_t n, bool all_ns, bool wide, bool tty,
		    int cols, unsigned tick, bool header, struct wk_buf *out)
{
	struct wk_buf b;
	bool fits = true;

	wk_buf_init(&b, 0);
	rows_table(rows, n, all_ns, wide, tty, tty, cols, tick, header, &b);
	if (tty && cols > 0) {
		/* a terminal too narrow for the bars: the percentage alone (the names are cut
		 * in the middle before that, down to 8 columns) */
		const char *s = wk_buf_str(&b) ? wk_buf_str(&b) : "";

		for (const char *nl; fits && (nl = strchr(s, '\n')); s = nl + 1) {
			size_t vis = 0;

			for (const char *p = s; p < nl; p++) {
				if (*p == '\033') {
					while (p < nl && *p != 'm')
						p++;
					continue;
				}
				vis++;
			}
			fits = vis <= (size_t)cols;
		}
	}
	if (fits) {
		(void)!wk_buf_adds(out, wk_buf_str(&b) ? wk_buf_str(&b) : "");
	} else {
		rows_table(rows, n, all_ns, wide, false, true, cols, tick, header, out);
	}
	wk_buf_release(&b);
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

		if (rows[i].cluster[0])
			cJSON_AddStringToObject(o, "cluster", rows[i].cluster);
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
	int c = strcmp(x->cluster, y->cluster);

	if (!c)
		c = strcmp(x->vm, y->vm);
	return c ? c : strcmp(x->kind, y->kind);
}

#define MAX_CLUSTERS 8

/* List the Wukongs of every cluster (ns NULL: every namespace) into lists[c] (caller frees;
 * the rows borrow from them) and the rows. A cluster that does not answer fails the round (its
 * rows would vanish from the view otherwise). */
static int fetch(struct wk_k8s **k8s, char ids[][16], int ncl, const char *ns, const char *name,
		 bool finished, cJSON **lists, struct ctl_row *rows, size_t *n, bool *found,
		 char *err, size_t errn)
{
	*n = 0;
	*found = false;
	for (int c = 0; c < ncl; c++) {
		struct wk_k8s_result res;
		const cJSON *it;

		if (wk_k8s_list_all(k8s[c], &wk_res_wukongs, ns, NULL, &res, err, errn) < 0) {
			wk_k8s_result_release(&res);
			if (ids[c][0]) {
				char e2[600];

				snprintf(e2, sizeof(e2), "cluster '%.15s': %.512s", ids[c], err);
				wk_strlcpy(err, e2, errn);
			}
			return -1;
		}
		cJSON_Delete(lists[c]);
		lists[c] = wk_k8s_result_take(&res);
		wk_k8s_result_release(&res);
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(lists[c], "items"))
		{
			size_t before = *n;

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
			for (size_t i = before; i < *n; i++)
				wk_strlcpy(rows[i].cluster, ids[c], sizeof(rows[i].cluster));
		}
	}
	qsort(rows, *n, sizeof(*rows), cmp_rows);
	return 0;
}

bool ctl_live_take(struct ctl_live *lv, size_t *n, const cJSON *body)
{
	static const char *const fields[] = {"migrationStatus", "cloneStatus"};
	static const char *const kinds[] = {"migration", "clone"};
	const char *ns = js(body, "namespace"), *name = js(body, "name");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(body, "status");
	bool took = false;

	if (!ns || !name || strlen(ns) >= CTL_NS_MAX || strlen(name) >= CTL_NAME_MAX)
		return false;
	for (size_t k = 0; k < 2; k++) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(st, fields[k]);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "progress");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "etaSeconds");
		const char *rq = js(o, "requestId");
		char key[sizeof(lv->key)];
		size_t i;

		if (!cJSON_IsNumber(p) || !isfinite(p->valuedouble) || p->valuedouble < 0 ||
		    p->valuedouble > 100)
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s", ns, name, kinds[k]);
		for (i = 0; i < *n && strcmp(lv[i].key, key); i++)
			;
		if (i == *n) {
			if (*n == CTL_LIVE_MAX) {
				memmove(lv, lv + 1, (CTL_LIVE_MAX - 1) * sizeof(*lv));
				i = CTL_LIVE_MAX - 1;
			} else {
				(*n)++;
			}
			memset(&lv[i], 0, sizeof(lv[i]));
			wk_strlcpy(lv[i].key, key, sizeof(lv[i].key));
		}
		if (rq && strlen(rq) < CTL_ID_MAX)
			wk_strlcpy(lv[i].request, rq, sizeof(lv[i].request));
		lv[i].percent = (int)p->valuedouble;
		lv[i].eta_s = cJSON_IsNumber(e) && isfinite(e->valuedouble) &&
				      e->valuedouble >= 0 && e->valuedouble < 1e7
				  ? e->valuedouble
				  : -1;
		took = true;
	}
	return took;
}

void ctl_live_apply(const struct ctl_live *lv, size_t n, struct ctl_row *rows, size_t nrows)
{
	for (size_t r = 0; r < nrows; r++) {
		char key[sizeof(lv->key)];

		if (rows[r].final)
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s", rows[r].ns, rows[r].name, rows[r].kind);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(lv[i].key, key) ||
			    (lv[i].request[0] && strcmp(lv[i].request, rows[r].request)))
				continue;
			if (lv[i].percent > rows[r].percent) {
				rows[r].percent = lv[i].percent;
				if (lv[i].eta_s >= 0)
					rows[r].eta_s = lv[i].eta_s;
			}
		}
	}
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
	struct wk_k8s *k8s[MAX_CLUSTERS];
	char ids[MAX_CLUSTERS][16];
	int ncl;
	cJSON *lists[MAX_CLUSTERS] = {NULL};
	char *prev = NULL;
	rd_kafka_t *tail = NULL;
	struct ctl_live *live = NULL;
	size_t nlive = 0;

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
	ncl = ctl_env_clusters(e, k8s, ids, MAX_CLUSTERS, err, sizeof(err));
	if (ncl < 0) {
		fprintf(stderr, "wukongctl: %s\n", err);
		free(rows);
		return CTL_EXIT_ENV;
	}
	if (watch) {
		/* the live source `migrate` reads: wukong.status from now on (without Kafka, e.g.
		 * only a kubeconfig to a cluster, the API server's copy alone) */
		char e2[512], topic[256];
		struct wk_config *cfg = ctl_env_kafka_config(e, e2, sizeof(e2));
		const char *topics[1] = {topic};

		if (cfg) {
			wk_kafka_topic(cfg, "status", topic, sizeof(topic));
			tail = ctl_tail_new(cfg, topics, 1, e2, sizeof(e2));
			wk_config_destroy(cfg);
		}
		live = wk_xcalloc(CTL_LIVE_MAX, sizeof(*live));
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

		if (fetch(k8s, ids, ncl, want_ns, want_name, a->include_finished, lists, rows, &n,
			  &found, err, sizeof(err)) < 0) {
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
		for (rd_kafka_message_t *m; tail && (m = rd_kafka_consumer_poll(tail, 0));) {
			cJSON *v = !m->err && m->payload && m->len <= ST_LIVE_BODY_MAX
				       ? cJSON_ParseWithLength(m->payload, m->len)
				       : NULL;

			if (v)
				ctl_live_take(live, &nlive, v);
			cJSON_Delete(v);
			rd_kafka_message_destroy(m);
		}
		if (live)
			ctl_live_apply(live, nlive, rows, n);
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
	for (int c = 0; c < ncl; c++) {
		cJSON_Delete(lists[c]);
		wk_k8s_destroy(k8s[c]);
	}
	if (tail) {
		rd_kafka_consumer_close(tail);
		rd_kafka_destroy(tail);
	}
	free(live);
	return code;
}

/* ---- clusters ---- */

struct cl_list {
	struct wk_cluster_info v[64];
	size_t n;
};

static void cl_record(const char *key, const char *body, size_t len, void *opaque)
{
	struct cl_list *l = opaque;
	struct wk_cluster_info ci;
	char err[256];
	size_t i;

	(void)key;
	if (!body || wk_cluster_parse(body, len, &ci, err, sizeof(err)) < 0)
		return;
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].id, ci.id))
			break;
	if (i == l->n && l->n == WK_ARRAY_SIZE(l->v)) {
		wk_cluster_info_release(&ci);
		return;
	}
	if (i < l->n) {
		if (l->v[i].time_ms > ci.time_ms) {
			wk_cluster_info_release(&ci);
			return;
		}
		wk_cluster_info_release(&l->v[i]);
	} else {
		l->n++;
	}
	l->v[i] = ci;
}

static int cmp_cl(const void *a, const void *b)
{
	return strcmp(((const struct wk_cluster_info *)a)->id,
		      ((const struct wk_cluster_info *)b)->id);
}

int ctl_clusters(const struct ctl_env *e)
{
	struct wk_config *cfg;
	struct wk_cluster_reader *r;
	struct cl_list *l = wk_xcalloc(1, sizeof(*l));
	char err[512], topic[256];
	int64_t deadline = wk_time_mono_ms() + 10000, now, max_age = 15000;

	cfg = ctl_env_kafka_config(e, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "wukongctl: %s\n", err);
		free(l);
		return CTL_EXIT_ENV;
	}
	wk_kafka_topic(cfg, "clusters", topic, sizeof(topic));
	r = wk_cluster_reader_new(cfg, topic, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "wukongctl: %s (is the stack up? 'wukongctl status')\n", err);
		wk_config_destroy(cfg);
		free(l);
		return CTL_EXIT_ENV;
	}
	while (wk_cluster_reader_poll(r, 200, cl_record, l) != 1 && wk_time_mono_ms() < deadline)
		;
	wk_cluster_reader_destroy(r);
	wk_config_destroy(cfg);
	qsort(l->v, l->n, sizeof(l->v[0]), cmp_cl);
	now = wk_time_now_ms();
	if (e->args->output == CTL_OUT_JSON) {
		cJSON *arr = cJSON_CreateArray();
		char *s;

		for (size_t i = 0; i < l->n; i++) {
			char *j = wk_cluster_json(&l->v[i]);
			cJSON *o = cJSON_Parse(j);

			free(j);
			if (!o)
				continue;
			cJSON_AddBoolToObject(o, "available",
					      wk_cluster_available(&l->v[i], now, max_age));
			cJSON_AddNumberToObject(o, "ageSeconds",
						(double)((now - l->v[i].time_ms) / 1000));
			cJSON_AddItemToArray(arr, o);
		}
		s = cJSON_PrintUnformatted(arr);
		printf("%s\n", s ? s : "[]");
		free(s);
		cJSON_Delete(arr);
	} else {
		printf("%-10s %-12s %-9s %-6s %-6s %-16s %-16s %-5s %s\n", "CLUSTER", "STATE",
		       "KUBEVIRT", "NODES", "VMIS", "CPU FREE/ALLOC", "MEM FREE/ALLOC", "AGE",
		       "GATES");
		for (size_t i = 0; i < l->n; i++) {
			const struct wk_cluster_info *c = &l->v[i];
			char cf[16], ca[16], mf[16], ma[16], cpu[40], mem[40], gates[400] = "",
									       id[64], kv[64];
			size_t gl = 0;

			wk_quantity_format_milli(c->cpu_alloc_milli - c->cpu_used_milli, cf,
						 sizeof(cf));
			wk_quantity_format_milli(c->cpu_alloc_milli, ca, sizeof(ca));
			wk_quantity_format_bytes(c->mem_alloc - c->mem_used, mf, sizeof(mf));
			wk_quantity_format_bytes(c->mem_alloc, ma, sizeof(ma));
			snprintf(cpu, sizeof(cpu), "%s/%s", cf, ca);
			snprintf(mem, sizeof(mem), "%s/%s", mf, ma);
			for (size_t g = 0; g < c->n_gates && gl + 1 < sizeof(gates); g++)
				gl += (size_t)snprintf(gates + gl, sizeof(gates) - gl, "%s%s",
						       g ? "," : "", c->gates[g]);
			ctl_safe(c->id, id, sizeof(id), 40);
			ctl_safe(c->kubevirt_version, kv, sizeof(kv), 20);
			ctl_safe(gates, gates, sizeof(gates), 200);
			char age[24];

			snprintf(age, sizeof(age), "%llds", (long long)((now - c->time_ms) / 1000));
			printf("%-10s %-12s %-9s %-6lld %-6lld %-16s %-16s %-5s %s\n", id,
			       wk_cluster_available(c, now, max_age) ? "Available" : "Unavailable",
			       kv[0] ? kv : "-", (long long)c->nodes, (long long)c->vmis, cpu, mem,
			       age, gates);
		}
		if (!l->n)
			printf("(no cluster in the registry yet: each cluster's wukong-watcher "
			       "heartbeats to %s)\n",
			       topic);
	}
	for (size_t i = 0; i < l->n; i++)
		wk_cluster_info_release(&l->v[i]);
	free(l);
	return 0;
}
