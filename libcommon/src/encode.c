/*
 * Hex, base64url and SHA-256 (on OpenSSL's EVP interface).
 */
#include "strata/encode.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
