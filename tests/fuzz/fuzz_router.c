/* fuzz_router.c - the router's outside input: a cluster registry record (wukong.clusters), a
 * submission's body under the registry built so far (routing, fan-out, placement, hold, the
 * cross-cluster check) and an audit record for the fan-out aggregate. Input: kind byte, then the
 * bytes. Kind 'c': a registry record (key = the first line); 's': a submission; anything else: an
 * audit record. Every eighth input starts from a fresh state. */
#include "fuzz_common.h"
#include "../../consumers/router/rt_fanout.h"
#include "../../consumers/router/rt_route.h"

static struct rt_registry reg;
static struct rt_fanouts fan;
static unsigned runs;

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s, *nl;
	struct rt_decision d;

	if (runs++ % 8 == 0) {
		if (runs > 1) {
			rt_registry_release(&reg);
			rt_fanouts_release(&fan);
		}
		rt_registry_init(&reg, 15000);
		rt_fanouts_init(&fan);
	}
	if (!size)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0]) {
	case 'c':
		nl = strchr(s, '\n');
		if (nl) {
			*nl = '\0';
			rt_registry_apply(&reg, s, nl + 1, size - 1 - (size_t)(nl + 1 - s), err,
					  sizeof(err));
		} else {
			rt_registry_apply(&reg, NULL, s, size - 1, err, sizeof(err));
		}
		break;
	case 's': {
		struct rt_input in = {"dev.novasphere.wukong.request.migrate.v1", s, size - 1,
				      1800000000000LL, runs % 2 ? 1800000005000LL : 0};

		rt_decide(&reg, &in, &d);
		for (size_t i = 0; i < d.n; i++)
			if (!d.targets[i].body || strlen(d.targets[i].request_id) > 63)
				abort();
		rt_decision_release(&d);
		break;
	}
	default: {
		const char *p = rt_fanouts_apply(&fan, s, size - 1);

		if (p) {
			const struct rt_fanout *fo = rt_fanouts_get(&fan, p);
			char *rep = fo ? rt_fanout_report_json(fo) : NULL;

			free(rep);
		}
		break;
	}
	}
	free(s);
	return 0;
}
