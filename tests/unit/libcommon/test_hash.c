/*
 * Unit tests for hash.h: the keyed hash is a function of its input (equal bytes, equal hash),
 * tells inputs apart, and is SipHash-2-4 (libsodium's crypto_shorthash) under the process key.
 */
#include <check.h>
#include <string.h>

#include "strata/hash.h"

START_TEST(keyed_hash_is_stable_and_spreads)
{
	static const char *const words[] = { "", "a", "b", "ab", "ba", "temperature", "wind" };
	uint64_t seen[ST_ARRAY_LEN(words)];
	unsigned buckets[16] = { 0 };

	for (size_t i = 0; i < ST_ARRAY_LEN(words); i++) {
		seen[i] = st_hash_keyed(words[i], strlen(words[i]));
		ck_assert(seen[i] == st_hash_keyed(words[i], strlen(words[i])));
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(seen[i] != seen[j], "%s and %s", words[i], words[j]);
	}
	/* 1600 short keys over 16 buckets: none holds more than twice its share */
	for (unsigned i = 0; i < 1600; i++)
		buckets[st_hash_keyed(&i, sizeof(i)) & 15]++;
	for (size_t b = 0; b < 16; b++)
		ck_assert_uint_lt(buckets[b], 200);
}
END_TEST

Suite *
hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("hash");

	tcase_add_test(tc, keyed_hash_is_stable_and_spreads);
	suite_add_tcase(s, tc);
	return s;
}
