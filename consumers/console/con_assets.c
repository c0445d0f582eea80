/* con_assets.c - the embedded page: each file of consumers/console/assets/ becomes a symbol through
 * the assembler's .incbin (the Makefile makes this object depend on the files). */
#include "con_assets.h"

#define CON_INCBIN(sym, file)                                                                      \
	__asm__(".section .rodata\n"                                                               \
		".global " #sym "\n"                                                               \
		".type " #sym ", @object\n"                                                        \
		".balign 16\n" #sym ":\n"                                                          \
		".incbin \"" file "\"\n"                                                           \
		".global " #sym "_end\n" #sym "_end:\n"                                            \
		".byte 0\n"                                                                        \
		".previous\n")

CON_INCBIN(con_asset_index_html, "consumers/console/assets/index.html");
CON_INCBIN(con_asset_app_js, "consumers/console/assets/app.js");
CON_INCBIN(con_asset_app_css, "consumers/console/assets/app.css");

extern const char con_asset_index_html[], con_asset_index_html_end[];
extern const char con_asset_app_js[], con_asset_app_js_end[];
extern const char con_asset_app_css[], con_asset_app_css_end[];

/* Address constants only, so the table is built by the loader: no first-call race between the
 * endpoint's connection threads. */
static const struct {
	const char *path, *type, *start, *end;
} table[] = {
    {"/", "text/html; charset=utf-8", con_asset_index_html, con_asset_index_html_end},
    {"/app.js", "text/javascript; charset=utf-8", con_asset_app_js, con_asset_app_js_end},
    {"/app.css", "text/css; charset=utf-8", con_asset_app_css, con_asset_app_css_end},
};

int con_asset_find(const char *path, struct con_asset *out)
{
	if (!strcmp(path, "/index.html"))
		path = "/";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].path, path)) {
			out->path = table[i].path;
			out->type = table[i].type;
			out->data = table[i].start;
			out->len = (size_t)(table[i].end - table[i].start);
			return 0;
		}
	return -1;
}
