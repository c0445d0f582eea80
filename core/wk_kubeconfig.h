/* wk_kubeconfig.h - where and how to reach one Kubernetes API server: kubeconfig or in-cluster.
 *
 * A struct wk_kubeconfig is caller-owned (wk_kubeconfig_init / wk_kubeconfig_release) and owns
 * every string and blob in it. wk_k8s_new() takes its contents over (the struct is left empty).
 *
 * Kubeconfig: clusters/users/contexts, current-context or a named context, `server`,
 * `certificate-authority` (file) or `certificate-authority-data` (base64 PEM), `token` or
 * `tokenFile`, `client-certificate(-data)` + `client-key(-data)`, an `exec` credential plugin
 * (client.authentication.k8s.io/v1 or v1beta1 ExecCredential: command, args, env, apiVersion,
 * interactiveMode, provideClusterInfo, installHint; run once at load time and again when its
 * expirationTimestamp has passed or the API server answers 401: wk_kubeconfig_exec_refresh), and
 * `insecure-skip-tls-verify`, honoured only when literally true (logged as a warning). Relative
 * paths (and an exec command with a '/') are relative to the file that names them. A list of files
 * ("a:b", as in KUBECONFIG) is merged: the first file that sets current-context wins, and the first
 * file that has a named cluster/user/context wins. auth-provider credentials, username/password,
 * proxy-url and tls-server-name are refused with an error rather than silently ignored. Tokens and
 * private keys (from files, the kubeconfig or the plugin) are registered with wk_log_add_secret()
 * as soon as they are read; a plugin's output is never put into an error message.
 *
 * Caps (documented, each with a clear error past it): kubeconfig file 1 MiB, 16 files in a list,
 * token file 64 KiB, CA / certificate / key file or decoded data 1 MiB each; exec plugin: 64
 * arguments, 64 env entries, 1 MiB of output, 60 s to finish (then killed).
 * Errors read "file:line: message" when the position is known.
 */
#ifndef WK_KUBECONFIG_H
#define WK_KUBECONFIG_H

#include "wk_common.h"

#define WK_KUBECONFIG_MAX_FILE (1u << 20)
#define WK_KUBECONFIG_MAX_FILES 16
#define WK_KUBECONFIG_MAX_TOKEN (64u << 10)
#define WK_KUBECONFIG_MAX_PEM (1u << 20)
#define WK_KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define WK_KUBECONFIG_EXEC_MAX_ARGS 64
#define WK_KUBECONFIG_EXEC_MAX_OUTPUT (1u << 20)
#define WK_KUBECONFIG_EXEC_TIMEOUT_MS 60000

enum wk_exec_interactive { WK_EXEC_NEVER = 0, WK_EXEC_IF_AVAILABLE, WK_EXEC_ALWAYS };

/* users[].user.exec: a credential plugin (kubeconfig v1 ExecConfig). */
struct wk_kubeconfig_exec {
	char *command; /* as run: PATH lookup, or resolved against the kubeconfig's directory */
	char *args[WK_KUBECONFIG_EXEC_MAX_ARGS];
	size_t nargs;
	char *
	    env[WK_KUBECONFIG_EXEC_MAX_ARGS]; /* "NAME=value", added to the inherited environment */
	size_t nenv;
	char *api_version; /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *install_hint;
	bool provide_cluster_info;
	enum wk_exec_interactive interactive;
};

struct wk_kubeconfig {
	char *server;	 /* "https://host:port", no trailing '/' */
	char *namespace; /* the context's namespace, "default" when unset */
	char *context;	 /* the context's name; "in-cluster" for in-cluster config */
	char *origin;	 /* where it came from (a path, or "in-cluster"), for messages */

	/* Server verification: a CA file, or PEM bytes, or none (system CAs). */
	char *ca_file;
	char *ca_pem;
	size_t ca_pem_len;
	bool insecure_skip_tls_verify;

	/* Client certificate authentication: PEM bytes (files are read at load time). */
	char *cert_pem;
	size_t cert_pem_len;
	char *key_pem;
	size_t key_pem_len;

	/* Bearer token; token_file (tokenFile, in-cluster token) is re-read by
	 * wk_kubeconfig_reload_token() since projected tokens rotate. */
	char *token;
	char *token_file;

	/* Exec credential plugin (NULL = none) and when its token expires (epoch ms; 0 = it
	 * said nothing: cached for the life of the process, as client-go does). */
	struct wk_kubeconfig_exec *exec;
	int64_t token_expiry_ms;
};

void wk_kubeconfig_init(struct wk_kubeconfig *kc);
void wk_kubeconfig_release(struct wk_kubeconfig *kc);

/* Load one kubeconfig file or a ':'-separated list. context NULL = current-context. On error kc
 * is left empty (released). */
int wk_kubeconfig_load(struct wk_kubeconfig *kc, const char *paths, const char *context,
		       char *errstr, size_t errstr_size);
/* Same from a string (tests); name stands in for the file name in errors and relative paths. */
int wk_kubeconfig_load_string(struct wk_kubeconfig *kc, const char *name, const char *yaml,
			      size_t len, const char *context, char *errstr, size_t errstr_size);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and sa_dir/{token,ca.crt,namespace}; sa_dir NULL =
 * WK_KUBECONFIG_SA_DIR. */
int wk_kubeconfig_in_cluster(struct wk_kubeconfig *kc, const char *sa_dir, char *errstr,
			     size_t errstr_size);
/* What a service does without explicit settings: path if given, else $KUBECONFIG, else in-cluster
 * when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config. */
int wk_kubeconfig_auto(struct wk_kubeconfig *kc, const char *path, const char *context,
		       char *errstr, size_t errstr_size);

/* Re-read token_file (no-op returning 0 without one). *changed (may be NULL) tells whether the
 * token differs from the one held. On error the old token is kept. */
int wk_kubeconfig_reload_token(struct wk_kubeconfig *kc, bool *changed, char *errstr,
			       size_t errstr_size);

/* Run the exec plugin when force, or when its token has expired (client-go credsExpired: now past
 * expirationTimestamp) or there is none;
 * no-op returning 0 without a plugin. *changed (may be NULL) tells whether the token differs.
 * The plugin gets KUBERNETES_EXEC_INFO (and the cluster with provideClusterInfo), stdin from
 * /dev/null (interactiveMode Always cannot be honoured: an error), stderr passed through. Its
 * output must be an ExecCredential of the configured apiVersion with status.token (and/or
 * clientCertificateData + clientKeyData, taken only before a client uses kc). On error the old
 * token is kept. now_ms: wall clock (epoch ms). */
int wk_kubeconfig_exec_refresh(struct wk_kubeconfig *kc, bool force, int64_t now_ms, bool *changed,
			       char *errstr, size_t errstr_size);
void wk_kubeconfig_exec_free(struct wk_kubeconfig_exec *x);

/* Read a whole regular file of at most cap bytes (NUL-terminated, caller frees). Refuses
 * directories, devices and FIFOs without blocking on them. */
int wk_read_file_capped(const char *path, size_t cap, char **out, size_t *len, char *errstr,
			size_t errstr_size);
/* Decode standard base64 (whitespace ignored, padding required) of at most cap decoded bytes;
 * *out is NUL-terminated and caller-freed. */
int wk_base64_decode(const char *in, size_t in_len, size_t cap, char **out, size_t *out_len,
		     char *errstr, size_t errstr_size);

#endif
