/* test_wk_kubeconfig.c - kubeconfig and in-cluster loading: valid, missing, hostile, capped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "wk_kubeconfig.h"
#include "wk_log.h"

/* "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" */
#define PEM_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wk-kc-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *content, size_t len)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void write_str(const char *name, const char *content)
{
	write_file(name, content, strlen(content));
}

static int load(struct wk_kubeconfig *kc, const char *yaml, const char *ctx, char *err,
		size_t errsz)
{
	return wk_kubeconfig_load_string(kc, "/cfg/kube.yaml", yaml, strlen(yaml), ctx, err, errsz);
}

static const char base_yaml[] = "apiVersion: v1\n"
				"kind: Config\n"
				"current-context: fake\n"
				"clusters:\n"
				"- name: fake\n"
				"  cluster:\n"
				"    server: https://127.0.0.1:6443/\n"
				"    certificate-authority-data: " PEM_B64 "\n"
				"- name: other\n"
				"  cluster:\n"
				"    server: https://10.0.0.1:443\n"
				"    insecure-skip-tls-verify: true\n"
				"contexts:\n"
				"- name: fake\n"
				"  context: {cluster: fake, user: tester, namespace: wk}\n"
				"- name: second\n"
				"  context: {cluster: other, user: tester}\n"
				"users:\n"
				"- name: tester\n"
				"  user:\n"
				"    token: secret-token-123\n";

