/*
 * Byte encodings and digests that several services need: hex, base64url (RFC 4648, no
 * padding: JWTs, JWKS, API keys), and SHA-256.
 */
#ifndef STRATA_ENCODE_H
#define STRATA_ENCODE_H

#include "strata/core.h"

/* The value of one hex digit (either case), or -1 for any other character. */
int st_hex_digit(int c);

/* Writes 2n lowercase hex digits and a NUL into out (cap >= 2n + 1). False if it does not fit. */
bool st_hex_encode(const void *data, size_t n, char *out, size_t cap);

/* The length of the base64url text (no padding) of n bytes, without the NUL. */
size_t st_base64url_len(size_t n);
/* Writes the base64url text of data and a NUL into out. False if cap is too small. */
bool st_base64url_encode(const void *data, size_t n, char *out, size_t cap);
/* Decodes base64url text (padding optional) into out; *outlen receives the byte count.
 * False for characters outside the alphabet, an impossible length, or too small a buffer. */
bool st_base64url_decode(const char *text, size_t len, void *out, size_t cap, size_t *outlen);

/* SHA-256 of data as 64 hex digits and a NUL (out must hold 65 bytes). */
void st_sha256_hex(const void *data, size_t n, char out[65]);

/*
 * The opaque cursor of keyset-paged lists (ARCHITECTURE.md: `?cursor=`): the sort key of the
 * last item of a page, a time in microseconds (decimal, may be negative) and a UUID, as
 * base64url of "<micros>:<uuid>". encode writes "" when it does not fit in cap.
 */
void st_cursor_encode(const char *micros, const char *id, char *out, size_t cap);
/* Splits a cursor; false when it is not one st_cursor_encode made. micros takes up to 20
 * characters and the NUL, id 37. */
bool st_cursor_decode(const char *cursor, char *micros, size_t mcap, char *id, size_t idcap);

#endif
