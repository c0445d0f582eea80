/* sim_yaml.c - a YAML document (libyaml) as cJSON. */
#include "sim_yaml.h"

#include <errno.h>
#include <regex.h>
#include <yaml.h>

struct conv {
	yaml_document_t *doc;
	size_t nodes;
	const char *name;
	char *errstr;
	size_t errstr_size;
	bool failed;
};

static bool all_digits(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_float(const char *s)
{
	static regex_t re;
	static bool init;

	/* Compiled once; the CRD and auth files are read at start-up on one thread. */
	if (!init) {
		if (regcomp(&re, "^[-+]?([.][0-9]+|[0-9]+([.][0-9]*)?)([eE][-+]?[0-9]+)?$",
			    REG_EXTENDED | REG_NOSUB))
			return false;
		init = true;
	}
	return regexec(&re, s, 0, NULL, 0) == 0;
}

static cJSON *scalar(yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cJSON_CreateString(v);
	if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	    !strcmp(v, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return cJSON_CreateFalse();
	if ((all_digits(v) && strlen(v) < 19) || is_float(v)) {
		char *end;
		double d = strtod(v, &end);

		if (!*end)
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(v);
}

static cJSON *conv(struct conv *c, yaml_node_t *n, int depth)
{
	cJSON *out;

	if (c->failed)
		return NULL;
	if (!n || depth > SIM_YAML_MAX_DEPTH || ++c->nodes > SIM_YAML_MAX_NODES) {
		c->failed = true;
		wk_err(c->errstr, c->errstr_size, "%s:%lu: %s", c->name,
		       n ? (unsigned long)n->start_mark.line + 1 : 0UL,
		       depth > SIM_YAML_MAX_DEPTH ? "nesting deeper than 64 levels"
						  : "too many nodes");
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar(n);
	case YAML_SEQUENCE_NODE:
		out = cJSON_CreateArray();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			cJSON *v = conv(c, yaml_document_get_node(c->doc, *it), depth + 1);

			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			cJSON_AddItemToArray(out, v);
		}
		return out;
	case YAML_MAPPING_NODE:
		out = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			cJSON *v;

			if (!k || k->type != YAML_SCALAR_NODE) {
				c->failed = true;
				wk_err(c->errstr, c->errstr_size,
				       "%s:%lu: mapping keys must be scalars", c->name,
				       (unsigned long)n->start_mark.line + 1);
				cJSON_Delete(out);
				return NULL;
			}
			v = conv(c, yaml_document_get_node(c->doc, p->value), depth + 1);
			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(out,
								(const char *)k->data.scalar.value);
			cJSON_AddItemToObject(out, (const char *)k->data.scalar.value, v);
		}
		return out;
	case YAML_NO_NODE:
	default:
		return cJSON_CreateNull();
	}
}

cJSON *sim_yaml_parse(const char *name, const char *text, size_t len, char *errstr,
		      size_t errstr_size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct conv c = {&doc, 0, name, errstr, errstr_size, false};
	cJSON *out;
	yaml_node_t *root;

	if (len > SIM_YAML_MAX_BYTES) {
		wk_err(errstr, errstr_size, "%s:1: file larger than %u bytes", name,
		       SIM_YAML_MAX_BYTES);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser))
		abort(); /* only fails on OOM */
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		wk_err(errstr, errstr_size, "%s:%lu: %s", name,
		       (unsigned long)parser.problem_mark.line + 1,
		       parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return NULL;
	}
	root = yaml_document_get_root_node(&doc);
	out = root ? conv(&c, root, 0) : cJSON_CreateNull();
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}

cJSON *sim_yaml_load_file(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;
	cJSON *out;

	if (!f) {
		wk_err(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = wk_xmalloc(SIM_YAML_MAX_BYTES + 2);
	len = fread(buf, 1, SIM_YAML_MAX_BYTES + 1, f);
	fclose(f);
	buf[len] = '\0';
	out = sim_yaml_parse(path, buf, len, errstr, errstr_size);
	free(buf);
	return out;
}
