/* fuzz_console.c - the web console's view (consumers/console/con_model.c) and the drain timeline
 * it keeps (core/wk_chart.c): messages of the four topics in any order, then everything it serves
 * (snapshot, delta, the audit search, drain JSON and SVG, convergence JSON) and its expiry.
 * Input: records separated by NUL bytes; a record's first byte chooses the topic (and whether a
 * ce_subject / heartbeat ce_type comes with it), the rest is the message value. */
#include "fuzz_common.h"

#include "../../consumers/console/con_model.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct con_limits l;
	struct con_model *m;
	const char *d = (const char *)data;
	struct con_audit_query q = {0};
	static const char *const ids[] = {"dr-1", "maint-1", "x", ""};
	static const char *const ops[] = {"mig:local/default/web", "clone:local/default/copy"};
	char err[256];
	size_t i = 0;
	int64_t now = 1000;

	con_limits_default(&l);
	l.ops = 50; /* small caps, so the fuzzer reaches them */
	l.drains = 3;
	l.audit = 20;
	l.conv_points = 8;
	m = con_model_new(&l);
	while (i < size) {
		const char *end = memchr(d + i, '\0', size - i);
		size_t n = end ? (size_t)(end - (d + i)) : size - i;

		if (n >= 1) {
			unsigned sel = (unsigned char)d[i];

			con_model_apply(
			    m, (enum con_topic)(sel % 4), "k",
			    (sel & 0x10) ? "dev.novasphere.wukong.cluster.heartbeat" : NULL,
			    (sel & 0x20) ? "Node/n1" : ((sel & 0x40) ? "Wukong/default/web" : NULL),
			    now, d + i + 1, n - 1, err, sizeof(err));
			if (sel & 0x80)
				free(con_model_delta(m, now));
		}
		now += 700;
		i += n + 1;
	}
	free(con_model_snapshot(m, now));
	free(con_model_delta(m, now));
	for (size_t k = 0; k < 4; k++) {
		free(con_model_drain_json(m, ids[k]));
		free(con_model_drain_svg(m, ids[k], now));
	}
	for (size_t k = 0; k < 2; k++)
		free(con_model_conv_json(m, ops[k]));
	q.request = "dr-1";
	free(con_model_audit_search(m, &q));
	q.request = NULL;
	q.vm = "default/web";
	q.node = "n1";
	free(con_model_audit_search(m, &q));
	con_model_expire(m, now + 3600000);
	free(con_model_delta(m, now + 3600000));
	con_model_destroy(m);
	return 0;
}
