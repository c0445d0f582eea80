/* wk_uuid.h - the one UUID source: random (version 4, RFC 4122 variant) ids, written into a
 * caller-owned buffer. */
#ifndef WK_UUID_H
#define WK_UUID_H

#include "wk_common.h"

#define WK_UUID_LEN 36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex */

/* From OpenSSL's RNG, the kernel's getrandom(2) if that fails; aborts if neither gives bytes
 * (an id that might repeat is worse than a restart). out gets 36 characters and a NUL. */
void wk_uuid_v4(char out[WK_UUID_LEN + 1]);
/* Whether s is a UUID in that canonical form (any version, either case). */
bool wk_uuid_is_valid(const char *s);

#endif
