/* wk_kubeconfig_io.c - capped reads of credential files and base64 decoding (OpenSSL). */
#include "wk_kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

int wk_read_file_capped(const char *path, size_t cap, char **out, size_t *len, char *errstr,
			size_t errstr_size)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd;

	/* O_NONBLOCK so that a FIFO named by mistake (or malice) cannot hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		wk_err(errstr, errstr_size, "cannot open '%s': %s", path, strerror(e));
		errno = e; /* callers tell a missing file apart */
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return wk_err(errstr, errstr_size, "'%s' is not a regular file", path);
	}
	if ((uint64_t)st.st_size > cap) {
		close(fd);
		return wk_err(errstr, errstr_size, "'%s' is larger than the %zu-byte cap", path,
			      cap);
	}
	buf = wk_xmalloc(cap + 2);
	for (;;) {
		ssize_t n = read(fd, buf + got, cap + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			free(buf);
			return wk_err(errstr, errstr_size, "cannot read '%s': %s", path,
				      strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > cap) { /* the file grew after fstat */
			close(fd);
			free(buf);
			return wk_err(errstr, errstr_size, "'%s' is larger than the %zu-byte cap",
				      path, cap);
		}
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

int wk_base64_decode(const char *in, size_t in_len, size_t cap, char **out, size_t *out_len,
		     char *errstr, size_t errstr_size)
{
	char *clean = wk_xmalloc(in_len + 1);
	size_t n = 0, pad = 0, dlen;
	char *dec;
	int r;

	for (size_t i = 0; i < in_len; i++) {
		if (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t')
			continue;
		clean[n++] = in[i];
	}
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || n > INT32_MAX) {
		free(clean);
		return wk_err(errstr, errstr_size,
			      "invalid base64: length %zu is not a multiple of 4", n);
	}
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	dlen = n / 4 * 3 - pad;
	if (dlen > cap) {
		free(clean);
		return wk_err(errstr, errstr_size, "decoded data is larger than the %zu-byte cap",
			      cap);
	}
	dec = wk_xmalloc(n / 4 * 3 + 1);
	/* EVP_DecodeBlock rejects characters outside the alphabet, but accepts '=' in the middle
	 * as data; check that ourselves. */
	r = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)clean, (int)n);
	for (size_t i = 0; i < n - pad && r >= 0; i++)
		if (clean[i] == '=')
			r = -1;
	free(clean);
	if (r < 0) {
		free(dec);
		return wk_err(errstr, errstr_size, "invalid base64");
	}
	dec[dlen] = '\0';
	*out = dec;
	*out_len = dlen;
	return 0;
}
