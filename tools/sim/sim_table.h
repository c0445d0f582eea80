/* sim_table.h - server-side printing for the simulator's API: meta.k8s.io Table responses as
 * kube-apiserver builds them for kubectl (the built-in kinds' printer columns, CRD
 * additionalPrinterColumns evaluated with the apiserver's JSONPath, kubectl's HumanDuration ages),
 * and the Accept/includeObject negotiation. Tables and strings returned are owned by the caller;
 * inputs are only read.
 *
 * Caps: JSONPaths of at most SIM_TABLE_MAX_PATH bytes and SIM_TABLE_MAX_STEPS steps (longer ones
 * are invalid: the column is null), at most SIM_TABLE_MAX_COLS printer columns from a CRD.
 */
#ifndef SIM_TABLE_H
#define SIM_TABLE_H

#include "sim_store.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define SIM_TABLE_MAX_PATH 512
#define SIM_TABLE_MAX_STEPS 64
#define SIM_TABLE_MAX_COLS 32

/* What each row's "object" carries (?includeObject=Metadata|Object|None; default Metadata). */
enum sim_table_include { SIM_TABLE_METADATA, SIM_TABLE_OBJECT, SIM_TABLE_NONE };

struct sim_table_opts {
	const char *api_version;  /* "meta.k8s.io/v1" or "meta.k8s.io/v1beta1" */
	const char *content_type; /* the matching response Content-Type */
	enum sim_table_include include;
	bool no_headers; /* columnDefinitions null: every watch event after the first */
	int64_t now_ms;	 /* wall clock (ms since the epoch) the ages are computed against */
};

/* From the request's Accept header and includeObject parameter (either may be NULL): 1 and *o
 * filled when the first acceptable media range asks for a Table (meta.k8s.io v1 or v1beta1), 0
 * for plain objects, -1 with the apiserver's 400 message for a bad includeObject. */
int sim_table_request(const char *accept, const char *include_object, struct sim_table_opts *o,
		      char *errstr, size_t errstr_size);

/* The Table for obj, a single object or a list (`items`, with the list's resourceVersion,
 * continue and remainingItemCount). crd is the parsed Wukong CRD (its additionalPrinterColumns
 * print wukongs) or NULL. Never NULL. */
cJSON *sim_table_build(const struct sim_resource *res, const cJSON *crd, const cJSON *obj,
		       const struct sim_table_opts *o);

/* Evaluate a CRD printer-column JSONPath (`.a.b`, `['k']`, `[N]`, `[*]`, `.*`,
 * `[?(@.x.y=='v')]`, `==`/`!=`/existence) on root: 0 and *out = the first result (NULL when a
 * key is missing or an index is out of range), -1 for a path that does not parse or is past
 * the caps. */
int sim_jsonpath_first(const char *path, const cJSON *root, const cJSON **out);

/* k8s.io/apimachinery duration.HumanDuration of ms: "45s", "5m12s", "3h", "2d5h", "<invalid>". */
void sim_human_duration(int64_t ms, char *out, size_t n);

/* RFC 3339 ("2026-11-22T01:35:29Z", fractions and offsets allowed) to ms since the epoch. */
int sim_parse_time(const char *s, int64_t *ms);

#endif
