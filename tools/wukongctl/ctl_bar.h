/* ctl_bar.h - progress bars and the one-line summary of an operation (percent, bytes, rate, ETA,
 * phase), for a terminal (redrawn in place) or plain text. Pure formatting into caller buffers.
 */
#ifndef CTL_BAR_H
#define CTL_BAR_H

#include "wk_common.h"

#define CTL_BAR_MIN 10 /* narrowest bar drawn */
#define CTL_BAR_MAX 40 /* widest */

/* What is known of an operation's progress; -1 = unknown for every number. */
struct ctl_progress {
	const char *phase; /* "Migrating", "Succeeded", ... (NULL = "Pending") */
	const char *mode;  /* "PreCopy", "PostCopy" or NULL */
	int percent;	   /* 0..100, -1 unknown */
	int64_t done_bytes, total_bytes;
	double rate;  /* bytes per second */
	double eta_s; /* seconds */
};

void ctl_progress_init(struct ctl_progress *p);

/* "[#####-----]" with `width` cells inside the brackets (clamped to CTL_BAR_MIN..CTL_BAR_MAX).
 * percent -1 draws an indeterminate bar: "<=>" at a position that moves with tick. */
void ctl_bar_render(char *out, size_t out_size, int width, int percent, unsigned tick);

/* "1.5GiB", "512MiB", "0B"; -1 gives "?". */
void ctl_fmt_bytes(int64_t bytes, char *out, size_t out_size);
/* "0:42", "1:02:03"; negative gives "--:--". */
void ctl_fmt_eta(double seconds, char *out, size_t out_size);

/* The whole line for `cols` terminal columns (0 = 80): bar, percent, bytes, rate, ETA, phase.
 * Narrow terminals drop the bar, then the rate; the result never exceeds cols. */
void ctl_progress_line(const struct ctl_progress *p, int cols, unsigned tick, char *out,
		       size_t out_size);

/* The same facts for a pipe or a log: "phase=Migrating progress=42% bytes=1.2GiB/4.0GiB
 * rate=128MiB/s eta=0:12", unknown fields left out; no bar, no escape sequences. */
void ctl_progress_plain(const struct ctl_progress *p, char *out, size_t out_size);

/* The final line's facts: "took 42s, 1.6GiB moved" (bytes left out when unknown). */
void ctl_took(long long elapsed_ms, const struct ctl_progress *p, char *out, size_t out_size);

#endif
