/* wk_metrics.c - the metrics registry behind /metrics: one mutex guards every update and the
 * rendering, which is plenty for the rates these services see (a few thousand updates a second). */
#include "wk_metrics.h"
#include "wk_log.h"

#include <math.h>
#include <pthread.h>

#define METRICS_MAX 512
#define SERIES_MAX 1024
#define LABELS_MAX 8
#define BUCKETS_MAX 64
#define LABEL_VALUE_MAX 256 /* longer label values are cut: a metric line is not a dump */

enum kind { COUNTER, GAUGE, HISTOGRAM };

struct series {
	char **values;
	uint64_t hash;
	double value;
	uint64_t *counts; /* histogram: per bucket, not cumulative; [nbuckets] is +Inf */
	double sum;
	uint64_t count;
};

struct wk_metric {
	char *name;
	char *help;
	enum kind kind;
	char *label_names[LABELS_MAX];
	size_t nlabels;
	double *buckets;
	size_t nbuckets;
	struct series *series;
	size_t nseries, alloc;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct wk_metric *metrics[METRICS_MAX];
static size_t nmetrics;
static struct wk_metric *dropped; /* wukong_metrics_dropped_series_total{metric} */
static bool process_on;		  /* render the process_* series too */

static bool valid_name(const char *s, bool colon)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

static const char *kind_name(enum kind k)
{
	return k == COUNTER ? "counter" : k == GAUGE ? "gauge" : "histogram";
}

static void series_free(struct wk_metric *m, struct series *s)
{
	size_t i;

	for (i = 0; i < m->nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->counts);
}

static void metric_free(struct wk_metric *m)
{
	size_t i;

	for (i = 0; i < m->nseries; i++)
		series_free(m, &m->series[i]);
	for (i = 0; i < m->nlabels; i++)
		free(m->label_names[i]);
	free(m->series);
	free(m->buckets);
	free(m->name);
	free(m->help);
	free(m);
}

static uint64_t hash_values(const struct wk_metric *m, const char *const *values)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < m->nlabels; i++) {
		const unsigned char *p =
		    (const unsigned char *)(values && values[i] ? values[i] : "");

		size_t n;

		for (n = 0; *p && n < LABEL_VALUE_MAX; p++, n++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static struct series *find_series(struct wk_metric *m, const char *const *values, bool create);

static struct series *new_series(struct wk_metric *m, const char *const *values, uint64_t h)
{
	struct series *s;
	size_t i;

	if (m->nseries >= SERIES_MAX) {
		if (dropped && m != dropped) {
			const char *v[] = {m->name};
			struct series *d = find_series(dropped, v, true);

			if (d)
				d->value += 1;
		}
		return NULL;
	}
	if (m->nseries == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 4;
		m->series = wk_xrealloc(m->series, m->alloc * sizeof(*m->series));
	}
	s = &m->series[m->nseries++];
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->values = wk_xcalloc(m->nlabels ? m->nlabels : 1, sizeof(char *));
	for (i = 0; i < m->nlabels; i++)
		s->values[i] = wk_xstrndup(values && values[i] ? values[i] : "", LABEL_VALUE_MAX);
	if (m->kind == HISTOGRAM)
		s->counts = wk_xcalloc(m->nbuckets + 1, sizeof(uint64_t));
	return s;
}

/* Under the lock. NULL when the series cap is reached (the drop is counted). */
static struct series *find_series(struct wk_metric *m, const char *const *values, bool create)
{
	uint64_t h = hash_values(m, values);
	size_t i, j;

	for (i = 0; i < m->nseries; i++) {
		struct series *s = &m->series[i];

		if (s->hash != h)
			continue;
		for (j = 0; j < m->nlabels; j++) {
			const char *v = values && values[j] ? values[j] : "";

			/* Stored values are cut at LABEL_VALUE_MAX; compare the same way. */
			if (strncmp(s->values[j], v, LABEL_VALUE_MAX) != 0 ||
			    strlen(s->values[j]) != strnlen(v, LABEL_VALUE_MAX))
				break;
		}
		if (j == m->nlabels)
			return s;
	}
	return create ? new_series(m, values, h) : NULL;
}

static struct wk_metric *register_locked(const char *name, enum kind kind, const char *help,
					 const char *labels, const double *buckets, size_t nbuckets)
{
	struct wk_metric *m;
	size_t i;

	for (i = 0; i < nmetrics; i++) {
		m = metrics[i];
		if (strcmp(m->name, name) != 0)
			continue;
		/* Registering twice with the same shape returns the same handle (handy for
		 * modules that register lazily); any other shape is a programming error. */
		if (m->kind != kind)
			WK_BUG("metric '%s' registered as %s and %s", name, kind_name(m->kind),
			       kind_name(kind));
		return m;
	}
	if (!valid_name(name, true))
		WK_BUG("invalid metric name '%s'", name);
	if (nmetrics >= METRICS_MAX)
		WK_BUG("more than %d metrics registered", METRICS_MAX);
	m = wk_xcalloc(1, sizeof(*m));
	m->name = wk_xstrdup(name);
	m->help = wk_xstrdup(help ? help : "");
	m->kind = kind;
	if (labels && *labels) {
		char *copy = wk_xstrdup(labels), *save = NULL, *tok;

		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (m->nlabels >= LABELS_MAX)
				WK_BUG("metric '%s' has more than %d labels", name, LABELS_MAX);
			if (!valid_name(tok, false) || strcmp(tok, "le") == 0 ||
			    strncmp(tok, "__", 2) == 0)
				WK_BUG("metric '%s': invalid label name '%s'", name, tok);
			m->label_names[m->nlabels++] = wk_xstrdup(tok);
		}
		free(copy);
	}
	if (kind == HISTOGRAM) {
		if (nbuckets > BUCKETS_MAX)
			WK_BUG("metric '%s' has more than %d buckets", name, BUCKETS_MAX);
		for (i = 1; i < nbuckets; i++) {
			if (!(buckets[i] > buckets[i - 1]))
				WK_BUG("metric '%s': buckets not in ascending order", name);
		}
		m->buckets = wk_xcalloc(nbuckets ? nbuckets : 1, sizeof(double));
		if (nbuckets)
			memcpy(m->buckets, buckets, nbuckets * sizeof(double));
		m->nbuckets = nbuckets;
	}
	metrics[nmetrics++] = m;
	/* A metric without labels is exported from the start (at 0), as Prometheus expects. */
	if (m->nlabels == 0)
		new_series(m, NULL, hash_values(m, NULL));
	return m;
}

static struct wk_metric *registered(const char *name, enum kind kind, const char *help,
				    const char *labels, const double *buckets, size_t nbuckets)
{
	struct wk_metric *m;

	pthread_mutex_lock(&lock);
	if (!dropped)
		dropped = register_locked("wukong_metrics_dropped_series_total", COUNTER,
					  "Label combinations not recorded because a metric "
					  "reached its cap of 1024 series",
					  "metric", NULL, 0);
	m = register_locked(name, kind, help, labels, buckets, nbuckets);
	pthread_mutex_unlock(&lock);
	return m;
}

struct wk_metric *wk_metric_counter(const char *name, const char *help, const char *labels)
{
	return registered(name, COUNTER, help, labels, NULL, 0);
}

struct wk_metric *wk_metric_gauge(const char *name, const char *help, const char *labels)
{
	return registered(name, GAUGE, help, labels, NULL, 0);
}

struct wk_metric *wk_metric_histogram(const char *name, const char *help, const char *labels,
				      const double *buckets, size_t nbuckets)
{
	return registered(name, HISTOGRAM, help, labels, buckets, nbuckets);
}

void wk_metric_inc(struct wk_metric *m, const char *const *values, double by)
{
	struct series *s;

	if (!m || (m->kind == COUNTER && !(by >= 0)))
		return; /* counters never go down (NaN is refused too) */
	pthread_mutex_lock(&lock);
	s = find_series(m, values, true);
	if (s)
		s->value += by;
	pthread_mutex_unlock(&lock);
}

void wk_metric_set(struct wk_metric *m, const char *const *values, double v)
{
	struct series *s;

	if (!m || m->kind == HISTOGRAM)
		return;
	pthread_mutex_lock(&lock);
	s = find_series(m, values, true);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&lock);
}

