/* kt_topics.c - deploy/topics.yaml: strict parse (libyaml document API), expansion, Strimzi output.
 */
#include "kt_topics.h"

#include "wk_name.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <yaml.h>

#define VALUE_MAX 256

struct parse {
	yaml_document_t *doc;
	const char *name;
	char *errstr;
	size_t errstr_size;
	int def_replicas;
	struct kt_config_kv *def_config;
	size_t ndef_config;
};

static int perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...) WK_PRINTF(3, 4);

static int perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return wk_err(p->errstr, p->errstr_size, "%s:%zu: %s", p->name,
		      n ? n->start_mark.line + 1 : (size_t)1, msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int parse_int(struct parse *p, const yaml_node_t *n, const char *what, long lo, long hi,
		     int *out)
{
	const char *s = scalar(n);
	char *end;
	long v;

	if (!s || !*s)
		return perr(p, n, "'%s' must be a number", what);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return perr(p, n, "'%s' must be a number from %ld to %ld", what, lo, hi);
	*out = (int)v;
	return 0;
}

/* Topic-config keys are dotted lowercase words ("cleanup.policy"); values printable ASCII
 * without quotes or backslashes, so they can be written into YAML without escaping. */
static bool config_key_valid(const char *s)
{
	if (!*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

static bool config_value_valid(const char *s)
{
	if (strlen(s) > VALUE_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static void kv_set(struct kt_config_kv **v, size_t *n, const char *key, const char *value)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].key, key)) {
			free((*v)[i].value);
			(*v)[i].value = wk_xstrdup(value);
			return;
		}
	}
	*v = wk_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = wk_xstrdup(key);
	(*v)[*n].value = wk_xstrdup(value);
	(*n)++;
}

static void kv_free(struct kt_config_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static int parse_config(struct parse *p, yaml_node_t *n, struct kt_config_kv **v, size_t *nv)
{
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'%s' must be a mapping", "config");
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pair->value);
		const char *k = scalar(kn), *val = scalar(vn);

		if (!k || !config_key_valid(k))
			return perr(p, kn, "config key '%s' is not a Kafka topic config name",
				    k ? k : "?");
		if (!val || !config_value_valid(val))
			return perr(p, vn, "config '%s' needs a plain value (printable, no quotes)",
				    k);
		if (*nv >= KT_CONFIGS_MAX)
			return perr(p, kn, "more than %s config entries", "32");
		kv_set(v, nv, k, val);
	}
	return 0;
}

/* Topic short names become part of Kubernetes object names: lowercase, digits, '.', '-'. */
static bool short_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > KT_NAME_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '.' &&
		    *s != '-')
			return false;
	return true;
}

static int parse_topic(struct parse *p, yaml_node_t *n, struct kt_topic *t)
{
	yaml_node_pair_t *pair;
	bool have_name = false, have_parts = false;

	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "a topic must be a %s", "mapping");
	t->replicas = -1;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pair->value);
		const char *k = scalar(kn), *v = scalar(vn);

		if (!k)
			return perr(p, kn, "topic keys must be %s", "scalars");
		if (!strcmp(k, "name")) {
			if (!v || !short_name_valid(v))
				return perr(p, vn,
					    "topic name '%s' must be 1-100 of [a-z0-9.-], not "
					    "starting or ending with '.'",
					    v ? v : "?");
			strcpy(t->name, v);
			have_name = true;
		} else if (!strcmp(k, "partitions")) {
			if (parse_int(p, vn, "partitions", 1, KT_PARTITIONS_MAX, &t->partitions))
				return -1;
			have_parts = true;
		} else if (!strcmp(k, "replicas")) {
			if (parse_int(p, vn, "replicas", 1, 10, &t->replicas))
				return -1;
		} else if (!strcmp(k, "per_cluster")) {
			if (!v || (strcmp(v, "true") && strcmp(v, "false")))
				return perr(p, vn, "'%s' must be true or false", "per_cluster");
			t->per_cluster = !strcmp(v, "true");
		} else if (!strcmp(k, "config")) {
			if (parse_config(p, vn, &t->config, &t->nconfig))
				return -1;
		} else {
			return perr(p, kn, "unknown topic key '%s'", k);
		}
	}
	if (!have_name)
		return perr(p, n, "topic without a '%s'", "name");
	if (!have_parts)
		return perr(p, n, "topic without '%s'", "partitions");
	return 0;
}

