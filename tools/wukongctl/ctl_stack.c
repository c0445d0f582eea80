/* ctl_stack.c - the embedded stack as background processes: each in its own session (setsid) with
 * its log in DIR/logs/<name>.log and "<pid> <starttime>" in DIR/pids/<name>.pid, so that `down`
 * signals exactly the processes `up` started (a recycled pid has another start time). */
#include "ctl_stack.h"

#include "ctl_rbac.h"

#include "wk_config.h"
#include "wk_k8s.h"
#include "wk_kubeconfig.h"
#include "wk_log.h"
#include "wk_time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 96
#define FILE_CAP 4096 /* runtime files we read back (pid, bootstrap, addresses) */

/* snprintf through a function: paths are cut at their buffer (PATH_MAX) like everywhere else,
 * without a truncation warning per call site. */
static void fmt(char *out, size_t n, const char *f, ...) WK_PRINTF(3, 4);
static void fmt(char *out, size_t n, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(out, n, f, ap);
	va_end(ap);
}

/* ---- locating things ---- */

void ctl_env_init(struct ctl_env *e, const struct ctl_args *a, const char *argv0)
{
	const char *d = a->dir;
	char *slash;
	ssize_t n;

	memset(e, 0, sizeof(*e));
	e->args = a;
	if (!d || !*d)
		d = getenv("WUKONG_DIR");
	if (!d || !*d)
		d = ".wukong";
	wk_strlcpy(e->shown, d, sizeof(e->shown));
	if (!realpath(d, e->dir))
		wk_strlcpy(e->dir, d, sizeof(e->dir));
	n = readlink("/proc/self/exe", e->self, sizeof(e->self) - 1);
	if (n > 0)
		e->self[n] = '\0';
	else
		wk_strlcpy(e->self, argv0, sizeof(e->self));
	wk_strlcpy(e->bindir, e->self, sizeof(e->bindir));
	slash = strrchr(e->bindir, '/');
	if (slash)
		*slash = '\0';
	else
		wk_strlcpy(e->bindir, ".", sizeof(e->bindir));
}

/* Read a small runtime file, trailing whitespace cut. */
static int read_small(const char *path, char *out, size_t out_size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, out_size - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return n ? 0 : -1;
}

static void no_stack(const struct ctl_env *e, const char *what, char *errstr, size_t errstr_size)
{
	wk_err(errstr, errstr_size,
	       "no stack running in '%s' (no %s): run 'wukongctl up', or pass --dir, --bootstrap, "
	       "--kubeconfig",
	       e->shown, what);
}

int ctl_env_bootstrap(const struct ctl_env *e, char *out, size_t out_size, char *errstr,
		      size_t errstr_size)
{
	const char *b = e->args->bootstrap;
	char path[PATH_MAX + 16];

	if (b) {
		if (strchr(b, '/') && read_small(b, out, out_size) == 0)
			return 0;
		if (strchr(b, '/'))
			return wk_err(errstr, errstr_size, "--bootstrap: cannot read '%s'", b);
		wk_strlcpy(out, b, out_size);
		return 0;
	}
	b = getenv("WUKONG_KAFKA_BOOTSTRAP_SERVERS");
	if (b && *b) {
		wk_strlcpy(out, b, out_size);
		return 0;
	}
	fmt(path, sizeof(path), "%s/bootstrap", e->dir);
	if (read_small(path, out, out_size) < 0) {
		no_stack(e, "bootstrap file", errstr, errstr_size);
		return -1;
	}
	return 0;
}

int ctl_env_kubeconfig(const struct ctl_env *e, char *out, size_t out_size, char *errstr,
		       size_t errstr_size)
{
	const char *k = e->args->kubeconfig, *home;

	/* as kubectl (client-go clientcmd loading rules): --kubeconfig, then $KUBECONFIG (a ':'
	 * list, merged), then the stack's own kubeconfig, then ~/.kube/config */
	if (!k || !*k)
		k = getenv("KUBECONFIG");
	if (k && *k) {
		wk_strlcpy(out, k, out_size);
		return 0;
	}
	fmt(out, out_size, "%s/kubeconfig", e->dir);
	if (access(out, R_OK) == 0)
		return 0;
	home = getenv("HOME");
	if (!e->args->dir && !getenv("WUKONG_DIR") && home && *home) {
		fmt(out, out_size, "%s/.kube/config", home);
		if (access(out, R_OK) == 0)
			return 0;
	}
	no_stack(e, "kubeconfig", errstr, errstr_size);
	return -1;
}

void ctl_env_context_ns(const struct ctl_env *e, char *out, size_t out_size)
{
	char path[PATH_MAX], err[512];
	struct wk_kubeconfig kc;

	wk_strlcpy(out, "default", out_size);
	if (ctl_env_kubeconfig(e, path, sizeof(path), err, sizeof(err)) < 0)
		return;
	wk_kubeconfig_init(&kc);
	if (wk_kubeconfig_load(&kc, path, e->args->context, err, sizeof(err)) < 0)
		return;
	if (kc.namespace && *kc.namespace)
		wk_strlcpy(out, kc.namespace, out_size);
	wk_kubeconfig_release(&kc);
}

