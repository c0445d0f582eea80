/* fuzz_watch.c - a watch stream from the API server: line framing (split at arbitrary chunk
 * boundaries taken from the input's first byte) and each line's event parse. */
#include "fuzz_common.h"
#include "wk_k8s_watch.h"

FUZZ_QUIET_INIT

static int on_line(const char *line, size_t len, void *opaque)
{
	struct wk_k8s_event ev;
	const char *reason;
	char err[256];

	(void)opaque;
	if (line && !wk_k8s_event_parse(line, len, &ev, &reason, err, sizeof(err)))
		wk_k8s_event_release(&ev);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wk_k8s_lines l;
	size_t chunk, off = 0;

	if (!size)
		return 0;
	chunk = (size_t)data[0] + 1;
	wk_k8s_lines_init(&l, 4096);
	for (off = 1; off < size; off += chunk)
		wk_k8s_lines_feed(&l, (const char *)data + off, size - off < chunk ? size - off : chunk,
				  on_line, NULL);
	wk_k8s_lines_release(&l);
	return 0;
}
