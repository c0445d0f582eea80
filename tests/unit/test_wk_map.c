/* test_wk_map.c - the string-keyed map: put/get/del, ownership, growth, iteration with deletion,
 * empty, long and hostile keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wk_map.h"

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static void empty_map(void **state)
{
	struct wk_map m;
	struct wk_map_iter it;

	(void)state;
	wk_map_init(&m, NULL);
	assert_int_equal(wk_map_count(&m), 0);
	assert_null(wk_map_get(&m, "a"));
	assert_null(wk_map_get(&m, ""));
	assert_null(wk_map_key(&m, "a"));
	assert_null(wk_map_del(&m, "a"));
	wk_map_iter_init(&it, &m);
	assert_false(wk_map_iter_next(&it));
	assert_false(wk_map_iter_after(&it, "a"));
	wk_map_release(&m);
	wk_map_release(&m); /* twice is harmless */
}

static void put_get_del(void **state)
{
	struct wk_map m;
	int a = 1, b = 2, c = 3;
	char key[8] = "k1";

	(void)state;
	wk_map_init(&m, NULL);
	assert_null(wk_map_put(&m, key, &a));
	key[1] = '2'; /* the map copied the key */
	assert_ptr_equal(wk_map_get(&m, "k1"), &a);
	assert_null(wk_map_get(&m, "k2"));
	assert_ptr_equal(wk_map_put(&m, "k1", &b), &a); /* replace returns the old value */
	assert_ptr_equal(wk_map_get(&m, "k1"), &b);
	assert_null(wk_map_put(&m, "", &c)); /* the empty key is a key */
	assert_ptr_equal(wk_map_get(&m, ""), &c);
	assert_int_equal(wk_map_count(&m), 2);
	assert_string_equal(wk_map_key(&m, "k1"), "k1");
	assert_ptr_equal(wk_map_del(&m, "k1"), &b);
	assert_null(wk_map_del(&m, "k1"));
	assert_null(wk_map_get(&m, "k1"));
	assert_int_equal(wk_map_count(&m), 1);
	assert_true(wk_map_bytes(&m) > 2 * 3);
	wk_map_release(&m);
	assert_int_equal(wk_map_count(&m), 0);
	assert_int_equal(wk_map_bytes(&m), 0);
	/* usable again after release */
	assert_null(wk_map_put(&m, "x", &a));
	assert_ptr_equal(wk_map_get(&m, "x"), &a);
	wk_map_release(&m);
}

static void owned_values(void **state)
{
	struct wk_map m;

	(void)state;
	freed = 0;
	wk_map_init(&m, count_free);
	assert_null(wk_map_put(&m, "a", wk_xstrdup("1")));
	assert_null(wk_map_put(&m, "a", wk_xstrdup("2"))); /* the old value is freed */
	assert_int_equal(freed, 1);
	assert_string_equal(wk_map_get(&m, "a"), "2");
	{
		char *same = wk_map_get(&m, "a");

		assert_null(wk_map_put(&m, "a", same)); /* putting the same value frees nothing */
		assert_int_equal(freed, 1);
	}
	assert_null(wk_map_del(&m, "a"));
	assert_int_equal(freed, 2);
	assert_null(wk_map_put(&m, "b", wk_xstrdup("3")));
	assert_null(wk_map_put(&m, "c", wk_xstrdup("4")));
	wk_map_release(&m);
	assert_int_equal(freed, 4);
}

/* Growth well past the first bucket count; every key still found once. */
static void many_keys(void **state)
{
	enum { N = 100000 };
	struct wk_map m;
	struct wk_map_iter it;
	char key[32];
	size_t seen = 0;

	(void)state;
	wk_map_init(&m, NULL);
	for (uintptr_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "ns-%lu/vm", (unsigned long)i);
		assert_null(wk_map_put(&m, key, (void *)(i + 1)));
	}
	assert_int_equal(wk_map_count(&m), N);
	for (uintptr_t i = 0; i < N; i += 997) {
		snprintf(key, sizeof(key), "ns-%lu/vm", (unsigned long)i);
		assert_ptr_equal(wk_map_get(&m, key), (void *)(i + 1));
	}
	for (wk_map_iter_init(&it, &m); wk_map_iter_next(&it);)
		seen++;
	assert_int_equal(seen, N);
	wk_map_release(&m);
}

