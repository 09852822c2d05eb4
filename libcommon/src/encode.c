/*
 * Hex, base64url and SHA-256 (on OpenSSL's EVP interface), and the list cursor built on them.
 */
#include "strata/encode.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
st_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
st_hex_encode(const void *data, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;

	if (cap < 2 * n + 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
	return true;
}

size_t
st_base64url_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

bool
st_base64url_encode(const void *data, size_t n, char *out, size_t cap)
{
	const unsigned char *p = data;
	size_t o = 0, i = 0;

	if (cap < st_base64url_len(n) + 1)
		return false;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return true;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool
st_base64url_decode(const char *text, size_t len, void *out, size_t cap, size_t *outlen)
{
	unsigned char *o = out;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;

	while (len > 0 && text[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(text[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return false;
			o[n++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	/* Leftover bits must be zero, or two encodings would decode to the same bytes. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return false;
	*outlen = n;
	return true;
}

void
st_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		abort(); /* SHA-256 cannot fail short of memory exhaustion */
	st_hex_encode(md, 32, out, 65);
}

void
st_cursor_encode(const char *micros, const char *id, char *out, size_t cap)
{
	char plain[96];
	int n = snprintf(plain, sizeof(plain), "%s:%s", micros, id);

	if (n < 0 || (size_t)n >= sizeof(plain) || !st_base64url_encode(plain, (size_t)n, out, cap))
		out[0] = '\0';
}

bool
st_cursor_decode(const char *cursor, char *micros, size_t mcap, char *id, size_t idcap)
{
	char plain[96];
	size_t n = 0, digits = 0;

	if (!st_base64url_decode(cursor, strlen(cursor), plain, sizeof(plain) - 1, &n))
		return false;
	plain[n] = '\0';
	if (memchr(plain, '\0', n) != NULL)
		return false;
	if (plain[0] == '-')
		digits = 1;
	while (plain[digits] >= '0' && plain[digits] <= '9')
		digits++;
	if (digits == 0 || digits > 19 || plain[digits] != ':' ||
	    (plain[0] == '-' && digits == 1) || digits + 1 > mcap)
		return false;
	if (!st_uuid_valid(plain + digits + 1) || !st_strlcpy(id, plain + digits + 1, idcap))
		return false;
	memcpy(micros, plain, digits);
	micros[digits] = '\0';
	return true;
}
