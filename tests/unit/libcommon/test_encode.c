/*
 * Unit tests for encode.h's hex: the one digit decoder every parser of hex shares (principal
 * keys, URL and Redis URL percent-escapes, chunk sizes, the key tool), and the encoder.
 */
#include <check.h>
#include <string.h>

#include "strata/encode.h"

static const struct {
	int c;
	int value;
} digits[] = {
	{ '0', 0 },  { '9', 9 },  { 'a', 10 },  { 'f', 15 }, { 'A', 10 }, { 'F', 15 },
	{ 'g', -1 }, { 'G', -1 }, { '/', -1 },  { ':', -1 }, { '@', -1 }, { '`', -1 },
	{ ' ', -1 }, { 0, -1 },   { 0xe9, -1 }, { -1, -1 },
};

START_TEST(hex_digit_table)
{
	ck_assert_msg(st_hex_digit(digits[_i].c) == digits[_i].value, "case %d", _i);
}
END_TEST

START_TEST(hex_encode_round_trip)
{
	static const unsigned char bytes[] = { 0x00, 0x7f, 0x80, 0xff, 0x12 };
	char text[11], small[10];

	ck_assert(st_hex_encode(bytes, sizeof(bytes), text, sizeof(text)));
	ck_assert_str_eq(text, "007f80ff12");
	for (size_t i = 0; i < sizeof(bytes); i++)
		ck_assert_int_eq(st_hex_digit(text[2 * i]) << 4 | st_hex_digit(text[2 * i + 1]),
				 bytes[i]);
	ck_assert(!st_hex_encode(bytes, sizeof(bytes), small, sizeof(small)));
}
END_TEST

Suite *
encode_suite(void)
{
	Suite *s = suite_create("encode");
	TCase *tc = tcase_create("hex");

	tcase_add_loop_test(tc, hex_digit_table, 0, (int)(sizeof(digits) / sizeof(digits[0])));
	tcase_add_test(tc, hex_encode_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
