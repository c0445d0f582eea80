/* sim_yaml.h - a YAML document (libyaml) as cJSON, for the CRD file and the auth config.
 *
 * Plain scalars are typed like YAML 1.2's core schema (null, true/false, integers, floats), quoted
 * ones stay strings. Caps: SIM_YAML_MAX_BYTES of input, SIM_YAML_MAX_DEPTH nesting, and
 * SIM_YAML_MAX_NODES nodes after alias expansion. The returned tree is owned by the caller.
 */
#ifndef SIM_YAML_H
#define SIM_YAML_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_YAML_MAX_BYTES (4u << 20)
#define SIM_YAML_MAX_DEPTH 64
#define SIM_YAML_MAX_NODES 200000

/* NULL with "name:line: message" in errstr on a syntax error or past a cap. */
cJSON *sim_yaml_parse(const char *name, const char *text, size_t len, char *errstr,
		      size_t errstr_size);
cJSON *sim_yaml_load_file(const char *path, char *errstr, size_t errstr_size);

#endif
