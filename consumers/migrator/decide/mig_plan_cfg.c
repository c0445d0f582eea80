/* mig_plan_cfg.c - the planner's per-VM transfer settings (mig_plan_cfg.h;
 * tests/unit/test_mig_plan_cfg.c). */
#include "decide/mig_plan_cfg.h"

#include "wk_json.h"
#include "wk_kubevirt.h"
#include "wk_quantity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

void mig_plan_cfg_kv(const struct wk_kubevirt_migrations *m, struct mig_plan_params *p)
{
	if (!m)
		return;
	if (m->parallel_per_cluster >= 1 && m->parallel_per_cluster <= 1000)
		p->per_cluster = (int)m->parallel_per_cluster;
	if (m->parallel_outbound_per_node >= 1 && m->parallel_outbound_per_node <= 1000)
		p->per_node = (int)m->parallel_outbound_per_node;
	p->bw_cap = m->bandwidth_per_migration > 0 ? (double)m->bandwidth_per_migration : 0;
	p->completion_per_gib =
	    m->completion_timeout_per_gib >= 0 ? m->completion_timeout_per_gib : 0;
	p->progress_timeout = m->progress_timeout >= 0 ? m->progress_timeout : 0;
	p->allow_auto_converge = m->allow_auto_converge;
	p->allow_post_copy = m->allow_post_copy;
}

int mig_plan_cfg_policy(const cJSON *policy, struct mig_plan_params *p)
{
	const cJSON *s = wk_json_path(policy, "spec"), *v;
	int n = 0;

	if (!cJSON_IsObject(s))
		return 0;
	if (cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(s, "allowAutoConverge"))) {
		p->allow_auto_converge = cJSON_IsTrue(v);
		n++;
	}
	if (cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(s, "allowPostCopy"))) {
		p->allow_post_copy = cJSON_IsTrue(v);
		n++;
	}
	v = cJSON_GetObjectItemCaseSensitive(s, "completionTimeoutPerGiB");
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    v->valuedouble <= 1e9) {
		p->completion_per_gib = (int64_t)v->valuedouble;
		n++;
	}
	v = cJSON_GetObjectItemCaseSensitive(s, "bandwidthPerMigration");
	if (cJSON_IsString(v) || cJSON_IsNumber(v)) {
		int64_t q = -1;
		char err[64];

		if (cJSON_IsString(v)) {
			if (wk_quantity_parse(v->valuestring, &q, err, sizeof(err)) < 0)
				q = -1;
		} else if (isfinite(v->valuedouble) && v->valuedouble >= 0 &&
			   v->valuedouble < 1e15) {
			q = (int64_t)v->valuedouble;
		}
		if (q >= 0 && q < (int64_t)1e15) {
			p->bw_cap = (double)q; /* "0" = unlimited, as in the CR */
			n++;
		}
	}
	return n;
}

void mig_plan_cfg_text(const struct mig_plan_params *p, char *out, size_t out_size)
{
	char bw[40];

	if (p->bw_cap > 0)
		snprintf(bw, sizeof(bw), "%.0fMi/s", p->bw_cap / (1024.0 * 1024.0));
	else
		snprintf(bw, sizeof(bw), "unlimited");
	snprintf(
	    out, out_size,
	    "bandwidth %s, %lld s/GiB, progress timeout %lld s, auto-converge %s, post-copy %s", bw,
	    (long long)p->completion_per_gib, (long long)p->progress_timeout,
	    p->allow_auto_converge ? "on" : "off", p->allow_post_copy ? "on" : "off");
}

double mig_plan_cold_seconds(double base_s, int64_t disk_bytes, double copy_rate)
{
	double s = base_s > 0 ? base_s : 0;

	if (disk_bytes > 0 && copy_rate > 0)
		s += (double)disk_bytes / copy_rate;
	return s;
}
