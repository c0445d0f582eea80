/* test_wk_config.c - YAML loading, flattening, overrides, typed getters, caps and hostile YAML. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "wk_config.h"
#include "wk_buf.h"

static struct wk_config *load_ok(const char *yaml)
{
	struct wk_config *cfg = wk_config_new();
	char err[512];

	if (wk_config_load_string(cfg, "config.yaml", yaml, err, sizeof(err)) < 0)
		fail_msg("load failed: %s", err);
	return cfg;
}

static void load_bad(const char *yaml, const char *want)
{
	struct wk_config *cfg = wk_config_new();
	char err[512] = "";

	assert_int_equal(wk_config_load_string(cfg, "config.yaml", yaml, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	wk_config_destroy(cfg);
}

static void flattening(void **state)
{
	struct wk_config *cfg = load_ok("# comment\n"
					"cluster:\n"
					"  id: c1\n"
					"kafka:\n"
					"  bootstrap.servers: 127.0.0.1:9092\n"
					"  session.timeout.ms: 6000\n"
					"topics: {prefix: wk}\n"
					"list: [a, b, 'c d']\n"
					"block:\n"
					"  - x\n"
					"  - y\n"
					"quoted: \"a\\tb\"\n"
					"nothing:\n"
					"tilde: ~\n"
					"emptymap: {}\n"
					"emptylist: []\n"
					"multi: |\n"
					"  line1\n"
					"  line2\n");

	(void)state;
	assert_string_equal(wk_config_get(cfg, "cluster.id", NULL), "c1");
	assert_string_equal(wk_config_get(cfg, "kafka.bootstrap.servers", NULL), "127.0.0.1:9092");
	assert_string_equal(wk_config_get(cfg, "kafka.session.timeout.ms", NULL), "6000");
	assert_string_equal(wk_config_get(cfg, "topics.prefix", NULL), "wk");
	assert_string_equal(wk_config_get(cfg, "list", NULL), "a,b,c d");
	assert_string_equal(wk_config_get(cfg, "block", NULL), "x,y");
	assert_string_equal(wk_config_get(cfg, "quoted", NULL), "a\tb");
	assert_string_equal(wk_config_get(cfg, "nothing", "def"), "");
	assert_string_equal(wk_config_get(cfg, "tilde", "def"), "");
	assert_string_equal(wk_config_get(cfg, "emptylist", "def"), "");
	assert_string_equal(wk_config_get(cfg, "emptymap", "def"), "def");
	assert_string_equal(wk_config_get(cfg, "multi", NULL), "line1\nline2\n");
	assert_string_equal(wk_config_get(cfg, "missing", "def"), "def");
	assert_null(wk_config_get(cfg, "cluster", NULL));
	assert_string_equal(wk_config_origin(cfg, "cluster.id"), "config.yaml:3");
	assert_string_equal(wk_config_origin(cfg, "kafka.session.timeout.ms"), "config.yaml:6");
	assert_null(wk_config_origin(cfg, "missing"));
	wk_config_destroy(cfg);
	wk_config_destroy(NULL);
}

static void empty_inputs(void **state)
{
	struct wk_config *cfg;

	(void)state;
	cfg = load_ok("");
	assert_null(wk_config_get(cfg, "a", NULL));
	wk_config_destroy(cfg);
	cfg = load_ok("# only a comment\n");
	wk_config_destroy(cfg);
	cfg = load_ok("---\n...\n");
	wk_config_destroy(cfg);
	cfg = load_ok("{}");
	wk_config_destroy(cfg);
}

static void overrides(void **state)
{
	struct wk_config *cfg = load_ok("cluster:\n  id: file\nlog:\n  level: info\n");
	char *envp[] = {(char *)"WUKONG_CLUSTER_ID=env",
			(char *)"WUKONG_HTTP_ADDR__FILE=/tmp/addr",
			(char *)"WUKONG_CONFIG=/etc/ignored.yaml",
			(char *)"WUKONG_DIR=/ignored",
			(char *)"WUKONG_=ignored",
			(char *)"PATH=/usr/bin",
			(char *)"WUKONGX=nope",
			(char *)"WUKONG_KAFKA_BOOTSTRAP_SERVERS=h:1",
			NULL};
	char err[256];

	(void)state;
	assert_int_equal(wk_config_load_env(cfg, envp, err, sizeof(err)), 0);
	assert_string_equal(wk_config_get(cfg, "cluster.id", NULL), "env");
	assert_string_equal(wk_config_origin(cfg, "cluster.id"), "env WUKONG_CLUSTER_ID");
	assert_string_equal(wk_config_get(cfg, "http.addr-file", NULL), "/tmp/addr");
	assert_string_equal(wk_config_get(cfg, "kafka.bootstrap.servers", NULL), "h:1");
	assert_null(wk_config_get(cfg, "config", NULL));
	assert_null(wk_config_get(cfg, "dir", NULL));
	assert_string_equal(wk_config_get(cfg, "log.level", NULL), "info");
	assert_int_equal(wk_config_set_arg(cfg, "cluster.id=cli", err, sizeof(err)), 0);
	assert_int_equal(wk_config_set_arg(cfg, "x=a=b", err, sizeof(err)), 0);
	assert_int_equal(wk_config_set_arg(cfg, "empty=", err, sizeof(err)), 0);
	assert_string_equal(wk_config_get(cfg, "cluster.id", NULL), "cli");
	assert_string_equal(wk_config_origin(cfg, "cluster.id"), "-X");
	assert_string_equal(wk_config_get(cfg, "x", NULL), "a=b");
	assert_string_equal(wk_config_get(cfg, "empty", NULL), "");
	wk_config_set(cfg, "cluster.id", "code");
	assert_string_equal(wk_config_get(cfg, "cluster.id", NULL), "code");
	/* A second file replaces values of the first without a duplicate error. */
	assert_int_equal(
	    wk_config_load_string(cfg, "two.yaml", "log: {level: debug}\n", err, sizeof(err)), 0);
	assert_string_equal(wk_config_get(cfg, "log.level", NULL), "debug");
	assert_string_equal(wk_config_origin(cfg, "log.level"), "two.yaml:1");
	assert_int_equal(wk_config_set_arg(cfg, "novalue", err, sizeof(err)), -1);
	assert_string_equal(err, "-X 'novalue': expected key=value");
	assert_int_equal(wk_config_set_arg(cfg, "=v", err, sizeof(err)), -1);
	assert_string_equal(err, "-X: empty key");
	assert_int_equal(wk_config_set_arg(cfg, "a b=v", err, sizeof(err)), -1);
	assert_int_equal(wk_config_set_arg(cfg, "a..b=v", err, sizeof(err)), -1);
	assert_int_equal(wk_config_set_arg(cfg, ".a=v", err, sizeof(err)), -1);
	wk_config_destroy(cfg);
}

