/* wk_common.h - first include of every core and service file: feature macros, attributes, xmalloc.
 */
#ifndef WK_COMMON_H
#define WK_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WK_NODISCARD __attribute__((warn_unused_result))
#define WK_UNUSED __attribute__((unused))
#define WK_NORETURN __attribute__((noreturn))
#define WK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure aborts: a daemon that Kubernetes restarts is better dead than half-alive. */
void *wk_xmalloc(size_t n);
void *wk_xcalloc(size_t nmemb, size_t n);
void *wk_xrealloc(void *p, size_t n);
char *wk_xstrdup(const char *s);
char *wk_xstrndup(const char *s, size_t n);
char *wk_xasprintf(const char *fmt, ...) WK_PRINTF(1, 2);

/* Copy src into dst of size dst_size, always NUL-terminated; returns true if it fitted. */
bool wk_strlcpy(char *dst, const char *src, size_t dst_size);

/* Fill errstr (may be NULL) like snprintf and return -1: `return wk_err(errstr, size, "...")`. */
int wk_err(char *errstr, size_t errstr_size, const char *fmt, ...) WK_PRINTF(3, 4);

/* Fill a (code, message) pair such as a validation verdict: code copied, message formatted, both
 * cut to their sizes; returns -1: `return wk_code_msg(v->code, sizeof(v->code), v->message,
 * sizeof(v->message), "SchemaViolation", "...")`. */
int wk_code_msg(char *code, size_t code_size, char *msg, size_t msg_size, const char *c,
		const char *fmt, ...) WK_PRINTF(6, 7);
int wk_vcode_msg(char *code, size_t code_size, char *msg, size_t msg_size, const char *c,
		 const char *fmt, va_list ap) WK_PRINTF(6, 0);

#endif
