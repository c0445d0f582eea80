/* sim_schema.h - structural OpenAPI v3 schema checks of custom resources, as the apiserver does
 * for a CRD's openAPIV3Schema: defaulting, pruning of unknown fields, then validation.
 *
 * Supported keywords: type, nullable, properties, required, additionalProperties (schema or
 * bool), items, enum, pattern (POSIX ERE, which covers the RE2 subset CRDs use), minimum,
 * maximum, exclusiveMinimum/Maximum, minLength, maxLength, minItems, maxItems, default,
 * x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields. Causes are
 * {"reason","message","field"} objects in the apiserver's wording. Depth is capped at
 * SIM_SCHEMA_MAX_DEPTH (deeper values are one cause, not a crash).
 */
#ifndef SIM_SCHEMA_H
#define SIM_SCHEMA_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_SCHEMA_MAX_DEPTH 64
#define SIM_SCHEMA_MAX_CAUSES 32

/* Check obj (a whole object: apiVersion/kind/metadata at the root are left alone) against schema.
 * Unknown fields are removed from obj and their paths ("spec.foo") appended to `unknown` (a cJSON
 * array, may be NULL); defaults are filled in; each violation is appended to `causes` (a cJSON
 * array). Returns the number of violations. */
int sim_schema_validate(const cJSON *schema, cJSON *obj, cJSON *causes, cJSON *unknown);

/* The apiserver's 422 message from causes: `<Kind>.<group> "<name>" is invalid: <field>: <msg>`
 * (several causes are joined as "[a, b]"). Caller frees. */
char *sim_schema_message(const char *kind, const char *group, const char *name,
			 const cJSON *causes);

/* The openAPIV3Schema of version `version` in a parsed CRD, or NULL. Borrowed from crd. */
const cJSON *sim_crd_schema(const cJSON *crd, const char *version);

#endif
