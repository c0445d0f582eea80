/* sim_crds.c - load the published CRDs of tools/sim/crds/ (sim_crds.h). */
#include "sim_crds.h"

#include "sim_schema.h"
#include "sim_yaml.h"

#include <dirent.h>
#include <errno.h>

struct sim_crds {
	cJSON *crd[SIM_CRDS_MAX];
	size_t n;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct sim_crds *sim_crds_load_dir(const char *dir, char *errstr, size_t errstr_size)
{
	struct sim_crds *c = wk_xcalloc(1, sizeof(*c));
	char *names[SIM_CRDS_MAX * 2];
	size_t nn = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d) {
		free(c);
		wk_err(errstr, errstr_size, "cannot open '%s': %s", dir, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d)) && nn < WK_ARRAY_SIZE(names)) {
		size_t len = strlen(e->d_name);

		if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
			names[nn++] = wk_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		cJSON *crd = NULL;
		const char *kind;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (c->n < SIM_CRDS_MAX)
			crd = sim_yaml_load_file(path, errstr, errstr_size);
		else
			wk_err(errstr, errstr_size, "%s: more than %d CRDs", dir, SIM_CRDS_MAX);
		kind = crd ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(crd, "kind"))
			   : NULL;
		if (crd && (!kind || strcmp(kind, "CustomResourceDefinition"))) {
			wk_err(errstr, errstr_size, "%s: not a CustomResourceDefinition", path);
			cJSON_Delete(crd);
			crd = NULL;
		}
		if (!crd) {
			for (; i < nn; i++)
				free(names[i]);
			sim_crds_destroy(c);
			return NULL;
		}
		c->crd[c->n++] = crd;
		free(names[i]);
	}
	return c;
}

void sim_crds_destroy(struct sim_crds *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		cJSON_Delete(c->crd[i]);
	free(c);
}

const cJSON *sim_crds_schema(const struct sim_crds *c, const char *group, const char *version,
			     const char *plural)
{
	for (size_t i = 0; c && i < c->n; i++) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(c->crd[i], "spec");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(spec, "names");
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "group"));
		const char *p =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(names, "plural"));

		if (g && p && !strcmp(g, group) && !strcmp(p, plural))
			return sim_crd_schema(c->crd[i], version);
	}
	return NULL;
}

size_t sim_crds_count(const struct sim_crds *c)
{
	return c ? c->n : 0;
}

const cJSON *sim_crds_object(const struct sim_crds *c, size_t i)
{
	return c && i < c->n ? c->crd[i] : NULL;
}