void wk_metric_observe(struct wk_metric *m, const char *const *values, double v)
{
	struct series *s;
	size_t i;

	if (!m || m->kind != HISTOGRAM || isnan(v))
		return;
	pthread_mutex_lock(&lock);
	s = find_series(m, values, true);
	if (s) {
		for (i = 0; i < m->nbuckets && v > m->buckets[i]; i++)
			;
		s->counts[i]++;
		s->sum += v;
		s->count++;
	}
	pthread_mutex_unlock(&lock);
}

void wk_metric_remove(struct wk_metric *m, const char *const *values)
{
	struct series *s;

	if (!m)
		return;
	pthread_mutex_lock(&lock);
	s = find_series(m, values, false);
	if (s) {
		series_free(m, s);
		*s = m->series[--m->nseries];
	}
	pthread_mutex_unlock(&lock);
}

double wk_metric_value(struct wk_metric *m, const char *const *values)
{
	struct series *s;
	double v = 0;

	if (!m)
		return 0;
	pthread_mutex_lock(&lock);
	s = find_series(m, values, false);
	if (s)
		v = m->kind == HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&lock);
	return v;
}

/* ---- text exposition format 0.0.4 ---- */

static int add_number(struct wk_buf *out, double v)
{
	char tmp[40];

	if (isnan(v))
		return wk_buf_adds(out, "NaN");
	if (isinf(v))
		return wk_buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	/* Shortest form that reads back exactly. */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return wk_buf_adds(out, tmp);
}

