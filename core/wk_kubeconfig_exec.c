/* wk_kubeconfig_exec.c - running a kubeconfig exec credential plugin (client-go's
 * plugin/pkg/client/auth/exec/exec.go, client.authentication.k8s.io/v1 and v1beta1): environment
 * with KUBERNETES_EXEC_INFO, stdin from /dev/null, stdout captured (capped, with a deadline),
 * stderr passed through, the ExecCredential checked and its token cached until
 * expirationTimestamp. See wk_kubeconfig.h. */
#include "wk_kubeconfig.h"
#include "wk_log.h"
#include "wk_time.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void wk_kubeconfig_exec_free(struct wk_kubeconfig_exec *x)
{
	if (!x)
		return;
	free(x->command);
	for (size_t i = 0; i < x->nargs; i++)
		free(x->args[i]);
	for (size_t i = 0; i < x->nenv; i++)
		free(x->env[i]);
	free(x->api_version);
	free(x->install_hint);
	free(x);
}

static void cleanse_free(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

/* KUBERNETES_EXEC_INFO: {"kind":"ExecCredential","apiVersion":...,"spec":{"interactive":false,
 * "cluster":{...}}} (the cluster only with provideClusterInfo). */
static char *exec_info(const struct wk_kubeconfig *kc)
{
	const struct wk_kubeconfig_exec *x = kc->exec;
	cJSON *o = cJSON_CreateObject(), *spec, *cl;
	char *s;

	cJSON_AddStringToObject(o, "kind", "ExecCredential");
	cJSON_AddStringToObject(o, "apiVersion", x->api_version);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddBoolToObject(spec, "interactive", false);
	if (x->provide_cluster_info) {
		char *pem = kc->ca_pem, *owned = NULL;
		size_t len = kc->ca_pem_len;

		cl = cJSON_AddObjectToObject(spec, "cluster");
		cJSON_AddStringToObject(cl, "server", kc->server ? kc->server : "");
		if (kc->insecure_skip_tls_verify)
			cJSON_AddTrueToObject(cl, "insecure-skip-tls-verify");
		if (!pem && kc->ca_file &&
		    wk_read_file_capped(kc->ca_file, WK_KUBECONFIG_MAX_PEM, &owned, &len, NULL,
					0) == 0)
			pem = owned;
		if (pem && len) {
			char *b64 = wk_xmalloc(4 * ((len + 2) / 3) + 1);

			EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pem, (int)len);
			cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
			free(b64);
		}
		free(owned);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Run the plugin; *out gets its stdout (NUL-terminated, caller cleanses and frees). */
static int run_plugin(const struct wk_kubeconfig *kc, char **out, char *errstr, size_t errstr_size)
{
	const struct wk_kubeconfig_exec *x = kc->exec;
	size_t nenv = 0, cap = 0, len = 0;
	char **envp, **argv, *info, *buf = NULL;
	posix_spawn_file_actions_t fa;
	int pfd[2], status = 0, rc = -1;
	int64_t deadline = wk_time_mono_ms() + WK_KUBECONFIG_EXEC_TIMEOUT_MS;
	pid_t pid;
	bool timed_out = false, too_big = false;

	if (x->interactive == WK_EXEC_ALWAYS)
		return wk_err(errstr, errstr_size,
			      "exec plugin cannot support interactive mode: standard input is not "
			      "a terminal (interactiveMode Always)");
	while (environ[nenv])
		nenv++;
	envp = wk_xcalloc(nenv + x->nenv + 2, sizeof(char *));
	info = exec_info(kc);
	{
		size_t k = 0;

		/* the plugin's own env entries override inherited ones of the same name */
		for (size_t i = 0; i < nenv; i++) {
			bool dup = !strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21);

			for (size_t j = 0; j < x->nenv && !dup; j++) {
				size_t nl = (size_t)(strchr(x->env[j], '=') - x->env[j]);

				dup = !strncmp(environ[i], x->env[j], nl + 1);
			}
			if (!dup)
				envp[k++] = environ[i];
		}
		for (size_t j = 0; j < x->nenv; j++)
			envp[k++] = x->env[j];
		envp[k++] = wk_xasprintf("KUBERNETES_EXEC_INFO=%s", info);
		envp[k] = NULL;
		free(info);
		info = envp[k - 1];
	}
	argv = wk_xcalloc(x->nargs + 2, sizeof(char *));
	argv[0] = x->command;
	for (size_t i = 0; i < x->nargs; i++)
		argv[i + 1] = x->args[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = wk_err(errstr, errstr_size, "exec plugin: pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	rc = posix_spawnp(&pid, x->command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		rc = wk_err(errstr, errstr_size, "exec plugin '%s': %s%s%s", x->command,
			    strerror(rc), x->install_hint ? "\n" : "",
			    x->install_hint ? x->install_hint : "");
		goto out;
	}
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - wk_time_mono_ms();
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!p.revents)
			continue;
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = wk_xmalloc(ncap);

			if (buf) {
				memcpy(nb, buf, len);
				OPENSSL_cleanse(buf, cap);
				free(buf);
			}
			buf = nb;
			cap = ncap;
		}
		n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > WK_KUBECONFIG_EXEC_MAX_OUTPUT) {
			too_big = true;
			break;
		}
	}
	close(pfd[0]);
	if (timed_out || too_big)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		rc = wk_err(errstr, errstr_size, "exec plugin '%s' did not finish within %d s",
			    x->command, WK_KUBECONFIG_EXEC_TIMEOUT_MS / 1000);
	} else if (too_big) {
		rc = wk_err(errstr, errstr_size, "exec plugin '%s': output over %u bytes",
			    x->command, WK_KUBECONFIG_EXEC_MAX_OUTPUT);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = wk_err(
		    errstr, errstr_size, "exec plugin '%s' failed: %s %d%s%s", x->command,
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    WIFEXITED(status) && WEXITSTATUS(status) == 127 && x->install_hint ? "; " : "",
		    WIFEXITED(status) && WEXITSTATUS(status) == 127 && x->install_hint
			? x->install_hint
			: "");
	} else {
		if (!buf)
			buf = wk_xcalloc(1, 1);
		buf[len] = '\0';
		*out = buf;
		buf = NULL;
		rc = 0;
	}
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	free(argv);
	OPENSSL_cleanse(info, strlen(info));
	free(info);
	free(envp);
	return rc;
}

