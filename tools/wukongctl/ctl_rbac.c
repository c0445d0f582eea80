/* ctl_rbac.c - per-service ServiceAccount kubeconfigs for `wukongctl up --rbac` (ctl_rbac.h). */
#include "ctl_rbac.h"

#include "wk_common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv (kubectl from PATH); its stdout into out (when non-NULL), stderr to the log. 0 when it
 * exits 0. */
static int run(const char *const argv[], const char *log, char *out, size_t out_size)
{
	posix_spawn_file_actions_t fa;
	int pfd[2] = {-1, -1}, st = 0, rc;
	size_t len = 0;
	pid_t pid;

	if (out && pipe(pfd) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (out) {
		posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
		posix_spawn_file_actions_addclose(&fa, pfd[0]);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out) {
		close(pfd[1]);
		while (rc == 0 && len + 1 < out_size) {
			ssize_t n = read(pfd[0], out + len, out_size - 1 - len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		out[len] = '\0';
		close(pfd[0]);
	}
	if (rc != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int ctl_rbac_apply(const struct ctl_env *e, const char *admin_kc, char *errstr,
		   size_t errstr_size)
{
	char base[PATH_MAX + 32], log[PATH_MAX + 32];
	struct stat sb;

	snprintf(base, sizeof(base), "%s/../../deploy/base", e->bindir);
	snprintf(log, sizeof(log), "%s/logs/rbac.log", e->dir);
	if (stat(base, &sb) < 0)
		return wk_err(errstr, errstr_size, "--rbac: no install bundle at '%s'", base);
	{
		const char *argv[] = {"kubectl", "--kubeconfig", admin_kc, "apply", "-k", base, NULL};

		if (run(argv, log, NULL, 0) < 0)
			return wk_err(errstr, errstr_size,
				      "--rbac: kubectl apply -k %s failed; see %s", base, log);
	}
	return 0;
}

int ctl_rbac_kubeconfig(const struct ctl_env *e, const char *admin_kc, const char *svc, char *out,
			size_t out_size, char *errstr, size_t errstr_size)
{
	char sa[96], tok[256], log[PATH_MAX + 32], tmp[PATH_MAX + 32];
	char *text = NULL, *p;
	size_t len = 0;
	FILE *f;
	int rc = -1;

	snprintf(sa, sizeof(sa), "wukong-%s", svc);
	snprintf(log, sizeof(log), "%s/logs/rbac.log", e->dir);
	{
		const char *argv[] = {"kubectl",    "--kubeconfig", admin_kc, "create", "token", sa,
				      "-n",	    "wukong",	    "--duration=48h",	      NULL};

		if (run(argv, log, tok, sizeof(tok)) < 0 || strlen(tok) < 16)
			return wk_err(errstr, errstr_size, "--rbac: no token for %s; see %s", sa,
				      log);
	}
	tok[strcspn(tok, "\r\n")] = '\0';
	f = fopen(admin_kc, "r");
	if (!f)
		return wk_err(errstr, errstr_size, "--rbac: cannot read '%s'", admin_kc);
	{
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (1u << 20)) {
			text = wk_xrealloc(text, len + n + 1);
			memcpy(text + len, buf, n);
			len += n;
		}
	}
	fclose(f);
	if (!text)
		return wk_err(errstr, errstr_size, "--rbac: '%s' is empty", admin_kc);
	text[len] = '\0';
	snprintf(out, out_size, "%s/kubeconfig.%s", e->dir, svc);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "w");
	if (!f)
		goto done;
	fchmod(fileno(f), 0600);
	/* the simulator's kubeconfig: one user with "token: <admin>", context namespace default */
	for (p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
		const char *t = strstr(p, "token: ");
		const char *n = strstr(p, "namespace: ");

		if (t)
			fprintf(f, "%.*stoken: %s\n", (int)(t - p), p, tok);
		else if (n)
			fprintf(f, "%.*snamespace: wukong\n", (int)(n - p), p);
		else
			fprintf(f, "%s\n", p);
	}
	if (fclose(f) == 0 && rename(tmp, out) == 0)
		rc = 0;
done:
	free(text);
	if (rc < 0)
		wk_err(errstr, errstr_size, "--rbac: cannot write '%s'", out);
	return rc;
}
