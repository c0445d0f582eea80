/* fuzz_common.h - shared by the libFuzzer harnesses under tests/fuzz/ (tests/fuzz/README.md):
 * the input as a NUL-terminated copy, and quiet logging. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "wk_common.h"
#include "wk_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* data as a C string (NUL bytes included in the copy; strlen stops at the first). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_QUIET_INIT                                                                            \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                                          \
	{                                                                                          \
		(void)argc;                                                                        \
		(void)argv;                                                                        \
		wk_log_init("fuzz", WK_LOG_FATAL);                                                 \
		return 0;                                                                          \
	}

#endif
