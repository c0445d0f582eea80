/* sim_patch.h - JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on cJSON documents.
 *
 * Both return a new document owned by the caller and leave their inputs untouched. Caps: a JSON
 * patch holds at most SIM_JSONPATCH_MAX_OPS operations (the apiserver's limit) and an array index
 * in a pointer is at most INT_MAX; nesting is bounded by cJSON's parser (CJSON_NESTING_LIMIT).
 */
#ifndef SIM_PATCH_H
#define SIM_PATCH_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_JSONPATCH_MAX_OPS 10000

/* RFC 7386: objects merge recursively, null deletes a key, anything else (arrays too) replaces. */
cJSON *sim_merge_patch(const cJSON *target, const cJSON *patch);

/* RFC 6902 (add, remove, replace, move, copy, test). NULL with errstr on a malformed patch, a
 * missing path or a failed test; the document is then unchanged. */
cJSON *sim_json_patch(const cJSON *doc, const cJSON *patch, char *errstr, size_t errstr_size);

#endif
