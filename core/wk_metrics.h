/* wk_metrics.h - a process-wide registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Metrics are registered once (a name, help text and optional label names) and updated from any
 * thread with atomic operations; handles are owned by the registry and live until wk_metrics_reset().
 * Label values are given per update; each metric keeps at most 1024 label combinations (further
 * ones are counted in wukong_metrics_dropped_series_total instead).
 */
#ifndef WK_METRICS_H
#define WK_METRICS_H

#include "wk_common.h"
#include "wk_buf.h"

struct wk_metric;

/* labels: a comma-separated list of label names ("topic,type"), or NULL. */
struct wk_metric *wk_metric_counter(const char *name, const char *help, const char *labels);
struct wk_metric *wk_metric_gauge(const char *name, const char *help, const char *labels);
/* buckets: upper bounds in ascending order (seconds, by convention). */
struct wk_metric *wk_metric_histogram(const char *name, const char *help, const char *labels,
				      const double *buckets, size_t nbuckets);

/* values: one value per label name, in order (NULL when the metric has no labels). */
void wk_metric_inc(struct wk_metric *m, const char *const *values, double by);
void wk_metric_set(struct wk_metric *m, const char *const *values, double v);
void wk_metric_observe(struct wk_metric *m, const char *const *values, double v);
/* Drop one series (its label values), so a figure that is unknown is absent, not a sentinel. */
void wk_metric_remove(struct wk_metric *m, const char *const *values);
/* Current value of a counter/gauge series (tests), 0 when absent. */
double wk_metric_value(struct wk_metric *m, const char *const *values);

/* Append the whole registry in text format; -1 if the buffer cap is reached. */
int wk_metrics_render(struct wk_buf *out);
/* Render also the process_* series (wk_metrics_process.c) after the registry: services do. */
void wk_metrics_process_enable(bool on);
int wk_metrics_process_render(struct wk_buf *out);
void wk_metrics_reset(void);

#endif