static int parse_defaults(struct parse *p, yaml_node_t *n)
{
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'%s' must be a mapping", "defaults");
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pair->value);
		const char *k = scalar(kn);

		if (k && !strcmp(k, "replicas")) {
			if (parse_int(p, vn, "replicas", 1, 10, &p->def_replicas))
				return -1;
		} else if (k && !strcmp(k, "config")) {
			if (parse_config(p, vn, &p->def_config, &p->ndef_config))
				return -1;
		} else {
			return perr(p, kn, "unknown key '%s' in defaults", k ? k : "?");
		}
	}
	return 0;
}

static int parse_root(struct parse *p, struct kt_topics *t, yaml_node_t *root)
{
	yaml_node_pair_t *pair;
	yaml_node_t *topics = NULL;

	if (!root || root->type != YAML_MAPPING_NODE)
		return perr(p, root, "%s", "expected a mapping with 'topics'");
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pair->value);
		const char *k = scalar(kn);

		if (k && !strcmp(k, "defaults")) {
			if (parse_defaults(p, vn))
				return -1;
		} else if (k && !strcmp(k, "topics")) {
			topics = vn;
		} else {
			return perr(p, kn, "unknown key '%s'", k ? k : "?");
		}
	}
	if (!topics || topics->type != YAML_SEQUENCE_NODE)
		return perr(p, topics ? topics : root, "%s", "'topics' must be a list");
	for (yaml_node_item_t *it = topics->data.sequence.items.start;
	     it < topics->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(p->doc, *it);
		struct kt_topic *nt;

		if (t->n >= KT_TOPICS_MAX)
			return perr(p, n, "more than %s topics", "64");
		t->v = wk_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		nt = &t->v[t->n++];
		memset(nt, 0, sizeof(*nt));
		if (parse_topic(p, n, nt))
			return -1;
		for (size_t i = 0; i + 1 < t->n; i++)
			if (!strcmp(t->v[i].name, nt->name) &&
			    t->v[i].per_cluster == nt->per_cluster)
				return perr(p, n, "topic '%s' is declared twice", nt->name);
	}
	if (!t->n)
		return perr(p, topics, "%s", "no topics declared");
	/* Defaults first, the topic's own settings override them. */
	for (size_t i = 0; i < t->n; i++) {
		struct kt_topic *x = &t->v[i];
		struct kt_config_kv *merged = NULL;
		size_t nm = 0;

		if (x->replicas < 0)
			x->replicas = p->def_replicas;
		for (size_t k = 0; k < p->ndef_config; k++)
			kv_set(&merged, &nm, p->def_config[k].key, p->def_config[k].value);
		for (size_t k = 0; k < x->nconfig; k++)
			kv_set(&merged, &nm, x->config[k].key, x->config[k].value);
		kv_free(x->config, x->nconfig);
		x->config = merged;
		x->nconfig = nm;
	}
	return 0;
}

int kt_topics_parse(struct kt_topics *t, const char *name, const char *yaml, size_t len,
		    char *errstr, size_t errstr_size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct parse p = {.doc = &doc,
			  .name = name,
			  .errstr = errstr,
			  .errstr_size = errstr_size,
			  .def_replicas = 1};
	int rc;

	memset(t, 0, sizeof(*t));
	if (len > KT_FILE_MAX)
		return wk_err(errstr, errstr_size, "%s: %zu bytes, over the %d byte cap", name, len,
			      KT_FILE_MAX);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = wk_err(errstr, errstr_size, "%s:%zu: %s", name, parser.problem_mark.line + 1,
			    parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return rc;
	}
	rc = parse_root(&p, t, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	kv_free(p.def_config, p.ndef_config);
	if (rc)
		kt_topics_release(t);
	return rc;
}

int kt_topics_load(struct kt_topics *t, const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!f)
		return wk_err(errstr, errstr_size, "'%s': %s", path, strerror(errno));
	buf = wk_xmalloc(KT_FILE_MAX + 1);
	len = fread(buf, 1, KT_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = wk_err(errstr, errstr_size, "'%s': read error", path);
	} else if (len > KT_FILE_MAX) {
		rc = wk_err(errstr, errstr_size, "%s: over the %d byte cap", path, KT_FILE_MAX);
	} else {
		rc = kt_topics_parse(t, path, buf, len, errstr, errstr_size);
	}
	fclose(f);
	free(buf);
	return rc;
}

