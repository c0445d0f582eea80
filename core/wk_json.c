/* wk_json.c - dotted-path reads of cJSON documents (wk_json.h). */
#include "wk_json.h"

#include <cjson/cJSON.h>

const cJSON *wk_json_path(const cJSON *o, const char *path)
{
	char key[128];

	while (o && path && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

const char *wk_json_str(const cJSON *o, const char *path)
{
	const cJSON *s = wk_json_path(o, path);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

double wk_json_num(const cJSON *o, const char *path, double def)
{
	const cJSON *n = wk_json_path(o, path);
	return cJSON_IsNumber(n) ? n->valuedouble : def;
}

const char *wk_json_key_str(const cJSON *o, const char *key)
{
	const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *wk_json_meta(const cJSON *o, const char *map, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const cJSON *v =
	    key ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, map), key)
		: NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t wk_json_int(const cJSON *v, int64_t def)
{
	/* 2^63 is exact as a double; anything below it converts */
	if (!cJSON_IsNumber(v) || !(v->valuedouble > -9223372036854775808.0) ||
	    !(v->valuedouble < 9223372036854775808.0))
		return def;
	return (int64_t)v->valuedouble;
}