int wk_kubeconfig_exec_refresh(struct wk_kubeconfig *kc, bool force, int64_t now_ms, bool *changed,
			       char *errstr, size_t errstr_size)
{
	const struct wk_kubeconfig_exec *x = kc->exec;
	cJSON *o = NULL;
	const cJSON *st;
	const char *tok, *exp, *cert, *key, *api, *kind;
	char *outbuf = NULL;
	int64_t expiry = 0;
	int rc = -1;

	if (changed)
		*changed = false;
	if (!x)
		return 0;
	/* client-go caches until expirationTimestamp (none: for the life of the process) */
	if (!force && kc->token && (!kc->token_expiry_ms || now_ms < kc->token_expiry_ms))
		return 0;
	if (run_plugin(kc, &outbuf, errstr, errstr_size) < 0)
		return -1;
	o = cJSON_Parse(outbuf);
	/* Never quote the output: it holds the credential. */
	if (!cJSON_IsObject(o)) {
		wk_err(errstr, errstr_size,
		       "exec plugin '%s' did not print an ExecCredential (JSON)", x->command);
		goto out;
	}
	api = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "apiVersion"));
	kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
	if (!kind || strcmp(kind, "ExecCredential")) {
		wk_err(errstr, errstr_size, "exec plugin '%s': output is not kind ExecCredential",
		       x->command);
		goto out;
	}
	if (!api || strcmp(api, x->api_version)) {
		wk_err(errstr, errstr_size,
		       "exec plugin is configured to use API version %s, plugin returned version "
		       "%.80s",
		       x->api_version, api ? api : "(none)");
		goto out;
	}
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsObject(st)) {
		wk_err(errstr, errstr_size, "exec plugin didn't return a status field");
		goto out;
	}
	tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "token"));
	exp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp"));
	cert = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "clientCertificateData"));
	key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "clientKeyData"));
	if (tok && (!*tok || strpbrk(tok, "\r\n") || strlen(tok) > WK_KUBECONFIG_MAX_TOKEN))
		tok = NULL;
	if (!cert != !key) {
		wk_err(errstr, errstr_size,
		       "exec plugin returned only certificate or key, not both");
		goto out;
	}
	if (!tok && !cert) {
		wk_err(errstr, errstr_size, "exec plugin didn't return a token or cert/key pair");
		goto out;
	}
	if (exp && wk_time_parse_ms(exp, &expiry) < 0) {
		wk_err(errstr, errstr_size, "exec plugin: expirationTimestamp is not RFC 3339");
		goto out;
	}
	if (cert) {
		/* curl took the client certificate when the client was built: only the first run
		 * can provide one. */
		if (kc->cert_pem) {
			if (strcmp(kc->cert_pem, cert))
				wk_warn("exec plugin '%s' returned a new client certificate: it is "
					"used after a restart",
					x->command);
		} else {
			kc->cert_pem = wk_xstrdup(cert);
			kc->cert_pem_len = strlen(cert);
			kc->key_pem = wk_xstrdup(key);
			kc->key_pem_len = strlen(key);
			wk_log_add_secret(kc->key_pem);
		}
	}
	if (tok) {
		wk_log_add_secret(tok);
		if (!kc->token || strcmp(kc->token, tok)) {
			cleanse_free(kc->token);
			kc->token = wk_xstrdup(tok);
			if (changed)
				*changed = true;
		}
	}
	kc->token_expiry_ms = expiry;
	rc = 0;
out:
	if (o) {
		/* scrub the parsed copy too */
		const cJSON *s2 = cJSON_GetObjectItemCaseSensitive(o, "status");
		cJSON *t = cJSON_GetObjectItemCaseSensitive(s2, "token");
		cJSON *k2 = cJSON_GetObjectItemCaseSensitive(s2, "clientKeyData");

		if (cJSON_IsString(t))
			OPENSSL_cleanse(t->valuestring, strlen(t->valuestring));
		if (cJSON_IsString(k2))
			OPENSSL_cleanse(k2->valuestring, strlen(k2->valuestring));
		cJSON_Delete(o);
	}
	cleanse_free(outbuf);
	return rc;
}