/* Deleting the current entry while iterating: every entry visited once, the map ends empty. */
static void iterate_and_delete(void **state)
{
	struct wk_map m;
	struct wk_map_iter it;
	char key[32];
	size_t seen = 0, odd = 0;

	(void)state;
	freed = 0;
	wk_map_init(&m, count_free);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		wk_map_put(&m, key, wk_xasprintf("%d", i));
	}
	for (wk_map_iter_init(&it, &m); wk_map_iter_next(&it);) {
		seen++;
		if (atoi(it.val) % 2)
			wk_map_del(&m, it.key);
	}
	assert_int_equal(seen, 5000);
	assert_int_equal(freed, 2500);
	assert_int_equal(wk_map_count(&m), 2500);
	for (wk_map_iter_init(&it, &m); wk_map_iter_next(&it);) {
		odd += atoi(it.val) % 2;
		wk_map_del(&m, it.key);
	}
	assert_int_equal(odd, 0);
	assert_int_equal(wk_map_count(&m), 0);
	wk_map_release(&m);
}

/* A cursor without state: iter_after walks the same sequence as one iterator. */
static void cursor(void **state)
{
	struct wk_map m;
	struct wk_map_iter it, c;
	char key[32];
	const char *prev = NULL;
	size_t n = 0;

	(void)state;
	wk_map_init(&m, NULL);
	for (int i = 0; i < 600; i++) {
		snprintf(key, sizeof(key), "c%d", i);
		wk_map_put(&m, key, NULL);
	}
	wk_map_iter_init(&it, &m);
	for (;;) {
		bool more = wk_map_iter_next(&it);

		wk_map_iter_init(&c, &m);
		if (prev)
			assert_true(wk_map_iter_after(&c, prev));
		assert_int_equal(wk_map_iter_next(&c), more);
		if (!more)
			break;
		assert_string_equal(c.key, it.key);
		prev = it.key;
		n++;
	}
	assert_int_equal(n, 600);
	wk_map_iter_init(&c, &m);
	assert_false(wk_map_iter_after(&c, "absent"));
	wk_map_release(&m);
}

/* Long keys, bytes above 0x7f, keys that differ only at the end, keys sharing a hash chain. */
/* WK_MAP_EACH visits every entry once, and an empty map not at all. */
static void each_macro(void **state)
{
	struct wk_map m;
	size_t seen = 0, sum = 0;

	(void)state;
	wk_map_init(&m, NULL);
	WK_MAP_EACH(it, &m)
	seen++;
	assert_int_equal(seen, 0);
	for (uintptr_t i = 1; i <= 100; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%u", (unsigned)i);
		wk_map_put(&m, k, (void *)i);
	}
	WK_MAP_EACH(it, &m)
	{
		seen++;
		sum += (uintptr_t)it.val;
	}
	assert_int_equal(seen, 100);
	assert_int_equal(sum, 5050);
	wk_map_release(&m);
}

static void hostile_keys(void **state)
{
	struct wk_map m;
	size_t big = 1 << 20;
	char *k1 = wk_xmalloc(big + 1), *k2 = wk_xmalloc(big + 1);
	int a, b, c;

	(void)state;
	memset(k1, 'x', big);
	k1[big] = '\0';
	memcpy(k2, k1, big + 1);
	k2[big - 1] = 'y';
	wk_map_init(&m, NULL);
	wk_map_put(&m, k1, &a);
	wk_map_put(&m, k2, &b);
	wk_map_put(&m, "\xff\xfe/\x01", &c);
	assert_ptr_equal(wk_map_get(&m, k1), &a);
	assert_ptr_equal(wk_map_get(&m, k2), &b);
	assert_ptr_equal(wk_map_get(&m, "\xff\xfe/\x01"), &c);
	assert_null(wk_map_get(&m, "\xff\xfe/"));
	assert_int_equal(wk_map_count(&m), 3);
	wk_map_release(&m);
	free(k1);
	free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_map),	  cmocka_unit_test(put_get_del),
	    cmocka_unit_test(owned_values),	  cmocka_unit_test(many_keys),
	    cmocka_unit_test(iterate_and_delete), cmocka_unit_test(cursor),
	    cmocka_unit_test(hostile_keys),	  cmocka_unit_test(each_macro),
	};

	return cmocka_run_group_tests_name("wk_map", tests, NULL, NULL);
}
