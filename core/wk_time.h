/* wk_time.h - RFC 3339 timestamps (Kubernetes Time and MicroTime) and monotonic clocks. */
#ifndef WK_TIME_H
#define WK_TIME_H

#include "wk_common.h"

/* Milliseconds since the epoch (wall clock) and since an arbitrary point (monotonic). */
int64_t wk_time_now_ms(void);
int64_t wk_time_mono_ms(void);
/* "2024-01-02T03:04:05Z" (Time) into out (>= 21 bytes). */
void wk_time_format(int64_t epoch_ms, char *out, size_t out_size);
/* "2024-01-02T03:04:05.123456Z" (MicroTime, 6 digits, as Leases and Events use) into out (>= 28). */
void wk_time_format_micro(int64_t epoch_us, char *out, size_t out_size);
/* Parse RFC 3339 with optional fraction (any number of digits) and Z or +hh:mm; -1 if malformed. */
int wk_time_parse_ms(const char *s, int64_t *epoch_ms);
int wk_time_parse_us(const char *s, int64_t *epoch_us);

#endif
