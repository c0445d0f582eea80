/* wk_yaml.c - JSON values as block YAML (wk_yaml.h). */
#include "wk_yaml.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <strings.h>

static void num(double d, struct wk_buf *out)
{
	if (isfinite(d) && fabs(d) < 1e15 && d == floor(d))
		(void)!wk_buf_addf(out, "%.0f", d);
	else if (isfinite(d))
		(void)!wk_buf_addf(out, "%.17g", d);
	else
		(void)!wk_buf_adds(out, "null");
}

static bool yaml_plain(const char *s)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on",
					    "off",  "null",  "y",   "n",  "~"};

	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_./-", *p)))
			return false;
	for (size_t i = 0; i < WK_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return false;
	return true;
}

static void yaml_scalar(const cJSON *v, struct wk_buf *out)
{
	if (cJSON_IsString(v) && yaml_plain(v->valuestring)) {
		(void)!wk_buf_adds(out, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		num(v->valuedouble, out);
	} else {
		/* JSON's string, true/false/null and escapes are YAML flow scalars. */
		char *s = cJSON_PrintUnformatted(v);

		(void)!wk_buf_adds(out, s ? s : "null");
		free(s);
	}
}

static void yaml_emit(const cJSON *v, int indent, struct wk_buf *out)
{
	const cJSON *c;

	if (cJSON_IsObject(v) && v->child) {
		cJSON_ArrayForEach(c, v)
		{
			cJSON key;

			memset(&key, 0, sizeof(key));
			key.type = cJSON_String;
			key.valuestring = c->string ? c->string : (char *)"";
			(void)!wk_buf_addf(out, "%*s", indent, "");
			yaml_scalar(&key, out);
			(void)!wk_buf_adds(out, ":");
			if (cJSON_IsObject(c) && c->child) {
				(void)!wk_buf_adds(out, "\n");
				yaml_emit(c, indent + 2, out);
			} else if (cJSON_IsArray(c) && c->child) {
				(void)!wk_buf_adds(out, "\n");
				yaml_emit(c, indent, out);
			} else {
				(void)!wk_buf_adds(out, " ");
				yaml_emit(c, 0, out);
			}
		}
	} else if (cJSON_IsArray(v) && v->child) {
		cJSON_ArrayForEach(c, v)
		{
			struct wk_buf tmp;
			const char *s;

			wk_buf_init(&tmp, 0);
			yaml_emit(
			    c, (cJSON_IsObject(c) || cJSON_IsArray(c)) && c->child ? indent + 2 : 0,
			    &tmp);
			s = wk_buf_str(&tmp);
			if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && c->child)
				s += indent + 2;
			(void)!wk_buf_addf(out, "%*s- %s", indent, "", s);
			wk_buf_release(&tmp);
		}
	} else if (cJSON_IsObject(v)) {
		(void)!wk_buf_adds(out, "{}\n");
	} else if (cJSON_IsArray(v)) {
		(void)!wk_buf_adds(out, "[]\n");
	} else {
		yaml_scalar(v, out);
		(void)!wk_buf_adds(out, "\n");
	}
}

void wk_yaml_write(const cJSON *v, struct wk_buf *out)
{
	yaml_emit(v, 0, out);
}
