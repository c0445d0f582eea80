/* wk_yaml.h - any JSON value written as block YAML, as `-o yaml` prints it (wukongctl,
 * wukong-auditlog): mappings and sequences in block style, a string left plain only when YAML
 * reads it back as the same string (else JSON-quoted, which YAML reads as a double-quoted
 * scalar). Writes into a caller's buffer; nothing to free.
 */
#ifndef WK_YAML_H
#define WK_YAML_H

#include "wk_buf.h"

struct cJSON;

void wk_yaml_write(const struct cJSON *v, struct wk_buf *out);

#endif
