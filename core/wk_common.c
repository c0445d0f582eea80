/* wk_common.c - allocation wrappers and small string helpers shared by every module. */
#include "wk_common.h"

#include <stdarg.h>

static WK_NORETURN void oom(size_t n)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes\"}\n",
		n);
	abort();
}

void *wk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *wk_xcalloc(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);

	if (!p)
		oom(nmemb * n);
	return p;
}

void *wk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *wk_xstrdup(const char *s)
{
	return wk_xstrndup(s, strlen(s));
}

char *wk_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = wk_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *wk_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}

bool wk_strlcpy(char *dst, const char *src, size_t dst_size)
{
	size_t len = strlen(src);

	if (dst_size == 0)
		return false;
	if (len >= dst_size) {
		memcpy(dst, src, dst_size - 1);
		dst[dst_size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

int wk_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	va_list ap;

	if (errstr && errstr_size) {
		va_start(ap, fmt);
		vsnprintf(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int wk_vcode_msg(char *code, size_t code_size, char *msg, size_t msg_size, const char *c,
		 const char *fmt, va_list ap)
{
	wk_strlcpy(code, c, code_size);
	vsnprintf(msg, msg_size, fmt, ap);
	return -1;
}

int wk_code_msg(char *code, size_t code_size, char *msg, size_t msg_size, const char *c,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wk_vcode_msg(code, code_size, msg, msg_size, c, fmt, ap);
	va_end(ap);
	return -1;
}
