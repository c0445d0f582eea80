/* wk_selector.h - Kubernetes label selectors and field selectors.
 *
 * Label selectors: the string form ("a=b,c!=d,e in (x,y),f notin (z),g,!h") and the LabelSelector
 * object form ({"matchLabels":{...},"matchExpressions":[{"key","operator","values"}]}). Field
 * selectors: "metadata.name=x,metadata.namespace!=y" (=, ==, !=). A parsed selector is heap-owned
 * by the caller (wk_selector_destroy). Caps: selector string 4 KiB, 64 requirements, 64 values each.
 */
#ifndef WK_SELECTOR_H
#define WK_SELECTOR_H

#include "wk_common.h"

struct cJSON;
struct wk_selector;

/* NULL with errstr on malformed input. An empty string selects everything. */
struct wk_selector *wk_selector_parse(const char *s, char *errstr, size_t errstr_size);
/* From a LabelSelector object (cJSON); NULL object selects everything. */
struct wk_selector *wk_selector_from_json(const struct cJSON *obj, char *errstr, size_t errstr_size);
void wk_selector_destroy(struct wk_selector *sel);
/* Does a labels map (a cJSON object of string values, may be NULL) match? */
bool wk_selector_matches(const struct wk_selector *sel, const struct cJSON *labels);
bool wk_selector_empty(const struct wk_selector *sel);
/* The canonical string form (caller frees). */
char *wk_selector_to_string(const struct wk_selector *sel);

struct wk_field_selector;
struct wk_field_selector *wk_field_selector_parse(const char *s, char *errstr, size_t errstr_size);
void wk_field_selector_destroy(struct wk_field_selector *fs);
/* Match against an object: each field path ("metadata.name", "spec.nodeName", "status.phase")
 * is looked up in the object; an absent field compares as "". */
bool wk_field_selector_matches(const struct wk_field_selector *fs, const struct cJSON *obj);

#endif