/* HELP escapes \ and newline; label values also escape ". */
static int add_escaped(struct wk_buf *out, const char *s, bool quote)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = wk_buf_adds(out, "\\\\");
		else if (*s == '\n')
			rc = wk_buf_adds(out, "\\n");
		else if (*s == '"' && quote)
			rc = wk_buf_adds(out, "\\\"");
		else
			rc = wk_buf_add(out, s, 1);
	}
	return rc;
}

static int add_labels(struct wk_buf *out, const struct wk_metric *m, const struct series *s,
		      const char *le)
{
	size_t i;
	int rc = 0;

	if (m->nlabels == 0 && !le)
		return 0;
	rc |= wk_buf_adds(out, "{");
	for (i = 0; i < m->nlabels; i++) {
		rc |= wk_buf_addf(out, "%s%s=\"", i ? "," : "", m->label_names[i]);
		rc |= add_escaped(out, s->values[i], true);
		rc |= wk_buf_adds(out, "\"");
	}
	if (le)
		rc |= wk_buf_addf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le);
	rc |= wk_buf_adds(out, "}");
	return rc ? -1 : 0;
}

static int render_series(struct wk_buf *out, const struct wk_metric *m, const struct series *s)
{
	struct wk_buf le;
	uint64_t cum = 0;
	size_t i;
	int rc = 0;

	if (m->kind != HISTOGRAM) {
		rc |= wk_buf_adds(out, m->name);
		rc |= add_labels(out, m, s, NULL);
		rc |= wk_buf_adds(out, " ");
		rc |= add_number(out, s->value);
		rc |= wk_buf_adds(out, "\n");
		return rc ? -1 : 0;
	}
	wk_buf_init(&le, 64);
	for (i = 0; i <= m->nbuckets && rc == 0; i++) {
		wk_buf_reset(&le);
		if (i < m->nbuckets)
			rc |= add_number(&le, m->buckets[i]);
		else
			rc |= wk_buf_adds(&le, "+Inf");
		cum += s->counts[i];
		rc |= wk_buf_addf(out, "%s_bucket", m->name);
		rc |= add_labels(out, m, s, wk_buf_str(&le));
		rc |= wk_buf_addf(out, " %llu\n", (unsigned long long)cum);
	}
	wk_buf_release(&le);
	rc |= wk_buf_addf(out, "%s_sum", m->name);
	rc |= add_labels(out, m, s, NULL);
	rc |= wk_buf_adds(out, " ");
	rc |= add_number(out, s->sum);
	rc |= wk_buf_addf(out, "\n%s_count", m->name);
	rc |= add_labels(out, m, s, NULL);
	rc |= wk_buf_addf(out, " %llu\n", (unsigned long long)s->count);
	return rc ? -1 : 0;
}

int wk_metrics_render(struct wk_buf *out)
{
	size_t i, j;
	int rc = 0;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nmetrics && rc == 0; i++) {
		const struct wk_metric *m = metrics[i];

		rc |= wk_buf_addf(out, "# HELP %s ", m->name);
		rc |= add_escaped(out, m->help, false);
		rc |= wk_buf_addf(out, "\n# TYPE %s %s\n", m->name, kind_name(m->kind));
		for (j = 0; j < m->nseries && rc == 0; j++)
			rc |= render_series(out, m, &m->series[j]);
	}
	if (process_on && rc == 0)
		rc |= wk_metrics_process_render(out);
	pthread_mutex_unlock(&lock);
	return rc ? -1 : 0;
}

void wk_metrics_process_enable(bool on)
{
	process_on = on;
}

void wk_metrics_reset(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nmetrics; i++)
		metric_free(metrics[i]);
	nmetrics = 0;
	dropped = NULL;
	pthread_mutex_unlock(&lock);
}
