/* fuzz_progress.c - the progress aggregator's inputs into one state: executor reports
 * (wukong.progress) and watcher events (wukong.events) in any order, then what it publishes from
 * them (status and progress bodies, node and cluster aggregates) and its garbage collection.
 * Input: records separated by NUL bytes; a record's first byte chooses what it is (a report, or an
 * event of one of the kinds and changes the aggregator reads), the rest is its JSON body. */
#include "fuzz_common.h"

#include "../../consumers/progress/pg_state.h"

#include <cjson/cJSON.h>

FUZZ_QUIET_INIT

static const char *const kinds[] = {"virtualmachineinstancemigration", "virtualmachineinstance",
				    "node", "wukong", "virtualmachine"};
static const char *const changes[] = {"added", "modified", "deleted", "synced"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_state *s = pg_state_new("local");
	const char *d = (const char *)data;
	char err[256];
	size_t i = 0;
	int64_t now = 1000;

	while (i < size) {
		const char *end = memchr(d + i, '\0', size - i);
		size_t n = end ? (size_t)(end - (d + i)) : size - i;

		if (n >= 1) {
			unsigned sel = (unsigned char)d[i];
			cJSON *body = cJSON_ParseWithLength(d + i + 1, n - 1);

			if (body) {
				if (sel % 6 == 0)
					pg_state_report(s, body, now, err, sizeof(err));
				else
					pg_state_event(s, kinds[sel % 5], changes[(sel / 8) % 4],
						       body, now, err, sizeof(err));
				cJSON_Delete(body);
			}
		}
		now += 500;
		i += n + 1;
	}
	for (int which = 0; which < 5; which++)
		pg_state_metric(s, "default", "web-1-vm", which, (double)which * 1e6, 0);
	pg_state_metrics_apply(s, now);
	for (struct pg_op *op = pg_state_next_op(s, NULL); op; op = pg_state_next_op(s, op)) {
		free(pg_op_status_json(s, op, 1));
		free(pg_op_progress_json(s, op, now));
	}
	{
		const struct pg_node_agg *nodes;
		size_t nn = pg_state_nodes(s, &nodes);
		struct pg_cluster_agg c;

		for (size_t k = 0; k < nn; k++)
			free(pg_node_progress_json(s, &nodes[k], now));
		pg_state_cluster(s, now, &c);
		free(pg_cluster_progress_json(s, &c, now));
	}
	pg_state_gc(s, now + 3600 * 1000, 1000);
	pg_state_destroy(s);
	return 0;
}
