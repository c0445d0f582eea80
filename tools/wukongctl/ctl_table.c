/* ctl_table.c - the operations table, polled from the API server (a list of Wukongs per refresh:
 * one request a second, no watch stream to keep alive for an interactive view). */
#include "ctl_table.h"

#include "ctl_ops.h"
#include "wk_cluster.h"
#include "wk_config.h"
#include "wk_k8s.h"
#include "wk_kafka.h"
#include "wk_quantity.h"
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
	snprintf(out, out_size, "%s%-28s %-9s %-10s %-27s %-25s %s", cols < 0 ? "CLUSTER  " : "", "VM", "KIND", "PHASE",
		 "PROGRESS", "SOURCE -> TARGET", "ETA");
	if (cols > 0 && strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

/* With a cluster column: the header for -cols. */
static void row_header_cl(bool multi, int cols, char *out, size_t out_size)
{
	ctl_row_header(multi ? -1 : cols, out, out_size);
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
		size_t c0 = 0;

		if (r->cluster[0])
			c0 = (size_t)snprintf(out, out_size, "cluster=%s ", r->cluster);
		if (c0 >= out_size)
			return;
		snprintf(out + c0, out_size - c0,
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
	{
		char cl[24] = "";

		if (r->cluster[0])
			snprintf(cl, sizeof(cl), "%-8.8s ", r->cluster);
		snprintf(out, out_size, "%s%-28.28s %-9s %-10.10s %s %s %-25.25s %s", cl, r->vm,
			 r->kind, r->phase, bar, pct, st, eta);
	}
	if (cols > 0 && strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

static int cmp_rows(const void *a, const void *b)
{
	const struct ctl_row *x = a, *y = b;
	int c = strcmp(x->cluster, y->cluster);

	if (!c)
		c = strcmp(x->vm, y->vm);

	return c ? c : strcmp(x->kind, y->kind);
}

/* Every cluster's Wukongs; a cluster that does not answer fails the round (its rows would
 * vanish from the view otherwise). */
static int fetch(struct wk_k8s **k8s, char ids[][16], int ncl, bool all, struct ctl_row *rows,
		 size_t *n, char *err, size_t errn)
{
	*n = 0;
	for (int c = 0; c < ncl; c++) {
		struct wk_k8s_result res;
		const cJSON *it;

		if (wk_k8s_list_all(k8s[c], &wk_res_wukongs, NULL, NULL, &res, err, errn) < 0) {
			wk_k8s_result_release(&res);
			if (ids[c][0]) {
				char e2[600];

				snprintf(e2, sizeof(e2), "cluster '%.15s': %.512s", ids[c], err);
				wk_strlcpy(err, e2, errn);
			}
			return -1;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(res.body, "items"))
		{
			size_t k, before = *n;

			if (*n >= MAX_ROWS)
				break;
			k = ctl_rows_from_wukong(it, all, rows + *n, MAX_ROWS - *n);
			*n += k;
			for (size_t i = before; i < *n; i++)
				wk_strlcpy(rows[i].cluster, ids[c], sizeof(rows[i].cluster));
		}
		wk_k8s_result_release(&res);
	}
	qsort(rows, *n, sizeof(*rows), cmp_rows);
	return 0;
}

static void print_json(const struct ctl_env *e, const struct ctl_row *rows, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (rows[i].cluster[0])
			cJSON_AddStringToObject(o, "cluster", rows[i].cluster);
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
	struct wk_k8s *k8s[8];
	char ids[8][16];
	int ncl = ctl_env_clusters(e, k8s, ids, 8, err, sizeof(err));
	char *prev = NULL;

	if (ncl < 0) {
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
		if (fetch(k8s, ids, ncl, e->args->all, rows, &n, err, sizeof(err)) < 0) {
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
				row_header_cl(ncl > 1, cols - 1, line, sizeof(line));
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
	for (int c = 0; c < ncl; c++)
		wk_k8s_destroy(k8s[c]);
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
	int64_t deadline = wk_time_mono_ms() + 10000, now;
	long long max_age = 15000;

	cfg = ctl_env_kafka_config(e, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "wukongctl: %s\n", err);
		free(l);
		return CTL_EXIT_ENV;
	}
	wk_kafka_topic(cfg, "clusters", topic, sizeof(topic));
	/* Available as the router judges it: its limit (WUKONG_ROUTER_CLUSTER__MAX__AGE) */
	if (wk_config_get_duration_ms(cfg, "router.cluster-max-age", 15000, &max_age, err,
				      sizeof(err)) < 0) {
		fprintf(stderr, "wukongctl: %s\n", err);
		wk_config_destroy(cfg);
		free(l);
		return CTL_EXIT_USAGE;
	}
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
