/* wk_utf8.h - the one strict UTF-8 check (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF); pure functions over caller-owned bytes, nothing allocated. */
#ifndef WK_UTF8_H
#define WK_UTF8_H

#include "wk_common.h"

/* Length (1-4) of the valid UTF-8 sequence at s, reading at most n bytes; 0 if the bytes there
 * are not one (or n is 0). *cp (may be NULL) receives the code point of a valid sequence. */
size_t wk_utf8_seq(const char *s, size_t n, uint32_t *cp);
/* Whether the n bytes at s are all valid UTF-8 (NUL is a valid character here; n 0 is valid). */
bool wk_utf8_valid(const char *s, size_t n);

#endif
