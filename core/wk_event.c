/* wk_event.c - a wukong.events object event's body turned back into a Kubernetes-shaped object
 * (the cloner and the migrator read Wukongs this way). */
#include "wk_event.h"

#include <cjson/cJSON.h>

struct cJSON *wk_event_object(const struct cJSON *body)
{
	static const char *const copy_meta[] = {"name",	       "namespace",	    "uid",
						"generation",  "resourceVersion",   "labels",
						"annotations", "deletionTimestamp", NULL};
	cJSON *o = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(o, "metadata");
	const cJSON *spec, *status;
	size_t i;

	if (!cJSON_IsObject(body))
		return o;
	for (i = 0; copy_meta[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, copy_meta[i]);

		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(meta, copy_meta[i], cJSON_Duplicate(v, true));
	}
	spec = cJSON_GetObjectItemCaseSensitive(body, "spec");
	if (spec)
		cJSON_AddItemToObject(o, "spec", cJSON_Duplicate(spec, true));
	status = cJSON_GetObjectItemCaseSensitive(body, "status");
	if (status)
		cJSON_AddItemToObject(o, "status", cJSON_Duplicate(status, true));
	return o;
}

struct cJSON *wk_event_body(const struct cJSON *obj, const char *cluster)
{
	static const char *const copy_meta[] = {"name",	       "namespace",	    "uid",
						"generation",  "resourceVersion",   "labels",
						"annotations", "deletionTimestamp", NULL};
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *o = cJSON_CreateObject();
	const char *k[] = {"spec", "status"};
	size_t i;

	if (cluster)
		cJSON_AddStringToObject(o, "cluster", cluster);
	for (i = 0; copy_meta[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, copy_meta[i]);

		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(o, copy_meta[i], cJSON_Duplicate(v, true));
	}
	for (i = 0; i < WK_ARRAY_SIZE(k); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k[i]);

		if (v)
			cJSON_AddItemToObject(o, k[i], cJSON_Duplicate(v, true));
	}
	return o;
}
