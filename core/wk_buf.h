/* wk_buf.h - growable byte buffer with a hard size cap (curl dynbuf + git strbuf).
 *
 * Every buffer fed from the network is a wk_buf with a cap: appending past the cap fails with -1
 * and leaves the content as it was. Caller-owned: wk_buf_init()/wk_buf_release(). Don't touch the
 * members; `buf` is always NUL-terminated (when non-NULL) so it can be used as a C string.
 */
#ifndef WK_BUF_H
#define WK_BUF_H

#include "wk_common.h"

struct wk_buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap; /* maximum len; 0 = SIZE_MAX */
};

void wk_buf_init(struct wk_buf *b, size_t cap);
void wk_buf_release(struct wk_buf *b);
void wk_buf_reset(struct wk_buf *b);
/* 0, or -1 if the result would exceed the cap (buffer unchanged). */
int wk_buf_add(struct wk_buf *b, const void *data, size_t len) WK_NODISCARD;
int wk_buf_adds(struct wk_buf *b, const char *s) WK_NODISCARD;
int wk_buf_addf(struct wk_buf *b, const char *fmt, ...) WK_PRINTF(2, 3) WK_NODISCARD;
/* Remove the first n bytes. */
void wk_buf_consume(struct wk_buf *b, size_t n);
/* Hand the content to the caller (who frees it) and leave the buffer empty; never NULL. */
char *wk_buf_take(struct wk_buf *b, size_t *len);
const char *wk_buf_str(const struct wk_buf *b);

#endif
