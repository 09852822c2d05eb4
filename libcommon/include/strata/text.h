/*
 * Text from outside: UTF-8 validation and character counting, written once for every parser
 * and validator (passwords, names, CSV fields, log escaping). Valid means shortest-form
 * encodings of Unicode scalar values: no overlongs, no surrogates, nothing above U+10FFFF.
 */
#ifndef STRATA_TEXT_H
#define STRATA_TEXT_H

#include "strata/core.h"

/* What st_text_chars lets through besides printable text. Control characters (C0, DEL and
 * C1) are refused unless named here. */
#define ST_TEXT_ALLOW_TAB     0x1u /* \t */
#define ST_TEXT_ALLOW_NEWLINE 0x2u /* \n and \r */

/* The length in bytes of the valid UTF-8 sequence that starts s (n > 0 bytes available),
 * or 0 when it is not one. */
size_t st_utf8_seq(const unsigned char *s, size_t n);

/* True when the n bytes at s are valid UTF-8 (NUL bytes count as U+0000). */
bool st_utf8_valid(const char *s, size_t n);

/* The number of code points of the n bytes at s, or (size_t)-1 when they are not valid
 * UTF-8 or hold a control character that flags (ST_TEXT_ALLOW_*) does not allow. */
size_t st_text_chars(const char *s, size_t n, unsigned flags);

#endif