static struct wk_k8s *k8s_for(const struct ctl_env *e, const char *path, char *errstr,
			      size_t errstr_size)
{
	struct wk_kubeconfig kc;
	struct wk_k8s_options o;
	struct wk_k8s *c;

	wk_kubeconfig_init(&kc);
	if (wk_kubeconfig_load(&kc, path, e->args->context, errstr, errstr_size) < 0)
		return NULL;
	memset(&o, 0, sizeof(o));
	o.request_timeout_ms = 5000;
	o.connect_timeout_ms = 2000;
	o.max_retries = 1;
	o.user_agent = "wukongctl";
	c = wk_k8s_new(&kc, &o, errstr, errstr_size);
	wk_kubeconfig_release(&kc);
	return c;
}

struct wk_k8s *ctl_env_k8s(const struct ctl_env *e, char *errstr, size_t errstr_size)
{
	char path[PATH_MAX];

	if (ctl_env_kubeconfig(e, path, sizeof(path), errstr, errstr_size) < 0)
		return NULL;
	return k8s_for(e, path, errstr, errstr_size);
}

int ctl_env_clusters(const struct ctl_env *e, struct wk_k8s **k8s, char ids[][16], int max,
		     char *errstr, size_t errstr_size)
{
	char path[PATH_MAX + 64];
	int n = 0;

	if (!e->args->kubeconfig && !getenv("KUBECONFIG")) {
		for (int c = 0; c < 8 && n < max; c++) {
			fmt(path, sizeof(path), "%s/clusters/%c/kubeconfig", e->dir, 'a' + c);
			if (access(path, R_OK) < 0)
				break;
			k8s[n] = k8s_for(e, path, errstr, errstr_size);
			if (!k8s[n]) {
				while (n > 0)
					wk_k8s_destroy(k8s[--n]);
				return -1;
			}
			fmt(ids[n], 16, "%c", 'a' + c);
			n++;
		}
	}
	if (n)
		return n;
	k8s[0] = ctl_env_k8s(e, errstr, errstr_size);
	ids[0][0] = '\0';
	return k8s[0] ? 1 : -1;
}

struct wk_config *ctl_env_kafka_config(const struct ctl_env *e, char *errstr, size_t errstr_size)
{
	char boot[FILE_CAP];
	struct wk_config *cfg;

	if (ctl_env_bootstrap(e, boot, sizeof(boot), errstr, errstr_size) < 0)
		return NULL;
	cfg = wk_config_new();
	wk_config_set(cfg, "kafka.bootstrap.servers", boot);
	/* An interactive tool: say so quickly when the broker is gone. */
	wk_config_set(cfg, "kafka.message.timeout.ms", "15000");
	wk_config_set(cfg, "kafka.socket.timeout.ms", "5000");
	/* Settings from the environment (WUKONG_KAFKA_SASL_*, WUKONG_TOPICS_PREFIX) as services. */
	if (wk_config_load_env(cfg, NULL, errstr, errstr_size) < 0) {
		wk_config_destroy(cfg);
		return NULL;
	}
	if (e->args->bootstrap || !getenv("WUKONG_KAFKA_BOOTSTRAP_SERVERS"))
		wk_config_set(cfg, "kafka.bootstrap.servers", boot);
	return cfg;
}

/* ---- processes ---- */

