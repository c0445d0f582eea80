/* wk_uuid.c - random UUIDs. */
#include "wk_uuid.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <sys/random.h>

void wk_uuid_v4(char out[WK_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* OpenSSL's RNG can fail to seed in odd sandboxes; the kernel's is the same source.
		 */
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			abort();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, WK_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

bool wk_uuid_is_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < WK_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[WK_UUID_LEN] == '\0';
}