static void env_hostile(void **state)
{
	struct wk_config *cfg = wk_config_new();
	char big[300], err[256];
	char *envp[] = {big, NULL};
	char *envp2[] = {(char *)"WUKONG_A\x01=x", NULL};

	(void)state;
	memcpy(big, "WUKONG_", 7);
	memset(big + 7, 'A', 257);
	strcpy(big + 7 + 257, "=v");
	assert_int_equal(wk_config_load_env(cfg, envp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 256 bytes"));
	assert_int_equal(wk_config_load_env(cfg, envp2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside printable ASCII"));
	wk_config_destroy(cfg);
}

static void typed_getters(void **state)
{
	struct wk_config *cfg = load_ok("n: 42\n"
					"neg: -7\n"
					"big: 99999999999999999999\n"
					"word: abc\n"
					"trail: 12x\n"
					"sp: ' 12'\n"
					"t: yes\n"
					"f: Off\n"
					"b: maybe\n"
					"d1: 250ms\n"
					"d2: 10s\n"
					"d3: 5m\n"
					"d4: 1h\n"
					"d5: 1500\n"
					"d6: 1.5s\n"
					"d7: 10 s\n"
					"d8: 999999999999999999h\n"
					"d9: -5s\n");
	long long v;
	bool b;
	char err[256];

	(void)state;
	assert_int_equal(wk_config_get_int(cfg, "n", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(wk_config_get_int(cfg, "neg", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, -7);
	assert_int_equal(wk_config_get_int(cfg, "unset", 5, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5);
	assert_int_equal(wk_config_get_int(cfg, "word", 0, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "config.yaml:4: key 'word': 'abc' is not an integer");
	assert_int_equal(wk_config_get_int(cfg, "trail", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(wk_config_get_int(cfg, "sp", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(wk_config_get_int(cfg, "big", 0, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "in range"));
	assert_int_equal(wk_config_get_bool(cfg, "t", false, &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(wk_config_get_bool(cfg, "f", true, &b, err, sizeof(err)), 0);
	assert_false(b);
	assert_int_equal(wk_config_get_bool(cfg, "unset", true, &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(wk_config_get_bool(cfg, "b", true, &b, err, sizeof(err)), -1);
	assert_string_equal(err, "config.yaml:9: key 'b': 'maybe' is not a boolean (true/false)");
	assert_int_equal(wk_config_get_duration_ms(cfg, "d1", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 250);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d2", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d3", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d4", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d5", 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(wk_config_get_duration_ms(cfg, "unset", 77, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 77);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d6", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d7", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(wk_config_get_duration_ms(cfg, "d8", 0, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "in range"));
	assert_int_equal(wk_config_get_duration_ms(cfg, "d9", 0, &v, err, sizeof(err)), -1);
	assert_int_equal(wk_config_get_duration_ms(cfg, "word", 0, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "config.yaml:4: key 'word': 'abc' is not a duration (250ms, 10s, "
				 "5m, 1h)");
	wk_config_destroy(cfg);
}

static int collect(const char *key, const char *value, void *opaque)
{
	struct wk_buf *b = opaque;

	assert_int_equal(wk_buf_addf(b, "%s=%s;", key, value), 0);
	return strcmp(key, "stop") == 0 ? 9 : 0;
}

static void foreach (void **state)
{
	struct wk_config *cfg = load_ok("kafka:\n  z: 1\n  a.b: 2\n  m: 3\nkafkax: 4\nk: 5\n");
	struct wk_buf b;

	(void)state;
	wk_buf_init(&b, 0);
	assert_int_equal(wk_config_foreach(cfg, "kafka.", collect, &b), 0);
	assert_string_equal(wk_buf_str(&b), "a.b=2;m=3;z=1;");
	wk_buf_reset(&b);
	assert_int_equal(wk_config_foreach(cfg, "nothing.", collect, &b), 0);
	assert_int_equal(b.len, 0);
	wk_config_set(cfg, "kafka.stop", "x");
	assert_int_equal(wk_config_foreach(cfg, "kafka.", collect, &b), 9);
	assert_string_equal(wk_buf_str(&b), "a.b=2;m=3;stop=x;");
	wk_buf_release(&b);
	wk_config_destroy(cfg);
}

static void malformed(void **state)
{
	(void)state;
	load_bad("- a\n- b\n", "config.yaml:1: expected a mapping");
	load_bad("just a string\n", "config.yaml:1: expected a mapping");
	load_bad("a: 1\nb: [1, 2\n", "config.yaml:3:");
	load_bad("a: 1\n  b: 2\n", "config.yaml:2: mapping values are not allowed");
	load_bad("a: 'unterminated\n", "config.yaml:2: found unexpected end of stream");
	load_bad("a: \"bad \\q escape\"\n", "config.yaml:1:");
	load_bad("a:\tb: c\n", "config.yaml:1:");
	load_bad("\x01\x02\x03", "config.yaml:1:");
	load_bad("a: 1\n---\nb: 2\n", "config.yaml:2: more than one YAML document");
	load_bad("? [a, b]\n: c\n", "config.yaml:1: expected a scalar key");
	load_bad("a: [[1], 2]\n", "config.yaml:1: key 'a': sequence items must be scalars");
	load_bad("a: [{b: 1}]\n", "sequence items must be scalars");
	load_bad("a: 1\nb: 2\na: 3\n",
		 "config.yaml:3: duplicate key 'a' (first set at config.yaml:1)");
	load_bad("a:\n  b: 1\na.b: 2\n", "config.yaml:3: duplicate key 'a.b'");
	load_bad("\"\": 1\n", "config.yaml:1: empty key");
	load_bad("a b: 1\n", "outside printable ASCII");
	load_bad("a=b: 1\n", "outside printable ASCII");
	load_bad(".a: 1\n", "empty part");
	load_bad("a: \"x\\0y\"\n", "config.yaml:1: key 'a': value contains a NUL byte");
	load_bad("a: \xff\xfe\n", "config.yaml:1:");
}

static void aliases(void **state)
{
	(void)state;
	load_bad("base: &b x\ncopy: *b\n", "config.yaml:2: aliases are not supported ('*b')");
	load_bad("a: &m {x: 1}\nb: *m\n", "aliases are not supported");
	load_bad("a: &s [1]\nb: [*s]\n", "aliases are not supported");
	load_bad("a: &k k\n*k : 1\n", "aliases are not supported");
	/* The classic billion laughs: refused at the first alias, long before any expansion. */
	load_bad("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		 "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		 "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		 "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
		 "config.yaml:2: aliases are not supported ('*a')");
}

static char *nested(int depth)
{
	struct wk_buf b;
	int i;

	wk_buf_init(&b, 0);
	for (i = 0; i < depth; i++)
		assert_int_equal(wk_buf_addf(&b, "%*sk:\n", i * 2, ""), 0);
	assert_int_equal(wk_buf_addf(&b, "%*sleaf: 1\n", depth * 2, ""), 0);
	return wk_buf_take(&b, NULL);
}

static void caps(void **state)
{
	struct wk_config *cfg;
	struct wk_buf b;
	char *y;
	int i;

	(void)state;
	/* Depth: 15 nested maps plus the root = 16 levels are fine; one more is not. */
	y = nested(15);
	cfg = load_ok(y);
	assert_non_null(wk_config_get(cfg, "k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.leaf", NULL));
	wk_config_destroy(cfg);
	free(y);
	y = nested(16);
	load_bad(y, "config.yaml:17: nesting deeper than 16 levels");
	free(y);
	/* Deep hostile nesting stops at the cap, no recursion blow-up. */
	wk_buf_init(&b, 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(wk_buf_adds(&b, "{k: "), 0);
	load_bad(wk_buf_str(&b), "nesting deeper than 16 levels");
	wk_buf_release(&b);
	load_bad(
	    "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]\n",
	    "sequence items must be scalars");

	/* Key: 256 bytes, then 257 (counting the flattened prefix). */
	wk_buf_init(&b, 0);
	assert_int_equal(wk_buf_adds(&b, "p:\n  "), 0);
	for (i = 0; i < 254; i++)
		assert_int_equal(wk_buf_adds(&b, "k"), 0);
	assert_int_equal(wk_buf_adds(&b, ": v\n"), 0);
	cfg = load_ok(wk_buf_str(&b));
	wk_config_destroy(cfg);
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "p:\n  "), 0);
	for (i = 0; i < 255; i++)
		assert_int_equal(wk_buf_adds(&b, "k"), 0);
	assert_int_equal(wk_buf_adds(&b, ": v\n"), 0);
	load_bad(wk_buf_str(&b), "config.yaml:2: key longer than 256 bytes");

	/* Value: 64 KiB, then 64 KiB + 1 (also as a joined sequence). */
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "v: "), 0);
	for (i = 0; i < 65536; i++)
		assert_int_equal(wk_buf_adds(&b, "x"), 0);
	cfg = load_ok(wk_buf_str(&b));
	assert_int_equal(strlen(wk_config_get(cfg, "v", "")), 65536);
	wk_config_destroy(cfg);
	assert_int_equal(wk_buf_adds(&b, "x"), 0);
	load_bad(wk_buf_str(&b), "config.yaml:1: key 'v': value longer than 65536 bytes");
	wk_buf_reset(&b);
	assert_int_equal(wk_buf_adds(&b, "v: ["), 0);
	for (i = 0; i < 40000; i++)
		assert_int_equal(wk_buf_adds(&b, i ? ",x" : "x"), 0);
	assert_int_equal(wk_buf_adds(&b, "]\n"), 0);
	load_bad(wk_buf_str(&b), "value longer than 65536 bytes");

	/* Keys: 4096, then 4097. */
	wk_buf_reset(&b);
	for (i = 0; i < 4096; i++)
		assert_int_equal(wk_buf_addf(&b, "k%d: v\n", i), 0);
	cfg = load_ok(wk_buf_str(&b));
	assert_string_equal(wk_config_get(cfg, "k4095", NULL), "v");
	{
		char err[128];

		/* The cap holds for overrides too. */
		assert_int_equal(wk_config_set_arg(cfg, "one.more=x", err, sizeof(err)), -1);
		assert_string_equal(err, "-X: more than 4096 keys");
		assert_int_equal(wk_config_set_arg(cfg, "k1=replaced", err, sizeof(err)), 0);
	}
	wk_config_destroy(cfg);
	assert_int_equal(wk_buf_adds(&b, "k4096: v\n"), 0);
	load_bad(wk_buf_str(&b), "config.yaml:4097: more than 4096 keys");
	wk_buf_release(&b);
}

static void files(void **state)
{
	char path[] = "/tmp/wk-config-test.XXXXXX", err[512];
	struct wk_config *cfg = wk_config_new();
	char *big;
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(wk_config_load_file(cfg, "/nonexistent/wukong.yaml", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "cannot open config '/nonexistent/wukong.yaml': No such file or "
				 "directory");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("cluster:\n  id: from-file\n", f);
	fclose(f);
	assert_int_equal(wk_config_load_file(cfg, path, err, sizeof(err)), 0);
	assert_string_equal(wk_config_get(cfg, "cluster.id", NULL), "from-file");
	assert_non_null(strstr(wk_config_origin(cfg, "cluster.id"), ":2"));
	assert_int_equal(strncmp(wk_config_origin(cfg, "cluster.id"), path, strlen(path)), 0);

	/* 1 MiB exactly (a comment padding the file) loads; one byte more does not. */
	big = wk_xmalloc(1024 * 1024 + 2);
	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '#';
	big[1024 * 1024 - 1] = '\n';
	big[1024 * 1024] = '\0';
	f = fopen(path, "w");
	fputs(big, f);
	fclose(f);
	assert_int_equal(wk_config_load_file(cfg, path, err, sizeof(err)), 0);
	f = fopen(path, "a");
	fputs("\n", f);
	fclose(f);
	assert_int_equal(wk_config_load_file(cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	/* Truncated YAML in a file reports the file's name. */
	f = fopen(path, "w");
	fputs("a:\n  b: [1,\n", f);
	fclose(f);
	assert_int_equal(wk_config_load_file(cfg, path, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(wk_config_load_file(cfg, "/", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read config '/'"));
	unlink(path);
	free(big);
	wk_config_destroy(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(flattening),    cmocka_unit_test(empty_inputs),
	    cmocka_unit_test(overrides),     cmocka_unit_test(env_hostile),
	    cmocka_unit_test(typed_getters), cmocka_unit_test(foreach),
	    cmocka_unit_test(malformed),     cmocka_unit_test(aliases),
	    cmocka_unit_test(caps),	     cmocka_unit_test(files),
	};

	return cmocka_run_group_tests_name("wk_config", tests, NULL, NULL);
}
