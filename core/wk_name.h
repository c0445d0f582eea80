/* wk_name.h - validation of Kubernetes names before they go into a request path or a message. */
#ifndef WK_NAME_H
#define WK_NAME_H

#include "wk_common.h"

/* DNS-1123 subdomain (most object names): <= 253, [a-z0-9.-], starts and ends alphanumeric. */
bool wk_name_is_dns1123_subdomain(const char *s);
/* DNS-1123 label (namespaces, many kinds): <= 63, [a-z0-9-], starts and ends alphanumeric. */
bool wk_name_is_dns1123_label(const char *s);
/* Same checks with a reason: 0, or -1 with "invalid name '...': why". */
int wk_name_check_subdomain(const char *s, char *errstr, size_t errstr_size);
int wk_name_check_label(const char *s, char *errstr, size_t errstr_size);

#endif
