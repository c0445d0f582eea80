/* ctl_bar.c - ASCII progress bars (ASCII so that every terminal and tmux capture shows the same).
 */
#include "ctl_bar.h"

#include <math.h>

void ctl_progress_init(struct ctl_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->percent = -1;
	p->done_bytes = p->total_bytes = -1;
	p->rate = p->eta_s = -1;
}

void ctl_bar_render(char *out, size_t out_size, int width, int percent, unsigned tick)
{
	char cells[CTL_BAR_MAX + 1];
	int i;

	if (width < CTL_BAR_MIN)
		width = CTL_BAR_MIN;
	if (width > CTL_BAR_MAX)
		width = CTL_BAR_MAX;
	if (percent < 0) {
		int span = width - 3, pos = span > 0 ? (int)(tick % (unsigned)(2 * span)) : 0;

		if (pos > span)
			pos = 2 * span - pos;
		memset(cells, ' ', (size_t)width);
		memcpy(cells + pos, "<=>", 3);
	} else {
		int fill = (percent > 100 ? 100 : percent) * width / 100;

		for (i = 0; i < width; i++)
			cells[i] = i < fill ? '#' : '-';
	}
	cells[width] = '\0';
	snprintf(out, out_size, "[%s]", cells);
}

void ctl_fmt_bytes(int64_t bytes, char *out, size_t out_size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0) {
		snprintf(out, out_size, "?");
		return;
	}
	while (v >= 1024 && u + 1 < WK_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, out_size, "%lldB", (long long)bytes);
	else if (v >= 100)
		snprintf(out, out_size, "%.0f%s", v, units[u]);
	else
		snprintf(out, out_size, "%.1f%s", v, units[u]);
}

void ctl_fmt_eta(double seconds, char *out, size_t out_size)
{
	long long s;

	if (!(seconds >= 0) || seconds > 1e9) {
		snprintf(out, out_size, "--:--");
		return;
	}
	s = (long long)llround(seconds);
	if (s >= 3600)
		snprintf(out, out_size, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
	else
		snprintf(out, out_size, "%lld:%02lld", s / 60, s % 60);
}

void ctl_progress_line(const struct ctl_progress *p, int cols, unsigned tick, char *out,
		       size_t out_size)
{
	char pct[16], bytes[48], rate[32], eta[32], phase[96], bar[CTL_BAR_MAX + 3], a[16], b[16];
	int fixed, w;

	if (cols <= 0)
		cols = 80;
	if (p->percent >= 0)
		snprintf(pct, sizeof(pct), "%3d%%", p->percent > 100 ? 100 : p->percent);
	else
		snprintf(pct, sizeof(pct), "  ?%%");
	ctl_fmt_bytes(p->done_bytes, a, sizeof(a));
	ctl_fmt_bytes(p->total_bytes, b, sizeof(b));
	if (p->done_bytes >= 0 || p->total_bytes >= 0)
		snprintf(bytes, sizeof(bytes), "  %s/%s", a, b);
	else
		bytes[0] = '\0';
	if (p->rate >= 0) {
		ctl_fmt_bytes((int64_t)p->rate, a, sizeof(a));
		snprintf(rate, sizeof(rate), "  %s/s", a);
	} else {
		rate[0] = '\0';
	}
	ctl_fmt_eta(p->eta_s, a, sizeof(a));
	snprintf(eta, sizeof(eta), "  ETA %s", a);
	snprintf(phase, sizeof(phase), "  %.40s%s%.20s%s", p->phase ? p->phase : "Pending",
		 p->mode ? " (" : "", p->mode ? p->mode : "", p->mode ? ")" : "");
	fixed = (int)(strlen(pct) + strlen(bytes) + strlen(rate) + strlen(eta) + strlen(phase));
	w = cols - fixed - 3; /* brackets and a space */
	if (w > CTL_BAR_MAX)
		w = CTL_BAR_MAX;
	if (w >= CTL_BAR_MIN) {
		ctl_bar_render(bar, sizeof(bar), w, p->percent, tick);
		snprintf(out, out_size, "%s %s%s%s%s%s", bar, pct, bytes, rate, eta, phase);
	} else if (fixed <= cols) {
		snprintf(out, out_size, "%s%s%s%s%s", pct, bytes, rate, eta, phase);
	} else {
		snprintf(out, out_size, "%s%s%s", pct, eta, phase);
	}
	if (strlen(out) > (size_t)cols)
		out[cols] = '\0';
}

void ctl_progress_plain(const struct ctl_progress *p, char *out, size_t out_size)
{
	char a[16], b[16];
	size_t n;

	snprintf(out, out_size, "phase=%.40s", p->phase ? p->phase : "Pending");
	n = strlen(out);
	if (p->mode && n < out_size)
		n += (size_t)snprintf(out + n, out_size - n, " mode=%.20s", p->mode);
	if (p->percent >= 0 && n < out_size)
		n += (size_t)snprintf(out + n, out_size - n, " progress=%d%%",
				      p->percent > 100 ? 100 : p->percent);
	if ((p->done_bytes >= 0 || p->total_bytes >= 0) && n < out_size) {
		ctl_fmt_bytes(p->done_bytes, a, sizeof(a));
		ctl_fmt_bytes(p->total_bytes, b, sizeof(b));
		n += (size_t)snprintf(out + n, out_size - n, " bytes=%s/%s", a, b);
	}
	if (p->rate >= 0 && n < out_size) {
		ctl_fmt_bytes((int64_t)p->rate, a, sizeof(a));
		n += (size_t)snprintf(out + n, out_size - n, " rate=%s/s", a);
	}
	if (p->eta_s >= 0 && n < out_size) {
		ctl_fmt_eta(p->eta_s, a, sizeof(a));
		snprintf(out + n, out_size - n, " eta=%s", a);
	}
}

void ctl_took(long long elapsed_ms, const struct ctl_progress *p, char *out, size_t out_size)
{
	char t[16], b[32];

	ctl_fmt_eta(elapsed_ms >= 0 ? (double)elapsed_ms / 1000.0 : -1, t, sizeof(t));
	if (p && p->done_bytes >= 0) {
		ctl_fmt_bytes(p->done_bytes, b, sizeof(b));
		snprintf(out, out_size, "took %s, %s moved", t, b);
	} else {
		snprintf(out, out_size, "took %s", t);
	}
}
