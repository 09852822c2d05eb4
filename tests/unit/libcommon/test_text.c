/*
 * Unit tests for text.h: UTF-8 validation at every boundary of RFC 3629's grammar, and
 * character counting with and without the control characters a caller allows.
 */
#include <check.h>
#include <string.h>

#include "strata/text.h"

static const struct {
	const char *bytes;
	size_t len;
	bool valid;
} utf8_cases[] = {
	{ "", 0, true },
	{ "plain ascii", 11, true },
	{ "\xc3\xa9", 2, true },          /* é */
	{ "\xe2\x82\xac", 3, true },      /* € */
	{ "\xf0\x9f\x98\x80", 4, true },  /* U+1F600 */
	{ "\xf4\x8f\xbf\xbf", 4, true },  /* U+10FFFF, the last */
	{ "\xed\x9f\xbf", 3, true },      /* U+D7FF, just below the surrogates */
	{ "\xee\x80\x80", 3, true },      /* U+E000, just above them */
	{ "a\0b", 3, true },              /* NUL is U+0000 */
	{ "\x80", 1, false },             /* a lone continuation byte */
	{ "\xc0\xaf", 2, false },         /* overlong '/' */
	{ "\xc1\xbf", 2, false },         /* overlong */
	{ "\xe0\x9f\xbf", 3, false },     /* overlong three-byte form */
	{ "\xf0\x8f\xbf\xbf", 4, false }, /* overlong four-byte form */
	{ "\xed\xa0\x80", 3, false },     /* U+D800, a surrogate */
	{ "\xed\xbf\xbf", 3, false },     /* U+DFFF */
	{ "\xf4\x90\x80\x80", 4, false }, /* U+110000 */
	{ "\xf5\x80\x80\x80", 4, false }, /* no such lead byte */
	{ "\xff", 1, false },
	{ "\xc3", 1, false },           /* cut short */
	{ "\xe2\x82", 2, false },       /* cut short */
	{ "\xe2\x28\xa1", 3, false },   /* bad continuation */
	{ "ok\xf0\x9f\x98", 5, false }, /* cut at the end */
};

START_TEST(utf8_valid_table)
{
	ck_assert_msg(st_utf8_valid(utf8_cases[_i].bytes, utf8_cases[_i].len) ==
			      utf8_cases[_i].valid,
		      "case %d", _i);
}
END_TEST

static const struct {
	const char *text;
	unsigned flags;
	size_t chars;
} count_cases[] = {
	{ "", 0, 0 },
	{ "abc", 0, 3 },
	{ "caf\xc3\xa9", 0, 4 },
	{ "\xe6\x9d\xb1\xe4\xba\xac", 0, 2 }, /* 東京 */
	{ "a\tb", 0, (size_t)-1 },
	{ "a\tb", ST_TEXT_ALLOW_TAB, 3 },
	{ "a\nb\r", ST_TEXT_ALLOW_TAB, (size_t)-1 },
	{ "a\nb\r", ST_TEXT_ALLOW_NEWLINE, 4 },
	{ "a\x7f", ST_TEXT_ALLOW_TAB | ST_TEXT_ALLOW_NEWLINE, (size_t)-1 },    /* DEL */
	{ "a\x1b[0m", ST_TEXT_ALLOW_TAB | ST_TEXT_ALLOW_NEWLINE, (size_t)-1 }, /* ESC */
	{ "a\xc2\x85", ST_TEXT_ALLOW_NEWLINE, (size_t)-1 },                    /* C1 NEL */
	{ "a\xc2\xa0", 0, 2 },                                                 /* NBSP is text */
	{ "\xc3", 0, (size_t)-1 },
};

START_TEST(text_chars_table)
{
	const char *t = count_cases[_i].text;

	ck_assert_msg(st_text_chars(t, strlen(t), count_cases[_i].flags) == count_cases[_i].chars,
		      "case %d", _i);
}
END_TEST

START_TEST(text_chars_counts_embedded_nul_as_control)
{
	ck_assert_uint_eq(st_text_chars("a\0b", 3, ST_TEXT_ALLOW_TAB | ST_TEXT_ALLOW_NEWLINE),
			  (size_t)-1);
	ck_assert_uint_eq(st_utf8_seq((const unsigned char *)"x", 0), 0);
}
END_TEST

Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("utf8");

	tcase_add_loop_test(tc, utf8_valid_table, 0,
			    (int)(sizeof(utf8_cases) / sizeof(utf8_cases[0])));
	tcase_add_loop_test(tc, text_chars_table, 0,
			    (int)(sizeof(count_cases) / sizeof(count_cases[0])));
	tcase_add_test(tc, text_chars_counts_embedded_nul_as_control);
	suite_add_tcase(s, tc);
	return s;
}
