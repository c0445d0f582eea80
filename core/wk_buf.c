/* wk_buf.c - growable byte buffer with a hard size cap. */
#include "wk_buf.h"

#include <stdarg.h>

void wk_buf_init(struct wk_buf *b, size_t cap)
{
	b->buf = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : SIZE_MAX - 1;
}

void wk_buf_release(struct wk_buf *b)
{
	if (!b)
		return;
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
}

void wk_buf_reset(struct wk_buf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

static void grow(struct wk_buf *b, size_t need)
{
	size_t n = b->alloc ? b->alloc : 64;

	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	b->buf = wk_xrealloc(b->buf, n);
	b->alloc = n;
}

int wk_buf_add(struct wk_buf *b, const void *data, size_t len)
{
	if (len > b->cap - b->len)
		return -1;
	if (b->len + len + 1 > b->alloc)
		grow(b, b->len + len + 1);
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int wk_buf_adds(struct wk_buf *b, const char *s)
{
	return wk_buf_add(b, s, strlen(s));
}

int wk_buf_addf(struct wk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > b->cap - b->len)
		return -1;
	if (b->len + (size_t)n + 1 > b->alloc)
		grow(b, b->len + (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void wk_buf_consume(struct wk_buf *b, size_t n)
{
	if (n >= b->len) {
		wk_buf_reset(b);
		return;
	}
	memmove(b->buf, b->buf + n, b->len - n);
	b->len -= n;
	b->buf[b->len] = '\0';
}

char *wk_buf_take(struct wk_buf *b, size_t *len)
{
	char *p = b->buf ? b->buf : wk_xstrdup("");

	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	return p;
}

const char *wk_buf_str(const struct wk_buf *b)
{
	return b->buf ? b->buf : "";
}
