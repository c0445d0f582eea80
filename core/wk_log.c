/* wk_log.c - structured JSON log lines with secret redaction. */
#include "wk_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192 /* longer messages are cut, with "…" at the end */
/* Secrets remembered; when full, the one added (or re-added) longest ago is replaced, with a
 * warning: rotated tokens keep arriving and the newest matter most. */
#define MAX_SECRETS 64

enum wk_log_level wk_log_min_level = WK_LOG_INFO;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char svc_name[64] = "wukong";
static char *secrets[MAX_SECRETS];
static unsigned long long secret_gen[MAX_SECRETS]; /* when it was last added */
static unsigned long long secret_clock;
static int nsecrets;
static unsigned long long secrets_replaced;
static FILE *stream;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void wk_log_init(const char *svc, enum wk_log_level min_level)
{
	if (svc)
		wk_strlcpy(svc_name, svc, sizeof(svc_name));
	wk_log_min_level = min_level;
}

int wk_log_level_parse(const char *name, enum wk_log_level *out)
{
	for (size_t i = 0; i < WK_ARRAY_SIZE(level_names); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum wk_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*out = WK_LOG_WARN;
		return 0;
	}
	return -1;
}

const char *wk_log_level_name(enum wk_log_level level)
{
	if ((int)level < 0 || (size_t)level >= WK_ARRAY_SIZE(level_names))
		return "unknown";
	return level_names[level];
}

void wk_log_add_secret(const char *secret)
{
	int oldest = 0;
	unsigned long long replaced = 0;

	if (!secret || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nsecrets; i++) {
		if (!strcmp(secrets[i], secret)) {
			secret_gen[i] = ++secret_clock;
			pthread_mutex_unlock(&lock);
			return;
		}
		if (secret_gen[i] < secret_gen[oldest])
			oldest = i;
	}
	if (nsecrets < MAX_SECRETS) {
		oldest = nsecrets++;
	} else {
		free(secrets[oldest]);
		replaced = ++secrets_replaced;
	}
	secrets[oldest] = wk_xstrdup(secret);
	secret_gen[oldest] = ++secret_clock;
	pthread_mutex_unlock(&lock);
	if (replaced == 1 || (replaced && !(replaced & (replaced - 1))))
		wk_warn("log redaction: more than %d secrets registered; the oldest are replaced "
			"(%llu so far) and no longer redacted by value",
			MAX_SECRETS, replaced);
}

void wk_log_clear_secrets(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nsecrets; i++)
		free(secrets[i]);
	nsecrets = 0;
	secrets_replaced = 0;
	pthread_mutex_unlock(&lock);
}

void wk_log_set_stream(FILE *f)
{
	stream = f;
}

/* Replace every registered secret, and the credential after "Bearer ", by [REDACTED] (a secret
 * shorter than that by as many '*'), in place within size bytes. Each search goes on after the
 * replacement, so a secret that is (or is inside) its own replacement cannot loop. */
static void redact(char *s, size_t size)
{
	static const char mark[] = "[REDACTED]";
	const size_t ml = sizeof(mark) - 1;
	char *p;

	for (int i = 0; i < nsecrets; i++) {
		size_t sl = strlen(secrets[i]);

		for (char *from = s; (p = strstr(from, secrets[i])) != NULL;) {
			if (sl >= ml) {
				memcpy(p, mark, ml);
				memmove(p + ml, p + sl, strlen(p + sl) + 1);
				from = p + ml;
			} else {
				memset(p, '*', sl);
				from = p + sl;
			}
		}
	}
	for (p = s; (p = strcasestr(p, "bearer ")) != NULL;) {
		char *v = p + 7, *e = v;
		size_t at = (size_t)(v - s), tail;

		while (*e && *e != ' ' && *e != '"' && *e != '\'' && *e != '\n' && *e != ',')
			e++;
		if (e == v || (e - v == (ptrdiff_t)ml && !strncmp(v, mark, ml))) {
			p = e;
			continue;
		}
		if (at + ml + 1 > size) {
			/* No room for the mark: drop the token and what follows. */
			*v = '\0';
			break;
		}
		tail = strlen(e);
		if (at + ml + tail + 1 > size)
			tail = size - 1 - at - ml;
		memmove(v + ml, e, tail);
		memcpy(v, mark, ml);
		v[ml + tail] = '\0';
		p = v + ml;
	}
}

/* Append s to out as JSON string content (no quotes). */
static size_t json_escape(char *out, size_t size, size_t pos, const char *s)
{
	for (; *s && pos + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)c;
		} else if (c == '\n') {
			out[pos++] = '\\';
			out[pos++] = 'n';
		} else if (c == '\t') {
			out[pos++] = '\\';
			out[pos++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			pos += (size_t)snprintf(out + pos, size - pos, "\\u%04x", c);
		} else {
			out[pos++] = (char)c;
		}
	}
	out[pos] = '\0';
	return pos;
}

__attribute__((format(printf, 3, 0)))
static void vemit(enum wk_log_level level, const char *key, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX * 2 + 256], ts[40];
	struct timespec now;
	struct tm tm;
	size_t pos;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	pthread_mutex_lock(&lock);
	redact(msg, sizeof(msg));
	pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"svc\":\"",
			       ts, now.tv_nsec / 1000000L, wk_log_level_name(level));
	pos = json_escape(line, sizeof(line), pos, svc_name);
	if (key) {
		char k[512];

		wk_strlcpy(k, key, sizeof(k));
		redact(k, sizeof(k));
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"key\":\"");
		pos = json_escape(line, sizeof(line), pos, k);
	}
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"msg\":\"");
	pos = json_escape(line, sizeof(line), pos, msg);
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\"}\n");
	if (stream) {
		fwrite(line, 1, pos, stream);
		fflush(stream);
	} else {
		/* one write(2) per line so lines from threads and processes never interleave */
		ssize_t w WK_UNUSED = write(STDERR_FILENO, line, pos);
	}
	pthread_mutex_unlock(&lock);
}

void wk_log_emit(enum wk_log_level level, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(level, key, fmt, ap);
	va_end(ap);
}

void wk_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(WK_LOG_FATAL, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
