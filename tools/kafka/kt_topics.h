/* kt_topics.h - the declared topic list (deploy/topics.yaml): parse it, expand it into concrete
 * topic names, render it as Strimzi KafkaTopic manifests. The list owns every string in it
 * (kt_topics_release frees them).
 */
#ifndef KT_TOPICS_H
#define KT_TOPICS_H

#include "wk_common.h"

/* Documented caps on the file. */
#define KT_FILE_MAX (64 * 1024)
#define KT_TOPICS_MAX 64
#define KT_CONFIGS_MAX 32
#define KT_NAME_MAX 100
#define KT_PARTITIONS_MAX 1000
#define KT_CLUSTER_MAX 63

struct kt_config_kv {
	char *key;
	char *value;
};

struct kt_topic {
	char name[KT_NAME_MAX + 1]; /* short name: "events" */
	int partitions;
	int replicas;
	bool per_cluster;
	struct kt_config_kv *config; /* defaults merged in, topic's own entries win */
	size_t nconfig;
};

struct kt_topics {
	struct kt_topic *v;
	size_t n;
};

/* 0, or -1 with "name:line: reason". */
int kt_topics_parse(struct kt_topics *t, const char *name, const char *yaml, size_t len,
		    char *errstr, size_t errstr_size);
int kt_topics_load(struct kt_topics *t, const char *path, char *errstr, size_t errstr_size);
void kt_topics_release(struct kt_topics *t);

/* A cluster id usable inside a topic name: 1..63 of [a-z0-9-], alphanumeric at both ends. */
bool kt_cluster_id_valid(const char *id);

/* The concrete topic for topic t (cluster is used only when t->per_cluster). */
void kt_topic_fullname(const struct kt_topic *t, const char *prefix, const char *cluster, char *out,
		       size_t out_size);

/* Call cb for every concrete topic: per-cluster entries once per cluster. Stops at a non-zero
 * result and returns it. */
int kt_topics_foreach(const struct kt_topics *t, const char *prefix, const char *const *clusters,
		      size_t nclusters,
		      int (*cb)(const char *fullname, const struct kt_topic *t, void *opaque),
		      void *opaque);

/* Strimzi KafkaTopic manifests (kafka.strimzi.io/v1beta2), one document per concrete topic,
 * labelled strimzi.io/cluster=<kafka_cluster>. */
void kt_topics_write_strimzi(FILE *f, const struct kt_topics *t, const char *prefix,
			     const char *const *clusters, size_t nclusters,
			     const char *kafka_cluster);

#endif