bool ctl_is_service_binary(const char *name)
{
	static const char *const tools[] = {"wukong-kafka", "wukong-sim", "wukong-auditlog",
					    "wukongctl", "kubectl-wukong"};

	if (strncmp(name, "wukong-", 7) || !name[7])
		return false;
	for (size_t i = 0; i < WK_ARRAY_SIZE(tools); i++)
		if (!strcmp(name, tools[i]))
			return false;
	/* helpers and benchmarks are not services */
	return !strstr(name, "bench") && !strchr(name, '.');
}

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot. 0 if gone. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int i;

	fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return 0;
	for (i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* A zombie counts as gone. */
static bool proc_alive(pid_t pid, unsigned long long start)
{
	char path[64], buf[1024], *p;

	if (pid <= 0 || proc_start(pid) != start)
		return false;
	fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return false;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

struct proc {
	char name[64];
	pid_t pid;
	unsigned long long start;
};

static int load_procs(const struct ctl_env *e, struct proc *ps, size_t max)
{
	char path[PATH_MAX + 64], buf[128];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	fmt(path, sizeof(path), "%s/pids", e->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);
		long long pid;
		unsigned long long st;

		if (len < 5 || len >= 64 || strcmp(de->d_name + len - 4, ".pid"))
			continue;
		fmt(path, sizeof(path), "%s/pids/%s", e->dir, de->d_name);
		if (read_small(path, buf, sizeof(buf)) < 0 ||
		    sscanf(buf, "%lld %llu", &pid, &st) != 2 || pid <= 1 || pid > INT32_MAX)
			continue;
		memcpy(ps[n].name, de->d_name, len - 4);
		ps[n].name[len - 4] = '\0';
		ps[n].pid = (pid_t)pid;
		ps[n].start = st;
		n++;
	}
	closedir(d);
	return (int)n;
}

/* ---- supervision: a service that exits is started again, as a Deployment would ---- */

static volatile sig_atomic_t sup_stop, sup_restart;

static void sup_signal(int sig)
{
	if (sig == SIGUSR1)
		sup_restart = 1;
	else
		sup_stop = 1;
}

/* DIR/run/<name>.restarts: "<restarts> <unix time of the last> <how the last run ended>". */
static void sup_record(const char *dir, const char *name, unsigned restarts, const char *how)
{
	char path[PATH_MAX + 80], tmp[PATH_MAX + 90];
	FILE *f;

	fmt(path, sizeof(path), "%s/run/%s.restarts", dir, name);
	fmt(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%u %lld %s\n", restarts, (long long)time(NULL), how);
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* The supervisor (the process `up` started, leader of the session the service runs in): runs
 * the service, and when it exits for any reason starts it again after a backoff (1 s doubling to
 * 60 s; back to 1 s after a run of a minute), logging each restart into the service's log and
 * counting them for `status`. SIGTERM/SIGINT (`down`, which signals the whole session) stops it
 * once the service is gone; SIGUSR1 (`restart`) stops the service and starts it at once. */
static void WK_NORETURN supervise(const char *dir, const char *name, const char *const argv[])
{
	struct sigaction sa;
	long long backoff = 1000;
	unsigned restarts = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_signal; /* no SA_RESTART: waitpid and the backoff sleep wake up */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	wk_log_init("wukongctl-supervisor", WK_LOG_INFO);
	for (;;) {
		long long started = wk_time_mono_ms(), ran;
		char how[64];
		int st = 0;
		pid_t c = fork();

		if (c < 0) {
			wk_error("cannot fork wukong-%s: %s", name, strerror(errno));
			_exit(1);
		}
		if (c == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGUSR1, SIG_DFL);
			execv(argv[0], (char *const *)argv);
			fprintf(stderr, "wukongctl: cannot run '%s': %s\n", argv[0],
				strerror(errno));
			_exit(127);
		}
		for (;;) {
			pid_t r = waitpid(c, &st, 0);

			if (r == c)
				break;
			if (r < 0 && errno != EINTR)
				break;
			if (sup_stop || sup_restart)
				kill(c, SIGTERM); /* a second time is harmless */
		}
		if (sup_stop)
			_exit(0);
		ran = wk_time_mono_ms() - started;
		if (WIFSIGNALED(st))
			fmt(how, sizeof(how), "signal-%d", WTERMSIG(st));
		else
			fmt(how, sizeof(how), "exit-%d", WEXITSTATUS(st));
		restarts++;
		if (sup_restart) {
			sup_restart = 0;
			backoff = 1000;
			wk_info("wukong-%s restarted on request (%s after %lld ms); restart #%u",
				name, how, ran, restarts);
			sup_record(dir, name, restarts, "requested");
			continue;
		}
		if (ran >= 60000)
			backoff = 1000;
		wk_error("wukong-%s ended (%s) after %lld ms: restart #%u in %lld ms", name, how,
			 ran, restarts, backoff);
		sup_record(dir, name, restarts, how);
		{
			struct timespec ts = {backoff / 1000, (backoff % 1000) * 1000000L};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !sup_stop &&
			       !sup_restart)
				;
		}
		if (sup_stop)
			_exit(0);
		sup_restart = 0;
		backoff = backoff * 2 > 60000 ? 60000 : backoff * 2;
	}
}

static int start_proc(const struct ctl_env *e, const char *name, const char *const argv[],
		      struct proc *out, bool supervised)
{
	char log[PATH_MAX + 64], pidf[PATH_MAX + 64], tmp[PATH_MAX + 80], line[64];
	pid_t pid;
	FILE *f;

	fmt(log, sizeof(log), "%s/logs/%s.log", e->dir, name);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		/* Its own session: no terminal, and Ctrl-C in the shell does not reach it. */
		setsid();
		if (fd < 0 || nul < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 3; i < 1024; i++)
			close(i);
		signal(SIGPIPE, SIG_DFL);
		if (supervised)
			supervise(e->dir, name, argv);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "wukongctl: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* Give the kernel a moment to publish /proc/PID/stat with the start time. */
	out->pid = pid;
	out->start = proc_start(pid);
	wk_strlcpy(out->name, name, sizeof(out->name));
	fmt(pidf, sizeof(pidf), "%s/pids/%s.pid", e->dir, name);
	fmt(tmp, sizeof(tmp), "%s.tmp", pidf);
	fmt(line, sizeof(line), "%d %llu\n", (int)pid, out->start);
	f = fopen(tmp, "we");
	if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, pidf) < 0) {
		kill(pid, SIGKILL);
		return -1;
	}
	return 0;
}

/* Wait until path exists and is non-empty, the process stays alive, or the deadline. */
static int wait_file(const char *path, const struct proc *p, long long deadline_ms)
{
	struct stat st;

	while (wk_time_mono_ms() < deadline_ms) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return 0;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
			return -1;
		usleep(50000);
	}
	return -1;
}

static void stop_procs(struct proc *ps, size_t n, long long timeout_ms, bool quiet)
{
	long long deadline = wk_time_mono_ms() + timeout_ms;
	bool left;

	for (size_t i = 0; i < n; i++)
		if (proc_alive(ps[i].pid, ps[i].start)) {
			kill(-ps[i].pid, SIGTERM); /* its session's process group */
			kill(ps[i].pid, SIGTERM);
		}
	do {
		left = false;
		for (size_t i = 0; i < n; i++) {
			waitpid(ps[i].pid, NULL, WNOHANG); /* our own children (up failing) */
			if (proc_alive(ps[i].pid, ps[i].start))
				left = true;
		}
		if (left)
			usleep(50000);
	} while (left && wk_time_mono_ms() < deadline);
	for (size_t i = 0; i < n; i++)
		if (proc_alive(ps[i].pid, ps[i].start)) {
			if (!quiet)
				fprintf(stderr, "wukongctl: %s (pid %d) did not stop: SIGKILL\n",
					ps[i].name, (int)ps[i].pid);
			kill(-ps[i].pid, SIGKILL);
			kill(ps[i].pid, SIGKILL);
			waitpid(ps[i].pid, NULL, 0);
		}
}

