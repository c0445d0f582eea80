/* sim_crds.h - published CustomResourceDefinitions (tools/sim/crds/: Prometheus Operator's
 * monitoring.coreos.com, Strimzi's kafka.strimzi.io) whose openAPIV3Schema the API validates the
 * matching custom resources against, as an apiserver with those CRDs installed does. The kinds
 * themselves are rows of sim_resources; this only adds their schemas (tools/sim/crds/SOURCE.md).
 */
#ifndef SIM_CRDS_H
#define SIM_CRDS_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_CRDS_MAX 32

struct sim_crds;

/* Every *.yaml in dir that is a CustomResourceDefinition (others are an error). */
struct sim_crds *sim_crds_load_dir(const char *dir, char *errstr, size_t errstr_size);
void sim_crds_destroy(struct sim_crds *c);
/* The schema of group/version/plural, or NULL. Borrowed. */
const cJSON *sim_crds_schema(const struct sim_crds *c, const char *group, const char *version,
			     const char *plural);
size_t sim_crds_count(const struct sim_crds *c);
/* The i-th CRD object (borrowed), for listing it under customresourcedefinitions. */
const cJSON *sim_crds_object(const struct sim_crds *c, size_t i);

#endif
