/* wk_metrics_process.c - the process_* series Prometheus' client libraries export by default
 * (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds), read from /proc at scrape
 * time, as the Go client's process collector does (prometheus/procfs). A figure /proc cannot
 * give is left out, never rendered as a sentinel. */
#include "wk_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

/* Seconds since the epoch at boot, from /proc/stat's btime; 0 when unknown. */
static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "btime %llu", &v) == 1) {
			bt = (double)v;
			break;
		}
	}
	fclose(f);
	return bt;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

static void one(struct wk_buf *out, int *rc, const char *name, const char *type, const char *help,
		double v)
{
	*rc |= wk_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
			   name, v);
}

int wk_metrics_process_render(struct wk_buf *out)
{
	unsigned long long utime, stime, start, vsize;
	long long rss;
	char buf[1024];
	double tck = (double)sysconf(_SC_CLK_TCK);
	double page = (double)sysconf(_SC_PAGESIZE);
	size_t n = 0;
	struct rlimit rl;
	char *p;
	FILE *f;
	long fds;
	int rc = 0;

	f = fopen("/proc/self/stat", "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces and parentheses: state is field 3;
	 * utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)). */
	p = strrchr(buf, ')');
	if (p && tck > 0 &&
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
		   "%llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) == 5) {
		double bt = boot_time();

		one(out, &rc, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.",
		    (double)(utime + stime) / tck);
		one(out, &rc, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.", (double)rss * page);
		one(out, &rc, "process_virtual_memory_bytes", "gauge",
		    "Virtual memory size in bytes.", (double)vsize);
		if (bt > 0)
			one(out, &rc, "process_start_time_seconds", "gauge",
			    "Start time of the process since unix epoch in seconds.",
			    bt + (double)start / tck);
	}
	fds = open_fds();
	if (fds >= 0)
		one(out, &rc, "process_open_fds", "gauge", "Number of open file descriptors.",
		    (double)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		one(out, &rc, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.", (double)rl.rlim_cur);
	return rc ? -1 : 0;
}
