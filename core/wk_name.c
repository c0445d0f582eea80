/* wk_name.c - DNS-1123 name checks (the rules of k8s.io/apimachinery/pkg/util/validation). */
#include "wk_name.h"

#define SUBDOMAIN_MAX 253
#define LABEL_MAX 63

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Print at most 64 bytes of a hostile name, with control characters masked, so that an error
 * message stays one short line. */
static void shown(const char *s, char *out, size_t out_size)
{
	size_t i, j = 0;

	for (i = 0; s[i] && j + 4 < out_size && i < 64; i++)
		out[j++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i] && j + 4 < out_size) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

static int check(const char *s, size_t max, bool dots, char *errstr, size_t errstr_size)
{
	char show[80];
	size_t len, i;
	const char *why = NULL;

	if (!s)
		return wk_err(errstr, errstr_size, "invalid name '': must not be empty");
	len = strnlen(s, max + 1);
	if (len == 0)
		why = "must not be empty";
	else if (len > max)
		why = dots ? "must be no more than 253 characters"
			   : "must be no more than 63 characters";
	else if (!is_lower_alnum(s[0]))
		why = "must start with a lower case alphanumeric character";
	else if (!is_lower_alnum(s[len - 1]))
		why = "must end with a lower case alphanumeric character";
	for (i = 0; !why && i < len; i++) {
		char c = s[i];

		if (is_lower_alnum(c) || c == '-')
			continue;
		if (c == '.' && dots) {
			/* Each dot-separated part is itself a label: no empty part, no '-' at its
			 * edges. */
			if (!is_lower_alnum(s[i - 1]) || !is_lower_alnum(s[i + 1]))
				why = "each part between dots must start and end with an "
				      "alphanumeric "
				      "character";
			continue;
		}
		why = dots ? "must consist of lower case alphanumeric characters, '-' or '.'"
			   : "must consist of lower case alphanumeric characters or '-'";
	}
	if (!why)
		return 0;
	shown(s, show, sizeof(show));
	return wk_err(errstr, errstr_size, "invalid name '%s': %s", show, why);
}

int wk_name_check_subdomain(const char *s, char *errstr, size_t errstr_size)
{
	return check(s, SUBDOMAIN_MAX, true, errstr, errstr_size);
}

int wk_name_check_label(const char *s, char *errstr, size_t errstr_size)
{
	return check(s, LABEL_MAX, false, errstr, errstr_size);
}

bool wk_name_is_dns1123_subdomain(const char *s)
{
	return wk_name_check_subdomain(s, NULL, 0) == 0;
}

bool wk_name_is_dns1123_label(const char *s)
{
	return wk_name_check_label(s, NULL, 0) == 0;
}
