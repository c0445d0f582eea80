/* fuzz_cloudevent.c - a Kafka message as every consumer gets it: its headers and value through
 * wk_cloudevent_decode_parts (what wk_cloudevent_decode does after reading the headers), then the
 * value to the parser its ce_type selects, as the services route it: request.migrate / cancel /
 * drain (migrator), request.clone (cloner), status (status writer), progress.* and watcher events
 * (progress aggregator). Input: one byte N (headers, N % 16), then per header a name length byte,
 * the name, a two-byte little-endian value length (0xffff: a null value), the value; the rest is
 * the message value. Input that runs out early ends the headers there. */
#include "fuzz_common.h"

#include "../../consumers/cloner/cl_request.h"
#include "../../consumers/progress/pg_state.h"
#include "../../consumers/status/st_update.h"
#include "decide/mig_drain.h"
#include "decide/mig_request.h"
#include "wk_cloudevent.h"
#include "wk_types.h"

#include <cjson/cJSON.h>

FUZZ_QUIET_INIT

static void route(const struct wk_cloudevent *ev)
{
	const char *d = ev->data ? ev->data : "";
	size_t n = ev->data_len;
	struct mig_request r;
	struct mig_cancel c;
	struct mig_drain_req dr;
	struct mig_verdict v;
	char err[256];

	if (!strcmp(ev->type, WK_CE_REQUEST_MIGRATE)) {
		mig_parse_migrate(d, n, &r, &v);
	} else if (!strcmp(ev->type, WK_CE_REQUEST_CANCEL)) {
		mig_parse_cancel(d, n, &c, &v);
	} else if (!strcmp(ev->type, WK_CE_REQUEST_DRAIN)) {
		mig_parse_drain(d, n, &dr, &v);
	} else if (!strcmp(ev->type, WK_CE_REQUEST_CLONE)) {
		struct cl_submission *cs = malloc(sizeof(*cs));
		struct cl_verdict cv;

		cl_parse_submission(d, n, cs, &cv);
		free(cs);
	} else if (!strcmp(ev->type, WK_CE_STATUS)) {
		struct st_update u;

		st_update_init(&u);
		st_update_parse(&u, d, n, err, sizeof(err));
		st_update_release(&u);
	} else if (!strncmp(ev->type, WK_CE_PREFIX, strlen(WK_CE_PREFIX))) {
		/* progress reports and watcher events ("<kind>.<change>") to the aggregator */
		struct pg_state *s = pg_state_new("local");
		cJSON *body = cJSON_ParseWithLength(d, n);
		const char *t = ev->type + strlen(WK_CE_PREFIX);
		const char *dot = strrchr(t, '.');

		if (body && !strncmp(t, "progress.", 9)) {
			pg_state_report(s, body, 1000, err, sizeof(err));
		} else if (body && dot && (size_t)(dot - t) < 128) {
			char kind[128];

			memcpy(kind, t, (size_t)(dot - t));
			kind[dot - t] = '\0';
			pg_state_event(s, kind, dot + 1, body, 1000, err, sizeof(err));
		}
		cJSON_Delete(body);
		pg_state_destroy(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(16);
	struct wk_cloudevent ev;
	size_t i = 0, nh;
	char err[256];

	if (size < 1) {
		rd_kafka_headers_destroy(hdrs);
		return 0;
	}
	nh = data[i++] % 16;
	for (size_t h = 0; h < nh && i < size; h++) {
		size_t nl = data[i++], vl;
		char name[256];

		if (i + nl + 2 > size)
			break;
		memcpy(name, data + i, nl);
		name[nl] = '\0';
		i += nl;
		vl = (size_t)data[i] | (size_t)data[i + 1] << 8;
		i += 2;
		if (vl == 0xffff) {
			rd_kafka_header_add(hdrs, name, (ssize_t)nl, NULL, 0);
			continue;
		}
		if (i + vl > size)
			vl = size - i;
		rd_kafka_header_add(hdrs, name, (ssize_t)nl, data + i, (ssize_t)vl);
		i += vl;
	}
	if (wk_cloudevent_decode_parts(hdrs, size > i ? data + i : NULL, size - i, &ev, err,
				       sizeof(err)) == 0)
		route(&ev);
	wk_cloudevent_decode_parts(NULL, data, size, &ev, err, sizeof(err));
	rd_kafka_headers_destroy(hdrs);
	return 0;
}