static void remove_runtime(const struct ctl_env *e, const struct proc *ps, size_t n)
{
	char path[PATH_MAX + 80];
	static const char *const files[] = {"bootstrap", "kubeconfig", "token", "metrics-url",
					    "ca.crt"};

	for (size_t i = 0; i < n; i++) {
		fmt(path, sizeof(path), "%s/pids/%s.pid", e->dir, ps[i].name);
		unlink(path);
		fmt(path, sizeof(path), "%s/run/%s.addr", e->dir, ps[i].name);
		unlink(path);
	}
	for (size_t i = 0; i < WK_ARRAY_SIZE(files); i++) {
		fmt(path, sizeof(path), "%s/%s", e->dir, files[i]);
		unlink(path);
	}
}

static int stop_rank(const char *name);

static void order_for_stop(struct proc *ps, size_t n)
{
	/* Services first (they flush into Kafka and read the API server), then the simulator,
	 * the broker last. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			int ri = stop_rank(ps[i].name), rj = stop_rank(ps[j].name);

			if (rj < ri) {
				struct proc t = ps[i];

				ps[i] = ps[j];
				ps[j] = t;
			}
		}
}

int ctl_down(const struct ctl_env *e)
{
	struct proc ps[MAX_PROCS];
	int n = load_procs(e, ps, MAX_PROCS), alive = 0;
	long long t = e->args->timeout_ms ? e->args->timeout_ms : 15000;
	size_t k = 0;

	for (int i = 0; i < n; i++)
		if (proc_alive(ps[i].pid, ps[i].start))
			alive++;
	if (!n) {
		printf("nothing to stop: no stack in '%s'\n", e->shown);
		return 0;
	}
	order_for_stop(ps, (size_t)n);
	/* Stop in three waves so each wave's consumers are gone before what they talk to. */
	while (k < (size_t)n) {
		size_t j = k;
		int rank = stop_rank(ps[k].name);

		while (j < (size_t)n && stop_rank(ps[j].name) == rank)
			j++;
		stop_procs(ps + k, j - k, t, false);
		k = j;
	}
	remove_runtime(e, ps, (size_t)n);
	printf("stopped %d process%s in '%s' (logs kept in %s/logs)\n", alive,
	       alive == 1 ? "" : "es", e->shown, e->shown);
	return 0;
}

