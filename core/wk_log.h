/* wk_log.h - levelled structured logs: one JSON object per line on stderr, secrets redacted.
 *
 * Each line has ts, level, svc, msg and, when given, key (the object the line is about). The level
 * check happens before any formatting (redis serverLog). Strings registered with
 * wk_log_add_secret() (bearer tokens, client keys, SASL passwords) and anything following
 * "Bearer " are replaced by "[REDACTED]" wherever they appear. Safe to call from any thread.
 */
#ifndef WK_LOG_H
#define WK_LOG_H

#include "wk_common.h"

enum wk_log_level {
	WK_LOG_DEBUG = 0,
	WK_LOG_INFO,
	WK_LOG_WARN,
	WK_LOG_ERROR,
	WK_LOG_FATAL,
};

extern enum wk_log_level wk_log_min_level;

/* svc is copied; a NULL svc keeps the current name ("wukong" by default). */
void wk_log_init(const char *svc, enum wk_log_level min_level);
/* 0, or -1 for an unknown level name (debug, info, warn, error, fatal). */
int wk_log_level_parse(const char *name, enum wk_log_level *out);
const char *wk_log_level_name(enum wk_log_level level);
/* Remember a secret so that it never appears in a log line (copied; strings under 4 bytes ignored).
 * Up to 64 are kept; past that the one added (or re-added) longest ago is replaced, with a warning. */
void wk_log_add_secret(const char *secret);
void wk_log_clear_secrets(void);
/* Redirect output (tests); NULL restores stderr. */
void wk_log_set_stream(FILE *f);

void wk_log_emit(enum wk_log_level level, const char *key, const char *fmt, ...) WK_PRINTF(3, 4);

#define wk_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) >= wk_log_min_level)                                                   \
			wk_log_emit((level), NULL, __VA_ARGS__);                                   \
	} while (0)
/* Same, about one object: key is "<cluster>/<ns>/<name>" or similar. */
#define wk_logk(level, key, ...)                                                                   \
	do {                                                                                       \
		if ((level) >= wk_log_min_level)                                                   \
			wk_log_emit((level), (key), __VA_ARGS__);                                  \
	} while (0)

#define wk_debug(...) wk_log(WK_LOG_DEBUG, __VA_ARGS__)
#define wk_info(...) wk_log(WK_LOG_INFO, __VA_ARGS__)
#define wk_warn(...) wk_log(WK_LOG_WARN, __VA_ARGS__)
#define wk_error(...) wk_log(WK_LOG_ERROR, __VA_ARGS__)

/* Log at fatal level and exit(code). Only main() and wk_service_main() may call it. */
WK_NORETURN void wk_die(int code, const char *fmt, ...) WK_PRINTF(2, 3);
#define WK_BUG(...) wk_die(70, "BUG: " __VA_ARGS__)

#endif
