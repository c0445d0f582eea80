/* wk_version.h - the build's version (git describe at build time, else the VERSION file) and the
 * versions of the libraries every binary links, for --version and wukong_build_info. */
#ifndef WK_VERSION_H
#define WK_VERSION_H

#include <stdio.h>

/* "v0.1.0-12-gabcdef0", "0.1.0" (VERSION file) or "unknown". */
const char *wk_build_version(void);
/* "<prog> <version>" and one line per library ("  librdkafka 2.0.2"), to f. */
void wk_version_print(FILE *f, const char *prog);

#endif