void kt_topics_release(struct kt_topics *t)
{
	for (size_t i = 0; i < t->n; i++)
		kv_free(t->v[i].config, t->v[i].nconfig);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

bool kt_cluster_id_valid(const char *id)
{
	return wk_name_is_dns1123_label(id);
}

void kt_topic_fullname(const struct kt_topic *t, const char *prefix, const char *cluster, char *out,
		       size_t out_size)
{
	snprintf(out, out_size, "%s%s%s%s%s", prefix && *prefix ? prefix : "",
		 prefix && *prefix ? "." : "", t->name, t->per_cluster ? "." : "",
		 t->per_cluster ? cluster : "");
}

int kt_topics_foreach(const struct kt_topics *t, const char *prefix, const char *const *clusters,
		      size_t nclusters,
		      int (*cb)(const char *fullname, const struct kt_topic *t, void *opaque),
		      void *opaque)
{
	char full[512];
	int rc;

	for (size_t i = 0; i < t->n; i++) {
		size_t reps = t->v[i].per_cluster ? nclusters : 1;

		for (size_t c = 0; c < reps; c++) {
			kt_topic_fullname(&t->v[i], prefix,
					  t->v[i].per_cluster ? clusters[c] : NULL, full,
					  sizeof(full));
			rc = cb(full, &t->v[i], opaque);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

struct strimzi {
	FILE *f;
	const char *kafka_cluster;
};

static int strimzi_one(const char *full, const struct kt_topic *t, void *opaque)
{
	struct strimzi *s = opaque;
	char meta[512];
	bool rename;

	/* KafkaTopic names are Kubernetes names; topics that aren't one keep theirs in topicName.
	 */
	rename = !wk_name_is_dns1123_subdomain(full);
	wk_strlcpy(meta, full, sizeof(meta));
	for (char *c = meta; *c; c++)
		*c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
	fprintf(s->f, "---\napiVersion: kafka.strimzi.io/v1\nkind: KafkaTopic\n");
	fprintf(s->f, "metadata:\n  name: %s\n  labels:\n    strimzi.io/cluster: %s\n", meta,
		s->kafka_cluster);
	fprintf(s->f, "spec:\n");
	if (rename)
		fprintf(s->f, "  topicName: %s\n", full);
	fprintf(s->f, "  partitions: %d\n  replicas: %d\n", t->partitions, t->replicas);
	if (t->nconfig) {
		fprintf(s->f, "  config:\n");
		for (size_t i = 0; i < t->nconfig; i++) {
			const char *v = t->config[i].value;

			if (all_digits(v))
				fprintf(s->f, "    %s: %s\n", t->config[i].key, v);
			else
				fprintf(s->f, "    %s: \"%s\"\n", t->config[i].key, v);
		}
	}
	return 0;
}

void kt_topics_write_strimzi(FILE *f, const struct kt_topics *t, const char *prefix,
			     const char *const *clusters, size_t nclusters,
			     const char *kafka_cluster)
{
	struct strimzi s = {f, kafka_cluster};

	fprintf(f, "# kafka-topics.yaml - Strimzi KafkaTopic resources for Wukong.\n");
	fprintf(f,
		"# GENERATED from deploy/topics.yaml by `wukong-kafka --strimzi`; do not edit.\n");
	fprintf(f, "# topics.prefix: \"%s\"; per-cluster topics for:", prefix ? prefix : "");
	for (size_t i = 0; i < nclusters; i++)
		fprintf(f, " %s", clusters[i]);
	fprintf(f, "\n");
	kt_topics_foreach(t, prefix, clusters, nclusters, strimzi_one, &s);
}
