/* wk_json.h - reading cJSON documents by dotted path ("metadata.labels.app"). Keys containing a
 * dot cannot be reached through a path: use cJSON_GetObjectItemCaseSensitive on the parent
 * (wk_json_path(o, "metadata.labels") then the key). A path segment longer than 127 bytes reads as
 * absent. Every function accepts NULL documents and returns NULL for anything missing. */
#ifndef WK_JSON_H
#define WK_JSON_H

#include "wk_common.h"

struct cJSON;

/* The member at path (each dot a level), or NULL. */
const struct cJSON *wk_json_path(const struct cJSON *o, const char *path);
/* The string at path, or NULL when missing or not a string. */
const char *wk_json_str(const struct cJSON *o, const char *path);
/* The number at path, or def when missing or not a number. */
double wk_json_num(const struct cJSON *o, const char *path, double def);
/* A number item (not a path) as an integer: def when v is not a number or outside int64_t (the
 * conversion of a double out of range is undefined: issue 22, found by tests/fuzz). */
int64_t wk_json_int(const struct cJSON *v, int64_t def);
/* The string member named key of o, the key taken whole (dots and slashes are part of it:
 * "app.kubernetes.io/managed-by"), or NULL. */
const char *wk_json_key_str(const struct cJSON *o, const char *key);
/* The string value of metadata.<map>.<key> ("labels" or "annotations"; the key may contain
 * dots and slashes, "kubevirt.io/nodeName"), or NULL. */
const char *wk_json_meta(const struct cJSON *o, const char *map, const char *key);

#endif
