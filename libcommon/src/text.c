/*
 * UTF-8 validation and character counting (text.h). One table-free decoder, checked by the
 * ranges of RFC 3629's grammar: the second byte's range depends on the first, which rules out
 * overlong forms, surrogates and code points above U+10FFFF without decoding them.
 */
#include "strata/text.h"

size_t
st_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool
st_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = st_utf8_seq(u + i, n - i);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* True for a control character (C0, DEL, C1) that flags does not allow; seq is one valid
 * sequence of len bytes. */
static bool
refused_control(const unsigned char *seq, size_t len, unsigned flags)
{
	if (len == 1 && (seq[0] < 0x20 || seq[0] == 0x7f)) {
		if (seq[0] == '\t')
			return (flags & ST_TEXT_ALLOW_TAB) == 0;
		if (seq[0] == '\n' || seq[0] == '\r')
			return (flags & ST_TEXT_ALLOW_NEWLINE) == 0;
		return true;
	}
	return len == 2 && seq[0] == 0xc2 && seq[1] < 0xa0; /* U+0080..U+009F */
}

size_t
st_text_chars(const char *s, size_t n, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0;

	for (size_t i = 0; i < n; chars++) {
		size_t len = st_utf8_seq(u + i, n - i);

		if (len == 0 || refused_control(u + i, len, flags))
			return (size_t)-1;
		i += len;
	}
	return chars;
}
