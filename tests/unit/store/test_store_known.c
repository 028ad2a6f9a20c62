/*
 * test_store_known.c: the filter of known id hashes. Every key added is
 * reported present, across growth into new levels; keys never added are
 * mostly reported absent (the point of the filter), within the rate it is
 * sized for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "store_int.h"

/* Keys as the store makes them: store_idh of distinct ids. */
static int64_t key(unsigned n)
{
	char id[64];
	int len = snprintf(id, sizeof id, "indicator--%08x-0000-4000-8000-000000000000", n);
	return store_idh(id, (size_t)len);
}

static void test_no_false_negatives_across_levels(void **state)
{
	(void)state;
	store_known *k = store_known_new(1000);
	assert_non_null(k);
	size_t first = store_known_bytes(k);
	/* Far past the first level's size: several levels are added. */
	for (unsigned i = 0; i < 600000; i++)
		store_known_add(k, key(i));
	assert_true(store_known_bytes(k) > 4 * first);
	for (unsigned i = 0; i < 600000; i++)
		assert_true(store_known_may_have(k, key(i)));
	/* About 16 bits a key, doubling levels: a few MB for 600,000 keys. */
	assert_true(store_known_bytes(k) < 8u * 1024 * 1024);
	store_known_free(k);
}

static void test_absent_keys_mostly_absent(void **state)
{
	(void)state;
	store_known *k = store_known_new(200000);
	unsigned yes = 0;

	assert_non_null(k);
	for (unsigned i = 0; i < 200000; i++)
		store_known_add(k, key(i));
	for (unsigned i = 200000; i < 300000; i++)
		yes += store_known_may_have(k, key(i));
	/* Sized for twice the keys at 16 bits a key: well under 2% of keys
	 * never added look present. */
	assert_true(yes < 2000);
	store_known_free(k);
}

static void test_empty(void **state)
{
	(void)state;
	store_known *k = store_known_new(0);
	assert_non_null(k);
	assert_false(store_known_may_have(k, key(1)));
	assert_false(store_known_may_have(k, 0));
	store_known_add(k, 0);
	assert_true(store_known_may_have(k, 0));
	store_known_free(k);
	store_known_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_false_negatives_across_levels),
		cmocka_unit_test(test_absent_keys_mostly_absent),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