static void valid_current_context(void **state)
{
	struct wk_kubeconfig kc;
	char err[256];

	(void)state;
	assert_int_equal(load(&kc, base_yaml, NULL, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	assert_string_equal(kc.namespace, "wk");
	assert_string_equal(kc.context, "fake");
	assert_string_equal(kc.token, "secret-token-123");
	assert_non_null(kc.ca_pem);
	assert_non_null(strstr(kc.ca_pem, "-----BEGIN CERTIFICATE-----"));
	assert_int_equal(kc.ca_pem_len, strlen(kc.ca_pem));
	assert_false(kc.insecure_skip_tls_verify);
	assert_null(kc.token_file);
	wk_kubeconfig_release(&kc);
	wk_kubeconfig_release(&kc); /* idempotent */
}

static void named_context_and_insecure(void **state)
{
	struct wk_kubeconfig kc;
	char err[256];

	(void)state;
	assert_int_equal(load(&kc, base_yaml, "second", err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://10.0.0.1:443");
	assert_string_equal(kc.namespace, "default");
	assert_true(kc.insecure_skip_tls_verify);
	assert_null(kc.ca_pem);
	wk_kubeconfig_release(&kc);
	assert_int_equal(load(&kc, base_yaml, "nope", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "context 'nope' not found"));
}

static void token_is_a_registered_secret(void **state)
{
	struct wk_kubeconfig kc;
	char err[256], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(load(&kc, base_yaml, NULL, err, sizeof(err)), 0);
	f = open_memstream(&out, &len);
	wk_log_set_stream(f);
	wk_log_init(NULL, WK_LOG_INFO);
	wk_info("oops %s", kc.token);
	wk_log_init(NULL, WK_LOG_ERROR);
	wk_log_set_stream(NULL);
	fclose(f);
	assert_null(strstr(out, "secret-token-123"));
	assert_non_null(strstr(out, "REDACTED"));
	free(out);
	wk_kubeconfig_release(&kc);
}

static void expect_error(const char *yaml, const char *ctx, const char *needle)
{
	struct wk_kubeconfig kc;
	char err[256] = "";

	if (load(&kc, yaml, ctx, err, sizeof(err)) != -1)
		fail_msg("loaded although '%s' expected", needle);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(kc.server);
	assert_null(kc.token);
}

static void missing_fields(void **state)
{
	(void)state;
	expect_error("", NULL, "no current-context");
	expect_error("current-context: x\n", NULL, "context 'x' not found");
	expect_error("current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n", NULL,
		     "kube.yaml:4: context 'x' names no cluster");
	expect_error("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n", NULL,
		     "cluster 'c' not found");
	expect_error("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
		     "clusters:\n- name: c\n  cluster:\n    certificate-authority-data: " PEM_B64
		     "\n",
		     NULL, "kube.yaml:8: cluster 'c' has no server");
	expect_error("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
		     "clusters:\n- name: c\n",
		     NULL, "has no 'cluster' map");
	expect_error("current-context: x\ncontexts: 5\n", NULL,
		     "kube.yaml:2: 'contexts' must be a list");
	expect_error("- a\n- b\n", NULL, "a kubeconfig must be a map");
}

#define HEAD                                                                                       \
	"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"             \
	"clusters:\n- name: c\n  cluster:\n"

static void bad_values(void **state)
{
	(void)state;
	expect_error(HEAD "    server: https://h\n    certificate-authority-data: '!!notbase64'\n",
		     NULL, "kube.yaml:9: certificate-authority-data: invalid base64");
	expect_error(HEAD "    server: https://h\n    certificate-authority-data: aGVsbG8=\n", NULL,
		     "decoded data is not PEM");
	expect_error(HEAD "    server: https://h\n    certificate-authority-data: aGVsbG8\n", NULL,
		     "invalid base64");
	expect_error(HEAD "    server: https://h\n    certificate-authority-data: aGV=bG8=\n", NULL,
		     "invalid base64");
	expect_error(HEAD "    server: ftp://h\n", NULL, "is not an http(s) URL");
	expect_error(HEAD "    server: https://h?x=1\n", NULL, "not a plain base URL");
	expect_error(HEAD "    server: https://h\n    insecure-skip-tls-verify: yes\n", NULL,
		     "kube.yaml:9: insecure-skip-tls-verify: expected true or false");
	expect_error(HEAD "    server: https://h\n    insecure-skip-tls-verify: true\n"
			  "    certificate-authority-data: " PEM_B64 "\n",
		     NULL, "kube.yaml:8: cluster 'c': a certificate authority and insecure");
	expect_error(HEAD "    server: https://h\n    proxy-url: http://p\n", NULL,
		     "proxy-url is not supported");
	expect_error(HEAD "    server: https://h\nusers:\n- name: u\n  user:\n    exec:\n"
			  "      command: aws\n",
		     NULL, "exec apiVersion must be client.authentication.k8s.io/v1");
	expect_error(HEAD "    server: https://h\nusers:\n- name: u\n  user:\n    exec:\n"
			  "      command: aws\n      apiVersion: client.authentication.k8s.io/v1\n",
		     NULL, "interactiveMode must be specified");
	expect_error(HEAD "    server: https://h\nusers:\n- name: u\n  user:\n"
			  "    client-certificate-data: " PEM_B64 "\n",
		     NULL, "client-certificate and client-key go together");
	expect_error(HEAD "    server: https://h\nusers:\n- name: u\n  user:\n"
			  "    tokenFile: /nonexistent/token\n",
		     NULL, "kube.yaml:12: tokenFile: cannot open '/nonexistent/token'");
	expect_error(HEAD "    server: https://h\n", NULL, "user 'u' not found");
}

static void insecure_false_is_false(void **state)
{
	struct wk_kubeconfig kc;
	char err[256];
	const char *y = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
			"clusters:\n- name: c\n  cluster:\n"
			"    server: http://h:8080\n    insecure-skip-tls-verify: false\n";

	(void)state;
	assert_int_equal(load(&kc, y, NULL, err, sizeof(err)), 0);
	assert_false(kc.insecure_skip_tls_verify);
	assert_string_equal(kc.server, "http://h:8080");
	assert_null(kc.token);
	wk_kubeconfig_release(&kc);
}

static void garbage_yaml(void **state)
{
	(void)state;
	expect_error("a: b\n  c: [\n", NULL, "kube.yaml:");
	expect_error("key: \"unterminated\n", NULL, "kube.yaml:");
	expect_error("\t- tab\n", NULL, "kube.yaml:1");
}

static void deep_nesting(void **state)
{
	size_t n = 20000;
	char *y = wk_xmalloc(2 * n + 2);
	struct wk_kubeconfig kc;
	char err[256];

	(void)state;
	memset(y, '[', n);
	memset(y + n, ']', n);
	y[2 * n] = '\n';
	y[2 * n + 1] = '\0';
	assert_int_equal(load(&kc, y, NULL, err, sizeof(err)), -1);
	free(y);
}

static char *sized_yaml(size_t size)
{
	char *y = wk_xmalloc(size + 1);
	size_t head = strlen(base_yaml);

	memcpy(y, base_yaml, head);
	y[head] = '#';
	memset(y + head + 1, 'x', size - head - 2);
	y[size - 1] = '\n';
	y[size] = '\0';
	return y;
}

static void size_cap(void **state)
{
	struct wk_kubeconfig kc;
	char err[256], *y;

	(void)state;
	y = sized_yaml(WK_KUBECONFIG_MAX_FILE);
	assert_int_equal(load(&kc, y, NULL, err, sizeof(err)), 0);
	wk_kubeconfig_release(&kc);
	write_file("at-cap", y, strlen(y));
	assert_int_equal(wk_kubeconfig_load(&kc, path_of("at-cap"), NULL, err, sizeof(err)), 0);
	wk_kubeconfig_release(&kc);
	free(y);
	y = sized_yaml(WK_KUBECONFIG_MAX_FILE + 1);
	assert_int_equal(load(&kc, y, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cap"));
	write_file("over-cap", y, strlen(y));
	assert_int_equal(wk_kubeconfig_load(&kc, path_of("over-cap"), NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than the 1048576-byte cap"));
	free(y);
}

static void files_relative_paths_and_token_file(void **state)
{
	struct wk_kubeconfig kc;
	char err[512], yaml[1024];
	bool changed;

	(void)state;
	write_str("ca.crt", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
	write_str("token", "  tok-one-abc\n");
	write_str("c.pem", "-----BEGIN CERTIFICATE-----\n");
	write_str("k.pem", "-----BEGIN PRIVATE KEY-----\n");
	snprintf(yaml, sizeof(yaml),
		 HEAD
		 "    server: https://h\n    certificate-authority: ca.crt\n"
		 "users:\n- name: u\n  user:\n    token: ignored-static\n    tokenFile: token\n"
		 "    client-certificate: c.pem\n    client-key: %s/k.pem\n",
		 dir);
	write_file("config", yaml, strlen(yaml));
	assert_int_equal(wk_kubeconfig_load(&kc, path_of("config"), NULL, err, sizeof(err)), 0);
	assert_string_equal(kc.ca_file, path_of("ca.crt"));
	assert_string_equal(kc.token, "tok-one-abc"); /* the file wins, trimmed */
	assert_string_equal(kc.token_file, path_of("token"));
	assert_non_null(kc.cert_pem);
	assert_non_null(kc.key_pem);
	assert_int_equal(wk_kubeconfig_reload_token(&kc, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	write_str("token", "tok-two-xyz");
	assert_int_equal(wk_kubeconfig_reload_token(&kc, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_string_equal(kc.token, "tok-two-xyz");
	write_str("token", "");
	assert_int_equal(wk_kubeconfig_reload_token(&kc, &changed, err, sizeof(err)), -1);
	assert_string_equal(kc.token, "tok-two-xyz"); /* kept */
	write_str("token", "a\nb\n");
	assert_int_equal(wk_kubeconfig_reload_token(&kc, &changed, err, sizeof(err)), -1);
	write_file("token", "ab\0cd", 5);
	assert_int_equal(wk_kubeconfig_reload_token(&kc, &changed, err, sizeof(err)), -1);
	wk_kubeconfig_release(&kc);
}

static void hostile_paths(void **state)
{
	static const char *const bad[] = {"/dev/zero", "/", "fifo", "missing.crt", "big.crt"};
	char *big = wk_xmalloc(WK_KUBECONFIG_MAX_PEM + 1);

	(void)state;
	assert_int_equal(mkfifo(path_of("fifo"), 0600), 0);
	memset(big, 'A', WK_KUBECONFIG_MAX_PEM + 1);
	write_file("big.crt", big, WK_KUBECONFIG_MAX_PEM + 1);
	free(big);
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		struct wk_kubeconfig kc;
		char err[512], yaml[2048], *p;

		p = bad[i][0] == '/' ? wk_xstrdup(bad[i]) : wk_xstrdup(path_of(bad[i]));
		snprintf(yaml, sizeof(yaml),
			 HEAD "    server: https://h\n    certificate-authority: %s\n", p);
		assert_int_equal(load(&kc, yaml, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "kube.yaml:9: certificate-authority:"));
		free(p);
	}
}

static void token_file_cap(void **state)
{
	char *tok = wk_xmalloc(WK_KUBECONFIG_MAX_TOKEN + 1), *out;
	size_t len;
	char err[256];

	(void)state;
	memset(tok, 'a', WK_KUBECONFIG_MAX_TOKEN + 1);
	write_file("bigtoken", tok, WK_KUBECONFIG_MAX_TOKEN);
	assert_int_equal(wk_read_file_capped(path_of("bigtoken"), WK_KUBECONFIG_MAX_TOKEN, &out,
					     &len, err, sizeof(err)),
			 0);
	assert_int_equal(len, WK_KUBECONFIG_MAX_TOKEN);
	free(out);
	write_file("bigtoken", tok, WK_KUBECONFIG_MAX_TOKEN + 1);
	assert_int_equal(wk_read_file_capped(path_of("bigtoken"), WK_KUBECONFIG_MAX_TOKEN, &out,
					     &len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cap"));
	free(tok);
}

static void base64(void **state)
{
	char *out, err[128];
	size_t len;

	(void)state;
	assert_int_equal(wk_base64_decode("aGVs\nbG8=", 9, 100, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "hello");
	free(out);
	assert_int_equal(wk_base64_decode("aGk=", 4, 2, &out, &len, err, sizeof(err)), 0); /* cap */
	assert_int_equal(len, 2);
	free(out);
	assert_int_equal(wk_base64_decode("aGk=", 4, 1, &out, &len, err, sizeof(err)), -1);
	assert_int_equal(wk_base64_decode("", 0, 10, &out, &len, err, sizeof(err)), -1);
	assert_int_equal(wk_base64_decode("aG", 2, 10, &out, &len, err, sizeof(err)), -1);
	assert_int_equal(wk_base64_decode("a*k=", 4, 10, &out, &len, err, sizeof(err)), -1);
	assert_int_equal(wk_base64_decode("=aGk", 4, 10, &out, &len, err, sizeof(err)), -1);
}

static void kubeconfig_list_merge(void **state)
{
	struct wk_kubeconfig kc;
	char err[512], list[900];

	(void)state;
	write_str("one", "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n");
	write_str("two", "current-context: ignored\nclusters:\n- name: c\n  cluster: {server: "
			 "'https://two:1'}\n");
	snprintf(list, sizeof(list), "%s/one:%s/missing:%s/two", dir, dir, dir);
	assert_int_equal(wk_kubeconfig_load(&kc, list, NULL, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://two:1");
	assert_string_equal(kc.context, "x");
	wk_kubeconfig_release(&kc);
	assert_int_equal(wk_kubeconfig_load(&kc, path_of("missing"), NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
}

/* ---- exec credential plugins (issue 16) ---- */

#define EXEC_HEAD                                                                                  \
	"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"             \
	"clusters:\n- name: c\n  cluster:\n    server: https://h:6443\n"                           \
	"    certificate-authority-data: " PEM_B64 "\n"                                            \
	"users:\n- name: u\n  user:\n    exec:\n"

/* A plugin script in the test directory: prints what body says, logs its env and argv. */
static void plugin(const char *name, const char *body)
{
	char script[4096];

	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "echo \"$KUBERNETES_EXEC_INFO\" > \"%s/info.$$\"; cp \"%s/info.$$\" \"%s/info\"\n"
		 "echo \"$@|$MYVAR\" > \"%s/argv\"\n"
		 "n=$(cat \"%s/count\" 2>/dev/null || echo 0); echo $((n + 1)) > \"%s/count\"\n"
		 "%s\n",
		 dir, dir, dir, dir, dir, dir, body);
	write_str(name, script);
	assert_int_equal(chmod(path_of(name), 0700), 0);
}

static int load_file(struct wk_kubeconfig *kc, const char *yaml, char *err, size_t n)
{
	write_str("kube-exec.yaml", yaml);
	return wk_kubeconfig_load(kc, path_of("kube-exec.yaml"), NULL, err, n);
}

static int count_runs(void)
{
	char *c = NULL;
	size_t len;
	int n;

	if (wk_read_file_capped(path_of("count"), 64, &c, &len, NULL, 0) < 0)
		return 0;
	n = atoi(c);
	free(c);
	return n;
}

static void exec_plugin(void **state)
{
	struct wk_kubeconfig kc;
	char err[512] = "", *info = NULL, *argv = NULL, *out = NULL;
	size_t len = 0;
	bool changed = true;
	FILE *f;

	(void)state;
	unlink(path_of("count"));
	plugin("plug.sh", "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
			  "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":"
			  "\"exec-token-777\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}'");
	/* relative command with a '/': resolved against the kubeconfig's directory */
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD "      command: ./plug.sh\n"
					     "      args: [get-token, --cluster, c]\n"
					     "      env: [{name: MYVAR, value: hello}]\n"
					     "      apiVersion: client.authentication.k8s.io/v1\n"
					     "      interactiveMode: Never\n"
					     "      provideClusterInfo: true\n",
				   err, sizeof(err)),
			 0);
	assert_string_equal(kc.token, "exec-token-777");
	assert_true(kc.token_expiry_ms > 4000000000000LL);
	assert_int_equal(count_runs(), 1);
	assert_int_equal(wk_read_file_capped(path_of("info"), 65536, &info, &len, NULL, 0), 0);
	assert_non_null(strstr(info, "\"kind\":\"ExecCredential\""));
	assert_non_null(strstr(info, "\"interactive\":false"));
	assert_non_null(strstr(info, "\"server\":\"https://h:6443\""));
	assert_non_null(strstr(info, "\"certificate-authority-data\":\"" PEM_B64 "\""));
	assert_int_equal(wk_read_file_capped(path_of("argv"), 65536, &argv, &len, NULL, 0), 0);
	assert_string_equal(argv, "get-token --cluster c|hello\n");
	/* cached until it expires; forced (a 401) it runs again */
	assert_int_equal(
	    wk_kubeconfig_exec_refresh(&kc, false, 1796644800000LL, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	assert_int_equal(count_runs(), 1);
	assert_int_equal(wk_kubeconfig_exec_refresh(&kc, false, 4070908800000LL - 1, &changed, err,
						    sizeof(err)),
			 0); /* not yet */
	assert_int_equal(count_runs(), 1);
	assert_int_equal(wk_kubeconfig_exec_refresh(&kc, false, 4070908800000LL, &changed, err,
						    sizeof(err)),
			 0); /* expired */
	assert_int_equal(count_runs(), 2);
	assert_int_equal(
	    wk_kubeconfig_exec_refresh(&kc, true, 1796644800000LL, &changed, err, sizeof(err)), 0);
	assert_int_equal(count_runs(), 3);
	assert_false(changed); /* same token */
	/* the token is never logged */
	f = open_memstream(&out, &len);
	wk_log_set_stream(f);
	wk_log_init(NULL, WK_LOG_INFO);
	wk_info("token %s", kc.token);
	wk_log_init(NULL, WK_LOG_ERROR);
	wk_log_set_stream(NULL);
	fclose(f);
	assert_null(strstr(out, "exec-token-777"));
	free(out);
	free(info);
	free(argv);
	wk_kubeconfig_release(&kc);
	/* no expirationTimestamp: cached for the life of the process */
	unlink(path_of("count"));
	plugin("plug2.sh",
	       "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
	       "\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"t2-abcd\"}}'");
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD
				   "      command: ./plug2.sh\n"
				   "      apiVersion: client.authentication.k8s.io/v1beta1\n",
				   err, sizeof(err)),
			 0);
	assert_int_equal(kc.token_expiry_ms, 0);
	assert_int_equal(
	    wk_kubeconfig_exec_refresh(&kc, false, 4070908800000LL, &changed, err, sizeof(err)), 0);
	assert_int_equal(count_runs(), 1);
	wk_kubeconfig_release(&kc);
}

static void exec_plugin_failures(void **state)
{
	struct wk_kubeconfig kc;
	char err[512];
	static const struct {
		const char *body, *want;
	} bad[] = {
	    {"exit 3", "failed: exit status 3"},
	    {"echo 'not json secret-abc'", "did not print an ExecCredential"},
	    {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/"
	     "v1beta1\",\"status\":{\"token\":\"x1234\"}}'",
	     "plugin returned version client.authentication.k8s.io/v1beta1"},
	    {"echo "
	     "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}'",
	     "didn't return a status field"},
	    {"echo "
	     "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	     "\"status\":{}}'",
	     "didn't return a token or cert/key pair"},
	    {"echo "
	     "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	     "\"status\":{\"clientKeyData\":\"k\"}}'",
	     "only certificate or key"},
	    {"echo "
	     "'{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
	     "\"status\":{\"token\":\"tok-zzz\",\"expirationTimestamp\":\"soon\"}}'",
	     "expirationTimestamp is not RFC 3339"},
	    {"head -c 1100000 /dev/zero | tr '\\\\0' a", "output over 1048576 bytes"},
	};
	char yaml[1024];

	(void)state;
	for (size_t i = 0; i < WK_ARRAY_SIZE(bad); i++) {
		plugin("bad.sh", bad[i].body);
		err[0] = 0;
		assert_int_equal(load_file(&kc,
					   EXEC_HEAD
					   "      command: ./bad.sh\n"
					   "      apiVersion: client.authentication.k8s.io/v1\n"
					   "      interactiveMode: Never\n",
					   err, sizeof(err)),
				 -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, bad[i].want);
		assert_null(strstr(err, "secret-abc")); /* output never quoted */
		assert_null(kc.token);
	}
	/* a command that does not exist: the install hint is shown */
	snprintf(yaml, sizeof(yaml),
		 EXEC_HEAD "      command: wk-no-such-plugin-xyz\n"
			   "      apiVersion: client.authentication.k8s.io/v1\n"
			   "      interactiveMode: IfAvailable\n"
			   "      installHint: install it with apt\n");
	assert_int_equal(load_file(&kc, yaml, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "install it with apt"));
	/* Always cannot be honoured without a terminal */
	plugin("ok.sh", "echo ok");
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD "      command: ./ok.sh\n"
					     "      apiVersion: client.authentication.k8s.io/v1\n"
					     "      interactiveMode: Always\n",
				   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot support interactive mode"));
	/* hostile shapes */
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD "      command: ./ok.sh\n"
					     "      apiVersion: client.authentication.k8s.io/v1\n"
					     "      interactiveMode: Sometimes\n",
				   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "Never, IfAvailable or Always"));
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD "      command: ./ok.sh\n"
					     "      apiVersion: client.authentication.k8s.io/v1\n"
					     "      interactiveMode: Never\n      args: notalist\n",
				   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "args must be a list"));
	assert_int_equal(load_file(&kc,
				   EXEC_HEAD
				   "      command: ./ok.sh\n"
				   "      apiVersion: client.authentication.k8s.io/v1\n"
				   "      interactiveMode: Never\n      env: [{value: x}]\n",
				   err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "env entries need a name"));
	assert_int_equal(load_file(&kc, EXEC_HEAD "      - 1\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exec must be a map"));
}

static void in_cluster(void **state)
{
	struct wk_kubeconfig kc;
	char err[512], sa[300];

	(void)state;
	snprintf(sa, sizeof(sa), "%s/sa", dir);
	mkdir(sa, 0700);
	write_str("sa/token", "sa-token-value\n");
	write_str("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	write_str("sa/namespace", "wukong-system\n");
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://10.96.0.1:443");
	assert_string_equal(kc.token, "sa-token-value");
	assert_string_equal(kc.namespace, "wukong-system");
	assert_non_null(strstr(kc.ca_file, "sa/ca.crt"));
	wk_kubeconfig_release(&kc);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://[fd00::1]:443");
	wk_kubeconfig_release(&kc);
	setenv("KUBERNETES_SERVICE_HOST", "evil/../x", 1);
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), -1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443x", 1);
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), -1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	unlink(path_of("sa/token"));
	assert_int_equal(wk_kubeconfig_in_cluster(&kc, sa, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "token"));
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_current_context),
	    cmocka_unit_test(named_context_and_insecure),
	    cmocka_unit_test(token_is_a_registered_secret),
	    cmocka_unit_test(missing_fields),
	    cmocka_unit_test(bad_values),
	    cmocka_unit_test(insecure_false_is_false),
	    cmocka_unit_test(garbage_yaml),
	    cmocka_unit_test(deep_nesting),
	    cmocka_unit_test(size_cap),
	    cmocka_unit_test(files_relative_paths_and_token_file),
	    cmocka_unit_test(hostile_paths),
	    cmocka_unit_test(token_file_cap),
	    cmocka_unit_test(base64),
	    cmocka_unit_test(kubeconfig_list_merge),
	    cmocka_unit_test(exec_plugin),
	    cmocka_unit_test(exec_plugin_failures),
	    cmocka_unit_test(in_cluster),
	};
	wk_log_init("test", WK_LOG_ERROR);
	return cmocka_run_group_tests_name("wk_kubeconfig", tests, setup, teardown);
}
