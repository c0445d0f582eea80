/* con_assets.h - the console's page, script and style sheet, embedded in the binary at build time
 * (consumers/console/assets/, no network and no build tool: the assembler's .incbin). Static,
 * never freed. */
#ifndef CON_ASSETS_H
#define CON_ASSETS_H

#include "wk_common.h"

struct con_asset {
	const char *path; /* "/", "/app.js", "/app.css" */
	const char *type; /* Content-Type */
	const char *data;
	size_t len;
};

/* The asset served at path into out: 0, or -1 if none. */
int con_asset_find(const char *path, struct con_asset *out);

#endif
