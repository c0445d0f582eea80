/* wk_version.c - version strings; WK_BUILD_VERSION comes from $(B)/gen/wk_build_version.h, which
 * the Makefile rewrites when `git describe` (or VERSION) changes. */
#include "wk_version.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "wk_build_version.h"

#ifndef WK_BUILD_VERSION
#define WK_BUILD_VERSION "unknown"
#endif

const char *wk_build_version(void)
{
	return WK_BUILD_VERSION;
}

void wk_version_print(FILE *f, const char *prog)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(f, "%s %s\n", prog, WK_BUILD_VERSION);
	fprintf(f, "  librdkafka %s\n", rd_kafka_version_str());
	fprintf(f, "  libcurl %s\n", cv && cv->version ? cv->version : "unknown");
	fprintf(f, "  cJSON %s\n", cJSON_Version());
	fprintf(f, "  libyaml %s\n", yaml_get_version_string());
	fprintf(f, "  OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION));
	fprintf(f, "  libmicrohttpd %s\n", MHD_get_version());
}
