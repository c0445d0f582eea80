/* wk_quantity.h - Kubernetes resource quantities ("64Mi", "800m", "4Gi", "1.5", "2e3", and the
 * nanocores metrics-server reports, "3250000000n"); input capped at 64 bytes, fractional results
 * rounded up away from zero as Quantity.Value() does. */
#ifndef WK_QUANTITY_H
#define WK_QUANTITY_H

#include "wk_common.h"

/* Parse into an integer number of milli-units (so "800m" -> 800, "2" -> 2000, "1Ki" -> 1024000).
 * -1 on malformed input or overflow (beyond int64 milli-units). */
int wk_quantity_parse_milli(const char *s, int64_t *milli, char *errstr, size_t errstr_size);
/* Parse a byte-like quantity rounded up to whole units ("4Gi" -> 4294967296, "1500m" -> 2). */
int wk_quantity_parse(const char *s, int64_t *value, char *errstr, size_t errstr_size);
/* Canonical form as Kubernetes prints it for memory-like values ("4Gi", "1536Mi", "1000"). */
void wk_quantity_format_bytes(int64_t bytes, char *out, size_t out_size);
/* CPU milli-units as "500m" or "2". */
void wk_quantity_format_milli(int64_t milli, char *out, size_t out_size);

#endif
