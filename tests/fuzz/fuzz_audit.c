/* fuzz_audit.c - the audit logger's input: an audit event or a dead letter (headers and value
 * from the input) translated and appended to a real log, and a record line checked as verify
 * does. Input: kind byte, then "name=value\n" header lines up to a line "--", then the value. */
#include "fuzz_common.h"
#include "../../consumers/audit/aud_event.h"

#include <unistd.h>

static struct wk_auditlog *flog;
static char fdir[600];
static unsigned fruns;

/* A fresh log in fdir (FUZZ_AUDIT_DIR, else /tmp/wk-fuzz-audit.<pid>); started again every
 * 5000 inputs so that a long run does not fill the disk. */
static void fresh_log(void)
{
	struct wk_auditlog_opts o = {0};
	char err[256], cmd[700];

	wk_auditlog_destroy(flog);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fdir);
	if (system(cmd))
		abort();
	o.dir = fdir;
	o.segment_bytes = 1 << 20;
	o.dedupe_window = 1000;
	flog = wk_auditlog_new(&o, err, sizeof(err));
	if (!flog)
		abort();
}

static void cleanup(void)
{
	char cmd[700];

	wk_auditlog_destroy(flog);
	flog = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fdir);
	if (system(cmd))
		return;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *d = getenv("FUZZ_AUDIT_DIR");

	(void)argc;
	(void)argv;
	wk_log_init("fuzz", WK_LOG_FATAL);
	if (d && *d && strlen(d) < 500 && !strchr(d, '\''))
		snprintf(fdir, sizeof(fdir), "%s", d);
	else
		snprintf(fdir, sizeof(fdir), "/tmp/wk-fuzz-audit.%d", (int)getpid());
	fresh_log();
	atexit(cleanup);
	return 0;
}

struct fhdrs {
	const char *name[16];
	size_t nlen[16];
	const char *val[16];
	size_t vlen[16];
	size_t n;
};

static const char *fheader(const void *msg, const char *name, size_t *len)
{
	const struct fhdrs *h = msg;

	for (size_t i = h->n; i-- > 0;)
		if (h->nlen[i] == strlen(name) && !memcmp(h->name[i], name, h->nlen[i])) {
			*len = h->vlen[i];
			return h->val[i];
		}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	struct fhdrs h = {0};
	struct aud_input in = {.topic = "wukong.audit", .offset = 1, .header = fheader, .msg = &h};
	struct aud_rec r;
	uint64_t seq, s2;
	char err[512], hash[WK_AUDITLOG_HASH_HEX];

	if (!size)
		return 0;
	if (++fruns % 5000 == 0)
		fresh_log();
	while (p < end && h.n < 16) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;

		if (!nl)
			break;
		if (nl - p == 2 && !memcmp(p, "--", 2)) {
			p = nl + 1;
			break;
		}
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq) {
			h.name[h.n] = p;
			h.nlen[h.n] = (size_t)(eq - p);
			h.val[h.n] = eq + 1;
			h.vlen[h.n] = (size_t)(nl - eq - 1);
			h.n++;
		}
		p = nl + 1;
	}
	in.value = p < end ? p : NULL;
	in.len = p < end ? (size_t)(end - p) : 0;
	aud_rec_init(&r);
	if (aud_append(flog, &r, data[0] & 1 ? AUD_DEAD_LETTER : AUD_AUDIT_EVENT, &in, &seq, err,
		       sizeof(err)) < 0)
		abort(); /* an I/O error on /tmp: not the input's fault */
	aud_rec_release(&r);
	wk_auditlog_check_line((const char *)data, size, &s2, hash, NULL, err, sizeof(err));
	return 0;
}
