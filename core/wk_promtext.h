/* wk_promtext.h - a parser for the Prometheus text exposition format (0.0.4), as served by
 * virt-handler's /metrics, with caps for hostile or broken endpoints.
 *
 * Samples are handed to a callback one at a time; the strings in a sample point into scratch
 * memory owned by the parser and are valid only during the call (copy what you keep). Comments
 * (# HELP, # TYPE, others) and blank lines are skipped. A malformed line stops the parse with
 * "line N: reason", like a Prometheus scrape that fails as a whole: callers should collect the
 * samples of one body and only use them when the parse returned >= 0.
 *
 * Caps (struct wk_promtext_limits, 0 = the default): body 4 MiB, line 64 KiB, metric and label
 * name 256 bytes, label value 4 KiB (after unescaping), 64 labels per sample, 200000 samples.
 */
#ifndef WK_PROMTEXT_H
#define WK_PROMTEXT_H

#include "wk_common.h"

#define WK_PROMTEXT_MAX_BODY (4u << 20)
#define WK_PROMTEXT_MAX_LINE (64u << 10)
#define WK_PROMTEXT_MAX_NAME 256
#define WK_PROMTEXT_MAX_VALUE 4096
#define WK_PROMTEXT_MAX_LABELS 64
#define WK_PROMTEXT_MAX_SAMPLES 200000

struct wk_promtext_limits {
	size_t max_body, max_line, max_name, max_value, max_labels, max_samples;
};

struct wk_promtext_label {
	const char *name;
	const char *value;
};

struct wk_promtext_sample {
	const char *name;
	const struct wk_promtext_label *labels;
	size_t nlabels;
	double value; /* NaN, +Inf, -Inf allowed */
	bool has_timestamp;
	int64_t timestamp_ms;
};

/* The value of label `name`, or NULL. */
const char *wk_promtext_label(const struct wk_promtext_sample *s, const char *name);

/* Return non-zero from the callback to stop the parse early (the parse then returns -1 with
 * "stopped by the caller"). */
typedef int wk_promtext_cb(const struct wk_promtext_sample *s, void *opaque);

/* Parse text[0..len): the number of samples, or -1 with errstr. lim may be NULL. */
long wk_promtext_parse(const char *text, size_t len, const struct wk_promtext_limits *lim,
		       wk_promtext_cb *cb, void *opaque, char *errstr, size_t errstr_size);

#endif