static int mkdirs(const struct ctl_env *e)
{
	static const char *const sub[] = {"", "/logs", "/pids", "/run", "/audit"};
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < WK_ARRAY_SIZE(sub); i++) {
		fmt(path, sizeof(path), "%s%s", e->dir, sub[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "wukongctl: cannot create '%s': %s\n", path,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The scenario `up` uses when none is given: the demo next to the sources. */
static void find_demo(const struct ctl_env *e, char *out, size_t out_size)
{
	const char *root = getenv("WUKONG_ROOT");
	char cand[PATH_MAX + 64];

	out[0] = '\0';
	if (root && *root) {
		fmt(cand, sizeof(cand), "%s/tools/wukongctl/demo.yaml", root);
		if (access(cand, R_OK) == 0) {
			wk_strlcpy(out, cand, out_size);
			return;
		}
	}
	fmt(cand, sizeof(cand), "%s/../../tools/wukongctl/demo.yaml", e->bindir);
	if (access(cand, R_OK) == 0 && realpath(cand, out))
		return;
	if (access("tools/wukongctl/demo.yaml", R_OK) == 0 &&
	    realpath("tools/wukongctl/demo.yaml", out))
		return;
	out[0] = '\0';
}

/* kubectl finds plugins as kubectl-<name> on PATH: link one next to wukongctl. */
static void link_plugin(const struct ctl_env *e)
{
	char link[PATH_MAX + 32], cur[PATH_MAX];
	ssize_t n;

	fmt(link, sizeof(link), "%s/kubectl-wukong", e->bindir);
	n = readlink(link, cur, sizeof(cur) - 1);
	if (n > 0) {
		cur[n] = '\0';
		if (!strcmp(cur, "wukongctl"))
			return;
		unlink(link);
	}
	if (symlink("wukongctl", link) < 0 && errno != EEXIST)
		fprintf(stderr, "wukongctl: note: cannot create '%s': %s\n", link, strerror(errno));
}

/* 0 a service, 1 a simulator ("sim", "sim-<id>"), 2 the broker: the order of stopping. */
static int stop_rank(const char *name)
{
	if (!strcmp(name, "kafka"))
		return 2;
	return !strncmp(name, "sim", 3) && (!name[3] || name[3] == '-');
}

/* The scenario of cluster number c: the c-th of --scenario's comma list (else its last), else
 * the demo. */
static void pick_scenario(const struct ctl_env *e, int c, char *scen, size_t scen_size)
{
	char list[PATH_MAX * 2], *save = NULL, *tok, *last = NULL;
	int i = 0;

	scen[0] = '\0';
	if (!e->args->scenario) {
		find_demo(e, scen, scen_size);
		return;
	}
	wk_strlcpy(list, e->args->scenario, sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
		last = tok;
		if (i == c)
			break;
	}
	if (last && !realpath(last, scen))
		scen[0] = '\0';
}

/* One cluster: its simulator (in cdir), then its services; the shared ones (audit, router) with
 * the first cluster only. */
static int up_cluster(const struct ctl_env *e, struct proc *ps, int *np, const char *id,
		      const char *cdir, const char *simname, const char *boot, bool rbac,
		      char names[][64], int ns, bool first, long long deadline, char *scen,
		      size_t scen_size)
{
	char bin[PATH_MAX + 64], file[PATH_MAX + 64], errb[512], admin_kc[PATH_MAX + 64];
	bool multi = strcmp(simname, "sim") != 0;
	char murl[FILE_CAP] = "", a_murl[PATH_MAX + FILE_CAP + 32];
	int simi;

	pick_scenario(e, first ? 0 : id[0] - 'a', scen, scen_size);
	if (e->args->scenario && !scen[0]) {
		fprintf(stderr, "wukongctl: --scenario: cannot read a scenario for cluster '%s'\n",
			id);
		return -1;
	}
	fmt(bin, sizeof(bin), "%s/wukong-sim", e->bindir);
	fmt(file, sizeof(file), "%s/kubeconfig", cdir);
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "wukongctl: '%s' is not built: run 'make'\n", bin);
		return -1;
	}
	unlink(file); /* a previous run's: wait for this simulator's own */
	{
		const char *argv[] = {bin, "--dir", cdir, "--scenario", scen, NULL};

		if (!scen[0])
			argv[3] = NULL;
		if (start_proc(e, simname, argv, &ps[*np], false) < 0)
			return -1;
		simi = (*np)++;
	}
	if (wait_file(file, &ps[simi], deadline) < 0) {
		fprintf(stderr, "wukongctl: wukong-sim did not start; see %s/logs/%s.log\n",
			e->shown, simname);
		return -1;
	}

	/* The simulator's KubeVirt metrics: what the progress aggregator scrapes for percent,
	 * bytes, rate and ETA. As on a cluster, virt-handler's endpoints come from the
	 * kubevirt-prometheus-metrics Service's EndpointSlices, over HTTPS verified against
	 * KubeVirt's CA, which the simulator writes to DIR/kubevirt-ca.crt; an older simulator
	 * wrote a plain metrics URL instead (progress.metrics-urls). */
	fmt(file, sizeof(file), "%s/kubevirt-ca.crt", cdir);
	if (access(file, R_OK) == 0) {
		fmt(a_murl, sizeof(a_murl), "progress.metrics-ca-file=%s", file);
	} else {
		fmt(file, sizeof(file), "%s/metrics-url", cdir);
		read_small(file, murl, sizeof(murl));
		fmt(a_murl, sizeof(a_murl), "progress.metrics-urls=%s", murl);
	}

	/* --rbac: the install bundle's RBAC on the simulator, a token per service (ctl_rbac.h) */
	fmt(admin_kc, sizeof(admin_kc), "%s/kubeconfig", cdir);
	if (rbac && ctl_rbac_apply(e, admin_kc, errb, sizeof(errb)) < 0) {
		fprintf(stderr, "wukongctl: %s\n", errb);
		return -1;
	}

	/* every service binary next to us */
	for (int i = 0; i < ns && *np < MAX_PROCS; i++) {
		const char *svc = names[i] + 7;
		bool shared = !strcmp(svc, "audit") || !strcmp(svc, "router");
		char a_boot[FILE_CAP + 32], a_kc[PATH_MAX + 32], a_addr[PATH_MAX + 128],
		    a_audit[PATH_MAX + 32], a_id[64], a_group[128], a_region[64], name[64];

		if (shared && !first)
			continue;
		if (multi && !shared)
			fmt(name, sizeof(name), "%s-%s", svc, id);
		else
			wk_strlcpy(name, svc, sizeof(name));
		fmt(bin, sizeof(bin), "%s/%s", e->bindir, names[i]);
		fmt(a_boot, sizeof(a_boot), "kafka.bootstrap.servers=%s", boot);
		fmt(a_kc, sizeof(a_kc), "kube.config=%s/kubeconfig", cdir);
		if (rbac && strcmp(svc, "audit") && strcmp(svc, "router")) {
			char skc[PATH_MAX + 32];

			if (ctl_rbac_kubeconfig(e, admin_kc, svc, skc, sizeof(skc), errb,
						sizeof(errb)) < 0) {
				fprintf(stderr, "wukongctl: %s\n", errb);
				return -1;
			}
			fmt(a_kc, sizeof(a_kc), "kube.config=%s", skc);
		}
		fmt(a_addr, sizeof(a_addr), "http.addr-file=%s/run/%s.addr", e->dir, name);
		fmt(a_audit, sizeof(a_audit), "audit.dir=%s/audit", e->dir);
		fmt(a_id, sizeof(a_id), "cluster.id=%s", id);
		/* each cluster's services in their own groups: one group per service would split
		 * the shared topics' partitions between the clusters */
		if (multi && !shared)
			fmt(a_group, sizeof(a_group), "consumer.group=wukong-%s-%s", svc, id);
		else
			fmt(a_group, sizeof(a_group), "log.level=info");
		fmt(a_region, sizeof(a_region), "cluster.labels.region=%s",
		    multi ? ((id[0] - 'a') % 2 ? "west" : "east") : "local");
		/* One replica of each: no Lease to wait for. Keys a service does not read are
		 * ignored by it (docs/configuration.md). The router runs: the executors read
		 * their own wukong.requests.<cluster> only. */
		const char *argv[] = {
		    bin, "-X", a_boot, "-X", a_id, "-X", a_kc, "-X", a_addr, "-X", a_audit, "-X",
		    a_group, "-X", a_region, "-X", "migrator.shared-requests=false", "-X",
		    "cloner.shared-requests=false", "-X", "watcher.lease.enabled=false", "-X",
		    "status.lease.enabled=false", "-X", "kafka.session.timeout.ms=6000", "-X",
		    /* as deployed: the Leases where deploy/base's Roles grant them */
		    "watcher.lease.namespace=wukong", "-X", "status.lease.namespace=wukong", "-X",
		    /* the embedded broker does not wake parked fetches */
		    "kafka.consumer.fetch.wait.max.ms=10", "-X", "progress.scrape-interval=1s",
		    "-X",
		    /* the embedded broker answers no timestamp look-up */
		    "console.from-beginning=true", "-X", a_murl, NULL};

		fmt(file, sizeof(file), "%s/run/%s.addr", e->dir, name);
		unlink(file);
		if (start_proc(e, name, argv, &ps[*np], true) < 0)
			return -1;
		(*np)++;
	}
	return 0;
}

int ctl_up(const struct ctl_env *e)
{
	struct proc ps[MAX_PROCS];
	int n = load_procs(e, ps, MAX_PROCS), np = 0, nalive = 0, failed = 0;
	long long t = e->args->timeout_ms ? e->args->timeout_ms : 30000, deadline;
	char bin[PATH_MAX + 64], file[PATH_MAX + 64], boot[FILE_CAP], scen[PATH_MAX],
	    ctl_dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < n; i++)
		if (proc_alive(ps[i].pid, ps[i].start))
			nalive++;
	if (nalive) {
		printf(
		    "a stack is already running in '%s' (%d processes): 'wukongctl status' shows "
		    "it, 'wukongctl down' stops it\n",
		    e->shown, nalive);
		return 0;
	}
	if (n)
		remove_runtime(e, ps, (size_t)n);
	if (mkdirs(e) < 0)
		return 3;
	if (!realpath(e->dir, ctl_dir))
		wk_strlcpy(ctl_dir, e->dir, sizeof(ctl_dir));
	struct ctl_env env = *e;

	wk_strlcpy(env.dir, ctl_dir, sizeof(env.dir));
	e = &env;
	link_plugin(e);

	/* 1. the broker */
	fmt(bin, sizeof(bin), "%s/wukong-kafka", e->bindir);
	fmt(file, sizeof(file), "%s/bootstrap", e->dir);
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "wukongctl: '%s' is not built: run 'make'\n", bin);
		return 3;
	}
	{
		char ctlf[PATH_MAX];
		/* the fault-injection FIFO (`echo 'down 1' >DIR/run/kafka.control`): the chaos
		 * run's broker outage (tests/chaos/chaos.sh) */
		const char *argv[8 + 2 + 2 * 8] = {bin,	 "--brokers", "1", "--bootstrap-file",
						   file, "--control", ctlf};
		static const char *const ids[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
		int na = 7;

		fmt(ctlf, sizeof(ctlf), "%s/run/kafka.control", e->dir);

		/* the per-cluster topics (wukong.requests.<id>) of every cluster */
		for (long long c = 0; e->args->clusters > 1 && c < e->args->clusters && c < 8;
		     c++) {
			argv[na++] = "--cluster";
			argv[na++] = ids[c];
		}
		argv[na] = NULL;
		if (start_proc(e, "kafka", argv, &ps[np], false) < 0)
			goto fail;
		np++;
	}
	deadline = wk_time_mono_ms() + t;
	if (wait_file(file, &ps[0], deadline) < 0 || read_small(file, boot, sizeof(boot)) < 0) {
		fprintf(stderr, "wukongctl: wukong-kafka did not start; see %s/logs/kafka.log\n",
			e->shown);
		goto fail;
	}

	/* 2. each cluster: its simulator, then its services (docs/multicluster.md) */
	const char *rbac_env = getenv("WUKONG_RBAC");
	bool rbac = e->args->rbac || (rbac_env && !strcmp(rbac_env, "1"));
	int ncl = e->args->clusters > 1 ? (int)e->args->clusters : 1;
	char names[MAX_PROCS][64];
	int ns = 0;

	if (e->args->clusters > 8) {
		fprintf(stderr, "wukongctl: --clusters: at most 8\n");
		goto fail;
	}
	if (ncl > 1 && rbac) {
		fprintf(stderr, "wukongctl: --rbac works with one cluster only\n");
		goto fail;
	}
	d = opendir(e->bindir);
	if (!d)
		goto fail;
	while ((de = readdir(d)) && ns < MAX_PROCS) {
		if (!ctl_is_service_binary(de->d_name) || strlen(de->d_name) >= 64)
			continue;
		fmt(bin, sizeof(bin), "%s/%s", e->bindir, de->d_name);
		if (access(bin, X_OK) == 0)
			wk_strlcpy(names[ns++], de->d_name, 64);
	}
	closedir(d);
	qsort(names, (size_t)ns, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	for (int c = 0; c < ncl; c++) {
		char id[16], cdir[PATH_MAX + 32], simname[32];

		fmt(id, sizeof(id), ncl > 1 ? "%c" : "local", 'a' + c);
		if (ncl > 1) {
			fmt(cdir, sizeof(cdir), "%s/clusters", e->dir);
			mkdir(cdir, 0700);
			fmt(cdir, sizeof(cdir), "%s/clusters/%s", e->dir, id);
			mkdir(cdir, 0700);
			fmt(simname, sizeof(simname), "sim-%s", id);
		} else {
			wk_strlcpy(cdir, e->dir, sizeof(cdir));
			wk_strlcpy(simname, "sim", sizeof(simname));
		}
		if (up_cluster(e, ps, &np, id, cdir, simname, boot, rbac, names, ns, c == 0,
			       deadline, scen, sizeof(scen)) < 0)
			goto fail;
	}
	if (ncl > 1) {
		char link[PATH_MAX + 32];

		fmt(link, sizeof(link), "%s/kubeconfig", e->dir);
		unlink(link);
		if (symlink("clusters/a/kubeconfig", link) < 0)
			fprintf(stderr, "wukongctl: note: cannot link '%s': %s\n", link,
				strerror(errno));
	}
	for (int i = 1; i < np; i++) {
		if (stop_rank(ps[i].name) != 0)
			continue; /* the broker and the simulators have no addr file */
		fmt(file, sizeof(file), "%s/run/%s.addr", e->dir, ps[i].name);
		if (wait_file(file, &ps[i], deadline) < 0) {
			fprintf(
			    stderr,
			    "wukongctl: warning: wukong-%s did not come up; see %s/logs/%s.log\n",
			    ps[i].name, e->shown, ps[i].name);
			failed++;
		}
	}
	printf("stack up in '%s': %d processes (kafka", e->shown, np);
	for (int i = 1; i < np; i++)
		printf(", %s", ps[i].name);
	printf(")\n  kafka bootstrap  %s   (%s/bootstrap)\n", boot, e->shown);
	if (ncl > 1)
		printf("  clusters         %d: a..%c, kubeconfigs %s/clusters/<id>/kubeconfig "
		       "(%s/kubeconfig is a's); 'wukongctl clusters' lists the registry\n",
		       ncl, 'a' + ncl - 1, e->shown, e->shown);
	printf("  kubeconfig       %s/kubeconfig\n", e->shown);
	printf("  scenario         %s\n", scen[0] ? scen : "(wukong-sim's default)");
	for (int i = 1; i < np; i++) {
		char caddr[FILE_CAP] = "";

		fmt(file, sizeof(file), "%s/run/%s.addr", e->dir, ps[i].name);
		if (!strncmp(ps[i].name, "console", 7) &&
		    read_small(file, caddr, sizeof(caddr)) == 0 && caddr[0])
			printf("  %-16s http://%s/   (read-only web console)\n", ps[i].name, caddr);
	}
	{
		/* the hints work as typed: the same --dir (a $WUKONG_DIR is inherited anyway) */
		const char *dd = e->args->dir ? " --dir " : "", *dv = e->args->dir ? e->shown : "";

		printf("  next:            wukongctl%s%s status | wukongctl%s%s watch -A | "
		       "kubectl --kubeconfig %s/kubeconfig get wukongs -A\n",
		       dd, dv, dd, dv, e->shown);
	}
	return failed ? 1 : 0;
fail:
	stop_procs(ps, (size_t)np, 5000, true);
	remove_runtime(e, ps, (size_t)np);
	return 1;
}

/* ---- restart ---- */

int ctl_restart(const struct ctl_env *e, const char *name)
{
	struct proc ps[MAX_PROCS];
	int n = load_procs(e, ps, MAX_PROCS);

	if (!strncmp(name, "wukong-", 7))
		name += 7;
	for (int i = 0; i < n; i++) {
		if (strcmp(ps[i].name, name))
			continue;
		if (!strcmp(name, "kafka") || !strcmp(name, "sim")) {
			fprintf(stderr,
				"wukongctl: '%s' is not supervised: 'wukongctl down' and "
				"'up' restart the whole stack\n",
				name);
			return 2;
		}
		if (!proc_alive(ps[i].pid, ps[i].start) || kill(ps[i].pid, SIGUSR1) < 0) {
			fprintf(stderr, "wukongctl: the supervisor of '%s' is not running\n", name);
			return 1;
		}
		printf("restarting wukong-%s (see %s/logs/%s.log)\n", name, e->shown, name);
		return 0;
	}
	fprintf(stderr, "wukongctl: no component '%s' in '%s' ('wukongctl status' lists them)\n",
		name, e->shown);
	return 3;
}

/* ---- status ---- */

static size_t sink(void *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static long http_get_code(const char *url)
{
	CURL *c = curl_easy_init();
	long code = 0;

	if (!c)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

/* GET /healthz of the API server in DIR/kubeconfig; addr gets its host:port. */
static const char *sim_api_health(const struct ctl_env *e, const char *sim, char *addr,
				  size_t addr_size)
{
	struct wk_kubeconfig kc;
	struct wk_k8s_options o;
	struct wk_k8s_result r;
	struct wk_k8s *c;
	char path[PATH_MAX + 48], err[256];
	const char *h = "unreachable";

	if (!strncmp(sim, "sim-", 4))
		fmt(path, sizeof(path), "%s/clusters/%.8s/kubeconfig", e->dir, sim + 4);
	else
		fmt(path, sizeof(path), "%s/kubeconfig", e->dir);
	wk_kubeconfig_init(&kc);
	if (wk_kubeconfig_load(&kc, path, NULL, err, sizeof(err)) < 0)
		return "starting";
	wk_strlcpy(addr, strstr(kc.server, "://") ? strstr(kc.server, "://") + 3 : kc.server,
		   addr_size);
	memset(&o, 0, sizeof(o));
	o.request_timeout_ms = 3000;
	o.connect_timeout_ms = 2000;
	o.max_retries = -1;
	o.user_agent = "wukongctl";
	c = wk_k8s_new(&kc, &o, err, sizeof(err));
	wk_kubeconfig_release(&kc);
	if (!c)
		return "unreachable";
	/* "ok" is not JSON: the answer's code is what counts */
	wk_k8s_request(c, "GET", "/healthz", NULL, NULL, 0, &r, err, sizeof(err));
	if (r.http_code == 200)
		h = "ok";
	else if (r.http_code)
		h = "unhealthy";
	wk_k8s_result_release(&r);
	wk_k8s_destroy(c);
	return h;
}

static bool tcp_ok(const char *hostport)
{
	char host[256], *colon;
	struct addrinfo hints, *res = NULL;
	bool ok = false;
	int fd;

	wk_strlcpy(host, hostport, sizeof(host));
	if (strchr(host, ','))
		*strchr(host, ',') = '\0';
	colon = strrchr(host, ':');
	if (!colon)
		return false;
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return false;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0)
		ok = true;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ok;
}

int ctl_status(const struct ctl_env *e)
{
	struct proc ps[MAX_PROCS];
	int n = load_procs(e, ps, MAX_PROCS), bad = 0;
	bool json = e->args->output == CTL_OUT_JSON;

	if (!n) {
		fprintf(stderr, "wukongctl: no stack running in '%s': run 'wukongctl up'\n",
			e->shown);
		return 3;
	}
	order_for_stop(ps, (size_t)n);
	if (json)
		printf("[");
	else
		printf("%-12s %-8s %-8s %-10s %-22s %s\n", "COMPONENT", "PID", "PROCESS", "HEALTH",
		       "RESTARTS", "ENDPOINT");
	for (int i = n - 1; i >= 0; i--) {
		bool alive = proc_alive(ps[i].pid, ps[i].start);
		char file[PATH_MAX + 64], addr[FILE_CAP] = "", url[FILE_CAP + 32];
		const char *health = "down";

		if (!strcmp(ps[i].name, "kafka")) {
			fmt(file, sizeof(file), "%s/bootstrap", e->dir);
			read_small(file, addr, sizeof(addr));
			if (alive)
				health = addr[0] && tcp_ok(addr) ? "ok" : "unreachable";
		} else {
			if (stop_rank(ps[i].name) == 1) {
				fmt(file, sizeof(file), "%s/metrics-url", e->dir);
				if (read_small(file, addr, sizeof(addr)) == 0 &&
				    strstr(addr, "/metrics"))
					*strstr(addr, "/metrics") = '\0';
				if (!strncmp(addr, "http://", 7))
					memmove(addr, addr + 7, strlen(addr + 7) + 1);
				if (!addr[0] && alive) {
					/* no metrics URL: the simulator's own API server's
					 * /healthz, with the stack's kubeconfig */
					health = sim_api_health(e, ps[i].name, addr, sizeof(addr));
					goto report;
				}
			} else {
				fmt(file, sizeof(file), "%s/run/%s.addr", e->dir, ps[i].name);
				read_small(file, addr, sizeof(addr));
			}
			if (alive && addr[0]) {
				long code;

				fmt(url, sizeof(url), "http://%s/healthz", addr);
				code = http_get_code(url);
				health = code == 200 ? "ok" : code ? "unhealthy" : "unreachable";
			} else if (alive) {
				health = "starting";
			}
		}
	report:
		if (strcmp(health, "ok"))
			bad++;
		{
			char rs[FILE_CAP] = "";
			unsigned nr = 0;
			long long at = 0;
			char last[64] = "";
			char shown[40] = "0";

			fmt(file, sizeof(file), "%s/run/%s.restarts", e->dir, ps[i].name);
			if (read_small(file, rs, sizeof(rs)) == 0 &&
			    sscanf(rs, "%u %lld %63s", &nr, &at, last) == 3)
				fmt(shown, sizeof(shown), "%u (%.16s)", nr, last);
			if (json)
				printf("%s{\"component\":\"%s\",\"pid\":%d,\"running\":%s,"
				       "\"health\":\"%s\",\"endpoint\":\"%s\",\"restarts\":%u,"
				       "\"lastRestart\":%lld,\"lastExit\":\"%s\"}",
				       i == n - 1 ? "" : ",", ps[i].name, (int)ps[i].pid,
				       alive ? "true" : "false", health, addr, nr, at, last);
			else
				printf("%-12s %-8d %-8s %-10s %-22s %s\n", ps[i].name,
				       (int)ps[i].pid, alive ? "running" : "exited", health, shown,
				       addr);
		}
	}
	if (json)
		printf("]\n");
	else if (bad)
		printf("%d component%s not healthy: see %s/logs/<component>.log\n", bad,
		       bad == 1 ? "" : "s", e->shown);
	return bad ? 1 : 0;
}
