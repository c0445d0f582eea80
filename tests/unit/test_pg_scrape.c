/* test_pg_scrape.c - virt-handler endpoints from the kubevirt-prometheus-metrics EndpointSlices:
 * only virt-handler pods, ready ones, the "metrics" port, IPv4 and IPv6, the certificate's name in
 * the URL and the pod's address in CONNECT_TO; hostile and oversized lists; and the scraper thread
 * stopping at once with nothing to do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "../../consumers/progress/pg_scrape.h"
#include "wk_config.h"
#include "wk_time.h"

#include <unistd.h>

static const char slices[] =
    "{\"kind\":\"EndpointSliceList\",\"items\":[{\"addressType\":\"IPv4\","
    "\"metadata\":{\"name\":\"kubevirt-prometheus-metrics-abcde\",\"labels\":{"
    "\"kubernetes.io/service-name\":\"kubevirt-prometheus-metrics\"}},"
    "\"ports\":[{\"name\":\"other\",\"port\":9999},{\"name\":\"metrics\",\"port\":8443,"
    "\"protocol\":\"TCP\"}],\"endpoints\":["
    "{\"addresses\":[\"10.244.1.7\"],\"conditions\":{\"ready\":true},\"nodeName\":"
    "\"ip-10-0-1-5.ec2.internal\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"virt-handler-x7k2p\","
    "\"namespace\":\"kubevirt\"}},"
    "{\"addresses\":[\"10.244.1.8\"],\"conditions\":{\"ready\":true},\"targetRef\":{\"kind\":"
    "\"Pod\",\"name\":\"virt-controller-5d8c9-abcde\"}},"
    "{\"addresses\":[\"10.244.1.9\"],\"conditions\":{\"ready\":false},\"nodeName\":\"n3\","
    "\"targetRef\":{\"kind\":\"Pod\",\"name\":\"virt-handler-notready\"}},"
    "{\"addresses\":[\"not-an-ip\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"virt-handler-bad\"}}"
    ","
    "{\"addresses\":[],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"virt-handler-none\"}},"
    "{\"addresses\":[\"10.244.2.3\"],\"nodeName\":\"n2\",\"targetRef\":{\"kind\":\"Pod\","
    "\"name\":\"virt-handler-abcde\"}}]},"
    "{\"addressType\":\"IPv6\",\"ports\":[{\"name\":\"metrics\",\"port\":8443}],\"endpoints\":["
    "{\"addresses\":[\"fd00::17\"],\"nodeName\":\"n6\",\"targetRef\":{\"kind\":\"Pod\",\"name\":"
    "\"virt-handler-v6v6v\"}}]},"
    "{\"ports\":[{\"name\":\"metrics\",\"port\":0}],\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],"
    "\"targetRef\":{\"kind\":\"Pod\",\"name\":\"virt-handler-noport\"}}]},"
    "7, null, {\"endpoints\":\"x\",\"ports\":{}}]}";

static void from_slices(void **state)
{
	struct pg_target *t;
	size_t n;
	char err[256];
	cJSON *o = cJSON_Parse(slices);

	(void)state;
	assert_non_null(o);
	assert_int_equal(
	    pg_targets_from_slices(o, "virt-handler.kubevirt.svc", &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].url, "https://virt-handler.kubevirt.svc:8443/metrics");
	assert_string_equal(t[0].connect_to, "virt-handler.kubevirt.svc:8443:10.244.1.7:8443");
	assert_string_equal(t[0].node, "ip-10-0-1-5.ec2.internal");
	assert_string_equal(t[1].connect_to, "virt-handler.kubevirt.svc:8443:10.244.2.3:8443");
	assert_string_equal(t[1].node, "n2");
	assert_string_equal(t[2].connect_to, "virt-handler.kubevirt.svc:8443:[fd00::17]:8443");
	free(t);
	cJSON_Delete(o);
}

static void hostile(void **state)
{
	struct pg_target *t = (void *)1;
	size_t n = 7;
	char err[256] = "";
	cJSON *o, *items, *sl, *eps;

	(void)state;
	assert_int_equal(pg_targets_from_slices(NULL, "x", &t, &n, err, sizeof(err)), -1);
	assert_null(t);
	assert_int_equal(n, 0);
	o = cJSON_Parse("{\"items\":{}}");
	assert_int_equal(pg_targets_from_slices(o, "x", &t, &n, err, sizeof(err)), -1);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"items\":[]}");
	assert_int_equal(pg_targets_from_slices(o, "x", &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	cJSON_Delete(o);
	/* the cap: 4096 endpoints pass, 4097 are refused */
	o = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(o, "items");
	sl = cJSON_CreateObject();
	cJSON_AddItemToArray(items, sl);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(sl, "ports"),
			     cJSON_Parse("{\"name\":\"metrics\",\"port\":8443}"));
	eps = cJSON_AddArrayToObject(sl, "endpoints");
	for (int i = 0; i < PG_SCRAPE_MAX_TARGETS; i++)
		cJSON_AddItemToArray(
		    eps, cJSON_Parse("{\"addresses\":[\"10.0.0.1\"],\"targetRef\":"
				     "{\"kind\":\"Pod\",\"name\":\"virt-handler-a\"}}"));
	assert_int_equal(pg_targets_from_slices(o, "x", &t, &n, err, sizeof(err)), 0);
	assert_int_equal(n, PG_SCRAPE_MAX_TARGETS);
	free(t);
	cJSON_AddItemToArray(eps, cJSON_Parse("{\"addresses\":[\"10.0.0.1\"],\"targetRef\":"
					      "{\"kind\":\"Pod\",\"name\":\"virt-handler-a\"}}"));
	assert_int_equal(pg_targets_from_slices(o, "x", &t, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 4096"));
	assert_null(t);
	cJSON_Delete(o);
}

/* A fixed URL nobody listens on: the round ends within the timeout, the thread stops at once. */
static void thread_bounded(void **state)
{
	struct pg_scrape_opts o;
	struct pg_scrape_counts c;
	struct pg_sample *smp;
	struct pg_scraper *s;
	char url[] = "http://127.0.0.1:9/metrics";
	char *urls[] = {url};
	char err[256];
	int64_t t0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.urls = urls;
	o.nurls = 1;
	o.interval_ms = 50;
	o.timeout_ms = 300;
	s = pg_scraper_start(&o, err, sizeof(err));
	assert_non_null(s);
	for (int i = 0; i < 100; i++) {
		pg_scraper_take(s, &smp, &c);
		free(smp);
		if (c.error)
			break;
		usleep(20000);
	}
	assert_true(c.error >= 1);
	t0 = wk_time_mono_ms();
	pg_scraper_stop(s);
	assert_true(wk_time_mono_ms() - t0 < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(from_slices),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(thread_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
