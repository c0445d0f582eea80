/* wk_config.h - service configuration: a YAML file, then WUKONG_* environment, then -X key=value.
 *
 * Nested YAML maps flatten to dotted keys (`kafka: {bootstrap.servers: x}` ->
 * "kafka.bootstrap.servers"); a sequence of scalars becomes one comma-separated value. Keys under
 * "kafka." pass verbatim to librdkafka. Environment: WUKONG_CLUSTER_ID=x sets "cluster.id" (upper
 * case, '_' for '.', "__" for '-': WUKONG_HTTP_ADDR__FILE sets "http.addr-file"), except
 * WUKONG_CONFIG (the file's path) and WUKONG_DIR. Later sources override earlier ones. Within one
 * file a key may appear only once (also through flattening: `a: {b: 1}` plus `a.b: 2` is a
 * duplicate); YAML aliases are refused (no alias expansion, so no "billion laughs"); a null scalar
 * (`key:`, `~`) sets "". Errors read "file:line: message". The config owns every string it
 * returns; they live until the next set of the same key or wk_config_destroy(). Not thread-safe:
 * load before starting threads.
 */
#ifndef WK_CONFIG_H
#define WK_CONFIG_H

#include "wk_common.h"

struct wk_config;

struct wk_config *wk_config_new(void);
void wk_config_destroy(struct wk_config *cfg);

/* Documented caps: file 1 MiB, key 256 bytes, value 64 KiB, 4096 keys, nesting depth 16. */
int wk_config_load_file(struct wk_config *cfg, const char *path, char *errstr, size_t errstr_size);
/* Same, from a string; `name` stands in for the file name in errors. */
int wk_config_load_string(struct wk_config *cfg, const char *name, const char *yaml, char *errstr,
			  size_t errstr_size);
/* Apply WUKONG_* variables from envp (NULL = environ). */
int wk_config_load_env(struct wk_config *cfg, char **envp, char *errstr, size_t errstr_size);
/* One "key=value" (a -X argument). */
int wk_config_set_arg(struct wk_config *cfg, const char *arg, char *errstr, size_t errstr_size);
void wk_config_set(struct wk_config *cfg, const char *key, const char *value);

/* The value, or def when unset. */
const char *wk_config_get(const struct wk_config *cfg, const char *key, const char *def);
/* Typed getters: 0 and *out set (def when unset), or -1 with "origin: key 'k': reason". */
int wk_config_get_int(const struct wk_config *cfg, const char *key, long long def, long long *out,
		      char *errstr, size_t errstr_size);
int wk_config_get_bool(const struct wk_config *cfg, const char *key, bool def, bool *out,
		       char *errstr, size_t errstr_size);
/* Durations: "250ms", "10s", "5m", "1h", or a bare number of milliseconds. */
int wk_config_get_duration_ms(const struct wk_config *cfg, const char *key, long long def,
			      long long *out, char *errstr, size_t errstr_size);
/* Where a key's value came from: "file.yaml:12", "env WUKONG_X", "-X", or NULL when unset. */
const char *wk_config_origin(const struct wk_config *cfg, const char *key);
/* Call cb(key with the prefix stripped, value) for every key starting with prefix, in key order;
 * stops at and returns the first non-zero cb result. */
int wk_config_foreach(const struct wk_config *cfg, const char *prefix,
		      int (*cb)(const char *key, const char *value, void *opaque), void *opaque);

#endif
